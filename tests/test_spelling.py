"""Typos mended against the index's words, never a French word the index happens to lack."""

import pytest

from assistant.indexing.lexical import analyze
from assistant.search.spelling import french_words, mend

# A toy index: the stems it holds and their idf (lower = more common).
_INDEX = {s: 1.0 for s in analyze("communes subvention projet questionnaire habitants "
                                  "convention répondants surface")}


def _mend(text: str) -> str:
    return mend(text, _INDEX.__contains__, lambda s: _INDEX.get(s, 9.0),
                lambda s: any(_one_typo(s, k) for k in _INDEX))


def _one_typo(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long_ = sorted((a, b), key=len)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def test_french_words_are_loaded_folded():
    words = french_words()
    assert "repondu" in words and "prevu" in words  # «répondu», «prévu» typed without accents


@pytest.mark.parametrize(("typed", "meant"), [
    ("ya combien de comunes", "ya combien de communes"),
    ("des subvension pour la place", "des subvention pour la place"),
    ("le chef de proget", "le chef de projet"),
    ("ils ont repondu au questionaire", "ils ont repondu au questionnaire"),
])
def test_typos_are_mended(typed, meant):
    assert _mend(typed) == meant


@pytest.mark.parametrize("typed", [
    "le parc il ferait quelle surface",  # «ferait» is French, though unindexed
    "quel est le salaire du chef",  # a word the documents lack is not bent into another
    "Saint-Genix-les-Villages",  # hyphenated names are left alone
])
def test_right_words_are_left_alone(typed):
    assert _mend(typed) == typed


def test_the_other_number_is_taken_when_only_it_is_indexed():
    # Snowball stems «commission» «commiss» but «commissions» «comm».
    index = set(analyze("les commissions"))
    assert mend("la commission", index.__contains__, lambda s: 1.0, lambda s: False) == (
        "la commissions")
