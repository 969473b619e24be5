#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds everything, and runs the whole test suite (unit,
# integration against a real server, third-party validators). Extra arguments go to ctest,
# e.g. scripts/test.sh -L pdf   or   scripts/test.sh -R Signing
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake --preset release
cmake --build --preset release-all
ctest --preset release --parallel "$(nproc)" "$@"
