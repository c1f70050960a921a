"""Passages by document: grouping a fused ranking, joining chunk texts without overlap."""

import pytest

from assistant.search.passages import best_chunks, group_by_document, join_chunks
from assistant.types import Hit

DOC = {"a1": "A", "a2": "A", "a3": "A", "b1": "B", "c1": "C", "d1": "D"}


def _ids(groups):
    return [[cid for cid, _ in g] for g in groups]


def test_chunks_of_a_document_join_its_passage_and_free_a_place():
    ranked = [("a1", 0.9), ("a2", 0.8), ("b1", 0.7), ("a3", 0.6), ("c1", 0.5), ("d1", 0.4)]
    groups = group_by_document(ranked, DOC.__getitem__, k=3, max_chunks=6)
    assert _ids(groups) == [["a1", "a2", "a3"], ["b1"], ["c1"]]
    assert groups[0][0] == ("a1", 0.9)  # best first: the passage's score is its best chunk's


def test_reading_stops_at_the_kth_document():
    ranked = [("a1", 0.9), ("b1", 0.8), ("a2", 0.7)]
    assert _ids(group_by_document(ranked, DOC.__getitem__, k=2, max_chunks=6)) == [
        ["a1"], ["b1"]]


def test_one_chunk_a_passage_is_the_plain_ranking():
    ranked = [("a1", 0.9), ("a2", 0.8), ("b1", 0.7), ("a3", 0.6)]
    assert _ids(group_by_document(ranked, DOC.__getitem__, k=3, max_chunks=1)) == [
        ["a1"], ["a2"], ["b1"]]


def test_a_full_passage_lets_the_next_chunk_open_another():
    ranked = [("a1", 0.9), ("a2", 0.8), ("a3", 0.7), ("b1", 0.6)]
    assert _ids(group_by_document(ranked, DOC.__getitem__, k=3, max_chunks=2)) == [
        ["a1", "a2"], ["a3"], ["b1"]]


@pytest.mark.parametrize("k,m", [(0, 2), (2, 0)])
def test_bad_sizes_are_refused(k, m):
    with pytest.raises(ValueError):
        group_by_document([], DOC.__getitem__, k=k, max_chunks=m)


def test_the_overlap_carried_into_the_next_chunk_is_shown_once():
    first = "Premier paragraphe du texte.\nLa phrase reprise en tête du suivant, assez longue."
    second = "La phrase reprise en tête du suivant, assez longue. Puis la suite du texte."
    assert join_chunks([first, second]) == (
        "Premier paragraphe du texte.\nLa phrase reprise en tête du suivant, assez longue.\n"
        "Puis la suite du texte.")


def test_chunks_without_overlap_are_joined_by_a_line():
    assert join_chunks(["Un.", "Deux, sans rien de commun avec le premier."]) == (
        "Un.\nDeux, sans rien de commun avec le premier.")
    assert join_chunks([]) == ""


def _hit(cid: str, rank: int, chunks: list[Hit] | None = None) -> Hit:
    return Hit(chunk_id=cid, text=cid, score=1.0, metadata={}, rank=rank, chunks=chunks or [])


def test_best_chunks_are_the_single_chunk_ranking_behind_the_passages():
    a = _hit("a1", 0, [_hit("a1", 0), _hit("a2", 1), _hit("a3", 4)])
    b = _hit("b1", 1, [_hit("b1", 2)])
    c = _hit("c1", 2, [_hit("c1", 3)])
    assert [h.chunk_id for h in best_chunks([a, b, c], 3)] == ["a1", "a2", "b1"]
    plain = [_hit("x", 0), _hit("y", 0)]  # hits built elsewhere: taken as they come
    assert best_chunks(plain, 1) == plain[:1]
