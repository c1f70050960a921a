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


def document_url(doc_id: str, page: int | None = None, quote: str = "") -> str:
    """Where a citation opens: the PDF at its page, else the text view around the quote."""
    if page is not None:
        return f"/documents/{urlquote(doc_id)}#page={int(page)}"
    url = f"/documents/{urlquote(doc_id)}/text"
    if quote:
        url += "?q=" + urlquote(quote[:300])
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
    """One source card: title, type, communes, pages, passage with the cited sentence marked."""
    anchor = anchor or f"cit-{c.n}"
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
    return (
        f'<div class="{classes}" id="{esc(anchor)}">'
        f'<div class="pvd-card-head"><span class="pvd-num">[{c.n}]</span> '
        f'<strong class="pvd-title">{esc(c.title or c.source)}</strong>{badge}</div>'
        f'<div class="pvd-card-meta">{" · ".join(meta)}</div>'
        f'<blockquote class="pvd-passage">{highlight(c.passage or c.quote, c.quote)}</blockquote>'
        f"{link}</div>"
    )


def _linked_text(text: str, prefix: str, known: set[int]) -> str:
    """Escape the answer text, turning each [n] into a link to its card."""
    out: list[str] = []
    pos = 0
    for m in _REF.finditer(text):
        out.append(esc(text[pos : m.start()]))
        n = int(m.group(1))
        ref = f"[{n}]"
        if n in known:
            ref = f'<a class="pvd-ref" href="#{prefix}{n}">[{n}]</a>'
        out.append(ref + (f" {EXEMPLE_BADGE}" if m.group(2) else ""))
        pos = m.end()
    out.append(esc(text[pos:]))
    return "".join(out)


def refusal_html(answer: Answer, contact: str = "") -> str:
    """A refusal looks like one: a distinct box that says so and whom to ask."""
    seen: set[str] = set()
    items = ""
    for n in answer.nearest:
        label = n.title or n.source
        if label in seen:  # one line per document, even when several pages came up
            continue
        seen.add(label)
        items += f"<li>{esc(label)}" + (f" (p. {esc(n.page)})" if n.page is not None else "")
        items += "</li>"
    near = (
        f'<p class="pvd-near-title">Documents les plus proches, à consulter :</p><ul>{items}</ul>'
        if items
        else ""
    )
    who = ""
    if contact and contact not in answer.text:
        who = f"<p>Pour cette question, adressez-vous {esc(contact)}.</p>"
    body = esc(answer.text)
    cards = ""
    if answer.citations:  # what the documents say nearest, cited like any answer
        doc_ids = citation_doc_ids(answer)
        body = _linked_text(answer.text, "cit-r-", {c.n for c in answer.citations})
        cards = "".join(citation_card_html(c, doc_ids.get(c.chunk_id, ""), anchor=f"cit-r-{c.n}")
                        for c in answer.citations)
    return (
        '<div class="pvd-refusal" role="note">'
        '<p class="pvd-refusal-title">Pas de réponse dans les documents</p>'
        f"<p>{body}</p>{who}{cards}{near}</div>"
    )


def render_answer_html(
    answer: Answer,
    doc_ids: Mapping[str, str] | None = None,
    *,
    turn: int = 0,
    commune_names: Mapping[str, str] | None = None,
    contact: str = "",
) -> str:
    """The answer with [n] linked to its cards, then the cards; or the refusal box.

    One line of HTML on purpose: the chatbot renders Markdown, where blank lines
    and indentation inside HTML would change the layout.
    """
    if answer.refused:
        return refusal_html(answer, contact)
    doc_ids = doc_ids if doc_ids is not None else citation_doc_ids(answer)
    prefix = f"cit-{turn}-"
    body = _linked_text(answer.text, prefix, {c.n for c in answer.citations})
    cards = "".join(
        citation_card_html(
            c, doc_ids.get(c.chunk_id, ""), anchor=f"{prefix}{c.n}", commune_names=commune_names
        )
        for c in answer.citations
    )
    sources = (
        f'<div class="pvd-sources"><p class="pvd-sources-title">Sources</p>{cards}</div>'
        if cards
        else ""
    )
    return f'<div class="pvd-answer"><p class="pvd-answer-text">{body}</p>{sources}</div>'


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
