"""The payment ICD's signing rules (shared/icd/payment.md), written from the ICD alone.

An independent implementation for the tests: the simulator (tests/sim/sim_vnp.c) and the gateway each have their
own, and this one checks both. Python 3 standard library only.

Query-string data (pay URL, IPN, browser return), ICD §1 "Signature":
  1. every parameter whose name starts with vnp_ and whose value is not empty, except vnp_SecureHash and
     vnp_SecureHashType;
  2. sorted by name in ascending byte order;
  3. names and values encoded with A-Z a-z 0-9 - _ . unchanged, a space as '+', every other byte of the UTF-8
     text as %XX in upper case (so '~', which urllib.parse.quote leaves alone, becomes %7E here);
  4. joined as name=value with '&': the hash data, which is also the query string sent;
  5. vnp_SecureHash = lower-case hex HMAC-SHA512(secret, hash data), compared without regard to case.

querydr (ICD §4): the request and response hashes are HMAC-SHA512 over the listed fields' values joined with '|'.

    >>> encode("Thanh toan ~ 1/2")
    'Thanh+toan+%7E+1%2F2'
"""

import datetime
import hashlib
import hmac
import urllib.parse

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")

# querydr fields in the order their values are signed (ICD §4).
QUERYDR_REQUEST_FIELDS = (
    "vnp_RequestId", "vnp_Version", "vnp_Command", "vnp_TmnCode", "vnp_TxnRef", "vnp_TransactionDate",
    "vnp_CreateDate", "vnp_IpAddr", "vnp_OrderInfo",
)
QUERYDR_RESPONSE_FIELDS = (
    "vnp_ResponseId", "vnp_Command", "vnp_ResponseCode", "vnp_Message", "vnp_TmnCode", "vnp_TxnRef", "vnp_Amount",
    "vnp_BankCode", "vnp_PayDate", "vnp_TransactionNo", "vnp_TransactionType", "vnp_TransactionStatus",
    "vnp_OrderInfo", "vnp_PromotionCode", "vnp_PromotionAmount",
)

# The parameters of an IPN and of the browser return (ICD §2), besides vnp_SecureHash.
IPN_FIELDS = (
    "vnp_Amount", "vnp_BankCode", "vnp_BankTranNo", "vnp_CardType", "vnp_OrderInfo", "vnp_PayDate",
    "vnp_ResponseCode", "vnp_TmnCode", "vnp_TransactionNo", "vnp_TransactionStatus", "vnp_TxnRef",
)

# RspCodes a merchant answers an IPN with (ICD §2); the gateway stops re-sending after any of the first five.
IPN_FINAL_RSP_CODES = ("00", "01", "02", "04", "97")
IPN_MESSAGES = {"00": "Confirm Success", "01": "Order not found", "02": "Order already confirmed",
                "04": "Invalid amount", "97": "Invalid signature", "99": "Unknown error"}

VN_TZ = datetime.timezone(datetime.timedelta(hours=7))


def _text(value):
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")


def encode(s):
    """The ICD's encoding of one name or value (str, int or bytes)."""
    out = []
    for b in _text(s):
        if b in _UNRESERVED:
            out.append(chr(b))
        elif b == 0x20:
            out.append("+")
        else:
            out.append("%%%02X" % b)
    return "".join(out)


def _signed_items(params):
    items = []
    for name, value in params.items():
        if not name.startswith("vnp_") or name in ("vnp_SecureHash", "vnp_SecureHashType"):
            continue
        if value is None or _text(value) == b"":
            continue
        items.append((name, value))
    items.sort(key=lambda kv: kv[0].encode("utf-8"))
    return items


def hash_data(params):
    """The hash data of a dict of parameters (also the query string that is sent)."""
    return "&".join("%s=%s" % (encode(k), encode(v)) for k, v in _signed_items(params))


def _hmac512(secret, data):
    return hmac.new(_text(secret), _text(data), hashlib.sha512).hexdigest()


def sign(params, secret):
    """vnp_SecureHash of params: lower-case hex HMAC-SHA512(secret, hash_data(params))."""
    return _hmac512(secret, hash_data(params))


def signed_query(params, secret):
    """The query string to send: the hash data, then &vnp_SecureHash=..."""
    data = hash_data(params)
    signature = "vnp_SecureHash=" + _hmac512(secret, data)
    return data + "&" + signature if data else signature


def verify(params_with_hash, secret):
    """True when params_with_hash["vnp_SecureHash"] is the signature of the other parameters (any case)."""
    given = params_with_hash.get("vnp_SecureHash")
    if not isinstance(given, str):
        return False
    return hmac.compare_digest(given.lower().encode(), sign(params_with_hash, secret).encode())


def parse_query(query):
    """A received query string as a dict (decoded: '+' is a space). Raises ValueError on a repeated name."""
    out = {}
    for name, value in urllib.parse.parse_qsl(query, keep_blank_values=True, strict_parsing=False):
        if name in out:
            raise ValueError("parameter %s appears more than once" % name)
        out[name] = value
    return out


def _pipe_hash(fields, values, secret):
    return _hmac512(secret, "|".join(str(values.get(f, "")) for f in fields))


def querydr_request_hash(request, secret):
    """vnp_SecureHash of a querydr request dict: its fields' values joined with '|' (ICD §4)."""
    return _pipe_hash(QUERYDR_REQUEST_FIELDS, request, secret)


def querydr_response_hash(response, secret):
    """The hash a querydr response dict must carry in vnp_SecureHash (ICD §4)."""
    return _pipe_hash(QUERYDR_RESPONSE_FIELDS, response, secret)


def querydr_response_valid(response, secret):
    given = response.get("vnp_SecureHash")
    return isinstance(given, str) and hmac.compare_digest(given.lower().encode(),
                                                          querydr_response_hash(response, secret).encode())


# ---------------------------------------------------------------------------
# building requests the way a merchant does

def vn_stamp(when=None):
    """yyyyMMddHHmmss in UTC+07:00 (now, or a datetime / a Unix time)."""
    if when is None:
        when = datetime.datetime.now(VN_TZ)
    elif isinstance(when, (int, float)):
        when = datetime.datetime.fromtimestamp(when, VN_TZ)
    return when.astimezone(VN_TZ).strftime("%Y%m%d%H%M%S")


def pay_params(tmn_code, txn_ref, amount_vnd, order_info, return_url, ip_addr="203.0.113.10", locale="vn",
               order_type="billpayment", expires_in_s=900, create_date=None, expire_date=None, bank_code=None,
               **extra):
    """The parameters of a pay URL (ICD §1), amount given in VND (sent ×100)."""
    now = datetime.datetime.now(VN_TZ)
    params = {
        "vnp_Version": "2.1.0", "vnp_Command": "pay", "vnp_TmnCode": tmn_code,
        "vnp_Amount": str(int(amount_vnd) * 100), "vnp_CurrCode": "VND", "vnp_TxnRef": txn_ref,
        "vnp_OrderInfo": order_info, "vnp_OrderType": order_type, "vnp_Locale": locale,
        "vnp_ReturnUrl": return_url, "vnp_IpAddr": ip_addr,
        "vnp_CreateDate": create_date or vn_stamp(now),
        "vnp_ExpireDate": expire_date or vn_stamp(now + datetime.timedelta(seconds=expires_in_s)),
    }
    if bank_code:
        params["vnp_BankCode"] = bank_code
    params.update(extra)
    return params


def pay_url(base_url, params, secret):
    """{base}/paymentv2/vpcpay.html?<signed query>."""
    return "%s/paymentv2/vpcpay.html?%s" % (base_url.rstrip("/"), signed_query(params, secret))


def ipn_params(tmn_code, txn_ref, amount, response_code="00", transaction_status=None, transaction_no="14000001",
               pay_date=None, bank_code="NCB", bank_tran_no=None, card_type="ATM",
               order_info="Thanh toan le phi"):
    """Unsigned IPN parameters (ICD §2), amount already ×100 (as the IPN carries it)."""
    if transaction_status is None:
        transaction_status = "00" if response_code == "00" else "02"
    if bank_tran_no is None:
        bank_tran_no = "VNP" + transaction_no if response_code == "00" else ""
    return {
        "vnp_Amount": str(amount), "vnp_BankCode": bank_code, "vnp_BankTranNo": bank_tran_no,
        "vnp_CardType": card_type, "vnp_OrderInfo": order_info, "vnp_PayDate": pay_date or vn_stamp(),
        "vnp_ResponseCode": response_code, "vnp_TmnCode": tmn_code, "vnp_TransactionNo": transaction_no,
        "vnp_TransactionStatus": transaction_status, "vnp_TxnRef": txn_ref,
    }


def querydr_request(secret, tmn_code, txn_ref, transaction_date, request_id, order_info="Truy van giao dich",
                    create_date=None, ip_addr="127.0.0.1", version="2.1.0"):
    """A signed querydr request body (ICD §4)."""
    body = {
        "vnp_RequestId": request_id, "vnp_Version": version, "vnp_Command": "querydr", "vnp_TmnCode": tmn_code,
        "vnp_TxnRef": txn_ref, "vnp_OrderInfo": order_info, "vnp_TransactionDate": transaction_date,
        "vnp_CreateDate": create_date or vn_stamp(), "vnp_IpAddr": ip_addr,
    }
    body["vnp_SecureHash"] = querydr_request_hash(body, secret)
    return body
