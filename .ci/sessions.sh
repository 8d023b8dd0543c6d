#!/usr/bin/env bash
# Session stickiness on MT-bench's 80 two-turn conversations (training/check/mt_bench_two_turn.jsonl, turn-2 labels
# read by hand): trains the task router without the MT-bench and Vicuna prompts (training/tasks-without-chat.config.json,
# so neither turn was seen), serves it twice through `pointsman serve` and a local fake upstream, with stickiness on
# (the defaults) and off (--session-capacity 0), and reports per turn whether the capability the serving model was
# chosen for is the label (or one of its `ok` alternatives), and how often the second turn changed model.
# Usage: .ci/sessions.sh [extra serve flags for the "on" run...]
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product pointsman >/dev/null
B=.build/release/pointsman
work=$(mktemp -d)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
"$B" train --config training/tasks-without-chat.config.json --out "$work/centroids.json" >/dev/null 2>"$work/train.err" ||
  { cat "$work/train.err" >&2; exit 1; }
UP=18093
python3 .ci/bench/fake_upstream.py $UP >/dev/null 2>&1 & PIDS+=($!)
run() {  # name port flags...
  local name=$1 port=$2; shift 2
  "$B" serve --port "$port" --upstream http://127.0.0.1:$UP/v1 --centroids "$work/centroids.json" "$@" >"$work/$name.log" 2>&1 & PIDS+=($!)
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  python3 - "$port" "$name" <<'PY'
import json, sys, urllib.request
port, name = sys.argv[1], sys.argv[2]
def ask(messages, user):
    body = json.dumps({"model": "auto", "messages": messages, "user": user}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/chat/completions", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return response.headers["x-pointsman-capability"], response.headers["x-pointsman-model"], response.headers.get("x-pointsman-session-outcome")
right = [0, 0]; switches = 0; kept = 0; rows = [json.loads(l) for l in open("training/check/mt_bench_two_turn.jsonl")]
for row in rows:
    user = f"mt-{row['question_id']}-{name}"
    first = [{"role": "user", "content": row["turns"][0]}]
    cap1, model1, _ = ask(first, user)
    second = first + [{"role": "assistant", "content": "(the assistant's answer)"}, {"role": "user", "content": row["turns"][1]}]
    cap2, model2, outcome = ask(second, user)
    # The capability the second turn's model was chosen for: the session's when it was kept.
    served2 = cap1 if outcome == "kept" else cap2
    for turn, served in ((0, cap1), (1, served2)):
        right[turn] += served == row["capabilities"][turn] or served in row["ok"][turn]
    switches += model1 != model2
    kept += outcome == "kept"
n = len(rows)
print(f"| {name} | {right[0] / n:.3f} | {right[1] / n:.3f} | {switches / n:.3f} | {kept} |")
PY
}
echo "| stickiness | turn 1 right | turn 2 right | model switches per conversation | turns kept |"
echo "|---|---:|---:|---:|---:|"
run on 18094 "$@"
run off 18095 --session-capacity 0
