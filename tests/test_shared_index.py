"""One embedded index, two processes: the app keeps answering through a CLI ingest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from assistant.errors import IndexUnavailableError
from assistant.indexing.index import Index
from tests.conftest import write_md

# The "app": a long-lived process asking through the service functions, as the web app
# does (one open_index per process), one JSON line per answer or error.
APP = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from assistant import service
    from assistant.search.access import Role
    from assistant.settings import get_settings

    settings = get_settings(index_dir=Path(sys.argv[1]), embedder="hash")
    stop = Path(sys.argv[2])
    public = Role.parse("public")
    questions = ["revitalisation du centre-bourg", "zanzibar"]
    n = 0
    while not stop.exists():
        q = questions[n % 2]
        n += 1
        row = {"t": time.time(), "q": q}
        try:
            if n % 3:
                row["via"] = "search"
                row["sources"] = [h.source for h in service.search(settings, q, role=public)]
            else:
                row["via"] = "ask"
                answer = service.ask(settings, q, role=public)
                row["sources"] = [c.source for c in answer.citations]
            row["ok"] = True
        except Exception as exc:  # recorded: the test counts them
            row["ok"], row["error"] = False, f"{type(exc).__name__}: {exc}"
        print(json.dumps(row), flush=True)
        time.sleep(0.05)
""")


def _env() -> dict[str, str]:
    return {**os.environ, "ASSISTANT_EMBEDDER": "hash"}


def _long(i: int) -> str:
    body = " ".join(
        f"Le centre-bourg numéro {i} engage l'action {j} de revitalisation." for j in range(400)
    )
    return f"# Document {i}\n\n{body}"


def _cli_ingest(docs: Path, index: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "ingest", str(docs), "--index", str(index),
         "--json"], env=_env(), capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _rows(out: Path) -> list[dict]:
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]


@pytest.mark.slow
def test_app_keeps_answering_through_a_cli_ingest(tmp_path: Path):
    docs, index = tmp_path / "docs", tmp_path / "index"
    for i in range(40):
        write_md(docs, f"d{i:02d}.md", _long(i))
    assert _cli_ingest(docs, index)["added"] == 40

    out, stop = tmp_path / "app.jsonl", tmp_path / "stop"
    app = subprocess.Popen([sys.executable, "-c", APP, str(index), str(stop)], env=_env(),
                           stdout=out.open("w"), stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while sum(r["ok"] for r in _rows(out)) < 6:
            assert app.poll() is None and time.monotonic() < deadline, "the app never answered"
            time.sleep(0.2)
        # Changed (shorter: chunks deleted), removed and new files, all in one CLI ingest.
        for i in range(20):
            write_md(docs, f"d{i:02d}.md", f"# Document {i}\n\nCourt résumé {i} : revitalisation.")
        for i in range(20, 30):
            (docs / f"d{i:02d}.md").unlink()
        write_md(docs, "nouveau.md", "# Nouveau\n\nLe mot zanzibar apparaît dans ce document.")
        started = time.time()
        report = _cli_ingest(docs, index)
        ended = time.time()
        assert (report["added"], report["updated"], report["removed"]) == (1, 20, 10)
        while sum(r["t"] > ended for r in _rows(out)) < 12:
            assert app.poll() is None and time.monotonic() < deadline + 120
            time.sleep(0.2)
    finally:
        stop.touch()
        app.wait(timeout=60)
    rows = _rows(out)
    errors = [r["error"] for r in rows if not r["ok"]]
    assert errors == [], errors[:3]
    assert sum(started <= r["t"] <= ended for r in rows) >= 1  # answered during the ingest
    # Searches see the new document at once (asks ran too, without error: whether a one-word
    # question is answered is the answerer's business, not the shared index's).
    after = [r for r in rows if r["t"] > ended and r["q"] == "zanzibar" and r["via"] == "search"]
    assert after and all("nouveau.md" in r["sources"] for r in after)
    assert any(r["via"] == "ask" for r in rows if r["t"] > ended)


def _indexed(tmp_path: Path, hash_settings) -> Index:
    write_md(tmp_path / "docs", "a.md", "# A\n\nLa revitalisation du centre-bourg de Modane.")
    index = Index(hash_settings)
    index.ingest([tmp_path / "docs"])
    return index


def _failing_query(*args, **kwargs):
    from chromadb.errors import InternalError

    raise InternalError("Error executing plan: Internal error: Error finding id")


def test_a_store_that_stays_unreadable_is_a_french_error(tmp_path, hash_settings, monkeypatch):
    from assistant.indexing.store import VectorStore

    index = _indexed(tmp_path, hash_settings)
    monkeypatch.setattr(VectorStore, "query", _failing_query)
    with pytest.raises(IndexUnavailableError, match="réessayez dans un instant"):
        index.dense_query([0.0] * index.embedder.dim, 5)


def test_during_another_process_ingest_search_falls_back_to_lexical(
    tmp_path, hash_settings, monkeypatch
):
    from assistant.indexing.store import VectorStore
    from assistant.search.retrieval import retrieve

    index = _indexed(tmp_path, hash_settings)
    monkeypatch.setattr(VectorStore, "query", _failing_query)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (hash_settings.index_dir / "ingest.lock").write_text(f"{other.pid}\n")
        assert index.ingest_running_elsewhere()
        hits = retrieve(index, "revitalisation Modane", k=3).hits
        assert [h.source for h in hits] == ["a.md"]
    finally:
        other.kill()
        other.wait()
    assert not index.ingest_running_elsewhere()  # a dead holder's pid does not count


def test_a_committed_ingest_elsewhere_reopens_the_store(tmp_path, hash_settings):
    index = _indexed(tmp_path, hash_settings)
    before = index.store
    assert index.refresh() is False and index.store is before
    Index(hash_settings).catalog.bump_ingest_generation()  # what another process does
    assert index.refresh() is True and index.store is not before


def test_reopening_while_other_threads_query_costs_no_error(tmp_path, hash_settings):
    """The web app answers on several threads: a reopen closes the client under them."""
    import threading

    from assistant.search.access import Role
    from assistant.search.retrieval import retrieve

    index = _indexed(tmp_path, hash_settings)
    writer = Index(hash_settings)
    errors: list[str] = []
    found: list[int] = []
    stop = threading.Event()

    def ask() -> None:
        while not stop.is_set():
            try:
                hits = retrieve(index, "revitalisation Modane", k=3, role=Role.parse("public"))
                found.append(len(hits.hits))
            except Exception as exc:  # counted: the test asserts there are none
                errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=ask) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(60):
            writer.catalog.bump_ingest_generation()
            time.sleep(0.02)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert errors == [] and found and all(n == 1 for n in found)


def test_a_client_closed_mid_call_is_retried_on_a_reopened_one(tmp_path, hash_settings,
                                                                monkeypatch):
    """Score fusion reads stored vectors after the dense query: a reopen by another thread
    in between closes the client it holds (chromadb raises AttributeError then)."""
    index = _indexed(tmp_path, hash_settings)
    first = index.store
    ids = sorted(first.all_ids())[:2]

    def closed(*args, **kwargs):
        raise AttributeError("'RustBindingsAPI' object has no attribute 'bindings'")

    monkeypatch.setattr(first, "similarities", closed)
    vector = index.embedder.embed(["revitalisation"], is_query=True)[0]
    scores = index.similarities(vector, ids)
    assert set(scores) == set(ids) and index.store is not first
