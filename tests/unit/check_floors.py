"""The ground floor stands alone: no file in gateway/core includes a header of another floor, and the ground
library needs no symbol that the adapters library defines (the adapter table is handed to it, never named).

Usage: check_floors.py CORE_DIR LIBLT_GROUND.a LIBLT_ADAPTERS.a
"""
import os
import re
import subprocess
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)


def foreign_includes(core):
    """(file, header) for every quoted include in core that is not one of core's own headers."""
    own = set(os.listdir(core))
    for name in sorted(own):
        if name.endswith((".c", ".h")):
            with open(os.path.join(core, name), encoding="utf-8") as f:
                for header in INCLUDE.findall(f.read()):
                    if "/" in header or header not in own:
                        yield name, header


def symbols(archive, *flags):
    out = subprocess.run(["nm", "-g", *flags, archive], check=True, stdout=subprocess.PIPE, text=True).stdout
    return {line.split()[-1] for line in out.splitlines() if re.match(r"^\s*[0-9a-f]*\s+[A-Za-z]\s+\S+$", line)}


def main(core, ground, adapters):
    problems = ["gateway/core/%s includes \"%s\", which is not a ground header" % f for f in foreign_includes(core)]
    needed = symbols(ground, "--undefined-only") - symbols(ground, "--defined-only")
    for sym in sorted(needed & symbols(adapters, "--defined-only")):
        problems.append("the ground library needs %s, which the adapters library defines" % sym)
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
