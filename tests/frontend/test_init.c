/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * FUSE_INIT negotiation: current and older minors, the 16-byte INIT of pre-7.36 guests (and of
 * the Windows virtio-win driver at 7.31), refusal below 7.27. Each test leaves a 7.38 session.
 */
#include <errno.h>
#include <sys/stat.h>

#include "fuse/fuse_internal.h" /* INIT flags of 7.39-7.45 on a 7.38 <linux/fuse.h> */
#include "harness.h"

static void check_root(struct th *t)
{
	struct fuse_attr_out a;
	struct stat st;

	T_OK(t, fe_getattr(t->fe, FE_ROOT_ID, NULL, &a));
	T_OK(t, stat(t->share, &st));
	T_EQ(t, a.attr.ino, st.st_ino);
	T_CHECK(t, S_ISDIR(a.attr.mode));
}

static void init_minor(struct th *t, uint32_t minor, uint64_t flags, size_t in_size)
{
	struct fuse_init_out out;

	T_OK(t, fe_init_sized(t->fe, FUSE_KERNEL_VERSION, minor, flags, in_size, &out));
	T_EQ(t, out.major, FUSE_KERNEL_VERSION);
	T_CHECK(t, out.minor >= minor);
	/* The daemon may only enable what the guest offered. */
	uint64_t got = out.flags | (minor >= 36 ? (uint64_t)out.flags2 << 32 : 0);
	T_EQ(t, got & ~flags & ~(uint64_t)FUSE_INIT_EXT, 0);
	T_CHECK(t, out.max_write >= 4096);
	check_root(t);
}

static void restore(struct th *t)
{
	T_OK(t, fe_init(t->fe, 38, th_init_flags()));
}

static void test_init_38(struct th *t)
{
	init_minor(t, 38, th_init_flags(), 0);
	const struct fuse_init_out *o = fe_fuse_init_out(t->fe);
	if (o->flags & FUSE_MAX_PAGES)
		T_CHECK(t, o->max_pages > 0);
	if (o->flags & FUSE_MAP_ALIGNMENT)
		T_CHECK(t, o->map_alignment <= 21);
}

/* Linux 7.x: 7.45 and every INIT flag up to 7.45. We answer 7.38 (the guest then keeps 7.38's
 * layouts), accept none of the newer flags (op_init.c says why) and leave the 7.40+ reply
 * fields (max_stack_depth, request_timeout) zero. */
static void test_init_45(struct th *t)
{
	const uint64_t newer = FUSE_HAS_EXPIRE_ONLY | FUSE_DIRECT_IO_ALLOW_MMAP | FUSE_PASSTHROUGH |
			       FUSE_NO_EXPORT_SUPPORT | FUSE_HAS_RESEND | FUSE_ALLOW_IDMAP |
			       FUSE_OVER_IO_URING | FUSE_REQUEST_TIMEOUT;
	struct fuse_init_out out;

	T_OK(t, fe_init_sized(t->fe, FUSE_KERNEL_VERSION, 45, th_init_flags() | newer, 0, &out));
	T_EQ(t, out.minor, FUSE_OUR_MINOR);
	T_EQ(t, ((uint64_t)out.flags2 << 32) & newer, 0);
	T_CHECK(t, out.flags & FUSE_ASYNC_READ);
	for (size_t i = 0; i < sizeof(out.unused) / sizeof(out.unused[0]); i++)
		T_EQ(t, out.unused[i], 0);
	check_root(t);
	restore(t);
}

static void test_init_37(struct th *t)
{
	init_minor(t, 37, th_init_flags(), 0);
	restore(t);
}

/* virtio-win: 7.31, a 16-byte fuse_init_in, no flags2. */
static void test_init_31_short(struct th *t)
{
	uint64_t flags = FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_DO_READDIRPLUS |
			 FUSE_READDIRPLUS_AUTO | FUSE_MAX_PAGES;
	init_minor(t, 31, flags, 16);
	restore(t);
}

static void test_init_27(struct th *t)
{
	uint64_t flags = th_init_flags() & 0xffffffffu &
			 ~(uint64_t)(FUSE_SETXATTR_EXT | FUSE_INIT_EXT | FUSE_HANDLE_KILLPRIV_V2);
	init_minor(t, 27, flags & ((1ull << 26) - 1), 16);
	restore(t);
}

static void test_init_26_refused(struct th *t)
{
	struct fuse_init_out out;
	int r = fe_init_sized(t->fe, FUSE_KERNEL_VERSION, 26, FUSE_ASYNC_READ, 16, &out);
	T_CHECK(t, r < 0 && r != -ETIMEDOUT && r != -FE_EBADREPLY);
	/* Whatever the session state now, the daemon must still answer. */
	struct fuse_attr_out a;
	r = fe_getattr(t->fe, FE_ROOT_ID, NULL, &a);
	T_CHECK(t, r != -ETIMEDOUT && r != -FE_EBADREPLY);
	restore(t);
	check_root(t);
}

const struct th_test th_init_tests[] = {
	{"init-7.38", test_init_38},
	{"init-7.45", test_init_45},
	{"init-7.37", test_init_37},
	{"init-7.31-short", test_init_31_short},
	{"init-7.27", test_init_27},
	{"init-7.26-refused", test_init_26_refused},
	TH_TESTS_END,
};
