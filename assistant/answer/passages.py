"""The numbered passages a written answer may cite, and exact quotes taken from their pages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.answer.grounding import INSTRUCTION, evidence, facts
from assistant.indexing.catalog import Catalog
from assistant.indexing.lexical import analyze, fold
from assistant.ingest.chunking import split_sentences
from assistant.types import Answer, Citation

_WS = re.compile(r"\s+")


@dataclass
class Passage:
    """Passage ``[n]`` of the prompt, with the page texts its quotes must come from."""

    n: int
    source: str
    title: str
    text: str  # the whole passage
    score: float
    doc_type: str = "autre"
    exemple: bool = False
    communes: list[str] = field(default_factory=list)
    chunk_id: str = ""
    pages: list[tuple[int | None, str]] = field(default_factory=list)  # (number, page text)

    def prompt_text(self, limit: int, question: str = "") -> str:
        """The passage for the prompt: whole when short, else its sentences closest to
        the question, in their order, within ``limit`` characters."""
        # Orders planted in a document are not passed on (documents are untrusted input).
        text = _WS.sub(" ", evidence(self.text)).strip()
        if len(text) <= limit:
            return text
        sentences = [text[a:b].strip() for a, b in split_sentences(text)]
        asked = set(analyze(question))
        ranked = sorted(range(len(sentences)),
                        key=lambda i: (-len(asked & set(analyze(sentences[i]))), i))
        chosen: set[int] = set()
        used = 0
        for i in ranked:
            if used + len(sentences[i]) + 2 > limit:
                continue
            chosen.add(i)
            used += len(sentences[i]) + 2
        if not chosen:
            return text[: limit - 1].rsplit(" ", 1)[0] + " …"
        return " … ".join(sentences[i] for i in sorted(chosen))


def passages_for(answer: Answer, catalog: Catalog, limit: int) -> list[Passage]:
    """The answer's top hits (distinct texts), with the pages their quotes must come from."""
    out: list[Passage] = []
    pages_cache: dict[str, list] = {}
    seen: set[str] = set()
    for hit in answer.hits:
        key = _WS.sub(" ", hit.text).strip()
        if len(out) >= limit or key in seen:  # the same text twice wastes the prompt
            continue
        seen.add(key)
        doc_id = str(hit.metadata.get("doc_id", ""))
        if doc_id not in pages_cache:
            pages_cache[doc_id] = catalog.pages(doc_id) if doc_id else []
        want = set(hit.pages)
        pages = [(p.number, p.text) for p in pages_cache[doc_id] if not want or p.number in want]
        meta = hit.metadata
        out.append(Passage(
            n=len(out) + 1, source=hit.source, title=str(meta.get("title", "")),
            text=hit.text, score=hit.score, doc_type=str(meta.get("doc_type", "autre")),
            exemple=bool(meta.get("exemple", False)),
            communes=[c for c in str(meta.get("communes", "")).split(",") if c],
            chunk_id=hit.chunk_id, pages=pages,
        ))
    return out


def _located_sentences(passage: Passage) -> list[tuple[int | None, str]]:
    """Sentences of the passage found verbatim in one of its pages: (page, sentence)."""
    found: list[tuple[int | None, str]] = []
    for part in passage.text.split("\n"):
        for start, end in split_sentences(part):
            sentence = part[start:end].strip()
            if len(sentence) < 3 or INSTRUCTION.search(sentence):
                continue
            for number, page_text in passage.pages:
                if sentence in page_text:
                    found.append((number, sentence))
                    break
    return found


def best_quote(passage: Passage, written: str) -> tuple[int | None, str] | None:
    """The passage sentence (an exact substring of its page) closest to a written one."""
    terms = set(analyze(written))
    stated = [fold(f) for f in facts(written)]
    best: tuple[float, int, int | None, str] | None = None
    for order, (number, sentence) in enumerate(_located_sentences(passage)):
        have = set(analyze(sentence))
        score = len(terms & have) / (len(terms) or 1)
        if stated:  # the sentence holding the figures and names is the one to show
            folded = fold(sentence).replace(" ", "").replace("\u00a0", "")
            score += sum(f.replace(" ", "") in folded for f in stated) / len(stated)
        key = (score, -order, number, sentence)
        if best is None or key[:2] > best[:2]:
            best = key
    if best is None:
        return None
    return best[2], best[3]


def citation_for(passage: Passage, n: int, page: int | None, quote: str) -> Citation:
    return Citation(
        n=n, source=passage.source, title=passage.title, page=page,
        pages=[page] if page is not None else [], quote=quote, score=passage.score,
        doc_type=passage.doc_type, exemple=passage.exemple, communes=list(passage.communes),
        chunk_id=passage.chunk_id, passage=passage.text,
    )
