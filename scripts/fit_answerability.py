"""Refit the answerability model on eval/gold.jsonl (train split; threshold on the dev split).

    .venv/bin/python scripts/fit_answerability.py [--write]

The test split is never read. Prints the model and its dev figures; --write replaces
assistant/answer/data/answerability.json (shipped with the package).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from assistant.answer.answerability import MODEL_FILE
from assistant.answer.calibration import calibrate
from assistant.evaluation.runner import _shape, eval_index
from assistant.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, default=ROOT / "eval" / "gold.jsonl")
    parser.add_argument("--write", action="store_true", help=f"write {MODEL_FILE.name}")
    args = parser.parse_args()
    settings = get_settings()
    eval_settings, failures = eval_index(settings, settings.corpus_dir, _shape(settings))
    if failures:
        raise SystemExit(f"index incomplete: {failures}")
    rows = [json.loads(line) for line in args.gold.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    rows = [r for r in rows if r.get("split") in ("train", "dev")]
    model = calibrate(eval_settings, rows)
    print(model.to_json())
    if args.write:
        MODEL_FILE.write_text(model.to_json() + "\n", encoding="utf-8")
        print(f"written: {MODEL_FILE}")


if __name__ == "__main__":
    main()
