"""Whether the candidate sentences hold the figure of the kind a question asks."""

# That count, unit, period, year, day, deadline, funder or payee: otherwise the documents
# are silent on it, whatever other figures they give.

from __future__ import annotations

import re

from assistant.answer.answerability import QUESTION_TERMS, RARE_IDF, about_commune, passage_context
from assistant.answer.funders import funder_absent
from assistant.answer.sentences import (
    DAY,
    DAY_ASKED,
    MONTHS,
    UNITS,
    YEAR,
    Candidate,
    asked_period,
    asked_unit,
    counted_thing,
    holds_count_of,
)
from assistant.indexing.lexical import analyze, fold, fold_words

# «combien on a touché de l'ANCT», «la subvention reçue»: money a commune received.
_RECEIVED_ASKED = re.compile(r"\b(touche|touchee|touches|recu|recue|recus|percu|percue|verse|"
                             r"versee|obtenu|obtenue|attribue|attribuee|accorde|accordee|"
                             r"notifie)\b")
# «son salaire», «ça gagne combien», «combien brut»: someone's pay.
_PAY_ASKED = re.compile(r"\b(salaires?|remunerations?|remunere\w*|brut|gagne|gagnent|"
                        r"traitement indiciaire|grille indiciaire)\b|"
                        # «un chef de projet il touche combien ?»: a person's pay
                        r"\b(chef de projet|manager|agent|il|elle|ils|elles)( \w+){0,2} "
                        r"touch\w* (combien|cb)\b")
# «le budget de la commune pour 2026»: a commune's own budget, which no text of the
# programme gives; the programme's 3 billion euros do not answer it.
_OWN_BUDGET = re.compile(r"\bbudgets? (de la |de notre |de ma )?(commune|mairie|"
                         r"municipal\w*|communal\w*)\b")
# «cb par personne ?»: a figure per head, which a whole cost is not.
_PER_UNIT = re.compile(r"\bpar (personne|habitant|visiteur|participant|eleve|enfant|logement|"
                       r"menage|commerce|commercant|famille|tete|nuit|entree|visite|"
                       r"proprietaire)s?\b")
# «la note elle donne les taux ou pas ?»: whether a figure is given, not the figure.
_YES_OR_NO = re.compile(r"\b(donne\w*|indique\w*|precise\w*|fixe\w*|mentionne\w*|"
                        r"parle\w*)\b.*\bou (pas|non)$")
# «le loyer», «la cotisation», «le prix du m2»: money of one named thing.
_PRICED = re.compile(r"\b(loyers?|cotisations?|m2|metre carre|tarifs?|redevances?)\b")
# «la date du prochain comité», «quand a lieu la prochaine réunion»: the date of a thing.
# «votée quand», «attribuée quand», «versée quand»: the date of an act.
_DATED_ACT = re.compile(r"\b(vot|delibere|attribu|accord|notifi|vers|decid|sign|adopt|depos|"
                        r"approuv|lanc|promulgu|publi)\w* (quand|en quelle annee|a quelle date|"
                        r"quel jour|le combien)\b")
_DATED_THING = re.compile(r"\b(?:date (?:limite |butoir )?(?:du|de la|de l|des|de|d|pour)|"
                          r"quand (?:est|sera|a lieu|aura lieu|se tient|se reunit) "
                          r"(?:le|la|les|l))\s+(?:prochaine?s? |derniere?s? )?([a-z]+)")
# «le prochain webinaire il a lieu quel jour ?»: the same, its subject put first.
_DATED_SUBJECT = re.compile(r"^(?:le|la|les|l) (?:prochaine?s? |derniere?s? )?([a-z]+)\b.*\b"
                            r"(?:a lieu|aura lieu|se tient|se tiendra|se reunit|se reunira|"
                            r"commence|commencera|demarre|demarrera|ouvre|ouvrira|ferme|"
                            r"fermera)\b")
_ASKING_WORDS = {"quand", "quoi", "combien", "quel", "quelle", "quels", "quelles"}
# «la date limite pour candidater»: only a deadline answers.
_DEADLINE_ASKED = re.compile(r"\b(date limite|date butoir|dernier delai|deadline|"
                             # «jusqu'à quand court la convention ?» is answered by a
                             # duration («dans les dix-huit mois»): not a deadline.
                             r"jusqu a quelle date|avant quelle date)\b")
# «avant le 30 juin 2021», «clôture en mars 2024»: a deadline word, then a date.
_DEADLINE_GIVEN = re.compile(r"\b(limite|au plus tard|avant|jusqu|butoir|clotur\w*)\b"
                             rf"(?: \w+){{0,4}}? (?:\d{{1,2}} (?:er )?)?(?:{MONTHS}|"
                             r"(?:19|20)\d\d)\b|"
                             # «elle prend fin à la signature de la convention-cadre»: an end
                             # given by an event.
                             r"\b(prend fin|prendra fin|se termine|s acheve|expire)\b")


# «au 31 décembre 2024», «fin 2024»: a point in time.
_POINT_IN_TIME = re.compile(r"\b(au|a la date du|a fin|fin|debut|mi) (\d{1,2}(er)? )?"
                            rf"(({MONTHS}) )?(19|20)\d\d\b")


_ALONE_ASKED = re.compile(r"\b(a (elle|lui) seule?|toute? seule?|part exacte|seule? part)\b")
# «par l'ANCT, la Banque des Territoires et l'Anah», «(DSIL et DETR)»: several things listed.
_GROUPED = re.compile(r"\([^)]*(\bet\b|,)[^)]*\)|\w, [^.;:]*\bet\b")


_DATE_NAMED = re.compile(r"\b(quel mois|quelle annee|en quelle annee|quelle date|a quelle date|"
                         r"quel jour|date exacte|depuis quand|de quand|dat\w* de quand)\b")


def figure_of_it_missing(question: str, kind: str | None, cands: list[Candidate],
                          commune: tuple[str, str] | None,
                          weights: dict[str, float] | None = None) -> bool:
    """The figure asked is of a kind no candidate holds: a count of that thing (of the
    place or body the question names, its rarest word in ``weights``), the unit asked,
    the date of that thing, or the money this commune received."""
    folded = fold_words(question)
    if _YES_OR_NO.search(folded):
        # «la note elle donne les taux de subvention ou pas ?»: whether it gives them, which
        # a sentence saying it does not answers.
        return False
    if kind == "nombre":
        # «la population d'Albertville en 1990»: a figure of that year, or none.
        years = set(YEAR.findall(folded))
        counted = counted_thing(question)
        unit = asked_unit(question)
        if years and _POINT_IN_TIME.search(folded) and not any(
                c.type_ok and years & set(YEAR.findall(fold_words(c.text))) for c in cands):
            # «au 31 décembre 2024, combien … engagés ?»: a figure at that date, which a
            # figure of April 2023 is not, whatever else its page dates.
            return True
        # «combien de chefs de projet fin 2024 ?»: a count of them, of that year.
        if years and not any(c.type_ok and years & set(YEAR.findall(
                f"{c.text} {passage_context(c.hit)} {c.hit.metadata.get('year', '')}"))
                and (not counted or holds_count_of(c.text, counted)) for c in cands):
            return True
        if _ALONE_ASKED.search(folded) and not any(
                c.type_ok and not _GROUPED.search(c.text) for c in cands):
            # «la fontaine à elle seule elle coûte combien ?», «la part de l'Anah toute
            # seule»: one figure shared by several things is not that one's.
            return True
        # «le taux de logements vacants»: a rate of that thing, which a count of it or the
        # rate of another is not.
        rate = unit == "pct"
        if counted and not any(holds_count_of(c.text, counted) and (c.type_ok or not rate)
                               for c in cands):
            return True
        focus = max((t for t, w in (weights or {}).items() if w >= RARE_IDF
                     and t not in QUESTION_TERMS and t not in counted),
                    key=lambda t: (weights or {})[t], default=None)
        if commune is None and focus and counted and counted[0].startswith(
                ("habit", "popul")) and not any(
                holds_count_of(c.text, counted)
                and focus in analyze(f"{c.text} {passage_context(c.hit)}") for c in cands):
            # «aix les bains ça fait cb d'habitants»: the population of that place, not of
            # another (the 14 communes' own are registry facts, answered before).
            return True
        if unit is not None and not any(c.type_ok for c in cands):
            return True
        if _PAY_ASKED.search(folded) and not any(
                c.type_ok and _PAY_ASKED.search(fold_words(c.text)) for c in cands):
            # «un chef de projet ça touche combien brut ?»: a subsidy per post is no pay.
            return True
        if asked_period(question) and not any(c.type_ok for c in cands):
            # «louées combien par mois ?»: a rent per month, which no total gives.
            return True
        own_budget = _OWN_BUDGET.search(folded)
        if own_budget and not any(c.type_ok and _OWN_BUDGET.search(fold_words(c.text))
                                  for c in cands):
            return True
        if funder_absent(folded, cands):
            # «et le département il met cb ?»: the plan's funders' table leaves it out.
            return True
        per = _PER_UNIT.search(folded)
        if per and not any(c.type_ok and re.search(rf"(par|/) ?{per.group(1)[:5]}",
                                                   fold_words(c.text)) for c in cands):
            # «les visites elles coûteront cb par personne ?»: a price per head, which the
            # action's whole cost is not.
            return True
        priced = _PRICED.search(folded)
        if priced and not any(c.type_ok and priced.group(1)[:5] in fold_words(c.text)
                              for c in cands):
            # «le loyer moyen d'un local c'est combien ?»: a rent, not the plan's cost.
            return True
        if commune and _RECEIVED_ASKED.search(folded) and not any(
                about_commune(c.hit, *commune) and c.type_ok
                and _RECEIVED_ASKED.search(fold(c.text)) for c in cands):
            return True
    if kind == "frequence":
        unit = asked_unit(question)
        if unit is not None and not any(
                re.search(rf"\d\s*(?:{UNITS[unit]})", fold_words(c.text)) for c in cands):
            # «elle passera tous les combien de minutes ?»: a frequency in minutes.
            return True
    if kind == "duree" and not any(c.type_ok for c in cands):
        # «il reste combien de temps en poste ?»: a duration, which no sentence gives.
        return True
    if kind in ("date", "duree") and _DEADLINE_ASKED.search(folded) and not any(
            _DEADLINE_GIVEN.search(fold_words(c.text)) for c in cands):
        # «jusqu'à quand on peut demander cette aide ?»: a deadline, which a duration of the
        # aid («pendant deux ans») is not.
        return True
    if kind == "date":
        if _DATE_NAMED.search(folded) and not any(c.type_ok for c in cands):
            # «les travaux démarrent quel mois ?»: a date, which no sentence gives. A bare
            # «quand» may ask in which case («quand est-ce que la convention vaut ORT ?»).
            return True
        if re.search(r"\bquel mois\b", folded) and not any(
                c.type_ok and re.search(rf"\b({MONTHS})\b", fold(c.text)) for c in cands):
            # «ils démarrent quel mois ?»: a month, which «2025-2026» is not.
            return True
        if DAY_ASKED.search(folded) and not any(
                c.type_ok and DAY.search(fold(c.text)) for c in cands):
            # «c'était quel jour exactement ?»: a day, which «décembre 2020» is not.
            return True
        act = _DATED_ACT.search(folded)
        if act and not any(c.type_ok and act.group(1)[:4] in fold_words(c.text) for c in cands):
            # «elle l'a votée quand cette subvention ?»: the date of that vote, not any date.
            return True
        m = _DATED_THING.search(folded) or _DATED_SUBJECT.search(folded)
        # «elle date de quand ?»: «date» is the verb and names no thing.
        stems = analyze(m.group(1)) if m and m.group(1) not in _ASKING_WORDS else []
        if stems and not any(c.type_ok and stems[0][:5] in {t[:5] for t in analyze(c.text)}
                             for c in cands):
            return True
    return False
