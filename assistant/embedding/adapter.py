"""A linear query adapter: officials' words moved towards the passages that answer them.

e5-small places «la personne qui pilote notre revitalisation» far from «chef de projet».
A 384×384 matrix, fitted on the labelled questions of the training split (each with the
chunks holding its answer) and kept close to the identity, moves query vectors before the
dense search; chunk vectors are untouched, so no re-index is needed. Fitting is plain
numpy (a softmax over every chunk of the corpus, Adam), seconds on this corpus.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.errors import AssistantError

# The shipped corpus's, beside the code; another corpus's lives in its index folder. Both
# are fitted by ``scripts/fit_query_adapter.py``.
ADAPTER_NAME = "query_adapter.npz"
DEFAULT_PATH = Path(__file__).with_name("data") / ADAPTER_NAME
# The same kind of matrix, fitted on the sentences that answer (not the chunks): it ranks
# the sentences of the passages read (``answer.sentences.score``).
SENTENCE_ADAPTER_NAME = "sentence_adapter.npz"
SENTENCE_DEFAULT_PATH = Path(__file__).with_name("data") / SENTENCE_ADAPTER_NAME


@dataclass(frozen=True)
class QueryAdapter:
    """``matrix`` applied to a query vector, then renormalised; fitted for ``model_id`` on
    the documents whose sha256 are ``corpus`` (on another corpus it moves queries towards
    nothing: the CNIL FAQ lost 0.011 of span@5 with it, docs/benchmarks.md)."""

    matrix: np.ndarray
    model_id: str
    corpus: frozenset[str] = frozenset()

    def fits(self, present: int) -> bool:
        """Whether an index holding ``present`` of the fitted documents is that corpus
        (most of it: documents are added and edited)."""
        return not self.corpus or present * 2 >= len(self.corpus)

    def adapt(self, vector: np.ndarray) -> np.ndarray:
        moved = self.matrix @ np.asarray(vector, dtype=np.float32)
        norm = float(np.linalg.norm(moved))
        return moved / norm if norm > 0 else moved

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, matrix=self.matrix.astype(np.float32),
                            model_id=np.array(self.model_id),
                            corpus=np.array(sorted(self.corpus), dtype=str))


def load_adapter(path: Path, model_id: str) -> QueryAdapter | None:
    """The adapter at ``path`` when it was fitted for ``model_id``; ``None`` when there is
    none or it was fitted for another model (its matrix would mean nothing)."""
    if not path.exists():
        return None
    try:
        with np.load(path) as data:
            matrix = np.asarray(data["matrix"], dtype=np.float32)
            fitted_for = str(data["model_id"])
            corpus = frozenset(str(s) for s in data["corpus"]) if "corpus" in data else (
                frozenset())
    except (OSError, KeyError, ValueError) as exc:
        kind = "sentence" if path.name == SENTENCE_ADAPTER_NAME else "query"
        raise AssistantError(f"{kind} adapter {path} is unreadable ({exc}); refit it with "
                             f"scripts/fit_{kind}_adapter.py or set "
                             f"ASSISTANT_{kind.upper()}_ADAPTER=false") from exc
    if fitted_for != model_id:
        return None
    return QueryAdapter(matrix, fitted_for, corpus)


def fit_matrix(queries: np.ndarray, chunks: np.ndarray, positives: list[list[int]], *,
               shrink: float = 0.01, temperature: float = 0.02, steps: int = 150,
               learning_rate: float = 1e-3) -> np.ndarray:
    """The matrix W minimising the softmax loss of each query's positive chunks among all
    ``chunks`` (rows unit-normalised), plus ``shrink`` × ||W − I||²."""
    if len(queries) != len(positives):
        raise ValueError(f"{len(queries)} queries but {len(positives)} positive lists")
    if any(not p for p in positives):
        raise ValueError("every query needs at least one positive chunk")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    q = _unit(np.asarray(queries, dtype=np.float64))
    c = _unit(np.asarray(chunks, dtype=np.float64))
    n, dim = q.shape
    mask = np.zeros((n, len(c)), dtype=bool)
    for i, pos in enumerate(positives):
        mask[i, pos] = True
    eye = np.eye(dim)
    w = eye.copy()
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for step in range(1, steps + 1):
        moved = q @ w.T
        norms = np.linalg.norm(moved, axis=1, keepdims=True)
        u = moved / norms
        logits = u @ c.T / temperature
        p_all = _softmax(logits)
        p_pos = _softmax(np.where(mask, logits, -np.inf))
        d_logits = (p_all - p_pos) / (temperature * n)
        d_u = d_logits @ c
        # through the normalisation: (I − u uᵀ) / ||Wq||
        d_moved = (d_u - u * np.sum(d_u * u, axis=1, keepdims=True)) / norms
        grad = d_moved.T @ q + 2 * shrink * (w - eye)
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad**2
        w -= learning_rate * (m / (1 - beta1**step)) / (np.sqrt(v / (1 - beta2**step)) + eps)
    return w.astype(np.float32)


def _unit(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def _softmax(logits: np.ndarray) -> np.ndarray:
    top = np.max(logits, axis=1, keepdims=True)
    e = np.exp(logits - top)
    return e / e.sum(axis=1, keepdims=True)
