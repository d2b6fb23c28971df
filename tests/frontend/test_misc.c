/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The rest: SYNCFS, INTERRUPT of nothing, IOCTL, POLL, unknown opcodes, forged node ids, and the
 * asynchronous API with many requests in flight.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>
#include <string.h>

#include "fe_internal.h"
#include "harness.h"

static bool served(int r)
{
	return r != -ETIMEDOUT && r != -FE_EBADREPLY && r != -ECONNRESET;
}

static void test_syncfs(struct th *t)
{
	T_OK(t, fe_syncfs(t->fe, FE_ROOT_ID));
}

static void test_interrupt_unknown(struct th *t)
{
	uint32_t used = 0;
	struct fuse_attr_out a;

	T_OK(t, fe_interrupt(t->fe, 0x123456ull, &used));
	T_CHECK(t, used == 0 || used == sizeof(struct fuse_out_header));
	T_OK(t, fe_getattr(t->fe, FE_ROOT_ID, NULL, &a));
}

static void test_ioctl(struct th *t)
{
	uint64_t node, fh;
	struct fuse_ioctl_out out;
	uint32_t flags = 0;

	T_OK(t, th_create(t, FE_ROOT_ID, th_name(t, "ioctl"), &node, &fh));
	/* FS_IOC_GETFLAGS: either answered or a defined error, never a hang. */
	int r = fe_ioctl(t->fe, node, fh, 0, (uint32_t)FS_IOC_GETFLAGS, 0, NULL, 0, &flags,
			 sizeof(flags), &out);
	T_CHECK(t, r == 0 || r == -ENOTTY || r == -ENOSYS || r == -EOPNOTSUPP || r == -EINVAL ||
			   r == -EPERM);
	/* An unknown command and an unrestricted (CUSE-style) one must be refused. */
	r = fe_ioctl(t->fe, node, fh, 0, 0xdead1234u, 0, NULL, 0, NULL, 0, &out);
	T_CHECK(t, r < 0 && served(r));
	r = fe_ioctl(t->fe, node, fh, FUSE_IOCTL_UNRESTRICTED, 0x5401, 0, NULL, 0, NULL, 0, &out);
	T_CHECK(t, r < 0 && served(r));
	T_OK(t, fe_release(t->fe, node, fh, O_RDWR));
}

static void test_poll(struct th *t)
{
	uint64_t node, fh;
	uint32_t revents = 0;

	T_OK(t, th_create(t, FE_ROOT_ID, th_name(t, "poll"), &node, &fh));
	int r = fe_poll(t->fe, node, fh, 0, POLLIN | POLLOUT, &revents);
	T_CHECK(t, r == -ENOSYS || (r == 0 && (revents & (POLLIN | POLLOUT))));
	T_OK(t, fe_release(t->fe, node, fh, O_RDWR));
}

static void test_unknown_opcode(struct th *t)
{
	uint32_t ops[] = {9999, 0, 7 /* unused (was GETDIR) */, 48 /* SETUPMAPPING, no DAX */};
	uint8_t arg[64] = {0};
	struct iovec a = IOV(arg, sizeof(arg));
	struct fuse_attr_out at;

	for (unsigned i = 0; i < 4; i++) {
		int r = fe_fuse_call(t->fe, ops[i], FE_ROOT_ID, &a, 1, NULL, 0, NULL);
		if (i < 3)
			T_EQ(t, r, -ENOSYS);
		else
			T_CHECK(t, r < 0 && served(r));
	}
	T_OK(t, fe_getattr(t->fe, FE_ROOT_ID, NULL, &at));
}

/* Opcodes a passthrough daemon does not serve get ENOSYS (the guest then stops sending them):
 * BMAP (block maps of a device-backed fs), and the first number after 7.45's last opcode. */
static void test_enosys_opcodes(struct th *t)
{
	static const uint32_t ops[] = {FUSE_BMAP, 54};
	uint8_t arg[64] = {0};
	struct iovec a = IOV(arg, sizeof(arg));
	struct fuse_attr_out at;

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		T_EQ(t, fe_fuse_call(t->fe, ops[i], FE_ROOT_ID, &a, 1, NULL, 0, NULL), -ENOSYS);
	T_OK(t, fe_getattr(t->fe, FE_ROOT_ID, NULL, &at));
}

static void test_forged_nodeid(struct th *t)
{
	uint64_t bad[] = {0, 0xdeadbeefull, 0x7fffffffffffffffull, UINT64_MAX};
	struct fuse_attr_out a;
	struct fuse_entry_out e;
	struct fuse_open_out o;

	for (unsigned i = 0; i < 4; i++) {
		int r = fe_getattr(t->fe, bad[i], NULL, &a);
		T_CHECK(t, r < 0 && served(r));
		r = fe_lookup(t->fe, bad[i], "x", &e);
		T_CHECK(t, r < 0 && served(r));
		r = fe_open(t->fe, bad[i], O_RDONLY, &o);
		T_CHECK(t, r < 0 && served(r));
		r = fe_mkdir(t->fe, bad[i], "x", 0755, 0, &e);
		T_CHECK(t, r < 0 && served(r));
		r = fe_link(t->fe, bad[i], FE_ROOT_ID, th_name(t, "forged-link"), &e);
		T_CHECK(t, r < 0 && served(r));
	}
	T_OK(t, fe_getattr(t->fe, FE_ROOT_ID, NULL, &a));
}

/* Depth 32 on the request queue through the async API, completions in any order. */
static void test_async_depth(struct th *t)
{
	enum {
		DEPTH = 32
	};
	static struct fe_call calls[DEPTH];
	static struct fuse_attr_out out[DEPTH];
	static struct fuse_getattr_in in = {0};
	struct iovec a = IOVS(&in);
	bool done[DEPTH] = {false};
	int ndone = 0;
	uint64_t ino = 0; /* the root's, from whichever reply comes first */
	unsigned before = fe_inflight(t->fe, 1), missed = fe_missed_calls(t->fe);

	for (int i = 0; i < DEPTH; i++)
		T_OK(t, fe_fuse_submit(t->fe, &calls[i], 1, FUSE_GETATTR, FE_ROOT_ID, &a, 1,
				       &out[i], sizeof(out[i])));
	T_EQ(t, fe_inflight(t->fe, 1), before + DEPTH);
	for (int rounds = 0; rounds < 100 && ndone < DEPTH; rounds++) {
		struct fe_completion c[8];
		int n = fe_reap(t->fe, 1, c, 8, 2000);
		T_CHECK(t, n >= 0);
		if (n <= 0)
			break;
		for (int k = 0; k < n; k++) {
			struct fe_call *call = c[k].cookie;
			int idx = (int)(call - calls);
			T_CHECK(t, idx >= 0 && idx < DEPTH && !done[idx]);
			if (idx < 0 || idx >= DEPTH)
				continue;
			done[idx] = true;
			ndone++;
			T_EQ(t, c[k].len, sizeof(struct fuse_out_header) + sizeof(out[0]));
			T_EQ(t, call->oh.unique, call->ih.unique);
			T_EQ(t, call->oh.error, 0);
			if (ino == 0)
				ino = out[idx].attr.ino;
			T_EQ(t, out[idx].attr.ino, ino);
		}
	}
	T_EQ(t, ndone, DEPTH);
	T_EQ(t, fe_inflight(t->fe, 1), before);
	T_EQ(t, fe_missed_calls(t->fe), missed);
}

const struct th_test th_misc_tests[] = {
	{"syncfs", test_syncfs},
	{"interrupt-unknown-unique", test_interrupt_unknown},
	{"ioctl", test_ioctl},
	{"poll", test_poll},
	{"unknown-opcode", test_unknown_opcode},
	{"enosys-opcodes", test_enosys_opcodes},
	{"forged-nodeid", test_forged_nodeid},
	{"async-depth-32", test_async_depth},
	TH_TESTS_END,
};
