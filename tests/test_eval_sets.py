"""The labelled sets in eval/: every expected string is in the shipped document it names."""

import json
import re
from functools import cache
from pathlib import Path

import pytest

from assistant.indexing.lexical import fold
from assistant.ingest.loaders import load_document

ROOT = Path(__file__).resolve().parent.parent


@cache
def _text(source: str) -> str:
    """The document's text as the loaders extract it, whitespace and case folded."""
    doc = load_document(ROOT / "corpus" / source)
    return fold(re.sub(r"\s+", " ", " ".join(p.text for p in doc.pages)))


def _rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (ROOT / "eval" / name).read_text().splitlines()]


@pytest.mark.parametrize("name", ["gold.jsonl", "synthetic.jsonl"])
def test_every_expected_string_is_in_the_first_source(name):
    missing = []
    for row in _rows(name):
        for wanted in row["answer_contains"]:
            if row["expected_sources"] and fold(re.sub(r"\s+", " ", wanted)) not in _text(
                    row["expected_sources"][0]):
                missing.append((row["id"], wanted, row["expected_sources"][0]))
    assert not missing, missing[:10]


def test_the_written_questions_are_training_data_only():
    """eval/synthetic.jsonl fits the adapters; it is never reported on."""
    rows = _rows("synthetic.jsonl")
    assert len(rows) >= 1500
    assert {r["split"] for r in rows} == {"train"}
    assert {r["angle"] for r in rows} == {"written", "casual", "sms"}
    assert all(len(r["expected_sources"]) == 1 and len(r["answer_contains"]) == 1
               for r in rows)
    held = {fold(r["question"]).strip(" ?") for r in _rows("gold.jsonl")
            if r["split"] != "train"}
    assert not [r["id"] for r in rows if fold(r["question"]).strip(" ?") in held]
