#!/usr/bin/env bash
# run-vm-test.sh: the end-to-end test (meson suite 'vm', TAP on stdout).
#
#   tests/vm/run-vm-test.sh VFSD_BINARY GUEST_FS_TEST_BINARY [GUEST_ARGS...]
#
# The guest runs GUEST_FS_TEST_BINARY GUEST_ARGS... /run/vfsd/share (GUEST_ARGS: for a wrapper
# such as tests/vm/guest-modules-check.sh).
#
# 1. guest assets (tests/tools/vm-assets.sh: QEMU, busybox, the Debian guest kernel);
# 2. an empty temporary share directory, served by the daemon
#    (VFSD_BINARY, or $VFSD_DAEMON_CMD; flags $VFSD_VM_FLAGS, default
#    "--xattr");
# 3. boots a guest (tests/tools/vm-run.sh) that mounts the share with virtiofs and runs
#    GUEST_FS_TEST_BINARY on it;
# 4. checks the guest's results, that the daemon exited 0 after QEMU disconnected, and, on
#    the host, byte for byte what the guest wrote (tests/vm/verify_share.py).
# Missing assets are a failure, never a skip. Progress and the guest console go to stderr.
# Set VFSD_VM_KEEP=1 to keep the share and results directories.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
[ $# -ge 2 ] || {
	echo "usage: $0 VFSD_BINARY GUEST_FS_TEST_BINARY [GUEST_ARGS...]" >&2
	exit 2
}
vfsd_bin="$1"
guest_bin="$(readlink -f "$2")"
guest_args=("${@:3}")

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"
vm_script_start vm-test

daemon_desc="${VFSD_DAEMON_CMD:-$vfsd_bin}"
say "daemon: $daemon_desc ${VFSD_VM_FLAGS:---xattr}"
echo "# daemon: $daemon_desc ${VFSD_VM_FLAGS:---xattr}"

# 1. assets (fail loudly, never skip)
vm_assets_tap || {
	echo "1..$n"
	rmdir "$base"
	exit 1
}
[ -x "$guest_bin" ] || {
	tap not-ok "guest test program" "$guest_bin is not executable"
	echo "1..$n"
	rmdir "$base"
	exit 1
}

# 2. share and results directories
share="$base/share"
results="$base/results"
mkdir -p "$share" "$results"
chmod 0755 "$share"

# 3. boot and run
say "share: $share   results: $results"
start=$(date +%s)
set +e
"$repo/tests/tools/vm-run.sh" --vfsd "$vfsd_bin" --shared-dir "$share" --tag vfsdtest \
	--mount-point /run/vfsd/share --results "$results" -- "$guest_bin" "${guest_args[@]}" /run/vfsd/share >&2
run_rc=$?
set -e
secs=$(($(date +%s) - start))
vm_accel
accel="$VM_ACCEL_NAME"
echo "# accelerator: $accel"

# the guest's own TAP lines, renumbered
guest_rc=""
[ -f "$results/exit-code" ] && guest_rc=$(tr -dc '0-9' <"$results/exit-code")
guest_ok=0
guest_total=0
if [ -f "$results/guest.log" ]; then
	while IFS= read -r line; do
		case "$line" in
		"ok "*)
			guest_total=$((guest_total + 1))
			guest_ok=$((guest_ok + 1))
			rest="${line#ok }"
			tap ok "guest: ${rest#* - }"
			;;
		"not ok "*)
			guest_total=$((guest_total + 1))
			rest="${line#not ok }"
			desc="${rest#* - }"
			tap not-ok "guest: ${desc%%: *}" "${desc#*: }"
			;;
		esac
	done <"$results/guest.log"
fi
if [ "$guest_total" -gt 0 ]; then
	tap ok "guest ran $guest_total checks"
else
	why="no results"
	[ -f "$results/init-error" ] && why="$(cat "$results/init-error")"
	[ -f "$results/exit-code" ] || why="$why; the guest did not finish (vm-run.sh status $run_rc)"
	tap not-ok "guest ran the checks" "$why (see $results/serial.log)"
fi
if [ "$guest_rc" = 0 ]; then
	tap ok "guest program exited 0"
elif [ -z "$guest_rc" ]; then
	last=$({ grep '^# running' "$results/guest.log" 2>/dev/null || true; } | tail -1 | sed 's/^# running //')
	tap not-ok "guest program exited 0" "it never finished${last:+; it hung or crashed in check $last}"
else
	tap not-ok "guest program exited 0" "status $guest_rc"
fi
daemon_status=$(cat "$results/daemon-status" 2>/dev/null || echo "unknown (vm-run.sh failed early)")
if [ "$daemon_status" = 0 ]; then
	tap ok "daemon exited 0 after QEMU disconnected"
else
	tap not-ok "daemon exited 0 after QEMU disconnected" "status: $daemon_status (see $results/daemon.log)"
fi
vm_queue_check "$results/interrupts"
[ "$run_rc" = 125 ] && say "vm-run.sh reported a setup failure (status 125)"

# 4. host-side verification of what the guest wrote
host_failed=0
if [ -f "$share/verify/MANIFEST" ]; then
	first=$((n + 1))
	set +e
	host_out=$(python3 "$here/verify_share.py" "$share" "$first")
	host_rc=$?
	set -e
	while IFS= read -r line; do
		case "$line" in
		"ok "* | "not ok "*)
			n=$((n + 1))
			echo "$line"
			case "$line" in "not ok "*)
				failed=$((failed + 1))
				host_failed=$((host_failed + 1))
				;;
			esac
			;;
		*) echo "$line" ;;
		esac
	done <<<"$host_out"
	[ "$host_rc" = 0 ] || [ "$host_failed" -gt 0 ] || tap not-ok "host verification" "verify_share.py status $host_rc"
else
	tap not-ok "host verification" "no verify/MANIFEST in the share: the guest wrote nothing"
fi

echo "1..$n"
{
	echo
	echo "==================== vm-fs summary ===================="
	echo " daemon:      $daemon_desc"
	echo " flags:       ${VFSD_VM_FLAGS:---xattr}"
	echo " accelerator: $accel"
	echo " kernel:      $VM_KVER ($VM_SUITE), QEMU ${VFSD_VM_QEMU:-host}, ${VFSD_VM_QUEUES:-1} request queue(s)"
	echo " guest:       $guest_ok/$guest_total checks passed, exit status ${guest_rc:-none}"
	echo " daemon exit: $daemon_status"
	echo " host:        $(grep -c '^ok ' <<<"${host_out:-}" || true) host checks passed, $host_failed failed"
	echo " time:        ${secs}s in the VM"
	if [ "$failed" = 0 ]; then
		echo " RESULT:      PASS ($n checks)"
	else
		echo " RESULT:      FAIL ($failed of $n checks failed)"
		grep -h '^not ok' "$results/guest.log" 2>/dev/null | sed 's/^/   guest: /' || true
		grep -h '^not ok' <<<"${host_out:-}" | sed 's/^/   host:  /' || true
	fi
	echo "======================================================="
} >&2

if [ "$failed" = 0 ] && [ -z "${VFSD_VM_KEEP:-}" ]; then
	rm -rf "$base"
else
	say "kept for inspection: $base (share/, results/serial.log, results/daemon.log)"
fi
[ "$failed" = 0 ]
