#!/usr/bin/env bash
# The main job on the embedded defaults: route prompts with the shipped catalog, centroids and native encoder (with the
# task router's encoder adapter; hybrid detector), then show the A/B comparison on never-trained-on sets.
set -euo pipefail
cd "$(dirname "$0")/.."
B=.build/release/pointsman
prompts=$(mktemp)
cat >"$prompts" <<'PROMPTS'
Refactor this Python function for readability
Summarize the importance of small language models
Classify this feedback: The UI is slow but pretty
Translate 'where is the train station' into German
A bakery sells 12 muffins an hour for 7 hours. How many muffins is that?
Write a limerick about a cat who loves jazz
Extract every email address from the text below
Why do leaves change colour in autumn? Explain step by step
Review our authentication flow for security problems
Écris-moi un petit poème sur la pluie d'automne
Traduis en anglais : où est la gare, s'il vous plaît ?
Wie viel sind 15 Prozent von 240 Euro?
帮我写一个Python函数，计算列表的平均值
この記事を三行で要約してください：新しい駅が来月開業する。
PROMPTS
echo "== routing with the shipped defaults (pointsman route --file)"
paste -d' ' <(cut -c1-60 "$prompts" | awk '{printf "%-62s\n", $0}') <("$B" route --file "$prompts")
rm -f "$prompts"
echo
echo "== regex vs embedding vs hybrid on the held-out split of training/, stock-encoder recipe (the default's adapter saw"
echo "   these rows; with an adapter that did not: docs/routing-quality.md) (pointsman eval --holdout)"
"$B" eval --config training/tasks.config.json --holdout --centroids centroids/tasks.json --latency-sample 20 2>/dev/null | sed -n '3,7p'
echo
echo "== the same on training/check/tasks_check.jsonl: 100 prompts written after training, never trained on"
"$B" eval training/check/tasks_check.jsonl --label-field capability --latency-sample 20 | sed -n '3,7p'
echo
echo "== the same on training/check/paraphrase_check.jsonl: 100 prompts that avoid each capability's usual words"
"$B" eval training/check/paraphrase_check.jsonl --label-field capability --latency-sample 20 | sed -n '3,7p'
echo
echo "== human chat from a source never trained on (training/check/chat_oasst_holdout.jsonl, OpenAssistant prompts)"
"$B" eval training/check/chat_oasst_holdout.jsonl --label-field capability --latency-sample 20 | sed -n '3,8p'
