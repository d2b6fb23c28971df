// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Regular-file ops: open/create/tmpfile produce handles; read/write move data straight between
 * the host file and the guest's buffers (preadv/pwritev on the iovecs fuse/ gives us, no bounce
 * buffer); the rest act on a handle's fd. Only regular files are ever opened on the host.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fs/passthrough/pt.h"
#include "fs/passthrough/pt_ops.h"

/* Host open flags from the guest's: drop what would change what is opened or how it is named
 * (we never create or follow here), and apply the configured policies. */
static int pt_open_flags(const struct fs_state *fs, int flags)
{
	flags &= ~(O_CREAT | O_EXCL | O_NOCTTY | O_NOFOLLOW | O_PATH | __O_TMPFILE | O_ASYNC |
		   O_CLOEXEC);
	if (!fs->cfg.allow_direct_io)
		flags &= ~O_DIRECT;
	if (!fs->cfg.preserve_noatime)
		flags &= ~O_NOATIME;
	if (fs->writeback) {
		/* The guest page cache reads around partial-page writes and keeps the file size
		 * itself, so write-only opens must be readable and O_APPEND would misplace data. */
		if ((flags & O_ACCMODE) == O_WRONLY)
			flags = (flags & ~O_ACCMODE) | O_RDWR;
		flags &= ~O_APPEND;
	}
	return flags;
}

static bool pt_flags_write(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

static uint32_t pt_file_open_flags(const struct fs_state *fs)
{
	switch (fs->cfg.cache) {
	case PT_CACHE_NEVER:
	case PT_CACHE_METADATA:
		return FS_OPEN_DIRECT_IO;
	case PT_CACHE_ALWAYS:
		return FS_OPEN_KEEP_CACHE;
	case PT_CACHE_AUTO:
	default:
		return 0;
	}
}

/*
 * Opens an existing inode for the guest. As the daemon when the guest kernel has checked the
 * caller's access (FUSE_OPEN: may_open, with all of its groups; top of cred.c); as the caller
 * (`as_caller`) when it has not: a FUSE_CREATE that finds the name taken on the host, where the
 * guest believed it free and checked only the directory.
 */
static int pt_open_inode(struct fs_state *fs, const struct fs_ctx *ctx, const struct pt_inode *ino,
			 int guest_flags, bool as_caller, int *ret_flags)
{
	_cleanup_cred_ struct pt_cred cred = {false};
	int flags = pt_open_flags(fs, guest_flags);
	int fd, r;

	if ((guest_flags & O_ACCMODE) == O_ACCMODE)
		return -EINVAL;
	if (fs->cfg.readonly && pt_flags_write(guest_flags))
		return -EROFS;
	if (S_ISDIR(ino->type))
		return -EISDIR;
	if (S_ISLNK(ino->type))
		return -ELOOP;
	if (as_caller) {
		r = pt_cred_enter(&cred, ctx);
		if (r < 0)
			return r;
	}
	fd = pt_reopen(fs, ino, flags);
	if (fd == -EACCES && (guest_flags & O_ACCMODE) == O_WRONLY &&
	    (flags & O_ACCMODE) == O_RDWR) {
		/* A write-only file under writeback: better a handle the guest cannot read
		 * around than no handle at all. */
		flags = (flags & ~O_ACCMODE) | O_WRONLY;
		fd = pt_reopen(fs, ino, flags);
	}
	pt_cred_leave(&cred);
	if (fd < 0)
		return fd;
	if (flags & O_TRUNC) {
		/* The daemon's truncate keeps set-id bits (CAP_FSETID), and the guest (with
		 * FUSE_ATOMIC_O_TRUNC) sends no SETATTR to clear them, with or without
		 * killpriv_v2: a non-root caller's truncating open clears them. */
		r = pt_kill_suidgid_caller(fs, ctx, ino, fd);
		if (r < 0) {
			close(fd);
			return r;
		}
	}
	*ret_flags = flags;
	return fd;
}

int pt_op_open(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, int flags,
	       uint64_t *ret_fh, uint32_t *ret_open_flags)
{
	_cleanup_inode_ struct pt_inode_guard g = {fs, NULL};
	int fd, hflags = 0, r;

	r = pt_inode_get(fs, nodeid, &g.ino);
	if (r < 0)
		return r;
	fd = pt_open_inode(fs, ctx, g.ino, flags, false, &hflags);
	if (fd < 0)
		return fd;
	r = pt_handle_new(fs, g.ino, &fd, hflags, ret_fh);
	if (r < 0)
		return r;
	if (flags & O_TRUNC)
		pt_vt_changed(fs, g.ino, NULL);
	*ret_open_flags = pt_file_open_flags(fs);
	return 0;
}

/*
 * Registers a freshly opened fd (ownership taken) of a new file: an O_PATH fd for its inode
 * comes from the open fd itself, not from the name, which may already point elsewhere.
 */
static int pt_new_file_entry(struct fs_state *fs, const struct pt_inode *parent, int *fd, int flags,
			     struct fs_entry *ret_entry, uint64_t *ret_fh)
{
	_cleanup_close_ int file_fd = TAKE_FD(*fd);
	_cleanup_inode_ struct pt_inode_guard g = {fs, NULL};
	struct fs_entry e;
	char name[24];
	int path_fd, r;

	snprintf(name, sizeof(name), "%d", file_fd);
	path_fd = openat(fs->proc_fd, name, O_PATH | O_CLOEXEC);
	if (path_fd < 0)
		return -errno;
	r = pt_inode_entry_changed(fs, parent, &path_fd, &e);
	if (r < 0)
		return r;
	r = pt_inode_get(fs, e.nodeid, &g.ino);
	if (r < 0)
		return r; /* a forged forget already dropped the reference */
	r = pt_handle_new(fs, g.ino, &file_fd, flags, ret_fh);
	if (r < 0) {
		pt_inode_forget(fs, e.nodeid, 1);
		return r;
	}
	*ret_entry = e;
	return 0;
}

/* create of an existing name without O_EXCL: a lookup plus an open, with the open's checks. */
static int pt_create_existing(struct fs_state *fs, const struct fs_ctx *ctx,
			      const struct pt_inode *parent, const char *name, int flags,
			      struct fs_entry *ret_entry, uint64_t *ret_fh)
{
	_cleanup_inode_ struct pt_inode_guard g = {fs, NULL};
	struct fs_entry e;
	int fd, hflags = 0, r;

	r = pt_do_lookup(fs, parent, name, &e);
	if (r < 0)
		return r;
	r = pt_inode_get(fs, e.nodeid, &g.ino);
	if (r < 0)
		return r;
	fd = pt_open_inode(fs, ctx, g.ino, flags, true, &hflags);
	r = fd < 0 ? fd : pt_handle_new(fs, g.ino, &fd, hflags, ret_fh);
	if (r < 0) {
		pt_inode_forget(fs, e.nodeid, 1);
		return r;
	}
	if (flags & O_TRUNC) {
		pt_vt_changed(fs, g.ino, &e.ver);
		if (pt_stat_inode(g.ino, &e.attr) == 0)
			pt_stat_to_guest(fs, &e.attr);
	}
	*ret_entry = e;
	return 0;
}

int pt_op_create(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		 mode_t mode, int flags, mode_t umask, struct fs_entry *ret_entry, uint64_t *ret_fh,
		 uint32_t *ret_open_flags)
{
	_cleanup_inode_ struct pt_inode_guard p = {fs, NULL};
	int hflags = pt_open_flags(fs, flags), fd, r;

	if (fs->cfg.readonly)
		return -EROFS;
	r = pt_check_name(name);
	if (r < 0)
		return r;
	r = pt_create_begin(fs, parent, &p.ino, &mode, umask);
	if (r < 0)
		return r;
	{
		_cleanup_cred_ struct pt_cred cred = {false};

		r = pt_cred_enter_creator(&cred, ctx);
		if (r < 0)
			return r;
		/* O_EXCL always: an existing name (maybe a FIFO or device node) is never opened
		 * by this call; O_NOFOLLOW: never create through a dangling symlink. */
		fd = openat(p.ino->fd, name, hflags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    mode);
		fd = fd < 0 ? -errno : fd;
	}
	if (fd >= 0) {
		r = pt_secctx_apply(fs, ctx, p.ino->fd, name, fd);
		if (r < 0) {
			/* The guest must not see a file without the label it asked for. */
			close(fd);
			unlinkat(p.ino->fd, name, 0);
			pt_vt_changed(fs, p.ino, NULL);
			return r;
		}
	}
	if (fd == -EEXIST && !(flags & O_EXCL)) {
		r = pt_create_existing(fs, ctx, p.ino, name, flags, ret_entry, ret_fh);
	} else if (fd < 0) {
		r = fd;
	} else {
		struct fs_version pver = {0};

		pt_vt_changed(fs, p.ino, &pver);
		r = pt_new_file_entry(fs, p.ino, &fd, hflags, ret_entry, ret_fh);
		if (r == 0)
			ret_entry->parent_ver = pver;
	}
	if (r < 0)
		return r;
	*ret_open_flags = pt_file_open_flags(fs);
	return 0;
}

int pt_op_tmpfile(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent, mode_t mode,
		  int flags, mode_t umask, struct fs_entry *ret_entry, uint64_t *ret_fh,
		  uint32_t *ret_open_flags)
{
	_cleanup_inode_ struct pt_inode_guard p = {fs, NULL};
	int hflags = pt_open_flags(fs, flags) & ~O_DIRECTORY, fd, r;
	struct fs_version pver = {0};

	r = pt_create_begin(fs, parent, &p.ino, &mode, umask);
	if (r < 0)
		return r;
	{
		_cleanup_cred_ struct pt_cred cred = {false};

		r = pt_cred_enter_creator(&cred, ctx);
		if (r < 0)
			return r;
		/* An O_PATH directory fd is a valid base for O_TMPFILE on ".". */
		fd = openat(p.ino->fd, ".", hflags | O_TMPFILE | O_CLOEXEC, mode);
		if (fd < 0)
			return -errno;
	}
	/* Not linked anywhere yet: closing it is all a failed label needs. */
	r = pt_secctx_apply(fs, ctx, p.ino->fd, NULL, fd);
	if (r < 0) {
		close(fd);
		return r;
	}
	pt_vt_changed(fs, p.ino, &pver);
	r = pt_new_file_entry(fs, p.ino, &fd, hflags, ret_entry, ret_fh);
	if (r < 0)
		return r;
	ret_entry->parent_ver = pver;
	*ret_open_flags = pt_file_open_flags(fs);
	return 0;
}

ssize_t pt_op_read(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		   const struct iovec *iov, int iovcnt, off_t off)
{
	_cleanup_handle_ struct pt_handle_guard h = {fs, NULL};
	ssize_t n;
	int r;

	r = pt_handle_get(fs, nodeid, fh, &h.h);
	if (r < 0)
		return r;
	if (off < 0)
		return -EINVAL;
	do
		n = preadv(h.h->fd, iov, iovcnt, off);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

ssize_t pt_op_write(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		    const struct iovec *iov, int iovcnt, off_t off, uint32_t write_flags,
		    struct fs_version *ret_ver)
{
	_cleanup_handle_ struct pt_handle_guard h = {fs, NULL};
	ssize_t n;
	int r;

	r = pt_handle_get(fs, nodeid, fh, &h.h);
	if (r < 0)
		return r;
	if (fs->cfg.readonly)
		return -EROFS;
	if (off < 0)
		return -EINVAL;
	if (write_flags & FS_WRITE_KILL_SUIDGID) {
		r = pt_kill_suidgid(fs, h.h->inode, h.h->fd);
		if (r < 0)
			return r;
	}
	pt_dax_before_write(fs, h.h->inode, h.h->fd, -1);
	do
		n = pwritev(h.h->fd, iov, iovcnt, off);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	pt_dax_after_write(fs, h.h->inode, h.h->fd);
	pt_vt_changed(fs, h.h->inode, ret_ver);
	return n;
}

int pt_op_release(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh)
{
	return pt_handle_release(fs, nodeid, fh);
}

int pt_op_fsync(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		bool datasync)
{
	_cleanup_handle_ struct pt_handle_guard h = {fs, NULL};
	int r;

	r = pt_handle_get(fs, nodeid, fh, &h.h);
	if (r < 0)
		return r;
	pt_dax_sync(fs, h.h->inode);
	r = datasync ? fdatasync(h.h->fd) : fsync(h.h->fd);
	return r < 0 ? -errno : 0;
}

int pt_op_fallocate(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		    int mode, off_t off, off_t len, struct fs_version *ret_ver)
{
	_cleanup_handle_ struct pt_handle_guard h = {fs, NULL};
	int r;

	r = pt_handle_get(fs, nodeid, fh, &h.h);
	if (r < 0)
		return r;
	if (fs->cfg.readonly)
		return -EROFS;
	/* A collapse shrinks the file: unmap, then map again what is left. */
	r = pt_kill_suidgid_v2(fs, ctx, h.h->inode, h.h->fd);
	if (r < 0)
		return r;
	pt_dax_before_write(fs, h.h->inode, h.h->fd, (mode & FALLOC_FL_COLLAPSE_RANGE) ? 0 : -1);
	if (fallocate(h.h->fd, mode, off, len) < 0)
		return -errno;
	pt_dax_after_write(fs, h.h->inode, h.h->fd);
	pt_vt_changed(fs, h.h->inode, ret_ver);
	return 0;
}

int pt_op_lseek(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		off_t off, int whence, off_t *ret)
{
	_cleanup_handle_ struct pt_handle_guard h = {fs, NULL};
	off_t res;
	int r;

	r = pt_handle_get(fs, nodeid, fh, &h.h);
	if (r < 0)
		return r;
	switch (whence) {
	case SEEK_SET:
	case SEEK_CUR:
		/* Handles have no position of their own (I/O is positional). */
		if (off < 0)
			return -EINVAL;
		*ret = off;
		return 0;
	case SEEK_END:
	case SEEK_DATA:
	case SEEK_HOLE:
		res = lseek(h.h->fd, off, whence);
		if (res < 0)
			return -errno;
		*ret = res;
		return 0;
	default:
		return -EINVAL;
	}
}

ssize_t pt_op_copy_file_range(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid_in,
			      uint64_t fh_in, off_t off_in, uint64_t nodeid_out, uint64_t fh_out,
			      off_t off_out, size_t len, unsigned flags, struct fs_version *ret_ver)
{
	_cleanup_handle_ struct pt_handle_guard in = {fs, NULL};
	_cleanup_handle_ struct pt_handle_guard out = {fs, NULL};
	loff_t o_in = off_in, o_out = off_out;
	ssize_t n;
	int r;

	r = pt_handle_get(fs, nodeid_in, fh_in, &in.h);
	if (r < 0)
		return r;
	r = pt_handle_get(fs, nodeid_out, fh_out, &out.h);
	if (r < 0)
		return r;
	if (fs->cfg.readonly)
		return -EROFS;
	if (off_in < 0 || off_out < 0)
		return -EINVAL;
	r = pt_kill_suidgid_v2(fs, ctx, out.h->inode, out.h->fd);
	if (r < 0)
		return r;
	pt_dax_sync(fs, in.h->inode);
	pt_dax_before_write(fs, out.h->inode, out.h->fd, -1);
	n = copy_file_range(in.h->fd, &o_in, out.h->fd, &o_out, len, flags);
	if (n < 0)
		return -errno;
	pt_dax_after_write(fs, out.h->inode, out.h->fd);
	pt_vt_changed(fs, out.h->inode, ret_ver);
	return n;
}
