"""Service functions: the one call each edge (CLI, web app, eval) makes per action."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.errors import ConfigError
from assistant.indexing.index import Index, Progress
from assistant.search.access import Role
from assistant.search.filters import Filters
from assistant.search.retrieval import retrieve
from assistant.settings import Settings
from assistant.types import Answer, Hit, IngestReport

if TYPE_CHECKING:
    from assistant.answer.state import Conversation

_INDEXES: dict[tuple[str, str, str], Index] = {}
_LOCK = threading.Lock()
MAX_QUESTION_CHARS = 2000


def open_index(settings: Settings) -> Index:
    """One Index per (folder, server, model) and process: models load once."""
    key = (str(settings.index_dir.resolve()), settings.chroma_url or "", settings.embedder)
    with _LOCK:
        index = _INDEXES.get(key)
        if index is None:
            index = _INDEXES[key] = Index(settings)
        index.settings = settings  # per-call knobs (k, weights) follow the caller
        return index


def ingest(
    settings: Settings,
    paths: list[Path] | None = None,
    *,
    progress: Progress | None = None,
    visibility: str | None = None,
) -> IngestReport:
    if visibility is not None and visibility not in ("public", "commune", "interne"):
        raise ConfigError(f"visibility must be public, commune or interne, got {visibility!r}")
    targets = paths or [settings.corpus_dir]
    return open_index(settings).ingest(targets, progress=progress, visibility=visibility)


def clean_question(question: str) -> str:
    """Trim a question; an empty or punctuation-only one is a usage error."""
    q = " ".join(question.split())
    if not any(ch.isalnum() for ch in q):
        raise ConfigError("la question est vide : posez une question avec des mots")
    return q[:MAX_QUESTION_CHARS]


def search(
    settings: Settings,
    query: str,
    *,
    filters: Filters | None = None,
    k: int | None = None,
    role: Role | None = None,
) -> list[Hit]:
    k = k if k is not None else settings.top_k
    if k <= 0:
        raise ConfigError(f"k must be > 0, got {k}")
    query = clean_question(query)
    return retrieve(open_index(settings), query, k=k, filters=filters, role=role).hits


def ask(
    settings: Settings,
    question: str,
    *,
    commune: str | None = None,
    conversation: Conversation | None = None,
    filters: Filters | None = None,
    k: int | None = None,
    scope: str = "",
    role: Role | None = None,
) -> Answer:
    """Answer one question (in a conversation, for a commune), with citations, or refuse."""
    from assistant.answer.conversation import answer_question

    if k is not None and k <= 0:
        raise ConfigError(f"k must be > 0, got {k}")
    return answer_question(settings, question, commune=commune, conversation=conversation,
                           filters=filters, k=k, scope=scope, role=role)


def info(settings: Settings) -> dict[str, Any]:
    return open_index(settings).info()


def hit_to_dict(hit: Hit) -> dict[str, Any]:
    meta = {k: v for k, v in hit.metadata.items() if not k.startswith(("c_", "e_"))}
    return {
        "source": hit.source,
        "title": hit.metadata.get("title", ""),
        "page": hit.page,
        "pages": hit.pages,
        "text": hit.text,
        "score": round(hit.score, 5),
        "metadata": meta,
    }
