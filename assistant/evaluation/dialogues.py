"""`assistant eval --dialogues`: whole conversations, the last answer checked."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import ConfigError
from assistant.indexing.lexical import fold
from assistant.jsonl import jsonl_rows
from assistant.search.access import Role
from assistant.settings import Settings


@dataclass
class Dialogue:
    id: str
    turns: list[str]
    selected_commune: str | None
    refused: bool
    contains: list[str] = field(default_factory=list)
    excludes: list[str] = field(default_factory=list)
    commune: str | None = None
    sources_any: list[str] = field(default_factory=list)
    kind: str = ""
    split: str | None = None


@dataclass
class DialogueResult:
    id: str
    kind: str
    passed: bool
    failures: list[str]
    answer: str
    refused: bool
    commune: str | None
    cited: list[str]


def read_dialogues(path: Path) -> list[Dialogue]:
    out = []
    for lineno, item in jsonl_rows(path, "dialogue file"):
        try:
            expect = item["expect"]
            turns = [str(t) for t in item["turns"]]
            out.append(Dialogue(
                id=str(item["id"]), turns=turns, selected_commune=item.get("selected_commune"),
                refused=bool(expect.get("refused", False)),
                contains=list(expect.get("answer_contains") or []),
                excludes=list(expect.get("answer_excludes") or []),
                commune=expect.get("commune"), sources_any=list(expect.get("sources_any") or []),
                kind=str(item.get("kind", "")), split=item.get("split"),
            ))
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"{path}:{lineno}: not a dialogue ({exc})") from exc
        if not turns:
            raise ConfigError(f"{path}:{lineno}: a dialogue needs at least one turn")
    return out


def check(d: Dialogue, answer: dict[str, Any]) -> list[str]:
    """What the last answer got wrong (empty: passed)."""
    failures = []
    text = fold(" ".join(str(answer.get("answer", "")).split()))
    refused = bool(answer.get("refused"))
    if refused != d.refused:
        failures.append(f"refused={refused}, expected {d.refused}")
    for s in d.contains:
        if fold(" ".join(s.split())) not in text:
            failures.append(f"missing «{s}»")
    for s in d.excludes:
        if fold(" ".join(s.split())) in text:
            failures.append(f"contains excluded «{s}»")
    got = (answer.get("commune") or {}).get("name")
    if d.commune and (got is None or fold(got) != fold(d.commune)):
        failures.append(f"commune {got!r}, expected {d.commune!r}")
    cited = [c["source"] for c in answer.get("citations", [])]
    if d.sources_any and not d.refused and not set(cited) & set(d.sources_any):
        failures.append(f"cites {sorted(set(cited))}, expected one of {d.sources_any}")
    return failures


def evaluate_dialogues(
    settings: Settings,
    path: Path,
    *,
    split: str | None = None,
    role: Role | None = None,
    out: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Play every conversation through the assistant (over ``settings``' index)."""
    from assistant.answer.state import Conversation
    from assistant.service import ask

    dialogues = read_dialogues(path)
    if split not in (None, "all"):
        dialogues = [d for d in dialogues if d.split == split]
        if not dialogues:
            raise ConfigError(f"no dialogue in split {split!r}")
    results: list[DialogueResult] = []
    for i, d in enumerate(dialogues):
        conversation = Conversation()
        answer: dict[str, Any] = {}
        for turn in d.turns:
            answer = ask(settings, turn, commune=d.selected_commune, conversation=conversation,
                         role=role).to_dict()
        failures = check(d, answer)
        results.append(DialogueResult(
            d.id, d.kind, not failures, failures, str(answer.get("answer", "")),
            bool(answer.get("refused")), (answer.get("commune") or {}).get("name"),
            [c["source"] for c in answer.get("citations", [])],
        ))
        if progress:
            progress(i + 1, len(dialogues))
    passed = sum(r.passed for r in results)
    by_kind: dict[str, list[int]] = {}
    for r in results:
        by_kind.setdefault(r.kind, [0, 0])
        by_kind[r.kind][0] += r.passed
        by_kind[r.kind][1] += 1
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", encoding="utf-8") as handle:
            for r in results:
                handle.write(json.dumps(asdict(r), ensure_ascii=False) + "\n")
    return {
        "n": len(results), "passed": passed,
        "pass_rate": round(passed / len(results), 4) if results else None,
        "split": split or "all",
        "by_kind": {k: f"{p}/{n}" for k, (p, n) in sorted(by_kind.items())},
        "failed": [r.id for r in results if not r.passed],
    }
