"""Hybrid retrieval: dense (Chroma) and lexical (BM25) rankings fused by weighted RRF."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from assistant.indexing.index import Index
from assistant.indexing.lexical import analyze, expand_query
from assistant.search.access import Role
from assistant.search.filters import Filters
from assistant.types import Hit


@dataclass
class Retrieval:
    """Fused hits, best first, with what a caller needs to judge confidence."""

    hits: list[Hit]
    query_terms: list[str]
    timings_ms: dict[str, float] = field(default_factory=dict)
    searched_chunks: int = 0


def retrieve(
    index: Index,
    query: str,
    *,
    k: int = 5,
    filters: Filters | None = None,
    boost_communes: list[str] | None = None,
    boost_types: list[str] | None = None,
    role: Role | None = None,
) -> Retrieval:
    """Top-``k`` chunks for ``query`` among those ``filters`` allow.

    Both rankings see the same filters; a chunk present in only one of the two
    indexes (possible for a moment after a crash) is never returned.
    """
    if k <= 0:
        raise ValueError(f"k must be > 0, got {k}")
    settings = index.settings
    filters = filters or Filters()
    if role is not None:
        filters = replace(filters, role=role)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    view = index.catalog.view()
    terms = analyze(expand_query(query))
    n_cand = max(settings.candidates, k)

    allowed: np.ndarray | None = None
    if not filters.is_empty():
        allowed = np.fromiter((filters.matches(m) for m in view.metas), bool, len(view.metas))

    lexical_rank: dict[str, int] = {}
    lexical_score: dict[str, float] = {}
    if terms and view.ids:
        scores = view.bm25.scores(terms)
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        top = np.argsort(-scores, kind="stable")[:n_cand]
        for rank, pos in enumerate(p for p in top if scores[p] > 0):
            lexical_rank[view.ids[pos]] = rank
            lexical_score[view.ids[pos]] = float(scores[pos])
    timings["lexical"] = (time.perf_counter() - t0) * 1000

    t1 = time.perf_counter()
    vector = index.embedder.embed([query], is_query=True)[0]
    timings["embed"] = (time.perf_counter() - t1) * 1000
    t2 = time.perf_counter()
    dense_rank: dict[str, int] = {}
    dense_score: dict[str, float] = {}
    if view.ids and (allowed is None or allowed.any()):
        pairs = index.dense_query(vector, n_cand, where=filters.to_chroma())
        rank = 0  # pairs is None while another process's ingest is half-written
        for cid, sim in pairs or []:
            pos = view.position.get(cid)
            # Present in both indexes, and allowed by the catalog's metadata too: a
            # metadata rewrite (a visibility change) is never half-seen.
            if pos is not None and (allowed is None or allowed[pos]):
                dense_rank[cid] = rank
                dense_score[cid] = sim
                rank += 1
    timings["dense"] = (time.perf_counter() - t2) * 1000

    boost = set(boost_communes or [])
    fused: dict[str, float] = {}
    for cid, rank in dense_rank.items():
        fused[cid] = settings.dense_weight / (settings.rrf_k + rank + 1)
    for cid, rank in lexical_rank.items():
        fused[cid] = fused.get(cid, 0.0) + settings.lexical_weight / (settings.rrf_k + rank + 1)
    boosted_types = set(boost_types or [])
    if boost or boosted_types:
        for cid in fused:
            meta = view.metas[view.position[cid]]
            if any(meta.get(f"c_{c}") for c in boost):
                fused[cid] *= 1.25
            if meta.get("doc_type") in boosted_types:
                fused[cid] *= 1.5

    ordered = sorted(fused.items(), key=lambda kv: -kv[1])[:k]
    hits = []
    for rank, (cid, score) in enumerate(ordered):
        pos = view.position[cid]
        hits.append(
            Hit(
                chunk_id=cid,
                text=view.texts[pos],
                score=score,
                metadata=view.metas[pos],
                dense_score=dense_score.get(cid),
                lexical_score=lexical_score.get(cid),
                rank=rank,
            )
        )
    timings["retrieve"] = (time.perf_counter() - t0) * 1000
    searched = int(allowed.sum()) if allowed is not None else len(view.ids)
    return Retrieval(hits=hits, query_terms=terms, timings_ms=timings, searched_chunks=searched)
