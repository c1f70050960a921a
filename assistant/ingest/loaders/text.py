"""Plain-text readers: encoding detection, Markdown, TXT and CSV into blocks."""

from __future__ import annotations

import codecs
import csv
import functools
import io
import re
import threading
from typing import Any

from assistant.errors import LoaderError
from assistant.ingest.textrepair import (
    RawBlock,
    join_lines,
    make_page,
    normalize_chars,
    repair_page,
    table_blocks,
)
from assistant.types import LoadedDocument, Page

CSV_ROWS_PER_PAGE = 1000
_FRENCH = set("àâäçéèêëîïôöùûüÿœæÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸŒÆ«»’‘“”–—…€°")
_WESTERN = {"cp1252", "latin_1", "iso8859_15", "iso8859_1", "ascii"}


def _looks_french(text: str) -> bool:
    # cp1252 decodes almost any byte string; French text gives mostly accented letters.
    extra = [c for c in text if ord(c) > 127]
    return bool(extra) and sum(c in _FRENCH for c in extra) >= 0.8 * len(extra)


def decode_text(data: bytes) -> str:
    """Decode bytes: UTF-8 (with or without BOM), UTF-16 with BOM, else the detected
    encoding, preferring cp1252 for French text (latin-1 and cp1252 files come out right)."""
    return decode_text_checked(data)[0]


def _invalid(count: int, encoding: str) -> str:
    return (f"{count} octet(s) invalide(s) en {encoding} remplacé(s) par « \ufffd » : "
            "vérifiez l'encodage du fichier (enregistrez-le en UTF-8)")


def decode_text_checked(data: bytes) -> tuple[str, list[str]]:
    """:func:`decode_text`, with a warning when bytes had to be replaced or guessed at
    (a cp1252 file with bytes cp1252 leaves undefined, a UTF-8 file with stray bytes)."""
    if data.startswith(codecs.BOM_UTF8):
        return _decode_replacing(data[len(codecs.BOM_UTF8):], "utf-8")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decode_replacing(data, "utf-16")
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    try:
        cp1252: str | None = data.decode("cp1252")
    except UnicodeDecodeError:
        cp1252 = None
    if cp1252 is not None and _looks_french(cp1252):
        return cp1252, []
    utf8 = data.decode("utf-8", errors="replace")
    bad_utf8 = utf8.count("\ufffd")
    if any(ord(c) > 127 and c != "\ufffd" for c in utf8) and bad_utf8 <= max(
        2, len(utf8) // 1000
    ):
        # Valid multi-byte sequences and a few stray bytes (text pasted from a cp1252
        # file): the stray bytes are read as cp1252, and said so.
        _STRAY.count = 0
        text = data.decode("utf-8", errors="assistant-cp1252-stray")
        return text, [f"{_STRAY.count} octet(s) hors UTF-8 lu(s) en cp1252 : vérifiez "
                      "l'encodage du fichier (enregistrez-le en UTF-8)"]
    if cp1252 is None:
        # Bytes cp1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D): French text in
        # cp1252 with a few of them is still cp1252, not another encoding's mojibake.
        replaced = data.decode("cp1252", errors="replace")
        if _looks_french(replaced.replace("\ufffd", "")):
            return replaced, [_invalid(replaced.count("\ufffd"), "cp1252")]
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # optional: without it, fall back to the Western encodings
        best = None
    else:
        best = from_bytes(data).best()
    if best is not None and best.encoding not in _WESTERN:
        return str(best), [f"encodage deviné : {best.encoding} (vérifiez le texte indexé)"]
    if cp1252 is not None:
        return cp1252, []
    text = data.decode("latin-1")
    controls = sum(1 for c in text if "\x80" <= c <= "\x9f")
    return text, [f"encodage inconnu, lu en latin-1 : {controls} caractère(s) de contrôle, "
                  "vérifiez l'encodage du fichier (enregistrez-le en UTF-8)"]


_STRAY = threading.local()  # invalid bytes met by the handler below, per thread


def _cp1252_stray(exc: UnicodeError) -> tuple[str, int]:
    """Codecs error handler: an invalid UTF-8 byte is read as cp1252 (or U+FFFD)."""
    assert isinstance(exc, UnicodeDecodeError)
    bad = exc.object[exc.start:exc.end]
    _STRAY.count = getattr(_STRAY, "count", 0) + len(bad)
    return bad.decode("cp1252", errors="replace"), exc.end


codecs.register_error("assistant-cp1252-stray", _cp1252_stray)


def _decode_replacing(data: bytes, encoding: str) -> tuple[str, list[str]]:
    try:
        return data.decode(encoding), []
    except UnicodeDecodeError:
        text = data.decode(encoding, errors="replace")
        return text, [_invalid(text.count("\ufffd"), encoding.upper())]


def _title(page: Page) -> str | None:
    headings = [b for b in page.blocks if b.kind == "heading"]
    if not headings:
        return None
    return min(headings, key=lambda b: b.level).text


# --- TXT -----------------------------------------------------------------------------------


def load_txt(data: bytes, stem: str = "") -> LoadedDocument:
    """Read a text file into one Page (number=None): blank lines end paragraphs; headings,
    list items and wrapped lines are handled as for PDF pages."""
    text, warnings = decode_text_checked(data)
    page = repair_page(text, None)
    if not page.blocks:
        raise LoaderError("fichier vide")
    return LoadedDocument(pages=[page], title=_title(page), format="txt", warnings=warnings)


# --- Markdown -------------------------------------------------------------------------------

_HTML_BREAK_RE = re.compile(r"<br\s*/?>|</?(?:b|i|em|strong|u|sup|sub|span)\b[^>]*>", re.I)


@functools.cache
def _parser() -> Any:
    """CommonMark plus GFM pipe tables; markdown-it-py comes with Gradio (and the core)."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table")


def _inline(token: Any) -> str:
    """The text of an inline token: markup, links and images dropped (their text kept),
    soft line breaks as "\n" (rejoined by :func:`join_lines`), hard breaks as spaces."""
    out: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type == "softbreak":
            out.append("\n")
        elif child.type == "hardbreak":
            out.append(" ")
        elif child.type == "image":
            out.append(_inline(child))
        elif child.type == "html_inline" and _HTML_BREAK_RE.fullmatch(child.content):
            out.append(" ")
        elif child.type == "html_inline":
            out.append(child.content)
    return "".join(out)


def _line_text(token: Any) -> str:
    return join_lines(_inline(token).split("\n"))


def markdown_blocks(text: str) -> list[RawBlock]:
    """Blocks of a Markdown text: headings, paragraphs, list items, pipe tables as rows."""
    text = re.sub(r"<!--.*?-->", "", normalize_chars(text), flags=re.DOTALL)
    lines = text.split("\n")
    if lines and lines[0].strip() in ("---", "+++"):
        fence = lines[0].strip()
        end = next((i for i in range(1, len(lines)) if lines[i].strip() == fence), None)
        if end is not None:
            text = "\n".join(lines[end + 1:])
    blocks: list[RawBlock] = []
    markers: list[str] = []  # the marker of each open list item, innermost last
    item_started = False  # the current item's first paragraph is already a block
    rows: list[list[str]] = []
    tokens = _parser().parse(text)
    for i, tok in enumerate(tokens):
        kind = tok.type
        if kind == "heading_open":
            blocks.append(("heading", _line_text(tokens[i + 1]), int(tok.tag[1])))
        elif kind == "list_item_open":
            bullet = tok.markup in ("-", "*", "+")
            markers.append("• " if bullet else f"{tok.info}{tok.markup} ")
            item_started = False
        elif kind == "list_item_close":
            markers.pop()
            item_started = False
        elif kind == "paragraph_open":
            body = _line_text(tokens[i + 1])
            if markers and not item_started:
                blocks.append(("list_item", markers[-1] + body, 0))
                item_started = True
            elif markers:
                blocks.append(("list_item", body, 0))
            else:
                blocks.append(("paragraph", body, 0))
        elif kind in ("fence", "code_block"):
            blocks.append(("paragraph", " ".join(tok.content.rstrip("\n").split("\n")), 0))
        elif kind == "html_block":
            blocks.append(("paragraph", re.sub(r"<[^>]+>", " ", tok.content), 0))
        elif kind == "tr_open":
            rows.append([])
        elif kind == "inline" and rows and tokens[i - 1].type in ("th_open", "td_open"):
            rows[-1].append(" ".join(_inline(tok).split()))
        elif kind == "table_close":
            blocks.extend(table_blocks(rows))
            rows = []
    return blocks


def load_markdown(data: bytes, stem: str = "") -> LoadedDocument:
    """Read a Markdown file into one Page (number=None); title = the top-level heading."""
    text, warnings = decode_text_checked(data)
    page = make_page(None, markdown_blocks(text))
    if not page.blocks:
        raise LoaderError("fichier vide")
    return LoadedDocument(pages=[page], title=_title(page), format="md", warnings=warnings)


# --- CSV -------------------------------------------------------------------------------------


def sniff_delimiter(text: str) -> str:
    """The delimiter among "," ";" tab "|" that splits the first lines most consistently."""
    sample = [line for line in text.split("\n")[:30] if line.strip()]
    best, best_score = ",", (0.0, 0)
    for delim in (";", ",", "\t", "|"):
        try:
            counts = [len(r) for r in csv.reader(io.StringIO("\n".join(sample)), delimiter=delim)]
        except csv.Error:
            continue
        if not counts or max(counts) < 2:
            continue
        mode = max(set(counts), key=counts.count)
        score = (counts.count(mode) / len(counts), mode)
        if mode >= 2 and score > best_score:
            best, best_score = delim, score
    return best


def load_csv(data: bytes, stem: str = "") -> LoadedDocument:
    """Read a CSV: one "table_row" block per record, "col : val ; col2 : val2", with the
    header row as labels; one Page (number=None) per 1000 records. Title from the file name."""
    # Cells are normalised one by one: normalize_chars would turn tab delimiters into spaces.
    text, warnings = decode_text_checked(data)
    text = text.replace("\r\n", "\n")
    delim = sniff_delimiter(text)
    try:
        rows = [[" ".join(normalize_chars(c).split()) for c in row]
                for row in csv.reader(io.StringIO(text), delimiter=delim)]
    except csv.Error as exc:
        raise LoaderError(f"CSV illisible : {exc}") from exc
    rows = [r for r in rows if any(r)]
    if not rows:
        raise LoaderError("fichier vide")
    header = [h or f"colonne {i + 1}" for i, h in enumerate(rows[0])]
    if len(rows) < 2:
        raise LoaderError("CSV sans données : seulement la ligne d'en-tête")
    records: list[RawBlock] = []
    for row in rows[1:]:
        pairs = [
            f"{header[i] if i < len(header) else f'colonne {i + 1}'} : {value}"
            for i, value in enumerate(row) if value
        ]
        records.append(("table_row", " ; ".join(pairs), 0))
    pages = [make_page(None, records[k:k + CSV_ROWS_PER_PAGE])
             for k in range(0, len(records), CSV_ROWS_PER_PAGE)]
    title = " ".join(stem.replace("_", " ").split()) or None
    return LoadedDocument(pages=pages, title=title, format="csv", warnings=warnings)
