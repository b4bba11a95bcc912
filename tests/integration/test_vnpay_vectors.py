"""Known-answer vectors for the payment ICD's signing rules (shared/icd/payment.md §1, §2, §4).

Each vector's hash data is written out by hand below, from the ICD's rules and the UTF-8 bytes of the text (so a
mistake in tests/integration/vnpay.py cannot also be in the expectation), and its expected signature is computed by
`openssl dgst -sha512 -hmac` over exactly those bytes. vnpay.py must produce the same hash data and signature.

Then the same rules are checked against the simulator (lienthong-sim --system payment), which has its own
implementation in C: it accepts a pay URL that vnpay.py signed, with Vietnamese text and ~ * / : ? in it, refuses
the same URL with one character changed, and its IPNs and querydr answers verify under vnpay.py.
"""

import hashlib
import hmac
import subprocess
import unittest
import urllib.parse
import uuid

import harness as h
import vnpay

KEY = "VECTORKEY0123456789abcdefABCDEF"

# 1. A pay URL like the ICD's example, plain ASCII. Note ':' '/' '?' '=' in the return URL.
PAY_PARAMS = {
    "vnp_Version": "2.1.0", "vnp_Command": "pay", "vnp_TmnCode": "LTDEV001", "vnp_Amount": "15000000",
    "vnp_CurrCode": "VND", "vnp_TxnRef": "LT241122000001",
    "vnp_OrderInfo": "Thanh toan le phi ho so 000.00.12.H53-241122-0001", "vnp_OrderType": "billpayment",
    "vnp_Locale": "vn", "vnp_ReturnUrl": "https://cong.example.gov.vn/payments/return?lang=vi",
    "vnp_IpAddr": "203.0.113.10", "vnp_CreateDate": "20241122103000", "vnp_ExpireDate": "20241122104500",
}
PAY_HASH_DATA = (
    "vnp_Amount=15000000&vnp_Command=pay&vnp_CreateDate=20241122103000&vnp_CurrCode=VND"
    "&vnp_ExpireDate=20241122104500&vnp_IpAddr=203.0.113.10&vnp_Locale=vn"
    "&vnp_OrderInfo=Thanh+toan+le+phi+ho+so+000.00.12.H53-241122-0001&vnp_OrderType=billpayment"
    "&vnp_ReturnUrl=https%3A%2F%2Fcong.example.gov.vn%2Fpayments%2Freturn%3Flang%3Dvi"
    "&vnp_TmnCode=LTDEV001&vnp_TxnRef=LT241122000001&vnp_Version=2.1.0"
)

# 2. Vietnamese with diacritics (NFC, written as code points so the source's normalisation cannot matter),
#    ~ * / : ?, an IPv6 address, byte-order sorting ("vnp_TxnRef" < "vnp_Txn_Note" because 'R' < '_', though
#    'r' > '_'; "vnp_BankCode" < "vnp_Bill_..."; "vnp_Inv_..." < "vnp_IpAddr"), and what is left out: an empty
#    value, vnp_SecureHashType, vnp_SecureHash, and a parameter not starting with vnp_.
RICH_PARAMS = {
    "vnp_TxnRef": "HS-2024_001",
    "vnp_Txn_Note": "x",
    "vnp_OrderInfo": "Thanh to\u00e1n l\u1ec7 ph\u00ed h\u1ed3 s\u01a1",      # Thanh toán lệ phí hồ sơ
    "vnp_Bill_FirstName": "Nguy\u1ec5n V\u0103n An",                          # Nguyễn Văn An
    "vnp_BankCode": "NCB",
    "vnp_Inv_Company": "\u0110\u0103ng k\u00fd ~*/:?",                         # Đăng ký ~*/:?
    "vnp_IpAddr": "2001:db8::1",
    "vnp_ReturnUrl": "https://c\u1ed5ng.vn/tr\u1ea3 v\u1ec1?a=1&b=~x*y",      # https://cổng.vn/trả về?a=1&b=~x*y
    "vnp_Locale": "",
    "vnp_SecureHashType": "HmacSHA512",
    "vnp_SecureHash": "ffff",
    "lang": "vi",
}
RICH_HASH_DATA = (
    "vnp_BankCode=NCB"
    "&vnp_Bill_FirstName=Nguy%E1%BB%85n+V%C4%83n+An"
    "&vnp_Inv_Company=%C4%90%C4%83ng+k%C3%BD+%7E%2A%2F%3A%3F"
    "&vnp_IpAddr=2001%3Adb8%3A%3A1"
    "&vnp_OrderInfo=Thanh+to%C3%A1n+l%E1%BB%87+ph%C3%AD+h%E1%BB%93+s%C6%A1"
    "&vnp_ReturnUrl=https%3A%2F%2Fc%E1%BB%95ng.vn%2Ftr%E1%BA%A3+v%E1%BB%81%3Fa%3D1%26b%3D%7Ex%2Ay"
    "&vnp_TxnRef=HS-2024_001"
    "&vnp_Txn_Note=x"
)

# 3. Every printable ASCII character that is not kept as it is.
ASCII_SPECIALS = " !\"#$%&'()*+,/:;<=>?@[\\]^`{|}~-_."
ASCII_SPECIALS_ENCODED = "+%21%22%23%24%25%26%27%28%29%2A%2B%2C%2F%3A%3B%3C%3D%3E%3F%40%5B%5C%5D%5E%60%7B%7C%7D%7E-_."

# 4. An IPN of a cancelled payment: no bank transaction, so vnp_BankTranNo is empty and left out.
IPN_PARAMS = {
    "vnp_Amount": "15000000", "vnp_BankCode": "NCB", "vnp_BankTranNo": "", "vnp_CardType": "ATM",
    "vnp_OrderInfo": "Thanh toan le phi ho so 000.00.12.H53-241122-0001", "vnp_PayDate": "20241122103000",
    "vnp_ResponseCode": "24", "vnp_TmnCode": "LTDEV001", "vnp_TransactionNo": "14123456",
    "vnp_TransactionStatus": "02", "vnp_TxnRef": "LT241122000001",
}
IPN_HASH_DATA = (
    "vnp_Amount=15000000&vnp_BankCode=NCB&vnp_CardType=ATM"
    "&vnp_OrderInfo=Thanh+toan+le+phi+ho+so+000.00.12.H53-241122-0001&vnp_PayDate=20241122103000"
    "&vnp_ResponseCode=24&vnp_TmnCode=LTDEV001&vnp_TransactionNo=14123456&vnp_TransactionStatus=02"
    "&vnp_TxnRef=LT241122000001"
)

# 5. querydr: the values joined with '|' in the ICD's order, raw (no URL encoding), empty ones kept.
QDR_REQUEST = {
    "vnp_RequestId": "a1b2c3d4e5f60718293a4b5c6d7e8f90", "vnp_Version": "2.1.0", "vnp_Command": "querydr",
    "vnp_TmnCode": "LTDEV001", "vnp_TxnRef": "LT241122000001", "vnp_OrderInfo": "Truy van giao dich LT241122000001",
    "vnp_TransactionDate": "20241122103000", "vnp_CreateDate": "20241122120000", "vnp_IpAddr": "10.0.0.5",
}
QDR_REQUEST_DATA = ("a1b2c3d4e5f60718293a4b5c6d7e8f90|2.1.0|querydr|LTDEV001|LT241122000001|20241122103000"
                    "|20241122120000|10.0.0.5|Truy van giao dich LT241122000001")
QDR_RESPONSE = {
    "vnp_ResponseId": "0123456789abcdef0123456789abcdef", "vnp_Command": "querydr", "vnp_ResponseCode": "00",
    "vnp_Message": "Giao d\u1ecbch th\u00e0nh c\u00f4ng",  # Giao dịch thành công
    "vnp_TmnCode": "LTDEV001", "vnp_TxnRef": "LT241122000001", "vnp_Amount": "15000000", "vnp_BankCode": "NCB",
    "vnp_PayDate": "20241122103000", "vnp_TransactionNo": "14123456", "vnp_TransactionType": "01",
    "vnp_TransactionStatus": "00", "vnp_OrderInfo": "Thanh toan le phi ho so 000.00.12.H53-241122-0001",
    "vnp_PromotionCode": "", "vnp_PromotionAmount": "",
}
QDR_RESPONSE_DATA = ("0123456789abcdef0123456789abcdef|querydr|00|Giao d\u1ecbch th\u00e0nh c\u00f4ng|LTDEV001"
                     "|LT241122000001|15000000|NCB|20241122103000|14123456|01|00"
                     "|Thanh toan le phi ho so 000.00.12.H53-241122-0001||")


def openssl_hmac_sha512(key, data):
    """Lower-case hex HMAC-SHA512 by the openssl command line, over data's UTF-8 bytes."""
    r = subprocess.run(["openssl", "dgst", "-sha512", "-hmac", key], input=data.encode("utf-8"),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30, check=True)
    digest = r.stdout.decode().strip().rsplit("= ", 1)[-1]
    assert len(digest) == 128, r.stdout
    return digest


class EncodingVectors(unittest.TestCase):
    def test_encode_keeps_only_the_unreserved_bytes(self):
        self.assertEqual(vnpay.encode(ASCII_SPECIALS), ASCII_SPECIALS_ENCODED)
        self.assertEqual(vnpay.encode("AZaz09"), "AZaz09")
        # urllib's quote keeps '~' (RFC 3986); the ICD does not.
        self.assertEqual(urllib.parse.quote_plus("~"), "~")
        self.assertEqual(vnpay.encode("~"), "%7E")

    def test_encode_vietnamese_as_utf8_bytes(self):
        self.assertEqual(vnpay.encode("Nguy\u1ec5n V\u0103n An"), "Nguy%E1%BB%85n+V%C4%83n+An")
        # A decomposed (NFD) name is other bytes, so another signature: the text is signed as it is sent.
        self.assertEqual(vnpay.encode("e\u0302\u0303"), "e%CC%82%CC%83")


class SignatureVectors(unittest.TestCase):
    def check(self, params, hand_written):
        self.assertEqual(vnpay.hash_data(params), hand_written)
        expected = openssl_hmac_sha512(KEY, hand_written)
        self.assertEqual(vnpay.sign(params, KEY), expected)
        self.assertEqual(vnpay.signed_query(params, KEY), hand_written + "&vnp_SecureHash=" + expected)
        self.assertTrue(vnpay.verify(dict(params, vnp_SecureHash=expected), KEY))
        self.assertTrue(vnpay.verify(dict(params, vnp_SecureHash=expected.upper()), KEY), "case must not matter")
        return expected

    def test_pay_url_like_the_icd_example(self):
        self.check(PAY_PARAMS, PAY_HASH_DATA)

    def test_vietnamese_specials_sorting_and_exclusions(self):
        self.check(RICH_PARAMS, RICH_HASH_DATA)

    def test_cancelled_ipn_leaves_out_the_empty_bank_transaction(self):
        expected = self.check(IPN_PARAMS, IPN_HASH_DATA)
        self.assertFalse(vnpay.verify(dict(IPN_PARAMS, vnp_SecureHash=expected, vnp_Amount="15000100"), KEY))
        self.assertFalse(vnpay.verify(dict(IPN_PARAMS, vnp_SecureHash=expected), KEY + "x"))

    def test_a_received_query_verifies_after_decoding(self):
        query = vnpay.signed_query(RICH_PARAMS, KEY) + "&lang=vi"
        received = vnpay.parse_query(query)
        self.assertEqual(received["vnp_OrderInfo"], RICH_PARAMS["vnp_OrderInfo"])
        self.assertTrue(vnpay.verify(received, KEY))

    def test_querydr_request_hash(self):
        self.assertEqual(vnpay.querydr_request_hash(QDR_REQUEST, KEY), openssl_hmac_sha512(KEY, QDR_REQUEST_DATA))

    def test_querydr_response_hash_keeps_empty_fields(self):
        expected = openssl_hmac_sha512(KEY, QDR_RESPONSE_DATA)
        self.assertEqual(vnpay.querydr_response_hash(QDR_RESPONSE, KEY), expected)
        self.assertTrue(vnpay.querydr_response_valid(dict(QDR_RESPONSE, vnp_SecureHash=expected), KEY))
        self.assertFalse(vnpay.querydr_response_valid(dict(QDR_RESPONSE, vnp_SecureHash=expected,
                                                           vnp_TransactionStatus="02"), KEY))


SIM = None
IPN = None


def setUpModule():
    global SIM, IPN
    IPN = h.IpnEndpoint()
    SIM = h.PaymentSim(ipn_urls=[IPN.url])


def tearDownModule():
    if SIM is not None:
        SIM.stop()
    if IPN is not None:
        IPN.stop()


def rich_pay_params(txn_ref):
    """A pay URL whose signed text has diacritics and ~ * / : ? in it (in the extra vnp_ parameters and the return
    URL: vnp_OrderInfo itself must be without diacritics)."""
    return vnpay.pay_params(SIM.tmn_code, txn_ref, 150000, "Thanh toan le phi ho so 000.00.12.H53-241122-0001",
                            "https://c\u1ed5ng.vn/tr\u1ea3-v\u1ec1?a=1&b=~x*y:z/",
                            vnp_Bill_FirstName="Nguy\u1ec5n V\u0103n An",
                            vnp_Inv_Company="\u0110\u0103ng k\u00fd ~*/:?")


class SimulatorAgrees(unittest.TestCase):
    def test_accepts_a_url_signed_by_vnpay_py(self):
        ref = "VEC" + uuid.uuid4().hex[:12]
        r = SIM.open_pay_url(vnpay.pay_url(SIM.base_url, rich_pay_params(ref), SIM.secret))
        self.assertEqual(r.status, 200, r.body[:600])
        self.assertEqual(SIM.transaction(ref)["state"], "pending")

    def test_refuses_the_same_url_with_one_character_changed(self):
        ref = "VEC" + uuid.uuid4().hex[:12]
        url = vnpay.pay_url(SIM.base_url, rich_pay_params(ref), SIM.secret)
        tampered = url.replace("%7E%2A%2F%3A%3F", "%7E%2A%2F%3A%21")  # '?' -> '!' in vnp_Inv_Company
        self.assertNotEqual(tampered, url)
        r = SIM.open_pay_url(tampered)
        self.assertEqual((r.status, r.header("X-Sim-Error")), (403, "invalid_signature"))
        self.assertEqual(h.http_request(SIM.control_port, "GET", "/control/payment/transactions?txn_ref=" + ref).status,
                         404, "a refused URL records nothing")

    def test_refuses_a_signature_over_urllib_encoding(self):
        # The classic mistake: hash data built with urllib, which leaves '~' (and, with quote, '/') alone.
        ref = "VEC" + uuid.uuid4().hex[:12]
        params = rich_pay_params(ref)
        wrong_data = "&".join("%s=%s" % (k, urllib.parse.quote_plus(v, safe="~"))
                              for k, v in sorted(params.items()))
        wrong = hmac.new(SIM.secret.encode(), wrong_data.encode(), hashlib.sha512).hexdigest()
        url = "/paymentv2/vpcpay.html?%s&vnp_SecureHash=%s" % (vnpay.hash_data(params), wrong)
        r = SIM.open_pay_url(url)
        self.assertEqual((r.status, r.header("X-Sim-Error")), (403, "invalid_signature"))

    def test_ipn_and_browser_return_verify_under_vnpay_py(self):
        ref = "VEC" + uuid.uuid4().hex[:12]
        params = rich_pay_params(ref)
        self.assertEqual(SIM.open_pay_url(vnpay.pay_url(SIM.base_url, params, SIM.secret)).status, 200)
        before = len(IPN.received())
        r = SIM.pay_in_browser(ref)
        self.assertEqual(r.status, 302)
        ret = vnpay.parse_query(urllib.parse.urlsplit(r.header("Location")).query)
        self.assertTrue(vnpay.verify(ret, SIM.secret))
        ipn = IPN.wait_requests(before + 1)[before]["params"]
        self.assertTrue(vnpay.verify(ipn, SIM.secret), ipn)
        self.assertEqual(ipn, {k: v for k, v in ret.items() if k.startswith("vnp_")},
                         "the browser return carries the IPN's parameters")
        self.assertEqual(sorted(k for k in ipn if k != "vnp_SecureHash"), sorted(vnpay.IPN_FIELDS))
        self.assertFalse(vnpay.verify(dict(ipn, vnp_Amount="15000100"), SIM.secret))

    def test_querydr_answer_verifies_under_vnpay_py(self):
        ref = "VEC" + uuid.uuid4().hex[:12]
        params = rich_pay_params(ref)
        self.assertEqual(SIM.open_pay_url(vnpay.pay_url(SIM.base_url, params, SIM.secret)).status, 200)
        body = vnpay.querydr_request(SIM.secret, SIM.tmn_code, ref, params["vnp_CreateDate"], uuid.uuid4().hex)
        r = SIM.querydr(body)
        self.assertEqual(r.json["vnp_ResponseCode"], "00", r.json)
        self.assertEqual(r.json["vnp_TransactionStatus"], "01")
        self.assertTrue(vnpay.querydr_response_valid(r.json, SIM.secret), r.json)


if __name__ == "__main__":
    unittest.main()
