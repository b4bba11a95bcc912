"""Rate limits: a token bucket per client and operation (clients.<id>.rate_limits). Real processes: the population
simulator, one or two gateways, and a real redis-server for the shared buckets. Every bucket here refills one token
an hour, so nothing depends on how fast the test runs: what a client gets is exactly its burst. The simulator's
request counter proves that a refused request never reached the national system."""
import json
import time
import unittest

import harness as h
from payenv import PayGateway, redis_store

HOUR_RATE = {"rate": 1, "per": "hour"}


def district_office(burst, **extra):
    """The district office may verify and look up; its verifications are limited to `burst` then 1 an hour."""
    entry = {"allow": ["population.verify", "population.lookup"],
             "rate_limits": {"population.verify": dict(HOUR_RATE, burst=burst)}}
    entry.update(extra)
    return {"clients": {"district-office": entry}}


def with_redis(overrides, redis):
    overrides = h.deep_merge(overrides, {"rate_limits": {"redis": {"address": redis.address}}})
    return overrides


def status(gw):
    r = gw.admin("GET", "/status.json")
    assert r.status == 200, r
    return r.json["rate_limits"]


def wait_for(what, predicate, timeout=20):
    """Polls until predicate() holds (a state to reach, not a duration to assert)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("never reached: " + what)


def wait_shared(gw):
    """Every worker's Redis connection is up, so every decision goes to Redis."""
    wait_for("the rate-limit Redis connections up",
             lambda: (lambda s: s["state"] == "shared" and s["redis"]["up"] == s["redis"]["connections"] > 0)(
                 status(gw)))


class Citizen:
    def __init__(self, sim):
        p = h.sim_sample(1, seed=sim.seed)[0]
        self.ident = {"id": p["id"], "full_name": p["full_name"], "birth_date": p["birth_date"]}


class OneInstanceTest(unittest.TestCase):
    """The buckets of one process, shared by its two workers."""

    @classmethod
    def setUpClass(cls):
        cls.sim = h.Sim("population")
        cls.gw = h.Gateway(cls.sim, overrides=district_office(3))
        cls.citizen = Citizen(cls.sim)

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()
        cls.sim.stop()

    def test_burst_then_429_with_retry_after_and_the_upstream_never_called(self):
        before = self.sim.requests()
        statuses = []
        refused = []
        for _ in range(6):
            r = self.gw.verify(self.citizen.ident, cert="district-office")
            statuses.append(r.status)
            if r.status == 429:
                refused.append(r)
        self.assertEqual(statuses, [200, 200, 200, 429, 429, 429], self.gw.diag(repr(statuses)))
        self.assertEqual(self.sim.requests(), before + 3, "a limited request must not reach the national system")
        for r in refused:
            self.assertTrue(r.header("Content-Type").startswith("application/problem+json"), r.header("Content-Type"))
            self.assertEqual(r.json["type"], "urn:lienthong:problem:rate_limited")
            self.assertEqual(r.json["status"], 429)
            self.assertIn("population.verify", r.json["detail"])
            retry = r.header("Retry-After")
            self.assertRegex(retry, r"^[0-9]+$", "whole seconds")
            # One token an hour: the next is due within the hour, and not before most of it has passed.
            self.assertGreater(int(retry), 3000)
            self.assertLessEqual(int(retry), 3600)
            self.assertTrue(r.header("X-Request-Id"))
        h.check_against_schema("/v1/citizens/verify", refused[0], "POST")

        # Another operation of the same client, and the same operation of another client: their own buckets.
        r = self.gw.lookup(self.citizen.ident, cert="district-office")
        self.assertEqual(r.status, 200, r.body)
        for _ in range(4):
            r = self.gw.verify(self.citizen.ident, cert="portal")
            self.assertEqual(r.status, 200, r.body)
        self.assertEqual(self.sim.requests(), before + 3 + 1 + 4)

        self.assertEqual(h.metric(self.gw, "lienthong_rate_limited_total",
                                  client="district-office", operation="population.verify"), 3)
        self.assertEqual(h.metric(self.gw, "lienthong_rate_limited_total",
                                  client="district-office", operation="population.lookup"), None,
                         "no limit covers it: no bucket, no label")
        st = status(self.gw)
        self.assertEqual((st["configured"], st["backend"], st["state"], st["color"]), (True, "local", "local", "green"))
        self.assertEqual(st["limited"], 3)
        self.assertEqual([(l["client"], l["operation"], l["burst"], l["per"]) for l in st["limits"]],
                         [("district-office", "population.verify", 3, "hour")])
        _rc, out, _err = h.run_ctl("status", admin_port=self.gw.admin_port)
        self.assertRegex(out, r"(?m)^rate limits\s+green\s+local buckets, local, 3 refused")
        page = self.gw.admin("GET", "/status").body.decode()
        self.assertIn('id="rate-limits"', page)
        self.assertIn("district-office · population.verify", page)


class PatternTest(unittest.TestCase):
    """"*" covers every operation, each in its own bucket; an exact name wins over it."""

    def test_star_and_exact(self):
        sim = h.Sim("population")
        gw = h.Gateway(sim, overrides={"clients": {"district-office": {
            "allow": ["population.verify", "population.lookup"],
            "rate_limits": {"*": dict(HOUR_RATE, burst=1), "population.verify": dict(HOUR_RATE, burst=2)}}}})
        try:
            ident = Citizen(sim).ident
            before = sim.requests()
            verify = [gw.verify(ident, cert="district-office").status for _ in range(3)]
            lookup = [gw.lookup(ident, cert="district-office").status for _ in range(2)]
            self.assertEqual(verify, [200, 200, 429], gw.diag())
            self.assertEqual(lookup, [200, 429])
            self.assertEqual(sim.requests(), before + 3)
        finally:
            gw.stop()
            sim.stop()


class SharedThroughRedisTest(unittest.TestCase):
    """Two gateways, one Redis: one bucket for both."""

    def test_two_instances_enforce_one_limit(self):
        redis = h.RedisServer()
        sim = h.Sim("population")
        a = h.Gateway(sim, overrides=with_redis(district_office(4), redis))
        b = h.Gateway(sim, overrides=with_redis(district_office(4), redis))
        try:
            wait_shared(a)
            wait_shared(b)
            ident = Citizen(sim).ident
            before = sim.requests()
            statuses = []
            for i in range(10):
                gw = a if i % 2 == 0 else b
                statuses.append(gw.verify(ident, cert="district-office").status)
            self.assertEqual(statuses.count(200), 4, statuses)
            self.assertEqual(statuses.count(429), 6, statuses)
            self.assertEqual(statuses[:4], [200] * 4, "the burst is served first, whichever instance takes it")
            self.assertEqual(sim.requests(), before + 4)
            # The bucket is one key in Redis, named after the client and the operation.
            self.assertEqual(redis.scan("lt:rl:*"), [b"lt:rl:district-office:population.verify"])
            for gw in (a, b):
                st = status(gw)
                self.assertEqual((st["backend"], st["state"], st["fallback"]), ("redis", "shared", False))
                self.assertEqual(st["fallback_decisions"], 0)
                self.assertEqual(h.metric(gw, "lienthong_rate_limit_fallback"), 0)
            limited = sum(h.metric(gw, "lienthong_rate_limited_total",
                                   client="district-office", operation="population.verify") for gw in (a, b))
            self.assertEqual(limited, 6)
        finally:
            a.stop()
            b.stop()
            sim.stop()
            redis.kill()


class RedisOutageTest(unittest.TestCase):
    """Redis goes away: the process's own bucket limits; Redis comes back: shared again."""

    def test_fallback_to_local_buckets_and_back(self):
        redis = h.RedisServer()
        sim = h.Sim("population")
        gw = h.Gateway(sim, overrides=with_redis(district_office(3), redis))
        try:
            wait_shared(gw)
            ident = Citizen(sim).ident
            # One request through Redis, so its bucket there holds 2.
            self.assertEqual(gw.verify(ident, cert="district-office").status, 200)
            redis.kill()
            before = sim.requests()
            statuses = [gw.verify(ident, cert="district-office").status for _ in range(5)]
            # This process's bucket was never used: full (3), whatever Redis held.
            self.assertEqual(statuses, [200, 200, 200, 429, 429], gw.diag(repr(statuses)))
            self.assertEqual(sim.requests(), before + 3)
            st = status(gw)
            self.assertEqual((st["state"], st["fallback"], st["color"]), ("fallback", True, "amber"), st)
            self.assertGreaterEqual(st["fallback_decisions"], 5)
            self.assertLess(st["redis"]["up"], st["redis"]["connections"])
            self.assertIn(gw.admin("GET", "/status.json").json["state"], ("amber", "red"), "weighed in the verdict")
            self.assertEqual(h.metric(gw, "lienthong_rate_limit_fallback"), 1)
            self.assertGreaterEqual(h.metric(gw, "lienthong_rate_limit_fallback_total"), 5)
            self.assertIn("data-state=\"amber\"><h3>redis", gw.admin("GET", "/status").body.decode())
            _rc, out, _err = h.run_ctl("status", admin_port=gw.admin_port)
            self.assertRegex(out, r"(?m)^rate limits\s+amber\s+redis buckets, fallback, 2 refused, \d+ decided locally")
            # Nothing else breaks: ready, and the unlimited client and operation are served.
            self.assertEqual(gw.admin("GET", "/readyz").status, 200)
            self.assertEqual(gw.verify(ident, cert="portal").status, 200)
            self.assertEqual(gw.lookup(ident, cert="district-office").status, 200)

            redis.start()  # the same port, empty
            wait_for("the rate-limit Redis connections up again",
                     lambda: (lambda s: s["redis"]["up"] == s["redis"]["connections"])(status(gw)))
            fallbacks = status(gw)["fallback_decisions"]
            # Redis restarted empty: its bucket is full again, and it decides.
            self.assertEqual(gw.verify(ident, cert="district-office").status, 200)
            st = status(gw)
            self.assertEqual((st["state"], st["fallback"], st["color"]), ("shared", False, "green"), st)
            self.assertEqual(st["fallback_decisions"], fallbacks)
            self.assertEqual(redis.scan("lt:rl:*"), [b"lt:rl:district-office:population.verify"])
        finally:
            gw.stop()
            sim.stop()
            redis.kill()


class AbortWhileRedisDecidesTest(unittest.TestCase):
    """A client that leaves while Redis decides: its request is let go, reaches no one, and nothing breaks."""

    def test_hang_up_while_redis_is_stuck(self):
        redis = h.RedisServer()
        sim = h.Sim("population")
        over = with_redis(district_office(3), redis)
        over["rate_limits"]["redis"]["timeout_ms"] = 10000  # the decision stays pending while the client leaves
        gw = h.Gateway(sim, overrides=over)
        try:
            wait_shared(gw)
            ident = Citizen(sim).ident
            before = sim.requests()
            redis.pause()
            body = json.dumps(ident).encode()
            head = ("POST /v1/citizens/verify HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    "X-Officer-Id: CB-000123\r\nX-Purpose: HS-2025-000042\r\nX-Request-Id: rl-abort-1\r\n"
                    "Content-Length: %d\r\n\r\n" % len(body)).encode()
            p = h.tls_probe(gw.port, cert="district-office", timeout=1, payload=head + body)
            self.assertEqual(p["received"], b"", "no answer while Redis is stuck")
            wait_for("the gateway to see the client leave", lambda: "request rl-abort-1: client closed" in h.tail(
                gw.stderr_path, 200))
            redis.resume()
            # Redis ran the abandoned request's script when it woke: that token is spent, its answer dropped.
            statuses = [gw.verify(ident, cert="district-office").status for _ in range(3)]
            self.assertEqual(statuses, [200, 200, 429], gw.diag(repr(statuses)))
            self.assertEqual(sim.requests(), before + 2, "the abandoned request reached no one")
            self.assertEqual(status(gw)["state"], "shared")
            self.assertEqual(gw.admin("GET", "/readyz").status, 200)
        finally:
            redis.kill()
            gw.stop()
            sim.stop()


class ModuleRouteTest(unittest.TestCase):
    """A module's routes ("payments") are limited at the same step, before the module touches its store."""

    def test_payments_over_the_limit_store_nothing(self):
        redis = h.RedisServer()
        gw = PayGateway(None, None, redis_store(redis), start=False)
        gw.overrides["clients"]["portal"]["rate_limits"] = {"payments": dict(HOUR_RATE, burst=2)}
        gw.start()
        try:
            first = gw.create(dossier_id="HS-RL-1")
            self.assertEqual(first.status, 201, gw.diag(repr(first)))
            self.assertEqual(gw.payment(first.json["payment_id"]).status, 200)
            stored = sorted(redis.scan("lt:pay:*"))
            refused = gw.create(dossier_id="HS-RL-2")
            self.assertEqual(refused.status, 429, refused.body)
            self.assertEqual(refused.json["type"], "urn:lienthong:problem:rate_limited")
            self.assertRegex(refused.header("Retry-After"), r"^[0-9]+$")
            h.check_against_schema("/v1/payments", refused, "POST")
            self.assertEqual(sorted(redis.scan("lt:pay:*")), stored, "a limited request must not reach the store")
            self.assertEqual(gw.payment(first.json["payment_id"]).status, 429, "one bucket for the module's routes")
            # The district office's payments are its own bucket, which no limit covers.
            r = gw.request("GET", "/v1/payments/" + first.json["payment_id"], cert="district-office")
            self.assertEqual(r.status, 404, r.body)
        finally:
            gw.stop()
            redis.kill()


class ConfigErrorTest(unittest.TestCase):
    """A rate limit that cannot mean what it says stops start-up, naming the key."""

    def check(self, overrides, expected):
        gw = h.Gateway(overrides=overrides, start=False)
        gw.write_config()
        rc, out = h.run_gateway(["--check-config", "--config", gw.config_path])
        self.assertNotEqual(rc, 0, out)
        self.assertIn(expected, out)

    def test_errors_name_the_key(self):
        self.check({"clients": {"district-office": {"rate_limits": {"population.verfy": HOUR_RATE}}}},
                   "clients.district-office.rate_limits.population.verfy: names no operation")
        self.check({"clients": {"district-office": {"rate_limits": {"*": {"rate": 1, "per": "day"}}}}},
                   "clients.district-office.rate_limits.*.per: must be second, minute or hour")
        self.check({"clients": {"district-office": {"rate_limits": {"*": {"rate": 0, "per": "hour"}}}}},
                   "clients.district-office.rate_limits.*.rate")
        self.check({"rate_limits": {"redis": {"address": "127.0.0.1:6379", "prefix": "has space"}}},
                   "rate_limits.redis.prefix: at most 32 characters, without spaces")
        self.check({"rate_limits": {"buckets": "redis"}}, "rate_limits.buckets")


if __name__ == "__main__":
    unittest.main()
