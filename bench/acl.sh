#!/usr/bin/env bash
# The cost of ACL checks: redis-benchmark GET and SET at pipeline 1 and 16, as the default
# user (allowed everything: the check's fast path) and as a user with 10 key patterns (every
# key checked against the patterns), against redyn and redis-server (AOF everysec) side by
# side; 50 clients. Prints a markdown table. Not run in CI.
#
# Usage: bench/acl.sh [requests]      (default 200000)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200000}
[ -n "${REDYN_BIN:-}" ] || cargo build --release -q -p redyn-server
REDYN_PORT=${REDYN_PORT:-7480}
REDIS_PORT=${REDIS_PORT:-7481}
TMP=$(mktemp -d)
source bench/lib.sh
start_both

# Ten patterns; redis-benchmark's keys (key:__rand_int__) match the last one, so every check
# tries all ten.
PATTERNS=()
for i in $(seq 1 9); do PATTERNS+=("~tenant$i:*"); done
PATTERNS+=("~key:*")
for port in "$REDYN_PORT" "$REDIS_PORT"; do
  redis-cli -p "$port" acl setuser bench on '>benchpw' +@all "${PATTERNS[@]}" >/dev/null
done

rps() {
  local port=$1 pipe=$2 test=$3; shift 3
  redis-benchmark -p "$port" -c 50 -n "$N" -P "$pipe" -r 100000 -t "$test" --csv "$@" 2>/dev/null |
    awk -F'"' 'NR > 1 {print $4; exit}'
}

echo "| command | pipeline | user | redyn req/s | redis-server (AOF everysec) req/s | ratio |"
echo "|---|---|---|---|---|---|"
for pipe in 1 16; do
  for test in get set; do
    for user in default bench; do
      if [ "$user" = default ]; then auth=(); else auth=(--user bench -a benchpw); fi
      a=$(rps "$REDYN_PORT" "$pipe" "$test" "${auth[@]}")
      b=$(rps "$REDIS_PORT" "$pipe" "$test" "${auth[@]}")
      ratio=$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", a / b}')
      echo "| $test | $pipe | $user | $a | $b | ${ratio}x |"
    done
  done
done
