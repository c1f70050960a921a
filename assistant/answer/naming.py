"""Which commune a question names: the registry's strict scan, then the forms officials type."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable

from assistant.communes.registry import Commune, Registry
from assistant.indexing.lexical import STOP_WORDS, analyze, fold, fold_words
from assistant.search.question import expand_question
from assistant.search.spelling import french_words, other_number
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


# Words around a place named in a follow-up: «et pour …», «et celle d'…», «la commune de …».
_AROUND_A_PLACE = frozenset(
    "et mais sinon ou ok bon alors a pour sur chez de du d cote celle celui ceux la le l "
    "commune ville mairie maire".split())
_BEFORE_A_PLACE = frozenset("a et pour chez sur de d".split())
# «… en Haute-Savoie», «…, elle …», «… il est …»: a capitalised word opening a question is a
# name when its sentence goes on like this.
_NAME_THEN = re.compile(r"^\s*(?:en |, ?|elle |il |c'est |c est |est |fait |a-t-elle )")
_PLACE_WORD = re.compile(r"\b(?:(?:commune|ville|mairie|maire|habitants?) (?:de |d'|d |a |à )|"
                         r"(?:vers|près de|pres de|autour de|à côté de|a cote de) )"
                         r"(?P<name>[^\W\d_][\w-]{3,})", re.IGNORECASE)
_TOKEN = re.compile(r"[^\W\d_][\w-]*")


def unknown_place(registry: Registry, question: str, known: Callable[[str], bool]) -> str | None:
    """A place the documents never mention, named where a commune would be: «et a cluses
    ?», «et celle d'annecy ?», «Rumilly en Haute-Savoie, elle est PVD ?». The name as
    typed, or None. ``known`` tells whether a passage holds a stem. A word is such a
    name when no passage holds it, it is no French word and no Savoie commune's name is
    one typo away («albervile»)."""
    tokens = [(m.group(0), m.start()) for m in _TOKEN.finditer(question)]
    candidates: list[str] = []
    words = [fold(w) for w, _ in tokens]
    if words and words[0] in ("et", "mais", "sinon") and len(words) <= 8:
        # The first word after «et» and the prepositions of a place, before any other.
        for w, (typed, _) in zip(words[1:], tokens[1:], strict=True):
            if w == "les":
                break  # «et pour les bagnoles ?»: a thing; «Les Échelles» is known
            if w not in _AROUND_A_PLACE:
                candidates.append(typed)
                break
    for i, (typed, start) in enumerate(tokens):
        # «Rumilly en Haute-Savoie, elle …», «et à Cluses», «pour Annecy»; not «au moment
        # du Covid».
        # The question's first word may be typed in lower case («rumilly elle est pvd ?»).
        if ((typed[:1].isupper() and not typed.isupper()) or i == 0) and (
                _NAME_THEN.match(question[start + len(typed):])
                or (i > 0 and words[i - 1] in _BEFORE_A_PLACE)):
            candidates.append(typed)
    candidates += [m["name"] for m in _PLACE_WORD.finditer(question)]
    for name in candidates:
        if _unknown_name(registry, name, known):
            return name
    return None


def _unknown_name(registry: Registry, name: str, known: Callable[[str], bool]) -> bool:
    folded = fold(name)
    stems = analyze(folded)
    if len(folded) < 4 or folded in STOP_WORDS or not stems or any(known(s) for s in stems):
        return False
    # «intercos»: the other number of a word the passages use (as typos are mended), or of
    # a word officials type that the vocabulary spells out («interco»).
    other = other_number(folded)
    if any(known(s) for s in analyze(other)) or any(
            expand_question(w) != w for w in (folded, other)):
        return False
    names = [fold_words(c.name) for c in registry.all()]
    if folded in french_words() or folded.replace("-", " ") in " ".join(names):
        return False
    words = {w for name in names for w in name.split() if len(w) > 3}
    return not difflib.get_close_matches(folded, words, n=1, cutoff=0.8)


# Departments officials name beside Savoie; the documents list only Savoie's communes.
_DEPARTMENTS = {"haute savoie": "la Haute-Savoie", "isere": "l'Isère", "ain": "l'Ain",
                "hautes alpes": "les Hautes-Alpes", "drome": "la Drôme", "rhone": "le Rhône"}
_DEPARTMENT_NAMED = re.compile(r"\b(?:en|dans l|dans la|dans le|cote|pour l|pour la|de l|de la)"
                               r" (haute savoie|isere|ain|hautes alpes|drome|rhone)\b")
_COMMUNES_LISTED = re.compile(r"\b(quelles|lesquelles|lesquels|combien|cb|liste|les autres|"
                              r"d autres|autres communes|qui sont)\b")


def other_department(question: str) -> str | None:
    """«et en haute savoie ya lesquelles ?», «en isère c quelles les communes pvd ?»: the
    communes of a department the documents do not list, by its name; None otherwise."""
    folded = fold_words(question)
    m = _DEPARTMENT_NAMED.search(folded)
    if m is None or not (_COMMUNES_LISTED.search(folded)
                         and re.search(r"\b(communes|villes|lesquelles|lesquels)\b", folded)):
        return None
    return _DEPARTMENTS[m.group(1)]
