"""The gateway's command line and configuration checks (--check-config, --help, --version).

A bad configuration must be refused with a message that names the offending key
path or file, so an operator can fix it without reading the source.
"""

import json
import os
import shutil
import socket
import subprocess
import unittest

import harness as h


class ConfigTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dir = h.make_tmpdir("lt-conf-")
        cls.api_port, cls.admin_port = h.free_port(), h.free_port()

    def write(self, cfg, name="gateway.json", raw=None):
        path = os.path.join(self.dir, name)
        with open(path, "w", encoding="utf-8") as f:
            if raw is not None:
                f.write(raw)
            else:
                json.dump(cfg, f, indent=2)
        return path

    def config(self, overrides=None):
        return h.gateway_config(self.api_port, self.admin_port, "https://127.0.0.1:9", overrides)

    def check(self, cfg=None, name="gateway.json", raw=None, cwd=None):
        path = self.write(cfg, name, raw)
        return h.run_gateway(["--check-config", "--config", path], cwd=cwd)

    def assertRefused(self, rc, out, *needles):
        self.assertNotEqual(rc, 0, "must be refused:\n" + out)
        self.assertNotEqual(rc, None)
        for n in needles:
            self.assertIn(n, out, "the message should name %r" % n)

    def test_comment_keys_are_ignored_at_any_depth(self):
        cfg = self.config({"// top": "why", "listeners": {"// api": "mutual TLS", "api": {"// bind": "all"}},
                           "upstreams": {"// population": "X-Road", "population": {"// t": 1, "service": {"// s": 2}}}})
        rc, out = self.check(cfg)
        self.assertEqual(rc, 0, out)
        # A key that merely contains slashes is no comment.
        rc, out = self.check(self.config({"upstreams": {"population": {"a//b": 1}}}))
        self.assertRefused(rc, out, "upstreams.population.a//b")

    def test_the_commented_production_sample_is_valid(self):
        """config/production.json, with its /etc paths pointed at this run's PKI, passes --check-config."""
        with open(os.path.join(h.SOURCE_DIR, "config", "production.json"), encoding="utf-8") as f:
            text = f.read()
        password = self.write(None, "redis.password", raw="not-a-real-password\n")
        files = {
            "/etc/lienthong/tls/gateway.crt": h.pki_path("gateway.crt"),
            "/etc/lienthong/tls/gateway.key": h.pki_path("gateway.key"),
            "/etc/lienthong/tls/province-ca.crt": h.pki_path("province-ca.crt"),
            "/etc/lienthong/tls/national-client.crt": h.pki_path("gateway-national.crt"),
            "/etc/lienthong/tls/national-client.key": h.pki_path("gateway-national.key"),
            "/etc/lienthong/tls/national-ca.crt": h.pki_path("national-ca.crt"),
            "/etc/lienthong/secrets/redis.password": password,
        }
        for name in ("cache-hmac.key", "cache-aead.key", "business-client.secret", "tax-api.key",
                     "insurance-hmac.secret", "payment-hash.secret", "webhook.secret"):
            files["/etc/lienthong/secrets/" + name] = h.pki_path(name)
        for old, new in files.items():
            self.assertIn(old, text)
            text = text.replace(old, new)
        self.assertNotIn("/etc/lienthong", text, "every path of the sample is covered")
        cfg = json.loads(text)
        self.assertTrue(any(k.startswith("//") for k in cfg), "the sample explains itself")
        cfg["listeners"]["api"]["bind"] = "127.0.0.1:%d" % self.api_port
        cfg["listeners"]["admin"]["bind"] = "127.0.0.1:%d" % self.admin_port
        rc, out = self.check(cfg, name="production.json")
        self.assertEqual(rc, 0, out)

    def payments_config(self, payments=None, callbacks=True):
        section = {"base_url": "https://127.0.0.1:9", "tmn_code": "LTDEV001",
                   "hash_secret_file": h.pki_path("payment-hash.secret"), "public_url": "https://127.0.0.1:8444"}
        section.update(payments or {})
        over = {"payments": section}
        if callbacks:
            over["listeners"] = {"callbacks": {"bind": "127.0.0.1:%d" % h.free_port(),
                                               "cert": h.pki_path("gateway.crt"), "key": h.pki_path("gateway.key")}}
        return self.config(over)

    def test_payments_section_is_checked(self):
        rc, out = self.check(self.payments_config())
        self.assertEqual(rc, 0, out)
        cases = [
            (self.payments_config(callbacks=False), "listeners.callbacks"),
            (self.payments_config({"tmn_code": "SHORT"}), "payments.tmn_code"),
            (self.payments_config({"public_url": "http://127.0.0.1:8444"}), "payments.public_url"),
            (self.payments_config({"public_url": "https://x/" + "a" * 250}), "payments.public_url"),
            (self.payments_config({"hash_secret_file": "/nonexistent/secret"}), "payments.hash_secret_file"),
            (self.payments_config({"store": {"backend": "sqlite"}}), "payments.store.backend"),
            (self.payments_config({"webhook": {"url": "https://portal/hook"}}), "payments.webhook.secret_file"),
            (self.payments_config({"webhook": {"retries": 3}}), "payments.webhook.retries"),
            (self.payments_config({"ipn_allow": "127.0.0.1"}), "payments.ipn_allow"),
            (self.payments_config({"default_expires_in_s": 10}), "payments.default_expires_in_s"),
        ]
        for cfg, needle in cases:
            with self.subTest(needle=needle):
                rc, out = self.check(cfg)
                self.assertRefused(rc, out, needle)
        over = self.config({"listeners": {"callbacks": {"cert": h.pki_path("gateway.crt"),
                                                        "key": h.pki_path("gateway.key")}}})
        self.assertRefused(*self.check(over), "listeners.callbacks")

    def test_the_systemd_unit_verifies(self):
        """config/lienthong-gateway.service is a valid unit once its ExecStart names a real binary."""
        tool = shutil.which("systemd-analyze")
        if tool is None:
            self.skipTest("systemd-analyze is not installed")
        with open(os.path.join(h.SOURCE_DIR, "config", "lienthong-gateway.service"), encoding="utf-8") as f:
            unit = f.read()
        self.assertIn("ExecStart=/usr/local/bin/lienthong-gateway --config", unit)
        for option in ("NoNewPrivileges=yes", "ProtectSystem=strict", "SystemCallFilter=@system-service"):
            self.assertIn(option, unit, "the unit is sandboxed")
        path = self.write(None, "lienthong-gateway.service", raw=unit.replace("/usr/local/bin/lienthong-gateway",
                                                                               h.GATEWAY_BIN))
        r = subprocess.run([tool, "verify", path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        self.assertEqual((r.returncode, r.stdout.decode()), (0, ""))
        # The control case: a broken directive is reported, so a clean verify means something.
        broken = unit.replace("/usr/local/bin/lienthong-gateway", h.GATEWAY_BIN)
        bad = self.write(None, "broken.service", raw=broken.replace("ProtectSystem=strict", "ProtectSystem=nonsense"))
        r = subprocess.run([tool, "verify", bad], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        self.assertIn("protect system value", r.stdout.decode())

    def test_good_config_passes(self):
        rc, out = self.check(self.config())
        self.assertEqual(rc, 0, out)
        # --check-config only checks: nothing is left listening
        for port in (self.api_port, self.admin_port):
            with socket.socket() as s:
                s.bind((h.HOST, port))

    def test_relative_paths_resolve_against_the_config_directory(self):
        d = os.path.join(self.dir, "rel")
        os.makedirs(os.path.join(d, "pki"), exist_ok=True)
        for f in h.PKI_FILES:
            shutil.copy(h.pki_path(f), os.path.join(d, "pki", f))
        cfg = self.config()
        for sect in (cfg["listeners"]["api"], cfg["upstreams"]["population"]):
            for k in ("cert", "key", "client_ca", "ca"):
                if k in sect:
                    sect[k] = "pki/" + os.path.basename(sect[k])
        rc, out = self.check(cfg, name="rel/gateway.json", cwd="/")
        self.assertEqual(rc, 0, out)
        # and the same relative paths from a config elsewhere are missing files
        rc, out = self.check(cfg, name="elsewhere.json", cwd=d)
        self.assertRefused(rc, out, "pki/gateway.crt")

    def test_unknown_key(self):
        cfg = self.config({"upstreams": {"population": {"timout_ms": 1000}}})
        rc, out = self.check(cfg)
        self.assertRefused(rc, out, "upstreams.population.timout_ms")
        rc, out = self.check(self.config({"wrokers": 2}))
        self.assertRefused(rc, out, "wrokers")
        rc, out = self.check(self.config({"upstreams": {"population": {"service": {"membr_code": "x"}}}}))
        self.assertRefused(rc, out, "upstreams.population.service.membr_code")

    def test_wrong_type(self):
        rc, out = self.check(self.config({"workers": "two"}))
        self.assertRefused(rc, out, "workers")
        rc, out = self.check(self.config({"upstreams": {"population": {"timeout_ms": "10s"}}}))
        self.assertRefused(rc, out, "upstreams.population.timeout_ms")
        rc, out = self.check(self.config({"listeners": {"api": "0.0.0.0:8443"}}))
        self.assertRefused(rc, out, "listeners.api")

    def test_missing_required_key(self):
        cfg = self.config()
        del cfg["listeners"]["api"]["cert"]
        rc, out = self.check(cfg)
        self.assertRefused(rc, out, "listeners.api.cert")

    def test_unreadable_cert_path(self):
        missing = os.path.join(self.dir, "no-such-dir", "gateway.crt")
        rc, out = self.check(self.config({"listeners": {"api": {"cert": missing}}}))
        self.assertRefused(rc, out, missing)
        missing = os.path.join(self.dir, "no-such-national-ca.crt")
        rc, out = self.check(self.config({"upstreams": {"population": {"ca": missing}}}))
        self.assertRefused(rc, out, missing)

    def test_file_that_is_not_a_certificate(self):
        junk = os.path.join(self.dir, "junk.crt")
        with open(junk, "w") as f:
            f.write("this is not a certificate\n")
        for over in ({"listeners": {"api": {"cert": junk}}},
                     {"listeners": {"api": {"client_ca": junk}}},
                     {"upstreams": {"population": {"cert": junk}}},
                     {"upstreams": {"population": {"ca": junk}}}):
            with self.subTest(over=over):
                rc, out = self.check(self.config(over))
                self.assertRefused(rc, out, junk)

    def test_key_that_does_not_match_the_cert(self):
        rc, out = self.check(self.config({"listeners": {"api": {"key": h.pki_path("portal.key")}}}))
        self.assertRefused(rc, out)
        self.assertIn("key", out.lower())

    def test_invalid_json_and_missing_file(self):
        rc, out = self.check(raw='{"workers": 2,, }', name="broken.json")
        self.assertRefused(rc, out, "broken.json")
        missing = os.path.join(self.dir, "absent.json")
        rc, out = h.run_gateway(["--check-config", "--config", missing])
        self.assertRefused(rc, out, missing)

    def test_bad_config_stops_startup(self):
        path = self.write(self.config({"upstreams": {"population": {"timout_ms": 1000}}}), name="start.json")
        rc, out = h.run_gateway(["--config", path], timeout=20)
        self.assertRefused(rc, out, "upstreams.population.timout_ms")

    def test_help(self):
        rc, out = h.run_gateway(["--help"])
        self.assertEqual(rc, 0, out)
        self.assertIn("--config", out)
        self.assertIn("--check-config", out)

    def test_version(self):
        rc, out = h.run_gateway(["--version"])
        self.assertEqual(rc, 0, out)
        want = h.project_version()
        self.assertTrue(want, "no VERSION in CMakeLists.txt project()")
        self.assertIn(want, out)

    def test_unknown_option(self):
        rc, out = h.run_gateway(["--no-such-option"])
        self.assertNotEqual(rc, 0, out)


if __name__ == "__main__":
    unittest.main()
