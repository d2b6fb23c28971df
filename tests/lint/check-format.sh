#!/usr/bin/env bash
# Fails when any tracked C file is not clang-format clean (style.md rule 10).
set -euo pipefail
cd "$1"
mapfile -t files < <(git ls-files '*.c' '*.h' 2>/dev/null || find src tests bench -name '*.[ch]')
[ "${#files[@]}" -gt 0 ] || { echo "no C files found"; exit 1; }
bad=0
for f in "${files[@]}"; do
	[ -f "$f" ] || continue
	if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
		echo "not clang-format clean: $f"
		bad=1
	fi
done
[ "$bad" -eq 0 ] && echo "${#files[@]} files clang-format clean"
exit "$bad"
