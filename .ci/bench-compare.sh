#!/usr/bin/env bash
# Two builds of `pointsman serve` side by side: `/v1/route` at 16 connections on each in alternating rounds (each
# side first in every other round), with every prompt new (each request embedded) and with eight prompts repeated
# (embedding-cache hits: the service's own work per request). For a change's effect on the service's speed.
# Usage: [OTHER_DIR=CHECKOUT] .ci/bench-compare.sh OTHER_BINARY [seconds per run, default 5] [rounds, default 9]
# (OTHER_BINARY: e.g. a release build of the previous commit; the other side is this checkout's release build. The
# other binary runs in OTHER_DIR, default this checkout: give its own checkout to have it load its own shipped files.)
set -euo pipefail
OTHER=${1:?usage: .ci/bench-compare.sh OTHER_BINARY [seconds] [rounds]}; RUN=${2:-5}; ROUNDS=${3:-9}
# Relative paths are the caller's: resolve them before moving to the checkout.
[ -x "$OTHER" ] || { echo "not an executable: $OTHER" >&2; exit 2; }
OTHER=$(realpath "$OTHER")
if [ -n "${OTHER_DIR:-}" ]; then
  [ -d "$OTHER_DIR" ] || { echo "not a folder: $OTHER_DIR" >&2; exit 2; }
  OTHER_DIR=$(realpath "$OTHER_DIR")
fi
cd "$(dirname "$0")/.."
OTHER_DIR=${OTHER_DIR:-$PWD}
command -v wrk >/dev/null && command -v python3 >/dev/null && command -v bc >/dev/null ||
  { apt-get update -qq && apt-get install -y -qq wrk python3 bc >/dev/null; }
swift build -c release --product pointsman >/dev/null
B=.build/release/pointsman
P1=""; P2=""
trap 'kill $P1 $P2 2>/dev/null || true; wait $P1 $P2 2>/dev/null || true' EXIT
A_PORT=18094; B_PORT=18095
(cd "$OTHER_DIR" && exec "$OTHER" serve --port $A_PORT) >/dev/null 2>&1 & P1=$!
"$B" serve --port $B_PORT >/dev/null 2>&1 & P2=$!
for port in $A_PORT $B_PORT; do
  for _ in $(seq 300); do curl -sf http://127.0.0.1:$port/readyz >/dev/null && break; sleep 0.1; done
  curl -sf http://127.0.0.1:$port/readyz >/dev/null || { echo "the service on port $port did not get ready" >&2; exit 1; }
  FIELD=prompt wrk -t2 -c16 -d3s -s .ci/bench/prompts.lua http://127.0.0.1:$port/v1/route >/dev/null  # warm
done
run() {  # port unique(0|1) -> requests/s (0 when wrk failed, any request failed or no rate was printed)
  local out rate
  out=$(FIELD=prompt UNIQUE=$2 wrk -t2 -c16 -d"${RUN}"s -s .ci/bench/prompts.lua http://127.0.0.1:$1/v1/route 2>&1) || { echo 0; return; }
  rate=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  case "$out" in *Non-2xx*|*"Socket errors"*) rate=0 ;; esac
  echo "${rate:-0}"
}
order=0
for unique in 1 0; do
  [ $unique = 1 ] && echo "Every prompt new (each request embedded):" || echo "Eight prompts repeated (embedding-cache hits):"
  echo
  echo "| round | $OTHER: requests/s | this checkout: requests/s | ratio |"
  echo "|---:|---:|---:|---:|"
  a=(); b=()
  for round in $(seq "$ROUNDS"); do
    order=$((order + 1))
    if [ $((order % 2)) = 1 ]; then ra=$(run $A_PORT $unique); rb=$(run $B_PORT $unique)
    else rb=$(run $B_PORT $unique); ra=$(run $A_PORT $unique); fi
    [ "$ra" != 0 ] && [ "$rb" != 0 ] || { echo "FAIL: requests failed in round $round" >&2; exit 1; }
    a+=("$ra"); b+=("$rb")
    echo "| $round | $ra | $rb | $(echo "scale=3; $rb / $ra" | bc) |"
  done
  python3 - "${a[*]}" "${b[*]}" <<'PY'
import random, statistics, sys
a = [float(x) for x in sys.argv[1].split()]; b = [float(x) for x in sys.argv[2].split()]
ratios = [y / x for x, y in zip(a, b)]
rng = random.Random(7)
medians = sorted(statistics.median(rng.choices(ratios, k=len(ratios))) for _ in range(10000))
print(f"\nmedian requests/s: other {statistics.median(a):.1f}, this checkout {statistics.median(b):.1f}; "
      f"median of the rounds' ratios {statistics.median(ratios):.3f} (90% bootstrap interval {medians[500]:.3f} to {medians[9499]:.3f})\n")
PY
done
