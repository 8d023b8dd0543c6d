#!/usr/bin/env bash
# Real-traffic checks of the shipped task router, on prompts it never trained on:
#  - English human chat: the OpenAssistant prompts of the shared labeled set, held out as a whole source
#    (training/check/chat_oasst_holdout.jsonl), with macro-F1 and acceptable accuracy (a prediction in the row's `ok`
#    list counts);
#  - English task instructions: the self-instruct seed tasks (training/check/selfinstruct_seed_en.jsonl), the English
#    originals of the French validation set's prompts, labeled alike;
#  - French: ../shared/data/fr_prompts_labeled.jsonl when it is there (validation only: its license is non-commercial,
#    so it never trains a shipped file), with the share of prompts that ask for no translation but go to `translation`;
#  - English and the seven other languages in two styles the training files lack (training/check/chat_human_context.jsonl,
#    training/check/multilingual/), never trained on;
#  - each of the seven other languages held out whole: the stock-encoder recipe (training/tasks.config.json) trained
#    without it routes its prompts. The default router's adapter learned from every language, so the adapted recipe
#    held out whole needs an adapter trained without that language (PyTorch, about 20 minutes each): those numbers
#    are in docs/routing-quality.md, not here.
# Usage: .ci/real-traffic.sh [--no-language-holdout] [--centroids FILE]
#   --centroids FILE scores another task router (for example centroids/tasks.json, the stock-encoder one) instead of
#   the shipped default (centroids/tasks-adapted.json, whose encoder adapter it loads by itself), and skips the
#   language hold-out.
set -euo pipefail
holdout=1
C=centroids/tasks-adapted.json
while [ $# -gt 0 ]; do
  case "$1" in
    --no-language-holdout) holdout=0 ;;
    --centroids) C=$(realpath "${2:?--centroids needs a file}"); holdout=0; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
cd "$(dirname "$0")/.."
B=.build/release/pointsman
[ -x "$B" ] || swift build -c release --product pointsman >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Prints "macro-F1 acceptable non-translation->translation" for the embedding and hybrid detectors.
score() {  # DATA CENTROIDS
  "$B" eval "$1" --label-field capability --centroids "$2" --routers embedding,hybrid --latency-sample 1 --json 2>/dev/null >"$work/report.json"
  python3 - "$work/report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
truth = None
for r in report["routers"]:
    confusion = r["confusion"]
    non = sum(n for t, row in confusion.items() if t != "translation" for n in row.values())
    wrong = sum(row.get("translation", 0) for t, row in confusion.items() if t != "translation")
    ok = r.get("acceptable_accuracy")
    print(f'  {r["name"]:10} macro-F1 {r["macro_f1"]:.3f}  acceptable {"-" if ok is None else f"{ok:.3f}"}'
          f'  non-translation -> translation {wrong / max(1, non):.3f}')
PY
}

echo "== English human chat held out by source (OpenAssistant, $(wc -l < training/check/chat_oasst_holdout.jsonl) prompts), $C"
score training/check/chat_oasst_holdout.jsonl "$C"
echo "== English task instructions (self-instruct seed tasks, $(wc -l < training/check/selfinstruct_seed_en.jsonl) prompts; the French validation set's originals), $C"
score training/check/selfinstruct_seed_en.jsonl "$C"
if [ -f ../shared/data/fr_prompts_labeled.jsonl ]; then
  echo "== French validation (../shared/data/fr_prompts_labeled.jsonl), $C"
  score ../shared/data/fr_prompts_labeled.jsonl "$C"
fi
echo "== English chat in context and mixed styles (training/check/chat_human_context.jsonl, never trained on), $C"
score training/check/chat_human_context.jsonl "$C"
for lang in fr es de pt it zh ja; do
  echo "== $lang in context and mixed styles (training/check/multilingual/$lang.jsonl, never trained on), $C"
  score "training/check/multilingual/$lang.jsonl" "$C"
done
[ "$holdout" = 0 ] && exit 0
for lang in fr es de pt it zh ja; do
  config="training/.holdout-$lang.config.json"
  python3 - "$lang" >"$config" <<'PY'
import json, sys
c = json.load(open("training/tasks.config.json"))
c["name"] = "tasks-without-" + sys.argv[1]
c["data"] = [d for d in c["data"] if d != f"multilingual/{sys.argv[1]}.jsonl"]
print(json.dumps(c, indent=2))
PY
  if ! "$B" train --config "$config" --out "$work/$lang.json" >/dev/null 2>"$work/train.err"; then
    rm -f "$config"; cat "$work/train.err" >&2; exit 1
  fi
  rm -f "$config"
  echo "== $lang held out whole (training/multilingual/$lang.jsonl, stock-encoder recipe trained without it)"
  score "training/multilingual/$lang.jsonl" "$work/$lang.json"
done
