// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Inodes held by file handle (--inode-file-handles=prefer|mandatory). Such an inode keeps a
 * name_to_handle_at() handle instead of a permanent O_PATH fd, so the fds the daemon holds no
 * longer grow with the inodes the guest keeps looked up. An op that needs the fd pins the inode:
 * the fd comes from a bounded LRU cache or is reopened with open_by_handle_at(); pinned entries
 * are never evicted, so a fd never closes under an op.
 *
 * open_by_handle_at() wants a real (not O_PATH) fd on the handle's mount, and the sandbox hides
 * /proc/self/mountinfo once it pivots into the share; so each mount's fd is a directory opened
 * from the first inode seen on it (itself when a directory, else its parent on the same mount),
 * shared and reference-counted by every inode on that mount, closed with the last of them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/sysmacros.h>
#include <string.h>
#include <unistd.h>

#include "fs/passthrough/pt.h"
#include "util/log.h"

#define PT_FD_CACHE_DEFAULT 4096ul

int pt_fh_init(struct fs_state *fs)
{
	int r = pthread_mutex_init(&fs->fdc_mu, NULL);

	return -r;
}

void pt_fh_budget(struct fs_state *fs)
{
	if (fs->cfg.inode_file_handles == PT_INODE_FH_NEVER)
		return;
	/* The cache's fds come out of the guest budget so the total stays under it. */
	fs->fdc_max = fs->cfg.fd_cache_size ? fs->cfg.fd_cache_size : PT_FD_CACHE_DEFAULT;
	fs->fdc_max = MAX(MIN(fs->fdc_max, fs->fds_max / 2), 1ul);
	fs->fds_max -= MIN(fs->fdc_max, fs->fds_max);
}

void pt_fh_done(struct fs_state *fs)
{
	/* Every inode is gone by now, and with them every cache entry and mount reference. */
	pthread_mutex_destroy(&fs->fdc_mu);
}

/* Caller holds fdc_mu. */
static void pt_lru_unlink(struct fs_state *fs, struct pt_inode *ino)
{
	if (ino->lru_prev)
		ino->lru_prev->lru_next = ino->lru_next;
	else
		fs->lru_head = ino->lru_next;
	if (ino->lru_next)
		ino->lru_next->lru_prev = ino->lru_prev;
	else
		fs->lru_tail = ino->lru_prev;
	ino->lru_prev = ino->lru_next = NULL;
}

/* Caller holds fdc_mu. */
static void pt_lru_push(struct fs_state *fs, struct pt_inode *ino)
{
	ino->lru_prev = NULL;
	ino->lru_next = fs->lru_head;
	if (fs->lru_head)
		fs->lru_head->lru_prev = ino;
	else
		fs->lru_tail = ino;
	fs->lru_head = ino;
}

/* Caller holds fdc_mu. Closes unpinned fds, least recently used first, down to the limit;
 * pinned ones (at most a few per op in flight) may keep the cache above it for a while. */
static void pt_fdcache_trim(struct fs_state *fs)
{
	struct pt_inode *ino = fs->lru_tail;

	while (ino && fs->fdc_count > fs->fdc_max) {
		struct pt_inode *prev = ino->lru_prev;

		if (ino->pins == 0) {
			pt_lru_unlink(fs, ino);
			ino->fd = safe_close(ino->fd);
			fs->fdc_count--;
		}
		ino = prev;
	}
}

/* Caller holds fdc_mu; ino has no fd yet. */
static void pt_fdcache_insert(struct fs_state *fs, struct pt_inode *ino, int fd)
{
	ino->fd = fd;
	pt_lru_push(fs, ino);
	fs->fdc_count++;
	pt_fdcache_trim(fs);
}

void pt_fdcache_adopt(struct fs_state *fs, struct pt_inode *ino, int fd)
{
	pthread_mutex_lock(&fs->fdc_mu);
	pt_fdcache_insert(fs, ino, fd);
	pthread_mutex_unlock(&fs->fdc_mu);
}

/* Caller holds fdc_mu and ino has a fd: one more user, and it is the most recent. */
static void pt_fdcache_hit(struct fs_state *fs, struct pt_inode *ino)
{
	ino->pins++;
	if (fs->lru_head != ino) {
		pt_lru_unlink(fs, ino);
		pt_lru_push(fs, ino);
	}
}

int pt_inode_pin(struct fs_state *fs, const struct pt_inode *cino)
{
	struct pt_inode *ino = (struct pt_inode *)cino; /* only the fdc_mu fields change */
	int fd;

	if (!ino->fh)
		return 0;
	pthread_mutex_lock(&fs->fdc_mu);
	if (ino->fd >= 0) {
		pt_fdcache_hit(fs, ino);
		pthread_mutex_unlock(&fs->fdc_mu);
		return 0;
	}
	pthread_mutex_unlock(&fs->fdc_mu);

	/* The handle names the object itself, so O_PATH here follows nothing: a symlink's handle
	 * opens the symlink. -ESTALE once the object is gone from the host. */
	fd = open_by_handle_at(ino->mnt->fd, ino->fh, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return -errno;

	pthread_mutex_lock(&fs->fdc_mu);
	if (ino->fd >= 0) {
		/* Another op reopened it meanwhile: use theirs. */
		pt_fdcache_hit(fs, ino);
		pthread_mutex_unlock(&fs->fdc_mu);
		close(fd);
		return 0;
	}
	ino->pins++;
	pt_fdcache_insert(fs, ino, fd);
	pthread_mutex_unlock(&fs->fdc_mu);
	return 0;
}

void pt_inode_unpin(struct fs_state *fs, const struct pt_inode *cino)
{
	struct pt_inode *ino = (struct pt_inode *)cino;

	if (!ino->fh)
		return;
	pthread_mutex_lock(&fs->fdc_mu);
	ino->pins--;
	if (fs->fdc_count > fs->fdc_max)
		pt_fdcache_trim(fs);
	pthread_mutex_unlock(&fs->fdc_mu);
}

void pt_fh_inode_done(struct fs_state *fs, struct pt_inode *ino)
{
	if (!ino->fh)
		return;
	pthread_mutex_lock(&fs->fdc_mu);
	if (ino->fd >= 0) {
		pt_lru_unlink(fs, ino);
		ino->fd = safe_close(ino->fd);
		fs->fdc_count--;
	}
	pthread_mutex_unlock(&fs->fdc_mu);
	pt_mount_unref(fs, ino->mnt);
	ino->mnt = NULL;
	free(ino->fh);
	ino->fh = NULL;
}

/* Caller holds fdc_mu. */
static struct pt_mount *pt_mount_find(struct fs_state *fs, uint64_t mnt_id)
{
	for (struct pt_mount *m = fs->mounts; m; m = m->next)
		if (m->mnt_id == mnt_id)
			return m;
	return NULL;
}

/*
 * A directory fd on the mount of the inode being looked up: the inode itself, or its parent
 * when that is on the same mount and filesystem (a handle only decodes on its own superblock).
 */
static int pt_mount_open(struct fs_state *fs, int fd, const struct pt_inode *parent,
			 const struct statx *stx)
{
	int mfd, r;

	if (S_ISDIR(stx->stx_mode)) {
		mfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_CLOEXEC);
		return mfd < 0 ? -errno : mfd;
	}
	if (!parent || parent->mnt_id != pt_statx_mnt_id(stx) ||
	    parent->dev != makedev(stx->stx_dev_major, stx->stx_dev_minor))
		return -EXDEV; /* a non-directory mounted over a name: no directory to use */
	r = pt_inode_pin(fs, parent);
	if (r < 0)
		return r;
	mfd = openat(parent->fd, ".", O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_CLOEXEC);
	r = mfd < 0 ? -errno : mfd;
	pt_inode_unpin(fs, parent);
	return r;
}

/* mnt_id: from name_to_handle_at(), which has it on kernels whose statx() has not. */
static int pt_mount_get(struct fs_state *fs, int fd, const struct pt_inode *parent,
			const struct statx *stx, uint64_t mnt_id, struct pt_mount **ret)
{
	struct pt_mount *m;
	int mfd;

	pthread_mutex_lock(&fs->fdc_mu);
	m = pt_mount_find(fs, mnt_id);
	if (m)
		m->refs++;
	pthread_mutex_unlock(&fs->fdc_mu);
	if (m) {
		*ret = m;
		return 0;
	}

	if (pt_fd_charge(fs) < 0)
		return -ENFILE;
	mfd = pt_mount_open(fs, fd, parent, stx);
	m = mfd >= 0 ? calloc(1, sizeof(*m)) : NULL;
	if (!m) {
		pt_fd_uncharge(fs);
		if (mfd < 0)
			return mfd;
		close(mfd);
		return -ENOMEM;
	}
	m->mnt_id = mnt_id;
	m->fd = mfd;
	m->refs = 1;

	pthread_mutex_lock(&fs->fdc_mu);
	*ret = pt_mount_find(fs, mnt_id);
	if (*ret) {
		(*ret)->refs++;
	} else {
		m->next = fs->mounts;
		fs->mounts = m;
		*ret = TAKE_PTR(m);
	}
	pthread_mutex_unlock(&fs->fdc_mu);
	if (m) {
		/* Lost a race with another lookup on the same new mount. */
		close(m->fd);
		free(m);
		pt_fd_uncharge(fs);
	}
	return 0;
}

void pt_mount_unref(struct fs_state *fs, struct pt_mount *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&fs->fdc_mu);
	if (--m->refs > 0) {
		pthread_mutex_unlock(&fs->fdc_mu);
		return;
	}
	for (struct pt_mount **p = &fs->mounts; *p; p = &(*p)->next) {
		if (*p == m) {
			*p = m->next;
			break;
		}
	}
	pthread_mutex_unlock(&fs->fdc_mu);
	close(m->fd);
	free(m);
	pt_fd_uncharge(fs);
}

static int pt_fh_try(struct fs_state *fs, int fd, const struct pt_inode *parent,
		     const struct statx *stx, struct file_handle **ret_fh,
		     struct pt_mount **ret_mnt)
{
	_cleanup_free_ struct file_handle *fh = malloc(sizeof(*fh) + MAX_HANDLE_SZ);
	struct file_handle *small;
	int mount_id, r;

	if (!fh)
		return -ENOMEM;
	fh->handle_bytes = MAX_HANDLE_SZ;
	/* A plain (openable) handle of exactly the object the O_PATH fd pins. */
	if (name_to_handle_at(fd, "", fh, &mount_id, AT_EMPTY_PATH) < 0)
		return -errno;
	r = pt_mount_get(fs, fd, parent, stx, (uint64_t)(unsigned)mount_id, ret_mnt);
	if (r < 0)
		return r;
	small = realloc(fh, sizeof(*fh) + fh->handle_bytes);
	if (small)
		fh = small;
	*ret_fh = TAKE_PTR(fh);
	return 0;
}

int pt_fh_make(struct fs_state *fs, int fd, const struct pt_inode *parent, const struct statx *stx,
	       struct file_handle **ret_fh, struct pt_mount **ret_mnt)
{
	int r;

	*ret_fh = NULL;
	*ret_mnt = NULL;
	if (fs->cfg.inode_file_handles == PT_INODE_FH_NEVER)
		return 0;
	r = pt_fh_try(fs, fd, parent, stx, ret_fh, ret_mnt);
	if (r == 0 || fs->cfg.inode_file_handles == PT_INODE_FH_MANDATORY)
		return r;
	/* prefer: e.g. EOPNOTSUPP from a filesystem without handles; hold an O_PATH fd. */
	log_ratelimited(LOG_LEVEL_DEBUG, "passthrough: no file handle (%s), using an O_PATH fd",
			strerror(-r));
	return 0;
}
