"""The question as searches see it: cleaned, phone shorthand spelled out, officials' words
put in the documents'."""

from __future__ import annotations

import pytest

from assistant.errors import ConfigError
from assistant.search.question import clean_question, expand_question


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("c koi une ort", "c'est quoi une ort"),
        ("C KOI le PVD ?", "c'est quoi le PVD ?"),
        ("ugine friche cb ca coute", "ugine friche combien ca coute"),
        ("etude mobilite bsm parts modales", "etude mobilite Bourg-Saint-Maurice parts modales"),
        ("la bdt met des sous ds les foncieres", "la Banque des Territoires met des "
                                                 "financements dans les foncieres"),
        ("Quelle pop à Moûtiers ?", "Quelle population à Moûtiers ?"),
        ("c qui la plus grosse commune", "c'est qui la plus grosse commune"),
        ("pq on a pas ete retenus", "pourquoi on a pas ete retenus"),
        ("cb de bagnoles par jour", "combien de véhicules par jour"),
        ("les proprios et les copros", "les propriétaires et les copropriétés"),
    ],
)
def test_shorthand_is_spelled_out(typed: str, meant: str) -> None:
    assert expand_question(typed) == meant


@pytest.mark.parametrize(
    "text",
    [
        "Qu'est-ce qu'une ORT ?",
        "c'est quoi une ORT",  # already spelled out: «c'est» is not «c»
        "Saint-Jean-de-Maurienne a signé",
        "Le cb-radio", "abc cbd",  # parts of other words are left alone
        "Quel est le coût total du plan ?",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert expand_question(text) == text


@pytest.mark.parametrize(
    ("said", "written"),
    [
        ("cb de boutiques vides en centre ville", "combien de commerces vacants en centre ville"),
        ("combien de logements inoccupés", "combien de logements vacants"),
        ("l'aide pour les vieilles usines", "l'aide pour les friches industrielles"),
        ("on peut modifier le contrat cadre ?", "on peut modifier le convention-cadre ?"),
        ("Boutiques à l'essai", "Boutiques à l'essai"),  # a scheme's name stays
    ],
)
def test_officials_words_become_the_documents_words(said: str, written: str) -> None:
    assert expand_question(said) == written


def test_expansion_is_idempotent() -> None:
    for typed in ("c koi une ort", "cb hab a bsm", "qd c signe la conv ?",
                  "cb de boutiques vides", "les vieilles usines"):
        once = expand_question(typed)
        assert expand_question(once) == once


def test_empty_question_is_refused_with_a_message() -> None:
    with pytest.raises(ConfigError, match="vide"):
        clean_question(" ?! ")
