"""The payment gateway simulator and the portal's webhook receiver, on their own (no gateway).

lienthong-sim --system payment is what the gateway's payment tests stand on, so its own behaviour is pinned here
against shared/icd/payment.md, with tests/integration/vnpay.py (an independent implementation of the ICD's signing
rules) and a tiny HTTPS merchant (harness.IpnEndpoint) that answers IPNs from a script:
  the pay URL's checks (§1), completing from the page or the control API, the browser return (§3),
  IPN delivery (§2): re-sent on no answer, an HTTP error or a RspCode outside 00/01/02/04/97, at most 10
  attempts, duplicates, concurrent delivery to two merchant servers, the merchant's certificate checked,
  querydr (§4) with 00/01, 02, 03, 91, 94 and 97;
and lienthong-sim --system webhook: the signature check and the outage switch (northbound.md "Payments").
"""

import datetime
import hashlib
import hmac
import http.client
import json
import subprocess
import threading
import time
import unittest
import urllib.parse
import uuid

import harness as h
import vnpay

SIM = None
FAST = [50]  # retry delays for tests that are not about the schedule


def setUpModule():
    global SIM
    SIM = h.PaymentSim()


def tearDownModule():
    if SIM is not None:
        SIM.stop()


def new_ref():
    return "T" + uuid.uuid4().hex[:16]


def pay_params(ref=None, amount_vnd=150000, **kw):
    return vnpay.pay_params(SIM.tmn_code, ref or new_ref(), amount_vnd,
                            kw.pop("order_info", "Thanh toan le phi ho so 000.00.12.H53-241122-0001"),
                            kw.pop("return_url", "https://127.0.0.1:9/payments/vnpay/return"), **kw)


def open_url(params, secret=None):
    return SIM.open_pay_url(vnpay.pay_url(SIM.base_url, params, secret or SIM.secret))


def new_payment(**kw):
    """A pending transaction, recorded by opening a valid pay URL; returns its parameters."""
    params = pay_params(**kw)
    r = open_url(params)
    assert r.status == 200, r
    return params


def refusal(r):
    return r.status, r.header("X-Sim-Error")


class SimTestCase(unittest.TestCase):
    def setUp(self):
        SIM.reset()
        SIM.clear_faults()
        self.endpoints = []

    def tearDown(self):
        SIM.reset()  # stops every delivery before its endpoint goes
        for ep in self.endpoints:
            ep.stop()

    def endpoint(self, answers=(), default=None, **kw):
        ep = h.IpnEndpoint(answers, default, **kw)
        self.endpoints.append(ep)
        return ep

    def merchant(self, answers=(), default=None, delays=FAST, timeout_ms=2000, **settings):
        """One IPN endpoint, configured as the simulator's only IPN URL."""
        ep = self.endpoint(answers, default)
        SIM.configure(ipn_urls=[ep.url], ipn_retry_delays_ms=delays, ipn_timeout_ms=timeout_ms, **settings)
        return ep


# ---------------------------------------------------------------------------
# §1: the pay URL


class PayUrlTest(SimTestCase):
    def test_valid_url_shows_a_bilingual_self_contained_page(self):
        params = pay_params()
        r = open_url(params)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.header("Content-Type").startswith("text/html"))
        page = r.body.decode("utf-8")
        for text in ("Thanh toán", "Pay", "Hủy", "Cancel", "150.000 VND", params["vnp_TxnRef"],
                     'action="/paymentv2/complete"', 'value="pay"', 'value="cancel"'):
            self.assertIn(text, page)
        for external in ("<script", "src=", "<link", "url("):
            self.assertNotIn(external, page, "no external assets and no script")
        t = SIM.transaction(params["vnp_TxnRef"])
        self.assertEqual((t["state"], t["amount"], t["create_date"]), ("pending", "15000000", params["vnp_CreateDate"]))
        self.assertIsNone(t["result"])

    def test_english_locale_puts_english_first(self):
        page = open_url(pay_params(locale="en")).body.decode("utf-8")
        self.assertIn("Pay / Thanh toán", page)
        self.assertIn('lang="en"', page)

    def test_signature_is_compared_without_case(self):
        params = pay_params()
        query = vnpay.hash_data(params) + "&vnp_SecureHash=" + vnpay.sign(params, SIM.secret).upper()
        self.assertEqual(SIM.open_pay_url("/paymentv2/vpcpay.html?" + query).status, 200)

    def test_tampered_amount_is_refused_and_not_recorded(self):
        params = pay_params()
        url = vnpay.pay_url(SIM.base_url, params, SIM.secret).replace("vnp_Amount=15000000", "vnp_Amount=1500000")
        self.assertEqual(refusal(SIM.open_pay_url(url)), (403, "invalid_signature"))
        self.assertEqual(SIM.transactions(), [])

    def test_wrong_secret_and_wrong_terminal(self):
        self.assertEqual(refusal(open_url(pay_params(), secret="not-the-secret")), (403, "invalid_signature"))
        other = pay_params()
        other["vnp_TmnCode"] = "OTHER001"
        self.assertEqual(refusal(open_url(other)), (403, "unknown_terminal"))

    def test_secure_hash_type_is_refused(self):
        # ICD §1: "Do not send vnp_SecureHashType in 2.1.0". It is outside the hash data, so it is told, not hidden.
        params = pay_params()
        url = vnpay.pay_url(SIM.base_url, params, SIM.secret) + "&vnp_SecureHashType=HmacSHA512"
        r = SIM.open_pay_url(url)
        self.assertEqual(refusal(r), (400, "invalid_format"))
        self.assertIn("vnp_SecureHashType", r.body.decode())

    def test_malformed_parameters_are_refused_even_when_signed(self):
        cases = {
            "vnp_Version": "2.0.1", "vnp_Command": "querydr", "vnp_Amount": "15000050", "vnp_CurrCode": "USD",
            "vnp_TxnRef": "HS/2024/1", "vnp_OrderInfo": "Thanh to\u00e1n l\u1ec7 ph\u00ed", "vnp_Locale": "fr",
            "vnp_IpAddr": "citizen-pc", "vnp_CreateDate": "20241340103000", "vnp_ReturnUrl": "javascript:alert(1)",
            "vnp_OrderType": "bill payment", "vnp_BankCode": "N C B",
        }
        for name, value in cases.items():
            with self.subTest(name=name, value=value):
                params = pay_params()
                params[name] = value
                r = open_url(params)
                self.assertEqual(refusal(r), (400, "invalid_format"), r.body[-400:])
                self.assertIn(name, r.body.decode())
        for amount in ("015000000", "1" + "0" * 12, "0"):
            with self.subTest(amount=amount):
                params = pay_params()
                params["vnp_Amount"] = amount
                self.assertEqual(refusal(open_url(params)), (400, "invalid_format"))
        self.assertEqual(SIM.transactions(), [])

    def test_missing_or_repeated_parameters_are_refused(self):
        for missing in ("vnp_ReturnUrl", "vnp_ExpireDate", "vnp_IpAddr", "vnp_TmnCode"):
            with self.subTest(missing=missing):
                params = pay_params()
                del params[missing]
                self.assertEqual(refusal(open_url(params)), (400, "invalid_format"))
        url = vnpay.pay_url(SIM.base_url, pay_params(), SIM.secret) + "&vnp_Locale=en"
        self.assertEqual(refusal(SIM.open_pay_url(url)), (400, "invalid_format"))
        self.assertEqual(refusal(SIM.open_pay_url("/paymentv2/vpcpay.html?vnp_Amount=%zz")), (400, "invalid_format"))

    def test_expired_url_is_refused(self):
        past = datetime.datetime.now(vnpay.VN_TZ) - datetime.timedelta(minutes=1)
        params = pay_params(create_date=vnpay.vn_stamp(past - datetime.timedelta(minutes=15)),
                            expire_date=vnpay.vn_stamp(past))
        self.assertEqual(refusal(open_url(params)), (410, "expired"))
        # The ICD's dates are UTC+07:00 whatever the host's zone: one that expires in a minute is still open.
        soon = datetime.datetime.now(vnpay.VN_TZ) + datetime.timedelta(minutes=1)
        self.assertEqual(open_url(pay_params(expire_date=vnpay.vn_stamp(soon))).status, 200)

    def test_txn_ref_reuse(self):
        params = new_payment()
        ref = params["vnp_TxnRef"]
        self.assertEqual(open_url(params).status, 200, "the same payment again (a reload) shows the page again")
        self.assertEqual(refusal(open_url(pay_params(ref, amount_vnd=200000))), (409, "txn_ref_reused"))
        SIM.complete(ref, send_ipn=False)
        self.assertEqual(refusal(open_url(params)), (409, "already_completed"))
        self.assertEqual(len(SIM.transactions()), 1)

    def test_other_methods_and_paths(self):
        self.assertEqual(SIM.https("POST", "/paymentv2/vpcpay.html", "x").status, 405)
        self.assertEqual(SIM.https("GET", "/merchant_webapp/api/transaction").status, 405)
        self.assertEqual(SIM.https("GET", "/elsewhere").status, 404)


# ---------------------------------------------------------------------------
# completing: the page's buttons, the control API, the browser return (§3)


class CompletionTest(SimTestCase):
    def test_pay_button_redirects_with_the_signed_result_and_sends_the_same_ipn(self):
        ep = self.merchant()
        params = new_payment(return_url="https://127.0.0.1:9/payments/vnpay/return?lang=vi")
        ref = params["vnp_TxnRef"]
        before = time.time()
        r = SIM.pay_in_browser(ref, "pay", bank_code="VCB")
        after = time.time()
        self.assertEqual(r.status, 302)
        location = r.header("Location")
        self.assertTrue(location.startswith("https://127.0.0.1:9/payments/vnpay/return?lang=vi&vnp_"), location)
        ret = vnpay.parse_query(urllib.parse.urlsplit(location).query)
        self.assertTrue(vnpay.verify(ret, SIM.secret))
        self.assertEqual((ret["vnp_ResponseCode"], ret["vnp_TransactionStatus"]), ("00", "00"))
        self.assertEqual((ret["vnp_Amount"], ret["vnp_TxnRef"], ret["vnp_TmnCode"], ret["vnp_BankCode"]),
                         ("15000000", ref, SIM.tmn_code, "VCB"))
        self.assertEqual(ret["vnp_OrderInfo"], params["vnp_OrderInfo"])
        self.assertTrue(ret["vnp_BankTranNo"])
        pay_date = datetime.datetime.strptime(ret["vnp_PayDate"], "%Y%m%d%H%M%S").replace(tzinfo=vnpay.VN_TZ)
        # Paid while the button was pressed, read as UTC+07:00: another zone would be hours outside this window.
        self.assertTrue(before - 1 <= pay_date.timestamp() <= after + 1, "vnp_PayDate %s is UTC+07:00, now"
                        % ret["vnp_PayDate"])
        got = ep.wait_requests(1)
        self.assertEqual(len(got), 1)
        self.assertEqual(got[0]["path"], "/payments/vnpay/ipn")
        self.assertEqual(got[0]["params"], {k: v for k, v in ret.items() if k.startswith("vnp_")})
        t = SIM.wait_ipn(ref)
        self.assertEqual((t["state"], t["result"]["response_code"], t["ipn"]["state"]),
                         ("completed", "00", "delivered"))
        self.assertEqual(t["result"]["redirect_url"], location)

    def test_cancel_button_is_24_02_without_a_bank_transaction(self):
        ep = self.merchant()
        ref = new_payment()["vnp_TxnRef"]
        r = SIM.pay_in_browser(ref, "cancel")
        self.assertEqual(r.status, 302)
        ret = vnpay.parse_query(urllib.parse.urlsplit(r.header("Location")).query)
        self.assertEqual((ret["vnp_ResponseCode"], ret["vnp_TransactionStatus"]), ("24", "02"))
        self.assertNotIn("vnp_BankTranNo", ret, "empty values are neither signed nor sent")
        self.assertTrue(vnpay.verify(ret, SIM.secret))
        self.assertEqual(ep.wait_requests(1)[0]["params"]["vnp_ResponseCode"], "24")

    def test_control_complete_takes_any_code(self):
        ep = self.merchant()
        cases = [({"response_code": "51"}, ("51", "02")), ({"response_code": "00"}, ("00", "00")),
                 ({"response_code": "07", "transaction_status": "07"}, ("07", "07")),
                 ({"response_code": "11"}, ("11", "02"))]
        for i, (fields, want) in enumerate(cases):
            with self.subTest(fields=fields):
                ref = new_payment()["vnp_TxnRef"]
                t = SIM.complete(ref, **fields)
                self.assertEqual((t["result"]["response_code"], t["result"]["transaction_status"]), want)
                ipn = ep.wait_requests(i + 1)[i]["params"]
                self.assertEqual((ipn["vnp_TxnRef"], ipn["vnp_ResponseCode"], ipn["vnp_TransactionStatus"]),
                                 (ref,) + want)
        nos = [t["result"]["transaction_no"] for t in SIM.transactions()]
        self.assertEqual(len(set(nos)), len(nos), "every completion gets its own vnp_TransactionNo")

    def test_complete_without_ipn_and_with_a_bank(self):
        ep = self.merchant()
        ref = new_payment()["vnp_TxnRef"]
        t = SIM.complete(ref, "00", bank_code="BIDV", send_ipn=False)
        self.assertEqual(t["result"]["bank_code"], "BIDV")
        time.sleep(0.3)
        self.assertEqual(ep.received(), [])
        self.assertEqual(SIM.transaction(ref)["ipn"]["state"], "none")

    def test_a_transaction_completes_once(self):
        self.merchant()
        ref = new_payment()["vnp_TxnRef"]
        SIM.complete(ref, "00")
        again = h.http_request(SIM.control_port, "POST", "/control/payment/complete",
                               {"txn_ref": ref, "response_code": "24"})
        self.assertEqual(again.status, 409)
        self.assertEqual(SIM.pay_in_browser(ref, "cancel").status, 409)
        self.assertEqual(SIM.transaction(ref)["result"]["response_code"], "00")

    def test_control_complete_checks_its_body(self):
        ref = new_payment()["vnp_TxnRef"]
        for body, status in (({"txn_ref": ref}, 400), ({"txn_ref": ref, "response_code": "0"}, 400),
                             ({"txn_ref": ref, "response_code": "00", "transaction_status": 0}, 400),
                             ({"txn_ref": "nope", "response_code": "00"}, 404)):
            with self.subTest(body=body):
                self.assertEqual(h.http_request(SIM.control_port, "POST", "/control/payment/complete", body).status,
                                 status)
        self.assertEqual(SIM.transaction(ref)["state"], "pending")

    def test_form_checks(self):
        ref = new_payment()["vnp_TxnRef"]
        self.assertEqual(SIM.pay_in_browser("unknown", "pay").status, 404)
        self.assertEqual(SIM.pay_in_browser(ref, "refund").status, 400)
        r = SIM.https("POST", "/paymentv2/complete", json.dumps({"txn_ref": ref, "action": "pay"}),
                      {"Content-Type": "application/json"})
        self.assertEqual(r.status, 400)
        self.assertEqual(SIM.transaction(ref)["state"], "pending")


# ---------------------------------------------------------------------------
# §2: IPN delivery


def attempts_of(ref):
    return SIM.transaction(ref)["ipn"]["attempts"]


class IpnDeliveryTest(SimTestCase):
    def test_resent_until_an_answer_counts(self):
        # no answer within the timeout, an HTTP error, RspCode 99, a body that is not the ICD's, then 00.
        ep = self.merchant([{"hold_s": 1.0}, {"status": 500, "body": b"oops"}, {"rsp": "99"},
                            {"status": 200, "body": b"OK"}], timeout_ms=300)
        ref = new_payment()["vnp_TxnRef"]
        SIM.complete(ref)
        t = SIM.wait_ipn(ref)
        self.assertEqual(t["ipn"]["state"], "delivered")
        a = t["ipn"]["attempts"]
        self.assertEqual([x["http_status"] for x in a], [None, 500, 200, 200, 200])
        self.assertEqual([x["rsp_code"] for x in a], [None, None, "99", None, "00"])
        self.assertEqual([x["accepted"] for x in a], [False, False, False, False, True])
        self.assertEqual([x["attempt"] for x in a], [1, 2, 3, 4, 5])
        self.assertIn("timed out", a[0]["error"].lower())
        time.sleep(0.3)
        got = ep.received()
        self.assertEqual(len(got), 5, "nothing more after an accepted answer")
        self.assertEqual(len({g["query"] for g in got}), 1, "every attempt carries the same signed query")

    def test_each_final_code_stops_the_delivery(self):
        for code in vnpay.IPN_FINAL_RSP_CODES:
            with self.subTest(code=code):
                SIM.reset()
                ep = self.merchant(default={"rsp": code})
                ref = new_payment()["vnp_TxnRef"]
                SIM.complete(ref)
                t = SIM.wait_ipn(ref)
                time.sleep(0.25)
                self.assertEqual(len(ep.received()), 1)
                self.assertEqual((len(t["ipn"]["attempts"]), t["ipn"]["attempts"][0]["rsp_code"]), (1, code))

    def test_gives_up_after_ten_attempts(self):
        ep = self.merchant(default={"rsp": "99", "message": "Unknown error"}, delays=[20])
        ref = new_payment()["vnp_TxnRef"]
        SIM.complete(ref)
        t = SIM.wait_ipn(ref, states=("gave_up", "delivered"))
        self.assertEqual(t["ipn"]["state"], "gave_up")
        time.sleep(0.4)
        self.assertEqual(len(ep.received()), 10)
        self.assertEqual([a["attempt"] for a in attempts_of(ref)], list(range(1, 11)))

    def test_retry_delays_follow_the_config_and_the_last_repeats(self):
        ep = self.merchant(default={"status": 503}, delays=[100, 400])
        ref = new_payment()["vnp_TxnRef"]
        SIM.complete(ref)
        got = ep.wait_requests(4, timeout=10)[:4]
        gaps = [b["at"] - a["at"] for a, b in zip(got, got[1:])]
        self.assertGreaterEqual(gaps[0], 0.09)
        self.assertLess(gaps[0], 0.35)
        self.assertGreaterEqual(gaps[1], 0.39)
        self.assertGreaterEqual(gaps[2], 0.39)

    def test_default_schedule_spans_about_a_day(self):
        config = SIM.control("GET", "/config").json
        delays = config["ipn_retry_delays_ms"]
        self.assertEqual(len(delays), 9, "nine waits between ten attempts")
        self.assertTrue(20 * 3600e3 <= sum(delays) <= 26 * 3600e3, delays)
        self.assertEqual((config["ipn_timeout_ms"], config["ipn_max_attempts"]), (5000, 10))

    def test_duplicates_after_an_accepted_answer(self):
        ep = self.merchant(duplicates=2)
        ref = new_payment()["vnp_TxnRef"]
        SIM.complete(ref)
        got = ep.wait_requests(3)
        time.sleep(0.3)
        self.assertEqual(len(ep.received()), 3)
        self.assertEqual(len({g["query"] for g in got}), 1, "the same IPN again")
        a = attempts_of(ref)
        self.assertEqual([x["duplicate"] for x in a], [False, True, True])

    def test_concurrent_delivery_to_two_merchant_servers(self):
        hold = 0.6
        a = self.endpoint(default={"rsp": "00", "hold_s": hold})
        b = self.endpoint(default={"rsp": "02", "message": "Order already confirmed", "hold_s": hold})
        SIM.configure(ipn_urls=[a.url, b.url], concurrent_urls=True, ipn_retry_delays_ms=FAST)
        ref = new_payment()["vnp_TxnRef"]
        SIM.complete(ref)
        ga, gb = a.wait_requests(1), b.wait_requests(1)
        self.assertEqual((len(ga), len(gb)), (1, 1))
        self.assertLess(abs(ga[0]["at"] - gb[0]["at"]), hold / 2, "both arrive while the other is still unanswered")
        self.assertEqual(ga[0]["query"], gb[0]["query"])
        t = SIM.wait_ipn(ref)
        self.assertEqual(sorted((x["chain"], x["rsp_code"]) for x in t["ipn"]["attempts"]), [(1, "00"), (2, "02")])
        self.assertEqual(t["ipn"]["deliveries"], 2)

    def test_without_concurrent_urls_attempts_take_the_urls_in_turn(self):
        a = self.endpoint(default={"status": 502})
        b = self.endpoint(default={"rsp": "00"})
        SIM.configure(ipn_urls=[a.url, b.url], concurrent_urls=False, ipn_retry_delays_ms=FAST)
        ref = new_payment()["vnp_TxnRef"]
        SIM.complete(ref)
        t = SIM.wait_ipn(ref)
        self.assertEqual([x["url"].split("?")[0] for x in t["ipn"]["attempts"]], [a.url, b.url])
        self.assertEqual((len(a.received()), len(b.received())), (1, 1))

    def test_resend_on_demand(self):
        ep = self.merchant()
        ref = new_payment()["vnp_TxnRef"]
        SIM.complete(ref)
        SIM.wait_ipn(ref)
        r = SIM.resend_ipn(ref)
        self.assertEqual(r["deliveries_started"], 1)
        got = ep.wait_requests(2)
        self.assertEqual(len(got), 2)
        self.assertEqual(got[0]["query"], got[1]["query"])
        self.assertEqual([x["chain"] for x in SIM.wait_ipn(ref)["ipn"]["attempts"]], [1, 2])
        pending = new_payment()["vnp_TxnRef"]
        self.assertEqual(h.http_request(SIM.control_port, "POST", "/control/payment/ipn", {"txn_ref": pending}).status,
                         409)

    def test_the_merchants_certificate_is_checked(self):
        ep = self.endpoint()
        other = h.PaymentSim(ipn_urls=[ep.url], ipn_ca=h.pki_path("national-ca.crt"))
        try:
            other.configure(ipn_retry_delays_ms=[20])
            params = vnpay.pay_params(other.tmn_code, new_ref(), 150000, "Le phi", "https://127.0.0.1:9/return")
            self.assertEqual(other.open_pay_url(vnpay.pay_url(other.base_url, params, other.secret)).status, 200)
            other.complete(params["vnp_TxnRef"])
            t = other.wait_ipn(params["vnp_TxnRef"], states=("gave_up",))
            self.assertEqual(t["ipn"]["state"], "gave_up")
            self.assertIsNone(t["ipn"]["attempts"][0]["http_status"])
            self.assertTrue(t["ipn"]["attempts"][0]["error"])
            self.assertEqual(ep.received(), [], "no HTTP request to a server the CA does not vouch for")
        finally:
            other.stop()

    def test_a_slow_merchant_does_not_stop_the_simulator(self):
        release = threading.Event()
        ep = self.merchant(default={"rsp": "00", "until": release}, timeout_ms=60000)
        ref = new_payment()["vnp_TxnRef"]
        SIM.complete(ref)
        try:
            self.assertEqual(len(ep.wait_requests(1)), 1, "the IPN reached the merchant")
            # Ordering, not speed: the merchant holds the IPN until released, which happens only after this pay
            # URL is answered. A simulator whose loop waited for the IPN would never answer it (the client gives
            # up after its timeout and the test fails).
            self.assertEqual(open_url(pay_params()).status, 200)
            t = SIM.transaction(ref)
            self.assertEqual((t["ipn"]["state"], t["ipn"]["attempts"]), ("sending", []), "the IPN is still waiting")
        finally:
            release.set()
        self.assertEqual(SIM.wait_ipn(ref)["ipn"]["state"], "delivered", "the held IPN completes once released")

    def test_reset_stops_every_delivery(self):
        ep = self.merchant(default={"status": 500}, delays=[300])
        ref = new_payment()["vnp_TxnRef"]
        SIM.complete(ref)
        ep.wait_requests(1)
        SIM.reset()
        time.sleep(0.6)
        self.assertEqual(len(ep.received()), 1)
        self.assertEqual(SIM.transactions(), [])

    def test_config_is_checked_and_reset_restores_the_command_line(self):
        for body in ({"ipn_urls": ["ftp://x"]}, {"duplicates": -1}, {"concurrent_urls": "yes"},
                     {"ipn_retry_delays_ms": []}, {"ipn_timeout_ms": 1}, {"retries": 3}):
            with self.subTest(body=body):
                self.assertEqual(h.http_request(SIM.control_port, "POST", "/control/payment/config", body).status, 400)
        SIM.configure(ipn_urls=["https://127.0.0.1:1/ipn"], duplicates=1)
        SIM.reset()
        config = SIM.control("GET", "/config").json
        self.assertEqual((config["ipn_urls"], config["duplicates"]), ([], 0))


# ---------------------------------------------------------------------------
# §4: querydr


class QuerydrTest(SimTestCase):
    def query(self, ref, transaction_date, request_id=None, secret=None, **fields):
        body = vnpay.querydr_request(secret or SIM.secret, SIM.tmn_code, ref, transaction_date,
                                     request_id or uuid.uuid4().hex)
        body.update(fields)
        if fields and "vnp_SecureHash" not in fields:
            body["vnp_SecureHash"] = vnpay.querydr_request_hash(body, secret or SIM.secret)
        r = SIM.querydr(body)
        self.assertEqual(r.status, 200)
        self.assertTrue(vnpay.querydr_response_valid(r.json, SIM.secret), r.json)
        self.assertEqual(r.json["vnp_Command"], "querydr")
        return r.json

    def test_pending_then_completed(self):
        self.merchant()
        params = new_payment()
        ref, created = params["vnp_TxnRef"], params["vnp_CreateDate"]
        q = self.query(ref, created)
        self.assertEqual((q["vnp_ResponseCode"], q["vnp_TransactionStatus"], q["vnp_Amount"]), ("00", "01", "15000000"))
        self.assertEqual((q["vnp_TxnRef"], q["vnp_TmnCode"], q["vnp_TransactionType"]), (ref, SIM.tmn_code, "01"))
        t = SIM.complete(ref, "00", bank_code="VCB")
        q = self.query(ref, created)
        self.assertEqual((q["vnp_ResponseCode"], q["vnp_TransactionStatus"]), ("00", "00"))
        self.assertEqual((q["vnp_TransactionNo"], q["vnp_PayDate"], q["vnp_BankCode"]),
                         (t["result"]["transaction_no"], t["result"]["pay_date"], "VCB"))
        self.assertEqual(list(q), list(vnpay.QUERYDR_RESPONSE_FIELDS) + ["vnp_SecureHash"], "the ICD's fields")

    def test_a_failed_payment(self):
        params = new_payment()
        SIM.complete(params["vnp_TxnRef"], "24", send_ipn=False)
        q = self.query(params["vnp_TxnRef"], params["vnp_CreateDate"])
        self.assertEqual((q["vnp_ResponseCode"], q["vnp_TransactionStatus"]), ("00", "02"))

    def test_bad_checksum_97(self):
        params = new_payment()
        q = self.query(params["vnp_TxnRef"], params["vnp_CreateDate"], secret="wrong")
        self.assertEqual(q["vnp_ResponseCode"], "97")
        self.assertEqual(q["vnp_TransactionStatus"], "", "nothing about the payment without a valid checksum")

    def test_duplicate_request_id_94(self):
        params = new_payment()
        rid = uuid.uuid4().hex
        self.assertEqual(self.query(params["vnp_TxnRef"], params["vnp_CreateDate"], rid)["vnp_ResponseCode"], "00")
        self.assertEqual(self.query(params["vnp_TxnRef"], params["vnp_CreateDate"], rid)["vnp_ResponseCode"], "94")

    def test_not_found_91(self):
        params = new_payment()
        self.assertEqual(self.query(new_ref(), params["vnp_CreateDate"])["vnp_ResponseCode"], "91")
        self.assertEqual(self.query(params["vnp_TxnRef"], "20200101000000")["vnp_ResponseCode"], "91",
                         "vnp_TransactionDate must be the payment's vnp_CreateDate")

    def test_bad_terminal_02(self):
        params = new_payment()
        q = self.query(params["vnp_TxnRef"], params["vnp_CreateDate"], vnp_TmnCode="OTHER001")
        self.assertEqual(q["vnp_ResponseCode"], "02")

    def test_bad_format_03(self):
        params = new_payment()
        ref, created = params["vnp_TxnRef"], params["vnp_CreateDate"]
        for fields in ({"vnp_Version": "2.0.0"}, {"vnp_RequestId": "x" * 33}, {"vnp_CreateDate": "2024-11-22"},
                       {"vnp_IpAddr": "server"}, {"vnp_OrderInfo": ""}):
            with self.subTest(fields=fields):
                self.assertEqual(self.query(ref, created, **fields)["vnp_ResponseCode"], "03")
        body = vnpay.querydr_request(SIM.secret, SIM.tmn_code, ref, created, uuid.uuid4().hex)
        del body["vnp_IpAddr"]
        self.assertEqual(SIM.querydr(body).json["vnp_ResponseCode"], "03")
        r = SIM.https("POST", "/merchant_webapp/api/transaction", "not json", {"Content-Type": "application/json"})
        self.assertEqual(r.json["vnp_ResponseCode"], "03")
        self.assertTrue(vnpay.querydr_response_valid(r.json, SIM.secret))

    def test_faults(self):
        params = new_payment()
        SIM.set_fault("querydr99")
        self.assertEqual(self.query(params["vnp_TxnRef"], params["vnp_CreateDate"])["vnp_ResponseCode"], "99")
        SIM.set_fault("bad_hash")
        body = vnpay.querydr_request(SIM.secret, SIM.tmn_code, params["vnp_TxnRef"], params["vnp_CreateDate"],
                                     uuid.uuid4().hex)
        r = SIM.querydr(body)
        self.assertEqual(r.json["vnp_ResponseCode"], "00")
        self.assertFalse(vnpay.querydr_response_valid(r.json, SIM.secret))
        SIM.clear_faults()
        self.assertEqual(SIM.stats()["by_operation"]["querydr"], 2)


class SampleAndAllTest(unittest.TestCase):
    def test_sample_prints_payment_requests(self):
        rows = h.sim_sample(5, 1, system="payment")
        self.assertEqual(len(rows), 5)
        for row in rows:
            self.assertEqual(set(row) - {"locale"},
                             {"dossier_id", "amount_vnd", "description", "return_url", "client_ip"})
            self.assertIsInstance(row["amount_vnd"], int)
            self.assertTrue(row["description"].isascii(), "ready for vnp_OrderInfo: no diacritics")

    def test_system_all_includes_payment_and_webhook(self):
        ports = {"payment": 9105, "webhook": 9106}
        every = [9101, 9102, 9103, 9104, 9105, 9106]
        if any(h.port_accepts(p) or h.port_accepts(p + 100) for p in every):
            self.skipTest("a default simulator port is in use (is `make run` running?)")
        proc = h.spawn([h.SIM_BIN, "--system", "all", "--certs-dir", h.pki()], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            lines = [proc.stdout.readline().decode() for _ in every]
            for name, port in ports.items():
                self.assertTrue(any("%s listening on https://127.0.0.1:%d" % (name, port) in l for l in lines), lines)
                self.assertEqual(h.http_request(port + 100, "GET", "/control/%s/stats" % name).status, 200)
        finally:
            proc.terminate()
            proc.wait(10)
            h.forget(proc)
            proc.stdout.close()
            proc.stderr.close()


# ---------------------------------------------------------------------------
# the portal's webhook receiver


def event(event_id=None, kind="payment.paid", status="paid", payment_id="pay-0001"):
    return {"event": kind, "event_id": str(uuid.uuid4()) if event_id is None else event_id,
            "payment": {"payment_id": payment_id, "dossier_id": "000.00.12.H53-241122-0001", "amount_vnd": 150000,
                        "status": status}}


class WebhookTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.hook = h.WebhookReceiver()

    @classmethod
    def tearDownClass(cls):
        cls.hook.stop()

    def setUp(self):
        self.hook.reset()

    def test_a_signed_event_is_recorded_once_per_event_id(self):
        body = json.dumps(event("evt-1")).encode()
        self.assertEqual(self.hook.post(body).status, 204)
        self.assertEqual(self.hook.post(body).status, 204, "a retry of the same event is accepted again")
        e = self.hook.event("evt-1")
        self.assertEqual((e["event"], e["payment_id"], e["deliveries"], e["body_changed"]),
                         ("payment.paid", "pay-0001", 2, False))
        self.assertLessEqual(e["first_at"], e["last_at"])
        self.assertEqual(e["payment"]["status"], "paid")
        changed = json.dumps(event("evt-1", payment_id="pay-0002")).encode()
        self.assertEqual(self.hook.post(changed).status, 204)
        self.assertTrue(self.hook.event("evt-1")["body_changed"], "the same event_id must carry the same event")
        self.assertEqual(len(self.hook.events()["events"]), 1)

    def test_upper_case_hex_signature_is_accepted(self):
        body = json.dumps(event()).encode()
        sig = hmac.new(self.hook.secret.encode(), body, hashlib.sha256).hexdigest().upper()
        self.assertEqual(self.hook.post(body, signature="sha256=" + sig).status, 204)

    def test_bad_or_missing_signature_is_401_and_recorded_as_rejected(self):
        body = json.dumps(event("evt-bad")).encode()
        good = hmac.new(self.hook.secret.encode(), body, hashlib.sha256).hexdigest()
        wrong_key = hmac.new(b"other", body, hashlib.sha256).hexdigest()
        for sig in (False, "sha256=" + wrong_key, "sha1=" + good, good, "sha256=" + good[:-1],
                    "sha256=" + good[:-1] + "g"):
            with self.subTest(signature=sig):
                self.assertEqual(self.hook.post(body, signature=sig).status, 401)
        # Signed over other bytes than the ones sent.
        self.assertEqual(self.hook.post(body + b" ", signature="sha256=" + good).status, 401)
        ev = self.hook.events()
        self.assertEqual(ev["events"], [])
        self.assertEqual((ev["counts"]["rejected"], ev["counts"]["accepted"]), (7, 0))
        self.assertTrue(all(r["outcome"] == "rejected" and r["status"] == 401 for r in ev["requests"]))

    def test_malformed_events_are_refused(self):
        for body in (event(kind="payment.refunded"), event(status="failed"), {"event": "payment.paid"},
                     event(event_id="")):
            with self.subTest(body=body):
                self.assertEqual(self.hook.post(body).status, 400)
        self.assertEqual(self.hook.post(json.dumps(event()).encode(), headers={"Content-Type": "text/plain"}).status,
                         415)
        self.assertEqual(self.hook.events()["events"], [])

    def test_outage_with_a_status(self):
        self.hook.outage(status=503)
        r = self.hook.post(event("evt-503"))
        self.assertEqual(r.status, 503)
        self.assertIsNone(self.hook.event("evt-503"), "an answer other than 2xx records no event")
        ev = self.hook.events()
        self.assertEqual((ev["counts"]["outage"], ev["requests"][-1]["outcome"], ev["requests"][-1]["status"]),
                         (1, "outage", 503))
        self.hook.outage()
        self.assertEqual(self.hook.post(event("evt-503")).status, 204)
        self.assertEqual(self.hook.event("evt-503")["deliveries"], 1)

    def test_outage_for_the_next_requests_only(self):
        self.hook.outage(status=500, remaining=2)
        self.assertEqual([self.hook.post(event("evt-r")).status for _ in range(3)], [500, 500, 204])
        self.assertEqual(self.hook.control("GET", "/config").json, {"status": 0, "down": False, "remaining": -1})

    def test_down_closes_connections_without_an_answer(self):
        self.hook.outage(down=True)
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError, OSError)):
            self.hook.post(event("evt-down"))
        ev = self.hook.events()
        self.assertEqual((ev["counts"]["outage"], ev["requests"][-1]["outcome"]), (1, "down"))
        self.hook.outage()
        self.assertEqual(self.hook.post(event("evt-down")).status, 204)

    def test_config_is_checked(self):
        for body in ({"status": 200}, {"status": "503"}, {"down": 1}, {"remaining": -2}, {"mode": "down"}):
            with self.subTest(body=body):
                r = h.http_request(self.hook.control_port, "POST", "/control/webhook/config", body)
                self.assertEqual(r.status, 400)
        self.assertEqual(self.hook.post(event()).status, 204)


if __name__ == "__main__":
    unittest.main()
