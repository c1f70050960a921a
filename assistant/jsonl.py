"""Reading JSON-lines sets (questions, dialogues, labelled phrasings) with the bad line named."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from assistant.errors import ConfigError


def jsonl_rows(path: Path, what: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for each non-blank line; a missing file or a line that is
    not a JSON object is a ConfigError naming the file and the line."""
    if not path.is_file():
        raise ConfigError(f"{what} not found: {path}")
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{lineno}: not JSON ({exc.msg})") from exc
        if not isinstance(item, dict):
            raise ConfigError(f"{path}:{lineno}: not a JSON object")
        yield lineno, item
