/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The identity of an inode as the version table hashes it: the bytes of its file handle, in the
 * encoding fanotify reports (AT_HANDLE_FID, Linux 6.5+; plain handles before, which are the same
 * bytes on the filesystems fanotify FID mode supports). The table (LOOKUP side) and the host
 * change watch (fanotify/inotify side) both take handles from here, so the two sides hash the
 * same bytes. Trusts nothing but the kernel.
 */
#ifndef VFSD_COHERENCE_FID_H
#define VFSD_COHERENCE_FID_H

#include <stddef.h>
#include <stdint.h>

#define VT_FID_MAX 128 /* MAX_HANDLE_SZ */

struct vt_fid {
	int type;     /* file_handle.handle_type */
	uint32_t len; /* file_handle.handle_bytes */
	unsigned char bytes[VT_FID_MAX];
};

/* The handle of the inode fd refers to (any fd, O_PATH included; a symlink's own handle for an
 * O_PATH|O_NOFOLLOW fd). 0, or -errno: -EOPNOTSUPP for filesystems without handles. */
int vt_fid_of_fd(int fd, struct vt_fid *ret);

/* The handle of dirfd/name without following a final symlink. 0 or -errno. */
int vt_fid_at(int dirfd, const char *name, struct vt_fid *ret);

#endif
