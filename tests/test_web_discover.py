"""Découvrir: status rows read from the three shapes a status record takes, section pages
found past the table of contents, points without their document left out."""

from __future__ import annotations

from types import SimpleNamespace

from assistant.types import Page
from assistant.web import discover


def test_status_rows_from_a_pdf_table_a_docx_table_and_a_markdown_table():
    pdf = ("Convention d'adhésion juin 2021 (date approximative) Signature intervenue vers\n"
           "Convention-cadre 29 mars 2023 Convention-cadre du programme commun\n"
           "ORT (opération de revitalisation de territoire) non renseigné Les sources\n")
    assert discover._status_rows(pdf) == {
        "Convention d'adhésion": "juin 2021 (date approximative)",
        "Convention-cadre": "29 mars 2023", "ORT": "non renseigné"}
    docx = ("Étape : Convention-cadre ; Date : date non confirmée ; Commentaire : vaut ORT\n"
            "Étape : Chef de projet PVD (poste) ; Date : non renseigné ; Commentaire : x\n")
    assert discover._status_rows(docx) == {"Convention-cadre": "date non confirmée",
                                           "Chef de projet": "non renseigné"}
    md = "| Convention-cadre | 31 mars 2023 | Signée avec Saint-Julien-Montdenis. |\n"
    assert discover._status_rows(md) == {"Convention-cadre": "31 mars 2023"}
    # Prose about the steps is not a row.
    assert discover._status_rows("Organiser la convention-cadre prend du temps.") == {}


def _library(pages: list[Page]):
    """What find_page reads of a web.library.Library: the pages of a visible document."""
    return SimpleNamespace(pages=lambda doc_id: pages)


def test_find_page_skips_the_title_page_and_the_table_of_contents():
    pages = [
        Page(1, "Les étapes du programme : de l'adhésion à la convention-cadre"),
        Page(2, "Sommaire\n1. Vue d'ensemble\n2. Première étape : la convention d'adhésion\n"
                "3. Deuxième étape : l'élaboration du projet"),
        Page(3, "1. Vue d'ensemble\nLa convention d'adhésion ouvre le programme.\n"
                "2. Première étape : la convention d'adhésion\n2.1 Objet"),
        Page(4, "texte"),
        Page(5, "3. Deuxième étape : l'élaboration du projet\n3.1 Le diagnostic"),
    ]
    index = _library(pages)
    assert discover.find_page(index, "d", "convention d'adhésion") == 3
    assert discover.find_page(index, "d", "élaboration du projet") == 5
    # No heading holds it: the first page mentioning it after the title page.
    assert discover.find_page(index, "d", "ouvre le programme") == 3
    assert discover.find_page(index, "d", "absent") is None


def test_points_need_their_document():
    empty = SimpleNamespace(documents=lambda: [], find=lambda source: None, pages=lambda d: [])
    assert discover.first_months_checklist(empty) == []
    assert "pas encore indexés" in discover.checklist_html([])
    html = discover.communes_html([discover.CommuneState(
        "73157", "Modane", "CC Haute-Maurienne Vanoise",
        [("Convention d'adhésion", "non renseigné"), ("Convention-cadre", "29 mars 2023")],
        "/documents/x/viewer?page=2", "Fiche de suivi PVD – Modane")])
    assert "Convention-cadre : <strong>29 mars 2023</strong>" in html
    assert "1 autre non renseignée" in html and 'href="/documents/x/viewer?page=2"' in html
