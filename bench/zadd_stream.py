#!/usr/bin/env python3
"""Writes RESP ZADD commands loading N members into one sorted set, for `redis-cli --pipe`.

Members are named like redis-benchmark's __rand_int__ substitution (member:%012d), so the
benchmark's random commands hit existing members. Usage: zadd_stream.py KEY N"""
import random
import sys

key, n = sys.argv[1].encode(), int(sys.argv[2])
out = sys.stdout.buffer
rng = random.Random(42)
BATCH = 1000
for start in range(0, n, BATCH):
    count = min(BATCH, n - start)
    parts = [b"*%d\r\n$4\r\nZADD\r\n$%d\r\n%s\r\n" % (2 + 2 * count, len(key), key)]
    for i in range(start, start + count):
        score = b"%d" % rng.randrange(1_000_000_000)
        member = b"member:%012d" % i
        parts.append(b"$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(score), score, len(member), member))
    out.write(b"".join(parts))
