"""Upstream resilience, end to end: the circuit breaker, retries, the in-flight cap.

Everything is counted at the simulator (its request counter), never inferred
from the gateway's own claims. The population simulator stands in for any
national system; the statuses asserted are those of docs/api.md.
"""
import concurrent.futures
import time
import unittest

import harness as h

SEED = 11
LOOKUP = "/v1/citizens/lookup"


def identity():
    row = next(r for r in h.sim_sample(20, SEED) if len(r["birth_date"]) == 10)
    return {"id": row["id"], "full_name": row["full_name"], "birth_date": row["birth_date"]}


def lookup(gw, body, timeout=30):
    return h.https_request(gw.port, "POST", LOOKUP, body=body, headers=h.officer_headers(), timeout=timeout)


class FixedPortSim(h.Sim):
    """A simulator restarted on the port its predecessor had, as a national system coming back would be."""

    def __init__(self, port, control_port, **kw):
        self._fixed = (port, control_port)
        super().__init__(**kw)

    def start(self, timeout=15):
        real_free_port = h.free_port
        ports = list(self._fixed)
        h.free_port = lambda: ports.pop(0)
        try:
            return super().start(timeout)
        finally:
            h.free_port = real_free_port


class BreakerTest(unittest.TestCase):
    COOLDOWN_MS = 2000

    def setUp(self):
        self.sim = h.Sim("population", seed=SEED)
        self.gw = h.Gateway(self.sim, overrides={"upstreams": {"population": {
            "connect_timeout_ms": 500, "timeout_ms": 2000,
            "retry": {"max_attempts": 1},
            "breaker": {"consecutive_failures": 3, "failure_ratio_percent": 0, "cooldown_ms": self.COOLDOWN_MS}}}})
        self.body = identity()

    def tearDown(self):
        self.gw.kill()
        self.sim.kill()

    def test_killed_upstream_opens_the_breaker_and_a_probe_closes_it(self):
        self.assertEqual(lookup(self.gw, self.body).status, 200, self.gw.diag())
        port, control_port = self.sim.port, self.sim.control_port
        self.sim.kill()

        # Three connect failures in a row open the breaker.
        for i in range(3):
            r = lookup(self.gw, self.body)
            self.assertEqual(r.status, 503, "attempt %d: %s" % (i, r))
            self.assertEqual(r.json["type"], "urn:lienthong:problem:connect", r)

        # The system comes back on the same address; the open breaker keeps the gateway away from it.
        self.sim = FixedPortSim(port, control_port, system="population", seed=SEED)
        opened = time.monotonic()
        for _ in range(5):
            r = lookup(self.gw, self.body)
            self.assertEqual(r.status, 503, r)
            self.assertEqual(r.json["type"], "urn:lienthong:problem:circuit_open", r)
            self.assertGreaterEqual(int(r.headers["retry-after"]), 1, r)
        self.assertEqual(self.sim.requests(), 0, "requests reached the upstream while the breaker was open")

        # After the cool-down one probe goes through, succeeds and closes the breaker.
        time.sleep(max(0, self.COOLDOWN_MS / 1000 + 0.2 - (time.monotonic() - opened)))
        r = lookup(self.gw, self.body)
        self.assertEqual(r.status, 200, "the half-open probe should succeed: %s\n%s" % (r, self.gw.diag()))
        self.assertEqual(self.sim.requests(), 1)
        for _ in range(3):
            self.assertEqual(lookup(self.gw, self.body).status, 200)
        self.assertEqual(self.sim.requests(), 4, "a closed breaker sends every request")

    def test_a_failed_probe_reopens_the_breaker(self):
        self.sim.set_fault("html503")
        for _ in range(3):
            self.assertEqual(lookup(self.gw, self.body).status, 503)
        self.assertEqual(self.sim.requests(), 3)
        time.sleep(self.COOLDOWN_MS / 1000 + 0.2)
        r = lookup(self.gw, self.body)  # the probe, which still meets the fault
        self.assertEqual(r.json["type"], "urn:lienthong:problem:upstream_http_503", r)
        self.assertEqual(self.sim.requests(), 4, "exactly one probe")
        r = lookup(self.gw, self.body)
        self.assertEqual(r.json["type"], "urn:lienthong:problem:circuit_open", r)
        self.assertEqual(self.sim.requests(), 4, "reopened: no request after the failed probe")

    def test_business_answers_do_not_open_the_breaker(self):
        unknown = dict(self.body, full_name=self.body["full_name"] + " Thị")
        for _ in range(6):
            self.assertEqual(lookup(self.gw, unknown).status, 404)
        self.assertEqual(lookup(self.gw, self.body).status, 200, "404s are answers, not failures")
        self.assertEqual(self.sim.requests(), 7)


class RetryTest(unittest.TestCase):
    """Retries happen for idempotent lookups on retryable failures only, counted at the simulator."""

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

    def attempts_for(self, fault, remaining=-1):
        self.sim.reset()
        self.sim.set_fault(fault, remaining=remaining)
        r = lookup(self.gw, self.body)
        return r, self.sim.requests()

    def test_retryable_failures_are_retried_up_to_max_attempts(self):
        for fault, status in (("reset", 502), ("html503", 503), ("html504", 504), ("DC-503", 503)):
            with self.subTest(fault=fault):
                r, n = self.attempts_for(fault)
                self.assertEqual(r.status, status, r)
                if fault == "reset":
                    # libcurl itself reconnects once when a reused keep-alive connection dies before any
                    # answer, so the simulator may see one request more than the gateway's 3 attempts.
                    self.assertIn(n, (3, 4), "reset should be tried 3 times (plus curl's one reconnect)")
                else:
                    self.assertEqual(n, 3, "%s should be tried 3 times" % fault)

    def test_non_retryable_failures_are_not_retried(self):
        for fault, status in (("DC-404", 404), ("DC-400", 400), ("DC-500", 502), ("html502", 502),
                              ("wrong_id", 502), ("DC-403", 502)):
            with self.subTest(fault=fault):
                r, n = self.attempts_for(fault)
                self.assertEqual(r.status, status, r)
                self.assertEqual(n, 1, "%s must not be retried" % fault)

    def test_quota_exhaustion_is_not_retried_before_the_minute(self):
        r, n = self.attempts_for("DC-429")
        self.assertEqual(r.status, 503)
        self.assertEqual(r.headers.get("retry-after"), "60")
        self.assertEqual(n, 1, "DC-429 says the quota is gone until the minute ends")

    def test_a_transient_failure_is_recovered_by_a_retry(self):
        r, n = self.attempts_for("reset", remaining=2)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(n, 3)

    def test_the_deadline_bounds_retries(self):
        # Each attempt times out at 1 s; with a 1.5 s deadline only a second, shortened attempt fits.
        gw = h.Gateway(self.sim, overrides={"upstreams": {"population": {
            "timeout_ms": 1000, "deadline_ms": 1500,
            "retry": {"max_attempts": 5, "base_delay_ms": 10, "max_delay_ms": 20},
            "breaker": {"consecutive_failures": 0, "failure_ratio_percent": 0}}}})
        try:
            self.sim.reset()
            self.sim.set_fault("hang")
            r = lookup(gw, self.body)
            self.assertEqual(r.status, 504, r)
            # Five attempts are allowed and each one hangs: without the deadline the simulator would see five.
            self.assertLessEqual(self.sim.requests(), 2, "the deadline must stop further attempts")
        finally:
            gw.kill()


class InflightCapTest(unittest.TestCase):
    def test_excess_calls_get_503_at_once_instead_of_queueing(self):
        sim = h.Sim("population", seed=SEED, latency_ms=1500)
        gw = h.Gateway(sim, overrides={"upstreams": {"population": {"max_inflight": 4}}})
        try:
            body = identity()
            with concurrent.futures.ThreadPoolExecutor(10) as pool:
                results = list(pool.map(lambda _: lookup(gw, body), range(10)))
            ok = [r for r in results if r.status == 200]
            busy = [r for r in results if r.status == 503]
            self.assertEqual(len(ok) + len(busy), 10, [r.status for r in results])
            self.assertEqual(len(ok), 4, "exactly max_inflight calls go through")
            for r in busy:
                self.assertEqual(r.json["type"], "urn:lienthong:problem:too_many_inflight", r)
                self.assertEqual(r.headers.get("retry-after"), "1")
            self.assertEqual(sim.requests(), 4)
        finally:
            gw.kill()
            sim.kill()


if __name__ == "__main__":
    unittest.main()


class IsolationTest(unittest.TestCase):
    """One sick national system must never slow the others: each call is its own non-blocking exchange."""

    def test_a_healthy_system_is_served_while_another_hangs(self):
        pop = h.Sim("population", seed=SEED)
        tax = h.Sim("tax", seed=SEED)
        gw = h.Gateway(pop, overrides={"upstreams": {
            "population": {"timeout_ms": 120000, "retry": {"max_attempts": 1}, "max_inflight": 64},
            "tax": {"base_url": tax.base_url, "cert": h.pki_path("gateway-national.crt"),
                    "key": h.pki_path("gateway-national.key"), "ca": h.pki_path("national-ca.crt"),
                    "service": {"unit_code": "000.00.00.H53", "api_key_file": h.pki_path("tax-api.key")}}}})
        try:
            code = h.sim_sample(1, SEED, system="tax")[0]["tax_code"]
            headers = dict(h.officer_headers(), **{"Cache-Control": "no-cache"})

            def tax_lookup():
                r = h.https_request(gw.port, "GET", "/v1/taxpayers/" + code, headers=headers, timeout=60)
                self.assertEqual(r.status, 200, r)

            for _ in range(10):
                tax_lookup()

            # 40 population lookups hang at the simulator (a 120 s gateway timeout), occupying connections and
            # workers. Ten tax lookups are then answered while every one of them still hangs: had a population call
            # blocked a loop or held a connection tax needed, tax would answer only after population gave up.
            pop.set_fault("hang")
            body = identity()
            with concurrent.futures.ThreadPoolExecutor(40) as pool:
                hung = [pool.submit(lookup, gw, body, 300) for _ in range(40)]
                # (identical lookups may share one call: at least one is at the simulator, hanging)
                h.wait_for(lambda: pop.requests() >= 1, timeout=60, what="the population calls at the simulator")
                self.assertTrue(all(not f.done() for f in hung), "the population calls should still be hanging")
                for _ in range(10):
                    tax_lookup()
                self.assertTrue(all(not f.done() for f in hung), "tax answered only because population gave up")
                pop.kill()  # the hanging calls end now (connection reset) instead of at the 120 s timeout
            self.assertEqual(tax.requests(), 20)
        finally:
            gw.kill()
            pop.kill()
            tax.kill()
