#!/usr/bin/env bash
# sid-chroot-apt.sh ROOT LOG PACKAGE...: apt-get update and install (no recommends) PACKAGEs in the
# chroot ROOT, then apt-get clean; all output in LOG. Runs in a private mount namespace (unshare
# -m): /proc, /sys and /dev are mounted into the chroot only there and vanish with it, so nothing
# stays mounted. The caller holds ROOT's lock (sid-qemu.sh, sid-libvirt.sh).
set -euo pipefail
root=$1 logf=$2
shift 2
# shellcheck disable=SC2016 # expanded by the inner shell
unshare --mount --propagation private sh -ec '
	r=$1
	shift
	mount -t proc proc "$r/proc"
	mount -t sysfs sys "$r/sys"
	mount --rbind /dev "$r/dev"
	export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
	chroot "$r" apt-get -o Acquire::Check-Valid-Until=false update -qq
	chroot "$r" apt-get install -y -qq --no-install-recommends "$@"
	chroot "$r" apt-get clean
' sid-apt "$root" "$@" >"$logf" 2>&1
