# shellcheck shell=bash
# tests/libvirt/lib.sh: a real libvirtd for the tests, started by the test itself (no systemd),
# and the pieces of a small TCG domain with virtiofs filesystems. Sourced after tests/vm/lib.sh
# (which gives tap/check/vm_finish, vm_assets and vm_build_initramfs).
#
# libvirtd runs in a private mount namespace (lv_enter_namespace re-executes the calling script
# under `unshare --mount`): /var is an overlay whose changes land in the work directory, /run is
# a tmpfs and /etc/libvirt a copy with our qemu.conf, so the daemon's state, sockets, logs and
# configuration vanish with the test and a libvirt the host may run is not touched. QEMU and the
# virtiofs daemons libvirt starts live in that namespace too and see the host's files.

# lv_enter_namespace SCRIPT ARGS...: re-run SCRIPT in a private mount namespace (once).
lv_enter_namespace() {
	if [ -z "${VFSD_LV_IN_NS:-}" ]; then
		VFSD_LV_IN_NS=1 exec unshare --mount --propagation private "$@"
	fi
}

# lv_private_dirs WORK: the overlay on /var, the tmpfs on /run and the /etc/libvirt copy, with
# the qemu.conf the tests need (below). WORK must not be under /var or /run.
lv_private_dirs() {
	local w="$1"
	mkdir -p "$w/var-upper" "$w/var-work" "$w/etc-libvirt"
	mount -t overlay overlay -o "lowerdir=/var,upperdir=$w/var-upper,workdir=$w/var-work" /var
	mount -t tmpfs -o mode=0755 lv-run /run
	[ -d /etc/libvirt ] && cp -a /etc/libvirt/. "$w/etc-libvirt/"
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
	mount --bind "$w/etc-libvirt" /etc/libvirt
	# libvirt resolves its build-time QEMU user (libvirt-qemu) before it reads qemu.conf; the
	# package that creates it (libvirt-daemon-system) also starts a system libvirtd, so the user
	# exists in this namespace only.
	if ! getent passwd libvirt-qemu >/dev/null; then
		cp /etc/passwd "$w/passwd"
		cp /etc/group "$w/group"
		echo "libvirt-qemu:x:64055:64055:libvirt QEMU (vfsd tests):/var/lib/libvirt:/usr/sbin/nologin" >>"$w/passwd"
		echo "libvirt-qemu:x:64055:" >>"$w/group"
		mount --bind "$w/passwd" /etc/passwd
		mount --bind "$w/group" /etc/group
	fi
	mkdir -p /var/log/libvirt/qemu /var/lib/libvirt/qemu /var/cache/libvirt/qemu /run/libvirt
}

LV_URI=qemu:///system
lv_virsh() { virsh -q -c "$LV_URI" "$@"; }

# lv_start_libvirtd [PREFIX]: virtlogd and libvirtd as daemons (PREFIX: a command to run them
# through, e.g. chroot DIR); waits until virsh answers. Sets LV_VERSION.
lv_start_libvirtd() {
	local i
	"$@" virtlogd --daemon 9>&- 8>&- || return 1
	"$@" libvirtd --daemon 9>&- 8>&- || return 1
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
