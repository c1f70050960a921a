"""Hybrid retrieval: dense (Chroma) and lexical (BM25) rankings, fused (scores or RRF)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from assistant.indexing.index import Index
from assistant.indexing.lexical import analyze, expand_query
from assistant.search.access import Role
from assistant.search.filters import Filters
from assistant.search.fusion import rrf_fuse, score_fuse
from assistant.search.passages import group_by_document, join_chunks
from assistant.settings import Settings
from assistant.types import Hit


@dataclass
class Retrieval:
    """Fused hits, best first, with what a caller needs to judge confidence."""

    hits: list[Hit]
    query_terms: list[str]
    timings_ms: dict[str, float] = field(default_factory=dict)
    _count: Callable[[], int] | None = field(default=None, repr=False)

    @property
    def searched_chunks(self) -> int:
        """Chunks the filters allowed (counted on demand: only a refusal says it)."""
        return self._count() if self._count is not None else 0


def _score_fusion(
    index: Index,
    terms: list[str],
    vector: Any,
    dense: dict[str, float],
    lexical: dict[str, float],
    settings: Settings,
) -> list[tuple[str, float]]:
    """Score fusion over the union of both candidate lists, each candidate with both of
    its scores: the dense similarity of lexical-only candidates and the BM25 of dense-only
    ones are computed (a missing score would rank a candidate below everything seen)."""
    candidates = list(dict.fromkeys([*dense, *lexical]))
    dense = {**index.similarities(vector, [c for c in lexical if c not in dense]), **dense}
    lexical = {**index.catalog.lexical_scores(terms, [c for c in dense if c not in lexical]),
               **lexical}
    candidates = [c for c in candidates if c in dense]  # in both indexes
    return score_fuse(candidates, dense, lexical, dense_share=settings.dense_share)


def _passage_hit(
    group: list[tuple[str, float]],
    rows: dict[str, tuple[str, dict[str, Any]]],
    dense: dict[str, float],
    lexical: dict[str, float],
    rank: int,
    place: dict[str, int],
) -> Hit:
    """One returned passage: its best chunk's id, scores and metadata; with more chunks of
    the same document, their texts in document order and the pages they span. Its
    ``chunks`` are the chunks themselves, ranked by their ``place`` in the fused ranking."""
    chunks = [Hit(chunk_id=cid, text=rows[cid][0], score=s, metadata=rows[cid][1],
                  dense_score=dense.get(cid), lexical_score=lexical.get(cid), rank=place[cid])
              for cid, s in group]
    best, score = group[0]
    meta = rows[best][1]
    text = rows[best][0]
    if len(group) > 1:
        members = sorted((cid for cid, _ in group), key=lambda c: int(rows[c][1].get("ordinal", 0)))
        text = join_chunks([rows[c][0] for c in members])
        pages = [int(p) for c in members
                 for p in (rows[c][1].get("page_start"), rows[c][1].get("page_end"))
                 if p is not None and int(p) >= 0]
        meta = {**meta, "chunks": len(members)}
        if pages:
            meta.update(page_start=min(pages), page_end=max(pages))
    return Hit(chunk_id=best, text=text, score=score, metadata=meta,
               dense_score=dense.get(best), lexical_score=lexical.get(best), rank=rank,
               chunks=chunks)


def retrieve(
    index: Index,
    query: str,
    *,
    k: int = 5,
    filters: Filters | None = None,
    boost_types: list[str] | None = None,
    role: Role | None = None,
    query_vector: np.ndarray | None = None,
    settings: Settings | None = None,
) -> Retrieval:
    """Top-``k`` chunks for ``query`` among those ``filters`` allow.

    Both rankings see the same filters; a chunk present in only one of the two
    indexes (possible for a moment after a crash) is never returned. ``settings``
    carries the caller's fusion knobs; the index's own settings when it is None.
    """
    if k <= 0:
        raise ValueError(f"k must be > 0, got {k}")
    settings = settings or index.settings
    filters = filters or Filters()
    if role is not None:
        filters = replace(filters, role=role)
    allow = None if filters.is_empty() else filters.matches
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    terms = index.catalog.correct_spelling(analyze(expand_query(query)))
    n_cand = max(settings.candidates, k)

    lexical = index.catalog.lexical_search(terms, n_cand, allow) if terms else []
    timings["lexical"] = (time.perf_counter() - t0) * 1000

    t1 = time.perf_counter()
    vector = (query_vector if query_vector is not None
              else index.embedder.embed([query], is_query=True)[0])
    timings["embed"] = (time.perf_counter() - t1) * 1000
    t2 = time.perf_counter()
    # Officials' words moved towards the passages that answer them (embedding/adapter.py);
    # the caller's settings may turn it off, as they set the fusion.
    adapter = index.query_adapter if settings.query_adapter else None
    searched = adapter.adapt(vector) if adapter is not None else vector
    ranked = index.dense_query(searched, n_cand, where=filters.to_chroma())
    dense = ranked or []  # None while another process's ingest is half-written
    timings["dense"] = (time.perf_counter() - t2) * 1000

    rows = index.catalog.chunk_rows(list({cid for cid, _ in dense + lexical}))
    # Present in both indexes, and allowed by the catalog's metadata too: a metadata
    # rewrite (a visibility change) is never half-seen.
    dense = [(cid, sim) for cid, sim in dense
             if cid in rows and (allow is None or allow(rows[cid][1]))]
    dense_score = dict(dense)
    lexical_score = dict(lexical)
    t3 = time.perf_counter()
    if ranked is None:  # the vector store is being written by another process
        fused = [(cid, score) for cid, score in lexical if cid in rows]
    elif settings.fusion == "score":
        fused = _score_fusion(index, terms, searched, dense_score, lexical_score, settings)
    else:
        vectors = index.present([c for c in lexical_score if c not in dense_score])
        fused = rrf_fuse(
            [([cid for cid, _ in dense], settings.dense_weight),
             ([cid for cid, _ in lexical if cid in dense_score or cid in vectors],
              settings.lexical_weight)],
            k=settings.rrf_k,
        )
    timings["fusion"] = (time.perf_counter() - t3) * 1000
    boosted = set(boost_types or [])
    if boosted:
        fused = sorted(
            ((cid, s * 1.5 if rows[cid][1].get("doc_type") in boosted else s)
             for cid, s in fused),
            key=lambda kv: -kv[1],
        )
    groups = group_by_document(
        fused, lambda cid: rows[cid][1].get("doc_id", cid), k=k,
        max_chunks=settings.passage_chunks)
    place = {cid: i for i, (cid, _) in enumerate(fused)}
    if adapter is not None:
        # The answerability model reads the plain cosine (what it was fitted on); the
        # adapter only decides the ranking.
        shown = [cid for group in groups for cid, _ in group if cid in dense_score]
        dense_score = index.similarities(vector, shown)
    hits = [_passage_hit(group, rows, dense_score, lexical_score, rank, place)
            for rank, group in enumerate(groups)]
    timings["retrieve"] = (time.perf_counter() - t0) * 1000
    return Retrieval(
        hits=hits, query_terms=terms, timings_ms=timings,
        _count=lambda: index.catalog.count_chunks(allow),
    )
