"""Candidate sentences and their scores: what may be quoted, the expected answer type."""

import pytest

from assistant.answer.extractive import asked_thing, compose, pick
from assistant.answer.sentences import (
    GATHERED_PENALTY,
    Candidate,
    asked_unit,
    clean_sentence,
    collect,
    counted_thing,
    expected_type,
    has_type,
    holds_count_of,
    lexical_overlap,
    not_an_answer,
    score,
    semantic_scale,
)
from assistant.types import Hit, Page


@pytest.mark.parametrize("line,rejected", [
    ("Le poste est cofinancé à 75 %", False),  # short factual line, no final stop
    ("Le diagnostic prend en compte les études existantes.", False),
    ("2. Étapes du programme", True),
    ("Les missions du manager de commerce", True),
    ("Qu'est-ce qu'une ORT ?", True),
    ("Date : 1er octobre 2025 Émetteur : Agate – Agence alpine des territoires", True),
    ("Étape : Convention-cadre ; Date : 29 mars 2023 ; Commentaire : x.", True),
    ("id_pvd : pvd-84-73-14 ; insee_com : 73303 ; lib_com : Ugine", True),
    ("Agate · mise à jour octobre 2025 | Page 2 / 3", True),
    (" ".join(["mot"] * 80) + ".", True),
])
def test_not_an_answer(line, rejected):
    assert not_an_answer(line) is rejected


@pytest.mark.parametrize("question,kind", [
    ("Quand la convention-cadre de Modane a-t-elle été signée ?", "date"),
    ("combien touche-t-on pour le chef de projet", "nombre"),
    ("Pour quelle durée la convention est-elle conclue ?", "duree"),
    ("combien de temps pour signer la convention cadre", "duree"),
    ("qui signe la convention d'adhésion ?", "acteur"),
    ("Qu'est-ce qu'une ORT ?", None),
    # «quand» opens a case here; the question is «quoi».
    ("le chef de projet pvd il fait quoi quand un projet bloque ?", None),
    ("et on fait comment quand le chef de projet part ?", None),
])
def test_expected_type(question, kind):
    assert expected_type(question) == kind


@pytest.mark.parametrize("text,kind,found", [
    ("La convention-cadre a été signée le 29 mars 2023.", "date", True),
    ("Elle fixe le projet de revitalisation.", "date", False),
    ("Elle est conclue pour une durée de six ans.", "duree", True),
    ("dans les 18 mois suivant l'adhésion", "duree", True),
    ("Le poste est cofinancé à 75 %.", "nombre", True),
    ("La convention est signée par l'État et la commune.", "acteur", True),
])
def test_has_type(text, kind, found):
    assert has_type(text, kind) is found


def test_lexical_overlap_is_the_idf_share_found():
    weights = {"convent": 1.0, "cadr": 3.0}
    assert lexical_overlap(weights, "La convention-cadre") == pytest.approx(1.0)
    assert lexical_overlap(weights, "la convention") == pytest.approx(0.25)
    assert lexical_overlap({}, "x") == 0.0


def test_semantic_scale_is_clipped():
    assert semantic_scale(0.5) == 0.0 and semantic_scale(0.99) == 1.0
    assert 0 < semantic_scale(0.85) < 1


def _cand(text, score, rank=0, start=0):
    hit = Hit(chunk_id=f"c{rank}", text=text, score=1.0, metadata={})
    return Candidate(hit, rank, 0, 1, start, start + len(text), text, score=score)


def test_pick_puts_the_best_first_and_drops_near_repeats_and_weak_ones():
    best = _cand("La convention-cadre est signée dans les dix-huit mois.", 0.9, 1, 50)
    other = _cand("Elle vaut ORT si la ville principale la signe.", 0.8, 0, 10)
    repeat = _cand("La convention-cadre est signée dans les dix-huit mois !", 0.85, 2, 0)
    weak = _cand("Le Club PVD réunit les élus.", 0.3, 0, 90)
    picked = pick([other, weak, repeat, best], 5)
    assert [c.text for c in picked] == [best.text, other.text]


@pytest.mark.parametrize("question,thing", [
    ("Quel est le salaire du chef de projet à Ugine ?", "le salaire du chef de projet à Ugine"),
    ("quelle est la date de signature de l'ORT ?", "la date de signature de l'ORT"),
    ("Où en est Modane ?", None),
])
def test_asked_thing(question, thing):
    assert asked_thing(question) == thing


def test_clean_sentence():
    assert clean_sentence("• le poste est cofinancé à 75 %") == "Le poste est cofinancé à 75 %."


def test_table_cells_run_together_are_not_an_answer():
    row = ("Maires, président de l'EPCI, préfet ou sous-préfet, partenaires Pilotage stratégique, "
           "validation, arbitrages Comité technique Chef de projet, services, DDT, techniciens "
           "des partenaires Préparation, suivi opérationnel Comité régional des financeurs.")
    assert not_an_answer(row)
    assert not not_an_answer("Le poste peut être cofinancé jusqu'à 75 % par l'ANCT, la Banque "
                             "des Territoires et l'Anah.")


def test_a_models_blank_is_no_answer():
    from assistant.answer.sentences import not_an_answer
    assert not_an_answer("La part restant à la charge de la collectivité est de "
                         "[montant ou pourcentage].")
    assert not not_an_answer("Le poste est cofinancé jusqu'à 75 % [1].")


def test_the_unit_asked_must_be_the_unit_given():
    assert asked_unit("bsm combien de km d'amenagements velo") == "km"
    assert asked_unit("cb d'arbres on plante") == "arbre"
    assert asked_unit("combien coute la halle") == "eur"
    assert asked_unit("combien de temps ça prend") is None
    assert asked_unit("la bdt met combien de semaines pour instruire") == "semaine"
    assert asked_unit("cb de jours de permanence") == "jour"
    assert not has_type("300 millions d'euros pour le programme.", "nombre", "semaine")
    assert has_type("Le réseau cyclable compte 11,5 km.", "nombre", "km")
    assert not has_type("42 % des déplacements.", "nombre", "km")


@pytest.mark.parametrize(("question", "stems"), [
    ("combien de places en crèche à Ugine ?", ["plac"]),
    ("combien de visiteurs par an", ["visiteur"]),
    ("combien de temps dure le programme", []),  # a duration, typed elsewhere
    ("combien de monde ça fait", []),  # people are counted under many names
    ("quel est le budget", []),
    ("la zone 30 elle couvrira combien de km de rues ?", ["ru"]),  # rues, counted in km
    ("combien de km d'itinéraires", ["km"]),
])
def test_counted_thing(question, stems):
    assert counted_thing(question) == stems


def test_a_count_needs_a_figure_beside_the_thing_counted():
    assert holds_count_of("Le centre-ville compte 212 cellules, dont 34 vacantes.", ["vac"])
    assert holds_count_of("La stratégie compte douze fiches actions.", ["fich"])
    assert not holds_count_of("Ugine compte 7 039 habitants.", ["plac"])
    # A year or a day is no count of conventions.
    assert not holds_count_of("Des conventions ont été signées en 2022 et le 29 mars 2023.",
                              ["convent"])


def test_a_rate_asked_wants_a_percentage_and_years_are_no_count():
    assert asked_unit("c a quel taux d'interet") == "pct"
    assert has_type("cofinancé jusqu'à 75 % par l'ANCT", "nombre", "pct")
    assert not has_type("une subvention de 20 000 euros par an", "nombre", "pct")
    assert not has_type("signées en 2022 et 2023", "nombre")
    assert has_type("signées en 2022 : 40 conventions", "nombre")


def test_a_cost_asked_wants_an_amount_of_money():
    assert asked_unit("l'option recommandée elle coute combien") == "eur"
    assert has_type("trois scénarios : A (0,9 M€ HT), B (1,8 M€ HT)", "nombre", "eur")
    assert not has_type("tout en conservant 128 places", "nombre", "eur")


def test_durations_and_headings_in_words():
    assert has_type("L'étude propose une OPAH-RU de cinq ans.", "duree")
    # «4. Ce qu'a changé la loi 3DS»: a numbered heading, whatever digits its name holds.
    assert not_an_answer("Ce qu'a changé la loi 3DS")
    assert not not_an_answer("Le poste est cofinancé à 75 %")

PAGE = ("Le comité de pilotage se réunit deux fois par an. La halle du marché sera rénovée "
        "en 2026. Le chantier durera dix-huit mois au total. Les commerçants restent sur "
        "la place pendant les travaux.")


class _Catalog:
    """The one page of document d1."""

    def pages(self, doc_id: str) -> list[Page]:
        return [Page(number=1, text=PAGE)] if doc_id == "d1" else []


def _chunk(cid: str, text: str, rank: int) -> Hit:
    meta = {"doc_id": "d1", "page_start": 1, "page_end": 1, "source": "halle.md"}
    return Hit(chunk_id=cid, text=text, score=1.0 / (1 + rank), metadata=meta, rank=rank)


def _passage() -> Hit:
    """Chunks ranked 0, 2 and 7 of the fused ranking; the second repeats the first's end."""
    best = _chunk("a", "La halle du marché sera rénovée en 2026.", 0)
    second = _chunk("b", "La halle du marché sera rénovée en 2026. Le chantier durera "
                    "dix-huit mois au total.", 2)
    far = _chunk("c", "Les commerçants restent sur la place pendant les travaux.", 7)
    return Hit(chunk_id="a", text=PAGE, score=best.score, metadata=best.metadata, rank=0,
               chunks=[best, second, far])


def test_a_passage_is_read_chunk_by_chunk_its_gathered_neighbours_marked():
    cands = collect([_passage()], _Catalog())  # type: ignore[arg-type]
    found = {c.text: (c.chunk_id, c.gathered, c.hit_rank) for c in cands}
    assert found == {
        "La halle du marché sera rénovée en 2026.": ("a", False, 0),  # once, best chunk's
        "Le chantier durera dix-huit mois au total.": ("b", False, 0),  # within the k best
        "Les commerçants restent sur la place pendant les travaux.": ("c", True, 0),
    }
    assert all(PAGE[c.start:c.end] == c.text for c in cands)  # exact quotes


def test_a_gathered_sentence_loses_the_penalty():
    cands = collect([_passage()], _Catalog())  # type: ignore[arg-type]
    twin = Candidate(**{**vars(cands[-1]), "gathered": False})
    score([cands[-1], twin], "les commerçants pendant les travaux", None, None,
          {"commercant": 1.0, "travaux": 1.0})
    assert twin.score - cands[-1].score == pytest.approx(GATHERED_PENALTY)


def test_sentences_of_two_chunks_of_one_passage_get_their_own_citations():
    cands = collect([_passage()], _Catalog())  # type: ignore[arg-type]
    sentences, citations = compose(cands[:2], _Catalog())  # type: ignore[arg-type]
    assert [s[-3:] for s in sentences] == ["[1]", "[2]"]
    assert [c.quote for c in citations] == [cands[0].text, cands[1].text]  # no long span
    assert {c.chunk_id for c in citations} == {"a"}  # the passage's id, as in answer.hits


def test_table_cells_run_together_without_a_full_stop_are_no_answer():
    assert not_an_answer("Collectivités, avec l'appui des partenaires Diagnostic, stratégie, "
                         "programme d'actions Préparation de la convention-cadre")


def test_a_models_numbered_blank_is_no_answer():
    assert not_an_answer("Les secteurs d'intervention sont délimités sur les plans annexés à la "
                         "présente convention (annexe [n]) :")


def test_a_numbered_table_run_together_is_no_answer():
    assert not_an_answer("1 Étude pré-opérationnelle et OPAH-RU 1 200 000 € 2 Requalification de "
                         "la place centrale 1 800 000 € 3 Manager de commerce 180 000 €.")
    assert not not_an_answer("Trois scénarios ont été comparés : A (0,9 M€ HT), B (1,8 M€ HT) "
                             "et C (3,1 M€ HT).")


@pytest.mark.parametrize("question,kind", [
    ("il se reunit tous les combien ?", "frequence"),
    ("ils sont surtout ou ?", "lieu"),
    ("ou en est modane", None),
    ("combien de fiches actions", "nombre"),
])
def test_expected_type_of_frequency_and_place_questions(question, kind):
    assert expected_type(question) == kind


def test_a_sentence_opened_by_a_pronoun_with_nothing_before_it_does_not_lead():
    orphan = _cand("Elle permet aussi de solliciter les premières études.", 0.9, 0, 200)
    plain = _cand("Les aides de l'Anah financent les travaux des propriétaires.", 0.7, 1, 10)
    picked = pick([orphan, plain], 5)
    assert picked[0] is plain and orphan in picked


def test_a_numbered_label_is_joined_to_the_sentence_it_names():
    from assistant.answer.sentences import _with_labels_joined
    from assistant.ingest.chunking import split_sentences

    part = "A3 – Boutiques à l'essai. La commune loue deux locaux. A4 – Vitrines."
    spans = _with_labels_joined(part, split_sentences(part))
    assert [part[s:e] for s, e in spans] == [
        "A3 – Boutiques à l'essai. La commune loue deux locaux.", "A4 – Vitrines."]


def test_a_month_asked_is_not_answered_by_a_year():
    from assistant.answer.figures import figure_of_it_missing
    from assistant.answer.sentences import Candidate, expected_type, has_type
    from assistant.types import Hit

    question = "les travaux ils demarrent quel mois exactement ?"
    kind = expected_type(question)
    hit = Hit(chunk_id="c", text="", score=1.0, metadata={})

    def cand(text: str) -> Candidate:
        return Candidate(hit, 0, 0, 1, 0, len(text), text, type_ok=has_type(text, kind))

    assert kind == "date"
    assert figure_of_it_missing(question, kind, [cand("Les travaux sont prévus en 2026.")], None)
    assert not figure_of_it_missing(question, kind, [cand("Les travaux démarrent en mars 2026.")],
                                    None)


class _Vectors:
    """An embedder giving each sentence a fixed vector."""

    def __init__(self, table):
        self.table = table

    def embed(self, texts, *, is_query=False):
        import numpy as np

        return np.stack([np.asarray(self.table[t], dtype=np.float32) for t in texts])


def test_the_ranking_vector_orders_sentences_and_semantic_keeps_the_plain_cosine():
    import numpy as np

    a, b = "Le poste est cofinancé à 75 %.", "Le chef de projet conduit le projet."
    table = {a: [0.9, 0.436, 0.0], b: [0.8, 0.0, 0.6]}
    plain = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    moved = np.array([0.0, 0.0, 1.0], dtype=np.float32)  # towards b
    cands = [_cand(a, 0.0), _cand(b, 0.0, start=40)]
    score(cands, "le chef de projet ?", plain, _Vectors(table), {})
    assert max(cands, key=lambda c: c.score).text == a
    score(cands, "le chef de projet ?", plain, _Vectors(table), {}, ranking_vector=moved)
    assert max(cands, key=lambda c: c.score).text == b
    assert [round(c.semantic, 3) for c in cands] == [0.9, 0.8]  # what answerability reads


def test_moved_cosines_are_put_on_the_scale_of_the_plain_ones():
    import numpy as np

    from assistant.answer.sentences import _on_scale_of

    plain = np.array([0.80, 0.84, 0.88])
    moved = np.array([0.1, 0.5, 0.3])
    rescaled = _on_scale_of(moved, plain)
    assert rescaled.mean() == pytest.approx(plain.mean())
    assert rescaled.std() == pytest.approx(plain.std())
    assert list(np.argsort(rescaled)) == list(np.argsort(moved))
    assert list(_on_scale_of(np.array([0.2, 0.2]), plain[:2])) == list(plain[:2])


class _OnePage:
    def __init__(self, text):
        self.text = text

    def pages(self, doc_id: str) -> list[Page]:
        return [Page(number=1, text=self.text)]


def _lines(*texts, after=""):
    """Candidates read one after another in one chunk, one per line of a list; ``after``,
    a sentence on the line after the list."""
    page = "\n• ".join(texts) + (f"\n{after}" if after else "")
    hit = Hit(chunk_id="c0", text=page, score=1.0, metadata={"doc_id": "d2", "source": "p.md"})
    out = []
    for t in [*texts, after] if after else texts:
        start = page.index(t)
        out.append(Candidate(hit, 0, 0, 1, start, start + len(t), t, score=0.1,
                             chunk_id="c0"))
    return out, _OnePage(page)


def test_a_sentence_opening_a_list_comes_with_its_items_as_one_quote():
    (lead, *items), catalog = _lines("Le plan de mobilité vise à :",
                                     "apaiser la circulation ;", "mieux relier la gare ;",
                                     "réduire les émissions.",
                                     after="La méthode repose sur une enquête.")
    lead.score = 0.9
    picked = pick([lead, *items], 5)
    assert [c.text for c in picked] == [lead.text, *[c.text for c in items[:3]]]
    sentences, citations = compose(picked, catalog)  # type: ignore[arg-type]
    text = " ".join(sentences)
    assert text.count("[1]") == 1 and text.endswith("émissions. [1]")
    assert "\n • Apaiser la circulation ;" in text and len(citations) == 1
    assert citations[0].quote == catalog.text[:catalog.text.index("\nLa méthode")]


def test_cest_takes_up_the_sentence_before():
    (before, lead), _ = _lines("La commune gagne des habitants, pas son bourg.",
                               "C'est le paradoxe principal du diagnostic.")
    lead.score = 0.9
    assert [c.text for c in pick([before, lead], 5)] == [before.text, lead.text]


def test_a_numbered_list_is_read_to_its_end():
    lead, *items = _lines("La stratégie retient trois principes :", "1. Hiérarchiser les voies.",
                          after="Le stationnement reste gratuit.")[0]
    lead.score = 0.9
    assert [c.text for c in pick([lead, *items], 5)] == [lead.text, items[0].text]


@pytest.mark.parametrize("question", [
    "c vrai que la bdt prend en charge 75 % du salaire du manager de commerce ?",
    "c'est vrai que la DETR finance 80 % des travaux ?",
    "la detr finance 80 %, c est bien ca ?",
    "il parait que la bdt paye 20000 euros par an",
])
def test_a_statement_to_check_expects_no_figure(question):
    assert expected_type(question) is None


def test_a_figure_asked_still_expects_one():
    assert expected_type("combien coute le plan ?") == "nombre"
