/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Files: CREATE, OPEN, READ, WRITE (incl. KILL_SUIDGID and large, split and indirect chains),
 * FLUSH, FSYNC, RELEASE, FALLOCATE, LSEEK, COPY_FILE_RANGE(_64), TMPFILE, forged fh.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static int host_read(struct th *t, const char *name, void *buf, size_t len, off_t off)
{
	int fd = open(th_host(t, name), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = pread(fd, buf, len, off);
	close(fd);
	return n < 0 ? -errno : (int)n;
}

static void test_create(struct th *t)
{
	const char *n = th_name(t, "create");
	struct fuse_entry_out e;
	struct fuse_open_out o;
	struct stat st;

	T_OK(t, fe_create(t->fe, FE_ROOT_ID, n, O_RDWR | O_CREAT, S_IFREG | 0666, 022, &e, &o));
	T_OK(t, stat(th_host(t, n), &st));
	T_CHECK(t, S_ISREG(st.st_mode));
	T_EQ(t, st.st_mode & 07777, 0644);
	T_EQ(t, e.attr.ino, st.st_ino);
	T_OK(t, fe_release(t->fe, e.nodeid, o.fh, O_RDWR));
	T_EQ(t,
	     fe_create(t->fe, FE_ROOT_ID, n, O_RDWR | O_CREAT | O_EXCL, S_IFREG | 0644, 0, &e, &o),
	     -EEXIST);
	/* Ownership follows the request's credentials. */
	const char *m = th_name(t, "create-uid");
	T_OK(t, chmod(t->share, 0777));
	fe_fuse_set_creds(t->fe, 4321, 8765, 1);
	int r = fe_create(t->fe, FE_ROOT_ID, m, O_RDWR | O_CREAT, S_IFREG | 0644, 0, &e, &o);
	fe_fuse_set_creds(t->fe, 0, 0, 1);
	T_OK(t, chmod(t->share, 0755));
	T_OK(t, r);
	T_OK(t, stat(th_host(t, m), &st));
	T_EQ(t, st.st_uid, 4321);
	T_EQ(t, st.st_gid, 8765);
	if (r == 0)
		T_OK(t, fe_release(t->fe, e.nodeid, o.fh, O_RDWR));
}

static void test_open_read_write(struct th *t)
{
	const char *n = th_name(t, "rw");
	struct fuse_entry_out e;
	struct fuse_open_out o;
	char buf[64] = {0};

	T_OK(t, th_host_write(t, n, "host data", 9));
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, n, &e));
	T_OK(t, fe_open(t->fe, e.nodeid, O_RDWR, &o));
	T_EQ(t, fe_read(t->fe, e.nodeid, o.fh, 0, buf, sizeof(buf)), 9);
	T_CHECK(t, memcmp(buf, "host data", 9) == 0);
	T_EQ(t, fe_read(t->fe, e.nodeid, o.fh, 5, buf, 2), 2);
	T_CHECK(t, memcmp(buf, "da", 2) == 0);
	T_EQ(t, fe_read(t->fe, e.nodeid, o.fh, 100, buf, sizeof(buf)), 0);
	T_EQ(t, fe_write(t->fe, e.nodeid, o.fh, 5, "DATA!", 5, 0), 5);
	T_EQ(t, host_read(t, n, buf, sizeof(buf), 0), 10);
	T_CHECK(t, memcmp(buf, "host DATA!", 10) == 0);
	T_OK(t, fe_flush(t->fe, e.nodeid, o.fh, 0x1234));
	T_OK(t, fe_fsync(t->fe, e.nodeid, o.fh, false));
	T_OK(t, fe_fsync(t->fe, e.nodeid, o.fh, true));
	T_OK(t, fe_release(t->fe, e.nodeid, o.fh, O_RDWR));
	/* Read-only open refuses writes; O_TRUNC truncates. */
	T_OK(t, fe_open(t->fe, e.nodeid, O_RDONLY, &o));
	T_EQ(t, fe_write(t->fe, e.nodeid, o.fh, 0, "x", 1, 0), -EBADF);
	T_OK(t, fe_release(t->fe, e.nodeid, o.fh, O_RDONLY));
	T_OK(t, fe_open(t->fe, e.nodeid, O_WRONLY | O_TRUNC, &o));
	struct stat st;
	T_OK(t, stat(th_host(t, n), &st));
	T_EQ(t, st.st_size, 0);
	T_OK(t, fe_release(t->fe, e.nodeid, o.fh, O_WRONLY));
}

/* Large transfers under each chain layout: plain, split at odd sizes, indirect, both. */
static void test_large_io_layouts(struct th *t)
{
	size_t len = 256 * 1024;
	uint8_t *w = malloc(len), *r = malloc(len);

	for (size_t i = 0; i < len; i++)
		w[i] = (uint8_t)(i * 7 + i / 4096);
	for (int layout = 0; layout < 4 && w && r; layout++) {
		const char *n = th_name(t, "large");
		uint64_t node, fh;
		fe_set_layout(t->fe, layout & 1, layout & 2);
		T_OK(t, th_create(t, FE_ROOT_ID, n, &node, &fh));
		T_EQ(t, fe_write(t->fe, node, fh, 3, w, (uint32_t)len, 0), len);
		memset(r, 0, len);
		T_EQ(t, host_read(t, n, r, len, 3), len);
		T_CHECK(t, memcmp(w, r, len) == 0);
		memset(r, 0, len);
		T_EQ(t, fe_read(t->fe, node, fh, 3, r, (uint32_t)len), len);
		T_CHECK(t, memcmp(w, r, len) == 0);
		T_OK(t, fe_release(t->fe, node, fh, O_RDWR));
	}
	fe_set_layout(t->fe, false, false);
	free(w);
	free(r);
}

static void test_write_kill_suidgid(struct th *t)
{
	const char *n = th_name(t, "wkill");
	struct fuse_entry_out e;
	struct fuse_open_out o;
	struct stat st;

	T_OK(t, th_host_write(t, n, "0123", 4));
	T_OK(t, chmod(th_host(t, n), 06755));
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, n, &e));
	T_OK(t, fe_open(t->fe, e.nodeid, O_RDWR, &o));
	T_EQ(t, fe_write(t->fe, e.nodeid, o.fh, 0, "ab", 2, 0), 2);
	T_OK(t, stat(th_host(t, n), &st));
	/* Root writes without KILL_SUIDGID keep the bits. */
	T_EQ(t, st.st_mode & 07777, 06755);
	T_EQ(t, fe_write(t->fe, e.nodeid, o.fh, 0, "cd", 2, FUSE_WRITE_KILL_SUIDGID), 2);
	T_OK(t, stat(th_host(t, n), &st));
	T_EQ(t, st.st_mode & 07777, 0755);
	T_OK(t, fe_release(t->fe, e.nodeid, o.fh, O_RDWR));
}

static void test_fallocate(struct th *t)
{
	const char *n = th_name(t, "falloc");
	uint64_t node, fh;
	struct stat st;
	char buf[4096];

	T_OK(t, th_create(t, FE_ROOT_ID, n, &node, &fh));
	T_OK(t, fe_fallocate(t->fe, node, fh, 0, 65536, 0));
	T_OK(t, stat(th_host(t, n), &st));
	T_EQ(t, st.st_size, 65536);
	memset(buf, 'z', sizeof(buf));
	T_EQ(t, fe_write(t->fe, node, fh, 8192, buf, sizeof(buf), 0), sizeof(buf));
	int r = fe_fallocate(t->fe, node, fh, 8192, 4096,
			     FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE);
	T_CHECK(t, r == 0 || r == -EOPNOTSUPP);
	if (r == 0) {
		T_EQ(t, host_read(t, n, buf, sizeof(buf), 8192), 4096);
		T_CHECK(t, buf[0] == 0 && buf[4095] == 0);
	}
	T_OK(t, stat(th_host(t, n), &st));
	T_EQ(t, st.st_size, 65536);
	T_OK(t, fe_release(t->fe, node, fh, O_RDWR));
}

static void test_lseek(struct th *t)
{
	const char *n = th_name(t, "lseek");
	uint64_t node, fh, off = 0;

	T_OK(t, th_create(t, FE_ROOT_ID, n, &node, &fh));
	T_EQ(t, fe_write(t->fe, node, fh, 1 << 20, "end", 3, 0), 3);
	int fd = open(th_host(t, n), O_RDONLY | O_CLOEXEC);
	off_t hdata = lseek(fd, 0, SEEK_DATA), hhole = lseek(fd, 0, SEEK_HOLE);
	close(fd);
	T_OK(t, fe_lseek(t->fe, node, fh, 0, SEEK_DATA, &off));
	T_EQ(t, off, hdata);
	T_OK(t, fe_lseek(t->fe, node, fh, 0, SEEK_HOLE, &off));
	T_EQ(t, off, hhole);
	T_EQ(t, fe_lseek(t->fe, node, fh, (1 << 20) + 10, SEEK_DATA, &off), -ENXIO);
	T_OK(t, fe_release(t->fe, node, fh, O_RDWR));
}

/* COPY_FILE_RANGE, or with `wide` COPY_FILE_RANGE_64 (7.45; Linux 7.x tries it first): the same
 * arguments, a 32- or 64-bit count back. The 64-bit op also takes a length beyond 32 bits (the
 * old op's limit) and copies up to the end of the source. */
static void check_copy_file_range(struct th *t, bool wide)
{
	const char *a = th_name(t, wide ? "cfr64-a" : "cfr-a"),
		   *b = th_name(t, wide ? "cfr64-b" : "cfr-b");
	int (*copy)(struct fe *, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t,
		    uint64_t, uint64_t, uint64_t *) =
		wide ? fe_copy_file_range_64 : fe_copy_file_range;
	uint64_t na, fa, nb, fb, copied = 0;
	char buf[32] = {0};

	T_OK(t, th_create(t, FE_ROOT_ID, a, &na, &fa));
	T_OK(t, th_create(t, FE_ROOT_ID, b, &nb, &fb));
	T_EQ(t, fe_write(t->fe, na, fa, 0, "0123456789", 10, 0), 10);
	T_OK(t, copy(t->fe, na, fa, 2, nb, fb, 4, 5, 0, &copied));
	T_EQ(t, copied, 5);
	if (wide) {
		T_OK(t, copy(t->fe, na, fa, 3, nb, fb, 20, 1ull << 33, 0, &copied));
		T_EQ(t, copied, 7);
	}
	T_EQ(t, host_read(t, b, buf, sizeof(buf), 0), wide ? 27 : 9);
	T_CHECK(t, memcmp(buf,
			  "\0\0\0\0"
			  "23456",
			  9) == 0);
	T_CHECK(t, !wide || memcmp(buf + 20, "3456789", 7) == 0);
	/* A forged handle is an error. */
	int r = copy(t->fe, na, 0xdeadbeefull, 0, nb, fb, 0, 1, 0, &copied);
	T_CHECK(t, r < 0 && r != -ETIMEDOUT && r != -FE_EBADREPLY);
	T_OK(t, fe_release(t->fe, na, fa, O_RDWR));
	T_OK(t, fe_release(t->fe, nb, fb, O_RDWR));
}

static void test_copy_file_range(struct th *t)
{
	check_copy_file_range(t, false);
}

static void test_copy_file_range_64(struct th *t)
{
	check_copy_file_range(t, true);
}

static unsigned count_entries(const char *path)
{
	unsigned n = 0;
	DIR *d = opendir(path);
	if (!d)
		return 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void test_tmpfile(struct th *t)
{
	const char *d = th_name(t, "tmpdir");
	struct fuse_entry_out de, e;
	struct fuse_open_out o;
	char buf[8] = {0};

	T_OK(t, fe_mkdir(t->fe, FE_ROOT_ID, d, 0755, 0, &de));
	T_OK(t, fe_tmpfile(t->fe, de.nodeid, O_RDWR, S_IFREG | 0600, 0, &e, &o));
	T_CHECK(t, e.nodeid != 0);
	T_EQ(t, e.attr.nlink, 0);
	T_EQ(t, fe_write(t->fe, e.nodeid, o.fh, 0, "tmp", 3, 0), 3);
	T_EQ(t, fe_read(t->fe, e.nodeid, o.fh, 0, buf, sizeof(buf)), 3);
	/* Nothing visible in the directory. */
	T_EQ(t, count_entries(th_host(t, d)), 2);
	T_OK(t, fe_release(t->fe, e.nodeid, o.fh, O_RDWR));
}

static void test_forged_fh(struct th *t)
{
	const char *n = th_name(t, "forgedfh");
	uint64_t node, fh;
	char buf[8];

	T_OK(t, th_create(t, FE_ROOT_ID, n, &node, &fh));
	uint64_t bad[] = {fh + 1000, 0xdeadbeefcafeull, UINT64_MAX};
	for (unsigned i = 0; i < 3; i++) {
		int r = fe_read(t->fe, node, bad[i], 0, buf, sizeof(buf));
		T_CHECK(t, r < 0 && r != -ETIMEDOUT && r != -FE_EBADREPLY);
		r = fe_write(t->fe, node, bad[i], 0, "x", 1, 0);
		T_CHECK(t, r < 0 && r != -ETIMEDOUT && r != -FE_EBADREPLY);
		r = fe_fsync(t->fe, node, bad[i], false);
		T_CHECK(t, r < 0 && r != -ETIMEDOUT && r != -FE_EBADREPLY);
		r = fe_release(t->fe, node, bad[i], 0);
		T_CHECK(t, r != -ETIMEDOUT && r != -FE_EBADREPLY);
	}
	/* Released handle is gone. */
	T_OK(t, fe_release(t->fe, node, fh, O_RDWR));
	int r = fe_read(t->fe, node, fh, 0, buf, sizeof(buf));
	T_CHECK(t, r < 0 && r != -ETIMEDOUT);
	T_EQ(t, fe_write(t->fe, node, fh, 0, "x", 1, 0) < 0, 1);
}

/*
 * OPEN of a FIFO that nobody writes to (a hostile or non-Linux guest; Linux opens special files
 * itself): open() would block the worker until a writer came. The daemon never opens special
 * files (CVE-2020-35517), answers at once and keeps serving.
 */
static void test_open_fifo(struct th *t)
{
	const char *n = th_name(t, "fifo");
	struct fuse_entry_out e;
	struct fuse_open_out o;
	struct fuse_attr_out a;

	T_OK(t, mkfifo(th_host(t, n), 0644));
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, n, &e));
	T_EQ(t, fe_open(t->fe, e.nodeid, O_RDONLY, &o), -EACCES);
	T_EQ(t, fe_open(t->fe, e.nodeid, O_WRONLY, &o), -EACCES);
	T_OK(t, fe_getattr(t->fe, FE_ROOT_ID, NULL, &a));
}

const struct th_test th_file_tests[] = {
	{"open-fifo-does-not-block", test_open_fifo},
	{"create", test_create},
	{"open-read-write-flush-fsync-release", test_open_read_write},
	{"large-io-layouts", test_large_io_layouts},
	{"write-kill-suidgid", test_write_kill_suidgid},
	{"fallocate", test_fallocate},
	{"lseek", test_lseek},
	{"copy-file-range", test_copy_file_range},
	{"copy-file-range-64", test_copy_file_range_64},
	{"tmpfile", test_tmpfile},
	{"forged-fh", test_forged_fh},
	TH_TESTS_END,
};
