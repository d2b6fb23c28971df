/* fsx.c: a random-operation file verifier for the VM stress test (tests/vm/run-vm-stress.sh).
 *
 *   fsx [-n OPS] [-S SEED] [-t SECONDS] [-p PROCS] [-l MAXLEN] [-w MAXIO] FILE
 *
 * Each process keeps an in-memory model of its own file (FILE, or FILE.0 .. FILE.P-1 with -p)
 * and applies random operations to both the file and the model: pwrite, pread (compared with
 * the model), ftruncate up and down, fallocate (plain, KEEP_SIZE, PUNCH_HOLE), MAP_SHARED
 * mmap reads and writes with msync, copy_file_range within the file, fsync, close/reopen.
 * Every few operations the whole file is compared with the model.
 *
 * With -p P (2..8) the processes also share FILE.shared, cut into P regions of REGION bytes.
 * Process i rewrites region i under an fcntl write lock (header: magic, owner, generation;
 * body: bytes derived from owner and generation); any process reads any region under a read
 * lock and checks that it is one whole generation (for its own region: the last one it wrote).
 *
 * The run ends after OPS operations or SECONDS seconds, whichever comes first (-n 0: no limit
 * on operations). On a mismatch the process prints the tail of its operation log and the
 * differing bytes and exits 1; the parent exits 1 if any process failed.
 * Operations the file system does not support (EOPNOTSUPP/ENOSYS/EINVAL for a fallocate mode,
 * ENODEV for mmap, EXDEV/EOPNOTSUPP for copy_file_range) are switched off with a note.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LOG_SIZE     64
#define REGION	     8192
#define SHARED_MAGIC 0x46535852u /* "FSXR" */

enum op {
	OP_WRITE,
	OP_READ,
	OP_TRUNC,
	OP_FALLOC,
	OP_MMAP_READ,
	OP_MMAP_WRITE,
	OP_COPY,
	OP_FSYNC,
	OP_REOPEN,
	OP_SHARED_WRITE,
	OP_SHARED_READ,
	OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
	"write",      "read",  "truncate", "fallocate",	   "mmap-read",	  "mmap-write",
	"copy_range", "fsync", "reopen",   "shared-write", "shared-read",
};

/* relative weights */
static const unsigned op_weight[OP_COUNT] = {20, 16, 6, 8, 8, 8, 6, 2, 1, 6, 6};

struct logent {
	uint64_t no;
	enum op op;
	uint64_t off, len, arg;
	uint64_t size_after;
	int res;
};

struct fsx {
	int id;
	const char *path;
	char *own_path;
	int fd;
	uint64_t rng;
	uint64_t seed;
	uint64_t opno;
	size_t maxlen, maxio;
	uint8_t *model;
	uint32_t *writer; /* operation that last set each byte (0: never) */
	uint8_t *buf;
	size_t size;
	bool disabled[OP_COUNT];
	bool falloc_mode_off[3];
	unsigned long done[OP_COUNT];
	struct logent log[LOG_SIZE];
	/* shared file */
	int nprocs;
	int sfd;
	uint32_t sgen; /* generation of our own region */
};

static long pagesz;

static uint64_t rnd(struct fsx *f)
{
	/* splitmix64 */
	uint64_t z = (f->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t below(struct fsx *f, uint64_t n)
{
	return n ? rnd(f) % n : 0;
}

static void fill_random(struct fsx *f, uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint64_t v = rnd(f);
		for (int k = 0; k < 8 && i < n; k++, i++)
			p[i] = (uint8_t)(v >> (8 * k));
	}
}

static void note(struct fsx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct fsx *f, const char *fmt, ...)
{
	va_list ap;
	char msg[512];
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("fsx[%d]: %s\n", f->id, msg);
	fflush(stdout);
}

static struct logent *log_op(struct fsx *f, enum op op, uint64_t off, uint64_t len, uint64_t arg)
{
	struct logent *e = &f->log[f->opno % LOG_SIZE];
	*e = (struct logent){.no = f->opno, .op = op, .off = off, .len = len, .arg = arg};
	return e;
}

static void dump_log(struct fsx *f)
{
	uint64_t first = f->opno >= LOG_SIZE ? f->opno - LOG_SIZE + 1 : 1;
	printf("fsx[%d]: seed %" PRIu64 ", file %s, last %" PRIu64 " operations:\n", f->id, f->seed,
	       f->own_path, f->opno - first + 1);
	for (uint64_t n = first; n <= f->opno; n++) {
		const struct logent *e = &f->log[n % LOG_SIZE];
		if (e->no != n)
			continue;
		printf("  #%-8" PRIu64 " %-12s off 0x%-8" PRIx64 " len 0x%-6" PRIx64
		       " arg 0x%-6" PRIx64 " -> res %d size 0x%" PRIx64 "\n",
		       e->no, op_names[e->op], e->off, e->len, e->arg, e->res, e->size_after);
	}
}

static void __attribute__((noreturn)) fail(struct fsx *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void __attribute__((noreturn)) fail(struct fsx *f, const char *fmt, ...)
{
	va_list ap;
	char msg[512];
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("fsx[%d]: FAILED at operation %" PRIu64 ": %s\n", f->id, f->opno, msg);
	dump_log(f);
	fflush(stdout);
	exit(1);
}

static void set_writer(struct fsx *f, size_t off, size_t len)
{
	for (size_t i = 0; i < len; i++)
		f->writer[off + i] = (uint32_t)f->opno;
}

/* compare got[0..len) with the model at off; on a difference report and fail */
static void compare(struct fsx *f, const char *what, size_t off, const uint8_t *got, size_t len)
{
	if (memcmp(got, f->model + off, len) == 0)
		return;
	printf("fsx[%d]: %s: data mismatch in [0x%zx, 0x%zx) (file size 0x%zx)\n", f->id, what, off,
	       off + len, f->size);
	int shown = 0;
	size_t bad = 0, first = SIZE_MAX, last = 0;
	for (size_t i = 0; i < len; i++) {
		if (got[i] == f->model[off + i])
			continue;
		bad++;
		if (first == SIZE_MAX)
			first = off + i;
		last = off + i;
		if (shown < 16) {
			printf("  offset 0x%zx: expected 0x%02x (set by op #%" PRIu32
			       "), got 0x%02x\n",
			       off + i, f->model[off + i], f->writer[off + i], got[i]);
			shown++;
		}
	}
	printf("  %zu bytes differ, from 0x%zx to 0x%zx\n", bad, first, last);
	fail(f, "%s mismatch", what);
}

static void check_size(struct fsx *f, const char *what)
{
	struct stat st;
	if (fstat(f->fd, &st) < 0)
		fail(f, "fstat after %s: %s", what, strerror(errno));
	if ((uint64_t)st.st_size != f->size)
		fail(f, "after %s: file size 0x%jx, expected 0x%zx", what, (intmax_t)st.st_size,
		     f->size);
}

static void full_check(struct fsx *f, const char *what)
{
	check_size(f, what);
	size_t off = 0;
	while (off < f->size) {
		size_t n = f->size - off < f->maxio ? f->size - off : f->maxio;
		ssize_t r = pread(f->fd, f->buf, n, (off_t)off);
		if (r < 0)
			fail(f, "%s: pread: %s", what, strerror(errno));
		if ((size_t)r != n)
			fail(f, "%s: short pread 0x%zx of 0x%zx at 0x%zx", what, (size_t)r, n, off);
		compare(f, what, off, f->buf, n);
		off += n;
	}
	/* nothing beyond the end */
	if (pread(f->fd, f->buf, 1, (off_t)f->size) != 0)
		fail(f, "%s: data beyond the end of file (0x%zx)", what, f->size);
}

/* keep model[size..maxlen) zero */
static void model_resize(struct fsx *f, size_t nsize)
{
	if (nsize < f->size) {
		memset(f->model + nsize, 0, f->size - nsize);
		set_writer(f, nsize, f->size - nsize);
	} else if (nsize > f->size) {
		set_writer(f, f->size, nsize - f->size);
	}
	f->size = nsize;
}

static bool unsupported(int err)
{
	return err == EOPNOTSUPP || err == ENOSYS || err == ENOTTY;
}

static void do_write(struct fsx *f)
{
	size_t off = below(f, f->maxlen);
	size_t len = 1 + below(f, f->maxio);
	if (off + len > f->maxlen)
		len = f->maxlen - off;
	if (!len)
		return;
	struct logent *e = log_op(f, OP_WRITE, off, len, 0);
	fill_random(f, f->buf, len);
	ssize_t r = pwrite(f->fd, f->buf, len, (off_t)off);
	e->res = (int)r;
	if (r < 0)
		fail(f, "pwrite(0x%zx, 0x%zx): %s", off, len, strerror(errno));
	if ((size_t)r != len)
		fail(f, "short pwrite: 0x%zx of 0x%zx", (size_t)r, len);
	if (off + len > f->size)
		model_resize(f, off + len);
	memcpy(f->model + off, f->buf, len);
	set_writer(f, off, len);
	e->size_after = f->size;
}

static void do_read(struct fsx *f)
{
	size_t off = below(f, f->size + f->size / 8 + 1);
	size_t len = 1 + below(f, f->maxio);
	struct logent *e = log_op(f, OP_READ, off, len, 0);
	e->size_after = f->size;
	ssize_t r = pread(f->fd, f->buf, len, (off_t)off);
	e->res = (int)r;
	if (r < 0)
		fail(f, "pread(0x%zx, 0x%zx): %s", off, len, strerror(errno));
	size_t want = off >= f->size ? 0 : (f->size - off < len ? f->size - off : len);
	if ((size_t)r != want)
		fail(f, "pread(0x%zx, 0x%zx) returned 0x%zx, expected 0x%zx", off, len, (size_t)r,
		     want);
	compare(f, "read", off, f->buf, want);
}

static void do_trunc(struct fsx *f)
{
	size_t nsize = below(f, f->maxlen + 1);
	/* bias towards small changes around the current size half of the time */
	if (rnd(f) & 1) {
		size_t d = below(f, 2 * pagesz + 1);
		nsize = (rnd(f) & 1) ? f->size + d : (f->size > d ? f->size - d : 0);
		if (nsize > f->maxlen)
			nsize = f->maxlen;
	}
	struct logent *e = log_op(f, OP_TRUNC, nsize, 0, f->size);
	if (ftruncate(f->fd, (off_t)nsize) < 0)
		fail(f, "ftruncate(0x%zx): %s", nsize, strerror(errno));
	model_resize(f, nsize);
	e->size_after = f->size;
	check_size(f, "truncate");
}

static void do_falloc(struct fsx *f)
{
	static const int modes[3] = {0, FALLOC_FL_KEEP_SIZE,
				     FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE};
	unsigned m = (unsigned)below(f, 3);
	if (f->falloc_mode_off[m])
		return;
	size_t off = below(f, f->maxlen);
	size_t len = 1 + below(f, f->maxio);
	if (off + len > f->maxlen)
		len = f->maxlen - off;
	if (!len)
		return;
	struct logent *e = log_op(f, OP_FALLOC, off, len, (uint64_t)modes[m]);
	if (fallocate(f->fd, modes[m], (off_t)off, (off_t)len) < 0) {
		int err = errno;
		e->res = -err;
		if (unsupported(err) || err == EINVAL) {
			note(f, "fallocate mode 0x%x: %s: switched off", modes[m], strerror(err));
			f->falloc_mode_off[m] = true;
			return;
		}
		fail(f, "fallocate(mode 0x%x, 0x%zx, 0x%zx): %s", modes[m], off, len,
		     strerror(err));
	}
	if (modes[m] & FALLOC_FL_PUNCH_HOLE) {
		if (off < f->size) {
			size_t end = off + len < f->size ? off + len : f->size;
			memset(f->model + off, 0, end - off);
			set_writer(f, off, end - off);
		}
	} else if (!(modes[m] & FALLOC_FL_KEEP_SIZE) && off + len > f->size) {
		model_resize(f, off + len);
	}
	e->size_after = f->size;
	check_size(f, "fallocate");
}

static void do_mmap(struct fsx *f, bool wr)
{
	if (f->size == 0)
		return;
	size_t off = below(f, f->size);
	size_t len = 1 + below(f, f->maxio);
	if (off + len > f->size)
		len = f->size - off;
	size_t moff = off & ~((size_t)pagesz - 1);
	size_t mlen = off + len - moff;
	struct logent *e = log_op(f, wr ? OP_MMAP_WRITE : OP_MMAP_READ, off, len, moff);
	e->size_after = f->size;
	void *p = mmap(NULL, mlen, wr ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, f->fd,
		       (off_t)moff);
	if (p == MAP_FAILED) {
		int err = errno;
		e->res = -err;
		if (err == ENODEV || unsupported(err)) {
			note(f, "mmap: %s: switched off", strerror(err));
			f->disabled[OP_MMAP_READ] = f->disabled[OP_MMAP_WRITE] = true;
			return;
		}
		fail(f, "mmap(0x%zx, 0x%zx): %s", moff, mlen, strerror(err));
	}
	uint8_t *base = (uint8_t *)p + (off - moff);
	if (wr) {
		fill_random(f, f->buf, len);
		memcpy(base, f->buf, len);
		memcpy(f->model + off, f->buf, len);
		set_writer(f, off, len);
		int flags = (rnd(f) & 3) ? MS_SYNC : MS_ASYNC;
		if (msync(p, mlen, flags) < 0)
			fail(f, "msync: %s", strerror(errno));
	} else {
		memcpy(f->buf, base, len);
	}
	if (munmap(p, mlen) < 0)
		fail(f, "munmap: %s", strerror(errno));
	if (!wr)
		compare(f, "mmap read", off, f->buf, len);
}

static void do_copy(struct fsx *f)
{
	if (f->size < 2)
		return;
	size_t len = 1 + below(f, f->maxio < f->size / 2 ? f->maxio : f->size / 2);
	size_t src = below(f, f->size - len + 1);
	size_t dst;
	/* a destination that does not overlap the source, within maxlen */
	for (int tries = 0;; tries++) {
		dst = below(f, f->maxlen - len + 1);
		if (dst + len <= src || dst >= src + len)
			break;
		if (tries > 16)
			return;
	}
	struct logent *e = log_op(f, OP_COPY, src, len, dst);
	loff_t so = (loff_t)src, dof = (loff_t)dst;
	ssize_t r = copy_file_range(f->fd, &so, f->fd, &dof, len, 0);
	e->res = (int)r;
	if (r < 0) {
		int err = errno;
		if (unsupported(err) || err == EXDEV) {
			note(f, "copy_file_range: %s: switched off", strerror(err));
			f->disabled[OP_COPY] = true;
			return;
		}
		fail(f, "copy_file_range(0x%zx -> 0x%zx, 0x%zx): %s", src, dst, len, strerror(err));
	}
	if (r == 0 || (size_t)r > len)
		fail(f, "copy_file_range(0x%zx -> 0x%zx, 0x%zx) returned %zd", src, dst, len, r);
	if (dst + (size_t)r > f->size)
		model_resize(f, dst + (size_t)r);
	memmove(f->model + dst, f->model + src, (size_t)r);
	memmove(f->writer + dst, f->writer + src, (size_t)r * sizeof(*f->writer));
	e->size_after = f->size;
	check_size(f, "copy_file_range");
}

static void open_own(struct fsx *f, bool create)
{
	f->fd = open(f->own_path, O_RDWR | (create ? O_CREAT | O_TRUNC : 0), 0644);
	if (f->fd < 0) {
		printf("fsx[%d]: open %s: %s\n", f->id, f->own_path, strerror(errno));
		exit(1);
	}
}

/* ---------------------------------------------------------------- shared file */

static uint8_t shared_byte(uint32_t owner, uint32_t gen, size_t i)
{
	uint64_t z =
		((uint64_t)owner << 32 | gen) * 0x9e3779b97f4a7c15ull + i * 0xbf58476d1ce4e5b9ull;
	z ^= z >> 29;
	return (uint8_t)(z ^ (z >> 17));
}

static int region_lock(struct fsx *f, int r, short type)
{
	struct flock fl = {.l_type = type,
			   .l_whence = SEEK_SET,
			   .l_start = (off_t)r * REGION,
			   .l_len = REGION};
	while (fcntl(f->sfd, F_SETLKW, &fl) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

static void do_shared(struct fsx *f, bool wr)
{
	int r = wr ? f->id : (int)below(f, (uint64_t)f->nprocs);
	struct logent *e = log_op(f, wr ? OP_SHARED_WRITE : OP_SHARED_READ, (uint64_t)r * REGION,
				  REGION, f->sgen);
	int err = region_lock(f, r, wr ? F_WRLCK : F_RDLCK);
	if (err)
		fail(f, "fcntl(F_SETLKW) on shared region %d: %s", r, strerror(-err));
	off_t off = (off_t)r * REGION;
	uint8_t *p = f->buf;
	if (wr) {
		uint32_t gen = ++f->sgen;
		uint32_t hdr[3] = {SHARED_MAGIC, (uint32_t)f->id, gen};
		for (size_t i = sizeof(hdr); i < REGION; i++)
			p[i] = shared_byte((uint32_t)f->id, gen, i);
		memcpy(p, hdr, sizeof(hdr));
		ssize_t n = pwrite(f->sfd, p, REGION, off);
		if (n != REGION)
			fail(f, "shared pwrite region %d: %zd (%s)", r, n,
			     n < 0 ? strerror(errno) : "short");
		if ((rnd(f) & 7) == 0 && fsync(f->sfd) < 0)
			fail(f, "fsync shared: %s", strerror(errno));
	} else {
		ssize_t n = pread(f->sfd, p, REGION, off);
		if (n < 0)
			fail(f, "shared pread region %d: %s", r, strerror(errno));
		if (n < REGION)
			memset(p + n, 0, REGION - (size_t)n);
		uint32_t hdr[3];
		memcpy(hdr, p, sizeof(hdr));
		if (hdr[0] == 0) {
			for (size_t i = 0; i < REGION; i++)
				if (p[i])
					fail(f,
					     "shared region %d: never written but byte 0x%zx is "
					     "0x%02x",
					     r, i, p[i]);
			if (r == f->id && f->sgen)
				fail(f, "shared region %d: our generation %" PRIu32 " is gone", r,
				     f->sgen);
		} else {
			if (hdr[0] != SHARED_MAGIC || hdr[1] != (uint32_t)r)
				fail(f, "shared region %d: bad header %08" PRIx32 " owner %" PRIu32,
				     r, hdr[0], hdr[1]);
			if (r == f->id && hdr[2] != f->sgen)
				fail(f,
				     "shared region %d: generation %" PRIu32 ", expected %" PRIu32,
				     r, hdr[2], f->sgen);
			for (size_t i = sizeof(hdr); i < REGION; i++) {
				uint8_t want = shared_byte(hdr[1], hdr[2], i);
				if (p[i] != want)
					fail(f,
					     "shared region %d (owner %" PRIu32
					     ", generation %" PRIu32
					     "): byte 0x%zx is 0x%02x, expected 0x%02x (torn or "
					     "stale)",
					     r, hdr[1], hdr[2], i, p[i], want);
			}
		}
	}
	err = region_lock(f, r, F_UNLCK);
	if (err)
		fail(f, "fcntl(F_UNLCK) on shared region %d: %s", r, strerror(-err));
	e->res = 0;
}

/* ---------------------------------------------------------------- main loop */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static enum op pick(struct fsx *f)
{
	unsigned total = 0;
	for (int i = 0; i < OP_COUNT; i++)
		if (!f->disabled[i])
			total += op_weight[i];
	unsigned x = (unsigned)below(f, total);
	for (int i = 0; i < OP_COUNT; i++) {
		if (f->disabled[i])
			continue;
		if (x < op_weight[i])
			return (enum op)i;
		x -= op_weight[i];
	}
	return OP_WRITE;
}

static int run(struct fsx *f, uint64_t nops, double seconds)
{
	f->model = calloc(1, f->maxlen);
	f->writer = calloc(f->maxlen, sizeof(*f->writer));
	f->buf = malloc(f->maxio > REGION ? f->maxio : REGION);
	if (!f->model || !f->writer || !f->buf) {
		printf("fsx[%d]: out of memory\n", f->id);
		return 1;
	}
	open_own(f, true);
	if (f->nprocs < 2)
		f->disabled[OP_SHARED_READ] = f->disabled[OP_SHARED_WRITE] = true;
	note(f, "seed %" PRIu64 ", file %s, max size 0x%zx, max I/O 0x%zx%s", f->seed, f->own_path,
	     f->maxlen, f->maxio, f->nprocs > 1 ? ", with the shared file" : "");
	double t0 = now(), deadline = seconds > 0 ? t0 + seconds : 0;
	while (nops == 0 || f->opno < nops) {
		if (deadline > 0 && (f->opno & 7) == 0 && now() >= deadline)
			break;
		f->opno++;
		enum op op = pick(f);
		switch (op) {
		case OP_WRITE:
			do_write(f);
			break;
		case OP_READ:
			do_read(f);
			break;
		case OP_TRUNC:
			do_trunc(f);
			break;
		case OP_FALLOC:
			do_falloc(f);
			break;
		case OP_MMAP_READ:
			do_mmap(f, false);
			break;
		case OP_MMAP_WRITE:
			do_mmap(f, true);
			break;
		case OP_COPY:
			do_copy(f);
			break;
		case OP_FSYNC:
			log_op(f, OP_FSYNC, 0, 0, 0)->size_after = f->size;
			if (fsync(f->fd) < 0)
				fail(f, "fsync: %s", strerror(errno));
			break;
		case OP_REOPEN:
			log_op(f, OP_REOPEN, 0, 0, 0)->size_after = f->size;
			if (close(f->fd) < 0)
				fail(f, "close: %s", strerror(errno));
			open_own(f, false);
			check_size(f, "reopen");
			break;
		case OP_SHARED_WRITE:
			do_shared(f, true);
			break;
		case OP_SHARED_READ:
			do_shared(f, false);
			break;
		case OP_COUNT:
			break;
		}
		f->done[op]++;
		if (f->opno % 64 == 0)
			full_check(f, "full check");
	}
	full_check(f, "final check");
	if (fsync(f->fd) < 0)
		fail(f, "final fsync: %s", strerror(errno));
	close(f->fd);
	char stats[512];
	size_t o = 0;
	for (int i = 0; i < OP_COUNT && o < sizeof(stats); i++)
		if (f->done[i])
			o += (size_t)snprintf(stats + o, sizeof(stats) - o, " %s=%lu", op_names[i],
					      f->done[i]);
	printf("fsx[%d]: PASS %" PRIu64 " operations in %.1f s, seed %" PRIu64 ":%s\n", f->id,
	       f->opno, now() - t0, f->seed, stats);
	fflush(stdout);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: fsx [-n OPS] [-S SEED] [-t SECONDS] [-p PROCS] [-l MAXLEN] "
			"[-w MAXIO] FILE\n");
	exit(2);
}

static unsigned long long num(const char *s)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	uint64_t nops = 0, seed = 0;
	bool have_n = false, have_seed = false;
	double seconds = 0;
	int procs = 1, c;
	size_t maxlen = 256 * 1024, maxio = 64 * 1024;
	while ((c = getopt(argc, argv, "n:S:t:p:l:w:")) != -1) {
		switch (c) {
		case 'n':
			nops = num(optarg);
			have_n = true;
			break;
		case 'S':
			seed = num(optarg);
			have_seed = true;
			break;
		case 't':
			seconds = (double)num(optarg);
			break;
		case 'p':
			procs = (int)num(optarg);
			break;
		case 'l':
			maxlen = num(optarg);
			break;
		case 'w':
			maxio = num(optarg);
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1 || procs < 1 || procs > 8 || maxlen < 4096 || maxio < 1 ||
	    maxlen > (1u << 30))
		usage();
	if (!have_n && seconds <= 0)
		nops = 10000;
	if (!have_seed) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		seed = (uint64_t)ts.tv_sec * 1000003u ^ (uint64_t)ts.tv_nsec ^ (uint64_t)getpid();
	}
	if (maxio > maxlen)
		maxio = maxlen;
	pagesz = sysconf(_SC_PAGESIZE);
	const char *path = argv[optind];
	printf("fsx: seed %" PRIu64 " (-S %" PRIu64 " to repeat), %d process%s, %s%" PRIu64
	       " operations, %.0f s\n",
	       seed, seed, procs, procs > 1 ? "es" : "", nops ? "" : "unlimited ", nops, seconds);
	fflush(stdout);

	struct fsx proto = {
		.path = path, .maxlen = maxlen, .maxio = maxio, .nprocs = procs, .sfd = -1};
	if (procs == 1) {
		proto.own_path = (char *)path;
		proto.seed = proto.rng = seed;
		return run(&proto, nops, seconds);
	}
	char spath[PATH_MAX];
	snprintf(spath, sizeof(spath), "%s.shared", path);
	int sfd = open(spath, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (sfd < 0) {
		printf("fsx: open %s: %s\n", spath, strerror(errno));
		return 1;
	}
	pid_t pids[8];
	for (int i = 0; i < procs; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			printf("fsx: fork: %s\n", strerror(errno));
			return 1;
		}
		if (pids[i] == 0) {
			struct fsx *f = malloc(sizeof(*f));
			char *own = malloc(strlen(path) + 16);
			if (!f || !own)
				_exit(1);
			*f = proto;
			f->id = i;
			snprintf(own, strlen(path) + 16, "%s.%d", path, i);
			f->own_path = own;
			f->sfd = open(spath, O_RDWR); /* own open file description */
			if (f->sfd < 0) {
				printf("fsx[%d]: open %s: %s\n", i, spath, strerror(errno));
				_exit(1);
			}
			f->seed = f->rng = seed + (uint64_t)i * 0x632be59bd9b4e019ull;
			fflush(stdout);
			_exit(run(f, nops, seconds));
		}
	}
	close(sfd);
	int failed = 0;
	for (int i = 0; i < procs; i++) {
		int st;
		if (waitpid(pids[i], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			printf("fsx: process %d failed (status 0x%x)\n", i, st);
			failed++;
		}
	}
	printf("fsx: %s (%d of %d processes failed)\n", failed ? "FAIL" : "PASS", failed, procs);
	return failed ? 1 : 0;
}
