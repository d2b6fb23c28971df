#!/usr/bin/env bash
# Runs every libFuzzer target of a -Dfuzzing=true build for SECONDS each, one after another,
# starting from a scratch copy of its seed corpus (the tree is never modified). Fails if any
# target finds a crash, a leak, a timeout or an out-of-memory; the reproducer is kept in the
# printed artifact directory.
#   tests/fuzz/run-fuzzers.sh BUILD_DIR SECONDS [TARGET...]
set -uo pipefail
build=${1:?usage: run-fuzzers.sh BUILD_DIR SECONDS [TARGET...]}
secs=${2:?usage: run-fuzzers.sh BUILD_DIR SECONDS [TARGET...]}
shift 2
src=$(cd "$(dirname "$0")/../.." && pwd)
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=(fuzz_fuse_null fuzz_fuse_pt fuzz_fuse_fake fuzz_virtq fuzz_vhu fuzz_xattrmap fuzz_idmap fuzz_state)

work=$(mktemp -d "${TMPDIR:-/tmp}/vfsd-fuzz.XXXXXX")
status=0
for t in "${targets[@]}"; do
	exe=$build/fuzz/$t
	if [ ! -x "$exe" ]; then
		echo "FAIL $t: $exe not built (configure with -Dfuzzing=true)"
		status=1
		continue
	fi
	mkdir -p "$work/$t/corpus" "$work/$t/artifacts"
	cp -r "$src/fuzz/corpus/$t/." "$work/$t/corpus/" 2>/dev/null || true
	# ASan's leak check needs ptrace-free exits only; keep the sanitizers loud.
	if ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1} \
		UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
		"$exe" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=25 -print_final_stats=1 \
		-artifact_prefix="$work/$t/artifacts/" "$work/$t/corpus" >"$work/$t/log" 2>&1; then
		runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$t/log" | grep -o '[0-9]*$')
		echo "ok   $t: ${secs}s, ${runs:-?} runs"
	else
		echo "FAIL $t: see $work/$t/log, reproducer in $work/$t/artifacts/"
		tail -n 40 "$work/$t/log"
		status=1
	fi
done
if [ "$status" -eq 0 ]; then
	rm -rf "$work"
fi
exit "$status"
