#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# One command for the VM benchmark: the same Debian guest (same QEMU, kernel, memory and CPUs;
# tests/vm/lib.sh, the "hostroot" guest that runs the host's own programs) booted once per
# configuration, running bench/vm-workload.sh on the share under test:
#   vfsd --cache=auto | always | never, the Rust virtiofsd (Debian trixie, via
#   tests/tools/rust-virtiofsd.sh; skipped with a message if it cannot be fetched), QEMU's
#   built-in virtio-9p (9p2000.L, cache=mmap), and the same workload natively on the host.
# Prints a Markdown table (rows: workloads; columns: configurations, vfsd/Rust, vfsd/native) and,
# in the full mode, writes it to bench/RESULTS-vm.md.
# With --dax, the DAX comparison instead (docs/dax.md): every column on QEMU 11.1 from the Debian
# sid chroot (tests/tools/sid-qemu.sh) and sid's guest kernel; vfsd over vhost-user-fs-pci (no
# window), vfsd over vhost-user-test-device-pci with a 512M window mounted -o dax=always and
# -o dax=inode, the same with a window half the file's size (reclaim), vfsd --cache=always and
# the Rust virtiofsd over vhost-user-fs-pci; the workload's dax set (fio read and mmap, cold and
# warm, the guest's page cache growth) and the daemon's count of DAX maps; the table goes to
# bench/RESULTS-vm-dax.md (about 4 minutes under TCG).
# With --mq, several request queues instead: QEMU 11.1 and sid's kernel (Linux >= 6.11 spreads
# requests over the queues, one per vCPU group) for every column; vfsd with
# vhost-user-fs-pci num-request-queues=1, 2 and 4 (VFSD_VM_QUEUES) and the Rust virtiofsd (one
# queue: it serves no more); the usual workloads with 2000 small files; the guest's interrupts
# per request queue show which queues it used; the table goes to bench/RESULTS-mq-vm.md (about 8
# minutes under TCG).
#
#   bench/run-vm.sh [--dax | --mq] [--quick] [--repeat N] [--output FILE] [--configs "NAME ..."]
#                   [--workloads all|meta|files] [--vfsd PATH] [--helper PATH]
#
#   --dax       the DAX comparison (above); fails if the sid chroot cannot be built, except with
#               --quick, which then exits 77 (a skip for meson)
#   --quick     tiny sizes and the configurations vfsd-auto, rust, 9p, native (with --dax:
#               vfsd-dax only): a smoke test of the script (2-3 minutes under TCG; with --dax
#               under a minute); the table is only printed unless --output
#   --repeat N  boot each configuration N times, interleaved (all once, then all again, ...);
#               each cell is the median of the N (of 2: the better; default 1)
#   --output    where the table goes (default: bench/RESULTS-vm.md, with --dax
#               bench/RESULTS-vm-dax.md, in the full mode)
#   --configs   a subset of the configurations below, in that order (default: those whose "sets"
#               has "all", with --dax "dax")
#   --workloads all (default): everything; meta: the metadata workloads only (small files and
#               build-like, no fio); files: the small-file phases only (not with --dax)
#   --vfsd      the vfsd binary (default: a release build in $BUILD, default build-bench)
#   --helper    the vm_files binary (default: $BUILD/bench/vm_files)
# Environment: VFSD_BIN (as --vfsd), BUILD, BENCH_FILES (the number of small files, a multiple of
# 100), BENCH_SHARE_FS (fresh, the default except with --quick: every boot's share is a new ext4
# file system, a loop-mounted sparse image beside the run's other files; dir: a plain directory
# of the host's file system, whose inode allocator made creates cost a varying 0.02-1 ms of
# daemon CPU each, bench/RESULTS-vm-platform.md), BENCH_DAX=1 (as --dax), BENCH_QUICK=1 (as --quick),
# BENCH_REPEAT (as --repeat), BENCH_BASE_VFSD (the binary of vfsd-coherent-base), BENCH_MQ=1 (as --mq), VT_PROBE (guest/vt-probe for the patched
# configurations, default $BUILD/guest/vt-probe: it adds table_read_ns and ram_read_ns), BENCH_NOTE (a line for the header, e.g. which
# commit vfsd was built from), BENCH_VM_LOCK (a file to flock(1) around each configuration's boot,
# e.g. /tmp/vfsd-vm.lock on a machine whose VM runs take turns), and lib.sh's VFSD_VM_* knobs (VFSD_VM_MEM, VFSD_VM_SMP, VFSD_VM_ACCEL, VFSD_CACHE, ...),
# which apply to every configuration alike. Installs fio, git, gcc, make (with --dax: fio) with
# apt-get if missing (the guest runs the host's binaries).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-bench}
# shellcheck source-path=SCRIPTDIR/../tests/vm source=lib.sh
. "$ROOT/tests/vm/lib.sh"

dax=${BENCH_DAX:-0}
quick=${BENCH_QUICK:-0}
mq=${BENCH_MQ:-0}
repeat=${BENCH_REPEAT:-1}
output=""
only=""
workloads=all
vfsd_bin=${VFSD_BIN:-}
helper=""
while [ $# -gt 0 ]; do
	case "$1" in
	--dax) dax=1; shift ;;
	--quick) quick=1; shift ;;
	--repeat) repeat=$2; shift 2 ;;
	--output) output=$2; shift 2 ;;
	--configs) only=$2; shift 2 ;;
	--workloads) workloads=$2; shift 2 ;;
	--vfsd) vfsd_bin=$2; shift 2 ;;
	--helper) helper=$2; shift 2 ;;
	--mq) mq=1; shift ;;
	-h | --help) sed -n '2,50p' "$0"; exit 0 ;;
	*) echo "run-vm: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
done
case "$workloads" in all | meta | files) ;; *) echo "run-vm: --workloads all, meta or files" >&2; exit 2 ;; esac
SET=$workloads RESULTS=RESULTS-vm.md # the workload set (bench/vm-workload.sh) and the default output
PICK=all                      # the configurations' "sets" entry that selects them
[ "$dax" = 0 ] || [ "$workloads" = all ] || { echo "run-vm: --workloads is not for --dax" >&2; exit 2; }
[ "$dax" = 0 ] || SET=dax RESULTS=RESULTS-vm-dax.md PICK=dax
[ "$mq" = 0 ] || RESULTS=RESULTS-mq-vm.md PICK=mq
[ "$dax$mq" != 11 ] || vm_die "--dax and --mq are separate runs"
[ "$quick" = 1 ] || output=${output:-$ROOT/bench/$RESULTS}
say() { printf '[run-vm] %s\n' "$*" >&2; }

# ------------------------------------------------------------------ sizes
if [ "$quick" = 1 ]; then
	FIO_MB=8 FIO_SECONDS=2 FILES=300 CFILES=2 TAR_DIRS="asm-generic"
	if [ "$dax" = 1 ]; then
		only=${only:-vfsd-dax}
	elif [ "$mq" = 1 ]; then
		only=${only:-vfsd-q2 rust}
	else
		only=${only:-vfsd-auto rust 9p native}
	fi
else
	FIO_MB=128 FIO_SECONDS=10 FILES=10000 CFILES=24 TAR_DIRS="linux asm-generic"
	# fewer small files: four boots of the whole set stay under 10 minutes on TCG
	[ "$mq" = 0 ] || FILES=2000
fi
FILES=${BENCH_FILES:-$FILES}
SHARE_FS=${BENCH_SHARE_FS:-$([ "$quick" = 1 ] && echo dir || echo fresh)}
case "$SHARE_FS" in fresh | dir) ;; *) echo "run-vm: BENCH_SHARE_FS is fresh or dir" >&2; exit 2 ;; esac
FILE_SIZE=1024
DAX_WINDOW=512M

# ------------------------------------------------------------------ configurations
# config NAME key=value...: one column of the table, run in this order.
#   label   column heading
#   kind    virtiofs (a vhost-user daemon), 9p (QEMU's own server) or native (no VM)
#   daemon  vfsd or rust (kind virtiofs)
#   flags   the daemon's flags (appended after --socket-path and --shared-dir)
#   device  function printing the QEMU device arguments, called as FN SOCKET SHARE TAG
#           (default: dev_KIND)
#   mount   guest mount arguments before TAG and the mount point
#   env     space-separated VAR=value settings for this configuration only: tests/vm/lib.sh
#           knobs (another QEMU binary, VFSD_VM_APPEND, ...) or anything the device function reads
#   sets    the runs that include it by default: all (without --dax; the default), dax (--dax)
#   modules patched: the guest boots with the patched fuse.ko/virtiofs.ko of
#           guest/build-modules.sh (the version table; bookworm's 6.1 kernel only)
# The DAX columns set lib.sh's knobs for QEMU 11.1 and its vhost-user device with a window
# (run_vm adds the daemon flags that device needs, from vm_fs_daemon_flags: --tag,
# --request-queues=1); --dax runs every column on that QEMU and sid's kernel.
declare -A CFG=()
CONFIGS=()
config() {
	local name=$1 kv
	shift
	CONFIGS+=("$name")
	for kv in "$@"; do
		CFG[$name.${kv%%=*}]=${kv#*=}
	done
	CFG[$name.device]=${CFG[$name.device]:-dev_${CFG[$name.kind]}}
	CFG[$name.sets]=${CFG[$name.sets]:-all}
}
dev_virtiofs() { vm_dev_virtiofs "$1" "$3" 0; }
dev_9p() { vm_dev_9p "$2" "$3" rw; }
ninep_mount="-t 9p -o trans=virtio,version=9p2000.L,cache=mmap,msize=262144"

config vfsd-auto label="vfsd auto" kind=virtiofs daemon=vfsd flags="--cache=auto" mount="-t virtiofs" \
	sets="all dax"
config vfsd-always label="vfsd always" kind=virtiofs daemon=vfsd flags="--cache=always" mount="-t virtiofs" \
	sets="all dax"
config vfsd-never label="vfsd never" kind=virtiofs daemon=vfsd flags="--cache=never" mount="-t virtiofs"
config rust label="Rust virtiofsd auto" kind=virtiofs daemon=rust flags="--cache=auto" mount="-t virtiofs" \
	sets="all dax mq"
config 9p label="9p (cache=mmap)" kind=9p mount="$ninep_mount"
config native label="native (host)" kind=native
dax_env="VFSD_VM_QEMU=sid VFSD_VM_FS_DEVICE=test-device"
config vfsd-dax label="vfsd DAX, dax=always" kind=virtiofs daemon=vfsd sets=dax env="$dax_env" \
	flags="--cache=auto --dax-window=$DAX_WINDOW" mount="-t virtiofs -o dax=always"
config vfsd-dax-inode label="vfsd DAX, dax=inode" kind=virtiofs daemon=vfsd sets=dax env="$dax_env" \
	flags="--cache=auto --dax-window=$DAX_WINDOW" mount="-t virtiofs -o dax=inode"
# a window half the size of the fio file: the guest reclaims chunks (FUSE_REMOVEMAPPING) as it reads
config vfsd-dax-small label="vfsd DAX, dax=always, $((FIO_MB / 2))M window" kind=virtiofs daemon=vfsd \
	sets=dax env="$dax_env" flags="--cache=auto --dax-window=$((FIO_MB / 2))M" mount="-t virtiofs -o dax=always"
# the version table (docs/coherence.md): only when named with --configs (QEMU 11.1's test device,
# the patched guest modules, vfsd --coherence=table with its default table in /dev/shm;
# iomem=relaxed lets vt-probe readbench map the device's BAR 4, which the driver holds)
config vfsd-coherent label="vfsd table (patched guest)" kind=virtiofs daemon=vfsd sets=coherent \
	env="$dax_env VFSD_VM_APPEND=iomem=relaxed" modules=patched flags="--cache=auto --coherence=table" mount="-t virtiofs"
# vfsd-coherent with another vfsd binary (BENCH_BASE_VFSD, e.g. a build of main): a before/after
# comparison within one interleaved run; only when named with --configs
config vfsd-coherent-base label="vfsd table, base binary" kind=virtiofs daemon=vfsd sets=coherent \
	bin="${BENCH_BASE_VFSD:-}" env="$dax_env" modules=patched flags="--cache=auto --coherence=table" \
	mount="-t virtiofs"
# the same without the host change watch (what the fanotify mark costs)
config vfsd-coherent-nowatch label="vfsd table, no host watch" kind=virtiofs daemon=vfsd \
	sets=coherent env="$dax_env" modules=patched flags="--cache=auto --coherence=table --vt-watch=none" \
	mount="-t virtiofs"
# --cache=always on the platform of the table column (QEMU 11.1, the test device, the patched
# modules, which without --coherence behave like Debian's): the fair reference for it
config vfsd-always-td label="vfsd always (QEMU 11.1, test device, patched guest)" kind=virtiofs \
	daemon=vfsd sets=coherent env="$dax_env" modules=patched flags="--cache=always" mount="-t virtiofs"
# --cache=always on QEMU 11.1 over vhost-user-fs-pci (stock modules): separates "QEMU 11.1" from
# "the test device" in the comparisons above (bench/RESULTS-vm-platform.md)
config vfsd-always-sid label="vfsd always (QEMU 11.1, vhost-user-fs-pci)" kind=virtiofs daemon=vfsd \
	sets=coherent env="VFSD_VM_QEMU=sid" flags="--cache=always" mount="-t virtiofs"
# --mq: vhost-user-fs-pci with num-request-queues=N (tests/vm/lib.sh VFSD_VM_QUEUES)
for q in 1 2 4; do
	config "vfsd-q$q" label="vfsd auto, $q request queue$([ "$q" = 1 ] || echo s)" kind=virtiofs \
		daemon=vfsd sets=mq env="VFSD_VM_QUEUES=$q" flags="--cache=auto" mount="-t virtiofs"
done
# the columns the daemon CPU table compares, and the ratio columns ("A:B:HEADING|...", A against B)
REF_VFSD=vfsd-auto REF_RUST=rust
RATIOS="vfsd-auto:rust:vfsd/Rust|vfsd-auto:native:vfsd/native"
[ "$dax" = 0 ] || RATIOS="vfsd-dax:vfsd-auto:DAX/auto|vfsd-dax:vfsd-always:DAX/always|vfsd-auto:rust:vfsd/Rust"
if [[ " $only " == *" vfsd-coherent "* ]]; then
	RATIOS="vfsd-coherent:vfsd-always-td:table/always (QEMU 11.1)|vfsd-coherent:vfsd-always:table/always|vfsd-coherent:vfsd-never:table/never"
fi
if [ "$mq" = 1 ]; then
	REF_VFSD=vfsd-q1
	RATIOS="vfsd-q2:vfsd-q1:2q/1q|vfsd-q4:vfsd-q1:4q/1q|vfsd-q1:rust:vfsd 1q/Rust|vfsd-q2:rust:vfsd 2q/Rust"
fi

if [ -z "$only" ]; then
	for c in "${CONFIGS[@]}"; do
		[[ " ${CFG[$c.sets]} " == *" $PICK "* ]] && only="$only $c"
	done
fi
for c in $only; do
	[ -n "${CFG[$c.kind]:-}" ] || vm_die "unknown configuration '$c' (known: ${CONFIGS[*]})"
done
sel=()
for c in "${CONFIGS[@]}"; do
	[[ " $only " == *" $c "* ]] && sel+=("$c")
done
CONFIGS=("${sel[@]}")

# --dax, --mq: QEMU 11.1 and sid's kernel for every column
if [ "$dax" = 1 ] || [ "$mq" = 1 ]; then
	if ! sid_out=$("$ROOT/tests/tools/sid-qemu.sh"); then
		[ "$quick" = 1 ] || vm_die "--dax and --mq need QEMU 11.1: the Debian sid chroot cannot be built (tests/tools/sid-qemu.sh)"
		say "SKIP: QEMU 11.1 unavailable, the Debian sid chroot cannot be built (tests/tools/sid-qemu.sh)"
		exit 77
	fi
	eval "$sid_out"
	export VFSD_VM_QEMU=$SID_QEMU VFSD_VM_SUITE=sid
fi

# ------------------------------------------------------------------ tools, binaries, assets
need=()
tools=(fio git gcc make)
[ "$SET" != dax ] || tools=(fio)
for p in "${tools[@]}"; do
	command -v "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
	say "installing ${need[*]}"
	{ DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" ||
		{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"; }; } >&2
fi

if [ -z "$vfsd_bin" ] || [ -z "$helper" ]; then
	[ -d "$BUILD" ] || meson setup "$BUILD" "$ROOT" --buildtype=release >&2
	targets=""
	[ -n "$vfsd_bin" ] || targets="vfsd"
	[ -n "$helper" ] || targets="$targets bench/vm_files"
	# shellcheck disable=SC2086 # target names
	ninja -C "$BUILD" $targets >&2
	vfsd_bin=${vfsd_bin:-$BUILD/vfsd}
	helper=${helper:-$BUILD/bench/vm_files}
fi
# the patched guest's table probe (guest/vt-probe.c): how fast the guest reads the mapped table
vt_probe=""
for c in "${CONFIGS[@]}"; do
	[ "${CFG[$c.modules]:-}" = patched ] || continue
	vt_probe=${VT_PROBE:-$BUILD/guest/vt-probe}
	[ -x "$vt_probe" ] || { [ -d "$BUILD" ] || meson setup "$BUILD" "$ROOT" --buildtype=release >&2; ninja -C "$BUILD" guest/vt-probe >&2; }
	vt_probe=$(readlink -f "$vt_probe")
	break
done
vfsd_bin=$(readlink -f "$vfsd_bin")
helper=$(readlink -f "$helper")
[ -x "$vfsd_bin" ] || vm_die "no vfsd binary at $vfsd_bin"
[ -x "$helper" ] || vm_die "no vm_files binary at $helper"

RUST=""
rust_note=""
if [[ " ${CONFIGS[*]} " == *" rust "* ]]; then
	if RUST=$("$ROOT/tests/tools/rust-virtiofsd.sh" path 2>/dev/null) && [ -n "$RUST" ]; then
		:
	else
		RUST=""
		rust_note="the Rust virtiofsd could not be fetched (tests/tools/rust-virtiofsd.sh): its column is skipped"
		say "$rust_note"
	fi
fi

vm_assets
vm_hostroot_initramfs
vm_accel
say "kernel $VM_KVER, accelerator: $VM_ACCEL_NAME"

WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/vfsd-run-vm-XXXXXX")
trap 'vm_kill_daemons; share_umount_all; rm -rf "$WORK"' EXIT

# share_mount DIR: DIR/share becomes a new ext4 file system (BENCH_SHARE_FS=fresh), so that every
# configuration creates its files on the same fresh state. On a long-used host file system, ext4
# picks a new inode by skipping those deleted in the last minutes (recently_deleted(), one inode
# table block read each): what other processes deleted lately then decides the cost of a create.
share_mount() {
	local img=$1/share.img
	mkdir -p "$1/share"
	[ "$SHARE_FS" = fresh ] || return 0
	truncate -s 4G "$img"
	# no lazy init: the kernel would zero the inode tables in the background during the run
	mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$img" ||
		vm_die "mkfs.ext4 of the share failed (BENCH_SHARE_FS=dir uses a plain directory)"
	mount -o loop "$img" "$1/share" ||
		vm_die "cannot loop-mount the share's ext4 image (BENCH_SHARE_FS=dir uses a plain directory)"
	rmdir "$1/share/lost+found"
}
share_umount() { # DIR
	[ "$SHARE_FS" = fresh ] || return 0
	! mountpoint -q "$1/share" || umount "$1/share" || umount -l "$1/share"
	rm -f "$1/share.img"
}
share_umount_all() {
	local d
	for d in "$WORK"/*/; do [ ! -e "$d/share.img" ] || share_umount "${d%/}"; done
}
# the source tarball of the build-like workload: headers from the host's /usr/include
TARBALL=$WORK/src.tar
tar_files=0
if [ "$SET" = all ] || [ "$SET" = meta ]; then
	# shellcheck disable=SC2086 # a list of directories
	tar -C /usr/include --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
		-cf "$TARBALL" $TAR_DIRS
	tar_files=$(tar -tf "$TARBALL" | grep -vc '/$')
	tar_mib=$(du -m "$TARBALL" | cut -f1)
fi

# ------------------------------------------------------------------ one configuration
# daemon_probe NAME: "CPU-ticks VmHWM VmRSS RssAnon RssFile RssShmem WAIT-ns SLICES" of a daemon
# (KiB; CPU: utime + stime of the serving process and of its supervisor, if any; WAIT and SLICES:
# run-queue wait and times scheduled in, summed over the serving process's threads, from
# /proc/PID/task/*/schedstat).
daemon_probe() {
	local pid sup ticks=0 p sched
	pid=$(vm_daemon_serving_pid "$1") || return 1
	sup=${VM_DAEMON_PID[$1]}
	for p in $pid $([ "$sup" != "$pid" ] && echo "$sup"); do
		ticks=$((ticks + $(sed 's/.*) //' /proc/"$p"/stat | awk '{ print $12 + $13 }')))
	done
	sched=$(cat /proc/"$pid"/task/*/schedstat 2>/dev/null | awk '{ w += $2; n += $3 } END { print w + 0, n + 0 }')
	awk -v t="$ticks" -v s="$sched" '/^(VmHWM|VmRSS|RssAnon|RssFile|RssShmem):/ { v[$1] = $2; n++ }
		END { if (n < 5) exit 1
		      print t, v["VmHWM:"], v["VmRSS:"], v["RssAnon:"], v["RssFile:"], v["RssShmem:"], s }' \
		/proc/"$pid"/status
}

# workload_env R TARBALL HELPER DROP SYNC: the workload's settings as shell assignments
workload_env() {
	printf 'export BENCH_SET=%s BENCH_FIO_MB=%s BENCH_FIO_SECONDS=%s BENCH_FILES=%s BENCH_FILE_SIZE=%s\n' \
		"$SET" "$FIO_MB" "$FIO_SECONDS" "$FILES" "$FILE_SIZE"
	printf 'export BENCH_CFILES=%s BENCH_TARBALL=%s BENCH_HELPER=%s BENCH_DROP=%s BENCH_SYNC=%s\n' \
		"$CFILES" "$1" "$2" "$3" "$4"
}

# run_vm NAME DIR: boot the guest for configuration NAME; its results land in DIR/results/out.
run_vm() {
	local name=$1 dir=$2 results share sock args=() kv vt_table=""
	watch=""
	results=$dir/results share=$dir/share sock=$dir/daemon.sock
	mkdir -p "$results/sync" "$share"
	for kv in ${CFG[$name.env]:-}; do export "${kv?}"; done
	if [ "${CFG[$name.modules]:-}" = patched ]; then
		local out
		out=$("$ROOT/guest/build-modules.sh") || vm_die "$name: guest/build-modules.sh failed"
		eval "$out"
		export VFSD_VM_MODULES_OVERRIDE=$GUEST_MODULES_DIR
		vm_hostroot_initramfs
	fi
	# shellcheck disable=SC2317 # called by the trap
	cleanup_vm() {
		[ -z "$watch" ] || kill "$watch" 2>/dev/null || true
		vm_kill_daemons
	}
	trap cleanup_vm EXIT
	cp "$ROOT/bench/vm-workload.sh" "$helper" "$results/"
	[ "${CFG[$name.modules]:-}" != patched ] || cp "$vt_probe" "$results/vt-probe"
	[ ! -f "$TARBALL" ] || cp "$TARBALL" "$results/"
	printf "VIRTIOFS_MOUNTS=''\nTMPFS_TMP=1\n" >"$results/guest.conf"
	local R=/run/vfsd/results M=/run/vfsd/share sync=""
	[ "${CFG[$name.kind]}" = virtiofs ] && sync=$R/sync
	{
		workload_env /tmp/src.tar "$R/${helper##*/}" 1 "$sync"
		echo "[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd"
		echo "mkdir -p $M && mount ${CFG[$name.mount]} bench $M || { echo 'mount failed'; exit 201; }"
		[ ! -f "$TARBALL" ] || echo "cp $R/src.tar /tmp/src.tar"
		echo "/bin/bash $R/vm-workload.sh $M $R/out; rc=\$?"
		# with the table: ns per read of the mapped table against ordinary memory
		[ "${CFG[$name.modules]:-}" != patched ] || echo "$R/vt-probe readbench >>$R/out || true"
		echo "umount $M || rc=202"
		echo "exit \$rc"
	} >"$results/guest-cmd.sh"

	mapfile -t -O "${#args[@]}" args < <(vm_dev_9p / hostroot ro)
	mapfile -t -O "${#args[@]}" args < <(vm_dev_9p "$results" results rw)
	mapfile -t -O "${#args[@]}" args < <("${CFG[$name.device]}" "$sock" "$share" bench)
	if [ -n "${BENCH_VM_LOCK:-}" ]; then
		local lk
		exec {lk}>"$BENCH_VM_LOCK"
		say "$name: waiting for $BENCH_VM_LOCK"
		flock "$lk"
	fi
	if [ "${CFG[$name.kind]}" = virtiofs ]; then
		export VFSD_VM_FLAGS=${CFG[$name.flags]:-}
		# a table of this boot's own: the default one is named after the share's st_dev, and
		# the fresh shares' loop devices are reused, so a table left there by another build
		# (another layout or slot count) would make the daemon refuse to start
		vt_table=""
		if [[ " $VFSD_VM_FLAGS " == *" --coherence=table "* ]]; then
			vt_table=/dev/shm/vfsd-bench-vt.$$.${dir##*/}
			VFSD_VM_FLAGS="$VFSD_VM_FLAGS --vt-table=$vt_table"
		fi
		if [ "${CFG[$name.daemon]}" = rust ]; then
			VFSD_DAEMON_CMD=$RUST vm_daemon_cmd ""
		else
			[ -z "${CFG[$name.bin]+x}" ] || [ -x "${CFG[$name.bin]}" ] ||
				vm_die "$name: no vfsd binary (BENCH_BASE_VFSD)"
			VFSD_DAEMON_CMD="" vm_daemon_cmd "${CFG[$name.bin]:-$vfsd_bin}"
		fi
		# flags a device needs from the daemon (lib.sh, e.g. the tag for a test device)
		local extra=()
		if declare -F vm_fs_daemon_flags >/dev/null; then
			mapfile -t extra < <(vm_fs_daemon_flags bench)
		fi
		vm_start_daemon "$name" "$sock" "$share" "$dir/daemon.log" "${extra[@]}"
		vm_sync_watch "$results" "$dir/probe.log" "$name" daemon_probe &
		watch=$!
	fi
	if declare -F vm_qemu_cmd >/dev/null; then vm_qemu_cmd; else VM_QEMU=(qemu-system-x86_64); fi
	echo "qemu $("${VM_QEMU[@]}" --version | head -n1 | sed 's/^QEMU emulator version //')" >"$dir/qemu"
	vm_qemu "$dir/serial.log" "${args[@]}" >&2
	[ -z "$watch" ] || kill "$watch" 2>/dev/null || true
	watch=""
	if [ "${CFG[$name.kind]}" = virtiofs ]; then
		vm_stop_daemon "$name" || say "$name: daemon status $VM_DAEMON_STATUS"
		[ -z "$vt_table" ] || rm -f "$vt_table"
		# vfsd's "dax: N maps, M unmaps, K refused by the frontend" at each session's end
		read -r _ maps unmaps refused < <(vm_dax_counts "$dir/daemon.log")
		printf 'dax_maps %s\ndax_unmaps %s\ndax_refused %s\n' "$maps" "$unmaps" "$refused" >"$dir/dax"
	fi
	[ "$VM_QEMU_RC" = 0 ] || say "$name: QEMU exited with $VM_QEMU_RC (see $dir/serial.log)"
	if [ "$(cat "$results/exit-code" 2>/dev/null)" != 0 ]; then
		say "$name: guest command status $(cat "$results/exit-code" 2>/dev/null || echo none)"
	fi
	cp "$results/out" "$dir/out" 2>/dev/null || true
	# which request queues the guest used: their interrupts (saved by the hostroot init)
	[ -z "${VFSD_VM_QUEUES:-}" ] || echo "queue_irqs $(vm_queue_irqs "$results/interrupts")" >"$dir/irqs"
}

# probe_results PROBE_LOG: the daemon's figures as "KEY VALUE" lines: per phase (from the
# LABEL.start and LABEL.end samples) CPU seconds (KEY_cpu_s), run-queue wait seconds (KEY_wait_s)
# and times scheduled in (KEY_wakes); at the final sample the total CPU, VmHWM and own memory
# (RssAnon + RssFile) in MiB.
probe_results() {
	awk '$2 ~ /^[0-9]+$/ {
		l = $1; sub(/\.(start|end)$/, "", l)
		if ($1 ~ /\.start$/) { t0[l] = $2; w0[l] = $8; n0[l] = $9 }
		else if ($1 ~ /\.end$/ && (l in t0))
			printf "%s_cpu_s %.2f\n%s_wait_s %.3f\n%s_wakes %d\n", l, ($2 - t0[l]) / 100,
				l, ($8 - w0[l]) / 1e9, l, $9 - n0[l]
		if ($1 == "final") printf "daemon_cpu_s %.2f\ndaemon_hwm_mib %.1f\ndaemon_own_mib %.1f\n",
			$2 / 100, $3 / 1024, ($5 + $6) / 1024
	}' "$1"
}

# cpu_ticks: "BUSY OURS": CPU time used on the host so far by everything (/proc/stat) and by
# this script's finished children (QEMU, daemons, the native workload: cutime + cstime), in ticks
cpu_ticks() {
	echo "$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat)" \
		"$(sed 's/.*) //' /proc/$$/stat | awk '{ print $14 + $15 }')"
}

# ------------------------------------------------------------------ run
START=$(date -u '+%Y-%m-%d %H:%M UTC')
T0=$(date +%s)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
RAW=$WORK/raw.tsv # configuration, repetition, key, value
: >"$RAW"
ran=()
for name in "${CONFIGS[@]}"; do
	if [ "${CFG[$name.daemon]:-}" = rust ] && [ -z "$RUST" ]; then
		continue
	fi
	ran+=("$name")
done
for ((rep = 1; rep <= repeat; rep++)); do
	for name in "${ran[@]}"; do
		dir=$WORK/$name.$rep
		mkdir -p "$dir"
		share_mount "$dir"
		say "== $name (${CFG[$name.label]}), run $rep of $repeat"
		t=$(date +%s)
		read -r busy0 ours0 <<<"$(cpu_ticks)"
		if [ "${CFG[$name.kind]}" = native ]; then
			# shellcheck disable=SC1090 # generated
			(eval "$(workload_env "$TARBALL" "$helper" 0 "")" &&
				bash "$ROOT/bench/vm-workload.sh" "$dir/share" "$dir/out") >&2 ||
				say "$name: the workload failed"
		else
			# a subshell: per-configuration environment, daemons and traps stay in it
			(run_vm "$name" "$dir") || say "$name: the run failed"
		fi
		share_umount "$dir"
		{
			cat "$dir/out" "$dir/qemu" "$dir/dax" "$dir/irqs" 2>/dev/null || true
			[ ! -f "$dir/probe.log" ] || probe_results "$dir/probe.log"
			echo "wall_s $(($(date +%s) - t))"
			# the other processes' share of the host's CPUs during this run
			read -r busy1 ours1 <<<"$(cpu_ticks)"
			echo "others_pct $(awk -v b="$((busy1 - busy0))" -v o="$((ours1 - ours0))" \
				-v s="$(($(date +%s) - t))" -v n="$(nproc)" \
				'BEGIN { x = s > 0 ? (b - o) / (s * 100 * n) * 100 : 0; printf "%.0f", x < 0 ? 0 : x }')"
		} | awk -v c="$name" -v r="$rep" 'NF >= 2 {
			k = $1; $1 = ""; sub(/^ /, ""); print c "\t" r "\t" k "\t" $0 }' >>"$RAW"
	done
done
T1=$(date +%s)

# ------------------------------------------------------------------ report
rust_version="not run"
# shellcheck disable=SC2086 # $RUST is a command prefix
[ -z "$RUST" ] || rust_version=$($RUST --version 2>&1 | head -n1)
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
regen="bench/run-vm.sh"
[ "$dax" = 1 ] && regen="$regen --dax"
[ "$mq" = 1 ] && regen="$regen --mq"
[ "$quick" = 1 ] && regen="$regen --quick"
[ "$SET" != meta ] && [ "$SET" != files ] || regen="$regen --workloads $SET"
[ "$repeat" = 1 ] || regen="$regen --repeat $repeat"

# workloads: the workload set's description, for the report
workloads() {
	if [ "$SET" = dax ]; then
		cat <<EOF
- fio: \`--ioengine=psync --direct=0\` (mmap rows: \`--ioengine=mmap\`), a ${FIO_MB} MiB file written by
  the guest (first row), then read; each run stops after the size or ${FIO_SECONDS} s (random runs visit
  each block at most once)
- cold: after \`sync; echo 3 > /proc/sys/vm/drop_caches\` in the guest (its page cache, and with
  DAX the file's window chunks, are gone); warm: the same run again at once. With \`--cache=auto\`
  the guest drops a file's page cache whenever it opens the file (no \`FOPEN_KEEP_CACHE\`, in vfsd
  as in the Rust virtiofsd), so a warm run reads through the daemon again; \`--cache=always\` keeps
  it, DAX keeps its window chunks. The host's caches are never dropped: every column reads the
  host's page cache
- guest page cache growth: \`Cached:\` minus \`Shmem:\` in the guest's /proc/meminfo, after the run
  minus before; DAX reads the host's pages through the window and should add nothing
- DAX maps: the daemon's \`dax: N maps, M unmaps, K refused by the frontend\` log lines
  (vfsd, at each session's end), summed
EOF
		return
	fi
	if [ "$SET" = all ]; then
		cat <<EOF
- fio: \`--ioengine=psync --direct=0\`, a ${FIO_MB} MiB file, each run stops after the size or
  ${FIO_SECONDS} s (random runs visit each block at most once); the 4-job run gives each job its own
  quarter; no fsync (every column writes to the host's page cache)
EOF
	else
		echo "- workloads: \`--workloads $SET\`, the metadata workloads only (no fio)"
	fi
	cat <<EOF
- small files: ${FILES} files of ${FILE_SIZE} bytes in 100 directories (10 × 10), each phase timed
  alone by bench/vm_files.c
EOF
	[ "$SET" = files ] || cat <<EOF
- build-like: untar ${tar_files} files (${tar_mib} MiB, /usr/include/{${TAR_DIRS// /,}}), \`git init+add+commit\`,
  \`git status\`, \`grep -r\`, \`make -j2\` of ${CFILES} generated C files, \`rm -rf\`
EOF
	cat <<EOF
- cold: the guest's caches are dropped first (fio: \`--invalidate=1\`; the others: \`echo 3 >
  drop_caches\`); the host's never are, so the daemons and the native run read the host's page cache
EOF
}

report() {
	local c qemu irqs title="VM benchmark"
	[ "$SET" != dax ] || title="DAX benchmark"
	[ "$mq" = 0 ] || title="request queue benchmark"
	cat <<EOF
# vfsd $title (bench/run-vm.sh)

Command: \`$regen\`$([ "$quick" = 1 ] && echo " (quick mode: tiny sizes, a smoke test, not a measurement)").

- date: $START; total run time $((T1 - T0)) s; load average before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg)
- machine: $cpu, $(nproc) CPUs, host kernel $(uname -r), shares on $([ "$SHARE_FS" = fresh ] && echo "a fresh ext4 each boot (a 4 GiB sparse image, loop-mounted, on $(df -T "$WORK" | awk 'NR == 2 { print $2 }'))" || echo "a directory of the host's $(df -T "$WORK" | awk 'NR == 2 { print $2 }') (BENCH_SHARE_FS=dir)")
- accelerator: $VM_ACCEL_NAME
- guest: Debian kernel $VM_KVER, q35, ${VFSD_VM_SMP:-2} vCPUs, ${VFSD_VM_MEM:-2G} RAM (memfd, shared); its
  root is the host's / over 9p (read-only), so it runs the host's fio, git, gcc
- vfsd: $("$vfsd_bin" --version 2>&1 | head -n1)${BENCH_NOTE:+, $BENCH_NOTE}; Rust: $rust_version (Debian trixie package)
- each cell: the median of $repeat run(s) (of 2: the better), interleaved (all configurations once,
  then again)
- configurations (daemons with their defaults, namespace sandbox and seccomp, plus the flags shown;
  virtio-fs: \`vhost-user-fs-pci,queue-size=1024\`, with \`VFSD_VM_FS_DEVICE=test-device\`:
  \`vhost-user-test-device-pci,virtio-id=26,num_vqs=2,config_size=40,vq_size=1024\` and the daemon
  flags \`--tag=bench --request-queues=1\`; 9p: \`-fsdev local,security_model=none\`):
EOF
	[ -z "$rust_note" ] || echo "- NOTE: $rust_note"
	for c in "${ran[@]}"; do
		qemu=$(awk -F'\t' -v c="$c" '$1 == c && $3 == "qemu" { print $4; exit }' "$RAW")
		printf '  - %s: ' "${CFG[$c.label]}"
		case "${CFG[$c.kind]}" in
		native) echo "the same script on a host directory of the same file system" ;;
		*) echo "${CFG[$c.daemon]:+${CFG[$c.daemon]} ${CFG[$c.flags]:-}, }QEMU ${qemu:-?}, mount \`${CFG[$c.mount]}\`${CFG[$c.env]:+, env \`${CFG[$c.env]}\`}" ;;
		esac
		irqs=$(awk -F'\t' -v c="$c" '$1 == c && $3 == "queue_irqs" { printf "%s%s", s, $4; s = "; " }' "$RAW")
		[ -z "$irqs" ] || echo "    guest interrupts per request queue (queue:count, per run): $irqs"
	done
	workloads
	echo
	awk -F'\t' -v set="$SET" -v cfgs="${ran[*]}" -v vref="$REF_VFSD" -v rref="$REF_RUST" -v ratios="$RATIOS" \
		-v files="$FILES" -v cfiles="$CFILES" -v tarf="$tar_files" -v labels="$(
			for c in "${ran[@]}"; do printf '%s|' "${CFG[$c.label]}"; done
		)" -f "$ROOT/bench/vm-table.awk" "$RAW"
	echo
	echo "<details><summary>Raw results (configuration, run, key, value)</summary>"
	echo
	echo '```'
	cat "$RAW"
	echo '```'
	echo "</details>"
}

report >"$WORK/report.md"
[ -z "$output" ] || cp "$WORK/report.md" "$output"
cat "$WORK/report.md"
say "done in $((T1 - T0)) s${output:+; written to $output}"
# a configuration without results fails the run (the smoke test relies on it)
for name in "${ran[@]}"; do
	grep -q "^$name	[0-9]*	total_s" "$RAW" || vm_die "configuration $name produced no results"
	if grep -q "^$name	[0-9]*	[a-z_0-9]*_error" "$RAW"; then
		vm_die "configuration $name: a workload failed"
	fi
done
