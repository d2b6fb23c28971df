/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Extended attributes: SETXATTR (with and without SETXATTR_EXT), GETXATTR, LISTXATTR,
 * REMOVEXATTR, checked against the host file.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>

#include "harness.h"

static bool host_has_user_xattr(struct th *t, const char *n)
{
	return setxattr(th_host(t, n), "user.probe", "1", 1, 0) == 0 &&
	       removexattr(th_host(t, n), "user.probe") == 0;
}

static void test_xattr(struct th *t)
{
	const char *n = th_name(t, "xattr");
	struct fuse_entry_out e;
	char buf[256] = {0};

	T_OK(t, th_host_write(t, n, "x", 1));
	if (!host_has_user_xattr(t, n)) {
		th_skip(t, "host filesystem has no user xattrs");
		return;
	}
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, n, &e));
	T_OK(t, fe_setxattr(t->fe, e.nodeid, "user.test", "value1", 6, 0, 0));
	T_EQ(t, getxattr(th_host(t, n), "user.test", buf, sizeof(buf)), 6);
	T_CHECK(t, memcmp(buf, "value1", 6) == 0);

	T_EQ(t, fe_getxattr(t->fe, e.nodeid, "user.test", NULL, 0), 6);
	memset(buf, 0, sizeof(buf));
	T_EQ(t, fe_getxattr(t->fe, e.nodeid, "user.test", buf, sizeof(buf)), 6);
	T_CHECK(t, memcmp(buf, "value1", 6) == 0);
	T_EQ(t, fe_getxattr(t->fe, e.nodeid, "user.test", buf, 3), -ERANGE);
	T_EQ(t, fe_getxattr(t->fe, e.nodeid, "user.missing", buf, sizeof(buf)), -ENODATA);

	T_EQ(t, fe_setxattr(t->fe, e.nodeid, "user.test", "v2", 2, XATTR_CREATE, 0), -EEXIST);
	T_EQ(t, fe_setxattr(t->fe, e.nodeid, "user.other", "v2", 2, XATTR_REPLACE, 0), -ENODATA);
	T_OK(t, fe_setxattr(t->fe, e.nodeid, "user.other", "v2", 2, XATTR_CREATE, 0));
	T_OK(t, fe_setxattr(t->fe, e.nodeid, "user.empty", "", 0, 0, 0));

	int len = fe_listxattr(t->fe, e.nodeid, NULL, 0);
	T_CHECK(t, len >= (int)(sizeof("user.test") + sizeof("user.other")));
	memset(buf, 0, sizeof(buf));
	int got = fe_listxattr(t->fe, e.nodeid, buf, sizeof(buf));
	T_EQ(t, got, len);
	bool found_test = false, found_other = false;
	for (int p = 0; p < got && got > 0; p += (int)strlen(buf + p) + 1) {
		found_test |= !strcmp(buf + p, "user.test");
		found_other |= !strcmp(buf + p, "user.other");
	}
	T_CHECK(t, found_test && found_other);
	T_EQ(t, fe_listxattr(t->fe, e.nodeid, buf, 2), -ERANGE);

	T_OK(t, fe_removexattr(t->fe, e.nodeid, "user.test"));
	T_CHECK(t, getxattr(th_host(t, n), "user.test", buf, sizeof(buf)) < 0 && errno == ENODATA);
	T_EQ(t, fe_removexattr(t->fe, e.nodeid, "user.test"), -ENODATA);
}

/* The 16-byte setxattr_in when SETXATTR_EXT is negotiated, the 8-byte one otherwise. */
static void test_setxattr_ext(struct th *t)
{
	const char *n = th_name(t, "xattr-ext");
	struct fuse_entry_out e;
	char buf[16] = {0};

	T_OK(t, th_host_write(t, n, "x", 1));
	if (!host_has_user_xattr(t, n)) {
		th_skip(t, "host filesystem has no user xattrs");
		return;
	}
	if (!(fe_fuse_init_out(t->fe)->flags & FUSE_SETXATTR_EXT))
		printf("# SETXATTR_EXT not negotiated: testing the compat layout only\n");
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, n, &e));
	T_OK(t, fe_setxattr(t->fe, e.nodeid, "user.ext", "ext", 3, 0, 0));
	T_EQ(t, getxattr(th_host(t, n), "user.ext", buf, sizeof(buf)), 3);
	/* Session without SETXATTR_EXT: compat layout. */
	T_OK(t, fe_init(t->fe, 38, th_init_flags() & ~(uint64_t)FUSE_SETXATTR_EXT));
	T_CHECK(t, !(fe_fuse_init_out(t->fe)->flags & FUSE_SETXATTR_EXT));
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, n, &e));
	T_OK(t, fe_setxattr(t->fe, e.nodeid, "user.compat", "cmp", 3, 0, 0));
	T_EQ(t, getxattr(th_host(t, n), "user.compat", buf, sizeof(buf)), 3);
	T_CHECK(t, memcmp(buf, "cmp", 3) == 0);
	T_OK(t, fe_init(t->fe, 38, th_init_flags()));
}

const struct th_test th_xattr_tests[] = {
	{"setxattr-getxattr-listxattr-removexattr", test_xattr},
	{"setxattr-ext", test_setxattr_ext},
	TH_TESTS_END,
};
