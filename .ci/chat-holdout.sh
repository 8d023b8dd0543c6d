#!/usr/bin/env bash
# Human-written chat from a source the centroids never saw: trains the task router without the MT-bench and Vicuna
# prompts once per seed, and routes those 160 prompts with each model. Two recipes:
#  - adapted (the default router's): training/tasks-adapted-without-chat.config.json, on the encoder with
#    training/tasks-without-chat-adapter.safetensors, an adapter trained like the shipped one but without these
#    prompts (EXCLUDE_TEXTS; training/experiments/fine_tune_probe.py), so that neither the adapter nor the centroids saw them;
#  - stock: training/tasks-without-chat.config.json, on the stock encoder.
# The seed moves the validation split, k-means and the refinement's batches, and with them this score by several
# points, so one seed says little; the spread over five does.
# Usage: .ci/chat-holdout.sh [--adapted CONFIG] [SEEDS...] (default 1 2 3 4 5)
#   --adapted CONFIG scores a candidate recipe in the adapted column instead (a config in training/ that leaves out
#   training/chat_prompts_train.jsonl and names an adapter that never saw it, for example
#   tasks-adapted-without-chat.config.json with a new data file added).
set -euo pipefail
cd "$(dirname "$0")/.."
adapted=training/tasks-adapted-without-chat.config.json
seeds=()
while [ $# -gt 0 ]; do
  case "$1" in
    --adapted) adapted=${2:?--adapted needs a config}; shift ;;
    *) seeds+=("$1") ;;
  esac
  shift
done
[ -f "$adapted" ] || { echo "chat-holdout: no config $adapted" >&2; exit 2; }
if grep -q chat_prompts_train.jsonl "$adapted"; then
  echo "chat-holdout: $adapted trains on training/chat_prompts_train.jsonl, the prompts this scores" >&2; exit 2
fi
if grep -q 'centroids/tasks-adapter.safetensors' "$adapted"; then
  echo "chat-holdout: $adapted uses the shipped adapter, which learned the prompts this scores (use tasks-without-chat-adapter.safetensors)" >&2; exit 2
fi
B=.build/release/pointsman
[ -x "$B" ] || swift build -c release --product pointsman >/dev/null
[ ${#seeds[@]} -gt 0 ] || seeds=(1 2 3 4 5)
work=$(mktemp -d)
# Writes "embedding hybrid regex" macro-F1 of the recipe CONFIG trained with SEED to OUT.
score() {  # CONFIG SEED OUT
  # The config names its data (and adapter) relative to its own folder, so the per-seed copy lives next to it.
  local config="training/.chat-holdout-seed-$2-$(basename "$1")"
  sed "s/\"seed\": *[0-9]*/\"seed\": $2/" "$1" >"$config"
  CONFIGS+=("$config")
  "$B" train --config "$config" --out "$work/$2.json" >/dev/null 2>"$work/train.err" || { cat "$work/train.err" >&2; return 1; }
  rm -f "$config"
  "$B" eval training/chat_prompts_train.jsonl --label-field capability --centroids "$work/$2.json" 2>"$work/eval.err" >"$work/eval.txt" ||
    { cat "$work/eval.err" >&2; return 1; }
  awk '$3 ~ /^[0-9.]+$/ && $1=="regex"{r=$3} $3 ~ /^[0-9.]+$/ && $1=="embedding"{e=$3} $3 ~ /^[0-9.]+$/ && $1=="hybrid"{h=$3} END{print e, h, r}' \
    "$work/eval.txt" >"$3"
}
CONFIGS=()
trap 'rm -rf "$work"; rm -f "${CONFIGS[@]}"' EXIT
printf '%-6s %-18s %-18s %-18s %-18s %-10s\n' seed "adapted embedding" "adapted hybrid" "stock embedding" "stock hybrid" regex
for seed in "${seeds[@]}"; do
  score "$adapted" "$seed" "$work/adapted" || exit 1
  score training/tasks-without-chat.config.json "$seed" "$work/stock" || exit 1
  read -r ae ah _ <"$work/adapted"
  read -r se sh r <"$work/stock"
  printf '%-6s %-18s %-18s %-18s %-18s %-10s\n' "$seed" "$ae" "$ah" "$se" "$sh" "$r" | tee -a "$work/table"
done
awk '{ae+=$2; ah+=$3; se+=$4; sh+=$5; r+=$6; n++} END{printf "%-6s %-18.3f %-18.3f %-18.3f %-18.3f %-10.3f\n", "mean", ae/n, ah/n, se/n, sh/n, r/n}' "$work/table"
