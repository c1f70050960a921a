"""End to end in Chromium: the real app, the real default model, a small generated corpus."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from web_corpus import make_corpus, save_registry

from assistant.search.access import Role
from assistant.settings import get_settings
from assistant.web.users import UserStore

PROJECT_ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SHOTS = PROJECT_ROOT / "test-output" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
UPLOAD_PHRASE = "belvédère des Arolles"
AGATE_USER, AGATE_PASSWORD = "claire", "mot-de-passe-de-test"

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is absent (install the Debian chromium package)",
                allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _health(base: str) -> dict | None:
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=2) as r:
            return json.loads(r.read())
    except OSError:
        return None


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[dict]:
    """`assistant serve` on a fresh index: it indexes the corpus itself on first start."""
    root = tmp_path_factory.mktemp("browser")
    corpus = make_corpus(root / "corpus")
    index_dir = root / "index"
    settings = get_settings(index_dir=index_dir, corpus_dir=corpus)
    save_registry(settings)
    # What `assistant users add claire --role agate` writes: uploads need an Agate account.
    UserStore(settings.users_path).add(AGATE_USER, Role("agate"), AGATE_PASSWORD)
    port = _free_port()
    env = {**os.environ, "ASSISTANT_CORPUS_DIR": str(corpus)}
    log = (root / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-c", "from assistant.cli.main import main; main()", "serve",
         "--host", "127.0.0.1", "--port", str(port), "--index", str(index_dir)],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    first_status = None
    try:
        deadline = time.time() + 240
        while time.time() < deadline:
            status = _health(base)
            if status is not None:
                first_status = first_status or status
                if not status["indexing"] and status["total"] > 0:
                    break
            if proc.poll() is not None:
                pytest.fail(f"server exited: {(root / 'server.log').read_text()[-3000:]}")
            time.sleep(0.5)
        else:
            pytest.fail(f"server not ready: {(root / 'server.log').read_text()[-3000:]}")
        yield {"base": base, "root": root, "first_status": first_status,
               "log": root / "server.log"}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _no_horizontal_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, f"page is {width}px wide"


def _pick(page, dropdown: str, label: str) -> None:
    page.click(f"{dropdown} input")
    page.click(f'{dropdown} li[role=option][aria-label="{label}"]')
    page.wait_for_timeout(300)


def _open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    page.wait_for_timeout(300)


def test_end_to_end(server, browser, tmp_path):
    base = server["base"]
    # A French browser: Gradio's own labels (upload area, buttons) follow its locale.
    context = browser.new_context(viewport=DESKTOP, locale="fr-FR",
                                  permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto(base + "/")
    page.wait_for_selector("#pvd-question textarea", timeout=60_000)
    # Anonymous first (public role), then log in through the /login form as Agate staff.
    page.wait_for_selector("#pvd-account:has-text('Accès public')")
    page.click("#pvd-account a:has-text('Se connecter')")
    page.wait_for_selector("#pvd-login")
    page.fill("#username", AGATE_USER)
    page.fill("#password", "pas-le-bon")
    page.click("#pvd-login")
    page.wait_for_selector(".error:has-text('Identifiant ou mot de passe incorrect.')")
    page.fill("#password", AGATE_PASSWORD)
    _shot(page, "00-connexion-desktop")
    page.click("#pvd-login")
    page.wait_for_selector("#pvd-question textarea", timeout=60_000)
    page.wait_for_selector(f"#pvd-account:has-text('{AGATE_USER}')")
    assert "Se déconnecter" in page.inner_text("#pvd-account")
    _shot(page, "01-accueil-desktop")

    # Discuter: pick a commune, ask, read the cited card.
    _pick(page, "#pvd-commune", "Modane (73157)")
    page.fill("#pvd-question textarea", "Comment est financé le chef de projet ?")
    page.click("#pvd-send")
    chip = page.locator("#pvd-chat details.pvd-chip").first
    chip.wait_for(timeout=90_000)
    # A «[n]» link in the answer opens its source chip.
    ref = page.locator("#pvd-chat a.pvd-ref").first
    assert ref.get_attribute("href") == "#" + chip.get_attribute("id")
    ref.click()
    card = chip.locator(".pvd-card")
    card.wait_for(state="visible", timeout=5_000)
    text = card.inner_text()
    assert "Critères d'éligibilité et financement du chef de projet" in text
    assert "p. 2" in text
    assert "75 %" in card.locator("mark").first.inner_text()
    _shot(page, "02-reponse-desktop")

    # The card's link opens the PDF viewer at the cited page; the file itself is served.
    href = card.locator("a.pvd-open").get_attribute("href")
    assert "/viewer?page=2&q=" in href
    pdf_url = base + href.split("/viewer")[0]
    response = page.request.get(pdf_url)
    assert response.ok and response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")

    # Copy as plain text, and give feedback.
    copied = page.input_value("#pvd-copy-text textarea")
    assert "Sources :" in copied and "p. 2" in copied
    page.click("#pvd-copy-btn")
    page.wait_for_selector("#pvd-copy-btn:has-text('Réponse copiée')", timeout=5_000)
    assert page.evaluate("navigator.clipboard.readText()") == copied
    page.fill("#pvd-comment textarea", "Clair et sourcé")
    page.click("#pvd-up")
    page.wait_for_selector("#pvd-feedback-msg :text('Merci pour votre avis')")

    # A commune question finds the commune's own document.
    page.fill("#pvd-question textarea", "Où en est la convention-cadre de Modane ?")
    page.click("#pvd-send")
    page.wait_for_function(
        "document.querySelectorAll('#pvd-chat .pvd-answer, #pvd-chat .pvd-refusal').length >= 2",
        timeout=90_000,
    )
    last = page.locator("#pvd-chat .pvd-answer, #pvd-chat .pvd-refusal").last
    assert "Fiche de suivi PVD – Modane" in last.inner_text()
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(500)
    _no_horizontal_scroll(page)
    _shot(page, "03-reponse-mobile")
    page.set_viewport_size(DESKTOP)

    # Rechercher, filtered by commune.
    _open_tab(page, "Rechercher")
    page.fill("#pvd-query textarea", "convention-cadre signée")
    _pick(page, "#pvd-s-commune", "Ugine (73303)")
    page.click("#pvd-search-btn")
    page.locator("#pvd-results .pvd-result").first.wait_for(timeout=60_000)
    results = page.locator("#pvd-results .pvd-result").all_inner_texts()
    assert any("Fiche de suivi PVD – Ugine" in r for r in results)
    assert not any("Modane" in r for r in results)
    _shot(page, "04-recherche-desktop")
    page.click("#pvd-export-btn")
    page.wait_for_selector("#pvd-csv a", timeout=30_000)
    csv_href = page.get_attribute("#pvd-csv a", "href")
    csv_text = page.request.get(csv_href if csv_href.startswith("http") else base + csv_href).text()
    assert "Fiche de suivi PVD – Ugine" in csv_text and f"{base}/documents/" in csv_text
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(500)
    _no_horizontal_scroll(page)
    _shot(page, "05-recherche-mobile")
    page.set_viewport_size(DESKTOP)

    # Documents: upload a PDF, then find its text by search.
    from pdf_factory import make_pdf

    pdf = make_pdf(tmp_path / "Compte rendu comité de projet.pdf", [[
        "Compte rendu du comité de projet",
        "",
        f"Le comité a retenu l'aménagement du {UPLOAD_PHRASE} au-dessus du bourg.",
        "Les travaux du belvédère commenceront au printemps prochain.",
    ]])
    _open_tab(page, "Documents")
    page.set_input_files("#pvd-upload input[type=file]", str(pdf))
    page.wait_for_timeout(1000)
    page.click("#pvd-upload-btn")
    page.wait_for_selector("#pvd-upload-msg :text('indexé')", timeout=120_000)
    assert "visibilité : interne" in page.inner_text("#pvd-upload-msg")  # the default
    assert "Compte rendu comité de projet.pdf" in page.inner_text("#pvd-docs")
    _shot(page, "06-documents-desktop")

    _open_tab(page, "Rechercher")
    _pick(page, "#pvd-s-commune", "Toutes les communes")
    page.fill("#pvd-query textarea", UPLOAD_PHRASE)
    page.click("#pvd-search-btn")
    page.wait_for_function(
        "document.querySelector('#pvd-results') && "
        "document.querySelector('#pvd-results').innerText.includes('Arolles')",
        timeout=60_000,
    )
    first = page.locator("#pvd-results .pvd-result").first.inner_text()
    assert UPLOAD_PHRASE in first

    # ... and remove it again, after confirming.
    _open_tab(page, "Documents")
    _pick(page, "#pvd-remove",
          "Compte rendu comité de projet — Compte rendu comité de projet.pdf")
    page.click("#pvd-remove-btn")
    page.click("#pvd-confirm-remove")
    page.wait_for_selector("#pvd-remove-msg :text('supprimé')", timeout=30_000)
    assert "Compte rendu comité de projet.pdf" not in page.inner_text("#pvd-docs")

    # Découvrir le programme: timeline, reading path, glossary.
    _open_tab(page, "Découvrir")
    page.wait_for_selector("#pvd-timeline .pvd-step")
    assert page.locator("#pvd-timeline .pvd-step").count() == 5
    assert page.locator("#pvd-reading li a").count() >= 2
    page.click("#pvd-glossary-box button")  # the glossary is closed at first
    page.wait_for_selector("#pvd-glossary dt")
    assert "Opération de revitalisation" in page.inner_text("#pvd-glossary")
    _shot(page, "07-decouvrir-desktop")
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(500)
    _no_horizontal_scroll(page)
    _shot(page, "08-decouvrir-mobile")
    page.set_viewport_size(DESKTOP)

    # Logout is a POST form with the session's CSRF token; afterwards the page is public.
    page.click("#pvd-logout")
    page.wait_for_selector("#pvd-account:has-text('Accès public')", timeout=60_000)
    context.close()


def test_indexing_progress_on_the_terminal(server):
    """The terminal running the server shows the first-start indexing, file by file."""
    log = server["log"].read_text()
    assert re.search(r"Indexation : 1 / \d+ fichiers", log), log[-2000:]
    assert "Indexation terminée" in log


def test_feedback_was_stored(server):
    from assistant.web.feedback import FeedbackStore

    entries = FeedbackStore(server["root"] / "index" / "feedback.sqlite3").all()
    assert entries and entries[0].rating == 1
    assert entries[0].comment == "Clair et sourcé" and entries[0].commune == "73157"
    assert entries[0].citations[0]["page"] == 2
