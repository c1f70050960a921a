"""Query latency, lexical-view build time and disk size at 1k / 10k / 100k chunks."""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
from common import (
    CACHE_DIR,
    RESULTS_DIR,
    dir_size_mb,
    log,
    rss_mb,
    summary_ms,
    table,
    write_results,
)

from assistant.embedding.embedders import make_embedder
from assistant.indexing.index import Index, embedding_text
from assistant.indexing.lexical import analyze
from assistant.indexing.store import chunk_metadata
from assistant.ingest.chunking import chunk_document, split_sentences
from assistant.ingest.loaders import load_document
from assistant.ingest.metadata import Manifest, build_meta
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
    "piaf-wikipedia/questions.jsonl, embedded by the real model inside retrieve()."
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
            vecs.append(vectors[b] if copy == 0 else noisy(vectors[b], noise, nrng))
        texts = [embedding_text(c, meta) for c in chunks]
        terms = [analyze(t) for t in texts]
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
        if len(pending_ids) >= 1000 or doc_start + CHUNKS_PER_DOC >= stop:
            t3 = time.perf_counter()
            index.store.upsert(pending_ids, np.vstack(pending_vecs), pending_texts, pending_metas)
            t_store += time.perf_counter() - t3
            pending_ids, pending_vecs, pending_texts, pending_metas = [], [], [], []
        if d % 100 == 0:
            log(f"  {doc_start + CHUNKS_PER_DOC} / {stop} chunks written")
    return {"make_s": t_make, "catalog_s": t_catalog, "store_s": t_store}


def measure(index: Index, questions: list[str], k: int) -> dict[str, Any]:
    """View build (median of 3 rebuilds), first query, then retrieve() over the questions."""
    builds = []
    for _ in range(3):
        index.catalog._view = None  # force a rebuild, as after another process's write
        t0 = time.perf_counter()
        index.catalog.view()
        builds.append((time.perf_counter() - t0) * 1000)
    t0 = time.perf_counter()
    retrieve(index, questions[0], k=k)
    first = (time.perf_counter() - t0) * 1000
    totals: list[float] = []
    parts: dict[str, list[float]] = {"lexical": [], "embed": [], "dense": []}
    for q in questions:
        r = retrieve(index, q, k=k)
        totals.append(r.timings_ms["retrieve"])
        for name in parts:
            parts[name].append(r.timings_ms.get(name, 0.0))
    return {
        "view_build_ms": round(statistics.median(builds), 1),
        "view_build_runs_ms": [round(b, 1) for b in builds],
        "first_query_ms": round(first, 1),
        "retrieve_ms": summary_ms(totals),
        "parts_p50_ms": {n: round(statistics.median(v), 2) for n, v in parts.items()},
        "index_mb": round(dir_size_mb(index.settings.index_dir), 1),
        "rss_mb": round(rss_mb(), 0),
    }


def results(
    args: argparse.Namespace,
    base: list[tuple[str, str, list[str]]],
    embed_s: float,
    questions: list[str],
    rows: list[dict[str, Any]],
    *,
    partial: bool,
) -> dict[str, Any]:
    return {
        "benchmark": "scale",
        "partial": partial,
        "method": METHOD,
        "embedder": args.embedder,
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
    parser.add_argument("--keep", action="store_true", help="keep the index folder afterwards")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()

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

    if args.index.exists():
        shutil.rmtree(args.index)
    settings = get_settings(index_dir=args.index, embedder=args.embedder)
    index = Index(settings)
    index.embedder  # noqa: B018 - load the model before timing anything
    rows: list[dict[str, Any]] = []
    written = 0
    for size in sizes:
        log(f"growing the index from {written} to {size} chunks...")
        t_build = time.perf_counter()
        parts = grow(index, base, vectors, written, size, args.noise)
        build_s = time.perf_counter() - t_build
        written = size
        log(f"measuring at {size} chunks...")
        result = measure(index, questions, args.k)
        result.update(
            size=size,
            chunks_in_catalog=index.catalog.counts()[1],
            vectors_in_store=index.store.count(),
            build_s=round(build_s, 1),
            build_parts_s={k: round(v, 1) for k, v in parts.items()},
        )
        rows.append(result)
        partial = results(args, base, embed_s, questions, rows, partial=True)
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        (RESULTS_DIR / "scale.partial.json").write_text(json.dumps(partial, indent=2) + "\n")
        log(f"  {size}: retrieve p50 {result['retrieve_ms']['p50']} ms, "
            f"view {result['view_build_ms']} ms, build {result['build_s']} s")
    if not args.keep:
        shutil.rmtree(args.index, ignore_errors=True)
    data = results(args, base, embed_s, questions, rows, partial=False)
    (RESULTS_DIR / "scale.partial.json").unlink(missing_ok=True)
    text = table(
        ["chunks", "build (s) +incr", "catalog/store (s)", "view build (ms)", "first query (ms)",
         "retrieve p50 (ms)", "p95 (ms)", "max (ms)", "lex/embed/dense p50 (ms)", "disk (MB)",
         "RSS (MB)"],
        [[r["size"], r["build_s"],
          f"{r['build_parts_s']['catalog_s']}/{r['build_parts_s']['store_s']}",
          r["view_build_ms"], r["first_query_ms"], r["retrieve_ms"]["p50"], r["retrieve_ms"]["p95"],
          r["retrieve_ms"]["max"],
          "/".join(str(r["parts_p50_ms"][n]) for n in ("lexical", "embed", "dense")),
          r["index_mb"], r["rss_mb"]] for r in rows],
    )
    text = (f"Scale — {len(base)} base chunks embedded by {args.embedder} "
            f"({data['base_embed_chunks_per_s']} chunks/s), {len(questions)} queries, "
            f"k={args.k}\n\n{text}\n\nbuild = time to grow the index to this size from the "
            "previous one (cumulative build).")
    write_results("scale", data, args.json, text)


if __name__ == "__main__":
    main()
