"""Whether a turn is about the previous turn's commune, checked against what answers it."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from assistant.answer.sentences import DEFINITION
from assistant.answer.state import Turn, TurnPlan, plan_turn, puts_its_subject_first
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
    hits = retrieve(ctx.index, question, k=3, role=ctx.role, settings=ctx.settings,
                    query_vector=ctx.vector).hits
    about = [h for h in hits if members & set(str(h.metadata.get("communes", "")).split(","))]
    return len(about) >= 2 or (bool(about) and about[0] is hits[0])


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
        if not points_back(ctx, question, carried):
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
            and not DEFINITION.search(fold(question))
            and points_back(ctx, question, carried)):
        # «le déficit c'est combien ?» after a question on Ugine's friche study: what
        # answers it is about Ugine, so it is a follow-up on Ugine.
        return replace(plan, commune=carried.insee, commune_source="follow_up",
                       follow_up=True)
    return plan
