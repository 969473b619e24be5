#!/bin/sh
# OCSP responses per second over loopback HTTP with wrk (Debian's wrk), in one run:
#   1. `selo serve`: GET /ocsp/<base64> for a certificate it issued (RFC 5019 style, no nonce);
#   2. the baseline, `openssl ocsp -index -multi 2` as responder (a process per core; without
#      -multi it serves one connection at a time and wrk gets no answers), for a certificate of
#      an openssl CA, under the same wrk load.
# wrk runs on the same machine: on 2 cores it takes a good part of the CPU from the server.
# Usage: bench/ocsp_http.sh [build dir] [seconds] [connections]
set -eu
BUILD=${1:-build/release}
SECS=${2:-5}
CONNS=${3:-32}
SELO=$(cd "$BUILD" && pwd)/src/cli/selo
for tool in wrk openssl curl; do
    command -v $tool >/dev/null || { echo "$tool is not installed" >&2; exit 1; }
done
W=$(mktemp -d)
cleanup() {
    [ -n "${SPID:-}" ] && kill "$SPID" 2>/dev/null
    # openssl ocsp -multi: the children outlive their parent, spinning on the closed socket
    # (seen: two cores taken until reboot), so they are ended first, by parent PID.
    if [ -n "${OPID:-}" ]; then
        pkill -P "$OPID" 2>/dev/null
        kill "$OPID" 2>/dev/null
    fi
    rm -rf "$W"
}
trap cleanup EXIT INT TERM
cd "$W"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
P1=$(port)
"$SELO" init --data d --public-url "http://127.0.0.1:$P1" --listen "127.0.0.1:$P1" >/dev/null 2>&1
"$SELO" serve --data d >serve.log 2>&1 &
SPID=$!
for i in $(seq 50); do curl -sf "http://127.0.0.1:$P1/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
"$SELO" ca issue --data d --profile tsa --common-name "Bench TSU" --generate-key --key-out t.key -o t.pem 2>/dev/null
curl -sf "http://127.0.0.1:$P1/ca/infrastructure.crt" | openssl x509 -inform DER -out ca.pem
openssl ocsp -issuer ca.pem -cert t.pem -no_nonce -reqout r.der
B64=$(base64 -w0 r.der)
curl -sf "http://127.0.0.1:$P1/ocsp/$B64" -o check.der
openssl ocsp -respin check.der -issuer ca.pem -cert t.pem -noverify | head -1
wrk_rate() {
    wrk -t2 -c"$2" -d"${SECS}s" "$1" | grep -E "Requests/sec|Latency|Non-2xx|Socket errors"
}
curl -sf "http://127.0.0.1:$P1/ocsp/$B64" -o /dev/null  # answered once: precomputed from now on
echo "== selo serve, GET /ocsp/<base64>, wrk -t2 -c$CONNS, ${SECS}s"
# The server's own CPU time too: on a shared machine, answers per CPU second say what the
# server costs, answers per wall second what the machine gave it.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
C0=$(cpu_ticks "$SPID")
wrk -t2 -c"$CONNS" -d"${SECS}s" "http://127.0.0.1:$P1/ocsp/$B64" > wrk.out
C1=$(cpu_ticks "$SPID")
grep -E "Requests/sec|Latency|Non-2xx|Socket errors" wrk.out
N=$(awk '/requests in/ {print $1}' wrk.out)
python3 -c "t = ($C1 - $C0) / $(getconf CLK_TCK); print(f'selo serve used {t:.2f} CPU s: {$N / t if t else 0:8.0f} responses per CPU second')"

# Baseline: openssl's own responder over an index file.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout oca.key -subj /CN=OCA -days 30 -out oca.pem 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ee.key -subj /CN=EE -out ee.csr 2>/dev/null
openssl x509 -req -in ee.csr -CA oca.pem -CAkey oca.key -set_serial 0x1234 -days 30 -out ee.pem 2>/dev/null
EXP=$(date -u -d '+30 days' +%y%m%d%H%M%SZ)
printf 'V\t%s\t\t1234\tunknown\t/CN=EE\n' "$EXP" > index.txt
P2=$(port)
openssl ocsp -index index.txt -port "$P2" -rsigner oca.pem -rkey oca.key -CA oca.pem -nmin 60 -multi 2 >ocsp.log 2>&1 &
OPID=$!
sleep 0.5
openssl ocsp -issuer oca.pem -cert ee.pem -no_nonce -reqout o.der
OB64=$(base64 -w0 o.der | sed 's|/|%2F|g; s|+|%2B|g; s|=|%3D|g')
curl -sf "http://127.0.0.1:$P2/$OB64" -o ocheck.der && openssl ocsp -respin ocheck.der -issuer oca.pem -cert ee.pem -noverify | head -1
echo "== baseline: openssl ocsp -index -multi 2, GET, wrk -t2 -c$CONNS, ${SECS}s"
wrk_rate "http://127.0.0.1:$P2/$OB64" "$CONNS"
