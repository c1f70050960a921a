"""Variants tried on top of score fusion and passages (issue 16), on the dev halves.

Same data as `retrieval_sweep.py` (cached eval indexes, exact cosine, in-memory BM25),
scored as `retrieve()` returns passages (`passage_chunks=6`): each variant adds one signal
to the fused chunk score, or changes what a passage holds. What it prints is for choosing;
what we report comes from `assistant eval --split test`.
"""

from __future__ import annotations

import argparse
import math
import random
from collections.abc import Callable
from typing import Any

import numpy as np
from common import log, table, write_results
from retrieval_sweep import SETS, Corpus, load_corpus, passage_span5, query_vectors

from assistant.embedding.embedders import make_embedder
from assistant.evaluation.runner import EvalQuestion, read_questions, span_in, split_questions
from assistant.indexing.lexical import BM25, analyze, expand_query
from assistant.search.passages import group_by_document, join_chunks
from assistant.settings import get_settings

PASSAGE_CHUNKS = 6


def minmax(v: np.ndarray) -> np.ndarray:
    low, high = v.min(), v.max()
    return (v - low) / (high - low) if high > low else np.ones_like(v)


def zscore(v: np.ndarray) -> np.ndarray:
    return (v - v.mean()) / v.std() if v.std() > 0 else np.zeros_like(v)


def windowed(corpus: Corpus, q: EvalQuestion, ranked: list[int], offsets: tuple[int, ...],
             where: dict[tuple[str, int], int]) -> tuple[bool, int]:
    """span@5 when each passage also holds the chunks at ``offsets`` of its own
    (``where``: (document, ordinal) -> chunk)."""
    groups = group_by_document([(c, 0.0) for c in ranked], corpus.docs.__getitem__, k=5,
                               max_chunks=PASSAGE_CHUNKS)
    found, words = False, 0
    for group in groups:
        members = {c for c, _ in group}
        for c, _ in group:
            for off in offsets:
                j = where.get((corpus.docs[c], corpus.ordinals[c] + off))
                if j is not None:
                    members.add(j)
        ordered = sorted(members, key=corpus.ordinals.__getitem__)
        text = join_chunks([corpus.texts[c] for c in ordered])
        words += len(text.split())
        found = found or (corpus.sources[group[0][0]] in q.sources and span_in(q.span or "", text))
    return found, words // max(1, len(groups))


def sweep(name: str, corpus: Corpus, questions: list[EvalQuestion], qv: np.ndarray,
          embed: Callable[[list[str], bool], np.ndarray]) -> dict[str, float]:
    sims = qv @ corpus.vectors.T
    bm25 = BM25(corpus.terms)
    docs = sorted(set(corpus.docs))
    doc_at = {d: i for i, d in enumerate(docs)}
    doc_of = np.array([doc_at[d] for d in corpus.docs])
    doc_terms: list[list[str]] = [[] for _ in docs]
    for terms, d in zip(corpus.terms, doc_of, strict=True):
        doc_terms[d] += terms
    doc_bm25 = BM25(doc_terms)
    doc_vecs = np.zeros((len(docs), corpus.vectors.shape[1]), dtype=np.float32)
    np.add.at(doc_vecs, doc_of, corpus.vectors)
    doc_vecs /= np.linalg.norm(doc_vecs, axis=1, keepdims=True)
    titles: dict[int, str] = {}
    for source, d in zip(corpus.sources, doc_of, strict=True):
        if d not in titles:
            with (SETS / name / "docs" / source).open(encoding="utf-8") as handle:
                titles[d] = handle.readline().lstrip("# ").strip()
    title_sims = qv @ embed([titles[d] for d in range(len(docs))], False).T
    passage_qv = embed([q.question for q in questions], False)
    passage_qv = (qv + 0.3 * passage_qv)
    passage_qv /= np.linalg.norm(passage_qv, axis=1, keepdims=True)
    mixed_sims = passage_qv @ corpus.vectors.T
    where = {(d, o): j for j, (d, o) in enumerate(zip(corpus.docs, corpus.ordinals, strict=True))}
    chunk_sets = [set(t) for t in corpus.terms]
    df: dict[str, int] = {}
    for s in chunk_sets:
        for t in s:
            df[t] = df.get(t, 0) + 1

    totals: dict[str, float] = {}
    words: dict[str, float] = {}
    for i, q in enumerate(questions):
        terms = analyze(expand_query(q.question))
        lex = bm25.scores(terms)

        def candidates(s: np.ndarray, n: int = 40, lex: np.ndarray = lex) -> np.ndarray:
            dense = [int(j) for j in np.argsort(-s, kind="stable")[:n]]
            lexical = [int(p) for p in np.argsort(-lex, kind="stable")[:n] if lex[p] > 0]
            return np.array(list(dict.fromkeys(dense + lexical)))

        cand = candidates(sims[i])
        base = 0.6 * minmax(sims[i, cand]) + 0.4 * minmax(lex[cand])
        idf = {t: math.log(1 + (len(chunk_sets) - df.get(t, 0) + 0.5) / (df.get(t, 0) + 0.5))
               for t in set(terms)}
        total_idf = sum(idf.values()) or 1.0
        coverage = np.array([sum(w for t, w in idf.items() if t in chunk_sets[c]) / total_idf
                             for c in cand])
        doc_lex = minmax(doc_bm25.scores(terms)[doc_of[cand]])
        doc_dense = minmax((qv[i] @ doc_vecs.T)[doc_of[cand]])
        title = minmax(title_sims[i, doc_of[cand]])
        variants: dict[str, tuple[np.ndarray, np.ndarray]] = {
            "passages (kept)": (cand, base),
            "+ document BM25 0.1": (cand, base + 0.1 * doc_lex),
            "+ document BM25 0.3": (cand, base + 0.3 * doc_lex),
            "+ document dense 0.1": (cand, base + 0.1 * doc_dense),
            "+ document dense 0.3": (cand, base + 0.3 * doc_dense),
            "+ title dense 0.05": (cand, base + 0.05 * title),
            "+ title dense 0.1": (cand, base + 0.1 * title),
            "+ query-term coverage 0.1": (cand, base + 0.1 * coverage),
            "+ query-term coverage 0.3": (cand, base + 0.3 * coverage),
            "z-scores, dense 0.5": (cand, 0.5 * zscore(sims[i, cand]) + 0.5 * zscore(lex[cand])),
            "z-scores, dense 0.6": (cand, 0.6 * zscore(sims[i, cand]) + 0.4 * zscore(lex[cand])),
        }
        for n in (20, 100):
            c_n = candidates(sims[i], n)
            variants[f"candidates {n}"] = (c_n, 0.6 * minmax(sims[i, c_n])
                                           + 0.4 * minmax(lex[c_n]))
        c_m = candidates(mixed_sims[i])
        variants["query vector + 0.3 passage-prefixed"] = (
            c_m, 0.6 * minmax(mixed_sims[i, c_m]) + 0.4 * minmax(lex[c_m]))
        ranked_base: list[int] = []
        for label, (c_ids, scores) in variants.items():
            ranked = [int(c_ids[j]) for j in np.argsort(-scores, kind="stable")]
            if label == "passages (kept)":
                ranked_base = ranked
            found, ws = passage_span5(corpus, q, ranked, PASSAGE_CHUNKS)
            totals[label] = totals.get(label, 0.0) + found
            words[label] = words.get(label, 0.0) + sum(ws) / max(1, len(ws))
        for label, offsets in (("+ previous chunk", (-1,)), ("+ next chunk", (1,)),
                               ("+ both neighbours", (-1, 1))):
            found, w = windowed(corpus, q, ranked_base, offsets, where)
            totals[label] = totals.get(label, 0.0) + found
            words[label] = words.get(label, 0.0) + w
    n = len(questions)
    out: dict[str, float] = {}
    for label in totals:
        out[label] = round(totals[label] / n, 4)
        out[f"  words/passage ({label})"] = round(words[label] / n, 0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sets", default="cnil-faq,piaf-wikipedia,service-public")
    parser.add_argument("--sample", type=int, default=300, help="questions per set (seed 42)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    settings = get_settings()
    embedder = make_embedder(settings.embedder)

    def embed(texts: list[str], is_query: bool) -> np.ndarray:
        return embedder.embed(texts, is_query=is_query)

    results: dict[str, Any] = {}
    for name in args.sets.split(","):
        questions = split_questions(read_questions(SETS / name / "questions.jsonl"), "dev")
        questions = random.Random(42).sample(questions, min(args.sample, len(questions)))
        corpus = load_corpus(name)
        log(f"{name}: {len(corpus.ids)} chunks, {len(questions)} dev questions")
        results[name] = sweep(name, corpus, questions,
                              query_vectors(questions, settings.embedder), embed)
    names = list(results)
    rows = [[k, *(results[n][k] for n in names)] for k in results[names[0]]]
    write_results("passage_sweep", {"benchmark": "passage_sweep", "split": "dev",
                                    "sample": args.sample, "results": results},
                  args.json, table(["variant", *names], rows))


if __name__ == "__main__":
    main()
