"""An intercommunality's registry facts (SIREN, its communes of the programme, their
population), for questions that name the EPCI rather than one of its communes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from assistant.answer.facts import POPULATION, join_names, registry_lines
from assistant.answer.routes import line_citation
from assistant.communes.registry import Commune
from assistant.indexing.catalog import StoredDocument
from assistant.indexing.lexical import fold_words
from assistant.types import Answer

if TYPE_CHECKING:
    from assistant.answer.conversation import Context

# «EPCI : CA Arlysère ; SIREN de l'EPCI : 200068997 ; Communes PVD : Albertville, Ugine ;
# Pop. ANCT cumulée : 25 938 ; Pop. INSEE 2021 cumulée : 26 960»
_EPCI_ROW = re.compile(r"^EPCI : (?P<epci>[^;]+?) ; SIREN de l'EPCI : (?P<siren>\d+) ; "
                       r"Communes PVD : (?P<communes>[^;]+?) ; Pop\. ANCT cumulée : "
                       r"(?P<anct>[\d  ]+) ; Pop\. INSEE 2021 cumulée : (?P<insee_pop>[\d  ]+)$")
# The registry's own warning that its sums leave out the EPCI's other communes.
_CUMULATED_NOTE = re.compile(r"^Les populations cumulées ne portent que sur")

_SIREN = re.compile(r"\b(siren|siret|numero)\b")
_COMMUNES = re.compile(r"\b(quelles? communes|combien de communes|communes? (pvd|du programme|"
                       r"membres?)|qui (en|y) (fait|font) partie|regroupe\w*|compose\w*)\b")
# «toute l'agglo», «en tout»: the whole EPCI, which the registry does not count.
_WHOLE = re.compile(r"\b(toute?s? l|en tout|au total|total|membres?|regroupe\w*|compose\w*)\b")
# «notre agglo … au total»: the commune's own intercommunality, taken as a whole.
_OURS_TOGETHER = re.compile(r"\b(interco\w*|agglo\w*|communaute|epci|cc|comcom)\b.*"
                            r"\b(total|en tout|ensemble|toute?s?|avec)\b|"
                            r"\b(toute?s? l|total de l) ?"
                            r"(interco\w*|agglo\w*|communaute|epci|cc|comcom)\b")
_OF_THE_PROGRAMME = re.compile(r"\b(pvd|programme|petites villes|nos communes|nos villes)\b")
# What no document holds about an EPCI, named in the refusal as the official asked it.
_NOT_HELD = {
    "le siège": re.compile(r"\b(siege|basee?|situee?)\b"),
    "le président": re.compile(r"\b(president\w*|presidee?|vice)\b"),
    "la date de création": re.compile(r"\b(cree\w*|creation|date de quand|existe depuis)\b"),
    "les compétences": re.compile(r"\bcompetences?\b"),
    "les coordonnées": re.compile(r"\b(adresse|telephone|tel|mail|courriel|site)\b"),
}


@dataclass
class _Epci:
    doc: StoredDocument
    page: int | None
    line: str
    name: str
    siren: str
    communes: list[str]
    anct: str
    insee_pop: str

    @property
    def aliases(self) -> list[str]:
        """How officials name it: «cc coeur de savoie», «coeur de savoie», «arlysere»."""
        full = fold_words(self.name)
        bare = re.sub(r"^(ca|cc)( de)? ", "", full)
        words = bare.split()
        short = " ".join(words[:3] if len(words) > 2 and words[1] == "de" else words[:2])
        return [full, bare] + ([short] if len(words) > 2 else [])


# Read once per index generation and access role: every question looks for an EPCI name.
_CACHE: dict[tuple[int, str, str], tuple[list[_Epci], Any]] = {}


def _epcis(ctx: Context) -> tuple[list[_Epci], tuple[StoredDocument, int | None, str] | None]:
    key = (id(ctx.index), ctx.index.catalog.ingest_generation(), repr(ctx.role))
    found = _CACHE.get(key)
    if found is None:
        if len(_CACHE) > 64:
            _CACHE.clear()
        found = _CACHE[key] = _read_epcis(ctx)
    return found


def _read_epcis(ctx: Context) -> tuple[list[_Epci],
                                       tuple[StoredDocument, int | None, str] | None]:
    rows: list[_Epci] = []
    note = None
    for doc, page, line in registry_lines(ctx):
        m = _EPCI_ROW.match(line)
        if m:
            # Each name as the commune registry spells it: the PDF cut «Valge-lon-La
            # Rochette» at a line end, a hyphen no name has.
            communes = [_registry_name(ctx, n) for n in m["communes"].split(",")]
            rows.append(_Epci(doc, page, line, m["epci"].strip(), m["siren"], communes,
                              m["anct"].strip(), m["insee_pop"].strip()))
        elif _CUMULATED_NOTE.match(line):
            note = (doc, page, line)
    return rows, note


def _registry_name(ctx: Context, listed: str) -> str:
    match = ctx.registry.match(listed.strip())
    return match.commune.name if match.status == "found" and match.commune else listed.strip()


def named_epci(ctx: Context, question: str) -> _Epci | None:
    """The intercommunality the question names, by its name with or without «CC»/«CA»."""
    folded = f" {fold_words(question)} "
    rows, _ = _epcis(ctx)
    found = [(len(a), r) for r in rows for a in r.aliases if f" {a} " in folded]
    return max(found, key=lambda f: f[0])[1] if found else None


def epci_answer(ctx: Context, question: str, typed: str,
                commune: Commune | None = None) -> Answer | None:
    """The registry's facts on the intercommunality ``question`` names (or, asked of its
    total, ``commune``'s own: «notre agglo on fait cb d'hab en tout ?»), or what it does not
    hold said first; None when it names none or asks nothing the registry speaks of.
    ``typed`` (the turn as written) decides what is asked, ``question`` which EPCI."""
    asked = fold_words(typed)
    if not (_SIREN.search(asked) or _COMMUNES.search(asked) or POPULATION.search(asked)
            or any(p.search(asked) for p in _NOT_HELD.values())):
        asked = fold_words(question)
    epci = named_epci(ctx, question)
    if epci is None and commune is not None and _OURS_TOGETHER.search(asked) and (
            POPULATION.search(asked)):
        epci = next((r for r in _epcis(ctx)[0] if commune.name in r.communes), None)
    if epci is None:
        return None
    _, note = _epcis(ctx)
    own = join_names(epci.communes)
    count = {1: "une commune", 2: "deux communes", 3: "trois communes"}.get(
        len(epci.communes), f"{len(epci.communes)} communes")
    listed = (f"La {epci.name} compte {count} du programme en Savoie : {own}."
              if len(epci.communes) > 1 else
              f"{own} est la seule commune PVD de Savoie dans la {epci.name}.")
    said: list[str] = []
    missing: list[str] = []
    if _SIREN.search(asked):
        said.append(f"Le SIREN de la {epci.name} est {epci.siren}.")
    if _COMMUNES.search(asked):
        if _WHOLE.search(asked) and not _OF_THE_PROGRAMME.search(asked):
            missing.append("le nombre total de communes")
        said.append(listed)
    if POPULATION.search(asked):
        # «avec ugine», «pvd»: its communes of the programme, which the registry adds up.
        if _OF_THE_PROGRAMME.search(asked) or any(
                fold_words(c) in asked for c in epci.communes if len(epci.communes) > 1):
            said.append(f"Ensemble, les communes du programme de la {epci.name} ({own}) comptent "
                        f"{epci.anct} habitants selon la liste nationale ANCT de 2021 "
                        f"({epci.insee_pop} au recensement INSEE 2021).")
        else:
            missing.append("la population totale")
            said.append(f"Le registre ne compte que ses communes du programme ({own}), "
                        f"qui ont ensemble {epci.anct} habitants selon la liste nationale ANCT "
                        "de 2021.")
    for label, pattern in _NOT_HELD.items():
        if pattern.search(asked) and not said:
            missing.append(label)
    if not said and not missing:
        return None
    if missing and not said:
        said = [f"Le registre indique son SIREN ({epci.siren}).", listed]
    citations = [line_citation(epci.doc, 1, epci.page, epci.line, communes=False)]
    text = " ".join(f"{s} [1]" for s in said)
    if missing:
        lead = f"Les documents ne donnent pas {join_names(missing)} de la {epci.name}."
        if "la population totale" in missing and note is not None:
            citations.append(line_citation(note[0], 2, note[1], note[2], communes=False))
            text += " Ses chiffres ne portent que sur ces communes [2]."
        text = f"{lead} {text}"
    return Answer(question=typed, text=text, refused=bool(missing), citations=citations,
                  confidence=0.0 if missing else 1.0)


def other_epci_dropped(ctx: Context, query: str, commune: Commune) -> str:
    """«le siren de la cc coeur de tarentaise» carried to «et pour bourg st maurice ?»: the
    previous subject's intercommunality becomes the new commune's («l'intercommunalité»)."""
    epci = named_epci(ctx, query)
    if epci is None or commune.name in epci.communes:
        return query
    folded = f" {fold_words(query)} "
    for alias in sorted(epci.aliases, key=len, reverse=True):
        folded = folded.replace(f" {alias} ", " intercommunalite ")
    return re.sub(r"\b(la|le|de la|du) (cc|ca) intercommunalite\b", r"\1 intercommunalite",
                  folded).strip()
