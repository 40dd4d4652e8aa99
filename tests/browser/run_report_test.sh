#!/usr/bin/env bash
# Browser test of `steadyeye report robustness`: a real (tiny) model, a real report, rendered in
# Debian's Chromium. Usage: run_report_test.sh STEADYEYE_BINARY WEB_DIR ARTIFACT_DIR
set -euo pipefail
BIN="$1"; export SEYE_WEB_DIR="$2"; OUT="$3"
if [ ! -x /usr/bin/chromium ]; then echo "FAIL: /usr/bin/chromium missing: run scripts/setup.sh"; exit 1; fi
rm -rf "$OUT/report-test"; mkdir -p "$OUT/report-test"
W="$OUT/report-test"
"$BIN" train --data fashion-mnist --out "$W/tiny.seye" --epochs 2 --limit 2000 --widths 8,16 --depths 1,1 \
  --batch-size 64 --lr 0.1 --threads 1 --standard > "$W/train.log" 2>&1
"$BIN" report robustness --model "$W/tiny.seye" --model "$W/tiny.seye" --limit 100 \
  --conditions underexposure,glare,zoom --out "$W/report" > "$W/report.log" 2>&1
node "$(dirname "$0")/robustness_report.mjs" "$W/report/index.html" "$OUT/robustness_report.png"
