"""A record's labelled rows («Rubrique : Financeurs pressentis ; Contenu : …»): the row asked for.

Fiches actions (the convention-cadre model, the studies) are written as one row per field.
«la fiche friche elle est financée par qui ?» asks the «Financeurs pressentis» row of the
fiche about a brownfield, which shares few words with the question and none with its
subject: the field is named by what is asked, the fiche by its title.
"""

from __future__ import annotations

import re
from dataclasses import replace

from assistant.answer.answerability import QUESTION_TERMS
from assistant.answer.sentences import FIELD_CONTENT, FOLLOW_UP_JOIN, Candidate
from assistant.indexing.catalog import Catalog
from assistant.indexing.lexical import analyze, fold_words

# What is asked, and the labels of the rows that give it.
_ASKED_FIELDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(financ\w*|qui pa[yi]\w*|subvention\w*|qui met\w*)\b"),
     r"financeur|financement"),
    (re.compile(r"\b(qui (la |le |les |l )?port\w*|porteur|maitre d ouvrage|qui (la |le |les |l )?"
                r"pilot\w*|pilote)\b"), r"maitre d ouvrage|pilote"),
    (re.compile(r"\b(cout\w*|combien|cb|montant|chiffre\w*|budget)\b"), r"cout|montant"),
    (re.compile(r"\b(quand|calendrier|delai|duree|echeance)\b"), r"calendrier"),
    (re.compile(r"\b(indicateur\w*|suit|suivre|suivie?|mesur\w*|evalu\w*)\b"), r"indicateur"),
    # «l'étude des Échelles c'est quel type d'étude ?»: its cover's «Type de document»
    (re.compile(r"\b(quel\w* (type|genre|sorte)|type d etude|genre d etude)\b"),
     r"type de document"),
    (re.compile(r"\b(theme\w*|sujet|porte sur quoi|parle de quoi)\b"), r"theme"),
)
# «Fiche action n° 2 – Requalification de la place centrale»: a record's title.
_TITLE = re.compile(r"^Fiche action n")
ROW_BONUS = 0.3  # above the words a neighbouring row shares with the subject
# Words every fiche's title or every question about one shares.
_GENERIC = set(analyze("fiche fiches action actions modèle convention conventions cadre "
                       "rubrique contenu intitulé"))


def _record(text: str, start: int) -> tuple[str, list[tuple[int, int, str]]]:
    """The record the line at ``start`` belongs to: its title line ("" when the page opens
    on its rows) and its rows, (start, end, text) in the page."""
    line_start = text.rfind("\n", 0, start) + 1
    offset = line_start
    # back to the title: the first line above that is no row; a title's record starts at it
    # (the rows above it are the previous fiche's)
    at_title = not FIELD_CONTENT.match(text[line_start:].split("\n", 1)[0].strip())
    for line in ([] if at_title else reversed(text[:line_start].split("\n")[:-1])):
        offset -= len(line) + 1
        if not FIELD_CONTENT.match(line.strip()):
            break
    title, rows, pos = "", [], offset
    for i, line in enumerate(text[offset:].split("\n")):
        if FIELD_CONTENT.match(line.strip()):
            rows.append((pos, pos + len(line), line))
        elif i == 0:
            title = line
        elif pos > start:
            break  # the next record's title
        pos += len(line) + 1
    return title, rows


def _record_words(text: str, start: int) -> set[str]:
    """The stems of the record a row belongs to: its title and the contents of the rows
    above it."""
    title, rows = _record(text, start)
    line_start = text.rfind("\n", 0, start) + 1
    words = set(analyze(title))
    for row_start, _, line in rows:
        m = FIELD_CONTENT.match(line.strip())
        if row_start < line_start and m:
            words |= set(analyze(line.strip()[m.end():]))
    return words


def _names_field(label: str, fields: list[str]) -> bool:
    """The row's label («Financeurs pressentis») is one of the fields asked."""
    return any(re.search(field, fold_words(label)) for field in fields)


def boost_asked_rows(cands: list[Candidate], question: str, catalog: Catalog) -> None:
    """The row whose label names what this turn asks, in the record the question is about,
    comes first; when the passages read stop before that row (a fiche cut by the chunking),
    it is read from the page."""
    own = fold_words(question.rsplit(FOLLOW_UP_JOIN, 1)[-1])
    labels = [label for asked, label in _ASKED_FIELDS if asked.search(own)]
    if not labels:
        return
    subject = set(analyze(question)) - QUESTION_TERMS - set(analyze(own)) - _GENERIC
    if not subject:
        subject = set(analyze(question)) - QUESTION_TERMS - _GENERIC
    docs: dict[str, list] = {}  # a document's pages, read once
    seen = {(c.hit.source, c.page_idx, c.start) for c in cands}
    added: list[Candidate] = []
    found = False  # a row of the field asked, in the record asked about
    others: list[Candidate] = []  # rows of the field asked, in records about something else
    for c in list(cands):
        m = FIELD_CONTENT.match(c.text.strip())
        if not m and not _TITLE.match(c.text.strip()):
            continue
        doc_id = str(c.hit.metadata.get("doc_id"))
        if doc_id not in docs:
            docs[doc_id] = catalog.pages(doc_id)
        text = docs[doc_id][c.page_idx].text if c.page_idx < len(docs[doc_id]) else ""
        if m and _names_field(m["label"], labels):
            if subject & _record_words(text, c.start):
                c.score += ROW_BONUS
                found = True
            else:
                others.append(c)
            continue
        # A row of another field, or the title, of a record about the subject: its row of
        # the field asked, when the passages did not hold it.
        _, rows = _record(text, c.start)
        record = set().union(*(set(analyze(t)) for _, _, t in rows)) | set(analyze(c.text))
        if len(subject & record) < 2:
            continue
        for start, end, line in rows:
            label = FIELD_CONTENT.match(line.strip())
            if label and _names_field(label["label"], labels) and (
                    (c.hit.source, c.page_idx, start) not in seen):
                seen.add((c.hit.source, c.page_idx, start))
                added.append(replace(c, start=start, end=end, text=line.strip(),
                                     score=c.score + ROW_BONUS, vector=None,
                                     list_item=False))
    cands.extend(added)
    if found or added:
        # the same field of another fiche («1 200 000 € HT» for the OPAH, asked the square's)
        for c in others:
            c.score -= ROW_BONUS
