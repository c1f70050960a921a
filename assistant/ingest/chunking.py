"""Structure-following chunking: sections, then paragraphs, then sentences.

Sizes are counted in *tokens* approximated as words and punctuation marks (about
0.7 of an e5 sentencepiece token count on French text); the default range of
60-220 such tokens keeps every chunk well under e5's 512-token window.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from assistant.types import Block, Chunk, LoadedDocument

_TOKEN = re.compile(r"\w+|[^\w\s]")
# A sentence ends at . ! ? … followed by space and an uppercase letter, digit, quote or bullet.
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\s]+(?=[«\"(A-ZÀ-ÖØ-Ý0-9•])")


def count_tokens(text: str) -> int:
    return len(_TOKEN.findall(text))


@dataclass
class _Unit:
    """A piece of one page: a block or part of one, with its offsets in the page text."""

    page: int  # index into doc.pages
    start: int
    end: int
    text: str
    heading_path: tuple[str, ...]
    kind: str
    tokens: int


def split_sentences(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """(start, end) spans of the sentences of ``text``, shifted by ``offset``."""
    spans = []
    pos = 0
    for match in _SENTENCE_END.finditer(text):
        if text[pos : match.start()].strip():
            spans.append((offset + pos, offset + match.start()))
        pos = match.end()
    if text[pos:].strip():
        spans.append((offset + pos, offset + len(text.rstrip())))
    return spans


def _units(doc: LoadedDocument, max_tokens: int) -> list[_Unit]:
    """Blocks in reading order with their heading path; oversized blocks cut by sentence."""
    units: list[_Unit] = []
    path: list[tuple[int, str]] = []
    for page_idx, page in enumerate(doc.pages):
        blocks = page.blocks or [Block("paragraph", page.text, 0, len(page.text))]
        for block in blocks:
            if not block.text.strip():
                continue
            if block.kind == "heading":
                level = block.level or 1
                path = [(lv, t) for lv, t in path if lv < level]
                path.append((level, block.text.strip()))
            heading_path = tuple(t for _, t in path)
            tokens = count_tokens(block.text)
            if tokens <= max_tokens:
                units.append(
                    _Unit(page_idx, block.start, block.end, block.text, heading_path,
                          block.kind, tokens)
                )
                continue
            for start, end in _pieces(page.text, block.start, block.end, max_tokens):
                text = page.text[start:end]
                units.append(
                    _Unit(page_idx, start, end, text, heading_path, block.kind,
                          count_tokens(text))
                )
    return units


def _pieces(page_text: str, start: int, end: int, max_tokens: int) -> list[tuple[int, int]]:
    """Cut an oversized block at sentence ends (or word ends for a run-on sentence)."""
    pieces: list[tuple[int, int]] = []
    spans = split_sentences(page_text[start:end], start)
    expanded: list[tuple[int, int]] = []
    for s, e in spans:
        if count_tokens(page_text[s:e]) <= max_tokens:
            expanded.append((s, e))
            continue
        words = [(m.start() + s, m.end() + s) for m in re.finditer(r"\S+", page_text[s:e])]
        step = max(1, int(max_tokens * 0.8))
        for i in range(0, len(words), step):
            group = words[i : i + step]
            expanded.append((group[0][0], group[-1][1]))
    cur_start, cur_end, cur_tokens = None, None, 0
    for s, e in expanded:
        tokens = count_tokens(page_text[s:e])
        if cur_start is not None and cur_tokens + tokens > max_tokens:
            pieces.append((cur_start, cur_end))
            cur_start, cur_tokens = None, 0
        if cur_start is None:
            cur_start = s
        cur_end, cur_tokens = e, cur_tokens + tokens
    if cur_start is not None:
        pieces.append((cur_start, cur_end))
    return pieces


def _overlap_units(units: list[_Unit], overlap_tokens: int, page_texts: list[str]) -> list[_Unit]:
    """The last sentences of a chunk (at most ``overlap_tokens``) to repeat in the next."""
    if overlap_tokens <= 0 or not units:
        return []
    last = units[-1]
    if last.kind == "heading":
        return []
    spans = split_sentences(page_texts[last.page][last.start : last.end], last.start)
    picked: list[tuple[int, int]] = []
    total = 0
    for s, e in reversed(spans):
        tokens = count_tokens(page_texts[last.page][s:e])
        if total + tokens > overlap_tokens:
            break
        picked.insert(0, (s, e))
        total += tokens
    if not picked or picked[0][0] == last.start:
        return []  # the whole block would repeat: no useful overlap
    s, e = picked[0][0], picked[-1][1]
    text = page_texts[last.page][s:e]
    return [_Unit(last.page, s, e, text, last.heading_path, last.kind, count_tokens(text))]


def chunk_document(
    doc: LoadedDocument,
    doc_id: str,
    *,
    min_tokens: int = 60,
    max_tokens: int = 220,
    overlap_tokens: int = 30,
) -> list[Chunk]:
    """Cut one document into chunks that follow its sections and paragraphs."""
    if not 0 < min_tokens <= max_tokens:
        raise ValueError(f"need 0 < min_tokens <= max_tokens, got {min_tokens}, {max_tokens}")
    page_texts = [p.text for p in doc.pages]
    groups: list[list[_Unit]] = []
    current: list[_Unit] = []
    size = 0

    def flush(with_overlap: bool) -> None:
        nonlocal current, size
        if any(u.kind != "heading" for u in current):
            groups.append(current)
        elif current and groups:  # trailing headings alone: fold into the previous chunk
            groups[-1].extend(current)
        carry = _overlap_units(current, overlap_tokens, page_texts) if with_overlap else []
        current = carry
        size = sum(u.tokens for u in carry)

    for unit in _units(doc, max_tokens):
        new_section = unit.kind == "heading" and current and current[-1].kind != "heading"
        if new_section and size >= min_tokens:
            flush(with_overlap=False)
        elif size + unit.tokens > max_tokens and current:
            flush(with_overlap=True)
        current.append(unit)
        size += unit.tokens
    if current:
        flush(with_overlap=False)

    chunks = []
    for ordinal, group in enumerate(groups):
        text = _join(group, page_texts)
        first, last = group[0], group[-1]
        body = [u for u in group if u.kind != "heading"] or group
        page_start = doc.pages[first.page].number
        page_end = doc.pages[last.page].number
        digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:10]
        chunks.append(
            Chunk(
                id=f"{doc_id}-{ordinal:04d}-{digest}",
                doc_id=doc_id,
                text=text,
                heading_path=list(body[0].heading_path),
                page_start=page_start,
                page_end=page_end,
                char_start=first.start,
                char_end=last.end,
                ordinal=ordinal,
            )
        )
    return chunks


def _join(group: list[_Unit], page_texts: list[str]) -> str:
    """Chunk text: contiguous units of a page are cut from the page text as they stand."""
    parts: list[str] = []
    run_page, run_start, run_end = group[0].page, group[0].start, group[0].end
    for unit in group[1:]:
        if unit.page == run_page and unit.start >= run_end - 1:
            run_end = max(run_end, unit.end)
            continue
        parts.append(page_texts[run_page][run_start:run_end])
        run_page, run_start, run_end = unit.page, unit.start, unit.end
    parts.append(page_texts[run_page][run_start:run_end])
    return "\n".join(p.strip() for p in parts if p.strip())
