"""Manifest reading and inferred metadata."""

from pathlib import Path

import pytest

from assistant.errors import ConfigError
from assistant.ingest.metadata import build_meta, infer_type, read_manifest
from assistant.types import LoadedDocument, Page


def _loaded(text="Texte", title=None):
    return LoadedDocument(pages=[Page(1, text)], title=title)


def test_manifest_values_win(tmp_path: Path):
    (tmp_path / "manifest.toml").write_text(
        '[[document]]\nfile = "etudes/a.pdf"\ntitle = "Étude A"\ntype = "etude"\n'
        'communes = ["73157"]\nepci = ["200070340"]\ndate = "2022-05-01"\nexemple = true\n',
        encoding="utf-8",
    )
    manifest = read_manifest(tmp_path)
    meta = build_meta("etudes/a.pdf", _loaded(), manifest, sha256="abc", path=tmp_path / "a")
    assert (meta.title, meta.doc_type, meta.communes, meta.year, meta.exemple) == (
        "Étude A", "etude", ["73157"], 2022, True)
    assert meta.visibility == "interne"  # studies default to internal


def test_defaults_inferred_from_folder_and_text(tmp_path: Path):
    meta = build_meta(
        "conventions/modele.pdf", _loaded("Convention signée en 2021. Code INSEE : 73011"),
        read_manifest(tmp_path), sha256="x", path=tmp_path,
    )
    assert meta.doc_type == "convention"
    assert meta.communes == ["73011"]
    assert meta.year == 2021
    assert meta.visibility == "public"
    assert meta.title == "Modele"


def test_visibility_override_only_for_files_outside_the_manifest(tmp_path: Path):
    (tmp_path / "manifest.toml").write_text('[[document]]\nfile = "a.md"\n', encoding="utf-8")
    manifest = read_manifest(tmp_path)
    a = build_meta("a.md", _loaded(), manifest, sha256="", path=tmp_path,
                   visibility_override="interne")
    b = build_meta("b.md", _loaded(), manifest, sha256="", path=tmp_path,
                   visibility_override="interne")
    assert (a.visibility, b.visibility) == ("public", "interne")


@pytest.mark.parametrize("source,expected", [
    ("programme/x.pdf", "programme"), ("etudes/x.pdf", "etude"), ("suivi/x.docx", "suivi"),
    ("glossaire/g.pdf", "glossaire"), ("divers/x.pdf", "autre"),
])
def test_infer_type(source, expected):
    assert infer_type(source) == expected


def test_bad_manifest_is_a_clear_error(tmp_path: Path):
    (tmp_path / "manifest.toml").write_text('[[document]]\nfile = "a.md"\ntype = "rapport"\n')
    with pytest.raises(ConfigError, match="'rapport'"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.toml").write_text("[[document]\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        read_manifest(tmp_path)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('file = "a.md"\ntype = "rapport"', r"a\.md: type: .*'programme'.*got 'rapport'"),
        ('file = "a.md"\nvisibility = "secret"', r"a\.md: visibility: .*got 'secret'"),
        ('file = "a.md"\nexemple = "peut-être"', r"a\.md: exemple: .*got 'peut-être'"),
        ('file = "a.md"\ncommunes = [1.5]', r"a\.md: communes: .*got 1\.5"),
        ('title = "sans fichier"', r"document #1 has no 'file'"),
    ],
)
def test_manifest_is_validated_by_its_model_with_the_bad_value(tmp_path: Path, body, message):
    (tmp_path / "manifest.toml").write_text(f"[[document]]\n{body}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        read_manifest(tmp_path)


def test_manifest_keeps_its_entries_as_written(tmp_path: Path):
    import datetime

    (tmp_path / "manifest.toml").write_text(
        '[defaults]\nexemple = true\n\n[[document]]\nfile = "./a.md"\ndate = 2024-01-02\n'
        'communes = 73157\nauteur = "Agate"\n', encoding="utf-8",
    )
    manifest = read_manifest(tmp_path)
    # Exactly the keys written (their hash decides re-indexing), extra keys included.
    assert manifest.get("a.md") == {"file": "./a.md", "date": datetime.date(2024, 1, 2),
                                    "communes": 73157, "auteur": "Agate"}
    assert manifest.defaults == {"exemple": True}
