"""Revocation of the provincial CA's client certificates: the lists named in listeners.api.crl_files, checked
for the whole chain; reloaded by SIGHUP and POST /reload without a restart and without dropping a connection; an
expired list refused or, by choice, accepted with a warning; and each refused handshake logged with its reason,
the peer and the certificate's fingerprint, and counted by reason in /metrics.

Every list here is made at test time by certs/gen-crl.sh with the province CA's key (the dev PKI's own
province-ca.crl revokes revoked-client); fingerprints are computed by openssl, not by the gateway."""

import os
import re
import shutil
import signal
import ssl
import subprocess
import unittest

import harness as h

GEN_CRL = os.path.join(h.SOURCE_DIR, "certs", "gen-crl.sh")
PAST_LAST, PAST_NEXT = "20200101000000Z", "20200108000000Z"  # a week-long list that ended years ago
REQUEST = b"GET /nowhere HTTP/1.1\r\nHost: localhost\r\n\r\n"


def fingerprint(cert):
    """The SHA-256 fingerprint as openssl prints it, in the log's form (lower-case hex, no colons)."""
    out = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", h.pki_path(cert + ".crt")],
                         stdout=subprocess.PIPE, check=True).stdout.decode()
    return out.strip().split("=", 1)[1].replace(":", "").lower()


def make_crl(path, revoke=(), der=False, last_update=None, next_update=None, ca="province-ca"):
    """A list of `ca` that revokes exactly `revoke` (file set names of the PKI), written to path."""
    argv = ["bash", GEN_CRL, "--ca", ca]
    for name in revoke:
        argv += ["--revoke", name]
    if der:
        argv.append("--der")
    if last_update:
        argv += ["--last-update", last_update]
    if next_update:
        argv += ["--next-update", next_update]
    r = subprocess.run(argv + [h.pki(), path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    if r.returncode != 0:
        raise AssertionError("gen-crl.sh failed: %s" % r.stdout.decode(errors="replace"))
    return path


def log_text(gw):
    with open(gw.stderr_path, encoding="utf-8", errors="replace") as f:
        return f.read()


def refusal_lines(gw, reason):
    return [l for l in log_text(gw).splitlines() if "handshake failed: reason=%s " % reason in l]


def failures(m, reason):
    return m.get('lienthong_tls_handshake_failures_total{listener="api",reason="%s"}' % reason, 0)


def crl_status(gw):
    return gw.admin("GET", "/status.json").json["crl"]


def reload_by_signal(gw):
    """SIGHUP, then wait until the lists were put in force again (/status.json crl.loads moves)."""
    before = crl_status(gw).get("loads", 0)
    gw.signal(signal.SIGHUP)
    return h.wait_for(lambda: (lambda c: c if c.get("loads", 0) > before else None)(crl_status(gw)),
                      what="the reload's new lists")


class RevocationTest(unittest.TestCase):
    """One gateway whose list is a file the tests replace, reloading it by SIGHUP or POST /reload."""

    def setUp(self):
        self.dir = h.make_tmpdir("lt-crl-")
        self.crl = os.path.join(self.dir, "province.crl")
        shutil.copy(h.pki_path("province-ca.crl"), self.crl)
        self.gw = h.Gateway(overrides={"listeners": {"api": {"crl_files": [self.crl]}},
                                       "upstreams": {"population": {"probe": {"enabled": False}}}})

    def tearDown(self):
        self.gw.kill()

    def assertRefused(self, cert, **kw):
        p = h.tls_probe(self.gw.port, cert=cert, **kw)
        self.assertEqual(p["received"], b"", self.gw.diag("%s must get no HTTP byte: %r" % (cert, p)))

    def assertServed(self, cert):
        p = h.tls_probe(self.gw.port, cert=cert)
        self.assertTrue(p["received"].startswith(b"HTTP/1.1 "), self.gw.diag("%s must be served: %r" % (cert, p)))

    def test_revoked_client_fails_the_handshake_and_is_named_in_the_log(self):
        before = h.metric_samples(self.gw)
        for version in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2):
            self.assertRefused("revoked-client", max_version=version)
        # Other certificates of the same CA are not in the list.
        self.assertServed("portal")
        self.assertServed("district-office")
        lines = h.wait_for(lambda: len(refusal_lines(self.gw, "revoked")) >= 2 and refusal_lines(self.gw, "revoked"),
                           what="two revoked lines")
        fp = fingerprint("revoked-client")
        for line in lines:
            self.assertIn("sha256=%s" % fp, line)
            self.assertRegex(line, r"peer=127\.0\.0\.1:\d+ ")
            self.assertIn("certificate revoked", line)
            self.assertNotIn("revoked-client", line, "the log names certificates by fingerprint, not subject")
        after = h.metric_samples(self.gw)
        self.assertEqual(failures(after, "revoked") - failures(before, "revoked"), 2)
        self.assertEqual(failures(after, "bad_certificate"), failures(before, "bad_certificate"))
        self.assertEqual(after['lienthong_crl_revoked_certificates{listener="api",issuer="Lien Thong Province Dev CA"}'],
                         1)
        crl = crl_status(self.gw)
        self.assertEqual((crl["configured"], crl["color"], crl["on_expired"]), (True, "green", "refuse"))
        self.assertEqual([(l["revoked"], l["state"]) for l in crl["lists"]], [(1, "current")])

    def test_sighup_revokes_a_second_client_without_a_restart_or_a_dropped_connection(self):
        pid = self.gw.proc.pid
        ctx = h.client_context("district-office")
        # A session of district-office, resumed once to show resumption works before the reload.
        first = h.tls_connect(self.gw.port, ctx)
        self.assertTrue(h.tls_exchange(first).startswith(b"HTTP/1.1 404"))
        session = first.session
        first.close()
        again = h.tls_connect(self.gw.port, ctx, session=session)
        self.assertTrue(again.session_reused, "a ticket is resumed while the lists stay the same")
        self.assertTrue(h.tls_exchange(again).startswith(b"HTTP/1.1 404"))
        again.close()
        # A keep-alive connection opened before the reload.
        kept = h.KeepAliveClient(self.gw.port, cert="district-office").connect()
        self.assertEqual(kept.request("GET", "/nowhere").status, 404)

        make_crl(self.crl, revoke=("revoked-client", "district-office"), der=True)  # DER this time
        crl = reload_by_signal(self.gw)
        self.assertEqual([l["revoked"] for l in crl["lists"]], [2])

        self.assertIsNone(self.gw.proc.poll(), "the gateway still runs")
        self.assertEqual(self.gw.proc.pid, pid)
        self.assertEqual(kept.request("GET", "/nowhere").status, 404, "the connection from before goes on")
        kept.close()
        self.assertRefused("district-office")
        # Its ticket was verified under the old list: it must not skip the new check.
        resumed = h.tls_connect(self.gw.port, ctx, session=session)
        self.assertEqual(h.tls_exchange(resumed), b"", "a ticket from before the reload must not resume")
        resumed.close()
        self.assertServed("portal")
        lines = h.wait_for(lambda: [l for l in refusal_lines(self.gw, "revoked")
                                    if "sha256=%s" % fingerprint("district-office") in l], what="district-office logged")
        self.assertGreaterEqual(len(lines), 2)
        self.assertIn('listeners.api.crl_files: 1 list(s) read again, 2 certificate(s) revoked', log_text(self.gw))

    def test_post_reload_refuses_a_bad_list_and_keeps_the_one_in_force(self):
        make_crl(self.crl, revoke=("revoked-client", "district-office"))
        r = self.gw.admin("POST", "/reload", body={})
        self.assertEqual(r.status, 200, r.body)
        self.assertIn("listeners.api.crl_files: 1 list(s) read again, 2 certificate(s) revoked, crl_expired=refuse",
                      r.json["applied"])
        self.assertNotIn("listeners.api.crl_files", r.json["restart_needed"])
        self.assertRefused("district-office")
        # A file that is no list, then a list of another CA: refused, nothing changes.
        shutil.copy(h.pki_path("portal.crt"), self.crl)
        r = self.gw.admin("POST", "/reload", body={})
        self.assertEqual(r.status, 400, r.body)
        self.assertIn("listeners.api.crl_files", r.json["error"])
        self.assertIn(self.crl, r.json["error"])
        make_crl(self.crl, ca="outsider-ca")
        r = self.gw.admin("POST", "/reload", body={})
        self.assertEqual(r.status, 400, r.body)
        self.assertIn("not a CA of client_ca", r.json["error"])
        self.assertRefused("district-office")
        self.assertRefused("revoked-client")
        self.assertServed("portal")
        self.assertEqual([l["revoked"] for l in crl_status(self.gw)["lists"]], [2])
        # A new list that no longer lists district-office lets it back in.
        make_crl(self.crl, revoke=("revoked-client",))
        self.assertEqual(self.gw.admin("POST", "/reload", body={}).status, 200)
        self.assertServed("district-office")
        self.assertRefused("revoked-client")

    def test_an_expired_list_refuses_every_client_by_default(self):
        self.assertServed("portal")
        before = h.metric_samples(self.gw)
        make_crl(self.crl, revoke=("revoked-client",), last_update=PAST_LAST, next_update=PAST_NEXT)
        crl = reload_by_signal(self.gw)
        self.assertEqual((crl["color"], crl["lists"][0]["state"]), ("red", "expired"))
        self.assertLess(crl["lists"][0]["seconds_to_next_update"], 0)
        for cert in ("portal", "district-office"):
            self.assertRefused(cert)
        # The server counts a refused handshake when its side of it ends, which may come after the client gave up.
        key = 'lienthong_crl_expired_handshakes_total{listener="api",action="refused"}'
        after = h.wait_for(lambda: (lambda m: m if failures(m, "crl_expired") - failures(before, "crl_expired") >= 2
                                    and m.get(key, 0) >= 2 else None)(h.metric_samples(self.gw)), what="both refusals counted")
        self.assertEqual(failures(after, "crl_expired") - failures(before, "crl_expired"), 2)
        self.assertEqual(after['lienthong_crl_expired_handshakes_total{listener="api",action="refused"}'], 2)
        self.assertLess(after['lienthong_crl_next_update_seconds{listener="api",issuer="Lien Thong Province Dev CA"}'],
                        0)
        status = self.gw.admin("GET", "/status.json").json
        self.assertEqual(status["state"], "red")
        self.assertIn("every client is refused", status["reason"])
        text = log_text(self.gw)
        self.assertIn("is past its nextUpdate", text)
        self.assertIn("every client is refused (listeners.api.crl_expired=refuse)", text)
        h.wait_for(lambda: len(refusal_lines(self.gw, "crl_expired")) == 2, what="both refusals logged")


class ExpiredListWarnTest(unittest.TestCase):
    """crl_expired "warn": a list past its nextUpdate still refuses what it lists, and lets the rest in, loudly."""

    def test_warn_serves_with_a_warning_and_still_refuses_the_listed(self):
        d = h.make_tmpdir("lt-crl-")
        crl = make_crl(os.path.join(d, "expired.crl"), revoke=("revoked-client",), last_update=PAST_LAST,
                       next_update=PAST_NEXT)
        gw = h.Gateway(overrides={"listeners": {"api": {"crl_files": [crl], "crl_expired": "warn"}},
                                  "upstreams": {"population": {"probe": {"enabled": False}}}})
        try:
            r = gw.request("GET", "/nowhere")
            self.assertEqual(r.status, 404)
            p = h.tls_probe(gw.port, cert="revoked-client")
            self.assertEqual(p["received"], b"", p)
            h.wait_for(lambda: len(refusal_lines(gw, "revoked")) == 1, what="the revoked client logged")
            m = h.metric_samples(gw)
            self.assertGreaterEqual(m['lienthong_crl_expired_handshakes_total{listener="api",action="accepted"}'], 2)
            self.assertEqual(failures(m, "crl_expired"), 0)
            warnings = [l for l in log_text(gw).splitlines() if " warn crl: " in l and "past its nextUpdate" in l]
            self.assertTrue(warnings, gw.diag("a warning about the expired list"))
            self.assertIn("clients are accepted on it", warnings[0])
            self.assertIn("listeners.api.crl_expired=warn", warnings[0])
            crl_part = gw.admin("GET", "/status.json").json["crl"]
            self.assertEqual((crl_part["color"], crl_part["on_expired"]), ("amber", "warn"))
        finally:
            gw.kill()


class HandshakeLogLimitTest(unittest.TestCase):
    """A flood of refused handshakes is counted in full and logged at most LT_TLS_LOG_PER_MINUTE (20) lines a
    minute."""

    def test_a_flood_is_counted_but_not_all_logged(self):
        gw = h.Gateway(overrides={"upstreams": {"population": {"probe": {"enabled": False}}}})
        try:
            n = 45
            for _ in range(n):
                h.tls_probe(gw.port, cert="outsider-client")
            h.wait_for(lambda: failures(h.metric_samples(gw), "unknown_ca") == n, what="every refusal counted")
            lines = refusal_lines(gw, "unknown_ca")
            self.assertGreater(len(lines), 0)
            # However slow this machine, 45 handshakes span at most two minutes of 20 lines here.
            self.assertLessEqual(len(lines), 40)
            self.assertLess(len(lines), n)
            self.assertIn("sha256=%s" % fingerprint("outsider-client"), lines[0])
        finally:
            gw.kill()


class RevocationConfigTest(unittest.TestCase):
    """--check-config reads and checks the lists as start-up does."""

    def check(self, api):
        d = h.make_tmpdir("lt-crl-cfg-")
        cfg = h.gateway_config(h.free_port(), h.free_port(), overrides={"listeners": {"api": api}})
        path = os.path.join(d, "gateway.json")
        with open(path, "w") as f:
            import json
            json.dump(cfg, f)
        return h.run_gateway(["--config", path, "--check-config"])

    def test_lists_are_checked(self):
        d = h.make_tmpdir("lt-crl-cfg-")
        rc, out = self.check({"crl_files": [h.pki_path("province-ca.crl")]})
        self.assertEqual(rc, 0, out)
        rc, out = self.check({"crl_files": [make_crl(os.path.join(d, "der.crl"), der=True)], "crl_expired": "warn"})
        self.assertEqual(rc, 0, out)
        cases = [
            ({"crl_files": h.pki_path("province-ca.crl")}, "listeners.api.crl_files: must be a list"),
            ({"crl_files": ["/nonexistent/list.crl"]}, "listeners.api.crl_files[0]: cannot read file"),
            ({"crl_files": [h.pki_path("portal.crt")]}, "listeners.api.crl_files"),
            ({"crl_files": [make_crl(os.path.join(d, "outsider.crl"), ca="outsider-ca")]}, "not a CA of client_ca"),
            ({"crl_files": [h.pki_path("province-ca.crl"), make_crl(os.path.join(d, "again.crl"))]},
             "give one list per CA"),
            ({"crl_expired": "maybe"}, "listeners.api.crl_expired: must be refuse or warn"),
            ({"crl_warn_interval_s": 1}, "listeners.api.crl_warn_interval_s"),
        ]
        for api, needle in cases:
            with self.subTest(needle=needle):
                rc, out = self.check(api)
                self.assertNotEqual(rc, 0, out)
                self.assertIn(needle, out)
        # A list of only one of two client CAs would refuse every client of the other.
        both = os.path.join(d, "both-cas.crt")
        with open(both, "w") as f:
            for name in ("province-ca.crt", "national-ca.crt"):
                with open(h.pki_path(name)) as src:
                    f.write(src.read())
        rc, out = self.check({"client_ca": both, "crl_files": [h.pki_path("province-ca.crl")]})
        self.assertNotEqual(rc, 0, out)
        self.assertIn("no list of National Platform Dev CA", out)


if __name__ == "__main__":
    unittest.main()
