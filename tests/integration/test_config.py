"""The gateway's command line and configuration checks (--check-config, --help, --version).

A bad configuration must be refused with a message that names the offending key
path or file, so an operator can fix it without reading the source.
"""

import json
import os
import shutil
import socket
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
