// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Directory handles and readdir/readdirplus. A directory handle owns a real directory fd and,
 * once listed, a getdents64 buffer; the guest's offsets are the host's d_off cookies, so resuming
 * at any offset the guest sends is one lseek (an offset we never handed out is passed to the
 * host filesystem, which rejects it or starts wherever that cookie leads; never out of the dir).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/passthrough/pt.h"
#include "fs/passthrough/pt_ops.h"

/* Per listing in progress; freed at end of directory so idle handles cost no memory. */
#define PT_DIRBUF_SIZE 16384

struct pt_dirstream {
	uint64_t pos; /* cookie the next unconsumed entry follows (0: start) */
	size_t len;   /* bytes of getdents64 output in buf */
	size_t cur;   /* offset of the next unconsumed entry in buf */
	char buf[PT_DIRBUF_SIZE] __attribute__((aligned(8)));
};

static void pt_unlockp(pthread_mutex_t **m)
{
	if (*m)
		pthread_mutex_unlock(*m);
}

int pt_op_opendir(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, int flags,
		  uint64_t *ret_fh, uint32_t *ret_open_flags)
{
	_cleanup_inode_ struct pt_inode_guard g = {fs, NULL};
	int fd, r;

	r = pt_inode_get(fs, nodeid, &g.ino);
	if (r < 0)
		return r;
	if (!S_ISDIR(g.ino->type))
		return -ENOTDIR;
	/* As the daemon: the guest has checked read permission (top of cred.c). */
	fd = pt_reopen(fs, g.ino, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return fd;
	r = pt_handle_new(fs, g.ino, &fd, O_RDONLY | O_DIRECTORY, ret_fh);
	if (r < 0)
		return r;
	*ret_open_flags = (fs->cfg.cache == PT_CACHE_ALWAYS || fs->cfg.cache == PT_CACHE_METADATA)
				  ? FS_OPEN_CACHE_DIR | FS_OPEN_KEEP_CACHE
				  : 0;
	return 0;
}

static bool pt_is_dot(const char *name)
{
	return !strcmp(name, ".") || !strcmp(name, "..");
}

/*
 * Hands one entry to fill. Returns 0 when stored, 1 when skipped (the name vanished between
 * getdents and lookup), -ENOSPC when the reply is full, or another -errno.
 */
static int pt_emit(struct fs_state *fs, struct pt_inode *dir, const struct dirent64 *de, bool plus,
		   fs_fill_fn fill, void *cookie)
{
	struct fs_dirent d = {
		.ino = de->d_ino,
		.off = (uint64_t)de->d_off,
		.type = de->d_type,
		.name = de->d_name,
		.namelen = strlen(de->d_name),
	};
	struct fs_entry e = {0};
	int r;

	if (!plus)
		return fill(cookie, &d, NULL);
	if (pt_is_dot(de->d_name)) {
		/* No lookup reference: the guest already knows both directories. */
		e.attr.st_ino = de->d_ino;
		e.attr.st_mode = (mode_t)DTTOIF(de->d_type);
		return fill(cookie, &d, &e);
	}
	r = pt_do_lookup(fs, dir, de->d_name, &e);
	if (r == -ENOENT)
		return 1;
	if (r < 0)
		return r;
	r = fill(cookie, &d, &e);
	if (r < 0)
		pt_inode_forget(fs, e.nodeid, 1); /* not stored: the guest never saw the ref */
	return r;
}

/* Caller holds h->dir_mu. Lists from the stream's position until fill is full or the end. */
static int pt_readdir_locked(struct fs_state *fs, struct pt_handle *h, bool plus, fs_fill_fn fill,
			     void *cookie)
{
	struct pt_dirstream *d = h->dir;
	unsigned filled = 0;
	int r = 0;

	for (;;) {
		const struct dirent64 *de;

		if (d->cur >= d->len) {
			ssize_t n = getdents64(h->fd, d->buf, sizeof(d->buf));

			if (n < 0) {
				r = -errno;
				break;
			}
			d->len = (size_t)n;
			d->cur = 0;
			if (n == 0)
				break;
		}
		de = (const struct dirent64 *)(d->buf + d->cur);
		r = pt_emit(fs, h->inode, de, plus, fill, cookie);
		if (r < 0)
			break;
		d->cur += de->d_reclen;
		d->pos = (uint64_t)de->d_off;
		filled += r == 0;
	}
	if (r == -ENOSPC)
		return 0;
	return filled ? 0 : r;
}

int pt_op_readdir(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		  uint64_t off, bool plus, fs_fill_fn fill, void *cookie)
{
	_cleanup_handle_ struct pt_handle_guard h = {fs, NULL};
	_cleanup_(pt_unlockp) pthread_mutex_t *locked = NULL;
	bool fresh = false;
	int r;

	r = pt_handle_get(fs, nodeid, fh, &h.h);
	if (r < 0)
		return r;
	if (!S_ISDIR(h.h->inode->type) || !(h.h->flags & O_DIRECTORY))
		return -ENOTDIR;
	pthread_mutex_lock(&h.h->dir_mu);
	locked = &h.h->dir_mu;
	if (!h.h->dir) {
		h.h->dir = calloc(1, sizeof(*h.h->dir));
		if (!h.h->dir)
			return -ENOMEM;
		fresh = true;
	}
	if (fresh || off != h.h->dir->pos) {
		r = off > INT64_MAX ? -EINVAL : 0;
		if (r == 0 && lseek(h.h->fd, (off_t)off, SEEK_SET) < 0)
			r = -errno;
		if (r < 0) {
			/* The fd is no longer at dir->pos: the next call must seek afresh. */
			free(h.h->dir);
			h.h->dir = NULL;
			return r;
		}
		h.h->dir->pos = off;
		h.h->dir->len = h.h->dir->cur = 0;
	}
	r = pt_readdir_locked(fs, h.h, plus, fill, cookie);
	if (h.h->dir->len == 0) {
		/* At the end (or failed): a later call seeks afresh to the offset it brings. */
		free(h.h->dir);
		h.h->dir = NULL;
	}
	return r;
}

int pt_op_releasedir(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh)
{
	return pt_handle_release(fs, nodeid, fh);
}

int pt_op_fsyncdir(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		   bool datasync)
{
	_cleanup_handle_ struct pt_handle_guard h = {fs, NULL};
	int r;

	r = pt_handle_get(fs, nodeid, fh, &h.h);
	if (r < 0)
		return r;
	r = datasync ? fdatasync(h.h->fd) : fsync(h.h->fd);
	return r < 0 ? -errno : 0;
}
