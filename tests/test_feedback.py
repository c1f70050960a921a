"""Feedback storage: thumbs up/down with comments in SQLite."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from assistant.web.feedback import FeedbackStore


def test_record_and_read_back(tmp_path):
    store = FeedbackStore(tmp_path / "sub" / "feedback.sqlite3")
    cits = [{"n": 1, "source": "programme/a.pdf", "page": 2, "quote": "« citée »"}]
    fid = store.record(question="Qu'est-ce qu'une ORT ?", answer="Une opération [1]",
                       citations=cits, rating=1, comment="  très utile ", commune="73157")
    assert fid == 1
    [entry] = store.all()
    assert entry.question == "Qu'est-ce qu'une ORT ?"
    assert entry.citations == cits
    assert entry.rating == 1 and entry.comment == "très utile" and entry.commune == "73157"
    assert entry.ts > 0
    store.record(question="q", answer="a", citations=[], rating=-1)
    assert store.counts() == {"up": 1, "down": 1}


def test_schema_has_the_expected_columns(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    FeedbackStore(path)
    cols = [r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(feedback)")]
    for col in ("ts", "question", "answer", "citations", "rating", "comment", "commune"):
        assert col in cols


def test_bad_rating_is_refused(tmp_path):
    store = FeedbackStore(tmp_path / "f.sqlite3")
    with pytest.raises(ValueError):
        store.record(question="q", answer="a", citations=[], rating=0)
    assert store.all() == []


def test_concurrent_writes_are_all_kept(tmp_path):
    store = FeedbackStore(tmp_path / "f.sqlite3")

    def write(i: int) -> None:
        for j in range(10):
            store.record(question=f"q{i}-{j}", answer="a", citations=[], rating=1)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.all()) == 50


def test_long_comment_is_truncated(tmp_path):
    store = FeedbackStore(tmp_path / "f.sqlite3")
    store.record(question="q", answer="a", citations=[], rating=-1, comment="x" * 10000)
    assert len(store.all()[0].comment) == 4000
