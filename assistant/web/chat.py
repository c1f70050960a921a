"""One turn of the Discuter tab: question → answer message, copy text and feedback record."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from assistant.answer.conversation import Conversation
from assistant.answer.writer import stream_answer
from assistant.errors import ConfigError
from assistant.search.access import Role
from assistant.settings import Settings
from assistant.web import render
from assistant.web.tabs import filters_for_commune


@dataclass
class ChatTurn:
    history: list[dict[str, Any]]  # the chatbot messages, this turn appended
    last: dict[str, Any] | None  # what feedback is recorded about (None: nothing to rate)
    plain_text: str  # «Copier la réponse»
    turns: list[dict[str, Any]]  # the conversation's turns, for follow-ups


def chat_turn(
    settings: Settings,
    question: str,
    history: list[dict[str, Any]] | None,
    commune: str,
    communes: Mapping[str, Any],
    *,
    indexing: bool = False,
    turns: list[dict[str, Any]] | None = None,
    role: Role | None = None,
) -> ChatTurn:
    """Answer ``question`` for ``commune`` ("" = all); while indexing, a polite wait message."""
    *_, final = stream_chat_turn(settings, question, history, commune, communes,
                                 indexing=indexing, turns=turns, role=role)
    return final


DRAFT_NOTE = ("Brouillon en cours d'écriture : la réponse vérifiée le remplacera, sans les "
              "phrases que les sources ne justifient pas.")


def stream_chat_turn(
    settings: Settings,
    question: str,
    history: list[dict[str, Any]] | None,
    commune: str,
    communes: Mapping[str, Any],
    *,
    indexing: bool = False,
    turns: list[dict[str, Any]] | None = None,
    role: Role | None = None,
    llm: bool | None = None,
    stop: Callable[[], bool] | None = None,
) -> Iterator[ChatTurn]:
    """Like :func:`chat_turn`, but the model's draft is shown as it is written (``last`` is
    None meanwhile); the last turn holds the verified answer, which replaces the draft."""
    history = list(history or [])
    question = (question or "").strip()
    if not question:
        raise ConfigError("posez une question avant d'envoyer")
    history.append({"role": "user", "content": html.escape(question)})
    if indexing:
        wait = f'<div class="pvd-wait">{html.escape(render.INDEXING_MESSAGE)}</div>'
        history.append({"role": "assistant", "content": wait})
        yield ChatTurn(history, None, "", list(turns or []))
        return
    _, scope = filters_for_commune(commune, dict(communes))
    conversation = Conversation.from_list(list(turns or []))
    # The commune named in the question, or the session's, or the conversation's.
    for item in stream_answer(settings, question, llm=llm, commune=commune or None,
                              conversation=conversation, scope=scope, role=role, stop=stop):
        if isinstance(item, str):
            draft = (f'<div class="pvd-draft"><p>{html.escape(item)}</p>'
                     f'<p class="pvd-draft-note"><em>{html.escape(DRAFT_NOTE)}</em></p></div>')
            yield ChatTurn([*history, {"role": "assistant", "content": draft}], None, "",
                           list(turns or []))
            continue
        answer = item
    turn = sum(1 for m in history if m.get("role") == "assistant")
    names = {code: getattr(c, "name", code) for code, c in communes.items()}
    content = render.render_answer_html(
        answer, turn=turn, commune_names=names, contact=settings.contact
    ) + mode_note(answer, settings)
    history.append({"role": "assistant", "content": content})
    last = {
        "question": answer.question,
        "answer": answer.text,
        "citations": [c.to_dict() for c in answer.citations],
        "commune": commune or "",
        "refused": answer.refused,
    }
    yield ChatTurn(history, last, render.answer_plain_text(answer), conversation.to_list())


def mode_note(answer: Any, settings: Settings) -> str:
    """One line under a written answer, or a fallback, saying how it was made."""
    if answer.mode == "llm" and not answer.refused:
        dropped = answer.dropped_sentences
        gone = (f" ; {dropped} phrase{'s' if dropped > 1 else ''} non justifiée"
                f"{'s' if dropped > 1 else ''} retirée{'s' if dropped > 1 else ''}"
                if dropped else "")
        text = (f"Réponse rédigée par le modèle {settings.llm_model}, chaque phrase "
                f"vérifiée dans le passage cité{gone}.")
    elif answer.fallback_reason and settings.llm_url:
        text = (f"Réponse extraite des documents (modèle non utilisé : "
                f"{answer.fallback_reason}).")
    else:
        return ""
    return f'<p class="pvd-mode"><small>{html.escape(text)}</small></p>'
