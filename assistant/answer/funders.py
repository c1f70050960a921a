"""Who pays what: the rows of a study's funders' table, the funder a question names."""

from __future__ import annotations

import re

from assistant.answer.answerability import about_commune
from assistant.answer.sentences import Candidate
from assistant.indexing.lexical import fold_words

# «c'est qui qui finance ?», «le plan de financement»: the funders' table, whole.
FUNDERS_ASKED = re.compile(r"\b(qui (co)?financ\w*|financeurs?|plan de financement|"
                           r"financement|financements|qui (paye|paie|met))\b")
FUNDER_ROW = re.compile(r"^Financeur[^:;]*: (?P<who>[^;]+?) ; Montant[^:;]*: (?P<sum>[^;]+?)"
                        r"\s*(?:;\s*Part[^:;]*:\s*(?P<part>[^;]+?)\s*)?(?:;|$)")


# A funder named in a question, and how its name reads in a funders' table row.
_FUNDERS: dict[str, str] = {
    r"\bdepartement\b": r"departement", r"\bregion\b": r"region", r"\betat\b": r"\betat\b",
    r"\banah\b": r"\banah\b", r"\bademe\b": r"\bademe\b", r"\bdrac\b": r"\bdrac\b",
    r"\b(banque des territoires|bdt|caisse des depots)\b": r"banque des territoires|caisse",
    r"\b(europe\w*|feder|leader)\b": r"europ|feder|leader",
    r"\b(interco\w*|agglo\w*|communaute|epci)\b": r"intercommunal|communaute|agglo|epci",
    r"\bdetr\b": r"\bdetr\b", r"\bdsil\b": r"\bdsil\b", r"\bfonds? vert\b": r"fonds vert",
    r"\bfonds? friches?\b": r"fonds friches?", r"\bagence de l ?eau\b": r"agence de l ?eau",
    # «la commune ça fait quel % ?»: the commune as a funder (not «notre commune»)
    r"\b(la|de la|par la) commune\b": r"\bcommune\b",
}


def one_funder(folded_question: str) -> str | None:
    """How the funder the question names reads in a table row; the last one named when
    several are («l'anah met cb ; et le département ?»), None when none is."""
    found = [(m.start(), given) for asked, given in _FUNDERS.items()
             for m in re.finditer(asked, folded_question)]
    return max(found)[1] if found else None


def funder_absent(folded_question: str, cands: list[Candidate]) -> bool:
    """The question names a funder, the best candidates are rows of a funders' table, and
    no row nor any figure-holding sentence names that funder."""
    funder = one_funder(folded_question)
    if funder is None:
        return False
    named = [funder]
    best = sorted(cands, key=lambda c: -c.score)[:5]
    plans = {c.hit.source for c in best if FUNDER_ROW.match(c.text.strip())}
    if not plans:
        return False
    # Only the documents whose plan is read: another text's «département» is not a funder.
    return not any(c.type_ok and c.hit.source in plans
                   and re.search(named[0], fold_words(c.text)) for c in cands)


def funders_table(picked: list[Candidate], cands: list[Candidate]) -> list[Candidate]:
    """Every row of the funders' table a picked row belongs to, in reading order; empty
    when no funders' row was picked."""
    row = next((c for c in picked if FUNDER_ROW.match(c.text.strip())), None)
    if row is None:
        return []
    rows = [c for c in cands if c.hit is row.hit and c.chunk_id == row.chunk_id
            and c.page_idx == row.page_idx and FUNDER_ROW.match(c.text.strip())]
    return sorted(rows, key=lambda c: c.start) if len(rows) >= 2 else []


# «il met cb ?», «elle pèse quel % ?»: a sum or a share asked, which a table row gives;
# «pour y avoir droit faut quoi ?» asks none.
_AMOUNT_ASKED = re.compile(r"\b(combien|cb|montant|part|pourcentage|taux|hauteur|met|mettrait|"
                           r"donne\w*|pay\w*|pai\w*|financ\w*|pese\w*|apport\w*|"
                           r"contribu\w*|somme|euros?)\b|%")


def boost_funder_rows(cands: list[Candidate], folded_question: str,
                      commune: tuple[str, str] | None, own: str | None = None) -> None:
    """The row of the funder the question names first («le département il mettrait
    combien ?»); when who pays is asked about a commune, its own funders' table (not
    another study's when no commune is asked about); ``own``: a follow-up's own words,
    folded, which say whether a sum is asked."""
    asked = one_funder(folded_question)
    if asked and _AMOUNT_ASKED.search(own if own is not None else folded_question):
        for c in cands:
            m = FUNDER_ROW.match(c.text.strip())
            if m and re.search(asked, fold_words(m["who"])):
                c.score += 0.2
    if commune is not None and FUNDERS_ASKED.search(folded_question):
        for c in cands:
            if FUNDER_ROW.match(c.text.strip()) and about_commune(c.hit, *commune):
                c.score += 0.15
