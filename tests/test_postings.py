"""The on-disk BM25 index: incremental writes, one transaction with the catalog, parity."""

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from assistant.indexing import postings
from assistant.indexing.catalog import Catalog
from assistant.indexing.lexical import BM25, analyze
from assistant.indexing.store import chunk_metadata
from assistant.search.filters import Filters
from assistant.types import Chunk, DocumentMeta, Page

DOCS = {
    "a": ["Le manager de commerce reçoit une subvention forfaitaire de 20 000 euros.",
          "La convention d'adhésion est signée par la commune et l'intercommunalité."],
    "b": ["Le chef de projet est cofinancé par l'ANCT et la Banque des Territoires.",
          "L'opération de revitalisation de territoire (ORT) donne des droits nouveaux.",
          "Les études pré-opérationnelles sont financées par la Banque des Territoires."],
    "c": ["Modane a signé sa convention-cadre ORT en mars 2023.",
          "Le comité de projet suit le plan d'action de la commune de Modane."],
}
QUERIES = [
    "subvention du manager de commerce", "convention ORT Modane", "Banque des Territoires",
    "chef de projet cofinancement", "plan d'action comité", "commune", "rien à voir ici",
]


def _write(catalog: Catalog, doc: str, texts: list[str], visibility: str = "public") -> None:
    meta = DocumentMeta(source=f"{doc}.md", title=doc.upper(), visibility=visibility)
    chunks = [Chunk(id=f"{doc}-{i}", doc_id=doc, text=t, heading_path=[], page_start=None,
                    page_end=None, char_start=0, char_end=len(t), ordinal=i)
              for i, t in enumerate(texts)]
    catalog.replace_document("/r", meta, doc, [Page(number=None, text=" ".join(texts))], chunks,
                             [analyze(t) for t in texts], [chunk_metadata(c, meta) for c in chunks])


def _reference(catalog: Catalog) -> tuple[list[str], BM25]:
    """The former in-memory BM25 over the catalog's chunks, as the old view built it."""
    rows = catalog._conn().execute(
        "SELECT id, terms FROM chunks ORDER BY doc_id, ordinal").fetchall()
    return [r[0] for r in rows], BM25(r[1].split() for r in rows)


def _assert_parity(catalog: Catalog) -> None:
    ids, bm25 = _reference(catalog)
    for query in QUERIES:
        terms = analyze(query)
        scores = bm25.scores(terms)
        expected = {ids[i]: float(scores[i]) for i in range(len(ids)) if scores[i] > 0}
        got = dict(catalog.lexical_search(terms, 100))
        assert got.keys() == expected.keys(), query
        assert [got[c] for c in expected] == pytest.approx(list(expected.values()), rel=1e-5)
        ranked = [c for c, _ in catalog.lexical_search(terms, 100)]
        assert [got[c] for c in ranked] == sorted(got.values(), reverse=True)
        for term in terms:
            assert catalog.view().bm25.idf_of(term) == pytest.approx(bm25.idf_of(term), rel=1e-5)


def test_scores_equal_the_in_memory_bm25(tmp_path: Path):
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    for doc, texts in DOCS.items():
        _write(catalog, doc, texts)
    _assert_parity(catalog)
    top = catalog.lexical_search(analyze("subvention du manager de commerce"), 1)
    assert [c for c, _ in top] == ["a-0"]
    assert catalog.lexical_search(analyze("rien à voir ici"), 5) == []
    assert catalog.view().bm25.idf_of("inconnu") == pytest.approx(np.log(1 + 7.5 / 0.5))


def test_update_and_remove_keep_statistics_exact(tmp_path: Path):
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    for doc, texts in DOCS.items():
        _write(catalog, doc, texts)
    _write(catalog, "b", ["Le chef de projet anime la revitalisation.", "Texte nouveau."])
    _assert_parity(catalog)
    assert not catalog.lexical_search(analyze("études pré-opérationnelles"), 5)
    catalog.delete_document("a")
    _assert_parity(catalog)
    assert not catalog.lexical_search(analyze("manager"), 5)
    conn = catalog._conn()
    n_chunks = conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    assert postings.corpus_stats(conn)[0] == n_chunks == 4
    # no term left with a zero document frequency, no orphan posting
    assert conn.execute("SELECT COUNT(*) FROM lex_terms WHERE df <= 0").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM lex_postings WHERE n NOT IN "
                        "(SELECT n FROM lex_chunks)").fetchone()[0] == 0
    catalog.delete_chunks(["c-0"])  # forgets the whole document
    assert postings.corpus_stats(conn) == (2, pytest.approx(
        sum(len(analyze(t)) for t in ["Le chef de projet anime la revitalisation.",
                                      "Texte nouveau."]) / 2))


def test_a_failed_write_leaves_catalog_and_postings_as_before(tmp_path: Path, monkeypatch):
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    for doc, texts in DOCS.items():
        _write(catalog, doc, texts)
    before = catalog.lexical_search(analyze("convention ORT Modane"), 10)

    def boom(conn, rows):
        list(rows)
        raise sqlite3.OperationalError("disk full")

    monkeypatch.setattr(postings, "add_chunks", boom)
    with pytest.raises(sqlite3.OperationalError, match="disk full"):
        _write(catalog, "c", ["Tout autre texte sur Modane."])
    monkeypatch.undo()
    assert catalog.lexical_search(analyze("convention ORT Modane"), 10) == before
    assert catalog.chunk_ids("c") == {"c-0", "c-1"}
    _assert_parity(catalog)


def test_filtered_search_reads_past_the_first_page(tmp_path: Path):
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    for i in range(30):
        _write(catalog, f"p{i:02d}", [f"commune {'commune ' * (i % 5)}texte {i}"] * 10)
    _write(catalog, "secret", ["commune interne"], visibility="interne")
    _write(catalog, "zz", ["une commune publique parmi d'autres"], visibility="public")
    keep = Filters(visibilities=["interne"]).matches
    assert [c for c, _ in catalog.lexical_search(analyze("commune"), 3, keep)] == ["secret-0"]
    assert catalog.count_chunks(keep) == 1
    assert catalog.count_chunks() == 302


def test_an_older_catalog_is_indexed_on_open(tmp_path: Path):
    path = tmp_path / "catalog.sqlite3"
    catalog = Catalog(path)
    for doc, texts in DOCS.items():
        _write(catalog, doc, texts)
    expected = catalog.lexical_search(analyze("Banque des Territoires"), 10)
    conn = sqlite3.connect(path)
    conn.execute("DELETE FROM lex_postings")
    conn.execute("DELETE FROM lex_stats")
    # a write by a version that did not know the postings: the generation moves alone
    conn.execute("UPDATE kv SET value = 'x' WHERE key = 'generation'")
    conn.commit()
    conn.close()
    assert Catalog(path).lexical_search(analyze("Banque des Territoires"), 10) == expected


def test_common_terms_past_the_budget_still_score_exactly(tmp_path: Path):
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    for doc, texts in DOCS.items():
        _write(catalog, doc, texts)
    conn = catalog._conn()
    terms = analyze("territoire Modane")  # df 3 and 2
    exact = dict(postings.search(conn, terms, 10))
    # a budget of one posting takes the candidates from the rarest term alone...
    pruned = postings.search(conn, terms, 3, budget=1)
    assert {c for c, _ in pruned} == {"c-0", "c-1"}  # the chunks about Modane
    assert "b-0" in exact  # (territoire alone, missed: the documented approximation)
    # ...but every term counts in the scores returned, best first
    assert [s for _, s in pruned] == pytest.approx([exact[c] for c, _ in pruned])
    assert [s for _, s in pruned] == sorted((s for _, s in pruned), reverse=True)
    keep = Filters(visibilities=["public"]).matches
    assert postings.search(conn, terms, 3, allow=keep, meta_of=catalog.chunk_metas,
                           budget=1)[0][0] == pruned[0][0]


@pytest.mark.parametrize(("a", "b", "near"), [
    ("subvent", "subvant", True), ("subvent", "subvet", True), ("subvent", "subvente", True),
    ("subvent", "suvbent", True), ("chomag", "chantag", False), ("budget", "budget", True),
    ("abc", "abcde", False),
])
def test_one_edit(a: str, b: str, near: bool):
    assert postings._one_edit(a, b) is near


def test_near_terms_finds_typos_of_indexed_terms(tmp_path: Path):
    conn = sqlite3.connect(tmp_path / "p.sqlite3")
    conn.executescript(postings.SCHEMA)
    postings.add_chunks(conn, [("c1", analyze("La subvention finance la dépollution du site"))])
    assert postings.near_terms(conn, analyze("subvantion")[0]) == analyze("subvention")
    assert postings.near_terms(conn, analyze("chômage")[0]) == []
