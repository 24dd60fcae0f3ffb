-- Token bucket rate limiter, shared by the redis-py and ioredis scripting scenarios.
-- KEYS[1] bucket hash; ARGV: capacity, refill tokens per ms, now (ms), tokens requested.
-- The caller passes the clock so the script stays deterministic (Redis 7 allows TIME too).
local capacity = tonumber(ARGV[1])
local refill_per_ms = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local requested = tonumber(ARGV[4])
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(bucket[1]) or capacity
local last = tonumber(bucket[2]) or now
tokens = math.min(capacity, tokens + (now - last) * refill_per_ms)
local allowed = 0
if tokens >= requested then
  tokens = tokens - requested
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], 60000)
return {allowed, tostring(tokens)}
