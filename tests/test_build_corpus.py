"""Tests for scripts/build_corpus.py: PDF, DOCX, md and csv rendering and the manifest."""

from __future__ import annotations

import importlib.util
import re
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = importlib.util.spec_from_file_location("build_corpus", ROOT / "scripts" / "build_corpus.py")
build_corpus = importlib.util.module_from_spec(SPEC)
sys.modules["build_corpus"] = build_corpus
SPEC.loader.exec_module(build_corpus)

LONG = (
    "La revitalisation des centres-bourgs de Saint-Jean-de-Maurienne suppose une ingénierie "
    "considérable, une programmation pluriannuelle, une contractualisation intercommunale et une "
    "réhabilitation exemplaire des logements vacants, afin que la revitalisation territoriale "
    "profite durablement aux habitants des communes environnantes. "
)

PDF_SRC = f"""+++
output = "pdf"
file = "programme/essai.pdf"
title = "Document d'essai"
type = "programme"
communes = ["73157", "73117"]
epci = ["200070340"]
date = "2024-03-01"
exemple = true
visibility = "commune"
header = "Essai · En-tête courant"
footer = "Agate · Pied de page"
issuer = "Agate – Agence alpine des territoires"
+++
# Document d'essai

## 1. Première section

{LONG * 4}

- un point
- un autre point

| Dispositif | Porteur |
|---|---|
| DETR | Préfet |
| DSIL | Préfet de région |

<!-- columns: 2 -->
## 2. Deux colonnes

{LONG * 6}

<!-- columns: 1 -->
<!-- pagebreak -->
## 3. Fin

{LONG}
"""

DOCX_SRC = """+++
output = "docx"
file = "programme/note.docx"
title = "Note"
type = "programme"
date = "2023-04"
+++
# Note d'étape

## 1. Contexte

Un paragraphe avec du **gras**.

- premier point
- second point

### 1.1 Chiffres

| Indicateur | Valeur |
|---|---|
| Chefs de projet | 904 |
"""

MD_SRC = """+++
output = "md"
file = "programme/club.md"
title = "Club"
type = "programme"
date = "2024"
+++
# Club PVD

Texte du club.
"""

CSV_SRC = """+++
output = "csv"
file = "suivi/tableau.csv"
title = "Tableau"
type = "suivi"
date = "2024-01-15"
visibility = "interne"
+++
commune,insee
Modane,73157
"""


@pytest.fixture()
def built(tmp_path: Path) -> tuple[Path, dict]:
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    for name, text in (("essai", PDF_SRC), ("note", DOCX_SRC), ("club", MD_SRC), ("tab", CSV_SRC)):
        (src / f"{name}.md").write_text(text, encoding="utf-8")
    return out, build_corpus.build(src, out)


def test_pdf_header_footer_and_hyphenation(built: tuple[Path, dict]) -> None:
    from pypdf import PdfReader

    out, result = built
    reader = PdfReader(out / "programme" / "essai.pdf")
    total = len(reader.pages)
    assert result["programme/essai.pdf"] == total >= 4
    assert reader.metadata.title == "Document d'essai"
    texts = [page.extract_text() for page in reader.pages]
    assert "Document d'essai" in texts[0] and "1er mars 2024" in texts[0]
    for number, text in enumerate(texts[1:], start=2):
        assert "Essai · En-tête courant" in text
        assert "Agate · Pied de page" in text
        assert f"Page {number} / {total}" in text
    body = "\n".join(texts)
    # a word cut by the renderer: a line ending in "letters-" followed by lowercase letters
    assert re.search(r"[a-zàâéèêîôûç]{2,}-\n[a-zàâéèêîôûç]{3,}", body)
    assert "revitalisation" in body.replace("-\n", "")
    assert "DETR" in body and "Préfet de région" in body


def test_pdf_is_deterministic(built: tuple[Path, dict], tmp_path: Path) -> None:
    out, _ = built
    assert build_corpus.differences(tmp_path / "src", out) == []
    (out / "programme" / "club.md").write_text("changé", encoding="utf-8")
    assert build_corpus.differences(tmp_path / "src", out) == ["programme/club.md"]


def test_docx_headings_lists_table(built: tuple[Path, dict]) -> None:
    import docx

    out, _ = built
    document = docx.Document(str(out / "programme" / "note.docx"))
    styles = [(p.style.name, p.text) for p in document.paragraphs]
    assert ("Title", "Note d'étape") in styles
    assert ("Heading 1", "1. Contexte") in styles
    assert ("Heading 2", "1.1 Chiffres") in styles
    assert ("List Bullet", "premier point") in styles
    assert document.tables and document.tables[0].cell(1, 1).text == "904"
    assert document.core_properties.title == "Note"


def test_md_csv_and_manifest(built: tuple[Path, dict]) -> None:
    out, _ = built
    assert (out / "programme" / "club.md").read_text(encoding="utf-8").startswith("# Club PVD")
    assert (out / "suivi" / "tableau.csv").read_text(
        encoding="utf-8"
    ) == "commune,insee\nModane,73157\n"
    docs = {d["file"]: d for d in tomllib.loads((out / "manifest.toml").read_text())["document"]}
    assert set(docs) == {
        "programme/essai.pdf",
        "programme/note.docx",
        "programme/club.md",
        "suivi/tableau.csv",
    }
    essai = docs["programme/essai.pdf"]
    assert essai == {
        "file": "programme/essai.pdf",
        "title": "Document d'essai",
        "type": "programme",
        "communes": ["73157", "73117"],
        "epci": ["200070340"],
        "date": "2024-03-01",
        "exemple": True,
        "visibility": "commune",
    }
    assert docs["suivi/tableau.csv"]["visibility"] == "interne"


def test_hyphenate_rules() -> None:
    assert ("revitali", "sation") in list(build_corpus.hyphenate("revitalisation"))
    assert ("chef-", "lieu") in list(build_corpus.hyphenate("chef-lieu"))
    assert all(len(h) >= 2 and len(t) >= 3 for h, t in build_corpus.hyphenate("programmation"))
