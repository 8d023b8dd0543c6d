#!/usr/bin/env bash
# Fairness benchmark of `pointsman serve` (release build) on 127.0.0.1: three clients post the largest batches
# `/v1/route` accepts (256 prompts of about 1 KB each) back to back, while a fourth routes one short prompt at a
# time with wrk (1 connection); prints the single prompts' p50/p90/p99, and checks that an oversized batch (257
# prompts) is refused with 400 while the others run. With BATCH=oversized the three clients post 257-prompt batches
# instead (the hardening issue's probe: each is refused with 400).
# Every batch and every single prompt is new text (a number in front of each prompt), so the service's vector cache
# cannot answer them and the encoder's queue is what is measured.
# Usage: [BATCH=oversized] [BINARY=path] .ci/bench-batches.sh [seconds, default 15] [extra serve flags...]
set -euo pipefail
[ -z "${BINARY:-}" ] || BINARY=$(realpath "$BINARY")  # the caller's path, before moving to the checkout
cd "$(dirname "$0")/.."
SECONDS_RUN=${1:-15}; shift || true
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
B=${BINARY:-.build/release/pointsman}
[ -n "${BINARY:-}" ] || swift build -c release --product pointsman >/dev/null
[ -x "$B" ] || { echo "not an executable: $B" >&2; exit 2; }
PORT=18090
WORK=$(mktemp -d)
"$B" serve --port $PORT --upstream http://127.0.0.1:9/v1 "$@" >"$WORK/serve.log" 2>&1 & SERVE_PID=$!
PIDS=()
trap 'kill $SERVE_PID "${PIDS[@]}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 300); do curl -sf http://127.0.0.1:$PORT/healthz >/dev/null && break; sleep 0.1; done

# Batches built from the training prompts, each prompt padded to about 1,000 bytes with the next ones.
python3 - "$WORK" <<'PY'
import json, sys
rows = [json.loads(l)["text"] for l in open("training/curated_prompts.jsonl")]
def batch(n, offset):
    out, i = [], offset
    for _ in range(n):
        text = ""
        while len(text.encode()) < 1000:
            text += rows[i % len(rows)] + " "; i += 1
        # @N@ is replaced by a number unique to each post (see below).
        out.append("@N@ " + text.encode()[:990].decode(errors="ignore"))
    return out
for name, n in (("batch", 256), ("oversized", 257)):
    json.dump({"prompts": batch(n, 7)}, open(f"{sys.argv[1]}/{name}.json", "w"))
PY
echo "batch body: $(wc -c <"$WORK/batch.json") bytes"

for i in 1 2 3; do
  ( n=0; while :; do n=$((n + 1)); sed "s/@N@/$i.$n/g" "$WORK/${BATCH:-batch}.json" >"$WORK/body.$i"
      curl -s -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json' \
      --data-binary @"$WORK/body.$i" http://127.0.0.1:$PORT/v1/route >>"$WORK/batches.$i"; done ) & PIDS+=($!)
done
sleep 2
oversized=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
  --data-binary @"$WORK/oversized.json" http://127.0.0.1:$PORT/v1/route)
started=$(date +%s.%N)
out=$(UNIQUE=1 wrk -t1 -c1 -d"${SECONDS_RUN}"s --latency -s .ci/bench/prompts.lua http://127.0.0.1:$PORT/v1/route 2>&1)
curl -s http://127.0.0.1:$PORT/metrics >"$WORK/metrics.txt"; elapsed=$(echo "$(date +%s.%N) - $started" | bc)
 [ -n "${KEEP_METRICS:-}" ] && cp "$WORK/metrics.txt" "$KEEP_METRICS"
kill "${PIDS[@]}" 2>/dev/null || true; wait "${PIDS[@]}" 2>/dev/null || true
pct() { echo "$out" | awk -v p="$1" '$1==p {print $2}'; }
label="256-prompt"; [ "${BATCH:-}" = oversized ] && label="257-prompt (refused)"
echo "single prompts beside three $label batches, ${SECONDS_RUN}s: $(echo "$out" | awk '/Requests\/sec/ {print $2}') requests/s, p50 $(pct 50%), p90 $(pct 90%), p99 $(pct 99%), non-2xx $(echo "$out" | awk '/Non-2xx/ {print $5}' | grep . || echo 0)"
echo "batches answered: $(cat "$WORK"/batches.* | sort | uniq -c | tr -s ' ' | paste -sd, -)"
echo "oversized batch (257 prompts): HTTP $oversized"
singles=$(echo "$out" | awk '/requests in/ {print $1}')
texts=$(awk '/^pointsman_embed_batch_texts_sum/ {printf "%d", $2}' "$WORK/metrics.txt")
calls=$(awk '/^pointsman_embed_batch_texts_count/ {print $2}' "$WORK/metrics.txt")
echo "encoder: $texts texts in $calls calls; batch texts embedded per second while wrk ran: $(echo "scale=1; ($texts - $singles) / ($elapsed + 2)" | bc)"
