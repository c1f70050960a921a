"""The «Découvrir le programme» tab: glossary, programme timeline and reading path.

Every function reads a :class:`~assistant.web.library.Library`: only the documents the
visitor's role may see feed the glossary, the links and the reading path."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.indexing.catalog import StoredDocument
from assistant.web.library import Library
from assistant.web.render import document_url, esc

GLOSSARY_SOURCE = "glossaire/glossaire-pvd.pdf"
# Shown when no glossary is indexed yet, so a new project lead still gets the basics.
GLOSSARY_FALLBACK: list[tuple[str, str]] = [
    ("ANCT", "Agence nationale de la cohésion des territoires, qui pilote le programme."),
    ("Convention d'adhésion", "Premier contrat : il engage la commune dans le programme."),
    ("Convention-cadre", "Contrat qui fixe le projet de revitalisation et son plan d'actions, "
     "signé dans les 18 mois suivant l'adhésion."),
    ("ORT", "Opération de revitalisation de territoire : outil juridique créé par la loi ÉLAN "
     "(2018), qui donne des droits renforcés en urbanisme et en commerce."),
    ("EPCI", "Établissement public de coopération intercommunale (communauté de communes, "
     "d'agglomération…)."),
    ("Chef de projet PVD", "Personne recrutée pour piloter le projet de revitalisation, "
     "cofinancée par l'État et ses partenaires."),
    ("OPAH-RU", "Opération programmée d'amélioration de l'habitat – renouvellement urbain."),
]
_LABELLED_ROW = re.compile(r"^[^:;]{2,30} : (?P<term>[^;]{1,80}) ; [^:;]{2,30} : (?P<def>.+)$")
_COLON = re.compile(r"^(?P<term>[^:]{2,100}?) : (?P<def>.{8,})$")
_DASH = re.compile(r"^(?:[•\-–*]\s*)?(?P<term>[^–—|]{2,60}?)\s*(?:—|–|\|)\s+(?P<def>.{8,})$")
_HEADING = re.compile(r"^(\d+[.)]\s|page\s*\d|\d+\s*/\s*\d+$)", re.IGNORECASE)
_NOT_TERMS = {"date", "émetteur", "emetteur", "source", "sources", "version", "auteur", "page"}


def glossary_document(library: Library) -> StoredDocument | None:
    doc = library.find(GLOSSARY_SOURCE)
    if doc is not None:
        return doc
    return next((d for d in library.documents() if d.meta.get("doc_type") == "glossaire"),
                None)


def _entry(line: str) -> tuple[str, str] | None:
    m = _LABELLED_ROW.match(line)  # a table row read as "Sigle : X ; Signification : Y"
    if m is None:
        m = _COLON.match(line)
        if m is not None and len(m.group("term").split()) > 12:
            m = None
    if m is None:
        m = _DASH.match(line)
    if m is None:
        return None
    term = m.group("term").strip(" *|")
    if term.lower() in _NOT_TERMS or len(term.split()) > 12:
        return None
    return term, m.group("def").strip(" |")


def parse_glossary(text: str) -> list[tuple[str, str]]:
    """Entries "Terme : définition" (or —, –, a table row) from glossary text.

    A line that does not start a new entry continues the previous definition, since
    PDF text breaks long definitions over several lines; numbered headings do not.
    """
    entries: list[tuple[str, str]] = []
    for raw in text.splitlines():
        line = raw.strip().strip("|").strip()
        if not line:
            continue
        if _HEADING.match(line):
            continue
        found = _entry(line)
        if found is not None:
            if found[0].lower() in _NOT_TERMS:
                continue
            entries.append(found)
        elif entries and (line[-1] in ".;:)»" or len(line.split()) >= 8):
            term, definition = entries[-1]
            entries[-1] = (term, f"{definition} {line}")
    return entries


@dataclass
class GlossaryEntry:
    term: str
    definition: str
    page: int | None = None


def glossary_entries(library: Library) -> tuple[list[GlossaryEntry], str]:
    """Entries read from the visible glossary, else the static fallback; and the doc id."""
    doc = glossary_document(library)
    if doc is not None:
        out: list[GlossaryEntry] = []
        for page in library.pages(doc.doc_id):
            out += [GlossaryEntry(t, d, page.number) for t, d in parse_glossary(page.text)]
        if len(out) >= 3:
            return out, doc.doc_id
    return [GlossaryEntry(t, d) for t, d in GLOSSARY_FALLBACK], ""


def glossary_html(entries: list[GlossaryEntry], doc_id: str = "") -> str:
    items = []
    for e in entries:
        link = ""
        if doc_id and e.page is not None:
            link = (f' <a class="pvd-small" href="{esc(document_url(doc_id, e.page))}" '
                    f'target="_blank" rel="noopener">(p. {e.page})</a>')
        items.append(f"<dt>{esc(e.term)}</dt><dd>{esc(e.definition)}{link}</dd>")
    first_page = 1 if any(e.page is not None for e in entries) else None
    source = (
        f'<p class="pvd-small"><a href="{esc(document_url(doc_id, first_page))}" '
        'target="_blank" rel="noopener">Ouvrir le glossaire complet</a></p>'
        if doc_id else '<p class="pvd-small">Glossaire abrégé (le glossaire du corpus '
        "n'est pas encore indexé).</p>"
    )
    return f'<dl class="pvd-glossary">{"".join(items)}</dl>{source}'


@dataclass
class Step:
    title: str
    text: str
    source: str  # document that explains the step
    phrase: str  # words looked for to open the document at the right page


STEPS: list[Step] = [
    Step("Sélection", "L'État et ses partenaires retiennent les communes de moins de 20 000 "
         "habitants exerçant des fonctions de centralité.", "programme/pvd-eligibilite.pdf",
         "sélection"),
    Step("Convention d'adhésion", "La commune et son intercommunalité entrent dans le "
         "programme ; les premiers financements d'ingénierie s'ouvrent.",
         "programme/pvd-etapes.pdf", "convention d'adhésion"),
    Step("Convention-cadre (dans les 18 mois)", "Diagnostic, stratégie et plan d'actions du "
         "projet de revitalisation, signés avec l'État.", "programme/pvd-etapes.pdf",
         "convention-cadre"),
    Step("ORT", "La convention-cadre vaut opération de revitalisation de territoire : des "
         "outils juridiques renforcés pour le centre-ville.", "programme/pvd-etapes.pdf",
         "revitalisation de territoire"),
    Step("Mise en œuvre", "Les actions sont engagées et suivies en comité de projet, avec "
         "l'appui des partenaires et du chef de projet.", "programme/pvd-etapes.pdf",
         "mise en œuvre"),
]

READING_PATH: list[tuple[str, str]] = [
    ("programme/pvd-presentation.pdf", "Comprendre le programme en quelques pages."),
    ("programme/pvd-eligibilite.pdf", "Qui peut en bénéficier et comment les communes sont "
     "retenues."),
    ("programme/pvd-etapes.pdf", "Les étapes, de l'adhésion à la convention-cadre."),
    ("programme/pvd-chef-de-projet.pdf", "Le rôle et le financement du chef de projet."),
    ("programme/pvd-financements.pdf", "Les financements mobilisables."),
    ("programme/pvd-offre-partenaires.pdf", "Ce que proposent les partenaires."),
    (GLOSSARY_SOURCE, "Les sigles à connaître."),
]


def find_page(library: Library, doc_id: str, phrase: str) -> int | None:
    """First page of a document whose text mentions ``phrase`` (case-insensitive)."""
    wanted = phrase.lower()
    for page in library.pages(doc_id):
        if page.number is not None and wanted in page.text.lower():
            return page.number
    return None


def _doc_link(library: Library, doc: StoredDocument, phrase: str = "") -> str:
    is_pdf = doc.source.lower().endswith(".pdf")
    page = (find_page(library, doc.doc_id, phrase) if phrase else None) or (1 if is_pdf else None)
    return document_url(doc.doc_id, page)


def programme_steps(library: Library) -> list[dict[str, str]]:
    """The timeline steps, each with a link to the document (and page) explaining it."""
    out = []
    for step in STEPS:
        doc = library.find(step.source)
        out.append({
            "title": step.title,
            "text": step.text,
            "url": _doc_link(library, doc, step.phrase) if doc else "",
            "doc_title": str(doc.meta.get("title") or doc.source) if doc else "",
        })
    return out


def timeline_html(steps: list[dict[str, str]]) -> str:
    items = []
    for i, s in enumerate(steps, 1):
        link = (f'<a class="pvd-open" href="{esc(s["url"])}" target="_blank" rel="noopener" '
                f'title="{esc(s["doc_title"])}">Lire le document</a>' if s["url"] else "")
        items.append(
            f'<li class="pvd-step"><span class="pvd-step-num">{i}</span><div>'
            f'<strong>{esc(s["title"])}</strong><p>{esc(s["text"])}</p>{link}</div></li>'
        )
    return f'<ol class="pvd-timeline">{"".join(items)}</ol>'


def reading_path(library: Library) -> list[dict[str, str]]:
    """«Par où commencer» : the visible documents of :data:`READING_PATH`, in order."""
    out = []
    for source, why in READING_PATH:
        doc = library.find(source)
        if doc is not None:
            out.append({"title": str(doc.meta.get("title") or doc.source), "why": why,
                        "url": _doc_link(library, doc)})
    return out


def reading_path_html(items: list[dict[str, str]]) -> str:
    if not items:
        return ('<p class="pvd-empty">Les documents du programme ne sont pas encore indexés. '
                "Ils apparaîtront ici après l'indexation du corpus.</p>")
    lis = "".join(
        f'<li><a href="{esc(i["url"])}" target="_blank" rel="noopener">{esc(i["title"])}</a>'
        f'<br><span class="pvd-small">{esc(i["why"])}</span></li>'
        for i in items
    )
    return f'<ol class="pvd-reading">{lis}</ol>'


def discover_html(library: Library) -> tuple[str, str, str]:
    """(glossary, timeline, reading path) HTML of the tab, for the library's role."""
    entries, gloss_id = glossary_entries(library)
    return (glossary_html(entries, gloss_id), timeline_html(programme_steps(library)),
            reading_path_html(reading_path(library)))
