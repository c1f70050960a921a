"""The ``assistant`` command line: thin wrappers around the service functions."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from assistant import service
from assistant.errors import AssistantError
from assistant.search.access import Role
from assistant.search.filters import Filters
from assistant.settings import Settings, get_settings
from assistant.types import DOC_TYPES, VISIBILITIES, Answer

_index_option = click.option(
    "--index", "index_dir", type=click.Path(path_type=Path), default=None,
    help="Index folder (default: index/, or ASSISTANT_INDEX_DIR).",
)
_chroma_option = click.option(
    "--chroma-url", default=None, help="Chroma server http://HOST:PORT (ASSISTANT_CHROMA_URL)."
)
_json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
_llm_option = click.option(
    "--llm/--no-llm", "use_llm", default=None,
    help="Written answer by the model of ASSISTANT_LLM_URL (default: when it is set), "
    "each sentence checked; --no-llm: extractive only.",
)
_role_option = click.option(
    "--role", "role_text", default="agate", show_default=True,
    help="Who is asking: public, elu:INSEE, agate or admin (what documents are visible).",
)


def _role(text: str) -> Role:
    try:
        return Role.parse(text)
    except AssistantError as exc:
        raise click.UsageError(str(exc)) from exc


def _settings(index_dir: Path | None, chroma_url: str | None = None, **more: Any) -> Settings:
    try:
        return get_settings(index_dir=index_dir, chroma_url=chroma_url, **more)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise click.UsageError(str(exc)) from exc


class _Failure(click.ClickException):
    """A ClickException with the exit code the error asks for (docs/cli.md)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def edge(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the assistant's errors into clean CLI messages: exit 1, or the error's own
    ``exit_code`` (3: another ingest holds the index)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except AssistantError as exc:
            raise _Failure(str(exc), getattr(exc, "exit_code", 1)) from exc

    return wrapper


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _filters(
    settings: Settings,
    commune: str | None,
    doc_type: tuple[str, ...],
    epci: str | None,
    year_from: int | None,
    year_to: int | None,
    include_general: bool,
) -> tuple[Filters, str]:
    """Filters from CLI options, and a French phrase saying what was searched."""
    communes: list[str] = []
    scope: list[str] = []
    if commune:
        from assistant.communes.registry import load_registry

        registry = load_registry(settings)
        match = registry.match(commune)
        if match.status == "ambiguous":
            names = ", ".join(f"{c.name} ({c.insee}, {c.dep_name})" for c in match.candidates)
            raise click.UsageError(f"commune ambiguë : {names} — précisez le code INSEE")
        if match.status == "found" and match.commune is not None:
            communes = [match.commune.insee]
            scope.append(f"commune : {match.commune.name}")
        elif commune.isdigit():
            communes = [commune]
            scope.append(f"commune : {commune}")
        else:
            raise click.UsageError(f"commune inconnue : {commune!r}")
    try:
        filters = Filters(
            communes=communes,
            epci=[epci] if epci else [],
            doc_types=list(doc_type),
            year_min=year_from,
            year_max=year_to,
            include_general=include_general,
        )
    except AssistantError as exc:
        raise click.UsageError(str(exc)) from exc
    if doc_type:
        scope.append("type : " + ", ".join(doc_type))
    if epci:
        scope.append(f"EPCI : {epci}")
    if year_from or year_to:
        scope.append(f"années : {year_from or '…'}–{year_to or '…'}")
    return filters, "; ".join(scope)


def _filter_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--commune", default=None, help="Commune name or INSEE code."),
        click.option("--type", "doc_type", multiple=True, type=click.Choice(DOC_TYPES),
                     help="Document type (repeatable)."),
        click.option("--epci", default=None, help="EPCI SIREN code."),
        click.option("--from", "year_from", type=int, default=None, help="From year."),
        click.option("--to", "year_to", type=int, default=None, help="To year."),
        click.option("--k", "k", type=click.IntRange(min=1), default=None,
                     help="Passages to return."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.group()
@click.version_option(package_name="assistant-pvd")
def cli() -> None:
    """Assistant PVD : réponses citées sur les documents Petites villes de demain."""


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@_index_option
@_chroma_option
@click.option("--visibility", type=click.Choice(VISIBILITIES), default=None,
              help="Visibility of files the manifest does not cover.")
@_json_option
@edge
def ingest(
    paths: tuple[Path, ...], index_dir: Path | None, chroma_url: str | None,
    visibility: str | None, as_json: bool,
) -> None:
    """Index files and folders (default: corpus/); only what changed is redone.

    Exit codes: 0 all indexed, 1 a file failed (or an error), 2 bad usage, 3 another
    ingest is running on this index (try again later).
    """
    settings = _settings(index_dir, chroma_url)
    for p in paths:
        if not p.exists():
            raise click.UsageError(f"no such file or folder: {p}")
    bar = _ProgressBar()
    report = service.ingest(settings, list(paths) or None, progress=bar, visibility=visibility)
    bar.close()
    if as_json:
        _print_json(report.to_dict())
    else:
        click.echo(
            f"{report.added} ajouté(s), {report.updated} mis à jour, {report.unchanged} "
            f"inchangé(s), {report.removed} retiré(s) ; {report.chunks} passages dans l'index."
        )
        for warned in report.warnings:
            for warning in warned["warnings"]:
                click.echo(f"  avertissement : {warned['source']} — {warning}", err=True)
        for failure in report.failed:
            click.echo(f"  échec : {failure.source} — {failure.error}", err=True)
    sys.exit(1 if report.failed else 0)


class _ProgressBar:
    """A tqdm bar on stderr, created on the first call."""

    def __init__(self) -> None:
        self._bar: Any = None

    def __call__(self, done: int, total: int, label: str) -> None:
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="fichier", file=sys.stderr, leave=False)
        self._bar.n = done
        self._bar.set_postfix_str(label[-40:], refresh=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def format_answer(answer: Answer) -> str:
    """Readable French: the answer, then the numbered sources with their quotes."""
    lines = [answer.text]
    if answer.citations:
        lines.append("")
        lines.append("Sources :")
        for c in answer.citations:
            page = f", p. {c.page}" if c.page is not None else ""
            badge = " [exemple]" if c.exemple else ""
            lines.append(f"[{c.n}] {c.title}{badge} — {c.source}{page}")
            lines.append(f"    « {c.quote} »")
    if answer.mode == "llm":
        lines.append(f"\n(réponse rédigée par le modèle, chaque phrase vérifiée ; "
                     f"{answer.dropped_sentences} phrase(s) non justifiée(s) retirée(s))")
    elif answer.fallback_reason:
        lines.append(f"\n(réponse extractive ; modèle non utilisé : {answer.fallback_reason})")
    return "\n".join(lines)


@cli.command()
@click.argument("question")
@_filter_options
@click.option("--history", type=click.Path(path_type=Path), default=None,
              help="JSON file of earlier turns (read, then updated): scripted conversations.")
@_llm_option
@_role_option
@_index_option
@_chroma_option
@_json_option
@edge
def ask(
    question: str, commune: str | None, doc_type: tuple[str, ...], epci: str | None,
    year_from: int | None, year_to: int | None, k: int | None, history: Path | None,
    use_llm: bool | None, role_text: str, index_dir: Path | None, chroma_url: str | None,
    as_json: bool,
) -> None:
    """Answer a question in French, with cited passages."""
    from assistant.answer.conversation import Conversation
    from assistant.answer.writer import answer as answer_question

    settings = _settings(index_dir, chroma_url)
    filters, scope = _filters(settings, None, doc_type, epci, year_from, year_to, True)
    conversation = Conversation()
    if history is not None and history.exists():
        try:
            conversation = Conversation.from_list(json.loads(history.read_text("utf-8")))
        except (json.JSONDecodeError, AttributeError, TypeError) as exc:
            raise click.UsageError(f"--history {history}: not a JSON list of turns") from exc
    answer = answer_question(
        settings, question, commune=commune, conversation=conversation,
        filters=None if filters.is_empty() else filters, k=k, scope=scope, role=_role(role_text),
        llm=use_llm,
    )
    if history is not None:
        history.write_text(json.dumps(conversation.to_list(), ensure_ascii=False, indent=1),
                           encoding="utf-8")
    if as_json:
        _print_json(answer.to_dict())
    else:
        click.echo(format_answer(answer))


@cli.command()
@click.option("--commune", default=None, help="Your commune (name or INSEE code).")
@_llm_option
@_index_option
@_chroma_option
@edge
def chat(commune: str | None, use_llm: bool | None, index_dir: Path | None,
         chroma_url: str | None) -> None:
    """Interactive session: follow-ups keep the commune and topic ("Et pour Ugine ?")."""
    from functools import partial

    from assistant.answer.conversation import Conversation
    from assistant.answer.writer import answer

    answer_question = partial(answer, llm=use_llm)

    settings = _settings(index_dir, chroma_url)
    conversation = Conversation()
    click.echo("Assistant PVD — posez vos questions (ligne vide ou Ctrl-D pour quitter).")
    while True:
        try:
            question = click.prompt("?", default="", show_default=False)
        except (EOFError, click.Abort):
            break
        if not question.strip():
            break
        try:
            answer = answer_question(settings, question, commune=commune,
                                     conversation=conversation)
        except AssistantError as exc:
            click.echo(f"Erreur : {exc}", err=True)
            continue
        click.echo(format_answer(answer) + "\n")


@cli.command()
@click.argument("query")
@_filter_options
@_role_option
@_index_option
@_chroma_option
@_json_option
@edge
def search(
    query: str, commune: str | None, doc_type: tuple[str, ...], epci: str | None,
    year_from: int | None, year_to: int | None, k: int | None, role_text: str,
    index_dir: Path | None, chroma_url: str | None, as_json: bool,
) -> None:
    """Search passages (hybrid dense + lexical), with filters."""
    settings = _settings(index_dir, chroma_url)
    filters, _ = _filters(settings, commune, doc_type, epci, year_from, year_to, False)
    hits = service.search(settings, query, filters=filters, k=k or 10, role=_role(role_text))
    if as_json:
        _print_json({"results": [service.hit_to_dict(h) for h in hits]})
        return
    for i, hit in enumerate(hits, 1):
        page = f", p. {hit.page}" if hit.page is not None else ""
        click.echo(f"{i}. {hit.metadata.get('title')} — {hit.source}{page} ({hit.score:.4f})")
        click.echo(f"   {hit.text[:300]}")


@cli.command()
@_index_option
@_chroma_option
@_json_option
@edge
def info(index_dir: Path | None, chroma_url: str | None, as_json: bool) -> None:
    """Documents, chunks, model and size of the index; the language model, if any."""
    from assistant.answer.llm import health

    settings = _settings(index_dir, chroma_url)
    data = service.info(settings)
    data["llm"] = health(settings)
    if as_json:
        _print_json(data)
        return
    llm = data.pop("llm")
    for key, value in data.items():
        click.echo(f"{key:12} {value}")
    state = llm["detail"] if not llm["ok"] else f"répond ({llm['latency_ms']:.0f} ms)"
    where = f"{llm['model']} @ {llm['url']}" if llm["url"] else "aucun"
    click.echo(f"{'llm':12} {where} — {state}")


@cli.command()
@click.option("--host", default=None, help="Host (ASSISTANT_HOST, default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (ASSISTANT_PORT, default 7860).")
@_index_option
@_chroma_option
@edge
def serve(
    host: str | None, port: int | None, index_dir: Path | None, chroma_url: str | None
) -> None:
    """Start the web app (building the index on first start)."""
    settings = _settings(index_dir, chroma_url, host=host, port=port)
    from assistant.web.app import run

    run(settings)


@cli.command(name="eval")
@click.option("--questions", "questions", type=click.Path(path_type=Path), default=None,
              help="Question file (eval/gold.jsonl or a shared set's questions.jsonl).")
@click.option("--intents", "intents", type=click.Path(path_type=Path), default=None,
              help="Labelled phrasings (eval/intents.jsonl): intent accuracy and confusion.")
@click.option("--dialogues", "dialogues", type=click.Path(path_type=Path), default=None,
              help="Conversations (eval/dialogues.jsonl): share whose last answer passes.")
@click.option("--split", type=click.Choice(["train", "dev", "test", "all"]), default=None,
              help="Only this split: the set's own 'split' field when it has one (gold, "
              "intents, dialogues), else a fixed seeded half, dev or test (shared sets, see "
              "docs/benchmarks.md); --sample then draws from it. Default: all rows "
              "(intents: test).")
@click.option("--corpus", type=click.Path(path_type=Path), default=None,
              help="Folder to index (default: corpus/).")
@click.option("--k", type=click.IntRange(min=1), default=5, help="Passages retrieved.")
@click.option("--pipeline", type=click.Choice(["default", "naive"]), default="default")
@click.option("--sample", type=click.IntRange(min=1), default=None, help="Random subset size.")
@click.option("--seed", type=int, default=0, help="Seed of the random subset.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Write one JSON row per question (or dialogue) here.")
@click.option("--llm", "use_llm", is_flag=True,
              help="Also score the written answers of ASSISTANT_LLM_URL, beside the "
              "extractive ones (dropped sentences, fallbacks, latency).")
@click.option("--index", "index_dir", type=click.Path(path_type=Path, file_okay=False),
              default=None, help="Score this existing index as it is (e.g. after an ingest "
              "with --visibility) instead of building one from --corpus.")
@_role_option
@_json_option
@edge
def eval_command(
    questions: Path | None, intents: Path | None, dialogues: Path | None, split: str | None,
    corpus: Path | None, k: int, pipeline: str, sample: int | None, seed: int,
    out: Path | None, use_llm: bool, index_dir: Path | None, role_text: str,
    as_json: bool,
) -> None:
    """Score answers on a question set, intents on labelled phrasings, or whole dialogues
    (each over its own cached index, never the main one)."""
    chosen = [x for x in (questions, intents, dialogues) if x is not None]
    if len(chosen) != 1:
        raise click.UsageError("give exactly one of --questions, --intents, --dialogues")
    settings = _settings(None)
    bar = _ProgressBar()
    if intents is not None:
        from assistant.evaluation.runner import evaluate_intent_set

        report = evaluate_intent_set(settings, intents, split or "test")
    elif dialogues is not None:
        from assistant.evaluation.runner import evaluate_dialogue_set

        report = evaluate_dialogue_set(
            settings, dialogues, corpus or settings.corpus_dir, split=split, out=out,
            progress=lambda done, total: bar(done, total, "dialogues"), role=_role(role_text))
    else:
        from assistant.evaluation.runner import evaluate

        assert questions is not None
        report = evaluate(
            settings, questions, corpus or settings.corpus_dir, k=k, pipeline=pipeline,
            sample=sample, seed=seed, out=out, split=split,
            progress=lambda done, total: bar(done, total, "questions"), role=_role(role_text),
            llm=use_llm, index_dir=index_dir,
        )
    bar.close()
    if as_json:
        _print_json(report)
        return
    for key, value in report.items():
        click.echo(f"{key:18} {value}")


def main() -> None:
    cli()


def _attach_optional_commands() -> None:
    """Subcommand groups that live in their own modules."""
    from assistant.cli.communes import communes
    from assistant.cli.users import users

    cli.add_command(communes)
    cli.add_command(users)


_attach_optional_commands()


if __name__ == "__main__":
    main()
