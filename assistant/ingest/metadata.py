"""Document metadata: the corpus manifest (``manifest.toml``) and inferred defaults."""

from __future__ import annotations

import datetime
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.errors import ConfigError
from assistant.types import DocType, DocumentMeta, LoadedDocument, Visibility

MANIFEST_NAME = "manifest.toml"

# Folder name (folded, singular or plural) → document type.
_FOLDER_TYPES: dict[str, DocType] = {
    "programme": "programme", "programmes": "programme",
    "convention": "convention", "conventions": "convention",
    "etude": "etude", "etudes": "etude", "études": "etude", "étude": "etude",
    "suivi": "suivi", "suivis": "suivi",
    "glossaire": "glossaire", "glossaires": "glossaire",
}
_INSEE_IN_TEXT = re.compile(r"\b(?:INSEE|code commune)\s*:?\s*(\d[\dAB]\d{3})\b", re.IGNORECASE)
_YEAR = re.compile(r"\b(20[12]\d)\b")


@dataclass
class Manifest:
    """Per-file metadata declared in a folder's manifest, keyed by relative POSIX path."""

    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)

    def get(self, source: str) -> dict[str, Any] | None:
        return self.entries.get(source)


class ManifestEntry(BaseModel):
    """One ``[[document]]`` of a manifest; keys beyond these are kept as extra metadata."""

    model_config = ConfigDict(extra="allow")

    file: str = Field(min_length=1)
    title: str | None = None
    type: DocType | None = None
    communes: list[str | int] | str | int | None = None  # INSEE codes
    epci: list[str | int] | str | int | None = None  # SIREN codes or names
    date: str | int | datetime.date | None = None
    exemple: bool | None = None
    visibility: Visibility | None = None


class ManifestFile(BaseModel):
    """A whole ``manifest.toml``: documents, and defaults applied to each of them."""

    model_config = ConfigDict(extra="allow")

    document: list[ManifestEntry] = Field(default_factory=list)
    defaults: dict[str, Any] = Field(default_factory=dict)


def _manifest_error(path: Path, data: dict[str, Any], exc: ValidationError) -> ConfigError:
    """The first problem, named by file and key, with the bad value."""
    err = exc.errors()[0]
    loc = list(err["loc"])
    where = ".".join(str(x) for x in loc)
    if loc[:1] == ["document"] and len(loc) >= 2 and isinstance(loc[1], int):
        raw = data.get("document", [])[loc[1]]
        file = raw.get("file") if isinstance(raw, dict) else None
        if len(loc) == 2 or loc[2] == "file":
            return ConfigError(f"manifest {path}: document #{loc[1] + 1} has no 'file'")
        where = f"{file}: {loc[2]}"  # the key; union branches in the rest say nothing
    return ConfigError(f"manifest {path}: {where}: {err['msg']}, got {err['input']!r}")


def read_manifest(root: Path) -> Manifest:
    """Read ``root/manifest.toml`` if present; a bad manifest is a clear error, not a crash."""
    path = root / MANIFEST_NAME
    if not path.is_file():
        return Manifest()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"manifest {path} is not valid TOML: {exc}") from exc
    try:
        parsed = ManifestFile.model_validate(data)
    except ValidationError as exc:
        raise _manifest_error(path, data, exc) from None
    # Entries keep the keys as written: their hash decides whether a file is re-indexed.
    entries = {
        str(PurePosixPath(e.file)): e.model_dump(exclude_unset=True) for e in parsed.document
    }
    return Manifest(entries=entries, defaults=parsed.defaults)


def infer_type(source: str) -> DocType:
    for part in PurePosixPath(source).parts[:-1]:
        found = _FOLDER_TYPES.get(part.lower())
        if found:
            return found
    name = PurePosixPath(source).stem.lower()
    for key, value in _FOLDER_TYPES.items():
        if name.startswith(key):
            return value
    return "autre"


def default_visibility(doc_type: str) -> Visibility:
    return "interne" if doc_type == "etude" else "public"


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (str, int)):
        return [str(value)]
    return [str(v) for v in value]


def _year_of(date: str | None) -> int | None:
    if not date:
        return None
    match = _YEAR.search(str(date))
    return int(match.group(1)) if match else None


def build_meta(
    source: str,
    loaded: LoadedDocument,
    manifest: Manifest,
    *,
    sha256: str,
    path: Path,
    visibility_override: str | None = None,
) -> DocumentMeta:
    """Merge manifest values over inferred defaults for one document."""
    entry = {**manifest.defaults, **(manifest.get(source) or {})}
    doc_type = entry.get("type") or infer_type(source)
    head = "\n".join(p.text for p in loaded.pages[:2])[:4000]
    communes = _as_list(entry.get("communes"))
    if not communes and "communes" not in entry:
        communes = sorted(set(_INSEE_IN_TEXT.findall(head)))
    date = entry.get("date")
    date = str(date) if date is not None else None
    if date is None:
        year = _YEAR.search(head)
        date = year.group(1) if year else None
    title = entry.get("title") or loaded.title or _title_from_name(source)
    # --visibility on the command line only covers files the manifest does not list.
    override = visibility_override if manifest.get(source) is None else None
    visibility = entry.get("visibility") or override or default_visibility(doc_type)
    known = {"file", "title", "type", "communes", "epci", "date", "exemple", "visibility"}
    return DocumentMeta(
        source=source,
        title=str(title),
        doc_type=doc_type,
        communes=communes,
        epci=_as_list(entry.get("epci")),
        date=date,
        year=_year_of(date),
        sha256=sha256,
        exemple=bool(entry.get("exemple", False)),
        visibility=str(visibility),
        path=str(path),
        extra={k: v for k, v in entry.items() if k not in known},
    )


def _title_from_name(source: str) -> str:
    stem = PurePosixPath(source).stem
    words = re.sub(r"[-_]+", " ", stem).strip()
    return words[:1].upper() + words[1:] if words else source
