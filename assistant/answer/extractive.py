"""The extractive answerer: cited sentences picked from retrieved passages, or a refusal."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from assistant.answer.grounding import INSTRUCTION
from assistant.indexing.catalog import Catalog
from assistant.indexing.lexical import ABBREVIATIONS, BM25, analyze, fold
from assistant.ingest.chunking import split_sentences
from assistant.search.retrieval import Retrieval
from assistant.types import Answer, Citation, Hit

REFUSAL = "Je n'ai pas trouvé cette information dans les documents indexés."
_WS = re.compile(r"\s+")
_BULLET = re.compile(r"^\s*(?:[•◦▪\-–*]|\d+[.)])\s+")
_NUMERIC_Q = re.compile(
    r"\b(quand|combien|quel(le)?s? (montant|date|taux|budget|part|pourcentage|nombre)|"
    r"depuis quand|date|montant|taux|pourcentage|budget)\b",
    re.IGNORECASE,
)
_HAS_NUMBER = re.compile(r"\d")
_TOKEN_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")


@dataclass
class _Candidate:
    hit: Hit
    hit_rank: int
    page_idx: int  # index into the document's pages
    page_number: int | None
    start: int  # offsets in the page text
    end: int
    text: str
    score: float = 0.0


def _weights(terms: list[str], bm25: BM25) -> dict[str, float]:
    return {t: bm25.idf_of(t) for t in set(terms)}


def _overlap(weights: dict[str, float], text: str) -> float:
    """Share of the question's idf mass that a sentence contains."""
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    found = set(analyze(text))
    return sum(w for t, w in weights.items() if t in found) / total


def _candidates(hits: list[Hit], catalog: Catalog) -> list[_Candidate]:
    """Sentences of the hits located in their page text, so quotes are exact substrings."""
    out: list[_Candidate] = []
    pages_cache: dict[str, list] = {}
    for rank, hit in enumerate(hits):
        doc_id = str(hit.metadata.get("doc_id"))
        pages = pages_cache.get(doc_id)
        if pages is None:
            pages = pages_cache[doc_id] = catalog.pages(doc_id)
        numbers = [p.number for p in pages]
        want = set(hit.pages) if hit.pages else None
        order = [i for i, n in enumerate(numbers) if want is None or n in want] or list(
            range(len(pages))
        )
        for part in hit.text.split("\n"):
            for s, e in split_sentences(part):
                sentence = part[s:e].strip()
                if len(sentence.split()) < 4 or _not_an_answer(sentence):
                    continue
                for i in order:
                    pos = pages[i].text.find(sentence)
                    if pos >= 0:
                        out.append(
                            _Candidate(hit, rank, i, numbers[i], pos, pos + len(sentence), sentence)
                        )
                        break
    return out


_COVER_LINE = re.compile(r"(Émetteur|Emetteur)\s*:|^Date\s*:|Document d'exemple|^Voir (la note|« )",
                         re.IGNORECASE)


def _not_an_answer(line: str) -> bool:
    """Section titles, questions (FAQ headings) and cover-page lines make poor answers."""
    heading = len(line.split()) < 12 and line[-1] not in ".!…:;»" and ":" not in line
    return heading or line.rstrip().endswith("?") or bool(_COVER_LINE.search(line)) or bool(
        INSTRUCTION.search(line))  # orders planted in a document are never an answer


def _clean(sentence: str) -> str:
    text = _WS.sub(" ", _BULLET.sub("", sentence)).strip()
    if text and text[-1] not in ".!?…:;»)":
        text += "."
    return text[:1].upper() + text[1:]


def _similar(a: str, b: str) -> bool:
    sa, sb = set(analyze(a)), set(analyze(b))
    if not sa or not sb:
        return False
    return len(sa & sb) / len(sa | sb) > 0.7


# Words after which a capitalised word is a name the passage must contain.
_KEY_CAP = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-ZÀ-Ý][\w'’-]{2,}(?:[ -][A-ZÀ-Ý][\w'’-]+)*)")
_YEAR_Q = re.compile(r"\b(19|20)\d{2}\b")
PERSON_QUESTION = re.compile(
    r"\b(nom (du|de la|de l'|des)|qui est (le|la|l')\s*(maire|pr[ée]sident|pr[ée]fet|"
    r"directeur|directrice|responsable|chef|r[ée]f[ée]rent|d[ée]put[ée]|s[ée]nateur))",
    re.IGNORECASE,
)
CONTACT_QUESTION = re.compile(r"\b(e-?mail|mail|courriel|t[ée]l[ée]phone|num[ée]ro de t|adresse)\b",
                        re.IGNORECASE)
_CONTACT_A = re.compile(r"@|\b0\d(?:[ .]?\d{2}){4}\b|\b\d{1,4},? (rue|avenue|place|boulevard)\b",
                        re.IGNORECASE)
_PERSON_A = re.compile(r"\b(M\.|Mme|Monsieur|Madame)\s+[A-ZÀ-Ý]")


@dataclass
class Support:
    """How well the best passage covers the question, and what it lacks."""

    coverage: float  # idf-weighted share of the question's terms in the best passage
    missing_keys: list[str]  # names and years of the question absent from that passage
    type_mismatch: str | None  # "personne" / "coordonnées" asked but not in the passages

    def confidence(self) -> float:
        if self.missing_keys or self.type_mismatch:
            return 0.0
        return round(min(1.0, self.coverage), 4)


def _term_groups(question: str) -> list[tuple[str, set[str]]]:
    """Each content word of the question with the stems that count as finding it."""
    groups = []
    for token in _TOKEN_RE.findall(question):
        stems = analyze(token)
        if not stems:
            continue
        alternatives = set(stems)
        long_form = ABBREVIATIONS.get(fold(token))
        if long_form:
            alternatives |= set(analyze(long_form))
        groups.append((stems[0], alternatives))
    return groups


# A name found in more than ~5 % of passages is context ("France", "Savoie"), not the
# subject of the question: only rarer names must appear in the passage used.
_RARE_IDF = 3.0


def key_terms(question: str, bm25: BM25 | None = None) -> list[str]:
    """Rare names (capitalised words after the first) and years the answer must be about."""
    keys = [m.group(0) for m in _YEAR_Q.finditer(question)]
    for match in _KEY_CAP.finditer(question.strip()):
        word = match.group(1)
        if (sum(c.isupper() for c in word) >= 2 and len(word) <= 6) or fold(word) in ABBREVIATIONS:
            continue  # acronyms (ORT, DETR, BdT) are ordinary terms, handled by coverage
        stems = analyze(word)
        if bm25 is not None and stems and min(bm25.idf_of(t) for t in stems) < _RARE_IDF:
            continue
        keys.append(word)
    return keys


def assess_support(question: str, hits: list[Hit], bm25: BM25) -> Support:
    groups = _term_groups(question)
    weights = {stem: bm25.idf_of(stem) for stem, _ in groups}
    total = sum(weights.values())
    keys = key_terms(question, bm25)
    best, best_missing = 0.0, keys
    for hit in hits:
        context = f"{hit.metadata.get('title', '')} {hit.metadata.get('heading', '')} {hit.text}"
        terms = set(analyze(context))
        covered = sum(weights[s] for s, alts in groups if alts & terms) / total if total else 0.0
        folded = fold(context)
        missing = [k for k in keys if fold(k) not in folded and not (
            set(analyze(k)) and set(analyze(k)) <= terms)]
        if (len(missing), -covered) < (len(best_missing), -best):
            best, best_missing = covered, missing
    mismatch = None
    joined = " ".join(h.text for h in hits)
    if PERSON_QUESTION.search(question) and not _PERSON_A.search(joined):
        mismatch = "personne"
    elif CONTACT_QUESTION.search(question) and not _CONTACT_A.search(joined):
        mismatch = "coordonnées"
    return Support(coverage=best, missing_keys=best_missing, type_mismatch=mismatch)


def extractive_answer(
    question: str,
    retrieval: Retrieval,
    catalog: Catalog,
    *,
    max_sentences: int = 5,
    threshold: float = 0.5,
    contact: str = "",
    scope: str = "",
) -> Answer:
    """Pick the sentences that best answer ``question``; refuse under ``threshold``."""
    t0 = time.perf_counter()
    view = catalog.view()
    weights = _weights(retrieval.query_terms, view.bm25)
    cands = _candidates(retrieval.hits, catalog)
    numeric = bool(_NUMERIC_Q.search(question))
    for cand in cands:
        cand.score = _overlap(weights, cand.text) + 0.15 / (1 + cand.hit_rank)
        if numeric and _HAS_NUMBER.search(cand.text):
            cand.score += 0.1
    support = assess_support(question, retrieval.hits, view.bm25)
    conf = support.confidence()

    if not cands or conf < threshold:
        return _refusal(question, retrieval, conf, contact, scope, t0)

    ranked = sorted(cands, key=lambda c: -c.score)
    floor = max(ranked[0].score * 0.6, 0.2)
    picked: list[_Candidate] = []
    for cand in ranked:
        if len(picked) >= max_sentences or cand.score < floor:
            break
        if any(_similar(cand.text, p.text) for p in picked):
            continue
        picked.append(cand)
    picked.sort(key=lambda c: (c.hit_rank, c.page_idx, c.start))

    citations: list[Citation] = []
    by_key: dict[tuple[str, int], Citation] = {}
    spans: dict[int, tuple[int, int, int]] = {}  # n -> (page_idx, start, end)
    sentences: list[str] = []
    for cand in picked:
        key = (cand.hit.chunk_id, cand.page_idx)
        cit = by_key.get(key)
        if cit is None:
            meta = cand.hit.metadata
            cit = Citation(
                n=len(citations) + 1,
                source=str(meta.get("source", "")),
                title=str(meta.get("title", "")),
                page=cand.page_number,
                pages=[cand.page_number] if cand.page_number is not None else [],
                quote=cand.text,
                score=cand.hit.score,
                doc_type=str(meta.get("doc_type", "autre")),
                exemple=bool(meta.get("exemple", False)),
                communes=[c for c in str(meta.get("communes", "")).split(",") if c],
                chunk_id=cand.hit.chunk_id,
                passage=cand.hit.text,
            )
            by_key[key] = cit
            citations.append(cit)
            spans[cit.n] = (cand.page_idx, cand.start, cand.end)
        else:
            page_idx, start, end = spans[cit.n]
            start, end = min(start, cand.start), max(end, cand.end)
            spans[cit.n] = (page_idx, start, end)
            page_text = catalog.pages(cand.hit.metadata["doc_id"])[page_idx].text
            cit.quote = page_text[start:end]
        mark = f"[{cit.n}]" + (" (exemple)" if cit.exemple else "")
        sentences.append(f"{_clean(cand.text)} {mark}")
    answer = Answer(
        question=question,
        text=" ".join(sentences),
        refused=False,
        citations=citations,
        hits=retrieval.hits,
        extra={"confidence": conf},
    )
    answer.timings_ms["answer"] = (time.perf_counter() - t0) * 1000
    return answer


def _refusal(
    question: str, retrieval: Retrieval, conf: float, contact: str, scope: str, t0: float
) -> Answer:
    searched = f"{retrieval.searched_chunks} passages"
    if scope:
        searched += f" ({scope})"
    text = (
        f"{REFUSAL} J'ai cherché « {_short(question)} » dans {searched} sans trouver de passage "
        f"qui y réponde."
    )
    if contact:
        text += f" Pour cette question, adressez-vous {contact}."
    nearest = [
        {"source": h.source, "title": h.metadata.get("title", ""), "page": h.page}
        for h in retrieval.hits[:3]
    ]
    answer = Answer(
        question=question,
        text=text,
        refused=True,
        citations=[],
        hits=retrieval.hits,
        extra={"confidence": conf, "nearest": nearest},
    )
    answer.timings_ms["answer"] = (time.perf_counter() - t0) * 1000
    return answer


def _short(question: str, limit: int = 120) -> str:
    q = _WS.sub(" ", question).strip()
    return q if len(q) <= limit else q[: limit - 1] + "…"
