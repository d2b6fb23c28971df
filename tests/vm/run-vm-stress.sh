#!/usr/bin/env bash
# run-vm-stress.sh: concurrent random operations on a vfsd share in a guest (meson test
# 'vm-stress', suite 'vm', TAP on stdout).
#
#   [STRESS_SECONDS=N] tests/vm/run-vm-stress.sh VFSD_BINARY FSX_BINARY
#
# One guest boot (tests/vm/lib.sh, hostroot guest) with the share mounted from the daemon
# (its defaults: namespace sandbox, seccomp kill; plus $VFSD_VM_FLAGS, default --xattr). In the
# guest, at the same time and each for STRESS_SECONDS (default 20, the CI short form; the long
# form is STRESS_SECONDS=300):
#   - fsx (tests/vm/fsx.c): 3 processes, each verifying its own file against an in-memory
#     model, plus a shared file with lock-protected regions;
#   - stress-ng's file system stressors with --verify, in a directory on the share
#     (lockf with --lockf-nonblock: see "POSIX lock deadlocks" in tests/vm/README.md);
#   - dbench (2 clients, Debian's /usr/share/dbench/client.txt loadfile).
# Each tool's exit status and output land on the 9p results share. The host samples the
# daemon's VmRSS (the sandboxed child of the supervisor) every second.
# Checks: every tool exits 0 with no error lines; the daemon is alive throughout and exits 0
# after QEMU quits; its own memory (RssAnon+RssFile) below $STRESS_RSS_MAX_MB (default 256)
# and VmRSS below the guest's RAM + that (VmRSS counts the guest RAM pages the daemon touched);
# no steady growth (own memory, mean of the last quarter of the stress phase <= 1.5 x the
# first quarter's + 16 MiB).
# stress-ng and dbench are installed on the host with apt-get if missing (the guest runs the
# host's binaries). Missing assets are a failure, never a skip.
# Set VFSD_VM_KEEP=1 to keep the work directory (share, logs, rss.log).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[ $# -eq 2 ] || {
	echo "usage: [STRESS_SECONDS=N] $0 VFSD_BINARY FSX_BINARY" >&2
	exit 2
}
vfsd_bin="$1"
fsx_bin="$(readlink -f "$2")"
secs="${STRESS_SECONDS:-20}"
rss_max_mb="${STRESS_RSS_MAX_MB:-256}"
case "$secs" in '' | *[!0-9]*)
	echo "STRESS_SECONDS must be a number of seconds" >&2
	exit 2
	;;
esac

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

say() { printf '[vm-stress] %s\n' "$*" >&2; }
base=""
rss_summary="not measured"
finish() {
	vm_finish vm-stress "$base" \
		"stress:      ${secs}s per tool (fsx -p 3, stress-ng, dbench 2 clients)" \
		"daemon RSS:  $rss_summary"
}

vm_accel
echo "# accelerator: $VM_ACCEL_NAME"
echo "# stress: ${secs}s (STRESS_SECONDS)"
say "accelerator: $VM_ACCEL_NAME; ${secs}s of stress"

# assets: fail, never skip
vm_assets_tap || finish
dbench_load=/usr/share/dbench/client.txt
if ! command -v stress-ng >/dev/null || ! command -v dbench >/dev/null || [ ! -r "$dbench_load" ]; then
	say "installing stress-ng and dbench"
	{ DEBIAN_FRONTEND=noninteractive apt-get install -y -q stress-ng dbench ||
		{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q stress-ng dbench; }; } >&2 || true
fi
if command -v stress-ng >/dev/null && command -v dbench >/dev/null && [ -r "$dbench_load" ]; then
	tap ok "stress-ng $(stress-ng --version | awk '{ print $3 }' | tr -d ,) and dbench (loadfile $dbench_load)"
else
	tap not-ok "stress-ng and dbench" "not installed and apt-get install failed"
	finish
fi
[ -x "$fsx_bin" ] || {
	tap not-ok "fsx binary" "$fsx_bin is not executable"
	finish
}

vm_hostroot_initramfs
vm_daemon_cmd "$vfsd_bin"
echo "# daemon: ${VM_DAEMON[*]} ${VM_DAEMON_FLAGS[*]}"

base=$(mktemp -d "${TMPDIR:-/tmp}/vfsd-vm-stress.XXXXXX")
share="$base/share"
results="$base/results"
sock="$base/vfsd.sock"
mkdir -p "$share" "$results"
chmod 0755 "$base" "$share"
rss_pid=""
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	if [ -n "$rss_pid" ]; then kill "$rss_pid" 2>/dev/null || true; fi
	vm_kill_daemons
}
trap cleanup EXIT
say "work directory: $base"

# ------------------------------------------------------------------ the guest's workload
printf 'VIRTIOFS_MOUNTS="vfsdtest:/run/vfsd/share"\nTMPFS_TMP=1\n' >"$results/guest.conf"
guest_fsx=$(vm_guest_path "$results" "$fsx_bin")
{
	cat <<EOF
S=$secs
FSX=$guest_fsx
LOAD=$dbench_load
EOF
	cat <<'EOF'
R=/run/vfsd/results
M=/run/vfsd/share
mkdir -p $M/fsx $M/stress-ng $M/dbench || { echo "cannot create directories on the share"; exit 1; }
echo "stress: starting fsx, stress-ng and dbench for ${S}s" >/dev/console
: >$R/stress-start
( "$FSX" -t "$S" -p 3 $M/fsx/f >$R/fsx.log 2>&1; echo $? >$R/fsx.rc ) &
( cd $M/stress-ng && stress-ng --temp-path $M/stress-ng --timeout "${S}s" --verify \
	--metrics-brief --oomable \
	--hdd 1 --hdd-bytes 4m \
	--dir 1 --dentry 1 --dentries 256 --rename 1 --link 1 --symlink 1 \
	--fallocate 1 --fallocate-bytes 4m --flock 1 --lockf 1 --lockf-nonblock \
	--mmap 1 --mmap-file --mmap-bytes 4m --seek 1 --seek-size 4m \
	--xattr 1 --filename 1 --chmod 1 --utime 1 --sync-file 1 --sync-file-bytes 4m \
	>$R/stress-ng.log 2>&1; echo $? >$R/stress-ng.rc ) &
( dbench -c "$LOAD" -D $M/dbench -t "$S" 2 >$R/dbench.log 2>&1; echo $? >$R/dbench.rc ) &
wait
: >$R/stress-end
echo "stress: all tools finished" >/dev/console
# the share still works after the storm, and the tools cleaned up after themselves
seq 1 10000 >$M/after.txt && seq 1 10000 | cmp -s - $M/after.txt && echo 0 >$R/after.rc ||
	echo 1 >$R/after.rc
ls -lR $M >$R/share-listing.txt 2>&1
echo done >$R/all-done
exit 0
EOF
} >"$results/guest-cmd.sh"

# ------------------------------------------------------------------ run
export VFSD_VM_TIMEOUT="${VFSD_VM_TIMEOUT:-$((secs * 3 + 400))}"
vm_start_daemon main "$sock" "$share" "$results/daemon.log"
for ((i = 0; i < 100; i++)); do
	grep -q 'waiting for a vhost-user frontend' "$results/daemon.log" 2>/dev/null && break
	sleep 0.1
done
sleep 0.3
sup_pid="${VM_DAEMON_PID[main]}"
serving_pid=$(vm_daemon_serving_pid main)
idle_mem=$(vm_daemon_mem_kb main || echo "0 0 0 0")
vm_mem_own_idle() { awk '{ print $2 + $3 }' <<<"$idle_mem"; }
say "daemon pid $sup_pid, serving pid $serving_pid, idle VmRSS/anon/file/shmem ${idle_mem} KiB"
echo "# daemon idle VmRSS/RssAnon/RssFile/RssShmem: ${idle_mem} KiB (serving pid $serving_pid)"
vm_rss_watch main "$results/rss.log" "$results" &
rss_pid=$!

QARGS=()
mapfile -t -O "${#QARGS[@]}" QARGS < <(vm_dev_9p / hostroot ro)
mapfile -t -O "${#QARGS[@]}" QARGS < <(vm_dev_9p "$results" results rw)
mapfile -t -O "${#QARGS[@]}" QARGS < <(vm_dev_virtiofs "$sock" vfsdtest 0)
qt0=$(date +%s)
vm_qemu "$results/serial.log" "${QARGS[@]}" >&2
qsecs=$(($(date +%s) - qt0))
kill "$rss_pid" 2>/dev/null || true
wait "$rss_pid" 2>/dev/null || true
rss_pid=""
say "QEMU exited with status $VM_QEMU_RC after ${qsecs}s"
echo "# QEMU ran ${qsecs}s"

check "QEMU exited normally" "status $VM_QEMU_RC (see $results/serial.log)" [ "$VM_QEMU_RC" = 0 ]
check "the guest mounted the share and finished the workload" \
	"no all-done ($(cat "$results/init-error" 2>/dev/null || echo "see $results/serial.log"))" \
	[ -f "$results/all-done" ]

# ------------------------------------------------------------------ each tool
vm_queue_check "$results/interrupts"

tool_rc() { tr -dc '0-9' <"$results/$1.rc" 2>/dev/null || true; }
show_tail() { # FILE: the end of a tool's log as TAP comments
	[ -f "$1" ] && tail -n "${2:-15}" "$1" | sed 's/^/#   /'
	return 0
}

rc=$(tool_rc fsx)
fsx_ops=$(awk '/PASS .* operations/ { s += $3 } END { print s + 0 }' "$results/fsx.log" 2>/dev/null || echo 0)
seed=$(sed -n 's/^fsx: seed \([0-9]*\).*/\1/p' "$results/fsx.log" 2>/dev/null | head -1)
grep -h 'switched off' "$results/fsx.log" 2>/dev/null | sed 's/^/# note: /' || true
if [ "$rc" = 0 ] && ! grep -q FAILED "$results/fsx.log"; then
	tap ok "fsx: 3 processes, $fsx_ops verified operations, no mismatch (seed $seed)"
else
	tap not-ok "fsx: no mismatch" "exit status ${rc:-none}, seed ${seed:-?} (see $results/fsx.log)"
	show_tail "$results/fsx.log" 40
fi

rc=$(tool_rc stress-ng)
sng_errs=$(grep -cE '(fail|error):' "$results/stress-ng.log" 2>/dev/null || true)
sng_n=$(sed -n 's/.*dispatching hogs: //p' "$results/stress-ng.log" 2>/dev/null | tr ',' '\n' | grep -c . || true)
sng_sum=$(grep -E 'run completed|passed:|failed:|skipped:|untrustworthy' "$results/stress-ng.log" 2>/dev/null | sed 's/^stress-ng: [a-z]*: *\[[0-9]*\] *//' | tr '\n' ' ' || true)
echo "# stress-ng: $sng_sum"
if [ "$rc" = 0 ] && [ "${sng_errs:-0}" = 0 ]; then
	tap ok "stress-ng: ${sng_n:-?} file system stressors, no failure, with --verify"
else
	tap not-ok "stress-ng: every stressor passes" "exit status ${rc:-none}, ${sng_errs:-?} error lines (see $results/stress-ng.log)"
	show_tail "$results/stress-ng.log" 30
fi

rc=$(tool_rc dbench)
# (dbench prints "failed to create barrier semaphore" when SysV semaphores are unavailable:
# it then starts its clients without the barrier; not an I/O error)
db_errs=$(grep -iE 'error|failed' "$results/dbench.log" 2>/dev/null | grep -vc 'barrier semaphore' || true)
db_tput=$(grep -E '^Throughput' "$results/dbench.log" 2>/dev/null | tail -1 || true)
echo "# dbench: ${db_tput:-no throughput line}"
if [ "$rc" = 0 ] && [ "${db_errs:-0}" = 0 ] && [ -n "$db_tput" ]; then
	tap ok "dbench: 2 clients, no errors ($db_tput)"
else
	tap not-ok "dbench: no errors" "exit status ${rc:-none}, ${db_errs:-?} error lines (see $results/dbench.log)"
	show_tail "$results/dbench.log" 20
fi

check "the share works after the stress (write and read back)" "see $results/guest.log" \
	[ "$(tool_rc after)" = 0 ]

# ------------------------------------------------------------------ the daemon
gone=$(awk '$3 == "gone" && $2 != "after"' "$results/rss.log" | head -1)
check "daemon (serving pid $serving_pid) alive during the whole run" \
	"gone at ${gone%% *}s: $(tail -5 "$results/daemon.log" | tr '\n' ' ')" [ -z "$gone" ]
vm_stop_daemon main && dst=0 || dst=1
check "daemon exited 0 after QEMU quit" "status: $VM_DAEMON_STATUS (see $results/daemon.log)" [ "$dst" = 0 ]
if grep -qiE 'seccomp|assert|sanitizer|segfault' "$results/daemon.log"; then
	tap not-ok "daemon log has no crash, seccomp or assertion message" "$(grep -iE 'seccomp|assert|sanitizer|segfault' "$results/daemon.log" | head -3 | tr '\n' ' ')"
else
	tap ok "daemon log has no crash, seccomp or assertion message"
fi

# RSS. VmRSS includes the pages of the guest's RAM (QEMU's shared memfd) the daemon has
# touched (RssShmem): they grow with the guest's I/O buffers up to its memory size and are not
# the daemon's. Its own memory is RssAnon + RssFile: that one has the bound and must not grow.
guest_mb=$(numfmt --from=iec "${VFSD_VM_MEM:-2G}" | awk '{ print int($1 / 1048576) }')
read -r max_vm max_own stress_n q1 q4 <<<"$(awk '
	$3 ~ /^[0-9]+$/ { if ($3 > mv) mv = $3; o = $4 + $5; if (o > mo) mo = o }
	$2 == "stress" && $3 ~ /^[0-9]+$/ { v[n++] = $4 + $5 }
	END {
		q = int(n / 4); if (q < 1) q = 1
		for (i = 0; i < q && i < n; i++) a += v[i]
		for (i = n - q; i < n; i++) if (i >= 0) b += v[i]
		printf "%d %d %d %d %d\n", mv, mo, n, (n ? a / q : 0), (n ? b / q : 0)
	}' "$results/rss.log")"
rss_summary="own (RssAnon+RssFile): idle $(vm_mem_own_idle) KiB, max ${max_own} KiB, stress first/last quarter mean ${q1}/${q4} KiB; VmRSS max ${max_vm} KiB (incl. guest RAM touched); ${stress_n} samples"
echo "# daemon memory: $rss_summary"
# shellcheck disable=SC2317 # called through check
own_bounded() { [ "$max_own" -gt 0 ] && [ "$max_own" -lt $((rss_max_mb * 1024)) ]; }
check "daemon's own memory (RssAnon+RssFile) below ${rss_max_mb} MiB (max $((max_own / 1024)) MiB)" \
	"max ${max_own} KiB" own_bounded
check "daemon VmRSS below guest RAM + ${rss_max_mb} MiB (max $((max_vm / 1024)) MiB)" \
	"max ${max_vm} KiB" [ "$max_vm" -lt $(((guest_mb + rss_max_mb) * 1024)) ]
check "daemon memory sampled during the stress (${stress_n} samples)" "too few samples" [ "$stress_n" -ge 4 ]
check "daemon's own memory not growing (last quarter mean ${q4} KiB <= 1.5 x first quarter ${q1} KiB + 16 MiB)" \
	"it grew from ${q1} to ${q4} KiB" [ "$q4" -le $((q1 * 3 / 2 + 16384)) ]

finish
