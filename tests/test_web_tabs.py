"""The functions behind each tab, and the document routes, on a small hash-embedded index."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from web_corpus import MODANE, UGINE, make_corpus, save_registry

from assistant import service
from assistant.errors import ConfigError
from assistant.search.access import Role
from assistant.settings import get_settings
from assistant.web import discover, tabs
from assistant.web.background import BackgroundIngest, needs_initial_ingest
from assistant.web.library import Library


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("web")
    corpus = make_corpus(root / "corpus")
    settings = get_settings(embedder="hash", index_dir=root / "index", corpus_dir=corpus)
    save_registry(settings)
    report = service.ingest(settings)
    assert not report.failed, report.failed
    return settings


@pytest.fixture(scope="module")
def index(env):
    return service.open_index(env)


@pytest.fixture(scope="module")
def library(index):
    """Everything, as Agate staff see it."""
    return Library(index, Role("agate"))


def _doc_id(index, source: str) -> str:
    doc = tabs.find_document(index, source)
    assert doc is not None, source
    return doc.doc_id


# -- Discuter -----------------------------------------------------------------------------


def test_commune_choices_and_filters(env, library):
    communes = tabs.load_communes(env)
    choices = tabs.commune_choices(communes, library)
    assert choices[0] == ("Toutes les communes", "")
    assert ("Modane (73157)", MODANE) in choices
    assert tabs.filters_for_commune("", communes) == (None, "")
    filters, scope = tabs.filters_for_commune(MODANE, communes)
    assert filters.communes == [MODANE] and filters.include_general
    assert scope == "commune : Modane"


def test_commune_filter_restricts_answers(env):
    filters, _ = tabs.filters_for_commune(UGINE, tabs.load_communes(env))
    hits = service.search(env, "convention-cadre signée", filters=filters, k=10)
    assert hits
    assert all(h.source != "suivi/suivi-modane.md" for h in hits)


def test_epci_choices(env, library):
    choices = tabs.epci_choices(tabs.load_communes(env), library)
    assert choices[0] == ("Tous les EPCI", "")
    assert ("CA Arlysère", "200068674") in choices


# -- Rechercher ---------------------------------------------------------------------------


def test_search_rows_and_csv_export(env, tmp_path):
    hits = service.search(env, "chef de projet financé", k=5)
    rows = tabs.search_rows(hits)
    assert rows[0]["rank"] == 1
    top = next(r for r in rows if r["source"] == "programme/pvd-eligibilite.pdf")
    assert top["page"] in (1, 2, 3)
    assert top["url"].startswith(f"/documents/{top['doc_id']}/viewer?page=")
    html = tabs.search_results_html(rows, {MODANE: "Modane"})
    assert "score" not in html
    assert "Ouvrir le document (p." in html
    path = tabs.export_csv(hits, tmp_path / "out" / "r.csv", base_url="http://x")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        data = list(csv.reader(handle, delimiter=";"))
    assert data[0] == tabs.CSV_HEADERS
    assert len(data) == len(rows) + 1
    assert any(r[2] == "programme/pvd-eligibilite.pdf" for r in data[1:])
    assert all(r[9].startswith("http://x/documents/") for r in data[1:])


def test_search_groups_by_document_and_says_when_nothing_fits(env, tmp_path):
    found = tabs.grouped_search(env, "convention-cadre signée", None, 10, None)
    sources = [r["source"] for r in found.rows]
    assert len(sources) == len(set(sources)) >= 2  # one passage per document
    assert [r["rank"] for r in found.rows] == list(range(1, len(found.rows) + 1))
    assert found.relevant and tabs.empty_notice(found, "", "", [], {}) == ""
    # Ugine's study is about a brownfield: nothing there about a shop manager.
    ugine = tabs.grouped_search(env, "manager de commerce", tabs.search_filters(
        UGINE, "", ["etude"]), 10, None)
    assert not ugine.relevant
    notice = tabs.empty_notice(ugine, UGINE, "", ["etude"], {UGINE: "Ugine"})
    assert notice.startswith("Aucune étude de ce type pour Ugine ne traite de « manager de "
                             "commerce »")
    html = tabs.search_results_html(ugine, {UGINE: "Ugine"}, notice=notice)
    assert 'class="pvd-notice"' in html and "Ugine – Reconversion" in html
    # The CSV speaks names and labels, not INSEE codes and «etude».
    rows = tabs.csv_rows(ugine.rows, {UGINE: "Ugine"})
    path = tabs.export_csv(rows, tmp_path / "u.csv")
    text = path.read_text(encoding="utf-8-sig")
    assert "Étude" in text and "Ugine" in text
    assert ";etude;" not in text and UGINE not in text


def test_search_filters(env):
    f = tabs.search_filters(MODANE, "", ["suivi"], 2020, 2024.0)
    assert f.communes == [MODANE] and f.doc_types == ["suivi"]
    assert (f.year_min, f.year_max) == (2020, 2024)
    hits = service.search(env, "convention-cadre", filters=f, k=10)
    assert hits and {h.source for h in hits} == {"suivi/suivi-modane.md"}
    with pytest.raises(ConfigError, match="période vide"):
        tabs.search_filters(year_from=2025, year_to=2020)
    assert tabs.search_filters(year_from=None, year_to="").is_empty()
    assert tabs.year_choices()[0] == ("Toutes", "")
    assert ("2024", "2024") in tabs.year_choices()


def test_empty_results_message():
    assert "Aucun passage" in tabs.search_results_html([])


# -- Documents ----------------------------------------------------------------------------


def test_documents_table_html_has_all_columns_and_filters(env, library):
    names = {MODANE: "Modane", UGINE: "Ugine"}
    html = tabs.documents_table_html(library, names)
    for header in ("Titre", "Type", "Communes", "Date", "Visibilité"):
        assert f"<th>{header}</th>" in html
    assert "01/03/2024" in html and "Public" in html
    only = tabs.documents_table_html(library, names, doc_type="suivi")
    assert "Fiche de suivi PVD – Modane" in only and "Glossaire" not in only
    assert "Ugine" in tabs.documents_table_html(library, names, commune=UGINE)
    assert "Modane" not in tabs.documents_table_html(library, names, commune=UGINE)
    assert "Glossaire PVD" in tabs.documents_table_html(library, names, text="glossaire")
    assert "Aucun document" in tabs.documents_table_html(library, names, text="zzz")


def test_account_commune_preselects_an_elus_commune():
    from assistant.search.access import Role
    from assistant.web.auth import Visitor

    choices = [("Toutes les communes", ""), ("Modane (73157)", MODANE)]
    assert tabs.account_commune(Visitor("m", Role("elu", MODANE)), choices) == MODANE
    assert tabs.account_commune(Visitor("a", Role("agate")), choices) == ""
    assert tabs.account_commune(Visitor("x", Role("elu", "01001")), choices) == ""
    assert tabs.account_commune(None, choices) == ""


def test_documents_table(env, library):
    rows = tabs.documents_table(library, {MODANE: "Modane", UGINE: "Ugine"})
    assert len(rows[0]) == len(tabs.DOCUMENT_HEADERS)
    by_file = {r[-1]: r for r in rows}
    pdf = by_file["programme/pvd-eligibilite.pdf"]
    assert pdf[1] == "Texte du programme" and pdf[4] == 3 and pdf[5] >= 1
    assert by_file["suivi/suivi-modane.md"][2] == "Modane"
    assert by_file["etudes/etude-ugine-friche.md"][7] == "oui"
    assert by_file["suivi/suivi-modane.md"][8] == "Public"
    assert tabs.VISIBILITY_LABELS == {"public": "Public", "commune": "Commune",
                                      "interne": "Interne (Agate)"}
    assert len(tabs.document_choices(library)) == len(rows)


@pytest.mark.parametrize("name, expected", [
    ("Étude commerce 2024.pdf", "Étude commerce 2024.pdf"),
    ("/etc/x/../rapport.md", None),
    ("..\\..\\win.txt", None),
    ("C:\\Users\\a\\note.txt", None),
    ("dossier/sous dossier/fiche.docx", "fiche.docx"),
    ("..pdf", None),
    ('we"ird<>name.csv', "we_ird__name.csv"),
    ("script.exe", None),
    ("noext", None),
])
def test_sanitize_filename(name, expected):
    if expected is None:
        with pytest.raises(ConfigError):
            tabs.sanitize_filename(name)
    else:
        assert tabs.sanitize_filename(name) == expected


def test_save_upload_validates_each_file(tmp_path):
    settings = get_settings(embedder="hash", index_dir=tmp_path / "idx", max_file_mb=0.001)
    src = tmp_path / "src"
    src.mkdir()
    ok = src / "Note de synthèse.md"
    ok.write_text("# Note\n\nCourt.", encoding="utf-8")
    big = src / "gros.txt"
    big.write_text("x" * 5000, encoding="utf-8")
    bad = src / "virus.exe"
    bad.write_bytes(b"MZ")
    result = tabs.save_upload([str(ok), str(big), str(bad), str(src / "absent.pdf")], settings)
    assert result.saved == [tmp_path / "idx" / "uploads" / "Note de synthèse.md"]
    assert len(result.errors) == 3
    assert any("trop volumineux" in e for e in result.errors)
    assert any("format non accepté" in e for e in result.errors)
    assert any("illisible" in e for e in result.errors)


def test_upload_then_remove(tmp_path):
    settings = get_settings(embedder="hash", index_dir=tmp_path / "idx")
    src = tmp_path / "up"
    src.mkdir()
    (src / "Compte rendu comité.md").write_text(
        "# Compte rendu\n\nLe comité de projet a validé la halle gourmande.", encoding="utf-8")
    saved = tabs.save_upload([str(src / "Compte rendu comité.md")], settings)
    report = service.ingest(settings, saved.saved)
    assert report.added == 1
    index = service.open_index(settings)
    hits = service.search(settings, "halle gourmande", k=3)
    assert hits[0].source == "Compte rendu comité.md"
    doc_id = hits[0].metadata["doc_id"]
    message = tabs.remove_document(index, doc_id)
    assert "supprimé" in message
    assert index.catalog.document(doc_id) is None
    assert not saved.saved[0].exists()  # our uploaded copy goes too
    with pytest.raises(ConfigError):
        tabs.remove_document(index, doc_id)


# -- Découvrir ----------------------------------------------------------------------------


def test_glossary_from_index(env, index, library):
    entries, doc_id = discover.glossary_entries(library)
    assert doc_id == _doc_id(index, "glossaire/glossaire-pvd.md")
    terms = {e.term: e.definition for e in entries}
    assert terms["ORT"].startswith("Opération de revitalisation")
    html = discover.glossary_html(entries, doc_id)
    assert "<dt>OPAH-RU</dt>" in html and "Ouvrir le glossaire complet" in html


def test_glossary_fallback_and_parser(tmp_path):
    settings = get_settings(embedder="hash", index_dir=tmp_path / "empty")
    entries, doc_id = discover.glossary_entries(
        Library(service.open_index(settings), Role("admin")))
    assert doc_id == "" and any(e.term == "ORT" for e in entries)
    parsed = discover.parse_glossary(
        "Glossaire\nPLU : Plan local d'urbanisme,\nqui fixe les règles.\nPage 2 / 5\n"
        "| SCoT | Schéma de cohérence territoriale |")
    assert parsed == [("PLU", "Plan local d'urbanisme, qui fixe les règles."),
                      ("SCoT", "Schéma de cohérence territoriale")]


def test_timeline_links_steps_to_documents(env, index, library):
    steps = discover.programme_steps(library)
    assert [s["title"] for s in steps][:2] == ["Sélection", "Convention d'adhésion"]
    pdf_id = _doc_id(index, "programme/pvd-eligibilite.pdf")
    assert steps[0]["url"].startswith(f"/documents/{pdf_id}/viewer?page=")
    etapes_id = _doc_id(index, "programme/pvd-etapes.pdf")  # found as the .md version
    assert steps[1]["url"] == f"/documents/{etapes_id}/text"
    html = discover.timeline_html(steps)
    assert html.count('class="pvd-step"') == 5


def test_reading_path(env, library):
    items = discover.reading_path(library)
    titles = [i["title"] for i in items]
    assert titles[0] == "Critères d'éligibilité et financement du chef de projet"
    assert "Glossaire PVD" in titles
    assert "<ol" in discover.reading_path_html(items)
    assert "pas encore indexés" in discover.reading_path_html([])


# -- app: routes, background ingest -------------------------------------------------------


def test_document_routes(env, index):
    from fastapi.testclient import TestClient

    from assistant.web.app import create_app

    app, _ = create_app(env, start_ingest=False)
    client = TestClient(app)
    pdf_id = _doc_id(index, "programme/pvd-eligibilite.pdf")
    r = client.get(f"/documents/{pdf_id}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF") and "inline" in r.headers["content-disposition"]
    assert client.get("/documents/../../etc/passwd").status_code == 404
    assert client.get("/documents/0000000000000000").status_code == 404
    md_id = _doc_id(index, "suivi/suivi-modane.md")
    r = client.get(f"/documents/{md_id}/text", params={"q": "La convention-cadre de Modane"})
    assert r.status_code == 200
    assert '<mark id="passage">La convention-cadre de Modane</mark>' in r.text
    assert "l&#x27;État" in r.text
    r = client.get(f"/documents/{pdf_id}/text", params={"page": 2})
    assert "Page 2" in r.text and "chef de projet" in r.text
    assert client.get("/healthz").json()["ok"] is True
    assert client.get("/").status_code == 200


def test_background_ingest_on_first_start(tmp_path):
    corpus = make_corpus(tmp_path / "corpus")
    settings = get_settings(embedder="hash", index_dir=tmp_path / "idx", corpus_dir=corpus)
    assert needs_initial_ingest(settings)
    seen: list[tuple[int, int]] = []
    job = BackgroundIngest(settings)
    original = job._progress

    def spy(done: int, total: int, label: str) -> None:
        seen.append((done, total))
        original(done, total, label)

    job._progress = spy  # type: ignore[method-assign]
    assert job.start()
    job.join(60)
    status = job.snapshot()
    assert status.finished and not status.running and not status.error
    assert status.report is not None and status.report.added == 6
    assert seen[-1] == (6, 6)
    assert not needs_initial_ingest(settings)


def test_build_ui(env):
    import ui

    blocks = ui.build_ui(env)
    assert blocks.title == "Assistant PVD"
    assert "Toutes les communes" in str(blocks.config)


def test_uploads_dir_is_inside_index(env):
    assert tabs.upload_dir(env) == Path(env.index_dir) / "uploads"


# -- Discuter: one chat turn ----------------------------------------------------------------


def test_chat_turn_answers_with_cards_and_copy_text(env):
    from assistant.web.chat import chat_turn

    communes = tabs.load_communes(env)
    turn = chat_turn(env, "Comment est financé le chef de projet ?", [], MODANE, communes)
    user, bot = turn.history
    assert user == {"role": "user", "content": "Comment est financé le chef de projet ?"}
    assert 'id="cit-0-1"' in bot["content"]
    assert turn.last["commune"] == MODANE and turn.last["citations"]
    assert "Sources :" in turn.plain_text
    again = chat_turn(env, "Qu'est-ce qu'une ORT ?", turn.history, "", communes)
    assert len(again.history) == 4
    assert again.last is not None and not again.last["refused"]
    # A definition question: the glossary is boosted to the first citation.
    assert again.last["citations"][0]["source"] == "glossaire/glossaire-pvd.md"
    assert 'id="cit-1-1"' in again.history[-1]["content"]


def test_chat_turn_while_indexing_and_empty_question(env):
    from assistant.web.chat import chat_turn

    turn = chat_turn(env, "<b>ORT</b> ?", None, "", {}, indexing=True)
    assert turn.history[0]["content"] == "&lt;b&gt;ORT&lt;/b&gt; ?"
    assert "indexation des documents est en cours" in turn.history[1]["content"]
    assert turn.last is None and turn.plain_text == ""
    with pytest.raises(ConfigError, match="écrivez d'abord votre question"):
        chat_turn(env, "   ", None, "", {})


def test_english_question_asks_for_french(env):
    from assistant.web.chat import chat_turn, is_english

    assert is_english("What is the funding for the project manager?")
    assert not is_english("Comment est financé le chef de projet ?")
    assert not is_english("Qu'est-ce qu'une ORT ?")
    turn = chat_turn(env, "How is the project manager funded?", None, "", {})
    assert "posez votre question en français" in turn.history[-1]["content"]
    assert turn.last is None


def test_status_record_citations_open_their_document(env):
    from assistant.web.chat import chat_turn

    turn = chat_turn(env, "Où en est la convention-cadre de Modane ?", None, MODANE,
                     tabs.load_communes(env))
    content = turn.history[-1]["content"]
    assert "Fiche de suivi PVD – Modane" in content
    assert content.count('class="pvd-open"') == content.count('<details class="pvd-chip') >= 1


def test_chat_turn_refusal_is_styled(env):
    from assistant.web.chat import chat_turn

    turn = chat_turn(env, "Quelle est la recette de la tartiflette au reblochon ?", None, "", {})
    content = turn.history[-1]["content"]
    if turn.last["refused"]:  # the hash embedder may or may not refuse; the box must match
        assert 'class="pvd-refusal"' in content and "adressez-vous" in content
    else:
        assert 'class="pvd-answer"' in content


def test_glossary_parser_reads_table_rows_and_dashes():
    text = (
        "Glossaire Petites villes de demain\n"
        "Date : 20 janvier 2025 Émetteur : Agate\n"
        "1. Tableau des sigles\n"
        "Sigle : ACV ; Signification : Action cœur de ville\n"
        "2. Organismes et acteurs\n"
        "ANCT – Agence nationale de la cohésion des territoires : établissement public.\n"
        "Cerema : établissement public d'expertise technique de l'État, qui appuie\n"
        "les collectivités sur l'aménagement.\n"
    )
    assert discover.parse_glossary(text) == [
        ("ACV", "Action cœur de ville"),
        ("ANCT – Agence nationale de la cohésion des territoires", "établissement public."),
        ("Cerema", "établissement public d'expertise technique de l'État, qui appuie "
                   "les collectivités sur l'aménagement."),
    ]
