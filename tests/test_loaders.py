"""Tests for assistant.loaders: format sniffing, PDF, DOCX, Markdown, TXT and CSV readers."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from assistant.errors import LoaderError
from assistant.ingest.loaders import load_document
from assistant.ingest.loaders.pdf import merge_layout
from assistant.types import LoadedDocument

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pdf_factory import make_image_only_pdf, make_pdf


def _blocks(doc: LoadedDocument, page: int = 0) -> list[tuple[str, str, int]]:
    p = doc.pages[page]
    for b in p.blocks:
        assert p.text[b.start:b.end] == b.text
    return [(b.kind, b.text, b.level) for b in p.blocks]


# --- PDF --------------------------------------------------------------------------------------


def test_pdf_pages_numbers_title_and_empty_page(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "a.pdf", [["1. Objet", "Premier texte."], [], ["Dernier texte."]],
                    title="Convention PVD")
    doc = load_document(path)
    assert doc.format == "pdf"
    assert doc.title == "Convention PVD"
    assert [(p.number, p.text) for p in doc.pages] == [
        (1, "1. Objet\nPremier texte."), (2, ""), (3, "Dernier texte.")]
    assert doc.pages[1].blocks == []
    assert doc.warnings == ["pages sans texte : 2"]


def test_pdf_title_falls_back_to_first_heading(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "a.pdf", [["Texte.", "", "2.1 Le financement", "Oui."]])
    doc = load_document(path)
    assert doc.title == "2.1 Le financement"


def test_pdf_encrypted_with_empty_password_is_read(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "e.pdf", [["Texte chiffré lisible."]], user_password="",
                    owner_password="secret")
    assert b"/Encrypt" in path.read_bytes()
    doc = load_document(path)
    assert doc.pages[0].text == "Texte chiffré lisible."


def test_pdf_with_password_is_refused(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "p.pdf", [["Secret."]], user_password="motdepasse")
    with pytest.raises(LoaderError, match="mot de passe"):
        load_document(path)


def test_truncated_pdf(tmp_path: Path) -> None:
    data = make_pdf(tmp_path / "full.pdf", [["Du texte."]] * 3).read_bytes()
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(LoaderError, match=r"^PDF illisible ou tronqué : "):
        load_document(cut)


def test_image_only_pdf_needs_ocr(tmp_path: Path) -> None:
    with pytest.raises(LoaderError, match="pas de texte : OCR nécessaire"):
        load_document(make_image_only_pdf(tmp_path / "scan.pdf"))


# --- sniffing and errors ------------------------------------------------------------------------


def test_empty_file(tmp_path: Path) -> None:
    for name in ("vide.pdf", "vide.txt", "vide.docx"):
        (tmp_path / name).write_bytes(b"")
        with pytest.raises(LoaderError, match=r"^fichier vide$"):
            load_document(tmp_path / name)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LoaderError, match="fichier introuvable"):
        load_document(tmp_path / "absent.pdf")


def test_extension_does_not_match_content(tmp_path: Path) -> None:
    (tmp_path / "faux.pdf").write_text("Du texte, pas un PDF.", encoding="utf-8")
    with pytest.raises(LoaderError, match=r"l'extension \.pdf ne correspond pas au contenu"):
        load_document(tmp_path / "faux.pdf")
    (tmp_path / "faux.docx").write_text("Du texte.", encoding="utf-8")
    with pytest.raises(LoaderError, match=r"l'extension \.docx ne correspond pas au contenu"):
        load_document(tmp_path / "faux.docx")


def test_unsupported_format(tmp_path: Path) -> None:
    (tmp_path / "image.xyz").write_bytes(b"abc")
    with pytest.raises(LoaderError, match=r"^format non pris en charge : \.xyz$"):
        load_document(tmp_path / "image.xyz")
    (tmp_path / "ancien.doc").write_bytes(b"\xd0\xcf\x11\xe0 contenu")
    with pytest.raises(LoaderError, match=r"format non pris en charge : \.doc"):
        load_document(tmp_path / "ancien.doc")


def test_pdf_content_under_other_extension_is_read_as_pdf(tmp_path: Path) -> None:
    data = make_pdf(tmp_path / "a.pdf", [["Contenu PDF."]]).read_bytes()
    (tmp_path / "a.txt").write_bytes(data)
    doc = load_document(tmp_path / "a.txt")
    assert doc.format == "pdf" and doc.pages[0].text == "Contenu PDF."
    assert doc.warnings == ["contenu PDF sous l'extension .txt"]


# --- DOCX -------------------------------------------------------------------------------------


def test_docx_headings_paragraphs_lists_and_table_in_order(tmp_path: Path) -> None:
    import docx

    d = docx.Document()
    d.core_properties.title = ""
    d.add_heading("Convention d'adhésion", level=0)
    d.add_heading("1. Objet", level=1)
    d.add_paragraph("La convention fixe le cadre\u00a0: ﬁnancement et suivi.")
    d.add_paragraph("redynamiser le commerce", style="List Bullet")
    d.add_paragraph("première étape", style="List Number")
    d.add_paragraph("deuxième étape", style="List Number")
    table = d.add_table(rows=3, cols=2)
    for row, values in zip(table.rows, [("Action", "Coût"), ("Étude", "10 000 €"), ("Travaux", "")],
                           strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    d.add_heading("1.1 Détail", level=2)
    d.add_paragraph("Après le tableau.")
    path = tmp_path / "convention.docx"
    d.save(str(path))

    doc = load_document(path)
    assert doc.format == "docx"
    assert doc.title == "Convention d'adhésion"
    assert len(doc.pages) == 1 and doc.pages[0].number is None
    assert _blocks(doc) == [
        ("heading", "Convention d'adhésion", 1),
        ("heading", "1. Objet", 1),
        ("paragraph", "La convention fixe le cadre : financement et suivi.", 0),
        ("list_item", "• redynamiser le commerce", 0),
        ("list_item", "1. première étape", 0),
        ("list_item", "2. deuxième étape", 0),
        ("table_row", "Action : Étude ; Coût : 10 000 €", 0),
        ("table_row", "Action : Travaux", 0),
        ("heading", "1.1 Détail", 2),
        ("paragraph", "Après le tableau.", 0),
    ]


def test_docx_table_without_header_joins_cells(tmp_path: Path) -> None:
    import docx

    d = docx.Document()
    table = d.add_table(rows=1, cols=3)
    for cell, value in zip(table.rows[0].cells, ("a", "", "c"), strict=True):
        cell.text = value
    path = tmp_path / "t.docx"
    d.save(str(path))
    assert _blocks(load_document(path)) == [("table_row", "a | c", 0)]


def test_damaged_docx(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "casse.docx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("word/document.xml", "<pas du xml")
    with pytest.raises(LoaderError, match="DOCX illisible"):
        load_document(path)


# --- Markdown, TXT, CSV --------------------------------------------------------------------


def test_markdown_headings_lists_tables(tmp_path: Path) -> None:
    path = tmp_path / "note.md"
    path.write_text(
        "# Présentation du programme\n\n"
        "Le programme **Petites villes de demain**\naccompagne les [communes](https://x.fr).\n\n"
        "## 1. Objectifs\n\n"
        "- redynamiser le commerce\n  de proximité\n- améliorer l'habitat\n\n"
        "<!-- pagebreak -->\n"
        "| Commune | Population |\n|---|---:|\n| Ugine | 7 000 |\n\n"
        "### Détail\nFin.\n",
        encoding="utf-8",
    )
    doc = load_document(path)
    assert doc.format == "md" and doc.title == "Présentation du programme"
    assert doc.pages[0].number is None
    assert _blocks(doc) == [
        ("heading", "Présentation du programme", 1),
        ("paragraph", "Le programme Petites villes de demain accompagne les communes.", 0),
        ("heading", "1. Objectifs", 2),
        ("list_item", "• redynamiser le commerce de proximité", 0),
        ("list_item", "• améliorer l'habitat", 0),
        ("table_row", "Commune : Ugine ; Population : 7 000", 0),
        ("heading", "Détail", 3),
        ("paragraph", "Fin.", 0),
    ]


def test_markdown_utf8_bom(tmp_path: Path) -> None:
    path = tmp_path / "bom.md"
    path.write_bytes("\ufeff# Étude\n\nTexte.".encode())
    assert _blocks(load_document(path)) == [("heading", "Étude", 1), ("paragraph", "Texte.", 0)]


def test_txt_cp1252_accents(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    text = ("ÉTUDE PRÉALABLE\r\n\r\nLa rénovation de l'îlot coûtera 5 000 € ;\r\n"
            "l'œuvre est prévue à l'été.\r\n\r\n• première action\r\n")
    path.write_bytes(text.encode("cp1252"))
    doc = load_document(path)
    assert doc.format == "txt" and doc.title == "ÉTUDE PRÉALABLE"
    assert _blocks(doc) == [
        ("heading", "ÉTUDE PRÉALABLE", 1),
        ("paragraph", "La rénovation de l'îlot coûtera 5 000 € ; l'œuvre est prévue à l'été.", 0),
        ("list_item", "• première action", 0),
    ]


def test_txt_latin1(tmp_path: Path) -> None:
    path = tmp_path / "l.txt"
    path.write_bytes("Réunion à Moûtiers, élus présents.".encode("latin-1"))
    assert load_document(path).pages[0].text == "Réunion à Moûtiers, élus présents."


def test_csv_semicolon(tmp_path: Path) -> None:
    path = tmp_path / "suivi_actions.csv"
    path.write_bytes("commune;action;montant\nUgine;Étude commerce;1,5\nMoûtiers;;2,3\n"
                     .encode("cp1252"))
    doc = load_document(path)
    assert doc.format == "csv" and doc.title == "suivi actions"
    assert len(doc.pages) == 1 and doc.pages[0].number is None
    assert _blocks(doc) == [
        ("table_row", "commune : Ugine ; action : Étude commerce ; montant : 1,5", 0),
        ("table_row", "commune : Moûtiers ; montant : 2,3", 0),
    ]


def test_csv_comma_and_tab(tmp_path: Path) -> None:
    comma = tmp_path / "c.csv"
    comma.write_text('nom,note\n"Albertville, Savoie",12\n', encoding="utf-8")
    assert load_document(comma).pages[0].text == "nom : Albertville, Savoie ; note : 12"
    tab = tmp_path / "t.tsv"
    tab.write_text("nom\tnote\nUgine\t3\n", encoding="utf-8")
    assert load_document(tab).pages[0].text == "nom : Ugine ; note : 3"


def test_csv_header_only(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text("a;b\n", encoding="utf-8")
    with pytest.raises(LoaderError, match="CSV sans données"):
        load_document(path)


def test_merge_layout() -> None:
    plain = "ligne un\nligne deux\nA\nB\nPied\nPage 1 / 2\nTitre"
    layout = ("Titre\n\n\nligne un\nligne deux\n\n A        B\n\n"
              "Pied        Page 1 / 2")
    assert merge_layout(plain, layout) == (
        "Titre\n\nligne un\nligne deux\n\nA | B\n\nPied | Page 1 / 2")
    # Columns side by side in layout mode do not align: plain text comes back unchanged.
    assert merge_layout("a1\nb1\nc1\nd1", "a1      c1\nb1      d1") == "a1\nb1\nc1\nd1"


def test_merge_layout_cell_going_on_a_second_line() -> None:
    """«Banque des» over «– ingénierie» has as many cells as a row: it goes on the row above.
    Read as a row of its own, the cells came in another order than default mode's and the
    whole page fell back to plain text (the summary table of pvd-financements.pdf, p. 7)."""
    plain = "Dispositif\nPorteur\nBanque des\n– ingénierie\nCaisse des\nDépôts\nDSIL\nÉtat – préfet"
    layout = ("Dispositif      Porteur\n\nBanque des      Caisse des\n– ingénierie    Dépôts\n\n"
              "DSIL            État – préfet")
    assert merge_layout(plain, layout) == ("Dispositif | Porteur\n\nBanque des – ingénierie | "
                                           "Caisse des Dépôts\n\nDSIL | État – préfet")


def test_markdown_parsed_by_markdown_it():
    from assistant.ingest.loaders.text import load_markdown

    md = (
        "# Titre&#160;**gras**\n\nUn paragraphe\ncoupé en [deux](http://x) lignes.\n\n"
        "- un\n  - deux\n3. trois\n\n| a | b |\n|---|---|\n| x \\| y | `z` |\n\n"
        "```\ncode\nici\n```\n"
    )
    blocks = load_markdown(md.encode()).pages[0].blocks
    assert [(b.kind, b.text, b.level) for b in blocks] == [
        ("heading", "Titre gras", 1),  # entity decoded, emphasis marks dropped
        ("paragraph", "Un paragraphe coupé en deux lignes.", 0),
        ("list_item", "• un", 0),
        ("list_item", "• deux", 0),  # a nested item is an item of its own
        ("list_item", "3. trois", 0),  # the number as written
        ("table_row", "a : x | y ; b : z", 0),  # escaped pipe kept inside its cell
        ("paragraph", "code ici", 0),
    ]


def test_cp1252_csv_with_invalid_bytes_gives_a_warning_not_garbled_text(tmp_path: Path) -> None:
    """Bytes cp1252 leaves undefined (0x81, 0x9D...) used to send the file to another
    encoding's guess: every accent garbled, silently."""
    rows = ["commune;action;montant", "Ugine;Étude préalable du cœur de bourg;1 500 €",
            "Moûtiers;Rénovation de l'îlot;2 300 €"]
    data = "\n".join(rows).encode("cp1252").replace(b"l'\xeelot", b"l'\xeelot\x81") + b"\n"
    path = tmp_path / "suivi.csv"
    path.write_bytes(data)
    doc = load_document(path)
    assert doc.pages[0].blocks[0].text == (
        "commune : Ugine ; action : Étude préalable du cœur de bourg ; montant : 1 500 €")
    assert "Rénovation de l'îlot\ufffd" in doc.pages[0].text
    assert doc.warnings == ["1 octet(s) invalide(s) en cp1252 remplacé(s) par « \ufffd » : "
                            "vérifiez l'encodage du fichier (enregistrez-le en UTF-8)"]


def test_utf8_text_with_stray_cp1252_bytes_is_read_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes("Réunion à Moûtiers, élus présents, ".encode() + "fin de l'été.".encode(
        "cp1252"))
    doc = load_document(path)
    assert doc.pages[0].text == "Réunion à Moûtiers, élus présents, fin de l'été."
    assert doc.warnings and doc.warnings[0].startswith("2 octet(s) hors UTF-8 lu(s) en cp1252")


def test_clean_files_have_no_encoding_warning(tmp_path: Path) -> None:
    for name, data in [("a.txt", "Réunion à Moûtiers.".encode("cp1252")),
                       ("b.txt", "Réunion à Moûtiers.".encode()),
                       ("c.csv", "a;b\nÉté;1\n".encode("latin-1"))]:
        (tmp_path / name).write_bytes(data)
        assert load_document(tmp_path / name).warnings == [], name
