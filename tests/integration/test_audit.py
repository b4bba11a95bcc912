"""The audit trail of personal-data operations, end to end, and lienthong-audit over what the gateway wrote.

What is counted comes from outside the gateway: the trail's own files read back line by line (their chain checked
here with hashlib, not with the gateway's code), the simulator's request counter, the answers the caller got, and
the gateway's stderr. The trail's record format is docs/operations.md's ("The audit trail").
"""
import datetime
import hashlib
import json
import os
import shutil
import socket
import subprocess
import unittest
import uuid

import harness as h
import payenv

SEED = 31
LOOKUP = "/v1/citizens/lookup"
VERIFY = "/v1/citizens/verify"
AUDIT_BIN = os.path.join(h.BUILD_DIR, "lienthong-audit")
GENESIS = "0" * 64

_ROWS = None


def person(i):
    """The i-th identity the simulator holds (full birth dates only)."""
    global _ROWS
    if _ROWS is None:
        _ROWS = [r for r in h.sim_sample(60, SEED) if len(r["birth_date"]) == 10]
    r = _ROWS[i]
    return {"id": r["id"], "full_name": r["full_name"], "birth_date": r["birth_date"]}


def rid():
    return str(uuid.uuid4())


def trail_files(directory):
    return [os.path.join(directory, f) for f in sorted(os.listdir(directory))
            if f.startswith("audit-") and f.endswith(".jsonl")]


def trail(directory):
    """Every record, in the trail's order, with the chain checked here: each prev is the SHA-256 of the line before."""
    records, prev = [], None
    for path in trail_files(directory):
        with open(path, "rb") as f:
            for line in f.read().splitlines():
                rec = json.loads(line)
                if prev is not None:
                    assert rec["prev"] == prev, "%s: the chain breaks at seq %s" % (path, rec["seq"])
                prev = hashlib.sha256(line).hexdigest()
                records.append(rec)
    return records


def audit(*args):
    h.require_binary(AUDIT_BIN)
    r = subprocess.run([AUDIT_BIN] + [str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    return r.returncode, r.stdout.decode("utf-8", errors="replace") + r.stderr.decode("utf-8", errors="replace")


def lookup(gw, body, request_id=None, cert="portal", path=LOOKUP, **headers):
    hdrs = h.officer_headers(request_id)
    for k, v in headers.items():
        name = k.replace("_", "-")
        if v is None:
            hdrs.pop(name, None)
        else:
            hdrs[name] = v
    return h.https_request(gw.port, "POST", path, body=body, headers=hdrs, cert=cert)


class Logs:
    """The gateway's ordinary log must name no one: neither a full identifier nor a name the test used."""

    def assertLogNamesNoOne(self, gw, people, request_ids):
        """No identifier or name in the ordinary log, read once it holds the access line of every request given: an
        access line is written after its answer, so a log read at once could miss the last requests' lines."""

        def log_with_every_request():
            with open(gw.stderr_path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            return text if all("access request_id=%s " % x in text for x in request_ids) else None

        log = h.wait_for(log_with_every_request, what="the access lines of the test's requests")
        for p in people:
            self.assertNotIn(p["id"], log, "a full identifier in the ordinary log")
            self.assertNotIn(p["full_name"], log, "a name in the ordinary log")


class TestRecords(unittest.TestCase, Logs):
    """Every answer of a personal-data route is one record, with what happened."""

    @classmethod
    def setUpClass(cls):
        cls.sim = h.Sim(seed=SEED)
        cache = {"backend": "memory", "keys": h.cache_keys(), "ttl_s": 60, "not_found_ttl_s": 60, "max_stale_s": 60}
        cls.gw = h.Gateway(sim=cls.sim, overrides={"cache": cache})

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()
        cls.sim.stop()

    def test_every_answer_is_one_record_with_what_happened(self):
        gw = self.gw
        a, b = person(0), person(1)
        before = {r["request_id"] for r in trail(gw.audit_dir)}
        started = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)
        calls_before = self.sim.requests()
        # (request id, what the caller got, expected record fields)
        made = []

        def record(expect, r, request_id):
            made.append((request_id, r, expect))

        x = rid()
        record({"status": 200, "cache": "miss", "subject": a["id"], "operation": "population.lookup"},
               lookup(gw, a, x), x)
        for _ in range(2):
            x = rid()
            record({"status": 200, "cache": "hit", "subject": a["id"], "operation": "population.lookup"},
                   lookup(gw, a, x), x)
        x = rid()
        record({"status": 200, "cache": "miss", "subject": b["id"], "operation": "population.lookup"},
               lookup(gw, b, x), x)
        x = rid()
        record({"status": 200, "cache": "miss", "subject": a["id"], "operation": "population.verify"},
               lookup(gw, a, x, path=VERIFY), x)
        x = rid()
        unknown = dict(b, full_name=b["full_name"] + " Thị")
        record({"status": 404, "cache": "miss", "subject": b["id"], "code": "DC-404"}, lookup(gw, unknown, x), x)
        # Refusals: not allowed (a listed client), not listed (before routing), bad accountability, bad input.
        x = rid()
        record({"status": 403, "code": "operation_not_allowed", "client": "district-office", "subject": None,
                "operation": "population.lookup", "officer": None, "purpose": None},
               lookup(gw, a, x, cert="district-office"), x)
        x = rid()
        record({"status": 403, "code": "client_not_listed", "client": "-", "operation": "-", "subject": None,
                "officer": None, "purpose": None}, lookup(gw, a, x, cert="other-portal"), x)
        x = rid()
        record({"status": 400, "code": "invalid_purpose", "purpose": None, "officer": "CB-000123", "subject": None},
               lookup(gw, a, x, X_Purpose="HS-2025-\xffsecret-purpose"), x)
        x = rid()
        record({"status": 400, "code": "missing_officer", "officer": None, "purpose": None},
               lookup(gw, a, x, X_Officer_Id=None), x)
        x = rid()
        record({"status": 400, "code": "invalid_identifier", "subject": "12345"}, lookup(gw, dict(a, id="12345"), x),
               x)
        answered = [r for _, r, _ in made]
        self.assertEqual([r.status for r in answered], [e["status"] for _, _, e in made], [r.json for r in answered])
        # Two lookups and a verify, two misses and a not-found reached the national system; the hits did not.
        self.assertEqual(self.sim.requests() - calls_before, 4)

        records = [r for r in trail(gw.audit_dir) if r["request_id"] not in before]
        self.assertEqual(len(records), len(made), "exactly one record per answer")
        by_id = {r["request_id"]: r for r in records}
        self.assertEqual(set(by_id), {x for x, _, _ in made})
        ended = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=1)
        for x, answer, expect in made:
            rec = by_id[x]
            want = {"client": "portal", "officer": "CB-000123", "purpose": "HS-2025-000042", "procedure": None,
                    "operation": "population.lookup", "cache": "none", "code": None, "withheld": [],
                    "instance": "itest"}
            want.update(expect)
            for key, value in want.items():
                self.assertEqual(rec[key], value, "%s of %s (%s)" % (key, x, rec))
            self.assertTrue(rec["time"].endswith("+07:00"), rec["time"])
            at = datetime.datetime.fromisoformat(rec["time"])
            self.assertTrue(started <= at <= ended, rec["time"])
            if answer.status == 200:
                # What was released is what the caller received: the record's fields, without the gateway's source.
                self.assertEqual(rec["released"], [k for k in answer.json if k != "source"])
            else:
                self.assertEqual(rec["released"], [])
        # The purpose refused is not kept, anywhere in the trail.
        with open(trail_files(gw.audit_dir)[-1], encoding="utf-8") as f:
            self.assertNotIn("secret-purpose", f.read())
        # A stored copy came from no call of this request; a call that went out carries its message id.
        hit = by_id[made[1][0]]
        self.assertIsNone(hit["message_id"])
        self.assertEqual(by_id[made[0][0]]["message_id"], made[0][0])
        self.assertLogNamesNoOne(gw, [a, b], [x for x, _, _ in made])

    def raw_lookup(self, body, purpose, request_id):
        """A lookup sent as bytes: a NUL or a control character in X-Purpose, which no HTTP library would send."""
        payload = json.dumps(body).encode()
        # X-Request-Id first: the head check stops reading at the bad field.
        head = (b"POST " + LOOKUP.encode() + b" HTTP/1.1\r\nHost: localhost\r\nX-Request-Id: " + request_id.encode() +
                b"\r\nContent-Type: application/json\r\nX-Officer-Id: CB-000123\r\nX-Purpose: " + purpose +
                b"\r\nContent-Length: %d\r\n\r\n" % len(payload))
        raw = socket.create_connection(("127.0.0.1", self.gw.port), timeout=15)
        with h.client_context("portal").wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(head + payload)
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
                if b"\r\n\r\n" in data and data.endswith(b"}"):
                    break
        return int(data.split(b" ", 2)[1]), json.loads(data.partition(b"\r\n\r\n")[2])

    def test_a_purpose_with_a_nul_or_a_control_character_is_refused_and_audited_without_its_value(self):
        a = person(3)
        before = self.sim.requests()
        cases = {"nul-purpose-" + uuid.uuid4().hex[:8]: (b"HS-1\x00secret-nul-purpose", "bad_header_value"),
                 "ctl-purpose-" + uuid.uuid4().hex[:8]: (b"HS-1\x01secret-ctl-purpose", "bad_header_value")}
        for request_id, (purpose, code) in cases.items():
            status, problem = self.raw_lookup(a, purpose, request_id)
            self.assertEqual((status, problem["type"]), (400, "urn:lienthong:problem:" + code), problem)
            self.assertEqual(problem["request_id"], request_id)
        self.assertEqual(self.sim.requests(), before, "nothing reached the national system")
        # A refusal of the head check discloses nothing, so its answer does not wait for its record: the record
        # follows it, and is waited for here.
        def refusals():
            return {r["request_id"]: r for r in trail(self.gw.audit_dir) if r["request_id"] in cases}
        h.wait_for(lambda: len(refusals()) == len(cases), timeout=30, what="both refusals in the trail")
        records = refusals()
        self.assertEqual(set(records), set(cases), "each refusal is one record")
        for request_id, (_, code) in cases.items():
            rec = records[request_id]
            self.assertEqual((rec["client"], rec["operation"], rec["status"], rec["code"], rec["purpose"],
                              rec["released"]), ("portal", "population.lookup", 400, code, None, []), rec)
        # The refused value is never kept.
        for path in trail_files(self.gw.audit_dir):
            with open(path, "rb") as f:
                text = f.read()
            self.assertNotIn(b"secret-nul-purpose", text)
            self.assertNotIn(b"secret-ctl-purpose", text)

    def test_files_are_readable_by_the_owner_only(self):
        lookup(self.gw, person(2))
        names = os.listdir(self.gw.audit_dir)
        self.assertTrue(any(n.endswith(".jsonl") for n in names), names)
        for name in names:
            mode = os.stat(os.path.join(self.gw.audit_dir, name)).st_mode & 0o777
            self.assertEqual(mode, 0o600, name)
        self.assertEqual(os.stat(self.gw.audit_dir).st_mode & 0o777, 0o700)


class TestPayments(unittest.TestCase):
    """A payment created and read is personal data too: each answer is a record."""

    def test_create_and_read_are_recorded(self):
        gw = payenv.PayGateway(None, None, payenv.journal_store())
        try:
            created = gw.create(key="audit-1")
            self.assertEqual(created.status, 201, created.body)
            pid = created.json["payment_id"]
            read = gw.payment(pid)
            self.assertEqual(read.status, 200, read.body)
            missing = gw.payment("LT00000000-0000000000000000")
            self.assertEqual(missing.status, 404)
            records = trail(gw.audit_dir)
            self.assertEqual([(r["operation"], r["status"], r["subject"]) for r in records],
                             [("payments.create", 201, pid), ("payments.read", 200, pid),
                              ("payments.read", 404, "LT00000000-0000000000000000")])
            self.assertEqual(records[0]["released"], list(created.json))
            self.assertEqual(records[1]["released"], list(read.json))
            self.assertEqual({r["client"] for r in records}, {"portal"})
        finally:
            gw.stop()


class TestChain(unittest.TestCase):
    """lienthong-audit verify: an intact trail across rotations and restarts passes; any edit is named."""

    @classmethod
    def setUpClass(cls):
        cls.sim = h.Sim(seed=SEED)
        # 4 KiB files hold a handful of records each: the trail rotates several times.
        cls.gw = h.Gateway(sim=cls.sim, overrides={"audit": {"rotate_bytes": 4096}})
        for i in range(14):
            r = lookup(cls.gw, person(i % 7), path=VERIFY)
            assert r.status == 200, r
        cls.gw.stop()
        cls.gw.start(keep_ports=True)  # a restart continues the chain in a new file
        for i in range(3):
            lookup(cls.gw, person(i))
        cls.gw.stop()
        cls.files = trail_files(cls.gw.audit_dir)

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def copy(self):
        d = os.path.join(h.make_tmpdir("lt-audit-copy-"), "audit")
        shutil.copytree(self.gw.audit_dir, d)
        return d, trail_files(d)

    @staticmethod
    def lines(path):
        with open(path, "rb") as f:
            return f.read().splitlines(keepends=True)

    @staticmethod
    def write(path, lines):
        with open(path, "wb") as f:
            f.writelines(lines)

    def assertBadAt(self, d, path, line):
        rc, out = audit("verify", d)
        self.assertEqual(rc, 1, out)
        self.assertIn("%s:%d:" % (path, line), out)
        self.assertIn("NOT intact", out)

    def test_intact_trail_across_rotations_and_a_restart(self):
        self.assertGreaterEqual(len(self.files), 3, "the trail rotated, and the restart began a file")
        records = trail(self.gw.audit_dir)  # the chain, checked here
        self.assertEqual(len(records), 17)
        self.assertEqual([r["seq"] for r in records], list(range(1, 18)))
        self.assertEqual(records[0]["prev"], GENESIS)
        rc, out = audit("verify", self.gw.audit_dir)
        self.assertEqual(rc, 0, out)
        self.assertIn("intact: 17 records", out)
        self.assertIn(hashlib.sha256(self.lines(self.files[-1])[-1].rstrip(b"\n")).hexdigest(), out, "the head")
        # Files named one by one, in order, are the same trail.
        rc, out = audit("verify", *self.files)
        self.assertEqual(rc, 0, out)

    def test_a_flipped_byte_is_named(self):
        d, files = self.copy()
        lines = self.lines(files[0])
        self.assertGreaterEqual(len(lines), 4)
        lines[2] = lines[2].replace(b'"officer":"CB-000123"', b'"officer":"CB-000124"')
        self.write(files[0], lines)
        self.assertBadAt(d, files[0], 3)

    def test_a_flipped_byte_anywhere_is_named(self):
        d, files = self.copy()
        with open(files[1], "rb") as f:
            data = bytearray(f.read())
        first = data.index(b"\n")
        data[first + 40] ^= 0x01  # in the second line of the second file
        with open(files[1], "wb") as f:
            f.write(bytes(data))
        self.assertBadAt(d, files[1], 2)

    def test_a_removed_line_is_named(self):
        d, files = self.copy()
        lines = self.lines(files[0])
        del lines[2]
        self.write(files[0], lines)
        self.assertBadAt(d, files[0], 3)

    def test_two_swapped_lines_are_named(self):
        d, files = self.copy()
        lines = self.lines(files[0])
        lines[1], lines[2] = lines[2], lines[1]
        self.write(files[0], lines)
        self.assertBadAt(d, files[0], 2)

    def test_a_removed_first_line_of_a_rotated_file_is_named(self):
        d, files = self.copy()
        self.write(files[1], self.lines(files[1])[1:])
        self.assertBadAt(d, files[1], 1)

    def test_an_inserted_line_is_named(self):
        d, files = self.copy()
        lines = self.lines(files[0])
        lines.insert(2, lines[1])
        self.write(files[0], lines)
        self.assertBadAt(d, files[0], 3)

    def test_a_removed_file_is_named(self):
        d, files = self.copy()
        os.unlink(files[1])
        self.assertBadAt(d, files[2], 1)


class TestTornWrite(unittest.TestCase):
    """A write cut short by a crash leaves an unfinished last line: the gateway goes on after the last whole one."""

    def test_the_chain_continues_after_an_unfinished_line(self):
        sim = h.Sim(seed=SEED)
        gw = h.Gateway(sim=sim)
        try:
            for i in range(2):
                self.assertEqual(lookup(gw, person(i), path=VERIFY).status, 200)
            gw.kill()
            last = trail_files(gw.audit_dir)[-1]
            with open(last, "ab") as f:
                f.write(b'{"prev":"5e3a')  # what a torn write leaves
            gw.start(keep_ports=True)
            x = rid()
            self.assertEqual(lookup(gw, person(2), x, path=VERIFY).status, 200)
            gw.stop()
            rc, out = audit("verify", gw.audit_dir)
            self.assertEqual(rc, 0, out)
            self.assertIn("%s:3: warning: an unfinished last line" % last, out)
            self.assertIn("intact: 3 records", out)
            self.assertIn("unfinished line", gw.stderr_tail(60))
        finally:
            gw.stop()
            sim.stop()


class TestWhoRead(unittest.TestCase):
    """lienthong-audit who-read: exactly one subject's accesses, with who, why and what."""

    @classmethod
    def setUpClass(cls):
        cls.sim = h.Sim(seed=SEED)
        cls.gw = h.Gateway(sim=cls.sim, overrides={"audit": {"rotate_bytes": 4096}})
        cls.a, cls.b = person(3), person(4)
        cls.mine = []
        for i in range(8):  # another subject's accesses, around and between the test subject's
            lookup(cls.gw, person(5 + i % 3))
            if i % 3 == 0:
                x = rid()
                assert lookup(cls.gw, cls.b, x, X_Purpose="HS-B-%d" % i).status == 200
        for purpose, path in (("HS-2025-000100", LOOKUP), ("HS-2025-000101", VERIFY)):
            x = rid()
            r = lookup(cls.gw, cls.a, x, X_Purpose=purpose, path=path)
            assert r.status == 200, r
            cls.mine.append((x, purpose, path, [k for k in r.json if k != "source"]))
        x = rid()
        r = lookup(cls.gw, cls.a, x, cert="district-office", X_Officer_Id="CB-777", X_Purpose="HS-2025-000102",
                   path=VERIFY)
        assert r.status == 200, r
        cls.mine.append((x, "HS-2025-000102", VERIFY, [k for k in r.json if k != "source"]))
        for i in range(3):
            lookup(cls.gw, person(5 + i))

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()
        cls.sim.stop()

    def who_read(self, *args):
        rc, out = audit("who-read", self.a["id"], "--json", *args, self.gw.audit_dir)
        self.assertEqual(rc, 0, out)
        return json.loads(out)

    def assertExactlyMine(self, found):
        self.assertEqual([f["request_id"] for f in found], [x for x, _, _, _ in self.mine])
        for f, (x, purpose, path, fields) in zip(found, self.mine):
            self.assertEqual(f["purpose"], purpose)
            self.assertEqual(f["operation"], "population.lookup" if path == LOOKUP else "population.verify")
            self.assertEqual(f["released"], fields)
            self.assertEqual(f["status"], 200)
        self.assertEqual([(f["client"], f["officer"]) for f in found],
                         [("portal", "CB-000123"), ("portal", "CB-000123"), ("district-office", "CB-777")])

    def test_exactly_the_subjects_accesses(self):
        self.assertGreaterEqual(len(trail_files(self.gw.audit_dir)), 2, "spread over rotated files")
        self.assertExactlyMine(self.who_read())

    def test_without_the_index_the_answer_is_the_same(self):
        self.assertExactlyMine(self.who_read("--scan"))
        d = os.path.join(h.make_tmpdir("lt-audit-noidx-"), "audit")
        shutil.copytree(self.gw.audit_dir, d)
        for name in os.listdir(d):
            if name.endswith(".idx"):
                os.unlink(os.path.join(d, name))
        rc, out = audit("who-read", self.a["id"], "--json", d)
        self.assertEqual(rc, 0, out)
        self.assertExactlyMine(json.loads(out))

    def test_the_time_range(self):
        found = self.who_read()
        second = found[1]["time"]
        self.assertEqual([f["request_id"] for f in self.who_read("--from", second)],
                         [x for x, _, _, _ in self.mine[1:]])
        self.assertEqual(self.who_read("--to", "2001-01-01"), [])
        # Dates alone: from the first day's start to the last day's end.
        self.assertEqual(len(self.who_read("--from", found[0]["time"][:10], "--to", found[-1]["time"][:10])), 3)

    def test_text_output_and_the_other_subject(self):
        rc, out = audit("who-read", self.a["id"], self.gw.audit_dir)
        self.assertEqual(rc, 0, out)
        self.assertIn("3 records", out)
        self.assertIn("HS-2025-000102", out)
        rc, out = audit("who-read", self.b["id"], "--json", self.gw.audit_dir)
        found = json.loads(out)
        self.assertEqual(len(found), 3)
        self.assertFalse({f["request_id"] for f in found} & {x for x, _, _, _ in self.mine})

    def test_the_index_names_no_one(self):
        for name in os.listdir(self.gw.audit_dir):
            if not name.endswith(".jsonl"):
                with open(os.path.join(self.gw.audit_dir, name), encoding="utf-8", errors="replace") as f:
                    text = f.read()
                self.assertNotIn(self.a["id"], text, name)
                self.assertNotIn(self.b["id"], text, name)


class TestUnwritable(unittest.TestCase, Logs):
    """A trail that cannot be written refuses personal-data routes with 503 until it can: nothing unaudited."""

    def test_lookups_answer_503_and_nothing_is_served_unaudited(self):
        sim = h.Sim(seed=SEED)
        gw = h.Gateway(sim=sim)
        try:
            served = []
            for i in range(2):
                x = rid()
                self.assertEqual(lookup(gw, person(i), x).status, 200)
                served.append(x)
            # The trail's directory is gone, and in its place a file: no process can write there, root included.
            moved = gw.audit_dir + ".moved"
            os.rename(gw.audit_dir, moved)
            with open(gw.audit_dir, "w") as f:
                f.write("not a directory\n")
            refused = [rid()]
            first = lookup(gw, person(2), refused[0])
            self.assertEqual(first.status, 503, first.body)
            calls = sim.requests()
            for i in range(5):
                x = rid()
                r = lookup(gw, person(3 + i), x)
                refused.append(x)
                self.assertEqual(r.status, 503, r.body)
                self.assertEqual(r.json["type"], "urn:lienthong:problem:audit_unavailable")
                self.assertEqual(r.header("Retry-After"), "5")
                self.assertNotIn("upstream", r.json)
            self.assertEqual(sim.requests(), calls, "a lookup reached the national system while it could not be audited")
            self.assertEqual(gw.admin("GET", "/readyz").status, 503)
            status = gw.admin("GET", "/status.json").json
            self.assertEqual(status["audit"]["color"], "red")
            self.assertEqual(status["state"], "red")
            # Back: the trail continues where it stopped.
            os.unlink(gw.audit_dir)
            os.rename(moved, gw.audit_dir)
            x = rid()
            h.wait_for(lambda: lookup(gw, person(0), x).status == 200, timeout=30, what="the trail writable again")
            served.append(x)
            records = trail(gw.audit_dir)  # one chain across the outage
            ids = [r["request_id"] for r in records]
            for x in served:
                self.assertIn(x, ids)
            self.assertFalse(set(refused) & set(ids), "a refused answer has a record")
            self.assertTrue(all(r["status"] == 200 for r in records), [r["status"] for r in records])
            rc, out = audit("verify", gw.audit_dir)
            self.assertEqual(rc, 0, out)
            self.assertLogNamesNoOne(gw, [person(i) for i in range(8)], served + refused)
        finally:
            gw.stop()
            sim.stop()


class TestUnusualReading(unittest.TestCase):
    """A client that reads more distinct subjects in an hour than audit.unusual_subjects_per_hour is flagged."""

    def test_flagged_on_metrics_and_status(self):
        sim = h.Sim(seed=SEED)
        gw = h.Gateway(sim=sim, overrides={"audit": {"unusual_subjects_per_hour": 3}})
        try:
            for i in range(4):  # four people: over three
                self.assertEqual(lookup(gw, person(i), path=VERIFY).status, 200)
            for _ in range(5):  # one person, many times: one subject
                self.assertEqual(lookup(gw, person(0), cert="district-office", path=VERIFY).status, 200)
            metrics = gw.admin("GET", "/metrics").body.decode()
            self.assertIn('lienthong_audit_unusual_reading{client="portal"} 1', metrics)
            self.assertIn('lienthong_audit_unusual_reading{client="district-office"} 0', metrics)
            self.assertIn('lienthong_audit_unusual_windows_total{client="portal"} 1', metrics)
            self.assertIn('lienthong_audit_unusual_windows_total{client="district-office"} 0', metrics)
            status = gw.admin("GET", "/status.json").json
            self.assertEqual(status["audit"]["color"], "amber")
            self.assertEqual([u["client"] for u in status["audit"]["unusual"]], ["portal"])
            self.assertIn("client portal read more than 3 distinct subjects", status["audit"]["reason"])
            self.assertNotEqual(status["state"], "green")
            page = gw.admin("GET", "/status").body.decode()
            self.assertIn('id="audit" data-state="amber"', page)
            self.assertIn("client portal read more than 3 distinct subjects", page)
        finally:
            gw.stop()
            sim.stop()


class TestConfig(unittest.TestCase):
    """The audit section is checked like every other: a wrong key or value, or a directory that cannot be
    written, stops start-up with a message that names it."""

    def check(self, audit):
        d = h.make_tmpdir("lt-audit-cfg-")
        cfg = h.gateway_config(h.free_port(), h.free_port())
        cfg["audit"] = audit
        path = os.path.join(d, "gateway.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(cfg, f)
        return h.run_gateway(["--check-config", "--config", path])

    def test_refused_values_are_named(self):
        d = h.make_tmpdir("lt-audit-cfg-")
        for audit, needle in (({"dir": d, "fsync": "sometimes"}, "audit.fsync"),
                              ({"dir": d, "rotate_bytes": 10}, "audit.rotate_bytes"),
                              ({"dir": d, "instance": "gw 1"}, "audit.instance"),
                              ({"dir": d, "fsnyc": "always"}, "audit.fsnyc"),
                              ({"fsync": "always"}, "audit.dir")):
            rc, out = self.check(audit)
            self.assertNotEqual(rc, 0, out)
            self.assertIn(needle, out)
        rc, out = self.check({"dir": os.path.join(d, "new", "audit"), "fsync": "interval"})
        self.assertEqual(rc, 0, out)

    def test_a_directory_that_cannot_be_written_stops_start_up(self):
        d = h.make_tmpdir("lt-audit-cfg-")
        blocker = os.path.join(d, "file")
        with open(blocker, "w") as f:
            f.write("x")
        rc, out = self.check({"dir": os.path.join(blocker, "audit")})
        self.assertNotEqual(rc, 0, out)
        self.assertIn("is not a directory", out)


class TestInventory(unittest.TestCase):
    """lienthong-audit inventory: what each client may do, with which fields and which purpose rule."""

    def test_every_grant_of_the_configuration(self):
        d = h.make_tmpdir("lt-audit-inv-")
        clients = h.dev_clients()
        clients["registry"] = {"issuer": h.PROVINCE_CA_DN, "cn": "registry", "allow": ["population.*"],
                               "fields": {"population.lookup": ["id", "full_name"]},
                               "purpose_pattern": "^HS-[0-9]+$", "require_procedure_code": True}
        cfg = h.gateway_config(h.free_port(), h.free_port(), overrides={"clients": clients},
                               audit_dir=os.path.join(d, "audit"))
        path = os.path.join(d, "gateway.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(cfg, f)
        rc, out = audit("inventory", "--config", path, "--json")
        self.assertEqual(rc, 0, out)
        rows = json.loads(out)["rows"]
        self.assertEqual([(r["client"], r["operation"]) for r in rows],
                         [("portal", "population.lookup"), ("portal", "population.verify"),
                          ("district-office", "population.verify"),
                          ("registry", "population.lookup"), ("registry", "population.verify")])
        registry = {r["operation"]: r for r in rows if r["client"] == "registry"}
        self.assertEqual(registry["population.lookup"]["fields"], ["id", "full_name"])
        self.assertIsNone(registry["population.verify"]["fields"])
        self.assertEqual(registry["population.lookup"]["purpose"],
                         {"officer_required": True, "purpose_pattern": "^HS-[0-9]+$", "procedure_code_required": True})
        self.assertTrue(all(r["personal_data"] for r in rows))
        rc, out = audit("inventory", "--config", path)
        self.assertEqual(rc, 0, out)
        self.assertIn("X-Purpose matching /^HS-[0-9]+$/; X-Procedure-Code required", out)
        self.assertIn("Audit trail: %s" % os.path.join(d, "audit"), out)

    def test_usage(self):
        rc, out = audit("--help")
        self.assertEqual(rc, 0)
        for command in ("verify", "who-read", "inventory"):
            self.assertIn(command, out)
        self.assertEqual(audit("inventory")[0], 2)
        self.assertEqual(audit("verify")[0], 2)
        self.assertEqual(audit("frobnicate")[0], 2)


if __name__ == "__main__":
    unittest.main()
