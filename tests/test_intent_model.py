"""IntentModel.fit: the Gram-matrix descent equals plain gradient descent on the weights."""

import numpy as np

from assistant.answer.intents import INTENTS, IntentModel


def _plain_fit(x: np.ndarray, y: list[str], l2: float = 1e-4, epochs: int = 300,
               lr: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """The textbook loop (weights of d rows), as fit() ran before it moved to n x n."""
    target = np.zeros((len(y), len(INTENTS)), dtype=np.float32)
    for i, label in enumerate(y):
        target[i, INTENTS.index(label)] = 1.0
    counts = target.sum(axis=0)
    class_w = np.where(counts > 0, len(y) / (len(INTENTS) * np.maximum(counts, 1)), 0.0)
    row_w = (target * class_w).sum(axis=1, keepdims=True)
    xs = x * 8.0
    w = np.zeros((x.shape[1], len(INTENTS)))
    b = np.zeros(len(INTENTS))
    vw, vb = np.zeros_like(w), np.zeros_like(b)
    for _ in range(epochs):
        z = xs @ w + b
        e = np.exp(z - z.max(axis=1, keepdims=True))
        grad = (e / e.sum(axis=1, keepdims=True) - target) * row_w / len(y)
        vw = 0.9 * vw - lr * (xs.T @ grad + l2 * w)
        vb = 0.9 * vb - lr * grad.sum(axis=0)
        w += vw
        b += vb
    return w * 8.0, b


def test_fit_matches_plain_gradient_descent():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 300)).astype(np.float32)
    x[:, 100:] *= rng.random((40, 200)) < 0.05  # a sparse block, as the hashed features
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = [INTENTS[i % 3] for i in range(40)]
    model = IntentModel.fit(x, y)
    w, b = _plain_fit(x.astype(np.float64), y)
    assert model.weights.shape == (300, len(INTENTS))
    np.testing.assert_allclose(model.weights, w, atol=1e-3)
    np.testing.assert_allclose(model.bias, b, atol=1e-4)
    assert (model.predict_proba(x).argmax(axis=1) == (x @ w + b).argmax(axis=1)).all()
