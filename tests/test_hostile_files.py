"""Hostile files: zip bombs refused before parsing, parsers capped in memory and time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from assistant.errors import LoaderError
from assistant.indexing.index import Index
from assistant.ingest.loaders import ParseLimits, load_document
from tests.conftest import write_md
from tests.pdf_factory import make_pdf

_NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
_TYPES = (
    '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
    'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.wordprocessingml.document.main+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
    '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
    "</Relationships>"
)


def make_bomb(path: Path, unpacked_mb: int) -> Path:
    """A real .docx whose document.xml is ``unpacked_mb`` Mo of paragraphs, streamed."""
    para = "<w:p><w:r><w:t>" + "Le centre-bourg de Modane se revitalise. " * 20
    block = ((para + "</w:t></w:r></w:p>") * 2000).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        zf.writestr("[Content_Types].xml", _TYPES)
        zf.writestr("_rels/.rels", _RELS)
        with zf.open("word/document.xml", "w", force_zip64=True) as out:
            out.write(f'<?xml version="1.0"?><w:document {_NS}><w:body>'.encode())
            for _ in range(unpacked_mb * 1_000_000 // len(block)):
                out.write(block)
            out.write(b"</w:body></w:document>")
    return path


# Runs the CLI ingest as a child and reports the peak RSS of its process tree (the CLI
# and its parser processes), under a 4 GB address-space cap so that a regression fails
# this test instead of taking the machine's memory.
_MEASURE = textwrap.dedent("""
    import json, resource, subprocess, sys
    cap = 4 * 1024 ** 3
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    try:
        done = subprocess.run([sys.executable, "-m", "assistant.cli", "ingest", *sys.argv[1:],
                               "--json"], capture_output=True, text=True, timeout=240)
        rc, out = done.returncode, done.stdout
    except subprocess.TimeoutExpired:
        rc, out = "timeout", ""
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"rc": rc, "out": out, "peak_mb": peak}))
""")


@pytest.mark.slow
def test_zip_bomb_docx_is_refused_and_the_ingest_stays_small(tmp_path: Path):
    docs = tmp_path / "docs"
    docs.mkdir()
    bomb = make_bomb(docs / "bombe.docx", 600)
    assert bomb.stat().st_size < 5e6
    write_md(docs, "note.md", "# Note\n\nLe centre-bourg de Modane se revitalise.")
    measured = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(docs), "--index", str(tmp_path / "ix")],
        env={**os.environ, "ASSISTANT_EMBEDDER": "hash"}, capture_output=True, text=True,
        timeout=400,
    )
    result = json.loads(measured.stdout)
    assert result["rc"] == 1, result  # a file failed, the rest was indexed
    report = json.loads(result["out"])
    assert report["added"] == 1
    [failure] = report["failed"]
    assert failure["source"] == "bombe.docx"
    assert "archive DOCX refusée" in failure["error"]
    assert "Mo une fois décompressée" in failure["error"]
    assert result["peak_mb"] < 1024, result["peak_mb"]


def test_zip_ratio_is_checked_before_parsing(tmp_path: Path):
    bomb = make_bomb(tmp_path / "petite-bombe.docx", 30)
    with pytest.raises(LoaderError, match=r"taux de compression \d+:1"):
        load_document(bomb)
    with pytest.raises(LoaderError, match=r"(29|30) Mo une fois décompressée"):
        load_document(bomb, ParseLimits(docx_max_unpacked_mb=10, docx_max_ratio=1e9))


def test_pdf_page_count_is_checked_before_any_text(tmp_path: Path, monkeypatch):
    from assistant.ingest.loaders import pdf

    path = make_pdf(tmp_path / "cinq.pdf", [[f"Page {i}"] for i in range(5)])

    def no_text(page):
        raise AssertionError("text extracted before the page count was checked")

    monkeypatch.setattr(pdf, "_page_text", no_text)
    with pytest.raises(LoaderError, match=r"trop de pages : 5 \(limite 3\)"):
        load_document(path, ParseLimits(max_pages=3))


def _with_big_text(tmp_path: Path, mb: int) -> Path:
    docs = tmp_path / "docs"
    write_md(docs, "a.md", "# A\n\nLa revitalisation du centre-bourg de Modane.")
    write_md(docs, "b.md", "# B\n\nLe manager de commerce d'Ugine.")
    line = "Le centre-bourg de Modane se revitalise avec de nouveaux commerces. " * 20
    (docs / "enorme.txt").write_text((line + "\n\n") * (mb * 1_000_000 // (len(line) + 2)))
    return docs


def test_a_file_beyond_the_memory_cap_is_reported_and_the_rest_indexed(tmp_path, hash_settings):
    docs = _with_big_text(tmp_path, 30)
    settings = hash_settings.model_copy(update={"parse_memory_mb": 256})
    report = Index(settings).ingest([docs])
    assert report.added == 2
    [failure] = report.failed
    assert failure.source == "enorme.txt"
    assert "analyse interrompue" in failure.error and "256 Mo" in failure.error


def test_a_file_beyond_the_timeout_is_reported_and_the_rest_indexed(tmp_path, hash_settings):
    docs = _with_big_text(tmp_path, 40)  # ~1.6 s to parse, the limit 0.5 s
    settings = hash_settings.model_copy(update={"parse_timeout_s": 0.5})
    report = Index(settings).ingest([docs])
    assert report.added == 2
    [failure] = report.failed
    assert failure.source == "enorme.txt"
    assert "limite 0.5 s" in failure.error and "ASSISTANT_PARSE_TIMEOUT_S" in failure.error


def test_files_are_parsed_in_child_processes(tmp_path, hash_settings, monkeypatch):
    """The parse-ahead still runs: the next file is parsed while this one is indexed."""
    import threading

    from assistant.ingest import sandbox

    loaded: list[str] = []
    threads: set[str] = set()
    real = sandbox.ParserPool.load

    def spy(self, path):
        loaded.append(Path(path).name)
        threads.add(threading.current_thread().name)
        return real(self, path)

    monkeypatch.setattr(sandbox.ParserPool, "load", spy)
    docs = tmp_path / "docs"
    for i in range(4):
        write_md(docs, f"d{i}.md", f"# D{i}\n\nLe document {i} parle de revitalisation.")
    report = Index(hash_settings).ingest([docs])
    assert report.added == 4 and sorted(loaded) == [f"d{i}.md" for i in range(4)]
    assert any(name.startswith("ingest-prefetch") for name in threads)
