"""Social insurance lookups end to end: portal --mTLS--> gateway --mTLS, HMAC-signed REST--> lienthong-sim.

Expected values come from the simulator's own data (its sample of identities, and its ICD answer
fetched directly with a request this file signs itself from icd/social-insurance.md) mapped by the
ICD's field notes, never from the gateway's output.

Statuses asserted here (adapters/insurance/README.md, "Error mapping"):
  NOT_FOUND -> 404 insured_not_found; INVALID -> 400 upstream_invalid_request;
  RATE_LIMITED -> 503 upstream_rate_limited with the upstream's Retry-After;
  AUTH_SIGNATURE / AUTH_EXPIRED / AUTH_REPLAY -> 502 upstream_auth_signature / _expired / _replay;
  HTTP 500 -> 502 upstream_http_status; garbage on 200 -> 502 bad_response; another person's
  record -> 502 upstream_record_mismatch; html502, reset, truncate -> 502; html503 -> 503 with
  Retry-After; html504 -> 504. Each is problem+json with "upstream": "insurance".
"""

import base64
import datetime
import hashlib
import hmac
import http.client
import json
import os
import re
import secrets
import ssl
import string
import time
import unicodedata
import unittest
import urllib.parse

import jsonschema

import harness as h

SEED = 7
SIM = None
VALIDATOR = None

CLIENT_ID = "LT-DEV-PROVINCE"  # the one client the simulator knows (tests/sim/sim_insurance.h)
ICD_PATH = "/api/v1/nguoi-tham-gia"
ROUTE = "/v1/insured/"
SCHEMA_PATH = os.path.join(h.SOURCE_DIR, "schemas", "insured.schema.json")

# Code tables of icd/social-insurance.md ("Field notes").
SEX = {"Nam": "male", "Nữ": "female"}
STATUS = {"DANG_THAM_GIA": "contributing", "TAM_DUNG": "suspended", "DA_NGHI": "stopped",
          "HUONG_CHE_DO": "receiving_benefits"}
NONCE_RE = re.compile(r"^[A-Za-z0-9]{16,64}$")


def setUpModule():
    global SIM, VALIDATOR
    with open(SCHEMA_PATH, encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    VALIDATOR = jsonschema.Draft202012Validator(schema)
    SIM = h.Sim("insurance", seed=SEED)


def tearDownModule():
    if SIM is not None:
        SIM.stop()


# ---------------------------------------------------------------------------
# talking to the simulator directly, signing as the ICD says (independently of the gateway)

def hmac_secret():
    with open(h.pki_path("insurance-hmac.secret"), "rb") as f:
        return f.read().strip()


def icd_query(params):
    return "&".join("%s=%s" % (n, urllib.parse.quote(v, safe="-._~")) for n, v in sorted(params))


def icd_signature(key, method, path, query, timestamp, nonce, body=b""):
    canonical = "\n".join([method.upper(), path, query, timestamp, nonce, hashlib.sha256(body).hexdigest()])
    return base64.b64encode(hmac.new(key, canonical.encode("utf-8"), hashlib.sha256).digest()).decode()


def new_nonce(n=24):
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(n))


def vss_get(ma_so, key=None, client=CLIENT_ID, timestamp=None, nonce=None, sign_for=None):
    """GET nguoi-tham-gia straight at the simulator. sign_for: sign another maSo than the one sent."""
    key = hmac_secret() if key is None else key
    timestamp = str(int(time.time())) if timestamp is None else timestamp
    nonce = nonce or new_nonce()
    query = icd_query([("maSo", ma_so)])
    sig = icd_signature(key, "GET", ICD_PATH, icd_query([("maSo", sign_for or ma_so)]), timestamp, nonce)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(h.pki_path("national-ca.crt"))
    ctx.load_cert_chain(h.pki_path("gateway-national.crt"), h.pki_path("gateway-national.key"))
    conn = http.client.HTTPSConnection(h.HOST, SIM.port, context=ctx, timeout=15)
    try:
        conn.request("GET", ICD_PATH + "?" + query, headers={
            "X-VSS-Client": client, "X-VSS-Timestamp": timestamp, "X-VSS-Nonce": nonce, "X-VSS-Signature": sig,
            "X-Officer-ID": "CB-TEST", "X-Purpose": "itest"})
        r = conn.getresponse()
        return r.status, json.loads(r.read().decode("utf-8"))
    finally:
        conn.close()


def sim_record(ma_so):
    status, body = vss_get(ma_so)
    if status != 200:
        raise AssertionError("simulator answered %d for a sampled number: %r" % (status, body))
    return body["data"]


def samples(n=60):
    r = SIM.control("GET", "/sample?n=%d" % n)
    rows = [json.loads(line) for line in r.body.decode("utf-8").splitlines() if line.strip()]
    assert len(rows) == n, "sample printed %d rows" % len(rows)
    return rows


def set_skew(seconds):
    return SIM.control("PUT", "/clock", {"skew_s": seconds}).json


def last_request():
    return SIM.control("GET", "/last_request").json


# ---------------------------------------------------------------------------
# the ICD's field notes, applied to the simulator's answer

def dmy_to_iso(s):
    d, m, y = s.split("/")
    return "%s-%s-%s" % (y, m, d)


def icd_to_canonical(d):
    """The canonical insured person that docs/api.md and the ICD field notes make of `data`."""
    card = d["theBhyt"]
    bhxh = d["bhxh"]
    unit = bhxh["donVi"]
    fac = card["noiDkKcbBanDau"] if card else None
    return {
        "insurance_number": d["maSoBhxh"],
        "personal_id": d["soDinhDanh"],
        "full_name": unicodedata.normalize("NFC", d["hoTen"]).strip(),
        "birth_date": d["ngaySinh"] if len(d["ngaySinh"]) == 4 else dmy_to_iso(d["ngaySinh"]),
        "sex": {"code": SEX.get(d["gioiTinh"]), "source_code": d["gioiTinh"]},
        "health_insurance_card": None if card is None else {
            "card_number": card["maThe"],
            "valid_from": dmy_to_iso(card["giaTriTu"]),
            "valid_to": dmy_to_iso(card["giaTriDen"]),
            "initial_care_facility": {"code": fac["ma"], "name": fac["ten"]},
            "benefit_level": card["mucHuong"],
        },
        "social_insurance": {
            "status": {"code": STATUS.get(bhxh["trangThai"]), "source_code": bhxh["trangThai"]},
            "employer": None if unit is None else {"code": unit["ma"], "name": unit["ten"]},
            "total_contribution": {"years": bhxh["tongThoiGianDong"]["nam"],
                                   "months": bhxh["tongThoiGianDong"]["thang"]},
        },
    }


def gateway_overrides(secret_file=None, **upstream):
    ins = {
        "base_url": SIM.base_url,
        "cert": h.pki_path("gateway-national.crt"), "key": h.pki_path("gateway-national.key"),
        "ca": h.pki_path("national-ca.crt"),
        "connect_timeout_ms": 2000, "timeout_ms": 10000,
        "service": {"client_id": CLIENT_ID, "hmac_secret_file": secret_file or h.pki_path("insurance-hmac.secret")},
    }
    ins.update(upstream)
    return {"upstreams": {"population": h.DELETE, "insurance": ins}}


# Mapping only: one attempt and no breaker, so each answer is seen exactly as the adapter maps it.
NO_RETRY_NO_BREAKER = {"retry": {"max_attempts": 1},
                       "breaker": {"consecutive_failures": 0, "failure_ratio_percent": 0}}


class GatewayCase(unittest.TestCase):
    """One gateway per class (fresh config), sharing the module's simulator."""

    upstream = {}
    secret_file = None
    gw = None

    @classmethod
    def setUpClass(cls):
        SIM.clear_faults()
        set_skew(0)
        cls.gw = h.Gateway(SIM, overrides=gateway_overrides(cls.secret_file, **cls.upstream))

    @classmethod
    def tearDownClass(cls):
        if cls.gw is not None:
            cls.gw.kill()

    def tearDown(self):
        SIM.clear_faults()
        set_skew(0)

    def get(self, number, request_id=None, headers=None, gw=None):
        # Every test here is about the exchange with the national system: past any cache (northbound.md).
        hdrs = {"X-Officer-Id": "CB-000123", "X-Purpose": "HS-2025-000042", "Cache-Control": "no-cache"}
        if request_id is not None:
            hdrs["X-Request-Id"] = request_id
        hdrs.update(headers or {})
        return (gw or self.gw).request("GET", ROUTE + number, headers={k: v for k, v in hdrs.items() if v is not None})

    def get_ok(self, number, **kw):
        r = self.get(number, **kw)
        self.assertEqual(r.status, 200, self.gw.diag(repr(r)))
        self.assertTrue(r.header("Content-Type", "").startswith("application/json"), r.headers)
        errors = sorted(VALIDATOR.iter_errors(r.json), key=lambda e: list(e.path))
        self.assertEqual([], ["%s: %s" % (list(e.path), e.message) for e in errors], "schemas/insured.schema.json")
        return r

    def assertProblem(self, r, status, code=None, secret=None, gw=None):
        g = gw or self.gw
        self.assertEqual(r.status, status, g.diag("expected %d, got %r" % (status, r)))
        self.assertTrue(r.header("Content-Type", "").startswith("application/problem+json"), r.headers)
        p = r.json
        self.assertIsInstance(p, dict, r.body)
        for k in ("type", "title", "status", "detail", "request_id"):
            self.assertIn(k, p)
        self.assertEqual(p["status"], status)
        if code is not None:
            self.assertEqual(p["type"], "urn:lienthong:problem:" + code, p)
        if secret:
            self.assertNotIn(secret, json.dumps(p, ensure_ascii=False), "problem must never repeat the number")
        return p


# ---------------------------------------------------------------------------
# 1. mapping

class MappingTest(GatewayCase):

    def check_record(self, rec, row, data, rid, before, after):
        """before and after: time.time() around the lookup that answered rec."""
        want = icd_to_canonical(data)
        got = {k: v for k, v in rec.items() if k != "source"}
        self.assertEqual(got, want)
        # what the sample says the simulator holds for this person
        self.assertEqual(rec["insurance_number"], row["insurance_number"])
        self.assertEqual(rec["personal_id"], row["personal_id"])
        self.assertEqual(rec["full_name"], row["full_name"])
        self.assertTrue(unicodedata.is_normalized("NFC", rec["full_name"]))
        self.assertEqual(rec["full_name"], rec["full_name"].upper(), "ICD: hoTen is upper case, kept as given")
        # the personal id encodes the sex (ICD README: digit 4 even = male)
        self.assertEqual(rec["sex"]["code"], "male" if int(row["personal_id"][3]) % 2 == 0 else "female")
        if len(rec["birth_date"]) == 10:
            self.assertEqual(rec["birth_date"][2:4], row["personal_id"][4:6])
        src = rec["source"]
        self.assertEqual(src["system"], "insurance")
        self.assertEqual(src["request_id"], rid)
        fetched = datetime.datetime.fromisoformat(src["fetched_at"]).timestamp()
        self.assertTrue(before - 1 <= fetched <= after + 1, "fetched_at %s is during the lookup" % src["fetched_at"])

    def test_every_field_by_insurance_number(self):
        rows = samples(60)
        seen = {"year_only": 0, "no_card": 0, "card": 0, "voluntary": 0, "employer": 0, "statuses": set()}
        for i, row in enumerate(rows):
            with self.subTest(number=row["insurance_number"]):
                data = sim_record(row["insurance_number"])
                rid = "itest-ins-%d" % i
                before = time.time()
                rec = self.get_ok(row["insurance_number"], request_id=rid).json
                self.check_record(rec, row, data, rid, before, time.time())
                seen["year_only"] += len(rec["birth_date"]) == 4
                seen["no_card"] += rec["health_insurance_card"] is None
                seen["card"] += rec["health_insurance_card"] is not None
                seen["voluntary"] += rec["social_insurance"]["employer"] is None
                seen["employer"] += rec["social_insurance"]["employer"] is not None
                seen["statuses"].add(rec["social_insurance"]["status"]["code"])
        # the sample must exercise every shape the ICD describes, or the loop above proved less than it says
        for k in ("year_only", "no_card", "card", "voluntary", "employer"):
            self.assertGreater(seen[k], 0, "sample has no %s person: %r" % (k, seen))
        self.assertEqual(seen["statuses"], set(STATUS.values()))

    def test_every_field_by_personal_id(self):
        rows = samples(60)[:12]
        for i, row in enumerate(rows):
            with self.subTest(personal_id=row["personal_id"]):
                data = sim_record(row["personal_id"])
                self.assertEqual(data["maSoBhxh"], row["insurance_number"])
                rid = "itest-ins-pid-%d" % i
                before = time.time()
                rec = self.get_ok(row["personal_id"], request_id=rid).json
                self.check_record(rec, row, data, rid, before, time.time())

    def test_decomposed_name_from_upstream_is_composed(self):
        row = samples(60)[3]
        SIM.set_fault("nfd")
        rec = self.get_ok(row["insurance_number"]).json
        self.assertEqual(rec["full_name"], row["full_name"])
        self.assertTrue(unicodedata.is_normalized("NFC", rec["full_name"]))

    def test_officer_purpose_and_request_id_forwarded(self):
        row = samples(60)[5]
        before = time.time()
        self.get_ok(row["insurance_number"], request_id="itest-fwd-1",
                    headers={"X-Officer-Id": "CB-000777", "X-Purpose": "HS-2026-000999"})
        after = time.time()
        last = last_request()
        self.assertEqual(last["officer_id"], "CB-000777")
        self.assertEqual(last["purpose"], "HS-2026-000999")
        self.assertEqual(last["request_id"], "itest-fwd-1")
        self.assertEqual(last["client"], CLIENT_ID)
        self.assertEqual(last["query"], "maSo=" + row["insurance_number"])
        self.assertRegex(last["nonce"], NONCE_RE)
        # Taken while the request was under way: a busy machine widens the window, never breaks it. Milliseconds or
        # another zone's seconds would fall outside it.
        self.assertTrue(before - 1 <= int(last["timestamp"]) <= after + 1,
                        "X-VSS-Timestamp %s is unix seconds, between %d and %d" % (last["timestamp"], before, after))


# ---------------------------------------------------------------------------
# 2. validation before any upstream call

class ValidationTest(GatewayCase):

    def test_invalid_number_is_400_without_upstream_call(self):
        cases = ["12345", "01234567890", "0123456789012", "abcdefghij", "012345678x",
                 "097095012345",  # 12 digits, province 097
                 "000095012345",  # province 000
                 "001495012345",  # digit 4 must be 0-3
                 "%200123456789"]
        before = SIM.requests()
        for number in cases:
            with self.subTest(number=number):
                r = self.get(number)
                self.assertProblem(r, 400, code="invalid_identifier", secret=urllib.parse.unquote(number).strip())
        self.assertEqual(SIM.requests(), before, "no invalid number may reach the national system")

    def test_missing_officer_is_400_without_upstream_call(self):
        row = samples(60)[0]
        before = SIM.requests()
        r = self.get(row["insurance_number"], headers={"X-Officer-Id": None})
        self.assertProblem(r, 400)
        self.assertEqual(SIM.requests(), before)


# ---------------------------------------------------------------------------
# 3. signatures, clocks and nonces

class SimulatorAuthTest(unittest.TestCase):
    """The simulator really checks what the ICD says: otherwise a gateway lookup that succeeds proves nothing."""

    def setUp(self):
        SIM.clear_faults()
        set_skew(0)
        self.number = samples(60)[1]["insurance_number"]

    def test_correct_request_accepted(self):
        self.assertEqual(vss_get(self.number)[0], 200)

    def test_wrong_key_refused(self):
        self.assertEqual(vss_get(self.number, key=b"0" * 64), (401, {"status": "AUTH_SIGNATURE"}))

    def test_signature_over_another_query_refused(self):
        other = samples(60)[2]["insurance_number"]
        self.assertEqual(vss_get(self.number, sign_for=other), (401, {"status": "AUTH_SIGNATURE"}))

    def test_unknown_client_refused(self):
        self.assertEqual(vss_get(self.number, client="SOMEONE-ELSE"), (401, {"status": "AUTH_SIGNATURE"}))

    def test_stale_timestamp_refused(self):
        self.assertEqual(vss_get(self.number, timestamp=str(int(time.time()) - 400)), (401, {"status": "AUTH_EXPIRED"}))
        self.assertEqual(vss_get(self.number, timestamp=str(int(time.time()) + 400)), (401, {"status": "AUTH_EXPIRED"}))
        self.assertEqual(vss_get(self.number, timestamp=str(int(time.time()) - 200))[0], 200)

    def test_replayed_nonce_refused(self):
        nonce = new_nonce(40)
        self.assertEqual(vss_get(self.number, nonce=nonce)[0], 200)
        self.assertEqual(vss_get(self.number, nonce=nonce), (401, {"status": "AUTH_REPLAY"}))


class AuthTest(GatewayCase):
    upstream = {"breaker": {"consecutive_failures": 0, "failure_ratio_percent": 0}}

    def test_signed_lookup_accepted(self):
        row = samples(60)[7]
        before = SIM.stats()["by_operation"]["nguoi-tham-gia"]
        self.get_ok(row["insurance_number"])
        self.assertEqual(SIM.stats()["by_operation"]["nguoi-tham-gia"], before + 1,
                         "exactly one signed request, accepted the first time")

    def test_fresh_nonce_per_request(self):
        row = samples(60)[8]
        before = SIM.control("GET", "/nonces").json["remembered"]
        self.get_ok(row["insurance_number"])
        first = last_request()["nonce"]
        # the same lookup again (past any cache, see get()): a nonce reused would be AUTH_REPLAY
        self.get_ok(row["insurance_number"])
        second = last_request()["nonce"]
        self.assertRegex(first, NONCE_RE)
        self.assertRegex(second, NONCE_RE)
        self.assertNotEqual(first, second)
        self.assertEqual(SIM.control("GET", "/nonces").json["remembered"], before + 2)

    def test_replay_is_retried_with_a_fresh_nonce(self):
        row = samples(60)[9]
        SIM.set_fault("AUTH_REPLAY", remaining=1)
        before = SIM.requests()
        self.get_ok(row["insurance_number"])
        self.assertEqual(SIM.requests(), before + 2, "one refused attempt, one retry that a fresh nonce let through")

    def test_persistent_replay_is_its_own_error(self):
        row = samples(60)[9]
        SIM.set_fault("AUTH_REPLAY")
        r = self.get(row["insurance_number"])
        p = self.assertProblem(r, 502, code="upstream_auth_replay", secret=row["insurance_number"])
        self.assertEqual(p.get("upstream"), "insurance")
        self.assertIn("nonce", p["detail"])

    def test_clock_skew_is_auth_expired(self):
        row = samples(60)[10]
        set_skew(1000)
        r = self.get(row["insurance_number"])
        expired = self.assertProblem(r, 502, code="upstream_auth_expired", secret=row["insurance_number"])
        self.assertEqual(expired.get("upstream"), "insurance")
        self.assertIn("clock", expired["detail"])
        set_skew(-1000)
        self.assertProblem(self.get(row["insurance_number"]), 502, code="upstream_auth_expired")
        set_skew(200)  # inside the ICD's 300 s
        self.get_ok(row["insurance_number"])
        set_skew(0)
        self.get_ok(row["insurance_number"])
        # told apart from a wrong secret, for the operators who read it
        SIM.set_fault("AUTH_SIGNATURE")
        signature = self.assertProblem(self.get(row["insurance_number"]), 502, code="upstream_auth_signature")
        self.assertNotEqual(signature["detail"], expired["detail"])
        self.assertNotIn("clock", signature["detail"])


class WrongSecretTest(GatewayCase):
    """The gateway holds a secret other than the simulator's."""

    upstream = {"breaker": {"consecutive_failures": 0, "failure_ratio_percent": 0}}

    @classmethod
    def setUpClass(cls):
        d = h.make_tmpdir("lt-ins-secret-")
        cls.secret_file = os.path.join(d, "insurance-hmac.secret")
        with open(cls.secret_file, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
        super().setUpClass()

    def test_wrong_secret_is_auth_signature(self):
        row = samples(60)[11]
        before = SIM.requests()
        r = self.get(row["insurance_number"], request_id="itest-wrong-secret")
        p = self.assertProblem(r, 502, code="upstream_auth_signature", secret=row["insurance_number"])
        self.assertEqual(p.get("upstream"), "insurance")
        self.assertIn("secret", p["detail"])
        self.assertNotIn("clock", p["detail"])
        self.assertEqual(SIM.requests(), before + 1, "a wrong secret does not fix itself: no retry")
        # operators see the kind in the log, and never the number
        deadline = time.time() + 5
        log = ""
        while time.time() < deadline and "AUTH_SIGNATURE" not in log:
            time.sleep(0.05)
            log = h.tail(self.gw.stderr_path, 400)
        self.assertIn("AUTH_SIGNATURE", log)
        self.assertIn("itest-wrong-secret", log)
        self.assertNotIn(row["insurance_number"], log)
        self.assertNotIn(row["personal_id"], log)


# ---------------------------------------------------------------------------
# 4. the ICD's other outcomes and transport faults

FAULTS = [
    # fault, status, problem code (None: not pinned), Retry-After (None: not checked, True: any, str: exact)
    ("NOT_FOUND", 404, "insured_not_found", None),
    ("INVALID", 400, "upstream_invalid_request", None),
    ("RATE_LIMITED", 503, "upstream_rate_limited", "20"),  # the simulator's Retry-After, passed on
    ("AUTH_SIGNATURE", 502, "upstream_auth_signature", None),
    ("AUTH_EXPIRED", 502, "upstream_auth_expired", None),
    ("AUTH_REPLAY", 502, "upstream_auth_replay", None),
    ("http500", 502, "upstream_http_status", None),
    ("garbage", 502, "bad_response", None),
    ("other_person", 502, "upstream_record_mismatch", None),
    ("html502", 502, "upstream_http_502", None),
    ("html503", 503, "upstream_http_503", True),
    ("html504", 504, "upstream_http_504", None),
    ("reset", 502, None, None),
    ("truncate", 502, None, None),
]


class UpstreamAnswerTest(GatewayCase):
    upstream = NO_RETRY_NO_BREAKER

    def test_answers_map_to_documented_status(self):
        row = samples(60)[12]
        for fault, status, code, retry_after in FAULTS:
            with self.subTest(fault=fault):
                SIM.set_fault(fault)
                r = self.get(row["insurance_number"])
                p = self.assertProblem(r, status, code=code, secret=row["insurance_number"])
                self.assertEqual(p.get("upstream"), "insurance", p)
                if retry_after is not None:
                    ra = r.header("Retry-After")
                    self.assertIsNotNone(ra, "%s: %d needs Retry-After" % (fault, status))
                    self.assertRegex(ra.strip(), r"^[1-9][0-9]*$")
                    if retry_after is not True:
                        self.assertEqual(ra.strip(), retry_after)
                SIM.clear_faults()
                self.get_ok(row["insurance_number"])  # and recovers

    def test_unknown_numbers_are_404(self):
        # BHXH numbers start with the 2-digit province 01-96, so 99... is nobody's; the 12-digit id is checked
        # against the simulator first, so the test states a fact about the simulator, not a hope.
        for number in ("9900000000", "0000000000", "096399999999"):
            with self.subTest(number=number):
                self.assertEqual(vss_get(number)[0], 404, "precondition: the simulator has no such person")
                self.assertProblem(self.get(number), 404, code="insured_not_found", secret=number)


if __name__ == "__main__":
    unittest.main()
