"""The extractive pipeline for one question: retrieve, then pick cited sentences or refuse."""

from __future__ import annotations

import time

from assistant.answer.extractive import extractive_answer
from assistant.errors import ConfigError
from assistant.indexing.index import open_index
from assistant.search.access import Role
from assistant.search.filters import Filters
from assistant.search.question import clean_question
from assistant.search.retrieval import retrieve
from assistant.settings import Settings
from assistant.types import Answer


def ask(
    settings: Settings,
    question: str,
    *,
    filters: Filters | None = None,
    k: int | None = None,
    scope: str = "",
    role: Role | None = None,
    boost_types: list[str] | None = None,
) -> Answer:
    """Answer one question from the index, with citations, or refuse."""
    t0 = time.perf_counter()
    k = k if k is not None else settings.top_k
    if k <= 0:
        raise ConfigError(f"k must be > 0, got {k}")
    question = clean_question(question)
    index = open_index(settings)
    retrieval = retrieve(index, question, k=k, filters=filters, role=role,
                         boost_types=boost_types, settings=settings)
    answer = extractive_answer(
        question,
        retrieval,
        index.catalog,
        max_sentences=settings.max_answer_sentences,
        threshold=settings.refusal_threshold,
        contact=settings.contact,
        scope=scope,
    )
    answer.timings_ms["retrieve"] = retrieval.timings_ms.get("retrieve", 0.0)
    answer.timings_ms["total"] = (time.perf_counter() - t0) * 1000
    return answer
