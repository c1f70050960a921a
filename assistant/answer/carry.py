"""Whether a turn is about the previous turn's commune, checked against what answers it."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from assistant.answer.routes import names_new_subject
from assistant.answer.sentences import DEFINITION
from assistant.answer.state import (
    OURS,
    Turn,
    TurnPlan,
    content_words,
    plan_turn,
    puts_its_subject_first,
    starts_afresh,
)
from assistant.communes.registry import Commune
from assistant.indexing.lexical import fold
from assistant.search.retrieval import retrieve

if TYPE_CHECKING:
    from assistant.answer.conversation import Context
    from assistant.answer.intents import Prediction


def points_back(ctx: Context, question: str, commune: Commune) -> bool:
    """Most of the passages that best answer ``question``, searched without any commune,
    are about ``commune`` (its studies, its record): the question follows up on it."""
    members = ctx.registry.territory_codes(commune)
    # Every document, whatever this account may read: the question is about the commune's
    # study even when the account cannot open it (the answer then says so, as for the
    # turn before), rather than about whatever public text comes next.
    hits = retrieve(ctx.index, question, k=3, role=None, settings=ctx.settings,
                    query_vector=ctx.vector).hits
    # A passage of the registry or of the Savoie partnership names all 14 communes: it is
    # about none of them in particular («ya combien de communes pvd en savoie ?»).
    about = [h for h in hits
             if (named := set(filter(None, str(h.metadata.get("communes", "")).split(","))))
             and named <= members]
    return len(about) >= 2 or (bool(about) and about[0] is hits[0])


# «en général», «au niveau national», «le programme»: a question on the programme itself.
# «quelles études Agate a faites en 2023 ?»: the studies of all the communes.
_GENERAL = re.compile(r"\b(en general|generalement|national\w*|en france|au niveau|programme|"
                      r"pvd|petites villes|l etat|toutes? les communes|partout|d habitude|loi|"
                      r"quel\w* etudes|toutes les etudes|liste des etudes)\b")
_MAX_WORDS = 7


def _goes_on(ctx: Context, question: str, previous: Turn, selected: Commune | None) -> bool:
    """«y a eu cb d'entretiens ?», «le comité de pilotage y avait qui dedans ?» right after a
    question on a commune named in the conversation: a short question that names no commune,
    no scheme or body of its own and nothing general goes on about that commune."""
    if selected is not None and (selected.insee != previous.commune
                                 or not OURS.search(fold(question))):
        # Rule 3 already answers for the selected commune; only «notre …» goes on with it
        # as the conversation's subject («entre notre adhésion et notre conv cadre …»).
        return False
    words = content_words(question)
    return (0 < len(words) <= _MAX_WORDS and not _GENERAL.search(" ".join(words))
            and not names_new_subject(ctx, question, previous.topic))


def settle_commune(ctx: Context, plan: TurnPlan, question: str, *, previous: Turn | None,
                   selected: Commune | None, prediction: Prediction,
                   spans: list[tuple[int, int]], min_confidence: float,
                   out_of_scope_limit: float) -> TurnPlan:
    """The plan, with the previous commune dropped or taken up when the written rules could
    not tell and the passages can."""
    if previous is None or not previous.commune:
        return plan
    carried = ctx.registry.get(previous.commune)
    if carried is None:
        return plan
    if (plan.follow_up and plan.commune_source == "follow_up"
            and puts_its_subject_first(question)
            and (selected is None or selected.insee != previous.commune)):
        if not (_goes_on(ctx, question, previous, selected)
                or points_back(ctx, question, carried)):
            # «la loi 3DS elle date de quand ?» after Saint-Jean's convention: its own
            # subject, answered by general texts; not a question on Saint-Jean.
            return plan_turn(question, intent=prediction.intent,
                             confidence=prediction.confidence, content_intent=None,
                             named=None, named_spans=spans,
                             selected=selected.insee if selected else None, previous=None,
                             min_confidence=min_confidence)
        return plan
    if (not plan.follow_up and plan.commune_source != "question"
            and ctx.out_of_scope < out_of_scope_limit
            and not DEFINITION.search(fold(question)) and not starts_afresh(question)
            and (_goes_on(ctx, question, previous, selected)
                 or points_back(ctx, question, carried))):
        # «le déficit c'est combien ?» after a question on Ugine's friche study: what
        # answers it is about Ugine, so it is a follow-up on Ugine.
        return replace(plan, commune=carried.insee, commune_source="follow_up",
                       follow_up=True)
    return plan


def named_as_companion(question: str, spans: list[tuple[int, int]], named: Commune,
                       selected: Commune | None) -> bool:
    """«notre agglo avec ugine on fait cb d'hab ?», Albertville selected: the commune named
    after «avec» is the selected one's partner in its intercommunality, not the subject."""
    if selected is None or named.insee == selected.insee or not spans:
        return False
    before = fold(question[:spans[0][0]]).split()
    return bool(before) and before[-1] == "avec" and (
        named.epci_siren is not None and named.epci_siren == selected.epci_siren)
