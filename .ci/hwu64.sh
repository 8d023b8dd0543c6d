#!/usr/bin/env bash
# HWU64 as a user meets it: `pointsman train` with its defaults (the recipe search) on the 9,960 training rows of
# fold 1, timed from a cold embedding cache, with the trainer's own validation split (20%, stratified, seeded) scored
# at the end. The benchmark's test split is not in the repository (see training/SOURCES.md).
# Usage: .ci/hwu64.sh [extra train flags, e.g. --fast]. Release build.
set -euo pipefail
cd "$(dirname "$0")/.."
B=.build/release/pointsman
[ -x "$B" ] || swift build -c release --product pointsman >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
start=$(date +%s.%N)
# Progress bars go to a file, shown only when training fails.
"$B" train training/hwu64_train.jsonl --out "$work/hwu64.json" --cache-dir "$work/cache" "$@" 2>"$work/train.err" ||
  { tr '\r' '\n' <"$work/train.err" | tail -n 5 >&2; exit 1; }
end=$(date +%s.%N)
printf 'train took %.0f s, embedding every row once included\n' "$(echo "$end - $start" | bc)"
