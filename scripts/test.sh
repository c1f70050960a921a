#!/usr/bin/env bash
# Set up everything if needed (torch's CPU build, then `.[test]`) and run the whole test
# suite: lint, import layers, unit, end-to-end, Chroma server mode and browser tests.
# Installs Debian's chromium when it is missing (browser tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh test
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "Installing Debian chromium for the browser tests…" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
.venv/bin/ruff check assistant tests ui.py scripts benchmarks
.venv/bin/lint-imports
exec .venv/bin/python -m pytest "$@"
