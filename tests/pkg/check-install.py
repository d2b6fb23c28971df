#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""`meson install` lays vfsd out as distributions lay out a virtiofsd, nothing more.

Installs the build directory into a temporary DESTDIR and checks: exactly the binary in
libexecdir, the vhost-user descriptor in share/qemu/vhost-user/ (QEMU's vhost-user.json schema,
type "fs", naming the installed binary, sorting before QEMU's 50-*.json) and the man page in
man1; the installed binary answers --print-capabilities as libvirt reads it; the man page renders
without a groff warning and documents every option --help lists. Usage: check-install.py
BUILDDIR. TAP output.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "tools"))
from tap import finish, result  # noqa: E402

BUILD = os.path.realpath(sys.argv[1])


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


opts = {o["name"]: o["value"]
        for o in json.loads(run(["meson", "introspect", BUILD, "--buildoptions"]).stdout)}
prefix = opts["prefix"]
libexec = os.path.join(prefix, opts["libexecdir"], "vfsd")
json_path = os.path.join(prefix, opts["datadir"], "qemu", "vhost-user", "40-vfsd.json")
man_path = os.path.join(prefix, opts["mandir"], "man1", "vfsd.1")

with tempfile.TemporaryDirectory(prefix="vfsd-install.") as dest:
    p = run(["meson", "install", "-C", BUILD, "--no-rebuild", "--destdir", dest])
    result(p.returncode == 0, "meson install --destdir", p.stdout + p.stderr)

    found = sorted("/" + os.path.relpath(os.path.join(d, f), dest)
                   for d, _, files in os.walk(dest) for f in files)
    want = sorted([libexec, json_path, man_path])
    result(found == want, f"installed exactly {', '.join(want)}", "\n".join(found))
    binary = dest + libexec
    result(os.access(binary, os.X_OK), "the binary is in libexecdir and executable")

    # The descriptor, as libvirt reads it (qemu_vhost_user.c) and QEMU specifies it.
    try:
        desc = json.load(open(dest + json_path))
    except (OSError, ValueError) as e:
        desc = {"error": str(e)}
    result(set(desc) == {"description", "type", "binary"} and desc["type"] == "fs"
           and isinstance(desc["description"], str) and desc["description"],
           "descriptor: description, type fs, binary", desc)
    result(desc.get("binary") == libexec and os.path.exists(dest + desc.get("binary", "")),
           f"descriptor names the installed binary {libexec}", desc)
    # libvirt takes the first "fs" descriptor in name order.
    names = os.listdir(os.path.dirname(dest + json_path))
    result(len(names) == 1 and
           sorted(names + ["50-qemu-virtiofsd.json", "50-virtiofsd.json"])[0] == names[0],
           "descriptor sorts before QEMU's and virtiofsd's", names)
    p = run([binary, "--print-capabilities"])
    try:
        caps = json.loads(p.stdout)
    except ValueError:
        caps = None
    result(p.returncode == 0 and isinstance(caps, dict) and caps.get("type") == "fs"
           and "separate-options" in caps.get("features", []),
           "installed binary: --print-capabilities is JSON of type fs", p.stdout + p.stderr)

    # The man page: no groff warning, renders through man(1), lists every --help option.
    man = dest + man_path
    p = run(["groff", "-man", "-Tutf8", "-ww", "-z", man])
    result(p.returncode == 0 and p.stderr == "", "man page: groff -man -ww without warnings",
           p.stderr)
    p = run(["man", "-l", man], env=dict(os.environ, MANWIDTH="80", MANPAGER="cat"))
    result(p.returncode == 0 and "SYNOPSIS" in p.stdout and p.stderr == "",
           "man page: man -l renders it", p.stderr)
    p = run(["groff", "-man", "-Tutf8", "-rLL=400n", "-P-cbu", man])
    text = p.stdout.replace("\u2010", "-").replace("\u2212", "-")
    help_text = run([binary, "--help"]).stdout
    options = sorted(set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-zA-Z])\b", help_text)))
    missing = [o for o in options if o not in text]
    result(len(options) > 30 and not missing,
           f"man page: all {len(options)} options of --help", f"missing: {missing}")
    result(run([binary, "--version"]).stdout.split()[-1] in text,
           "man page: carries the version")

finish()
