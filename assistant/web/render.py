"""HTML and plain-text rendering of answers, citation cards and status banners (all escaped)."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from urllib.parse import quote as urlquote

from assistant.types import Answer, Citation

TYPE_LABELS: dict[str, str] = {
    "programme": "Texte du programme",
    "convention": "Convention",
    "etude": "Étude",
    "suivi": "Fiche de suivi",
    "glossaire": "Glossaire",
    "autre": "Autre document",
}
_REF = re.compile(r"\[(\d+)\](\s*\(exemple\))?")
EXCERPT_CONTEXT = 320  # characters of passage shown on each side of the cited sentence
EXEMPLE_BADGE = (
    '<span class="pvd-badge pvd-badge-exemple" title="Document illustratif : '
    'étude d\'exemple, pas un document officiel">exemple</span>'
)


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def esc_lines(text: str) -> str:
    """Escaped text whose line breaks become <br>: no raw newline may reach the chatbot's
    Markdown, where a blank line would end the HTML block."""
    return "<br>".join(esc(line) for line in text.split("\n"))


def type_label(doc_type: str) -> str:
    return TYPE_LABELS.get(doc_type, doc_type or "Autre document")


MAX_QUOTE_CHARS = 1000  # of a quote carried in a link (the viewer highlights all of it)


def document_url(doc_id: str, page: int | None = None, quote: str = "") -> str:
    """Where a citation opens: a PDF in the pdf.js viewer at its page with the quote
    highlighted (the route falls back to the bare PDF when pdf.js is not installed),
    any other format in the text view around the quote."""
    if page is not None:
        url = f"/documents/{urlquote(doc_id)}/viewer?page={int(page)}"
    else:
        url = f"/documents/{urlquote(doc_id)}/text"
    if quote:
        words = " ".join(quote.split())[:MAX_QUOTE_CHARS]
        url += ("&" if page is not None else "?") + "q=" + urlquote(words)
    return url


def open_label(page: int | None) -> str:
    return f"Ouvrir le document (p. {page})" if page is not None else "Ouvrir le document"


def _quote_pattern(quote: str) -> re.Pattern[str] | None:
    """The quote as a regex tolerant to whitespace differences (line breaks in passages)."""
    words = quote.split()
    if not words:
        return None
    return re.compile(r"\s+".join(re.escape(w) for w in words))


def highlight(passage: str, quote: str, *, context: int = EXCERPT_CONTEXT) -> str:
    """Escaped excerpt of ``passage`` around ``quote``, the quote wrapped in ``<mark>``.

    When the quote cannot be found in the passage, the quote alone is shown marked:
    the user must always see the exact words the answer relies on.
    """
    pattern = _quote_pattern(quote)
    match = pattern.search(passage) if pattern else None
    if match is None:
        return f"<mark>{esc(quote)}</mark>" if quote else esc_lines(passage[: 2 * context])
    start, end = match.span()
    left_cut = max(0, start - context)
    right_cut = min(len(passage), end + context)
    before = ("…" if left_cut > 0 else "") + passage[left_cut:start]
    after = passage[end:right_cut] + ("…" if right_cut < len(passage) else "")
    return f"{esc_lines(before)}<mark>{esc_lines(passage[start:end])}</mark>{esc_lines(after)}"


def communes_label(codes: list[str], names: Mapping[str, str] | None = None) -> str:
    if not codes:
        return "Toutes (document général)"
    names = names or {}
    return ", ".join(names.get(c, c) for c in codes)


def pages_label(c: Citation) -> str:
    pages = c.pages or ([c.page] if c.page is not None else [])
    if not pages:
        return ""
    if len(pages) == 1:
        return f"p. {pages[0]}"
    return f"p. {pages[0]}–{pages[-1]}"


def citation_doc_ids(answer: Answer) -> dict[str, str]:
    """chunk id → document id, from the hits the answer was built on."""
    return {h.chunk_id: str(h.metadata.get("doc_id", "")) for h in answer.hits}


def citation_card_html(
    c: Citation,
    doc_id: str,
    *,
    anchor: str = "",
    commune_names: Mapping[str, str] | None = None,
) -> str:
    """One source card: title, type, communes, pages, passage with the cited sentence marked,
    and «Ouvrir le document (p. N)»."""
    badge = f" {EXEMPLE_BADGE}" if c.exemple else ""
    meta = [esc(type_label(c.doc_type)), esc(communes_label(c.communes, commune_names))]
    if pages_label(c):
        meta.append(esc(pages_label(c)))
    link = ""
    if doc_id:
        url = document_url(doc_id, c.page, c.quote)
        link = (
            f'<a class="pvd-open" href="{esc(url)}" target="_blank" rel="noopener">'
            f"{esc(open_label(c.page))}</a>"
        )
    classes = "pvd-card pvd-card-exemple" if c.exemple else "pvd-card"
    ident = f' id="{esc(anchor)}"' if anchor else ""
    return (
        f'<div class="{classes}"{ident}>'
        f'<div class="pvd-card-head"><span class="pvd-num">[{c.n}]</span> '
        f'<strong class="pvd-title">{esc(c.title or c.source)}</strong>{badge}</div>'
        f'<div class="pvd-card-meta">{" · ".join(meta)}</div>'
        f'<blockquote class="pvd-passage">{highlight(c.passage or c.quote, c.quote)}</blockquote>'
        f"{link}</div>"
    )


CHIP_TITLE_CHARS = 34  # a chip names its source in a few words; the card holds the rest
_PROGRAMME_PREFIX = re.compile(r"^(?:Petites villes de demain|PVD)\s*[:–-]\s*", re.IGNORECASE)


def _short_title(title: str) -> str:
    # «Petites villes de demain : …» starts many titles: the chip keeps what differs.
    title = _PROGRAMME_PREFIX.sub("", " ".join(title.split()))
    title = title[:1].upper() + title[1:]
    return title if len(title) <= CHIP_TITLE_CHARS else title[: CHIP_TITLE_CHARS - 1] + "…"


def source_chip_html(
    c: Citation, doc_id: str, *, anchor: str, commune_names: Mapping[str, str] | None = None
) -> str:
    """A small numbered chip (number, short title, page) that opens into the source card.

    A <details> element: it opens without any script, and keeps working inside the
    chatbot's sanitised HTML.
    """
    page = f" · {pages_label(c)}" if pages_label(c) else ""
    label = f"{_short_title(c.title or c.source)}{page}"
    classes = "pvd-chip pvd-chip-exemple" if c.exemple else "pvd-chip"
    return (
        f'<details class="{classes}" id="{esc(anchor)}">'
        f'<summary title="{esc(c.title or c.source)}"><span class="pvd-chip-n">{c.n}</span> '
        f'<span class="pvd-chip-label">{esc(label)}</span></summary>'
        f"{citation_card_html(c, doc_id, commune_names=commune_names)}</details>"
    )


def _linked_text(text: str, prefix: str, known: set[int]) -> str:
    """Escape the answer text, turning each [n] into a small link that opens its chip."""
    out: list[str] = []
    pos = 0
    for m in _REF.finditer(text):
        out.append(esc(text[pos : m.start()]).rstrip() if m.start() else "")
        n = int(m.group(1))
        ref = f"<sup>[{n}]</sup>"
        if n in known:
            ref = f'<sup><a class="pvd-ref" href="#{prefix}{n}">{n}</a></sup>'
        out.append(ref + (f" {EXEMPLE_BADGE}" if m.group(2) else ""))
        pos = m.end()
    out.append(esc(text[pos:]))
    return "".join(out)


_BULLET = re.compile(r"^\s*(?:[•·▪◦*]|[-–—](?=\s)|\d{1,2}[.)](?=\s))\s*")


def _item_html(text: str, prefix: str, known: set[int]) -> str:
    """One list item; bullets quoted inside it («Anah : • les aides … ; • une priorité …»)
    become its own sub-list."""
    head, *subs = [p.strip() for p in text.split(" • ")]
    body = _linked_text(_BULLET.sub("", head, count=1), prefix, known)
    if subs:
        body += '<ul class="pvd-list">' + "".join(
            f"<li>{_linked_text(sub, prefix, known)}</li>" for sub in subs if sub) + "</ul>"
    return f"<li>{body}</li>"


def answer_body_html(text: str, prefix: str = "", known: set[int] | None = None) -> str:
    """The answer as paragraphs and real lists: lines starting with «•», «-» or «1.» become
    <li> (a line of «•» items run together becomes a list after its lead-in); other lines
    become <p>."""
    known = known or set()
    blocks: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if items:
            blocks.append('<ul class="pvd-list">' + "".join(items) + "</ul>")
            items.clear()

    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            flush()
        elif _BULLET.match(line):
            items.append(_item_html(line, prefix, known))
        elif " • " in line:
            flush()
            lead, *rest = [p.strip() for p in line.split(" • ")]
            if lead:
                blocks.append(f'<p class="pvd-answer-text">{_linked_text(lead, prefix, known)}</p>')
            items.extend(f"<li>{_linked_text(p, prefix, known)}</li>" for p in rest if p)
            flush()
        else:
            flush()
            blocks.append(f'<p class="pvd-answer-text">{_linked_text(line, prefix, known)}</p>')
    flush()
    return "".join(blocks)


_SEARCHED = re.compile(r"\s+dans \d[\d\s\u202f]* passages(?: \([^)]*\))?")


def nearest_documents(answer: Answer) -> list[tuple[str, int | None]]:
    """The refusal's «closest documents», each document once (its first page mentioned)."""
    seen: dict[str, int | None] = {}
    for n in answer.nearest:
        title = n.title or n.source
        if title and title not in seen:
            seen[title] = n.page
    return list(seen.items())


def source_chips_html(
    answer: Answer,
    doc_ids: Mapping[str, str] | None,
    prefix: str,
    *,
    title: str = "Sources",
    commune_names: Mapping[str, str] | None = None,
) -> str:
    """The row of numbered chips, one per citation, under a small heading ("" if none)."""
    doc_ids = doc_ids if doc_ids is not None else citation_doc_ids(answer)
    chips = "".join(
        source_chip_html(
            c, doc_ids.get(c.chunk_id) or doc_ids.get(c.source, ""), anchor=f"{prefix}{c.n}",
            commune_names=commune_names,
        )
        for c in answer.citations
    )
    if not chips:
        return ""
    heading = f'<span class="pvd-sources-title">{esc(title)}</span>'
    return f'<div class="pvd-sources">{heading}{chips}</div>'


def refusal_html(
    answer: Answer,
    contact: str = "",
    *,
    prefix: str = "cit-r-",
    doc_ids: Mapping[str, str] | None = None,
    commune_names: Mapping[str, str] | None = None,
) -> str:
    """A refusal looks like one: a distinct box that says so, whom to ask, the nearest
    passages when the answerer cited some (as chips, like any answer) and the closest
    documents once each. How many passages were searched is noise to the reader."""
    items = "".join(
        f"<li>{esc(title)}" + (f" (p. {esc(page)})" if page is not None else "") + "</li>"
        for title, page in nearest_documents(answer)
    )
    near = (
        f'<p class="pvd-near-title">Documents les plus proches, à consulter :</p><ul>{items}</ul>'
        if items
        else ""
    )
    text = _SEARCHED.sub("", answer.text)
    who = ""
    if contact and contact not in text:
        who = f"<p>Pour cette question, adressez-vous {esc(contact)}.</p>"
    if not answer.citations:
        return _box("Pas de réponse dans les documents", f"<p>{esc_lines(text)}</p>{who}{near}")
    # What the documents say nearest, cited like any answer.
    body = answer_body_html(text, prefix, {c.n for c in answer.citations})
    chips = source_chips_html(answer, doc_ids, prefix, title="Passages les plus proches",
                              commune_names=commune_names)
    return _box("Pas de réponse dans les documents", body + who + chips + near)


def notice_html(title: str, body_html: str) -> str:
    """The refusal-styled box (also for «posez votre question en français»)."""
    return _box(title, f"<p>{body_html}</p>")


def _box(title: str, inner_html: str) -> str:
    return (
        '<div class="pvd-refusal" role="note">'
        f'<p class="pvd-refusal-title">{esc(title)}</p>{inner_html}</div>'
    )


def render_answer_html(
    answer: Answer,
    doc_ids: Mapping[str, str] | None = None,
    *,
    turn: int = 0,
    commune_names: Mapping[str, str] | None = None,
    contact: str = "",
) -> str:
    """The answer first (paragraphs and lists, [n] as small links), then one numbered chip
    per source that opens into its card; or the refusal box.

    One line of HTML on purpose: the chatbot renders Markdown, where blank lines
    and indentation inside HTML would change the layout.
    """
    prefix = f"cit-{turn}-"
    if answer.refused:
        return refusal_html(answer, contact, prefix=prefix, doc_ids=doc_ids,
                            commune_names=commune_names)
    body = answer_body_html(answer.text, prefix, {c.n for c in answer.citations})
    sources = source_chips_html(answer, doc_ids, prefix, commune_names=commune_names)
    return f'<div class="pvd-answer">{body}{sources}</div>'


def answer_plain_text(answer: Answer, base_url: str = "") -> str:
    """The answer and its sources as plain text, for «Copier la réponse»."""
    lines = [answer.text]
    if answer.citations:
        lines += ["", "Sources :"]
        doc_ids = citation_doc_ids(answer)
        for c in answer.citations:
            page = f", {pages_label(c)}" if pages_label(c) else ""
            badge = " (exemple)" if c.exemple else ""
            lines.append(f"[{c.n}] {c.title}{badge} — {c.source}{page}")
            lines.append(f"    « {' '.join(c.quote.split())} »")
            doc_id = doc_ids.get(c.chunk_id)
            if doc_id and base_url:
                lines.append(f"    {base_url.rstrip('/')}{document_url(doc_id, c.page)}")
    return "\n".join(lines)


def ingest_status_html(done: int, total: int, label: str = "") -> str:
    """The banner shown while the corpus is being indexed on first start."""
    pct = int(100 * done / total) if total else 0
    current = f'<span class="pvd-progress-file">{esc(label)}</span>' if label else ""
    return (
        '<div class="pvd-ingest" role="status">'
        f"<p><strong>Indexation des documents en cours… {done} / {total} fichiers</strong></p>"
        f'<progress max="{max(total, 1)}" value="{done}" aria-label="Avancement">{pct} %</progress>'
        f"{current}<p>Les questions seront possibles dès la fin de l'indexation.</p></div>"
    )


INDEXING_MESSAGE = (
    "L'indexation des documents est en cours ; je pourrai répondre dans quelques instants. "
    "Merci de reposer votre question une fois la barre de progression terminée."
)


def account_line(header: str, visitor: object, names: Mapping[str, str]) -> str:
    """The account line with the élu's commune by name («élu de Modane», not «élu 73157»).

    ``header`` is the login module's line; only the role label in it is rewritten.
    """
    role = getattr(visitor, "role", None)
    code = getattr(role, "commune", None)
    label = getattr(visitor, "label", "")
    if not code or not label or code not in names:
        return header
    name = names[code]
    friendly = f"élu de {name}" if name[:1].lower() not in "aeiouyéèêâîôû" else f"élu d'{name}"
    return header.replace(esc(label), esc(friendly), 1)
