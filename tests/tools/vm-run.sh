#!/usr/bin/env bash
# vm-run.sh: boot a throw-away guest whose root is the host's / (read-only, QEMU 9p), mount a
# directory served by a vhost-user-fs daemon (vfsd by default) with `mount -t virtiofs`, run one
# host command inside the guest, and power off.
#
#   tests/tools/vm-run.sh [options] -- COMMAND [ARGS...]
#     --vfsd PATH          daemon binary (default: build/vfsd, or $VFSD_DAEMON_CMD if set)
#     --shared-dir DIR     directory to serve over virtiofs (omit: no virtiofs, 9p plumbing only)
#     --tag TAG            virtiofs tag                      (default: vfsd)
#     --mount-point PATH   where the guest mounts it         (default: /run/vfsd/share)
#     --mount-options OPTS mount -o options for virtiofs     (default: none)
#     --results DIR        writable dir shared with the guest at /run/vfsd/results; keeps
#                          guest.log, exit-code, serial.log, daemon.log (default: a temp dir)
#
# COMMAND runs as root inside the guest's chroot of the host root. The guest mounts a tmpfs on
# /tmp: a word of COMMAND that names a file under the host's /tmp is copied into the results
# share and replaced by the copy's guest path (vm_guest_path in tests/vm/lib.sh). Exit status: the command's;
# 0 needs also a clean daemon exit (status 0 after QEMU disconnects); 125 for setup failures.
# Environment: see tests/vm/lib.sh (VFSD_DAEMON_CMD, VFSD_VM_FLAGS, VFSD_VM_SUITE, ...). QEMU 11.1
# and Linux 7 from Debian sid, with the device that has a DAX window:
#   VFSD_VM_QEMU=sid VFSD_VM_SUITE=sid VFSD_VM_FS_DEVICE=test-device \
#   VFSD_VM_FLAGS="--dax-window=64M" tests/tools/vm-run.sh --mount-options dax=always ...
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR/../vm source=lib.sh
. "$here/../vm/lib.sh"

vfsd_bin=""
shared=""
tag=vfsd
mp=/run/vfsd/share
mopts=""
results=""
while [ $# -gt 0 ]; do
	case "$1" in
	--vfsd) vfsd_bin="$2"; shift 2 ;;
	--shared-dir) shared="$2"; shift 2 ;;
	--tag) tag="$2"; shift 2 ;;
	--mount-point) mp="$2"; shift 2 ;;
	--mount-options) mopts="$2"; shift 2 ;;
	--results) results="$2"; shift 2 ;;
	--) shift; break ;;
	-h | --help) sed -n '2,22p' "$0"; exit 0 ;;
	*) echo "vm-run: unknown option $1" >&2; exit 125 ;;
	esac
done
[ $# -gt 0 ] || { echo "vm-run: no command given (see --help)" >&2; exit 125; }

if [ -z "$vfsd_bin" ] && [ -z "${VFSD_DAEMON_CMD:-}" ]; then
	for b in "$VM_REPO_DIR"/build/vfsd "$VM_REPO_DIR"/build*/vfsd; do
		[ -x "$b" ] && vfsd_bin="$b" && break
	done
fi

if [ -z "$results" ]; then
	results=$(mktemp -d "${TMPDIR:-/tmp}/vfsd-vm-results.XXXXXX")
fi
mkdir -p "$results"
results=$(cd "$results" && pwd)
rm -f "$results"/{exit-code,guest.log,init-error,guest.conf,guest-cmd.sh,daemon-status}
work=$(mktemp -d "${TMPDIR:-/tmp}/vfsd-vm-run.XXXXXX")
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	vm_kill_daemons
	rm -rf "$work"
}
trap cleanup EXIT

vm_assets
vm_hostroot_initramfs
vm_log "kernel $VM_KVER, initramfs $VM_INITRD"

# Quote for the guest's /bin/sh (dash): single quotes, with ' as '\''.
sq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
{
	echo "# written by vm-run.sh"
	printf 'cd /\nexec'
	for a in "$@"; do
		case "$(readlink -f "$a" 2>/dev/null || echo "$a")" in
		/tmp/*) if [ -f "$a" ]; then a=$(vm_guest_path "$results" "$a"); fi ;;
		esac
		printf ' %s' "$(sq "$a")"
	done
	printf '\n'
} >"$results/guest-cmd.sh"

qemu_args=()
mapfile -t -O "${#qemu_args[@]}" qemu_args < <(vm_dev_9p / hostroot ro)
mapfile -t -O "${#qemu_args[@]}" qemu_args < <(vm_dev_9p "$results" results rw)
mounts=""
if [ -n "$shared" ]; then
	[ -d "$shared" ] || vm_die "--shared-dir $shared is not a directory"
	shared=$(cd "$shared" && pwd)
	vm_daemon_cmd "$vfsd_bin"
	mapfile -t fs_flags < <(vm_fs_daemon_flags "$tag")
	vm_start_daemon main "$work/vfsd.sock" "$shared" "$results/daemon.log" "${fs_flags[@]}"
	mapfile -t -O "${#qemu_args[@]}" qemu_args < <(vm_dev_virtiofs "$work/vfsd.sock" "$tag" 0)
	mounts="$tag:$mp${mopts:+:$mopts}"
fi
printf 'VIRTIOFS_MOUNTS=%s\n' "$(sq "$mounts")" >"$results/guest.conf"

start=$(date +%s)
vm_qemu "$results/serial.log" "${qemu_args[@]}"
secs=$(($(date +%s) - start))

daemon_ok=1
if [ -n "$shared" ]; then
	vm_stop_daemon main || daemon_ok=0
	echo "$VM_DAEMON_STATUS" >"$results/daemon-status"
fi

rc=125
if [ -f "$results/exit-code" ]; then
	rc=$(tr -dc '0-9' <"$results/exit-code")
	rc=${rc:-125}
fi
vm_log "QEMU exited with $VM_QEMU_RC after ${secs}s; guest command status: $(cat "$results/exit-code" 2>/dev/null || echo 'none (did not run)')"
[ -f "$results/init-error" ] && vm_log "guest init: $(cat "$results/init-error")"
vm_log "results in $results (guest.log, serial.log${shared:+, daemon.log})"
if [ "$rc" = 0 ] && [ "$daemon_ok" = 0 ]; then
	rc=1
fi
exit "$rc"
