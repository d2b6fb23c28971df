#!/usr/bin/env python3
# migrate-ctl.py: the QMP side of vm-migrate and vm-snapshot (tests/vm/run-vm-migrate.sh) and of
# bench/run-migration.sh.
#
#   migrate-ctl.py wait QMP [--timeout S]          QEMU answers on QMP; prints its run state
#   migrate-ctl.py cmd QMP COMMAND [JSON-ARGS]     one QMP command; prints its "return" as JSON
#   migrate-ctl.py migrate SRC DST URI [--cancel] [--timeout S]
#   migrate-ctl.py incoming DST [--timeout S]      a QEMU started with -incoming file:...: wait
#                                                  until the state is loaded (paused), then cont
#
# migrate: DST is the QMP socket of a QEMU started with `-incoming defer`, or "-" for a URI
# without a destination QEMU (file:PATH). With a destination, the return path is turned on on
# both sides first (a destination that fails to load then makes the source report "failed" and
# resume, instead of "completed" with a dead destination), then DST gets migrate-incoming URI
# and SRC migrate URI. query-migrate on SRC is polled every 20 ms until completed, failed or
# cancelled; after "completed" the destination must reach "running" (or the source's state
# before the migration, for a stopped VM). --cancel: the source's bandwidth is limited to
# 4 MiB/s, migrate_cancel is sent once RAM is being copied, the status must become
# "cancelled" and the source must still be running; the bandwidth limit is lifted again.
# --fail: the destination is expected to refuse the state: the status must become "failed" and
# the source must be running again (the return path tells it).
#
# Prints one JSON line: {"status", "total-ms", "downtime-ms", "setup-ms", "ram-mb",
# "src-state", "dst-state", "wall-ms"} (times as QEMU's query-migrate reports them). Exit 0
# when the expected outcome was reached (completed and destination running; or cancelled and
# source running), 1 otherwise with the reason on stderr.
import argparse
import json
import socket
import sys
import time


class Qmp:
    def __init__(self, path, timeout=30.0):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError as e:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise SystemExit(f"migrate-ctl: cannot connect to QMP {path}: {e}")
                time.sleep(0.1)
        self.path = path
        self.buf = b""
        self.sock.settimeout(timeout)
        self.events = []
        self._read()  # greeting
        self.execute("qmp_capabilities")

    def _read(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise SystemExit(f"migrate-ctl: QMP {self.path} closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def execute(self, cmd, args=None, check=True):
        msg = {"execute": cmd}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            r = self._read()
            if "event" in r:
                self.events.append(r)
                continue
            if "error" in r:
                if check:
                    raise SystemExit(f"migrate-ctl: {self.path}: {cmd} failed: {r['error'].get('desc')}")
                return r
            return r.get("return")

    def state(self):
        return self.execute("query-status")["status"]


def wait_state(q, want, timeout):
    deadline = time.monotonic() + timeout
    while True:
        s = q.state()
        if s in want:
            return s
        if time.monotonic() > deadline:
            return s
        time.sleep(0.05)


def caps(q, on):
    q.execute("migrate-set-capabilities",
              {"capabilities": [{"capability": "return-path", "state": on}]})


def migrate(a):
    src = Qmp(a.src)
    dst = Qmp(a.dst) if a.dst != "-" else None
    before = src.state()
    if dst:
        caps(dst, True)
        caps(src, True)
        dst.execute("migrate-incoming", {"uri": a.uri})
    if a.cancel:
        src.execute("migrate-set-parameters", {"max-bandwidth": 4 << 20})
    t0 = time.monotonic()
    src.execute("migrate", {"uri": a.uri})
    deadline = t0 + a.timeout
    cancelled_sent = False
    cancel_mb = None
    while True:
        info = src.execute("query-migrate")
        st = info.get("status", "none")
        if a.cancel and not cancelled_sent and st == "active" and \
                info.get("ram", {}).get("transferred", 0) > 1 << 20:
            src.execute("migrate_cancel")
            cancelled_sent = True
            cancel_mb = round(info["ram"]["transferred"] / 1e6, 1)
        if st in ("completed", "failed", "cancelled"):
            break
        if time.monotonic() > deadline:
            src.execute("migrate_cancel", check=False)
            print(f"migrate-ctl: no end after {a.timeout} s (status {st})", file=sys.stderr)
            break
        time.sleep(0.02)
    wall = (time.monotonic() - t0) * 1000
    out = {"status": st, "total-ms": info.get("total-time"), "downtime-ms": info.get("downtime"),
           "setup-ms": info.get("setup-time"),
           "ram-mb": round(info.get("ram", {}).get("transferred", 0) / 1e6, 1),
           "wall-ms": round(wall)}
    if a.cancel:
        src.execute("migrate-set-parameters", {"max-bandwidth": 0})
        out["cancelled-at-mb"] = cancel_mb if cancelled_sent else None
    ok = True
    if a.cancel or a.fail:
        # the source must go on: status cancelled (or failed), source running again
        want = "cancelled" if a.cancel else "failed"
        out["src-state"] = wait_state(src, ("running",), 10)
        if st != want or out["src-state"] != "running":
            print(f"migrate-ctl: expected {want} with the source running, got {st}, "
                  f"source {out['src-state']}: {info.get('error-desc', '')}", file=sys.stderr)
            ok = False
    elif st != "completed":
        out["src-state"] = src.state()
        print(f"migrate-ctl: migration {st}: {info.get('error-desc', '')}", file=sys.stderr)
        ok = False
    else:
        out["src-state"] = src.state()
        if dst:
            want = ("running",) if before == "running" else ("paused",)
            out["dst-state"] = wait_state(dst, want, 30)
            if out["dst-state"] not in want:
                print(f"migrate-ctl: destination is {out['dst-state']}, expected {want[0]}",
                      file=sys.stderr)
                ok = False
    print(json.dumps(out), flush=True)
    return 0 if ok else 1


def incoming(a):
    dst = Qmp(a.dst, timeout=a.timeout)
    deadline = time.monotonic() + a.timeout
    while True:
        info = dst.execute("query-migrate")
        st = info.get("status", "none")
        state = dst.state()
        if st in ("completed", "failed") and state != "inmigrate":
            break
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    out = {"status": st, "dst-state": state}
    if st != "completed" or state not in ("paused", "running"):
        print(f"migrate-ctl: incoming {st}, state {state}: {info.get('error-desc', '')}",
              file=sys.stderr)
        print(json.dumps(out), flush=True)
        return 1
    if state == "paused":
        dst.execute("cont")
        out["dst-state"] = wait_state(dst, ("running",), 10)
    print(json.dumps(out), flush=True)
    return 0 if out["dst-state"] == "running" else 1


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="op", required=True)
    p = sub.add_parser("wait")
    p.add_argument("qmp")
    p.add_argument("--timeout", type=float, default=60)
    p = sub.add_parser("cmd")
    p.add_argument("qmp")
    p.add_argument("command")
    p.add_argument("args", nargs="?", default="")
    p.add_argument("--timeout", type=float, default=10)
    p = sub.add_parser("migrate")
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("uri")
    p.add_argument("--cancel", action="store_true")
    p.add_argument("--fail", action="store_true")
    p.add_argument("--timeout", type=float, default=120)
    p = sub.add_parser("incoming")
    p.add_argument("dst")
    p.add_argument("--timeout", type=float, default=60)
    a = ap.parse_args()
    if a.op == "wait":
        print(Qmp(a.qmp, a.timeout).state())
        return 0
    if a.op == "cmd":
        r = Qmp(a.qmp, a.timeout).execute(a.command, json.loads(a.args) if a.args else None)
        print(json.dumps(r))
        return 0
    if a.op == "migrate":
        return migrate(a)
    return incoming(a)


if __name__ == "__main__":
    sys.exit(main())
