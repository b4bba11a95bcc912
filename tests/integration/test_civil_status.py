"""Civil-status lookups end to end: portal --mTLS--> gateway --HTTPS, session token, JSON--> lienthong-sim.

Expected values come from the ICD's own samples (icd/civil-status.md, mapped here by hand), or from the records the
simulator serves (read over its control API, without a token) mapped by the rules of the ICD and
adapters/civil-status/README.md in this file's own code, never from the gateway's output. Every 200 is validated
against schemas/civil_status.schema.json (harness.https_request does so too).

Statuses asserted here (adapters/civil-status/README.md, "Error mapping"):
  an empty value -> 404 record_not_found; HT-400 -> 400; HT-401 -> one new token, one retry, then 502 token_refused;
  HT-403, HT-500 -> 502; a wrong account at the token endpoint -> 502 upstream_account_rejected, with the settings to
  check in the detail; a record about someone else -> 502 upstream_record_mismatch; HTTP 429 -> 503 with Retry-After;
  html502 / reset -> 502, html503 -> 503, html504 / hang -> 504; bad input -> 400 before any upstream call.
"""

import datetime
import json
import os
import ssl
import http.client
import unicodedata
import unittest
import uuid

import harness as h

SEED = 7
SIM = None
ROUTE = "/v1/civil-status/lookup"
NO_LIMIT = 100000  # lookups/s: tests that are not about the ICD's 20/s limit stay clear of it
TYPES = {"birth": "KS", "marriages": "KH", "death": "KT", "marital_status": "TTHN"}

# The people of the ICD's samples, which the simulator holds as printed (KH and KT with placeholders filled in).
CHILD, MOTHER, HUSBAND, DECEASED = "034219004321", "034195001234", "034093004567", "034045000789"

# icd/civil-status.md, "KS, birth", mapped by hand.
ICD_BIRTH = {
    "registration": {"number": "125", "book": "01/2019", "page": "42", "registered_on": "2019-03-15",
                     "office": {"code": "12631", "name": "UBND xã Vũ Hội"},
                     "kind": {"code": "on_time", "source_code": "1"}},
    "child": {"id": "034219004321", "full_name": "Nguyễn Minh Khôi", "sex": {"code": "male", "source_code": "1"},
              "birth_date": "2019-03-02", "birth_place": "Bệnh viện Đa khoa tỉnh Thái Bình",
              "ethnicity": {"name": "Kinh", "source_code": "01"}, "nationality": "VN"},
    "mother": {"id": "034195001234", "full_name": "Nguyễn Thị Hồng Nhung", "birth_date": "1995-03-12",
               "ethnicity": {"name": "Kinh", "source_code": "01"}, "nationality": "VN"},
    "father": None,
}
# icd/civil-status.md, "TTHN, marital status", mapped by hand.
ICD_MARITAL = {
    "id": "034195001234", "status": {"code": "married", "source_code": "DANG_CO_VO_CHONG"}, "as_of": "2026-11-22",
    "basis": {"kind": {"code": "marriage", "source_code": "KH"}, "number": "18", "book": "01/2020",
              "registered_on": "2020-10-20"},
}

# Code tables of icd/civil-status.md.
KINDS = {"1": "on_time", "2": "late", "3": "re_registration"}
SEXES = {"1": "male", "2": "female"}
MARRIAGE_STATES = {"HIEU_LUC": "in_force", "DA_LY_HON": "divorced", "DA_HUY": "annulled"}
NOTICES = {"1": "hospital", "2": "police", "3": "court", "4": "other"}
MARITAL = {"CHUA_DANG_KY_KET_HON": "never_married", "DANG_CO_VO_CHONG": "married", "DA_LY_HON": "divorced",
           "GOA": "widowed"}
BASIS = {"KH": "marriage", "KT": "death"}
ETHNIC_NAMES = {"01": "Kinh"}


def setUpModule():
    global SIM
    SIM = h.Sim("civil-status", seed=SEED)
    set_limit(NO_LIMIT)


def tearDownModule():
    if SIM is not None:
        SIM.stop()


def set_limit(per_second):
    SIM.control("PUT", "/limit", {"per_second": per_second})


# ---------------------------------------------------------------------------
# what the simulator holds, read without a token

def sim_value(ident, loai):
    r = h.http_request(SIM.control_port, "GET", "/control/civil-status/record?id=%s&type=%s" % (ident, loai))
    assert r.status == 200 and r.json["status"] == "1", r
    return r.json["value"]


def samples(n):
    r = SIM.control("GET", "/sample?n=%d" % n)
    rows = [json.loads(line) for line in r.body.decode("utf-8").splitlines() if line.strip()]
    assert rows == h.sim_sample(n, SEED, system="civil-status"), "--sample and /control/civil-status/sample disagree"
    return rows


def stats():
    s = SIM.stats()
    t = SIM.control("GET", "/token").json
    return {"requests": s["requests"], "lookup": s["by_operation"]["lookup"], "token": s["by_operation"]["token"],
            "issued": t["issued"], "wrong_account": t["wrong_account"], "lookup_refused": t["lookup_refused"]}


def delta(before, after):
    return {k: after[k] - before[k] for k in before}


# ---------------------------------------------------------------------------
# the ICD's mapping, written from the ICD and the adapter's README

def _text(v):
    v = unicodedata.normalize("NFC", (v or "").strip())
    return v or None


def _date(v, fmt):
    v = _text(v)
    return None if v is None else datetime.datetime.strptime(v, fmt).date().isoformat()


def _birth_date(v):  # dates of birth (and the date of death) are dd.MM.yyyy
    return _date(v, "%d.%m.%Y")


def _record_date(v):  # every other date is dd/MM/yyyy
    return _date(v, "%d/%m/%Y")


def _coded(v, table):
    v = _text(v)
    return None if v is None else {"code": table.get(v), "source_code": v}


def _ethnicity(v):
    v = _text(v)
    return None if v is None else {"name": ETHNIC_NAMES.get(v), "source_code": v}


def _registration(rec):
    office = rec.get("noiDangKy") or {}
    code, name = _text(office.get("ma")), _text(office.get("ten"))
    return {"number": _text(rec.get("so")), "book": _text(rec.get("quyenSo")), "page": _text(rec.get("trangSo")),
            "registered_on": _record_date(rec.get("ngayDangKy")),
            "office": None if code is None and name is None else {"code": code, "name": name}}


def _parent(p):
    if p is None:
        return None
    return {"id": _text(p.get("soDDCN")), "full_name": _text(p.get("hoTen")), "birth_date": _birth_date(p.get("ngaySinh")),
            "ethnicity": _ethnicity(p.get("danToc")), "nationality": _text(p.get("quocTich"))}


def expected_birth(rec):
    reg = _registration(rec)
    reg["kind"] = _coded(rec.get("loaiDangKy"), KINDS)
    return {"registration": reg,
            "child": {"id": _text(rec.get("nksSoDinhDanhCaNhan")), "full_name": _text(rec.get("nksHoTen")),
                      "sex": _coded(rec.get("nksGioiTinh"), SEXES), "birth_date": _birth_date(rec.get("nksNgaySinh")),
                      "birth_place": _text(rec.get("nksNoiSinh")), "ethnicity": _ethnicity(rec.get("nksDanToc")),
                      "nationality": _text(rec.get("nksQuocTich"))},
            "mother": _parent(rec.get("me")), "father": _parent(rec.get("cha"))}


def _spouse(rec, prefix):
    count = _text(rec.get(prefix + "SoLanKH"))
    return {"id": _text(rec.get(prefix + "SoDDCN")), "full_name": _text(rec.get(prefix + "HoTen")),
            "birth_date": _birth_date(rec.get(prefix + "NgaySinh")), "marriage_count": None if count is None else int(count)}


def expected_marriage(rec):
    return {"registration": _registration(rec), "status": _coded(rec.get("trangThai"), MARRIAGE_STATES),
            "husband": _spouse(rec, "chong"), "wife": _spouse(rec, "vo")}


def expected_death(rec):
    notice = {"kind": _coded(rec.get("gbtLoai"), NOTICES), "number": _text(rec.get("gbtSo")),
              "issued_on": _record_date(rec.get("gbtNgay")), "issued_by": _text(rec.get("gbtCoQuanCap"))}
    return {"registration": _registration(rec),
            "deceased": {"id": _text(rec.get("nktSoDDCN")), "full_name": _text(rec.get("nktHoTen")),
                         "died_on": _birth_date(rec.get("nktNgayChet")), "place_of_death": _text(rec.get("nktNoiChet"))},
            "death_notice": None if all(v is None for v in notice.values()) else notice}


def expected_marital(rec):
    basis = rec.get("canCu")
    return {"id": _text(rec.get("soDDCN")), "status": _coded(rec.get("tinhTrangHonNhan"), MARITAL),
            "as_of": _record_date(rec.get("tinhDenNgay")),
            "basis": None if basis is None else {
                "kind": _coded(basis.get("loai"), BASIS), "number": _text(basis.get("so")),
                "book": _text(basis.get("quyenSo")), "registered_on": _record_date(basis.get("ngayDangKy"))}}


def expected_answer(kind, value):
    if kind == "marriages":
        return {"type": kind, "records": [expected_marriage(r) for r in value]}
    one = {"birth": expected_birth, "death": expected_death, "marital_status": expected_marital}[kind]
    return {"type": kind, "record": one(value[0])}


# ---------------------------------------------------------------------------
# gateway

def overrides(**extra):
    up = h.civil_status_upstream(SIM, **extra)
    return {"upstreams": {"population": h.DELETE, "civil-status": up}}


class GatewayCase(unittest.TestCase):
    """One gateway per class, sharing the module's simulator; the simulator's state is reset first."""

    upstream_extra = {}
    gw = None

    @classmethod
    def setUpClass(cls):
        SIM.reset()
        set_limit(NO_LIMIT)
        cls.gw = h.Gateway(SIM, overrides=overrides(**cls.upstream_extra))

    @classmethod
    def tearDownClass(cls):
        if cls.gw is not None:
            cls.gw.kill()

    def tearDown(self):
        SIM.clear_faults()
        set_limit(NO_LIMIT)

    def lookup(self, ident, kind, full_name=None, request_id=None, body=None, timeout=30):
        if body is None:
            body = {"id": ident, "type": kind}
            if full_name is not None:
                body["full_name"] = full_name
        return self.gw.request("POST", ROUTE, body=body, headers=h.officer_headers(request_id), timeout=timeout)

    def assertAnswer(self, r, kind):
        self.assertEqual(r.status, 200, self.gw.diag(repr(r)))
        h.validate(r.json, "civil_status.schema.json")  # harness.https_request does too; this one cannot be skipped
        self.assertEqual(r.json["type"], kind)
        src = r.json["source"]
        self.assertEqual(src["system"], "civil-status")
        self.assertEqual(src["request_id"], r.header("X-Request-Id"))
        # The cache is off here: the answer was fetched just now, and an uncached answer carries no X-Cache.
        self.assertEqual(src["cache"], "miss")
        self.assertIsNone(r.header("X-Cache"), "an uncached lookup sends no X-Cache")
        return {k: v for k, v in r.json.items() if k != "source"}

    def assertProblem(self, r, status, code, detail_re=None, upstream="civil-status"):
        self.assertEqual(r.status, status, self.gw.diag("expected %d, got %r" % (status, r)))
        self.assertTrue(r.header("Content-Type", "").startswith("application/problem+json"), r.headers)
        self.assertEqual(r.json.get("status"), status, r.json)
        self.assertEqual(r.json.get("type"), "urn:lienthong:problem:" + code, r.json)
        if upstream is not None:
            self.assertEqual(r.json.get("upstream"), upstream, r.json)
        if detail_re is not None:
            self.assertRegex(r.json.get("detail", ""), detail_re)
        return r.json


# ---------------------------------------------------------------------------
# 1. every field of every record type

class IcdSamplesTest(GatewayCase):
    """The ICD's four samples, served by the simulator, mapped field by field."""

    def test_birth_sample(self):
        rec = self.assertAnswer(self.lookup(CHILD, "birth", request_id="itest-cs-ks"), "birth")
        self.assertEqual(rec, {"type": "birth", "record": ICD_BIRTH})

    def test_marital_status_sample(self):
        rec = self.assertAnswer(self.lookup(MOTHER, "marital_status"), "marital_status")
        self.assertEqual(rec, {"type": "marital_status", "record": ICD_MARITAL})

    def test_marriage_sample(self):
        value = sim_value(MOTHER, "KH")
        # What the ICD prints of it, independently of the filled-in placeholders.
        self.assertEqual([value[0][k] for k in ("so", "quyenSo", "ngayDangKy", "trangThai")],
                         ["18", "01/2020", "20/10/2020", "HIEU_LUC"])
        for who in (MOTHER, HUSBAND):  # either spouse's number finds it
            with self.subTest(id=who):
                rec = self.assertAnswer(self.lookup(who, "marriages"), "marriages")
                self.assertEqual(rec, expected_answer("marriages", value))
                m = rec["records"][0]
                self.assertEqual(m["registration"]["registered_on"], "2020-10-20")
                self.assertEqual(m["status"], {"code": "in_force", "source_code": "HIEU_LUC"})
                self.assertEqual(m["wife"]["id"], MOTHER)
                self.assertEqual(m["wife"]["birth_date"], "1995-03-12")
                self.assertEqual(m["wife"]["marriage_count"], 1)

    def test_death_sample(self):
        value = sim_value(DECEASED, "KT")
        self.assertEqual([value[0][k] for k in ("so", "quyenSo", "ngayDangKy", "nktNgayChet", "gbtLoai")],
                         ["7", "01/2024", "05/01/2024", "03.01.2024", "1"])
        rec = self.assertAnswer(self.lookup(DECEASED, "death"), "death")
        self.assertEqual(rec, expected_answer("death", value))
        self.assertEqual(rec["record"]["deceased"]["died_on"], "2024-01-03")
        self.assertEqual(rec["record"]["death_notice"]["kind"], {"code": "hospital", "source_code": "1"})
        self.assertEqual(rec["record"]["registration"]["registered_on"], "2024-01-05")

    def test_name_must_match_ignoring_case_not_diacritics(self):
        self.assertAnswer(self.lookup(CHILD, "birth", full_name="  nguyễn MINH khôi "), "birth")
        # NFD in, NFC to the registry: the same name.
        self.assertAnswer(self.lookup(CHILD, "birth", full_name=unicodedata.normalize("NFD", "Nguyễn Minh Khôi")),
                          "birth")
        body = self.assertProblem(self.lookup(CHILD, "birth", full_name="Nguyen Minh Khoi"), 404, "record_not_found")
        self.assertNotIn(CHILD, body["detail"])


class PopulationRecordsTest(GatewayCase):
    """People of the shared population: every record type, every field, against the simulator's own record."""

    @staticmethod
    def people():
        """50 people of the population, plus the first of the sample with each case the register can hold."""
        rows = samples(400)[4:]  # the ICD's four people come first; the others are the population's
        chosen = rows[:50]
        wanted = [lambda r: r["death"], lambda r: r["marriages"] > 1] + [
            (lambda st: lambda r: r["marital_status"] == st)(st) for st in MARITAL]
        for want in wanted:
            chosen += [r for r in rows if want(r)][:1]
        return chosen

    def test_every_field_mapped(self):
        rows = self.people()
        seen = {"birth": 0, "no_father": 0, "parent_without_id": 0, "late": 0, "two_marriages": 0, "divorced": 0,
                "spouse_outside": 0, "death": 0, "statuses": set(), "no_birth": 0}
        for row in rows:
            for kind, loai in TYPES.items():
                with self.subTest(id=row["id"], type=kind):
                    value = sim_value(row["id"], loai)
                    r = self.lookup(row["id"], kind, full_name=row["full_name"])
                    if not value:
                        self.assertProblem(r, 404, "record_not_found")
                        seen["no_birth"] += kind == "birth"
                        continue
                    rec = self.assertAnswer(r, kind)
                    self.assertEqual(rec, expected_answer(kind, value))
                    if kind == "birth":
                        b = rec["record"]
                        seen["birth"] += 1
                        seen["no_father"] += b["father"] is None
                        seen["parent_without_id"] += any(p is not None and p["id"] is None
                                                         for p in (b["mother"], b["father"]))
                        seen["late"] += b["registration"]["kind"]["code"] != "on_time"
                        self.assertEqual(b["child"]["id"], row["id"])
                    elif kind == "marriages":
                        seen["two_marriages"] += len(rec["records"]) > 1
                        seen["divorced"] += any(m["status"]["code"] == "divorced" for m in rec["records"])
                        seen["spouse_outside"] += any(None in (m["husband"]["id"], m["wife"]["id"])
                                                      for m in rec["records"])
                        self.assertTrue(all(row["id"] in (m["husband"]["id"], m["wife"]["id"])
                                            for m in rec["records"]))
                    elif kind == "death":
                        seen["death"] += 1
                    else:
                        seen["statuses"].add(rec["record"]["status"]["code"])
        self.assertEqual(seen["statuses"], set(MARITAL.values()), seen)
        for k, v in seen.items():
            with self.subTest(coverage=k):
                self.assertTrue(v, "the sample should hold a case of %s: %r" % (k, seen))

    def test_a_couple_shares_one_registration(self):
        """Both spouses of a household see the same marriage record, whichever of them is asked."""
        for row in samples(200)[4:]:
            value = sim_value(row["id"], "KH")
            if not value or None in (value[0].get("chongSoDDCN"), value[0].get("voSoDDCN")):
                continue
            other = value[0]["voSoDDCN"] if value[0]["chongSoDDCN"] == row["id"] else value[0]["chongSoDDCN"]
            a = self.assertAnswer(self.lookup(row["id"], "marriages"), "marriages")["records"][0]
            b = self.assertAnswer(self.lookup(other, "marriages"), "marriages")["records"][0]
            self.assertEqual(a, b)
            return
        self.fail("no couple of the population in the sample")


# ---------------------------------------------------------------------------
# 2. the session token

class TokenTest(GatewayCase):

    def test_one_token_serves_many_lookups(self):
        before = stats()
        for _ in range(2):
            for kind in TYPES:
                self.assertIn(self.lookup(CHILD, kind).status, (200, 404))
        d = delta(before, stats())
        self.assertLessEqual(d["token"], 1, "one session for every lookup (one if this class had none yet): %r" % d)
        self.assertEqual(d["lookup"], 8, d)
        self.assertEqual(d["lookup_refused"], 0, "the token goes without Bearer, as the ICD says: %r" % d)

    def test_expired_token_is_refreshed_once(self):
        self.assertAnswer(self.lookup(CHILD, "birth"), "birth")  # the gateway holds a token now
        before = stats()
        expired = SIM.control("POST", "/expire").json["expired"]
        self.assertEqual(expired, 1)
        self.assertAnswer(self.lookup(CHILD, "birth"), "birth")
        d = delta(before, stats())
        self.assertEqual(d["lookup_refused"], 1, "the expired token was sent once: %r" % d)
        self.assertEqual(d["token"], 1, "exactly one new token: %r" % d)
        self.assertEqual(d["lookup"], 2, "one refused lookup, one retried: %r" % d)
        # ...and the new token is kept.
        self.assertAnswer(self.lookup(MOTHER, "marital_status"), "marital_status")
        self.assertEqual(delta(before, stats())["token"], 1)

    def test_token_refused_twice_is_502(self):
        self.assertAnswer(self.lookup(CHILD, "birth"), "birth")
        before = stats()
        SIM.set_fault("HT-401", remaining=-1)
        self.assertProblem(self.lookup(CHILD, "birth"), 502, "token_refused")
        d = delta(before, stats())
        self.assertEqual((d["token"], d["lookup"]), (1, 2), d)


class ShortTokenTest(GatewayCase):
    """A token issued for 2 minutes (the ICD's shortest) is renewed ahead of its hetHan, never sent stale."""

    upstream_extra = {"token": {"refresh_margin_s": 115}}

    def test_refreshed_before_het_han(self):
        SIM.control("PUT", "/token", {"lifetime_s": 120})
        self.assertAnswer(self.lookup(CHILD, "birth"), "birth")
        before = stats()
        # hetHan is 120 s ahead and the margin 115 s: the token is stale for the gateway within 5 s, and every
        # later lookup takes a new one rather than risking HT-401. Waiting on the counters, not on a clock.
        h.wait_for(lambda: self.lookup(CHILD, "birth").status == 200 and delta(before, stats())["token"] >= 1,
                   timeout=30, what="a token renewed from hetHan")
        self.assertEqual(delta(before, stats())["lookup_refused"], 0)


class WrongAccountTest(GatewayCase):
    """The ICD's wrong account: HTTP 200, status 0, HT-401 at the token endpoint."""

    @classmethod
    def setUpClass(cls):
        d = h.make_tmpdir("lt-cs-pw-")
        cls.password_file = os.path.join(d, "wrong.password")
        with open(cls.password_file, "w") as f:
            f.write(uuid.uuid4().hex + "\n")
        cls.upstream_extra = {"service": {"password_file": cls.password_file}}
        super().setUpClass()

    def test_wrong_password_is_502_with_a_clear_detail(self):
        before = stats()
        body = self.assertProblem(self.lookup(CHILD, "birth"), 502, "upstream_account_rejected",
                                  detail_re=r"refused the gateway's service account.*"
                                            r"upstreams\.civil-status\.service\.user_name and password_file")
        self.assertNotIn("lienthong-dev", body["detail"])
        d = delta(before, stats())
        self.assertEqual(d["wrong_account"], 1, d)
        self.assertEqual(d["lookup"], 0, "no lookup without a session: %r" % d)


class AccountChangedTest(GatewayCase):
    """The service stops knowing the gateway's account (revoked, renamed): the next session fails clearly."""

    def test_account_the_service_no_longer_knows(self):
        self.assertAnswer(self.lookup(CHILD, "birth"), "birth")
        SIM.control("PUT", "/token", {"user_name": "someone-else"})
        SIM.control("POST", "/expire")
        before = stats()
        self.assertProblem(self.lookup(CHILD, "birth"), 502, "upstream_account_rejected",
                           detail_re=r"service account")
        d = delta(before, stats())
        self.assertEqual((d["lookup_refused"], d["wrong_account"]), (1, 1), d)


# ---------------------------------------------------------------------------
# 3. not found, errors, validation

class NotFoundTest(GatewayCase):

    def test_empty_value_is_404(self):
        unknown = "001099000001"
        self.assertEqual(sim_value(unknown, "KS"), [])
        for kind in TYPES:
            with self.subTest(type=kind):
                body = self.assertProblem(self.lookup(unknown, kind), 404, "record_not_found")
                self.assertNotIn(unknown, body["detail"])
        # A known person without such a record answers the same.
        self.assertEqual(sim_value(CHILD, "KT"), [])
        self.assertProblem(self.lookup(CHILD, "death"), 404, "record_not_found")


class ErrorMappingTest(GatewayCase):
    upstream_extra = {"retry": {"max_attempts": 1}, "breaker": {"consecutive_failures": 0, "failure_ratio_percent": 0},
                      "timeout_ms": 3000}

    def setUp(self):
        self.assertAnswer(self.lookup(CHILD, "birth"), "birth")  # a token in hand: faults then hit the lookup

    def check(self, fault, status, code, retry_after=False):
        SIM.set_fault(fault)
        r = self.lookup(CHILD, "birth")
        if code is not None:
            self.assertProblem(r, status, code)
        else:
            self.assertEqual(r.status, status, self.gw.diag(repr(r)))
        if retry_after:
            self.assertRegex(r.header("Retry-After", ""), r"^[1-9][0-9]*$")
        return r

    def test_ht_400(self):
        self.check("HT-400", 400, "HT-400")

    def test_ht_403(self):
        self.check("HT-403", 502, "HT-403")

    def test_ht_500(self):
        self.check("HT-500", 502, "HT-500")

    def test_record_about_someone_else(self):
        self.check("wrong_person", 502, "upstream_record_mismatch")

    def test_unusable_json(self):
        self.check("bad_json", 502, "bad_response")

    def test_envelope_without_status_is_read_by_its_value(self):
        SIM.set_fault("no_status")
        self.assertEqual(self.assertAnswer(self.lookup(CHILD, "birth"), "birth")["record"], ICD_BIRTH)

    def test_rate_limit(self):
        self.check("rate_limit", 503, "upstream_rate_limited", retry_after=True)

    def test_transport_faults(self):
        for fault, status in (("html502", 502), ("reset", 502), ("html503", 503), ("html504", 504), ("hang", 504)):
            with self.subTest(fault=fault):
                r = self.check(fault, status, None)
                self.assertEqual(r.json.get("upstream"), "civil-status", r)
        SIM.clear_faults()
        self.assertAnswer(self.lookup(CHILD, "birth"), "birth")


class RateLimitTest(GatewayCase):
    upstream_extra = {"retry": {"max_attempts": 1}, "breaker": {"consecutive_failures": 0, "failure_ratio_percent": 0}}

    def test_the_simulators_limit_is_the_icds(self):
        self.assertAnswer(self.lookup(CHILD, "birth"), "birth")
        set_limit(1)
        r = None
        for _ in range(10):  # within one second of the simulator's window, at most one more is admitted
            r = self.lookup(CHILD, "birth")
            if r.status != 200:
                break
        self.assertProblem(r, 503, "upstream_rate_limited")
        self.assertRegex(r.header("Retry-After", ""), r"^[1-9][0-9]*$")


class ValidationTest(GatewayCase):

    def test_refused_before_any_upstream_call(self):
        cases = [
            ({"id": "03421900432", "type": "birth"}, "invalid_identifier"),
            ({"id": "097219004321", "type": "birth"}, "invalid_identifier"),
            ({"id": CHILD, "type": "KS"}, "invalid_type"),
            ({"id": CHILD}, "invalid_body"),
            ({"id": CHILD, "type": "birth", "birth_date": "2019-03-02"}, "invalid_body"),
            ({"id": CHILD, "type": "birth", "full_name": " "}, "invalid_body"),
            ({"id": CHILD, "type": "birth", "full_name": 7}, "invalid_body"),
        ]
        before = SIM.requests()
        for body, code in cases:
            with self.subTest(body=body):
                r = self.lookup(None, None, body=body)
                self.assertProblem(r, 400, code, upstream=None)
                self.assertNotIn("0342190043", r.json["detail"])
        self.assertEqual(SIM.requests(), before, "no token and no lookup for a refused request")

    def test_officer_and_purpose_required(self):
        before = SIM.requests()
        r = self.gw.request("POST", ROUTE, body={"id": CHILD, "type": "birth"},
                            headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 400, r)
        self.assertEqual(SIM.requests(), before)


# ---------------------------------------------------------------------------
# 4. the simulator follows the ICD (so that the tests above test something)

class SimProtocolTest(unittest.TestCase):

    def post(self, path, body, headers=None):
        ctx = ssl.create_default_context(cafile=h.pki_path("national-ca.crt"))  # no client certificate: none asked
        conn = http.client.HTTPSConnection(h.HOST, SIM.port, context=ctx, timeout=10)
        try:
            hd = {"Content-Type": "application/json"}
            hd.update(headers or {})
            conn.request("POST", path, body=json.dumps(body).encode(), headers=hd)
            r = conn.getresponse()
            raw = r.read()
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), json.loads(raw) if raw else None
        finally:
            conn.close()

    def session(self):
        with open(h.pki_path("civil-status.password")) as f:
            password = f.read().strip()
        return self.post("/api/auth/token", {"userName": "lienthong-dev", "password": password})

    def lookup(self, token, prefix=""):
        return self.post("/api/hotich/tracuu", {"maDonVi": "000.00.00.H53", "maYeuCau": str(uuid.uuid4()),
                                                "maCanBo": "CB-1", "mucDich": "HS-1", "loaiTraCuu": "KS",
                                                "soDinhDanh": CHILD}, {"Authorization": prefix + token})

    def setUp(self):
        SIM.reset()
        set_limit(NO_LIMIT)

    def test_session_and_het_han(self):
        status, _, body = self.session()
        self.assertEqual((status, body["status"]), (200, "1"))
        expiry = datetime.datetime.strptime(body["hetHan"], "%Y%m%d%H%M%S").replace(
            tzinfo=datetime.timezone(datetime.timedelta(hours=7)))
        left = (expiry - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
        self.assertTrue(0 < left <= 1800, "hetHan is 30 minutes ahead in UTC+07:00: %s" % body["hetHan"])

    def test_token_without_bearer(self):
        token = self.session()[2]["token"]
        self.assertEqual(self.lookup(token)[2]["status"], "1")
        status, _, body = self.lookup(token, prefix="Bearer ")
        self.assertEqual((status, body["status"], body["errorCode"]), (200, "0", "HT-401"))

    def test_expire_on_demand(self):
        token = self.session()[2]["token"]
        self.assertEqual(SIM.control("POST", "/expire").json["expired"], 1)
        status, _, body = self.lookup(token)
        self.assertEqual((status, body["errorCode"]), (200, "HT-401"))

    def test_wrong_account(self):
        status, _, body = self.post("/api/auth/token", {"userName": "lienthong-dev", "password": "wrong"})
        self.assertEqual((status, body["status"], body["errorCode"]), (200, "0", "HT-401"))
        self.assertNotIn("token", body)

    def test_over_the_limit_is_an_empty_429(self):
        token = self.session()[2]["token"]
        set_limit(1)
        statuses = [self.lookup(token) for _ in range(5)]
        refused = [s for s in statuses if s[0] == 429]
        self.assertTrue(refused, [s[0] for s in statuses])
        self.assertIsNone(refused[0][2], "the ICD's 429 has an empty body")
        self.assertEqual(refused[0][1].get("retry-after"), "1")


if __name__ == "__main__":
    unittest.main()
