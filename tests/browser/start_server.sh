# Sourced by the browser tests: start_server LOG ARGS... runs `$BIN serve --port 0 ARGS...` in the
# background, stops it when the test exits, and sets `port` once it listens (fails otherwise).
start_server() {
  local log="$1"; shift
  "$BIN" serve --port 0 "$@" >"$log" 2>&1 &
  server=$!
  trap 'kill $server 2>/dev/null || true' EXIT
  port=""
  for _ in $(seq 1 200); do
    port=$(sed -n 's/.* on http:\/\/127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$log")
    [ -n "$port" ] && return 0
    sleep 0.1
  done
  echo "FAIL: the server did not start:"; cat "$log"; exit 1
}
