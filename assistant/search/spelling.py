"""Typos in a question mended against the words the index holds («comunes», «subvension»)."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable
from functools import lru_cache

from assistant.indexing.lexical import STOP_WORDS, analyze, fold

_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
# Shorter words are too often another word one letter away («loyer» / «foyer»).
_MIN_LENGTH = 5
# A substituted letter is tried from this length on («proget» → «projet»); below it, only a
# letter missing, doubled or swapped («comunes»).
_SUBSTITUTION_FROM = 6


@lru_cache(maxsize=1)
def french_words() -> dict[str, int]:
    """pyspellchecker's French frequency list, accents folded (officials type «repondu» for
    «répondu»): word → frequency; empty when the package is absent, and nothing is mended."""
    try:
        from importlib.resources import files

        data = files("spellchecker").joinpath("resources", "fr.json.gz").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError):
        return {}
    out: dict[str, int] = {}
    for word, count in json.loads(gzip.decompress(data)).items():
        folded = fold(word)
        out[folded] = max(out.get(folded, 0), int(count))
    return out


def _edits(word: str) -> set[str]:
    """Words one deletion, insertion, transposition (or, if long, substitution) away."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    out = {a + b[1:] for a, b in splits if b}
    out |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    out |= {a + c + b for a, b in splits for c in _LETTERS}
    if len(word) >= _SUBSTITUTION_FROM:
        out |= {a + c + b[1:] for a, b in splits if b for c in _LETTERS}
    out.discard(word)
    return out


def other_number(word: str) -> str:
    """The word in the other number, as officials type it: «intercos» ↔ «interco»."""
    return word[:-1] if word.endswith("s") else word + "s"


def mend(question: str, known: Callable[[str], bool], weight: Callable[[str], float],
         near: Callable[[str], bool]) -> str:
    """``question`` with each misspelt word replaced by its most likely spelling.

    A word whose stem no passage uses takes its other number when the index holds that one's
    stem. Otherwise it is misspelt when it is no French word (accents aside), no passage
    uses its stem,
    and an indexed stem is one typo away (``near``, one read of the index: most words have
    none). Its spelling is the one-typo variant whose stem the index holds, a French word
    or the typed stem mended, the most common there (lowest ``weight``, an idf), then in
    French. Words shorter than five letters, hyphenated words and stop words are never
    touched.
    """
    def fix(m: re.Match[str]) -> str:
        word = m.group(0)
        folded = fold(word)
        if len(folded) < _MIN_LENGTH or folded in STOP_WORDS or "-" in word:
            return word
        stems = analyze(folded)
        if len(stems) != 1 or known(stems[0]):
            return word
        # «fonciere» and «foncières» stem apart (foncier / fonci) though one word: the other
        # number, when the index holds its stem.
        other = other_number(folded)
        other_stems = analyze(other)
        if len(other_stems) == 1 and known(other_stems[0]):
            return other
        if not near(stems[0]):
            return word
        # Read only now: most questions have no word to mend and never load the list.
        words = french_words()
        if not words or folded in words:
            return word
        best: tuple[float, int, str] | None = None
        for candidate in _edits(folded):
            cand_stems = analyze(candidate)
            if len(cand_stems) != 1 or not known(cand_stems[0]):
                continue
            # A French word, or an indexed word whose stem is the typed one mended
            # («depolution» → «dépollution», a term of the trade no word list holds); not a
            # letter that makes the stemmer cut elsewhere («questionaise» → «question»).
            if candidate not in words and cand_stems[0] not in _edits(stems[0]):
                continue
            # The most common stem in the index, then the most common French word.
            score = (weight(cand_stems[0]), -words.get(candidate, 0), candidate)
            if best is None or score < best:
                best = score
        return word if best is None else best[2]

    return _WORD.sub(fix, question)
