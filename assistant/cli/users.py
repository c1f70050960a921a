"""`assistant users` commands: add, list and remove the web app's accounts."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click

from assistant.errors import AssistantError
from assistant.settings import Settings, get_settings
from assistant.web.users import UserStore, to_dict, user_role


def _settings(index: Path | None) -> Settings:
    try:
        return get_settings(index_dir=index)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise click.ClickException(f"Configuration invalide : {exc}") from exc


def _store(index: Path | None) -> UserStore:
    settings = _settings(index)
    return UserStore(settings.users_path, min_password_length=settings.min_password_length)


def commune_code(settings: Settings, value: str) -> str:
    """The INSEE code of ``value``, a commune name («Modane», «saint jean de maurienne») or
    a code; a French error naming the value when the registry does not know it."""
    from assistant.communes.registry import load_registry

    text = value.strip()
    registry = load_registry(settings)
    if text[:2].isdigit() or text[:2].upper() in ("2A", "2B"):
        if registry.get(text.upper()) is None and len(registry):
            raise click.ClickException(
                f"--commune : code INSEE inconnu du registre des communes : {text!r}")
        return text.upper()
    if not text or not len(registry):
        raise click.ClickException(f"--commune : commune inconnue : {value!r} (registre des "
                                 "communes vide : donnez le code INSEE)")
    match = registry.match(text, prefer_dep="73")
    if match.status == "found" and match.commune is not None:
        return match.commune.insee
    if match.status == "ambiguous":
        options = ", ".join(f"{c.name} ({c.insee})" for c in match.candidates[:5])
        raise click.ClickException(
            f"--commune : commune ambiguë : {value!r} ; précisez le code INSEE parmi {options}")
    hint = ", ".join(c.name for c in match.candidates[:3])
    raise click.ClickException(f"--commune : commune inconnue : {value!r}"
                             + (f" (vouliez-vous dire : {hint} ?)" if hint else ""))


index_option = click.option(
    "--index", "index", type=click.Path(path_type=Path), default=None,
    help="Index folder holding users.json (default: index/, or ASSISTANT_INDEX_DIR).",
)


@click.group()
def users() -> None:
    """Web app accounts (role and password) stored in the index folder's users.json."""


@users.command("add")
@click.argument("name")
@click.option("--role", "role", required=True,
              help="public, elu (with --commune), agate or admin.")
@click.option("--commune", default=None,
              help="The commune of an elu account: its name (Modane) or INSEE code (73157).")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input (scripts).")
@click.option("--replace", is_flag=True, help="Overwrite an existing account of that name.")
@index_option
def add(name: str, role: str, commune: str | None, password_stdin: bool, replace: bool,
        index: Path | None) -> None:
    """Create the account NAME (the password is asked twice, hidden)."""
    settings = _settings(index)
    store = UserStore(settings.users_path, min_password_length=settings.min_password_length)
    if commune and role.strip().lower() == "elu":
        commune = commune_code(settings, commune)
    try:
        parsed = user_role(role, commune)
    except AssistantError as exc:
        raise click.BadParameter(str(exc), param_hint="--role/--commune") from exc
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Mot de passe", hide_input=True,
                                confirmation_prompt="Confirmez le mot de passe")
    try:
        user = store.add(name, parsed, password, replace=replace)
    except AssistantError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Compte « {user.name} » enregistré (rôle {user.role}).")


@users.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input (scripts).")
@index_option
def password(name: str, password_stdin: bool, index: Path | None) -> None:
    """Give the account NAME a new password; its open web sessions end."""
    store = _store(index)
    if password_stdin:
        new = sys.stdin.readline().rstrip("\r\n")
    else:
        new = click.prompt("Nouveau mot de passe", hide_input=True,
                           confirmation_prompt="Confirmez le mot de passe")
    try:
        user = store.set_password(name, new)
    except AssistantError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Mot de passe de « {user.name} » changé ; ses sessions ouvertes sont closes.")


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@index_option
def list_users(as_json: bool, index: Path | None) -> None:
    """List the accounts (never the password hashes)."""
    try:
        found = _store(index).all()
    except AssistantError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps([to_dict(u) for u in found], ensure_ascii=False, indent=2))
        return
    if not found:
        click.echo("Aucun compte.")
        return
    for u in found:
        created = dt.datetime.fromtimestamp(u.created_at).strftime("%d/%m/%Y %H:%M")
        click.echo(f"{u.name}\t{u.role}\t{created}")


@users.command("remove")
@click.argument("name")
@index_option
def remove(name: str, index: Path | None) -> None:
    """Delete the account NAME (its open sessions end at their next request)."""
    try:
        removed = _store(index).remove(name)
    except AssistantError as exc:
        raise click.ClickException(str(exc)) from exc
    if not removed:
        raise click.ClickException(f"aucun compte « {name} »")
    click.echo(f"Compte « {name} » supprimé.")
