"""Warm ask latency with single chunks and with passages, alternated in one process.

The 50 questions of `ask_latency.py` over its bench index (build it with that script
first), every question asked once in each setting to warm the caches, then `--rounds`
rounds alternating `passage_chunks=1` and the default: the load of the moment weighs on
both alike.
"""

from __future__ import annotations

import argparse
import statistics
import time

from ask_latency import QUESTIONS
from common import CACHE_DIR, log, table, write_results

from assistant import service
from assistant.settings import get_settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    base = get_settings()
    name = base.embedder.replace(":", "_").replace("/", "_")
    base = base.model_copy(update={"index_dir": CACHE_DIR / f"ask-index-{name}"})
    if not (base.index_dir / "catalog.sqlite3").is_file():
        raise SystemExit(f"no index in {base.index_dir}: run benchmarks/ask_latency.py first")
    settings = {"single chunks": base.model_copy(update={"passage_chunks": 1}),
                f"passages <= {base.passage_chunks}": base}
    for question in QUESTIONS:
        for s in settings.values():
            service.ask(s, question, llm=False)
    times: dict[str, list[float]] = {name: [] for name in settings}
    for round_ in range(args.rounds):
        log(f"round {round_ + 1}/{args.rounds}")
        for name, s in settings.items():
            for question in QUESTIONS:
                t0 = time.perf_counter()
                service.ask(s, question, llm=False)
                times[name].append((time.perf_counter() - t0) * 1000)
    rows = []
    for name, values in times.items():
        ordered = sorted(values)
        rows.append([name, round(statistics.median(ordered), 1),
                     round(ordered[round(0.95 * (len(ordered) - 1))], 1), round(ordered[-1], 1)])
    write_results("passage_latency", {"benchmark": "passage_latency", "rounds": args.rounds,
                                      "results": {r[0]: r[1:] for r in rows}},
                  args.json, table(["warm ask (ms)", "p50", "p95", "max"], rows))


if __name__ == "__main__":
    main()
