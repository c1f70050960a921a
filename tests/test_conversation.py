"""Commune-aware answers over the shipped corpus (fake embedder: structure, not ranking)."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.answer.conversation import Conversation, answer_question, detect_intent
from assistant.cli.main import cli
from assistant.settings import get_settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    index = tmp_path_factory.mktemp("conv") / "index"
    s = get_settings(index_dir=index, embedder="hash", corpus_dir=PROJECT_ROOT / "corpus")
    from assistant import service

    report = service.ingest(s)
    assert not report.failed
    return s


@pytest.mark.parametrize("question,intent", [
    ("Où en est Modane ?", "status"),
    ("quand a-t-on signé l'adhésion ?", "status"),
    ("avons-nous une ORT ?", "status"),
    ("Bourg-Saint-Maurice est-elle éligible à PVD ?", "eligibility"),
    ("une commune de 23 000 habitants peut-elle entrer dans PVD ?", "eligibility"),
    ("Quels financements pour la rénovation de logements ?", "funding"),
    ("qui contacter ?", "contact"),
    ("Qu'est-ce qu'une OPAH-RU ?", "general"),
])
def test_intents(question, intent):
    assert detect_intent(question) == intent


def test_status_of_modane_cites_the_record_and_the_date(settings):
    answer = answer_question(settings, "Où en est Modane ?")
    assert answer.extra["commune"]["insee"] == "73157"
    assert answer.text.startswith("Réponse pour Modane (CC Haute-Maurienne Vanoise)")
    assert "29 mars 2023" in answer.text
    assert {c.source for c in answer.citations} == {"suivi/suivi-modane-fourneaux.pdf"}
    assert any("mise à jour" in c.quote for c in answer.citations)


def test_status_without_a_date_says_non_renseigne(settings):
    answer = answer_question(settings, "Quand Moûtiers a-t-elle signé sa convention-cadre ?")
    assert "non renseigné" in answer.text.lower()
    assert "2023" not in answer.text.split("«")[0]  # no invented date
    assert answer.citations[0].source.startswith("suivi/suivi-moutiers")


def test_eligibility_checklist_each_line_cited(settings):
    answer = answer_question(settings, "Bourg-Saint-Maurice est-elle éligible à PVD ?")
    checklist = answer.extra["checklist"]
    assert len(checklist) == 5
    assert checklist[0]["status"] == "rempli"
    assert all(item["citation"] for item in checklist)
    assert all(c.source.startswith("programme/") for c in answer.citations)


def test_population_given_in_the_question(settings):
    answer = answer_question(
        settings, "une commune de 23 000 habitants peut-elle entrer dans PVD ?"
    )
    assert answer.extra["checklist"][0]["status"] == "non rempli"
    assert answer.extra["commune"] is None


def test_follow_up_keeps_topic_and_switches_commune(settings):
    conv = Conversation()
    first = answer_question(settings, "Où en est Modane ?", conversation=conv)
    assert "29 mars 2023" in first.text
    second = answer_question(settings, "Et pour Saint-Jean-de-Maurienne ?", conversation=conv)
    assert second.extra["commune"]["insee"] == "73248"
    assert "31 mars 2023" in second.text
    third = answer_question(settings, "Et le financement ?", conversation=conv)
    assert third.extra["commune"]["insee"] == "73248"


def test_session_commune(settings):
    answer = answer_question(settings, "avons-nous une ORT ?", commune="albertville")
    assert answer.extra["commune"]["name"] == "Albertville"
    assert answer.citations[0].source == "suivi/suivi-albertville.pdf"


def test_ask_history_file_scripts_a_conversation(settings, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_EMBEDDER", "hash")
    history = tmp_path / "h.json"
    runner = CliRunner()
    args = ["--index", str(settings.index_dir), "--json", "--history", str(history)]
    out = runner.invoke(cli, ["ask", "Où en est Modane ?", *args])
    assert out.exit_code == 0, out.output
    out = runner.invoke(cli, ["ask", "Et pour Ugine ?", *args])
    data = json.loads(out.stdout)
    assert data["commune"] == {"insee": "73303", "name": "Ugine", "epci": "CA Arlysère"}
    assert len(json.loads(history.read_text())) == 2


def test_funding_list_for_housing_notes_denormandie_needs_an_ort(settings):
    answer = answer_question(settings, "Quelles aides pour rénover des logements ?",
                             commune="Ugine")
    schemes = [f["scheme"] for f in answer.extra["funding"]]
    assert "Anah" in schemes and "Denormandie" in schemes
    assert all(item["citation"] for item in answer.extra["funding"])
    assert "Denormandie suppose une ORT" in answer.text and "d'Ugine" in answer.text
    assert all(c.source.startswith("programme/") for c in answer.citations)


def test_funding_list_for_works(settings):
    answer = answer_question(settings, "quels financements pour nos travaux de centre-bourg ?")
    schemes = {f["scheme"] for f in answer.extra["funding"]}
    assert {"DETR", "DSIL"} <= schemes
