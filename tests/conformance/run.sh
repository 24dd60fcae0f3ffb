#!/usr/bin/env bash
# Redis 7.0.15's own test suite against redyn, as a CI gate: starts target/release/redyn on
# a free port with a temporary directory and runs the given groups with
# ../shared/redis-conformance/run.sh --min PCT (each unit must reach PCT % of real Redis's ok
# count, with no exception or timeout).
#
#   tests/conformance/run.sh 95 sets lists
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SUITE=${REDIS_CONFORMANCE:-$ROOT/../shared/redis-conformance}
MIN=$1; shift
if [ ! -x "$SUITE/run.sh" ]; then
  echo "redis-conformance suite not found at $SUITE: set REDIS_CONFORMANCE" >&2
  exit 1
fi
TMP=$(mktemp -d)
PID=""
cleanup() {
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
BIN="$ROOT/target/release/redyn"
[ -x "$BIN" ] || (cd "$ROOT" && cargo build --release -q)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" --port "$PORT" --dir "$TMP/data" --metrics-addr off >"$TMP/redyn.log" 2>&1 &
PID=$!
for _ in $(seq 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
"$SUITE/run.sh" --min "$MIN" 127.0.0.1 "$PORT" "$@"
