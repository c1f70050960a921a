"""The «Découvrir» tab: Savoie at a glance, whom to call, the first months, the steps, after
2026, the reading path and the glossary; every statement links to the page that says it.

Every function reads a :class:`~assistant.web.library.Library`: only the documents the
visitor's role may see feed the cards, the glossary, the links and the reading path."""

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


# Each phrase is (part of) the heading of the section that explains the step, so the link
# opens that section's page rather than the title page or the table of contents.
STEPS: list[Step] = [
    Step("Sélection", "L'État et ses partenaires retiennent les communes de moins de 20 000 "
         "habitants exerçant des fonctions de centralité.", "programme/pvd-eligibilite.pdf",
         "procédure de sélection"),
    Step("Convention d'adhésion", "La commune et son intercommunalité entrent dans le "
         "programme ; les premiers financements d'ingénierie s'ouvrent.",
         "programme/pvd-etapes.pdf", "convention d'adhésion"),
    Step("Convention-cadre (dans les 18 mois)", "Diagnostic, stratégie et plan d'actions du "
         "projet de revitalisation, signés avec l'État.", "programme/pvd-etapes.pdf",
         "élaboration du projet"),
    Step("ORT", "La convention-cadre vaut opération de revitalisation de territoire : des "
         "outils juridiques renforcés pour le centre-ville.", "programme/pvd-etapes.pdf",
         "valeur d'ORT"),
    Step("Mise en œuvre", "Les actions sont engagées et suivies en comité de projet, avec "
         "l'appui des partenaires et du chef de projet.", "programme/pvd-etapes.pdf",
         "gouvernance locale"),
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


_NUMBERED = re.compile(r"^\s*(?:\d+(?:\.\d+)*\.?|[IVX]+\.)\s+\S")
_TOC_LINE = re.compile(r"(?:\.{3,}|…|\s)\s*\d{1,3}\s*$")


def _folded(text: str) -> str:
    return " ".join(text.lower().replace("’", "'").split())


def find_page(library: Library, doc_id: str, phrase: str) -> int | None:
    """The page of the section about ``phrase``: the numbered heading holding it (its last
    occurrence, since a table of contents lists the same heading first), else the first
    page that mentions it after the title page."""
    wanted = _folded(phrase)
    pages = [p for p in library.pages(doc_id) if p.number is not None]
    headings = [
        page.number for page in pages for line in page.text.split("\n")
        if wanted in _folded(line) and _NUMBERED.match(line) and len(line) < 140
        and not _TOC_LINE.search(line)
    ]
    if headings:
        return headings[-1]
    mentions = [p.number for p in pages if wanted in _folded(p.text)]
    later = [n for n in mentions if n != 1]
    return (later or mentions or [None])[0]


def _doc_link(library: Library, doc: StoredDocument, phrase: str = "") -> str:
    is_pdf = doc.source.lower().endswith(".pdf")
    page = (find_page(library, doc.doc_id, phrase) if phrase else None) or (1 if is_pdf else None)
    return document_url(doc.doc_id, page)


def _read_label(url: str) -> str:
    page = re.search(r"[?&]page=(\d+)", url)
    return f"Lire la section (p. {page.group(1)})" if page else "Lire la section"


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
                f'title="{esc(s["doc_title"])}">{esc(_read_label(s["url"]))}</a>' if s["url"]
                else "")
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


# -- Savoie at a glance -------------------------------------------------------------------

# The steps a status record («fiche de suivi») dates, as the words its table rows start with.
STATUS_STEPS: list[tuple[str, str]] = [
    ("Convention d'adhésion", "convention d'adhesion"),
    ("Convention-cadre", "convention-cadre"),
    ("ORT", "ort"),
    ("Chef de projet", "chef de projet"),
]
_DATE_WORDS = re.compile(
    r"(non renseign[ée]e?|(?:date )?non confirm[ée]e?|\d{1,2}(?:er)? \w+ \d{4}|"
    r"(?:janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|"
    r"décembre) \d{4}(?: \(date approximative\))?|"
    r"\d{4})", re.IGNORECASE)


def _fold(text: str) -> str:
    import unicodedata

    raw = unicodedata.normalize("NFD", text.lower().replace("’", "'"))
    return "".join(ch for ch in raw if not unicodedata.combining(ch))


@dataclass
class CommuneState:
    insee: str
    name: str
    epci: str
    steps: list[tuple[str, str]]  # (step, date or «non renseigné»)
    url: str  # the status record, at the page of its steps table
    record_title: str


def _status_rows(text: str) -> dict[str, str]:
    """Step → date read from a status record's steps table (whatever shape the table took
    in the file: «Étape : X ; Date : Y», «X | Y | …» or «X Y …» on one line)."""
    found: dict[str, str] = {}
    for line in text.split("\n"):
        folded = _fold(line.strip().strip("|").strip())
        if folded.startswith("etape :"):
            folded = folded[len("etape :"):].strip()
            line = line.split(":", 1)[1]
        for label, start in STATUS_STEPS:
            if label in found or not folded.startswith(start):
                continue
            if start == "ort" and not re.match(r"ort\b", folded):
                continue
            rest = line.strip().strip("|")
            field = re.search(r"date\s*:", rest, re.IGNORECASE)  # «… ; Date : …» rows
            m = _DATE_WORDS.search(rest[field.end():] if field else rest[len(start):])
            if m:
                found[label] = m.group(1)
    return found


def commune_states(library: Library, communes: dict[str, object]) -> list[CommuneState]:
    """Each registry commune with the dated steps of its status record, in name order.

    Only what the records say: a step they do not date shows «non renseigné»."""
    records = [d for d in library.documents() if d.meta.get("doc_type") == "suivi"]
    out: list[CommuneState] = []
    for insee, commune in sorted(communes.items(), key=lambda x: _fold(getattr(x[1], "name",
                                                                             x[0]))):
        record = next((d for d in records if insee in d.meta.get("communes", [])), None)
        steps: dict[str, str] = {}
        page_no = None
        if record is not None:
            for page in library.pages(record.doc_id):
                rows = _status_rows(page.text)
                if rows and page_no is None:
                    page_no = page.number
                for k, v in rows.items():
                    steps.setdefault(k, v)
        out.append(CommuneState(
            insee=insee, name=str(getattr(commune, "name", insee)),
            epci=str(getattr(commune, "epci_name", "") or ""),
            steps=[(label, steps.get(label, "non renseigné")) for label, _ in STATUS_STEPS],
            url=document_url(record.doc_id, page_no) if record else "",
            record_title=str(record.meta.get("title") or record.source) if record else "",
        ))
    return out


def communes_html(states: list[CommuneState]) -> str:
    """One compact card per commune: the dated steps only, the others summed up, so the
    14 fit on a screen."""
    if not states:
        return ('<p class="pvd-empty">Le registre des communes n\'est pas encore chargé : '
                "les communes apparaîtront ici.</p>")
    cards = []
    for s in states:
        known = [(label, date) for label, date in s.steps if "non renseign" not in _fold(date)]
        steps = " · ".join(f"{esc(label)} : <strong>{esc(date)}</strong>" for label, date in known)
        missing = len(s.steps) - len(known)
        if not known:
            steps = ('<span class="pvd-small">Aucune de ces étapes n\'est datée dans la '
                     "fiche.</span>")
        elif missing:
            steps += f' <span class="pvd-small">· {missing} autre{"s" if missing > 1 else ""} ' \
                     "non renseignée" + ("s" if missing > 1 else "") + "</span>"
        link = (f' <a class="pvd-small" href="{esc(s.url)}" target="_blank" rel="noopener" '
                f'title="{esc(s.record_title)}">fiche de suivi</a>' if s.url else "")
        cards.append(f'<div class="pvd-commune-card"><h4>{esc(s.name)}</h4>'
                     f'<div class="pvd-small">{esc(s.epci)}{link}</div>'
                     f'<div class="pvd-commune-steps">{steps}</div></div>')
    labels = ", ".join(label for label, _ in STATUS_STEPS)
    return (f'<p class="pvd-small">{len(states)} communes et les dates que donnent leurs fiches '
            f"de suivi ({esc(labels)}) ; une étape non datée n'est pas connue des sources de la "
            f'fiche, elle peut avoir eu lieu.</p><div class="pvd-communes">{"".join(cards)}</div>')


# -- whom to call, the first months, after 2026 -------------------------------------------


@dataclass
class Point:
    text: str
    source: str  # the document that says it
    phrase: str  # heading (or words) of the section that says it


CONTACTS: list[Point] = [
    Point("Agate – Agence alpine des territoires accompagne les 14 communes et les 9 EPCI : "
          "diagnostics, conception de la feuille de route, identification des études "
          "complémentaires.", "conventions/partenariat-savoie-departement-bdt-agate.pdf",
          "missions confiées à agate"),
    Point("Agate intervient en amont du programme, avant la signature des conventions-cadres ; "
          "l'ANCT participe au financement des travaux qui lui sont confiés.",
          "conventions/partenariat-savoie-departement-bdt-agate.pdf", "durée"),
    Point("La préfecture de la Savoie, délégation territoriale de l'ANCT, relaie les "
          "instructions nationales et signe les conventions pour l'État.",
          "programme/pvd-apres-2026.pdf", "recommandations pratiques"),
    Point("Pour chaque commune, sa fiche de suivi liste qui contacter : le chef de projet PVD, "
          "l'intercommunalité, Agate et la préfecture.", "suivi/suivi-modane-fourneaux.pdf",
          "contacts"),
]
CONTACTS_NOTE = ("Les documents ne donnent ni nom ni numéro de téléphone : passez par "
                 "l'accueil d'Agate ou de la préfecture.")

CHECKLIST: list[Point] = [
    Point("Lire la fiche de suivi de votre commune : dates des conventions, ORT, poste de chef "
          "de projet, ce qui est « non renseigné ».", "suivi/suivi-modane-fourneaux.pdf",
          "étapes du programme"),
    Point("Rencontrer les acteurs dans les premières semaines : élus, directeurs des services, "
          "sous-préfet, techniciens de l'intercommunalité, financeurs, commerçants.",
          "programme/pvd-chef-de-projet.pdf", "premiers mois"),
    Point("Relire les documents existants : urbanisme, programme local de l'habitat, études "
          "commerciales, projet de territoire de l'intercommunalité.",
          "programme/pvd-chef-de-projet.pdf", "premiers mois"),
    Point("Prendre contact avec Agate pour le diagnostic et la feuille de route.",
          "conventions/partenariat-savoie-departement-bdt-agate.pdf",
          "missions confiées à agate"),
    Point("Vérifier l'échéance des 18 mois entre la convention d'adhésion et la "
          "convention-cadre.", "programme/pvd-etapes.pdf", "délai de dix-huit mois"),
    Point("Installer le comité de projet et le comité technique.", "programme/pvd-etapes.pdf",
          "gouvernance locale"),
    Point("Suivre le parcours d'accueil des nouveaux chefs de projet et rejoindre le Club PVD.",
          "programme/pvd-chef-de-projet.pdf", "accompagnement proposé"),
    Point("Éviter les écueils : un binôme avec un élu référent, une fiche de poste qui protège "
          "le temps du projet, des actions hiérarchisées, un tableau de bord partagé.",
          "programme/pvd-chef-de-projet.pdf", "écueils fréquents"),
]

AFTER_2026: list[Point] = [
    Point("Le programme était prévu jusqu'en 2026, pour la durée du mandat municipal.",
          "programme/pvd-apres-2026.pdf", "échéance en 2026"),
    Point("Sa poursuite a été annoncée par le Premier ministre en juin 2025 et confirmée en "
          "octobre 2025 ; ses modalités ne sont fixées par aucun texte officiel connu : à "
          "confirmer.", "programme/pvd-apres-2026.pdf", "annonces de poursuite"),
    Point("Le rapport du Sénat du 15 octobre 2025 formule 7 recommandations, dont prolonger de "
          "2 ans le cofinancement des chefs de projet.", "programme/pvd-apres-2026.pdf",
          "rapport du sénat"),
    Point("Une ORT ne disparaît pas avec la fin du programme : sa durée est celle de sa "
          "convention.", "programme/pvd-apres-2026.pdf", "ne change pas"),
    Point("À faire : ne pas interrompre les actions engagées, budgéter le poste de chef de "
          "projet pour 2026 et 2027 selon plusieurs hypothèses, mettre à jour le bilan des "
          "fiches actions.", "programme/pvd-apres-2026.pdf", "recommandations pratiques"),
]


def _points(library: Library, points: list[Point]) -> list[dict[str, str]]:
    """Each point with the link to the page of its section (no link when its document is
    not indexed: the point is then not shown, nothing is said without a source)."""
    out = []
    for point in points:
        doc = library.find(point.source)
        if doc is None:
            continue
        out.append({"text": point.text, "url": _doc_link(library, doc, point.phrase),
                    "doc_title": str(doc.meta.get("title") or doc.source)})
    return out


def agate_contacts(library: Library) -> list[dict[str, str]]:
    return _points(library, CONTACTS)


def first_months_checklist(library: Library) -> list[dict[str, str]]:
    return _points(library, CHECKLIST)


def after_2026(library: Library) -> list[dict[str, str]]:
    return _points(library, AFTER_2026)


def _points_html(items: list[dict[str, str]], css: str, tag: str = "ul") -> str:
    if not items:
        return ('<p class="pvd-empty">Les documents correspondants ne sont pas encore indexés.'
                "</p>")
    lis = "".join(
        f'<li>{esc(i["text"])} <a class="pvd-small" href="{esc(i["url"])}" target="_blank" '
        f'rel="noopener" title="{esc(i["doc_title"])}">(source)</a></li>'
        for i in items
    )
    return f'<{tag} class="{css}">{lis}</{tag}>'


def contacts_html(items: list[dict[str, str]]) -> str:
    body = _points_html(items, "pvd-contacts")
    return body + (f'<p class="pvd-small">{esc(CONTACTS_NOTE)}</p>' if items else "")


def checklist_html(items: list[dict[str, str]]) -> str:
    return _points_html(items, "pvd-checklist")


def after_2026_html(items: list[dict[str, str]]) -> str:
    return _points_html(items, "pvd-after")


def discover_html(library: Library, communes: dict[str, object]) -> list[str]:
    """The tab's sections for the library's role, in page order: communes at a glance,
    whom to call, the first months, the steps, after 2026, the reading path, the glossary."""
    entries, gloss_id = glossary_entries(library)
    return [
        communes_html(commune_states(library, communes)),
        contacts_html(agate_contacts(library)),
        checklist_html(first_months_checklist(library)),
        timeline_html(programme_steps(library)),
        after_2026_html(after_2026(library)),
        reading_path_html(reading_path(library)),
        glossary_html(entries, gloss_id),
    ]
