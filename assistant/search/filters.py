"""Metadata filters, applied the same way to Chroma (``where``) and to the lexical index.

Both read the flat chunk metadata of :func:`assistant.indexing.store.chunk_metadata`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from assistant.errors import ConfigError
from assistant.search.access import Role
from assistant.types import DOC_TYPES


@dataclass
class Filters:
    """What a query may return. Empty lists mean "no constraint".

    ``communes`` / ``epci`` keep documents about one of them; with ``include_general``
    documents about no commune at all (programme texts) are kept as well, which is
    what a question "for Modane" wants: Modane's documents plus the general rules.
    """

    communes: list[str] = field(default_factory=list)
    epci: list[str] = field(default_factory=list)
    doc_types: list[str] = field(default_factory=list)
    year_min: int | None = None
    year_max: int | None = None
    visibilities: list[str] | None = None
    include_general: bool = False
    role: Role | None = None  # None: no access restriction (internal callers)

    def __post_init__(self) -> None:
        for t in self.doc_types:
            if t not in DOC_TYPES:
                raise ConfigError(f"type must be one of {', '.join(DOC_TYPES)}, got {t!r}")
        if self.year_min is not None and self.year_max is not None:
            if self.year_min > self.year_max:
                raise ConfigError(
                    f"year range is empty: from {self.year_min} to {self.year_max}"
                )

    def is_empty(self) -> bool:
        return not (
            self.communes or self.epci or self.doc_types or self.year_min is not None
            or self.year_max is not None or self.visibilities is not None
            or (self.role is not None and not self.role.sees_everything)
        )

    def to_chroma(self) -> dict[str, Any] | None:
        clauses: list[dict[str, Any]] = []
        about = [{f"c_{c}": True} for c in self.communes] + [{f"e_{e}": True} for e in self.epci]
        if about:
            if self.include_general:
                about.append({"general": True})
            clauses.append(about[0] if len(about) == 1 else {"$or": about})
        if self.doc_types:
            clauses.append({"doc_type": {"$in": list(self.doc_types)}})
        if self.year_min is not None:
            clauses.append({"year": {"$gte": self.year_min}})
        if self.year_max is not None:
            if self.year_min is None:  # -1 stands for "unknown": no range keeps it (matches())
                clauses.append({"year": {"$gte": 0}})
            clauses.append({"year": {"$lte": self.year_max}})
        if self.visibilities is not None:
            clauses.append({"visibility": {"$in": list(self.visibilities) or ["-"]}})
        role_clause = self.role.chroma_clause() if self.role is not None else None
        if role_clause is not None:
            clauses.append(role_clause)
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def matches(self, meta: dict[str, Any]) -> bool:
        if self.communes or self.epci:
            about = any(meta.get(f"c_{c}") for c in self.communes) or any(
                meta.get(f"e_{e}") for e in self.epci
            )
            if not about and not (self.include_general and meta.get("general")):
                return False
        if self.doc_types and meta.get("doc_type") not in self.doc_types:
            return False
        year = meta.get("year", -1)
        if self.year_min is not None and (year is None or year < self.year_min):
            return False
        if self.year_max is not None and (year is None or year < 0 or year > self.year_max):
            return False
        if self.visibilities is not None and meta.get("visibility") not in self.visibilities:
            return False
        return self.role is None or self.role.allows(meta)
