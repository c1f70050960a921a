"""Index build, disk, start-up RSS, first-query and warm latency at 1k .. 1M chunks."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from common import (
    CACHE_DIR,
    PROJECT_ROOT,
    RESULTS_DIR,
    dir_size_mb,
    log,
    percentile,
    rss_mb,
    summary_ms,
    table,
    write_results,
)

from assistant.embedding.embedders import make_embedder
from assistant.indexing.index import Index
from assistant.indexing.lexical import BM25, analyze, expand_query
from assistant.indexing.store import chunk_metadata
from assistant.ingest.chunking import chunk_document, split_sentences
from assistant.ingest.loaders import load_document
from assistant.ingest.metadata import Manifest, build_meta
from assistant.search.fusion import rrf_fuse
from assistant.search.retrieval import retrieve
from assistant.settings import get_settings
from assistant.types import Chunk, DocumentMeta, Page

PIAF = Path("/work/shared/eval/piaf-wikipedia")
CHUNKS_PER_DOC = 100
METHOD = (
    "Base: the first --base chunks of the piaf-wikipedia articles (sorted by file name), "
    "chunked by the project's chunker and embedded once with the real model (vectors cached "
    "in .cache/bench/). Copy 0 of the base is written as is; every later copy changes each "
    "chunk's text by one of: shuffling its sentences, dropping one sentence, or appending a "
    "variant suffix ('variante N-i'), and its vector is the base vector plus gaussian noise "
    "of relative norm --noise, renormalised. Chunks are grouped into synthetic documents of "
    "100 chunks, written with catalog.replace_document (lexical terms from "
    "lexical.analyze) and store.upsert in batches of 1000. Sizes are built cumulatively in "
    "one index (1k, then grown to 10k, then to 100k). Queries: the first 30 questions of "
    "piaf-wikipedia/questions.jsonl, embedded once by the real model in the parent; each "
    "measure runs in a fresh process (an app instance's start): open the index, then the "
    "first query and the warm ones through retrieve() with those query vectors (the "
    "embedder's own memory, constant in the corpus size, is measured apart; with "
    "--with-embedder a 'disk + embedder' probe also loads the configured embedder in that "
    "process and embeds each question there: a whole instance). Mode 'disk' "
    "is today's on-disk BM25 (postings in the catalog); mode 'memory' rebuilds the former "
    "in-memory view (every chunk's id, metadata, text and a BM25 matrix) and fuses the same way."
)


def base_chunks(limit: int) -> list[tuple[str, str, list[str]]]:
    """(text, title, heading_path) of the first ``limit`` chunks of the piaf articles."""
    out: list[tuple[str, str, list[str]]] = []
    files = sorted((PIAF / "docs").glob("*.md"))
    for path in files[:5000]:
        loaded = load_document(path)
        meta = build_meta(path.name, loaded, Manifest(), sha256="", path=path)
        doc_id = hashlib.sha1(path.name.encode()).hexdigest()[:16]
        for chunk in chunk_document(loaded, doc_id):
            out.append((chunk.text, meta.title, list(chunk.heading_path)))
            if len(out) >= limit:
                return out
    return out


def base_vectors(
    chunks: list[tuple[str, str, list[str]]], embedder_spec: str
) -> tuple[np.ndarray, float]:
    """Passage vectors of the base chunks, cached by content; returns (vectors, seconds)."""
    texts = [f"{' > '.join([title, *heads])}\n{text}" for text, title, heads in chunks]
    key = hashlib.sha1((embedder_spec + "\0" + "\0".join(texts)).encode()).hexdigest()[:12]
    cache = CACHE_DIR / f"scale-base-{len(texts)}-{key}.npz"
    if cache.exists():
        data = np.load(cache)
        return data["vectors"], float(data["seconds"])
    log(f"embedding {len(texts)} base chunks with {embedder_spec} (cached afterwards)...")
    embedder = make_embedder(embedder_spec)
    t0 = time.perf_counter()
    vectors = embedder.embed(texts, is_query=False)
    seconds = time.perf_counter() - t0
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    np.savez(cache, vectors=vectors, seconds=seconds)
    return vectors, seconds


def vary(text: str, copy: int, serial: int, rng: random.Random) -> str:
    """A variant of a chunk's text: shuffled sentences, one dropped, or a suffix."""
    if copy == 0:
        return text
    sentences = [text[a:b] for a, b in split_sentences(text)]
    op = rng.randrange(3)
    if op == 0 and len(sentences) > 1:
        rng.shuffle(sentences)
        return " ".join(sentences)
    if op == 1 and len(sentences) > 1:
        del sentences[rng.randrange(len(sentences))]
        return " ".join(sentences)
    return f"{text} (variante {copy}-{serial})"


@lru_cache(maxsize=1_000_000)
def _sentence_terms(sentence: str) -> tuple[str, ...]:
    return tuple(analyze(sentence))


def fast_terms(context: str, text: str) -> list[str]:
    """analyze(embedding_text) sentence by sentence, each sentence analysed once: copies
    reuse the base chunks' sentences, so a million chunks cost a few thousand analyses."""
    out = list(_sentence_terms(context))
    for a, b in split_sentences(text):
        out += _sentence_terms(text[a:b])
    return out


def noisy(vector: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    dim = vector.shape[0]
    out = vector + rng.normal(0.0, noise / np.sqrt(dim), dim).astype(np.float32)
    return (out / np.linalg.norm(out)).astype(np.float32)


def grow(
    index: Index,
    base: list[tuple[str, str, list[str]]],
    vectors: np.ndarray,
    start: int,
    stop: int,
    noise: float,
    with_vectors: bool = True,
) -> dict[str, float]:
    """Write chunks number ``start``..``stop`` (synthetic documents of 100 chunks)."""
    rng = random.Random(start)
    nrng = np.random.default_rng(start)
    n_base = len(base)
    t_catalog = t_store = t_make = 0.0
    pending_ids: list[str] = []
    pending_vecs: list[np.ndarray] = []
    pending_texts: list[str] = []
    pending_metas: list[dict[str, Any]] = []
    root = "/synthetic"
    for doc_start in range(start, stop, CHUNKS_PER_DOC):
        t0 = time.perf_counter()
        d = doc_start // CHUNKS_PER_DOC
        doc_id = f"synth{d:06d}"
        first_copy = doc_start // n_base
        title = f"{base[doc_start % n_base][1]} (copie {first_copy})"
        meta = DocumentMeta(source=f"synthetic/doc-{d:06d}.md", title=title, doc_type="autre",
                            sha256=doc_id, extra={"format": "md", "synthetic": True})
        chunks: list[Chunk] = []
        vecs: list[np.ndarray] = []
        for ordinal, serial in enumerate(range(doc_start, min(doc_start + CHUNKS_PER_DOC, stop))):
            copy, b = divmod(serial, n_base)
            text = vary(base[b][0], copy, serial, rng)
            chunks.append(Chunk(
                id=f"s{serial:07d}", doc_id=doc_id, text=text, heading_path=base[b][2],
                page_start=None, page_end=None, char_start=0, char_end=len(text),
                ordinal=ordinal,
            ))
            if with_vectors:
                vecs.append(vectors[b] if copy == 0 else noisy(vectors[b], noise, nrng))
        terms = [fast_terms(" > ".join([meta.title, *c.heading_path]), c.text) for c in chunks]
        metas = [chunk_metadata(c, meta) for c in chunks]
        pages = [Page(number=None, text=c.text) for c in chunks]
        t1 = time.perf_counter()
        index.catalog.replace_document(root, meta, doc_id, pages, chunks, terms, metas)
        t2 = time.perf_counter()
        t_make += t1 - t0
        t_catalog += t2 - t1
        pending_ids += [c.id for c in chunks]
        pending_vecs += vecs
        pending_texts += [c.text for c in chunks]
        pending_metas += metas
        if not with_vectors:
            pending_ids, pending_vecs, pending_texts, pending_metas = [], [], [], []
        elif len(pending_ids) >= 1000 or doc_start + CHUNKS_PER_DOC >= stop:
            t3 = time.perf_counter()
            index.store.upsert(pending_ids, np.vstack(pending_vecs), pending_texts, pending_metas)
            t_store += time.perf_counter() - t3
            pending_ids, pending_vecs, pending_texts, pending_metas = [], [], [], []
        if d % 100 == 0:
            log(f"  {doc_start + CHUNKS_PER_DOC} / {stop} chunks written")
    return {"make_s": t_make, "catalog_s": t_catalog, "store_s": t_store}


class Precomputed:
    """Query vectors computed by the parent, looked up by text: the probe's 'embedder'."""

    def __init__(self, model_id: str, vectors: dict[str, np.ndarray]) -> None:
        self.model_id = model_id
        self.dim = len(next(iter(vectors.values())))
        self._vectors = vectors

    def embed(self, texts: list[str], *, is_query: bool = False) -> np.ndarray:
        return np.vstack([self._vectors[t] for t in texts])


class NoVectors:
    """Stands for the vector store at sizes built without vectors: no dense candidates."""

    def query(self, vector: Any, k: int, where: Any = None) -> list[tuple[str, float]]:
        return []

    def similarities(self, vector: Any, ids: list[str]) -> dict[str, float]:
        return {}

    def present(self, ids: list[str]) -> set[str]:
        return set()


class MemoryView:
    """The former in-memory lexical view, rebuilt as it was: every chunk's id, metadata,
    text, and a BM25 matrix over the stored terms."""

    def __init__(self, index: Index) -> None:
        rows = index.catalog._conn().execute(
            "SELECT id, terms, meta, text FROM chunks ORDER BY doc_id, ordinal"
        ).fetchall()
        self.ids = [r[0] for r in rows]
        self.metas = [json.loads(r[2]) for r in rows]
        self.texts = [r[3] for r in rows]
        self.bm25 = BM25(r[1].split() for r in rows)
        self.position = {cid: i for i, cid in enumerate(self.ids)}


def memory_retrieve(index: Index, view: MemoryView, query: str, k: int) -> dict[str, float]:
    """The former retrieve() over a MemoryView (no filters), with its timings."""
    settings = index.settings
    t0 = time.perf_counter()
    terms = analyze(expand_query(query))
    scores = view.bm25.scores(terms)
    top = np.argsort(-scores, kind="stable")[: settings.candidates]
    lexical = [view.ids[p] for p in top if scores[p] > 0]
    t1 = time.perf_counter()
    vector = index.embedder.embed([query], is_query=True)[0]
    t2 = time.perf_counter()
    dense = [cid for cid, _ in index.store.query(vector, settings.candidates)
             if cid in view.position]
    t3 = time.perf_counter()
    fused = rrf_fuse([(dense, settings.dense_weight), (lexical, settings.lexical_weight)],
                     k=settings.rrf_k, limit=k)
    _ = [(view.texts[view.position[c]], view.metas[view.position[c]]) for c, _ in fused]
    t4 = time.perf_counter()
    return {"retrieve": (t4 - t0) * 1000, "lexical": (t1 - t0) * 1000,
            "embed": (t2 - t1) * 1000, "dense": (t3 - t2) * 1000}


def probe(args: argparse.Namespace) -> None:
    """One app-instance start on an existing index: RSS, first query, warm queries.

    With ``--probe-embedder`` the process also loads the configured embedder and embeds
    every question itself (a whole instance); otherwise the parent's vectors are used."""
    rss_python = rss_mb()
    payload = np.load(args.probe_vectors, allow_pickle=False)
    questions = [str(q) for q in payload["questions"]]
    vectors = {q: payload["vectors"][i] for i, q in enumerate(questions)}
    t0 = time.perf_counter()
    settings = get_settings(index_dir=args.index, embedder=args.embedder,
                            chroma_url=args.chroma_url)
    embedder: Any = (make_embedder(args.embedder) if args.probe_embedder
                     else Precomputed(str(payload["model_id"]), vectors))
    index = Index(settings, embedder=embedder)
    index.store  # noqa: B018 - open the Chroma client and collection, as the app's start does
    if args.probe_no_dense:
        index._store = NoVectors()  # type: ignore[assignment]
    open_ms = (time.perf_counter() - t0) * 1000
    rss_start = rss_mb()
    views: list[MemoryView] = []

    def one(q: str) -> dict[str, float]:
        if args.probe == "memory":
            if not views:  # built on the first query, as the former catalog.view() was
                views.append(MemoryView(index))
            return memory_retrieve(index, views[0], q, args.k)
        return retrieve(index, q, k=args.k).timings_ms

    t0 = time.perf_counter()
    one(questions[0])
    first = (time.perf_counter() - t0) * 1000
    totals: list[float] = []
    parts: dict[str, list[float]] = {"lexical": [], "dense": [], "fusion": []}
    for _ in range(2):  # every question twice: 2 x --queries warm timings
        for q in questions:
            timing = one(q)
            totals.append(timing["retrieve"])
            for name in parts:
                parts[name].append(timing.get(name, 0.0))
    print(json.dumps({
        "mode": args.probe,
        "embedder": args.embedder if args.probe_embedder else None,
        "open_ms": round(open_ms, 1),
        "rss_python_mb": round(rss_python, 0),
        "rss_start_mb": round(rss_start, 0),
        "first_query_ms": round(first, 1),
        "retrieve_ms": summary_ms(totals),
        "parts_p50_ms": {n: round(statistics.median(v), 2) for n, v in parts.items()},
        "parts_p95_ms": {n: round(percentile(v, 95), 2) for n, v in parts.items()},
        "rss_end_mb": round(rss_mb(), 0),
        # file-backed pages (mmapped tables, e.g. fast-e5's word rows): shared, reclaimable
        "rss_end_file_mb": round(rss_mb("RssFile"), 0),
        "rss_peak_mb": round(rss_mb("VmHWM"), 0),
    }))


def run_probe(
    args: argparse.Namespace, mode: str, vectors_path: Path, dense: bool,
    with_embedder: bool = False,
) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--probe", mode, "--probe-vectors", str(vectors_path),
           "--index", str(args.index), "--embedder", args.embedder, "--k", str(args.k)]
    if not dense:
        cmd.append("--probe-no-dense")
    if with_embedder:
        cmd.append("--probe-embedder")
    if args.chroma_url:
        cmd += ["--chroma-url", args.chroma_url]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        log(f"probe {mode} failed: {done.stderr[-2000:]}")
        return {"mode": mode, "error": done.stderr[-500:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def embedder_rss(spec: str) -> dict[str, float]:
    """RSS of a process holding only the embedder, after one query: constant in corpus size."""
    code = ("import json, time; from assistant.embedding.embedders import make_embedder; "
            f"from common import rss_mb; e = make_embedder({spec!r}); t = time.perf_counter(); "
            "e.embed(['Quelle est la capitale ?'], is_query=True); "
            "print(json.dumps({'rss_mb': round(rss_mb(), 0), "
            "'first_embed_ms': round((time.perf_counter() - t) * 1000, 1)}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, cwd=Path(__file__).parent,
                          env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    if done.returncode != 0:
        return {"error": done.stderr[-300:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def replicate(index_dir: Path, factor: int) -> dict[str, float]:
    """Multiply an existing catalog by ``factor`` in SQL (chunks, documents and postings
    copied with new ids; document frequencies and corpus statistics scaled): the lexical
    side of a much larger index without going through ingest. Vectors are not copied."""
    conn = sqlite3.connect(index_dir / "catalog.sqlite3", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA cache_size=-262144")
    t0 = time.perf_counter()
    top = conn.execute("SELECT MAX(n) FROM lex_chunks").fetchone()[0]
    conn.execute("BEGIN")
    for k in range(1, factor):
        conn.execute("INSERT INTO documents SELECT doc_id || '-r' || ?, root, source || '-r' || ?, "
                     "sha256, meta, n_pages, n_chunks, indexed_at FROM documents "
                     "WHERE doc_id NOT LIKE '%-r%'", (k, k))
        conn.execute("INSERT INTO chunks SELECT id || '-r' || ?, doc_id || '-r' || ?, ordinal, "
                     "text, terms, meta FROM chunks WHERE id NOT LIKE '%-r%'", (k, k))
        conn.execute("INSERT INTO lex_chunks (n, id, dl) SELECT n + ? * ?, id || '-r' || ?, dl "
                     "FROM lex_chunks WHERE n <= ?", (k, top, k, top))
        conn.execute("INSERT INTO lex_postings SELECT t, n + ? * ?, tf, dl FROM lex_postings "
                     "WHERE n <= ? ORDER BY t, n", (k, top, top))
        log(f"  replica {k + 1} / {factor}")
    conn.execute("UPDATE lex_terms SET df = df * ?", (factor,))
    conn.execute("UPDATE lex_stats SET value = value * ?", (factor,))
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return {"replicate_s": round(time.perf_counter() - t0, 1)}


def results(
    args: argparse.Namespace,
    base: list[tuple[str, str, list[str]]],
    embed_s: float,
    questions: list[str],
    rows: list[dict[str, Any]],
    *,
    partial: bool,
    embedder_mem: dict[str, float],
) -> dict[str, Any]:
    return {
        "benchmark": "scale",
        "partial": partial,
        "method": METHOD,
        "embedder": args.embedder,
        "embedder_process": embedder_mem,
        "chroma": args.chroma_url or "embedded",
        "base_chunks": len(base),
        "base_embed_s": round(embed_s, 1),
        "base_embed_chunks_per_s": round(len(base) / embed_s, 2) if embed_s else None,
        "noise": args.noise,
        "queries": len(questions),
        "k": args.k,
        "sizes": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__ + "\n\n" + METHOD)
    parser.add_argument("--sizes", default="1000,10000,100000",
                        help="comma-separated chunk counts, increasing (default 1000,10000,100000)")
    parser.add_argument("--memory-max", type=int, default=100_000,
                        help="also measure the former in-memory view up to this size")
    parser.add_argument("--base", type=int, default=1000,
                        help="distinct piaf chunks embedded with the real model (default 1000)")
    parser.add_argument("--embedder", default=get_settings().embedder,
                        help="embedder spec (default: the settings default, fast-e5)")
    parser.add_argument("--noise", type=float, default=0.2,
                        help="relative norm of the gaussian noise added to copied vectors")
    parser.add_argument("--queries", type=int, default=30, help="questions timed (default 30)")
    parser.add_argument("--k", type=int, default=5, help="hits per query (default 5)")
    parser.add_argument("--index", type=Path, default=CACHE_DIR / "scale-index",
                        help="index folder, emptied first (default .cache/bench/scale-index)")
    parser.add_argument("--chroma-url", default=None,
                        help="a running Chroma server for the vectors (default: embedded)")
    parser.add_argument("--keep", action="store_true", help="keep the index folder afterwards")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--replicate", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--probe", choices=["disk", "memory"], help=argparse.SUPPRESS)
    parser.add_argument("--probe-vectors", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--probe-no-dense", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--probe-embedder", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--with-embedder", action="store_true",
                        help="also probe each size as a whole instance: the configured "
                        "embedder loaded in the measured process, embedding the questions")
    parser.add_argument("--vectors-max", type=int, default=1_000_000,
                        help="write vectors to Chroma up to this size only; larger sizes "
                        "measure the lexical side and the catalog alone (default: all)")
    args = parser.parse_args()
    if args.probe:
        probe(args)
        return
    if args.replicate:
        # Lexical side only, on a --keep index: x FACTOR in SQL, then one 'disk' probe.
        info = replicate(args.index, args.replicate)
        info["disk"] = run_probe(args, "disk", CACHE_DIR / "scale-queries.npz", False)
        if args.with_embedder:
            info["disk_embedder"] = run_probe(args, "disk", CACHE_DIR / "scale-queries.npz",
                                              False, with_embedder=True)
        info["catalog_mb"] = round((args.index / "catalog.sqlite3").stat().st_size / 1e6, 1)
        print(json.dumps(info))
        return

    if not (PIAF / "docs").is_dir():
        parser.error(f"{PIAF}/docs is missing: this benchmark needs the piaf-wikipedia data")
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    if not sizes or sizes[0] <= 0 or sizes[-1] > 1_000_000:
        parser.error("--sizes must be positive counts up to 1,000,000")
    questions = []
    with (PIAF / "questions.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                questions.append(json.loads(line)["question"])
            if len(questions) >= args.queries:
                break

    t0 = time.perf_counter()
    base = base_chunks(args.base)
    chunk_s = time.perf_counter() - t0
    vectors, embed_s = base_vectors(base, args.embedder)
    log(f"base: {len(base)} chunks (chunked in {chunk_s:.1f} s, embedded in {embed_s:.1f} s)")
    embedder = make_embedder(args.embedder)
    vectors_path = CACHE_DIR / "scale-queries.npz"
    np.savez(vectors_path, questions=np.array(questions),
             vectors=embedder.embed(questions, is_query=True), model_id=embedder.model_id)
    embedder_mem = embedder_rss(args.embedder)
    log(f"embedder process alone: {embedder_mem}")

    if args.index.exists():
        shutil.rmtree(args.index)
    settings = get_settings(index_dir=args.index, embedder=args.embedder,
                            chroma_url=args.chroma_url)
    index = Index(settings, embedder=embedder)
    rows: list[dict[str, Any]] = []
    written = 0
    for size in sizes:
        log(f"growing the index from {written} to {size} chunks...")
        t_build = time.perf_counter()
        with_vectors = size <= args.vectors_max
        parts = grow(index, base, vectors, written, size, args.noise, with_vectors)
        build_s = time.perf_counter() - t_build
        written = size
        index.catalog._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        log(f"measuring at {size} chunks...")
        result: dict[str, Any] = {
            "size": size,
            "chunks_in_catalog": index.catalog.counts()[1],
            "vectors_in_store": index.store.count(),
            "build_s": round(build_s, 1),
            "build_parts_s": {k: round(v, 1) for k, v in parts.items()},
            "index_mb": round(dir_size_mb(args.index), 1),
            "catalog_mb": round(settings.catalog_path.stat().st_size / 1e6, 1),
            "dense": with_vectors,
            "disk": run_probe(args, "disk", vectors_path, with_vectors),
        }
        if args.with_embedder:
            result["disk_embedder"] = run_probe(args, "disk", vectors_path, with_vectors,
                                                with_embedder=True)
        if size <= args.memory_max:
            result["memory"] = run_probe(args, "memory", vectors_path, with_vectors)
        rows.append(result)
        partial = results(args, base, embed_s, questions, rows, partial=True,
                          embedder_mem=embedder_mem)
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        (RESULTS_DIR / "scale.partial.json").write_text(json.dumps(partial, indent=2) + "\n")
        log(f"  {size}: {json.dumps(result)}")
    if not args.keep:
        shutil.rmtree(args.index, ignore_errors=True)
    data = results(args, base, embed_s, questions, rows, partial=False, embedder_mem=embedder_mem)
    (RESULTS_DIR / "scale.partial.json").unlink(missing_ok=True)
    body = []
    for r in rows:
        for mode in ("disk", "disk_embedder", "memory"):
            m = r.get(mode)
            if not m or "error" in m:
                continue
            body.append([
                r["size"], mode.replace("_", " + "), r["build_s"] if mode == "disk" else "",
                r["index_mb"] if mode == "disk" else "", m["open_ms"], m["rss_start_mb"],
                m["first_query_ms"], m["retrieve_ms"]["p50"], m["retrieve_ms"]["p95"],
                "/".join(str(m["parts_p50_ms"].get(n, 0.0))
                         for n in ("lexical", "dense", "fusion")),
                m["rss_end_mb"],
            ])
    text = table(
        ["chunks", "lexical", "build (s) +incr", "disk (MB)", "open (ms)", "RSS after start (MB)",
         "first query (ms)", "warm p50 (ms)", "warm p95 (ms)", "lex/dense/fusion p50 (ms)",
         "RSS after queries (MB)"],
        body,
    )
    text = (f"Scale — {len(base)} base chunks embedded by {args.embedder}, "
            f"{len(questions)} queries (vectors precomputed), k={args.k}, Chroma "
            f"{data['chroma']}\nembedder process alone: {embedder_mem}\n\n{text}\n\n"
            "build = time to grow the index to this size from the previous one; open = "
            "opening catalog and Chroma collection at start (and loading the embedder, for "
            "'disk + embedder'); first query includes building the view, for 'memory', and "
            "the embedder's first query, for 'disk + embedder'.")
    write_results("scale", data, args.json, text)


if __name__ == "__main__":
    main()
