/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared pieces of bench/load: latency samples, clocks, CPU accounting from /proc and the
 * preparation of the shared directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "load.h"

int lat_add(struct lat_rec *l, uint64_t ns)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 65536;
		uint64_t *p = realloc(l->ns, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		l->ns = p;
		l->cap = cap;
	}
	l->ns[l->n++] = ns;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

void lat_summary(struct lat_rec *l, double *ret_p50_us, double *ret_p99_us)
{
	if (l->n == 0) {
		*ret_p50_us = *ret_p99_us = 0;
		return;
	}
	qsort(l->ns, l->n, sizeof(l->ns[0]), cmp_u64);
	*ret_p50_us = (double)l->ns[(l->n - 1) / 2] / 1e3;
	*ret_p99_us = (double)l->ns[(size_t)((double)(l->n - 1) * 0.99)] / 1e3;
}

void lat_free(struct lat_rec *l)
{
	free(l->ns);
	*l = (struct lat_rec){0};
}

uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t process_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

const char *load_op_name(enum load_op op)
{
	static const char *const names[LOAD_OP_MAX] = {
		[LOAD_GETATTR] = "getattr",
		[LOAD_LOOKUP_HIT] = "lookup-hit",
		[LOAD_LOOKUP_MISS] = "lookup-miss",
		[LOAD_OPEN_RELEASE] = "open-release",
		[LOAD_READ_4K] = "read-4k",
		[LOAD_READ_1M] = "read-1m",
		[LOAD_WRITE_4K] = "write-4k",
		[LOAD_WRITE_1M] = "write-1m",
		[LOAD_CREATE_UNLINK] = "create-unlink",
		[LOAD_READDIRPLUS] = "readdirplus-10k",
	};
	return op < LOAD_OP_MAX ? names[op] : "?";
}

uint32_t load_op_io_size(enum load_op op)
{
	switch (op) {
	case LOAD_READ_4K:
	case LOAD_WRITE_4K:
		return 4096;
	case LOAD_READ_1M:
	case LOAD_WRITE_1M:
		return 1u << 20;
	default:
		return 0;
	}
}

/* Sum of utime+stime (fields 14 and 15 of /proc/PID/stat, all threads, in clock ticks). */
int64_t pids_cpu_us(const int *pids, unsigned n)
{
	static long hz;
	uint64_t ticks = 0;

	if (!hz)
		hz = sysconf(_SC_CLK_TCK);
	for (unsigned i = 0; i < n; i++) {
		char path[64], buf[1024];
		snprintf(path, sizeof(path), "/proc/%d/stat", pids[i]);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		ssize_t len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			return -EIO;
		buf[len] = '\0';
		/* The command name may hold spaces and parentheses: fields start after the last
		 * ')'. */
		char *p = strrchr(buf, ')');
		unsigned long long ut, st;
		if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
				 &ut, &st) != 2)
			return -EIO;
		ticks += ut + st;
	}
	return (int64_t)(ticks * 1000000u / (uint64_t)hz);
}

static int write_file(int dirfd, const char *name, size_t size)
{
	static char block[1u << 16];
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int r = 0;

	if (fd < 0)
		return -errno;
	for (size_t i = 0; i < sizeof(block); i++)
		block[i] = (char)(i * 131 + 7);
	for (size_t off = 0; off < size; off += sizeof(block))
		if (write(fd, block, sizeof(block)) != (ssize_t)sizeof(block)) {
			r = -EIO;
			break;
		}
	close(fd);
	return r;
}

/* Read a file once so its pages are in the host page cache. */
static int warm_file(int dirfd, const char *name)
{
	static char block[1u << 16];
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (read(fd, block, sizeof(block)) > 0)
		;
	close(fd);
	return 0;
}

int share_warm(const char *share)
{
	int dfd = open(share, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	int r = warm_file(dfd, LOAD_DATA_FILE);
	close(dfd);
	return r;
}

int share_prepare(const char *share)
{
	int dfd = open(share, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (dfd < 0)
		return -errno;
	if ((r = write_file(dfd, LOAD_DATA_FILE, LOAD_FILE_SIZE)) < 0 ||
	    (r = write_file(dfd, LOAD_WRITE_FILE, LOAD_FILE_SIZE)) < 0 ||
	    (r = warm_file(dfd, LOAD_DATA_FILE)) < 0)
		goto out;
	if (mkdirat(dfd, LOAD_CREATE_DIR, 0755) < 0 || mkdirat(dfd, LOAD_BIG_DIR, 0755) < 0) {
		r = -errno;
		goto out;
	}
	int big = openat(dfd, LOAD_BIG_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (big < 0) {
		r = -errno;
		goto out;
	}
	for (unsigned i = 0; i < LOAD_BIG_DIR_ENTRIES; i++) {
		char name[32];
		snprintf(name, sizeof(name), "entry-%05u", i);
		int fd = openat(big, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0) {
			r = -errno;
			break;
		}
		close(fd);
	}
	close(big);
out:
	close(dfd);
	return r;
}
