"""Weighted reciprocal-rank fusion: scores, ties, weights, limits, bad values."""

import pytest

from assistant.search.fusion import rrf_fuse


@pytest.mark.parametrize(
    ("rankings", "k", "expected"),
    [
        # one list: its order, scores 1/(k+rank+1)
        ([(["a", "b"], 1.0)], 60, [("a", 1 / 61), ("b", 1 / 62)]),
        # agreement adds up: b is 2nd in both, a 1st in one only
        ([(["a", "b"], 1.0), (["b", "c"], 1.0)], 0, [("b", 1 / 2 + 1 / 1), ("a", 1.0),
                                                    ("c", 1 / 2)]),
        # a weight of 2 on the second list turns the order around
        ([(["a", "b"], 1.0), (["b", "a"], 2.0)], 10, [("b", 1 / 12 + 2 / 11),
                                                     ("a", 1 / 11 + 2 / 12)]),
        # a zero weight leaves a list's ids in, at score 0, after the others
        ([(["a"], 1.0), (["z"], 0.0)], 60, [("a", 1 / 61), ("z", 0.0)]),
        # empty input
        ([], 60, []),
        ([([], 1.0)], 60, []),
    ],
)
def test_scores_and_order(rankings, k, expected):
    got = rrf_fuse(rankings, k=k)
    assert [cid for cid, _ in got] == [cid for cid, _ in expected]
    assert [s for _, s in got] == pytest.approx([s for _, s in expected])


def test_small_k_favours_the_top_of_each_list():
    dense = ["d1", "x", "y", "both"]
    lexical = ["l1", "p", "q", "both"]
    # with a large k, an id found by both at rank 4 beats either list's single top id
    assert rrf_fuse([(dense, 1.0), (lexical, 1.0)], k=60)[0][0] == "both"
    # with k=1 the top of each list wins
    assert {cid for cid, _ in rrf_fuse([(dense, 1.0), (lexical, 1.0)], k=1)[:2]} == {"d1", "l1"}


def test_ties_keep_first_seen_order():
    got = rrf_fuse([(["a", "b"], 1.0), (["b", "a"], 1.0)], k=60)
    assert [cid for cid, _ in got] == ["a", "b"]
    got = rrf_fuse([(["b", "a"], 1.0), (["a", "b"], 1.0)], k=60)
    assert [cid for cid, _ in got] == ["b", "a"]


def test_repeated_id_counts_once_per_list():
    assert rrf_fuse([(["a", "a", "b"], 1.0)], k=0) == [("a", 1.0), ("b", 1 / 3)]


def test_limit_and_bad_values():
    assert rrf_fuse([(["a", "b", "c"], 1.0)], limit=2) == rrf_fuse([(["a", "b", "c"], 1.0)])[:2]
    assert rrf_fuse([(["a"], 1.0)], limit=0) == []
    with pytest.raises(ValueError, match="-1"):
        rrf_fuse([(["a"], 1.0)], k=-1)
    with pytest.raises(ValueError, match="-3"):
        rrf_fuse([(["a"], 1.0)], limit=-3)
