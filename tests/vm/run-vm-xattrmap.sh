#!/usr/bin/env bash
# run-vm-xattrmap.sh: --xattrmap and --security-label through a real guest kernel (meson test
# vm-xattrmap, suite 'vm', TAP on stdout; one boot, ~15 s on TCG).
#
#   tests/vm/run-vm-xattrmap.sh VFSD_BINARY
#
# One guest, booted with SELinux (security=selinux enforcing=0), mounts three vfsd shares:
#   vfsxm  --xattrmap=:map:security.:user.virtiofs.: --security-label
#   vfssl  --security-label
#   vfsnl  --xattr (no labels)
# On vfsxm the host first gives a file its own security.hostlabel and user.plain; the guest
# (tests/vm/guest_xattrmap.sh) sets, reads, lists and removes attributes with setfattr/getfattr
# and tries the mapped namespace under its host name. Then tests/vm/guest_selinux.py loads a
# binary policy built from Debian's selinux-policy-default (tests/tools/selinux-policy.sh) and
# on each share creates a file, directory, symlink, fifo and O_TMPFILE with the label the
# policy chooses and with one asked for through fscreate, and setxattr's security.selinux on a
# file. The host then checks where every name and label landed: security.selinux on vfssl,
# user.virtiofs.security.selinux on vfsxm, no label on vfsnl except the one set explicitly.
# Missing assets and a policy that does not load are failures, never skips.
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
# Every daemon gets these; each share adds its own flags below.
export VFSD_VM_FLAGS="${VFSD_VM_FLAGS:---xattr}"
# The guest kernels (6.1, 7.2) build SELinux in but start AppArmor (first in CONFIG_LSM):
# security= picks SELinux; enforcing=0 keeps it permissive (CONFIG_SECURITY_SELINUX_DEVELOP=y).
# Neither kernel has CONFIG_SECURITY_SELINUX_BOOTPARAM, so there is no selinux=1 to give.
export VFSD_VM_APPEND="security=selinux enforcing=0 ${VFSD_VM_APPEND:-}"
xattrmap=":map:security.:user.virtiofs.:"

share="$base/share" results="$base/results"
mkdir -p "$share" "$base/sl" "$base/nl" "$results"
chmod 0755 "$share" "$base/sl" "$base/nl"

vm_assets_tap || vm_finish vm-xattrmap "$base"
if out=$("$repo/tests/tools/selinux-policy.sh"); then
	eval "$out"
	tap ok "SELinux policy built from selinux-policy-default ($SELINUX_POLICY)"
else
	tap not-ok "SELinux policy" "tests/tools/selinux-policy.sh failed"
	vm_finish vm-xattrmap "$base"
fi
echo x >"$share/hostfile"
check "host: security.hostlabel set on the host" "needs root" \
	setfattr -n security.hostlabel -v hostonly "$share/hostfile"
check "host: user.plain set on the host" "" setfattr -n user.plain -v p "$share/hostfile"

work=$(mktemp -d "${TMPDIR:-/tmp}/vfsd-vm-xattrmap-run.XXXXXX")
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	vm_kill_daemons
	rm -rf "$work"
}
trap cleanup EXIT
vm_hostroot_initramfs
vm_daemon_cmd "$vfsd_bin"
qemu_args=()
mapfile -t -O "${#qemu_args[@]}" qemu_args < <(vm_dev_9p / hostroot ro)
mapfile -t -O "${#qemu_args[@]}" qemu_args < <(vm_dev_9p "$results" results rw)
# start TAG DIR FLAGS...: a daemon for the share TAG and its device (index $i)
i=0
start() {
	local tag="$1" dir="$2" fs_flags
	shift 2
	mapfile -t fs_flags < <(vm_fs_daemon_flags "$tag")
	vm_start_daemon "$tag" "$work/$tag.sock" "$dir" "$results/daemon-$tag.log" "${fs_flags[@]}" "$@"
	mapfile -t -O "${#qemu_args[@]}" qemu_args < <(vm_dev_virtiofs "$work/$tag.sock" "$tag" "$i")
	i=$((i + 1))
}
start vfsxm "$share" --xattrmap="$xattrmap" --security-label
start vfssl "$base/sl" --security-label
start vfsnl "$base/nl"
printf '%s\n' "VIRTIOFS_MOUNTS='vfsxm:/run/vfsd/share vfssl:/run/vfsd/vfssl vfsnl:/run/vfsd/vfsnl'" \
	>"$results/guest.conf"
rm -f "$results/exit-code" "$results/guest.log"
{
	echo "/bin/sh $(vm_guest_path "$results" "$here/guest_xattrmap.sh") /run/vfsd/share"
	echo "python3 $(vm_guest_path "$results" "$here/guest_selinux.py")" \
		"$(vm_guest_path "$results" "$SELINUX_POLICY")" \
		"/run/vfsd/share:map /run/vfsd/vfssl:yes /run/vfsd/vfsnl:no"
} >"$results/guest-cmd.sh"

say "booting (shares $share, $base/sl, $base/nl)"
t0=$(date +%s)
vm_qemu "$results/serial.log" "${qemu_args[@]}" >&2
say "QEMU exited with $VM_QEMU_RC after $(($(date +%s) - t0))s"
for tag in vfsxm vfssl vfsnl; do
	vm_stop_daemon "$tag" && st=0 || st=$?
	check "daemon $tag exited 0 after QEMU disconnected" "status $VM_DAEMON_STATUS" [ "$st" = 0 ]
done

vm_guest_tap "$results/guest.log" "guest: "
# guest_xattrmap.sh prints 15 lines, guest_selinux.py 1 + 2 x (1 + 10 + 1) + 2
check "guest: all checks ran" "see $results/serial.log" \
	test "$(grep -c '^\(not \)\?ok - ' "$results/guest.log" 2>/dev/null || echo 0)" -eq 42

# hostval FILE NAME: the value of NAME on the host ("" if absent; a trailing NUL dropped).
hostval() { getfattr -h --only-values -n "$2" "$1" 2>/dev/null | tr -d '\0' || true; }
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

# shellcheck disable=SC2317 # called through check
absent() { [ ! -e "$1" ] && [ ! -L "$1" ]; }
# The labels: each "obj TAG NAME EXPECTED GUESTREAD" line of guest_selinux.py.
objs=0
while read -r _ tag name want got; do
	objs=$((objs + 1))
	case "$tag" in
	share) f="$share/$name" hname=user.virtiofs.security.selinux other=security.selinux ;;
	vfssl) f="$base/sl/$name" hname=security.selinux other=user.virtiofs.security.selinux ;;
	vfsnl) f="$base/nl/$name" hname=security.selinux other=user.virtiofs.security.selinux ;;
	*) continue ;;
	esac
	have=$(hostval "$f" "$hname")
	if [ "$want" = - ]; then
		check "host: $tag/$name was removed again (its label could not be set)" "" \
			absent "$f"
		continue
	elif [ "$tag" = vfsnl ] && [ "$name" != set-file ]; then
		check "host: $tag/$name has no $hname (no --security-label; the guest reads $got)" \
			"got '$have'" test -z "$have"
	else
		check "host: $tag/$name has $hname $want" "got '$have' (the guest read $got)" \
			test "$have" = "$want"
	fi
	check "host: $tag/$name has no $other" "" test -z "$(hostval "$f" "$other")"
done < <(grep '^obj ' "$results/guest.log" 2>/dev/null)
check "host: the guest reported 33 objects" "got $objs" test "$objs" = 33

vm_accel
vm_finish vm-xattrmap "$base" "kernel:      ${VM_KVER:-?}" \
	"policy:      $SELINUX_POLICY"
