"""End to end with the real default model: generated PDF/DOCX/MD → ingest → ask (CLI)."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli.main import cli
from tests.conftest import write_md
from tests.pdf_factory import make_pdf

pytestmark = pytest.mark.slow

def _filler(topic: str) -> list[str]:
    return [
        f"Le volet {topic} réunit les élus, les services de l'État et les partenaires",
        f"financeurs afin de suivre l'avancement des actions consacrées au volet {topic}.",
        "",
        f"Chaque action du volet {topic} fait l'objet d'une fiche décrivant son maître",
        "d'ouvrage, son calendrier prévisionnel, son coût estimé et ses financements.",
    ]


def _five_page_pdf(path: Path) -> Path:
    pages = [
        ["1. Présentation", "", *_filler("présentation")],
        ["2. Gouvernance", "", *_filler("gouvernance")],
        [
            "3. Halle du marché",
            "",
            "La commune de Valloire-sur-Arc a engagé la revitali-",
            "sation de sa halle du marché couvert, dont la réouverture est",
            "prévue au printemps 2027 après dix-huit mois de travaux.",
            "Le chantier est conduit par la communauté de communes de Saint-",
            "Jean-de-Maurienne pour un montant de 2,4 millions d'euros.",
        ],
        ["4. Habitat", "", *_filler("habitat")],
        ["5. Suivi", "", *_filler("suivi")],
    ]
    return make_pdf(path, pages, header="Commune de Valloire-sur-Arc · Programme PVD",
                    footer="Document de travail", page_numbers="Page {n} / {total}",
                    title="Projet de revitalisation")


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    docs = root / "docs"
    docs.mkdir()
    _five_page_pdf(docs / "projet-valloire.pdf")
    write_md(docs, "programme/chef-de-projet.md",
             "# Le chef de projet\n\nLe poste de chef de projet Petites villes de demain est "
             "cofinancé jusqu'à 75 % par l'ANCT, la Banque des Territoires et l'Anah.")
    from docx import Document

    d = Document()
    d.add_heading("Manager de commerce", level=1)
    d.add_paragraph("La Banque des Territoires verse une subvention forfaitaire de 20 000 euros "
                    "par an pendant deux ans pour le poste de manager de commerce.")
    d.save(docs / "manager.docx")
    index = root / "index"
    out = CliRunner().invoke(cli, ["ingest", str(docs), "--index", str(index), "--json"])
    assert out.exit_code == 0, out.output
    return docs, index, json.loads(out.stdout)


def _ask(index: Path, question: str) -> dict:
    out = CliRunner().invoke(cli, ["ask", question, "--index", str(index), "--json"])
    assert out.exit_code == 0, out.output
    return json.loads(out.stdout)


def test_fact_on_page_three_of_a_five_page_pdf(indexed):
    _, index, report = indexed
    assert report["added"] == 3 and not report["failed"]
    answer = _ask(index, "Quand la halle du marché de Valloire-sur-Arc doit-elle rouvrir ?")
    assert not answer["refused"]
    first = answer["citations"][0]
    assert first["source"] == "projet-valloire.pdf"
    assert first["page"] == 3
    assert "printemps 2027" in answer["answer"]
    # hyphenated line end repaired, real hyphen kept, header gone
    assert "revitalisation" in first["quote"] or "revitalisation" in answer["answer"]


def test_quotes_are_exact_substrings_of_the_page_text(indexed):
    docs, index, _ = indexed
    from assistant.ingest.loaders import load_document

    pages = {p.number: p.text for p in load_document(docs / "projet-valloire.pdf").pages}
    answer = _ask(index, "Quel est le montant du chantier de la halle du marché ?")
    pdf_cits = [c for c in answer["citations"] if c["source"] == "projet-valloire.pdf"]
    assert pdf_cits
    for c in pdf_cits:
        assert c["quote"] in pages[c["page"]]
    assert "Saint-Jean-de-Maurienne" in pages[3]
    assert "Valloire-sur-Arc · Programme PVD" not in pages[3]


def test_docx_and_markdown_answers(indexed):
    _, index, _ = indexed
    answer = _ask(index, "Quel est le montant de la subvention pour un manager de commerce ?")
    assert answer["citations"][0]["source"] == "manager.docx"
    answer = _ask(index, "jusqu'a combien est cofinance le chef de projet ?")
    assert answer["citations"][0]["source"] == "programme/chef-de-projet.md"
    assert "75 %" in answer["answer"]


def test_off_topic_question_is_refused(indexed):
    _, index, _ = indexed
    answer = _ask(index, "Quelle est la meilleure recette de tartiflette savoyarde ?")
    assert answer["refused"] is True
    assert answer["citations"] == []
    assert answer["answer"].startswith("Cette question sort du champ des documents indexés")


def test_incremental_reingest_with_the_real_model(indexed, tmp_path):
    docs, _index, _ = indexed
    import shutil

    copy = tmp_path / "docs"
    shutil.copytree(docs, copy)
    ix = tmp_path / "ix"
    runner = CliRunner()
    runner.invoke(cli, ["ingest", str(copy), "--index", str(ix)])
    (copy / "programme/chef-de-projet.md").write_text(
        "# Le chef de projet\n\nLe chef de projet est recruté par la commune.", encoding="utf-8")
    out = runner.invoke(cli, ["ingest", str(copy), "--index", str(ix), "--json"])
    report = json.loads(out.stdout)
    assert (report["updated"], report["unchanged"]) == (1, 2)
    (copy / "manager.docx").unlink()
    out = runner.invoke(cli, ["ingest", str(copy), "--index", str(ix), "--json"])
    report = json.loads(out.stdout)
    assert (report["removed"], report["unchanged"]) == (1, 2)
