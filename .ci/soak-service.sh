#!/usr/bin/env bash
# Mixed soak of `pointsman serve` (release build) on 127.0.0.1, to see whether memory stays flat after warm-up:
# valid routes (wrk, 8 connections), and beside them, in a loop, invalid bodies, wrong types, oversized batches,
# unknown paths, streamed and non-streamed chat through a local fake upstream, and requests the client abandons
# after 20 ms. RSS is sampled every 30 s and printed as a table.
# Usage: .ci/soak-service.sh [minutes, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${1:-10}
SECONDS_TOTAL=$((MINUTES * 60))
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
swift build -c release --product pointsman >/dev/null
B=.build/release/pointsman
PORT=18090; UP=18091
python3 .ci/bench/fake_upstream.py $UP & UPSTREAM_PID=$!
$B serve --port $PORT --upstream http://127.0.0.1:$UP/v1 >/tmp/pointsman-soak-serve.log 2>&1 & SERVE_PID=$!
trap 'kill $SERVE_PID $UPSTREAM_PID $WRK_PID $MIX_PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf http://127.0.0.1:$PORT/healthz >/dev/null && break; sleep 0.1; done
URL=http://127.0.0.1:$PORT

wrk -t1 -c8 -d"${SECONDS_TOTAL}"s -s .ci/bench/prompts.lua $URL/v1/route >/tmp/pointsman-soak-wrk.txt 2>&1 & WRK_PID=$!

big=$(python3 -c 'import json; print(json.dumps({"prompts": ["x"] * 300}))')
mix() {
  local end=$((SECONDS + SECONDS_TOTAL)) n=0
  while [ $SECONDS -lt $end ]; do
    n=$((n + 1))
    curl -s -o /dev/null $URL/v1/route -H 'content-type: application/json' -d '{"prompt": '
    curl -s -o /dev/null $URL/v1/route -H 'content-type: application/json' -d '{"prompt": 7}'
    curl -s -o /dev/null $URL/v1/route -H 'content-type: application/json' -d "$big"
    curl -s -o /dev/null "$URL/nowhere/$n"
    curl -s -o /dev/null $URL/v1/chat/completions -H 'content-type: application/json' \
      -d '{"model": "auto", "messages": [{"role": "user", "content": "Write a haiku about rain"}]}'
    curl -s -o /dev/null -N $URL/v1/chat/completions -H 'content-type: application/json' \
      -d '{"model": "auto", "stream": true, "messages": [{"role": "user", "content": "Summarize this"}]}'
    curl -s -o /dev/null --max-time 0.02 $URL/v1/route -H 'content-type: application/json' \
      -d '{"prompts": ["Translate this", "Explain that", "Write code"]}' || true
  done
}
mix & MIX_PID=$!

rss() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' /proc/$SERVE_PID/status; }
echo "| minute | RSS (MB) |"
echo "|---:|---:|"
echo "| 0.0 | $(rss) |"
elapsed=0
while [ $elapsed -lt $SECONDS_TOTAL ]; do
  sleep 30; elapsed=$((elapsed + 30))
  echo "| $(awk -v s=$elapsed 'BEGIN {printf "%.1f", s / 60}') | $(rss) |"
done
wait $WRK_PID || true
echo
echo "valid routes: $(awk '/Requests\/sec/ {print $2}' /tmp/pointsman-soak-wrk.txt) requests/s over ${MINUTES} min"
echo "5xx answers in the log: $(grep -c '"status":5' /tmp/pointsman-soak-serve.log || true); metrics:"
curl -s $URL/metrics | grep '^pointsman_http_requests_total' | sort
