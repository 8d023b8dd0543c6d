#!/usr/bin/env bash
# The test command: set-up, real peers on 127.0.0.1, then the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
.ci/setup.sh debug
trap '.ci/peers.sh stop' EXIT
eval "$(.ci/peers.sh start all)"
swift test "$@"
