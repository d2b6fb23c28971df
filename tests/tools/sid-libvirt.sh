#!/usr/bin/env bash
# sid-libvirt.sh: libvirt 12.x in the Debian sid chroot of sid-qemu.sh, for the tests that need
# a newer libvirt than bookworm's 9.0 (tests/libvirt/run-libvirt-sid.sh: <readonly/>,
# <openfiles>, the separate-options command line, virsh save/restore, session mode with
# <idmap>, which libvirt >= 10 turns into --uid-map/--gid-map).
#
#   tests/tools/sid-libvirt.sh
#
# Builds the chroot if needed (sid-qemu.sh), then, once, installs with apt-get in it
#   libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients   (libvirtd, virtlogd, virsh)
#   uidmap                       (newuidmap/newgidmap, which vfsd runs for --uid-map as a user)
#   libseccomp2 libcap-ng0       (vfsd's libraries: the tests run the bookworm build in there)
# holding $VFSD_CACHE/sid-root.lock (as sid-qemu.sh does), through sid-chroot-apt.sh (nothing
# stays mounted). Not libvirt-daemon-system: no daemon is started or enabled; the tests
# start their own. About 1 min and 100 MB the first time; later calls do no network access.
# Prints shell assignments for eval: SID_ROOT=DIR SID_LIBVIRT_VERSION=12.8.0
# Exit status 1 (message on stderr) when it cannot be done, e.g. no mirror.
set -euo pipefail

CACHE="${VFSD_CACHE:-/var/cache/vfsd-test}"
ROOT="$CACHE/sid-root"
PKGS=(libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients uidmap libseccomp2 libcap-ng0)
HERE=$(cd "$(dirname "$0")" && pwd)

log() { printf 'sid-libvirt: %s\n' "$*" >&2; }
die() {
	printf 'sid-libvirt: ERROR: %s\n' "$*" >&2
	exit 1
}

"$HERE/sid-qemu.sh" >/dev/null || die "no sid chroot (tests/tools/sid-qemu.sh failed)"
exec 9>"$CACHE/sid-root.lock"
flock 9

print_env() {
	local v
	v=$(chroot "$ROOT" dpkg-query -W -f='${Version}' libvirt-daemon 2>/dev/null) || return 1
	[ -x "$ROOT/usr/sbin/libvirtd" ] && [ -x "$ROOT/usr/bin/newuidmap" ] || return 1
	printf 'SID_ROOT=%q\nSID_LIBVIRT_VERSION=%q\n' "$ROOT" "${v%%-*}"
}

if [ -f "$ROOT/.vfsd-libvirt-ready" ] && print_env; then
	exit 0
fi
start=$(date +%s)
log "apt-get install ${PKGS[*]} (in $ROOT)"
"$HERE/sid-chroot-apt.sh" "$ROOT" "$CACHE/sid-libvirt-apt.log" "${PKGS[@]}" || {
	tail -5 "$CACHE/sid-libvirt-apt.log" >&2
	die "apt-get install in the chroot failed (log: $CACHE/sid-libvirt-apt.log)"
}
print_env >/dev/null || die "libvirt is not usable in $ROOT after apt-get"
date -u +%FT%TZ >"$ROOT/.vfsd-libvirt-ready"
log "libvirt installed in $(($(date +%s) - start)) s"
print_env
