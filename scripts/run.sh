#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds Selo, and runs `selo serve` on the embedded default
# data directory (./selo-data, created on first run). Extra arguments go to `selo serve`,
# e.g. scripts/run.sh --listen 0.0.0.0:8080 --public-url https://selo.example.mo
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release

export SELO_DATA="${SELO_DATA:-$PWD/selo-data}"
exec build/release/src/cli/selo serve --init --data "$SELO_DATA" "$@"
