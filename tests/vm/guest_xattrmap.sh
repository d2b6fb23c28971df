#!/bin/sh
# guest_xattrmap.sh DIR: run in a guest by run-vm-xattrmap.sh on a share served with
# --xattrmap=:map:security.:user.virtiofs.: (--security-label too). Real setfattr/getfattr
# through the guest kernel: the guest's security.* round-trips, its other names pass unchanged,
# the mapped namespace under its host name is refused with EPERM, the host's own security.*
# stays hidden. Prints "ok - X" / "not ok - X" lines (vm_guest_tap); the host checks the other
# side afterwards.
d="$1"
t() {
	if sh -c "$2" >/dev/null 2>&1; then echo "ok - $1"; else echo "not ok - $1"; fi
}
f="$d/labelled"
echo x >"$f"
t "setfattr security.test" "setfattr -n security.test -v guestval '$f'"
t "getfattr security.test round-trips" \
	"[ \"\$(getfattr --only-values -n security.test '$f')\" = guestval ]"
# trusted.* is not mapped here, and the host refuses it to vfsd, which keeps no CAP_SYS_ADMIN:
# the reason to map it (see docs/xattr-mapping.md).
t "setfattr trusted.t (unmapped) refused by the host" \
	"setfattr -n trusted.t -v tv '$f' 2>&1 | grep -q 'Operation not permitted'"
t "setfattr user.a" "setfattr -n user.a -v ua '$f'"
t "user.virtiofs.security.test refused with EPERM" \
	"setfattr -n user.virtiofs.security.test -v evil '$f' 2>&1 | grep -q 'Operation not permitted'"
t "user.virtiofs.security.test unreadable" \
	"! getfattr -n user.virtiofs.security.test '$f'"
t "the list shows security.test" "getfattr -d -m - '$f' | grep -q '^security.test=\"guestval\"'"
t "the list shows no user.virtiofs. name" "! getfattr -d -m - '$f' | grep -q 'user.virtiofs'"
t "the host's security.hostlabel is not listed" \
	"! getfattr -d -m - '$d/hostfile' | grep -q hostlabel"
t "the host's security.hostlabel is not readable" \
	"! getfattr -n security.hostlabel '$d/hostfile'"
t "the host's user.plain is listed" "getfattr -d -m - '$d/hostfile' | grep -q '^user.plain='"
t "mkdir and a security.* name on a directory" \
	"mkdir '$d/dir' && setfattr -n security.d -v dv '$d/dir'"
t "removexattr user.a" "setfattr -x user.a '$f' && ! getfattr -n user.a '$f'"
t "removexattr security.d" "setfattr -x security.d '$d/dir'"
t "setfattr security.d again" "setfattr -n security.d -v dv2 '$d/dir'"
sync
