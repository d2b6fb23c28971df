# shellcheck shell=bash
# tests/libvirt/lib.sh: a real libvirtd for the tests, started by the test itself (no systemd),
# and the pieces of a small TCG domain with virtiofs filesystems. Sets LV_DIR (this directory)
# and SRC (the source tree) and sources tests/vm/lib.sh (tap/check/vm_finish, vm_assets and
# vm_build_initramfs).
#
# libvirtd runs in a private mount namespace (the test scripts run their libvirt part under
# `unshare --mount`): /var is an overlay whose changes land in the work directory, /run is
# a tmpfs and /etc/libvirt a copy with our qemu.conf, so the daemon's state, sockets, logs and
# configuration vanish with the test and a libvirt the host may run is not touched. QEMU and the
# virtiofs daemons libvirt starts live in that namespace too and see the host's files.

LV_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$LV_DIR/../.." && pwd)
# shellcheck source=../vm/lib.sh
. "$SRC/tests/vm/lib.sh"

# lv_private_dirs WORK [ROOT]: the overlay on ROOT/var, the tmpfs on ROOT/run and the
# ROOT/etc/libvirt copy with the qemu.conf the tests need (below); ROOT is "" (this host) or a
# chroot (the sid one), which then also gets /proc, /sys, /dev and WORK at its own path.
# WORK must not be under /var or /run.
lv_private_dirs() {
	local w="$1" r="${2:-}"
	mkdir -p "$w/var-upper" "$w/var-work" "$w/etc-libvirt"
	if [ -n "$r" ]; then
		mount -t proc proc "$r/proc"
		mount -t sysfs sys "$r/sys"
		mount --rbind /dev "$r/dev"
		mount -t tmpfs -o mode=1777 lv-tmp "$r/tmp"
		mkdir -p "$r$w"
		mount --bind "$w" "$r$w"
	fi
	mount -t overlay overlay -o "lowerdir=$r/var,upperdir=$w/var-upper,workdir=$w/var-work" "$r/var"
	mount -t tmpfs -o mode=0755 lv-run "$r/run"
	if [ -n "$r" ]; then
		# sid-qemu.sh points the chroot's absolute firmware symlinks at their host path
		# (ROOT/usr/share/...): make that path exist inside the chroot too.
		mkdir -p "$r$r"
		mount --bind "$r" "$r$r"
	fi
	[ -d "$r/etc/libvirt" ] && cp -a "$r/etc/libvirt/." "$w/etc-libvirt/"
	# QEMU as root, no security driver (AppArmor/SELinux are not active here), no per-domain
	# mount namespace (not possible inside a container's or chroot's mount setup) and no
	# cgroups (no systemd, and the controllers may not be writable); the daemons' and QEMU's
	# output goes through virtlogd as by default.
	cat >"$w/etc-libvirt/qemu.conf" <<-'EOF'
		user = "root"
		group = "root"
		dynamic_ownership = 0
		security_driver = "none"
		namespaces = [ ]
		cgroup_controllers = [ ]
		virtiofsd_debug = 1
	EOF
	mount --bind "$w/etc-libvirt" "$r/etc/libvirt"
	# libvirt resolves its build-time QEMU user (libvirt-qemu) before it reads qemu.conf; the
	# package that creates it (libvirt-daemon-system) also starts a system libvirtd, so the user
	# exists in this namespace only.
	cp "$r/etc/passwd" "$w/passwd"
	cp "$r/etc/group" "$w/group"
	if ! grep -q '^libvirt-qemu:' "$w/passwd"; then
		echo "libvirt-qemu:x:64055:64055:libvirt QEMU (vfsd tests):/var/lib/libvirt:/usr/sbin/nologin" >>"$w/passwd"
		echo "libvirt-qemu:x:64055:" >>"$w/group"
	fi
	mount --bind "$w/passwd" "$r/etc/passwd"
	mount --bind "$w/group" "$r/etc/group"
	mkdir -p "$r/var/log/libvirt/qemu" "$r/var/lib/libvirt/qemu" "$r/var/cache/libvirt/qemu" \
		"$r/run/libvirt"
}

# LV_PREFIX: the command libvirtd, virtlogd and virsh run through (e.g. chroot DIR), LV_URI
# the connection.
LV_PREFIX=()
LV_URI=qemu:///system
lv_virsh() { "${LV_PREFIX[@]}" virsh -q -c "$LV_URI" "$@"; }

# lv_start_libvirtd: virtlogd and libvirtd as daemons; waits until virsh answers. Sets
# LV_VERSION.
lv_start_libvirtd() {
	local i
	"${LV_PREFIX[@]}" virtlogd --daemon 9>&- 8>&- || return 1
	"${LV_PREFIX[@]}" libvirtd --daemon 9>&- 8>&- || return 1
	for ((i = 0; i < 100; i++)); do
		LV_VERSION=$(lv_virsh version --daemon 2>/dev/null | sed -n 's/^Running against daemon: *//p') &&
			[ -n "$LV_VERSION" ] && return 0
		sleep 0.3
	done
	return 1
}

# lv_stop_libvirtd ROOT: destroy what still runs, then stop libvirtd and virtlogd by the pid
# files they wrote in our private /run (ROOT: the chroot they run in, or "").
lv_stop_libvirtd() {
	local root="${1:-}" d f pid
	for d in $(lv_virsh list --name 2>/dev/null); do
		lv_virsh destroy "$d" >/dev/null 2>&1 || true
	done
	for f in "$root/run/libvirtd.pid" "$root/run/virtlogd.pid"; do
		pid=$(cat "$f" 2>/dev/null) || continue
		kill -TERM "$pid" 2>/dev/null || continue
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
	done
}

# lv_initramfs OUT: the guest's initramfs: busybox, virtio-pci/fuse/virtiofs, the ACPI button
# and evdev (for virsh shutdown), guest-init.sh as /init, and the host's setfattr/getfattr with
# the libraries they need (for the xattr checks). Needs vm_assets first.
lv_initramfs() {
	local out="$1" extra f
	# shellcheck disable=SC2034 # read by vm_build_initramfs
	VM_MODULES_WANTED="virtio_pci fuse virtiofs button evdev"
	vm_build_initramfs "$out" "$LV_DIR/guest-init.sh"
	extra=$(mktemp -d "${TMPDIR:-/tmp}/vfsd-lv-extra.XXXXXX")
	mkdir -p "$extra/bin"
	for f in /usr/bin/setfattr /usr/bin/getfattr; do
		cp "$f" "$extra/bin/"
		ldd "$f" | grep -o '/[^ ]*' | while read -r lib; do
			mkdir -p "$extra$(dirname "$lib")"
			cp -L "$lib" "$extra$lib"
		done
	done
	# A second archive after the first: the kernel unpacks both into the same root.
	(cd "$extra" && find . -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc --quiet --owner=0:0 | gzip -1) >>"$out"
	rm -rf "$extra"
}

# lv_domain_xml NAME CONSOLE TAGS WAIT TOP DEVICES: a TCG domain (type qemu) that boots
# $LV_KERNEL with $LV_INITRD directly, its serial console in the file CONSOLE; TAGS (comma
# separated) are mounted by the guest, WAIT=power makes it wait for virsh shutdown. TOP: extra
# domain children (default: shared memfd memory, which vhost-user needs), DEVICES: the
# <filesystem> elements. Machine pc with ACPI (the power button, and virtio-pci power states).
lv_domain_xml() {
	local name="$1" console="$2" tags="$3" wait="$4" top="${5:-}" devs="$6"
	[ -n "$top" ] || top="<memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>"
	cat <<-EOF
		<domain type='qemu'>
		  <name>$name</name>
		  <memory unit='MiB'>256</memory>
		  <vcpu>1</vcpu>
		$top
		  <os>
		    <type arch='x86_64' machine='pc'>hvm</type>
		    <kernel>$LV_KERNEL</kernel>
		    <initrd>$LV_INITRD</initrd>
		    <cmdline>console=ttyS0 quiet panic=-1 vfsd.tags=$tags vfsd.wait=$wait</cmdline>
		  </os>
		  <features><acpi/></features>
		  <cpu mode='maximum'/>
		  <on_poweroff>destroy</on_poweroff>
		  <on_reboot>destroy</on_reboot>
		  <on_crash>destroy</on_crash>
		  <devices>
		$devs
		    <serial type='file'><source path='$console'/><target port='0'/></serial>
		    <controller type='usb' model='none'/>
		    <memballoon model='none'/>
		  </devices>
		</domain>
	EOF
}

# lv_console FILE: the guest's serial console without the terminal's carriage returns.
lv_console() { tr -d '\r' <"$1" 2>/dev/null; }
# lv_console_has FILE LINE: the console has exactly this line.
lv_console_has() { lv_console "$1" | grep -qxF -- "$2"; }

# lv_wait_console FILE SECONDS: wait until the guest printed "VFSD: done" (its checks ran).
lv_wait_console() {
	local i
	for ((i = 0; i < $2 * 2; i++)); do
		lv_console_has "$1" "VFSD: done" && return 0
		sleep 0.5
	done
	return 1
}

# lv_no_daemons PATTERN: true once no process with PATTERN in its command line is left (within
# 10 s: libvirt stops the daemons after QEMU has gone).
lv_no_daemons() {
	local i
	for ((i = 0; i < 50; i++)); do
		[ -z "$(lv_daemon_pids "$1")" ] && return 0
		sleep 0.2
	done
	return 1
}

# lv_boot NAME XMLFILE CONSOLE [WHAT]: virsh define and start, then wait for the guest's checks
# ("VFSD: done" on CONSOLE), each a TAP line "NAME: ..." (WHAT: said of the define).
lv_boot() {
	local name="$1" xml="$2" con="$3" out t0
	out=$(lv_virsh define "$xml" 2>&1) && tap ok "$name: virsh define${4:+ ($4)}" ||
		tap not-ok "$name: virsh define${4:+ ($4)}" "$out"
	t0=$(date +%s)
	out=$(lv_virsh start "$name" 2>&1) && tap ok "$name: virsh start ($(($(date +%s) - t0)) s)" ||
		tap not-ok "$name: virsh start" "$out"
	if [ "$(lv_virsh domstate "$name" 2>&1)" = running ] && lv_wait_console "$con" 180; then
		tap ok "$name: the guest ran its checks ($(($(date +%s) - t0)) s after start)"
	else
		tap not-ok "$name: the guest ran its checks" "no 'VFSD: done' on the console within 180 s"
	fi
}

# lv_shutdown NAME [WHEN]: virsh shutdown; the guest (waiting for the power button) must power
# off within 60 s, else it is destroyed. A TAP line (WHEN: appended to "virsh shutdown").
lv_shutdown() {
	local t0
	t0=$(date +%s)
	lv_virsh shutdown "$1" >/dev/null 2>&1 || true
	if lv_wait_off "$1" 60; then
		tap ok "$1: virsh shutdown${2:+ $2}: the guest powered off ($(($(date +%s) - t0)) s)"
	else
		tap not-ok "$1: virsh shutdown${2:+ $2}: the guest powered off" "still $(lv_virsh domstate "$1") after 60 s"
		lv_virsh destroy "$1" >/dev/null 2>&1 || true
	fi
}

# lv_fs_xml BINARY DIR TAG BINARY_ATTRS BINARY_BODY [EXTRA]: a virtiofs <filesystem> for the
# directory DIR/TAG with tag TAG, started as <binary path='BINARY' BINARY_ATTRS>BINARY_BODY;
# EXTRA: more children (<readonly/>, <idmap>...).
lv_fs_xml() {
	printf "    <filesystem type='mount' accessmode='passthrough'>\n"
	printf "      <driver type='virtiofs' queue='1024'/>\n"
	printf "      <binary path='%s'%s>%s</binary>\n" "$1" "$4" "$5"
	printf "      <source dir='%s'/><target dir='%s'/>%s\n    </filesystem>\n" "$2/$3" "$3" "${6:-}"
}

# lv_wait_off NAME SECONDS: wait until the domain is no longer running.
lv_wait_off() {
	local i
	for ((i = 0; i < $2 * 2; i++)); do
		[ "$(lv_virsh domstate "$1" 2>/dev/null)" = "shut off" ] && return 0
		sleep 0.5
	done
	return 1
}

# lv_daemon_pids PATTERN: pids of processes whose command line contains PATTERN (the share
# directories are unique to a test run, so this finds only the daemons libvirt started for us).
lv_daemon_pids() {
	local p
	for p in /proc/[0-9]*; do
		[ "${p#/proc/}" = "$BASHPID" ] && continue
		{ tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -qF -- "$1" && echo "${p#/proc/}"
	done
	return 0
}

# lv_argv PID...: the command line of the first PID, its arguments separated by spaces.
lv_argv() {
	[ -n "${1:-}" ] && { tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null
	return 0
}

# lv_inner_begin RESULTS: for the part of a test that runs in the private namespace: "ok - X"
# and "not ok - X[ # TODO why]" lines go to RESULTS (lv_inner_report numbers them), everything
# else to stderr.
lv_inner_begin() {
	exec 3>>"$1" 1>&2
	tap() {
		if [ "$1" = ok ]; then echo "ok - $2" >&3; else echo "not ok - $2${3:+: $3}" >&3; fi
		echo "[libvirt] $1 - $2${3:+: $3}"
	}
	# tap_todo DESCRIPTION WHY: a known gap, reported as a TAP TODO (not a failure).
	tap_todo() {
		echo "not ok - $1 # TODO $2" >&3
		echo "[libvirt] TODO - $1: $2"
	}
}

# lv_inner_report RESULTS: the lines lv_inner_begin's tap wrote, numbered (TODOs do not count
# as failures).
lv_inner_report() {
	local line
	[ -e "$1" ] || return 0
	while IFS= read -r line; do
		case "$line" in
		"not ok - "*" # TODO "*) n=$((n + 1)) && echo "not ok $n - ${line#not ok - }" ;;
		"ok - "*) tap ok "${line#ok - }" ;;
		"not ok - "*) tap not-ok "${line#not ok - }" ;;
		esac
	done <"$1"
}
