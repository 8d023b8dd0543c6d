#!/usr/bin/env bash
# Translation overhead: the same streamed request as chat completions and as Anthropic Messages, through one
# `pointsman serve` (release build) in front of a local fake upstream that streams a short answer; wrk, 1 connection,
# alternating runs; prints p50 per run and the median difference.
# Usage: .ci/bench-translation.sh [seconds per run, default 10] [rounds, default 3]
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${1:-10}; ROUNDS=${2:-3}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
swift build -c release --product pointsman >/dev/null
PORT=18096; UP=18097
python3 .ci/bench/fake_upstream.py $UP & UPSTREAM_PID=$!
.build/release/pointsman serve --port $PORT --upstream http://127.0.0.1:$UP/v1 >/tmp/pointsman-bench-translation.log 2>&1 & SERVE_PID=$!
trap 'kill $SERVE_PID $UPSTREAM_PID 2>/dev/null || true' EXIT
for _ in $(seq 300); do curl -sf http://127.0.0.1:$PORT/healthz >/dev/null && break; sleep 0.1; done
ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; printf "%.3f", v}'; }
p50() { FORMAT=$1 wrk -t1 -c1 -d"${RUN}"s --latency -s .ci/bench/stream.lua "http://127.0.0.1:$PORT" 2>&1 | awk '$1=="50%" {print $2}' | ms; }
echo "| round | chat completions, p50 ms | messages, p50 ms | difference ms |"
echo "|---|---:|---:|---:|"
diffs=()
for round in $(seq "$ROUNDS"); do
  chat=$(p50 chat); messages=$(p50 messages)
  diff=$(echo "$messages - $chat" | bc -l); diffs+=("$diff")
  printf "| %d | %s | %s | %.3f |\n" "$round" "$chat" "$messages" "$diff"
done
printf "median difference: %.3f ms\n" "$(printf '%s\n' "${diffs[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
