"""A fiche's labelled rows: the record a row belongs to, its rows (pure functions)."""

from assistant.answer.records import _record, _record_words
from assistant.answer.sentences import clean_sentence

PAGE = """Annexe 3 – Fiches actions (illustratives)
Fiche action n° 1 – Étude pré-opérationnelle et OPAH-RU
Rubrique : Intitulé ; Contenu : Étude puis OPAH-RU sur le centre ancien
Rubrique : Coût estimé ; Contenu : 1 200 000 € HT (montant fictif)
Fiche action n° 2 – Requalification de la place centrale
Rubrique : Intitulé ; Contenu : Requalification de la place centrale et des rues adjacentes
Rubrique : Coût estimé ; Contenu : 1 800 000 € HT (montant fictif)
Rubrique : Financeurs pressentis ; Contenu : DETR ou DSIL, Fonds vert (renaturation)
"""


def test_a_rows_record_is_its_fiche_from_the_title_on():
    start = PAGE.index("Rubrique : Intitulé ; Contenu : Requalification")
    rows = [text for _, _, text in _record(PAGE, start)[1]]
    assert rows[0].startswith("Rubrique : Intitulé ; Contenu : Requalification")
    assert rows[-1].startswith("Rubrique : Financeurs pressentis")
    assert not any("1 200 000" in r for r in rows)  # the first fiche's cost is not this one's
    for begin, end, text in _record(PAGE, start)[1]:
        assert PAGE[begin:end] == text  # offsets in the page, for exact quotes


def test_a_titles_record_is_its_own_fiche_not_the_one_above():
    rows = [text for _, _, text in _record(PAGE, PAGE.index("Fiche action n° 2"))[1]]
    assert rows and all("1 200 000" not in r and "OPAH" not in r for r in rows), rows
    assert any("1 800 000" in r for r in rows)


def test_a_rows_record_words_are_its_title_and_the_rows_above():
    words = _record_words(PAGE, PAGE.index("Rubrique : Coût estimé ; Contenu : 1 800 000"))
    assert {"plac", "central"} <= words or any(w.startswith("plac") for w in words)
    first = _record_words(PAGE, PAGE.index("Rubrique : Coût estimé ; Contenu : 1 200 000"))
    assert not any(w.startswith("plac") for w in first)


def test_a_fiche_row_reads_without_its_column_names():
    assert clean_sentence("Rubrique : Coût estimé ; Contenu : 1 800 000 € HT") == (
        "Coût estimé : 1 800 000 € HT.")
    assert clean_sentence("Rubrique : Type de document ; Contenu : Étude (programmation)") == (
        "Type de document : Étude (programmation).")
