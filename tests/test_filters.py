"""Filters: Chroma ``where`` and the lexical predicate agree, on a real Chroma collection."""

import pytest

from assistant.errors import ConfigError
from assistant.indexing.store import chunk_metadata
from assistant.search.access import Role
from assistant.search.filters import Filters
from assistant.types import Chunk, DocumentMeta


def _meta(communes=(), doc_type="suivi", year=2023, visibility="public"):
    meta = DocumentMeta(source="x.pdf", title="X", doc_type=doc_type, communes=list(communes),
                        year=year, visibility=visibility)
    chunk = Chunk("c", "d", "t", [], 1, 1, 0, 1, 0)
    return chunk_metadata(chunk, meta)


def test_commune_filter_with_general_documents():
    f = Filters(communes=["73157"], include_general=True)
    assert f.matches(_meta(["73157", "73117"]))
    assert f.matches(_meta([], doc_type="programme"))
    assert not f.matches(_meta(["73303"]))
    assert f.to_chroma() == {"$or": [{"c_73157": True}, {"general": True}]}


def test_strict_commune_filter():
    f = Filters(communes=["73157"])
    assert not f.matches(_meta([]))
    assert f.to_chroma() == {"c_73157": True}


def test_type_and_year_range():
    f = Filters(doc_types=["etude"], year_min=2022, year_max=2023)
    assert f.matches(_meta(doc_type="etude", year=2022))
    assert not f.matches(_meta(doc_type="etude", year=2024))
    assert not f.matches(_meta(doc_type="suivi", year=2022))
    where = f.to_chroma()
    assert where == {"$and": [{"doc_type": {"$in": ["etude"]}}, {"year": {"$gte": 2022}},
                              {"year": {"$lte": 2023}}]}


def test_unknown_year_excluded_by_range():
    assert not Filters(year_max=2030).matches(_meta(year=None))


def test_bad_values_are_named():
    with pytest.raises(ConfigError, match="'rapport'"):
        Filters(doc_types=["rapport"])
    with pytest.raises(ConfigError, match="2025 to 2020"):
        Filters(year_min=2025, year_max=2020)


def test_empty_filter():
    assert Filters().is_empty() and Filters().to_chroma() is None


# --- parity on a real Chroma collection ------------------------------------------------------

_DOCS = [  # (communes, epci, doc_type, year, visibility)
    ([], [], "programme", 2021, "public"),
    (["73157"], [], "suivi", 2023, "public"),
    (["73157"], [], "etude", 2022, "commune"),
    (["73303"], [], "etude", 2024, "interne"),
    (["73157", "73117"], ["200068997"], "convention", None, "public"),
    (["73117"], [], "suivi", 2023, "commune"),
    ([], [], "glossaire", None, "interne"),
    (["73303"], [], "suivi", 2020, "commune"),
]

_CASES = {
    "none": Filters(),
    "commune": Filters(communes=["73157"]),
    "commune+general": Filters(communes=["73157"], include_general=True),
    "epci": Filters(epci=["200068997"]),
    "commune or epci": Filters(communes=["73303"], epci=["200068997"]),
    "types": Filters(doc_types=["etude", "suivi"]),
    "from 2022": Filters(year_min=2022),
    "to 2023": Filters(year_max=2023),
    "2021-2023": Filters(year_min=2021, year_max=2023),
    "public only": Filters(visibilities=["public"]),
    "no visibility": Filters(visibilities=[]),
    "role public": Filters(role=Role.parse("public")),
    "role elu Modane": Filters(role=Role.parse("elu:73157")),
    "role elu Ugine": Filters(role=Role.parse("elu:73303")),
    "role agate": Filters(role=Role.parse("agate")),
    "elu + commune + types + years": Filters(
        communes=["73157"], include_general=True, doc_types=["suivi", "etude", "programme"],
        year_min=2021, year_max=2023, role=Role.parse("elu:73157"),
    ),
}


@pytest.fixture(scope="module")
def chroma_docs(tmp_path_factory):
    from assistant.embedding.embedders import HashEmbedder
    from assistant.indexing.store import VectorStore, open_client

    client = open_client(tmp_path_factory.mktemp("chroma"), None)
    store = VectorStore(client, HashEmbedder(), "hash")
    metas = {}
    for i, (communes, epci, doc_type, year, visibility) in enumerate(_DOCS):
        meta = DocumentMeta(source=f"d{i}.pdf", title=f"D{i}", doc_type=doc_type,
                            communes=communes, epci=epci, year=year, visibility=visibility)
        chunk = Chunk(f"c{i}", f"d{i}", f"texte {i}", [], 1, 1, 0, 1, 0)
        metas[chunk.id] = chunk_metadata(chunk, meta)
    ids = list(metas)
    store.upsert(ids, store.embedder.embed(ids), ids, list(metas.values()))
    return client.get_collection(store.name), metas


@pytest.mark.parametrize("case", list(_CASES))
def test_chroma_where_and_lexical_predicate_return_the_same_chunks(chroma_docs, case):
    collection, metas = chroma_docs
    f = _CASES[case]
    lexical = {cid for cid, meta in metas.items() if f.matches(meta)}
    dense = set(collection.get(where=f.to_chroma(), include=[])["ids"])
    assert dense == lexical
    if case not in ("none", "role agate"):  # each other filter drops some chunks
        assert lexical != set(metas)
