#!/usr/bin/env bash
# Human-written chat from a source the centroids never saw: trains the task router without the MT-bench and Vicuna
# prompts (training/tasks-without-chat.config.json) once per seed, and routes those 160 prompts with each model.
# The seed moves the validation split, k-means and the refinement's batches, and with them this score by several
# points, so one seed says little; the spread over five does. Usage: .ci/chat-holdout.sh [SEEDS...] (default 1 2 3 4 5)
set -euo pipefail
cd "$(dirname "$0")/.."
B=.build/release/pointsman
[ -x "$B" ] || swift build -c release --product pointsman >/dev/null
seeds=("$@")
[ ${#seeds[@]} -gt 0 ] || seeds=(1 2 3 4 5)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '%-6s %-10s %-10s %-10s\n' seed embedding hybrid regex
for seed in "${seeds[@]}"; do
  # The config names its data relative to its own folder, so the per-seed copy lives next to it.
  config="training/.chat-holdout-seed-$seed.config.json"
  sed "s/\"seed\": *[0-9]*/\"seed\": $seed/" training/tasks-without-chat.config.json >"$config"
  if ! "$B" train --config "$config" --out "$work/$seed.json" >/dev/null 2>"$work/train.err"; then
    rm -f "$config"; cat "$work/train.err" >&2; exit 1
  fi
  rm -f "$config"
  "$B" eval training/chat_prompts_train.jsonl --label-field capability --centroids "$work/$seed.json" 2>/dev/null |
    awk -v seed="$seed" '$3 ~ /^[0-9.]+$/ && $1=="regex"{r=$3} $3 ~ /^[0-9.]+$/ && $1=="embedding"{e=$3} $3 ~ /^[0-9.]+$/ && $1=="hybrid"{h=$3} END{printf "%-6s %-10s %-10s %-10s\n", seed, e, h, r}'
done | tee "$work/table"
awk 'NR>0{e+=$2; h+=$3; r+=$4; n++} END{printf "%-6s %-10.3f %-10.3f %-10.3f\n", "mean", e/n, h/n, r/n}' "$work/table"
