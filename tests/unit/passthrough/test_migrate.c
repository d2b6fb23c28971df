/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The passthrough backend's migration state (op_migrate.c) through the state_save/state_load ops:
 * a second backend on the same share takes over the node ids, lookup counts and open handles
 * of the first; every truncation of the state is refused (and leaves a backend that destroy()
 * cleans up); lost nodes follow the policy; lost locks answer ENOLCK.
 */
#include <errno.h>
#include <sys/stat.h>

#include "pt_test.h"

struct mig {
	struct fs_backend be;
	const struct fs_ops *ops;
	void *fs;
};

/* A backend on t's share with these policies, after init(). */
static int mig_new(struct tenv *t, bool guest_error, bool handles, struct mig *m)
{
	struct pt_config cfg = tenv_default_config();
	struct fs_init_info info = {0};

	cfg.shared_dir = t->dir;
	cfg.migration_guest_error = guest_error;
	cfg.migration_file_handles = handles;
	if (pt_new(&cfg, &m->be) < 0)
		return -1;
	m->ops = m->be.ops;
	m->fs = m->be.fs;
	return m->ops->init(m->fs, &info);
}

static void mig_free(struct mig *m)
{
	m->ops->destroy(m->fs);
	pt_free(&m->be);
}

static int mig_load(struct mig *m, const struct sbuf_w *w, size_t len)
{
	struct sbuf_r r = sbuf_reader(w->buf, len);
	int e = m->ops->state_load(m->fs, &r);

	if (e == 0 && (r.err || sbuf_remaining(&r)))
		e = -EBADMSG;
	return e;
}

struct ids {
	uint64_t d, g, f, fh, dfh;
};

static void populate(struct tenv *t, struct ids *ids)
{
	CHECK_EQ(mkdir(tpath(t, "d"), 0755), 0);
	thost_write(t, "d/g", "gee", 0644);
	thost_write(t, "f", "eff!", 0644);
	ids->d = tlookup(t, FS_ROOT_ID, "d");
	ids->g = tlookup(t, ids->d, "g");
	ids->f = tlookup(t, FS_ROOT_ID, "f");
	(void)tlookup(t, FS_ROOT_ID, "f"); /* lookup count 2 */
	ids->fh = topen(t, ids->f, O_RDWR);
	CHECK_EQ(t->ops->opendir(t->fs, &root_ctx, ids->d, O_RDONLY, &ids->dfh, &(uint32_t){0}), 0);
	CHECK(ids->d && ids->g && ids->f && ids->fh && ids->dfh);
}

static void test_round_trip(void)
{
	struct tenv t;
	struct ids ids;
	struct sbuf_w w = {0};
	struct mig m;
	struct stat st;
	struct fs_entry e;
	char buf[16];
	struct iovec iov = {buf, sizeof(buf)};

	CHECK_EQ(tenv_init(&t, NULL), 0);
	populate(&t, &ids);
	CHECK_EQ(t.ops->state_save(t.fs, &w), 0);
	CHECK_EQ(w.err, 0);
	/* Saving changed nothing on the source. */
	CHECK_EQ(t.ops->getattr(t.fs, &root_ctx, ids.f, true, ids.fh, &st, NULL, &(double){0}), 0);

	CHECK_EQ(mig_new(&t, false, false, &m), 0);
	CHECK_EQ(mig_load(&m, &w, w.len), 0);
	CHECK_EQ(m.ops->getattr(m.fs, &root_ctx, ids.g, false, 0, &st, NULL, &(double){0}), 0);
	CHECK_EQ(st.st_size, 3);
	CHECK_EQ(m.ops->read(m.fs, &root_ctx, ids.f, ids.fh, &iov, 1, 0), 4);
	CHECK(!memcmp(buf, "eff!", 4));
	/* The same host object is found under its old id; new ids come after the old ones. */
	CHECK_EQ(m.ops->lookup(m.fs, &root_ctx, FS_ROOT_ID, "f", &e), 0);
	CHECK_EQ(e.nodeid, ids.f);
	thost_write(&t, "new", "", 0644);
	CHECK_EQ(m.ops->lookup(m.fs, &root_ctx, FS_ROOT_ID, "new", &e), 0);
	CHECK(e.nodeid > ids.g && e.nodeid > ids.f);
	/* Lookup counts: two forgets of f's three references leave it known. */
	m.ops->forget(m.fs, ids.f, 2);
	CHECK_EQ(m.ops->getattr(m.fs, &root_ctx, ids.f, false, 0, &st, NULL, &(double){0}), 0);
	m.ops->forget(m.fs, ids.f, 1);
	CHECK_EQ(m.ops->release(m.fs, &root_ctx, ids.f, ids.fh), 0);
	CHECK_EQ(m.ops->getattr(m.fs, &root_ctx, ids.f, false, 0, &st, NULL, &(double){0}),
		 -ENOENT);
	mig_free(&m);

	/* Every truncation is refused, and destroy() cleans up what was loaded. */
	for (size_t n = 0; n < w.len; n++) {
		CHECK_EQ(mig_new(&t, n & 1, false, &m), 0);
		CHECK(mig_load(&m, &w, n) < 0);
		mig_free(&m);
	}
	free(w.buf);
	tenv_done(&t);
}

static void test_lost(void)
{
	struct tenv t;
	struct ids ids;
	struct sbuf_w w = {0};
	struct mig m;
	struct stat st;
	char buf[8];
	struct iovec iov = {buf, sizeof(buf)};

	CHECK_EQ(tenv_init(&t, NULL), 0);
	populate(&t, &ids);
	CHECK_EQ(unlink(tpath(&t, "f")), 0);
	CHECK_EQ(t.ops->state_save(t.fs, &w), 0);
	CHECK_EQ(mig_new(&t, false, false, &m), 0);
	CHECK_EQ(mig_load(&m, &w, w.len), -ENOENT);
	mig_free(&m);
	CHECK_EQ(mig_new(&t, true, false, &m), 0);
	CHECK_EQ(mig_load(&m, &w, w.len), 0);
	CHECK_EQ(m.ops->getattr(m.fs, &root_ctx, ids.f, false, 0, &st, NULL, &(double){0}), -EIO);
	CHECK_EQ(m.ops->read(m.fs, &root_ctx, ids.f, ids.fh, &iov, 1, 0), -EIO);
	CHECK_EQ(m.ops->getattr(m.fs, &root_ctx, ids.g, false, 0, &st, NULL, &(double){0}), 0);
	CHECK_EQ(m.ops->release(m.fs, &root_ctx, ids.f, ids.fh), 0);
	m.ops->forget(m.fs, ids.f, 2);
	CHECK_EQ(m.ops->getattr(m.fs, &root_ctx, ids.f, false, 0, &st, NULL, &(double){0}),
		 -ENOENT);
	mig_free(&m);
	free(w.buf);
	tenv_done(&t);
}

static void test_locks_lost(void)
{
	struct tenv t;
	struct ids ids;
	struct sbuf_w w = {0};
	struct mig m;
	struct fs_lock wr = {.type = F_WRLCK, .start = 0, .end = 9};
	struct fs_lock un = {.type = F_UNLCK, .start = 0, .end = 9};
	uint64_t gfh;

	CHECK_EQ(tenv_init(&t, NULL), 0);
	populate(&t, &ids);
	gfh = topen(&t, ids.g, O_RDWR);
	CHECK_EQ(t.ops->setlk(t.fs, &root_ctx, ids.f, ids.fh, 1, &wr, false), 0);
	CHECK_EQ(t.ops->state_save(t.fs, &w), 0);
	CHECK_EQ(mig_new(&t, false, false, &m), 0);
	CHECK_EQ(mig_load(&m, &w, w.len), 0);
	CHECK_EQ(m.ops->setlk(m.fs, &root_ctx, ids.f, ids.fh, 1, &wr, false), -ENOLCK);
	CHECK_EQ(m.ops->flock(m.fs, &root_ctx, ids.f, ids.fh, LOCK_EX, false), -ENOLCK);
	CHECK_EQ(m.ops->setlk(m.fs, &root_ctx, ids.f, ids.fh, 1, &un, false), 0);
	CHECK_EQ(m.ops->setlk(m.fs, &root_ctx, ids.g, gfh, 2, &wr, false), 0);
	mig_free(&m);
	free(w.buf);
	tenv_done(&t);
}

/* More nodes than a destination takes: refused before any is looked at (and the bytes for
 * them are really there, so only the cap can refuse it). */
static void test_caps(void)
{
	const uint32_t n = (1u << 21) + 1;
	struct tenv t;
	struct sbuf_w w = {0};
	struct mig m;

	CHECK_EQ(tenv_init(&t, NULL), 0);
	sbuf_put_u64(&w, 1ull << 40);
	sbuf_put_u32(&w, n);
	for (uint32_t i = 0; i < n; i++) {
		sbuf_put_u64(&w, 2 + i);
		sbuf_put_u64(&w, 1);
		sbuf_put_u32(&w, S_IFREG);
		sbuf_put_u32(&w, 0);
	}
	CHECK_EQ(w.err, 0);
	CHECK_EQ(mig_new(&t, true, false, &m), 0);
	CHECK_EQ(mig_load(&m, &w, w.len), -E2BIG);
	mig_free(&m);
	free(w.buf);
	tenv_done(&t);
}

int main(void)
{
	test_round_trip();
	test_lost();
	test_locks_lost();
	test_caps();
	return check_report("passthrough-migrate");
}
