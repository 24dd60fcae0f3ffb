// Interop scenario through ioredis: SET/GET, EXPIRE/TTL, HSET/HGETALL, SCAN, a pipeline,
// MULTI/EXEC, and HELLO 3 (ioredis itself only speaks RESP2, so the RESP3 handshake is
// checked on a plain socket). Usage: node scenario_ioredis.js <port>
const assert = require("node:assert/strict");
const net = require("node:net");
const Redis = require("ioredis");

const port = Number(process.argv[2]);

function hello3() {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write("HELLO 3\r\n"));
    let data = "";
    socket.on("data", (chunk) => {
      data += chunk;
      if (data.includes("modules")) {
        socket.end();
        resolve(data);
      }
    });
    socket.on("error", reject);
  });
}

async function main() {
  const r = new Redis({ port, host: "127.0.0.1", lazyConnect: true });
  await r.connect();
  await r.flushall();
  assert.equal(await r.set("js:greeting", "hello"), "OK");
  assert.equal(await r.get("js:greeting"), "hello");
  assert.equal(await r.expire("js:greeting", 100), 1);
  const ttl = await r.ttl("js:greeting");
  assert.ok(ttl > 90 && ttl <= 100, `ttl ${ttl}`);
  assert.equal(await r.hset("js:user", { name: "ada", lang: "rust" }), 2);
  assert.deepEqual(await r.hgetall("js:user"), { name: "ada", lang: "rust" });
  for (let i = 0; i < 50; i++) await r.set(`js:k${i}`, i);
  const seen = new Set();
  await new Promise((resolve, reject) => {
    const stream = r.scanStream({ match: "js:k*", count: 7 });
    stream.on("data", (keys) => keys.forEach((k) => seen.add(k)));
    stream.on("end", resolve);
    stream.on("error", reject);
  });
  assert.equal(seen.size, 50);
  const pipeline = r.pipeline();
  for (let i = 0; i < 100; i++) pipeline.incr("js:n");
  pipeline.get("js:n");
  const results = await pipeline.exec();
  assert.equal(results[results.length - 1][1], "100");
  const tx = await r.multi().incr("js:n").hset("js:user", "lang", "zig").exec();
  assert.deepEqual(tx, [[null, 101], [null, 0]]);
  const hello = await hello3();
  assert.ok(hello.startsWith("%7\r\n"), hello);
  assert.ok(hello.includes("proto\r\n:3\r\n"), hello);
  await r.quit();
  console.log("ioredis scenario passed");
}

main().catch((err) => {
  console.error("ioredis scenario FAILED:", err);
  process.exit(1);
});
