// SPDX-License-Identifier: GPL-2.0-or-later
/* A real fd for an inode, from its O_PATH fd, for the ops that do I/O, list or lock. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "fs/passthrough/pt.h"

int pt_reopen(struct fs_state *fs, const struct pt_inode *ino, int flags)
{
	char name[24];
	int fd;

	flags &= ~(O_CREAT | O_EXCL | O_NOCTTY | O_NOFOLLOW | O_PATH);
	if (!S_ISDIR(ino->type) && !S_ISREG(ino->type))
		return -EACCES; /* CVE-2020-35517: never open host devices, FIFOs or sockets */
	/* Callers holding only a handle's reference have not pinned the inode. */
	fd = pt_inode_pin(fs, ino);
	if (fd < 0)
		return fd;
	/* Following the /proc magic link reaches exactly the inode the O_PATH fd pins, and needs
	 * only the permission the open asks for on that inode. openat(dirfd, ".") would also need
	 * search permission on the directory itself (a 0600 or 0444 directory is readable, and
	 * opendir must work, without it). */
	snprintf(name, sizeof(name), "%d", ino->fd);
	fd = openat(fs->proc_fd, name, flags | (S_ISDIR(ino->type) ? O_DIRECTORY : 0) | O_CLOEXEC);
	fd = fd < 0 ? -errno : fd;
	pt_inode_unpin(fs, ino);
	return fd;
}
