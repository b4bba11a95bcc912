"""GET /metrics on the admin listener: promtool accepts a live scrape, and scripted traffic moves the counters by
exactly the scripted amounts. Upstream requests are also counted at the simulator."""
import re
import os
import shutil
import subprocess
import time
import unittest

import harness as h

SEED = 11
LOOKUP = "/v1/citizens/lookup"
LOOKUP_ROUTE = "POST " + LOOKUP  # one label scheme in logs and metrics: METHOD /template
# `make test` unpacks Debian's promtool into the build tree (LT_PROMTOOL); one on PATH also does.
PROMTOOL = os.environ.get("LT_PROMTOOL") if os.access(os.environ.get("LT_PROMTOOL", ""), os.X_OK) \
    else shutil.which("promtool")


def identity():
    row = next(r for r in h.sim_sample(20, SEED) if len(r["birth_date"]) == 10)
    return {"id": row["id"], "full_name": row["full_name"], "birth_date": row["birth_date"]}


def lookup(gw, body):
    return h.https_request(gw.port, "POST", LOOKUP, body=body, headers=h.officer_headers())


parse = h.parse_metrics


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def promtool_check(text):
    return subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(), capture_output=True, timeout=30)


class MetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = h.Sim("population", seed=SEED)
        cls.gw = h.Gateway(cls.sim, overrides={"upstreams": {"population": {
            "timeout_ms": 1000,
            "retry": {"max_attempts": 3, "base_delay_ms": 20, "max_delay_ms": 100},
            "breaker": {"consecutive_failures": 0, "failure_ratio_percent": 0}}}})
        cls.body = identity()

    @classmethod
    def tearDownClass(cls):
        cls.gw.kill()
        cls.sim.kill()

    def setUp(self):
        self.sim.reset()

    def scrape(self):
        r = self.gw.admin("GET", "/metrics")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8")
        return r.body.decode("utf-8")

    @unittest.skipIf(PROMTOOL is None and not os.environ.get("CI"), "promtool not found (make test provides it)")
    def test_promtool_accepts_a_live_scrape(self):
        self.assertEqual(lookup(self.gw, self.body).status, 200)
        text = self.scrape()
        p = promtool_check(text)
        self.assertEqual(p.returncode, 0, "promtool rejected the scrape:\n%s%s" % (p.stdout.decode(), p.stderr.decode()))
        for family in ("lienthong_build_info", "lienthong_http_requests_total", "lienthong_http_request_duration_seconds",
                       "lienthong_upstream_outcomes_total", "lienthong_upstream_duration_seconds",
                       "lienthong_upstream_circuit_state", "lienthong_upstream_inflight",
                       "lienthong_upstream_refused_total", "lienthong_cache_requests_total",
                       "lienthong_cache_backend_up", "lienthong_open_connections",
                       "lienthong_tls_handshake_failures_total", "lienthong_certificate_expiry_seconds",
                       "lienthong_probe_attempts_total", "lienthong_probe_outcomes_total",
                       "lienthong_probe_duration_seconds", "lienthong_upstream_health"):
            self.assertIn("# TYPE %s " % family, text)
        # The process families read /proc of the gateway itself: its pid's start, memory and descriptors.
        samples = parse(text)
        with open("/proc/%d/status" % self.gw.proc.pid) as f:
            rss_kb = int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1))
        self.assertLess(abs(value(samples, "process_resident_memory_bytes") - rss_kb * 1024), 64 << 20)
        # Descriptors come and go with connections (the scrape's own, a probe's): the same count within a few.
        fds = len(os.listdir("/proc/%d/fd" % self.gw.proc.pid))
        self.assertGreater(value(samples, "process_open_fds"), 5)
        self.assertLessEqual(abs(value(samples, "process_open_fds") - fds), 8)
        with open("/proc/stat") as f:
            boot = int(re.search(r"btime (\d+)", f.read()).group(1))
        with open("/proc/%d/stat" % self.gw.proc.pid) as f:
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        self.assertAlmostEqual(value(samples, "process_start_time_seconds"), boot + ticks / os.sysconf("SC_CLK_TCK"),
                               delta=0.01)
        self.assertEqual(value(samples, "lienthong_drained"), 0)
        self.assertEqual(value(samples, "lienthong_last_reload_timestamp_seconds"), 0)
        # Certificate expiry as a timestamp too: the same certificates, and the seconds-left gauge agrees with it.
        expiry = {k: v for k, v in samples.items() if k[0] == "lienthong_certificate_expiry_timestamp_seconds"}
        left = {k: v for k, v in samples.items() if k[0] == "lienthong_certificate_expiry_seconds"}
        self.assertEqual({k[1] for k in expiry}, {k[1] for k in left})
        for (name, labels), at in expiry.items():
            self.assertAlmostEqual(at - left[("lienthong_certificate_expiry_seconds", labels)], time.time(), delta=30)
        # The check can fail: promtool refuses a broken exposition (a counter without _total, a bad sample line).
        broken = text + "# TYPE lienthong_broken counter\nlienthong_broken{x=\"1} 1\n"
        self.assertNotEqual(promtool_check(broken).returncode, 0, "promtool accepted a broken exposition")

    def test_scripted_traffic_moves_counters_by_exactly_the_scripted_amounts(self):
        N_OK, N_INVALID, N_FAULT, N_RETRIED = 3, 2, 2, 1
        before = parse(self.scrape())

        for _ in range(N_OK):
            self.assertEqual(lookup(self.gw, self.body).status, 200)
        bad = dict(self.body)
        del bad["full_name"]
        for _ in range(N_INVALID):
            self.assertEqual(lookup(self.gw, bad).status, 400)  # refused before any upstream call
        self.sim.set_fault("DC-500")  # a SOAP fault: 502, never retried
        for _ in range(N_FAULT):
            self.assertEqual(lookup(self.gw, self.body).status, 502)
        self.sim.set_fault("html503")  # a bare 503: retried, 3 attempts each
        for _ in range(N_RETRIED):
            self.assertEqual(lookup(self.gw, self.body).status, 503)
        self.sim.clear_faults()
        upstream_requests = self.sim.requests()

        # A request is counted once its answer has left (the access line and the counters come together, after the
        # write): the last answers can be read here a moment before they are counted.
        total = N_OK + N_INVALID + N_FAULT + N_RETRIED
        count = "lienthong_http_request_duration_seconds_count"

        def counted():
            scraped = parse(self.scrape())
            done = value(scraped, count, route=LOOKUP_ROUTE) - value(before, count, route=LOOKUP_ROUTE) >= total
            return scraped if done else None
        after = h.wait_for(counted, what="every scripted request counted")

        def delta(name, **labels):
            return value(after, name, **labels) - value(before, name, **labels)

        req = "lienthong_http_requests_total"
        self.assertEqual(delta(req, route=LOOKUP_ROUTE, status="200", client="portal"), N_OK)
        self.assertEqual(delta(req, route=LOOKUP_ROUTE, status="400", client="portal"), N_INVALID)
        self.assertEqual(delta(req, route=LOOKUP_ROUTE, status="502", client="portal"), N_FAULT)
        self.assertEqual(delta(req, route=LOOKUP_ROUTE, status="503", client="portal"), N_RETRIED)
        self.assertEqual(delta(count, route=LOOKUP_ROUTE), total)

        up = {"upstream": "population"}
        attempts = N_OK + N_FAULT + 3 * N_RETRIED
        self.assertEqual(upstream_requests, attempts, "the simulator saw a different number of requests")
        self.assertEqual(delta("lienthong_upstream_calls_total", **up), N_OK + N_FAULT + N_RETRIED)
        self.assertEqual(delta("lienthong_upstream_attempts_total", **up), attempts)
        self.assertEqual(delta("lienthong_upstream_retries_total", **up), 2 * N_RETRIED)
        expected = {"ok": N_OK, "fault": N_FAULT, "http_5xx": 3 * N_RETRIED, "timeout": 0, "connect": 0, "tls": 0,
                    "http_4xx": 0, "bad_response": 0}
        for outcome, n in expected.items():
            self.assertEqual(delta("lienthong_upstream_outcomes_total", outcome=outcome, **up), n, outcome)
        self.assertEqual(delta("lienthong_upstream_duration_seconds_count", **up), attempts)
        for reason in ("circuit_open", "too_many_inflight"):
            self.assertEqual(delta("lienthong_upstream_refused_total", reason=reason, **up), 0, reason)
        self.assertEqual(value(after, "lienthong_upstream_inflight", **up), 0)
        self.assertEqual(value(after, "lienthong_upstream_circuit_state", state="closed", **up), 1)
        self.assertEqual(value(after, "lienthong_upstream_circuit_state", state="open", **up), 0)
        self.assertEqual(value(after, "lienthong_build_info", version=re.search(
            r'lienthong_build_info\{version="([^"]+)"', self.scrape()).group(1)), 1)

    def test_business_not_found_counts_as_http_4xx(self):
        before = parse(self.scrape())
        self.sim.set_fault("DC-404")
        try:
            self.assertEqual(lookup(self.gw, self.body).status, 404)
        finally:
            self.sim.clear_faults()
        after = parse(self.scrape())
        d = (value(after, "lienthong_upstream_outcomes_total", upstream="population", outcome="http_4xx")
             - value(before, "lienthong_upstream_outcomes_total", upstream="population", outcome="http_4xx"))
        self.assertEqual(d, 1)


class RefusedMetricsTest(unittest.TestCase):
    def test_open_breaker_refusals_are_counted(self):
        sim = h.Sim("population", seed=SEED)
        gw = h.Gateway(sim, overrides={"upstreams": {"population": {
            "connect_timeout_ms": 500, "timeout_ms": 2000, "retry": {"max_attempts": 1},
            "breaker": {"consecutive_failures": 2, "failure_ratio_percent": 0, "cooldown_ms": 60000}}}})
        try:
            body = identity()
            sim.set_fault("html503")
            for _ in range(2):
                self.assertEqual(lookup(gw, body).status, 503)
            for _ in range(3):
                r = lookup(gw, body)
                self.assertEqual(r.json["type"], "urn:lienthong:problem:circuit_open", r)
            s = parse(gw.admin("GET", "/metrics").body.decode())
            up = {"upstream": "population"}
            self.assertEqual(value(s, "lienthong_upstream_refused_total", reason="circuit_open", **up), 3)
            self.assertEqual(value(s, "lienthong_upstream_outcomes_total", outcome="http_5xx", **up), 2)
            self.assertEqual(value(s, "lienthong_upstream_attempts_total", **up), 2)
            self.assertEqual(value(s, "lienthong_upstream_calls_total", **up), 5)
            self.assertEqual(value(s, "lienthong_upstream_circuit_state", state="open", **up), 1)
            self.assertEqual(value(s, "lienthong_upstream_circuit_state", state="closed", **up), 0)
        finally:
            gw.kill()
            sim.kill()


class ListenerMetricsTest(unittest.TestCase):
    """Open connections on the api listener, and failed handshakes by reason: each refusal is made once, by a client
    the gateway must refuse, and counted once under its own reason."""

    @classmethod
    def setUpClass(cls):
        cls.gw = h.Gateway(overrides={"upstreams": {"population": {"probe": {"enabled": False}}}})

    @classmethod
    def tearDownClass(cls):
        cls.gw.kill()

    def samples(self):
        return parse(self.gw.admin("GET", "/metrics").body.decode())

    def failures(self, s, reason):
        return value(s, "lienthong_tls_handshake_failures_total", listener="api", reason=reason)

    def test_open_connections_follow_clients(self):
        h.wait_for(lambda: value(self.samples(), "lienthong_open_connections", listener="api") == 0,
                   what="no connection left from start-up")
        clients = [h.KeepAliveClient(self.gw.port).connect() for _ in range(3)]
        try:
            for c in clients:
                self.assertEqual(c.request("GET", "/nowhere").status, 404)
            self.assertEqual(value(self.samples(), "lienthong_open_connections", listener="api"), 3)
        finally:
            for c in clients:
                c.close()
        h.wait_for(lambda: value(self.samples(), "lienthong_open_connections", listener="api") == 0,
                   what="the connections closed")

    def test_handshake_failures_are_counted_by_reason(self):
        import ssl
        reasons = ("no_certificate", "unknown_ca", "protocol_version", "bad_certificate", "other")
        before = self.samples()
        # No client certificate (TLS 1.3: certificate_required; TLS 1.2: handshake_failure, read off the error).
        for version in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2):
            p = h.tls_probe(self.gw.port, cert=None, max_version=version)
            self.assertEqual(p["received"], b"", p)
        # A well-formed certificate from another CA.
        p = h.tls_probe(self.gw.port, cert="outsider-client")
        self.assertEqual(p["received"], b"", p)
        # TLS 1.1 from a client that really offers it.
        rc, out = h.s_client(self.gw.port, ["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"])
        self.assertNotEqual(rc, 0, out)
        after = h.wait_for(lambda: (lambda s: s if self.failures(s, "protocol_version") > self.failures(
            before, "protocol_version") else None)(self.samples()), what="the protocol_version failure")
        expected = {"no_certificate": 2, "unknown_ca": 1, "protocol_version": 1, "bad_certificate": 0, "other": 0}
        for reason in reasons:
            self.assertEqual(self.failures(after, reason) - self.failures(before, reason), expected[reason], reason)
        # A good client is not a failure.
        self.assertEqual(h.tls_probe(self.gw.port, cert="portal")["received"][:5], b"HTTP/")
        again = self.samples()
        self.assertEqual(sum(self.failures(again, r) for r in reasons), sum(self.failures(after, r) for r in reasons))


if __name__ == "__main__":
    unittest.main()
