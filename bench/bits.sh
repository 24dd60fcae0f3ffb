#!/usr/bin/env bash
# Bitmap benchmark (issue 12): a 100 MB bitmap (SETBIT bm 838860799 1, then random SETBITs)
# in redyn and in redis-server with AOF everysec; SETBIT and GETBIT at random offsets, and
# BITCOUNT of the whole bitmap and of a 4 KB range, with 50 clients at pipeline depth 1 and
# 16. SETBIT on a 1 KB bitmap is the baseline: in redyn a SETBIT rewrites one chunk, so it
# should cost the same on 100 MB. Random offsets come from bench/bits_bench.rs (Redis refuses
# redis-benchmark's zero-padded __rand_int__ as a bit offset). Not run in CI.
#
# Usage: bench/bits.sh [requests] [bitcount_requests]     (default 200000 400)
set -euo pipefail
cd "$(dirname "$0")/.."
REQ=${1:-200000}
BITCOUNT_REQ=${2:-400}
MAX_BIT=838860800
cargo build --release -q --bin redyn --example bits_bench
TMP=$(mktemp -d)
REDYN_PORT=${REDYN_PORT:-7692}
REDIS_PORT=${REDIS_PORT:-7693}
source bench/lib.sh
start_both

# bits <port> <setbit|getbit> <key> <max bit> <pipeline> [requests]: requests per second.
bits() { target/release/examples/bits_bench "127.0.0.1:$1" "$2" "$3" "$4" 50 "$5" "${6:-$REQ}" | sed 's/rps=//'; }
# rb <port> <pipeline> <requests> <command...>: redis-benchmark's requests per second.
rb() { redis-benchmark -p "$1" -c 50 -n "$3" -P "$2" --csv "${@:4}" | awk -F'"' 'NR > 1 {print $4; exit}'; }

declare -A result
for server in redyn redis; do
  if [ $server == redyn ]; then port=$REDYN_PORT; else port=$REDIS_PORT; fi
  redis-cli -p "$port" setbit bm $((MAX_BIT - 1)) 1 >/dev/null
  redis-cli -p "$port" setbit small 8191 1 >/dev/null
  # Random bits all over the bitmap first (100k of them, pipelined).
  bits "$port" setbit bm "$MAX_BIT" 16 100000 >/dev/null
  result[$server,len]=$(redis-cli -p "$port" strlen bm)
  for depth in 1 16; do
    result[$server,small$depth]=$(bits "$port" setbit small 8192 "$depth")
    result[$server,setbit$depth]=$(bits "$port" setbit bm "$MAX_BIT" "$depth")
    result[$server,getbit$depth]=$(bits "$port" getbit bm "$MAX_BIT" "$depth")
    result[$server,count$depth]=$(rb "$port" "$depth" "$BITCOUNT_REQ" BITCOUNT bm)
    result[$server,range$depth]=$(rb "$port" "$depth" "$REQ" BITCOUNT bm 50000000 50004095)
  done
  result[$server,ones]=$(redis-cli -p "$port" bitcount bm)
done

echo "Bitmaps: a ${result[redyn,len]}-byte bitmap, 50 clients, $REQ requests ($BITCOUNT_REQ for whole BITCOUNT)"
echo
echo "| req/s | redyn | redis-server (AOF everysec) | ratio |"
echo "|---|---|---|---|"
row() {
  local a=${result[redyn,$2]} b=${result[redis,$2]}
  echo "| $1 | $a | $b | $(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2fx", a / b}') |"
}
for depth in 1 16; do
  row "SETBIT 1 KB bitmap, pipeline $depth" small$depth
  row "SETBIT 100 MB bitmap, pipeline $depth" setbit$depth
  row "GETBIT 100 MB bitmap, pipeline $depth" getbit$depth
  row "BITCOUNT whole 100 MB, pipeline $depth" count$depth
  row "BITCOUNT 4 KB range, pipeline $depth" range$depth
done
echo "| bits set at the end | ${result[redyn,ones]} | ${result[redis,ones]} | |"
