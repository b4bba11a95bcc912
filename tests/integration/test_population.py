"""Population lookups end to end: portal --mTLS--> gateway --mTLS/SOAP--> lienthong-sim.

Expected values come from the simulator's own data (`lienthong-sim --sample`, or the
simulator's SOAP answer fetched directly) and from the contract texts (northbound
contract, population ICD), never from the gateway's output.

Upstream-failure statuses asserted here are those of docs/api.md ("Errors"):
  DC-400 -> 400; DC-404 -> 404; DC-403, DC-500, html502, wrong_id (upstream_id_mismatch),
  bad_hash (upstream_request_hash_mismatch), truncate, reset -> 502; DC-429 (Retry-After 60),
  DC-503 (Retry-After 300), X-Road Server.* fault, html503 -> 503 with Retry-After;
  timeout / hang, html504 -> 504. Each is problem+json with "upstream": "population".
"""

import concurrent.futures
import datetime
import re
import signal
import ssl
import threading
import time
import unicodedata
import unittest

import harness as h

SEED = 7
SIM = None

LOOKUP = "/v1/citizens/lookup"
VERIFY = "/v1/citizens/verify"

CANONICAL_KEYS = {
    "id", "old_id_number", "full_name", "name", "sex", "birth_date", "ethnicity", "religion", "nationality",
    "blood_type", "marital_status", "place_of_origin", "permanent_residence", "current_residence",
    "head_of_household", "source",
}
ADDRESS_KEYS = {"province_code", "district_code", "commune_code", "detail"}

# Code tables of icd/population.md (comments on the CongDan sample).
SEX = {"0": "unknown", "1": "male", "2": "female"}
BLOOD = {"00": "unknown", "01": "O", "02": "A", "03": "B", "04": "AB"}
MARITAL = {"0": "unknown", "1": "single", "2": "married", "3": "divorced"}


def setUpModule():
    global SIM
    SIM = h.Sim("population", seed=SEED)


def tearDownModule():
    if SIM is not None:
        SIM.stop()


def samples(n=60):
    rows = h.sim_sample(n, SEED)
    assert len(rows) >= 50, "lienthong-sim --sample %d printed only %d rows" % (n, len(rows))
    return rows


def ident(row, **over):
    d = {"id": row["id"], "full_name": row["full_name"], "birth_date": row["birth_date"]}
    d.update(over)
    return d


def full_date_row(rows):
    return next(r for r in rows if len(r["birth_date"]) == 10)


class GatewayCase(unittest.TestCase):
    """One gateway per class (fresh config), sharing the module's simulator."""

    gw_overrides = None
    gw = None

    @classmethod
    def setUpClass(cls):
        SIM.clear_faults()
        cls.gw = h.Gateway(SIM, overrides=cls.gw_overrides)

    @classmethod
    def tearDownClass(cls):
        if cls.gw is not None:
            cls.gw.kill()

    def tearDown(self):
        SIM.clear_faults()

    def assertProblem(self, r, status, detail_re=None, upstream=None, request_id=None, code=None, secret=None):
        g = self.gw
        self.assertEqual(r.status, status, g.diag("expected %d, got %r" % (status, r)))
        ctype = r.header("Content-Type", "")
        self.assertTrue(ctype.startswith("application/problem+json"), g.diag("Content-Type %r on %r" % (ctype, r)))
        self.assertIsInstance(r.json, dict, g.diag("problem body is not a JSON object: %r" % r.body))
        for k in ("type", "title", "status", "detail", "request_id"):
            self.assertIn(k, r.json, "problem lacks %r: %r" % (k, r.json))
        self.assertEqual(r.json["status"], status, r.json)
        self.assertIsInstance(r.json["request_id"], str)
        self.assertTrue(r.json["request_id"], r.json)
        self.assertEqual(r.header("X-Request-Id"), r.json["request_id"], "X-Request-Id header vs body: %r" % r)
        if request_id is not None:
            self.assertEqual(r.json["request_id"], request_id)
        if detail_re is not None:
            self.assertRegex(str(r.json["detail"]), re.compile(detail_re, re.I), "detail should name the reason")
        if upstream is not None:
            self.assertEqual(r.json.get("upstream"), upstream, "problem should name the upstream: %r" % r.json)
        if code is not None:
            codes = code if isinstance(code, tuple) else (code,)
            self.assertIn(r.json["type"], ["urn:lienthong:problem:" + c for c in codes], "docs/api.md problem code")
        if secret:
            self.assertNotIn(secret, str(r.json["detail"]), "docs/api.md: detail never repeats the identifier")
        return r.json


# ---------------------------------------------------------------------------
# 1. Mapping

class LookupMappingTest(GatewayCase):
    """A fresh gateway, so every lookup here is the first one of its identity (cache: miss)."""

    def check_address(self, canon, sim_addr, where):
        self.assertIsInstance(canon, dict, "%s: %r" % (where, canon))
        self.assertEqual(set(canon) & ADDRESS_KEYS, ADDRESS_KEYS, "%s keys: %r" % (where, canon))
        self.assertIsInstance(canon["province_code"], str, where)
        self.assertIsInstance(canon["commune_code"], str, where)
        # carried faithfully: the same codes as the national record, no translation between shapes
        self.assertEqual(canon["province_code"], sim_addr.get("MaTinhThanh", ""), where)
        self.assertEqual(canon["commune_code"], sim_addr.get("MaPhuongXa", ""), where)
        self.assertEqual(canon["detail"], sim_addr.get("ChiTiet", ""), where)
        district = sim_addr.get("MaQuanHuyen", "")
        if district:
            self.assertEqual(canon["district_code"], district, where)
        else:
            self.assertIn(canon["district_code"], (None, ""), "%s: post-2025 address has no district" % where)

    def check_enum(self, rec, key, source_code, table=None):
        e = rec[key]
        self.assertIsInstance(e, dict, "%s: %r" % (key, e))
        self.assertIn("source_code", e, key)
        self.assertEqual(e["source_code"], source_code, "%s.source_code" % key)
        if table is not None:
            self.assertEqual(e.get("code"), table[source_code], "%s.code for source code %s" % (key, source_code))

    def test_lookup_maps_every_field(self):
        rows = samples()[:40]
        year_only = [r for r in rows if len(r["birth_date"]) == 4]
        self.assertTrue(year_only, "the simulator's sample must hold a year-only person")
        seen_year_only = 0
        for i, row in enumerate(rows):
            with self.subTest(id=row["id"], birth_date=row["birth_date"]):
                sid, bd = row["id"], row["birth_date"]
                # sanity of the simulator's data (ICD identifier rules), so failures below are the gateway's
                self.assertEqual(bd[2:4], sid[4:6], "simulator sample inconsistent: %r" % row)
                rid = "itest-map-%d" % i  # a request id is logged: it must never carry the citizen's number
                r = self.gw.lookup(ident(row), request_id=rid)
                self.assertEqual(r.status, 200, self.gw.diag(repr(r)))
                self.assertTrue(r.header("Content-Type", "").startswith("application/json"), r.headers)
                self.assertEqual(r.header("X-Request-Id"), rid)
                self.assertIsNone(r.header("X-Cache"), "the cache is off here: an uncached answer has no X-Cache")
                rec = r.json
                self.assertIsInstance(rec, dict)
                self.assertEqual(CANONICAL_KEYS - set(rec), set(), "missing canonical keys")

                self.assertEqual(rec["id"], sid)
                self.assertEqual(rec["full_name"], row["full_name"])
                self.assertTrue(unicodedata.is_normalized("NFC", rec["full_name"]))
                name = rec["name"]
                parts = [name.get("family"), name.get("middle"), name.get("given")]
                self.assertEqual(" ".join(p for p in parts if p), row["full_name"], "name parts: %r" % name)
                self.assertEqual(rec["birth_date"], bd)
                if len(bd) == 4:
                    seen_year_only += 1

                digit4 = int(sid[3])
                self.assertEqual(rec["sex"].get("code"), "male" if digit4 % 2 == 0 else "female", rec["sex"])

                src = rec["source"]
                self.assertEqual(src.get("system"), "population")
                self.assertEqual(src.get("request_id"), rid)
                self.assertEqual(src.get("cache"), "miss")
                fetched = datetime.datetime.fromisoformat(src["fetched_at"].replace("Z", "+00:00"))
                self.assertIsNotNone(fetched.tzinfo, "fetched_at should carry its offset: %r" % src["fetched_at"])
                self.assertLess(abs((datetime.datetime.now(datetime.timezone.utc) - fetched).total_seconds()), 300)

                # every field against what the simulator itself holds for this person
                cd = SIM.soap_lookup(sid, row["full_name"], bd)
                hv = cd["HoVaTen"]
                self.assertEqual((name.get("family"), name.get("middle") or "", name.get("given")),
                                 (hv.get("Ho"), hv.get("ChuDem", ""), hv.get("Ten")))
                self.assertEqual(rec["old_id_number"] or "", cd.get("SoCMND", ""))
                self.check_enum(rec, "sex", cd["GioiTinh"], SEX)
                self.check_enum(rec, "ethnicity", cd["DanToc"])
                if cd["DanToc"] == "01":
                    self.assertEqual(rec["ethnicity"].get("name"), "Kinh")
                self.check_enum(rec, "religion", cd["TonGiao"])
                if cd["TonGiao"] == "00":
                    self.assertEqual(rec["religion"].get("name"), "none", "ICD: religion 00 = none")
                self.check_enum(rec, "blood_type", cd["NhomMau"], BLOOD)
                self.check_enum(rec, "marital_status", cd["TinhTrangHonNhan"], MARITAL)
                self.assertEqual(rec["nationality"], cd["QuocTich"])
                self.check_address(rec["place_of_origin"], cd["QueQuan"], "place_of_origin")
                self.check_address(rec["permanent_residence"], cd["ThuongTru"], "permanent_residence")
                if isinstance(cd.get("NoiOHienTai"), dict) and any(cd["NoiOHienTai"].values()):
                    self.check_address(rec["current_residence"], cd["NoiOHienTai"], "current_residence")
                else:
                    self.assertIsNone(rec["current_residence"])
                chu = cd.get("ChuHo")
                if isinstance(chu, dict) and chu.get("SoDinhDanh"):
                    hoh = rec["head_of_household"]
                    self.assertIsInstance(hoh, dict)
                    self.assertEqual(hoh.get("id"), chu["SoDinhDanh"])
                    want = chu["HoVaTen"]
                    if isinstance(want, dict):
                        want = " ".join(want[k] for k in ("Ho", "ChuDem", "Ten") if want.get(k))
                    self.assertEqual(hoh.get("full_name"), want)
                    rel = hoh.get("relationship")
                    if isinstance(rel, dict):
                        self.assertEqual(rel.get("source_code"), chu["QuanHe"])
                    else:
                        self.assertEqual(rel, chu["QuanHe"])
                else:
                    self.assertIsNone(rec["head_of_household"])
        self.assertEqual(seen_year_only, len(year_only))

    def test_request_id_generated_when_absent(self):
        rows = samples()
        ids = []
        for row in rows[40:42]:
            r = self.gw.lookup(ident(row))
            self.assertEqual(r.status, 200, self.gw.diag(repr(r)))
            rid = r.header("X-Request-Id")
            self.assertTrue(rid, "X-Request-Id must be generated: %r" % r.headers)
            self.assertEqual(r.json["source"]["request_id"], rid)
            ids.append(rid)
        self.assertNotEqual(ids[0], ids[1], "generated request ids must differ")

    def test_nfd_name_is_composed(self):
        """ICD: names round-trip composed as NFC. A caller sending the decomposed (NFD) spelling of a
        diacritic name should still find the person, and get the NFC spelling back."""
        row = next(r for r in samples() if unicodedata.normalize("NFD", r["full_name"]) != r["full_name"])
        nfd = unicodedata.normalize("NFD", row["full_name"])
        r = self.gw.lookup(ident(row, full_name=nfd))
        self.assertEqual(r.status, 200, self.gw.diag(repr(r)))
        self.assertEqual(r.json["full_name"], row["full_name"])


# ---------------------------------------------------------------------------
# 2, 3, 4, 5 and the HTTP basics: one shared gateway

class PopulationApiTest(GatewayCase):

    # 2. verify
    def test_verify_true_and_false(self):
        rows = samples()
        good = full_date_row(rows)
        r = self.gw.verify(ident(good))
        self.assertEqual(r.status, 200, self.gw.diag(repr(r)))
        self.assertIs(r.json.get("match"), True, r.json)
        self.assertEqual(r.json["source"]["system"], "population")
        for k in ("full_name", "birth_date", "permanent_residence", "name"):
            self.assertNotIn(k, r.json, "verify returns no personal data")

        year_only = next(r for r in rows if len(r["birth_date"]) == 4)
        r = self.gw.verify(ident(year_only))
        self.assertEqual(r.status, 200, self.gw.diag(repr(r)))
        self.assertIs(r.json.get("match"), True, "year-only birth date: %r" % r.json)

        r = self.gw.verify(ident(good, full_name=good["full_name"] + " Thị"))
        self.assertEqual(r.status, 200, self.gw.diag(repr(r)))
        self.assertIs(r.json.get("match"), False, "wrong name must not match: %r" % r.json)

        unknown = {"id": "001188999997", "full_name": "Lê Văn Không", "birth_date": "1988-01-01"}
        r = self.gw.verify(unknown)
        self.assertEqual(r.status, 200, self.gw.diag("ICD: verification answers false for an unknown number: %r" % r))
        self.assertIs(r.json.get("match"), False, r.json)

    # 3. handshake refusals
    def test_handshake_requires_province_client_cert(self):
        good = h.tls_probe(self.gw.port, cert="portal")
        self.assertTrue(good["received"].startswith(b"HTTP/1."), self.gw.diag("a province client must get an answer: %r" % good))
        other = h.tls_probe(self.gw.port, cert="district-office")
        self.assertTrue(other["received"].startswith(b"HTTP/1."), "another province client: %r" % other)
        for cert in (None, "outsider-client"):
            for maxv in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
                with self.subTest(cert=cert, tls=maxv.name):
                    p = h.tls_probe(self.gw.port, cert=cert, max_version=maxv, min_version=maxv)
                    self.assertNotIn(b"HTTP/", p["received"], "no HTTP response may be sent: %r" % p)
                    self.assertIsNotNone(p["error"], "the connection must fail: %r" % p)

    def test_tls11_refused(self):
        P = h.pki_path
        args = ["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0", "-cert", P("portal.crt"), "-key", P("portal.key"),
                "-CAfile", P("province-ca.crt")]
        req = b"GET /v1/nope HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        negotiated = re.compile(r"New, TLSv[\d.]+, Cipher is (?!\(NONE\))")
        # control: this very client does get TLS 1.1 from a server that offers it
        srv = h.SServer(["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0", "-Verify", "1", "-CAfile", P("province-ca.crt")])
        try:
            rc, out = h.s_client(srv.port, args, stdin_data=req)
        finally:
            srv.stop()
        self.assertEqual(rc, 0, out[-1500:])
        self.assertRegex(out, r"Protocol\s*:\s*TLSv1\.1")
        self.assertRegex(out, negotiated)
        self.assertIn("HTTP/1.0 200", out)
        # the gateway refuses it
        rc, out = h.s_client(self.gw.port, args, stdin_data=req)
        self.assertNotEqual(rc, 0, self.gw.diag(out[-1500:]))
        self.assertNotRegex(out, negotiated)
        self.assertNotIn("HTTP/1.", out)
        # and the same tool with TLS 1.2 succeeds against the gateway (its exit code is not asserted:
        # s_client exits 1 on a TCP close without close_notify even after a complete answer)
        rc, out = h.s_client(self.gw.port, ["-tls1_2"] + args[3:], stdin_data=req)
        self.assertRegex(out, r"New, TLSv1\.2, Cipher is (?!\(NONE\))", self.gw.diag(out[-1500:]))
        self.assertRegex(out, r"Protocol\s*:\s*TLSv1\.2")
        self.assertIn("HTTP/1.1 404", out)

    # 4. validation before any upstream call
    def test_invalid_input_is_400_without_upstream_call(self):
        rows = samples()
        base = full_date_row(rows)
        sid, bd = base["id"], base["birth_date"]
        century_wrong = str(int(sid[3]) ^ 2)  # 1900s <-> 2000s, same sex
        ID = ("invalid_identifier", "invalid_birth_date")
        cases = [
            # why, body, header overrides, detail regex, docs/api.md code(s)
            ("wrong length", ident(base, id=sid[:-1]), None, r"12|length|digit", "invalid_identifier"),
            ("too long", ident(base, id=sid + "0"), None, r"12|length|digit", "invalid_identifier"),
            ("letters", ident(base, id=sid[:-1] + "A"), None, r"digit", "invalid_identifier"),
            ("province 000", ident(base, id="000" + sid[3:]), None, r"province", "invalid_identifier"),
            ("province 097", ident(base, id="097" + sid[3:]), None, r"province", "invalid_identifier"),
            ("century digit 5", ident(base, id=sid[:3] + "5" + sid[4:]), None, r"century|sex|digit 4",
             "invalid_identifier"),
            ("inconsistent year", {"id": "001095012345", "full_name": "Nguyễn Văn An", "birth_date": "1996-03-12"},
             None, r"birth|year|1995|1996", ID),
            ("inconsistent year-only", {"id": "001095012345", "full_name": "Nguyễn Văn An", "birth_date": "1996"},
             None, r"birth|year|1995|1996", ID),
            ("inconsistent century", ident(base, id=sid[:3] + century_wrong + sid[4:]), None,
             r"birth|year|century", ID),
            ("not a calendar date", {"id": "001095012345", "full_name": "Nguyễn Văn An", "birth_date": "1995-02-30"},
             None, r"birth|date", "invalid_birth_date"),
            ("bad birth_date format", ident(base, birth_date="12/03/" + bd[:4]), None, r"birth|date",
             "invalid_birth_date"),
            ("missing X-Officer-Id", ident(base), {"X-Officer-Id": None}, r"X-Officer-Id|officer", "missing_officer"),
            ("missing X-Purpose", ident(base), {"X-Purpose": None}, r"X-Purpose|purpose", "missing_purpose"),
            ("invalid X-Officer-Id", ident(base), {"X-Officer-Id": "CB 001;x"}, r"X-Officer-Id|officer",
             "invalid_officer"),
            ("id not a string", ident(base, id=int(sid)), None, r"\bid\b|identifier", ("invalid_body", "invalid_identifier")),
            ("missing full_name", {"id": sid, "birth_date": bd}, None, r"full_name|name", "invalid_body"),
            ("unknown field", ident(base, nickname="An"), None, r"nickname|field", "invalid_body"),
        ]
        before = SIM.requests()
        for path in (LOOKUP, VERIFY):
            for i, (why, body, hdrs, detail_re, code) in enumerate(cases):
                with self.subTest(path=path, case=why):
                    rid = "itest-400-%d" % i
                    r = self.gw.lookup(body, request_id=rid, headers=hdrs, path=path)
                    secret = body.get("id") if isinstance(body.get("id"), str) and len(body["id"]) >= 9 else None
                    self.assertProblem(r, 400, detail_re, request_id=rid, code=code, secret=secret)
                    self.assertEqual(r.header("X-Request-Id"), rid)
        with self.subTest(case="invalid X-Request-Id"):
            r = self.gw.lookup(ident(base), headers={"X-Request-Id": "has spaces in it"})
            self.assertProblem(r, 400, code="invalid_request_id")
        self.assertEqual(SIM.requests(), before, "invalid input must not reach the national system")
        # control: the same base identity, well-formed, does reach it
        r = self.gw.lookup(ident(base))
        self.assertEqual(r.status, 200, self.gw.diag(repr(r)))
        self.assertEqual(SIM.requests(), before + 1)

    def test_malformed_json_is_400(self):
        before = SIM.requests()
        for body in (b'{"id": "001095012345", "full_name": ', b"not json", b"[]", b""):
            with self.subTest(body=body):
                r = self.gw.request("POST", LOOKUP, body=body, headers=h.officer_headers())
                self.assertProblem(r, 400, code="invalid_body")
        self.assertEqual(SIM.requests(), before)

    # 5. unknown citizen
    def test_unknown_citizen_is_404(self):
        rows = samples()
        good = full_date_row(rows)
        known = {r["id"] for r in rows}
        unknown = {"id": "001188999997", "full_name": "Lê Văn Không", "birth_date": "1988-01-01"}
        self.assertNotIn(unknown["id"], known)
        before = SIM.requests()
        for why, body in (("unknown number", unknown),
                          ("wrong name", ident(good, full_name=good["full_name"] + " Thị")),
                          ("name without diacritics", ident(good, full_name=unicodedata.normalize(
                              "NFD", good["full_name"]).encode("ascii", "ignore").decode()))):
            with self.subTest(case=why):
                if body["full_name"] == good["full_name"]:
                    continue  # the sampled name has no diacritics
                r = self.gw.lookup(body)
                self.assertProblem(r, 404, upstream="population", code="DC-404", secret=body["id"])
        self.assertGreater(SIM.requests(), before, "404 must come from the national system")

    # HTTP basics
    def test_method_not_allowed(self):
        for path in (LOOKUP, VERIFY):
            with self.subTest(path=path):
                r = self.gw.request("GET", path, headers=h.officer_headers())
                self.assertProblem(r, 405, code="method_not_allowed")
                self.assertIn("POST", r.header("Allow", ""), "405 must list the allowed methods (RFC 9110)")

    def test_unsupported_media_type(self):
        row = full_date_row(samples())
        hdrs = h.officer_headers()
        hdrs["Content-Type"] = "text/plain"
        body = '{"id": "%s", "full_name": "%s", "birth_date": "%s"}' % (row["id"], row["full_name"], row["birth_date"])
        before = SIM.requests()
        r = self.gw.request("POST", LOOKUP, body=body, headers=hdrs)
        self.assertProblem(r, 415, code="unsupported_media_type")
        self.assertEqual(SIM.requests(), before)

    def test_body_too_large(self):
        row = full_date_row(samples())
        body = ident(row, padding="x" * 20000)
        before = SIM.requests()
        r = self.gw.lookup(body)
        self.assertProblem(r, 413)
        self.assertEqual(SIM.requests(), before)
        # just under the limit is not refused for its size
        r = self.gw.lookup(ident(row, padding="x" * 15000))
        self.assertNotEqual(r.status, 413, self.gw.diag(repr(r)))

    def test_unknown_path_is_404_problem(self):
        r = self.gw.request("GET", "/v1/nope", headers=h.officer_headers())
        self.assertProblem(r, 404, code="no_route")
        self.assertNotIn("upstream", r.json, "no upstream is involved in an unknown path")

    def test_keep_alive_serves_several_requests(self):
        rows = samples()[44:47]
        with h.KeepAliveClient(self.gw.port) as c:
            c.connect()
            sock = c.sock()
            for row in rows:
                r = c.request("POST", LOOKUP, body=ident(row), headers=h.officer_headers())
                self.assertEqual(r.status, 200, self.gw.diag(repr(r)))
                self.assertEqual(r.json["id"], row["id"])
                self.assertIs(c.sock(), sock, "the connection should be kept alive")

    def test_admin_health(self):
        self.assertEqual(self.gw.admin("GET", "/healthz").status, 200)
        self.assertEqual(self.gw.admin("GET", "/readyz").status, 200)


# ---------------------------------------------------------------------------
# 6. upstream faults: a fresh gateway per test, so no breaker state carries over

FAULTS = [
    # fault, expected status, problem code (None: not pinned by docs/api.md), Retry-After (None: absent ok, True: any)
    ("DC-400", 400, "DC-400", None),
    ("DC-403", 502, "DC-403", None),
    ("DC-404", 404, "DC-404", None),
    ("DC-429", 503, "DC-429", "60"),
    ("DC-500", 502, "DC-500", None),
    ("DC-503", 503, "DC-503", "300"),
    ("xroad", 503, None, True),          # Server.ServerProxy.ServiceFailed
    ("html502", 502, None, None),
    ("html503", 503, None, True),
    ("html504", 504, None, None),
    ("wrong_id", 502, "upstream_id_mismatch", None),
    ("bad_hash", 502, "upstream_request_hash_mismatch", None),
    ("truncate", 502, None, None),
    ("reset", 502, None, None),
]


class UpstreamFaultTest(GatewayCase):
    TIMEOUT_MS = 2000
    # Mapping only: one attempt and no breaker, so each fault is seen exactly as the adapter maps it.
    # Retries and the breaker have their own tests (test_resilience.py).
    gw_overrides = {"upstreams": {"population": {
        "timeout_ms": TIMEOUT_MS, "retry": {"max_attempts": 1},
        "breaker": {"consecutive_failures": 0, "failure_ratio_percent": 0}}}}

    @classmethod
    def setUpClass(cls):
        pass

    def setUp(self):
        SIM.clear_faults()
        self.gw = h.Gateway(SIM, overrides=self.gw_overrides)
        self.row = full_date_row(samples())

    def tearDown(self):
        SIM.clear_faults()
        self.gw.kill()

    def check_fault(self, fault, status, code, retry_after):
        SIM.set_fault(fault)
        r = self.gw.lookup(ident(self.row))
        p = self.assertProblem(r, status, upstream="population", code=code, secret=self.row["id"])
        if retry_after is not None:
            ra = r.header("Retry-After")
            self.assertIsNotNone(ra, "fault %s: %d needs Retry-After: %r" % (fault, status, r.headers))
            self.assertRegex(ra.strip(), r"^[1-9][0-9]*$", "Retry-After delta-seconds")
            if retry_after is not True:
                self.assertEqual(ra.strip(), retry_after, "docs/api.md Retry-After for %s" % fault)
        # recovery: the same request succeeds once the national system is healthy again
        SIM.clear_faults()
        r = self.gw.lookup(ident(self.row))
        self.assertEqual(r.status, 200, self.gw.diag("after clearing %s: %r" % (fault, r)))
        return p

    def test_faults_map_to_documented_status(self):
        for fault, status, code, retry_after in FAULTS:
            with self.subTest(fault=fault):
                self.check_fault(fault, status, code, retry_after)

    def test_slow_upstream_is_504(self):
        # The simulator would answer a full record after 60 s: a 504 `timeout` (not that record) is the gateway
        # giving up at its own timeout_ms. The client waits longer than the simulator, so a gateway that waited
        # for the answer would return 200 and fail here.
        SIM.set_fault("none", latency_ms=60000)
        t0 = time.monotonic()
        r = self.gw.lookup(ident(self.row), timeout=120)
        elapsed = time.monotonic() - t0
        self.assertProblem(r, 504, upstream="population", code="timeout")
        self.assertGreater(elapsed, self.TIMEOUT_MS / 1000 * 0.8, "not before timeout_ms")

    def test_hanging_upstream_is_504(self):
        # The simulator never answers: only the gateway's own timeout can end this request (the client would give
        # up after 120 s with a socket timeout, not a 504).
        SIM.set_fault("hang")
        r = self.gw.lookup(ident(self.row), timeout=120)
        self.assertProblem(r, 504, upstream="population", code="timeout")


# ---------------------------------------------------------------------------
# 7. concurrency

class ConcurrencyTest(GatewayCase):

    HOLD_MS = 30000  # the simulator holds every answer this long: far longer than 50 calls take to go out

    gw_overrides = {"upstreams": {"population": {"timeout_ms": 4 * HOLD_MS, "retry": {"max_attempts": 1},
                                                 "max_inflight": 64}}}

    def test_50_concurrent_lookups(self):
        """All 50 calls reach the simulator while it still holds the first answer: a gateway that served one
        lookup at a time would have one call there until that answer came back."""
        rows = samples()[:50]
        self.assertEqual(len({r["id"] for r in rows}), 50)
        SIM.set_fault("none", latency_ms=self.HOLD_MS)
        before = SIM.requests()

        def one(row):
            return h.https_request(self.gw.port, "POST", LOOKUP, body=ident(row), headers=h.officer_headers(),
                                   timeout=self.HOLD_MS * 4 / 1000)

        with concurrent.futures.ThreadPoolExecutor(max_workers=50) as ex:
            futures = [ex.submit(one, row) for row in rows]
            h.wait_for(lambda: SIM.requests() - before == 50, timeout=self.HOLD_MS / 1000,
                       what="all 50 calls at the simulator")
            self.assertFalse(any(f.done() for f in futures), "no answer came back before all 50 calls were out")
            systems = self.gw.admin("GET", "/status.json").json["systems"]
            inflight = next(x for x in systems if x["name"] == "population")["inflight"]
            self.assertEqual(inflight, 50, "the gateway holds all 50 calls at once")
            SIM.clear_faults()  # the held answers still take HOLD_MS; new ones would not
            results = [f.result() for f in futures]
        for row, r in zip(rows, results):
            self.assertEqual(r.status, 200, self.gw.diag(repr(r)))
            self.assertEqual(r.json["id"], row["id"], "answers must not be crossed between requests")
            self.assertEqual(r.json["full_name"], row["full_name"])
        self.assertEqual(SIM.requests() - before, 50, "one upstream call per lookup")


# ---------------------------------------------------------------------------
# 8. graceful shutdown

class ShutdownTest(GatewayCase):

    @classmethod
    def setUpClass(cls):
        pass

    def setUp(self):
        SIM.clear_faults()
        self.gw = h.Gateway(SIM)

    def tearDown(self):
        SIM.clear_faults()
        self.gw.kill()

    def test_sigterm_drains_in_flight_requests(self):
        rows = samples()[:10]
        SIM.set_fault("none", latency_ms=8000)  # held while the test checks the drain; within the 10 s grace
        clients = [h.KeepAliveClient(self.gw.port, timeout=60).connect() for _ in rows]
        results = [None] * len(rows)
        go = threading.Event()

        def run(i):
            go.wait()
            t0 = time.monotonic()
            try:
                results[i] = (clients[i].request("POST", LOOKUP, body=ident(rows[i]), headers=h.officer_headers()),
                              time.monotonic() - t0)
            except Exception as e:  # noqa: BLE001 - recorded and asserted below
                results[i] = (e, time.monotonic() - t0)

        threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(rows))]
        for t in threads:
            t.start()
        before = SIM.requests()
        go.set()
        # SIGTERM once every request is at the simulator (in flight), not after a guessed sleep.
        h.wait_for(lambda: SIM.requests() - before == len(rows), timeout=60, what="every request in flight")
        self.gw.signal(signal.SIGTERM)
        time.sleep(0.2)
        probe = h.tls_probe(self.gw.port, cert="portal", timeout=2)
        try:
            ready = self.gw.admin("GET", "/readyz")
        except OSError as e:
            ready = e
        for t in threads:
            t.join(60)
        for c in clients:
            c.close()
        try:
            rc = self.gw.proc.wait(15)
        except Exception:
            rc = "did not exit"
        SIM.clear_faults()

        for i, (row, (r, elapsed)) in enumerate(zip(rows, results)):
            with self.subTest(check="in-flight request %d answered" % i):
                self.assertIsInstance(r, h.Response, self.gw.diag(
                    "in-flight request failed after SIGTERM (after %.2fs): %r" % (elapsed, r)))
                self.assertEqual(r.status, 200, self.gw.diag(repr(r)))
                self.assertEqual(r.json["id"], row["id"])
                self.assertGreater(elapsed, 7.5, "the request was in flight for the simulator's 8 s")
        with self.subTest(check="new connections refused"):
            self.assertNotIn(b"HTTP/", probe["received"], "a new connection after SIGTERM must not be served: %r" % probe)
        with self.subTest(check="exit code 0"):
            self.assertEqual(rc, 0, self.gw.diag("exit code after SIGTERM"))
        with self.subTest(check="/readyz 503 while draining"):
            # docs/api.md: /readyz answers 503 "shutting down" while draining
            self.assertIsInstance(ready, h.Response, "admin listener during drain: %r" % (ready,))
            self.assertEqual(ready.status, 503, ready)
            self.assertIn("shutting down", ready.json.get("reasons", []), ready)


if __name__ == "__main__":
    unittest.main()
