#!/usr/bin/env bash
# redis-benchmark against redyn and against redis-server with AOF (appendfsync everysec) on
# the same machine: PING, SET, GET, INCR, HSET, HGET, LPUSH, RPOP, LRANGE_100; 50 clients;
# pipeline 1 and 16.
# Prints a markdown table. Not run in CI.
#
# Usage: bench/bench.sh [requests]      (default 200000)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200000}
cargo build --release -q
REDYN_PORT=${REDYN_PORT:-7380}
REDIS_PORT=${REDIS_PORT:-7381}
TMP=$(mktemp -d)
cleanup() {
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  [ -n "${REDYN_PID:-}" ] && kill "$REDYN_PID" 2>/dev/null; wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

target/release/redyn --port "$REDYN_PORT" --dir "$TMP/redyn" --appendfsync everysec \
  --metrics-addr off >"$TMP/redyn.log" 2>&1 &
REDYN_PID=$!
mkdir -p "$TMP/redis"
redis-server --port "$REDIS_PORT" --dir "$TMP/redis" --appendonly yes --appendfsync everysec \
  --save '' --daemonize yes --logfile "$TMP/redis.log"
for port in "$REDYN_PORT" "$REDIS_PORT"; do
  for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
done

# rps <port> <pipeline> <name> <redis-benchmark args...>
rps() {
  local port=$1 pipe=$2 name=$3; shift 3
  redis-benchmark -p "$port" -c 50 -n "$N" -P "$pipe" -r 100000 --csv "$@" 2>/dev/null |
    awk -F'"' -v name="$name" 'NR > 1 && ($2 == name || name == "*") {print $4; exit}'
}

echo "| command | pipeline | redyn req/s | redis-server (AOF everysec) req/s | ratio |"
echo "|---|---|---|---|---|"
for pipe in 1 16; do
  for test in PING_MBULK SET SET_RANDVAL GET INCR HSET HGET LPUSH RPOP LRANGE_100; do
    args=()
    case $test in
      PING_MBULK) args=(-t ping) ;;
      # redis-benchmark's SET always writes the same value, which redyn can skip as a no-op
      # rewrite; this row writes a different value each time.
      SET_RANDVAL) args=(SET key:__rand_int__ value:__rand_int__) ;;
      HGET)
        # Populate the hash HGET reads, then read random fields of it.
        for port in "$REDYN_PORT" "$REDIS_PORT"; do
          redis-benchmark -p "$port" -c 50 -n 100000 -r 100000 -q \
            HSET bench:hash field:__rand_int__ value >/dev/null 2>&1
        done
        args=(HGET bench:hash field:__rand_int__) ;;
      *) args=(-t "${test,,}") ;;
    esac
    name=$test; [[ "$test" == HGET || "$test" == SET_RANDVAL ]] && name="*"
    # redis-benchmark fills the list with its own LPUSH rows first, then reads 100 elements;
    # RPOP pops what the LPUSH row (run just before it) pushed.
    [[ "$test" == LRANGE_100 ]] && name="LRANGE_100 (first 100 elements)"
    a=$(rps "$REDYN_PORT" "$pipe" "$name" "${args[@]}")
    b=$(rps "$REDIS_PORT" "$pipe" "$name" "${args[@]}")
    ratio=$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", a / b}')
    echo "| ${test/_MBULK/} | $pipe | $a | $b | ${ratio}x |"
  done
done
