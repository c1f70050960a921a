"""Web uploads: which files a request may name, the metadata chosen at upload, retention."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from assistant.errors import AccessError, ConfigError
from assistant.ingest.metadata import MANIFEST_NAME, read_manifest
from assistant.settings import Settings
from assistant.types import DOC_TYPES, VISIBILITIES

EXPORT_PREFIX = "pvd-export-"
UPLOAD_VISIBILITY = "interne"  # an upload is internal until its uploader says otherwise
_SHA_DIR = re.compile(r"^[0-9a-f]{40,64}$")
_MANIFEST_LOCK = threading.Lock()


def gradio_upload_dir() -> Path:
    """Where Gradio writes the files sent to /gradio_api/upload (its own rule, without
    importing Gradio): GRADIO_TEMP_DIR, else <temp>/gradio."""
    return Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio"
                ).resolve()


def checked_upload_path(raw: str) -> Path:
    """``raw`` resolved, when it is a regular file inside Gradio's upload folder; else an
    AccessError (French). Nothing is opened or copied before this check."""
    if not isinstance(raw, str) or not raw or "://" in raw or "\x00" in raw:
        raise AccessError(f"fichier refusé : {str(raw)[:200]!r} n'a pas été envoyé au serveur")
    path = Path(raw)
    folder = gradio_upload_dir()
    try:
        resolved = path.resolve(strict=True) if path.is_absolute() else None
    except (OSError, RuntimeError):
        resolved = None
    if resolved is None or not resolved.is_relative_to(folder) or not resolved.is_file():
        raise AccessError(f"fichier refusé : {raw[:200]!r} n'a pas été envoyé au serveur")
    return resolved


def file_paths(data: Any) -> Iterator[str]:
    """Every ``path`` of a file object (Gradio FileData, with or without ``meta``) in ``data``."""
    if isinstance(data, dict):
        if isinstance(data.get("path"), str):
            yield data["path"]
        for value in data.values():
            yield from file_paths(value)
    elif isinstance(data, list):
        for value in data:
            yield from file_paths(value)


# -- metadata chosen at upload time -----------------------------------------------------


def _toml_str(value: str) -> str:
    # A JSON string is a valid TOML basic string (same escapes).
    return json.dumps(value, ensure_ascii=False)


def record_upload_meta(folder: Path, name: str, *, visibility: str, communes: list[str],
                       doc_type: str | None) -> None:
    """Write the choices made at upload into ``folder/manifest.toml`` (the ingest reads
    them like any corpus manifest; a changed choice re-indexes the file)."""
    if visibility not in VISIBILITIES:
        raise ConfigError(f"visibilité inconnue : {visibility!r} ({', '.join(VISIBILITIES)})")
    if doc_type and doc_type not in DOC_TYPES:
        raise ConfigError(f"type de document inconnu : {doc_type!r}")
    for code in communes:
        if not re.fullmatch(r"\d[\dAB]\d{3}", code):
            raise ConfigError(f"code INSEE invalide : {code!r}")
    with _MANIFEST_LOCK:
        entries = read_manifest(folder).entries
        entry: dict[str, Any] = {"file": name, "visibility": visibility, "communes": communes}
        if doc_type:
            entry["type"] = doc_type
        entries[name] = entry
        lines = ["# Choix faits à l'envoi des fichiers (onglet Documents).", ""]
        for item in entries.values():
            lines.append("[[document]]")
            for key, value in item.items():
                if isinstance(value, list):
                    text = "[" + ", ".join(_toml_str(str(v)) for v in value) + "]"
                elif isinstance(value, bool):
                    text = "true" if value else "false"
                else:
                    text = _toml_str(str(value))
                lines.append(f"{key} = {text}")
            lines.append("")
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{MANIFEST_NAME}.tmp"
        tmp.write_text("\n".join(lines), encoding="utf-8")
        os.replace(tmp, folder / MANIFEST_NAME)


def forget_upload_meta(folder: Path, names: list[str]) -> None:
    """Drop the manifest entries of files that are no longer kept."""
    path = folder / MANIFEST_NAME
    if not path.is_file():
        return
    with _MANIFEST_LOCK:
        text = path.read_text(encoding="utf-8")
        blocks = text.split("[[document]]")
        kept = [b for b in blocks[1:]
                if not any(f"file = {_toml_str(n)}" in b for n in names)]
        path.write_text("[[document]]".join([blocks[0], *kept]), encoding="utf-8")


# -- retention --------------------------------------------------------------------------


def discard(paths: list[Path]) -> None:
    """Delete files (temporary copies, failed uploads); missing ones are fine."""
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def purge_expired(settings: Settings, *, now: float | None = None) -> int:
    """Delete Gradio upload/cache folders and CSV export folders older than the retention;
    returns how many folders went. Only folders with Gradio's hash names or our export
    prefix are touched."""
    limit = (time.time() if now is None else now) - settings.upload_retention_hours * 3600
    removed = 0
    candidates: list[Path] = []
    upload_root = gradio_upload_dir()
    if upload_root.is_dir():
        candidates += [p for p in upload_root.iterdir() if _SHA_DIR.match(p.name)]
    temp = Path(tempfile.gettempdir())
    candidates += [p for p in temp.glob(EXPORT_PREFIX + "*")]
    for folder in candidates:
        try:
            if folder.is_dir() and not folder.is_symlink() and folder.stat().st_mtime < limit:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        except OSError:
            continue
    return removed


def purge_orphans(settings: Settings, known_paths: set[str], *,
                  now: float | None = None) -> list[str]:
    """Files of index/uploads that no indexed document points to (failed uploads), older
    than the retention: deleted with their manifest entries; their names returned."""
    folder = settings.index_dir / "uploads"
    if not folder.is_dir():
        return []
    limit = (time.time() if now is None else now) - settings.upload_retention_hours * 3600
    gone = []
    for path in folder.iterdir():
        if (path.is_file() and path.name != MANIFEST_NAME and not path.name.startswith(".")
                and str(path) not in known_paths and str(path.resolve()) not in known_paths
                and path.stat().st_mtime < limit):
            path.unlink()
            gone.append(path.name)
    if gone:
        forget_upload_meta(folder, gone)
    return gone


# -- the «Indexer les fichiers» action ----------------------------------------------------

VISIBILITY_CHOICES = [
    ("Interne (personnel d'Agate)", "interne"),
    ("Commune (élus de la commune choisie)", "commune"),
    ("Public (tout le monde)", "public"),
]


def process_upload(settings: Settings, files: list[Any] | None, *, visibility: str,
                   commune: str = "", doc_type: str = "", progress: Any = None) -> list[str]:
    """Check, keep and index uploaded files with the visibility, commune and type chosen;
    one French line per file. The caller has checked the role already.

    Each file must be one Gradio received through /gradio_api/upload (nothing else is
    opened); its temporary copy is deleted once kept, and a file whose indexing fails is
    deleted too."""
    from assistant import service
    from assistant.web.tabs import save_upload, upload_dir

    items = list(files or [])
    if not items:
        raise ConfigError("choisissez d'abord un ou plusieurs fichiers")
    if len(items) > settings.max_upload_files:
        raise ConfigError(f"trop de fichiers : {len(items)} (limite "
                          f"{settings.max_upload_files} par envoi, réglage "
                          "ASSISTANT_MAX_UPLOAD_FILES)")
    visibility = visibility or UPLOAD_VISIBILITY
    if visibility not in VISIBILITIES:
        raise ConfigError(f"visibilité inconnue : {visibility!r} ({', '.join(VISIBILITIES)})")
    if doc_type and doc_type not in DOC_TYPES:
        raise ConfigError(f"type de document inconnu : {doc_type!r}")
    if visibility == "commune" and not commune:
        raise ConfigError("la visibilité « commune » demande de choisir la commune")
    communes = [commune] if commune else []
    index = service.open_index(settings)
    purge_expired(settings)
    purge_orphans(settings, {str(d.meta.get("path", "")) for d in index.catalog.documents()})
    lines: list[str] = []
    accepted: list[Any] = []
    for item in items:
        raw = getattr(item, "path", None) or getattr(item, "name", None) or item
        try:
            checked_upload_path(str(raw))
        except AccessError as exc:
            lines.append(f"✗ Échec : {exc}")
            continue
        accepted.append(item)
    saved = save_upload(accepted, settings)
    discard([Path(str(getattr(i, "path", None) or getattr(i, "name", None) or i))
             for i in accepted])  # the kept copies are in index/uploads now
    lines += [f"✗ Échec : {e}" for e in saved.errors]
    folder = upload_dir(settings)
    for path in saved.saved:
        record_upload_meta(folder, path.name, visibility=visibility, communes=communes,
                           doc_type=doc_type or None)
    if saved.saved:
        report = service.ingest(settings, saved.saved, progress=progress)
        failed = {f.source for f in report.failed}
        lines += [f"✗ Échec : « {f.source} » : {f.error}" for f in report.failed]
        gone = [p for p in saved.saved if p.name in failed]
        discard(gone)
        forget_upload_meta(folder, [p.name for p in gone])
        label = dict((v, k) for k, v in VISIBILITY_CHOICES)[visibility].split(" (")[0].lower()
        lines += [f"✓ « {p.name} » indexé (visibilité : {label})." for p in saved.saved
                  if p.name not in failed]
    return lines
