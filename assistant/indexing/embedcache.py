"""Passage-embedding cache keyed by content hash, so re-ingesting only embeds new chunks."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from pathlib import Path

import numpy as np

from assistant.embedding.embedders import Embedder


def cache_key(model_id: str, text: str, *, is_query: bool = False) -> str:
    """sha1 of model id + kind + text (NUL-separated so the parts cannot run together)."""
    kind = "query" if is_query else "passage"
    return hashlib.sha1(f"{model_id}\0{kind}\0{text}".encode()).hexdigest()


class CachedEmbedder:
    """Wraps an embedder; passage vectors are stored in SQLite (``<index_dir>/embcache.sqlite3``).

    Queries are passed through (they are short and rarely repeat). The model id is part of
    the key, so switching models never returns another model's vectors.
    """

    def __init__(self, inner: Embedder, path: Path) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dim = inner.dim
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS emb (key TEXT PRIMARY KEY, dim INTEGER, vec BLOB)"
        )
        self._db.commit()
        self.hits = 0
        self.misses = 0

    def embed(self, texts: list[str], *, is_query: bool = False) -> np.ndarray:
        if is_query or not texts:
            return self.inner.embed(texts, is_query=is_query)
        keys = [cache_key(self.model_id, t) for t in texts]
        found: dict[str, np.ndarray] = {}
        with self._lock:
            unique = list(dict.fromkeys(keys))
            for start in range(0, len(unique), 500):
                part = unique[start : start + 500]
                marks = ",".join("?" * len(part))
                for key, dim, blob in self._db.execute(
                    f"SELECT key, dim, vec FROM emb WHERE key IN ({marks})", part
                ):
                    if dim == self.dim and len(blob) == 4 * dim:
                        found[key] = np.frombuffer(blob, dtype=np.float32)
        missing = [i for i, k in enumerate(keys) if k not in found]
        todo = list(dict.fromkeys(keys[i] for i in missing))
        if todo:
            first = {}
            for i in missing:
                first.setdefault(keys[i], texts[i])
            vectors = np.asarray(
                self.inner.embed([first[k] for k in todo], is_query=False), dtype=np.float32
            )
            rows = []
            for key, vec in zip(todo, vectors, strict=True):
                found[key] = vec
                rows.append((key, self.dim, vec.tobytes()))
            with self._lock:
                self._db.executemany("INSERT OR REPLACE INTO emb VALUES (?, ?, ?)", rows)
                self._db.commit()
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        return np.stack([found[k] for k in keys]).astype(np.float32)

    def close(self) -> None:
        with self._lock:
            self._db.close()
