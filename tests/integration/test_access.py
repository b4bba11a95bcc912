"""Who may see what: listed clients, permissions per operation, default deny, the client's own rules for the
purpose, and the config errors that keep a typo from granting or denying the wrong thing. Real processes: the
population and payment simulators, the gateway, certificates from certs/gen-pki.sh (other-portal and portal-twin
are valid certificates of the provincial CA that the dev config does not list; portal-twin has the portal's CN)."""
import json
import os
import subprocess
import unittest

import harness as h
from payenv import PayGateway, journal_store
from test_audit import trail


def fingerprint(cert):
    """The certificate's SHA-256 fingerprint as openssl prints it ("AB:CD:..."), which the config accepts."""
    out = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", h.pki_path(cert + ".crt")],
                         stdout=subprocess.PIPE, check=True).stdout.decode()
    return out.strip().split("=", 1)[1]


class IssuerNameTest(unittest.TestCase):
    def test_the_harness_names_the_issuer_as_openssl_does(self):
        """The clients' `issuer` is what operators copy from openssl: if gen-pki's CA changed, this says so."""
        out = subprocess.run(["openssl", "x509", "-noout", "-issuer", "-nameopt", "RFC2253", "-in",
                              h.pki_path("portal.crt")], stdout=subprocess.PIPE, check=True).stdout.decode()
        self.assertEqual(out.strip(), "issuer=" + h.PROVINCE_CA_DN)


class DefaultDenyTest(unittest.TestCase):
    """The dev clients: portal may do everything, district-office may verify and look businesses up."""

    @classmethod
    def setUpClass(cls):
        cls.sim = h.Sim("population")
        cls.gw = h.Gateway(cls.sim)
        cls.person = h.sim_sample(1, seed=cls.sim.seed)[0]

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()
        cls.sim.stop()

    def ident(self):
        p = self.person
        return {"id": p["id"], "full_name": p["full_name"], "birth_date": p["birth_date"]}

    def test_district_office_may_verify_but_not_look_up(self):
        before = self.sim.requests()
        r = self.gw.verify(self.ident(), cert="district-office")
        self.assertEqual(r.status, 200, self.gw.diag(repr(r)))
        self.assertIn(r.json["match"], (True, False))
        self.assertEqual(self.sim.requests(), before + 1)
        r = self.gw.lookup(self.ident(), cert="district-office")
        self.assertEqual(r.status, 403, r.body)
        self.assertEqual(r.json["type"], "urn:lienthong:problem:operation_not_allowed")
        self.assertIn("population.lookup", r.json["detail"])
        self.assertIn("district-office", r.json["detail"])
        self.assertEqual(self.sim.requests(), before + 1, "a refused operation never reaches the national system")

    def test_district_office_gets_403_on_payments(self):
        r = self.gw.request("POST", "/v1/payments", body={"dossier_id": "x"}, cert="district-office")
        self.assertEqual(r.status, 403, r.body)
        self.assertIn("payments", r.json["detail"])
        r = self.gw.request("GET", "/v1/payments/LT20261123-0123456789abcdef", cert="district-office")
        self.assertEqual(r.status, 403, r.body)

    def test_an_unlisted_certificate_gets_403_everywhere(self):
        before = self.sim.requests()
        for cert in ("other-portal",):
            for method, path, body in (("POST", "/v1/citizens/lookup", self.ident()),
                                       ("POST", "/v1/citizens/verify", self.ident()),
                                       ("GET", "/v1/taxpayers/0100233488", None),
                                       ("POST", "/v1/payments", {}),
                                       ("GET", "/v1/payments/LT20261123-0123456789abcdef", None),
                                       ("GET", "/v1/no-such-route", None)):
                with self.subTest(cert=cert, path=path):
                    r = self.gw.request(method, path, body=body, headers=h.officer_headers(), cert=cert)
                    self.assertEqual(r.status, 403, r.body)
                    self.assertEqual(r.json["type"], "urn:lienthong:problem:client_not_listed")
                    self.assertTrue(r.header("X-Request-Id"))
        self.assertEqual(self.sim.requests(), before)

    def test_the_portal_may_do_everything(self):
        r = self.gw.lookup(self.ident())
        self.assertEqual(r.status, 200, self.gw.diag(repr(r)))
        self.assertEqual(r.json["id"], self.person["id"])

    def test_a_cn_rule_lets_a_second_certificate_with_that_cn_in(self):
        """The dev config matches the portal by CN: any certificate the CA issues with CN=portal is the portal."""
        r = self.gw.lookup(self.ident(), cert="portal-twin")
        self.assertEqual(r.status, 200, r.body)

    def test_purpose_text_is_checked_before_it_goes_anywhere(self):
        before = self.sim.requests()
        # A control character is refused by the strict request-head check, before any route reads the header.
        for bad, code in ((b"HS-2025\x01-42", "bad_header_value"), (b"HS-\xff\xfe-42", "invalid_purpose"),
                          (b"HS-\xc3\x28-42", "invalid_purpose"), (b"x" * 257, "invalid_purpose")):
            with self.subTest(purpose=bad[:20]):
                headers = h.officer_headers()
                headers["X-Purpose"] = bad
                r = self.gw.request("POST", "/v1/citizens/lookup", body=self.ident(), headers=headers)
                self.assertEqual(r.status, 400, r.body)
                self.assertEqual(r.json["type"], "urn:lienthong:problem:" + code)
        self.assertEqual(self.sim.requests(), before)
        headers = h.officer_headers()
        headers["X-Purpose"] = "Xác minh hồ sơ 000.00.12.H53-241122-0001".encode()
        r = self.gw.request("POST", "/v1/citizens/lookup", body=self.ident(), headers=headers)
        self.assertEqual(r.status, 200, r.body)


class ProjectionTest(unittest.TestCase):
    """Field projection on one cached copy: each client sees what its field list (or the default, every field but
    the sensitive ones) releases, and source.withheld names exactly what was taken out."""

    @classmethod
    def setUpClass(cls):
        cls.sim = h.Sim("population")
        clients = h.dev_clients()
        clients["district-office"]["allow"] = ["population.lookup"]
        clients["district-office"]["fields"] = {"population.lookup": ["id", "full_name", "birth_date"]}
        clients["other-portal"] = {"issuer": h.PROVINCE_CA_DN, "cn": "other-portal", "allow": ["population.lookup"]}
        cls.gw = h.Gateway(cls.sim, overrides={"clients": clients, "cache": {"backend": "memory"}})
        p = h.sim_sample(1, seed=cls.sim.seed)[0]
        cls.ident = {"id": p["id"], "full_name": p["full_name"], "birth_date": p["birth_date"]}

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()
        cls.sim.stop()

    def test_each_client_gets_its_own_view_of_one_cached_copy(self):
        before = self.sim.requests()
        full = self.gw.lookup(self.ident)
        self.assertEqual(full.status, 200, self.gw.diag(repr(full)))
        self.assertEqual(full.header("X-Cache"), "miss")
        self.assertNotIn("withheld", full.json["source"])
        for sensitive in ("ethnicity", "religion"):
            self.assertIn(sensitive, full.json, "the portal's list names the sensitive fields")
        everything = set(full.json) - {"source"}

        narrow = self.gw.lookup(self.ident, cert="district-office")
        self.assertEqual(narrow.status, 200, narrow.body)
        self.assertEqual(narrow.header("X-Cache"), "hit")
        self.assertEqual(set(narrow.json) - {"source"}, {"id", "full_name", "birth_date"})
        self.assertEqual(set(narrow.json["source"]["withheld"]), everything - {"id", "full_name", "birth_date"})
        self.assertEqual(narrow.json["full_name"], full.json["full_name"])

        default = self.gw.lookup(self.ident, cert="other-portal")
        self.assertEqual(default.status, 200, default.body)
        self.assertEqual(default.header("X-Cache"), "hit")
        self.assertEqual(set(default.json["source"]["withheld"]), {"ethnicity", "religion"})
        self.assertEqual(set(default.json) - {"source"}, everything - {"ethnicity", "religion"})

        again = self.gw.lookup(self.ident)
        self.assertEqual(again.header("X-Cache"), "hit")
        self.assertEqual(set(again.json) - {"source"}, everything, "the shared copy lost nothing")
        self.assertEqual(self.sim.requests(), before + 1, "one cached copy served all three")

    def test_the_audit_record_says_what_each_client_received_and_what_was_withheld(self):
        answers = {}
        for cert in ("portal", "district-office", "other-portal"):
            request_id = "projection-audit-%s" % cert
            r = self.gw.lookup(self.ident, request_id=request_id, cert=cert)
            self.assertEqual(r.status, 200, r.body)
            answers[request_id] = r
        records = {rec["request_id"]: rec for rec in trail(self.gw.audit_dir) if rec["request_id"] in answers}
        self.assertEqual(set(records), set(answers))
        for request_id, r in answers.items():
            rec = records[request_id]
            self.assertEqual(rec["released"], [k for k in r.json if k != "source"], request_id)
            self.assertEqual(sorted(rec["withheld"]), sorted(r.json["source"].get("withheld", [])), request_id)
        self.assertEqual(sorted(records["projection-audit-other-portal"]["withheld"]), ["ethnicity", "religion"])


class ClientRulesTest(unittest.TestCase):
    """A client's own rules: a procedure code required, a purpose that must name a dossier."""

    @classmethod
    def setUpClass(cls):
        cls.sim = h.Sim("population")
        clients = h.dev_clients()
        clients["district-office"]["require_procedure_code"] = True
        clients["district-office"]["purpose_pattern"] = "^[0-9]{3}\\.[0-9]{2}\\.[0-9]{2}\\.H[0-9]{2}-[0-9]{6}-[0-9]{4}$"
        cls.gw = h.Gateway(cls.sim, overrides={"clients": clients})
        p = h.sim_sample(1, seed=cls.sim.seed)[0]
        cls.ident = {"id": p["id"], "full_name": p["full_name"], "birth_date": p["birth_date"]}

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()
        cls.sim.stop()

    def test_a_procedure_code_is_required_of_that_client_only(self):
        before = self.sim.requests()
        headers = h.officer_headers(purpose="000.00.12.H53-241122-0001")
        r = self.gw.request("POST", "/v1/citizens/verify", body=self.ident, headers=headers, cert="district-office")
        self.assertEqual(r.status, 400, r.body)
        self.assertEqual(r.json["type"], "urn:lienthong:problem:missing_procedure_code")
        self.assertEqual(self.sim.requests(), before)
        headers["X-Procedure-Code"] = "1.001612"
        r = self.gw.request("POST", "/v1/citizens/verify", body=self.ident, headers=headers, cert="district-office")
        self.assertEqual(r.status, 200, r.body)
        r = self.gw.verify(self.ident)  # the portal has no such rule
        self.assertEqual(r.status, 200, r.body)

    def test_the_purpose_must_name_a_dossier(self):
        headers = h.officer_headers(purpose="kiểm tra".encode())
        headers["X-Procedure-Code"] = "1.001612"
        r = self.gw.request("POST", "/v1/citizens/verify", body=self.ident, headers=headers, cert="district-office")
        self.assertEqual(r.status, 400, r.body)
        self.assertEqual(r.json["type"], "urn:lienthong:problem:purpose_not_accepted")


class PaymentOwnershipTest(unittest.TestCase):
    """Payment ownership follows the client, not the CN: with the portal pinned by fingerprint, a second
    certificate with CN=portal is no client at all and never reads the portal's payments."""

    @classmethod
    def setUpClass(cls):
        cls.gw = PayGateway(None, None, journal_store(), start=False)
        clients = h.dev_clients()
        clients["portal"] = {"issuer": h.PROVINCE_CA_DN, "cn": h.DELETE, "fingerprint": fingerprint("portal"),
                             "allow": ["*"], "return_url_hosts": ["portal.example.vn"]}
        cls.gw.overrides["clients"] = clients
        cls.gw.start()

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()

    def test_the_twin_is_refused_and_reads_nothing(self):
        r = self.gw.create(dossier_id="HS-OWN-1")
        self.assertEqual(r.status, 201, self.gw.diag(repr(r)))
        pid = r.json["payment_id"]
        self.assertEqual(self.gw.payment(pid).status, 200)
        twin = self.gw.request("GET", "/v1/payments/" + pid, cert="portal-twin")
        self.assertEqual(twin.status, 403, twin.body)
        self.assertEqual(twin.json["type"], "urn:lienthong:problem:client_not_listed")
        self.assertNotIn(pid, twin.body.decode())
        created = self.gw.request("POST", "/v1/payments", body={"dossier_id": "HS-OWN-2"}, cert="portal-twin")
        self.assertEqual(created.status, 403)


class ClientConfigTest(unittest.TestCase):
    """--check-config refuses what would silently grant or deny the wrong thing."""

    def check(self, clients):
        cfg = h.gateway_config(h.free_port(), h.free_port())
        if clients is None:
            del cfg["clients"]
        else:
            cfg["clients"] = clients
        d = h.make_tmpdir("lt-clients-")
        path = os.path.join(d, "gateway.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        return h.run_gateway(["--config", path, "--check-config"])

    def assertRefused(self, clients, *words):
        rc, out = self.check(clients)
        self.assertNotEqual(rc, 0, out)
        for w in words:
            self.assertIn(w, out)

    def test_refusals_name_the_key(self):
        base = {"issuer": h.PROVINCE_CA_DN, "cn": "x", "allow": ["population.verify"]}
        self.assertRefused({"x": dict(base, allow=["population.verfy"])}, "clients.x.allow", "population.verfy")
        self.assertRefused({"x": dict(base, allow=["paymnets"])}, "paymnets")
        self.assertRefused({"x": dict(base, fingerprint="AB" * 32)}, "clients.x", "exactly one of cn, san or fingerprint")
        self.assertRefused({"x": {"issuer": h.PROVINCE_CA_DN, "allow": ["*"]}}, "exactly one of cn, san or fingerprint")
        self.assertRefused({"x": {"cn": "x", "allow": ["*"]}}, "clients.x.issuer")
        self.assertRefused({"x": {"issuer": h.PROVINCE_CA_DN, "fingerprint": "zz", "allow": ["*"]}}, "fingerprint")
        self.assertRefused({"x": dict(base, purpose_pattern="([")}, "purpose_pattern")
        self.assertRefused({"x y": base}, "clients.x y")
        self.assertRefused(None, "clients", "default deny")

    def test_a_valid_list_passes(self):
        rc, out = self.check({"x": {"issuer": h.PROVINCE_CA_DN, "san": "portal.example.vn",
                                    "allow": ["population.*", "tax.lookup", "payments"],
                                    "fields": {"population.lookup": ["id", "full_name"]}}})
        self.assertEqual(rc, 0, out)


if __name__ == "__main__":
    unittest.main()
