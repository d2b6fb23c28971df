#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The workloads of bench/run-vm.sh, run by bash in the guest on the mounted share (or natively on
# a host directory): fio, the small-file phases of vm_files and a build-like sequence; or, with
# BENCH_SET=dax (bench/run-vm.sh --dax), the reads that compare DAX with FUSE_READ.
#
#   vm-workload.sh DIR OUT
#
# DIR: an empty directory on the file system under test. OUT: a file that gets one "KEY VALUE"
# line per result (KEY_mibs, KEY_iops, KEY_ios for fio, and in a guest KEY_cache_mib: how much
# the guest's page cache grew during the run; KEY_s and KEY_n for timed phases; KEY_error when a
# workload failed; total_s at the end). Settings come from the environment:
#   BENCH_SET          all (default): fio, small files and build; dax: only fio, one file
#                      written, then read cold and warm with read() and mmap (KEY_cold, KEY_warm);
#                      meta: the metadata workloads only (small files and build); files: the
#                      small files only
#   BENCH_FIO_MB       fio file size in MiB (the 4-job run reads a quarter each)
#   BENCH_FIO_SECONDS  upper bound on each fio run (it stops earlier when the size is done)
#   BENCH_FILES        small files (a multiple of 100), BENCH_FILE_SIZE bytes each
#   BENCH_TARBALL      source tarball for the build-like workload
#   BENCH_CFILES       C files that make -j2 compiles
#   BENCH_HELPER       the vm_files binary
#   BENCH_DROP         1: cold-cache phases start with the guest's caches dropped (never on a
#                      host): fio with --invalidate=1 (the file's page cache), the others (and
#                      every cold run of the dax set) after `echo 3 > /proc/sys/vm/drop_caches`
#   BENCH_SYNC         directory of the host rendezvous (tests/vm/lib.sh vm_sync_watch): LABEL.req
#                      is created before and after each phase and LABEL.ack awaited; empty: none
# Every measured phase is timed alone; a failed workload is recorded and the rest still run.
set -euo pipefail

[ $# -eq 2 ] || {
	echo "usage: $0 DIR OUT" >&2
	exit 2
}
dir=$1
out=$2
: >"$out"
set=${BENCH_SET:-all}
fio_mb=${BENCH_FIO_MB:?}
fio_secs=${BENCH_FIO_SECONDS:?}
drop=${BENCH_DROP:-0}
if [ "$set" != dax ]; then
	files=${BENCH_FILES:?}
	file_size=${BENCH_FILE_SIZE:-1024}
	tarball=${BENCH_TARBALL:?}
	cfiles=${BENCH_CFILES:?}
	helper=${BENCH_HELPER:?}
fi
sync_dir=${BENCH_SYNC:-}

usec() { echo "${EPOCHREALTIME/./}"; }
t_start=$(usec)
say() { printf 'workload: [%6d ms] %s\n' "$((($(usec) - t_start) / 1000))" "$*"; }
record() { echo "$1 $2" >>"$out"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e6 }'; }

# Programs the cold-cache phases after a drop run, and their libraries: read again after every
# drop so that the phase measures the share, not the guest's reload of its own binaries over 9p.
warm=()
progs=(fio)
[ "$set" = dax ] || progs=(git grep "$helper")
for p in "${progs[@]}"; do
	p=$(command -v "$p")
	warm+=("$p")
	mapfile -t -O "${#warm[@]}" warm < <(ldd "$p" 2>/dev/null | grep -o '/[^ ]*' || true)
done

# mark LABEL: rendezvous with the host, which samples the daemon. It waits with `read -t` on a
# FIFO nobody writes to: no sleep(1) to start each time (an exec costs milliseconds under TCG).
if [ -n "$sync_dir" ]; then
	nap=$(mktemp -u)
	mkfifo "$nap"
	exec 9<>"$nap"
	rm -f "$nap"
fi
mark() {
	local i
	[ -n "$sync_dir" ] || return 0
	: >"$sync_dir/$1.req"
	for ((i = 0; i < 1000; i++)); do
		[ -e "$sync_dir/$1.ack" ] && return 0
		read -r -t 0.02 -u 9 _ || true
	done
	say "no answer from the host for $1"
}

# The patched fuse.ko's counters (guest/README.md): requests sent and version checks, per phase.
# vt_mark KEY start|end: at the end, KEY_vt_NAME records how much each counter grew.
VT_PARAM=/sys/module/fuse/parameters/vfsd_vt
VT_KEYS="req_lookup req_getattr req_make fresh stale stale_dir stale_node own own_kept own_dirs own_attr dplus own_node rdc_kept rdc_reset run_evict run_restart"
declare -A vt0=()
vt_mark() {
	local key=$1 kv name
	[ -r "$VT_PARAM" ] || return 0
	for kv in $(<"$VT_PARAM"); do
		name=${kv%%=*}
		[[ " $VT_KEYS " == *" $name "* ]] || continue
		if [ "$2" = start ]; then
			vt0[$name]=${kv#*=}
		elif [ -n "${vt0[$name]:-}" ]; then
			record "${key}_vt_$name" "$((${kv#*=} - vt0[$name]))"
		fi
	done
}

cold() { # drop the caches before a cold-cache phase
	[ "$drop" = 1 ] || return 0
	sync
	echo 3 >/proc/sys/vm/drop_caches
	cat "${warm[@]}" >/dev/null
}

# timed KEY [cold] -- COMMAND...: KEY_s is the command's wall time; the command's output is
# shown only if it fails.
timed() {
	local key=$1 t0 t1 log
	shift
	[ "$1" = cold ] && cold && shift
	shift
	log=$(mktemp)
	mark "$key.start"
	vt_mark "$key" start
	t0=$(usec)
	if "$@" >"$log" 2>&1; then
		t1=$(usec)
		vt_mark "$key" end
		mark "$key.end"
		record "${key}_s" "$(secs "$t0" "$t1")"
		say "$key: $(secs "$t0" "$t1") s"
	else
		mark "$key.end"
		record "${key}_error" "$(tail -n 3 "$log" | tr '\n' ' ')"
		say "$key FAILED: $(tail -n 5 "$log")"
	fi
	rm -f "$log"
}

# ------------------------------------------------------------------ fio (psync, buffered)
fio_file=$dir/fio/file
mkdir -p "$dir/fio"
# page_cache_mib: the guest's file pages in its page cache (Cached without Shmem: tmpfs and
# fio's own shared memory), in MiB
page_cache_mib() { awk '/^Cached:/ { c = $2 } /^Shmem:/ { s = $2 } END { print int((c - s) / 1024) }' /proc/meminfo; }

# fio KEY RW BS [fio options...]: one run over $fio_file; records MiB/s, IOPS and I/Os done (and,
# in a guest, the growth of its page cache during the run).
fio_run() {
	local key=$1 rw=$2 bs=$3 line f cache0=""
	shift 3
	[ "$drop" = 0 ] || cache0=$(page_cache_mib)
	mark "$key.start"
	if line=$(fio --name="$key" --filename="$fio_file" --ioengine=psync --direct=0 \
		--invalidate="$drop" --fallocate=none --rw="$rw" --bs="$bs" --size="${fio_mb}M" \
		--runtime="$fio_secs" --output-format=terse --terse-version=3 "$@" 2>&1); then
		mark "$key.end"
		# terse v3: read KiB, KiB/s, IOPS are fields 6-8, write ones 47-49
		f=6
		case "$rw" in *write) f=47 ;; esac
		read -r kib bw iops <<<"$(tail -n 1 <<<"$line" | cut -d';' -f"$f,$((f + 1)),$((f + 2))" | tr ';' ' ')"
		record "${key}_mibs" "$(awk -v b="$bw" 'BEGIN { printf "%.1f", b / 1024 }')"
		record "${key}_iops" "$iops"
		record "${key}_ios" "$(awk -v k="$kib" -v bs="$bs" 'BEGIN { printf "%d", k / (bs == "1M" ? 1024 : 4) }')"
		[ -z "$cache0" ] || record "${key}_cache_mib" "$(($(page_cache_mib) - cache0))"
		say "$key: $iops IOPS, $bw KiB/s"
	else
		mark "$key.end"
		record "${key}_error" "$(tail -n 2 <<<"$line" | tr '\n' ' ')"
		say "$key FAILED: $line"
	fi
}

t_all=$(usec)
finish() {
	record total_s "$(secs "$t_all" "$(usec)")"
	mark final
	say "done in $(secs "$t_all" "$(usec)") s"
}

# ------------------------------------------------------------------ the dax set
# cold_warm KEY RW BS [fio options...]: KEY_cold after `echo 3 > drop_caches` (the file's pages,
# or with DAX its window chunks, gone from the guest), then KEY_warm at once: the same run again.
cold_warm() {
	local key=$1
	shift
	cold
	fio_run "${key}_cold" "$@"
	fio_run "${key}_warm" "$@" --invalidate=0
}
if [ "$set" = dax ]; then
	say "fio, DAX set: ${fio_mb} MiB file, at most ${fio_secs} s per run"
	rm -f "$fio_file"
	fio_run seqwrite write 1M
	sync
	cold_warm seqread read 1M
	cold_warm randread randread 4k
	cold_warm mmapread read 1M --ioengine=mmap
	cold_warm mmaprand randread 4k --ioengine=mmap
	rm -rf "$dir/fio"
	finish
	exit 0
fi

# ------------------------------------------------------------------ the full set
if [ "$set" = all ]; then
	say "fio: ${fio_mb} MiB file, at most ${fio_secs} s per run"
	rm -f "$fio_file"
	fio_run seqwrite write 1M
	fio_run seqread read 1M
	fio_run randread randread 4k
	fio_run randread4 randread 4k --numjobs=4 --group_reporting --size="$((fio_mb / 4))M" \
		--offset_increment="$((fio_mb / 4))M"
	fio_run randwrite randwrite 4k
fi
rm -rf "$dir/fio"

# ------------------------------------------------------------------ small files
say "small files: $files files of $file_size bytes in 100 directories"
# files_phase PHASE: the helper times itself (no exec in the measurement)
files_phase() {
	local phase=$1 res
	[ "$phase" = create ] || cold
	mark "files_$phase.start"
	vt_mark "files_$phase" start
	if res=$("$helper" "$phase" "$dir/files" "$files" "$file_size" 2>&1); then
		vt_mark "files_$phase" end
		mark "files_$phase.end"
		record "files_${phase}_s" "${res##* }"
		record "files_${phase}_n" "$files"
		say "files $phase: ${res##* } s"
	else
		mark "files_$phase.end"
		record "files_${phase}_error" "$res"
		say "files $phase FAILED: $res"
	fi
}
mkdir -p "$dir/files"
for phase in create stat read unlink; do
	files_phase "$phase"
done
rm -rf "$dir/files"
if [ "$set" = files ]; then
	finish
	exit 0
fi

# ------------------------------------------------------------------ build-like
say "build: untar $(basename "$tarball"), git, grep, make -j2 of $cfiles C files, rm -rf"
src=$dir/build/src
mkdir -p "$src" "$dir/build/make"
git_commit() {
	git -C "$src" init -q &&
		git -C "$src" add -A &&
		git -C "$src" -c user.name=bench -c user.email=bench@localhost commit -q -m tree
}
timed untar -- tar -xf "$tarball" -C "$src"
timed git_commit -- git_commit
timed git_status cold -- git -C "$src" status --porcelain
timed grep cold -- grep -r -c -e '#define' "$src"

# a generated program: BENCH_CFILES small translation units and a main, no headers
m=$dir/build/make
for ((i = 0; i < cfiles; i++)); do
	{
		echo "int f$i(int x);"
		echo "int f$i(int x) { int s = x; for (int k = 0; k < $((i + 8)); k++) s = s * 31 + k; return s; }"
	} >"$m/f$i.c"
done
{
	for ((i = 0; i < cfiles; i++)); do echo "int f$i(int x);"; done
	echo "int main(void) { int s = 0;"
	for ((i = 0; i < cfiles; i++)); do echo "s += f$i(s);"; done
	echo "return s == 1; }"
} >"$m/main.c"
{
	printf 'OBJS = main.o'
	for ((i = 0; i < cfiles; i++)); do printf ' f%d.o' "$i"; done
	# shellcheck disable=SC2016 # make's variables
	printf '\nprog: $(OBJS)\n\tgcc -o $@ $(OBJS)\n%%.o: %%.c\n\tgcc -O1 -c -o $@ $<\n'
} >"$m/Makefile"
timed make -- make -s -j2 -C "$m"
timed rm -- rm -rf "$dir/build"
finish
