#!/bin/sh
# OCSP responses per second over loopback HTTP with wrk (Debian's wrk), in one run:
#   1. `selo serve`: GET /ocsp/<base64> for a certificate it issued (RFC 5019 style, no nonce);
#   2. the baseline, `openssl ocsp -index` as responder, for a certificate of an openssl CA.
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
cleanup() { [ -n "${SPID:-}" ] && kill "$SPID" 2>/dev/null; [ -n "${OPID:-}" ] && kill "$OPID" 2>/dev/null; rm -rf "$W"; }
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
echo "== selo serve, GET /ocsp/<base64>, $CONNS connections, ${SECS}s"
wrk -t2 -c"$CONNS" -d"${SECS}s" "http://127.0.0.1:$P1/ocsp/$B64" | grep -E "Requests/sec|Latency|Non-2xx"

# Baseline: openssl's own responder over an index file.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout oca.key -subj /CN=OCA -days 30 -out oca.pem 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ee.key -subj /CN=EE -out ee.csr 2>/dev/null
openssl x509 -req -in ee.csr -CA oca.pem -CAkey oca.key -set_serial 0x1234 -days 30 -out ee.pem 2>/dev/null
EXP=$(date -u -d '+30 days' +%y%m%d%H%M%SZ)
printf 'V\t%s\t\t1234\tunknown\t/CN=EE\n' "$EXP" > index.txt
P2=$(port)
openssl ocsp -index index.txt -port "$P2" -rsigner oca.pem -rkey oca.key -CA oca.pem -nmin 60 >ocsp.log 2>&1 &
OPID=$!
sleep 0.5
openssl ocsp -issuer oca.pem -cert ee.pem -no_nonce -reqout o.der
OB64=$(base64 -w0 o.der | sed 's|/|%2F|g; s|+|%2B|g; s|=|%3D|g')
curl -sf "http://127.0.0.1:$P2/$OB64" -o ocheck.der && openssl ocsp -respin ocheck.der -issuer oca.pem -cert ee.pem -noverify | head -1
# wrk gets no answers from `openssl ocsp` (it serves one connection at a time and stalls on
# concurrent ones), so the like-for-like figure is the same sequential curl load against both.
curl_rate() {
    N=$2; PAR=$3
    CFG="$W/curl.cfg"; : > "$CFG"
    i=0; while [ $i -lt $N ]; do printf 'url = "%s"\noutput = "/dev/null"\n' "$1" >> "$CFG"; i=$((i+1)); done
    T0=$(date +%s.%N)
    timeout 60 curl -s --no-progress-meter --parallel --parallel-max "$PAR" -K "$CFG" || true
    T1=$(date +%s.%N)
    python3 -c "print(f'{$N/($T1-$T0):8.0f} responses/s ($N requests, curl --parallel-max $PAR)')"
}
echo "== sequential curl: selo serve";  curl_rate "http://127.0.0.1:$P1/ocsp/$B64" 500 1
echo "== sequential curl: openssl ocsp -index"; curl_rate "http://127.0.0.1:$P2/$OB64" 500 1
