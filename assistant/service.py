"""Service functions: the one call each edge (CLI, web app, eval) makes per action."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assistant.answer.state import Conversation
from assistant.answer.writer import answer as written_answer
from assistant.errors import ConfigError
from assistant.indexing.index import Progress, open_index
from assistant.search.access import Role
from assistant.search.filters import Filters
from assistant.search.question import MAX_QUESTION_CHARS, clean_question, expand_question
from assistant.search.retrieval import retrieve
from assistant.settings import Settings
from assistant.types import VISIBILITIES, Answer, Hit, IngestReport

# What the edges call, whichever layer implements it.
__all__ = [
    "MAX_QUESTION_CHARS", "ask", "clean_question", "hit_to_dict", "info", "ingest",
    "open_index", "search",
]


def ingest(
    settings: Settings,
    paths: list[Path] | None = None,
    *,
    progress: Progress | None = None,
    visibility: str | None = None,
) -> IngestReport:
    if visibility is not None and visibility not in VISIBILITIES:
        raise ConfigError(
            f"visibility must be one of {', '.join(VISIBILITIES)}, got {visibility!r}"
        )
    targets = paths or [settings.corpus_dir]
    return open_index(settings).ingest(
        targets, progress=progress, visibility=visibility, settings=settings
    )


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
    query = expand_question(clean_question(query))
    return retrieve(
        open_index(settings), query, k=k, filters=filters, role=role, settings=settings
    ).hits


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
    llm: bool | None = None,
) -> Answer:
    """Answer one question (in a conversation, for a commune), with citations, or refuse;
    written by the configured language model and checked, unless ``llm`` is False."""
    if k is not None and k <= 0:
        raise ConfigError(f"k must be > 0, got {k}")
    return written_answer(settings, question, llm=llm, commune=commune,
                          conversation=conversation, filters=filters, k=k, scope=scope,
                          role=role)


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
