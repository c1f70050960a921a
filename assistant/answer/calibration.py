"""Fitting the answerability model: gold features, a fit on train, a threshold on dev."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from assistant.answer.answerability import (
    FEATURE_NAMES,
    AnswerabilityModel,
    Features,
    fit,
)
from assistant.answer.conversation import Idf, scope_filters
from assistant.answer.extractive import judge
from assistant.answer.intents import classifier_for
from assistant.answer.sentences import Candidate, collect, score
from assistant.communes.registry import load_registry
from assistant.embedding.adapter import QueryAdapter
from assistant.embedding.embedders import embedder_fingerprint
from assistant.indexing.index import open_index
from assistant.search.question import expand_question
from assistant.search.retrieval import Retrieval, retrieve
from assistant.settings import Settings


@dataclass
class QuestionRead:
    """What the plain cited route reads for one question."""

    question: str  # as answer_question reads it (shorthand spelled out)
    retrieval: Retrieval
    cands: list[Candidate]  # its sentences, scored
    idf: Idf
    out_of_scope: float  # the intent classifier's probability
    about: tuple[str, str] | None  # (INSEE, name) of the commune asked about


def question_candidates(settings: Settings, question: str, commune: str | None, k: int = 5,
                        *, ranking: QueryAdapter | None = None, index_adapter: bool = True
                        ) -> QuestionRead:
    """What the plain cited route reads for ``question`` (commune-scoped when a commune is
    selected), whatever route would answer it. Sentences are ranked with ``ranking`` when
    given, else with the index's sentence adapter unless ``index_adapter`` is false
    (fitting one reads the plain ranking)."""
    question = expand_question(question)  # as answer_question reads it
    index = open_index(settings)
    registry = load_registry(settings)
    vector = index.embedder.embed([question], is_query=True)[0]
    classifier = classifier_for(index.embedder, settings.model_cache_dir,
                                embedder_fingerprint(settings.embedder))
    prediction = classifier.predict(question, vector)
    named = [m.commune for m in registry.find_in_text(question, prefer_dep="73")
             if m.status == "found" and m.commune is not None]
    target = named[0] if named else (registry.match(commune).commune if commune else None)
    filters = scope_filters(registry, target) if target is not None else None
    retrieval = retrieve(index, question, k=k, filters=filters, query_vector=vector,
                         settings=settings)
    idf = Idf(index)
    weights = {t: idf.get(t) for t in set(retrieval.query_terms)}
    cands = collect(retrieval.hits, index.catalog, question=question)
    adapter = ranking or (index.sentence_adapter
                          if index_adapter and settings.sentence_adapter else None)
    score(cands, question, vector, index.passage_embedder, weights,
          ranking_vector=adapter.adapt(vector) if adapter is not None else None)
    about = (target.insee, target.name) if target is not None else None
    return QuestionRead(question, retrieval, cands, idf,
                        prediction.probabilities.get("out_of_scope", 0.0), about)


def question_features(settings: Settings, question: str, commune: str | None,
                      k: int = 5) -> Features:
    """The features the plain cited route computes for ``question``."""
    read = question_candidates(settings, question, commune, k)
    placeholder = AnswerabilityModel(dict.fromkeys(FEATURE_NAMES, 0.0), 0.0, 0.5,
                                     dict.fromkeys(FEATURE_NAMES, 0.0),
                                     dict.fromkeys(FEATURE_NAMES, 1.0), {})
    return judge(read.question, read.retrieval, read.cands, read.idf, placeholder,
                 read.out_of_scope, read.about).features


def _rates(scored: list[tuple[float, bool]], threshold: float) -> dict[str, float]:
    refused = [(p, y) for p, y in scored if p < threshold]
    must = [(p, y) for p, y in scored if not y]
    tp = sum(1 for _, y in refused if not y)
    precision = tp / len(refused) if refused else 1.0
    recall = tp / len(must) if must else 1.0
    wrongly = sum(1 for p, y in scored if y and p < threshold)
    return {"precision": round(precision, 4), "recall": round(recall, 4),
            "refused_answerable": wrongly}


def calibrate(settings: Settings, rows: list[dict[str, Any]]) -> AnswerabilityModel:
    """Fit on the ``train`` rows, choose the threshold on the ``dev`` rows (F1 of the
    refusals, ties to the lower threshold so fewer answerable questions are refused)."""
    t0 = time.perf_counter()
    data: dict[str, list[tuple[Features, bool]]] = {"train": [], "dev": []}
    for row in rows:
        if row.get("split") in data:
            f = question_features(settings, row["question"], row.get("commune"))
            data[row["split"]].append((f, bool(row["expected_sources"])))
    # Questions the type rule refuses anyway (a name, a phone asked) teach the model nothing.
    weights, bias, mean, scale = fit([(f, y) for f, y in data["train"]
                                      if not (f.person_or_contact_missing
                                              or f.commune_figure_missing
                                              or f.asked_unknown
                                              or f.scope_missing)])
    model = AnswerabilityModel(weights, bias, 0.5, mean, scale, {})
    dev = [(model.probability(f), y) for f, y in data["dev"]]
    best = (-1.0, 0.5)
    for step in range(5, 96):
        threshold = step / 100
        r = _rates(dev, threshold)
        f1 = (2 * r["precision"] * r["recall"] / (r["precision"] + r["recall"])
              if r["precision"] + r["recall"] else 0.0)
        if f1 > best[0] + 1e-9:
            best = (f1, threshold)
    model.threshold = best[1]
    model.meta = {
        "embedder": open_index(settings).embedder.model_id,
        "fitted_on": "eval/gold.jsonl split=train", "n_train": len(data["train"]),
        "threshold_on": "eval/gold.jsonl split=dev", "n_dev": len(data["dev"]),
        "dev": _rates(dev, model.threshold), "seconds": round(time.perf_counter() - t0, 1),
        "features": list(asdict(data["train"][0][0])) if data["train"] else [],
    }
    return model
