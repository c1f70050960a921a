"""Tests for assistant.textrepair: pure functions on strings and repair of real generated PDFs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from assistant.ingest.loaders import load_document
from assistant.ingest.textrepair import (
    is_page_number_line,
    join_lines,
    keep_hyphen,
    lines_to_blocks,
    list_item,
    make_page,
    normalize_chars,
    numbered_heading_level,
    remove_running_lines,
    repair_page,
    repair_pages,
    styled_heading_level,
    table_blocks,
)
from assistant.types import Page

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pdf_factory import make_pdf

HEADER = "Petites villes de demain · Présentation"
FOOTER = "Agate · Savoie"


def _check_offsets(page: Page) -> None:
    for block in page.blocks:
        assert page.text[block.start:block.end] == block.text
    assert page.text == "\n".join(b.text for b in page.blocks)


def _pdf_pages(tmp_path: Path, pages: list[list[str]], **kwargs: object) -> list[Page]:
    doc = load_document(make_pdf(tmp_path / "essai.pdf", pages, **kwargs))
    for page in doc.pages:
        _check_offsets(page)
    return doc.pages


def _blocks(page: Page) -> list[tuple[str, str, int]]:
    return [(b.kind, b.text, b.level) for b in page.blocks]


# --- pure functions ------------------------------------------------------------------------


def test_normalize_chars_ligatures_spaces_soft_hyphen_nfc() -> None:
    raw = "con\ufb01ance \ufb02eur e\ufb00et o\ufb03ce \ufb04 \ufb05 \ufb06"
    assert normalize_chars(raw) == "confiance fleur effet office ffl st st"
    assert normalize_chars("10\u202f000\u00a0€ :\u2009ok\u2003 fin  ") == "10 000 € : ok fin"
    assert normalize_chars("revitali\u00adsation") == "revitalisation"
    assert normalize_chars("revitali\u00ad\nsation du centre") == "revitalisation du centre"
    assert normalize_chars("e\u0301te\u0301\r\nsuite") == "été\nsuite"


@pytest.mark.parametrize(
    ("before", "after", "kept"),
    [
        ("revitali", "sation", False),
        ("l'aména", "gement", False),
        ("Saint", "Jean", True),
        ("chef", "lieu", True),
        ("peut", "être", True),
        ("centre", "bourg", True),
        ("celui", "ci", True),
        ("mer", "ci", False),
        ("voi", "là", False),
        ("mi", "lieu", False),
        ("mi", "nistère", False),
        ("mi", "parcours", True),
        ("sous", "préfecture", True),
        ("sous", "crire", False),
        ("porte", "parole", True),
        ("a", "t-il", True),
        ("c'est", "à-dire", True),
        ("main", "d'œuvre", True),
        ("Seine-Ma", "ritime", False),
        ("mot", "clé", True),
        ("2021", "2026", True),
        ("long", "temps", False),
        ("commu", "nauté", False),
        ("dix", "huit", True),  # «dans les dix-huit mois», never «dixhuit»
        ("quatre", "vingts", True),
        ("vingt", "aine", False),
    ],
)
def test_keep_hyphen(before: str, after: str, kept: bool) -> None:
    assert keep_hyphen(before, after) is kept


def test_join_lines() -> None:
    assert join_lines(["La revitali-", "sation du centre"]) == "La revitalisation du centre"
    assert join_lines(["en Seine-Ma-", "ritime"]) == "en Seine-Maritime"
    assert join_lines(["la conven-", "tion-cadre"]) == "la convention-cadre"
    assert join_lines(["à Saint-", "Jean de Maurienne"]) == "à Saint-Jean de Maurienne"
    assert join_lines(["le chef-", "lieu du canton"]) == "le chef-lieu du canton"
    assert join_lines(["période 2021-", "2026 incluse"]) == "période 2021-2026 incluse"
    assert join_lines(["un tiret -", "puis la suite"]) == "un tiret - puis la suite"
    assert join_lines(["une ligne", "", "  une autre  "]) == "une ligne une autre"


@pytest.mark.parametrize(
    ("line", "expected"),
    [("3", True), ("- 3 -", True), ("Page 3 / 12", True), ("3/12", True), ("page 4 sur 9", True),
     ("2024", False), ("3 communes", False), ("Page d'accueil", False)],
)
def test_is_page_number_line(line: str, expected: bool) -> None:
    assert is_page_number_line(line) is expected


@pytest.mark.parametrize(
    ("line", "level"),
    [("1. Objet", 1), ("2.3 Le financement", 2), ("2.3.1 Détail", 3), ("Article 4 – Durée", 2),
     ("ARTICLE 4", 2), ("Chapitre II", 1), ("IV. Bilan", 1), ("1. la commune", 0),
     ("2.3 millions d'euros sont prévus.", 0), ("Article 4 du règlement prévoit", 0),
     ("2024 Bilan", 0)],
)
def test_numbered_heading_level(line: str, level: int) -> None:
    assert numbered_heading_level(line) == level


@pytest.mark.parametrize(
    ("line", "level"),
    [("CONTEXTE ET ENJEUX", 1), ("Petites Villes De Demain", 2), ("Le contexte local", 0),
     ("DU TEXTE EN CAPITALES.", 0), ("PVD", 0), ("Qu'Est-Ce Que Le Programme ?", 2)],
)
def test_styled_heading_level(line: str, level: int) -> None:
    assert styled_heading_level(line) == level


def test_list_item_markers() -> None:
    assert list_item("• premier") == "• premier"
    assert list_item("– tiret cadratin") == "• tiret cadratin"
    assert list_item("- tiret") == "• tiret"
    assert list_item("* étoile") == "• étoile"
    assert list_item("▪ carré") == "• carré"
    assert list_item("1. numéro") == "1. numéro"
    assert list_item("a) lettre") == "a) lettre"
    assert list_item("Un paragraphe") is None
    assert list_item("-tiret collé") is None


def test_remove_running_lines_threshold() -> None:
    words = ["un", "deux", "trois", "quatre", "cinq"]
    pages = [["En-tête", f"corps {w}", "répété" if n < 2 else f"fin {w}", f"Page {n + 1} / 5"]
             for n, w in enumerate(words)]
    out = remove_running_lines(pages)
    assert out[0] == ["corps un", "répété"]
    assert out[1] == ["corps deux", "répété"]
    assert out[4] == ["corps cinq", "fin cinq"]
    # Digits that follow the page index mark a running line; other digits do not.
    tracked = [[f"Rapport 2024 – {n + 2}", f"Tableau {7 * n}", w] for n, w in enumerate(words)]
    assert remove_running_lines(tracked) == [[f"Tableau {7 * n}", w] for n, w in enumerate(words)]
    # Two pages: a line on both is running; one page alone is left alone but for its number.
    assert remove_running_lines([["Titre", "a", "2"], ["Titre", "b"]]) == [["a"], ["b"]]
    assert remove_running_lines([["Titre", "a", "- 1 -"]]) == [["Titre", "a"]]
    # Numbered titles must repeat verbatim: "Article 3" opening each page stays.
    arts = [[f"Article {n} – Objet", "texte"] for n in range(1, 6)]
    assert [p[0] for p in remove_running_lines(arts)] == [a[0] for a in arts]


def test_lines_to_blocks_paragraphs_lists_headings() -> None:
    lines = [
        "1. Objet",
        "La revitalisation du centre-bourg passe par un travail conjoint entre la",
        "commune et l'intercommunalité, avec l'appui des partenaires.",
        "Une seconde phrase courte.",
        "Les objectifs sont les suivants :",
        "• redynamiser le commerce de",
        "proximité",
        "• améliorer l'habitat",
        "",
        "CONTEXTE",
        "Texte après.",
    ]
    assert lines_to_blocks(lines) == [
        ("heading", "1. Objet", 1),
        ("paragraph", "La revitalisation du centre-bourg passe par un travail conjoint entre "
                      "la commune et l'intercommunalité, avec l'appui des partenaires.", 0),
        ("paragraph", "Une seconde phrase courte.", 0),
        ("paragraph", "Les objectifs sont les suivants :", 0),
        ("list_item", "• redynamiser le commerce de proximité", 0),
        ("list_item", "• améliorer l'habitat", 0),
        ("heading", "CONTEXTE", 1),
        ("paragraph", "Texte après.", 0),
    ]


def test_numbered_list_is_not_headings() -> None:
    blocks = lines_to_blocks(["Trois étapes :", "1. Diagnostic", "2. Stratégie", "3. Actions"])
    assert [b[0] for b in blocks] == ["paragraph", "list_item", "list_item", "list_item"]


def test_make_page_offsets() -> None:
    blocks = [("heading", "Titre", 1), ("paragraph", "a  b\nc", 0), ("paragraph", " ", 0)]
    page = make_page(4, blocks)
    assert page.number == 4
    assert page.text == "Titre\na b c"
    assert [(b.start, b.end) for b in page.blocks] == [(0, 5), (6, 11)]
    _check_offsets(page)


def test_repair_page_and_pages() -> None:
    page = repair_page("2.3 Le financement\nLe pro-\ngramme est ﬁnancé.", 7)
    assert _blocks(page) == [("heading", "2.3 Le financement", 2),
                             ("paragraph", "Le programme est financé.", 0)]
    pages = repair_pages(["En-tête\nUn.\n1", "En-tête\nDeux.\n2"])
    assert [(p.number, p.text) for p in pages] == [(1, "Un."), (2, "Deux.")]


# --- on real PDFs ---------------------------------------------------------------------------


def test_pdf_hyphenated_word_rejoined_and_compounds_kept(tmp_path: Path) -> None:
    (page,) = _pdf_pages(tmp_path, [[
        "La revitali-",
        "sation du centre passe par Saint-",
        "Jean-de-Maurienne, chef-",
        "lieu du canton, et par l'aména-",
        "gement des espaces publics.",
    ]])
    assert _blocks(page) == [(
        "paragraph",
        "La revitalisation du centre passe par Saint-Jean-de-Maurienne, chef-lieu du canton, "
        "et par l'aménagement des espaces publics.",
        0,
    )]


def test_pdf_wrapped_lines_joined_into_paragraphs(tmp_path: Path) -> None:
    (page,) = _pdf_pages(tmp_path, [[
        "Le programme Petites villes de demain accompagne les communes de moins",
        "de 20 000 habitants qui exercent des fonctions de centralité pour leur",
        "territoire.",
        "",
        "Il dure six ans.",
    ]])
    assert _blocks(page) == [
        ("paragraph", "Le programme Petites villes de demain accompagne les communes de moins "
                      "de 20 000 habitants qui exercent des fonctions de centralité pour leur "
                      "territoire.", 0),
        ("paragraph", "Il dure six ans.", 0),
    ]


def test_pdf_ligatures_and_spaces_normalised(tmp_path: Path) -> None:
    (page,) = _pdf_pages(tmp_path, [[
        "Le ﬁnancement et la conﬁance ﬂeurissent, eﬀet oﬃce.",
        "",
        "Montant\u00a0: 10\u202f000\u00a0€\u2009!",
    ]])
    assert page.text == (
        "Le financement et la confiance fleurissent, effet office.\nMontant : 10 000 € !"
    )


def test_pdf_running_header_footer_page_numbers_removed(tmp_path: Path) -> None:
    words = ["Objet", "Durée", "Financement", "Gouvernance", "Évaluation"]
    bodies = [
        [f"{n}. {w}", f"Le volet {w.lower()} est décrit ici.",
         "Cette phrase revient une fois." if n in (2, 4) else f"Fin du volet {w.lower()}."]
        for n, w in enumerate(words, start=1)
    ]
    pages = _pdf_pages(tmp_path, bodies, header=HEADER, footer=FOOTER,
                       page_numbers="Page {n} / {total}")
    assert [p.number for p in pages] == [1, 2, 3, 4, 5]
    assert pages[0].text == "1. Objet\nLe volet objet est décrit ici.\nFin du volet objet."
    assert pages[1].text == (
        "2. Durée\nLe volet durée est décrit ici.\nCette phrase revient une fois."
    )
    assert pages[3].text.endswith("\nCette phrase revient une fois.")
    for page in pages:
        assert HEADER not in page.text and FOOTER not in page.text and "Page" not in page.text
        assert page.blocks[0].kind == "heading" and page.blocks[0].level == 1


def test_pdf_bare_page_numbers_removed(tmp_path: Path) -> None:
    pages = _pdf_pages(tmp_path, [["Premier texte.", "", "- 1 -"], ["Second texte.", "", "2"]])
    assert [p.text for p in pages] == ["Premier texte.", "Second texte."]


def test_pdf_bullets_kept_as_list_items(tmp_path: Path) -> None:
    (page,) = _pdf_pages(tmp_path, [[
        "Les objectifs sont les suivants :",
        "• redynamiser le commerce de centre-ville ;",
        "– améliorer l'habitat ;",
        "- valoriser le patrimoine.",
        "",
        "1. Diagnostic",
        "2. Stratégie",
    ]])
    assert _blocks(page) == [
        ("paragraph", "Les objectifs sont les suivants :", 0),
        ("list_item", "• redynamiser le commerce de centre-ville ;", 0),
        ("list_item", "• améliorer l'habitat ;", 0),
        ("list_item", "• valoriser le patrimoine.", 0),
        ("list_item", "1. Diagnostic", 0),
        ("list_item", "2. Stratégie", 0),
    ]


def test_pdf_numbered_headings_detected(tmp_path: Path) -> None:
    (page,) = _pdf_pages(tmp_path, [[
        "1. Objet",
        "La présente convention fixe le cadre du programme.",
        "",
        "2.3 Le financement",
        "L'État apporte des crédits d'ingénierie.",
        "",
        "Article 4 – Durée",
        "La convention dure six ans.",
        "",
        "ARTICLE 5",
        "Chapitre II",
    ]])
    headings = [(b.text, b.level) for b in page.blocks if b.kind == "heading"]
    assert headings == [("1. Objet", 1), ("2.3 Le financement", 2), ("Article 4 – Durée", 2),
                        ("ARTICLE 5", 2), ("Chapitre II", 1)]
    assert [b.kind for b in page.blocks].count("paragraph") == 3


def test_table_rows_and_toc() -> None:
    rows = ["Commune | Intercommunalité", "", "Ugine | CA Arlysère", "Modane | CC HMV", "Fin."]
    assert lines_to_blocks(rows) == [
        ("table_row", "Commune : Ugine ; Intercommunalité : CA Arlysère", 0),
        ("table_row", "Commune : Modane ; Intercommunalité : CC HMV", 0),
        ("paragraph", "Fin.", 0),
    ]
    toc = lines_to_blocks(["Sommaire", "1. Le programme en bref", "2.1 Une annonce"])
    assert toc == [("paragraph", "Sommaire", 0), ("list_item", "1. Le programme en bref", 0),
                   ("list_item", "2.1 Une annonce", 0)]


def test_a_second_header_row_labels_the_rows_below() -> None:
    """«Opportunités | Menaces» under «Atouts | Faiblesses» (a SWOT table), «Recettes |
    Montant» under «Dépenses | Montant»; «Diffusion | Interne» is a row, not a header."""
    rows = [["Atouts", "Faiblesses"], ["Cœur marchand", "Vacance de 16 %"],
            ["Opportunités", "Menaces"], ["Outils PVD", "Concurrence"]]
    assert [t for _, t, _ in table_blocks(rows)] == [
        "Atouts : Cœur marchand ; Faiblesses : Vacance de 16 %",
        "Opportunités : Outils PVD ; Menaces : Concurrence"]
    rows = [["Dépenses", "Montant"], ["Foncier", "900 000 €"], ["Recettes", "Montant"],
            ["Cessions", "800 000 €"]]
    assert [t for _, t, _ in table_blocks(rows)][-1] == "Recettes : Cessions ; Montant : 800 000 €"
    rows = [["Rubrique", "Contenu"], ["Auteur", "Agate"], ["Diffusion", "Interne"]]
    assert [t for _, t, _ in table_blocks(rows)] == [
        "Rubrique : Auteur ; Contenu : Agate", "Rubrique : Diffusion ; Contenu : Interne"]


def test_wrapped_numbered_title() -> None:
    lines = ["4. Les trois piliers de", "l'accompagnement", "Le programme repose sur tout."]
    assert lines_to_blocks(lines) == [
        ("heading", "4. Les trois piliers de l'accompagnement", 1),
        ("paragraph", "Le programme repose sur tout.", 0),
    ]


def test_pdf_table_rows(tmp_path: Path) -> None:
    (page,) = _pdf_pages(tmp_path, [[
        "Les communes :",
        "",
        ("Commune", "Intercommunalité"),
        "",
        ("Ugine", "CA Arlysère"),
        "",
        ("Modane", "CC Haute-Maurienne"),
        "",
        "Fin du tableau.",
    ]])
    assert _blocks(page) == [
        ("paragraph", "Les communes :", 0),
        ("table_row", "Commune : Ugine ; Intercommunalité : CA Arlysère", 0),
        ("table_row", "Commune : Modane ; Intercommunalité : CC Haute-Maurienne", 0),
        ("paragraph", "Fin du tableau.", 0),
    ]
