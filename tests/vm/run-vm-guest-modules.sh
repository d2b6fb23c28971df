#!/usr/bin/env bash
# run-vm-guest-modules.sh: the patched guest modules (meson test 'vm-guest-modules', suite 'vm',
# TAP on stdout).
#
#   tests/vm/run-vm-guest-modules.sh VFSD_BINARY GUEST_FS_TEST_BINARY VT_PROBE_BINARY
#
# 1. guest/build-modules.sh builds fuse.ko and virtiofs.ko with the vfsd version table for the
#    bookworm guest kernel (the first time it downloads Debian's headers and linux-source-6.1;
#    a download that fails is a failure, never a skip);
# 2. two guests boot that kernel with those modules instead of Debian's
#    (VFSD_VM_MODULES_OVERRIDE, tests/vm/lib.sh) and run tests/vm/guest-modules-check.sh:
#    our modules loaded (taint), vt-probe says the table is off, then guest_fs_test on the
#    share, verified on the host as in vm-fs (run-vm-test.sh):
#      - QEMU 11.1 (sid chroot, tests/tools/sid-qemu.sh) with vhost-user-test-device-pci, the
#        device that can carry the table's shared memory region (this daemon offers none);
#      - the host's QEMU 7.2 with vhost-user-fs-pci (no shared memory regions at all).
#    Both prove that without the table the patched modules behave like Debian's.
# 3. if this vfsd has --coherence (the daemon side, h/coh), a third guest on QEMU 11.1 with
#    --coherence=table: vt-probe must say the table is on, and guest_fs_test must pass with it.
# VFSD_VM_GUEST_SUITE=sid (meson test 'vm-guest-modules-sid'): the same for sid's Linux 7.2, whose
# FUSE is built in: guest/build-fork.sh's virtiofs_vt.ko (the renamed fork, guest/README.md),
# which the init loads after unbinding the built-in virtiofs driver and mounts as virtiofs_vt;
# the QEMU 11.1 guests only (the bookworm run covers QEMU 7.2's device).
# Set VFSD_VM_KEEP=1 to keep the work directories.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"
if [ $# -ne 3 ]; then
	echo "usage: $0 VFSD_BINARY GUEST_FS_TEST_BINARY VT_PROBE_BINARY" >&2
	exit 2
fi
vfsd_bin=$1 fs_test=$(readlink -f "$2") probe=$(readlink -f "$3")
say() { printf '[vm-guest-modules] %s\n' "$*" >&2; }
suite=${VFSD_VM_GUEST_SUITE:-bookworm}
export VFSD_VM_SUITE=$suite VFSD_VM_TIMEOUT="${VFSD_VM_TIMEOUT:-300}"
runs=()
vm_accel
echo "# accelerator: $VM_ACCEL_NAME"

# 1. the modules
t0=$(date +%s)
build="build-modules.sh"
[ "$suite" = bookworm ] || build="build-fork.sh"
if out=$("$VM_REPO_DIR/guest/$build"); then
	eval "$out"
	tap ok "patched modules built for $GUEST_MODULES_KVER from linux-source $GUEST_MODULES_SRC ($(($(date +%s) - t0)) s)"
else
	tap not-ok "patched modules built" "guest/$build failed (see above)"
	vm_finish vm-guest-modules ""
fi

# 2. the guests: run-vm-test.sh's TAP lines, prefixed
# guest_run LABEL on|off ENV...: one guest with the patched modules, the table expected on or
# off; ENV selects QEMU, the device and the daemon's flags.
guest_run() {
	local label=$1 expect=$2 line t
	shift 2
	t=$(date +%s)
	say "guest: $label"
	while IFS= read -r line; do
		case "$line" in
		"ok "*) tap ok "$label: ${line#ok * - }" ;;
		"not ok "*)
			line="${line#not ok * - }"
			tap not-ok "$label: ${line%%: *}" "${line#*: }"
			;;
		esac
	done < <(env "$@" VFSD_VM_MODULES_OVERRIDE="$GUEST_MODULES_DIR" \
		"$here/run-vm-test.sh" "$vfsd_bin" "$here/guest-modules-check.sh" \
		"$probe" "$fs_test" "$expect" || echo "not ok 0 - run-vm-test.sh exited non-zero: see its summary above")
	runs+=("$label: $(($(date +%s) - t)) s")
}
guest_run "QEMU 11.1 test device" off VFSD_VM_QEMU=sid VFSD_VM_FS_DEVICE=test-device
[ "$suite" != bookworm ] ||
	guest_run "QEMU 7.2 vhost-user-fs-pci" off VFSD_VM_QEMU= VFSD_VM_FS_DEVICE=vhost-user-fs-pci

# 3. with the daemon side of the table
if "$vfsd_bin" --help 2>&1 | grep -q -- '--coherence'; then
	vt_dir=$(mktemp -d "${TMPDIR:-/tmp}/vfsd-vt-table.XXXXXX")
	guest_run "QEMU 11.1 test device, --coherence=table" on VFSD_VM_QEMU=sid \
		VFSD_VM_FS_DEVICE=test-device \
		VFSD_VM_FLAGS="--xattr --coherence=table --vt-table=$vt_dir/table"
	rm -rf "$vt_dir"
else
	echo "# this vfsd has no --coherence (the daemon side is not merged): no guest with the table on"
fi
vm_finish vm-guest-modules "" "modules:     ${GUEST_MODULES_DIR:-}" "${runs[@]}"
