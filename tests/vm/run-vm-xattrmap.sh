#!/usr/bin/env bash
# run-vm-xattrmap.sh: --xattrmap through a real guest kernel (meson test vm-xattrmap, suite 'vm',
# TAP on stdout; one boot, ~1 min on TCG).
#
#   tests/vm/run-vm-xattrmap.sh VFSD_BINARY
#
# vfsd serves a share with --xattrmap=:map:security.:user.virtiofs.: --security-label. The host
# first gives a file its own security.hostlabel and user.plain; the guest
# (tests/vm/guest_xattrmap.sh) sets, reads, lists and removes attributes with setfattr/getfattr
# and tries the mapped namespace under its host name; then the host checks where everything
# landed. Debian's guest kernel runs no labelling LSM, so it sends no security contexts: those
# are covered by frontend-xattrmap. Missing assets are a failure, never a skip.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
[ $# -eq 1 ] || {
	echo "usage: $0 VFSD_BINARY" >&2
	exit 2
}
vfsd_bin="$(readlink -f "$1")"

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"
vm_script_start vm-xattrmap
export VFSD_VM_FLAGS="--xattrmap=:map:security.:user.virtiofs.: --security-label ${VFSD_VM_FLAGS:-}"

share="$base/share" results="$base/results"
mkdir -p "$share" "$results"
chmod 0755 "$share"

vm_assets_tap || vm_finish vm-xattrmap "$base"
echo x >"$share/hostfile"
check "host: security.hostlabel set on the host" "needs root" \
	setfattr -n security.hostlabel -v hostonly "$share/hostfile"
check "host: user.plain set on the host" "" setfattr -n user.plain -v p "$share/hostfile"

say "booting (share $share)"
set +e
"$repo/tests/tools/vm-run.sh" --vfsd "$vfsd_bin" --shared-dir "$share" --tag vfsxm \
	--mount-point /run/vfsd/share --results "$results" -- \
	/bin/sh "$(vm_guest_path "$results" "$here/guest_xattrmap.sh")" /run/vfsd/share >&2
rc=$?
set -e
say "vm-run.sh status $rc, daemon status $(cat "$results/daemon-status" 2>/dev/null || echo unknown)"

vm_guest_tap "$results/guest.log" "guest: "
check "guest: all checks ran" "see $results/serial.log" \
	test "$(grep -c '^\(not \)\?ok - ' "$results/guest.log" 2>/dev/null || echo 0)" -eq 15
check "daemon exited 0 after QEMU disconnected" \
	"status $(cat "$results/daemon-status" 2>/dev/null || echo unknown)" \
	grep -qx 0 "$results/daemon-status"

# hostval FILE NAME: the value of NAME on the host ("" if absent).
hostval() { getfattr --only-values -n "$2" "$1" 2>/dev/null || true; }
check "host: the guest's security.test is user.virtiofs.security.test" \
	"got '$(hostval "$share/labelled" user.virtiofs.security.test)'" \
	test "$(hostval "$share/labelled" user.virtiofs.security.test)" = guestval
check "host: no security.test of the guest's on the host" "" \
	test -z "$(hostval "$share/labelled" security.test)"
check "host: no trusted.t (unmapped, refused to a daemon without CAP_SYS_ADMIN)" "" \
	test -z "$(hostval "$share/labelled" trusted.t)"
check "host: user.a removed" "" test -z "$(hostval "$share/labelled" user.a)"
check "host: the host's security.hostlabel untouched" "" \
	test "$(hostval "$share/hostfile" security.hostlabel)" = hostonly
check "host: the directory's label is user.virtiofs.security.d" "" \
	test "$(hostval "$share/dir" user.virtiofs.security.d)" = dv2

vm_accel
vm_finish vm-xattrmap "$base" "kernel:      ${VM_KVER:-?}"
