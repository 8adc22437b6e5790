#!/usr/bin/env bash
# schemathesis against the JSON API (/api/openapi.json) and the form routes
# (docs/forms.openapi.json), signed in as each role in turn, with the check that no answer is a
# server error (docs/reliability.md). Each role gets a fresh demo server, so what one role's
# fuzzing changes (a disabled account, a revoked session) cannot hide errors from the next.
#
# Usage: scripts/fuzz-http.sh [SEED] [MAX_EXAMPLES]
# Needs: schemathesis on PATH (or ST=/path/to/schemathesis), a built target/debug/dingdian
# (or BIN=...), curl and python3.
set -euo pipefail
cd "$(dirname "$0")/.."

SEED=${1:-20261201}
N=${2:-25}
ST=${ST:-schemathesis}
BIN=${BIN:-target/debug/dingdian}
PORT=${PORT:-18282}
ROLES=${ROLES:-"anonymous hrb-inst-eye hrb-agency urc-branch-tianshan hrb-supervisor hrb-admin"}
OUT=${OUT:-target/fuzz-http}
mkdir -p "$OUT"
"$ST" --version

for role in $ROLES; do
  data=$(mktemp -d)
  "$BIN" serve --demo --no-timers --addr "127.0.0.1:$PORT" --data-dir "$data" >"$OUT/serve-$role.log" 2>&1 &
  pid=$!
  # `serve --demo` answers at once and seeds behind: wait for its "demo data ready" line.
  until grep -q "demo data ready" "$OUT/serve-$role.log"; do
    kill -0 "$pid" || { echo "the server did not start: $OUT/serve-$role.log"; exit 1; }
    sleep 0.2
  done
  auth=()
  if [ "$role" != anonymous ]; then
    token=$(curl -s -X POST "http://127.0.0.1:$PORT/api/session" -H 'content-type: application/json' \
      -d "{\"username\":\"$role\",\"password\":\"dingdian-demo\"}" | python3 -c 'import sys,json;print(json.load(sys.stdin)["token"])')
    auth=(-H "Authorization: Bearer $token")
  fi
  # Signing out and the account's own password/session routes would end the token mid-run.
  common=(--checks not_a_server_error --max-examples "$N" --seed "$SEED" --continue-on-failure "${auth[@]}")
  status=0
  "$ST" run "http://127.0.0.1:$PORT/api/openapi.json" "${common[@]}" \
    --exclude-path /api/session --exclude-path /api/account/password >"$OUT/api-$role.txt" 2>&1 || status=1
  "$ST" run docs/forms.openapi.json --url "http://127.0.0.1:$PORT" "${common[@]}" \
    --exclude-path /logout --exclude-path /account/password >"$OUT/forms-$role.txt" 2>&1 || status=1
  kill "$pid"
  wait "$pid" || true
  rm -rf "$data"
  for f in "$OUT/api-$role.txt" "$OUT/forms-$role.txt"; do
    echo "== $f (exit $status)"
    grep -E "API Operations|Test cases|Test Phases|server error|Server error|passed|failed|Seed" "$f" | tail -12 || true
  done
done
