"""Status records told as sentences: parsing the step rows, one French sentence per fact."""

import pytest

from assistant.answer.status import asked_steps, of, row_sentence, step_rows
from assistant.types import Page

PAGE = Page(2, "\n".join([
    "2. Étapes du programme",
    "Étape : Sélection PVD ; Date : décembre 2020 ; Commentaire : Sélection par le préfet ; "
    "liste nationale publiée en janvier 2021.",
    "Étape : Convention d'adhésion ; Date : juin 2021 (date approximative) ; Commentaire : x.",
    "Étape : Convention-cadre ; Date : 29 mars 2023 ; Commentaire : Convention-cadre commune.",
    "Étape : ORT (opération de revitalisation de territoire) ; Date : non renseigné ; "
    "Commentaire : Les sources utilisées ne précisent pas si la convention-cadre vaut ORT.",
    "Étape : Chef de projet PVD (poste) ; Date : non renseigné ; Commentaire : Existence.",
    "Étape : Dernière mise à jour de la fiche ; Date : 1er octobre 2025",
]))


def test_rows_are_parsed_with_exact_quotes():
    rows = step_rows([Page(1, "titre"), PAGE])
    assert [r.key for r in rows] == ["selection", "adhesion", "cadre", "ort", "chef", "maj"]
    assert all(r.quote in PAGE.text and r.page_number == 2 and r.page_idx == 1 for r in rows)
    assert rows[2].known and not rows[3].known


def test_sentences_read_as_prose_without_field_names():
    rows = {r.key: r for r in step_rows([PAGE])}
    cadre = row_sentence(rows["cadre"], "Modane")
    assert cadre == "La convention-cadre a été signée le 29 mars 2023."
    assert "vers juin 2021" in row_sentence(rows["adhesion"], "Modane")
    assert row_sentence(rows["selection"], "Modane").startswith("Modane a été sélectionnée")
    assert "ne précise pas si la convention-cadre vaut ORT" in row_sentence(rows["ort"], "Modane")
    assert row_sentence(rows["maj"], "Ugine") == (
        "La fiche de suivi d'Ugine a été mise à jour le 1er octobre 2025.")
    for row in rows.values():
        text = row_sentence(row, "Modane")
        assert "Étape" not in text and "Commentaire" not in text and "pvd-" not in text


@pytest.mark.parametrize("question,steps", [
    ("quand a-t-on signé la convention cadre ?", ["cadre"]),
    ("Est-ce que Modane a signé ?", ["adhesion", "cadre"]),
    ("modane a une ORT ?", ["ort"]),
    ("le chef de projet est recruté ?", ["chef"]),
    ("où en est Ugine ?", []),
])
def test_asked_steps(question, steps):
    assert asked_steps(question) == steps


def test_rows_flattened_by_the_pdf_are_read_too():
    page = Page(2, "Étape\nDate\nConvention-cadre date non confirmée Les sources consultées "
                   "indiquent une convention-cadre valant ORT ; sa date n'a pas pu être "
                   "confirmée.\nChef de projet PVD (poste) non renseigné Existence non "
                   "documentée.\nConvention-cadre 31 mars 2023 Signée avec Saint-Julien.")
    rows = step_rows([page])
    assert [(r.key, r.date) for r in rows] == [("cadre", "date non confirmée"),
                                               ("chef", "non renseigné"),
                                               ("cadre", "31 mars 2023")]
    assert rows[0].unconfirmed and "valant ORT" in row_sentence(rows[0], "Albertville")


@pytest.mark.parametrize(("name", "said"), [
    ("Ugine", "d'Ugine"), ("Modane", "de Modane"),
    ("Le Pont-de-Beauvoisin", "du Pont-de-Beauvoisin"),
    ("Les Échelles", "des Échelles"), ("Entrelacs", "d'Entrelacs"),
])
def test_of_a_name(name, said):
    assert of(name) == said


def test_an_unconfirmed_step_says_so_first_then_what_the_record_says():
    page = Page(2, "Étape\nDate\nORT (opération de revitalisation de territoire) date non "
                   "confirmée La convention-cadre vaut opération de revitalisation de territoire "
                   "(ORT) ; date à confirmer.")
    (row,) = step_rows([page])
    said = row_sentence(row, "Albertville")
    assert said.startswith("L'ORT (opération de revitalisation de territoire) : date non "
                           "confirmée. La convention-cadre vaut"), said
    assert "à confirmer" not in said
