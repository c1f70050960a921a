"""The plain-Python Unigram tokenizer: the same ids as tokenizers' Unigram, edge cases included."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.embedding.unigram import META, UnigramTokenizer, save_vocab

# A toy vocabulary with what the real one has: specials scored 0 (so "<s>" in a text is one
# piece), "▁" alone, pieces sharing prefixes, no byte fallback, and equal-score
# segmentations ("▁d" = "▁" + "d", "dd" = "d" + "d"), where the first node found wins.
PIECES = ["<s>", "<pad>", "</s>", "<unk>", META, f"{META}a", f"{META}ab", "a", "b", "ab",
          "c", f"{META}c", "bc", "abc", "x", "xy", f"{META}é", "é", "€", "d", "dd", f"{META}d"]
SCORES = [0.0, 0.0, 0.0, 0.0, -2.0, -3.0, -4.5, -3.5, -4.0, -5.0, -3.25, -6.0, -2.75,
          -7.25, -9.0, -9.5, -4.0, -4.0, -8.0, -1.0, -2.0, -3.0]
TEXTS = ["ab", "abc abc", "a  b   c", " ab", "", " ", "ccc", "x y", "xyz", "zz", "z<unk>z",
         "a<s>b", "é€", "qé q", "abcabcab", "\u0378\u0379", "yy", "zxyz", f"a{META}b",
         f"{META}{META}a", "c" * 40 + " " + "ab" * 30, "d", "dd", "ddd", "dddd d dd"]


def _reference(pieces: list[str], scores: list[float], unk: int):
    tokenizers = pytest.importorskip("tokenizers")
    from tokenizers import Regex, models, normalizers, pre_tokenizers

    tok = tokenizers.Tokenizer(models.Unigram(list(zip(pieces, scores, strict=True)),
                                              unk_id=unk, byte_fallback=False))
    tok.normalizer = normalizers.Replace(Regex(" {2,}"), " ")
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always",
                                                 split=False)
    return tok


def test_ids_equal_tokenizers_on_edge_cases(tmp_path: Path) -> None:
    ref = _reference(PIECES, SCORES, 3)
    save_vocab(tmp_path, PIECES, np.array(SCORES, np.float32))
    ours = UnigramTokenizer.load(tmp_path, 3)
    for text in TEXTS:
        assert ours.encode(text) == ref.encode(text, add_special_tokens=False).ids, text
        assert ours.encode(text) == ours.encode(text)  # from the word cache this time


def test_unknown_runs_fuse_into_one_id(tmp_path: Path) -> None:
    ours = UnigramTokenizer(PIECES, SCORES, 3)
    # "▁" then "zz" unknown: one <unk>, not two; "<unk>" typed in a text fuses with them too
    assert ours.encode("zz") == [4, 3]
    assert ours.encode("z<unk>z") == [4, 3]


def test_exactness_premises_hold_for_the_toy_vocabulary() -> None:
    no_inner_meta, bits, largest = UnigramTokenizer(PIECES, SCORES, 3).exactness_bounds()
    assert no_inner_meta and bits <= 2 and largest == 19.5  # min score -9.5, minus 10


def test_save_vocab_refuses_what_it_cannot_store(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="newline"):
        save_vocab(tmp_path, ["a\nb"], np.zeros(1, np.float32))
    with pytest.raises(ValueError, match="float32"):
        save_vocab(tmp_path, ["a"], np.array([0.1], np.float64))
    with pytest.raises(ValueError, match="unk_id"):
        UnigramTokenizer(["a"], [0.0], 5)
