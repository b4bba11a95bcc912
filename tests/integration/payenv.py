"""Payments test environment: a gateway with a payments section, the payment
simulator and the portal's webhook receiver, plus hand-made IPNs signed with
tests/integration/vnpay.py (written from the ICD, not from the gateway).

Used by test_payments.py and test_payments_crash.py.
"""

import http.client
import json
import os
import ssl
import urllib.parse

import harness
from harness import HOST, Gateway, Sim, free_port, http_request, https_request, make_tmpdir, pki_path
import vnpay

TMN_CODE = "LTDEV001"
RETURN_HOST = "portal.example.vn"  # on the portal's return_url_hosts


def hash_secret():
    with open(pki_path("payment-hash.secret"), "rb") as f:
        return f.read().strip()


def webhook_secret():
    with open(pki_path("webhook.secret"), "rb") as f:
        return f.read().strip()


def payments_overrides(cb_port, pay_url, webhook_url, store, extra=None):
    """The config sections that turn payments on, for harness.Gateway(overrides=...)."""
    payments = {
        "base_url": pay_url,
        "ca": pki_path("national-ca.crt"),
        "tmn_code": TMN_CODE,
        "hash_secret_file": pki_path("payment-hash.secret"),
        "public_url": "https://%s:%d" % (HOST, cb_port),
        "min_expires_in_s": 1,
        "store": store,
        "webhook": {
            "url": webhook_url,
            "secret_file": pki_path("webhook.secret"),
            "ca": pki_path("province-ca.crt"),  # the portal's receiver is a province system
            "base_delay_ms": 100,
            "max_delay_ms": 400,
            "max_attempts": 4,
            "poll_ms": 50,
            "timeout_ms": 2000,
        },
        "reconcile": {"interval_s": 1, "ipn_grace_s": 0},
    }
    # The district office may take payments here too, so that ownership (not permission) is what keeps it from
    # the portal's payments. It lists no return_url_hosts, so it cannot create one; the portal's payments return
    # to RETURN_HOST (harness.dev_clients()).
    clients = harness.dev_clients()
    clients["district-office"]["allow"] = clients["district-office"]["allow"] + ["payments"]
    return {
        "listeners": {"callbacks": {"bind": "%s:%d" % (HOST, cb_port), "cert": pki_path("gateway.crt"),
                                    "key": pki_path("gateway.key")}},
        "clients": clients,
        # Payments seal the citizen's address and return URL with the cache's key files, whatever the backend.
        "cache": {"keys": harness.cache_keys()},
        "payments": harness.deep_merge(payments, extra or {}),
    }


def journal_store(directory=None):
    return {"backend": "journal", "journal_dir": directory or os.path.join(make_tmpdir("lt-journal-"), "payments")}


def redis_store(redis, prefix="lt:pay:"):
    return {"backend": "redis", "redis": {"address": redis.address, "prefix": prefix}}


class PayGateway(Gateway):
    """A gateway with payments on, its callbacks listener on a port that survives restarts."""

    def __init__(self, pay_sim, webhook, store, extra=None, start=True):
        self.cb_port = free_port()
        webhook_url = webhook.base_url + "/webhook" if webhook is not None else None
        over = payments_overrides(self.cb_port, pay_sim.base_url if pay_sim else "https://127.0.0.1:1", webhook_url,
                                  store, extra)
        if webhook is None:
            over["payments"]["webhook"].pop("url")
        super().__init__(overrides=over, start=start)

    # api
    def create(self, body=None, key=None, **fields):
        payment = {"dossier_id": "000.00.12.H53-241122-0001", "amount_vnd": 150000,
                   "description": "Thanh toán lệ phí hồ sơ 000.00.12.H53-241122-0001",
                   "return_url": "https://%s/ho-so/ket-qua" % RETURN_HOST, "client_ip": "203.0.113.7"}
        payment.update(fields)
        headers = {"Idempotency-Key": key} if key else {}
        return self.request("POST", "/v1/payments", body=body if body is not None else payment, headers=headers)

    def payment(self, payment_id):
        return self.request("GET", "/v1/payments/" + payment_id)

    # callbacks
    def callback(self, path, query, timeout=10):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(pki_path("province-ca.crt"))
        conn = http.client.HTTPSConnection(HOST, self.cb_port, context=ctx, timeout=timeout)
        try:
            conn.request("GET", path + "?" + query)
            r = conn.getresponse()
            return harness.Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        finally:
            conn.close()

    def ipn(self, query, **kw):
        return self.callback("/payments/vnpay/ipn", query, **kw)

    def browser_return(self, query):
        return self.callback("/payments/vnpay/return", query)

    def outbox(self, state="all"):
        r = self.admin("GET", "/payments/outbox?state=" + state)
        assert r.status == 200, r.body
        return r.json["events"]


def ipn_query(payment_id, amount_x100, response_code="00", transaction_status=None, secret=None,
              transaction_no="14123456", bank_code="NCB", tamper=None, tmn_code=TMN_CODE):
    """A signed IPN query string as the payment gateway sends it (ICD §2); tmn_code=None leaves vnp_TmnCode out."""
    if transaction_status is None:
        transaction_status = "00" if response_code == "00" else "02"
    params = {
        "vnp_Amount": str(amount_x100), "vnp_BankCode": bank_code, "vnp_BankTranNo": "VNP" + transaction_no,
        "vnp_CardType": "ATM", "vnp_OrderInfo": "Thanh toan le phi", "vnp_PayDate": "20261123103000",
        "vnp_ResponseCode": response_code, "vnp_TmnCode": tmn_code, "vnp_TransactionNo": transaction_no,
        "vnp_TransactionStatus": transaction_status, "vnp_TxnRef": payment_id,
    }
    query = vnpay.signed_query(params, secret if secret is not None else hash_secret())
    if tamper:
        query = tamper(query)
    return query


def pay_url_params(pay_url):
    """The decoded parameters of a pay URL, as the payment gateway reads them."""
    query = urllib.parse.urlsplit(pay_url).query
    return dict(urllib.parse.parse_qsl(query, keep_blank_values=True, strict_parsing=True))


def webhook_events(webhook):
    return webhook.control("GET", "/events").json
