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
# pdf.js (the PDF viewer that highlights a citation's quote) comes from npm into vendor/,
# which git ignores; without npm the app still works and opens the bare PDF instead.
PDFJS_VERSION=4.10.38
if [ ! -f vendor/node_modules/pdfjs-dist/build/pdf.mjs ] || \
   ! grep -q "\"version\": \"$PDFJS_VERSION\"" vendor/node_modules/pdfjs-dist/package.json; then
    if command -v npm >/dev/null 2>&1; then
        echo "Fetching pdf.js $PDFJS_VERSION (npm) into vendor/…" >&2
        mkdir -p vendor
        npm install --silent --no-audit --no-fund --no-save --prefix vendor \
            "pdfjs-dist@$PDFJS_VERSION" >&2 || echo "npm failed: PDFs open without highlighting" >&2
    else
        echo "npm not found: PDFs will open without the highlighted quote (apt-get install npm)" >&2
    fi
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
