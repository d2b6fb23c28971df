// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * DAX: FUSE_SETUPMAPPING / FUSE_REMOVEMAPPING through the window service (dax/), which
 * fs->cfg.dax is when the share has DAX at all (the per-inode policy, FS_ATTR_DAX, and the
 * hooks that keep maps in line with file changes are in pt_dax.c).
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
#include "fs/passthrough/pt_ops.h"

bool pt_op_dax_available(struct fs_state *fs)
{
	return fs->cfg.dax && dax_window_size(fs->cfg.dax) > 0;
}

int pt_op_setupmapping(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		       uint64_t foffset, uint64_t len, uint64_t moffset, bool writable)
{
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

int pt_op_removemapping(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t moffset,
			uint64_t len)
{
	if (!fs->cfg.dax)
		return -ENOSYS;
	return dax_remove(fs->cfg.dax, moffset, len);
}
