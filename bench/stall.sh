#!/usr/bin/env bash
# Write stalls under a bulk load (issue 15): runs
#   redis-benchmark -P 64 -r 10000000 -d 100 -t set -n 20000000
# against redyn (and redis-server with AOF everysec, unless REDYN_ONLY=1), sampling the
# server's INFO `total_commands_processed` about once a second. Prints one line per sample
# (seconds since start, commands in the interval, interval length, rate) and then the
# minimum and median per-second rate and their ratio: the goal is min >= 25% of median.
#
# A server stalled inside a write answers INFO late, so a stall shows as a long interval
# with few commands (a low rate), not as a missing sample.
#
# Usage: bench/stall.sh [requests]   (REDYN_BIN, REDYN_PORT, REDIS_PORT, REDYN_ONLY,
# REDYN_ARGS as for the other scripts; RESULTS: a directory to keep the samples in; can
# take several minutes)
set -euo pipefail
cd "$(dirname "$0")/.."

REQUESTS=${1:-20000000}
REDYN_PORT=${REDYN_PORT:-7820}
REDIS_PORT=${REDIS_PORT:-7821}
TMP=$(mktemp -d /tmp/redyn-stall.XXXXXX)
RESULTS=${RESULTS:-$TMP}
mkdir -p "$RESULTS"
. bench/lib.sh

# sample PORT OUTFILE: "<unix time> <total_commands_processed>" lines, about one a second,
# until the file STOP exists.
sample() {
  local port=$1 out=$2
  : >"$out"
  while [ ! -e "$TMP/STOP" ]; do
    local n
    n=$(redis-cli -p "$port" info stats 2>/dev/null | tr -d '\r' |
      awk -F: '$1 == "total_commands_processed" { print $2 }')
    [ -n "$n" ] && echo "$(date +%s.%N) $n" >>"$out"
    sleep 1
  done
}

# report NAME SAMPLES: per-interval rates, then min / median / ratio over the intervals
# while the load ran (the first and last, partly idle, are left out).
report() {
  local name=$1 file=$2
  echo "== $name: per-second throughput (t, commands, interval s, commands/s)"
  awk 'NR == 1 { t0 = $1 } NR > 1 { printf "%7.1f %9d %5.2f %9.0f\n", $1 - t0, $2 - n, $1 - t, ($2 - n) / ($1 - t) }
       { t = $1; n = $2 }' "$file" >"$file.rates"
  # Intervals while the load ran: from the first with commands to the last with commands
  # (more than one: the sampler's own INFO is one per interval, idle or not).
  awk '$2 > 1' "$file.rates" | sed '1d;$d' >"$file.busy"
  cat "$file.rates"
  sort -n -k4 "$file.busy" | awk -v name="$name" '
    { r[NR] = $4 }
    END {
      if (NR == 0) { print name ": no samples"; exit }
      med = (NR % 2) ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2
      printf "%s: intervals %d  min %.0f/s  median %.0f/s  min/median %.1f%%\n", name, NR, r[1], med, 100 * r[1] / med
    }'
  awk '$3 > 1.5 { n++ } END { printf "intervals longer than 1.5 s (server slow to answer INFO): %d\n", n + 0 }' "$file.busy"
}

# load NAME PORT: the bulk load with the sampler beside it.
load() {
  local name=$1 port=$2
  rm -f "$TMP/STOP"
  sample "$port" "$RESULTS/$name.samples" &
  local sampler=$!
  sleep 1.5
  redis-benchmark -p "$port" -P 64 -r 10000000 -d 100 -t set -n "$REQUESTS" -q >"$TMP/$name.bench" 2>&1
  sleep 2
  touch "$TMP/STOP"
  wait "$sampler"
  tr '\r' '\n' <"$TMP/$name.bench" | grep -v '^ *$' | tail -1
  report "$name" "$RESULTS/$name.samples"
  if [ "$name" = redyn ]; then
    echo "redyn VmRSS after the load: $(awk '/VmRSS/ { print $2, $3 }' /proc/"$REDYN_PID"/status)"
  fi
}

if [ "${REDYN_ONLY:-0}" = 1 ]; then
  trap stop_all EXIT
  # shellcheck disable=SC2086
  start_redyn ${REDYN_ARGS:-}
  wait_ping "$REDYN_PORT"
else
  # shellcheck disable=SC2086
  start_both ${REDYN_ARGS:-}
fi
load redyn "$REDYN_PORT"
if [ "${REDYN_ONLY:-0}" != 1 ]; then
  load redis "$REDIS_PORT"
fi
