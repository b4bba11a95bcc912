"""Installing the gateway: what `cmake --install` puts where, the installed systemd unit, and the gateway started
as that unit starts it (Type=notify: READY=1 only once the api listener accepts connections).

The install goes into a DESTDIR of this run, from the build under test (LT_BUILD_DIR), with the paths that build
was configured with (cmake/install.cmake). The .deb is inspected when `make deb` has built one (LT_DEB_BUILD_DIR,
default build-deb next to the sources); building it is not part of this test, to keep `make test` short.
"""

import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import unittest

import harness as h


def cmake_cache(name, default):
    with open(os.path.join(h.BUILD_DIR, "CMakeCache.txt"), encoding="utf-8") as f:
        for line in f:
            m = re.match(r"%s:[A-Z]+=(.*)$" % re.escape(name), line.strip())
            if m and m.group(1):  # GNUInstallDirs caches some as "" when left at their default
                return m.group(1)
    return default


def full(prefix, d):
    return d if d.startswith("/") else os.path.join(prefix, d)


class InstallTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        h.require_binary(h.GATEWAY_BIN)
        h.require_binary(h.CTL_BIN)
        cls.dir = h.make_tmpdir("lt-install-")
        cls.root = os.path.join(cls.dir, "root")
        r = subprocess.run(["cmake", "--install", h.BUILD_DIR], env=dict(os.environ, DESTDIR=cls.root),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        if r.returncode != 0:
            raise AssertionError("cmake --install failed:\n" + r.stdout.decode(errors="replace"))
        prefix = cmake_cache("CMAKE_INSTALL_PREFIX", "/usr/local")
        cls.paths = {
            "gateway": full(prefix, cmake_cache("CMAKE_INSTALL_SBINDIR", "sbin")) + "/lienthong-gateway",
            "ctl": full(prefix, cmake_cache("CMAKE_INSTALL_BINDIR", "bin")) + "/lienthong-ctl",
            "audit": full(prefix, cmake_cache("CMAKE_INSTALL_BINDIR", "bin")) + "/lienthong-audit",
            "unit": prefix + "/lib/systemd/system/lienthong-gateway.service",
            "sample": full(prefix, cmake_cache("CMAKE_INSTALL_SYSCONFDIR", "/etc")) + "/lienthong/gateway.json.sample",
            "man": full(prefix, cmake_cache("CMAKE_INSTALL_MANDIR", "share/man")),
            "doc": full(prefix, cmake_cache("CMAKE_INSTALL_DOCDIR", "share/doc/lienthong")),
        }

    def installed(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def unit_text(self):
        with open(self.installed(self.paths["unit"]), encoding="utf-8") as f:
            return f.read()

    def test_the_expected_files_are_installed(self):
        for name in ("gateway", "ctl", "audit"):
            path = self.installed(self.paths[name])
            self.assertTrue(os.access(path, os.X_OK), path)
        r = subprocess.run([self.installed(self.paths["gateway"]), "--version"], stdout=subprocess.PIPE, timeout=20)
        self.assertIn(h.project_version(), r.stdout.decode())
        for page in ("lienthong-gateway.8", "lienthong-ctl.8", "lienthong-audit.8"):
            path = self.installed(self.paths["man"] + "/man8/" + page)
            with open(path, encoding="utf-8") as f:
                self.assertTrue(f.read().lstrip().startswith(".\\\""), path + " is troff")
        self.assertTrue(os.path.isfile(self.installed(self.paths["doc"] + "/operations.md")))
        with open(self.installed(self.paths["sample"]), encoding="utf-8") as f:
            sample = f.read()
        with open(os.path.join(h.SOURCE_DIR, "config", "production.json"), encoding="utf-8") as f:
            self.assertEqual(sample, f.read(), "the sample is the commented production config")
        unit = self.unit_text()
        self.assertIn("ExecStart=%s --config " % self.paths["gateway"], unit, "the unit runs the installed binary")
        if os.path.exists(os.path.join(h.BUILD_DIR, "lienthong-audit")):  # installed where the target exists
            self.assertTrue(os.path.exists(self.installed(os.path.dirname(self.paths["ctl"]) + "/lienthong-audit")))

    def verify(self, unit_text, name, manpath):
        tool = shutil.which("systemd-analyze")
        if tool is None:
            self.skipTest("systemd-analyze is not installed (Debian package systemd, in the Makefile's DEB_PACKAGES)")
        path = os.path.join(self.dir, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(unit_text.replace(self.paths["gateway"], self.installed(self.paths["gateway"])))
        env = dict(os.environ, MANPATH=manpath)
        r = subprocess.run([tool, "verify", path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                           timeout=60)
        return r.returncode, r.stdout.decode(errors="replace")

    def test_the_installed_unit_verifies(self):
        """systemd-analyze verify passes on the installed unit, its man: documentation resolving to the installed
        page (the binary's path is the one thing moved into DESTDIR)."""
        unit = self.unit_text()
        for line in ("Type=notify", "Documentation=man:lienthong-gateway(8)", "NoNewPrivileges=yes",
                     "ProtectSystem=strict", "SystemCallFilter=@system-service"):
            self.assertIn(line, unit)
        self.assertRegex(unit, r"\nWatchdogSec=\d+")
        self.assertRegex(unit, r"\nExecStartPre=\S+ --check-config --config ")
        manpath = self.installed(self.paths["man"])
        self.assertEqual(self.verify(unit, "lienthong-gateway.service", manpath), (0, ""))
        # The control cases: a broken directive, and a man page that is not installed, are both reported.
        rc, out = self.verify(unit.replace("ProtectSystem=strict", "ProtectSystem=nonsense"), "broken.service",
                              manpath)
        self.assertIn("protect system value", out)
        rc, out = self.verify(unit, "noman.service", os.path.join(self.dir, "no-man-here"))
        self.assertNotEqual(rc, 0, out)
        self.assertIn("lienthong-gateway(8)", out)

    def sample_config(self, api_port, admin_port, callbacks_port, redis):
        """The installed sample with its /etc/lienthong files pointed at this run's PKI, its listeners on free
        ports, its Redis at a real one, and the national systems at a closed port (no traffic leaves the host)."""
        with open(self.installed(self.paths["sample"]), encoding="utf-8") as f:
            text = f.read()
        password = os.path.join(self.dir, "redis.password")
        with open(password, "w") as f:
            f.write("install-test-password\n")
        files = {"/etc/lienthong/tls/gateway.crt": "gateway.crt", "/etc/lienthong/tls/gateway.key": "gateway.key",
                 "/etc/lienthong/tls/province-ca.crt": "province-ca.crt",
                 # The test PKI's list of the province CA (gen-pki.sh keeps it current): the gateway starts with it.
                 "/etc/lienthong/tls/province-ca.crl": "province-ca.crl",
                 "/etc/lienthong/tls/national-client.crt": "gateway-national.crt",
                 "/etc/lienthong/tls/national-client.key": "gateway-national.key",
                 "/etc/lienthong/tls/national-ca.crt": "national-ca.crt"}
        for old, new in files.items():
            text = text.replace(old, h.pki_path(new))
        text = text.replace("/etc/lienthong/secrets/redis.password", password)
        text = re.sub(r"/etc/lienthong/secrets/([\w.-]+)", lambda m: h.pki_path(m.group(1)), text)
        self.assertNotIn("/etc/lienthong", text)
        cfg = json.loads(text)
        cfg["listeners"]["api"]["bind"] = "127.0.0.1:%d" % api_port
        cfg["listeners"]["admin"]["bind"] = "127.0.0.1:%d" % admin_port
        cfg["listeners"]["callbacks"]["bind"] = "127.0.0.1:%d" % callbacks_port
        cfg["workers"] = 2
        cfg["cache"]["redis"]["address"] = redis.address
        cfg["payments"]["store"]["redis"]["address"] = redis.address
        closed = "https://127.0.0.1:%d" % h.free_port()
        for u in cfg["upstreams"].values():
            if isinstance(u, dict):
                u["base_url"] = closed
        cfg["payments"]["base_url"] = closed
        path = os.path.join(self.dir, "gateway.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(cfg, f)
        return path

    def exec_start(self, config_path):
        """The unit's ExecStart, with the installed binary under DESTDIR and this run's config."""
        m = re.search(r"^ExecStart=(.+)$", self.unit_text(), re.M)
        argv = m.group(1).split()
        self.assertEqual(argv[0], self.paths["gateway"])
        self.assertEqual(argv[1], "--config")
        return [self.installed(argv[0]), "--config", config_path] + argv[3:]

    def test_started_as_the_unit_starts_it_it_notifies_ready_once_listening(self):
        r = subprocess.run(["ldd", h.GATEWAY_BIN], stdout=subprocess.PIPE, timeout=20)
        if b"libsystemd" not in r.stdout:
            self.skipTest("this build has no libsystemd (LT_WITH_SYSTEMD, libsystemd-dev): no notifications")
        redis = h.RedisServer()
        self.addCleanup(redis.kill)
        # As the sample asks: a password (its password_file), and the journal the payment store relies on.
        for args in (("appendonly", "yes"), ("appendfsync", "always"), ("requirepass", "install-test-password")):
            redis.command("CONFIG", "SET", *args)
        api, admin, callbacks = h.free_port(), h.free_port(), h.free_port()
        argv = self.exec_start(self.sample_config(api, admin, callbacks, redis))
        notify_path = os.path.join(self.dir, "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(notify_path)
        self.addCleanup(sock.close)
        sock.settimeout(120)  # only a give-up: the datagrams are counted, not timed
        # A watchdog systemd would ask for: the gateway then sends WATCHDOG=1 every half of it.
        env = dict(os.environ, NOTIFY_SOCKET=notify_path, WATCHDOG_USEC="400000")
        log = open(os.path.join(self.dir, "gateway.log"), "wb")
        self.addCleanup(log.close)
        p = h.spawn(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        first = sock.recv(4096).decode()
        self.assertIn("READY=1", first.split("\n"), h.tail(log.name))
        # READY=1 came after the bind: the api listener takes this connection, whatever the workers are doing.
        with socket.create_connection((h.HOST, api), timeout=10):
            pass
        self.assertEqual(h.http_request(admin, "GET", "/healthz").status, 200)
        crl = h.http_request(admin, "GET", "/status.json").json["crl"]
        self.assertEqual([l["state"] for l in crl["lists"]], ["current"], "the sample's revocation list is in force")
        with socket.create_connection((h.HOST, callbacks), timeout=10):
            pass
        watchdogs = 0
        while watchdogs < 2:
            msg = sock.recv(4096).decode()
            watchdogs += "WATCHDOG=1" in msg.split("\n")
        p.send_signal(signal.SIGTERM)
        while True:
            msg = sock.recv(4096).decode()
            if "STOPPING=1" in msg.split("\n"):
                break
            self.assertIn("WATCHDOG=1", msg)
        self.assertEqual(p.wait(timeout=60), 0, h.tail(log.name))

    def built_debs(self):
        deb_dir = os.environ.get("LT_DEB_BUILD_DIR", os.path.join(h.SOURCE_DIR, "build-deb"))
        debs = sorted(glob.glob(os.path.join(deb_dir, "lienthong-gateway_*.deb")), key=os.path.getmtime)
        if not debs or shutil.which("dpkg-deb") is None:
            self.skipTest("no package in %s: run `make deb` first" % deb_dir)
        return debs

    def test_the_deb_when_built(self):
        """make deb's package (when one was built): its metadata, maintainer scripts and files."""
        debs = self.built_debs()
        info = subprocess.run(["dpkg-deb", "-I", debs[-1]], stdout=subprocess.PIPE, check=True).stdout.decode()
        depends = re.search(r"^ Depends: (.*)$", info, re.M).group(1)
        for lib in ("libevent-2.1-7", "libevent-openssl-2.1-7", "libssl3", "libcurl4", "libxml2", "libjansson4",
                    "libhiredis0.14", "libutf8proc2", "adduser", "procps"):
            self.assertIn(lib, depends)
        for script in ("postinst", "prerm", "postrm", "conffiles"):
            self.assertIn(script, info)
        control = os.path.join(self.dir, "control")
        subprocess.run(["dpkg-deb", "-e", debs[-1], control], check=True)
        with open(os.path.join(control, "postinst"), encoding="utf-8") as f:
            postinst = f.read()
        self.assertIn("adduser --system", postinst)
        self.assertIn("/var/lib/lienthong", postinst)
        for script in ("postinst", "prerm", "postrm"):
            r = subprocess.run(["sh", "-n", os.path.join(control, script)])
            self.assertEqual(r.returncode, 0, script + " parses")
        with open(os.path.join(control, "postrm"), encoding="utf-8") as f:
            self.assertNotIn("rm -rf", f.read(), "postrm never deletes the payment journal")
        files = subprocess.run(["dpkg-deb", "-c", debs[-1]], stdout=subprocess.PIPE, check=True).stdout.decode()
        for path in ("./usr/sbin/lienthong-gateway", "./usr/bin/lienthong-ctl", "./usr/bin/lienthong-audit",
                     "./usr/share/man/man8/lienthong-audit.8",
                     "./usr/lib/systemd/system/lienthong-gateway.service", "./etc/lienthong/gateway.json.sample",
                     "./usr/share/man/man8/lienthong-gateway.8", "./usr/share/man/man8/lienthong-ctl.8",
                     "./usr/share/doc/lienthong/operations.md"):
            self.assertIn(path, files)
        self.assertNotIn("test_", files, "no test program is packaged")

    def test_the_deb_in_a_clean_root(self):
        """Opt-in (it installs packages from the mirror into LT_CLEAN_ROOT, a Debian 12 root made beforehand, e.g.
        by `make deb-check`): packaging/test-in-clean-root.sh installs the newest .deb there with apt-get, checks
        what postinst made, verifies the unit with systemd-analyze and starts the gateway on the sample as the unit
        does. The script exits non-zero on the first check that fails; its lines name what each one saw."""
        root = os.environ.get("LT_CLEAN_ROOT")
        if not root:
            self.skipTest("LT_CLEAN_ROOT is not set (a prepared Debian 12 root: make deb-check makes /tmp/lt-root)")
        debs = self.built_debs()
        if os.geteuid() != 0:
            self.skipTest("installing into a root needs root (chroot, mount)")
        script = os.path.join(h.SOURCE_DIR, "packaging", "test-in-clean-root.sh")
        r = subprocess.run([script, debs[-1], root], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=1800)  # apt-get downloads the dependencies on the first run
        out = r.stdout.decode(errors="replace")
        self.assertEqual(r.returncode, 0, out)
        for line in ("ok: user lienthong:", "ok: /etc/lienthong/secrets 750 root lienthong",
                     "ok: /var/lib/lienthong 750 lienthong lienthong", "ok: systemd-analyze verify passed",
                     "ok: --check-config passed", "ok: GET /readyz -> 200",
                     "version %s (package %s;" % (h.project_version(), h.project_version()),
                     "ok: the gateway exited 0 after SIGTERM"):
            self.assertIn(line, out)


if __name__ == "__main__":
    unittest.main()
