"""«On est PVD ?», «on en est où ?»: whether a commune is in the programme, and at what stage."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from assistant.answer.routes import status_answer
from assistant.communes.registry import Commune
from assistant.indexing.lexical import fold_words
from assistant.types import Answer

if TYPE_CHECKING:
    from assistant.answer.conversation import Context

_IN_IT = re.compile(
    r"\b(est|sommes|suis|etes|sont|fait partie|font partie|fait parti|faisons partie|fais partie|"
    r"retenue?s?|selectionnee?s?|laureate?s?|inscrite?s?|membres?|dedans)\b"
    r"(?: \w+){0,4} ?\b(pvd|petites? villes? de demain|programme)\b|"
    r"\b(pvd|petites? villes? de demain)( ou pas| ou non)?$")
# «on est dans quelle étape du programme ?», «on est toujours PVD après 2026 ?»: another
# question than whether the commune is in.
_OTHER_QUESTION = re.compile(
    r"\b(quel\w*|quand|comment|combien|cb|pourquoi|ou|quoi|koi|qui|etape\w*|eligible\w*|"
    r"apres|avant|encore|toujours|si|depuis|20\d\d|conditions?|criteres?|sortir|perdre|"
    # «on est la seule commune PVD de l'interco ?»: the others, a registry fact.
    r"seule?s?|autres?|interco\w*|communaute|epci|agglo\w*|cc|ca|avec)\b")


def asks_membership(question: str) -> bool:
    """«on est vraiment pvd nous ?», «Modane elle fait partie des petites villes de demain
    ?»: a yes or no on the commune being in the programme."""
    folded = fold_words(question)
    return bool(_IN_IT.search(folded)) and not _OTHER_QUESTION.search(
        re.sub(r"\bou (pas|non)\b", " ", folded)) and (
        len(folded.split()) <= 14)


def membership_answer(ctx: Context, commune: Commune, question: str) -> Answer | None:
    """«Oui, Fourneaux fait partie du programme», with its selection cited from its status
    record; ``None`` when no record follows the commune."""
    status = status_answer(ctx, commune, "sélection dans le programme")
    if status is None or status.refused or not status.citations:
        return None
    status.question = question
    status.text = (f"Oui, {commune.name} fait partie du programme Petites villes de demain. "
                   f"{status.text}")
    return status


# «on est à quelle étape du programme ?», «on en est où ?»: the stage of our own project.
_OUR_STAGE = re.compile(r"\b(quelle etape|a quelle etape|ou en est|ou on en est|en (est|sont) ou|"
                        r"ou nous en sommes|ou en sommes nous|ou ca en est|avancement)\b")


def asks_our_stage(question: str) -> bool:
    """«on est dans quelle étape du programme ?», «notre projet il en est où ?»."""
    folded = fold_words(question)
    return bool(_OUR_STAGE.search(folded)) and bool(
        re.search(r"\b(on|nous|notre|nos|chez nous)\b", folded))
