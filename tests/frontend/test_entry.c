/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Directory entries: LOOKUP, FORGET, BATCH_FORGET, MKNOD, MKDIR, UNLINK, RMDIR, SYMLINK, READLINK,
 * LINK, RENAME, RENAME2, and name validation.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static void test_lookup(struct th *t)
{
	const char *n = th_name(t, "lookup");
	struct fuse_entry_out e;
	struct stat st;

	T_OK(t, th_host_write(t, n, "hello", 5));
	T_OK(t, stat(th_host(t, n), &st));
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, n, &e));
	T_CHECK(t, e.nodeid != 0 && e.nodeid != FE_ROOT_ID);
	T_EQ(t, e.attr.ino, st.st_ino);
	T_EQ(t, e.attr.size, 5);
	T_CHECK(t, S_ISREG(e.attr.mode));
	T_EQ(t, fe_lookup(t->fe, FE_ROOT_ID, "does-not-exist", &e), -ENOENT);
}

static void test_forget(struct th *t)
{
	const char *n = th_name(t, "forget");
	struct fuse_entry_out e, e2;

	T_OK(t, th_host_write(t, n, "x", 1));
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, n, &e));
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, n, &e2));
	T_EQ(t, e.nodeid, e2.nodeid);
	T_OK(t, fe_forget(t->fe, e.nodeid, 1));
	/* One lookup left: still valid. */
	struct fuse_attr_out a;
	T_OK(t, fe_getattr(t->fe, e.nodeid, NULL, &a));
	T_OK(t, fe_forget(t->fe, e.nodeid, 1));
	/* Forgetting more than looked up, or an unknown node, must be harmless. */
	T_OK(t, fe_forget(t->fe, e.nodeid, 5));
	T_OK(t, fe_forget(t->fe, 0x7fffdeadbeefull, 1));
	T_OK(t, fe_getattr(t->fe, FE_ROOT_ID, NULL, &a));
}

static void test_batch_forget(struct th *t)
{
	struct fuse_forget_one items[3];
	struct fuse_entry_out e;

	for (int i = 0; i < 3; i++) {
		const char *n = th_name(t, "bforget");
		T_OK(t, th_host_write(t, n, "x", 1));
		T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, n, &e));
		items[i] = (struct fuse_forget_one){.nodeid = e.nodeid, .nlookup = 1};
	}
	T_OK(t, fe_batch_forget(t->fe, items, 3));
	T_OK(t, fe_batch_forget(t->fe, NULL, 0));
	struct fuse_attr_out a;
	T_OK(t, fe_getattr(t->fe, FE_ROOT_ID, NULL, &a));
}

static void test_mknod(struct th *t)
{
	const char *fifo = th_name(t, "fifo"), *reg = th_name(t, "mknod-reg");
	struct fuse_entry_out e;
	struct stat st;

	T_OK(t, fe_mknod(t->fe, FE_ROOT_ID, fifo, S_IFIFO | 0666, 0, 022, &e));
	T_CHECK(t, S_ISFIFO(e.attr.mode));
	T_OK(t, lstat(th_host(t, fifo), &st));
	T_CHECK(t, S_ISFIFO(st.st_mode));
	T_EQ(t, st.st_mode & 07777, 0644);
	T_EQ(t, e.attr.ino, st.st_ino);
	T_OK(t, fe_mknod(t->fe, FE_ROOT_ID, reg, S_IFREG | 0600, 0, 0, &e));
	T_OK(t, lstat(th_host(t, reg), &st));
	T_CHECK(t, S_ISREG(st.st_mode));
	T_EQ(t, fe_mknod(t->fe, FE_ROOT_ID, reg, S_IFREG | 0600, 0, 0, &e), -EEXIST);
}

static void test_mkdir_rmdir(struct th *t)
{
	const char *d = th_name(t, "dir");
	struct fuse_entry_out e, f;
	struct stat st;

	T_OK(t, fe_mkdir(t->fe, FE_ROOT_ID, d, 0777, 022, &e));
	T_CHECK(t, S_ISDIR(e.attr.mode));
	T_OK(t, stat(th_host(t, d), &st));
	T_CHECK(t, S_ISDIR(st.st_mode));
	T_EQ(t, st.st_mode & 07777, 0755);
	T_EQ(t, fe_mkdir(t->fe, FE_ROOT_ID, d, 0755, 0, &f), -EEXIST);
	/* Non-empty directory. */
	T_OK(t, fe_mknod(t->fe, e.nodeid, "inner", S_IFREG | 0644, 0, 0, &f));
	T_EQ(t, fe_rmdir(t->fe, FE_ROOT_ID, d), -ENOTEMPTY);
	T_EQ(t, fe_rmdir(t->fe, e.nodeid, "inner"), -ENOTDIR);
	T_OK(t, fe_unlink(t->fe, e.nodeid, "inner"));
	T_OK(t, fe_rmdir(t->fe, FE_ROOT_ID, d));
	T_CHECK(t, stat(th_host(t, d), &st) < 0 && errno == ENOENT);
	T_EQ(t, fe_rmdir(t->fe, FE_ROOT_ID, d), -ENOENT);
}

static void test_unlink(struct th *t)
{
	const char *n = th_name(t, "unlink");
	struct stat st;

	T_OK(t, th_host_write(t, n, "x", 1));
	T_OK(t, fe_unlink(t->fe, FE_ROOT_ID, n));
	T_CHECK(t, lstat(th_host(t, n), &st) < 0 && errno == ENOENT);
	T_EQ(t, fe_unlink(t->fe, FE_ROOT_ID, n), -ENOENT);
	const char *d = th_name(t, "unlink-dir");
	T_OK(t, mkdir(th_host(t, d), 0755));
	T_EQ(t, fe_unlink(t->fe, FE_ROOT_ID, d), -EISDIR);
}

static void test_symlink_readlink(struct th *t)
{
	const char *n = th_name(t, "symlink");
	struct fuse_entry_out e;
	char buf[256] = {0}, host[256] = {0};

	/* A target outside the share: stored as text, never followed by the daemon. */
	T_OK(t, fe_symlink(t->fe, FE_ROOT_ID, n, "../../../etc/passwd", &e));
	T_CHECK(t, S_ISLNK(e.attr.mode));
	T_EQ(t, readlink(th_host(t, n), host, sizeof(host) - 1), 19);
	T_CHECK(t, strcmp(host, "../../../etc/passwd") == 0);
	int r = fe_readlink(t->fe, e.nodeid, buf, sizeof(buf) - 1);
	T_EQ(t, r, 19);
	T_CHECK(t, memcmp(buf, "../../../etc/passwd", 19) == 0);
	struct fuse_entry_out f;
	T_OK(t, fe_mknod(t->fe, FE_ROOT_ID, th_name(t, "reg"), S_IFREG | 0644, 0, 0, &f));
	r = fe_readlink(t->fe, f.nodeid, buf, sizeof(buf));
	T_CHECK(t, r == -EINVAL || r == -ENOENT);
}

static void test_link(struct th *t)
{
	const char *a = th_name(t, "link-a"), *b = th_name(t, "link-b");
	struct fuse_entry_out e, l;
	struct stat st;

	T_OK(t, th_host_write(t, a, "abc", 3));
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, a, &e));
	T_OK(t, fe_link(t->fe, e.nodeid, FE_ROOT_ID, b, &l));
	T_EQ(t, l.nodeid, e.nodeid);
	T_EQ(t, l.attr.nlink, 2);
	T_OK(t, stat(th_host(t, b), &st));
	T_EQ(t, st.st_nlink, 2);
	T_EQ(t, st.st_ino, e.attr.ino);
	T_EQ(t, fe_link(t->fe, e.nodeid, FE_ROOT_ID, b, &l), -EEXIST);
}

static void test_rename(struct th *t)
{
	const char *a = th_name(t, "ren-a"), *b = th_name(t, "ren-b"), *d = th_name(t, "ren-d");
	struct fuse_entry_out de;
	struct stat st;

	T_OK(t, th_host_write(t, a, "abc", 3));
	T_OK(t, fe_rename(t->fe, FE_ROOT_ID, a, FE_ROOT_ID, b));
	T_CHECK(t, stat(th_host(t, a), &st) < 0);
	T_OK(t, stat(th_host(t, b), &st));
	T_OK(t, fe_mkdir(t->fe, FE_ROOT_ID, d, 0755, 0, &de));
	T_OK(t, fe_rename(t->fe, FE_ROOT_ID, b, de.nodeid, "moved"));
	char p[512];
	snprintf(p, sizeof(p), "%s/moved", d);
	T_OK(t, stat(th_host(t, p), &st));
	T_EQ(t, fe_rename(t->fe, FE_ROOT_ID, b, FE_ROOT_ID, a), -ENOENT);
}

static void test_rename2(struct th *t)
{
	const char *a = th_name(t, "r2-a"), *b = th_name(t, "r2-b");
	char buf[8] = {0};
	struct stat st;

	T_OK(t, th_host_write(t, a, "A", 1));
	T_OK(t, th_host_write(t, b, "B", 1));
	T_EQ(t, fe_rename2(t->fe, FE_ROOT_ID, a, FE_ROOT_ID, b, RENAME_NOREPLACE), -EEXIST);
	T_OK(t, fe_rename2(t->fe, FE_ROOT_ID, a, FE_ROOT_ID, b, RENAME_EXCHANGE));
	int fd = open(th_host(t, a), O_RDONLY | O_CLOEXEC);
	T_CHECK(t, fd >= 0 && read(fd, buf, 1) == 1 && buf[0] == 'B');
	if (fd >= 0)
		close(fd);
	const char *c = th_name(t, "r2-c");
	T_OK(t, fe_rename2(t->fe, FE_ROOT_ID, a, FE_ROOT_ID, c, RENAME_NOREPLACE));
	T_OK(t, stat(th_host(t, c), &st));
	T_EQ(t, fe_rename2(t->fe, FE_ROOT_ID, c, FE_ROOT_ID, b, 0x80000000u), -EINVAL);

	/* WHITEOUT leaves a 0/0 character device behind, if the host filesystem can: probe the
	 * host behaviour outside the share and expect the same answer. */
	char p1[PATH_MAX + 8], p2[PATH_MAX + 8];
	snprintf(p1, sizeof(p1), "%s/wo1", t->dir);
	snprintf(p2, sizeof(p2), "%s/wo2", t->dir);
	close(open(p1, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
	int herr = renameat2(AT_FDCWD, p1, AT_FDCWD, p2, RENAME_WHITEOUT) < 0 ? -errno : 0;
	unlink(p1);
	unlink(p2);
	const char *w = th_name(t, "r2-w"), *w2 = th_name(t, "r2-w2");
	T_OK(t, th_host_write(t, w, "W", 1));
	int r = fe_rename2(t->fe, FE_ROOT_ID, w, FE_ROOT_ID, w2, RENAME_WHITEOUT);
	T_EQ(t, r, herr);
	if (r == 0) {
		T_OK(t, lstat(th_host(t, w), &st));
		T_CHECK(t, S_ISCHR(st.st_mode) && st.st_rdev == 0);
		T_OK(t, stat(th_host(t, w2), &st));
	}
}

static void test_bad_names(struct th *t)
{
	struct fuse_entry_out e;
	struct stat st;

	T_CHECK(t, fe_mkdir(t->fe, FE_ROOT_ID, "a/b", 0755, 0, &e) < 0);
	T_CHECK(t, fe_mkdir(t->fe, FE_ROOT_ID, "..", 0755, 0, &e) < 0);
	T_CHECK(t, fe_mkdir(t->fe, FE_ROOT_ID, ".", 0755, 0, &e) < 0);
	T_CHECK(t, fe_mkdir(t->fe, FE_ROOT_ID, "", 0755, 0, &e) < 0);
	T_CHECK(t, fe_mknod(t->fe, FE_ROOT_ID, "../escape", S_IFREG | 0644, 0, 0, &e) < 0);
	char esc[PATH_MAX + 64];
	snprintf(esc, sizeof(esc), "%s/../escape", t->share);
	T_CHECK(t, lstat(esc, &st) < 0);
	/* ".." at the root must not leave the share. */
	int r = fe_lookup(t->fe, FE_ROOT_ID, "..", &e);
	if (r == 0) {
		T_OK(t, stat(t->share, &st));
		T_EQ(t, e.attr.ino, st.st_ino);
	}
}

const struct th_test th_entry_tests[] = {
	{"lookup", test_lookup},
	{"forget", test_forget},
	{"batch-forget", test_batch_forget},
	{"mknod", test_mknod},
	{"mkdir-rmdir", test_mkdir_rmdir},
	{"unlink", test_unlink},
	{"symlink-readlink", test_symlink_readlink},
	{"link", test_link},
	{"rename", test_rename},
	{"rename2", test_rename2},
	{"bad-names", test_bad_names},
	TH_TESTS_END,
};
