#!/usr/bin/env bash
# Memory and start-up benchmark (issue #18 item 3): how fast `serve --demo` answers, and the
# server's resident memory idle, during and after a storm of concurrent logins.
# See docs/benchmarks.md, "Memory, start-up and uploads (issue #18)".
#
#   cargo build --release && scripts/login-storm.sh
#
# Environment: BIN (default target/release/dingdian), LOGINS (default 256, all started at once),
# ROUNDS (default 2 storms, one after the other), SETTLE (seconds of quiet before each idle
# reading, default 12), BENCH_DIR (where the scratch data directory goes, default /tmp).
#
# What it measures, on a fresh data directory and a free port:
#   start_s     from spawning `serve --demo` to the first 200 of GET /healthz (polled every 2 ms)
#   seeded_s    from spawning to the "demo data ready" log line
#   idle        VmRSS (/proc/PID/status) SETTLE seconds after the demo data is ready
#   storm       LOGINS concurrent POST /api/session (correct passwords, demo accounts), released
#               together by a barrier; peak = VmHWM reset just before (/proc/PID/clear_refs = 5)
#               and sampled every 5 ms; RSS right after the last answer and SETTLE seconds later.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-target/release/dingdian}
LOGINS=${LOGINS:-256}
ROUNDS=${ROUNDS:-2}
SETTLE=${SETTLE:-12}
[ -x "$BIN" ] || { echo "no $BIN: build it first (cargo build --release) or set BIN" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 is needed" >&2; exit 1; }

WORK=$(mktemp -d "${BENCH_DIR:-/tmp}/dingdian-login-storm.XXXXXX")
SERVER=
cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
t0=$(date +%s.%N)
RUST_LOG=info,sqlx=warn "$BIN" serve --demo --no-timers --log-format text --addr "127.0.0.1:$port" --data-dir "$WORK/data" \
  >"$WORK/server.log" 2>&1 &
SERVER=$!

python3 - "$port" "$t0" "$SERVER" "$WORK/server.log" "$LOGINS" "$ROUNDS" "$SETTLE" "$(git rev-parse --short HEAD 2>/dev/null || echo '?')" "$BIN" <<'EOF'
import http.client, json, os, sys, threading, time

port, t0, pid, log, logins, rounds, settle, rev, binary = sys.argv[1:]
port, t0, pid, logins, rounds, settle = int(port), float(t0), int(pid), int(logins), int(rounds), float(settle)

def alive():
    return os.path.exists(f"/proc/{pid}")

def vm(key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    raise SystemExit(f"no {key}")

def get(path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", path)
        return c.getresponse().status
    finally:
        c.close()

# Start-up: first 200 of /healthz.
while True:
    if not alive():
        sys.stdout.write(open(log).read())
        raise SystemExit("the server exited")
    try:
        if get("/healthz") == 200:
            break
    except OSError:
        pass
    time.sleep(0.002)
start = time.time() - t0

# Seeding done.
deadline = time.time() + 600
while "demo data ready" not in open(log, errors="replace").read():
    if time.time() > deadline or not alive():
        raise SystemExit("no 'demo data ready' line")
    time.sleep(0.01)
seeded = time.time() - t0

users = ["hrb-agency", "hrb-expert", "hrb-inst-eye", "urc-agency", "urc-evaluator"] + [f"urc-e{i:03}" for i in range(1, 19)]

def login(i, barrier, out):
    body = json.dumps({"username": users[i % len(users)], "password": "dingdian-demo"})
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        c.connect()
        barrier.wait()
        c.request("POST", "/api/session", body=body, headers={"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        out[i] = r.status
    except Exception as e:  # noqa: BLE001 -- reported below
        out[i] = repr(e)
    finally:
        c.close()

time.sleep(settle)
idle = vm("VmRSS")
print(f"binary {binary} (HEAD {rev}); {os.cpu_count()} cores; {logins} concurrent logins x {rounds} rounds; settle {settle:g} s")
print(f"start: first 200 of /healthz after {start:.3f} s; demo data ready after {seeded:.3f} s")
print(f"idle RSS: {idle:.1f} MiB")
for rnd in range(1, rounds + 1):
    try:
        open(f"/proc/{pid}/clear_refs", "w").write("5")
    except OSError:
        print("(cannot reset VmHWM: the peak is since start)")
    barrier = threading.Barrier(logins + 1)
    out = [None] * logins
    threads = [threading.Thread(target=login, args=(i, barrier, out)) for i in range(logins)]
    for t in threads:
        t.start()
    peak = 0.0
    done = threading.Event()
    def sample():
        global peak
        while not done.is_set():
            peak = max(peak, vm("VmRSS"))
            time.sleep(0.005)
    sampler = threading.Thread(target=sample)
    sampler.start()
    barrier.wait()
    s0 = time.time()
    for t in threads:
        t.join()
    took = time.time() - s0
    done.set()
    sampler.join()
    right_after = vm("VmRSS")
    hwm = vm("VmHWM")
    time.sleep(settle)
    later = vm("VmRSS")
    codes = {}
    for o in out:
        codes[o] = codes.get(o, 0) + 1
    print(f"storm {rnd}: {took:.2f} s ({logins / took:.0f} logins/s), answers {codes}; "
          f"RSS peak {max(peak, hwm):.1f} MiB, right after {right_after:.1f} MiB, {settle:g} s later {later:.1f} MiB")
EOF
