"""Incremental ingest: both indexes in step; bad files never stop the rest."""

from pathlib import Path

import pytest

from assistant.errors import IndexBusyError
from assistant.indexing.index import Index
from assistant.indexing.lexical import analyze
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


def _texts(index: Index) -> list[str]:
    rows = index.catalog.chunk_rows(sorted(index.catalog.chunk_ids()))
    return [text for text, _ in rows.values()]


def _consistent(index: Index) -> bool:
    return index.store.all_ids() == index.catalog.chunk_ids()


def test_a_new_way_of_reading_files_reads_them_again(tmp_path: Path, hash_settings,
                                                     monkeypatch):
    """An index built before the loaders read tables row by row re-reads its unchanged
    files once (``TEXT_EXTRACTION``), then skips them again."""
    import assistant.indexing.index as index_module

    root = _corpus(tmp_path)
    Index(hash_settings).ingest([root])
    monkeypatch.setattr(index_module, "TEXT_EXTRACTION", "99")
    index = Index(hash_settings)
    assert (index.ingest([root]).updated, index.ingest([root]).unchanged) == (3, 3)


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
    assert any("ORT" in t for t in _texts(index))
    assert not any("29 mars" in t for t in _texts(index))
    assert index.catalog.lexical_search(analyze("ORT"), 5)
    assert not index.catalog.lexical_search(analyze("mars"), 5)

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
    with index.lock(), pytest.raises(IndexBusyError, match="une autre indexation est en cours"):
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
    from assistant.embedding.embedders import HashEmbedder

    index = Index(hash_settings)
    index.ingest([_corpus(tmp_path)])
    other = Index(hash_settings, embedder=HashEmbedder(dim=64))
    other.embedder.model_id = "hash-64"
    assert other.store.name != index.store.name
    assert other.store.count() == 0


class CountingHash:
    """HashEmbedder that records how many passages it was asked to embed."""

    def __init__(self) -> None:
        from assistant.embedding.embedders import HashEmbedder

        self.inner = HashEmbedder()
        self.model_id, self.dim = self.inner.model_id, self.inner.dim
        self.passages = 0

    def embed(self, texts: list[str], *, is_query: bool = False):
        if not is_query:
            self.passages += len(texts)
        return self.inner.embed(texts, is_query=is_query)


def _long_doc(edit: str = "") -> str:
    sections = [
        f"## Section {n}\n\n" + " ".join(f"mot{n}x{i}" for i in range(120)) for n in range(6)
    ]
    sections[3] += edit
    return "# Étude\n\n" + "\n\n".join(sections)


@pytest.mark.parametrize("cache", [True, False])
def test_edited_document_embeds_only_changed_chunks(tmp_path: Path, hash_settings, cache):
    root = tmp_path / "docs"
    write_md(root, "etude.md", _long_doc())
    settings = hash_settings.model_copy(update={"embed_cache": cache})
    counting = CountingHash()
    index = Index(settings, embedder=counting)
    index.ingest([root])
    total = counting.passages
    assert total >= 6
    counting.passages = 0
    write_md(root, "etude.md", _long_doc(" Une phrase ajoutée à la section trois."))
    report = index.ingest([root])
    assert report.updated == 1 and _consistent(index)
    if cache:
        assert 1 <= counting.passages < total / 2  # only the edited section's chunks
        assert settings.embed_cache_path.is_file()
    else:
        assert counting.passages == total
    assert any("phrase ajoutée" in t for t in _texts(index))


def test_prefetch_keeps_each_failure_on_its_own_file(tmp_path: Path, hash_settings):
    """Files are parsed one ahead on a thread; an error still belongs to its file."""
    import threading

    from assistant.ingest.loaders import load_document

    root = _corpus(tmp_path)
    write_md(root, "d.md", "# D\n\nUn quatrième document sur les friches.")
    threads: dict[str, str] = {}

    def loader(path: Path):
        threads[path.name] = threading.current_thread().name
        if path.name == "b.md":
            raise ValueError("b.md est illisible")
        return load_document(path)

    report = Index(hash_settings).ingest([root], loader=loader)
    assert [(f.source, f.error) for f in report.failed] == [
        ("suivi/b.md", "ValueError: b.md est illisible")
    ]
    assert report.added == 3
    assert any(name.startswith("ingest-prefetch") for name in threads.values())
    again = Index(hash_settings).ingest([root], loader=loader)
    assert again.unchanged == 3 and len(again.failed) == 1


def test_open_index_never_changes_the_shared_settings(tmp_path: Path, hash_settings):
    from assistant import service
    from assistant.indexing.index import open_index

    root = _corpus(tmp_path)
    tiny = hash_settings.model_copy(update={"max_file_mb": 0.00001, "candidates": 7})
    shared = open_index(hash_settings)
    assert open_index(tiny) is shared  # one Index per folder and model
    assert shared.settings is hash_settings  # the second caller did not overwrite it
    # The caller's own knobs still apply to its call: every file is over its size limit.
    report = service.ingest(tiny, [root])
    assert report.added == 0 and len(report.failed) == 3
    assert all("trop volumineux" in f.error for f in report.failed)
    assert service.ingest(hash_settings, [root]).added == 3
