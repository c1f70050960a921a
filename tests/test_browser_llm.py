"""In Chromium: the written answer streams into the chat, and «Arrêter» stops it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_openai import FakeOpenAI
from tests.llm_server import free_port
from tests.test_llm_answers import GOOD, QUESTION, build

PROJECT_ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is absent", allow_module_level=True)


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Iterator[tuple[str, FakeOpenAI]]:
    """`assistant serve` (fake embedder, small corpus) writing through a slow fake model."""
    root = tmp_path_factory.mktemp("browser-llm")
    corpus = build(root)
    fake = FakeOpenAI()
    port = free_port()
    env = {**os.environ, "ASSISTANT_CORPUS_DIR": str(corpus), "ASSISTANT_EMBEDDER": "hash",
           "ASSISTANT_LLM_URL": fake.url, "ASSISTANT_LLM_MODEL": "modele-test"}
    log = (root / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-c", "from assistant.cli.main import main; main()", "serve",
         "--host", "127.0.0.1", "--port", str(port), "--index", str(root / "index")],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 180
        while time.time() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as r:
                    status = json.loads(r.read())
                if not status["indexing"] and status["total"] > 0:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail("the app did not finish indexing: " + (root / "server.log").read_text())
        yield base, fake
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        fake.close()


@pytest.fixture(scope="module")
def page(app):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        yield page
        browser.close()


def _ask(page, base: str) -> None:
    page.goto(base + "/")
    page.locator("#pvd-question textarea").fill(QUESTION)
    page.locator("#pvd-send").click()


def test_words_arrive_then_the_checked_answer_replaces_the_draft(app, page):
    base, fake = app
    fake.behaviour, fake.word_delay = "ok", 0.15
    fake.reply = GOOD + " Le poste est payé par la NASA [1]."
    _ask(page, base)
    draft = page.locator("#pvd-chat .pvd-draft").last
    draft.wait_for(timeout=30_000)
    first = draft.inner_text()
    page.wait_for_timeout(1500)
    assert len(page.locator("#pvd-chat .pvd-draft").last.inner_text()) > len(first)
    assert "remplacera" in first  # the note says the draft will be replaced
    mode = page.locator("#pvd-chat .pvd-mode").last
    mode.wait_for(timeout=30_000)
    assert "modele-test" in mode.inner_text() and "1 phrase non justifiée" in mode.inner_text()
    chat = page.locator("#pvd-chat").inner_text()
    assert "75 %" in chat and "NASA" not in chat and page.locator(".pvd-draft").count() == 0


def test_stop_button_ends_the_answer(app, page):
    base, fake = app
    fake.behaviour, fake.word_delay = "ok", 0.2
    fake.reply = GOOD + " " + " ".join(["encore"] * 300)
    _ask(page, base)
    page.locator("#pvd-chat .pvd-draft").last.wait_for(timeout=30_000)
    page.wait_for_timeout(800)
    started = time.time()
    page.locator("#pvd-stop").click()
    page.locator("#pvd-chat .pvd-mode").last.wait_for(timeout=20_000)
    assert time.time() - started < 20  # 300 words at 0.2 s would take a minute
    chat = page.locator("#pvd-chat").inner_text()
    assert "75 %" in chat and "encore" not in chat
