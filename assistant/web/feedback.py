"""User feedback on answers (thumbs up/down and a comment), stored in one SQLite file."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    citations TEXT NOT NULL,
    rating INTEGER NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    commune TEXT NOT NULL DEFAULT ''
);
"""
MAX_COMMENT_CHARS = 4000


@dataclass
class FeedbackEntry:
    id: int
    ts: float
    question: str
    answer: str
    citations: list[dict[str, Any]]
    rating: int  # +1 useful, -1 not useful
    comment: str
    commune: str


class FeedbackStore:
    """Append-only feedback table; one short connection per call, so threads never share one."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as conn:
            conn.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30)
        try:
            with conn:  # commits on success, rolls back on error
                yield conn
        finally:
            conn.close()

    def record(
        self,
        *,
        question: str,
        answer: str,
        citations: list[dict[str, Any]],
        rating: int,
        comment: str = "",
        commune: str = "",
    ) -> int:
        """Store one opinion; returns its id. ``rating`` must be +1 or -1."""
        if rating not in (1, -1):
            raise ValueError(f"rating must be 1 or -1, got {rating!r}")
        row = (
            time.time(),
            question,
            answer,
            json.dumps(citations, ensure_ascii=False),
            rating,
            (comment or "").strip()[:MAX_COMMENT_CHARS],
            commune or "",
        )
        with self._lock, self._connect() as conn:
            cur = conn.execute(
                "INSERT INTO feedback (ts, question, answer, citations, rating, comment, commune)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            return int(cur.lastrowid or 0)

    def all(self) -> list[FeedbackEntry]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT id, ts, question, answer, citations, rating, comment, commune "
                "FROM feedback ORDER BY id"
            ).fetchall()
        return [
            FeedbackEntry(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], r[6], r[7]) for r in rows
        ]

    def counts(self) -> dict[str, int]:
        with self._connect() as conn:
            up, down = conn.execute(
                "SELECT COALESCE(SUM(rating = 1), 0), COALESCE(SUM(rating = -1), 0) FROM feedback"
            ).fetchone()
        return {"up": int(up), "down": int(down)}
