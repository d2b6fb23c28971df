#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Writes the seed corpora in fuzz/corpus/<target>/ (see fuzz/README.md for the formats).

Seeds are well-formed inputs that reach deep states quickly; the fuzzer mutates from there.
Reproducers of fixed bugs are kept next to them under names starting with "crash-": the
script rebuilds those it can describe, the others are fuzzer outputs kept as found.
Usage: fuzz/gen_seeds.py [CORPUS_DIR]
"""
import os
import struct
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")

# --- FUSE ------------------------------------------------------------------------------------
(LOOKUP, FORGET, GETATTR, SETATTR, READLINK, SYMLINK, MKNOD, MKDIR, UNLINK, RMDIR, RENAME, LINK,
 OPEN, READ, WRITE, STATFS, RELEASE) = (1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18)
FSYNC, SETXATTR, GETXATTR, LISTXATTR, REMOVEXATTR, FLUSH, INIT = 20, 21, 22, 23, 24, 25, 26
OPENDIR, READDIR, RELEASEDIR, FSYNCDIR, GETLK, SETLK, SETLKW = 27, 28, 29, 30, 31, 32, 33
ACCESS, CREATE, INTERRUPT, DESTROY, IOCTL, BATCH_FORGET, FALLOCATE = 34, 35, 36, 38, 39, 42, 43
READDIRPLUS, RENAME2, LSEEK, COPY_FILE_RANGE, SYNCFS, TMPFILE = 44, 45, 46, 47, 50, 51
SETUPMAPPING, REMOVEMAPPING = 48, 49
STATX, COPY_FILE_RANGE_64 = 52, 53
FUSE_INIT_EXT = 1 << 30
INIT_FLAGS = 0xffffffff & ~0  # everything: the server keeps what it offers
unique = [100]


def req(op, nodeid=1, body=b"", ext=b"", uid=0):
    unique[0] += 1
    n = 40 + len(body) + len(ext)
    hdr = struct.pack("<IIQQIIIHH", n, op, unique[0], nodeid, uid, uid, 1234, len(ext) // 8, 0)
    return hdr + body + ext


def rec(r, ctl=0x03, room=8192, seed=7):
    return struct.pack("<BHB", ctl, room, seed) + r


def name(s):
    return s.encode() + b"\0"


def fuse_input(records, mode=0, minor=0, flags=INIT_FLAGS, flags2=0xffffffff):
    head = struct.pack("<BBII", mode, minor, flags, flags2)
    return head + b"".join(records)


def setattr_in(valid, fh=0, size=0, mode=0, uid=0, gid=0):
    return struct.pack("<IIQQQQQQIIIIIII", valid, 0, fh, size, 0, 1, 2, 3, 0, 0, 0, mode, 0,
                       uid, gid) + b"\0" * 4


def open_in(flags):
    return struct.pack("<II", flags, 0)


def create_in(flags, mode):
    return struct.pack("<IIII", flags, mode, 0o22, 0)


def rw_in(fh, off, size):
    return struct.pack("<QQIIQII", fh, off, size, 0, 0, 0, 0)


def lk_in(fh, owner, start, end, typ, pid=1):
    return struct.pack("<QQQQIIII", fh, owner, start, end, typ, pid, 0, 0)


def groups_ext(gids):
    body = struct.pack("<I", len(gids)) + b"".join(struct.pack("<I", g) for g in gids)
    pad = (-len(body)) % 8
    return struct.pack("<II", 8 + len(body) + pad, 32) + body + b"\0" * pad


def secctx_block(name_s=b"security.selinux", value=b"system_u:object_r:tmp_t:s0", nr=1,
                 ctx_size=None):
    """fuse_secctx_header + fuse_secctx + name + value, padded to 8 (Linux's layout)."""
    body = b""
    if nr:
        body = struct.pack("<II", len(value) if ctx_size is None else ctx_size, 0)
        body += name_s + b"\0" + value
        body += b"\0" * ((-len(body)) % 8)
    return struct.pack("<II", 8 + len(body), nr) + body


def fuse_seeds():
    s = {}
    s["init-only"] = fuse_input([])
    s["init-old-minor"] = fuse_input([], minor=11, flags=0, flags2=0)
    s["raw-init"] = fuse_input([rec(req(INIT, 0, struct.pack("<IIII", 7, 38, 1 << 17, 0x3fffffff)
                                        + struct.pack("<I", 0xffffffff) + b"\0" * 44))], mode=1)
    s["before-init"] = fuse_input([rec(req(LOOKUP, 1, name("f")))], mode=1)
    s["lookup-getattr"] = fuse_input([rec(req(LOOKUP, 1, name("f"))),
                                      rec(req(GETATTR, 2, struct.pack("<IIQ", 0, 0, 0))),
                                      rec(req(FORGET, 2, struct.pack("<Q", 1)))])
    s["read-file"] = fuse_input([rec(req(LOOKUP, 1, name("f"))), rec(req(OPEN, 2, open_in(0))),
                                 rec(req(READ, 2, rw_in(1, 0, 4096)), ctl=0x05, room=5000),
                                 rec(req(READ, 2, rw_in(1, 8000, 4096))),
                                 rec(req(FLUSH, 2, struct.pack("<QIIQ", 1, 0, 0, 9))),
                                 rec(req(RELEASE, 2, struct.pack("<QIIQ", 1, 0, 0, 9)))])
    s["write-file"] = fuse_input([rec(req(CREATE, 1, create_in(0o2 | 0o100, 0o100644) + name("n"))),
                                  rec(req(WRITE, 2, rw_in(1, 10, 5) + b"hello")),
                                  rec(req(FSYNC, 2, struct.pack("<QII", 1, 1, 0))),
                                  rec(req(LSEEK, 2, struct.pack("<QQII", 1, 0, 3, 0))),
                                  rec(req(FALLOCATE, 2, struct.pack("<QQQII", 1, 0, 100, 0, 0))),
                                  rec(req(RELEASE, 2, struct.pack("<QIIQ", 1, 0, 0, 0)))])
    s["readdir"] = fuse_input([rec(req(OPENDIR, 1, open_in(0))),
                               rec(req(READDIR, 1, rw_in(1, 0, 4096)), ctl=0x07, room=600),
                               rec(req(READDIRPLUS, 1, rw_in(1, 0, 4096))),
                               rec(req(READDIRPLUS, 1, rw_in(1, 3, 200)), room=300),
                               rec(req(FSYNCDIR, 1, struct.pack("<QII", 1, 0, 0))),
                               rec(req(RELEASEDIR, 1, struct.pack("<QIIQ", 1, 0, 0, 0)))])
    s["symlink-readlink"] = fuse_input([rec(req(LOOKUP, 1, name("l"))),
                                        rec(req(READLINK, 2), room=20),
                                        rec(req(SYMLINK, 1, name("s2") + name("../x"))),
                                        rec(req(LOOKUP, 1, name("d"))),
                                        rec(req(LOOKUP, 4, name("out"))),
                                        rec(req(READLINK, 5))])
    s["mkdir-rename-unlink"] = fuse_input([
        rec(req(MKDIR, 1, struct.pack("<II", 0o755, 0o22) + name("m"))),
        rec(req(MKNOD, 2, struct.pack("<IIII", 0o100600, 0, 0o22, 0) + name("node"))),
        rec(req(RENAME, 1, struct.pack("<Q", 2) + name("f") + name("f2"))),
        rec(req(RENAME2, 1, struct.pack("<QII", 1, 2, 0) + name("e") + name("empty"))),
        rec(req(LINK, 3, struct.pack("<Q", 1) + name("hl"))),
        rec(req(UNLINK, 1, name("l"))),
        rec(req(RMDIR, 1, name("e")))])
    s["setattr"] = fuse_input([rec(req(LOOKUP, 1, name("f"))),
                               rec(req(SETATTR, 2, setattr_in(0x1 | 0x8 | 0x10 | 0x20, size=3,
                                                              mode=0o4755))),
                               rec(req(SETATTR, 2, setattr_in(0x2 | 0x4, uid=5, gid=6))),
                               rec(req(ACCESS, 2, struct.pack("<II", 7, 0)))])
    s["xattr"] = fuse_input([rec(req(SETXATTR, 1, struct.pack("<IIII", 3, 0, 0, 0) + name("user.a")
                                     + b"xyz")),
                             rec(req(GETXATTR, 1, struct.pack("<II", 0, 0) + name("user.a"))),
                             rec(req(GETXATTR, 1, struct.pack("<II", 64, 0) + name("user.a"))),
                             rec(req(LISTXATTR, 1, struct.pack("<II", 0, 0))),
                             rec(req(LISTXATTR, 1, struct.pack("<II", 256, 0))),
                             rec(req(REMOVEXATTR, 1, name("user.k")))])
    s["locks"] = fuse_input([rec(req(LOOKUP, 1, name("f"))), rec(req(OPEN, 2, open_in(2))),
                             rec(req(SETLK, 2, lk_in(1, 11, 0, 99, 1))),
                             rec(req(GETLK, 2, lk_in(1, 12, 0, 10, 1))),
                             rec(req(SETLKW, 2, lk_in(1, 12, 0, 10, 1))),
                             rec(req(INTERRUPT, 0, struct.pack("<Q", unique[0]))),
                             rec(req(SETLK, 2, struct.pack("<QQQQIIII", 1, 11, 0, 0, 1, 0, 1, 0))),
                             rec(req(SETLKW, 2, struct.pack("<QQQQIIII", 1, 12, 0, 0, 1, 0, 1, 0)))])
    s["statfs-syncfs"] = fuse_input([rec(req(STATFS, 1)), rec(req(SYNCFS, 1, b"\0" * 8)),
                                     rec(req(IOCTL, 1, b"\0" * 32)), rec(req(DESTROY, 0))])
    s["tmpfile-copy"] = fuse_input([
        rec(req(TMPFILE, 1, create_in(2, 0o100600))),
        rec(req(LOOKUP, 1, name("f"))), rec(req(OPEN, 3, open_in(0))),
        rec(req(COPY_FILE_RANGE, 3, struct.pack("<QQQQQQQ", 2, 0, 2, 1, 0, 100, 0)))])
    s["statx-copy64"] = fuse_input([
        rec(req(CREATE, 1, create_in(2, 0o100600) + name("f"))),
        rec(req(WRITE, 2, rw_in(1, 0, 5) + b"hello")),
        rec(req(STATX, 2, struct.pack("<IIQII", 0, 0, 0, 0, 0x7ff | 0x800))),
        rec(req(STATX, 2, struct.pack("<IIQII", 1, 0, 1, 0x2000, 0x800))),
        rec(req(COPY_FILE_RANGE_64, 2, struct.pack("<QQQQQQQ", 1, 0, 2, 1, 8, 1 << 40, 0)))])
    s["forgets"] = fuse_input([rec(req(LOOKUP, 1, name("d"))), rec(req(LOOKUP, 2, name("g"))),
                               rec(req(BATCH_FORGET, 0, struct.pack("<II", 3, 0)
                                       + struct.pack("<QQ", 2, 1) + struct.pack("<QQ", 3, 1)
                                       + struct.pack("<QQ", 99, 5)))])
    s["ext-groups"] = fuse_input([rec(req(GETATTR, 1, struct.pack("<IIQ", 0, 0, 0),
                                          ext=groups_ext([1, 2, 3]), uid=1000), ctl=0x13)])
    s["hostile-len"] = fuse_input([rec(struct.pack("<IIQQIIIHH", 9999, LOOKUP, 5, 1, 0, 0, 0, 0, 0)
                                       + b"f\0")])
    s["small-room"] = fuse_input([rec(req(LOOKUP, 1, name("f")), ctl=0x07, room=20),
                                  rec(req(STATFS, 1), room=16), rec(req(STATFS, 1), room=0)])
    s["unknown-op"] = fuse_input([rec(req(200, 1)), rec(req(0, 1)), rec(req(52, 1))])
    s["second-init"] = fuse_input([rec(req(LOOKUP, 1, name("f"))),
                                   rec(req(INIT, 0, struct.pack("<IIII", 7, 31, 0, 0)))])
    s["no-xattr-cfg"] = fuse_input([rec(req(GETXATTR, 1, struct.pack("<II", 0, 0) + name("a")))],
                                   mode=2)
    s["big-room"] = fuse_input([rec(req(LOOKUP, 1, name("f"))),
                                rec(req(READ, 2, rw_in(0, 0, 1 << 20)), ctl=0x0b, room=0xffff)])
    # DAX (fuzz_fuse_pt has a window): read map, writable upgrade, a size change, removal.
    s["dax-map"] = fuse_input([
        rec(req(LOOKUP, 1, name("f"))),
        rec(req(SETUPMAPPING, 2, struct.pack("<QQQQQ", 2**64 - 1, 0, 2 << 20, 2, 0))),
        rec(req(SETUPMAPPING, 2, struct.pack("<QQQQQ", 2**64 - 1, 0, 2 << 20, 3, 0))),
        rec(req(SETATTR, 2, setattr_in(1 << 3, size=5000))),
        rec(req(GETATTR, 2, struct.pack("<IIQ", 0, 0, 0))),
        rec(req(REMOVEMAPPING, 2, struct.pack("<I", 1) + struct.pack("<QQ", 0, 2 << 20))),
        rec(req(SETUPMAPPING, 2, struct.pack("<QQQQQ", 0, 4096, 4096, 2, 8 << 20))),
        rec(req(REMOVEMAPPING, 2, struct.pack("<I", 300)))])
    # Security contexts: a 7.38 extension, and before 7.38 a block trailing the names.
    s["secctx-ext"] = fuse_input([
        rec(req(CREATE, 1, create_in(2, 0o100600) + name("lab"), ext=secctx_block())),
        rec(req(MKDIR, 1, struct.pack("<II", 0o755, 0o22) + name("ldir"),
                ext=secctx_block(nr=0))),
        rec(req(SYMLINK, 1, name("lsym") + name("target"), ext=secctx_block(nr=2))),
        rec(req(TMPFILE, 1, create_in(2, 0o100600) + name("/"), ext=secctx_block()))])
    s["secctx-trailing"] = fuse_input([
        rec(req(MKDIR, 1, struct.pack("<II", 0o755, 0o22) + name("tdir") + secctx_block())),
        rec(req(MKNOD, 1, struct.pack("<IIII", 0o10600, 0, 0o22, 0) + name("fifo")
                + secctx_block(name_s=b"security.x", value=b"v"))),
        rec(req(SYMLINK, 1, name("tsym") + name("t") + secctx_block(ctx_size=9999))),
        rec(req(CREATE, 1, create_in(2, 0o100600) + name("tf")
                + secctx_block(name_s=b"user.nope"))),
        rec(req(TMPFILE, 1, create_in(2, 0o100600) + name("/") + secctx_block()))], minor=1)
    return s


def answers(n, seed):
    """n bytes for fuzz_fuse_fake's backend from a small LCG: a mix of successes (bytes below
    192 in result position) and errors, with arbitrary values."""
    out = bytearray()
    for _ in range(n):
        seed = (seed * 1103515245 + 12345) & 0xffffffff
        out.append((seed >> 16) & 0xff)
    return bytes(out)


def fake_seeds():
    """fuzz_fuse_fake: u16 answer length, the answers, then a FUSE input as above."""
    base = fuse_seeds()
    s = {}
    for n in ("lookup-getattr", "read-file", "write-file", "readdir", "symlink-readlink",
              "xattr", "locks", "statfs-syncfs", "tmpfile-copy", "dax-map"):
        s[n + "-zeros"] = struct.pack("<H", 0) + base[n]
        a = answers(2048, len(n))
        s[n + "-mixed"] = struct.pack("<H", len(a)) + a + base[n]
    return s


# --- virtqueue -------------------------------------------------------------------------------
RD, NX, WR, IND = 0, 1, 2, 4


def vq_input(num_log, flags, descs, heads, start=0, extra=b"", avail_flags=0, used_event=0):
    num = 1 << num_log
    table = bytearray(16 * num)
    for i, (a, ln, fl, nx) in descs.items():
        table[16 * i:16 * i + 16] = struct.pack("<QIHH", a, ln, fl, nx)
    ring = bytearray(2 * num)
    for k, h in enumerate(heads):
        struct.pack_into("<H", ring, 2 * ((start + k) % num), h)
    head = struct.pack("<BBHHHH", num_log, flags, start, (start + len(heads)) & 0xffff,
                       avail_flags, used_event)
    return head + bytes(table) + bytes(ring) + extra


def vq_seeds():
    s = {}
    B = 0x4000  # a buffer area in region A
    s["simple"] = vq_input(3, 0, {0: (B, 100, NX, 1), 1: (B + 0x100, 200, WR, 0)}, [0])
    s["two-chains"] = vq_input(2, 1, {0: (B, 8, NX, 1), 1: (B + 8, 8, WR, 0), 2: (B, 4, RD, 0)},
                               [0, 2], used_event=1)
    s["empty"] = vq_input(0, 0, {}, [])
    s["wrap"] = vq_input(2, 1, {0: (B, 8, WR, 0)}, [0, 0, 0], start=0xfffe)
    # Indirect table in the data area (input left after the rings lands at 0x2000).
    ind = struct.pack("<QIHH", B, 16, NX, 1) + struct.pack("<QIHH", B + 64, 64, WR, 0)
    s["indirect"] = vq_input(1, 2, {0: (0x2000, 32, IND, 0)}, [0], extra=ind)
    s["indirect-not-negotiated"] = vq_input(1, 0, {0: (0x2000, 32, IND, 0)}, [0], extra=ind)
    s["indirect-nested"] = vq_input(1, 2, {0: (0x2000, 16, IND, 0)}, [0],
                                    extra=struct.pack("<QIHH", 0x2000, 16, IND, 0))
    s["cross-region"] = vq_input(1, 0, {0: (16 * 4096 - 10, 20, RD, 0)}, [0])
    s["top-of-memory"] = vq_input(1, 0, {0: ((1 << 64) - 100, 100, RD, 0)}, [0])
    s["wrap-64"] = vq_input(1, 0, {0: ((1 << 64) - 10, 20, RD, 0)}, [0])
    s["loop"] = vq_input(2, 0, {0: (B, 1, NX, 1), 1: (B, 1, NX, 0)}, [0])
    s["bad-next"] = vq_input(2, 0, {0: (B, 1, NX, 9)}, [0])
    s["bad-head"] = vq_input(2, 0, {}, [7])
    s["rd-after-wr"] = vq_input(2, 0, {0: (B, 1, WR | NX, 1), 1: (B, 1, RD, 0)}, [0])
    s["rings-at-end"] = vq_input(8, 5, {0: (B, 10, RD | NX, 1), 1: (B, 10, WR, 0)}, [0, 0, 0])
    s["full-ring"] = vq_input(4, 1, {i: (B + i, 1, WR, 0) for i in range(16)}, list(range(16)))
    s["too-far-ahead"] = vq_input(1, 0, {}, [0, 0, 0, 0])
    # Unaligned indirect table: undefined behaviour in desc_read() before the fix.
    s["crash-indirect-unaligned"] = vq_input(0, 2, {0: (0x2001, 16, IND, 0)}, [0])
    return s


# --- vhost-user ------------------------------------------------------------------------------
def vmsg(req, payload=b"", nfds=0, flags=1, size=None):
    return struct.pack("<III", req, flags, len(payload) if size is None else size) + \
        bytes([nfds]) + payload


def u64(v):
    return struct.pack("<Q", v)


def state(i, n):
    return struct.pack("<II", i, n)


def region(gpa, size, uva, off):
    return struct.pack("<QQQQ", gpa, size, uva, off)


def vhu_setup(nq=1, features=(1 << 28) | (1 << 29) | (1 << 30) | (1 << 32)):
    m = [vmsg(1), vmsg(15), vmsg(16, u64(0xa429)), vmsg(3), vmsg(17), vmsg(2, u64(features))]
    m.append(vmsg(5, struct.pack("<II", 1, 0) + region(0, 1 << 20, 0x7f0000000000, 0), nfds=1))
    for q in range(nq):
        base = 0x1000 * q
        m += [vmsg(8, state(q, 16)),
              vmsg(9, struct.pack("<IIQQQQ", q, 0, 0x7f0000000000 + base,
                                  0x7f0000000000 + base + 0x400, 0x7f0000000000 + base + 0x200, 0)),
              vmsg(10, state(q, 0)), vmsg(13, u64(q), nfds=1), vmsg(14, u64(q), nfds=1),
              vmsg(12, u64(q), nfds=1), vmsg(18, state(q, 1))]
    return m


def vhu_seeds():
    s = {}
    s["handshake"] = bytes([0]) + b"".join(vhu_setup(1))
    s["two-queues-pool"] = bytes([0x05]) + b"".join(vhu_setup(2))
    s["stop-restart"] = bytes([0]) + b"".join(vhu_setup(1) + [vmsg(11, state(0, 0)),
                                                              vmsg(10, state(0, 5)),
                                                              vmsg(12, u64(0x100))])
    s["mem-slots"] = bytes([1]) + b"".join([
        vmsg(16, u64(1 << 15 | 1 << 3)), vmsg(36),
        vmsg(37, u64(0) + region(0, 1 << 16, 0x10000000, 0), nfds=1, flags=9),
        vmsg(37, u64(0) + region(1 << 16, 1 << 16, 0x20000000, 4096), nfds=1),
        vmsg(37, u64(0) + region(0x8000, 1 << 16, 0x30000000, 0), nfds=1),
        vmsg(38, u64(0) + region(0, 1 << 16, 0, 0)),
        vmsg(38, u64(0) + region(0, 1 << 16, 0, 0), flags=9)])
    s["mem-table-many"] = bytes([0]) + vmsg(5, struct.pack("<II", 3, 0) + region(0, 4096, 0, 0) +
                                            region(8192, 4096, 8192, 4096) +
                                            region(1 << 30, 1 << 20, 1 << 40, 0), nfds=3)
    s["mem-table-bad"] = bytes([0]) + vmsg(5, struct.pack("<II", 1, 0) +
                                           region(0, 2 << 20, 0, 0), nfds=1)
    s["mem-eventfd"] = bytes([0]) + vmsg(5, struct.pack("<II", 1, 0) + region(0, 4096, 0, 0),
                                         nfds=0x11)
    s["reset"] = bytes([0]) + b"".join(vhu_setup(1) + [vmsg(34), vmsg(4)] + vhu_setup(1))
    s["config"] = bytes([0]) + b"".join([vmsg(24, struct.pack("<III", 0, 40, 0) + b"\0" * 40),
                                         vmsg(25, struct.pack("<III", 0, 4, 0) + b"abcd"),
                                         vmsg(6, b"\0" * 16), vmsg(7, nfds=1)])
    s["backend-fd"] = bytes([0]) + b"".join([vmsg(21, nfds=1), vmsg(21, nfds=1), vmsg(21)])
    s["unknown"] = bytes([0]) + b"".join([vmsg(99, flags=9), vmsg(16, u64(8)), vmsg(99, flags=9),
                                          vmsg(0), vmsg(1000, b"x" * 10, nfds=3)])
    s["vring-fd-flags"] = bytes([2]) + b"".join([vmsg(12, u64(0x100)), vmsg(13, u64(0x101)),
                                                 vmsg(14, u64(2), nfds=1), vmsg(12, u64(5), nfds=1),
                                                 vmsg(12, u64(0x200))])
    s["bad-version"] = bytes([0]) + vmsg(1, flags=2)
    s["big-size"] = bytes([0]) + vmsg(1, size=5000)
    s["bad-num"] = bytes([0]) + vmsg(8, state(0, 3))
    # Dirty logging as QEMU starts it at migration: LOG_SHMFD, SET_LOG_BASE, LOG_ALL, vring
    # addresses with the log flag, then requests; and log bases a hostile frontend sends.
    log_feat = (1 << 26) | (1 << 28) | (1 << 29) | (1 << 30) | (1 << 32)
    setup = vhu_setup(1, log_feat)
    setup[2] = vmsg(16, u64(0xa429 | 2))
    s["dirty-log"] = bytes([0]) + b"".join(setup + [
        vmsg(6, u64(64) + u64(0), nfds=1), vmsg(7, nfds=1),
        vmsg(9, struct.pack("<IIQQQQ", 0, 1, 0x7f0000000000, 0x7f0000000400,
                            0x7f0000000200, 0x400)),
        vmsg(12, u64(0), nfds=1), vmsg(6, u64(4096) + u64(4096), nfds=1),
        vmsg(2, u64(log_feat & ~(1 << 26))), vmsg(11, state(0, 0))])
    s["dirty-log-small"] = bytes([0]) + b"".join(setup + [vmsg(6, u64(3) + u64(0), nfds=1)])
    s["dirty-log-overflow"] = bytes([0]) + b"".join(
        setup + [vmsg(6, u64(64) + u64((1 << 64) - 8), nfds=1)])
    s["dirty-log-past-file"] = bytes([0]) + b"".join(
        setup + [vmsg(6, u64(1 << 21) + u64(0), nfds=1)])
    s["dirty-log-no-fd"] = bytes([0]) + b"".join(setup + [vmsg(6, u64(64) + u64(0))])
    s["dirty-log-log-addr-wild"] = bytes([0]) + b"".join(setup + [
        vmsg(6, u64(16) + u64(0), nfds=1),
        vmsg(9, struct.pack("<IIQQQQ", 0, 1, 0x7f0000000000, 0x7f0000000400,
                            0x7f0000000200, (1 << 64) - 4)), vmsg(12, u64(0), nfds=1)])
    s["poll-mode"] = bytes([0]) + b"".join(vhu_setup(1)[:-3] + [vmsg(12, u64(0x100)),
                                                               vmsg(18, state(0, 1))])
    # Device state (migration): DEVICE_STATE negotiated, SAVE into a file (the blob is larger
    # than a pipe), CHECK; LOAD from a file (read to EOF), CHECK; the edges.
    ds = vhu_setup(1)
    ds[2] = vmsg(16, u64(0xa429 | 1 << 19))
    s["device-state-save"] = bytes([0]) + b"".join(ds + [
        vmsg(11, state(0, 0)), vmsg(42, struct.pack("<II", 0, 0), nfds=1), vmsg(43)])
    s["device-state-load"] = bytes([0]) + b"".join(ds[:5] + [
        vmsg(34), vmsg(42, struct.pack("<II", 1, 0), nfds=1), vmsg(43)] + ds[5:])
    s["device-state-edges"] = bytes([0]) + b"".join(ds[:3] + [
        vmsg(43), vmsg(42, struct.pack("<II", 2, 0), nfds=1),
        vmsg(42, struct.pack("<II", 0, 1), nfds=1), vmsg(42, struct.pack("<II", 0, 0)),
        vmsg(42, struct.pack("<II", 0, 0), nfds=1), vmsg(42, struct.pack("<II", 1, 0), nfds=1),
        vmsg(43), vmsg(43), vmsg(42, struct.pack("<II", 1, 0), nfds=2)])
    s["device-state-unnegotiated"] = bytes([0]) + vmsg(42, struct.pack("<II", 0, 0), nfds=1)
    return s


def xattrmap_seeds():
    """The rule string, a NUL, then NUL-separated names (fuzz_xattrmap.c)."""
    names = b"\0".join([b"security.selinux", b"user.virtiofs.security.selinux", b"user.a",
                        b"trusted.x", b"user.virtiofs.trusted.x", b"user.virtiofs.",
                        b"system.posix_acl_access", b"user.virtiofs.user.virtiofs.q", b"x" * 300])
    rules = {
        "map-security": b":map:security.:user.virtiofs.:",
        "map-all": b":map::user.virtiofs.:",
        "prefix-bad": b":prefix:all::user.virtiofs.::bad:all:::",
        "four-rules": b"/prefix/all/trusted./user.virtiofs./\n /bad/server//trusted./\n"
                      b" /bad/client/user.virtiofs.//\n /ok/all///",
        "hide-security": b"/bad/all/security./security./ /ok/all///",
        "unsupported": b":unsupported:client:trusted.::ok:all:::",
        "no-terminator": b":prefix:client:trusted.:user.virtiofs.:",
        "bad-type": b":TOMATO:all:::",
        "incomplete": b":prefix:client:hi",
        "map-not-last": b":map:a.:b.::ok:all:::",
        "empty": b"   ",
        "long-field": b":ok:all:" + b"k" * 300 + b"::",
    }
    return {n: r + b"\0" + names for n, r in rules.items()}


# --- id maps ----------------------------------------------------------------------------------
def idmap_seeds():
    """fuzz_idmap: lines "t RULE" (--translate-*), "n VALUE" (--uid-map), "p ID" (a probe)."""
    s = {}
    s["every-form"] = (b"t guest:1000:2000:10\nt host:2000:1000:10\nt map:5000:6000:100\n"
                       b"t squash-guest:100000:7:65536\nt squash-host:300000:8:10\n"
                       b"t forbid-guest:0:1\np 0\np 1005\np 5050\np 4294967295\n")
    s["incus"] = (b"t forbid-guest:0:1000\nt map:1000:1000:1\nt forbid-guest:1001:999\n"
                  b"t map:2000:2000:1\nt forbid-guest:2001:4294965294\np 1000\np 2001\n")
    s["auto-squash"] = b"t squash-guest:0:501:4294967295\nt host:501:0:1\np 501\np 0\n"
    s["bad"] = (b"t guest:1:2\nt both:0:0:1\nt guest:4294967295:0:2\nt map:1:2:0\n"
                b"t guest:00000000000000000000001:1:1\nt guest:1:2:3:4\nt map:0:1:5\n"
                b"t squash-guest:3:0:1\n")
    s["libvirt-nsmap"] = (b"n :0:100000:65536:\nn :65536:1000:1:\nn :1:2:3\nn :0:5:1:\n"
                          b"n ::::\nn :4294967294:0:1:\n")
    return s


def state_blob(nodes, handles, next_node=16, next_fh=8, initialized=1, minor=38,
               flags=0x1 | (1 << 30), max_write=1 << 20):
    """A migration state (docs/migration.md); nodes: (id, nlookup, type, flags, path, fh)."""
    def u32(v):
        return struct.pack("<I", v)

    def u64(v):
        return struct.pack("<Q", v)

    fuse = u32(initialized) + u32(minor) + u64(flags) + u32(max_write) + u32(0)
    be = b""
    if initialized:
        be = u64(next_node) + u32(len(nodes))
        for nid, nl, typ, fl, path, fh in nodes:
            be += u64(nid) + u64(nl) + u32(typ) + u32(fl)
            if fl & 1:
                be += u32(len(path)) + path
            if fl & 2:
                be += u32(fh[0]) + u32(len(fh[1])) + fh[1]
        be += u64(next_fh) + u32(len(handles))
        for fh, nid, oflags, hf in handles:
            be += u64(fh) + u64(nid) + u32(oflags) + u32(hf)
    return (b"VFSDSTAT" + u32(1) + u32(2) + u32(1) + u32(0) + u64(len(fuse)) + fuse +
            u32(2) + u32(0) + u64(len(be)) + be)


def state_seeds():
    DIR, REG, LNK = 0o040000, 0o100000, 0o120000
    tree = [(1, 1, DIR, 4, b"", None), (2, 3, DIR, 1, b"d", None), (3, 1, REG, 1, b"f", None),
            (4, 2, REG, 1, b"d/g", None), (5, 1, LNK, 1, b"l", None)]
    handles = [(1, 3, 0o2, 0), (2, 2, 0o200000, 0), (3, 4, 0o2 | 0o2000, 1),
               (4, 3, 0o2 | 0o100 | 0o1000, 0)]
    s = {}
    for mode in range(4):
        s["tree-%d" % mode] = bytes([mode]) + state_blob(tree, handles)
    s["no-session"] = b"\0" + state_blob([], [], initialized=0)
    s["empty-session"] = b"\0" + state_blob([], [])
    lost = tree + [(6, 1, REG, 0, b"", None), (7, 1, REG, 1, b"gone", None),
                   (8, 1, REG, 1, b"d/out", None), (9, 1, REG, 1, b"../../etc/passwd", None)]
    s["lost-abort"] = b"\0" + state_blob(lost, handles + [(5, 6, 0, 0), (6, 7, 0o2, 0)])
    s["lost-guest-error"] = b"\1" + state_blob(lost, handles + [(5, 6, 0, 0), (6, 7, 0o2, 0)])
    s["bad-handle"] = b"\3" + state_blob(
        tree + [(6, 1, REG, 3, b"f", (1, b"\x01" * 8))], handles)
    s["dup-ids"] = b"\1" + state_blob(tree + [(3, 1, REG, 1, b"d/g", None)], handles)
    s["huge-count"] = b"\1" + state_blob([], [])[:-12] + struct.pack("<QI", 16, 0xffffffff)
    s["flags-not-offered"] = b"\0" + state_blob(tree, [], flags=1 << 37)
    return s


def main():
    for target, seeds in (("fuzz_xattrmap", xattrmap_seeds()), ("fuzz_fuse_null", fuse_seeds()), ("fuzz_fuse_pt", fuse_seeds()),
                          ("fuzz_virtq", vq_seeds()), ("fuzz_vhu", vhu_seeds()),
                          ("fuzz_fuse_fake", fake_seeds()), ("fuzz_idmap", idmap_seeds()),
                          ("fuzz_state", state_seeds())):
        d = os.path.join(OUT, target)
        os.makedirs(d, exist_ok=True)
        for n, data in seeds.items():
            with open(os.path.join(d, "seed-" + n if not n.startswith("crash-") else n),
                      "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
