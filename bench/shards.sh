#!/usr/bin/env bash
# Shard scaling benchmark (issue 7): redis-benchmark SET/GET/HSET at 1, 2 and 4 shards,
# then a run during which the autoscaler splits shards, reporting each split's fence time
# and the p99 latency with and without splits happening.
#
# Usage: bench/shards.sh [requests]   (default 200000; 50 clients)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200000}
# Shards only add parallelism with more than one connection thread.
IO_THREADS=${IO_THREADS:-2}
cargo build --release -q
BIN=target/release/redyn
PORT=${PORT:-7390}
TMP=$(mktemp -d)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT

start() { # start <logfile> <args...>
  local log=$1; shift
  rm -rf "$TMP/data"
  "$BIN" --port "$PORT" --dir "$TMP/data" --metrics-addr off --io-threads "$IO_THREADS" "$@" >"$log" 2>&1 &
  PID=$!
  for _ in $(seq 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && return; sleep 0.1; done
  echo "redyn did not start" >&2; exit 1
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""; }
rps() { awk -F'"' '/^"/ && $2 != "test" {printf "%s=%s ", $2, $4}'; }

echo "io-threads: $IO_THREADS"
echo "| shards | SET req/s | GET req/s | HSET req/s |"
echo "|---|---|---|---|"
for shards in 1 2 4; do
  start "$TMP/log" --shards "$shards"
  out=$(redis-benchmark -p "$PORT" -c 50 -n "$N" -r 100000 -t set,get,hset --csv)
  stop
  set_=$(echo "$out" | awk -F'"' '$2=="SET"{print $4}')
  get_=$(echo "$out" | awk -F'"' '$2=="GET"{print $4}')
  hset_=$(echo "$out" | awk -F'"' '$2=="HSET"{print $4}')
  echo "| $shards | $set_ | $get_ | $hset_ |"
done

p99() { redis-benchmark -p "$PORT" -c 50 -n "$1" -r 100000 -t set --csv | awk -F'"' '$2=="SET"{print "req/s=" $4 " p50=" $10 "ms p99=" $14 "ms max=" $16 "ms"}'; }
echo
echo "Baseline (4 fixed shards): $(start "$TMP/log" --shards 4; p99 "$N"; stop)"
start "$TMP/split.log" --shards 1 --shard-split-ops 2000 --shard-merge-ops 10 \
  --shard-scale-window 1 --shard-scale-cooldown 1 --shards-max 8
echo "With splits 1 -> 8 during the run: $(p99 $((N * 3)))"
stop
echo "Splits and their fence times:"
grep -o 'autoscaler: .*' "$TMP/split.log" | sed 's/^/  /'
