/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * POSIX and flock locks: GETLK, SETLK, SETLKW released by another owner's unlock, SETLKW
 * cancelled by INTERRUPT. Two lock owners on two open handles, as two guest processes.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>

#include "harness.h"

#define OWNER_A 0xa000000000000001ull
#define OWNER_B 0xb000000000000002ull
/* "To end of file", as the Linux guest sends it (OFFSET_MAX), not UINT64_MAX. */
#define OFFSET_MAX INT64_MAX

struct lockfile {
	uint64_t node, fha, fhb;
};

static void lock_setup(struct th *t, struct lockfile *l)
{
	struct fuse_open_out o;

	T_OK(t, th_create(t, FE_ROOT_ID, th_name(t, "lock"), &l->node, &l->fha));
	T_OK(t, fe_open(t->fe, l->node, O_RDWR, &o));
	l->fhb = o.fh;
}

static void lock_done(struct th *t, struct lockfile *l)
{
	T_OK(t, fe_release(t->fe, l->node, l->fha, O_RDWR));
	T_OK(t, fe_release(t->fe, l->node, l->fhb, O_RDWR));
}

static struct fuse_file_lock lk(uint32_t type, uint64_t start, uint64_t end, uint32_t pid)
{
	return (struct fuse_file_lock){.start = start, .end = end, .type = type, .pid = pid};
}

static void test_getlk_setlk(struct th *t)
{
	struct lockfile l;
	struct fuse_file_lock out, w = lk(F_WRLCK, 0, 99, 100);

	lock_setup(t, &l);
	T_OK(t, fe_getlk(t->fe, l.node, l.fha, OWNER_A, &w, &out));
	T_EQ(t, out.type, F_UNLCK);
	T_OK(t, fe_setlk(t->fe, l.node, l.fha, OWNER_A, &w, false, 0));
	struct fuse_file_lock q = lk(F_RDLCK, 50, 60, 200);
	T_OK(t, fe_getlk(t->fe, l.node, l.fhb, OWNER_B, &q, &out));
	T_EQ(t, out.type, F_WRLCK);
	T_CHECK(t, out.start <= 50 && out.end >= 60);
	T_EQ(t, fe_setlk(t->fe, l.node, l.fhb, OWNER_B, &q, false, 0), -EAGAIN);
	/* Outside the locked range: fine. */
	struct fuse_file_lock far = lk(F_WRLCK, 200, 300, 200);
	T_OK(t, fe_setlk(t->fe, l.node, l.fhb, OWNER_B, &far, false, 0));
	struct fuse_file_lock un = lk(F_UNLCK, 0, OFFSET_MAX, 100);
	T_OK(t, fe_setlk(t->fe, l.node, l.fha, OWNER_A, &un, false, 0));
	T_OK(t, fe_setlk(t->fe, l.node, l.fhb, OWNER_B, &q, false, 0));
	lock_done(t, &l);
}

static void test_flock(struct th *t)
{
	struct lockfile l;
	struct fuse_file_lock ex = lk(F_WRLCK, 0, OFFSET_MAX, 100);

	lock_setup(t, &l);
	T_OK(t, fe_setlk(t->fe, l.node, l.fha, OWNER_A, &ex, false, FUSE_LK_FLOCK));
	T_EQ(t, fe_setlk(t->fe, l.node, l.fhb, OWNER_B, &ex, false, FUSE_LK_FLOCK), -EAGAIN);
	struct fuse_file_lock un = lk(F_UNLCK, 0, OFFSET_MAX, 100);
	T_OK(t, fe_setlk(t->fe, l.node, l.fha, OWNER_A, &un, false, FUSE_LK_FLOCK));
	T_OK(t, fe_setlk(t->fe, l.node, l.fhb, OWNER_B, &ex, false, FUSE_LK_FLOCK));
	lock_done(t, &l);
}

/* Start B's blocking SETLKW behind A's lock; checks it has not completed after 300 ms. */
static int start_blocked(struct th *t, struct lockfile *l, struct fe_call *c, struct fuse_lk_in *in)
{
	struct fuse_file_lock w = lk(F_WRLCK, 0, 99, 100);
	int r = fe_setlk(t->fe, l->node, l->fha, OWNER_A, &w, false, 0);
	T_OK(t, r);
	if (r < 0)
		return r;
	*in = (struct fuse_lk_in){.fh = l->fhb, .owner = OWNER_B, .lk = lk(F_WRLCK, 10, 20, 200)};
	r = fe_setlk_submit(t->fe, c, in, l->node, true);
	T_OK(t, r);
	if (r < 0)
		return r;
	struct fe_completion done;
	T_EQ(t, fe_reap(t->fe, c->queue, &done, 1, 300), 0);
	return 0;
}

static void test_setlkw_unlock(struct th *t)
{
	struct lockfile l;
	struct fe_call c;
	struct fuse_lk_in in;

	lock_setup(t, &l);
	if (start_blocked(t, &l, &c, &in) == 0) {
		/* A's unlock goes on the same queue the waiter sits on, as from a 1-queue guest. */
		fe_fuse_set_timeout(t->fe, 3000);
		struct fuse_file_lock un = lk(F_UNLCK, 0, OFFSET_MAX, 100);
		T_OK(t, fe_setlk(t->fe, l.node, l.fha, OWNER_A, &un, false, 0));
		T_OK(t, fe_fuse_complete(t->fe, &c, 3000, NULL));
		fe_fuse_set_timeout(t->fe, 10000);
		/* B holds it now. */
		struct fuse_file_lock q = lk(F_WRLCK, 15, 16, 100), out;
		T_OK(t, fe_getlk(t->fe, l.node, l.fha, OWNER_A, &q, &out));
		T_EQ(t, out.type, F_WRLCK);
	}
	lock_done(t, &l);
}

static void test_setlkw_interrupt(struct th *t)
{
	struct lockfile l;
	struct fe_call c;
	struct fuse_lk_in in;

	lock_setup(t, &l);
	if (start_blocked(t, &l, &c, &in) == 0) {
		uint32_t used = 0;
		T_OK(t, fe_interrupt(t->fe, c.ih.unique, &used));
		T_EQ(t, fe_fuse_complete(t->fe, &c, 3000, NULL), -EINTR);
		struct fuse_file_lock un = lk(F_UNLCK, 0, OFFSET_MAX, 100);
		T_OK(t, fe_setlk(t->fe, l.node, l.fha, OWNER_A, &un, false, 0));
	}
	lock_done(t, &l);
}

const struct th_test th_lock_tests[] = {
	{"getlk-setlk", test_getlk_setlk},
	{"setlk-flock", test_flock},
	{"setlkw-released-by-unlock", test_setlkw_unlock},
	{"setlkw-interrupted", test_setlkw_interrupt},
	TH_TESTS_END,
};
