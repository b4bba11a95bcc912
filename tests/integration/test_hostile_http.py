"""Hostile HTTP on the api listener, over raw mutual-TLS sockets: request-smuggling primitives, a missing Host and
control characters in a header get 400 and never reach the national system; a 10 MB body sent in one go reads
its 413 instead of a reset; slowloris, connections that never start TLS and slow bodies are closed by the gateway
(counted in /metrics), while a good client keeps being served; a client address past its cap is refused at once."""
import asyncio
import datetime
import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
import unittest

import harness as h

SEED = 11
LOOKUP = "/v1/citizens/lookup"


def identity():
    row = next(r for r in h.sim_sample(20, SEED) if len(r["birth_date"]) == 10)
    return {"id": row["id"], "full_name": row["full_name"], "birth_date": row["birth_date"]}


def tls_socket(port, timeout=15):
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return h.client_context("portal").wrap_socket(raw, server_hostname="localhost")


def read_response(s):
    """(status, headers dict lower-cased, body) of one answer, read by its Content-Length; (None, {}, b'') on EOF."""
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            chunk = s.recv(65536)
        except (ConnectionError, ssl.SSLError, OSError):
            chunk = b""
        if not chunk:
            return None, {}, data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    need = int(headers.get("content-length", "0"))
    while len(rest) < need:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, headers, rest[:need]


def lookup_head(body, extra=b"", host=b"Host: localhost\r\n", length=None, version=b"HTTP/1.1"):
    length = b"Content-Length: %d\r\n" % len(body) if length is None else length
    return (b"POST " + LOOKUP.encode() + b" " + version + b"\r\n" + host +
            b"Content-Type: application/json\r\nX-Officer-Id: CB-1\r\nX-Purpose: HS-1\r\n" + length + extra + b"\r\n")


class StrictHeadTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sim = h.Sim("population", seed=SEED)
        cls.gw = h.Gateway(cls.sim)
        cls.body = json.dumps(identity()).encode()

    @classmethod
    def tearDownClass(cls):
        cls.gw.kill()
        cls.sim.kill()

    def exchange(self, payload):
        s = tls_socket(self.gw.port)
        try:
            s.sendall(payload)
            return read_response(s)
        finally:
            s.close()

    def assert_refused(self, payload, code, status=400):
        before = self.sim.requests()
        got, headers, body = self.exchange(payload)
        self.assertEqual(got, status, self.gw.diag(repr((got, body[:300]))))
        self.assertTrue(headers.get("content-type", "").startswith("application/problem+json"), headers)
        problem = json.loads(body)
        h.validate(problem, "problem.schema.json")
        self.assertEqual(problem["type"], "urn:lienthong:problem:" + code)
        self.assertEqual(problem["status"], status)
        self.assertEqual(headers.get("x-request-id"), problem["request_id"])
        self.assertEqual(self.sim.requests(), before, "a refused head never reaches the national system")

    def test_a_good_raw_request_is_served(self):
        """The control: the same bytes without the defect are answered and reach the simulator."""
        before = self.sim.requests()
        status, _, body = self.exchange(lookup_head(self.body) + self.body)
        self.assertEqual(status, 200, body[:300])
        self.assertEqual(self.sim.requests(), before + 1)

    def test_an_answer_carries_one_http_date(self):
        """One Date header, in RFC 9110's IMF-fixdate form (the gateway writes its own, not evhttp's)."""
        s = tls_socket(self.gw.port)
        try:
            s.sendall(lookup_head(self.body) + self.body)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(65536)
                self.assertTrue(chunk, "the connection ended before the answer's head")
                data += chunk
        finally:
            s.close()
        lines = data.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
        self.assertIn(" 200 ", lines[0])
        dates = [v.strip() for k, _, v in (line.partition(":") for line in lines[1:]) if k.lower() == "date"]
        self.assertEqual(len(dates), 1, lines)
        datetime.datetime.strptime(dates[0], "%a, %d %b %Y %H:%M:%S GMT")  # raises on any other form

    def pipelined(self, first_extra, second_extra):
        """Two lookups sent in one write on one connection: the two answers read back (None for one never sent)."""
        one = lookup_head(self.body, extra=first_extra) + self.body
        two = lookup_head(self.body, extra=second_extra) + self.body
        s = tls_socket(self.gw.port)
        try:
            s.sendall(one + two)
            return read_response(s), read_response(s)
        finally:
            s.close()

    def test_pipelined_requests_are_each_answered_in_order(self):
        before = self.sim.requests()
        first, second = self.pipelined(b"X-Request-Id: pipe-1\r\n", b"X-Request-Id: pipe-2\r\n")
        self.assertEqual((first[0], first[1].get("x-request-id")), (200, "pipe-1"))
        self.assertEqual((second[0], second[1].get("x-request-id")), (200, "pipe-2"))
        self.assertEqual(self.sim.requests(), before + 2)

    def test_requests_in_the_segment_of_the_handshake_and_of_each_other_are_answered(self):
        """The first request rides in one TCP segment with the handshake's last message, and the next two, each its
        own TLS record, share one segment: the gateway reads all three, though after the first the socket shows
        nothing more (OpenSSL read them ahead)."""
        raw = socket.create_connection(("127.0.0.1", self.gw.port), timeout=15)
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = h.client_context("portal").wrap_bio(incoming, outgoing, server_hostname="localhost")

        def receive():
            chunk = raw.recv(65536)
            self.assertTrue(chunk, "the gateway closed the connection")
            incoming.write(chunk)

        try:
            while True:
                try:
                    tls.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    raw.sendall(outgoing.read())
                    receive()
            requests = [lookup_head(self.body, extra=b"X-Request-Id: ahead-%d\r\n" % i) + self.body for i in range(3)]
            tls.write(requests[0])
            raw.sendall(outgoing.read())  # the client's Finished and the first request, in one write
            tls.write(requests[1])
            tls.write(requests[2])
            raw.sendall(outgoing.read())  # two records, one write
            text = b""
            while text.count(b"HTTP/1.1 200 ") < 3:
                receive()
                while True:
                    try:
                        text += tls.read(65536)
                    except ssl.SSLWantReadError:
                        break
        finally:
            raw.close()
        ids = [line.split(b":", 1)[1].strip() for line in text.split(b"\r\n") if line.lower().startswith(b"x-request-id:")]
        self.assertEqual(ids, [b"ahead-0", b"ahead-1", b"ahead-2"])

    def answered(self):
        return sum(v for k, v in h.metric_samples(self.gw).items() if k.startswith("lienthong_http_requests_total"))

    def test_answers_the_socket_cannot_take_at_once_arrive_whole_and_in_order(self):
        """A client pipelines thousands of requests behind a small receive window and reads nothing: the gateway
        reads them all, though they pass its input's cap (the last of them held inside TLS, with nothing more on
        the socket), stops answering once the socket is full (what it could not write at once waits in its output),
        and when the client reads, every answer arrives whole and in order."""
        n = 10000  # about 6 MB of answers: more than the kernel's buffers on both sides take
        ids = ["fill-%05d-%s" % (i, "x" * 100) for i in range(n)]  # echoed in each answer's head and body
        requests = b"".join(b"GET /v1/no-such-route HTTP/1.1\r\nHost: localhost\r\nX-Request-Id: %s\r\n\r\n" %
                            i.encode() for i in ids)
        before = self.answered()
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: the window stays small
        raw.settimeout(30)
        raw.connect(("127.0.0.1", self.gw.port))
        s = h.client_context("portal").wrap_socket(raw, server_hostname="localhost")
        try:
            s.sendall(requests)
            seen = [-1, self.answered()]
            while seen[-1] != seen[-2]:  # until the gateway makes no more progress on its own
                time.sleep(0.5)
                seen.append(self.answered())
            self.assertLess(seen[-1] - before, n - 1, "the answers fit in the socket: nothing waited in the output")
            for expected in ids:
                status, headers, body = read_response(s)
                self.assertEqual((status, headers.get("x-request-id")), (404, expected), body[:300])
                self.assertEqual(json.loads(body)["request_id"], expected)
        finally:
            s.close()

    def test_a_body_behind_expect_100_continue_is_asked_for_then_served(self):
        """The interim 100 comes before the body is sent; the body that follows is read and served."""
        before = self.sim.requests()
        s = tls_socket(self.gw.port)
        try:
            s.sendall(lookup_head(self.body, extra=b"Expect: 100-continue\r\n"))
            interim = b""
            while b"\r\n\r\n" not in interim:
                chunk = s.recv(65536)
                self.assertTrue(chunk, "the connection ended before the interim answer")
                interim += chunk
            self.assertTrue(interim.startswith(b"HTTP/1.1 100 "), interim)
            self.assertEqual(self.sim.requests(), before, "nothing is asked before the body came")
            s.sendall(self.body)
            status, _, body = read_response(s)
        finally:
            s.close()
        self.assertEqual(status, 200, body[:300])
        self.assertEqual(self.sim.requests(), before + 1)

    def test_an_expectation_it_cannot_meet(self):
        self.assert_refused(lookup_head(self.body, extra=b"Expect: 200-ok\r\n") + self.body, "expectation_failed",
                            417)

    def test_a_method_no_route_can_have(self):
        self.assert_refused(lookup_head(self.body).replace(b"POST ", b"BREW ", 1) + self.body,
                            "method_not_implemented", 501)

    def connection_after_one_answer(self, version, extra):
        """(status, Connection header, whether the same connection then answers a second request)."""
        s = tls_socket(self.gw.port)
        try:
            s.sendall(lookup_head(self.body, extra=extra, version=version) + self.body)
            status, headers, _ = read_response(s)
            try:
                s.sendall(lookup_head(self.body, version=version) + self.body)
                again = read_response(s)[0] == 200
            except (ConnectionError, ssl.SSLError, OSError):
                again = False
        finally:
            s.close()
        return status, headers.get("connection", "").lower(), again

    def test_connections_stay_open_or_close_as_the_request_says(self):
        """HTTP/1.1 stays open unless told to close; HTTP/1.0 closes unless told to stay (RFC 9112 section 9.3)."""
        self.assertEqual(self.connection_after_one_answer(b"HTTP/1.1", b""), (200, "", True))
        self.assertEqual(self.connection_after_one_answer(b"HTTP/1.1", b"Connection: close\r\n"),
                         (200, "close", False))
        self.assertEqual(self.connection_after_one_answer(b"HTTP/1.0", b""), (200, "close", False))
        self.assertEqual(self.connection_after_one_answer(b"HTTP/1.0", b"Connection: keep-alive\r\n"),
                         (200, "keep-alive", True))

    def test_a_request_after_connection_close_is_not_answered_and_costs_the_first_nothing(self):
        """The first answer is read whole (the gateway lingers rather than reset the connection under it); the request
        sent after it is never read."""
        before = self.sim.requests()
        first, second = self.pipelined(b"Connection: close\r\nX-Request-Id: close-1\r\n", b"X-Request-Id: close-2\r\n")
        self.assertEqual((first[0], first[1].get("x-request-id"), first[1].get("connection")),
                         (200, "close-1", "close"))
        self.assertIsNone(second[0], "a request after Connection: close is answered")
        self.assertLessEqual(self.sim.requests(), before + 1)

    def test_two_different_content_lengths(self):
        n = len(self.body)
        self.assert_refused(lookup_head(self.body, length=b"Content-Length: %d\r\nContent-Length: %d\r\n" % (n, n + 5))
                            + self.body, "duplicate_content_length")

    def test_a_signed_content_length(self):
        self.assert_refused(lookup_head(self.body, length=b"Content-Length: +%d\r\n" % len(self.body)) + self.body,
                            "invalid_content_length")

    def test_a_space_before_the_colon(self):
        self.assert_refused(lookup_head(self.body, length=b"Content-Length : %d\r\n" % len(self.body)) + self.body,
                            "bad_header_name")

    def test_transfer_encoding_with_content_length(self):
        self.assert_refused(lookup_head(self.body, extra=b"Transfer-Encoding: chunked\r\n") + self.body,
                            "transfer_encoding_with_content_length")

    def test_a_transfer_coded_body_is_asked_for_a_length(self):
        chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(self.body), self.body)
        self.assert_refused(lookup_head(self.body, length=b"Transfer-Encoding: chunked\r\n") + chunked,
                            "length_required", status=411)

    def test_http11_without_host(self):
        self.assert_refused(lookup_head(self.body, host=b"") + self.body, "missing_host")

    def test_a_nul_in_a_header_value(self):
        """evhttp would cut the value at the NUL and pass "HS-1" on."""
        head = lookup_head(self.body).replace(b"X-Purpose: HS-1", b"X-Purpose: HS-1\x00b")
        self.assert_refused(head + self.body, "bad_header_value")

    def test_a_lone_cr_in_a_header_value(self):
        head = lookup_head(self.body).replace(b"X-Purpose: HS-1", b"X-Purpose: HS-1\rX-Evil: 1")
        self.assert_refused(head + self.body, "bad_header_value")

    def test_obs_fold(self):
        self.assert_refused(lookup_head(self.body, extra=b"X-Note: a\r\n  folded\r\n") + self.body,
                            "obsolete_line_folding")

    def test_a_control_character_in_a_header_name(self):
        self.assert_refused(lookup_head(self.body, extra=b"X-No\x01te: a\r\n") + self.body, "bad_header_name")

    def test_a_bare_line_feed(self):
        self.assert_refused(lookup_head(self.body).replace(b"X-Officer-Id: CB-1\r\n", b"X-Officer-Id: CB-1\n")
                            + self.body, "bare_line_feed")

    def test_limits_on_the_request_line_and_the_headers(self):
        self.assert_refused(b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", "request_line_too_long", 414)
        many = b"".join(b"X-F%d: v\r\n" % i for i in range(150))
        self.assert_refused(lookup_head(self.body, extra=many) + self.body, "too_many_headers", 431)
        big = b"X-Big: " + b"v" * 20000 + b"\r\n"
        self.assert_refused(lookup_head(self.body, extra=big) + self.body, "headers_too_large", 431)

    def test_a_10_mb_body_sent_in_one_go_reads_its_413(self):
        before = self.sim.requests()
        body = b"{" + b" " * (10 * 1024 * 1024 - 2) + b"}"
        s = tls_socket(self.gw.port, timeout=60)
        try:
            s.sendall(lookup_head(body) + body)  # the gateway reads and discards while it answers
            status, headers, answer = read_response(s)
        finally:
            s.close()
        self.assertEqual(status, 413, answer[:300])
        self.assertTrue(headers.get("content-type", "").startswith("application/problem+json"))
        self.assertEqual(json.loads(answer)["type"], "urn:lienthong:problem:body_too_large")
        self.assertEqual(self.sim.requests(), before)
        refused = h.metric(self.gw, "lienthong_http_heads_refused_total", absent=0.0, listener="api", status="413")
        self.assertGreaterEqual(refused, 1)


class TlsForwarder:
    """Plain TCP in, mutual TLS with the portal's certificate out: slowhttptest speaks no client certificates."""

    def __init__(self, port):
        self.port = h.free_port()
        self.target = port
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        self.ready.wait(10)

    async def pipe(self, reader, writer):
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except (ConnectionError, ssl.SSLError, OSError):
            pass
        finally:
            writer.close()

    async def handle(self, reader, writer):
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.target, ssl=h.client_context("portal"),
                                                       server_hostname="localhost")
        except (ConnectionError, ssl.SSLError, OSError):
            writer.close()
            return
        await asyncio.gather(self.pipe(reader, up_w), self.pipe(up_r, writer))

    def run(self):
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self.handle, "127.0.0.1", self.port, backlog=1024))
        self.ready.set()
        self.loop.run_forever()
        server.close()

    def stop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


class SlowClientsTest(unittest.TestCase):
    HEADER_TIMEOUT_S = 2

    @classmethod
    def setUpClass(cls):
        cls.sim = h.Sim("population", seed=SEED)
        cls.gw = h.Gateway(cls.sim, overrides={"limits": {
            "handshake_timeout_s": 3, "header_timeout_s": cls.HEADER_TIMEOUT_S, "idle_timeout_s": 120,
            "body_grace_s": 1, "body_min_rate_bytes_s": 1000}})
        cls.body = json.dumps(identity()).encode()

    @classmethod
    def tearDownClass(cls):
        cls.gw.kill()
        cls.sim.kill()

    def closed(self, reason):
        return h.metric(self.gw, "lienthong_connections_closed_total", absent=0.0, listener="api", reason=reason)

    def test_connections_that_never_start_tls_are_closed(self):
        before = self.closed("handshake_timeout")
        socks = [socket.create_connection(("127.0.0.1", self.gw.port), timeout=60) for _ in range(50)]
        for s in socks:
            try:
                self.assertEqual(s.recv(1), b"", "the gateway sends nothing before a ClientHello")
            except ConnectionError:
                pass
            s.close()
        self.assertGreaterEqual(self.closed("handshake_timeout") - before, 50)

    def test_a_body_slower_than_the_minimum_rate_is_closed(self):
        before_sim, before = self.sim.requests(), self.closed("body_too_slow")
        s = tls_socket(self.gw.port, timeout=60)
        s.sendall(lookup_head(b"x" * 5000))
        try:
            for _ in range(60):  # 10 bytes a second against a 1000 B/s minimum, until the gateway hangs up
                s.sendall(b"          ")
                time.sleep(1)
        except (ConnectionError, ssl.SSLError, OSError):
            pass
        finally:
            s.close()
        self.assertEqual(self.closed("body_too_slow") - before, 1)
        self.assertEqual(self.sim.requests(), before_sim)

    @unittest.skipUnless(shutil.which("slowhttptest"), "slowhttptest is not installed (Debian package slowhttptest)")
    def test_slowloris_is_closed_by_the_header_timeout_while_a_good_client_is_served(self):
        before = self.closed("header_timeout")
        fwd = TlsForwarder(self.gw.port)
        statuses, stop = [], threading.Event()

        def good_client():
            while not stop.is_set():
                r = h.https_request(self.gw.port, "POST", LOOKUP, body=identity(), headers=h.officer_headers())
                statuses.append(r.status)
                time.sleep(0.2)

        client = threading.Thread(target=good_client, daemon=True)
        try:
            client.start()
            # 200 connections, each sending a new header line every second (under the header timeout): without
            # the timeout each would be held until the tool's end. The tool runs for 15 s.
            tool = subprocess.run(["slowhttptest", "-H", "-c", "200", "-r", "200", "-i", "1", "-x", "16", "-l", "15",
                                   "-p", "3", "-u", "http://127.0.0.1:%d/v1/citizens/lookup" % fwd.port],
                                  capture_output=True, timeout=120)
        finally:
            stop.set()
            client.join(30)
            fwd.stop()
        report = tool.stdout.decode(errors="replace")[-1500:]
        self.assertGreaterEqual(self.closed("header_timeout") - before, 200,
                                "every slowloris connection is closed by the gateway, not by the tool (handshake "
                                "timeouts: %d)\n%s" % (self.closed("handshake_timeout"), report))
        self.assertTrue(statuses, "the good client made requests during the attack")
        self.assertEqual(set(statuses), {200}, statuses)


class AddressCapTest(unittest.TestCase):
    CAP = 5

    @classmethod
    def setUpClass(cls):
        cls.sim = h.Sim("population", seed=SEED)
        cls.gw = h.Gateway(cls.sim, overrides={"limits": {"max_connections_per_address": cls.CAP}})

    @classmethod
    def tearDownClass(cls):
        cls.gw.kill()
        cls.sim.kill()

    def test_past_its_cap_an_address_is_refused_at_once_and_served_again_after(self):
        def capped():
            return h.metric(self.gw, "lienthong_connections_closed_total", absent=0.0, listener="api",
                            reason="address_cap")
        before = capped()
        held = [tls_socket(self.gw.port) for _ in range(self.CAP)]
        try:
            with self.assertRaises((ConnectionError, ssl.SSLError, OSError)):
                s = tls_socket(self.gw.port)  # the handshake never completes, or the first read ends
                s.sendall(b"GET /x HTTP/1.1\r\nHost: localhost\r\n\r\n")
                if not s.recv(1):
                    raise ConnectionError("closed")
            self.assertEqual(capped() - before, 1)
        finally:
            for s in held:
                s.close()
        status = None
        for _ in range(50):  # the held connections are released as the gateway reads their end
            try:
                status = h.https_request(self.gw.port, "GET", "/v1/nothing-here").status
                break
            except (ConnectionError, ssl.SSLError, OSError):
                time.sleep(0.1)
        self.assertEqual(status, 404)


if __name__ == "__main__":
    unittest.main()
