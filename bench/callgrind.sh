#!/usr/bin/env bash
# Server instructions per command under valgrind's callgrind, for a fixed redis-benchmark
# workload: unlike req/s, instruction counts repeat closely from run to run on a busy
# machine, so they can prove a cut. Counts cover every server thread (network, engine,
# background reclaim/expiry/fsync) from the end of the set-up to the end of the workload;
# start-up and set-up are excluded (callgrind_control --zero). Not run in CI.
#
# Usage: bench/callgrind.sh [requests] [pipeline] [tests...]
#   (default 20000 16 LPUSH RPOP LRANGE_100 SADD SPOP; also SET SET_RANDVAL GET HGET
#   INCR HSET ZADD SADD_NEW SPOP_FJALL RPOP_FJALL LPUSH_LONG PING)
# Environment: REDYN_BIN (default target/release/redyn), PORT (default 7701),
#   SPOP_SET, SPOP_N (set size and pops for SPOP, default 20000 and requests/4),
#   KEEP=dir keeps the callgrind.out files there (for callgrind_annotate),
#   REDIS=1 measures redis-server (AOF everysec) instead, the same way,
#   CACHE_SIM=1 adds callgrind's cache simulation: data reads and writes missing its first
#   level (D1) and last level (LL) cache, per command. Time lost to memory stalls does not
#   show in instruction counts; these counts repeat as exactly.
#   LL_BYTES (with CACHE_SIM) sizes the simulated last level, e.g. 1048576 for a 1 MB L2:
#   valgrind otherwise takes the host's L3, which a working set of 100 k keys fits, so its
#   LL misses stay near zero while the real L2 misses are what the commands wait on.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20000}
PIPE=${2:-16}
shift $(($# < 2 ? $# : 2))
TESTS=${*:-LPUSH RPOP LRANGE_100 SADD SPOP}
# SPOP pops SPOP_N members from a set of SPOP_SET (the set stays large throughout).
SPOP_SET=${SPOP_SET:-20000}
SPOP_N=${SPOP_N:-$((N / 4))}
BIN=${REDYN_BIN:-target/release/redyn}
PORT=${PORT:-7701}
TMP=$(mktemp -d)
OUT=${KEEP:-$TMP}
mkdir -p "$OUT"

bench() { redis-benchmark -p "$PORT" -c 10 -n "$N" -P "$PIPE" -r 100000 -q "$@" >/dev/null 2>&1; }

# push_into_fjall: ~60 MB of other keys (more than the default budget's memtable) push what
# the write buffer holds into fjall.
push_into_fjall() {
  bench -n 100000 SET fill:__rand_int__ "$(head -c 1000 /dev/zero | tr '\0' x)"
  sleep "${FJALL_SETTLE:-20}"
}

# setup <test>: what a test needs in the database before the measured part.
setup() {
  case $1 in
    RPOP | LRANGE_100) bench LPUSH bench:list element:__rand_int__ ;;
    # Every key of the range exists (and is in redyn's row cache), as in bench.sh, where GET
    # runs after SET rows of more requests than keys.
    GET | SET_RANDVAL) bench -n 200000 SET key:__rand_int__ value ;;
    HGET) bench -n 200000 HSET bench:hash field:__rand_int__ value ;;
    # Counters that exist, as in bench.sh, where INCR at pipeline 16 follows INCR at 1.
    INCR) bench -n 200000 INCR counter:__rand_int__ ;;
    # Members that exist, as in bench.sh, where SADD at pipeline 16 follows SADD at 1.
    SADD) bench -n 200000 SADD bench:set member:__rand_int__ ;;
    # SADD_NEW: a set growing from empty (most members are new), as in bench.sh's first SADD row.
    SPOP) seq 1 "$SPOP_SET"  | awk '{print "SADD bench:set member:" $1}' |
      redis-cli -p "$PORT" --pipe >/dev/null ;;
    # SPOP_FJALL: the same set, pushed out of the write buffer into fjall by ~60 MB of other
    # keys (more than the default budget's memtable), as bench.sh's SPOP row finds it.
    SPOP_FJALL)
      setup SPOP
      push_into_fjall ;;
    # RPOP_FJALL: pops from the tail of a list fjall holds, as bench.sh's pipelined RPOP row
    # finds its list (the tail is the oldest elements).
    RPOP_FJALL)
      bench -n 100000 LPUSH bench:list element:__rand_int__
      push_into_fjall ;;
    # LPUSH_LONG: pushes onto a list of 300 k elements, as bench.sh's pipelined LPUSH rows
    # find theirs (its earlier LPUSH rows filled it).
    LPUSH_LONG) bench -n 300000 LPUSH bench:list element:__rand_int__ ;;
    *) ;;
  esac
}

# workload <test>: the measured commands.
workload() {
  case $1 in
    SADD | SADD_NEW) bench SADD bench:set member:__rand_int__ ;;
    SPOP | SPOP_FJALL) bench -n "$SPOP_N" SPOP bench:set ;;
    LPUSH | LPUSH_LONG) bench LPUSH bench:list element:__rand_int__ ;;
    RPOP | RPOP_FJALL) bench RPOP bench:list ;;
    LRANGE_100) bench LRANGE bench:list 0 99 ;;
    PING) bench PING ;;
    SET) bench SET key:__rand_int__ value ;;
    GET) bench GET key:__rand_int__ ;;
    SET_RANDVAL) bench SET key:__rand_int__ value:__rand_int__ ;;
    HGET) bench HGET bench:hash field:__rand_int__ ;;
    INCR) bench INCR counter:__rand_int__ ;;
    HSET) bench HSET bench:hash field:__rand_int__ value ;;
    ZADD) bench ZADD bench:zset __rand_int__ member:__rand_int__ ;;
    *) echo "unknown test $1" >&2; exit 2 ;;
  esac
}

CG_ARGS=()
if [ -n "${CACHE_SIM:-}" ]; then
  CG_ARGS=(--cache-sim=yes --compress-strings=no)
  [ -n "${LL_BYTES:-}" ] && CG_ARGS+=(--LL="$LL_BYTES,16,64")
  echo "| command | requests | pipeline | instructions/command | D1 misses/command | LL misses/command |"
  echo "|---|---|---|---|---|---|"
else
  echo "| command | requests | pipeline | instructions/command |"
  echo "|---|---|---|---|"
fi
for test in $TESTS; do
  dir=$(mktemp -d)
  if [ -n "${REDIS:-}" ]; then
    server=(redis-server --port "$PORT" --dir "$dir" --appendonly yes --appendfsync everysec
      --save '')
  else
    server=("$BIN" --port "$PORT" --dir "$dir" --appendfsync everysec --metrics-addr off)
  fi
  valgrind --tool=callgrind "${CG_ARGS[@]}" --callgrind-out-file="$OUT/callgrind.out.$test" "${server[@]}" \
    >"$TMP/valgrind.$test.log" 2>&1 &
  pid=$!
  for _ in $(seq 600); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.2; done
  setup "$test"
  callgrind_control --zero "$pid" >/dev/null 2>&1
  workload "$test"
  callgrind_control --dump="$test" "$pid" >/dev/null 2>&1
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
  # The dump holds only the measured part (counters were zeroed before it).
  # summary: Ir [Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw] (the bracketed ones with CACHE_SIM).
  n=$N; [[ "$test" == SPOP* ]] && n=$SPOP_N
  for f in "$OUT"/callgrind.out."$test".*; do grep -h '^summary:' "$f"; done |
    awk -v test="$test" -v n="$n" -v pipe="$PIPE" '
      { ir += $2; d1 += $6 + $7; ll += $9 + $10 }
      END {
        if (NF > 2) printf "| %s | %d | %s | %.0f | %.1f | %.1f |\n", test, n, pipe, ir / n, d1 / n, ll / n
        else printf "| %s | %d | %s | %.0f |\n", test, n, pipe, ir / n
      }'
done
[ -z "${KEEP:-}" ] && rm -rf "$TMP"
