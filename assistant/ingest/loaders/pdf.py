"""PDF reader: pypdf text page by page, repaired into blocks; encryption and damage reported."""

from __future__ import annotations

import logging
import re
from io import BytesIO
from typing import Any

from assistant.errors import DependencyError, LoaderError
from assistant.ingest.textrepair import TABLE_SEPARATOR, join_lines, normalize_chars, repair_pages
from assistant.types import LoadedDocument

_JUNK_TITLES = ("untitled", "sans titre", "document", "microsoft word", "titre")


def _pypdf() -> Any:
    try:
        import pypdf
    except ImportError as exc:
        raise DependencyError(
            "la lecture des PDF demande le paquet pypdf : .venv/bin/pip install pypdf"
        ) from exc
    return pypdf


def _open(data: bytes) -> Any:
    pypdf = _pypdf()
    # pypdf logs warnings ("EOF marker not found") that the LoaderError already reports.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = pypdf.PdfReader(BytesIO(data), strict=False)
    except (pypdf.errors.PdfReadError, ValueError, KeyError, TypeError, AttributeError,
            IndexError, OSError) as exc:
        raise LoaderError(f"PDF illisible ou tronqué : {exc}") from exc
    if reader.is_encrypted:
        try:
            ok = reader.decrypt("")
        except pypdf.errors.DependencyError as exc:
            raise DependencyError(
                "ce PDF est chiffré en AES : installez le paquet cryptography "
                "(.venv/bin/pip install cryptography)"
            ) from exc
        except (pypdf.errors.PdfReadError, NotImplementedError, ValueError, KeyError) as exc:
            raise LoaderError(f"PDF chiffré illisible : {exc}") from exc
        if not ok:
            raise LoaderError(
                "PDF protégé par un mot de passe : retirez la protection puis réessayez"
            )
    return reader


def _page_text(page: Any) -> str:
    """Default-mode text (reading order) with the paragraph gaps of layout mode when they align."""
    plain = page.extract_text() or ""
    if not plain.strip():
        return ""
    try:
        layout = page.extract_text(extraction_mode="layout") or ""
    except (ValueError, KeyError, TypeError, IndexError, ZeroDivisionError, AttributeError):
        return plain  # layout mode is only a hint
    return merge_layout(plain, layout)


# Layout mode separates table cells (and same-line pieces) by runs of 3+ spaces.
_SEGMENT_RE = re.compile(r"\S+(?: {1,2}\S+)*")


def _key(line: str) -> str:
    return "".join(normalize_chars(line).split())


def _segments(line: str) -> list[tuple[int, str]]:
    return [(m.start(), m.group()) for m in _SEGMENT_RE.finditer(line)]


_GOES_ON = re.compile(r"[–—-]\s")
_LOWER = re.compile(r"[a-zà-ÿ]")


def _table_rows(lines: list[str]) -> list[list[list[str]]]:
    """Layout lines of table rows as rows of cells (each a list of line pieces): a line with
    as many cells as the first starts a row, other lines continue the cells they sit under."""
    rows: list[list[list[str]]] = []
    starts: list[int] = []
    for line in lines:
        segs = _segments(line)
        # «Banque des Territoires» over «– ingénierie», «Étape» over «d'élaboration»: a first
        # cell going on from the line above continues the row, however many cells it has. A
        # lower-case word only in a table of three columns or more: two columns of prose
        # («a1 c1» over «b1 d1») have as many pieces on every line.
        goes_on = bool(segs) and bool(_GOES_ON.match(segs[0][1]) or (
            len(segs) >= 3 and _LOWER.match(segs[0][1])))
        if not rows or (len(segs) == len(starts) and not goes_on):
            starts = [pos for pos, _ in segs]
            rows.append([[text] for _, text in segs])
            continue
        for pos, text in segs:
            col = max((j for j, start in enumerate(starts) if start <= pos + 2), default=0)
            rows[-1][col].append(text)
    return rows


def merge_layout(plain: str, layout: str) -> str:
    """Give ``plain`` (pypdf default mode, reading order) the structure seen in ``layout``
    (pypdf layout mode): blank lines at vertical gaps, and table rows as "cell | cell" lines.

    Both extractions are cut into runs of lines between gaps; each run must hold exactly
    the characters of a run of plain lines (in any order, as table cells come cell by
    cell; runs may come in another order, as running headers are often drawn last). When
    they do not (text in columns, odd spacing) ``plain`` comes back unchanged.
    """
    plain_lines = [line for line in plain.split("\n") if line.strip()]
    keys = [_key(line) for line in plain_lines]
    used = [False] * len(keys)
    groups: list[list[str]] = [[]]
    for line in layout.split("\n"):
        if line.strip():
            groups[-1].append(line)
        elif groups[-1]:
            groups.append([])
    out: list[str] = []
    for group in filter(None, groups):
        gkey = "".join(_key(line) for line in group)
        span = _find_run(keys, used, gkey)
        if span is None:
            return plain
        start, end = span
        used[start:end] = [True] * (end - start)
        if out:
            out.append("")
        wide = next((k for k, line in enumerate(group) if len(_segments(line)) > 1), None)
        rows = _table_rows(group[wide:]) if wide is not None else []
        # Default mode puts each table cell on its own line; a wide gap inside one plain
        # line (spacing drawn by the PDF) is not a cell boundary.
        if wide is None or not all(
            any(k.startswith(_key(cell[0])) for k in keys[start:end])
            for row in rows for cell in row
        ):
            out.extend(plain_lines[start:end])
            continue
        cells = "".join(_key(piece) for row in rows for cell in row for piece in cell)
        if "".join(_key(line) for line in group[:wide]) + cells != "".join(keys[start:end]):
            return plain  # not read cell by cell, row by row: text set in columns
        out.extend(" ".join(line.split()) for line in group[:wide])
        out.extend(TABLE_SEPARATOR.join(join_lines(cell) for cell in row) for row in rows)
    return "\n".join(out) if all(used) else plain


def _find_run(keys: list[str], used: list[bool], gkey: str) -> tuple[int, int] | None:
    """The first run of unused plain lines holding exactly the characters of ``gkey``."""
    target = sorted(gkey)
    for start in range(len(keys)):
        if used[start] or not keys[start] or not (
            gkey.startswith(keys[start]) or any(c in gkey for c in keys[start][:1])
        ):
            continue
        end, size = start, 0
        while end < len(keys) and not used[end] and size < len(gkey):
            size += len(keys[end])
            end += 1
        if size == len(gkey) and sorted("".join(keys[start:end])) == target:
            return start, end
    return None


def _title(reader: Any) -> str | None:
    try:
        meta = reader.metadata
        title = (meta.title if meta else None) or ""
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    title = " ".join(str(title).split())
    if not title or title.casefold().startswith(_JUNK_TITLES) or title.lower().endswith(
        (".doc", ".docx", ".pdf")
    ):
        return None
    return title


def load_pdf(data: bytes, *, max_pages: int | None = None) -> LoadedDocument:
    """Read a PDF: one Page per page numbered 1, 2, 3… (index + 1, as a viewer shows them).

    Empty pages are kept without blocks; if no page has text, LoaderError (OCR needed).
    The title is the metadata title, else the first heading.
    """
    pypdf = _pypdf()
    reader = _open(data)
    warnings: list[str] = []
    try:
        # The page tree's count, read before any page is parsed or any text extracted.
        count = len(reader.pages)
        if max_pages is not None and count > max_pages:
            raise LoaderError(
                f"trop de pages : {count} (limite {max_pages}) ; réglage ASSISTANT_MAX_PAGES"
            )
        pages = list(reader.pages)
    except (pypdf.errors.PdfReadError, ValueError, KeyError, TypeError, AttributeError,
            IndexError, RecursionError) as exc:
        raise LoaderError(f"PDF illisible ou tronqué : {exc}") from exc
    if not pages:
        raise LoaderError("PDF illisible ou tronqué : aucune page")
    texts: list[str] = []
    for i, page in enumerate(pages, start=1):
        try:
            texts.append(_page_text(page))
        except (pypdf.errors.PdfReadError, ValueError, KeyError, TypeError, AttributeError,
                IndexError, RecursionError, ZeroDivisionError) as exc:
            warnings.append(f"page {i} illisible : {exc}")
            texts.append("")
    if not any(t.strip() for t in texts):
        if warnings:
            raise LoaderError(f"PDF illisible ou tronqué : {warnings[0]}")
        raise LoaderError("pas de texte : OCR nécessaire (PDF scanné ou composé d'images)")
    repaired = repair_pages(texts, list(range(1, len(texts) + 1)))
    empty = [p.number for p in repaired if not p.blocks]
    if empty:
        warnings.append("pages sans texte : " + ", ".join(str(n) for n in empty))
    title = _title(reader)
    if title is None:
        title = next((b.text for p in repaired for b in p.blocks if b.kind == "heading"), None)
    return LoadedDocument(pages=repaired, title=title, format="pdf", warnings=warnings)
