"""Roles and document visibility: who may see which passages and files."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from assistant.errors import ConfigError


@dataclass(frozen=True)
class Role:
    """``public`` sees public documents; ``elu`` of a commune also sees the documents
    marked ``commune`` that are about it; ``agate`` and ``admin`` see everything."""

    name: str
    commune: str | None = None  # INSEE code, for elu

    @classmethod
    def parse(cls, text: str) -> Role:
        value = (text or "").strip().lower()
        if value in ("public", "agate", "admin"):
            return cls(value)
        match = re.fullmatch(r"elu:(\d[\dab]\d{3})", value)
        if match:
            return cls("elu", match.group(1).upper())
        raise ConfigError(
            f"role must be public, elu:INSEE, agate or admin, got {text!r}"
        )

    @property
    def sees_everything(self) -> bool:
        return self.name in ("agate", "admin")

    @property
    def can_manage_documents(self) -> bool:
        return self.name in ("agate", "admin")

    def __str__(self) -> str:
        return f"elu:{self.commune}" if self.name == "elu" else self.name

    def allows(self, meta: dict[str, Any]) -> bool:
        """Chunk or document metadata (flat chunk metadata or DocumentMeta dict)."""
        if self.sees_everything:
            return True
        visibility = meta.get("visibility", "public")
        if visibility == "public":
            return True
        if visibility == "commune" and self.name == "elu" and self.commune:
            if meta.get(f"c_{self.commune}"):
                return True
            return self.commune in (meta.get("communes") or [])
        return False

    def chroma_clause(self) -> dict[str, Any] | None:
        if self.sees_everything:
            return None
        if self.name == "elu" and self.commune:
            return {"$or": [
                {"visibility": "public"},
                {"$and": [{"visibility": "commune"}, {f"c_{self.commune}": True}]},
            ]}
        return {"visibility": "public"}
