#!/usr/bin/env bash
# The CA's figures in one run, each beside a baseline measured now on this machine:
#   certificates issued per second (durable) against `openssl speed` for the CA key type,
#   CRL generation at 100,000 entries (and one revocation beside them),
#   OCSP responses per second over loopback HTTP (wrk) against `openssl ocsp -index`,
# then a summary against the targets (>= 2,000 certificates/s, >= 50,000 OCSP responses/s on
# 2 cores, a 100,000-entry CRL in well under a second).
#
# Usage: bench/ca.sh [build dir] [OCSP seconds] [OCSP connections]
# Needs: a release build (cmake --build --preset release-all), openssl, wrk, curl, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
secs=${2:-5}
conns=${3:-32}
[[ -x "$build/bench/selo_ca_bench" ]] || { echo "ca.sh: no $build/bench/selo_ca_bench (build first)" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "== 1/2 issuance, CRL and in-process OCSP (bench/ca_bench.cpp; its log lines go to $out/ca.log)"
"$build/bench/selo_ca_bench" 2>"$out/ca.log" | tee "$out/ca.txt"
echo
echo "== 2/2 OCSP over HTTP (bench/ocsp_http.sh)"
sh bench/ocsp_http.sh "$build" "$secs" "$conns" | tee "$out/ocsp.txt"

python3 - "$out/ca.txt" "$out/ocsp.txt" <<'PY'
import re, sys
ca = open(sys.argv[1]).read()
ocsp = open(sys.argv[2]).read()
issued = [float(x) for x in re.findall(r"^selo,.*?(\d+) certificates/s", ca, re.M)]
speed = re.search(r"baseline openssl speed ecdsap\d+ \(sign/s, verify/s\):.*?([\d.]+)\s+[\d.]+\s*$", ca, re.M)
crl = re.search(r"CRL of (\d+) entries: ([\d.]+) s", ca)
rev = re.search(r"one revocation beside \d+ revoked: ([\d.]+) ms", ca)
rates = [float(x) for x in re.findall(r"Requests/sec:\s+([\d.]+)", ocsp)]
print("\n== summary")
if issued and speed:
    best = max(issued)
    print(f"certificates issued per second (durable): {best:8.0f}   openssl speed signs/s {float(speed.group(1)):8.0f}"
          f"   target >= 2000: {'met' if best >= 2000 else 'NOT met'}")
if crl:
    s = float(crl.group(2))
    print(f"CRL of {crl.group(1)} entries:                  {s:8.3f} s"
          f"{'   one revocation beside them ' + rev.group(1) + ' ms' if rev else ''}   target < 1 s: {'met' if s < 1 else 'NOT met'}")
if len(rates) == 2:
    print(f"OCSP responses per second over HTTP:      {rates[0]:8.0f}   openssl ocsp -index {rates[1]:8.0f}"
          f" ({rates[0] / rates[1]:.1f}x)   target >= 50000: {'met' if rates[0] >= 50000 else 'NOT met'}")
PY
