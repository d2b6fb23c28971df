#!/usr/bin/env bash
# run-vm-dax.sh: virtio-fs DAX in a real guest (meson test 'vm-dax', suite 'vm', TAP on stdout).
#
#   tests/vm/run-vm-dax.sh VFSD_BINARY GUEST_DAX_TEST_BINARY
#
# The DAX window needs QEMU >= 11.1 and its vhost-user-test-device-pci (vhost-user-fs-pci has no
# shared memory region; ../shared/research/qemu-dax.md): QEMU comes from a Debian sid chroot
# (tests/tools/sid-qemu.sh, built on first use, ~1-2 min) and runs on the host, the guest kernel
# is sid's (Linux 7, virtiofs and FUSE_DAX built in), booted with iomem=relaxed so that the
# checker can read and write the window itself through sysfs. Two daemons:
#   vfsdax  the share, --dax-window=$VFSD_DAX_WINDOW (default 8M: smaller than big.bin, so the
#           guest reclaims window chunks) plus $VFSD_DAX_FLAGS;
#   vfsro   a second share, --readonly with a 4M window.
# In one guest boot, GUEST_DAX_TEST_BINARY (tests/vm/guest_dax_test.c) checks:
#   - mount -o dax=always: the option in /proc/mounts, STATX_ATTR_DAX, a 24 MiB file read with
#     read() and mmap through the 8 MiB window, its pages found in the window (PCI BAR 4),
#     mmap(MAP_SHARED) writes, two processes seeing each other's writes, drop_caches (the guest
#     unmaps) and reading again; immut.bin (chattr +i on the host) never writable, and its
#     bytes or an error when read;
#   - remounted -o dax=inode: 33-byte, 12388-byte (partial last page), 8 KiB and big files read
#     and written (pwrite, mmap), new files, drop_caches; immut.bin read correctly (the daemon
#     must not mark a file it cannot map) and never writable;
#   - the --readonly share mounted -o dax=always (or without DAX if the daemon offers no window):
#     ro.bin cannot be opened or mapped for writing, and raw writes over that device's whole
#     window do not reach the host.
# On the host afterwards: every byte the guest wrote (and nothing else) is in the files, ro.bin
# and immut.bin are unchanged, both daemons exit 0, and each daemon session logged a line
# "dax: N maps, M unmaps" with N > 0 and M > 0 for the share.
# SKIPs (1..0) only when the sid chroot cannot be built (no Debian mirror); anything else that
# goes wrong is a failure. Set VFSD_VM_KEEP=1 to keep the work directory.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if [ $# -ne 2 ]; then
	echo "usage: $0 VFSD_BINARY GUEST_DAX_TEST_BINARY" >&2
	exit 2
fi
vfsd_bin=$1 checker=$(readlink -f "$2") window=${VFSD_DAX_WINDOW:-8M}


say() { printf '[vm-dax] %s\n' "$*" >&2; }
base=""
dax_summary="not measured"
finished=0
finish() {
	finished=1
	[ -z "$base" ] || chattr -i "$base/share/immut.bin" 2>/dev/null || true
	vm_finish vm-dax "$base" "DAX:         --dax-window=$window ${VFSD_DAX_FLAGS:-}" \
		"QEMU:        ${SID_QEMU_VERSION:-?} (sid chroot), kernel ${VM_KVER:-?}" \
		"daemon dax:  $dax_summary"
}

# 1. QEMU 11.1: the only reason to skip
sid_err=$(mktemp "${TMPDIR:-/tmp}/vfsd-sid-qemu.XXXXXX")
if ! sid_out=$("$VM_REPO_DIR/tests/tools/sid-qemu.sh" 2>"$sid_err"); then
	cat "$sid_err" >&2
	why=$(grep 'ERROR' "$sid_err" | tail -1 | sed 's/^sid-qemu: ERROR: //')
	rm -f "$sid_err"
	echo "1..0 # SKIP QEMU 11.1 unavailable: the Debian sid chroot cannot be built (${why:-see stderr})"
	exit 0
fi
cat "$sid_err" >&2
rm -f "$sid_err"
eval "$sid_out"
tap ok "QEMU $SID_QEMU_VERSION from the Debian sid chroot ($SID_ROOT)"

export VFSD_VM_QEMU="$SID_QEMU" VFSD_VM_SUITE=sid VFSD_VM_FS_DEVICE=test-device
export VFSD_VM_APPEND="iomem=relaxed ${VFSD_VM_APPEND:-}" VFSD_VM_MEM="${VFSD_VM_MEM:-1G}"
# A TCG run takes 1-2 minutes: a guest still running after 5 is hung.
export VFSD_VM_TIMEOUT="${VFSD_VM_TIMEOUT:-300}"
vm_accel
echo "# accelerator: $VM_ACCEL_NAME"

# 2. the sid guest kernel: fail, never skip
vm_assets_tap || finish
[ -x "$checker" ] || {
	tap not-ok "guest checker" "$checker is not executable"
	finish
}
vm_hostroot_initramfs
vm_daemon_cmd "$vfsd_bin"

# 3. the shares, their files, and the daemons
base=$(mktemp -d "${TMPDIR:-/tmp}/vfsd-vm-dax.XXXXXX")
share="$base/share"
ro_share="$base/ro"
results="$base/results"
mkdir -p "$share" "$ro_share" "$results"
chmod 0755 "$base" "$share" "$ro_share"
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	vm_kill_daemons
	chattr -i "$share/immut.bin" 2>/dev/null || true
	if [ "$finished" = 0 ]; then # vm_die: a daemon did not start, ...
		tap not-ok "the test ran to its end" "aborted, see the error above; kept $base"
		echo "1..$n"
	fi
}
trap cleanup EXIT
say "work directory: $base"
"$checker" prepare "$share" "$ro_share" || {
	tap not-ok "test files created" "guest_dax_test prepare failed"
	finish
}
immutable=0
if chattr +i "$share/immut.bin" 2>/dev/null; then
	immutable=1
else
	echo "# chattr +i unsupported here: the immutable-file checks are left out"
fi

read -r -a dax_flags <<<"${VFSD_DAX_FLAGS:-}"
mapfile -t fs_flags < <(vm_fs_daemon_flags vfsdax)
vm_start_daemon main "$base/main.sock" "$share" "$results/daemon.log" "${fs_flags[@]}" \
	--dax-window="$window" "${dax_flags[@]}"
mapfile -t fs_flags < <(vm_fs_daemon_flags vfsro)
vm_start_daemon ro "$base/ro.sock" "$ro_share" "$results/daemon-ro.log" "${fs_flags[@]}" \
	--readonly --dax-window=4M
echo "# daemon: ${VM_DAEMON[*]} ${VM_DAEMON_FLAGS[*]} --dax-window=$window ${VFSD_DAX_FLAGS:-}"

# 4. the guest: its checks print "ok - X" / "not ok - X: WHY" into guest.log.
{
	printf 'C=%s\nIMMUTABLE=%s\n' "$(vm_guest_path "$results" "$checker")" "$immutable"
	cat <<'EOF'
M=/run/vfsd/share
RO=/run/vfsd/ro
mkdir -p $M $RO
why() { dmesg | tail -1; }
# on_share MODE: mount the share -o dax=MODE, run the checks for MODE, unmount
on_share() {
	if mount -t virtiofs -o dax=$1 vfsdax $M; then
		echo "ok - mount -o dax=$1"
		$C $1 $M vfsdax
		[ $IMMUTABLE = 1 ] && $C immutable $M $1
		umount $M || echo "not ok - umount after dax=$1"
	else
		echo "not ok - mount -o dax=$1: $(why)"
	fi
}
on_share always
on_share inode
if mount -t virtiofs -o dax=always vfsro $RO; then
	echo "ok - read-only share: mount -o dax=always"
elif mount -t virtiofs vfsro $RO; then
	echo "ok - read-only share: mounted without DAX # dax=always refused: $(why)"
else
	echo "not ok - read-only share: mount: $(why)"
fi
if mountpoint -q $RO; then
	$C ro $RO vfsro
	umount $RO || echo "not ok - umount of the read-only share"
fi
dmesg | grep -iE 'virtio|fuse|dax' | sed 's/^/# dmesg: /'
echo "# guest done"
EOF
} >"$results/guest-cmd.sh"
printf "VIRTIOFS_MOUNTS=''\nTMPFS_TMP=1\n" >"$results/guest.conf"

QARGS=()
mapfile -t -O "${#QARGS[@]}" QARGS < <(vm_dev_9p / hostroot ro)
mapfile -t -O "${#QARGS[@]}" QARGS < <(vm_dev_9p "$results" results rw)
mapfile -t -O "${#QARGS[@]}" QARGS < <(vm_dev_virtiofs "$base/main.sock" vfsdax 0)
mapfile -t -O "${#QARGS[@]}" QARGS < <(vm_dev_virtiofs "$base/ro.sock" vfsro 1)
vm_qemu "$results/serial.log" "${QARGS[@]}" >&2
say "QEMU exited with status $VM_QEMU_RC after $(($(date +%s) - VM_T0))s"
check "QEMU exited normally" "status $VM_QEMU_RC (see $results/serial.log)" [ "$VM_QEMU_RC" = 0 ]

vm_guest_tap "$results/guest.log"
check "the guest ran all its checks" \
	"it stopped after: $(grep -a '^# running' "$results/guest.log" 2>/dev/null | tail -1)" \
	grep -q '^# guest done' "$results/guest.log"
grep -a '^# dmesg' "$results/guest.log" || true

# 5. the daemons: clean exit, and DAX really used ("dax: N maps, M unmaps" per session)
for d in main ro; do
	st=0
	vm_stop_daemon "$d" || st=1
	check "daemon '$d' exits with status 0 after QEMU quit" "status: $VM_DAEMON_STATUS" [ "$st" = 0 ]
done
read -r sessions maps unmaps _ < <(vm_dax_counts "$results/daemon.log")
dax_summary="share: $sessions dax: lines, $maps maps, $unmaps unmaps"
grep -a 'dax:' "$results/daemon.log" | sed 's/^/# daemon: /' || true
check "daemon logged 'dax: N maps, M unmaps' for its sessions" \
	"no such line in $results/daemon.log" [ "$sessions" -gt 0 ]
check "the guest's reads and writes went through DAX mappings ($maps maps)" \
	"0 maps" [ "$maps" -gt 0 ]
check "window chunks were unmapped again (reclaim, drop_caches: $unmaps unmaps)" \
	"0 unmaps" [ "$unmaps" -gt 0 ]
read -r sessions maps unmaps _ < <(vm_dax_counts "$results/daemon-ro.log")
dax_summary="$dax_summary; read-only share: $sessions lines, $maps maps"
grep -a 'dax:' "$results/daemon-ro.log" | sed 's/^/# daemon ro: /' || true
check "the --readonly daemon mapped nothing (QEMU 11.1 maps every fd read-write)" \
	"$maps maps in $results/daemon-ro.log" [ "$maps" = 0 ]

# 6. the host's view
chattr -i "$share/immut.bin" 2>/dev/null || true
vm_guest_tap <("$checker" verify "$share" "$ro_share")
finish
