// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * POSIX record locks and flock(2) locks, and the waiters that serve blocking SETLKW.
 *
 * A blocking lock request first tries without sleeping. On conflict it is handed to a waiter
 * thread (at most FUSE_MAX_LOCK_WAITERS at once) that sleeps in the backend and completes the
 * request later. The waiter owns copies of everything it needs; of the request it only keeps
 * the writable iovecs, which the transport keeps valid until complete(). INTERRUPT and reset
 * wake a waiter with a signal whose handler does nothing and has no SA_RESTART, so the
 * backend's blocking call fails with EINTR.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>

#include "fuse/fuse_internal.h"
#include "util/clock.h"

enum waiter_cancel {
	WAITER_RUN = 0,
	WAITER_INTERRUPT, /* the guest gave up: reply EINTR */
	WAITER_RESET,	  /* the session is ending: complete without a reply */
};

struct fuse_waiter {
	struct fuse_waiter *next;
	struct fuse_server *srv;
	pthread_t thread;
	uint64_t unique;
	enum waiter_cancel cancel; /* guarded by waiters.lock */
	struct fs_ctx ctx;
	gid_t groups[FUSE_MAX_SUPP_GROUPS];
	uint64_t nodeid, fh, owner;
	bool is_flock;
	int flock_op;
	struct fs_lock lk;
	struct iovec *out;
	unsigned out_cnt;
	void *cookie;
};

static pthread_once_t wake_once = PTHREAD_ONCE_INIT;
static int wake_install_result;

static void wake_handler(int sig)
{
	/* Only there so that a blocked syscall returns EINTR. */
}

static void wake_install(void)
{
	struct sigaction sa = {.sa_handler = wake_handler, .sa_flags = 0};

	sigemptyset(&sa.sa_mask);
	wake_install_result = sigaction(SIGRTMIN, &sa, NULL) < 0 ? -errno : 0;
}

int fuse_waiters_init(struct fuse_waiters *ws)
{
	int r;

	pthread_once(&wake_once, wake_install);
	if (wake_install_result < 0)
		return wake_install_result;
	memset(ws, 0, sizeof(*ws));
	r = pthread_mutex_init(&ws->lock, NULL);
	if (r)
		return -r;
	r = cond_init_monotonic(&ws->cond);
	if (r) {
		pthread_mutex_destroy(&ws->lock);
		return -r;
	}
	return 0;
}

void fuse_waiters_done(struct fuse_waiters *ws)
{
	pthread_cond_destroy(&ws->cond);
	pthread_mutex_destroy(&ws->lock);
}

static void wait_a_little(struct fuse_waiters *ws, long ms)
{
	cond_wait_ms(&ws->cond, &ws->lock, ms);
}

static struct fuse_waiter *find_active(struct fuse_waiters *ws, uint64_t unique)
{
	for (struct fuse_waiter *w = ws->active; w; w = w->next)
		if (w->unique == unique)
			return w;
	return NULL;
}

static void unlink_active(struct fuse_waiters *ws, struct fuse_waiter *w)
{
	for (struct fuse_waiter **p = &ws->active; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			return;
		}
}

static void waiter_free(struct fuse_waiter *w)
{
	free(w->out);
	free(w);
}

/* Joins the waiters that finished; their threads are exiting or gone. */
static void reap_finished(struct fuse_waiters *ws)
{
	struct fuse_waiter *list, *next;
	unsigned n = 0;

	pthread_mutex_lock(&ws->lock);
	list = TAKE_PTR(ws->finished);
	pthread_mutex_unlock(&ws->lock);
	for (struct fuse_waiter *w = list; w; w = next) {
		next = w->next;
		pthread_join(w->thread, NULL);
		waiter_free(w);
		n++;
	}
	pthread_mutex_lock(&ws->lock);
	ws->count -= n;
	pthread_mutex_unlock(&ws->lock);
}

static int lock_call(struct fuse_server *srv, const struct fs_ctx *ctx, uint64_t nodeid,
		     uint64_t fh, uint64_t owner, bool is_flock, int flock_op,
		     const struct fs_lock *lk, bool sleep)
{
	const struct fs_ops *ops = srv->be->ops;

	if (is_flock)
		return ops->flock ? ops->flock(srv->be->fs, ctx, nodeid, fh, flock_op, sleep)
				  : -ENOSYS;
	return ops->setlk ? ops->setlk(srv->be->fs, ctx, nodeid, fh, owner, lk, sleep) : -ENOSYS;
}

static enum waiter_cancel waiter_state(struct fuse_waiter *w)
{
	enum waiter_cancel c;

	pthread_mutex_lock(&w->srv->waiters.lock);
	c = w->cancel;
	pthread_mutex_unlock(&w->srv->waiters.lock);
	return c;
}

static void *waiter_main(void *arg)
{
	struct fuse_waiter *w = arg;
	struct fuse_waiters *ws = &w->srv->waiters;
	size_t written = 0;
	sigset_t set;
	int r = -EINTR;

	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	if (waiter_state(w) == WAITER_RUN)
		r = lock_call(w->srv, &w->ctx, w->nodeid, w->fh, w->owner, w->is_flock, w->flock_op,
			      &w->lk, true);
	/* A lock taken despite a late reset is dropped by the backend's destroy(). */
	if (waiter_state(w) != WAITER_RESET)
		written = fuse_write_header(w->out, w->out_cnt, w->unique, r < 0 ? r : 0, 0);
	w->srv->complete(w->cookie, written);

	pthread_mutex_lock(&ws->lock);
	unlink_active(ws, w);
	w->next = ws->finished;
	ws->finished = w;
	pthread_cond_broadcast(&ws->cond);
	pthread_mutex_unlock(&ws->lock);
	return NULL;
}

/* Under ws->lock: consumes an INTERRUPT that arrived before its request was deferred. */
static bool take_early_interrupt(struct fuse_waiters *ws, uint64_t unique)
{
	for (size_t i = 0; i < ARRAY_SIZE(ws->early_interrupts); i++)
		if (ws->early_valid[i] && ws->early_interrupts[i] == unique) {
			ws->early_valid[i] = false;
			return true;
		}
	return false;
}

static int start_waiter(struct fuse_waiters *ws, struct fuse_waiter *w)
{
	sigset_t all, old;
	int r;

	if (take_early_interrupt(ws, w->unique))
		return -EINTR;
	if (ws->count >= FUSE_MAX_LOCK_WAITERS)
		return -ENOLCK;
	/* The waiter starts with every signal blocked and unblocks only the wake signal, so
	 * process signals keep going to the threads that expect them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&w->thread, NULL, waiter_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r)
		return -ENOLCK;
	w->next = ws->active;
	ws->active = w;
	ws->count++;
	return 0;
}

static int defer(struct fuse_req *req, const struct fuse_lk_in *in, bool is_flock, int flock_op,
		 const struct fs_lock *lk)
{
	struct fuse_waiters *ws = &req->srv->waiters;
	struct fuse_waiter *w;
	int r;

	reap_finished(ws);
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOLCK;
	w->out = calloc(req->out_cnt ? req->out_cnt : 1, sizeof(*w->out));
	if (!w->out) {
		free(w);
		return -ENOLCK;
	}
	memcpy(w->out, req->out, req->out_cnt * sizeof(*w->out));
	w->out_cnt = req->out_cnt;
	w->srv = req->srv;
	w->unique = req->unique;
	w->cookie = req->cookie;
	w->nodeid = req->nodeid;
	w->fh = in->fh;
	w->owner = in->owner;
	w->is_flock = is_flock;
	w->flock_op = flock_op;
	w->lk = *lk;
	w->ctx = req->ctx;
	memcpy(w->groups, req->groups, sizeof(w->groups));
	w->ctx.groups = w->groups;

	pthread_mutex_lock(&ws->lock);
	r = start_waiter(ws, w);
	pthread_mutex_unlock(&ws->lock);
	if (r < 0) {
		waiter_free(w);
		return r;
	}
	return FUSE_OP_DEFERRED;
}

static int decode_lock(struct fuse_req *req, const struct fuse_lk_in *in, struct fs_lock *lk)
{
	const struct fuse_file_lock *g = &in->lk;

	if ((g->type != F_RDLCK && g->type != F_WRLCK && g->type != F_UNLCK) ||
	    g->start > (uint64_t)INT64_MAX || g->end > (uint64_t)INT64_MAX || g->start > g->end) {
		fuse_log_guest(req, "bad lock type %u or range", g->type);
		return -EINVAL;
	}
	*lk = (struct fs_lock){.type = (int)g->type, .start = g->start, .end = g->end};
	return 0;
}

int fuse_op_getlk(struct fuse_req *req)
{
	struct fuse_lk_in in;
	struct fuse_lk_out o = {0};
	struct fs_lock lk;
	int r;

	r = fuse_read_args(req, &in, sizeof(in));
	if (r < 0)
		return r;
	if (in.lk_flags & FUSE_LK_FLOCK)
		return -EINVAL; /* flock(2) has no query */
	r = decode_lock(req, &in, &lk);
	if (r < 0)
		return r;
	if (!FUSE_BE_OP(req, getlk))
		return -ENOSYS;
	r = FUSE_BE_OP(req, getlk)(FUSE_BE_FS(req), &req->ctx, req->nodeid, in.fh, in.owner, &lk);
	if (r < 0)
		return r;
	o.lk.type = (uint32_t)lk.type;
	o.lk.start = lk.start;
	o.lk.end = lk.end;
	o.lk.pid = lk.pid > 0 ? (uint32_t)lk.pid : 0;
	return fuse_reply(req, &o, sizeof(o));
}

int fuse_op_setlk(struct fuse_req *req)
{
	struct fuse_lk_in in;
	struct fs_lock lk;
	bool is_flock;
	int op = 0, r;

	r = fuse_read_args(req, &in, sizeof(in));
	if (r < 0)
		return r;
	r = decode_lock(req, &in, &lk);
	if (r < 0)
		return r;
	is_flock = (in.lk_flags & FUSE_LK_FLOCK) != 0;
	if (is_flock)
		op = lk.type == F_RDLCK ? LOCK_SH : lk.type == F_WRLCK ? LOCK_EX : LOCK_UN;
	r = lock_call(req->srv, &req->ctx, req->nodeid, in.fh, in.owner, is_flock, op, &lk, false);
	if (r != -EAGAIN || req->opcode != FUSE_SETLKW || lk.type == F_UNLCK)
		return r;
	return defer(req, &in, is_flock, op, &lk);
}

int fuse_op_interrupt(struct fuse_req *req)
{
	struct fuse_waiters *ws = &req->srv->waiters;
	struct fuse_interrupt_in in;
	struct fuse_waiter *w;
	unsigned tries = 0;

	if (fuse_read_args(req, &in, sizeof(in)) < 0)
		return FUSE_OP_NO_REPLY;
	pthread_mutex_lock(&ws->lock);
	w = find_active(ws, in.unique);
	if (!w) {
		/* Maybe the request is still on its way through another queue. */
		ws->early_interrupts[ws->early_next] = in.unique;
		ws->early_valid[ws->early_next] = true;
		ws->early_next = (ws->early_next + 1) % ARRAY_SIZE(ws->early_interrupts);
	} else {
		w->cancel = WAITER_INTERRUPT;
	}
	/* A signal that lands before the waiter enters its blocking call is lost, so repeat
	 * until it is done (bounded: an INTERRUPT is best effort). Re-find it every time: once
	 * finished it may be reaped and freed. */
	while ((w = find_active(ws, in.unique)) && tries++ < 100) {
		pthread_kill(w->thread, SIGRTMIN);
		wait_a_little(ws, 2);
	}
	pthread_mutex_unlock(&ws->lock);
	return FUSE_OP_NO_REPLY;
}

void fuse_waiters_cancel_all(struct fuse_server *srv)
{
	struct fuse_waiters *ws = &srv->waiters;

	pthread_mutex_lock(&ws->lock);
	for (struct fuse_waiter *w = ws->active; w; w = w->next)
		w->cancel = WAITER_RESET;
	while (ws->active) {
		for (struct fuse_waiter *w = ws->active; w; w = w->next)
			pthread_kill(w->thread, SIGRTMIN);
		wait_a_little(ws, 5);
	}
	memset(ws->early_valid, 0, sizeof(ws->early_valid));
	pthread_mutex_unlock(&ws->lock);
	reap_finished(ws);
}
