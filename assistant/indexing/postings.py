"""BM25 on disk: postings tables in the catalog's SQLite file, scored in SQL.

The catalog calls :func:`add_chunks` / :func:`remove_chunks` inside its own write
transactions, so the lexical index commits or rolls back with the documents it
describes. Nothing is held in memory: a query reads the postings of its terms only,
and corpus statistics (chunk count, total length, document frequencies) are kept
up to date incrementally, so start-up and the first query cost the same at 1k or
1M chunks. The scores equal :class:`assistant.indexing.lexical.BM25`'s.
"""

from __future__ import annotations

import math
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

K1 = 1.2
B = 0.75
VERSION = "1"

SCHEMA = """
CREATE TABLE IF NOT EXISTS lex_chunks (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    dl INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS lex_terms (
    t INTEGER PRIMARY KEY,
    term TEXT NOT NULL UNIQUE,
    df INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS lex_postings (
    t INTEGER NOT NULL,
    n INTEGER NOT NULL,
    tf INTEGER NOT NULL,
    dl INTEGER NOT NULL,
    PRIMARY KEY (t, n)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS lex_stats (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


def _stat(conn: sqlite3.Connection, key: str) -> int:
    row = conn.execute("SELECT value FROM lex_stats WHERE key = ?", (key,)).fetchone()
    return int(row[0]) if row else 0


def _bump_stats(conn: sqlite3.Connection, chunks: int, length: int) -> None:
    conn.executemany(
        "INSERT INTO lex_stats VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = value + excluded.value",
        [("chunks", chunks), ("length", length)],
    )


def add_chunks(conn: sqlite3.Connection, rows: Iterable[tuple[str, Sequence[str]]]) -> None:
    """Index ``(chunk id, terms)``; call inside the caller's transaction.

    A few statements per call, whatever the number of chunks (a document's worth)."""
    counted = [(cid, Counter(terms), len(terms)) for cid, terms in rows]
    if not counted:
        return
    conn.executemany("INSERT INTO lex_chunks (id, dl) VALUES (?, ?)",
                     [(cid, dl) for cid, _, dl in counted])
    numbers = _lookup(conn, [cid for cid, _, _ in counted], "SELECT id, n FROM lex_chunks "
                      "WHERE id IN ({})")
    # document frequency: +1 per chunk holding the term
    df = Counter(term for _, counts, _ in counted for term in counts)
    conn.executemany(
        "INSERT INTO lex_terms (term, df) VALUES (?, ?) "
        "ON CONFLICT(term) DO UPDATE SET df = df + excluded.df",
        list(df.items()),
    )
    ids = _lookup(conn, list(df))
    conn.executemany(
        "INSERT INTO lex_postings VALUES (?, ?, ?, ?)",
        [(ids[term], numbers[cid], tf, dl)
         for cid, counts, dl in counted for term, tf in counts.items()],
    )
    _bump_stats(conn, len(counted), sum(dl for _, _, dl in counted))


def _lookup(
    conn: sqlite3.Connection, keys: Sequence[str],
    sql: str = "SELECT term, t FROM lex_terms WHERE term IN ({})",
) -> dict[str, int]:
    out: dict[str, int] = {}
    for start in range(0, len(keys), 500):
        part = list(keys[start : start + 500])
        out.update(conn.execute(sql.format(",".join("?" * len(part))), part).fetchall())
    return out


def remove_chunks(conn: sqlite3.Connection, ids: Sequence[str]) -> None:
    """Drop chunks from the index (unknown ids are ignored); inside a transaction."""
    removed = total = 0
    for cid in ids:
        row = conn.execute("SELECT n, dl FROM lex_chunks WHERE id = ?", (cid,)).fetchone()
        if row is None:
            continue
        n, dl = row
        # The chunk's terms are read from the catalog row being deleted alongside.
        terms = conn.execute("SELECT terms FROM chunks WHERE id = ?", (cid,)).fetchone()
        distinct = list(set(terms[0].split())) if terms else []
        tids = list(_lookup(conn, distinct).values())
        conn.executemany("DELETE FROM lex_postings WHERE t = ? AND n = ?", [(t, n) for t in tids])
        conn.executemany("UPDATE lex_terms SET df = df - 1 WHERE t = ?", [(t,) for t in tids])
        conn.execute("DELETE FROM lex_chunks WHERE n = ?", (n,))
        removed += 1
        total += dl
    if removed:
        conn.execute("DELETE FROM lex_terms WHERE df <= 0")
        _bump_stats(conn, -removed, -total)


def rebuild(conn: sqlite3.Connection) -> None:
    """Index every catalog chunk from its stored terms (first open of an older catalog)."""
    conn.execute("DELETE FROM lex_postings")
    conn.execute("DELETE FROM lex_terms")
    conn.execute("DELETE FROM lex_chunks")
    conn.execute("DELETE FROM lex_stats")
    cursor = conn.execute("SELECT id, terms FROM chunks ORDER BY doc_id, ordinal")
    while batch := cursor.fetchmany(1000):
        add_chunks(conn, [(cid, terms.split()) for cid, terms in batch])


def corpus_stats(conn: sqlite3.Connection) -> tuple[int, float]:
    """(number of chunks, average length in terms)."""
    n = _stat(conn, "chunks")
    return n, (_stat(conn, "length") / n if n else 1.0) or 1.0


def idf(n_docs: int, df: int) -> float:
    """BM25's idf, never negative (Lucene's form, as :class:`BM25` computes it)."""
    return math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))


def document_frequencies(conn: sqlite3.Connection, terms: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for start in range(0, len(terms), 500):
        part = list(terms[start : start + 500])
        marks = ",".join("?" * len(part))
        out.update(conn.execute(
            f"SELECT term, df FROM lex_terms WHERE term IN ({marks})", part
        ).fetchall())
    return out


POSTINGS_BUDGET = 50_000


def near_terms(conn: sqlite3.Connection, term: str) -> list[str]:
    """Indexed terms one edit away from ``term`` (a typo: «subvantion», «depolution»),
    among those sharing its first two letters (reads one range of the terms index)."""
    if len(term) < 3:
        return []
    prefix = term[:2]
    rows = conn.execute(
        "SELECT term FROM lex_terms WHERE term >= ? AND term < ? AND length(term) BETWEEN ? AND ?",
        (prefix, prefix + "\uffff", len(term) - 1, len(term) + 1),
    ).fetchall()
    return [t for (t,) in rows if t != term and _one_edit(t, term)]


def _one_edit(a: str, b: str) -> bool:
    """``a`` and ``b`` differ by one insertion, deletion, substitution or swap."""
    if len(a) > len(b):
        a, b = b, a
    if len(b) - len(a) > 1:
        return False
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        swapped = i + 1 < len(a) and a[i] == b[i + 1] and a[i + 1] == b[i]
        return a[i + 1:] == b[i + 1:] or (swapped and a[i + 2:] == b[i + 2:])
    return a[i:] == b[i + 1:]


def search(
    conn: sqlite3.Connection,
    query_terms: Sequence[str],
    n: int,
    *,
    allow: Callable[[dict[str, Any]], bool] | None = None,
    meta_of: Callable[[list[str]], dict[str, dict[str, Any]]] | None = None,
    budget: int = POSTINGS_BUDGET,
) -> list[tuple[str, float]]:
    """The ``n`` best chunks by BM25 (score > 0), best first, among those ``allow`` keeps.

    Repeated query terms count once per occurrence, as in :meth:`BM25.scores`. With a
    filter, candidates are read in score order, a page at a time, until ``n`` pass
    (``meta_of`` gives their metadata).

    Exact while the query's terms have at most ``budget`` postings in all. Past it (very
    common terms in a very large index), candidates come from the rarest terms that fit
    the budget (at least one), and each candidate is then scored with every term: the
    scores are exact, a chunk matching only common terms may be missed.
    """
    counts = Counter(query_terms)
    if not counts or n <= 0:
        return []
    n_docs, avgdl = corpus_stats(conn)
    if n_docs == 0:
        return []
    rows = conn.execute(
        f"SELECT t, df, term FROM lex_terms WHERE term IN ({','.join('?' * len(counts))})",
        list(counts),
    ).fetchall()
    if not rows:
        return []
    rows.sort(key=lambda r: r[1])
    kept, total = [], 0
    for row in rows:
        if kept and total + row[1] > budget:
            break
        kept.append(row)
        total += row[1]
    pruned = len(kept) < len(rows)
    weights = [(t, idf(n_docs, df) * counts[term]) for t, df, term in kept]
    values = ",".join("(?, ?)" for _ in weights)
    args: list[Any] = [x for pair in weights for x in pair]
    sql = (
        f"WITH q(t, w) AS (VALUES {values}) "
        "SELECT c.id, s.score FROM ("
        "  SELECT p.n AS n, SUM(q.w * p.tf * ? / (p.tf + ? * (1 - ? + ? * p.dl / ?))) AS score"
        "  FROM q JOIN lex_postings p ON p.t = q.t GROUP BY p.n"
        "  ORDER BY score DESC, p.n LIMIT ? OFFSET ?"
        ") s JOIN lex_chunks c ON c.n = s.n ORDER BY s.score DESC, s.n"
    )
    base = [*args, K1 + 1.0, K1, B, B, avgdl]

    def page_of(limit: int, offset: int) -> list[tuple[str, float]]:
        batch = [(cid, float(sc)) for cid, sc in conn.execute(sql, [*base, limit, offset])]
        if pruned:  # every term counts in the final score
            full = score_ids(conn, query_terms, [cid for cid, _ in batch])
            batch = [(cid, full.get(cid, sc)) for cid, sc in batch]
        return batch

    out: list[tuple[str, float]] = []
    page = max(4 * n, 200) if (allow is not None or pruned) else n
    offset = 0
    while True:
        batch = page_of(page, offset)
        metas = meta_of([cid for cid, _ in batch]) if allow is not None and meta_of else {}
        if allow is not None and meta_of is None:
            raise ValueError("a filtered lexical search needs meta_of")
        for cid, score in batch:
            if score > 0 and (allow is None or (cid in metas and allow(metas[cid]))):
                out.append((cid, score))
        if len(out) >= n or len(batch) < page:
            break
        offset += page
        page *= 4
    if pruned:
        out.sort(key=lambda kv: -kv[1])
    return out[:n]


def score_ids(
    conn: sqlite3.Connection, query_terms: Sequence[str], ids: Sequence[str]
) -> dict[str, float]:
    """BM25 of the given chunks (0.0 for a chunk without a query term; unknown ids left out)."""
    if not ids:
        return {}
    known: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        part = list(ids[start : start + 500])
        marks = ",".join("?" * len(part))
        known.update(conn.execute(f"SELECT n, id FROM lex_chunks WHERE id IN ({marks})", part))
    out = dict.fromkeys(known.values(), 0.0)
    counts = Counter(query_terms)
    n_docs, avgdl = corpus_stats(conn)
    if not counts or not known or n_docs == 0:
        return out
    rows = conn.execute(
        f"SELECT t, df, term FROM lex_terms WHERE term IN ({','.join('?' * len(counts))})",
        list(counts),
    ).fetchall()
    weights = {t: idf(n_docs, df) * counts[term] for t, df, term in rows}
    if not weights:
        return out
    t_marks = ",".join("?" * len(weights))
    n_marks = ",".join("?" * len(known))
    for t, n, tf, dl in conn.execute(
        f"SELECT t, n, tf, dl FROM lex_postings WHERE t IN ({t_marks}) AND n IN ({n_marks})",
        [*weights, *known],
    ):
        out[known[n]] += weights[t] * tf * (K1 + 1.0) / (tf + K1 * (1 - B + B * dl / avgdl))
    return out
