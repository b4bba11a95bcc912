"""The gateway's command line and configuration checks (--check-config, --help, --version).

A bad configuration must be refused with a message that names the offending key
path or file, so an operator can fix it without reading the source.
"""

import json
import os
import re
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

    def production_config(self):
        """config/production.json with its /etc paths pointed at this run's PKI, its listeners on this test's ports."""
        with open(os.path.join(h.SOURCE_DIR, "config", "production.json"), encoding="utf-8") as f:
            text = f.read()
        password = self.write(None, "redis.password", raw="not-a-real-password\n")
        files = {
            "/etc/lienthong/tls/gateway.crt": h.pki_path("gateway.crt"),
            "/etc/lienthong/tls/gateway.key": h.pki_path("gateway.key"),
            "/etc/lienthong/tls/province-ca.crt": h.pki_path("province-ca.crt"),
            "/etc/lienthong/tls/province-ca.crl": h.pki_path("province-ca.crl"),
            "/etc/lienthong/tls/national-client.crt": h.pki_path("gateway-national.crt"),
            "/etc/lienthong/tls/national-client.key": h.pki_path("gateway-national.key"),
            "/etc/lienthong/tls/national-ca.crt": h.pki_path("national-ca.crt"),
            "/etc/lienthong/secrets/redis.password": password,
        }
        for name in ("admin.token", "cache-hmac.key", "cache-aead.key", "business-client.secret", "tax-api.key",
                     "insurance-hmac.secret", "payment-hash.secret", "webhook.secret", "civil-status.password"):
            files["/etc/lienthong/secrets/" + name] = h.pki_path(name)
        for old, new in files.items():
            self.assertIn(old, text)
            text = text.replace(old, new)
        self.assertNotIn("/etc/lienthong", text, "every path of the sample is covered")
        cfg = json.loads(text)
        self.assertTrue(any(k.startswith("//") for k in cfg), "the sample explains itself")
        cfg["listeners"]["api"]["bind"] = "127.0.0.1:%d" % self.api_port
        cfg["listeners"]["admin"]["bind"] = "127.0.0.1:%d" % self.admin_port
        cfg["audit"]["dir"] = os.path.join(h.make_tmpdir("lt-audit-"), "audit")  # /var/lib may not be ours here
        return cfg

    def test_the_commented_production_sample_is_valid(self):
        """config/production.json, with its /etc paths pointed at this run's PKI, passes --check-config."""
        rc, out = self.check(self.production_config(), name="production.json")
        self.assertEqual(rc, 0, out)

    def payments_config(self, payments=None, callbacks=True):
        section = {"base_url": "https://127.0.0.1:9", "tmn_code": "LTDEV001",
                   "hash_secret_file": h.pki_path("payment-hash.secret"), "public_url": "https://127.0.0.1:8444"}
        section.update(payments or {})
        over = {"payments": section, "cache": {"keys": h.cache_keys()}}
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
        # Payments seal what they store with the cache's key files: without them, --check-config refuses.
        no_keys = self.payments_config()
        del no_keys["cache"]["keys"]
        self.assertRefused(*self.check(no_keys), "cache.keys", "payments")
        over = self.config({"listeners": {"callbacks": {"cert": h.pki_path("gateway.crt"),
                                                        "key": h.pki_path("gateway.key")}}})
        self.assertRefused(*self.check(over), "listeners.callbacks")

    def test_listen_addresses_are_checked(self):
        """A listen address start-up could not bind is refused, naming its key."""
        cases = [("127.0.0.1:99999", "port 99999"), ("8443", "'8443'"), ("::1:8443", "'::1:8443'"),
                 ("localhost:8443", "'localhost:8443'"), ("127.0.0.1:", "'127.0.0.1:'"), ("127.0.0.1:0", "port 0")]
        for bind, why in cases:
            for listener in ("api", "admin"):
                with self.subTest(listener=listener, bind=bind):
                    rc, out = self.check(self.config({"listeners": {listener: {"bind": bind}}}))
                    self.assertRefused(rc, out, "listeners.%s.bind: " % listener, why)
        rc, out = self.check(self.config({"listeners": {"api": {"bind": "[::1]:%d" % h.free_port()}}}))
        if "Cannot assign requested address" not in out:  # a host without IPv6 loopback
            self.assertEqual(rc, 0, out)
        rc, out = self.check(self.payments_config())
        self.assertEqual(rc, 0, out)
        cfg = self.payments_config()
        cfg["listeners"]["callbacks"]["bind"] = "0.0.0.0:8444x"
        self.assertRefused(*self.check(cfg), "listeners.callbacks.bind: ")

    def test_a_port_in_use_is_refused_with_the_systems_reason(self):
        """--check-config binds each listener and releases it: one that is taken is refused as start-up would."""
        cfg = self.payments_config()
        callbacks = int(cfg["listeners"]["callbacks"]["bind"].rsplit(":", 1)[1])
        for listener, port in (("api", self.api_port), ("admin", self.admin_port), ("callbacks", callbacks)):
            with self.subTest(listener=listener), socket.socket() as taken:
                taken.bind((h.HOST, port))
                taken.listen()
                rc, out = self.check(cfg)
                self.assertRefused(rc, out, "listeners.%s.bind: cannot listen on 127.0.0.1:%d: Address already in use"
                                   % (listener, port))
        # Released again: the same config passes now that nothing holds the ports.
        rc, out = self.check(cfg)
        self.assertEqual(rc, 0, out)
        # Start-up says the same, with the key.
        with socket.socket() as taken:
            taken.bind((h.HOST, self.api_port))
            taken.listen()
            path = self.write(cfg, name="taken.json")
            rc, out = h.run_gateway(["--config", path], timeout=30)
            self.assertRefused(rc, out, "listeners.api.bind: cannot listen on 127.0.0.1:%d: Address already in use"
                               % self.api_port)

    def test_tls_errors_name_the_listener(self):
        rc, out = self.check(self.config({"listeners": {"api": {"key": h.pki_path("portal.key")}}}))
        self.assertRefused(rc, out, "listeners.api: ")
        cfg = self.payments_config()
        cfg["listeners"]["callbacks"]["key"] = h.pki_path("portal.key")
        self.assertRefused(*self.check(cfg), "listeners.callbacks: ")

    def config_schema_errors(self, cfg):
        import jsonschema
        with open(os.path.join(h.SOURCE_DIR, "schemas", "config.schema.json"), encoding="utf-8") as f:
            schema = json.load(f)
        jsonschema.Draft202012Validator.check_schema(schema)
        return [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(cfg)]

    def test_the_shipped_configs_pass_the_config_schema(self):
        """schemas/config.schema.json describes config/dev.json, config/production.json and the tests' config."""
        for name in ("dev.json", "production.json"):
            with self.subTest(config=name), open(os.path.join(h.SOURCE_DIR, "config", name), encoding="utf-8") as f:
                self.assertEqual(self.config_schema_errors(json.load(f)), [])
        self.assertEqual(self.config_schema_errors(self.payments_config()), [])
        # What the gateway refuses, the schema refuses too: it is no "anything goes".
        for over in ({"wrokers": 2}, {"listeners": {"api": {"bind": "8443"}}}, {"limits": {"max_body_bytes": 1}},
                     {"upstreams": {"population": {"timout_ms": 1}}}, {"cache": {"backend": "disk"}},
                     {"listeners": {"admin": {"bind": 9090}}}):
            with self.subTest(over=over):
                cfg = self.config(over)
                self.assertNotEqual(self.config_schema_errors(cfg), [])
                self.assertRefused(*self.check(cfg))
        bad = self.payments_config({"store": {"backend": "sqlite"}})
        self.assertNotEqual(self.config_schema_errors(bad), [])

    def config_keys(self, cfg):
        """The rows of the loader's key tables (--print-config-keys) for every section it read in cfg."""
        h.require_binary(h.GATEWAY_BIN)
        path = self.write(cfg, name="keys.json")
        r = subprocess.run([h.GATEWAY_BIN, "--print-config-keys", "--config", path], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        return [json.loads(line) for line in r.stdout.decode().splitlines()]

    def every_section_config(self):
        """A config in which the loader reads every section it has: the production sample (every adapter, payments,
        audit, cache keys and operations, a client) plus a dossiers section with its indicators, and rate limits
        shared through Redis."""
        cfg = self.production_config()
        cfg["dossiers"] = {"portal": {"url": "https://127.0.0.1:9/adapter", "username": "lienthong",
                                      "password_file": h.pki_path("public-portal.secret"), "dstcode": "LTDEV-DST",
                                      "unit_code": "000.00.00.H53"},
                           "indicators": {"online_channel_codes": ["1"]}}
        cfg["rate_limits"] = {"redis": {"address": "127.0.0.1:6379"}}
        client = next(v for k, v in cfg["clients"].items() if not k.startswith("//"))
        client["rate_limits"] = {"*": {"rate": 10, "per": "second", "burst": 20}}  # a pattern with no dot: one path segment
        adapters = sorted(d for d in os.listdir(os.path.join(h.SOURCE_DIR, "adapters"))
                          if os.path.exists(os.path.join(h.SOURCE_DIR, "adapters", d, "CMakeLists.txt")))
        self.assertEqual(sorted(k for k in cfg["upstreams"] if not k.startswith("//")), adapters,
                         "config/production.json has a section for every adapter, so its service keys are listed")
        return cfg

    def test_the_config_schema_names_every_key_the_gateway_reads(self):
        """Each row of the loader's tables (lienthong-gateway --print-config-keys) is a key of
        schemas/config.schema.json with the same type, range, default and requirement; and each key of the schema is
        one the loader read. A key added to a table and not to the schema (or the other way round) fails here."""
        with open(os.path.join(h.SOURCE_DIR, "schemas", "config.schema.json"), encoding="utf-8") as f:
            schema = SchemaKeys(json.load(f))
        rows = self.config_keys(self.every_section_config())
        self.assertGreater(len(rows), 100)
        for row in rows:
            with self.subTest(key=row["path"]):
                self.assertEqual(schema.mismatches(row), [])
        self.assertEqual(sorted(schema.unread()), [], "schema keys the loader never offered")
        # The control: a table row the schema lacks, and a schema key the loader lacks, are both reported.
        self.assertNotEqual(schema.mismatches({"path": "limits.max_bodee_bytes", "type": "integer",
                                               "required": False}), [])
        wrong = {"path": "limits.max_body_bytes", "type": "integer", "required": False, "min": 256, "max": 16 << 20,
                 "default": 1}
        self.assertNotEqual(schema.mismatches(wrong), [])
        partial = SchemaKeys(schema.schema)
        for row in rows:
            if row["path"] != "audit.queue_max":
                partial.mismatches(row)
        self.assertEqual(partial.unread(), ["/properties/audit/properties/queue_max"])

    def test_print_config_keys_refuses_a_bad_config(self):
        path = self.write(self.config({"wrokers": 2}), name="bad-keys.json")
        rc, out = h.run_gateway(["--print-config-keys", "--config", path])
        self.assertRefused(rc, out, "wrokers: unknown key")
        self.assertNotIn('"path"', out, "no partial list")
        rc, out = h.run_gateway(["--print-config-keys", "--check-config", "--config", path])
        self.assertEqual(rc, 2, out)

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

    def admin(self, **admin):
        return self.config({"listeners": {"admin": admin}})

    def token_file(self, name, text, mode=0o600):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def test_the_admin_listener_binds_loopback_only(self):
        token = self.token_file("admin.token", "a" * 64 + "\n")
        port = self.admin_port
        for bind in ("0.0.0.0:%d" % port, "[::]:%d" % port, "10.1.2.3:%d" % port, "192.168.0.1:%d" % port):
            for over in ({"bind": bind}, {"bind": bind, "token_file": token}):
                with self.subTest(over=over):
                    rc, out = self.check(self.admin(**over))
                    self.assertRefused(rc, out, "listeners.admin.bind", bind, "not a loopback address", "SSH")
        for bind in ("localhost:%d" % port, "127.0.0.1", "127.0.0.1:0", "127.0.0.1:99999"):
            with self.subTest(bind=bind):
                self.assertRefused(*self.check(self.admin(bind=bind, token_file=token)), "listeners.admin.bind")
        for bind in ("127.0.0.1:%d" % port, "127.0.0.2:%d" % port, "[::1]:%d" % port):
            with self.subTest(bind=bind):
                rc, out = self.check(self.admin(bind=bind, token_file=token))
                self.assertEqual(rc, 0, out)

    def test_the_admin_token_file_is_checked(self):
        good = self.token_file("good.token", "  " + "Zm9v-._~+/" * 4 + "==\n")
        rc, out = self.check(self.admin(token_file=good))
        self.assertEqual(rc, 0, out)
        cases = {
            "missing": os.path.join(self.dir, "no-such.token"),
            "empty": self.token_file("empty.token", ""),
            "short": self.token_file("short.token", "a" * 31 + "\n"),
            "long": self.token_file("long.token", "a" * 513),
            "two words": self.token_file("words.token", "a" * 32 + " " + "b" * 32),
            "a line break inside": self.token_file("lines.token", "a" * 32 + "\n" + "b" * 32),
            "not b64token": self.token_file("quote.token", "a" * 32 + '"'),
            "readable by everyone": self.token_file("open.token", "a" * 64, mode=0o644),
            "a directory": self.dir,
        }
        for why, path in cases.items():
            with self.subTest(why=why):
                self.assertRefused(*self.check(self.admin(token_file=path)), "listeners.admin.token_file")
        rc, out = self.check(self.admin(token_file=self.token_file("group.token", "a" * 64, mode=0o640)))
        self.assertEqual(rc, 0, "an operators' group may read it: " + out)

    def test_the_admin_host_names_are_checked(self):
        rc, out = self.check(self.admin(hosts=["admin.gw1.example", "admin.gw1.example:8080", "[::1]:19090"]))
        self.assertEqual(rc, 0, out)
        for bad in (["http://admin.example"], ["admin example"], ["admin.example:"], ["admin.example:123456"], [""],
                    [7], "admin.example"):
            with self.subTest(hosts=bad):
                self.assertRefused(*self.check(self.admin(hosts=bad)), "listeners.admin.hosts")

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

    def test_time_zone_is_an_offset(self):
        for good in ("+07:00", "Z", "-03:30"):
            rc, out = self.check(self.config({"time_zone": good}))
            self.assertEqual(rc, 0, out)
        for bad in ("+7", "Asia/Ho_Chi_Minh", "+07:60"):
            rc, out = self.check(self.config({"time_zone": bad}))
            self.assertRefused(rc, out, "time_zone: '%s' must be an offset such as +07:00 or Z" % bad)

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


class SchemaKeys:
    """schemas/config.schema.json walked along the loader's key paths ("upstreams.tax.service.unit_code"), through
    properties, additionalProperties (client ids, cache systems), items ("aead[0]") and local $refs."""

    # Required by a loader's own check rather than by its table's row (lt_config_load_clients: default deny).
    REQUIRED_BY_HAND = {"clients"}

    def __init__(self, schema):
        self.schema = schema
        self.read = set()

    def deref(self, ptr, node):
        found = [(ptr, node)]
        ref = node.get("$ref")
        if ref is not None:
            target = self.schema
            for part in ref[2:].split("/"):
                target = target[part]
            found += self.deref(ref[1:], target)
        return found

    def child(self, nodes, key):
        """The schemas key has under nodes: those `properties` name it with (and their $refs), then the others."""
        named, other = [], []
        for ptr, node in nodes:
            if key in node.get("properties", {}):
                named += self.deref("%s/properties/%s" % (ptr, key), node["properties"][key])
            elif isinstance(node.get("additionalProperties"), dict):
                other += self.deref(ptr + "/additionalProperties", node["additionalProperties"])
        return named, other

    def resolve(self, path):
        """(the schemas of the key's section, the schemas `properties` give the key), marking the way as read."""
        nodes = self.deref("", self.schema)
        *sections, key = path.split(".")
        for segment in sections:
            name, indexes = re.fullmatch(r"(.*?)((?:\[\d+\])*)", segment).groups()
            named, other = self.child(nodes, name)
            nodes = named + other
            for _ in range(indexes.count("[")):
                nodes = [n for p, node in nodes if "items" in node for n in self.deref(p + "/items", node["items"])]
            self.read.update(p for p, _ in named)
        named, _ = self.child(nodes, key)
        self.read.update(p for p, _ in named)
        return nodes, [n for _, n in named]

    def mismatches(self, row):
        """What the schema says otherwise than the gateway's row does: [] when they agree."""
        path, key = row["path"], row["path"].split(".")[-1]
        section, schemas = self.resolve(path)
        if not schemas:
            return ["%s: not in the schema" % path]
        why = []
        want = "string" if row["type"] == "file" else row["type"]
        kind = {"string": str, "integer": int, "boolean": bool, "object": dict, "array": list}[want]
        types = [n["type"] for n in schemas if "type" in n]
        enums = [v for n in schemas for v in n.get("enum", [])]
        if not types and not enums:
            why.append("%s: the schema states no type" % path)
        if any(t != want for t in types) or any(type(v) is not kind for v in enums):
            why.append("%s: the gateway reads %s, the schema says %s" % (path, row["type"], types or enums))
        if want == "integer" and not any(n.get("minimum") == row["min"] and n.get("maximum") == row["max"]
                                         for n in schemas):
            why.append("%s: the gateway's range is %d..%d" % (path, row["min"], row["max"]))
        for n in schemas:
            if "default" in n and n["default"] != row.get("default"):
                why.append("%s: the schema's default is %r, the gateway's %r" % (path, n["default"], row.get("default")))
        required = any(key in node.get("required", []) for _, node in section)
        if required != row["required"] and not (required and path in self.REQUIRED_BY_HAND):
            why.append("%s: the gateway %s it" % (path, "requires" if row["required"] else "does not require"))
        return why

    def properties(self, node=None, ptr=""):
        """Every `properties` entry of the schema (its keys), as JSON pointers."""
        node = self.schema if node is None else node
        found = []
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "properties":
                    for name, sub in v.items():
                        found.append("%s/properties/%s" % (ptr, name))
                        found += self.properties(sub, "%s/properties/%s" % (ptr, name))
                else:
                    found += self.properties(v, "%s/%s" % (ptr, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                found += self.properties(v, "%s/%d" % (ptr, i))
        return found

    def unread(self):
        return [p for p in self.properties() if p not in self.read]


if __name__ == "__main__":
    unittest.main()
