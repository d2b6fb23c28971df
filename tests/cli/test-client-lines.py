#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The exact command lines real clients start a virtiofsd with, fed to the real vfsd binary.

Each line must start the daemon for real (a socket path, or a listening socket inherited as the
descriptor the client names), reach "waiting for a vhost-user frontend", and exit 0 on SIGTERM.
Lines come from libvirt 12.8 (both option styles), libvirt 9.0 (the -o style), Kata's Go runtime
and runtime-rs, and cloud-hypervisor's docs (docs/research: migration-libvirt.md C.1, C.3).
Also: --print-capabilities is exactly what libvirt parses, and the options we refuse are refused
with one clear line before anything is created. Usage: test-client-lines.py VFSD. TAP output.
"""
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "tools"))
from tap import finish, result  # noqa: E402
import time

VFSD = os.path.realpath(sys.argv[1])
READY = "waiting for a vhost-user frontend"
# LeakSanitizer needs ptrace, which the sandbox forbids (as in test-cli.sh).
ENV = dict(os.environ)
ENV["ASAN_OPTIONS"] = ":".join(filter(None, [ENV.get("ASAN_OPTIONS"), "detect_leaks=0"]))



_seq = iter(range(1000))


def listening_socket(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(1)
    return s


def run_line(name, argv, fd=None, syslog_sock=None, expect=None, timeout=10.0):
    """Starts argv; fd: a listening socket to inherit, as the number it must have (or None).
    syslog_sock: a datagram socket standing in for /dev/log in a private mount namespace.
    expect: text the debug line of the options in effect must contain (argv asks for debug)."""
    pass_fds = ()
    ls = None
    if fd is not None:
        ls = listening_socket(os.path.join(T, f"fd-{next(_seq)}.sock"))
        if ls.fileno() != fd:
            os.dup2(ls.fileno(), fd)
        os.set_inheritable(fd, True)
        pass_fds = (fd,)
    cmd = [VFSD] + argv
    if syslog_sock:
        cmd = ["unshare", "-m", "sh", "-c",
               'mount --make-rprivate / && mount -t tmpfs vfsd-test /dev && '
               'mknod -m 666 /dev/null c 1 3 && touch /dev/log && '
               'mount --bind "$0" /dev/log && exec "$@"', syslog_sock.getsockname()] + cmd
    err_path = os.path.join(T, f"line-{next(_seq)}.err")
    with open(err_path, "w") as err:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                             pass_fds=pass_fds, env=ENV)
    if fd is not None:
        if ls.fileno() != fd:
            os.close(fd)
        ls.close()  # only the daemon holds it now
    seen = ""
    ready = False
    end = time.time() + timeout
    while time.time() < end and p.poll() is None and not ready:
        time.sleep(0.05)
        if syslog_sock:
            try:
                while True:
                    seen += syslog_sock.recv(4096).decode(errors="replace") + "\n"
            except BlockingIOError:
                pass
        else:
            seen = open(err_path).read()
        ready = READY in seen
    running = p.poll() is None
    if running:
        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = "timeout"
    else:
        rc = p.returncode
    detail = " ".join(argv) + "\n" + seen + open(err_path).read()
    result(ready and running, f"{name}: started and waits for a frontend", detail)
    result(rc == 0, f"{name}: exits 0 on SIGTERM (got {rc})", detail)
    if expect:
        opts = sorted({line for line in detail.splitlines() if " DEBUG vfsd] vfsd " in line})
        result(len(opts) == 1 and expect in opts[0],
               f"{name}: debug log shows the options in effect", f"want: {expect}\n{detail}")
    return seen + open(err_path).read()


def refused(name, argv, needle):
    sock = os.path.join(T, f"refused-{next(_seq)}.sock")
    p = subprocess.run([VFSD, f"--socket-path={sock}"] + argv, capture_output=True, text=True,
                       env=ENV, timeout=10)
    lines = p.stderr.splitlines()
    ok = (p.returncode == 1 and len(lines) == 1 and needle in lines[0]
          and not os.path.exists(sock))
    result(ok, f"{name}: refused with one line naming it",
           f"rc {p.returncode}\n{p.stderr}")


T = tempfile.mkdtemp(prefix="vfsd-lines.")
D = os.path.join(T, "share")
os.mkdir(D)
# libvirt's -o style doubles commas inside the path.
DC = os.path.join(T, "a,b share")
os.mkdir(DC)
S = os.path.join(T, "vfsd.sock")

# --print-capabilities: what libvirt parses (qemu_vhost_user.c); "migrate-precopy" lets libvirt
# migrate and save a VM with a vfsd share (device state, docs/migration.md).
p = subprocess.run([VFSD, "--print-capabilities"], capture_output=True, text=True, env=ENV)
try:
    caps = json.loads(p.stdout)
except ValueError:
    caps = None
result(p.returncode == 0 and
       caps == {"type": "fs", "features": ["separate-options", "migrate-precopy"]},
       "--print-capabilities: {type: fs, features: [separate-options, migrate-precopy]}",
       p.stdout + p.stderr)

# libvirt >= 11.3 with separate-options (argv captured from libvirt 12.8).
run_line("libvirt 12.8 xattr, thread pool, openfiles, debug",
         ["--fd=22", "--shared-dir", D, "--cache", "always", "--sandbox", "chroot", "--xattr",
          "--thread-pool-size=2", "--rlimit-nofile=20000", "--log-level", "debug"], fd=22,
         expect=f"sharing {D} on inherited fd 22; cache always, sandbox chroot, seccomp kill, "
         "thread pool 2, xattr on")
run_line("libvirt 12.8 readonly, cache none",
         ["--fd=22", "--shared-dir", D, "--cache", "never", "--sandbox", "chroot",
          "--log-level", "debug", "--readonly"], fd=22,
         expect="cache never, sandbox chroot, seccomp kill, thread pool 0, xattr off, "
         "posix acl off, readonly on")
run_line("libvirt 12.8 namespace sandbox",
         ["--fd=23", "--shared-dir", D, "--cache", "never", "--sandbox", "namespace"], fd=23)
# libvirt without separate-options in the capabilities, and libvirt 9.0 (bookworm): -o and -d.
run_line("libvirt -o style with -d",
         ["--fd=22", "-o", f"source={D},cache=always,sandbox=chroot,xattr",
          "--thread-pool-size=2", "--rlimit-nofile=20000", "-d"], fd=22,
         expect=f"sharing {D} on inherited fd 22; cache always, sandbox chroot, seccomp kill, "
         "thread pool 2, xattr on")
run_line("libvirt 9.0 -o style, escaped commas, cache=none, locks",
         ["--fd=24", "-o",
          "source=" + DC.replace(",", ",,") + ",cache=none,sandbox=namespace,xattr,"
          "posix_lock,flock", "-d"], fd=24,
         expect=f"sharing {DC} on inherited fd 24; cache never, sandbox namespace")
run_line("libvirt 9.0 -o style, no locks",
         ["--fd=24", "-o", f"source={D},cache=always,sandbox=chroot,no_posix_lock,no_flock"],
         fd=24)

# Kata's Go runtime: the socket is ExtraFiles[0], i.e. fd 3, and it logs to syslog.
log = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
log.bind(os.path.join(T, "log"))
# Off the low numbers: fd 3 is the daemon's socket in this line.
log = socket.socket(fileno=fcntl.fcntl(log.detach(), fcntl.F_DUPFD_CLOEXEC, 100))
log.setblocking(False)
run_line("Kata Go runtime",
         ["--syslog", "--cache=auto", "--shared-dir", D, "--fd=3", "--thread-pool-size=1",
          "--announce-submounts"], fd=3, syslog_sock=log)
log.close()
# Kata runtime-rs (defaults, with --xattr unless disable_guest_selinux).
run_line("Kata runtime-rs",
         ["--socket-path", S, "--shared-dir", D, "--cache", "auto", "--thread-pool-size=1",
          "-o", "announce_submounts", "--xattr"])
run_line("Kata runtime-rs, -o announce_submounts applied",
         ["--socket-path", S, "--shared-dir", D, "--cache", "auto", "--no-announce-submounts",
          "--thread-pool-size=1", "-o", "announce_submounts", "-d"],
         expect="thread pool 1, xattr off, posix acl off, readonly off, announce submounts on")
run_line("Kata runtime-rs, cache never",
         ["--socket-path", S, "--shared-dir", D, "--cache", "never", "--thread-pool-size=1",
          "-o", "announce_submounts"])
# cloud-hypervisor's docs/fs.md.
run_line("cloud-hypervisor docs",
         ["--log-level", "debug", f"--socket-path={S}", f"--shared-dir={D}", "--cache=never",
          "--thread-pool-size=4"])
# The same options joined with '=' where the clients above separate them, and the reverse.
run_line("every value option as --opt=value",
         [f"--fd=22", f"--shared-dir={D}", "--cache=metadata", "--sandbox=chroot",
          "--thread-pool-size=2", "--rlimit-nofile=4096", "--log-level=debug",
          "--seccomp=kill", "--inode-file-handles=never"], fd=22,
         expect="cache metadata, sandbox chroot, seccomp kill, thread pool 2")
run_line("every value option as --opt value",
         ["--fd", "22", "--shared-dir", D, "--cache", "metadata", "--sandbox", "chroot",
          "--thread-pool-size", "2", "--rlimit-nofile", "4096", "--log-level", "debug",
          "--seccomp", "kill", "--inode-file-handles", "never"], fd=22,
         expect="cache metadata, sandbox chroot, seccomp kill, thread pool 2")

# libvirt's <idmap>: accepted in both spellings (frontend-rootless serves with such maps). The
# namespace's root is host uid 100000 here, which must be able to reach the share.
os.chmod(T, 0o755)
run_line("libvirt <idmap> --uid-map/--gid-map",
         ["--fd=22", "--shared-dir", D, "--uid-map=:0:100000:65536:", "--gid-map",
          ":0:100000:65536:"], fd=22)
refused("--uid-map outside the namespace sandbox",
        ["--shared-dir", D, "--sandbox", "none", "--uid-map=:0:100000:65536:"],
        "--uid-map, --gid-map: need --sandbox=namespace")

subprocess.run(["rm", "-rf", T])
finish()
