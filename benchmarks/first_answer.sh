#!/usr/bin/env bash
# Time a newcomer's first answer: fresh clone of REF into DIR, `bash scripts/run.sh` with
# pip's cache disabled, poll /healthz until the background index of corpus/ is built, stop
# the server, then one `assistant ask`. Prints the install, app start, index and ask times.
# Compare two refs in the same conditions by running two of these at once (other ports).
# Usage: bash benchmarks/first_answer.sh REPO REF DIR PORT
set -euo pipefail
repo=$1 ref=$2 dir=$3 port=$4
rm -rf "$dir"
git clone -q "$repo" "$dir"
git -C "$dir" checkout -q "$ref"
cd "$dir"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
t0=$(date +%s.%N)
PIP_NO_CACHE_DIR=1 bash scripts/run.sh --port "$port" >"$dir.serve.log" 2>&1 &
pid=$!
t_up="" t_inst=""
while :; do
    if [ -z "$t_inst" ] && [ -f .venv/.assistant-installed ]; then t_inst=$(date +%s.%N); fi
    if ! kill -0 "$pid" 2>/dev/null; then echo "server died"; tail -20 "$dir.serve.log"; exit 1; fi
    body=$(curl -s "http://127.0.0.1:$port/healthz" || true)
    if [ -n "$body" ] && [ -z "$t_up" ]; then t_up=$(date +%s.%N); echo "healthz up: $body"; fi
    if [[ "$body" == *'"indexing":false'* ]] && [[ "$body" != *'"total":0'* ]]; then break; fi
    sleep 1
done
t_idx=$(date +%s.%N)
echo "index done: $body"
kill "$pid"; wait "$pid" 2>/dev/null || true
.venv/bin/assistant ask "Quelles communes de Savoie sont lauréates de Petites villes de demain ?" --json >"$dir.ask.json"
t_ask=$(date +%s.%N)
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$t0" "$t_inst" "$t_up" "$t_idx" "$t_ask" <<'PY'
import sys
t0, inst, up, idx, ask = map(float, sys.argv[1:])
print(f"install (venv + pip, to the bootstrap stamp): {inst - t0:.0f} s")
print(f"app start to /healthz: {up - inst:.0f} s")
print(f"set-up (install + app start) to /healthz: {up - t0:.0f} s")
print(f"background index of corpus/: {idx - up:.0f} s")
print(f"first assistant ask: {ask - idx:.1f} s")
print(f"TOTAL start to first answer: {ask - t0:.0f} s")
PY
du -sh .venv | sed 's/^/venv size: /'
