"""`assistant communes` commands: list, show and import the PVD commune registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from assistant.communes.registry import Commune, Registry, load_registry
from assistant.errors import AssistantError
from assistant.settings import Settings, get_settings

SHOW_KEYS = (
    "insee",
    "name",
    "dep_code",
    "dep_name",
    "epci_siren",
    "epci_name",
    "population",
    "territoire",
    "regroupement",
    "id_pvd",
)


class AmbiguousCommuneError(click.ClickException):
    """Several communes share the name: exit code 2, so scripts can tell it from "unknown"."""

    exit_code = 2


def _settings(index: Path | None) -> Settings:
    try:
        return get_settings(index_dir=index)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise click.ClickException(f"Configuration invalide : {exc}") from exc


def _registry(settings: Settings) -> Registry:
    try:
        return load_registry(settings)
    except AssistantError as exc:
        raise click.ClickException(str(exc)) from exc


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _fmt(n: int | None) -> str:
    return "inconnue" if n is None else f"{n:,}".replace(",", " ")


index_option = click.option(
    "--index",
    "index",
    type=click.Path(path_type=Path),
    default=None,
    help="Dossier de l'index (contient communes.json).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Sortie JSON.")


@click.group("communes")
def communes() -> None:
    """Registre des communes PVD : lister, afficher, importer."""


@communes.command("list")
@index_option
@json_option
def list_cmd(index: Path | None, as_json: bool) -> None:
    """Lister les communes du registre."""
    registry = _registry(_settings(index))
    if as_json:
        _echo_json([{k: c.to_dict()[k] for k in SHOW_KEYS} for c in registry.all()])
        return
    if not len(registry):
        click.echo(
            "Le registre est vide : importez la liste ANCT avec "
            "« assistant communes import FICHIER »."
        )
        return
    for c in registry.all():
        click.echo(
            f"{c.insee}  {c.name} ({c.dep_name or c.dep_code}) — {c.epci_name or 'EPCI inconnu'}"
            f" — {_fmt(c.population)} hab."
        )
    click.echo(f"{len(registry)} commune(s).")


def _show_text(registry: Registry, c: Commune) -> None:
    click.echo(f"{c.name} (INSEE {c.insee})")
    click.echo(
        f"  Département : {c.dep_name} ({c.dep_code})"
        + (f", région {c.region}" if c.region else "")
    )
    click.echo(
        f"  EPCI : {c.epci_name or 'inconnu'}"
        + (f" (SIREN {c.epci_siren})" if c.epci_siren else "")
    )
    click.echo(
        f"  Population : {_fmt(c.population)} (liste ANCT 2021)"
        + (f", {_fmt(c.population_insee_2021)} (INSEE 2021)" if c.population_insee_2021 else "")
    )
    if c.territoire:
        click.echo(f"  Territoire de programme : {c.territoire}")
    if c.id_pvd:
        click.echo(f"  Identifiant PVD : {c.id_pvd}")
    partners = [m for m in registry.territory_members(c) if m.insee != c.insee]
    if partners:
        click.echo("  Programme partagé avec : " + ", ".join(m.label for m in partners))


@communes.command("show")
@click.argument("name")
@index_option
@json_option
@click.option(
    "--dep", "dep", default=None, help="Département préféré (code ou nom) en cas d'homonymes."
)
def show_cmd(name: str, index: Path | None, as_json: bool, dep: str | None) -> None:
    """Afficher une commune (nom approché accepté, ou code INSEE)."""
    registry = _registry(_settings(index))
    commune = (
        registry.get(name) if name.strip().isalnum() and any(ch.isdigit() for ch in name) else None
    )
    if commune is None:
        if not name.strip():
            raise click.BadParameter("nom de commune vide", param_hint="NAME")
        match = registry.match(name, prefer_dep=dep)
        if match.status == "ambiguous":
            raise AmbiguousCommuneError(
                "Plusieurs communes correspondent : "
                + ", ".join(c.label for c in match.candidates[:10])
                + " — précisez le département."
            )
        if match.status == "not_found":
            hint = ""
            if match.candidates:
                hint = " Vouliez-vous dire : " + ", ".join(c.label for c in match.candidates) + " ?"
            if not len(registry):
                hint = " Le registre est vide : lancez « assistant communes import FICHIER »."
            raise click.ClickException(f"Aucune commune ne correspond à « {name} ».{hint}")
        commune = match.commune
    assert commune is not None
    if as_json:
        _echo_json({k: commune.to_dict()[k] for k in SHOW_KEYS})
    else:
        _show_text(registry, commune)


@communes.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@index_option
@json_option
def import_cmd(file: Path, index: Path | None, as_json: bool) -> None:
    """Importer un CSV au format ANCT dans le registre (ajout ou mise à jour par code INSEE)."""
    settings = _settings(index)
    try:
        registry = Registry(load_registry(settings))  # a copy: the loaded one is shared
        report = registry.merge(Registry.from_csv(file))
        registry.save(settings.registry_path)
    except AssistantError as exc:
        raise click.ClickException(str(exc)) from exc
    except OSError as exc:
        raise click.ClickException(
            f"Écriture impossible de {settings.registry_path} : {exc}"
        ) from exc
    if as_json:
        _echo_json({**report.to_dict(), "path": str(settings.registry_path)})
        return
    click.echo(
        f"Import de {file} : {report.added} ajoutée(s), {report.updated} mise(s) à jour, "
        f"{report.unchanged} inchangée(s), {report.skipped} ligne(s) ignorée(s)."
    )
    for warning in report.warnings[:10]:
        click.echo(f"  ! {warning}", err=True)
    click.echo(f"Registre : {report.total} commune(s) dans {settings.registry_path}")
