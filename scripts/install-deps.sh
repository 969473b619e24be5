#!/usr/bin/env bash
# Installs every Debian 12 package Selo needs to build, run and test.
# Usage: scripts/install-deps.sh [--runtime-only]
set -euo pipefail

build_pkgs=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libssl-dev openssl
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libsqlite3-dev
  libqpdf-dev
  libargon2-dev
  libcli11-dev
  libfmt-dev
  libtomlplusplus-dev
  libp11-kit-dev
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  # Runtime data: the common-password list the password policy refuses (password.lst).
  john-data
  # The enrolment slip: Pango shapes Chinese and Portuguese text, cairo writes the PDF with
  # subsetted embedded fonts; Noto CJK has the glyphs. The authenticator QR code: libqrencode.
  libcairo2-dev libpango1.0-dev fonts-noto-cjk libqrencode-dev libpng-dev
)
# Independent peers the tests check Selo's output with, and what generates the fixtures.
test_pkgs=(
  poppler-utils libnss3-tools oathtool qpdf curl python3
  # zbarimg decodes the authenticator QR code independently.
  zbar-tools
  python3-aiosmtpd
  softhsm2 gnutls-bin
  sqlite3 wrk
  # Debian's ISO 3166 data: the built-in list of country codes is checked against it.
  iso-codes
)

pkgs=("${build_pkgs[@]}")
if [[ "${1:-}" != "--runtime-only" ]]; then
  pkgs+=("${test_pkgs[@]}")
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#pkgs[@]} packages already installed"
  exit 0
fi

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  sudo_cmd=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
