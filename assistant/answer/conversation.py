"""Commune-aware answers: which commune, its project status, eligibility, follow-ups."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from assistant.answer.extractive import CONTACT_QUESTION, PERSON_QUESTION, extractive_answer
from assistant.answer.pipeline import ask
from assistant.communes.eligibility import eligibility_checklist, population_from_text
from assistant.communes.registry import Commune, Registry, load_registry
from assistant.indexing.index import open_index
from assistant.indexing.lexical import fold
from assistant.search.access import Role
from assistant.search.filters import Filters
from assistant.search.question import clean_question
from assistant.search.retrieval import retrieve
from assistant.settings import Settings
from assistant.types import Answer, Citation

_STATUS = re.compile(
    r"\b(ou en est|ou en sont|avancement|ou on en est|statut|etat d.avancement|"
    r"quand .*(signe|signature)|"
    r"date .*(signature|convention)|a-t-on signe|avons-nous (une|un|signe)|a-t-elle (une|signe)|"
    r"a-t-il (une|signe)|est-elle signee|signe(e)? (la|sa|notre|leur) convention)\b"
)
_ELIGIBILITY = re.compile(r"\b(eligib|peut-elle (entrer|beneficier|integrer)|peut entrer|"
                          r"criteres? d.(entree|eligibilite)|rentrer dans pvd)")
_FUNDING = re.compile(r"\b(financ|subvention|aide|dotation|fonds|denormandie|detr|dsil|fnadt)")
_CONTACT = re.compile(r"\b(qui contacter|a qui (m.adresser|s.adresser|demander)|contact)")
_STEP_QUESTION = re.compile(
    r"\b(convention.cadre|convention d.adhesion|adhesion|ort|chef de projet)\b.*"
    r"(\?|signe|quand|date|recrut|ou pas)|\b(une|notre|leur|son|sa) (ort|convention)\b"
)
_DEFINITION = re.compile(
    r"(c.?est quoi|c koi|c quoi|qu.est.ce qu|que veut dire|veut dire quoi|definition|"
    r"signifie|ca veut dire)"
)
_PVD_CONTEXT = re.compile(r"\b(pvd|petites? villes? de demain|programme|commune)")
_FOLLOW_UP = re.compile(r"^(et|puis|aussi|meme chose|idem)\b")
_STEP_WORDS = {
    "adhesion": "convention d'adhésion",
    "convention-cadre": "convention-cadre",
    "convention cadre": "convention-cadre",
    "ort": "ORT",
    "chef de projet": "chef de projet",
}
_STEP_STARTS = ("selection pvd", "convention d'adhesion ", "convention-cadre ", "ort (",
                "chef de projet pvd (")
_CRITERION_QUERIES = {
    "population": "communes de moins de 20 000 habitants éligibles",
    "centralite": "fonctions de centralité pour le territoire alentour",
    "fragilite": "signes de fragilité de la commune",
    "hors_acv": "pas une ville Action cœur de ville",
    "hors_grand_pole": "hors grand pôle urbain plus de 10 000 emplois",
}


@dataclass
class Turn:
    """One exchange of a conversation, as much as follow-ups need."""

    question: str
    commune: str | None = None  # INSEE
    intent: str = "general"


@dataclass
class Conversation:
    turns: list[Turn] = field(default_factory=list)

    @classmethod
    def from_list(cls, items: list[dict[str, Any]]) -> Conversation:
        return cls([Turn(str(i.get("question", "")), i.get("commune"), i.get("intent", "general"))
                    for i in items])

    def to_list(self) -> list[dict[str, Any]]:
        return [t.__dict__ for t in self.turns]


def detect_intent(question: str) -> str:
    q = fold(question)
    if _ELIGIBILITY.search(q):
        return "eligibility"
    if _STATUS.search(q):
        return "status"
    if _CONTACT.search(q):
        return "contact"
    if _FUNDING.search(q):
        return "funding"
    return "general"


def _commune_label(c: Commune) -> str:
    return f"{c.name} ({c.epci_name})" if c.epci_name else c.name


def _clarify(question: str, candidates: list[Commune]) -> Answer:
    names = " ; ".join(c.label for c in candidates)
    return Answer(
        question=question,
        text=f"Plusieurs communes portent ce nom : {names}. Précisez laquelle "
             "(par exemple avec le département ou le code INSEE).",
        refused=True,
        citations=[],
        extra={"commune": None, "clarify": [c.to_dict() for c in candidates]},
    )


def _scope_filters(registry: Registry, commune: Commune) -> Filters:
    """Documents about the commune, its programme partners and its EPCI, plus general texts."""
    members = [m.insee for m in registry.territory_members(commune)] or [commune.insee]
    return Filters(
        communes=members,
        epci=[commune.epci_siren] if commune.epci_siren else [],
        include_general=True,
    )


def _status_answer(settings: Settings, registry: Registry, commune: Commune, question: str,
                   prefix: str, role: Role | None) -> Answer | None:
    """Steps and dates read from the commune's status record, each line cited."""
    index = open_index(settings)
    members = {m.insee for m in registry.territory_members(commune)} | {commune.insee}
    record = None
    for doc in index.catalog.documents():
        if role is not None and not role.allows(doc.meta):
            continue
        if doc.meta.get("doc_type") == "suivi" and members & set(doc.meta.get("communes", [])):
            record = doc
            break
    if record is None:
        return None
    q = fold(question)
    wanted = [label for word, label in _STEP_WORDS.items() if word in q]
    rows: list[tuple[int, int, str, int | None, int]] = []  # (priority, order, text, page, idx)
    pages = index.catalog.pages(record.doc_id)
    for idx, page in enumerate(pages):
        for line in page.text.split("\n"):
            f = fold(line)
            # A table row "Étape : … ; Date : …", or the same row when the PDF table
            # came out as plain lines ("Convention-cadre 29 mars 2023 …").
            is_row = (f.startswith("etape :") and "date" in f) or (
                f.startswith(_STEP_STARTS) and len(f) < 400 and not f.startswith("etape")
            ) or "mise a jour le" in f
            if not is_row:
                continue
            priority = 0 if any(fold(w) in f for w in wanted) else 1
            if "mise a jour" in f:
                priority = 2
            rows.append((priority, len(rows), line.strip(), page.number, idx))
    if not rows:
        return None
    rows.sort()
    chosen = rows[: (2 if wanted else 5)]
    if not any("mise a jour" in fold(r[2]) for r in chosen):
        update = [r for r in rows if "mise a jour" in fold(r[2])]
        chosen += update[:1]
    citations: list[Citation] = []
    sentences = []
    for _, _, text, page, _ in chosen:
        n = len(citations) + 1
        citations.append(Citation(
            n=n, source=record.source, title=record.meta.get("title", ""), page=page,
            pages=[page] if page is not None else [], quote=text, score=1.0,
            doc_type="suivi", exemple=bool(record.meta.get("exemple")),
            communes=list(record.meta.get("communes", [])),
        ))
        sentences.append(f"{text.rstrip('.')}. [{n}]")
    note = ""
    if any("non renseign" in fold(r[2]) for r in chosen):
        note = (" « Non renseigné » signifie que la date ne figure pas dans les sources "
                "de la fiche : elle n'est pas connue ici.")
    return Answer(question=question, text=prefix + " ".join(sentences) + note, refused=False,
                  citations=citations)


def _eligibility_answer(settings: Settings, commune: Commune | None, question: str,
                        prefix: str, role: Role | None) -> Answer:
    """A checklist of the programme criteria, each line backed by a programme passage."""
    index = open_index(settings)
    population = population_from_text(question)
    checklist = eligibility_checklist(commune, population=population)
    citations: list[Citation] = []
    lines = []
    items = []
    for item in checklist:
        query = _CRITERION_QUERIES.get(item.key, item.criterion)
        retrieval = retrieve(index, query, k=3, filters=Filters(doc_types=["programme"]),
                             role=role)
        support = extractive_answer(query, retrieval, index.catalog, max_sentences=1,
                                    threshold=0.0)
        n = None
        if support.citations:
            cit = support.citations[0]
            n = len(citations) + 1
            cit.n = n
            citations.append(cit)
        mark = f" [{n}]" if n else ""
        lines.append(f"{item.criterion} : {item.status} — {item.detail}{mark}")
        items.append({"criterion": item.criterion, "status": item.status, "citation": n,
                      "detail": item.detail})
    who = commune.name if commune else (
        f"une commune de {population} habitants" if population else "cette commune")
    intro = f"{prefix}Critères d'éligibilité à Petites villes de demain pour {who} :"
    text = intro + "\n" + "\n".join(f"• {line}" for line in lines)
    text += ("\nLa sélection relève du préfet : les lignes « à vérifier » demandent "
             "une vérification locale.")
    return Answer(question=question, text=text, refused=False, citations=citations,
                  extra={"checklist": items})


# Funding schemes officials ask about, the words that bring them up, and how to find
# their description in the programme texts.
_SCHEMES: list[tuple[str, tuple[str, ...], str]] = [
    ("Chef de projet", ("ingenierie", "chef de projet", "etude", "recrut"),
     "cofinancement du poste de chef de projet jusqu'à 75 %"),
    ("Manager de commerce", ("commerce", "commercant", "boutique", "vacance commerciale"),
     "subvention manager de commerce Banque des Territoires"),
    ("DETR", ("travaux", "equipement", "investissement", "centre-bourg", "centre bourg",
              "espace public", "batiment"), "DETR dotation d'équipement des territoires ruraux"),
    ("DSIL", ("travaux", "equipement", "investissement", "centre-bourg", "centre bourg",
              "espace public", "batiment"), "DSIL dotation de soutien à l'investissement local"),
    ("Fonds vert", ("renatur", "climat", "transition", "energ", "espace public", "vegetal"),
     "Fonds vert transition écologique"),
    ("Fonds friches", ("friche", "reconversion", "site industriel"),
     "Fonds friches recyclage foncier"),
    ("Anah", ("logement", "habitat", "renov", "opah"), "aides de l'Anah rénovation de l'habitat"),
    ("Denormandie", ("logement", "habitat", "renov", "locatif", "fiscal"),
     "dispositif Denormandie ORT réduction d'impôt"),
]
_FUNDING_LIST = re.compile(
    r"(quel(le)?s? (financements?|aides?|subventions?|dispositifs?|sources?)|comment financer|"
    r"financer (nos|notre|le|la|les|un|une|des)|financements? possibles?|qui peut (nous )?financer)"
)


def _of(name: str) -> str:
    """French "de" before a name, elided before a vowel: "d'Ugine", "de Modane"."""
    return f"d'{name}" if fold(name[:1]) in "aeiouy" else f"de {name}"


def _funding_answer(settings: Settings, registry: Registry, commune: Commune | None,
                    question: str, prefix: str, role: Role | None) -> Answer | None:
    """The funding sources that fit the question, each with its cited passage."""
    q = fold(question)
    named = [s for s in _SCHEMES if fold(s[0]) in q]
    themed = [s for s in _SCHEMES if any(w in q for w in s[1])]
    schemes = named or themed or [s for s in _SCHEMES if s[0] in
                                  ("DETR", "DSIL", "Fonds vert", "Fonds friches", "Anah")]
    index = open_index(settings)
    citations: list[Citation] = []
    lines: list[str] = []
    found: list[dict[str, Any]] = []
    for name, _, query in schemes[:6]:
        retrieval = retrieve(index, query, k=4, filters=Filters(doc_types=["programme"]),
                             role=role)
        support = extractive_answer(query, retrieval, index.catalog, max_sentences=3,
                                    threshold=0.0)
        cit = next((c for c in support.citations if fold(name) in fold(c.quote)), None)
        if cit is None:
            continue
        cit.n = len(citations) + 1
        citations.append(cit)
        lines.append(f"{name} : {' '.join(cit.quote.split())} [{cit.n}]")
        found.append({"scheme": name, "citation": cit.n})
    if not lines:
        return None
    text = f"{prefix}Financements qui peuvent correspondre :\n" + "\n".join(
        f"• {line}" for line in lines)
    if any(f["scheme"] == "Denormandie" for f in found):
        status = None
        if commune is not None:
            status = _status_answer(settings, registry, commune, "ORT", "", role)
        ort_rows = [c.quote for c in (status.citations if status else [])
                    if fold(c.quote).startswith(("etape : ort", "ort ("))]
        if ort_rows and "non renseign" in fold(ort_rows[0]):
            text += (f"\nDenormandie suppose une ORT : la fiche de suivi {_of(commune.name)} "
                     "ne l'indique pas (« non renseigné ») ; vérifiez que votre "
                     "convention-cadre vaut ORT.")
        else:
            text += "\nDenormandie n'est ouvert que dans le périmètre d'une ORT."
    return Answer(question=question, text=text, refused=False, citations=citations,
                  extra={"funding": found})


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
    """The one entry point for questions: commune, intent and follow-ups resolved here."""
    t0 = time.perf_counter()
    question = clean_question(question)
    conversation = conversation or Conversation()
    registry = load_registry(settings)
    previous = conversation.turns[-1] if conversation.turns else None

    target: Commune | None = None
    found = registry.find_in_text(question, prefer_dep="73") if len(registry) else []
    ambiguous = [m for m in found if m.status == "ambiguous"]
    hits = [m for m in found if m.status == "found" and m.commune is not None]
    if hits:
        target = hits[0].commune
    elif ambiguous:
        return _clarify(question, ambiguous[0].candidates)
    elif commune:
        match = registry.match(commune)
        if match.status == "ambiguous":
            return _clarify(question, match.candidates)
        target = match.commune if match.status == "found" else None
    elif previous and previous.commune:
        target = registry.get(previous.commune)

    intent = detect_intent(question)
    if PERSON_QUESTION.search(question) or CONTACT_QUESTION.search(question):
        intent = "general"  # a name or an address: only a passage that holds one answers
    if target is not None and intent == "general" and _STEP_QUESTION.search(fold(question)):
        intent = "status"  # "Les Échelles ont une ORT ?", "le chef de projet recruté quand ?"
    is_follow_up = bool(previous and _FOLLOW_UP.match(fold(question)) and len(question) < 60)
    retrieval_question = question
    if is_follow_up and previous is not None:
        if intent == "general":
            intent = previous.intent
        if hits and previous.intent != "general":
            # "Et pour Ugine ?" asks the previous question again for another commune.
            retrieval_question = f"{previous.question} {question}"

    if intent == "eligibility" and target is None and not (
        population_from_text(question) or _PVD_CONTEXT.search(fold(question))
    ):
        intent = "general"  # "éligible" about something else than the programme
    prefix = f"Réponse pour {_commune_label(target)} : " if target else ""
    result: Answer | None = None
    if intent == "eligibility":
        result = _eligibility_answer(settings, target, retrieval_question, prefix, role)
    elif intent == "funding" and _FUNDING_LIST.search(fold(question)):
        result = _funding_answer(settings, registry, target, retrieval_question, prefix, role)
    elif intent == "status" and target is not None:
        result = _status_answer(settings, registry, target, retrieval_question, prefix, role)
    elif intent == "contact":
        filters = filters or (Filters(doc_types=["suivi"], communes=[target.insee])
                              if target else None)
        retrieval_question = f"{retrieval_question} contacts chef de projet Agate préfecture"
    if result is None:
        if target is not None and filters is None:
            filters = _scope_filters(registry, target)
        # Vocabulary questions are best answered by the glossary.
        boost = ["glossaire"] if _DEFINITION.search(fold(question)) else None
        result = ask(settings, retrieval_question, filters=filters, k=k, role=role,
                     scope=scope or (f"commune : {target.name}" if target else ""),
                     boost_types=boost)
        if prefix and not result.refused:
            result.text = prefix + result.text
        result.question = question
    result.extra["commune"] = (
        {"insee": target.insee, "name": target.name, "epci": target.epci_name or ""}
        if target else None
    )
    result.extra["intent"] = intent
    result.timings_ms["total"] = (time.perf_counter() - t0) * 1000
    conversation.turns.append(Turn(question, target.insee if target else None, intent))
    return result
