#!/usr/bin/env bash
# run-vm-acl.sh: POSIX ACLs end to end (meson test vm-acl, suite 'vm', TAP on stdout).
#
#   tests/vm/run-vm-acl.sh VFSD_BINARY GUEST_ACL_TEST_BINARY
#
# The same checks (tests/vm/guest_acl_test.c: setfacl/getfacl semantics through the xattr
# syscalls, as root and as other users) run three times:
#   1. natively on a host tmpfs (/dev/shm): the ground truth, must pass;
#   2. in a guest on a share served by vfsd --posix-acl: must pass;
#   3. in a guest on a share served by the Rust virtiofsd --posix-acl
#      (tests/tools/rust-virtiofsd.sh): its run must complete, and where it differs from the
#      ground truth that is reported as TAP diagnostics ("# rust virtiofsd differs: ..."),
#      not as failures.
# One boot per daemon. Missing assets are a failure, never a skip. VFSD_VM_KEEP=1 keeps the
# shares and logs.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
[ $# -eq 2 ] || {
	echo "usage: $0 VFSD_BINARY GUEST_ACL_TEST_BINARY" >&2
	exit 2
}
vfsd_bin="$(readlink -f "$1")"
guest_bin="$(readlink -f "$2")"

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"
vm_script_start vm-acl
# The caller's flags (e.g. the sanitizer pass's --sandbox=none) come after --posix-acl.
export VFSD_VM_FLAGS="--posix-acl ${VFSD_VM_FLAGS:-}"
# guest_acl_test --supplementary-groups also checks named groups the caller is in by a
# supplementary group, which no FUSE request carries (Linux 6.1): the guest kernel decides those
# (default_permissions) and vfsd serves the request as the daemon (src/fs/passthrough/cred.c).
vfsd_args=(--supplementary-groups)

# tap_lines FILE PREFIX: the TAP lines of one run of guest_acl_test as our own checks.
tap_lines() {
	local line rest
	while IFS= read -r line; do
		case "$line" in
		"ok "*)
			rest="${line#ok }"
			tap ok "$2${rest#* - }"
			;;
		"not ok "*)
			rest="${line#not ok }"
			rest="${rest#* - }"
			tap not-ok "$2${rest%%: *}" "${rest#*: }"
			;;
		"Bail out!"*) tap not-ok "$2checks ran" "${line#Bail out! }" ;;
		esac
	done <"$1"
}

# plan_seen FILE: the checks ran to their end (the plan line is printed last).
plan_seen() { grep -q '^1\.\.[0-9]' "$1" 2>/dev/null; }

# 1. ground truth on the host's tmpfs
native="$(mktemp -d /dev/shm/vfsd-acl-native.XXXXXX)"
chmod 0755 "$native"
say "native run on $(stat -f -c %T "$native") ($native)"
"$guest_bin" --supplementary-groups "$native" >"$base/native.log" 2>&1 || true
rm -rf "$native"
tap_lines "$base/native.log" "native: "
check "native: all checks ran" "see $base/native.log" plan_seen "$base/native.log"

vm_assets_tap || vm_finish vm-acl "$base"
[ -x "$guest_bin" ] || {
	tap not-ok "guest test program" "$guest_bin is not executable"
	vm_finish vm-acl "$base"
}

# boot NAME [ARGS...]: one guest on a fresh share served by the daemon in $VFSD_DAEMON_CMD (or
# vfsd), running guest_acl_test ARGS on it.
boot() {
	local name="$1" share="$base/$1-share" results="$base/$1-results" rc
	shift
	mkdir -p "$share" "$results"
	chmod 0755 "$share"
	say "$name: booting (share $share)"
	set +e
	"$repo/tests/tools/vm-run.sh" --vfsd "$vfsd_bin" --shared-dir "$share" --tag vfsacl \
		--mount-point /run/vfsd/share --results "$results" -- "$guest_bin" "$@" /run/vfsd/share >&2
	rc=$?
	set -e
	say "$name: vm-run.sh status $rc, daemon status $(cat "$results/daemon-status" 2>/dev/null || echo unknown)"
}

# 2. vfsd: every check must pass.
(
	unset VFSD_DAEMON_CMD
	boot vfsd "${vfsd_args[@]}"
)
tap_lines "$base/vfsd-results/guest.log" "vfsd: "
check "vfsd: all checks ran in the guest" "see $base/vfsd-results/serial.log" \
	plan_seen "$base/vfsd-results/guest.log"
check "vfsd: daemon exited 0 after QEMU disconnected" \
	"status $(cat "$base/vfsd-results/daemon-status" 2>/dev/null || echo unknown)" \
	grep -qx 0 "$base/vfsd-results/daemon-status"
# with VFSD_VM_QUEUES >= 2 (vm-acl-sid): the guest used more than one request queue
vm_queue_check "$base/vfsd-results/interrupts" "vfsd guest"

# 3. Rust virtiofsd: the run must complete; differences are diagnostics.
(
	export VFSD_DAEMON_CMD="$repo/tests/tools/rust-virtiofsd.sh run"
	boot rust --supplementary-groups
)
rust_log="$base/rust-results/guest.log"
check "rust virtiofsd: all checks ran in the guest" "see $base/rust-results/serial.log" \
	plan_seen "$rust_log"
ndiff=0
while IFS= read -r line; do
	rest="${line#not ok }"
	echo "# rust virtiofsd differs: ${rest#* - }"
	ndiff=$((ndiff + 1))
done < <(grep '^not ok ' "$rust_log" 2>/dev/null || true)
echo "# rust virtiofsd: $ndiff of $(grep -c '^\(not \)\?ok ' "$rust_log" 2>/dev/null || true) checks differ from native"

vm_accel
vm_finish vm-acl "$base" \
	"native:      $(grep -c '^ok ' "$base/native.log" || true) checks passed" \
	"vfsd:        $(grep -c '^ok ' "$base/vfsd-results/guest.log" 2>/dev/null || true) checks passed" \
	"rust:        $ndiff checks differ (diagnostics only)" \
	"kernel:      ${VM_KVER:-?}"
