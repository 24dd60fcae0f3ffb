#!/usr/bin/env bash
# RPOP of a queue's backlog that the write buffer has moved to fjall (the state bench.sh's
# RPOP row pops from): pushes 400,000 jobs, writes ~140 MB after them so the buffer freezes
# and ingests them, waits, then pops 100,000 (warm-up) and 200,000 measured jobs at pipeline
# 16. Prints pops/s and the server's CPU µs per pop (user + system, all threads).
# REDYN_BIN picks the binary; BASELINE_BIN measures a second binary the same way after it
# (before/after figures from one run). Not run in CI.
#
# Usage: bench/backlog_pop.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${REDYN_BIN:-}" ] || cargo build --release -q
PORT=${REDYN_PORT:-7440}
TMP=$(mktemp -d)
trap 'redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$TMP"' EXIT

measure() {
  local bin=$1 dir=$TMP/$RANDOM
  "$bin" --port "$PORT" --dir "$dir" --appendfsync everysec --metrics-addr off >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-benchmark -p "$PORT" -c 50 -n 400000 -P 16 -q LPUSH q job:__rand_int__ >/dev/null 2>&1
  redis-benchmark -p "$PORT" -c 50 -n 600000 -P 16 -r 10000000 -d 200 -q SET f:__rand_int__ __data__ \
    >/dev/null 2>&1
  sleep 6
  redis-benchmark -p "$PORT" -c 50 -n 100000 -P 16 -q RPOP q >/dev/null 2>&1
  local before after rps
  before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  rps=$(redis-benchmark -p "$PORT" -c 50 -n 200000 -P 16 --csv RPOP q 2>/dev/null |
    awk -F'"' 'NR > 1 {print $4}')
  after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  awk -v b="$before" -v a="$after" -v hz="$(getconf CLK_TCK)" -v r="$rps" -v name="$bin" \
    'BEGIN {printf "| %s | %.0f | %.2f |\n", name, r, (a - b) / hz * 1e6 / 200000}'
  redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
  wait "$pid" 2>/dev/null || true
}

echo "| binary | RPOP/s (P16) | CPU µs per pop |"
echo "|---|---|---|"
measure "${REDYN_BIN:-target/release/redyn}"
[ -n "${BASELINE_BIN:-}" ] && measure "$BASELINE_BIN"
exit 0
