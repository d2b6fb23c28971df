// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Passthrough backend, bounded fds: forget really closes what lookup opened (every mode), and
 * with --inode-file-handles the fds held stay under the cache limit however many inodes are
 * looked up, while every op still reaches its inode (reopened by handle), also from threads
 * racing on a cache far smaller than their working set.
 */
#include "pt_test.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sys/uio.h>

#define NFILES 300
#define CACHE  8

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the DIR's own fd */
}

static void make_files(struct tenv *t)
{
	char name[32];

	mkdir(tpath(t, "d"), 0755);
	for (int i = 0; i < NFILES; i++) {
		snprintf(name, sizeof(name), "d/f%d", i);
		thost_write(t, name, "data", 0644);
	}
	CHECK_EQ(symlink("target", tpath(t, "d/link")), 0);
}

static void lookup_all(struct tenv *t, uint64_t dir, uint64_t *ids)
{
	char name[32];

	for (int i = 0; i < NFILES; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		ids[i] = tlookup(t, dir, name);
		CHECK(ids[i] != 0);
	}
}

static void forget_all(struct tenv *t, uint64_t dir, const uint64_t *ids)
{
	for (int i = 0; i < NFILES; i++)
		t->ops->forget(t->fs, ids[i], 1);
	t->ops->forget(t->fs, dir, 1);
}

/* Forget of the last lookup reference closes the inode's fd, in every mode. */
static void test_forget_frees(enum pt_inode_fh mode)
{
	struct pt_config cfg = tenv_default_config();
	uint64_t ids[NFILES], dir;
	struct tenv t;
	int base;

	cfg.inode_file_handles = mode;
	cfg.fd_cache_size = CACHE;
	CHECK_EQ(tenv_init(&t, &cfg), 0);
	make_files(&t);
	base = count_fds();
	dir = tlookup(&t, FS_ROOT_ID, "d");
	CHECK(dir != 0);
	lookup_all(&t, dir, ids);
	if (mode == PT_INODE_FH_NEVER)
		CHECK(count_fds() >= base + NFILES);
	else
		CHECK(count_fds() <= base + CACHE + 1); /* + the mount's fd */
	/* A second lookup of each only adds references. */
	lookup_all(&t, dir, ids);
	for (int i = 0; i < NFILES; i++)
		t.ops->forget(t.fs, ids[i], 1);
	CHECK(count_fds() > base);
	forget_all(&t, dir, ids);
	CHECK_EQ(count_fds(), base);
	tenv_done(&t);
}

/* Every kind of op works on inodes whose fd was evicted long ago. */
static void test_handles_reopen(void)
{
	struct pt_config cfg = tenv_default_config();
	uint64_t ids[NFILES], dir, link, fh;
	char buf[16];
	struct iovec iov = {buf, sizeof(buf)};
	struct fs_entry e;
	struct stat st;
	struct tenv t;
	double to;
	int base;

	cfg.inode_file_handles = PT_INODE_FH_MANDATORY;
	cfg.fd_cache_size = CACHE;
	CHECK_EQ(tenv_init(&t, &cfg), 0);
	make_files(&t);
	base = count_fds();
	dir = tlookup(&t, FS_ROOT_ID, "d");
	link = tlookup(&t, dir, "link");
	CHECK(dir && link);
	lookup_all(&t, dir, ids);
	for (int i = 0; i < NFILES; i++) {
		CHECK_EQ(t.ops->getattr(t.fs, &root_ctx, ids[i], false, 0, &st, NULL, &to), 0);
		CHECK_EQ(st.st_size, 4);
	}
	CHECK_EQ(t.ops->readlink(t.fs, &root_ctx, link, buf, sizeof(buf)), 6);
	CHECK(!memcmp(buf, "target", 6));
	fh = topen(&t, ids[0], O_RDONLY);
	CHECK(fh != 0);
	CHECK_EQ(t.ops->read(t.fs, &root_ctx, ids[0], fh, &iov, 1, 0), 4);
	CHECK_EQ(t.ops->release(t.fs, &root_ctx, ids[0], fh), 0);
	/* Create, then look up through an evicted directory. */
	CHECK_EQ(t.ops->mkdir(t.fs, &root_ctx, dir, "sub", 0755, 0, &e), 0);
	CHECK_EQ(t.ops->getattr(t.fs, &root_ctx, ids[NFILES - 1], false, 0, &st, NULL, &to), 0);
	CHECK_EQ(t.ops->lookup(t.fs, &root_ctx, dir, "sub", &e), 0);
	t.ops->forget(t.fs, e.nodeid, 2);
	CHECK(count_fds() <= base + CACHE + 1);
	/* Gone from the host while evicted: an error, not a crash nor another file. */
	CHECK_EQ(unlink(tpath(&t, "d/f0")), 0);
	for (int i = 1; i <= CACHE; i++)
		CHECK_EQ(t.ops->getattr(t.fs, &root_ctx, ids[i], false, 0, &st, NULL, &to), 0);
	CHECK(t.ops->getattr(t.fs, &root_ctx, ids[0], false, 0, &st, NULL, &to) < 0);
	/* Open, unlinked and evicted: still reachable through its open handle. */
	fh = topen(&t, ids[1], O_RDONLY);
	CHECK(fh != 0);
	CHECK_EQ(unlink(tpath(&t, "d/f1")), 0);
	for (int i = 2; i <= CACHE + 2; i++)
		CHECK_EQ(t.ops->getattr(t.fs, &root_ctx, ids[i], false, 0, &st, NULL, &to), 0);
	CHECK_EQ(t.ops->getattr(t.fs, &root_ctx, ids[1], true, fh, &st, NULL, &to), 0);
	CHECK_EQ(st.st_nlink, 0);
	CHECK_EQ(t.ops->read(t.fs, &root_ctx, ids[1], fh, &iov, 1, 0), 4);
	CHECK_EQ(t.ops->release(t.fs, &root_ctx, ids[1], fh), 0);
	t.ops->forget(t.fs, link, 1);
	forget_all(&t, dir, ids);
	CHECK_EQ(count_fds(), base);
	tenv_done(&t);
}

struct worker {
	struct tenv *t;
	const uint64_t *ids;
	unsigned seed;
	int errors;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct stat st;
	double to;

	for (int i = 0; i < 20000; i++) {
		uint64_t id = w->ids[rand_r(&w->seed) % NFILES];

		if (w->t->ops->getattr(w->t->fs, &root_ctx, id, false, 0, &st, NULL, &to) < 0 ||
		    st.st_size != 4)
			w->errors++;
	}
	return NULL;
}

static void test_handles_threads(void)
{
	struct pt_config cfg = tenv_default_config();
	struct worker w[4];
	pthread_t th[4];
	uint64_t ids[NFILES], dir;
	struct tenv t;
	int base;

	cfg.inode_file_handles = PT_INODE_FH_PREFER;
	cfg.fd_cache_size = 2;
	CHECK_EQ(tenv_init(&t, &cfg), 0);
	make_files(&t);
	base = count_fds();
	dir = tlookup(&t, FS_ROOT_ID, "d");
	lookup_all(&t, dir, ids);
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){&t, ids, (unsigned)i + 1, 0};
		CHECK_EQ(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CHECK_EQ(w[i].errors, 0);
	}
	forget_all(&t, dir, ids);
	CHECK_EQ(count_fds(), base);
	tenv_done(&t);
}

int main(void)
{
	test_forget_frees(PT_INODE_FH_NEVER);
	test_forget_frees(PT_INODE_FH_PREFER);
	test_forget_frees(PT_INODE_FH_MANDATORY);
	test_handles_reopen();
	test_handles_threads();
	return check_report("passthrough-fh");
}
