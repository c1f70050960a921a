"""One turn of the Discuter tab: question → answer message, copy text and feedback record."""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from assistant.answer.conversation import Conversation, answer_question
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
    history = list(history or [])
    question = (question or "").strip()
    if not question:
        raise ConfigError("posez une question avant d'envoyer")
    history.append({"role": "user", "content": html.escape(question)})
    if indexing:
        wait = f'<div class="pvd-wait">{html.escape(render.INDEXING_MESSAGE)}</div>'
        history.append({"role": "assistant", "content": wait})
        return ChatTurn(history, None, "", list(turns or []))
    _, scope = filters_for_commune(commune, dict(communes))
    conversation = Conversation.from_list(list(turns or []))
    # The commune named in the question, or the session's, or the conversation's.
    answer = answer_question(settings, question, commune=commune or None,
                             conversation=conversation, scope=scope, role=role)
    turn = sum(1 for m in history if m.get("role") == "assistant")
    names = {code: getattr(c, "name", code) for code, c in communes.items()}
    content = render.render_answer_html(
        answer, turn=turn, commune_names=names, contact=settings.contact
    )
    history.append({"role": "assistant", "content": content})
    last = {
        "question": answer.question,
        "answer": answer.text,
        "citations": [c.to_dict() for c in answer.citations],
        "commune": commune or "",
        "refused": answer.refused,
    }
    return ChatTurn(history, last, render.answer_plain_text(answer), conversation.to_list())
