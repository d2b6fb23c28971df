#!/usr/bin/env bash
# shellcheck disable=SC2054 # QEMU arguments contain commas on purpose
# run-vm-migrate.sh: live migration and snapshots of a guest with virtio-fs shares, end to end
# (meson tests 'vm-migrate' and 'vm-snapshot', suite 'vm', TAP on stdout; issue 14,
# docs/migration.md).
#
#   tests/vm/run-vm-migrate.sh migrate|snapshot VFSD_BINARY
#
# QEMU 11.1 from the sid chroot (tests/tools/sid-qemu.sh; 7.2 cannot migrate vhost-user-fs),
# the bookworm guest kernel, -smp 1, $VFSD_VM_MEM (default 256M) of RAM, TCG unless real KVM.
# The guest's root is an initramfs (busybox, tests/vm/migrate-guest.sh as /init): QEMU refuses
# to migrate while a 9p export is mounted. Every QEMU gets its own daemons, all serving the same
# host directories (a tmpfs of the test): "share" (daemon defaults) and, in migrate mode,
# "never" (--cache=never). The guest's workload (migrate-guest.sh) appends through a held fd,
# writes to and re-opens a held deleted file, rewrites and re-reads a file with its checksum and
# lists a directory, every ~0.1 s; in migrate mode it also re-reads a 32 MiB file on the
# cache=never share, 8 MiB a read(2), and compares its md5 (the daemon writes that data straight
# into dd's buffer: without dirty logging of READ data the destination would see stale pages).
#
# migrate:  source S; a migration to C started and cancelled with migrate_cancel while RAM is
#           copied (S must keep running and the guest keep ticking); a migration to F whose
#           daemons cannot find the deleted file again (no migration flags) and refuse the
#           state: it fails and S goes on; S -> D1, S quits; D1 -> D2 (there and back: twice in
#           all), D1 quits; after each, the guest goes on ticking and completes big-file passes
#           on the destination with no ERR line.
# snapshot: S is stopped, `migrate file:SNAP`, S quits; a fresh QEMU with -incoming file:SNAP
#           and fresh daemons (--migration-on-error=guest-error), `cont`; the guest goes on; the
#           held deleted file, gone with S's daemon, gives the guest an error (and only it).
# Then the host creates ctl/stop on the share: the guest ends its loops, checks held.log, umounts
# and powers off; every daemon must exit 0 once its QEMU is gone; no ERR line on any console;
# on the host held.log holds 1..N in order (N ticks) and rw.dat has the sum of the last tick.
#
# A daemon that does not list migrate-precopy in --print-capabilities fails the test at once.
# Environment: VFSD_DAEMON_CMD (another daemon, e.g. "tests/tools/rust-virtiofsd.sh run"),
# VFSD_VM_FLAGS (flags of every daemon, default --xattr), VFSD_MIG_FLAGS (migration flags of
# every daemon; default --migration-mode=file-handles, plus --modcaps=+dac_read_search for the
# Rust virtiofsd, whose find-paths mode cannot move a deleted file), VFSD_MIG_CANCEL=0 (skip the
# cancelled migration), VFSD_MIG_DELETED=0 (migrate mode: hold no deleted file, which find-paths
# cannot move; then no refused migration either), VFSD_MIG_JSON=FILE (append each migration's QMP figures, one JSON line
# each, for bench/run-migration.sh), VFSD_VM_KEEP=1 (keep the work directory).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"
if [ $# -ne 2 ] || { [ "$1" != migrate ] && [ "$1" != snapshot ]; }; then
	echo "usage: $0 migrate|snapshot VFSD_BINARY" >&2
	exit 2
fi
mode=$1
vfsd_bin=$2
export VFSD_VM_QEMU=sid VFSD_VM_SUITE="${VFSD_VM_SUITE:-bookworm}"
mem=${VFSD_VM_MEM:-256M}
VM_MODULES_WANTED="virtio_pci fuse virtiofs"
big=0
[ "$mode" = migrate ] && big=1
vm_accel
echo "# accelerator: $VM_ACCEL_NAME; mode $mode, guest RAM $mem"

base=$(mktemp -d "${TMPDIR:-/tmp}/vfsd-vm-$mode.XXXXXX")
share="$base/share"
mkdir -p "$share"
# A file system of the test's own: file handles of the shared files stay valid for both
# daemons, and nothing else changes the directories.
mount -t tmpfs -o size=160m,mode=0755 "vfsd-$mode" "$share"
declare -A qemu_pid=()
cleanup() {
	local p
	for p in "${qemu_pid[@]}"; do kill "$p" 2>/dev/null || true; done
	vm_kill_daemons
	umount "$share" 2>/dev/null || true
}
trap cleanup EXIT
finish() {
	cleanup
	vm_finish "vm-$mode" "$base" "$@"
}

# ---------------------------------------------------------------- assets, daemon, share
vm_assets_tap || finish
vm_qemu_cmd
init="$base/init"
cp "$here/migrate-guest.sh" "$init"
key=$({
	cat "$init"
	echo "$VM_KVER $VM_MODULES_WANTED"
	sha256sum /bin/busybox
} | sha256sum | cut -c1-16)
mkdir -p "$VM_CACHE/initramfs"
VM_INITRD="$VM_CACHE/initramfs/migrate-$VM_KVER-$key.cpio.gz"
[ -s "$VM_INITRD" ] || vm_build_initramfs "$VM_INITRD" "$init"

vm_daemon_cmd "$vfsd_bin"
rust=0
case "${VFSD_DAEMON_CMD:-}" in *rust-virtiofsd*) rust=1 ;; esac
if [ -n "${VFSD_MIG_FLAGS+x}" ]; then
	read -r -a mig_flags <<<"$VFSD_MIG_FLAGS"
elif [ "$rust" = 1 ]; then
	mig_flags=(--migration-mode=file-handles --modcaps=+dac_read_search)
else
	mig_flags=(--migration-mode=file-handles)
fi
caps=$("${VM_DAEMON[@]}" --print-capabilities 2>&1 || true)
if ! grep -q '"migrate-precopy"' <<<"$caps"; then
	tap not-ok "the daemon supports migration" \
		"'${VM_DAEMON[*]} --print-capabilities' does not list migrate-precopy (got: $(tr -d '\n' <<<"$caps")): it cannot save or load its device state"
	finish
fi
tap ok "the daemon lists migrate-precopy"

mkdir -p "$share/a/w/dir" "$share/a/ctl" "$share/n"
for i in $(seq 1 20); do echo "file $i" >"$share/a/w/dir/f$i"; done
: >"$share/a/w/held.log"
if [ "$big" = 1 ]; then
	head -c 32M /dev/urandom >"$share/n/big.dat"
	md5sum <"$share/n/big.dat" | cut -d' ' -f1 >"$share/n/big.md5"
	mkdir -p "$share/c"
	head -c 16M /dev/urandom >"$share/c/pc.dat"
	md5sum <"$share/c/pc.dat" | cut -d' ' -f1 >"$share/c/pc.md5"
fi

# ---------------------------------------------------------------- QEMUs and their daemons
# start NAME [QEMU ARGS...]: the daemons of QEMU NAME ("share" and, in migrate mode, "never"),
# then QEMU NAME in the background: console $base/NAME.log, QMP $base/NAME.qmp. The daemons get
# $START_FLAGS if set, else the migration flags.
start() {
	local name="$1" q=() append="console=ttyS0 quiet panic=-1 init_on_alloc=0 migbig=$big migdel=$migdel"
	shift
	local flags=("${mig_flags[@]}")
	[ -z "${START_FLAGS+x}" ] || read -r -a flags <<<"$START_FLAGS"
	vm_start_daemon "$name-a" "$base/$name-a.sock" "$share/a" "$base/daemon-$name-a.log" "${flags[@]}"
	mapfile -t -O "${#q[@]}" q < <(vm_dev_virtiofs "$base/$name-a.sock" share 0)
	if [ "$big" = 1 ]; then
		vm_start_daemon "$name-n" "$base/$name-n.sock" "$share/n" "$base/daemon-$name-n.log" \
			"${flags[@]}" --cache=never
		mapfile -t -O "${#q[@]}" q < <(vm_dev_virtiofs "$base/$name-n.sock" never 1)
		vm_start_daemon "$name-c" "$base/$name-c.sock" "$share/c" "$base/daemon-$name-c.log" \
			"${flags[@]}" --cache=always
		mapfile -t -O "${#q[@]}" q < <(vm_dev_virtiofs "$base/$name-c.sock" always 2)
	fi
	timeout --kill-after=10 "${VFSD_VM_TIMEOUT:-600}" \
		"${VM_QEMU[@]}" -M q35 "${VM_ACCEL_ARGS[@]}" -smp 1 -m "$mem" \
		-object "memory-backend-memfd,id=mem,size=$mem,share=on" -numa node,memdev=mem \
		-kernel "$VM_KERNEL" -initrd "$VM_INITRD" -append "$append" \
		-display none -monitor none -nodefaults -no-user-config -no-reboot \
		-serial "file:$base/$name.log" -qmp "unix:$base/$name.qmp,server=on,wait=off" \
		"${q[@]}" "$@" </dev/null >"$base/$name.qemu.log" 2>&1 &
	qemu_pid[$name]=$!
	python3 "$here/migrate-ctl.py" wait "$base/$name.qmp" >/dev/null
}
# stop NAME: QEMU NAME is gone (by itself, or quit over QMP when QUIT=1), then its daemons
# must exit 0 by themselves: one TAP check.
stop() {
	local name="$1" pid="${qemu_pid[$1]}" i bad="" t=$SECONDS
	if [ "${QUIT:-0}" = 1 ] && kill -0 "$pid" 2>/dev/null; then
		python3 "$here/migrate-ctl.py" cmd "$base/$name.qmp" quit >/dev/null 2>&1 || true
	fi
	for ((i = 0; i < 600; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		bad="QEMU $name still running after 60 s; "
	fi
	wait "$pid" 2>/dev/null || true
	unset "qemu_pid[$name]"
	vm_stop_daemon "$name-a" || bad="$bad$name-a: $VM_DAEMON_STATUS; "
	if [ "$big" = 1 ]; then
		vm_stop_daemon "$name-n" || bad="$bad$name-n: $VM_DAEMON_STATUS; "
		vm_stop_daemon "$name-c" || bad="$bad$name-c: $VM_DAEMON_STATUS; "
	fi
	check "QEMU $name gone, its daemons exited 0 ($((SECONDS - t)) s)" "$bad(logs in $base)" [ -z "$bad" ]
}
# last_tick LOG: the number of the last "T i" line in console LOG (0 if none).
last_tick() { { grep -a '^T [0-9]' "$1" 2>/dev/null || true; } | awk '{ t = $2 } END { print t + 0 }'; }
# progress NAME WHAT: the guest on QEMU NAME goes on: 5 more ticks than it had and, in migrate
# mode, one more big-file pass and one more page-cache cycle on NAME's console (60 s at most):
# TAP checks.
progress() {
	local log="$base/$1.log" from to b0=0 p0=0 b p i t=$SECONDS
	from=$(last_tick "$tick_log")
	if [ "$log" = "$tick_log" ]; then
		b0=$(count B "$log")
		p0=$(count P "$log")
	fi
	tick_log=$log
	for ((i = 0; i < 600; i++)); do
		to=$(last_tick "$log")
		b=$(count B "$log")
		p=$(count P "$log")
		[ "$to" -ge $((from + 5)) ] && [ "$b" -gt "$b0" ] && [ "$p" -gt "$p0" ] && break
		kill -0 "${qemu_pid[$1]}" 2>/dev/null || break
		sleep 0.1
	done
	check "$2: the guest goes on on $1 (tick $from -> $to in $((SECONDS - t)) s)" \
		"$(tail -3 "$log" | tr '\n' ';')" [ "$to" -ge $((from + 5)) ]
	[ "$big" = 0 ] || check "$2: a whole big-file pass (cache=never) read right on $1" \
		"no new 'B' line in $log" [ "$b" -gt "$b0" ]
	[ "$big" = 0 ] || check "$2: a page-cache cycle (cache=always) read right on $1" \
		"no new 'P' line in $log" [ "$p" -gt "$p0" ]
}
# count X LOG: the number of "X n" lines in console LOG (always 1 without the big-file loops).
count() {
	if [ "$big" = 1 ]; then grep -ac "^$1 " "$2" || true; else echo 1; fi
}
# migrate SRC DST URI [--cancel]: QMP migration; its figures as a "# " line and in VFSD_MIG_JSON.
migrate() {
	local out rc=0
	out=$(python3 "$here/migrate-ctl.py" migrate "$base/$1.qmp" "$2" "$3" "${@:4}" 2>"$base/ctl.err") || rc=$?
	echo "# $1 -> ${2##*/}: $out"
	[ -z "${VFSD_MIG_JSON:-}" ] || [ -n "${4:-}" ] ||
		echo "{\"from\":\"$1\",\"to\":\"$(basename "${2%.qmp}")\",\"data\":$out}" >>"$VFSD_MIG_JSON"
	MIG_ERR=$(cat "$base/ctl.err")
	return $rc
}
# wait_ready NAME: "MIG ready" and 5 ticks on NAME's console (the boot).
wait_ready() {
	local i
	for ((i = 0; i < 1200; i++)); do
		[ "$(last_tick "$base/$1.log")" -ge 5 ] && return 0
		kill -0 "${qemu_pid[$1]}" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

migdel=${VFSD_MIG_DELETED:-1}
[ "$mode" = snapshot ] && migdel=2
t0=$(date +%s)
start s
tick_log="$base/s.log"
if ! wait_ready s; then
	tap not-ok "guest booted and ticking" "$(tail -5 "$base/s.log" | tr '\n' ';')"
	QUIT=1 stop s
	finish
fi
tap ok "guest booted and ticking ($(($(date +%s) - t0)) s)"
src=s

if [ "$mode" = migrate ]; then
	if [ "${VFSD_MIG_CANCEL:-1}" = 1 ]; then
		start c -incoming defer
		if migrate s "$base/c.qmp" "unix:$base/mig-c.sock" --cancel; then
			tap ok "cancelled migration: status cancelled, the source running"
		else
			tap not-ok "cancelled migration: status cancelled, the source running" "$MIG_ERR"
		fi
		QUIT=1 stop c
		progress s "after the cancel"
	fi
	# A destination that cannot find the deleted file again (no --migration-mode=file-handles
	# for vfsd, no CAP_DAC_READ_SEARCH for the Rust virtiofsd) refuses the state (abort):
	# the migration fails and the source goes on.
	[ "$migdel" = 1 ] && START_FLAGS="" start f -incoming defer
	if [ "$migdel" != 1 ]; then
		echo "# no refused migration: no deleted file held (VFSD_MIG_DELETED=$migdel)"
	elif migrate s "$base/f.qmp" "unix:$base/mig-f.sock" --fail; then
		tap ok "failed migration (the destination refused the state): status failed, the source running"
	else
		tap not-ok "failed migration (the destination refused the state): status failed, the source running" "$MIG_ERR"
	fi
	if [ "$migdel" = 1 ]; then
		grep -ih 'migration\|lost\|error' "$base"/daemon-f-a.log | head -3 | sed 's/^/# destination: /' || true
		QUIT=1 stop f
		progress s "after the failed migration"
	fi
	for dst in d1 d2; do
		start "$dst" -incoming defer
		if migrate "$src" "$base/$dst.qmp" "unix:$base/mig-$dst.sock"; then
			tap ok "migration $src -> $dst completed, $dst running"
		else
			tap not-ok "migration $src -> $dst completed, $dst running" "$MIG_ERR"
			QUIT=1 stop "$dst"
			QUIT=1 stop "$src"
			finish
		fi
		QUIT=1 stop "$src"
		progress "$dst" "after $src -> $dst"
		src=$dst
	done
else
	python3 "$here/migrate-ctl.py" cmd "$base/s.qmp" stop >/dev/null
	if migrate s - "file:$base/snap.bin"; then
		tap ok "snapshot of the stopped VM written ($(du -m "$base/snap.bin" | cut -f1) MiB)"
	else
		tap not-ok "snapshot of the stopped VM written" "$MIG_ERR"
		QUIT=1 stop s
		finish
	fi
	QUIT=1 stop s
	# The held deleted file died with the source's daemon: the fresh daemons give the guest
	# EIO on it (guest-error) rather than refusing the whole state.
	START_FLAGS="${mig_flags[*]} --migration-on-error=guest-error" start r -incoming "file:$base/snap.bin"
	if out=$(python3 "$here/migrate-ctl.py" incoming "$base/r.qmp" 2>"$base/ctl.err"); then
		tap ok "fresh QEMU and daemons restored the snapshot, running"
	else
		tap not-ok "fresh QEMU and daemons restored the snapshot, running" "$out $(cat "$base/ctl.err")"
		QUIT=1 stop r
		finish
	fi
	src=r
	progress r "after the restore"
	check "the held deleted file worked until the snapshot" "$(grep -a DELGONE "$base/s.log" | head -1)" \
		[ -z "$(grep -a DELGONE "$base/s.log")" ]
	check "after the restore the held deleted file gives an error" "no DELGONE line in $base/r.log" \
		grep -aq DELGONE "$base/r.log"
	grep -a DELGONE "$base/r.log" | tr -d '\r' | sed 's/^/# guest: /' || true
	grep -ih 'migration:' "$base"/daemon-r-a.log | head -2 | sed 's/^/# restored daemon: /' || true
fi

# ---------------------------------------------------------------- the end
: >"$share/a/ctl/stop"
stop "$src"
errs=$(cat "$base"/[a-z].log "$base"/[a-z][0-9].log 2>/dev/null | grep -a '^ERR' || true)
check "no ERR line on any guest console" "$(head -5 <<<"$errs" | tr '\n' ';')" [ -z "$errs" ]
summary=$(grep -a '^SUMMARY' "$base/$src.log" | tr -d '\r' || true)
check "the guest ended its loops and unmounted (on $src)" "$(tail -3 "$base/$src.log" | tr '\n' ';')" \
	grep -aq '^MIG done' "$base/$src.log"
ticks=$(sed -n 's/^SUMMARY ticks=\([0-9]*\).*/\1/p' <<<"$summary")
check "held.log on the host: 1..$ticks in order" "$(head -c 200 "$share/a/w/held.log" | tr '\n' ' ')" \
	cmp -s "$share/a/w/held.log" <(seq 1 "${ticks:-0}")
want=$(grep -a '^T [0-9]' "$base/$src.log" | tail -1 | awk '{ print $3 }' | tr -d '\r')
got=$(sha256sum <"$share/a/w/rw.dat" | cut -c1-16)
check "rw.dat on the host has the sum of the last tick" "host $got, guest ${want:-no tick}" \
	[ "$got" = "${want:-none}" ]
if [ "$mode" = migrate ]; then
	check "the deleted file was gone on the host all along" "" [ ! -e "$share/a/w/del.dat" ]
fi
finish "mode:        $mode ($summary)" "migration:   ${mig_flags[*]}" "guest:       $(($(date +%s) - t0)) s"
