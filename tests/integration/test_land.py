"""Land lookups end to end: portal --mTLS--> gateway --mTLS, REST/JSON--> lienthong-sim (land).

Expected values come from the simulator's own data (its sample, or its document fetched directly with the
ICD's request) mapped by hand from the contract texts (icd/land.md, northbound.md, adapters/land/README.md),
never from the gateway's output. Every 200 is validated against schemas/land_parcel.schema.json.

Statuses asserted here (adapters/land/README.md, "Errors"):
  a malformed commune, sheet, parcel or serial -> 400 invalid_identifier, before any upstream call;
  DD-400 -> 400; DD-403 -> 502; DD-404 -> 404; DD-429 -> 503 with the database's Retry-After, retried after it;
  areas written with a point -> 502 bad_response; another parcel's document -> 502 upstream_record_mismatch;
  the nightly window's HTML 503 -> 503 upstream_sync_window with a Retry-After to the window's end, and
  nothing more reaches the database while the window lasts; a 503 outside the window -> 503 with the
  configured Retry-After, retried.
"""

import datetime
import http.client
import json
import ssl
import time
import unicodedata
import unittest

import harness as h

SEED = 7
SIM = None
UNIT_CODE = "000.00.00.H53"
NO_LIMIT = 100000  # requests/s: tests that are not about the ICD's 10/s limit stay clear of it
ICD_HEADERS = {"X-Ma-Don-Vi": UNIT_CODE, "X-Ma-Can-Bo": "CB-000123", "X-Muc-Dich": "HS-2026-000042"}

# Code tables: icd/land.md, with the English names of adapters/land/README.md.
LAND_USES = {
    "ONT": "rural_residential", "ODT": "urban_residential", "LUC": "rice_specialised", "LUK": "rice_other",
    "LUN": "rice_upland", "BHK": "annual_crops_flat", "NHK": "annual_crops_upland", "CLN": "perennial_crops",
    "RSX": "production_forest", "RPH": "protection_forest", "RDD": "special_use_forest", "NTS": "aquaculture",
    "LMU": "salt_production", "NKH": "other_agricultural", "TSC": "government_office", "DGD": "education",
    "DYT": "health", "DGT": "transport", "SKC": "non_agricultural_production", "TMD": "commercial_services",
    "BCS": "unused_flat",
}
HOLDERS = {"CaNhan": "individual", "VoChong": "spouses", "HoGiaDinh": "household", "ToChuc": "organisation",
           "CongDong": "community"}
RESTRICTIONS = {"THE_CHAP": "mortgage", "KE_BIEN": "seizure", "TRANH_CHAP": "dispute", "KHAC": "other"}
STATUSES = {"HIEU_LUC": "in_force", "DA_CAP_DOI": "replaced", "DA_THU_HOI": "revoked"}

# The ICD's sample response, mapped by hand.
ICD_RECORD = {
    "parcel": {
        "commune_code": "12616", "map_sheet": "12", "parcel_number": "345", "area_m2": "152.5",
        "address": "Thôn Đông, xã Vũ Tiên, tỉnh Hưng Yên",
        "land_uses": [
            {"category": {"code": "rural_residential", "source_code": "ONT"}, "area_m2": "100",
             "term": {"permanent": True, "until": None}},
            {"category": {"code": "perennial_crops", "source_code": "CLN"}, "area_m2": "52.5",
             "term": {"permanent": False, "until": "2064-10-15"}},
        ],
        "origin": "Công nhận quyền như giao đất có thu tiền sử dụng đất",
    },
    "certificates": [{
        "serial": "DA 01234567", "register_number": "CS 00123", "issued_on": "2021-05-20",
        "issued_by": "Sở Tài nguyên và Môi trường tỉnh Thái Bình",
        "status": {"code": "in_force", "source_code": "HIEU_LUC"},
        "holders": [
            {"kind": {"code": "spouses", "source_code": "VoChong"}, "full_name": "Trần Văn Đức",
             "personal_id": "001080012345", "enterprise_code": None},
            {"kind": {"code": "spouses", "source_code": "VoChong"}, "full_name": "Nguyễn Thị Hồng Nhung",
             "personal_id": "034195001234", "enterprise_code": None},
        ],
        "restrictions": [{
            "kind": {"code": "mortgage", "source_code": "THE_CHAP"},
            "description": "Thế chấp tại Ngân hàng TMCP Ngoại thương Việt Nam - CN Thái Bình",
            "from": "2023-06-01", "until": None,
        }],
    }],
}


def setUpModule():
    global SIM
    # --window open: the suite may run at night, when the real window would close the database (the window
    # tests close it over the control API); a reset comes back to open too.
    SIM = h.Sim("land", seed=SEED, extra_args=["--window", "open"])
    set_limit(NO_LIMIT)


def tearDownModule():
    if SIM is not None:
        SIM.stop()


def set_limit(per_second):
    SIM.control("PUT", "/limit", {"per_second": per_second})


def set_window(mode):
    return SIM.control("PUT", "/window", {"mode": mode}).json


def samples(n=24):
    """Parcels the simulator holds: its sample lines, which `--sample` prints too."""
    r = SIM.control("GET", "/sample?n=%d" % n)
    rows = [json.loads(line) for line in r.body.decode("utf-8").splitlines() if line.strip()]
    assert len(rows) == n, "sample printed %d rows" % len(rows)
    assert h.sim_sample(n, SEED, system="land") == rows, "--sample and /control/land/sample disagree"
    return rows


# ---------------------------------------------------------------------------
# talking to the simulator directly, as the ICD says, to learn what it holds

def sim_context(client_cert=True):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(h.pki_path("national-ca.crt"))
    ctx.check_hostname = False
    if client_cert:
        ctx.load_cert_chain(h.pki_path("gateway-national.crt"), h.pki_path("gateway-national.key"))
    return ctx


def sim_get(path, headers=None, client_cert=True):
    """One ICD request straight to the simulator: (status, body bytes)."""
    conn = http.client.HTTPSConnection(h.HOST, SIM.port, context=sim_context(client_cert), timeout=15)
    try:
        conn.request("GET", path, headers=ICD_HEADERS if headers is None else headers)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def sim_document(commune=None, sheet=None, parcel=None, serial=None):
    path = ("/api/v1/giay-chung-nhan/" + serial.replace(" ", "%20") if serial is not None
            else "/api/v1/thua-dat?maXa=%s&soTo=%s&soThua=%s" % (commune, sheet, parcel))
    status, body = sim_get(path)
    assert status == 200, "simulator answered %d: %r" % (status, body[:300])
    return json.loads(body.decode("utf-8"))


def expected_from_sim(doc):
    """The canonical record the ICD's mapping gives for the simulator's document."""
    def text(v):
        v = (v or "").strip()
        return unicodedata.normalize("NFC", v) if v else None

    def coded(v, table):
        c = text(v)
        return None if c is None else {"code": table.get(c), "source_code": c}

    def date(v):
        d = text(v)
        return None if d is None else datetime.datetime.strptime(d, "%d/%m/%Y").date().isoformat()

    def area(v):
        # The ICD: a string with a decimal comma and no thousands separator. The point is the only change.
        return None if v is None else v.replace(",", ".")

    def term(v):
        t = text(v)
        if t is None:
            return None
        return {"permanent": True, "until": None} if t == "Lâu dài" else {"permanent": False, "until": date(t)}

    def listed(v, one):
        return None if v is None else [one(x) for x in v]

    t = doc.get("thuaDat")
    parcel = None if t is None else {
        "commune_code": text(t.get("maXa")), "map_sheet": text(t.get("soHieuToBanDo")),
        "parcel_number": text(t.get("soThuTuThua")), "area_m2": area(t.get("dienTich")),
        "address": text(t.get("diaChi")),
        "land_uses": listed(t.get("mucDichSuDung"), lambda u: {
            "category": coded(u.get("kyHieu"), LAND_USES), "area_m2": area(u.get("dienTich")),
            "term": term(u.get("thoiHan"))}),
        "origin": text(t.get("nguonGoc")),
    }
    certificates = listed(doc.get("giayChungNhan"), lambda c: {
        "serial": text(c.get("soPhatHanh")), "register_number": text(c.get("soVaoSo")),
        "issued_on": date(c.get("ngayCap")), "issued_by": text(c.get("coQuanCap")),
        "status": coded(c.get("trangThai"), STATUSES),
        "holders": listed(c.get("chuSuDung"), lambda o: {
            "kind": coded(o.get("loai"), HOLDERS), "full_name": text(o.get("hoTen")),
            "personal_id": text(o.get("soDinhDanh")), "enterprise_code": text(o.get("maSoDoanhNghiep"))}),
        "restrictions": listed(c.get("hanCheQuyen"), lambda x: {
            "kind": coded(x.get("loai"), RESTRICTIONS), "description": text(x.get("noiDung")),
            "from": date(x.get("tuNgay")), "until": date(x.get("denNgay"))}),
    })
    return {"parcel": parcel, "certificates": certificates}


# ---------------------------------------------------------------------------
# the gateway

def land_upstream(**extra):
    land = {
        "base_url": SIM.base_url,
        # Mutual TLS is the only authentication: the gateway's client certificate of the national CA.
        "cert": h.pki_path("gateway-national.crt"), "key": h.pki_path("gateway-national.key"),
        "ca": h.pki_path("national-ca.crt"),
        "connect_timeout_ms": 2000, "timeout_ms": 5000,
        "retry": {"max_attempts": 1},
        "breaker": {"consecutive_failures": 0, "failure_ratio_percent": 0},
        "service": {"unit_code": UNIT_CODE},
    }
    return {"upstreams": {"population": h.DELETE, "land": h.deep_merge(land, extra)}}


def officer(request_id=None):
    hd = {"X-Officer-Id": "CB-000123", "X-Purpose": "HS-2026-000042"}
    if request_id:
        hd["X-Request-Id"] = request_id
    return hd


def parcel_path(commune, sheet, parcel):
    return "/v1/land/parcels/%s/%s/%s" % (commune, sheet, parcel)


def certificate_path(serial):
    return "/v1/land/certificates/" + serial.replace(" ", "%20")


class GatewayCase(unittest.TestCase):
    """One gateway per class, sharing the module's simulator."""

    upstream = {}
    gw = None

    @classmethod
    def setUpClass(cls):
        SIM.clear_faults()
        set_window("open")
        cls.gw = h.Gateway(SIM, overrides=land_upstream(**cls.upstream))

    @classmethod
    def tearDownClass(cls):
        if cls.gw is not None:
            cls.gw.kill()

    def tearDown(self):
        SIM.clear_faults()
        set_window("open")
        set_limit(NO_LIMIT)

    def get(self, path, **kw):
        return self.gw.request("GET", path, headers=officer(**kw))

    def assertRecord(self, r):
        self.assertEqual(r.status, 200, self.gw.diag(repr(r)))
        self.assertTrue(r.header("Content-Type", "").startswith("application/json"), r.headers)
        h.validate(r.json, "land_parcel.schema.json")  # harness.https_request does too; this one cannot be skipped
        self.assertEqual(r.json["source"]["system"], "land")
        self.assertEqual(r.json["source"]["request_id"], r.header("X-Request-Id"))
        return {k: v for k, v in r.json.items() if k != "source"}

    def assertProblem(self, r, status, code):
        self.assertEqual(r.status, status, self.gw.diag("expected %d, got %r" % (status, r)))
        self.assertTrue(r.header("Content-Type", "").startswith("application/problem+json"), r.headers)
        self.assertEqual(r.json.get("type"), "urn:lienthong:problem:" + code, r.json)
        self.assertEqual(r.header("X-Request-Id"), r.json.get("request_id"))
        return r.json


# ---------------------------------------------------------------------------
# 1. Mapping

class MappingTest(GatewayCase):

    def test_icd_example_by_parcel_maps_every_field(self):
        self.assertEqual(expected_from_sim(sim_document("12616", "12", "345")), ICD_RECORD,
                         "the simulator holds the ICD's example")
        r = self.get(parcel_path("12616", "12", "345"), request_id="itest-land-parcel")
        got = self.assertRecord(r)
        self.assertEqual(got, ICD_RECORD)
        # Exact decimal strings, never numbers rounded through a double.
        self.assertEqual(got["parcel"]["area_m2"], "152.5")
        self.assertIsInstance(got["parcel"]["land_uses"][1]["area_m2"], str)

    def test_icd_example_by_certificate_with_the_space_encoded(self):
        r = self.get("/v1/land/certificates/DA%2001234567")
        self.assertEqual(self.assertRecord(r), ICD_RECORD)

    def test_sample_parcels_and_their_certificates_map_every_field(self):
        rows = samples()
        before = SIM.requests()
        asked = 0
        for row in rows[1:]:
            want = expected_from_sim(sim_document(row["commune"], row["sheet"], row["parcel"]))
            with self.subTest(parcel=(row["commune"], row["sheet"], row["parcel"])):
                self.assertEqual(self.assertRecord(self.get(parcel_path(row["commune"], row["sheet"],
                                                                        row["parcel"]))), want)
            # Every serial finds the same document, replaced certificates included.
            for serial in row["serials"]:
                with self.subTest(serial=serial):
                    self.assertEqual(self.assertRecord(self.get(certificate_path(serial))), want)
            asked += 1 + len(row["serials"])
        # Each lookup is one request of the gateway (the cache is off, nothing is retried), plus ours above.
        self.assertEqual(SIM.requests() - before, asked + len(rows) - 1)

    def test_an_unknown_land_use_code_passes_through(self):
        row = next(r for r in samples() if any(c not in LAND_USES for c in r["land_use_codes"]))
        unknown = next(c for c in row["land_use_codes"] if c not in LAND_USES)
        got = self.assertRecord(self.get(parcel_path(row["commune"], row["sheet"], row["parcel"])))
        categories = [u["category"] for u in got["parcel"]["land_uses"]]
        self.assertIn({"code": None, "source_code": unknown}, categories)
        self.assertEqual(got, expected_from_sim(sim_document(row["commune"], row["sheet"], row["parcel"])))

    def test_malformed_identifiers_are_refused_before_any_upstream_call(self):
        before = SIM.requests()
        for path in (parcel_path("1261", "12", "345"), parcel_path("12616", "x", "345"),
                     parcel_path("12616", "12", "1234567"), parcel_path("12616", "12", "3%2045"),
                     certificate_path("DA01234567"), "/v1/land/certificates/DA+01234567",
                     certificate_path("da 01234567"), certificate_path("DA 01234"),
                     certificate_path("DA 012345678"), "/v1/land/certificates/DA%2001234567%00"):
            with self.subTest(path=path):
                body = self.assertProblem(self.get(path), 400, "invalid_identifier")
                self.assertNotIn("01234567", body.get("detail", ""), "the detail never repeats the identifier")
        self.assertEqual(SIM.requests(), before, "nothing malformed reached the land database")

    def test_no_such_parcel_or_certificate_is_404(self):
        row = samples(4)[1]
        # Sheet 41 does not exist in this database (its sheets are 1-40): the database's DD-404.
        self.assertEqual(sim_get("/api/v1/thua-dat?maXa=%s&soTo=41&soThua=1" % row["commune"])[0], 404)
        body = self.assertProblem(self.get(parcel_path(row["commune"], "41", "1")), 404, "DD-404")
        self.assertEqual(body.get("upstream"), "land")
        self.assertProblem(self.get(certificate_path("DA 00000001")), 404, "DD-404")

    def test_documented_errors_and_faults(self):
        cases = [("DD-400", 400, "DD-400"), ("DD-403", 502, "DD-403"), ("DD-404", 404, "DD-404"),
                 ("bad_area", 502, "bad_response"), ("wrong_parcel", 502, "upstream_record_mismatch"),
                 ("html502", 502, "upstream_http_502"), ("html504", 504, "upstream_http_504"),
                 ("reset", 502, None)]
        row = samples(4)[1]
        for fault, status, code in cases:
            with self.subTest(fault=fault):
                SIM.set_fault(fault)
                r = self.get(parcel_path(row["commune"], row["sheet"], row["parcel"]))
                self.assertEqual(r.status, status, self.gw.diag(repr(r)))
                self.assertEqual(r.json.get("upstream"), "land", r.json)
                if code is not None:
                    self.assertEqual(r.json.get("type"), "urn:lienthong:problem:" + code, r.json)
        # The ICD's own example with "152.5" instead of "152,5": a point may be a thousands separator.
        SIM.set_fault("bad_area")
        status, raw = sim_get("/api/v1/thua-dat?maXa=12616&soTo=12&soThua=345")
        self.assertEqual((status, json.loads(raw)["thuaDat"]["dienTich"]), (200, "152.5"))
        self.assertProblem(self.get(parcel_path("12616", "12", "345")), 502, "bad_response")
        SIM.clear_faults()
        self.assertRecord(self.get(parcel_path(row["commune"], row["sheet"], row["parcel"])))

    def test_the_database_requires_a_client_certificate(self):
        """Mutual TLS is the only authentication: without the province's certificate there is no HTTP at all."""
        with self.assertRaises((ssl.SSLError, ConnectionError, http.client.RemoteDisconnected)):
            sim_get("/api/v1/thua-dat?maXa=12616&soTo=12&soThua=345", client_cert=False)
        # And the ICD's three headers are required: the gateway's 200s above carried them.
        status, body = sim_get("/api/v1/thua-dat?maXa=12616&soTo=12&soThua=345", headers={})
        self.assertEqual((status, json.loads(body)["ma"]), (400, "DD-400"))


# ---------------------------------------------------------------------------
# 2. The rate limit: DD-429 with Retry-After

class RateLimitTest(GatewayCase):
    upstream = {"retry": {"max_attempts": 2}}

    def test_dd_429_is_retried_after_its_retry_after(self):
        row = samples(4)[1]
        want = expected_from_sim(sim_document(row["commune"], row["sheet"], row["parcel"]))
        SIM.set_fault("DD-429", remaining=1)
        status, _ = sim_get("/api/v1/thua-dat?maXa=12616&soTo=12&soThua=345")
        self.assertEqual(status, 429, "the fault answers 429")
        SIM.set_fault("DD-429", remaining=1)
        before = SIM.requests()
        t0 = time.monotonic()
        r = self.get(parcel_path(row["commune"], row["sheet"], row["parcel"]))
        self.assertEqual(self.assertRecord(r), want)
        self.assertEqual(SIM.requests() - before, 2, "one 429, then one retry")
        self.assertGreaterEqual(time.monotonic() - t0, 1.9, "the retry waits the database's Retry-After of 2 s")

    def test_dd_429_to_the_caller_carries_the_databases_retry_after(self):
        SIM.set_fault("DD-429")
        before = SIM.requests()
        r = self.get(parcel_path("12616", "12", "345"))
        body = self.assertProblem(r, 503, "DD-429")
        self.assertEqual(body.get("upstream"), "land")
        self.assertEqual(r.header("Retry-After"), "2", r.headers)
        self.assertEqual(SIM.requests() - before, 2, "max_attempts 2: one retry, after the wait")


# ---------------------------------------------------------------------------
# 3. The nightly synchronisation window

VN = datetime.timezone(datetime.timedelta(hours=7))


def vn_clock(t, minutes_from_now):
    """HH:MM (UTC+07:00) of t plus some minutes, rounded down to the minute."""
    return (datetime.datetime.fromtimestamp(t, VN) + datetime.timedelta(minutes=minutes_from_now)).strftime("%H:%M")


def seconds_to(clock, t):
    """Seconds from t until the next HH:MM in UTC+07:00."""
    hh, mm = (int(x) for x in clock.split(":"))
    local = int(t + 7 * 3600) % 86400
    return (hh * 3600 + mm * 60 - local) % 86400


class NightWindowTest(GatewayCase):
    """The gateway's window is configured around now (the ICD's 23:00-05:00 cannot be waited for), and the
    simulator's is forced closed: its HTML 503 without Retry-After."""

    @classmethod
    def setUpClass(cls):
        now = time.time()
        cls.window_end = vn_clock(now, 120)
        cls.upstream = {"retry": {"max_attempts": 3},  # retries allowed: the window must still not be retried
                        "breaker": {"consecutive_failures": 5},
                        "service": {"sync_window_start": vn_clock(now, -60), "sync_window_end": cls.window_end}}
        super().setUpClass()

    def assertRetryAfterToTheEnd(self, r, t_first, t_last):
        ra = r.header("Retry-After")
        self.assertRegex(ra or "", r"^[1-9][0-9]*$", r.headers)
        # Computed by the gateway from its own clock between these two moments (rounded either way by a second).
        low, high = seconds_to(self.window_end, t_last) - 1, seconds_to(self.window_end, t_first) + 1
        self.assertTrue(low <= int(ra) <= high, "Retry-After %s should run to %s UTC+07:00 (%d..%d)"
                        % (ra, self.window_end, low, high))
        self.assertGreater(int(ra), 3600, "the wait is the window's, not a cool-down's")

    def test_the_windows_503_closes_the_database_until_the_windows_end(self):
        self.assertTrue(set_window("closed")["closed_now"])
        status, body = sim_get("/api/v1/thua-dat?maXa=12616&soTo=12&soThua=345")
        self.assertEqual(status, 503)
        self.assertIn(b"<html", body, "the simulator's window page is HTML")
        rows = samples(6)
        before = SIM.requests()

        t0 = time.time()
        r = self.get(parcel_path("12616", "12", "345"))
        t1 = time.time()
        body = self.assertProblem(r, 503, "upstream_sync_window")
        self.assertEqual(body.get("upstream"), "land")
        self.assertRetryAfterToTheEnd(r, t0, t1)
        self.assertEqual(SIM.requests() - before, 1, "the window's 503 is not retried")

        # Every further lookup, of any parcel or certificate, on any worker, is answered without the database.
        for row in rows:
            for path in [parcel_path(row["commune"], row["sheet"], row["parcel"])] + \
                        [certificate_path(s) for s in row["serials"]]:
                with self.subTest(path=path):
                    r = self.get(path)
                    self.assertEqual(r.status, 503, self.gw.diag(repr(r)))
                    self.assertRetryAfterToTheEnd(r, t0, time.time())
        # Even once the database has reopened early: the window is the ICD's promise, held to its end.
        set_window("open")
        self.assertEqual(self.get(parcel_path("12616", "12", "345")).status, 503)
        self.assertEqual(SIM.requests() - before, 1, "nothing more reached the land database during the window")
        circuit = next(s for s in self.gw.admin("GET", "/status.json").json["systems"] if s["name"] == "land")
        self.assertEqual(circuit["circuit"]["state"], "open", circuit)


class OutsideTheWindowTest(GatewayCase):
    """The same HTML 503 outside the configured window is an ordinary outage: the configured Retry-After,
    and retried."""

    @classmethod
    def setUpClass(cls):
        now = time.time()
        cls.upstream = {"retry": {"max_attempts": 2},
                        "service": {"sync_window_start": vn_clock(now, 180), "sync_window_end": vn_clock(now, 240),
                                    "unavailable_retry_after_s": 45}}
        super().setUpClass()

    def test_a_503_outside_the_window_is_retried_and_advises_the_configured_wait(self):
        set_window("closed")
        before = SIM.requests()
        r = self.get(parcel_path("12616", "12", "345"))
        body = self.assertProblem(r, 503, "upstream_http_503")
        self.assertEqual(body.get("upstream"), "land")
        self.assertEqual(r.header("Retry-After"), "45", r.headers)
        self.assertEqual(SIM.requests() - before, 2, "retried once (max_attempts 2)")
        set_window("open")
        r = self.get(parcel_path("12616", "12", "345"))
        self.assertEqual(self.assertRecord(r), ICD_RECORD, "the system is not held closed")


if __name__ == "__main__":
    unittest.main()
