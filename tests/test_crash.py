"""Crash safety: an ingest killed with SIGKILL never leaves the two indexes apart."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.indexing.index import Index
from assistant.settings import get_settings
from tests.conftest import write_md

pytestmark = pytest.mark.slow

N_FILES = 40


def _corpus(root: Path) -> Path:
    for i in range(N_FILES):
        paragraphs = "\n\n".join(
            f"Le document {i} décrit l'action {j} de revitalisation du centre-bourg numéro {i}, "
            f"avec un budget de {1000 * i + j} euros et un calendrier sur {j + 1} ans."
            for j in range(20)
        )
        write_md(root, f"doc-{i:03d}.md", f"# Document {i}\n\n{paragraphs}")
    return root


def _env() -> dict[str, str]:
    return {**os.environ, "ASSISTANT_EMBEDDER": "hash"}


def _ingest(docs: Path, index: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "ingest", str(docs), "--index", str(index),
         "--json"],
        env=_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )


def _consistent(index_dir: Path) -> tuple[bool, int]:
    index = Index(get_settings(index_dir=index_dir, embedder="hash"))
    store, catalog = index.store.all_ids(), index.catalog.chunk_ids()
    return store == catalog, len(catalog)


def test_sigkill_at_ten_points_never_leaves_an_inconsistent_index(tmp_path):
    docs = _corpus(tmp_path / "docs")
    reference = tmp_path / "reference"
    t0 = time.monotonic()
    proc = _ingest(docs, reference)
    out, _ = proc.communicate(timeout=600)
    duration = time.monotonic() - t0
    total = json.loads(out)["chunks"]
    assert proc.returncode == 0 and total > N_FILES

    index = tmp_path / "index"
    inconsistent_after_restart = 0
    for point in range(10):
        # Kill points spread over a whole ingest, start-up included.
        delay = duration * (0.15 + 0.085 * point)
        proc = _ingest(docs, index)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        # The index still answers right after the kill ...
        search = subprocess.run(
            [sys.executable, "-m", "assistant.cli", "search", "revitalisation", "--index",
             str(index), "--json"], env=_env(), capture_output=True, text=True, timeout=120,
        )
        assert search.returncode == 0, search.stderr
        json.loads(search.stdout)
        # ... and the next ingest brings both stores to the same chunk ids.
        finish = _ingest(docs, index)
        out, _ = finish.communicate(timeout=600)
        assert finish.returncode == 0
        same, count = _consistent(index)
        inconsistent_after_restart += not same
        assert count == total
    assert inconsistent_after_restart == 0


def test_second_concurrent_ingest_is_refused(tmp_path):
    docs = _corpus(tmp_path / "docs")
    index_dir = tmp_path / "index"
    holder = Index(get_settings(index_dir=index_dir, embedder="hash"))
    with holder.lock():
        second = subprocess.run(
            [sys.executable, "-m", "assistant.cli", "ingest", str(docs), "--index",
             str(index_dir)], env=_env(), capture_output=True, text=True, timeout=120,
        )
    assert second.returncode == 3  # distinct from a failed file (1)
    assert "une autre indexation est en cours" in second.stderr
    assert _consistent(index_dir) == (True, 0)
