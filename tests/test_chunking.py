"""Structure-following chunking."""

import pytest

from assistant.ingest.chunking import chunk_document, count_tokens, split_sentences
from assistant.types import Block, LoadedDocument, Page


def _page(number, items):
    """A page from (kind, text, level) items, blocks separated by newlines."""
    text, blocks, pos = "", [], 0
    for kind, body, level in items:
        if text:
            text += "\n"
            pos += 1
        blocks.append(Block(kind, body, pos, pos + len(body), level))
        text += body
        pos += len(body)
    return Page(number, text, blocks)


def _sentence(i):
    return f"La phrase numéro {i} décrit une action de revitalisation du centre-bourg en détail."


def _doc():
    long_para = " ".join(_sentence(i) for i in range(40))
    p1 = _page(1, [("heading", "1. Objet", 1), ("paragraph", "Court paragraphe d'introduction.", 0),
                   ("heading", "2. Actions", 1), ("paragraph", long_para, 0)])
    p2 = _page(2, [("heading", "3. Financement", 1),
                   ("paragraph", "Le chef de projet est cofinancé à 75 %. " * 3, 0),
                   ("list_item", "• DETR", 0), ("list_item", "• DSIL", 0)])
    return LoadedDocument(pages=[p1, p2], title="Doc")


def test_sizes_within_range_and_offsets_point_into_page_text():
    doc = _doc()
    chunks = chunk_document(doc, "d1", min_tokens=20, max_tokens=120, overlap_tokens=15)
    assert len(chunks) >= 4
    for c in chunks:
        assert count_tokens(c.text) <= 120 + 15 + 10  # max plus overlap and a heading
        page = next(p for p in doc.pages if p.number == c.page_start)
        first_line = c.text.split("\n")[0]
        assert page.text[c.char_start:].startswith(first_line)
        assert c.id.startswith("d1-")


def test_heading_path_and_page_span():
    chunks = chunk_document(_doc(), "d1", min_tokens=20, max_tokens=120)
    financing = [c for c in chunks if "cofinancé" in c.text]
    assert financing and financing[0].heading_path == ["3. Financement"]
    assert financing[0].page_start == 2
    actions = [c for c in chunks if "phrase numéro 30" in c.text]
    assert actions[0].heading_path == ["2. Actions"]


def test_overlap_repeats_the_last_sentence_when_a_section_is_split():
    chunks = chunk_document(_doc(), "d1", min_tokens=20, max_tokens=120, overlap_tokens=25)
    split = [c for c in chunks if c.heading_path == ["2. Actions"]]
    assert len(split) >= 2
    last_of_first = split_sentences(split[0].text)[-1]
    tail = split[0].text[last_of_first[0]:last_of_first[1]]
    assert split[1].text.startswith(tail)


def test_ids_are_stable_and_depend_on_content():
    a = chunk_document(_doc(), "d1")
    b = chunk_document(_doc(), "d1")
    assert [c.id for c in a] == [c.id for c in b]
    assert len({c.id for c in a}) == len(a)


def test_bad_range_is_rejected_with_values():
    with pytest.raises(ValueError, match="got 50, 10"):
        chunk_document(_doc(), "d1", min_tokens=50, max_tokens=10)


def test_small_sections_are_merged_not_emitted_alone():
    chunks = chunk_document(_doc(), "d1", min_tokens=20, max_tokens=120)
    assert not any(c.text.strip() == "1. Objet" for c in chunks)
    assert "Court paragraphe" in chunks[0].text
