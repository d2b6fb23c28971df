#!/usr/bin/env bash
# vm-assets.sh: make sure everything a test guest needs is on this machine.
#
#   tests/tools/vm-assets.sh [--suite bookworm|trixie|sid] [--no-install]
#
# - installs the host tools the VM scripts use (qemu-system-x86, busybox-static, cpio, ...)
#   with apt-get, only those that are missing;
# - downloads the Debian guest kernel package that `linux-image-amd64` depends on
#   (`apt-get download`, never installed) and unpacks it with `dpkg-deb -x` under
#   $VFSD_CACHE (default /var/cache/vfsd-test);
# - prints shell assignments on stdout, for `eval "$(tests/tools/vm-assets.sh)"`:
#     VM_KERNEL=/.../boot/vmlinuz-X   VM_MODULES=/.../lib/modules/X   VM_KVER=X   VM_KPKG=...
#
# The default suite is the host's own (bookworm). --suite trixie|sid uses a private apt state
# under the cache so the host's apt sources and lists are never touched.
# Everything is idempotent: a second run with a warm cache does no network access.
set -euo pipefail

suite=bookworm
do_install=1
while [ $# -gt 0 ]; do
	case "$1" in
	--suite) suite="${2:?--suite needs a value}"; shift 2 ;;
	--suite=*) suite="${1#--suite=}"; shift ;;
	--no-install) do_install=0; shift ;;
	-h | --help) sed -n '2,16p' "$0"; exit 0 ;;
	*) echo "vm-assets: unknown argument: $1" >&2; exit 2 ;;
	esac
done
case "$suite" in
bookworm | trixie | sid) ;;
*) echo "vm-assets: unsupported suite '$suite' (bookworm, trixie, sid)" >&2; exit 2 ;;
esac

CACHE="${VFSD_CACHE:-/var/cache/vfsd-test}"
log() { printf 'vm-assets: %s\n' "$*" >&2; }
die() { printf 'vm-assets: ERROR: %s\n' "$*" >&2; exit 1; }

mkdir -p "$CACHE" || die "cannot create cache dir $CACHE"

# ---------------------------------------------------------------- host tools
apt_updated=0
apt_update_once() {
	if [ "$apt_updated" = 0 ]; then
		log "apt-get update"
		apt-get update -qq >&2 || die "apt-get update failed"
		apt_updated=1
	fi
}

# command -> package that provides it
need_pkgs=()
check_cmd() { command -v "$1" >/dev/null 2>&1 || need_pkgs+=("$2"); }
check_cmd qemu-system-x86_64 qemu-system-x86
check_cmd cpio cpio
check_cmd dpkg-deb dpkg
check_cmd getfattr attr
check_cmd python3 python3
check_cmd depmod kmod # the kernel package ships no modules.dep: we generate it
# The initramfs needs a statically linked busybox (Debian's busybox-static: /bin/busybox).
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed' ||
	need_pkgs+=(busybox-static)
# vhost-user-fs-pci lives in qemu-system-x86 since Debian 11; the 9p device in qemu itself.

if [ "${#need_pkgs[@]}" -gt 0 ]; then
	if [ "$do_install" = 1 ]; then
		apt_update_once
		log "installing: ${need_pkgs[*]}"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			"${need_pkgs[@]}" >&2 || die "apt-get install ${need_pkgs[*]} failed"
	else
		die "missing packages (and --no-install given): ${need_pkgs[*]}"
	fi
fi

# ---------------------------------------------------------------- apt for the guest kernel
apt_opts=()
if [ "$suite" != bookworm ]; then
	# A private apt state for a newer suite: own sources, lists and archive cache.
	st="$CACHE/apt-$suite"
	mkdir -p "$st/lists/partial" "$st/cache/archives/partial" "$st/etc"
	mirror=$(grep -hoE 'https?://[^ ]*/debian/?$|https?://[^ ]*/debian ' \
		/etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
		head -1 | tr -d ' ' || true)
	mirror="${mirror:-http://deb.debian.org/debian}"
	printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' \
		"${mirror%/}" "$suite" >"$st/etc/sources.list"
	apt_opts=(-o "Dir::Etc::SourceList=$st/etc/sources.list"
		-o "Dir::Etc::SourceParts=/dev/null"
		-o "Dir::State::Lists=$st/lists"
		-o "Dir::Cache=$st/cache"
		-o "APT::Architecture=amd64")
	private_updated=0
	apt_update_once() {
		if [ "$private_updated" = 0 ]; then
			log "apt-get update (private state for $suite)"
			apt-get "${apt_opts[@]}" update -qq >&2 || die "apt-get update for $suite failed"
			private_updated=1
		fi
	}
fi

resolve_kpkg() {
	apt-cache "${apt_opts[@]}" depends linux-image-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }'
}
# kernel_debs KPKG: KPKG and, where it is only a meta package (sid, from Linux 7: vmlinuz is in
# linux-binary-X, the config in linux-base-X, the modules in linux-modules-X), those parts.
kernel_debs() {
	echo "$1"
	apt-cache "${apt_opts[@]}" depends "$1" 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-(binary|base|modules)-[0-9]/ { print $2 }'
}
# find_vmlinuz DIR: the kernel image of an unpacked kernel: boot/vmlinuz-X (up to trixie) or
# usr/lib/modules/X/vmlinuz (sid's linux-binary-X).
find_vmlinuz() {
	local f
	for f in "$1"/boot/vmlinuz-* "$1"/usr/lib/modules/*/vmlinuz "$1"/lib/modules/*/vmlinuz; do
		[ -r "$f" ] && echo "$f" && return 0
	done
	return 1
}

pin_file="$CACHE/kernel-$suite.name"
kpkg=""
# With a warm cache and a fresh enough pin, keep the same kernel (no network).
if [ -s "$pin_file" ] && [ -z "${VFSD_VM_REFRESH:-}" ]; then
	kpkg=$(cat "$pin_file")
	[ -f "$CACHE/kernel/$kpkg/.unpacked" ] && find_vmlinuz "$CACHE/kernel/$kpkg" >/dev/null ||
		kpkg=""
fi
if [ -z "$kpkg" ]; then
	kpkg=$(resolve_kpkg || true)
	if [ -z "$kpkg" ]; then
		apt_update_once
		kpkg=$(resolve_kpkg || true)
	fi
	[ -n "$kpkg" ] || die "cannot resolve the kernel package that linux-image-amd64 ($suite) depends on"
fi

kdir="$CACHE/kernel/$kpkg"
if [ ! -f "$kdir/.unpacked" ] || ! find_vmlinuz "$kdir" >/dev/null; then
	dl="$CACHE/download"
	mkdir -p "$dl"
	mapfile -t debs < <(kernel_debs "$kpkg")
	for p in "${debs[@]}"; do rm -f "$dl/${p}"_*.deb; done
	log "downloading ${debs[*]} ($suite)"
	if ! (cd "$dl" && apt-get "${apt_opts[@]}" download "${debs[@]}" >&2); then
		# A stale package list can name a version the mirror no longer has.
		apt_updated=0
		apt_update_once
		kpkg=$(resolve_kpkg || true)
		[ -n "$kpkg" ] || die "cannot resolve the kernel package after apt-get update"
		kdir="$CACHE/kernel/$kpkg"
		mapfile -t debs < <(kernel_debs "$kpkg")
		(cd "$dl" && apt-get "${apt_opts[@]}" download "${debs[@]}" >&2) ||
			die "apt-get download ${debs[*]} failed"
	fi
	rm -rf "$kdir.tmp"
	mkdir -p "$kdir.tmp"
	for p in "${debs[@]}"; do
		files=("$dl/${p}"_*.deb)
		deb="${files[0]}"
		[ -f "$deb" ] || die "download of $p produced no .deb"
		log "unpacking $(basename "$deb")"
		dpkg-deb -x "$deb" "$kdir.tmp" || die "dpkg-deb -x $deb failed"
		rm -f "$deb"
	done
	find_vmlinuz "$kdir.tmp" >/dev/null || die "no vmlinuz in ${debs[*]}"
	rm -rf "$kdir"
	mv "$kdir.tmp" "$kdir"
	touch "$kdir/.unpacked"
fi
printf '%s\n' "$kpkg" >"$pin_file"

vmlinuz=$(find_vmlinuz "$kdir") || die "no boot/vmlinuz-* or lib/modules/*/vmlinuz in $kdir"
case "$vmlinuz" in
*/boot/vmlinuz-*) kver="${vmlinuz##*/vmlinuz-}" ;;
*) kver="${vmlinuz%/vmlinuz}" && kver="${kver##*/}" ;;
esac
moddir=""
for d in "$kdir/lib/modules/$kver" "$kdir/usr/lib/modules/$kver"; do
	[ -d "$d" ] && moddir="$d" && break
done
[ -n "$moddir" ] || die "no lib/modules/$kver in $kdir"
# modules.dep is normally shipped; generate it if this package does not have it.
if [ ! -s "$moddir/modules.dep" ]; then
	command -v depmod >/dev/null 2>&1 || die "$moddir/modules.dep missing and no depmod (kmod)"
	log "generating modules.dep (depmod -b)"
	base="${moddir%/lib/modules/"$kver"}"
	depmod -b "$base" "$kver" || die "depmod failed"
fi

log "kernel $kver ($kpkg, $suite): $vmlinuz"
printf 'VM_KERNEL=%q\nVM_MODULES=%q\nVM_KVER=%q\nVM_KPKG=%q\nVM_SUITE=%q\n' \
	"$vmlinuz" "$moddir" "$kver" "$kpkg" "$suite"
