// SPDX-License-Identifier: GPL-2.0-or-later
/* POSIX and flock locks; SETLKW deferral, INTERRUPT and reset cancellation. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

#define HDR sizeof(struct fuse_out_header)

static struct fuse_server *srv;

static void lk_rq(uint32_t opcode, uint64_t unique, uint32_t type, uint64_t start, uint64_t end,
		  bool flock)
{
	struct fuse_lk_in in = {
		.fh = 9,
		.owner = 0x1234,
		.lk = {.start = start, .end = end, .type = type, .pid = 55},
		.lk_flags = flock ? FUSE_LK_FLOCK : 0,
	};

	rq_init(&rq, opcode, 17, unique);
	rq_add(&rq, &in, sizeof(in));
}

static void send_interrupt(uint64_t target)
{
	struct fuse_interrupt_in ii = {.unique = target};
	struct reply *r = malloc(sizeof(*r));

	rq_init(&rq, FUSE_INTERRUPT, 0, target | 1);
	rq_add(&rq, &ii, sizeof(ii));
	CHECK_EQ(send_rq(srv, &rq, 0, r), 0);
	free(r);
}

static void grant_lock(int result)
{
	uint64_t one = 1;

	mock.lock_result = result;
	CHECK_EQ(write(mock.lock_efd, &one, sizeof(one)), sizeof(one));
}

static void test_simple(void)
{
	struct fuse_lk_out lo;

	lk_rq(FUSE_GETLK, 400, F_RDLCK, 10, 19, false);
	send_rq(srv, &rq, 4096, &rep);
	CHECK_STREQ(mock.op, "getlk");
	CHECK(mock.lk.type == F_RDLCK && mock.lk.start == 10 && mock.lk.end == 19);
	CHECK_EQ(mock.owner, 0x1234);
	CHECK_EQ(rep.oh.len, HDR + sizeof(lo));
	memcpy(&lo, rep.data, sizeof(lo));
	CHECK(lo.lk.type == F_WRLCK && lo.lk.pid == 4242 && lo.lk.start == 10);

	lk_rq(FUSE_SETLK, 401, F_WRLCK, 0, INT64_MAX, false);
	send_rq(srv, &rq, 4096, &rep);
	CHECK(strcmp(mock.op, "setlk") == 0 && !mock.sleep);
	CHECK_EQ(mock.lk.end, INT64_MAX);
	CHECK_EQ(rep.written, HDR);
	CHECK_EQ(rep.oh.error, 0);

	lk_rq(FUSE_SETLK, 402, F_WRLCK, 0, 0, true);
	send_rq(srv, &rq, 4096, &rep);
	CHECK(strcmp(mock.op, "flock") == 0 && mock.flock_op == LOCK_EX);
	lk_rq(FUSE_SETLK, 403, F_RDLCK, 0, 0, true);
	send_rq(srv, &rq, 4096, &rep);
	CHECK_EQ(mock.flock_op, LOCK_SH);
	lk_rq(FUSE_SETLKW, 404, F_UNLCK, 0, 0, true);
	send_rq(srv, &rq, 4096, &rep);
	CHECK_EQ(mock.flock_op, LOCK_UN);

	/* Non-blocking conflict: EAGAIN, no waiter. */
	mock.setlk_conflict = true;
	lk_rq(FUSE_SETLK, 405, F_WRLCK, 0, 5, false);
	send_rq(srv, &rq, 4096, &rep);
	CHECK_EQ(rep.oh.error, -EAGAIN);
	CHECK(rep.handled == FUSE_REPLIED);
	mock.setlk_conflict = false;

	/* Malformed locks. */
	lk_rq(FUSE_SETLK, 406, 77, 0, 5, false);
	send_rq(srv, &rq, 4096, &rep);
	CHECK_EQ(rep.oh.error, -EINVAL);
	lk_rq(FUSE_SETLK, 407, F_RDLCK, 6, 5, false);
	send_rq(srv, &rq, 4096, &rep);
	CHECK_EQ(rep.oh.error, -EINVAL);
	lk_rq(FUSE_GETLK, 408, F_RDLCK, 0, 5, true);
	send_rq(srv, &rq, 4096, &rep);
	CHECK_EQ(rep.oh.error, -EINVAL);
}

static void test_deferred(bool flock)
{
	unsigned base = done_count;

	mock.setlk_conflict = true;
	lk_rq(FUSE_SETLKW, 500, F_WRLCK, 0, 100, flock);
	send_rq(srv, &rq, 4096, &rep);
	CHECK(rep.handled == FUSE_DEFERRED);
	CHECK_EQ(rep.written, 0);
	grant_lock(0);
	CHECK(wait_done(base + 1));
	CHECK_STREQ(mock.op, flock ? "flockw" : "setlkw");
	CHECK(mock.sleep);
	CHECK(done_cookie == (void *)(uintptr_t)(rep.slot + 1));
	gather_deferred(&rep);
	CHECK_EQ(rep.written, HDR);
	CHECK(rep.oh.error == 0 && rep.oh.unique == 500 && rep.oh.len == HDR);

	/* Backend error from the blocking call reaches the guest. */
	lk_rq(FUSE_SETLKW, 502, F_WRLCK, 0, 100, flock);
	send_rq(srv, &rq, 4096, &rep);
	CHECK(rep.handled == FUSE_DEFERRED);
	grant_lock(-EDEADLK);
	CHECK(wait_done(base + 2));
	gather_deferred(&rep);
	CHECK(rep.oh.error == -EDEADLK && rep.oh.unique == 502);
	mock.setlk_conflict = false;
}

static void test_interrupt(void)
{
	struct reply *held = malloc(sizeof(*held));
	unsigned base = done_count;

	mock.setlk_conflict = true;
	lk_rq(FUSE_SETLKW, 600, F_WRLCK, 0, 100, false);
	send_rq(srv, &rq, 4096, held);
	CHECK(held->handled == FUSE_DEFERRED);
	send_interrupt(999); /* unknown: no reply, remembered */
	send_interrupt(600);
	CHECK(wait_done(base + 1));
	gather_deferred(held);
	CHECK(held->oh.error == -EINTR && held->oh.unique == 600);

	/* INTERRUPT overtaking its request: the request fails at once. */
	send_interrupt(601);
	lk_rq(FUSE_SETLKW, 601, F_WRLCK, 0, 100, false);
	send_rq(srv, &rq, 4096, held);
	CHECK(held->handled == FUSE_REPLIED);
	CHECK_EQ(held->oh.error, -EINTR);
	mock.setlk_conflict = false;
	free(held);
}

/* Rings stopping: every waiting SETLKW is answered EINTR before the call returns; the session
 * goes on. */
static void test_answer_deferred(void)
{
	struct reply *held = malloc(sizeof(*held));
	unsigned base = done_count;

	mock.setlk_conflict = true;
	mock.destroy_calls = 0;
	for (unsigned i = 0; i < 2; i++) {
		lk_rq(FUSE_SETLKW, 650 + i, F_WRLCK, 0, 100, i == 1);
		send_rq(srv, &rq, 4096, held);
		CHECK(held->handled == FUSE_DEFERRED);
		fuse_server_answer_deferred(srv);
		CHECK_EQ(done_count, base + i + 1);
		gather_deferred(held);
		CHECK(held->oh.error == -EINTR && held->oh.unique == 650 + i);
	}
	CHECK_EQ(mock.destroy_calls, 0);
	fuse_server_answer_deferred(srv); /* none waiting: returns at once */
	CHECK_EQ(done_count, base + 2);
	mock.setlk_conflict = false;
	lk_rq(FUSE_SETLK, 660, F_WRLCK, 0, 100, false);
	send_rq(srv, &rq, 4096, held);
	CHECK_EQ(held->oh.error, 0);
	free(held);
}

static void test_reset_cancel(void)
{
	unsigned base = done_count;

	mock.setlk_conflict = true;
	for (unsigned i = 0; i < 3; i++) {
		lk_rq(FUSE_SETLKW, 700 + i, F_WRLCK, 0, 100, i == 1);
		send_rq(srv, &rq, 4096, &rep);
		CHECK(rep.handled == FUSE_DEFERRED);
	}
	mock.destroy_calls = 0;
	fuse_server_reset(srv);
	CHECK_EQ(done_count, base + 3);
	CHECK_EQ(done_written, 0);
	CHECK_EQ(mock.destroy_calls, 1);
	lk_rq(FUSE_SETLK, 710, F_WRLCK, 0, 100, false);
	send_rq(srv, &rq, 4096, &rep);
	CHECK_EQ(rep.oh.error, -EIO); /* session over */
	CHECK_EQ(do_init(srv, 38, 0xffffffffffffffffull, true, NULL), 0);

	/* The waiter cap: beyond it, ENOLCK. */
	base = done_count;
	for (unsigned i = 0; i < 64; i++) {
		lk_rq(FUSE_SETLKW, 800 + i, F_WRLCK, 0, 100, false);
		send_rq(srv, &rq, 0, &rep);
		CHECK(rep.handled == FUSE_DEFERRED);
	}
	lk_rq(FUSE_SETLKW, 900, F_WRLCK, 0, 100, false);
	send_rq(srv, &rq, 4096, &rep);
	CHECK(rep.handled == FUSE_REPLIED);
	CHECK_EQ(rep.oh.error, -ENOLCK);
	/* A second INIT cancels them too. */
	CHECK_EQ(do_init(srv, 38, 0xffffffffffffffffull, true, NULL), 0);
	CHECK_EQ(done_count, base + 64);
	mock.setlk_conflict = false;
}

int main(void)
{
	for (int pass = 0; pass < 2; pass++) {
		split_mode = pass ? SPLIT_ODD : SPLIT_ONE;
		srv = new_server(NULL);
		CHECK_EQ(do_init(srv, 38, 0xffffffffffffffffull, true, NULL), 0);
		test_simple();
		test_deferred(false);
		test_deferred(true);
		test_interrupt();
		test_answer_deferred();
		test_reset_cancel();
		fuse_server_free(srv);
	}
	return check_report("fuse-lock");
}
