"""Load test: N concurrent chat sessions against the running web app, over its HTTP API.

Each session is its own ``gradio_client.Client`` (its own Gradio session) and asks Q
questions in turn through the chat endpoint (``api_name="ask"`` in ui.py), the way a user
waiting for each answer would. Reports errors, p50/p95/max latency and throughput.

    python benchmarks/load.py --url http://127.0.0.1:7860
    python benchmarks/load.py --start --index .cache/bench/ask-index-fast-e5 --sessions 20
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from common import PROJECT_ROOT, log, summary_ms, table, write_results

QUESTIONS: list[str] = [
    "Quels sont les critères d'éligibilité à PVD ?",
    "Comment est financé le chef de projet ?",
    "Qu'est-ce qu'une ORT ?",
    "Quelles sont les missions du chef de projet PVD ?",
    "Quel est le rôle d'Agate auprès des communes ?",
    "Combien de temps a-t-on pour signer la convention-cadre ORT ?",
    "Quelles aides de l'Anah dans le cadre d'une OPAH-RU ?",
    "À quoi sert le Club Petites villes de demain ?",
    "Que doit contenir la convention d'adhésion ?",
    "Quelles communes de Savoie sont Petites villes de demain ?",
    "Le manager de commerce est-il subventionné ?",
    "Que se passe-t-il après 2026 pour le programme ?",
]
MAX_SESSIONS = 200
MAX_QUESTIONS = 50


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, deadline: float, proc: subprocess.Popen | None = None) -> None:
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the app exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url.rstrip("/") + "/healthz", timeout=5) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise TimeoutError(f"{url} not ready in time")


def start_app(index: Path, port: int, log_path: Path) -> tuple[subprocess.Popen, Path]:
    """`assistant serve` on 127.0.0.1:port over a copy of ``index`` (the copy is written to,
    e.g. feedback tables; the cached index stays untouched)."""
    work = Path(tempfile.mkdtemp(prefix="pvd-load-"))
    shutil.copytree(index, work / "index", ignore=shutil.ignore_patterns("ingest.lock"))
    exe = Path(sys.executable).with_name("assistant")
    cmd = [str(exe), "serve", "--host", "127.0.0.1", "--port", str(port),
           "--index", str(work / "index")]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "ANONYMIZED_TELEMETRY": "False", "GRADIO_ANALYTICS_ENABLED": "False",
           # corpus dir with files would trigger an ingest only if the index were empty
           "ASSISTANT_CACHE_DIR": str(work / "cache")}
    out = log_path.open("w")
    proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)
    return proc, work


def session(sid: int, url: str, n_questions: int, stop: threading.Event,
            results: list[dict[str, Any]], lock: threading.Lock) -> None:
    from gradio_client import Client

    try:
        client = Client(url, verbose=False)
    except Exception as exc:
        with lock:
            results.append({"session": sid, "q": -1, "ok": False, "ms": 0.0,
                            "error": f"connect: {type(exc).__name__}: {exc}"})
        return
    for q in range(n_questions):
        if stop.is_set():
            return
        question = QUESTIONS[(sid * n_questions + q) % len(QUESTIONS)]
        t0 = time.perf_counter()
        row: dict[str, Any] = {"session": sid, "q": q, "question": question}
        try:
            out = client.predict(question, [], api_name="/ask")
            history = out[0] if isinstance(out, (list, tuple)) else None
            answered = bool(history) and isinstance(history, list) and any(
                (m.get("role") == "assistant") for m in history if isinstance(m, dict))
            row.update(ok=answered, error="" if answered else f"no answer in {str(out)[:200]}",
                       refused="pvd-refusal" in str(history[-1]) if answered else False)
        except Exception as exc:
            row.update(ok=False, error=f"{type(exc).__name__}: {str(exc)[:300]}")
        row["ms"] = (time.perf_counter() - t0) * 1000
        row["end"] = time.perf_counter()
        with lock:
            results.append(row)
    try:
        client.close()
    except Exception:
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:7860")
    parser.add_argument("--start", action="store_true",
                        help="Start `assistant serve` on a free port (needs --index).")
    parser.add_argument("--index", type=Path, default=None,
                        help="Index folder for --start (copied to a temp folder first).")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--questions", type=int, default=3, help="Questions per session.")
    parser.add_argument("--timeout", type=float, default=600.0, help="Global timeout (s).")
    parser.add_argument("--json", action="store_true", help="Print JSON instead of the table.")
    args = parser.parse_args()
    sessions = max(1, min(args.sessions, MAX_SESSIONS))
    n_q = max(1, min(args.questions, MAX_QUESTIONS))
    deadline = time.monotonic() + args.timeout

    proc = None
    work = None
    url = args.url
    startup_s = None
    if args.start:
        if args.index is None or not args.index.is_dir():
            parser.error("--start needs --index DIR (an existing index folder)")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log_path = Path(tempfile.gettempdir()) / f"pvd-load-{port}.log"
        log(f"starting the app on {url} (log: {log_path})")
        t0 = time.perf_counter()
        proc, work = start_app(args.index.resolve(), port, log_path)
    if not url.startswith(("http://127.0.0.1", "http://localhost")):
        parser.error("--url must point to 127.0.0.1 / localhost")
    try:
        wait_ready(url, deadline, proc)
        if proc is not None:
            startup_s = round(time.perf_counter() - t0, 1)
            log(f"app ready in {startup_s} s")
        # Warm-up: the first question loads the model and builds the lexical view.
        from gradio_client import Client

        warm = Client(url, verbose=False)
        t_w = time.perf_counter()
        warm.predict(QUESTIONS[0], [], api_name="/ask")
        warm_ms = round((time.perf_counter() - t_w) * 1000, 1)
        log(f"warm-up question: {warm_ms} ms; {sessions} sessions x {n_q} questions")

        results: list[dict[str, Any]] = []
        lock = threading.Lock()
        stop = threading.Event()
        t_start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=sessions) as pool:
            futures = [pool.submit(session, i, url, n_q, stop, results, lock)
                       for i in range(sessions)]
            _, pending = wait(futures, timeout=max(1.0, deadline - time.monotonic()))
            timed_out = bool(pending)
            if timed_out:
                stop.set()
                log(f"global timeout: {len(pending)} sessions still running")
        wall = time.perf_counter() - t_start
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)

    ok = [r["ms"] for r in results if r["ok"]]
    errors = [r for r in results if not r["ok"]]
    expected = sessions * n_q
    data = {
        "url": url if not args.start else "(started) " + url,
        "sessions": sessions,
        "questions_per_session": n_q,
        "expected": expected,
        "completed": len(results),
        "answered": len(ok),
        "refused": sum(1 for r in results if r.get("refused")),
        "errors": len(errors),
        "error_samples": [r["error"] for r in errors[:5]],
        "timed_out": timed_out,
        "wall_s": round(wall, 2),
        "throughput_qps": round(len(ok) / wall, 3) if wall else 0.0,
        "latency_ms": summary_ms(ok),
        "warmup_ms": warm_ms,
        "startup_s": startup_s,
        "queue_concurrency": 8,
    }
    lat = data["latency_ms"]
    text = table(
        ["sessions", "questions", "answered", "errors", "p50 ms", "p95 ms", "max ms",
         "questions/s", "wall s"],
        [[sessions, expected, len(ok), len(errors), lat["p50"], lat["p95"], lat["max"],
          data["throughput_qps"], data["wall_s"]]],
    )
    if errors:
        text += "\n\nErrors:\n" + "\n".join(f"- {e}" for e in data["error_samples"])
    write_results("load", data, args.json, text)
    return 1 if errors or timed_out else 0


if __name__ == "__main__":
    sys.exit(main())
