"""Fit the sentence adapter of a corpus on one split of its labelled questions.

    .venv/bin/python scripts/fit_sentence_adapter.py [--add eval/synthetic.jsonl] \
        [--measure FILE ...] [--write]

The answer step ranks the sentences of the passages read partly by meaning (the e5 cosine
of question and sentence). This fits a query adapter (``assistant.embedding.adapter``)
for that ranking: for each question, the sentences the answer step reads (the plain
ranking's shortlist, each with its e5 vector) and, as positives, those holding one of its
``answer_contains`` strings; a softmax over every sentence met, kept near the identity.
``--add`` files (gold layout) are fitted on whole, with the split. Prints, on the split
reported on, each ``--add`` file and each ``--measure`` file, how often
the first-ranked sentence holds the answer, plain and adapted (among the questions where
one of the sentences read does). ``--write`` saves it beside the code
(assistant/embedding/data/sentence_adapter.npz) for the shipped corpus, into the
evaluation index for another. The gold test split is never read unless asked.
"""

from __future__ import annotations

import numpy as np

from assistant.answer.calibration import question_candidates
from assistant.answer.sentences import Candidate
from assistant.embedding.adapter import (
    SENTENCE_ADAPTER_NAME,
    SENTENCE_DEFAULT_PATH,
    QueryAdapter,
    fit_matrix,
)
from assistant.evaluation.fitting import (
    SHRINK,
    STEPS,
    TEMPERATURE,
    fitting_data,
    fitting_parser,
)
from assistant.evaluation.runner import EvalQuestion, span_in
from assistant.indexing.lexical import fold
from assistant.settings import Settings


def holds_answer(q: EvalQuestion, text: str) -> bool:
    if q.span:
        return span_in(q.span, text)
    folded = fold(" ".join(text.split()))
    return any(fold(" ".join(a.split())) in folded for a in q.answer_contains)


def read_set(settings: Settings, questions: list[EvalQuestion], adapter: QueryAdapter | None
             ) -> list[tuple[EvalQuestion, list[Candidate]]]:
    """Each answerable question with the sentences it reads, ranked with ``adapter``
    (the plain ranking when None)."""
    out = []
    for q in questions:
        if not q.sources:
            continue
        read = question_candidates(settings, q.question, q.commune, ranking=adapter,
                                   index_adapter=False)
        out.append((q, read.cands))
    return out


def first_right(part: list[tuple[EvalQuestion, list[Candidate]]]) -> tuple[int, int]:
    """(questions whose first-ranked sentence holds the answer, questions where one does)."""
    right = possible = 0
    for q, cands in part:
        if any(holds_answer(q, c.text) for c in cands):
            possible += 1
            right += holds_answer(q, max(cands, key=lambda c: c.score).text)
    return right, possible


def main() -> None:
    args = fitting_parser(__doc__.splitlines()[0]).parse_args()
    data = fitting_data(args)
    eval_settings, index = data.eval_settings, data.index
    fitted = read_set(eval_settings, data.fit, None)
    texts: dict[str, int] = {}
    vectors: list[np.ndarray] = []
    queries: list[np.ndarray] = []
    positives: list[list[int]] = []
    for q, cands in fitted:
        pos = []
        for c in cands:
            if c.vector is None:
                continue  # outside the shortlist embedded: never ranked by meaning
            if c.text not in texts:
                texts[c.text] = len(vectors)
                vectors.append(c.vector)
            if holds_answer(q, c.text):
                pos.append(texts[c.text])
        if pos:
            queries.append(index.embedder.embed([q.question], is_query=True)[0])
            positives.append(pos)
    print(f"fitting on {len(queries)} questions, {len(vectors)} sentences")
    matrix = fit_matrix(np.stack(queries), np.stack(vectors), positives,
                        shrink=SHRINK, temperature=TEMPERATURE, steps=STEPS)
    corpus_shas = frozenset(d.sha256 for d in index.catalog.documents())
    adapter = QueryAdapter(matrix, index.embedder.model_id, corpus_shas)
    for name, questions in data.reported.items():
        plain = first_right(read_set(eval_settings, questions, None))
        moved = first_right(read_set(eval_settings, questions, adapter))
        print(f"{name:>14}: first sentence holds the answer, plain {plain[0]}/{plain[1]}, "
              f"adapted {moved[0]}/{moved[1]}")
    if args.write:
        path = (SENTENCE_DEFAULT_PATH if data.shipped
                else eval_settings.index_dir / SENTENCE_ADAPTER_NAME)
        adapter.save(path)
        print(f"written: {path}")


if __name__ == "__main__":
    main()
