"""The linear query adapter: fitting, saving, loading, and what the index does with it."""

from pathlib import Path

import numpy as np
import pytest

from assistant.embedding.adapter import DEFAULT_PATH, QueryAdapter, fit_matrix, load_adapter
from assistant.errors import AssistantError


def _rotated_problem(seed: int = 0, n: int = 40, dim: int = 16):
    """Queries that sit next to the wrong chunk until a rotation is undone."""
    rng = np.random.default_rng(seed)
    chunks = rng.normal(size=(n, dim))
    chunks /= np.linalg.norm(chunks, axis=1, keepdims=True)
    rotation, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    queries = chunks @ rotation.T + 0.05 * rng.normal(size=(n, dim))
    return queries, chunks, [[i] for i in range(n)]


def _top1(queries: np.ndarray, chunks: np.ndarray, matrix: np.ndarray) -> float:
    adapter = QueryAdapter(matrix.astype(np.float32), "m")
    moved = np.stack([adapter.adapt(q) for q in queries])
    return float(np.mean(np.argmax(moved @ chunks.T, axis=1) == np.arange(len(queries))))


def test_fitting_undoes_what_separates_queries_from_their_chunks():
    queries, chunks, positives = _rotated_problem()
    before = _top1(queries, chunks, np.eye(queries.shape[1]))
    matrix = fit_matrix(queries, chunks, positives, shrink=0.0, temperature=0.05, steps=400,
                        learning_rate=0.01)
    assert before < 0.3
    assert _top1(queries, chunks, matrix) > 0.9


def test_shrink_keeps_the_matrix_near_the_identity():
    queries, chunks, positives = _rotated_problem(seed=1)
    loose = fit_matrix(queries, chunks, positives, shrink=0.0, steps=200, learning_rate=0.01)
    tight = fit_matrix(queries, chunks, positives, shrink=10.0, steps=200, learning_rate=0.01)
    eye = np.eye(queries.shape[1])
    assert np.linalg.norm(tight - eye) < np.linalg.norm(loose - eye)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"positives": [[0]]}, "2 queries but 1 positive lists"),
    ({"positives": [[0], []]}, "at least one positive chunk"),
    ({"temperature": 0.0}, "temperature must be > 0, got 0.0"),
])
def test_bad_fitting_input_is_refused_with_the_value(kwargs, message):
    args = {"queries": np.eye(2), "chunks": np.eye(2), "positives": [[0], [1]], **kwargs}
    with pytest.raises(ValueError, match=message):
        fit_matrix(args.pop("queries"), args.pop("chunks"), args.pop("positives"), **args)


def test_saved_adapter_loads_for_its_model_only(tmp_path: Path):
    path = tmp_path / "adapter.npz"
    matrix = np.diag([2.0, 1.0]).astype(np.float32)
    QueryAdapter(matrix, "model-a", frozenset({"sha-1", "sha-2"})).save(path)
    loaded = load_adapter(path, "model-a")
    assert loaded is not None
    assert loaded.corpus == {"sha-1", "sha-2"}
    np.testing.assert_allclose(loaded.adapt(np.array([1.0, 1.0])), np.array([2, 1]) / np.sqrt(5),
                               rtol=1e-6)
    assert load_adapter(path, "model-b") is None
    assert load_adapter(tmp_path / "missing.npz", "model-a") is None


def test_an_unreadable_adapter_says_how_to_fix_it(tmp_path: Path):
    path = tmp_path / "adapter.npz"
    path.write_bytes(b"not a numpy archive")
    with pytest.raises(AssistantError, match="ASSISTANT_QUERY_ADAPTER=false"):
        load_adapter(path, "model-a")


def test_the_shipped_adapter_is_for_the_default_model():
    from assistant.embedding.embedders import make_embedder
    from assistant.settings import get_settings

    model_id = make_embedder(get_settings().embedder).model_id
    adapter = load_adapter(DEFAULT_PATH, model_id)
    assert adapter is not None, f"{DEFAULT_PATH} was not fitted for {model_id}"
    assert adapter.matrix.shape == (384, 384)
    assert len(adapter.corpus) >= 30  # the shipped corpus it was fitted on


def test_the_index_uses_no_adapter_when_told_for_another_model_or_corpus(tmp_path: Path):
    from assistant.indexing.index import Index
    from assistant.settings import get_settings

    assert Index(get_settings(index_dir=tmp_path / "a", embedder="hash")).query_adapter is None
    off = get_settings(index_dir=tmp_path / "b", query_adapter=False)
    assert Index(off).query_adapter is None
    # The default model's adapter, on an index without the shipped corpus (CNIL, PIAF…).
    assert Index(get_settings(index_dir=tmp_path / "c")).query_adapter is None


def test_an_adapter_applies_once_its_corpus_is_indexed(tmp_path: Path, monkeypatch):
    """The web app opens its index, then builds it on first run: the adapter is looked for
    again after the ingest."""
    import hashlib

    from assistant.indexing import index as index_module
    from assistant.indexing.index import Index
    from assistant.settings import get_settings
    from tests.conftest import write_md

    docs = tmp_path / "docs"
    first = write_md(docs, "a.md", "# A\n\nLe chef de projet conduit la revitalisation.")
    write_md(docs, "b.md", "# B\n\nLa convention-cadre vaut opération de revitalisation.")
    shas = {hashlib.sha256(first.read_bytes()).hexdigest(), "0" * 64}
    adapter = QueryAdapter(np.eye(256, dtype=np.float32), "hash-trigram-256", frozenset(shas))
    monkeypatch.setattr(index_module, "load_adapter", lambda path, model_id: adapter)
    index = Index(get_settings(index_dir=tmp_path / "index", embedder="hash"))
    assert index.query_adapter is None  # empty: 0 of the 2 fitted documents
    index.ingest([docs])
    assert index.query_adapter is adapter  # 1 of 2: most of a corpus that changed


def test_fits_asks_for_most_of_the_fitted_corpus():
    adapter = QueryAdapter(np.eye(2, dtype=np.float32), "m", frozenset("abcd"))
    assert not adapter.fits(1)
    assert adapter.fits(2)
    assert QueryAdapter(np.eye(2, dtype=np.float32), "m").fits(0)


def test_an_adapter_in_the_index_folder_is_that_corpus_own(tmp_path: Path):
    """Fitted for another corpus by scripts/fit_query_adapter.py --corpus …: read from the
    index folder before the shipped corpus's."""
    from assistant.embedding.adapter import ADAPTER_NAME
    from assistant.indexing.index import Index
    from assistant.settings import get_settings

    settings = get_settings(index_dir=tmp_path / "index", embedder="hash")
    assert Index(settings).query_adapter is None  # the shipped one is for the e5 model
    QueryAdapter(np.eye(256, dtype=np.float32), "hash-trigram-256").save(
        settings.index_dir / ADAPTER_NAME)
    adapter = Index(settings).query_adapter
    assert adapter is not None and adapter.model_id == "hash-trigram-256"


def test_the_callers_settings_can_turn_the_adapter_off(tmp_path: Path, monkeypatch):
    """retrieve() takes the caller's knobs (fusion, passages): the adapter is one of them."""
    from assistant.indexing import index as index_module
    from assistant.indexing.index import Index
    from assistant.search import retrieval
    from assistant.settings import get_settings
    from tests.conftest import write_md

    docs = tmp_path / "docs"
    write_md(docs, "a.md", "# A\n\nLe chef de projet conduit la revitalisation du bourg.")
    moved = []

    class Recording(QueryAdapter):
        def adapt(self, vector):
            moved.append(1)
            return super().adapt(vector)

    adapter = Recording(np.eye(256, dtype=np.float32), "hash-trigram-256")
    monkeypatch.setattr(index_module, "load_adapter", lambda path, model_id: adapter)
    settings = get_settings(index_dir=tmp_path / "index", embedder="hash")
    index = Index(settings)
    index.ingest([docs])
    retrieval.retrieve(index, "chef de projet", k=1)
    assert moved == [1]
    retrieval.retrieve(index, "chef de projet", k=1,
                       settings=settings.model_copy(update={"query_adapter": False}))
    assert moved == [1]


def test_the_shipped_sentence_adapter_is_for_the_default_model_and_corpus():
    from assistant.embedding.adapter import SENTENCE_DEFAULT_PATH
    from assistant.embedding.embedders import make_embedder
    from assistant.settings import get_settings

    model_id = make_embedder(get_settings().embedder).model_id
    adapter = load_adapter(SENTENCE_DEFAULT_PATH, model_id)
    assert adapter is not None, f"{SENTENCE_DEFAULT_PATH} was not fitted for {model_id}"
    assert adapter.matrix.shape == (384, 384)
    query = load_adapter(DEFAULT_PATH, model_id)
    assert query is not None and adapter.corpus == query.corpus
    assert not np.allclose(adapter.matrix, query.matrix)  # fitted on sentences, not chunks


def test_the_sentence_adapter_is_bound_and_switched_like_the_query_adapter(tmp_path: Path):
    from assistant.embedding.adapter import SENTENCE_ADAPTER_NAME
    from assistant.indexing.index import Index
    from assistant.settings import get_settings

    # The default model's, on an index without the shipped corpus: not used.
    assert Index(get_settings(index_dir=tmp_path / "c")).sentence_adapter is None
    settings = get_settings(index_dir=tmp_path / "index", embedder="hash")
    assert Index(settings).sentence_adapter is None
    QueryAdapter(np.eye(256, dtype=np.float32), "hash-trigram-256").save(
        settings.index_dir / SENTENCE_ADAPTER_NAME)
    index = Index(settings)
    assert index.sentence_adapter is not None
    assert index.query_adapter is None  # each adapter is its own file
    off = settings.model_copy(update={"sentence_adapter": False})
    assert Index(off).sentence_adapter is None


def test_an_unreadable_sentence_adapter_names_its_own_fix(tmp_path: Path):
    from assistant.embedding.adapter import SENTENCE_ADAPTER_NAME

    path = tmp_path / SENTENCE_ADAPTER_NAME
    path.write_bytes(b"not a numpy archive")
    with pytest.raises(AssistantError, match=r"fit_sentence_adapter\.py.*"
                       r"ASSISTANT_SENTENCE_ADAPTER=false"):
        load_adapter(path, "model-a")
