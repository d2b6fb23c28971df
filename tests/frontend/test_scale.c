// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Bounded fds at scale, through the real interface: with --inode-file-handles (mandatory, then
 * prefer) and --rlimit-nofile=1024, 200,000 host files are looked up without any FORGET, so
 * 200,000 inodes are live at once in a daemon allowed 1,024 fds; a sample is then read back
 * (GETATTR, OPEN+READ on inodes whose fds were evicted long ago), everything is BATCH_FORGET'd
 * and the daemon's fd count must be back at its baseline. The contrast, with
 * --inode-file-handles=never: lookups stop at the fd budget with ENFILE/EMFILE, the daemon keeps
 * serving, and forgetting frees the budget again.
 *
 * The daemon runs with its default sandbox (a pid namespace under a supervisor): its fds are
 * counted in /proc of the supervisor's deepest descendant.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define NDIRS	200
#define PER_DIR 1000
#define NFILES	(NDIRS * PER_DIR)
#define WINDOW	256
#define QUEUE	1
#define RLIMIT	"--rlimit-nofile=1024"

static uint64_t dirs[NDIRS];
static uint64_t *nodes;
static bool created;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The process serving requests: the deepest descendant of the started daemon. */
static pid_t daemon_leaf(struct th *t)
{
	pid_t pid = t->daemon;

	for (int depth = 0; depth < 4; depth++) {
		char path[64];
		long child = 0;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
		f = fopen(path, "re");
		if (!f)
			break;
		if (fscanf(f, "%ld", &child) != 1)
			child = 0;
		fclose(f);
		if (child <= 0)
			break;
		pid = (pid_t)child;
	}
	return pid;
}

static int daemon_fds(struct th *t)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)daemon_leaf(t));
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int make_tree(struct th *t)
{
	char path[64];
	double t0 = now_s();
	int root, dfd, fd;

	root = open(t->share, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return -errno;
	for (int d = 0; d < NDIRS; d++) {
		snprintf(path, sizeof(path), "scale%d", d);
		if (mkdirat(root, path, 0755) < 0 ||
		    (dfd = openat(root, path, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
			close(root);
			return -errno;
		}
		for (int i = 0; i < PER_DIR; i++) {
			snprintf(path, sizeof(path), "f%d", i);
			fd = openat(dfd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
			if (fd < 0) {
				close(dfd);
				close(root);
				return -errno;
			}
			/* Every thousandth file says who it is, for the read-back sample. */
			if (i == 0 && dprintf(fd, "file %d", d * PER_DIR) < 0)
				i = PER_DIR;
			close(fd);
		}
		close(dfd);
	}
	close(root);
	printf("# created %d files on the host in %.1f s\n", NFILES, now_s() - t0);
	return 0;
}

struct slot {
	struct fe_call c; /* first: the completion cookie is &slot->c */
	struct fuse_entry_out e;
	uint32_t idx;
	bool busy;
};

/*
 * Looks up file idx (dir idx / PER_DIR, name f<idx % PER_DIR>) for idx in [0, n), WINDOW
 * requests in flight. nodes[idx] gets the node id or 0; returns the number of failed lookups
 * (first error in *first_err), or -1 after a transport failure (reported).
 */
static long lookup_many(struct th *t, uint32_t n, uint64_t *out, int *first_err)
{
	struct slot *slots = calloc(WINDOW, sizeof(*slots));
	struct fe_completion comp[WINDOW];
	uint32_t next = 0, done = 0;
	long errors = 0;

	if (!slots)
		return -1;
	*first_err = 0;
	while (done < n) {
		for (int s = 0; s < WINDOW && next < n; s++) {
			char name[16];
			struct iovec a;
			int r;

			if (slots[s].busy)
				continue;
			a.iov_base = name;
			a.iov_len = (size_t)snprintf(name, sizeof(name), "f%u", next % PER_DIR) + 1;
			r = fe_fuse_submit(t->fe, &slots[s].c, QUEUE, FUSE_LOOKUP,
					   dirs[next / PER_DIR], &a, 1, &slots[s].e,
					   sizeof(slots[s].e));
			if (r == -EAGAIN)
				break;
			T_OK(t, r);
			if (r < 0)
				goto fail;
			slots[s].busy = true;
			slots[s].idx = next++;
		}
		int k = fe_reap(t->fe, QUEUE, comp, WINDOW, 10000);
		T_CHECK(t, k > 0);
		if (k <= 0)
			goto fail;
		for (int i = 0; i < k; i++) {
			struct slot *sl = (struct slot *)comp[i].cookie;
			bool sane = comp[i].len >= sizeof(sl->c.oh) &&
				    sl->c.oh.len == comp[i].len &&
				    sl->c.oh.unique == sl->c.ih.unique;

			T_CHECK(t, sane);
			if (!sane)
				goto fail;
			if (sl->c.oh.error) {
				if (!errors++)
					*first_err = sl->c.oh.error;
				out[sl->idx] = 0;
			} else {
				out[sl->idx] = sl->e.nodeid;
			}
			sl->busy = false;
			done++;
		}
	}
	free(slots);
	return errors;
fail:
	free(slots);
	return -1;
}

static void forget_many(struct th *t, const uint64_t *ids, uint32_t n)
{
	struct fuse_forget_one items[512];
	uint32_t k = 0;

	for (uint32_t i = 0; i < n; i++) {
		if (!ids[i])
			continue;
		items[k++] = (struct fuse_forget_one){.nodeid = ids[i], .nlookup = 1};
		if (k == 512) {
			T_OK(t, fe_batch_forget(t->fe, items, k));
			k = 0;
		}
	}
	if (k)
		T_OK(t, fe_batch_forget(t->fe, items, k));
}

static int start(struct th *t, const char *const *flags)
{
	struct fe_options o = {0};

	fe_options_default(&o);
	o.queue_size = 256;
	t->extra_flags = flags;
	return th_reconnect(t, &o);
}

static void sample_back(struct th *t)
{
	for (uint32_t i = 0; i < NFILES; i += 97) {
		struct fuse_attr_out a;

		T_OK(t, fe_getattr(t->fe, nodes[i], NULL, &a));
		T_EQ(t, a.attr.ino != 0, 1);
	}
	for (uint32_t i = 0; i < NFILES; i += 10 * PER_DIR) {
		struct fuse_open_out o;
		char want[32], buf[32] = {0};
		int n;

		snprintf(want, sizeof(want), "file %u", i);
		T_OK(t, fe_open(t->fe, nodes[i], O_RDONLY, &o));
		n = fe_read(t->fe, nodes[i], o.fh, 0, buf, sizeof(buf) - 1);
		T_EQ(t, n, strlen(want));
		T_CHECK(t, !strcmp(buf, want));
		T_OK(t, fe_release(t->fe, nodes[i], o.fh, 0));
	}
}

static void scale_run(struct th *t, const char *mode)
{
	const char *flags[] = {mode, RLIMIT, NULL};
	struct fuse_entry_out e;
	int base, live, end, first_err;
	double t0;
	long errs;

	if (!created) {
		T_OK(t, make_tree(t));
		created = true;
	}
	if (!nodes)
		nodes = calloc(NFILES, sizeof(*nodes));
	T_CHECK(t, nodes != NULL);
	T_OK(t, start(t, flags));
	if (t->failures)
		return;
	base = daemon_fds(t);
	for (int d = 0; d < NDIRS; d++) {
		char name[16];

		snprintf(name, sizeof(name), "scale%d", d);
		T_OK(t, fe_lookup(t->fe, FUSE_ROOT_ID, name, &e));
		dirs[d] = e.nodeid;
	}
	t0 = now_s();
	errs = lookup_many(t, NFILES, nodes, &first_err);
	live = daemon_fds(t);
	printf("# %s: %d lookups in %.1f s, %ld failed (first %d); daemon fds %d -> %d\n", mode,
	       NFILES, now_s() - t0, errs, first_err, base, live);
	T_EQ(t, errs, 0);
	T_CHECK(t, live > 0 && live < 1024);
	t0 = now_s();
	sample_back(t);
	forget_many(t, nodes, NFILES);
	forget_many(t, dirs, NDIRS);
	end = daemon_fds(t);
	printf("# %s: sample + forget in %.1f s; daemon fds after forget %d (baseline %d)\n", mode,
	       now_s() - t0, end, base);
	T_CHECK(t, end >= 0 && end <= base);
	/* Still serving after all that. */
	T_OK(t, fe_lookup(t->fe, FUSE_ROOT_ID, "scale0", &e));
	T_OK(t, fe_forget(t->fe, e.nodeid, 1));
}

static void test_mandatory(struct th *t)
{
	scale_run(t, "--inode-file-handles=mandatory");
}

static void test_prefer(struct th *t)
{
	scale_run(t, "--inode-file-handles=prefer");
}

/* One fd per inode: the budget (half of a 1024 limit) runs out, cleanly. */
static void test_never_contrast(struct th *t)
{
	const char *flags[] = {"--inode-file-handles=never", RLIMIT, NULL};
	struct fuse_entry_out e;
	struct fuse_attr_out a;
	uint32_t n = 2 * PER_DIR;
	int base, first_err;
	long errs;

	if (!created || !nodes) {
		th_skip(t, "no tree");
		return;
	}
	T_OK(t, start(t, flags));
	if (t->failures)
		return;
	base = daemon_fds(t);
	T_OK(t, fe_lookup(t->fe, FUSE_ROOT_ID, "scale0", &e));
	dirs[0] = e.nodeid;
	T_OK(t, fe_lookup(t->fe, FUSE_ROOT_ID, "scale1", &e));
	dirs[1] = e.nodeid;
	errs = lookup_many(t, n, nodes, &first_err);
	printf("# never: %ld of %u lookups failed, first error %d; daemon fds %d -> %d\n", errs, n,
	       first_err, base, daemon_fds(t));
	T_CHECK(t, errs > 0 && errs < (long)n);
	T_CHECK(t, first_err == -ENFILE || first_err == -EMFILE);
	T_OK(t, fe_getattr(t->fe, FUSE_ROOT_ID, NULL, &a));
	forget_many(t, nodes, n);
	forget_many(t, dirs, 2);
	T_CHECK(t, daemon_fds(t) <= base);
	/* The budget is back. */
	T_OK(t, fe_lookup(t->fe, FUSE_ROOT_ID, "scale0", &e));
	T_OK(t, fe_forget(t->fe, e.nodeid, 1));
	T_OK(t, start(t, NULL));
}

static const struct th_test scale_tests[] = {
	{"inode-file-handles=mandatory: 200k live inodes at RLIMIT_NOFILE 1024", test_mandatory},
	{"inode-file-handles=prefer: 200k live inodes at RLIMIT_NOFILE 1024", test_prefer},
	{"inode-file-handles=never: the fd budget runs out cleanly", test_never_contrast},
	TH_TESTS_END,
};

int main(int argc, char **argv)
{
	static const struct th_test *const families[] = {scale_tests, NULL};
	struct stat st;

	/* 200,000 files are an inode-heavy load for a disk shared with other jobs; tmpfs keeps
	 * the run to seconds (it has file handles too). TMPDIR still wins when set. */
	if (!getenv("TMPDIR") && stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
	    access("/dev/shm", W_OK) == 0)
		setenv("TMPDIR", "/dev/shm", 1);
	return th_main(argc, argv, families);
}
