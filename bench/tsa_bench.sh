#!/usr/bin/env bash
# Time-stamp tokens per second from `selo serve` over HTTP keep-alive (wrk posting one RFC 3161
# query), against the raw signing rate of the TSA's key type (`openssl speed`, both cores) and a
# loop of `openssl ts -reply` (a process per token), all measured now on this machine.
#
# Usage: bench/tsa_bench.sh [path/to/selo]   (env: SECONDS_PER_RUN=10 CONNECTIONS=32 WORKERS=32)
# Needs: openssl, curl, wrk, python3. The load generator shares the machine with the server, so
# the HTTP figure is a lower bound of what the server does with cores of its own.
set -euo pipefail

selo=${1:-build/release/src/cli/selo}
secs=${SECONDS_PER_RUN:-10}
conns=${CONNECTIONS:-32}
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
sign_1=$(speed)
# Both cores: one `openssl speed` per core at once, their rates summed (this is steadier than
# -multi on a shared machine, and says the same). -elapsed: per second of wall clock, as wrk
# counts; without it openssl divides by its own CPU time, which on a machine shared with other
# work is a rate nothing measured by the clock can reach.
cores=$(nproc)
for ((c = 0; c < cores; c++)); do speed -elapsed > "$work/speed-$c" & done
wait
sign_2=$(cat "$work"/speed-* | awk '{s += $1} END {printf "%.1f", s}')

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

# ---- 3. selo serve under wrk ---------------------------------------------------------------------
cat > post.lua <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/timestamp-query"
local f = io.open("$work/q.tsq", "rb"); wrk.body = f:read("*a"); f:close()
LUA
# No Lua response() callback: wrk would then hand every reply to Lua, the load generator's
# largest cost; wrk counts non-2xx answers itself ("Non-2xx or 3xx responses", checked below).

run_selo() {  # $1: worker_threads; prints tokens/s
  local workers=$1 port dir
  port=$(free_port)
  dir="$work/data-$workers"
  "$selo" init --data "$dir" --listen "127.0.0.1:$port" --public-url "http://127.0.0.1:$port" >/dev/null 2>&1
  sed -i "s/^worker_threads = 0$/worker_threads = $workers/" "$dir/selo.toml"
  "$selo" serve --data "$dir" >"$work/serve-$workers.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  # One reply checked by openssl before the load: the figures are for correct tokens.
  curl -s --data-binary @q.tsq -H 'Content-Type: application/timestamp-query' "http://127.0.0.1:$port/tsa" -o check.tsr
  curl -s "http://127.0.0.1:$port/ca/root.crt" | openssl x509 -inform DER -out root.pem
  curl -s "http://127.0.0.1:$port/ca/infrastructure.crt" | openssl x509 -inform DER -out chain.pem
  openssl ts -verify -data doc.txt -in check.tsr -CAfile root.pem -untrusted chain.pem 2>/dev/null | grep -q "Verification: OK" \
    || { echo "tsa_bench: the server's token does not verify" >&2; exit 1; }
  local out cpu_before cpu_after wrk_cpu
  # CPU time (user + system, clock ticks) of the server and of wrk over the run: where the
  # machine's cycles went, so that a load generator starved of CPU is visible.
  cpu_before=$(awk '{print $14 + $15}' "/proc/$server_pid/stat")
  TIMEFORMAT='%U %S'
  { time wrk -t2 -c"$conns" -d"${secs}s" -s post.lua "http://127.0.0.1:$port/tsa" > wrk.out; } 2> wrk.time
  out=$(cat wrk.out)
  cpu_after=$(awk '{print $14 + $15}' "/proc/$server_pid/stat")
  wrk_cpu=$(awk '{print $1 + $2}' wrk.time)
  if grep -q "Non-2xx" <<<"$out"; then echo "tsa_bench: non-2xx answers under load:" >&2; echo "$out" >&2; exit 1; fi
  local logged
  logged=$(curl -s "http://127.0.0.1:$port/api/v1/log/entries?start=0&end=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["tree_size"])')
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
  local rps requests batches
  rps=$(awk '/Requests\/sec/ {print int($2)}' <<<"$out")
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  # "transparency log: N entries appended in M group commits (largest K)", logged at shutdown.
  batches=$(grep -o 'log: [0-9]* entries appended in [0-9]* group commits (largest [0-9]*)' "$work/serve-$workers.log" |
            awk '{printf "%.0f/%s", $2 / ($6 > 0 ? $6 : 1), $10}' | tr -d ')' || true)
  local tck server_us wrk_us
  tck=$(getconf CLK_TCK)
  server_us=$(python3 -c "print(f'{1e6 * ($cpu_after - $cpu_before) / $tck / max($requests, 1):.0f}')")
  wrk_us=$(python3 -c "print(f'{1e6 * $wrk_cpu / max($requests, 1):.0f}')")
  echo "$rps $logged $server_us $wrk_us ${batches:-?}"
}
read -r http_default logged_default server_default wrk_default batch_default < <(run_selo 0)
read -r http_32 logged_32 server_32 wrk_32 batch_32 < <(run_selo "${WORKERS:-32}")

pct() { python3 -c "print(f'{100 * $1 / $2:.0f}%')"; }
printf '\nRFC 3161 time-stamping on %s (%s cores), ECDSA P-256 tokens, %ss runs, %s connections\n' \
  "$(uname -n)" "$(nproc)" "$secs" "$conns"
printf '  %-58s %10s /s\n' "openssl speed ecdsap256, sign, 1 core (per CPU second)" "$sign_1"
printf '  %-58s %10s /s   (baseline)\n' "openssl speed -elapsed ecdsap256, sign, one process per core" "$sign_2"
printf '  %-58s %10s /s   %s of baseline\n' "openssl ts -reply loop (a process per token)" "$ts_reply" "$(pct "$ts_reply" "$sign_2")"
printf '  %-58s %10s /s   %s of baseline\n' "selo POST /tsa, wrk keep-alive, worker_threads=cores" "$http_default" "$(pct "$http_default" "$sign_2")"
printf '  %-58s %10s /s   %s of baseline\n' "selo POST /tsa, wrk keep-alive, worker_threads=${WORKERS:-32}" "$http_32" "$(pct "$http_32" "$sign_2")"
printf '  every token durably in the transparency log before its reply (log sizes %s, %s)\n' "$logged_default" "$logged_32"
printf '  CPU per token: selo %s / %s us, wrk %s / %s us; entries per group commit (mean/largest) %s, %s\n' \
  "$server_default" "$server_32" "$wrk_default" "$wrk_32" "$batch_default" "$batch_32"
printf '  (signing alone costs %s us of CPU per token: openssl speed, 1 core)\n' \
  "$(python3 -c "print(f'{1e6 / $sign_1:.0f}')")"
# The same comparison per CPU second, which leaves out the cores wrk takes from the server on
# this machine: tokens per second of server CPU against signatures per second of one core.
per_cpu() { python3 -c "print(f'{1e6 / $1:.0f}')"; }
printf '  %-58s %10s /s   %s of 1-core openssl speed\n' "selo tokens per server CPU second, worker_threads=cores" \
  "$(per_cpu "$server_default")" "$(pct "$(per_cpu "$server_default")" "$sign_1")"
printf '  %-58s %10s /s   %s of 1-core openssl speed\n' "selo tokens per server CPU second, worker_threads=${WORKERS:-32}" \
  "$(per_cpu "$server_32")" "$(pct "$(per_cpu "$server_32")" "$sign_1")"
printf '  target: >= 50%% of the baseline\n'
