"""French repair of extracted page text: characters, running lines, hyphens, blocks."""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

from assistant.types import Block, BlockKind, Page

# --- characters -------------------------------------------------------------------------

_LIGATURES = str.maketrans(
    {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
     "\ufb05": "st", "\ufb06": "st"}
)
# Every Unicode space (nbsp, narrow nbsp, thin, em, ideographic...) plus tabs becomes " ".
_SPACES_RE = re.compile(r"[\t\v\f\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
# Invisible characters that only get in the way of search and quoting.
_INVISIBLE_RE = re.compile(r"[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
_MULTISPACE_RE = re.compile(r" {2,}")


def normalize_chars(text: str) -> str:
    """Expand ligatures, turn Unicode spaces into " ", drop soft hyphens, collapse spaces, NFC.

    Line breaks are kept (``\\r\\n`` and ``\\r`` become ``\\n``); each line is stripped. A
    soft hyphen at a line end marks a hyphenation point, so that line is glued to the next.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"\u00ad[ \t]*\n[ \t]*", "", text)
    text = _INVISIBLE_RE.sub("", text.translate(_LIGATURES))
    text = _SPACES_RE.sub(" ", text)
    lines = [_MULTISPACE_RE.sub(" ", line).strip() for line in text.split("\n")]
    return unicodedata.normalize("NFC", "\n".join(lines))


# --- running headers, footers, page numbers ---------------------------------------------

_PAGE_NUMBER_RE = re.compile(
    r"^(?:page|p\.|pg\.?)?\s*[-–—]?\s*\d{1,3}\s*(?:(?:/|sur|of|de)\s*\d{1,3})?\s*[-–—]?$",
    re.IGNORECASE,
)
_BARE_NUMBER_RE = re.compile(r"^[-–—]?\s*\d{1,3}\s*[-–—]?$")
EDGE_LINES = 3
TABLE_SEPARATOR = " | "  # how a PDF loader marks the cells of one table row on a line


def is_page_number_line(line: str) -> bool:
    """True for a lone page number: "3", "- 3 -", "Page 3 / 12", "3/12", "p. 3", "3 sur 12"."""
    return bool(_PAGE_NUMBER_RE.match(line.strip()))


def _running_key(line: str) -> str:
    # Digits vary from page to page ("Page 3 / 12"), so they are masked.
    return re.sub(r"\d+", "#", " ".join(line.split())).casefold()


def remove_running_lines(pages: Sequence[Sequence[str]], edge: int = EDGE_LINES) -> list[list[str]]:
    """Drop running headers/footers and page numbers from pages given as lists of lines.

    Only the first and last ``edge`` non-blank lines of a page are candidates. One is
    removed when, digits masked as "#", it appears among the candidates of at least half
    of the pages (and at least 3 pages; both pages of a 2-page document) and either its
    text is the same everywhere or one of its numbers follows the page index ("Page 3 / 12",
    "Rapport 2024 – 3"): lines differing by other numbers ("Article 3", "Tableau 4") stay.
    Numbered titles must repeat verbatim. A lone page number is removed too ("Page 3 / 12"
    anywhere in the edge, a bare "3" only as the very first or last line). Body lines
    repeated on a few pages stay.
    """
    n = len(pages)
    edges: list[list[int]] = []
    seen: dict[str, dict[int, str]] = {}
    for p, lines in enumerate(pages):
        filled = [i for i, line in enumerate(lines) if line.strip()]
        idx = sorted(set(filled[:edge] + filled[-edge:]))
        edges.append(idx)
        for i in idx:
            for piece in _pieces(" ".join(lines[i].split())):
                seen.setdefault(_running_key(piece), {}).setdefault(p, piece)
    if n >= 3:
        threshold = max(3, math.ceil(n / 2))
    elif n == 2:
        threshold = 2
    else:
        threshold = n + 1  # a single page has nothing to compare with
    running = {key for key, occ in seen.items() if _is_running(occ, threshold)}
    out: list[list[str]] = []
    for lines, idx in zip(pages, edges, strict=True):
        filled = [i for i, line in enumerate(lines) if line.strip()]
        outer = {filled[0], filled[-1]} if filled else set()
        drop = set()
        for i in idx:
            line = " ".join(lines[i].split())
            pieces = _pieces(line)
            # A row line is running when all its cells are ("Agate | Page 3 / 9").
            cells_running = len(pieces) > 1 and all(
                _running_key(x) in running or is_page_number_line(x) for x in pieces[1:]
            )
            if _running_key(line) in running or cells_running:
                drop.add(i)
            elif is_page_number_line(line) and (i in outer or not _BARE_NUMBER_RE.match(line)):
                drop.add(i)
        out.append([line for i, line in enumerate(lines) if i not in drop])
    return out


def _pieces(line: str) -> list[str]:
    # A footer drawn as "text   Page 3 / 9" may come as one "text | Page 3 / 9" row line.
    parts = [x.strip() for x in line.split("|")] if TABLE_SEPARATOR in line else []
    return [line, *filter(None, parts)]


def _is_running(occurrences: dict[int, str], threshold: int) -> bool:
    """True if a masked line seen on these pages (page index → text) is a running line."""
    if len(occurrences) < threshold:
        return False
    texts = Counter(occurrences.values())
    if texts.most_common(1)[0][1] >= threshold:
        return True
    if any(numbered_heading_level(t) for t in texts):
        return False  # "Article 3" / "Article 4": titles, not a running line
    numbers = [(p, [int(x) for x in re.findall(r"\d+", t)]) for p, t in occurrences.items()]
    width = min(len(ns) for _, ns in numbers)
    for j in range(width):
        offsets = Counter(ns[j] - p for p, ns in numbers)
        if offsets.most_common(1)[0][1] >= threshold:
            return True
    return False


# --- hyphenation --------------------------------------------------------------------------
# Heuristic for a line ending in "<word>-" followed by a line starting with "<next>":
#   keep the hyphen (compound word) when <next> starts with a capital or a digit
#   ("Saint-Jean", "2021-2026"), when <next> continues with an apostrophe ("d'œuvre") or
#   is a short word followed by "-" ("t-il", "à-dire"), when <next> is a known compound
#   suffix ("-lieu", "-être", "-dessus", "-ville", "il"...)
#   or <word> a known compound prefix ("sous-", "porte-", "demi-", "saint-", "nord-"...),
#   or when both parts are common compound members ("chef-lieu", "mot-clé", "plate-forme");
#   "-ci"/"-là" only after words longer than 3 letters ("celui-ci" but "merci", "voilà").
#   Otherwise the hyphen is a hyphenation point and the word is rejoined ("revitalisation").
#   Known traps (words such as "milieu", "souscrire", "longtemps") are listed as exceptions.

_KEEP_PREFIXES = frozenset(
    "sous porte arrière demi non quasi après avant grand grande nord sud saint sainte vice "
    "semi pseudo là haut belle beau".split()
)
# Prefixes that are also frequent hyphenation fragments ("mi-nistère", "ci-toyen"):
# only kept before the listed words.
_RESTRICTED_PREFIXES: dict[str, frozenset[str]] = {
    "mi": frozenset(
        "temps parcours chemin mandat journée course hauteur janvier février mars avril mai "
        "juin juillet août septembre octobre novembre décembre clos".split()
    ),
    "ci": frozenset(
        "dessus dessous joint jointe joints jointes après contre inclus incluse".split()
    ),
}
# Numbers written in words: "dix-huit mois", "quatre-vingts" (never "dixhuit").
_NUMBER_TENS = frozenset("dix vingt trente quarante cinquante soixante quatre".split())
_NUMBER_UNITS = frozenset(
    "un une deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze "
    "seize vingt vingts".split()
)
_KEEP_SUFFIXES = frozenset(
    "lieu lieux être delà deçà dessus dessous devant derrière même mêmes bourg bourgs ville "
    "villes clé clés value values il ils elle elles on nous vous moi toi lui eux leur leurs "
    "midi".split()
)
_COMMON_PARTS = frozenset(
    "chef chefs lieu lieux porte parole plate forme formes rez chaussée arc ciel mot mots clé "
    "clés centre centres ville villes bourg bourgs cœur état tiers garde fou fous pare choc "
    "bien être savoir faire plus moins value values court long moyen terme nouveau né petit "
    "petite enfant enfants mère père chemin fer pont tout terrain sans abri papier poste pied "
    "terre plein droit rond point compte rendu procès verbal projet corps temps mi demi heure "
    "tête quartier quartiers trait union feuille feuilles".split()
)
_JOIN_EXCEPTIONS = ("milieu", "souscri", "soustra", "longtemps", "contretemps", "merci")
_HYPHEN_END_RE = re.compile(r"(\S*?)([^\W_]+)[-‐]$")
_LETTERS_RE = re.compile(r"[^\W\d_]+")


def keep_hyphen(before: str, after: str) -> bool:
    """Decide if "<before>-" at a line end and "<after>" on the next line form a compound.

    ``before`` is the whole token before the hyphen ("l'aména", "Saint", "arc-en"),
    ``after`` the first token of the next line. See the heuristic described above.
    """
    if not before or not after or not after[0].isalpha() or after[0].isupper():
        return True
    head_match = _LETTERS_RE.match(after)
    head = head_match.group() if head_match else ""
    rest = after[len(head):]
    if rest[:1] in ("'", "’") or (rest[:1] in ("-", "‐") and len(head) <= 3):
        return True  # "main-d'œuvre", "a-t-il", "c'est-à-dire" (not "conven-tion-cadre")
    last_match = re.search(r"[^\W\d_]+$", before)
    last = (last_match.group() if last_match else before).casefold()
    word = head.casefold()
    if (last + word).startswith(_JOIN_EXCEPTIONS):
        return False
    if word in ("ci", "là"):
        return len(last) > 3
    if word in _KEEP_SUFFIXES or last in _KEEP_PREFIXES:
        return True
    if last in _NUMBER_TENS and word in _NUMBER_UNITS:
        return True
    if last in _RESTRICTED_PREFIXES:
        return word in _RESTRICTED_PREFIXES[last]
    return last in _COMMON_PARTS and word in _COMMON_PARTS


def join_lines(lines: Sequence[str]) -> str:
    """Join wrapped lines into one string: a space between lines, hyphenated words rejoined."""
    out = ""
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if not out:
            out = line
            continue
        m = _HYPHEN_END_RE.search(out)
        # A hyphen glued to a word (not " - ") followed by a word on the next line.
        if m and line[0].isalnum():
            token = m.group(1) + m.group(2)
            first = line.split(" ", 1)[0]
            out = out if keep_hyphen(token, first) else out[:-1]
            out += line
        else:
            out += " " + line
    return out


# --- headings and list items ----------------------------------------------------------------

_TERMINAL_RE = re.compile(r"[.!?:…][\"'’»)\]]*$")
_NO_HEADING_END_RE = re.compile(r"[.,;‐-]$")
_BULLET_RE = re.compile(r"^([•◦▪▫■□●○‣⁃∙·–—*+-])\s+(\S.*)$")
_NUMBER_ITEM_RE = re.compile(r"^(\d{1,3}[.)]|[a-zA-Z]\))\s+(\S.*)$")
_NUMBERED_HEADING_RE = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,4})(\.?)\s+(\S.*)$")
_ROMAN_HEADING_RE = re.compile(r"^([IVXLC]{1,6})\s*[.)–—-]\s+(\S.*)$")
_ARTICLE_RE = re.compile(
    r"^(article|art\.|chapitre|titre|section|partie|livre|annexe)\s+"
    r"(\d+(?:[.-]\d+)*|[IVXLC]+|premier|1er|unique)\b\s*(?:[-–—:.]\s*(.*))?$",
    re.IGNORECASE,
)
_ARTICLE_LEVELS = {"chapitre": 1, "titre": 1, "partie": 1, "livre": 1, "annexe": 1, "section": 2}
MAX_HEADING_CHARS = 100


def _title_like(text: str) -> bool:
    # The title part of a numbered heading: starts with a capital, short, no sentence end.
    return (
        bool(text)
        and (text[0].isupper() or text[0] in "«\"“")
        and len(text) <= MAX_HEADING_CHARS
        and len(text.split()) <= 14
        and not _NO_HEADING_END_RE.search(text)
    )


def numbered_heading_level(line: str) -> int:
    """Level of a numbered title ("1. Objet" → 1, "2.3 Le financement" → 2,
    "Article 4 – Durée" → 2, "Chapitre II" → 1, "IV. Bilan" → 1), else 0."""
    line = line.strip()
    m = _ARTICLE_RE.match(line)
    if m and len(line) <= MAX_HEADING_CHARS and not re.search(r"[,;]$", line):
        kind = m.group(1).casefold()
        if kind in ("article", "art."):
            return 2 + m.group(2).count(".")
        return _ARTICLE_LEVELS.get(kind, 1)
    m = _NUMBERED_HEADING_RE.match(line)
    if m and (m.group(2) or "." in m.group(1)) and _title_like(m.group(3)):
        return m.group(1).count(".") + 1
    m = _ROMAN_HEADING_RE.match(line)
    if m and _title_like(m.group(2)):
        return 1
    return 0


def styled_heading_level(line: str) -> int:
    """Level of an unnumbered title: ALL CAPS → 1, Title Case → 2, else 0 (no context)."""
    line = line.strip()
    if not line or len(line) > 80 or _NO_HEADING_END_RE.search(line):
        return 0
    if _TERMINAL_RE.search(line) and not line.endswith("?"):
        return 0
    letters = [c for c in line if c.isalpha()]
    if len(letters) >= 4 and not any(c.islower() for c in letters):
        if len(line.split()) >= 2 or len(letters) >= 6:
            return 1
    words = line.split()
    long_words = [w for w in words if len(w) >= 4 and w[0].isalpha()]
    if len(words) >= 2 and len(long_words) >= 2 and all(w[0].isupper() for w in long_words):
        return 2
    return 0


def list_item(line: str) -> str | None:
    """The normalised item if ``line`` starts a list item ("• x", "1. x", "a) x"), else None."""
    line = line.strip()
    m = _BULLET_RE.match(line)
    if m:
        return "• " + m.group(2)
    m = _NUMBER_ITEM_RE.match(line)
    if m:
        return f"{m.group(1)} {m.group(2)}"
    return None


# --- paragraphs ---------------------------------------------------------------------------------

RawBlock = tuple[BlockKind, str, int]


def _starts_block(line: str) -> bool:
    return bool(line) and (line[0].isupper() or line[0].isdigit() or line[0] in "«\"“(")


def _ends_block(line: str | None) -> bool:
    return line is None or bool(_TERMINAL_RE.search(line))


def _width(lines: Sequence[str]) -> int | None:
    # The text column width in characters; unknown when there is too little text. A table's
    # row joined on one line («a | b | c») is wider than the column of text.
    lengths = sorted(len(line) for line in lines if line.strip() and TABLE_SEPARATOR not in line)
    if len(lengths) < 3 or lengths[-1] < 40:
        return None
    return lengths[-1]


def _breaks(prev: str, line: str, width: int | None, kind: BlockKind = "paragraph") -> bool:
    """True when ``line`` starts a new paragraph after ``prev`` (no blank line between)."""
    if not _starts_block(line):
        return False
    ended = re.search(r"[.;!?:…][\"'’»)]*$", prev) is not None
    if kind == "list_item" and (ended or width is None or len(prev) < 0.6 * width):
        return True  # an ended or short item line then a capital: the list is over
    if re.search(r":[\"'’»)]*$", prev):
        return True
    # A sentence end on a full-width line is probably inside a paragraph.
    return bool(_TERMINAL_RE.search(prev)) and (width is None or len(prev) < 0.85 * width)


def _is_numbered_item(line: str | None) -> bool:
    return bool(line) and bool(re.match(r"^\d{1,3}[.)]\s", line or ""))


def lines_to_blocks(lines: Sequence[str]) -> list[RawBlock]:
    """Group repaired lines into (kind, text, level) blocks; blank lines end a block.

    Headings: numbered titles always (unless they sit in a run of "1." / "2." lines, which is
    a numbered list, or the next line continues them in lower case); ALL CAPS, Title Case
    and short lines (under 60 % of the column width, starting with a capital) only when the
    previous line ended a sentence or block and the next line does not continue them.
    """
    width = _width(lines)
    blocks: list[RawBlock] = []
    kind: BlockKind = "paragraph"
    parts: list[str] = []

    def flush() -> None:
        if parts:
            text = join_lines(parts)
            if text:
                blocks.append((kind, text, 0))
            parts.clear()

    prev: str | None = None
    prev_heading = False
    table: list[list[str]] = []
    # On a contents page, numbered titles are entries of the list, not sections.
    toc = any(x.strip().casefold().rstrip(" :") in _TOC_TITLES for x in lines)
    skip = -1
    for i, raw in enumerate(lines):
        if i == skip:
            continue
        line = raw.strip()
        if TABLE_SEPARATOR.strip() in line and TABLE_SEPARATOR in f" {line} ":
            # Rows of one table may be separated by blank lines: gather them first.
            flush()
            table.append([c.strip() for c in line.split("|")])
            prev, prev_heading = None, False
            continue
        if not line:
            flush()
            prev, prev_heading = None, False
            continue
        if table:
            blocks.extend(table_blocks(table))
            table = []
        nxt = lines[i + 1].strip() if i + 1 < len(lines) else None
        nxt2 = lines[i + 2].strip() if i + 2 < len(lines) else None
        if _wrapped_title(line, nxt, nxt2, width):
            line, nxt, skip = join_lines([line, nxt or ""]), nxt2, i + 1
        level = _heading_level(line, prev, prev_heading, nxt, width)
        if level and toc and numbered_heading_level(line):
            level = 0
            flush()
            blocks.append(("list_item", line, 0))
            prev, prev_heading = line, False
            continue
        if level:
            flush()
            blocks.append(("heading", line, level))
            prev, prev_heading = line, True
            continue
        item = list_item(line)
        if item is not None:
            flush()
            kind = "list_item"
            parts.append(item)
        elif parts and prev is not None and not _breaks(prev, line, width, kind):
            parts.append(line)
        else:
            flush()
            kind = "paragraph"
            parts.append(line)
        prev, prev_heading = line, False
    flush()
    blocks.extend(table_blocks(table))
    return blocks


_TOC_TITLES = frozenset({"sommaire", "table des matières", "table des matieres", "contents"})
_OPEN_END_RE = re.compile(
    r"(?:\b(?:de|du|des|la|le|les|et|à|au|aux|pour|en|sur|par|dans|avec|ou)|[dl][’'])$",
    re.IGNORECASE,
)


def _wrapped_title(line: str, nxt: str | None, nxt2: str | None, width: int | None) -> bool:
    """True when a numbered title goes on over the next line ("4. Les trois piliers de" +
    "l'accompagnement"): a short, unpunctuated next line followed by a new block."""
    if not nxt or not numbered_heading_level(join_lines([line, nxt])):
        return False
    if len(nxt) > 50 or re.search(r"[.,;:!?…]$", nxt) or TABLE_SEPARATOR in nxt:
        return False
    if list_item(nxt) is not None or numbered_heading_level(nxt) or _TERMINAL_RE.search(line):
        return False
    if nxt2 and not (_starts_block(nxt2) or list_item(nxt2) is not None):
        return False
    return (
        nxt[0].islower()
        or bool(_OPEN_END_RE.search(line))
        or (width is not None and len(line) >= 0.6 * width)
    )


def _heading_level(
    line: str, prev: str | None, prev_heading: bool, nxt: str | None, width: int | None
) -> int:
    if (nxt and nxt[0].islower()) or line.endswith(("-", "‐")):
        return 0  # the next line continues this one
    level = numbered_heading_level(line)
    if level:
        single = re.match(r"^\d{1,3}\.\s", line) is not None
        if single and (_is_numbered_item(prev) or _is_numbered_item(nxt)):
            return 0  # "1. …" next to "2. …": a numbered list
        return level
    if not (prev_heading or _ends_block(prev)) or list_item(line) is not None:
        return 0
    level = styled_heading_level(line)
    if level:
        return level
    short = width is not None and len(line) < 0.6 * width and len(line) <= 60
    if (
        short
        and _starts_block(line)
        and line[0].isalpha()
        and not _NO_HEADING_END_RE.search(line)
        and not _TERMINAL_RE.search(line)
        and ":" not in line  # "Date : 15 mars 2024" is a field, not a title
        and (nxt is None or _starts_block(nxt) or list_item(nxt) is not None)
    ):
        return 2
    return 0


# --- tables -----------------------------------------------------------------------------------

def table_blocks(rows: Sequence[Sequence[str]]) -> list[RawBlock]:
    """Table rows as "table_row" blocks: "Col A : val ; Col B : val" under a header row (the
    first row, when it has 2+ distinct non-empty cells and more rows follow), else the cells
    joined by " | ". The header row itself is not repeated as a block."""
    rows = [[" ".join(c.split()) for c in r] for r in rows]
    rows = [r for r in rows if any(r)]
    if not rows:
        return []
    header = rows[0]
    labelled = len(rows) > 1 and len(header) > 1 and all(header) and len(set(header)) == len(header)
    if not labelled:
        return [("table_row", " | ".join(c for c in row if c), 0) for row in rows]
    out: list[RawBlock] = []
    for row in rows[1:]:
        if len(row) == len(header) and all(
                _LABEL.match(c) and (c.endswith("s") or c == h) for c, h in zip(row, header,
                                                                                strict=True)):
            # «Atouts | Faiblesses» then «Opportunités | Menaces», «Dépenses | Montant» then
            # «Recettes | Montant»: the rows below come under the second header. Labels are
            # single plural words, or the header's own («Diffusion | Interne» is a row).
            header = row
            continue
        pairs = [f"{header[i] if i < len(header) else f'colonne {i + 1}'} : {value}"
                 for i, value in enumerate(row) if value]
        out.append(("table_row", " ; ".join(pairs), 0))
    return out


# A header cell: one capitalised word, no figure.
_LABEL = re.compile(r"^[A-ZÀ-Ý][^\d\s;:()]*$")


# --- pages ----------------------------------------------------------------------------------------


def make_page(number: int | None, blocks: Iterable[RawBlock]) -> Page:
    """Build a Page from (kind, text, level) blocks: texts joined by "\\n", offsets exact."""
    out: list[Block] = []
    pieces: list[str] = []
    pos = 0
    for kind, text, level in blocks:
        text = " ".join(text.split())
        if not text:
            continue
        if pieces:
            pos += 1  # the "\n" separator
        out.append(Block(kind=kind, text=text, start=pos, end=pos + len(text),
                         level=level if kind == "heading" else 0))
        pieces.append(text)
        pos += len(text)
    return Page(number=number, text="\n".join(pieces), blocks=out)


def repair_page(text: str, number: int | None = None) -> Page:
    """Repair one page's text on its own (no running-line removal) and split it into blocks."""
    return make_page(number, lines_to_blocks(normalize_chars(text).split("\n")))


def repair_pages(texts: Sequence[str], numbers: Sequence[int | None] | None = None) -> list[Page]:
    """Repair all pages of a document: characters, running lines, then blocks per page.

    ``numbers`` defaults to 1, 2, 3…; blank lines in the input mark paragraph gaps.
    """
    if numbers is None:
        numbers = list(range(1, len(texts) + 1))
    cleaned = remove_running_lines([normalize_chars(t).split("\n") for t in texts])
    return [make_page(n, lines_to_blocks(lines)) for n, lines in zip(numbers, cleaned, strict=True)]
