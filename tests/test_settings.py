"""Settings: default folders from the source checkout, else from the current folder."""

from pathlib import Path

import pytest

from assistant import settings as settings_module


@pytest.fixture
def no_env(monkeypatch):
    for name in ("ASSISTANT_INDEX_DIR", "ASSISTANT_CORPUS_DIR", "ASSISTANT_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)


def test_defaults_in_the_source_checkout(no_env, tmp_path, monkeypatch):
    root = Path(__file__).resolve().parent.parent
    monkeypatch.chdir(tmp_path)  # `scripts/run.sh` and the CLI work from any folder
    assert settings_module.checkout_root() == root
    s = settings_module.get_settings()
    assert (s.index_dir, s.corpus_dir, s.cache_dir) == (
        root / "index", root / "corpus", root / ".cache")


def test_defaults_of_an_installed_wheel_are_in_the_current_folder(no_env, tmp_path, monkeypatch):
    monkeypatch.setattr(settings_module, "checkout_root", lambda: None)  # site-packages
    monkeypatch.chdir(tmp_path)
    s = settings_module.get_settings()
    assert (s.index_dir, s.corpus_dir, s.cache_dir) == (
        tmp_path / "index", tmp_path / "corpus", tmp_path / ".cache")
