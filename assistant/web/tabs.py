"""The logic behind the Discuter, Rechercher and Documents tabs, as plain testable functions."""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from assistant.errors import AssistantError, ConfigError
from assistant.indexing.catalog import StoredDocument
from assistant.indexing.index import Index
from assistant.search.access import Role
from assistant.search.filters import Filters
from assistant.settings import Settings
from assistant.types import SUPPORTED_SUFFIXES, Hit
from assistant.web.library import Library, find_in
from assistant.web.render import EXEMPLE_BADGE, document_url, esc, open_label, type_label

ALL_COMMUNES = "Toutes les communes"  # label of the "no commune" choice; its value is ""
ALL_EPCI = "Tous les EPCI"
UPLOAD_SUFFIXES = SUPPORTED_SUFFIXES
DOCUMENT_HEADERS = [
    "Titre", "Type", "Communes", "Date", "Pages", "Passages", "Indexé le", "Exemple",
    "Visibilité", "Fichier",
]
DOCUMENT_TABLE_HEADERS = ["Titre", "Type", "Communes", "Date", "Visibilité", "Pages",
                          "Fichier"]
CSV_HEADERS = ["rang", "document", "fichier", "type", "page", "communes", "EPCI", "date",
               "exemple", "lien", "passage"]
VISIBILITY_LABELS = {"public": "Public", "commune": "Commune", "interne": "Interne (Agate)"}
VISIBILITY_CHOICES = [("Toutes", ""), *((label, v) for v, label in VISIBILITY_LABELS.items())]
CANDIDATES_PER_RESULT = 4  # passages fetched per document shown, before grouping
RELEVANT_COVERAGE = 0.5  # share of the query's words a passage must hold to count


# -- communes ---------------------------------------------------------------------------


def load_communes(settings: Settings) -> dict[str, Any]:
    """INSEE code → Commune from the registry; empty when none is available."""
    from assistant.communes.registry import RegistryError, load_registry

    try:
        return {c.insee: c for c in load_registry(settings).all()}
    except RegistryError:
        return {}


def commune_choices(communes: dict[str, Any],
                    library: Library | None = None) -> list[tuple[str, str]]:
    """Dropdown choices (label, INSEE): the registry, plus codes only the documents the
    visitor may see know."""
    choices = [(ALL_COMMUNES, "")]
    known = dict(sorted(((c.name, code) for code, c in communes.items()), key=lambda x: x[0]))
    for name, code in known.items():
        choices.append((f"{name} ({code})", code))
    if library is not None:
        extra = sorted(
            {code for d in library.documents() for code in d.meta.get("communes", [])}
            - set(communes)
        )
        choices += [(code, code) for code in extra]
    return choices


def epci_choices(communes: dict[str, Any],
                 library: Library | None = None) -> list[tuple[str, str]]:
    found: dict[str, str] = {}
    for c in communes.values():
        if c.epci_siren:
            found[c.epci_siren] = c.epci_name or c.epci_siren
    if library is not None:
        for d in library.documents():
            for code in d.meta.get("epci", []):
                found.setdefault(code, code)
    return [(ALL_EPCI, ""), *sorted(((n, s) for s, n in found.items()), key=lambda x: x[0])]


def commune_names(communes: dict[str, Any]) -> dict[str, str]:
    return {code: c.name for code, c in communes.items()}


def account_commune(visitor: Any, choices: list[tuple[str, str]]) -> str:
    """The commune an élu's account is for (INSEE code) when the selector offers it, else ""."""
    role = getattr(visitor, "role", None)
    code = getattr(role, "commune", None) or ""
    return code if code and code in {value for _, value in choices} else ""


def filters_for_commune(insee: str | None, communes: dict[str, Any]) -> tuple[Filters | None, str]:
    """The one place mapping the commune selector to filters and a scope phrase.

    A commune keeps its own documents plus the general programme texts, which is what a
    question asked "for Modane" needs.
    """
    if not insee:
        return None, ""
    commune = communes.get(insee)
    name = commune.name if commune is not None else insee
    return Filters(communes=[insee], include_general=True), f"commune : {name}"


# -- search -----------------------------------------------------------------------------


def _year(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        year = int(float(value))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"année invalide : {value!r}") from exc
    return year if year > 0 else None


def year_choices(first: int = 2018) -> list[tuple[str, str]]:
    """Years offered by the search filters ("" = no bound): the programme started in 2020."""
    last = dt.date.today().year + 1
    return [("Toutes", ""), *((str(y), str(y)) for y in range(first, last + 1))]


def search_filters(
    commune: str | None = None,
    epci: str | None = None,
    doc_types: list[str] | None = None,
    year_from: Any = None,
    year_to: Any = None,
) -> Filters:
    """Filters of the Rechercher tab (a ConfigError in French when the years are reversed)."""
    y_min, y_max = _year(year_from), _year(year_to)
    if y_min is not None and y_max is not None and y_min > y_max:
        raise ConfigError(f"période vide : de {y_min} à {y_max}")
    return Filters(
        communes=[commune] if commune else [],
        epci=[epci] if epci else [],
        doc_types=list(doc_types or []),
        year_min=y_min,
        year_max=y_max,
    )


def search_rows(hits: list[Hit], query: str = "") -> list[dict[str, Any]]:
    """One flat row per hit: what the results and the CSV export show."""
    rows = []
    for rank, hit in enumerate(hits, 1):
        meta = hit.metadata
        doc_id = str(meta.get("doc_id", ""))
        passage = " ".join(hit.text.split())
        rows.append(
            {
                "rank": rank,
                "doc_id": doc_id,
                "title": str(meta.get("title", "")) or hit.source,
                "source": hit.source,
                "type": str(meta.get("doc_type", "autre")),
                "page": hit.page,
                "score": round(hit.score, 4),
                "communes": str(meta.get("communes", "")),
                "epci": str(meta.get("epci", "")),
                "date": str(meta.get("date", "") or ""),
                "exemple": bool(meta.get("exemple", False)),
                "url": document_url(doc_id, hit.page, _best_sentence(passage, query))
                if doc_id else "",
                "passage": passage,
                "relevant": coverage(query, f"{meta.get('title', '')} {passage}")
                >= RELEVANT_COVERAGE if query else True,
                "more": 0,
            }
        )
    return rows


def coverage(query: str, text: str) -> float:
    """Share of the query's content words (stemmed, accents folded) found in ``text``."""
    from assistant.indexing.lexical import analyze

    wanted = set(analyze(query))
    if not wanted:
        return 1.0
    return len(wanted & set(analyze(text))) / len(wanted)


def _best_sentence(passage: str, query: str) -> str:
    """The sentence of ``passage`` sharing most words with the query: what the viewer marks."""
    sentences = [s.strip() for s in re.split(r"(?<=[.!?;:])\s+", passage) if s.strip()]
    if not sentences:
        return passage[:200]
    if not query:
        return sentences[0][:300]
    return max(sentences, key=lambda s: coverage(query, s))[:300]


@dataclass
class SearchResult:
    """Search results grouped by document: one best passage each, in rank order."""

    query: str
    rows: list[dict[str, Any]]

    @property
    def relevant(self) -> bool:
        return any(r["relevant"] for r in self.rows)


def group_by_document(rows: list[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    """The best passage of each document (rows come best first), at most ``k`` documents;
    ``more`` counts the other passages of that document that matched."""
    best: dict[str, dict[str, Any]] = {}
    for r in rows:
        key = r["doc_id"] or r["source"]
        if key in best:
            best[key]["more"] += 1
        elif len(best) < k:
            best[key] = dict(r)
    out = list(best.values())
    for rank, r in enumerate(out, 1):
        r["rank"] = rank
    return out


def grouped_search(settings: Settings, query: str, filters: Filters | None, k: int,
                   role: Role | None) -> SearchResult:
    """Search, then keep one passage per document (k documents at most)."""
    from assistant import service

    hits = service.search(settings, query, filters=filters, k=k * CANDIDATES_PER_RESULT,
                          role=role)
    return SearchResult(query, group_by_document(search_rows(hits, query), k))


def _filter_phrase(commune: str, epci: str, names: dict[str, str],
                   epci_names: dict[str, str]) -> str:
    where = [names.get(commune, commune) if commune else "",
             epci_names.get(epci, epci) if epci else ""]
    return " / ".join(w for w in where if w)


TYPE_PLURALS = {"programme": "texte du programme", "convention": "convention", "etude": "étude",
                "suivi": "fiche de suivi", "glossaire": "glossaire", "autre": "document"}


def empty_notice(found: SearchResult, commune: str, epci: str, types: list[str] | None,
                 names: dict[str, str], epci_names: dict[str, str] | None = None) -> str:
    """«Aucune étude de ce type pour …» when the filters leave nothing about the query."""
    if found.relevant and found.rows:
        return ""
    kinds = " ni ".join(TYPE_PLURALS.get(t, t) for t in (types or [])) or "document"
    where = _filter_phrase(commune, epci, names, epci_names or {})
    scope = f" pour {where}" if where else ""
    text = f"Aucune {kinds} de ce type{scope} ne traite de « {found.query.strip()} »"
    if kinds == "document":
        text = f"Aucun document{scope} ne traite de « {found.query.strip()} »"
    if found.rows:
        text += " : les documents ci-dessous sont les plus proches, sans y répondre"
    return text + "."


def search_results_html(found: SearchResult | list[dict[str, Any]],
                        names: dict[str, str] | None = None, *, notice: str = "") -> str:
    """Result cards, one per document (cards read well on a phone, a table would not)."""
    rows = found.rows if isinstance(found, SearchResult) else found
    head = f'<p class="pvd-notice" role="note">{esc(notice)}</p>' if notice else ""
    if not rows:
        return head + '<p class="pvd-empty">Aucun passage trouvé avec ces critères.</p>'
    names = names or {}
    count = f"{len(rows)} document{'s' if len(rows) > 1 else ''}"
    out = [f'{head}<p class="pvd-count">{count}, le meilleur passage de chacun</p>'
           '<div class="pvd-results">']
    for r in rows:
        communes = ", ".join(names.get(c, c) for c in r["communes"].split(",") if c) or "Général"
        page = f"p. {r['page']}" if r["page"] is not None else ""
        meta = " · ".join(esc(x) for x in (type_label(r["type"]), communes, r.get("date", ""),
                                           page) if x)
        badge = f" {EXEMPLE_BADGE}" if r["exemple"] else ""
        passage = r["passage"]
        short = passage if len(passage) <= 600 else passage[:600] + "…"
        more = (f'<span class="pvd-more"> · {r["more"]} autre{"s" if r["more"] > 1 else ""} '
                f'passage{"s" if r["more"] > 1 else ""} dans ce document</span>'
                if r.get("more") else "")
        out.append(
            f'<div class="pvd-result"><div class="pvd-card-head"><span class="pvd-num">'
            f"{r['rank']}.</span> <strong>{esc(r['title'])}</strong>{badge}</div>"
            f'<div class="pvd-card-meta">{meta}{more}</div>'
            f'<blockquote class="pvd-passage">{esc(short)}</blockquote>'
            f'<a class="pvd-open" href="{esc(r["url"])}" target="_blank" rel="noopener">'
            f"{esc(open_label(r['page']))}</a></div>"
        )
    out.append("</div>")
    return "".join(out)


def csv_rows(rows: list[dict[str, Any]], names: dict[str, str],
             epci_names: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Rows for the CSV: commune and EPCI names and type labels instead of codes."""
    epci_names = epci_names or {}
    out = []
    for r in rows:
        out.append({
            **r,
            "type": type_label(r["type"]),
            "communes": ", ".join(names.get(c, c) for c in r["communes"].split(",") if c)
            or "Général",
            "epci": ", ".join(epci_names.get(e, e) for e in r.get("epci", "").split(",") if e),
        })
    return out


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def csv_cell(value: Any) -> Any:
    """A text cell Excel or LibreOffice will not run as a formula: one starting with
    = + - @ (or a tab / line break before one) gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def export_csv(rows_or_hits: list[Any], path: Path, base_url: str = "") -> Path:
    """Write search results as CSV (UTF-8 with BOM and ';' so that Excel in French opens it)."""
    rows = search_rows(rows_or_hits) if rows_or_hits and isinstance(rows_or_hits[0], Hit) else (
        rows_or_hits
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(CSV_HEADERS)
        for r in rows:
            writer.writerow([csv_cell(cell) for cell in (
                r["rank"], r["title"], r["source"], r["type"],
                "" if r["page"] is None else r["page"], r["communes"], r.get("epci", ""),
                r.get("date", ""), "oui" if r["exemple"] else "non",
                base_url.rstrip("/") + r["url"], r["passage"],
            )])
    return path


# -- documents --------------------------------------------------------------------------


def _fmt_ts(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%d/%m/%Y %H:%M")


def documents_table(library: Library, names: dict[str, str] | None = None) -> list[list[Any]]:
    """Rows of the Documents tab, in :data:`DOCUMENT_HEADERS` order."""
    names = names or {}
    rows = []
    for d in library.documents():
        m = d.meta
        communes = ", ".join(names.get(c, c) for c in m.get("communes", [])) or "Général"
        rows.append([
            m.get("title") or d.source, type_label(m.get("doc_type", "autre")), communes,
            m.get("date") or "", d.n_pages, d.n_chunks, _fmt_ts(d.indexed_at),
            "oui" if m.get("exemple") else "non",
            VISIBILITY_LABELS.get(str(m.get("visibility", "public")), "Public"), d.source,
        ])
    return rows


def _fr_date(value: str) -> str:
    """«2024-03-01» → «01/03/2024»; a year alone stays as it is."""
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", value or "")
    return f"{m.group(3)}/{m.group(2)}/{m.group(1)}" if m else (value or "")


def documents_table_html(
    library: Library,
    names: dict[str, str] | None = None,
    *,
    text: str = "",
    doc_type: str = "",
    commune: str = "",
    visibility: str = "",
) -> str:
    """The Documents tab's table (titre, type, communes, date, visibilité, pages, fichier),
    filtered; on a phone each row becomes a block (see style.css)."""
    names = names or {}
    wanted = fold_text(text)
    rows = []
    for d in library.documents():
        m = d.meta
        codes = list(m.get("communes", []))
        title = str(m.get("title") or d.source)
        vis = str(m.get("visibility") or "public")
        if doc_type and m.get("doc_type", "autre") != doc_type:
            continue
        if commune and commune not in codes:
            continue
        if visibility and vis != visibility:
            continue
        if wanted and wanted not in fold_text(f"{title} {d.source}"):
            continue
        all_names = ", ".join(names.get(c, c) for c in codes) or "Général"
        # A text about the whole department lists 14 names: a count reads better.
        communes = all_names if len(codes) <= 4 else f"{len(codes)} communes"
        badge = f" {EXEMPLE_BADGE}" if m.get("exemple") else ""
        is_pdf = d.source.lower().endswith(".pdf")
        url = document_url(d.doc_id, 1 if is_pdf else None)
        rows.append(
            f'<tr><td class="pvd-doc-title"><a href="{esc(url)}" target="_blank" '
            f'rel="noopener">{esc(title)}</a>{badge}</td>'
            f'<td data-label="Type">{esc(type_label(m.get("doc_type", "autre")))}</td>'
            f'<td data-label="Communes" title="{esc(all_names)}">{esc(communes)}</td>'
            f'<td data-label="Date">{esc(_fr_date(str(m.get("date") or "")) or "—")}</td>'
            f'<td data-label="Visibilité"><span class="pvd-vis pvd-vis-{esc(vis)}">'
            f"{esc(VISIBILITY_LABELS.get(vis, vis))}</span></td>"
            f'<td data-label="Pages">{d.n_pages}</td>'
            f'<td data-label="Fichier" class="pvd-small">{esc(d.source)}</td></tr>'
        )
    if not rows:
        return '<p class="pvd-empty">Aucun document ne correspond à ces filtres.</p>'
    head = "".join(f"<th>{h}</th>" for h in DOCUMENT_TABLE_HEADERS)
    count = f'<p class="pvd-count">{len(rows)} document{"s" if len(rows) > 1 else ""}</p>'
    return (f'{count}<table class="pvd-doc-table"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def fold_text(text: str) -> str:
    """Lower case without accents, for the title filter."""
    raw = unicodedata.normalize("NFD", (text or "").lower())
    return " ".join("".join(ch for ch in raw if not unicodedata.combining(ch)).split())


def document_choices(library: Library) -> list[tuple[str, str]]:
    return [
        (f"{d.meta.get('title') or d.source} — {d.source}", d.doc_id)
        for d in library.documents()
    ]


def find_document(index: Index, source: str) -> StoredDocument | None:
    """Any indexed document by source path, whatever its visibility (CLI, tests, admin)."""
    return find_in(index.catalog.documents(), source)


_FORBIDDEN = re.compile(r'[\x00-\x1f\x7f<>:"|?*\\/]')


def sanitize_filename(name: str) -> str:
    """A safe file name from an uploaded one: accents and spaces kept, no path, no '..'.

    Raises ConfigError (French) when nothing usable remains or the extension is refused.
    """
    raw = unicodedata.normalize("NFC", str(name))
    if PurePosixPath(raw).is_absolute() or PureWindowsPath(raw).is_absolute() or ".." in re.split(
        r"[\\/]", raw
    ):
        raise ConfigError(f"nom de fichier refusé (chemin) : {name!r}")
    base = PureWindowsPath(PurePosixPath(raw).name).name  # drop any folder part
    base = " ".join(_FORBIDDEN.sub("_", base).split()).lstrip(".").strip()
    if not base or base in (".", ".."):
        raise ConfigError(f"nom de fichier invalide : {name!r}")
    if len(base) > 150:  # keep the extension when shortening very long names
        suffix = PurePosixPath(base).suffix[:10]
        base = base[: 150 - len(suffix)] + suffix
    if PurePosixPath(base).suffix.lower() not in UPLOAD_SUFFIXES:
        raise ConfigError(
            f"« {base} » : format non accepté (formats acceptés : "
            f"{', '.join(s[1:].upper() for s in UPLOAD_SUFFIXES)})"
        )
    return base


@dataclass
class UploadResult:
    saved: list[Path] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def upload_dir(settings: Settings) -> Path:
    return settings.index_dir / "uploads"


def _upload_name(item: Any) -> tuple[Path, str]:
    """(temp path, original name) of what gr.File hands over: a path string or a file object."""
    path = Path(getattr(item, "name", None) or getattr(item, "path", None) or str(item))
    original = getattr(item, "orig_name", None) or path.name
    return path, str(original)


def save_upload(files: list[Any] | None, settings: Settings) -> UploadResult:
    """Validate uploaded files and copy them under ``index_dir/uploads``; one error per bad file."""
    result = UploadResult()
    target_dir = upload_dir(settings)
    limit = settings.max_file_mb
    for item in files or []:
        path, original = _upload_name(item)
        try:
            name = sanitize_filename(original)
            size_mb = path.stat().st_size / 1e6
            if size_mb > limit:
                raise ConfigError(
                    f"« {name} » : fichier trop volumineux ({size_mb:.1f} Mo, limite {limit:g} Mo)"
                )
            target_dir.mkdir(parents=True, exist_ok=True)
            target = target_dir / name
            shutil.copyfile(path, target)
            result.saved.append(target)
        except AssistantError as exc:
            result.errors.append(str(exc))
        except OSError as exc:
            result.errors.append(f"« {original} » : fichier illisible ({exc.strerror or exc})")
    return result


def remove_document(index: Index, doc_id: str) -> str:
    """Remove one document (and its uploaded copy); a French message saying what happened."""
    doc = index.catalog.document(doc_id) if doc_id else None
    if doc is None:
        raise ConfigError("choisissez d'abord un document à supprimer")
    title = doc.meta.get("title") or doc.source
    if not index.remove_document(doc_id):
        raise ConfigError(f"le document « {title} » n'est plus dans l'index")
    path = Path(doc.meta.get("path", ""))
    uploads = upload_dir(index.settings).resolve()
    # Only our own uploaded copies are deleted from disk; corpus files stay untouched.
    if path.is_file() and path.resolve().parent == uploads:
        from assistant.web.uploads import forget_upload_meta

        path.unlink()
        forget_upload_meta(uploads, [path.name])
    return f"Document « {title} » supprimé de l'index."
