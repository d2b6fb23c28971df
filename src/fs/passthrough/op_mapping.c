// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * DAX: FUSE_SETUPMAPPING / FUSE_REMOVEMAPPING through the window service (dax/), which
 * fs->cfg.dax is when the share has DAX at all, and the per-inode policy (FS_ATTR_DAX).
 *
 * Which fd the frontend maps: it maps every fd shared and read-write, whatever the request
 * says. So the file is opened O_RDWR, and:
 * - a writable mapping is opened with the guest's credentials, like an open(O_RDWR), so the
 *   guest gets no write access it could not get by opening the file;
 * - a read mapping is opened with the daemon's own credentials: a guest process that may
 *   only read the file still needs it mapped. That gives a guest *kernel* nothing it cannot
 *   already do (it chooses the uid of every request); files even the daemon may not write
 *   (immutable files, read-only mounts) are refused, and a read-only share has no window.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/passthrough/pt.h"

uint32_t pt_dax_attr_flags(const struct pt_fs *fs, const struct pt_inode *ino,
			   const struct statx *stx)
{
	uint64_t size = stx->stx_size;

	/* Without a window a guest never uses DAX, and a flag it cannot honour would make its
	 * kernel drop the inode from its cache at every attribute refresh. */
	if (!S_ISREG(stx->stx_mode) || !fs->cfg.dax || dax_window_size(fs->cfg.dax) == 0)
		return 0;
	/* Files the daemon cannot open for writing cannot be mapped (the frontend maps every
	 * file read-write): immutable and append-only ones, and any whose open failed so. */
	if ((stx->stx_attributes & (STATX_ATTR_IMMUTABLE | STATX_ATTR_APPEND)) ||
	    (ino && atomic_load_explicit(&ino->dax_denied, memory_order_relaxed)))
		return 0;
	if (fs->cfg.dax_policy == PT_DAX_ALL)
		return FS_ATTR_DAX;
	/* A partial last page needs a private copy: not for files marked by default. */
	if (size > 0 && size % DAX_PAGE_SIZE == 0 && size >= fs->cfg.dax_min_size)
		return FS_ATTR_DAX;
	return 0;
}

static bool pt_dax_mapped(const struct pt_fs *fs, struct pt_inode *ino)
{
	return fs->cfg.dax && atomic_load_explicit(&ino->dax_mapped, memory_order_relaxed);
}

void pt_dax_changed(struct pt_fs *fs, struct pt_inode *ino, uint64_t size)
{
	if (pt_dax_mapped(fs, ino))
		dax_changed(fs->cfg.dax, ino->nodeid, size);
}

void pt_dax_sync(struct pt_fs *fs, struct pt_inode *ino)
{
	if (pt_dax_mapped(fs, ino))
		dax_sync(fs->cfg.dax, ino->nodeid);
}

void pt_dax_before_write(struct pt_fs *fs, struct pt_inode *ino, int fd, off_t shrink_to)
{
	struct stat st;

	if (!pt_dax_mapped(fs, ino))
		return;
	/* The guest's writes through the window come before the one made now. */
	dax_sync(fs->cfg.dax, ino->nodeid);
	if (shrink_to >= 0 && fstat(fd, &st) == 0 && shrink_to < st.st_size)
		dax_changed(fs->cfg.dax, ino->nodeid, (uint64_t)shrink_to);
}

void pt_dax_after_write(struct pt_fs *fs, struct pt_inode *ino, int fd)
{
	struct stat st;

	if (pt_dax_mapped(fs, ino) && fstat(fd, &st) == 0)
		dax_changed(fs->cfg.dax, ino->nodeid, (uint64_t)st.st_size);
}

bool pt_op_dax_available(void *fsp)
{
	struct pt_fs *fs = fsp;

	return fs->cfg.dax && dax_window_size(fs->cfg.dax) > 0;
}

int pt_op_setupmapping(void *fsp, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t foffset,
		       uint64_t len, uint64_t moffset, bool writable)
{
	struct pt_fs *fs = fsp;
	_cleanup_inode_ struct pt_inode_guard g = {fs, NULL};
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	if (!fs->cfg.dax)
		return -ENOSYS;
	r = pt_inode_get(fs, nodeid, &g.ino);
	if (r < 0)
		return r;
	if (!S_ISREG(g.ino->type))
		return -EINVAL;
	/* As the daemon: a writable map comes from a guest file opened for writing, which the
	 * guest has checked (top of cred.c). */
	fd = pt_reopen(fs, g.ino, O_RDWR);
	if (fd < 0) {
		/* Even the daemon may not write it (read-only mount, ...): stop offering DAX. */
		if (!writable && (fd == -EPERM || fd == -EROFS || fd == -EACCES || fd == -ETXTBSY))
			atomic_store(&g.ino->dax_denied, true);
		return fd;
	}
	if (fstat(fd, &st) < 0)
		return -errno;
	r = dax_setup(fs->cfg.dax, g.ino->nodeid, fd, (uint64_t)st.st_size, foffset, len, moffset,
		      writable);
	if (r == 0)
		atomic_store(&g.ino->dax_mapped, true);
	return r;
}

int pt_op_removemapping(void *fsp, const struct fs_ctx *ctx, uint64_t moffset, uint64_t len)
{
	struct pt_fs *fs = fsp;

	if (!fs->cfg.dax)
		return -ENOSYS;
	return dax_remove(fs->cfg.dax, moffset, len);
}
