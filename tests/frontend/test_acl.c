/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * frontend-acl: POSIX ACLs (--posix-acl) as a Linux guest with FUSE_POSIX_ACL uses them:
 * negotiation, system.posix_acl_access/default round trips, the mode/ACL interplay (an ACL sets
 * the mode, chmod sets the mask), default ACL inheritance and the guest umask (sent apart under
 * FUSE_DONT_MASK, applied only without a default ACL), no host-side refusal of what an ACL
 * grants, and the setgid rule of FUSE_SETXATTR_ACL_KILL_SGID. Permission checks as other users
 * are the guest kernel's: tests/vm/guest_acl_test.c checks them in a guest.
 * Usage: test_acl DAEMON (or $VFSD_TEST_DAEMON). TAP on stdout.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "acl_util.h"
#include "harness.h"

#define ACCESS_ACL  "system.posix_acl_access"
#define DEFAULT_ACL "system.posix_acl_default"

static const char *const acl_flags[] = {"--posix-acl", NULL};

/* A daemon with --posix-acl and a guest offering POSIX_ACL (what Linux offers). */
static int acl_session(struct th *t)
{
	t->extra_flags = acl_flags;
	t->init_flags = th_init_flags() | FUSE_POSIX_ACL;
	return th_reconnect(t, NULL);
}

static int fe_set_acl(struct th *t, uint64_t node, const char *name, const char *text,
		      uint32_t setxattr_flags)
{
	char buf[ACL_XATTR_MAX];
	int n = acl_from_text(text, buf, sizeof(buf));

	if (n < 0)
		return -EINVAL;
	return fe_setxattr(t->fe, node, name, buf, (uint32_t)n, 0, setxattr_flags);
}

/* The ACL as text through FUSE ("" and -ENODATA when there is none). */
static int fe_get_acl(struct th *t, uint64_t node, const char *name, char *out, size_t size)
{
	char buf[ACL_XATTR_MAX];
	int n = fe_getxattr(t->fe, node, name, buf, sizeof(buf));

	out[0] = '\0';
	if (n < 0)
		return n;
	return acl_to_text(buf, (size_t)n, out, size) < 0 ? -EBADMSG : 0;
}

static int host_get_acl(struct th *t, const char *n, const char *name, char *out, size_t size)
{
	char buf[ACL_XATTR_MAX];
	ssize_t len = getxattr(th_host(t, n), name, buf, sizeof(buf));

	out[0] = '\0';
	if (len < 0)
		return -errno;
	return acl_to_text(buf, (size_t)len, out, size) < 0 ? -EBADMSG : 0;
}

static mode_t host_mode(struct th *t, const char *n)
{
	struct stat st;

	return stat(th_host(t, n), &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

static void test_negotiation(struct th *t)
{
	const uint64_t pair = FUSE_POSIX_ACL | FUSE_DONT_MASK;
	const char *n = th_name(t, "neg");
	struct fuse_entry_out e;

	/* Without the option: not offered, and ACL xattrs are not served. */
	t->extra_flags = NULL;
	t->init_flags = th_init_flags() | FUSE_POSIX_ACL;
	T_OK(t, th_reconnect(t, NULL));
	T_EQ(t, fe_fuse_init_out(t->fe)->flags & pair, 0);
	T_OK(t, th_host_write(t, n, "x", 1));
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, n, &e));
	T_EQ(t, fe_set_acl(t, e.nodeid, ACCESS_ACL, "u::rw,u:1001:r,g::r,m::r,o::r", 0),
	     -EOPNOTSUPP);
	T_EQ(t, fe_getxattr(t->fe, e.nodeid, ACCESS_ACL, NULL, 0), -EOPNOTSUPP);

	/* With it, to a guest that offers it: POSIX_ACL and DONT_MASK. */
	T_OK(t, acl_session(t));
	T_EQ(t, fe_fuse_init_out(t->fe)->flags & pair, pair);

	/* A guest that does not offer POSIX_ACL: served without ACLs. */
	t->init_flags = th_init_flags();
	T_OK(t, fe_init(t->fe, 38, t->init_flags));
	T_EQ(t, fe_fuse_init_out(t->fe)->flags & pair, 0);
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, n, &e));
	T_EQ(t, fe_set_acl(t, e.nodeid, ACCESS_ACL, "u::rw,u:1001:r,g::r,m::r,o::r", 0),
	     -EOPNOTSUPP);
	T_OK(t, acl_session(t));
}

/* setxattr/getxattr of an access ACL, the mode it implies, and chmod rewriting the mask. */
static void test_access_acl(struct th *t)
{
	const char *n = th_name(t, "access");
	struct fuse_setattr_in sa = {.valid = FATTR_MODE, .mode = S_IFREG | 0640};
	struct fuse_entry_out e;
	struct fuse_attr_out a;
	char text[512];

	T_OK(t, th_host_write(t, n, "x", 1));
	T_OK(t, chmod(th_host(t, n), 0644));
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, n, &e));
	T_OK(t, fe_set_acl(t, e.nodeid, ACCESS_ACL, "u::rw,u:1001:rw,g::r,g:2001:r,m::rw,o::r", 0));
	T_OK(t, fe_get_acl(t, e.nodeid, ACCESS_ACL, text, sizeof(text)));
	T_STREQ(t, text, "u::rw-,u:1001:rw-,g::r--,g:2001:r--,m::rw-,o::r--");
	T_OK(t, host_get_acl(t, n, ACCESS_ACL, text, sizeof(text)));
	T_STREQ(t, text, "u::rw-,u:1001:rw-,g::r--,g:2001:r--,m::rw-,o::r--");
	/* The mask is the group class of the mode. */
	T_EQ(t, host_mode(t, n), 0664);
	T_OK(t, fe_getattr(t->fe, e.nodeid, NULL, &a));
	T_EQ(t, a.attr.mode & 07777, 0664);

	/* chmod sets the mask from the group bits; the named entries stay. */
	T_OK(t, fe_setattr(t->fe, e.nodeid, &sa, &a));
	T_EQ(t, a.attr.mode & 07777, 0640);
	T_OK(t, fe_get_acl(t, e.nodeid, ACCESS_ACL, text, sizeof(text)));
	T_STREQ(t, text, "u::rw-,u:1001:rw-,g::r--,g:2001:r--,m::r--,o::---");

	/* An ACL of the three base entries is the mode: stored as the mode, no xattr left. */
	T_OK(t, fe_set_acl(t, e.nodeid, ACCESS_ACL, "u::rwx,g::rx,o::", 0));
	T_EQ(t, host_mode(t, n), 0750);
	T_EQ(t, fe_get_acl(t, e.nodeid, ACCESS_ACL, text, sizeof(text)), -ENODATA);

	/* Removal: the ACL goes, the mode stays. */
	T_OK(t, fe_set_acl(t, e.nodeid, ACCESS_ACL, "u::rw,u:1001:r,g::r,m::r,o::", 0));
	T_OK(t, fe_removexattr(t->fe, e.nodeid, ACCESS_ACL));
	T_EQ(t, fe_get_acl(t, e.nodeid, ACCESS_ACL, text, sizeof(text)), -ENODATA);
	T_EQ(t, host_mode(t, n), 0640);
	/* Malformed values (shorter than the header) are refused by the host kernel. */
	T_EQ(t, fe_setxattr(t->fe, e.nodeid, ACCESS_ACL, "abc", 3, 0, 0), -EINVAL);
}

/* Files and directories created under a directory with a default ACL inherit it, and the
 * guest's umask does not apply there; elsewhere it does. */
static void test_default_acl(struct th *t)
{
	const char *d = th_name(t, "dflt");
	const char *plain = th_name(t, "plain");
	char path[256], text[512];
	struct fuse_entry_out de, pe, e;
	struct fuse_open_out o;

	T_OK(t, fe_mkdir(t->fe, FE_ROOT_ID, d, 0755, 022, &de));
	T_OK(t, fe_set_acl(t, de.nodeid, DEFAULT_ACL, "u::rwx,u:1001:rwx,g::rx,m::rwx,o::", 0));
	T_OK(t, fe_get_acl(t, de.nodeid, DEFAULT_ACL, text, sizeof(text)));
	T_STREQ(t, text, "u::rwx,u:1001:rwx,g::r-x,m::rwx,o::---");

	/* create 0666 with umask 077: the default ACL decides (other ---, group class rw). */
	T_OK(t, fe_create(t->fe, de.nodeid, "f", O_RDWR, S_IFREG | 0666, 077, &e, &o));
	T_OK(t, fe_release(t->fe, e.nodeid, o.fh, O_RDWR));
	T_EQ(t, e.attr.mode & 07777, 0660);
	snprintf(path, sizeof(path), "%s/f", d);
	T_EQ(t, host_mode(t, path), 0660);
	T_OK(t, fe_get_acl(t, e.nodeid, ACCESS_ACL, text, sizeof(text)));
	T_STREQ(t, text, "u::rw-,u:1001:rwx,g::r-x,m::rw-,o::---");
	T_EQ(t, fe_get_acl(t, e.nodeid, DEFAULT_ACL, text, sizeof(text)), -ENODATA);

	/* mkdir: the access ACL and the default ACL itself are inherited. */
	T_OK(t, fe_mkdir(t->fe, de.nodeid, "sub", 0777, 077, &e));
	T_EQ(t, e.attr.mode & 07777, 0770);
	T_OK(t, fe_get_acl(t, e.nodeid, ACCESS_ACL, text, sizeof(text)));
	T_STREQ(t, text, "u::rwx,u:1001:rwx,g::r-x,m::rwx,o::---");
	T_OK(t, fe_get_acl(t, e.nodeid, DEFAULT_ACL, text, sizeof(text)));
	T_STREQ(t, text, "u::rwx,u:1001:rwx,g::r-x,m::rwx,o::---");

	/* mknod (a FIFO) too. */
	T_OK(t, fe_mknod(t->fe, de.nodeid, "fifo", S_IFIFO | 0666, 0, 022, &e));
	T_EQ(t, e.attr.mode & 07777, 0660);

	/* No default ACL: the umask applies (host umask is the daemon's 0). */
	T_OK(t, fe_mkdir(t->fe, FE_ROOT_ID, plain, 0777, 022, &pe));
	T_EQ(t, pe.attr.mode & 07777, 0755);
	T_OK(t, fe_create(t->fe, pe.nodeid, "f", O_RDWR, S_IFREG | 0666, 027, &e, &o));
	T_OK(t, fe_release(t->fe, e.nodeid, o.fh, O_RDWR));
	T_EQ(t, e.attr.mode & 07777, 0640);
	T_OK(t, fe_mknod(t->fe, pe.nodeid, "fifo", S_IFIFO | 0666, 0, 077, &e));
	T_EQ(t, e.attr.mode & 07777, 0600);
	T_EQ(t, fe_get_acl(t, e.nodeid, ACCESS_ACL, text, sizeof(text)), -ENODATA);
}

/*
 * What an ACL grants, the daemon does not refuse: the guest kernel decided with the caller's
 * full credentials (default_permissions), while a request carries only its uid and gid.
 */
static void test_granted(struct th *t)
{
	const char *n = th_name(t, "grant");
	struct fuse_entry_out e;
	struct fuse_open_out o;

	T_OK(t, th_host_write(t, n, "x", 1));
	T_OK(t, chmod(th_host(t, n), 0600));
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, n, &e));
	T_OK(t, fe_set_acl(t, e.nodeid, ACCESS_ACL, "u::rw,u:1001:rw,g::-,g:2001:rw,m::rw,o::", 0));
	fe_fuse_set_creds(t->fe, 1001, 1001, 1);
	T_OK(t, fe_open(t->fe, e.nodeid, O_RDWR, &o));
	T_OK(t, fe_release(t->fe, e.nodeid, o.fh, O_RDWR));
	fe_fuse_set_creds(t->fe, 1002, 2001, 1);
	T_OK(t, fe_open(t->fe, e.nodeid, O_RDWR, &o));
	T_OK(t, fe_release(t->fe, e.nodeid, o.fh, O_RDWR));
	T_OK(t, fe_access(t->fe, e.nodeid, R_OK | W_OK));
	fe_fuse_set_creds(t->fe, 0, 0, 1);
}

/*
 * Setting an access ACL keeps setgid unless the guest says its caller is neither in the file's
 * group nor holds CAP_FSETID (FUSE_SETXATTR_ACL_KILL_SGID): only the guest knows the caller's
 * supplementary groups and capabilities.
 */
static void test_kill_sgid(struct th *t)
{
	const char *n = th_name(t, "sgid");
	const char *acl = "u::rwx,u:1002:rwx,g::rx,m::rwx,o::";
	static const struct {
		uint32_t uid, gid, setxattr_flags;
		mode_t want;
	} cases[] = {
		{1001, 2001, 0, 02770}, /* owner, in the group */
		{1001, 1001, 0, 02770}, /* in it by a supplementary group */
		{1001, 1001, FUSE_SETXATTR_ACL_KILL_SGID, 0770}, /* not in it */
		{0, 0, 0, 02770},				 /* root with CAP_FSETID */
		{0, 0, FUSE_SETXATTR_ACL_KILL_SGID, 0770},	 /* root without */
	};
	struct fuse_entry_out e;

	T_OK(t, th_host_write(t, n, "x", 1));
	T_OK(t, chown(th_host(t, n), 1001, 2001));
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, n, &e));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		T_OK(t, chmod(th_host(t, n), 02775));
		fe_fuse_set_creds(t->fe, cases[i].uid, cases[i].gid, 1);
		T_OK(t, fe_set_acl(t, e.nodeid, ACCESS_ACL, acl, cases[i].setxattr_flags));
		T_EQ(t, host_mode(t, n), cases[i].want);
	}
	fe_fuse_set_creds(t->fe, 0, 0, 1);
	/* The flag is about access ACLs only. */
	T_OK(t, chmod(th_host(t, n), 02775));
	T_OK(t, fe_setxattr(t->fe, e.nodeid, "user.x", "1", 1, 0, FUSE_SETXATTR_ACL_KILL_SGID));
	T_EQ(t, host_mode(t, n), 02775);
	T_EQ(t, fe_set_acl(t, e.nodeid, DEFAULT_ACL, acl, FUSE_SETXATTR_ACL_KILL_SGID), -EACCES);
	T_EQ(t, host_mode(t, n), 02775);
}

static const struct th_test th_acl_tests[] = {
	{"acl-negotiation", test_negotiation},
	{"acl-access-roundtrip-mode-mask", test_access_acl},
	{"acl-default-inherit-umask", test_default_acl},
	{"acl-granted-access-not-refused", test_granted},
	{"acl-kill-sgid", test_kill_sgid},
	TH_TESTS_END,
};

int main(int argc, char **argv)
{
	static const struct th_test *const families[] = {th_acl_tests, NULL};

	return th_main(argc, argv, families);
}
