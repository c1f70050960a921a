"""Filters: Chroma ``where`` and the lexical predicate agree."""

import pytest

from assistant.errors import ConfigError
from assistant.indexing.store import chunk_metadata
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
