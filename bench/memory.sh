#!/usr/bin/env bash
# The memory budget on a data set ten times larger (issue 15): starts redyn with
# `--maxmemory BUDGET` (default 256mb), loads KEYS keys with 1 KB values (default 2.6 M:
# ~2.7 GB of values, over ten times the budget) through redis-cli --pipe, then GETs random
# keys with redis-benchmark. RSS (/proc/PID/status VmRSS) is sampled every second
# throughout. Prints the RSS peak during the load and during the GETs against the goal
# (budget + 256 MB), and the GET latency percentiles (the goal: p99 under 2 ms).
#
# Between the load and the GETs it waits until the server is idle (compactions of the loaded
# data done: under 5 % CPU for 5 s in a row), then reports how much of the table files the
# OS page cache holds, since that decides how many GETs read the disk: redyn keeps the data
# set on disk and leaves caching it beyond the budget to the OS. Note that a host may page
# out idle page cache on its own (the VMs this was measured on run DAMON with a `pageout`
# scheme for pages idle 60 s), so an idle minute between load and GETs turns the run into a
# disk-read benchmark. COLD=1 measures that case on purpose: it drops the page cache
# (as root) before the GETs.
#
# Usage: bench/memory.sh [budget] [keys]   (REDYN_BIN, REDYN_PORT as for the other scripts;
# takes several minutes and needs ~4 GB of disk in /tmp)
set -euo pipefail
cd "$(dirname "$0")/.."

BUDGET=${1:-256mb}
KEYS=${2:-2600000}
GETS=${GETS:-1000000}
REDYN_PORT=${REDYN_PORT:-7822}
# Not started here, but stop_all (bench/lib.sh) shuts down whatever answers on it.
REDIS_PORT=${REDIS_PORT:-7823}
TMP=$(mktemp -d /tmp/redyn-memory.XXXXXX)
. bench/lib.sh
trap stop_all EXIT

# The RESP stream of `SET key:%012d <1 KB value>` for every key (the key names
# redis-benchmark's -r uses). Values rotate over 64 random strings, so neighbouring rows
# differ and table blocks do not compress the data set away.
generate() {
  awk -v n="$KEYS" 'BEGIN {
    srand(15)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    for (v = 0; v < 64; v++) {
      s = ""
      for (j = 0; j < 1024; j++) s = s substr(alphabet, int(rand() * 64) + 1, 1)
      value[v] = s
    }
    for (i = 0; i < n; i++) {
      key = sprintf("key:%012d", i)
      printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$1024\r\n%s\r\n", length(key), key, value[i % 64]
    }
  }'
}

rss_kb() { awk '/VmRSS/ { print $2 }' /proc/"$REDYN_PID"/status; }

# sample_rss FILE: one VmRSS figure (kB) a second until the file STOP exists.
sample_rss() {
  : >"$1"
  while [ ! -e "$TMP/STOP" ]; do rss_kb >>"$1"; sleep 1; done
}

peak_mb() { sort -n "$1" | tail -1 | awk '{ printf "%.0f", $1 / 1024 }'; }

cpu_ticks() { awk '{ print $14 + $15 }' /proc/"$REDYN_PID"/stat; }

# wait_idle: returns once redyn used under 5 % of a core for 5 s in a row (at most 10 min).
wait_idle() {
  local idle=0 before after hz
  hz=$(getconf CLK_TCK)
  for _ in $(seq 600); do
    before=$(cpu_ticks)
    sleep 1
    after=$(cpu_ticks)
    if [ $((after - before)) -le $((hz / 20)) ]; then idle=$((idle + 1)); else idle=0; fi
    [ "$idle" -ge 5 ] && return
  done
}

# How much of the table files the page cache holds (util-linux's fincore, if present).
page_cache_report() {
  command -v fincore >/dev/null || return 0
  find "$TMP/redyn/keyspaces" -type f -path '*/tables/*' -print0 |
    xargs -0 fincore --bytes --noheadings --raw --output RES,SIZE |
    awk '{ res += $1; size += $2 }
      END { printf "page cache holds %.0f of %.0f MB of table files\n", res / 1048576, size / 1048576 }'
}

start_redyn --maxmemory "$BUDGET"
wait_ping "$REDYN_PORT"
budget_bytes=$(redis-cli -p "$REDYN_PORT" config get maxmemory | tail -1)
limit_mb=$((budget_bytes / 1048576 + 256))

echo "== loading $KEYS keys x 1 KB into redyn --maxmemory $BUDGET"
sample_rss "$TMP/load.rss" &
sampler=$!
start=$(date +%s)
generate | redis-cli -p "$REDYN_PORT" --pipe | tail -2
echo "loaded in $(($(date +%s) - start)) s; dbsize $(redis-cli -p "$REDYN_PORT" dbsize);" \
  "disk $(du -sh "$TMP/redyn" | cut -f1)"
touch "$TMP/STOP"
wait "$sampler"
rm -f "$TMP/STOP"
# Reads are measured once the store has settled: right after a bulk load, compaction of the
# loaded data competes with the reads for the CPU for half a minute or more.
echo "== waiting for compactions to settle"
start=$(date +%s)
wait_idle
echo "settled after $(($(date +%s) - start)) s"
if [ "${COLD:-0}" = 1 ]; then
  sync
  echo 1 >/proc/sys/vm/drop_caches
  echo "== page cache dropped (COLD=1)"
fi
page_cache_report

echo "== GET of random keys: redis-benchmark -t get -r $KEYS -n $GETS"
sample_rss "$TMP/get.rss" &
sampler=$!
redis-benchmark -p "$REDYN_PORT" -t get -r "$KEYS" -n "$GETS" --csv | tee "$TMP/get.csv"
touch "$TMP/STOP"
wait "$sampler"

# How many GETs had their rows read ahead off the network thread (reads gone to the disk).
redis-cli -p "$REDYN_PORT" info persistence | tr -d '\r' | grep -E '^stored_read'
p99=$(awk -F'"' 'NR == 2 { print $14 }' "$TMP/get.csv")
echo "== budget $BUDGET: RSS peak during load $(peak_mb "$TMP/load.rss") MB," \
  "during GETs $(peak_mb "$TMP/get.rss") MB, at the end $(($(rss_kb) / 1024)) MB" \
  "(goal: at most $limit_mb MB); GET p99 $p99 ms (goal: under 2 ms)"
