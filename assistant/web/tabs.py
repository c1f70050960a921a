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
VISIBILITY_LABELS = {"public": "Public", "commune": "Commune", "interne": "Interne"}
CSV_HEADERS = ["rang", "document", "fichier", "type", "page", "score", "communes", "exemple",
               "lien", "passage"]


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


def search_rows(hits: list[Hit]) -> list[dict[str, Any]]:
    """One flat row per hit: what the results table and the CSV export show."""
    rows = []
    for rank, hit in enumerate(hits, 1):
        meta = hit.metadata
        doc_id = str(meta.get("doc_id", ""))
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
                "exemple": bool(meta.get("exemple", False)),
                "url": document_url(doc_id, hit.page, hit.text[:200]) if doc_id else "",
                "passage": " ".join(hit.text.split()),
            }
        )
    return rows


def search_results_html(rows: list[dict[str, Any]], names: dict[str, str] | None = None) -> str:
    """Result cards (a table on wide screens is hard to read on a phone; cards work on both)."""
    if not rows:
        return '<p class="pvd-empty">Aucun passage trouvé avec ces critères.</p>'
    names = names or {}
    out = [f'<p class="pvd-count">{len(rows)} passage(s) trouvé(s)</p><div class="pvd-results">']
    for r in rows:
        communes = ", ".join(names.get(c, c) for c in r["communes"].split(",") if c) or "Général"
        page = f"p. {r['page']}" if r["page"] is not None else "—"
        badge = f" {EXEMPLE_BADGE}" if r["exemple"] else ""
        passage = r["passage"]
        short = passage if len(passage) <= 600 else passage[:600] + "…"
        out.append(
            f'<div class="pvd-result"><div class="pvd-card-head"><span class="pvd-num">'
            f"{r['rank']}.</span> <strong>{esc(r['title'])}</strong>{badge}</div>"
            f'<div class="pvd-card-meta">{esc(type_label(r["type"]))} · {esc(communes)} · '
            f"{esc(page)} · score {r['score']:.4f}</div>"
            f'<blockquote class="pvd-passage">{esc(short)}</blockquote>'
            f'<a class="pvd-open" href="{esc(r["url"])}" target="_blank" rel="noopener">'
            f"{esc(open_label(r['page']))}</a></div>"
        )
    out.append("</div>")
    return "".join(out)


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
                "" if r["page"] is None else r["page"], f"{r['score']:.4f}", r["communes"],
                "oui" if r["exemple"] else "non", base_url.rstrip("/") + r["url"], r["passage"],
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
