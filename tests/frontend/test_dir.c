/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Directories: OPENDIR, READDIR (continued by offset), READDIRPLUS, RELEASEDIR, FSYNCDIR.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"

#define NFILES 40

struct seen {
	bool name[NFILES];
	bool dot, dotdot;
	unsigned count;
};

static void note(struct th *t, struct seen *s, const char *prefix, const char *name, size_t len)
{
	char buf[256];
	int idx;

	snprintf(buf, sizeof(buf), "%.*s", (int)len, name);
	s->count++;
	if (!strcmp(buf, "."))
		s->dot = true;
	else if (!strcmp(buf, ".."))
		s->dotdot = true;
	else if (sscanf(buf, "f%d", &idx) == 1 && idx >= 0 && idx < NFILES) {
		T_CHECK(t, !s->name[idx]);
		s->name[idx] = true;
	} else
		th_fail(t, __FILE__, __LINE__, "%s: unexpected entry %s", prefix, buf);
}

/* Read a whole directory with small buffers; plus selects READDIRPLUS. */
static void read_all(struct th *t, uint64_t node, bool plus, const char *dirpath, struct seen *s)
{
	struct fuse_open_out o;
	uint8_t buf[512] __attribute__((aligned(8)));
	uint64_t off = 0;

	T_OK(t, fe_opendir(t->fe, node, &o));
	for (int rounds = 0; rounds < 200; rounds++) {
		int n = plus ? fe_readdirplus(t->fe, node, o.fh, off, buf, sizeof(buf))
			     : fe_readdir(t->fe, node, o.fh, off, buf, sizeof(buf));
		T_CHECK(t, n >= 0);
		if (n <= 0)
			break;
		for (size_t p = 0; p < (size_t)n;) {
			const struct fuse_dirent *d;
			size_t reclen;
			if (plus) {
				const struct fuse_direntplus *dp = (const void *)(buf + p);
				if (p + FUSE_NAME_OFFSET_DIRENTPLUS > (size_t)n)
					break;
				d = &dp->dirent;
				reclen = FUSE_DIRENTPLUS_SIZE(dp);
				if (strncmp(d->name, ".", d->namelen) &&
				    strncmp(d->name, "..", d->namelen)) {
					char hp[512];
					struct stat st;
					snprintf(hp, sizeof(hp), "%s/%.*s", dirpath,
						 (int)d->namelen, d->name);
					T_CHECK(t, dp->entry_out.nodeid != 0);
					T_OK(t, lstat(th_host(t, hp), &st));
					T_EQ(t, dp->entry_out.attr.ino, st.st_ino);
					T_EQ(t, dp->entry_out.attr.size, st.st_size);
					if (dp->entry_out.nodeid)
						fe_forget(t->fe, dp->entry_out.nodeid, 1);
				}
			} else {
				d = (const void *)(buf + p);
				if (p + FUSE_NAME_OFFSET > (size_t)n)
					break;
				reclen = FUSE_DIRENT_SIZE(d);
			}
			T_CHECK(t, p + reclen <= (size_t)n && d->namelen > 0);
			if (p + reclen > (size_t)n || d->namelen == 0)
				return;
			note(t, s, plus ? "readdirplus" : "readdir", d->name, d->namelen);
			off = d->off;
			p += reclen;
		}
	}
	T_OK(t, fe_fsyncdir(t->fe, node, o.fh, false));
	T_OK(t, fe_releasedir(t->fe, node, o.fh));
}

static void make_dir(struct th *t, const char *d, uint64_t *ret_node)
{
	struct fuse_entry_out de;
	char p[256], data[NFILES];

	memset(data, 'x', sizeof(data));
	T_OK(t, fe_mkdir(t->fe, FE_ROOT_ID, d, 0755, 0, &de));
	for (int i = 0; i < NFILES; i++) {
		snprintf(p, sizeof(p), "%s/f%d", d, i);
		/* File i holds i bytes, so sizes identify entries. */
		T_OK(t, th_host_write(t, p, data, (size_t)i));
	}
	*ret_node = de.nodeid;
}

static void check_seen(struct th *t, const struct seen *s)
{
	T_CHECK(t, s->dot);
	T_CHECK(t, s->dotdot);
	T_EQ(t, s->count, NFILES + 2);
	for (int i = 0; i < NFILES; i++)
		T_CHECK(t, s->name[i]);
}

static void test_readdir(struct th *t)
{
	const char *d = th_name(t, "readdir");
	struct seen s = {0};
	uint64_t node;

	make_dir(t, d, &node);
	read_all(t, node, false, d, &s);
	check_seen(t, &s);
}

static void test_readdirplus(struct th *t)
{
	const char *d = th_name(t, "readdirplus");
	struct seen s = {0};
	uint64_t node;

	make_dir(t, d, &node);
	read_all(t, node, true, d, &s);
	check_seen(t, &s);
}

static void test_dir_errors(struct th *t)
{
	const char *n = th_name(t, "notadir");
	struct fuse_entry_out e;
	struct fuse_open_out o;
	uint8_t buf[256];

	T_OK(t, th_host_write(t, n, "x", 1));
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, n, &e));
	T_EQ(t, fe_opendir(t->fe, e.nodeid, &o), -ENOTDIR);
	int r = fe_readdir(t->fe, FE_ROOT_ID, 0xfeedfaceull, 0, buf, sizeof(buf));
	T_CHECK(t, r < 0 && r != -ETIMEDOUT && r != -FE_EBADREPLY);
	r = fe_releasedir(t->fe, FE_ROOT_ID, 0xfeedfaceull);
	T_CHECK(t, r != -ETIMEDOUT && r != -FE_EBADREPLY);
}

const struct th_test th_dir_tests[] = {
	{"opendir-readdir-fsyncdir-releasedir", test_readdir},
	{"readdirplus", test_readdirplus},
	{"dir-errors", test_dir_errors},
	TH_TESTS_END,
};
