"""Redis without a single point of failure: the gateway finds the primary through Redis Sentinel, follows a
failover, never writes to a demoted node, and counts a payment outcome only once a replica has it (WAIT).

Every Redis here is a real redis-server, every Sentinel a real redis-sentinel, on free ports; a primary is killed
with SIGKILL and a replica paused with SIGSTOP. Upstream calls are counted at the simulator, IPN answers and
webhook deliveries at the test's side of the wire. No wall-clock bounds: generous wait_for conditions only.
"""
import concurrent.futures
import os
import random
import re
import shutil
import signal
import subprocess
import threading
import time
import unittest

import harness as h
from harness import HOST, RedisServer, RedisSentinel, wait_for
import payenv
from payenv import PayGateway, ipn_query, webhook_events

SEED = 23  # a seed test_zz_logs knows: its people are searched for in the logs
LOOKUP = "/v1/citizens/lookup"
MASTER = "ltprimary"


def info(node, section):
    """INFO section as a dict (the values as text)."""
    text = node.command("INFO", section)
    text = text.decode() if isinstance(text, bytes) else text
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line and not line.startswith("#"))


def polled(predicate):
    """predicate, read as False while the node it asks is restarting or being reconfigured (a reset socket)."""
    def attempt():
        try:
            return predicate()
        except (OSError, ConnectionError, h.RedisError):
            return False
    return attempt


class RedisGroup:
    """A province's Redis: one primary, its replicas, and three Sentinels that agree on it (quorum 2)."""

    def __init__(self, replicas=1, sentinels=3, down_after_ms=2000):
        self.nodes = [RedisServer()]
        for _ in range(replicas):
            self.nodes.append(RedisServer(extra_args=["--replicaof", HOST, str(self.nodes[0].port)]))
        for replica in self.nodes[1:]:
            wait_for(polled(lambda: info(replica, "replication").get("master_link_status") == "up"),
                     what="the replica's link to the primary")
        self.sentinels = [RedisSentinel(self.nodes[0].port, master_name=MASTER, down_after_ms=down_after_ms)
                          for _ in range(sentinels)]
        for s in self.sentinels:
            wait_for(lambda: len(s.command("SENTINEL", "sentinels", MASTER)) == sentinels - 1 and
                     s.replicas_known() == replicas, timeout=30, what="each Sentinel knows the others and replicas")

    def addresses(self):
        return [s.address for s in self.sentinels]

    def primary_address(self):
        return self.sentinels[0].primary()

    def node(self, address):
        return next(n for n in self.nodes if n.address == address)

    def primary(self):
        return self.node(self.primary_address())

    def replicas(self):
        p = self.primary_address()
        return [n for n in self.nodes if n.address != p]

    def kill_primary(self):
        """SIGKILL the primary; returns it (dead) after every Sentinel names another node, and that one says
        ROLE master."""
        old = self.primary()
        old.proc.send_signal(signal.SIGKILL)
        old.proc.wait()

        def moved():
            named = {s.primary() for s in self.sentinels}
            if len(named) != 1 or old.address in named:
                return False
            role = self.node(named.pop()).command("ROLE")
            return role[0] in (b"master", "master")

        wait_for(polled(moved), timeout=60, interval=0.2, what="the Sentinels' failover")
        return old

    def restart_as_replica(self, old):
        """Starts the killed node again on its port, empty, as a replica of the new primary (what an operator does
        with a node that comes back), and waits until the group has settled: every Sentinel names one primary, it
        says ROLE master, and every other node replicates from it with its link up."""
        host, port = self.primary_address().rsplit(":", 1)
        old.extra_args = ["--replicaof", host, port]
        old.start()
        try:
            wait_for(polled(self.settled), timeout=180, interval=0.3, what="the group settled with the old primary "
                     "back as a replica")
        except AssertionError:
            raise AssertionError("not settled; Sentinel said:\n" +
                                 "\n".join(h.tail(s.log_path, 15) for s in self.sentinels))

    def settled(self):
        named = {s.primary() for s in self.sentinels}
        if len(named) != 1:
            return False
        primary = self.node(named.pop())
        if info(primary, "replication").get("role") != "master":
            return False
        for n in self.nodes:
            if n is primary:
                continue
            repl = info(n, "replication")
            if repl.get("role") != "slave" or repl.get("master_link_status") != "up" or \
                    repl.get("master_port") != str(primary.port):
                return False
        return True

    def kill(self):
        for s in self.sentinels:
            s.kill()
        for n in self.nodes:
            n.kill()


def sentinel_conn(group, **extra):
    conn = {"sentinels": group.addresses(), "master_name": MASTER, "connect_timeout_ms": 300,
            "reconnect_min_ms": 50, "reconnect_max_ms": 300}
    conn.update(extra)
    return conn


def cache_config(group):
    redis = sentinel_conn(group, timeout_ms=200)
    return {"cache": {"backend": "redis", "keys": h.cache_keys(), "ttl_s": 600, "not_found_ttl_s": 600,
                      "max_stale_s": 60, "redis": redis}}


_ROWS = None


def person(i):
    global _ROWS
    if _ROWS is None:
        _ROWS = [r for r in h.sim_sample(200, SEED) if len(r["birth_date"]) == 10]
    r = _ROWS[i]
    return {"id": r["id"], "full_name": r["full_name"], "birth_date": r["birth_date"]}


def lookup(gw, body):
    return h.https_request(gw.port, "POST", LOOKUP, body=body, headers=h.officer_headers(), timeout=30)


def redis_status(gw, where="cache"):
    r = gw.admin("GET", "/status.json")
    assert r.status == 200, r
    return r.json["cache"]["redis"]


def commands_seen(node):
    """{command: calls} from INFO commandstats, the demoted node's own count since it restarted."""
    return {k[len("cmdstat_"):]: v for k, v in info(node, "commandstats").items()}


class CacheFailoverTest(unittest.TestCase):
    """Lookups through the Redis cache while the primary dies: none fails, and hits come back by themselves."""

    @classmethod
    def setUpClass(cls):
        cls.group = RedisGroup(replicas=1)
        cls.sim = h.Sim("population", seed=SEED)
        cls.gw = h.Gateway(cls.sim, overrides=cache_config(cls.group))

    @classmethod
    def tearDownClass(cls):
        cls.gw.kill()
        cls.sim.kill()
        cls.group.kill()

    def test_a_killed_primary_fails_no_lookup_and_hits_come_back(self):
        people = [person(i) for i in range(20)]
        for p in people:
            self.assertEqual(lookup(self.gw, p).status, 200)
        wait_for(lambda: all(lookup(self.gw, p).header("X-Cache") == "hit" for p in people),
                 what="every person cached")
        before = redis_status(self.gw)
        self.assertTrue(before["sentinels"])
        self.assertEqual(before["role"], "master")
        self.assertEqual(before["primary"], self.group.primary_address())
        # The replica has every entry before the primary dies.
        wait_for(lambda: self.group.replicas()[0].command("DBSIZE") == self.group.primary().command("DBSIZE"),
                 what="the replica caught up")

        results, stop = [], threading.Event()

        def stream():
            i = 0
            while not stop.is_set():
                r = lookup(self.gw, people[i % len(people)])
                results.append((r.status, r.header("X-Cache")))
                i += 1

        threads = [threading.Thread(target=stream) for _ in range(2)]
        for t in threads:
            t.start()
        wait_for(lambda: len(results) >= 20, what="the stream under way")
        old = self.group.kill_primary()
        new_primary = self.group.primary_address()
        self.assertNotEqual(new_primary, old.address)

        # Hits come back without restarting the gateway: a round of lookups of cached people that calls no
        # national system.
        def a_round_of_hits():
            calls = self.sim.requests()
            hits = [lookup(self.gw, p).header("X-Cache") for p in people]
            return all(x == "hit" for x in hits) and self.sim.requests() == calls

        wait_for(a_round_of_hits, timeout=60, interval=0.3, what="hits again after the failover")
        stop.set()
        for t in threads:
            t.join()
        failed = [r for r in results if r[0] != 200]
        self.assertEqual(failed, [], "lookups failed during the failover")
        self.assertGreater(len(results), 20)
        after = redis_status(self.gw)
        self.assertEqual(after["primary"], new_primary)
        self.assertEqual(after["role"], "master")
        self.assertGreaterEqual(after["failovers"], 1)
        self.assertIsNotNone(after["seconds_since_failover"])
        metrics = self.gw.admin("GET", "/metrics").body.decode()
        self.assertIn('lienthong_cache_redis_primary{address="%s",role="master"} 1' % new_primary, metrics)
        self.assertIn("lienthong_cache_redis_failovers_total", metrics)
        page = self.gw.admin("GET", "/status").body.decode()
        self.assertIn(new_primary, page)
        self.group.restart_as_replica(old)


def pay_store(group, **extra):
    redis = sentinel_conn(group, timeout_ms=1500, wait_timeout_ms=400)
    redis.update(extra)
    return {"backend": "redis", "redis": redis}


# Reconciliation would ask the payment simulator about payments the test settles by hand: not here.
PAY_EXTRA = {"reconcile": {"interval_s": 3600}}


class PayStack:
    def __init__(self, group, instances=1):
        self.pay_sim = h.Sim(system="payment")
        self.webhook = h.Sim(system="webhook")
        self.gws = [PayGateway(self.pay_sim, self.webhook, pay_store(group), PAY_EXTRA) for _ in range(instances)]

    def new_payment(self, gw=None):
        gw = gw or self.gws[0]
        r = wait_for(lambda: [r for r in [gw.create()] if r.status != 503], what="a create the store answers")[0]
        assert r.status == 201, gw.diag("create: %s %r" % (r.status, r.body))
        return r.json

    def stop(self):
        for gw in self.gws:
            gw.kill()
        self.pay_sim.kill()
        self.webhook.kill()


class WaitTimeoutTest(unittest.TestCase):
    """A write that no replica confirms in wait_timeout_ms is not acknowledged: the IPN answers 99."""

    @classmethod
    def setUpClass(cls):
        cls.group = RedisGroup(replicas=1)
        cls.s = PayStack(cls.group)

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()
        cls.group.kill()

    def test_a_paused_replica_makes_the_ipn_answer_99_then_the_retry_is_confirmed(self):
        gw = self.s.gws[0]
        p = self.s.new_payment()
        replica = self.group.replicas()[0]
        replica.pause()
        try:
            answer = gw.ipn(ipn_query(p["payment_id"], 15000000)).json["RspCode"]
            self.assertEqual(answer, "99", "acknowledged a payment no replica had")
        finally:
            replica.resume()
        # The payment gateway sends the IPN again: now a replica has the outcome, and the answer confirms it.
        again = wait_for(lambda: [a for a in [gw.ipn(ipn_query(p["payment_id"], 15000000)).json["RspCode"]]
                                  if a != "99"], what="an answer other than 99")[0]
        self.assertIn(again, ("00", "02"))
        got = gw.payment(p["payment_id"]).json
        self.assertEqual(got["status"], "paid")
        metrics = gw.admin("GET", "/metrics").body.decode()
        shortfalls = [line for line in metrics.splitlines()
                      if line.startswith("lienthong_payment_redis_wait_shortfalls_total ")]
        self.assertEqual(len(shortfalls), 1, metrics)
        self.assertGreaterEqual(int(shortfalls[0].split()[1]), 1)
        replica_state = replica.command("HGET", "lt:pay:p:" + p["payment_id"], "state")
        self.assertEqual(replica_state, b"paid")

    def test_without_wait_the_same_pause_is_acknowledged_00(self):
        """The control: wait_replicas 0 acknowledges what only the primary has, so the 99 above is WAIT's."""
        gw = PayGateway(self.s.pay_sim, self.s.webhook, pay_store(self.group, wait_replicas=0), PAY_EXTRA)
        try:
            p = self.s.new_payment(gw)
            replica = self.group.replicas()[0]
            replica.pause()
            try:
                self.assertEqual(gw.ipn(ipn_query(p["payment_id"], 15000000)).json["RspCode"], "00")
            finally:
                replica.resume()
        finally:
            gw.kill()


OUTCOMES = {"00": "paid", "24": "failed"}


class IpnStormFailoverTest(unittest.TestCase):
    """Signed IPNs with duplicates from several threads, on two gateway instances, the primary SIGKILLed once
    in the middle: nothing acknowledged 00 is lost, nothing acknowledged 00 twice, every payment ends with its
    IPN's outcome and its webhook event is delivered; both instances follow the failover and neither writes to
    the demoted node once it is back as a replica."""

    PAYMENTS = 500  # x2: 1,000 IPNs (every one sent twice, as duplicates), from 4 threads

    @classmethod
    def setUpClass(cls):
        cls.group = RedisGroup(replicas=1)
        cls.s = PayStack(cls.group, instances=2)

    @classmethod
    def tearDownClass(cls):
        cls.s.stop()
        cls.group.kill()

    def test_storm_with_a_killed_primary(self):
        rng = random.Random(SEED)
        payments = [(self.s.new_payment(self.s.gws[i % 2])["payment_id"], rng.choice(["00", "00", "00", "24"]))
                    for i in range(self.PAYMENTS)]
        jobs = [(pid, code) for pid, code in payments for _ in range(2)]
        rng.shuffle(jobs)
        answers = {pid: [] for pid, _ in payments}
        lock = threading.Lock()
        sent = [0]
        killed = threading.Event()

        def send(job):
            pid, code = job
            gw = self.s.gws[rng.randrange(2)]
            while True:  # as the payment gateway: again after a 99 or no answer
                try:
                    a = gw.ipn(ipn_query(pid, 15000000, response_code=code), timeout=20).json["RspCode"]
                except (OSError, ValueError, AttributeError):
                    a = None
                with lock:
                    answers[pid].append(a)
                    sent[0] += 1
                if a not in (None, "99"):
                    return a
                time.sleep(0.05)

        old_primary = self.group.primary_address()
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(send, j) for j in jobs]
            wait_for(lambda: sent[0] >= len(jobs) // 3, timeout=120, what="a third of the storm sent")
            old = self.group.kill_primary()
            promoted = self.group.primary_address()
            with lock:
                at_kill = sent[0]
            killed.set()
            self.group.restart_as_replica(old)  # WAIT needs a replica again
            for f in futures:
                f.result(timeout=300)
        self.assertNotEqual(promoted, old_primary)
        self.assertLess(at_kill, len(jobs), "the primary died mid-storm, not after it")
        retried = sum(a.count("99") + a.count(None) for a in answers.values())
        print("\nIPN storm: %d IPNs sent, %d answered 99 or not at all (then re-sent), %d sent before the failover "
              "completed" % (sent[0], retried, at_kill))

        for pid, code in payments:
            got = answers[pid]
            self.assertLessEqual(got.count("00"), 1, "%s acknowledged 00 twice: %s" % (pid, got))
            self.assertTrue(set(got) <= {"00", "02", "99", None}, (pid, got))
            self.assertTrue("00" in got or "02" in got, (pid, got))
            r = wait_for(lambda: [r for r in [self.s.gws[0].payment(pid)] if r.status != 503],
                         what="the store answers")[0]
            self.assertEqual(r.json["status"], OUTCOMES[code], "%s: answers %s" % (pid, got))

        # Each payment's one event reaches the portal (a repeat of the same event_id is one in effect).
        def delivered():
            evs = webhook_events(self.s.webhook)["events"]
            return {e["payment_id"]: e for e in evs} if len({e["payment_id"] for e in evs}) >= len(payments) \
                else None

        by_payment = wait_for(delivered, timeout=120, interval=0.5, what="every webhook event delivered")
        events = webhook_events(self.s.webhook)["events"]
        for pid, code in payments:
            ids = {e["event_id"] for e in events if e["payment_id"] == pid}
            self.assertEqual(len(ids), 1, (pid, ids))
            self.assertEqual(by_payment[pid]["payment"]["status"], OUTCOMES[code])

        # Both instances follow the failover: each creates a payment on the primary the Sentinels name now; the
        # replica gets no command from either (replicated writes arrive as effects, never as EVALSHA). A loaded
        # machine may see a second failover back to the restarted node, so "the replica" is whichever node the
        # settled group has as one, and its command counts start once it is.
        wait_for(polled(self.group.settled), timeout=180, interval=0.3, what="the group settled")
        new_primary = self.group.primary_address()
        for gw in self.s.gws:
            seen_by = wait_for(lambda: [r for r in [gw.admin("GET", "/status.json").json["payments"]["redis"]]
                                        if r["primary"] == new_primary], what="the instance's status")[0]
            self.assertEqual(seen_by["role"], "master")
            self.assertGreaterEqual(seen_by["failovers"], 1)
        demoted = self.group.replicas()[0]
        demoted.command("CONFIG", "RESETSTAT")
        for gw in self.s.gws:
            self.s.new_payment(gw)
        self.assertEqual(info(demoted, "replication")["role"], "slave")
        seen = commands_seen(demoted)
        for command in ("evalsha", "eval", "hmget", "script|load", "role"):
            self.assertNotIn(command, seen, "a gateway sent %s to the demoted node: %r" % (command, seen))


class CredentialsTest(unittest.TestCase):
    """AUTH on every connection: an ACL user whose password is read from password_file, on a primary found
    through a Sentinel."""

    def setUp(self):
        self.group = RedisGroup(replicas=0, sentinels=1)
        self.sim = h.Sim("population", seed=SEED)

    def tearDown(self):
        self.sim.kill()
        self.group.kill()

    def test_an_acl_user_from_its_password_file(self):
        primary = self.group.nodes[0]
        primary.command("ACL", "SETUSER", "lt-gateway", "on", ">gateway-secret", "~*", "+@all")
        primary.command("CONFIG", "SET", "requirepass", "default-secret")
        primary.auth = ("default", "default-secret")
        self.group.sentinels[0].command("SENTINEL", "SET", MASTER, "auth-pass", "default-secret")
        path = os.path.join(h.make_tmpdir("lt-redis-pass-"), "redis.password")
        with open(path, "w") as f:
            f.write("gateway-secret\n")
        config = cache_config(self.group)
        config["cache"]["redis"].update({"username": "lt-gateway", "password_file": path})
        gw = h.Gateway(self.sim, overrides=config)
        try:
            body = person(5)
            self.assertEqual(lookup(gw, body).status, 200)
            wait_for(lambda: lookup(gw, body).header("X-Cache") == "hit", what="a hit as the ACL user")
            clients = primary.command("CLIENT", "LIST")
            clients = clients.decode() if isinstance(clients, bytes) else clients
            self.assertIn("user=lt-gateway", clients)
            self.assertEqual(redis_status(gw)["role"], "master")
        finally:
            gw.kill()


STUNNEL_BIN = shutil.which("stunnel4") or shutil.which("stunnel") or "/usr/bin/stunnel4"
STUNNEL_EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "config", "stunnel-redis.conf.example")


class StunnelTest(unittest.TestCase):
    """The example stunnel config (config/stunnel-redis.conf.example): the gateway's side listens on loopback,
    Redis's side takes TLS with client certificates; the cache's traffic goes through it."""

    def setUp(self):
        h.require_binary(STUNNEL_BIN)
        self.redis = RedisServer()
        self.dir = h.make_tmpdir("lt-stunnel-")
        self.client_port, self.server_port = h.free_port(), h.free_port()
        with open(STUNNEL_EXAMPLE) as f:
            example = f.read()
        self.procs = []
        for side in ("redis-side", "gateway-side"):
            conf = self.render(example, side)
            path = os.path.join(self.dir, side + ".conf")
            with open(path, "w") as f:
                f.write(conf)
            p = h.spawn([STUNNEL_BIN, path], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL)
            self.procs.append(p)
        wait_for(lambda: h.port_accepts(self.client_port) and h.port_accepts(self.server_port),
                 what="both stunnel ends listening")
        self.sim = h.Sim("population", seed=SEED)

    def render(self, example, side):
        """The example's section for one side, with this test's ports and the test PKI."""
        values = {"@PID@": os.path.join(self.dir, side + ".pid"), "@GATEWAY_PORT@": str(self.client_port),
                  "@TLS_PORT@": str(self.server_port), "@REDIS_PORT@": str(self.redis.port),
                  "@REDIS_HOST@": HOST, "@CA@": h.pki_path("province-ca.crt"),
                  "@SERVER_CERT@": h.pki_path("gateway.crt"), "@SERVER_KEY@": h.pki_path("gateway.key"),
                  "@CLIENT_CERT@": h.pki_path("portal.crt"), "@CLIENT_KEY@": h.pki_path("portal.key")}
        out = []
        keep = None
        for line in example.splitlines():
            if line.startswith("; ---- "):
                keep = side in line
                continue
            if keep is None or keep:
                out.append(line)
        # The test runs as whoever it is, in the foreground: the example's setuid/setgid lines are for a host.
        out = [line for line in out if not line.startswith(("setuid", "setgid"))]
        out.insert(0, "foreground = yes")
        text = "\n".join(out) + "\n"
        for k, v in values.items():
            text = text.replace(k, v)
        assert not re.search(r"@[A-Z_]+@", text), text
        return text

    def tearDown(self):
        for p in self.procs:
            p.kill()
            p.wait()
        self.sim.kill()
        self.redis.kill()

    def test_the_cache_talks_to_redis_through_stunnel(self):
        cache = {"backend": "redis", "keys": h.cache_keys(), "ttl_s": 600,
                 "redis": {"address": "%s:%d" % (HOST, self.client_port), "timeout_ms": 500}}
        gw = h.Gateway(self.sim, overrides={"cache": cache})
        try:
            body = person(3)
            self.assertEqual(lookup(gw, body).header("X-Cache"), "miss")
            wait_for(lambda: lookup(gw, body).header("X-Cache") == "hit", what="a hit through the tunnel")
            self.assertGreater(len(self.redis.scan("lt:*")), 0)
            # The tunnel is the only way to Redis: with the gateway's end stopped, the cache loses Redis.
            self.procs[1].kill()
            self.procs[1].wait()
            wait_for(lambda: gw.admin("GET", "/readyz").json["cache"]["state"] == "degraded",
                     what="the cache without its tunnel")
        finally:
            gw.kill()

    def test_without_a_client_certificate_the_tunnel_refuses(self):
        """The Redis side asks for a certificate: a TLS client without one gets no Redis."""
        ping = b"PING\r\nQUIT\r\n"
        self.assertIn(b"+PONG", h.tls_probe(self.server_port, cert="portal", payload=ping)["received"])
        self.assertNotIn(b"+PONG", h.tls_probe(self.server_port, cert=None, payload=ping)["received"])


if __name__ == "__main__":
    unittest.main()
