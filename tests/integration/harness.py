"""Black-box integration harness: real processes, real TLS, 127.0.0.1 only.

Starts the gateway and the simulators as subprocesses on free ports with a PKI
made once per test process by certs/gen-pki.sh, and talks to them the way the
portal and the operators do (mutual TLS over http.client, plain HTTP for admin
and simulator control). Every process started here is registered and killed at
exit, even when a test fails or the test process is told to stop, so nothing
leaks into the next run. Python 3 standard library only.

Environment: LT_BUILD_DIR (binaries), LT_SOURCE_DIR (certs/gen-pki.sh).
LT_PKI_DIR may point at an already generated PKI to skip gen-pki.sh.
"""

import atexit
import copy
import ctypes
import hashlib
import hmac
import http.client
import http.server
import json
import os
import re
import shutil
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import uuid
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.abspath(os.environ.get("LT_SOURCE_DIR", os.path.join(HERE, "..", "..")))
BUILD_DIR = os.path.abspath(os.environ.get("LT_BUILD_DIR", os.path.join(SOURCE_DIR, "build")))
GATEWAY_BIN = os.path.join(BUILD_DIR, "lienthong-gateway")
SIM_BIN = os.path.join(BUILD_DIR, "lienthong-sim")
HOST = "127.0.0.1"

PKI_FILES = [
    "province-ca.crt", "gateway.crt", "gateway.key", "portal.crt", "portal.key",
    "district-office.crt", "district-office.key", "other-portal.crt", "other-portal.key",
    "portal-twin.crt", "portal-twin.key", "national-ca.crt",
    "population-sim.crt", "population-sim.key", "gateway-national.crt", "gateway-national.key",
    "outsider-ca.crt", "outsider-client.crt", "outsider-client.key",
    "land-sim.crt", "land-sim.key",
    "civil-status-sim.crt", "civil-status-sim.key", "civil-status.password",
    # Revocation: a revoked client, the province CA's list, and the CA's key, which certs/gen-crl.sh signs other
    # lists with at test time.
    "revoked-client.crt", "revoked-client.key", "province-ca.crl", "province-ca.key",
]

# ---------------------------------------------------------------------------
# process bookkeeping: nothing started here may outlive the test process

_PROCS = []
_TMPDIRS = []
_LOCK = threading.Lock()


def _cleanup():
    with _LOCK:
        procs = list(_PROCS)
        _PROCS.clear()
    for p in procs:
        if p.poll() is None:
            try:
                p.kill()
            except OSError:
                pass
    for p in procs:
        try:
            p.wait(timeout=5)
        except Exception:
            pass
    for d in _TMPDIRS:
        shutil.rmtree(d, ignore_errors=True)


atexit.register(_cleanup)


def _on_sigterm(signum, frame):
    # ctest's timeout sends SIGTERM: turn it into a normal exit so atexit runs.
    raise SystemExit(128 + signum)


if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
    signal.signal(signal.SIGTERM, _on_sigterm)

try:
    _libc = ctypes.CDLL(None, use_errno=True)
except OSError:
    _libc = None


def _child_dies_with_parent():
    # PR_SET_PDEATHSIG = 1: the kernel kills the child if this process dies,
    # even by SIGKILL, when atexit cannot run.
    if _libc is not None:
        _libc.prctl(1, signal.SIGKILL, 0, 0, 0)


def spawn(argv, **kw):
    """Popen that is registered for cleanup and dies with the test process."""
    p = subprocess.Popen(argv, preexec_fn=_child_dies_with_parent, **kw)
    with _LOCK:
        _PROCS.append(p)
    return p


def forget(p):
    with _LOCK:
        if p in _PROCS:
            _PROCS.remove(p)


def make_tmpdir(prefix="lt-itest-"):
    d = tempfile.mkdtemp(prefix=prefix)
    _TMPDIRS.append(d)
    return d


def require_binary(path):
    if not os.access(path, os.X_OK):
        raise AssertionError("binary not built: %s (LT_BUILD_DIR=%s)" % (path, BUILD_DIR))


# ---------------------------------------------------------------------------
# ports

def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def port_accepts(port, timeout=0.5):
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


# ---------------------------------------------------------------------------
# PKI, generated once per test process

_PKI = None


def pki():
    """Directory holding the PKI of certs/gen-pki.sh (generated once, removed at exit)."""
    global _PKI
    if _PKI is not None:
        return _PKI
    given = os.environ.get("LT_PKI_DIR")
    if given:
        d = os.path.abspath(given)
    else:
        script = os.path.join(SOURCE_DIR, "certs", "gen-pki.sh")
        if not os.path.exists(script):
            raise AssertionError("PKI script missing: %s" % script)
        d = os.path.join(make_tmpdir("lt-pki-"), "pki")
        os.makedirs(d)
        r = subprocess.run(["bash", script, d], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        if r.returncode != 0:
            raise AssertionError("gen-pki.sh failed (%d):\n%s" % (r.returncode, r.stdout.decode(errors="replace")[-3000:]))
    missing = [f for f in PKI_FILES if not os.path.exists(os.path.join(d, f))]
    if missing:
        raise AssertionError("PKI in %s lacks %s" % (d, ", ".join(missing)))
    _PKI = d
    return d


def pki_path(name):
    return os.path.join(pki(), name)


# ---------------------------------------------------------------------------
# small HTTP helpers

class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers          # dict, lower-case names -> last value
        self.body = body                # bytes
        self.json = None
        try:
            self.json = json.loads(body.decode("utf-8")) if body else None
        except (ValueError, UnicodeDecodeError):
            self.json = None

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    def __iter__(self):  # (status, headers, body, json)
        return iter((self.status, self.headers, self.body, self.json))

    def __repr__(self):
        return "<Response %s %s %r>" % (self.status, self.headers, self.body[:600])


def _do_request(conn, method, path, body=None, headers=None):
    headers = dict(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers.setdefault("Content-Type", "application/json")
    elif isinstance(body, str):
        body = body.encode("utf-8")
    try:
        conn.request(method, path, body=body, headers=headers)
    except (BrokenPipeError, ConnectionResetError):
        # The server may answer (413) and close before reading the whole body.
        pass
    r = conn.getresponse()
    data = r.read()
    hdrs = {k.lower(): v for k, v in r.getheaders()}
    return Response(r.status, hdrs, data)


def http_request(port, method, path, body=None, headers=None, timeout=10):
    """Plain HTTP (admin listener, simulator control)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        return _do_request(conn, method, path, body, headers)
    finally:
        conn.close()


def client_context(cert="portal", ca="province-ca.crt", min_version=None, max_version=None):
    """SSLContext of a provincial client: its certificate, and the province CA to check the gateway."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(pki_path(ca))
    ctx.check_hostname = True  # the gateway cert has SAN IP 127.0.0.1 and DNS localhost
    if cert:
        if "/" in cert:
            ctx.load_cert_chain(cert + ".crt", cert + ".key")
        else:
            ctx.load_cert_chain(pki_path(cert + ".crt"), pki_path(cert + ".key"))
    if min_version is not None:
        ctx.minimum_version = min_version
    if max_version is not None:
        ctx.maximum_version = max_version
    return ctx


def https_request(port, method, path, body=None, headers=None, cert="portal", timeout=15, context=None):
    """One request on its own mutual-TLS connection. Returns a Response (iterable as status, headers, body, json)."""
    ctx = context or client_context(cert)
    conn = http.client.HTTPSConnection(HOST, port, context=ctx, timeout=timeout)
    try:
        r = _do_request(conn, method, path, body, headers)
    finally:
        conn.close()
    check_against_schema(path, r, method)
    return r


def check_against_schema(path, r, method=None):
    """Every real answer of the api listener is checked: 200s and 201s against the record schema
    schemas/openapi.yaml gives their route and status, every problem+json against problem.schema.json. A
    violation fails the test that made the request."""
    ctype = r.header("Content-Type", "") or ""
    if not isinstance(r.json, dict):
        return
    if ctype.startswith("application/problem+json"):
        validate(r.json, "problem.schema.json")
        return
    if r.status not in (200, 201):
        return
    schema = route_schema(method, path.split("?")[0], r.status)
    if schema is not None and schema in _schemas():
        withheld = (r.json.get("source") or {}).get("withheld", []) if isinstance(r.json.get("source"), dict) else []
        validate(r.json, schema, withheld=withheld)


_ROUTES = None


def api_routes():
    """[(METHOD, path regex, {status: schema file})] for every operation of schemas/openapi.yaml. The api's
    routes and their records' schemas are written there and nowhere else (docs/api.md pins it), so a route
    is checked here as soon as it is documented."""
    global _ROUTES
    if _ROUTES is None:
        import yaml  # Debian's python3-yaml, installed by `make test`

        with open(os.path.join(SOURCE_DIR, "schemas", "openapi.yaml"), encoding="utf-8") as f:
            api = yaml.safe_load(f)
        routes = []
        for template, ops in api["paths"].items():
            # "/v1/businesses/{code}": a {parameter} is one path segment.
            pattern = re.compile("^%s$" % "/".join("[^/]+" if re.fullmatch(r"\{[^/{}]+\}", seg) else re.escape(seg)
                                                    for seg in template.split("/")))
            for method, op in ops.items():
                if not isinstance(op, dict) or "responses" not in op:
                    continue  # path-level keys (parameters, summary)
                schemas = {}
                for status, answer in op["responses"].items():
                    ref = (answer.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref"))
                    if ref is not None and not ref.startswith("#"):
                        schemas[int(status)] = ref
                routes.append((method.upper(), pattern, schemas))
        _ROUTES = routes
    return _ROUTES


def route_schema(method, path, status):
    """The schema file openapi.yaml gives a `status` answer of `method path` (any method when None), or None."""
    for m, pattern, schemas in api_routes():
        if (method is None or m == method.upper()) and pattern.match(path) and status in schemas:
            return schemas[status]
    return None


class KeepAliveClient:
    """Several requests over one mutual-TLS connection."""

    def __init__(self, port, cert="portal", timeout=15, context=None):
        self.conn = http.client.HTTPSConnection(HOST, port, context=context or client_context(cert), timeout=timeout)

    def connect(self):
        self.conn.connect()
        return self

    def request(self, method, path, body=None, headers=None):
        return _do_request(self.conn, method, path, body, headers)

    def sock(self):
        return self.conn.sock

    def close(self):
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def officer_headers(request_id=None, officer="CB-000123", purpose="HS-2025-000042"):
    h = {"X-Officer-Id": officer, "X-Purpose": purpose, "Content-Type": "application/json"}
    if request_id is not None:
        h["X-Request-Id"] = request_id
    return h


# ---------------------------------------------------------------------------
# raw TLS probes, for handshake refusals

CLOSE_REQUEST = b"GET /nowhere HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"


METRIC_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
METRIC_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """A Prometheus exposition as {(name, frozenset of (label, value)): value}, one entry per sample line."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = METRIC_SAMPLE.match(line)
        assert m, "unparseable sample line: %r" % line
        labels = frozenset(METRIC_LABEL.findall(m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def metric(gw, name, absent=None, **labels):
    """One sample of the gateway's /metrics: the one named so with exactly these labels, or absent if none is."""
    return parse_metrics(gw.admin("GET", "/metrics").body.decode()).get((name, frozenset(labels.items())), absent)


def metric_samples(gw):
    """The gateway's /metrics as {sample name with its labels: value}."""
    out = {}
    for line in gw.admin("GET", "/metrics").body.decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def tls_connect(port, ctx, session=None):
    """A TLS connection with ctx, offering session (a ticket to resume) if given; raises if the handshake fails."""
    raw = socket.create_connection((HOST, port), timeout=10)
    try:
        return ctx.wrap_socket(raw, server_hostname=HOST, session=session)
    except (ssl.SSLError, OSError):
        raw.close()
        raise


def tls_exchange(s, payload=CLOSE_REQUEST):
    """Sends payload and reads until the server closes or a refusal alert arrives (the session's tickets arrive on
    the way); the bytes received."""
    got = b""
    try:
        s.sendall(payload)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except (ssl.SSLError, OSError):
        pass
    return got


def tls_probe(port, cert=None, min_version=None, max_version=None, timeout=5,
              payload=b"GET /v1/citizens/lookup HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"):
    """Connects with the given client cert ('portal', 'outsider-client', a path prefix, or None),
    sends an HTTP request and reads what comes back.
    Returns dict(handshake=bool, received=bytes, error=str|None). A refused client under TLS 1.3 sees its
    own handshake complete and the refusal arrive as an alert on the first read, so callers should assert
    on `received` (no HTTP bytes), not only on `handshake`."""
    ctx = client_context(cert, min_version=min_version, max_version=max_version)
    out = {"handshake": False, "received": b"", "error": None, "version": None}
    try:
        raw = socket.create_connection((HOST, port), timeout=timeout)
    except OSError as e:
        out["error"] = "connect: %r" % (e,)
        return out
    try:
        s = ctx.wrap_socket(raw, server_hostname=HOST)
    except (ssl.SSLError, OSError) as e:
        raw.close()
        out["error"] = "handshake: %r" % (e,)
        return out
    try:
        out["handshake"] = True
        out["version"] = s.version()
        s.sendall(payload)
        deadline = time.time() + timeout
        while time.time() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            out["received"] += chunk
    except (ssl.SSLError, OSError) as e:
        out["error"] = "after handshake: %r" % (e,)
    finally:
        s.close()
    return out


def s_client(port, extra_args, stdin_data=b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n", timeout=15):
    """Runs `openssl s_client` against 127.0.0.1:port. Returns (returncode, combined output text)."""
    argv = ["openssl", "s_client", "-connect", "%s:%d" % (HOST, port), "-servername", "localhost",
            "-ign_eof"] + list(extra_args)
    r = subprocess.run(argv, input=stdin_data, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    return r.returncode, r.stdout.decode("utf-8", errors="replace")


class SServer:
    """`openssl s_server -www` as a control server that does accept what a refusal test sends."""

    def __init__(self, extra_args, cert="gateway"):
        self.port = free_port()
        self.logdir = make_tmpdir("lt-sserver-")
        self.log = open(os.path.join(self.logdir, "s_server.log"), "wb")
        argv = ["openssl", "s_server", "-accept", "%s:%d" % (HOST, self.port), "-www",
                "-cert", pki_path(cert + ".crt"), "-key", pki_path(cert + ".key")] + list(extra_args)
        self.proc = spawn(argv, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while not port_accepts(self.port):
            if self.proc.poll() is not None or time.time() > deadline:
                raise AssertionError("openssl s_server did not start: " + self.output())
            time.sleep(0.05)

    def output(self):
        self.log.flush()
        with open(self.log.name, "rb") as f:
            return f.read().decode(errors="replace")[-3000:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        forget(self.proc)
        self.log.close()


# ---------------------------------------------------------------------------
# log files

def tail(path, lines=40):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return "(no log at %s)" % path
    text = data.decode("utf-8", errors="replace").splitlines()
    return "\n".join(text[-lines:])


# ---------------------------------------------------------------------------
# simulator

_SAMPLES = {}


def sim_sample(n, seed, system="population"):
    """Identities the simulator holds, from `lienthong-sim --sample` (the expected values of the tests)."""
    key = (system, n, seed)
    if key not in _SAMPLES:
        require_binary(SIM_BIN)
        r = subprocess.run([SIM_BIN, "--system", system, "--sample", str(n), "--seed", str(seed)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        if r.returncode != 0:
            raise AssertionError("lienthong-sim --sample failed (%d): %s" % (r.returncode, r.stderr.decode(errors="replace")))
        rows = [json.loads(line) for line in r.stdout.decode("utf-8").splitlines() if line.strip()]
        _SAMPLES[key] = rows
    return copy.deepcopy(_SAMPLES[key])


class Sim:
    READY = re.compile(r"lienthong-sim: (\S+) listening on https://([0-9.]+):(\d+), control on http://([0-9.]+):(\d+)")

    def __init__(self, system="population", seed=7, latency_ms=None, fault=None, extra_args=(), start=True):
        self.system = system
        self.seed = seed
        self.latency_ms = latency_ms
        self.fault = fault
        self.extra_args = list(extra_args)
        self.proc = None
        self.dir = make_tmpdir("lt-sim-")
        self.stdout_path = os.path.join(self.dir, "stdout.log")
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        if start:
            self.start()

    @property
    def base_url(self):
        return "https://%s:%d" % (HOST, self.port)

    def start(self, timeout=15):
        require_binary(SIM_BIN)
        last = ""
        for _attempt in range(3):  # a free port may be taken between finding and binding it
            self.port, self.control_port = free_port(), free_port()
            argv = [SIM_BIN, "--system", self.system, "--listen", "%s:%d" % (HOST, self.port),
                    "--control", "%s:%d" % (HOST, self.control_port), "--certs-dir", pki(),
                    "--seed", str(self.seed)]
            if self.latency_ms is not None:
                argv += ["--latency-ms", str(self.latency_ms)]
            if self.fault is not None:
                argv += ["--fault", self.fault]
            argv += self.extra_args
            self.argv = argv
            errf = open(self.stderr_path, "ab")
            self.proc = spawn(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errf)
            errf.close()
            ready = threading.Event()
            self._pump = threading.Thread(target=self._drain_stdout, args=(self.proc, ready), daemon=True)
            self._pump.start()
            if ready.wait(timeout):
                return self
            last = self.stderr_tail()
            self.kill()
        raise AssertionError("simulator did not print its ready line within %ss\nargv: %s\nstderr:\n%s"
                             % (timeout, " ".join(self.argv), last))

    def _drain_stdout(self, proc, ready):
        with open(self.stdout_path, "ab") as out:
            for line in proc.stdout:
                out.write(line)
                out.flush()
                m = self.READY.search(line.decode("utf-8", errors="replace"))
                if m and int(m.group(3)) == self.port and int(m.group(5)) == self.control_port:
                    ready.set()

    def stderr_tail(self, lines=30):
        return tail(self.stderr_path, lines)

    # control API
    def control(self, method, path, body=None):
        r = http_request(self.control_port, method, "/control/%s%s" % (self.system, path), body=body)
        if r.status // 100 != 2:
            raise AssertionError("sim control %s %s -> %s %r" % (method, path, r.status, r.body[:300]))
        return r

    def set_fault(self, fault="none", latency_ms=0, remaining=-1):
        return self.control("PUT", "/faults", {"latency_ms": latency_ms, "fault": fault, "remaining": remaining})

    def clear_faults(self):
        return self.set_fault("none", 0, -1)

    def reset(self):
        return self.control("POST", "/reset")

    def stats(self):
        return self.control("GET", "/stats").json

    def requests(self):
        return int(self.stats()["requests"])

    def stop(self, timeout=5):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        forget(self.proc)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return self.proc.returncode

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc is not None:
            forget(self.proc)
            if self.proc.stdout is not None:
                self.proc.stdout.close()

    def restart(self, timeout=15):
        """Starts it again on the same ports (after kill()), as a national system coming back."""
        self.kill()
        errf = open(self.stderr_path, "ab")
        self.proc = spawn(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errf)
        errf.close()
        ready = threading.Event()
        self._pump = threading.Thread(target=self._drain_stdout, args=(self.proc, ready), daemon=True)
        self._pump.start()
        if not ready.wait(timeout):
            raise AssertionError("simulator did not come back on port %d:\n%s" % (self.port, self.stderr_tail()))
        return self

    # Talking to the simulator directly, as the gateway does, to learn what it holds.
    def soap_lookup(self, sid, full_name, birth_date, operation="TraCuuThongTinCongDan"):
        """Sends an ICD population request straight to the simulator and returns the parsed CongDan record
        (dict of element local names -> text or nested dict), or raises on a fault."""
        msg_id = str(uuid.uuid4())
        body = soap_request(operation, msg_id, sid, full_name, birth_date)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(pki_path("national-ca.crt"))
        ctx.check_hostname = False
        ctx.load_cert_chain(pki_path("gateway-national.crt"), pki_path("gateway-national.key"))
        conn = http.client.HTTPSConnection(HOST, self.port, context=ctx, timeout=15)
        try:
            conn.request("POST", "/ws/dancu/v1", body=body, headers={
                "Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"%s"' % operation})
            r = conn.getresponse()
            data = r.read()
        finally:
            conn.close()
        if r.status != 200:
            raise AssertionError("simulator answered %d: %r" % (r.status, data[:500]))
        root = ET.fromstring(data)
        return _xml_to_dict(_find_local(root, "CongDan" if operation == "TraCuuThongTinCongDan" else "KetQua"))


SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"


def soap_request(operation, msg_id, sid, full_name, birth_date, officer="CB-000123", purpose="1.001612"):
    def esc(s):
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return ("""<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xrd="http://x-road.eu/xsd/xroad.xsd" xmlns:id="http://x-road.eu/xsd/identifiers" xmlns:dc="http://dancuquocgia.bca">
<SOAP-ENV:Header>
<xrd:client id:objectType="SUBSYSTEM"><id:xRoadInstance>VN</id:xRoadInstance><id:memberClass>GOV</id:memberClass><id:memberCode>000.00.00.H53</id:memberCode><id:subsystemCode>LGSP</id:subsystemCode></xrd:client>
<xrd:service id:objectType="SERVICE"><id:xRoadInstance>VN</id:xRoadInstance><id:memberClass>GOV</id:memberClass><id:memberCode>000.00.00.G01</id:memberCode><id:subsystemCode>CSDLQGDC</id:subsystemCode><id:serviceCode>{op}</id:serviceCode><id:serviceVersion>v1</id:serviceVersion></xrd:service>
<xrd:id>{mid}</xrd:id><xrd:userId>{officer}</xrd:userId><xrd:issue>{purpose}</xrd:issue><xrd:protocolVersion>4.0</xrd:protocolVersion>
</SOAP-ENV:Header>
<SOAP-ENV:Body>
<dc:{op}><dc:MaYeuCau>{mid}</dc:MaYeuCau><dc:MaDVC>1.001612</dc:MaDVC><dc:MaTichHop>037</dc:MaTichHop><dc:MaCanBo>{officer}</dc:MaCanBo><dc:SoDinhDanh>{sid}</dc:SoDinhDanh><dc:HoVaTen>{name}</dc:HoVaTen><dc:NgayThangNamSinh><dc:NgayThangNam>{birth}</dc:NgayThangNam></dc:NgayThangNamSinh></dc:{op}>
</SOAP-ENV:Body>
</SOAP-ENV:Envelope>""".format(op=operation, mid=msg_id, officer=esc(officer), purpose=esc(purpose),
                                 sid=esc(sid), name=esc(full_name), birth=esc(birth_date))).encode("utf-8")


def _local(tag):
    return tag.rsplit("}", 1)[-1]


def _find_local(root, name):
    for el in root.iter():
        if _local(el.tag) == name:
            return el
    raise AssertionError("no <%s> in simulator response" % name)


def _xml_to_dict(el):
    children = list(el)
    if not children:
        return (el.text or "").strip()
    return {_local(c.tag): _xml_to_dict(c) for c in children}


# ---------------------------------------------------------------------------
# the payment gateway simulator and the portal's webhook receiver (tests/sim/README.md)

def shared_secret(name):
    """A secret of the PKI (payment-hash.secret, webhook.secret) as the simulators read it: the file's text, trimmed."""
    with open(pki_path(name), "rb") as f:
        return f.read().strip().decode("ascii")


def server_context(ca):
    """SSLContext of a client that checks a server against ca (a PKI file name) and shows no certificate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(pki_path(ca))
    ctx.check_hostname = True  # the simulators' certificates have SAN IP 127.0.0.1
    return ctx


class PaymentSim(Sim):
    """`lienthong-sim --system payment`: the national payment gateway of icd/payment.md on free ports.

    ipn_urls are the merchant's IPN URLs (--ipn-url; the gateway's callbacks listener, e.g.
    "https://127.0.0.1:PORT/payments/vnpay/ipn"), checked against ipn_ca (default: the PKI's province CA, which
    signs the gateway's certificates). Its own certificate comes from the national CA. The gateway's payment
    upstream is base_url, with terminal tmn_code and the secret in pki_path("payment-hash.secret").
    """

    def __init__(self, ipn_urls=(), tmn_code="LTDEV001", ipn_ca=None, extra_args=(), **kw):
        args = ["--tmn-code", tmn_code]
        for url in ipn_urls:
            args += ["--ipn-url", url]
        if ipn_ca is not None:
            args += ["--ipn-ca", ipn_ca]
        self.tmn_code = tmn_code
        super().__init__("payment", extra_args=args + list(extra_args), **kw)

    @property
    def secret(self):
        return shared_secret("payment-hash.secret")

    def https(self, method, path, body=None, headers=None, timeout=15):
        """One request to the service listener, as a browser or the merchant's server (no client certificate)."""
        conn = http.client.HTTPSConnection(HOST, self.port, context=server_context("national-ca.crt"), timeout=timeout)
        try:
            return _do_request(conn, method, path, body, headers)
        finally:
            conn.close()

    def open_pay_url(self, url):
        """GETs a pay URL (absolute, or path and query) the way a browser would: 200 and the pay page, or a 4xx
        page with X-Sim-Error."""
        if url.startswith("https://"):
            url = "/" + url.split("/", 3)[3]
        return self.https("GET", url)

    def pay_in_browser(self, txn_ref, action="pay", bank_code=None):
        """Presses Pay or Cancel on the pay page: returns the 302 whose Location is the signed browser return."""
        form = "txn_ref=%s&action=%s" % (txn_ref, action) + ("&bank_code=" + bank_code if bank_code else "")
        return self.https("POST", "/paymentv2/complete", form,
                          {"Content-Type": "application/x-www-form-urlencoded"})

    def querydr(self, body):
        """POSTs a querydr body (ICD §4) and returns the Response (its .json is the answer)."""
        return self.https("POST", "/merchant_webapp/api/transaction", body, {"Content-Type": "application/json"})

    def transactions(self):
        return self.control("GET", "/transactions").json["transactions"]

    def transaction(self, txn_ref):
        return self.control("GET", "/transactions?txn_ref=" + txn_ref).json["transactions"][0]

    def configure(self, **settings):
        """POST /config: ipn_urls, duplicates, concurrent_urls, ipn_retry_delays_ms, ipn_timeout_ms."""
        return self.control("POST", "/config", settings).json

    def complete(self, txn_ref, response_code="00", **fields):
        """Completes a pending transaction over the control API (transaction_status, bank_code, send_ipn)."""
        body = dict(fields, txn_ref=txn_ref, response_code=response_code)
        return self.control("POST", "/complete", body).json["transaction"]

    def resend_ipn(self, txn_ref):
        return self.control("POST", "/ipn", {"txn_ref": txn_ref}).json

    def wait_ipn(self, txn_ref, states=("delivered", "gave_up"), timeout=15):
        """Waits until the transaction's IPN state is one of states; returns the transaction."""
        deadline = time.time() + timeout
        while True:
            t = self.transaction(txn_ref)
            if t["ipn"]["state"] in states or time.time() > deadline:
                return t
            time.sleep(0.05)


class WebhookReceiver(Sim):
    """`lienthong-sim --system webhook`: the portal's webhook receiver on free ports.

    The gateway's webhook URL is .url, checked against the province CA (pki_path("province-ca.crt"), which signs
    webhook-sim); the signing secret is pki_path("webhook.secret")."""

    def __init__(self, extra_args=(), **kw):
        super().__init__("webhook", extra_args=extra_args, **kw)

    @property
    def url(self):
        return self.base_url + "/webhook"

    @property
    def secret(self):
        return shared_secret("webhook.secret")

    def post(self, body, signature=None, headers=None, timeout=10):
        """Sends an event as the gateway would: body (dict or bytes) signed with the webhook secret unless
        signature is given (a string, or False for none)."""
        raw = json.dumps(body).encode("utf-8") if isinstance(body, dict) else body
        h = {"Content-Type": "application/json"}
        if signature is None:
            signature = "sha256=" + hmac.new(self.secret.encode(), raw, hashlib.sha256).hexdigest()
        if signature is not False:
            h["X-Signature"] = signature
        h.update(headers or {})
        conn = http.client.HTTPSConnection(HOST, self.port, context=server_context("province-ca.crt"),
                                           timeout=timeout)
        try:
            return _do_request(conn, "POST", "/webhook", raw, h)
        finally:
            conn.close()

    def events(self):
        """{"events": [...], "counts": {...}, "requests": [...]} (GET /control/webhook/events)."""
        return self.control("GET", "/events").json

    def event(self, event_id):
        return next((e for e in self.events()["events"] if e["event_id"] == event_id), None)

    def outage(self, status=0, down=False, remaining=-1):
        """Switches the outage: status (e.g. 503), or down (connections aborted); outage() is back to normal."""
        return self.control("POST", "/config", {"status": status, "down": down, "remaining": remaining}).json

    def wait_events(self, n, timeout=15):
        """Waits until at least n distinct events arrived; returns the events."""
        deadline = time.time() + timeout
        while True:
            events = self.events()["events"]
            if len(events) >= n or time.time() > deadline:
                return events
            time.sleep(0.05)


class IpnEndpoint:
    """A merchant's IPN URL for testing the payment simulator: HTTPS with a certificate of the PKI (default: the
    gateway's, from the province CA, as the real callbacks listener has), answering each GET from a script.

    answers: a list consumed in order, then `default` forever. Each answer is a dict:
      {"rsp": "00"}                      200 with {"RspCode","Message"} as the ICD shows
      {"status": 500, "body": b"..."}    any status and raw body
      {"hold_s": 0.5, ...}               waits that long before answering (longer than the sim's timeout: no answer)
      {"until": threading.Event(), ...}  waits until the test sets the event (at most 60 s) before answering
      {"close": True}                    closes the connection without a word
    Every request is kept in .requests as {"at": time.time(), "path", "query" (raw), "params" (decoded dict)}.
    """

    def __init__(self, answers=(), default=None, cert="gateway"):
        self.answers = list(answers)
        self.default = default or {"rsp": "00"}
        self.requests = []
        self.lock = threading.Lock()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(pki_path(cert + ".crt"), pki_path(cert + ".key"))
        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                path, _, query = self.path.partition("?")
                record = {"at": time.time(), "path": path, "query": query,
                          "params": dict(urllib.parse.parse_qsl(query, keep_blank_values=True))}
                with endpoint.lock:
                    endpoint.requests.append(record)
                    answer = endpoint.answers.pop(0) if endpoint.answers else endpoint.default
                time.sleep(answer.get("hold_s", 0))
                if "until" in answer:
                    answer["until"].wait(60)
                if answer.get("close"):
                    self.close_connection = True
                    return
                if "rsp" in answer:
                    code = answer["rsp"]
                    body = json.dumps({"RspCode": code, "Message": answer.get("message", "Confirm Success")}).encode()
                else:
                    body = answer.get("body", b"")
                try:
                    self.send_response(answer.get("status", 200))
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the simulator gave up waiting

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

            def finish_request(self, request, client_address):
                try:  # the handshake runs in the connection's own thread
                    tls = ctx.wrap_socket(request, server_side=True)
                except (ssl.SSLError, OSError):
                    return
                try:
                    super().finish_request(tls, client_address)
                finally:
                    tls.close()

            def handle_error(self, request, client_address):
                pass

        self.server = Server((HOST, 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "https://%s:%d/payments/vnpay/ipn" % (HOST, self.port)

    def received(self):
        with self.lock:
            return list(self.requests)

    def wait_requests(self, n, timeout=10):
        deadline = time.time() + timeout
        while len(self.received()) < n and time.time() < deadline:
            time.sleep(0.02)
        return self.received()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------------------
# redis-server

REDIS_BIN = shutil.which("redis-server") or "/usr/bin/redis-server"


class RedisError(Exception):
    pass


def _resp_encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, int):
            a = str(a)
        if isinstance(a, str):
            a = a.encode("utf-8")
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class _RespReader:
    def __init__(self, sock):
        self.f = sock.makefile("rb")

    def read(self):
        line = self.f.readline()
        if not line:
            raise ConnectionError("redis closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RedisError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)
            return data[:-2]
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RedisError("unexpected reply %r" % line)


class RedisServer:
    """A real redis-server on a free port (or a given one, to come back on the same address), with its own
    temporary directory and no persistence, killed when done. command() speaks RESP over a plain socket, so
    values come back as exact bytes."""

    def __init__(self, port=None, start=True, extra_args=()):
        self.dir = make_tmpdir("lt-redis-")
        self.port = port
        self.extra_args = list(extra_args)
        self.proc = None
        self.auth = None  # (user, password) once a test turns on requirepass or an ACL user: command() AUTHs first
        self.log_path = os.path.join(self.dir, "redis.log")
        if start:
            self.start()

    @property
    def address(self):
        return "%s:%d" % (HOST, self.port)

    def start(self, timeout=10):
        require_binary(REDIS_BIN)
        fixed = self.port is not None
        for _attempt in range(1 if fixed else 3):
            if not fixed:
                self.port = free_port()
            argv = [REDIS_BIN, "--port", str(self.port), "--bind", HOST, "--dir", self.dir, "--save", "",
                    "--appendonly", "no", "--daemonize", "no", "--logfile", self.log_path] + self.extra_args
            self.proc = spawn(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.time() + timeout
            while time.time() < deadline and self.proc.poll() is None:
                try:
                    if self.command("PING") == "PONG":
                        return self
                except (OSError, RedisError, ConnectionError):
                    pass
                time.sleep(0.02)
            self.kill()
        raise AssertionError("redis-server did not start on port %s:\n%s" % (self.port, tail(self.log_path)))

    def command(self, *args, timeout=5):
        with socket.create_connection((HOST, self.port), timeout=timeout) as sock:
            reader = _RespReader(sock)
            if self.auth is not None:
                sock.sendall(_resp_encode(("AUTH",) + tuple(self.auth)))
                reader.read()
            sock.sendall(_resp_encode(args))
            return reader.read()

    def scan(self, pattern="*"):
        """Every key, by SCAN (as `redis-cli --scan` does)."""
        cursor, keys = b"0", []
        while True:
            cursor, batch = self.command("SCAN", cursor, "MATCH", pattern, "COUNT", 1000)
            keys.extend(batch)
            if cursor in (b"0", 0, "0"):
                return keys

    def dump_everything(self):
        """[(key, [raw values])] for every key: string values, set and list members, hash fields, and DUMP."""
        out = []
        for key in self.scan():
            kind = self.command("TYPE", key)
            values = [self.command("DUMP", key) or b""]
            if kind == "string":
                values.append(self.command("GET", key) or b"")
            elif kind == "set":
                values.extend(self.command("SMEMBERS", key))
            elif kind == "list":
                values.extend(self.command("LRANGE", key, 0, -1))
            elif kind == "hash":
                values.extend(self.command("HGETALL", key))
            elif kind == "zset":
                values.extend(self.command("ZRANGE", key, 0, -1))
            out.append((key, values))
        return out

    def pause(self):
        """SIGSTOP: the socket stays open and nothing answers, as a Redis stuck in a long command."""
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    def is_paused(self):
        """True while the process is stopped (state T in /proc/<pid>/stat), as pause() leaves it."""
        with open("/proc/%d/stat" % self.proc.pid, encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("T", "t")

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait()
        if self.proc is not None:
            forget(self.proc)

    def restart(self, timeout=10):
        """Kills it and starts a new, empty one on the same port."""
        self.kill()
        return self.start(timeout)


SENTINEL_BIN = shutil.which("redis-sentinel") or "/usr/bin/redis-sentinel"


def durable_redis():
    """A RedisServer that keeps every acknowledged write through its own crash (appendonly, fsync always): what the
    stores that must lose nothing are given."""
    return RedisServer(extra_args=("--appendonly", "yes", "--appendfsync", "always"))


class RedisSentinel:
    """A real redis-sentinel on a free port watching one primary as master_name, with timings short enough for a
    test (down after down_after_ms, a failover at most every failover_timeout_ms). Its config file lives in its
    own temporary directory (a Sentinel rewrites it)."""

    def __init__(self, primary_port, master_name="ltprimary", quorum=2, down_after_ms=1000, failover_timeout_ms=4000,
                 extra_lines=()):
        require_binary(SENTINEL_BIN)
        self.dir = make_tmpdir("lt-sentinel-")
        self.master_name = master_name
        self.log_path = os.path.join(self.dir, "sentinel.log")
        self.conf_path = os.path.join(self.dir, "sentinel.conf")
        self.proc = None
        for _attempt in range(3):
            self.port = free_port()
            with open(self.conf_path, "w") as f:
                f.write("port %d\nbind %s\ndir %s\nlogfile %s\ndaemonize no\n" % (self.port, HOST, self.dir,
                                                                                   self.log_path))
                f.write("sentinel monitor %s %s %d %d\n" % (master_name, HOST, primary_port, quorum))
                f.write("sentinel down-after-milliseconds %s %d\n" % (master_name, down_after_ms))
                f.write("sentinel failover-timeout %s %d\n" % (master_name, failover_timeout_ms))
                f.write("sentinel parallel-syncs %s 1\n" % master_name)
                for line in extra_lines:
                    f.write(line + "\n")
            self.proc = spawn([SENTINEL_BIN, self.conf_path], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
            deadline = time.time() + 10
            while time.time() < deadline and self.proc.poll() is None:
                try:
                    if self.command("PING") == "PONG":
                        return
                except (OSError, RedisError, ConnectionError):
                    pass
                time.sleep(0.02)
            self.kill()
        raise AssertionError("redis-sentinel did not start:\n%s" % tail(self.log_path))

    @property
    def address(self):
        return "%s:%d" % (HOST, self.port)

    def command(self, *args, timeout=5):
        with socket.create_connection((HOST, self.port), timeout=timeout) as sock:
            sock.sendall(_resp_encode(args))
            return _RespReader(sock).read()

    def primary(self):
        """The primary's "host:port" as this Sentinel names it now."""
        host, port = self.command("SENTINEL", "get-master-addr-by-name", self.master_name)
        return "%s:%s" % (host.decode() if isinstance(host, bytes) else host,
                          port.decode() if isinstance(port, bytes) else port)

    def replicas_known(self):
        return len(self.command("SENTINEL", "replicas", self.master_name) or [])

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc is not None:
            forget(self.proc)


def write_cache_key(path):
    """A cache key file as certs/gen-pki.sh writes one: 256 random bits as hex."""
    with open(path, "w") as f:
        f.write(os.urandom(32).hex() + "\n")
    os.chmod(path, 0o600)
    return path


def cache_keys(aead=None, encrypt_with=None):
    """The cache's "keys" section over the PKI's cache-hmac.key and cache-aead.key (id 1), or the given
    [(id, path)] list."""
    d = pki()
    if not os.path.exists(os.path.join(d, "cache-hmac.key")):  # a PKI (LT_PKI_DIR) made before the cache keys
        d = make_tmpdir("lt-cache-keys-")
        write_cache_key(os.path.join(d, "cache-hmac.key"))
        write_cache_key(os.path.join(d, "cache-aead.key"))
    aead = aead or [(1, os.path.join(d, "cache-aead.key"))]
    keys = {"hmac": os.path.join(d, "cache-hmac.key"), "aead": [{"id": i, "file": f} for i, f in aead]}
    if encrypt_with is not None:
        keys["encrypt_with"] = encrypt_with
    return keys


# ---------------------------------------------------------------------------
# gateway

def deep_merge(base, over):
    out = copy.deepcopy(base)
    for k, v in (over or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        elif v is _DELETE:
            out.pop(k, None)
        else:
            out[k] = copy.deepcopy(v)
    return out


_DELETE = object()
DELETE = _DELETE  # use as a value in overrides to remove a key


# The provincial CA's subject as the gateway names a client's issuer (RFC 2253, `openssl x509 -issuer -nameopt
# RFC2253`): certs/gen-pki.sh makes it "/C=VN/O=Lien Thong Dev/CN=Lien Thong Province Dev CA".
PROVINCE_CA_DN = "CN=Lien Thong Province Dev CA,O=Lien Thong Dev,C=VN"


def dev_clients():
    """The clients of the dev config: the portal may do everything (its payments return to portal.example.vn), a
    district office only confirms identities and looks businesses up; other-portal and portal-twin are certificates of the same CA that no entry lists
    (portal-twin shares the portal's CN, so only a CN rule would let it in)."""
    return {
        # Every field of a citizen, the sensitive ones (ethnicity, religion) named: released only where named.
        "portal": {"issuer": PROVINCE_CA_DN, "cn": "portal", "allow": ["*"],
                   "fields": {"population.lookup": ["*", "ethnicity", "religion"]},
                   "return_url_hosts": ["portal.example.vn"]},
        "district-office": {"issuer": PROVINCE_CA_DN, "cn": "district-office",
                            "allow": ["population.verify", "business.lookup"]},
    }


def write_admin_token(path, token=None):
    """An admin token file as operators make one (`openssl rand -hex 32`), mode 0600. Returns the token."""
    token = token or os.urandom(32).hex()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    os.chmod(path, 0o600)
    return token


# admin port -> its gateway's token file, so that run_ctl sends the token of the gateway it is pointed at.
_ADMIN_TOKEN_FILES = {}


def gateway_config(api_port, admin_port, sim_url="https://127.0.0.1:1", overrides=None, admin_token_file=None,
                   audit_dir=None):
    """A gateway's configuration; with audit_dir, its audit trail there (the Gateway class gives each gateway its
    own, so every test runs with the trail on; overrides {"audit": DELETE} turn it off)."""
    cfg = {
        "workers": 2,
        "log_level": "info",
        # Text lines, which the tests' log assertions read; the default (JSON lines) has its own test, test_logs.
        "log_format": "text",
        "instance": "itest",
        "listeners": {
            "api": {"bind": "%s:%d" % (HOST, api_port), "cert": pki_path("gateway.crt"),
                    "key": pki_path("gateway.key"), "client_ca": pki_path("province-ca.crt")},
            "admin": {"bind": "%s:%d" % (HOST, admin_port)},
        },
        "limits": {"max_body_bytes": 16384, "shutdown_grace_ms": 10000},
        "clients": dev_clients(),
        # Off unless a test turns it on: other suites count upstream calls that a cache would absorb.
        "cache": {"backend": "off"},
        "upstreams": {
            "population": {
                "base_url": sim_url,
                "cert": pki_path("gateway-national.crt"), "key": pki_path("gateway-national.key"),
                "ca": pki_path("national-ca.crt"),
                "connect_timeout_ms": 2000, "timeout_ms": 10000,
                "service": {
                    "xroad_instance": "VN", "member_class": "GOV", "member_code": "000.00.00.H53",
                    "subsystem_code": "LGSP", "service_member_code": "000.00.00.G01",
                    "service_subsystem_code": "CSDLQGDC", "service_version": "v1",
                    "integration_code": "037", "default_procedure_code": "1.001612",
                },
            }
        },
    }
    if admin_token_file:
        cfg["listeners"]["admin"]["token_file"] = admin_token_file
    if audit_dir is not None:
        cfg["audit"] = {"dir": audit_dir, "instance": "itest"}
    return deep_merge(cfg, overrides)


def civil_status_upstream(sim, **extra):
    """upstreams.civil-status toward a civil-status simulator, for a test's overrides. Not part of
    gateway_config(): a configured system is probed and shown on the status page, which other suites count."""
    up = {
        "base_url": sim.base_url,
        "cert": pki_path("gateway-national.crt"), "key": pki_path("gateway-national.key"),
        "ca": pki_path("national-ca.crt"),
        "connect_timeout_ms": 2000, "timeout_ms": 10000,
        "service": {"unit_code": "000.00.00.H53", "user_name": "lienthong-dev",
                    "password_file": pki_path("civil-status.password")},
    }
    return deep_merge(up, extra)


# Every gateway's ordinary log (stderr) of a test run is kept here, for test_zz_logs.py, which reads them all once
# every other integration test has run: none may name a citizen.
GATEWAY_LOG_DIR = os.path.join(BUILD_DIR, "test-logs", "gateway")


def gateway_log_path(test_dir):
    os.makedirs(GATEWAY_LOG_DIR, exist_ok=True)
    return os.path.join(GATEWAY_LOG_DIR, "%d-%s.log" % (os.getpid(), os.path.basename(test_dir)))


def _with_admin_token(headers, method, token):
    """headers plus Authorization: Bearer for a change (POST); token False sends none, a string sends that one."""
    headers = dict(headers or {})
    if method != "POST" or token is False or token is None or any(k.lower() == "authorization" for k in headers):
        return headers
    headers["Authorization"] = "Bearer " + token
    return headers


class Gateway:
    """The gateway as a subprocess with a config written from parameters."""

    def __init__(self, sim=None, overrides=None, start=True, timeout=20):
        self.dir = make_tmpdir("lt-gw-")
        self.sim = sim
        self.overrides = overrides
        self.proc = None
        self.stderr_path = gateway_log_path(self.dir)
        self.stdout_path = os.path.join(self.dir, "stdout.log")
        self.config_path = os.path.join(self.dir, "gateway.json")
        # The admin token, in a file of the gateway's own directory; admin() and run_ctl send it for changes.
        self.admin_token_file = os.path.join(self.dir, "admin.token")
        self.admin_token = write_admin_token(self.admin_token_file)
        self.audit_dir = os.path.join(self.dir, "audit")
        if start:
            self.start(timeout)

    def write_config(self, keep_ports=False):
        if not (keep_ports and getattr(self, "port", None)):
            self.port, self.admin_port = free_port(), free_port()
        self.config = gateway_config(self.port, self.admin_port, self.sim.base_url if self.sim else "https://127.0.0.1:1",
                                     self.overrides, admin_token_file=self.admin_token_file,
                                     audit_dir=self.audit_dir)
        _ADMIN_TOKEN_FILES[self.admin_port] = self.admin_token_file
        with open(self.config_path, "w", encoding="utf-8") as f:
            json.dump(self.config, f, indent=2, ensure_ascii=False)

    def start(self, timeout=20, keep_ports=False):
        """Starts the gateway; keep_ports restarts it on the ports it had (after a crash, say)."""
        require_binary(GATEWAY_BIN)
        last = ""
        for _attempt in range(3):
            self.write_config(keep_ports)
            with open(self.stderr_path, "ab") as errf, open(self.stdout_path, "ab") as outf:
                self.proc = spawn([GATEWAY_BIN, "--config", self.config_path], stdin=subprocess.DEVNULL,
                                  stdout=outf, stderr=errf, cwd=self.dir)
            ok, why = self._wait_ready(timeout)
            if ok:
                return self
            last = why
            if self.proc.poll() is None:  # alive but not ready: not a port race
                break
        self.kill()
        raise AssertionError("gateway not ready: %s\n--- gateway stderr ---\n%s" % (last, self.stderr_tail()))

    def _wait_ready(self, timeout):
        deadline = time.time() + timeout
        why = "timeout after %ss" % timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return False, "exited with %s" % self.proc.returncode
            try:
                r = http_request(self.admin_port, "GET", "/readyz", timeout=2)
                if r.status == 200:
                    p = tls_probe(self.port, cert="portal", timeout=3,
                                  payload=b"GET /readyz-probe HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                    if p["received"].startswith(b"HTTP/"):
                        return True, ""
                    why = "api TLS probe: %s %r" % (p["error"], p["received"][:100])
                else:
                    why = "/readyz %s %r" % (r.status, r.body[:200])
            except (OSError, http.client.HTTPException) as e:
                why = repr(e)
            time.sleep(0.05)
        return False, why

    def stderr_tail(self, lines=40):
        return tail(self.stderr_path, lines)

    def diag(self, msg=""):
        """Message for assertions: what failed plus the tail of the gateway's stderr."""
        return "%s\n--- gateway stderr (tail) ---\n%s" % (msg, self.stderr_tail())

    # requests
    def request(self, method, path, body=None, headers=None, **kw):
        return https_request(self.port, method, path, body=body, headers=headers, **kw)

    def lookup(self, ident, request_id=None, headers=None, path="/v1/citizens/lookup", **kw):
        h = officer_headers(request_id)
        if headers:
            h.update(headers)
            h = {k: v for k, v in h.items() if v is not None}
        return self.request("POST", path, body=ident, headers=h, **kw)

    def verify(self, ident, **kw):
        return self.lookup(ident, path="/v1/citizens/verify", **kw)

    def admin(self, method, path, body=None, headers=None, token=True):
        """An admin request. A change (POST) carries this gateway's admin token unless token is False (or another
        token, as a string)."""
        token = self.admin_token if token is True else token
        return http_request(self.admin_port, method, path, body=body, headers=_with_admin_token(headers, method, token))

    def admin_raw(self, method, path, body, headers, token=True):
        """An admin request with exactly these bytes and headers (no JSON encoding), and the admin token as admin()
        sends it."""
        token = self.admin_token if token is True else token
        return http_request(self.admin_port, method, path, body=body, headers=_with_admin_token(headers, method, token))

    # lifecycle
    def signal(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)

    def stop(self, timeout=15):
        """SIGTERM, wait, and return the exit code (None if it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None
        forget(self.proc)
        return rc

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc is not None:
            forget(self.proc)
            if self.proc.stdout is not None:
                self.proc.stdout.close()


def run_gateway(args, timeout=20, cwd=None):
    """Runs the gateway binary to completion (--check-config, --help, --version). Returns (rc, stdout+stderr text)."""
    require_binary(GATEWAY_BIN)
    r = subprocess.run([GATEWAY_BIN] + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout, cwd=cwd, preexec_fn=_child_dies_with_parent)
    return r.returncode, r.stdout.decode("utf-8", errors="replace") + r.stderr.decode("utf-8", errors="replace")


def project_version():
    with open(os.path.join(SOURCE_DIR, "CMakeLists.txt"), encoding="utf-8") as f:
        m = re.search(r"project\(\s*\w+\s+VERSION\s+([0-9][0-9.]*)", f.read())
    return m.group(1) if m else None


# ---- JSON Schemas (schemas/) ----------------------------------------------------------------------------

_SCHEMA_STORE = None


def _schemas():
    """Every schema in schemas/, keyed by its $id and its file name, so relative $refs resolve."""
    global _SCHEMA_STORE
    if _SCHEMA_STORE is None:
        store = {}
        folder = os.path.join(SOURCE_DIR, "schemas")
        for name in sorted(os.listdir(folder)):
            if name.endswith(".schema.json"):
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    doc = json.load(f)
                store[doc["$id"]] = doc
                store[name] = doc
        _SCHEMA_STORE = store
    return _SCHEMA_STORE


def validate(document, schema_file, withheld=()):
    """Raises AssertionError naming the first violation when document does not match schemas/<schema_file>.
    Fields named in `withheld` (the answer's source.withheld, docs/api.md "Field projection") may be absent, and
    nothing else may."""
    import jsonschema  # Debian's python3-jsonschema, installed by `make test`

    store = _schemas()
    schema = store[schema_file]
    if withheld:
        schema = dict(schema, required=[k for k in schema.get("required", []) if k not in withheld])
        present = [k for k in withheld if k in document]
        if present:
            raise AssertionError("%s: withheld field(s) %s are in the answer" % (schema_file, present))
    resolver = jsonschema.RefResolver(base_uri=schema["$id"], referrer=schema, store=store)
    validator = jsonschema.Draft202012Validator(schema, resolver=resolver)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    if errors:
        e = errors[0]
        raise AssertionError("%s: %s at /%s" % (schema_file, e.message, "/".join(str(p) for p in e.path)))


# ---- certificates made at test time, lienthong-ctl, headless chromium ------------------------------

CTL_BIN = os.path.join(BUILD_DIR, "lienthong-ctl")

_LEAF_EXT = {
    "client": "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n",
    "server": "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
              "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
}


def make_leaf_cert(cn, days, kind="client", issuer="national-ca"):
    """A certificate of the test PKI's `issuer` CA that expires `days` days from now, made now with openssl (ECDSA
    P-256 as certs/gen-pki.sh makes them). Returns (cert path, key path)."""
    d = make_tmpdir("lt-leaf-")
    key, csr, crt, ext = (os.path.join(d, cn + s) for s in (".key", ".csr", ".crt", ".ext"))
    with open(ext, "w") as f:
        f.write(_LEAF_EXT[kind])
    steps = [
        ["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key],
        ["openssl", "req", "-new", "-key", key, "-subj", "/C=VN/O=Lien Thong Test/CN=" + cn, "-out", csr],
        ["openssl", "x509", "-req", "-in", csr, "-CA", pki_path(issuer + ".crt"), "-CAkey", pki_path(issuer + ".key"),
         "-set_serial", "0x" + os.urandom(16).hex(), "-days", str(days), "-sha256", "-extfile", ext, "-out", crt],
    ]
    for argv in steps:
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        if r.returncode != 0:
            raise AssertionError("%s failed: %s" % (" ".join(argv[:2]), r.stdout.decode(errors="replace")))
    return crt, key


def run_ctl(*args, admin_port=None, token_file=None, timeout=20, env=None):
    """Runs lienthong-ctl to completion. Returns (exit code, stdout text, stderr text). With admin_port, it passes
    --token-file with that gateway's admin token file (token_file False: none; a path: that one). env: extra
    environment variables; LIENTHONG_* of the test process are never passed on."""
    require_binary(CTL_BIN)
    if token_file is None:
        token_file = _ADMIN_TOKEN_FILES.get(admin_port)
    argv = ([CTL_BIN] + (["--admin", "http://%s:%d" % (HOST, admin_port)] if admin_port else [])
            + (["--token-file", token_file] if token_file else []) + list(args))
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LIENTHONG_")}
    environ.update(env or {})
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, preexec_fn=_child_dies_with_parent, env=environ)
    return r.returncode, r.stdout.decode("utf-8", errors="replace"), r.stderr.decode("utf-8", errors="replace")


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# No network beyond the page: this machine's network is closed, and a browser that phones home waits on it.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium(url, *extra, timeout=90):
    """Debian's headless chromium on url with a fresh profile. Returns (exit code, stdout text, stderr text)."""
    require_binary(CHROMIUM)
    profile = make_tmpdir("lt-chromium-")
    argv = [CHROMIUM] + CHROMIUM_FLAGS + ["--user-data-dir=" + profile] + list(extra) + [url]
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, preexec_fn=_child_dies_with_parent)
    return r.returncode, r.stdout.decode("utf-8", errors="replace"), r.stderr.decode("utf-8", errors="replace")


def wait_for(predicate, timeout=15, interval=0.1, what="condition"):
    """Polls predicate() until it returns a true value (returned), or fails after timeout seconds."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))
