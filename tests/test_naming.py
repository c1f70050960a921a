"""Which place a question names: a Savoie commune, or one the documents never mention."""

from pathlib import Path

import pytest

from assistant.answer.naming import other_department, unknown_place
from assistant.communes.registry import Registry
from assistant.indexing.lexical import analyze

CSV = Path(__file__).resolve().parent.parent / "corpus" / "registre" / "communes-pvd-savoie.csv"
# The stems a small corpus would hold: the communes' names and a few words of the programme.
_INDEXED = set(analyze("Ugine Modane Albertville Chambéry convention cadre signée habitants "
                       "programme petites villes demain Savoie ORT ACV friches clauses covid "
                       "interco"))


@pytest.fixture(scope="module")
def registry():
    return Registry.from_csv(CSV)


def _known(stem: str) -> bool:
    return stem in _INDEXED


@pytest.mark.parametrize(("question", "place"), [
    ("et a cluses ?", "cluses"),                      # one typo from «clauses», still a place
    ("et celle d'annecy ?", "annecy"),
    ("et pour Sallanches ?", "Sallanches"),
    ("Rumilly en Haute-Savoie, elle fait partie des petites villes de demain ?", "Rumilly"),
    ("combien d'habitants dans la commune de Thônes ?", "Thônes"),
    ("rumilly elle est pvd ?", "rumilly"),            # typed in lower case, first word
])
def test_a_place_the_documents_never_mention(registry, question, place):
    assert unknown_place(registry, question, _known) == place


@pytest.mark.parametrize("question", [
    "et pour modane ?",                               # a commune of the registry
    "et a albervile ?",                               # a typo of one
    "et chambery ?",                                  # a place the documents do mention
    "et pour les bagnoles ?",                         # a thing, not a place
    "et d'intercos ?",                                # the plural of a word of the corpus
    "et a aime ?",                                    # a French word: not read as a name
    "le démarrage est tombé pile après le Covid ?",   # a capitalised word, no place
    "Bonjour, c'est quoi une ORT ?",
    "subvention en savoie c quoi",                    # a French word opening the question
])
def test_no_unknown_place(registry, question):
    assert unknown_place(registry, question, _known) is None


@pytest.mark.parametrize(("question", "department"), [
    ("et en haute savoie ya lesquelles ?", "la Haute-Savoie"),
    ("et en isere c quelles les autres communes pvd ?", "l'Isère"),
    ("quelles sont les communes PVD en Haute-Savoie ?", "la Haute-Savoie"),
    ("pont de beauvoisin cote isere ca fait cb d'habitants", None),  # the namesake's figure
    ("la commune du même nom côté Isère, elle a combien d'habitants ?", None),
    ("quelles communes pvd en savoie ?", None),
])
def test_communes_of_another_department(question, department):
    assert other_department(question) == department
