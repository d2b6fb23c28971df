#!/usr/bin/env python3
# coherence-agent.py: runs inside each guest of vm-coherence (tests/vm/run-vm-coherence.sh).
#
#   coherence-agent.py NAME MOUNTPOINT [UNIX_SOCKET]
#
# Reads one JSON command a line from the virtio-serial port named "ctl" (the control channel:
# never the share under test) and answers each with one JSON line. The host (coherence-ctl.py)
# timestamps the answers as they arrive; this agent never reports its own clock.
# Commands ("op"): ping, vt (the patched fuse.ko's counters), stat_loop, stat_for (stat paths
# at an interval for a while), act (file system
# changes), wait (poll until a condition holds; answers "armed" first, then the result),
# create_loop (create files in a directory one by one, checking conditions after each),
# ls (list a directory and lstat each name, as ls -l does),
# corrupt (garbage into this guest's own table mirror, PCI BAR 4), quit.
import json
import mmap
import os
import sys
import time

name, mnt = sys.argv[1], sys.argv[2]


def port_path():
    base = "/sys/class/virtio-ports"
    for d in os.listdir(base):
        try:
            with open(f"{base}/{d}/name") as f:
                if f.read().strip() == "ctl":
                    return "/dev/" + d
        except OSError:
            pass
    raise SystemExit("coherence-agent: no virtio-serial port named ctl")


if len(sys.argv) > 3:  # a unix socket instead of the port: to try the agent on the host
    import socket

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(sys.argv[3])
    fd = sock.detach()
else:
    fd = os.open(port_path(), os.O_RDWR)
rd = os.fdopen(fd, "rb", buffering=0)


def send(obj):
    os.write(fd, (json.dumps(obj) + "\n").encode())


def p(rel):
    return os.path.join(mnt, rel)


def vt():
    # the patched fuse.ko (Linux 6.1), or sid's renamed fork virtiofs_vt.ko (Linux 7.2)
    raw = None
    for mod in ("fuse", "virtiofs_vt"):
        try:
            with open(f"/sys/module/{mod}/parameters/vfsd_vt") as f:
                raw = f.read()
            break
        except OSError:
            pass
    if raw is None:
        return {}
    out = {}
    for kv in raw.replace(",", " ").split():
        if "=" in kv:
            k, v = kv.split("=", 1)
            try:
                out[k] = int(v)
            except ValueError:
                pass
    return out


def holds(cond):
    kind, rel = cond[0], cond[1]
    try:
        if kind == "exists":
            os.stat(p(rel))
            return True
        if kind == "absent":
            os.stat(p(rel))
            return False
        if kind == "renamed":  # old name gone (a cached dentry dropped) and the new one there
            if os.path.lexists(p(rel)):
                return False
            os.stat(p(cond[2]))
            return True
        if kind == "mode":
            return (os.stat(p(rel)).st_mode & 0o7777) == cond[2]
        if kind == "size":
            return os.stat(p(rel)).st_size == cond[2]
        if kind == "content":
            with open(p(rel), "rb") as f:
                return f.read() == cond[2].encode()
    except FileNotFoundError:
        return kind == "absent"  # ("renamed": the new name is not there yet)
    raise ValueError(f"unknown condition {kind}")


def act(steps):
    for s in steps:
        k = s[0]
        if k == "rename":
            os.rename(p(s[1]), p(s[2]))
        elif k == "unlink":
            os.unlink(p(s[1]))
        elif k == "create":
            with open(p(s[1]), "xb") as f:
                f.write(s[2].encode())
        elif k == "append":
            with open(p(s[1]), "ab") as f:
                f.write(s[2].encode())
        elif k == "chmod":
            os.chmod(p(s[1]), s[2])
        elif k == "overwrite":  # same size, other bytes, no truncation
            with open(p(s[1]), "r+b") as f:
                f.write(s[2].encode())
        elif k == "fallocate":  # grow to s[2] bytes (FALLOCATE)
            fd = os.open(p(s[1]), os.O_RDWR)
            try:
                os.posix_fallocate(fd, 0, s[2])
            finally:
                os.close(fd)
        elif k == "copy":  # s[1]'s bytes over the start of s[2] (COPY_FILE_RANGE)
            with open(p(s[1]), "rb") as src, open(p(s[2]), "r+b") as dst:
                n = os.fstat(src.fileno()).st_size
                if os.copy_file_range(src.fileno(), dst.fileno(), n, 0, 0) != n:
                    raise OSError(f"short copy_file_range to {s[2]}")
        else:
            raise ValueError(f"unknown step {k}")


def corrupt():
    # The virtio-fs function (virtio 1.0 device id 0x1040 + 26) of the test device; BAR 4 holds
    # its shared memory regions (region 1: this guest's mirror of the table).
    for dev in sorted(os.listdir("/sys/bus/pci/devices")):
        d = f"/sys/bus/pci/devices/{dev}"
        with open(f"{d}/vendor") as f:
            vendor = f.read().strip()
        with open(f"{d}/device") as f:
            device = f.read().strip()
        if vendor != "0x1af4" or device != "0x105a":
            continue
        size = os.stat(f"{d}/resource4").st_size
        rfd = os.open(f"{d}/resource4", os.O_RDWR | os.O_SYNC)
        m = mmap.mmap(rfd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        # the regions sit at 2 MiB multiples of the BAR: find the table's header (its magic)
        found = None
        for off in range(0, size, 2 << 20):
            if m[off:off + 8] == b"VFSDVT01":
                found = off
                break
        if found is None:
            raise SystemExit("coherence-agent: no table header in BAR 4")
        nslots = int.from_bytes(m[found + 16:found + 24], "little")
        end = min(size, found + 4096 + 8 * nslots)
        # all-0xa5 header and counters: far above anything a daemon wrote, so every check says
        # "stale" (the module checked the header at INIT and keeps its bounds)
        for off in range(found, end, 1 << 20):
            n = min(1 << 20, end - off)
            m[off:off + n] = b"\xa5" * n
        m.close()
        os.close(rfd)
        return [size, found, end - found]
    raise SystemExit("coherence-agent: no virtio-fs device with a BAR 4")


buf = b""
while True:
    c = rd.read(4096)
    if not c:
        time.sleep(0.01)
        continue
    buf += c
    if b"\n" not in buf:
        continue
    line, _, buf = buf.rpartition(b"\n")
    for one in line.decode().splitlines():
        if not one.strip():
            continue
        cmd = json.loads(one)
        rid, op = cmd.get("id"), cmd["op"]
        try:
            if op == "ping":
                send({"id": rid, "name": name, "vt": vt()})
            elif op == "vt":
                send({"id": rid, "vt": vt()})
            elif op == "stat_loop":
                errors = 0
                for _ in range(cmd["n"]):
                    for rel in cmd["paths"]:
                        try:
                            os.stat(p(rel))
                        except OSError:
                            errors += 1
                send({"id": rid, "errors": errors, "vt": vt()})
            elif op == "stat_for":  # stat paths every interval s for duration s
                errors = stats = 0
                end = time.monotonic() + cmd["duration"]
                while time.monotonic() < end:
                    for rel in cmd["paths"]:
                        stats += 1
                        try:
                            os.stat(p(rel))
                        except OSError:
                            errors += 1
                    time.sleep(cmd["interval"])
                send({"id": rid, "errors": errors, "stats": stats})
            elif op == "act":
                act(cmd["steps"])
                send({"id": rid, "done": True})
            elif op == "wait":
                cond, deadline = cmd["cond"], time.monotonic() + cmd["timeout"]
                already = holds(cond)
                send({"id": rid, "armed": True, "already": already})
                polls, seen = 0, already
                while not seen and time.monotonic() < deadline:
                    time.sleep(0.001)
                    polls += 1
                    seen = holds(cond)
                send({"id": rid, "seen": seen, "polls": polls})
            elif op == "create_loop":  # own creates in a directory, checking conds after each
                d, conds, n, extra = cmd["dir"], cmd["conds"], cmd["n"], cmd["extra"]
                first = [None] * len(conds)
                i = done_at = 0
                # churn: each new file is also renamed and unlinked, conds checked after each op
                churn = cmd.get("churn", False)
                # attr: after each create, the directory's mode and times are set (own SETATTRs)
                attr = cmd.get("attr", False)
                # write: after each create B appends to the file "w" there (own WRITEs, which A
                # chmods meanwhile), and links the new file to a second name and unlinks the
                # first (git's link-then-unlink: own UNLINKs of a still-linked file)
                write = cmd.get("write", False)

                def check():
                    for k, c in enumerate(conds):
                        if first[k] is None and holds(c):
                            first[k] = i

                while i < n:
                    own = p(os.path.join(d, f"{cmd['prefix']}{i}"))
                    with open(own, "xb") as f:
                        f.write(b"o")
                    check()
                    if churn:
                        os.rename(own, own + ".r")
                        check()
                        os.unlink(own + ".r")
                        check()
                    if attr:
                        os.chmod(p(d), 0o750 if i % 2 else 0o755)
                        check()
                        os.utime(p(d), (1000000 + i, 1000000 + i))
                        check()
                    if write:
                        with open(p(os.path.join(d, "w")), "ab") as f:
                            f.write(b"o")
                        check()
                        os.link(own, own + ".l")
                        os.unlink(own)
                        check()
                    i += 1
                    if done_at == 0 and all(x is not None for x in first):
                        done_at = i
                    if done_at and i >= done_at + extra:
                        break
                send({"id": rid, "first": first, "created": i, "vt": vt()})
            elif op == "look":  # the demo: a directory's names, sizes, modes and contents
                out = []
                for n in sorted(os.listdir(p(cmd["dir"]))):
                    st = os.stat(p(os.path.join(cmd["dir"], n)))
                    with open(p(os.path.join(cmd["dir"], n)), "rb") as f:
                        data = f.read(200).decode(errors="replace")
                    out.append([n, st.st_size, oct(st.st_mode & 0o7777), data])
                send({"id": rid, "entries": out})
            elif op == "ls":  # ls -l: a listing, then an lstat of each name; counter deltas
                v0 = vt()
                names = sorted(os.listdir(p(cmd["dir"])))
                for n in names:
                    os.lstat(p(os.path.join(cmd["dir"], n)))
                v1 = vt()
                send({"id": rid, "names": names,
                      "vt": {k: v1.get(k, 0) - v0.get(k, 0) for k in v1}})
            elif op == "corrupt":
                send({"id": rid, "size": corrupt()})
            elif op == "quit":
                send({"id": rid, "bye": True})
                sys.exit(0)
            else:
                send({"id": rid, "error": f"unknown op {op}"})
        except SystemExit:
            raise
        except Exception as e:  # reported to the host, which fails the check
            send({"id": rid, "error": f"{type(e).__name__}: {e}"})
