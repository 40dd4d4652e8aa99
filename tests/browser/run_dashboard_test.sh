#!/usr/bin/env bash
# Browser test of the operator's dashboard: the real server on the shared fixture model, a stream
# replayed through it with `steadyeye replay` (underexposure from its 500th image), then Debian's
# Chromium driven by playwright-core through the login form to /dashboard.
# Usage: run_dashboard_test.sh STEADYEYE_BINARY WEB_DIR FIXTURE_DIR ARTIFACT_DIR
set -euo pipefail
BIN="$1"; export SEYE_WEB_DIR="$2"; FIXTURE="$3"; OUT="$4"
if [ ! -x /usr/bin/chromium ]; then echo "FAIL: /usr/bin/chromium missing: run scripts/setup.sh"; exit 1; fi
W="$OUT/dashboard-test"
rm -rf "$W"; mkdir -p "$W"
export SEYE_OPERATOR_TOKEN
SEYE_OPERATOR_TOKEN=$("$BIN" token create --store "$W/store" --role operator --name olga 2>/dev/null)
client=$("$BIN" token create --store "$W/store" --role client --name line-1 2>/dev/null)
. "$(dirname "$0")/start_server.sh"
start_server "$W/serve.log" --model "$FIXTURE/calibrated.seye" --store "$W/store" --drift-reference 300
"$BIN" replay --server "http://127.0.0.1:$port" --token "$client" --operator-token "$SEYE_OPERATOR_TOKEN" \
  --images fashion-mnist:test --limit 900 --site plant-d --condition underexposure --severity 4 \
  --from 500 >"$W/replay.log" 2>&1 || { echo "FAIL: replay"; cat "$W/replay.log"; exit 1; }
node "$(dirname "$0")/dashboard.mjs" "http://127.0.0.1:$port" "$OUT/dashboard.png"
