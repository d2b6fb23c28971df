// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * getattr and setattr. Attribute changes run as the daemon: the guest kernel has already
 * applied the ownership rules with the caller's full credentials (setattr_prepare: chmod, chown
 * to a supplementary group, utimes, truncate; and the mode with set-id bits cleared that it
 * sends after a non-owner's write or a chown), which the request's uid/gid alone cannot repeat
 * (top of cred.c). The host kernel still clears set-id bits on chown, as for any chown.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/passthrough/pt.h"
#include "fs/passthrough/pt_ops.h"

#define PT_SET_ANY                                                                           \
	(FS_SET_MODE | FS_SET_UID | FS_SET_GID | FS_SET_SIZE | FS_SET_ATIME | FS_SET_MTIME | \
	 FS_SET_ATIME_NOW | FS_SET_MTIME_NOW | FS_SET_CTIME | FS_SET_KILL_SUIDGID)

/*
 * The tail of every attribute answer (getattr, statx, setattr). The DAX invariant: a size a
 * stat saw, whoever changed the file (the host, or this setattr), reaches a DAX-mapped file's
 * window before the guest can act on it, and FS_ATTR_DAX is decided on the same stat.
 */
static void pt_attr_done(struct fs_state *fs, struct pt_inode *ino, const struct statx *stx,
			 uint32_t *ret_attr_flags, double *ret_timeout)
{
	pt_dax_changed(fs, ino, stx->stx_size);
	if (ret_attr_flags)
		*ret_attr_flags = pt_dax_attr_flags(fs, ino, stx);
	*ret_timeout = pt_vt_timeout(fs, ino->vt_slot, ino->vt_unversioned, NULL);
}

/* The host's statx of a node, through the open handle when the guest names one: an inode
 * held by file handle may no longer reopen (an unlinked file on some filesystems) while it is
 * still open. `mask` and `sync` as for pt_statx_mask. */
static int pt_attr(struct fs_state *fs, uint64_t nodeid, bool has_fh, uint64_t fh, unsigned mask,
		   unsigned sync, struct statx *stx, uint32_t *ret_attr_flags, double *ret_timeout)
{
	_cleanup_inode_ struct pt_inode_guard g = {fs, NULL};
	_cleanup_handle_ struct pt_handle_guard h = {fs, NULL};
	struct pt_inode *ino;
	int r;

	if (has_fh) {
		r = pt_handle_get(fs, nodeid, fh, &h.h);
		if (r < 0)
			return r;
		ino = h.h->inode;
		r = pt_statx_mask(h.h->fd, mask, sync, stx);
	} else {
		r = pt_inode_get(fs, nodeid, &g.ino);
		if (r < 0)
			return r;
		ino = g.ino;
		r = pt_statx_mask(ino->fd, mask, sync, stx);
	}
	if (r < 0)
		return r;
	/* A size or content change made on the host shows up here first. */
	pt_attr_done(fs, ino, stx, ret_attr_flags, ret_timeout);
	pt_ids_to_guest(fs, &stx->stx_uid, &stx->stx_gid);
	return 0;
}

int pt_op_getattr(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, bool has_fh,
		  uint64_t fh, struct stat *ret, uint32_t *ret_attr_flags, double *ret_timeout)
{
	struct statx stx;
	int r = pt_attr(fs, nodeid, has_fh, fh, 0, 0, &stx, ret_attr_flags, ret_timeout);

	if (r < 0)
		return r;
	pt_statx_to_stat(&stx, ret);
	return 0;
}

int pt_op_statx(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, bool has_fh,
		uint64_t fh, unsigned mask, unsigned sync, struct statx *ret,
		uint32_t *ret_attr_flags, double *ret_timeout)
{
	return pt_attr(fs, nodeid, has_fh, fh, mask, sync, ret, ret_attr_flags, ret_timeout);
}

static int pt_set_mode(struct fs_state *fs, const struct pt_inode *ino, const struct pt_handle *h,
		       mode_t mode)
{
	char name[24];

	mode &= 07777;
	if (h)
		return fchmod(h->fd, mode) < 0 ? -errno : 0;
	if (S_ISLNK(ino->type))
		return -EOPNOTSUPP; /* Linux has no symlink modes */
	/* chmod does not open the file, so going through the magic link is safe for any type. */
	snprintf(name, sizeof(name), "%d", ino->fd);
	return fchmodat(fs->proc_fd, name, mode, 0) < 0 ? -errno : 0;
}

static int pt_set_size(struct fs_state *fs, struct pt_inode *ino, const struct pt_handle *h,
		       off_t size)
{
	_cleanup_close_ int own = -1;
	int fd;

	if (size < 0)
		return -EINVAL;
	if (S_ISDIR(ino->type))
		return -EISDIR;
	if (!S_ISREG(ino->type))
		return -EINVAL;
	if (h && (h->flags & O_ACCMODE) != O_RDONLY) {
		fd = h->fd;
	} else {
		own = pt_reopen(fs, ino, O_WRONLY | O_NONBLOCK);
		if (own < 0)
			return own;
		fd = own;
	}
	/* DAX maps past the new end go first: nothing may map a page that is gone. */
	pt_dax_before_write(fs, ino, fd, size);
	return ftruncate(fd, size) < 0 ? -errno : 0;
}

static int pt_set_times(struct fs_state *fs, const struct pt_inode *ino, const struct fs_setattr *a)
{
	struct timespec ts[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};

	if (a->valid & FS_SET_ATIME_NOW)
		ts[0].tv_nsec = UTIME_NOW;
	else if (a->valid & FS_SET_ATIME)
		ts[0] = a->atime;
	if (a->valid & FS_SET_MTIME_NOW)
		ts[1].tv_nsec = UTIME_NOW;
	else if (a->valid & FS_SET_MTIME)
		ts[1] = a->mtime;
	if (ts[0].tv_nsec == UTIME_OMIT && ts[1].tv_nsec == UTIME_OMIT)
		return 0;
	/* AT_EMPTY_PATH works on O_PATH fds of any type, symlinks included, and sets the times
	 * of exactly the pinned inode. */
	if (utimensat(ino->fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

static int pt_setattr_apply(struct fs_state *fs, struct pt_inode *ino, const struct pt_handle *h,
			    const struct fs_setattr *a)
{
	int r;

	if (a->valid & FS_SET_MODE) {
		r = pt_set_mode(fs, ino, h, a->mode);
		if (r < 0)
			return r;
	}
	if (a->valid & (FS_SET_UID | FS_SET_GID)) {
		uint32_t uid = (a->valid & FS_SET_UID) ? a->uid : (uid_t)-1;
		uint32_t gid = (a->valid & FS_SET_GID) ? a->gid : (gid_t)-1;

		r = pt_ids_to_host(fs, &uid, &gid);
		if (r < 0)
			return r;
		if (fchownat(ino->fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
	}
	if (a->valid & FS_SET_SIZE) {
		r = pt_set_size(fs, ino, h, a->size);
		if (r < 0)
			return r;
	}
	/* FS_SET_CTIME cannot be set explicitly; the changes above already updated it. */
	return pt_set_times(fs, ino, a);
}

int pt_op_setattr(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		  const struct fs_setattr *attr, struct stat *ret, uint32_t *ret_attr_flags,
		  double *ret_timeout, struct fs_version *ret_ver)
{
	_cleanup_inode_ struct pt_inode_guard g = {fs, NULL};
	_cleanup_handle_ struct pt_handle_guard h = {fs, NULL};
	struct statx stx;
	int r;

	if (attr->has_fh) {
		r = pt_handle_get(fs, nodeid, attr->fh, &h.h);
		if (r < 0)
			return r;
	}
	r = pt_inode_get(fs, nodeid, &g.ino);
	if (r < 0)
		return r;
	if (fs->cfg.readonly && (attr->valid & PT_SET_ANY))
		return -EROFS;
	r = pt_setattr_apply(fs, g.ino, h.h, attr);
	if (r < 0)
		return r;
	if ((attr->valid & FS_SET_KILL_SUIDGID) && !(attr->valid & FS_SET_MODE)) {
		r = pt_kill_suidgid(fs, g.ino, h.h ? h.h->fd : -1);
		if (r < 0)
			return r;
	}
	/* The stat below follows the bump: the reply's attributes are at least as new as the
	 * version the bump produced. */
	if (attr->valid & PT_SET_ANY) /* includes FS_SET_KILL_SUIDGID */
		pt_vt_changed(fs, g.ino, ret_ver);
	r = pt_statx_inode(g.ino, &stx);
	if (r < 0)
		return r;
	pt_statx_to_stat(&stx, ret);
	pt_stat_to_guest(fs, ret);
	pt_attr_done(fs, g.ino, &stx, ret_attr_flags, ret_timeout);
	return 0;
}
