// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Passthrough backend, core paths: node ids and lookup counts, forged ids and handles, file
 * I/O, readdir/readdirplus with a small reply budget, confinement (symlinks never followed,
 * special files never opened), the fd budget, session reset and concurrent lookup/forget.
 */
#include "pt_test.h"

#include <errno.h>
#include <pthread.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>

static void test_lookup_refcounts(void)
{
	struct tenv t;
	struct fs_entry e1, e2;
	struct stat st;
	double to;
	uint64_t id;

	CHECK_EQ(tenv_init(&t, NULL), 0);
	thost_write(&t, "a", "hello", 0644);
	CHECK_EQ(t.ops->lookup(t.fs, &root_ctx, FS_ROOT_ID, "a", &e1), 0);
	CHECK(e1.nodeid > FS_ROOT_ID);
	CHECK(S_ISREG(e1.attr.st_mode));
	CHECK_EQ(e1.attr.st_size, 5);
	CHECK(e1.entry_timeout == 1.0);
	CHECK_EQ(t.ops->lookup(t.fs, &root_ctx, FS_ROOT_ID, "a", &e2), 0);
	CHECK_EQ(e2.nodeid, e1.nodeid);
	t.ops->forget(t.fs, e1.nodeid, 1);
	CHECK_EQ(t.ops->getattr(t.fs, &root_ctx, e1.nodeid, false, 0, &st, NULL, &to), 0);
	t.ops->forget(t.fs, e1.nodeid, 1);
	CHECK_EQ(t.ops->getattr(t.fs, &root_ctx, e1.nodeid, false, 0, &st, NULL, &to), -ENOENT);
	/* A node id is never handed out twice. */
	id = tlookup(&t, FS_ROOT_ID, "a");
	CHECK(id != 0 && id != e1.nodeid);
	/* Saturating forget of a huge count, and of the root, are harmless. */
	t.ops->forget(t.fs, id, UINT64_MAX);
	CHECK_EQ(t.ops->getattr(t.fs, &root_ctx, id, false, 0, &st, NULL, &to), -ENOENT);
	t.ops->forget(t.fs, FS_ROOT_ID, UINT64_MAX);
	CHECK_EQ(t.ops->getattr(t.fs, &root_ctx, FS_ROOT_ID, false, 0, &st, NULL, &to), 0);
	CHECK_EQ(t.ops->lookup(t.fs, &root_ctx, FS_ROOT_ID, "missing", &e1), -ENOENT);
	tenv_done(&t);
}

static void test_forged(void)
{
	struct tenv t;
	struct fs_entry e;
	struct stat st;
	double to;
	char buf[8];
	struct iovec iov = {buf, sizeof(buf)};
	uint64_t a, b, fh;

	CHECK_EQ(tenv_init(&t, NULL), 0);
	thost_write(&t, "a", "x", 0644);
	thost_write(&t, "b", "y", 0644);
	CHECK_EQ(t.ops->lookup(t.fs, &root_ctx, 0, "a", &e), -ENOENT);
	CHECK_EQ(t.ops->lookup(t.fs, &root_ctx, 0xdeadbeef, "a", &e), -ENOENT);
	CHECK_EQ(t.ops->getattr(t.fs, &root_ctx, UINT64_MAX, false, 0, &st, NULL, &to), -ENOENT);
	a = tlookup(&t, FS_ROOT_ID, "a");
	b = tlookup(&t, FS_ROOT_ID, "b");
	fh = topen(&t, a, O_RDONLY);
	CHECK(fh != 0);
	CHECK_EQ(t.ops->read(t.fs, &root_ctx, a, fh + 1000, &iov, 1, 0), -EBADF);
	/* A real handle presented with another node id is refused too. */
	CHECK_EQ(t.ops->read(t.fs, &root_ctx, b, fh, &iov, 1, 0), -EBADF);
	CHECK_EQ(t.ops->read(t.fs, &root_ctx, a, fh, &iov, 1, 0), 1);
	CHECK_EQ(t.ops->getattr(t.fs, &root_ctx, a, true, 12345, &st, NULL, &to), -EBADF);
	CHECK_EQ(t.ops->release(t.fs, &root_ctx, a, fh), 0);
	CHECK_EQ(t.ops->release(t.fs, &root_ctx, a, fh), -EBADF);
	CHECK_EQ(t.ops->read(t.fs, &root_ctx, a, fh, &iov, 1, 0), -EBADF);
	/* Names fuse/ should have rejected are rejected here as well. */
	CHECK_EQ(t.ops->lookup(t.fs, &root_ctx, FS_ROOT_ID, "..", &e), -EINVAL);
	CHECK_EQ(t.ops->lookup(t.fs, &root_ctx, FS_ROOT_ID, "../etc", &e), -EINVAL);
	CHECK_EQ(t.ops->symlink(t.fs, &root_ctx, FS_ROOT_ID, "/tmp/vfsd-escape", "x", &e), -EINVAL);
	tenv_done(&t);
}

static void test_file_io(void)
{
	struct tenv t;
	struct fs_entry e;
	struct fs_setattr sa = {0};
	struct stat st;
	double to;
	uint64_t fh;
	uint32_t of;
	char a[] = "hello ", b[] = "world", out[32] = {0};
	struct iovec wv[2] = {{a, 6}, {b, 5}};
	struct iovec rv[2] = {{out, 3}, {out + 3, sizeof(out) - 3}};

	CHECK_EQ(tenv_init(&t, NULL), 0);
	CHECK_EQ(t.ops->create(t.fs, &root_ctx, FS_ROOT_ID, "f", S_IFREG | 0640, O_RDWR, 0, &e, &fh,
			       &of),
		 0);
	CHECK(S_ISREG(e.attr.st_mode) && (e.attr.st_mode & 07777) == 0640);
	CHECK_EQ(t.ops->create(t.fs, &root_ctx, FS_ROOT_ID, "f", S_IFREG | 0640,
			       O_RDWR | O_CREAT | O_EXCL, 0, &e, &fh, &of),
		 -EEXIST);
	CHECK_EQ(t.ops->write(t.fs, &root_ctx, e.nodeid, fh, wv, 2, 0, 0, NULL), 11);
	CHECK_EQ(t.ops->read(t.fs, &root_ctx, e.nodeid, fh, rv, 2, 0), 11);
	CHECK_STREQ(out, "hello world");
	CHECK_EQ(t.ops->read(t.fs, &root_ctx, e.nodeid, fh, rv, 2, 100), 0);
	sa.valid = FS_SET_SIZE;
	sa.size = 5;
	CHECK_EQ(t.ops->setattr(t.fs, &root_ctx, e.nodeid, &sa, &st, NULL, &to, NULL), 0);
	CHECK_EQ(st.st_size, 5);
	sa.valid = FS_SET_MODE | FS_SET_MTIME;
	sa.mode = 0600;
	sa.mtime.tv_sec = 1000000;
	CHECK_EQ(t.ops->setattr(t.fs, &root_ctx, e.nodeid, &sa, &st, NULL, &to, NULL), 0);
	CHECK_EQ(st.st_mode & 07777, 0600);
	CHECK_EQ(st.st_mtim.tv_sec, 1000000);
	sa.valid = FS_SET_UID | FS_SET_GID;
	sa.uid = 1234;
	sa.gid = 4321;
	CHECK_EQ(t.ops->setattr(t.fs, &root_ctx, e.nodeid, &sa, &st, NULL, &to, NULL), 0);
	CHECK_EQ(st.st_uid, 1234);
	CHECK_EQ(st.st_gid, 4321);
	CHECK_EQ(t.ops->fsync(t.fs, &root_ctx, e.nodeid, fh, true), 0);
	CHECK_EQ(t.ops->release(t.fs, &root_ctx, e.nodeid, fh), 0);
	/* Opening an existing name through create without O_EXCL works (and truncates). */
	CHECK_EQ(t.ops->create(t.fs, &root_ctx, FS_ROOT_ID, "f", S_IFREG | 0640, O_RDWR | O_TRUNC,
			       0, &e, &fh, &of),
		 0);
	CHECK_EQ(e.attr.st_size, 0);
	CHECK_EQ(t.ops->release(t.fs, &root_ctx, e.nodeid, fh), 0);
	tenv_done(&t);
}

static void test_symlink_confinement(void)
{
	struct tenv t;
	struct fs_entry e;
	char buf[PATH_MAX];
	uint64_t fh;
	uint32_t of;
	uint64_t abs, rel, dir;

	CHECK_EQ(tenv_init(&t, NULL), 0);
	CHECK_EQ(symlink("/etc", tpath(&t, "abs")), 0);
	CHECK_EQ(symlink("../../../../../../etc", tpath(&t, "rel")), 0);
	CHECK_EQ(symlink("/etc/passwd", tpath(&t, "file")), 0);
	CHECK_EQ(t.ops->lookup(t.fs, &root_ctx, FS_ROOT_ID, "abs", &e), 0);
	CHECK(S_ISLNK(e.attr.st_mode));
	abs = e.nodeid;
	rel = tlookup(&t, FS_ROOT_ID, "rel");
	CHECK_EQ(t.ops->lookup(t.fs, &root_ctx, abs, "passwd", &e), -ENOTDIR);
	CHECK_EQ(t.ops->lookup(t.fs, &root_ctx, rel, "passwd", &e), -ENOTDIR);
	CHECK_EQ(t.ops->opendir(t.fs, &root_ctx, abs, O_RDONLY, &fh, &of), -ENOTDIR);
	CHECK_EQ(t.ops->open(t.fs, &root_ctx, tlookup(&t, FS_ROOT_ID, "file"), O_RDONLY, &fh, &of),
		 -ELOOP);
	CHECK_EQ(t.ops->create(t.fs, &root_ctx, abs, "x", S_IFREG | 0644, O_RDWR, 0, &e, &fh, &of),
		 -ENOTDIR);
	CHECK_EQ(t.ops->mkdir(t.fs, &root_ctx, rel, "x", 0755, 0, &e), -ENOTDIR);
	/* create over an existing dangling/outside symlink must not follow it. */
	CHECK_EQ(symlink("/tmp/vfsd-pt-should-not-exist", tpath(&t, "dangling")), 0);
	CHECK(t.ops->create(t.fs, &root_ctx, FS_ROOT_ID, "dangling", S_IFREG | 0644, O_RDWR, 0, &e,
			    &fh, &of) < 0);
	CHECK(access("/tmp/vfsd-pt-should-not-exist", F_OK) < 0);
	CHECK_EQ(t.ops->readlink(t.fs, &root_ctx, abs, buf, sizeof(buf)), 4);
	CHECK(memcmp(buf, "/etc", 4) == 0);
	CHECK_EQ(t.ops->readlink(t.fs, &root_ctx, abs, buf, 2), -ERANGE);
	/* A guest-made symlink with an absolute target is stored, never resolved. */
	CHECK_EQ(t.ops->symlink(t.fs, &root_ctx, FS_ROOT_ID, "s", "/etc/shadow", &e), 0);
	CHECK(S_ISLNK(e.attr.st_mode));
	CHECK_EQ(t.ops->open(t.fs, &root_ctx, e.nodeid, O_RDONLY, &fh, &of), -ELOOP);
	dir = tlookup(&t, FS_ROOT_ID, "s");
	CHECK_EQ(dir, e.nodeid);
	tenv_done(&t);
}

static void test_special_files(void)
{
	struct tenv t;
	struct fs_entry e;
	uint64_t fh;
	uint32_t of;

	CHECK_EQ(tenv_init(&t, NULL), 0);
	CHECK_EQ(t.ops->mknod(t.fs, &root_ctx, FS_ROOT_ID, "fifo", S_IFIFO | 0666, 0, 0, &e), 0);
	CHECK(S_ISFIFO(e.attr.st_mode));
	/* Would block forever on a real open; must be refused outright (CVE-2020-35517). */
	CHECK_EQ(t.ops->open(t.fs, &root_ctx, e.nodeid, O_RDONLY, &fh, &of), -EACCES);
	CHECK_EQ(t.ops->open(t.fs, &root_ctx, e.nodeid, O_WRONLY, &fh, &of), -EACCES);
	CHECK_EQ(t.ops->mknod(t.fs, &root_ctx, FS_ROOT_ID, "null", S_IFCHR | 0666, makedev(1, 3), 0,
			      &e),
		 0);
	CHECK(S_ISCHR(e.attr.st_mode));
	CHECK_EQ(t.ops->open(t.fs, &root_ctx, e.nodeid, O_RDWR, &fh, &of), -EACCES);
	/* A non-root guest cannot make device nodes. */
	CHECK_EQ(t.ops->mknod(t.fs, &user_ctx, FS_ROOT_ID, "null2", S_IFCHR | 0666, makedev(1, 3),
			      0, &e),
		 -EPERM);
	/* create of an existing FIFO name opens nothing. */
	CHECK_EQ(t.ops->create(t.fs, &root_ctx, FS_ROOT_ID, "fifo", S_IFREG | 0644, O_RDWR, 0, &e,
			       &fh, &of),
		 -EACCES);
	CHECK_EQ(t.ops->mknod(t.fs, &root_ctx, FS_ROOT_ID, "bad", S_IFDIR | 0755, 0, 0, &e),
		 -EINVAL);
	tenv_done(&t);
}

struct fillctx {
	unsigned budget, stored;
	uint64_t last_off;
	uint64_t rejected_nodeid;
	uint64_t nodeids[64];
	char names[64][16];
};

static int fill_cb(void *cookie, const struct fs_dirent *d, const struct fs_entry *entry)
{
	struct fillctx *c = cookie;

	if (c->stored >= c->budget) {
		c->rejected_nodeid = entry ? entry->nodeid : 0;
		return -ENOSPC;
	}
	if (c->stored < 64) {
		snprintf(c->names[c->stored], sizeof(c->names[0]), "%.*s", (int)d->namelen,
			 d->name);
		c->nodeids[c->stored] = entry ? entry->nodeid : 0;
	}
	c->stored++;
	c->last_off = d->off;
	return 0;
}

static void test_readdir(void)
{
	struct tenv t;
	struct fillctx c = {0};
	struct stat st;
	double to;
	uint64_t fh, off = 0;
	uint32_t of;
	unsigned total = 0, named = 0;
	char name[16];

	CHECK_EQ(tenv_init(&t, NULL), 0);
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		thost_write(&t, name, "", 0644);
	}
	CHECK_EQ(t.ops->opendir(t.fs, &root_ctx, FS_ROOT_ID, O_RDONLY, &fh, &of), 0);
	/* readdirplus, three entries per reply. */
	for (int round = 0; round < 20; round++) {
		memset(&c, 0, sizeof(c));
		c.budget = 3;
		CHECK_EQ(t.ops->readdir(t.fs, &root_ctx, FS_ROOT_ID, fh, off, true, fill_cb, &c),
			 0);
		if (c.stored == 0)
			break;
		for (unsigned i = 0; i < c.stored; i++) {
			bool dot = !strcmp(c.names[i], ".") || !strcmp(c.names[i], "..");

			CHECK(dot ? c.nodeids[i] == 0 : c.nodeids[i] > FS_ROOT_ID);
			if (!dot) {
				named++;
				/* Exactly one reference per accepted entry. */
				t.ops->forget(t.fs, c.nodeids[i], 1);
				CHECK_EQ(t.ops->getattr(t.fs, &root_ctx, c.nodeids[i], false, 0,
							&st, NULL, &to),
					 -ENOENT);
			}
		}
		/* The entry that did not fit had its lookup dropped. */
		if (c.rejected_nodeid)
			CHECK_EQ(t.ops->getattr(t.fs, &root_ctx, c.rejected_nodeid, false, 0, &st,
						NULL, &to),
				 -ENOENT);
		total += c.stored;
		off = c.last_off;
	}
	CHECK_EQ(total, 12);
	CHECK_EQ(named, 10);
	/* Plain readdir from the start again, then resume from an earlier cookie. */
	memset(&c, 0, sizeof(c));
	c.budget = 100;
	CHECK_EQ(t.ops->readdir(t.fs, &root_ctx, FS_ROOT_ID, fh, 0, false, fill_cb, &c), 0);
	CHECK_EQ(c.stored, 12);
	CHECK_EQ(c.nodeids[5], 0);
	CHECK_EQ(t.ops->releasedir(t.fs, &root_ctx, FS_ROOT_ID, fh), 0);
	CHECK_EQ(t.ops->readdir(t.fs, &root_ctx, FS_ROOT_ID, fh, 0, false, fill_cb, &c), -EBADF);
	tenv_done(&t);
}

static void test_fd_budget_and_reset(void)
{
	struct tenv t;
	struct pt_config cfg = tenv_default_config();
	struct fs_entry e;
	struct stat st;
	double to;
	char name[16];
	uint64_t first = 0, fh;
	uint32_t of;

	cfg.max_guest_fds = 4;
	CHECK_EQ(tenv_init(&t, &cfg), 0);
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		thost_write(&t, name, "", 0644);
	}
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		CHECK_EQ(t.ops->lookup(t.fs, &root_ctx, FS_ROOT_ID, name, &e), 0);
		if (!first)
			first = e.nodeid;
	}
	CHECK_EQ(t.ops->lookup(t.fs, &root_ctx, FS_ROOT_ID, "f4", &e), -ENFILE);
	CHECK_EQ(t.ops->open(t.fs, &root_ctx, first, O_RDONLY, &fh, &of), -EMFILE);
	/* Session reset: every node but the root and every handle go away, budget is back. */
	t.ops->destroy(t.fs);
	CHECK_EQ(t.ops->getattr(t.fs, &root_ctx, first, false, 0, &st, NULL, &to), -ENOENT);
	CHECK_EQ(t.ops->getattr(t.fs, &root_ctx, FS_ROOT_ID, false, 0, &st, NULL, &to), 0);
	CHECK_EQ(t.ops->lookup(t.fs, &root_ctx, FS_ROOT_ID, "f4", &e), 0);
	CHECK(e.nodeid > first);
	tenv_done(&t);
}

struct race {
	struct tenv *t;
	int id;
};

static void *race_thread(void *arg)
{
	struct race *r = arg;
	struct fs_entry e;
	struct stat st;
	double to;
	char buf[4];
	struct iovec iov = {buf, sizeof(buf)};

	for (int i = 0; i < 2000; i++) {
		if (r->t->ops->lookup(r->t->fs, &root_ctx, FS_ROOT_ID, "shared", &e) < 0)
			continue;
		r->t->ops->getattr(r->t->fs, &root_ctx, e.nodeid, false, 0, &st, NULL, &to);
		uint64_t fh = topen(r->t, e.nodeid, O_RDONLY);

		if (fh) {
			r->t->ops->read(r->t->fs, &root_ctx, e.nodeid, fh, &iov, 1, 0);
			r->t->ops->release(r->t->fs, &root_ctx, e.nodeid, fh);
		}
		r->t->ops->forget(r->t->fs, e.nodeid, 1);
	}
	return NULL;
}

static void test_concurrency(void)
{
	struct tenv t;
	pthread_t th[4];
	struct race r[4];
	struct fs_entry e;

	CHECK_EQ(tenv_init(&t, NULL), 0);
	thost_write(&t, "shared", "data", 0644);
	for (int i = 0; i < 4; i++) {
		r[i] = (struct race){&t, i};
		pthread_create(&th[i], NULL, race_thread, &r[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	/* Every reference was given back: the next lookup makes a fresh node. */
	CHECK_EQ(t.ops->lookup(t.fs, &root_ctx, FS_ROOT_ID, "shared", &e), 0);
	t.ops->forget(t.fs, e.nodeid, 1);
	tenv_done(&t);
}

int main(void)
{
	test_lookup_refcounts();
	test_forged();
	test_file_io();
	test_symlink_confinement();
	test_special_files();
	test_readdir();
	test_fd_budget_and_reset();
	test_concurrency();
	return check_report("passthrough-core");
}
