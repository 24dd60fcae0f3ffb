#!/usr/bin/env bash
# Interop scenario through redis-cli: SET/GET, EXPIRE/TTL, HSET/HGETALL, SCAN, a pipeline,
# HELLO 3. Usage: scenario_cli.sh <port>
set -euo pipefail
PORT=$1
cli() { redis-cli -p "$PORT" "$@"; }
fail() { echo "redis-cli scenario FAILED: $*" >&2; exit 1; }
expect() { # expect <expected> <command...>
  local want=$1; shift
  local got; got=$(cli "$@")
  [ "$got" == "$want" ] || fail "'$*' returned '$got', expected '$want'"
}

cli flushall >/dev/null
expect OK set cli:greeting hello
expect hello get cli:greeting
expect 1 expire cli:greeting 100
ttl=$(cli ttl cli:greeting); [ "$ttl" -gt 90 ] && [ "$ttl" -le 100 ] || fail "ttl $ttl"
expect 2 hset cli:user name ada lang rust
# Field order is unspecified (Redis: insertion order, redyn: field order): compare pairs.
pairs=$(cli hgetall cli:user | paste - - | sort | tr '\t\n' ': ')
[ "$pairs" == "lang:rust name:ada " ] || fail "hgetall returned '$pairs'"
for i in $(seq 1 50); do echo "SET cli:k$i $i"; done | cli --pipe >/dev/null
n=$(cli --scan --pattern 'cli:k*' | sort -u | wc -l); [ "$n" -eq 50 ] || fail "scan found $n keys"
# A pipeline: many commands in one write, replies in order.
out=$(printf 'INCR cli:n\r\nINCR cli:n\r\nINCR cli:n\r\nGET cli:n\r\n' | cli)
[ "$(echo "$out" | tail -1)" == "3" ] || fail "pipeline replies: $out"
hello=$(cli -3 hello 3 | tr '\n' ' ')
[[ "$hello" == *"proto 3"* ]] || fail "HELLO 3: $hello"
echo "redis-cli scenario passed"
