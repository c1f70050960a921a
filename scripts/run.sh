#!/usr/bin/env bash
# Set up the core install if needed (no torch, no LangChain) and start the web app over
# the shipped corpus; the index is built on first start, with progress shown in the page
# and on the terminal.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/assistant serve "$@"
