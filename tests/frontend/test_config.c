/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Daemon configurations, each on a freshly started daemon: the --cache modes (entry and
 * attribute timeouts, open flags, readdirplus), --readonly, --announce-submounts, and the
 * capabilities of the threads --thread-pool-size starts. Each test
 * restarts the daemon with its flags and restores the default daemon at its end.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "util/macros.h"

static int restart(struct th *t, const char *const *flags)
{
	t->extra_flags = flags;
	return th_reconnect(t, NULL);
}

static void restore(struct th *t)
{
	T_OK(t, restart(t, NULL));
}

struct cache_case {
	const char *flag;
	uint64_t timeout; /* entry and attr validity, seconds */
	uint32_t file_flags, dir_flags;
	bool readdirplus;
};

static void check_cache_mode(struct th *t, const struct cache_case *c)
{
	const char *flags[] = {c->flag, NULL};
	const char *n = th_name(t, "cache");
	struct fuse_entry_out e;
	struct fuse_attr_out a;
	struct fuse_open_out o;

	T_OK(t, restart(t, flags));
	T_OK(t, th_host_write(t, n, "data", 4));
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, n, &e));
	T_EQ(t, e.entry_valid, c->timeout);
	T_EQ(t, e.attr_valid, c->timeout);
	T_OK(t, fe_getattr(t->fe, e.nodeid, NULL, &a));
	T_EQ(t, a.attr_valid, c->timeout);
	T_OK(t, fe_open(t->fe, e.nodeid, O_RDONLY, &o));
	T_EQ(t, o.open_flags & (FOPEN_DIRECT_IO | FOPEN_KEEP_CACHE), c->file_flags);
	T_OK(t, fe_release(t->fe, e.nodeid, o.fh, O_RDONLY));
	T_OK(t, fe_opendir(t->fe, FE_ROOT_ID, &o));
	T_EQ(t, o.open_flags & (FOPEN_CACHE_DIR | FOPEN_KEEP_CACHE), c->dir_flags);
	T_OK(t, fe_releasedir(t->fe, FE_ROOT_ID, o.fh));
	T_EQ(t, !!(fe_fuse_init_out(t->fe)->flags & FUSE_DO_READDIRPLUS), c->readdirplus);
	restore(t);
}

static void test_cache_auto(struct th *t)
{
	static const struct cache_case c = {"--cache=auto", 1, 0, 0, true};
	check_cache_mode(t, &c);
}

static void test_cache_always(struct th *t)
{
	static const struct cache_case c = {"--cache=always", 86400, FOPEN_KEEP_CACHE,
					    FOPEN_CACHE_DIR | FOPEN_KEEP_CACHE, true};
	check_cache_mode(t, &c);
}

static void test_cache_metadata(struct th *t)
{
	static const struct cache_case c = {"--cache=metadata", 86400, FOPEN_DIRECT_IO,
					    FOPEN_CACHE_DIR | FOPEN_KEEP_CACHE, true};
	check_cache_mode(t, &c);
}

static void test_cache_never(struct th *t)
{
	/* As in the Rust virtiofsd, never also turns readdirplus off. */
	static const struct cache_case c = {"--cache=never", 0, FOPEN_DIRECT_IO, 0, false};
	check_cache_mode(t, &c);
}

static void test_readonly(struct th *t)
{
	static const char *const flags[] = {"--readonly", NULL};
	const char *n = th_name(t, "ro");
	struct fuse_entry_out e;
	struct fuse_open_out o;
	struct fuse_attr_out a;
	char buf[8] = "";
	struct stat st;

	T_OK(t, th_host_write(t, n, "keep", 4));
	T_OK(t, restart(t, flags));
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, n, &e));
	/* Reads work. */
	T_OK(t, fe_open(t->fe, e.nodeid, O_RDONLY, &o));
	T_EQ(t, fe_read(t->fe, e.nodeid, o.fh, 0, buf, sizeof(buf)), 4);
	T_CHECK(t, memcmp(buf, "keep", 4) == 0);
	T_OK(t, fe_release(t->fe, e.nodeid, o.fh, O_RDONLY));
	/* Every modification is refused with EROFS, and the host is untouched. */
	T_EQ(t, fe_open(t->fe, e.nodeid, O_RDWR, &o), -EROFS);
	T_EQ(t, fe_create(t->fe, FE_ROOT_ID, "ro-new", O_RDWR, 0644, 0, &e, &o), -EROFS);
	T_EQ(t, fe_mkdir(t->fe, FE_ROOT_ID, "ro-dir", 0755, 0, &e), -EROFS);
	T_EQ(t, fe_unlink(t->fe, FE_ROOT_ID, n), -EROFS);
	struct fuse_setattr_in sa = {.valid = FATTR_MODE, .mode = S_IFREG | 0777};
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, n, &e));
	T_EQ(t, fe_setattr(t->fe, e.nodeid, &sa, &a), -EROFS);
	T_CHECK(t, access(th_host(t, "ro-new"), F_OK) < 0);
	T_CHECK(t, access(th_host(t, "ro-dir"), F_OK) < 0);
	T_OK(t, stat(th_host(t, n), &st));
	T_EQ(t, st.st_mode & 07777, 0644);
	restore(t);
}

/* A tmpfs mounted inside the share, seen through the daemon with and without announcing it. */
static void check_submount(struct th *t, const char *flag, bool announced)
{
	const char *flags[] = {flag, NULL};
	const char *n = th_name(t, "submnt");
	struct fuse_entry_out e, f;
	struct stat st;

	T_OK(t, mkdir(th_host(t, n), 0755));
	if (mount("vfsd-test", th_host(t, n), "tmpfs", 0, "size=1m") < 0) {
		th_skip(t, "cannot mount a tmpfs (not root?)");
		return;
	}
	T_OK(t, th_host_write(t, "submnt-probe", "", 0));
	char inner[PATH_MAX];
	snprintf(inner, sizeof(inner), "%s/inner", n);
	T_OK(t, th_host_write(t, inner, "in", 2));
	T_OK(t, restart(t, flags));
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, n, &e));
	T_EQ(t, !!(e.attr.flags & FUSE_ATTR_SUBMOUNT), announced);
	T_OK(t, stat(th_host(t, n), &st));
	T_EQ(t, e.attr.ino, st.st_ino);
	/* The mount's contents are served, not the directory underneath. */
	T_OK(t, fe_lookup(t->fe, e.nodeid, "inner", &f));
	T_EQ(t, f.attr.size, 2);
	/* A plain directory is never flagged. */
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, "submnt-probe", &f));
	T_EQ(t, f.attr.flags & FUSE_ATTR_SUBMOUNT, 0);
	restore(t);
	T_OK(t, umount2(th_host(t, n), MNT_DETACH));
}

static void test_submounts_announced(struct th *t)
{
	check_submount(t, "--announce-submounts", true);
}

static void test_submounts_not_announced(struct th *t)
{
	check_submount(t, "--no-announce-submounts", false);
}

/* A capability set (CapEff, CapPrm...) of one thread, from /proc/PID/task/TID/status; -1 if
 * unreadable. */
static long long thread_caps(pid_t pid, const char *tid, const char *field)
{
	char path[PATH_MAX], line[256];
	long long v = -1;
	size_t flen = strlen(field);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%s/status", (int)pid, tid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, flen) == 0 && line[flen] == ':')
			v = strtoll(line + flen + 1, NULL, 16);
	fclose(f);
	return v;
}

/* The process that serves: the daemon, or its only child when it forked into a sandbox. */
static pid_t serving_pid(pid_t daemon)
{
	char path[64];
	long child = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)daemon, (int)daemon);
	f = fopen(path, "re");
	if (f) {
		if (fscanf(f, "%ld", &child) != 1)
			child = 0;
		fclose(f);
	}
	return child > 0 ? (pid_t)child : daemon;
}

/*
 * Capabilities are per thread: every thread of the serving process, the thread pool's included
 * (started when the device is created), holds no more than the thread that dropped them.
 */
static void test_pool_threads_drop_caps(struct th *t)
{
	static const char *const flags[] = {"--thread-pool-size=2", NULL};
	const char *fields[] = {"CapEff", "CapPrm"};
	char dir[64];
	unsigned threads = 0;
	struct dirent *de;
	pid_t pid;
	DIR *d;

	T_OK(t, restart(t, flags));
	pid = serving_pid(t->daemon);
	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	d = opendir(dir);
	T_CHECK(t, d != NULL);
	while (d && (de = readdir(d))) {
		char leader[32];

		if (de->d_name[0] == '.')
			continue;
		snprintf(leader, sizeof(leader), "%d", (int)pid);
		for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
			long long want = thread_caps(pid, leader, fields[i]);
			long long got = thread_caps(pid, de->d_name, fields[i]);

			T_CHECK(t, want >= 0 && got >= 0);
			if (got != want)
				th_fail(t, __FILE__, __LINE__,
					"thread %s: %s %llx, main thread %llx", de->d_name,
					fields[i], got, want);
		}
		threads++;
	}
	if (d)
		closedir(d);
	/* The main thread and the two pool threads at least. */
	T_CHECK(t, threads >= 3);
	restore(t);
}

const struct th_test th_config_tests[] = {
	{"cache-auto", test_cache_auto},
	{"cache-always", test_cache_always},
	{"cache-metadata", test_cache_metadata},
	{"cache-never", test_cache_never},
	{"readonly", test_readonly},
	{"submounts-announced", test_submounts_announced},
	{"submounts-not-announced", test_submounts_not_announced},
	{"pool-threads-drop-caps", test_pool_threads_drop_caps},
	TH_TESTS_END,
};
