#!/usr/bin/env bash
# Prepares a fresh machine: system packages, a build of pointsman, and the verified MiniLM model files.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
pkg-config --exists openblas 2>/dev/null || need+=(libopenblas-dev)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v curl >/dev/null || need+=(curl)
if [ "${#need[@]}" -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
CONFIG="${1:-debug}"
swift build -c "$CONFIG" --product pointsman
"$(swift build -c "$CONFIG" --show-bin-path)/pointsman" model fetch
