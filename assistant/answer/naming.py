"""Which commune a question names: the registry's strict scan, then the forms officials type."""

from __future__ import annotations

import re

from assistant.communes.registry import Commune, Registry
from assistant.indexing.lexical import fold, fold_words
from assistant.types import Answer


def clarify(question: str, candidates: list[Commune]) -> Answer:
    """Several communes bear the name typed: ask which one."""
    names = " ; ".join(c.label for c in candidates)
    return Answer(
        question=question,
        text=f"Plusieurs communes portent ce nom : {names}. Précisez laquelle "
             "(par exemple avec le département ou le code INSEE).",
        refused=True, citations=[], intent="clarify",
        clarify=[c.to_dict() for c in candidates],
    )


def lenient_commune(registry: Registry, question: str) -> tuple[Commune | None,
                                                                list[tuple[int, int]]]:
    """A Savoie commune typed in lower case («fourneaux», «les echelles»): the strict scan
    wants a capital for names that are also words, but officials rarely type one."""
    folded = f" {fold_words(question)} "
    best: tuple[int, Commune, str] | None = None
    for c in registry.all():
        if c.dep_code != "73":
            continue
        for form in short_forms(c.name):
            if f" {form} " in folded and (best is None or len(form) > best[0]):
                best = (len(form), c, form)
    if best is None:
        return None, []
    # The span in the original text, for removing the name from a follow-up.
    pattern = r"\W+".join(re.escape(w) for w in best[2].split())
    m = re.search(pattern, fold(question))
    return best[1], [(m.start(), m.end())] if m else []


def short_forms(name: str) -> list[str]:
    """How officials type a Savoie name: whole, without its article («pont de
    beauvoisin»), or its first two words when it starts with Saint («saint genix», «st
    genix»)."""
    words = fold_words(name).split()
    forms = [" ".join(words)]
    if words and words[0] in ("le", "la", "les") and len(words) > 1:
        forms.append(" ".join(words[1:]))
    if len(words) >= 3 and words[0] == "saint":
        forms += [f"saint {words[1]}", f"st {words[1]}", "st " + " ".join(words[1:])]
    return forms


def named_commune(registry: Registry, question: str) -> tuple[Commune | None,
                                                              list[tuple[int, int]],
                                                              Answer | None]:
    """The commune the question names (and the spans of its mentions), or a request to
    say which one when the name is ambiguous."""
    found = registry.find_in_text(question, prefer_dep="73") if len(registry) else []
    spans = [(m.start, m.end) for m in found if m.start is not None and m.end is not None]
    for m in found:
        if m.status == "found" and m.commune is not None:
            # «et modane fourneaux ?»: the lower-case name beside it is a name too, not a
            # word of the question.
            _, more = lenient_commune(registry, question)
            spans += [s for s in more if not any(a < s[1] and s[0] < b for a, b in spans)]
            return m.commune, spans, None
    for m in found:
        if m.status == "ambiguous":
            return None, spans, clarify(question, m.candidates)
    lenient, lenient_spans = lenient_commune(registry, question)
    return lenient, spans + lenient_spans, None
