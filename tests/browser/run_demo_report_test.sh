#!/usr/bin/env bash
# Browser test of `steadyeye demo`'s report: a small lab model (trained on the train split
# without the production pool), the four-site scenario at 30 images per site-day (--quick: enough
# reviewed images for the loop to judge challengers), both policies, report.html rendered in
# Debian's Chromium.
# Usage: run_demo_report_test.sh STEADYEYE_BINARY WEB_DIR ARTIFACT_DIR
set -euo pipefail
BIN="$1"; export SEYE_WEB_DIR="$2"; OUT="$3"
if [ ! -x /usr/bin/chromium ]; then echo "FAIL: /usr/bin/chromium missing: run scripts/setup.sh"; exit 1; fi
W="$OUT/demo-report-test"
rm -rf "$W"; mkdir -p "$W"
"$BIN" train --data fashion-mnist-lab --out "$W/lab.seye" --epochs 2 --limit 2000 --widths 8,16 \
  --depths 1,1 --batch-size 64 --lr 0.1 --threads 1 --standard > "$W/train.log" 2>&1
"$BIN" demo --model "$W/lab.seye" --quick --out "$W/demo" > "$W/demo.log" 2>&1 ||
  { echo "FAIL: demo exited $?"; tail -20 "$W/demo.log"; exit 1; }
node "$(dirname "$0")/demo_report.mjs" "$W/demo/report.html" "$OUT/demo_report.png"
