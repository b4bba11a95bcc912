"""lienthong-sim --system all: every national system in one process, each on its default ports with its own
protocol, as `make run` uses it; and --list, which names them. (Each system's protocol is tested in its own
test_<system>.py.)"""
import functools
import json
import os
import ssl
import subprocess
import time
import unittest
import urllib.parse
import http.client

import harness as h

# The systems' documented ports (tests/sim/README.md and config/dev.json): --list must give each of them its own.
DOCUMENTED = {"population": 9101, "business": 9102, "tax": 9103, "insurance": 9104, "payment": 9105, "webhook": 9106,
              "civil-status": 9107, "land": 9108, "public-portal": 9110}


@functools.lru_cache(maxsize=None)
def listed_systems():
    """{name: (service port, control port)} as `lienthong-sim --list` prints them."""
    h.require_binary(h.SIM_BIN)
    out = subprocess.run([h.SIM_BIN, "--list"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, check=True,
                         timeout=30).stdout.decode()
    systems = {}
    for line in out.splitlines():
        name, port, control = line.split()
        systems[name] = (int(port), int(control))
    return systems


def systems():
    """{name: service port} of every system --system all starts: the simulator's own list, so a new system is
    covered with no edit here."""
    return {name: port for name, (port, _control) in listed_systems().items()}


class SimListTest(unittest.TestCase):
    def test_list_names_every_system_with_its_ports(self):
        listed = listed_systems()
        for name, port in DOCUMENTED.items():
            self.assertEqual(listed.get(name), (port, port + 100), name)
        for name, (port, control) in listed.items():
            self.assertEqual(control, port + 100, name)
        ports = [p for pair in listed.values() for p in pair]
        self.assertEqual(len(ports), len(set(ports)), "every port is one system's")

    def test_dev_config_points_at_the_listed_ports(self):
        """config/dev.json (make run) reaches each national system on the port --list gives it."""
        with open(os.path.join(h.SOURCE_DIR, "config", "dev.json"), encoding="utf-8") as f:
            dev = json.load(f)
        urls = {name: u["base_url"] for name, u in dev["upstreams"].items() if not name.startswith("//")}
        urls["payment"] = dev["payments"]["base_url"]
        urls["webhook"] = dev["payments"]["webhook"]["url"]
        urls["public-portal"] = dev["dossiers"]["portal"]["url"]
        for name, url in urls.items():
            with self.subTest(system=name):
                self.assertIn(name, systems())
                self.assertEqual(urllib.parse.urlsplit(url).port, systems()[name])


class SimAllTest(unittest.TestCase):
    def setUp(self):
        self.systems = systems()
        for port in self.systems.values():
            if h.port_accepts(port) or h.port_accepts(port + 100):
                self.skipTest("port %d is in use (is `make run` running?)" % port)
        self.proc = h.spawn([h.SIM_BIN, "--system", "all", "--certs-dir", h.pki()], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines = [self.proc.stdout.readline().decode() for _ in self.systems]

    def tearDown(self):
        if getattr(self, "proc", None) is not None:
            self.proc.terminate()
            self.proc.wait(10)
            h.forget(self.proc)
            self.proc.stdout.close()
            self.proc.stderr.close()

    def test_every_system_listens_on_its_own_ports(self):
        for name, port in self.systems.items():
            with self.subTest(system=name):
                self.assertTrue(any("%s listening on https://127.0.0.1:%d" % (name, port) in l for l in self.lines),
                                self.lines)
                stats = h.http_request(port + 100, "GET", "/control/%s/stats" % name)
                self.assertEqual(stats.status, 200)
                self.assertEqual(stats.json["requests"], 0)

    def test_each_port_speaks_its_own_protocol(self):
        # The tax registry asks for no client certificate; population's mutual TLS refuses a client without one.
        ctx = ssl.create_default_context(cafile=h.pki_path("national-ca.crt"))
        tax = http.client.HTTPSConnection("127.0.0.1", self.systems["tax"], context=ctx, timeout=5)
        tax.request("POST", "/api/tracuu/nnt", body=b"<x/>", headers={"Content-Type": "application/xml"})
        self.assertIn(tax.getresponse().status, (200, 400, 401))
        tax.close()
        pop = http.client.HTTPSConnection("127.0.0.1", self.systems["population"], context=ctx, timeout=5)
        with self.assertRaises((ssl.SSLError, ConnectionError, http.client.RemoteDisconnected)):
            pop.request("POST", "/ws/dancu/v1", body=b"<x/>")
            pop.getresponse()
        pop.close()
        time.sleep(0.1)
        counts = {n: h.http_request(p + 100, "GET", "/control/%s/stats" % n).json["requests"]
                  for n, p in self.systems.items()}
        self.assertEqual(counts, {n: 1 if n == "tax" else 0 for n in self.systems})


if __name__ == "__main__":
    unittest.main()
