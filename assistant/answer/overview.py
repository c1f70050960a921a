"""A study's summary, cited, when a study is named and nothing more specific is asked."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from assistant.answer.routes import line_citation
from assistant.answer.sentences import is_disclaimer, not_an_answer
from assistant.answer.status import of
from assistant.answer.studies import short_title, studies_of
from assistant.communes.registry import Commune
from assistant.indexing.lexical import analyze, fold, fold_words
from assistant.ingest.chunking import split_sentences
from assistant.types import Answer

if TYPE_CHECKING:
    from assistant.answer.conversation import Context

# «l'étude espaces publics des Échelles», «le diag commerce il dit quoi»: a study named…
_STUDY_NAMED = re.compile(r"\b(etude|diag\w*|strategie|plan (de )?mobilite|plan guide|opah\w*)\b")
# …and nothing more specific asked («combien coûte…», «quand…», «qui…»).
_SPECIFIC = re.compile(r"\b(combien|cb|quand|qui|quel\w*|lequel|laquelle|pourquoi|comment|ou|"
                       r"taux|cout\w*|date|montant|budget|surface|nombre|liste|y a|"
                       r"recommand\w*|propos\w*|preconis\w*)\b")
_SUMMARY_ASKED = re.compile(r"\b(dit quoi|disent quoi|que dit|resume\w*|synthese|en gros|"
                            r"donne quoi|conclu\w*|en bref)\b")
_SUMMARY_HEADINGS = ("resume", "synthese", "en bref")
_STUDY_WORDS = set(analyze("étude études diag diagnostic stratégie plan dit quoi que résumé "
                           "synthèse en gros donne recommande propose conclusion"))


def asks_overview(question: str) -> bool:
    folded = fold_words(question)
    return bool(_STUDY_NAMED.search(folded)) and len(folded.split()) <= 10 and (
        bool(_SUMMARY_ASKED.search(folded)) or not _SPECIFIC.search(folded))


# Title words that say where, not what a study is about.
_PLACE_WORDS = set(analyze("centre ville centre-ville bourg centre-bourg commune ancien"))


def _names_its_subject(question: str, docs: list, commune: Commune) -> bool:
    """«la friche d'Ugine elle fait cb d'hectares ?»: the question names what one of the
    commune's studies is about (a word of its title)."""
    asked = set(analyze(question)) - _STUDY_WORDS - _PLACE_WORDS - set(analyze(commune.name))
    return any(asked & set(analyze(str(d.meta.get("title", "")))) for d in docs)


def overview_answer(ctx: Context, commune: Commune, question: str) -> Answer | None:
    """The «Résumé» of the one study of ``commune`` the question names (by its title's
    words, or the commune's only study); None when none or several fit, or it has none."""
    members = ctx.registry.territory_codes(commune)
    hidden: list = []
    pool = [d for d in studies_of(ctx, hidden=hidden) if members & set(d.meta.get("communes", []))]
    its_hidden = [d for d in hidden if members & set(d.meta.get("communes", []))]
    if not pool and its_hidden and (_STUDY_NAMED.search(fold_words(question))
                                    or _names_its_subject(question, its_hidden, commune)):
        # «le diag commerce de Moûtiers il dit quoi ?» asked without an account that may read
        # it: the study exists; answering from other texts would pass them off as it.
        if all(d.meta.get("visibility") == "interne" for d in its_hidden):
            text = (f"L'étude {of(commune.name)} est un document interne d'Agate : elle n'est "
                    "pas consultable avec cet accès. Pour son contenu, adressez-vous à Agate.")
        else:
            text = (f"L'étude {of(commune.name)} est réservée aux élus de la commune et à "
                    "Agate : elle n'est pas consultable avec cet accès. Connectez-vous avec un "
                    "compte de la commune pour la consulter.")
        return Answer(question=question, text=text, refused=True, citations=[],
                      confidence=0.0)
    if not asks_overview(question):
        return None
    words = set(analyze(question)) - _STUDY_WORDS - set(analyze(commune.name))
    scored = sorted(((len(words & set(analyze(str(d.meta.get("title", ""))))), d)
                     for d in pool), key=lambda x: -x[0])
    if not scored or (len(scored) > 1 and (scored[0][0] == 0 or scored[0][0] == scored[1][0])):
        return None
    doc = scored[0][1]
    if len(words - set(analyze(str(doc.meta.get("title", ""))))) >= 2 and not (
            _SUMMARY_ASKED.search(fold_words(question))):
        # «le diag prévoit un observatoire de la vacance ?»: a thing of the study asked, which
        # its summary seldom answers; the passages that name it do.
        return None
    for page in ctx.index.catalog.pages(doc.doc_id):
        lines = page.text.split("\n")
        for i, line in enumerate(lines):
            if fold(line).strip(" :#") not in _SUMMARY_HEADINGS:
                continue
            paragraph = next((x for x in lines[i + 1:] if x.strip()), "")
            kept = [paragraph[s:e].strip() for s, e in split_sentences(paragraph)]
            kept = [s for s in kept if not not_an_answer(s) and not is_disclaimer(s)][:3]
            if not kept:
                return None
            start = page.text.find(kept[0])
            end = page.text.find(kept[-1], start) + len(kept[-1])
            if start < 0 or end < start:
                return None
            title = short_title(str(doc.meta.get("title", "")))
            year = f" ({doc.meta['year']})" if doc.meta.get("year") else ""
            mark = " (exemple)" if doc.meta.get("exemple") else ""
            text = f"{title}{year} : {' '.join(kept)} [1]{mark}"
            citation = line_citation(doc, 1, page.number, page.text[start:end])
            return Answer(question=question, text=text, refused=False, citations=[citation],
                          confidence=1.0)
    return None


# «elle date de quand», «c'est de quelle année», «elle a été faite quand»: the study's date.
_WHEN = re.compile(r"\b(date\w* de quand|de quand|quand|quelle annee|quelle date|"
                   r"en quelle annee|date de l etude|sa date)\b")
# «celle de BSM», «elle date de quand», «elle a été faite quand»: the study itself.
_THE_STUDY_ITSELF = re.compile(r"\b(celle|celui|date|datee|faite?|realisee|publiee|sortie|"
                               r"rendue|de quand)\b")
_DATE_LINE = re.compile(r"^Date : (?P<date>.+?)(?= Émetteur|$)")


def _of(date: str) -> str:
    """«de juin 2022», «d'octobre 2022»."""
    return f"d'{date}" if date[:1] and fold(date[:1]) in "aeiouy" else f"de {date}"


def study_date_answer(ctx: Context, commune: Commune | None, question: str,
                      asked: str) -> Answer | None:
    """The date on the title page of the one study ``question`` names (the commune's only
    study, or the one whose title has its words), cited, when this turn (``asked``) asks
    when; None otherwise."""
    folded = fold_words(question)
    # «études … ; celle de St Jean elle date de quand»: one of the studies just listed.
    own = fold_words(asked)
    if not ((_STUDY_NAMED.search(folded) or " etudes " in f" {folded} ") and _WHEN.search(own)):
        return None
    if not _THE_STUDY_ITSELF.search(own):
        # «elle l'a votée quand cette subvention ?», «notre OPAH elle se termine en quelle
        # année ?»: the date of something else than the study.
        return None
    pool = studies_of(ctx)
    if commune is not None:
        members = ctx.registry.territory_codes(commune)
        pool = [d for d in pool if members & set(d.meta.get("communes", []))]
    words = set(analyze(question)) - _STUDY_WORDS
    if commune is not None:
        words -= set(analyze(commune.name))
    scored = sorted(((len(words & set(analyze(str(d.meta.get("title", ""))))), d)
                     for d in pool), key=lambda x: -x[0])
    if not scored or (len(scored) > 1 and scored[0][0] == scored[1][0]):
        return None
    doc = scored[0][1]
    for page in ctx.index.catalog.pages(doc.doc_id)[:1]:
        for line in page.text.split("\n"):
            m = _DATE_LINE.match(line.strip())
            if m:
                title = short_title(str(doc.meta.get("title", "")))
                mark = " (exemple)" if doc.meta.get("exemple") else ""
                return Answer(question=question,
                              text=f"L'étude « {title} » est datée {_of(m['date'].strip())}. "
                                   f"[1]{mark}",
                              refused=False, confidence=1.0,
                              citations=[line_citation(doc, 1, page.number, line.strip())])
    return None
