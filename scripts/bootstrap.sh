#!/usr/bin/env bash
# Create or reuse .venv at the project root and install the project into it (offline-safe:
# only the package registries are used; torch is pinned to the local CPU build first so
# that no CUDA build is pulled in).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
stamp=.venv/.assistant-installed
want=$(cat pyproject.toml scripts/bootstrap.sh | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi
echo "Installing Assistant PVD into .venv (first run takes a few minutes)…" >&2
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q torch==2.13.0
.venv/bin/python -m pip install -q -e ".[test]"
echo "$want" > "$stamp"
