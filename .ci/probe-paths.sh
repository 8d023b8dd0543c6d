#!/usr/bin/env bash
# Memory probe of `pointsman serve` (release build) on 127.0.0.1, from the hardening issue: 20,000 unauthenticated
# requests to distinct 2 KB paths (all answered 401) must raise RSS by less than 10 MB and the /metrics page by less
# than 10 KB. Prints RSS and /metrics size before and after, and the status codes seen.
# Usage: .ci/probe-paths.sh [requests, default 20000]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20000}
swift build -c release --product pointsman >/dev/null
PORT=18091; KEY=probe-key
WORK=$(mktemp -d)
POINTSMAN_SERVICE_API_KEYS=$KEY .build/release/pointsman serve --port $PORT --upstream http://127.0.0.1:9/v1 >"$WORK/serve.log" 2>&1 & PID=$!
trap 'kill $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 300); do curl -sf http://127.0.0.1:$PORT/healthz >/dev/null && break; sleep 0.1; done
rss() { awk '/VmRSS/ {print $2}' /proc/$PID/status; }
metrics() { curl -s -H "Authorization: Bearer $KEY" http://127.0.0.1:$PORT/metrics | wc -c; }
# Warm-up: the same kinds of requests, a few hundred, so first-use allocations are not counted as growth.
python3 .ci/bench/distinct_paths.py $PORT 500 warm >/dev/null
rss0=$(rss); m0=$(metrics)
codes=$(python3 .ci/bench/distinct_paths.py $PORT "$N" probe)
rss1=$(rss); m1=$(metrics)
echo "$N requests to distinct 2 KB paths: status codes $codes"
echo "RSS: $rss0 kB -> $rss1 kB ($(( (rss1 - rss0) )) kB); /metrics: $m0 -> $m1 bytes ($(( m1 - m0 )) bytes)"
