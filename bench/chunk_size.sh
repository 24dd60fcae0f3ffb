#!/usr/bin/env bash
# How the chunk size of long strings was chosen (issue 12): per chunk size, req/s of a write
# that changes one byte (BITFIELD INCRBY u8, which always writes, like a SETBIT that flips a
# bit) and of APPEND 1 byte, on strings of 1 KB to 10 MB, and of GET of a 1 MB string.
# REDYN_STRING_CHUNK_LOG2 sets the chunk size of the server under test; BASELINE=<binary>
# adds a row for a build that keeps every string inline. BIG_REQ (default 500) requests are
# sent for the 1 MB and 10 MB strings. Not run in CI.
#
# Figures of 2026-11-29 (2 shared cores at load ~14, so ±50% noise; 20000 requests, 500 for
# 1 MB and 10 MB), req/s of BITFIELD INCRBY / APPEND 1 byte:
#   | chunk           | 1 KB        | 16 KB       | 1 MB        | 10 MB       | GET 1 MB |
#   | inline (before) | 2885 / 1859 | 1645 / 1633 |   32 /   34 |    3 /    3 |    59    |
#   | 1024 B          | 5585 / 4014 | 2519 / 5253 | 2732 / 3704 | 2222 / 2024 |    39    |
#   | 4096 B          | 6376 / 3217 | 2498 / 4047 | 4854 / 3425 | 2415 / 3185 |    46    |
#   | 16384 B         | 2520 / 4569 | 1584 / 3542 | 1292 / 4425 | 1330 / 1818 |    42    |
#   | 65536 B         | 4740 / 1986 | 2469 / 1457 |  620 / 2688 |  545 / 5952 |    49    |
# Inline, a one-byte write costs the whole string (32 req/s at 1 MB, 3 at 10 MB); chunked it
# costs the same at every size. 4 KiB chunks wrote fastest on long strings while GET of 1 MB
# (256 chunks) stays within the noise of larger chunks, so 4 KiB is both the chunk size and
# the inline threshold.
#
# Usage: bench/chunk_size.sh [requests] [log2 sizes...]   (default 20000 10 12 14 16)
set -euo pipefail
cd "$(dirname "$0")/.."
REQ=${1:-20000}
shift $(($# < 1 ? $# : 1))
SIZES=${*:-10 12 14 16}
BIG_REQ=${BIG_REQ:-500}
PORT=${PORT:-7694}
TMP=$(mktemp -d)
trap 'kill $PID 2>/dev/null; rm -rf "$TMP"' EXIT

rps() { redis-benchmark -p "$PORT" -c 50 -n "$1" -P 1 --csv "${@:2}" | awk -F'"' 'NR > 1 {print $4; exit}'; }

# measure <label> <binary> [log2]: one table row.
measure() {
  rm -rf "$TMP/data"
  REDYN_STRING_CHUNK_LOG2=${3:-} "$2" --port "$PORT" --dir "$TMP/data" --appendfsync everysec \
    --metrics-addr off >"$TMP/log" 2>&1 &
  PID=$!
  for _ in $(seq 300); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  local row="| $1 |"
  for size in 1024 16384 1048576 10485760; do
    head -c "$size" /dev/urandom | redis-cli -p "$PORT" -x set "s$size" >/dev/null
    # Inline, a write to a long string rewrites all of it: fewer requests for those.
    local n=$((size > 16384 ? BIG_REQ : REQ))
    row+=" $(rps "$n" BITFIELD "s$size" INCRBY u8 $((size * 4)) 1) /"
    row+=" $(rps "$n" APPEND "s$size" x) |"
  done
  row+=" $(rps "$BIG_REQ" GET s1048576) |"
  echo "$row"
  kill $PID; wait $PID 2>/dev/null || true
}

echo "req/s, 50 clients, pipeline 1: BITFIELD INCRBY u8 in the middle / APPEND 1 byte"
echo
echo "| chunk | 1 KB | 16 KB | 1 MB | 10 MB | GET 1 MB |"
echo "|---|---|---|---|---|---|"
if [ -n "${BASELINE:-}" ]; then measure "inline (before)" "$BASELINE"; fi
for log2 in $SIZES; do
  measure "$((1 << log2)) B" "${REDYN_BIN:-target/release/redyn}" "$log2"
done
