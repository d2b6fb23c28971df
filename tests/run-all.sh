#!/usr/bin/env bash
# Runs every vfsd test: unit, tests/frontend (our vhost-user frontend against the real binary),
# the command line, clang-format, clang-tidy, and the QEMU guest tests, then the same suites again
# under AddressSanitizer + UndefinedBehaviorSanitizer, the frontend suite under ThreadSanitizer,
# and the fuzzers. Installs what is missing (Debian, as root).
# Ends with one line: "N passed, N failed[, N skipped]".
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

need_pkgs=()
for p in meson ninja-build gcc clang pkg-config libseccomp-dev libcap-ng-dev clang-format \
	clang-tidy qemu-system-x86 busybox-static cpio python3 attr liburing-dev help2man man-db \
	groff-base dpkg-dev debhelper lintian git uidmap; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need_pkgs+=("$p")
done
if [ "${#need_pkgs[@]}" -gt 0 ]; then
	echo "== installing: ${need_pkgs[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

run_build() { # dir, meson args...
	local dir=$1
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >/dev/null
	fi
	ninja -C "$dir" >/dev/null
}

echo "== build (gcc, -Werror)"
run_build build
echo "== build (clang, ASan + UBSan)"
CC=clang run_build build-asan -Db_sanitize=address,undefined -Db_lundef=false

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

status=0
echo "== tests"
meson test -C build --print-errorlogs --num-processes 2 || status=1
echo "== tests under ASan + UBSan"
# LeakSanitizer needs ptrace at exit, which the sandbox forbids: the plain pass proves the
# sandbox and seccomp allowlist, this one runs the daemon unconfined to find memory errors.
VFSD_TEST_DAEMON_FLAGS="--sandbox=none --seccomp=none" VFSD_VM_FLAGS="--xattr --sandbox=none --seccomp=none" \
meson test -C build-asan --print-errorlogs --num-processes 2 \
	--suite unit --suite frontend --suite cli ${VFSD_ASAN_VM:+--suite vm} || status=1

echo "== frontend tests under ThreadSanitizer"
# Data races between the queue threads, helpers, pool and lock waiters. The daemon runs
# unconfined as in the ASan pass; a report stops it (halt_on_error), which fails the test.
# frontend-privileges is left out: it runs the daemon in namespace mode whatever the flags and
# checks every thread's capabilities, and in the forked daemon the TSan runtime starts a
# background thread of its own, which keeps the capabilities the daemon drops (and the
# supervisor's seccomp filter kills the TSan runtime at exit). The plain and ASan passes run it.
if CC=clang run_build build-tsan -Db_sanitize=thread -Db_lundef=false -Dvm_tests=false; then
	mapfile -t tsan_tests < <(meson test -C build-tsan --list --suite frontend 2>/dev/null |
		sed -n 's|^vfsd:.* / ||p' | grep -vx frontend-privileges)
	TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1} \
	VFSD_TEST_DAEMON_FLAGS="--sandbox=none --seccomp=none" \
	meson test -C build-tsan --print-errorlogs --num-processes 2 --timeout-multiplier 2 \
		"${tsan_tests[@]}" || status=1
else
	status=1
fi

echo "== fuzzing (libFuzzer + ASan + UBSan, 20 s per target)"
# Only the fuzz targets are built here (the rest of the tree is already covered by build-asan).
if [ ! -f build-fuzz/build.ninja ]; then
	CC=clang meson setup build-fuzz -Dfuzzing=true -Db_sanitize=address,undefined \
		-Db_lundef=false -Dvm_tests=false >/dev/null || status=1
fi
if ninja -C build-fuzz fuzz/fuzz_fuse_null fuzz/fuzz_fuse_pt fuzz/fuzz_fuse_fake fuzz/fuzz_virtq \
	fuzz/fuzz_vhu fuzz/fuzz_xattrmap fuzz/fuzz_idmap fuzz/fuzz_state >/dev/null; then
	meson test -C build-fuzz --no-rebuild --print-errorlogs --suite fuzz || status=1
else
	status=1
fi

python3 - "$ROOT/build/meson-logs/testlog.json" "$ROOT/build-asan/meson-logs/testlog.json" \
	"$ROOT/build-tsan/meson-logs/testlog.json" "$ROOT/build-fuzz/meson-logs/testlog.json" <<'PY'
import json, sys
passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        failed += 1
        continue
    for line in lines:
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
PY
exit "$status"
