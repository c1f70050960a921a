"""The web app as a mayor, an Agate officer and a new project lead use it (issue 14), in
Chromium, over the shipped corpus: one test per item, screenshots in test-output/."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant import service
from assistant.embedding.embedders import embedder_fingerprint
from assistant.search.access import Role
from assistant.settings import get_settings
from assistant.web.users import UserStore

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PROJECT_ROOT = Path(__file__).resolve().parent.parent

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SHOTS = PROJECT_ROOT / "test-output" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SIZES = {"desktop": DESKTOP, "mobile": PHONE}
CORPUS = PROJECT_ROOT / "corpus"
MAYOR, MAYOR_PASSWORD = "maire-modane", "mot-de-passe-du-maire"
AGATE, AGATE_PASSWORD = "claire", "mot-de-passe-agate"
# Gradio's own English, which must never reach the screen (visible text or tooltips).
GRADIO_ENGLISH = ["Error", "Drop File Here", "Click to Upload", "Invalid file type", "Clear",
                  "Upload", "Submit", "Loading", "Retry", "Undo", "Copy", "Copied",
                  "Built with Gradio", "Use via API", "Settings", "Warning", "Close"]

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is absent (install the Debian chromium package)",
                allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ready(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=2) as r:
            return not json.loads(r.read())["indexing"]
    except OSError:
        return False


def _corpus_index() -> Path:
    """The shipped corpus indexed with the default model, kept in .cache by content hash
    (about 3 minutes to build on a loaded machine; each run then copies it)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in CORPUS.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(CORPUS)).encode() + path.read_bytes())
    settings = get_settings()
    digest.update(embedder_fingerprint(settings.embedder).encode())
    folder = PROJECT_ROOT / ".cache" / "browser" / digest.hexdigest()[:16]
    if not (folder / "done").exists():
        building = folder.with_name(folder.name + f".{os.getpid()}")
        shutil.rmtree(building, ignore_errors=True)
        report = service.ingest(get_settings(index_dir=building, corpus_dir=CORPUS))
        assert not report.failed, report.failed
        (building / "done").write_text("ok")
        from assistant.indexing import index as index_module

        index_module._INDEXES.clear()  # release the folder before moving it
        if not (folder / "done").exists():
            shutil.rmtree(folder, ignore_errors=True)
            building.rename(folder)
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[dict]:
    """`assistant serve` over a copy of the indexed corpus, with a mayor and an Agate account."""
    root = tmp_path_factory.mktemp("ux")
    index_dir = root / "index"
    shutil.copytree(_corpus_index(), index_dir)
    settings = get_settings(index_dir=index_dir, corpus_dir=CORPUS)
    users = UserStore(settings.users_path)
    users.add(MAYOR, Role("elu", "73157"), MAYOR_PASSWORD)
    users.add(AGATE, Role("agate"), AGATE_PASSWORD)
    port = _free_port()
    log_path = root / "server.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-c", "from assistant.cli.main import main; main()", "serve",
         "--host", "127.0.0.1", "--port", str(port), "--index", str(index_dir)],
        # The project's converted model (built once, shared), not the suite's fresh one.
        env={**os.environ, "ASSISTANT_CORPUS_DIR": str(CORPUS),
             "ASSISTANT_MODELS_DIR": str(PROJECT_ROOT / ".cache" / "models")}, stdout=log,
        stderr=subprocess.STDOUT, cwd=PROJECT_ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 240
        # Ready once the page answers and the warm-up has loaded the models.
        while not _ready(base) or "Modèles chargés" not in log_path.read_text():
            if proc.poll() is not None or time.time() > deadline:
                pytest.fail(f"server not ready: {log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield {"base": base, "log": log_path}
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


def _page(browser, server, size: str = "desktop", user: tuple[str, str] | None = None,
          locale: str = "en-US"):
    """A new page at the app (an English browser unless said otherwise: the app must be
    French whatever the browser's language), logged in as ``user``."""
    context = browser.new_context(viewport=SIZES[size], locale=locale)
    page = context.new_page()
    if user is not None:
        page.goto(server["base"] + "/login")
        page.fill("#username", user[0])
        page.fill("#password", user[1])
        page.click("#pvd-login")
    else:
        page.goto(server["base"] + "/")
    page.wait_for_selector("#pvd-question textarea", timeout=60_000)
    page.wait_for_selector("#pvd-account", timeout=30_000)
    return page


def _shot(page, name: str, full: bool = False) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full)


def _ask(page, question: str) -> None:
    before = page.locator("#pvd-chat .message-row.bot-row").count()
    page.fill("#pvd-question textarea", question)
    page.click("#pvd-send")
    page.wait_for_function(
        f"document.querySelectorAll('#pvd-chat .message-row.bot-row').length > {before}",
        timeout=90_000)
    page.wait_for_timeout(700)  # the scroll script runs just after the message renders


def _last_answer(page):
    return page.locator("#pvd-chat .pvd-answer, #pvd-chat .pvd-refusal").last


def _english_on_screen(page) -> list[str]:
    """Gradio's English words in the visible text or in tooltips of the page."""
    text = page.evaluate("""() => document.body.innerText + '\\n' +
        [...document.querySelectorAll('[title]')].filter(e => e.offsetParent !== null)
          .map(e => e.getAttribute('title')).join('\\n')""")
    return [w for w in GRADIO_ENGLISH if re.search(rf"\b{re.escape(w)}\b", text)]


def _pick(page, dropdown: str, label: str) -> None:
    page.click(f"{dropdown} input")
    page.click(f'{dropdown} li[role=option][aria-label="{label}"]')
    page.wait_for_timeout(400)


def _open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    page.wait_for_timeout(400)


# -- 1. the new answer is in view, from its start ------------------------------------------


@pytest.mark.parametrize("size", ["desktop", "mobile"])
def test_1_view_scrolls_to_the_start_of_the_new_answer(server, browser, size):
    page = _page(browser, server, size)
    # Feedback and copy only once there is something to rate or copy.
    assert not page.locator("#pvd-up").is_visible()
    t0 = time.perf_counter()
    _ask(page, "Comment est financé le chef de projet ?")
    print(f"\n{size}: first question answered in {time.perf_counter() - t0:.1f} s")
    _ask(page, "Quels financements pour rénover les logements du centre ?")
    answer = _last_answer(page)
    box = page.locator("#pvd-chat .bubble-wrap")
    top = answer.evaluate("e => e.getBoundingClientRect().top")
    box_top = box.evaluate("e => e.getBoundingClientRect().top")
    height = page.viewport_size["height"]
    # Its first line is on screen, in the upper part, and inside the chat's visible box.
    assert 0 <= top <= height * 0.5, f"answer starts at {top}px of {height}px"
    assert top >= box_top - 1
    assert page.locator("#pvd-up").is_visible() and page.locator("#pvd-copy-btn").is_visible()
    print(f"\n{size}: new answer starts at {top:.0f}px (viewport {height}px)")
    _shot(page, f"10-reponse-puces-fermees-{size}")
    # A chip opens into its card: quote in context and «Ouvrir le document (p. N)».
    chip = answer.locator("details.pvd-chip").first
    assert not chip.locator(".pvd-card").is_visible()
    chip.locator("summary").click()
    card = chip.locator(".pvd-card")
    assert card.is_visible() and card.locator("mark").count() >= 1
    assert re.match(r"Ouvrir le document( \(p\. \d+\))?$", card.locator("a.pvd-open").inner_text())
    card.scroll_into_view_if_needed()
    _shot(page, f"11-reponse-puce-ouverte-{size}")
    page.context.close()


# -- 2. an élu starts on the commune -------------------------------------------------------


def test_2_elu_account_preselects_its_commune(server, browser):
    page = _page(browser, server, user=(MAYOR, MAYOR_PASSWORD))
    page.wait_for_function(
        "document.querySelector('#pvd-commune input').value.startsWith('Modane')",
        timeout=30_000)
    assert page.input_value("#pvd-commune input") == "Modane (73157)"
    account = page.inner_text("#pvd-account")
    assert "élu de Modane" in account and "73157" not in account
    # ... and the answers follow it without naming the commune.
    _ask(page, "Où en est la convention-cadre ?")
    assert "Modane" in _last_answer(page).inner_text()
    page.context.close()


# -- 3. every citation opens its document; the PDF viewer marks the quote -----------------


def test_3_status_and_funding_citations_open_their_document(server, browser):
    page = _page(browser, server, user=(MAYOR, MAYOR_PASSWORD))
    for question in ("Où en est la convention-cadre de Modane ?",
                     "Quels financements pour rénover les logements du centre ?"):
        _ask(page, question)
        answer = _last_answer(page)
        chips = answer.locator("details.pvd-chip")
        assert chips.count() >= 1, question
        for i in range(chips.count()):
            link = chips.nth(i).locator("a.pvd-open")
            assert link.count() == 1, f"{question}: chip {i + 1} has no link"
            assert link.get_attribute("href").startswith("/documents/")
    page.context.close()


@pytest.mark.parametrize("size", ["desktop", "mobile"])
def test_3_pdf_viewer_highlights_the_quote(server, browser, size):
    page = _page(browser, server, size)
    _ask(page, "Comment est financé le chef de projet ?")
    chip = _last_answer(page).locator("details.pvd-chip").filter(
        has=page.locator("a.pvd-open[href*='/viewer?page=']")).first
    chip.locator("summary").click()
    quote = " ".join(chip.locator(".pvd-card mark").first.inner_text().split())
    href = chip.locator("a.pvd-open").get_attribute("href")
    viewer = page.context.new_page()
    viewer.goto(server["base"] + href)
    viewer.wait_for_selector("body[data-found]", state="attached", timeout=60_000)
    assert viewer.get_attribute("body", "data-found") == "yes"
    viewer.wait_for_selector(".textLayer .highlight", timeout=30_000)
    viewer.wait_for_timeout(500)
    marked = viewer.evaluate("""() => [...document.querySelectorAll('.textLayer .highlight')]
        .map(e => e.textContent).join(' ')""")
    page_no = int(re.search(r"page=(\d+)", href).group(1))
    shown = viewer.evaluate("""() => { const h = document.querySelector('.textLayer .highlight');
        return Number(h.closest('.page').dataset.pageNumber); }""")

    def squash(text: str) -> str:
        # The text layer splits lines into spans («conven-» | «tion»): a hyphen ending a span
        # is a line-end hyphenation, which the assistant's quotes have repaired.
        return re.sub(r"\s+", "", re.sub(r"(\w)-\s+(\w)", r"\1\2", text))

    assert squash(marked) == squash(quote), (marked, quote)
    assert shown == page_no
    _shot(viewer, f"12-pdf-surligne-{size}")
    page.context.close()


# -- 4, 5. lists, no floating label, French only, quiet console ----------------------------


def test_4_lists_and_no_label_over_the_answer(server, browser):
    page = _page(browser, server)
    _ask(page, "Quels financements pour rénover les logements du centre ?")
    answer = _last_answer(page)
    assert answer.locator("ul.pvd-list > li").count() >= 2
    assert "•" not in answer.inner_text()
    assert page.locator("#pvd-chat [data-testid='block-label']").count() == 0
    page.context.close()


def test_5_french_everywhere_and_a_quiet_console(server, browser, tmp_path):
    page = _page(browser, server, user=(AGATE, AGATE_PASSWORD))
    log_before = server["log"].read_text()
    page.click("#pvd-send")  # an empty question
    toast = page.locator(".toast-body").first
    toast.wait_for(timeout=10_000)
    assert "Écrivez d'abord votre question" in toast.inner_text()
    assert toast.locator(".toast-title-row").evaluate(
        "e => getComputedStyle(e, \"::before\").content") == "\"Attention\""
    assert page.locator("#pvd-chat .error").count() == 0
    assert _english_on_screen(page) == []
    _open_tab(page, "Documents")
    assert _english_on_screen(page) == [], "upload box"
    bad = tmp_path / "x.md.exe"
    bad.write_bytes(b"MZ not a document")
    page.set_input_files("#pvd-upload input[type=file]", str(bad))
    page.wait_for_timeout(1000)
    page.click("#pvd-upload-btn")
    page.wait_for_selector("#pvd-upload-msg :text('format non accepté')", timeout=60_000)
    for name in ("Rechercher", "Découvrir"):
        _open_tab(page, name)
        assert _english_on_screen(page) == [], name
    page.context.close()
    new_log = server["log"].read_text()[len(log_before):]
    assert "Traceback" not in new_log and "Error" not in new_log, new_log


# -- 6. four tabs on a phone --------------------------------------------------------------


def test_6_all_tabs_visible_on_a_phone(server, browser):
    page = _page(browser, server, "mobile")
    for name in ("Discuter", "Rechercher", "Documents", "Découvrir"):
        assert page.get_by_role("tab", name=name).is_visible(), name
    assert not page.locator(".tab-container .overflow-menu button:visible").count()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1
    page.context.close()


# -- 7. refusals ---------------------------------------------------------------------------


def test_7_refusals_list_each_document_once_and_english_gets_french(server, browser):
    page = _page(browser, server)
    _ask(page, "Quelle est la recette de la tartiflette au reblochon ?")
    refusal = _last_answer(page)
    assert "Pas de réponse dans les documents" in refusal.inner_text()
    items = refusal.locator("li").all_inner_texts()
    titles = [re.sub(r" \(p\. \d+\)$", "", t) for t in items]
    assert len(titles) == len(set(titles))
    assert not re.search(r"\d+ passages", refusal.inner_text())
    _ask(page, "How is the project manager funded?")
    assert "posez votre question en français" in _last_answer(page).inner_text()
    page.context.close()


# -- 8. search grouped by document, «aucune étude …», readable CSV -------------------------


@pytest.mark.parametrize("size", ["desktop", "mobile"])
def test_8_search_grouped_with_an_empty_result_message(server, browser, size):
    page = _page(browser, server, size, user=(AGATE, AGATE_PASSWORD))
    _open_tab(page, "Rechercher")
    page.fill("#pvd-query textarea", "diagnostic commerce vacance commerciale")
    _pick(page, "#pvd-s-epci", "CC Cœur de Savoie")
    page.locator("#pvd-s-types label", has_text="Étude").click()
    page.click("#pvd-search-btn")
    page.wait_for_selector("#pvd-results .pvd-notice", timeout=60_000)
    notice = page.inner_text("#pvd-results .pvd-notice")
    assert notice.startswith("Aucune étude de ce type pour CC Cœur de Savoie"), notice
    titles = page.locator("#pvd-results .pvd-result strong").all_inner_texts()
    assert len(titles) == len(set(titles))
    assert "score" not in page.inner_text("#pvd-results")
    _shot(page, f"13-recherche-vide-{size}")
    if size == "desktop":
        page.click("#pvd-export-btn")
        page.wait_for_selector("#pvd-csv a", timeout=30_000)
        href = page.get_attribute("#pvd-csv a", "href")
        csv_text = page.request.get(href if href.startswith("http")
                                    else server["base"] + href).text()
        assert "Étude" in csv_text and "Montmélian" in csv_text
        assert ";etude;" not in csv_text and "73171" not in csv_text
    page.context.close()


# -- 9. the Documents table ---------------------------------------------------------------


@pytest.mark.parametrize("size", ["desktop", "mobile"])
def test_9_documents_table_has_every_column_and_filters(server, browser, size):
    page = _page(browser, server, size, user=(AGATE, AGATE_PASSWORD))
    _open_tab(page, "Documents")
    page.wait_for_selector("#pvd-docs .pvd-doc-table")
    assert page.locator("#pvd-docs tbody tr").count() == 36
    if size == "desktop":
        for header in ("Titre", "Type", "Communes", "Date", "Visibilité"):
            th = page.locator("#pvd-docs th", has_text=header)
            right = th.evaluate("e => e.getBoundingClientRect().right")
            assert th.is_visible() and right <= DESKTOP["width"], header
    _pick(page, "#pvd-d-type", "Fiche de suivi")
    page.wait_for_function("document.querySelectorAll('#pvd-docs tbody tr').length === 11")
    types = page.locator("#pvd-docs td[data-label='Type']").all_inner_texts()
    assert set(types) == {"Fiche de suivi"}
    _pick(page, "#pvd-d-type", "Tous les types")
    page.wait_for_function("document.querySelectorAll('#pvd-docs tbody tr').length === 36")
    assert page.evaluate("document.documentElement.scrollWidth") <= SIZES[size]["width"] + 1
    _shot(page, f"14-documents-{size}")
    page.context.close()


# -- 10. Découvrir ------------------------------------------------------------------------


@pytest.mark.parametrize("size", ["desktop", "mobile"])
def test_10_discover_for_a_new_project_lead(server, browser, size):
    page = _page(browser, server, size)
    _open_tab(page, "Découvrir")
    page.wait_for_selector("#pvd-communes .pvd-commune-card")
    assert page.locator("#pvd-communes .pvd-commune-card").count() == 14
    modane = page.locator(".pvd-commune-card", has_text="Modane").first.inner_text()
    assert "Convention-cadre : 29 mars 2023" in modane
    assert page.locator("#pvd-contacts li").count() >= 3
    assert "Agate" in page.inner_text("#pvd-contacts")
    assert page.locator("#pvd-checklist li").count() >= 5
    assert "2026" in page.inner_text("#pvd-after-2026")
    links = page.locator("#pvd-timeline .pvd-step a.pvd-open")
    pages = [int(re.search(r"page=(\d+)", links.nth(i).get_attribute("href")).group(1))
             for i in range(links.count())]
    assert all(3 <= p <= 7 for p in pages[1:]), pages  # the sections, not the contents page
    assert page.evaluate("document.documentElement.scrollWidth") <= SIZES[size]["width"] + 1
    _shot(page, f"15-decouvrir-{size}", full=True)
    page.context.close()


# -- 11. warm-up ---------------------------------------------------------------------------


def test_11_models_are_loaded_while_the_app_starts(server):
    """The server fixture waited for the warm-up line; the first question of the run
    (test 1) was then answered without loading anything."""
    log = server["log"].read_text()
    assert re.search(r"Modèles chargés en \d+\.\d s", log), log[-2000:]
