"""Greetings, thanks and questions outside the documents' field, answered without searching."""

from __future__ import annotations

import re

from assistant.indexing.lexical import fold
from assistant.types import Answer

_ENGLISH = re.compile(r"\b(what|how|when|who|which|where|is|are|the|does|can|please)\b")
_FRENCH_HINT = re.compile(r"\b(le|la|les|des|est|une|un|pour|quel|quelle|comment|et|de|du)\b")


def not_french(question: str) -> bool:
    """A question in English (two English function words and no French one)."""
    folded = fold(question)
    return len(_ENGLISH.findall(folded)) >= 2 and not _FRENCH_HINT.search(folded)


_HELLO = r"bonjour|bonsoir|bjr|slt|salut|hello|coucou"
# «bonjour», «ok merci bcp», «bonne journée»: nothing to search.
GREETING = re.compile(rf"^((ok|d accord|super|parfait|top|tres bien) )?({_HELLO}|merci|"
                      r"au revoir|bonne journee|bonne soiree)"
                      r"( (beaucoup|bien|encore|a vous|a toi|pour tout))*[ !.,]*$")
# «bjr, c koi une ORT ?»: a greeting before the question.
LEADING_GREETING = re.compile(rf"^\s*({_HELLO})\b[\s,!.:;-]*", re.IGNORECASE)


def greet(question: str) -> Answer:
    """Hello, or you're welcome, with what the assistant answers on."""
    text = ("Bonjour ! Je réponds, avec les passages cités, aux questions sur le programme "
            "Petites villes de demain en Savoie : étapes, éligibilité, financements, avancement "
            "de votre commune, études. Par exemple : « Où en est notre convention-cadre ? » ou "
            "« Qu'est-ce qu'une ORT ? ».")
    if fold(question).startswith(("merci", "ok merci", "au revoir", "bonne")):
        text = "Avec plaisir. D'autres questions sur le programme ? Je reste disponible."
    return Answer(question=question, text=text, refused=False, citations=[],
                  intent="out_of_scope")


def decline(question: str, contact: str, english: bool = False) -> Answer:
    """Outside the documents' field (or not in French): say what the assistant answers on."""
    if english:
        text = ("Je réponds en français, à partir des documents du programme Petites villes "
                "de demain : posez votre question en français, par exemple « Qu'est-ce "
                "qu'une ORT ? ».")
    else:
        text = ("Cette question sort du champ des documents indexés : je réponds sur le "
                "programme Petites villes de demain en Savoie (étapes, éligibilité, "
                "financements, avancement des communes, études).")
        if contact:
            text += f" Pour autre chose, adressez-vous {contact}."
    return Answer(question=question, text=text, refused=True, citations=[])


def place_not_covered(question: str, place: str, contact: str) -> Answer:
    """A place no document mentions («et à Cluses ?»): say so, and what the documents cover."""
    of = "d'" if fold(place)[:1] in "aeiouyh" else "de "
    text = (f"Les documents indexés ne parlent pas {of}{place[:1].upper()}{place[1:]} : ils "
            "portent sur le programme Petites villes de demain et ses 14 communes de Savoie.")
    if contact:
        text += f" Pour cette question, adressez-vous {contact}."
    return Answer(question=question, text=text, refused=True, citations=[])


def department_not_covered(question: str, department: str, contact: str) -> Answer:
    """«et en Haute-Savoie, lesquelles ?»: the documents list Savoie's communes only."""
    text = ("Les documents indexés ne couvrent que les 14 communes du programme Petites villes "
            f"de demain en Savoie : ils ne donnent pas celles de {department}.")
    if contact:
        text += f" Pour cette question, adressez-vous {contact}."
    return Answer(question=question, text=text, refused=True, citations=[])
