"""Rendering of answers, citation cards and status banners: escaped, linked, highlighted."""

from __future__ import annotations

from assistant.types import Answer, Citation, Hit, NearSource
from assistant.web import render


def _citation(**kw) -> Citation:
    base = dict(n=1, source="programme/pvd-eligibilite.pdf", title="Critères d'éligibilité",
                page=2, pages=[2], quote="Le chef de projet est financé à 75 %.", score=0.9,
                doc_type="programme", chunk_id="c1",
                passage="Le chef de projet\nLe chef de projet est financé à 75 %.\nSuite.")
    base.update(kw)
    return Citation(**base)


def _answer(citations: list[Citation], text: str = "Il est financé à 75 %. [1]") -> Answer:
    hits = [Hit(chunk_id=c.chunk_id, text=c.passage, score=c.score,
                metadata={"doc_id": f"doc{c.n}", "source": c.source}) for c in citations]
    return Answer(question="Comment ?", text=text, refused=False, citations=citations, hits=hits)


def test_card_shows_title_type_page_mark_and_link():
    html = render.citation_card_html(_citation(), "abc123", anchor="cit-0-1")
    assert 'id="cit-0-1"' in html
    assert "Critères d&#x27;éligibilité" in html
    assert "Texte du programme" in html and "p. 2" in html
    assert "<mark>Le chef de projet est financé à 75 %.</mark>" in html
    assert 'href="/documents/abc123/viewer?page=2&amp;q=Le%20chef%20de%20projet' in html
    assert "Ouvrir le document (p. 2)" in html
    assert "\n" not in html  # a raw newline could end the HTML block in the chatbot's Markdown
    assert "exemple" not in html


def test_card_escapes_document_text():
    c = _citation(title="<script>alert(1)</script>", passage="a <b>gras</b> & co",
                  quote="<b>gras</b>")
    html = render.citation_card_html(c, "d")
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html
    assert "<mark>&lt;b&gt;gras&lt;/b&gt;</mark>" in html


def test_exemple_badge_and_non_pdf_link():
    c = _citation(exemple=True, page=None, pages=[], source="etudes/e.md", communes=["73303"])
    html = render.citation_card_html(c, "d9", commune_names={"73303": "Ugine"})
    assert "pvd-badge-exemple" in html and ">exemple<" in html
    assert 'href="/documents/d9/text?q=' in html
    assert "Ouvrir le document</a>" in html
    assert "Ugine" in html


def test_highlight_tolerates_line_breaks_and_missing_quote():
    out = render.highlight("début\nLe chef de\nprojet est là. fin", "Le chef de projet est là.")
    assert "<mark>Le chef de<br>projet est là.</mark>" in out
    assert render.highlight("autre texte", "absent") == "<mark>absent</mark>"


def test_highlight_cuts_long_passages_around_the_quote():
    passage = "x" * 2000 + " la phrase citée. " + "y" * 2000
    out = render.highlight(passage, "la phrase citée.", context=100)
    assert out.startswith("…") and out.endswith("…")
    assert len(out) < 400


def test_answer_links_each_reference_to_its_card():
    a = _answer([_citation(), _citation(n=2, chunk_id="c2", exemple=True)],
                text="Phrase un. [1] Phrase deux. [2] (exemple)")
    html = render.render_answer_html(a, turn=3)
    assert 'href="#cit-3-1"' in html and 'id="cit-3-1"' in html
    assert 'href="#cit-3-2"' in html and 'id="cit-3-2"' in html
    assert "(exemple)" not in html and "pvd-badge-exemple" in html
    assert 'href="/documents/doc1/viewer?page=2' in html  # doc id found through the hits
    # The answer first, then one chip per source that opens into its card.
    assert html.index("Phrase deux.") < html.index('class="pvd-sources"')
    assert html.count('<details class="pvd-chip') == 2
    assert '<span class="pvd-chip-n">1</span>' in html


def test_citation_without_hit_opens_its_document_by_source():
    """Status-record and funding-list citations come without retrieval hits."""
    c = _citation(chunk_id="", source="suivi/suivi-modane.pdf", page=1, pages=[1],
                  quote="Convention-cadre : 29 mars 2023")
    a = Answer(question="Où en est Modane ?", text="Convention-cadre : 29 mars 2023. [1]",
               refused=False, citations=[c])
    html = render.render_answer_html(a, {"suivi/suivi-modane.pdf": "d7"})
    assert 'href="/documents/d7/viewer?page=1&amp;q=Convention-cadre' in html
    assert "Ouvrir le document (p. 1)" in html


def test_bullets_and_newlines_become_real_lists():
    text = ("Financements qui peuvent correspondre :\n• DETR : une dotation. [1]\n"
            "• DSIL : une autre. [2]\nLa sélection relève du préfet.")
    html = render.answer_body_html(text, "cit-0-", {1, 2})
    assert html.startswith('<p class="pvd-answer-text">Financements qui peuvent correspondre')
    assert html.count("<li>") == 2 and "•" not in html
    assert '<ul class="pvd-list"><li>DETR : une dotation.<sup><a class="pvd-ref"' in html
    assert html.endswith('<p class="pvd-answer-text">La sélection relève du préfet.</p>')
    inline = render.answer_body_html("Trois pistes : • A • B • C")
    assert inline.count("<li>") == 3 and "Trois pistes :" in inline
    nested = render.answer_body_html("• Anah : • les aides aux travaux ; • une priorité [1]",
                                     "p-", {1})
    assert nested.startswith('<ul class="pvd-list"><li>Anah :<ul class="pvd-list"><li>les aides')
    assert nested.count("<li>") == 3


def test_answer_text_is_escaped():
    a = _answer([_citation()], text="<img src=x onerror=alert(1)> [1]")
    html = render.render_answer_html(a)
    assert "<img" not in html and "&lt;img" in html


def test_refusal_is_a_distinct_box_naming_whom_to_ask():
    a = Answer(question="Météo ?", text="Je n'ai pas trouvé cette information. J'ai cherché "
               "« Météo ? » dans 320 passages (commune : Modane) sans trouver de passage.",
               refused=True, citations=[],
               nearest=[NearSource("a.pdf", "Doc A", 3), NearSource("a.pdf", "Doc A", 4),
                        NearSource("b.pdf", "Doc B", None)])
    html = render.render_answer_html(a, contact="à Agate")
    assert 'class="pvd-refusal"' in html and "Pas de réponse dans les documents" in html
    assert "adressez-vous à Agate" in html
    assert "Doc A" in html and "(p. 3)" in html
    assert html.count("Doc A") == 1 and "(p. 4)" not in html and "Doc B" in html
    assert "320" not in html and "passages" not in html
    assert "pvd-card" not in html


def test_refusal_shows_the_nearby_passages_it_cites_as_chips():
    a = _answer([_citation()], text="Je n'ai pas de réponse sûre. Le plus proche : le chef de "
                "projet est financé à 75 %. [1]")
    a.refused = True
    a.nearest = [NearSource("programme/pvd-eligibilite.pdf", "Critères d'éligibilité", 2)]
    html = render.render_answer_html(a, turn=3, contact="à Agate")
    assert 'class="pvd-refusal"' in html and "Pas de réponse dans les documents" in html
    assert "Passages les plus proches" in html and 'class="pvd-chip"' in html
    assert 'href="#cit-3-1"' in html and 'id="cit-3-1"' in html
    assert "<mark>Le chef de projet est financé à 75 %.</mark>" in html
    assert 'href="/documents/doc1/viewer?page=2' in html
    assert "adressez-vous à Agate" in html and "\n" not in html


def test_plain_text_lists_sources():
    a = _answer([_citation()])
    text = render.answer_plain_text(a, base_url="http://h:1/")
    assert text.startswith("Il est financé à 75 %. [1]")
    assert "Sources :" in text
    assert "[1] Critères d'éligibilité — programme/pvd-eligibilite.pdf, p. 2" in text
    assert "« Le chef de projet est financé à 75 %. »" in text
    assert "http://h:1/documents/doc1/viewer?page=2" in text
    assert "<" not in text


def test_ingest_status_banner():
    html = render.ingest_status_html(3, 12, "suivi/<x>.pdf")
    assert "Indexation des documents en cours… 3 / 12 fichiers" in html
    assert 'value="3"' in html and "&lt;x&gt;" in html


def test_document_url():
    assert render.document_url("abc", 4) == "/documents/abc/viewer?page=4"
    assert render.document_url("abc", 4, "a  b") == "/documents/abc/viewer?page=4&q=a%20b"
    assert render.document_url("abc") == "/documents/abc/text"
    assert render.document_url("abc", None, "é a") == "/documents/abc/text?q=%C3%A9%20a"


def test_account_line_names_the_commune_of_an_elu():
    from assistant.search.access import Role
    from assistant.web.auth import Visitor, header_html

    visitor = Visitor("maire", Role("elu", "73157"))
    line = render.account_line(header_html(visitor), visitor, {"73157": "Modane"})
    assert "élu de Modane" in line and "73157" not in line
    ugine = Visitor("x", Role("elu", "73303"))
    assert "élu d&#x27;Ugine" in render.account_line(header_html(ugine), ugine, {"73303": "Ugine"})
