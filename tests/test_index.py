"""Incremental ingest: both indexes in step; bad files never stop the rest."""

from pathlib import Path

import pytest

from assistant.errors import IndexBusyError
from assistant.index import Index
from tests.conftest import write_md

TEXTS = {
    "programme/a.md": "# Programme\n\nLe programme aide les communes de moins de 20 000 habitants.",
    "suivi/b.md": "# Modane\n\nModane a signé sa convention-cadre le 29 mars 2023.",
    "c.txt": "Le manager de commerce reçoit une subvention forfaitaire de 20 000 euros par an.",
}


def _corpus(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    for name, text in TEXTS.items():
        write_md(root, name, text)
    return root


def _consistent(index: Index) -> bool:
    return index.store.all_ids() == index.catalog.chunk_ids()


def test_incremental_ingest(tmp_path: Path, hash_settings):
    root = _corpus(tmp_path)
    index = Index(hash_settings)
    first = index.ingest([root])
    assert (first.added, first.updated, first.unchanged, first.removed) == (3, 0, 0, 0)
    assert first.chunks == 3 and not first.failed
    assert _consistent(index)

    again = index.ingest([root])
    assert (again.added, again.updated, again.unchanged) == (0, 0, 3)

    (root / "suivi/b.md").write_text("# Modane\n\nModane a signé son ORT.", encoding="utf-8")
    edited = index.ingest([root])
    assert (edited.updated, edited.unchanged) == (1, 2)
    assert any("ORT" in t for t in index.catalog.view().texts)
    assert not any("29 mars" in t for t in index.catalog.view().texts)

    doomed = {c for d in index.catalog.documents() if d.source == "c.txt"
              for c in index.catalog.chunk_ids(d.doc_id)}
    (root / "c.txt").unlink()
    removed = index.ingest([root])
    assert removed.removed == 1 and removed.unchanged == 2
    assert not doomed & index.store.all_ids()
    assert not doomed & index.catalog.chunk_ids()
    assert _consistent(index)


def test_broken_file_is_reported_and_others_indexed(tmp_path: Path, hash_settings):
    root = _corpus(tmp_path)
    (root / "broken.pdf").write_bytes(b"%PDF-1.7\n garbage")
    (root / "empty.md").write_bytes(b"")
    report = Index(hash_settings).ingest([root])
    assert report.added == 3
    assert {f.source for f in report.failed} == {"broken.pdf", "empty.md"}
    assert all(f.error for f in report.failed)


def test_second_ingest_is_refused_while_one_runs(tmp_path: Path, hash_settings):
    index = Index(hash_settings)
    with index.lock(), pytest.raises(IndexBusyError, match="another ingest"):
        Index(hash_settings).ingest([_corpus(tmp_path)])


def test_reconcile_after_a_crash_between_the_two_stores(tmp_path: Path, hash_settings):
    root = _corpus(tmp_path)
    index = Index(hash_settings)
    index.ingest([root])
    # Simulate a crash: vectors written for a chunk the catalog never recorded,
    # and a catalog chunk whose vector is gone.
    import numpy as np

    index.store.upsert(["orphan"], np.ones((1, index.embedder.dim)), ["x"], [{"source": "x"}])
    victim = sorted(index.catalog.chunk_ids())[0]
    index.store.delete([victim])
    assert not _consistent(index)
    report = index.ingest([root])
    assert _consistent(index)
    assert report.added == 1 and report.unchanged == 2


def test_model_switch_uses_another_collection(tmp_path: Path, hash_settings):
    from assistant.embeddings import HashEmbedder

    index = Index(hash_settings)
    index.ingest([_corpus(tmp_path)])
    other = Index(hash_settings, embedder=HashEmbedder(dim=64))
    other.embedder.model_id = "hash-64"
    assert other.store.name != index.store.name
    assert other.store.count() == 0
