#!/usr/bin/env bash
# Server CPU time per command (user + system, all threads, from /proc/<pid>/stat) for
# redis-benchmark workloads at one pipeline depth, redyn against redis-server (AOF
# everysec) in one run. Complements bench/callgrind.sh (user-space instructions only):
# this includes the kernel's share (socket reads and writes, journal writes).
# Not run in CI.
#
# Usage: bench/cpu_per_command.sh [requests] [pipeline]    (default 200000 16)
# Environment: REDYN_BIN (default target/release/redyn), REDYN_PORT, REDIS_PORT, CPU_TESTS
# (default GET SET HSET INCR ZADD LPUSH RPOP SADD; RPOP pops what LPUSH pushed).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200000}
PIPE=${2:-16}
REDYN_PORT=${REDYN_PORT:-7390}
REDIS_PORT=${REDIS_PORT:-7391}
TMP=$(mktemp -d)
source bench/lib.sh
start_both
REDIS_PID=$(redis-cli -p "$REDIS_PORT" info server | awk -F: '/^process_id/ {print $2+0}')
TICKS=$(getconf CLK_TCK)

# cpu_ticks <pid>: "utime stime" of the whole process.
cpu_ticks() { awk '{print $14, $15}' "/proc/$1/stat"; }

# usec_per_command <port> <pid> <redis-benchmark args...>
usec_per_command() {
  local port=$1 pid=$2; shift 2
  local before after
  before=$(cpu_ticks "$pid")
  redis-benchmark -p "$port" -c 50 -n "$N" -P "$PIPE" -r 100000 -q "$@" >/dev/null 2>&1
  after=$(cpu_ticks "$pid")
  # "total (user + system)" µs per command.
  awk -v b="$before" -v a="$after" -v hz="$TICKS" -v n="$N" 'BEGIN {
    split(b, x, " "); split(a, y, " ")
    u = (y[1] - x[1]) / hz * 1e6 / n; s = (y[2] - x[2]) / hz * 1e6 / n
    printf "%.2f (%.2f + %.2f)", u + s, u, s
  }'
}

echo "| command | pipeline | redyn CPU µs/cmd (user + system) | redis-server CPU µs/cmd (user + system) | ratio |"
echo "|---|---|---|---|---|"
for test in ${CPU_TESTS:-GET SET HSET INCR ZADD LPUSH RPOP SADD}; do
  case $test in
    GET) args=(GET key:__rand_int__) ;;
    SET) args=(SET key:__rand_int__ value:__rand_int__) ;;
    HSET) args=(HSET bench:hash field:__rand_int__ value:__rand_int__) ;;
    INCR) args=(INCR counter:__rand_int__) ;;
    ZADD) args=(ZADD bench:zset __rand_int__ member:__rand_int__) ;;
    LPUSH) args=(LPUSH bench:list element:__rand_int__) ;;
    RPOP) args=(RPOP bench:list) ;;
    SADD) args=(SADD bench:set member:__rand_int__) ;;
  esac
  if [ "$test" == GET ]; then
    # Every key of the range exists, as in bench.sh where GET follows SET.
    for port in "$REDYN_PORT" "$REDIS_PORT"; do
      redis-benchmark -p "$port" -c 50 -n "$N" -P 16 -r 100000 -q SET key:__rand_int__ v >/dev/null 2>&1
    done
  fi
  a=$(usec_per_command "$REDYN_PORT" "$REDYN_PID" "${args[@]}")
  b=$(usec_per_command "$REDIS_PORT" "$REDIS_PID" "${args[@]}")
  echo "| $test | $PIPE | $a | $b | $(awk -v a="${a%% *}" -v b="${b%% *}" 'BEGIN {printf "%.2f", a / b}')x |"
done
