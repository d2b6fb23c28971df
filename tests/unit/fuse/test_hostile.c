// SPDX-License-Identifier: GPL-2.0-or-later
/* Hostile requests: each gets an error reply (or none), never a crash or an overrun. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"

#define HDR sizeof(struct fuse_out_header)

static struct fuse_server *srv;

static void set_len(struct rq *q, uint32_t len)
{
	memcpy(q->buf, &len, sizeof(len));
}

static int lookup_error(const void *name, size_t n)
{
	rq_init(&rq, FUSE_LOOKUP, 1, 300);
	rq_add(&rq, name, n);
	mock.calls = 0;
	send_rq(srv, &rq, 4096, &rep);
	CHECK_EQ(rep.oh.unique, 300);
	if (rep.oh.error)
		CHECK_EQ(mock.calls, 0);
	return rep.oh.error;
}

static void test_framing(void)
{
	struct fuse_getattr_in gi = {0};
	uint8_t zeros[64] = {0};

	/* No header: EIO with unique 0 when an out_header fits, else nothing. */
	CHECK_EQ(send_raw(srv, zeros, 0, 4096, &rep), HDR);
	CHECK(rep.oh.error == -EIO && rep.oh.unique == 0 && rep.oh.len == HDR);
	rq_init(&rq, FUSE_GETATTR, 1, 301);
	CHECK_EQ(send_raw(srv, rq.buf, 39, 4096, &rep), HDR);
	CHECK_EQ(rep.oh.error, -EIO);
	CHECK_EQ(send_raw(srv, rq.buf, 39, HDR - 1, &rep), 0);

	/* in.len larger than the request, or smaller than a header. */
	rq_init(&rq, FUSE_GETATTR, 1, 302);
	rq_add(&rq, &gi, sizeof(gi));
	set_len(&rq, (uint32_t)rq.len + 1);
	send_raw(srv, rq.buf, rq.len, 4096, &rep);
	CHECK(rep.oh.error == -EINVAL && rep.oh.unique == 302);
	set_len(&rq, 0xffffffff);
	send_raw(srv, rq.buf, rq.len, 4096, &rep);
	CHECK_EQ(rep.oh.error, -EINVAL);
	set_len(&rq, 20);
	send_raw(srv, rq.buf, rq.len, 4096, &rep);
	CHECK_EQ(rep.oh.error, -EINVAL);
	/* Arguments shorter than the opcode needs (len says so). */
	set_len(&rq, (uint32_t)rq.len - 1);
	mock.calls = 0;
	send_raw(srv, rq.buf, rq.len, 4096, &rep);
	CHECK_EQ(rep.oh.error, -EINVAL);
	CHECK_EQ(mock.calls, 0);

	/* Unknown opcodes. */
	rq_init(&rq, 0, 1, 303);
	send_rq(srv, &rq, 4096, &rep);
	CHECK_EQ(rep.oh.error, -ENOSYS);
	rq_init(&rq, 0xffffffff, 1, 304);
	rq_add(&rq, zeros, sizeof(zeros));
	send_rq(srv, &rq, 4096, &rep);
	CHECK_EQ(rep.oh.error, -ENOSYS);
	rq_init(&rq, CUSE_INIT, 1, 305);
	send_rq(srv, &rq, 4096, &rep);
	CHECK_EQ(rep.oh.error, -ENOSYS);

	/* Reply room: too small for the fixed reply → EIO before the backend runs. */
	rq_init(&rq, FUSE_LOOKUP, 1, 306);
	rq_str(&rq, "x");
	mock.calls = 0;
	send_rq(srv, &rq, HDR + 50, &rep);
	CHECK_EQ(rep.oh.error, -EIO);
	CHECK_EQ(rep.written, HDR);
	CHECK_EQ(mock.calls, 0);
	CHECK_EQ(send_rq(srv, &rq, HDR - 1, &rep), 0);
	CHECK_EQ(send_rq(srv, &rq, 0, &rep), 0);
	CHECK_EQ(mock.calls, 0);
}

static void test_names(void)
{
	char longname[300];

	CHECK_EQ(lookup_error("ok", 3), 0);
	CHECK_EQ(lookup_error("abc", 3), -EINVAL); /* no NUL */
	CHECK_EQ(lookup_error("", 1), -EINVAL);
	CHECK_EQ(lookup_error(".", 2), -EINVAL);
	CHECK_EQ(lookup_error("..", 3), -EINVAL);
	CHECK_EQ(lookup_error("a/b", 4), -EINVAL);
	CHECK_EQ(lookup_error("/", 2), -EINVAL);
	CHECK_EQ(lookup_error("...", 4), 0);
	CHECK_EQ(lookup_error("", 0), -EINVAL);
	memset(longname, 'n', sizeof(longname));
	longname[255] = 0;
	CHECK_EQ(lookup_error(longname, 256), 0);
	longname[255] = 'n';
	longname[256] = 0;
	CHECK_EQ(lookup_error(longname, 257), -ENAMETOOLONG);
	CHECK_EQ(lookup_error(longname, 200), -EINVAL);

	/* The NUL lies beyond in.len: the name is unterminated within the request. */
	rq_init(&rq, FUSE_LOOKUP, 1, 310);
	rq_str(&rq, "abc");
	rq_fix_len(&rq);
	set_len(&rq, (uint32_t)rq.len - 1);
	send_raw(srv, rq.buf, rq.len, 4096, &rep);
	CHECK_EQ(rep.oh.error, -EINVAL);

	/* Symlink: empty or unterminated target, bad second name of a rename. */
	rq_init(&rq, FUSE_SYMLINK, 1, 311);
	rq_str(&rq, "l");
	rq_str(&rq, "");
	send_rq(srv, &rq, 4096, &rep);
	CHECK_EQ(rep.oh.error, -EINVAL);
	rq_init(&rq, FUSE_SYMLINK, 1, 312);
	rq_str(&rq, "l");
	rq_add(&rq, "tgt", 3);
	send_rq(srv, &rq, 4096, &rep);
	CHECK_EQ(rep.oh.error, -EINVAL);
	{
		struct fuse_rename_in ri = {.newdir = 1};

		rq_init(&rq, FUSE_RENAME, 1, 313);
		rq_add(&rq, &ri, sizeof(ri));
		rq_str(&rq, "a");
		rq_str(&rq, "..");
		mock.calls = 0;
		send_rq(srv, &rq, 4096, &rep);
		CHECK_EQ(rep.oh.error, -EINVAL);
		CHECK_EQ(mock.calls, 0);
	}
}

static void test_sizes(void)
{
	struct fuse_read_in ri = {.size = (1 << 20) + 1};
	struct fuse_write_in wi = {.size = 100};
	struct fuse_batch_forget_in bi = {.count = 3};
	struct fuse_forget_one one[2] = {{10, 1}, {11, 2}};

	rq_init(&rq, FUSE_READ, 5, 320);
	rq_add(&rq, &ri, sizeof(ri));
	send_rq(srv, &rq, (2 << 20), &rep);
	CHECK_EQ(rep.oh.error, -EINVAL);
	ri.size = 4096;
	send_rq(srv, &rq, HDR + 4095, &rep); /* stale bytes: rq_add'd before the edit */
	CHECK_EQ(rep.oh.error, -EINVAL);
	rq_init(&rq, FUSE_READ, 5, 321);
	rq_add(&rq, &ri, sizeof(ri));
	send_rq(srv, &rq, HDR + 4095, &rep);
	CHECK_EQ(rep.oh.error, -EIO);
	ri.offset = 1ull << 63;
	rq_init(&rq, FUSE_READ, 5, 322);
	rq_add(&rq, &ri, sizeof(ri));
	send_rq(srv, &rq, HDR + 4096, &rep);
	CHECK_EQ(rep.oh.error, -EINVAL);

	rq_init(&rq, FUSE_WRITE, 5, 323);
	rq_add(&rq, &wi, sizeof(wi));
	{
		uint8_t payload[99] = {0};

		rq_add(&rq, payload, sizeof(payload)); /* one byte short of wi.size */
	}
	mock.calls = 0;
	send_rq(srv, &rq, 4096, &rep);
	CHECK_EQ(rep.oh.error, -EINVAL);
	wi.size = (1 << 20) + 1;
	rq_init(&rq, FUSE_WRITE, 5, 324);
	rq_add(&rq, &wi, sizeof(wi));
	send_rq(srv, &rq, 4096, &rep);
	CHECK_EQ(rep.oh.error, -EINVAL);
	CHECK_EQ(mock.calls, 0);

	/* BATCH_FORGET claiming more entries than present: dropped, no reply. */
	rq_init(&rq, FUSE_BATCH_FORGET, 0, 325);
	rq_add(&rq, &bi, sizeof(bi));
	rq_add(&rq, one, sizeof(one));
	mock.forget_calls = 0;
	CHECK_EQ(send_rq(srv, &rq, 4096, &rep), 0);
	CHECK_EQ(mock.forget_calls, 0);
	bi.count = 0xffffffff;
	rq_init(&rq, FUSE_BATCH_FORGET, 0, 326);
	rq_add(&rq, &bi, sizeof(bi));
	CHECK_EQ(send_rq(srv, &rq, 4096, &rep), 0);
	CHECK_EQ(mock.forget_calls, 0);
	/* FORGET too short: still no reply. */
	rq_init(&rq, FUSE_FORGET, 3, 327);
	rq_add(&rq, &bi, 4);
	CHECK_EQ(send_rq(srv, &rq, 4096, &rep), 0);
	CHECK_EQ(mock.forget_calls, 0);
}

/* Random garbage after a valid header: any outcome but a crash, an overrun or a bad frame. */
static void test_random(void)
{
	static const uint32_t ops[] = {1,  3,  4,  5,  6,  8,  9,  10, 11, 12, 13, 14, 15,
				       16, 17, 18, 20, 21, 22, 23, 24, 25, 27, 28, 29, 30,
				       31, 32, 34, 35, 39, 43, 44, 45, 46, 47, 50, 51};
	uint8_t junk[600];
	unsigned seed = 12345;

	mock.data_len = 100;
	for (int i = 0; i < 20000; i++) {
		size_t n = (size_t)rand_r(&seed) % sizeof(junk);
		size_t room = (size_t)rand_r(&seed) % 5000;

		for (size_t j = 0; j < n; j++)
			junk[j] = (uint8_t)(rand_r(&seed) % 4 ? rand_r(&seed) : 0);
		rq_init(&rq, ops[(unsigned)rand_r(&seed) % (sizeof(ops) / sizeof(ops[0]))], 1,
			(uint64_t)i);
		rq_add(&rq, junk, n);
		send_rq(srv, &rq, room, &rep);
		CHECK(rep.handled == FUSE_REPLIED);
		CHECK(rep.written <= room);
		if (rep.written) {
			CHECK_EQ(rep.oh.len, rep.written);
			CHECK_EQ(rep.oh.unique, (uint64_t)i);
			CHECK(rep.oh.error <= 0 && rep.oh.error > -4096);
		}
	}
}

int main(void)
{
	struct fuse_server_config cfg;

	fuse_server_config_default(&cfg);
	cfg.xattr = true;
	cfg.posix_locks = false; /* SETLKW deferral is tested in test_lock.c */
	for (int pass = 0; pass < 2; pass++) {
		split_mode = pass ? SPLIT_ODD : SPLIT_ONE;
		srv = new_server(&cfg);
		CHECK_EQ(do_init(srv, 38, 0xffffffffffffffffull, true, NULL), 0);
		mock.entry.nodeid = 2;
		test_framing();
		test_names();
		test_sizes();
		test_random();
		fuse_server_free(srv);
	}
	return check_report("fuse-hostile");
}
