#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The meson test `libvirt-sid` (suite libvirt): libvirt 12.8 from the Debian sid chroot
# (tests/tools/sid-libvirt.sh) starts guests with vfsd, for what bookworm's 9.0 cannot express.
# Usage: run-libvirt-sid.sh BUILD/vfsd. TAP on stdout.
#
# libvirtd, virtlogd, virsh and QEMU 11.1 run inside the chroot (chroot(2)), in a private mount
# namespace (tests/libvirt/lib.sh: its /var an overlay, /run a tmpfs, our /etc/libvirt), with the
# work directory (vfsd, the guest kernel and initramfs, the shares) bind-mounted at the same path:
#   lv-sid       system mode (qemu:///system, as root), <binary path> to our vfsd, which prints
#                separate-options, so libvirt passes the long options:
#                'ro'     <readonly/> (--readonly): the guest reads, its write fails with EROFS;
#                'nofile' <openfiles max='5000'/> (--rlimit-nofile=5000, checked in
#                         /proc/PID/limits), cache always, xattr, thread pool 2.
#                virsh save / virsh restore: libvirt allows it only when vfsd's
#                --print-capabilities lists migrate-precopy; until vfsd does (branch h/migcore)
#                it is a TAP TODO, and the check is that libvirt refuses it. Then virsh
#                shutdown (after restore: the guest still writes) leaves no vfsd behind.
#   lv-session   session mode (qemu:///session) as the unprivileged user vfsd-test (created, with
#                /etc/subuid and /etc/subgid lines, as tests/frontend's rootless test does), a
#                filesystem with <idmap> (uid and gid 0 -> 300000, 65536 ids): libvirt >= 10
#                starts vfsd as the user with --uid-map/--gid-map, vfsd maps them with newuidmap,
#                and a file the guest's root creates must belong to host uid/gid 300000.
# shellcheck disable=SC2034 # the LV_* settings are read by lib.sh
set -euo pipefail

VFSD=$(readlink -f "$1")
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SUB_BASE=300000
SUB_COUNT=65536
USER_NAME=vfsd-test

# lv_session: the session-mode part (inside the namespace, after the system libvirtd stopped).
lv_session() {
	local I=$W/idmap uid gid con out t0 pids argv
	uid=$(id -u "$USER_NAME")
	gid=$(id -g "$USER_NAME")
	mkdir -p "$I/home" "$I/xdg" "$I/shares/idmap"
	chown "$uid:$gid" "$I" "$I/home" "$I/xdg"
	chmod 0700 "$I/xdg"
	# The user namespace's 0 is host id SUB_BASE: it must own (reach) the shared directory.
	chown "$SUB_BASE:$SUB_BASE" "$I/shares/idmap"
	cat >"$I/shares/idmap/guest.sh" <<-'EOF'
		echo x >"$1/as-1000" && chown 1000:1000 "$1/as-1000" && echo "chown 1000 ok"
		echo "owner of guest-wrote $(stat -c %u:%g "$1/guest-wrote")"
	EOF
	# The user, and its subordinate ids, in the chroot (its files are bind-mounted copies).
	grep -q "^$USER_NAME:" "$W/passwd" ||
		echo "$USER_NAME:x:$uid:$gid:vfsd tests:$I/home:/bin/sh" >>"$W/passwd"
	grep -q "^$USER_NAME:" "$W/group" || echo "$USER_NAME:x:$gid:" >>"$W/group"
	for f in subuid subgid; do
		{ cat "$R/etc/$f" 2>/dev/null || true; echo "$USER_NAME:$SUB_BASE:$SUB_COUNT"; } >"$W/$f"
		[ -e "$R/etc/$f" ] || touch "$R/etc/$f"
		mount --bind "$W/$f" "$R/etc/$f"
	done
	LV_PREFIX=("$LV_DIR/pivot-run.sh" "$R" "$uid" "$gid" env -i HOME="$I/home"
		XDG_RUNTIME_DIR="$I/xdg" PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8)
	LV_URI=qemu:///session
	trap 'lv_session_stop' EXIT
	local idmap="<idmap><uid start='0' target='$SUB_BASE' count='$SUB_COUNT'/><gid start='0' target='$SUB_BASE' count='$SUB_COUNT'/></idmap>"
	lv_domain_xml lv-session "$I/lv-session.console" idmap power "" \
		"$(lv_fs_xml "$W/vfsd" "$I/shares" idmap '' '' "$idmap")" >"$I/lv-session.xml"
	chmod a+r "$I/lv-session.xml"
	con=$I/lv-session.console
	lv_boot lv-session "$I/lv-session.xml" "$con" "qemu:///session as $USER_NAME"
	pids=$(lv_daemon_pids "$I/shares/idmap ")
	argv=$(lv_argv $pids)
	check "lv-session: libvirt ran vfsd with --uid-map=:0:$SUB_BASE:$SUB_COUNT: --gid-map=:0:$SUB_BASE:$SUB_COUNT:" \
		"argv: $argv" [ "$(tr ' ' '\n' <<<"$argv" | grep -cxF -e "--uid-map=:0:$SUB_BASE:$SUB_COUNT:" \
			-e "--gid-map=:0:$SUB_BASE:$SUB_COUNT:")" = 2 ]
	# The process libvirt started runs as the user, the one serving the share as the user
	# namespace's root, i.e. host uid SUB_BASE: none as host root.
	uids=$(for p in $pids; do awk '/^Uid:/ { print $2 }' "/proc/$p/status"; done | sort -u | tr '\n' ' ')
	check "lv-session: vfsd runs unprivileged (host uids $uid or $SUB_BASE)" "uids: $uids" \
		sh -c "[ -n '$uids' ] && [ -z \"\$(echo '$uids' | tr ' ' '\n' | grep -vx -e '$uid' -e '$SUB_BASE' -e '')\" ]"
	check "lv-session: the guest's root created guest-wrote as host uid/gid $SUB_BASE" \
		"$(stat -c %u:%g "$I/shares/idmap/guest-wrote" 2>&1); guest: $(lv_console "$con" | grep owner)" \
		sh -c "[ \"\$(stat -c %u:%g '$I/shares/idmap/guest-wrote')\" = $SUB_BASE:$SUB_BASE ] &&
			tr -d '\r' <'$con' | grep -qx 'VFSD: idmap: owner of guest-wrote 0:0'"
	check "lv-session: the guest's chown to 1000:1000 is host $((SUB_BASE + 1000)):$((SUB_BASE + 1000))" \
		"$(stat -c %u:%g "$I/shares/idmap/as-1000" 2>&1)" \
		[ "$(stat -c %u:%g "$I/shares/idmap/as-1000" 2>&1)" = "$((SUB_BASE + 1000)):$((SUB_BASE + 1000))" ]
	lv_virsh destroy lv-session >/dev/null 2>&1 || true
	check "lv-session: after virsh destroy no vfsd is left" "$(lv_daemon_pids "$I/shares/")" lv_no_daemons "$I/shares/"
	lv_virsh undefine lv-session >/dev/null 2>&1 || true
}

# lv_session_stop: the session libvirtd and virtlogd (which virsh started) by their pid files.
lv_session_stop() {
	local f pid
	lv_virsh destroy lv-session >/dev/null 2>&1 || true
	for f in "$W/idmap/xdg/libvirt/libvirtd.pid" "$W/idmap/xdg/libvirt/virtlogd.pid"; do
		pid=$(cat "$f" 2>/dev/null) || continue
		kill -TERM "$pid" 2>/dev/null || true
	done
}

if [ "${2:-}" = --inner ]; then
	W="$3"
	R="$4"
	lv_inner_begin "$W/inner.tap"
	lv_private_dirs "$W" "$R"
	LV_PREFIX=(chroot "$R")
	trap 'lv_stop_libvirtd "$R"' EXIT
	LV_KERNEL=$W/vmlinuz
	LV_INITRD=$W/initrd.gz
	if lv_start_libvirtd; then
		tap ok "sid: libvirtd and virtlogd started in the chroot (libvirt $LV_VERSION)"
	else
		tap not-ok "sid: libvirtd and virtlogd started in the chroot" "$(tail -n 5 "$R/var/log/libvirt/libvirtd.log" 2>/dev/null)"
		exit 0
	fi

	# ---------------------------------------------------------------- lv-sid (system)
	S=$W/shares
	mkdir -p "$S/ro" "$S/nofile"
	echo "from the host" >"$S/ro/host-file"
	cat >"$S/ro/guest.sh" <<-'EOF'
		echo "read $(cat "$1/host-file")"
	EOF
	cat >"$S/nofile/guest.sh" <<-'EOF'
		setfattr -n user.guest -v guest-value "$1/guest-wrote" && echo "setfattr ok"
	EOF
	devs="$(lv_fs_xml "$W/vfsd" "$S" ro '' "<cache mode='none'/><sandbox mode='chroot'/>" "<readonly/>")
$(lv_fs_xml "$W/vfsd" "$S" nofile " xattr='on'" "<cache mode='always'/><sandbox mode='chroot'/><thread_pool size='2'/><openfiles max='5000'/>")"
	lv_domain_xml lv-sid "$W/lv-sid.console" ro,nofile power "" "$devs" >"$W/lv-sid.xml"
	con=$W/lv-sid.console
	lv_boot lv-sid "$W/lv-sid.xml" "$con"
	check "lv-sid: readonly: the guest's write fails with EROFS, nothing reaches the host" \
		"$(lv_console "$con" | grep 'write ro')" \
		sh -c "tr -d '\\r' <'$con' | grep -q 'VFSD: write ro failed: .*Read-only file system' && [ ! -e '$S/ro/guest-wrote' ]"
	check "lv-sid: readonly: the guest reads the host's file" "$(lv_console "$con" | grep 'ro: read')" \
		lv_console_has "$con" "VFSD: ro: read from the host"
	check "lv-sid: 'nofile': the host reads what the guest wrote, with its xattr" \
		"$(cat "$S/nofile/guest-wrote" 2>&1)" \
		sh -c "grep -qx 'written by the guest through nofile' '$S/nofile/guest-wrote' &&
			[ \"\$(getfattr --only-values -n user.guest '$S/nofile/guest-wrote')\" = guest-value ]"
	pids=$(lv_daemon_pids "$S/ro ")
	argv=$(lv_argv $pids)
	check "lv-sid: 'ro': libvirt ran vfsd with --shared-dir --cache never --sandbox chroot --readonly" \
		"argv: $argv" grep -qE -- "--shared-dir $S/ro --cache never --sandbox chroot .*--readonly" <<<"$argv"
	check "lv-sid: 'ro': vfsd's log: cache never, sandbox chroot, readonly on" \
		"$(grep -m1 sharing "$R"/var/log/libvirt/qemu/lv-sid-fs0-virtiofsd.log 2>&1)" \
		grep -q "sharing $S/ro on inherited fd .*cache never, sandbox chroot,.* readonly on" \
		"$R/var/log/libvirt/qemu/lv-sid-fs0-virtiofsd.log"
	pids=$(lv_daemon_pids "$S/nofile ")
	argv=$(lv_argv $pids)
	check "lv-sid: 'nofile': libvirt ran vfsd with --cache always --xattr --thread-pool-size=2 --rlimit-nofile=5000" \
		"argv: $argv" grep -qE -- "--shared-dir $S/nofile --cache always --sandbox chroot --xattr --thread-pool-size=2 --rlimit-nofile=5000" <<<"$argv"
	# (the soft limit: vfsd keeps a higher hard limit, src/sandbox/lockdown.c)
	lim=$(for p in $pids; do awk '/^Max open files/ { print $4 }' "/proc/$p/limits"; done | sort -u | tr '\n' ' ')
	check "lv-sid: 'nofile': vfsd runs with RLIMIT_NOFILE 5000 (soft limit)" "limits: $lim" [ "$lim" = "5000 " ]
	check "lv-sid: 'nofile': vfsd's log: cache always, thread pool 2, xattr on" \
		"$(grep -m1 sharing "$R"/var/log/libvirt/qemu/lv-sid-fs1-virtiofsd.log 2>&1)" \
		grep -q "sharing $S/nofile on inherited fd .*cache always, sandbox chroot,.* thread pool 2, xattr on" \
		"$R/var/log/libvirt/qemu/lv-sid-fs1-virtiofsd.log"

	# virsh save / restore (the same device-state path as migration).
	if "$W/vfsd" --print-capabilities | grep -q '"migrate-precopy"'; then
		t0=$(date +%s)
		out=$(lv_virsh save lv-sid "$W/lv-sid.save" 2>&1) && tap ok "lv-sid: virsh save ($(($(date +%s) - t0)) s)" ||
			tap not-ok "lv-sid: virsh save" "$out"
		check "lv-sid: after virsh save no vfsd is left" "$(lv_daemon_pids "$S/")" lv_no_daemons "$S/"
		out=$(lv_virsh restore "$W/lv-sid.save" 2>&1) && tap ok "lv-sid: virsh restore" ||
			tap not-ok "lv-sid: virsh restore" "$out"
		saved=1
	else
		out=$(lv_virsh save lv-sid "$W/lv-sid.save" 2>&1) && rc=0 || rc=$?
		tap_todo "lv-sid: virsh save / virsh restore" \
			"vfsd does not list migrate-precopy in --print-capabilities yet (vfsd migration, branch h/migcore); libvirt $LV_VERSION refuses: $(echo "$out" | tr '\n' ' ')"
		check "lv-sid: without migrate-precopy libvirt refuses virsh save and the guest keeps running" \
			"virsh save exited $rc: $out" sh -c "[ $rc != 0 ] && [ \"\$(chroot '$R' virsh -q -c qemu:///system domstate lv-sid)\" = running ]"
		saved=""
	fi
	lv_shutdown lv-sid "${saved:+after restore}"
	check "lv-sid: the guest read its file again${saved:+ after restore}" \
		"$(lv_console "$con" | tail -n 4 | tr '\n' '|')" lv_console_has "$con" "VFSD: reread nofile ok"
	check "lv-sid: the guest wrote again after the power button${saved:+ (after restore)}" \
		"$(lv_console "$con" | tail -n 4 | tr '\n' '|')" \
		sh -c "tr -d '\\r' <'$con' | grep -qx 'VFSD: write after the wait nofile ok' &&
			grep -qx 'written after the wait' '$S/nofile/guest-after-wait'"
	check "lv-sid: after virsh shutdown no vfsd is left" "$(lv_daemon_pids "$S/")" lv_no_daemons "$S/"
	lv_virsh undefine lv-sid >/dev/null 2>&1 || true
	lv_stop_libvirtd "$R"

	# ---------------------------------------------------------------- lv-session
	lv_session
	exit 0
fi

# ---------------------------------------------------------------- outer part
W=$(mktemp -d "${TMPDIR:-/tmp}/vfsd-libvirt-sid.XXXXXX")
chmod 0755 "$W"
if out=$("$SRC/tests/tools/sid-libvirt.sh" 2>"$W/sid-libvirt.log"); then
	eval "$out"
	tap ok "libvirt $SID_LIBVIRT_VERSION in the sid chroot (tests/tools/sid-libvirt.sh)"
else
	tap not-ok "libvirt in the sid chroot" "$(tail -n 5 "$W/sid-libvirt.log")"
	vm_finish libvirt-sid "$W"
fi
vm_assets
cp "$VM_KERNEL" "$W/vmlinuz"
cp "$VFSD" "$W/vfsd"
lv_initramfs "$W/initrd.gz"
chmod -R a+rX "$W"

# The unprivileged user of the session test, as tests/frontend/test_rootless.c creates it.
if ! id "$USER_NAME" >/dev/null 2>&1; then
	useradd --system --no-create-home --shell /usr/sbin/nologin "$USER_NAME"
fi
for f in /etc/subuid /etc/subgid; do
	grep -q "^$USER_NAME:" "$f" 2>/dev/null || echo "$USER_NAME:$SUB_BASE:$SUB_COUNT" >>"$f"
done

unshare --mount --propagation private "$LV_DIR/run-libvirt-sid.sh" "$VFSD" \
	--inner "$W" "$SID_ROOT" || tap not-ok "the libvirt part exited with an error" "status $?"
lv_inner_report "$W/inner.tap"
VM_DAEMON=("$VFSD, started by libvirt $SID_LIBVIRT_VERSION")
VFSD_VM_FLAGS=" "
VM_ACCEL_NAME="TCG (<domain type='qemu'>, QEMU of the sid chroot)"
vm_finish libvirt-sid "$W"
