"""Chroma server mode: the core end-to-end flow against a real `chroma run`."""

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli.main import cli
from tests.conftest import write_md

pytestmark = [pytest.mark.server, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory):
    chroma = Path(sys.executable).with_name("chroma")
    port = _free_port()
    proc = subprocess.Popen(
        [str(chroma), "run", "--path", str(tmp_path_factory.mktemp("chroma-server")),
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1)
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail("chroma run exited at start")
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("chroma run did not answer within 60 s")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def test_ingest_ask_and_incremental_against_a_server(chroma_url, tmp_path):
    docs = tmp_path / "docs"
    write_md(docs, "programme/chef.md", "# Chef de projet\n\nLe poste de chef de projet est "
             "cofinancé jusqu'à 75 % par l'ANCT, la Banque des Territoires et l'Anah.")
    write_md(docs, "suivi/modane.md", "# Modane\n\nModane et Fourneaux ont signé leur "
             "convention-cadre le 29 mars 2023.")
    index = str(tmp_path / "catalog")
    common = ["--index", index, "--chroma-url", chroma_url]
    runner = CliRunner()
    out = runner.invoke(cli, ["ingest", str(docs), *common, "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["added"] == 2
    assert not (tmp_path / "catalog" / "chroma").exists()  # vectors live on the server

    out = runner.invoke(cli, ["ask", "Quand Modane a-t-elle signé sa convention-cadre ?",
                              *common, "--json"])
    answer = json.loads(out.stdout)
    assert answer["citations"][0]["source"] == "suivi/modane.md"
    assert "29 mars 2023" in answer["answer"]

    (docs / "programme/chef.md").unlink()
    out = runner.invoke(cli, ["ingest", str(docs), *common, "--json"])
    assert json.loads(out.stdout)["removed"] == 1
    out = runner.invoke(cli, ["info", *common, "--json"])
    assert json.loads(out.stdout)["chunks"] == 1


def test_unreachable_server_is_a_clear_error(tmp_path):
    write_md(tmp_path / "docs", "a.md", "# A\n\nUn texte.")
    out = CliRunner().invoke(cli, ["ingest", str(tmp_path / "docs"), "--index",
                                   str(tmp_path / "ix"),
                                   "--chroma-url", f"http://127.0.0.1:{_free_port()}"])
    assert out.exit_code == 1
    assert "Chroma server" in out.output
