#!/usr/bin/env bash
# The cost of the shared database: `/v1/route` at 16 connections on one replica without a database and with
# PostgreSQL (spend ledger, sessions, decision log), side by side in one run (release build, alternating runs so both
# see the same machine, each side first in every other round), then a check that every answered request has its decision row.
# Usage: .ci/bench-database.sh [seconds per run, default 10] [rounds, default 3] [tables: both (default) | hits]
# ("hits" runs only the embedding-cache-hit table, where the database's share is largest: many short rounds there
# give the tightest interval).
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${1:-10}; ROUNDS=${2:-3}; TABLES=${3:-both}
case "$TABLES" in both|hits) ;; *) echo "tables must be both or hits, not $TABLES" >&2; exit 2 ;; esac
command -v wrk >/dev/null && command -v python3 >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk python3 >/dev/null; }
swift build -c release --product pointsman >/dev/null
B=.build/release/pointsman
eval "$(.ci/peers.sh start postgres)"
db="bench_$(date +%s)_$$"
"$POINTSMAN_POSTGRES_BIN/psql" -q "$POINTSMAN_TEST_DATABASE_URL" -c "CREATE DATABASE $db" >/dev/null
# The database goes with the run: a cluster that keeps hundreds of databases has its autovacuum launcher start
# workers all the time, CPU that the next run would measure on both sides.
work=""; P1=""; P2=""
trap 'kill $P1 $P2 2>/dev/null || true; wait $P1 $P2 2>/dev/null || true; [ -z "$work" ] || rm -rf "$work"
  "$POINTSMAN_POSTGRES_BIN/psql" -q "$POINTSMAN_TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
URL="${POINTSMAN_TEST_DATABASE_URL%/*}/$db"
PLAIN=18090; SHARED=18091
work=$(mktemp -d)
$B serve --port $PLAIN >"$work/plain.log" 2>&1 & P1=$!
POINTSMAN_DATABASE_URL="$URL" $B serve --port $SHARED --decision-spill "$work/spill.jsonl" >"$work/shared.log" 2>&1 & P2=$!
others=$("$POINTSMAN_POSTGRES_BIN/psql" "$POINTSMAN_TEST_DATABASE_URL" -tAc "SELECT count(*) FROM pg_database WHERE NOT datistemplate")
echo "databases on the server (this run's included): $others"
for port in $PLAIN $SHARED; do
  for _ in $(seq 300); do curl -sf http://127.0.0.1:$port/readyz >/dev/null && break; sleep 0.1; done
done
# Warm both (encoder, caches, connection pool).
for port in $PLAIN $SHARED; do FIELD=prompt wrk -t2 -c16 -d3s -s .ci/bench/prompts.lua http://127.0.0.1:$port/v1/route >/dev/null; done
rows_before=$("$POINTSMAN_POSTGRES_BIN/psql" "$URL" -tAc "SELECT count(*) FROM pointsman_decisions")

run() {  # port unique(0|1) -> "requests/s|p50|p99|completed|errors"
  local out; out=$(FIELD=prompt UNIQUE=$2 wrk -t2 -c16 -d"${RUN}"s --latency -s .ci/bench/prompts.lua http://127.0.0.1:$1/v1/route 2>&1)
  echo "$(echo "$out" | awk '/Requests\/sec/ {print $2}')|$(echo "$out" | awk '$1=="50%" {print $2}')|$(echo "$out" | awk '$1=="99%" {print $2}')|$(echo "$out" | awk '/requests in/ {print $1}')|$(echo "$out" | awk '/Non-2xx/ {n+=$5} /Socket errors/ {n+=$4+$6+$8+$10} END {print n+0}')"
}
plain_rps=(); shared_rps=(); shared_done=0; errors=0; order=0
table() {  # unique(0|1) label
  plain_rps=(); shared_rps=()
  echo
  echo "$2"
  echo
  echo "| round | without database: requests/s | p50 | p99 | with PostgreSQL: requests/s | p50 | p99 |"
  echo "|---:|---:|---:|---:|---:|---:|---:|"
  for round in $(seq "$ROUNDS"); do
    # Which side runs first alternates (A B, B A, …, counted across both tables), so a machine that drifts within a
    # round favours neither.
    order=$((order + 1))
    if [ $((order % 2)) = 1 ]; then
      IFS='|' read -r r1 a1 b1 _ e1 <<<"$(run $PLAIN "$1")"
      IFS='|' read -r r2 a2 b2 n2 e2 <<<"$(run $SHARED "$1")"
    else
      IFS='|' read -r r2 a2 b2 n2 e2 <<<"$(run $SHARED "$1")"
      IFS='|' read -r r1 a1 b1 _ e1 <<<"$(run $PLAIN "$1")"
    fi
    plain_rps+=("$r1"); shared_rps+=("$r2"); shared_done=$((shared_done + n2)); errors=$((errors + e1 + e2))
    echo "| $round | $r1 | $a1 | $b1 | $r2 | $a2 | $b2 |"
  done
  mp=$(median "${plain_rps[@]}"); ms=$(median "${shared_rps[@]}")
  echo
  pairs=(); for i in "${!plain_rps[@]}"; do pairs+=("$(echo "scale=4; ${shared_rps[$i]} / ${plain_rps[$i]}" | bc)"); done
  echo "median requests/s: without database $mp, with PostgreSQL $ms, ratio $(echo "scale=3; $ms / $mp" | bc); median of the rounds' own ratios $(median "${pairs[@]}")"
  interval "${pairs[@]}"
}
interval() {  # the rounds' ratios -> a 90% bootstrap interval of their median (seeded, 10,000 resamples)
  python3 - "$@" <<'PY'
import random, statistics, sys
ratios = [float(x) for x in sys.argv[1:]]
rng = random.Random(7)
medians = sorted(statistics.median(rng.choices(ratios, k=len(ratios))) for _ in range(10000))
print(f"90% bootstrap interval of that median over {len(ratios)} rounds: {medians[500]:.3f} to {medians[9499]:.3f}")
PY
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
[ "$TABLES" = hits ] || table 1 "Every prompt new (each request embedded, as with real traffic):"
table 0 "Eight prompts repeated (embedding-cache hits: the service's own overhead, the worst case for the database's share):"
echo
echo "errors: $errors"
# Rows are written in the background: give the writer a moment, then count.
sleep 2
rows=$(( $("$POINTSMAN_POSTGRES_BIN/psql" "$URL" -tAc "SELECT count(*) FROM pointsman_decisions") - rows_before ))
echo "decision rows for the measured runs: $rows; requests wrk saw answered: $shared_done (wrk does not count those in flight when a run ends)"
[ "$rows" -ge "$shared_done" ] || { echo "FAIL: decision rows are missing"; exit 1; }
