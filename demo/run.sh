#!/usr/bin/env bash
# demo/run.sh: boot a Linux guest whose root file system is a plain host directory, served by
# vfsd over virtio-fs, plus a second shared directory; the guest reads and writes both, then
# the host shows what the guest wrote.
#
#   ./demo/run.sh            (as root, on Debian; installs what is missing with apt-get)
#   ./demo/run.sh --coherence   instead: two guests share one directory, each through its own
#                            vfsd --coherence=table (docs/coherence.md); a change made in guest
#                            A or on the host is seen at once in guest B. Needs QEMU 11.1 from
#                            a Debian sid chroot and the patched fuse.ko/virtiofs.ko for the
#                            bookworm guest kernel, both built on first use (several minutes,
#                            ~300 MB of Debian packages; tests/vm/run-vm-coherence.sh)
#
# Environment (optional):
#   VFSD_DEMO_DIR    where the demo's directories go (default /tmp/vfsd-demo; recreated)
#   VFSD_DAEMON_CMD  run another vhost-user-fs daemon instead of build/vfsd, e.g.
#                    "tests/tools/rust-virtiofsd.sh run"
#   VFSD_VM_FLAGS    daemon flags (default: --xattr)
#   VFSD_CACHE       cache for the guest kernel (default /var/cache/vfsd-test)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source-path=SCRIPTDIR/../tests/vm source=lib.sh
. "$repo/tests/vm/lib.sh"

step=0
bold="" red="" plain=""
if [ -t 1 ]; then bold=$'\033[1m' red=$'\033[31m' plain=$'\033[0m'; fi
step() {
	step=$((step + 1))
	printf '\n%s==> Step %d: %s%s\n' "$bold" "$step" "$*" "$plain"
}
info() { printf '    %s\n' "$*"; }
die() {
	printf '\n%sdemo failed: %s%s\n' "$red" "$*" "$plain" >&2
	exit 1
}

coherence=0
case "${1:-}" in
"") ;;
--coherence) coherence=1 ;;
*) die "unknown argument '$1' (none, or --coherence)" ;;
esac
[ "$(id -u)" = 0 ] || die "run me as root (QEMU, apt-get, and a root-owned guest file system)"

# ------------------------------------------------------------------------------------------
step "Host packages"
pkgs=(meson ninja-build gcc pkg-config libseccomp-dev libcap-ng-dev qemu-system-x86
	busybox-static cpio kmod python3)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	info "installing: ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
		>/dev/null
else
	info "all present: ${pkgs[*]}"
fi

# ------------------------------------------------------------------------------------------
if [ -n "${VFSD_DAEMON_CMD:-}" ]; then
	step "Daemon: using VFSD_DAEMON_CMD=$VFSD_DAEMON_CMD (not building vfsd)"
	vm_daemon_cmd ""
else
	step "Build vfsd (meson + ninja)"
	if [ ! -f "$repo/build/build.ninja" ]; then
		info "meson setup build"
		meson setup "$repo/build" "$repo" >/dev/null || die "meson setup failed"
	fi
	info "ninja -C build vfsd"
	ninja -C "$repo/build" vfsd >/dev/null || die "building vfsd failed (run: ninja -C build vfsd)"
	info "built $repo/build/vfsd"
	vm_daemon_cmd "$repo/build/vfsd"
fi

# ------------------------------------------------------------------------------------------
if [ "$coherence" = 1 ]; then
	[ -z "${VFSD_DAEMON_CMD:-}" ] || die "--coherence needs vfsd (unset VFSD_DAEMON_CMD)"
	step "Two guests, one shared directory, a vfsd --coherence=table for each"
	info "guest kernel (bookworm), patched fuse.ko/virtiofs.ko (guest/build-modules.sh) and"
	info "QEMU 11.1 (Debian sid chroot): built or downloaded on first use, then cached"
	mkdir -p "${VFSD_DEMO_DIR:-/tmp/vfsd-demo}"
	rcfile="${VFSD_DEMO_DIR:-/tmp/vfsd-demo}/coherence.rc"
	{
		VFSD_COH_MODE=demo "$repo/tests/vm/run-vm-coherence.sh" "$repo/build/vfsd" 2>&1 &&
			rc=0 || rc=$?
		echo "$rc" >"$rcfile"
	} | grep -v '^\[vm\]\|^ok \|^1\.\.\|^#' || true
	[ "$(cat "$rcfile")" = 0 ] || die "the coherence demo failed (output above)"
	echo
	echo "Demo complete: guest B saw guest A's and the host's changes as they happened."
	exit 0
fi

# ------------------------------------------------------------------------------------------
step "Guest kernel (Debian's linux-image-amd64, downloaded and unpacked, not installed)"
vm_assets
info "kernel $VM_KVER: $VM_KERNEL"

# ------------------------------------------------------------------------------------------
step "A root file system in a host directory"
demo="${VFSD_DEMO_DIR:-/tmp/vfsd-demo}"
case "$demo" in /*) ;; *) die "VFSD_DEMO_DIR must be an absolute path" ;; esac
rm -rf "$demo"
rootfs="$demo/rootfs"
shared="$demo/shared"
mkdir -p "$demo" "$shared"
mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,root,mnt/shared}
chmod 1777 "$rootfs/tmp"
cp /bin/busybox "$rootfs/bin/busybox"
# One symlink per busybox applet (bin/ls -> /bin/busybox, ...).
"$rootfs/bin/busybox" --list-full | while read -r applet; do
	[ -e "$rootfs/$applet" ] || ln -s /bin/busybox "$rootfs/$applet"
done
echo "vfsd-demo" >"$rootfs/etc/hostname"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\n' >"$rootfs/etc/group"
ln -s /proc/mounts "$rootfs/etc/mtab"
cat >"$rootfs/sbin/demo-init" <<'EOF'
#!/bin/sh
# PID 1 of the demo guest, read from the host directory that is the guest's root.
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
hostname -F /etc/hostname
say() { echo; echo "--- $*"; }
say "The guest's root file system is a virtio-fs share:"
grep ' / ' /proc/mounts
say "Its /etc/hostname, written by the host: $(cat /etc/hostname)"
say "Mounting the second share (tag 'shared') on /mnt/shared"
mount -t virtiofs shared /mnt/shared && ls -l /mnt/shared
say "Reading a host file: cat /mnt/shared/hello.txt"
cat /mnt/shared/hello.txt
say "Writing a new file and appending to it"
echo "Hello host, this is the guest ($(uname -r)), at $(date -u '+%F %T') UTC." >/mnt/shared/from-guest.txt
echo "A second line, appended with >>." >>/mnt/shared/from-guest.txt
cat /mnt/shared/from-guest.txt
echo "the guest was here" >/root/guest-was-here
say "mount | grep virtiofs"
mount | grep virtiofs
say "df -h /mnt/shared, and stat -f / (busybox df skips a device named 'rootfs')"
df -h /mnt/shared
stat -f -c '/: %b blocks of %S bytes, %a available' /
say "Powering off"
umount /mnt/shared
sync
poweroff -f
EOF
chmod 0755 "$rootfs/sbin/demo-init"
info "$rootfs: busybox with $(find "$rootfs" -type l | wc -l) applet links, /etc, /sbin/demo-init"
info "(kernel modules are not needed in it: fuse and virtiofs load from the initramfs)"

echo "Hello guest! This file was written on the host ($(hostname)) at $(date -u '+%F %T') UTC." \
	>"$shared/hello.txt"
printf 'fruit,count\napples,3\npears,5\n' >"$shared/inventory.csv"
info "$shared: hello.txt, inventory.csv"

# ------------------------------------------------------------------------------------------
step "A tiny initramfs: load virtio/fuse/virtiofs, mount the root share, switch_root"
init="$demo/initramfs-init"
cat >"$init" <<'EOF'
#!/bin/sh
export PATH=/bin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo 1 >/proc/sys/kernel/printk
for m in $(cat /modules.list); do insmod "/lib/modules/$m"; done
echo "initramfs: mounting virtiofs tag 'rootfs' on /newroot"
if ! mount -t virtiofs rootfs /newroot; then
	echo "initramfs: mount failed"; poweroff -f
fi
umount /proc /sys /dev
echo "initramfs: switch_root to the host directory, running /sbin/demo-init"
exec switch_root /newroot /sbin/demo-init
EOF
VM_MODULES_WANTED="virtio_pci fuse virtiofs"
VM_INITRD="$demo/initramfs.cpio.gz"
vm_build_initramfs "$VM_INITRD" "$init"
info "$VM_INITRD ($(du -h "$VM_INITRD" | cut -f1)); modules: $VM_MODULES_WANTED (and dependencies)"

# ------------------------------------------------------------------------------------------
step "Two vfsd instances: tag 'rootfs' serves $rootfs, tag 'shared' serves $shared"
trap vm_kill_daemons EXIT
vm_start_daemon rootfs "$demo/rootfs.sock" "$rootfs" "$demo/vfsd-rootfs.log"
vm_start_daemon shared "$demo/shared.sock" "$shared" "$demo/vfsd-shared.log"
info "sockets: $demo/rootfs.sock, $demo/shared.sock; logs: $demo/vfsd-*.log"

# ------------------------------------------------------------------------------------------
step "Boot the guest (QEMU); its console follows"
qemu_args=()
mapfile -t -O 0 qemu_args < <(vm_dev_virtiofs "$demo/rootfs.sock" rootfs 0)
mapfile -t -O "${#qemu_args[@]}" qemu_args < <(vm_dev_virtiofs "$demo/shared.sock" shared 1)
start=$(date +%s)
VFSD_VM_TIMEOUT="${VFSD_VM_TIMEOUT:-300}" vm_qemu "$demo/console.log" "${qemu_args[@]}"
info "QEMU exited with status $VM_QEMU_RC after $(($(date +%s) - start)) s"
ok=1
for d in rootfs shared; do
	if vm_stop_daemon "$d" 2>/dev/null; then
		info "vfsd '$d' exited with status 0 when the guest went away"
	else
		info "vfsd '$d': $VM_DAEMON_STATUS (log: $demo/vfsd-$d.log)"
		ok=0
	fi
done

# ------------------------------------------------------------------------------------------
step "Back on the host: what the guest wrote"
if [ -f "$shared/from-guest.txt" ]; then
	info "\$ cat $shared/from-guest.txt"
	sed 's/^/    /' "$shared/from-guest.txt"
else
	info "$shared/from-guest.txt is missing"
	ok=0
fi
if [ -f "$rootfs/root/guest-was-here" ]; then
	info "\$ cat $rootfs/root/guest-was-here    (written into the guest's root file system)"
	sed 's/^/    /' "$rootfs/root/guest-was-here"
else
	info "$rootfs/root/guest-was-here is missing"
	ok=0
fi
echo
if [ "$ok" = 1 ]; then
	echo "Demo complete: the guest booted from $rootfs and exchanged files with the host."
else
	die "something went wrong; see $demo/console.log and $demo/vfsd-*.log"
fi
