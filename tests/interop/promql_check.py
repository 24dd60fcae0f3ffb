#!/usr/bin/env python3
"""Checks every PromQL expression of the Grafana dashboard against a real Prometheus.

Starts redyn (with its /metrics endpoint) and Prometheus (scraping it every second) on free
loopback ports, runs a small workload, then asks Prometheus to evaluate each panel
expression of grafana/dashboards/redyn.json: each must be valid and return data.

Usage: promql_check.py [path/to/redyn]   (default: target/release/redyn)
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import redis

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, check, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.25)
    raise SystemExit(f"timed out waiting for {what}")


def prom_query(port, expr):
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as e:
        return json.load(e)


def dynamodb_call(port, operation, body):
    """One DynamoDB API request; the status does not matter (errors feed a panel too)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/", data=json.dumps(body).encode(), method="POST",
        headers={"X-Amz-Target": f"DynamoDB_20120810.{operation}",
                 "Content-Type": "application/x-amz-json-1.0"})
    try:
        urllib.request.urlopen(request, timeout=10).read()
    except urllib.error.HTTPError:
        pass


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "release", "redyn")
    dashboard = json.load(open(os.path.join(ROOT, "grafana", "dashboards", "redyn.json")))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    port, metrics_port, prom_port = free_port(), free_port(), free_port()
    dynamodb_port = free_port()
    procs = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            procs.append(subprocess.Popen(
                [binary, "--port", str(port), "--dir", os.path.join(tmp, "data"),
                 "--metrics-addr", f"127.0.0.1:{metrics_port}",
                 "--dynamodb-port", str(dynamodb_port)],
                stdout=subprocess.DEVNULL))
            config = os.path.join(tmp, "prometheus.yml")
            with open(config, "w") as f:
                f.write("global:\n  scrape_interval: 1s\nscrape_configs:\n"
                        "  - job_name: redyn\n    static_configs:\n"
                        f"      - targets: ['127.0.0.1:{metrics_port}']\n")
            procs.append(subprocess.Popen(
                ["prometheus", f"--config.file={config}",
                 f"--storage.tsdb.path={os.path.join(tmp, 'prom')}",
                 f"--web.listen-address=127.0.0.1:{prom_port}"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            r = redis.Redis(port=port)
            wait_for("redyn", r.ping)
            # A workload spread over several scrapes, so rate() has samples to work with.
            r.set("text", "not a number")
            r.execute_command("DDB.CREATETABLE", json.dumps({
                "TableName": "Metrics", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]}))
            r.execute_command("DDB.PUTITEM", json.dumps({"TableName": "Metrics", "Item": {"pk": {"S": "a"}}}))
            # Keyspace events feed the change log, which a reader then follows.
            r.config_set("notify-keyspace-events", "KEA")
            # A consumer group on that log feeds the group lag and pending panels.
            r.xgroup_create("__stream__:__keyspace@0__", "dashboard", id="0")
            for round_ in range(8):
                for i in range(200):
                    r.set(f"k{i}", i)
                    r.get(f"k{i}")
                try:
                    r.incr("text")
                except redis.ResponseError:
                    pass
                r.set(f"tmp{round_}", 1, px=100)
                r.xread({"__stream__:__keyspace@0__": "0"}, count=100)
                r.xreadgroup("dashboard", "w1", {"__stream__:__keyspace@0__": ">"}, count=50)
                # The DynamoDB API panels: a success and an error per round.
                dynamodb_call(dynamodb_port, "GetItem", {"TableName": "Metrics", "Key": {"pk": {"S": "a"}}})
                dynamodb_call(dynamodb_port, "GetItem", {"TableName": "Missing", "Key": {"pk": {"S": "a"}}})
                time.sleep(0.5)
            wait_for("three scrapes", lambda: float(prom_query(
                prom_port, "count_over_time(redyn_shard_count[5m])")["data"]["result"][0]["value"][1]) >= 3)
            failures = []
            for expr in exprs:
                answer = prom_query(prom_port, expr)
                if answer.get("status") != "success":
                    failures.append(f"{expr}: {answer.get('error')}")
                elif not answer["data"]["result"]:
                    failures.append(f"{expr}: no data")
                else:
                    print(f"ok   {expr}")
            for f in failures:
                print(f"FAIL {f}")
            print(f"{len(exprs) - len(failures)} passed, {len(failures)} failed")
            return 1 if failures else 0
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()


if __name__ == "__main__":
    sys.exit(main())
