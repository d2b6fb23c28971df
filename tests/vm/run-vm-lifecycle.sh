#!/usr/bin/env bash
# run-vm-lifecycle.sh: guests that reboot, reset, remount and vanish (meson suite 'vm', TAP).
#
#   tests/vm/run-vm-lifecycle.sh reboot|disconnect|fsync-kill VFSD_BINARY
#
# reboot      one QEMU run, three boots (QEMU without -no-reboot):
#             boot 1 mounts, writes, unmounts and reboots with `reboot -f`;
#             boot 2 mounts, reads what boot 1 wrote, writes more, leaves files open and
#               dirty and resets the machine with sysrq-b;
#             boot 3 mounts, reads everything, then 20 mount/create/read/umount cycles.
#             At each step the guest waits for the host (a rendezvous on the 9p results share)
#             which counts the daemon's open fds: after every umount it must be back to the
#             value it had before the first mount.
# disconnect  a guest writing in a loop; QEMU is killed with SIGKILL: the daemon exits 0 and
#             removes its socket and .pid file. Then the same with --keep-serving: the daemon
#             stays, releases the session (fd count back to idle), a second QEMU mounts the
#             share and works, and SIGTERM ends the daemon with status 0.
# fsync-kill  the guest writes and fsyncs files and prints each fsynced file's size and
#             SHA-256 on the serial console (not on the 9p share, which may lose data when
#             QEMU dies); the host kills QEMU with SIGKILL right after and checks every
#             fsynced byte on the host.
#
# The daemon runs with its defaults (namespace sandbox: the fds counted are those of the
# sandboxed child of the pid started) plus $VFSD_VM_FLAGS (default --xattr).
# Missing assets are a failure, never a skip. Set VFSD_VM_KEEP=1 to keep the work directory.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[ $# -eq 2 ] || {
	echo "usage: $0 reboot|disconnect|fsync-kill VFSD_BINARY" >&2
	exit 2
}
mode="$1"
vfsd_bin="$2"
case "$mode" in reboot | disconnect | fsync-kill) ;; *)
	echo "unknown mode $mode" >&2
	exit 2
	;;
esac

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

say() { printf '[vm-%s] %s\n' "$mode" "$*" >&2; }
finish() { vm_finish "vm-$mode" "${base:-}"; }

# Each QEMU run is a few boots of a small guest: minutes mean a hang.
export VFSD_VM_TIMEOUT="${VFSD_VM_TIMEOUT:-240}"
vm_accel
echo "# accelerator: $VM_ACCEL_NAME"
say "accelerator: $VM_ACCEL_NAME"

# assets: fail, never skip
vm_assets_tap || finish
vm_hostroot_initramfs
vm_daemon_cmd "$vfsd_bin"
echo "# daemon: ${VM_DAEMON[*]} ${VM_DAEMON_FLAGS[*]}"

base=$(mktemp -d "${TMPDIR:-/tmp}/vfsd-vm-$mode.XXXXXX")
share="$base/share"
results="$base/results"
sock="$base/vfsd.sock"
mkdir -p "$share" "$results/sync"
chmod 0755 "$base" "$share"
watch_pid=""
qemu_bg=""
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	if [ -n "$watch_pid" ]; then kill "$watch_pid" 2>/dev/null || true; fi
	if [ -n "$qemu_bg" ] && [ -s "$base/qemu.pid" ]; then
		kill -KILL "$(cat "$base/qemu.pid")" 2>/dev/null || true
	fi
	vm_kill_daemons
}
trap cleanup EXIT
say "work directory: $base"

# The guest: no virtiofs mount by init; guest-cmd.sh (dash, host root) does its own mounts.
printf "VIRTIOFS_MOUNTS=''\nTMPFS_TMP=1\n" >"$results/guest.conf"
guest_prelude() {
	cat <<'EOF'
R=/run/vfsd/results
M=/run/vfsd/share
TAG=vfsdtest
ok() { echo "ok - $*" >>$R/tap.log; echo "ok - $*"; }
nok() { echo "not ok - $*" >>$R/tap.log; echo "not ok - $*"; }
t() { if eval "$2"; then ok "$1"; else nok "$1"; return 1; fi; }
# hostsync LABEL: let the host look at the daemon, wait for its ack (at most 120 s)
hostsync() {
	: >$R/sync/$1.req
	i=0
	while [ ! -e $R/sync/$1.ack ]; do
		sleep 0.1
		i=$((i + 1))
		[ $i -lt 1200 ] || { nok "host ack for $1"; return 1; }
	done
}
mnt() { mkdir -p $M && mount -t virtiofs $TAG $M; }
console() { echo "$*" >/dev/console; }
EOF
}

# start_daemon NAME LOG SOCKET SHARE [FLAGS...]: start it and wait until it waits for a
# frontend (the sandboxed child exists and has set up everything): fd counts are comparable.
start_daemon() {
	local name="$1" logf="$2" i
	vm_start_daemon "$name" "$3" "$4" "$logf" "${@:5}"
	for ((i = 0; i < 100; i++)); do
		grep -q 'waiting for a vhost-user frontend' "$logf" 2>/dev/null && break
		sleep 0.1
	done
	sleep 0.3
	say "daemon '$name' pid ${VM_DAEMON_PID[$name]}, serving pid $(vm_daemon_serving_pid "$name")"
}

qemu_args() {
	QARGS=(-pidfile "$base/qemu.pid")
	mapfile -t -O "${#QARGS[@]}" QARGS < <(vm_dev_9p / hostroot ro)
	mapfile -t -O "${#QARGS[@]}" QARGS < <(vm_dev_9p "$results" results rw)
	mapfile -t -O "${#QARGS[@]}" QARGS < <(vm_dev_virtiofs "$sock" vfsdtest 0)
	if [ -n "${sock_wb:-}" ]; then
		mapfile -t -O "${#QARGS[@]}" QARGS < <(vm_dev_virtiofs "$sock_wb" vfsdwb 1)
	fi
}

# qemu_start SERIAL_LOG: QEMU in the background (its pid in $base/qemu.pid).
qemu_start() {
	rm -f "$base/qemu.pid"
	qemu_args
	vm_qemu "$1" "${QARGS[@]}" >&2 &
	qemu_bg=$!
	local i
	for ((i = 0; i < 300; i++)); do
		[ -s "$base/qemu.pid" ] && return 0
		sleep 0.1
	done
	return 1
}

# wait_serial FILE REGEX COUNT SECONDS: until FILE has COUNT lines matching REGEX.
wait_serial() {
	local i c
	for ((i = 0; i < $4 * 10; i++)); do
		c=$(grep -cE "$2" "$1" 2>/dev/null || true)
		[ "${c:-0}" -ge "$3" ] && return 0
		kill -0 "$qemu_bg" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

qemu_kill() {
	local qpid
	qpid=$(cat "$base/qemu.pid")
	kill -KILL "$qpid"
	wait "$qemu_bg" || true
	qemu_bg=""
	say "QEMU (pid $qpid) killed with SIGKILL"
}

# guest_tap: the guest's TAP lines (tap.log), renumbered.
guest_tap() {
	vm_guest_tap "$results/tap.log" "guest: "
	rm -f "$results/tap.log"
}

# daemon_exit_clean WHAT [NAME SOCKET]: the daemon exits 0 by itself and removes its socket
# and .pid file.
daemon_exit_clean() {
	local st=0 name="${2:-main}" s="${3:-$sock}"
	vm_stop_daemon "$name" || st=1
	check "daemon $name exits with status 0 $1" "status: $VM_DAEMON_STATUS (see $results/)" \
		[ "$st" = 0 ]
	check "daemon $name removed its socket $1" "$s still exists" [ ! -e "$s" ]
	check "daemon $name removed its .pid file $1" "$s.pid still exists" [ ! -e "$s.pid" ]
}

fd_of() { awk -v l="$1" '$1 == l { print $2 }' "$results/fds"; }

# ======================================================================= reboot
run_reboot() {
	{
		guest_prelude
		cat <<'EOF'
boot=$(( $(cat $R/boot-count 2>/dev/null || echo 0) + 1 ))
echo $boot >$R/boot-count
case $boot in
1)
	hostsync b1-idle
	t "boot 1: mount" mnt || exit 1
	seq 1 50000 >$M/a.txt
	mkdir -p $M/dir1
	for i in $(seq 1 20); do echo "file $i" >$M/dir1/f$i; done
	t "boot 1: write a.txt and dir1/" "seq 1 50000 | cmp -s - $M/a.txt"
	exec 3<$M/a.txt
	hostsync b1-mounted
	exec 3<&-
	t "boot 1: umount" "umount $M"
	hostsync b1-umounted
	sync
	busybox reboot -f
	sleep 60
	nok "boot 1: reboot -f returned"
	;;
2)
	hostsync b2-idle
	t "boot 2 (after reboot -f): mount" mnt || exit 1
	t "boot 2: a.txt from boot 1 intact" "seq 1 50000 | cmp -s - $M/a.txt"
	t "boot 2: dir1/ from boot 1 intact" '[ "$(cat $M/dir1/f7)" = "file 7" ] && [ "$(ls $M/dir1 | wc -l)" = 20 ]'
	seq 50001 60000 >$M/b.txt
	t "boot 2: write b.txt" "seq 50001 60000 | cmp -s - $M/b.txt"
	# open and dirty state for the reset: open fds, a written-but-open file, a cwd, new inodes
	exec 3>$M/dirty.txt
	seq 1 3000 >&3
	exec 4<$M/a.txt
	exec 5>>$M/b.txt
	mkdir -p $M/dir2
	for i in $(seq 1 30); do echo "x$i" >$M/dir2/g$i; done
	(cd $M/dir2 && exec sleep 600) &
	ls -lR $M >/dev/null
	# locks held at the reset, and lock requests waiting in the daemon (deferred replies)
	flock $M/flock.lck sleep 600 &
	python3 -c "import fcntl, time; f = open('$M/posix.lck', 'w'); fcntl.lockf(f, fcntl.LOCK_EX); open('$R/plocked', 'w'); time.sleep(600)" &
	sleep 1
	flock $M/flock.lck true &
	i=0
	while [ ! -e $R/plocked ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	python3 -c "import fcntl; fcntl.lockf(open('$M/posix.lck', 'w'), fcntl.LOCK_EX)" &
	sleep 1
	t "boot 2: flock and POSIX lock held, waiters blocked" '[ -e $R/plocked ] && ! flock -n $M/flock.lck true'
	hostsync b2-busy
	echo 1 >/proc/sys/kernel/sysrq
	echo b >/proc/sysrq-trigger
	sleep 60
	nok "boot 2: sysrq-b returned"
	;;
3)
	hostsync b3-idle
	t "boot 3 (after sysrq-b): mount" mnt || exit 1
	t "boot 3: a.txt, b.txt intact" "seq 1 50000 | cmp -s - $M/a.txt && seq 50001 60000 | cmp -s - $M/b.txt"
	t "boot 3: dirty.txt written before the reset is there" "seq 1 3000 | cmp -s - $M/dirty.txt"
	t "boot 3: dir2/ created before the reset is there" '[ "$(ls $M/dir2 | wc -l)" = 30 ]'
	t "boot 3: flock held at the reset was released" "flock -n $M/flock.lck true"
	t "boot 3: POSIX lock held at the reset was released" "python3 -c \"import fcntl; fcntl.lockf(open('$M/posix.lck', 'a'), fcntl.LOCK_EX | fcntl.LOCK_NB)\""
	t "boot 3: umount" "umount $M"
	hostsync b3-umounted
	mkdir -p /tmp/c
	good=0
	for c in $(seq 1 20); do
		if mnt && mkdir -p $M/cycles && echo "cycle $c" >$M/cycles/c$c &&
			[ "$(cat $M/cycles/c$c)" = "cycle $c" ] && umount $M; then
			good=$((good + 1))
		else
			nok "boot 3: mount/create/read/umount cycle $c"
			umount $M 2>/dev/null
		fi
		hostsync cycle-$c
	done
	t "boot 3: 20 mount/create/read/umount cycles ($good good)" '[ $good = 20 ]'
	t "boot 3: mount after the cycles" mnt || exit 1
	t "boot 3: the 20 cycle files" '[ "$(cat $M/cycles/c* | wc -l)" = 20 ]'
	t "boot 3: umount" "umount $M"
	hostsync b3-final
	echo done >$R/all-done
	;;
*)
	nok "unexpected boot $boot"
	;;
esac
exit 0
EOF
	} >"$results/guest-cmd.sh"

	start_daemon main "$results/daemon.log" "$sock" "$share"
	: >"$results/fds"
	echo "idle-before-qemu $(vm_daemon_fd_count main)" >>"$results/fds"
	vm_sync_watch "$results" "$results/fds" main &
	watch_pid=$!
	qemu_args
	VFSD_VM_REBOOT=1 vm_qemu "$results/serial.log" "${QARGS[@]}" >&2
	kill "$watch_pid" 2>/dev/null || true
	wait "$watch_pid" 2>/dev/null || true
	watch_pid=""
	say "QEMU exited with status $VM_QEMU_RC"

	check "QEMU exited normally (poweroff after the last boot)" "status $VM_QEMU_RC" [ "$VM_QEMU_RC" = 0 ]
	local boots
	boots=$(cat "$results/boot-count" 2>/dev/null || echo 0)
	check "the guest booted 3 times (reboot -f, sysrq-b)" "it booted $boots times" [ "$boots" = 3 ]
	check "the guest finished its last boot" "no all-done (see $results/serial.log)" [ -f "$results/all-done" ]
	guest_tap
	vm_queue_check "$results/interrupts" "boot 3"

	# fd counts
	local idle l v
	idle=$(fd_of b1-idle)
	echo "# daemon fds (label count): $(tr '\n' ' ' <"$results/fds")"
	check "daemon fd count measured before the first mount" "no b1-idle sample" [ -n "$idle" ]
	for l in b1-mounted b2-busy b3-idle; do
		echo "# daemon fds at $l: $(fd_of $l) (idle $idle; informational)"
	done
	for l in b1-umounted b2-idle b3-umounted $(seq -f 'cycle-%g' 1 20) b3-final; do
		v=$(fd_of "$l")
		check "daemon fd count back to idle ($idle) at $l" "it is ${v:-not measured}" \
			[ "${v:-none}" = "$idle" ]
	done

	# the host's view
	check "host: a.txt" "differs" cmp -s <(seq 1 50000) "$share/a.txt"
	check "host: b.txt" "differs" cmp -s <(seq 50001 60000) "$share/b.txt"
	check "host: dirty.txt (written, open at sysrq-b)" "differs" cmp -s <(seq 1 3000) "$share/dirty.txt"
	check "host: 20 cycle files" "$(find "$share/cycles" -type f 2>/dev/null | wc -l) found" \
		[ "$(cat "$share"/cycles/c* 2>/dev/null | wc -l)" = 20 ]
	daemon_exit_clean "after QEMU quit"
}

# ======================================================================= disconnect
write_loop_cmd() {
	guest_prelude
	cat <<'EOF'
mnt || { console "MOUNT-FAILED"; exit 1; }
console "WRITING"
while :; do dd if=/dev/zero of=$M/big bs=64k count=256 conv=notrunc 2>/dev/null; done
EOF
}

# kill_mid_write TAG: boot a guest running a write loop, SIGKILL QEMU mid-I/O.
kill_mid_write() {
	write_loop_cmd >"$results/guest-cmd.sh"
	rm -f "$share/big"
	qemu_start "$results/serial-$1.log" || {
		tap not-ok "QEMU started ($1)" "no pid file"
		return 0
	}
	if wait_serial "$results/serial-$1.log" '^WRITING' 1 180; then
		local i
		for ((i = 0; i < 300; i++)); do
			[ "$(stat -c %s "$share/big" 2>/dev/null || echo 0)" -ge 1048576 ] && break
			sleep 0.1
		done
		sleep 1
		tap ok "guest ($1) mounted and is writing ($(stat -c %s "$share/big" 2>/dev/null || echo 0) bytes so far)"
	else
		tap not-ok "guest ($1) mounted and is writing" "see $results/serial-$1.log"
	fi
	qemu_kill
}

run_disconnect() {
	# 1. default: the daemon ends with the frontend
	start_daemon main "$results/daemon-plain.log" "$sock" "$share"
	kill_mid_write plain
	daemon_exit_clean "after QEMU was SIGKILLed mid-write"

	# 2. --keep-serving: it waits for the next frontend
	start_daemon main "$results/daemon-keep.log" "$sock" "$share" --keep-serving
	local idle after
	idle=$(vm_daemon_fd_count main)
	echo "# daemon fds before any frontend: $idle"
	kill_mid_write keep
	sleep 2
	local pid="${VM_DAEMON_PID[main]}"
	check "--keep-serving: daemon still running after QEMU was SIGKILLed" "it exited" kill -0 "$pid"
	check "--keep-serving: socket still there" "$sock is gone" [ -S "$sock" ]
	after=$(vm_daemon_fd_count main)
	check "--keep-serving: fd count back to idle ($idle) after the disconnect" "it is $after" \
		[ "$after" = "$idle" ]

	{
		guest_prelude
		cat <<'EOF'
t "second QEMU: mount" mnt || exit 1
t "second QEMU: file written by the killed guest is there" "[ -s $M/big ]"
seq 1 20000 >$M/second.txt
t "second QEMU: create/read a file" "seq 1 20000 | cmp -s - $M/second.txt"
t "second QEMU: umount" "umount $M"
EOF
	} >"$results/guest-cmd.sh"
	qemu_args
	vm_qemu "$results/serial-second.log" "${QARGS[@]}" >&2
	check "second QEMU exited normally" "status $VM_QEMU_RC" [ "$VM_QEMU_RC" = 0 ]
	guest_tap
	vm_queue_check "$results/interrupts" "second QEMU"
	check "host: second.txt" "differs" cmp -s <(seq 1 20000) "$share/second.txt"
	sleep 1
	check "--keep-serving: daemon still running after the second QEMU quit" "it exited" kill -0 "$pid"
	after=$(vm_daemon_fd_count main)
	check "--keep-serving: fd count back to idle ($idle) after the second QEMU" "it is $after" \
		[ "$after" = "$idle" ]
	kill -TERM "$pid"
	daemon_exit_clean "on SIGTERM (--keep-serving)"
}

# ======================================================================= fsync-kill
# Two shares in one guest: "a" with the defaults (write-through) and "wb" with --writeback
# --cache=always, where the guest's page cache holds dirty data that only fsync pushes out.
run_fsync_kill() {
	{
		guest_prelude
		cat <<'EOF'
W=/run/vfsd/wb
mnt || { console "MOUNT-FAILED a"; exit 1; }
mkdir -p $W && mount -t virtiofs vfsdwb $W || { console "MOUNT-FAILED wb"; exit 1; }
i=0
while :; do
	i=$((i + 1))
	kib=$(( (i * 37) % 300 + 1 ))
	for d in a wb; do
		p=$M
		[ $d = wb ] && p=$W
		dd if=/dev/urandom of=$p/f$i bs=1k count=$kib conv=fsync 2>/dev/null || { console "DD-FAILED $d/f$i"; exit 1; }
		console "FSYNCED $d/f$i $(stat -c %s $p/f$i) $(sha256sum <$p/f$i | cut -c1-64)"
		dd if=/dev/urandom of=$p/journal bs=1k count=3 oflag=append conv=notrunc,fsync 2>/dev/null
		s=$(stat -c %s $p/journal)
		console "FSYNCED $d/journal $s $(head -c $s $p/journal | sha256sum | cut -c1-64)"
		# unsynced noise, in flight when QEMU dies; never checked
		dd if=/dev/urandom of=$p/noise bs=64k count=4 2>/dev/null
	done
	# for vm_queue_check, before the host has seen its 24 lines (9p writes through)
	[ $i = 3 ] && cat /proc/interrupts >$R/interrupts
done
EOF
	} >"$results/guest-cmd.sh"
	local share_wb="$base/share-wb"
	sock_wb="$base/vfsd-wb.sock"
	mkdir -p "$share_wb"
	chmod 0755 "$share_wb"
	start_daemon main "$results/daemon.log" "$sock" "$share"
	start_daemon wb "$results/daemon-wb.log" "$sock_wb" "$share_wb" --writeback --cache=always
	local serial="$results/serial.log" re='^FSYNCED [a-z]+/[a-z0-9]+ [0-9]+ [0-9a-f]{64}'
	qemu_start "$serial" || {
		tap not-ok "QEMU started" "no pid file"
		finish
	}
	if wait_serial "$serial" "$re" 24 180; then
		tap ok "guest fsynced files and reported them on the serial console"
	else
		tap not-ok "guest fsynced files and reported them on the serial console" "see $serial"
	fi
	qemu_kill
	daemon_exit_clean "after QEMU was SIGKILLed"
	daemon_exit_clean "after QEMU was SIGKILLed" wb "$sock_wb"

	local d f name size sum got nf bad detail how
	for d in a wb; do
		nf=0 bad=0 detail=""
		while read -r _ name size sum; do
			[ "${name%%/*}" = "$d" ] || continue
			nf=$((nf + 1))
			f="$share/${name#*/}"
			[ "$d" = wb ] && f="$share_wb/${name#*/}"
			if [ ! -f "$f" ]; then
				got=missing
			elif [ "${name#*/}" = journal ]; then
				got=$(head -c "$size" "$f" | sha256sum | cut -c1-64)
				[ "$(stat -c %s "$f")" -ge "$size" ] || got="short: $(stat -c %s "$f")"
			else
				got=$(sha256sum <"$f" | cut -c1-64)
				[ "$(stat -c %s "$f")" = "$size" ] || got="size $(stat -c %s "$f")"
			fi
			if [ "$got" != "$sum" ]; then
				bad=$((bad + 1))
				detail="$detail $name($size bytes: $got)"
			fi
		done < <(grep -aoE "$re" "$serial")
		how="write-through"
		[ "$d" = wb ] && how="--writeback --cache=always"
		check "host: every fsynced byte is there, share $d ($how; $nf fsynced states)" \
			"$bad bad:$detail" [ "$((nf >= 8 && bad == 0))" = 1 ]
	done
	vm_queue_check "$results/interrupts" "share a, after 3 rounds"
}

case "$mode" in
reboot) run_reboot ;;
disconnect) run_disconnect ;;
fsync-kill) run_fsync_kill ;;
esac
finish
