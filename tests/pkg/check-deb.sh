#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The Debian package, built as a distribution would build it: dpkg-buildpackage -us -uc -b in a
# copy of the tree (the files git knows, as they are now), lintian with no error or warning left,
# then installed with dpkg into a throwaway root (never on this host) and checked: the binary in
# /usr/libexec, the vhost-user descriptor naming it, the man page, and the installed binary
# answering --print-capabilities. Usage: check-deb.sh SRCROOT. TAP output.
set -uo pipefail

SRC=$(readlink -f "$1")
T=$(mktemp -d /tmp/vfsd-deb.XXXXXX)
trap 'rm -rf "$T"' EXIT

n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() {
	n=$((n + 1))
	fails=$((fails + 1))
	echo "not ok $n - $1"
	[ -n "${2:-}" ] && [ -f "$2" ] && tail -n 30 "$2" | sed 's/^/# /'
}
check() { if eval "$2"; then ok "$1"; else notok "$1" "${3:-}"; fi; }

start=$(date +%s)
"$(dirname "$0")/build-deb.sh" "$SRC" "$T"
rc=$? # before the check's arguments: a command substitution there would reset $?
check "dpkg-buildpackage -us -uc -b ($(($(date +%s) - start)) s)" "[ $rc -eq 0 ]" "$T/build.log"
deb=$(ls "$T"/vfsd_*.deb 2>/dev/null | head -n 1)
check "a vfsd .deb was built" "[ -n '$deb' ]"

# Every tag lintian shows by default (errors, warnings, info is not shown) fails the test.
lintian --fail-on error,warning "$T"/vfsd_*.changes >"$T/lintian.log" 2>&1
check "lintian: no error or warning" "[ $? -eq 0 ] && ! grep -q '^[EW]:' '$T/lintian.log'" \
	"$T/lintian.log"

# A throwaway root with an empty dpkg database; libraries come from the host (--force-depends).
R="$T/root"
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates"
touch "$R/var/lib/dpkg/status" "$R/var/lib/dpkg/available"
dpkg --root="$R" --force-depends --force-script-chrootless -i "$deb" >"$T/dpkg.log" 2>&1
check "dpkg --root installs it" "[ $? -eq 0 ]" "$T/dpkg.log"
dpkg --root="$R" -L vfsd >"$T/files" 2>&1
check "dpkg knows its files" "grep -qx /usr/libexec/vfsd '$T/files'" "$T/files"
check "the binary is /usr/libexec/vfsd, nothing in PATH" \
	"[ -x '$R/usr/libexec/vfsd' ] && ! grep -q '^/usr/s\?bin/' '$T/files'"
check "the descriptor names /usr/libexec/vfsd, type fs" \
	"python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d[\"type\"]==\"fs\" and d[\"binary\"]==\"/usr/libexec/vfsd\" and d[\"description\"]' '$R/usr/share/qemu/vhost-user/40-vfsd.json'"
check "the man page is installed compressed and renders" \
	"[ -f '$R/usr/share/man/man1/vfsd.1.gz' ] && MANWIDTH=80 man -l '$R/usr/share/man/man1/vfsd.1.gz' 2>&1 | grep -q -- '--shared-dir'"
check "copyright and changelog in /usr/share/doc/vfsd" \
	"[ -f '$R/usr/share/doc/vfsd/copyright' ] && [ -f '$R/usr/share/doc/vfsd/changelog.gz' ]"
"$R/usr/libexec/vfsd" --print-capabilities >"$T/caps" 2>&1
check "the installed binary answers --print-capabilities" \
	"python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))[\"type\"]==\"fs\"' '$T/caps'" "$T/caps"
check "its dependencies are the libraries it links" \
	"dpkg-deb -f '$deb' Depends | grep -q libseccomp2 && dpkg-deb -f '$deb' Depends | grep -q libcap-ng0"

echo "1..$n"
exit $((fails > 0))
