/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * frontend-rootless: the real vfsd run by an ordinary user, with the default options, serving a
 * directory that user owns, driven by our (root) frontend. When the test runs as root it creates
 * the user vfsd-test (useradd) if missing and runs the daemon as that user; otherwise the daemon
 * simply runs as the caller.
 *
 * With the default namespace sandbox an unprivileged daemon is root of a user namespace that
 * maps only the caller's ids to 0: the guest sees the share's files as owned by 0, files it
 * creates belong to the caller on the host whatever the guest's uid, and host files owned by
 * anyone else show the overflow id 65534 and cannot be chowned to an unmapped id. With
 * --sandbox=none (the sanitizer pass) there is no namespace and the guest sees the host ids.
 *
 * Then --uid-map/--gid-map as libvirt passes them (":inside:outside:count:"): the user's own id
 * as 0 and 65536 subordinate ids (given to vfsd-test in /etc/subuid and /etc/subgid by the test)
 * as 1..65536, written by newuidmap/newgidmap: guest root creates as the user, guest 1000 as
 * subordinate id SUB + 999, a chown to an id outside the maps fails, a host owner outside them
 * shows as 65534. These need root (to give the user subordinate ids) and the uidmap package.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define TEST_USER    "vfsd-test"
#define OVERFLOW_ID  65534
#define ROOT_NODE_ID 1

/* The uid the guest sees for the share (and for what the daemon's user owns). */
static uint32_t share_uid(struct th *t)
{
	struct fuse_attr_out a;

	T_OK(t, fe_getattr(t->fe, ROOT_NODE_ID, NULL, &a));
	return a.attr.uid;
}

/* Creates and closes a file as the guest's current ids. */
static int create_file(struct th *t, const char *name, struct fuse_entry_out *e)
{
	struct fuse_open_out o;
	int r = fe_create(t->fe, ROOT_NODE_ID, name, O_RDWR, 0644, 022, e, &o);

	return r < 0 ? r : fe_release(t->fe, e->nodeid, o.fh, O_RDWR);
}

/* The host owner of name is uid:gid. */
static void host_owner(struct th *t, const char *name, uint32_t uid, uint32_t gid)
{
	struct stat st;

	T_OK(t, stat(th_host(t, name), &st));
	T_EQ(t, st.st_uid, uid);
	T_EQ(t, st.st_gid, gid);
}

/* Whether the daemon serves in a user namespace (its default sandbox; the sanitizer pass runs
 * it with --sandbox=none). */
static bool in_namespace(void)
{
	const char *flags = getenv("VFSD_TEST_DAEMON_FLAGS");

	return th_run_as_uid != 0 && !(flags && strstr(flags, "--sandbox=none"));
}

static void t_create_write_read(struct th *t)
{
	const char *name = th_name(t, "rl");
	struct fuse_entry_out e, e2;
	struct fuse_open_out o;
	struct fuse_attr_out a;
	char buf[16] = {0};
	struct stat st;

	T_OK(t, fe_create(t->fe, ROOT_NODE_ID, name, O_RDWR, 0644, 022, &e, &o));
	T_EQ(t, fe_write(t->fe, e.nodeid, o.fh, 0, "rootless", 8, 0), 8);
	T_EQ(t, fe_read(t->fe, e.nodeid, o.fh, 0, buf, sizeof(buf)), 8);
	T_CHECK(t, memcmp(buf, "rootless", 8) == 0);
	T_OK(t, fe_release(t->fe, e.nodeid, o.fh, O_RDWR));
	T_OK(t, fe_lookup(t->fe, ROOT_NODE_ID, name, &e2));
	T_EQ(t, e2.nodeid, e.nodeid);
	T_OK(t, fe_getattr(t->fe, e.nodeid, NULL, &a));
	T_EQ(t, a.attr.size, 8);
	T_EQ(t, a.attr.uid, share_uid(t));
	/* On the host the file belongs to the user running vfsd. */
	T_OK(t, stat(th_host(t, name), &st));
	T_EQ(t, st.st_uid, th_run_as_uid);
	T_EQ(t, st.st_size, 8);
}

/* A guest user other than root: nothing else is mapped, so the file is the daemon user's. (The
 * Rust virtiofsd 1.13 answers EINVAL here: it tries to switch to the unmapped uid.) */
static void t_guest_user_creates(struct th *t)
{
	const char *name = th_name(t, "rl-user");
	struct fuse_entry_out e;
	struct stat st;

	fe_fuse_set_creds(t->fe, 1000, 1000, 4242);
	T_OK(t, fe_mkdir(t->fe, ROOT_NODE_ID, name, 0755, 022, &e));
	fe_fuse_set_creds(t->fe, 0, 0, 4242);
	T_OK(t, stat(th_host(t, name), &st));
	T_EQ(t, st.st_uid, th_run_as_uid);
}

/* Owned on the host by an id outside the namespace: the guest sees the overflow id. */
static void t_unmapped_owner(struct th *t)
{
	const char *name = th_name(t, "rl-root");
	struct fuse_entry_out e;
	bool ns = in_namespace();

	if (getuid() != 0) {
		th_skip(t, "needs root to make a file the daemon's user does not own");
		return;
	}
	T_OK(t, th_host_write(t, name, "x", 1));
	T_OK(t, chown(th_host(t, name), 0, 0));
	T_OK(t, fe_lookup(t->fe, ROOT_NODE_ID, name, &e));
	T_EQ(t, e.attr.uid, ns ? OVERFLOW_ID : 0);
	T_EQ(t, e.attr.gid, ns ? OVERFLOW_ID : 0);
}

/* Giving a file away to an id the daemon cannot reach fails and changes nothing. */
static void t_chown_unmapped(struct th *t)
{
	const char *name = th_name(t, "rl-chown");
	struct fuse_setattr_in in = {.valid = FATTR_UID, .uid = 1234};
	struct fuse_entry_out e;
	struct fuse_attr_out a;
	struct stat st;
	int r;

	T_OK(t, create_file(t, name, &e));
	r = fe_setattr(t->fe, e.nodeid, &in, &a);
	T_CHECK(t, r == -EINVAL || r == -EPERM);
	T_OK(t, stat(th_host(t, name), &st));
	T_EQ(t, st.st_uid, th_run_as_uid);
}

#define SUB_BASE  300000
#define SUB_COUNT 65536
static char uid_own[64], uid_sub[64], gid_own[64], gid_sub[64];
/* The maps describe the namespace sandbox: asked for even where the suite runs without it. */
static const char *const map_flags[] = {
	"--sandbox=namespace", uid_own, uid_sub, gid_own, gid_sub, NULL};

/* Restarts the daemon with the maps; false (and the test skipped) when it cannot. */
static bool with_maps(struct th *t)
{
	if (getuid() != 0) {
		th_skip(t, "needs root to give the user subordinate ids");
		return false;
	}
	if (t->extra_flags != map_flags) {
		t->extra_flags = map_flags;
		T_OK(t, th_reconnect(t, NULL));
	}
	return t->fe != NULL;
}

static void t_map_guest_root(struct th *t)
{
	const char *name = th_name(t, "map-root");
	struct fuse_entry_out e;

	if (!with_maps(t))
		return;
	T_OK(t, create_file(t, name, &e));
	T_EQ(t, e.attr.uid, 0);
	T_EQ(t, e.attr.gid, 0);
	host_owner(t, name, th_run_as_uid, th_run_as_gid);
}

static void t_map_guest_user(struct th *t)
{
	const char *name = th_name(t, "map-user");
	struct fuse_entry_out e;

	if (!with_maps(t))
		return;
	fe_fuse_set_creds(t->fe, 1000, 1001, 4242);
	T_OK(t, fe_mkdir(t->fe, ROOT_NODE_ID, name, 0755, 022, &e));
	fe_fuse_set_creds(t->fe, 0, 0, 4242);
	T_EQ(t, e.attr.uid, 1000);
	T_EQ(t, e.attr.gid, 1001);
	host_owner(t, name, SUB_BASE + 999, SUB_BASE + 1000);
}

static void t_map_chown(struct th *t)
{
	const char *name = th_name(t, "map-chown");
	struct fuse_setattr_in in = {.valid = FATTR_UID | FATTR_GID, .uid = 2000, .gid = 2000};
	struct fuse_entry_out e;
	struct fuse_attr_out a;
	struct stat st;

	if (!with_maps(t))
		return;
	T_OK(t, create_file(t, name, &e));
	/* Inside the maps: onto the subordinate ids. */
	T_OK(t, fe_setattr(t->fe, e.nodeid, &in, &a));
	T_EQ(t, a.attr.uid, 2000);
	host_owner(t, name, SUB_BASE + 1999, SUB_BASE + 1999);
	/* Outside: the kernel refuses an id the namespace cannot name. */
	in.uid = SUB_COUNT + 1;
	in.valid = FATTR_UID;
	T_EQ(t, fe_setattr(t->fe, e.nodeid, &in, &a), -EINVAL);
	T_OK(t, stat(th_host(t, name), &st));
	T_EQ(t, st.st_uid, SUB_BASE + 1999);
}

static void t_map_unmapped_owner(struct th *t)
{
	const char *name = th_name(t, "map-host");
	struct fuse_entry_out e;

	if (!with_maps(t))
		return;
	T_OK(t, th_host_write(t, name, "x", 1));
	T_OK(t, chown(th_host(t, name), 0, 0));
	T_OK(t, fe_lookup(t->fe, ROOT_NODE_ID, name, &e));
	T_EQ(t, e.attr.uid, OVERFLOW_ID);
	T_EQ(t, e.attr.gid, OVERFLOW_ID);
}

/* Gives the user SUB_COUNT subordinate ids from SUB_BASE, unless it has some already. */
static int add_subids(const char *file)
{
	char line[256];
	bool found = false;
	FILE *f = fopen(file, "a+e");

	if (!f)
		return -1;
	rewind(f);
	while (fgets(line, sizeof(line), f))
		found |= strncmp(line, TEST_USER ":", strlen(TEST_USER) + 1) == 0;
	if (!found)
		fprintf(f, TEST_USER ":%d:%d\n", SUB_BASE, SUB_COUNT);
	return fclose(f);
}

/* Whether uid:gid may execute path (a checkout under /root is not reachable for the user). */
static bool user_can_exec(const char *path, uid_t uid, gid_t gid)
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(setgroups(0, NULL) == 0 && setresgid(gid, gid, gid) == 0 &&
				      setresuid(uid, uid, uid) == 0 && access(path, X_OK) == 0
			      ? 0
			      : 1);
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0;
}

/* A copy of the daemon binary the user can run, in a new directory; NULL on failure. */
static char *copy_daemon(const char *path)
{
	static char dir[] = "/tmp/vfsd-rootless-bin-XXXXXX";
	static char copy[sizeof(dir) + 8];
	char cmd[PATH_MAX + 128];

	if (!mkdtemp(dir) || chmod(dir, 0755) < 0)
		return NULL;
	snprintf(copy, sizeof(copy), "%s/vfsd", dir);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && chmod 0755 '%s'", path, copy, copy);
	return system(cmd) == 0 ? copy : NULL;
}

static const struct th_test rootless_tests[] = {
	{"create-write-read-as-user", t_create_write_read},
	{"guest-user-creates-as-daemon-user", t_guest_user_creates},
	{"unmapped-owner-shows-overflow-id", t_unmapped_owner},
	{"chown-to-unmapped-id-fails", t_chown_unmapped},
	{"uid-map-guest-root-is-the-user", t_map_guest_root},
	{"uid-map-guest-user-is-a-subordinate-id", t_map_guest_user},
	{"uid-map-chown-inside-and-outside", t_map_chown},
	{"uid-map-unmapped-owner-shows-overflow-id", t_map_unmapped_owner},
	TH_TESTS_END,
};

int main(int argc, char **argv)
{
	static const struct th_test *const families[] = {rootless_tests, NULL};
	const char *asan = getenv("ASAN_OPTIONS");
	struct passwd *pw;
	char buf[512], *copied = NULL;
	int r;

	if (getuid() == 0) {
		pw = getpwnam(TEST_USER);
		if (!pw) {
			/* CI runs as root: make the ordinary user the test needs. */
			if (system("useradd --system --no-create-home --shell "
				   "/usr/sbin/nologin " TEST_USER) != 0) {
				printf("Bail out! cannot create the user " TEST_USER "\n");
				return 1;
			}
			pw = getpwnam(TEST_USER);
		}
		if (!pw) {
			printf("Bail out! no user " TEST_USER "\n");
			return 1;
		}
		th_run_as_uid = pw->pw_uid;
		th_run_as_gid = pw->pw_gid;
		if (add_subids("/etc/subuid") < 0 || add_subids("/etc/subgid") < 0) {
			printf("Bail out! cannot give " TEST_USER " subordinate ids\n");
			return 1;
		}
	} else {
		th_run_as_uid = getuid();
	}
	/* The built binary may sit where the user cannot reach it: run a copy then. */
	if (argc > 1 && th_run_as_uid != getuid() &&
	    !user_can_exec(argv[1], th_run_as_uid, th_run_as_gid)) {
		copied = copy_daemon(argv[1]);
		if (!copied) {
			printf("Bail out! cannot copy %s where " TEST_USER " can run it\n",
			       argv[1]);
			return 1;
		}
		argv[1] = copied;
	}
	snprintf(uid_own, sizeof(uid_own), "--uid-map=:0:%u:1:", (unsigned)th_run_as_uid);
	snprintf(uid_sub, sizeof(uid_sub), "--uid-map=:1:%d:%d:", SUB_BASE, SUB_COUNT);
	snprintf(gid_own, sizeof(gid_own), "--gid-map=:0:%u:1:", (unsigned)th_run_as_gid);
	snprintf(gid_sub, sizeof(gid_sub), "--gid-map=:1:%d:%d:", SUB_BASE, SUB_COUNT);
	/* LeakSanitizer's exit-time ptrace is not for an unprivileged process to do. */
	snprintf(buf, sizeof(buf), "%s%sdetect_leaks=0", asan ? asan : "", asan ? ":" : "");
	setenv("ASAN_OPTIONS", buf, 1);
	th_capture_log = true;
	r = th_main(argc, argv, families);
	if (copied) {
		unlink(copied);
		rmdir(dirname(copied));
	}
	return r;
}
