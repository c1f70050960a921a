"""Train the intent classifier for the default embedder and ship it with the package.

    .venv/bin/python scripts/train_intents.py

Writes assistant/answer/data/intents-<digest>.npz (trained on the train split only) and
removes older shipped models; run it after editing intents.jsonl or changing the model.
"""

from __future__ import annotations

from assistant.answer.intents import (
    INTENTS_FILE,
    model_digest,
    read_examples,
    train_classifier,
)
from assistant.embedding.embedders import embedder_fingerprint, make_embedder
from assistant.settings import get_settings


def main() -> None:
    settings = get_settings()
    embedder = make_embedder(settings.embedder)
    digest = model_digest(INTENTS_FILE, embedder_fingerprint(settings.embedder))
    target = INTENTS_FILE.parent / f"intents-{digest}.npz"
    for old in INTENTS_FILE.parent.glob("intents-*.npz"):
        if old != target:
            old.unlink()
    train_classifier(embedder, read_examples()).save(target)
    print(f"written: {target} ({target.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
