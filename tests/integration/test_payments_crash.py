"""Crash test, for both store backends.

300 payments; a storm of 1,000 IPNs for them, with duplicates, sent by eight
threads that behave like the payment gateway (ICD §2: re-send on no answer, an
HTTP error, or RspCode 99). Mid-stream the gateway is SIGKILLed and restarted,
twice. Afterwards:
  - no payment was acknowledged 00 twice, and every one acknowledged is final,
    with the outcome its IPNs carried;
  - every payment ended in exactly one final state, which produced exactly one
    event (one event id, one event type);
  - the webhook receiver got every event at least once.
"""

import queue
import random
import signal
import threading
import time
import unittest

import harness
from harness import Sim
from payenv import PayGateway, ipn_query, journal_store, redis_store, webhook_events

PAYMENTS = 300
IPNS = 1000
SENDERS = 8


class Storm:
    def __init__(self, gw, plan):
        self.gw = gw
        self.todo = queue.Queue()
        for item in plan:
            self.todo.put(item)
        self.answers = {}  # payment id -> RspCodes received
        self.lock = threading.Lock()
        self.done = 0
        self.resends = 0

    def sender(self):
        while True:
            try:
                pid, q = self.todo.get_nowait()
            except queue.Empty:
                return
            rsp = None
            try:
                r = self.gw.ipn(q, timeout=5)
                rsp = r.json["RspCode"] if r.status == 200 else None
            except Exception:  # the gateway is down or restarting: no answer
                rsp = None
            with self.lock:
                if rsp in ("00", "01", "02", "04", "97"):
                    self.answers.setdefault(pid, []).append(rsp)
                    self.done += 1
                else:
                    self.resends += 1
            if rsp not in ("00", "01", "02", "04", "97"):
                time.sleep(0.05)
                self.todo.put((pid, q))

    def run(self, kill_at):
        threads = [threading.Thread(target=self.sender, daemon=True) for _ in range(SENDERS)]
        [t.start() for t in threads]
        for mark in kill_at:
            while self.done < mark and any(t.is_alive() for t in threads):
                time.sleep(0.005)
            self.gw.proc.send_signal(signal.SIGKILL)
            self.gw.proc.wait()
            self.gw.start(keep_ports=True)
        [t.join(timeout=300) for t in threads]
        assert not any(t.is_alive() for t in threads), "the storm did not finish"


class CrashTestBase:
    def make_store(self):
        raise NotImplementedError

    def setUp(self):
        self.pay_sim, self.webhook = Sim(system="payment"), Sim(system="webhook")
        self.store = self.make_store()
        # Reconciliation off: only IPNs settle payments here.
        self.gw = PayGateway(self.pay_sim, self.webhook, self.store, extra={"reconcile": {"interval_s": 86400}})

    def tearDown(self):
        self.gw.kill()
        self.pay_sim.stop()
        self.webhook.stop()

    def test_sigkill_twice_during_an_ipn_storm(self):
        rnd = random.Random(20261123)
        outcome = {}
        for i in range(PAYMENTS):
            r = self.gw.create(dossier_id="HS-CRASH-%04d" % i, amount_vnd=1000 * (i + 1))
            self.assertEqual(r.status, 201, r.body)
            outcome[r.json["payment_id"]] = (1000 * (i + 1) * 100, rnd.choice(["00", "00", "24", "51"]))
        ids = list(outcome)
        plan = [(pid, ipn_query(pid, outcome[pid][0], response_code=outcome[pid][1])) for pid in ids]
        plan += [rnd.choice(plan) for _ in range(IPNS - len(plan))]  # duplicates
        rnd.shuffle(plan)

        storm = Storm(self.gw, plan)
        storm.run(kill_at=(IPNS // 3, 2 * IPNS // 3))
        self.assertGreater(storm.resends, 0, "the kills happened mid-stream, so some IPNs had no answer")

        for pid in ids:
            answers = storm.answers.get(pid, [])
            with self.subTest(payment=pid):
                self.assertLessEqual(answers.count("00"), 1, "acknowledged twice: %r" % answers)
                self.assertTrue(set(answers) <= {"00", "02"}, answers)
                got = self.gw.payment(pid).json
                want = "paid" if outcome[pid][1] == "00" else "failed"
                self.assertEqual(got["status"], want)
                self.assertEqual(got["response_code"], outcome[pid][1])

        # One event per final state, and the receiver got each at least once.
        deadline = time.time() + 60
        events = {}
        while time.time() < deadline:
            events = {e["event_id"]: e for e in webhook_events(self.webhook)["events"]}
            if len(events) >= PAYMENTS:
                break
            time.sleep(0.2)
        self.assertEqual(set(events), {"evt-" + pid for pid in ids})
        for pid in ids:
            ev = events["evt-" + pid]
            want = "payment.paid" if outcome[pid][1] == "00" else "payment.failed"
            self.assertEqual(ev["event"], want)
            self.assertGreaterEqual(ev["deliveries"], 1)
            self.assertFalse(ev["body_changed"], "redeliveries of one event must carry the same body")
            self.assertEqual(ev["payment"]["status"], want.split(".")[1])
        # Events delivered just before a kill but not yet marked are sent again once their lease runs out.
        deadline = time.time() + 60
        while self.gw.outbox("pending") and time.time() < deadline:
            time.sleep(0.5)
        self.assertEqual(self.gw.outbox("pending"), [])
        self.assertEqual(self.gw.outbox("dead"), [])


class JournalCrashTest(CrashTestBase, unittest.TestCase):
    def make_store(self):
        return journal_store()


class RedisCrashTest(CrashTestBase, unittest.TestCase):
    def make_store(self):
        self.redis = harness.durable_redis()
        return redis_store(self.redis)

    def tearDown(self):
        super().tearDown()
        self.redis.kill()


if __name__ == "__main__":
    unittest.main(verbosity=2)
