"""Taxpayer lookups end to end: portal --mTLS--> gateway --HTTPS, API key, XML--> lienthong-sim (tax).

Expected values come from the simulator's own data (its sample, or its XML answer fetched
directly with the ICD's request) and from the contract texts (icd/tax.md, northbound.md),
never from the gateway's output. Every 200 is validated against schemas/taxpayer.schema.json.

Statuses asserted here (adapters/tax/README.md, "Errors"):
  bad check digit -> 400 invalid_identifier, before any upstream call;
  MaKetQua 1 -> 404 record_not_found; 2 -> 400 upstream_rejected_identifier;
  3 (wrong key, HTTP 401) -> 502 upstream_api_key_rejected; 9 inside HTTP 200 -> 502 upstream_system_error;
  MaYeuCau not ours -> 502 upstream_id_mismatch, no MaYeuCau at all -> read as the answer; a DTD -> 502 bad_response, never expanded;
  HTTP 503 with an empty body (30 requests/s) -> 503 upstream_rate_limited with Retry-After, retried;
  html502 / reset / truncate -> 502, html503 -> 503 with Retry-After, html504 / hang -> 504.
"""

import concurrent.futures
import datetime
import http.client
import json
import os
import re
import ssl
import time
import unicodedata
import unittest
import uuid
import xml.etree.ElementTree as ET

import harness as h

SEED = 7
SIM = None
NS = "urn:gdt:tracuu:nnt:1.0"
UNIT_CODE = "000.00.00.H53"
ROUTE = "/v1/taxpayers/"
NO_LIMIT = 100000  # requests/s: tests that are not about the ICD's 30/s limit stay clear of it

# Code tables of icd/tax.md.
TYPES = {"TC": "organisation", "HKD": "household_business", "CN": "individual"}
STATUSES = {
    "00": "active", "01": "ceased_closed", "02": "moved", "03": "ceased_not_closed",
    "04": "active_household_individual", "05": "suspended", "06": "not_at_address", "07": "pending_bankruptcy",
}

# The ICD's sample response, mapped by hand.
ICD_CODE = "0100233488"
ICD_TAXPAYER = {
    "tax_code": "0100233488",
    "name": "CÔNG TY CỔ PHẦN PHẦN MỀM HÀ THÀNH",
    "taxpayer_type": {"code": "organisation", "source_code": "TC"},
    "head_office_address": "Số 12 phố Lý Thường Kiệt, Phường Phan Chu Trinh, Quận Hoàn Kiếm, Hà Nội",
    "tax_office": {"code": "10100", "name": "Cục Thuế Thành phố Hà Nội"},
    "status": {"code": "active", "source_code": "00"},
    "registered_on": "2010-05-20",
    "status_changed_on": None,
}


def setUpModule():
    global SIM
    SIM = h.Sim("tax", seed=SEED)
    set_limit(NO_LIMIT)


def tearDownModule():
    if SIM is not None:
        SIM.stop()


def set_limit(per_second):
    SIM.control("PUT", "/limit", {"per_second": per_second})


def samples(n=60):
    """Taxpayers the simulator holds: its sample ({"tax_code","name"} lines)."""
    r = SIM.control("GET", "/sample?n=%d" % n)
    rows = [json.loads(line) for line in r.body.decode("utf-8").splitlines() if line.strip()]
    assert len(rows) == n, "sample printed %d rows" % len(rows)
    # `lienthong-sim --sample N --system tax` prints the same records.
    cli = h.sim_sample(n, SEED, system="tax")
    assert cli == rows, "--sample and /control/tax/sample disagree"
    return rows


# ---------------------------------------------------------------------------
# talking to the simulator directly, as the ICD says, to learn what it holds

def icd_request(code, msg_id, officer="CB-000123", unit=UNIT_CODE):
    def esc(s):
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<YeuCauTraCuu xmlns="%s"><MaDonVi>%s</MaDonVi>'
            '<MaYeuCau>%s</MaYeuCau><MaCanBo>%s</MaCanBo><MST>%s</MST></YeuCauTraCuu>'
            % (NS, esc(unit), msg_id, esc(officer), esc(code))).encode("utf-8")


def api_key():
    with open(h.pki_path("tax-api.key"), encoding="ascii") as f:
        return f.read().strip()


def sim_post(code, key=None, client_cert=True):
    """One ICD request straight to the simulator: (HTTP status, raw body bytes, msg_id)."""
    msg_id = str(uuid.uuid4())
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(h.pki_path("national-ca.crt"))
    ctx.check_hostname = False
    if client_cert:
        ctx.load_cert_chain(h.pki_path("gateway-national.crt"), h.pki_path("gateway-national.key"))
    conn = http.client.HTTPSConnection(h.HOST, SIM.port, context=ctx, timeout=15)
    try:
        conn.request("POST", "/api/tracuu/nnt", body=icd_request(code, msg_id), headers={
            "Content-Type": "application/xml; charset=utf-8", "X-API-Key": api_key() if key is None else key})
        r = conn.getresponse()
        return r.status, r.read(), msg_id
    finally:
        conn.close()


def _local(tag):
    return tag.rsplit("}", 1)[-1]


def parse_result(raw):
    """KetQuaTraCuu as a dict of local names -> text (NguoiNopThue and CoQuanThueQuanLy nested)."""
    root = ET.fromstring(raw)  # expat takes the BOM and resolves numeric character references
    assert root.tag == "{%s}KetQuaTraCuu" % NS, root.tag

    def walk(el):
        kids = list(el)
        if not kids:
            return el.text or ""
        return {_local(k.tag): walk(k) for k in kids}
    return walk(root)


def sim_lookup(code):
    status, raw, msg_id = sim_post(code)
    assert status == 200, "simulator answered %d: %r" % (status, raw[:300])
    res = parse_result(raw)
    assert res["MaYeuCau"] == msg_id
    return res, raw


def expected_from_sim(nnt):
    """The canonical record the ICD's mapping gives for the simulator's NguoiNopThue."""
    def text(v):
        v = (v or "").strip()
        return unicodedata.normalize("NFC", v) if v else None

    def coded(v, table):
        c = text(v)
        return None if c is None else {"code": table.get(c), "source_code": c}

    def date(v):
        d = text(v)
        return None if d is None else datetime.datetime.strptime(d, "%d/%m/%Y").date().isoformat()

    office = nnt.get("CoQuanThueQuanLy") or {}
    office = office if isinstance(office, dict) else {}
    code, name = text(office.get("Ma")), text(office.get("Ten"))
    return {
        "tax_code": text(nnt["MST"]),
        "name": text(nnt["TenNNT"]),
        "taxpayer_type": coded(nnt.get("LoaiNNT"), TYPES),
        "head_office_address": text(nnt.get("DiaChiTruSo")),
        "tax_office": None if code is None and name is None else {"code": code, "name": name},
        "status": coded(nnt.get("TrangThai"), STATUSES),
        "registered_on": date(nnt.get("NgayCapMST")),
        "status_changed_on": date(nnt.get("NgayThayDoiTrangThai")),
    }


def check_digit_ok(code):
    if len(code) < 10 or not code[:10].isdigit():
        return False
    w = [31, 29, 23, 19, 17, 13, 7, 5, 3]
    c = 10 - sum(a * int(d) for a, d in zip(w, code[:9])) % 11
    return c != 10 and c == int(code[9])


def gateway_overrides(api_key_file=None, **upstream):
    tax = {
        "base_url": SIM.base_url,
        # The ICD asks for server authentication only; the gateway presents its certificate anyway.
        "cert": h.pki_path("gateway-national.crt"), "key": h.pki_path("gateway-national.key"),
        "ca": h.pki_path("national-ca.crt"),
        "connect_timeout_ms": 2000, "timeout_ms": 5000,
        "retry": {"max_attempts": 1},
        "breaker": {"consecutive_failures": 0, "failure_ratio_percent": 0},
        "service": {"unit_code": UNIT_CODE, "api_key_file": api_key_file or h.pki_path("tax-api.key")},
    }
    return {"upstreams": {"population": h.DELETE, "tax": h.deep_merge(tax, upstream)}}


def officer(request_id=None, **extra):
    hd = {"X-Officer-Id": "CB-000123", "X-Purpose": "HS-2026-000042"}
    if request_id:
        hd["X-Request-Id"] = request_id
    hd.update(extra)
    return hd


class GatewayCase(unittest.TestCase):
    """One gateway per class, sharing the module's simulator."""

    upstream = {}
    api_key_file = None
    gw = None

    @classmethod
    def setUpClass(cls):
        SIM.clear_faults()
        cls.gw = h.Gateway(SIM, overrides=gateway_overrides(cls.api_key_file, **cls.upstream))

    @classmethod
    def tearDownClass(cls):
        if cls.gw is not None:
            cls.gw.kill()

    def tearDown(self):
        SIM.clear_faults()
        set_limit(NO_LIMIT)

    def get(self, code, **kw):
        return self.gw.request("GET", ROUTE + code, headers=officer(**kw))

    def assertTaxpayer(self, r, code):
        self.assertEqual(r.status, 200, self.gw.diag(repr(r)))
        self.assertTrue(r.header("Content-Type", "").startswith("application/json"), r.headers)
        self.assertIsInstance(r.json, dict)
        h.validate(r.json, "taxpayer.schema.json")  # harness.https_request does too; this one cannot be skipped
        self.assertEqual(r.json["tax_code"], code)
        self.assertEqual(r.json["source"]["system"], "tax")
        self.assertEqual(r.json["source"]["request_id"], r.header("X-Request-Id"))
        return {k: v for k, v in r.json.items() if k != "source"}

    def assertProblem(self, r, status, code, detail_re=None, secret=None):
        g = self.gw
        self.assertEqual(r.status, status, g.diag("expected %d, got %r" % (status, r)))
        self.assertTrue(r.header("Content-Type", "").startswith("application/problem+json"), r.headers)
        self.assertEqual(r.json.get("status"), status, r.json)
        self.assertEqual(r.json.get("type"), "urn:lienthong:problem:" + code, r.json)
        self.assertEqual(r.header("X-Request-Id"), r.json.get("request_id"))
        if detail_re is not None:
            self.assertRegex(str(r.json.get("detail")), re.compile(detail_re, re.I))
        if secret is not None:
            self.assertNotIn(secret, str(r.json.get("detail")), "the detail never repeats the identifier")
        return r.json


# ---------------------------------------------------------------------------
# 1. Mapping

class MappingTest(GatewayCase):

    def test_icd_example_maps_exactly(self):
        res, raw = sim_lookup(ICD_CODE)
        self.assertEqual(res["NguoiNopThue"]["TenNNT"], ICD_TAXPAYER["name"], "the simulator holds the ICD's example")
        r = self.get(ICD_CODE, request_id="itest-tax-icd")
        self.assertEqual(self.assertTaxpayer(r, ICD_CODE), ICD_TAXPAYER)
        self.assertEqual(r.header("X-Request-Id"), "itest-tax-icd")
        self.assertEqual(r.json["source"]["cache"], "miss", "fetched just now")
        self.assertIsNone(r.header("X-Cache"), "the cache is off here: an uncached answer has no X-Cache")

    def test_every_field_mapped(self):
        rows = samples(60)
        seen = {"types": set(), "statuses": set(), "changed": 0, "branch": 0, "ncr": 0, "bom": 0, "prefixed": 0}
        for row in rows:
            code = row["tax_code"]
            with self.subTest(tax_code=code):
                self.assertTrue(check_digit_ok(code), "simulator code without a valid check digit: %s" % code)
                res, raw = sim_lookup(code)
                self.assertEqual(res["MaKetQua"], "0")
                nnt = res["NguoiNopThue"]
                want = expected_from_sim(nnt)
                self.assertEqual(want["name"], row["name"], "sample vs record")

                r = self.get(code)
                got = self.assertTaxpayer(r, code)
                self.assertEqual(got, want)
                self.assertTrue(unicodedata.is_normalized("NFC", got["name"]))

                seen["types"].add(nnt["LoaiNNT"])
                seen["statuses"].add(nnt["TrangThai"])
                seen["changed"] += got["status_changed_on"] is not None
                seen["branch"] += "-" in code
                seen["ncr"] += b"&#" in raw
                seen["bom"] += raw.startswith(b"\xef\xbb\xbf")
                seen["prefixed"] += b"<nnt:KetQuaTraCuu" in raw
        # The sample must exercise what this test claims to cover, or it proves nothing.
        self.assertEqual(seen["types"], {"TC", "HKD", "CN"}, seen)
        self.assertGreaterEqual(len(seen["statuses"]), 5, seen)
        for k in ("changed", "branch", "ncr", "bom", "prefixed"):
            self.assertGreater(seen[k], 0, "sample has no %s record: %r" % (k, seen))

    def test_individuals_are_people_of_the_population(self):
        """CN taxpayers are the shared synthetic people: their names are names the population holds."""
        people = {p["full_name"] for p in h.sim_sample(400, SEED, system="population")}
        individuals = []
        for row in samples(60):
            res, _ = sim_lookup(row["tax_code"])
            if res["NguoiNopThue"]["LoaiNNT"] == "CN":
                individuals.append(row["name"])
        self.assertTrue(individuals)
        self.assertTrue(any(n in people for n in individuals), individuals)

    def test_request_is_what_the_registry_accepts(self):
        # The simulator answers a request that breaks the ICD (namespace, fields, Content-Type, key) with
        # HTTP 400 or 401, which the gateway would turn into a 502: a 200 means the request was the ICD's.
        r = self.get(ICD_CODE, **{"X-Officer-Id": "can.bo@so-tai-chinh/07:A_1"})
        self.assertEqual(self.assertTaxpayer(r, ICD_CODE), ICD_TAXPAYER)


# ---------------------------------------------------------------------------
# 2. Validation before any upstream call

class ValidationTest(GatewayCase):

    def test_bad_tax_codes_refused_with_reason_and_no_upstream_call(self):
        cases = [
            ("0100233487", "check digit"),
            ("0100233489", "check digit"),
            ("0100000050", "check value 10"),
            ("010023348", "10 digits"),
            ("0100233488-000", "suffix"),
            ("0100233488-01", "10 digits"),
            ("01002334a8", "10 digits"),
        ]
        for code, reason in cases:
            self.assertFalse(check_digit_ok(code) and len(code) == 10, code)  # the cases really are invalid
        before = SIM.requests()
        for code, reason in cases:
            with self.subTest(code=code):
                r = self.get(code)
                body = self.assertProblem(r, 400, "invalid_identifier", detail_re=reason, secret=code)
                self.assertNotIn("upstream", body)
        self.assertEqual(SIM.requests(), before, "validation must happen before any upstream call")
        # Control: a valid code does reach the registry, so the counter does move when it should.
        self.assertTaxpayer(self.get(ICD_CODE), ICD_CODE)
        self.assertEqual(SIM.requests(), before + 1)

    def test_missing_officer_refused_before_upstream(self):
        before = SIM.requests()
        r = self.gw.request("GET", ROUTE + ICD_CODE, headers={"X-Purpose": "HS-1"})
        self.assertEqual(r.status, 400, r)
        self.assertEqual(SIM.requests(), before)


# ---------------------------------------------------------------------------
# 3. MaKetQua and upstream failures

def unknown_valid_code():
    """A code with a valid check digit that the simulator does not hold (it says MaKetQua 1)."""
    for serial in range(1000, 2000):
        body = "0199%05d" % serial
        for last in "0123456789":
            code = body + last
            if check_digit_ok(code):
                status, raw, _ = sim_post(code)
                if status == 200 and parse_result(raw)["MaKetQua"] == "1":
                    return code
                break
    raise AssertionError("no unknown code found")


class ResultCodeTest(GatewayCase):

    def test_not_found_is_404(self):
        code = unknown_valid_code()
        body = self.assertProblem(self.get(code), 404, "record_not_found", secret=code)
        self.assertEqual(body.get("upstream"), "tax")

    def test_malformed_per_registry_is_400(self):
        SIM.set_fault("MaKetQua2")
        status, raw, _ = sim_post(ICD_CODE)
        self.assertEqual((status, parse_result(raw)["MaKetQua"]), (200, "2"))
        body = self.assertProblem(self.get(ICD_CODE), 400, "upstream_rejected_identifier")
        self.assertEqual(body.get("upstream"), "tax")

    def test_system_error_inside_http_200_is_502(self):
        SIM.set_fault("MaKetQua9")
        status, raw, _ = sim_post(ICD_CODE)
        self.assertEqual((status, parse_result(raw)["MaKetQua"]), (200, "9"), "the fault must come inside HTTP 200")
        body = self.assertProblem(self.get(ICD_CODE), 502, "upstream_system_error")
        self.assertEqual(body.get("upstream"), "tax")

    def test_answer_to_another_request_is_502(self):
        SIM.set_fault("wrong_id")
        self.assertProblem(self.get(ICD_CODE), 502, "upstream_id_mismatch")

    def test_answer_without_its_echo_is_accepted(self):
        """The ICD shows MaYeuCau in the answer but never says it is always sent or must be checked: an answer
        without it is read (a different one is still refused, test_answer_to_another_request_is_502)."""
        SIM.set_fault("no_echo")
        status, raw, _ = sim_post(ICD_CODE)
        self.assertEqual(status, 200)
        self.assertNotIn("MaYeuCau", parse_result(raw), "the simulator must leave the echo out")
        self.assertEqual(self.assertTaxpayer(self.get(ICD_CODE), ICD_CODE), ICD_TAXPAYER)
        code = unknown_valid_code()
        self.assertProblem(self.get(code), 404, "record_not_found", secret=code)

    def test_transport_faults(self):
        cases = [("html502", 502, None), ("reset", 502, None), ("truncate", 502, None), ("html503", 503, True),
                 ("html504", 504, None)]
        for fault, status, retry_after in cases:
            with self.subTest(fault=fault):
                SIM.set_fault(fault)
                r = self.get(ICD_CODE)
                self.assertEqual(r.status, status, self.gw.diag(repr(r)))
                self.assertEqual(r.json.get("upstream"), "tax")
                if retry_after:
                    self.assertRegex(r.header("Retry-After", ""), r"^[1-9][0-9]*$")
        SIM.clear_faults()
        self.assertTaxpayer(self.get(ICD_CODE), ICD_CODE)


class WrongApiKeyTest(GatewayCase):
    """Another key than the registry's: MaKetQua 3 with HTTP 401, an operator problem with its own code."""

    @classmethod
    def setUpClass(cls):
        d = h.make_tmpdir("lt-tax-key-")
        cls.api_key_file = os.path.join(d, "wrong-tax-api.key")
        with open(cls.api_key_file, "w", encoding="ascii") as f:
            f.write("00" * 32 + "\n")
        super().setUpClass()

    def test_wrong_key_is_502_with_distinct_code(self):
        status, raw, _ = sim_post(ICD_CODE, key="00" * 32)
        self.assertEqual((status, parse_result(raw)["MaKetQua"]), (401, "3"), "the simulator refuses this key")
        body = self.assertProblem(self.get(ICD_CODE), 502, "upstream_api_key_rejected", detail_re="api_key_file")
        self.assertEqual(body.get("upstream"), "tax")
        self.assertNotIn("00" * 32, json.dumps(body), "the key is never shown")

    def test_a_registry_refusing_the_province_is_no_success_on_the_status_page(self):
        """HTTP 401 is a 4xx, but it refuses the province itself: /status must show it failing, not working."""
        self.get(ICD_CODE)
        tax = next(s for s in self.gw.admin("GET", "/status.json").json["systems"] if s["name"] == "tax")
        self.assertIsNone(tax["last_success"], "no call to the registry ever worked")
        self.assertEqual(tax["last_error"]["code"], "upstream_api_key_rejected")


class TimeoutTest(GatewayCase):
    upstream = {"timeout_ms": 1000}

    def test_hang_is_504(self):
        SIM.set_fault("hang")
        before = SIM.requests()
        t0 = time.monotonic()
        # The client's own timeout (15 s) only gives up eventually: a gateway that waited on the hanging registry
        # forever would never answer, and the request would fail instead of getting the 504 below.
        r = self.get(ICD_CODE)
        elapsed = time.monotonic() - t0
        self.assertProblem(r, 504, "timeout")
        self.assertEqual(r.json.get("upstream"), "tax")
        self.assertGreaterEqual(elapsed, 0.95, "the gateway waited its 1 s timeout before giving up")
        self.assertEqual(SIM.requests(), before + 1, "one attempt reached the registry, none retried")
        SIM.clear_faults()
        self.assertTaxpayer(self.get(ICD_CODE), ICD_CODE)


# ---------------------------------------------------------------------------
# 4. Hostile XML

def rss_kib(pid):
    with open("/proc/%d/status" % pid, encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class HostileXmlTest(GatewayCase):

    def test_billion_laughs_refused_and_never_expanded(self):
        SIM.set_fault("dtd", remaining=1)
        status, raw, _ = sim_post(ICD_CODE)
        self.assertEqual(status, 200)
        self.assertIn(b"<!DOCTYPE", raw)
        self.assertIn(b"&lol9;", raw, "the simulator must really send the entity bomb")
        self.assertLess(len(raw), 4096)

        SIM.set_fault("dtd")
        rss_before = rss_kib(self.gw.proc.pid)
        before = SIM.requests()
        for _ in range(5):
            # The proof that nothing was expanded is in the answer, not in how long it took: the gateway names the
            # DTD it refused (an expanding parser would have got past it to the fields), nothing of the entities
            # reaches the caller, and the gateway's memory did not grow by the expansion's gigabytes.
            r = self.get(ICD_CODE)
            body = self.assertProblem(r, 502, "bad_response", detail_re="DTD.*refused")
            self.assertEqual(body.get("upstream"), "tax")
            self.assertLess(len(r.body), 2048, "nothing expanded reaches the caller")
            self.assertNotIn("lol", r.body.decode("utf-8"))
        self.assertEqual(SIM.requests(), before + 5, "each lookup was one bomb from the registry, none retried")
        grown = rss_kib(self.gw.proc.pid) - rss_before
        self.assertLess(grown, 64 * 1024, "gateway memory grew by %d KiB" % grown)
        SIM.clear_faults()
        self.assertTaxpayer(self.get(ICD_CODE), ICD_CODE)
        self.assertEqual(SIM.requests(), before + 6, "the gateway still serves the next lookup from the registry")

    def test_external_entity_refused(self):
        SIM.set_fault("xxe", remaining=1)
        status, raw, _ = sim_post(ICD_CODE)
        self.assertIn(b'SYSTEM "file:///etc/passwd"', raw)
        SIM.set_fault("xxe")
        r = self.get(ICD_CODE)
        self.assertProblem(r, 502, "bad_response", detail_re="DTD.*refused")
        self.assertNotIn("root:", r.body.decode("utf-8"))


# ---------------------------------------------------------------------------
# 5. Text: byte-order mark, numeric character references, NFC

class TextTest(GatewayCase):

    def test_byte_order_mark(self):
        SIM.set_fault("bom", remaining=1)
        status, raw, _ = sim_post(ICD_CODE)
        self.assertTrue(raw.startswith(b"\xef\xbb\xbf<?xml"), raw[:10])
        SIM.set_fault("bom")
        self.assertEqual(self.assertTaxpayer(self.get(ICD_CODE), ICD_CODE), ICD_TAXPAYER)

    def test_numeric_character_references(self):
        SIM.set_fault("ncr", remaining=1)
        status, raw, _ = sim_post(ICD_CODE)
        self.assertIn(b"Thu&#7871;", raw, "the ICD's own example reference")
        self.assertNotIn("Thuế".encode("utf-8"), raw)
        SIM.set_fault("ncr")
        got = self.assertTaxpayer(self.get(ICD_CODE), ICD_CODE)
        self.assertEqual(got, ICD_TAXPAYER)
        # NFC bytes spelled out, so an editor's normalisation of this file cannot hide a bug.
        self.assertEqual(got["tax_office"]["name"].encode("utf-8"),
                         b"C\xe1\xbb\xa5c Thu\xe1\xba\xbf Th\xc3\xa0nh ph\xe1\xbb\x91 H\xc3\xa0 N\xe1\xbb\x99i")


# ---------------------------------------------------------------------------
# 6. The registry's rate limit (30 requests/s, HTTP 503 with an empty body)

class RateLimitTest(GatewayCase):

    def test_over_the_limit_is_503_with_retry_after(self):
        set_limit(3)
        with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
            t0 = time.monotonic()
            results = list(pool.map(lambda _: self.get(ICD_CODE), range(12)))
            elapsed = time.monotonic() - t0
        ok = [r for r in results if r.status == 200]
        limited = [r for r in results if r.status == 503]
        self.assertEqual(len(ok) + len(limited), 12, [r.status for r in results])
        self.assertTrue(limited, "12 requests at once must meet a limit of 3/s")
        self.assertTrue(ok)
        self.assertLessEqual(len(ok), 3 * (int(elapsed) + 1), "the limiter let too many through")
        for r in limited:
            self.assertProblem(r, 503, "upstream_rate_limited")
            self.assertEqual(r.json.get("upstream"), "tax")
            self.assertEqual(r.header("Retry-After"), "1", "the ICD's limit is per second")
        time.sleep(1.1)
        self.assertTaxpayer(self.get(ICD_CODE), ICD_CODE)

    def test_sim_limit_is_the_icds_30_per_second(self):
        set_limit(30)
        self.assertEqual(SIM.control("GET", "/limit").json, {"per_second": 30})
        codes = []
        for _ in range(40):
            status, raw, _ = sim_post(ICD_CODE)
            codes.append(status)
            if status == 503:
                self.assertEqual(raw, b"", "ICD: an empty body")
        self.assertIn(503, codes)
        self.assertGreaterEqual(codes.count(200), 30)


class RateLimitRetryTest(GatewayCase):
    upstream = {"retry": {"max_attempts": 2}, "timeout_ms": 5000, "deadline_ms": 8000}

    def test_rate_limited_call_is_retried_after_retry_after(self):
        SIM.set_fault("rate_limit", remaining=1)
        before = SIM.requests()
        t0 = time.monotonic()
        r = self.get(ICD_CODE)
        elapsed = time.monotonic() - t0
        self.assertEqual(self.assertTaxpayer(r, ICD_CODE), ICD_TAXPAYER)
        self.assertEqual(SIM.requests(), before + 2, "one 503, then one retry")
        self.assertGreaterEqual(elapsed, 0.95, "the retry waits the Retry-After second")


# ---------------------------------------------------------------------------
# 7. Transport as the ICD describes it

class SimTransportTest(unittest.TestCase):

    def test_registry_needs_no_client_certificate(self):
        # The tax ICD asks for server authentication only, unlike population's mutual TLS.
        status, raw, _ = sim_post(ICD_CODE, client_cert=False)
        self.assertEqual(status, 200)


if __name__ == "__main__":
    unittest.main()
