"""lienthong-sim --system all: every national system in one process, each on its default ports with its own
protocol, as `make run` uses it. (Each system's protocol is tested in its own test_<system>.py.)"""
import json
import ssl
import subprocess
import time
import unittest
import http.client

import harness as h

# Default ports from tests/sim/README.md and config/dev.json: service 91xx, control 100 higher.
SYSTEMS = {"population": 9101, "business": 9102, "tax": 9103, "insurance": 9104, "payment": 9105, "webhook": 9106}


class SimAllTest(unittest.TestCase):
    def setUp(self):
        for port in SYSTEMS.values():
            if h.port_accepts(port) or h.port_accepts(port + 100):
                self.skipTest("port %d is in use (is `make run` running?)" % port)
        self.proc = h.spawn([h.SIM_BIN, "--system", "all", "--certs-dir", h.pki()], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines = [self.proc.stdout.readline().decode() for _ in SYSTEMS]

    def tearDown(self):
        if getattr(self, "proc", None) is not None:
            self.proc.terminate()
            self.proc.wait(10)
            h.forget(self.proc)
            self.proc.stdout.close()
            self.proc.stderr.close()

    def test_every_system_listens_on_its_own_ports(self):
        for name, port in SYSTEMS.items():
            with self.subTest(system=name):
                self.assertTrue(any("%s listening on https://127.0.0.1:%d" % (name, port) in l for l in self.lines),
                                self.lines)
                stats = h.http_request(port + 100, "GET", "/control/%s/stats" % name)
                self.assertEqual(stats.status, 200)
                self.assertEqual(stats.json["requests"], 0)

    def test_each_port_speaks_its_own_protocol(self):
        # The tax registry asks for no client certificate; population's mutual TLS refuses a client without one.
        ctx = ssl.create_default_context(cafile=h.pki_path("national-ca.crt"))
        tax = http.client.HTTPSConnection("127.0.0.1", SYSTEMS["tax"], context=ctx, timeout=5)
        tax.request("POST", "/api/tracuu/nnt", body=b"<x/>", headers={"Content-Type": "application/xml"})
        self.assertIn(tax.getresponse().status, (200, 400, 401))
        tax.close()
        pop = http.client.HTTPSConnection("127.0.0.1", SYSTEMS["population"], context=ctx, timeout=5)
        with self.assertRaises((ssl.SSLError, ConnectionError, http.client.RemoteDisconnected)):
            pop.request("POST", "/ws/dancu/v1", body=b"<x/>")
            pop.getresponse()
        pop.close()
        time.sleep(0.1)
        counts = {n: h.http_request(p + 100, "GET", "/control/%s/stats" % n).json["requests"]
                  for n, p in SYSTEMS.items()}
        self.assertEqual(counts, {"population": 0, "business": 0, "tax": 1, "insurance": 0, "payment": 0,
                                  "webhook": 0})


if __name__ == "__main__":
    unittest.main()
