#!/usr/bin/env bash
# shellcheck disable=SC2054 # QEMU arguments contain commas on purpose
# run-vm-coherence.sh: the version table (issue 13, docs/coherence.md) end to end: two guests,
# one share, one table (meson test 'vm-coherence', suite 'vm', TAP on stdout).
#
#   tests/vm/run-vm-coherence.sh VFSD_BINARY
#
# Two bookworm guests (Linux 6.1 with the patched fuse.ko/virtiofs.ko of guest/build-modules.sh,
# QEMU 11.1 with vhost-user-test-device-pci, -smp 1, 512 MiB each), each with its own
# vfsd --coherence=table on the same host directory and the same table file. The host drives
# both through a control channel that is not the share: a virtio-serial port per guest
# (tests/vm/coherence-ctl.py on the host, tests/vm/coherence-agent.py in each guest); the host
# timestamps every answer with CLOCK_MONOTONIC as it arrives. The checks (coherence-ctl.py):
#   1. both guests have the table on; B's 350 stats of unchanged names are answered from its
#      cache: no versioned reply reaches B (its fuse.ko's counters) and B's vfsd makes no
#      read/write syscall meanwhile (/proc/PID/io of the serving process);
#   2. guest A renames, unlinks, creates, appends, chmods and overwrites data (same size): B sees
#      each; then a host process does the same: B sees each;
#   3. $VFSD_COH_REPS renames (B polls until the old name it had cached is gone and the new one
#      is there) and chmods, each by A and by the host: B sees all; median latency <= 100 ms
#      (guest to guest) and <= 200 ms (host to guest);
#   4. fs.fanotify.max_queued_events is 16 while the daemons start (restored at once): a host
#      flood while both daemons are stopped (SIGSTOP, so that their watchers cannot keep up)
#      overflows their queues (the table's epoch moves) and B still sees the changes;
#   5. A writes garbage over its own mirror (PCI BAR 4, iomem=relaxed): B still sees A's and the
#      host's changes, A still works (revalidating).
# The whole run uses a tiny table, --vt-slots=$VFSD_COH_SLOTS (default 16: heavy collisions;
# collisions only cost revalidations, so every check above must still hold).
#
# VFSD_COH_SUITE=sid (meson test vm-coherence-sid): the same checks with two sid guests (Linux
# 7.2, FUSE built in) and guest/build-fork.sh's virtiofs_vt.ko, the renamed fork with the table.
# Environment: VFSD_COH_REPS (default 10), VFSD_COH_SLOTS (16), VFSD_VM_KEEP=1 keeps the work
# directory. Measurement mode (bench/RESULTS-coherence.md): VFSD_COH_MODE=measure with
# VFSD_COH_CONFIG=table (patched modules, --coherence=table, default slots) | auto | always |
# never (stock modules, vfsd --cache=...) | rust (stock modules, VFSD_DAEMON_CMD of the Rust
# virtiofsd, --cache=auto) | adaptive (stock modules, vfsd --cache=auto --coherence=table
# --adaptive-timeout=$VFSD_COH_ADAPT, default 20:5000): the rename and chmod latencies,
# VFSD_COH_REPS (default 50) times each, then A's chmods of VFSD_COH_QUIET_REPS (10) files
# unchanged since the start, then VFSD_COH_IDLE_SECS (20) s of B statting 20 unchanged files
# every 10 ms, counting the requests its vfsd logs (--log-level=debug), reported, not asserted.
# VFSD_COH_MODE=adaptive (meson test vm-coherence-adaptive): config adaptive, Debian's modules;
# asserts that B sees all of 10 chmods each by A and by the host of a file changed again and
# again, with a median under 500 ms (--cache=auto: 1 s). VFSD_COH_MODE=demo: what
# ./demo/run.sh --coherence shows (a few changes in guest A and on the host, and when guest B
# saw them).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"
if [ $# -ne 1 ]; then
	echo "usage: $0 VFSD_BINARY" >&2
	exit 2
fi
vfsd_bin=$1
mode=${VFSD_COH_MODE:-ci}
config=${VFSD_COH_CONFIG:-table}
[ "$mode" = measure ] || config=table
[ "$mode" != adaptive ] || config=adaptive
reps=${VFSD_COH_REPS:-$([ "$mode" = measure ] && echo 50 || echo 10)}
slots=${VFSD_COH_SLOTS:-$([ "$mode" = ci ] && echo 16 || echo 0)}
adapt=${VFSD_COH_ADAPT:-20:5000}
say() { printf '[vm-coherence] %s\n' "$*" >&2; }
# the table needs the test device (shared memory region 1); the stock baselines use the
# ordinary vhost-user-fs-pci of the same QEMU
suite=${VFSD_COH_SUITE:-bookworm}
export VFSD_VM_SUITE=$suite VFSD_VM_QEMU=sid VFSD_VM_FS_DEVICE=vhost-user-fs-pci
[ "$config" = table ] && VFSD_VM_FS_DEVICE=test-device
export VFSD_VM_SMP=1 VFSD_VM_MEM=512M VFSD_VM_TIMEOUT="${VFSD_VM_TIMEOUT:-400}"
export VFSD_VM_APPEND="iomem=relaxed ${VFSD_VM_APPEND:-}"
# the control channel: a virtio-serial port
VM_MODULES_WANTED="$VM_MODULES_WANTED virtio_console"
vm_accel
echo "# accelerator: $VM_ACCEL_NAME; mode $mode, config $config, $reps renames each way, $suite guests"

base=$(mktemp -d "${TMPDIR:-/tmp}/vfsd-vm-coherence.XXXXXX")
share="$base/share"
mkdir -p "$share" "$base/ra" "$base/rb"
# The share gets a file system of its own: fanotify's filesystem mark sees every change on the
# file system, and other jobs' changes on a shared /tmp would bump (and, with a tiny queue,
# overflow) the table at random.
mount -t tmpfs -o size=256m,mode=0755 vfsd-coherence "$share"
fanotify_old=""
ctl_pid="" qa_pid="" qb_pid=""
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	[ -z "$fanotify_old" ] || sysctl -qw fs.fanotify.max_queued_events="$fanotify_old" || true
	for p in $qa_pid $qb_pid $ctl_pid; do kill "$p" 2>/dev/null || true; done
	vm_kill_daemons
	umount "$share" 2>/dev/null || true
}
trap cleanup EXIT
finish() { # vm_finish, once the share's tmpfs is gone (vm_finish removes $base)
	vm_kill_daemons
	umount "$share" 2>/dev/null || true
	vm_finish vm-coherence "$base" "$@"
}

# 1. modules (the patched ones for the table; Debian's for the stock baselines)
build="build-modules.sh"
[ "$suite" = bookworm ] || build="build-fork.sh"
if [ "$config" = table ]; then
	if out=$("$VM_REPO_DIR/guest/$build"); then
		eval "$out"
		export VFSD_VM_MODULES_OVERRIDE="$GUEST_MODULES_DIR"
	else
		tap not-ok "patched modules built" "guest/$build failed (see above)"
		finish
	fi
else
	unset VFSD_VM_MODULES_OVERRIDE
fi
vm_assets_tap || finish
vm_hostroot_initramfs

# 2. the daemons: same share, same table
case "$config" in
table)
	flags="--xattr --coherence=table --vt-table=$base/table"
	[ "$slots" = 0 ] || flags="$flags --vt-slots=$slots"
	;;
auto | always | never) flags="--xattr --cache=$config" ;;
adaptive) # Debian's modules; the table's ages give the timeouts (fanotify host watch)
	flags="--xattr --cache=auto --coherence=table --vt-table=$base/table --adaptive-timeout=$adapt"
	;;
rust)
	export VFSD_DAEMON_CMD="${VFSD_DAEMON_CMD:-$VM_REPO_DIR/tests/tools/rust-virtiofsd.sh run}"
	flags="--cache=auto"
	;;
*) vm_die "VFSD_COH_CONFIG: unknown '$config'" ;;
esac
# measure mode: vfsd logs every request (debug), so that the controller can count B's
[ "$mode" != measure ] || [ "$config" = rust ] || flags="$flags --log-level=debug"
export VFSD_VM_FLAGS="$flags"
vm_daemon_cmd "$vfsd_bin"
mapfile -t fs_flags < <(vm_fs_daemon_flags share)

if [ "$mode" = ci ]; then
	fanotify_old=$(sysctl -n fs.fanotify.max_queued_events)
	sysctl -qw fs.fanotify.max_queued_events=16

fi
# With the table, A's vfsd runs without a host watch: a second fanotify watch on the filesystem
# would take B's vfsd's changes for host changes and bump them once more (docs/coherence.md, "Two
# watches on one filesystem"), which moves the versions of B's own changes under it and makes
# the own-change checks below depend on timing. B's watch bumps host changes for both guests
# (one table); vm-coherence-adaptive runs two watches.
for g in a b; do
	extra=()
	[ "$g" != a ] || [ "$config" != table ] || extra=(--vt-watch=none)
	vm_start_daemon "$g" "$base/vfsd-$g.sock" "$share" "$base/daemon-$g.log" "${fs_flags[@]}" "${extra[@]}"
	if [ "$g" = b ] || [ "$config" = adaptive ]; then
		for ((i = 0; i < 100; i++)); do
			grep -q 'host changes watched with' "$base/daemon-$g.log" && break
			sleep 0.1
		done
	fi
done
if [ -n "$fanotify_old" ]; then
	sysctl -qw fs.fanotify.max_queued_events="$fanotify_old"
	fanotify_old=""
fi
if [ "$config" = adaptive ]; then
	check "both daemons watch host changes with fanotify" "$(grep -h coherence: "$base"/daemon-?.log | tr '\n' ';')" \
		[ "$(grep -l 'watched with fanotify' "$base"/daemon-?.log | wc -l)" = 2 ]
elif [ "$config" = table ]; then
	watches="$(grep -c 'watched with fanotify' "$base/daemon-b.log" || true)/$(grep -c 'watched with' "$base/daemon-a.log" || true)"
	check "B's daemon watches host changes with fanotify, A's none" "$(grep -h coherence: "$base"/daemon-?.log | tr '\n' ';')" \
		[ "$watches" = 1/0 ]
fi

# 3. the host controller, then the two guests (their ports connect to it)
for g in a b; do
	printf 'VIRTIOFS_MOUNTS=%s\n' "share:/run/vfsd/share" >"$base/r$g/guest.conf"
	printf 'exec python3 %s %s /run/vfsd/share\n' \
		"$(vm_guest_path "$base/r$g" "$here/coherence-agent.py")" "${g^^}" >"$base/r$g/guest-cmd.sh"
done
ctl_args=(--share "$share" --ctl-a "$base/ctl-a.sock" --ctl-b "$base/ctl-b.sock"
	--mode "$mode" --reps "$reps" --json "$base/latency.json")
if [ "$mode" = measure ]; then
	ctl_args+=(--quiet-reps "${VFSD_COH_QUIET_REPS:-10}" --idle-secs "${VFSD_COH_IDLE_SECS:-20}")
	[ "$config" = rust ] || ctl_args+=(--log-b "$base/daemon-b.log")
fi
if [ "$mode" = ci ]; then
	ctl_args+=(--table "$base/table" --overflow --corrupt --pid-b "$(vm_daemon_serving_pid b)"
		--stop-pids "$(vm_daemon_serving_pid a)" "$(vm_daemon_serving_pid b)")
fi
if [ "$mode" = demo ]; then
	echo "hello from the host" >"$share/hello.txt"
	say "booting two guests (QEMU 11.1, Linux 6.1 with the patched modules) on $share"
	python3 "$here/coherence-ctl.py" "${ctl_args[@]}" 2>"$base/ctl.err" | tee "$base/ctl.out" >&2 &
else
	python3 "$here/coherence-ctl.py" "${ctl_args[@]}" >"$base/ctl.out" 2>"$base/ctl.err" &
fi
ctl_pid=$!
for ((i = 0; i < 100; i++)); do
	[ -S "$base/ctl-b.sock" ] && break
	sleep 0.1
done
boot() { # NAME RESULTS: one guest, its serial console in RESULTS/serial.log
	local q=()
	mapfile -t -O "${#q[@]}" q < <(vm_dev_9p / hostroot ro)
	mapfile -t -O "${#q[@]}" q < <(vm_dev_9p "$2" results rw)
	mapfile -t -O "${#q[@]}" q < <(vm_dev_virtiofs "$base/vfsd-$1.sock" share 0)
	q+=(-device virtio-serial-pci -chardev "socket,id=ctl,path=$base/ctl-$1.sock"
		-device virtserialport,chardev=ctl,name=ctl)
	vm_qemu "$2/serial.log" "${q[@]}" >/dev/null 2>&1
}
t0=$(date +%s)
boot a "$base/ra" &
qa_pid=$!
boot b "$base/rb" &
qb_pid=$!
wait "$ctl_pid" && ctl_rc=0 || ctl_rc=$?
ctl_pid=""
say "controller exited with $ctl_rc after $(($(date +%s) - t0)) s"
[ "$mode" = demo ] || grep '^#' "$base/ctl.out" || true
vm_guest_tap "$base/ctl.out"
sed 's/^/  ctl| /' "$base/ctl.err" >&2
wait "$qa_pid" || true
wait "$qb_pid" || true
qa_pid="" qb_pid=""
for g in a b; do
	check "guest ${g^^}: the agent exited 0" "$(tail -3 "$base/r$g/guest.log" 2>/dev/null | tr '\n' ';')" \
		[ "$(cat "$base/r$g/exit-code" 2>/dev/null)" = 0 ]
	if vm_stop_daemon "$g"; then
		tap ok "daemon ${g^^} exited 0 after QEMU disconnected"
	else
		tap not-ok "daemon ${g^^} exited 0 after QEMU disconnected" "status $VM_DAEMON_STATUS (see $base/daemon-$g.log)"
	fi
done
[ "$mode" = ci ] || [ "$mode" = demo ] || echo "# latency ($config): $(tr -d '\n ' <"$base/latency.json")"
[ -z "${VFSD_COH_JSON:-}" ] || cp "$base/latency.json" "$VFSD_COH_JSON"
finish "config:      $config, --vt-slots=${slots/#0/default}, $suite guests" "guests:      $(($(date +%s) - t0)) s"
