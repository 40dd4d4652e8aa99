#!/usr/bin/env bash
# Browser test of the reviewer page: the real server on the shared fixture model, real captures,
# Debian's Chromium driven by playwright-core through the login form and the keyboard.
# Usage: run_review_test.sh STEADYEYE_BINARY WEB_DIR FIXTURE_DIR ARTIFACT_DIR
set -euo pipefail
BIN="$1"; export SEYE_WEB_DIR="$2"; FIXTURE="$3"; OUT="$4"
if [ ! -x /usr/bin/chromium ]; then echo "FAIL: /usr/bin/chromium missing: run scripts/setup.sh"; exit 1; fi
W="$OUT/review-test"
rm -rf "$W"; mkdir -p "$W"
export SEYE_REVIEWER_TOKEN SEYE_CLIENT_TOKEN SEYE_ADMIN_TOKEN
SEYE_REVIEWER_TOKEN=$("$BIN" token create --store "$W/store" --role reviewer --name rita 2>/dev/null)
SEYE_CLIENT_TOKEN=$("$BIN" token create --store "$W/store" --role client --name line-1 2>/dev/null)
SEYE_ADMIN_TOKEN=$("$BIN" token create --store "$W/store" --role admin --name ada 2>/dev/null)
# Every image kept (audit rate 1) and one reviewer per task (no double review, no second
# opinions: the store and server tests cover those), so the queue's counts are exact.
. "$(dirname "$0")/start_server.sh"
start_server "$W/serve.log" --model "$FIXTURE/calibrated.seye" --store "$W/store" --audit-rate 1 \
  --double-review-share 0 --second-opinion-confidence 2
node "$(dirname "$0")/review_ui.mjs" "http://127.0.0.1:$port" "$FIXTURE/images" "$OUT/review_ui.png"
# The production report over the same store: the reviewer's answers of audit tasks are its data.
"$BIN" report production --store "$W/store" --out "$W/production" >"$W/report.log" 2>&1
node "$(dirname "$0")/production_report.mjs" "$W/production/index.html" 1 "$OUT/production_report.png"
