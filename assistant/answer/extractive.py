"""The extractive answerer: cited sentences chosen by meaning from the passages, or a refusal."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import numpy as np

from assistant.answer.answerability import (
    PERSON_QUESTION,
    PLACES,
    QUESTION_TERMS,
    AnswerabilityModel,
    Features,
    asks_contact,
    features,
)
from assistant.answer.figures import figure_of_it_missing
from assistant.answer.funders import (
    FUNDER_ROW,
    FUNDERS_ASKED,
    boost_funder_rows,
    funders_table,
)
from assistant.answer.records import boost_asked_rows
from assistant.answer.sentences import (
    FOLLOW_UP_JOIN,
    TABLE_ROW,
    Candidate,
    asked_unit,
    clean_sentence,
    collect,
    expected_type,
    same_meaning,
    score,
    similar,
)
from assistant.embedding.embedders import Embedder
from assistant.indexing.catalog import Catalog
from assistant.indexing.lexical import analyze, fold_words
from assistant.search.passages import best_chunks
from assistant.search.retrieval import Retrieval
from assistant.types import Answer, Citation, NearSource

REFUSAL = "Je n'ai pas trouvé cette information dans les documents indexés."
_WS = re.compile(r"\s+")
# «Quel est le salaire du chef de projet ?» → «le salaire du chef de projet»
_ASKED_THING = re.compile(
    r"^(?:et\s+)?(?:quel(?:le)?s?\s+(?:est|sont|etait|était|serait)\s+|c'?est\s+(?:quoi|combien)\s+|"
    r"combien\s+(?:coûte|coute|vaut)\s+|connaissez-vous\s+|pouvez-vous\s+me\s+donner\s+|"
    r"je\s+cherche\s+|donne(?:z)?-moi\s+)(?P<thing>(?:le|la|les|l'|un|une|des|son|sa|ses|notre|"
    r"nos|leur|leurs)\b.+?)\s*\??$",
    re.IGNORECASE,
)


_OURS_THING = re.compile(r"\b(notre|nos)\b", re.IGNORECASE)
# «notre ORT elle couvre quel secteur ?»: a fact of our commune, which only its passages hold.
_OUR_WHICH = re.compile(r"\b(notre|nos)\b.*\bquel(le)?s?\b|\bquel(le)?s?\b.*\b(notre|nos)\b")


@dataclass
class Judgement:
    """The answerability decision and what it was made from."""

    probability: float
    features: Features
    answerable: bool


def asked_thing(question: str) -> str | None:
    """The noun phrase a «quel est X ?» question asks for, to say it is missing."""
    m = _ASKED_THING.match(" ".join(question.split()))
    return m.group("thing").strip() if m else None


# «le plan il coûte combien», «le budget du projet»: the cost of a whole.
_WHOLE_COST = re.compile(r"^(?:(?:et )?(?:le|la|l|notre|leur|son|sa|ce|cette) )?"
                         r"(?:plan|etude|projet|programme|operation|scenario|budget)\b"
                         # «le plan d'actions» is a whole; «l'action A3» is one of its parts
                         r"(?!.*\b(?:la|l|cette|une) (?:mesure|action|fiche)\b)"
                         r".*\b(?:coute\w*|cout|budget|montant)\b")
_TOTAL = re.compile(r"\b(total|au total|en tout)\b")


def judge(question: str, retrieval: Retrieval, cands: list[Candidate], idf: dict[str, float],
          model: AnswerabilityModel, out_of_scope: float,
          commune: tuple[str, str] | None = None,
          weights: dict[str, float] | None = None) -> Judgement:
    """Answerable or not; ``weights`` are the question's terms and idf, the commune's own
    name left out."""
    asked = asked_thing(question)
    ranked = sorted(cands, key=lambda c: -c.score)[:3]
    best = max(cands, key=lambda c: c.semantic, default=None)
    kind = expected_type(question)
    f = features(
        # Read on the best chunks, as the model was fitted, not on the longer passages.
        question, best_chunks(retrieval.hits, len(retrieval.hits)), idf,
        best_semantic=best.semantic if best else 0.0,
        sentence_lexical=max((c.lexical for c in cands), default=0.0),
        type_asked=kind is not None,
        type_ok=any(c.type_ok for c in ranked) if kind else True,
        out_of_scope=out_of_scope, commune=commune,
        # A figure, or a thing of «our» commune («nos fiches actions»): only a passage on
        # that commune can hold it.
        figure_asked=kind in ("nombre", "date") or bool(_OURS_THING.search(asked or "")) or (
            bool(_OUR_WHICH.search(fold_words(question)))),
        asked=asked, figure_sentences=[c.text for c in cands if c.type_ok] if kind in (
            "nombre", "date", "duree") else None,
        count_missing=bool(cands) and figure_of_it_missing(question, kind, cands, commune,
                                                            weights),
    )
    p = model.probability(f) if cands else 0.0
    return Judgement(p, f, bool(cands) and p >= model.threshold)


def _citation(cand: Candidate, n: int) -> Citation:
    meta = cand.hit.metadata
    return Citation(
        n=n,
        source=str(meta.get("source", "")),
        title=str(meta.get("title", "")),
        page=cand.page_number,
        pages=[cand.page_number] if cand.page_number is not None else [],
        quote=cand.text,
        score=cand.hit.score,
        doc_type=str(meta.get("doc_type", "autre")),
        exemple=bool(meta.get("exemple", False)),
        communes=[c for c in str(meta.get("communes", "")).split(",") if c],
        chunk_id=cand.hit.chunk_id,
        passage=cand.hit.text,
    )


def compose(picked: list[Candidate], catalog: Catalog) -> tuple[list[str], list[Citation]]:
    """Sentences with [n]; two sentences of the same passage and page share one citation
    whose quote spans both (still an exact substring of the page)."""
    citations: list[Citation] = []
    by_key: dict[tuple[str, int], Citation] = {}
    spans: dict[int, tuple[int, int]] = {}
    sentences: list[str] = []
    marks: list[str] = []
    for cand in picked:
        key = (cand.chunk_id or cand.hit.chunk_id, cand.page_idx)
        cit = by_key.get(key)
        if cit is None:
            cit = by_key[key] = _citation(cand, len(citations) + 1)
            citations.append(cit)
            spans[cit.n] = (cand.start, cand.end)
        else:
            start, end = spans[cit.n]
            start, end = min(start, cand.start), max(end, cand.end)
            spans[cit.n] = (start, end)
            page_text = catalog.pages(str(cand.hit.metadata["doc_id"]))[cand.page_idx].text
            cit.quote = page_text[start:end]
        marks.append(f"[{cit.n}]" + (" (exemple)" if cit.exemple else ""))
        # A line of the list the sentence before opens («… vise à :») reads as one.
        sentences.append(("• " if cand.list_item else "") + clean_sentence(cand.text))
    return marked_once(sentences, marks, [c.list_item for c in picked]), citations


def marked_once(sentences: list[str], marks: list[str],
                on_own_line: list[bool] | None = None) -> list[str]:
    """Each sentence with its citation mark, given once after the last of a run of
    sentences from one quote («… dans les lotissements des villages. C'est le paradoxe …
    [1]»); ``on_own_line`` sentences (a list's items) start a line."""
    lines = on_own_line or [False] * len(sentences)
    out = []
    for i, sentence in enumerate(sentences):
        last = i + 1 == len(sentences) or marks[i + 1] != marks[i]
        breaks = i + 1 < len(sentences) and lines[i + 1]
        out.append(sentence + (f" {marks[i]}" if last else "") + ("\n" if breaks else ""))
    return out


def pick(cands: list[Candidate], max_sentences: int, ratio: float = 0.7, *,
         follow_on: bool = False) -> list[Candidate]:
    """The best sentences (those within ``ratio`` of the best score), no near-repeats;
    with ``follow_on`` (a definition), the lead's next sentence when it takes it up."""
    ranked = sorted(cands, key=lambda c: -c.score)
    if not ranked:
        return []
    floor = max(ranked[0].score * ratio, 0.15)
    picked: list[Candidate] = []
    for cand in ranked:
        if len(picked) >= max_sentences or cand.score < floor:
            break
        if any(similar(cand.text, p.text) or same_meaning(cand, p) for p in picked):
            continue
        picked.append(cand)
    typed = next((c for c in ranked if c.type_ok), None)
    if picked and typed is not None and not any(c.type_ok for c in picked) and (
            typed.score >= max(ranked[0].score * 0.5, 0.15)):
        # «il coûte combien ce scénario ?»: the sentence with the amount answers, even when
        # the ones repeating the question's words score higher.
        picked = [typed, *picked[:max_sentences - 1]]
    # The best sentence first (the answer; for «combien ?» the best one with a figure),
    # then the others in reading order.
    lead = next((c for c in picked if c.type_ok), picked[0]) if picked else None
    if lead is None:
        return []
    rest = [c for c in picked if c is not lead]
    # «Il a ensuite été intégré au Fonds vert.»: a sentence opened by a pronoun means
    # nothing alone. As the answer it comes with the sentence before it; elsewhere it
    # stays only beside that sentence.
    before = _sentence_before(lead, cands) if _ANAPHORIC.match(lead.text) else None
    if _ANAPHORIC.match(lead.text) and before is None:
        # Nothing before it to say who «elle» is: another picked sentence leads, the
        # reader would take the pronoun for the question's subject.
        other = next((c for c in rest if not _ANAPHORIC.match(c.text) and (
            c.type_ok or not lead.type_ok)), None)
        if other is not None:
            rest = [lead, *[c for c in rest if c is not other]]
            lead = other
    head = [before, lead] if before is not None else [lead]
    if lead.text.rstrip().endswith(":"):
        # «Le plan de mobilité vise à :» says nothing without the list it opens.
        head += _list_after(lead, cands)
    after = _sentence_after(lead, cands) if follow_on else None
    if after is not None and _ANAPHORIC.match(after.text):
        # «… l'Anah demande une étude pré-opérationnelle. Celle-ci vérifie que …»: what
        # the term is comes in the sentence that takes it up.
        head.append(after)
    rest = [c for c in rest if c is not before and c is not after and c not in head]
    kept = {id(c) for c in [*head, *rest]}
    rest = [c for c in rest if not _ANAPHORIC.match(c.text) or id(
        _sentence_before(c, cands) or c) in kept][:max(max_sentences - len(head), 0)]
    return head + sorted(rest, key=lambda c: (c.hit_rank, c.page_idx, c.start))


# «Il existe», «Il faut», «Il est possible de»: impersonal, they stand alone.
_ANAPHORIC = re.compile(
    r"^(?:(?:Il|Elle|Ils|Elles)\b(?! (?:n'|ne )?(?:y a|faut|existe|s'agit|suffit|convient|"
    r"reste|importe|appartient|semble|vaut mieux|est (?:possible|nécessaire|conseillé|"
    r"recommandé|utile|important|prévu|précisé|rappelé|souhaitable|indispensable|impossible|"
    r"interdit|obligatoire) )\b)|Celui-ci|Celle-ci|Ceux-ci|Celles-ci|Ce dernier|"
    r"Cette dernière|Ces derniers|Ces dernières|C'est (?:le|la|l'|ce|cela|pourquoi)\b|"
    r"Cela\b|Ceci\b)")


def _sentence_after(cand: Candidate, cands: list[Candidate], max_gap: int = 3
                    ) -> Candidate | None:
    """The candidate read just after ``cand`` in the same chunk and page (at most
    ``max_gap`` characters between them), if any."""
    return next((o for o in cands if o.hit is cand.hit and o.chunk_id == cand.chunk_id
                 and o.page_idx == cand.page_idx and 0 <= o.start - cand.end <= max_gap),
                None)


def _list_after(cand: Candidate, cands: list[Candidate], limit: int = 8) -> list[Candidate]:
    """The items of the list ``cand`` opens: the lines read right after it, in order, each
    after a line break and its marker («\n• », «\n2. ») or after an item ending in «;»."""
    items: list[Candidate] = []
    last = cand
    while len(items) < limit:
        nxt = _sentence_after(last, cands, max_gap=5)  # «\n10. » at most
        if nxt is None or (items and nxt.start - last.end < 3
                           and not last.text.rstrip().endswith((";", ","))):
            break  # «… quotidiens. La méthode …»: the list has ended
        nxt.list_item = True
        items.append(nxt)
        last = nxt
    return items


def _sentence_before(cand: Candidate, cands: list[Candidate]) -> Candidate | None:
    """The candidate read just before ``cand`` in the same chunk and page, if any."""
    return next((o for o in cands if o.hit is cand.hit and o.chunk_id == cand.chunk_id
                 and o.page_idx == cand.page_idx and 0 <= cand.start - o.end <= 3), None)


def extractive_answer(
    question: str,
    retrieval: Retrieval,
    catalog: Catalog,
    *,
    idf: dict[str, float],
    model: AnswerabilityModel,
    query_vector: np.ndarray | None = None,
    ranking_vector: np.ndarray | None = None,
    embedder: Embedder | None = None,
    max_sentences: int = 5,
    contact: str = "",
    scope: str = "",
    out_of_scope: float = 0.0,
    force: bool = False,
    ignore_terms: set[str] | None = None,
    concise: bool = False,
    commune: tuple[str, str] | None = None,
    typed: str | None = None,
) -> Answer:
    """Pick the sentences that best answer ``question``, or refuse when the model says the
    passages do not answer it; ``force`` skips the refusal (support lines of a checklist);
    ``typed`` is the question as the user wrote it, quoted in a refusal."""
    t0 = time.perf_counter()
    # The commune's own name is in every passage of its documents: it says nothing about
    # which sentence answers.
    weights = {t: idf.get(t, 0.0) for t in set(retrieval.query_terms) - (ignore_terms or set())}
    cands = collect(retrieval.hits, catalog, question=question)
    score(cands, question, query_vector, embedder, weights, ranking_vector=ranking_vector)
    # Savoie is everywhere in these documents: only another place says something.
    folded_q = fold_words(question)
    places = [p for p in PLACES[1:] if re.search(p, folded_q)]
    if places:
        for c in cands:
            # «côté Isère», «en Haute-Savoie»: a sentence at the scale asked comes first.
            folded_c = fold_words(c.text)
            if all(re.search(p, folded_c) for p in places):
                c.score += 0.15
    # «le département il mettrait combien ?», «notre étude c'est qui qui finance ?».
    boost_funder_rows(cands, folded_q, commune,
                      own=fold_words(question.rsplit(FOLLOW_UP_JOIN, 1)[-1]))
    # «la fiche friche elle est financée par qui ?»: that fiche's «Financeurs pressentis».
    boost_asked_rows(cands, question, catalog)
    if _TOTAL.search(folded_q) and asked_unit(question) == "eur" and not _WHOLE_COST.search(
            folded_q):
        # «et ça coûte combien en tout ?» after a study: its whole sum («huit actions, pour
        # 1,45 M€»), not the row of one action of its table.
        for c in cands:
            if c.type_ok and not TABLE_ROW.match(c.text.strip()):
                c.score += 0.35  # as a plan's total asked «en tout», below
    if _WHOLE_COST.search(folded_q):
        # «le plan mobilité il coûte combien ?»: the plan's total, not one measure's cost;
        # «… en tout ?» says so twice.
        bonus = 0.35 if _TOTAL.search(folded_q) else 0.2
        for c in cands:
            if c.type_ok and _TOTAL.search(fold_words(c.text)):
                c.score += bonus
    if concise:
        # «c koi une foncière de redynamisation ?»: a sentence naming the whole term defines
        # it better than a glossary entry sharing one of its words («Sobriété foncière»).
        term = set(analyze(asked_thing(question) or "")) - QUESTION_TERMS
        if len(term) >= 2:
            for c in cands:
                if term <= set(analyze(c.text)):
                    c.score += 0.2
    verdict = judge(question, retrieval, cands, idf, model, out_of_scope, commune, weights)
    if not force and not verdict.answerable:
        # What the documents say nearest must be about the question's most specific word
        # («halle» in «quel budget pour la halle ?», not «budget»).
        known = {t: w for t, w in weights.items()
                 if t not in QUESTION_TERMS and getattr(idf, "known", lambda _: True)(t)}
        focus = max(known, key=known.__getitem__, default="")
        # A follow-up is searched rewritten («… son numéro siren son tel»), but the refusal
        # quotes what the official typed.
        answer = refusal(typed or question, retrieval, cands, catalog, verdict.probability,
                         contact, scope, focus)
    else:
        # A definition reads best short: the defining sentence and what closely follows.
        picked = pick(cands, min(max_sentences, 3), 0.8, follow_on=True) if concise else (
            pick(cands, max_sentences))
        table = funders_table(picked, cands) if FUNDERS_ASKED.search(folded_q) else []
        if table:
            text, citations = _table_text(table, catalog)
        else:
            sentences, citations = compose(picked, catalog)
            text = " ".join(sentences)
        answer = Answer(question=question, text=text, refused=not text,
                        citations=citations, hits=retrieval.hits,
                        confidence=verdict.probability)
        if not text:
            answer.text = REFUSAL
    answer.timings_ms["answer"] = (time.perf_counter() - t0) * 1000
    return answer


def _table_text(rows: list[Candidate], catalog: Catalog) -> tuple[str, list[Citation]]:
    """«Financeurs prévus : • DRAC : 290 000 € (20 %) … [1]», the rows cited as one quote."""
    _, citations = compose(rows, catalog)
    lines = []
    for c in rows:
        m = FUNDER_ROW.match(c.text.strip())
        assert m is not None
        part = f" ({m['part'].strip().rstrip('.')})" if m["part"] else ""
        lines.append(f"• {m['who'].strip()} : {m['sum'].strip().rstrip('.')}{part}")
    marks = " ".join(f"[{c.n}]" + (" (exemple)" if c.exemple else "") for c in citations)
    return "Financeurs prévus :\n" + "\n".join(lines) + f"\n{marks}", citations


# A nearby passage is offered only when it is this close in meaning to the question.
_NEARBY_SEMANTIC = 0.82
_NEARBY_LEXICAL = 0.3


def refusal(question: str, retrieval: Retrieval, cands: list[Candidate], catalog: Catalog,
            probability: float, contact: str, scope: str, focus: str = "") -> Answer:
    """Say first that the documents do not answer; then, if any, the closest cited passage."""
    thing = asked_thing(question)
    if thing:  # said back to the official: «vos fiches actions», not «nos»
        thing = re.sub(r"\bnos\b", "vos", re.sub(r"\bnotre\b", "votre", thing))
    where = f" ({scope})" if scope else ""
    if thing:
        text = f"Les documents indexés{where} ne donnent pas {_short(thing)}."
    else:
        text = (f"Les documents indexés{where} ne répondent pas à cette question "
                f"(« {_short(question)} »).")
    citations: list[Citation] = []
    if asks_contact(question) or PERSON_QUESTION.search(question):
        focus = "\0"  # a phone or a name asked: nothing nearby stands for it
    near = [c for c in sorted(cands, key=lambda c: -c.score) if c.semantic >= _NEARBY_SEMANTIC
            and c.lexical >= _NEARBY_LEXICAL and (not focus or focus in analyze(c.text))][:1]
    if near:
        sentences, citations = compose(near, catalog)
        text += f" Au plus près, ils indiquent : {sentences[0]}"
    if contact:
        text += f" Pour cette question, adressez-vous {contact}."
    nearest: list[NearSource] = []
    seen: set[tuple[str, int | None]] = set()
    for h in retrieval.hits:
        key = (h.source, h.page)
        if key not in seen and len(nearest) < 3:
            seen.add(key)
            nearest.append(NearSource(h.source, str(h.metadata.get("title", "")), h.page))
    return Answer(question=question, text=text, refused=True, citations=citations,
                  hits=retrieval.hits, confidence=probability, nearest=nearest)


def _short(text: str, limit: int = 120) -> str:
    t = _WS.sub(" ", text).strip().rstrip(" ?")
    t = t[:1].lower() + t[1:] if t[:2] != t[:2].upper() else t
    return t if len(t) <= limit else t[: limit - 1] + "…"
