// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * guest_fs_test: file system checks run INSIDE a test guest on a virtiofs mount.
 *
 *   guest_fs_test SHARE_DIR
 *
 * It is a normal host executable: the guest's root is the host's / (read-only 9p), so the guest
 * runs this very binary. Under SHARE_DIR it creates
 *   work/     scratch files for the checks done in the guest
 *   verify/   files the host checks afterwards, listed in verify/MANIFEST (see verify_share.py)
 * Output is TAP: "ok N - name", "not ok N - name: detail", a "# SKIP" for features the guest
 * kernel lacks, and the plan "1..N" at the end. Every check is independent: a failure is
 * reported and the next check runs. Exit status: 0 if all passed, 1 otherwise.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "guest_tap.h"

#define KiB	   1024u
#define MiB	   (1024u * 1024u)
#define MANY_FILES 5000

static FILE *manifest;

static void run(const char *name, int (*fn)(void))
{
	tap_begin(name);
	tap_end(name, fn(), NULL);
}

/* ------------------------------------------------------------------ helpers */

/* The byte at offset off of the pattern with this seed (same formula in verify_share.py). */
static unsigned char pat(uint64_t off, unsigned seed)
{
	return (unsigned char)((off * 7u + (off >> 12) * 13u + seed * 101u + (off >> 20)) & 0xffu);
}

static void fill(unsigned char *buf, uint64_t off, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pat(off + i, seed);
}

/* Index of the first byte of buf that differs from the pattern, or -1. */
static long check_pat(const unsigned char *buf, uint64_t off, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != pat(off + i, seed))
			return (long)i;
	return -1;
}

static int write_all(int fd, const void *buf, size_t len, off_t off)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/* Reads exactly len bytes unless EOF; returns the count read or -1. */
static ssize_t read_all(int fd, void *buf, size_t len, off_t off)
{
	char *p = buf;
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, p + got, len - got, off + (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		perror("malloc");
		exit(2);
	}
	return p;
}

/* Reads back a whole file and compares it with the pattern. */
static int verify_file(const char *path, uint64_t size, unsigned seed)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return fail("open %s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return fail("fstat %s: %s", path, strerror(errno));
	}
	if ((uint64_t)st.st_size != size) {
		close(fd);
		return fail("%s: size %lld, expected %" PRIu64, path, (long long)st.st_size, size);
	}
	unsigned char *buf = xmalloc(size + 1);
	ssize_t n = read_all(fd, buf, size + 1, 0);
	int err = errno;
	close(fd);
	int r = 0;
	if (n < 0)
		r = fail("read %s: %s", path, strerror(err));
	else if ((uint64_t)n != size)
		r = fail("%s: read %zd bytes, expected %" PRIu64, path, n, size);
	else {
		long bad = check_pat(buf, 0, size, seed);
		if (bad >= 0)
			r = fail("%s: content differs at offset %ld", path, bad);
	}
	free(buf);
	return r;
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(manifest, fmt, ap);
	va_end(ap);
	fputc('\n', manifest);
	fflush(manifest);
}

/* Hex encoding for manifest lines (one static buffer: use once per call of note()). */
static const char *hex(const void *data, size_t len)
{
	static char out[512];
	const unsigned char *p = data;
	size_t i;
	for (i = 0; i < len && 2 * i + 2 < sizeof(out); i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
	out[2 * i] = '\0';
	return out;
}
#define HEXS(str) hex(str, strlen(str))

/* ------------------------------------------------------------------ checks */

static int t_create_write_read(void)
{
	static const char msg[] = "hello, virtio-fs\n";
	int fd = open("work/hello", O_CREAT | O_EXCL | O_RDWR, 0644);
	SYS(fd);
	CHECK(write(fd, msg, sizeof(msg) - 1) == (ssize_t)(sizeof(msg) - 1), "write: %s",
	      strerror(errno));
	char buf[64] = {0};
	CHECK(pread(fd, buf, sizeof(buf), 0) == (ssize_t)(sizeof(msg) - 1), "pread short");
	CHECK(memcmp(buf, msg, sizeof(msg) - 1) == 0, "content differs");
	struct stat st;
	SYS(fstat(fd, &st));
	CHECK(S_ISREG(st.st_mode) && st.st_size == (off_t)(sizeof(msg) - 1), "fstat: size %lld",
	      (long long)st.st_size);
	SYS(close(fd));
	/* O_EXCL on an existing file */
	CHECK(open("work/hello", O_CREAT | O_EXCL | O_RDWR, 0644) < 0 && errno == EEXIST,
	      "O_CREAT|O_EXCL on an existing file: expected EEXIST, got %s", strerror(errno));
	/* O_APPEND */
	fd = open("work/hello", O_WRONLY | O_APPEND);
	SYS(fd);
	CHECK(write(fd, "more\n", 5) == 5, "append write: %s", strerror(errno));
	SYS(close(fd));
	struct stat st2;
	SYS(stat("work/hello", &st2));
	CHECK(st2.st_size == st.st_size + 5, "after O_APPEND size %lld", (long long)st2.st_size);
	/* unlink */
	SYS(unlink("work/hello"));
	CHECK(access("work/hello", F_OK) < 0 && errno == ENOENT, "file still there after unlink");
	return 0;
}

/* Patterned files of many sizes, written with odd chunk sizes, read back, left for the host. */
static int t_pattern_files(void)
{
	static const struct {
		uint64_t size;
		size_t chunk; /* 0: a single write() */
	} files[] = {
		{0, 0},
		{1, 0},
		{4095, 0},
		{4096, 0},
		{4097, 1000},
		{65537, 7919},
		{MiB, 0},
		{MiB + 13, 131072 + 5},
		{5 * MiB + 333, 0}, /* one 5 MiB write() syscall */
		{3 * MiB + 1, 4096},
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[64];
		unsigned seed = (unsigned)(i + 1);
		uint64_t size = files[i].size;
		snprintf(path, sizeof(path), "verify/pattern_%zu", i);
		int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
		SYS(fd);
		unsigned char *buf = xmalloc(size);
		fill(buf, 0, size, seed);
		size_t chunk = files[i].chunk ? files[i].chunk : (size ? size : 1);
		for (uint64_t off = 0; off < size; off += chunk) {
			size_t len = size - off < chunk ? (size_t)(size - off) : chunk;
			ssize_t n = write(fd, buf + off, len);
			if (n != (ssize_t)len) {
				int err = errno;
				free(buf);
				close(fd);
				return fail("%s: write of %zu at %" PRIu64 " returned %zd (%s)",
					    path, len, off, n, strerror(err));
			}
		}
		free(buf);
		SYS(close(fd));
		note("pattern %s %" PRIu64 " %u", path, size, seed);
		if (verify_file(path, size, seed) < 0)
			return -1;
	}
	return 0;
}

static int t_truncate(void)
{
	int fd = open("verify/truncated", O_CREAT | O_TRUNC | O_RDWR, 0644);
	SYS(fd);
	unsigned char buf[8192];
	fill(buf, 0, sizeof(buf), 9);
	CHECK(write(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf), "write");
	SYS(ftruncate(fd, 5000)); /* shrink */
	struct stat st;
	SYS(fstat(fd, &st));
	CHECK(st.st_size == 5000, "after ftruncate(5000) size %lld", (long long)st.st_size);
	SYS(ftruncate(fd, 20000)); /* grow: zeros */
	unsigned char rb[20000];
	CHECK(read_all(fd, rb, sizeof(rb), 0) == 20000, "read back 20000");
	CHECK(check_pat(rb, 0, 5000, 9) < 0, "kept part differs");
	for (size_t i = 5000; i < 20000; i++)
		CHECK(rb[i] == 0, "grown part not zero at %zu", i);
	SYS(close(fd));
	SYS(truncate("verify/truncated", 3000)); /* by path */
	SYS(stat("verify/truncated", &st));
	CHECK(st.st_size == 3000, "after truncate(3000) size %lld", (long long)st.st_size);
	note("pattern verify/truncated 3000 9");
	/* O_TRUNC on open */
	fd = open("work/otrunc", O_CREAT | O_RDWR, 0644);
	SYS(fd);
	CHECK(write(fd, buf, 100) == 100, "write");
	SYS(close(fd));
	fd = open("work/otrunc", O_RDWR | O_TRUNC);
	SYS(fd);
	SYS(fstat(fd, &st));
	CHECK(st.st_size == 0, "O_TRUNC left size %lld", (long long)st.st_size);
	SYS(close(fd));
	return 0;
}

static int write_text(const char *path, const char *text)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int read_text(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

static int t_rename(void)
{
	char buf[64];
	SYS(write_text("work/ren_a", "AAA"));
	SYS(rename("work/ren_a", "work/ren_b"));
	CHECK(access("work/ren_a", F_OK) < 0 && errno == ENOENT, "old name still exists");
	SYS(read_text("work/ren_b", buf, sizeof(buf)));
	CHECK(strcmp(buf, "AAA") == 0, "renamed content '%s'", buf);
	/* rename over an existing file replaces it */
	SYS(write_text("work/ren_c", "CCC"));
	SYS(rename("work/ren_c", "work/ren_b"));
	SYS(read_text("work/ren_b", buf, sizeof(buf)));
	CHECK(strcmp(buf, "CCC") == 0, "replaced content '%s'", buf);
	/* across directories */
	SYS(mkdir("work/ren_dir", 0755));
	SYS(rename("work/ren_b", "work/ren_dir/moved"));
	SYS(read_text("work/ren_dir/moved", buf, sizeof(buf)));
	CHECK(strcmp(buf, "CCC") == 0, "moved content '%s'", buf);
	/* directory rename */
	SYS(rename("work/ren_dir", "work/ren_dir2"));
	CHECK(access("work/ren_dir2/moved", F_OK) == 0, "file not found in renamed dir");
	SYS(write_text("verify/renamed_src", "renamed by the guest\n"));
	SYS(rename("verify/renamed_src", "verify/renamed_dst"));
	note("absent verify/renamed_src");
	note("text verify/renamed_dst %s", HEXS("renamed by the guest\n"));
	return 0;
}

static int t_renameat2_noreplace(void)
{
	char buf[64];
	SYS(write_text("work/nr_a", "A"));
	SYS(write_text("work/nr_b", "B"));
	int r = renameat2(AT_FDCWD, "work/nr_a", AT_FDCWD, "work/nr_b", RENAME_NOREPLACE);
	if (r < 0 && errno == EINVAL)
		return fail("RENAME_NOREPLACE not supported (EINVAL)");
	CHECK(r < 0 && errno == EEXIST, "RENAME_NOREPLACE onto an existing file: %s",
	      r == 0 ? "succeeded" : strerror(errno));
	SYS(read_text("work/nr_b", buf, sizeof(buf)));
	CHECK(strcmp(buf, "B") == 0, "target changed to '%s'", buf);
	SYS(renameat2(AT_FDCWD, "work/nr_a", AT_FDCWD, "work/nr_c", RENAME_NOREPLACE));
	SYS(read_text("work/nr_c", buf, sizeof(buf)));
	CHECK(strcmp(buf, "A") == 0, "content '%s'", buf);
	CHECK(access("work/nr_a", F_OK) < 0, "source still there");
	return 0;
}

static int t_renameat2_exchange(void)
{
	char buf[64];
	SYS(write_text("verify/xchg_a", "first\n"));
	SYS(write_text("verify/xchg_b", "second\n"));
	SYS(renameat2(AT_FDCWD, "verify/xchg_a", AT_FDCWD, "verify/xchg_b", RENAME_EXCHANGE));
	SYS(read_text("verify/xchg_a", buf, sizeof(buf)));
	CHECK(strcmp(buf, "second\n") == 0, "xchg_a has '%s'", buf);
	SYS(read_text("verify/xchg_b", buf, sizeof(buf)));
	CHECK(strcmp(buf, "first\n") == 0, "xchg_b has '%s'", buf);
	note("text verify/xchg_a %s", HEXS("second\n"));
	note("text verify/xchg_b %s", HEXS("first\n"));
	/* exchanging with a missing name fails */
	CHECK(renameat2(AT_FDCWD, "verify/xchg_a", AT_FDCWD, "work/nonexistent", RENAME_EXCHANGE) <
			      0 &&
		      errno == ENOENT,
	      "RENAME_EXCHANGE with a missing target: expected ENOENT, got %s", strerror(errno));
	return 0;
}

static int t_link(void)
{
	SYS(write_text("verify/link_a", "linked\n"));
	unlink("verify/link_b");
	SYS(link("verify/link_a", "verify/link_b"));
	struct stat a, b;
	SYS(stat("verify/link_a", &a));
	SYS(stat("verify/link_b", &b));
	CHECK(a.st_ino == b.st_ino, "different inodes %llu %llu", (unsigned long long)a.st_ino,
	      (unsigned long long)b.st_ino);
	CHECK(a.st_nlink == 2 && b.st_nlink == 2, "nlink %lu/%lu, expected 2",
	      (unsigned long)a.st_nlink, (unsigned long)b.st_nlink);
	/* write through one name, read through the other */
	int fd = open("verify/link_b", O_WRONLY | O_APPEND);
	SYS(fd);
	CHECK(write(fd, "again\n", 6) == 6, "append");
	SYS(close(fd));
	char buf[64];
	SYS(read_text("verify/link_a", buf, sizeof(buf)));
	CHECK(strcmp(buf, "linked\nagain\n") == 0, "content via the other name '%s'", buf);
	note("nlink verify/link_a 2");
	note("samefile verify/link_a verify/link_b");
	note("text verify/link_a %s", HEXS("linked\nagain\n"));
	/* a third link, removed again: nlink goes 3 -> 2 */
	SYS(link("verify/link_a", "work/link_c"));
	SYS(stat("verify/link_a", &a));
	CHECK(a.st_nlink == 3, "nlink %lu after a third link", (unsigned long)a.st_nlink);
	SYS(unlink("work/link_c"));
	SYS(stat("verify/link_a", &a));
	CHECK(a.st_nlink == 2, "nlink %lu after unlinking it", (unsigned long)a.st_nlink);
	return 0;
}

static int t_symlink(void)
{
	static const char target[] = "some/target/../path-\xc3\xa4";
	unlink("verify/symlink");
	SYS(symlink(target, "verify/symlink"));
	char buf[256];
	ssize_t n = readlink("verify/symlink", buf, sizeof(buf));
	SYS(n);
	CHECK((size_t)n == strlen(target) && memcmp(buf, target, (size_t)n) == 0,
	      "readlink gave '%.*s'", (int)n, buf);
	struct stat st;
	SYS(lstat("verify/symlink", &st));
	CHECK(S_ISLNK(st.st_mode), "lstat mode %o is not a symlink", st.st_mode);
	CHECK(st.st_size == (off_t)strlen(target), "lstat size %lld", (long long)st.st_size);
	note("symlink verify/symlink %s", HEXS(target));
	/* a symlink that resolves inside the share */
	SYS(write_text("work/sym_target", "through a link\n"));
	SYS(symlink("sym_target", "work/sym_rel"));
	SYS(read_text("work/sym_rel", buf, sizeof(buf)));
	CHECK(strcmp(buf, "through a link\n") == 0, "read through the link '%s'", buf);
	CHECK(open("work/sym_rel", O_RDONLY | O_NOFOLLOW) < 0 && errno == ELOOP,
	      "O_NOFOLLOW on a symlink: expected ELOOP, got %s", strerror(errno));
	return 0;
}

static int t_chmod(void)
{
	SYS(write_text("verify/mode_file", "mode\n"));
	struct stat st;
	static const mode_t modes[] = {0600, 0755, 0444, 0, 04711, 0640};
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		SYS(chmod("verify/mode_file", modes[i]));
		SYS(stat("verify/mode_file", &st));
		CHECK((st.st_mode & 07777) == modes[i], "chmod %04o gave %04o", modes[i],
		      st.st_mode & 07777);
	}
	int fd = open("verify/mode_file", O_RDONLY);
	SYS(fd);
	SYS(fchmod(fd, 0640));
	SYS(fstat(fd, &st));
	SYS(close(fd));
	CHECK((st.st_mode & 07777) == 0640, "fchmod gave %04o", st.st_mode & 07777);
	note("mode verify/mode_file 0640");
	SYS(mkdir("verify/mode_dir", 0700));
	SYS(chmod("verify/mode_dir", 01777));
	SYS(stat("verify/mode_dir", &st));
	CHECK((st.st_mode & 07777) == 01777, "dir chmod 1777 gave %04o", st.st_mode & 07777);
	note("mode verify/mode_dir 1777");
	return 0;
}

static int t_chown(void)
{
	SYS(write_text("verify/owned", "owned by 1000\n"));
	SYS(chown("verify/owned", 1000, 1000));
	struct stat st;
	SYS(stat("verify/owned", &st));
	CHECK(st.st_uid == 1000 && st.st_gid == 1000, "owner %u:%u", st.st_uid, st.st_gid);
	note("owner verify/owned 1000 1000");
	/* the symlink itself, not its target */
	unlink("verify/owned_link");
	SYS(symlink("owned", "verify/owned_link"));
	SYS(lchown("verify/owned_link", 1000, 1001));
	SYS(lstat("verify/owned_link", &st));
	CHECK(st.st_uid == 1000 && st.st_gid == 1001, "symlink owner %u:%u", st.st_uid, st.st_gid);
	SYS(stat("verify/owned", &st));
	CHECK(st.st_gid == 1000, "lchown changed the target's group to %u", st.st_gid);
	note("owner verify/owned_link 1000 1001");
	/* change only the group with fchown */
	int fd = open("work/grp", O_CREAT | O_RDWR, 0644);
	SYS(fd);
	SYS(fchown(fd, (uid_t)-1, 1234));
	SYS(fstat(fd, &st));
	SYS(close(fd));
	CHECK(st.st_uid == 0 && st.st_gid == 1234, "fchown(-1, 1234) gave %u:%u", st.st_uid,
	      st.st_gid);
	return 0;
}

static int t_utimes(void)
{
	SYS(write_text("verify/times", "times\n"));
	struct timespec ts[2] = {{.tv_sec = 1000000000, .tv_nsec = 123456789},
				 {.tv_sec = 1234567890, .tv_nsec = 987654321}};
	SYS(utimensat(AT_FDCWD, "verify/times", ts, 0));
	struct stat st;
	SYS(stat("verify/times", &st));
	CHECK(st.st_atim.tv_sec == ts[0].tv_sec && st.st_atim.tv_nsec == ts[0].tv_nsec,
	      "atime %lld.%09ld", (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec);
	CHECK(st.st_mtim.tv_sec == ts[1].tv_sec && st.st_mtim.tv_nsec == ts[1].tv_nsec,
	      "mtime %lld.%09ld", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	note("mtime verify/times 1234567890 987654321");
	/* utimes (microseconds) */
	struct timeval tv[2] = {{.tv_sec = 500000000, .tv_usec = 5},
				{.tv_sec = 600000000, .tv_usec = 6}};
	SYS(utimes("work/../verify/times", tv));
	SYS(stat("verify/times", &st));
	CHECK(st.st_mtim.tv_sec == 600000000 && st.st_mtim.tv_nsec == 6000,
	      "utimes mtime %lld.%09ld", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	SYS(utimensat(AT_FDCWD, "verify/times", ts, 0));
	/* UTIME_NOW for mtime, UTIME_OMIT for atime */
	SYS(write_text("work/times_now", "x"));
	SYS(utimensat(AT_FDCWD, "work/times_now", ts, 0));
	struct timespec before, after;
	clock_gettime(CLOCK_REALTIME, &before);
	struct timespec now_omit[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_nsec = UTIME_NOW}};
	SYS(utimensat(AT_FDCWD, "work/times_now", now_omit, 0));
	clock_gettime(CLOCK_REALTIME, &after);
	SYS(stat("work/times_now", &st));
	CHECK(st.st_atim.tv_sec == ts[0].tv_sec && st.st_atim.tv_nsec == ts[0].tv_nsec,
	      "UTIME_OMIT changed atime to %lld", (long long)st.st_atim.tv_sec);
	CHECK(st.st_mtim.tv_sec >= before.tv_sec - 2 && st.st_mtim.tv_sec <= after.tv_sec + 2,
	      "UTIME_NOW mtime %lld not in [%lld, %lld] (host and guest clocks differ?)",
	      (long long)st.st_mtim.tv_sec, (long long)before.tv_sec, (long long)after.tv_sec);
	/* futimens with NULL: both now */
	int fd = open("work/times_now", O_RDWR);
	SYS(fd);
	SYS(futimens(fd, NULL));
	SYS(fstat(fd, &st));
	SYS(close(fd));
	CHECK(st.st_atim.tv_sec >= before.tv_sec - 2, "futimens(NULL) atime %lld",
	      (long long)st.st_atim.tv_sec);
	/* writing updates mtime */
	SYS(utimensat(AT_FDCWD, "work/times_now", ts, 0));
	fd = open("work/times_now", O_WRONLY);
	SYS(fd);
	CHECK(write(fd, "y", 1) == 1, "write");
	SYS(close(fd));
	SYS(stat("work/times_now", &st));
	CHECK(st.st_mtim.tv_sec >= before.tv_sec - 2, "write did not update mtime (%lld)",
	      (long long)st.st_mtim.tv_sec);
	return 0;
}

static int t_xattr(void)
{
	static const char val[] = "value\0with a nul byte";
	const size_t vlen = sizeof(val) - 1;
	SYS(write_text("verify/xattrs", "x\n"));
	int r = setxattr("verify/xattrs", "user.vfsd.test", val, vlen, 0);
	if (r < 0 && errno == EOPNOTSUPP)
		return fail("setxattr: EOPNOTSUPP (daemon started without --xattr?)");
	SYS(r);
	char buf[256];
	ssize_t n = getxattr("verify/xattrs", "user.vfsd.test", NULL, 0);
	CHECK(n == (ssize_t)vlen, "getxattr size query gave %zd (%s)", n, strerror(errno));
	n = getxattr("verify/xattrs", "user.vfsd.test", buf, sizeof(buf));
	CHECK(n == (ssize_t)vlen && memcmp(buf, val, vlen) == 0, "getxattr gave %zd bytes", n);
	CHECK(getxattr("verify/xattrs", "user.vfsd.test", buf, 3) < 0 && errno == ERANGE,
	      "small buffer: expected ERANGE, got %s", strerror(errno));
	SYS(setxattr("verify/xattrs", "user.vfsd.keep", "kept", 4, XATTR_CREATE));
	CHECK(setxattr("verify/xattrs", "user.vfsd.keep", "x", 1, XATTR_CREATE) < 0 &&
		      errno == EEXIST,
	      "XATTR_CREATE on an existing name: expected EEXIST, got %s", strerror(errno));
	CHECK(setxattr("verify/xattrs", "user.vfsd.none", "x", 1, XATTR_REPLACE) < 0 &&
		      errno == ENODATA,
	      "XATTR_REPLACE on a missing name: expected ENODATA, got %s", strerror(errno));
	SYS(setxattr("verify/xattrs", "user.vfsd.gone", "bye", 3, 0));
	/* list */
	char list[1024];
	n = listxattr("verify/xattrs", NULL, 0);
	CHECK(n > 0, "listxattr size query gave %zd (%s)", n, strerror(errno));
	n = listxattr("verify/xattrs", list, sizeof(list));
	SYS(n);
	int seen = 0;
	for (char *p = list; p < list + n; p += strlen(p) + 1) {
		if (!strcmp(p, "user.vfsd.test") || !strcmp(p, "user.vfsd.keep") ||
		    !strcmp(p, "user.vfsd.gone"))
			seen++;
	}
	CHECK(seen == 3, "listxattr shows %d of the 3 names", seen);
	/* remove */
	SYS(removexattr("verify/xattrs", "user.vfsd.gone"));
	CHECK(getxattr("verify/xattrs", "user.vfsd.gone", buf, sizeof(buf)) < 0 && errno == ENODATA,
	      "after removexattr: expected ENODATA, got %s", strerror(errno));
	CHECK(removexattr("verify/xattrs", "user.vfsd.gone") < 0 && errno == ENODATA,
	      "removing a missing name: expected ENODATA, got %s", strerror(errno));
	/* fd-based variants */
	int fd = open("verify/xattrs", O_RDONLY);
	SYS(fd);
	SYS(fsetxattr(fd, "user.vfsd.fd", "via fd", 6, 0));
	n = fgetxattr(fd, "user.vfsd.fd", buf, sizeof(buf));
	SYS(close(fd));
	CHECK(n == 6 && memcmp(buf, "via fd", 6) == 0, "fgetxattr gave %zd", n);
	/* on a directory */
	SYS(mkdir("verify/xattr_dir", 0755));
	SYS(setxattr("verify/xattr_dir", "user.vfsd.dir", "d", 1, 0));
	note("xattr verify/xattrs user.vfsd.test %s", hex(val, vlen));
	note("xattr verify/xattrs user.vfsd.keep %s", HEXS("kept"));
	note("xattr verify/xattrs user.vfsd.fd %s", HEXS("via fd"));
	note("noxattr verify/xattrs user.vfsd.gone");
	note("xattr verify/xattr_dir user.vfsd.dir %s", HEXS("d"));
	return 0;
}

/* Runs fn in a child process; returns what the child returned (its exit status) or -1. */
static int in_child(int (*fn)(const char *), const char *arg)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(fn(arg));
	int status;
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static pid_t lock_owner;

/* Child: 0 = got EAGAIN/EACCES and F_GETLK reported the parent's write lock. */
static int child_conflict(const char *path)
{
	int fd = open(path, O_RDWR);
	if (fd < 0)
		return 10;
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 10, .l_len = 20};
	if (fcntl(fd, F_SETLK, &fl) == 0)
		return 11; /* no conflict seen */
	if (errno != EAGAIN && errno != EACCES)
		return 12;
	struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
	if (fcntl(fd, F_GETLK, &q) < 0)
		return 13;
	printf("# child: F_GETLK reported l_type %s l_pid %d l_start %lld l_len %lld; the lock is "
	       "F_WRLCK, pid %d, [0, 100)\n",
	       q.l_type == F_WRLCK   ? "F_WRLCK"
	       : q.l_type == F_RDLCK ? "F_RDLCK"
				     : "F_UNLCK",
	       (int)q.l_pid, (long long)q.l_start, (long long)q.l_len, (int)lock_owner);
	fflush(stdout);
	if (q.l_type != F_WRLCK)
		return 14;
	if (q.l_pid != lock_owner)
		return 15;
	if (q.l_start != 0 || q.l_len != 100)
		return 16;
	/* a non-overlapping range is free */
	struct flock free_range = {
		.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 200, .l_len = 10};
	if (fcntl(fd, F_SETLK, &free_range) < 0)
		return 17;
	return 0;
}

/* Child: 0 = the lock can be taken (after the parent released it). */
static int child_take(const char *path)
{
	int fd = open(path, O_RDWR);
	if (fd < 0)
		return 10;
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 100};
	if (fcntl(fd, F_SETLK, &fl) < 0)
		return 20;
	struct flock q = fl;
	if (fcntl(fd, F_GETLK, &q) < 0 || q.l_type != F_UNLCK)
		return 21; /* own locks never conflict */
	return 0;
}

static int t_posix_locks(void)
{
	static const char *const why[] = {
		[10] = "child could not open the file",
		[11] = "child's conflicting F_SETLK succeeded",
		[12] = "child's F_SETLK failed with an errno other than EAGAIN/EACCES",
		[13] = "child's F_GETLK failed",
		[14] = "F_GETLK did not report the write lock",
		[15] = "F_GETLK reported a wrong l_pid",
		[16] = "F_GETLK reported a wrong range",
		[17] = "a non-overlapping range could not be locked",
		[20] = "lock still held after F_UNLCK",
		[21] = "F_GETLK on own lock reported a conflict",
	};
	const char *path = "work/posix_lock";
	SYS(write_text(path, "locks\n"));
	int fd = open(path, O_RDWR);
	SYS(fd);
	lock_owner = getpid();
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 100};
	SYS(fcntl(fd, F_SETLK, &fl));
	int r = in_child(child_conflict, path);
	if (r != 0) {
		close(fd);
		return fail("%s (child status %d)",
			    r > 0 && r <= 21 && why[r] ? why[r] : "child failed", r);
	}
	fl.l_type = F_UNLCK;
	SYS(fcntl(fd, F_SETLK, &fl));
	r = in_child(child_take, path);
	close(fd);
	CHECK(r == 0, "%s (child status %d)", r > 0 && r <= 21 && why[r] ? why[r] : "child failed",
	      r);
	/* F_SETLKW with no conflict returns at once */
	fd = open(path, O_RDWR);
	SYS(fd);
	fl.l_type = F_RDLCK;
	SYS(fcntl(fd, F_SETLKW, &fl));
	SYS(close(fd));
	return 0;
}

static int t_flock(void)
{
	const char *path = "work/flock";
	SYS(write_text(path, "flock\n"));
	int a = open(path, O_RDWR);
	SYS(a);
	int b = open(path, O_RDWR);
	SYS(b);
	SYS(flock(a, LOCK_EX | LOCK_NB));
	int r = flock(b, LOCK_EX | LOCK_NB);
	int err = errno;
	CHECK(r < 0 && err == EWOULDBLOCK, "second LOCK_EX|LOCK_NB: expected EWOULDBLOCK, got %s",
	      r == 0 ? "success" : strerror(err));
	CHECK(flock(b, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK,
	      "LOCK_SH against LOCK_EX: expected EWOULDBLOCK");
	SYS(flock(a, LOCK_UN));
	SYS(flock(b, LOCK_EX | LOCK_NB));
	SYS(flock(b, LOCK_UN));
	/* shared locks coexist */
	SYS(flock(a, LOCK_SH | LOCK_NB));
	SYS(flock(b, LOCK_SH | LOCK_NB));
	close(a);
	close(b);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int t_readdir_many(void)
{
	SYS(mkdir("verify/many", 0755));
	char name[64];
	for (int i = 0; i < MANY_FILES; i++) {
		snprintf(name, sizeof(name), "verify/many/entry-%05d", i);
		int fd = open(name, O_CREAT | O_EXCL | O_WRONLY, 0644);
		if (fd < 0)
			return fail("create %s: %s", name, strerror(errno));
		close(fd);
	}
	DIR *d = opendir("verify/many");
	CHECK(d, "opendir: %s", strerror(errno));
	char **names = xmalloc(sizeof(char *) * (MANY_FILES + 16));
	int n = 0, dots = 0, bad_type = 0, extra = 0;
	struct dirent *e;
	errno = 0;
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) {
			dots++;
			continue;
		}
		if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN)
			bad_type++;
		if (n < MANY_FILES + 16)
			names[n++] = strdup(e->d_name);
		else
			extra++;
	}
	int err = errno;
	closedir(d);
	int r = 0;
	if (err)
		r = fail("readdir: %s", strerror(err));
	else if (n + extra != MANY_FILES)
		r = fail("readdir returned %d entries, expected %d", n + extra, MANY_FILES);
	else if (dots != 2)
		r = fail("saw %d of '.' and '..'", dots);
	else if (bad_type)
		r = fail("%d entries with a wrong d_type", bad_type);
	else {
		qsort(names, (size_t)n, sizeof(char *), cmp_str);
		for (int i = 0; i < n; i++) {
			snprintf(name, sizeof(name), "entry-%05d", i);
			if (strcmp(names[i], name) != 0) {
				r = fail("entry %d is '%s', expected '%s' (duplicate or missing)",
					 i, names[i], name);
				break;
			}
		}
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (r == 0)
		note("count verify/many %d", MANY_FILES);
	return r;
}

static int t_unlink_rmdir(void)
{
	SYS(mkdir("work/rmme", 0755));
	char name[64];
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "work/rmme/f%d", i);
		SYS(write_text(name, "x"));
	}
	CHECK(rmdir("work/rmme") < 0 && errno == ENOTEMPTY, "rmdir of a non-empty dir: %s",
	      strerror(errno));
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "work/rmme/f%d", i);
		SYS(unlink(name));
	}
	SYS(rmdir("work/rmme"));
	CHECK(access("work/rmme", F_OK) < 0 && errno == ENOENT, "dir still there");
	/* an unlinked file stays readable through an open fd */
	SYS(write_text("work/open_unlinked", "still here"));
	int fd = open("work/open_unlinked", O_RDONLY);
	SYS(fd);
	SYS(unlink("work/open_unlinked"));
	char buf[32] = {0};
	CHECK(read(fd, buf, sizeof(buf) - 1) == 10 && !strcmp(buf, "still here"),
	      "read after unlink: '%s'", buf);
	SYS(close(fd));
	return 0;
}

static int t_mmap_shared(void)
{
	const size_t size = 3 * 4096 + 100;
	int fd = open("verify/mmap_file", O_CREAT | O_TRUNC | O_RDWR, 0644);
	SYS(fd);
	SYS(ftruncate(fd, (off_t)size));
	unsigned char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		int err = errno;
		close(fd);
		return fail("mmap MAP_SHARED PROT_WRITE: %s", strerror(err));
	}
	fill(p, 0, size, 21);
	if (msync(p, size, MS_SYNC) < 0) {
		int err = errno;
		munmap(p, size);
		close(fd);
		return fail("msync: %s", strerror(err));
	}
	munmap(p, size);
	SYS(close(fd));
	note("pattern verify/mmap_file %zu 21", size);
	if (verify_file("verify/mmap_file", size, 21) < 0)
		return -1;
	/* a read-only mapping sees data written with write() */
	fd = open("verify/mmap_file", O_RDONLY);
	SYS(fd);
	p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	CHECK(p != MAP_FAILED, "mmap PROT_READ: %s", strerror(errno));
	long bad = check_pat(p, 0, size, 21);
	munmap(p, size);
	CHECK(bad < 0, "mapped content differs at %ld", bad);
	return 0;
}

static int t_fsync(void)
{
	int fd = open("work/fsync", O_CREAT | O_TRUNC | O_RDWR, 0644);
	SYS(fd);
	CHECK(write(fd, "sync me", 7) == 7, "write");
	SYS(fsync(fd));
	SYS(fdatasync(fd));
	SYS(close(fd));
	int dfd = open("work", O_RDONLY | O_DIRECTORY);
	SYS(dfd);
	SYS(fsync(dfd));
	SYS(close(dfd));
	fd = open("work/fsync", O_WRONLY | O_SYNC);
	SYS(fd);
	CHECK(write(fd, "O_SYNC", 6) == 6, "O_SYNC write: %s", strerror(errno));
	SYS(close(fd));
	sync();
	return 0;
}

static int t_tmpfile(void)
{
	int fd = open("verify", O_TMPFILE | O_RDWR, 0640);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR))
		return skip("O_TMPFILE: %s (FUSE_TMPFILE unsupported by the guest kernel or the "
			    "daemon)",
			    strerror(errno));
	SYS(fd);
	unsigned char buf[10000];
	fill(buf, 0, sizeof(buf), 31);
	CHECK(write(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf), "write to the tmpfile");
	struct stat st;
	SYS(fstat(fd, &st));
	CHECK(st.st_nlink == 0, "tmpfile nlink %lu", (unsigned long)st.st_nlink);
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	unlink("verify/tmpfile_linked");
	int r = linkat(AT_FDCWD, proc, AT_FDCWD, "verify/tmpfile_linked", AT_SYMLINK_FOLLOW);
	int err = errno;
	close(fd);
	CHECK(r == 0, "linkat via /proc/self/fd: %s", strerror(err));
	note("pattern verify/tmpfile_linked %zu 31", sizeof(buf));
	note("mode verify/tmpfile_linked 0640");
	return verify_file("verify/tmpfile_linked", sizeof(buf), 31);
}

static int t_fallocate(void)
{
	const off_t size = 1 * MiB;
	int fd = open("verify/fallocated", O_CREAT | O_TRUNC | O_RDWR, 0644);
	SYS(fd);
	int r = fallocate(fd, 0, 0, size);
	if (r < 0 && errno == EOPNOTSUPP) {
		close(fd);
		return fail("fallocate mode 0: EOPNOTSUPP");
	}
	SYS(r);
	struct stat st;
	SYS(fstat(fd, &st));
	CHECK(st.st_size == size, "size after fallocate %lld", (long long)st.st_size);
	CHECK(st.st_blocks * 512 >= size, "st_blocks %lld after allocating %lld",
	      (long long)st.st_blocks, (long long)size);
	unsigned char *buf = xmalloc((size_t)size);
	fill(buf, 0, (size_t)size, 41);
	r = write_all(fd, buf, (size_t)size, 0);
	free(buf);
	SYS(r);
	/* KEEP_SIZE: allocate past EOF without changing the size */
	blkcnt_t blocks = st.st_blocks;
	SYS(fallocate(fd, FALLOC_FL_KEEP_SIZE, size, 256 * KiB));
	SYS(fstat(fd, &st));
	CHECK(st.st_size == size, "KEEP_SIZE changed the size to %lld", (long long)st.st_size);
	CHECK(st.st_blocks > blocks, "KEEP_SIZE did not allocate (blocks %lld -> %lld)",
	      (long long)blocks, (long long)st.st_blocks);
	/* punch a hole: reads as zeros, size unchanged */
	const off_t hs = 256 * KiB, hl = 128 * KiB;
	r = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, hs, hl);
	if (r < 0) {
		int err = errno;
		close(fd);
		return fail("PUNCH_HOLE: %s", strerror(err));
	}
	SYS(fstat(fd, &st));
	CHECK(st.st_size == size, "PUNCH_HOLE changed the size to %lld", (long long)st.st_size);
	unsigned char *rb = xmalloc((size_t)size);
	ssize_t n = read_all(fd, rb, (size_t)size, 0);
	close(fd);
	int res = 0;
	if (n != size)
		res = fail("read back %zd bytes", n);
	for (off_t i = 0; res == 0 && i < size; i++) {
		unsigned char want = (i >= hs && i < hs + hl) ? 0 : pat((uint64_t)i, 41);
		if (rb[i] != want)
			res = fail("byte %lld is %u, expected %u", (long long)i, rb[i], want);
	}
	free(rb);
	if (res == 0) {
		note("regions verify/fallocated %lld 41 %lld:%lld", (long long)size, (long long)hs,
		     (long long)(hs + hl));
		note("holes verify/fallocated %lld:%lld", (long long)hs, (long long)(hs + hl));
	}
	return res;
}

static int t_seek_data_hole(void)
{
	/* data at [0, 64K) and [1M, 1M+64K), size 4M */
	const off_t d1 = 0, l1 = 64 * KiB, d2 = 1 * MiB, l2 = 64 * KiB, size = 4 * MiB;
	int fd = open("verify/sparse", O_CREAT | O_TRUNC | O_RDWR, 0644);
	SYS(fd);
	unsigned char *buf = xmalloc((size_t)l1);
	fill(buf, (uint64_t)d1, (size_t)l1, 51);
	int r = write_all(fd, buf, (size_t)l1, d1);
	fill(buf, (uint64_t)d2, (size_t)l2, 51);
	if (r == 0)
		r = write_all(fd, buf, (size_t)l2, d2);
	free(buf);
	SYS(r);
	SYS(ftruncate(fd, size));
	SYS(fsync(fd));
	note("regions verify/sparse %lld 51 %lld:%lld %lld:%lld", (long long)size,
	     (long long)(d1 + l1), (long long)d2, (long long)(d2 + l2), (long long)size);
	note("holes verify/sparse %lld:%lld %lld:%lld", (long long)(d1 + l1), (long long)d2,
	     (long long)(d2 + l2), (long long)size);
	off_t o;
	int res = 0;
	if ((o = lseek(fd, 0, SEEK_DATA)) != d1)
		res = fail("SEEK_DATA from 0 gave %lld (%s)", (long long)o, strerror(errno));
	else if ((o = lseek(fd, 0, SEEK_HOLE)) != d1 + l1)
		res = fail("SEEK_HOLE from 0 gave %lld, expected %lld", (long long)o,
			   (long long)(d1 + l1));
	else if ((o = lseek(fd, d1 + l1, SEEK_DATA)) != d2)
		res = fail("SEEK_DATA from %lld gave %lld, expected %lld", (long long)(d1 + l1),
			   (long long)o, (long long)d2);
	else if ((o = lseek(fd, d2 + 100, SEEK_HOLE)) != d2 + l2)
		res = fail("SEEK_HOLE from %lld gave %lld, expected %lld", (long long)(d2 + 100),
			   (long long)o, (long long)(d2 + l2));
	else if ((o = lseek(fd, d2 + l2, SEEK_DATA)) != -1 || errno != ENXIO)
		res = fail("SEEK_DATA in the trailing hole gave %lld (%s), expected ENXIO",
			   (long long)o, strerror(errno));
	else if ((o = lseek(fd, size, SEEK_HOLE)) != -1 || errno != ENXIO)
		res = fail("SEEK_HOLE at EOF gave %lld, expected ENXIO", (long long)o);
	close(fd);
	return res;
}

static int t_copy_file_range(void)
{
	const size_t ssize = 300 * KiB + 17;
	int src = open("work/cfr_src", O_CREAT | O_TRUNC | O_RDWR, 0644);
	SYS(src);
	unsigned char *buf = xmalloc(ssize);
	fill(buf, 0, ssize, 61);
	int r = write_all(src, buf, ssize, 0);
	free(buf);
	SYS(r);
	int dst = open("verify/copied", O_CREAT | O_TRUNC | O_RDWR, 0644);
	SYS(dst);
	/* copy [4096, ssize) of src to offset 0 of dst; the pattern is then shifted by 4096 */
	loff_t in = 4096, out = 0;
	size_t left = ssize - 4096;
	while (left > 0) {
		ssize_t n = copy_file_range(src, &in, dst, &out, left, 0);
		if (n <= 0) {
			int err = errno;
			close(src);
			close(dst);
			return fail("copy_file_range returned %zd (%s) with %zu left", n,
				    n < 0 ? strerror(err) : "no progress", left);
		}
		left -= (size_t)n;
	}
	close(src);
	close(dst);
	note("shifted verify/copied %zu 61 4096", ssize - 4096);
	/* read back in the guest */
	int fd = open("verify/copied", O_RDONLY);
	SYS(fd);
	unsigned char *rb = xmalloc(ssize);
	ssize_t n = read_all(fd, rb, ssize, 0);
	close(fd);
	int res = 0;
	if (n != (ssize_t)(ssize - 4096))
		res = fail("copy has %zd bytes, expected %zu", n, ssize - 4096);
	else if ((n = check_pat(rb, 4096, ssize - 4096, 61)) >= 0)
		res = fail("copy differs at offset %zd", n);
	free(rb);
	return res;
}

/* statx with STATX_BTIME: Linux >= 6.6 asks the daemon with FUSE_STATX (GETATTR has no birth
 * time), older guests cannot. The host compares with its own birth time of the file
 * (verify_share.py, "btime"): equal, or none where the guest kernel or the host has none. */
static int t_statx_btime(void)
{
	struct statx sx;
	struct utsname u;

	SYS(write_text("verify/btime", "born\n"));
	SYS(uname(&u));
	SYS(statx(AT_FDCWD, "verify/btime", 0, STATX_BASIC_STATS | STATX_BTIME, &sx));
	CHECK((sx.stx_mask & STATX_BASIC_STATS) == STATX_BASIC_STATS, "statx mask %#x",
	      sx.stx_mask);
	CHECK(sx.stx_size == 5, "statx size %llu", (unsigned long long)sx.stx_size);
	if (sx.stx_mask & STATX_BTIME)
		note("btime verify/btime %s %lld %u", u.release, (long long)sx.stx_btime.tv_sec,
		     sx.stx_btime.tv_nsec);
	else
		note("btime verify/btime %s none", u.release);
	return 0;
}

static int t_statfs(void)
{
	struct statfs s;
	SYS(statfs("work", &s));
	CHECK(s.f_bsize > 0 && s.f_blocks > 0, "statfs: bsize %ld blocks %llu", (long)s.f_bsize,
	      (unsigned long long)s.f_blocks);
	CHECK(s.f_bfree <= s.f_blocks && s.f_bavail <= s.f_blocks, "statfs: free > total");
	CHECK(s.f_type == 0x65735546 /* FUSE_SUPER_MAGIC */, "f_type %#lx is not FUSE",
	      (unsigned long)s.f_type);
	return 0;
}

static int t_mkdir_nested(void)
{
	SYS(mkdir("verify/d1", 0755));
	SYS(mkdir("verify/d1/d2", 0750));
	SYS(mkdir("verify/d1/d2/d3", 0700));
	SYS(write_text("verify/d1/d2/d3/deep", "deep\n"));
	CHECK(mkdir("verify/d1", 0755) < 0 && errno == EEXIST, "mkdir existing: %s",
	      strerror(errno));
	struct stat st;
	SYS(stat("verify/d1/d2", &st));
	CHECK(S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0750, "d2 mode %o", st.st_mode);
	CHECK(st.st_nlink == 3, "d2 nlink %lu, expected 3", (unsigned long)st.st_nlink);
	note("mode verify/d1/d2 0750");
	note("text verify/d1/d2/d3/deep %s", HEXS("deep\n"));
	/* mknod of a FIFO */
	SYS(mkfifo("verify/fifo", 0600));
	SYS(lstat("verify/fifo", &st));
	CHECK(S_ISFIFO(st.st_mode), "mkfifo made mode %o", st.st_mode);
	note("fifo verify/fifo");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s SHARE_DIR\n", argv[0]);
		return 2;
	}
	if (chdir(argv[1]) < 0) {
		fprintf(stderr, "chdir %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	umask(022);
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Fresh work and verify directories (a leftover verify/ would hide failures). */
	if (access("verify", F_OK) == 0 || access("work", F_OK) == 0) {
		fprintf(stderr, "%s: work/ or verify/ already exists in %s; use an empty share\n",
			argv[0], argv[1]);
		return 2;
	}
	if (mkdir("work", 0755) < 0 || mkdir("verify", 0755) < 0) {
		fprintf(stderr, "mkdir work, verify: %s\n", strerror(errno));
		return 2;
	}
	manifest = fopen("verify/MANIFEST", "w");
	if (!manifest) {
		fprintf(stderr, "create verify/MANIFEST: %s\n", strerror(errno));
		return 2;
	}
	note("# written by guest_fs_test; checked on the host by verify_share.py");

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	run("create, write, read, O_EXCL, O_APPEND, unlink", t_create_write_read);
	run("patterned files 0 B .. 5 MiB (single and chunked writes)", t_pattern_files);
	run("ftruncate, truncate, O_TRUNC", t_truncate);
	run("rename (files, over a file, across dirs, dirs)", t_rename);
	run("renameat2 RENAME_NOREPLACE", t_renameat2_noreplace);
	run("renameat2 RENAME_EXCHANGE", t_renameat2_exchange);
	run("hard links (nlink 2, same inode)", t_link);
	run("symlink, readlink, O_NOFOLLOW", t_symlink);
	run("chmod, fchmod", t_chmod);
	run("chown 1000:1000, lchown, fchown", t_chown);
	run("utimensat, utimes, UTIME_NOW, UTIME_OMIT, futimens", t_utimes);
	run("xattrs user.* set/get/list/remove", t_xattr);
	run("POSIX locks F_SETLK/F_GETLK between processes", t_posix_locks);
	run("flock between two open file descriptions", t_flock);
	run("readdir of 5000 entries", t_readdir_many);
	run("unlink, rmdir, ENOTEMPTY, open unlinked file", t_unlink_rmdir);
	run("mmap MAP_SHARED write + msync", t_mmap_shared);
	run("fsync, fdatasync, directory fsync, O_SYNC", t_fsync);
	run("O_TMPFILE + linkat via /proc/self/fd", t_tmpfile);
	run("fallocate, KEEP_SIZE, PUNCH_HOLE", t_fallocate);
	run("SEEK_DATA / SEEK_HOLE on a sparse file", t_seek_data_hole);
	run("copy_file_range", t_copy_file_range);
	run("statx STATX_BTIME (FUSE_STATX)", t_statx_btime);
	run("statfs", t_statfs);
	run("mkdir (nested), mkfifo", t_mkdir_nested);
	clock_gettime(CLOCK_MONOTONIC, &t1);

	note("# end");
	if (fclose(manifest) != 0)
		printf("# closing the manifest failed: %s\n", strerror(errno));
	sync();
	printf("1..%d\n", test_no);
	printf("# guest: %d passed, %d failed, %d skipped, in %.1f s\n",
	       test_no - n_failed - n_skipped, n_failed, n_skipped,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return n_failed ? 1 : 0;
}
