"""Passages by document: the chunks of one document in a ranking merged into one passage."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

from assistant.types import Hit

Id = TypeVar("Id", bound=Hashable)

# Shortest run of characters taken as the overlap carried from one chunk into the next.
_MIN_OVERLAP = 20


def group_by_document(
    ranked: Sequence[tuple[Id, float]],
    document_of: Callable[[Id], Hashable],
    *,
    k: int,
    max_chunks: int,
) -> list[list[tuple[Id, float]]]:
    """Read ``ranked`` (chunk, score) best first into at most ``k`` passages.

    A chunk whose document already has a passage joins it instead of taking a place of its
    own (up to ``max_chunks`` chunks a passage; past that it opens another passage of the
    same document). Reading stops when the k-th passage is opened, so a passage only
    gathers chunks ranked above the k-th document's best one. Each passage keeps its
    chunks best first; ``max_chunks=1`` gives back the first ``k`` chunks unchanged.
    """
    if k <= 0:
        raise ValueError(f"k must be > 0, got {k}")
    if max_chunks <= 0:
        raise ValueError(f"max_chunks must be > 0, got {max_chunks}")
    passages: list[list[tuple[Id, float]]] = []
    open_for: dict[Hashable, int] = {}  # document -> its passage that still has room
    for cid, score in ranked:
        doc = document_of(cid)
        at = open_for.get(doc)
        if at is not None:
            passages[at].append((cid, score))
            if len(passages[at]) >= max_chunks:
                del open_for[doc]
            continue
        if len(passages) >= k:
            break
        passages.append([(cid, score)])
        if max_chunks > 1:
            open_for[doc] = len(passages) - 1
        if len(passages) >= k:
            break
    return passages


def join_chunks(texts: Sequence[str]) -> str:
    """Texts of chunks of one document, in document order, as one passage: the sentences
    a chunk repeats from the previous one (the chunking overlap) are shown once."""
    out = ""
    for text in texts:
        text = text.strip()
        if not out:
            out = text
            continue
        out = f"{out}\n{_after_overlap(out, text)}".rstrip()
    return out


def _after_overlap(before: str, text: str) -> str:
    """``text`` without its opening that ``before`` ends with (when at least
    ``_MIN_OVERLAP`` characters long)."""
    head = text[:_MIN_OVERLAP]
    if len(head) < _MIN_OVERLAP:
        return text
    start = before.find(head)
    while start >= 0:
        tail = before[start:]
        if text.startswith(tail):
            return text[len(tail):].lstrip()
        start = before.find(head, start + 1)
    return text


def best_chunks(hits: Sequence[Hit], n: int) -> list[Hit]:
    """The ``n`` best chunks behind ``hits`` in the order of the fused ranking: what a
    search of single chunks returns. Hits without ``chunks`` (built elsewhere) are chunks."""
    if not all(hit.chunks for hit in hits):
        return list(hits[:n])
    return sorted((c for hit in hits for c in hit.chunks), key=lambda c: c.rank)[:n]
