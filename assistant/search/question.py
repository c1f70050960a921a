"""The question as every search sees it: trimmed, bounded, refused when it has no words."""

from __future__ import annotations

from assistant.errors import ConfigError

MAX_QUESTION_CHARS = 2000


def clean_question(question: str) -> str:
    """Trim a question; an empty or punctuation-only one is a usage error."""
    q = " ".join(question.split())
    if not any(ch.isalnum() for ch in q):
        raise ConfigError("la question est vide : posez une question avec des mots")
    return q[:MAX_QUESTION_CHARS]
