"""TLS session resumption on the api listener: session tickets sealed with the gateway's own keys, shared by every
worker and rotated every listeners.api.ticket_key_rotate_s. A ticket resumes on any worker; a key seals for one
period and still opens for one more; a ticket two rotations old gets a full handshake and is still served; and a
resumed session is the same client as before, with the same permissions (an unlisted certificate stays unlisted).

Rotation is observed through /metrics (lienthong_tls_ticket_key_rotations_total) and driven by handshakes, never
by a bound on elapsed time: the test asserts on a ticket only once the counter says how many rotations it saw."""

import json
import os
import ssl
import subprocess
import unittest

import harness as h

CLOSE_REQUEST = h.CLOSE_REQUEST


def lookup_request():
    body = json.dumps({"id_number": "001099012345", "full_name": "Nguyen Van A", "birth_date": "1990-01-01"}).encode()
    head = ["POST /v1/citizens/lookup HTTP/1.1", "Host: localhost", "Connection: close",
            "Content-Type: application/json", "Content-Length: %d" % len(body)]
    head += ["%s: %s" % kv for kv in h.officer_headers().items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def rotations(gw):
    return h.metric_samples(gw)["lienthong_tls_ticket_key_rotations_total"]


def resumed_count(gw):
    return h.metric_samples(gw)['lienthong_tls_resumed_handshakes_total{listener="api"}']


def status_of(answer):
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else None


def write_key_file(path, mode=0o600, text=None):
    """A ticket key file as operators make one (openssl rand -hex 32)."""
    with open(path, "w") as f:
        f.write((text if text is not None else os.urandom(32).hex()) + "\n")
    os.chmod(path, mode)
    return path


class TicketTest(unittest.TestCase):
    rotate_s = None  # the default period: no rotation during the test
    key_file = False  # True: keys derived from a ticket key file

    @classmethod
    def setUpClass(cls):
        api = {} if cls.rotate_s is None else {"ticket_key_rotate_s": cls.rotate_s}
        if cls.key_file:
            api["ticket_key_file"] = write_key_file(os.path.join(h.make_tmpdir("lt-tickets-"), "tickets.key"))
        cls.gw = h.Gateway(overrides={"listeners": {"api": api},
                                      "upstreams": {"population": {"probe": {"enabled": False}}}})

    @classmethod
    def tearDownClass(cls):
        cls.gw.kill()

    def first_session(self, ctx, payload=CLOSE_REQUEST):
        """A full handshake and one exchange; its answer and the session (with the ticket) it leaves."""
        s = h.tls_connect(self.gw.port, ctx)
        self.assertFalse(s.session_reused)
        answer = h.tls_exchange(s, payload)
        session = s.session
        s.close()
        self.assertIsNotNone(session)
        self.assertTrue(session.has_ticket, "the gateway sent a session ticket")
        return answer, session


class ResumptionTest(TicketTest):

    def test_a_ticket_resumes_on_any_worker(self):
        self.assertEqual(self.gw.config["workers"], 2)
        ctx = h.client_context("portal")
        answer, session = self.first_session(ctx)
        self.assertEqual(status_of(answer), 404)
        before = resumed_count(self.gw)
        # Each connection lands on a worker the kernel picks (SO_REUSEPORT spreads them by address and port): over
        # 16 of them both workers open the one ticket, sealed by whichever worker served the first.
        for i in range(16):
            s = h.tls_connect(self.gw.port, ctx, session=session)
            self.assertTrue(s.session_reused, self.gw.diag("connection %d did not resume" % i))
            self.assertEqual(status_of(h.tls_exchange(s)), 404)
            s.close()
        self.assertEqual(resumed_count(self.gw) - before, 16, "the gateway counts every resumed handshake")

    def test_every_resumption_brings_a_new_ticket(self):
        # A TLS 1.3 client uses a ticket once: each resumed connection must leave it a new one, which resumes.
        ctx = h.client_context("portal")
        _, session = self.first_session(ctx)
        for i in range(3):
            s = h.tls_connect(self.gw.port, ctx, session=session)
            self.assertTrue(s.session_reused, "resumption %d" % i)
            self.assertEqual(status_of(h.tls_exchange(s)), 404)
            renewed = s.session
            s.close()
            self.assertTrue(renewed.has_ticket)
            self.assertNotEqual(renewed.id, session.id, "resumption %d left no new ticket" % i)
            session = renewed

    def test_one_ticket_per_handshake_full_or_resumed(self):
        # OpenSSL would send two; the gateway sends one (each costs a copy of the session with the client's
        # certificate). Counted by openssl s_client's own message trace, TLS 1.3.
        sess = os.path.join(h.make_tmpdir("lt-tickets-"), "session.pem")

        def handshake(*extra):
            argv = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % self.gw.port, "-servername", "localhost",
                    "-tls1_3", "-cert", h.pki_path("portal.crt"), "-key", h.pki_path("portal.key"),
                    "-CAfile", h.pki_path("province-ca.crt"), "-msg", "-ign_eof"] + list(extra)
            out = subprocess.run(argv, input=CLOSE_REQUEST, capture_output=True, timeout=60).stdout.decode()
            tickets = [line for line in out.splitlines() if line.startswith("<<<") and "NewSessionTicket" in line]
            return out, len(tickets)

        out, tickets = handshake("-sess_out", sess)
        self.assertIn("\nNew, TLSv1.3", out)
        self.assertEqual(tickets, 1, out)
        out, tickets = handshake("-sess_in", sess)
        self.assertIn("\nReused, TLSv1.3", out, "the ticket resumed")
        self.assertEqual(tickets, 1, out)

    def test_tls12_resumes_too(self):
        ctx = h.client_context("portal", max_version=ssl.TLSVersion.TLSv1_2)
        _, session = self.first_session(ctx)
        s = h.tls_connect(self.gw.port, ctx, session=session)
        self.assertEqual(s.version(), "TLSv1.2")
        self.assertTrue(s.session_reused)
        self.assertEqual(status_of(h.tls_exchange(s)), 404)
        s.close()

    def test_a_resumed_session_keeps_its_client_and_its_permissions(self):
        # other-portal: a certificate of the province CA that no client entry lists. Its resumed session is still
        # that certificate: still refused as not listed.
        for cert, problem in (("other-portal", "urn:lienthong:problem:client_not_listed"), ("district-office", None)):
            ctx = h.client_context(cert)
            answer, session = self.first_session(ctx, lookup_request())
            self.assertEqual(status_of(answer), 403, answer)
            s = h.tls_connect(self.gw.port, ctx, session=session)
            self.assertTrue(s.session_reused)
            again = h.tls_exchange(s, lookup_request())
            s.close()
            self.assertEqual(status_of(again), 403, "%s resumed must stay refused: %r" % (cert, again))
            kind = lambda a: json.loads(a.split(b"\r\n\r\n", 1)[1])["type"]
            self.assertEqual(kind(again), kind(answer), "the same refusal as on its full handshake")
            if problem:
                self.assertEqual(kind(again), problem)
        # The portal may look citizens up: its resumed session passes the client check (the simulator is absent,
        # so the answer is the upstream's failure, not a 403).
        ctx = h.client_context("portal")
        _, session = self.first_session(ctx)
        s = h.tls_connect(self.gw.port, ctx, session=session)
        self.assertTrue(s.session_reused)
        answer = h.tls_exchange(s, lookup_request())
        s.close()
        self.assertNotIn(status_of(answer), (None, 401, 403), answer)

    def test_a_ticket_of_another_gateway_is_not_opened(self):
        # Another process has its own keys: its ticket gets a full handshake here, and the client is served.
        other = h.Gateway(overrides={"upstreams": {"population": {"probe": {"enabled": False}}}})
        try:
            ctx = h.client_context("portal")
            s = h.tls_connect(other.port, ctx)
            h.tls_exchange(s)
            session = s.session
            s.close()
            s = h.tls_connect(self.gw.port, ctx, session=session)
            self.assertFalse(s.session_reused)
            self.assertEqual(status_of(h.tls_exchange(s)), 404)
            s.close()
        finally:
            other.kill()


class RotationTest(TicketTest):
    """Keys rotated every 2 s. The counter moves when a handshake finds a period over; full handshakes drive it."""
    rotate_s = 2

    def drive_until(self, predicate, what):
        def step():
            h.tls_probe(self.gw.port, cert="portal", payload=CLOSE_REQUEST)
            return predicate(rotations(self.gw))
        return h.wait_for(step, timeout=60, interval=0.2, what=what)

    def ticket_sealed_by_one_key(self, ctx):
        """A session whose ticket was sealed by the key of rotation r (no rotation during its handshake)."""
        for _ in range(20):
            before = rotations(self.gw)
            _, session = self.first_session(ctx)
            if rotations(self.gw) == before:
                return session, before
        self.fail("the keys rotated during every one of 20 handshakes")

    def test_a_ticket_outlives_one_rotation_and_not_two(self):
        ctx = h.client_context("portal")
        one_rotation_seen = False
        for _ in range(20):
            session, r = self.ticket_sealed_by_one_key(ctx)
            self.drive_until(lambda n: n >= r + 1, "a rotation")
            s = h.tls_connect(self.gw.port, ctx, session=session)
            reused = s.session_reused
            answer = h.tls_exchange(s)
            renewed = s.session
            s.close()
            if rotations(self.gw) != r + 1:
                continue  # the second rotation came before this handshake: nothing to conclude, try again
            self.assertTrue(reused, "one rotation later the previous key still opens the ticket")
            self.assertEqual(status_of(answer), 404)
            self.assertTrue(renewed.has_ticket)
            one_rotation_seen = True
            break
        self.assertTrue(one_rotation_seen, "never caught the keys between their first and second rotation")

        self.drive_until(lambda n: n >= r + 2, "a second rotation")
        s = h.tls_connect(self.gw.port, ctx, session=session)
        self.assertFalse(s.session_reused, "two rotations later the ticket's key is gone: a full handshake")
        self.assertEqual(status_of(h.tls_exchange(s)), 404, "and the client is served")
        s.close()


class RotationWithKeyFileTest(RotationTest):
    """The same with keys derived from a key file: each period's key from the secret and the wall clock's period."""
    key_file = True


class KeyFileTest(unittest.TestCase):
    """listeners.api.ticket_key_file: the keys derived from one secret, the same in every process holding it."""

    def setUp(self):
        self.dir = h.make_tmpdir("lt-tickets-")
        self.shared = write_key_file(os.path.join(self.dir, "tickets.key"))
        self.gateways = []

    def tearDown(self):
        for gw in self.gateways:
            gw.kill()

    def gateway(self, key_file):
        gw = h.Gateway(overrides={"listeners": {"api": {"ticket_key_file": key_file}},
                                  "upstreams": {"population": {"probe": {"enabled": False}}}})
        self.gateways.append(gw)
        return gw

    def ticket_from(self, gw, ctx):
        s = h.tls_connect(gw.port, ctx)
        self.assertEqual(status_of(h.tls_exchange(s)), 404)
        session = s.session
        s.close()
        return session

    def resumes(self, gw, ctx, session):
        s = h.tls_connect(gw.port, ctx, session=session)
        reused = s.session_reused
        self.assertEqual(status_of(h.tls_exchange(s)), 404, "served either way")
        s.close()
        return reused

    def test_instances_sharing_the_file_resume_each_others_tickets_and_across_a_restart(self):
        a, b = self.gateway(self.shared), self.gateway(self.shared)
        other = self.gateway(write_key_file(os.path.join(self.dir, "other.key")))
        ctx = h.client_context("portal")
        session = self.ticket_from(a, ctx)
        self.assertTrue(self.resumes(b, ctx, session), "a ticket of one instance resumes on another with the file")
        self.assertFalse(self.resumes(other, ctx, session), "an instance with another secret cannot open it")
        a.stop()
        a.start(keep_ports=True)
        self.assertTrue(self.resumes(a, ctx, self.ticket_from(b, ctx)), "nor does a restart lose the keys")

    def test_a_key_file_others_can_read_or_too_short_is_refused(self):
        for mode, text, needle in ((0o644, None, "other users"), (0o600, "00" * 16, "32 to 64 random bytes"),
                                   (0o600, "not hex at all, not hex at all, not hex at all, not hex at", "as hex")):
            path = write_key_file(os.path.join(self.dir, "bad.key"), mode=mode, text=text)
            cfg = h.gateway_config(h.free_port(), h.free_port(), overrides={"listeners": {"api": {
                "ticket_key_file": path}}})
            cfg_path = os.path.join(self.dir, "gateway.json")
            with open(cfg_path, "w") as f:
                json.dump(cfg, f)
            rc, out = h.run_gateway(["--check-config", "--config", cfg_path])
            self.assertNotEqual(rc, 0, out)
            self.assertIn("listeners.api.ticket_key_file", out)
            self.assertIn(needle, out)
            if text:
                self.assertNotIn(text, out, "the file's content is never printed")


if __name__ == "__main__":
    unittest.main()
