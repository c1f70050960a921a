"""The answerer seam: extractive by default, written by a model when one is configured.

The understanding step (``answer_question``) runs first and keeps the refusal decision;
the model then writes from its top passages, and every sentence is checked
(:mod:`assistant.answer.grounding`). Anything that goes wrong gives the extractive
answer, with ``fallback_reason`` saying why.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from assistant.answer.conversation import Conversation, answer_question
from assistant.answer.extractive import REFUSAL
from assistant.answer.grounding import check, split_written
from assistant.answer.llm import build_messages, stream_text
from assistant.answer.passages import Passage, best_quote, citation_for, passages_for
from assistant.errors import ConfigError, LLMError
from assistant.indexing.index import open_index
from assistant.indexing.lexical import fold
from assistant.settings import Settings
from assistant.types import Answer, Citation

_NOT_FOUND = re.compile(
    r"non.trouve|ne (me )?(permettent|contiennent|mentionnent|precisent|disent|donnent) pas|"
    r"aucun (des )?passages?|pas d.information"
)
STRUCTURED = "réponse structurée (fiche ou liste), donnée telle quelle"


def llm_enabled(settings: Settings, requested: bool | None) -> bool:
    """``--llm``/``--no-llm`` over the configuration: on by default when a URL is set."""
    if requested is None:
        return settings.llm_url is not None
    if requested and not settings.llm_url:
        raise ConfigError(
            "--llm demande un modèle : définissez ASSISTANT_LLM_URL (serveur compatible "
            "OpenAI, par exemple http://127.0.0.1:8080/v1)"
        )
    return requested


def answer(settings: Settings, question: str, *, llm: bool | None = None,
           **kwargs: Any) -> Answer:
    """One answer, extractive or written and checked (see :func:`stream_answer`)."""
    final: Answer | None = None
    for item in stream_answer(settings, question, llm=llm, **kwargs):
        if isinstance(item, Answer):
            final = item
    assert final is not None  # stream_answer always ends with an Answer
    return final


def stream_answer(
    settings: Settings,
    question: str,
    *,
    llm: bool | None = None,
    conversation: Conversation | None = None,
    stop: Callable[[], bool] | None = None,
    **kwargs: Any,
) -> Iterator[str | Answer]:
    """Yield the model's draft as it grows (str), then the verified :class:`Answer`.

    The final answer replaces the draft: sentences the check drops disappear. ``stop``
    is polled between tokens; when it returns True the text so far is verified.
    """
    conversation = conversation if conversation is not None else Conversation()
    base = answer_question(settings, question, conversation=conversation, **kwargs)
    if not llm_enabled(settings, llm) or base.refused:
        yield base  # refusal stays with the understanding step
        return
    if not base.hits:
        base.fallback_reason = STRUCTURED
        yield base
        return
    t0 = time.perf_counter()
    index = open_index(settings)
    passages = passages_for(base, index.catalog, settings.llm_passages)
    turn = conversation.turns[-1] if conversation.turns else None
    previous = conversation.turns[-2].question if len(conversation.turns) > 1 else ""
    label = base.commune.name if base.commune else ""
    messages = build_messages(base.question, passages, commune=label,
                              topic=turn.intent if turn else "programme", previous=previous,
                              passage_chars=settings.llm_passage_chars)
    draft = ""
    first_ms: float | None = None
    try:
        for piece in stream_text(settings, messages, stop):
            if first_ms is None:
                first_ms = (time.perf_counter() - t0) * 1000
            draft += piece
            yield draft
    except LLMError as exc:
        yield fallback(base, str(exc))
        return
    result = verify(settings, base, passages, draft)
    result.timings_ms["llm_first_token"] = first_ms if first_ms is not None else -1.0
    result.timings_ms["llm"] = (time.perf_counter() - t0) * 1000
    result.timings_ms["total"] = base.timings_ms.get("total", 0.0) + result.timings_ms["llm"]
    yield result


def fallback(base: Answer, reason: str, dropped: int = 0) -> Answer:
    base.mode = "extractive"
    base.fallback_reason = reason
    base.dropped_sentences = dropped
    return base


def _prefix(base: Answer) -> str:
    """The commune line the understanding step put before its answer, kept as is."""
    head, sep, _ = base.text.partition(" : ")
    return head + sep if sep and head.startswith("Pour ") and base.commune else ""


def verify(settings: Settings, base: Answer, passages: list[Passage], draft: str) -> Answer:
    """Keep the written sentences their passages support; cite exact quotes for them."""
    if not draft.strip():
        return fallback(base, "réponse vide")
    sentences = split_written(draft)
    if not sentences:
        return fallback(base, "réponse illisible")
    by_n = {p.n: p for p in passages}
    texts = {p.n: p.text for p in passages}
    citations: list[Citation] = []
    by_quote: dict[tuple[int, str], Citation] = {}
    kept: list[str] = []
    dropped = 0
    said_not_found = False
    for sentence in sentences:
        if _NOT_FOUND.search(fold(sentence.text)) and not sentence.refs:
            said_not_found = True  # the model's "no answer here", not a claim to check
            continue
        verdict = check(sentence, texts, base.question, settings.llm_min_coverage)
        if not verdict.ok:
            dropped += 1
            continue
        located = [(n, best_quote(by_n[n], sentence.text)) for n in sentence.refs]
        if any(where is None for _, where in located):
            dropped += 1  # no exact quote in one of its passages: not shown
            continue
        marks = []
        for n, where in located:
            assert where is not None
            page, quote = where
            cit = by_quote.get((n, quote))
            if cit is None:
                cit = by_quote[(n, quote)] = citation_for(by_n[n], len(citations) + 1, page,
                                                          quote)
                citations.append(cit)
            marks.append(f"[{cit.n}]" + (" (exemple)" if cit.exemple else ""))
        kept.append(f"{sentence.text} {' '.join(marks)}")
    if not kept:
        if said_not_found:
            return _model_refusal(settings, base, dropped)
        return fallback(base, f"aucune phrase vérifiée ({dropped} écartées)", dropped)
    return replace(base, text=_prefix(base) + " ".join(kept), refused=False,
                   citations=citations, timings_ms=dict(base.timings_ms), mode="llm",
                   dropped_sentences=dropped, fallback_reason=None)


def _model_refusal(settings: Settings, base: Answer, dropped: int) -> Answer:
    """The model says the passages do not answer: honoured as a refusal."""
    text = f"{REFUSAL} Les passages trouvés ne répondent pas à cette question."
    if settings.contact:
        text += f" Pour cette question, adressez-vous {settings.contact}."
    return replace(base, text=text, refused=True, citations=[],
                   timings_ms=dict(base.timings_ms), mode="llm", dropped_sentences=dropped,
                   fallback_reason=None)
