#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# One command for the daemon benchmark without a VM: builds bench/load (release) if needed, fetches
# the Rust virtiofsd (tests/tools/rust-virtiofsd.sh; its columns are skipped if that fails), runs
# vfsd, Rust virtiofsd and the native syscall loop, and prints one Markdown table with the ratios.
#
# Runs are interleaved op by op (vfsd, Rust, native for one op, then the next op) so that a burst
# of load from something else on the machine hits every column of a row alike.
#
# Every measurement is repeated LOAD_REPEAT times (default 2, interleaved) and each cell of the table
# comes from the repetition with the highest throughput: on a shared machine interference only ever
# makes a run slower, so the best run is the closest to what the daemon can do.
#
# Environment: LOAD_SECONDS (default 1) and LOAD_WARMUP (0.3) per measurement, LOAD_REPEAT (2),
# LOAD_OPS (default all), LOAD_POOL (2: the thread-pool size of the extra depth-64 row, 0 to skip
# it), BUILD (default build-bench), LOAD_RAW (file to keep the raw tab-separated results in),
# VFSD_BIN (measure this vfsd binary instead of building one, e.g. a release build of a commit),
# VFSD_BASE_BIN (a second vfsd binary, e.g. a release build of an older commit, measured right
# after VFSD_BIN in every repetition with the label vfsd-base: bench/load-ranges.py --versus
# vfsd-base prints the same-run before/after table),
# LOAD_QUEUES (e.g. "1 2 4": vfsd also at depth LOAD_MQ_DEPTH (64) with its operations spread
# round-robin over that many request queues, --queues N of bench/load, and a second table; the
# Rust virtiofsd serves one request queue only, so it stays at 1).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-bench}
SECS=${LOAD_SECONDS:-1}
WARM=${LOAD_WARMUP:-0.3}
REPEAT=${LOAD_REPEAT:-2}
POOL=${LOAD_POOL:-2}
QUEUES=${LOAD_QUEUES:-}
MQ_DEPTH=${LOAD_MQ_DEPTH:-64}
OPS=${LOAD_OPS:-getattr lookup-hit lookup-miss open-release read-4k read-1m write-4k write-1m create-unlink readdirplus-10k}
OPS=${OPS//,/ }

if [ ! -d "$BUILD" ]; then
	meson setup "$BUILD" "$ROOT" --buildtype=release >&2
fi
LOAD=$BUILD/bench/load
VFSD=${VFSD_BIN:-$BUILD/vfsd}
targets="bench/load"
[ -n "${VFSD_BIN:-}" ] || targets="vfsd $targets"
# shellcheck disable=SC2086 # two target names
if ! ninja -C "$BUILD" $targets >&2; then
	# The checkout is shared: a half-finished edit elsewhere must not stop a benchmark.
	if [ -x "$LOAD" ] && [ -x "$VFSD" ]; then
		echo "run-load: build failed; measuring the binaries already in $BUILD" >&2
	else
		exit 1
	fi
fi

RUST=""
if RUST=$("$ROOT/tests/tools/rust-virtiofsd.sh" path 2>/dev/null) && [ -n "$RUST" ]; then
	:
else
	echo "run-load: Rust virtiofsd unavailable (tests/tools/rust-virtiofsd.sh fetch failed);" \
		"its columns are skipped" >&2
	RUST=""
fi

TMP=$(mktemp -d "${TMPDIR:-/var/tmp}/vfsd-run-load-XXXXXX")
trap 'rm -rf "$TMP"' EXIT
SHARE=$TMP/share
RAW=$TMP/raw.tsv
mkdir -p "$SHARE"
: >"$RAW"

# run LABEL DEPTHS OP ARGS...: one bench/load invocation; results go to $RAW, failures to stderr.
run() {
	local label=$1 depths=$2 op=$3
	shift 3
	echo "run-load: $label $op depth $depths" >&2
	if ! "$LOAD" --label "$label" --ops "$op" --depth "$depths" --seconds "$SECS" \
		--warmup "$WARM" --share "$SHARE" "$@" >"$TMP/out" 2>"$TMP/err"; then
		echo "run-load: $label $op FAILED:" >&2
		sed 's/^/  /' "$TMP/err" >&2
		echo -e "$label\t$op\tFAILED" >>"$RAW"
	fi
	grep -v '^#' "$TMP/out" >>"$RAW" || true
	grep '^# command' "$TMP/out" | head -n1 >"$TMP/cmd.$label" || true
}

START=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
T0=$(date +%s)
for op in $OPS; do
	for _ in $(seq "$REPEAT"); do
		run vfsd 1,64 "$op" --daemon vfsd --binary "$VFSD"
		if [ -n "${VFSD_BASE_BIN:-}" ]; then
			run vfsd-base 1,64 "$op" --daemon vfsd --binary "$VFSD_BASE_BIN"
		fi
		if [ "$POOL" -gt 0 ]; then
			run vfsd-pool 64 "$op" --daemon vfsd --binary "$VFSD" \
				--thread-pool-size "$POOL"
		fi
		if [ -n "$RUST" ]; then
			run rust 1,64 "$op" --daemon rust --binary "$RUST"
			if [ "$POOL" -gt 0 ]; then
				run rust-pool 64 "$op" --daemon rust --binary "$RUST" \
					--thread-pool-size "$POOL"
			fi
		fi
		run native 1,64 "$op" --daemon native
		for q in $QUEUES; do
			run "vfsd-q$q" "$MQ_DEPTH" "$op" --daemon vfsd --binary "$VFSD" --queues "$q"
		done
	done
done
T1=$(date +%s)
if [ -n "${LOAD_RAW:-}" ]; then
	cp "$RAW" "$LOAD_RAW"
fi

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
vfsd_version=$("$VFSD" --version 2>&1 | head -n1)
rust_version="not available"
# shellcheck disable=SC2086 # $RUST is a command prefix (loader, its options, the binary)
if [ -n "$RUST" ]; then
	rust_version=$($RUST --version 2>&1 | head -n1)
fi
buildtype=$(meson introspect --buildoptions "$BUILD" 2>/dev/null |
	grep -o '"name": "buildtype", "value": "[a-z]*"' | grep -o '[a-z]*"$' | tr -d '"' || true)

cat <<EOF
# vfsd daemon benchmark (bench/run-load.sh)

- date: $START; total run time $((T1 - T0)) s; load average before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg)
- machine: $cpu, $(nproc) CPUs, kernel $(uname -r), shared directory on $(df -T "$SHARE" | awk 'NR==2{print $2}')
- vfsd: $vfsd_version, ${VFSD_NOTE:-${buildtype:-?} build of the working tree}; Rust: $rust_version (Debian trixie package)
- both daemons run with their defaults (--sandbox=namespace, --seccomp=kill, --cache=auto,
  --thread-pool-size=0)$([ "$POOL" -gt 0 ] && echo "; \"pool $POOL\" rows add --thread-pool-size=$POOL to both")
- frontend: tests/frontend as the guest driver, 1 request queue of 1024 entries, 256 MiB guest
  memory, FUSE 7.38 INIT with a Linux 6.x guest's flags; ${SECS} s measured per row after ${WARM} s warmup,
  best of $REPEAT interleaved repetitions (highest throughput) per cell
- one operation = the listed requests (open-release: OPEN+RELEASE; create-unlink: CREATE+RELEASE+
  UNLINK, FORGETs batched by 256; readdirplus-10k: OPENDIR + READDIRPLUS of 4 KiB until the end +
  RELEASEDIR over 10,000 entries); latency = first submit to last reap
- native: the same operations as system calls on the same directory; depth 1 = 1 thread,
  depth 64 = $(nproc) threads (one per CPU), each one operation at a time

EOF

awk -F'\t' -v pool="$POOL" '
function fmt_rate(x) { return x == "" ? "–" : sprintf("%d", x + 0.5) }
function fmt_us(x) {
	if (x == "") return "–"
	return x < 10 ? sprintf("%.2f", x) : x < 100 ? sprintf("%.1f", x) : sprintf("%d", x + 0.5)
}
function ratio(a, b) { return (a == "" || b == "" || b + 0 == 0) ? "–" : sprintf("%.2f", a / b) }
{
	if ($3 == "FAILED") { failed[$1, $2] = 1; next }
	k = $1 SUBSEP $2 SUBSEP $3
	if ((k in rate) && rate[k] + 0 >= $6 + 0) next
	rate[k] = $6; p50[k] = $7; p99[k] = $8; cpu[k] = $9
	if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 }
}
END {
	print "| op | depth | vfsd req/s | vfsd µs p50 | vfsd µs p99 | vfsd CPU µs/req | Rust req/s | Rust µs p50 | Rust µs p99 | Rust CPU µs/req | native µs/op | native req/s | vfsd/Rust throughput | vfsd/native latency |"
	print "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
	for (i = 1; i <= n; i++) {
		op = order[i]
		rows = pool > 0 ? 3 : 2
		for (j = 1; j <= rows; j++) {
			d = j == 1 ? 1 : 64
			v = j == 3 ? "vfsd-pool" : "vfsd"
			r = j == 3 ? "rust-pool" : "rust"
			vk = v SUBSEP op SUBSEP d; rk = r SUBSEP op SUBSEP d; nk = "native" SUBSEP op SUBSEP d
			label = j == 3 ? "64, pool " pool : d
			# Depth 1: median latency against median latency. Depth 64: the native
			# side has no queue, so compare time per operation (1/throughput).
			lat = d == 1 ? ratio(p50[vk], p50[nk]) : ratio(rate[nk], rate[vk]) "†"
			if (lat == "–†") lat = "–"
			vf = (failed[v, op] ? "FAILED" : fmt_rate(rate[vk]))
			rf = (failed[r, op] ? "FAILED" : fmt_rate(rate[rk]))
			printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", \
				op, label, vf, fmt_us(p50[vk]), fmt_us(p99[vk]), fmt_us(cpu[vk]), \
				rf, fmt_us(p50[rk]), fmt_us(p99[rk]), fmt_us(cpu[rk]), \
				fmt_us(p50[nk]), fmt_rate(rate[nk]), ratio(rate[vk], rate[rk]), lat
		}
	}
}' "$RAW"

if [ -n "$QUEUES" ]; then
	echo
	echo "Request queues (bench/load --queues N: depth $MQ_DEPTH, operations round-robin over N queues; Rust: its only queue):"
	echo
	awk -F'\t' -v queues="$QUEUES" -v d="$MQ_DEPTH" '
	{
		if ($3 == "FAILED") next
		k = $1 SUBSEP $2 SUBSEP $3
		if ((k in rate) && rate[k] + 0 >= $6 + 0) next
		rate[k] = $6
		if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 }
	}
	END {
		nq = split(queues, q, " ")
		h = "| op | depth |"; s = "|---|---|"
		for (j = 1; j <= nq; j++) { h = h " vfsd " q[j] " queue(s) req/s |"; s = s "--:|" }
		h = h " Rust (1 queue) req/s |"; s = s "--:|"
		for (j = 2; j <= nq; j++) { h = h " " q[j] " vs " q[1] " |"; s = s "--:|" }
		print h " best vfsd / Rust |"; print s "--:|"
		for (i = 1; i <= n; i++) {
			op = order[i]; line = "| " op " | " d " |"; best = 0
			for (j = 1; j <= nq; j++) {
				v = rate["vfsd-q" q[j], op, d]
				line = line " " (v == "" ? "–" : sprintf("%d", v + 0.5)) " |"
				if (v + 0 > best) best = v + 0
			}
			rr = rate["rust", op, d]
			line = line " " (rr == "" ? "–" : sprintf("%d", rr + 0.5)) " |"
			b = rate["vfsd-q" q[1], op, d]
			for (j = 2; j <= nq; j++) {
				v = rate["vfsd-q" q[j], op, d]
				line = line " " ((v == "" || b + 0 == 0) ? "–" : sprintf("%.2f", v / b)) " |"
			}
			print line " " ((rr + 0 == 0) ? "–" : sprintf("%.2f", best / rr)) " |"
		}
	}' "$RAW"
fi

cat <<EOF

req/s counts whole operations (see above); CPU µs/req is the daemon's utime+stime from
/proc/PID/stat (supervisor and sandboxed worker, 10 ms ticks) per operation. vfsd/Rust > 1: vfsd
is faster. vfsd/native: how many times slower than the system calls alone (p50 against p50 at
depth 1; † at depth 64: native time per operation against vfsd's, from throughput).

<details><summary>Raw results (label, op, depth, ops, s, ops/s, p50 µs, p99 µs, daemon CPU µs/op,
frontend CPU µs/op, FUSE requests/op)</summary>

\`\`\`
$(cat "$RAW")
\`\`\`
</details>
EOF
