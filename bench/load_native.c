/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The native ceiling: each operation as the system calls a passthrough daemon ends up making, in
 * a tight loop on the host directory. "Depth" here is the number of threads, each doing one
 * operation at a time (a synchronous system call has no queue to keep full).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "load.h"

struct native_ctx {
	const struct load_params *p;
	int root, cdir, data_fd, data_path_fd, write_fd;
	uint64_t t_meas, t_end;
};

struct native_thread {
	pthread_t tid;
	struct native_ctx *ctx;
	unsigned idx;
	uint64_t seq, ops;
	struct lat_rec lat;
	char *buf;
	int err;
};

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static int list_big_dir(const struct native_ctx *c, char *buf, size_t size)
{
	int fd = openat(c->root, LOAD_BIG_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	unsigned entries = 0;
	int r = 0;

	if (fd < 0)
		return -errno;
	for (;;) {
		long n = getdents64(fd, buf, size);
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		for (long off = 0; off < n;) {
			struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
			struct stat st;
			off += d->d_reclen;
			if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
				continue;
			if (fstatat(fd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
				r = -errno;
			entries++;
		}
	}
	close(fd);
	if (r == 0 && entries != LOAD_BIG_DIR_ENTRIES)
		r = -EIO;
	return r;
}

static int native_one(struct native_thread *t)
{
	const struct native_ctx *c = t->ctx;
	uint32_t io = load_op_io_size(c->p->op);
	uint64_t slot = t->seq++;
	off_t off =
		io ? (off_t)((slot * io + (uint64_t)t->idx * (LOAD_FILE_SIZE / 2)) % LOAD_FILE_SIZE)
		   : 0;
	struct stat st;
	char name[64];
	int fd;

	switch (c->p->op) {
	case LOAD_GETATTR:
		return fstatat(c->data_path_fd, "", &st, AT_EMPTY_PATH) < 0 ? -errno : 0;
	case LOAD_LOOKUP_HIT:
		return fstatat(c->root, LOAD_DATA_FILE, &st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
	case LOAD_LOOKUP_MISS:
		return fstatat(c->root, LOAD_MISSING, &st, AT_SYMLINK_NOFOLLOW) < 0 &&
				       errno == ENOENT
			       ? 0
			       : -EIO;
	case LOAD_OPEN_RELEASE:
		fd = openat(c->root, LOAD_DATA_FILE, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		close(fd);
		return 0;
	case LOAD_READ_4K:
	case LOAD_READ_1M:
		return pread(c->data_fd, t->buf, io, off) == (ssize_t)io ? 0 : -EIO;
	case LOAD_WRITE_4K:
	case LOAD_WRITE_1M:
		return pwrite(c->write_fd, t->buf, io, off) == (ssize_t)io ? 0 : -EIO;
	case LOAD_CREATE_UNLINK:
		snprintf(name, sizeof(name), "n-%u-%llu", t->idx, (unsigned long long)slot);
		fd = openat(c->cdir, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0)
			return -errno;
		close(fd);
		return unlinkat(c->cdir, name, 0) < 0 ? -errno : 0;
	case LOAD_READDIRPLUS:
		return list_big_dir(c, t->buf, 32768);
	default:
		return -EINVAL;
	}
}

static void *native_thread_main(void *arg)
{
	struct native_thread *t = arg;
	const struct native_ctx *c = t->ctx;

	for (;;) {
		uint64_t t0 = now_ns();
		if (t0 >= c->t_end)
			break;
		int r = native_one(t);
		uint64_t t1 = now_ns();
		if (r < 0) {
			t->err = r;
			break;
		}
		if (t1 >= c->t_meas && t1 < c->t_end)
			t->ops++;
		if (t0 >= c->t_meas && t1 < c->t_end && lat_add(&t->lat, t1 - t0) < 0) {
			t->err = -ENOMEM;
			break;
		}
	}
	return NULL;
}

static void sleep_until(uint64_t t)
{
	for (uint64_t n; (n = now_ns()) < t;) {
		uint64_t d = t - n;
		struct timespec ts = {.tv_sec = (time_t)(d / 1000000000u),
				      .tv_nsec = (long)(d % 1000000000u)};
		nanosleep(&ts, NULL);
	}
}

static int native_open_all(const char *share, struct native_ctx *c)
{
	c->root = open(share, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->root < 0)
		return -errno;
	c->cdir = openat(c->root, LOAD_CREATE_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	c->data_fd = openat(c->root, LOAD_DATA_FILE, O_RDONLY | O_CLOEXEC);
	c->data_path_fd = openat(c->root, LOAD_DATA_FILE, O_PATH | O_CLOEXEC);
	c->write_fd = openat(c->root, LOAD_WRITE_FILE, O_WRONLY | O_CLOEXEC);
	if (c->cdir < 0 || c->data_fd < 0 || c->data_path_fd < 0 || c->write_fd < 0)
		return -errno;
	return 0;
}

static void native_close_all(struct native_ctx *c)
{
	int *fds[] = {&c->root, &c->cdir, &c->data_fd, &c->data_path_fd, &c->write_fd};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
}

int native_run(const char *share, const struct load_params *p, unsigned threads,
	       struct load_result *ret)
{
	struct native_ctx c = {
		.p = p, .root = -1, .cdir = -1, .data_fd = -1, .data_path_fd = -1, .write_fd = -1};
	struct native_thread *th = calloc(threads, sizeof(*th));
	struct lat_rec all = {0};
	unsigned started = 0;
	int r;

	if (!th)
		return -ENOMEM;
	if ((r = native_open_all(share, &c)) < 0)
		goto out;
	uint64_t t0 = now_ns();
	c.t_meas = t0 + (uint64_t)(p->warmup_s * 1e9);
	c.t_end = c.t_meas + (uint64_t)(p->seconds * 1e9);
	for (; started < threads; started++) {
		struct native_thread *t = &th[started];
		t->ctx = &c;
		t->idx = started;
		t->buf = malloc(1u << 20);
		if (!t->buf) {
			r = -ENOMEM;
			break;
		}
		memset(t->buf, 0x5a, 1u << 20);
		if ((r = -pthread_create(&t->tid, NULL, native_thread_main, t)) < 0) {
			free(t->buf);
			break;
		}
	}
	sleep_until(c.t_meas);
	uint64_t cpu0 = process_cpu_ns();
	sleep_until(c.t_end);
	uint64_t cpu1 = process_cpu_ns();
	uint64_t ops = 0;
	for (unsigned i = 0; i < started; i++) {
		pthread_join(th[i].tid, NULL);
		if (th[i].err < 0 && r == 0)
			r = th[i].err;
		ops += th[i].ops;
		for (size_t k = 0; k < th[i].lat.n && r == 0; k++)
			r = lat_add(&all, th[i].lat.ns[k]);
		lat_free(&th[i].lat);
		free(th[i].buf);
	}
	if (r == 0) {
		*ret = (struct load_result){.ops = ops,
					    .reqs_per_op = 1,
					    .rate = (double)ops / p->seconds,
					    .secs = p->seconds};
		lat_summary(&all, &ret->p50_us, &ret->p99_us);
		ret->cpu_us = ops ? (double)(cpu1 - cpu0) / 1e3 / (double)ops : 0;
		ret->client_cpu_us = ret->cpu_us;
	}
out:
	lat_free(&all);
	native_close_all(&c);
	free(th);
	return r;
}
