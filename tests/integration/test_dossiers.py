"""Dossier synchronisation with the national public-service portal (northbound.md, "Dossier synchronisation";
icd/national-portal.md), black box: the gateway, the portal simulator, real mutual TLS.

What is counted is what the simulator holds and saw (its control API), never how long anything took.
"""

import signal
import unittest

import harness as h
from dosenv import (DossierGateway, PortalSim, RedisStoreMixin, Sender, dossier_id, journal_store, snapshot, step)

DOSSIERS = 200
STEPS = 5


def handover_plan(n, steps=STEPS, first=0):
    """Per dossier: a snapshot v1, its steps, and a v2 after them (newest wins: the portal must only ever hold
    v2 once it is back). Every seventh dossier sends step 4 before step 3 (a gap that waits), and every eleventh
    sends its steps before any snapshot (they wait for the dossier to reach the portal)."""
    plan = []
    for i in range(first, first + n):
        did = dossier_id(i)
        order = list(range(1, steps + 1))
        if i % 7 == 0 and steps >= 4:
            order[2], order[3] = order[3], order[2]
        records = [("step", did, step(k)) for k in order]
        if i % 11 == 0:
            plan += records + [("snapshot", did, snapshot(1)), ("snapshot", did, snapshot(2, status="processing"))]
        else:
            plan += [("snapshot", did, snapshot(1))] + records + [("snapshot", did, snapshot(2, status="processing"))]
    return plan


class DossierCase(unittest.TestCase):
    store = None

    def make_store(self):
        return journal_store()

    def setUp(self):
        self.portal = PortalSim()
        self.gw = DossierGateway(self.portal, store=self.make_store())

    def tearDown(self):
        self.gw.kill()
        self.portal.kill()

    def wait_all_at_portal(self, ids, steps=STEPS, version_note="phiên bản 2", timeout=120):
        def done():
            held = self.portal.dossiers()
            return all(i in held and len(held[i]["steps"]) >= steps and held[i]["record"] is not None and
                       held[i]["record"].get("GhiChu") == version_note for i in ids) and held
        return h.wait_for(done, timeout=timeout, interval=0.3, what="every dossier and step at the portal")

    def assert_in_order_exactly_once(self, held, ids, steps=STEPS):
        for did in ids:
            with self.subTest(dossier=did):
                d = held[did]
                self.assertEqual([s["NoiDungXuLy"] for s in d["steps"]], ["Bước %d" % k for k in range(1, steps + 1)],
                                 "every step once, in seq order")
                self.assertEqual(d["record"]["GhiChu"], "phiên bản 2", "the newest snapshot is what the portal holds")
                self.assertEqual(d["record"]["TrangThaiHoSo"], "4", "processing maps to the portal's code 4")
                self.assertEqual(d["record"]["NgayTiepNhan"], "20261122090000", "times in yyyyMMddHHmmss, UTC+7")

    def assert_batches_bounded(self):
        calls = self.portal.calls()["calls"]
        sizes = [c["records"] for c in calls if c["service"] in ("DongBoHoSoMC", "CapNhatTienDoHoSoMC")]
        self.assertTrue(sizes, "the portal saw calls")
        self.assertLessEqual(max(sizes), 100, "at most 100 records per call")
        return sizes


class OutageTest(DossierCase, unittest.TestCase):
    def test_everything_handed_over_during_an_outage_reaches_the_portal_in_order_once(self):
        self.portal.down()
        Sender(self.gw).run(handover_plan(DOSSIERS))
        ids = [dossier_id(i) for i in range(DOSSIERS)]
        h.wait_for(lambda: self.portal.requests() >= 3, what="the gateway trying the portal while it is down")
        self.assertEqual(self.portal.dossiers(), {}, "nothing reached a portal that was down")
        status = h.wait_for(lambda: (lambda st: st["color"] == "amber" and st)(self.gw.status()["dossiers"]),
                            what="a failing portal shows on /status")
        self.assertIn("the portal is failing", status["reason"])

        self.portal.up()
        held = self.wait_all_at_portal(ids)
        self.assert_in_order_exactly_once(held, ids)
        counts = self.portal.counts()
        self.assertEqual(counts["steps_applied"], DOSSIERS * STEPS)
        self.assertEqual(counts["steps_ignored"], 0, "without a crash, no step was ever sent twice")
        self.assertEqual(counts["snapshots_applied"], DOSSIERS,
                         "one snapshot per dossier: v1 was superseded by v2 before the portal came back")
        sizes = self.assert_batches_bounded()
        self.assertEqual(max(sizes), 100, "the backlog went in full batches")
        for did in ids[:20]:
            s = self.gw.sync(did)
            self.assertEqual(s.status, 200)
            h.validate(s.json, "dossier_sync.schema.json")
            self.assertTrue(s.json["in_sync"], s.json)
            self.assertEqual(s.json["snapshot"]["acknowledged_version"], 2)
            self.assertEqual(s.json["steps"]["acknowledged_seq"], STEPS)
        h.wait_for(lambda: self.gw.status()["dossiers"]["color"] == "green", what="status green once in sync")


class CrashTestBase(DossierCase):
    def test_sigkill_twice_during_the_stream(self):
        """The portal is up and the gateway delivers while the one-stop system hands over; the gateway is
        SIGKILLed twice and restarted on the same store. The one-stop system sends again whatever got no answer."""
        plan = handover_plan(DOSSIERS)
        sender = Sender(self.gw).run(plan, background=True)
        for mark in (len(plan) // 3, 2 * len(plan) // 3):
            h.wait_for(lambda: sender.done >= mark, timeout=300, interval=0.01, what="the stream to progress")
            self.gw.proc.send_signal(signal.SIGKILL)
            self.gw.proc.wait()
            self.gw.start(keep_ports=True)
        sender.join()
        self.assertGreater(sender.resends, 0, "the kills happened mid-stream")
        ids = [dossier_id(i) for i in range(DOSSIERS)]
        held = self.wait_all_at_portal(ids)
        self.assert_in_order_exactly_once(held, ids)
        # Every record the one-stop system was told 202/200/409 about is at the portal: nothing acknowledged
        # was lost, and no snapshot older than one accepted was sent after it.
        for kind, did, number, status, ptype in sender.answers:
            if status == 409:
                self.assertEqual(ptype, "urn:lienthong:problem:version_already_accepted" if kind == "snapshot"
                                 else "urn:lienthong:problem:seq_conflict", (kind, did, number))
                self.assertEqual(kind, "snapshot", "a step sent again with its body is 200, never 409")
        self.assert_batches_bounded()
        h.wait_for(lambda: all(self.gw.sync(i).json["in_sync"] for i in ids[::25]), what="the gateway in sync")


class JournalCrashTest(CrashTestBase, unittest.TestCase):
    pass


class RedisCrashTest(RedisStoreMixin, CrashTestBase, unittest.TestCase):
    pass


class ClientsTest(DossierCase, unittest.TestCase):
    """The dossier routes need the "dossiers" permission: the dev district office lacks it, the portal has "*"."""

    def test_a_client_without_the_permission_gets_403_and_stores_nothing(self):
        did = dossier_id(9101)
        for r in (self.gw.put(did, snapshot(1), cert="district-office"),
                  self.gw.step(did, step(1), cert="district-office"),
                  self.gw.request("GET", "/v1/dossiers/%s/sync" % did, cert="district-office")):
            with self.subTest(request=r):
                self.assertEqual((r.status, r.json["type"]), (403, "urn:lienthong:problem:operation_not_allowed"), r)
                self.assertIn("dossiers", r.json["detail"])
        self.assertEqual(self.gw.outbox(), [], "a refused request stores nothing")
        self.assertEqual(self.gw.put(did, snapshot(1)).status, 202, "the portal may")
        h.wait_for(lambda: self.portal.dossier(did), what="the portal's dossier at the national portal")
        self.assertEqual(self.portal.dossier(did)["received"], 1)


class VersionsTest(DossierCase, unittest.TestCase):
    def test_a_lower_version_is_409_and_never_reaches_the_portal(self):
        did = dossier_id(9001)
        self.portal.down()
        self.assertEqual(self.gw.put(did, snapshot(5)).status, 202)
        r = self.gw.put(did, snapshot(3, note="phiên bản cũ"))
        self.assertEqual((r.status, r.json["type"]), (409, "urn:lienthong:problem:version_not_newer"), r)
        self.assertIn("version 5", r.json["detail"])
        r = self.gw.put(did, snapshot(5))
        self.assertEqual((r.status, r.json["type"]), (409, "urn:lienthong:problem:version_already_accepted"), r)
        r = self.gw.put(did, snapshot(5, note="khác"))
        self.assertEqual((r.status, r.json["type"]), (409, "urn:lienthong:problem:version_not_newer"), r)
        self.portal.up()
        h.wait_for(lambda: self.portal.dossier(did), what="the dossier at the portal")
        self.assertEqual(self.gw.put(did, snapshot(4)).status, 409, "also once the portal holds v5")
        h.wait_for(lambda: self.gw.sync(did).json["in_sync"], what="in sync")
        d = self.portal.dossier(did)
        self.assertEqual(d["record"]["GhiChu"], "phiên bản 5")
        self.assertEqual(d["received"], 1, "only v5 ever reached the portal")
        self.assertFalse(any("cũ" in str(c) for c in self.portal.calls()["calls"]))


class RefusalTest(DossierCase, unittest.TestCase):
    def test_a_refused_snapshot_is_a_dead_letter_and_the_rest_of_its_batch_goes_on(self):
        ids = [dossier_id(i) for i in range(100, 110)]
        bad = ids[4]
        self.portal.down()
        Sender(self.gw).run([r for i in range(100, 110) for r in handover_plan(1, steps=2, first=i)], threads=1)
        self.portal.configure(refuse=[{"MaHoSo": bad, "service": "DongBoHoSoMC", "reason": "MaTTHC không hợp lệ"}])
        self.portal.up()
        good = [i for i in ids if i != bad]
        held = h.wait_for(lambda: (lambda d: all(i in d and len(d[i]["steps"]) == 2 for i in good) and d)(
            self.portal.dossiers()), what="the rest of the batch delivered")
        self.assertNotIn(bad, held)
        calls = [c for c in self.portal.calls()["calls"] if c["service"] == "DongBoHoSoMC"]
        self.assertEqual((calls[0]["records"], calls[0]["error_code"]), (10, -1), calls[:3])
        self.assertEqual(calls[0]["message"], "MaHoSo %s: MaTTHC không hợp lệ" % bad)
        self.assertEqual((calls[1]["records"], calls[1]["error_code"]), (9, 0), "the other nine went again at once")

        dead = self.gw.outbox("dead")
        self.assertEqual([(d["id"], d["state"]) for d in dead], [(bad + ":v2", "dead")])
        self.assertIn("MaTTHC không hợp lệ", dead[0]["error"])
        s = self.gw.sync(bad).json
        h.validate(s, "dossier_sync.schema.json")
        self.assertEqual(s["snapshot"]["state"], "refused")
        self.assertIn("MaTTHC không hợp lệ", s["snapshot"]["refused"]["message"])
        self.assertEqual({w["reason"] for w in s["steps"]["waiting"]}, {"dossier_not_at_portal"})
        status = h.wait_for(lambda: (lambda st: st["color"] == "amber" and st)(self.gw.status()["dossiers"]),
                            what="amber status")
        self.assertIn("dead letter", status["reason"])
        self.assertIn("MaTTHC không hợp lệ", status["reason"])
        self.assertEqual(self.gw.metric('lienthong_dossier_outbox_dead_letters{kind="snapshot"}'), 1)
        rc, out, err = h.run_ctl("dossiers", "list", "--dead", admin_port=self.gw.admin_port)
        self.assertEqual(rc, 0, err)
        self.assertIn(bad + ":v2", out)
        self.assertIn("MaTTHC không hợp lệ", out)
        rc, out, err = h.run_ctl("--help")
        self.assertIn("dossiers redrive RECORD_ID", out)

        # Fixed at the portal, then re-driven by an operator: it goes, and its steps follow it.
        self.portal.configure(refuse=[])
        rc, out, err = h.run_ctl("dossiers", "redrive", bad + ":v2", admin_port=self.gw.admin_port)
        self.assertEqual(rc, 0, err)
        self.assertIn(bad + ":v2", out)
        d = h.wait_for(lambda: (lambda x: x and len(x["steps"]) == 2 and x)(self.portal.dossier(bad)),
                       what="the re-driven dossier and its steps")
        self.assertEqual([s["NoiDungXuLy"] for s in d["steps"]], ["Bước 1", "Bước 2"])
        self.assertEqual(self.gw.outbox("dead"), [])
        h.wait_for(lambda: self.gw.status()["dossiers"]["color"] == "green", what="green again")
        rc, out, err = h.run_ctl("dossiers", "redrive", bad + ":v2", admin_port=self.gw.admin_port)
        self.assertEqual(rc, 1, "not a dead letter any more")

    def test_a_refused_step_holds_back_the_steps_after_it_only(self):
        ids = [dossier_id(i) for i in range(200, 204)]
        bad = ids[1]
        for did in ids:
            self.assertEqual(self.gw.put(did, snapshot(1)).status, 202)
        h.wait_for(lambda: all(self.gw.sync(i).json["snapshot"]["state"] == "synced" for i in ids), what="synced")
        self.portal.configure(refuse=[{"MaHoSo": bad, "service": "CapNhatTienDoHoSoMC", "reason": "sai cán bộ"}])
        for did in ids:
            for k in (1, 2, 3):
                self.assertEqual(self.gw.step(did, step(k)).status, 202)
        h.wait_for(lambda: all(len((self.portal.dossier(i) or {}).get("steps", [])) == 3 for i in ids if i != bad),
                   what="the other dossiers' steps")
        self.assertEqual(self.portal.dossier(bad)["steps"], [], "step 1 refused, 2 and 3 wait behind it")
        s = self.gw.sync(bad).json
        self.assertEqual([(r["seq"], r["message"]) for r in s["steps"]["refused"]],
                         [(1, "MaHoSo %s: sai cán bộ" % bad)])
        self.assertEqual([(w["seq"], w["reason"]) for w in s["steps"]["waiting"]],
                         [(2, "behind_refused"), (3, "behind_refused")])
        self.portal.configure(refuse=[])
        r = self.gw.admin_raw("POST", "/dossiers/outbox/%s:s1/redrive" % bad, b"", {"Content-Type": "application/json"})
        self.assertEqual(r.status, 200, r.body)
        d = h.wait_for(lambda: (lambda x: len(x["steps"]) == 3 and x)(self.portal.dossier(bad)), what="re-driven")
        self.assertEqual([x["NoiDungXuLy"] for x in d["steps"]], ["Bước 1", "Bước 2", "Bước 3"])


class PortalBehaviourTest(DossierCase, unittest.TestCase):
    def test_an_expired_session_is_renewed_and_the_call_sent_again(self):
        did = dossier_id(300)
        self.assertEqual(self.gw.put(did, snapshot(1)).status, 202)
        h.wait_for(lambda: self.portal.dossier(did), what="delivered")
        auths = self.portal.counts()["auths"]
        self.portal.expire_sessions()
        self.assertEqual(self.gw.step(did, step(1)).status, 202)
        d = h.wait_for(lambda: (lambda x: x["steps"] and x)(self.portal.dossier(did)), what="the step after a 401")
        counts = self.portal.counts()
        self.assertGreaterEqual(counts["session_expired"], 1, "the portal answered 401 once")
        self.assertEqual(counts["auths"], auths + 1, "one new session")
        self.assertEqual(len(d["steps"]), 1)

    def test_429_is_waited_out(self):
        self.portal.set_fault("rate_limit", remaining=3)
        did = dossier_id(301)
        self.assertEqual(self.gw.put(did, snapshot(1)).status, 202)
        h.wait_for(lambda: self.portal.dossier(did), what="delivered after the 429s")
        self.assertEqual(self.portal.counts()["rate_limited"], 3)

    def test_a_step_repeated_is_200_and_another_body_under_its_seq_is_409(self):
        did = dossier_id(302)
        self.assertEqual(self.gw.step(did, step(1)).status, 202)
        r = self.gw.step(did, step(1))
        self.assertEqual(r.status, 200, r)
        h.validate(r.json, "dossier_accepted.schema.json")
        self.assertEqual(r.json["outcome"], "already_accepted")
        r = self.gw.step(did, step(1, content="khác"))
        self.assertEqual((r.status, r.json["type"]), (409, "urn:lienthong:problem:seq_conflict"), r)
        self.assertEqual(self.gw.put(did, snapshot(1)).status, 202)
        d = h.wait_for(lambda: (lambda x: x and x["steps"] and x)(self.portal.dossier(did)), what="delivered")
        self.assertEqual([x["NoiDungXuLy"] for x in d["steps"]], ["Bước 1"], "sent once, with its first body")


class BadBodiesTest(DossierCase, unittest.TestCase):
    def test_bad_bodies_get_400_and_lose_nothing_stored(self):
        did = dossier_id(400)
        self.portal.down()
        self.assertEqual(self.gw.put(did, snapshot(1)).status, 202)
        self.assertEqual(self.gw.step(did, step(1)).status, 202)
        bad_puts = [
            (snapshot(2, colour="red"), "unknown_field"),
            (snapshot(2, received_at="2026-11-22 09:00:00"), "invalid_time"),
            (snapshot(2, received_at="2026-11-22T09:00:00"), "invalid_time"),  # no offset
            (snapshot(2, status="done"), "invalid_status"),
            (snapshot(2, applicant_type="person"), "invalid_applicant_type"),
            (dict(snapshot(2), version="2"), "invalid_version"),
            ({k: v for k, v in snapshot(2).items() if k != "version"}, "invalid_version"),
            (snapshot(2, fees=[{"name": "x", "amount_vnd": -1}]), "invalid_amount"),
            (snapshot(2, fees=[{"price": 1}]), "unknown_field"),
            (snapshot(2, dossier_id="another"), "dossier_id_mismatch"),
            (snapshot(2, applicant_name="a\u0007b"), "invalid_text"),
            ([1, 2], "invalid_body"),
        ]
        for body, code in bad_puts:
            with self.subTest(code=code, body=body):
                r = self.gw.put(did, body)
                self.assertEqual((r.status, r.json["type"]), (400, "urn:lienthong:problem:" + code), r)
        bad_steps = [
            (step(2, when="now"), "unknown_field"),
            ({k: v for k, v in step(2).items() if k != "seq"}, "invalid_seq"),
            (step(0), "invalid_seq"),
            (dict(step(2), version=3), "unknown_field"),
            (step(2, status="PROCESSING"), "invalid_status"),
        ]
        for body, code in bad_steps:
            with self.subTest(code=code, body=body):
                r = self.gw.step(did, body)
                self.assertEqual((r.status, r.json["type"]), (400, "urn:lienthong:problem:" + code), r)
        r = self.gw.request("PUT", "/v1/dossiers/" + did, body="{not json", headers=dict(
            {"Content-Type": "application/json"}, **{"X-Officer-Id": "CB-1", "X-Purpose": "p"}))
        self.assertEqual((r.status, r.json["type"]), (400, "urn:lienthong:problem:invalid_body"), r)
        r = self.gw.request("PUT", "/v1/dossiers/" + did, body="version=2",
                            headers={"Content-Type": "text/plain", "X-Officer-Id": "CB-1", "X-Purpose": "p"})
        self.assertEqual(r.status, 415, r)
        r = self.gw.request("PUT", "/v1/dossiers/" + did, body=snapshot(2), headers={"Content-Type": "application/json"})
        self.assertEqual((r.status, r.json["type"]), (400, "urn:lienthong:problem:missing_officer"), r)
        r = self.gw.put("bad%20id", snapshot(2))
        self.assertEqual((r.status, r.json["type"]), (400, "urn:lienthong:problem:invalid_dossier_id"), r)
        r = self.gw.request("GET", "/v1/dossiers/" + did)
        self.assertEqual((r.status, r.header("Allow")), (405, "PUT"), r)
        self.assertEqual(self.gw.sync(dossier_id(401)).status, 404)

        s = self.gw.sync(did).json
        self.assertEqual((s["snapshot"]["version"], s["steps"]["received"]), (1, 1), "what was stored is intact")
        self.portal.up()
        d = h.wait_for(lambda: (lambda x: x and x["steps"] and x)(self.portal.dossier(did)), what="delivered")
        self.assertEqual(d["record"]["GhiChu"], "phiên bản 1")
        self.assertEqual([x["NoiDungXuLy"] for x in d["steps"]], ["Bước 1"])

    def test_fields_the_icd_does_not_require_are_not_required(self):
        did = dossier_id(402)
        r = self.gw.put(did, {"version": 1})
        self.assertEqual(r.status, 202, r)
        h.validate(r.json, "dossier_accepted.schema.json")
        self.assertEqual(self.gw.step(did, {"seq": 1}).status, 202)
        d = h.wait_for(lambda: (lambda x: x and x["steps"] and x)(self.portal.dossier(did)), what="delivered")
        self.assertEqual(d["record"], {"MaHoSo": did})
        self.assertEqual(d["steps"], [{"MaHoSo": did}])


if __name__ == "__main__":
    unittest.main(verbosity=2)
