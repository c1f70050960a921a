"""The fast-e5 tokenizer in plain Python: tokenizers' Unigram Viterbi, exactly, in ~47 MB.

``tokenizers`` holds the 250,002-piece vocabulary in a byte trie of hash maps, about
280 MB of resident memory for this model, more than the rest of an app instance. This
module reproduces what :func:`assistant.embedding.e5_convert.build_tokenizer`'s tokenizer
does, id for id, with a ``dict`` of pieces:

* normaliser: runs of two or more spaces become one; pre-tokeniser: spaces become "▁",
  and "▁" is prepended unless the text already starts with one;
* Viterbi over the string as ``Unigram.encode_optimized`` runs it: start positions left to
  right, pieces from a start shortest first, a node replaced only by a strictly better
  score; a character no piece starts with costs ``min_score - 10`` as an unknown, and
  consecutive unknown nodes are fused into one token (the unknown id unless the fused
  string is itself a piece).

It runs word by word ("▁" + what follows up to the next "▁"), with a cache of words, which
is what makes Python fast enough (a French passage repeats most of its words). That split
is exact: no piece has a "▁" after its first character, so every "▁" starts a node in any
segmentation; and path scores are sums of float32 scores (multiples of 2**-22, at most 31
in magnitude with the unknown's) that float64 adds without rounding for any text under
some 70 million characters, so the word offsets cannot change a comparison.
:meth:`UnigramTokenizer.exactness_bounds` checks those premises on a vocabulary.
"""

from __future__ import annotations

import math
import re
from array import array
from collections.abc import Sequence
from pathlib import Path

import numpy as np

META = "\u2581"
UNK_PENALTY = 10.0  # tokenizers' K_UNK_PENALTY
_SPACES = re.compile(" {2,}")
_WORD = re.compile(f"{META}[^{META}]*|[^{META}]+")
CACHE_WORDS = 50_000  # distinct words kept (cleared when full); a few MB
# In the model folder: the pieces one per line, their float32 scores (tokenizer.json holds
# the same, but parsing its JSON peaks at +135 MB and leaves ~25 MB more resident).
VOCAB_PIECES = "vocab.txt"
VOCAB_SCORES = "vocab-scores.npy"


def save_vocab(folder: Path, pieces: list[str], scores: np.ndarray) -> None:
    """Write the files :meth:`UnigramTokenizer.load` reads; scores must be float32-exact."""
    if any("\n" in piece for piece in pieces):
        raise ValueError("a piece contains a newline; vocab.txt cannot hold it")
    values = np.asarray(scores, dtype=np.float32)
    if not np.array_equal(values.astype(np.float64), np.asarray(scores, dtype=np.float64)):
        raise ValueError("scores are not float32 values")
    with (Path(folder) / VOCAB_PIECES).open("w", encoding="utf-8", newline="") as handle:
        handle.write("\n".join(pieces))
    np.save(Path(folder) / VOCAB_SCORES, values)


class UnigramTokenizer:
    """Pieces and scores of a SentencePiece unigram model; :meth:`encode` gives ids."""

    def __init__(self, pieces: list[str], scores: Sequence[float], unk_id: int) -> None:
        if not 0 <= unk_id < len(pieces):
            raise ValueError(f"unk_id {unk_id} outside a vocabulary of {len(pieces)}")
        # A later duplicate wins, as in tokenizers' token_to_ids (this vocabulary has none).
        self._ids = {piece: i for i, piece in enumerate(pieces)}
        # 2 MB where a list of floats takes 8; float64 as tokenizers adds them
        self._scores = array("d", np.asarray(scores, dtype=np.float64).tobytes())
        self._unk = unk_id
        self._unk_score = min(self._scores) - UNK_PENALTY
        self._longest = max(len(p) for p in pieces)
        self._cache: dict[str, tuple[int, ...]] = {}

    @classmethod
    def load(cls, folder: Path, unk_id: int) -> UnigramTokenizer:
        """Read the vocabulary :func:`save_vocab` wrote into ``folder``."""
        with (Path(folder) / VOCAB_PIECES).open(encoding="utf-8", newline="") as handle:
            pieces = handle.read().split("\n")
        scores = np.load(Path(folder) / VOCAB_SCORES)
        if len(scores) != len(pieces):
            raise ValueError(f"{folder}: {len(pieces)} pieces but {len(scores)} scores")
        return cls(pieces, scores, unk_id)

    def encode(self, text: str) -> list[int]:
        """Ids of ``text`` without <s> </s>, as tokenizers' ``encode(text,
        add_special_tokens=False)`` with build_tokenizer's normaliser and pre-tokeniser."""
        text = _SPACES.sub(" ", text).replace(" ", META)
        if not text:
            return []
        if not text.startswith(META):
            text = META + text
        ids: list[int] = []
        cache = self._cache
        for word in _WORD.findall(text):
            got = cache.get(word)
            if got is None:
                if len(cache) >= CACHE_WORDS:
                    cache.clear()
                got = cache[word] = self._viterbi(word)
            ids.extend(got)
        return ids

    def _viterbi(self, word: str) -> tuple[int, ...]:
        n = len(word)
        ids, scores, longest = self._ids, self._scores, self._longest
        best = [0.0] * (n + 1)
        start: list[int] = [-1] * (n + 1)  # -1: no path ends here yet
        node: list[int] = [0] * (n + 1)
        for i in range(n):
            here = best[i]
            single = False
            for end in range(i + 1, min(n, i + longest) + 1):
                piece_id = ids.get(word[i:end])
                if piece_id is None:
                    continue
                score = here + scores[piece_id]
                if start[end] < 0 or score > best[end]:
                    best[end], start[end], node[end] = score, i, piece_id
                if end == i + 1:
                    single = True
            if not single:
                score = here + self._unk_score
                if start[i + 1] < 0 or score > best[i + 1]:
                    best[i + 1], start[i + 1], node[i + 1] = score, i, self._unk
        out: list[int] = []
        fused_end = -1  # end of the run of unknown nodes being fused, if any
        end = n
        while end > 0:
            begin = start[end]
            if node[end] == self._unk:
                if fused_end < 0:
                    fused_end = end
            else:
                if fused_end >= 0:
                    out.append(self._fused(word[end:fused_end]))
                    fused_end = -1
                out.append(node[end])
            end = begin
        if fused_end >= 0:
            out.append(self._fused(word[:fused_end]))
        out.reverse()
        return tuple(out)

    def _fused(self, text: str) -> int:
        return self._ids.get(text, self._unk)

    def exactness_bounds(self) -> tuple[bool, int, float]:
        """(no piece has an inner "▁", fractional bits of the scores, largest |score|):
        word-by-word Viterbi equals whole-string Viterbi when the first holds and
        2**bits * |score| * characters stays below 2**53."""
        inner = any(META in piece[1:] for piece in self._ids)
        bits = 0
        for s in [*self._scores, self._unk_score]:
            mantissa, exponent = math.frexp(s)
            k = 0
            while mantissa != int(mantissa):
                mantissa *= 2
                k += 1
            bits = max(bits, k - exponent)
        return not inner, bits, max(abs(s) for s in [*self._scores, self._unk_score])
