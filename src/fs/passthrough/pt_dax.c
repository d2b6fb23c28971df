// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The DAX hooks the rest of the backend calls (all cheap no-ops without a window, or for files
 * never mapped): which files get FS_ATTR_DAX (cfg.dax_policy), and keeping the window service
 * (dax/) told about size and content changes of mapped files. The mapping ops themselves are in
 * op_mapping.c.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "fs/passthrough/pt.h"

uint32_t pt_dax_attr_flags(const struct fs_state *fs, const struct pt_inode *ino,
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

static bool pt_dax_mapped(const struct fs_state *fs, struct pt_inode *ino)
{
	return fs->cfg.dax && atomic_load_explicit(&ino->dax_mapped, memory_order_relaxed);
}

void pt_dax_changed(struct fs_state *fs, struct pt_inode *ino, uint64_t size)
{
	if (pt_dax_mapped(fs, ino))
		dax_changed(fs->cfg.dax, ino->nodeid, size);
}

void pt_dax_sync(struct fs_state *fs, struct pt_inode *ino)
{
	if (pt_dax_mapped(fs, ino))
		dax_sync(fs->cfg.dax, ino->nodeid);
}

void pt_dax_before_write(struct fs_state *fs, struct pt_inode *ino, int fd, off_t shrink_to)
{
	struct stat st;

	if (!pt_dax_mapped(fs, ino))
		return;
	/* The guest's writes through the window come before the one made now. */
	dax_sync(fs->cfg.dax, ino->nodeid);
	if (shrink_to >= 0 && fstat(fd, &st) == 0 && shrink_to < st.st_size)
		dax_changed(fs->cfg.dax, ino->nodeid, (uint64_t)shrink_to);
}

void pt_dax_after_write(struct fs_state *fs, struct pt_inode *ino, int fd)
{
	struct stat st;

	if (pt_dax_mapped(fs, ino) && fstat(fd, &st) == 0)
		dax_changed(fs->cfg.dax, ino->nodeid, (uint64_t)st.st_size);
}
