/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hostile FUSE requests on a well-formed ring: every one must get an error reply with the
 * right errno (or, for no-reply ops, no reply), change nothing on the host, and leave the
 * session serving.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fe_internal.h"
#include "hostile.h"
#include "util/macros.h"

#define MAX_WRITE (1u << 20)

/* A request of raw bytes on queue 1 with `room` writable bytes; fills *oh from the reply. */
static int raw(struct th *t, const void *in, size_t in_len, size_t room, struct fuse_out_header *oh,
	       uint32_t *ret_used)
{
	static uint8_t out[4096];
	struct iovec i = IOV(in, in_len), o = IOV(out, room);

	memset(out, 0, sizeof(out));
	int r = fe_request(t->fe, 1, &i, 1, &o, room ? 1 : 0, ret_used, 5000);
	if (r == 0 && oh)
		memcpy(oh, out, sizeof(*oh));
	return r;
}

/* A header + args request whose in.len is `len` whatever the real size. */
static int lying(struct th *t, uint32_t opcode, uint64_t nodeid, const void *args, size_t args_len,
		 uint32_t len, struct fuse_out_header *oh)
{
	uint8_t buf[512];
	struct fuse_in_header ih = {
		.len = len, .opcode = opcode, .unique = 0x9000 + 2 * t->seq++, .nodeid = nodeid};
	uint32_t used = 0;

	memcpy(buf, &ih, sizeof(ih));
	memcpy(buf + sizeof(ih), args, args_len);
	int r = raw(t, buf, sizeof(ih) + args_len, 256, oh, &used);
	if (r < 0)
		return r;
	if (used != sizeof(*oh) || oh->len != sizeof(*oh) || oh->unique != ih.unique)
		return -FE_EBADREPLY;
	return oh->error;
}

static void test_short_header(struct th *t)
{
	struct fuse_in_header ih = {.len = sizeof(ih), .opcode = FUSE_GETATTR, .unique = 42};
	struct fuse_out_header oh;
	uint32_t used = 0;

	T_OK(t, raw(t, &ih, 20, 64, &oh, &used));
	/* No header, no unique to answer to: an error reply with unique 0. */
	T_EQ(t, used, sizeof(oh));
	T_EQ(t, oh.error, -EIO);
	T_EQ(t, oh.unique, 0);
	hx_expect_serving(t, 1);
}

static void test_len_lies(struct th *t)
{
	struct fuse_getattr_in ga = {0};
	struct fuse_out_header oh;
	const char name[] = "abcdef";

	/* Bigger than what is present. */
	T_EQ(t, lying(t, FUSE_GETATTR, FE_ROOT_ID, &ga, sizeof(ga), 4096, &oh), -EINVAL);
	T_EQ(t, lying(t, FUSE_GETATTR, FE_ROOT_ID, &ga, sizeof(ga), UINT32_MAX, &oh), -EINVAL);
	/* Smaller than the header. */
	T_EQ(t, lying(t, FUSE_GETATTR, FE_ROOT_ID, &ga, sizeof(ga), 10, &oh), -EINVAL);
	/* Cutting the op's fixed arguments. */
	T_EQ(t, lying(t, FUSE_GETATTR, FE_ROOT_ID, &ga, sizeof(ga), 40 + 4, &oh), -EINVAL);
	/* Cutting a name before its NUL: the NUL beyond in.len must not count. */
	T_EQ(t, lying(t, FUSE_LOOKUP, FE_ROOT_ID, name, sizeof(name), 40 + 3, &oh), -EINVAL);
	/* FORGET with a lying len gets no reply at all. */
	struct fuse_forget_in fi = {.nlookup = 1};
	struct fuse_in_header ih = {.len = 4096, .opcode = FUSE_FORGET, .nodeid = 5};
	uint8_t buf[64];
	uint32_t used = 1;
	memcpy(buf, &ih, sizeof(ih));
	memcpy(buf + sizeof(ih), &fi, sizeof(fi));
	struct iovec i = IOV(buf, sizeof(ih) + sizeof(fi));
	T_OK(t, fe_request(t->fe, 0, &i, 1, NULL, 0, &used, 5000));
	T_EQ(t, used, 0);
	hx_expect_serving(t, 1);
}

static void test_unknown_opcodes(struct th *t)
{
	static const uint32_t ops[] = {0,
				       2 /* FUSE_FORGET is 2; 0 and 54+ are unknown */,
				       54,
				       999,
				       4096 /* CUSE_INIT */,
				       0x7fffffff,
				       UINT32_MAX};
	struct fuse_out_header oh;
	uint8_t args[64] = {0};

	for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
		if (ops[i] == FUSE_FORGET)
			continue;
		T_EQ(t, lying(t, ops[i], FE_ROOT_ID, args, sizeof(args), 40 + sizeof(args), &oh),
		     -ENOSYS);
	}
	hx_expect_serving(t, 1);
}

/* The names no entry op may take; each must come back EINVAL or ENAMETOOLONG. */
static void test_bad_names(struct th *t)
{
	static char longname[300];
	const char *names[] = {"", ".", "..", "a/b", "/", "../../etc", longname};
	struct fuse_entry_out e;
	struct fuse_open_out o;
	struct fuse_out_header oh;
	uint64_t node;

	memset(longname, 'x', sizeof(longname) - 1);
	T_OK(t, mkdir(th_host(t, "nm"), 0755));
	T_OK(t, th_create(t, FE_ROOT_ID, "nm-file", &node, NULL));
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		const char *n = names[i];
		int want = strlen(n) > 255 ? -ENAMETOOLONG : -EINVAL;
		T_EQ(t, fe_lookup(t->fe, FE_ROOT_ID, n, &e), want);
		T_EQ(t, fe_mkdir(t->fe, FE_ROOT_ID, n, 0755, 0, &e), want);
		T_EQ(t, fe_mknod(t->fe, FE_ROOT_ID, n, S_IFREG | 0644, 0, 0, &e), want);
		T_EQ(t, fe_create(t->fe, FE_ROOT_ID, n, O_RDWR, S_IFREG | 0644, 0, &e, &o), want);
		T_EQ(t, fe_symlink(t->fe, FE_ROOT_ID, n, "target", &e), want);
		T_EQ(t, fe_link(t->fe, node, FE_ROOT_ID, n, &e), want);
		T_EQ(t, fe_unlink(t->fe, FE_ROOT_ID, n), want);
		T_EQ(t, fe_rmdir(t->fe, FE_ROOT_ID, n), want);
		T_EQ(t, fe_rename(t->fe, FE_ROOT_ID, "nm-file", FE_ROOT_ID, n), want);
		T_EQ(t, fe_rename(t->fe, FE_ROOT_ID, n, FE_ROOT_ID, "nm-x"), want);
	}
	/* "nm/sub" must not have been created through a '/' in a name. */
	T_EQ(t, fe_mkdir(t->fe, FE_ROOT_ID, "nm/sub", 0755, 0, &e), -EINVAL);
	T_CHECK(t, access(th_host(t, "nm/sub"), F_OK) < 0);
	T_CHECK(t, access(th_host(t, "nm-file"), F_OK) == 0);
	/* A name with no NUL anywhere in the request. */
	T_EQ(t, lying(t, FUSE_LOOKUP, FE_ROOT_ID, "nm-file", 7, 40 + 7, &oh), -EINVAL);
	T_EQ(t, lying(t, FUSE_UNLINK, FE_ROOT_ID, "nm-file", 7, 40 + 7, &oh), -EINVAL);
	T_CHECK(t, access(th_host(t, "nm-file"), F_OK) == 0);
	hx_expect_serving(t, 1);
}

static bool gone(int r)
{
	return r == -ENOENT || r == -EBADF || r == -ESTALE;
}

static void test_forged_nodes(struct th *t)
{
	static const uint64_t ids[] = {0, 0xdeadbeef, 1ull << 63, UINT64_MAX};
	struct fuse_attr_out a;
	struct fuse_entry_out e;
	struct fuse_open_out o;

	for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
		T_CHECK(t, gone(fe_getattr(t->fe, ids[i], NULL, &a)));
		T_CHECK(t, gone(fe_lookup(t->fe, ids[i], "x", &e)));
		T_CHECK(t, gone(fe_open(t->fe, ids[i], O_RDONLY, &o)));
		T_CHECK(t, gone(fe_mkdir(t->fe, ids[i], "x", 0755, 0, &e)));
	}
	hx_expect_serving(t, 1);
}

static void test_stale_node_and_fh(struct th *t)
{
	struct fuse_attr_out a;
	struct fuse_entry_out e;
	uint64_t node, fh;
	char buf[16];

	T_OK(t, th_create(t, FE_ROOT_ID, "stale", &node, &fh));
	T_OK(t, fe_release(t->fe, node, fh, O_RDWR));
	/* Use of a released handle. */
	T_EQ(t, fe_read(t->fe, node, fh, 0, buf, sizeof(buf)), -EBADF);
	T_EQ(t, fe_write(t->fe, node, fh, 0, "x", 1, 0), -EBADF);
	T_EQ(t, fe_release(t->fe, node, fh, O_RDWR), -EBADF);
	/* A handle never handed out. */
	T_EQ(t, fe_read(t->fe, node, 0xdeadbeef, 0, buf, sizeof(buf)), -EBADF);
	/* FORGET to zero: the node id is dead. */
	T_OK(t, fe_forget(t->fe, node, 1));
	T_CHECK(t, gone(fe_getattr(t->fe, node, NULL, &a)));
	T_CHECK(t, gone(fe_lookup(t->fe, node, "x", &e)));
	/* Huge counts saturate: one more lookup, forgotten with 2^64-1. */
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, "stale", &e));
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, "stale", &e));
	T_OK(t, fe_forget(t->fe, e.nodeid, UINT64_MAX));
	T_CHECK(t, gone(fe_getattr(t->fe, e.nodeid, NULL, &a)));
	/* The root cannot be forgotten away. */
	T_OK(t, fe_forget(t->fe, FE_ROOT_ID, UINT64_MAX));
	T_OK(t, fe_getattr(t->fe, FE_ROOT_ID, NULL, &a));
	hx_expect_serving(t, 1);
}

static void test_batch_forget_hostile(struct th *t)
{
	struct fuse_forget_one items[4] = {
		{.nodeid = 0xdead, .nlookup = 1},
		{.nodeid = FE_ROOT_ID, .nlookup = UINT64_MAX},
		{.nodeid = 0, .nlookup = UINT64_MAX},
		{.nodeid = UINT64_MAX, .nlookup = 1},
	};
	struct {
		struct fuse_batch_forget_in in;
		struct fuse_forget_one one[4];
	} b;

	T_OK(t, fe_batch_forget(t->fe, items, 4));
	/* count larger than the entries present, up to 2^32-1: nothing read past the request. */
	static const uint32_t counts[] = {5, 1000, UINT32_MAX};
	for (size_t i = 0; i < ARRAY_SIZE(counts); i++) {
		b.in = (struct fuse_batch_forget_in){.count = counts[i]};
		memcpy(b.one, items, sizeof(items));
		struct iovec a = IOVS(&b);
		T_OK(t, fe_fuse_noreply(t->fe, 0, FUSE_BATCH_FORGET, 0, &a, 1));
	}
	hx_expect_serving(t, 1);
}

static void test_xattr_sizes(struct th *t)
{
	struct {
		struct fuse_setxattr_in in;
		char name[12];
		char value[4];
	} s = {.in = {.size = 1u << 30}, .name = "user.hostile", .value = "abc"};
	struct {
		struct fuse_getxattr_in in;
		char name[12];
	} g = {.in = {.size = UINT32_MAX}, .name = "user.hostile"};
	struct fuse_getxattr_in l = {.size = UINT32_MAX};
	uint8_t reply[64];
	uint64_t node;

	T_OK(t, th_create(t, FE_ROOT_ID, "xattr", &node, NULL));
	struct iovec a = IOVS(&s);
	memcpy(s.name, "user.hostil", 12); /* 11 characters and the NUL */
	T_EQ(t, fe_fuse_call(t->fe, FUSE_SETXATTR, node, &a, 1, NULL, 0, NULL), -E2BIG);
	/* A size within limits but larger than the bytes present. */
	s.in.size = 100;
	T_EQ(t, fe_fuse_call(t->fe, FUSE_SETXATTR, node, &a, 1, NULL, 0, NULL), -EINVAL);
	T_EQ(t, fe_getxattr(t->fe, node, "user.hostil", reply, sizeof(reply)), -ENODATA);
	/* getxattr/listxattr sizes beyond the reply room: refused, nothing written past it. */
	memcpy(g.name, "user.hostil", 12);
	struct iovec ga = IOVS(&g), la = IOVS(&l);
	T_EQ(t, fe_fuse_call(t->fe, FUSE_GETXATTR, node, &ga, 1, reply, sizeof(reply), NULL), -EIO);
	T_EQ(t, fe_fuse_call(t->fe, FUSE_LISTXATTR, node, &la, 1, reply, sizeof(reply), NULL),
	     -EIO);
	hx_expect_serving(t, 1);
}

static void test_readdir_offsets(struct th *t)
{
	static const uint64_t offs[] = {0x123456789ull, 1ull << 62, INT64_MAX, UINT64_MAX};
	static uint8_t buf[4096];
	struct fuse_open_out o;

	T_OK(t, fe_opendir(t->fe, FE_ROOT_ID, &o));
	for (size_t i = 0; i < ARRAY_SIZE(offs); i++) {
		int r = fe_readdir(t->fe, FE_ROOT_ID, o.fh, offs[i], buf, sizeof(buf));
		T_CHECK(t, (r >= 0 && r <= (int)sizeof(buf)) || r == -EINVAL);
		r = fe_readdirplus(t->fe, FE_ROOT_ID, o.fh, offs[i], buf, sizeof(buf));
		T_CHECK(t, (r >= 0 && r <= (int)sizeof(buf)) || r == -EINVAL);
	}
	/* The handle still lists from the start. */
	T_CHECK(t, fe_readdir(t->fe, FE_ROOT_ID, o.fh, 0, buf, sizeof(buf)) > 0);
	T_OK(t, fe_releasedir(t->fe, FE_ROOT_ID, o.fh));
	hx_expect_serving(t, 1);
}

static void test_io_sizes(struct th *t)
{
	struct {
		struct fuse_write_in in;
		char data[16];
	} w = {.data = "0123456789"};
	const size_t present = sizeof(w.in) + 10; /* 10 data bytes follow the arguments */
	struct fuse_read_in rd = {.size = MAX_WRITE + 1};
	struct fuse_out_header oh;
	uint64_t node, fh;
	struct stat st;

	T_OK(t, th_create(t, FE_ROOT_ID, "io", &node, &fh));
	rd.fh = fh;
	T_EQ(t, lying(t, FUSE_READ, node, &rd, sizeof(rd), 40 + sizeof(rd), &oh), -EINVAL);
	rd.size = UINT32_MAX;
	T_EQ(t, lying(t, FUSE_READ, node, &rd, sizeof(rd), 40 + sizeof(rd), &oh), -EINVAL);
	/* READ within max_write but beyond the reply room (256 bytes here). */
	rd.size = 4096;
	T_EQ(t, lying(t, FUSE_READ, node, &rd, sizeof(rd), 40 + sizeof(rd), &oh), -EIO);
	/* WRITE claiming more than max_write, and more than the 10 bytes present. */
	w.in = (struct fuse_write_in){.fh = fh, .size = MAX_WRITE + 1};
	T_EQ(t, lying(t, FUSE_WRITE, node, &w, present, 40 + (uint32_t)present, &oh), -EINVAL);
	w.in.size = 4096;
	T_EQ(t, lying(t, FUSE_WRITE, node, &w, present, 40 + (uint32_t)present, &oh), -EINVAL);
	w.in.size = 11;
	T_EQ(t, lying(t, FUSE_WRITE, node, &w, present, 40 + (uint32_t)present, &oh), -EINVAL);
	T_OK(t, stat(th_host(t, "io"), &st));
	T_EQ(t, st.st_size, 0);
	/* Offsets beyond off_t. */
	w.in.size = 10;
	w.in.offset = 1ull << 63;
	T_EQ(t, lying(t, FUSE_WRITE, node, &w, present, 40 + (uint32_t)present, &oh), -EINVAL);
	T_OK(t, fe_release(t->fe, node, fh, O_RDWR));
	hx_expect_serving(t, 1);
}

static void test_reply_room_too_small(struct th *t)
{
	struct {
		struct fuse_in_header ih;
		struct fuse_getattr_in in;
	} g = {.ih = {.len = sizeof(g),
		      .opcode = FUSE_GETATTR,
		      .unique = 0x7700,
		      .nodeid = FE_ROOT_ID}};
	struct {
		struct fuse_in_header ih;
		char name[8];
	} l = {.ih = {.len = sizeof(l),
		      .opcode = FUSE_LOOKUP,
		      .unique = 0x7702,
		      .nodeid = FE_ROOT_ID},
	       .name = "nm"};
	struct fuse_out_header oh;
	uint32_t used = 0;

	T_OK(t, mkdir(th_host(t, "room"), 0755));
	memcpy(l.name, "room", 5);
	/* Room for the header and part of the reply: an error reply. */
	T_OK(t, raw(t, &g, sizeof(g), sizeof(oh) + 8, &oh, &used));
	T_EQ(t, used, sizeof(oh));
	T_EQ(t, oh.error, -EIO);
	T_OK(t, raw(t, &l, sizeof(l), sizeof(oh) + 8, &oh, &used));
	T_EQ(t, used, sizeof(oh));
	T_EQ(t, oh.error, -EIO);
	/* Less than a header: nothing can be written, the chain comes back with length 0. */
	T_OK(t, raw(t, &g, sizeof(g), 8, NULL, &used));
	T_EQ(t, used, 0);
	/* No writable part at all. */
	T_OK(t, raw(t, &g, sizeof(g), 0, NULL, &used));
	T_EQ(t, used, 0);
	/* The LOOKUP that could not be answered left no lookup reference: rmdir works and a
	 * new lookup finds nothing. */
	T_OK(t, fe_rmdir(t->fe, FE_ROOT_ID, "room"));
	hx_expect_serving(t, 1);
}

static void test_bad_extensions(struct th *t)
{
	struct {
		struct fuse_getattr_in in;
		struct fuse_ext_header eh;
		uint32_t nr, g[1];
	} x = {.eh = {.size = 16, .type = 32}, .nr = 1000};
	struct fuse_out_header oh;
	uint8_t buf[128];
	struct fuse_in_header ih = {.len = 40 + sizeof(x),
				    .opcode = FUSE_GETATTR,
				    .unique = 0x7800,
				    .nodeid = FE_ROOT_ID};
	uint32_t used;

	/* total_extlen beyond the request, a zero-sized header, a group count that lies. */
	static const uint16_t extlens[] = {100, 2, 2};
	for (int i = 0; i < 3; i++) {
		ih.total_extlen = extlens[i];
		x.eh.size = i == 1 ? 0 : 16;
		memcpy(buf, &ih, sizeof(ih));
		memcpy(buf + sizeof(ih), &x, sizeof(x));
		T_OK(t, raw(t, buf, ih.len, 256, &oh, &used));
		T_EQ(t, oh.error, -EINVAL);
	}
	hx_expect_serving(t, 1);
}

/* A fresh daemon, no INIT yet: requests fail with EIO, FORGET gets no reply. */
static void test_before_init(struct th *t)
{
	struct fuse_attr_out a;
	struct fuse_entry_out e;

	fe_free(t->fe);
	t->fe = NULL;
	th_daemon_wait(t, 5000);
	if (th_daemon_start(t) < 0 || th_connect(t, NULL) < 0) {
		th_fail(t, __FILE__, __LINE__, "no daemon");
		return;
	}
	T_EQ(t, fe_getattr(t->fe, FE_ROOT_ID, NULL, &a), -EIO);
	T_EQ(t, fe_lookup(t->fe, FE_ROOT_ID, "x", &e), -EIO);
	T_OK(t, fe_forget(t->fe, FE_ROOT_ID, 1));
	T_OK(t, fe_init(t->fe, 38, th_init_flags()));
	hx_expect_serving(t, 1);
}

const struct th_test hx_fuse_tests[] = {
	{"fuse: short header", test_short_header},
	{"fuse: in.len that lies", test_len_lies},
	{"fuse: unknown opcodes get ENOSYS", test_unknown_opcodes},
	{"fuse: bad names in every entry op", test_bad_names},
	{"fuse: forged node ids", test_forged_nodes},
	{"fuse: stale node ids and file handles", test_stale_node_and_fh},
	{"fuse: BATCH_FORGET with unknown nodes and lying count", test_batch_forget_hostile},
	{"fuse: huge xattr sizes", test_xattr_sizes},
	{"fuse: readdir offsets never handed out", test_readdir_offsets},
	{"fuse: READ/WRITE sizes beyond max_write and data", test_io_sizes},
	{"fuse: reply room too small", test_reply_room_too_small},
	{"fuse: malformed extensions", test_bad_extensions},
	{"fuse: requests before INIT", test_before_init},
	TH_TESTS_END,
};
