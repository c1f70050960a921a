"""Tests of the PVD eligibility checklist and of population parsing."""

from __future__ import annotations

import pytest

from assistant.communes.eligibility import (
    ACV_INSEE,
    CriterionResult,
    eligibility_checklist,
    population_from_text,
)
from assistant.communes.registry import Commune

ALBERTVILLE = Commune(
    "73011", "Albertville", "73", "Savoie", population=18899, id_pvd="pvd-84-73-2"
)


def by_key(results: list[CriterionResult]) -> dict[str, CriterionResult]:
    return {r.key: r for r in results}


def test_all_criteria_present() -> None:
    results = eligibility_checklist(ALBERTVILLE)
    assert [r.key for r in results] == [
        "population",
        "centralite",
        "fragilite",
        "hors_acv",
        "hors_grand_pole",
    ]
    assert all(r.status in ("rempli", "non rempli", "à vérifier") for r in results)
    assert all(r.criterion and r.detail for r in results)


def test_albertville_from_registry() -> None:
    results = by_key(eligibility_checklist(ALBERTVILLE))
    assert results["population"].status == "rempli"
    assert "18\u202f899" in results["population"].detail
    assert results["centralite"].status == "rempli"
    assert results["fragilite"].status == "rempli"
    assert results["hors_acv"].status == "à vérifier"  # ACV list not held: never guessed
    assert results["hors_grand_pole"].status == "à vérifier"


def test_insee_2021_population_preferred() -> None:
    commune = Commune(
        "73011", "Albertville", "73", "Savoie", population=18899, population_insee_2021=19812
    )
    assert "19\u202f812" in by_key(eligibility_checklist(commune))["population"].detail


def test_exactly_20000_is_to_check() -> None:
    # "Moins de 20 000" is not met to the letter, but the threshold is applied with discretion.
    result = by_key(eligibility_checklist(None, population=20_000))["population"]
    assert result.status == "à vérifier"
    assert "seuil" in result.detail and "discernement" in result.detail


def test_19999_is_met() -> None:
    assert by_key(eligibility_checklist(None, population=19_999))["population"].status == "rempli"


def test_23000_from_text_not_met() -> None:
    population = population_from_text(
        "Ma commune compte 23 000 habitants, est-elle éligible à PVD ?"
    )
    assert population == 23_000
    results = by_key(eligibility_checklist(None, population=population))
    assert results["population"].status == "non rempli"
    assert results["centralite"].status == "à vérifier"


def test_explicit_population_overrides_registry() -> None:
    result = by_key(eligibility_checklist(ALBERTVILLE, population=25_000, in_pvd_list=False))[
        "population"
    ]
    assert result.status == "non rempli" and "25\u202f000" in result.detail


def test_listed_commune_above_threshold_is_to_check() -> None:
    big = Commune("97128", "Grande-Ville", "971", "Guadeloupe", population=23_675)
    assert by_key(eligibility_checklist(big))["population"].status == "à vérifier"


def test_unknown_population() -> None:
    results = by_key(eligibility_checklist(Commune("73999", "Inconnue", "73", "Savoie")))
    assert results["population"].status == "à vérifier"
    assert results["centralite"].status == "rempli"  # in the registry, hence in the PVD list
    assert by_key(eligibility_checklist(None))["population"].status == "à vérifier"


def test_commune_in_no_list() -> None:
    commune = Commune("73065", "Chambéry-test", "73", "Savoie", population=12_000)
    results = by_key(eligibility_checklist(commune, in_pvd_list=False))
    assert results["population"].status == "rempli"
    assert results["centralite"].status == "à vérifier"
    assert results["fragilite"].status == "à vérifier"
    assert "liste PVD" not in results["hors_acv"].detail


def test_acv_set_is_not_guessed() -> None:
    assert ACV_INSEE == frozenset()


def test_negative_population_rejected() -> None:
    with pytest.raises(ValueError, match="-5"):
        eligibility_checklist(None, population=-5)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("23 000 habitants", 23_000),
        ("23000 hab", 23_000),
        ("une commune de 23 000 hab. en montagne", 23_000),
        ("19\u202f999 habitants", 19_999),
        ("20.000 habitants", 20_000),
        ("1,2 million d'habitants", 1_200_000),
        ("1,2 million", 1_200_000),
        ("1 500 âmes", 1_500),
        ("une population de 12 500", 12_500),
        ("En 2026, 15 000 habitants", 15_000),
        ("3 M€ pour 4 000 habitants", 4_000),
        ("un budget de 1,2 million d'euros", None),
        ("une commune de moins de 20 000 habitants est-elle éligible ?", None),
        ("les petits bourgs sous 3 500 habitants, c'est une minorité ?", None),
        ("la convention de 2023", None),
        ("", None),
    ],
)
def test_population_from_text(text: str, expected: int | None) -> None:
    assert population_from_text(text) == expected
