"""`assistant eval`: retrieval and answer metrics on a question set, beside a naive baseline."""

from __future__ import annotations

import hashlib
import json
import random
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from assistant.embedding.embedders import embedder_fingerprint
from assistant.errors import ConfigError
from assistant.indexing.index import Index, corpus_files
from assistant.indexing.lexical import fold
from assistant.ingest.metadata import MANIFEST_NAME
from assistant.jsonl import jsonl_rows
from assistant.search.access import Role
from assistant.settings import Settings

_WORD = re.compile(r"\w+")


@dataclass
class EvalQuestion:
    id: str
    question: str
    sources: list[str]  # [] → the assistant must refuse
    pages: list[int] | None = None
    answer_contains: list[str] = field(default_factory=list)
    span: str | None = None  # the answer span, for the shared sets
    commune: str | None = None
    split: str | None = None  # "train" | "dev" | "test" where the set has splits


@dataclass
class Row:
    """What happened on one question (written to --out)."""

    id: str
    question: str
    expected: list[str]
    retrieved: list[dict[str, Any]]
    first_hit_rank: int | None
    span_found: bool | None
    refused: bool
    must_refuse: bool
    answer: str
    contains_found: list[bool]
    citations_valid: list[bool]
    cited: list[str]
    latency_ms: float
    mode: str = "extractive"
    dropped_sentences: int = 0
    kept_sentences: int = 0  # written sentences shown (mode "llm")
    fallback_reason: str | None = None


def read_questions(path: Path) -> list[EvalQuestion]:
    """Gold lines (expected_sources...) or shared-set lines (source, answer)."""
    out = []
    for lineno, item in jsonl_rows(path, "question file"):
        if "expected_sources" in item:
            out.append(EvalQuestion(
                id=str(item["id"]), question=item["question"],
                sources=list(item["expected_sources"]), pages=item.get("expected_pages"),
                answer_contains=list(item.get("answer_contains") or []),
                commune=item.get("commune"), split=item.get("split"),
            ))
        elif "source" in item:
            out.append(EvalQuestion(
                id=str(item["id"]), question=item["question"], sources=[item["source"]],
                span=item.get("answer"), split=item.get("split"),
            ))
        else:
            raise ConfigError(f"{path}:{lineno}: needs 'expected_sources' or 'source'")
    return out


SPLIT_SEED = 16
SPLITS = ("all", "dev", "test")


def split_questions(
    questions: list[EvalQuestion], split: str, seed: int = SPLIT_SEED
) -> list[EvalQuestion]:
    """One half of a question set: ids sorted, shuffled with ``seed``, the first half is
    ``dev`` (tune on it), the rest ``test`` (report on it); ``all`` keeps every question.
    The split depends on the ids only, not on file order or on the sample drawn after."""
    if split not in SPLITS:
        raise ConfigError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    if split == "all":
        return questions
    ids = sorted({q.id for q in questions})
    random.Random(seed).shuffle(ids)
    dev = set(ids[: (len(ids) + 1) // 2])
    return [q for q in questions if (q.id in dev) == (split == "dev")]


def span_in(span: str, text: str) -> bool:
    """The span is in the text (whitespace and case folded), or, for spans of five words
    or more, at least 80 % of its words appear there in order (a chunk boundary cut it)."""
    s_words = _WORD.findall(fold(span))
    if not s_words:
        return False
    t_words = _WORD.findall(fold(text))
    if f" {' '.join(s_words)} " in f" {' '.join(t_words)} ":
        return True
    if len(s_words) < 5:
        return False
    # Longest common subsequence, one row at a time.
    prev = [0] * (len(s_words) + 1)
    for w in t_words:
        cur = [0]
        for j, sw in enumerate(s_words):
            cur.append(prev[j] + 1 if w == sw else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1] >= 0.8 * len(s_words)


def corpus_hash(corpus: Path, extra: str) -> str:
    """Content hash of a folder (and the settings that shape its index)."""
    digest = hashlib.sha256(extra.encode())
    manifest = corpus / MANIFEST_NAME
    files = corpus_files(corpus) + ([manifest] if manifest.is_file() else [])
    for path in sorted(files):
        digest.update(path.relative_to(corpus).as_posix().encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    pos = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return round(ordered[pos], 1)


def summarize(rows: list[Row]) -> dict[str, Any]:
    n = len(rows)
    answerable = [r for r in rows if not r.must_refuse]

    def hit_at(k: int) -> float | None:
        if not answerable:
            return None
        return round(sum(1 for r in answerable
                         if r.first_hit_rank is not None and r.first_hit_rank < k)
                     / len(answerable), 4)

    spans = [r.span_found for r in answerable if r.span_found is not None]
    must = [r for r in rows if r.must_refuse]
    refused = [r for r in rows if r.refused]
    contains = [f for r in answerable for f in r.contains_found]
    cits = [v for r in rows for v in r.citations_valid]
    return {
        "n": n,
        "hit@1": hit_at(1),
        "hit@3": hit_at(3),
        "hit@5": hit_at(5),
        "mrr": round(statistics.fmean(
            1.0 / (r.first_hit_rank + 1) if r.first_hit_rank is not None else 0.0
            for r in answerable), 4) if answerable else None,
        "span@5": round(sum(spans) / len(spans), 4) if spans else None,
        "refusal": {
            "precision": round(sum(r.must_refuse for r in refused) / len(refused), 4)
            if refused and must else None,
            "recall": round(sum(r.refused for r in must) / len(must), 4) if must else None,
        },
        "refused_answerable": round(
            sum(r.refused for r in answerable) / len(answerable), 4) if answerable else None,
        "answer_contains": round(sum(contains) / len(contains), 4) if contains else None,
        "citation_validity": round(sum(cits) / len(cits), 4) if cits else None,
        "latency_ms": {
            "p50": _percentile([r.latency_ms for r in rows], 0.5),
            "p95": _percentile([r.latency_ms for r in rows], 0.95),
        },
    }


Asker = Callable[[EvalQuestion], tuple[list[dict[str, Any]], dict[str, Any]]]


def llm_summary(rows: list[Row]) -> dict[str, Any]:
    """How the written answers fared: kept and dropped sentences, fallbacks by reason."""
    dropped = sum(r.dropped_sentences for r in rows)
    kept = sum(r.kept_sentences for r in rows)
    reasons: dict[str, int] = {}
    for r in rows:
        if r.fallback_reason:
            key = r.fallback_reason.split(" (")[0]
            reasons[key] = reasons.get(key, 0) + 1
    return {
        "written": sum(r.mode == "llm" for r in rows),
        "dropped_share": round(dropped / (dropped + kept), 4) if dropped + kept else None,
        "fallbacks": reasons,
    }


def _default_asker(
    settings: Settings, k: int, role: Role | None, llm: bool = False
) -> tuple[Asker, Callable[[str, int | None], str]]:
    """Our pipeline as users get it: commune-aware answers over an eval index."""
    from functools import partial

    from assistant import service
    from assistant.answer.writer import answer

    answer_question = partial(answer, llm=llm)

    index = service.open_index(settings)

    def ask(q: EvalQuestion) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        answer = answer_question(settings, q.question, commune=q.commune, k=max(k, 5),
                                 role=role)
        retrieved: list[dict[str, Any]] = []
        hits = answer.hits
        if not hits:
            # Status and checklist answers are read from records, not from a ranking:
            # what the user is shown first is what they cite, then a plain search.
            retrieved = [{"source": c.source, "page": c.page, "text": c.quote}
                         for c in answer.citations]
            hits = service.search(settings, q.question, k=max(k, 5), role=role)
        retrieved += [{"source": h.source, "page": h.page, "text": h.text} for h in hits]
        return retrieved, answer.to_dict()

    def page_text(source: str, page: int | None) -> str:
        for doc in index.catalog.documents():
            if doc.source == source:
                pages = index.catalog.pages(doc.doc_id)
                if page is None:
                    return "\n".join(p.text for p in pages)
                return "\n".join(p.text for p in pages if p.number == page)
        return ""

    return ask, page_text


def select_split(questions: list[EvalQuestion], split: str | None) -> list[EvalQuestion]:
    """The rows of one split: the set's own ``split`` field when it has one (gold), else
    the fixed seeded halves of :func:`split_questions` (the shared sets: dev or test)."""
    if split in (None, "all"):
        return questions
    if not any(q.split for q in questions):
        return split_questions(questions, split)
    chosen = [q for q in questions if q.split == split]
    if not chosen:
        raise ConfigError(f"no question in split {split!r}")
    return chosen


def eval_cache_key(corpus: Path, shape: str) -> str:
    """The folder is part of the key: documents are identified by their path, so the same
    files ingested from a second checkout would otherwise sit twice in one cached index."""
    return corpus_hash(corpus, f"{shape}|{corpus.resolve()}")


def eval_index(settings: Settings, corpus: Path, shape: str) -> tuple[Settings, list[str]]:
    """Settings pointing at a cached index of ``corpus`` (built or brought up to date)."""
    cache = settings.cache_dir / "eval" / f"default-{eval_cache_key(corpus, shape)}"
    eval_settings = settings.model_copy(update={"index_dir": cache})
    report = Index(eval_settings).ingest([corpus])
    # A partial index would understate every metric: the report says so.
    return eval_settings, [f.source for f in report.failed]


def _shape(settings: Settings, pipeline: str = "default") -> str:
    return (f"{pipeline}|{embedder_fingerprint(settings.embedder)}|{settings.chunk_min_tokens}|"
            f"{settings.chunk_max_tokens}|{settings.chunk_overlap_tokens}|v1")


def evaluate_intent_set(settings: Settings, path: Path, split: str = "test") -> dict[str, Any]:
    """Intent accuracy on ``split`` of a classifier trained on the training split."""
    from assistant.answer.intents import evaluate_intents
    from assistant.embedding.embedders import make_embedder

    return evaluate_intents(make_embedder(settings.embedder), path, split)


def evaluate_dialogue_set(settings: Settings, path: Path, corpus: Path, *,
                          split: str | None = None, out: Path | None = None,
                          progress: Callable[[int, int], None] | None = None,
                          role: Role | None = None) -> dict[str, Any]:
    """Whole conversations over a cached index of ``corpus``."""
    from assistant.evaluation.dialogues import evaluate_dialogues

    eval_settings, failures = eval_index(settings, corpus, _shape(settings))
    report = evaluate_dialogues(eval_settings, path, split=split, role=role, out=out,
                                progress=progress)
    report["index_failures"] = failures
    return report
def _score(q: EvalQuestion, retrieved: list[dict[str, Any]], answer: dict[str, Any],
           latency: float, page_text: Callable[[str, int | None], str], k: int) -> Row:
    top5 = retrieved[:5]
    first = next((r for r, h in enumerate(retrieved[:k]) if h["source"] in q.sources), None)
    span_found = None
    if q.span:
        span_found = any(h["source"] in q.sources and span_in(q.span, h["text"]) for h in top5)
    folded_answer = fold(answer.get("answer", ""))
    contains = [fold(s) in folded_answer for s in q.answer_contains]
    valid = [
        " ".join(c["quote"].split()) in " ".join(page_text(c["source"], c["page"]).split())
        for c in answer.get("citations", [])
    ]
    mode = answer.get("mode", "extractive")
    return Row(
        id=q.id, question=q.question, expected=q.sources,
        retrieved=[{"source": h["source"], "page": h["page"]} for h in retrieved[:k]],
        first_hit_rank=first, span_found=span_found, refused=bool(answer.get("refused")),
        must_refuse=not q.sources, answer=answer.get("answer", ""),
        contains_found=contains, citations_valid=valid,
        cited=[c["source"] for c in answer.get("citations", [])],
        latency_ms=round(latency, 2), mode=mode,
        dropped_sentences=int(answer.get("dropped_sentences", 0)),
        kept_sentences=_sentences(answer.get("answer", "")) if mode == "llm" else 0,
        fallback_reason=answer.get("fallback_reason"),
    )


def _sentences(text: str) -> int:
    from assistant.answer.grounding import split_written

    return len(split_written(text))


def evaluate(
    settings: Settings,
    questions_path: Path,
    corpus: Path,
    *,
    k: int = 5,
    pipeline: str = "default",
    sample: int | None = None,
    seed: int = 0,
    out: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    role: Role | None = None,
    split: str | None = None,
    llm: bool = False,
    index_dir: Path | None = None,
) -> dict[str, Any]:
    """Build (or reuse) an index of ``corpus`` in the cache and score ``questions_path``
    (only its ``split`` rows when given); with ``llm``, the written answers are scored too,
    beside the extractive ones; with ``index_dir``, that existing index is scored as it is
    (its visibilities included)."""
    if k <= 0:
        raise ConfigError(f"k must be > 0, got {k}")
    if llm and not settings.llm_url:
        raise ConfigError("--llm demande un modèle : définissez ASSISTANT_LLM_URL")
    if not corpus.is_dir():
        raise ConfigError(f"corpus folder not found: {corpus}")
    questions = select_split(read_questions(questions_path), split)
    if sample is not None:
        if sample <= 0:
            raise ConfigError(f"sample must be > 0, got {sample}")
        questions = random.Random(seed).sample(questions, min(sample, len(questions)))

    shape = _shape(settings, pipeline)
    cache = settings.cache_dir / "eval" / f"{pipeline}-{eval_cache_key(corpus, shape)}"
    build_t0 = time.perf_counter()
    index_failures: list[str] = []
    if index_dir is not None:
        if pipeline != "default":
            raise ConfigError("an existing index (--index) is scored with the default pipeline")
        if not (index_dir / "catalog.sqlite3").is_file():
            raise ConfigError(f"no index in {index_dir} (no catalog.sqlite3)")
        eval_settings = settings.model_copy(update={"index_dir": index_dir})
        ask, page_text = _default_asker(eval_settings, k, role)
    elif pipeline == "default":
        eval_settings, index_failures = eval_index(settings, corpus, shape)
        ask, page_text = _default_asker(eval_settings, k, role)
    elif pipeline == "naive":
        from assistant.evaluation.naive import NaivePipeline

        naive = NaivePipeline(cache, corpus)
        ask, page_text = naive.ask_fn(k), naive.page_text
    else:
        raise ConfigError(f"pipeline must be 'default' or 'naive', got {pipeline!r}")
    build_s = time.perf_counter() - build_t0

    askers = [("extractive", ask)]
    if llm:
        if pipeline != "default":
            raise ConfigError("--llm needs the default pipeline")
        askers.append(("llm", _default_asker(eval_settings, k, role, llm=True)[0]))
    rows: list[Row] = []
    llm_rows: list[Row] = []
    for i, q in enumerate(questions):
        for name, asker in askers:
            t0 = time.perf_counter()
            retrieved, answer = asker(q)
            latency = (time.perf_counter() - t0) * 1000
            row = _score(q, retrieved, answer, latency, page_text, k)
            (llm_rows if name == "llm" else rows).append(row)
        if progress:
            progress(i + 1, len(questions))
    report = summarize(rows)
    report["split"] = split or "all"
    if llm:
        report["llm"] = summarize(llm_rows) | llm_summary(llm_rows)
    report["pipeline"] = pipeline
    report["index_build_s"] = round(build_s, 1)
    report["index_failures"] = index_failures
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", encoding="utf-8") as handle:
            for row in rows + llm_rows:
                handle.write(json.dumps(asdict(row), ensure_ascii=False) + "\n")
    return report
