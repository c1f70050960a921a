"""French lexical analysis and an in-memory BM25 index over the catalog's chunks."""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from functools import lru_cache

import numpy as np

# Elided articles and pronouns: "l'ORT" → "l", "ORT"; the prefix is then a stop word.
_ELISION = re.compile(
    r"\b(l|d|j|m|n|s|t|c|qu|jusqu|lorsqu|puisqu|quoiqu)['’ʼ`]", re.IGNORECASE
)
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)

STOP_WORDS = frozenset(
    """
    a ai aie aient aies ait alors as au aucun aucune aupres aura aurai auraient aurais aurait
    auras aurez auriez aurions aurons auront aussi autre autres aux avaient avais avait avant
    avec avez aviez avions avoir avons ayant ayez ayons c ca car ce ceci cela celle celles celui
    cependant ces cet cette ceux chaque ci comme comment d dans de des deja depuis dont du donc
    elle elles en encore entre es est et etaient etais etait etant ete etes etiez etions etre eu
    eue eues eurent eus eusse eut eux fait faut fois fut furent j je jusqu l la le les leur leurs
    lui m ma mais me meme memes mes moi mon n ne ni non nos notre nous on ont or ou par parce pas
    peu peut peuvent plus pour pourquoi qu quand que quel quelle quelles quels qui quoi s sa sans
    se sera serai seraient serais serait seras serez seriez serions serons seront ses si sien
    soi soient sois soit sommes son sont sous suis sur t ta te tes toi ton tous tout toute toutes
    tres tu un une unes uns vers voici voila vos votre vous y pres
    est-ce qu'est-ce quoi dois doit doivent faire peux veux svp merci bonjour
    combien koi quoi veut veulent dire signifie signifient definition definitions sert
    servent existe existent ca cest quid expliquer explique explication expliquez
    """.split()
)

# Abbreviations officials type, expanded at query time so that "BdT" also finds
# "Banque des Territoires" (the documents spell them out at least once).
ABBREVIATIONS = {
    "bdt": "banque des territoires",
    "interco": "intercommunalité epci",
    "intercos": "intercommunalités epci",
    "cc": "communauté de communes",
    "pvd": "petites villes de demain",
    "st": "saint",
    "ste": "sainte",
    "cdp": "chef de projet",
    "acv": "action cœur de ville",
    "cofinance": "cofinancé cofinancement",
    "cofinancent": "cofinancé cofinancement",
    "coeur": "cœur",
}


def expand_query(text: str) -> str:
    """The question plus the long forms of the abbreviations it uses."""
    extra = [ABBREVIATIONS[t] for t in _TOKEN.findall(fold(text)) if t in ABBREVIATIONS]
    return f"{text} {' '.join(extra)}" if extra else text


class _FoldTable(dict[int, str]):
    """Code point -> its folded form (compatibility decomposition, combining marks
    dropped), filled on first sight: `str.translate` then folds a text in C, where a
    decomposition and a generator over every character cost ~10 µs per sentence (the
    answer step folds thousands of sentences per question)."""

    def __missing__(self, code: int) -> str:
        decomposed = unicodedata.normalize("NFKD", chr(code))
        folded = "".join(c for c in decomposed if not unicodedata.combining(c))
        self[code] = folded.replace("œ", "oe")
        return self[code]


_FOLD = _FoldTable()


def fold(text: str) -> str:
    """Lowercase and strip accents: "Échelles" → "echelles", "œuvre" → "oeuvre"."""
    lowered = text.lower()
    if lowered.isascii():
        return lowered
    # Marks dropped one character at a time is the same as after decomposing the whole
    # text: decomposition is per character, and only the order of marks could differ.
    return lowered.translate(_FOLD)


def fold_words(text: str) -> str:
    """``fold`` keeping letters and digits only, one space apart: what the question
    patterns match («c'est-à-dire ?» → «c est a dire»)."""
    return " ".join(re.findall(r"[a-z0-9]+", fold(text)))


@lru_cache(maxsize=1)
def _stemmer() -> Callable[[str], str]:
    try:
        import snowballstemmer
    except ImportError:  # pragma: no cover - depends on the install
        return lambda word: word
    return snowballstemmer.stemmer("french").stemWord


# Suffixes the French Snowball stemmer only strips when accented; questions typed
# without accents ("eligibilite", "signee") get them back before stemming.
_REACCENT = (("ites", "ités"), ("ite", "ité"), ("ees", "ées"), ("ee", "ée"),
             # «fonciere», «premieres»: Snowball strips «ière(s)» only accented.
             ("ieres", "ières"), ("iere", "ière"))


# Words whose final «ès», «à» the stemmer keeps only accented («apres» would stem «apre»,
# «après» stems «apres»).
_REACCENT_WORDS = {"apres": "après", "pres": "près", "acces": "accès", "congres": "congrès",
                   "progres": "progrès", "exces": "excès", "succes": "succès",
                   "proces": "procès", "deja": "déjà", "dela": "delà"}


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    if word.isascii():
        word = _REACCENT_WORDS.get(word, word)
        for plain, accented in _REACCENT:
            if word.endswith(plain) and len(word) > len(plain) + 2:
                word = word[: -len(plain)] + accented
                break
    return fold(_stemmer()(word))


def analyze(text: str) -> list[str]:
    """Terms of a French text: elisions split, stop words dropped, stemmed, folded."""
    text = _ELISION.sub(lambda m: m.group(1) + " ", text.lower())
    terms = []
    for token in _TOKEN.findall(text):
        folded = fold(token)
        if folded in STOP_WORDS or (len(folded) == 1 and not folded.isdigit()):
            continue
        terms.append(_stem(token))
    return terms


class BM25:
    """Okapi BM25 over a fixed list of documents, held as compressed columns: each term's
    documents and weights side by side (numpy only; the reference that
    :mod:`assistant.indexing.postings` is tested against, and the benchmarks' scorer)."""

    def __init__(self, docs: Iterable[list[str]], k1: float = 1.2, b: float = 0.75) -> None:
        vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        tfs: list[float] = []
        lengths: list[int] = []
        for row, terms in enumerate(docs):
            lengths.append(len(terms))
            for term, tf in Counter(terms).items():
                rows.append(row)
                cols.append(vocab.setdefault(term, len(vocab)))
                tfs.append(float(tf))
        self.vocab = vocab
        self.n_docs = len(lengths)
        length = np.asarray(lengths, dtype=np.float32)
        avgdl = float(length.mean()) if lengths else 1.0
        avgdl = avgdl or 1.0
        row_a = np.asarray(rows, dtype=np.int64)
        col_a = np.asarray(cols, dtype=np.int64)
        tf_a = np.asarray(tfs, dtype=np.float32)
        df = np.bincount(col_a, minlength=len(vocab)).astype(np.float32)
        idf = np.log(1.0 + (self.n_docs - df + 0.5) / (df + 0.5))
        norm = k1 * (1.0 - b + b * length[row_a] / avgdl)
        data = idf[col_a] * tf_a * (k1 + 1.0) / (tf_a + norm)
        # Column j's documents are _rows[_start[j]:_start[j + 1]], each once.
        order = np.argsort(col_a, kind="stable")
        self._rows = row_a[order]
        self._data = data[order].astype(np.float32)
        self._start = np.concatenate([[0], np.cumsum(df.astype(np.int64))])
        self.idf = idf

    def scores(self, query_terms: list[str]) -> np.ndarray:
        """Score every document; repeated query terms count once per occurrence."""
        out = np.zeros(self.n_docs, dtype=np.float32)
        for term, mult in Counter(t for t in query_terms if t in self.vocab).items():
            col = self.vocab[term]
            lo, hi = self._start[col], self._start[col + 1]
            out[self._rows[lo:hi]] += np.float32(mult) * self._data[lo:hi]
        return out

    def idf_of(self, term: str) -> float:
        col = self.vocab.get(term)
        if col is None:
            return math.log(1.0 + (self.n_docs + 0.5) / 0.5)
        return float(self.idf[col])
