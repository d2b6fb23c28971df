/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * frontend-idmap: --translate-uid/--translate-gid, each form of the Rust virtiofsd's syntax,
 * through the real daemon (run as root here; the rootless user namespace is frontend-rootless).
 * Guest-to-host rules decide the host owner of what the guest creates or chowns; host-to-guest
 * rules decide the owner the guest is shown; ids no rule covers pass unchanged.
 * VFSD_TEST_DAEMON="tests/tools/rust-virtiofsd.sh run" gives the same results on the Rust
 * virtiofsd 1.13 except for forbid-guest's errno (see there).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define ROOT_NODE_ID 1

static void restart(struct th *t, const char *const *flags)
{
	t->extra_flags = flags;
	T_OK(t, th_reconnect(t, NULL));
}

/* Creates name as guest uid:gid (a file); its entry in *e. */
static int create_as(struct th *t, uint32_t uid, uint32_t gid, const char *name,
		     struct fuse_entry_out *e)
{
	struct fuse_open_out o;
	int r;

	fe_fuse_set_creds(t->fe, uid, gid, 4242);
	r = fe_create(t->fe, ROOT_NODE_ID, name, O_RDWR, 0644, 022, e, &o);
	fe_fuse_set_creds(t->fe, 0, 0, 4242);
	if (r == 0)
		fe_release(t->fe, e->nodeid, o.fh, O_RDWR);
	return r;
}

static void host_owner(struct th *t, const char *name, uint32_t uid, uint32_t gid)
{
	struct stat st;

	T_OK(t, lstat(th_host(t, name), &st));
	T_EQ(t, st.st_uid, uid);
	T_EQ(t, st.st_gid, gid);
}

static int chown_guest(struct th *t, uint64_t node, uint32_t uid, uint32_t gid,
		       struct fuse_attr_out *a)
{
	struct fuse_setattr_in in = {.valid = FATTR_UID | FATTR_GID, .uid = uid, .gid = gid};

	return fe_setattr(t->fe, node, &in, a);
}

/* guest:GUEST:HOST:COUNT, one direction only: the guest sees the host ids. */
static void t_guest(struct th *t)
{
	static const char *const f[] = {"--translate-uid=guest:1000:2000:10",
					"--translate-gid=guest:1000:3000:10", NULL};
	const char *n = th_name(t, "guest");
	struct fuse_entry_out e;

	restart(t, f);
	T_OK(t, create_as(t, 1005, 1009, n, &e));
	host_owner(t, n, 2005, 3009);
	T_EQ(t, e.attr.uid, 2005);
	T_EQ(t, e.attr.gid, 3009);
	/* Outside the range: unchanged. */
	n = th_name(t, "guest-out");
	T_OK(t, create_as(t, 1010, 999, n, &e));
	host_owner(t, n, 1010, 999);
}

/* host:HOST:GUEST:COUNT: only what the guest is shown. */
static void t_host(struct th *t)
{
	static const char *const f[] = {"--translate-uid=host:2000:1000:10",
					"--translate-gid=host:3000:500:1", NULL};
	const char *n = th_name(t, "host");
	struct fuse_entry_out e;
	struct fuse_attr_out a;

	restart(t, f);
	T_OK(t, th_host_write(t, n, "x", 1));
	T_OK(t, chown(th_host(t, n), 2003, 3000));
	T_OK(t, fe_lookup(t->fe, ROOT_NODE_ID, n, &e));
	T_EQ(t, e.attr.uid, 1003);
	T_EQ(t, e.attr.gid, 500);
	T_OK(t, fe_getattr(t->fe, e.nodeid, NULL, &a));
	T_EQ(t, a.attr.uid, 1003);
	T_EQ(t, a.attr.gid, 500);
	/* A guest chown is not translated by a host rule: 1003 is host 1003, shown as is. */
	T_OK(t, chown_guest(t, e.nodeid, 1003, 501, &a));
	host_owner(t, n, 1003, 501);
	T_EQ(t, a.attr.uid, 1003);
}

/* map:GUEST:HOST:COUNT: both directions; the guest sees its own ids back. */
static void t_map(struct th *t)
{
	static const char *const f[] = {"--translate-uid=map:1000:2000:10",
					"--translate-gid=map:1000:2000:10", NULL};
	const char *n = th_name(t, "map");
	struct fuse_entry_out e;
	struct fuse_attr_out a;

	restart(t, f);
	T_OK(t, create_as(t, 1001, 1002, n, &e));
	host_owner(t, n, 2001, 2002);
	T_EQ(t, e.attr.uid, 1001);
	T_EQ(t, e.attr.gid, 1002);
	T_OK(t, chown_guest(t, e.nodeid, 1007, 1008, &a));
	host_owner(t, n, 2007, 2008);
	T_EQ(t, a.attr.uid, 1007);
	T_EQ(t, a.attr.gid, 1008);
}

/* squash-guest:GUEST:HOST:COUNT: every guest id of the range becomes one host id, root too. */
static void t_squash_guest(struct th *t)
{
	static const char *const f[] = {"--translate-uid=squash-guest:0:4000:65536",
					"--translate-gid=squash-guest:0:4001:65536", NULL};
	const char *a = th_name(t, "sq-root"), *b = th_name(t, "sq-user");
	struct fuse_entry_out e;

	restart(t, f);
	T_OK(t, create_as(t, 0, 0, a, &e));
	host_owner(t, a, 4000, 4001);
	T_OK(t, create_as(t, 1234, 77, b, &e));
	host_owner(t, b, 4000, 4001);
}

/* squash-host:HOST:GUEST:COUNT: every host id of the range is shown as one guest id. */
static void t_squash_host(struct th *t)
{
	static const char *const f[] = {"--translate-uid=squash-host:2000:7:100",
					"--translate-gid=squash-host:2000:8:100", NULL};
	const char *n = th_name(t, "sqh");
	struct fuse_entry_out e;

	restart(t, f);
	T_OK(t, th_host_write(t, n, "x", 1));
	T_OK(t, chown(th_host(t, n), 2042, 2099));
	T_OK(t, fe_lookup(t->fe, ROOT_NODE_ID, n, &e));
	T_EQ(t, e.attr.uid, 7);
	T_EQ(t, e.attr.gid, 8);
	T_OK(t, chown(th_host(t, n), 2100, 1999));
	T_OK(t, fe_lookup(t->fe, ROOT_NODE_ID, n, &e));
	T_EQ(t, e.attr.uid, 2100);
	T_EQ(t, e.attr.gid, 1999);
}

/* forbid-guest:GUEST:COUNT: creating as, or chowning to, such an id fails with EPERM (the Rust
 * virtiofsd 1.13 answers EIO; both refuse and change nothing). */
static void t_forbid_guest(struct th *t)
{
	static const char *const f[] = {"--translate-uid=forbid-guest:500:10",
					"--translate-gid=forbid-guest:600:1", NULL};
	const char *n = th_name(t, "forbid"), *ok = th_name(t, "forbid-ok");
	struct fuse_entry_out e;
	struct fuse_attr_out a;
	struct stat st;

	restart(t, f);
	T_EQ(t, create_as(t, 505, 0, n, &e), -EPERM);
	T_CHECK(t, lstat(th_host(t, n), &st) < 0 && errno == ENOENT);
	T_EQ(t, create_as(t, 0, 600, n, &e), -EPERM);
	T_OK(t, create_as(t, 510, 601, ok, &e));
	host_owner(t, ok, 510, 601);
	T_EQ(t, chown_guest(t, e.nodeid, 509, 601, &a), -EPERM);
	T_EQ(t, chown_guest(t, e.nodeid, 510, 600, &a), -EPERM);
	host_owner(t, ok, 510, 601);
	T_OK(t, chown_guest(t, e.nodeid, 0, 0, &a));
	host_owner(t, ok, 0, 0);
}

/* Rules combine: forbid root, map a user range, show the rest of the host as nobody. */
static void t_combined(struct th *t)
{
	static const char *const f[] = {"--translate-uid=forbid-guest:0:1",
					"--translate-uid=map:1000:101000:100",
					"--translate-uid=squash-host:0:65534:101000", NULL};
	const char *n = th_name(t, "comb");
	struct fuse_entry_out e;

	restart(t, f);
	T_EQ(t, create_as(t, 0, 0, n, &e), -EPERM);
	T_OK(t, create_as(t, 1000, 0, n, &e));
	host_owner(t, n, 101000, 0);
	T_EQ(t, e.attr.uid, 1000);
	T_OK(t, chown(th_host(t, n), 0, 0));
	T_OK(t, fe_lookup(t->fe, ROOT_NODE_ID, n, &e));
	T_EQ(t, e.attr.uid, 65534);
	restart(t, NULL);
}

static const struct th_test idmap_tests[] = {
	{"translate-guest", t_guest},
	{"translate-host", t_host},
	{"translate-map", t_map},
	{"translate-squash-guest", t_squash_guest},
	{"translate-squash-host", t_squash_host},
	{"translate-forbid-guest", t_forbid_guest},
	{"translate-combined", t_combined},
	TH_TESTS_END,
};

int main(int argc, char **argv)
{
	static const struct th_test *const families[] = {idmap_tests, NULL};

	if (getuid() != 0) {
		printf("1..0 # SKIP needs root (the daemon must be able to give files away)\n");
		return 0;
	}
	th_capture_log = true;
	return th_main(argc, argv, families);
}
