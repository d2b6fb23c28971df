#!/bin/sh
# Runs a frontend test program with every daemon it starts on a private version table
# (--coherence=table); the table's directory is removed afterwards.
set -eu
dir=$(mktemp -d /dev/shm/vfsd-fe-table-XXXXXX)
trap 'rm -rf "$dir"' EXIT
VFSD_TEST_DAEMON_FLAGS="${VFSD_TEST_DAEMON_FLAGS:+$VFSD_TEST_DAEMON_FLAGS }--coherence=table --vt-table=$dir/table"
export VFSD_TEST_DAEMON_FLAGS
"$@"
