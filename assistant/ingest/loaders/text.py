"""Plain-text readers: encoding detection, Markdown, TXT and CSV into blocks."""

from __future__ import annotations

import codecs
import csv
import io
import re
import threading

from assistant.errors import LoaderError
from assistant.ingest.textrepair import (
    RawBlock,
    join_lines,
    make_page,
    normalize_chars,
    repair_page,
    table_blocks,
)
from assistant.types import BlockKind, LoadedDocument, Page

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

_ATX_RE = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_MD_ITEM_RE = re.compile(r"^(\s*)([-*+]|\d{1,3}[.)])\s+(.*)$")
_TABLE_SEP_RE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_HR_RE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")
_FENCE_RE = re.compile(r"^\s*(```|~~~)")


def _inline(text: str) -> str:
    """Strip Markdown inline markup: links and images keep their text, emphasis marks go."""
    text = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<br\s*/?>|</?(?:b|i|em|strong|u|sup|sub|span)\b[^>]*>", " ", text)
    text = re.sub(r"(\*\*|__)(.+?)\1", r"\2", text)
    text = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"\1", text)
    text = text.replace("`", "")
    return re.sub(r"\\([\\`*_{}\[\]()#+\-.!|])", r"\1", text)


def _cells(line: str) -> list[str]:
    line = line.strip()
    line = line[1:] if line.startswith("|") else line
    line = line[:-1] if line.endswith("|") and not line.endswith("\\|") else line
    return [_inline(c.strip()).replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)]


def markdown_blocks(text: str) -> list[RawBlock]:
    """Blocks of a Markdown text: # headings, paragraphs, list items, pipe tables as rows."""
    text = re.sub(r"<!--.*?-->", "", normalize_chars(text), flags=re.DOTALL)
    lines = text.split("\n")
    if lines and lines[0].strip() in ("---", "+++"):
        fence = lines[0].strip()
        end = next((i for i in range(1, len(lines)) if lines[i].strip() == fence), None)
        if end is not None:
            lines = lines[end + 1:]
    blocks: list[RawBlock] = []
    kind: BlockKind = "paragraph"
    parts: list[str] = []

    def flush() -> None:
        if parts:
            blocks.append((kind, _inline(join_lines(parts)), 0))
            parts.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        i += 1
        if _FENCE_RE.match(line):
            flush()
            code: list[str] = []
            while i < len(lines) and not _FENCE_RE.match(lines[i]):
                code.append(lines[i])
                i += 1
            i += 1
            blocks.append(("paragraph", " ".join(code), 0))
            continue
        if not line.strip() or (_HR_RE.match(line) and not parts):
            flush()
            continue
        m = _ATX_RE.match(line)
        if m:
            flush()
            blocks.append(("heading", _inline(m.group(2)), len(m.group(1))))
            continue
        if parts and kind == "paragraph" and re.match(r"^\s*(=+|-+)\s*$", line):
            # Setext heading: the paragraph above the underline is a title.
            level = 1 if line.strip()[0] == "=" else 2
            blocks.append(("heading", _inline(join_lines(parts)), level))
            parts.clear()
            continue
        if "|" in line and _TABLE_SEP_RE.match(nxt) and "|" in nxt:
            flush()
            rows = [_cells(line)]
            i += 1  # skip the separator row
            while i < len(lines) and "|" in lines[i] and lines[i].strip():
                rows.append(_cells(lines[i]))
                i += 1
            blocks.extend(table_blocks(rows))
            continue
        m = _MD_ITEM_RE.match(line)
        if m:
            flush()
            kind = "list_item"
            marker = m.group(2)
            parts.append(("• " if marker in "-*+" else marker + " ") + m.group(3))
            continue
        stripped = re.sub(r"^\s*(>\s?)+", "", line).strip()
        if parts:
            parts.append(stripped)
        else:
            kind = "paragraph"
            parts.append(stripped)
    flush()
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
