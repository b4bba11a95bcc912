"""GET /status.json and GET /status on the admin listener: Debian's headless
chromium renders the page, each national system shows with its state, a screenshot is kept as a test artifact;
a certificate that expires in 5 days shows red on the page and in the metrics."""
import datetime
import html.parser
import os
import re
import struct
import time
import unittest

import harness as h

SEED = 11
ARTIFACTS = os.path.join(h.BUILD_DIR, "test-artifacts")


def tax_upstream(base_url):
    return {"base_url": base_url, "cert": h.pki_path("gateway-national.crt"), "key": h.pki_path("gateway-national.key"),
            "ca": h.pki_path("national-ca.crt"), "connect_timeout_ms": 500, "retry": {"max_attempts": 1},
            "probe": {"interval_s": 1, "down_after": 1},
            "service": {"unit_code": "000.00.00.H53", "api_key_file": h.pki_path("tax-api.key")}}


class Cards(html.parser.HTMLParser):
    """Each <section data-system> of the rendered DOM: its data-state and the text inside it."""

    def __init__(self):
        super().__init__()
        self.cards, self.open, self.depth, self.overall = {}, None, 0, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("script", "link", "img", "iframe"):
            self.cards.setdefault("__external__", []).append((tag, a))
        if a.get("id") == "overall":
            self.overall = a.get("data-state")
        if tag == "section" and "data-system" in a:
            self.open = {"state": a.get("data-state"), "text": ""}
            self.cards[a["data-system"]] = self.open
            self.depth = 0
        elif self.open is not None and tag == "section":
            self.depth += 1

    def handle_endtag(self, tag):
        if tag == "section" and self.open is not None:
            if self.depth == 0:
                self.open = None
            else:
                self.depth -= 1

    def handle_data(self, data):
        if self.open is not None:
            self.open["text"] += data


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG: %r" % head[:8]
    return struct.unpack(">II", head[16:24])


class StatusPageInChromiumTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = h.Sim("population", seed=SEED)
        # tax points at a port nobody listens on: a national system that is down.
        cls.gw = h.Gateway(cls.sim, overrides={"upstreams": {
            "population": {"probe": {"interval_s": 1}},
            "tax": tax_upstream("https://127.0.0.1:1")}})
        h.wait_for(lambda: cls.states() == {"population": "green", "tax": "red"}, what="population up, tax down")

    @classmethod
    def states(cls):
        return {s["name"]: s["state"] for s in cls.gw.admin("GET", "/status.json").json["systems"]}

    @classmethod
    def tearDownClass(cls):
        cls.gw.kill()
        cls.sim.kill()

    def test_chromium_renders_every_system_with_its_state_and_a_screenshot_is_kept(self):
        url = "http://127.0.0.1:%d/status" % self.gw.admin_port
        rc, dom, err = h.chromium(url, "--dump-dom")
        self.assertEqual(rc, 0, err[-2000:])
        cards = Cards()
        cards.feed(dom)
        self.assertNotIn("__external__", cards.cards, "the page must load nothing from elsewhere")
        self.assertEqual(set(cards.cards), {"population", "tax"})
        self.assertEqual(cards.cards["population"]["state"], "green")
        self.assertIn("Bình thường · OK", cards.cards["population"]["text"])
        self.assertIn("Dân cư · Population", cards.cards["population"]["text"])
        self.assertEqual(cards.cards["tax"]["state"], "red")
        self.assertIn("Sự cố · Down", cards.cards["tax"]["text"])
        self.assertIn("cannot connect to tax", cards.cards["tax"]["text"])
        self.assertEqual(cards.overall, "red")

        os.makedirs(ARTIFACTS, exist_ok=True)
        shot = os.path.join(ARTIFACTS, "status.png")
        if os.path.exists(shot):
            os.remove(shot)
        rc, out, err = h.chromium(url, "--screenshot=" + shot, "--window-size=412,1400", "--hide-scrollbars")
        self.assertEqual(rc, 0, err[-2000:])
        self.assertEqual(png_size(shot), (412, 1400), "a phone-sized screenshot")
        self.assertGreater(os.path.getsize(shot), 20000, "a blank page would compress to almost nothing")

    def test_the_page_is_self_contained_and_refreshes_itself(self):
        r = self.gw.admin("GET", "/status")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Type"), "text/html; charset=utf-8")
        self.assertIn("default-src 'none'", r.header("Content-Security-Policy"))
        page = r.body.decode()
        self.assertRegex(page, r'<meta http-equiv="refresh" content="\d+">')
        self.assertIn('name="viewport"', page)
        self.assertNotRegex(page, r'(src|href)="(https?:)?//', "no external asset")

    def test_status_json_says_what_the_issue_asks_for(self):
        doc = self.gw.admin("GET", "/status.json").json
        self.assertEqual(doc["state"], "red")
        self.assertTrue(doc["reason"].startswith("tax: down: connect:"), doc["reason"])
        pop = next(s for s in doc["systems"] if s["name"] == "population")
        for key in ("state", "reason", "probe", "circuit", "last_success", "last_error", "latency_ms", "recent",
                    "certificates", "token", "inflight"):
            self.assertIn(key, pop)
        self.assertEqual(pop["circuit"]["state"], "closed")
        self.assertEqual({c["role"] for c in pop["certificates"]}, {"upstream_client", "upstream_server"})
        self.assertEqual(doc["cache"]["backend"], "off")
        self.assertEqual(doc["payments"], {"configured": False, "color": "grey"})
        self.assertEqual(doc["ready"]["ready"], True)
        # Which instance answers, since when, and every time in one zone (+07:00 unless configured).
        inst = doc["instance"]
        self.assertEqual((inst["name"], inst["time_zone"], inst["drained"], inst["last_reload"]),
                         ("itest", "+07:00", False, None))
        self.assertGreaterEqual(inst["uptime_s"], 0)
        for t in (doc["generated_at"], inst["started_at"], pop["probe"]["since"], pop["certificates"][0]["not_after"]):
            self.assertRegex(t, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00$")
        started = datetime.datetime.fromisoformat(inst["started_at"])
        now = datetime.datetime.fromisoformat(doc["generated_at"])
        self.assertLess(abs((now - started).total_seconds() - inst["uptime_s"]), 2)
        # The default probe is a handshake: it proves the system is reachable, never that calls work.
        self.assertEqual(pop["probe"]["kind"], "tls")
        self.assertEqual(pop["probe"]["summary"], "reachable (TLS only)")
        page = self.gw.admin("GET", "/status").body.decode()
        self.assertIn("reachable (TLS only) (tls", page)
        self.assertRegex(page, r'id="instance">Máy chủ · Instance itest · chạy · up \d+ (s|min) .*times in UTC\+07:00<')
        # Degraded and down national systems never make /readyz refuse.
        self.assertEqual(self.gw.admin("GET", "/readyz").status, 200)


class ExpiringCertificateTest(unittest.TestCase):
    """Our client certificate towards population expires in 5 days (red); the simulator's server certificate in
    20 (amber). Both are made now, by the national test CA."""

    def test_a_certificate_that_expires_in_5_days_is_red_on_the_page_and_in_the_metrics(self):
        client_crt, client_key = h.make_leaf_cert("lienthong-gateway-5d", 5, "client")
        server_crt, server_key = h.make_leaf_cert("population-sim-20d", 20, "server")
        made = time.time()
        sim = h.Sim("population", seed=SEED)
        sim.kill()
        i = sim.argv.index("--certs-dir")
        sim.argv[i:i + 2] = ["--cert", server_crt, "--key", server_key, "--client-ca", h.pki_path("national-ca.crt")]
        sim.restart()
        gw = h.Gateway(sim, overrides={"upstreams": {"population": {
            "cert": client_crt, "key": client_key, "probe": {"interval_s": 1}}}})
        try:
            doc = h.wait_for(lambda: (lambda d: d if any(c["role"] == "upstream_server" for c in d["certificates"])
                                      else None)(gw.admin("GET", "/status.json").json), what="the server certificate")
            certs = {c["role"]: c for c in doc["certificates"] if c["owner"] == "population"}
            client, server = certs["upstream_client"], certs["upstream_server"]
            self.assertEqual(client["subject"], "lienthong-gateway-5d")
            self.assertEqual(client["state"], "red")
            # 5 days less the seconds since it was made: 4 whole days, or 5 within the second it was made.
            self.assertIn(client["days_left"], (4, 5), client)
            self.assertLessEqual(client["seconds_left"], 5 * 86400)
            self.assertGreater(client["seconds_left"], 5 * 86400 - (time.time() - made) - 120)
            self.assertEqual(server["subject"], "population-sim-20d")
            self.assertEqual(server["state"], "amber")
            api = next(c for c in doc["certificates"] if c["role"] == "api_server")
            self.assertEqual(api["state"], "green")

            pop = next(s for s in doc["systems"] if s["name"] == "population")
            self.assertEqual(pop["state"], "red")
            self.assertRegex(pop["reason"], r"^our client certificate \(lienthong-gateway-5d\) expires in [45] days$")

            page = gw.admin("GET", "/status").body.decode()
            self.assertRegex(page, r'data-system="population" data-state="red"')
            self.assertRegex(page, r'<tr data-state="red" data-owner="population" data-role="upstream_client">'
                                   r'<td>population</td><td>upstream_client</td><td>lienthong-gateway-5d</td><td>[45]</td>')
            self.assertRegex(page, r'<tr data-state="amber" data-owner="population" data-role="upstream_server">')

            text = gw.admin("GET", "/metrics").body.decode()
            m = re.search(r'^lienthong_certificate_expiry_seconds\{role="upstream_client",owner="population",'
                          r'subject="lienthong-gateway-5d"\} (-?\d+)$', text, re.M)
            self.assertIsNotNone(m, "no expiry sample for our client certificate")
            self.assertLessEqual(int(m.group(1)), 5 * 86400)
            self.assertGreater(int(m.group(1)), 5 * 86400 - (time.time() - made) - 120)
            self.assertLess(int(m.group(1)), 7 * 86400, "an alert on < 7 days fires")
            m = re.search(r'^lienthong_certificate_expiry_seconds\{role="upstream_server",owner="population",'
                          r'subject="population-sim-20d"\} (\d+)$', text, re.M)
            self.assertIsNotNone(m, "no expiry sample for the server certificate seen")
            self.assertGreater(int(m.group(1)), 19 * 86400)
        finally:
            gw.kill()
            sim.kill()


class UnverifiedCertificateTest(unittest.TestCase):
    """A national system presenting a certificate from a CA we do not trust: seen, shown red with the reason,
    and 0 in lienthong_certificate_verified, whatever its dates."""

    def test_a_server_certificate_that_fails_verification_is_red(self):
        server_crt, server_key = h.make_leaf_cert("population-sim-outsider", 300, "server", issuer="outsider-ca")
        sim = h.Sim("population", seed=SEED)
        sim.kill()
        i = sim.argv.index("--certs-dir")
        sim.argv[i:i + 2] = ["--cert", server_crt, "--key", server_key, "--client-ca", h.pki_path("national-ca.crt")]
        sim.restart()
        gw = h.Gateway(sim, overrides={"upstreams": {"population": {"probe": {"interval_s": 1}}}})
        try:
            doc = h.wait_for(lambda: (lambda d: d if any(c["role"] == "upstream_server" for c in d["certificates"])
                                      else None)(gw.admin("GET", "/status.json").json), what="the server certificate")
            server = next(c for c in doc["certificates"] if c["role"] == "upstream_server")
            self.assertEqual(server["subject"], "population-sim-outsider")
            self.assertFalse(server["verified"])
            self.assertEqual(server["state"], "red", "300 days left, but not to be trusted")
            self.assertIn("issuer", server["verify_error"])
            pop = next(s for s in doc["systems"] if s["name"] == "population")
            self.assertEqual(pop["state"], "red")
            text = gw.admin("GET", "/metrics").body.decode()
            self.assertRegex(text, r'(?m)^lienthong_certificate_verified\{role="upstream_server",owner="population",'
                                   r'subject="population-sim-outsider"\} 0$')
            self.assertRegex(text, r'(?m)^lienthong_certificate_verified\{role="api_server",owner="api",[^}]*\} 1$')
        finally:
            gw.kill()
            sim.kill()


if __name__ == "__main__":
    unittest.main()
