#!/usr/bin/env bash
# Create or reuse .venv at the project root and install the project into it, with the
# extras named on the command line: `bootstrap.sh` (core: the app and the CLI, no torch),
# `bootstrap.sh st eval`, `bootstrap.sh test` (everything the test suite needs).
# Offline-safe: only the package registries are used. Extras that pull torch get the CPU
# build pinned first, so that no CUDA build is pulled in.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
for extra in "$@"; do
    case "$extra" in
        st|eval|llm|test) ;;
        *) echo "bootstrap.sh: unknown extra '$extra' (st, eval, llm, test)" >&2; exit 2 ;;
    esac
done
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
# One stamp line per installed extra ("core" always), each with the hash of the install
# recipe: a later run asking for a subset of what is installed does nothing.
stamp=.venv/.assistant-installed
want=$(cat pyproject.toml scripts/bootstrap.sh | sha256sum | cut -d' ' -f1)
have=""
[ -f "$stamp" ] && have=$(grep -E "^$want " "$stamp" | cut -d' ' -f2 | tr '\n' ' ' || true)
missing=0
for extra in core "$@"; do
    case " $have " in *" $extra "*) ;; *) missing=1 ;; esac
done
[ "$missing" = 0 ] && exit 0
extras=$(IFS=,; echo "$*")
echo "Installing Assistant PVD${extras:+ [$extras]} into .venv (first run takes a few minutes)…" >&2
.venv/bin/python -m pip install -q --upgrade pip
case ",$extras," in
    *,st,*|*,eval,*|*,test,*) .venv/bin/python -m pip install -q torch==2.13.0 ;;
esac
.venv/bin/python -m pip install -q -e ".${extras:+[$extras]}"
# test includes st, eval and llm; eval includes st (see pyproject.toml).
implied=$(echo " $* " | sed -e 's/ test / test st eval llm /' -e 's/ eval / eval st /')
{ for extra in $have core $implied; do echo "$want $extra"; done; } | sort -u > "$stamp"
