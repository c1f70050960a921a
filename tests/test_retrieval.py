"""retrieve(): both rankings under the same filters, fusion modes, the one-index guard."""

from pathlib import Path

import pytest

from assistant.indexing.index import Index
from assistant.search.access import Role
from assistant.search.filters import Filters
from assistant.search.passages import best_chunks
from assistant.search.retrieval import retrieve
from assistant.settings import get_settings
from tests.conftest import write_md

MANIFEST = """
[[document]]
file = "note.md"
title = "Note interne"
type = "autre"
visibility = "interne"

[[document]]
file = "programme.md"
title = "Programme"
type = "programme"
visibility = "public"

[[document]]
file = "glossaire.md"
title = "Glossaire"
type = "glossaire"
visibility = "public"
"""
TEXTS = {
    "note.md": "# Note\n\nLe plan de financement confidentiel de la halle est en négociation.",
    "programme.md": "# Programme\n\nLe programme finance un chef de projet et la halle du marché.",
    "glossaire.md": "# Glossaire\n\nORT : opération de revitalisation de territoire, un outil.",
    "autre.md": "# Autre\n\nLes horaires de la piscine municipale changent en été.",
}


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Index:
    root = tmp_path_factory.mktemp("retrieval")
    docs = root / "docs"
    for name, text in TEXTS.items():
        write_md(docs, name, text)
    (docs / "manifest.toml").write_text(MANIFEST, encoding="utf-8")
    opened = Index(get_settings(embedder="hash", index_dir=root / "index"))
    assert not opened.ingest([docs]).failed
    return opened


def _sources(index: Index, query: str, **kwargs) -> list[str]:
    return [h.source for h in retrieve(index, query, **kwargs).hits]


def test_the_matching_passage_comes_first_in_both_fusion_modes(index: Index):
    for fusion in ("score", "rrf"):
        index.settings = index.settings.model_copy(update={"fusion": fusion})
        hits = retrieve(index, "horaires de la piscine municipale", k=2).hits
        assert hits[0].source == "autre.md", fusion
        assert hits[0].lexical_score and hits[0].dense_score is not None
        assert [h.rank for h in hits] == [0, 1]
        assert hits[0].score >= hits[1].score
    index.settings = index.settings.model_copy(update={"fusion": "score"})


def test_role_and_filters_apply_to_both_rankings(index: Index):
    query = "plan de financement confidentiel de la halle"
    assert "note.md" in _sources(index, query, k=4)
    public = _sources(index, query, k=4, role=Role("public"))
    assert "note.md" not in public and "programme.md" in public
    r = retrieve(index, query, k=4, role=Role("public"))
    assert r.searched_chunks == 3  # the interne note is not searched
    assert retrieve(index, query, k=4).searched_chunks == 4
    assert _sources(index, query, k=4, filters=Filters(doc_types=["glossaire"])) == [
        "glossaire.md"]


def test_boosted_type_moves_up(index: Index):
    query = "programme halle opération territoire"
    plain = _sources(index, query, k=4)
    boosted = _sources(index, query, k=4, boost_types=["glossaire"])
    assert boosted.index("glossaire.md") <= plain.index("glossaire.md")
    assert boosted[0] == "glossaire.md"


def test_a_chunk_missing_from_the_vector_store_is_never_returned(index: Index):
    doomed = next(h.chunk_id for h in retrieve(index, "piscine municipale", k=1).hits)
    index.store.delete([doomed])
    try:
        for fusion in ("score", "rrf"):
            index.settings = index.settings.model_copy(update={"fusion": fusion})
            ids = [h.chunk_id for h in retrieve(index, "horaires de la piscine", k=4).hits]
            assert doomed not in ids, fusion
    finally:
        index.settings = index.settings.model_copy(update={"fusion": "score"})
        index.reconcile()


def test_bad_k_is_refused(tmp_path: Path, index: Index):
    with pytest.raises(ValueError, match="-1"):
        retrieve(index, "halle", k=-1)


def test_chunks_of_one_document_come_back_as_one_passage(tmp_path: Path):
    sections = [f"## Partie {n}\n\n" + " ".join(
        [f"La halle du marché, partie {n}, accueille les producteurs locaux."] * 8)
        for n in range(1, 4)]
    docs = tmp_path / "docs"
    write_md(docs, "halle.md", "# Halle\n\n" + "\n\n".join(sections))
    write_md(docs, "piscine.md", "# Piscine\n\nLes horaires de la piscine changent en été.")
    opened = Index(get_settings(embedder="hash", index_dir=tmp_path / "index"))
    assert not opened.ingest([docs]).failed
    assert opened.catalog._conn().execute("SELECT count(*) FROM chunks").fetchone()[0] >= 4

    query = "halle du marché producteurs locaux"
    single = retrieve(opened, query, k=3,
                      settings=opened.settings.model_copy(update={"passage_chunks": 1})).hits
    assert [h.source for h in single] == ["halle.md"] * 3
    merged = retrieve(opened, query, k=3,
                      settings=opened.settings.model_copy(update={"passage_chunks": 6})).hits
    assert [h.source for h in merged] == ["halle.md", "piscine.md"]  # a place freed
    first = merged[0]
    assert first.metadata["chunks"] >= 3 and first.chunk_id == single[0].chunk_id
    order = [first.text.find(f"partie {n}") for n in range(1, 4)]
    assert all(p >= 0 for p in order) and order == sorted(order)  # document order
    # The passage keeps its chunks, best first, at their places in the fused ranking:
    # the chunks single-chunk search returns.
    assert [c.rank for c in first.chunks] == sorted(c.rank for c in first.chunks)
    assert [c.chunk_id for c in best_chunks(merged, 3)] == [h.chunk_id for h in single]
    assert [(c.chunk_id, c.rank) for h in single for c in h.chunks] == [
        (h.chunk_id, h.rank) for h in single]
