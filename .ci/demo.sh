#!/usr/bin/env bash
# The main job on the embedded defaults: route a handful of prompts with the shipped catalog and detector.
set -euo pipefail
cd "$(dirname "$0")/.."
B=.build/release/switchyard
prompts=(
  "Refactor this Python function for readability"
  "Summarize the importance of small language models"
  "Classify this feedback: The UI is slow but pretty"
  "Translate 'where is the train station' into German"
  "A bakery sells 12 muffins an hour for 7 hours. How many muffins is that?"
  "Write a limerick about a cat who loves jazz"
  "Review our authentication flow for security problems"
)
for p in "${prompts[@]}"; do
  printf '%-75s ' "$p"
  "$B" route "$p"
done | sed 's/^/  /'
