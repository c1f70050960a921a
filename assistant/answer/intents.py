"""What kind of question: a classifier over the query vector, learned from labelled phrasings."""

from __future__ import annotations

import hashlib
import itertools
import re
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.embedding.embedders import Embedder
from assistant.errors import ConfigError
from assistant.indexing.lexical import fold
from assistant.jsonl import jsonl_rows
from assistant.search.question import TABLE_FILES, expand_question

# The kinds of question the assistant handles differently.
INTENTS: tuple[str, ...] = (
    "programme",  # a definition or a rule of the programme
    "status",  # where a commune's project stands
    "eligibility",  # can a commune enter the programme
    "funding",  # money: schemes, rates, amounts, eligible expenses
    "studies",  # studies of a commune, a theme, a year
    "contact",  # whom to call, a person, an address
    "follow_up",  # an elliptic turn that only makes sense after the previous one
    "out_of_scope",  # not about the programme or its documents
)
INTENTS_FILE = Path(__file__).resolve().parent / "data" / "intents.jsonl"
# The classifier is trained on these splits only; "test" is never seen.
TRAIN_SPLITS = ("train",)

_HASH_DIM = 4096
# Weight of the surface block against the (unit) query vector, chosen on the dev split.
SURFACE_WEIGHT = 0.35
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Example:
    id: str
    text: str
    intent: str
    split: str


@dataclass(frozen=True)
class Prediction:
    """The most likely intent, its probability, and every intent's probability."""

    intent: str
    confidence: float
    probabilities: dict[str, float]


def read_examples(path: Path = INTENTS_FILE) -> list[Example]:
    """The labelled phrasings, with a clear error on a bad line or label."""
    out = []
    for lineno, item in jsonl_rows(path, "intent examples"):
        try:
            example = Example(str(item["id"]), str(item["text"]), str(item["intent"]),
                              str(item.get("split", "train")))
        except KeyError as exc:
            raise ConfigError(f"{path}:{lineno}: not an intent example (no {exc})") from exc
        if example.intent not in INTENTS:
            raise ConfigError(f"{path}:{lineno}: unknown intent {example.intent!r} "
                              f"(expected one of {', '.join(INTENTS)})")
        out.append(example)
    return out


def _bucket(feature: str) -> int:
    return zlib.crc32(feature.encode()) % _HASH_DIM


def surface_features(text: str) -> np.ndarray:
    """Hashed words, word pairs and character 4-grams of the folded text.

    They carry what a sentence embedding blurs: «et pour Ugine ?» is short and starts
    with «et», «c koi» is a definition, «tel» asks for a phone number.
    """
    folded = fold(text)
    words = _WORD.findall(folded)
    vec = np.zeros(_HASH_DIM, dtype=np.float32)
    feats = [f"w:{w}" for w in words]
    feats += [f"b:{a}_{b}" for a, b in itertools.pairwise(words)]
    if words:
        feats.append(f"first:{words[0]}")
        feats.append(f"len:{min(len(words), 12) // 3}")
    padded = f" {' '.join(words)} "
    feats += [f"c:{padded[i:i + 4]}" for i in range(max(0, len(padded) - 3))]
    for feat in feats:
        vec[_bucket(feat)] += 1.0
    norm = float(np.linalg.norm(vec))
    return vec / norm if norm else vec


class IntentModel:
    """Multinomial logistic regression over [query vector ; surface features]."""

    def __init__(self, weights: np.ndarray, bias: np.ndarray, labels: tuple[str, ...]) -> None:
        self.weights = weights
        self.bias = bias
        self.labels = labels

    @staticmethod
    def features(vectors: np.ndarray, texts: list[str]) -> np.ndarray:
        surface = np.stack([surface_features(t) for t in texts]) if texts else np.zeros(
            (0, _HASH_DIM), dtype=np.float32)
        return np.hstack([np.asarray(vectors, dtype=np.float32), SURFACE_WEIGHT * surface])

    @classmethod
    def fit(cls, x: np.ndarray, y: list[str], *, l2: float = 1e-4,
            epochs: int = 300, lr: float = 0.5) -> IntentModel:
        """Full-batch gradient descent with momentum: a few hundred rows, a second or two."""
        labels = INTENTS
        target = np.zeros((len(y), len(labels)), dtype=np.float32)
        for i, label in enumerate(y):
            target[i, labels.index(label)] = 1.0
        # Classes weighted so that a rare intent is not drowned by a frequent one.
        counts = target.sum(axis=0)
        class_w = np.where(counts > 0, len(y) / (len(labels) * np.maximum(counts, 1)), 0.0)
        row_w = (target * class_w).sum(axis=1, keepdims=True).astype(np.float32)
        scale = 8.0  # unit-norm blocks: a larger step size per feature helps convergence
        xs = np.asarray(x * scale, dtype=np.float32)
        # The weights stay in the span of the rows (they start at 0; gradient, decay and
        # momentum are combinations of rows), so descend on a in w = xs.T @ a: products
        # with the n x n Gram matrix instead of n x d ones (a few hundred rows, 4,480
        # columns). The same steps, in numpy only, and faster than sparse products.
        gram = xs @ xs.T
        a = np.zeros((len(y), len(labels)), dtype=np.float32)
        b = np.zeros(len(labels), dtype=np.float32)
        va, vb = np.zeros_like(a), np.zeros_like(b)
        for _ in range(epochs):
            p = _softmax(gram @ a + b)
            grad = (p - target) * row_w / len(y)
            ga = grad + l2 * a
            gb = grad.sum(axis=0)
            va = 0.9 * va - lr * ga
            vb = 0.9 * vb - lr * gb
            a += va
            b += vb
        return cls((xs.T @ a) * scale, b, labels)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return _softmax(x @ self.weights + self.bias)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, weights=self.weights, bias=self.bias, labels=np.array(self.labels))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> IntentModel:
        with np.load(path) as data:
            return cls(data["weights"], data["bias"], tuple(str(s) for s in data["labels"]))


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class IntentClassifier:
    """Predicts the intent of a question from the vector the retriever computes anyway."""

    def __init__(self, model: IntentModel, embedder: Embedder) -> None:
        self.model = model
        self.embedder = embedder

    def predict(self, text: str, vector: np.ndarray | None = None) -> Prediction:
        text = expand_question(text)
        if vector is None:
            vector = self.embedder.embed([text], is_query=True)[0]
        x = IntentModel.features(np.asarray(vector)[None, :], [text])
        probs = self.model.predict_proba(x)[0]
        best = int(np.argmax(probs))
        return Prediction(self.model.labels[best], float(probs[best]),
                          {label: float(p) for label, p in zip(self.model.labels, probs,
                                                               strict=True)})


def train_classifier(embedder: Embedder, examples: list[Example],
                     splits: tuple[str, ...] = TRAIN_SPLITS) -> IntentModel:
    rows = [e for e in examples if e.split in splits]
    if not rows:
        raise ConfigError(f"no intent examples in splits {splits}")
    texts = [expand_question(e.text) for e in rows]
    vectors = embedder.embed(texts, is_query=True)
    return IntentModel.fit(IntentModel.features(vectors, texts), [e.intent for e in rows])


_CLASSIFIERS: dict[str, IntentClassifier] = {}
_LOCK = threading.Lock()


def model_digest(path: Path, fingerprint: str) -> str:
    """Key of a trained model: the examples file, the tables the texts go through, the
    embedder and the feature version."""
    tables = b"".join(f.read_bytes() for f in TABLE_FILES)
    return hashlib.sha256(path.read_bytes() + tables + fingerprint.encode()
                          + b"|v2").hexdigest()[:16]


def classifier_for(embedder: Embedder, cache_dir: Path, fingerprint: str,
                   path: Path = INTENTS_FILE) -> IntentClassifier:
    """The classifier for this embedder: shipped with the package for the default model,
    otherwise trained once (seconds) and kept in ``cache_dir``.

    The key covers the examples file and the embedder, so editing the phrasings or
    switching models retrains; the test split never enters training.
    """
    digest = model_digest(path, fingerprint)
    with _LOCK:
        found = _CLASSIFIERS.get(digest)
        if found is not None:
            return found
        shipped = INTENTS_FILE.parent / f"intents-{digest}.npz"
        model_path = cache_dir / f"intents-{digest}.npz"
        if path == INTENTS_FILE and shipped.is_file():
            model = IntentModel.load(shipped)  # trained by scripts/train_intents.py
        elif model_path.is_file():
            model = IntentModel.load(model_path)
        else:
            model = train_classifier(embedder, read_examples(path))
            model.save(model_path)
        classifier = _CLASSIFIERS[digest] = IntentClassifier(model, embedder)
        return classifier


def evaluate_intents(embedder: Embedder, path: Path, split: str = "test") -> dict[str, object]:
    """Accuracy and confusion on ``split`` of a model trained on the training split."""
    examples = read_examples(path)
    model = train_classifier(embedder, examples)
    rows = [e for e in examples if split in ("all", e.split)]
    if not rows:
        raise ConfigError(f"no intent examples in split {split!r}")
    texts = [e.text for e in rows]
    probs = model.predict_proba(IntentModel.features(embedder.embed(texts, is_query=True), texts))
    predicted = [model.labels[int(i)] for i in probs.argmax(axis=1)]
    confusion: dict[str, dict[str, int]] = {a: dict.fromkeys(INTENTS, 0) for a in INTENTS}
    errors = []
    for example, guess, p in zip(rows, predicted, probs, strict=True):
        confusion[example.intent][guess] += 1
        if guess != example.intent:
            errors.append({"id": example.id, "text": example.text, "expected": example.intent,
                           "predicted": guess, "confidence": round(float(p.max()), 3)})
    correct = sum(confusion[a][a] for a in INTENTS)
    return {"n": len(rows), "split": split, "accuracy": round(correct / len(rows), 4),
            "confusion": confusion, "errors": errors}
