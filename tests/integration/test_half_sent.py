"""Half-sent requests: a client that sends the headers and part of the body, then stops or goes away.
Nothing may reach the national system, nothing may be lost for other clients, and a stalled connection
is closed after the idle timeout instead of holding a worker forever."""
import json
import socket
import time
import unittest

import harness as h

SEED = 5
IDLE_S = 2


def identity():
    row = next(r for r in h.sim_sample(20, SEED) if len(r["birth_date"]) == 10)
    return {"id": row["id"], "full_name": row["full_name"], "birth_date": row["birth_date"]}


class HalfSentTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = h.Sim("population", seed=SEED)
        cls.gw = h.Gateway(cls.sim, overrides={"limits": {"idle_timeout_s": IDLE_S}})

    @classmethod
    def tearDownClass(cls):
        cls.gw.kill()
        cls.sim.kill()

    def partial(self):
        """A TLS connection that has sent the headers and half of the announced body."""
        body = json.dumps(identity()).encode()
        head = ("POST /v1/citizens/lookup HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                "X-Officer-Id: CB-1\r\nX-Purpose: HS-1\r\nContent-Length: %d\r\n\r\n" % len(body)).encode()
        raw = socket.create_connection(("127.0.0.1", self.gw.port), timeout=10)
        tls = h.client_context("portal").wrap_socket(raw, server_hostname="localhost")
        tls.sendall(head + body[: len(body) // 2])
        return tls

    def test_a_client_that_leaves_mid_body_costs_nothing(self):
        before = self.sim.requests()
        for _ in range(20):
            self.partial().close()
        time.sleep(0.3)
        r = h.https_request(self.gw.port, "POST", "/v1/citizens/lookup", body=identity(),
                            headers=h.officer_headers())
        self.assertEqual(r.status, 200, self.gw.diag(repr(r)))
        self.assertEqual(self.sim.requests(), before + 1, "only the complete request reached the upstream")

    def test_a_stalled_request_is_dropped_after_the_idle_timeout(self):
        before = self.sim.requests()
        tls = self.partial()
        t0 = time.monotonic()
        # Ten idle timeouts only give up eventually. A gateway that never reaped the stalled connection leaves
        # this client waiting until its own timeout, which fails the test: only the server's close ends it.
        tls.settimeout(IDLE_S * 10)
        data, closed_by = b"", None
        try:
            while closed_by is None:  # the gateway closes the connection: EOF, or a bare 400 at most first
                chunk = tls.recv(4096)
                data += chunk
                closed_by = "EOF" if not chunk else None
        except socket.timeout:
            closed_by = "client timeout"
        except (ConnectionError, OSError):
            closed_by = "reset"
        elapsed = time.monotonic() - t0
        tls.close()
        self.assertIn(closed_by, ("EOF", "reset"), "a stalled request must not hold its connection forever")
        self.assertFalse(data.startswith(b"HTTP/1.1 200"), data[:200])
        self.assertGreaterEqual(elapsed, IDLE_S - 0.5, "closed too early: a slow client deserves the idle timeout")
        self.assertEqual(self.sim.requests(), before, "a half-sent request never reaches the upstream")


class LeavesWhileTheNationalSystemAnswersTest(unittest.TestCase):
    """A client that sent a whole lookup, then leaves while the national system is slow to answer: the gateway sees
    it leave without reading or writing, and stops the upstream call then, not when the answer or the timeout
    comes."""
    HOLD_MS = 120000  # the simulator holds its answer this long; the call's timeout is longer still

    @classmethod
    def setUpClass(cls):
        cls.sim = h.Sim("population", seed=SEED)
        cls.gw = h.Gateway(cls.sim, overrides={"upstreams": {"population": {
            "timeout_ms": 300000, "retry": {"max_attempts": 1}, "probe": {"interval_s": 3600}}}})

    @classmethod
    def tearDownClass(cls):
        cls.gw.kill()
        cls.sim.kill()

    def population_inflight(self):
        status = self.gw.admin("GET", "/status.json").json
        return next(s for s in status["systems"] if s["name"] == "population")["inflight"]

    def test_the_upstream_call_stops_when_the_client_leaves(self):
        before = self.sim.requests()
        self.sim.set_fault("none", latency_ms=self.HOLD_MS)
        body = json.dumps(identity()).encode()
        head = ("POST /v1/citizens/lookup HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                "X-Officer-Id: CB-1\r\nX-Purpose: HS-1\r\nX-Request-Id: leaves-while-waiting\r\n"
                "Content-Length: %d\r\n\r\n" % len(body)).encode()
        raw = socket.create_connection(("127.0.0.1", self.gw.port), timeout=10)
        tls = h.client_context("portal").wrap_socket(raw, server_hostname="localhost")
        try:
            tls.sendall(head + body)
            h.wait_for(lambda: self.sim.requests() > before, what="the lookup reaching the simulator")
            self.assertEqual(self.population_inflight(), 1, "the call is in flight while the simulator holds it")
            # As an HTTP client gives up: it waits for the answer, reading (so the session tickets are taken and
            # its close is a FIN), then its own timeout ends the wait.
            tls.settimeout(0.5)
            with self.assertRaises(socket.timeout):
                tls.recv(4096)
        finally:
            tls.close()
        # The simulator still holds its answer for minutes: only the gateway seeing the client leave ends the call.
        h.wait_for(lambda: "request leaves-while-waiting: client closed the connection before the answer" in
                   h.tail(self.gw.stderr_path, 200), timeout=60, what="the gateway to see the client leave")
        h.wait_for(lambda: self.population_inflight() == 0, timeout=60, what="the upstream call to stop")
        self.sim.clear_faults()
        r = h.https_request(self.gw.port, "POST", "/v1/citizens/lookup", body=identity(),
                            headers=h.officer_headers())
        self.assertEqual(r.status, 200, self.gw.diag(repr(r)))


if __name__ == "__main__":
    unittest.main()
