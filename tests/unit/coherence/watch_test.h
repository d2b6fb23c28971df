/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers for the host change watch tests: a recording sink, and a "host writer" child process
 * that makes changes on command (changes made by the watching process itself are skipped by
 * design, so they must come from elsewhere).
 */
#ifndef VFSD_TESTS_WATCH_TEST_H
#define VFSD_TESTS_WATCH_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "coherence/watch.h"

static inline uint64_t wt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- recording sink ---- */

#define WT_REC_MAX 65536

struct wt_rec {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t n, dropped;
	unsigned lost;
	struct {
		struct vt_fid fid;
		uint64_t t_ns;
	} e[WT_REC_MAX];
};

static inline void wt_changed(void *opaque, int type, const void *handle, size_t len)
{
	struct wt_rec *r = opaque;
	uint64_t t = wt_now_ns();

	pthread_mutex_lock(&r->lock);
	if (r->n < WT_REC_MAX && len <= VT_FID_MAX) {
		r->e[r->n].fid.type = type;
		r->e[r->n].fid.len = (uint32_t)len;
		memcpy(r->e[r->n].fid.bytes, handle, len);
		r->e[r->n].t_ns = t;
		r->n++;
	} else {
		r->dropped++;
	}
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

static inline void wt_lost(void *opaque)
{
	struct wt_rec *r = opaque;

	pthread_mutex_lock(&r->lock);
	r->lost++;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

static inline struct wt_rec *wt_rec_new(void)
{
	struct wt_rec *r = calloc(1, sizeof(*r));

	if (!r)
		abort();
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	return r;
}

static inline void wt_rec_clear(struct wt_rec *r)
{
	pthread_mutex_lock(&r->lock);
	r->n = r->dropped = 0;
	r->lost = 0;
	pthread_mutex_unlock(&r->lock);
}

static inline struct vt_watch_sink wt_sink(struct wt_rec *r)
{
	return (struct vt_watch_sink){.changed = wt_changed, .lost = wt_lost, .opaque = r};
}

static inline bool wt_fid_eq(const struct vt_fid *a, const struct vt_fid *b)
{
	return a->type == b->type && a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
}

/* Caller holds r->lock. Time of the first record of fid, 0 if none. */
static inline uint64_t wt_rec_find_locked(struct wt_rec *r, const struct vt_fid *fid)
{
	for (size_t i = 0; i < r->n; i++) {
		if (wt_fid_eq(&r->e[i].fid, fid))
			return r->e[i].t_ns;
	}
	return 0;
}

static inline uint64_t wt_rec_find(struct wt_rec *r, const struct vt_fid *fid)
{
	uint64_t t;

	pthread_mutex_lock(&r->lock);
	t = wt_rec_find_locked(r, fid);
	pthread_mutex_unlock(&r->lock);
	return t;
}

/* Waits up to 5 s for fid to be reported (by the watch thread); its time or 0. */
static inline uint64_t wt_rec_wait(struct wt_rec *r, const struct vt_fid *fid)
{
	struct timespec until;
	uint64_t t;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&r->lock);
	while (!(t = wt_rec_find_locked(r, fid))) {
		if (pthread_cond_timedwait(&r->cond, &r->lock, &until) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&r->lock);
	return t;
}

/* ---- host writer ---- */

enum wt_op {
	WT_CREATE,
	WT_CHMOD,
	WT_APPEND,
	WT_TRUNCATE,
	WT_SETXATTR,
	WT_LINK,
	WT_RENAME,
	WT_UNLINK,
	WT_MKDIR,
	WT_RMDIR,
	WT_CREATE_MANY, /* a: dir; creates and unlinks `count` files */
	WT_EXIT,
};

struct wt_cmd {
	enum wt_op op;
	int count;
	char a[200], b[200];
};

struct wt_reply {
	int err;     /* 0 or errno */
	uint64_t t0; /* CLOCK_MONOTONIC just before the syscall */
};

struct wt_writer {
	pid_t pid;
	int cmd_fd, reply_fd;
};

static inline int wt_do(const struct wt_cmd *c)
{
	char path[260];
	int fd, r = 0;

	switch (c->op) {
	case WT_CREATE:
		fd = open(c->a, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		return fd < 0 ? -1 : close(fd);
	case WT_CHMOD:
		return chmod(c->a, (mode_t)c->count);
	case WT_APPEND:
		fd = open(c->a, O_WRONLY | O_APPEND | O_CLOEXEC);
		if (fd < 0)
			return -1;
		r = write(fd, "x", 1) == 1 ? 0 : -1;
		close(fd);
		return r;
	case WT_TRUNCATE:
		return truncate(c->a, c->count);
	case WT_SETXATTR:
		return setxattr(c->a, "user.vfsd", "v", 1, 0);
	case WT_LINK:
		return link(c->a, c->b);
	case WT_RENAME:
		return rename(c->a, c->b);
	case WT_UNLINK:
		return unlink(c->a);
	case WT_MKDIR:
		return mkdir(c->a, 0755);
	case WT_RMDIR:
		return rmdir(c->a);
	case WT_CREATE_MANY:
		for (int i = 0; i < c->count && r == 0; i++) {
			snprintf(path, sizeof(path), "%s/m%d", c->a, i);
			fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
			r = fd < 0 ? -1 : close(fd);
			if (r == 0)
				r = unlink(path);
		}
		return r;
	case WT_EXIT:
		break;
	}
	return 0;
}

static inline void wt_writer_main(int cmd_fd, int reply_fd)
{
	struct wt_cmd c;

	while (read(cmd_fd, &c, sizeof(c)) == sizeof(c) && c.op != WT_EXIT) {
		struct wt_reply rep = {0};

		rep.t0 = wt_now_ns();
		if (wt_do(&c) < 0)
			rep.err = errno;
		if (write(reply_fd, &rep, sizeof(rep)) != sizeof(rep))
			_exit(1);
	}
	_exit(0);
}

static inline void wt_writer_start(struct wt_writer *w)
{
	int cmd[2], rep[2];

	if (pipe2(cmd, O_CLOEXEC) < 0 || pipe2(rep, O_CLOEXEC) < 0)
		abort();
	w->pid = fork();
	if (w->pid < 0)
		abort();
	if (w->pid == 0) {
		close(cmd[1]);
		close(rep[0]);
		wt_writer_main(cmd[0], rep[1]);
	}
	close(cmd[0]);
	close(rep[1]);
	w->cmd_fd = cmd[1];
	w->reply_fd = rep[0];
}

/* Runs one change in the writer; returns the time it started, 0 on failure (CHECKed). */
static inline uint64_t wt_run(struct wt_writer *w, enum wt_op op, const char *a, const char *b,
			      int count)
{
	struct wt_cmd c = {.op = op, .count = count};
	struct wt_reply rep;

	snprintf(c.a, sizeof(c.a), "%s", a);
	snprintf(c.b, sizeof(c.b), "%s", b ? b : "");
	if (write(w->cmd_fd, &c, sizeof(c)) != sizeof(c) ||
	    read(w->reply_fd, &rep, sizeof(rep)) != sizeof(rep)) {
		CHECK(!"host writer gone");
		return 0;
	}
	if (rep.err) {
		fprintf(stderr, "host writer: op %d on %s: %s\n", op, a, strerror(rep.err));
		CHECK_EQ(rep.err, 0);
		return 0;
	}
	return rep.t0;
}

static inline void wt_writer_stop(struct wt_writer *w)
{
	struct wt_cmd c = {.op = WT_EXIT};
	int status;

	if (write(w->cmd_fd, &c, sizeof(c)) != sizeof(c))
		kill(w->pid, SIGKILL);
	waitpid(w->pid, &status, 0);
	close(w->cmd_fd);
	close(w->reply_fd);
}

/* The handle of a path (no final symlink followed); CHECKs success. */
static inline struct vt_fid wt_fid(const char *path)
{
	struct vt_fid f = {0};
	int r = vt_fid_at(AT_FDCWD, path, &f);

	if (r < 0)
		fprintf(stderr, "vt_fid_at(%s): %s\n", path, strerror(-r));
	CHECK_EQ(r, 0);
	return f;
}

#endif
