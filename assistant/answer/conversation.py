"""One question in a conversation: what is asked, about which commune, which route answers."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace

import numpy as np

from assistant.answer.answerability import PERSON_QUESTION, AnswerabilityModel, asks_contact
from assistant.answer.carry import named_as_companion, settle_commune
from assistant.answer.epci import epci_answer, other_epci_dropped
from assistant.answer.extractive import REFUSAL, extractive_answer
from assistant.answer.facts import (
    communes_list_answer,
    facts_answer,
    namesake_asked,
    ranking_answer,
)
from assistant.answer.intents import IntentClassifier, Prediction, classifier_for
from assistant.answer.membership import asks_membership, asks_our_stage, membership_answer
from assistant.answer.naming import clarify, named_commune, other_department, unknown_place
from assistant.answer.overview import overview_answer, study_date_answer
from assistant.answer.routes import (
    ELIGIBILITY_CUE,
    eligibility_answer,
    funding_answer,
    glossary_answer,
    names_new_subject,
    status_answer,
)
from assistant.answer.sentences import DEFINITION, expected_type
from assistant.answer.smalltalk import (
    GREETING,
    LEADING_GREETING,
    decline,
    department_not_covered,
    greet,
    not_french,
    place_not_covered,
)
from assistant.answer.state import (
    OURS,
    Conversation,
    Turn,
    TurnPlan,
    asked_words,
    content_words,
    looks_elliptic,
    own_words,
    plan_turn,
    strip_spans,
)
from assistant.answer.status import STATUS_CUE, asked_steps, detail_of_a_step
from assistant.answer.studies import studies_answer
from assistant.communes.registry import Commune, Registry, load_registry
from assistant.embedding.embedders import embedder_fingerprint
from assistant.indexing.index import Index, open_index
from assistant.indexing.lexical import analyze, fold, fold_words
from assistant.indexing.postings import idf as idf_of_df
from assistant.search.access import Role
from assistant.search.filters import Filters
from assistant.search.question import clean_question, expand_question
from assistant.search.retrieval import retrieve
from assistant.search.spelling import mend
from assistant.settings import Settings
from assistant.types import Answer, Citation, CommuneRef

__all__ = ["Conversation", "Turn", "answer_question"]

# Under this probability the intent is not trusted: plain cited retrieval answers.
MIN_INTENT_CONFIDENCE = 0.45
# Over this probability of «out of scope», the question is declined without searching.
OUT_OF_SCOPE_CONFIDENCE = 0.8


# «le code insee d'entrelacs c'est quoi», «c'est quoi son identifiant»: a value of a commune,
# not a term to define.
_OF_A_COMMUNE = re.compile(r"\b(son|sa|ses|leur|leurs|notre|nos)\b")

# «l'interco elle s'appelle comment ?», «le code insee ?» with a commune selected: the
# definite article points at the user's commune (an indefinite one asks for a definition).
_THE_COMMUNES = re.compile(r"\b(l['’ ]|la |le |le numero |son |sa )(interco\w*|epci|communaute|cc|"
                           r"ca|agglo\w*|code insee|siren|identifiant)\b")

# «c'est quoi les étapes», «les aides»: a plural asks for a list or an overview, which no
# one glossary entry gives.
_PLURAL_THING = re.compile(r"\b(quoi|que sont|qu est ce que) (les|des)\b|\bles \w+ (c est|ce sont) "
                           r"quoi\b")
# «il faut une délib pour signer ?», «c'est obligatoire ?»: a rule of the programme, which
# no commune's record holds.
_RULE_ASKED = re.compile(r"\b(il faut|faut il|faut-il|doit on|doit-on|on doit|doivent|"
                         r"obligatoire|necessaire|besoin d)")
# «le diag commerce il recommande quoi», «la friche elle coûte combien»: with a commune
# selected, a study or a project named with «le» is that commune's.
_A_STUDY = re.compile(r"\b(etudes?|diag\w*|plan (de )?mobilite|plan patrimoine|opah\w*|"
                      r"strategie)\b")
_THE_STUDY = re.compile(r"\b(le|la|l|ce|cette|notre|nos) (diag\w*|etude|friche|scenario|"
                        r"strategie|opah\w*|plan (d actions|de mobilite|mobilite|guide)|"
                        r"fiches?( actions?)?|projet urbain|programme d actions)\b|"
                        # «on a un plan mobilité nous ?»: having one kind of study («c'est
                        # quoi une OPAH ?» asks a definition).
                        r"\b(on a|a t on|avons nous|y a|y a t il) (un|une) (diag\w*|opah\w*|"
                        r"plan (de )?mobilite|plan guide)\b")


# The places of a town said with «le», «la»: with a commune selected, that commune's.
_OUR_PLACE = re.compile(r"\b(dans|du|au|le|en) (centre|centre ville|centre bourg|bourg|"
                        r"bourg centre|coeur de ville|coeur de bourg)\b|"
                        r"\b(la|sur la) (place centrale|grande rue|rue principale|traversee)\b")


# How officials soften a definition asked: nothing of the term.
_DEFINITION_FILLER = re.compile(r"(?<!\w)(au juste|exactement|concr[eè]tement|en gros|[aà] la base|"
                                r"au fond|pr[ée]cis[ée]ment|en fait|vite fait)(?!\w)",
                                re.IGNORECASE)


class Idf:
    """idf of a term from the lexical index, as a mapping, memoised for one question (each
    lookup reads the on-disk statistics); unseen terms get the highest idf."""

    def __init__(self, index: Index) -> None:
        self._idf = index.catalog.view().bm25
        self._memo: dict[str, float] = {}
        self._unseen = idf_of_df(self._idf.n_docs, 0)

    def get(self, term: str, default: float = 0.0) -> float:
        value = self._memo.get(term)
        if value is None:
            value = self._memo[term] = self._idf.idf_of(term)
        return value

    def __getitem__(self, term: str) -> float:
        return self.get(term)

    def known(self, term: str) -> bool:
        """The term occurs in at least one passage."""
        return self.get(term) < self._unseen - 1e-9

    def misspelt(self, term: str) -> bool:
        """An unseen term one typo away from an indexed one («subvantion»)."""
        return bool(self._idf.near(term))


@dataclass
class Context:
    """What every route needs for one question."""

    settings: Settings
    index: Index
    registry: Registry
    role: Role | None
    idf: Idf
    model: AnswerabilityModel
    classifier: IntentClassifier
    vector: np.ndarray
    out_of_scope: float


def commune_ref(commune: Commune | None) -> CommuneRef | None:
    return CommuneRef(commune.insee, commune.name, commune.epci_name or "") if commune else None


def commune_label(c: Commune) -> str:
    return f"{c.name} ({c.epci_name})" if c.epci_name else c.name


def when_a_step(question: str, target: Commune | None) -> bool:
    """«notre sélection c'était quel jour ?»: the date of a step of the commune's record."""
    return target is not None and expected_type(question) == "date" and bool(
        asked_steps(question))


def scope_filters(registry: Registry, commune: Commune) -> Filters:
    """Documents about the commune, its programme partners and its EPCI, plus general texts."""
    members = [m.insee for m in registry.territory_members(commune)] or [commune.insee]
    return Filters(
        communes=members,
        epci=[commune.epci_siren] if commune.epci_siren else [],
        include_general=True,
    )


def cited_answer(ctx: Context, question: str, *, filters: Filters | None, k: int,
                 scope: str = "", boost_types: list[str] | None = None,
                 vector: np.ndarray | None = None, ignore_terms: set[str] | None = None,
                 concise: bool = False, commune: Commune | None = None,
                 typed: str | None = None) -> Answer:
    """Plain cited retrieval: the best sentences of the best passages, or a refusal."""
    settings = ctx.settings
    retrieval = retrieve(ctx.index, question, k=k, filters=filters, role=ctx.role,
                         settings=settings,
                         boost_types=boost_types, query_vector=vector)
    query_vector = vector if vector is not None else ctx.vector
    adapter = ctx.index.sentence_adapter if settings.sentence_adapter else None
    answer = extractive_answer(
        question, retrieval, ctx.index.catalog, idf=ctx.idf, model=ctx.model,
        query_vector=query_vector,
        ranking_vector=(adapter.adapt(query_vector)
                        if adapter is not None and query_vector is not None else None),
        embedder=ctx.index.passage_embedder, max_sentences=settings.max_answer_sentences,
        contact=settings.contact, scope=scope, out_of_scope=ctx.out_of_scope,
        ignore_terms=ignore_terms, concise=concise,
        commune=(commune.insee, commune.name) if commune is not None else None, typed=typed,
    )
    answer.timings_ms["retrieve"] = retrieval.timings_ms.get("retrieve", 0.0)
    return answer


# «et pour bsm ?» after a SIREN: an identifier the classifier takes for contact details.
_REGISTRY_CODE = re.compile(r"\b(siren|code insee)\b")


def _content_intent(ctx: Context, question: str, spans: list[tuple[int, int]]) -> str | None:
    """The intent of a follow-up's new words alone («et son salaire ?» → contact?)."""
    words = content_words(strip_spans(question, spans))
    if not words:
        return None
    text = " ".join(words)
    prediction = ctx.classifier.predict(text)
    return prediction.intent if prediction.confidence >= MIN_INTENT_CONFIDENCE else None


def _route(ctx: Context, plan: TurnPlan, question: str, *, target: Commune | None,
           filters: Filters | None, k: int, scope: str, typed: str = "") -> tuple[Answer, bool]:
    """The answer, and whether it is about ``target`` (a definition never is); ``typed`` is
    the question as the official wrote it, quoted in a refusal."""
    settings = ctx.settings
    query = plan.query
    # «le diag», «la friche», with a commune selected: that commune's study or project.
    names_its_study = bool(_THE_STUDY.search(fold_words(question)))
    # «ya combien de places publiques dans le centre ?», a commune selected: its centre.
    our_place = target is not None and bool(_OUR_PLACE.search(fold_words(question)))
    if plan.commune_source == "follow_up" and target is not None and not any(
            fold(w) in fold(query) for w in fold_words(target.name).split() if len(w) > 3):
        # «elle prévoit combien de fiches actions ?» after Entrelacs' study: the carried
        # topic lost the commune's name; searching with it finds that commune's passages.
        query = f"{query} ({target.name})"
    if plan.follow_up and plan.commune_source == "question" and target is not None:
        query = other_epci_dropped(ctx, query, target)
    vector = ctx.vector if query == question else None
    if vector is None:
        vector = ctx.index.embedder.embed([query], is_query=True)[0]
    if (plan.intent == "out_of_scope" and ctx.out_of_scope >= OUT_OF_SCOPE_CONFIDENCE
            and not plan.follow_up and not (
                # «notre sélection c'était quel jour ?»: a step of our own record.
                target is not None and asked_steps(question) and OURS.search(fold(question)))):
        return decline(question, settings.contact), False
    if target is not None and not plan.follow_up and asks_membership(question) and not (
            namesake_asked(query, target)):
        membership = membership_answer(ctx, target, typed or question)
        if membership is not None:
            return membership, True
    if target is not None and asks_our_stage(question):
        stage = status_answer(ctx, target, query, vector=vector)
        if stage is not None and not stage.refused:
            return stage, True
    # «le siren de la cc coeur de tarentaise», «arlysere au total ça fait cb d'hab»: an
    # intercommunality named, not one of its communes.
    result: Answer | None = epci_answer(ctx, query, typed or question, target)
    if result is not None:
        # About the commune when it is one of that EPCI's («notre agglo avec ugine»).
        return result, target is not None and target.name in result.text
    result = ranking_answer(ctx, query) if target is None or plan.follow_up else None
    if result is None and target is None:
        # «les communes pvd de savoie c lesquelles», «et leurs intercos ?»: the list.
        result = communes_list_answer(ctx, own_words(query))
    if result is not None:
        # «c la plus petite des 14 ?» after Fourneaux: about it only if it is the one named.
        return result, target is not None and result.text.startswith(target.name)
    # «population de moutiers» (whatever the classifier made of it), «notre identifiant
    # PVD», «on est la seule commune PVD de l'interco ?»: a fact of the registry.
    if result is None and target is not None and (
            plan.intent not in ("contact", "funding") or _REGISTRY_CODE.search(fold(query))) and (
            not PERSON_QUESTION.search(question)) and (
            plan.commune_source != "selected" or OURS.search(fold(question))
            or _THE_COMMUNES.search(fold(question))) and not (
            (DEFINITION.search(fold(query)) and not _OF_A_COMMUNE.search(fold(question))
             and plan.commune_source == "selected")
            or ELIGIBILITY_CUE.search(fold(query))):
        # A follow-up's own words say which fact («celle d'Ugine le comité de pilotage il
        # réunit qui ?» after studies of «l'agglo Arlysère» asks no intercommunality).
        result = facts_answer(ctx, target, asked_words(query))
    if result is None and target is not None and (
            plan.commune_source != "selected" or names_its_study):
        # «l'étude espaces publics des Échelles»: what the study says, in its own summary.
        result = overview_answer(ctx, target, query)
    if result is None and target is not None:
        # «notre étude patrimoine elle date de quand ?»: the date on its title page.
        result = study_date_answer(ctx, target, query, asked_words(query))
    if result is None and "difference" in fold(query) and DEFINITION.search(fold(query)):
        # «quelle différence entre la DETR et la DSIL ?»: two definitions, whatever the intent.
        glossary = glossary_answer(ctx, query)
        if glossary is not None:
            return glossary, False
    if result is not None or (target is not None and namesake_asked(query, target)):
        pass
    elif plan.intent == "eligibility" and not when_a_step(question, target):
        result = eligibility_answer(ctx, target, query)
    elif plan.intent == "funding":
        result = funding_answer(ctx, target, query)
    elif target is not None and not _RULE_ASKED.search(fold(question)) and (
            plan.intent == "status" or when_a_step(question, target) or (
            plan.intent == "programme" and OURS.search(fold(question))
            and asked_steps(question) and not DEFINITION.search(fold(question))
            and STATUS_CUE.search(fold(question)) and not detail_of_a_step(question))):
        # «avons-nous une ORT ?»: a step of the programme, for our commune.
        result = status_answer(ctx, target, query, vector=vector)
        if result is not None and result.refused and not result.citations:
            # «le fonds vert il a été lancé quand», «l'enquête en ligne d'Entrelacs»: the
            # record does not hold it, the commune's studies or the programme's texts may.
            result = None
    elif plan.intent == "studies":
        result = studies_answer(ctx, target, query, k=k)
    if result is not None:
        return result, target is not None
    asks_meaning = bool(DEFINITION.search(fold(query)))
    # «c quoi le numéro d'Agate»: a phone asked, not a glossary entry.
    if asks_meaning and not (asks_contact(query) or PERSON_QUESTION.search(query)):
        glossary = glossary_answer(ctx, query)
        if glossary is not None:
            return glossary, False
    # Plain cited retrieval. A definition or a programme rule is general: the selected
    # commune does not narrow it; a commune named (or carried by a follow-up) does. «c koi le
    # taux de vacance chez nous» asks our figure, not what the words mean.
    definition = asks_meaning and not OURS.search(fold(question))
    scoped = target is not None and not definition and (
        plan.intent != "programme" or plan.commune_source in ("question", "follow_up")
        or bool(OURS.search(fold(question)))
        or names_its_study or our_place)
    if filters is None and scoped and target is not None:
        filters = scope_filters(ctx.registry, target)
        # The session's scope line names the selected commune; a commune named in the
        # question (or carried by a follow-up) is the one searched, and said.
        if not scope or plan.commune_source in ("question", "follow_up"):
            scope = f"commune : {target.name}"
    # A definition reads best in the glossary; a rule of the programme in its texts, not in
    # one commune's record.
    # «c quoi les étapes du programme»: no glossary entry names it; the programme's texts
    # explain it as well as the glossary.
    boost = (["glossaire", "programme"] if _PLURAL_THING.search(fold_words(query))
             else ["glossaire"]) if definition else (
        ["programme", "glossaire"] if plan.intent == "programme" and not scoped else None)
    if boost is None and scoped and plan.commune_source in ("question", "follow_up") and (
            _A_STUDY.search(fold_words(query))):
        # «… l'opah le comité technique il se réunit tous les cb ; et à Entrelacs le comité
        # de projet ?»: the commune's study says it, before the programme's general texts.
        boost = ["etude"]
    ignore = set(analyze(target.name)) if target is not None else set()
    # Only a question about the commune (named, carried, «notre», «la friche») must be
    # answered by its passages; the selected commune alone narrows the search, no more.
    about = scoped and (plan.commune_source != "selected" or bool(OURS.search(fold(question)))
                        or names_its_study or our_place)
    answer = cited_answer(ctx, query, filters=filters, k=k, scope=scope, boost_types=boost,
                          vector=vector, ignore_terms=ignore,
                          concise=definition and not _PLURAL_THING.search(fold_words(query)),
                          commune=target if about else None,
                          typed=typed or question)
    if about and answer.citations and not any(c.communes for c in answer.citations):
        # «dans quel délai faut signer la convention-cadre ?» after Bourg-Saint-Maurice's
        # plan: a rule of the programme, quoted from its general texts, is no answer «pour
        # Bourg-Saint-Maurice».
        about = False
    return answer, about


def answer_question(
    settings: Settings,
    question: str,
    *,
    commune: str | None = None,
    conversation: Conversation | None = None,
    filters: Filters | None = None,
    k: int | None = None,
    scope: str = "",
    role: Role | None = None,
) -> Answer:
    """The one entry point for questions: intent, commune and follow-ups resolved here.

    ``commune`` is the user's selected (or account) commune; ``conversation`` holds the
    previous turns and receives this one.
    """
    t0 = time.perf_counter()
    typed = clean_question(question)
    # Everything below reads what was meant («c koi», «cb», «bsm» spelled out); the answer
    # keeps the question as typed.
    question = expand_question(typed)
    # «bjr, c koi une ORT ?»: the greeting says nothing about what is asked.
    rest = LEADING_GREETING.sub("", question)
    if rest.strip(" ?!.,"):
        question = rest
    if DEFINITION.search(fold(question)):
        # «c koi une foncière de redynamisation au juste ?»: «au juste» is not part of the
        # term, and weighed as a rare word it finds «Sobriété foncière».
        question = " ".join(_DEFINITION_FILLER.sub(" ", question).split())
    k = k if k is not None else settings.top_k
    conversation = conversation if conversation is not None else Conversation()
    index = open_index(settings)
    registry = load_registry(settings)
    idf = Idf(index)
    # Read before mending: «cluses» is no typo of «clauses».
    place = unknown_place(registry, question, idf.known)
    # «ya combien de comunes», «des subvension»: a typo mended against the index's words.
    question = mend(question, idf.known, idf.get, idf.misspelt)

    named, spans, which = named_commune(registry, question)
    if which is not None:
        return which
    if named is not None:
        place = None
    selected: Commune | None = None
    if commune:
        match = registry.match(commune)
        if match.status == "ambiguous":
            return clarify(question, match.candidates)
        selected = match.commune if match.status == "found" else None
    if named is not None and named_as_companion(question, spans, named, selected):
        named = None  # its name stays out of the topic (``spans``)

    t_embed = time.perf_counter()
    vector = index.embedder.embed([question], is_query=True)[0]
    classifier = classifier_for(index.embedder, settings.model_cache_dir,
                                embedder_fingerprint(settings.embedder))
    prediction: Prediction = classifier.predict(question, vector)
    model = AnswerabilityModel.load().for_embedder(index.embedder.model_id)
    if settings.answerability_threshold is not None:
        model = model.with_threshold(settings.answerability_threshold)
    ctx = Context(settings, index, registry, role, idf, model,
                  classifier, vector, prediction.probabilities.get("out_of_scope", 0.0))
    timings = {"understand": (time.perf_counter() - t_embed) * 1000}

    previous = conversation.previous
    content_intent = None
    elliptic = previous is not None and (prediction.intent == "follow_up"
                                         or looks_elliptic(question))
    if elliptic:
        content_intent = _content_intent(ctx, question, spans)
    plan = plan_turn(
        question, intent=prediction.intent, confidence=prediction.confidence,
        content_intent=content_intent, named=named.insee if named else None,
        named_spans=spans, selected=selected.insee if selected else None, previous=previous,
        min_confidence=MIN_INTENT_CONFIDENCE,
        new_subject=elliptic and names_new_subject(ctx, question, previous.topic),
    )
    plan = settle_commune(ctx, plan, question, previous=previous, selected=selected,
                          prediction=prediction, spans=spans,
                          min_confidence=MIN_INTENT_CONFIDENCE,
                          out_of_scope_limit=OUT_OF_SCOPE_CONFIDENCE)
    target = registry.get(plan.commune) if plan.commune else None
    if plan.follow_up and plan.query != question:
        # «de quelle heure à quelle heure ?» alone is out of scope; rewritten with the
        # conversation's subject it is not, and the turn alone must not say how sure.
        ctx = replace(ctx, out_of_scope=0.0)

    if GREETING.match(fold(question).strip()):
        result = greet(typed)
        result.timings_ms.update(timings)
        result.intent_confidence = prediction.confidence
        return result
    if not_french(question) and prediction.intent == "out_of_scope":
        result, about_target = decline(question, settings.contact, english=True), False
    elif (department := other_department(question)) is not None:
        result, about_target = department_not_covered(typed, department, settings.contact), False
    elif place is not None:
        # «et à Cluses ?», «Rumilly en Haute-Savoie, elle est PVD ?»: no passage names it,
        # and quoting the previous commune's figure (or the 14 communes) would mislead.
        result, about_target = place_not_covered(typed, place, settings.contact), False
    else:
        result, about_target = _route(ctx, plan, question, target=target, filters=filters, k=k,
                                      scope=scope, typed=typed)
    if target is not None and not about_target and not result.refused and result.citations:
        # «les liaisons cyclables c'est qui qui paye ?», Entrelacs selected: every passage
        # quoted is Entrelacs', so the answer is about it and says so.
        members = registry.territory_codes(target)
        about_target = all(members & set(c.communes) for c in result.citations)
    shown = target if about_target else None
    if target is None and not result.refused and plan.intent != "out_of_scope":
        # «ya une étude qui parle de désimperméabilisation ?» then «et l'agence de l'eau elle
        # mettrait cb ?»: every passage quoted is Les Échelles', so the figure is theirs
        # and the answer says whose it is.
        only = _only_commune(registry, result.citations)
        shown = registry.get(only) if only else None
    result.question = typed
    result.intent = plan.intent
    result.intent_confidence = prediction.confidence
    result.commune = commune_ref(shown)
    inferred = target is None and shown is not None
    if shown is not None and not result.refused and not result.text.startswith(
            (shown.name, f"Oui, {shown.name}")) and not (inferred and shown.name in result.text):
        result.text = f"Pour {commune_label(shown)} : {result.text}"
    if not result.text:
        result.text = REFUSAL
    result.timings_ms.update(timings)
    result.timings_ms["total"] = (time.perf_counter() - t0) * 1000
    # A question the classifier thought out of scope but that was answered (a registry
    # fact, a passage) is carried as a question on the programme: «et pour Ugine ?» after
    # «cb d'habitants à Albertville» asks it again.
    carried_intent = "programme" if plan.intent == "out_of_scope" and not result.refused else (
        plan.intent)
    # «y a une étude sur le vélo quelque part ?» answered by Bourg-Saint-Maurice's plan
    # alone: the next turn («le réseau cyclable il fait cb de km ?») is about that commune.
    about = plan.commune or (shown.insee if shown is not None else None)
    conversation.turns.append(Turn(question, about, carried_intent, plan.topic))
    return result


def _only_commune(registry: Registry, citations: list[Citation]) -> str | None:
    """The commune every quoted passage is about, when there is one (its territory's)."""
    tagged = [set(c.communes) for c in citations]
    if not tagged or not all(tagged):
        return None
    first = registry.get(sorted(tagged[0])[0])
    if first is None:
        return None
    members = registry.territory_codes(first)
    return first.insee if all(codes <= members for codes in tagged) else None

