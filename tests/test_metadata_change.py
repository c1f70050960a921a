"""Metadata changes are changes: visibility, communes, type... rewritten in both stores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli.main import cli
from assistant.indexing.index import Index
from tests.conftest import write_md
from tests.test_index import CountingHash

TEXTS = {
    "programme/eligibilite.md": "# Éligibilité\n\nLes communes de moins de 20 000 habitants "
    "qui exercent des fonctions de centralité peuvent être retenues par le préfet.",
    "suivi/modane.md": "# Modane\n\nModane et Fourneaux ont signé leur convention-cadre "
    "le 29 mars 2023.",
    "programme/manager.md": "# Manager de commerce\n\nLe manager de commerce est financé "
    "par une subvention forfaitaire de 20 000 euros par an.",
}
# The manifest lists two files; --visibility applies to the third, as it says.
MANIFEST = """
[[document]]
file = "suivi/modane.md"
type = "suivi"
communes = ["73157"]
visibility = "public"

[[document]]
file = "programme/manager.md"
type = "programme"
visibility = "public"
"""
QUESTIONS = [
    {"id": "q1", "question": "Quelles communes peuvent être retenues, avec combien d'habitants ?",
     "expected_sources": ["programme/eligibilite.md"]},
    {"id": "q2", "question": "Quel seuil de 20 000 habitants pour la centralité ?",
     "expected_sources": ["programme/eligibilite.md"]},
    {"id": "q3", "question": "Quand Modane a-t-elle signé sa convention-cadre ?",
     "expected_sources": ["suivi/modane.md"]},
    {"id": "q4", "question": "Comment le manager de commerce est-il financé ?",
     "expected_sources": ["programme/manager.md"]},
]
TARGET = "programme/eligibilite.md"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    for name, text in TEXTS.items():
        write_md(root, name, text)
    (root / "manifest.toml").write_text(MANIFEST, encoding="utf-8")
    return root


@pytest.fixture
def runner(monkeypatch) -> CliRunner:
    monkeypatch.setenv("ASSISTANT_EMBEDDER", "hash")
    return CliRunner()


def _citations(runner: CliRunner, index: Path, tmp_path: Path, role: str) -> dict[str, int]:
    questions, rows = tmp_path / "questions.jsonl", tmp_path / "rows.jsonl"
    questions.write_text("\n".join(json.dumps(q) for q in QUESTIONS), encoding="utf-8")
    out = runner.invoke(cli, ["eval", "--questions", str(questions), "--role", role,
                              "--index", str(index), "--out", str(rows), "--json"])
    assert out.exit_code == 0, out.output
    counts: dict[str, int] = {}
    for line in rows.read_text(encoding="utf-8").splitlines():
        for source in json.loads(line)["cited"]:
            counts[source] = counts.get(source, 0) + 1
    return counts


def test_visibility_change_is_an_update_and_hides_the_document(runner, corpus, tmp_path):
    index = tmp_path / "ix"
    out = runner.invoke(cli, ["ingest", str(corpus), "--index", str(index), "--json"])
    assert json.loads(out.stdout)["added"] == 3
    assert _citations(runner, index, tmp_path, "public").get(TARGET, 0) >= 1

    out = runner.invoke(cli, ["ingest", str(corpus), "--visibility", "interne",
                              "--index", str(index), "--json"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    assert (report["added"], report["updated"], report["unchanged"]) == (0, 1, 2)

    public = _citations(runner, index, tmp_path, "public")
    assert public.get(TARGET, 0) == 0
    assert public.get("suivi/modane.md", 0) >= 1  # the others are still answered
    assert _citations(runner, index, tmp_path, "agate").get(TARGET, 0) >= 1

    # A later ingest without --visibility keeps it: the document never reverts to public.
    out = runner.invoke(cli, ["ingest", str(corpus), "--index", str(index), "--json"])
    assert json.loads(out.stdout)["unchanged"] == 3
    assert _citations(runner, index, tmp_path, "public").get(TARGET, 0) == 0


def _chroma_metas(index: Index, source: str) -> list[dict]:
    got = index.store._collection.get(where={"source": source}, include=["metadatas"])
    return got["metadatas"]


def test_metadata_rewrite_reaches_both_stores_without_embedding(corpus, hash_settings):
    counting = CountingHash()
    index = Index(hash_settings, embedder=counting)
    index.ingest([corpus])
    counting.passages = 0
    vectors = index.store._collection.get(where={"source": "suivi/modane.md"},
                                          include=["embeddings"])["embeddings"]

    edited = MANIFEST.replace('communes = ["73157"]', 'communes = ["73010"]').replace(
        'type = "suivi"', 'type = "convention"')
    (corpus / "manifest.toml").write_text(edited, encoding="utf-8")
    report = index.ingest([corpus], visibility="commune")
    assert (report.updated, report.unchanged) == (2, 1)  # modane (manifest), eligibilite
    assert counting.passages == 0  # no passage embedded again

    modane = _chroma_metas(index, "suivi/modane.md")
    assert modane and all(
        m["doc_type"] == "convention" and m.get("c_73010") and "c_73157" not in m
        and m["communes"] == "73010" for m in modane
    )
    assert all(m["visibility"] == "commune"
               for m in _chroma_metas(index, "programme/eligibilite.md"))
    after = index.store._collection.get(where={"source": "suivi/modane.md"},
                                        include=["embeddings"])["embeddings"]
    assert (after == vectors).all()

    doc = next(d for d in index.catalog.documents() if d.source == "suivi/modane.md")
    assert doc.meta["doc_type"] == "convention" and doc.meta["communes"] == ["73010"]
    chunks = index.catalog.chunks_of(doc.doc_id)
    assert chunks and all(c["meta"]["c_73010"] and "c_73157" not in c["meta"] for c in chunks)
    assert all(c["meta"]["doc_type"] == "convention" for c in chunks)
    assert index.store.all_ids() == index.catalog.chunk_ids()


def test_a_new_title_is_embedded_again(corpus, hash_settings):
    """The title heads every embedded passage: a new one means new vectors."""
    counting = CountingHash()
    index = Index(hash_settings, embedder=counting)
    index.ingest([corpus])
    counting.passages = 0
    (corpus / "manifest.toml").write_text(
        MANIFEST.replace('type = "suivi"', 'type = "suivi"\ntitle = "Modane : convention"'),
        encoding="utf-8")
    report = index.ingest([corpus])
    assert report.updated == 1 and counting.passages >= 1
    assert all(m["title"] == "Modane : convention"
               for m in _chroma_metas(index, "suivi/modane.md"))


def test_dense_hits_obey_the_catalog_metadata(corpus, hash_settings):
    """A chunk whose Chroma metadata still says public (a crash between the two rewrites)
    is not returned to the public once the catalog says interne."""
    from assistant.search.access import Role
    from assistant.search.retrieval import retrieve

    index = Index(hash_settings)
    index.ingest([corpus])
    doc = next(d for d in index.catalog.documents() if d.source == TARGET)
    meta = dict(doc.meta)
    from assistant.types import DocumentMeta

    stale = DocumentMeta(**{**meta, "visibility": "interne"})
    metas = {c["id"]: {**c["meta"], "visibility": "interne"}
             for c in index.catalog.chunks_of(doc.doc_id)}
    index.catalog.update_metadata(stale, doc.doc_id, metas)  # catalog only
    hits = retrieve(index, "communes de moins de 20 000 habitants centralité", k=5,
                    role=Role.parse("public")).hits
    assert TARGET not in {h.source for h in hits}
