#!/usr/bin/env bash
# Scripting side by side: redis-benchmark against redyn and against redis-server with AOF
# (appendfsync everysec): EVALSHA of a rate-limiter script (INCR + EXPIRE + compare), EVALSHA
# of a read-only script, and FCALL of both as functions; 50 clients; pipeline 1 and 16.
# Prints a markdown table. Not run in CI.
#
# Usage: bench/script.sh [requests]      (default 200000)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200000}
cargo build --release -q
REDYN_PORT=${REDYN_PORT:-7382}
REDIS_PORT=${REDIS_PORT:-7383}
TMP=$(mktemp -d)
source bench/lib.sh
start_both

# A fixed-window limiter: at most ARGV[1] calls per ARGV[2] seconds per key.
LIMITER="local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end if n > tonumber(ARGV[1]) then return 0 end return 1"
READER="return redis.call('GET', KEYS[1])"
LIBRARY="#!lua name=benchlib
redis.register_function('limit', function(KEYS, ARGV) $LIMITER end)
redis.register_function{function_name='read', callback=function(KEYS, ARGV) $READER end, flags={'no-writes'}}"

for port in "$REDYN_PORT" "$REDIS_PORT"; do
  redis-cli -p "$port" function load replace "$LIBRARY" >/dev/null
  redis-cli -p "$port" set bench:read value >/dev/null
done
LIMITER_SHA=$(redis-cli -p "$REDYN_PORT" script load "$LIMITER")
READER_SHA=$(redis-cli -p "$REDYN_PORT" script load "$READER")
redis-cli -p "$REDIS_PORT" script load "$LIMITER" >/dev/null
redis-cli -p "$REDIS_PORT" script load "$READER" >/dev/null

rps() {
  local port=$1 pipe=$2; shift 2
  redis-benchmark -p "$port" -c 50 -n "$N" -P "$pipe" -r 100000 --csv "$@" 2>/dev/null |
    awk -F'"' 'NR > 1 {print $4; exit}'
}

echo "| command | pipeline | redyn req/s | redis-server (AOF everysec) req/s | ratio |"
echo "|---|---|---|---|---|"
for pipe in 1 16; do
  for row in evalsha-limiter evalsha-read fcall-limiter fcall_ro-read; do
    case $row in
      evalsha-limiter) args=(EVALSHA "$LIMITER_SHA" 1 limit:__rand_int__ 100 60) ;;
      evalsha-read) args=(EVALSHA_RO "$READER_SHA" 1 bench:read) ;;
      fcall-limiter) args=(FCALL limit 1 limit:__rand_int__ 100 60) ;;
      fcall_ro-read) args=(FCALL_RO read 1 bench:read) ;;
    esac
    a=$(rps "$REDYN_PORT" "$pipe" "${args[@]}")
    b=$(rps "$REDIS_PORT" "$pipe" "${args[@]}")
    ratio=$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", a / b}')
    echo "| $row | $pipe | $a | $b | ${ratio}x |"
  done
done
