#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Rust virtiofsd from Debian trixie, for comparison and for validating tests/frontend.
#
# Bookworm has no virtiofsd package and trixie's needs glibc 2.39, so this script downloads the
# package and the libraries it links against from trixie with a private apt state (the host's apt
# sources and lists are never touched), unpacks them into a private sysroot and runs the binary
# through that sysroot's dynamic loader. Nothing is installed on the host. Idempotent: the sysroot
# is cached under $VFSD_CACHE (default /var/cache/vfsd-test).
#
# Usage:
#   rust-virtiofsd.sh fetch          download and unpack (if not done yet)
#   rust-virtiofsd.sh path           print the command prefix that runs virtiofsd
#   rust-virtiofsd.sh run ARGS...    exec virtiofsd ARGS...
set -eu

CACHE=${VFSD_CACHE:-/var/cache/vfsd-test}
BASE=$CACHE/rust-virtiofsd
SYSROOT=$BASE/sysroot
APTDIR=$BASE/apt
PKGS="virtiofsd libc6 libseccomp2 libcap-ng0 libgcc-s1"

# Use the Debian mirror host the machine is configured with, if any.
mirror() {
	m=$(grep -rhoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d \
		2>/dev/null | head -n1 | tr -d ' ' || true)
	echo "${m:-http://deb.debian.org/debian}" | sed 's,/*$,,'
}

fetch() {
	if [ -x "$SYSROOT/usr/libexec/virtiofsd" ] && [ -e "$SYSROOT/lib64/ld-linux-x86-64.so.2" ]; then
		return 0
	fi
	mkdir -p "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial" "$APTDIR/debs" \
		"$APTDIR/etc"
	echo "deb $(mirror) trixie main" >"$APTDIR/etc/sources.list"
	set -- -o Dir::Etc::SourceList="$APTDIR/etc/sources.list" \
		-o Dir::Etc::SourceParts=/dev/null \
		-o Dir::State::Lists="$APTDIR/lists" \
		-o Dir::Cache="$APTDIR/cache" \
		-o APT::Get::List-Cleanup=0 -o Debug::NoLocking=1 -o APT::Sandbox::User=root -q
	apt-get "$@" update >&2
	(cd "$APTDIR/debs" && apt-get "$@" download $PKGS >&2)
	tmp=$SYSROOT.tmp
	rm -rf "$tmp"
	mkdir -p "$tmp"
	for deb in "$APTDIR"/debs/*.deb; do
		dpkg-deb -x "$deb" "$tmp"
	done
	# trixie is merged-/usr: give the sysroot the top-level links the loader path expects.
	for d in lib lib64 bin sbin; do
		if [ -d "$tmp/usr/$d" ] && [ ! -e "$tmp/$d" ]; then
			ln -s "usr/$d" "$tmp/$d"
		fi
	done
	rm -rf "$SYSROOT"
	mv "$tmp" "$SYSROOT"
}

cmd_prefix() {
	echo "$SYSROOT/lib64/ld-linux-x86-64.so.2" --library-path \
		"$SYSROOT/lib/x86_64-linux-gnu:$SYSROOT/usr/lib/x86_64-linux-gnu" \
		"$SYSROOT/usr/libexec/virtiofsd"
}

case "${1:-}" in
fetch)
	fetch
	;;
path)
	fetch
	cmd_prefix
	;;
run)
	shift
	fetch
	exec "$SYSROOT/lib64/ld-linux-x86-64.so.2" --library-path \
		"$SYSROOT/lib/x86_64-linux-gnu:$SYSROOT/usr/lib/x86_64-linux-gnu" \
		"$SYSROOT/usr/libexec/virtiofsd" "$@"
	;;
*)
	echo "usage: $0 fetch|path|run ARGS..." >&2
	exit 2
	;;
esac
