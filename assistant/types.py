"""Domain data types: loaded documents, pages, blocks, chunks, citations and answers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

# The one list of each: every other module (CLI choices, manifest, filters, upload) reads these.
DocType = Literal["programme", "convention", "etude", "suivi", "glossaire", "autre"]
DOC_TYPES: tuple[DocType, ...] = get_args(DocType)
Visibility = Literal["public", "commune", "interne"]
VISIBILITIES: tuple[Visibility, ...] = get_args(Visibility)
# File suffix → loader format, for every file the loaders read (ingest, upload, baseline).
SUFFIX_FORMATS: dict[str, str] = {
    ".pdf": "pdf", ".docx": "docx", ".md": "md", ".markdown": "md", ".txt": "txt",
    ".text": "txt", ".csv": "csv", ".tsv": "csv",
}
SUPPORTED_SUFFIXES: tuple[str, ...] = tuple(SUFFIX_FORMATS)
BlockKind = Literal["heading", "paragraph", "list_item", "table_row"]


@dataclass(frozen=True)
class Block:
    """One structural unit of a page: ``page.text[start:end] == text``."""

    kind: BlockKind
    text: str
    start: int
    end: int
    level: int = 0  # heading depth (1 = top); 0 for non-headings


@dataclass
class Page:
    """The repaired text of one page (PDF) or one section (other formats).

    ``number`` is the 1-based page number as a PDF viewer shows it, ``None`` for
    formats without pages. ``blocks`` cover the text in order; every quote the
    assistant shows is a substring of ``text``.
    """

    number: int | None
    text: str
    blocks: list[Block] = field(default_factory=list)


@dataclass
class DocumentMeta:
    """Metadata of one source document, from the manifest or inferred."""

    source: str  # path relative to the ingested folder, POSIX separators
    title: str
    doc_type: DocType = "autre"
    communes: list[str] = field(default_factory=list)  # INSEE codes
    epci: list[str] = field(default_factory=list)  # SIREN codes or names
    date: str | None = None  # ISO date "YYYY-MM-DD" or "YYYY"
    year: int | None = None
    sha256: str = ""
    exemple: bool = False  # illustrative document, not a real one
    visibility: Visibility = "public"
    path: str = ""  # absolute path on disk at ingest time
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class LoadedDocument:
    """What a loader returns: the pages of one file, with what it found of a title."""

    pages: list[Page]
    title: str | None = None
    format: str = ""  # "pdf", "docx", "md", "txt", "csv"
    warnings: list[str] = field(default_factory=list)


@dataclass
class Chunk:
    """A passage to embed and index; never spans two documents."""

    id: str
    doc_id: str
    text: str
    heading_path: list[str]
    page_start: int | None
    page_end: int | None
    char_start: int  # offset in the text of page_start
    char_end: int  # offset in the text of page_end (exclusive)
    ordinal: int

    @property
    def pages(self) -> list[int]:
        if self.page_start is None:
            return []
        return list(range(self.page_start, (self.page_end or self.page_start) + 1))


@dataclass
class Hit:
    """A retrieved chunk or passage with its fused score and the scores it came from.

    A passage (chunks of one document gathered by ``retrieve``) keeps its best chunk's id,
    scores and metadata, and in ``chunks`` each chunk it gathers as a hit of its own, best
    first, ``rank`` being the chunk's place in the fused ranking.
    """

    chunk_id: str
    text: str
    score: float
    metadata: dict[str, Any]
    dense_score: float | None = None
    lexical_score: float | None = None
    rank: int = 0
    chunks: list[Hit] = field(default_factory=list)

    @property
    def source(self) -> str:
        return str(self.metadata.get("source", ""))

    @property
    def page(self) -> int | None:
        p = self.metadata.get("page_start", -1)
        return None if p is None or int(p) < 0 else int(p)

    @property
    def pages(self) -> list[int]:
        start = self.page
        if start is None:
            return []
        end = int(self.metadata.get("page_end", start) or start)
        return list(range(start, max(start, end) + 1))


@dataclass
class Citation:
    """A numbered citation: ``[n]`` in the answer maps to this source, page and quote."""

    n: int
    source: str
    title: str
    page: int | None
    pages: list[int]
    quote: str
    score: float
    doc_type: str = "autre"
    exemple: bool = False
    communes: list[str] = field(default_factory=list)
    chunk_id: str = ""
    passage: str = ""  # the whole retrieved passage the quote comes from

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "source": self.source,
            "title": self.title,
            "page": self.page,
            "pages": self.pages,
            "quote": self.quote,
            "score": round(self.score, 4),
            "type": self.doc_type,
            "exemple": self.exemple,
        }


@dataclass(frozen=True)
class CommuneRef:
    """The commune an answer is about."""

    insee: str
    name: str
    epci: str = ""


@dataclass(frozen=True)
class NearSource:
    """A document close to an unanswered question, for the user to read."""

    source: str
    title: str
    page: int | None


@dataclass(frozen=True)
class ChecklistItem:
    """One eligibility criterion, its status for the commune and the citation backing it."""

    criterion: str
    status: str
    detail: str
    citation: int | None


@dataclass(frozen=True)
class FundingItem:
    """One funding scheme that fits the question, with its citation."""

    scheme: str
    citation: int


AnswerMode = Literal["extractive", "llm"]


@dataclass
class Answer:
    """The assistant's reply: text with ``[n]`` markers and the citations they point to.

    A refusal (``refused``) may still carry citations: what the documents say nearest to
    the question, introduced as such in ``text``.
    """

    question: str
    text: str
    refused: bool
    citations: list[Citation]
    timings_ms: dict[str, float] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)
    intent: str = ""
    intent_confidence: float | None = None
    commune: CommuneRef | None = None
    confidence: float | None = None  # probability that the documents answer the question
    nearest: list[NearSource] = field(default_factory=list)
    checklist: list[ChecklistItem] = field(default_factory=list)
    funding: list[FundingItem] = field(default_factory=list)
    clarify: list[dict[str, Any]] = field(default_factory=list)  # homonym communes to choose
    mode: AnswerMode = "extractive"
    dropped_sentences: int = 0
    fallback_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "question": self.question,
            "answer": self.text,
            "refused": self.refused,
            "citations": [c.to_dict() for c in self.citations],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            "intent": self.intent,
            "intent_confidence": None if self.intent_confidence is None
            else round(self.intent_confidence, 4),
            "commune": asdict(self.commune) if self.commune else None,
            "confidence": None if self.confidence is None else round(self.confidence, 4),
            "mode": self.mode,
            "dropped_sentences": self.dropped_sentences,
        }
        if self.fallback_reason is not None:
            out["fallback_reason"] = self.fallback_reason
        if self.nearest:
            out["nearest"] = [asdict(n) for n in self.nearest]
        if self.checklist:
            out["checklist"] = [asdict(c) for c in self.checklist]
        if self.funding:
            out["funding"] = [asdict(f) for f in self.funding]
        if self.clarify:
            out["clarify"] = self.clarify
        return out


@dataclass
class IngestFailure:
    source: str
    error: str


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks: int = 0
    failed: list[IngestFailure] = field(default_factory=list)
    duplicates: list[dict[str, str]] = field(default_factory=list)
    # Files indexed with a loader warning: {"source": ..., "warnings": [...]}, in French.
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "chunks": self.chunks,
            "failed": [{"source": f.source, "error": f.error} for f in self.failed],
            "duplicates": self.duplicates,
            "warnings": self.warnings,
        }
