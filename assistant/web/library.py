"""The documents one role may see: the single listing every web view reads."""

from __future__ import annotations

from pathlib import PurePosixPath

from assistant.indexing.catalog import StoredDocument
from assistant.indexing.index import Index
from assistant.search.access import Role
from assistant.types import Page


def find_in(docs: list[StoredDocument], source: str) -> StoredDocument | None:
    """The document whose source path is ``source`` (or ends with it, or is the same
    document in another format: pvd-etapes.md for pvd-etapes.pdf)."""
    for d in docs:
        if d.source == source:
            return d
    for d in docs:
        if d.source.endswith("/" + source) or PurePosixPath(d.source).name == source:
            return d
    stem = PurePosixPath(source).with_suffix("").as_posix()
    for d in docs:
        if PurePosixPath(d.source).with_suffix("").as_posix() in (stem, stem.split("/")[-1]):
            return d
    return None


class Library:
    """The indexed documents ``role`` may see. Views (Documents, Découvrir, downloads,
    commune choices) go through it, never through the catalog, so none can show more."""

    def __init__(self, index: Index, role: Role) -> None:
        self.index = index
        self.role = role
        self._docs: list[StoredDocument] | None = None

    def documents(self) -> list[StoredDocument]:
        if self._docs is None:
            self._docs = [d for d in self.index.catalog.documents() if self.role.allows(d.meta)]
        return self._docs

    def get(self, doc_id: str) -> StoredDocument | None:
        """The document, or None when it is unknown or not visible (the same answer)."""
        doc = self.index.catalog.document(doc_id) if doc_id else None
        return doc if doc is not None and self.role.allows(doc.meta) else None

    def find(self, source: str) -> StoredDocument | None:
        return find_in(self.documents(), source)

    def pages(self, doc_id: str) -> list[Page]:
        return self.index.catalog.pages(doc_id) if self.get(doc_id) is not None else []
