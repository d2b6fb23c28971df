#!/usr/bin/env bash
# run-vm-perm.sh: the meson test vm-perm (suite 'vm', TAP on stdout): multi-user permission
# semantics (tests/vm/guest_perm_test.c) natively, in a guest on vfsd, and on the Rust virtiofsd.
#
#   tests/vm/run-vm-perm.sh VFSD_BINARY GUEST_PERM_TEST_BINARY
#
# 1. natively on a host tmpfs: validates the program's expectations (must pass);
# 2. one guest on vfsd ($VFSD_VM_FLAGS, default --xattr: the daemon's defaults otherwise): the
#    program on the guest's own tmpfs (validates them for the guest kernel) and on the share
#    (both must pass); then one with --killpriv-v2 added (must pass);
# 3. one guest on the Rust virtiofsd (tests/tools/rust-virtiofsd.sh): its run must complete; the
#    checks it fails are printed as "# rust differs: ..." diagnostics, not failures.
# Missing assets are a failure, never a skip. VFSD_VM_KEEP=1 keeps the work directory.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
[ $# -eq 2 ] || {
	echo "usage: $0 VFSD_BINARY GUEST_PERM_TEST_BINARY" >&2
	exit 2
}
vfsd_bin="$(readlink -f "$1")"
prog="$(readlink -f "$2")"

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"
vm_script_start vm-perm

# tap_from FILE PREFIX: FILE's TAP lines as checks; sets $from_total, $from_failed and
# $from_todo (TODO: a result the guest's FUSE client decides, see guest_perm_test.c).
tap_from() {
	local line rest desc
	from_total=0
	from_failed=0
	from_todo=0
	[ -f "$1" ] || return 0
	while IFS= read -r line; do
		case "$line" in
		"not ok "*" # TODO "*)
			from_total=$((from_total + 1))
			from_todo=$((from_todo + 1))
			rest="${line#not ok }"
			n=$((n + 1))
			echo "not ok $n - $2${rest#* - }"
			;;
		"ok "*)
			from_total=$((from_total + 1))
			rest="${line#ok }"
			tap ok "$2${rest#* - }"
			;;
		"not ok "*)
			from_total=$((from_total + 1))
			from_failed=$((from_failed + 1))
			rest="${line#not ok }"
			desc="${rest#* - }"
			tap not-ok "$2${desc%%: *}" "${desc#*: }"
			;;
		esac
	done <"$1"
}

# 1. natively, on a tmpfs of the host
native=$(mktemp -d /dev/shm/vfsd-vm-perm.XXXXXX)
chmod 0755 "$native"
set +e
"$prog" "$native" >"$base/native.tap" 2>&1
native_rc=$?
set -e
rm -rf "$native"
tap_from "$base/native.tap" "host tmpfs: "
native_summary="$from_total checks, $from_failed failed"
if [ "$from_total" -gt 0 ] && [ "$native_rc" = 0 ]; then
	tap ok "host tmpfs: the program ran and exited 0"
else
	tap not-ok "host tmpfs: the program ran and exited 0" "status $native_rc: $(tail -3 "$base/native.tap" | tr '\n' ' ')"
fi

vm_assets_tap || vm_finish vm-perm "$base"

# boot NAME: one guest on the daemon of the environment, results in $base/NAME; with
# "tmpfs", the program runs on the guest's /tmp first (tmpfs.tap), then on the share.
boot() {
	local name="$1" with_tmpfs="$2" cmd
	mkdir -p "$base/$name/share" "$base/$name/results"
	chmod 0755 "$base/$name" "$base/$name/share"
	local gprog
	gprog=$(vm_guest_path "$base/$name/results" "$prog")
	cmd="$gprog /run/vfsd/share"
	if [ "$with_tmpfs" = tmpfs ]; then
		cmd="mkdir -m 0755 /tmp/p && $gprog /tmp/p >/run/vfsd/results/tmpfs.tap 2>&1; $cmd"
	fi
	say "$name: booting"
	set +e
	"$repo/tests/tools/vm-run.sh" --vfsd "$vfsd_bin" --shared-dir "$base/$name/share" \
		--tag perm --mount-point /run/vfsd/share --results "$base/$name/results" \
		-- /bin/sh -c "$cmd" >&2
	boot_rc=$?
	set -e
}

# vfsd_checks NAME PREFIX: the share's results of boot NAME, and whether the program and the
# daemon exited 0.
vfsd_checks() {
	tap_from "$base/$1/results/guest.log" "$2"
	if [ "$from_total" -gt 0 ] && [ "$boot_rc" = 0 ]; then
		tap ok "$2the program exited 0 and the daemon exited 0"
	else
		tap not-ok "$2the program exited 0 and the daemon exited 0" \
			"vm-run.sh status $boot_rc, daemon $(cat "$base/$1/results/daemon-status" 2>/dev/null || echo unknown) (see $base/$1/results)"
	fi
}

# 2. the guest on vfsd
t0=$(date +%s)
boot vfsd tmpfs
vfsd_secs=$(($(date +%s) - t0))
tap_from "$base/vfsd/results/tmpfs.tap" "guest tmpfs: "
guest_tmpfs_summary="$from_total checks, $from_failed failed"
[ "$from_total" -gt 0 ] || tap not-ok "guest tmpfs: the program ran" "no results (see $base/vfsd/results/serial.log)"
vfsd_checks vfsd "vfsd: "
# with VFSD_VM_QUEUES >= 2 (vm-perm-sid): the guest used more than one request queue
vm_queue_check "$base/vfsd/results/interrupts" "vfsd guest"
vfsd_summary="$from_total checks, $from_failed failed, $from_todo decided by the guest's FUSE client (TODO)"

# 2b. vfsd again with --killpriv-v2: set-id clearing on write/truncate/open/fallocate/
# copy_file_range is then the daemon's job
t0=$(date +%s)
VFSD_VM_FLAGS="${VFSD_VM_FLAGS:---xattr} --killpriv-v2" boot vfsd-kp notmpfs
kp_secs=$(($(date +%s) - t0))
vfsd_checks vfsd-kp "vfsd --killpriv-v2: "
kp_summary="$from_total checks, $from_failed failed, $from_todo TODO"

# 3. the same guest program on the Rust virtiofsd: differences are recorded, not failures
rust_summary="not run"
rust_secs=0
if "$repo/tests/tools/rust-virtiofsd.sh" fetch >&2; then
	t0=$(date +%s)
	VFSD_DAEMON_CMD="$repo/tests/tools/rust-virtiofsd.sh run" boot rust notmpfs
	rust_secs=$(($(date +%s) - t0))
	total=0
	differs=0
	while IFS= read -r line; do
		case "$line" in
		"ok "*) total=$((total + 1)) ;;
		"not ok "*)
			total=$((total + 1))
			differs=$((differs + 1))
			rest="${line#not ok }"
			echo "# rust differs: ${rest#* - }"
			;;
		esac
	done <"$base/rust/results/guest.log"
	rust_summary="$total checks, $differs differ from the local file system"
	if [ "$total" -gt 0 ]; then
		tap ok "rust virtiofsd: the program ran ($rust_summary)"
	else
		tap not-ok "rust virtiofsd: the program ran" "no results (see $base/rust/results)"
	fi
else
	tap not-ok "rust virtiofsd available" "tests/tools/rust-virtiofsd.sh fetch failed"
fi

vm_accel
vm_finish vm-perm "$base" \
	"host tmpfs:  $native_summary" \
	"guest tmpfs: $guest_tmpfs_summary (kernel $VM_KVER)" \
	"vfsd:        $vfsd_summary, ${vfsd_secs}s with the boot" \
	"vfsd --killpriv-v2: $kp_summary, ${kp_secs}s with the boot" \
	"rust:        $rust_summary, ${rust_secs}s with the boot"
