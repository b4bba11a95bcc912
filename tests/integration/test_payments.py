"""Fee payments end to end: the pay URL, IPN, return, outbox and reconciliation.

The gateway runs with the journal store unless a test says otherwise; IPNs are
made by hand with tests/integration/vnpay.py (an implementation of the ICD
that shares no code with the gateway), or sent by the payment simulator.
"""

import os
import re
import threading
import time
import unittest
import urllib.parse

import harness
from harness import Sim, run_ctl, validate, wait_for
import payenv
from payenv import PayGateway, ipn_query, journal_store, pay_url_params, redis_store, webhook_events
import vnpay


def once_the_store_answers(gw, payment_id):
    """GET the payment, retrying while it is 503: after a Redis outage each worker's conn comes back on its own
    backoff, so one worker may still answer 503 when another already answers."""
    return wait_for(lambda: [r for r in [gw.payment(payment_id)] if r.status != 503],
                    what="every worker's store conn back")[0]


def ipn_once_the_store_answers(gw, query):
    """The IPN's RspCode, re-sent while it is 99, as the payment gateway does."""
    return wait_for(lambda: [a for a in [gw.ipn(query).json["RspCode"]] if a != "99"], what="an answer other than 99")[0]


def events_by_id(webhook):
    return {e["event_id"]: e for e in webhook_events(webhook)["events"]}


class Stack:
    """One payment simulator, one webhook receiver, one gateway (journal store unless given)."""

    def __init__(self, store=None, extra=None, webhook=True):
        self.pay_sim = Sim(system="payment")
        self.webhook = Sim(system="webhook") if webhook else None
        self.gw = PayGateway(self.pay_sim, self.webhook, store or journal_store(), extra)

    def new_payment(self, **fields):
        r = self.gw.create(**fields)
        assert r.status == 201, self.gw.diag("create: %s %r" % (r.status, r.body))
        return r.json

    def stop(self):
        self.gw.stop()
        self.pay_sim.stop()
        if self.webhook:
            self.webhook.stop()


class StackTest(unittest.TestCase):
    """Tests that share one stack for the class: the payment simulator, the webhook receiver and one gateway."""

    @classmethod
    def setUpClass(cls):
        cls.s = Stack()

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()


class PayUrlTest(StackTest):
    def test_pay_url_verifies_under_the_icd_rules(self):
        p = self.s.new_payment(description="Lệ phí: hồ sơ ~ * / : ? số 12 (Đăng ký) đợt 2", amount_vnd=150000)
        validate(p, "payment_created.schema.json")
        url = urllib.parse.urlsplit(p["pay_url"])
        self.assertEqual(url.path, "/paymentv2/vpcpay.html")
        params = pay_url_params(p["pay_url"])
        # Signed over exactly the query string it travels in (vnpay.py's own encoder and HMAC).
        self.assertTrue(vnpay.verify(params, payenv.hash_secret()), p["pay_url"])
        self.assertFalse(vnpay.verify(dict(params, vnp_Amount="15000001"), payenv.hash_secret()))
        self.assertEqual(url.query.split("&vnp_SecureHash=")[0], vnpay.hash_data(params))
        self.assertEqual(params["vnp_Amount"], "15000000")
        self.assertEqual(params["vnp_TxnRef"], p["payment_id"])
        self.assertEqual(params["vnp_Version"], "2.1.0")
        self.assertEqual(params["vnp_Command"], "pay")
        self.assertEqual(params["vnp_CurrCode"], "VND")
        self.assertEqual(params["vnp_TmnCode"], payenv.TMN_CODE)
        self.assertNotIn("vnp_SecureHashType", params)
        # Folded to ASCII: diacritics gone, đ/Đ → d/D, special characters dropped.
        self.assertEqual(params["vnp_OrderInfo"], "Le phi ho so so 12 Dang ky dot 2")
        self.assertTrue(params["vnp_ReturnUrl"].endswith("/payments/vnpay/return"))

    def test_dates_are_utc_plus_7_and_expiry_follows_expires_in_s(self):
        before = time.time()
        p = self.s.new_payment(expires_in_s=900)
        params = pay_url_params(p["pay_url"])
        created = time.strptime(params["vnp_CreateDate"], "%Y%m%d%H%M%S")
        expire = time.strptime(params["vnp_ExpireDate"], "%Y%m%d%H%M%S")
        import calendar
        created_utc = calendar.timegm(created) - 7 * 3600
        self.assertLessEqual(abs(created_utc - before), 5)
        self.assertEqual(calendar.timegm(expire) - calendar.timegm(created), 900)
        self.assertTrue(p["expires_at"].endswith("+07:00"))

    def test_the_simulator_accepts_the_pay_url(self):
        p = self.s.new_payment()
        path = p["pay_url"][len(self.s.pay_sim.base_url):]
        r = harness.https_request(self.s.pay_sim.port, "GET", path, cert=None,
                                  context=_national_context())
        self.assertEqual(r.status, 200, r.body[:300])

    def test_txn_refs_are_unique(self):
        ids = {self.s.new_payment()["payment_id"] for _ in range(30)}
        self.assertEqual(len(ids), 30)

    def test_idempotency_key_returns_the_same_payment(self):
        first = self.s.gw.create(key="portal-retry-1")
        again = self.s.gw.create(key="portal-retry-1")
        self.assertEqual(first.status, 201)
        self.assertEqual(again.status, 200)
        self.assertEqual(again.header("idempotent-replayed"), "true")
        self.assertEqual(again.json["payment_id"], first.json["payment_id"])
        self.assertEqual(again.json["pay_url"], first.json["pay_url"])
        other = self.s.gw.create(key="portal-retry-1", amount_vnd=200000)
        self.assertEqual(other.status, 422, other.body)
        self.assertEqual(other.json["type"], "urn:lienthong:problem:idempotency_key_reused")
        no_key = {self.s.gw.create().json["payment_id"] for _ in range(2)}
        self.assertEqual(len(no_key), 2)

    def test_concurrent_creates_with_one_key_make_one_payment(self):
        answers, lock = [], threading.Lock()

        def create():
            r = self.s.gw.create(key="concurrent-key-7")
            with lock:
                answers.append((r.status, r.json.get("payment_id")))

        threads = [threading.Thread(target=create) for _ in range(8)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        self.assertEqual(len({pid for _, pid in answers}), 1, answers)
        self.assertEqual(sorted(s for s, _ in answers), [200] * 7 + [201], answers)

    def test_bad_requests_are_400_and_create_nothing(self):
        bad = [
            dict(amount_vnd=0), dict(amount_vnd=-5), dict(amount_vnd="150000"), dict(amount_vnd=1.5),
            dict(amount_vnd=10000000000), dict(dossier_id=""), dict(dossier_id="a b"),
            dict(return_url="http://portal.example.vn/r"), dict(return_url="portal"), dict(client_ip="1.2.3"),
            dict(locale="fr"), dict(expires_in_s=0), dict(description=""), dict(surprise=1),
        ]
        before = self.s.gw.admin("GET", "/status.json")
        for fields in bad:
            with self.subTest(fields=fields):
                r = self.s.gw.create(**fields)
                self.assertEqual(r.status, 400, r.body)
                self.assertEqual(r.header("content-type").split(";")[0], "application/problem+json")
        r = self.s.gw.request("POST", "/v1/payments", body="{not json", headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 400)
        r = self.s.gw.create(key="bad key with spaces")
        self.assertEqual(r.status, 400)

    def test_return_url_must_be_the_clients_own_https_site(self):
        refused = [
            ("https://portal.example.vn@evil.example/", "userinfo"),
            ("https://:@portal.example.vn/", "userinfo"),
            ("https://evil.example/ho-so", "clients.portal.return_url_hosts"),
            ("https://portal.example.vn.evil.example/", "clients.portal.return_url_hosts"),
            ("http://portal.example.vn/ho-so", "https"),
            ("https://portal.example.vn/a\u0001b", "control characters"),
            ("https://evil.example\\@portal.example.vn/", "backslashes"),
            ("portal.example.vn/ho-so", "URL"),
        ]
        for n, (url, why) in enumerate(refused):
            with self.subTest(url=url):
                key = "bad-return-url-%d" % n
                r = self.s.gw.create(key=key, return_url=url)
                self.assertEqual(r.status, 400, r.body)
                self.assertEqual(r.header("content-type").split(";")[0], "application/problem+json")
                self.assertEqual(r.json["type"], "urn:lienthong:problem:invalid_return_url")
                self.assertIn(why, r.json["detail"])
                # Nothing was stored under the key: the same key with a good return_url creates the payment.
                self.assertEqual(self.s.gw.create(key=key).status, 201)
        # The host is matched exactly, without regard to case.
        ok = self.s.gw.create(return_url="https://PORTAL.Example.VN/ho-so?x=1")
        self.assertEqual(ok.status, 201, ok.body)
        # A client whose entry lists no return_url_hosts may not name any: the answer names the key to set.
        r = self.s.gw.request("POST", "/v1/payments", cert="district-office",
                              body={"dossier_id": "HS-DO-1", "amount_vnd": 1000, "description": "Le phi",
                                    "return_url": "https://portal.example.vn/r", "client_ip": "203.0.113.7"})
        self.assertEqual(r.status, 400, r.body)
        self.assertEqual(r.json["type"], "urn:lienthong:problem:invalid_return_url")
        self.assertIn("clients.district-office.return_url_hosts", r.json["detail"])

    def test_the_return_redirects_where_the_check_looked(self):
        # libcurl reads the host before the '#'; the browser is sent to the URL as libcurl writes it back.
        p = self.s.new_payment(return_url="https://portal.example.vn#@evil.example")
        r = self.s.gw.browser_return(ipn_query(p["payment_id"], 15000000))
        self.assertEqual(r.status, 303, r.body)
        self.assertEqual(urllib.parse.urlsplit(r.header("location")).hostname, "portal.example.vn")

    def test_get_returns_the_state(self):
        p = self.s.new_payment(dossier_id="HS-GET-1", amount_vnd=50000)
        r = self.s.gw.payment(p["payment_id"])
        self.assertEqual(r.status, 200, r.body)
        validate(r.json, "payment.schema.json")
        self.assertEqual(r.json["status"], "pending")
        self.assertEqual(r.json["dossier_id"], "HS-GET-1")
        self.assertEqual(r.json["amount_vnd"], 50000)
        self.assertIsNone(r.json["paid_at"])
        self.assertEqual(self.s.gw.payment("LT20261123-0000000000000000").status, 404)
        # Another provincial client (its own valid certificate) cannot read the portal's payment.
        other = self.s.gw.request("GET", "/v1/payments/" + p["payment_id"], cert="district-office")
        self.assertEqual(other.status, 404, other.body)
        self.assertEqual(other.json["type"], "urn:lienthong:problem:payment_not_found")
        self.assertEqual(self.s.gw.payment("bad%20id").status, 400)
        self.assertEqual(self.s.gw.request("DELETE", "/v1/payments/" + p["payment_id"]).status, 405)


def _national_context():
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(harness.pki_path("national-ca.crt"))
    return ctx


class IpnTest(StackTest):
    """Hand-made IPNs: every RspCode of ICD §2, in its order of checks."""

    def rsp(self, query):
        r = self.s.gw.ipn(query)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.header("content-type").split(";")[0], "application/json")
        return r.json

    def test_wrong_hash_is_97(self):
        p = self.s.new_payment()
        self.assertEqual(self.rsp(ipn_query(p["payment_id"], 15000000, secret=b"not-the-secret"))["RspCode"], "97")
        tampered = ipn_query(p["payment_id"], 15000000, tamper=lambda q: q.replace("vnp_Amount=15000000",
                                                                                  "vnp_Amount=15000001"))
        self.assertEqual(self.rsp(tampered), {"RspCode": "97", "Message": "Invalid signature"})
        self.assertEqual(self.rsp("vnp_TxnRef=x")["RspCode"], "97")
        self.assertEqual(self.s.gw.payment(p["payment_id"]).json["status"], "pending")

    def test_a_signed_ipn_for_another_terminal_is_97_and_changes_nothing(self):
        p = self.s.new_payment()
        # Signed with our secret (two terminals may share one) and naming our reference, but another terminal.
        other = ipn_query(p["payment_id"], 15000000, tmn_code="OTHER002")
        self.assertTrue(vnpay.verify(dict(urllib.parse.parse_qsl(other)), payenv.hash_secret()))
        self.assertEqual(self.rsp(other), {"RspCode": "97", "Message": "Invalid signature"})
        self.assertEqual(self.s.gw.payment(p["payment_id"]).json["status"], "pending")
        self.assertEqual([e for e in self.s.gw.outbox() if e["payment_id"] == p["payment_id"]], [])
        self.assertNotIn("evt-" + p["payment_id"], events_by_id(self.s.webhook))
        # The same IPN for our terminal settles it; so does one that leaves vnp_TmnCode out (the ICD's checks
        # do not require it).
        self.assertEqual(self.rsp(ipn_query(p["payment_id"], 15000000))["RspCode"], "00")
        q = self.s.new_payment()
        self.assertEqual(self.rsp(ipn_query(q["payment_id"], 15000000, tmn_code=None))["RspCode"], "00")

    def test_unknown_reference_is_01(self):
        self.assertEqual(self.rsp(ipn_query("LT20261123-ffffffffffffffff", 15000000)),
                         {"RspCode": "01", "Message": "Order not found"})

    def test_wrong_amount_is_04_and_changes_nothing(self):
        p = self.s.new_payment(amount_vnd=150000)
        self.assertEqual(self.rsp(ipn_query(p["payment_id"], 1500000))["RspCode"], "04")
        self.assertEqual(self.s.gw.payment(p["payment_id"]).json["status"], "pending")

    def test_success_is_00_then_repeats_are_02(self):
        p = self.s.new_payment(amount_vnd=150000)
        q = ipn_query(p["payment_id"], 15000000, transaction_no="99887766", bank_code="VCB")
        self.assertEqual(self.rsp(q), {"RspCode": "00", "Message": "Confirm Success"})
        got = self.s.gw.payment(p["payment_id"]).json
        self.assertEqual(got["status"], "paid")
        self.assertEqual(got["transaction_no"], "99887766")
        self.assertEqual(got["bank_code"], "VCB")
        self.assertEqual(got["response_code"], "00")
        self.assertTrue(got["paid_at"].startswith("2026-11-23T10:30:00"))
        self.assertEqual(self.rsp(q), {"RspCode": "02", "Message": "Order already confirmed"})
        # A later, different outcome for a settled payment changes nothing either.
        self.assertEqual(self.rsp(ipn_query(p["payment_id"], 15000000, response_code="24"))["RspCode"], "02")
        self.assertEqual(self.s.gw.payment(p["payment_id"]).json["status"], "paid")

    def test_failure_code_24_is_recorded_as_failed(self):
        p = self.s.new_payment()
        self.assertEqual(self.rsp(ipn_query(p["payment_id"], 15000000, response_code="24"))["RspCode"], "00")
        got = self.s.gw.payment(p["payment_id"]).json
        self.assertEqual(got["status"], "failed")
        self.assertEqual(got["response_code"], "24")

    def test_response_00_with_an_unfinished_transaction_is_not_paid(self):
        p = self.s.new_payment()
        self.rsp(ipn_query(p["payment_id"], 15000000, response_code="00", transaction_status="01"))
        self.assertEqual(self.s.gw.payment(p["payment_id"]).json["status"], "failed")

    def test_one_event_per_final_state_with_a_valid_signature(self):
        p = self.s.new_payment()
        q = ipn_query(p["payment_id"], 15000000)
        for _ in range(3):
            self.rsp(q)
        event_id = "evt-" + p["payment_id"]
        ev = wait_for(lambda: events_by_id(self.s.webhook).get(event_id), what="the webhook event")
        self.assertEqual(ev["event"], "payment.paid")
        self.assertEqual(ev["payment_id"], p["payment_id"])
        validate({"event": ev["event"], "event_id": ev["event_id"], "payment": ev["payment"]},
                 "payment_event.schema.json")
        self.assertEqual(ev["payment"]["status"], "paid")
        time.sleep(0.5)
        ours = [e for e in webhook_events(self.s.webhook)["events"] if e["payment_id"] == p["payment_id"]]
        self.assertEqual(len(ours), 1, ours)
        self.assertEqual(webhook_events(self.s.webhook).get("rejected", 0), 0)

    def test_the_simulator_ipn_settles_the_payment(self):
        p = self.s.new_payment()
        self.s.pay_sim.control("POST", "/config", {"ipn_urls": ["https://127.0.0.1:%d/payments/vnpay/ipn"
                                                               % self.s.gw.cb_port]})
        path = p["pay_url"][len(self.s.pay_sim.base_url):]
        r = harness.https_request(self.s.pay_sim.port, "GET", path, cert=None, context=_national_context())
        self.assertEqual(r.status, 200)
        self.s.pay_sim.control("POST", "/complete", {"txn_ref": p["payment_id"], "response_code": "00"})
        wait_for(lambda: self.s.gw.payment(p["payment_id"]).json["status"] == "paid", what="paid")


class ReturnTest(StackTest):

    def test_success_return_for_a_pending_payment_leaves_it_pending(self):
        p = self.s.new_payment(return_url="https://portal.example.vn/ket-qua?ho_so=1")
        r = self.s.gw.browser_return(ipn_query(p["payment_id"], 15000000))
        self.assertEqual(r.status, 303, r.body)
        target = urllib.parse.urlsplit(r.header("location"))
        self.assertEqual(target.netloc, "portal.example.vn")
        q = dict(urllib.parse.parse_qsl(target.query))
        self.assertEqual(q["ho_so"], "1")
        self.assertEqual(q["payment_id"], p["payment_id"])
        self.assertEqual(q["result"], "success")
        self.assertEqual(q["status"], "pending")
        self.assertEqual(self.s.gw.payment(p["payment_id"]).json["status"], "pending")
        self.assertEqual([e for e in webhook_events(self.s.webhook)["events"]
                          if e["payment_id"] == p["payment_id"]], [])

    def test_forged_return_is_refused_with_a_bilingual_page(self):
        p = self.s.new_payment()
        r = self.s.gw.browser_return(ipn_query(p["payment_id"], 15000000, secret=b"forged-secret"))
        self.assertEqual(r.status, 400)
        page = r.body.decode()
        self.assertIn("Chữ ký không hợp lệ", page)
        self.assertIn("Invalid signature", page)
        self.assertIsNone(r.header("location"))


    def test_return_for_another_terminal_is_refused_and_changes_nothing(self):
        p = self.s.new_payment()
        r = self.s.gw.browser_return(ipn_query(p["payment_id"], 15000000, tmn_code="OTHER002"))
        self.assertEqual(r.status, 400, r.body)
        self.assertIsNone(r.header("location"))
        self.assertIn("This payment is not for this merchant", r.body.decode())
        self.assertEqual(self.s.gw.payment(p["payment_id"]).json["status"], "pending")


class WebhookOutageTest(StackTest):

    def settle(self):
        p = self.s.new_payment()
        self.assertEqual(self.s.gw.ipn(ipn_query(p["payment_id"], 15000000)).json["RspCode"], "00")
        return "evt-" + p["payment_id"]

    def test_events_wait_during_an_outage_and_arrive_after(self):
        self.s.webhook.control("POST", "/config", {"status": 503})
        event_id = self.settle()
        wait_for(lambda: any(e["event_id"] == event_id and e["attempts"] >= 1 for e in self.s.gw.outbox("pending")),
                 what="a failed attempt recorded")
        self.assertNotIn(event_id, events_by_id(self.s.webhook))
        # A failing webhook turns the payments card amber, with the last error, before anything is a dead letter.
        pay = self.s.gw.admin("GET", "/status.json").json["payments"]
        self.assertEqual(pay["outbox"]["dead_letters"], 0)
        self.assertEqual(pay["color"], "amber", pay)
        self.assertTrue(pay["webhook"]["failing"])
        self.assertIn("HTTP 503", pay["webhook"]["last_error"]["detail"])
        self.assertIn("webhook is failing", pay["reason"])
        page = self.s.gw.admin("GET", "/status").body.decode()
        card = page[page.index('id="payments"'):]
        self.assertTrue(card.split(">", 1)[0].endswith('data-state="amber"'), card[:200])
        self.assertIn("HTTP 503", card[:card.index("</section>")])
        rc, out, err = run_ctl("status", admin_port=self.s.gw.admin_port)
        self.assertEqual(rc, 3, out + err)  # amber
        self.assertIn("webhook", out)
        self.s.webhook.control("POST", "/config", {"status": 0})
        ev = wait_for(lambda: events_by_id(self.s.webhook).get(event_id), what="delivery after the outage")
        self.assertEqual(ev["event"], "payment.paid")
        wait_for(lambda: all(e["event_id"] != event_id for e in self.s.gw.outbox("pending")), what="outbox drained")
        pay = self.s.gw.admin("GET", "/status.json").json["payments"]
        self.assertFalse(pay["webhook"]["failing"])
        self.assertEqual(pay["color"], "green", pay)

    def test_past_max_attempts_a_dead_letter_is_visible_and_redrivable(self):
        self.s.webhook.control("POST", "/config", {"down": True})
        event_id = self.settle()
        dead = wait_for(lambda: [e for e in self.s.gw.outbox("dead") if e["event_id"] == event_id], timeout=30,
                        what="a dead letter")
        self.assertEqual(dead[0]["attempts"], 4)
        self.assertTrue(dead[0]["last_error"])
        # /status.json shows it (its counts are refreshed every second).
        wait_for(lambda: self.s.gw.admin("GET", "/status.json").json["payments"]["outbox"]["dead_letters"] >= 1,
                 what="the dead letter in /status.json")
        self.s.webhook.control("POST", "/config", {"down": False, "status": 0})
        time.sleep(0.5)
        self.assertNotIn(event_id, events_by_id(self.s.webhook))  # dead letters are not retried by themselves
        # Without the admin token nothing is re-driven: 401, and the event stays a dead letter.
        for token in (False, "wrong-" + "0" * 40):
            r = self.s.gw.admin("POST", "/payments/outbox/%s/redrive" % event_id, body={}, token=token)
            self.assertEqual(r.status, 401, r.body)
            self.assertTrue(r.header("WWW-Authenticate", "").startswith("Bearer"))
        self.assertEqual([e["event_id"] for e in self.s.gw.outbox("dead") if e["event_id"] == event_id], [event_id])
        # A cross-site form post from a browser on the box cannot re-drive it: changes need JSON.
        form = self.s.gw.admin_raw("POST", "/payments/outbox/%s/redrive" % event_id, b"x=1",
                                   {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(form.status, 415)
        r = self.s.gw.admin("POST", "/payments/outbox/%s/redrive" % event_id, body={})
        self.assertEqual(r.status, 200, r.body)
        wait_for(lambda: events_by_id(self.s.webhook).get(event_id), what="delivery after the redrive")
        self.assertEqual(self.s.gw.admin("POST", "/payments/outbox/evt-nothing/redrive", body={}).status, 404)
        # The change is logged with its caller and the event it moved.
        log = self.s.gw.stderr_tail(400)
        self.assertRegex(log, r"admin: POST /payments/outbox/%s/redrive asked from 127\.0\.0\.1:\d+ \(module payments\)"
                         % re.escape(event_id))
        self.assertIn("payments: outbox event %s re-driven by an operator" % event_id, log)


def metric(text, name, labels=""):
    """The value of one sample in a Prometheus exposition (0 when absent)."""
    for line in text.splitlines():
        if line.startswith(name + labels + " "):
            return float(line.split()[-1])
    return 0.0


IPN_ROUTE = 'route="GET /payments/vnpay/ipn"'


def ipn_durations(gw):
    """The IPN route's request-duration histogram as the gateway measured it: count, and the 2.5 s and 5 s buckets."""
    text = gw.admin("GET", "/metrics").body.decode()
    name = "lienthong_http_request_duration_seconds"
    return {"count": metric(text, name + "_count", "{%s}" % IPN_ROUTE),
            "le_2.5": metric(text, name + "_bucket", '{%s,le="2.5"}' % IPN_ROUTE),
            "le_5": metric(text, name + "_bucket", '{%s,le="5"}' % IPN_ROUTE)}


class OperatorsTest(StackTest):
    """What operators see of payments: /metrics, /status.json and lienthong-ctl's outbox commands."""

    def scrape(self):
        r = self.s.gw.admin("GET", "/metrics")
        self.assertEqual(r.status, 200)
        return r.body.decode()

    def steady_scrape(self):
        """A scrape once the state counts have caught up: they are read from the store every second, and a read
        can take a second more, so two equal scrapes 3 s apart are settled."""
        def states(text):
            return [l for l in text.splitlines() if l.startswith("lienthong_payments{")]
        last = self.scrape()
        for _ in range(10):
            time.sleep(3.0)
            now = self.scrape()
            if states(now) == states(last):
                return now
            last = now
        raise AssertionError("the payment counts never settled")

    def test_ipn_answers_and_states_move_by_exactly_the_scripted_amounts(self):
        before = self.steady_scrape()
        paid = [self.s.new_payment() for _ in range(3)]
        failed = self.s.new_payment()
        for p in paid:
            self.s.gw.ipn(ipn_query(p["payment_id"], 15000000))
        self.s.gw.ipn(ipn_query(paid[0]["payment_id"], 15000000))  # a repeat: 02
        self.s.gw.ipn(ipn_query(failed["payment_id"], 15000000, response_code="51"))
        self.s.gw.ipn(ipn_query(failed["payment_id"], 15000000, secret=b"forged-secret"))  # 97
        after = self.steady_scrape()

        def moved(name, labels):
            return metric(after, name, labels) - metric(before, name, labels)

        self.assertEqual(moved("lienthong_payment_ipn_answers_total", '{rsp_code="00"}'), 4)
        self.assertEqual(moved("lienthong_payment_ipn_answers_total", '{rsp_code="02"}'), 1)
        self.assertEqual(moved("lienthong_payment_ipn_answers_total", '{rsp_code="97"}'), 1)
        self.assertEqual(moved("lienthong_payments", '{state="paid"}'), 3)
        self.assertEqual(moved("lienthong_payments", '{state="failed"}'), 1)
        status = self.s.gw.admin("GET", "/status.json").json["payments"]
        self.assertEqual(status["backend"], "journal")
        self.assertTrue(status["store_ok"])
        self.assertEqual(status["by_state"]["paid"], metric(after, "lienthong_payments", '{state="paid"}'))

    def test_ctl_lists_and_redrives_dead_letters(self):
        self.s.webhook.control("POST", "/config", {"down": True})
        p = self.s.new_payment()
        self.s.gw.ipn(ipn_query(p["payment_id"], 15000000))
        event_id = "evt-" + p["payment_id"]
        wait_for(lambda: [e for e in self.s.gw.outbox("dead") if e["event_id"] == event_id], timeout=30,
                 what="a dead letter")
        rc, out, err = harness.run_ctl("outbox", "list", "--dead", admin_port=self.s.gw.admin_port)
        self.assertEqual(rc, 0, err)
        self.assertIn(event_id, out)
        self.s.webhook.control("POST", "/config", {})
        rc, out, err = harness.run_ctl("outbox", "redrive", event_id, admin_port=self.s.gw.admin_port)
        self.assertEqual(rc, 0, out + err)
        wait_for(lambda: events_by_id(self.s.webhook).get(event_id), what="delivery after ctl's redrive")
        rc, out, err = harness.run_ctl("outbox", "redrive", event_id, admin_port=self.s.gw.admin_port)
        self.assertNotEqual(rc, 0, "no longer a dead letter")


class ReconciliationTest(StackTest):

    def test_expired_pending_payment_never_opened_is_settled_expired(self):
        p = self.s.new_payment(expires_in_s=1)
        got = wait_for(lambda: self.s.gw.payment(p["payment_id"]).json["status"] != "pending" and
                       self.s.gw.payment(p["payment_id"]).json, what="reconciliation")
        self.assertEqual(got["status"], "expired")
        wait_for(lambda: events_by_id(self.s.webhook).get("evt-" + p["payment_id"]), what="the expired event")
        self.assertEqual(events_by_id(self.s.webhook)["evt-" + p["payment_id"]]["event"], "payment.expired")

    def test_paid_payment_whose_ipn_never_came_is_settled_paid(self):
        self.s.pay_sim.control("POST", "/config", {"ipn_urls": []})
        p = self.s.new_payment(expires_in_s=2)
        path = p["pay_url"][len(self.s.pay_sim.base_url):]
        harness.https_request(self.s.pay_sim.port, "GET", path, cert=None, context=_national_context())
        self.s.pay_sim.control("POST", "/complete", {"txn_ref": p["payment_id"], "response_code": "00"})
        got = wait_for(lambda: self.s.gw.payment(p["payment_id"]).json["status"] != "pending" and
                       self.s.gw.payment(p["payment_id"]).json, what="reconciliation")
        self.assertEqual(got["status"], "paid")
        self.assertTrue(got["transaction_no"])


class StoreOutageTest(unittest.TestCase):
    """A dead Redis: clear answers (IPN 99 so that the payment gateway retries, 503 for the portal), and nothing
    already stored is lost."""

    def test_dead_redis_answers_99_and_503_and_loses_nothing(self):
        redis = harness.durable_redis()
        s = Stack(store=redis_store(redis))
        try:
            paid, pending = s.new_payment(), s.new_payment()
            self.assertEqual(s.gw.ipn(ipn_query(paid["payment_id"], 15000000)).json["RspCode"], "00")
            redis.kill()
            self.assertEqual(s.gw.ipn(ipn_query(pending["payment_id"], 15000000)).json,
                             {"RspCode": "99", "Message": "Unknown error"})
            r = s.gw.create(key="during-outage")
            self.assertEqual(r.status, 503, r.body)
            self.assertEqual(r.json["type"], "urn:lienthong:problem:payment_store_unavailable")
            self.assertTrue(r.header("retry-after"))
            self.assertEqual(s.gw.payment(paid["payment_id"]).status, 503)
            wait_for(lambda: s.gw.admin("GET", "/status.json").json["payments"]["store_ok"] is False,
                     what="store_ok false in /status.json")
            redis.start()
            # Each worker reconnects on its own backoff: retry as the payment gateway and the portal would.
            answer = ipn_once_the_store_answers(s.gw, ipn_query(pending["payment_id"], 15000000))
            self.assertEqual(answer, "00", "the re-sent IPN settles the payment, once")
            for p in (pending, paid):
                self.assertEqual(once_the_store_answers(s.gw, p["payment_id"]).json["status"], "paid")
            created = wait_for(lambda: [r for r in [s.gw.create(key="during-outage")] if r.status != 503],
                               what="a create answer other than 503")
            self.assertEqual(created[0].status, 201)
        finally:
            s.stop()
            redis.kill()


    def test_a_stalled_store_still_answers_the_ipn_within_5_s(self):
        redis = harness.durable_redis()
        store = redis_store(redis)
        store["redis"]["timeout_ms"] = 4000  # the most the store allows, as long as the IPN's own 4 s deadline
        s = Stack(store=store)
        try:
            p = s.new_payment()
            q = ipn_query(p["payment_id"], 15000000)
            seen = ipn_durations(s.gw)
            redis.pause()
            try:
                # 30 s only gives up eventually. A gateway that waited for the store would answer only once Redis
                # resumes, which this test does after the answer: the IPN would time out and the test fail.
                answer = s.gw.ipn(q, timeout=30)
                answered_while_stalled = redis.is_paused()
            finally:
                redis.resume()
            self.assertEqual(answer.json["RspCode"], "99")
            self.assertTrue(answered_while_stalled, "the IPN was answered while the store was still stopped")
            # The gateway's own timer, not this client's view of it (which a busy machine stretches): a gateway
            # that held the IPN past the ICD's 5 s would have counted it above the 5 s bucket.
            now = wait_for(lambda: (lambda d: d if d["count"] == seen["count"] + 1 else None)(ipn_durations(s.gw)),
                           what="the IPN in lienthong_http_request_duration_seconds")
            self.assertEqual(now["le_5"] - seen["le_5"], 1, "the gateway answered the IPN within the ICD's 5 s")
            self.assertEqual(now["le_2.5"], seen["le_2.5"], "the answer waited for the stalled store first")
            # The stalled write went through once Redis woke: the payment gateway's repeat hears 02, not a second 00.
            self.assertEqual(ipn_once_the_store_answers(s.gw, q), "02")
            self.assertEqual(once_the_store_answers(s.gw, p["payment_id"]).json["status"], "paid")
            self.assertEqual(ipn_once_the_store_answers(s.gw, q), "02")
        finally:
            s.stop()
            redis.kill()


# The citizens of PersonalDataAtRestTest: their addresses and the private part of their return URLs must never be
# readable where payments are stored.
CITIZEN_IPS = ["198.51.100.23", "2001:db8:5ea1::17"] + ["198.51.100.%d" % (120 + i) for i in range(8)]
PRIVATE_PATH = "/ho-so/rieng-tu-5581"


def readable_personal_data(blob):
    """The citizens' addresses and return URLs found in some stored bytes."""
    needles = [ip.encode() for ip in CITIZEN_IPS] + [PRIVATE_PATH.encode(), b"rieng-tu-5581"]
    return [n for n in needles if n in blob]


class PersonalDataAtRestTest(unittest.TestCase):
    """What a payment keeps of the citizen (the address, the return URL) is sealed with the cache's AEAD keys: no
    file of the journal and no Redis key or value holds it in clear, and payments still work end to end."""

    def exercise(self, s):
        """Creates the payments (one with an Idempotency-Key), settles one, and checks what needs the sealed part:
        a replay's pay_url (vnp_IpAddr) and the browser return (the portal's URL). Returns the first two."""
        url = "https://portal.example.vn%s?n=" % PRIVATE_PATH
        first = s.gw.create(key="at-rest-1", client_ip=CITIZEN_IPS[0], return_url=url + "0")
        self.assertEqual(first.status, 201, s.gw.diag(repr(first)))
        self.assertEqual(pay_url_params(first.json["pay_url"])["vnp_IpAddr"], CITIZEN_IPS[0])
        second = s.new_payment(client_ip=CITIZEN_IPS[1], return_url=url + "1")
        for i, ip in enumerate(CITIZEN_IPS[2:]):
            s.new_payment(client_ip=ip, return_url=url + str(i + 2))
        self.assertEqual(s.gw.ipn(ipn_query(first.json["payment_id"], 15000000)).json["RspCode"], "00")
        self.check_still_working(s, first.json, second)
        return first.json, second

    def check_still_working(self, s, first, second):
        self.assertEqual(s.gw.payment(first["payment_id"]).json["status"], "paid")
        again = s.gw.create(key="at-rest-1", client_ip=CITIZEN_IPS[0],
                            return_url="https://portal.example.vn%s?n=0" % PRIVATE_PATH)
        self.assertEqual(again.status, 200, again.body)
        self.assertEqual(again.json["pay_url"], first["pay_url"])  # the same vnp_IpAddr, opened from the store
        back = s.gw.browser_return(ipn_query(second["payment_id"], 15000000))
        self.assertEqual(back.status, 303, back.body)
        target = urllib.parse.urlsplit(back.header("location"))
        self.assertEqual((target.hostname, target.path), ("portal.example.vn", PRIVATE_PATH))
        self.assertEqual(dict(urllib.parse.parse_qsl(target.query))["n"], "1")

    def journal_bytes(self, directory):
        # A running gateway may rename snapshot.tmp to snapshot between the listing and the read: read the
        # listing again until every file in it could be read, so a compaction never hides a file from the scan.
        while True:
            blobs = {}
            try:
                for name in os.listdir(directory):
                    with open(os.path.join(directory, name), "rb") as f:
                        blobs[name] = f.read()
            except FileNotFoundError:
                continue
            return blobs

    def test_journal_files_hold_no_address_or_return_url(self):
        directory = os.path.join(harness.make_tmpdir("lt-journal-"), "payments")
        store = dict(journal_store(directory), compact_bytes=4096)  # so that a snapshot is written too
        s = Stack(store=store)
        try:
            first, second = self.exercise(s)
            wait_for(lambda: os.path.exists(os.path.join(directory, "snapshot")), what="a compaction's snapshot")
            blobs = self.journal_bytes(directory)
            self.assertIn(b"\"sealed\"", b"".join(blobs.values()))
            for name, blob in blobs.items():
                self.assertEqual(readable_personal_data(blob), [], name)
            # After a restart the gateway opens them again with the key files: replay, return and GET still work.
            s.gw.stop()
            s.gw.start(keep_ports=True)
            self.check_still_working(s, first, second)
            for name, blob in self.journal_bytes(directory).items():
                self.assertEqual(readable_personal_data(blob), [], name)
        finally:
            s.stop()

    def test_redis_holds_no_address_or_return_url(self):
        redis = harness.durable_redis()
        s = Stack(store=redis_store(redis))
        try:
            self.exercise(s)
            stored = redis.dump_everything()
            self.assertGreater(len(stored), 10)
            for key, values in stored:
                self.assertEqual(readable_personal_data(key), [], key)
                for value in values:
                    self.assertEqual(readable_personal_data(value if isinstance(value, bytes) else
                                                            str(value).encode()), [], key)
        finally:
            s.stop()
            redis.kill()

    def test_a_payment_stored_in_clear_before_sealing_still_works(self):
        directory = os.path.join(harness.make_tmpdir("lt-journal-"), "payments")
        os.makedirs(directory, mode=0o700)
        body = {"dossier_id": "HS-LEGACY-1", "amount_vnd": 150000, "description": "Le phi ho so HS-LEGACY-1",
                "return_url": "https://portal.example.vn/ho-so/cu?n=7", "client_ip": "192.0.2.77"}
        payment_id = legacy_journal(directory, body, "legacy-key-1")
        s = Stack(store=journal_store(directory))
        try:
            self.assertEqual(s.gw.payment(payment_id).json["status"], "pending")
            back = s.gw.browser_return(ipn_query(payment_id, 15000000))
            self.assertEqual(back.status, 303, back.body)
            self.assertTrue(back.header("location").startswith("https://portal.example.vn/ho-so/cu?n=7&payment_id="))
            # A retry of its create still replays it (its fingerprint was not keyed then), with its own address.
            again = s.gw.create(body=body, key="legacy-key-1")
            self.assertEqual(again.status, 200, again.body)
            self.assertEqual(again.json["payment_id"], payment_id)
            self.assertEqual(pay_url_params(again.json["pay_url"])["vnp_IpAddr"], "192.0.2.77")
            self.assertEqual(s.gw.create(body=dict(body, amount_vnd=1), key="legacy-key-1").status, 422)
            self.assertEqual(s.gw.ipn(ipn_query(payment_id, 15000000)).json["RspCode"], "00")
            self.assertEqual(s.gw.payment(payment_id).json["status"], "paid")
        finally:
            s.stop()


def legacy_journal(directory, body, key):
    """journal.0 with one pending payment as gateways wrote it before sealing: the address and return URL in clear,
    the Idempotency-Key fingerprint the plain SHA-256 of the request's canonical JSON."""
    import calendar
    import hashlib
    import json
    now = int(time.time())
    vn = lambda t: time.strftime("%Y%m%d%H%M%S", time.gmtime(t + 7 * 3600))
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    payment_id = "LT%s-00000000cafe0001" % vn(now)[:8]
    record = dict(body, id=payment_id, order_info=body["description"], locale="vn", client="portal",
                  idempotency="portal\n" + key, fingerprint=hashlib.sha256(canonical).hexdigest(),
                  create_date=vn(now), expire_date=vn(now + 86400), created_at_ms=now * 1000,
                  expires_at_ms=(now + 86400) * 1000, updated_at_ms=now * 1000, response_code="",
                  transaction_status="", bank_code="", transaction_no="", pay_date="", settled_by="",
                  state="pending")
    with open(os.path.join(directory, "journal.0"), "w", encoding="utf-8") as f:
        f.write(json.dumps({"op": "create", "p": record}, separators=(",", ":"), ensure_ascii=False) + "\n")
    return payment_id


class ReloadTest(StackTest):
    def test_reload_refuses_a_payment_secret_that_start_up_would_refuse(self):
        import json
        import os
        short = os.path.join(self.s.gw.dir, "short.secret")
        with open(short, "w") as f:
            f.write("abc\n")  # readable, but under the 8 characters start-up demands
        with open(self.s.gw.config_path, encoding="utf-8") as f:
            cfg = json.load(f)
        cfg["payments"]["hash_secret_file"] = short
        with open(self.s.gw.config_path, "w", encoding="utf-8") as f:
            json.dump(cfg, f)
        r = self.s.gw.admin("POST", "/reload", body={})
        self.assertNotEqual(r.status, 200, r.body)
        self.assertIn("payments.hash_secret_file", r.body.decode())
        # Still serving with what it started with.
        p = self.s.new_payment()
        self.assertEqual(self.s.gw.ipn(ipn_query(p["payment_id"], 15000000)).json["RspCode"], "00")


class JournalLockTest(unittest.TestCase):
    def test_a_second_gateway_on_the_same_journal_refuses_to_start(self):
        store = journal_store()
        s = Stack(store=store)
        try:
            p = s.new_payment()
            second = PayGateway(s.pay_sim, s.webhook, store, start=False)
            with self.assertRaises(AssertionError) as refused:
                second.start(timeout=5)
            self.assertIn("in use by another gateway", str(refused.exception))
            second.kill()
            # The first one is untouched.
            self.assertEqual(s.gw.payment(p["payment_id"]).json["status"], "pending")
        finally:
            s.stop()


class IpnAllowlistTest(unittest.TestCase):
    def test_ipn_from_an_address_not_allowed_is_refused_and_changes_nothing(self):
        s = Stack(extra={"ipn_allow": ["192.0.2.1"]})
        try:
            p = s.new_payment()
            r = s.gw.ipn(ipn_query(p["payment_id"], 15000000))
            self.assertEqual(r.status, 403)
            self.assertEqual(s.gw.payment(p["payment_id"]).json["status"], "pending")
        finally:
            s.stop()
        s = Stack(extra={"ipn_allow": ["127.0.0.1"]})
        try:
            p = s.new_payment()
            self.assertEqual(s.gw.ipn(ipn_query(p["payment_id"], 15000000)).json["RspCode"], "00")
        finally:
            s.stop()


class TwoInstancesOneRedisTest(unittest.TestCase):
    def test_the_same_ipn_at_both_at_once_is_recorded_once(self):
        redis = harness.durable_redis()
        pay_sim, webhook = Sim(system="payment"), Sim(system="webhook")
        a = PayGateway(pay_sim, webhook, redis_store(redis))
        b = PayGateway(pay_sim, webhook, redis_store(redis))
        try:
            for round_no in range(10):
                p = a.create().json
                self.assertEqual(b.payment(p["payment_id"]).status, 200)  # both see it
                q = ipn_query(p["payment_id"], 15000000)
                barrier, answers = threading.Barrier(2), {}

                def send(gw, name):
                    barrier.wait()
                    answers[name] = gw.ipn(q).json["RspCode"]

                ts = [threading.Thread(target=send, args=(a, "a")), threading.Thread(target=send, args=(b, "b"))]
                [t.start() for t in ts]
                [t.join() for t in ts]
                self.assertEqual(sorted(answers.values()), ["00", "02"], (round_no, answers))
                event_id = "evt-" + p["payment_id"]
                wait_for(lambda: events_by_id(webhook).get(event_id), what="the event")
            time.sleep(1.0)
            events = webhook_events(webhook)["events"]
            self.assertEqual(len({e["event_id"] for e in events}), 10)
        finally:
            a.stop()
            b.stop()
            pay_sim.stop()
            webhook.stop()
            redis.kill()


if __name__ == "__main__":
    unittest.main(verbosity=2)
