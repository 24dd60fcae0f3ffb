#!/usr/bin/env python3
"""Interop scenario through redis-py: SET/GET, EXPIRE/TTL, HSET/HGETALL, SCAN, pipelines
(plain and MULTI/EXEC), HELLO 3 / RESP3. Usage: scenario_py.py <port>"""
import sys

import redis

port = int(sys.argv[1])
r = redis.Redis(port=port, decode_responses=True)
r.flushall()
assert r.set("py:greeting", "hello") is True
assert r.get("py:greeting") == "hello"
assert r.expire("py:greeting", 100) is True
assert 90 < r.ttl("py:greeting") <= 100
assert r.hset("py:user", mapping={"name": "ada", "lang": "rust"}) == 2
assert r.hgetall("py:user") == {"name": "ada", "lang": "rust"}
for i in range(50):
    r.set(f"py:k{i}", i)
assert set(r.scan_iter(match="py:k*", count=7)) == {f"py:k{i}" for i in range(50)}
with r.pipeline(transaction=False) as p:
    for _ in range(100):
        p.incr("py:n")
    p.get("py:n")
    assert p.execute()[-1] == "100"
with r.pipeline(transaction=True) as p:  # MULTI/EXEC
    p.incr("py:n").hset("py:user", "lang", "zig")
    assert p.execute() == [101, 0]
r3 = redis.Redis(port=port, protocol=3, decode_responses=True)
hello = r3.execute_command("HELLO", "3")
assert hello["proto"] == 3, hello
assert r3.hgetall("py:user") == {"name": "ada", "lang": "zig"}
print("redis-py scenario passed")
