"""Fit the query adapter of a corpus on one split of its labelled questions.

    .venv/bin/python scripts/fit_query_adapter.py [--add eval/synthetic.jsonl] \
        [--measure FILE ...] [--write]
    .venv/bin/python scripts/fit_query_adapter.py --corpus ../shared/eval/cnil-faq/docs \
        --questions ../shared/eval/cnil-faq/questions.jsonl --fit-on dev --report test --write

Each question's positives are the chunks of its expected source that hold its answer (one
of the gold set's ``answer_contains`` strings, or a shared set's span); all the source's
chunks when none does. Prints dense hit@5 (the source) and span@5 (a positive chunk) with
and without the adapter on the split fitted on, the split reported on and each ``--measure``
file (read whole). ``--add`` files (labelled questions in the gold layout, e.g. the
questions written sentence by sentence from the corpus, eval/synthetic.jsonl) are fitted
on whole, with the split. ``--write`` saves it: for the shipped corpus beside the code
(assistant/embedding/data/query_adapter.npz), for another corpus into its evaluation index
(``.cache/eval/…/query_adapter.npz``), where ``assistant eval --corpus`` finds it. The
gold set's test split is never read unless asked with ``--report test``.
"""

from __future__ import annotations

import numpy as np

from assistant.embedding.adapter import ADAPTER_NAME, DEFAULT_PATH, QueryAdapter, fit_matrix
from assistant.evaluation.fitting import (
    SHRINK,
    STEPS,
    TEMPERATURE,
    fitting_data,
    fitting_parser,
)
from assistant.evaluation.runner import EvalQuestion, span_in
from assistant.indexing.lexical import fold


def main() -> None:
    args = fitting_parser(__doc__.splitlines()[0]).parse_args()
    data = fitting_data(args)
    index = data.index
    ids = sorted(index.catalog.chunk_ids())
    rows = index.catalog.chunk_rows(ids)
    stored = index.vectors(ids)
    ids = [i for i in ids if i in stored]
    chunks = np.stack([stored[i] for i in ids])
    sources = [rows[i][1].get("source") for i in ids]
    texts = [" ".join(rows[i][0].split()) for i in ids]
    folded = [fold(t) for t in texts]

    def answered_by(q: EvalQuestion, j: int) -> bool:
        if q.span:
            return span_in(q.span, texts[j])
        return any(fold(" ".join(s.split())) in folded[j] for s in q.answer_contains)

    def labelled(questions: list[EvalQuestion]) -> list[tuple[EvalQuestion, list[int]]]:
        out = []
        for q in questions:
            of_source = [j for j, s in enumerate(sources) if s in q.sources]
            if of_source:
                out.append((q, [j for j in of_source if answered_by(q, j)] or of_source))
        return out

    sets = {args.fit_on: labelled(data.fit)}
    sets.update({name: labelled(part) for name, part in data.reported.items()
                 if name not in sets})
    vectors = {name: np.asarray(index.embedder.embed([q.question for q, _ in part],
                                                     is_query=True))
               for name, part in sets.items()}
    matrix = fit_matrix(vectors[args.fit_on], chunks, [p for _, p in sets[args.fit_on]],
                        shrink=SHRINK, temperature=TEMPERATURE, steps=STEPS)
    corpus_shas = frozenset(d.sha256 for d in index.catalog.documents())
    adapter = QueryAdapter(matrix, index.embedder.model_id, corpus_shas)
    unit = chunks / np.linalg.norm(chunks, axis=1, keepdims=True)
    for name, part in sets.items():
        for label, moved in (("plain", vectors[name]),
                             ("adapted", np.stack([adapter.adapt(v) for v in vectors[name]]))):
            top = np.argsort(-(moved @ unit.T), axis=1)[:, :5]
            source_hit = np.mean([any(sources[j] in q.sources for j in top[i])
                                  for i, (q, _) in enumerate(part)])
            span_hit = np.mean([bool(set(top[i]) & set(p)) for i, (_, p) in enumerate(part)])
            print(f"{name:>14} ({len(part)}) {label:>7}: dense hit@5 {source_hit:.3f}, "
                  f"span@5 {span_hit:.3f}")
    if args.write:
        path = DEFAULT_PATH if data.shipped else data.eval_settings.index_dir / ADAPTER_NAME
        adapter.save(path)
        print(f"written: {path}")


if __name__ == "__main__":
    main()
