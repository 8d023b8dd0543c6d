#!/usr/bin/env bash
# Renders an evaluation report to PNG with headless Chromium (Debian's `chromium`), to look at it:
#   .ci/render-report.sh report.html out.png
set -euo pipefail
command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1300,1900 --screenshot="$2" "file://$(realpath "$1")" 2>/dev/null
echo "wrote $2"
