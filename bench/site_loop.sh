#!/usr/bin/env bash
# One site's loop with a real model, end to end through the CLI: a condition at the site from the
# first image, reviewers (the oracle) label what is sent to them, then label-free adaptation and
# retraining each make a challenger, and the gate judges both (dry run: nothing is promoted).
#
#   bash bench/site_loop.sh BIN MODEL CONDITION SEVERITY [IMAGES] [OUT_DIR]
#
# The stream is Fashion-MNIST test images, as in `steadyeye demo`: images the model never
# trained on. The captures retraining uses and those the gate judges on are disjoint
# (registry/site_data.h). Prints one JSON line per challenger.
set -euo pipefail
bin="$1"; model="$2"; condition="$3"; severity="$4"; images="${5:-3000}"
out="${6:-$(mktemp -d)}"
mkdir -p "$out"
store="$out/store-$condition-$severity"
rm -rf "$store"
port=$((20000 + RANDOM % 20000))
"$bin" serve --model "$model" --store "$store" --port "$port" >"$out/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
"$bin" replay --server "http://127.0.0.1:$port" --images fashion-mnist:test --site site-x \
  --limit "$images" --seed 11 --condition "$condition" --severity "$severity" --oracle-reviewer \
  --json >"$out/replay.json" 2>/dev/null
kill $server; wait $server 2>/dev/null || true
judge() {  # $1: how the challenger was made, $2: seconds it took
  "$bin" models gate --store "$store" --site site-x --dry-run --json |
    python3 -c "import json,sys; d=json.load(sys.stdin); r=json.load(open('$out/replay.json'))
print(json.dumps({'condition':'$condition','severity':$severity,'made_by':'$1','seconds':$2,
  'kept':r['kept'],'decisions':r['decisions'],'passes':d['evidence']['promote'],
  'sets':[{k:c[k] for k in ('set','n','incumbent_accuracy','challenger_accuracy','lower_bound')}
          for c in d['evidence']['comparisons']],'refusals':d['evidence']['refusals']}))"
}
t0=$SECONDS
"$bin" adapt --store "$store" --site site-x >"$out/adapt.log" 2>&1
judge adapt $((SECONDS - t0))
t0=$SECONDS
"$bin" retrain --store "$store" --site site-x >"$out/retrain.log" 2>&1
judge retrain $((SECONDS - t0))
