#!/bin/sh
# pivot-run.sh ROOT UID GID COMMAND...: run COMMAND as UID:GID with ROOT as its root directory,
# entered with pivot_root(2) in a new mount namespace rather than chroot(2): the kernel refuses
# to create a user namespace in a chrooted process (EPERM), and vfsd needs one for
# --uid-map/--gid-map (libvirt's session mode). ROOT's mounts (proc, sys, dev, ...) come along.
exec unshare --mount --propagation private sh -ec '
	r=$1 u=$2 g=$3
	shift 3
	mount --rbind "$r" "$r"
	cd "$r"
	mkdir -p tmp/.pivot-old
	pivot_root . tmp/.pivot-old
	cd /
	umount -l /tmp/.pivot-old
	exec setpriv --reuid="$u" --regid="$g" --clear-groups "$@"
' pivot-run "$@"
