"""The ordinary logs name no one (Law 91/2025, Decree 13/2023): after every other integration test of the run,
every gateway's stderr (kept by the harness under build/test-logs/gateway/) is searched for the identities the
tests used, taken from the simulators' own data: no citizen's identification number, insurance number or name
may appear in full. Masked identifiers (lt_log_mask) and request ids are fine. The audit trail, the one place
full identifiers live, is not an ordinary log and is not searched."""
import glob
import os
import re
import subprocess
import unittest

import harness as h

# Every seed a test starts a simulator with (grep "seed" tests/integration/), and the people they hold.
SEEDS = (5, 7, 11, 23)
PEOPLE_SYSTEMS = {"population": ("id", "full_name"), "insurance": ("insurance_number", "personal_id", "full_name"),
                  "civil-status": ("id", "full_name")}


def identities():
    found = set()
    for system, keys in PEOPLE_SYSTEMS.items():
        for seed in SEEDS:
            for row in h.sim_sample(200, seed, system=system):
                for k in keys:
                    v = row.get(k)
                    if isinstance(v, str) and len(v) >= 8:
                        found.add(v)
    return found


UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class OrdinaryLogsTest(unittest.TestCase):
    def test_no_log_names_a_citizen(self):
        logs = sorted(glob.glob(os.path.join(h.GATEWAY_LOG_DIR, "*.log")))
        self.assertGreater(len(logs), 20, "the other integration tests ran first and kept their gateways' logs")
        wanted = identities()
        self.assertGreater(len(wanted), 500)
        # One pattern for all of them; names are matched whatever their case (the insurance system writes them
        # in capitals).
        pattern = re.compile("|".join(re.escape(v) for v in sorted(wanted, key=len, reverse=True)), re.IGNORECASE)
        hits = []
        for path in logs:
            with open(path, encoding="utf-8", errors="replace") as f:
                for n, line in enumerate(f, 1):
                    m = pattern.search(UUID.sub("-", line))
                    if m:
                        hits.append("%s:%d: %s" % (os.path.basename(path), n, line.strip()[:200]))
        self.assertEqual(hits[:10], [], "%d log line(s) name a test identity" % len(hits))


if __name__ == "__main__":
    unittest.main()
