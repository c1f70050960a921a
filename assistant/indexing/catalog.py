"""The catalog: documents, page texts, chunks and their BM25 postings, in one SQLite file.

It is the lexical half of the index and the source of truth for which chunks exist;
every write is one transaction (postings included), so a killed ingest leaves it as
before or as after. Nothing of the corpus is held in memory: searches read SQLite.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.indexing import postings
from assistant.types import Chunk, DocumentMeta, Page

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    root TEXT NOT NULL,
    source TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    meta TEXT NOT NULL,
    n_pages INTEGER NOT NULL,
    n_chunks INTEGER NOT NULL,
    indexed_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS pages (
    doc_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    number INTEGER,
    text TEXT NOT NULL,
    PRIMARY KEY (doc_id, idx)
);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY,
    doc_id TEXT NOT NULL,
    ordinal INTEGER NOT NULL,
    text TEXT NOT NULL,
    terms TEXT NOT NULL,
    meta TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks (doc_id);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass
class StoredDocument:
    doc_id: str
    root: str
    source: str
    sha256: str
    meta: dict[str, Any]
    n_pages: int
    n_chunks: int
    indexed_at: float


class Idf:
    """Document frequencies from the postings tables, for the answerer's term weights."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    @property
    def n_docs(self) -> int:
        return postings.corpus_stats(self._catalog._conn())[0]

    def idf_of(self, term: str) -> float:
        """BM25 idf of an analysed term (an unseen term gets the highest idf)."""
        conn = self._catalog._conn()
        n_docs = postings.corpus_stats(conn)[0]
        df = postings.document_frequencies(conn, [term]).get(term, 0)
        return postings.idf(n_docs, df)

    def near(self, term: str) -> list[str]:
        """Indexed terms one typo away from an analysed ``term``."""
        return postings.near_terms(self._catalog._conn(), term)


@dataclass
class LexicalView:
    """What the answerer reads of the lexical index: ``bm25.idf_of(term)``, from disk."""

    generation: str
    bm25: Idf


class Catalog:
    """SQLite-backed catalog; safe to share between threads of one process."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._local = threading.local()
        conn = self._conn()
        conn.executescript(_SCHEMA)
        conn.executescript(postings.SCHEMA)
        if self._postings_stale():
            # A catalog written before the postings tables, or by a version that did not
            # keep them: index its stored terms once (checked again under the write lock,
            # so that instances starting together rebuild once).
            with self._tx() as tx:
                if not self._postings_stale():
                    return
                postings.rebuild(tx)
                tx.execute(
                    "INSERT INTO kv VALUES ('lexical_version', ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (postings.VERSION,),
                )
                self._bump(tx)

    def _postings_stale(self) -> bool:
        return (self.get("lexical_version"), self.get("lexical_generation")) != (
            postings.VERSION, self.get("generation"))

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # -- documents ---------------------------------------------------------------

    def documents(self, root: str | None = None) -> list[StoredDocument]:
        sql = "SELECT * FROM documents"
        args: tuple[Any, ...] = ()
        if root is not None:
            sql += " WHERE root = ?"
            args = (root,)
        rows = self._conn().execute(sql + " ORDER BY source", args).fetchall()
        return [
            StoredDocument(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5], r[6], r[7])
            for r in rows
        ]

    def document(self, doc_id: str) -> StoredDocument | None:
        row = self._conn().execute("SELECT * FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        if row is None:
            return None
        return StoredDocument(row[0], row[1], row[2], row[3], json.loads(row[4]), *row[5:])

    def document_with_sha(self, sha256: str, root: str) -> StoredDocument | None:
        row = self._conn().execute(
            "SELECT doc_id FROM documents WHERE sha256 = ? AND root = ? ORDER BY source LIMIT 1",
            (sha256, root),
        ).fetchone()
        return self.document(row[0]) if row else None

    def count_with_sha(self, shas: Iterable[str]) -> int:
        """How many of ``shas`` an indexed document has."""
        wanted = list(shas)
        found = 0
        for start in range(0, len(wanted), 500):  # SQLite's bound-parameter limit
            part = wanted[start:start + 500]
            found += self._conn().execute(
                f"SELECT COUNT(DISTINCT sha256) FROM documents WHERE sha256 IN "
                f"({','.join('?' * len(part))})", part).fetchone()[0]
        return int(found)

    def add_alias(self, doc_id: str, source: str) -> None:
        """Record another path holding the same bytes as this document."""
        with self._tx() as conn:
            row = conn.execute("SELECT meta FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
            if row is None:
                return
            meta = json.loads(row[0])
            aliases = meta.setdefault("extra", {}).setdefault("aliases", [])
            if source not in aliases:
                aliases.append(source)
                conn.execute("UPDATE documents SET meta = ? WHERE doc_id = ?",
                             (json.dumps(meta), doc_id))

    def pages(self, doc_id: str) -> list[Page]:
        rows = self._conn().execute(
            "SELECT number, text FROM pages WHERE doc_id = ? ORDER BY idx", (doc_id,)
        ).fetchall()
        return [Page(number=r[0], text=r[1]) for r in rows]

    def chunk_ids(self, doc_id: str | None = None) -> set[str]:
        if doc_id is None:
            rows = self._conn().execute("SELECT id FROM chunks").fetchall()
        else:
            rows = self._conn().execute(
                "SELECT id FROM chunks WHERE doc_id = ?", (doc_id,)
            ).fetchall()
        return {r[0] for r in rows}

    def chunks_of(self, doc_id: str) -> list[dict[str, Any]]:
        """The chunks of one document in order: id, ordinal, text, metadata."""
        rows = self._conn().execute(
            "SELECT id, ordinal, text, meta FROM chunks WHERE doc_id = ? ORDER BY ordinal",
            (doc_id,),
        ).fetchall()
        return [{"id": r[0], "ordinal": r[1], "text": r[2], "meta": json.loads(r[3])}
                for r in rows]

    def chunk_rows(self, ids: list[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        """``id -> (text, metadata)`` for the ids the catalog holds (others are left out)."""
        out: dict[str, tuple[str, dict[str, Any]]] = {}
        conn = self._conn()
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ",".join("?" * len(part))
            for cid, text, meta in conn.execute(
                f"SELECT id, text, meta FROM chunks WHERE id IN ({marks})", part
            ):
                out[cid] = (text, json.loads(meta))
        return out

    def chunk_metas(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """``id -> metadata`` for the ids the catalog holds."""
        out: dict[str, dict[str, Any]] = {}
        conn = self._conn()
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ",".join("?" * len(part))
            for cid, meta in conn.execute(
                f"SELECT id, meta FROM chunks WHERE id IN ({marks})", part
            ):
                out[cid] = json.loads(meta)
        return out

    def replace_document(
        self,
        root: str,
        meta: DocumentMeta,
        doc_id: str,
        pages: list[Page],
        chunks: list[Chunk],
        terms: list[list[str]],
        chunk_metas: list[dict[str, Any]],
    ) -> None:
        """Swap a document's pages and chunks for new ones, atomically."""
        with self._tx() as conn:
            self._delete(conn, doc_id)
            conn.execute(
                "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (doc_id, root, meta.source, meta.sha256, json.dumps(meta.to_dict()),
                 len(pages), len(chunks), time.time()),
            )
            conn.executemany(
                "INSERT INTO pages VALUES (?, ?, ?, ?)",
                [(doc_id, i, p.number, p.text) for i, p in enumerate(pages)],
            )
            conn.executemany(
                "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (c.id, doc_id, c.ordinal, c.text, " ".join(t), json.dumps(m))
                    for c, t, m in zip(chunks, terms, chunk_metas, strict=True)
                ],
            )
            postings.add_chunks(conn, [(c.id, t) for c, t in zip(chunks, terms, strict=True)])
            self._bump(conn)

    def update_metadata(
        self, meta: DocumentMeta, doc_id: str, chunk_metas: dict[str, dict[str, Any]]
    ) -> None:
        """Rewrite a document's metadata and its chunks' (same pages, chunks and terms)."""
        with self._tx() as conn:
            conn.execute("UPDATE documents SET meta = ?, indexed_at = ? WHERE doc_id = ?",
                         (json.dumps(meta.to_dict()), time.time(), doc_id))
            conn.executemany(
                "UPDATE chunks SET meta = ? WHERE id = ? AND doc_id = ?",
                [(json.dumps(m), cid, doc_id) for cid, m in chunk_metas.items()],
            )
            self._bump(conn)

    def delete_document(self, doc_id: str) -> None:
        with self._tx() as conn:
            self._delete(conn, doc_id)
            self._bump(conn)

    def delete_chunks(self, ids: list[str]) -> set[str]:
        """Drop chunks (found missing from the vector store); return their documents,
        which are then forgotten too so that the next ingest redoes them whole."""
        if not ids:
            return set()
        with self._tx() as conn:
            docs = set()
            for cid in ids:
                row = conn.execute("SELECT doc_id FROM chunks WHERE id = ?", (cid,)).fetchone()
                if row:
                    docs.add(row[0])
            for doc_id in docs:
                self._delete(conn, doc_id)
            self._bump(conn)
        return docs

    @staticmethod
    def _delete(conn: sqlite3.Connection, doc_id: str) -> None:
        ids = [r[0] for r in conn.execute("SELECT id FROM chunks WHERE doc_id = ?", (doc_id,))]
        postings.remove_chunks(conn, ids)
        conn.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
        conn.execute("DELETE FROM pages WHERE doc_id = ?", (doc_id,))
        conn.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))

    # -- key/value and generations -----------------------------------------------------

    @staticmethod
    def _bump(conn: sqlite3.Connection) -> None:
        """A new generation; the postings are stamped with it in the same transaction,
        so a catalog written by a version without postings is seen and re-indexed."""
        stamp = f"{time.time_ns()}"
        conn.executemany(
            "INSERT INTO kv VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [("generation", stamp), ("lexical_generation", stamp)],
        )

    def bump_ingest_generation(self) -> str:
        """Mark a committed ingest (or removal): processes holding the index reopen it."""
        value = f"{time.time_ns()}"
        self.set("ingest_generation", value)
        return value

    def ingest_generation(self) -> str:
        return self.get("ingest_generation") or "0"

    def get(self, key: str) -> str | None:
        row = self._conn().execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set(self, key: str, value: str) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO kv VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def counts(self) -> tuple[int, int]:
        conn = self._conn()
        docs = conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
        chunks = conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        return int(docs), int(chunks)

    # -- lexical search ----------------------------------------------------------------

    def lexical_search(
        self,
        terms: list[str],
        n: int,
        allow: Callable[[dict[str, Any]], bool] | None = None,
    ) -> list[tuple[str, float]]:
        """The ``n`` best chunks for analysed ``terms`` by BM25, among those ``allow`` keeps."""
        return postings.search(self._conn(), terms, n, allow=allow, meta_of=self.chunk_metas)

    def correct_spelling(self, terms: list[str]) -> list[str]:
        """Analysed query terms with each unseen one (of 5 letters or more) replaced by the
        most frequent indexed term one typo away, if any: «depolution» finds «dépollution»."""
        conn = self._conn()
        df = postings.document_frequencies(conn, terms)
        out = []
        for term in terms:
            if df.get(term, 0) == 0 and len(term) >= 5:
                near = postings.near_terms(conn, term)
                if near:
                    counts = postings.document_frequencies(conn, near)
                    term = max(near, key=lambda t: (counts.get(t, 0), t))
            out.append(term)
        return out

    def lexical_scores(self, terms: list[str], ids: list[str]) -> dict[str, float]:
        """BM25 of given chunks (0.0 when no term matches), for score fusion."""
        return postings.score_ids(self._conn(), terms, ids)

    def count_chunks(self, allow: Callable[[dict[str, Any]], bool] | None = None) -> int:
        """Chunks ``allow`` keeps; filters are per document, so one chunk per document is read."""
        conn = self._conn()
        if allow is None:
            return int(conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])
        rows = conn.execute(
            "SELECT d.n_chunks, c.meta FROM documents d JOIN chunks c "
            "ON c.doc_id = d.doc_id AND c.ordinal = 0"
        )
        return sum(n for n, meta in rows if allow(json.loads(meta)))

    def idf_of(self, term: str) -> float:
        """BM25 idf of an analysed term, from the on-disk document frequencies."""
        return Idf(self).idf_of(term)

    def view(self) -> LexicalView:
        """The lexical statistics the answerer reads (``view().bm25.idf_of``), from disk."""
        return LexicalView(generation=self.get("generation") or "0", bm25=Idf(self))
