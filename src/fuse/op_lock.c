// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * POSIX record locks and flock(2) locks: GETLK, SETLK, SETLKW, and INTERRUPT.
 *
 * A blocking lock request first tries without sleeping. On conflict it is handed to the lock
 * waiter service (lock_wait.h), which makes the blocking call on a thread of its own and has the
 * request answered later; INTERRUPT goes to the same service.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>

#include "fuse/fuse_internal.h"

/* A blocking lock request handed to a waiter (lock_wait.h): copies of its arguments, and of
 * the writable iovecs, which the transport keeps valid until complete(). */
struct lock_job {
	struct fuse_server *srv;
	uint64_t unique;
	struct fs_ctx ctx;
	gid_t groups[FUSE_MAX_SUPP_GROUPS];
	uint64_t nodeid, fh, owner;
	bool is_flock;
	int flock_op;
	struct fs_lock lk;
	struct iovec *out;
	unsigned out_cnt;
	void *cookie;
	uint64_t start_ns;
};

static void lock_job_free(struct lock_job *j)
{
	free(j->out);
	free(j);
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

/* On the waiter's thread. */
static int lock_job_wait(void *arg)
{
	struct lock_job *j = arg;

	return lock_call(j->srv, &j->ctx, j->nodeid, j->fh, j->owner, j->is_flock, j->flock_op,
			 &j->lk, true);
}

static void lock_job_answer(void *arg, int r, bool reset)
{
	struct lock_job *j = arg;
	size_t written = 0;

	if (!reset)
		written = fuse_write_header(j->out, j->out_cnt, j->unique, r < 0 ? r : 0, 0);
	/* The time is the whole wait, from the request's arrival. */
	fuse_log_request(FUSE_SETLKW, j->nodeid, j->unique,
			 reset	 ? FUSE_OP_NO_REPLY
			 : r < 0 ? r
				 : 0,
			 j->start_ns);
	j->srv->complete(j->cookie, written);
	lock_job_free(j);
}

static int defer(struct fuse_req *req, const struct fuse_lk_in *in, bool is_flock, int flock_op,
		 const struct fs_lock *lk)
{
	_cleanup_free_ struct iovec *out = calloc(req->out_cnt ? req->out_cnt : 1, sizeof(*out));
	struct lock_job *j;
	int r;

	if (!out)
		return -ENOLCK;
	j = malloc(sizeof(*j));
	if (!j)
		return -ENOLCK;
	memcpy(out, req->out, req->out_cnt * sizeof(*out));
	*j = (struct lock_job){
		.srv = req->srv,
		.unique = req->unique,
		.ctx = req->ctx,
		.nodeid = req->nodeid,
		.fh = in->fh,
		.owner = in->owner,
		.is_flock = is_flock,
		.flock_op = flock_op,
		.lk = *lk,
		.out = TAKE_PTR(out),
		.out_cnt = req->out_cnt,
		.cookie = req->cookie,
		.start_ns = req->start_ns,
	};
	memcpy(j->groups, req->groups, sizeof(j->groups));
	j->ctx.groups = j->groups;

	r = fuse_lock_wait_start(&req->srv->waiters, j->unique, lock_job_wait, lock_job_answer, j);
	if (r < 0) {
		lock_job_free(j);
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
	struct fuse_interrupt_in in;

	if (fuse_read_args(req, &in, sizeof(in)) < 0)
		return FUSE_OP_NO_REPLY;
	fuse_lock_wait_interrupt(&req->srv->waiters, in.unique);
	return FUSE_OP_NO_REPLY;
}
