"""Active probes: killing a simulator turns its status down within two probe
intervals, with the reason shown; restarting it turns it up again. Probe traffic is counted apart from citizens'
traffic, at the gateway and at the simulator. Probe settings are checked at start-up."""
import json
import os
import unittest

import harness as h

SEED = 11


def status(gw):
    r = gw.admin("GET", "/status.json")
    assert r.status == 200, r
    return r.json


def system(doc, name):
    return next(s for s in doc["systems"] if s["name"] == name)


class KillAndRestartTest(unittest.TestCase):
    """A TLS-handshake probe every second; two failures in a row make "down", two answers "up"."""

    def test_down_within_two_intervals_with_the_reason_then_up_again(self):
        sim = h.Sim("population", seed=SEED)
        gw = h.Gateway(sim, overrides={"upstreams": {"population": {
            "probe": {"interval_s": 1, "down_after": 2, "up_after": 2, "timeout_ms": 2000}}}})
        try:
            h.wait_for(lambda: system(status(gw), "population")["probe"]["state"] == "up", what="probe up")
            self.assertEqual(system(status(gw), "population")["state"], "green")
            failures_before = h.metric(gw, "lienthong_probe_outcomes_total", upstream="population", outcome="connect")
            sim.kill()

            # Watched closely: the first document that says "down" must come from the second failed probe, that is
            # within two probe intervals of the kill (probes run once per interval, on the admin loop).
            down = h.wait_for(lambda: (lambda s: s if s["probe"]["state"] == "down" else None)(
                system(status(gw), "population")), timeout=10, interval=0.05, what="probe down")
            self.assertEqual(down["state"], "red")
            self.assertIn("(2 probes in a row failed)", down["probe"]["reason"])
            self.assertIn("cannot connect to population", down["reason"])
            self.assertTrue(down["reason"].startswith("down: connect:"), down["reason"])
            self.assertEqual(down["last_error"]["code"], "connect")
            self.assertTrue(down["last_error"]["probe"])
            failures = h.metric(gw, "lienthong_probe_outcomes_total", upstream="population", outcome="connect")
            self.assertIn(failures - failures_before, (2, 3), "down after more than two failed probes")
            self.assertEqual(h.metric(gw, "lienthong_upstream_health", upstream="population", state="down"), 1)
            page = gw.admin("GET", "/status").body.decode()
            self.assertRegex(page, r'data-system="population" data-state="red"')
            self.assertIn("cannot connect to population", page)
            # A degraded or down national system is not a reason to take the gateway out of a load balancer.
            self.assertEqual(gw.admin("GET", "/readyz").status, 200)

            sim.restart()
            up = h.wait_for(lambda: (lambda s: s if s["probe"]["state"] == "up" else None)(
                system(status(gw), "population")), timeout=10, interval=0.05, what="probe up again")
            self.assertEqual(up["state"], "green")
            self.assertRegex(up["probe"]["reason"], r"^probe answered in \d+ ms$")
            log = gw.stderr_tail(200)
            self.assertRegex(log, r"probe: population is down \(was degraded\): connect: cannot connect")
            self.assertRegex(log, r"probe: population is up \(was degraded\)")
        finally:
            gw.kill()
            sim.kill()


class OperationProbeTest(unittest.TestCase):
    """A probe that verifies a configured test identity: real requests, none of them citizens' traffic."""

    def test_probe_traffic_is_counted_apart_from_citizens_traffic(self):
        row = next(r for r in h.sim_sample(20, SEED) if len(r["birth_date"]) == 10)
        ident = {"id": row["id"], "full_name": row["full_name"], "birth_date": row["birth_date"]}
        sim = h.Sim("population", seed=SEED)
        gw = h.Gateway(sim, overrides={"upstreams": {"population": {
            "probe": {"interval_s": 1, "operation": "verify", "input": ident,
                      "officer": "OPS-PROBE", "purpose": "kiem tra ket noi"}}}})
        try:
            h.wait_for(lambda: (h.metric(gw, "lienthong_probe_attempts_total", upstream="population") or 0) >= 2,
                       what="two probes")
            doc = status(gw)
            pop = system(doc, "population")
            self.assertEqual(pop["probe"]["kind"], "verify")
            self.assertEqual(pop["probe"]["state"], "up")
            probes = h.metric(gw, "lienthong_probe_attempts_total", upstream="population")
            ok = h.metric(gw, "lienthong_probe_outcomes_total", upstream="population", outcome="ok")
            # The simulator saw the probes, and only the probes; the citizens' counters saw nothing.
            seen = sim.requests()
            self.assertGreaterEqual(seen, 2)
            self.assertLessEqual(abs(seen - probes), 1, "a probe in flight at most between the two reads")
            self.assertGreaterEqual(ok, 2)
            for name in ("lienthong_upstream_calls_total", "lienthong_upstream_attempts_total"):
                self.assertEqual(h.metric(gw, name, upstream="population"), 0, name)
            self.assertEqual(h.metric(gw, "lienthong_upstream_outcomes_total", upstream="population", outcome="ok"), 0)
            self.assertEqual(pop["recent"]["calls"], 0)
            self.assertEqual(pop["totals"]["attempts"], 0)
            self.assertIsNone(pop["latency_ms"], "probe latency must not pass for citizens' latency")
            self.assertIsNotNone(pop["last_success"])
            # The identity never reaches the log.
            log = gw.stderr_tail(400)
            self.assertNotIn(ident["id"], log)
            self.assertNotIn(ident["full_name"], log)
        finally:
            gw.kill()
            sim.kill()


class ProbeConfigTest(unittest.TestCase):
    def check(self, probe):
        gw = h.Gateway(overrides={"upstreams": {"population": {"probe": probe}}}, start=False)
        gw.write_config()
        return h.run_gateway(["--check-config", "--config", gw.config_path])

    def test_bad_probe_settings_stop_start_up_naming_the_key(self):
        cases = [
            ({"operation": "lookupp", "input": {}}, r"upstreams\.population\.probe\.operation: must be \"tls\""),
            ({"operation": "tls", "input": {"id": "1"}}, r"upstreams\.population\.probe\.input: a \"tls\" probe"),
            ({"operation": "verify"}, r"upstreams\.population\.probe\.input: required"),
            ({"operation": "verify", "input": {"id": "12", "full_name": "A", "birth_date": "1990-01-01"}},
             r"upstreams\.population\.probe\.input: "),
            ({"interval_s": 0}, r"upstreams\.population\.probe\.interval_s"),
            ({"intervall_s": 5}, r"upstreams\.population\.probe\.intervall_s: unknown key"),
        ]
        for probe, pattern in cases:
            rc, out = self.check(probe)
            self.assertEqual(rc, 1, (probe, out))
            self.assertRegex(out, pattern, probe)
        rc, out = self.check({"interval_s": 15, "operation": "tls", "enabled": True})
        self.assertEqual(rc, 0, out)

    def test_a_probe_our_own_checks_refuse_is_never_up(self):
        """A refused input is the system answering only if the request reached it: a probe that our own
        checks stop before anything is sent (no officer here) must say so, not report the system up."""
        row = next(r for r in h.sim_sample(20, SEED) if len(r["birth_date"]) == 10)
        ident = {"id": row["id"], "full_name": row["full_name"], "birth_date": row["birth_date"]}
        sim = h.Sim("population", seed=SEED)
        gw = h.Gateway(sim, overrides={"upstreams": {"population": {"probe": {
            "interval_s": 1, "operation": "verify", "input": ident, "officer": "", "purpose": "",
            "down_after": 2, "up_after": 2}}}})
        try:
            probe = h.wait_for(lambda: [p for p in [system(status(gw), "population")["probe"]]
                                        if p["state"] == "down"], what="the probe down")[0]
            self.assertIn("probe not sent", probe["reason"])
            self.assertEqual(sim.requests(), 0, "nothing reached the system")
        finally:
            gw.kill()
            sim.kill()

    def test_a_disabled_probe_sends_nothing(self):
        sim = h.Sim("population", seed=SEED)
        gw = h.Gateway(sim, overrides={"upstreams": {"population": {"probe": {"enabled": False}}}})
        try:
            pop = system(status(gw), "population")
            self.assertEqual(pop["probe"], {"enabled": False})
            self.assertEqual(h.metric(gw, "lienthong_probe_attempts_total", upstream="population"), 0)
            self.assertIsNone(h.metric(gw, "lienthong_upstream_health", upstream="population", state="up"))
        finally:
            gw.kill()
            sim.kill()


class RecoveryWithoutTrafficTest(unittest.TestCase):
    """A circuit opened by failing calls closes once the system recovers, with no citizen's call to move it: the
    operation probe is the trial call after the cool-down. Then `lienthong-ctl status` exits 0 and the page says
    closed, instead of "open" until a request happens by."""

    def test_the_probe_closes_a_cooled_circuit(self):
        row = next(r for r in h.sim_sample(20, SEED) if len(r["birth_date"]) == 10)
        ident = {"id": row["id"], "full_name": row["full_name"], "birth_date": row["birth_date"]}
        sim = h.Sim("population", seed=SEED)
        gw = h.Gateway(sim, overrides={"upstreams": {"population": {
            "retry": {"max_attempts": 1},
            "breaker": {"consecutive_failures": 2, "cooldown_ms": 1000},
            "probe": {"interval_s": 1, "operation": "verify", "input": ident, "down_after": 5, "up_after": 1}}}})
        try:
            sim.set_fault("html503")
            for _ in range(2):
                self.assertEqual(gw.lookup(ident).status, 503)
            circuit = system(status(gw), "population")["circuit"]
            self.assertIn(circuit["state"], ("open", "half_open"), circuit)
            sim.clear_faults()
            calls_before = system(status(gw), "population")["recent"]["calls"]
            h.wait_for(lambda: system(status(gw), "population")["circuit"]["state"] == "closed",
                       what="the circuit closed by a probe")
            self.assertEqual(system(status(gw), "population")["recent"]["calls"], calls_before,
                             "no citizen's call closed it")
            h.wait_for(lambda: h.run_ctl("status", admin_port=gw.admin_port)[0] == 0, what="ctl status exits 0")
            rc, out, err = h.run_ctl("status", admin_port=gw.admin_port)
            self.assertEqual(rc, 0, out + err)
            self.assertIn("closed", out)
            page = h.http_request(gw.admin_port, "GET", "/status").body.decode()
            self.assertIn("đóng · closed", page)
            self.assertNotIn("mở · open", page)
        finally:
            gw.stop()
            sim.stop()


if __name__ == "__main__":
    unittest.main()
