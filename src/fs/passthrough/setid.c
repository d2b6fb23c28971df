// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Clearing setuid/setgid after a change the daemon makes with more privilege than the guest's
 * writer had: setattr, write, truncating opens, fallocate, copy_file_range.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "fs/passthrough/pt.h"

/*
 * A write or truncate by the daemon as root keeps setuid/setgid (CAP_FSETID), unlike the
 * unprivileged writer the guest modelled: clear them explicitly. Clearing privilege bits is
 * always safe, so this runs with the daemon's credentials.
 */
int pt_kill_suidgid(struct fs_state *fs, const struct pt_inode *ino, int fd)
{
	struct stat st;
	mode_t kill = S_ISUID;
	char name[24];

	if (!S_ISREG(ino->type))
		return 0;
	/* With an open fd (write) the inode may not be pinned: stat through the fd. */
	if (fd >= 0 ? fstat(fd, &st) < 0
		    : fstatat(ino->fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	/* setgid without group-exec marks mandatory locking, not privilege: keep it. */
	if ((st.st_mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP))
		kill |= S_ISGID;
	if (!(st.st_mode & kill))
		return 0;
	if (fd >= 0)
		return fchmod(fd, st.st_mode & 07777 & ~kill) < 0 ? -errno : 0;
	snprintf(name, sizeof(name), "%d", ino->fd);
	return fchmodat(fs->proc_fd, name, st.st_mode & 07777 & ~kill, 0) < 0 ? -errno : 0;
}

/*
 * The guest sets FUSE_WRITE_KILL_SUIDGID / FATTR_KILL_SUIDGID / FUSE_OPEN_KILL_SUIDGID exactly
 * when the caller lacks CAP_FSETID. A truncating open (either way), fallocate and
 * copy_file_range (under killpriv_v2, where the guest sends no SETATTR for them) reach us with
 * no such flag, so there a non-root caller stands for "lacks CAP_FSETID", as it does on the
 * guest's own local file systems in all but the rarest setups.
 */
int pt_kill_suidgid_caller(struct fs_state *fs, const struct fs_ctx *ctx,
			   const struct pt_inode *ino, int fd)
{
	return ctx->uid == 0 ? 0 : pt_kill_suidgid(fs, ino, fd);
}

int pt_kill_suidgid_v2(struct fs_state *fs, const struct fs_ctx *ctx, const struct pt_inode *ino,
		       int fd)
{
	return fs->killpriv_v2 ? pt_kill_suidgid_caller(fs, ctx, ino, fd) : 0;
}
