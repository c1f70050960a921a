"""Commune-name normalisation, typo-tolerant comparison and a name index for free-text scans."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

ARTICLES = frozenset({"le", "la", "les", "l"})
# Words that cannot start a fuzzy n-gram ("à Modane" is read from "Modane").
FUNCTION_WORDS = ARTICLES | frozenset(
    {"de", "du", "des", "d", "sur", "sous", "en", "et", "au", "aux", "a", "lez"}
)
# Words that cannot end a name prefix ("Saint-Jean-de" is no name) nor a fuzzy n-gram.
LINK_WORDS = FUNCTION_WORDS | frozenset({"saint", "sainte"})
_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}
# Names (article-less, compact form) that are also everyday French words: in free text they
# only count when written with a capital, or after "commune de", so "les échelles de
# financement" or "une rue piétonne" name no commune. Reviewed on the 1,607 ANCT names.
COMMON_WORDS = frozenset(
    """
    eu mer rue die ham apt mens loue cours bourg ville serres fosses grenade charmes falaise
    guise condom tende levier etain valence vallet embrun loches cluses viviers allegre
    moule blanc trait palais angles arcs pieux echelles herbiers machine loupe mure
    courtine souterraine chataigneraie trinite aigle vans avirons fourneaux entrelacs
    munster mayenne melle sault totes crest gray pons lure nogent pont port chateau val
    mont grand vic arc bar aire beaulieu villeneuve chateauneuf montagne plaine croix
    roche tour capelle
    """.split()
)
_CUES = frozenset({"commune", "communes", "ville", "mairie", "village"})


def fold(text: str) -> tuple[str, list[int]]:
    """Lower-case, strip accents, expand ligatures; also return folded→original offsets."""
    out: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        low = ch.lower()
        if low in ("œ", "æ"):
            piece = "oe" if low == "œ" else "ae"
        else:
            piece = "".join(
                c for c in unicodedata.normalize("NFKD", low) if not unicodedata.combining(c)
            )
        out.append(piece)
        offsets.extend([i] * len(piece))
    return "".join(out), offsets


_TOKEN_RE = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Token:
    """One word of a text: normalised form and its span in the original text."""

    norm: str
    start: int
    end: int
    raw: str


def tokenize(text: str) -> list[Token]:
    """Split on anything but letters and digits (hyphens, apostrophes, spaces, punctuation)."""
    folded, offsets = fold(text)
    tokens = []
    for m in _TOKEN_RE.finditer(folded):
        start, end = offsets[m.start()], offsets[m.end() - 1] + 1
        word = m.group()
        tokens.append(Token(_ABBREVIATIONS.get(word, word), start, end, text[start:end]))
    return tokens


def normalize(text: str) -> str:
    """Canonical spaced form: ``"St-Jean-de-Maurienne"`` → ``"saint jean de maurienne"``."""
    return " ".join(t.norm for t in tokenize(text))


def strip_articles(words: list[str]) -> list[str]:
    """Drop one leading article, unless it is the whole name."""
    if len(words) > 1 and words[0] in ARTICLES:
        return words[1:]
    return words


def max_typos(length: int) -> int:
    """Edit distance tolerated for a name of ``length`` compact characters."""
    return 0 if length < 5 else 1 if length < 10 else 2


def osa_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (a transposition costs 1); ``limit + 1`` if above."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:  # every later row only grows
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1] if prev[-1] <= limit else limit + 1


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _alt_names(name: str) -> list[str]:
    """The name plus forms without "(Ville)"-like qualifiers or " - Commune nouvelle"."""
    alts = [name]
    for pattern in (r"\s*\([^)]*\)\s*$", r"\s+-\s+commune nouvelle\s*$"):
        short = re.sub(pattern, "", name, flags=re.IGNORECASE)
        if short and short != name:
            alts.append(short)
    return alts


def _partial_keys(name: str) -> tuple[set[str], set[str]]:
    """Compound-name keys (spaced forms): (halves of a commune nouvelle, other prefixes).

    "Valgelon-La Rochette" → halves "valgelon", "la rochette", "rochette" (both were
    communes); "Saint-Genix-les-Villages" → prefix "saint genix" (weaker: match() only).
    """
    halves: set[str] = set()
    prefixes: set[str] = set()
    for m in re.finditer(r"^(.+?)-((?:La|Le|Les|L')[ '-]?\S.*)$", name):
        for part in (m.group(1), m.group(2)):
            words = [t.norm for t in tokenize(part)]
            halves.update({" ".join(words), " ".join(strip_articles(words))})
    words = [t.norm for t in tokenize(name)]
    # Proper prefixes cut at a word boundary, not ending on a linking word ("Saint-Jean-de").
    for k in range(1, len(words)):
        head = words[:k]
        if head[-1] in LINK_WORDS or len("".join(strip_articles(head))) < 5:
            continue
        prefixes.update({" ".join(head), " ".join(strip_articles(head))})
    return halves, prefixes - halves


@dataclass
class Hit:
    """One lookup result: ids of the named items, how they matched and the edit distance."""

    ids: list[str]
    level: int  # 0 exact, 1 article-less, 2 part of a compound name, 3 fuzzy
    distance: int = 0
    start: int = 0  # token span in a scanned text
    end: int = 0


LEVEL_NAMES = ("exact", "article", "partial", "fuzzy")


@dataclass
class NameIndex:
    """Normalised names → item ids, with exact, article-less, partial and fuzzy lookups.

    Keys exist in two forms: compact ("saintpierredalbigny", for :meth:`lookup` of a typed
    name, whatever its spacing) and spaced ("saint pierre d albigny", for text scans, where
    words must line up so that "la marche" never reads as Lamarche).
    """

    exact: dict[str, set[str]] = field(default_factory=dict)
    bare: dict[str, set[str]] = field(default_factory=dict)
    halves: dict[str, set[str]] = field(default_factory=dict)
    prefixes: dict[str, set[str]] = field(default_factory=dict)
    deletions: dict[str, set[str]] = field(default_factory=dict)  # 1-deletion → spaced keys
    common: set[str] = field(default_factory=set)  # ids whose name is an everyday word

    @staticmethod
    def _put(table: dict[str, set[str]], key: str, ident: str) -> None:
        for form in {key, key.replace(" ", "")}:
            table.setdefault(form, set()).add(ident)

    def add(self, ident: str, name: str) -> None:
        for alt in _alt_names(name):
            words = [t.norm for t in tokenize(alt)]
            if not words:
                continue
            full, bare = " ".join(words), " ".join(strip_articles(words))
            self._put(self.exact, full, ident)
            self._put(self.bare, bare, ident)
            for key in (full, bare):
                for d in _deletes(key):
                    self.deletions.setdefault(d, set()).add(key)
            halves, prefixes = _partial_keys(alt)
            for key in halves:
                self._put(self.halves, key, ident)
            for key in prefixes:
                self._put(self.prefixes, key, ident)
            if bare.replace(" ", "") in COMMON_WORDS or len(bare) <= 3:
                self.common.add(ident)

    def _fuzzy_ids(self, key: str, candidates: set[str]) -> Hit | None:
        best: dict[int, set[str]] = {}
        for cand in candidates:
            limit = max_typos(len(cand.replace(" ", "")))
            dist = osa_distance(key, cand, limit)
            if 0 < dist <= limit:
                best.setdefault(dist, set()).update(
                    self.exact.get(cand, set()) | self.bare.get(cand, set())
                )
        if not best:
            return None
        dist = min(best)
        return Hit(sorted(best[dist]), 3, dist)

    def lookup(self, words: list[str], fuzzy: str = "full", spaced: bool = False) -> Hit | None:
        """Best match for a name given as normalised words.

        ``fuzzy``: "full" (every name, distance ≤ 2), "fast" (deletion index) or "none".
        ``spaced``: words must line up with the name's words (text scans); then name
        prefixes such as "Saint-Genix" are not tried, being too vague inside a sentence.
        """
        if not words:
            return None
        join = " " if spaced else ""
        full, bare = join.join(words), join.join(strip_articles(words))
        tables = (self.halves,) if spaced else (self.halves, self.prefixes)
        for level, ids in (
            (0, self.exact.get(full, set())),
            (1, self.bare.get(bare, set()) | self.exact.get(bare, set())),
            (2, set().union(*(t.get(k, set()) for t in tables for k in (full, bare)))),
        ):
            if ids:
                return Hit(sorted(ids), level)
        if fuzzy == "none" or len(bare.replace(" ", "")) < 5:
            return None
        if fuzzy == "fast":  # deletion index: finds distance 1 and some distance 2, cheaply
            cands: set[str] = set(self.deletions.get(bare, set()))
            for d in _deletes(bare):
                cands |= self.deletions.get(d, set())
                if d in self.exact or d in self.bare:
                    cands.add(d)
            return self._fuzzy_ids(bare, cands)
        keys = {
            k for k in (*self.exact, *self.bare) if " " not in k and abs(len(k) - len(bare)) <= 2
        }
        return self._fuzzy_ids(bare, keys)

    def suggestions(self, words: list[str], limit: int = 5) -> list[str]:
        """Ids of the closest names (looser distance), for "did you mean" messages."""
        bare = "".join(strip_articles(words))
        if not bare:
            return []
        allowed = max(2, len(bare) // 3)
        scored: dict[str, int] = {}
        for key in {k for k in (*self.exact, *self.bare) if " " not in k}:
            dist = osa_distance(bare, key, allowed)
            if key.startswith(bare) and len(bare) >= 4:
                dist = min(dist, 1)
            if dist <= allowed:
                for ident in self.exact.get(key, set()) | self.bare.get(key, set()):
                    scored[ident] = min(dist, scored.get(ident, dist))
        return sorted(scored, key=lambda i: (scored[i], i))[:limit]

    def scan(self, text: str, max_words: int = 6) -> list[Hit]:
        """Name mentions in ``text``, longest first at each position, left to right."""
        tokens = tokenize(text)
        has_lower = any(c.islower() for c in text)
        hits: list[Hit] = []
        i = 0
        while i < len(tokens):
            found = None
            for n in range(min(max_words, len(tokens) - i), 0, -1):
                hit = self._scan_at(text, tokens, i, n, has_lower)
                if hit:
                    found = hit
                    break
            if found:
                hits.append(found)
                i = found.end
            else:
                i += 1
        return hits

    def _scan_at(
        self, text: str, tokens: list[Token], i: int, n: int, has_lower: bool
    ) -> Hit | None:
        span = tokens[i : i + n]
        words = [t.norm for t in span]
        if any(w.isdigit() for w in words):
            return None
        # A leading article is only part of the mention when the full name has it.
        starts_with_article = words[0] in ARTICLES
        bounded = words[0] not in FUNCTION_WORDS and words[-1] not in LINK_WORDS
        length = len("".join(words))
        # Fuzzy only on enough distinctive letters: "Saint-Julien" is one letter from
        # "Saint-Junien", both real names, so the "saint" part does not count.
        distinctive = len("".join(w for w in words if w not in LINK_WORDS))
        if starts_with_article:
            hit = self.lookup(words, fuzzy="none", spaced=True)
            if hit is None or hit.level != 0:
                return None
        else:
            fuzzy = "fast" if bounded and distinctive >= 9 else "none"
            hit = self.lookup(words, fuzzy=fuzzy, spaced=True)
            if hit is None:
                return None
            if hit.level == 2 and (
                len(hit.ids) > 1 or length < 6 or "".join(words) in COMMON_WORDS
            ):
                return None  # an ambiguous or everyday-word half of a compound name
            if hit.level == 3 and (len(hit.ids) > 1 or (length < 12 and hit.distance > 1)):
                return None
        proper = self._proper_mention(text, tokens, i, n, has_lower)
        ids = [x for x in hit.ids if proper or x not in self.common]
        if not ids:
            return None
        return Hit(ids, hit.level, hit.distance, i, i + n)

    @staticmethod
    def _proper_mention(text: str, tokens: list[Token], i: int, n: int, has_lower: bool) -> bool:
        """Everyday-word names need a capital off sentence start, or "commune de" before."""
        if n == len(tokens):
            return True  # the whole text is the name
        if i >= 2 and tokens[i - 1].norm in ("de", "d") and tokens[i - 2].norm in _CUES:
            return True
        first = tokens[i + 1] if tokens[i].norm in ARTICLES and n > 1 else tokens[i]
        if not has_lower or not first.raw[:1].isupper():
            return False
        # Mid-sentence only after a word or a comma: a table cell "| Rue …" or a bullet starts one.
        before = text[: tokens[i].start].rstrip()
        return bool(before) and (before[-1].isalnum() or before[-1] in ",'’")


DepTable = list[tuple[list[str], str]]


def dep_table(departments: dict[str, str]) -> DepTable:
    """(name words, code) for each department, longest names first so that "Haute-Savoie"
    is not read as "Savoie"; each code is also listed as a one-word name ("73")."""
    table = [(normalize(name).split(), code) for code, name in departments.items() if name]
    table += [([code.lower()], code) for code in departments]
    return sorted(table, key=lambda item: -len(item[0]))


def dep_at_end(words: list[str], table: DepTable) -> tuple[str | None, int]:
    """A department closing a name ("… (Savoie)", "… 73"): (code, words it takes) or (None, 0)."""
    for dep_words, code in table:
        k = len(dep_words)
        if len(words) > k and words[-k:] == dep_words:
            return code, k
    return None, 0


def deps_in_words(words: list[str], table: DepTable, span: tuple[int, int]) -> list[str]:
    """Codes of the departments named by name in ``words``, outside the word ``span``."""
    taken = set(range(*span))
    found = []
    for dep_words, code in table:
        k = len(dep_words)
        if dep_words == [code.lower()]:
            continue
        for i in range(len(words) - k + 1):
            if words[i : i + k] == dep_words and not taken & set(range(i, i + k)):
                taken |= set(range(i, i + k))
                found.append(code)
    return found
