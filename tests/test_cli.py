"""The CLI's JSON contracts and exit codes (fast: deterministic fake embedder)."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli.main import cli
from tests.conftest import write_md


@pytest.fixture
def runner(monkeypatch):
    monkeypatch.setenv("ASSISTANT_EMBEDDER", "hash")
    return CliRunner()


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    write_md(root, "programme/eligibilite.md",
             "# Éligibilité\n\nLes communes de moins de 20 000 habitants qui exercent des "
             "fonctions de centralité peuvent être retenues par le préfet.")
    write_md(root, "suivi/modane.md",
             "# Modane\n\nModane et Fourneaux ont signé leur convention-cadre le 29 mars 2023.")
    return root


def test_ingest_ask_search_info_json(runner, docs, tmp_path):
    index = str(tmp_path / "ix")
    out = runner.invoke(cli, ["ingest", str(docs), "--index", index, "--json"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    assert report == {"added": 2, "updated": 0, "unchanged": 0, "removed": 0, "chunks": 2,
                      "failed": [], "duplicates": [], "warnings": []}

    out = runner.invoke(cli, ["ask", "Quand Modane a-t-elle signé sa convention-cadre ?",
                              "--index", index, "--json"])
    assert out.exit_code == 0, out.output
    answer = json.loads(out.stdout)
    assert set(answer) >= {"question", "answer", "refused", "citations", "timings_ms"}
    assert set(answer["timings_ms"]) >= {"retrieve", "answer", "total"}
    assert not answer["refused"]
    cit = answer["citations"][0]
    assert set(cit) >= {"n", "source", "title", "page", "pages", "quote", "score"}
    assert cit["source"] == "suivi/modane.md"
    assert "[1]" in answer["answer"]

    out = runner.invoke(cli, ["search", "centralité", "--index", index, "--json", "--k", "1"])
    results = json.loads(out.stdout)["results"]
    assert len(results) == 1 and results[0]["source"] == "programme/eligibilite.md"
    assert set(results[0]) >= {"source", "title", "page", "pages", "text", "score", "metadata"}

    out = runner.invoke(cli, ["search", "convention", "--type", "programme", "--index", index,
                              "--json"])
    assert {r["source"] for r in json.loads(out.stdout)["results"]} == {
        "programme/eligibilite.md"}

    out = runner.invoke(cli, ["info", "--index", index, "--json"])
    info = json.loads(out.stdout)
    assert info["documents"] == 2 and info["chunks"] == 2 and info["last_ingest"]


def test_ingest_exit_codes(runner, docs, tmp_path):
    (docs / "casse.pdf").write_bytes(b"%PDF-1.4 tronque")
    out = runner.invoke(cli, ["ingest", str(docs), "--index", str(tmp_path / "ix"), "--json"])
    assert out.exit_code == 1
    report = json.loads(out.stdout)
    assert report["added"] == 2 and report["failed"][0]["source"] == "casse.pdf"
    out = runner.invoke(cli, ["ingest", str(tmp_path / "nowhere"), "--index", str(tmp_path)])
    assert out.exit_code == 2


def test_usage_errors_exit_2(runner, tmp_path):
    assert runner.invoke(cli, ["ask", "x", "--k", "0"]).exit_code == 2
    assert runner.invoke(cli, ["ask", "x", "--type", "rapport"]).exit_code == 2


def test_empty_question_is_a_clear_error(runner, docs, tmp_path):
    index = str(tmp_path / "ix")
    runner.invoke(cli, ["ingest", str(docs), "--index", index])
    out = runner.invoke(cli, ["ask", "?!", "--index", index])
    assert out.exit_code == 1
    assert "question est vide" in out.output


def test_loader_warnings_are_in_the_ingest_report(runner, docs, tmp_path):
    (docs / "suivi.csv").write_bytes("commune;action\nMoûtiers;Rénovation\x81\n".encode(
        "latin-1"))
    out = runner.invoke(cli, ["ingest", str(docs), "--index", str(tmp_path / "ix"), "--json"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    assert report["added"] == 3
    [warned] = report["warnings"]
    assert warned["source"] == "suivi.csv" and "octet(s) invalide(s)" in warned["warnings"][0]
    out = runner.invoke(cli, ["ingest", str(docs), "--index", str(tmp_path / "iy")])
    assert "avertissement : suivi.csv — 1 octet(s) invalide(s)" in out.stderr


def test_a_concurrent_ingest_exits_3_with_a_french_message(runner, docs, tmp_path):
    from assistant.indexing.index import Index
    from assistant.settings import get_settings

    index = tmp_path / "ix"
    with Index(get_settings(index_dir=index, embedder="hash")).lock():
        out = runner.invoke(cli, ["ingest", str(docs), "--index", str(index)])
    assert out.exit_code == 3
    assert "une autre indexation est en cours" in out.output
    out = runner.invoke(cli, ["ingest", str(docs), "--index", str(index)])
    assert out.exit_code == 0, out.output
