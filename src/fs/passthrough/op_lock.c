// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * POSIX record locks and flock locks.
 *
 * Record locks belong to (inode, lock_owner) in the guest. Classic POSIX locks on the host would
 * all belong to this one process, so instead each guest owner gets its own open file
 * description of the inode and its locks are OFD locks on it: owners conflict with each other,
 * an owner never conflicts with itself, and closing that description (flush, i.e. the guest's
 * close()) drops exactly that owner's locks. OFD locks report no holder pid: getlk finds the
 * holding owner among ours (see pt_find_holder) and answers the guest pid that locked.
 *
 * flock locks belong to the open file description, i.e. to the handle: flock() on the handle's
 * own fd gives that, and release closes it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include "fs/passthrough/pt.h"
#include "fs/passthrough/pt_ops.h"
#include "util/log.h"

#define PT_OFFSET_MAX INT64_MAX

static int pt_lock_to_flock(const struct fs_lock *lk, struct flock *fl)
{
	if (lk->start > PT_OFFSET_MAX || lk->end < lk->start)
		return -EINVAL;
	*fl = (struct flock){
		.l_type = (short)lk->type,
		.l_whence = SEEK_SET,
		.l_start = (off_t)lk->start,
		/* 0 means "to the end of file, however it grows". */
		.l_len = lk->end >= PT_OFFSET_MAX ? 0 : (off_t)(lk->end - lk->start + 1),
	};
	return 0;
}

int pt_op_flush(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		uint64_t lock_owner)
{
	_cleanup_handle_ struct pt_handle_guard h = {fs, NULL};
	int r;

	r = pt_handle_get(fs, nodeid, fh, &h.h);
	if (r < 0)
		return r;
	pt_owner_remove(fs, h.h->inode, lock_owner);
	return 0;
}

static bool same_lock(const struct flock *a, const struct flock *b)
{
	return a->l_type == b->l_type && a->l_start == b->l_start && a->l_len == b->l_len;
}

/*
 * The guest pid holding `found`, the conflict F_OFD_GETLK reported for `query`. An owner's own
 * locks never conflict with a query through its own description, so the holder is the owner
 * through whose description `found` is no longer reported. 0 when the holder is not one of our
 * owners (another process on the host).
 */
static bool pt_find_holder(struct pt_inode *ino, uint64_t requester, const struct flock *query,
			   const struct flock *found, pid_t *ret_pid, uint64_t *ret_owner)
{
	bool hit = false;

	pthread_mutex_lock(&ino->locks_mu);
	for (struct pt_lock_owner *o = ino->owners; o; o = o->next) {
		struct flock fl = *query;

		if (o->owner == requester)
			continue;
		if (fcntl(o->fd, F_OFD_GETLK, &fl) == 0 && !same_lock(&fl, found)) {
			*ret_pid = atomic_load(&o->pid);
			*ret_owner = o->owner;
			hit = true;
			break;
		}
	}
	pthread_mutex_unlock(&ino->locks_mu);
	return hit;
}

/*
 * Deadlock detection for blocking record locks. The kernel detects deadlocks between classic
 * POSIX locks only, not OFD locks, and a virtio-fs guest cannot interrupt a blocked request, so
 * without this two guest processes waiting for each other would hang for good. Guest lock owners
 * are per process and the same on every inode, so one wait-for table spans all files: before a
 * waiter sleeps it follows "owner X waits for a lock held by owner Y" from the holder it waits
 * for; reaching itself means a cycle, answered with EDEADLK as a local filesystem would. Check
 * and registration happen under one mutex, so two owners that block at once cannot both miss
 * the cycle. Holders that are not our owners (host processes) end the chain.
 */
#define PT_MAX_LOCK_WAITERS 1024

struct pt_lock_wait {
	const struct fs_state *fs;
	uint64_t waiter, holder;
	bool used;
};

static pthread_mutex_t lock_wait_mu = PTHREAD_MUTEX_INITIALIZER;
static struct pt_lock_wait lock_waits[PT_MAX_LOCK_WAITERS];

static const struct pt_lock_wait *pt_wait_find(const struct fs_state *fs, uint64_t waiter)
{
	for (size_t i = 0; i < ARRAY_SIZE(lock_waits); i++)
		if (lock_waits[i].used && lock_waits[i].fs == fs && lock_waits[i].waiter == waiter)
			return &lock_waits[i];
	return NULL;
}

/* Registers waiter -> holder unless that closes a cycle; returns the slot, or -EDEADLK. */
static int pt_wait_register(const struct fs_state *fs, uint64_t waiter, uint64_t holder)
{
	int r = -ENOLCK;

	pthread_mutex_lock(&lock_wait_mu);
	for (uint64_t cur = holder, n = 0; n < PT_MAX_LOCK_WAITERS; n++) {
		const struct pt_lock_wait *w;

		if (cur == waiter) {
			r = -EDEADLK;
			goto out;
		}
		w = pt_wait_find(fs, cur);
		if (!w)
			break;
		cur = w->holder;
	}
	for (size_t i = 0; i < ARRAY_SIZE(lock_waits); i++) {
		if (!lock_waits[i].used) {
			lock_waits[i] = (struct pt_lock_wait){fs, waiter, holder, true};
			r = (int)i;
			break;
		}
	}
out:
	pthread_mutex_unlock(&lock_wait_mu);
	return r;
}

static void pt_wait_unregister(int slot)
{
	pthread_mutex_lock(&lock_wait_mu);
	lock_waits[slot].used = false;
	pthread_mutex_unlock(&lock_wait_mu);
}

/* A blocking lock: try, then register as a waiter (or refuse a deadlock), then sleep. */
static int pt_lock_wait(struct fs_state *fs, struct pt_inode *ino, struct pt_lock_owner *o,
			const struct flock *want)
{
	struct flock fl = *want, found = *want;
	uint64_t holder;
	pid_t pid;
	int slot, r;

	if (fcntl(o->fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	if (errno != EAGAIN && errno != EACCES)
		return -errno;
	if (fcntl(o->fd, F_OFD_GETLK, &found) < 0)
		return -errno;
	slot = -1;
	if (found.l_type != F_UNLCK && pt_find_holder(ino, o->owner, want, &found, &pid, &holder)) {
		slot = pt_wait_register(fs, o->owner, holder);
		if (slot == -EDEADLK)
			return slot;
	}
	/* No EINTR retry: a signal is how a blocked waiter is cancelled (INTERRUPT, reset). */
	fl = *want;
	r = fcntl(o->fd, F_OFD_SETLKW, &fl) < 0 ? -errno : 0;
	if (slot >= 0)
		pt_wait_unregister(slot);
	return r;
}

int pt_op_getlk(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		uint64_t lock_owner, struct fs_lock *lk)
{
	_cleanup_handle_ struct pt_handle_guard h = {fs, NULL};
	struct pt_lock_owner *o = NULL;
	struct flock fl, query;
	int r;

	r = pt_handle_get(fs, nodeid, fh, &h.h);
	if (r < 0)
		return r;
	if (lk->type != F_RDLCK && lk->type != F_WRLCK)
		return -EINVAL;
	r = pt_lock_to_flock(lk, &fl);
	if (r < 0)
		return r;
	query = fl;
	/* Ask through the owner's description so its own locks do not count as conflicts; an
	 * owner without one holds no locks, and the handle's fd (which never holds OFD locks)
	 * sees everybody's. */
	pt_owner_get(fs, h.h->inode, lock_owner, false, &o);
	r = fcntl(o ? o->fd : h.h->fd, F_OFD_GETLK, &fl);
	r = r < 0 ? -errno : 0;
	if (o)
		pt_owner_put(fs, o);
	if (r < 0)
		return r;
	lk->type = fl.l_type;
	if (fl.l_type != F_UNLCK) {
		uint64_t holder;
		pid_t pid = 0;

		lk->start = (uint64_t)fl.l_start;
		lk->end = fl.l_len == 0 ? PT_OFFSET_MAX : (uint64_t)(fl.l_start + fl.l_len - 1);
		pt_find_holder(h.h->inode, lock_owner, &query, &fl, &pid, &holder);
		lk->pid = pid;
	}
	return 0;
}

/*
 * After a migration, locks the guest held on the source are gone (they cannot move with the
 * VM): a new lock on a node or handle that had some gets ENOLCK rather than silently
 * succeeding beside a lock the guest believes it still holds. Unlocking still works.
 */
static int pt_locks_moved(const struct pt_handle *h)
{
	if (!h->locks_lost && !h->inode->locks_lost)
		return 0;
	log_ratelimited(LOG_LEVEL_WARN,
			"passthrough: lock request on node %llu refused: its locks were lost in a "
			"migration",
			(unsigned long long)h->inode->nodeid);
	return -ENOLCK;
}

/* POSIX: a read lock needs a readable, a write lock a writable open of the guest's. */
static int pt_lock_access(const struct pt_handle *h, int type)
{
	int acc = h->flags & O_ACCMODE;

	if (type == F_RDLCK && acc == O_WRONLY)
		return -EBADF;
	if (type == F_WRLCK && acc == O_RDONLY)
		return -EBADF;
	return 0;
}

int pt_op_setlk(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		uint64_t lock_owner, const struct fs_lock *lk, bool sleep)
{
	_cleanup_handle_ struct pt_handle_guard h = {fs, NULL};
	struct pt_lock_owner *o;
	struct flock fl;
	int r;

	r = pt_handle_get(fs, nodeid, fh, &h.h);
	if (r < 0)
		return r;
	if (lk->type != F_RDLCK && lk->type != F_WRLCK && lk->type != F_UNLCK)
		return -EINVAL;
	r = pt_lock_to_flock(lk, &fl);
	if (r < 0)
		return r;
	if (lk->type != F_UNLCK) {
		r = pt_lock_access(h.h, lk->type);
		if (r < 0)
			return r;
		r = pt_locks_moved(h.h);
		if (r < 0)
			return r;
	}
	r = pt_owner_get(fs, h.h->inode, lock_owner, lk->type != F_UNLCK, &o);
	if (r == -ENOENT)
		return 0; /* unlocking what was never locked */
	if (r < 0)
		return r;
	if (sleep && lk->type != F_UNLCK)
		r = pt_lock_wait(fs, h.h->inode, o, &fl);
	else
		r = fcntl(o->fd, F_OFD_SETLK, &fl) < 0 ? -errno : 0;
	if (r == 0 && lk->type != F_UNLCK)
		atomic_store(&o->pid, ctx->pid);
	pt_owner_put(fs, o);
	return r == -EACCES ? -EAGAIN : r;
}

int pt_op_flock(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh, int op,
		bool sleep)
{
	_cleanup_handle_ struct pt_handle_guard h = {fs, NULL};
	int r;

	r = pt_handle_get(fs, nodeid, fh, &h.h);
	if (r < 0)
		return r;
	if (op != LOCK_SH && op != LOCK_EX && op != LOCK_UN)
		return -EINVAL;
	if (op != LOCK_UN) {
		r = pt_locks_moved(h.h);
		if (r < 0)
			return r;
	}
	r = flock(h.h->fd, op | (sleep ? 0 : LOCK_NB));
	if (r < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (op != LOCK_UN)
		atomic_store(&h.h->flocked, true);
	return 0;
}
