"""Conversation state rules: which commune and topic a turn is about (pure functions)."""

import pytest

from assistant.answer.sentences import DEFINITION
from assistant.answer.state import (
    Conversation,
    Turn,
    asking_frame,
    content_words,
    looks_elliptic,
    plan_turn,
    starts_afresh,
)

MODANE, UGINE, GENIX, MOUTIERS = "73157", "73303", "73236", "73181"


def _plan(question, intent="programme", confidence=0.9, *, named=None, spans=(), selected=None,
          previous=None, content_intent=None):
    return plan_turn(question, intent=intent, confidence=confidence, content_intent=content_intent,
                     named=named, named_spans=list(spans), selected=selected, previous=previous,
                     min_confidence=0.45)


def test_named_commune_wins_over_selected_and_previous():
    prev = Turn("ou en est modane ?", MODANE, "status", "ou en est ?")
    plan = _plan("ou en est ugine ?", "status", named=UGINE, spans=[(10, 15)], selected=GENIX,
                 previous=prev)
    assert (plan.commune, plan.commune_source, plan.follow_up) == (UGINE, "question", False)


def test_follow_up_with_only_a_commune_repeats_the_previous_topic():
    prev = Turn("ou en est modane ?", MODANE, "status", "ou en est ?")
    plan = _plan("et pour ugine ?", "follow_up", named=UGINE, spans=[(9, 14)], previous=prev)
    assert plan.follow_up and plan.intent == "status" and plan.query == "ou en est ?"
    assert plan.commune == UGINE


def test_follow_up_on_a_new_subject_keeps_the_previous_commune_not_the_selected_one():
    prev = Turn("ou en est st genix ?", GENIX, "status", "ou en est ?")
    plan = _plan("et sur le commerce ?", "follow_up", selected=MODANE, previous=prev)
    assert (plan.commune, plan.commune_source) == (GENIX, "follow_up")
    assert plan.query == "commerce" and plan.intent == "programme"


def test_follow_up_asking_an_attribute_keeps_the_topic():
    prev = Turn("modane a signé la convention cadre ?", MODANE, "status",
                "a signé la convention cadre ?")
    plan = _plan("et la date ?", "follow_up", previous=prev)
    assert plan.intent == "status" and "convention cadre" in plan.query and "date" in plan.query
    phone = _plan("et le numero de tel ?", "follow_up", previous=prev)
    assert phone.intent == "contact"


def test_unrelated_question_drops_the_previous_commune():
    prev = Turn("ou en est ugine ?", UGINE, "status", "ou en est ?")
    plan = _plan("c'est quoi une ORT ?", "programme", previous=prev)
    assert plan.commune is None and not plan.follow_up


def test_selected_commune_applies_when_none_is_named():
    plan = _plan("on a signé la convention cadre ?", "status", selected=MODANE)
    assert (plan.commune, plan.commune_source) == (MODANE, "selected")


def test_low_confidence_falls_back_to_plain_retrieval():
    assert _plan("truc machin", "funding", confidence=0.2).intent == "programme"


def test_elliptic_turn_without_history_is_answered_as_it_stands():
    plan = _plan("et pour ugine ?", "follow_up", named=UGINE, spans=[(9, 14)])
    assert not plan.follow_up and plan.intent == "programme" and plan.commune == UGINE


@pytest.mark.parametrize("text,elliptic", [
    ("et pour Ugine ?", True), ("pareil pour moutiers", True), ("et la date ?", True),
    ("Et si la commune dépasse 20 000 habitants après le recensement, que se passe-t-il "
     "pour sa convention ?", False),
    ("ou en est modane", False),
])
def test_looks_elliptic(text, elliptic):
    assert looks_elliptic(text) is elliptic


def test_content_words_drop_links_and_fillers():
    assert content_words("et sur le commerce ?") == ["commerce"]
    assert content_words("pareil pour") == []


def test_history_round_trip_and_old_intents():
    conv = Conversation.from_list([{"question": "q", "commune": MODANE, "intent": "general"}])
    assert conv.turns[0].intent == "programme" and conv.turns[0].topic == "q"
    assert Conversation.from_list(conv.to_list()).turns == conv.turns


@pytest.mark.parametrize("question", [
    "le parcours il fait cb de km ?", "sa population ?", "cette etude date de quand ?",
    "ses objectifs c'est quoi ?",
])
def test_pointing_back_is_a_follow_up(question):
    assert looks_elliptic(question)


@pytest.mark.parametrize("question", [
    "le chef de projet il faut quel diplome ?", "la commune il y a combien d'habitants",
    "Qu'est-ce qu'une ORT ?", "le programme finance quoi ?",
])
def test_a_question_standing_alone_is_not_a_follow_up(question):
    assert not looks_elliptic(question)


def test_a_definition_in_a_follow_up_stands_alone():
    previous = Turn("notre commune a pas ete retenue, on peut candidater ?", None,
                    "eligibility", "notre commune a pas ete retenue, on peut candidater ?")
    plan = plan_turn("et le dispositif du departement c'est quoi ?", intent="follow_up",
                     confidence=0.9, content_intent=None, named=None, named_spans=[],
                     selected=None, previous=previous, min_confidence=0.45)
    assert plan.follow_up and plan.query == "le dispositif du departement c'est quoi"
    assert plan.intent == "programme"


@pytest.mark.parametrize("question", [
    "elle prevoit combien de fiches actions", "il coute combien ce scenario",
    "pour quel montant total", "le fonds friches il met combien dans ce projet",
    "c la plus petite des 14 ?", "l'adhesion c'etait quand du coup", "qui paye ?",
    "c'est quand ?", "dans le quartier de la gare ca donne quoi",
])
def test_pronouns_and_demonstratives_point_back(question):
    assert looks_elliptic(question)


def test_a_definition_after_a_commune_is_about_no_commune():
    previous = Turn("moutiers ou en est", "73181", "status", "ou en est")
    plan = plan_turn("ca veut dire quoi EPCI", intent="programme", confidence=0.9,
                     content_intent=None, named=None, named_spans=[], selected=None,
                     previous=previous, min_confidence=0.45)
    assert plan.commune is None and plan.intent == "programme"


def test_another_step_right_after_a_status_answer_reads_the_same_record():
    previous = Turn("la conv cadre de modane elle a ete signee quand", MODANE, "status",
                    "la conv cadre de elle a ete signee quand")
    plan = _plan("l'adhésion elle date de quand", "programme", previous=previous)
    assert (plan.intent, plan.commune, plan.follow_up) == ("status", MODANE, True)
    bare = _plan("et la convention cadre", "follow_up", previous=Turn(
        "saint pierre a une ORT ?", "73265", "status", "a une ORT ?"))
    assert (bare.intent, bare.commune) == ("status", "73265")
    # Our own step, with another commune selected, is about ours.
    ours = _plan("notre adhésion elle date de quand", "status", selected=UGINE,
                 previous=previous)
    assert ours.commune == UGINE and not ours.follow_up


def test_after_a_funding_question_another_project_asks_the_same():
    previous = Turn("on peut avoir des sous pour renover l eglise ?", MODANE, "funding",
                    "on peut avoir des financements pour renover l eglise ?")
    plan = _plan("et pour la maison de sante", "follow_up", previous=previous,
                 content_intent="studies")
    assert plan.intent == "funding" and plan.query == "financements pour maison sante"
    assert looks_elliptic("pendant combien de temps")


def test_another_figure_asks_the_previous_question_again():
    previous = Turn("une commune de 25000 habitants peut etre pvd ?", None, "eligibility",
                    "une commune de 25000 habitants peut etre pvd ?")
    plan = _plan("et une de 500 ?", "follow_up", previous=previous)
    assert plan.query == "une commune de 500 habitants peut etre pvd ?"
    assert plan.intent == "eligibility"


def test_a_generic_word_asks_about_the_previous_subject():
    previous = Turn("on est eligible au denormandie ?", "73011", "eligibility",
                    "on est eligible au denormandie ?")
    plan = _plan("c'est quoi les conditions", "programme", previous=previous)
    assert plan.follow_up and "denormandie" in plan.query and plan.intent == "programme"


def test_a_new_scheme_put_first_is_a_new_question_not_a_follow_up():
    prev = Turn("albertville elle a signe son ort ?", "73011", "status", "elle a signe son ort ?")
    assert _plan("le fonds vert il a ete lance quand", "status", previous=prev).follow_up
    fresh = plan_turn("le fonds vert il a ete lance quand", intent="status", confidence=0.9,
                      content_intent=None, named=None, named_spans=[], selected=None,
                      previous=prev, min_confidence=0.45, new_subject=True)
    assert not fresh.follow_up and fresh.commune is None
    # A pronoun or «ce projet» still points back, whatever scheme is named.
    back = plan_turn("le fonds friches il met combien dans ce projet", intent="programme",
                     confidence=0.9, content_intent=None, named=None, named_spans=[],
                     selected=None, previous=Turn("ugine une etude friche ?", UGINE, "studies",
                                                 "une etude friche ?"),
                     min_confidence=0.45, new_subject=True)
    assert back.follow_up and back.commune == UGINE


def test_a_pronoun_follow_up_asks_about_the_previous_subject():
    prev = Turn("l'aide de l'etat pour les friches elle marche comment", None, "studies",
                "l'aide de l'etat pour les friches elle marche comment")
    plan = _plan("il existe toujours ?", "out_of_scope", previous=prev,
                 content_intent="out_of_scope")
    assert plan.follow_up and "friches" in plan.query and plan.intent == "programme"


def test_y_en_a_follows_up_and_a_named_commune_s_own_question_stands_alone():
    prev = Turn("une commune de 500 hab peut etre pvd ?", None, "eligibility",
                "une commune de 500 habitants peut etre pvd ?")
    assert _plan("y en a une toute petite comme ca en savoie ?", "out_of_scope",
                 previous=prev).follow_up
    biggest = Turn("on est la plus grosse commune pvd du 73 ?", "73011", "eligibility",
                   "on est la plus grosse commune pvd du 73 ?")
    plan = _plan("et modane elle depend de quelle communaute de communes", "follow_up",
                 named=MODANE, spans=[(3, 9)], previous=biggest)
    assert plan.commune == MODANE and "grosse" not in plan.query


def test_the_funding_of_a_commune_s_study_asks_for_its_funders_and_sums():
    prev = Turn("l'etude des echelles recommande quel scenario", "73105", "studies",
                "l'etude recommande quel scenario")
    plan = _plan("et le financement ?", "follow_up", previous=prev, content_intent="funding")
    assert plan.intent == "programme" and "montants" in plan.query
    rule = Turn("c'est quoi le fonds friches", None, "programme", "c'est quoi le fonds friches")
    assert _plan("et le financement ?", "follow_up", previous=rule,
                 content_intent="funding").intent == "funding"


def test_a_long_question_opened_by_et_follows_up_and_is_searched_as_typed():
    prev = Turn("notre diag commerce il a compte cb de cellules", MOUTIERS, "programme",
                "notre diag commerce il a compte combien de cellules")
    plan = _plan("et il y a quelle part des locaux vacants depuis plus de 3 ans ?",
                 "out_of_scope", previous=prev)
    assert plan.follow_up and plan.commune == MOUTIERS and "cellules" not in plan.query


def test_a_follow_up_asking_its_own_question_drops_the_previous_asking_words():
    prev = Turn("moutiers l'etude commerce elle date de quand", MOUTIERS, "studies",
                "l'etude commerce elle date de quand")
    plan = _plan("et le loyer moyen c'est combien", "follow_up", previous=prev)
    assert "quand" not in plan.query and "combien" in plan.query
    again = _plan("et dans le quartier de la gare ca donne quoi", "follow_up",
                  previous=Turn("cb de cellules vacantes", MOUTIERS, "programme",
                                "combien de cellules vacantes"))
    assert "combien de cellules vacantes" in again.query


def test_a_named_commune_with_its_own_cost_question_drops_the_previous_topic():
    prev = Turn("on plante cb d'arbres avec notre scenario", "73105", "programme",
                "on plante combien d'arbres avec notre scenario")
    plan = _plan("et a montmelian les points de vue sur les coteaux ca coute combien",
                 "follow_up", named="73171", spans=[(5, 14)], previous=prev)
    assert plan.commune == "73171" and "arbres" not in plan.query


def test_an_object_pronoun_follow_up_asks_about_the_previous_subject_here():
    prev = Turn("c'est quoi une opah-ru", None, "programme", "c'est quoi une opah-ru")
    plan = _plan("on pourrait en faire une chez nous ?", "follow_up", selected=MODANE,
                 previous=prev)
    assert plan.follow_up and "opah-ru" in plan.query and plan.commune == MODANE


def test_a_chain_of_follow_ups_stays_on_its_first_subject():
    first = _plan("le plan mobilite de bsm il coute combien au total", "studies",
                  named="73054", spans=[(20, 23)])
    second = _plan("c'est sur combien d'annees", "out_of_scope",
                   previous=Turn("…", "73054", first.intent, first.topic))
    assert second.follow_up and second.commune == "73054"
    third = _plan("c'est qui qui finance ?", "programme",
                  previous=Turn("…", "73054", second.intent, second.topic))
    assert "annees" not in third.query and "plan mobilite" in third.query


def test_participle_then_who_follows_up_and_a_pronoun_keeps_the_funding_subject():
    prev = Turn("le fonds vert il finance quoi", None, "funding", "le fonds vert il finance quoi")
    assert _plan("c'est gere par qui localement", "contact", previous=prev).follow_up
    anah = Turn("l'anah elle finance quoi", None, "funding", "l'anah elle finance quoi")
    plan = _plan("et les etudes prealables elle les paye aussi ?", "follow_up", previous=anah,
                 content_intent="funding")
    assert "anah" in plan.query and not plan.query.startswith("financements pour")


@pytest.mark.parametrize(("question", "afresh"), [
    ("sinon le chef de projet pvd il a quoi comme missions en gros", True),
    ("ok merci, autre question : la dsil elle finance quoi", True),
    ("sinon pour ugine ?", False),  # short: the previous question, for Ugine
    ("qui suit les communes pvd au quotidien cote etat en general ?", True),
    ("ca fait cb de communes pvd en france", True),
    ("et au niveau national ?", False),  # a link takes the previous question up
    ("elle date de quand", False),
])
def test_a_question_that_starts_afresh(question, afresh):
    assert starts_afresh(question) is afresh


def test_sinon_with_a_whole_question_is_no_follow_up():
    previous = Turn("la friche d'ugine elle fait cb d'hectares", UGINE, "studies",
                    "la friche d'ugine elle fait cb d'hectares")
    plan = _plan("sinon le chef de projet pvd il a quoi comme missions en gros",
                 previous=previous)
    assert not plan.follow_up and plan.commune is None
    # The announcement is no part of what is searched or answered.
    assert plan.query == "le chef de projet pvd il a quoi comme missions en gros"


@pytest.mark.parametrize(("question", "rest"), [
    ("sinon, la dsil ca finance quoi ?", "la dsil ca finance quoi ?"),
    ("Bon, autre question : qui signe la convention ?", "qui signe la convention ?"),
    ("ok merci, sinon les taux ils sont a jour ?", "les taux ils sont a jour ?"),
    ("sinon pour Modane ?", "sinon pour Modane ?"),  # too short: it takes up the last one
    ("la dsil ca finance quoi ?", "la dsil ca finance quoi ?"),
])
def test_an_announced_new_subject_is_answered_without_the_announcement(question, rest):
    from assistant.answer.state import without_announcement

    assert without_announcement(question) == rest


@pytest.mark.parametrize(("question", "joined"), [
    ("une commune pvd elle y a droit sous quelles conditions ?", True),  # «y»: the FNADT
    ("et pour l obtenir c quoi la condition principale ?", True),  # «l obtenir»: the FNADT
    ("et pour y avoir droit faut remplir quelles conditions ?", True),
    ("il y a combien de communes pvd en savoie ?", False),  # «il y a» points at nothing
    ("y a un minimum d'habitants ou pas ?", False),  # «(il) y a», typed casually
])
def test_a_pronoun_pointing_back_joins_the_previous_subject(question, joined):
    prev = Turn("le fnadt ca sert a quoi", None, "programme", "le fnadt ca sert a quoi")
    plan = _plan(question, "eligibility", previous=prev)
    assert ("fnadt" in plan.query) is joined, plan.query


def test_a_definition_asked_on_after_a_study_is_about_that_study():
    previous = Turn("les echelles l etude espaces publics elle propose quoi", "73105",
                    "studies", "l etude espaces publics elle propose quoi")
    plan = _plan("et les principes communs a tous les amenagements c koi ?",
                 previous=previous)
    assert plan.follow_up and plan.commune == "73105"
    assert "espaces publics" in plan.query and "principes communs" in plan.query
    # Without a link it is a term to define, about no commune.
    alone = _plan("c koi une zone de rencontre ?", previous=previous)
    assert alone.commune is None


def test_another_commune_named_takes_the_funder_and_share_asked_not_the_previous_project():
    """«et à BSM l'interco dans le plan mobilité ?» after the share of the Échelles' water
    agency: the same share, of the funder and the project this turn names."""
    prev = Turn("les echelles ds le plan de financement des espaces publics l agence de l eau "
                "elle pese quel %", "73105", "funding",
                "dans le plan de financement des espaces publics l agence de l eau "
                "elle pese quel %")
    question = "et a bsm l interco ds le plan mobilite ?"
    start = question.index("bsm")
    plan = _plan(question, "funding", named="73054", spans=[(start, start + 3)], previous=prev)
    assert plan.commune == "73054" and "quel %" in plan.query
    assert "espaces publics" not in plan.query and "agence" not in plan.query, plan.query
    assert asking_frame(prev.topic) == "agence de l eau quel %"
    assert asking_frame("friche le departement il met quel % du deficit") == "departement quel %"
    # Without a funder, the previous subject stays: «et pour le plan patrimoine de
    # Montmélian ?» after how often the OPAH's steering committee meets.
    prev = Turn("st jean opah le comite de pilotage il se reunit cb de fois", "73248", "studies",
                "opah le comite de pilotage il se reunit combien de fois")
    question = "et pour le plan patrimoine de montmelian ?"
    start = question.index("montmelian")
    plan = _plan(question, "studies", named="73171", spans=[(start, start + 10)], previous=prev)
    assert "comite de pilotage" in plan.query, plan.query


@pytest.mark.parametrize("question", [
    "c qui qui le pilote ?",  # an object pronoun before a verb of the work
    "on la finance avec quoi d apres l etude ?",  # «l'étude»: the commune's, just asked about
    "genre quoi ?",  # more of the same
    "la commune ca fait quel % du total ?",  # a subject taken up by «ça»
])
def test_an_elliptic_turn_on_a_communes_project_keeps_its_commune_and_subject(question):
    prev = Turn("entrelacs la halle couverte elle coute cb", "73010", "programme",
                "la halle couverte elle coute combien")
    plan = _plan(question, previous=prev)
    assert plan.follow_up and plan.commune == "73010", plan
    assert "halle couverte" in plan.query, plan.query


def test_avec_quoi_asks_its_own_question_and_no_definition():
    prev = Turn("entrelacs la halle couverte elle coute cb", "73010", "programme",
                "la halle couverte elle coute combien")
    plan = _plan("on la finance avec quoi d apres l etude ?", previous=prev)
    # «combien» goes: «avec quoi» asks what funds it, not a sum
    assert "combien" not in plan.query and plan.commune == "73010", plan.query
    assert not DEFINITION.search("on la finance avec quoi")


def test_a_money_word_after_a_communes_project_asks_it_of_that_project():
    """«et côté recettes ?» after the brownfield's balance asks its receipts, not which
    funding schemes fit «recettes»; «et pour la maison de santé ?» after «des sous pour
    l'église ?» still asks which funding fits the health centre."""
    prev = Turn("ugine la friche le bilan les depenses ca fait cb en tout", UGINE, "funding",
                "la friche le bilan les depenses ca fait combien en tout")
    plan = _plan("et les frais financiers la dedans ?", "funding", previous=prev)
    assert "bilan" in plan.query and "frais financiers" in plan.query, plan.query
    plan = _plan("et cote recettes ?", "funding", previous=prev)
    assert not plan.query.startswith("financements pour"), plan.query
    prev = Turn("des sous pour renover l eglise ?", None, "funding",
                "des financements pour renover l eglise ?")
    plan = _plan("et pour la maison de sante ?", "funding", previous=prev)
    assert plan.query.startswith("financements pour"), plan.query


@pytest.mark.parametrize("question", ["c'est prevu pour quand ?", "c'est prevu quand ?"])
def test_a_participle_then_when_follows_up(question):
    assert looks_elliptic(question)
