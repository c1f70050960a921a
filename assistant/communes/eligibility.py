"""PVD eligibility checklist (instruction of 16 October 2019) and population parsing."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Literal

from assistant.communes.registry import Commune

Status = Literal["rempli", "non rempli", "à vérifier"]
POPULATION_LIMIT = 20_000
# INSEE codes of "Action cœur de ville" towns, which PVD excludes. Deliberately empty: no
# checked list is in the corpus, and a guess would give a wrong "non rempli".
ACV_INSEE: frozenset[str] = frozenset()

_SOURCE = "instruction ministérielle du 16 octobre 2019"


@dataclass
class CriterionResult:
    """One criterion of the checklist, its status and why."""

    criterion: str
    status: Status
    detail: str
    key: str = ""  # stable id: population, centralite, fragilite, hors_acv, hors_grand_pole

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _fmt(n: int) -> str:
    return f"{n:,}".replace(",", "\u202f")


def _population_result(
    name: str, population: int | None, source: str, in_list: bool
) -> CriterionResult:
    """Population rule: "moins de 20 000 habitants" is read strictly.

    - below 20,000 → "rempli";
    - exactly 20,000 → "à vérifier": 20,000 is not *under* 20,000, so the letter of the
      rule is not met, but the figure sits on the threshold, the legal population to use
      (year, municipale or totale) matters and the prefects selected with discretion;
    - above 20,000 → "non rempli", unless the commune is in the PVD list: the ANCT list
      holds a few communes above the threshold (prefect's discretion) → "à vérifier".
    """
    criterion = "Moins de 20 000 habitants"
    if population is None:
        return CriterionResult(
            criterion,
            "à vérifier",
            f"Population de {name} inconnue : à vérifier (population légale INSEE).",
            "population",
        )
    figure = f"{_fmt(population)} habitants ({source})"
    if population < POPULATION_LIMIT:
        return CriterionResult(
            criterion, "rempli", f"{name} : {figure}, sous le seuil de 20 000.", "population"
        )
    if population == POPULATION_LIMIT:
        return CriterionResult(
            criterion,
            "à vérifier",
            f"{name} : {figure}, exactement le seuil ; « moins de 20 000 » n'est pas atteint à la "
            "lettre, mais la sélection par le préfet applique le critère avec discernement : "
            "vérifier la population légale en vigueur.",
            "population",
        )
    if in_list:
        return CriterionResult(
            criterion,
            "à vérifier",
            f"{name} : {figure}, au-dessus du seuil de 20 000, mais la commune figure dans la "
            "liste PVD (sélection du préfet, qui applique le critère avec discernement).",
            "population",
        )
    return CriterionResult(
        criterion,
        "non rempli",
        f"{name} : {figure}, au-dessus du seuil de 20 000 habitants.",
        "population",
    )


def eligibility_checklist(
    commune: Commune | None,
    population: int | None = None,
    in_pvd_list: bool | None = None,
) -> list[CriterionResult]:
    """Evaluate the PVD criteria for ``commune`` (or for an unnamed commune).

    ``population`` given explicitly overrides the registry's (INSEE 2021 if known, else
    ANCT 2021). ``in_pvd_list`` defaults to ``commune is not None``: the registry holds the
    communes of the PVD list. Selected communes were recognised by the prefect as
    centralities showing fragility, so those two criteria are "rempli" for them and "à
    vérifier" otherwise. The ACV and large-urban-centre criteria need data the assistant
    does not hold: always "à vérifier" (unless the INSEE code is in :data:`ACV_INSEE`).
    """
    if population is not None and population < 0:
        raise ValueError(f"population négative : {population}")
    in_list = (commune is not None) if in_pvd_list is None else in_pvd_list
    name = commune.name if commune else "La commune"
    if population is not None:
        source = "chiffre indiqué"
    elif commune is not None:
        population, source = commune.best_population
    else:
        source = ""
    results = [_population_result(name, population, source, in_list)]

    listed = f"{name} figure dans la liste des communes PVD : sa sélection par le préfet"
    if in_list:
        results.append(
            CriterionResult(
                "Rôle de centralité pour le territoire",
                "rempli",
                f"{listed} vaut reconnaissance de ses fonctions de centralité.",
                "centralite",
            )
        )
        results.append(
            CriterionResult(
                "Signes de fragilité",
                "rempli",
                f"{listed} vaut constat de signes de fragilité.",
                "fragilite",
            )
        )
    else:
        results.append(
            CriterionResult(
                "Rôle de centralité pour le territoire",
                "à vérifier",
                "À démontrer : équipements, services, commerces et emplois dont dépend le "
                "territoire alentour (appréciation du préfet).",
                "centralite",
            )
        )
        results.append(
            CriterionResult(
                "Signes de fragilité",
                "à vérifier",
                "À démontrer : plusieurs facteurs de fragilité (vacance, déclin démographique ou "
                "commercial, revenus, état du bâti…).",
                "fragilite",
            )
        )

    if commune is not None and commune.insee in ACV_INSEE:
        results.append(
            CriterionResult(
                "Pas une ville « Action cœur de ville »",
                "non rempli",
                f"{name} bénéficie du programme Action cœur de ville.",
                "hors_acv",
            )
        )
    else:
        detail = (
            "Le programme exclut les villes « Action cœur de ville » ; "
            "la liste ACV n'est pas dans le registre."
        )
        if in_list:
            detail += " Une commune retenue PVD n'en fait en principe pas partie."
        results.append(
            CriterionResult(
                "Pas une ville « Action cœur de ville »", "à vérifier", detail, "hors_acv"
            )
        )
    results.append(
        CriterionResult(
            "Hors d'un grand pôle urbain (plus de 10 000 emplois)",
            "à vérifier",
            "À vérifier avec le zonage INSEE des aires d'attraction des villes ; le registre ne "
            f"contient pas cette donnée ({_SOURCE}).",
            "hors_grand_pole",
        )
    )
    return results


_NUMBER = r"\d{1,3}(?:[ \u00a0\u202f.]\d{3})+|\d+(?:[.,]\d+)?"
_POP_RE = re.compile(
    rf"(?<![\d.,])(?P<num>{_NUMBER})\s*"
    r"(?:(?P<million>millions?)\b\s*(?:d['’]\s*|de\s+)?)?"
    r"(?P<unit>habitants?\b|hab\b\.?|âmes\b|résidents\b)?",
    re.IGNORECASE,
)
_POP_CONTEXT_RE = re.compile(
    rf"(?:population|peuplée)\D{{0,25}}?(?<![\d.,])(?P<num>{_NUMBER})\s*(?P<million>millions?\b)?",
    re.I,
)
_MONEY_RE = re.compile(r"\s*(?:d['’]\s*euros|de\s+dollars|euros|€|eur\b)", re.I)
# A threshold quoted in the question ("moins de 20 000 habitants") is no population.
# «sous » also reads «sous les», «en dessous de».
_THRESHOLD_WORDS = ("moins de", "sous ", "seuil", "plafond", "jusqu'à", "limite")


def _to_int(number: str, million: bool) -> int:
    compact = re.sub(r"[ \u00a0\u202f]", "", number)
    if million:
        return round(float(compact.replace(",", ".")) * 1_000_000)
    if re.fullmatch(r"\d{1,3}(\.\d{3})+", compact):
        compact = compact.replace(".", "")  # "20.000": dot as thousands separator
    return int(float(compact.replace(",", ".")))


def population_from_text(question: str) -> int | None:
    """A population stated in ``question``: "23 000 habitants", "23000 hab", "1,2 million"…

    Needs a unit (habitants, hab., âmes, million) or the word "population" nearby, so that
    amounts and years are not read as populations; thresholds ("moins de 20 000
    habitants") are skipped.
    """
    for m in _POP_RE.finditer(question):
        if not (m.group("unit") or m.group("million")):
            continue
        if not m.group("unit") and _MONEY_RE.match(question, m.end("million")):
            continue  # "1,2 million d'euros" is a budget
        before = question[max(0, m.start("num") - 15) : m.start("num")].lower()
        if any(word in before for word in _THRESHOLD_WORDS):
            continue
        return _to_int(m.group("num"), bool(m.group("million")))
    m = _POP_CONTEXT_RE.search(question)
    if m and not _MONEY_RE.match(question, m.end()):
        return _to_int(m.group("num"), bool(m.group("million")))
    return None
