/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench/uring: should vfsd do its file I/O through io_uring? The passthrough backend serves a
 * READ or WRITE with one preadv/pwritev on the guest's buffers. This measures, on the host
 * directory and without a daemon, what the same I/O costs three ways:
 *
 *   syscall   one preadv/pwritev per request (what vfsd does);
 *   uring-1   one SQE submitted and waited for per request (io_uring in a synchronous server);
 *   uring-64  64 SQEs submitted by one io_uring_enter and 64 CQEs reaped (the best case for a
 *             server that gathers a whole batch of requests before doing their I/O).
 *
 * Each request has its own buffer of 64 (as 64 requests in flight have), the file is 64 MiB and
 * in the page cache, and writes overwrite it in place. Reported: wall and CPU time per request
 * (CPU includes io_uring's io-wq threads, which belong to this process). Output: one tab-separated
 * line per measurement; bench/run-uring.sh turns them into a table.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define NBUF	  64u
#define FILE_SIZE (64ull << 20)

enum mode {
	MODE_SYSCALL,
	MODE_URING_1,
	MODE_URING_64,
	MODE_MAX
};

static const char *const mode_names[MODE_MAX] = {"syscall", "uring-1", "uring-64"};

struct run {
	int fd;
	bool write;
	size_t size;
	char *bufs;
	struct iovec iov[NBUF];
	uint64_t off;
	struct io_uring ring;
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t next_off(struct run *r)
{
	uint64_t off = r->off;

	r->off = (r->off + r->size) % FILE_SIZE;
	return off;
}

static int one_syscall(struct run *r, unsigned i)
{
	uint64_t off = next_off(r);
	ssize_t n = r->write ? pwritev(r->fd, &r->iov[i], 1, (off_t)off)
			     : preadv(r->fd, &r->iov[i], 1, (off_t)off);

	if (n < 0)
		return -errno;
	return (size_t)n == r->size ? 0 : -EIO;
}

static void prep(struct run *r, unsigned i)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
	uint64_t off = next_off(r);

	if (r->write)
		io_uring_prep_writev(sqe, r->fd, &r->iov[i], 1, off);
	else
		io_uring_prep_readv(sqe, r->fd, &r->iov[i], 1, off);
}

/* Submits what is prepared and reaps n completions. */
static int submit_reap(struct run *r, unsigned n)
{
	int err = io_uring_submit_and_wait(&r->ring, n);

	if (err < 0)
		return err;
	for (unsigned i = 0; i < n; i++) {
		struct io_uring_cqe *cqe;
		if ((err = io_uring_wait_cqe(&r->ring, &cqe)) < 0)
			return err;
		int res = cqe->res;
		io_uring_cqe_seen(&r->ring, cqe);
		if (res < 0)
			return res;
		if ((size_t)res != r->size)
			return -EIO;
	}
	return 0;
}

/* NBUF requests the given way. */
static int round_of(struct run *r, enum mode m)
{
	int err = 0;

	for (unsigned i = 0; i < NBUF && err == 0; i++) {
		if (m == MODE_SYSCALL) {
			err = one_syscall(r, i);
		} else if (m == MODE_URING_1) {
			prep(r, i);
			err = submit_reap(r, 1);
		} else {
			prep(r, i);
		}
	}
	if (m == MODE_URING_64 && err == 0)
		err = submit_reap(r, NBUF);
	return err;
}

static int measure(struct run *r, enum mode m, double seconds)
{
	uint64_t t0 = clock_ns(CLOCK_MONOTONIC), c0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID), n = 0;
	uint64_t limit = (uint64_t)(seconds * 1e9), t1, c1;
	int err;

	r->off = 0; /* FILE_SIZE is a multiple of every size, so no request runs off the end */

	do {
		if ((err = round_of(r, m)) < 0) {
			fprintf(stderr, "uring: %s %s: %s\n", mode_names[m],
				r->write ? "write" : "read", strerror(-err));
			return err;
		}
		n += NBUF;
		t1 = clock_ns(CLOCK_MONOTONIC);
	} while (t1 - t0 < limit);
	c1 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	printf("%s\t%s\t%zu\t%llu\t%.3f\t%.3f\n", mode_names[m], r->write ? "write" : "read",
	       r->size, (unsigned long long)n, (double)(t1 - t0) / 1e3 / (double)n,
	       (double)(c1 - c0) / 1e3 / (double)n);
	return 0;
}

/* The file, written in full so that every request hits the page cache. */
static int prepare_file(const char *dir)
{
	char path[4096];
	static char chunk[1 << 20];
	int fd;

	snprintf(path, sizeof(path), "%s/uring-data", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	unlink(path);
	memset(chunk, 0x5a, sizeof(chunk));
	for (uint64_t off = 0; off < FILE_SIZE; off += sizeof(chunk)) {
		if (pwrite(fd, chunk, sizeof(chunk), (off_t)off) != (ssize_t)sizeof(chunk)) {
			close(fd);
			return -EIO;
		}
	}
	return fd;
}

static void usage(void)
{
	fprintf(stderr, "usage: uring --dir DIR [--seconds S] [--sizes 4096,1048576]\n");
}

int main(int argc, char **argv)
{
	const char *dir = NULL, *sizes = "4096,1048576";
	double seconds = 1;
	struct run r = {0};
	int err;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--dir") == 0)
			dir = argv[i + 1];
		else if (strcmp(argv[i], "--seconds") == 0)
			seconds = strtod(argv[i + 1], NULL);
		else if (strcmp(argv[i], "--sizes") == 0)
			sizes = argv[i + 1];
		else
			return usage(), 2;
	}
	if (!dir || argc % 2 == 0 || !(seconds > 0))
		return usage(), 2;
	if ((r.fd = prepare_file(dir)) < 0) {
		fprintf(stderr, "uring: %s: %s\n", dir, strerror(-r.fd));
		return 1;
	}
	if ((err = io_uring_queue_init(2 * NBUF, &r.ring, 0)) < 0) {
		fprintf(stderr, "uring: io_uring_queue_init: %s\n", strerror(-err));
		return 1;
	}
	printf("# mode\top\tsize\trequests\twall us/req\tCPU us/req\n");
	for (const char *p = sizes; *p;) {
		char *end;
		r.size = strtoul(p, &end, 0);
		if (end == p || r.size == 0 || FILE_SIZE % r.size || (*end && *end != ','))
			return usage(), 2;
		p = *end ? end + 1 : end;
		free(r.bufs);
		r.bufs = aligned_alloc(4096, NBUF * r.size);
		if (!r.bufs)
			return 1;
		memset(r.bufs, 0xa5, NBUF * r.size);
		for (unsigned i = 0; i < NBUF; i++)
			r.iov[i] = (struct iovec){r.bufs + i * r.size, r.size};
		for (int w = 0; w < 2; w++) {
			r.write = w;
			for (enum mode m = 0; m < MODE_MAX; m++)
				if (measure(&r, m, seconds) < 0)
					return 1;
		}
	}
	io_uring_queue_exit(&r.ring);
	free(r.bufs);
	close(r.fd);
	return 0;
}
