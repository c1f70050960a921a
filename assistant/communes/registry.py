"""Registry of PVD communes: ANCT CSV import, JSON storage and tolerant name matching."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from assistant.communes.names import (
    LEVEL_NAMES,
    DepTable,
    NameIndex,
    Token,
    dep_at_end,
    dep_table,
    deps_in_words,
    normalize,
    tokenize,
)
from assistant.errors import AssistantError
from assistant.settings import Settings

MatchStatus = Literal["found", "ambiguous", "not_found"]

# Columns an ANCT-style file must have; the others (id_pvd, lib_reg, regroupement,
# date_signature, pop_insee_2021, territoire) are read when present.
REQUIRED_COLUMNS = ("insee_com", "lib_com", "insee_dep", "lib_dep", "siren_epci", "lib_epci", "pop")
_NULLS = frozenset({"", "na", "n/a", "nan", "null", "none", "-"})
_INSEE_RE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
REGISTRY_FORMAT = "assistant-pvd-communes"
REGISTRY_VERSION = 1


class RegistryError(AssistantError):
    """The commune registry file (CSV or JSON) cannot be read; the message says why."""


@dataclass
class Commune:
    """One commune of the registry (one row of the ANCT list, possibly enriched)."""

    insee: str
    name: str
    dep_code: str = ""
    dep_name: str = ""
    region: str = ""
    epci_siren: str | None = None
    epci_name: str | None = None
    population: int | None = None  # as in the ANCT list (2021)
    population_insee_2021: int | None = None  # population municipale, recensement 2021
    territoire: str | None = None  # slug of the programme territory, e.g. "modane-fourneaux"
    regroupement: str | None = None
    id_pvd: str | None = None
    date_signature: str | None = None

    @property
    def label(self) -> str:
        """ "Le Pont-de-Beauvoisin (73204, Savoie)" """
        return f"{self.name} ({self.insee}, {self.dep_name or self.dep_code})"

    @property
    def best_population(self) -> tuple[int | None, str]:
        """The most recent population known and where it comes from: INSEE 2021 when
        present, else the ANCT list; (None, "") when neither is known."""
        if self.population_insee_2021 is not None:
            return self.population_insee_2021, "INSEE 2021"
        if self.population is not None:
            return self.population, "liste ANCT 2021"
        return None, ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Commune:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class Match:
    """Result of a name lookup; ``candidates`` lists the ambiguous communes or suggestions."""

    status: MatchStatus
    commune: Commune | None = None
    candidates: list[Commune] = field(default_factory=list)
    query: str = ""
    method: str = ""  # "insee" | "exact" | "article" | "partial" | "fuzzy" | "" (not found)
    distance: int = 0
    start: int | None = None  # character span of the mention in a question (find_in_text)
    end: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # nested communes become dicts too


@dataclass
class MergeReport:
    """Counts of an import into the registry."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    total: int = 0
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return None if value.lower() in _NULLS else value


def _parse_int(value: str | None) -> int:
    """ "3 439", "3439", "3439.0" → 3439; raises ValueError otherwise."""
    text = re.sub(r"[\s\u00a0\u202f]", "", value or "")
    if re.fullmatch(r"\d+(\.0+)?", text):
        return int(text.split(".")[0])
    raise ValueError(value)


def _decode(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise RegistryError(f"Fichier introuvable : {path}") from None
    except OSError as exc:
        raise RegistryError(f"Lecture impossible de {path} : {exc}") from exc
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise RegistryError(f"{path} : encodage non reconnu (attendu UTF-8 ou Windows-1252).")


class Registry:
    """Communes by INSEE code, with lookups by EPCI, programme territory and name."""

    def __init__(self, communes: Iterable[Commune] = ()) -> None:
        self._by_insee: dict[str, Commune] = {}
        self._index: NameIndex | None = None
        self._deps: DepTable | None = None
        self.warnings: list[str] = []  # rows skipped or values ignored at import
        for commune in communes:
            self._put(commune)

    def _put(self, commune: Commune) -> None:
        self._by_insee[commune.insee] = commune
        self._index = None  # rebuilt lazily at the next name lookup
        self._deps = None

    def __len__(self) -> int:
        return len(self._by_insee)

    def __iter__(self) -> Iterator[Commune]:
        return iter(self.all())

    def __contains__(self, insee: object) -> bool:
        return insee in self._by_insee

    # ---- reading and writing -------------------------------------------------------------

    @classmethod
    def from_csv(cls, path: str | Path) -> Registry:
        """Read an ANCT-format CSV (, or ; separated, UTF-8 or Windows-1252).

        Rows with an invalid INSEE code (e.g. the test row "999999" of the ANCT file) are
        skipped and reported in ``warnings``; a missing required column is an error.
        A 4-digit INSEE code is zero-padded, as spreadsheets drop the leading zero.
        """
        path = Path(path)
        text = _decode(path)
        header = next((line for line in text.splitlines() if line.strip()), "")
        if not header:
            raise RegistryError(f"{path} : fichier vide.")
        delimiter = max((";", ",", "\t"), key=header.count)
        reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
        columns: dict[str, str] = {
            (name or "").strip().lstrip("\ufeff").lower(): name for name in reader.fieldnames or []
        }
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        if missing:
            found = ", ".join(c[:40] for c in list(columns)[:15]) or "aucune"
            raise RegistryError(
                f"{path} : colonnes manquantes : {', '.join(missing)} "
                f"(colonnes trouvées : {found} ; séparateur « {delimiter} »)."
            )
        registry = cls()
        rows = 0
        for row in reader:
            rows += 1
            get = {key: row.get(original) for key, original in columns.items()}
            commune = registry._row_to_commune(get, f"{path.name}, ligne {reader.line_num}")
            if commune is not None:
                registry._put(commune)
        if rows and not len(registry):
            raise RegistryError(
                f"{path} : aucune ligne valide ({'; '.join(registry.warnings[:3])})."
            )
        return registry

    def _row_to_commune(self, row: dict[str, str | None], where: str) -> Commune | None:
        insee = (_clean(row.get("insee_com")) or "").upper()
        if insee.isdigit() and len(insee) == 4:
            insee = insee.zfill(5)
        name = _clean(row.get("lib_com")) or ""
        if not _INSEE_RE.match(insee):
            self.warnings.append(
                f"{where} : code INSEE invalide « {insee} » ({name}), ligne ignorée."
            )
            return None
        if not name:
            self.warnings.append(f"{where} : nom de commune vide pour {insee}, ligne ignorée.")
            return None
        numbers: dict[str, int | None] = {}
        for column in ("pop", "pop_insee_2021"):
            value = _clean(row.get(column))
            try:
                numbers[column] = _parse_int(value) if value is not None else None
            except ValueError:
                self.warnings.append(
                    f"{where} : population invalide « {value} » pour {name}, ignorée."
                )
                numbers[column] = None
        siren = _clean(row.get("siren_epci"))
        if siren is not None:
            siren = re.sub(r"\s", "", siren)
            if not re.fullmatch(r"\d{9}", siren):
                self.warnings.append(
                    f"{where} : SIREN d'EPCI invalide « {siren} » pour {name}, ignoré."
                )
                siren = None
        dep = _clean(row.get("insee_dep")) or insee[:2]
        territoire = _clean(row.get("territoire"))
        return Commune(
            insee=insee,
            name=name,
            dep_code=dep.zfill(2) if dep.isdigit() else dep.upper(),
            dep_name=_clean(row.get("lib_dep")) or "",
            region=_clean(row.get("lib_reg")) or "",
            epci_siren=siren,
            epci_name=_clean(row.get("lib_epci")),
            population=numbers["pop"],
            population_insee_2021=numbers["pop_insee_2021"],
            territoire=territoire.lower() if territoire else None,
            regroupement=_clean(row.get("regroupement")),
            id_pvd=_clean(row.get("id_pvd")),
            date_signature=_clean(row.get("date_signature")),
        )

    def save(self, path: str | Path) -> None:
        """Write the registry as JSON (atomically: a reader never sees half a file)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "format": REGISTRY_FORMAT,
            "version": REGISTRY_VERSION,
            "communes": [c.to_dict() for c in self.all()],
        }
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | Path) -> Registry:
        """Read a registry written by :meth:`save`."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RegistryError(f"Registre introuvable : {path}") from None
        except (OSError, ValueError) as exc:
            raise RegistryError(f"Registre illisible {path} : {exc}") from exc
        if not isinstance(data, dict) or data.get("format") != REGISTRY_FORMAT:
            raise RegistryError(f"{path} n'est pas un registre de communes ({REGISTRY_FORMAT}).")
        if data.get("version") != REGISTRY_VERSION:
            raise RegistryError(f"{path} : version {data.get('version')!r} non prise en charge.")
        try:
            return cls(Commune.from_dict(item) for item in data.get("communes", []))
        except TypeError as exc:
            raise RegistryError(f"Registre {path} : entrée invalide ({exc}).") from exc

    def merge(self, other: Registry) -> MergeReport:
        """Add the communes of ``other`` and update known ones (by INSEE code).

        Empty values of ``other`` never erase known ones, so importing the ANCT list keeps
        the ``territoire`` and INSEE 2021 population of the Savoie registry.
        """
        report = MergeReport(skipped=len(other.warnings), warnings=list(other.warnings))
        for incoming in other.all():
            current = self._by_insee.get(incoming.insee)
            if current is None:
                self._put(replace(incoming))
                report.added += 1
                continue
            changes = {k: v for k, v in asdict(incoming).items() if v not in (None, "")}
            merged = replace(current, **changes)
            if merged != current:
                self._put(merged)
                report.updated += 1
            else:
                report.unchanged += 1
        report.total = len(self)
        return report

    # ---- lookups ---------------------------------------------------------------------------

    def all(self) -> list[Commune]:
        return sorted(self._by_insee.values(), key=lambda c: c.insee)

    def get(self, insee: str) -> Commune | None:
        code = str(insee).strip().upper()
        return self._by_insee.get(code.zfill(5) if code.isdigit() else code)

    def by_epci(self, siren: str) -> list[Commune]:
        siren = re.sub(r"\s", "", str(siren))
        return [c for c in self.all() if c.epci_siren == siren]

    def territory_members(self, commune: Commune) -> list[Commune]:
        """Communes sharing the programme of ``commune`` (itself included).

        Same ``territoire`` slug, plus communes with the same non-empty ``id_pvd`` (the ANCT
        list gives one id to the communes of a shared programme, e.g. Le Pont-de-Beauvoisin
        in Savoie and in Isère).
        """
        return [
            c
            for c in self.all()
            if c.insee == commune.insee
            or (commune.territoire and c.territoire == commune.territoire)
            or (commune.id_pvd and c.id_pvd == commune.id_pvd)
        ]

    def territory_codes(self, commune: Commune) -> set[str]:
        """INSEE codes of the communes sharing the programme of ``commune``, its own
        included even when the registry does not hold it."""
        return {c.insee for c in self.territory_members(commune)} | {commune.insee}

    def departments(self) -> dict[str, str]:
        """Department code → name, as found in the registry."""
        return {c.dep_code: c.dep_name for c in self.all() if c.dep_code}

    def _dep_table(self) -> DepTable:
        if self._deps is None:
            self._deps = dep_table(self.departments())
        return self._deps

    @property
    def index(self) -> NameIndex:
        if self._index is None:
            index = NameIndex()
            for commune in self._by_insee.values():
                index.add(commune.insee, commune.name)
            self._index = index
        return self._index

    def _resolve(self, ids: list[str], dep: str | None) -> list[Commune]:
        """Candidates narrowed to department ``dep`` when that leaves some."""
        # Communes of the local registry (those with a programme territory) come first.
        communes = sorted(
            (self._by_insee[i] for i in ids), key=lambda c: (c.territoire is None, c.insee)
        )
        if dep and len(communes) > 1:
            dep = self._dep_code(dep)
            kept = [c for c in communes if c.dep_code == dep]
            if kept:
                return kept
        return communes

    def _dep_code(self, dep: str) -> str:
        """ "73", "Savoie", "savoie" → "73" (unknown values are returned unchanged)."""
        wanted = normalize(dep).split()
        for dep_words, code in self._dep_table():
            if wanted == dep_words:
                return code
        return dep.strip().upper()

    def match(self, name: str, prefer_dep: str | None = None) -> Match:
        """Find the commune ``name`` designates (accents, case, "St", articles, typos).

        A department hint at the end of the name ("(Savoie)", "73", "en Isère") or
        ``prefer_dep`` settles homonyms such as Le Pont-de-Beauvoisin (73204 / 38315).
        """
        query = name.strip()
        if not query:
            raise ValueError("match() : nom de commune vide")
        by_code = self.get(query) if _INSEE_RE.match(query.upper().zfill(5)) else None
        if by_code is not None:
            return Match("found", by_code, [], query, "insee")
        words = [t.norm for t in tokenize(query)]
        hit = self.index.lookup(words)
        dep = prefer_dep
        hint, used = dep_at_end(words, self._dep_table())
        if hint and (hit is None or len(hit.ids) > 1):
            rest = words[:-used]
            while rest and rest[-1] in ("en", "dans", "de", "du", "la", "le", "l"):
                rest = rest[:-1]  # "… en Isère", "… dans l'Isère"
            rest_hit = self.index.lookup(rest) if rest else None
            if rest_hit is not None:
                hit, dep = rest_hit, hint
        if hit is None:
            suggestions = [self._by_insee[i] for i in self.index.suggestions(words)]
            return Match("not_found", None, suggestions, query)
        return self._to_match(hit.ids, dep, query, LEVEL_NAMES[hit.level], hit.distance)

    def _to_match(
        self,
        ids: list[str],
        dep: str | None,
        query: str,
        method: str,
        distance: int,
        start: int | None = None,
        end: int | None = None,
    ) -> Match:
        candidates = self._resolve(ids, dep)
        if len(candidates) == 1:
            return Match("found", candidates[0], [], query, method, distance, start, end)
        return Match("ambiguous", None, candidates, query, method, distance, start, end)

    def find_in_text(self, question: str, prefer_dep: str | None = None) -> list[Match]:
        """Communes named in a free question, in order of appearance (one Match per mention).

        Matches whole normalised word sequences only (longest first), so "Ahun" is never
        found inside another word; names that are everyday words ("Fourneaux", "Les
        Échelles", "Rue") need a capital letter or "commune de" before them.
        """
        tokens = tokenize(question)
        out: list[Match] = []
        seen: set[tuple[str, ...]] = set()
        for hit in self.index.scan(question):
            start, end = tokens[hit.start].start, tokens[hit.end - 1].end
            dep = self._dep_in_text(question, tokens, hit.ids, (hit.start, hit.end)) or prefer_dep
            match = self._to_match(
                hit.ids, dep, question[start:end], LEVEL_NAMES[hit.level], hit.distance, start, end
            )
            key = tuple(c.insee for c in ([match.commune] if match.commune else match.candidates))
            if key not in seen:
                seen.add(key)
                out.append(match)
        return out

    def _dep_in_text(
        self, text: str, tokens: list[Token], ids: list[str], span: tuple[int, int]
    ) -> str | None:
        """The department of one of the homonyms ``ids`` named elsewhere in the question."""
        if len(ids) < 2:
            return None
        wanted = {self._by_insee[i].dep_code for i in ids}
        named = deps_in_words([t.norm for t in tokens], self._dep_table(), span)
        for code in [*named, *sorted(wanted)]:
            # A bare number is more likely an amount: codes count only as "(73)".
            if code in wanted and (
                code in named or re.search(rf"\(\s*{re.escape(code)}\s*\)", text)
            ):
                return code
        return None


_LOADED: dict[Path, tuple[tuple[int, int], Registry]] = {}
_LOADED_LOCK = threading.Lock()


def _read_cached(path: Path, read: Callable[[Path], Registry]) -> Registry:
    """``read(path)`` once per process and file version (change time and size): the name
    index of a national list takes about 190 ms to build, a lookup in it well under 1 ms."""
    stat = path.stat()
    version = (stat.st_mtime_ns, stat.st_size)
    key = path.resolve()
    with _LOADED_LOCK:
        cached = _LOADED.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    registry = read(path)
    with _LOADED_LOCK:
        _LOADED[key] = (version, registry)
    return registry


def load_registry(settings: Settings) -> Registry:
    """The saved registry, else the corpus CSV ``registre/communes-pvd-savoie.csv``, else empty.

    Shared by the whole process until its file changes: callers must not modify it (merge
    into ``Registry(load_registry(settings))`` instead).
    """
    if settings.registry_path.exists():
        return _read_cached(settings.registry_path, Registry.load)
    csv_path = settings.corpus_dir / "registre" / "communes-pvd-savoie.csv"
    if csv_path.exists():
        return _read_cached(csv_path, Registry.from_csv)
    return Registry()
