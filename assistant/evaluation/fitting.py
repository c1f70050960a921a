"""What the adapter-fitting scripts share: their arguments, the index and the questions."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from assistant.evaluation.runner import (
    EvalQuestion,
    _shape,
    eval_index,
    read_questions,
    select_split,
)
from assistant.indexing.index import Index
from assistant.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parent.parent.parent
# Chosen on the gold dev split (docs/understanding.md §10).
SHRINK, TEMPERATURE, STEPS = 0.01, 0.02, 150


def fitting_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--corpus", type=Path, default=None, help="default: the shipped corpus")
    parser.add_argument("--questions", type=Path, default=ROOT / "eval" / "gold.jsonl")
    parser.add_argument("--fit-on", default="train", help="split fitted on (train; dev for "
                        "the shared sets, cut in dev and test halves)")
    parser.add_argument("--report", default="dev", help="split reported on")
    parser.add_argument("--add", type=Path, nargs="*", default=[],
                        help="more labelled questions (gold layout), fitted on whole")
    parser.add_argument("--measure", type=Path, nargs="*", default=[],
                        help="labelled questions only reported on")
    parser.add_argument("--write", action="store_true")
    return parser


@dataclass
class FittingData:
    settings: Settings  # the caller's
    eval_settings: Settings  # pointing at the corpus's cached evaluation index
    index: Index
    shipped: bool  # the corpus is the shipped one (the adapter goes beside the code)
    fit: list[EvalQuestion]  # the split fitted on, then every --add file
    reported: dict[str, list[EvalQuestion]]  # the split reported on, --add and --measure


def fitting_data(args: argparse.Namespace) -> FittingData:
    """The corpus's evaluation index (built or brought up to date) and the questions."""
    settings = get_settings()
    corpus = (args.corpus or settings.corpus_dir).resolve()
    eval_settings, failures = eval_index(settings, corpus, _shape(settings))
    if failures:
        raise SystemExit(f"index incomplete: {failures}")
    every = read_questions(args.questions)
    fit = select_split(every, args.fit_on)
    for path in args.add:
        fit = fit + read_questions(path)
    reported = {args.report: select_split(every, args.report)}
    reported.update({p.stem: read_questions(p) for p in [*args.add, *args.measure]})
    return FittingData(settings, eval_settings, Index(eval_settings),
                       corpus == settings.corpus_dir.resolve(), fit, reported)
