#!/usr/bin/env bash
# build-modules.sh: the guest side of the vfsd version table for Debian bookworm's Linux 6.1:
# patched fuse.ko and virtiofs.ko (and cuse.ko, which must match fuse.ko's symbol versions),
# built out of tree against Debian's own kernel headers (guest/README.md).
#
#   guest/build-modules.sh [--kver KVER]
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

log() { printf 'build-modules: %s\n' "$*" >&2; }
die() {
	printf 'build-modules: ERROR: %s\n' "$*" >&2
	exit 1
}

kver=""
while [ $# -gt 0 ]; do
	case "$1" in
	--kver) kver="${2:?--kver needs a value}"; shift 2 ;;
	--kver=*) kver="${1#--kver=}"; shift ;;
	-h | --help) sed -n '2,21p' "$0"; exit 0 ;;
	*) die "unknown argument: $1" ;;
	esac
done
if [ -z "$kver" ]; then
	out=$("$repo/tests/tools/vm-assets.sh" --suite bookworm) || die "tests/tools/vm-assets.sh failed"
	kver=$(eval "$out" && echo "$VM_KVER")
fi
case "$kver" in
6.1.*-*-*) ;;
*) die "only Debian's 6.1 kernels are supported (got '$kver'; guest/README.md says why)" ;;
esac
abi="${kver%-*}"      # 6.1.0-57
series="${kver%%.0-*}" # 6.1

mkdir -p "$top"
exec 9>"$top/.lock"
flock 9

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

# ---------------------------------------------------------------- versions
updated=0
pkg_version() { # PACKAGE [VERSION]: VERSION if apt knows it, else the candidate; empty if none
	local v
	if [ -n "${2:-}" ]; then
		apt-cache madison "$1" 2>/dev/null | awk -v want="$2" '$3 == want { print $3; exit }'
	else
		v=$(apt-cache policy "$1" 2>/dev/null | awk '$1 == "Candidate:" { print $2 }')
		[ "$v" = "(none)" ] || echo "$v"
	fi
}
hdr_pkg="linux-headers-$kver"
ver_file="$top/$kver.version"
if [ -s "$ver_file" ]; then
	read -r ver src_ver <"$ver_file"
else
	ver=$(pkg_version "$hdr_pkg")
	if [ -z "$ver" ]; then
		log "apt-get update"
		apt-get update -qq >&2 || die "apt-get update failed"
		updated=1
		ver=$(pkg_version "$hdr_pkg")
	fi
	[ -n "$ver" ] || die "apt knows no $hdr_pkg (is bookworm-security in the sources?)"
	# The source the kernel was built from has the same version; if the archive no longer has
	# it, the newest one of the series is the closest (a warning, not an error).
	src_ver=$(pkg_version "linux-source-$series" "$ver")
	if [ -z "$src_ver" ]; then
		src_ver=$(pkg_version "linux-source-$series")
		[ -n "$src_ver" ] || die "apt knows no linux-source-$series"
		log "WARNING: linux-source-$series $ver is gone from the archive; using $src_ver"
	fi
	echo "$ver $src_ver" >"$ver_file"
fi

download() { # DIR PACKAGE=VERSION...: apt-get download into DIR (retrying after an update)
	local dir="$1"
	shift
	mkdir -p "$dir"
	(cd "$dir" && apt-get download "$@" >&2) && return 0
	[ "$updated" = 1 ] && return 1
	log "apt-get update (download failed)"
	apt-get update -qq >&2 || return 1
	updated=1
	(cd "$dir" && apt-get download "$@" >&2)
}

# ---------------------------------------------------------------- headers (private root)
hroot="$top/headers-$kver-$ver"
if [ ! -f "$hroot/.unpacked" ]; then
	dl="$top/download"
	rm -rf "$hroot" "$dl"
	log "downloading the headers of $kver ($ver)"
	download "$dl" "$hdr_pkg=$ver" "linux-headers-$abi-common=$ver" "linux-kbuild-$series=$ver" ||
		die "apt-get download of the $kver headers failed"
	mkdir -p "$hroot.tmp"
	for deb in "$dl"/*.deb; do
		dpkg-deb -x "$deb" "$hroot.tmp" || die "dpkg-deb -x $deb failed"
	done
	rm -rf "$dl"
	# The flavour's Makefile includes the common tree by absolute path (/usr/src/...): point it
	# at the private copy; the other links in the tree are relative.
	mk="$hroot.tmp/usr/src/linux-headers-$kver/Makefile"
	[ -f "$mk" ] || die "no $mk in the headers package"
	sed -i "s|^include /usr/src/|include $hroot/usr/src/|" "$mk"
	grep -q "^include $hroot/" "$mk" || die "unexpected $mk: $(head -3 "$mk")"
	mv "$hroot.tmp" "$hroot"
	touch "$hroot/.unpacked"
fi
kdir="$hroot/usr/src/linux-headers-$kver"

# ---------------------------------------------------------------- fs/fuse from linux-source
src="$top/fuse-src-$src_ver"
if [ ! -f "$src/.unpacked" ]; then
	dl="$top/download-src"
	rm -rf "$src" "$dl"
	log "downloading linux-source-$series $src_ver (~140 MB)"
	download "$dl" "linux-source-$series=$src_ver" || die "apt-get download linux-source-$series=$src_ver failed"
	mkdir -p "$src.tmp"
	dpkg-deb --fsys-tarfile "$dl"/linux-source-"$series"_*.deb |
		tar -xO "./usr/src/linux-source-$series.tar.xz" |
		tar -xJ -C "$src.tmp" --strip-components=3 "linux-source-$series/fs/fuse" ||
		die "cannot unpack fs/fuse from linux-source-$series"
	[ -f "$src.tmp/fuse_i.h" ] || die "no fs/fuse/fuse_i.h in linux-source-$series $src_ver"
	rm -rf "$dl"
	mv "$src.tmp" "$src"
	touch "$src/.unpacked"
fi

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
	rm -rf "$out" "$out.tmp"
	cp -a "$src" "$out.tmp"
	rm -f "$out.tmp/.unpacked"
	cp "${ours[@]}" "$out.tmp/"
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
	# Older builds of the same kernel are removed only after a day unused: the cache is shared
	# by every checkout on the machine, and another one's test may be booting its build now.
	for old in "$top/build-$kver-"*; do
		[ "$old" != "$out" ] && [ -f "$old/.built" ] || continue
		[ -z "$(find "$old/.built" -mmin -1440)" ] || continue
		rm -rf "$old"
	done
fi
touch "$out/.built" # in use: kept for a day at least (above)
log "modules: $out/{fuse,virtiofs,cuse}.ko (Linux $kver, fs/fuse of linux-source-$series $src_ver)"
printf 'GUEST_MODULES_DIR=%q\nGUEST_MODULES_KVER=%q\nGUEST_MODULES_SRC=%q\n' "$out" "$kver" "$src_ver"
