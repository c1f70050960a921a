"""Sweep retrieval variants on the dev half of the shared sets, reusing every vector.

Chunk vectors are read back from the cached eval index (built by `assistant eval`),
question vectors are embedded once and cached in .cache/bench/, the dense ranking is
an exact cosine over all chunks (Chroma's HNSW is approximate, so figures can differ
from `assistant eval` by a question or two), and each variant changes only the lexical
analysis or the fusion. What it prints is for choosing; what we report comes from
`assistant eval --split test`.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from common import CACHE_DIR, log, table, write_results

from assistant.embedding.embedders import embedder_fingerprint, make_embedder
from assistant.evaluation.runner import (
    EvalQuestion,
    eval_cache_key,
    read_questions,
    span_in,
    split_questions,
)
from assistant.indexing.index import Index
from assistant.indexing.lexical import BM25, analyze, expand_query
from assistant.search.fusion import rrf_fuse, score_fuse
from assistant.search.passages import group_by_document, join_chunks
from assistant.settings import get_settings

SETS = Path("/work/shared/eval")


@dataclass
class Corpus:
    ids: list[str]
    texts: list[str]  # what the chunk shows (span matching)
    sources: list[str]
    terms: list[list[str]]  # lexical terms as indexed
    vectors: np.ndarray
    docs: list[str]  # doc_id of each chunk
    ordinals: list[int]  # its place in its document


def load_corpus(name: str) -> Corpus:
    """Read the cached eval index of one shared set (run `assistant eval` on it first)."""
    settings = get_settings()
    corpus = SETS / name / "docs"
    shape = (f"default|{embedder_fingerprint(settings.embedder)}|{settings.chunk_min_tokens}|"
             f"{settings.chunk_max_tokens}|{settings.chunk_overlap_tokens}|v1")
    folder = settings.cache_dir / "eval" / f"default-{eval_cache_key(corpus, shape)}"
    if not (folder / "catalog.sqlite3").is_file():
        raise SystemExit(f"no eval index for {name} in {folder}: run `assistant eval` first")
    index = Index(settings.model_copy(update={"index_dir": folder}))
    conn = index.catalog._conn()
    rows = conn.execute(
        "SELECT id, text, terms, meta FROM chunks ORDER BY doc_id, ordinal").fetchall()
    ids = [r[0] for r in rows]
    got: dict[str, np.ndarray] = {}
    collection = index.store._collection
    for start in range(0, len(ids), 2000):
        page = collection.get(ids=ids[start:start + 2000], include=["embeddings"])
        for cid, vec in zip(page["ids"], page["embeddings"], strict=True):
            got[cid] = np.asarray(vec, dtype=np.float32)
    vectors = np.vstack([got[c] for c in ids])
    metas = [json.loads(r[3]) for r in rows]
    return Corpus(ids=ids, texts=[r[1] for r in rows], sources=[m["source"] for m in metas],
                  terms=[r[2].split() for r in rows], vectors=vectors,
                  docs=[m["doc_id"] for m in metas], ordinals=[int(m["ordinal"]) for m in metas])


def query_vectors(questions: list[EvalQuestion], spec: str) -> np.ndarray:
    texts = [q.question for q in questions]
    key = hashlib.sha1((spec + "\0" + "\0".join(texts)).encode()).hexdigest()[:12]
    path = CACHE_DIR / f"sweep-queries-{key}.npy"
    if path.exists():
        return np.load(path)
    vectors = make_embedder(spec).embed(texts, is_query=True)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def span5(corpus: Corpus, q: EvalQuestion, ranked: list[int]) -> bool:
    return any(corpus.sources[i] in q.sources and span_in(q.span or "", corpus.texts[i])
               for i in ranked[:5])


Ranker = Callable[[int], list[int]]


def passage_span5(corpus: Corpus, q: EvalQuestion, ranked: list[int],
                  max_chunks: int) -> tuple[bool, list[int]]:
    """span@5 over the passages `retrieve()` returns (chunks of a document gathered,
    `search/passages.py`), and the words of each passage."""
    groups = group_by_document([(c, 0.0) for c in ranked], corpus.docs.__getitem__, k=5,
                               max_chunks=max_chunks)
    found, words = False, []
    for group in groups:
        members = sorted((c for c, _ in group), key=corpus.ordinals.__getitem__)
        text = join_chunks([corpus.texts[c] for c in members])
        words.append(len(text.split()))
        found = found or (corpus.sources[members[0]] in q.sources and span_in(q.span or "", text))
    return found, words


def evaluate(corpus: Corpus, questions: list[EvalQuestion], ranker: Ranker) -> float:
    return round(sum(span5(corpus, q, ranker(i)) for i, q in enumerate(questions))
                 / len(questions), 4)


def sweep(corpus: Corpus, questions: list[EvalQuestion], qv: np.ndarray) -> dict[str, float]:
    """span@5 of dense alone, BM25 alone, RRF and score fusion over a grid."""
    sims = qv @ corpus.vectors.T
    bm25 = BM25(corpus.terms)
    lex_scores = np.stack([bm25.scores(analyze(expand_query(q.question))) for q in questions])
    dense = [[int(j) for j in np.argsort(-sims[i], kind="stable")[:100]]
             for i in range(len(questions))]
    lex = [[int(p) for p in np.argsort(-lex_scores[i], kind="stable")[:100]
            if lex_scores[i][p] > 0] for i in range(len(questions))]
    res: dict[str, float] = {
        "dense": evaluate(corpus, questions, lambda i: dense[i]),
        "bm25": evaluate(corpus, questions, lambda i: lex[i]),
    }

    def rrf(i: int, k: float, wd: float, n: int) -> list[int]:
        return [c for c, _ in rrf_fuse([(dense[i][:n], wd), (lex[i][:n], 1.0)], k=k, limit=5)]

    def by_score(i: int, share: float, n: int) -> list[int]:
        cand = list(dict.fromkeys(dense[i][:n] + lex[i][:n]))
        return [c for c, _ in score_fuse(
            cand, {c: float(sims[i, c]) for c in cand}, {c: float(lex_scores[i, c]) for c in cand},
            dense_share=share, limit=5)]

    for k, wd in itertools.product([5, 10, 20, 60], [1.0, 1.5, 2.0]):
        res[f"rrf k={k} wd={wd}"] = evaluate(
            corpus, questions, lambda i, k=k, wd=wd: rrf(i, k, wd, 40))
    for share in (0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        res[f"score share={share}"] = evaluate(
            corpus, questions, lambda i, share=share: by_score(i, share, 40))
    # Passages: the same-document chunks of the fused ranking gathered (small-to-big).
    for share in (0.5, 0.6, 0.7):
        full = [[c for c, _ in score_fuse(
            cand, {c: float(sims[i, c]) for c in cand},
            {c: float(lex_scores[i, c]) for c in cand}, dense_share=share)]
            for i, cand in enumerate(list(dict.fromkeys(dense[i][:40] + lex[i][:40]))
                                     for i in range(len(questions)))]
        for m in (1, 2, 4, 6, 10):
            got = [passage_span5(corpus, q, full[i], m) for i, q in enumerate(questions)]
            res[f"score {share} passages<={m}"] = round(
                sum(f for f, _ in got) / len(questions), 4)
            res[f"  words/passage (<={m})"] = round(
                float(np.mean([w for _, ws in got for w in ws])), 1)
    return res


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sets", default="cnil-faq,piaf-wikipedia,service-public")
    parser.add_argument("--split", default="dev", choices=["dev", "test"])
    parser.add_argument("--sample", type=int, default=300, help="questions per set (seed 42)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    settings = get_settings()
    results: dict[str, Any] = {}
    for name in args.sets.split(","):
        questions = split_questions(read_questions(SETS / name / "questions.jsonl"), args.split)
        questions = random.Random(42).sample(questions, min(args.sample, len(questions)))
        corpus = load_corpus(name)
        log(f"{name}: {len(corpus.ids)} chunks, {len(questions)} {args.split} questions")
        results[name] = sweep(corpus, questions, query_vectors(questions, settings.embedder))
    names = list(results)
    keys = list(results[names[0]])
    text = table(["variant", *names], [[k, *(results[n][k] for n in names)] for k in keys])
    write_results("retrieval_sweep", {"benchmark": "retrieval_sweep", "split": args.split,
                                      "sample": args.sample, "results": results},
                  args.json, text)


if __name__ == "__main__":
    main()
