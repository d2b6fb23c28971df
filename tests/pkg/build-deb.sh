#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Builds the Debian package as a distribution would: dpkg-buildpackage -us -uc -b in a copy of the
# tree (the files git knows, as they are now; outside a git checkout everything but build
# directories). Usage: build-deb.sh SRCROOT OUTDIR. The copy is OUTDIR/vfsd, the packages land in
# OUTDIR, the build log is OUTDIR/build.log. Exit status: dpkg-buildpackage's.
# Used by check-deb.sh (pkg-deb) and tests/libvirt/run-libvirt.sh (which installs the package).
set -uo pipefail

SRC=$(readlink -f "$1")
OUT=$(readlink -f "$2")
mkdir -p "$OUT/vfsd"
if git -C "$SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$SRC" && git ls-files -z --cached --others --exclude-standard |
		xargs -0 -I{} sh -c '[ -e "{}" ] && printf "%s\0" "{}"' |
		tar --null -T - -cf -) | tar -C "$OUT/vfsd" -xf -
else
	tar -C "$SRC" --exclude='./build*' --exclude=./obj-* -cf - . | tar -C "$OUT/vfsd" -xf -
fi
cd "$OUT/vfsd" && dpkg-buildpackage -us -uc -b >"$OUT/build.log" 2>&1
