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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from common import CACHE_DIR, log, write_results

from assistant.embedding.embedders import embedder_fingerprint, make_embedder
from assistant.evaluation.runner import (
    EvalQuestion,
    corpus_hash,
    read_questions,
    span_in,
    split_questions,
)
from assistant.indexing.index import Index
from assistant.indexing.lexical import BM25, analyze, expand_query
from assistant.search.fusion import rrf_fuse
from assistant.settings import get_settings

SETS = Path("/work/shared/eval")


@dataclass
class Corpus:
    ids: list[str]
    texts: list[str]  # what the chunk shows (span matching)
    sources: list[str]
    terms: list[list[str]]  # lexical terms as indexed
    vectors: np.ndarray


def load_corpus(name: str) -> Corpus:
    """Read the cached eval index of one shared set (run `assistant eval` on it first)."""
    settings = get_settings()
    corpus = SETS / name / "docs"
    shape = (f"default|{embedder_fingerprint(settings.embedder)}|{settings.chunk_min_tokens}|"
             f"{settings.chunk_max_tokens}|{settings.chunk_overlap_tokens}|v1")
    folder = settings.cache_dir / "eval" / f"default-{corpus_hash(corpus, shape)}"
    if not (folder / "catalog.sqlite3").is_file():
        raise SystemExit(f"no eval index for {name} in {folder}: run `assistant eval` first")
    index = Index(settings.model_copy(update={"index_dir": folder}))
    conn = index.catalog._conn()
    rows = conn.execute("SELECT id, text, terms, meta FROM chunks ORDER BY doc_id, ordinal").fetchall()
    ids = [r[0] for r in rows]
    got: dict[str, np.ndarray] = {}
    collection = index.store._collection
    for start in range(0, len(ids), 2000):
        page = collection.get(ids=ids[start:start + 2000], include=["embeddings"])
        for cid, vec in zip(page["ids"], page["embeddings"], strict=True):
            got[cid] = np.asarray(vec, dtype=np.float32)
    vectors = np.vstack([got[c] for c in ids])
    return Corpus(ids=ids, texts=[r[1] for r in rows],
                  sources=[json.loads(r[3])["source"] for r in rows],
                  terms=[r[2].split() for r in rows], vectors=vectors)


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


def evaluate(corpus: Corpus, questions: list[EvalQuestion], ranker: Ranker) -> float:
    return round(sum(span5(corpus, q, ranker(i)) for i, q in enumerate(questions))
                 / len(questions), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sets", default="cnil-faq,piaf-wikipedia,service-public")
    parser.add_argument("--split", default="dev", choices=["dev", "test"])
    parser.add_argument("--sample", type=int, default=300, help="questions per set (seed 42)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    import random

    settings = get_settings()
    results: dict[str, Any] = {}
    for name in args.sets.split(","):
        questions = split_questions(read_questions(SETS / name / "questions.jsonl"), args.split)
        questions = random.Random(42).sample(questions, min(args.sample, len(questions)))
        corpus = load_corpus(name)
        log(f"{name}: {len(corpus.ids)} chunks, {len(questions)} {args.split} questions")
        qv = query_vectors(questions, settings.embedder)
        sims = qv @ corpus.vectors.T
        dense = [list(np.argsort(-sims[i], kind="stable")[:100]) for i in range(len(questions))]
        bm25 = BM25(corpus.terms)
        qterms = [analyze(expand_query(q.question)) for q in questions]
        lex = []
        for terms in qterms:
            s = bm25.scores(terms)
            top = np.argsort(-s, kind="stable")[:100]
            lex.append([int(p) for p in top if s[p] > 0])
        res: dict[str, float] = {}
        res["dense"] = evaluate(corpus, questions, lambda i: dense[i])
        res["bm25"] = evaluate(corpus, questions, lambda i: lex[i])

        def fused(i: int, k: float, wd: float, wl: float, n: int) -> list[int]:
            out = rrf_fuse([(dense[i][:n], wd), (lex[i][:n], wl)], k=k, limit=5)
            return [int(c) for c, _ in out]

        for k, wd, n in itertools.product([5, 10, 20, 60], [1.0, 1.5, 2.0], [20, 40]):
            res[f"rrf k={k} wd={wd} n={n}"] = evaluate(
                corpus, questions, lambda i, k=k, wd=wd, n=n: fused(i, k, wd, 1.0, n))
        results[name] = res
        for key, value in res.items():
            print(f"{name:16} {key:28} {value}")
    write_results("retrieval_sweep", {"benchmark": "retrieval_sweep", "split": args.split,
                                      "sample": args.sample, "results": results},
                  args.json, "")


if __name__ == "__main__":
    main()
