"""`make run` (config/run-dev.sh) as a newcomer meets it: the banner only once every process is ready, a loud
non-zero exit with the gateway's own message when it cannot start, and one Ctrl-C that drains.

The script runs as `make run` runs it, on config/dev.json and certs/dev (made as `make pki` makes them), with the
gateway's ports moved to free ones (LT_DEV_*_PORT); the simulators keep dev.json's ports, so the test is skipped
when one of those is taken (a `make run` on this machine).
"""

import os
import signal
import socket
import subprocess
import unittest

import harness as h

SCRIPT = os.path.join(h.SOURCE_DIR, "config", "run-dev.sh")
BANNER = "Liên Thông is running"


def sim_ports():
    out = subprocess.run([h.SIM_BIN, "--list"], stdout=subprocess.PIPE, check=True, timeout=20).stdout.decode()
    ports = []
    for line in out.splitlines():
        _name, port, control = line.split()
        ports += [int(port), int(control)]
    return ports


class RunDevTest(unittest.TestCase):

    def setUp(self):
        self.ports = {"api": h.free_port(), "admin": h.free_port(), "callbacks": h.free_port()}

    @classmethod
    def setUpClass(cls):
        h.require_binary(h.GATEWAY_BIN)
        h.require_binary(h.SIM_BIN)
        for port in sim_ports():
            if h.port_accepts(port):
                raise unittest.SkipTest("port %d of config/dev.json is in use (a `make run`?)" % port)
        pki = os.path.join(h.SOURCE_DIR, "certs", "dev")
        if not os.path.exists(os.path.join(pki, "gateway.crt")):  # as `make pki`
            subprocess.run(["bash", os.path.join(h.SOURCE_DIR, "certs", "gen-pki.sh"), pki], check=True,
                           stdout=subprocess.DEVNULL, timeout=300)

    def start(self):
        env = dict(os.environ, LT_DEV_API_PORT=str(self.ports["api"]), LT_DEV_ADMIN_PORT=str(self.ports["admin"]),
                   LT_DEV_CALLBACKS_PORT=str(self.ports["callbacks"]))
        # stderr to a file: the processes log there, and an undrained pipe would stall them.
        self.err = open(os.path.join(h.make_tmpdir("lt-run-dev-"), "stderr"), "w+b")
        self.addCleanup(self.err.close)
        p = h.spawn([SCRIPT, h.BUILD_DIR], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.err, env=env)
        self.addCleanup(self.stop, p)
        return p

    @staticmethod
    def stop(p):
        """SIGTERM and wait: the script then stops its own processes (a SIGKILL would leave them running)."""
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=120)
        p.stdout.close()

    def stderr(self):
        self.err.seek(0)
        return self.err.read().decode(errors="replace")

    def test_a_taken_api_port_fails_loudly_without_a_banner(self):
        with socket.socket() as taken:
            taken.bind((h.HOST, self.ports["api"]))
            taken.listen()
            p = self.start()
            out, _ = p.communicate(timeout=300)
        out, err = out.decode(), self.stderr()
        self.assertNotEqual(p.returncode, 0, err)
        self.assertIn("lienthong-gateway: listeners.api.bind: cannot listen on 0.0.0.0:%d: Address already in use"
                      % self.ports["api"], err)
        self.assertIn("run-dev: lienthong-gateway exited", err)
        self.assertNotIn(BANNER, out)
        self.assertNotIn("curl", out)
        # Nothing is left behind: the simulators were stopped with it.
        self.assertFalse(any(h.port_accepts(port) for port in sim_ports()))

    def test_the_banner_comes_once_everything_is_ready_and_one_ctrl_c_drains(self):
        p = self.start()
        lines = []
        while not any("/control/webhook/events" in line for line in lines):  # the last example
            line = p.stdout.readline().decode()
            self.assertTrue(line, "the script ended before its banner:\n" + self.stderr()[-3000:])
            lines.append(line)
        out = "".join(lines)
        self.assertIn(BANNER, out)
        self.assertIn("https://localhost:%d/v1/citizens/lookup" % self.ports["api"], out)
        # Ready when the banner says so: the gateway answers, and so does every simulator.
        self.assertEqual(h.http_request(self.ports["admin"], "GET", "/readyz").status, 200)
        self.assertTrue(h.port_accepts(self.ports["api"]))
        for port in sim_ports():
            self.assertTrue(h.port_accepts(port), port)
        p.send_signal(signal.SIGINT)
        p.communicate(timeout=120)
        err = self.stderr()
        self.assertEqual(p.returncode, 130, err[-3000:])
        self.assertEqual(err.count(": draining (grace"), 1, "one signal, one drain")
        self.assertNotIn("second signal", err)
        # The simulators were up before the gateway: no national system was ever seen down.
        self.assertNotIn(" is down", err)
        self.assertFalse(h.port_accepts(self.ports["api"]))


if __name__ == "__main__":
    unittest.main()
