#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# One command for the io_uring question (bench/uring.c): installs liburing-dev if missing, builds
# bench/uring (release), runs it URING_REPEAT times (default 3) on a directory of the host and
# prints a Markdown table of the best run per cell, with io_uring's time against preadv/pwritev.
#
# Environment: URING_SECONDS (default 1 per cell), URING_REPEAT (3), URING_DIR (default a fresh
# directory under ${TMPDIR:-/var/tmp}, i.e. the file system vfsd's benchmarks share), BUILD
# (default build-bench).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-bench}
SECS=${URING_SECONDS:-1}
REPEAT=${URING_REPEAT:-3}

if ! dpkg-query -W -f='${Status}' liburing-dev 2>/dev/null | grep -q "ok installed"; then
	{ DEBIAN_FRONTEND=noninteractive apt-get install -y -q liburing-dev ||
		{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q liburing-dev; }; } >&2
fi
if [ ! -d "$BUILD" ]; then
	meson setup "$BUILD" "$ROOT" --buildtype=release >&2
elif [ ! -f "$BUILD/bench/uring" ]; then
	meson setup --reconfigure "$BUILD" "$ROOT" >&2 # liburing was just installed
fi
ninja -C "$BUILD" bench/uring >&2

TMP=$(mktemp -d "${URING_DIR:-${TMPDIR:-/var/tmp}}/vfsd-run-uring-XXXXXX")
trap 'rm -rf "$TMP"' EXIT
START=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
for _ in $(seq "$REPEAT"); do
	"$BUILD/bench/uring" --dir "$TMP" --seconds "$SECS" | grep -v '^#' >>"$TMP/raw"
done

cat <<EOF2
# File I/O: preadv/pwritev against io_uring (bench/run-uring.sh)

- date: $START; machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) CPUs, kernel $(uname -r), file on $(df -T "$TMP" | awk 'NR==2{print $2}'); liburing $(dpkg-query -W -f='${Version}' liburing-dev)
- one thread, a 64 MiB file in the page cache, 64 buffers used in turn; writes overwrite in place;
  ${SECS} s per cell, best of $REPEAT runs (lowest wall time)
- syscall: one preadv/pwritev per request (what vfsd does); uring-1: one SQE submitted and waited
  for per request; uring-64: 64 SQEs per io_uring_enter, then 64 CQEs (a server that batches)
- CPU counts io_uring's worker threads (io-wq), which run in this process

EOF2
awk -F'\t' '
function f(x) { return x < 10 ? sprintf("%.2f", x) : sprintf("%.1f", x) }
{
	k = $2 SUBSEP $3 SUBSEP $1
	if (!(k in wall) || $5 + 0 < wall[k] + 0) { wall[k] = $5; cpu[k] = $6 }
	if (!(($2 SUBSEP $3) in seen)) { seen[$2, $3] = 1; order[++n] = $2 SUBSEP $3 }
}
END {
	print "| op | size | syscall µs | uring-1 µs | uring-64 µs | syscall CPU µs | uring-1 CPU µs | uring-64 CPU µs | uring-1/syscall | uring-64/syscall |"
	print "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
	for (i = 1; i <= n; i++) {
		split(order[i], p, SUBSEP)
		s = order[i] SUBSEP "syscall"; a = order[i] SUBSEP "uring-1"; b = order[i] SUBSEP "uring-64"
		printf "| %s | %s | %s | %s | %s | %s | %s | %s | %.2f | %.2f |\n", p[1],
			(p[2] >= 1048576 ? p[2] / 1048576 " MiB" : p[2] / 1024 " KiB"),
			f(wall[s]), f(wall[a]), f(wall[b]), f(cpu[s]), f(cpu[a]), f(cpu[b]),
			wall[a] / wall[s], wall[b] / wall[s]
	}
	print ""
	print "Ratios are wall time per request against preadv/pwritev: above 1, io_uring is slower."
}' "$TMP/raw"
