#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Check, on the host, the files a guest wrote through virtiofs (tests/vm/guest_fs_test.c).

    verify_share.py SHARE_DIR [FIRST_TEST_NUMBER]

Reads SHARE_DIR/verify/MANIFEST and checks every line against the host's view of the files,
byte for byte. Prints TAP lines ("ok N - host: ...") numbered from FIRST_TEST_NUMBER, then a
"# host: ..." summary. Exit status 0 if everything matched.

Manifest lines (paths relative to SHARE_DIR, data in hex):
    pattern PATH SIZE SEED            content is the pattern from offset 0
    shifted PATH SIZE SEED SHIFT      content is the pattern from offset SHIFT
    regions PATH SIZE SEED A:B ...    the pattern, except zeros in each [A, B)
    holes PATH A:B ...                each [A, B) is a hole in the host file (SEEK_DATA)
    text PATH HEX                     exact content
    mode PATH OCTAL                   permission bits (lstat)
    owner PATH UID GID                owner (lstat)
    mtime PATH SEC NSEC               modification time (stat)
    xattr PATH NAME HEX / noxattr PATH NAME
    symlink PATH HEX                  a symlink with this target
    nlink PATH N / samefile A B / count DIR N / absent PATH / fifo PATH
"""
import errno
import os
import re
import stat
import subprocess
import sys


_BASE = bytes((i * 7) & 0xFF for i in range(4096 + 256))


def pattern(size, seed, start=0):
    """Same bytes as pat() in guest_fs_test.c, built a 4 KiB page at a time: within a page
    (off >> 12 and off >> 20 constant) the byte is (7 * off + c) & 0xff, and 7 * off mod 256
    depends only on off mod 256."""
    out = bytearray()
    off, end = start, start + size
    while off < end:
        page_end = min(end, (off | 0xFFF) + 1)
        c = ((off >> 12) * 13 + seed * 101 + (off >> 20)) & 0xFF
        table = bytes((j + c) & 0xFF for j in range(256))
        lo = off & 0xFF
        out += _BASE[lo:lo + (page_end - off)].translate(table)
        off = page_end
    return bytes(out)


class Checker:
    def __init__(self, root, first):
        self.root = root
        self.n = first - 1
        self.failed = 0

    def report(self, ok, what, detail=""):
        self.n += 1
        if ok:
            print(f"ok {self.n} - host: {what}")
        else:
            self.failed += 1
            print(f"not ok {self.n} - host: {what}: {detail}")

    def path(self, rel):
        return os.path.join(self.root, rel)

    def read(self, rel):
        with open(self.path(rel), "rb") as f:
            return f.read()

    def compare(self, rel, want):
        got = self.read(rel)
        if len(got) != len(want):
            return f"size {len(got)}, expected {len(want)}"
        if got != want:
            i = next(i for i in range(len(got)) if got[i] != want[i])
            return f"differs at offset {i}: {got[i]} != {want[i]}"
        return ""

    def check(self, words):
        kind, rel = words[0], words[1]
        p = self.path(rel)
        if kind == "pattern":
            size, seed = int(words[2]), int(words[3])
            return f"{size} patterned bytes", self.compare(rel, pattern(size, seed))
        if kind == "shifted":
            size, seed, shift = int(words[2]), int(words[3]), int(words[4])
            return f"{size} bytes copied from offset {shift}", self.compare(
                rel, pattern(size, seed, shift))
        if kind == "regions":
            size, seed = int(words[2]), int(words[3])
            want = bytearray(pattern(size, seed))
            for r in words[4:]:
                a, b = (int(x) for x in r.split(":"))
                want[a:b] = bytes(b - a)
            return f"{size} bytes with zeroed ranges {' '.join(words[4:])}", self.compare(
                rel, bytes(want))
        if kind == "holes":
            fd = os.open(p, os.O_RDONLY)
            try:
                bad = []
                for r in words[2:]:
                    a, b = (int(x) for x in r.split(":"))
                    try:
                        d = os.lseek(fd, a, os.SEEK_DATA)
                    except OSError as e:
                        if e.errno != errno.ENXIO:
                            raise
                        d = None
                    if d is not None and d < b:
                        bad.append(f"[{a},{b}) has data at {d}")
            finally:
                os.close(fd)
            return f"holes {' '.join(words[2:])} (SEEK_DATA)", "; ".join(bad)
        if kind == "text":
            want = bytes.fromhex(words[2]) if len(words) > 2 else b""
            return f"content {want!r}", self.compare(rel, want)
        if kind == "mode":
            st = os.lstat(p)
            got = stat.S_IMODE(st.st_mode)
            want = int(words[2], 8)
            return f"mode {want:04o}", "" if got == want else f"mode is {got:04o}"
        if kind == "owner":
            st = os.lstat(p)
            want = (int(words[2]), int(words[3]))
            got = (st.st_uid, st.st_gid)
            return f"owner {want[0]}:{want[1]}", "" if got == want else f"owner is {got[0]}:{got[1]}"
        if kind == "mtime":
            st = os.stat(p)
            want = int(words[2]) * 10**9 + int(words[3])
            return f"mtime {words[2]}.{int(words[3]):09d}", \
                "" if st.st_mtime_ns == want else f"mtime is {st.st_mtime_ns}"
        if kind == "xattr":
            name, want = words[2], bytes.fromhex(words[3]) if len(words) > 3 else b""
            try:
                got = os.getxattr(p, name, follow_symlinks=False)
            except OSError as e:
                return f"xattr {name}", f"getxattr: {e.strerror}"
            return f"xattr {name}={want!r}", "" if got == want else f"value is {got!r}"
        if kind == "noxattr":
            name = words[2]
            return f"no xattr {name}", \
                "still present" if name in os.listxattr(p, follow_symlinks=False) else ""
        if kind == "symlink":
            want = bytes.fromhex(words[2])
            if not stat.S_ISLNK(os.lstat(p).st_mode):
                return "symlink", "not a symlink"
            got = os.readlink(os.fsencode(p))
            return f"symlink -> {want!r}", "" if got == want else f"target is {got!r}"
        if kind == "nlink":
            got = os.lstat(p).st_nlink
            return f"nlink {words[2]}", "" if got == int(words[2]) else f"nlink is {got}"
        if kind == "samefile":
            a, b = os.lstat(p), os.lstat(self.path(words[2]))
            return f"same inode as {words[2]}", \
                "" if (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino) else "different inodes"
        if kind == "count":
            names = os.listdir(p)
            return f"{words[2]} entries", \
                "" if len(names) == int(words[2]) else f"{len(names)} entries"
        if kind == "absent":
            return "absent", "still exists" if os.path.lexists(p) else ""
        if kind == "btime":
            # btime REL SEC NSEC | btime REL none: the birth time a guest with kernel REL got
            # from statx(STATX_BTIME); Linux >= 6.6 asks the daemon (FUSE_STATX), older cannot.
            rel, got = words[2], " ".join(words[3:])
            host = subprocess.run(["stat", "-c", "%W %.9W", p], capture_output=True, text=True,
                                  check=True).stdout.split()
            want = "none"
            if host[0] != "0":  # 0: the host file system keeps no birth time
                sec, nsec = host[1].split(".")
                want = f"{sec} {int(nsec)}"
            kver = tuple(int(x) for x in re.match(r"(\d+)\.(\d+)", rel).groups())
            if kver < (6, 6):
                want = "none"
            return f"birth time {want} (guest {rel})", "" if got == want else f"guest got {got}"
        if kind == "fifo":
            return "a FIFO", "" if stat.S_ISFIFO(os.lstat(p).st_mode) else "not a FIFO"
        return f"unknown manifest line {kind}", "unknown kind"

    def run(self):
        mpath = self.path("verify/MANIFEST")
        try:
            with open(mpath, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except OSError as e:
            self.report(False, "manifest", f"{mpath}: {e.strerror}")
            return
        complete = "# end" in lines
        for line in lines:
            words = line.split()
            if not words or words[0].startswith("#"):
                continue
            if len(words) < 2:
                self.report(False, f"manifest line {line!r}", "malformed")
                continue
            try:
                what, err = self.check(words)
            except OSError as e:
                what, err = words[0], f"{e.strerror}"
            except (ValueError, IndexError) as e:
                what, err = f"manifest line {line!r}", str(e)
            self.report(not err, f"{words[1]}: {what}", err)
        self.report(complete, "manifest complete", "no '# end' line: the guest stopped early")


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    c = Checker(sys.argv[1], int(sys.argv[2]) if len(sys.argv) == 3 else 1)
    c.run()
    print(f"# host: {c.n} checks, {c.failed} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
