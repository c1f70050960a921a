"""Bad input: the ingest carries on past each bad file with a clear French reason, and
odd questions get a French usage error or an answer, never a crash or unescaped HTML.

One folder holds every bad file plus good ones; the size limit has its own folder (a
limit of 0.001 Mo would refuse every file of the main folder). The page limit is tested
with ``max_pages=3`` and a 5-page PDF rather than a PDF of thousands of pages: the check
is the same comparison (``len(pages) > max_pages``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from assistant import service
from assistant.errors import ConfigError
from assistant.indexing.index import Index
from assistant.ingest.loaders import load_document
from assistant.settings import get_settings
from assistant.types import Answer
from assistant.web.render import render_answer_html

sys.path.insert(0, str(Path(__file__).parent))
from pdf_factory import make_image_only_pdf, make_pdf

ACCENTS = "Réunion du comité de projet à Moûtiers : élus, chef de projet, fête de l'été."
SCRIPT = "<script>alert('pvd')</script>"


SENTENCES = [
    "La revitalisation des centres-bourgs est au cœur du programme.",
    "Le chef de projet anime le comité de pilotage avec les élus.",
    "La convention-cadre vaut opération de revitalisation de territoire.",
    "Les commerces de proximité bénéficient d'un accompagnement dédié.",
    "Le plan d'action est mis à jour chaque année avec les partenaires.",
]


def _pages(n: int, topic: str = "revitalisation") -> list[list[str]]:
    # Different text on each page: lines repeated on every page (even with only a number
    # changing) are dropped as running headers and footers.
    return [[f"Note sur la {topic} des centres-bourgs." if i == 0 else "", SENTENCES[i]]
            for i in range(n)]


@pytest.fixture(scope="module")
def bad_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bad-input")
    folder = root / "docs"
    folder.mkdir()
    # the good files
    (folder / "convention.md").write_text(
        "# Convention d'adhésion\n\nLa convention d'adhésion est signée par la commune, "
        "l'intercommunalité et l'État dans les dix-huit mois.\n", encoding="utf-8")
    (folder / "ort.md").write_text(
        "# ORT\n\nUne opération de revitalisation de territoire (ORT) est un outil "
        f"juridique. Exemple de texte piégé : {SCRIPT}\n", encoding="utf-8")
    # the bad ones
    (folder / "vide.txt").write_bytes(b"")
    full = make_pdf(root / "complet.pdf", _pages(2)).read_bytes()
    (folder / "tronque.pdf").write_bytes(full[: len(full) // 3])
    from pypdf import PdfWriter

    PdfWriter().write(str(folder / "zero-page.pdf"))
    make_pdf(folder / "protege.pdf", _pages(1), user_password="secret")
    make_pdf(folder / "chiffre-sans-mot-de-passe.pdf", _pages(1, "rénovation"),
             user_password="", owner_password="proprietaire")
    make_image_only_pdf(folder / "scan.pdf")
    (folder / "image-png.pdf").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 200)
    (folder / "texte.pdf").write_text("Ceci est du texte, pas un PDF.", encoding="utf-8")
    (folder / "pdf-deguise.docx").write_bytes(full)
    make_pdf(folder / "cinq-pages.pdf", _pages(5))
    (folder / "cp1252.txt").write_bytes(ACCENTS.encode("cp1252"))
    (folder / "copie-de-convention.md").write_bytes((folder / "convention.md").read_bytes())
    return folder


@pytest.fixture(scope="module")
def ingested(bad_folder: Path, tmp_path_factory: pytest.TempPathFactory):
    settings = get_settings(index_dir=tmp_path_factory.mktemp("idx") / "index",
                            embedder="hash", max_pages=3)
    index = Index(settings)
    report = index.ingest([bad_folder])
    failed = {f.source: f.error for f in report.failed}
    docs = {d.source: d for d in index.catalog.documents()}
    return settings, index, report, failed, docs


EXPECTED_FAILURES = {
    "vide.txt": "fichier vide",
    "tronque.pdf": "PDF illisible ou tronqué",
    "zero-page.pdf": "PDF illisible ou tronqué : aucune page",
    "protege.pdf": "mot de passe",
    "scan.pdf": "OCR",
    "image-png.pdf": "l'extension .pdf ne correspond pas au contenu",
    "texte.pdf": "l'extension .pdf ne correspond pas au contenu",
    "cinq-pages.pdf": "trop de pages : 5 (limite 3)",
}


@pytest.mark.parametrize("source", sorted(EXPECTED_FAILURES))
def test_each_bad_file_fails_with_a_french_reason(ingested, source: str) -> None:
    _, _, _, failed, docs = ingested
    assert source in failed, f"{source} should have failed; failed={failed}"
    assert EXPECTED_FAILURES[source] in failed[source]
    assert source not in docs


def test_only_the_bad_files_fail_and_every_other_file_is_indexed(ingested) -> None:
    _, _, report, failed, docs = ingested
    assert set(failed) == set(EXPECTED_FAILURES)
    assert set(docs) == {"convention.md", "ort.md", "chiffre-sans-mot-de-passe.pdf",
                         "pdf-deguise.docx", "cp1252.txt"}
    assert report.added == len(docs)
    assert report.duplicates == [{"source": "copie-de-convention.md", "same_as": "convention.md"}]
    assert report.chunks > 0


def test_password_message_tells_what_to_do(ingested) -> None:
    failed = ingested[3]
    assert failed["protege.pdf"] == (
        "PDF protégé par un mot de passe : retirez la protection puis réessayez")


def test_empty_password_pdf_is_read(ingested) -> None:
    index = ingested[1]
    doc = ingested[4]["chiffre-sans-mot-de-passe.pdf"]
    text = " ".join(p.text for p in index.catalog.pages(doc.doc_id))
    assert "rénovation des centres-bourgs" in text


def test_cp1252_text_is_read_with_accents(ingested) -> None:
    index = ingested[1]
    doc = ingested[4]["cp1252.txt"]
    text = " ".join(p.text for p in index.catalog.pages(doc.doc_id))
    assert ACCENTS in " ".join(text.split())
    assert "\ufffd" not in text


def test_pdf_renamed_docx_is_read_as_pdf_with_a_warning(bad_folder: Path, ingested) -> None:
    doc = load_document(bad_folder / "pdf-deguise.docx")
    assert doc.format == "pdf"
    assert "contenu PDF sous l'extension .docx" in doc.warnings
    index = ingested[1]
    pages = index.catalog.pages(ingested[4]["pdf-deguise.docx"].doc_id)
    assert len(pages) == 2 and "revitalisation" in pages[0].text


def test_same_file_under_two_names_is_indexed_once_with_both_paths(ingested) -> None:
    docs = ingested[4]
    assert "copie-de-convention.md" not in docs
    assert docs["convention.md"].meta["extra"]["aliases"] == ["copie-de-convention.md"]


def test_file_over_the_size_limit(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "petit.md").write_text("# Court\n\nUn texte court.\n", encoding="utf-8")
    (folder / "gros.md").write_text("# Gros\n\n" + "Un long texte sur la commune. " * 100,
                                    encoding="utf-8")
    settings = get_settings(index_dir=tmp_path / "index", embedder="hash", max_file_mb=0.001)
    index = Index(settings)
    report = index.ingest([folder])
    failed = {f.source: f.error for f in report.failed}
    assert set(failed) == {"gros.md"}
    assert failed["gros.md"].startswith("fichier trop volumineux : 0.0 Mo (limite 0.001 Mo")
    assert "ASSISTANT_MAX_FILE_MB" in failed["gros.md"]
    assert [d.source for d in index.catalog.documents()] == ["petit.md"]


# ---- questions ------------------------------------------------------------------------


@pytest.mark.parametrize("question", ["", "   ", "?!...", "« ? » — !!! ;;; …"])
def test_empty_or_punctuation_question_is_a_french_usage_error(ingested, question: str) -> None:
    settings = ingested[0]
    with pytest.raises(ConfigError, match="la question est vide : posez une question avec"):
        service.ask(settings, question)


def test_ten_thousand_character_question_is_handled_quickly(ingested) -> None:
    settings = ingested[0]
    question = ("Quelle est la convention d'adhésion de la commune ? " * 250)[:10_000]
    assert len(question) == 10_000
    service.ask(settings, "convention d'adhésion")  # models load once per process
    t0 = time.perf_counter()
    answer = service.ask(settings, question)
    elapsed = time.perf_counter() - t0
    assert elapsed < 5, f"{elapsed:.1f} s"
    assert not answer.refused  # the convention's one sentence answers it
    assert [c.source for c in answer.citations] == ["convention.md"]
    assert len(answer.question) <= service.MAX_QUESTION_CHARS


def test_script_in_question_and_passage_is_escaped(ingested) -> None:
    settings = ingested[0]
    answer = service.ask(settings, f"{SCRIPT} Qu'est-ce qu'une opération de revitalisation ?")
    html = render_answer_html(answer, contact=settings.contact)
    assert "<script" not in html.lower()
    # Whatever is answered, a script typed in the question never reaches the page raw…
    assert "alert('pvd')</script>" not in html
    # …and a refusal that repeats the question shows it escaped.
    echoed = Answer(question=SCRIPT, text=f"Les documents ne répondent pas à « {SCRIPT} ».",
                    refused=True, citations=[])
    assert "&lt;script&gt;alert(" in render_answer_html(echoed, contact=settings.contact)


def test_script_answer_html_escapes_a_quoted_script(ingested) -> None:
    settings = ingested[0]
    answer = service.ask(settings, "Qu'est-ce qu'une opération de revitalisation de territoire ?")
    assert not answer.refused and [c.source for c in answer.citations] == ["ort.md"]
    html = render_answer_html(answer, contact=settings.contact)
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(" in html  # the cited passage holds it: shown escaped
