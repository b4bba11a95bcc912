"""Logs for machines: with the default configuration every line the gateway writes on stderr is one JSON object,
and each request has one access record with the operational monitoring fields (request id, client, operation,
method, route template, status, sizes, cache state, upstream, duration, instance). Identifiers never appear: the
route is a template, not the path."""
import json
import unittest

import harness as h

ACCESS_FIELDS = {"time", "level", "instance", "record", "request_id", "listener", "client", "method", "route",
                 "status", "request_bytes", "response_bytes", "duration_ms"}


class JsonLogTest(unittest.TestCase):
    def test_every_line_is_json_and_access_records_carry_their_fields(self):
        sim = h.Sim("tax")
        row = h.sim_sample(1, sim.seed, system="tax")[0]
        over = {"log_format": h.DELETE, "instance": "gw-test-1",
                "cache": {"backend": "memory"},
                "upstreams": {"population": h.DELETE, "tax": {
                    "base_url": sim.base_url, "cert": h.pki_path("gateway-national.crt"),
                    "key": h.pki_path("gateway-national.key"), "ca": h.pki_path("national-ca.crt"),
                    "service": {"unit_code": "000.00.00.H53", "api_key_file": h.pki_path("tax-api.key")}}}}
        gw = h.Gateway(sim, overrides=over, start=False)
        try:
            gw.start()
            path = "/v1/taxpayers/" + row["tax_code"]
            for _ in range(2):
                r = gw.request("GET", path, headers=h.officer_headers(request_id="log-test-1"))
                self.assertEqual(r.status, 200, gw.diag(repr(r)))
            refused = gw.request("GET", path, headers=h.officer_headers(), cert="other-portal")
            self.assertEqual(refused.status, 403)
        finally:
            gw.stop()
            sim.stop()
        with open(gw.stderr_path, encoding="utf-8") as f:
            lines = [line for line in f.read().splitlines() if line.strip()]
        self.assertGreater(len(lines), 3)
        records = []
        for line in lines:
            try:
                records.append(json.loads(line))
            except ValueError:
                self.fail("not a JSON line: %r" % line)
        for rec in records:
            self.assertIn(rec["level"], ("error", "warn", "info", "debug"))
            self.assertEqual(rec["instance"], "gw-test-1")
            self.assertRegex(rec["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        # The harness's own readiness request comes first; the test's three requests are the last three.
        access = [rec for rec in records if rec.get("record") == "access"][-3:]
        self.assertEqual(len(access), 3, access)
        first, second, third = access
        for rec in access:
            self.assertLessEqual(ACCESS_FIELDS, set(rec), rec)
            self.assertEqual(rec["method"], "GET")
            self.assertNotIn(row["tax_code"], json.dumps(rec), "the path's identifier stays out of the log")
            self.assertGreater(rec["response_bytes"], 0)
            self.assertGreaterEqual(rec["duration_ms"], 0)
        self.assertEqual([a["status"] for a in access], [200, 200, 403])
        self.assertEqual((first["request_id"], first["client"], first["operation"], first["upstream"], first["cache"]),
                         ("log-test-1", "portal", "tax.lookup", "tax", "miss"))
        self.assertEqual(second["cache"], "hit")
        for rec in (first, second):
            self.assertEqual(rec["route"], "GET /v1/taxpayers/{tax_code}")
        self.assertEqual((third["client"], third["route"]), ("-", "-"), "refused before it was routed")


if __name__ == "__main__":
    unittest.main()
