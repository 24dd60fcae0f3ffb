#!/usr/bin/env python3
"""Scripting through redis-py: its Lock (acquire, extend, release, a non-owner's release
refused) and a token-bucket rate limiter via register_script (EVALSHA with EVAL fallback).
Usage: scenario_scripts_py.py <port>"""
import os
import sys

import redis
from redis.exceptions import LockError, LockNotOwnedError

port = int(sys.argv[1])
r = redis.Redis(port=port, decode_responses=True)
r.flushall()
r.script_flush()

# redis-py's Lock runs Lua scripts for release, extend and reacquire.
lock = r.lock("py:lock", timeout=10)
assert lock.acquire(blocking=False) is True
assert r.lock("py:lock", timeout=10).acquire(blocking=False) is False  # held
assert lock.extend(20) is True
assert 20 < r.pttl("py:lock") / 1000 <= 30
assert lock.reacquire() is True
assert 9 < r.pttl("py:lock") / 1000 <= 10
intruder = r.lock("py:lock", timeout=10)
intruder.local.token = b"not-the-owner"
try:
    intruder.release()
    raise AssertionError("a non-owner released the lock")
except LockNotOwnedError:
    pass
assert r.exists("py:lock") == 1
lock.release()
assert r.exists("py:lock") == 0
try:
    lock.release()
    raise AssertionError("released an unlocked lock")
except LockError:
    pass

# Token bucket: 5 tokens, one every 1000 ms.
with open(os.path.join(os.path.dirname(__file__), "token_bucket.lua")) as f:
    bucket = r.register_script(f.read())
now = 1_000_000
verdicts = [bucket(keys=["py:bucket"], args=[5, 0.001, now, 1])[0] for _ in range(7)]
assert verdicts == [1, 1, 1, 1, 1, 0, 0], verdicts
assert bucket(keys=["py:bucket"], args=[5, 0.001, now + 1000, 1]) == [1, "0"]
assert bucket(keys=["py:bucket"], args=[5, 0.001, now + 1000, 1]) == [0, "0"]
r.script_flush()  # EVALSHA now fails with NOSCRIPT; redis-py falls back to EVAL
assert bucket(keys=["py:bucket"], args=[5, 0.001, now + 4000, 2]) == [1, "1"]
assert 0 < r.pttl("py:bucket") <= 60000
print("redis-py scripting scenario passed")
