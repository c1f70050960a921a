"""The question as every search sees it: trimmed, bounded, refused when it has no words."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from assistant.errors import ConfigError
from assistant.indexing.lexical import fold

MAX_QUESTION_CHARS = 2000


def clean_question(question: str) -> str:
    """Trim a question; an empty or punctuation-only one is a usage error."""
    q = " ".join(question.split())
    if not any(ch.isalnum() for ch in q):
        raise ConfigError("la question est vide : posez une question avec des mots")
    return q[:MAX_QUESTION_CHARS]


SHORTHAND_FILE = Path(__file__).with_name("data") / "shorthand.tsv"
VOCABULARY_FILE = Path(__file__).with_name("data") / "vocabulary.tsv"
# Read in this order: «cb de boutiques vides» → «combien de boutiques vides» → «combien de
# commerces vacants».
TABLE_FILES = (SHORTHAND_FILE, VOCABULARY_FILE)


@lru_cache(maxsize=4)
def _table(path: Path) -> tuple[re.Pattern[str], dict[str, str]]:
    table: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        typed, meant = line.split("\t")
        table[fold(typed)] = meant
    # Longest first, so «c koi» wins over «koi»; a word may follow an elision («d'hab»),
    # but hyphens and a following apostrophe belong to words («Saint-Jean», «c'est»), so
    # that an expansion is never expanded again.
    keys = sorted(table, key=len, reverse=True)
    words = "|".join(r"\s+".join(re.escape(w) for w in k.split()) for k in keys)
    return re.compile(rf"(?<![\w-])({words})(?![\w'’-])"), table


def _rewrite(question: str, path: Path) -> str:
    pattern, table = _table(path)
    folded = fold(question)
    if len(folded) != len(question):  # «œ» → «oe» changed the length: match on the text
        folded = question.lower()
    out, last = [], 0
    for m in pattern.finditer(folded):
        out.append(question[last:m.start()])
        out.append(table[" ".join(m.group(1).split())])
        last = m.end()
    out.append(question[last:])
    return "".join(out)


def expand_question(question: str) -> str:
    """«c koi une ort», «ugine friche cb ca coute», «cb de boutiques vides»: phone
    shorthand spelled out («c'est quoi», «combien», «Bourg-Saint-Maurice», ``data/
    shorthand.tsv``), then officials' words put in the documents' («commerces vacants»,
    ``data/vocabulary.tsv``), so that the intent, the retrieval and the sentence choice
    read what the official meant. Idempotent; other words are left exactly as typed."""
    for path in TABLE_FILES:
        question = _rewrite(question, path)
    return question
