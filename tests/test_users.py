"""`assistant users` add / list / remove, and the accounts file it writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli.main import cli
from assistant.errors import ConfigError
from assistant.search.access import Role
from assistant.web.users import UserStore, user_role

PASSWORD = "motdepasse-solide"


def _run(index: Path, *args: str, stdin: str | None = None):
    return CliRunner().invoke(cli, ["users", *args, "--index", str(index)], input=stdin)


def test_add_list_remove(tmp_path: Path) -> None:
    r = _run(tmp_path, "add", "marie", "--role", "agate", "--password-stdin",
             stdin=PASSWORD + "\n")
    assert r.exit_code == 0, r.output
    assert "marie" in r.output and "agate" in r.output
    r = _run(tmp_path, "add", "paul", "--role", "elu", "--commune", "73157",
             "--password-stdin", stdin=PASSWORD + "\n")
    assert r.exit_code == 0, r.output

    r = _run(tmp_path, "list", "--json")
    assert r.exit_code == 0, r.output
    listed = {u["name"]: u["role"] for u in json.loads(r.output)}
    assert listed == {"marie": "agate", "paul": "elu:73157"}
    assert "hash" not in r.output and PASSWORD not in r.output
    assert "paul\telu:73157" in _run(tmp_path, "list").output

    r = _run(tmp_path, "remove", "paul")
    assert r.exit_code == 0 and "supprimé" in r.output
    assert [u.name for u in UserStore(tmp_path / "users.json").all()] == ["marie"]
    r = _run(tmp_path, "remove", "paul")
    assert r.exit_code != 0 and "aucun compte" in r.output


def test_password_is_hashed_not_stored(tmp_path: Path) -> None:
    r = _run(tmp_path, "add", "marie", "--role", "admin", "--password-stdin",
             stdin=PASSWORD + "\n")
    assert r.exit_code == 0, r.output
    raw = (tmp_path / "users.json").read_text(encoding="utf-8")
    assert PASSWORD not in raw
    stored = json.loads(raw)["users"][0]
    assert stored["password_hash"].startswith("$argon2")
    store = UserStore(tmp_path / "users.json")
    assert store.verify("marie", PASSWORD) is not None
    assert store.verify("marie", "mauvais-mot-de-passe") is None
    assert store.verify("inconnu", PASSWORD) is None


def test_hidden_prompt_with_confirmation(tmp_path: Path) -> None:
    r = _run(tmp_path, "add", "lea", "--role", "agate", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert r.exit_code == 0, r.output
    assert PASSWORD not in r.output  # hidden input is not echoed
    assert UserStore(tmp_path / "users.json").verify("lea", PASSWORD) is not None
    r = _run(tmp_path, "add", "luc", "--role", "agate",
             stdin=f"{PASSWORD}\nautre-chose-123\n{PASSWORD}\n{PASSWORD}\n")
    assert r.exit_code == 0, r.output
    assert "do not match" in r.output and "Confirmez le mot de passe" in r.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "chef"], "role must be"),
        (["--role", "elu"], "--commune"),
        (["--role", "agate", "--commune", "73157"], "rôle elu"),
    ],
)
def test_wrong_role_or_commune_rejected(tmp_path: Path, args: list[str], message: str) -> None:
    r = _run(tmp_path, "add", "marie", *args, "--password-stdin", stdin=PASSWORD + "\n")
    assert r.exit_code == 2, r.output
    assert message in r.output
    assert not (tmp_path / "users.json").exists()


def test_elu_commune_by_name(tmp_path: Path) -> None:
    """`--commune Modane` works like `--commune 73157`; an unknown name says so in French."""
    r = _run(tmp_path, "add", "maire", "--role", "elu", "--commune", "Modane",
             "--password-stdin", stdin=PASSWORD + "\n")
    assert r.exit_code == 0, r.output
    assert "elu:73157" in r.output
    assert UserStore(tmp_path / "users.json").get("maire").parsed_role == Role("elu", "73157")
    r = _run(tmp_path, "add", "autre", "--role", "elu", "--commune", "Paris-sur-Mer",
             "--password-stdin", stdin=PASSWORD + "\n")
    assert r.exit_code == 1
    assert "commune inconnue : 'Paris-sur-Mer'" in r.output
    assert UserStore(tmp_path / "users.json").get("autre") is None


def test_duplicates_short_passwords_and_bad_names(tmp_path: Path) -> None:
    assert _run(tmp_path, "add", "marie", "--role", "agate", "--password-stdin",
                stdin=PASSWORD + "\n").exit_code == 0
    r = _run(tmp_path, "add", "marie", "--role", "public", "--password-stdin",
             stdin=PASSWORD + "\n")
    assert r.exit_code == 1 and "existe déjà" in r.output
    r = _run(tmp_path, "add", "marie", "--role", "public", "--replace", "--password-stdin",
             stdin=PASSWORD + "\n")
    assert r.exit_code == 0
    assert UserStore(tmp_path / "users.json").get("marie").role == "public"
    r = _run(tmp_path, "add", "bob", "--role", "agate", "--password-stdin", stdin="court\n")
    assert r.exit_code == 1 and "trop court" in r.output
    r = _run(tmp_path, "add", "../x", "--role", "agate", "--password-stdin",
             stdin=PASSWORD + "\n")
    assert r.exit_code == 1 and "identifiant invalide" in r.output


def test_user_role() -> None:
    assert user_role("elu", "73157") == Role("elu", "73157")
    assert user_role("ADMIN") == Role("admin")
    assert user_role("elu:73157") == Role("elu", "73157")
    with pytest.raises(ConfigError):
        user_role("elu:73157", "73157")
