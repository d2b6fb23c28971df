/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Path escapes. The share is <tmp>/share; <tmp>/outside holds "secret" (SECRET-CONTENT). The
 * daemon runs with --sandbox=none here, so what is proven is the passthrough confinement alone
 * (one component at a time, openat2 RESOLVE_BENEATH|NO_SYMLINKS, O_PATH|O_NOFOLLOW, special
 * files never opened), not the pivot_root of the namespace sandbox.
 *
 * What vfsd guarantees, and what it does not:
 * - A symlink is an inode of its own to the guest: never followed on the host, neither as a
 *   directory component (LOOKUP under it: ENOTDIR) nor when opened (ELOOP); READLINK gives its
 *   text only. Absolute targets made by the guest are text too.
 * - No name climbs: ".." and names with '/' never reach the host.
 * - A directory the host moves out of the share while the guest holds its node id stays
 *   reachable through that node (the O_PATH fd pins the inode, as in the Rust virtiofsd; the
 *   namespace sandbox does not change that either). Its own contents remain visible and
 *   writable; nothing else outside becomes reachable by name from it.
 * - A hard link the host makes inside the share to an outside file IS that file: readable by
 *   design. The host administrator decides what inodes the share contains.
 * - Device nodes, FIFOs and sockets are never opened: OPEN gives EACCES.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hostile.h"

#define SECRET "SECRET-CONTENT"

static const char *const sandbox_none[] = {"--sandbox=none", NULL};

static const char *outside(struct th *t, const char *name)
{
	static char buf[4][PATH_MAX + 64];
	static unsigned next;
	char *b = buf[next++ % 4];
	snprintf(b, sizeof(buf[0]), "%s/outside%s%s", t->dir, *name ? "/" : "", name);
	return b;
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -EIO;
}

/* A daemon without the sandbox, and the outside directory with its secret. */
static bool path_setup(struct th *t)
{
	if (t->extra_flags != sandbox_none) {
		t->extra_flags = sandbox_none;
		if (hx_restart(t, NULL, 0) < 0)
			return false;
	}
	mkdir(outside(t, ""), 0755);
	T_OK(t, write_file(outside(t, "secret"), SECRET));
	return t->failures == 0;
}

/* Opens node read-only and reads it: bytes read into buf (NUL-terminated) or -errno. */
static int guest_read(struct th *t, uint64_t node, char *buf, size_t size)
{
	struct fuse_open_out o;
	int r = fe_open(t->fe, node, O_RDONLY, &o);
	if (r < 0)
		return r;
	r = fe_read(t->fe, node, o.fh, 0, buf, (uint32_t)size - 1);
	fe_release(t->fe, node, o.fh, O_RDONLY);
	if (r >= 0)
		buf[r] = '\0';
	return r;
}

static void check_symlink_node(struct th *t, uint64_t node, const char *target)
{
	struct fuse_entry_out e;
	struct fuse_open_out o;
	struct fuse_attr_out a;
	char buf[PATH_MAX];

	T_EQ(t, fe_lookup(t->fe, node, "secret", &e), -ENOTDIR);
	T_EQ(t, fe_open(t->fe, node, O_RDONLY, &o), -ELOOP);
	T_EQ(t, fe_open(t->fe, node, O_RDWR, &o), -ELOOP);
	T_CHECK(t, fe_opendir(t->fe, node, &o) < 0);
	T_OK(t, fe_getattr(t->fe, node, NULL, &a));
	T_CHECK(t, S_ISLNK(a.attr.mode));
	T_EQ(t, a.attr.size, strlen(target));
	int n = fe_readlink(t->fe, node, buf, sizeof(buf));
	T_EQ(t, n, strlen(target));
	T_CHECK(t, n >= 0 && memcmp(buf, target, strlen(target)) == 0);
}

static void test_host_symlinks_out(struct th *t)
{
	struct fuse_entry_out e;
	char buf[64];

	if (!path_setup(t))
		return;
	const char *abs_dir = outside(t, "");
	T_OK(t, symlink(abs_dir, th_host(t, "out-abs")));
	T_OK(t, symlink("../outside/secret", th_host(t, "out-rel")));
	T_OK(t, symlink("../../../../../../../../../..", th_host(t, "out-root")));

	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, "out-abs", &e));
	check_symlink_node(t, e.nodeid, abs_dir);
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, "out-rel", &e));
	check_symlink_node(t, e.nodeid, "../outside/secret");
	T_CHECK(t, guest_read(t, e.nodeid, buf, sizeof(buf)) < 0);
	/* Attribute changes on the link never reach its target. */
	struct fuse_setattr_in sa = {.valid = FATTR_SIZE, .size = 0};
	struct fuse_attr_out a;
	T_CHECK(t, fe_setattr(t->fe, e.nodeid, &sa, &a) < 0);
	/* A hard link of the symlink node is a link to the symlink, not to its target. */
	struct fuse_entry_out l;
	struct stat st;
	T_OK(t, fe_link(t->fe, e.nodeid, FE_ROOT_ID, "out-rel-link", &l));
	T_OK(t, lstat(th_host(t, "out-rel-link"), &st));
	T_CHECK(t, S_ISLNK(st.st_mode));
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, "out-root", &e));
	check_symlink_node(t, e.nodeid, "../../../../../../../../../..");
	T_OK(t, stat(outside(t, "secret"), &st));
	T_EQ(t, st.st_size, strlen(SECRET));
}

static void test_guest_symlink_abs(struct th *t)
{
	struct fuse_entry_out e, e2;
	struct fuse_open_out o;
	char target[PATH_MAX + 64];

	if (!path_setup(t))
		return;
	snprintf(target, sizeof(target), "%s", outside(t, "secret"));
	T_OK(t, fe_symlink(t->fe, FE_ROOT_ID, "g-abs", target, &e));
	check_symlink_node(t, e.nodeid, target);
	T_OK(t, fe_symlink(t->fe, FE_ROOT_ID, "g-dir", outside(t, ""), &e));
	check_symlink_node(t, e.nodeid, outside(t, ""));
	/* Creating over the link's name never creates through it. */
	int r = fe_create(t->fe, FE_ROOT_ID, "g-abs", O_RDWR, S_IFREG | 0644, 0, &e2, &o);
	T_CHECK(t, r == -EEXIST || r == -ELOOP);
	T_EQ(t, fe_mkdir(t->fe, e.nodeid, "x", 0755, 0, &e2), -ENOTDIR);
	T_EQ(t, fe_create(t->fe, e.nodeid, "x", O_RDWR, S_IFREG | 0644, 0, &e2, &o), -ENOTDIR);
	T_CHECK(t, access(outside(t, "x"), F_OK) < 0);
	/* ".." from the root, and a '/' path, never resolve. */
	T_EQ(t, fe_lookup(t->fe, FE_ROOT_ID, "..", &e2), -EINVAL);
	T_EQ(t, fe_lookup(t->fe, FE_ROOT_ID, "../outside", &e2), -EINVAL);
}

static void test_dir_moved_out(struct th *t)
{
	struct fuse_entry_out d, e;
	char buf[64];

	if (!path_setup(t))
		return;
	T_OK(t, mkdir(th_host(t, "mv"), 0755));
	T_OK(t, write_file(th_host(t, "mv/inner"), "inner"));
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, "mv", &d));
	T_OK(t, rename(th_host(t, "mv"), outside(t, "moved")));
	T_OK(t, symlink("..", outside(t, "moved/up")));
	/* No way up from the moved directory to its new parent (which holds the secret). */
	T_EQ(t, fe_lookup(t->fe, d.nodeid, "..", &e), -EINVAL);
	T_EQ(t, fe_lookup(t->fe, d.nodeid, "secret", &e), -ENOENT);
	T_OK(t, fe_lookup(t->fe, d.nodeid, "up", &e));
	T_EQ(t, fe_lookup(t->fe, e.nodeid, "secret", &e), -ENOTDIR);
	/* By design the held inode itself stays usable (documented above). */
	T_OK(t, fe_lookup(t->fe, d.nodeid, "inner", &e));
	T_EQ(t, guest_read(t, e.nodeid, buf, sizeof(buf)), 5);
	/* And by name from the root it is gone. */
	T_EQ(t, fe_lookup(t->fe, FE_ROOT_ID, "mv", &e), -ENOENT);
	T_EQ(t, fe_lookup(t->fe, FE_ROOT_ID, "outside", &e), -ENOENT);
}

static void test_host_hard_link(struct th *t)
{
	struct fuse_entry_out e;
	char buf[64];

	if (!path_setup(t))
		return;
	T_OK(t, link(outside(t, "secret"), th_host(t, "hard")));
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, "hard", &e));
	/* The same inode: readable by design (the host put it in the share). */
	T_EQ(t, guest_read(t, e.nodeid, buf, sizeof(buf)), strlen(SECRET));
	T_CHECK(t, strcmp(buf, SECRET) == 0);
}

static void check_special(struct th *t, const char *name, uint32_t type)
{
	struct fuse_entry_out e, e2;
	struct fuse_open_out o;
	struct fuse_attr_out a;

	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, name, &e));
	T_EQ(t, e.attr.mode & S_IFMT, type);
	T_EQ(t, fe_open(t->fe, e.nodeid, O_RDWR, &o), -EACCES);
	T_EQ(t, fe_open(t->fe, e.nodeid, O_RDONLY, &o), -EACCES);
	T_EQ(t, fe_open(t->fe, e.nodeid, O_WRONLY | O_NONBLOCK, &o), -EACCES);
	/* CREATE without O_EXCL on an existing special file: refused, not opened. */
	int r = fe_create(t->fe, FE_ROOT_ID, name, O_RDWR, S_IFREG | 0644, 0, &e2, &o);
	T_CHECK(t, r == -EEXIST || r == -EACCES);
	struct fuse_setattr_in sa = {.valid = FATTR_SIZE, .size = 0};
	T_CHECK(t, fe_setattr(t->fe, e.nodeid, &sa, &a) < 0);
	T_OK(t, fe_getattr(t->fe, e.nodeid, NULL, &a));
}

/* Nobody opened the FIFO for reading: a non-blocking writer finds no reader. */
static void check_no_reader(struct th *t, const char *path)
{
	int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	T_CHECK(t, fd < 0 && errno == ENXIO);
	if (fd >= 0)
		close(fd);
}

static void test_special_files(struct th *t)
{
	struct fuse_entry_out e;

	if (!path_setup(t))
		return;
	T_OK(t, mknod(th_host(t, "null"), S_IFCHR | 0666, makedev(1, 3)));
	T_OK(t, mkfifo(th_host(t, "fifo"), 0666));
	check_special(t, "null", S_IFCHR);
	check_special(t, "fifo", S_IFIFO);
	check_no_reader(t, th_host(t, "fifo"));
	/* Made by the guest: created (the guest asked as root), never opened. */
	T_OK(t, fe_mknod(t->fe, FE_ROOT_ID, "g-fifo", S_IFIFO | 0666, 0, 0, &e));
	check_special(t, "g-fifo", S_IFIFO);
	check_no_reader(t, th_host(t, "g-fifo"));
	int r = fe_mknod(t->fe, FE_ROOT_ID, "g-null", S_IFCHR | 0666, makedev(1, 3), 0, &e);
	if (r == 0)
		check_special(t, "g-null", S_IFCHR);
	else
		T_EQ(t, r, -EPERM);
}

struct racer {
	struct th *t;
	atomic_bool stop;
	unsigned swaps;
};

/* Swaps share/race (a directory) with share/race-alt (a symlink to outside) and moves
 * share/inout out of the share and back, as fast as it can. */
static void *race_main(void *arg)
{
	struct racer *rc = arg;
	char race[PATH_MAX + 32], alt[PATH_MAX + 32], in[PATH_MAX + 32], out[PATH_MAX + 64];

	snprintf(race, sizeof(race), "%s/race", rc->t->share);
	snprintf(alt, sizeof(alt), "%s/race-alt", rc->t->share);
	snprintf(in, sizeof(in), "%s/inout", rc->t->share);
	snprintf(out, sizeof(out), "%s/outside/parked", rc->t->dir);
	while (!atomic_load(&rc->stop)) {
		renameat2(AT_FDCWD, race, AT_FDCWD, alt, RENAME_EXCHANGE);
		rename(in, out);
		rename(out, in);
		rc->swaps++;
	}
	return NULL;
}

/* Looks name up under the root, then "secret" under it, and reads it if it can. */
static int race_probe(struct th *t, const char *name, unsigned *leaks, unsigned *reads)
{
	struct fuse_entry_out d, e;
	char buf[64];
	int r = fe_lookup(t->fe, FE_ROOT_ID, name, &d);

	if (r < 0)
		return r == -ENOENT ? 0 : r;
	r = fe_lookup(t->fe, d.nodeid, "secret", &e);
	if (r == 0) {
		if (guest_read(t, e.nodeid, buf, sizeof(buf)) > 0) {
			(*reads)++;
			if (strcmp(buf, SECRET) == 0)
				(*leaks)++;
		}
		fe_forget(t->fe, e.nodeid, 1);
	} else if (r != -ENOTDIR && r != -ENOENT) {
		return r;
	}
	fe_forget(t->fe, d.nodeid, 1);
	return 0;
}

static void test_rename_race(struct th *t)
{
	struct racer rc = {.t = t};
	unsigned leaks = 0, reads = 0;
	pthread_t thr;

	if (!path_setup(t))
		return;
	T_OK(t, mkdir(th_host(t, "race"), 0755));
	T_OK(t, write_file(th_host(t, "race/secret"), "inside"));
	T_OK(t, symlink(outside(t, ""), th_host(t, "race-alt")));
	T_OK(t, mkdir(th_host(t, "inout"), 0755));
	T_OK(t, write_file(th_host(t, "inout/secret"), "inside2"));
	if (t->failures || pthread_create(&thr, NULL, race_main, &rc) != 0)
		return;
	for (int i = 0; i < 1500 && t->failures == 0; i++) {
		T_OK(t, race_probe(t, "race", &leaks, &reads));
		T_OK(t, race_probe(t, "race-alt", &leaks, &reads));
		T_OK(t, race_probe(t, "inout", &leaks, &reads));
	}
	atomic_store(&rc.stop, true);
	pthread_join(thr, NULL);
	T_EQ(t, leaks, 0);
	printf("# %u swaps, %u reads of an inside secret, %u leaks\n", rc.swaps, reads, leaks);
}

/* Last: the daemon leaves cleanly when its frontend does (and LeakSanitizer finds nothing). */
static void test_clean_exit(struct th *t)
{
	t->extra_flags = NULL;
	if (hx_restart(t, NULL, 0) < 0)
		return;
	hx_expect_serving(t, 1);
	fe_free(t->fe);
	t->fe = NULL;
	int status = th_daemon_wait(t, 5000);
	T_CHECK(t, status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

const struct th_test hx_path_tests[] = {
	{"path: host symlinks pointing outside", test_host_symlinks_out},
	{"path: guest symlink with an absolute target", test_guest_symlink_abs},
	{"path: directory moved out of the share", test_dir_moved_out},
	{"path: host hard link to an outside file (by design)", test_host_hard_link},
	{"path: device nodes and FIFOs are never opened", test_special_files},
	{"path: lookups racing host renames never escape", test_rename_race},
	{"daemon exits cleanly at the end", test_clean_exit},
	TH_TESTS_END,
};
