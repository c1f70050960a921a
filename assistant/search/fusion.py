"""Weighted reciprocal-rank fusion of ranked lists of chunk ids."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
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
