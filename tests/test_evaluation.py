"""Evaluation: question formats, span matching, metrics, the cache key."""

import json
import sys
from pathlib import Path

import pytest

from assistant.errors import ConfigError, DependencyError
from assistant.evaluation.runner import (
    Row,
    corpus_hash,
    eval_cache_key,
    read_questions,
    span_in,
    summarize,
)


def test_reads_gold_and_shared_formats(tmp_path: Path):
    path = tmp_path / "q.jsonl"
    path.write_text(
        json.dumps({"id": "g1", "question": "Q ?", "expected_sources": [],
                    "expected_pages": None, "answer_contains": [], "commune": None}) + "\n"
        + json.dumps({"id": "s1", "question": "Q2 ?", "source": "a.md", "answer": "x y"}) + "\n",
        encoding="utf-8",
    )
    gold, shared = read_questions(path)
    assert gold.sources == [] and shared.sources == ["a.md"] and shared.span == "x y"
    path.write_text("{not json}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"q.jsonl:1"):
        read_questions(path)


def test_span_matching():
    text = "Le poste de chef de projet est cofinancé jusqu'à 75 % par l'ANCT et la Banque."
    assert span_in("CHEF de   projet", text)
    assert not span_in("chef de gare", text)
    # cut by a chunk boundary: 80 % of the words, in order
    assert span_in("poste de chef de projet est cofinancé jusqu'à 75 % par l'Anah", text)
    assert not span_in("cofinancé par la Région Auvergne-Rhône-Alpes et le Département", text)


def _row(rank, refused=False, must=False, contains=(), valid=()):
    return Row("i", "q", [] if must else ["a"], [], rank, None, refused, must, "",
               list(contains), list(valid), [], 10.0)


def test_summary_metrics():
    rows = [_row(0, contains=[True], valid=[True]), _row(2, contains=[False]),
            _row(None, refused=True), _row(None, refused=True, must=True),
            _row(None, must=True)]
    report = summarize(rows)
    assert report["hit@1"] == 0.3333 and report["hit@3"] == 0.6667
    assert report["mrr"] == round((1 + 1 / 3) / 3, 4)
    assert report["refusal"] == {"precision": 0.5, "recall": 0.5}
    assert report["answer_contains"] == 0.5 and report["citation_validity"] == 1.0


def test_cache_key_follows_content_not_hidden_files(tmp_path: Path):
    (tmp_path / "a.md").write_text("un", encoding="utf-8")
    first = corpus_hash(tmp_path, "x")
    (tmp_path / ".hidden.md").write_text("caché", encoding="utf-8")
    assert corpus_hash(tmp_path, "x") == first
    (tmp_path / "a.md").write_text("deux", encoding="utf-8")
    assert corpus_hash(tmp_path, "x") != first
    assert corpus_hash(tmp_path, "y") != corpus_hash(tmp_path, "x")


def test_same_files_in_another_checkout_get_their_own_cached_index(tmp_path: Path):
    # Documents are identified by their path: one cached index for both folders would hold
    # every document twice (the registry's 14 communes summed as 28).
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "doc.md").write_text("même texte", encoding="utf-8")
    assert corpus_hash(tmp_path / "a", "x") == corpus_hash(tmp_path / "b", "x")
    assert eval_cache_key(tmp_path / "a", "x") != eval_cache_key(tmp_path / "b", "x")


def test_dev_and_test_halves_are_fixed_and_disjoint():
    from assistant.evaluation.runner import EvalQuestion, split_questions

    qs = [EvalQuestion(id=f"q{i:03d}", question="?", sources=["a"]) for i in range(101)]
    dev, test = split_questions(qs, "dev"), split_questions(qs, "test")
    assert len(dev) == 51 and len(test) == 50
    assert {q.id for q in dev}.isdisjoint({q.id for q in test})
    assert split_questions(qs, "all") == qs
    # the split depends on the ids only: same halves whatever the file order
    assert {q.id for q in split_questions(qs[::-1], "dev")} == {q.id for q in dev}
    assert {q.id for q in split_questions(qs, "dev", seed=17)} != {q.id for q in dev}
    with pytest.raises(ConfigError, match="'train'"):
        split_questions(qs, "train")
def test_naive_pipeline_without_its_extra_names_the_extra(monkeypatch, tmp_path: Path):
    from assistant.evaluation.naive import NaivePipeline

    monkeypatch.setitem(sys.modules, "langchain_chroma", None)  # a core install: no [eval]
    with pytest.raises(DependencyError, match=r"assistant-pvd\[eval\]"):
        NaivePipeline(tmp_path / "cache", tmp_path)
