"""The sentence check: each written sentence must be backed by the passages it cites."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.indexing.lexical import ABBREVIATIONS, analyze, fold

_MARKER = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")
# A sentence ends at . ! ? or … followed by a space (or the end), or after its [n] marker.
_SENTENCE = re.compile(
    r".+?(?:(?<!\b[A-Z])(?<!\bMme)[.!?…](?=\s|$)(?:\s*\[[\d,; ]+\])*"  # "M." is no end
    r"|\](?=\s+[A-ZÀ-Ý«])|$)",
    re.DOTALL,
)
_NUMBER = re.compile(r"\d+(?:[ \u00a0\u202f.]\d{3})*(?:,\d+)?")
_NAME = re.compile(r"(?<![\w-])([A-ZÀ-Ý][\w'’-]*[\w])")
_MONTHS = ("janvier", "fevrier", "mars", "avril", "mai", "juin", "juillet", "aout",
           "septembre", "octobre", "novembre", "decembre")
# Imperatives aimed at the writer, planted in a document: such sentences are not
# evidence and are never shown to the model as text to follow.
INSTRUCTION = re.compile(
    r"\b(ignore[zr]?|oublie[zr]?|ne tiens? pas compte)\b.{0,40}\b(consignes?|instructions?|"
    r"r[eè]gles?|pr[ée]c[ée]dent)|\b(r[ée]ponds|r[ée]pondez|[ée]cris|[ée]crivez|dis|dites)\b"
    r".{0,30}\b(que|uniquement|seulement|toujours)\b|\b(system prompt|assistant ia|tu es "
    r"d[ée]sormais|you are now|ignore (all|previous))",
    re.IGNORECASE,
)


@dataclass
class Written:
    """One sentence of the model's text and the passage numbers it cites."""

    text: str  # without its [n] markers
    refs: list[int] = field(default_factory=list)


@dataclass
class Verdict:
    ok: bool
    reason: str = ""  # why it was dropped: "sans citation", "chiffre absent: 2019", …
    coverage: float = 0.0


def split_written(text: str) -> list[Written]:
    """Sentences of a written answer, each with the [n] markers inside or right after it."""
    out: list[Written] = []
    for match in _SENTENCE.finditer(text.strip()):
        raw = match.group(0).strip()
        if not raw:
            continue
        refs = [int(n) for m in _MARKER.finditer(raw) for n in re.split(r"[,;]", m.group(1))]
        plain = _MARKER.sub("", raw).strip()
        if not any(ch.isalnum() for ch in plain):
            if refs and out:  # a marker alone after the previous sentence
                out[-1].refs.extend(refs)
            continue
        out.append(Written(plain, sorted(set(refs))))
    return out


def _numbers(text: str) -> set[str]:
    return {re.sub(r"[ \u00a0\u202f.]", "", m.group(0)) for m in _NUMBER.finditer(text)}


def facts(sentence: str) -> list[str]:
    """Numbers, amounts, dates, percentages and proper names the sentence states."""
    found = sorted(_numbers(sentence))
    folded = fold(sentence)
    found += [m for m in _MONTHS if re.search(rf"\b{m}\b", folded)]
    for i, match in enumerate(_NAME.finditer(sentence)):
        word = match.group(1)
        acronym = sum(c.isupper() for c in word) >= 2
        at_start = match.start() == 0 or sentence[:match.start()].rstrip().endswith((":", "«"))
        if i == 0 and at_start and not acronym:
            continue  # a capital that only starts the sentence
        found.append(word)
    return found


def evidence(text: str) -> str:
    """A passage without the sentences that give orders to the writer."""
    return " ".join(s for s in re.split(r"(?<=[.!?])\s+", text) if not INSTRUCTION.search(s))


def check(sentence: Written, passages: dict[int, str], question: str,
          min_coverage: float) -> Verdict:
    """Keep a sentence only if its cited passages hold its facts and most of its words."""
    if not sentence.refs:
        return Verdict(False, "sans citation")
    unknown = [n for n in sentence.refs if n not in passages]
    if unknown:
        return Verdict(False, f"passage inexistant [{unknown[0]}]")
    if INSTRUCTION.search(sentence.text):
        return Verdict(False, "consigne")
    cited = " ".join(evidence(passages[n]) for n in sentence.refs)
    folded = fold(cited)
    numbers = _numbers(cited)
    for fact in facts(sentence.text):
        if fact[0].isdigit():
            if fact not in numbers:
                return Verdict(False, f"chiffre absent : {fact}")
        elif not _named(fact, folded):
            return Verdict(False, f"nom absent : {fact}")
    covered = coverage(sentence.text, cited, question)
    if covered < min_coverage:
        return Verdict(False, f"mots non couverts ({covered:.2f})", covered)
    return Verdict(True, "", covered)


def _named(name: str, folded: str) -> bool:
    """The name as whole words ("CA" is not inside "cadre"), or its known long form
    ("PVD" for "Petites villes de demain")."""
    key = fold(name)
    if re.search(rf"(?<!\w){re.escape(key)}(?!\w)", folded):
        return True
    long_form = ABBREVIATIONS.get(key)
    return bool(long_form) and fold(long_form) in folded


def coverage(sentence: str, passage: str, question: str) -> float:
    """Share of the sentence's content words (those not taken from the question) found
    in the passage; restating the question costs nothing, adding to it must be backed."""
    asked = set(analyze(question))
    terms = [t for t in analyze(sentence) if t not in asked and not t[0].isdigit()]
    have = set(analyze(passage))
    return sum(t in have for t in terms) / len(terms) if terms else 1.0
