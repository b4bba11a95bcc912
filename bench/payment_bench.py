#!/usr/bin/env python3
"""payment_bench.py: IPN throughput of the gateway, journal store against Redis store, side by side.

A benchmark, not a test: it asserts only that every answer was the RspCode it expected. For each backend it
starts one gateway with one worker pinned to one core (the webhook off, so only the IPN path is measured),
creates the payments through the api, then sends their IPNs from this process pinned to the other core, over
keep-alive TLS connections, CONCURRENCY at a time:

  first   each payment's first IPN: verify, settle atomically, store durably (fdatasync, or Redis with
          appendfsync always), answer 00
  repeat  the same IPNs again: verify, find the payment final, answer 02 (a read that still waits for durability)

Reported per backend and phase: IPNs per second, the gateway's CPU time per IPN (user + system, from /proc),
and the client's latency percentiles. The client is Python, so req/s is bounded by it; CPU per IPN is the
figure to compare.

Usage: bench/payment_bench.py [BUILD_DIR] [PAYMENTS] [CONCURRENCY]   (defaults: build, 2000, 8)
"""

import http.client
import os
import ssl
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build"))
PAYMENTS = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
CONCURRENCY = int(sys.argv[3]) if len(sys.argv) > 3 else 8
os.environ.setdefault("LT_BUILD_DIR", BUILD)
os.environ.setdefault("LT_SOURCE_DIR", ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import harness  # noqa: E402
from harness import RedisServer  # noqa: E402
import payenv  # noqa: E402

SERVER_CPU, CLIENT_CPU = 0, (1 if os.cpu_count() and os.cpu_count() > 1 else 0)


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def send_all(gw, queries, expect):
    """Sends every query on CONCURRENCY keep-alive connections; returns (seconds, latencies)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(harness.pki_path("province-ca.crt"))
    chunks = [queries[i::CONCURRENCY] for i in range(CONCURRENCY)]
    latencies, errors, lock = [], [], threading.Lock()

    def worker(chunk):
        conn = http.client.HTTPSConnection(harness.HOST, gw.cb_port, context=ctx, timeout=30)
        mine = []
        for q in chunk:
            t0 = time.perf_counter()
            conn.request("GET", "/payments/vnpay/ipn?" + q)
            r = conn.getresponse()
            body = r.read()
            mine.append(time.perf_counter() - t0)
            if b'"RspCode":"%s"' % expect.encode() not in body:
                errors.append(body[:200])
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(c,)) for c in chunks]
    start = time.perf_counter()
    [t.start() for t in threads]
    [t.join() for t in threads]
    elapsed = time.perf_counter() - start
    if errors:
        raise SystemExit("payment_bench: %d answers were not %s, e.g. %r" % (len(errors), expect, errors[0]))
    return elapsed, sorted(latencies)


def run_backend(name, store):
    gw = payenv.PayGateway(None, None, store, extra={"reconcile": {"interval_s": 86400}}, start=False)
    gw.overrides["workers"] = 1
    gw.start()
    os.sched_setaffinity(gw.proc.pid, {SERVER_CPU})
    ids = []
    for i in range(PAYMENTS):
        r = gw.create(dossier_id="HS-BENCH-%05d" % i, amount_vnd=150000)
        if r.status != 201:
            raise SystemExit("payment_bench: create answered %s %r" % (r.status, r.body[:200]))
        ids.append(r.json["payment_id"])
    queries = [payenv.ipn_query(pid, 15000000) for pid in ids]
    results = {}
    for phase, expect in (("first", "00"), ("repeat", "02")):
        cpu0 = cpu_seconds(gw.proc.pid)
        elapsed, lat = send_all(gw, queries, expect)
        cpu = cpu_seconds(gw.proc.pid) - cpu0
        results[phase] = {
            "rps": len(queries) / elapsed,
            "cpu_us": cpu / len(queries) * 1e6,
            "p50_ms": lat[len(lat) // 2] * 1e3,
            "p99_ms": lat[int(len(lat) * 0.99)] * 1e3,
        }
    gw.stop()
    return results


def main():
    os.sched_setaffinity(0, {CLIENT_CPU})
    redis = RedisServer(extra_args=("--appendonly", "yes", "--appendfsync", "always"))
    os.sched_setaffinity(redis.proc.pid, {CLIENT_CPU})
    try:
        table = {
            "journal": run_backend("journal", payenv.journal_store()),
            "redis": run_backend("redis", payenv.redis_store(redis)),
        }
    finally:
        redis.kill()
    print("payment_bench: %d payments, %d connections, gateway pinned to CPU %d, client and Redis to CPU %d"
          % (PAYMENTS, CONCURRENCY, SERVER_CPU, CLIENT_CPU))
    print("%-8s %-7s %10s %14s %9s %9s" % ("phase", "store", "IPN/s", "gw CPU us/IPN", "p50 ms", "p99 ms"))
    for phase in ("first", "repeat"):
        for store in ("journal", "redis"):
            r = table[store][phase]
            print("%-8s %-7s %10.0f %14.0f %9.2f %9.2f" % (phase, store, r["rps"], r["cpu_us"], r["p50_ms"],
                                                            r["p99_ms"]))


if __name__ == "__main__":
    main()
