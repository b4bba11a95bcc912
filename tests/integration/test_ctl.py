"""lienthong-ctl: `status --json` agrees with /status.json, the table shows the same
picture, purge and reload do what they say, and the outbox commands say clearly that payments are not configured.

And the admin listener's door, which lienthong-ctl goes through: changes need the admin token (401 and nothing
changed without it), only the listener's own Host names are answered (421: DNS rebinding), headers are small."""
import json
import os
import re
import signal
import socket
import unittest

import harness as h

SEED = 11


def identity():
    row = next(r for r in h.sim_sample(20, SEED) if len(r["birth_date"]) == 10)
    return {"id": row["id"], "full_name": row["full_name"], "birth_date": row["birth_date"]}


def stable(doc):
    """/status.json without what moves by itself between two reads (clock, ages, probe timings)."""
    volatile = {"generated_at", "seconds_left", "for_s", "window_s", "last_ms", "last_at", "remaining_s", "reason",
                "since", "last_success", "since_ago_s", "last_success_ago_s", "ago_s", "uptime_s"}

    def strip(v):
        if isinstance(v, dict):
            return {k: strip(x) for k, x in v.items() if k not in volatile}
        if isinstance(v, list):
            return [strip(x) for x in v]
        return v
    return strip(doc)


class CtlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = h.Sim("population", seed=SEED)
        cls.gw = h.Gateway(cls.sim, overrides={
            "cache": {"backend": "memory", "keys": h.cache_keys(), "ttl_s": 60},
            "upstreams": {"population": {"probe": {"interval_s": 3600}},  # one probe, at start: a steady picture
                          "tax": {"base_url": "https://127.0.0.1:1", "cert": h.pki_path("gateway-national.crt"),
                                  "key": h.pki_path("gateway-national.key"), "ca": h.pki_path("national-ca.crt"),
                                  "probe": {"interval_s": 3600, "down_after": 1},
                                  "service": {"unit_code": "000.00.00.H53",
                                              "api_key_file": h.pki_path("tax-api.key")}}}})
        h.wait_for(lambda: {s["name"]: s["probe"]["state"] for s in cls.gw.admin("GET", "/status.json").json["systems"]}
                   == {"population": "up", "tax": "down"}, what="first probes")

    @classmethod
    def tearDownClass(cls):
        cls.gw.kill()
        cls.sim.kill()

    def ctl(self, *args):
        return h.run_ctl(*args, admin_port=self.gw.admin_port)

    def test_status_json_agrees_with_the_admin_listener(self):
        rc, out, err = self.ctl("status", "--json")
        direct = self.gw.admin("GET", "/status.json").json
        self.assertEqual(rc, 4, "red overall: exit 4 (%s)" % err)
        from_ctl = json.loads(out)
        self.assertEqual(stable(from_ctl), stable(direct))
        # What was left out of the comparison still agrees where it cannot move.
        self.assertEqual([s["reason"] for s in from_ctl["systems"]], [s["reason"] for s in direct["systems"]])
        self.assertEqual(from_ctl["state"], "red")

    def test_status_table_shows_every_system_with_its_state(self):
        rc, out, err = self.ctl("status")
        self.assertEqual(rc, 4, err)
        self.assertRegex(out, r"(?m)^Liên Thông \S+: red: tax: down: connect: cannot connect to tax")
        # A handshake is all the default probe proves: never "up" for it.
        self.assertRegex(out, r"(?m)^population\s+green\s+reachable \(TLS only\)\s+closed\s")
        self.assertRegex(out, r"(?m)^tax\s+red\s+down\s+closed\s+never\s")
        self.assertRegex(out, r"(?m)^  last error \S+\+07:00 \((just now|\d+ (s|min) ago)\) connect: cannot connect to "
                              r"tax \(probe\)$")
        # Which instance, since when, and the one zone of every time shown.
        self.assertRegex(out, r"(?m)^instance itest, up \d+ (s|min) \(since \S+\+07:00\), last reload never since start, "
                              r"times in \+07:00$")
        self.assertRegex(out, r"(?m)^cache\s+green\s+memory, hit ratio \d+ %")
        self.assertRegex(out, r"(?m)^payments\s+not configured$")
        self.assertRegex(out, r"(?m)^api\s+api_server\s+localhost\s+\d+  ")
        self.assertNotIn("\033[", out, "no colour codes when stdout is not a terminal")

    def test_purge_removes_the_cached_entries_of_one_identifier(self):
        body = identity()
        lookup = lambda: self.gw.lookup(body)  # noqa: E731
        self.assertEqual(lookup().header("X-Cache"), "miss")
        self.assertEqual(lookup().header("X-Cache"), "hit")
        rc, out, err = self.ctl("purge", body["id"], "--system", "population")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.strip(), "purged 1 entry in memory and 0 in Redis")
        self.assertEqual(lookup().header("X-Cache"), "miss")
        rc, out, err = self.ctl("purge", "has space")
        self.assertEqual(rc, 1)
        self.assertIn("HTTP 400: identifier must be 1-128 printable characters", err)

    def test_outbox_commands_say_payments_are_not_configured(self):
        for args in (("outbox", "list"), ("outbox", "list", "--dead"), ("outbox", "redrive", "evt-1")):
            rc, out, err = self.ctl(*args)
            self.assertEqual(rc, 1, args)
            self.assertEqual(out, "", args)
            self.assertIn("payments are not configured on this gateway", err, args)
        r = self.gw.admin("GET", "/payments/outbox?state=dead")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.header("Content-Type"), "application/problem+json")
        self.assertEqual(r.json["type"], "urn:lienthong:problem:payments_not_configured")

    def test_the_token_comes_from_the_option_the_configuration_or_the_environment(self):
        body = identity()
        body["id"] = body["id"][:-1] + str((int(body["id"][-1]) + 1) % 10)  # another key than the purge test's
        # Without any token the change is refused and says how to give one.
        rc, out, err = h.run_ctl("purge", body["id"], admin_port=self.gw.admin_port, token_file=False)
        self.assertEqual(rc, 1)
        self.assertIn("HTTP 401", err)
        self.assertIn("--token-file FILE, --config FILE", err)
        # --config: the admin address and the token file from the gateway's own configuration.
        rc, out, err = h.run_ctl("--config", self.gw.config_path, "purge", body["id"])
        self.assertEqual((rc, out.strip()), (0, "purged 0 entries in memory and 0 in Redis"), err)
        # $LIENTHONG_ADMIN_TOKEN_FILE
        rc, out, err = h.run_ctl("purge", body["id"], admin_port=self.gw.admin_port, token_file=False,
                                 env={"LIENTHONG_ADMIN_TOKEN_FILE": self.gw.admin_token_file})
        self.assertEqual(rc, 0, err)
        # --token-file wins over the environment.
        other = os.path.join(h.make_tmpdir("lt-token-"), "other.token")
        h.write_admin_token(other)
        rc, out, err = h.run_ctl("purge", body["id"], admin_port=self.gw.admin_port, token_file=other,
                                 env={"LIENTHONG_ADMIN_TOKEN_FILE": self.gw.admin_token_file})
        self.assertEqual(rc, 1)
        self.assertIn("HTTP 401: the bearer token is not this gateway's admin token", err)
        rc, out, err = h.run_ctl("purge", body["id"], admin_port=self.gw.admin_port, token_file="/nonexistent/token")
        self.assertEqual(rc, 1)
        self.assertIn("cannot read the admin token file /nonexistent/token", err)
        # Reads need no token.
        rc, out, err = h.run_ctl("status", "--json", admin_port=self.gw.admin_port, token_file=False)
        self.assertEqual(rc, 4, err)

    def test_usage_and_unreachable_admin(self):
        rc, out, err = h.run_ctl("frobnicate")
        self.assertEqual(rc, 2)
        self.assertIn("Usage: lienthong-ctl", err)
        rc, out, err = h.run_ctl("--help")
        self.assertEqual(rc, 0)
        for cmd in ("status [--json]", "reload", "purge IDENTIFIER", "outbox list", "outbox redrive EVENT_ID",
                    "--admin URL", "--token-file FILE", "--config FILE", "$LIENTHONG_ADMIN_TOKEN_FILE"):
            self.assertIn(cmd, out)
        rc, out, err = h.run_ctl("status", admin_port=h.free_port())
        self.assertEqual(rc, 1)
        self.assertIn("cannot reach the admin listener", err)


class DrainTest(unittest.TestCase):
    """lienthong-ctl drain: /readyz answers 503 for the load balancer while a request in flight completes, and the
    instance still serves; undrain takes it back. Without the admin token nothing changes."""
    HOLD_MS = 30000  # the simulator holds its answer this long: the drain happens while the lookup is in flight

    @classmethod
    def setUpClass(cls):
        cls.sim = h.Sim("population", seed=SEED)
        cls.gw = h.Gateway(cls.sim, overrides={"upstreams": {"population": {
            "timeout_ms": 4 * cls.HOLD_MS, "retry": {"max_attempts": 1}, "probe": {"interval_s": 3600}}}})

    @classmethod
    def tearDownClass(cls):
        cls.gw.kill()
        cls.sim.kill()

    def ctl(self, *args, **kw):
        return h.run_ctl(*args, admin_port=self.gw.admin_port, **kw)

    def drained_gauge(self):
        text = self.gw.admin("GET", "/metrics").body.decode()
        return int(re.search(r"(?m)^lienthong_drained (\d)$", text).group(1))

    def test_drain_turns_readyz_503_while_an_in_flight_request_completes(self):
        import threading
        self.assertEqual(self.gw.admin("GET", "/readyz").status, 200)
        before = self.sim.requests()
        self.sim.set_fault("none", latency_ms=self.HOLD_MS)
        answers = []
        slow = threading.Thread(target=lambda: answers.append(self.gw.lookup(identity(), timeout=self.HOLD_MS * 4)))
        slow.start()
        try:
            h.wait_for(lambda: self.sim.requests() > before, what="the lookup reaching the simulator")
            # A drain without the token changes nothing.
            rc, out, err = self.ctl("drain", token_file=False)
            self.assertEqual(rc, 1)
            self.assertIn("HTTP 401", err)
            self.assertEqual(self.gw.admin("GET", "/readyz").status, 200)
            rc, out, err = self.ctl("drain")
            self.assertEqual(rc, 0, err)
            self.assertIn("drained: /readyz answers 503", out)
            ready = self.gw.admin("GET", "/readyz")
            self.assertEqual(ready.status, 503)
            self.assertIn("drained by an operator (lienthong-ctl undrain to take traffic)", ready.json["reasons"])
            status = self.gw.admin("GET", "/status.json").json
            pop = next(s for s in status["systems"] if s["name"] == "population")
            self.assertEqual(pop["inflight"], 1, "the drain came while the lookup was in flight")
            self.assertTrue(status["instance"]["drained"])
            self.assertEqual(self.drained_gauge(), 1)
            rc, out, err = self.ctl("status")
            self.assertIn("DRAINED: /readyz answers 503, requests are still served", out)
            page = self.gw.admin("GET", "/status").body.decode()
            self.assertIn('id="drained"', page)
        finally:
            slow.join()
            self.sim.clear_faults()
        # The request in flight was answered in full, and a drained instance still serves new ones.
        self.assertEqual(answers[0].status, 200, answers[0].body)
        self.assertEqual(answers[0].json["full_name"], identity()["full_name"])
        other = [r for r in h.sim_sample(20, SEED) if len(r["birth_date"]) == 10][1]
        again = self.gw.lookup({k: other[k] for k in ("id", "full_name", "birth_date")})
        self.assertEqual(again.status, 200, again.body)
        self.assertEqual(again.json["full_name"], other["full_name"])
        self.assertEqual(self.sim.requests(), before + 2)
        self.assertEqual(self.ctl("drain")[1].strip().split(":")[0], "drained (it already was)")
        rc, out, err = self.ctl("undrain")
        self.assertEqual((rc, out.strip()), (0, "undrained: /readyz answers as the gateway's state says."), err)
        self.assertEqual(self.gw.admin("GET", "/readyz").status, 200)
        self.assertFalse(self.gw.admin("GET", "/status.json").json["instance"]["drained"])
        self.assertEqual(self.drained_gauge(), 0)


class ReloadTest(unittest.TestCase):
    def test_reload_applies_the_log_level_and_names_what_needs_a_restart(self):
        gw = h.Gateway(overrides={"upstreams": {"population": {"probe": {"enabled": False}}}})
        try:
            with open(gw.config_path, encoding="utf-8") as f:
                cfg = json.load(f)
            cfg["log_level"] = "debug"
            cfg["limits"]["max_body_bytes"] = 8192
            with open(gw.config_path, "w", encoding="utf-8") as f:
                json.dump(cfg, f)
            rc, out, err = h.run_ctl("reload", admin_port=gw.admin_port)
            self.assertEqual(rc, 0, err)
            self.assertEqual(out, "applied:\n  log_level=debug\nneeds a restart:\n  limits.max_body_bytes\n")
            # debug is in force: the gateway now logs what it logged only at debug before (the probe-less upstream
            # call below fails at connect, which lt_upstream reports at debug).
            gw.lookup(identity())
            self.assertIn("debug upstream population: connect", gw.stderr_tail(50))

            # A file that does not load changes nothing, and says why.
            with open(gw.config_path, "w", encoding="utf-8") as f:
                f.write("{ not json")
            rc, out, err = h.run_ctl("reload", admin_port=gw.admin_port)
            self.assertEqual(rc, 1)
            self.assertIn("reload refused, nothing changed: HTTP 400", err)
            self.assertEqual(gw.admin("GET", "/readyz").status, 200)

            # SIGHUP does the same, and logs its report.
            with open(gw.config_path, "w", encoding="utf-8") as f:
                json.dump(dict(cfg, log_level="info"), f)
            gw.signal(__import__("signal").SIGHUP)
            h.wait_for(lambda: re.search(r'SIGHUP: \{"applied":\["log_level=info"\]', gw.stderr_tail(50)),
                       what="the SIGHUP report")
        finally:
            gw.kill()

    def test_a_new_token_in_the_same_file_is_in_force_after_sighup(self):
        gw = h.Gateway(overrides={"upstreams": {"population": {"probe": {"enabled": False}}}})
        try:
            old = gw.admin_token
            new = h.write_admin_token(gw.admin_token_file)
            # Until the gateway re-reads the file, the old token is the one in force.
            self.assertEqual(gw.admin("POST", "/reload", body={}, token=new).status, 401)
            # SIGHUP needs no token: it re-reads the file, and says so.
            gw.signal(signal.SIGHUP)
            h.wait_for(lambda: "listeners.admin.token_file (a new token)" in gw.stderr_tail(50),
                       what="the SIGHUP report naming the new token")
            self.assertEqual(gw.admin("POST", "/reload", body={}, token=old).status, 401)
            r = gw.admin("POST", "/reload", body={}, token=new)
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual(r.json, {"applied": [], "restart_needed": []}, "the same token again: nothing new")
            # A token file that no longer loads makes the reload refuse, and the token in force stays.
            with open(gw.admin_token_file, "w") as f:
                f.write("short\n")
            r = gw.admin("POST", "/reload", body={}, token=new)
            self.assertEqual(r.status, 400)
            self.assertIn("listeners.admin.token_file", r.json["error"])
            self.assertEqual(gw.admin("POST", "/reload", body={}, token=new).status, 400, "still authorized")
        finally:
            gw.kill()

    def test_reload_without_the_token_changes_nothing(self):
        gw = h.Gateway(overrides={"upstreams": {"population": {"probe": {"enabled": False}}}})
        try:
            with open(gw.config_path, encoding="utf-8") as f:
                cfg = json.load(f)
            cfg["log_level"] = "debug"
            with open(gw.config_path, "w", encoding="utf-8") as f:
                json.dump(cfg, f)
            for token in (False, "0" * 64):
                r = gw.admin("POST", "/reload", body={}, token=token)
                self.assertEqual(r.status, 401, r.body)
            self.assertNotIn("reload: ", gw.stderr_tail(50), "no reload ran")
            # The first reload that is let in is the one that applies the change.
            rc, out, err = h.run_ctl("reload", admin_port=gw.admin_port)
            self.assertEqual((rc, out), (0, "applied:\n  log_level=debug\nneeds a restart: none\n"), err)
            self.assertRegex(gw.stderr_tail(20), r'admin: reload asked from 127\.0\.0\.1:\d+: 200 '
                                                 r'\{"applied":\["log_level=debug"\],"restart_needed":\[\]\}')
        finally:
            gw.kill()


def raw_admin(port, request, timeout=10):
    """Sends exactly these bytes to the admin listener and returns what came back before it closed (b"" when it
    reset the connection first: a refusal too)."""
    with socket.create_connection((h.HOST, port), timeout=timeout) as s:
        try:
            s.sendall(request)
        except OSError:
            pass  # it may answer and close before reading everything
        out = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        except OSError:
            pass
        return out


def status_of(raw):
    m = re.match(rb"HTTP/1\.[01] (\d{3}) ", raw)
    return int(m.group(1)) if m else None


class AdminDoorTest(unittest.TestCase):
    """Who gets through the admin listener's door, and that a refused change changes nothing."""

    @classmethod
    def setUpClass(cls):
        cls.sim = h.Sim("population", seed=SEED)
        cls.gw = h.Gateway(cls.sim, overrides={
            "cache": {"backend": "memory", "keys": h.cache_keys(), "ttl_s": 60},
            "listeners": {"admin": {"hosts": ["admin.gw1.example", "tunnel.example:19090"]}},
            "upstreams": {"population": {"probe": {"enabled": False}}}})

    @classmethod
    def tearDownClass(cls):
        cls.gw.kill()
        cls.sim.kill()

    def cached(self, n):
        """A citizen whose lookup is now in the cache (the second lookup a hit)."""
        row = [r for r in h.sim_sample(40, SEED) if len(r["birth_date"]) == 10][n]
        body = {"id": row["id"], "full_name": row["full_name"], "birth_date": row["birth_date"]}
        self.gw.lookup(body)
        self.assertEqual(self.gw.lookup(body).header("X-Cache"), "hit")
        return body

    def test_a_purge_without_the_token_is_refused_and_purges_nothing(self):
        body = self.cached(3)
        for token, code, challenge in ((False, "admin_token_required", 'Bearer realm="lienthong-admin"'),
                                       ("0" * 64, "admin_token_invalid", 'error="invalid_token"')):
            r = self.gw.admin("POST", "/cache/purge", body={"identifier": body["id"]}, token=token)
            self.assertEqual(r.status, 401, r.body)
            self.assertEqual(r.header("Content-Type"), "application/problem+json")
            self.assertEqual(r.json["type"], "urn:lienthong:problem:" + code)
            self.assertTrue(r.header("WWW-Authenticate", "").startswith("Bearer"), r.headers)
            self.assertIn(challenge, r.header("WWW-Authenticate"))
        # Another scheme, or the token with something after it, is no token either.
        for auth in ("Basic " + self.gw.admin_token, "Bearer " + self.gw.admin_token + "x",
                     "Bearer " + self.gw.admin_token[:-1]):
            r = self.gw.admin("POST", "/cache/purge", body={"identifier": body["id"]},
                              headers={"Authorization": auth}, token=False)
            self.assertEqual(r.status, 401, auth)
        self.assertEqual(self.gw.lookup(body).header("X-Cache"), "hit", "nothing was purged")
        # Module changes pass the same door, before the module is asked (payments are not configured here).
        r = self.gw.admin("POST", "/payments/outbox/evt-1/redrive", body={}, token=False)
        self.assertEqual(r.status, 401)
        log = self.gw.stderr_tail(50)
        self.assertRegex(log, r"admin: refused POST /cache/purge from 127\.0\.0\.1:\d+: 401 admin_token_required")
        self.assertNotIn(self.gw.admin_token, log)
        # With the token (and the scheme in any case) it does purge, and says what and for whom in the log.
        r = self.gw.admin("POST", "/cache/purge", body={"identifier": body["id"], "system": "population"},
                          headers={"Authorization": "bearer " + self.gw.admin_token})
        self.assertEqual((r.status, r.json), (200, {"purged": {"memory": 1, "redis": 0}}), r.body)
        self.assertEqual(self.gw.lookup(body).header("X-Cache"), "miss")
        masked = body["id"][:3] + "*" * (len(body["id"]) - 5) + body["id"][-2:]
        log = self.gw.stderr_tail(30)
        self.assertRegex(log, r"admin: purge of identifier %s \(population\) for 127\.0\.0\.1:\d+: 1 entry removed "
                              r"in memory, 0 in Redis" % re.escape(masked))
        self.assertNotIn(body["id"], log)

    def test_only_the_listeners_own_host_names_are_answered(self):
        port = self.gw.admin_port
        for host in ("127.0.0.1:%d" % port, "localhost:%d" % port, "LOCALHOST:%d" % port, "[::1]:%d" % port,
                     "admin.gw1.example:%d" % port, "tunnel.example:19090"):
            r = self.gw.admin("GET", "/status.json", headers={"Host": host})
            self.assertEqual(r.status, 200, host)
        body = self.cached(4)
        for host in ("evil.example", "evil.example:%d" % port, "127.0.0.1:%d" % (port + 1), "localhost",
                     "admin.gw1.example", "tunnel.example:%d" % port, "127.0.0.1.evil.example:%d" % port):
            for method, path, payload in (("GET", "/status.json", None), ("GET", "/metrics", None),
                                          ("POST", "/cache/purge", {"identifier": body["id"]})):
                r = self.gw.admin(method, path, body=payload, headers={"Host": host})
                self.assertEqual(r.status, 421, (host, method, path))
                self.assertEqual(r.json["type"], "urn:lienthong:problem:misdirected_request")
        self.assertEqual(self.gw.lookup(body).header("X-Cache"), "hit", "a misdirected purge purges nothing")
        self.assertRegex(self.gw.stderr_tail(30), r"admin: refused GET /status\.json from 127\.0\.0\.1:\d+: 421 ")
        # The raw bytes a rebinding page makes a browser send, and the other ways to name a host.
        self.assertEqual(status_of(raw_admin(port, b"GET /status.json HTTP/1.1\r\nHost: evil.example\r\n\r\n")), 421)
        self.assertEqual(status_of(raw_admin(port, b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n")), 400,
                         "HTTP/1.1 without Host")
        two = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nHost: evil.example\r\nConnection: close\r\n\r\n"
        self.assertEqual(status_of(raw_admin(port, two % port)), 400, "two Host headers")
        absolute = b"GET http://evil.example/healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n"
        self.assertEqual(status_of(raw_admin(port, absolute % port)), 421, "an absolute target names the host")
        ours = b"GET http://127.0.0.1:%d/healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n"
        self.assertEqual(status_of(raw_admin(port, ours % (port, port))), 200)
        self.assertEqual(status_of(raw_admin(port, b"GET /healthz HTTP/1.0\r\n\r\n")), 200,
                         "HTTP/1.0 may leave Host out (no browser does)")

    def test_big_headers_are_refused_before_anything_changes(self):
        body = self.cached(5)
        port = self.gw.admin_port
        purge = json.dumps({"identifier": body["id"]}).encode()

        def request(pad, extra=b""):
            return (b"POST /cache/purge HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\n"
                    b"Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n%s"
                    b"X-Pad: %s\r\n\r\n%s" % (port, self.gw.admin_token.encode(), len(purge), extra, b"a" * pad, purge))
        got = raw_admin(port, request(100 * 1024))
        self.assertIn(status_of(got), (None, 400, 413, 431), got[:200])
        self.assertEqual(self.gw.lookup(body).header("X-Cache"), "hit", "the refused purge purged nothing")
        many = b"".join(b"X-Field-%d: 1\r\n" % i for i in range(80))
        got = raw_admin(port, request(10, many))
        self.assertEqual(status_of(got), 431, got[:200])
        self.assertEqual(self.gw.lookup(body).header("X-Cache"), "hit")
        # The control case: the same purge with a few KiB of header goes through.
        got = raw_admin(port, request(4 * 1024))
        self.assertEqual(status_of(got), 200, got[:300])
        self.assertEqual(self.gw.lookup(body).header("X-Cache"), "miss")
        # A body far over what any admin change needs is cut off too.
        big = (b"POST /cache/purge HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\n"
               b"Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
               % (port, self.gw.admin_token.encode(), 64 * 1024)) + b" " * (64 * 1024)
        self.assertIn(status_of(raw_admin(port, big)), (None, 400, 413))


class NoTokenTest(unittest.TestCase):
    def test_without_a_token_file_reads_work_and_every_change_is_refused(self):
        gw = h.Gateway(overrides={"listeners": {"admin": {"token_file": h.DELETE}},
                                  "upstreams": {"population": {"probe": {"enabled": False}}}})
        try:
            self.assertEqual(gw.admin("GET", "/status.json").status, 200)
            for path in ("/reload", "/cache/purge"):
                r = gw.admin("POST", path, body={"identifier": "001095012345"})
                self.assertEqual(r.status, 403, path)
                self.assertEqual(r.json["type"], "urn:lienthong:problem:admin_changes_disabled")
            self.assertIn("no listeners.admin.token_file: admin changes", gw.stderr_tail(20))
        finally:
            gw.kill()


if __name__ == "__main__":
    unittest.main()
