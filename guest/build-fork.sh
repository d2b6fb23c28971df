#!/usr/bin/env bash
# build-fork.sh: the guest side of the vfsd version table for Debian sid's Linux 7.2, whose
# FUSE and virtio-fs are built in (CONFIG_FUSE_FS=y, CONFIG_VIRTIO_FS=y): one module,
# virtiofs_vt.ko, holding sid's own fs/fuse (FUSE core and virtio-fs driver) under another name
# (guest/linux-7.2/fork.h), built out of tree in the sid chroot (guest/README.md).
#
#   guest/build-fork.sh [--kver KVER]        (guest/build-modules.sh --kver 7.* runs it too)
#
# KVER defaults to the sid guest kernel of the VM tests (tests/tools/vm-assets.sh --suite sid).
# In the sid chroot of tests/tools/sid-qemu.sh (built if missing), holding its lock for apt:
# `apt-get download` (never installed) of linux-headers-KVER, linux-headers-ABI-common,
# linux-kbuild-ABI and linux-source-SERIES of the headers' version, unpacked under
# $VFSD_CACHE/guest-modules (default /var/cache/vfsd-test; only fs/fuse of the source is kept);
# the compiler the headers name (.kernelvariables: gcc-16 for 7.2) and make, binutils, pahole
# are installed into the chroot if missing. The build copies the pristine fs/fuse, adds
# guest/linux-7.2/{Kbuild,fork.c,fork.h}, the version table's guest/linux-6.1/{vt.c,vt.h,
# vt_virtio.c} and include/vfsd/vt_proto.h, applies guest/linux-7.2/hooks.patch and runs
# `make M=...` in the chroot, the cache bound at its own path inside it (a private mount
# namespace: nothing stays mounted).
#
# Prints shell assignments on stdout, as build-modules.sh does:
#   GUEST_MODULES_DIR=/.../virtiofs_vt.ko   GUEST_MODULES_KVER=KVER
#   GUEST_MODULES_SRC=the linux-source version it was built from
# Idempotent: a build is cached under a key of its inputs; a warm cache needs no network.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
CACHE="${VFSD_CACHE:-/var/cache/vfsd-test}"
top="$CACHE/guest-modules"
fork="$here/linux-7.2"

prog=build-fork
# shellcheck source-path=SCRIPTDIR source=build-lib.sh
. "$here/build-lib.sh"
bl_start sid "$@"
case "$kver" in
7.2.*-amd64) ;;
*) die "only sid's 7.2 kernels are supported (got '$kver'; guest/README.md says why)" ;;
esac
abi="${kver%-amd64}"                     # 7.2.13+deb14
series=$(echo "$kver" | cut -d. -f1,2) # 7.2

out=$("$repo/tests/tools/sid-qemu.sh") || die "no sid chroot (tests/tools/sid-qemu.sh failed)"
root=$(eval "$out" && echo "$SID_ROOT")
rlock="$root.lock"

# in_chroot CMD...: CMD in the sid chroot, with /proc and the cache (at its own path) mounted in
# a private mount namespace.
in_chroot() {
	mkdir -p "$root$top"
	unshare --mount --propagation private sh -ec '
		r=$1 top=$2
		shift 2
		mount -t proc proc "$r/proc"
		mount --bind "$top" "$r$top"
		exec chroot "$r" env LC_ALL=C.UTF-8 "$@"
	' in-chroot "$root" "$top" "$@"
}
# in_chroot_locked CMD...: in_chroot under the chroot's lock (for apt: another checkout's
# sid-qemu.sh or sid-libvirt.sh may run apt-get there).
in_chroot_locked() {
	(
		exec 8>"$rlock"
		flock 8
		in_chroot "$@"
	)
}

bl_apt_run() { in_chroot_locked "$@"; }

# ---------------------------------------------------------------- headers
bl_versions "linux-headers-$kver" "$series"
hroot="$top/headers-$kver-$ver"
bl_headers "$hroot" "linux-headers-$kver=$ver" "linux-headers-$abi-common=$ver" "linux-kbuild-$abi=$ver"
kdir="$hroot/usr/src/linux-headers-$kver"

# ---------------------------------------------------------------- chroot tools
# The compiler the kernel was built with, as its headers name it (CC = ... gcc-16).
cc=$(sed -n 's/^CC = .*\(gcc-[0-9][0-9]*\)$/\1/p' "$kdir/.kernelvariables")
[ -n "$cc" ] || die "no compiler in $kdir/.kernelvariables"
need=()
for p in "$cc" make binutils pahole libelf1t64 libssl3t64 zlib1g; do
	in_chroot dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
	log "installing into the sid chroot: ${need[*]}"
	(
		exec 8>"$rlock"
		flock 8
		"$repo/tests/tools/sid-chroot-apt.sh" "$root" "$top/sid-chroot-apt.log" "${need[@]}"
	) || die "apt-get install ${need[*]} in the chroot failed (log: $top/sid-chroot-apt.log)"
fi

src="$top/fuse-src-$src_ver"
bl_fuse_src "$src" "$series"

# ---------------------------------------------------------------- build
# The version table's client code is 6.1's (guest/linux-6.1), shared: the hooks differ.
ours=("$fork/Kbuild" "$fork/fork.c" "$fork/fork.h" "$here/linux-6.1/vt.c" "$here/linux-6.1/vt.h"
	"$here/linux-6.1/vt_virtio.c" "$repo/include/vfsd/vt_proto.h")
key=$({
	cat "$fork/hooks.patch" "${ours[@]}"
	echo "$kver $ver $src_ver"
	in_chroot "$cc" --version | head -1
} | sha256sum | cut -c1-16)
out="$top/build-$kver-$key"
if [ ! -f "$out/.built" ]; then
	bl_tree "$out" "$src" "${ours[@]}"
	patch -p1 -s --no-backup-if-mismatch -d "$out.tmp" <"$fork/hooks.patch" ||
		die "guest/linux-7.2/hooks.patch does not apply to fs/fuse of linux-source-$series $src_ver"
	log "building in $out (make M=... in the sid chroot, $cc)"
	t0=$(date +%s)
	in_chroot make -s -C "$kdir" M="$out.tmp" -j"$(nproc)" modules >"$out.tmp/build.log" 2>&1 || {
		tail -40 "$out.tmp/build.log" >&2
		die "make failed (full log: $out.tmp/build.log)"
	}
	[ -f "$out.tmp/virtiofs_vt.ko" ] || die "make produced no virtiofs_vt.ko"
	if grep -q -i -E 'warning|error' "$out.tmp/build.log"; then
		grep -i -E 'warning|error' "$out.tmp/build.log" | head -20 >&2
		die "the build warned (full log: $out.tmp/build.log)"
	fi
	# Only the module is kept: the objects are 90% of the tree.
	find "$out.tmp" -name '*.o' -delete
	mv "$out.tmp" "$out"
	touch "$out/.built"
	log "built in $(($(date +%s) - t0)) s"
fi
bl_prune "$out"
log "module: $out/virtiofs_vt.ko (Linux $kver, fs/fuse of linux-source-$series $src_ver)"
printf 'GUEST_MODULES_DIR=%q\nGUEST_MODULES_KVER=%q\nGUEST_MODULES_SRC=%q\n' "$out" "$kver" "$src_ver"
