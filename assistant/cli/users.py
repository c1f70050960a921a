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


def _store(index: Path | None) -> UserStore:
    try:
        settings: Settings = get_settings(index_dir=index)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise click.ClickException(f"Configuration invalide : {exc}") from exc
    return UserStore(settings.users_path, min_password_length=settings.min_password_length)


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
@click.option("--commune", default=None, help="INSEE code of the commune, for the elu role.")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input (scripts).")
@click.option("--replace", is_flag=True, help="Overwrite an existing account of that name.")
@index_option
def add(name: str, role: str, commune: str | None, password_stdin: bool, replace: bool,
        index: Path | None) -> None:
    """Create the account NAME (the password is asked twice, hidden)."""
    store = _store(index)
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
