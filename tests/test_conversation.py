"""Commune-aware answers over the shipped corpus, with the real model: the understanding step.

Each misroute reported in the issue on answers a mayor can trust is a regression test here.
"""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.answer.conversation import Conversation, answer_question
from assistant.cli.main import cli
from assistant.communes.registry import load_registry
from assistant.indexing.lexical import fold
from assistant.search.access import Role
from assistant.settings import get_settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    index = tmp_path_factory.mktemp("conv") / "index"
    s = get_settings(index_dir=index, corpus_dir=Path(__file__).resolve().parent.parent / "corpus")
    from assistant import service

    report = service.ingest(s)
    assert not report.failed
    return s


def _ask(settings, question, **kw):
    return answer_question(settings, question, **kw)


def _converse(settings, *turns, **kw):
    """The answer to the last of ``turns``, asked one after the other in one conversation."""
    conversation = Conversation()
    answers = [_ask(settings, turn, conversation=conversation, **kw) for turn in turns]
    return answers[-1]


def _no_fields(text: str) -> None:
    for field in ("Étape :", "Date :", "Commentaire :", "identifiant PVD", "pvd-84-", "lib_reg"):
        assert field not in text, text


# --- Definitions stay definitions, whatever commune is selected -------------------------

@pytest.mark.parametrize("commune", [None, "Modane"])
def test_what_is_an_ort_is_a_definition(settings, commune):
    answer = _ask(settings, "Qu'est-ce qu'une ORT ?", commune=commune)
    assert not answer.refused
    assert "revitalisation de territoire" in answer.text
    assert answer.commune is None  # a definition is about no commune
    _no_fields(answer.text)


def test_convention_cadre_definition_with_a_commune_selected(settings):
    answer = _ask(settings, "Qu'est-ce qu'une convention-cadre ?", commune="Modane")
    assert not answer.refused and "convention-cadre" in answer.text.lower()
    _no_fields(answer.text)


def test_casual_definition_is_answered(settings):
    answer = _ask(settings, "C'est quoi une ORT, en deux mots ?")
    assert not answer.refused and "revitalisation" in answer.text


# --- Status answers read as prose, each fact cited ---------------------------------------

def test_status_of_modane_in_sentences(settings):
    answer = _ask(settings, "Où en est Modane ?")
    assert answer.commune and answer.commune.insee == "73157"
    assert "La convention-cadre a été signée le 29 mars 2023." in answer.text
    _no_fields(answer.text)
    assert {c.source for c in answer.citations} == {"suivi/suivi-modane-fourneaux.pdf"}
    assert all(c.quote.startswith("Étape :") for c in answer.citations)  # the row, as quoted
    # One page of the record, one citation (its rows, first to last), one mark at the end.
    assert len(answer.citations) == len({c.page for c in answer.citations}) == 1
    assert answer.text.count("[1]") == 1 and "29 mars 2023" in answer.citations[0].quote


def test_has_modane_signed_reads_the_record(settings):
    answer = _ask(settings, "Est-ce que Modane a signé ?")
    assert answer.intent == "status"
    assert "29 mars 2023" in answer.text and "juin 2021" in answer.text


def test_status_without_a_date_says_it_is_not_known(settings):
    answer = _ask(settings, "Quand Moûtiers a-t-elle signé sa convention-cadre ?")
    assert "n'est pas renseignée" in answer.text
    assert "2023" not in answer.text  # no invented date
    assert answer.citations[0].source.startswith("suivi/suivi-moutiers")


# --- Misroutes of the regex intents --------------------------------------------------------

def test_fonds_vert_expenses_are_a_funding_question(settings):
    answer = _ask(settings, "Quelles dépenses de la commune sont éligibles au Fonds vert ?")
    assert answer.intent == "funding"
    assert not answer.checklist  # not the PVD eligibility checklist
    assert "Fonds vert" in answer.text


def test_did_the_project_lead_contact_the_ddt_is_not_a_contact_request(settings):
    answer = _ask(settings, "Le chef de projet a-t-il contacté la DDT ?", commune="Modane")
    assert answer.intent != "contact"
    assert "Étape" not in answer.text


def test_salary_is_refused_and_says_what_the_documents_do_say(settings):
    answer = _ask(settings, "Quel est le salaire du chef de projet à Ugine ?")
    assert answer.refused
    assert answer.text.startswith("Les documents indexés")
    assert "salaire" in answer.text
    _no_fields(answer.text)


def test_studies_of_a_commune_without_any(settings):
    answer = _ask(settings, "Quelles études ont été faites à Saint-Genix-les-Villages ?",
                  role=None)
    assert "Aucune étude" in answer.text and "Saint-Genix-les-Villages" in answer.text
    assert "lib_reg" not in answer.text


def test_refusal_does_not_depend_on_capital_letters(settings):
    upper = _ask(settings, "Quel budget pour la Halle de Modane ?")
    lower = _ask(settings, "quel budget pour la halle de modane ?")
    assert upper.refused and lower.refused


def test_short_factual_line_can_be_the_answer(settings):
    answer = _ask(settings, "Que prend en compte la phase de diagnostic ?")
    assert not answer.refused
    assert "diagnostic" in fold(answer.text)


def test_duration_question_gets_a_duration(settings):
    answer = _ask(settings, "Dans quel délai la convention-cadre doit-elle être signée ?")
    assert not answer.refused
    assert "18 mois" in answer.text or "dix-huit mois" in answer.text


# --- Follow-ups ----------------------------------------------------------------------------

def test_follow_up_switches_commune_and_keeps_topic(settings):
    conv = Conversation()
    first = _ask(settings, "Où en est Modane ?", conversation=conv)
    assert "29 mars 2023" in first.text
    second = _ask(settings, "Et pour Saint-Jean-de-Maurienne ?", conversation=conv)
    assert second.commune and second.commune.insee == "73248"
    assert "31 mars 2023" in second.text


def test_follow_up_topic_stays_on_the_named_commune_not_the_selected_one(settings):
    answer = _converse(settings, "Où en est Saint-Genix-les-Villages ?", "et sur le commerce ?",
                       commune="Modane")
    assert answer.commune is None or answer.commune.name == "Saint-Genix-les-Villages"
    assert "Modane" not in answer.text


def test_named_commune_does_not_stick_to_unrelated_questions(settings):
    answer = _converse(settings, "Où en est Ugine ?", "C'est quoi une convention d'adhésion ?")
    assert answer.commune is None and "Ugine" not in answer.text


def test_session_commune_for_our_ort(settings):
    answer = _ask(settings, "avons-nous une ORT ?", commune="albertville")
    assert answer.commune and answer.commune.name == "Albertville"
    assert answer.citations[0].source == "suivi/suivi-albertville.pdf"


# --- Structured answers ---------------------------------------------------------------------

def test_eligibility_checklist_each_line_cited(settings):
    answer = _ask(settings, "Bourg-Saint-Maurice est-elle éligible à PVD ?")
    assert len(answer.checklist) == 5
    assert answer.checklist[0].status == "rempli"
    assert all(item.citation for item in answer.checklist)
    assert all(c.source.startswith("programme/") for c in answer.citations)


def test_population_given_in_the_question(settings):
    answer = _ask(settings, "une commune de 23 000 habitants peut-elle entrer dans PVD ?")
    assert answer.checklist[0].status == "non rempli"
    assert answer.commune is None


def test_population_of_a_commune_from_the_registry(settings):
    answer = _ask(settings, "population de fourneaux")
    assert "676" in answer.text and answer.commune and answer.commune.name == "Fourneaux"


def test_funding_list_for_housing_notes_denormandie_needs_an_ort(settings):
    answer = _ask(settings, "Quelles aides pour rénover des logements ?", commune="Ugine")
    schemes = [f.scheme for f in answer.funding]
    assert "Anah" in schemes and "Denormandie" in schemes
    assert "Denormandie suppose une ORT" in answer.text and "d'Ugine" in answer.text


def test_off_topic_and_english(settings):
    assert _ask(settings, "recette de la tartiflette").refused
    english = _ask(settings, "what is the weather like today?")
    assert english.refused and "français" in english.text


def test_ask_history_file_scripts_a_conversation(settings, tmp_path: Path):
    history = tmp_path / "h.json"
    runner = CliRunner()
    args = ["--index", str(settings.index_dir), "--json", "--history", str(history)]
    out = runner.invoke(cli, ["ask", "Où en est Modane ?", *args])
    assert out.exit_code == 0, out.output
    out = runner.invoke(cli, ["ask", "Et pour Ugine ?", *args])
    data = json.loads(out.stdout)
    assert data["commune"] == {"insee": "73303", "name": "Ugine", "epci": "CA Arlysère"}
    assert data["intent"] == "status" and data["mode"] == "extractive"
    assert len(json.loads(history.read_text())) == 2


def test_short_commune_names_typed_in_lower_case(settings):
    answer = _ask(settings, "quelles etudes ont ete faites a saint genix ?", commune="Modane")
    assert "Saint-Genix-les-Villages" in answer.text and "Modane" not in answer.text


def test_nearby_passage_is_about_the_thing_asked(settings):
    answer = _ask(settings, "quel budget pour la halle de modane ?")
    assert answer.refused and not answer.citations  # not «le budget du poste de chef…»


def test_greeting_gets_a_welcome_not_a_refusal(settings):
    answer = _ask(settings, "bjr")
    assert not answer.refused and answer.text.startswith("Bonjour")


def test_status_with_a_short_commune_name(settings):
    answer = _ask(settings, "st jean ou en est")
    assert not answer.refused and "31 mars 2023" in answer.text


# --- Typed as on a phone ------------------------------------------------------------------

def test_phone_shorthand_is_understood(settings):
    answer = _ask(settings, "c koi une ort")
    assert not answer.refused and "revitalisation de territoire" in answer.text
    assert answer.question == "c koi une ort"  # shown as typed


def test_abbreviated_commune_is_recognised(settings):
    answer = _ask(settings, "etude mobilite bsm, le velo c combien ?")
    assert answer.commune is not None and answer.commune.name == "Bourg-Saint-Maurice"


def test_a_figure_on_a_thing_no_document_names_is_refused(settings):
    answer = _ask(settings, "quel est le taux de chômage à Ugine ?")
    assert answer.refused, answer.text


def test_a_typo_in_the_thing_asked_is_not_a_reason_to_refuse(settings):
    answer = _ask(settings, "combien coute la depolution de la friche a ugine ?")
    assert not answer.refused, answer.text
    # Mended to «dépollution», it reads as the word typed right does (which finds the
    # Fonds friches rows before the cost table's: a retrieval miss of its own).
    assert "dépollution" in answer.text, answer.text


# --- Registry facts -----------------------------------------------------------------------

def test_population_follow_up_for_another_commune(settings):
    answer = _converse(settings, "population de moutiers", "et bourg st maurice ?")
    assert "7 302" in answer.text and "3 501" not in answer.text
    assert answer.citations[0].source.startswith("registre/")


def test_programme_id_of_our_commune(settings):
    answer = _ask(settings, "notre identifiant pvd c lequel ?", commune="Valgelon-La Rochette")
    assert "pvd-84-73-7" in answer.text


@pytest.mark.parametrize(("commune", "expected"), [
    ("Bourg-Saint-Maurice", "seule commune"),
    ("Montmélian", "Saint-Pierre-d'Albigny et Valgelon-La Rochette"),
])
def test_other_communes_of_our_intercommunality(settings, commune, expected):
    answer = _ask(settings, "on est la seule commune pvd de notre communauté de communes ?",
                  commune=commune)
    assert expected in answer.text, answer.text
    assert all(c.source.startswith("registre/") for c in answer.citations)


def test_eligibility_with_a_population_is_not_a_registry_fact(settings):
    answer = _ask(settings,
                  "Albertville a presque 20000 habitants, elle peut quand même être PVD ?")
    assert "20 000" in answer.text, answer.text


def test_and_us_after_a_programme_rule_reads_our_record(settings):
    answer = _converse(settings, "l ort ca apporte quoi", "on l a nous ?", commune="Albertville")
    assert not answer.refused and answer.citations[0].source == "suivi/suivi-albertville.pdf"
    assert "ORT" in answer.text


# --- Near-domain questions the documents cannot answer ------------------------------------

def test_a_figure_about_a_place_no_document_names_is_refused(settings):
    answer = _ask(settings, "combien d'habitants compte Chambéry ?")
    assert answer.refused, answer.text


def test_the_content_of_our_step_is_not_its_date(settings):
    answer = _ask(settings, "quelles sont les fiches actions de notre convention-cadre ?",
                  commune="Saint-Jean-de-Maurienne")
    assert answer.refused, answer.text
    assert "de votre convention-cadre" in answer.text
    dated = _ask(settings, "quelle est la date de notre convention cadre ?",
                 commune="Saint-Jean-de-Maurienne")
    assert "31 mars 2023" in dated.text and "29 mars" not in dated.text


@pytest.mark.parametrize("question", [
    "cb de logements ont ete retapés en savoie grace au programme",
    "a bozel c quoi le taux de commerces vides dans le centre",
    "le prefet de savoie il s'apelle comment ?",
    # a minister's name, which no document gives
    "Le Premier ministre qui a annoncé en juin 2025 que le programme continuerait après 2026, "
    "c'était qui ?",
    "l instruction aux prefets du 16 octobre 2019 elle a ete signee par quel ministre ?",
])
def test_near_domain_questions_are_refused(settings, question):
    answer = _ask(settings, question)
    assert answer.refused, answer.text


def test_a_national_figure_still_answers_a_national_question(settings):
    answer = _ask(settings, "cb de logements renoves grace au programme en france ?")
    assert not answer.refused and "29 683" in answer.text, answer.text


# --- Read as a mayor would (the review of 2026-11-30) -------------------------------------

def test_what_a_step_brings_us_is_a_programme_rule(settings):
    answer = _ask(settings, "l ort ca nous apporte quoi concretement", commune="Modane")
    assert not answer.refused and "Denormandie" in answer.text, answer.text


def test_a_step_asked_after_another_subject_reads_the_record(settings):
    answer = _converse(settings, "population de st jean", "et leur conv cadre elle est signee ?")
    assert "31 mars 2023" in answer.text and "habitants" not in answer.text, answer.text


def test_a_greeting_before_the_question_is_ignored(settings):
    answer = _ask(settings, "bjr, c koi le programme pvd en 2 mots ?")
    assert answer.text.startswith("PVD – Petites villes de demain"), answer.text


def test_money_for_the_market_square_lists_funding(settings):
    answer = _ask(settings, "on peut avoir des sous pour refaire la place du marche ?")
    assert "DETR" in answer.text and answer.funding, answer.text


# --- Follow-ups that do not say so -------------------------------------------------------

def test_a_detail_of_the_study_just_discussed_stays_on_its_commune(settings):
    answer = _converse(settings, "l'etude friche d'ugine elle dit quoi", "le deficit c combien")
    assert answer.commune is not None and answer.commune.name == "Ugine"
    assert "4 100 000" in answer.text, answer.text


def test_an_unrelated_general_question_drops_the_commune(settings):
    answer = _converse(settings, "ugine c quelle interco", "pvd ca a ete lance quand")
    assert answer.commune is None, answer.text


def test_a_registry_value_asked_as_c_koi(settings):
    conv = Conversation()
    first = _ask(settings, "le code insee d entrelacs c koi", conversation=conv)
    assert "73010" in first.text
    answer = _ask(settings, "et modane ?", conversation=conv)
    assert "73157" in answer.text


def test_siren_is_no_contact_but_a_phone_is(settings):
    conv = Conversation()
    _ask(settings, "modane c quelle interco", conversation=conv)
    assert "200070340" in _ask(settings, "son numero siren ?", conversation=conv).text
    phone = _ask(settings, "et son tel ?", conversation=conv)
    assert phone.refused and "« et son tel »" in phone.text, phone.text


@pytest.mark.parametrize(("question", "expected"), [
    ("c laquelle la plus petite commune pvd du 73", "Fourneaux"),
    ("c qui la plus grosse commune pvd du 73", "Albertville"),
])
def test_smallest_and_largest_commune(settings, question, expected):
    answer = _ask(settings, question)
    assert answer.text.startswith(expected), answer.text
    assert answer.citations[0].source.startswith("registre/")


def test_population_of_the_programme_together(settings):
    answer = _ask(settings, "a nous 3 communes on pese combien d'habitants", commune="Montmélian")
    assert "12 177" in answer.text, answer.text


def test_a_scheme_called_how_is_not_a_persons_name(settings):
    answer = _ask(settings, "l'aide pour reconvertir les vieilles usines ca s'appelle comment")
    assert not answer.refused, answer.text
    named = _ask(settings, "comment s'appelle le manager de commerce de Moûtiers ?")
    assert named.refused, named.text


def test_thanks_with_shorthand_is_thanks(settings):
    answer = _ask(settings, "ok merci bcp")
    assert not answer.refused and answer.text.startswith("Avec plaisir")


def test_the_interco_of_the_selected_commune(settings):
    answer = _ask(settings, "l'interco elle s'appelle comment", commune="Modane")
    assert "Haute-Maurienne Vanoise" in answer.text, answer.text
    definition = _ask(settings, "c koi une interco", commune="Modane")
    assert definition.commune is None and "coopération intercommunale" in definition.text


def test_a_follow_up_on_a_definition_is_not_declined(settings):
    answer = _converse(settings, "c koi une opah-ru", "on pourrait en faire une chez nous ?",
                       commune="Modane")
    assert "sort du champ" not in answer.text, answer.text


def test_the_refusal_names_the_commune_searched_not_the_session_one(settings):
    answer = _ask(settings, "quel budget pour la halle de bsm ?", commune="Modane",
                  scope="commune : Modane")
    assert answer.refused and "commune : Bourg-Saint-Maurice" in answer.text, answer.text


def test_a_registry_fact_answered_though_thought_out_of_scope_is_followed(settings):
    conv = Conversation()
    first = _ask(settings, "cb d'habitans a albertville", conversation=conv)
    assert "18 899" in first.text, first.text
    answer = _ask(settings, "et pour ugine ?", conversation=conv)
    assert "7 039" in answer.text and not answer.refused, answer.text


def test_the_smallest_asked_of_the_previous_commune(settings):
    answer = _converse(settings, "cb d'habitants a fourneaux", "c la plus petite des 14 ?")
    assert answer.text.startswith("Fourneaux est la plus petite"), answer.text
    assert answer.commune is not None and answer.commune.name == "Fourneaux"


def test_a_count_written_in_words_answers_a_study_follow_up(settings):
    answer = _converse(settings, "l'etude revitalisation d'entrelacs",
                       "elle prevoit combien de fiches actions")
    assert not answer.refused and "douze fiches actions" in answer.text, answer.text


def test_a_paraphrase_far_from_the_documents_words_is_answered(settings):
    answer = _ask(settings, "on a combien de boutiques vides en centre ville d'apres le diag",
                  commune="Moûtiers")
    assert not answer.refused and "34" in answer.text, answer.text


def test_where_our_file_stands_is_the_record(settings):
    answer = _ask(settings, "ou en est notre dossier", commune="Ugine")
    assert not answer.refused and "fiche de suivi" not in answer.text[:40], answer.text
    assert answer.citations and answer.citations[0].source.startswith("suivi/"), answer.text


def test_a_count_of_a_thing_no_document_counts_is_refused(settings):
    answer = _ask(settings, "combien de places en crèche à Ugine ?")
    assert answer.refused, answer.text
    rate = _ask(settings, "les prets de la bdt pour une fonciere commerce c a quel taux d'interet")
    assert rate.refused, rate.text
    counted = _ask(settings, "rapport du senat pvd cb de recos")
    assert not counted.refused and "sept" in counted.text, counted.text


@pytest.mark.parametrize(("question", "terms"), [
    ("c koi la difference entre une ca et une cc", ["CA – communauté d'agglomération",
                                                     "CC – communauté de communes"]),
    ("quelle difference entre la DETR et la DSIL", ["DETR –", "DSIL –"]),
])
def test_the_difference_between_two_terms_gives_both_entries(settings, question, terms):
    answer = _ask(settings, question, commune="Albertville")
    assert all(t in answer.text for t in terms) and len(answer.citations) == 2, answer.text
    assert answer.commune is None


def test_an_example_documents_warning_is_never_the_answer(settings):
    answer = _ask(settings, "le diag commerce il recommande quoi", commune="Moûtiers")
    assert not answer.refused and answer.commune is not None, answer.text
    assert "inventés" not in answer.text and "ne doivent jamais" not in answer.text, answer.text
    asked = _ask(settings, "les chiffres de l'etude friche d'ugine sont ils reels ?")
    assert "fictifs" in asked.text or "fictive" in asked.text, asked.text


def test_who_pays_follows_the_previous_question(settings):
    answer = _converse(settings, "la friche elle coute combien a depolluer", "qui paye",
                       commune="Ugine")
    assert "Fonds friches" in answer.text and "chef de projet" not in answer.text, answer.text


def test_what_an_official_said_is_refused(settings):
    answer = _ask(settings, "le maire de st jean a dit quoi sur le projet")
    assert answer.refused, answer.text


def test_when_the_programme_ends(settings):
    answer = _ask(settings, "le programme s'arrete quand")
    assert "2026" in answer.text.split("[1]")[0], answer.text


@pytest.mark.parametrize("question", [
    "combien on a touché de l'anct l'an dernier",  # money received: never in a record here
    "la date du prochain comite de projet",  # the date of a thing no passage dates
])
def test_a_figure_of_that_kind_in_no_passage_is_refused(settings, question):
    answer = _ask(settings, question, commune="Entrelacs")
    assert answer.refused, answer.text


def test_a_count_at_the_scale_of_the_region_is_refused(settings):
    answer = _ask(settings, "combien de communes pvd dans la region")
    assert answer.refused, answer.text
    signed = _ask(settings, "la date de signature de la convention cadre de modane")
    assert "29 mars 2023" in signed.text, signed.text


@pytest.mark.parametrize(("question", "commune", "opening"), [
    ("l'etude espaces publics des echelles", None, "Les Échelles – Requalification"),
    ("le diag commerce il dit quoi", "Moûtiers", "Moûtiers – Diagnostic du commerce"),
    ("on a une etude sur la friche ?", "Ugine", "Ugine – Étude de reconversion"),
])
def test_a_study_named_alone_is_answered_by_its_summary(settings, question, commune, opening):
    answer = _ask(settings, question, commune=commune)
    assert answer.text.startswith(opening) and "[1]" in answer.text, answer.text
    assert answer.citations[0].source.startswith("etudes/")


def test_a_specific_question_on_a_study_is_not_its_summary(settings):
    answer = _ask(settings, "le diag commerce il recommande quoi", commune="Moûtiers")
    assert "recommande" in answer.text and "Diagnostic du commerce de" not in answer.text


def test_a_church_is_heritage_not_housing(settings):
    answer = _ask(settings, "on peut avoir des sous pour renover l eglise ?", commune="Modane")
    assert "DRAC" in answer.text and "Anah" not in answer.text, answer.text


@pytest.mark.parametrize("question", [
    "c quoi le numero de l agate",  # a phone, not a definition
    "quand est la prochaine reunion du comite de pilotage",
    "quelle est la population d albertville en 1990",  # the registry's figure is of 2021
    "la date limite pour candidater au fonds vert 2026",
    "qui a gagne les elections municipales",
])
def test_typical_questions_the_documents_cannot_answer(settings, question):
    answer = _ask(settings, question, commune="Ugine")
    assert answer.refused, answer.text
    assert "Au plus près" not in answer.text or "numero" not in question, answer.text


def test_a_national_figure_asked_with_a_commune_selected_is_not_the_communes(settings):
    answer = _ask(settings, "combien de logements renoves par l anah en 2023", commune="Ugine")
    assert "29 683" in answer.text and not answer.text.startswith("Pour Ugine"), answer.text
    dated = _ask(settings, "diagnostic commerce Moûtiers 2022 taux de vacance")
    assert "16,0 %" in dated.text, dated.text


@pytest.mark.parametrize(("question", "title"), [
    ("etudes mobilite 2024", "Bourg-Saint-Maurice – Plan de mobilité"),
    ("les etudes de la cc coeur de savoie", "Montmélian – Étude de valorisation"),
    ("toutes les etudes habitat", "Saint-Jean-de-Maurienne – Étude pré-opérationnelle"),
    ("quelles etudes en maurienne", "Saint-Jean-de-Maurienne – Étude pré-opérationnelle"),
    ("des etudes sur le commerce en tarentaise ?", "Moûtiers – Diagnostic du commerce"),
])
def test_staff_search_studies_by_place_theme_and_year(settings, question, title):
    answer = _ask(settings, question)
    assert answer.text.startswith("Étude disponible") and title in answer.text, answer.text
    assert answer.citations and answer.citations[0].source.startswith("etudes/")


def test_a_schemes_eligibility_is_not_the_programmes_checklist(settings):
    answer = _ask(settings, "on est eligible au denormandie ?", commune="Albertville")
    assert "Critères d'éligibilité à Petites villes de demain" not in answer.text, answer.text
    assert "Denormandie" in answer.text


def test_the_isere_namesake_is_not_the_savoie_commune(settings):
    answer = _ask(settings, "pont de beauvoisin cote isere ca fait cb d'habitants")
    assert "3 630" in answer.text.split("[1]")[0], answer.text


def test_a_study_this_access_cannot_read_is_not_said_not_to_exist(settings):
    answer = _ask(settings, "etudes mobilite 2024", role=Role("public"))
    assert answer.refused and "réservées à Agate ou aux élus de la commune concernée" in answer.text


def test_a_refusal_quotes_the_question_as_typed(settings):
    answer = _ask(settings, "on a combien de boutiques vides", commune="Modane")
    assert answer.refused and "boutiques vides" in answer.text, answer.text
    funding = _ask(settings, "qui peut financer une maison de sante ?")
    assert "DETR" in funding.text and "Fonds friches" not in funding.text, funding.text


def test_more_ways_officials_put_it(settings):
    signed = _ask(settings, "st jean ils ont signé la conv cadre avec quelle autre commune")
    assert "Saint-Julien-Montdenis" in signed.text, signed.text
    rate = _ask(settings, "le poste de la personne qui pilote la revitalisation, l'etat et cie "
                          "le prennent en charge a hauteur de combien")
    assert not rate.refused and "75 %" in rate.text, rate.text
    given = _ask(settings, "avec presque 20 000 hab on risque pas de sortir du dispositif ?",
                 commune="Albertville")
    assert "20 000" in given.text and not given.text.startswith("Albertville compte"), given.text


def test_who_the_mayor_is_after_a_population_is_refused(settings):
    answer = _converse(settings, "cb d'habitants a ugine", "c qui le maire ?")
    assert answer.refused and "7 039" not in answer.text, answer.text


def test_a_rule_is_not_read_in_the_record_and_the_record_says_when_it_was_updated(settings):
    rule = _ask(settings, "il faut une delib pour signer la convention d adhesion ?",
                commune="Modane")
    assert "ne mentionne pas" not in rule.text, rule.text
    updated = _ask(settings, "la fiche de suivi elle est a jour ?", commune="Modane")
    assert "mise à jour le 1er octobre 2025" in updated.text, updated.text
    assert "convention-cadre" not in updated.text, updated.text


def test_an_ambiguous_selected_commune_asks_which(settings, monkeypatch):
    from assistant.communes.registry import Match, Registry
    real = Registry.match
    twins = [c for c in load_registry(settings).all() if c.name.startswith("Saint-")][:2]

    def match(self, query, *args, **kwargs):
        if query == "Saint":
            return Match("ambiguous", None, twins, query)
        return real(self, query, *args, **kwargs)

    monkeypatch.setattr(Registry, "match", match)
    answer = _ask(settings, "ou en est notre dossier", commune="Saint")
    assert answer.intent == "clarify" and answer.refused, answer.text
    assert "Plusieurs communes portent ce nom" in answer.text


def test_a_question_on_a_scheme_after_a_commune_is_not_read_in_its_record(settings):
    answer = _converse(settings, "albertville elle a signe son ort ?",
                       "le fonds vert il a ete lance quand")
    assert not answer.refused and "2023" in answer.text, answer.text
    assert "fiche de suivi" not in answer.text and answer.commune is None, answer.text


def test_what_the_record_does_not_hold_is_looked_up_in_the_commune_s_studies(settings):
    answer = _ask(settings, "a entrelacs l'enquete en ligne elle a eu combien de reponses",
                  commune="Ugine")
    assert not answer.refused and "310 réponses" in answer.text, answer.text


def test_a_sentence_opened_by_a_pronoun_is_not_quoted_alone(settings):
    answer = _ask(settings, "le fonds vert il a ete lance quand")
    assert "Il a ensuite été intégré" not in answer.text, answer.text


def test_a_salary_asked_in_casual_words_is_refused(settings):
    answer = _ask(settings, "un chef de projet pvd ca touche combien brut par an en moyenne")
    assert answer.refused, answer.text


def test_a_commune_named_in_a_follow_up_with_its_own_question_is_asked_about(settings):
    answer = _converse(settings, "on est la plus grosse commune pvd du 73 ?",
                       "et modane elle depend de quelle communauté de communes",
                       commune="Albertville")
    assert "Haute-Maurienne Vanoise" in answer.text and "Albertville" not in answer.text, (
        answer.text)


@pytest.mark.parametrize("question", ["aix les bains ca fait cb d'habitants",
                                      "aime la plagne ca fait combien d'habitants"])
def test_the_population_of_a_place_outside_the_programme_is_refused(settings, question):
    answer = _ask(settings, question)
    assert answer.refused and "millions" not in answer.text, answer.text


def test_who_wrote_a_report_is_a_person_and_is_refused(settings):
    answer = _converse(settings, "c quoi le rapport du senat sur pvd", "qui etait le rapporteur")
    assert answer.refused, answer.text


def test_a_rent_or_a_fee_never_given_is_refused_not_answered_with_another_sum(settings):
    rent = _converse(settings, "moutiers l'etude commerce elle date de quand",
                     "et le loyer moyen d'un local sur l'axe principal c cb")
    assert rent.refused, rent.text
    fee = _ask(settings, "la cotisation à l'apvf pour une commune de 4000 habitants c'est "
                         "combien par an")
    assert fee.refused, fee.text


def test_an_answer_quoting_only_the_selected_commune_s_documents_says_so(settings):
    answer = _converse(settings, "nos fiches actions on peut les financer avec quoi",
                       "les liaisons cyclables c'est qui qui paye ?", commune="Entrelacs")
    assert not answer.refused and answer.commune is not None, answer.text
    assert answer.commune.name == "Entrelacs" and answer.text.startswith("Pour Entrelacs")


def test_a_stay_limit_in_hours_answers_how_long(settings):
    answer = _converse(settings, "le plan mobilite de bsm il propose quoi pour le stationnement",
                       "la zone bleue on pourra y rester combien de temps ?")
    assert "1 h 30" in answer.text.split("[1]")[0], answer.text


def test_a_follow_up_with_its_own_subject_and_question_keeps_the_commune(settings):
    park = _converse(settings, "la friche qu'on a etudiée elle a quelle histoire",
                     "le parc prevu il ferait quelle surface", commune="Ugine")
    assert not park.refused and "0,8 ha" in park.text, park.text
    siren = _converse(settings, "on est tout seuls a porter le programme ?",
                      "et notre interco elle a quel numero siren",
                      commune="Saint-Genix-les-Villages")
    assert "247300528" in siren.text, siren.text


def test_a_firm_s_name_never_given_is_refused(settings):
    answer = _converse(settings, "l'opah ru de st jean elle vise cb de logements",
                       "et l'operateur de suivi animation retenu c'est quelle entreprise")
    assert answer.refused, answer.text


def test_two_communes_together_give_both_population_counts(settings):
    answer = _ask(settings, "a nous deux avec fourneaux on fait cb d'hab au recensement insee",
                  commune="Modane")
    assert "3 773" in answer.text and "3 644" in answer.text, answer.text
    assert "code INSEE" not in answer.text, answer.text


def test_a_study_this_access_cannot_read_is_said_so_not_replaced(settings):
    internal = _ask(settings, "le diag commerce de moutiers il dit quoi", role=Role("public"))
    assert internal.refused and "document interne d'Agate" in internal.text, internal.text
    theirs = _ask(settings, "l'etude patrimoine de montmelian elle dit quoi",
                  role=Role("public"))
    assert theirs.refused and "réservée aux élus de la commune" in theirs.text, theirs.text
    place = _ask(settings, "la place des echelles l'etude recommande quel scenario",
                 role=Role("public"))
    assert "L'étude des Échelles" in place.text, place.text
    elected = _ask(settings, "l'etude patrimoine de montmelian elle dit quoi",
                   role=Role("elu", "73171"))
    assert not elected.refused and "patrimoine" in elected.text, elected.text


def test_funding_a_station_lists_investment_grants_not_housing_aids(settings):
    answer = _ask(settings, "on peut avoir des sous pour renover la gare ?", commune="Modane")
    assert "DSIL" in answer.text and "Denormandie" not in answer.text, answer.text


def test_which_thing_of_our_commune_no_passage_holds_is_refused(settings):
    answer = _ask(settings, "notre ort elle couvre quel secteur", commune="Modane")
    assert answer.refused and "Pour Modane" not in answer.text, answer.text


def test_who_funds_a_study_s_plan_lists_its_funders_table(settings):
    answer = _converse(settings, "la place des echelles l'etude recommande quel scenario",
                       "et le financement ?")
    assert answer.text.count("•") >= 5 and "État – DETR : 450 000 € (25 %)" in answer.text, (
        answer.text)
    assert len(answer.citations) == 1
    quote = answer.citations[0].quote
    assert "DETR" in quote and "Commune" in quote  # one quote spanning the table's rows


def test_two_sentences_saying_the_same_thing_are_quoted_once(settings):
    answer = _ask(settings, "le denormandie ca marche comment")
    assert answer.text.count("réduction d'impôt") == 1, answer.text


def test_diff_between_two_conventions_gives_both_definitions(settings):
    answer = _ask(settings, "c koi la diff entre convention d'adhesion et convention cadre")
    assert "Convention d'adhésion :" in answer.text and "Convention-cadre :" in answer.text, (
        answer.text)


def test_with_whom_after_a_study_detail_stays_on_the_study(settings):
    answer = _converse(settings, "le diag commerce de moutiers",
                       "ils ont fait combien d'entretiens", "avec qui ?")
    assert "chambre des métiers" in answer.text, answer.text


def test_the_14_communes_together_are_summed_from_the_registry(settings):
    answer = _ask(settings, "les 14 communes pvd du 73 ca fait cb d hab en tout")
    assert "72 946" in answer.text and "73 842" in answer.text, answer.text


def test_celle_de_follows_up_on_another_commune(settings):
    answer = _converse(settings, "le siren de l'interco d'entrelacs", "et celle d'albertville")
    assert "200068997" in answer.text, answer.text


def test_who_funds_after_two_follow_ups_reads_the_plan_s_funders(settings):
    answer = _converse(settings, "le plan mobilite de bsm il coute cb au total",
                       "c'est sur combien d'années", "c'est qui qui finance ?")
    assert "Fonds vert : 900 000 €" in answer.text, answer.text
    assert answer.commune is not None and answer.commune.name == "Bourg-Saint-Maurice"


def test_what_is_our_rate_is_our_figure_not_a_definition(settings):
    answer = _ask(settings, "c koi le taux de vacance commerciale chez nous", commune="Moûtiers")
    assert answer.text.startswith("Pour Moûtiers") and "%" in answer.text, answer.text


def test_a_new_subject_put_first_is_not_read_in_the_previous_commune(settings):
    answer = _converse(settings, "st jean a signe sa conv cadre avec qui",
                       "la loi 3DS elle date de quand")
    assert not answer.refused and "2022" in answer.text and answer.commune is None, answer.text


def test_how_much_the_commune_pays_in_its_plan_reads_the_commune_s_row(settings):
    answer = _converse(settings, "notre plan mobilite il est chiffre a cb",
                       "la commune elle en paye combien la dedans",
                       commune="Bourg-Saint-Maurice")
    assert "1 315 000 €" in answer.text, answer.text
    assert "ne doivent pas être repris" not in answer.text, answer.text


def test_who_presides_an_association_is_a_person_asked(settings):
    answer = _converse(settings, "c koi l'apvf", "qui en est le president en ce moment ?")
    assert answer.refused, answer.text


def test_when_a_law_dates_from_is_answered_with_a_commune_selected(settings):
    answer = _ask(settings, "la loi 3DS elle date de quand", commune="Montmélian")
    assert not answer.refused and "2022" in answer.text, answer.text


# --- Intercommunalities named, not their communes ----------------------------------------

def test_siren_of_a_named_intercommunality(settings):
    answer = _ask(settings, "le siren de la cc coeur de tarentaise c quoi")
    assert not answer.refused and "200023299" in answer.text, answer.text
    assert answer.citations[0].source.startswith("registre/")


def test_siren_follow_up_for_another_commune_reads_its_own_intercommunality(settings):
    answer = _converse(settings, "le siren de la cc coeur de tarentaise c quoi",
                       "et pour bourg st maurice ?")
    assert "247300254" in answer.text and "200023299" not in answer.text, answer.text
    assert answer.commune and answer.commune.name == "Bourg-Saint-Maurice"


def test_communes_of_a_named_intercommunality(settings):
    answer = _ask(settings, "quelles communes pvd dans la cc coeur de savoie")
    for name in ("Montmélian", "Saint-Pierre-d'Albigny", "Valgelon-La Rochette"):
        assert name in answer.text, answer.text


@pytest.mark.parametrize("question", [
    "arlysere au total (toute l'agglo) ca fait combien d'habitants",
    "et le siege de la cc coeur de savoie il est dans quelle commune ?",
])
def test_what_the_registry_does_not_hold_on_an_intercommunality_is_refused(settings, question):
    answer = _ask(settings, question)
    assert answer.refused and answer.text.startswith("Les documents ne donnent pas"), answer.text
    assert answer.citations, "what the registry does say is quoted"


def test_total_of_the_whole_intercommunality_is_refused_after_a_siren(settings):
    answer = _converse(settings, "le siren de la cc coeur de chartreuse",
                       "elle regroupe combien de communes en tout")
    assert answer.refused and "Les Échelles" in answer.text, answer.text


def test_our_agglo_with_a_partner_sums_the_programme_communes(settings):
    answer = _ask(settings, "notre agglo avec ugine on fait cb d'hab pvd au total",
                  commune="Albertville")
    assert "25 938" in answer.text and not answer.refused, answer.text
    assert answer.commune and answer.commune.name == "Albertville"  # Ugine is the partner


def test_partner_named_with_avec_keeps_the_selected_commune(settings):
    answer = _ask(settings, "a nous deux avec modane on fait cb d'hab au recensement insee 2021",
                  commune="Fourneaux")
    assert "3 644" in answer.text, answer.text
    assert answer.commune and answer.commune.name == "Fourneaux"


# --- A short question goes on about the commune the conversation is about ----------------

def test_short_question_after_a_study_stays_on_its_commune(settings):
    answer = _converse(settings, "l'etude de revitalisation d'entrelacs elle a ete faite comment",
                       "y a eu cb d'entretiens")
    assert "30 entretiens" in answer.text, answer.text
    assert answer.commune and answer.commune.name == "Entrelacs"


def test_body_named_by_its_sigle_is_a_new_subject(settings):
    # «bdt» is read «Banque des Territoires», the glossary's name for the sigle BdT.
    answer = _converse(settings, "les echelles cb d'habitants",
                       "la bdt elle met cb dans l'assistance technique")
    assert not answer.refused and "70" in answer.text, answer.text
    assert answer.commune is None


def test_studies_asked_casually_are_listed(settings):
    answer = _ask(settings, "y a quoi comme etude pour st jean de maurienne")
    assert "OPAH-RU" in answer.text and "habitants" not in answer.text, answer.text


# --- What exactly is asked: a period, a unit, a year, a name, a text's number ------------

def test_a_rent_per_month_no_document_gives_is_refused(settings):
    answer = _ask(settings, "a moutiers les boutiques a l'essai elles seraient louees combien "
                            "par mois aux createurs ?")
    assert answer.refused, answer.text


def test_a_yearly_cost_is_answered_with_the_yearly_figure(settings):
    answer = _ask(settings, "moutiers le manager de co il couterait cb par an d apres le diag")
    assert not answer.refused and "60 000 € par an" in answer.text, answer.text


def test_a_power_in_kwc_no_document_gives_is_refused(settings):
    answer = _ask(settings, "les panneaux photovoltaiques sur le toit neuf de la halle de la "
                            "cartonnerie, ca fera quelle puissance en kWc ?", commune="Ugine")
    assert answer.refused, answer.text


def test_a_count_of_another_year_is_refused(settings):
    answer = _ask(settings, "combien de chefs de projet PVD étaient en poste fin 2024 au niveau "
                            "national ?")
    assert answer.refused, answer.text


def test_a_persons_name_is_refused_but_not_the_name_of_a_thing(settings):
    answer = _converse(settings, "le manager de commerce il couterait cb par an d'apres notre diag",
                       "on en a deja recruté un ? il s'appelle comment", commune="Moûtiers")
    assert answer.refused, answer.text
    answer = _ask(settings, "l'instance ou se retrouvent elus, etat et financeurs pour piloter "
                            "localement ca s'appelle comment")
    assert not answer.refused and "comité de projet" in answer.text.lower(), answer.text


def test_the_number_of_a_report_is_not_a_phone_number(settings):
    answer = _ask(settings, "le rapport du senat sur pvd c quel numero et il date de qd")
    assert not answer.refused and "n° 40" in answer.text, answer.text


def test_a_count_asked_in_savoie_reads_the_counted_thing(settings):
    answer = _ask(settings, "pvd en savoie ca fait cb de territoires de programme en tt vu que "
                            "certaines communes sont regroupees")
    assert not answer.refused and "11 territoires" in answer.text, answer.text


@pytest.mark.parametrize(("turns", "date"), [
    (("l'etude patrimoine de montmelian elle date de quand",), "mars 2025"),
    (("l'etude patrimoine de montmelian elle date de quand", "et celle de bsm ?"), "mai 2024"),
    (("quelles etudes on a pour la maurienne", "celle de st jean elle date de quand"),
     "septembre 2023"),
])
def test_the_date_of_a_study_is_read_on_its_title_page(settings, turns, date):
    answer = _converse(settings, *turns)
    assert not answer.refused and date in answer.text, answer.text
    assert answer.citations[0].source.startswith("etudes/")


def test_inhabitants_as_a_subject_do_not_ask_the_population(settings):
    answer = _converse(settings, "y a une etude sur les espaces publics aux echelles ?",
                       "les habitants ils demandaient quoi en premier")
    assert "1 223" not in answer.text, answer.text


def test_dedans_points_back_at_the_previous_subject(settings):
    answer = _converse(settings, "le fonds vert il finance quoi",
                       "la renaturation ca rentre dedans ?")
    assert "Fonds vert" in answer.text and "Denormandie" not in answer.text, answer.text


# --- Who pays what in a commune's study ------------------------------------------------

def test_a_funder_of_the_plan_and_then_another(settings):
    study = "notre etude patrimoine c'est qui qui finance"
    region = _converse(settings, study, "et la region elle met combien ?", commune="Montmélian")
    assert "217 500 €" in region.text and not region.refused, region.text
    answer = _converse(settings, study, "et la region elle met combien ?", "et le departement ?",
                       commune="Montmélian")
    assert "Département" in answer.text and not answer.refused, answer.text


def test_a_funder_missing_from_the_plan_is_said_missing(settings):
    answer = _converse(settings, "l'opah de st jean l'anah met cb dans les aides aux travaux",
                       "et le departement il met cb lui ?")
    assert answer.refused, answer.text


def test_the_date_of_our_study_with_a_commune_selected(settings):
    answer = _ask(settings, "notre etude patrimoine elle date de quand", commune="Montmélian")
    assert "mars 2025" in answer.text, answer.text


def test_a_national_count_with_a_commune_selected_is_answered(settings):
    answer = _ask(settings, "ca fait cb de communes pvd en france", commune="Montmélian")
    assert not answer.refused and "1 600" in answer.text, answer.text


def test_a_general_question_after_our_study_is_not_labelled_with_our_commune(settings):
    answer = _converse(settings, "notre etude patrimoine elle date de quand",
                       "le rapport du senat il dit quoi sur l'apres 2026", commune="Montmélian")
    assert answer.commune is None and not answer.text.startswith("Pour Montmélian"), answer.text


# --- From the second web-app review -----------------------------------------------------

def test_another_funder_after_a_study_funders_table(settings):
    answer = _converse(settings, "notre etude patrimoine elle date de quand",
                       "c'est qui qui finance ?", "et la region elle met combien ?",
                       "et le departement ?",
                       commune="Montmélian")
    assert "Département" in answer.text and "217 500 €" in answer.text, answer.text


def test_a_national_figure_after_a_study_question_stands_alone(settings):
    answer = _converse(settings, "le parcours d'interpretation il fait combien de km",
                       "ca fait cb de communes pvd en france", commune="Montmélian")
    assert "1 600" in answer.text and answer.commune is None, answer.text


@pytest.mark.parametrize("question", ["un chef de projet pvd il touche combien",
                                      "le budget de la commune pour 2026 c'est combien"])
def test_pay_and_the_communes_own_budget_are_refused(settings, question):
    assert _ask(settings, question, commune="Modane").refused


# --- Typed as officials type: typos mended against the index -----------------------------

@pytest.mark.parametrize(("question", "expected"), [
    ("ya combien de comunes pvd en savoi", "14"),
    ("cb d'habitans a albertville", "18 899"),
    ("qui finance le chef de proget", "75 %"),
])
def test_typos_do_not_stop_an_answer(settings, question, expected):
    answer = _ask(settings, question)
    assert not answer.refused and expected in answer.text, answer.text
    assert answer.question == question  # the question is shown as typed


# --- Fresh batch 8: a named funder's row, the date of an act, an end that is no date ------

def test_the_named_funders_row_is_read(settings):
    answer = _ask(settings, "le departement il mettrait combien pour boucher le trou de "
                            "l'operation sur notre friche ?", commune="Ugine")
    assert "400 000 €" in answer.text, answer.text


def test_the_date_of_an_act_no_text_gives_is_refused(settings):
    assert _ask(settings, "la loi 3DS elle a été promulguée quel jour exactement ?").refused
    answer = _converse(settings, "bsm plan mobilite la region elle met cb",
                       "elle l'a votée quand cette subvention ?")
    assert answer.refused, answer.text


def test_when_an_operation_ends_is_not_the_date_of_its_study(settings):
    answer = _ask(settings, "notre opah-ru elle se termine en quelle annee ?",
                  commune="Saint-Jean-de-Maurienne")
    assert "septembre 2023" not in answer.text, answer.text


def test_the_previous_question_asked_of_another_communes_study(settings):
    answer = _converse(settings, "bsm le plan mobilite le departement il met cb",
                       "et ds l'etude patrimoine de montmelian ?")
    assert "217 500 €" in answer.text and "350 000" not in answer.text, answer.text


def test_a_count_of_metres_is_answered_in_metres(settings):
    answer = _ask(settings, "a moutiers le lineaire commercial il fait combien de metres au total")
    assert not answer.refused, answer.text


def test_a_word_typed_without_its_accent_keeps_its_stem(settings):
    # «fonciere» stemmed «foncier» where the documents' «foncières» stem «fonci».
    answer = _ask(settings, "c koi une fonciere de redynamisation au juste", commune="Moûtiers")
    assert not answer.refused, answer.text


def test_a_verb_on_ca_points_back(settings):
    answer = _converse(settings, "la pollution sur notre friche elle touche les nappes ?",
                       "faut surveiller ca combien de temps ?", commune="Ugine")
    assert answer.commune is not None and answer.commune.name == "Ugine", answer.text


def test_et_de_x_counts_that_thing_instead(settings):
    answer = _converse(settings, "ya combien de comunes pvd en savoi", "et d'intercos ?")
    assert "9 intercommunalités" in answer.text, answer.text


def test_the_total_of_a_plan_comes_first(settings):
    answer = _ask(settings, "notre plan patrimoine il coute cb en tout", commune="Montmélian")
    assert answer.text.split("[1]")[0].count("1 450 000 €") == 1, answer.text


def test_a_yearly_change_is_a_figure_per_year(settings):
    answer = _ask(settings, "dans le bourg, la population elle évolue comment chaque année "
                            "d'après notre étude ?", commune="Entrelacs")
    assert not answer.refused and "-0,3 %" in answer.text, answer.text


def test_a_frequency_in_minutes_needs_minutes(settings):
    answer = _converse(settings, "bsm le plan mobilite il prevoit une navette ?",
                       "elle passera tous les combien de minutes ?")
    assert answer.refused, answer.text  # «dépose-minute» is no frequency
    assert not _ask(settings, "le comite de projet il se reunit tous les combien").refused


def test_who_the_rapporteur_was_is_refused(settings):
    answer = _converse(settings, "le rapport du senat sur pvd il date de quand",
                       "c'etait qui le rapporteur ?")
    assert answer.refused, answer.text


def test_a_follow_up_on_a_study_this_account_cannot_read_stays_on_its_commune(settings):

    # The Ugine study is internal to Agate: the follow-up is still about Ugine, not answered
    # with the programme's national figures.
    answer = _converse(settings, "l'etude friche d'ugine elle date de quand",
                       "le scenario retenu il prevoit combien de logements", role=Role("public"))
    assert "29 683" not in answer.text and "Ugine" in answer.text, answer.text


# --- Fresh batches 10-11: a new subject announced, definitions read whole ----------------

@pytest.mark.parametrize(("turns", "expected"), [
    (("la friche d'ugine elle fait cb d'hectares",
      "sinon le chef de projet pvd il a quoi comme missions en gros"), "chef de projet"),
    (("cb d'hab a st pierre d'albigny",
      "qui suit les communes pvd au quotidien cote etat en general ?"), "ANCT"),
])
def test_a_new_subject_announced_drops_the_commune(settings, turns, expected):
    answer = _converse(settings, *turns)
    assert answer.commune is None and expected in answer.text, answer.text


def test_en_general_drops_the_commune(settings):
    answer = _converse(settings, "cb d'hab a st pierre d'albigny",
                       "qui suit les communes pvd au quotidien cote etat en general ?")
    assert answer.commune is None and "Saint-Pierre" not in answer.text, answer.text


def test_sinon_pour_x_still_follows_up(settings):
    answer = _converse(settings, "modane elle est dans quelle cc", "sinon pour ugine ?")
    assert "CA Arlysère" in answer.text, answer.text


def test_dans_quelle_cc_reads_the_intercommunality(settings):
    answer = _ask(settings, "modane elle est dans quelle cc")
    assert "CC Haute-Maurienne Vanoise" in answer.text, answer.text
    assert "convention-cadre" not in answer.text


def test_a_numbered_label_is_read_with_the_sentence_it_names(settings):
    answer = _ask(settings, "c koi une boutique a l'essai", commune="Valgelon-La Rochette")
    assert "loyer réduit pendant une période test" in answer.text, answer.text
    assert "Fiche action n° 3 – Manager de commerce et boutique à l'essai. [" not in answer.text


def test_a_definition_reads_the_sentence_that_takes_the_term_up(settings):
    answer = _ask(settings, "c quoi une etude pre-operationnelle", commune="Le Pont-de-Beauvoisin")
    assert "objectifs chiffrés" in answer.text, answer.text


@pytest.mark.parametrize("turns", [
    ("bsm le plan mobilite il prevoit des abris velo securises ?",
     "ils seront installés a quelles adresses exactement"),
    ("l'etude espaces publics des echelles le comite de pilotage y avait qui",
     "l'architecte conseil il s'appelle comment ?"),
    ("l'etude espaces publics des echelles elle recommande quel scenario",
     "l'equipe de maitrise d'oeuvre retenue c laquelle ?"),
])
def test_an_address_a_name_or_a_firm_never_given_is_refused(settings, turns):
    assert _converse(settings, *turns).refused


@pytest.mark.parametrize(("question", "commune", "expected"), [
    ("rendre nos cheminements praticables en fauteuil roulant, on l'a budgété à combien dans "
     "le plan et sur quelle période ?", "Bourg-Saint-Maurice", "90 000 €"),
    ("d'après notre enquête, quelle part des gens trouvent notre patrimoine intéressant ?",
     "Montmélian", "78 %"),
])
def test_how_a_figure_is_asked_is_not_what_it_is_about(settings, question, commune, expected):
    answer = _ask(settings, question, commune=commune)
    assert not answer.refused and expected in answer.text, answer.text


def test_a_lower_case_partner_commune_is_a_name_not_a_word(settings):
    answer = _converse(settings, "c quoi l'identifiant pvd de moutiers", "et modane fourneaux ?")
    assert "pvd-84-73-5" in answer.text, answer.text


def test_a_short_question_on_a_part_of_the_study_stays_on_its_commune(settings):
    answer = _converse(settings, "le diag commerce de moutiers il a compté les cellules comment",
                       "le releve il a ete fait quand")
    assert answer.commune is not None and answer.commune.name == "Moûtiers", answer.text
    assert "février 2022" in answer.text


def test_the_date_asked_again_of_another_study(settings):
    answer = _converse(settings, "le diag commerce de moutiers il date de quand",
                       "et l'etude friche d'ugine ?")
    assert "datée d'octobre 2022" in answer.text, answer.text


@pytest.mark.parametrize(("question", "commune"), [
    ("Au 31 décembre 2024, combien de millions d'euros avaient été engagés au total pour les "
     "communes PVD ?", None),
    ("Jusqu'à quelle date on peut déposer la demande de subvention de la Banque des "
     "Territoires pour un manager de commerce ?", None),
    ("c quoi le taux de logements vacants dans notre centre ville ?", "Moûtiers"),
])
def test_a_figure_at_another_date_a_deadline_or_the_rate_of_another_thing_is_refused(
        settings, question, commune):
    assert _ask(settings, question, commune=commune).refused


def test_the_exact_day_asked_needs_a_day(settings):
    answer = _ask(settings, "notre selection dans pvd par le prefet c'etait quel jour exactement ?",
                  commune="Ugine")
    # Said first, then what the record does give, cited.
    assert answer.refused and "ne donne pas le jour exact" in answer.text, answer.text
    assert "décembre 2020" in answer.text and answer.citations
    # A step the record does not date is no month: the month said is the dated step's.
    answer = _ask(settings, "notre adhesion et notre selection c'etait quel jour exactement ?",
                  commune="Ugine")
    assert "décembre 2020" in answer.text and "adhésion" not in answer.text, answer.text
    answer = _ask(settings, "notre conv cadre elle a ete signee quel jour ?", commune="Modane")
    assert not answer.refused and "29 mars 2023" in answer.text, answer.text


def test_quand_meme_asks_no_date(settings):
    answer = _ask(settings, "Albertville a presque 20000 habitants, elle peut quand même être "
                            "PVD ?")
    assert not answer.refused and "20 000" in answer.text, answer.text


def test_which_association_is_a_name_asked(settings):
    assert _ask(settings, "le tiers-lieu prevu dans la halle de la cartonnerie a ugine, c'est "
                          "quelle asso qui va le gerer ?").refused


def test_the_end_of_a_question_alone_follows_up(settings):
    answer = _converse(settings, "moutiers le diag commerce ils ont compté les pietons quels jours",
                       "de quelle heure a quelle heure ?")
    assert not answer.refused and "de 9 h à 19 h" in answer.text, answer.text


def test_a_follow_up_on_a_study_of_an_intercommunality_asks_no_intercommunality(settings):
    answer = _converse(settings, "on a quelles etudes pour l'agglo arlysere",
                       "celle d'ugine le comite de pilotage il reunit qui ?")
    assert "établissement public foncier local" in answer.text, answer.text


def test_workshops_with_the_inhabitants_are_no_population(settings):
    answer = _converse(settings, "on a quoi comme etude sur montmelian st pierre valgelon ?",
                       "ils ont fait cb d'ateliers avec les habitants ?")
    assert "deux ateliers participatifs" in answer.text, answer.text
    assert "4 123" not in answer.text


def test_elle_after_our_convention_cadre_is_that_convention(settings):
    answer = _converse(settings, "on en est ou de notre convention cadre",
                       "elle a ete signee quel jour exactement", commune="Modane")
    assert "29 mars 2023" in answer.text and "adhésion" not in answer.text, answer.text



def test_second_review_in_the_web_app(settings):

    # An élu of Montmélian, typing without accents.
    role = Role("elu", "73171")
    answer = _ask(settings, "d'apres notre enquete quelle part des gens trouvent notre patrimoine "
                            "interessant", commune="Montmélian", role=role)
    assert not answer.refused and "78 %" in answer.text, answer.text
    answer = _ask(settings, "notre selection c'etait quel jour exactement ?",
                  commune="Montmélian", role=role)
    assert "ne donne pas le jour exact" in answer.text and "décembre 2020" in answer.text
    assert _ask(settings, "le mecene il s'appelle comment ?", commune="Montmélian",
                role=role).refused
    # Anonymous: a figure in millions at a date no text gives; a study this access cannot read.
    assert _ask(settings, "au 31 decembre 2024 cb de millions engages pour les pvd ?",
                role=Role("public")).refused
    answer = _ask(settings, "la friche d'ugine elle fait cb d'hectares", role=Role("public"))
    assert answer.refused and "document interne d'Agate" in answer.text, answer.text


def test_a_figure_shared_by_several_is_not_one_of_theirs(settings):
    answer = _ask(settings, "dans le cofinancement du chef de projet, la part de l'anah toute "
                            "seule c'est quel pourcentage ?")
    assert answer.refused, answer.text
    assert not _ask(settings, "le chef de projet il est cofinancé a combien").refused


@pytest.mark.parametrize("adapter", [True, False])
def test_the_query_adapter_brings_a_casual_question_to_its_passage(settings, adapter):
    """«ugine friche cb ca coute la depollution» (a dev question): e5 alone ranks the cost
    table of the Ugine study past the fifth passage; the adapter fitted on the training
    split brings it in."""
    from assistant.indexing.index import Index
    from assistant.search.retrieval import retrieve

    index = Index(settings.model_copy(update={"query_adapter": adapter}))
    hits = retrieve(index, "ugine friche cb ca coute la depollution", k=5).hits
    found = any("1 600 000" in " ".join(h.text.split()) for h in hits)
    assert found is adapter, [h.metadata["source"] for h in hits]


@pytest.mark.parametrize(("question", "commune"), [
    # a duration, which no sentence gives (the cofinancing rate is no answer)
    pytest.param(
        "en moyenne un chef de projet pvd reste combien de temps en poste avant de partir ?",
        None, marks=pytest.mark.xfail(strict=True, reason=(
            "known loss of the sentence adapter: «le prolonger de deux ans» (the programme, "
            "in the chef de projet note) now ranks among the first sentences, and the "
            "answerability model takes that duration for the one asked"))),
    # weeks, which no figure in millions of euros is
    ("la bdt met combien de semaines en moyenne pour instruire une demande d'étude ?", None),
    # kilometres of streets, which 11,5 km of cycle routes are not
    ("la zone 30 prévue dans nos quartiers, elle couvrira combien de km de rues au total ?",
     "Bourg-Saint-Maurice"),
    # a month, which «neuf mesures sur six ans» is not
    ("la zone de rencontre du centre de bsm les travaux ils demarrent quel mois exactement ?",
     None),
])
def test_a_figure_of_a_kind_no_passage_gives_is_refused(settings, question, commune):
    answer = _ask(settings, question, commune=commune)
    assert answer.refused, answer.text


def test_a_bare_quand_may_ask_in_which_case_not_a_date(settings):
    answer = _ask(settings, "quand est-ce que la convention cadre vaut ORT ?")
    assert not answer.refused, answer.text


def test_the_census_figure_asked_comes_first(settings):
    census = _ask(settings, "on fait cb d'hab au recensement insee 2021 ?", commune="Moûtiers")
    assert census.text.startswith("Moûtiers compte 3 475 habitants au recensement INSEE 2021"), (
        census.text)
    listed = _ask(settings, "combien d'habitants à Moûtiers ?")
    assert "3 501 habitants selon la liste nationale ANCT de 2021 (3 475" in listed.text, (
        listed.text)


def test_a_share_in_it_follows_up_though_it_names_a_funder(settings):
    """«l'anah elle en prend quel % là-dedans ?»: the Anah's share of the OPAH just asked
    about, not the Anah in general."""
    answer = _converse(settings, "st jean opah les aides aux travaux ca fait cb sur 5 ans",
                       "l'anah elle en prend quel % la dedans ?")
    assert "72,1 %" in answer.text, answer.text


def test_a_question_on_the_savoie_communes_is_not_carried_to_the_last_commune(settings):
    """The registry names all 14 communes: its passages point back at none of them."""
    answer = _converse(settings, "ugine la friche le scenario retenu il fait combien de logements",
                       "ya combien de communes pvd en savoie ?")
    assert answer.commune is None and "14 communes" in answer.text, answer.text


def test_pour_y_avoir_droit_asks_about_the_previous_subject_however_long(settings):
    answer = _converse(settings, "la personne qui pilote la revitalisation, qui paye son salaire ?",
                       "et pour y avoir droit faut remplir quelles conditions ?")
    assert "conditions de cofinancement" in answer.text, answer.text


def test_what_it_costs_in_all_is_the_plan_total_not_one_action(settings):
    answer = _converse(settings, "on a une etude sur notre patrimoine ?",
                       "elle propose quoi pour les facades ?", "et ca coute combien en tout ?",
                       commune="Montmélian")
    assert "1,45 M€" in answer.text.split("[1]")[0], answer.text


# --- Fresh batches 18-20 (session 10) -------------------------------------------------------

def test_an_announced_subject_is_answered_without_the_announcement(settings):
    """«sinon …» used to be searched with «sinon», and «il fait quoi quand …» read as a date
    asked: the question was refused."""
    answer = _converse(settings, "st genix c quelle comcom",
                       "sinon le chef de projet pvd il fait quoi qd un projet bloque ?")
    assert not answer.refused and answer.commune is None, answer.text
    assert "chef de projet" in answer.text.lower()


def test_a_sentence_opening_a_list_is_given_with_the_list(settings):
    answer = _converse(settings, "on a un plan mobilite nous ?", "il vise quoi comme objectifs ?",
                       commune="Bourg-Saint-Maurice")
    assert "vise à :" in answer.text and "\n • " in answer.text, answer.text
    assert "gaz à effet de serre" in answer.text and answer.text.count("[1]") == 1


def test_cest_le_paradoxe_comes_with_what_it_takes_up(settings):
    answer = _converse(settings, "l etude de strategie d entrelacs elle date de qd",
                       "c koi le paradoxe principal de son diagnostic ?")
    assert "lotissements" in answer.text, answer.text


def test_a_study_found_without_a_commune_sets_the_conversations_commune(settings):
    answer = _converse(settings, "y a une etude sur le velo quelque part ?",
                       "le reseau cyclable propose il melange quels types d'amenagements ?")
    assert answer.commune is not None and answer.commune.name == "Bourg-Saint-Maurice"
    # A list of studies of several communes sets none.
    answer = _converse(settings, "on a quoi comme etudes faites en 2022",
                       "et ca coute combien en general un chef de projet ?")
    assert answer.commune is None, answer.text


@pytest.mark.parametrize(("turns", "commune"), [
    # the architect's (or a firm's) name, which no study gives
    (("notre etude prevoit une halle couverte pr le marche ?",
      "c quel architecte qui va la dessiner ?"), "Entrelacs"),
    # a web address, which the study does not give either
    (("montmelian le parcours patrimoine il aura des codes qr ?",
      "ils renvoient vers quel site internet exactement ?"), None),
])
def test_a_name_or_a_web_address_asked_in_a_dialogue_is_refused(settings, turns, commune):
    answer = _converse(settings, *turns, commune=commune)
    assert answer.refused, answer.text


def test_our_study_that_the_account_cannot_read_is_said_to_exist(settings):
    """Found on review: «on a un plan mobilité nous ?» by Bourg-Saint-Maurice's mayor, whose
    plan is internal to Agate, quoted five unrelated programme sentences."""
    answer = _ask(settings, "on a un plan mobilite nous ?", commune="Bourg-Saint-Maurice",
                  role=Role("elu", "73054"))
    assert answer.refused and "document interne d'Agate" in answer.text, answer.text


def test_a_definition_of_a_kind_of_study_is_no_summary_of_ours(settings):
    answer = _ask(settings, "c'est quoi une opah ?", commune="Ugine")
    assert "reconversion d'une friche" not in answer.text, answer.text


def test_a_programme_rule_after_a_commune_is_not_said_to_be_the_communes(settings):
    """Found on review: «Pour Bourg-Saint-Maurice : le cadre national prévoit …»."""
    answer = _converse(settings, "le plan mobilite de bsm il vise quoi comme objectifs",
                       "dans quel delai faut signer la convention cadre ?")
    assert "mois" in answer.text and not answer.text.startswith("Pour "), answer.text


@pytest.mark.parametrize(("turns", "expected"), [
    # another commune named with its own project: the same funder's share, there
    (("les echelles ds le plan de financement des espaces publics l agence de l eau elle pese "
      "quel %", "et a bsm l interco ds le plan mobilite ?"), "6,8 %"),
    (("ugine friche le departement il met quel % du deficit",
      "et aux echelles ds le financement des espaces publics ?"), "20 %"),
    # the Région in a funders' table is a funder, not a scale the passages must name
    (("bsm plan mobilite la region elle pese quel % du total",), "10,2 %"),
    # a scheme named as a funder: its row of the study's table
    (("les echelles le scenario b il coute cb", "la detr elle en finance quel % ?"), "25 %"),
    # «la commune ça fait quel % ?»: the commune's row
    (("st jean opah les aides aux travaux c qui qui paye", "la commune ca fait quel % du total ?"),
     "17,4 %"),
    # an object pronoun for the previous subject
    (("moutiers le diag prevoit un observatoire de la vacance ?", "c qui qui le pilote ?"),
     "Agate"),
])
def test_a_funders_share_or_pilot_asked_on_is_read_in_the_right_study(settings, turns, expected):
    answer = _converse(settings, *turns)
    assert not answer.refused and expected in answer.text, answer.text


def test_a_thing_a_study_provides_is_answered_from_its_passages_not_its_summary(settings):
    answer = _ask(settings, "moutiers le diag prevoit un observatoire de la vacance ?")
    assert "observatoire" in answer.text.lower(), answer.text


def test_who_is_the_project_owner_asks_a_body_not_a_name(settings):
    answer = _ask(settings, "st jean l etude opah c qui le maitre d ouvrage",
                  commune="Saint-Jean-de-Maurienne")
    assert not answer.refused, answer.text


def test_a_price_per_head_is_refused_when_only_the_actions_cost_is_given(settings):
    answer = _converse(settings, "notre plan patrimoine prevoit des visites guidees ?",
                       "elles couteront cb par personne ?", commune="Montmélian")
    assert answer.refused, answer.text
    # a figure per dwelling that the study gives is still answered
    answer = _ask(settings, "la prime par logement c cb a st jean")
    assert "5 000 €" in answer.text, answer.text


def test_a_fiches_cost_and_funders_are_read_in_that_fiche(settings):
    """The convention-cadre model's fiches are one row per field; the rows asked, of the fiche
    named, even where the chunk read stops before them, and without their column names."""
    answer = _ask(settings, "dans le modele de conv cadre la requalification de la place "
                            "centrale c chiffre a cb")
    assert "1 800 000" in answer.text and "1 200 000" not in answer.text, answer.text
    assert "Rubrique" not in answer.text
    answer = _converse(settings, "dans le modele de conv cadre la requalification de la place "
                                 "centrale c chiffre a cb", "et elle serait financee par qui")
    assert "Fonds vert (renaturation)" in answer.text, answer.text


@pytest.mark.parametrize(("question", "commune", "expected"), [
    # «faut joindre la liste …»: attach a document, no contact asked
    ("conv d adhesion faut joindre la liste des etudes qu on a deja ?", None, "Liste des"),
    # «porté par la commune ou par l'interco ?»: the post's holder, not which EPCI it is
    ("Notre chef de projet PVD, d'après notre fiche de suivi, on sait s'il est porté par la "
     "commune ou par l'interco ?", "Moûtiers", "chef de projet"),
    # «… elle donne les taux ou pas ?»: whether it does, which «ne donne pas» answers
    ("la note sur les financements pvd elle donne les taux de subvention ou pas", None,
     "ne donne volontairement pas de taux"),
])
def test_words_that_looked_like_another_question_do_not_misroute(settings, question, commune,
                                                                    expected):
    answer = _ask(settings, question, commune=commune)
    assert not answer.refused and expected in answer.text, answer.text
    assert "fait partie de l'intercommunalité" not in answer.text


def test_a_segments_length_is_a_dimension_not_a_count(settings):
    answer = _converse(settings, "moutiers diag co l axe commercant principal il est decoupé "
                                 "en segments ?", "le s1-b il fait cb de long ?")
    assert "240 m" in answer.text and not answer.refused, answer.text


def test_what_kind_of_study_reads_its_cover(settings):
    answer = _converse(settings, "l etude des echelles c quel type d etude au juste",
                       "et celle d ugine ?")
    assert "faisabilité et de programmation" in answer.text, answer.text


def test_review_of_session_11_in_the_web_app(settings):
    """Found on review: «quelles études Agate a faites en 2023 ?» after a question on Ugine
    answered «Aucune étude sur Ugine datée de 2023»; «c quand la prochaine pleine lune ?»
    quoted the programme's dates; «le fonds vert on peut déposer quand ?» gave its launch
    year for a filing date."""
    answer = _converse(settings, "ugine la friche la region elle met cb",
                       "quelles etudes agate a fait en 2023 ?")
    assert "Entrelacs" in answer.text and "Ugine" not in answer.text, answer.text
    assert _ask(settings, "c quand la prochaine pleine lune ?").refused
    answer = _ask(settings, "le fonds vert on peut deposer quand ?")
    assert answer.refused and "lancé en 2023" not in answer.text, answer.text
    # «elle aura combien d'arbres ?»: «aura» is the verb, not the region (AURA) whose
    # figures the passages would have to give
    answer = _ask(settings, "notre place elle aura combien d arbres ?", commune="Les Échelles")
    assert not answer.refused and "vingtaine d'arbres" in answer.text, answer.text


@pytest.mark.parametrize("turns", [
    ("cb d'hab a ugine au recensement", "et a cluses ?"),
    ("la conv cadre de modane fourneaux elle a ete signee quand", "et celle d'annecy ?"),
    ("Rumilly en Haute-Savoie, elle fait partie des petites villes de demain ?",),
])
def test_a_place_no_document_mentions_is_refused_by_name(settings, turns):
    """«et a cluses ?» after Ugine's population quoted Ugine's again; «Rumilly en
    Haute-Savoie, elle est PVD ?» quoted the Savoie communes as if they answered."""
    answer = _converse(settings, *turns)
    assert answer.refused and "ne parlent pas" in answer.text, answer.text
    assert "7 148" not in answer.text and "2023" not in answer.text


def test_review_of_session_12_batches(settings):
    """Fresh batches, session 12: «t'as un exemple en savoie ?» was declined as off-topic;
    «un nom de candidat» was answered with Moûtiers' population; «ya combien de places
    publiques dans le centre ?» from Bourg-Saint-Maurice quoted Les Échelles' count beside
    its own; «c koi une foncière de redynamisation au juste» defined «Sobriété foncière»."""
    answer = _converse(settings, "une commune de 700 habitants ça peut etre pvd ?",
                       "t'as un exemple en savoie ?")
    assert "Fourneaux" in answer.text and not answer.refused, answer.text
    answer = _converse(settings, "notre etude commerce elle propose de recruter un manager ?",
                       "ok et vous avez deja un nom de candidat pour le poste ?",
                       commune="Moûtiers")
    assert answer.refused, answer.text
    answer = _converse(settings, "notre plan mobilite il dit quoi sur le stationnement",
                       "ya combien de places publiques dans le centre ?",
                       commune="Bourg-Saint-Maurice")
    assert "1 150" in answer.text and "142" not in answer.text, answer.text
    assert answer.commune is not None and answer.commune.name == "Bourg-Saint-Maurice"
    answer = _ask(settings, "c koi une fonciere de redynamisation au juste")
    assert "Sobriété foncière" not in answer.text.split("[1]")[0], answer.text


def test_a_funding_table_is_read_row_by_row(settings):
    """The summary table of pvd-financements.pdf (p. 7) was read as one run-on line, so no
    scheme's condition could be quoted."""
    answer = _converse(settings, "notre vieille eglise la drac elle peut la financer ?",
                       "faut remplir quelle condition pour ces credits")
    assert "services patrimoniaux" in answer.text, answer.text
    answer = _converse(settings, "la subvention bdt pr un manager de commerce c cb",
                       "et pr y avoir droit faut deja avoir cree le poste ?")
    assert "poste créé" in answer.text, answer.text


# --- Session 13: statements to check, membership, our stage, follow-ups of a study -------

def test_a_statement_to_check_is_answered_not_refused(settings):
    """«c vrai que … 75 % ?» states a figure to check; it was taken for a figure asked that
    no passage holds (the BdT gives 20 000 € a year, not a share) and refused."""
    answer = _ask(settings, "c vrai que la bdt prend en charge 75 % du salaire du manager de "
                            "commerce ?")
    assert not answer.refused and "20 000 €" in answer.text, answer.text
    answer = _ask(settings, "c sur que le cofinancement des chefs de projet est prolonge de 2 "
                            "ans apres 2026 ?")
    assert not answer.refused and "deux ans" in answer.text, answer.text


@pytest.mark.parametrize(("question", "commune", "name"), [
    ("on est vraiment pvd nous ?", "Fourneaux", "Fourneaux"),
    ("est ce que ugine fait partie des petites villes de demain ?", None, "Ugine"),
    ("albertville pvd ou pas", None, "Albertville"),
])
def test_whether_a_commune_is_in_the_programme(settings, question, commune, name):
    """«on est vraiment pvd nous ?» quoted what the programme is, not that we are in it."""
    answer = _ask(settings, question, commune=commune)
    assert answer.text.startswith(f"Oui, {name} fait partie du programme"), answer.text
    assert "sélectionnée dans le programme" in answer.text
    assert answer.citations and answer.citations[0].source.startswith("suivi/")
    assert answer.commune is not None and answer.commune.name == name


def test_the_only_pvd_commune_of_the_interco_is_not_a_membership_question(settings):
    answer = _ask(settings, "on est la seule commune pvd de notre communauté de communes ?",
                  commune="Bourg-Saint-Maurice")
    assert "seule commune PVD" in answer.text and not answer.text.startswith("Oui"), answer.text


def test_our_stage_in_the_programme_reads_our_record(settings):
    """«on est dans quelle étape du programme ?» quoted the national timeline (Barentin)."""
    answer = _ask(settings, "on est dans quelle etape du programme ?", commune="Ugine")
    assert "Ugine a été sélectionnée" in answer.text and "Barentin" not in answer.text, (
        answer.text)


def test_every_study_is_listed_when_agate_is_asked_what_it_has(settings):
    answer = _ask(settings, "agate elle a fait quelles etudes en exemple ?")
    assert answer.text.startswith("Études disponibles") and len(answer.citations) == 7, (
        answer.text)
    newest = _ask(settings, "Parmi les études faites par Agate, c'est laquelle la plus récente ?")
    assert newest.text.startswith("La plus récente est : Montmélian"), newest.text
    rule = _ask(settings, "quelles etudes faut il mener avant la convention cadre ?")
    assert not rule.text.startswith(("Études disponibles", "La plus")), rule.text


def test_follow_ups_on_a_study(settings):
    """«et celle sur les espaces publics aux échelles ?» after a study's date asks that one's
    date; a follow-up's own words are what a passage must cover («l'enquête … cb de
    ménages» after the plan's measures was refused); a figure from one commune's study
    says whose it is."""
    answer = _converse(settings, "l'etude commerce de moutiers elle date de quand",
                       "et celle sur les espaces publics aux echelles ?")
    assert "novembre 2021" in answer.text, answer.text
    answer = _converse(settings, "a bsm le plan mobilite il propose cb de mesures",
                       "et l'enquete elle a interrogé cb de menages ?", commune="Entrelacs")
    assert not answer.refused and "380 ménages" in answer.text, answer.text
    answer = _converse(settings, "ya une etude qui parle de desimpermeabilisation ?",
                       "et l'agence de l'eau elle mettrait cb ?")
    assert "90 000 €" in answer.text, answer.text
    assert answer.commune is not None and answer.commune.name == "Les Échelles"


def test_the_programmes_communes_are_listed(settings):
    """«les communes pvd de savoie c lesquelles» quoted the registry's introduction."""
    answer = _converse(settings, "les communes pvd de savoie c lesquelles")
    for name in ("Albertville", "Fourneaux", "Valgelon-La Rochette", "Saint-Jean-de-Maurienne"):
        assert name in answer.text, answer.text
    assert len(answer.citations) == 11 and all(
        c.source.startswith("registre/") for c in answer.citations)
    intercos = _converse(settings, "les communes pvd de savoie c lesquelles",
                         "et leurs intercos ?")
    assert "CC Cœur de Savoie" in intercos.text and "CA Arlysère" in intercos.text
    other = _converse(settings, "les communes pvd de savoie c lesquelles",
                      "et en haute savoie ya lesquelles ?")
    assert other.refused and "Haute-Savoie" in other.text, other.text


def test_a_place_typed_in_lower_case_is_refused_by_name(settings):
    answer = _ask(settings, "rumilly en haute savoie elle fait partie des petites villes de "
                            "demain ?")
    assert answer.refused and "Rumilly" in answer.text, answer.text


def test_the_isere_namesake_is_no_membership_question(settings):
    answer = _ask(settings, "le pont de beauvoisin cote isere il est pvd lui aussi ?")
    assert not answer.text.startswith("Oui"), answer.text
