"""Fusion of the dense and lexical rankings: weighted reciprocal rank, or normalised scores."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import TypeVar

Id = TypeVar("Id", bound=Hashable)


def rrf_fuse(
    rankings: Sequence[tuple[Sequence[Id], float]],
    *,
    k: float = 60.0,
    limit: int | None = None,
) -> list[tuple[Id, float]]:
    """Fuse ``(ids best first, weight)`` rankings: score(id) = Σ weight / (k + rank + 1).

    Ties keep the order in which ids were first seen, list by list (so the first
    ranking given decides between equal scores). A repeated id within one ranking
    counts at its best rank only. Returns ``(id, score)`` best first, ``limit`` at most.
    """
    if k < 0:
        raise ValueError(f"RRF k must be >= 0, got {k}")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    fused: dict[Id, float] = {}
    for ids, weight in rankings:
        seen: set[Id] = set()
        for rank, cid in enumerate(ids):
            if cid in seen:
                continue
            seen.add(cid)
            fused[cid] = fused.get(cid, 0.0) + weight / (k + rank + 1)
    # sorted() is stable: equal scores stay in first-seen order.
    ordered = sorted(fused.items(), key=lambda kv: -kv[1])
    return ordered if limit is None else ordered[:limit]


def score_fuse(
    candidates: Sequence[Id],
    dense: Mapping[Id, float],
    lexical: Mapping[Id, float],
    *,
    dense_share: float = 0.6,
    limit: int | None = None,
) -> list[tuple[Id, float]]:
    """Convex combination of min-max normalised scores over the candidates:
    ``dense_share · dense' + (1 − dense_share) · lexical'``.

    Both scores should be known for every candidate (a missing one counts as the lowest
    seen). Unlike RRF, a chunk far ahead in one ranking keeps its lead. Ties keep the
    candidates' order.
    """
    if not 0.0 <= dense_share <= 1.0:
        raise ValueError(f"dense_share must be within [0, 1], got {dense_share}")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")

    def normalised(scores: Mapping[Id, float]) -> dict[Id, float]:
        values = [scores[c] for c in candidates if c in scores]
        if not values:
            return {}
        low, high = min(values), max(values)
        span = high - low
        return {c: (scores[c] - low) / span if span > 0 else 1.0
                for c in candidates if c in scores}

    d, lex = normalised(dense), normalised(lexical)
    fused = {c: dense_share * d.get(c, 0.0) + (1.0 - dense_share) * lex.get(c, 0.0)
             for c in dict.fromkeys(candidates)}
    ordered = sorted(fused.items(), key=lambda kv: -kv[1])
    return ordered if limit is None else ordered[:limit]
