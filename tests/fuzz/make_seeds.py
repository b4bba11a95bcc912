#!/usr/bin/env python3
"""Seed corpora for the fuzz targets, made from what the repository already holds.

  make_seeds.py SOURCE_DIR OUT_DIR

writes OUT_DIR/<target>/<sha1> for each target (each directory emptied first), from:

  fuzz_adapter_parse   every adapters/<system>/fixtures/* response (not request-*, not *.secret), framed as
                       fuzz_adapter_parse.c reads it, once per input of tests/fuzz/samples.json for each of the
                       system's operations (token-* fixtures: once, for operation "token"); with the status its
                       name gives (error-404.json: 404), 200 and 500; XML ones also without xrd:requestHash (the
                       hash of a request the fuzz build does not send)
  fuzz_northbound      the samples' inputs, and variants of each: a field missing, an unknown field, NFD text
  fuzz_ident           identifiers and dates found in the fixtures, and the samples' identifiers
  fuzz_text            the text values of the fixtures (names, addresses)
  fuzz_pay_query       tests/integration/test_vnpay_vectors.py's parameters, signed with its key as IPN queries
  fuzz_pay_querydr     its querydr answer, signed, and its other outcomes
  fuzz_http_head       request heads: good ones of each listener's kind, and one of each defect the check refuses
  fuzz_config          config/*.json with every file path replaced by "secret" (fuzz_config.c's stand-in file)

and, for the targets whose inputs are structured, OUT_DIR/<target>.dict: a libFuzzer dictionary of the element
names, keys and header lines in those seeds, which run.sh passes with -dict.
"""

import hashlib
import json
import os
import re
import shutil
import sys
import unicodedata

SOURCE = os.path.abspath(sys.argv[1])
OUT = os.path.abspath(sys.argv[2])

sys.path.insert(0, os.path.join(SOURCE, "tests", "integration"))
import vnpay  # noqa: E402  (the integration tests' own implementation of the payment ICD's signing)

CONTENT_TYPES = {".xml": "text/xml; charset=utf-8", ".json": "application/json", ".html": "text/html",
                 ".txt": "text/plain"}
REQUEST_HASH = re.compile(rb"<(\w+:)?requestHash\b.*?</(\w+:)?requestHash>", re.S)


def seeds_dir(target):
    d = os.path.join(OUT, target)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def write(d, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def write_dict(target, tokens):
    with open(os.path.join(OUT, target + ".dict"), "w", encoding="utf-8") as f:
        for t in sorted(set(tokens)):
            b = t.encode("utf-8")
            if b and len(b) <= 64:
                f.write('"%s"\n' % "".join(chr(c) if 32 <= c < 127 and c not in b'"\\' else "\\x%02X" % c for c in b))


def json_keys(node):
    if isinstance(node, dict):
        for k, v in node.items():
            yield '"%s"' % k
            yield from json_keys(v)
    elif isinstance(node, list):
        for x in node:
            yield from json_keys(x)


def frame(headers, body):
    head = "".join("%s: %s\n" % (k, v) for k, v in headers)
    return head.encode("utf-8") + b"\n" + body


def compact(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def samples():
    with open(os.path.join(SOURCE, "tests", "fuzz", "samples.json"), encoding="utf-8") as f:
        doc = json.load(f)
    # "service" is an adapter's settings for the fuzz build (harness.c), not an operation.
    return {k: {op: spec for op, spec in v.items() if op != "service" and not op.startswith("//")}
            for k, v in doc.items() if not k.startswith("//")}


def op_inputs(op):
    """The operation's inputs as the adapter's validate() sees them (objects)."""
    param = op.get("param")
    return [{param: v} if param else v for v in op["inputs"]]


def fixtures(system):
    d = os.path.join(SOURCE, "adapters", system, "fixtures")
    if not os.path.isdir(d):
        return []
    names = sorted(n for n in os.listdir(d) if not n.startswith("request-") and not n.endswith(".secret"))
    return [(n, os.path.join(d, n)) for n in names]


def all_fixture_files():
    root = os.path.join(SOURCE, "adapters")
    for system in sorted(os.listdir(root)):
        for name, path in fixtures(system):
            yield path


def statuses(name):
    m = re.search(r"(?<!\d)([1-5]\d\d)(?!\d)", name)
    return ([int(m.group(1))] if m else []) + [200, 500]


def adapter_parse():
    d = seeds_dir("fuzz_adapter_parse")
    tokens = ["adapter: ", "operation: ", "input: ", "status: ", "content-type: ", "retry-after: ", "message-id: ",
              "--lt-fuzz-next--", "token"]
    for system, ops in samples().items():
        for name, path in fixtures(system):
            with open(path, "rb") as f:
                body = f.read()
            text = body.decode("utf-8", "replace")
            tokens += re.findall(r"</?[\w:.-]+", text) + re.findall(r'"[\w.-]+"\s*:', text)
            bodies = [body] + ([REQUEST_HASH.sub(b"", body)] if REQUEST_HASH.search(body) else [])
            ctype = CONTENT_TYPES.get(os.path.splitext(name)[1], "application/octet-stream")
            calls = [("token", None)] if name.startswith("token-") else [
                (op, inp) for op, spec in ops.items() for inp in op_inputs(spec)]
            for status in dict.fromkeys(statuses(name)):
                for op, inp in calls:
                    headers = [("adapter", system), ("operation", op)]
                    if inp is not None:
                        headers.append(("input", compact(inp)))
                    headers += [("status", status), ("content-type", ctype)]
                    if status in (429, 503):
                        headers.append(("retry-after", "30"))
                    for b in bodies:
                        write(d, frame(headers, b))
        tokens += [system] + list(ops)
    write_dict("fuzz_adapter_parse", tokens)


def northbound():
    d = seeds_dir("fuzz_northbound")
    for system, ops in samples().items():
        for op, spec in ops.items():
            head = [("adapter", system), ("operation", op)]
            for inp in spec["inputs"]:
                if spec.get("param"):
                    write(d, frame(head, inp.encode()))
                    continue
                variants = [inp, dict(inp, extra="x"), dict(inp, **{"So dinh danh": "x"})]
                variants += [{k: v for k, v in inp.items() if k != drop} for drop in inp]
                variants += [dict(inp, **{k: unicodedata.normalize("NFD", v)}) for k, v in inp.items()
                             if isinstance(v, str)]
                variants += [dict(inp, **{k: " %s\t" % v}) for k, v in inp.items() if isinstance(v, str)]
                for v in variants:
                    write(d, frame(head, compact(v).encode()))


IDENT = re.compile(rb"(?<![\d/-])(\d{10}(?:-\d{3})?|\d{12}|\d{8}|\d{2}/\d{2}/\d{4}|\d{4}-\d{2}-\d{2}|\d{4})(?![\d/-])")
UUID = re.compile(rb"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def ident():
    d = seeds_dir("fuzz_ident")
    found = set()
    for path in all_fixture_files():
        with open(path, "rb") as f:
            text = f.read()
        found.update(IDENT.findall(text))
        found.update(UUID.findall(text))
    for ops in samples().values():
        for spec in ops.values():
            for inp in op_inputs(spec):
                found.update(v.encode() for v in inp.values() if isinstance(v, str))
    for v in sorted(found):
        write(d, v)


def text():
    d = seeds_dir("fuzz_text")
    found = set()
    for path in all_fixture_files():
        with open(path, "rb") as f:
            raw = f.read()
        found.update(t.strip() for t in re.findall(rb">([^<>]+)<", raw))
        found.update(t for t in re.findall(rb'"((?:[^"\\]|\\.)*)"', raw))
    for t in sorted(found):
        if t and re.search(rb"[\x80-\xff ]", t):
            write(d, t)
            write(d, unicodedata.normalize("NFD", t.decode("utf-8", "replace")))


def pay_query():
    import test_vnpay_vectors as v  # the vectors are plain data; importing runs no test

    d = seeds_dir("fuzz_pay_query")
    paid = dict(v.IPN_PARAMS, vnp_ResponseCode="00", vnp_TransactionStatus="00", vnp_BankTranNo="VNP14123456")
    for params in (v.PAY_PARAMS, v.RICH_PARAMS, v.IPN_PARAMS, paid):
        write(d, vnpay.signed_query(params, v.KEY))
        write(d, vnpay.hash_data(params))
    write(d, v.PAY_HASH_DATA)
    write(d, v.RICH_HASH_DATA)
    write(d, "vnp_OrderInfo=" + v.ASCII_SPECIALS_ENCODED)


def pay_querydr():
    import test_vnpay_vectors as v

    d = seeds_dir("fuzz_pay_querydr")
    for changes in ({}, {"vnp_ResponseCode": "91"}, {"vnp_TransactionStatus": "01"},
                    {"vnp_TransactionStatus": "02"}, {"vnp_ResponseCode": "94"}):
        answer = dict(v.QDR_RESPONSE, **changes)
        answer["vnp_SecureHash"] = vnpay.querydr_response_hash(answer, v.KEY)
        write(d, json.dumps(answer, ensure_ascii=False))


PATH_KEYS = {"cert", "key", "client_ca", "ca", "hmac", "file"}


def stand_in_paths(node):
    if isinstance(node, dict):
        return {k: "secret" if isinstance(v, str) and (k in PATH_KEYS or k.endswith("_file")) else stand_in_paths(v)
                for k, v in node.items()}
    if isinstance(node, list):
        return [stand_in_paths(x) for x in node]
    return node


def config():
    d = seeds_dir("fuzz_config")
    tokens = []
    cdir = os.path.join(SOURCE, "config")
    for name in sorted(os.listdir(cdir)):
        if name.endswith(".json"):
            with open(os.path.join(cdir, name), encoding="utf-8") as f:
                doc = json.load(f)
            write(d, json.dumps(stand_in_paths(doc), ensure_ascii=False, indent=2))
            tokens += list(json_keys(doc))
    write_dict("fuzz_config", tokens + ['"secret"', '"journal"', '"redis"', '"memory"', '"off"', '"tls"', "true",
                                        "false", "null", "https://"])


def http_head():
    d = seeds_dir("fuzz_http_head")
    good = ("POST /v1/citizens/lookup HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            "X-Officer-Id: CB-1\r\nX-Purpose: HS-1\r\nX-Request-Id: r-1\r\nContent-Length: 12\r\n\r\n")
    heads = [good, good.replace("HTTP/1.1", "HTTP/1.0").replace("Host: localhost\r\n", ""),
             "GET /v1/payments/ipn?vnp_Amount=1&vnp_TxnRef=A HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
             "GET https://a/v1/x?y HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n"]
    defects = [("Content-Length: 12", "Content-Length: 12\r\nContent-Length: 13"),
               ("Content-Length: 12", "Content-Length: +12"), ("Content-Length: 12", "Content-Length : 12"),
               ("Content-Length: 12", "Transfer-Encoding: chunked"), ("Host: localhost\r\n", ""),
               ("HS-1", "HS\x001"), ("HS-1", "HS\r1"), ("X-Purpose: HS-1", "X-Purpose: HS\r\n -1"),
               ("\r\nHost", "\nHost"), ("HTTP/1.1", "HTTP/2.0"), ("POST ", "POST  ")]
    heads += [good.replace(a, b, 1) for a, b in defects]
    for head in heads:
        write(d, head + "{\"id\": \"1\"}")
    write_dict("fuzz_http_head", ["\r\n", "\r\n\r\n", ": ", "HTTP/1.1", "HTTP/1.0", "Content-Length: ",
                                   "Transfer-Encoding: ", "Host: ", "Connection: ", "Expect: ", "X-Request-Id: "])


for make in (adapter_parse, northbound, ident, text, pay_query, pay_querydr, http_head, config):
    make()
