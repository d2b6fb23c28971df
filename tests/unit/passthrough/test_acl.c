// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Passthrough backend, POSIX ACLs: ACL xattrs only in a session that negotiated them (and only
 * with cfg.posix_acl), the guest umask applied only where the parent has no default ACL, ACLs
 * set as the daemon with setgid cleared on FS_XATTR_ACL_KILL_SGID alone.
 */
#include "pt_test.h"

#include <errno.h>
#include <sys/xattr.h>

#include "acl_util.h"

#define ACCESS_ACL  "system.posix_acl_access"
#define DEFAULT_ACL "system.posix_acl_default"

static int set_acl(struct tenv *t, const struct fs_ctx *ctx, uint64_t node, const char *name,
		   const char *text, int flags)
{
	char buf[ACL_XATTR_MAX];
	int n = acl_from_text(text, buf, sizeof(buf));

	CHECK(n > 0);
	return t->ops->setxattr(t->fs, ctx, node, name, buf, (size_t)n, flags);
}

static mode_t host_mode(struct tenv *t, const char *name)
{
	struct stat st;

	return stat(tpath(t, name), &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

static int acl_session(struct tenv *t, bool posix_acl)
{
	struct fs_init_info info = {.posix_acl = posix_acl};

	t->ops->destroy(t->fs);
	return t->ops->init(t->fs, &info);
}

static void test_negotiated_only(void)
{
	struct pt_config cfg = tenv_default_config();
	struct tenv t;
	uint64_t a;

	CHECK_EQ(tenv_init(&t, NULL), 0);
	thost_write(&t, "a", "a", 0644);
	a = tlookup(&t, FS_ROOT_ID, "a");
	/* cfg.posix_acl, but the session did not negotiate FUSE_POSIX_ACL. */
	CHECK_EQ(set_acl(&t, &root_ctx, a, ACCESS_ACL, "u::rw,u:1000:r,g::r,m::r,o::r", 0),
		 -EOPNOTSUPP);
	CHECK_EQ(t.ops->getxattr(t.fs, &root_ctx, a, DEFAULT_ACL, NULL, 0), -EOPNOTSUPP);
	CHECK_EQ(t.ops->setxattr(t.fs, &root_ctx, a, "user.k", "v", 1, 0), 0);
	CHECK_EQ(acl_session(&t, true), 0);
	a = tlookup(&t, FS_ROOT_ID, "a");
	CHECK_EQ(set_acl(&t, &root_ctx, a, ACCESS_ACL, "u::rw,u:1000:r,g::r,m::r,o::r", 0), 0);
	CHECK_EQ(t.ops->getxattr(t.fs, &root_ctx, a, ACCESS_ACL, NULL, 0), 4 + 5 * 8);
	/* Unknown flags are refused. */
	CHECK_EQ(set_acl(&t, &root_ctx, a, ACCESS_ACL, "u::rw,g::r,o::r", 1 << 20), -EINVAL);
	tenv_done(&t);

	/* Negotiated by the guest but not configured: still no ACLs. */
	cfg.posix_acl = false;
	CHECK_EQ(tenv_init(&t, &cfg), 0);
	CHECK_EQ(acl_session(&t, true), 0);
	thost_write(&t, "a", "a", 0644);
	a = tlookup(&t, FS_ROOT_ID, "a");
	CHECK_EQ(set_acl(&t, &root_ctx, a, ACCESS_ACL, "u::rw,u:1000:r,g::r,m::r,o::r", 0),
		 -EOPNOTSUPP);
	tenv_done(&t);
}

static void test_umask(void)
{
	struct tenv t;
	struct fs_entry e;
	uint64_t d, fh;
	uint32_t of;

	CHECK_EQ(tenv_init(&t, NULL), 0);
	/* Not negotiated: the guest masked the mode itself, the umask is not applied again. */
	CHECK_EQ(t.ops->mkdir(t.fs, &root_ctx, FS_ROOT_ID, "m0", 0777, 022, &e), 0);
	CHECK_EQ(e.attr.st_mode & 07777, 0777);
	CHECK_EQ(acl_session(&t, true), 0);
	CHECK_EQ(t.ops->mkdir(t.fs, &root_ctx, FS_ROOT_ID, "m1", 0777, 022, &e), 0);
	CHECK_EQ(e.attr.st_mode & 07777, 0755);
	CHECK_EQ(t.ops->mknod(t.fs, &user_ctx, FS_ROOT_ID, "p1", S_IFIFO | 0666, 0, 077, &e), 0);
	CHECK_EQ(e.attr.st_mode & 07777, 0600);

	/* Under a default ACL the umask is ignored and the ACL is inherited. */
	CHECK_EQ(t.ops->mkdir(t.fs, &root_ctx, FS_ROOT_ID, "d", 0755, 022, &e), 0);
	d = e.nodeid;
	CHECK_EQ(set_acl(&t, &root_ctx, d, DEFAULT_ACL, "u::rwx,u:1000:rwx,g::rx,m::rwx,o::", 0),
		 0);
	/* User 1000 may write in d through its own entry (creates run with the guest's ids). */
	CHECK_EQ(set_acl(&t, &root_ctx, d, ACCESS_ACL, "u::rwx,u:1000:rwx,g::rx,m::rwx,o::rx", 0),
		 0);
	CHECK_EQ(t.ops->create(t.fs, &user_ctx, d, "f", S_IFREG | 0666, O_RDWR, 077, &e, &fh, &of),
		 0);
	CHECK_EQ(e.attr.st_mode & 07777, 0660);
	CHECK_EQ(e.attr.st_uid, 1000);
	CHECK_EQ(t.ops->release(t.fs, &user_ctx, e.nodeid, fh), 0);
	CHECK_EQ(t.ops->getxattr(t.fs, &root_ctx, e.nodeid, ACCESS_ACL, NULL, 0), 4 + 5 * 8);
	CHECK_EQ(t.ops->mkdir(t.fs, &root_ctx, d, "sub", 0777, 077, &e), 0);
	CHECK_EQ(e.attr.st_mode & 07777, 0770);
	CHECK_EQ(t.ops->getxattr(t.fs, &root_ctx, e.nodeid, DEFAULT_ACL, NULL, 0), 4 + 5 * 8);
	tenv_done(&t);
}

static void test_kill_sgid(void)
{
	const char *acl = "u::rwx,u:1001:rwx,g::rx,m::rwx,o::";
	struct tenv t;
	uint64_t a;

	CHECK_EQ(tenv_init(&t, NULL), 0);
	CHECK_EQ(acl_session(&t, true), 0);
	thost_write(&t, "s", "s", 0755);
	CHECK_EQ(chown(tpath(&t, "s"), 1000, 2000), 0);
	a = tlookup(&t, FS_ROOT_ID, "s");
	/* The owner (not in group 2000 by its ids, maybe by a supplementary one): the guest's
	 * flag decides. */
	CHECK_EQ(chmod(tpath(&t, "s"), 02775), 0);
	CHECK_EQ(set_acl(&t, &user_ctx, a, ACCESS_ACL, acl, 0), 0);
	CHECK_EQ(host_mode(&t, "s"), 02770);
	CHECK_EQ(chmod(tpath(&t, "s"), 02775), 0);
	CHECK_EQ(set_acl(&t, &user_ctx, a, ACCESS_ACL, acl, FS_XATTR_ACL_KILL_SGID), 0);
	CHECK_EQ(host_mode(&t, "s"), 0770);
	CHECK_EQ(chmod(tpath(&t, "s"), 02775), 0);
	CHECK_EQ(set_acl(&t, &root_ctx, a, ACCESS_ACL, acl, FS_XATTR_ACL_KILL_SGID), 0);
	CHECK_EQ(host_mode(&t, "s"), 0770);
	/* Not for other names, and not when setting fails. */
	CHECK_EQ(chmod(tpath(&t, "s"), 02775), 0);
	CHECK_EQ(t.ops->setxattr(t.fs, &root_ctx, a, "user.k", "v", 1, FS_XATTR_ACL_KILL_SGID), 0);
	CHECK_EQ(t.ops->setxattr(t.fs, &root_ctx, a, ACCESS_ACL, "abc", 3, FS_XATTR_ACL_KILL_SGID),
		 -EINVAL);
	CHECK_EQ(host_mode(&t, "s"), 02775);
	/* Removing an ACL: as the daemon too (the guest checked ownership). */
	CHECK_EQ(set_acl(&t, &root_ctx, a, ACCESS_ACL, acl, 0), 0);
	CHECK_EQ(t.ops->removexattr(t.fs, &user_ctx, a, ACCESS_ACL), 0);
	CHECK_EQ(t.ops->getxattr(t.fs, &root_ctx, a, ACCESS_ACL, NULL, 0), -ENODATA);
	tenv_done(&t);
}

int main(void)
{
	test_negotiated_only();
	test_umask();
	test_kill_sgid();
	return check_report("passthrough-acl");
}
