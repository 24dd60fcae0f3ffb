#!/usr/bin/env bash
# TLS interop: a server with a TLS port (client certificates required) and a plaintext port
# side by side, exercised by redis-cli --tls, redis-py (ssl=True) and ioredis (tls option).
# Certificates are made here with the openssl command-line tool.
#
#   tests/interop/scenario_tls.sh [BINARY]    redyn binary (default target/release/redyn)
#   SERVER=redis-server tests/interop/scenario_tls.sh   the same scenario against Redis
#   PORT=… TLS_PORT=…                                   fixed ports instead of free ones
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${1:-$ROOT/target/release/redyn}
TMP=$(mktemp -d)
PID=""
cleanup() {
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT

[[ "$(redis-cli --help 2>&1)" == *--tls* ]] || { echo "redis-cli lacks TLS support"; exit 1; }
[ -d "$HERE/node_modules" ] || (cd "$HERE" && npm ci --silent)

# --- certificates: a CA, the server's (localhost, 127.0.0.1) and a client's.
cd "$TMP"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 \
  -subj "/CN=redyn interop CA" 2>/dev/null
issue() { # name subject-alt-names
  openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$1" 2>/dev/null
  printf 'subjectAltName=%s\n' "$2" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
    -extfile "$1.ext" -out "$1.crt" 2>/dev/null
}
issue server "DNS:localhost,IP:127.0.0.1"
issue client "DNS:client"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=${PORT:-$(free_port)}
TLS_PORT=${TLS_PORT:-$(free_port)}
TLS_ARGS=(--port "$PORT" --tls-port "$TLS_PORT" --tls-cert-file "$TMP/server.crt"
  --tls-key-file "$TMP/server.key" --tls-ca-cert-file "$TMP/ca.crt")
if [ "${SERVER:-}" == "redis-server" ]; then
  redis-server "${TLS_ARGS[@]}" --save "" --appendonly no --dir "$TMP" >"$TMP/server.log" 2>&1 &
else
  "$BIN" "${TLS_ARGS[@]}" --dir "$TMP/data" --metrics-addr off >"$TMP/server.log" 2>&1 &
fi
PID=$!
for _ in $(seq 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

fail() { echo "FAIL: $*"; cat "$TMP/server.log"; exit 1; }
CLI_TLS=(redis-cli --tls --cacert "$TMP/ca.crt" --cert "$TMP/client.crt" --key "$TMP/client.key" -p "$TLS_PORT")

# --- redis-cli
[ "$("${CLI_TLS[@]}" ping)" == "PONG" ] || fail "redis-cli --tls PING"
"${CLI_TLS[@]}" set tls:cli hello >/dev/null
[ "$(redis-cli -p "$PORT" get tls:cli)" == "hello" ] || fail "TLS write seen on plaintext"
[ "$(printf 'INCR tls:n\nINCR tls:n\nINCR tls:n\n' | "${CLI_TLS[@]}" | tail -1)" == "3" ] ||
  fail "redis-cli --tls pipelined INCR"
# Without a client certificate the server refuses (tls-auth-clients yes).
if redis-cli --tls --cacert "$TMP/ca.crt" -p "$TLS_PORT" ping 2>/dev/null | grep -q PONG; then
  fail "client without certificate accepted"
fi
echo "redis-cli --tls ok"

# --- redis-py
python3 - "$TLS_PORT" "$PORT" "$TMP" <<'EOF'
import sys
import redis

tls_port, port, tmp = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
r = redis.Redis(host="localhost", port=tls_port, ssl=True, ssl_ca_certs=f"{tmp}/ca.crt",
                ssl_certfile=f"{tmp}/client.crt", ssl_keyfile=f"{tmp}/client.key",
                decode_responses=True)
assert r.ping()
r.set("tls:py", "x" * 100_000)
assert r.get("tls:py") == "x" * 100_000
pipe = r.pipeline()
for i in range(100):
    pipe.rpush("tls:list", i)
pipe.lrange("tls:list", 0, -1)
assert pipe.execute()[-1] == [str(i) for i in range(100)]
p = r.pubsub()
p.subscribe("tls:chan")
assert p.get_message(timeout=5)["type"] == "subscribe"
redis.Redis(port=port).publish("tls:chan", "over plaintext")
msg = p.get_message(timeout=5)
assert msg and msg["data"] == "over plaintext", msg
r3 = redis.Redis(host="localhost", port=tls_port, ssl=True, ssl_ca_certs=f"{tmp}/ca.crt",
                 ssl_certfile=f"{tmp}/client.crt", ssl_keyfile=f"{tmp}/client.key",
                 protocol=3, decode_responses=True)
assert r3.hset("tls:h", mapping={"a": 1}) == 1 and r3.hgetall("tls:h") == {"a": "1"}
print("redis-py ssl ok")
EOF

# --- ioredis
(cd "$HERE" && node -e '
const assert = require("node:assert/strict");
const fs = require("node:fs");
const Redis = require("ioredis");
const [tlsPort, tmp] = [Number(process.argv[1]), process.argv[2]];
(async () => {
  const r = new Redis({ port: tlsPort, host: "127.0.0.1", lazyConnect: true,
    tls: { ca: fs.readFileSync(`${tmp}/ca.crt`), cert: fs.readFileSync(`${tmp}/client.crt`),
           key: fs.readFileSync(`${tmp}/client.key`), servername: "localhost" } });
  await r.connect();
  assert.equal(await r.set("tls:js", "v"), "OK");
  assert.equal(await r.get("tls:js"), "v");
  const res = await r.pipeline().incr("tls:jsn").incr("tls:jsn").get("tls:cli").exec();
  assert.deepEqual(res.map(([, v]) => v), [1, 2, "hello"]);
  assert.deepEqual(await r.multi().set("tls:m", 1).get("tls:m").exec(), [[null, "OK"], [null, "1"]]);
  r.disconnect();
  console.log("ioredis tls ok");
})().catch((e) => { console.error(e); process.exit(1); });
' "$TLS_PORT" "$TMP")
echo "tls interop: all passed"
