// Scripting through ioredis: the token-bucket rate limiter as a defineCommand script
// (EVALSHA, with ioredis's EVAL fallback after SCRIPT FLUSH) and a function library through
// FUNCTION LOAD / FCALL. Usage: node scenario_scripts_ioredis.js <port>
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const Redis = require("ioredis");

const port = Number(process.argv[2]);
const lua = fs.readFileSync(path.join(__dirname, "token_bucket.lua"), "utf8");

async function main() {
  const r = new Redis({ port, host: "127.0.0.1", lazyConnect: true });
  await r.connect();
  await r.flushall();
  r.defineCommand("tokenBucket", { numberOfKeys: 1, lua });
  const now = 1000000;
  const verdicts = [];
  for (let i = 0; i < 7; i++) {
    verdicts.push((await r.tokenBucket("js:bucket", 5, 0.001, now, 1))[0]);
  }
  assert.deepEqual(verdicts, [1, 1, 1, 1, 1, 0, 0]);
  assert.deepEqual(await r.tokenBucket("js:bucket", 5, 0.001, now + 1000, 1), [1, "0"]);
  await r.script("FLUSH");
  assert.deepEqual(await r.tokenBucket("js:bucket", 5, 0.001, now + 4000, 2), [1, "1"]);
  // The same limiter as a function.
  const library = `#!lua name=limiter\nredis.register_function('take', function(KEYS, ARGV)\n${lua}\nend)`;
  assert.equal(await r.call("FUNCTION", "LOAD", "REPLACE", library), "limiter");
  assert.deepEqual(await r.call("FCALL", "take", 1, "js:fn", 2, 0, now, 1), [1, "1"]);
  assert.deepEqual(await r.call("FCALL", "take", 1, "js:fn", 2, 0, now, 1), [1, "0"]);
  assert.deepEqual(await r.call("FCALL", "take", 1, "js:fn", 2, 0, now, 1), [0, "0"]);
  await r.quit();
  console.log("ioredis scripting scenario passed");
}

main().catch((err) => {
  console.error("ioredis scripting scenario FAILED:", err);
  process.exit(1);
});
