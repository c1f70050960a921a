"""Tests of the `communes` CLI group, invoked with click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli.communes import communes

FIXTURE = Path(__file__).parent / "fixtures" / "communes_anct_sample.csv"
ANCT = Path(__file__).resolve().parents[2] / "shared" / "data" / "pvd_communes_anct_2021.csv"


@pytest.fixture()
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    # No corpus registry: the saved registry starts empty whatever the checkout holds.
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(tmp_path / "no-corpus"))
    return CliRunner()


def test_import_list_show(runner: CliRunner, tmp_path: Path) -> None:
    index = tmp_path / "idx" / "nested"
    result = runner.invoke(communes, ["import", str(FIXTURE), "--index", str(index), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["added"], report["updated"], report["total"]) == (22, 0, 22)
    assert (index / "communes.json").exists()

    again = runner.invoke(communes, ["import", str(FIXTURE), "--index", str(index)])
    assert again.exit_code == 0 and "22 inchangée(s)" in again.output

    listed = runner.invoke(communes, ["list", "--index", str(index)])
    assert (
        listed.exit_code == 0 and "Moûtiers" in listed.output and "22 commune(s)" in listed.output
    )
    as_json = json.loads(runner.invoke(communes, ["list", "--index", str(index), "--json"]).output)
    assert len(as_json) == 22

    shown = runner.invoke(
        communes, ["show", "st jean de maurienne", "--index", str(index), "--json"]
    )
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.output)
    assert set(data) == {
        "insee",
        "name",
        "dep_code",
        "dep_name",
        "epci_siren",
        "epci_name",
        "population",
        "territoire",
        "regroupement",
        "id_pvd",
    }
    assert (data["insee"], data["name"], data["population"]) == (
        "73248",
        "Saint-Jean-de-Maurienne",
        7746,
    )

    text = runner.invoke(communes, ["show", "modane", "--index", str(index)])
    assert text.exit_code == 0 and "Fourneaux (73117, Savoie)" in text.output
    by_code = runner.invoke(communes, ["show", "73181", "--index", str(index), "--json"])
    assert json.loads(by_code.output)["name"] == "Moûtiers"


def test_show_ambiguous_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    index = tmp_path / "idx"
    runner.invoke(communes, ["import", str(FIXTURE), "--index", str(index)])
    result = runner.invoke(communes, ["show", "Le Pont de Beauvoisin", "--index", str(index)])
    assert result.exit_code == 2
    assert "Plusieurs communes correspondent" in result.output
    assert "Le Pont-de-Beauvoisin (73204, Savoie)" in result.output
    assert "Le Pont-de-Beauvoisin (38315, Isère)" in result.output
    assert "précisez le département" in result.output
    hinted = runner.invoke(
        communes, ["show", "Le Pont de Beauvoisin (Isère)", "--index", str(index), "--json"]
    )
    assert hinted.exit_code == 0 and json.loads(hinted.output)["insee"] == "38315"
    dep = runner.invoke(
        communes, ["show", "Le Pont de Beauvoisin", "--dep", "73", "--index", str(index), "--json"]
    )
    assert dep.exit_code == 0 and json.loads(dep.output)["insee"] == "73204"


def test_show_not_found_and_empty(runner: CliRunner, tmp_path: Path) -> None:
    index = tmp_path / "idx"
    empty = runner.invoke(communes, ["show", "modane", "--index", str(index)])
    assert empty.exit_code == 1 and "registre est vide" in empty.output
    assert "vide" in runner.invoke(communes, ["list", "--index", str(index)]).output
    runner.invoke(communes, ["import", str(FIXTURE), "--index", str(index)])
    result = runner.invoke(communes, ["show", "Albertvilleeee", "--index", str(index)])
    assert result.exit_code == 1
    assert "Aucune commune" in result.output and "Albertville (73011, Savoie)" in result.output


def test_import_errors(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("insee_com;lib_com\n73010;Entrelacs\n", encoding="utf-8")
    result = runner.invoke(communes, ["import", str(bad), "--index", str(tmp_path / "idx")])
    assert (
        result.exit_code == 1
        and "colonnes manquantes" in result.output
        and "siren_epci" in result.output
    )
    missing = runner.invoke(
        communes, ["import", str(tmp_path / "absent.csv"), "--index", str(tmp_path / "idx")]
    )
    assert missing.exit_code == 1 and "introuvable" in missing.output
    assert not (tmp_path / "idx" / "communes.json").exists()


@pytest.mark.skipif(not ANCT.exists(), reason="shared ANCT list not available")
def test_import_national_list_then_show_thones(runner: CliRunner, tmp_path: Path) -> None:
    index = tmp_path / "idx"
    result = runner.invoke(communes, ["import", str(ANCT), "--index", str(index)])
    assert result.exit_code == 0, result.output
    assert "1606 ajoutée(s)" in result.output and "1 ligne(s) ignorée(s)" in result.output
    shown = runner.invoke(communes, ["show", "thones", "--index", str(index), "--json"])
    data = json.loads(shown.output)
    assert (data["insee"], data["name"], data["dep_name"]) == ("74280", "Thônes", "Haute-Savoie")
    assert data["epci_name"] == "CC des Vallées de Thônes"
    amb = runner.invoke(communes, ["show", "Le Pont-de-Beauvoisin", "--index", str(index)])
    assert amb.exit_code == 2
