# SPDX-License-Identifier: GPL-2.0-or-later
"""TAP output for the Python test scripts: result() per check, finish() at the end."""
import sys

_n = 0
_fails = 0


def result(ok, name, detail=""):
    """Prints "ok N - name", or "not ok" after the last lines of detail as comments."""
    global _n, _fails
    _n += 1
    if not ok:
        _fails += 1
        for line in str(detail).splitlines()[-20:]:
            print("# " + line)
    print(("ok" if ok else "not ok") + f" {_n} - {name}", flush=True)


def finish():
    """The plan line; exits 1 if a check failed."""
    print(f"1..{_n}")
    sys.exit(1 if _fails else 0)
