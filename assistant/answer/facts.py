"""A commune's registry facts (population, intercommunality, codes, programme id, partners),
read from the rows of the registry document and told as cited sentences."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant.answer.routes import line_citation
from assistant.answer.sentences import counted_thing
from assistant.answer.status import asked_steps, of
from assistant.communes.registry import Commune
from assistant.indexing.catalog import StoredDocument
from assistant.indexing.lexical import fold, fold_words
from assistant.types import Answer, Citation

if TYPE_CHECKING:
    from assistant.answer.conversation import Context

# «Commune : Albertville ; Code INSEE : 73011 ; EPCI : CA Arlysère ; … Pop. ANCT : 18 899 ; …»
_COMMUNE_ROW = re.compile(r"^Commune : (?P<name>[^;]+?) ; Code INSEE : (?P<insee>\d{5}) ; "
                          r"EPCI : (?P<epci>[^;]+?) ; SIREN de l'EPCI : (?P<siren>\d+) ; "
                          r"Pop\. ANCT : (?P<anct>[\d  ]+) ; Pop\. INSEE 2021 : (?P<insee_pop>"
                          r"[\d  ]+)$")
# «Territoire (slug) : coeur-de-savoie ; Identifiant PVD : pvd-84-73-7 ; Communes de Savoie :
# Montmélian, Saint-Pierre-d'Albigny, Valgelon-La Rochette ; EPCI : CC Cœur de Savoie»
_TERRITORY_ROW = re.compile(r"^Territoire \(slug\) : (?P<slug>[^;]+?) ; Identifiant PVD : "
                            r"(?P<id>[^;]+?) ; Communes de Savoie : (?P<communes>[^;]+?) ; "
                            r"EPCI : (?P<epci>.+)$")

# A count of inhabitants asked: «cb d'hab», «population de …», «Ugine habitants»; not
# «les habitants ils demandaient quoi ?», where they are the subject.
POPULATION = re.compile(r"\b(population|pop|peuplee?s?)\b|"
                        r"\b(combien|cb|nombre|compt\w*)\b.*\b(habitan\w*|hab)\b|"
                        # «ça fait cb d'hab», not «elle a fait des ateliers avec les habitants»
                        r"\b(fai[st]|font|pese\w*|total)( \w+){0,2} (habitan\w*|hab)\b|"
                        r"\b(habitan\w*|hab)\b.*\b(combien|cb|au total|en tout)\b|"
                        r"^(\w+ ){0,3}(habitants|hab)( \w+)?$")
# «le poste est porté par la commune ou par l'interco ?», «dans notre interco il y a combien
# de programmes ?»: the intercommunality as one who acts or holds, not which one it is.
_EPCI_AS_ACTOR = re.compile(r"\b(par|pour) (la |l'|l |notre |leur )?(commune|interco\w*|comcom|"
                            r"communaute|agglo\w*|epci|cc)\b.*\b(ou|et) (par |pour )?"
                            r"(la |l'|l |notre |leur )?(commune|interco\w*|comcom|communaute|"
                            r"agglo\w*|epci|cc)\b|"
                            r"\b(combien|cb|nombre) de (programmes?|projets?|chefs? de projet)\b")
# «dans quelle cc», «quelle ca» («ca» alone is «ça»).
_EPCI = re.compile(r"\b(interco\w*|epci|communaute|agglo\w*|siren|cc|comcom|quelle ca)\b")
_INSEE = re.compile(r"\b(code insee|insee)\b(?! ?(2021|de 2021|\d{4}))(?<!recensement insee)")
_PROGRAMME_ID = re.compile(r"\b(identifiant|id pvd|numero pvd|code pvd)\b")
# «on est la seule commune PVD de notre interco ?», «avec qui on partage le programme ?»
_PARTNERS = re.compile(r"\b(seule?s? commune|autres? communes?|quelles? (autres )?communes?|"
                       r"(partage|porte)\w* (le |notre |son |leur )?programme|"
                       # «avec qui on est dans le programme ?», not «… 24 entretiens, avec qui ?»
                       r"(programme|pvd)\b.*\bavec qui|avec qui\b.*\b(programme|pvd)|"
                       # «on est combien de communes dans notre programme ?»
                       r"combien de communes (dans|pour|sur) (notre|son|leur|le|ce) programme)\b")
_TOGETHER = re.compile(r"\b(ensemble|en tout|au total|total|a nous (deux|trois|2|3)|"
                       r"a (deux|trois|2|3)|(nos|les) (deux|trois|2|3) communes|"
                       r"avec (modane|fourneaux|montmelian|saint pierre|valgelon|la rochette))\b")
FACT_ASKED = re.compile("|".join(p.pattern for p in (POPULATION, _EPCI, _INSEE, _PROGRAMME_ID,
                                                      _PARTNERS)))


@dataclass
class _Row:
    doc: StoredDocument
    page: int | None
    line: str
    match: re.Match[str]

    @property
    def is_commune(self) -> bool:
        """A commune's row (else a programme territory's)."""
        return self.match.re is _COMMUNE_ROW


def registry_lines(ctx: Context) -> Iterator[tuple[StoredDocument, int | None, str]]:
    """Every line of the registry documents this account may read, with its page."""
    for doc in ctx.index.catalog.documents():
        if doc.meta.get("doc_type") not in ("autre", "registre") or not doc.source.endswith(
                ".pdf"):
            continue
        if ctx.role is not None and not ctx.role.allows(doc.meta):
            continue
        for page in ctx.index.catalog.pages(doc.doc_id):
            for raw in page.text.split("\n"):
                yield doc, page.number, raw.strip()


def _registry_rows(ctx: Context) -> Iterator[_Row]:
    for doc, page, line in registry_lines(ctx):
        m = _COMMUNE_ROW.match(line) or _TERRITORY_ROW.match(line)
        if m:
            yield _Row(doc, page, line, m)


def _names(listed: str) -> list[str]:
    return [n.strip() for n in re.sub(r"\([^)]*\)", "", listed).split(",") if n.strip()]


def join_names(names: list[str]) -> str:
    """«A», «A et B», «A, B et C»."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " et " + names[-1]


# «la population en 1990», «avant la commune nouvelle», «elle a perdu des habitants ?»: the
# registry's one figure (2021) does not answer another time.
_OTHER_TIME = re.compile(r"\b(19\d\d|20(0\d|1\d|2[2-9]))\b|\b(avant|evolution|evolue|perdu|"
                         r"gagne|baisse|hausse|augment\w*|diminu\w*|depuis|il y a)\b")


_OTHER_DEPARTMENT = re.compile(r"\b(isere|iserois\w*|38|dauphine)\b")


# «avec presque 20 000 hab on risque pas de sortir ?»: a population given, not asked.
_POPULATION_GIVEN = re.compile(r"^(?!.*\b(combien|cb|quelle population|nombre d)).*"
                               r"\d[\d  .]*\s*(hab|habitants)\b")


def namesake_asked(question: str, commune: Commune) -> bool:
    """«le Pont-de-Beauvoisin côté Isère»: its namesake in another department, which the
    registry and the record do not hold; only the passages that name it answer."""
    return commune.dep_code == "73" and bool(_OTHER_DEPARTMENT.search(fold(question)))


def facts_answer(ctx: Context, commune: Commune, question: str) -> Answer | None:
    """The registry facts the question asks about this commune, each cited to its row; None
    when it asks none of them or the registry has no row for the commune."""
    folded = fold(question)
    if not FACT_ASKED.search(folded):
        return None
    counted = counted_thing(question)
    if counted and not counted[0].startswith(("habit", "hab", "popul")):
        # «ils ont fait cb d'ateliers avec les habitants ?»: the workshops are counted.
        folded = POPULATION.sub(" ", folded)
    if namesake_asked(question, commune):
        return None
    rows = list(_registry_rows(ctx))
    own = next((r for r in rows if r.is_commune and r.match["insee"] == commune.insee), None)
    territory = next((r for r in rows if not r.is_commune
                      and commune.name in _names(r.match["communes"])), None)
    if own is None:
        return None
    said: list[tuple[str, _Row]] = []
    m = own.match
    if POPULATION.search(folded) and not _TOGETHER.search(folded) and not (
            _OTHER_TIME.search(folded) or _POPULATION_GIVEN.search(folded)):
        said.append((f"{commune.name} compte "
                     f"{_population(m['anct'].strip(), m['insee_pop'].strip(), folded)}.", own))
    partners_rows = [r for r in rows if r.is_commune and territory is not None
                     and r.match["name"] in _names(territory.match["communes"])]
    if _TOGETHER.search(folded) and len(partners_rows) > 1 and POPULATION.search(folded):
        # «à nous trois on pèse combien d'habitants ?»: the programme's communes together.
        together = _population(_summed(partners_rows, "anct"),
                               _summed(partners_rows, "insee_pop"), folded)
        said.append((f"Ensemble, {join_names([r.match['name'] for r in partners_rows])} comptent "
                     f"{together}.", partners_rows[0]))
        said += [("", r) for r in partners_rows[1:]]
    if _PROGRAMME_ID.search(folded) and territory is not None:
        # The PDF text can split an id («pvd-84-73-1 4»): the id has no spaces.
        programme_id = re.sub(r"\s+", "", territory.match["id"])
        said.append((f"L'identifiant PVD {of(commune.name)} dans la liste nationale est "
                     f"{programme_id}.", territory))
    if _PARTNERS.search(folded) and not asked_steps(folded):  # not «signé avec qui ?»
        others = [r for r in rows if r.is_commune and r.match["siren"] == m["siren"]
                  and r.match["insee"] != commune.insee]
        if others:
            names = join_names([r.match["name"] for r in others])
            lead = ("l'autre commune du programme en Savoie est" if len(others) == 1
                    else "les autres communes du programme en Savoie sont")
            said.append((f"Dans l'intercommunalité {m['epci'].strip()}, {lead} {names}.", own))
            said += [("", r) for r in others]  # cited beside the sentence above
        else:
            said.append((f"{commune.name} est la seule commune PVD de Savoie dans "
                         f"l'intercommunalité {m['epci'].strip()}.", own))
        if territory is not None:
            partners = [n for n in _names(territory.match["communes"]) if n != commune.name]
            if partners:
                said.append((f"Elle porte le programme avec {join_names(partners)}.", territory))
            if "(" in territory.match["communes"]:
                shared = re.search(r"\(([^)]*)\)", territory.match["communes"])
                if shared:
                    said.append((f"Son programme est partagé {shared[1]}.", territory))
    if _INSEE.search(folded):
        said.append((f"Son code INSEE est {m['insee']}.", own))
    if _EPCI.search(folded) and not _PARTNERS.search(folded) and not _EPCI_AS_ACTOR.search(
            folded):
        said.append((f"{commune.name} fait partie de l'intercommunalité {m['epci'].strip()} "
                     f"(SIREN {m['siren']}).", own))
    return _cited(question, said) if said else None


def _cited(question: str, said: list[tuple[str, _Row]]) -> Answer:
    """Sentences each followed by the numbers of the rows they come from; a row read twice
    is cited once. The registry names all the communes: no citation is about one of them."""
    citations: list[Citation] = []
    number: dict[str, int] = {}
    text: list[str] = []
    for sentence, row in said:
        n = number.get(row.line)
        if n is None:
            n = number[row.line] = len(citations) + 1
            citations.append(line_citation(row.doc, n, row.page, row.line, communes=False))
        if sentence:
            text.append(f"{sentence} [{n}]")
        elif text:
            text[-1] += f" [{n}]"
    return Answer(question=question, text=" ".join(text), refused=False,
                  citations=citations, confidence=1.0)


# «c'est laquelle la plus petite commune pvd du 73 ?», «la plus grosse des 14 ?»
_SUPERLATIVE = re.compile(r"\bplus (petite|grande|grosse|peuplee|importante)s?\b|"
                          r"\bmoins (peuplee|grande)s?\b")
_OF_THE_PROGRAMME = re.compile(r"\b(pvd|14|73|savoie|programme|petites villes)\b")


# «en tout», «au total», «mises bout à bout»: all of them together.
_ALL_TOGETHER = re.compile(r"\b(en tout|au total|total|ensemble|additionn\w*|cumul\w*|"
                           r"bout a bout)\b")


_CENSUS_ASKED = re.compile(r"\b(insee|recensement)\b")
_LIST_ASKED = re.compile(r"\b(anct|liste)\b")


def _population(anct: str, insee: str, folded: str) -> str:
    """Both populations of the registry, the one the question names first («au recensement
    INSEE 2021» asks the census; otherwise the programme's list comes first)."""
    if _CENSUS_ASKED.search(folded) and not _LIST_ASKED.search(folded):
        return (f"{insee} habitants au recensement INSEE 2021 ({anct} selon la liste nationale "
                "ANCT de 2021)")
    return (f"{anct} habitants selon la liste nationale ANCT de 2021 ({insee} au recensement "
            "INSEE 2021)")


def _summed(rows: list[_Row], field: str) -> str:
    """The rows' ``field`` added up, written as the registry writes figures («12 177»)."""
    total = sum(int(re.sub(r"\D", "", r.match[field])) for r in rows)
    return f"{total:,}".replace(",", " ")


def ranking_answer(ctx: Context, question: str) -> Answer | None:
    """The smallest or largest of the registry's communes by population, cited to its row;
    None unless the question asks that of the programme's communes."""
    folded = fold_words(question)
    m = _SUPERLATIVE.search(folded)
    total = bool(_ALL_TOGETHER.search(folded)) and bool(POPULATION.search(folded))
    if not (m or total) or not ("commune" in folded or re.search(r"\b14\b", folded)) or not (
            _OF_THE_PROGRAMME.search(folded)):
        return None
    rows = [r for r in _registry_rows(ctx) if r.is_commune]
    if not rows:
        return None
    if total and not m:
        # «les 14 communes pvd du 73 ça fait cb d'hab en tout ?»: their sum, from their rows.
        summed = _population(_summed(rows, "anct"), _summed(rows, "insee_pop"), fold(question))
        return _cited(question, [(f"Ensemble, les {len(rows)} communes du programme en Savoie "
                                  f"comptent {summed}, somme de leurs lignes du registre.",
                                  rows[0])])
    smallest = m.group(1) == "petite" or m.group(0).startswith("moins")
    pick = (min if smallest else max)(rows, key=lambda r: int(re.sub(r"\D", "", r.match["anct"])))
    which = "la plus petite" if smallest else "la plus peuplée"
    return _cited(question, [(f"{pick.match['name']} est {which} des {len(rows)} communes du "
                              f"programme en Savoie, avec {pick.match['anct'].strip()} habitants "
                              "selon la liste nationale ANCT de 2021.", pick)])


# «les communes pvd de savoie c lesquelles», «la liste des 14», «et leurs intercos ?»
_THEM = (r"(?:communes|intercos|epci|intercommunalites|communautes de communes)")
_LIST_OF_THEM = re.compile(
    rf"\b(?:quelles sont les|quelles|liste des|la liste|noms des|qui sont les) {_THEM}\b|"
    rf"\b{_THEM}\b.*\b(?:c est lesquelles|c lesquelles|lesquelles|c est quoi|c quoi|"
    r"lesquels|quelles sont elles)\s*\??$")
# «et leurs intercos ?» after the list of the communes, whose intercommunalities it gives.
_THEIR_EPCIS = re.compile(r"^(et )?(leurs|les) (intercos?|intercom\w*|epci|comcoms?|"
                          r"communautes de communes)$")


def communes_list_answer(ctx: Context, question: str) -> Answer | None:
    """The programme's communes in Savoie, by programme territory with its intercommunality,
    each cited to its registry row; None unless the question asks for that list."""
    folded = fold_words(question)
    if not ((_LIST_OF_THEM.search(folded) and _OF_THE_PROGRAMME.search(folded))
            or _THEIR_EPCIS.match(folded)) or _SUPERLATIVE.search(folded):
        return None
    rows = list(_registry_rows(ctx))
    territories = [r for r in rows if not r.is_commune]
    communes = [r for r in rows if r.is_commune]
    if not territories:
        return None
    said = [(f"{join_names(_names(r.match['communes']))} ({r.match['epci'].strip()})", r)
            for r in territories]
    answer = _cited(question, said)
    epcis = {r.match["epci"].strip() for r in territories}
    bullets = re.findall(r".+? \[\d+\]", answer.text)
    answer.text = (f"Les {len(communes) or 14} communes du programme Petites villes de demain en "
                   f"Savoie, par territoire de programme ({len(epcis)} intercommunalités) :\n"
                   + "\n".join(f"• {b.strip()}" for b in bullets))
    return answer
