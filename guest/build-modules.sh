#!/usr/bin/env bash
# build-modules.sh: the guest side of the vfsd version table for Debian bookworm's Linux 6.1:
# patched fuse.ko and virtiofs.ko (and cuse.ko, which must match fuse.ko's symbol versions),
# built out of tree against Debian's own kernel headers (guest/README.md).
#
#   guest/build-modules.sh [--kver KVER]
#
# For sid's 7.2 kernels (--kver 7.2.13+deb14-amd64) it runs guest/build-fork.sh instead.
#
# KVER defaults to the bookworm guest kernel of the VM tests (tests/tools/vm-assets.sh).
# Downloads with `apt-get download` (never installs) the kernel's linux-headers-KVER,
# linux-headers-ABI-common and linux-kbuild-6.1, and linux-source-6.1 of the same version,
# unpacks them under $VFSD_CACHE/guest-modules (default /var/cache/vfsd-test), copies the
# pristine fs/fuse, adds guest/linux-6.1/{vt.c,vt.h,vt_virtio.c} and include/vfsd/vt_proto.h,
# applies guest/linux-6.1/hooks.patch and runs `make M=...`. Installs the host tools it needs
# (gcc-12, make, patch, xz-utils, libelf1) with apt-get if they are missing.
#
# Prints shell assignments on stdout:
#   GUEST_MODULES_DIR=/.../fuse.ko, virtiofs.ko, cuse.ko   GUEST_MODULES_KVER=KVER
#   GUEST_MODULES_SRC=the linux-source version they were built from
# Idempotent: a build is cached under a key of its inputs; a warm cache needs no network.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
CACHE="${VFSD_CACHE:-/var/cache/vfsd-test}"
top="$CACHE/guest-modules"

prog=build-modules
# shellcheck source-path=SCRIPTDIR source=build-lib.sh
. "$here/build-lib.sh"
bl_start bookworm "$@"
case "$kver" in
6.1.*-*-*) ;;
7.*) exec "$here/build-fork.sh" --kver "$kver" ;; # FUSE built in: the renamed fork
*) die "only Debian's 6.1 and sid's 7.2 kernels are supported (got '$kver'; guest/README.md says why)" ;;
esac
abi="${kver%-*}"      # 6.1.0-57
series="${kver%%.0-*}" # 6.1

# ---------------------------------------------------------------- host tools
need=()
for p in gcc-12 make patch xz-utils binutils libelf1; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
	log "installing host tools: ${need[*]}"
	apt-get update -qq >&2 || die "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2 ||
		die "apt-get install ${need[*]} failed"
fi

# ---------------------------------------------------------------- headers, fs/fuse
bl_versions "linux-headers-$kver" "$series"
hroot="$top/headers-$kver-$ver"
bl_headers "$hroot" "linux-headers-$kver=$ver" "linux-headers-$abi-common=$ver" "linux-kbuild-$series=$ver"
kdir="$hroot/usr/src/linux-headers-$kver"
src="$top/fuse-src-$src_ver"
bl_fuse_src "$src" "$series"

# ---------------------------------------------------------------- build
ours=("$here/linux-6.1/vt.c" "$here/linux-6.1/vt.h" "$here/linux-6.1/vt_virtio.c"
	"$repo/include/vfsd/vt_proto.h")
key=$({
	cat "$here/linux-6.1/hooks.patch" "${ours[@]}"
	echo "$kver $ver $src_ver"
	gcc-12 --version | head -1
} | sha256sum | cut -c1-16)
out="$top/build-$kver-$key"
if [ ! -f "$out/.built" ]; then
	bl_tree "$out" "$src" "${ours[@]}"
	patch -p1 -s --no-backup-if-mismatch -d "$out.tmp" <"$here/linux-6.1/hooks.patch" ||
		die "guest/linux-6.1/hooks.patch does not apply to fs/fuse of linux-source-$series $src_ver"
	log "building in $out (make M=..., gcc-12)"
	t0=$(date +%s)
	make -s -C "$kdir" M="$out.tmp" -j"$(nproc)" modules >"$out.tmp/build.log" 2>&1 || {
		tail -40 "$out.tmp/build.log" >&2
		die "make failed (full log: $out.tmp/build.log)"
	}
	for m in fuse virtiofs cuse; do
		[ -f "$out.tmp/$m.ko" ] || die "make produced no $m.ko"
	done
	mv "$out.tmp" "$out"
	touch "$out/.built"
	log "built in $(($(date +%s) - t0)) s"
fi
bl_prune "$out"
log "modules: $out/{fuse,virtiofs,cuse}.ko (Linux $kver, fs/fuse of linux-source-$series $src_ver)"
printf 'GUEST_MODULES_DIR=%q\nGUEST_MODULES_KVER=%q\nGUEST_MODULES_SRC=%q\n' "$out" "$kver" "$src_ver"
