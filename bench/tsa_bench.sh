#!/usr/bin/env bash
# Time-stamp tokens per second from `selo serve` over HTTP keep-alive (wrk posting one RFC 3161
# query), against the raw signing rate of the TSA's key type (`openssl speed`) and a loop of
# `openssl ts -reply` (a process per token), all measured now on this machine.
#
# The load goes up in steps of connections until the machine has no idle CPU left: a rate taken
# while the cores still idle measures how long a client waits (the log's fsync), not how many
# tokens the server can make. The best step is compared with the baselines three ways:
#   - against `openssl speed ecdsap256` as it runs by default, one process: the raw signing rate
#     that the throughput target (at least 50% of it) is set against;
#   - per second of the server's own CPU against that one core's rate, which leaves out the share
#     of the cores the load generator takes;
#   - against `openssl speed` on every core at once, beside the most any server could reach here
#     with the same load generator on the same cores (the signature and wrk's cost, nothing else).
#
# Usage: bench/tsa_bench.sh [path/to/selo]   (env: SECONDS_PER_RUN=10 CONNECTIONS="32 128 256")
# Needs: openssl, curl, wrk, python3.
set -euo pipefail

selo=${1:-build/release/src/cli/selo}
secs=${SECONDS_PER_RUN:-10}
steps=${CONNECTIONS:-32 128 256}
for tool in openssl curl wrk python3; do
  command -v "$tool" >/dev/null || { echo "tsa_bench: $tool is needed" >&2; exit 2; }
done
[[ -x "$selo" ]] || { echo "tsa_bench: no selo binary at $selo (build first)" >&2; exit 2; }
selo=$(realpath "$selo")
work=$(mktemp -d)
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ---- 1. raw signing rate of the TSA key type (ECDSA P-256, [tsa] key = "ec-p256") ----------------
speed() {  # $@: extra openssl speed options; prints signs/s
  openssl speed -seconds 3 "$@" ecdsap256 2>/dev/null | awk '/ecdsa \(nistp256\)/ && NF >= 6 {print $(NF-1); exit}'
}
# A virtual machine's speed drifts by several percent from one minute to the next, so the
# baselines are taken again beside each step of the load and averaged: a figure measured in a
# fast minute is not compared with one from a slow minute.
all_cores() {  # one `openssl speed -elapsed` per core at once, their rates summed
  # (steadier than -multi on a shared machine, and says the same). -elapsed: per second of wall
  # clock, as wrk counts.
  local c
  for ((c = 0; c < cores; c++)); do speed -elapsed > "$work/speed-$c" & done
  wait
  cat "$work"/speed-* | awk '{s += $1} END {printf "%.1f", s}'
}
cores=$(nproc)
sign_1s=$(speed)
sign_2s=$(all_cores)

# ---- 2. openssl ts -reply in a loop (one process, file reads and config parse per token) -----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tsa.key -out tsa.pem \
  -subj "/CN=bench TSA" -days 2 -addext "extendedKeyUsage=critical,timeStamping" 2>/dev/null
cat > ts.cnf <<CNF
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
serial = $work/serial
signer_cert = $work/tsa.pem
signer_key = $work/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
digests = sha256, sha384, sha512
accuracy = secs:1
ess_cert_id_alg = sha256
CNF
echo 01 > serial
echo "benchmark document" > doc.txt
openssl ts -query -data doc.txt -sha256 -cert -out q.tsq 2>/dev/null
n=300
start=$(date +%s.%N)
for ((i = 0; i < n; i++)); do
  openssl ts -reply -config ts.cnf -queryfile q.tsq -out r.tsr 2>/dev/null
done
end=$(date +%s.%N)
ts_reply=$(python3 -c "print(f'{$n / ($end - $start):.0f}')")

# ---- 3. selo serve under wrk, one server per step -------------------------------------------------
cat > post.lua <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/timestamp-query"
local f = io.open("$work/q.tsq", "rb"); wrk.body = f:read("*a"); f:close()
LUA
# No Lua response() callback: wrk would then hand every reply to Lua, the load generator's
# largest cost; wrk counts non-2xx answers itself ("Non-2xx or 3xx responses", checked below).

tree_size() {  # $1: port
  curl -sf "http://127.0.0.1:$1/api/v1/log/entries?start=0&end=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["tree_size"])'
}
machine_ticks() {  # busy and total clock ticks of all cores so far (/proc/stat)
  awk '/^cpu / {t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t}' /proc/stat
}

run_selo() {  # $1: connections; prints: tokens/s, server us/token, wrk us/token, busy %, batch
  local conns=$1 port dir
  port=$(free_port)
  dir="$work/data-$conns"
  "$selo" init --data "$dir" --listen "127.0.0.1:$port" --public-url "http://127.0.0.1:$port" >/dev/null 2>&1
  "$selo" serve --data "$dir" >"$work/serve-$conns.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  # One reply checked by openssl before the load: the figures are for correct tokens.
  curl -s --data-binary @q.tsq -H 'Content-Type: application/timestamp-query' "http://127.0.0.1:$port/tsa" -o check.tsr
  curl -s "http://127.0.0.1:$port/ca/root.crt" | openssl x509 -inform DER -out root.pem
  curl -s "http://127.0.0.1:$port/ca/infrastructure.crt" | openssl x509 -inform DER -out chain.pem
  openssl ts -verify -data doc.txt -in check.tsr -CAfile root.pem -untrusted chain.pem 2>/dev/null | grep -q "Verification: OK" \
    || { echo "tsa_bench: the server's token does not verify" >&2; exit 1; }
  wrk -t2 -c"$conns" -d2s -s post.lua "http://127.0.0.1:$port/tsa" >/dev/null  # warm-up
  local out cpu_before cpu_after wrk_cpu logged_before logged_after busy_before total_before busy_after total_after
  logged_before=$(tree_size "$port")
  # CPU time (user + system, clock ticks) of the server and of wrk over the run, and how busy
  # the whole machine was: where the cycles went, and whether any were left.
  cpu_before=$(awk '{print $14 + $15}' "/proc/$server_pid/stat")
  read -r busy_before total_before < <(machine_ticks)
  TIMEFORMAT='%U %S'
  { time wrk -t2 -c"$conns" -d"${secs}s" -s post.lua "http://127.0.0.1:$port/tsa" > wrk.out; } 2> wrk.time
  read -r busy_after total_after < <(machine_ticks)
  cpu_after=$(awk '{print $14 + $15}' "/proc/$server_pid/stat")
  out=$(cat wrk.out)
  wrk_cpu=$(awk '{print $1 + $2}' wrk.time)
  if grep -q "Non-2xx" <<<"$out"; then echo "tsa_bench: non-2xx answers under load:" >&2; echo "$out" >&2; exit 1; fi
  sleep 0.5  # replies wrk cut off at the end of the run are still being logged
  logged_after=$(tree_size "$port")
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
  local rps requests batches
  rps=$(awk '/Requests\/sec/ {print int($2)}' <<<"$out")
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  # Every token answered is in the log: none is handed out before its entry is durable.
  if ((logged_after - logged_before < requests)); then
    echo "tsa_bench: $requests tokens answered but the log grew by $((logged_after - logged_before))" >&2; exit 1
  fi
  # "transparency log: N entries appended in M group commits (largest K)", logged at shutdown.
  batches=$(grep -o 'log: [0-9]* entries appended in [0-9]* group commits (largest [0-9]*)' "$work/serve-$conns.log" |
            awk '{printf "%.0f/%s", $2 / ($6 > 0 ? $6 : 1), $10}' | tr -d ')' || true)
  python3 - "$rps" "$requests" "$cpu_before" "$cpu_after" "$wrk_cpu" "$(getconf CLK_TCK)" \
    "$busy_before" "$total_before" "$busy_after" "$total_after" "${batches:-?}" <<'PY'
import sys
rps, requests, c0, c1, wrk_cpu, tck, b0, t0, b1, t1, batch = sys.argv[1:]
n = max(int(requests), 1)
server_us = 1e6 * (float(c1) - float(c0)) / float(tck) / n
wrk_us = 1e6 * float(wrk_cpu) / n
busy = 100 * (float(b1) - float(b0)) / max(float(t1) - float(t0), 1)
print(rps, f"{server_us:.1f}", f"{wrk_us:.1f}", f"{busy:.0f}", batch)
PY
}

results="$work/results"
: > "$results"
for c in $steps; do
  echo "tsa_bench: $c connections, ${secs}s ..." >&2
  echo "$c $(run_selo "$c")" >> "$results"
  sign_1s="$sign_1s $(speed)"
done
sign_2s="$sign_2s $(all_cores)"

python3 - "$results" "$sign_1s" "$sign_2s" "$ts_reply" "$cores" "$secs" "$(uname -n)" <<'PY'
import statistics, sys
path, sign_1s, sign_alls, ts_reply, cores, secs, host = sys.argv[1:]
ones = [float(x) for x in sign_1s.split()]
alls = [float(x) for x in sign_alls.split()]
sign_1, sign_all = statistics.mean(ones), statistics.mean(alls)
ts_reply, cores = float(ts_reply), int(cores)
rows = []
for line in open(path):
    c, rps, server_us, wrk_us, busy, batch = line.split()
    rows.append(dict(c=int(c), rps=int(rps), server_us=float(server_us), wrk_us=float(wrk_us), busy=int(busy), batch=batch))
pct = lambda a, b: f"{100 * a / b:.0f}%"
sign_us = 1e6 / sign_1
print(f"\nRFC 3161 time-stamping on {host} ({cores} cores), ECDSA P-256 tokens, {secs}s per step,")
print("every token durably in the transparency log before its reply (checked: the log grew by at")
print("least as many entries as tokens were answered)\n")
print(f"  {'openssl speed ecdsap256, sign (one process, its CPU second)':62} {sign_1:9.0f} /s   (baseline)")
print(f"  {'':62} (mean of {len(ones)} runs, {min(ones):.0f} to {max(ones):.0f})")
print(f"  {'openssl speed -elapsed ecdsap256, sign, a process per core':62} {sign_all:9.0f} /s")
print(f"  {'':62} (mean of {len(alls)} runs, {min(alls):.0f} to {max(alls):.0f})")
print(f"  {'openssl ts -reply in a loop (a process per token)':62} {ts_reply:9.0f} /s   {pct(ts_reply, sign_1)} of baseline\n")
print("  selo POST /tsa under wrk (keep-alive, 2 threads):")
print(f"  {'connections':>11} {'tokens/s':>9} {'of baseline':>11} {'machine busy':>12} {'selo us/token':>13} {'wrk us/token':>12} {'commit mean/max':>15}")
for r in rows:
    print(f"  {r['c']:>11} {r['rps']:>9} {pct(r['rps'], sign_1):>11} {str(r['busy']) + '%':>12} {r['server_us']:>13.1f} {r['wrk_us']:>12.1f} {r['batch']:>15}")
best = max(rows, key=lambda r: r['rps'])
per_cpu = 1e6 / best['server_us']
ceiling = cores * 1e6 / (sign_us + best['wrk_us'])
print(f"\n  best step: {best['c']} connections, {best['rps']} tokens/s, the machine {best['busy']}% busy")
print(f"  target: >= 50% of the raw signing rate, `openssl speed ecdsap256` as it runs by default")
print(f"  1. tokens/s against that rate (one process):  {pct(best['rps'], sign_1):>5}   {'met' if best['rps'] >= sign_1 / 2 else 'NOT met'}")
print(f"  2. per second of selo's CPU ({per_cpu:.0f} tokens),")
print(f"     against the {sign_1:.0f} signatures of one core:       {pct(per_cpu, sign_1):>5}   (efficiency; a token costs")
print(f"     selo {best['server_us']:.1f} us of CPU, its signature alone {sign_us:.1f} us)")
print(f"  3. against openssl speed on all {cores} cores:         {pct(best['rps'], sign_all):>5}")
print(f"     with wrk's {best['wrk_us']:.1f} us per token on the same cores, a server that did nothing but")
print(f"     sign would reach {ceiling:.0f} tokens/s here, {pct(ceiling, sign_all)} of that rate: selo makes {pct(best['rps'], ceiling)} of it")
if best['busy'] < 90:
    print("  note: the machine still had idle CPU at the best step; more connections (CONNECTIONS=...) may give more")
PY
