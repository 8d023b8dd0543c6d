#!/usr/bin/env bash
# Load benchmark of `pointsman serve` (release build) with wrk on 127.0.0.1:
#   /v1/route and /v1/embeddings at 1, 16 and 64 connections; a soak on /v1/route with RSS samples;
#   the routing overhead on a proxied chat request (through the service vs straight to the same upstream).
# Usage: .ci/bench-service.sh [seconds per run, default 10] [soak seconds, default 60]
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${1:-10}; SOAK=${2:-60}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
swift build -c release --product pointsman >/dev/null
B=.build/release/pointsman
PORT=18080; UP=18081
python3 .ci/bench/fake_upstream.py $UP & UPSTREAM_PID=$!
$B serve --port $PORT --upstream http://127.0.0.1:$UP/v1 >/tmp/pointsman-bench-serve.log 2>&1 & SERVE_PID=$!
trap 'kill $SERVE_PID $UPSTREAM_PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf http://127.0.0.1:$PORT/healthz >/dev/null && break; sleep 0.1; done

# wrk prints latency percentiles with --latency; pull p50, p99, requests/s and errors.
measure() {  # script url connections seconds
  local threads=2; [ "$3" -lt 2 ] && threads=1
  local out; out=$(wrk -t"$threads" -c"$3" -d"$4"s --latency -s "$1" "$2" 2>&1)
  local rps p50 p99 errors
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  errors=$(echo "$out" | awk '/Non-2xx/ {print $5} /Socket errors/ {s=$4+$6+$8+$10} END {print s+0}' | paste -sd+ | bc)
  echo "$rps|$p50|$p99|$errors"
}

echo "| endpoint | connections | requests/s | p50 | p99 | errors |"
echo "|---|---:|---:|---:|---:|---:|"
for path in route embeddings; do
  field=prompt; [ "$path" = embeddings ] && field=input
  for c in 1 16 64; do
    IFS='|' read -r rps p50 p99 errors <<<"$(FIELD=$field measure .ci/bench/prompts.lua http://127.0.0.1:$PORT/v1/$path $c $RUN)"
    echo "| /v1/$path | $c | $rps | $p50 | $p99 | $errors |"
  done
done

# Routing overhead on a proxied chat request: through the service (model auto) vs straight to the upstream.
IFS='|' read -r _ direct _ _ <<<"$(CHAT_MODEL=m measure .ci/bench/chat.lua http://127.0.0.1:$UP/v1/chat/completions 1 $RUN)"
IFS='|' read -r _ proxied _ _ <<<"$(measure .ci/bench/chat.lua http://127.0.0.1:$PORT/v1/chat/completions 1 $RUN)"
echo
echo "proxied chat at 1 connection: p50 $proxied through pointsman vs $direct straight to the upstream"

# Soak: /v1/route at 16 connections, RSS sampled every 5 s.
rss() { awk '/VmRSS/ {print $2}' /proc/$SERVE_PID/status; }
samples="$(rss)"
wrk -t2 -c16 -d"${SOAK}"s --latency -s .ci/bench/prompts.lua http://127.0.0.1:$PORT/v1/route >/tmp/pointsman-soak.txt 2>&1 &
WRK=$!
while kill -0 $WRK 2>/dev/null; do sleep 5; samples="$samples $(rss)"; done
errors=$(awk '/Non-2xx/ {print $5}' /tmp/pointsman-soak.txt); errors=${errors:-0}
echo "soak ${SOAK}s at 16 connections: $(awk '/Requests\/sec/ {print $2}' /tmp/pointsman-soak.txt) requests/s, errors $errors, RSS kB every 5 s: $samples"
