"""Which studies exist: by commune, intercommunality or valley, theme and year, each cited."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from assistant.answer.routes import line_citation
from assistant.communes.registry import Commune
from assistant.indexing.lexical import fold_words
from assistant.types import Answer, Citation

if TYPE_CHECKING:
    from assistant.answer.conversation import Context

_LIST_STUDIES = re.compile(
    r"\b(quel(le)?s? (etudes?|diagnostics?)|liste (des )?etudes|etudes? (faites?|realisees?|"
    r"disponibles?|menees?|existantes?)|y a.t.il (eu )?(une |des )?(etudes?|diagnostics?)|"
    r"(des|une|d) etudes? (sur|pour|a|en)\b|"
    # «y a quoi comme étude pour St Jean», «on a des diags ?», «les études de Moûtiers»
    r"(quoi|koi) comme (etudes?|diag\w*)|(y a|ya|on a|il y a|existe) (t il )?(deja )?"
    r"(des|une) (etudes?|diag\w*)|les etudes (de|d|sur|pour|a|faites)\b)|"
    # «etudes mobilite 2024», «toutes les études habitat»: a search typed as keywords.
    r"^(les |toutes les |tous les )?(etudes|diagnostics|diags)\b"
)
# «quelles études a fait Agate ?», «la liste des études disponibles»: what exists, all of it.
_INVENTORY = re.compile(r"\b(agate|disponibles?|faites?|realisees?|menees?|existantes?|existe\w*|"
                        r"on a|ya|y a|il y a|indexees?|en exemple|d exemple|liste|toutes)\b")
# «quelles études faut-il mener ?», «les études préalables»: a rule of the programme.
_STUDIES_TO_CONDUCT = re.compile(r"\b(faut|doit|doivent|devons|finan\w*|prealables?|"
                                 r"pre ?operationnel\w*|complementaires?|conduire|lancer)\b")
_EXTREME = re.compile(r"\b(?:(plus ancienne?|premiere|la premiere)|plus recente?|derniere|"
                      r"la derniere)\b")
# A theme and the words of a title that show it.
_THEMES: dict[str, tuple[str, ...]] = {
    "commerce": ("commerce", "commercial"),
    "mobilité": ("mobilite", "circulation", "velo", "deplacement"),
    "patrimoine": ("patrimoine",),
    "friche": ("friche",),
    "espaces publics": ("espaces publics", "place"),
    "habitat": ("habitat", "opah", "logement"),
    "revitalisation": ("revitalisation", "strategie"),
}
_THEME_ASKED = {"commerce": ("commerce", "commercial", "boutique"),
                "mobilité": ("mobilite", "velo", "deplacement", "circulation", "stationnement"),
                "patrimoine": ("patrimoine",), "friche": ("friche",),
                "espaces publics": ("espaces publics", "espace public", "place"),
                "habitat": ("habitat", "opah", "logement"),
                "revitalisation": ("revitalisation", "strategie")}
# Words of intercommunality names that name a valley or a massif («en Maurienne»).
_EPCI_PREFIX = re.compile(r"^(cc|ca|communaute (de communes|d agglomeration)) (de |du |des )?")


def short_title(title: str) -> str:
    """«Ugine – Étude … (2022, étude d'exemple)» without the bracket."""
    return re.sub(r"\s*\([^)]*\)$", "", title)


def studies_of(ctx: Context, *, hidden: list[Any] | None = None) -> list[Any]:
    """The studies the user may read, one per source; those the role may not read are
    appended to ``hidden`` when given."""
    docs = []
    seen: set[str] = set()
    for doc in ctx.index.catalog.documents():
        if doc.source in seen:
            continue
        seen.add(doc.source)
        if doc.meta.get("doc_type") != "etude":
            continue
        if ctx.role is not None and not ctx.role.allows(doc.meta):
            if hidden is not None:
                hidden.append(doc)
            continue
        docs.append(doc)
    return docs


def _place(ctx: Context, q: str) -> tuple[str, set[str]] | None:
    """An intercommunality («la CC Cœur de Savoie», «Arlysère») or a valley («en Maurienne»)
    named in the question, and the INSEE codes of its communes."""
    communes = [c for c in ctx.registry.all() if c.dep_code == "73" and c.epci_name]
    names = {c.epci_name: _EPCI_PREFIX.sub("", fold_words(c.epci_name)) for c in communes}
    for epci, bare in sorted(names.items(), key=lambda x: -len(x[1])):
        if bare and f" {bare} " in f" {q} ":
            return epci, {c.insee for c in communes if c.epci_name == epci}
    for word in ("maurienne", "tarentaise", "chartreuse", "arlysere", "grand lac",
                 "val guiers"):
        if f" {word} " in f" {q} ":
            members = {c.insee for c in communes
                       if word in names[c.epci_name] or word in fold_words(c.name)}
            if members:
                return word.title(), members
    return None


def studies_answer(ctx: Context, commune: Commune | None, question: str, *,
                   k: int) -> Answer | None:
    """«Quelles études à Ugine ?», «études mobilité 2024», «les études de la CC Cœur de
    Savoie»: the studies that fit (their title page cited), or a plain «none is available»
    with what exists; content questions go to retrieval."""
    q = fold_words(question)
    if not _LIST_STUDIES.search(q):
        return None
    hidden: list[Any] = []
    docs = studies_of(ctx, hidden=hidden)
    theme = next((t for t, cues in _THEME_ASKED.items() if any(c in q for c in cues)), None)
    years = set(re.findall(r"\b(20\d{2})\b", q))
    place = _place(ctx, q) if commune is None else None
    pool = docs
    where = ""
    if commune is not None:
        members = ctx.registry.territory_codes(commune)
        pool = [d for d in pool if members & set(d.meta.get("communes", []))]
        where = f" sur {commune.name}"
    elif place is not None:
        pool = [d for d in pool if place[1] & set(d.meta.get("communes", []))]
        where = f" ({place[0]})"
    if theme:
        pool = [d for d in pool if any(w in fold_words(d.meta.get("title", ""))
                                       for w in _THEMES[theme])]
    if years:
        pool = [d for d in pool if str(d.meta.get("year", "")) in years]
    every = commune is None and place is None and not theme and not years
    if every and not (_INVENTORY.search(q) and not _STUDIES_TO_CONDUCT.search(q)):
        # «quelles études faut-il mener avant la convention-cadre ?»: the programme's rule,
        # read in the passages.
        return None
    if not pool:
        what = " ".join(x for x in ("Aucune étude", f"sur le thème {theme}" if theme else "",
                                     where.strip(), f"datée de {', '.join(sorted(years))}"
                                     if years else "") if x)
        text = f"{what} n'est disponible dans les documents indexés."
        others = sorted({short_title(d.meta.get("title", "")) for d in docs})
        if others:
            text += " Les études disponibles portent sur : " + " ; ".join(others[:7]) + "."
        if hidden:
            # The study may exist among those this account cannot read: say so, not «none».
            text += (" D'autres études existent mais ne sont pas consultables avec cet "
                     "accès : elles sont réservées à Agate ou aux élus de la commune concernée.")
        return Answer(question=question, text=text, refused=True, citations=[],
                      confidence=0.0)
    citations: list[Citation] = []
    lines = []
    if every:
        # «quelles études a faites Agate ?», «la plus récente ?»: all of them, newest first.
        pool = sorted(pool, key=lambda d: str(d.meta.get("year", "")), reverse=True)
    for doc in pool[:max(k, len(pool)) if every else k]:
        pages = ctx.index.catalog.pages(doc.doc_id)
        first = next((p for p in pages if p.text.strip()), None)
        if first is None:
            continue
        quote = first.text.strip().split("\n")[0]
        n = len(citations) + 1
        citations.append(line_citation(doc, n, first.number, quote))
        mark = f"[{n}]" + (" (exemple)" if doc.meta.get("exemple") else "")
        year = doc.meta.get("year")
        suffix = f" ({year})" if year else ""
        lines.append(f"{short_title(doc.meta.get('title', ''))}{suffix} {mark}")
    head = "Étude disponible" if len(lines) == 1 else "Études disponibles"
    text = f"{head}{where} :\n" + "\n".join(f"• {x}" for x in lines)
    extreme = _EXTREME.search(q)
    if every and extreme and len(lines) > 1:
        # «c'est laquelle la plus récente ?»: say which, then the list it is read from.
        oldest = extreme.group(1) is not None
        pick = len(lines) - 1 if oldest else 0
        text = (f"La plus {'ancienne' if oldest else 'récente'} est : {lines[pick]}.\n"
                + text)
    return Answer(question=question, text=text, refused=False, citations=citations,
                  confidence=1.0)
