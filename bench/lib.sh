# SPDX-License-Identifier: GPL-2.0-or-later
#
# Sourced by the guest benchmarks that take --reps/--configs/--vfsd (run-migration.sh,
# run-coherence.sh). Sets $repo, the checkout this file is in, and $vfsd's default, its build/vfsd.
# shellcheck shell=bash disable=SC2034 # the variables set here are the sourcing script's

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
vfsd="$repo/build/vfsd"

# bench_opts ARGS...: --reps N, --configs LIST and --vfsd PATH into $reps, $configs and $vfsd
# (the caller sets the defaults of the first two); anything else prints the usage and exits 2.
bench_opts() {
	while [ $# -gt 0 ]; do
		case "$1" in
		--reps) reps=$2 && shift 2 ;;
		--configs) configs=$2 && shift 2 ;;
		--vfsd) vfsd=$2 && shift 2 ;;
		*) echo "usage: $0 [--reps N] [--configs LIST] [--vfsd PATH]" >&2 && exit 2 ;;
		esac
	done
}
