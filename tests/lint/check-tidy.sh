#!/bin/sh
# Runs clang-tidy (checks in .clang-tidy) over every C file in src/, with the compile commands of
# the build it is registered in. Fails on any finding.
# Usage: check-tidy.sh SOURCE_ROOT BUILD_ROOT
set -eu
src=$1
build=$2
cd "$src"
find src -name '*.c' | sort | xargs -P "$(nproc)" -n 8 clang-tidy -p "$build" --quiet
