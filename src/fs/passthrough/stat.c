// SPDX-License-Identifier: GPL-2.0-or-later
/* statx of O_PATH fds and its conversion to struct stat. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "fs/passthrough/pt.h"

int pt_statx(int fd, struct statx *stx)
{
	return pt_statx_mask(fd, 0, 0, stx);
}

int pt_statx_mask(int fd, unsigned mask, unsigned sync, struct statx *stx)
{
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | (sync & AT_STATX_SYNC_TYPE),
		  mask | STATX_BASIC_STATS | STATX_MNT_ID, stx) < 0)
		return -errno;
	return 0;
}

/* Kernel ABI: stx_mnt_id is the first u64 after stx_dev_minor (offset 0x90). glibc < 2.37
 * names it padding, so read it by offset. Zero when the kernel did not fill it (pre-5.8). */
uint64_t pt_statx_mnt_id(const struct statx *stx)
{
	uint64_t v;

	_Static_assert(sizeof(struct statx) >= 0x98, "struct statx too small");
	if (!(stx->stx_mask & STATX_MNT_ID))
		return 0;
	memcpy(&v, (const char *)stx + 0x90, sizeof(v));
	return v;
}

void pt_statx_to_stat(const struct statx *stx, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = makedev(stx->stx_dev_major, stx->stx_dev_minor);
	st->st_ino = stx->stx_ino;
	st->st_mode = stx->stx_mode;
	st->st_nlink = stx->stx_nlink;
	st->st_uid = stx->stx_uid;
	st->st_gid = stx->stx_gid;
	st->st_rdev = makedev(stx->stx_rdev_major, stx->stx_rdev_minor);
	st->st_size = (off_t)stx->stx_size;
	st->st_blksize = stx->stx_blksize;
	st->st_blocks = (blkcnt_t)stx->stx_blocks;
	st->st_atim.tv_sec = stx->stx_atime.tv_sec;
	st->st_atim.tv_nsec = stx->stx_atime.tv_nsec;
	st->st_mtim.tv_sec = stx->stx_mtime.tv_sec;
	st->st_mtim.tv_nsec = stx->stx_mtime.tv_nsec;
	st->st_ctim.tv_sec = stx->stx_ctime.tv_sec;
	st->st_ctim.tv_nsec = stx->stx_ctime.tv_nsec;
}

int pt_statx_inode(const struct pt_inode *ino, struct statx *stx)
{
	return pt_statx(ino->fd, stx);
}

int pt_stat_inode(const struct pt_inode *ino, struct stat *st)
{
	struct statx stx;
	int r = pt_statx_inode(ino, &stx);

	if (r < 0)
		return r;
	pt_statx_to_stat(&stx, st);
	return 0;
}
