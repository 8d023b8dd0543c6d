#!/usr/bin/env bash
# The test command: set-up, real peers on 127.0.0.1, then the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
.ci/setup.sh debug
trap '.ci/peers.sh stop' EXIT
eval "$(.ci/peers.sh start all)"
# One test at a time: on two cores, CPU-bound encoder tests running beside the timeout and stream-stall tests can hold
# Swift's cooperative threads for seconds and make those fire late.
swift test --no-parallel "$@"
# Three replicas behind nginx sharing PostgreSQL, checked from the outside (budget, sessions, failover, reload, log).
if [ $# -eq 0 ]; then deploy/replicas-test.sh; fi
