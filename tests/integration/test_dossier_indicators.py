"""The province's own indicators (docs/operations.md, "Dossier indicators"), black box: a stream of dossiers with
known received, due and finished times, channels and fees goes in over mutual TLS; the on-time, online,
online-payment and overdue figures in /status.json, /metrics and `lienthong-ctl status` must equal what this test
counts itself from what it sent, in total, per procedure and per processing unit (bounded: the largest groups by
name, the rest "other", the nameless "none"), and again after a restart on the same store.

Times are chosen relative to now, at least half a day away from it, so that "overdue now" does not depend on how
long the test takes.
"""

import datetime
import json
import os
import re
import unittest

import harness as h
from dosenv import DossierGateway, PortalSim, RedisStoreMixin, dossiers_overrides, journal_store

ONLINE_CHANNELS = ["1", "2"]
ONLINE_PAYMENTS = ["3"]
TOP = 2  # procedures and units named in the figures; the rest fold into "other"
N = 36
TZ = datetime.timezone(datetime.timedelta(hours=7))
PROCEDURES = ["1.001612.000.00.00.H53", "1.001612.000.00.00.H53", "1.001612.000.00.00.H53", "2.000986.000.00.00.H53",
              "2.000986.000.00.00.H53", "1.004227.000.00.00.H53", None, "1.000656.000.00.00.H53"]
UNITS = ["UBND xã Tân Hòa", "UBND xã Tân Hòa", "UBND phường \"Bến\" Thủy", "UBND phường \"Bến\" Thủy", "Sở Tư pháp",
         None]  # a quote in a label value: escaped in /metrics


def iso(t):
    return t.isoformat(timespec="seconds")


def dossier_id(i):
    return "000.00.12.H53-IND-%04d" % i


def final_snapshot(i, now):
    """The snapshot that counts for dossier i (its highest version). A different version 1 is sent before it for
    every third dossier, with other fields, so that only the newest may count."""
    day = datetime.timedelta(days=1)
    body = {"version": 2 if i % 3 == 0 else 1, "received_at": iso(now - 10 * day), "status": "processing"}
    if PROCEDURES[i % len(PROCEDURES)]:
        body["procedure_code"] = PROCEDURES[i % len(PROCEDURES)]
    if UNITS[i % len(UNITS)]:
        body["processing_unit"] = UNITS[i % len(UNITS)]
    if i % 9 != 4:  # a few without a due date
        body["due_at"] = iso(now + ((i % 5) - 2.5) * day)  # -2.5, -1.5, -0.5, +0.5, +1.5 days
    if i % 4 == 1 and "due_at" in body:
        body["finished_at"] = iso(now - 3 * day if i % 8 == 1 else now - 0.1 * day)
        body["status"] = "finished"
    elif i % 4 == 2:
        body["finished_at"] = iso(now - 4 * day)
        body["status"] = "result_delivered"
    elif i % 13 == 3:
        body["status"] = "withdrawn"
    if i % 6 != 5:
        body["channel_code"] = ["1", "0", "2", "0", "3"][i % 5]
    if i % 7 != 6:
        body["fees"] = [{"name": "Lệ phí", "amount_vnd": 50000, "collection_method_code": ["3", "1"][i % 2]}]
        if i % 10 == 7:
            body["fees"].append({"name": "Phí", "amount_vnd": 10000, "collection_method_code": "3"})
    return body


def stale_snapshot(i, now):
    """Version 1 of a dossier whose version 2 counts: another procedure, online, paid online, overdue."""
    return {"version": 1, "procedure_code": "9.999999.000.00.00.H53", "processing_unit": "Đơn vị cũ",
            "channel_code": "1", "due_at": iso(now - 5 * datetime.timedelta(days=1)),
            "fees": [{"collection_method_code": "3"}]}


def parse(t):
    return datetime.datetime.fromisoformat(t) if t else None


def figures_of(bodies, now):
    """The test's own count of the indicators of these snapshots (the definitions of docs/operations.md)."""
    f = dict(dossiers=0, finished=0, finished_with_due=0, finished_on_time=0, online=0, with_fees=0, paid_online=0,
             overdue=0)
    for b in bodies:
        due, fin, status = parse(b.get("due_at")), parse(b.get("finished_at")), b.get("status")
        f["dossiers"] += 1
        if fin or status in ("finished", "result_delivered"):
            f["finished"] += 1
        if fin and due:
            f["finished_with_due"] += 1
            f["finished_on_time"] += fin <= due
        f["online"] += b.get("channel_code") in ONLINE_CHANNELS
        fees = b.get("fees") or []
        if fees:
            f["with_fees"] += 1
            f["paid_online"] += any(x.get("collection_method_code") in ONLINE_PAYMENTS for x in fees)
        closed = fin or status in ("finished", "result_delivered", "withdrawn", "stopped", "not_received")
        f["overdue"] += bool(not closed and due and due < now)
    return f


def grouped(bodies, key, now):
    """Per group, bounded as the contract says: the TOP largest (ties by name), "other", "none"."""
    groups = {}
    for b in bodies:
        groups.setdefault(b.get(key), []).append(b)
    named = sorted((k for k in groups if k is not None), key=lambda k: (-len(groups[k]), k))
    out = {k: figures_of(groups[k], now) for k in named[:TOP]}
    rest = [b for k in named[TOP:] for b in groups[k]]
    if rest:
        out["other"] = figures_of(rest, now)
    if None in groups:
        out["none"] = figures_of(groups[None], now)
    return out


def ratio(part, whole):
    return part / whole if whole else None


RATES = (("on_time", "on_time_rate", "finished_on_time", "finished_with_due"),
         ("online", "online_rate", "online", "dossiers"),
         ("online_payment", "online_payment_rate", "paid_online", "with_fees"))


def metrics_series(text):
    """{(name, frozenset(labels)): value} of the indicator families."""
    out = {}
    for line in text.splitlines():
        m = re.match(r'^(lienthong_dossier_indicator_\w+)\{(.*)\} (\S+)$', line)
        if m:
            labels = {k: re.sub(r'\\(.)', lambda x: {"n": "\n"}.get(x.group(1), x.group(1)), v)
                      for k, v in re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2))}
            out[(m.group(1), frozenset(labels.items()))] = float(m.group(3))
    return out


def rate_text(f, part, whole, title=""):
    r = ratio(f[part], f[whole])
    return "%s%d/%d%s" % (title, f[part], f[whole], " (%.1f %%)" % (r * 100) if r is not None else "")


def card_text(f):
    return ("%d hồ sơ · dossiers; đúng hạn · on time %s; trực tuyến · online %s; thanh toán trực tuyến · paid online "
            "%s; quá hạn · overdue now %d" % (f["dossiers"], rate_text(f, "finished_on_time", "finished_with_due"),
                                              rate_text(f, "online", "dossiers"),
                                              rate_text(f, "paid_online", "with_fees"), f["overdue"]))


def ctl_line(label, f):
    def rate(title, part, whole):
        return rate_text(f, part, whole, title + " ")
    return "  %s: dossiers %d, %s, %s, %s, overdue now %d" % (
        label, f["dossiers"], rate("on time", "finished_on_time", "finished_with_due"),
        rate("online", "online", "dossiers"), rate("paid online", "paid_online", "with_fees"), f["overdue"])


class IndicatorsBase:
    def make_store(self):
        return journal_store()

    def setUp(self):
        self.portal = PortalSim()
        self.gw = DossierGateway(self.portal, store=self.make_store(), indicators={
            "online_channel_codes": ONLINE_CHANNELS, "online_payment_codes": ONLINE_PAYMENTS,
            "top_procedures": TOP, "top_units": TOP})

    def tearDown(self):
        self.gw.kill()
        self.portal.kill()

    def send_stream(self, now):
        finals = []
        for i in range(N):
            did, body = dossier_id(i), final_snapshot(i, now)
            if body["version"] == 2:
                r = self.gw.put(did, stale_snapshot(i, now))
                self.assertEqual(r.status, 202, r.body)
            r = self.gw.put(did, body)
            self.assertEqual(r.status, 202, r.body)
            if i % 5 == 0 and body["version"] == 2:
                r = self.gw.put(did, stale_snapshot(i, now))
                self.assertEqual(r.status, 409, "an older version is refused and counts for nothing")
            finals.append(body)
        r = self.gw.step("000.00.12.H53-IND-STEPS", {"seq": 1, "content": "Bước 1"})
        self.assertEqual(r.status, 202, "a dossier with steps only has no snapshot to count")
        return finals

    def ready_indicators(self):
        return h.wait_for(lambda: (lambda ind: ind.get("ready") and ind)(self.gw.status()["dossiers"]["indicators"]),
                          what="the indicators rebuilt from the store")

    def assert_figures(self, got, want, where):
        for k, v in want.items():
            self.assertEqual(got[k], v, "%s: %s" % (where, k))
        for _, rate_key, part, whole in RATES:
            r = ratio(want[part], want[whole])
            if r is None:
                self.assertIsNone(got[rate_key], where + ": no denominator, no rate")
            else:
                self.assertAlmostEqual(got[rate_key], r, places=9, msg=where + ": " + rate_key)

    def assert_everywhere(self, finals, now):
        total = figures_of(finals, now)
        by_procedure = grouped(finals, "procedure_code", now)
        by_unit = grouped(finals, "processing_unit", now)
        self.assertIn("other", by_procedure, "the stream has more procedures than the bound")
        self.assertIn("none", by_unit)
        self.assertGreater(total["overdue"], 0)
        self.assertGreater(total["finished_with_due"], total["finished_on_time"], "some finished late")

        # /status.json
        ind = self.ready_indicators()
        self.assert_figures(ind["total"], total, "status total")
        for key, label, want in (("by_procedure", "procedure", by_procedure), ("by_unit", "unit", by_unit)):
            got = {row[label]: row for row in ind[key]}
            self.assertEqual(set(got), set(want), "status %s: the groups and nothing else" % key)
            for name, fig in want.items():
                self.assert_figures(got[name], fig, "status %s %s" % (key, name))
        card = dict(self.gw.status()["dossiers"]["card"]["rows"])
        r = ratio(total["finished_on_time"], total["finished_with_due"])
        self.assertEqual(card["Đúng hạn · On time"], "%d/%d (%.1f %%)" % (
            total["finished_on_time"], total["finished_with_due"], r * 100))
        self.assertEqual(card["Quá hạn · Overdue now"], str(total["overdue"]))
        self.assertEqual(card["Thanh toán trực tuyến · Paid online"], rate_text(total, "paid_online", "with_fees"))
        for prefix, want in (("Thủ tục · Procedure ", by_procedure), ("Đơn vị · Unit ", by_unit)):
            rows = {k[len(prefix):]: v for k, v in card.items() if k.startswith(prefix)}
            self.assertEqual(set(rows), set(want), "the card has a row per group, bounded")
            for name, fig in want.items():
                self.assertEqual(rows[name], card_text(fig), "card " + prefix + name)

        # /metrics
        series = metrics_series(self.gw.admin("GET", "/metrics").body.decode())
        expected = [("total", "all", total)] + [("procedure", k, v) for k, v in by_procedure.items()] + \
                   [("unit", k, v) for k, v in by_unit.items()]
        for by, group, fig in expected:
            for name, value in fig.items():
                key = ("lienthong_dossier_indicator_dossiers",
                       frozenset({"figure": name, "by": by, "group": group}.items()))
                self.assertEqual(series.get(key), value, "metrics %s %s %s" % (by, group, name))
            for indicator, _, part, whole in RATES:
                key = ("lienthong_dossier_indicator_ratio",
                       frozenset({"indicator": indicator, "by": by, "group": group}.items()))
                r = ratio(fig[part], fig[whole])
                if r is None:
                    self.assertNotIn(key, series, "no denominator, no series")
                else:
                    self.assertAlmostEqual(series[key], r, places=5, msg="metrics %s %s %s" % (by, group, indicator))
        groups = {dict(k[1])["group"] for k in series if dict(k[1])["by"] == "procedure"}
        self.assertLessEqual(len(groups), TOP + 2, "the procedure label is bounded")
        self.assertEqual(len(series), len(expected) * 8 + sum(
            1 for _, _, fig in expected for _, _, part, whole in RATES if fig[whole]), "no other indicator series")

        # lienthong-ctl status
        rc, out, err = h.run_ctl("status", admin_port=self.gw.admin_port)
        self.assertIn(rc, (0, 3), err)
        lines = out.splitlines()
        self.assertIn(ctl_line("total", total), lines, out)
        for name, fig in by_procedure.items():
            self.assertIn(ctl_line("procedure " + name, fig), lines, out)
        for name, fig in by_unit.items():
            self.assertIn(ctl_line("unit " + name, fig), lines, out)

    def test_figures_equal_the_stream_and_survive_a_restart(self):
        now = datetime.datetime.now(TZ)
        finals = self.send_stream(now)
        self.assert_everywhere(finals, datetime.datetime.now(TZ))
        self.gw.stop()
        self.gw.start(keep_ports=True)
        self.assert_everywhere(finals, datetime.datetime.now(TZ))


class JournalIndicatorsTest(IndicatorsBase, unittest.TestCase):
    pass


class RedisIndicatorsTest(RedisStoreMixin, IndicatorsBase, unittest.TestCase):
    pass


class IndicatorsConfigTest(unittest.TestCase):
    """A bad indicators section is refused by --check-config with the key named; a good one passes."""

    def check(self, indicators):
        d = h.make_tmpdir("lt-ind-conf-")
        cfg = h.gateway_config(h.free_port(), h.free_port(), overrides=dossiers_overrides(
            None, journal_store(os.path.join(d, "dossiers")), indicators=indicators))
        path = os.path.join(d, "gateway.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(cfg, f)
        return h.run_gateway(["--check-config", "--config", path])

    def test_the_section_is_checked(self):
        rc, out = self.check({"online_channel_codes": ["1", "2"], "online_payment_codes": ["3"], "top_units": 5,
                              "top_procedures": 200, "rescan_s": 0})
        self.assertEqual(rc, 0, out)
        for bad, needle in (({"online_channel_codes": ["1", "x1"]}, "dossiers.indicators.online_channel_codes[1]"),
                            ({"online_payment_codes": [3]}, "dossiers.indicators.online_payment_codes[0]"),
                            ({"online_payment_codes": ["12345"]}, "dossiers.indicators.online_payment_codes[0]"),
                            ({"online_channel_codes": "1"}, "dossiers.indicators.online_channel_codes"),
                            ({"online_channel_codes": [str(i) for i in range(11)]}, "at most 10 codes"),
                            ({"top_procedures": 0}, "dossiers.indicators.top_procedures"),
                            ({"top_units": 201}, "dossiers.indicators.top_units"),
                            ({"rescan_s": -1}, "dossiers.indicators.rescan_s"),
                            ({"colour": "red"}, "dossiers.indicators.colour")):
            with self.subTest(bad=bad):
                rc, out = self.check(bad)
                self.assertNotEqual(rc, 0, out)
                self.assertIn(needle, out)


if __name__ == "__main__":
    unittest.main()
