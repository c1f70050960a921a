"""One turn of the Discuter tab: question → answer message, copy text and feedback record."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from assistant.answer.conversation import Conversation
from assistant.answer.writer import stream_answer
from assistant.errors import ConfigError
from assistant.search.access import Role
from assistant.service import open_index
from assistant.settings import Settings
from assistant.web import render
from assistant.web.library import Library
from assistant.web.tabs import filters_for_commune


@dataclass
class ChatTurn:
    history: list[dict[str, Any]]  # the chatbot messages, this turn appended
    last: dict[str, Any] | None  # what feedback is recorded about (None: nothing to rate)
    plain_text: str  # «Copier la réponse»
    turns: list[dict[str, Any]]  # the conversation's turns, for follow-ups


# Words frequent in English questions and absent from French ones: two of them, and no
# French word of the same kind, make a question English.
_ENGLISH = frozenset(
    "the what which who whom how when where why is are does do did can could should would "
    "of and for with about this that these my our your there their please".split()
)
_FRENCH = frozenset(
    "le la les un une des du de quel quelle quels quelles qui que quoi comment quand où "
    "est sont pour avec sur dans et ou pas une ce cette nos notre votre vos il elle on".split()
)
_WORD = re.compile(r"[a-zà-öø-ÿœ']+")
ENGLISH_NOTICE = (
    "L'assistant répond en français, à partir de documents en français : posez votre "
    "question en français. Par exemple : « Comment est financé le chef de projet ? »"
)


def is_english(question: str) -> bool:
    """True for a question written in English (the corpus and the answers are French)."""
    words = [w.strip("'") for w in _WORD.findall(question.lower())]
    english = sum(w in _ENGLISH for w in words)
    french = sum(w in _FRENCH for w in words)
    return english >= 2 and english > 2 * french


def check_question(question: str | None) -> str:
    """The question stripped; a ConfigError in French when there is nothing to ask."""
    text = (question or "").strip()
    if not any(ch.isalnum() for ch in text):
        raise ConfigError("écrivez d'abord votre question, puis envoyez-la")
    return text


def document_ids(settings: Settings, role: Role | None = None) -> dict[str, str]:
    """source path → document id, for citations built without retrieval hits (status
    records, funding lists), which must open their document like any other; only the
    documents ``role`` may see (all of them without a role: CLI, tests)."""
    index = open_index(settings)
    docs = Library(index, role).documents() if role is not None else index.catalog.documents()
    return {d.source: d.doc_id for d in docs}


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
    question = check_question(question)
    history.append({"role": "user", "content": html.escape(question)})
    if indexing:
        wait = f'<div class="pvd-wait">{html.escape(render.INDEXING_MESSAGE)}</div>'
        history.append({"role": "assistant", "content": wait})
        yield ChatTurn(history, None, "", list(turns or []))
        return
    if is_english(question):  # the hash embedder's intents do not flag it: checked here
        notice = render.notice_html("Posez votre question en français",
                                    html.escape(ENGLISH_NOTICE))
        history.append({"role": "assistant", "content": notice})
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
    doc_ids = {**document_ids(settings, role), **render.citation_doc_ids(answer)}
    content = render.render_answer_html(
        answer, doc_ids, turn=turn, commune_names=names, contact=settings.contact
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
