"""Answers that read structured records: a commune's status, eligibility, funding, its studies."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.answer.answerability import RARE_IDF
from assistant.answer.extractive import extractive_answer, marked_once
from assistant.answer.sentences import DAY, DAY_ASKED, expected_type
from assistant.answer.status import StepRow, asked_steps, of, row_sentence, step_rows
from assistant.communes.eligibility import eligibility_checklist, population_from_text
from assistant.communes.registry import Commune
from assistant.indexing.catalog import StoredDocument
from assistant.indexing.lexical import ABBREVIATIONS, analyze, fold, fold_words
from assistant.search.filters import Filters
from assistant.search.retrieval import Retrieval, retrieve
from assistant.types import Answer, ChecklistItem, Citation, FundingItem, NearSource

if TYPE_CHECKING:
    from assistant.answer.conversation import Context

# Words of a status question that any status record answers (never «missing»).
_STATUS_WORDS = set(analyze(
    "où en est en sont avancement état étape étapes projet programme convention conventions "
    "adhésion cadre ORT opération revitalisation territoire chef projet poste recrutement "
    "recruté signé signée signature date quand fiche suivi commune communes PVD petites villes "
    "demain prochaine suite fait faite faites nous notre ville mairie maire on a t il elle "
    "dernière mise jour sélection sélectionnée retenue lauréate savoir aujourd hui actuellement "
    "toujours déjà bien encore exactement précisément vraiment concrètement maintenant "
    "finalement alors donc coup dossier candidature démarche projets situation stade niveau "
    "point"
))


def line_citation(doc: StoredDocument, n: int, page: int | None, quote: str, *,
                  communes: bool = True) -> Citation:
    """Citation ``n`` of a line read from a stored document (a record row, a title, a
    glossary entry): the quote is that line, exact."""
    return Citation(
        n=n, source=doc.source, title=str(doc.meta.get("title", "")), page=page,
        pages=[page] if page else [], quote=quote, score=1.0,
        doc_type=str(doc.meta.get("doc_type", "autre")), exemple=bool(doc.meta.get("exemple")),
        communes=list(doc.meta.get("communes", [])) if communes else [],
    )


def _status_record(ctx: Context, commune: Commune) -> StoredDocument | None:
    members = ctx.registry.territory_codes(commune)
    for doc in ctx.index.catalog.documents():
        if ctx.role is not None and not ctx.role.allows(doc.meta):
            continue
        if doc.meta.get("doc_type") == "suivi" and members & set(doc.meta.get("communes", [])):
            return doc
    return None


def _missing_subject(ctx: Context, question: str, record_text: str,
                     commune: Commune) -> str | None:
    """A rare word of the question that the record never mentions («salaire», «DDT»): the
    record cannot answer, whatever its steps say. Returns that word as typed."""
    record_terms = set(analyze(record_text))
    name_terms = set(analyze(commune.name)) | set(analyze(commune.epci_name or ""))
    for token in re.findall(r"[^\W_]+", question):
        if fold(token) in ABBREVIATIONS:  # «st jean», «bdt»: a name or a known short form
            continue
        for term in analyze(token):
            if term in _STATUS_WORDS or term in name_terms or term in record_terms:
                continue
            if ctx.idf.get(term) >= RARE_IDF:
                return token
    return None


_WITH_WHOM = re.compile(r"\bavec (qui|quel\w*)\b")


def status_answer(ctx: Context, commune: Commune, question: str, *,
                  vector: np.ndarray | None = None) -> Answer | None:
    """The steps of the commune's status record as French sentences, each cited; ``None``
    when there is no record or when the question asks something the record does not hold."""
    record = _status_record(ctx, commune)
    if record is None:
        return None
    pages = ctx.index.catalog.pages(record.doc_id)
    rows = step_rows(pages)
    if not rows:
        return None
    missing = _missing_subject(ctx, question, "\n".join(p.text for p in pages), commune)
    if missing:
        # The project's state is what its record says: a question it does not cover is
        # answered as such, not with the programme's general texts.
        text = (f"La fiche de suivi {of(commune.name)} ne répond pas à cette question : elle "
                f"ne mentionne pas « {missing} ».")
        if ctx.settings.contact:
            text += f" Pour le savoir, adressez-vous {ctx.settings.contact}."
        return Answer(question=question, text=text, refused=True, citations=[],
                      confidence=0.0,
                      nearest=[NearSource(record.source, str(record.meta.get("title", "")),
                                          rows[0].page_number if rows else None)])
    wanted = asked_steps(question)
    chosen: list[StepRow] = []
    if wanted:
        chosen = [r for key in wanted for r in rows if r.key == key]
        if "ort" in wanted and "cadre" not in wanted:
            # «a-t-on une ORT ?»: the ORT is the convention-cadre signed by the main town;
            # where that convention stands answers too.
            chosen += [r for r in rows if r.key == "cadre" and (r.known or re.search(
                r"\b(valant|vaut) ort\b", fold(r.note)))]
    if not chosen:
        chosen = [r for r in rows if r.key != "maj"]
    update = [r for r in rows if r.key == "maj"]
    if not any(r.key == "maj" for r in chosen):
        chosen += update[:1]
    name = commune.name
    dated = [r for r in chosen if r.key != "maj" and r.known]
    if wanted and dated and DAY_ASKED.search(fold_words(question)) and not any(
            DAY.search(fold(r.date)) for r in dated):
        # «notre sélection c'était quel jour exactement ?»: the record gives a month. Only
        # the dated rows are said, numbered from 1 (a step not dated is no month either).
        said = " ".join(f"{row_sentence(r, name)} [{n}]" for n, r in enumerate(dated, 1))
        return Answer(question=question, refused=True, confidence=0.0,
                      citations=[line_citation(record, n, r.page_number, r.quote)
                                 for n, r in enumerate(dated, 1)],
                      text=f"La fiche de suivi {of(name)} ne donne pas le jour exact. {said}")
    # The rows of one page are one citation, its quote running from the first row said to
    # the last (an exact part of the page): six marks for one table read badly on a phone.
    texts = {p.number: p.text for p in pages}
    spans: dict[int | None, tuple[int, int]] = {}
    for row in chosen:
        start = texts.get(row.page_number, "").find(row.quote)
        if start >= 0:
            old_span = spans.get(row.page_number, (start, start + len(row.quote)))
            spans[row.page_number] = (min(old_span[0], start),
                                      max(old_span[1], start + len(row.quote)))
    citations: list[Citation] = []
    marks: list[str] = []
    sentences = []
    by_key: dict[object, int] = {}
    for row in chosen:
        key: object = row.page_number if row.page_number in spans else row.quote
        n = by_key.get(key)
        if n is None:
            n = by_key[key] = len(citations) + 1
            quote = (texts[row.page_number][slice(*spans[row.page_number])]
                     if row.page_number in spans else row.quote)
            citations.append(line_citation(record, n, row.page_number, quote))
        said = row_sentence(row, name)
        if row.known and row.note and _WITH_WHOM.search(fold(question)):
            # «ils ont signé avec quelle autre commune ?»: the record's comment says.
            said += f" {row.note.rstrip('.')}."
        sentences.append(said)
        marks.append(f"[{n}]")
    text = " ".join(marked_once(sentences, marks))
    if any(not r.known and not r.unconfirmed for r in chosen if r.key != "maj"):
        text += (" « Non renseigné » veut dire que l'information ne figure pas dans les "
                 "sources de la fiche, pas que l'étape n'a pas eu lieu.")
    return Answer(question=question, text=text, refused=False, citations=citations,
                  confidence=1.0)


ELIGIBILITY_CUE = re.compile(
    r"\b(eligib\w*|peut|peuvent|pourrait|pourrions|entrer|integrer|rentrer|criteres?|"
    r"conditions?|retenue?s?|selectionnee?s?|faire partie|candidat\w*|pvd ?\?|"
    r"etre pvd|devenir pvd|dans pvd|dans le programme)"
)
_CRITERION_QUERIES = {
    "population": "communes de moins de 20 000 habitants éligibles",
    "centralite": "fonctions de centralité pour le territoire alentour",
    "fragilite": "signes de fragilité de la commune",
    "hors_acv": "pas une ville Action cœur de ville",
    "hors_grand_pole": "hors grand pôle urbain plus de 10 000 emplois",
}


# Checklist and funding lines search fixed queries: their passages are kept per index
# generation and role, so a second checklist costs no search.
_SUPPORT_CACHE: dict[tuple[int, str, str, int, str], Retrieval] = {}


def _support(ctx: Context, query: str, *, k: int, max_sentences: int) -> Answer:
    """The best programme sentences for one line of a checklist (never a refusal)."""
    key = (id(ctx.index), ctx.index.catalog.ingest_generation(), query, k,
           repr(ctx.role))
    retrieval = _SUPPORT_CACHE.get(key)
    if retrieval is None:
        retrieval = retrieve(ctx.index, query, k=k, filters=Filters(doc_types=["programme"]),
                             role=ctx.role, settings=ctx.settings)
        if len(_SUPPORT_CACHE) > 512:
            _SUPPORT_CACHE.clear()
        _SUPPORT_CACHE[key] = retrieval
    return extractive_answer(query, retrieval, ctx.index.catalog, idf=ctx.idf, model=ctx.model,
                             max_sentences=max_sentences, force=True)


def eligibility_answer(ctx: Context, commune: Commune | None, question: str) -> Answer | None:
    """A checklist of the programme criteria, each line backed by a programme passage."""
    population = population_from_text(question)
    if commune is None and population is None:
        return None  # the criteria in general: the programme texts say them best
    if not ELIGIBILITY_CUE.search(fold(question)):
        return None  # «population de Fourneaux»: a fact, not a checklist
    if expected_type(question) == "date":
        return None  # «notre sélection c'était quel jour ?»: a date, not the criteria
    if any(fold(name) in fold(question) for name, _, _ in _SCHEMES):
        return None  # «on est éligible au Denormandie ?»: that scheme's rules, not PVD's
    checklist = eligibility_checklist(commune, population=population)
    citations: list[Citation] = []
    lines: list[str] = []
    items: list[ChecklistItem] = []
    for item in checklist:
        support = _support(ctx, _CRITERION_QUERIES.get(item.key, item.criterion), k=3,
                           max_sentences=1)
        n = None
        if support.citations:
            cit = support.citations[0]
            n = cit.n = len(citations) + 1
            citations.append(cit)
        mark = f" [{n}]" if n else ""
        lines.append(f"{item.criterion} : {item.status} — {item.detail}{mark}")
        items.append(ChecklistItem(item.criterion, item.status, item.detail, n))
    who = commune.name if commune else (
        f"une commune de {population} habitants" if population else "une commune")
    text = f"Critères d'éligibilité à Petites villes de demain pour {who} :\n"
    text += "\n".join(f"• {line}" for line in lines)
    text += ("\nLa sélection relève du préfet : les critères « à vérifier » demandent une "
             "vérification locale.")
    return Answer(question=question, text=text, refused=False, citations=citations,
                  checklist=items, confidence=1.0)


# Funding schemes officials ask about, the words that bring them up, and how to find
# their description in the programme texts.
_SCHEMES: list[tuple[str, tuple[str, ...], str]] = [
    ("Chef de projet", ("ingenierie", "chef de projet", "recrut"),
     "cofinancement du poste de chef de projet jusqu'à 75 %"),
    ("Manager de commerce", ("commerce", "commercant", "boutique", "vacance commerciale"),
     "subvention manager de commerce Banque des Territoires"),
    ("DETR", ("travaux", "equipement", "investissement", "centre-bourg", "centre bourg",
              "espace public", "batiment", "place", "voirie", "amenag", "refaire", "ecole",
              "sante", "medical", "creche", "gymnase", "salle", "mairie", "equipements", "gare",
              "mobilite", "stationnement", "parking"),
     "DETR dotation d'équipement des territoires ruraux"),
    ("DSIL", ("travaux", "equipement", "investissement", "centre-bourg", "centre bourg",
              "espace public", "batiment", "place", "voirie", "amenag", "refaire", "ecole",
              "sante", "medical", "creche", "gymnase", "salle", "mairie", "equipements", "gare",
              "mobilite", "stationnement", "parking"),
     "DSIL dotation de soutien à l'investissement local"),
    ("Fonds vert", ("renatur", "climat", "transition", "energ", "espace public", "vegetal"),
     "Fonds vert transition écologique"),
    ("Fonds friches", ("friche", "reconversion", "site industriel"),
     "Fonds friches recyclage foncier"),
    ("DRAC", ("patrimoine", "eglise", "chapelle", "monument", "lavoir", "fontaine", "facade",
              "rempart", "chateau", "historique", "patrimonial"),
     "ministère de la Culture DRAC restauration et mise en valeur du patrimoine"),
    ("Anah", ("logement", "habitat", "renov", "opah"), "aides de l'Anah rénovation de l'habitat"),
    ("Denormandie", ("logement", "habitat", "renov", "locatif", "fiscal"),
     "dispositif Denormandie ORT réduction d'impôt"),
]
_GENERIC_CUES = {"renov", "travaux", "refaire", "investissement", "equipement", "batiment",
                 "amenag"}
# A question asking which schemes fit (a list), not about one scheme's rule.
_LIST_ASKED = re.compile(
    r"(quel(le)?s? (financements?|aides?|subventions?|dispositifs?|sources?|fonds)|"
    r"comment (on )?financ|\bfinancer (nos|notre|le|la|les|un|une|des|l)|financements? possibles?|"
    r"qui peut (nous )?financer|aides? pour|subventions? pour|financements? pour|"
    r"des sous pour|de l'argent pour)"
)


def funding_answer(ctx: Context, commune: Commune | None, question: str) -> Answer | None:
    """The funding schemes that fit a «which funding for…» question, each cited; other
    funding questions (a rate, an eligible expense) go to plain cited retrieval."""
    q = fold(question)
    if not _LIST_ASKED.search(q):
        return None
    named = [s for s in _SCHEMES if fold(s[0]) in q]
    if named:
        return None  # one scheme named: its rules, from the passages
    themed = [s for s in _SCHEMES if any(w in q for w in s[1])]
    # «rénover l'église»: the church says which scheme; «rénover» alone says little.
    specific = [s for s in themed if any(w in q for w in s[1] if w not in _GENERIC_CUES)]
    schemes = specific or themed or [s for s in _SCHEMES if s[0] in
                         ("DETR", "DSIL", "Fonds vert", "Fonds friches", "Anah")]
    citations: list[Citation] = []
    lines: list[str] = []
    found: list[FundingItem] = []
    for name, _, query in schemes[:6]:
        support = _support(ctx, query, k=4, max_sentences=3)
        cit = next((c for c in support.citations if fold(name) in fold(c.quote)), None)
        if cit is None:
            continue
        cit.n = len(citations) + 1
        citations.append(cit)
        lines.append(f"{name} : {' '.join(cit.quote.split())} [{cit.n}]")
        found.append(FundingItem(name, cit.n))
    if not lines:
        return None
    text = "Financements qui peuvent correspondre :\n" + "\n".join(f"• {x}" for x in lines)
    if any(f.scheme == "Denormandie" for f in found):
        ort = None
        record = _status_record(ctx, commune) if commune is not None else None
        if record is not None:
            ort = next((r for r in step_rows(ctx.index.catalog.pages(record.doc_id))
                        if r.key == "ort"), None)
        if commune is not None and ort is not None and not ort.known:
            text += (f"\nDenormandie suppose une ORT : la fiche de suivi {of(commune.name)} "
                     "ne l'indique pas ; vérifiez que votre convention-cadre vaut ORT.")
        else:
            text += "\nDenormandie n'est ouvert que dans le périmètre d'une ORT."
    return Answer(question=question, text=text, refused=False, citations=citations,
                  funding=found, confidence=1.0)



# «ORT – opération de revitalisation de territoire : convention prévue …», «Cerema : …»
_GLOSSARY_ENTRY = re.compile(r"^(?P<term>[^:–;]{2,60}?)(?: – (?P<long>[^:;]{3,120}?))? : "
                             r"(?P<definition>.{20,})$")
_DEFINITION_WORDS = set(analyze(
    "c'est quoi qu'est-ce que qu'est ce que veut dire signifie définition sens c koi c quoi "
    "kesako à quoi sert ça sert à quoi expliquer explique mot terme sigle deux mots bref "
    "dans pvd programme petites villes demain"))


# «c koi la différence entre une CA et une CC ?»: both entries, side by side.
_DIFFERENCE = re.compile(r"\b(difference|differences|distingue|distinguer)\s+(entre\s+)?"
                         r"(?P<a>.+?)\s+(?:et|ou|vs)\s+(?P<b>.+)$")


def glossary_answer(ctx: Context, question: str) -> Answer | None:
    """A definition read from the glossary entry whose term the question names; two when
    the difference between two terms is asked."""
    m = _DIFFERENCE.search(" ".join(re.findall(r"[a-z0-9'-]+", fold(question))))
    entries = [_glossary_entry(ctx, m["a"]), _glossary_entry(ctx, m["b"])] if m else [
        _glossary_entry(ctx, question)]
    if not all(entries) or (m and entries[0] == entries[1]):
        return None
    texts, citations = [], []
    for n, (doc, page, line) in enumerate(e for e in entries if e is not None):
        citations.append(line_citation(doc, n + 1, page.number, line))
        text = line if line.endswith((".", "»", ")")) else line + "."
        texts.append(f"{text} [{n + 1}]")
    return Answer(question=question, text=" ".join(texts), refused=False, citations=citations,
                  confidence=1.0)


def _glossary_entry(ctx: Context, question: str) -> tuple[Any, Any, str] | None:
    """The glossary line (document, page, line) whose term the question names."""
    wanted = {t for t in analyze(question) if t not in _DEFINITION_WORDS and not t.isdigit()}
    if not wanted and set(analyze(question)) & set(analyze("pvd petites villes demain")):
        wanted = set(analyze("pvd"))  # «c koi le programme pvd en 2 mots ?»: PVD itself
    if not wanted and len(question.split()) > 2:
        return None
    # «une CA»: a sigil that is also a stop word («ça») is matched as typed.
    typed = re.sub(r"^(une?|la|le|les|l'|des)\s+", "", " ".join(fold(question).split()))
    best: tuple[float, Any, Any, str] | None = None
    for doc, page, line, m in _glossary_lines(ctx):
        if not wanted and fold(m["term"]).strip() == typed:
            best = (1.0, doc, page, line)
            continue
        term = set(analyze(m["term"]))
        names = term | set(analyze(m["long"] or ""))
        if not term or (not wanted <= names and not term <= wanted):
            continue
        # The entry naming exactly what is asked, short terms first.
        fit = len(wanted & names) / len(wanted | term)
        if best is None or fit > best[0]:
            best = (fit, doc, page, line)
    if best is None or best[0] < 0.5:
        return None
    return best[1], best[2], best[3]


def _glossary_lines(ctx: Context) -> Iterator[tuple[StoredDocument, Any, str, re.Match[str]]]:
    """Every entry line of the glossaries this user may read."""
    for doc in ctx.index.catalog.documents():
        if doc.meta.get("doc_type") != "glossaire":
            continue
        if ctx.role is not None and not ctx.role.allows(doc.meta):
            continue
        for page in ctx.index.catalog.pages(doc.doc_id):
            for line in page.text.split("\n"):
                m = _GLOSSARY_ENTRY.match(line.strip())
                if m:
                    yield doc, page, line.strip(), m


# Glossary entries that are not a subject of their own in a follow-up: the steps of a
# commune's record («la convention cadre elle est signée ?») and the territory's words.
_NOT_A_NEW_SUBJECT = set(analyze("date sigle epci cc ca pvd agate préfet commune"))


def names_new_subject(ctx: Context, question: str, previous_topic: str) -> bool:
    """«le fonds vert il a été lancé quand ?» after a question on Albertville: the question
    names a scheme or a body of the glossary that the previous turn did not, so it asks
    about that, not about the previous subject."""
    asked = set(analyze(question))
    before = set(analyze(previous_topic))
    for _doc, _page, _line, m in _glossary_lines(ctx):
        # By its sigle or by its name spelled out («bdt» is read «Banque des Territoires»).
        for name in filter(None, (m["term"], m["long"])):
            term = set(analyze(name))
            if (term and term <= asked and not term <= before
                    and not term <= _NOT_A_NEW_SUBJECT and not asked_steps(m["term"])
                    and not term <= _STATUS_WORDS):
                return True
    return False
