"""Render ``corpus_src/*.md`` into ``corpus/`` (PDF, DOCX, md, csv) and ``corpus/manifest.toml``."""

from __future__ import annotations

import argparse
import datetime as dt
import filecmp
import io
import json
import re
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MANIFEST_FIELDS = ("file", "title", "type", "communes", "epci", "date", "exemple", "visibility")
DEFAULTS: dict[str, Any] = {"output": "pdf", "type": "autre", "communes": [], "epci": []}
DEFAULTS |= {"date": "", "exemple": False, "visibility": "public"}
DEFAULTS |= dict.fromkeys(("header", "footer", "issuer", "subtitle"), "")
MONTHS = tuple(
    "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split()
)
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
BOLD_RE = re.compile(r"\*\*(.+?)\*\*")
ITALIC_RE = re.compile(r"(?<![*\w])\*(?!\s)(.+?)(?<!\s)\*(?![*\w])")
COMMENT_RE = re.compile(r"^<!--\s*(.*?)\s*-->$")
NBSP_RE = re.compile(r"(?<=\d) (?=\d{3}\b|€|%)")
ORDERED_RE = re.compile(r"^(\d+)[.)]\s+(.*)$")


@dataclass
class Source:
    """A parsed source: front matter (with defaults) and Markdown body."""

    path: Path
    meta: dict[str, Any]
    body: str
    blocks: list[tuple] = field(default_factory=list)


# ----------------------------------------------------------------------------- parsing


def read_source(path: Path) -> Source:
    """Split a source into its TOML front matter and its body."""
    text = path.read_text(encoding="utf-8")
    m = re.match(r"\+\+\+\s*\n(.*?)\n\+\+\+\s*\n?(.*)\Z", text, re.DOTALL)
    if not m:
        raise ValueError(f"{path}: missing +++ front matter")
    meta = {**DEFAULTS, **tomllib.loads(m.group(1))}
    for key in ("file", "title"):
        if not meta.get(key):
            raise ValueError(f"{path}: front matter needs '{key}'")
    meta["date"] = str(meta["date"])
    return Source(path, meta, m.group(2), parse_blocks(m.group(2)))


def parse_blocks(body: str) -> list[tuple]:
    """Turn the Markdown subset into blocks (h, p, ul, ol, table, columns, pagebreak, toc...)."""
    blocks: list[tuple] = []
    para: list[str] = []
    items: list[str] = []
    kind = ""
    rows: list[list[str]] = []

    def flush() -> None:
        nonlocal kind
        if para:
            blocks.append(("p", " ".join(para)))
            para.clear()
        if items:
            blocks.append((kind, list(items)))
            items.clear()
        if rows:
            blocks.append(("table", [list(r) for r in rows]))
            rows.clear()
        kind = ""

    for raw in body.splitlines():
        line = raw.strip()
        comment = COMMENT_RE.match(line)
        if not line:
            flush()
        elif comment:
            flush()
            cmd = comment.group(1).lower()
            if cmd.startswith("columns"):
                blocks.append(("columns", int(cmd.split(":", 1)[1].strip() or 1)))
            elif cmd in ("pagebreak", "columnbreak", "toc"):
                blocks.append((cmd,))
        elif line.startswith("#"):
            flush()
            hashes, _, text = line.partition(" ")
            blocks.append(("h", min(len(hashes), 4), text.strip()))
        elif line.startswith("|"):
            if not rows:
                flush()
            cells = [c.strip() for c in line.strip("|").split("|")]
            if not all(re.fullmatch(r":?-{2,}:?", c) for c in cells):
                rows.append(cells)
        elif line[:2] in ("- ", "* ") or ORDERED_RE.match(line):
            new_kind = "ul" if line[:2] in ("- ", "* ") else "ol"
            if para or rows or (items and new_kind != kind):
                flush()
            kind = new_kind
            items.append(line[2:].strip() if new_kind == "ul" else ORDERED_RE.match(line).group(2))
        elif items and raw[:1] in (" ", "\t"):
            items[-1] += " " + line
        else:
            if items or rows:
                flush()
            para.append(line)
    flush()
    for i, block in enumerate(blocks):  # <!-- toc -->: "Sommaire" + the later ##/### headings
        if block == ("toc",):
            heads = [(b[1], b[2]) for b in blocks[i + 1 :] if b[0] == "h" and b[1] in (2, 3)]
            blocks[i : i + 1] = [("h", 2, "Sommaire"), ("toc", heads)]
    return blocks


def french_date(value: str) -> str:
    """'2024-03-01' → '1er mars 2024'; '2024-03' → 'mars 2024'; '2024' stays."""
    parts = value.split("-")
    if len(parts) >= 2 and parts[1].isdigit():
        month = MONTHS[int(parts[1]) - 1]
        if len(parts) == 3:
            day = int(parts[2])
            return f"{'1er' if day == 1 else day} {month} {parts[0]}"
        return f"{month} {parts[0]}"
    return value


def fixed_datetime(value: str) -> dt.datetime:
    """A fixed timestamp from the document date (for deterministic metadata)."""
    parts = [int(p) for p in value.split("-") if p.isdigit()] + [1, 1]
    try:
        return dt.datetime(parts[0], parts[1], parts[2], 9, 0, 0)
    except (ValueError, IndexError):
        return dt.datetime(2024, 1, 1, 9, 0, 0)


# ----------------------------------------------------------------------------- hyphenation

VOWELS = set("aeiouyàâäéèêëîïôöùûüÿœæ")
CLUSTERS = set("bl cl fl gl pl br cr dr fr gr pr tr vr ch ph th gn qu gu".split())
MUTE_TAIL = re.compile(r"^(?:qu|gu|[^aeiouyàâäéèêëîïôöùûü])+(e|es|ent)$")


def _points(word: str) -> list[int]:
    """Break points inside a simple word (no hyphen), by French syllable rules."""
    w = word.lower()
    n = len(w)
    vowel = [c in VOWELS for c in w]
    for i in range(1, n - 1):  # the u of qu/gu before a vowel behaves as a consonant
        if w[i] == "u" and w[i - 1] in "qg" and vowel[i + 1]:
            vowel[i] = False
    points = []
    i = 0
    while i < n and not vowel[i]:
        i += 1
    while i < n:
        while i < n and vowel[i]:
            i += 1
        start = i
        while i < n and not vowel[i]:
            i += 1
        if i >= n:
            break
        cons = w[start:i]
        if len(cons) == 1:
            cut = start
        elif len(cons) == 2:
            cut = start if cons in CLUSTERS else start + 1
        else:
            cut = i - 2 if cons[-2:] in CLUSTERS else i - 1
        if cut >= 2 and n - cut >= 3 and not MUTE_TAIL.match(w[cut:]):
            points.append(cut)
    return points


def hyphenate(word: str) -> Iterator[tuple[str, str]]:
    """Yield (head, tail) splits, longest head first (reportlab's hyphenator protocol)."""
    cuts: list[int] = []
    offset = 0
    for part in word.split("-"):
        cuts.extend(offset + p for p in _points(part))
        offset += len(part) + 1
        if offset < len(word):
            cuts.append(offset)  # after an explicit hyphen
    for cut in sorted(set(cuts), reverse=True):
        yield word[:cut], word[cut:]


# ----------------------------------------------------------------------------- PDF


def _patch_reportlab() -> None:
    """Keep explicit hyphens when reportlab re-joins a compound word split at its hyphen.

    reportlab's ``_shyUnsplit`` strips a trailing '-' whenever it re-joins two parts, which
    turns "Saint-" + "Jean" into "SaintJean" on a second wrap of a paragraph with markup.
    The added hyphens it must strip are already removed by its callers before joining.
    """
    from reportlab.platypus import paragraph

    original = paragraph._shyUnsplit
    if getattr(original, "_pvd", False):
        return

    def unsplit(s: str, ss: str | None = None) -> str:
        if ss is None or isinstance(s, paragraph._SHYIndexedStr) or hasattr(ss, "_shyIndices"):
            return original(s, ss)
        return s + ss

    unsplit._pvd = True  # type: ignore[attr-defined]
    paragraph._shyUnsplit = unsplit


def _fonts() -> tuple[str, str, str]:
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    files = {
        "DejaVuSans": "DejaVuSans.ttf",
        "DejaVuSans-Bold": "DejaVuSans-Bold.ttf",
        "DejaVuSans-Oblique": "DejaVuSans-Oblique.ttf",
        "DejaVuSans-BoldOblique": "DejaVuSans-BoldOblique.ttf",
    }
    if not all((FONT_DIR / f).exists() for f in files.values()):
        import reportlab

        vera = Path(reportlab.__file__).parent / "fonts"
        files = {
            "Vera": "Vera.ttf",
            "Vera-Bold": "VeraBd.ttf",
            "Vera-Oblique": "VeraIt.ttf",
            "Vera-BoldOblique": "VeraBI.ttf",
        }
        base_dir = vera
    else:
        base_dir = FONT_DIR
    names = list(files)
    for name, fname in files.items():
        if name not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(name, str(base_dir / fname)))
    family = names[0]
    addMapping(family, 0, 0, names[0])
    addMapping(family, 1, 0, names[1])
    addMapping(family, 0, 1, names[2])
    addMapping(family, 1, 1, names[3])
    return names[0], names[1], names[2]


def inline(text: str) -> str:
    """Escape text for a reportlab Paragraph and turn **bold** / *italic* into tags."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = NBSP_RE.sub("\u00a0", text)  # keep "3 500", "20 000 €", "75 %" on one line
    return ITALIC_RE.sub(r"<i>\1</i>", BOLD_RE.sub(r"<b>\1</b>", text))


def _styles(regular: str, bold: str) -> dict[str, Any]:
    from reportlab.lib.colors import HexColor
    from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT
    from reportlab.lib.styles import ParagraphStyle

    blue = HexColor("#1F3A5F")
    base = ParagraphStyle(
        "body",
        fontName=regular,
        fontSize=10.5,
        leading=15,
        alignment=TA_JUSTIFY,
        spaceAfter=6,
        hyphenationLang=hyphenate,
        embeddedHyphenation=1,
    )
    base.hyphenationMinWordLength = 8
    st = {
        "body": base,
        "bullet": ParagraphStyle(
            "bullet",
            parent=base,
            leftIndent=16,
            bulletIndent=5,
            spaceAfter=3,
            bulletFontName=regular,
        ),
        "cell": ParagraphStyle(
            "cell", parent=base, fontSize=9, leading=11.5, alignment=TA_LEFT, spaceAfter=0
        ),
        "head": ParagraphStyle(
            "head",
            parent=base,
            fontName=bold,
            fontSize=9,
            leading=11.5,
            alignment=TA_LEFT,
            spaceAfter=0,
            textColor=HexColor("#FFFFFF"),
        ),
        "title": ParagraphStyle(
            "title",
            fontName=bold,
            fontSize=24,
            leading=30,
            textColor=blue,
            alignment=TA_LEFT,
            spaceAfter=18,
        ),
        "subtitle": ParagraphStyle(
            "subtitle",
            fontName=regular,
            fontSize=13,
            leading=18,
            textColor=HexColor("#444444"),
            spaceAfter=24,
        ),
        "meta": ParagraphStyle("meta", fontName=regular, fontSize=11, leading=16, spaceAfter=4),
        "toc2": ParagraphStyle("toc2", parent=base, alignment=TA_LEFT, spaceBefore=4),
        "toc3": ParagraphStyle("toc3", parent=base, alignment=TA_LEFT, leftIndent=18, spaceAfter=2),
        "center": ParagraphStyle("center", fontName=regular, fontSize=9, alignment=TA_CENTER),
    }
    for level, size in ((1, 17), (2, 13.5), (3, 11.5), (4, 10.5)):
        st[f"h{level}"] = ParagraphStyle(
            f"h{level}",
            fontName=bold,
            fontSize=size,
            leading=size * 1.3,
            textColor=blue,
            spaceBefore=14 if level <= 2 else 9,
            spaceAfter=6,
            keepWithNext=1,
            alignment=TA_LEFT,
        )
    return st


def _table(rows: list[list[str]], width: float, st: dict[str, Any]) -> Any:
    from reportlab.lib.colors import HexColor
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.platypus import Paragraph, Table, TableStyle

    ncol = max(len(r) for r in rows)
    rows = [r + [""] * (ncol - len(r)) for r in rows]
    weights = [min(max(max(len(r[c]) for r in rows), 6), 45) ** 0.8 for c in range(ncol)]
    widths = [width * w / sum(weights) for w in weights]
    # never narrower than the longest unbreakable token ("1 200 000 €" holds no-break spaces)
    floors = [
        max(
            stringWidth(tok, st["head"].fontName, 9) + 14
            for r in rows
            for tok in NBSP_RE.sub("\u00a0", BOLD_RE.sub(r"\1", r[c])).split(" ")
        )
        for c in range(ncol)
    ]
    if sum(floors) < width:
        short = [c for c in range(ncol) if widths[c] < floors[c]]
        need = sum(floors[c] - widths[c] for c in short)
        spare = sum(widths[c] - floors[c] for c in range(ncol) if c not in short)
        for c in range(ncol):
            if c in short:
                widths[c] = floors[c]
            else:
                widths[c] -= need * (widths[c] - floors[c]) / spare
    data = [
        [Paragraph(inline(c), st["head" if i == 0 else "cell"]) for c in r]
        for i, r in enumerate(rows)
    ]
    table = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), HexColor("#1F3A5F")),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [HexColor("#FFFFFF"), HexColor("#EEF2F7")]),
                ("GRID", (0, 0), (-1, -1), 0.4, HexColor("#8899AA")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return table


def render_pdf(src: Source, out: Path) -> int:
    """Write the PDF for one source and return its page count."""
    from reportlab import rl_config
    from reportlab.lib.colors import HexColor
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import cm
    from reportlab.pdfgen.canvas import Canvas
    from reportlab.platypus import (
        BaseDocTemplate,
        FrameBreak,
        HRFlowable,
        NextPageTemplate,
        PageBreak,
        PageTemplate,
        Paragraph,
        Spacer,
    )
    from reportlab.platypus.frames import Frame

    rl_config.invariant = 1
    _patch_reportlab()
    regular, bold, italic = _fonts()
    st = _styles(regular, bold)
    meta = src.meta
    width, height = A4
    margin, top, bottom, gap = 2.3 * cm, 2.6 * cm, 2.3 * cm, 0.8 * cm
    body_w, body_h = width - 2 * margin, height - top - bottom
    col_w = (body_w - gap) / 2
    pages: list[int] = []

    class NumberedCanvas(Canvas):
        """Defers page decoration to save() so the footer can say 'Page N / M'."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._states: list[dict] = []

        def showPage(self) -> None:
            self._states.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._states)
            pages.append(total)
            for state in self._states:
                self.__dict__.update(state)
                if self._pageNumber > 1:
                    self._decorate(total)
                super().showPage()
            super().save()

        def _decorate(self, total: int) -> None:
            self.saveState()
            self.setStrokeColor(HexColor("#8899AA"))
            self.setLineWidth(0.5)
            self.setFont(italic, 8.5)
            self.setFillColor(HexColor("#333333"))
            self.drawString(margin, height - 1.6 * cm, meta["header"] or meta["title"])
            self.line(margin, height - 1.75 * cm, width - margin, height - 1.75 * cm)
            self.line(margin, 1.65 * cm, width - margin, 1.65 * cm)
            self.setFont(regular, 8.5)
            self.drawString(margin, 1.2 * cm, meta["footer"])
            self.drawRightString(width - margin, 1.2 * cm, f"Page {self._pageNumber} / {total}")
            self.restoreState()

    doc = BaseDocTemplate(
        str(out),
        pagesize=A4,
        title=meta["title"],
        author=meta["issuer"] or meta["footer"],
        subject=meta["subtitle"] or meta["type"],
        creator="Assistant PVD – build_corpus",
        producer="ReportLab",
        invariant=1,
        lang="fr-FR",
    )
    one = Frame(margin, bottom, body_w, body_h, id="one")
    two = [
        Frame(margin, bottom, col_w, body_h, id="left"),
        Frame(margin + col_w + gap, bottom, col_w, body_h, id="right"),
    ]
    doc.addPageTemplates(
        [
            PageTemplate("title", [Frame(margin, bottom, body_w, body_h, id="t")]),
            PageTemplate("one", [one]),
            PageTemplate("two", two),
        ]
    )

    blocks = list(src.blocks)
    title = meta["title"]
    if blocks and blocks[0][0] == "h" and blocks[0][1] == 1:
        title = blocks.pop(0)[2]
    story: list[Any] = [Spacer(1, 5 * cm), Paragraph(inline(title), st["title"])]
    if meta["subtitle"]:
        story.append(Paragraph(inline(meta["subtitle"]), st["subtitle"]))
    story.append(HRFlowable(width="100%", thickness=1.2, color=HexColor("#1F3A5F"), spaceAfter=14))
    if meta["date"]:
        story.append(Paragraph(f"<b>Date :</b> {inline(french_date(meta['date']))}", st["meta"]))
    if meta["issuer"]:
        story.append(Paragraph(f"<b>Émetteur :</b> {inline(meta['issuer'])}", st["meta"]))
    if meta["exemple"]:
        story.append(Paragraph("<b>Document d'exemple</b> : contenu illustratif.", st["meta"]))
    mode, pending = 1, True
    for block in blocks:
        tag = block[0]
        if tag in ("columns", "pagebreak"):
            mode = block[1] if tag == "columns" else mode
            pending = True
            continue
        if tag == "columnbreak":
            story.append(FrameBreak())
            continue
        if pending:
            story += [NextPageTemplate("two" if mode == 2 else "one"), PageBreak()]
            pending = False
        avail = col_w if mode == 2 else body_w
        if tag == "h":
            story.append(Paragraph(inline(block[2]), st[f"h{block[1]}"]))
        elif tag == "p":
            story.append(Paragraph(inline(block[1]), st["body"]))
        elif tag in ("ul", "ol"):
            for n, item in enumerate(block[1], 1):
                mark = "•" if tag == "ul" else f"{n}."
                story.append(Paragraph(inline(item), st["bullet"], bulletText=mark))
            story.append(Spacer(1, 4))
        elif tag == "table":
            story += [_table(block[1], avail, st), Spacer(1, 8)]
        elif tag == "toc":
            for level, text in block[1]:
                story.append(Paragraph(inline(text), st[f"toc{level}"]))
    doc.build(story, canvasmaker=NumberedCanvas)
    return pages[-1]


# ----------------------------------------------------------------------------- DOCX


def _runs(paragraph: Any, text: str) -> None:
    for i, piece in enumerate(BOLD_RE.split(text)):
        if piece:
            paragraph.add_run(piece).bold = bool(i % 2)


def render_docx(src: Source, out: Path) -> int:
    """Write the DOCX for one source (headings, lists, tables); returns 0 (pages unknown)."""
    import docx

    meta = src.meta
    document = docx.Document()
    props = document.core_properties
    props.title, props.author = meta["title"], meta["issuer"] or meta["footer"]
    props.subject, props.last_modified_by, props.revision = (meta["subtitle"], "build_corpus", 1)
    props.created = props.modified = fixed_datetime(meta["date"])
    section = document.sections[0]
    section.header.paragraphs[0].text = meta["header"] or meta["title"]
    section.footer.paragraphs[0].text = meta["footer"]
    blocks = list(src.blocks)
    shift = 1 if blocks and blocks[0][:2] == ("h", 1) else 0  # "#" is the title: "##" → Heading 1
    title = blocks.pop(0)[2] if shift else meta["title"]
    document.add_paragraph(title, style="Title")
    for label, key in (("Date", "date"), ("Émetteur", "issuer")):
        if meta[key]:
            value = french_date(meta[key]) if key == "date" else meta[key]
            _runs(document.add_paragraph(), f"**{label} :** {value}")
    if meta["subtitle"]:
        document.add_paragraph(meta["subtitle"], style="Subtitle")
    for block in blocks:
        tag = block[0]
        if tag == "h":
            document.add_heading(block[2], level=max(1, block[1] - shift))
        elif tag == "p":
            _runs(document.add_paragraph(), block[1])
        elif tag == "ul":
            for item in block[1]:
                _runs(document.add_paragraph(style="List Bullet"), item)
        elif tag == "ol":
            for item in block[1]:
                _runs(document.add_paragraph(style="List Number"), item)
        elif tag == "table":
            rows = block[1]
            ncol = max(len(r) for r in rows)
            table = document.add_table(rows=len(rows), cols=ncol, style="Table Grid")
            for r, row in enumerate(rows):
                for c, cell in enumerate(row):
                    para = table.cell(r, c).paragraphs[0]
                    _runs(para, f"**{cell}**" if r == 0 and cell else cell)
        elif tag == "toc":
            for level, text in block[1]:
                document.add_paragraph(("    " if level == 3 else "") + text)
        elif tag == "pagebreak":
            document.add_page_break()
    buf = io.BytesIO()
    document.save(buf)
    _stable_zip(buf.getvalue(), out)
    return 0


def _stable_zip(data: bytes, out: Path) -> None:
    """Rewrite a zip with fixed timestamps so the bytes are reproducible."""
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(2020, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, src.read(info.filename))


# ----------------------------------------------------------------------------- build


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def manifest_text(sources: list[Source]) -> str:
    """The manifest.toml text for the given sources (sorted by output file)."""
    out = ["# Generated by scripts/build_corpus.py from corpus_src/ - do not edit by hand.", ""]
    for src in sorted(sources, key=lambda s: s.meta["file"]):
        out.append("[[document]]")
        out += [f"{k} = {_toml_value(src.meta[k])}" for k in MANIFEST_FIELDS]
        out.append("")
    return "\n".join(out)


def build(src_dir: Path, out_dir: Path) -> dict[str, int | None]:
    """Render every source of src_dir into out_dir; return {file: pages (None if not a PDF)}."""
    sources = [read_source(p) for p in sorted(src_dir.glob("*.md"))]
    seen: dict[str, Path] = {}
    for src in sources:
        if src.meta["file"] in seen:
            raise ValueError(
                f"{src.path} and {seen[src.meta['file']]} both write {src.meta['file']}"
            )
        seen[src.meta["file"]] = src.path
    result: dict[str, int | None] = {}
    old_manifest = out_dir / "manifest.toml"
    if old_manifest.exists():  # remove outputs whose source is gone
        for doc in tomllib.loads(old_manifest.read_text(encoding="utf-8")).get("document", []):
            stale = out_dir / doc.get("file", "")
            if doc.get("file") and doc["file"] not in seen and stale.is_file():
                stale.unlink()
    for src in sources:
        target = out_dir / src.meta["file"]
        target.parent.mkdir(parents=True, exist_ok=True)
        kind = src.meta["output"]
        if kind == "pdf":
            result[src.meta["file"]] = render_pdf(src, target)
        elif kind == "docx":
            result[src.meta["file"]] = render_docx(src, target) or None
        elif kind in ("md", "csv"):
            target.write_text(src.body.lstrip("\n"), encoding="utf-8")
            result[src.meta["file"]] = None
        else:
            raise ValueError(f"{src.path}: unknown output {kind!r}")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "manifest.toml").write_text(manifest_text(sources), encoding="utf-8")
    return result


def differences(src_dir: Path, out_dir: Path) -> list[str]:
    """Files of out_dir that differ from a fresh build of src_dir (empty list: up to date)."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        build(src_dir, fresh)
        diffs = []
        for path in sorted(p for p in fresh.rglob("*") if p.is_file()):
            rel = path.relative_to(fresh)
            current = out_dir / rel
            if not current.is_file() or not filecmp.cmp(path, current, shallow=False):
                diffs.append(str(rel))
        old = out_dir / "manifest.toml"
        if old.exists():
            fresh_files = {
                d["file"]
                for d in tomllib.loads((fresh / "manifest.toml").read_text(encoding="utf-8")).get(
                    "document", []
                )
            }
            for doc in tomllib.loads(old.read_text(encoding="utf-8")).get("document", []):
                if doc.get("file") not in fresh_files and (out_dir / doc["file"]).exists():
                    diffs.append(f"{doc['file']} (source removed)")
        return diffs


def summary(result: dict[str, int | None]) -> str:
    """A printable summary: one line per document, then the totals."""
    lines = [f"  {f:<60} {f'{n:3d} p.' if n else '   -'}" for f, n in sorted(result.items())]
    pdfs = [n for n in result.values() if n]
    lines.append(f"{len(result)} documents, {len(pdfs)} PDF, {sum(pdfs)} PDF pages in all")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--src", type=Path, default=ROOT / "corpus_src")
    parser.add_argument("--out", type=Path, default=ROOT / "corpus")
    parser.add_argument("--check", action="store_true", help="exit 1 if the output is stale")
    args = parser.parse_args(argv)
    if args.check:
        diffs = differences(args.src, args.out)
        for d in diffs:
            print(f"out of date: {d}")
        print("corpus is up to date" if not diffs else f"{len(diffs)} file(s) differ")
        return 1 if diffs else 0
    print(summary(build(args.src, args.out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
