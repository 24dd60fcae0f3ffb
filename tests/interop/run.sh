#!/usr/bin/env bash
# The interop suite: the same scenario through redis-cli, redis-py and ioredis, plus the
# Grafana dashboard's PromQL checked against a real Prometheus.
#
#   tests/interop/run.sh                 start target/release/redyn (building it if needed)
#   tests/interop/run.sh --port 6390     run the client scenarios against a server already
#                                        listening there (e.g. redis-server, to validate the
#                                        scenarios themselves)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PORT=""
if [ "${1:-}" == "--port" ]; then PORT=$2; fi

[ -d "$HERE/node_modules" ] || (cd "$HERE" && npm ci --silent)

PID=""
TMP=$(mktemp -d)
cleanup() {
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT

if [ -z "$PORT" ]; then
  BIN="$ROOT/target/release/redyn"
  [ -x "$BIN" ] || (cd "$ROOT" && cargo build --release -q)
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$BIN" --port "$PORT" --dir "$TMP/data" --metrics-addr off >"$TMP/redyn.log" 2>&1 &
  PID=$!
  for _ in $(seq 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

passed=0
failed=0
run() {
  local name=$1; shift
  echo "--- $name"
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $name"; fi
}
run "redis-cli" bash "$HERE/scenario_cli.sh" "$PORT"
run "redis-py" python3 "$HERE/scenario_py.py" "$PORT"
run "ioredis" node "$HERE/scenario_ioredis.js" "$PORT"
run "redis-py scripting (Lock, rate limiter)" python3 "$HERE/scenario_scripts_py.py" "$PORT"
run "ioredis scripting (rate limiter, FCALL)" node "$HERE/scenario_scripts_ioredis.js" "$PORT"
if [ -n "$PID" ]; then
  run "promql" python3 "$HERE/promql_check.py" "$ROOT/target/release/redyn"
  run "TLS (redis-cli --tls, redis-py ssl, ioredis tls)" bash "$HERE/scenario_tls.sh" "$ROOT/target/release/redyn"
fi
echo "interop: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
