// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Helpers for frontend-dax; see dax_util.h.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dax_util.h"

#define SETTLE_MS 10000

const char *const dax_flags[] = {"--tag=dax", "--dax-window=16M", NULL};

/* The connection dax_check_frontend() last checked: each is checked once. */
static struct fe *checked;

void dax_check_frontend(struct th *t)
{
	struct fuse_attr_out a;
	struct fe_dax_stats s;

	if (!t->fe || t->fe == checked || !fe_dax_window_size(t->fe))
		return;
	checked = t->fe;
	T_OK(t, fe_dax_settle(t->fe, SETTLE_MS));
	fe_dax_stats(t->fe, &s);
	T_EQ(t, s.overlaps, 0);
	T_EQ(t, s.unmatched, 0);
	T_EQ(t, s.empty_files, 0);
	T_EQ(t, s.past_eof, 0);
	T_EQ(t, s.misaligned, 0);
	T_EQ(t, s.bad, 0);
	T_EQ(t, s.refused, 0);
	T_EQ(t, s.memreg_errors, 0);
	T_CHECK(t, s.max_live <= DAX_MAX_LIVE);
	T_OK(t, fe_getattr(t->fe, FE_ROOT_ID, NULL, &a));
}

void dax_after_test(struct th *t)
{
	static long log_offset;

	dax_check_frontend(t);
	if (th_log_scan(t, &log_offset))
		th_fail(t, __FILE__, __LINE__, "sanitizer report in the daemon's log");
}

int dax_start(struct th *t, const char *const *flags, const struct fe_options *o)
{
	struct fe_options def = {.dax = true};

	int r, status;

	dax_check_frontend(t);
	/* The daemon leaves with its frontend, exit status 0. */
	fe_free(t->fe);
	t->fe = NULL;
	status = th_daemon_wait(t, 5000);
	if (status != -ECHILD && !(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0))
		th_fail(t, __FILE__, __LINE__, "daemon exit status %#x", (unsigned)status);
	t->extra_flags = flags;
	t->init_flags = DAX_INIT_FLAGS;
	r = th_reconnect(t, o ? o : &def);
	checked = NULL;
	return r;
}

void dax_random(void *buf, size_t len, unsigned seed)
{
	uint64_t x = 0x9e3779b97f4a7c15ull * (seed + 1);
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)x;
	}
}

int dax_file(struct th *t, const char *name, size_t len, unsigned seed, uint64_t *ret_node,
	     uint8_t **ret_data, struct stat *ret_st)
{
	uint8_t *data = malloc(len ? len : 1);
	struct fuse_entry_out e;
	int r;

	if (!data)
		return -ENOMEM;
	dax_random(data, len, seed);
	r = th_host_write(t, name, data, len);
	if (r == 0)
		r = fe_lookup(t->fe, FE_ROOT_ID, name, &e);
	if (r == 0 && ret_st && stat(th_host(t, name), ret_st) < 0)
		r = -errno;
	if (r == 0 && ret_node)
		*ret_node = e.nodeid;
	if (r == 0 && ret_data)
		*ret_data = data;
	else
		free(data);
	return r;
}

static int host_write_at(struct th *t, const char *name, const void *buf, size_t len, off_t off,
			 int flags)
{
	int fd = open(th_host(t, name), O_WRONLY | O_CLOEXEC | flags);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = flags & O_APPEND ? write(fd, buf, len) : pwrite(fd, buf, len, off);
	close(fd);
	return n == (ssize_t)len ? 0 : -EIO;
}

int dax_host_append(struct th *t, const char *name, const void *buf, size_t len)
{
	return host_write_at(t, name, buf, len, 0, O_APPEND);
}

int dax_host_pwrite(struct th *t, const char *name, const void *buf, size_t len, off_t off)
{
	return host_write_at(t, name, buf, len, off, 0);
}

bool dax_host_has(struct th *t, const char *name, off_t off, const void *buf, size_t len)
{
	uint8_t got[256];
	int fd = open(th_host(t, name), O_RDONLY | O_CLOEXEC);
	bool same = fd >= 0 && len <= sizeof(got) && pread(fd, got, len, off) == (ssize_t)len &&
		    memcmp(got, buf, len) == 0;

	if (fd >= 0)
		close(fd);
	return same;
}

int dax_map(struct th *t, uint64_t node, uint64_t foffset, uint64_t len, uint64_t moffset,
	    uint64_t flags)
{
	struct fuse_setupmapping_in in = {.fh = UINT64_MAX,
					  .foffset = foffset,
					  .len = len,
					  .flags = flags,
					  .moffset = moffset};
	int r = fe_setupmapping(t->fe, node, &in);

	T_OK(t, fe_dax_settle(t->fe, SETTLE_MS));
	return r;
}

int dax_unmap(struct th *t, uint64_t moffset, uint64_t len)
{
	struct fuse_removemapping_one one = {.moffset = moffset, .len = len};
	int r = fe_removemapping(t->fe, FE_ROOT_ID, 1, &one, 1);

	T_OK(t, fe_dax_settle(t->fe, SETTLE_MS));
	return r;
}

bool dax_window_is(struct th *t, uint64_t off, const void *buf, size_t len)
{
	uint8_t *got = malloc(len ? len : 1);
	bool same = false;

	if (got && fe_dax_read(t->fe, off, got, len) == 0) {
		same = true;
		for (size_t i = 0; i < len && same; i++)
			same = got[i] == (buf ? ((const uint8_t *)buf)[i] : 0);
	}
	free(got);
	return same;
}

bool dax_window_is_host(struct th *t, uint64_t moff, const char *name, size_t len)
{
	uint8_t *want = malloc(len ? len : 1);
	int fd = open(th_host(t, name), O_RDONLY | O_CLOEXEC);
	bool same = false;

	if (want && fd >= 0 && pread(fd, want, len, 0) == (ssize_t)len)
		same = dax_window_is(t, moff, want, len);
	if (fd >= 0)
		close(fd);
	free(want);
	return same;
}

static unsigned count_maps(struct th *t, uint64_t ino, uint64_t past)
{
	struct fe_dax_map maps[512];
	unsigned n = fe_dax_maps(t->fe, maps, 512), k = 0;

	for (unsigned i = 0; i < n && i < 512; i++)
		k += maps[i].ino == ino && maps[i].fd_offset + maps[i].len > past;
	return k;
}

unsigned dax_file_maps(struct th *t, uint64_t ino)
{
	return count_maps(t, ino, 0);
}

unsigned dax_maps_past(struct th *t, uint64_t ino, uint64_t size)
{
	return count_maps(t, ino, size);
}

unsigned dax_live(struct th *t)
{
	struct fe_dax_stats s;

	fe_dax_stats(t->fe, &s);
	return s.live;
}

/* Whether /proc/pid/maps has a mapping of (dev, ino). */
static bool pid_maps(pid_t pid, const struct stat *st)
{
	char path[64], line[4096], want[64];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	snprintf(want, sizeof(want), " %02x:%02x %llu ", major(st->st_dev), minor(st->st_dev),
		 (unsigned long long)st->st_ino);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, want) != NULL;
	fclose(f);
	return found;
}

static pid_t parent_of(pid_t pid)
{
	char path[64], buf[512];
	int ppid = 0;
	char *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		sscanf(p + 1, " %*c %d", &ppid);
	fclose(f);
	return ppid;
}

/* The daemon and its children (the namespace sandbox serves from a forked child). */
bool dax_daemon_maps(struct th *t, const struct stat *st)
{
	bool found = pid_maps(t->daemon, st);
	DIR *d = opendir("/proc");
	struct dirent *e;

	while (d && !found && (e = readdir(d))) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid_t pid = (pid_t)strtol(e->d_name, NULL, 10);
		if (parent_of(pid) == t->daemon)
			found = pid_maps(pid, st);
	}
	if (d)
		closedir(d);
	return found;
}
