"""Dossier synchronisation test environment: a gateway with a dossiers section and the national public-service
portal simulator (lienthong-sim --system public-portal, written from icd/national-portal.md), plus the one-stop
system's side: canonical snapshots and steps handed over over mutual TLS, retried the way a client does when it
gets no answer.

Used by test_dossiers.py.
"""

import http.client
import os
import ssl
import threading
import time

import harness
from harness import HOST, Gateway, Sim, client_context, make_tmpdir, pki_path

USERNAME = "lienthong-dev"
DSTCODE = "LTDEV-DST"
UNIT_CODE = "000.00.00.H53"
WHO = {"X-Officer-Id": "CB-000123", "X-Purpose": "dong-bo-ho-so"}


class PortalSim(Sim):
    """The national public-service portal on free ports. Its adapter URL is base_url + "/adapter"."""

    def __init__(self, **kw):
        super().__init__("public-portal", **kw)

    @property
    def adapter_url(self):
        return self.base_url + "/adapter"

    def dossiers(self):
        return {d["MaHoSo"]: d for d in self.control("GET", "/dossiers").json["dossiers"]}

    def dossier(self, dossier_id):
        found = self.control("GET", "/dossiers?id=" + dossier_id).json["dossiers"]
        return found[0] if found else None

    def calls(self):
        return self.control("GET", "/calls").json

    def counts(self):
        return self.calls()["counts"]

    def configure(self, **settings):
        return self.control("POST", "/config", settings).json

    def expire_sessions(self):
        return self.control("POST", "/expire")

    def down(self):
        """Every request answers HTTP 503 (its maintenance window)."""
        self.set_fault("html503")

    def up(self):
        self.clear_faults()


def journal_store(directory=None):
    return {"backend": "journal", "journal_dir": directory or os.path.join(make_tmpdir("lt-dos-"), "dossiers")}


class RedisStoreMixin:
    """A test case's dossier store on a durable redis-server of its own, killed after the test (before a base
    class's make_store in the MRO)."""

    def make_store(self):
        self.redis = harness.durable_redis()
        return redis_store(self.redis)

    def tearDown(self):
        super().tearDown()
        self.redis.kill()


def redis_store(redis, prefix="lt:dos:"):
    return {"backend": "redis", "redis": {"address": redis.address, "prefix": prefix}}


def dossiers_overrides(portal, store, outbox=None, portal_extra=None, indicators=None):
    section = {
        "portal": {"url": portal.adapter_url if portal else "https://127.0.0.1:1/adapter",
                   "ca": pki_path("national-ca.crt"), "username": USERNAME,
                   "password_file": pki_path("public-portal.secret"), "dstcode": DSTCODE, "unit_code": UNIT_CODE,
                   "timeout_ms": 5000, "connect_timeout_ms": 1000},
        "store": store,
        # Fast enough for tests, and at the ICD's pace (5 calls/s): min_interval_ms keeps the simulator's
        # limit unhit unless a test wants its 429.
        "outbox": {"poll_ms": 50, "min_interval_ms": 210, "base_delay_ms": 50, "max_delay_ms": 400},
    }
    section = harness.deep_merge(section, {"outbox": outbox or {}, "portal": portal_extra or {}})
    if indicators is not None:
        section["indicators"] = indicators
    return {"dossiers": section}


class DossierGateway(Gateway):
    def __init__(self, portal, store=None, outbox=None, portal_extra=None, indicators=None, start=True):
        self.store = store or journal_store()
        super().__init__(overrides=dossiers_overrides(portal, self.store, outbox, portal_extra, indicators),
                         start=start)

    def put(self, dossier_id, body, headers=None, **kw):
        h = dict(WHO, **(headers or {}))
        return self.request("PUT", "/v1/dossiers/" + dossier_id, body=body, headers=h, **kw)

    def step(self, dossier_id, body, headers=None, **kw):
        h = dict(WHO, **(headers or {}))
        return self.request("POST", "/v1/dossiers/%s/steps" % dossier_id, body=body, headers=h, **kw)

    def sync(self, dossier_id):
        return self.request("GET", "/v1/dossiers/%s/sync" % dossier_id)

    def outbox(self, state="all"):
        r = self.admin("GET", "/dossiers/outbox?state=" + state)
        assert r.status == 200, r.body
        return r.json["records"]

    def status(self):
        return self.admin("GET", "/status.json").json

    def metric(self, line_prefix):
        """The value of the first /metrics line that starts with line_prefix (None when absent)."""
        for line in self.admin("GET", "/metrics").body.decode().splitlines():
            if line.startswith(line_prefix + " "):
                return float(line.split()[-1])
        return None


# ---- the one-stop system's records ------------------------------------------------------------------------

def dossier_id(i):
    return "000.00.12.H53-261122-%04d" % i


def snapshot(version, status="received", **extra):
    body = {"version": version, "procedure_code": "1.001612.000.00.00.H53", "procedure_name": "Đăng ký khai sinh",
            "receipt_number": "BN-%06d" % version, "applicant_name": "Nguyễn Thị Hồng Nhung",
            "applicant_type": "citizen", "applicant_id": "034195001234",
            "received_at": "2026-11-22T09:00:00+07:00", "due_at": "2026-11-29T17:00:00+07:00", "status": status,
            "processing_unit": "UBND xã Tân Hòa", "note": "phiên bản %d" % version,
            "fees": [{"name": "Lệ phí khai sinh", "code": "LP01", "amount_vnd": 150000}]}
    body.update(extra)
    return body


def step(seq, **extra):
    body = {"seq": seq, "officer_name": "Trần Văn Bình", "officer_title": "Công chức tư pháp",
            "processed_at": "2026-11-22T%02d:%02d:00+07:00" % (9 + seq // 60, seq % 60),
            "department": "Bộ phận một cửa", "content": "Bước %d" % seq, "status": "processing"}
    body.update(extra)
    return body


class Sender:
    """The one-stop system: hands records over on kept-alive mutual-TLS connections, and sends a record again
    when it got no answer or a 503 (the gateway down, restarting, or its store unavailable), until the gateway
    answers 202, 200 or 409."""

    FINAL = (200, 202, 409)

    def __init__(self, gw):
        self.gw = gw
        self.answers = []  # (kind, dossier id, number, status, problem type)
        self.lock = threading.Lock()
        self.done = 0
        self.resends = 0

    def _send(self, conn, method, path, body):
        headers = dict(WHO)
        try:
            r = conn.request(method, path, body=body, headers=headers)
            return r
        except (OSError, http.client.HTTPException, ssl.SSLError):
            return None

    def _connect(self):
        while True:
            try:
                return harness.KeepAliveClient(self.gw.port, timeout=10).connect()
            except (OSError, ssl.SSLError):
                time.sleep(0.05)

    def run_one(self, items):
        conn = self._connect()
        for kind, did, body in items:
            path = "/v1/dossiers/" + did + ("/steps" if kind == "step" else "")
            method = "POST" if kind == "step" else "PUT"
            while True:
                r = self._send(conn, method, path, body)
                if r is not None and r.status in self.FINAL:
                    break
                with self.lock:
                    self.resends += 1
                conn.close()
                time.sleep(0.05)
                conn = self._connect()
            with self.lock:
                self.done += 1
                number = body.get("seq") if kind == "step" else body.get("version")
                ptype = (r.json or {}).get("type") if r.status == 409 else None
                self.answers.append((kind, did, number, r.status, ptype))
        conn.close()

    def run(self, items, threads=4, background=False):
        """items: (kind "snapshot"|"step", dossier id, body). Each thread keeps its share in order; a dossier's
        records all go through one thread, in the order given."""
        shares = [[] for _ in range(threads)]
        for kind, did, body in items:
            shares[hash(did) % threads].append((kind, did, body))
        self.threads = [threading.Thread(target=self.run_one, args=(share,), daemon=True) for share in shares]
        for t in self.threads:
            t.start()
        if not background:
            self.join()
        return self

    def join(self, timeout=300):
        for t in self.threads:
            t.join(timeout)
        assert not any(t.is_alive() for t in self.threads), "the one-stop system did not finish handing over"
