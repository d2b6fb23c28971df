// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * guest_dax_test: virtio-fs DAX checks for tests/vm/run-vm-dax.sh, run on both sides.
 *
 *   guest_dax_test prepare SHARE RO_SHARE   host, before the guest: creates the test files
 *   guest_dax_test always MOUNT TAG         guest, on a dax=always mount of SHARE
 *   guest_dax_test inode MOUNT TAG          guest, on a dax=inode mount of SHARE
 *   guest_dax_test immutable MOUNT MODE     guest, on the dax=MODE mount of SHARE: immut.bin
 *                                           (chattr +i on the host)
 *   guest_dax_test ro MOUNT TAG             guest, on a mount of RO_SHARE (a --readonly daemon)
 *   guest_dax_test verify SHARE RO_SHARE    host, after the guest: what the guest wrote, and
 *                                           that nothing it may not write changed
 *
 * The files hold a deterministic pattern (seeded per file), so both sides know every byte
 * without a reference copy; the guest's writes are listed in one table (patches[]) that the
 * guest applies and the host expects. TAG names the device whose DAX window (PCI BAR 4 of
 * vhost-user-test-device-pci, found through /sys/fs/virtiofs/N/tag) the checks read, and for
 * the read-only share write, through sysfs (the guest must boot with iomem=relaxed).
 *
 * Output: "ok - NAME", "not ok - NAME: DETAIL" and "# ..." lines; exit 0 if all passed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define KiB 1024ul
#define MiB (1024ul * 1024ul)

#ifndef STATX_ATTR_DAX
#define STATX_ATTR_DAX 0x00200000
#endif

/* ------------------------------------------------------------------ files and patches */

struct tfile {
	const char *name;
	uint64_t size;
	unsigned seed;
	bool ro;	 /* on the read-only share */
	bool guest_made; /* created by the guest (inode phase), not by prepare */
};

static const struct tfile files[] = {
	{"big.bin", 24 * MiB, 1, false, false},	  /* 3x the 8 MiB window: reclaim */
	{"mmapw.bin", 6 * MiB, 2, false, false},  /* written through mmap */
	{"shared.bin", 4 * MiB, 3, false, false}, /* mapped by two processes */
	{"immut.bin", 2 * MiB, 4, false, false},  /* chattr +i on the host */
	{"small33.txt", 33, 5, false, false},
	{"partial.bin", 12388, 6, false, false}, /* 3 pages + 100 bytes */
	{"page8k.bin", 8 * KiB, 7, false, false},
	{"always33.txt", 33, 12, false, false}, /* partial pages written under dax=always */
	{"always12388.bin", 12388, 13, false, false},
	{"ro.bin", 2 * MiB, 8, true, false},
	{"w33.txt", 33, 9, false, true},
	{"w12388.bin", 12388, 10, false, true},
	{"wbig.bin", 4 * MiB, 11, false, true},
};
#define NFILES (sizeof(files) / sizeof(files[0]))

enum phase {
	PH_NONE = 0,
	PH_ALWAYS = 1,
	PH_INODE = 2
};

/* A write the guest makes: len bytes of pattern `seed` at `off` of `file`, in `phase`. */
struct patch {
	const char *file;
	uint64_t off;
	size_t len;
	unsigned seed;
	enum phase phase;
	char how; /* 'm' mmap(MAP_SHARED), 'w' pwrite, 'c' child of the two-process check, 'p' its
		     parent */
};

static const struct patch patches[] = {
	{"mmapw.bin", 0, 64, 100, PH_ALWAYS, 'm'},
	{"mmapw.bin", 12305, 100, 101, PH_ALWAYS, 'm'},
	{"mmapw.bin", 1 * MiB - 3, 6, 102, PH_ALWAYS, 'm'},   /* across a page */
	{"mmapw.bin", 2 * MiB - 40, 80, 103, PH_ALWAYS, 'm'}, /* across a 2 MiB DAX chunk */
	{"mmapw.bin", 5 * MiB + 123, 64, 104, PH_ALWAYS, 'm'},
	{"always33.txt", 5, 20, 110, PH_ALWAYS, 'm'},
	{"always12388.bin", 100, 50, 111, PH_ALWAYS, 'm'},
	{"always12388.bin", 12300, 40, 112, PH_ALWAYS, 'm'}, /* the partial last page */
	{"always12388.bin", 12350, 20, 113, PH_ALWAYS, 'w'},
	{"shared.bin", 1 * MiB + 5, 100, 200, PH_ALWAYS, 'c'},
	{"shared.bin", 3 * MiB + 7, 100, 201, PH_ALWAYS, 'p'},
	{"mmapw.bin", 3 * MiB + 11, 50, 105, PH_INODE, 'm'},
	{"partial.bin", 12300, 80, 106, PH_INODE, 'm'}, /* inside the partial last page */
	{"page8k.bin", 4000, 200, 107, PH_INODE, 'w'},
	{"small33.txt", 10, 5, 109, PH_INODE, 'w'},
	{"wbig.bin", 1 * MiB, 64, 108, PH_INODE, 'm'},
};
#define NPATCHES (sizeof(patches) / sizeof(patches[0]))

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* The pattern `seed` for file offsets [off, off + len). */
static void pattern(unsigned char *buf, uint64_t off, size_t len, unsigned seed)
{
	size_t i = 0;
	while (i < len) {
		uint64_t pos = off + i, w = mix64(((uint64_t)seed << 48) ^ (pos >> 3));
		for (unsigned b = (unsigned)(pos & 7); b < 8 && i < len; b++, i++)
			buf[i] = (unsigned char)(w >> (8 * b));
	}
}

static const struct tfile *tfile(const char *name)
{
	for (size_t i = 0; i < NFILES; i++)
		if (strcmp(files[i].name, name) == 0)
			return &files[i];
	fprintf(stderr, "guest_dax_test: no file %s\n", name);
	exit(2);
}

/* What [off, off + len) of file f holds once the patches up to `upto` are made. */
static void expected(const struct tfile *f, unsigned char *buf, uint64_t off, size_t len,
		     enum phase upto)
{
	pattern(buf, off, len, f->seed);
	for (size_t i = 0; i < NPATCHES; i++) {
		const struct patch *p = &patches[i];
		if (p->phase > upto || strcmp(p->file, f->name) != 0)
			continue;
		uint64_t lo = p->off > off ? p->off : off;
		uint64_t hi = p->off + p->len < off + len ? p->off + p->len : off + len;
		if (lo < hi)
			pattern(buf + (lo - off), lo, hi - lo, p->seed);
	}
}

/* ------------------------------------------------------------------ TAP */

static int n_failed;
static char detail[512];
static char path_buf[PATH_MAX];
static const char *mnt;

/* The detail of the current check: the first failure's reason, or else the last note. */
__attribute__((format(printf, 2, 0))) static void set_detail(bool is_failure, const char *fmt,
							     va_list ap)
{
	static bool failed_already;
	if (!detail[0])
		failed_already = false;
	if (!failed_already)
		vsnprintf(detail, sizeof(detail), fmt, ap);
	failed_already = failed_already || is_failure;
}

/* Record why the current check fails (the first reason wins); returns -1. */
__attribute__((format(printf, 1, 2))) static int fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_detail(true, fmt, ap);
	va_end(ap);
	return -1;
}

/* A note on a check that passes ("ok - NAME # note"). */
__attribute__((format(printf, 1, 2))) static void note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_detail(false, fmt, ap);
	va_end(ap);
}

/* Checks run with a SIGBUS trap: a bad DAX mapping is reported, not a crash. */
static sigjmp_buf check_jmp;
static sigjmp_buf *volatile bus_target;

static void on_sigbus(int sig)
{
	(void)sig;
	if (bus_target)
		siglongjmp(*bus_target, 1);
	_exit(3);
}

static void check(const char *name, int (*fn)(void))
{
	detail[0] = '\0';
	printf("# running %s\n", name);
	fflush(stdout);
	int r;
	if (sigsetjmp(check_jmp, 1)) {
		r = fail("SIGBUS (a DAX mapping failed)");
	} else {
		bus_target = &check_jmp;
		r = fn();
	}
	bus_target = NULL;
	if (r == 0) {
		printf("ok - %s%s%s\n", name, detail[0] ? " # " : "", detail);
	} else {
		n_failed++;
		printf("not ok - %s: %s\n", name, detail[0] ? detail : "failed");
	}
	fflush(stdout);
}

static const char *in_mnt(const char *name)
{
	snprintf(path_buf, sizeof(path_buf), "%s/%s", mnt, name);
	return path_buf;
}

/* ------------------------------------------------------------------ helpers */

/* The buffer of whole-file reads and writes (one at a time per process). */
static unsigned char iobuf[MiB];

/* First offset where buf differs from file f's content at [off, off + len), or -1. */
static long first_diff(const struct tfile *f, const unsigned char *buf, uint64_t off, size_t len,
		       enum phase upto)
{
	enum {
		CHUNK = 64 * 1024
	};
	static unsigned char want[CHUNK];
	for (size_t done = 0; done < len; done += CHUNK) {
		size_t n = len - done < CHUNK ? len - done : CHUNK;
		expected(f, want, off + done, n, upto);
		if (memcmp(buf + done, want, n) != 0)
			for (size_t i = 0; i < n; i++)
				if (buf[done + i] != want[i])
					return (long)(done + i);
	}
	return -1;
}

/* read() the whole file at path in 1 MiB calls and compare it with f's expected content. */
static int verify_read(const char *path, const struct tfile *f, enum phase upto)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return fail("open %s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size != f->size) {
		close(fd);
		return fail("%s: size %lld, expected %" PRIu64, path, (long long)st.st_size,
			    f->size);
	}
	unsigned char *buf = iobuf;
	int r = 0;
	for (uint64_t off = 0; off < f->size && r == 0;) {
		size_t want = f->size - off < MiB ? (size_t)(f->size - off) : MiB;
		ssize_t n = pread(fd, buf, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		long bad;
		if (n < 0)
			r = fail("read %s at %" PRIu64 ": %s", path, off, strerror(errno));
		else if (n == 0)
			r = fail("%s: EOF at %" PRIu64, path, off);
		else if ((bad = first_diff(f, buf, off, (size_t)n, upto)) >= 0)
			r = fail("%s: read() content differs at offset %" PRIu64, path,
				 off + (uint64_t)bad);
		else
			off += (uint64_t)n;
	}
	close(fd);
	return r;
}

/* mmap(PROT_READ) the whole file and compare it with f's expected content. */
static int verify_mmap(const char *path, const struct tfile *f, enum phase upto)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return fail("open %s: %s", path, strerror(errno));
	unsigned char *p = mmap(NULL, f->size, PROT_READ, MAP_SHARED, fd, 0);
	int err = errno;
	close(fd);
	if (p == MAP_FAILED)
		return fail("mmap %s: %s", path, strerror(err));
	long bad = first_diff(f, p, 0, f->size, upto);
	munmap(p, f->size);
	if (bad >= 0)
		return fail("%s: mmap content differs at offset %ld", path, bad);
	return 0;
}

static int verify_both(const struct tfile *f, enum phase upto)
{
	if (verify_read(in_mnt(f->name), f, upto) < 0)
		return -1;
	return verify_mmap(in_mnt(f->name), f, upto);
}

/* Make the patches of `phase` made the way `how` says, on file `name` through the mount. */
static int apply_patches(const char *name, enum phase phase, char how)
{
	const struct tfile *f = tfile(name);
	int fd = open(in_mnt(name), O_RDWR);
	if (fd < 0)
		return fail("open %s O_RDWR: %s", name, strerror(errno));
	unsigned char *map = NULL;
	if (how == 'm') {
		map = mmap(NULL, f->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED) {
			int err = errno;
			close(fd);
			return fail("mmap %s read-write: %s", name, strerror(err));
		}
	}
	int r = 0;
	for (size_t i = 0; i < NPATCHES && r == 0; i++) {
		const struct patch *p = &patches[i];
		if (p->phase != phase || p->how != how || strcmp(p->file, name) != 0)
			continue;
		unsigned char buf[256];
		pattern(buf, p->off, p->len, p->seed);
		if (map)
			memcpy(map + p->off, buf, p->len);
		else if (pwrite(fd, buf, p->len, (off_t)p->off) != (ssize_t)p->len)
			r = fail("pwrite %s: %s", name, strerror(errno));
	}
	if (map) {
		if (r == 0 && msync(map, f->size, MS_SYNC) < 0)
			r = fail("msync %s: %s", name, strerror(errno));
		munmap(map, f->size);
	}
	close(fd);
	return r;
}

static int write_file(int fd, const unsigned char *buf, size_t len)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = write(fd, buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

/* Create path with f's pattern (no patches), written in 1 MiB write() calls. */
static int create_file(const char *path, const struct tfile *f)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return fail("create %s: %s", path, strerror(errno));
	unsigned char *buf = iobuf;
	int r = 0;
	for (uint64_t off = 0; off < f->size && r == 0; off += MiB) {
		size_t n = f->size - off < MiB ? (size_t)(f->size - off) : MiB;
		pattern(buf, off, n, f->seed);
		if (write_file(fd, buf, n) < 0)
			r = fail("write %s: %s", path, strerror(errno));
	}
	if (close(fd) < 0 && r == 0)
		r = fail("close %s: %s", path, strerror(errno));
	return r;
}

/* The options of the (last) virtiofs mount on mnt must include opt. */
static int mount_has_option(const char *opt)
{
	FILE *m = fopen("/proc/mounts", "r");
	if (!m)
		return fail("/proc/mounts: %s", strerror(errno));
	char dev[256], dir[PATH_MAX], type[64], o[512], opts[520] = "";
	while (fscanf(m, "%255s %4095s %63s %511s %*[^\n]", dev, dir, type, o) == 4)
		if (strcmp(dir, mnt) == 0 && strcmp(type, "virtiofs") == 0)
			snprintf(opts, sizeof(opts), ",%s,", o);
	fclose(m);
	if (!opts[0])
		return fail("no virtiofs mount on %s in /proc/mounts", mnt);
	char want[64];
	snprintf(want, sizeof(want), ",%s,", opt);
	if (!strstr(opts, want))
		return fail("%s not in the options %s", opt, opts);
	return 0;
}

/* 1 if the file reports STATX_ATTR_DAX, 0 if not, -1 if statx fails. */
static int is_dax(const char *name)
{
	struct statx stx;
	if (statx(AT_FDCWD, in_mnt(name), 0, STATX_BASIC_STATS, &stx) < 0)
		return -1;
	return (stx.stx_attributes & STATX_ATTR_DAX) ? 1 : 0;
}

static int drop_caches(void)
{
	sync();
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (fd < 0)
		return fail("open drop_caches: %s", strerror(errno));
	ssize_t n = write(fd, "3\n", 2);
	int err = errno;
	close(fd);
	if (n != 2)
		return fail("echo 3 > /proc/sys/vm/drop_caches: %s", strerror(err));
	return 0;
}

/* ------------------------------------------------------------------ the DAX window */

struct window {
	unsigned char *p;
	size_t size;
	char path[PATH_MAX];
};

/* Map the DAX window of the virtio-fs device whose tag is `tag`: BAR 4 of its PCI device,
 * through sysfs. Returns 1 when mapped, 0 when the device has no window, -1 on errors. */
static int window_map(const char *tag, struct window *w, int prot)
{
	DIR *d = opendir("/sys/fs/virtiofs");
	if (!d)
		return fail("/sys/fs/virtiofs: %s", strerror(errno));
	char dev[PATH_MAX] = "";
	struct dirent *e;
	while ((e = readdir(d)) && !dev[0]) {
		char p[PATH_MAX], t[64] = "";
		snprintf(p, sizeof(p), "/sys/fs/virtiofs/%s/tag", e->d_name);
		FILE *f = fopen(p, "r");
		if (!f)
			continue;
		if (fgets(t, sizeof(t), f))
			t[strcspn(t, "\n")] = '\0';
		fclose(f);
		snprintf(p, sizeof(p), "/sys/fs/virtiofs/%s/device", e->d_name);
		if (strcmp(t, tag) == 0 && !realpath(p, dev))
			dev[0] = '\0';
	}
	closedir(d);
	if (!dev[0])
		return fail("no virtio-fs device with tag %s in /sys/fs/virtiofs", tag);
	*strrchr(dev, '/') = '\0'; /* .../0000:00:03.0/virtio2 -> the PCI device */
	snprintf(w->path, sizeof(w->path), "%s/resource4", dev);
	int fd = open(w->path, O_RDWR);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return fail("open %s: %s", w->path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_size <= 0) {
		close(fd);
		return fail("%s: no size", w->path);
	}
	w->size = (size_t)st.st_size;
	w->p = mmap(NULL, w->size, prot, MAP_SHARED, fd, 0);
	int err = errno;
	close(fd);
	if (w->p == MAP_FAILED)
		return fail("mmap %s: %s (the guest needs iomem=relaxed)", w->path, strerror(err));
	return 1;
}

/* Offset of the first window page holding file f's page at file offset off, or -1. */
static long window_find(const struct window *w, const struct tfile *f, uint64_t off)
{
	unsigned char want[256];
	expected(f, want, off, sizeof(want), PH_ALWAYS);
	for (size_t o = 0; o + 4096 <= w->size; o += 4096)
		if (memcmp(w->p + o, want, sizeof(want)) == 0)
			return (long)o;
	return -1;
}

/* ------------------------------------------------------------------ phase: dax=always */

static const char *tag;

static int t_always_mounted(void)
{
	return mount_has_option("dax=always");
}

static int t_always_statx(void)
{
	int d = is_dax("big.bin");
	if (d < 0)
		return fail("statx big.bin: %s", strerror(errno));
	if (d == 0)
		return fail("big.bin does not report STATX_ATTR_DAX on a dax=always mount");
	return 0;
}

static int t_big_read(void)
{
	return verify_read(in_mnt("big.bin"), tfile("big.bin"), PH_ALWAYS);
}

static int t_big_mmap(void)
{
	return verify_mmap(in_mnt("big.bin"), tfile("big.bin"), PH_ALWAYS);
}

/* With big.bin mapped and a page of it touched, that page must be in the device's window. */
static int t_window_holds_file(void)
{
	const struct tfile *f = tfile("big.bin");
	const uint64_t at = 20 * MiB + 12 * KiB;
	int fd = open(in_mnt(f->name), O_RDONLY);
	if (fd < 0)
		return fail("open big.bin: %s", strerror(errno));
	volatile unsigned char *p = mmap(NULL, f->size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return fail("mmap big.bin: %s", strerror(errno));
	(void)p[at];
	struct window w;
	int r = window_map(tag, &w, PROT_READ);
	if (r == 0)
		r = fail("the device has no DAX window (no BAR 4)");
	if (r > 0) {
		long o = window_find(&w, f, at);
		if (o < 0)
			r = fail("big.bin's page at %" PRIu64 " is nowhere in the %zu-byte window",
				 at, w.size);
		else
			r = 0;
		if (o >= 0)
			note("found at window offset 0x%lx of 0x%zx", o, w.size);
		munmap(w.p, w.size);
	}
	munmap((void *)p, f->size);
	return r;
}

static int t_mmap_write(void)
{
	if (apply_patches("mmapw.bin", PH_ALWAYS, 'm') < 0)
		return -1;
	return verify_read(in_mnt("mmapw.bin"), tfile("mmapw.bin"), PH_ALWAYS);
}

/* The patch of the two-process check made by `how`, through the mapping m. */
static const struct patch *side(char how)
{
	for (size_t i = 0; i < NPATCHES; i++)
		if (patches[i].how == how)
			return &patches[i];
	exit(2);
}

static void put(unsigned char *m, const struct patch *p)
{
	pattern(m + p->off, p->off, p->len, p->seed);
}

static bool seen(const unsigned char *m, const struct patch *p)
{
	unsigned char buf[256];
	pattern(buf, p->off, p->len, p->seed);
	return memcmp(m + p->off, buf, p->len) == 0;
}

static unsigned char *map_rw(const struct tfile *f)
{
	int fd = open(in_mnt(f->name), O_RDWR);
	if (fd < 0)
		return MAP_FAILED;
	unsigned char *m = mmap(NULL, f->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return m;
}

static int t_two_processes(void)
{
	const struct tfile *f = tfile("shared.bin");
	const struct patch *pc = side('c'), *pp = side('p');
	int up[2], down[2];
	if (pipe(up) < 0 || pipe(down) < 0)
		return fail("pipe: %s", strerror(errno));
	unsigned char *m = map_rw(f);
	if (m == MAP_FAILED)
		return fail("mmap shared.bin read-write: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		return fail("fork: %s", strerror(errno));
	if (pid == 0) { /* its own open() and mmap() of the file */
		bus_target = NULL;
		unsigned char *c = map_rw(f), x = 0;
		if (c == MAP_FAILED)
			_exit(10);
		put(c, pc);
		if (write(up[1], "c", 1) != 1 || read(down[0], &x, 1) != 1)
			_exit(11);
		_exit(seen(c, pp) ? 0 : 12);
	}
	unsigned char x = 0;
	int r = 0;
	if (read(up[0], &x, 1) != 1)
		r = fail("the child died before writing");
	else if (!seen(m, pc))
		r = fail("the parent does not see the child's write at %" PRIu64, pc->off);
	put(m, pp);
	if (write(down[1], "p", 1) != 1 && r == 0)
		r = fail("write to the child: %s", strerror(errno));
	int st = 0;
	waitpid(pid, &st, 0);
	if (r == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 12)
		r = fail("the child does not see the parent's write at %" PRIu64, pp->off);
	else if (r == 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		r = fail("the child failed (wait status 0x%x)", st);
	msync(m, f->size, MS_SYNC);
	munmap(m, f->size);
	for (int i = 0; i < 2; i++)
		close(up[i]), close(down[i]);
	if (r == 0)
		r = verify_read(in_mnt(f->name), f, PH_ALWAYS);
	return r;
}

/* Files with a partial last page under dax=always: read, then written through mmap and pwrite. */
static int t_always_partial(void)
{
	static const char *const names[] = {"always33.txt", "always12388.bin"};
	for (size_t i = 0; i < 2; i++) {
		const struct tfile *f = tfile(names[i]);
		if (verify_both(f, PH_NONE) < 0 || apply_patches(f->name, PH_ALWAYS, 'm') < 0 ||
		    apply_patches(f->name, PH_ALWAYS, 'w') < 0 || verify_both(f, PH_ALWAYS) < 0)
			return -1;
	}
	return 0;
}

static int t_always_drop_caches(void)
{
	if (drop_caches() < 0)
		return -1;
	if (verify_read(in_mnt("big.bin"), tfile("big.bin"), PH_ALWAYS) < 0)
		return -1;
	if (verify_mmap(in_mnt("big.bin"), tfile("big.bin"), PH_ALWAYS) < 0)
		return -1;
	return verify_read(in_mnt("mmapw.bin"), tfile("mmapw.bin"), PH_ALWAYS);
}

/* ------------------------------------------------------------------ files the guest may not write
 */

/* Opening `name` for writing, or mapping it writable and shared, must fail. */
static int no_write_access(const char *name)
{
	int fd = open(in_mnt(name), O_RDWR);
	if (fd >= 0) {
		close(fd);
		return fail("open(%s, O_RDWR) succeeded", name);
	}
	int open_err = errno;
	fd = open(in_mnt(name), O_RDONLY);
	if (fd < 0)
		return fail("open(%s, O_RDONLY): %s", name, strerror(errno));
	void *m = mmap(NULL, tfile(name)->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	int map_err = errno;
	close(fd);
	if (m != MAP_FAILED) {
		munmap(m, tfile(name)->size);
		return fail("mmap(PROT_WRITE, MAP_SHARED) of %s succeeded", name);
	}
	note("open O_RDWR: %s; mmap PROT_WRITE: %s", strerrorname_np(open_err),
	     strerrorname_np(map_err));
	return 0;
}

/* Reads of `name` give its bytes or an error (a daemon may refuse to map it), never others. */
static int read_or_refused(const char *name)
{
	const struct tfile *f = tfile(name);
	if (verify_read(in_mnt(name), f, PH_ALWAYS) == 0)
		return 0;
	if (strstr(detail, "content differs") || strstr(detail, "size") || strstr(detail, "EOF"))
		return -1;
	char why[sizeof(detail)];
	snprintf(why, sizeof(why), "%s", detail);
	detail[0] = '\0';
	note("not readable (%s): no mapping for it", why);
	return 0;
}

static int t_immutable_read(void)
{
	return read_or_refused("immut.bin");
}

/* With dax=inode the daemon chooses: a file it cannot map must be served without DAX. */
static int t_immutable_read_inode(void)
{
	return verify_both(tfile("immut.bin"), PH_ALWAYS);
}

static int t_immutable_nowrite(void)
{
	return no_write_access("immut.bin");
}

static int t_ro_read(void)
{
	return read_or_refused("ro.bin");
}

static int t_ro_nowrite(void)
{
	return no_write_access("ro.bin");
}

/* Write over the read-only device's whole window while ro.bin is mapped (if it can be): with
 * QEMU 11.1 any mapping is writable, so none of it may reach ro.bin (verified on the host). */
static int t_ro_window(void)
{
	const struct tfile *f = tfile("ro.bin");
	int fd = open(in_mnt(f->name), O_RDONLY);
	if (fd < 0)
		return fail("open ro.bin: %s", strerror(errno));
	volatile unsigned char *p = mmap(NULL, f->size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	bool mapped = p != MAP_FAILED;
	sigjmp_buf touch_jmp;
	if (mapped && sigsetjmp(touch_jmp, 1) == 0) { /* SIGBUS: the daemon refused the map */
		bus_target = &touch_jmp;
		for (uint64_t o = 0; o < f->size; o += 4096)
			(void)p[o];
	}
	bus_target = &check_jmp;
	struct window w;
	int r = window_map(tag, &w, PROT_READ | PROT_WRITE);
	if (r == 0)
		note("the read-only device has no DAX window");
	if (r > 0) {
		long o = window_find(&w, f, 0);
		memset(w.p, 0xa5, w.size);
		msync(w.p, w.size, MS_SYNC);
		munmap(w.p, w.size);
		note("ro.bin %s the 0x%zx-byte window; all of it overwritten with 0xa5",
		     o >= 0 ? "is mapped into" : "is not in", w.size);
		r = 0;
	}
	if (mapped)
		munmap((void *)p, f->size);
	return r;
}

/* ------------------------------------------------------------------ phase: dax=inode */

static int t_inode_mounted(void)
{
	if (mount_has_option("dax=inode") < 0)
		return -1;
	char list[256] = "";
	const char *names[] = {"big.bin", "mmapw.bin", "page8k.bin", "partial.bin", "small33.txt"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t l = strlen(list);
		snprintf(list + l, sizeof(list) - l, "%s%s=%d", i ? " " : "", names[i],
			 is_dax(names[i]));
	}
	note("STATX_ATTR_DAX: %s", list);
	return 0;
}

static int t_inode_small(void)
{
	return verify_both(tfile("small33.txt"), PH_ALWAYS);
}

static int t_inode_partial(void)
{
	return verify_both(tfile("partial.bin"), PH_ALWAYS);
}

static int t_inode_page8k(void)
{
	return verify_both(tfile("page8k.bin"), PH_ALWAYS);
}

static int t_inode_big(void)
{
	if (verify_both(tfile("big.bin"), PH_INODE) < 0)
		return -1;
	return verify_both(tfile("mmapw.bin"), PH_ALWAYS);
}

static int t_inode_writes(void)
{
	static const struct {
		const char *name;
		char how;
	} w[] = {{"small33.txt", 'w'},
		 {"page8k.bin", 'w'},
		 {"partial.bin", 'm'},
		 {"mmapw.bin", 'm'}};
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		if (apply_patches(w[i].name, PH_INODE, w[i].how) < 0 ||
		    verify_both(tfile(w[i].name), PH_INODE) < 0)
			return -1;
	return 0;
}

static int t_inode_new_files(void)
{
	for (size_t i = 0; i < NFILES; i++)
		if (files[i].guest_made && (create_file(in_mnt(files[i].name), &files[i]) < 0 ||
					    verify_both(&files[i], PH_ALWAYS) < 0))
			return -1;
	if (apply_patches("wbig.bin", PH_INODE, 'm') < 0)
		return -1;
	return verify_both(tfile("wbig.bin"), PH_INODE);
}

static int t_inode_drop_caches(void)
{
	if (drop_caches() < 0)
		return -1;
	for (size_t i = 0; i < NFILES; i++)
		if (!files[i].ro && strcmp(files[i].name, "immut.bin") != 0 &&
		    verify_both(&files[i], PH_INODE) < 0)
			return -1;
	return 0;
}

/* ------------------------------------------------------------------ host side */

static int prepare(const char *share, const char *ro_share)
{
	for (size_t i = 0; i < NFILES; i++) {
		if (files[i].guest_made)
			continue;
		char p[PATH_MAX];
		snprintf(p, sizeof(p), "%s/%s", files[i].ro ? ro_share : share, files[i].name);
		detail[0] = '\0';
		if (create_file(p, &files[i]) < 0) {
			fprintf(stderr, "guest_dax_test: %s\n", detail);
			return 1;
		}
	}
	return 0;
}

static int verify(const char *share, const char *ro_share)
{
	for (size_t i = 0; i < NFILES; i++) {
		const struct tfile *f = &files[i];
		char p[PATH_MAX], name[128];
		snprintf(p, sizeof(p), "%s/%s", f->ro ? ro_share : share, f->name);
		snprintf(name, sizeof(name), "host: %s %s", f->name,
			 f->ro				     ? "unchanged (read-only share)"
			 : strcmp(f->name, "immut.bin") == 0 ? "unchanged (immutable)"
			 : f->guest_made		     ? "as the guest wrote it"
					 : "holds the guest's writes, nothing else");
		detail[0] = '\0';
		if (verify_read(p, f, PH_INODE) == 0) {
			printf("ok - %s\n", name);
		} else {
			n_failed++;
			printf("not ok - %s: %s\n", name, detail);
		}
	}
	return n_failed != 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *cmd = argc > 1 ? argv[1] : "";
	if (argc == 4 && strcmp(cmd, "prepare") == 0)
		return prepare(argv[2], argv[3]);
	if (argc == 4 && strcmp(cmd, "verify") == 0)
		return verify(argv[2], argv[3]);
	struct sigaction sa = {.sa_handler = on_sigbus};
	sigaction(SIGBUS, &sa, NULL);
	mnt = argc > 2 ? argv[2] : "";
	tag = argc > 3 ? argv[3] : "";
	if (argc == 4 && strcmp(cmd, "always") == 0) {
		check("dax=always mount in /proc/mounts", t_always_mounted);
		check("big.bin reports STATX_ATTR_DAX", t_always_statx);
		check("read() of big.bin (24 MiB through the window) matches the host's bytes",
		      t_big_read);
		check("mmap read of big.bin matches the host's bytes", t_big_mmap);
		check("the DAX window (BAR 4) holds big.bin's pages while mapped",
		      t_window_holds_file);
		check("mmap(MAP_SHARED) writes to mmapw.bin (across pages and 2 MiB chunks)",
		      t_mmap_write);
		check("two processes mapping shared.bin see each other's writes", t_two_processes);
		check("33 and 12388-byte files (partial last page): read, mmap, mmap and pwrite "
		      "writes",
		      t_always_partial);
		check("drop_caches, then big.bin and mmapw.bin read again correctly",
		      t_always_drop_caches);
	} else if (argc == 4 && strcmp(cmd, "immutable") == 0 && strcmp(argv[3], "always") == 0) {
		check("dax=always: immut.bin (immutable) reads its bytes or is refused",
		      t_immutable_read);
		check("dax=always: immut.bin cannot be opened or mapped for writing",
		      t_immutable_nowrite);
	} else if (argc == 4 && strcmp(cmd, "immutable") == 0 && strcmp(argv[3], "inode") == 0) {
		check("dax=inode: immut.bin (immutable) reads correctly (read, mmap)",
		      t_immutable_read_inode);
		check("dax=inode: immut.bin cannot be opened or mapped for writing",
		      t_immutable_nowrite);
	} else if (argc == 4 && strcmp(cmd, "ro") == 0) {
		check("ro.bin (read-only share) reads its bytes or is refused", t_ro_read);
		check("ro.bin (read-only share) cannot be opened or mapped for writing",
		      t_ro_nowrite);
		check("raw writes over the read-only device's DAX window", t_ro_window);
		check("ro.bin still reads its bytes or is refused", t_ro_read);
	} else if (argc == 4 && strcmp(cmd, "inode") == 0) {
		check("dax=inode mount in /proc/mounts", t_inode_mounted);
		check("small33.txt (33 bytes) reads correctly (read, mmap)", t_inode_small);
		check("partial.bin (12388 bytes, partial last page) reads correctly (read, mmap)",
		      t_inode_partial);
		check("page8k.bin (8 KiB) reads correctly (read, mmap)", t_inode_page8k);
		check("big.bin and mmapw.bin read correctly (read, mmap)", t_inode_big);
		check("pwrite into small33.txt, page8k.bin; mmap writes into partial.bin's last "
		      "page "
		      "and mmapw.bin",
		      t_inode_writes);
		check("new files of 33, 12388 bytes and 4 MiB (write, read, mmap write)",
		      t_inode_new_files);
		check("drop_caches, then every file reads correctly", t_inode_drop_caches);
	} else {
		fprintf(stderr,
			"usage: %s prepare|verify SHARE RO_SHARE | always|inode|ro MOUNT TAG | "
			"immutable MOUNT always|inode\n",
			argv[0]);
		return 2;
	}
	return n_failed != 0;
}
