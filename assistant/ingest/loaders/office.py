"""DOCX reader: headings, paragraphs, list items and table rows in body order, one Page."""

from __future__ import annotations

import re
from io import BytesIO
from typing import Any

from assistant.errors import DependencyError, LoaderError
from assistant.ingest.textrepair import (
    RawBlock,
    list_item,
    make_page,
    normalize_chars,
    table_blocks,
)
from assistant.types import LoadedDocument

_HEADING_STYLE_RE = re.compile(r"^(?:heading|titre)\s*(\d)$", re.IGNORECASE)
_W_NS = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _docx() -> Any:
    try:
        import docx
    except ImportError as exc:
        raise DependencyError(
            "la lecture des DOCX demande le paquet python-docx : .venv/bin/pip install python-docx"
        ) from exc
    return docx


def _clean(text: str) -> str:
    return " ".join(normalize_chars(text).split())


def _outline_level(paragraph: Any) -> int:
    # Custom styles can still carry a heading outline level (w:outlineLvl, 0-based).
    ppr = paragraph._p.pPr
    node = ppr.find(f"{_W_NS}outlineLvl") if ppr is not None else None
    if node is None:
        return 0
    try:
        value = int(node.get(f"{_W_NS}val", "9"))
    except ValueError:
        return 0
    return value + 1 if value < 9 else 0


def _paragraph_block(paragraph: Any, counters: dict[str, int]) -> RawBlock | None:
    text = _clean(paragraph.text)
    if not text:
        return None
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    if style in ("Title", "Titre"):
        return ("heading", text, 1)
    m = _HEADING_STYLE_RE.match(style)
    level = int(m.group(1)) if m else _outline_level(paragraph)
    if level:
        return ("heading", text, level)
    ppr = paragraph._p.pPr
    numbered = ppr is not None and ppr.numPr is not None
    if style.startswith("List Number"):
        # Word numbers these items itself; the text does not hold the number.
        counters[style] = counters.get(style, 0) + 1
        return ("list_item", f"{counters[style]}. {text}", 0)
    counters.clear()
    if style.startswith(("List", "Liste")) or numbered:
        return ("list_item", list_item(text) or f"• {text}", 0)
    return ("paragraph", text, 0)


def _row_cells(row: Any) -> list[str]:
    # A merged cell appears once per grid column it spans; keep it once.
    cells: list[str] = []
    seen: set[int] = set()
    for cell in row.cells:
        if id(cell._tc) in seen:
            continue
        seen.add(id(cell._tc))
        cells.append(_clean(cell.text))
    return cells


def check_archive(data: bytes, max_unpacked_mb: float, max_ratio: float) -> None:
    """Refuse a zip whose entries unpack to too much, in total or for its size (a zip bomb),
    from its directory alone: nothing is decompressed. The declared sizes bind: zipfile
    never returns more than an entry's declared size, and a lie fails its CRC."""
    import zipfile

    try:
        with zipfile.ZipFile(BytesIO(data)) as zf:
            unpacked = sum(info.file_size for info in zf.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise LoaderError(f"DOCX illisible : {exc}") from exc
    if unpacked > max_unpacked_mb * 1e6:
        raise LoaderError(
            f"archive DOCX refusée : {unpacked / 1e6:.0f} Mo une fois décompressée (limite "
            f"{max_unpacked_mb:g} Mo, réglage ASSISTANT_DOCX_MAX_UNPACKED_MB)"
        )
    ratio = unpacked / max(len(data), 1)
    if ratio > max_ratio:
        raise LoaderError(
            f"archive DOCX refusée : taux de compression {ratio:.0f}:1 (limite "
            f"{max_ratio:g}:1, réglage ASSISTANT_DOCX_MAX_RATIO), probable bombe de décompression"
        )


def load_docx(data: bytes) -> LoadedDocument:
    """Read a DOCX into a single Page (number=None) whose blocks follow the body order.

    Heading N / Title styles (or an outline level) give heading blocks of that level,
    List styles and numbered paragraphs give list items, tables give one block per row.
    """
    docx = _docx()
    import zipfile

    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table
    from lxml.etree import XMLSyntaxError

    try:
        document = docx.Document(BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, XMLSyntaxError, KeyError, ValueError,
            OSError) as exc:
        raise LoaderError(f"DOCX illisible : {exc}") from exc

    blocks: list[RawBlock] = []
    counters: dict[str, int] = {}
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            counters.clear()
            blocks.extend(table_blocks([_row_cells(row) for row in item.rows]))
        else:
            block = _paragraph_block(item, counters)
            if block:
                blocks.append(block)
    if not blocks:
        raise LoaderError("DOCX sans texte")
    page = make_page(None, blocks)
    title = _clean(document.core_properties.title or "") or None
    if title is None:
        title = next((b.text for b in page.blocks if b.kind == "heading"), None)
    return LoadedDocument(pages=[page], title=title, format="docx")
