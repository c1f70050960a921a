"""Refit the query adapter on eval/gold.jsonl's train split; report dense hit@5 on dev.

    .venv/bin/python scripts/fit_query_adapter.py [--write] [--extra FILE ...]

Each answerable training question's positives are the chunks of its expected source that
hold one of its ``answer_contains`` strings (all the source's chunks when none does). The
test split is never read. Prints dense hit@5 (a positive chunk; the expected source) with
and without the adapter on the train and dev splits and on each ``--extra`` file (fresh
question batches, read whole); ``--write`` replaces assistant/embedding/data/query_adapter.npz.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from assistant.embedding.adapter import DEFAULT_PATH, QueryAdapter, fit_matrix
from assistant.evaluation.runner import _shape, eval_index
from assistant.indexing.index import Index
from assistant.indexing.lexical import fold
from assistant.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent
SHRINK, TEMPERATURE, STEPS = 0.01, 0.02, 150  # chosen on the dev split (docs/understanding.md)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, default=ROOT / "eval" / "gold.jsonl")
    parser.add_argument("--extra", type=Path, nargs="*", default=[])
    parser.add_argument("--write", action="store_true", help=f"write {DEFAULT_PATH.name}")
    args = parser.parse_args()
    settings = get_settings()
    eval_settings, failures = eval_index(settings, settings.corpus_dir, _shape(settings))
    if failures:
        raise SystemExit(f"index incomplete: {failures}")
    index = Index(eval_settings)
    ids = sorted(index.catalog.chunk_ids())
    rows = index.catalog.chunk_rows(ids)
    stored = index.vectors(ids)
    ids = [i for i in ids if i in stored]
    chunks = np.stack([stored[i] for i in ids])
    sources = [rows[i][1].get("source") for i in ids]
    texts = [fold(" ".join(rows[i][0].split())) for i in ids]

    def questions(path: Path, split: str | None) -> list[tuple[str, list[int], set[str]]]:
        out = []
        for line in path.read_text(encoding="utf-8").splitlines():
            item = json.loads(line) if line.strip() else {}
            if not item.get("expected_sources") or (split and item.get("split") != split):
                continue
            wanted = [fold(" ".join(s.split())) for s in item.get("answer_contains", [])]
            expected = set(item["expected_sources"])
            of_source = [j for j, s in enumerate(sources) if s in expected]
            holding = [j for j in of_source if any(w in texts[j] for w in wanted)]
            if of_source:
                out.append((item["question"], holding or of_source, expected))
        return out

    sets = {"train": questions(args.gold, "train"), "dev": questions(args.gold, "dev")}
    sets.update({p.stem: questions(p, None) for p in args.extra})
    vectors = {name: np.asarray(index.embedder.embed([q for q, _, _ in rows_], is_query=True))
               for name, rows_ in sets.items()}
    matrix = fit_matrix(vectors["train"], chunks, [p for _, p, _ in sets["train"]],
                        shrink=SHRINK, temperature=TEMPERATURE, steps=STEPS)
    corpus = frozenset(d.sha256 for d in index.catalog.documents())
    adapter = QueryAdapter(matrix, index.embedder.model_id, corpus)
    unit = chunks / np.linalg.norm(chunks, axis=1, keepdims=True)
    for name, rows_ in sets.items():
        for label, moved in (("plain", vectors[name]),
                             ("adapted", np.stack([adapter.adapt(v) for v in vectors[name]]))):
            top = np.argsort(-(moved @ unit.T), axis=1)[:, :5]
            chunk_hit = np.mean([bool(set(top[i]) & set(p)) for i, (_, p, _) in enumerate(rows_)])
            source_hit = np.mean([any(sources[j] in e for j in top[i])
                                  for i, (_, _, e) in enumerate(rows_)])
            print(f"{name:>10} ({len(rows_)}) {label:>7}: dense hit@5 chunk {chunk_hit:.3f}, "
                  f"source {source_hit:.3f}")
    if args.write:
        adapter.save(DEFAULT_PATH)
        print(f"written: {DEFAULT_PATH}")


if __name__ == "__main__":
    main()
