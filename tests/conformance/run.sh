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
# Watchdog: if the server stops answering (a wedge, not a slow test), print every thread's
# stack once, so a CI log shows where it hangs.
(
  while sleep 20; do
    kill -0 "$PID" 2>/dev/null || exit 0
    if ! timeout 10 redis-cli -p "$PORT" ping >/dev/null 2>&1; then
      echo "=== redyn did not answer PING within 10 s; thread stacks:" >&2
      if command -v gdb >/dev/null 2>&1; then
        timeout 120 gdb -p "$PID" -batch -ex "thread apply all bt 40" 2>/dev/null |
          grep -E '^Thread|^#[0-9]+ .*(redyn|tokio::runtime::(task|scheduler)|parking_lot|lua_pcall)' >&2
      else
        for t in /proc/"$PID"/task/*; do echo "$(cat "$t"/comm) $(cat "$t"/wchan 2>/dev/null)"; done >&2
      fi
      exit 0
    fi
  done
) &
WATCHDOG=$!
status=0
"$SUITE/run.sh" --min "$MIN" 127.0.0.1 "$PORT" "$@" || status=$?
kill "$WATCHDOG" 2>/dev/null || true
exit "$status"
