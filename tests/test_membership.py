"""Whether a question asks if a commune is in the programme, or where its project stands."""

import pytest

from assistant.answer.membership import asks_membership, asks_our_stage


@pytest.mark.parametrize("question", [
    "on est vraiment pvd nous ?", "modane elle est pvd ?", "albertville pvd ou pas",
    "est ce que ugine fait partie des petites villes de demain ?",
    "on fait partie du programme ?",
])
def test_membership_asked(question):
    assert asks_membership(question)


@pytest.mark.parametrize("question", [
    "on est la seule commune pvd de notre communauté de communes ?",
    "on est dans quelle etape du programme ?", "on est toujours pvd apres 2026 ?",
    "est ce qu'on est eligible au programme ?", "c quoi le programme pvd ?",
])
def test_other_questions_are_not_membership(question):
    assert not asks_membership(question)


@pytest.mark.parametrize(("question", "expected"), [
    ("on est dans quelle etape du programme ?", True), ("on en est ou nous ?", True),
    ("notre projet il en est ou ?", True), ("ou en est le programme au niveau national ?", False),
])
def test_our_stage(question, expected):
    assert asks_our_stage(question) is expected
