#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The meson test `libvirt` (suite libvirt): Debian bookworm's own libvirt 9.0 starts guests with
# vfsd, as a libvirt user would run it. Usage: run-libvirt.sh BUILD/vfsd. TAP on stdout.
#
#   1. the Debian package is built (tests/pkg/build-deb.sh) and installed on this host with
#      dpkg -i (its dependencies must already be there: a clean bookworm has them);
#   2. in a private mount namespace (tests/libvirt/lib.sh) virtlogd and libvirtd are started
#      by hand, no systemd, and two TCG domains (type qemu, shared memfd memory, direct boot of
#      Debian's kernel with a busybox initramfs, guest-init.sh) are defined and started:
#      lv-options   <binary path='BUILD/vfsd'> and two filesystems that between them use every
#                   variant libvirt 9.0 can express: cache none + sandbox namespace + thread
#                   pool 1; cache always + sandbox chroot + thread pool 4 + xattr (9.0 refuses
#                   <readonly/> for virtiofs, "does not yet support read-only mode", and has no
#                   <openfiles>: run-libvirt-sid.sh tests both with libvirt 12.8).
#                   The guest mounts each, writes a file, sets and reads xattrs; the host checks
#                   the files, each daemon's argv and its own account of its options, the
#                   namespaces or chroot it runs in; `virsh shutdown` (the guest powers off on
#                   the ACPI button) must leave no vfsd behind;
#      lv-readme    README.md's libvirt snippets, extracted from README.md (readme-snippets.py,
#                   only the share directory replaced), i.e. <binary path='/usr/libexec/vfsd'>
#                   of the package, plus a filesystem without <binary path>: libvirt must find
#                   vfsd through the package's 40-vfsd.json, not QEMU's 50-qemu-virtiofsd.json;
#                   `virsh destroy` must leave no vfsd behind;
#   3. `dpkg --purge vfsd`: the host is left as it was found.
# virsh save/restore needs libvirt >= 11.3 and vfsd's migrate-precopy: run-libvirt-sid.sh.
# shellcheck disable=SC2034 # the LV_* settings are read by lib.sh
set -euo pipefail

VFSD=$(readlink -f "$1")
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [ "${2:-}" = --inner ]; then
	# The libvirt part, in its own mount namespace; "ok - X" lines go to fd 3 (the results file
	# the outer part numbers), the rest to stderr.
	W="$3"
	lv_inner_begin "$W/inner.tap"
	lv_private_dirs "$W"
	trap 'lv_stop_libvirtd ""' EXIT
	vm_assets
	LV_KERNEL=$VM_KERNEL
	LV_INITRD=$W/initrd.gz
	lv_initramfs "$LV_INITRD"
	if lv_start_libvirtd; then
		tap ok "libvirtd and virtlogd started by the test (libvirt $LV_VERSION)"
	else
		tap not-ok "libvirtd and virtlogd started by the test" "$(tail -n 5 /var/log/libvirt/libvirtd.log 2>/dev/null)"
		exit 0
	fi

	# ---------------------------------------------------------------- lv-options
	S=$W/shares
	mkdir -p "$S/none" "$S/always"
	echo "from the host" >"$S/always/host-file"
	setfattr -n user.host -v host-value "$S/always/host-file"
	# Per-share guest checks (guest-init.sh runs SHARE/guest.sh SHARE after its write).
	cat >"$S/none/guest.sh" <<-'EOF'
		setfattr -n user.guest -v x "$1/guest-wrote" 2>/dev/null && echo "setfattr ok" || echo "setfattr refused"
	EOF
	cat >"$S/always/guest.sh" <<-'EOF'
		setfattr -n user.guest -v guest-value "$1/guest-wrote" && echo "setfattr ok"
		echo "read user.host=$(getfattr --only-values -n user.host "$1/host-file")"
	EOF
	devs="$(lv_fs_xml "$VFSD" "$S" none '' "<cache mode='none'/><sandbox mode='namespace'/><thread_pool size='1'/>")
$(lv_fs_xml "$VFSD" "$S" always " xattr='on'" "<cache mode='always'/><sandbox mode='chroot'/><thread_pool size='4'/>")"
	lv_domain_xml lv-options "$W/lv-options.console" none,always power "" "$devs" >"$W/lv-options.xml"
	lv_boot lv-options "$W/lv-options.xml" "$W/lv-options.console"
	con="$W/lv-options.console"
	for t in none always; do
		check "lv-options: the guest mounted '$t'" "$(lv_console "$con" | tr '\n' '|')" lv_console_has "$con" "VFSD: mounted $t"
	done
	check "lv-options: the host reads what the guest wrote through 'none' and 'always'" \
		"$(cat "$S/none/guest-wrote" "$S/always/guest-wrote" 2>&1 | tr '\n' '|')" \
		sh -c "grep -qx 'written by the guest through none' '$S/none/guest-wrote' &&
			grep -qx 'written by the guest through always' '$S/always/guest-wrote'"
	check "lv-options: xattr on: the guest sets user.guest, the host sees it" \
		"$(getfattr -n user.guest "$S/always/guest-wrote" 2>&1)" \
		sh -c "[ \"\$(getfattr --only-values -n user.guest '$S/always/guest-wrote')\" = guest-value ]"
	check "lv-options: xattr on: the guest reads the host's user.host" "$(grep 'always: read' "$con")" \
		lv_console_has "$con" "VFSD: always: read user.host=host-value"
	check "lv-options: no xattr: the guest's setfattr is refused" "$(grep 'none: setfattr' "$con")" \
		lv_console_has "$con" "VFSD: none: setfattr refused"
	# Each daemon: how libvirt started it, what it says it runs with, where it runs.
	declare -A want_argv=(
		[none]="cache=none,sandbox=namespace --thread-pool-size=1"
		[always]="cache=always,sandbox=chroot,xattr --thread-pool-size=4"
	)
	declare -A want_opts=(
		[none]="cache never, sandbox namespace, .*thread pool 1, xattr off,.* readonly off"
		[always]="cache always, sandbox chroot, .*thread pool 4, xattr on,.* readonly off"
	)
	i=0
	for t in none always; do
		pids=$(lv_daemon_pids "source=$S/$t")
		argv=$(lv_argv $pids)
		check "lv-options: '$t': libvirt ran vfsd with '${want_argv[$t]}'" "argv: $argv" \
			grep -qF -- "${want_argv[$t]}" <<<"$argv"
		logf=/var/log/libvirt/qemu/lv-options-fs$i-virtiofsd.log
		check "lv-options: '$t': vfsd's log: ${want_opts[$t]}" "$(grep -m1 'sharing' "$logf" 2>&1)" \
			grep -q "sharing $S/$t on inherited fd .*${want_opts[$t]}" "$logf"
		case $t in
		none) # the namespace sandbox: a supervisor and the serving child in new namespaces
			newns=0
			for p in $pids; do
				[ "$(readlink "/proc/$p/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] &&
					[ "$(readlink "/proc/$p/ns/pid")" != "$(readlink /proc/self/ns/pid)" ] && newns=1
			done
			check "lv-options: 'none': sandbox namespace: the serving vfsd has its own mount and pid namespaces" \
				"pids $pids" [ "$newns" = 1 ]
			;;
		*)
			root=$(for p in $pids; do readlink "/proc/$p/root"; done | sort -u | tr '\n' ' ')
			check "lv-options: '$t': sandbox chroot: vfsd's root is the share" "root: $root" \
				[ "$root" = "$S/$t " ]
			;;
		esac
		i=$((i + 1))
	done
	lv_shutdown lv-options
	check "lv-options: the guest saw the power button" "$(tail -n 3 "$con")" \
		lv_console_has "$con" "VFSD: power button pressed"
	check "lv-options: after virsh shutdown no vfsd is left" "$(lv_daemon_pids "$S/")" lv_no_daemons "$S/"

	# ---------------------------------------------------------------- lv-readme
	R=$W/readme
	mkdir -p "$R/share" "$R/found"
	if python3 "$LV_DIR/readme-snippets.py" "$SRC/README.md" "$R/share" "$R" 2>"$R/err"; then
		tap ok "README.md's libvirt snippets extracted (tags $(cat "$R/tags"))"
	else
		tap not-ok "README.md's libvirt snippets extracted" "$(cat "$R/err")"
	fi
	found="    <filesystem type='mount' accessmode='passthrough'>
      <driver type='virtiofs' queue='1024'/>
      <source dir='$R/found'/><target dir='found'/>
    </filesystem>"
	lv_domain_xml lv-readme "$W/lv-readme.console" "$(cat "$R/tags"),found" power \
		"$(cat "$R/top.xml")" "$(cat "$R/devices.xml")
$found" >"$W/lv-readme.xml"
	con="$W/lv-readme.console"
	lv_boot lv-readme "$W/lv-readme.xml" "$con" "README's snippets + a filesystem without <binary>"
	for t in $(tr ',' ' ' <"$R/tags"); do
		check "lv-readme: README's share '$t': the guest mounted it and the host reads its file" \
			"$(grep VFSD "$con" | tr '\n' '|')" \
			sh -c "tr -d '\r' <'$con' | grep -qx 'VFSD: mounted $t' && grep -qx 'written by the guest through $t' '$R/share/guest-wrote'"
	done
	pids=$(lv_daemon_pids "source=$R/share")
	exe=$(for p in $pids; do readlink "/proc/$p/exe"; done | sort -u | tr '\n' ' ')
	check "lv-readme: README's share is served by the package's /usr/libexec/vfsd" "exe: $exe" \
		[ "$exe" = "/usr/libexec/vfsd " ]
	check "lv-readme: without <binary path>: the guest mounted 'found' and the host reads its file" \
		"$(grep VFSD "$con" | tr '\n' '|')" \
		sh -c "tr -d '\r' <'$con' | grep -qx 'VFSD: mounted found' && grep -qx 'written by the guest through found' '$R/found/guest-wrote'"
	pids=$(lv_daemon_pids "source=$R/found")
	exe=$(for p in $pids; do readlink "/proc/$p/exe"; done | sort -u | tr '\n' ' ')
	check "lv-readme: without <binary path> libvirt chose vfsd by 40-vfsd.json (not QEMU's 50-qemu-virtiofsd.json)" \
		"exe: '$exe', descriptors: $(ls /usr/share/qemu/vhost-user/ | tr '\n' ' ')" [ "$exe" = "/usr/libexec/vfsd " ]
	lv_virsh destroy lv-readme >/dev/null 2>&1 || true
	check "lv-readme: after virsh destroy no vfsd is left" "$(lv_daemon_pids "$R/")" lv_no_daemons "$R/"
	check "lv-readme: virsh undefine" "" lv_virsh undefine lv-readme
	check "lv-options: virsh undefine" "" lv_virsh undefine lv-options
	exit 0
fi

# ---------------------------------------------------------------- outer part: the package
W=$(mktemp -d "${TMPDIR:-/tmp}/vfsd-libvirt.XXXXXX")
installed=""
cleanup() {
	if [ -n "$installed" ]; then
		dpkg_retry --purge vfsd >"$W/purge.log" 2>&1 || cat "$W/purge.log" >&2
	fi
}
trap cleanup EXIT
# dpkg_retry ARGS...: dpkg, waiting up to a minute for a lock another apt/dpkg holds.
dpkg_retry() {
	local i
	for ((i = 0; i < 30; i++)); do
		dpkg "$@" >"$W/dpkg.out" 2>&1 && { cat "$W/dpkg.out"; return 0; }
		cat "$W/dpkg.out"
		grep -q 'lock' "$W/dpkg.out" || return 1
		sleep 2
	done
	return 1
}

vm_log "building the Debian package (tests/pkg/build-deb.sh)"
t0=$(date +%s)
"$SRC/tests/pkg/build-deb.sh" "$SRC" "$W/deb" && rc=0 || rc=$?
deb=$(ls "$W"/deb/vfsd_*.deb 2>/dev/null | head -n 1)
if [ "$rc" = 0 ] && [ -n "$deb" ]; then
	tap ok "dpkg-buildpackage built ${deb##*/} ($(($(date +%s) - t0)) s)"
else
	tap not-ok "dpkg-buildpackage" "$(tail -n 20 "$W/deb/build.log" 2>/dev/null)"
fi
# "Installs on a clean bookworm": every dependency is in the dependency closure of the Essential
# packages and apt, i.e. on every bookworm system (dpkg -i below adds no package).
if [ -n "$deb" ]; then
	deps=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/(.*//; s/[[:space:]]//g' | grep .)
	# shellcheck disable=SC2046 # a list of package names
	base=$(apt-cache depends --recurse --installed --no-recommends --no-suggests --no-conflicts \
		--no-breaks --no-replaces --no-enhances apt $(dpkg-query -W -f='${Essential} ${Package}\n' |
		awk '$1 == "yes" { print $2 }') 2>/dev/null | grep -v '^ ' | sort -u)
	missing=$(comm -23 <(sort -u <<<"$deps") <(echo "$base"))
	[ -n "$deps" ] && [ -z "$missing" ] && deps_ok=1 || deps_ok=0
	check "the package depends only on what every bookworm has ($(echo $deps))" \
		"not pulled in by the Essential packages or apt: $missing" [ "$deps_ok" = 1 ]
fi
if dpkg-query -W -f='${Status}' vfsd 2>/dev/null | grep -q 'ok installed'; then
	tap not-ok "dpkg -i on this host" "a vfsd package is already installed; the test will not replace it"
elif [ -n "$deb" ] && dpkg_retry -i "$deb" >"$W/dpkg.log" 2>&1; then
	installed=1
	tap ok "dpkg -i ${deb##*/} on this bookworm host"
else
	tap not-ok "dpkg -i on this host" "$(cat "$W/dpkg.log" 2>/dev/null)"
fi

unshare --mount --propagation private "$LV_DIR/run-libvirt.sh" "$VFSD" --inner "$W" ||
	tap not-ok "the libvirt part exited with an error" "status $?"
lv_inner_report "$W/inner.tap"

if [ -n "$installed" ]; then
	installed=""
	if dpkg_retry --purge vfsd >"$W/purge.log" 2>&1 && [ ! -e /usr/libexec/vfsd ] &&
		[ ! -e /usr/share/qemu/vhost-user/40-vfsd.json ]; then
		tap ok "dpkg --purge vfsd: the host is left as found"
	else
		tap not-ok "dpkg --purge vfsd" "$(cat "$W/purge.log")"
	fi
fi
VM_DAEMON=("$VFSD and the package's /usr/libexec/vfsd, started by libvirt")
VFSD_VM_FLAGS=" "
VM_ACCEL_NAME="TCG (<domain type='qemu'>)"
vm_finish libvirt "$W"
