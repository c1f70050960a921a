"""Hidden costs: registry load per question, users import, open_index's shared settings.

Usage: PYTHONPATH=TREE .venv/bin/python benchmarks/hidden_costs.py TREE
(TREE: a source tree, e.g. a `git archive` of an older commit, to compare before/after).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ANCT = Path(__file__).resolve().parents[2] / "shared" / "data" / "pvd_communes_anct_2021.csv"


def _import_ms(tree: str, module: str) -> float:
    env = {**os.environ, "PYTHONPATH": tree}
    runs = []
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {module}"], env=env, check=True)
        runs.append((time.perf_counter() - t) * 1000)
    return min(runs)


def main() -> None:
    from assistant import service
    from assistant.communes.registry import Registry, load_registry
    from assistant.settings import get_settings

    tree = sys.argv[1]
    tmp = Path(tempfile.mkdtemp())
    s = get_settings(index_dir=tmp / "index", corpus_dir=tmp / "corpus", embedder="hash")
    registry = Registry.from_csv(Path(tree) / "corpus/registre/communes-pvd-savoie.csv")
    registry.merge(Registry.from_csv(ANCT))  # `assistant communes import` of the national list
    registry.save(s.registry_path)
    times = []
    for _ in range(5):
        t = time.perf_counter()
        loaded = load_registry(s)
        loaded.find_in_text("Où en est Modane ?", prefer_dep="73")
        times.append((time.perf_counter() - t) * 1000)
    print(f"registry ({len(loaded)} communes) load + find per question: first "
          f"{times[0]:.1f} ms, then median {statistics.median(times[1:]):.2f} ms")

    other = s.model_copy(update={"candidates": 7})
    shared = service.open_index(s)
    service.open_index(other)
    print(f"open_index(s) then open_index(other): shared Index.settings.candidates = "
          f"{shared.settings.candidates} (s: 40, other: 7)")

    users = _import_ms(tree, "assistant.web.users")
    access = _import_ms(tree, "assistant.search.access")
    print(f"import assistant.web.users: {users:.0f} ms (import assistant.search.access: "
          f"{access:.0f} ms)")


if __name__ == "__main__":
    main()
