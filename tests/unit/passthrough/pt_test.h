/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared fixture for the passthrough unit tests: a fresh temporary share, a backend on it, and
 * small wrappers that drive the ops table directly. The tests run as root (they switch to other
 * ids through fs_ctx to exercise permission checks).
 */
#ifndef VFSD_TESTS_PT_TEST_H
#define VFSD_TESTS_PT_TEST_H

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "fs/passthrough/passthrough.h"

struct tenv {
	char dir[PATH_MAX];
	struct fs_backend be;
	const struct fs_ops *ops;
	struct fs_state *fs;
};

static const struct fs_ctx root_ctx = {0, 0, 1, NULL, 0};
static const struct fs_ctx user_ctx = {1000, 1000, 2, NULL, 0};

static inline struct pt_config tenv_default_config(void)
{
	return (struct pt_config){
		.cache = PT_CACHE_AUTO, .xattr = true, .posix_acl = true, .proc_self_fd = -1};
}

static inline int tenv_init(struct tenv *t, struct pt_config *cfg)
{
	struct pt_config def = tenv_default_config();
	struct fs_init_info info = {0};

	snprintf(t->dir, sizeof(t->dir), "/tmp/vfsd-pt-test-XXXXXX");
	if (!mkdtemp(t->dir))
		return -1;
	chmod(t->dir, 0777);
	if (!cfg)
		cfg = &def;
	cfg->shared_dir = t->dir;
	if (pt_new(cfg, &t->be) < 0)
		return -1;
	t->ops = t->be.ops;
	t->fs = t->be.fs;
	return t->ops->init(t->fs, &info);
}

static inline int tenv_rm_one(const char *path, const struct stat *st, int type, struct FTW *f)
{
	return remove(path);
}

static inline void tenv_done(struct tenv *t)
{
	t->ops->destroy(t->fs);
	pt_free(&t->be);
	nftw(t->dir, tenv_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Host-side path inside the share. */
static inline const char *tpath(struct tenv *t, const char *name)
{
	static char buf[PATH_MAX * 2];

	snprintf(buf, sizeof(buf), "%s/%s", t->dir, name);
	return buf;
}

static inline void thost_write(struct tenv *t, const char *name, const char *data, mode_t mode)
{
	int fd = open(tpath(t, name), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd >= 0) {
		if (write(fd, data, strlen(data)) < 0)
			perror("write");
		close(fd);
	}
}

static inline uint64_t tlookup(struct tenv *t, uint64_t parent, const char *name)
{
	struct fs_entry e;
	int r = t->ops->lookup(t->fs, &root_ctx, parent, name, &e);

	return r < 0 ? 0 : e.nodeid;
}

static inline uint64_t topen(struct tenv *t, uint64_t node, int flags)
{
	uint64_t fh = 0;
	uint32_t of;
	int r = t->ops->open(t->fs, &root_ctx, node, flags, &fh, &of);

	return r < 0 ? 0 : fh;
}

#endif
