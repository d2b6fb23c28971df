# shellcheck shell=bash disable=SC2054
# (SC2054: QEMU arguments contain commas on purpose.)
# tests/vm/lib.sh: shell functions to boot a throw-away Linux guest on QEMU against a
# vhost-user-fs daemon (vfsd, or any daemon with the same command line).
# Sourced by tests/tools/vm-run.sh, tests/vm/run-vm-test.sh and demo/run.sh (bash, set -euo pipefail).
#
# Environment knobs (all optional):
#   VFSD_CACHE        cache dir for the kernel and initramfs      (default /var/cache/vfsd-test)
#   VFSD_DAEMON_CMD   command that starts the daemon; gets --socket-path=... --shared-dir=...
#                     appended, then $VFSD_VM_FLAGS             (default: the vfsd binary given)
#   VFSD_VM_FLAGS     extra daemon flags      (default: --xattr)
#   VFSD_VM_SUITE     Debian suite of the guest kernel: bookworm (default), trixie, sid
#   VFSD_VM_ACCEL     force "kvm" or "tcg" (default: kvm only if kvm_intel/kvm_amd is loaded)
#   VFSD_VM_MEM       guest memory (default 2G)          VFSD_VM_SMP  guest CPUs (default 2)
#   VFSD_VM_TIMEOUT   seconds before QEMU is killed (default 600)
#   VFSD_VM_REBOOT    1: a guest reboot resets the machine and boots again (no -no-reboot);
#                     default: a reboot ends QEMU
#   VFSD_VM_APPEND    extra guest kernel command line
#   VFSD_VM_QEMU      QEMU command (default qemu-system-x86_64, the host's); "sid": QEMU 11.1
#                     from the Debian sid chroot of tests/tools/sid-qemu.sh (built if needed)
#   VFSD_VM_QUEUES    request queues of vhost-user-fs-pci (num-request-queues; default: QEMU's
#                     1). With 2 or more, a guest that spreads requests over them (Linux >= 6.11,
#                     one queue per group of vCPUs) must be seen using more than one:
#                     vm_queue_check reads the guest's /proc/interrupts (init saves it in
#                     RESULTS/interrupts after the guest command). Not for the Rust virtiofsd
#                     (VFSD_DAEMON_CMD=*rust-virtiofsd*), which serves one request queue
#   VFSD_VM_MODULES_OVERRIDE  a directory of .ko files that replace the kernel's modules of the
#                     same name in the initramfs (e.g. the patched fuse.ko and virtiofs.ko of
#                     guest/build-modules.sh); they load unsigned (taint O+E). A virtiofs_vt.ko
#                     there (guest/build-fork.sh, for sid's built-in FUSE) is loaded last, after
#                     the init unbinds the built-in virtiofs driver, and mounts use its type
#   VFSD_VM_FS_DEVICE the virtio-fs device: vhost-user-fs-pci (default; the tag is QEMU's
#                     tag= property) or test-device: vhost-user-test-device-pci as virtio-fs
#                     (QEMU >= 11.1; the only device with a DAX window), whose tag and queue
#                     count come from the daemon: start it with $(vm_fs_daemon_flags TAG)

VM_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VM_REPO_DIR="$(cd "$VM_LIB_DIR/../.." && pwd)"
VM_CACHE="${VFSD_CACHE:-/var/cache/vfsd-test}"

vm_log() { printf '[vm] %s\n' "$*" >&2; }
vm_die() {
	printf '[vm] ERROR: %s\n' "$*" >&2
	exit 1
}

# ---------------------------------------------------------------- TAP for the test scripts

# tap ok|not-ok DESCRIPTION [DETAIL]: the next numbered TAP line; $n counts the lines and
# $failed the failures (the caller prints the plan "1..$n" at the end).
n=0
failed=0
tap() {
	n=$((n + 1))
	if [ "$1" = ok ]; then
		echo "ok $n - $2"
	else
		failed=$((failed + 1))
		echo "not ok $n - $2${3:+: $3}"
	fi
}
# check DESCRIPTION DETAIL-IF-FAILED COMMAND...: ok if COMMAND succeeds.
check() {
	local desc="$1" detail="$2"
	shift 2
	if "$@"; then tap ok "$desc"; else tap not-ok "$desc" "$detail"; fi
}
# vm_finish NAME BASE [LINE...]: the end of a test script: the TAP plan "1..$n", a summary on
# stderr (daemon, accelerator, the LINEs, the time since lib.sh was sourced, the result),
# the work directory BASE removed unless a check failed or VFSD_VM_KEEP is set; exits 1 if a
# check failed, else 0.
VM_T0=$(date +%s)
vm_finish() {
	local bar="==================== $1 summary ====================" base="$2" line
	shift 2
	echo "1..$n"
	{
		echo
		echo "$bar"
		echo " daemon:      ${VM_DAEMON[*]:-not started} ${VFSD_VM_FLAGS:---xattr}"
		echo " accelerator: ${VM_ACCEL_NAME:-not chosen}"
		for line in "$@"; do echo " $line"; done
		echo " time:        $(($(date +%s) - VM_T0))s in all"
		if [ "$failed" = 0 ]; then
			echo " RESULT:      PASS ($n checks)"
		else
			echo " RESULT:      FAIL ($failed of $n checks failed)"
		fi
		echo "${bar//?/=}"
	} >&2
	if [ -n "$base" ]; then
		if [ "$failed" = 0 ] && [ -z "${VFSD_VM_KEEP:-}" ]; then
			rm -rf "$base"
		else
			vm_log "kept for inspection: $base"
		fi
	fi
	exit $((failed > 0))
}
# vm_guest_tap FILE [PREFIX]: the unnumbered "ok - X" / "not ok - X" lines of FILE (written by
# a guest or a checker) as numbered TAP lines, with PREFIX before X.
vm_guest_tap() {
	local line
	[ -e "$1" ] || return 0
	while IFS= read -r line; do
		case "$line" in
		"ok - "*) tap ok "${2:-}${line#ok - }" ;;
		"not ok - "*) tap not-ok "${2:-}${line#not ok - }" ;;
		esac
	done <"$1"
}

# ---------------------------------------------------------------- script start, guest paths

# vm_script_start NAME: the common start of a tests/vm/run-vm-*.sh script (after sourcing this
# file): say() logs as [NAME], VFSD_VM_TIMEOUT defaults to 300 s (a TCG run takes a minute or
# two: a guest still running after 5 is hung), and $base is a new work directory of mode 0755 (so
# that the daemon, in its sandbox, reaches the shares made below it).
vm_script_start() {
	VM_SCRIPT_NAME=$1
	# shellcheck disable=SC2317 # called by the scripts
	say() { printf '[%s] %s\n' "$VM_SCRIPT_NAME" "$*" >&2; }
	export VFSD_VM_TIMEOUT="${VFSD_VM_TIMEOUT:-300}"
	base=$(mktemp -d "${TMPDIR:-/tmp}/vfsd-$1.XXXXXX")
	chmod 0755 "$base"
}

# vm_guest_path RESULTS FILE: copies FILE into the results share RESULTS (the guest's
# /run/vfsd/results) and prints the path the guest reaches the copy by. The guest's root is the
# host's /, but the guest mounts a tmpfs on /tmp, which hides a file under the host's /tmp (a
# checkout or build tree there, as CI clones may be): every program or script a guest runs from
# the tree goes through this (tests/tools/vm-run.sh does it for the words of its command).
vm_guest_path() {
	mkdir -p "$1/staged"
	cp -p "$2" "$1/staged/${2##*/}"
	echo "/run/vfsd/results/staged/${2##*/}"
}

# ---------------------------------------------------------------- assets and accelerator

# vm_assets: sets VM_KERNEL VM_MODULES VM_KVER VM_KPKG VM_SUITE (installs/downloads if needed).
vm_assets() {
	local out
	out=$("$VM_REPO_DIR/tests/tools/vm-assets.sh" --suite "${VFSD_VM_SUITE:-bookworm}") ||
		vm_die "guest assets unavailable (tests/tools/vm-assets.sh failed)"
	eval "$out"
	[ -r "$VM_KERNEL" ] || vm_die "no guest kernel at '$VM_KERNEL'"
}

# vm_assets_tap: vm_assets as a TAP check (tap ok/not-ok "guest assets"); returns 1 when the
# assets cannot be had, which is a failure, never a skip.
vm_assets_tap() {
	local out suite="${VFSD_VM_SUITE:-bookworm}"
	if out=$("$VM_REPO_DIR/tests/tools/vm-assets.sh" --suite "$suite"); then
		eval "$out"
		tap ok "guest assets (kernel $VM_KVER)"
	else
		tap not-ok "guest assets" "tests/tools/vm-assets.sh --suite $suite failed: cannot fetch QEMU/busybox/kernel"
		return 1
	fi
}

# vm_accel: sets VM_ACCEL_ARGS (array) and VM_ACCEL_NAME (human readable).
# /dev/kvm may belong to a paravirtual KVM (kvm_pvm) that cannot run a stock kernel: only
# kvm_intel/kvm_amd count as real hardware virtualisation.
vm_accel() {
	local want="${VFSD_VM_ACCEL:-auto}" hw=""
	if [ -d /sys/module/kvm_intel ]; then
		hw=kvm_intel
	elif [ -d /sys/module/kvm_amd ]; then
		hw=kvm_amd
	fi
	if [ "$want" = kvm ] || { [ "$want" = auto ] && [ -n "$hw" ] && [ -w /dev/kvm ]; }; then
		VM_ACCEL_ARGS=(-accel kvm -cpu host)
		VM_ACCEL_NAME="KVM (${hw:-forced})"
	else
		VM_ACCEL_ARGS=(-accel tcg,thread=multi -cpu max)
		local why="no kvm_intel/kvm_amd loaded"
		[ -d /sys/module/kvm_pvm ] && why="only kvm_pvm present, which cannot run a stock kernel"
		[ "$want" = tcg ] && why="forced by VFSD_VM_ACCEL=tcg"
		VM_ACCEL_NAME="TCG (software emulation; $why)"
	fi
}

# ---------------------------------------------------------------- initramfs

# vm_module_order MODDIR NAME...: print module files (relative to MODDIR) in load order,
# dependencies first, each once. Built-in modules are skipped; a missing one is an error.
vm_module_order() {
	local moddir="$1"
	shift
	awk -v want="$*" '
		function base(p,  b) { b = p; sub(/.*\//, "", b); sub(/\.ko(\.(xz|zst|gz))?$/, "", b);
		                       gsub(/-/, "_", b); return b }
		function visit(p,   n, i, d) {
			if (p in seen) return
			seen[p] = 1
			n = split(deps[p], d, " ")
			for (i = n; i >= 1; i--) visit(d[i])   # modules.dep lists the deepest last
			print p
		}
		FILENAME ~ /modules\.builtin$/ { builtin[base($0)] = 1; next }
		{ p = $1; sub(/:$/, "", p); $1 = ""; deps[p] = $0; path[base(p)] = p }
		END {
			n = split(want, w, " ")
			for (i = 1; i <= n; i++) {
				m = w[i]; gsub(/-/, "_", m)
				if (m in path) visit(path[m])
				else if (!(m in builtin)) { print "MISSING " m; bad = 1 }
			}
			exit bad
		}' "$moddir/modules.builtin" "$moddir/modules.dep"
}

VM_MODULES_WANTED="virtio_pci virtio_blk fuse virtiofs 9pnet_virtio 9p"
VM_FORK_MODULE=virtiofs_vt

# vm_build_initramfs OUT INIT_FILE: a gzip'd newc cpio with a static busybox, the modules of
# $VM_MODULES_WANTED (decompressed) and a /modules.list in load order, and INIT_FILE as /init.
# Needs vm_assets first.
vm_build_initramfs() {
	local out="$1" init="$2" work order f m
	[ -x /bin/busybox ] || vm_die "/bin/busybox missing (busybox-static)"
	work=$(mktemp -d "${TMPDIR:-/tmp}/vfsd-initramfs.XXXXXX")
	mkdir -p "$work"/{bin,dev,proc,sys,newroot,lib/modules,run,tmp}
	cp /bin/busybox "$work/bin/busybox"
	ln -s busybox "$work/bin/sh"
	# shellcheck disable=SC2086 # a list of names
	order=$(vm_module_order "$VM_MODULES" $VM_MODULES_WANTED) ||
		vm_die "modules missing from $VM_MODULES: $(printf '%s\n' "$order" | grep MISSING | tr '\n' ' ')"
	: >"$work/modules.list"
	for f in $order; do
		m="${f##*/}"
		m0="${m%.xz}" && m0="${m0%.zst}" && m0="${m0%.gz}"
		if [ -n "${VFSD_VM_MODULES_OVERRIDE:-}" ] && [ -f "$VFSD_VM_MODULES_OVERRIDE/$m0" ]; then
			cp "$VFSD_VM_MODULES_OVERRIDE/$m0" "$work/lib/modules/$m0"
			echo "$m0" >>"$work/modules.list"
			continue
		fi
		case "$m" in
		*.ko) cp "$VM_MODULES/$f" "$work/lib/modules/$m" ;;
		*.ko.xz) m="${m%.xz}" && xz -dc "$VM_MODULES/$f" >"$work/lib/modules/$m" ;;
		*.ko.zst) m="${m%.zst}" && zstd -qdc "$VM_MODULES/$f" >"$work/lib/modules/$m" ;;
		*.ko.gz) m="${m%.gz}" && gzip -dc "$VM_MODULES/$f" >"$work/lib/modules/$m" ;;
		*) vm_die "unexpected module file $f" ;;
		esac
		echo "$m" >>"$work/modules.list"
	done
	# The renamed fork of guest/linux-7.2 (a kernel with FUSE built in): loaded last, after the
	# init has taken the virtio-fs devices from the built-in driver; mounts use its type.
	if [ -n "${VFSD_VM_MODULES_OVERRIDE:-}" ] && [ -f "$VFSD_VM_MODULES_OVERRIDE/$VM_FORK_MODULE.ko" ]; then
		cp "$VFSD_VM_MODULES_OVERRIDE/$VM_FORK_MODULE.ko" "$work/lib/modules/"
		echo "$VM_FORK_MODULE.ko" >>"$work/modules.list"
		echo "$VM_FORK_MODULE" >"$work/virtiofs-type"
	fi
	install -m 0755 "$init" "$work/init"
	(cd "$work" && find . -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc --quiet --owner=0:0 | gzip -1) >"$out.tmp"
	mv "$out.tmp" "$out"
	rm -rf "$work"
}

# The init of the "hostroot" guest: the host's / (read-only, 9p) becomes the guest's root, so
# host programs run in the guest. Per-run settings come from the writable 9p "results" share:
#   guest.conf    shell assignments: VIRTIOFS_MOUNTS="tag:/mountpoint[:options] ..."
#                 TMPFS_TMP=0|1 (mount a tmpfs over /tmp; default 1)
#   guest-cmd.sh  run with the host's /bin/sh inside the chroot
# and it leaves there: exit-code (the command's status) and guest.log (its output).
vm_hostroot_init() {
	cat <<'EOF'
#!/bin/sh
export PATH=/bin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo 0 >/proc/sys/kernel/printk 2>/dev/null
fstype=virtiofs
[ -f /virtiofs-type ] && fstype=$(cat /virtiofs-type)
for m in $(cat /modules.list); do
	if [ "$m" = "$fstype.ko" ]; then
		# guest/linux-7.2's fork: the built-in virtiofs lets go of the devices, the fork's
		# driver takes them when it registers (or by bind, should it not).
		drv=/sys/bus/virtio/drivers
		for d in $drv/virtiofs/virtio*; do
			[ -e "$d" ] && echo "${d##*/}" >$drv/virtiofs/unbind
		done
		insmod "/lib/modules/$m" || echo "init: insmod $m failed"
		for d in /sys/bus/virtio/devices/virtio*; do
			[ "$(cat "$d/device")" = 0x001a ] && [ ! -e "$d/driver" ] &&
				echo "${d##*/}" >$drv/$fstype/bind
		done
		echo "init: virtio-fs devices bound to $fstype: $(ls $drv/$fstype | grep virtio | tr '\n' ' ')"
		continue
	fi
	insmod "/lib/modules/$m" || echo "init: insmod $m failed"
done
halt() { sync; poweroff -f; sleep 5; }
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose hostroot /newroot ||
	{ echo "init: cannot mount the host root (9p)"; halt; }
mount -t proc proc /newroot/proc
mount -t sysfs sys /newroot/sys
mount -t devtmpfs dev /newroot/dev
mount -t tmpfs -o mode=0755 run /newroot/run
R=/run/vfsd/results
mkdir -p /newroot$R
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 results /newroot$R ||
	{ echo "init: cannot mount the results share (9p)"; halt; }
VIRTIOFS_MOUNTS=""
TMPFS_TMP=1
[ -f /newroot$R/guest.conf ] && . /newroot$R/guest.conf
[ "$TMPFS_TMP" = 1 ] && mount -t tmpfs -o mode=1777 tmp /newroot/tmp
mounted=""
for spec in $VIRTIOFS_MOUNTS; do
	tag=${spec%%:*}
	rest=${spec#*:}
	mp=${rest%%:*}
	opts=""
	[ "$rest" != "$mp" ] && opts="-o ${rest#*:}"
	mkdir -p "/newroot$mp"
	if mount -t $fstype $opts "$tag" "/newroot$mp"; then
		echo "init: $fstype '$tag' mounted on $mp"
		mounted="/newroot$mp $mounted"
	else
		echo "init: mount -t $fstype $tag $mp FAILED"
		echo 201 >/newroot$R/exit-code
		echo "virtiofs mount of $tag failed" >/newroot$R/init-error
		halt
	fi
done
echo "init: running guest command"
( chroot /newroot /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	HOME=/root TERM=dumb LANG=C.UTF-8 TMPDIR=/tmp /bin/sh $R/guest-cmd.sh
  echo $? >/newroot$R/exit-code ) 2>&1 | tee /newroot$R/guest.log
echo "init: guest command exited with $(cat /newroot$R/exit-code)"
# per-queue interrupt counts for vm_queue_check (the guest's use of its request queues)
cat /proc/interrupts >/newroot$R/interrupts 2>/dev/null
for mp in $mounted; do
	umount "$mp" || echo "init: umount $mp failed"
done
halt
EOF
}

# vm_hostroot_initramfs: sets VM_INITRD to a cached hostroot initramfs for the current kernel.
vm_hostroot_initramfs() {
	local init key
	init=$(mktemp "${TMPDIR:-/tmp}/vfsd-init.XXXXXX")
	vm_hostroot_init >"$init"
	key=$({
		cat "$init"
		echo "$VM_KVER $VM_MODULES_WANTED"
		sha256sum /bin/busybox
		[ -z "${VFSD_VM_MODULES_OVERRIDE:-}" ] || sha256sum "$VFSD_VM_MODULES_OVERRIDE"/*.ko
	} | sha256sum | cut -c1-16)
	mkdir -p "$VM_CACHE/initramfs"
	VM_INITRD="$VM_CACHE/initramfs/hostroot-$VM_KVER-$key.cpio.gz"
	if [ ! -s "$VM_INITRD" ]; then
		vm_log "building initramfs $VM_INITRD"
		vm_build_initramfs "$VM_INITRD" "$init"
	fi
	rm -f "$init"
}

# ---------------------------------------------------------------- daemons

declare -gA VM_DAEMON_PID=()

# vm_daemon_cmd DEFAULT_BINARY: sets VM_DAEMON (array) from $VFSD_DAEMON_CMD or the binary.
vm_daemon_cmd() {
	if [ -n "${VFSD_DAEMON_CMD:-}" ]; then
		read -r -a VM_DAEMON <<<"$VFSD_DAEMON_CMD"
	else
		[ -n "${1:-}" ] || vm_die "no daemon: give a vfsd binary or set VFSD_DAEMON_CMD"
		[ -x "$1" ] || vm_die "daemon binary '$1' is not executable"
		VM_DAEMON=("$1")
	fi
	read -r -a VM_DAEMON_FLAGS <<<"${VFSD_VM_FLAGS:---xattr}"
}

# vm_start_daemon NAME SOCKET SHARED_DIR LOGFILE [EXTRA_FLAGS...]: start the daemon in its own
# session (so the whole process group can be stopped) and wait for its socket.
vm_start_daemon() {
	local name="$1" sock="$2" dir="$3" logf="$4" pid i rc
	shift 4
	rm -f "$sock"
	vm_log "daemon '$name': ${VM_DAEMON[*]} --socket-path=$sock --shared-dir=$dir ${VM_DAEMON_FLAGS[*]} $*"
	setsid "${VM_DAEMON[@]}" --socket-path="$sock" --shared-dir="$dir" \
		"${VM_DAEMON_FLAGS[@]}" "$@" </dev/null >"$logf" 2>&1 &
	pid=$!
	VM_DAEMON_PID[$name]=$pid
	for ((i = 0; i < 300; i++)); do
		[ -S "$sock" ] && return 0
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid" && rc=0 || rc=$?
			sed 's/^/    | /' "$logf" >&2
			vm_die "daemon '$name' exited (status $rc) before creating $sock"
		fi
		sleep 0.1
	done
	sed 's/^/    | /' "$logf" >&2
	vm_die "daemon '$name' did not create $sock within 30 s"
}

# vm_stop_daemon NAME: after QEMU has gone, the daemon must notice the disconnect and exit 0
# by itself. Returns 0 if it did; otherwise kills it (its process group) and returns 1.
# Sets VM_DAEMON_STATUS (its exit status, or why not).
vm_stop_daemon() {
	local name="$1" pid i rc
	pid="${VM_DAEMON_PID[$name]:-}"
	VM_DAEMON_STATUS="not started"
	[ -n "$pid" ] || return 0
	unset "VM_DAEMON_PID[$name]"
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		vm_log "daemon '$name' (pid $pid) still running 10 s after QEMU exited: killing it"
		kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
		sleep 1
		kill -KILL -- "-$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		VM_DAEMON_STATUS="killed (still running 10 s after QEMU exited)"
		return 1
	fi
	wait "$pid" && rc=0 || rc=$?
	# shellcheck disable=SC2034 # read by the callers
	VM_DAEMON_STATUS="$rc"
	if [ "$rc" != 0 ]; then
		vm_log "daemon '$name' exited with status $rc (expected 0 after the frontend disconnected)"
		return 1
	fi
	vm_log "daemon '$name' exited with status 0 after QEMU disconnected"
	return 0
}

# vm_daemon_serving_pid NAME: the pid of the process that serves the socket. With the default
# namespace sandbox the pid we started is a supervisor outside the namespaces and the daemon
# proper is its only child; with --sandbox=chroot|none it is the pid itself.
vm_daemon_serving_pid() {
	local pid="${VM_DAEMON_PID[$1]:-}" child
	[ -n "$pid" ] || return 1
	child=$(cat /proc/"$pid"/task/*/children 2>/dev/null | tr ' ' '\n' | grep -m1 . || true)
	echo "${child:-$pid}"
}

# vm_daemon_fd_count NAME: the number of open fds of the serving process.
vm_daemon_fd_count() {
	local pid
	pid=$(vm_daemon_serving_pid "$1") || return 1
	find /proc/"$pid"/fd -mindepth 1 -maxdepth 1 2>/dev/null | wc -l
}

# vm_sync_watch RESULTS OUT NAME [PROBE]: host side of a guest/host rendezvous, run in the background
# while QEMU runs. The guest creates RESULTS/sync/LABEL.req and waits; for each new request
# this appends "LABEL FDCOUNT" (the open fds of daemon NAME; or what `PROBE NAME` prints) to OUT
# and creates RESULTS/sync/LABEL.ack. Runs until killed.
vm_sync_watch() {
	local results="$1" out="$2" name="$3" probe="${4:-vm_daemon_fd_count}" req label
	mkdir -p "$results/sync"
	for (( ; ; )); do
		for req in "$results"/sync/*.req; do
			[ -e "$req" ] || continue
			label="${req##*/}"
			label="${label%.req}"
			[ -e "$results/sync/$label.ack" ] && continue
			echo "$label $("$probe" "$name" || echo gone)" >>"$out"
			: >"$results/sync/$label.ack"
		done
		sleep 0.1
	done
}

# vm_kill_daemons: cleanup for traps.
vm_kill_daemons() {
	local name pid
	for name in "${!VM_DAEMON_PID[@]}"; do
		pid="${VM_DAEMON_PID[$name]}"
		kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	done
}

# ---------------------------------------------------------------- QEMU

# vm_qemu_cmd: sets VM_QEMU (array) from $VFSD_VM_QEMU.
vm_qemu_cmd() {
	case "${VFSD_VM_QEMU:-}" in
	"") VM_QEMU=(qemu-system-x86_64) ;;
	sid)
		local out
		out=$("$VM_REPO_DIR/tests/tools/sid-qemu.sh") ||
			vm_die "no sid QEMU (tests/tools/sid-qemu.sh failed)"
		eval "$out"
		VM_QEMU=("$SID_QEMU")
		;;
	*) read -r -a VM_QEMU <<<"$VFSD_VM_QEMU" ;;
	esac
}

# vm_qemu SERIAL_LOG [QEMU ARGS...]: boot $VM_KERNEL with $VM_INITRD (set by the caller), the
# standard machine (memfd shared memory for vhost-user) and the given devices. The serial
# console is shown live (prefixed) and saved in SERIAL_LOG. Sets VM_QEMU_RC.
vm_qemu() {
	local serial="$1"
	shift
	local mem="${VFSD_VM_MEM:-2G}"
	vm_accel
	vm_qemu_cmd
	vm_log "accelerator: $VM_ACCEL_NAME; QEMU: ${VM_QEMU[*]}"
	local cmd=(timeout --kill-after=10 "${VFSD_VM_TIMEOUT:-600}"
		"${VM_QEMU[@]}" -M q35 "${VM_ACCEL_ARGS[@]}" -smp "${VFSD_VM_SMP:-2}"
		-m "$mem" -object "memory-backend-memfd,id=mem,size=$mem,share=on" -numa node,memdev=mem
		-kernel "$VM_KERNEL" -initrd "$VM_INITRD"
		-append "console=ttyS0 quiet panic=-1 ${VFSD_VM_APPEND:-}"
		-display none -monitor none -serial stdio -nodefaults "$@")
	[ "${VFSD_VM_REBOOT:-0}" = 1 ] || cmd+=(-no-reboot)
	set +e
	"${cmd[@]}" </dev/null 2>&1 | tee "$serial" | sed -u 's/^/  guest| /'
	VM_QEMU_RC=${PIPESTATUS[0]}
	set -e
	[ "$VM_QEMU_RC" = 124 ] && vm_log "QEMU killed after ${VFSD_VM_TIMEOUT:-600} s (timeout)"
	return 0
}

# Helpers that build QEMU device arguments.
vm_dev_virtiofs() { # SOCKET TAG INDEX ($VFSD_VM_FS_DEVICE picks the device)
	printf '%s\n' -chardev "socket,id=vfs$3,path=$1"
	case "${VFSD_VM_FS_DEVICE:-vhost-user-fs-pci}" in
	vhost-user-fs-pci)
		local q
		q=$(vm_fs_queues)
		printf '%s\n' -device "vhost-user-fs-pci,queue-size=1024,chardev=vfs$3,tag=$2${q:+,num-request-queues=$q}"
		;;
	# virtio-id 26 is virtio-fs; its config is tag[36] + le32 num_request_queues (40 bytes);
	# num_vqs = the hiprio queue + VM_TEST_DEVICE_RQ request queues.
	test-device)
		printf '%s\n' -device "vhost-user-test-device-pci,chardev=vfs$3,virtio-id=26,num_vqs=$((1 + VM_TEST_DEVICE_RQ)),config_size=40,vq_size=1024"
		;;
	*) vm_die "VFSD_VM_FS_DEVICE: unknown device '$VFSD_VM_FS_DEVICE' (vhost-user-fs-pci, test-device)" ;;
	esac
}
VM_TEST_DEVICE_RQ=1
# vm_fs_daemon_flags TAG: the daemon flags the device needs (one a line): with the test device
# the daemon serves the tag and as many request queues as the device has (vfsd offers 16 by
# default; another daemon, such as Rust virtiofsd, serves one and has no --request-queues).
vm_fs_daemon_flags() {
	[ "${VFSD_VM_FS_DEVICE:-vhost-user-fs-pci}" = test-device ] || return 0
	printf '%s\n' "--tag=$1"
	[ -n "${VFSD_DAEMON_CMD:-}" ] || printf '%s\n' "--request-queues=$VM_TEST_DEVICE_RQ"
}
# vm_fs_queues: the request queues to ask of vhost-user-fs-pci: $VFSD_VM_QUEUES, or nothing (QEMU's
# default, 1) for the Rust virtiofsd, which serves a single request queue (1.13: QEMU refuses more).
vm_fs_queues() {
	case "${VFSD_DAEMON_CMD:-}" in *rust-virtiofsd*) return 0 ;; esac
	echo "${VFSD_VM_QUEUES:-}"
}

# vm_queue_irqs FILE: "Q:COUNT ..." for each request queue of the first virtio-fs device in a
# copy of the guest's /proc/interrupts (a line per MSI-X vector, named "virtioN-requests.Q" by
# Linux's virtio_fs; COUNT summed over the CPUs); empty when the queues share one vector.
vm_queue_irqs() {
	awk '$NF ~ /^virtio[0-9]+-requests\.[0-9]+$/ {
		dev = $NF; sub(/-requests.*/, "", dev)
		if (first == "") first = dev
		if (dev != first) next
		q = $NF; sub(/.*requests\./, "", q)
		s = 0
		for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i
		printf "%s%s:%d", sep, q, s; sep = " "
	} END { print "" }' "$1" 2>/dev/null
}

# vm_queue_check FILE [WHAT]: with VFSD_VM_QUEUES >= 2, a TAP check that the guest used more
# than one request queue (at least two of them raised interrupts: the daemon answered on
# them) according to FILE, a copy of the guest's /proc/interrupts; nothing otherwise.
vm_queue_check() {
	local want irqs used
	want=$(vm_fs_queues)
	want=${want:-1}
	[ "$want" -ge 2 ] 2>/dev/null || return 0
	irqs=$(vm_queue_irqs "$1")
	used=$(tr ' ' '\n' <<<"$irqs" | awk -F: '$2 > 0 { n++ } END { print n + 0 }')
	echo "# request queue interrupts${2:+ ($2)} (queue:count): ${irqs:-none found}"
	check "guest used $used of $want request queues${2:+ ($2)}" \
		"per-queue interrupts: ${irqs:-no virtioN-requests.Q lines in $1}" [ "$used" -ge 2 ]
}

# vm_dax_counts LOG: "SESSIONS MAPS UNMAPS REFUSED" summed over vfsd's "dax: N maps, M unmaps,
# K refused by the frontend" lines in LOG (one per session that mapped anything; 0 0 0 0: none).
vm_dax_counts() {
	sed -n 's/.*dax: \([0-9][0-9]*\) maps*, \([0-9][0-9]*\) unmaps*\(, \([0-9][0-9]*\) refused\)\{0,1\}.*/\1 \2 \4/p' \
		"$1" 2>/dev/null |
		awk '{ s++; m += $1; u += $2; r += $3 } END { print s + 0, m + 0, u + 0, r + 0 }'
}
vm_dev_9p() { # HOSTDIR TAG ro|rw
	local ro=""
	[ "$3" = ro ] && ro=",readonly=on"
	printf '%s\n' -fsdev "local,id=fs_$2,path=$1,security_model=none,multidevs=remap$ro" \
		-device "virtio-9p-pci,fsdev=fs_$2,mount_tag=$2"
}

# vm_daemon_rss_kb NAME: VmRSS (KiB) of the serving process; fails if it is gone.
vm_daemon_rss_kb() {
	local pid
	pid=$(vm_daemon_serving_pid "$1") || return 1
	awk '/^VmRSS:/ { print $2; found = 1 } END { exit !found }' /proc/"$pid"/status 2>/dev/null
}

# vm_daemon_mem_kb NAME: "VmRSS RssAnon RssFile RssShmem" (KiB) of the serving process.
# RssShmem is the guest's RAM (the memfd QEMU shares) that the daemon has touched: it grows
# with the guest's I/O buffers up to the guest's memory size and is not the daemon's own.
vm_daemon_mem_kb() {
	local pid
	pid=$(vm_daemon_serving_pid "$1") || return 1
	awk '/^(VmRSS|RssAnon|RssFile|RssShmem):/ { v[$1] = $2; n++ }
		END { if (n < 4) exit 1; print v["VmRSS:"], v["RssAnon:"], v["RssFile:"], v["RssShmem:"] }' \
		/proc/"$pid"/status 2>/dev/null
}

# vm_rss_watch NAME OUT [RESULTS]: once a second, append "SECONDS PHASE VMRSS ANON FILE SHMEM"
# (KiB; "gone" instead of the numbers when the serving process has disappeared) for daemon
# NAME to OUT. PHASE is "stress" while RESULTS/stress-start exists and RESULTS/stress-end does
# not, "after" once RESULTS/stress-end exists, "before" otherwise. Runs until killed.
vm_rss_watch() {
	local name="$1" out="$2" results="${3:-}" t0 phase mem
	t0=$(date +%s)
	for (( ; ; )); do
		phase=before
		if [ -n "$results" ] && [ -e "$results/stress-end" ]; then
			phase=after
		elif [ -n "$results" ] && [ -e "$results/stress-start" ]; then
			phase=stress
		fi
		mem=$(vm_daemon_mem_kb "$name") || mem=gone
		echo "$(($(date +%s) - t0)) $phase $mem" >>"$out"
		sleep 1
	done
}
