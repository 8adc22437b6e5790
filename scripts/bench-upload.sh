#!/usr/bin/env bash
# Upload benchmark (issue #5): a 1 GiB upload's throughput relative to a plain file copy on the
# same disk, and the server's peak memory during it. See docs/benchmarks.md, "Uploads".
#
#   cargo build --release && scripts/bench-upload.sh
#
# Environment: BIN (default target/release/dingdian), RUNS (default 3), SIZE_MIB (default 1024),
# SEED (serve or separate, see below), BENCH_DIR (where the scratch directory goes, default /tmp;
# the copy, the spool and the stored file all live there, so both measurements use the same disk).
#
# Each run: (a) `cp` of the file then `sync FILE` (fsync), (b) `curl -T` of the same file to
# `PUT /api/applications/{id}/materials/licence` on the release server (`serve --demo`, own data
# directory, the shipped profiles with the Harbin licence slot raised to 2048 MB). The server
# acknowledges only after the file is spooled, hashed, fsynced, renamed into the store and recorded.
# Each run changes a few bytes of the file so that no upload is deduplicated; odd runs copy first,
# even runs upload first, with `sync` and a pause (PAUSE seconds, default 5) before each. Peak
# memory is the server's VmHWM, reset (`/proc/PID/clear_refs` = 5) just before the upload.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-target/release/dingdian}
RUNS=${RUNS:-3}
SIZE_MIB=${SIZE_MIB:-1024}
[ -x "$BIN" ] || { echo "no $BIN: build it first (cargo build --release) or set BIN" >&2; exit 1; }
for tool in curl python3; do command -v "$tool" >/dev/null || { echo "$tool is needed" >&2; exit 1; }; done

WORK=$(mktemp -d "${BENCH_DIR:-/tmp}/dingdian-bench-upload.XXXXXX")
SERVER=
cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

need_mib=$(( SIZE_MIB * (RUNS + 3) ))
free_mib=$(df -Pm "$WORK" | awk 'NR == 2 { print $4 }')
[ "$free_mib" -ge "$need_mib" ] || { echo "need ${need_mib} MiB free in $WORK, have ${free_mib}" >&2; exit 1; }

# The shipped profiles, with a 2048 MB licence slot in Harbin (and so a new profile version).
mkdir -p "$WORK/policies"
cp policies/*.toml "$WORK/policies/"
python3 - "$WORK/policies/harbin.toml" <<'EOF'
import re, sys
path = sys.argv[1]
text = open(path, encoding="utf-8").read()
text, n = re.subn(r'(?m)^(version\s*=\s*")([^"]*)(")', r'\1\2-bench-upload\3', text, count=1)
assert n == 1, "no version line"
head, sep, rest = text.partition('id = "licence"')
assert sep, "no licence slot"
rest, n = re.subn(r'(?m)^max_mb\s*=\s*\d+', 'max_mb = 2048', rest, count=1)
assert n == 1, "no max_mb in the licence slot"
open(path, "w", encoding="utf-8").write(head + sep + rest)
EOF

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
# SEED=serve (default): `serve --demo` seeds the demo data itself. SEED=separate: `dingdian demo`
# seeds first and `serve` starts without --demo, so the server's memory is that of serving alone
# (seeding renders PDFs with an embedded CJK font, and the allocator keeps that memory).
demo_flag=(--demo)
if [ "${SEED:-serve}" = separate ]; then
  "$BIN" demo --data-dir "$WORK/data" --policy-dir "$WORK/policies" >/dev/null
  demo_flag=()
fi
RUST_LOG=warn,dingdian=info "$BIN" serve "${demo_flag[@]}" --no-timers --addr "127.0.0.1:$port" --data-dir "$WORK/data" --policy-dir "$WORK/policies" \
  >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 600); do
  grep -q "dingdian is running" "$WORK/server.log" && break
  kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.1
done
grep -q "dingdian is running" "$WORK/server.log" || { echo "the server did not start" >&2; cat "$WORK/server.log" >&2; exit 1; }
# `serve --demo` seeds while it already answers: wait for the data (not needed with SEED=separate).
if [ "${SEED:-serve}" != separate ]; then
  for _ in $(seq 1 3000); do
    grep -q "demo data ready" "$WORK/server.log" && break
    kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
    sleep 0.1
  done
  grep -q "demo data ready" "$WORK/server.log" || { echo "the demo data was not seeded" >&2; cat "$WORK/server.log" >&2; exit 1; }
fi

token=$(curl -sS -X POST -H 'Content-Type: application/json' -d '{"username":"hrb-inst-eye","password":"dingdian-demo"}' "$base/api/session" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
app=$(curl -sS -H "Authorization: Bearer $token" "$base/api/applications" |
  python3 -c 'import json, sys; print(next(a["id"] for a in json.load(sys.stdin) if a["state"] == "draft"))')

# The file: a PDF header, then random bytes.
src="$WORK/upload.pdf"
printf '%%PDF-1.4\n' >"$src"
head -c $(( SIZE_MIB * 1024 * 1024 - 9 )) /dev/urandom >>"$src"
sync

now() { date +%s.%N; }
vm() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$SERVER/status"; }
# The server's CPU time so far (user + system), in seconds.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' "/proc/$SERVER/stat"; }
# Let the disk settle between measurements: write back dirty pages, then pause.
settle() { sync; sleep "${PAUSE:-5}"; }

measure_cp() {
  t0=$(now)
  cp "$src" "$WORK/copy.pdf"
  sync "$WORK/copy.pdf"
  t1=$(now)
  rm -f "$WORK/copy.pdf"
}

measure_upload() {
  rss_before=$(vm VmRSS)
  echo 5 >"/proc/$SERVER/clear_refs" 2>/dev/null || echo "(cannot reset VmHWM: the peak is since start)" >&2
  c0=$(cpu)
  t2=$(now)
  code=$(curl -sS -o "$WORK/response.json" -w '%{http_code}' -T "$src" -H 'Expect:' -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/pdf' "$base/api/applications/$app/materials/licence?name=bench-$run.pdf")
  t3=$(now)
  c1=$(cpu)
  peak=$(vm VmHWM)
  [ "$code" = 201 ] || { echo "upload answered $code: $(head -c 500 "$WORK/response.json")" >&2; exit 1; }
}

results="$WORK/results"
: >"$results"
echo "seed: ${SEED:-serve}; file: $SIZE_MIB MiB in $WORK ($(df -P "$WORK" | awk 'NR == 2 { print $1 }')); server pid $SERVER; application $app"
printf '%-4s %8s %9s %9s %10s %6s %10s %10s %11s\n' run cp_s cp_MiB/s upload_s up_MiB/s up/cp server_cpu rss_before peak_during
for run in $(seq 1 "$RUNS"); do
  # New content each run (no deduplication). Odd runs copy first, even runs upload first, so
  # neither always pays for the other's write-back.
  printf 'run %04d' "$run" | dd of="$src" bs=1 seek=9 conv=notrunc status=none
  settle
  if [ $(( run % 2 )) = 1 ]; then
    measure_cp; settle; measure_upload
  else
    measure_upload; settle; measure_cp
  fi

  python3 - "$run" "$t0" "$t1" "$t2" "$t3" "$SIZE_MIB" "$rss_before" "$peak" "$c0" "$c1" >>"$results" <<'EOF'
import sys
run, t0, t1, t2, t3, mib, rss, peak, c0, c1 = sys.argv[1:]
cp, up = float(t1) - float(t0), float(t3) - float(t2)
print(run, cp, float(mib) / cp, up, float(mib) / up, cp / up, float(c1) - float(c0), int(rss) / 1024, int(peak) / 1024)
EOF
  tail -n 1 "$results" | awk '{ printf "%-4s %8.2f %9.0f %9.2f %10.0f %6.2f %10.2f %10.1f %11.1f\n", $1, $2, $3, $4, $5, $6, $7, $8, $9 }'
done
echo "(times in s, throughput in MiB/s, server_cpu = the server's user + system CPU s during the upload, RSS in MiB)"

python3 - "$results" <<'EOF'
import statistics, sys
rows = [list(map(float, line.split())) for line in open(sys.argv[1])]
cols = {
    "cp MiB/s": 2,
    "upload MiB/s": 4,
    "upload throughput / cp throughput": 5,
    "server CPU s during the upload": 6,
    "server RSS before upload (MiB)": 7,
    "server peak RSS during upload (MiB)": 8,
}
print()
print(f"{'':38} {'min':>8} {'median':>8} {'max':>8}")
for name, i in cols.items():
    v = [r[i] for r in rows]
    print(f"{name:38} {min(v):8.1f} {statistics.median(v):8.1f} {max(v):8.1f}")
EOF
