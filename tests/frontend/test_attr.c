/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Attributes: GETATTR (by node and by fh), SETATTR (size, mode, uid/gid, times incl. NOW,
 * KILL_SUIDGID), STATX, ACCESS, STATFS.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "fuse/fuse_internal.h" /* FUSE_STATX and its structs on a 7.38 <linux/fuse.h> */
#include "harness.h"

static void test_getattr(struct th *t)
{
	const char *n = th_name(t, "getattr");
	uint64_t node, fh;
	struct fuse_attr_out a;
	struct stat st;

	T_OK(t, th_create(t, FE_ROOT_ID, n, &node, &fh));
	T_EQ(t, fe_write(t->fe, node, fh, 0, "12345678", 8, 0), 8);
	T_OK(t, stat(th_host(t, n), &st));
	T_OK(t, fe_getattr(t->fe, node, NULL, &a));
	T_EQ(t, a.attr.ino, st.st_ino);
	T_EQ(t, a.attr.size, 8);
	T_EQ(t, a.attr.mode, st.st_mode);
	T_EQ(t, a.attr.nlink, st.st_nlink);
	T_EQ(t, a.attr.uid, st.st_uid);
	T_EQ(t, a.attr.mtime, st.st_mtim.tv_sec);
	T_OK(t, fe_getattr(t->fe, node, &fh, &a));
	T_EQ(t, a.attr.size, 8);
	T_OK(t, fe_release(t->fe, node, fh, O_RDWR));
}

static void check_sx_time(struct th *t, const struct fuse_sx_time *got,
			  const struct statx_timestamp *want)
{
	T_EQ(t, got->tv_sec, want->tv_sec);
	T_EQ(t, got->tv_nsec, want->tv_nsec);
}

/* FUSE_STATX (Linux >= 6.6 sends it for statx() calls that want more than the basic stats,
 * e.g. the birth time): the host's statx, by node and by handle. */
static void test_statx(struct th *t)
{
	const char *n = th_name(t, "statx");
	const uint32_t want = STATX_BASIC_STATS | STATX_BTIME;
	uint64_t node, fh, bad = 0xdeadbeefull;
	struct fuse_statx_out o;
	struct statx hx;

	T_OK(t, th_create(t, FE_ROOT_ID, n, &node, &fh));
	T_EQ(t, fe_write(t->fe, node, fh, 0, "12345678", 8, 0), 8);
	T_OK(t, statx(AT_FDCWD, th_host(t, n), AT_SYMLINK_NOFOLLOW, want, &hx));

	memset(&o, 0xa5, sizeof(o));
	T_OK(t, fe_statx(t->fe, node, NULL, 0, want, &o));
	/* The basic stats always (the guest only updates its inode from a full set), the birth
	 * time exactly when the host has it, nothing the reply has no room for. */
	T_EQ(t, o.stat.mask & STATX_BASIC_STATS, STATX_BASIC_STATS);
	T_EQ(t, o.stat.mask & STATX_BTIME, hx.stx_mask & STATX_BTIME);
	T_EQ(t, o.stat.mask & ~want, 0);
	T_EQ(t, o.stat.ino, hx.stx_ino);
	T_EQ(t, o.stat.size, 8);
	T_EQ(t, o.stat.mode, hx.stx_mode);
	T_EQ(t, o.stat.nlink, hx.stx_nlink);
	T_EQ(t, o.stat.uid, hx.stx_uid);
	T_EQ(t, o.stat.gid, hx.stx_gid);
	T_EQ(t, o.stat.blocks, hx.stx_blocks);
	T_EQ(t, o.stat.blksize, hx.stx_blksize);
	T_EQ(t, o.stat.dev_major, hx.stx_dev_major);
	T_EQ(t, o.stat.dev_minor, hx.stx_dev_minor);
	check_sx_time(t, &o.stat.mtime, &hx.stx_mtime);
	check_sx_time(t, &o.stat.ctime, &hx.stx_ctime);
	if (hx.stx_mask & STATX_BTIME)
		check_sx_time(t, &o.stat.btime, &hx.stx_btime);
	else
		T_EQ(t, o.stat.btime.tv_sec, 0);
	/* Host-side facts (mount root, automount, DAX) are not the guest's. */
	T_EQ(t,
	     o.stat.attributes_mask &
		     (STATX_ATTR_MOUNT_ROOT | STATX_ATTR_AUTOMOUNT | STATX_ATTR_DAX),
	     0);
	T_EQ(t, o.flags, 0);
	T_EQ(t, o.spare[0] | o.spare[1], 0);

	/* By handle, with a sync hint; a write through it shows. */
	T_EQ(t, fe_write(t->fe, node, fh, 8, "9", 1, 0), 1);
	T_OK(t, fe_statx(t->fe, node, &fh, AT_STATX_FORCE_SYNC, STATX_SIZE, &o));
	T_EQ(t, o.stat.size, 9);
	T_EQ(t, o.stat.mask & STATX_BASIC_STATS, STATX_BASIC_STATS);

	/* A directory, and the share's root. */
	T_OK(t, fe_statx(t->fe, FE_ROOT_ID, NULL, 0, want, &o));
	T_CHECK(t, S_ISDIR(o.stat.mode));
	T_OK(t, statx(AT_FDCWD, t->share, 0, STATX_INO, &hx));
	T_EQ(t, o.stat.ino, hx.stx_ino);

	/* Forged node and handle: an error, never a reply about something else. */
	int r = fe_statx(t->fe, bad, NULL, 0, want, &o);
	T_CHECK(t, r < 0 && r != -ETIMEDOUT && r != -FE_EBADREPLY);
	r = fe_statx(t->fe, node, &bad, 0, want, &o);
	T_CHECK(t, r < 0 && r != -ETIMEDOUT && r != -FE_EBADREPLY);
	T_OK(t, fe_release(t->fe, node, fh, O_RDWR));
}

static void setattr(struct th *t, uint64_t node, struct fuse_setattr_in *in,
		    struct fuse_attr_out *a)
{
	T_OK(t, fe_setattr(t->fe, node, in, a));
}

static void test_setattr(struct th *t)
{
	const char *n = th_name(t, "setattr");
	struct fuse_entry_out e;
	struct fuse_attr_out a;
	struct stat st;

	T_OK(t, th_host_write(t, n, "0123456789", 10));
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, n, &e));

	setattr(t, e.nodeid, &(struct fuse_setattr_in){.valid = FATTR_SIZE, .size = 4}, &a);
	T_EQ(t, a.attr.size, 4);
	T_OK(t, stat(th_host(t, n), &st));
	T_EQ(t, st.st_size, 4);

	setattr(t, e.nodeid, &(struct fuse_setattr_in){.valid = FATTR_MODE, .mode = 0600}, &a);
	T_OK(t, stat(th_host(t, n), &st));
	T_EQ(t, st.st_mode & 07777, 0600);
	T_EQ(t, a.attr.mode & 07777, 0600);

	setattr(t, e.nodeid,
		&(struct fuse_setattr_in){.valid = FATTR_UID | FATTR_GID, .uid = 1234, .gid = 5678},
		&a);
	T_OK(t, stat(th_host(t, n), &st));
	T_EQ(t, st.st_uid, 1234);
	T_EQ(t, st.st_gid, 5678);
	T_EQ(t, a.attr.uid, 1234);

	setattr(t, e.nodeid,
		&(struct fuse_setattr_in){.valid = FATTR_ATIME | FATTR_MTIME,
					  .atime = 1000000,
					  .atimensec = 5,
					  .mtime = 2000000,
					  .mtimensec = 7},
		&a);
	T_OK(t, stat(th_host(t, n), &st));
	T_EQ(t, st.st_atim.tv_sec, 1000000);
	T_EQ(t, st.st_atim.tv_nsec, 5);
	T_EQ(t, st.st_mtim.tv_sec, 2000000);
	T_EQ(t, st.st_mtim.tv_nsec, 7);

	time_t before = time(NULL);
	setattr(t, e.nodeid,
		&(struct fuse_setattr_in){.valid = FATTR_ATIME | FATTR_MTIME | FATTR_ATIME_NOW |
						   FATTR_MTIME_NOW},
		&a);
	T_OK(t, stat(th_host(t, n), &st));
	T_CHECK(t, st.st_mtim.tv_sec >= before - 1 && st.st_mtim.tv_sec <= time(NULL) + 1);
	T_CHECK(t, st.st_atim.tv_sec >= before - 1);

	/* Only mtime: atime must stay. */
	setattr(t, e.nodeid, &(struct fuse_setattr_in){.valid = FATTR_MTIME, .mtime = 3000000}, &a);
	struct stat st2;
	T_OK(t, stat(th_host(t, n), &st2));
	T_EQ(t, st2.st_mtim.tv_sec, 3000000);
	T_EQ(t, st2.st_atim.tv_sec, st.st_atim.tv_sec);
}

static void test_setattr_kill_suidgid(struct th *t)
{
	const char *n = th_name(t, "killsuid");
	struct fuse_entry_out e;
	struct fuse_attr_out a;
	struct stat st;

	if (!(fe_fuse_init_out(t->fe)->flags & FUSE_HANDLE_KILLPRIV_V2))
		th_skip(t, "HANDLE_KILLPRIV_V2 not negotiated");
	T_OK(t, th_host_write(t, n, "0123456789", 10));
	T_OK(t, chmod(th_host(t, n), 06755));
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, n, &e));
	setattr(t, e.nodeid,
		&(struct fuse_setattr_in){.valid = FATTR_SIZE | FATTR_KILL_SUIDGID, .size = 2}, &a);
	T_OK(t, stat(th_host(t, n), &st));
	T_EQ(t, st.st_size, 2);
	T_EQ(t, st.st_mode & 07777, 0755);
}

/*
 * A guest user's requests that the guest kernel allowed with credentials the request does not
 * carry (issue 12): the set-id clearing a guest sends after a non-owner's write (a plain mode
 * change by a non-owner), a chown to a supplementary group, and opening a directory the user
 * may read but not search.
 */
static void test_setattr_guest_decides(struct th *t)
{
	const char *n = th_name(t, "guest-decides"), *d = th_name(t, "guest-decides-dir");
	struct fuse_entry_out e;
	struct fuse_open_out o;
	struct fuse_attr_out a;
	struct stat st;
	char buf[4096];
	int r;

	T_OK(t, th_host_write(t, n, "0123456789", 10));
	T_OK(t, chmod(th_host(t, n), 04777));
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, n, &e));
	fe_fuse_set_creds(t->fe, 65534, 65533, 1);
	r = fe_setattr(t->fe, e.nodeid,
		       &(struct fuse_setattr_in){.valid = FATTR_MODE, .mode = 0777}, &a);
	fe_fuse_set_creds(t->fe, 0, 0, 1);
	T_OK(t, r);
	T_OK(t, stat(th_host(t, n), &st));
	T_EQ(t, st.st_mode & 07777, 0777);

	T_OK(t, chown(th_host(t, n), 65534, 65533));
	fe_fuse_set_creds(t->fe, 65534, 65533, 1);
	r = fe_setattr(t->fe, e.nodeid, &(struct fuse_setattr_in){.valid = FATTR_GID, .gid = 65534},
		       &a);
	fe_fuse_set_creds(t->fe, 0, 0, 1);
	T_OK(t, r);
	T_OK(t, stat(th_host(t, n), &st));
	T_EQ(t, st.st_gid, 65534);

	T_OK(t, mkdir(th_host(t, d), 0700));
	snprintf(buf, sizeof(buf), "%s/child", d);
	T_OK(t, th_host_write(t, buf, "x", 1));
	T_OK(t, chown(th_host(t, d), 65534, 65533));
	T_OK(t, chmod(th_host(t, d), 0600));
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, d, &e));
	fe_fuse_set_creds(t->fe, 65534, 65533, 1);
	r = fe_opendir(t->fe, e.nodeid, &o);
	fe_fuse_set_creds(t->fe, 0, 0, 1);
	T_OK(t, r);
	if (r == 0) {
		T_CHECK(t, fe_readdir(t->fe, e.nodeid, o.fh, 0, buf, sizeof(buf)) > 0);
		T_OK(t, fe_releasedir(t->fe, e.nodeid, o.fh));
	}
	T_OK(t, chmod(th_host(t, d), 0755));
}

static void test_setattr_errors(struct th *t)
{
	struct fuse_attr_out a;
	const char *d = th_name(t, "setattr-dir");
	struct fuse_entry_out e;

	T_OK(t, fe_mkdir(t->fe, FE_ROOT_ID, d, 0755, 0, &e));
	T_EQ(t, fe_setattr(t->fe, e.nodeid, &(struct fuse_setattr_in){.valid = FATTR_SIZE}, &a),
	     -EISDIR);
	/* A forged fh with FATTR_FH. */
	const char *n = th_name(t, "setattr-fh");
	T_OK(t, th_host_write(t, n, "x", 1));
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, n, &e));
	int r = fe_setattr(t->fe, e.nodeid,
			   &(struct fuse_setattr_in){.valid = FATTR_SIZE | FATTR_FH,
						     .fh = 0xdeadbeef00ull,
						     .size = 0},
			   &a);
	T_CHECK(t, r < 0 && r != -ETIMEDOUT && r != -FE_EBADREPLY);
}

static void test_access(struct th *t)
{
	const char *n = th_name(t, "access");
	struct fuse_entry_out e;

	T_OK(t, th_host_write(t, n, "x", 1));
	T_OK(t, chmod(th_host(t, n), 0644));
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, n, &e));
	T_OK(t, fe_access(t->fe, e.nodeid, F_OK));
	T_OK(t, fe_access(t->fe, e.nodeid, R_OK | W_OK));
	fe_fuse_set_creds(t->fe, 1000, 1000, 1);
	T_OK(t, fe_access(t->fe, e.nodeid, R_OK));
	T_EQ(t, fe_access(t->fe, e.nodeid, W_OK), -EACCES);
	T_EQ(t, fe_access(t->fe, e.nodeid, X_OK), -EACCES);
	fe_fuse_set_creds(t->fe, 0, 0, 1);
}

static void test_statfs(struct th *t)
{
	struct fuse_statfs_out s;
	struct statvfs v;

	T_OK(t, fe_statfs(t->fe, FE_ROOT_ID, &s));
	T_OK(t, statvfs(t->share, &v));
	T_EQ(t, s.st.blocks, v.f_blocks);
	T_EQ(t, s.st.bsize, v.f_bsize);
	T_EQ(t, s.st.frsize, v.f_frsize);
	T_EQ(t, s.st.namelen, v.f_namemax);
}

const struct th_test th_attr_tests[] = {
	{"getattr", test_getattr},
	{"statx", test_statx},
	{"setattr", test_setattr},
	{"setattr-kill-suidgid", test_setattr_kill_suidgid},
	{"setattr-guest-decides", test_setattr_guest_decides},
	{"setattr-errors", test_setattr_errors},
	{"access", test_access},
	{"statfs", test_statfs},
	TH_TESTS_END,
};
