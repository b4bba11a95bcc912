"""A fee payment that reaches a final state is listed in its dossier's fees (northbound.md, "Dossier
synchronisation": "so the portal's online-payment indicator counts it"), black box: one gateway with both the
payments and the dossiers sections, the national public-service portal simulator, and IPNs signed by hand from
the payment ICD (payenv.ipn_query).

The portal keeps the last DongBoHoSoMC of each dossier and counts how many it received (its control API); that is
what is counted here, never how long anything took. Where a test must show that something did NOT happen, a later
record the one-stop system hands over is the barrier: once the portal holds it, everything before it was sent.

The crash tests keep the report from completing on purpose: the dossier store is a Redis the test pauses
(SIGSTOP), so the gateway is SIGKILLed after the IPN's 00 and before its dossier kept the payment.
"""

import http.client
import json
import os
import signal
import ssl
import unittest

import harness as h
from dosenv import PortalSim, dossier_id, dossiers_overrides, journal_store as dos_journal, redis_store as dos_redis
from dosenv import snapshot, WHO
from payenv import ipn_query, journal_store as pay_journal, payments_overrides, redis_store as pay_redis

ONLINE_PAYMENT_CODE = "3"  # what this province's configuration says paid online means (the ICD has no table)
FEE_CODE = "LPTT"          # dossiers.payment_fees.code: MaPhiLePhi of the gateway's entries
FEE_TYPE = "1"             # dossiers.payment_fees.type_code: LoaiPhiLePhi


class FeeGateway(h.Gateway):
    """Payments (webhook off, reconciliation idle) and dossiers in one gateway."""

    def __init__(self, portal, pay_store, dos_store, start=True):
        self.cb_port = h.free_port()
        over = payments_overrides(self.cb_port, "https://127.0.0.1:1", None, pay_store,
                                  extra={"reconcile": {"interval_s": 86400}})
        over["payments"]["webhook"].pop("url")
        dos = dossiers_overrides(portal, dos_store, indicators={"online_payment_codes": [ONLINE_PAYMENT_CODE]})
        dos["dossiers"]["payment_fees"] = {"code": FEE_CODE, "type_code": FEE_TYPE}
        super().__init__(overrides=h.deep_merge(over, dos), start=start)

    def put(self, did, body):
        return self.request("PUT", "/v1/dossiers/" + did, body=body, headers=dict(WHO))

    def sync(self, did):
        return self.request("GET", "/v1/dossiers/%s/sync" % did).json

    def create_payment(self, did, amount, description):
        r = self.request("POST", "/v1/payments", body={
            "dossier_id": did, "amount_vnd": amount, "description": description,
            "return_url": "https://portal.example.vn/ho-so/ket-qua", "client_ip": "203.0.113.7"})
        assert r.status == 201, r.body
        return r.json["payment_id"]

    def ipn(self, query):
        """The payment gateway's IPN (ICD §2) on the callbacks listener: its RspCode."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(h.pki_path("province-ca.crt"))
        conn = http.client.HTTPSConnection(h.HOST, self.cb_port, context=ctx, timeout=10)
        try:
            conn.request("GET", "/payments/vnpay/ipn?" + query)
            return json.loads(conn.getresponse().read())["RspCode"]
        finally:
            conn.close()

    def pay(self, payment_id, amount, response_code="00"):
        return self.ipn(ipn_query(payment_id, amount * 100, response_code=response_code))

    def reports_owed(self):
        return self.admin("GET", "/status.json").json["payments"]["dossier_reports_owed"]

    def indicators(self):
        return self.admin("GET", "/status.json").json["dossiers"]["indicators"]["total"]


def the_gateways_entry(amount, name):
    """The portal's form of a fee the gateway collected, as the ICD writes DanhSachLePhi: Gia is text."""
    return {"TenPhiLePhi": name, "MaPhiLePhi": FEE_CODE, "HinhThucThu": ONLINE_PAYMENT_CODE, "Gia": str(amount),
            "LoaiPhiLePhi": FEE_TYPE}


# The one-stop system's own fee in dosenv.snapshot(), in the portal's form: it stays first.
OWN_FEE = {"TenPhiLePhi": "Lệ phí khai sinh", "MaPhiLePhi": "LP01", "Gia": "150000"}


class FeeCase:
    def make_stores(self):
        return pay_journal(), dos_journal()

    def setUp(self):
        self.redises = []
        self.portal = PortalSim()
        self.pay_store, self.dos_store = self.make_stores()
        self.gw = FeeGateway(self.portal, self.pay_store, self.dos_store)

    def tearDown(self):
        self.gw.kill()
        self.portal.kill()
        for r in self.redises:
            r.kill()

    def held(self, did):
        return self.portal.dossier(did)

    def wait_received(self, did, n, what):
        return h.wait_for(lambda: (self.held(did) or {}).get("received", 0) >= n and self.held(did), timeout=60,
                          interval=0.1, what=what)

    def put_and_wait(self, did, version, **extra):
        r = self.gw.put(did, snapshot(version, **extra))
        self.assertEqual(r.status, 202, r.body)
        return h.wait_for(lambda: (self.held(did) or {}).get("record") is not None and
                          self.held(did)["record"].get("GhiChu") == "phiên bản %d" % version and self.held(did),
                          timeout=60, what="version %d at the portal" % version)


class PaidFeeTest(FeeCase, unittest.TestCase):
    def test_a_paid_payment_reaches_the_portal_in_its_dossiers_fees_once(self):
        did = dossier_id(9001)
        first = self.put_and_wait(did, 1)
        self.assertEqual(first["received"], 1)
        self.assertEqual(first["record"]["DanhSachLePhi"], [OWN_FEE])

        pid = self.gw.create_payment(did, 75000, "Lệ phí cấp bản sao trích lục")
        self.assertEqual(self.gw.pay(pid, 75000), "00")
        held = self.wait_received(did, 2, "the dossier sent again with the paid fee")
        self.assertEqual(held["record"]["DanhSachLePhi"],
                         [OWN_FEE, the_gateways_entry(75000, "Lệ phí cấp bản sao trích lục")],
                         "the one-stop system's fees, then the one the gateway collected")
        self.assertEqual(held["record"]["GhiChu"], "phiên bản 1", "the same version, with its fee list longer")
        h.wait_for(lambda: self.gw.reports_owed() == 0, what="the payment's dossier report made")
        h.wait_for(lambda: self.gw.sync(did)["in_sync"], what="the portal holding the dossier with its fee")
        self.assertEqual(self.held(did)["received"], 2, "nothing left to send: exactly one more DongBoHoSoMC")

        # A repeated IPN is 02 and changes nothing; a later version is the barrier: once the portal holds it,
        # anything the repeat could have caused was sent before it.
        self.assertEqual(self.gw.pay(pid, 75000), "02")
        held = self.put_and_wait(did, 2)
        self.assertEqual(held["received"], 3, "exactly one send for the fee, then one for version 2")
        self.assertEqual(held["record"]["DanhSachLePhi"],
                         [OWN_FEE, the_gateways_entry(75000, "Lệ phí cấp bản sao trích lục")],
                         "a newer version keeps the gateway's fee, once")

        total = self.gw.indicators()
        self.assertEqual((total["with_fees"], total["paid_online"]), (1, 1),
                         "the gateway's fee carries the configured online payment code")

    def test_a_failed_payment_adds_no_fee(self):
        did = dossier_id(9002)
        self.put_and_wait(did, 1, fees=None)
        failed = self.gw.create_payment(did, 50000, "Lệ phí lần một")
        self.assertEqual(self.gw.pay(failed, 50000, response_code="24"), "00")
        paid = self.gw.create_payment(did, 60000, "Lệ phí lần hai")
        self.assertEqual(self.gw.pay(paid, 60000), "00")
        # The paid one, settled after the failed one, is the barrier.
        held = self.wait_received(did, 2, "the dossier sent again with the paid fee")
        self.assertEqual(held["record"]["DanhSachLePhi"], [the_gateways_entry(60000, "Lệ phí lần hai")],
                         "only the paid payment is a fee collected")
        self.assertEqual(held["received"], 2, "nothing was sent for the failed payment")

    def test_a_fee_paid_before_the_first_snapshot_goes_with_it(self):
        did = dossier_id(9003)
        pid = self.gw.create_payment(did, 30000, "Lệ phí trước hồ sơ")
        self.assertEqual(self.gw.pay(pid, 30000), "00")
        h.wait_for(lambda: self.gw.request("GET", "/v1/dossiers/%s/sync" % did).status == 200,
                   what="the fee kept for a dossier not handed over yet")
        self.assertIsNone(self.held(did), "nothing goes to the portal before the dossier's first snapshot")
        held = self.put_and_wait(did, 1)
        self.assertEqual(held["received"], 1)
        self.assertEqual(held["record"]["DanhSachLePhi"], [OWN_FEE, the_gateways_entry(30000, "Lệ phí trước hồ sơ")])


class CrashCase(FeeCase):
    """The dossier store is a Redis the test stops (SIGSTOP): the report cannot complete before the SIGKILL."""

    def pay_store_for(self):
        return pay_journal()

    def make_stores(self):
        self.dos_redis = h.RedisServer()
        self.redises.append(self.dos_redis)
        return self.pay_store_for(), dos_redis(self.dos_redis)

    def test_sigkill_after_the_ipns_00_and_before_the_report(self):
        did = dossier_id(9100)
        self.put_and_wait(did, 1)
        pid = self.gw.create_payment(did, 120000, "Lệ phí thẩm định")

        self.dos_redis.pause()
        self.assertEqual(self.gw.pay(pid, 120000), "00", "the payment's outcome is durable in its own store")
        self.gw.proc.send_signal(signal.SIGKILL)
        self.gw.proc.wait()
        self.dos_redis.resume()
        self.assertEqual(self.held(did)["received"], 1, "the dossier store never had the fee before the kill")

        self.gw.start(keep_ports=True)
        held = self.wait_received(did, 2, "the fee reported after the restart")
        self.assertEqual(held["record"]["DanhSachLePhi"], [OWN_FEE, the_gateways_entry(120000, "Lệ phí thẩm định")])
        # A restart hands every unreported payment over again; the barrier shows this one went once.
        self.gw.kill()
        self.gw.start(keep_ports=True)
        held = self.put_and_wait(did, 2)
        self.assertEqual(held["received"], 3)
        self.assertEqual(held["record"]["DanhSachLePhi"], [OWN_FEE, the_gateways_entry(120000, "Lệ phí thẩm định")])


class JournalPaymentsCrashTest(CrashCase, unittest.TestCase):
    pass


class RedisPaymentsCrashTest(CrashCase, unittest.TestCase):
    def pay_store_for(self):
        self.pay_redis = h.RedisServer()
        self.redises.append(self.pay_redis)
        return pay_redis(self.pay_redis)


class RedisDossiersFeeTest(PaidFeeTest):
    """The same with the dossier store in Redis (its fee list and revision are the scripts')."""

    def make_stores(self):
        self.dos_redis = h.RedisServer()
        self.redises.append(self.dos_redis)
        return pay_journal(), dos_redis(self.dos_redis)


class PaymentFeesConfigTest(unittest.TestCase):
    """A bad payment_fees section is refused by --check-config with the key named; a good one passes."""

    def check(self, payment_fees):
        d = h.make_tmpdir("lt-fees-conf-")
        over = dossiers_overrides(None, dos_journal(os.path.join(d, "dossiers")))
        over["dossiers"]["payment_fees"] = payment_fees
        path = os.path.join(d, "gateway.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(h.gateway_config(h.free_port(), h.free_port(), overrides=over), f)
        return h.run_gateway(["--check-config", "--config", path])

    def test_the_section_is_checked(self):
        rc, out = self.check({"collection_method_code": "3", "code": "LP.TT/01", "type_code": "1"})
        self.assertEqual(rc, 0, out)
        self.assertEqual(self.check({})[0], 0, "every key is optional")
        for bad, needle in (({"collection_method_code": "x"}, "dossiers.payment_fees.collection_method_code"),
                            ({"collection_method_code": 3}, "dossiers.payment_fees.collection_method_code"),
                            ({"type_code": "12345"}, "dossiers.payment_fees.type_code"),
                            ({"code": "lệ phí"}, "dossiers.payment_fees.code"),
                            ({"code": ""}, "dossiers.payment_fees.code"),
                            ({"name": "Lệ phí"}, "dossiers.payment_fees.name")):
            with self.subTest(bad=bad):
                rc, out = self.check(bad)
                self.assertNotEqual(rc, 0, out)
                self.assertIn(needle, out)


if __name__ == "__main__":
    unittest.main()
