#!/usr/bin/env bash
# sid-qemu.sh: a Debian sid chroot with QEMU 11.1 (qemu-system-x86), for the tests that need a
# newer QEMU than the host's bookworm 7.2: the vhost-user SHMEM window (virtio-fs DAX) only
# exists in QEMU >= 11.1, on `vhost-user-test-device-pci` (../shared/research/qemu-dax.md).
#
#   tests/tools/sid-qemu.sh [--refresh]
#
# Builds, once, ${VFSD_CACHE:-/var/cache/vfsd-test}/sid-root:
#   debootstrap --variant=minbase sid DIR MIRROR   (MIRROR: the host's debian.sources URIs,
#                                                   or $VFSD_SID_MIRROR)
#   apt-get install --no-install-recommends qemu-system-x86   (in the chroot)
# debootstrap is installed on the host with apt-get if missing. debootstrap and apt run in a
# private mount namespace (unshare -m): /proc, /sys and /dev are mounted into the chroot only
# there and vanish with it, so nothing stays mounted and the directory can always be deleted.
# The chroot is built in DIR.tmp and renamed when QEMU runs; a later call does no network
# access (--refresh or VFSD_SID_REFRESH=1 rebuilds it). About 1-2 min and 0.5 GB.
#
# QEMU is not run through chroot(2): the chroot's binary runs directly on the host through the
# chroot's own dynamic loader and libraries, so every host path (sockets, kernel, initramfs,
# shared directories, memfds) works unchanged. The wrapper $SID_QEMU does
#   QEMU_MODULE_DIR=DIR/usr/lib/x86_64-linux-gnu/qemu \
#   DIR/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 --library-path DIR/usr/lib/x86_64-linux-gnu \
#     DIR/usr/bin/qemu-system-x86_64 -L DIR/usr/share/qemu -L DIR/usr/share/seabios ... "$@"
# (-L first: the host's own /usr/share/qemu holds 7.2's ROMs; absolute symlinks in the chroot's
# firmware directories are resolved inside the chroot, see fix_symlinks below).
#
# Prints shell assignments on stdout, for `eval "$(tests/tools/sid-qemu.sh)"`:
#   SID_ROOT=DIR  SID_QEMU=DIR/vfsd/qemu-system-x86_64  SID_QEMU_VERSION=11.1.3
# Exit status 1 (message on stderr) when the chroot cannot be built, e.g. no mirror.
set -euo pipefail

CACHE="${VFSD_CACHE:-/var/cache/vfsd-test}"
ROOT="$CACHE/sid-root"
QEMU_PKGS=(qemu-system-x86)
MIN_QEMU=11.1

log() { printf 'sid-qemu: %s\n' "$*" >&2; }
die() {
	printf 'sid-qemu: ERROR: %s\n' "$*" >&2
	exit 1
}

refresh="${VFSD_SID_REFRESH:-}"
case "${1:-}" in
"") ;;
--refresh) refresh=1 ;;
-h | --help) sed -n '2,30p' "$0" && exit 0 ;;
*) die "unknown argument $1" ;;
esac

mkdir -p "$CACHE" || die "cannot create $CACHE"
exec 9>"$CACHE/sid-root.lock"
flock 9

wrapper="$ROOT/vfsd/qemu-system-x86_64"

# print_env: the assignments for eval, after checking the QEMU runs and is new enough.
print_env() {
	local v
	v=$("$wrapper" --version 2>&1 | sed -n 's/^QEMU emulator version \([0-9.]*\).*/\1/p') ||
		true
	[ -n "$v" ] || return 1
	[ "$(printf '%s\n%s\n' "$MIN_QEMU" "$v" | sort -V | head -1)" = "$MIN_QEMU" ] || {
		log "QEMU $v in $ROOT is older than $MIN_QEMU"
		return 1
	}
	printf 'SID_ROOT=%q\nSID_QEMU=%q\nSID_QEMU_VERSION=%q\n' "$ROOT" "$wrapper" "$v"
}

if [ -z "$refresh" ] && [ -f "$ROOT/.vfsd-ready" ] && print_env; then
	exit 0
fi

# mounted_under DIR: true if anything is mounted at or below DIR (in this mount namespace).
mounted_under() {
	awk -v d="$1" '$5 == d || index($5, d "/") == 1 { found = 1 } END { exit !found }' \
		/proc/self/mountinfo
}
# remove_tree DIR: rm -rf, but never through a mount point (e.g. a bind of the host's /dev).
remove_tree() {
	[ -e "$1" ] || return 0
	mounted_under "$1" && die "something is mounted under $1: unmount it, then retry"
	rm -rf "$1"
}

# mirror: the first http(s) URI of the host's Debian sources that is not the security archive.
mirror=${VFSD_SID_MIRROR:-}
[ -n "$mirror" ] || mirror=$(
	{
		awk '$1 == "URIs:" { for (i = 2; i <= NF; i++) print $i }' \
			/etc/apt/sources.list.d/*.sources 2>/dev/null
		awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }' \
			/etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null
	} | grep -E '^https?://' | grep -v -- '-security' | head -1
) || true
[ -n "$mirror" ] || die "no Debian mirror in /etc/apt/sources.list.d/*.sources or sources.list"

if ! command -v debootstrap >/dev/null 2>&1; then
	log "installing debootstrap"
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends debootstrap; } >&2 || die "apt-get install debootstrap failed"
fi

tmp="$ROOT.tmp"
remove_tree "$tmp"
# failed WHAT LOG: the end of LOG on stderr, the half-built tree removed, and die.
failed() {
	tail -5 "$2" >&2
	remove_tree "$tmp"
	die "$1 failed: $(grep -E '^(E|W): ' "$2" | tail -1) (log: $2)"
}
start=$(date +%s)
log "debootstrap --variant=minbase sid $tmp $mirror"
unshare --mount --propagation private \
	debootstrap --variant=minbase sid "$tmp" "$mirror" >"$CACHE/sid-debootstrap.log" 2>&1 ||
	failed "debootstrap from $mirror" "$CACHE/sid-debootstrap.log"

# The mirror may be a snapshot whose Release is past its Valid-Until date.
printf 'Acquire::Check-Valid-Until "false";\nAPT::Install-Recommends "false";\n' \
	>"$tmp/etc/apt/apt.conf.d/99vfsd"
printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
chmod 0755 "$tmp/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$tmp/etc/resolv.conf" 2>/dev/null || true

log "apt-get install ${QEMU_PKGS[*]} (in the chroot)"
"$(dirname "$0")/sid-chroot-apt.sh" "$tmp" "$CACHE/sid-apt.log" "${QEMU_PKGS[@]}" ||
	failed "apt-get install ${QEMU_PKGS[*]} in the chroot" "$CACHE/sid-apt.log"
mounted_under "$tmp" && die "$tmp still has mounts after apt (should not happen)"

# fix_symlinks DIR...: absolute symlinks (e.g. /usr/share/qemu/bios.bin -> /usr/share/seabios/
# bios.bin) would resolve on the host; point them into the chroot instead.
fix_symlinks() {
	local l t
	while IFS= read -r -d '' l; do
		t=$(readlink "$l")
		case "$t" in /*) ln -sfn "$ROOT$t" "$l" ;; esac
	done < <(find "$@" -type l -print0 2>/dev/null)
}
# (the links name $ROOT, where the tree will be once renamed)
fix_symlinks "$tmp/usr/share/qemu" "$tmp/usr/share/seabios" "$tmp/usr/lib/ipxe" \
	"$tmp/usr/share/ipxe"

mkdir -p "$tmp/vfsd"
cat >"$tmp/vfsd/qemu-system-x86_64" <<EOF
#!/bin/sh
# Runs the sid chroot's QEMU on the host (written by tests/tools/sid-qemu.sh).
R=$(printf '%q' "$ROOT")
L=\$R/usr/lib/x86_64-linux-gnu
QEMU_MODULE_DIR=\$L/qemu exec "\$L/ld-linux-x86-64.so.2" --library-path "\$L" \\
	"\$R/usr/bin/qemu-system-x86_64" -L "\$R/usr/share/qemu" -L "\$R/usr/share/seabios" "\$@"
EOF
chmod 0755 "$tmp/vfsd/qemu-system-x86_64"

remove_tree "$ROOT"
mv "$tmp" "$ROOT"
print_env >/dev/null || {
	"$wrapper" --version >&2 || true
	die "the chroot's QEMU does not run on the host (or is older than $MIN_QEMU)"
}
date -u +%FT%TZ >"$ROOT/.vfsd-ready"
log "sid chroot ready in $(($(date +%s) - start)) s: $ROOT ($(du -sh "$ROOT" | cut -f1))"
print_env
