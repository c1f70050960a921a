"""Shared fixtures: every path the assistant writes points into a tmp dir."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED = PROJECT_ROOT.parent / "shared"


@pytest.fixture(scope="session", autouse=True)
def _shared_models_dir(tmp_path_factory: pytest.TempPathFactory):
    """One converted fast-e5 folder for the whole run (its build calibrates for ~10 s),
    outside the project; set before module fixtures start servers that inherit it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ASSISTANT_MODELS_DIR", str(tmp_path_factory.mktemp("models")))
        yield


@pytest.fixture(autouse=True)
def _isolated_paths(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Index, cache and feedback never touch the project's own folders."""
    base = tmp_path_factory.mktemp("assistant-paths")
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(base / "index"))
    monkeypatch.setenv("ASSISTANT_CACHE_DIR", str(base / "cache"))
    yield base


@pytest.fixture
def hash_settings(tmp_path: Path):
    """Settings with the deterministic fake embedder, for fast unit tests."""
    from assistant.settings import get_settings

    return get_settings(index_dir=tmp_path / "index", embedder="hash")


def write_md(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
