// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Extended attributes: the ops, the ACL rules and the xattr names served; the syscalls, and which
 * file types they reach on which kernels, are in xattr_io.c. Requests run as the daemon: the guest
 * kernel has checked the caller (xattr_permission: user.* follows file permissions, trusted.* needs
 * a root guest) with all of its groups (cred.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fs/passthrough/pt.h"
#include "fs/passthrough/pt_ops.h"

#define PT_ACL_PREFIX "system.posix_acl_"
/* XATTR_LIST_MAX: the most a listxattr can return on Linux. */
#define PT_XATTR_LIST_MAX 65536u

/*
 * ACL xattrs only in a session that negotiated FUSE_POSIX_ACL (which needs cfg.posix_acl): only
 * then does the guest apply them in its permission checks and leave the umask to us.
 */
static int pt_xattr_check(const struct fs_state *fs, const char *name)
{
	if (!fs->cfg.xattr)
		return -EOPNOTSUPP;
	if (name && !fs->init_posix_acl && !strncmp(name, PT_ACL_PREFIX, strlen(PT_ACL_PREFIX)))
		return -EOPNOTSUPP;
	return 0;
}

/*
 * The guest's caller may not keep setgid (not in the group, no CAP_FSETID), and the ACL was set
 * as the daemon, which keeps it: clear it explicitly (dropping a privilege bit is always
 * allowed). chmod through the magic link works for every type that can hold an ACL.
 */
static int pt_acl_kill_sgid(struct fs_state *fs, const struct pt_inode *ino)
{
	struct stat st;
	char name[24];

	if (fstatat(ino->fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!(st.st_mode & S_ISGID) || S_ISLNK(st.st_mode))
		return 0;
	snprintf(name, sizeof(name), "%d", ino->fd);
	return fchmodat(fs->proc_fd, name, st.st_mode & 07777 & ~S_ISGID, 0) < 0 ? -errno : 0;
}

static ssize_t pt_xattr_op(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid,
			   const struct pt_xreq *x)
{
	_cleanup_inode_ struct pt_inode_guard g = {fs, NULL};
	ssize_t n;
	int r;

	if (!fs->cfg.xattr)
		return -EOPNOTSUPP;
	if (fs->cfg.readonly && (x->op == PT_XSET || x->op == PT_XREMOVE))
		return -EROFS;
	r = pt_inode_get(fs, nodeid, &g.ino);
	if (r < 0)
		return r;
	/* As the daemon: the guest kernel has checked the caller (xattr_permission, with all of
	 * its groups and capabilities; top of cred.c). */
	n = pt_xattr_do(fs, NULL, g.ino, x);
	if (n == 0 && x->kill_sgid)
		r = pt_acl_kill_sgid(fs, g.ino);
	/* The attribute changed (and maybe the mode), whether or not clearing setgid worked. */
	if (n >= 0 && (x->op == PT_XSET || x->op == PT_XREMOVE))
		pt_vt_changed(fs, g.ino, NULL);
	if (r < 0)
		return r;
	return n;
}

/* A named request: the guest's name checked, then mapped to the host's (x->name is replaced). */
static ssize_t pt_xattr_named(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid,
			      struct pt_xreq *x)
{
	char host[XATTRMAP_NAME_MAX + 1];
	int r;

	r = pt_xattr_check(fs, x->name);
	if (r < 0)
		return r;
	r = pt_xattr_host_name(fs, x->name, host, &x->name);
	if (r < 0)
		return r;
	return pt_xattr_op(fs, ctx, nodeid, x);
}

int pt_op_setxattr(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, const char *name,
		   const void *value, size_t size, int flags)
{
	struct pt_xreq x = {PT_XSET, name, (void *)value, size, flags & ~FS_XATTR_ACL_KILL_SGID,
			    false};

	if (flags & ~(XATTR_CREATE | XATTR_REPLACE | FS_XATTR_ACL_KILL_SGID))
		return -EINVAL;
	/* Only the access ACL carries mode bits (posix_acl_update_mode): the flag means nothing
	 * for any other name. */
	x.kill_sgid = (flags & FS_XATTR_ACL_KILL_SGID) && !strcmp(name, PT_ACL_PREFIX "access");
	return (int)pt_xattr_named(fs, ctx, nodeid, &x);
}

ssize_t pt_op_getxattr(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		       const char *name, void *buf, size_t size)
{
	struct pt_xreq x = {PT_XGET, name, size ? buf : NULL, size, 0, false};

	return pt_xattr_named(fs, ctx, nodeid, &x);
}

/*
 * listxattr through the map: the host's list is read whole (it may be longer than the guest's
 * buffer, names only shrink or vanish), translated, then sized or copied for the guest.
 */
static ssize_t pt_listxattr_mapped(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid,
				   void *buf, size_t size)
{
	_cleanup_free_ char *list = malloc(PT_XATTR_LIST_MAX);
	struct pt_xreq x = {PT_XLIST, NULL, list, PT_XATTR_LIST_MAX, 0, false};
	ssize_t n;
	size_t len;

	if (!list)
		return -ENOMEM;
	n = pt_xattr_op(fs, ctx, nodeid, &x);
	if (n < 0)
		return n;
	len = xattrmap_list_to_guest(fs->cfg.xattrmap, list, (size_t)n);
	if (size == 0)
		return (ssize_t)len;
	if (len > size)
		return -ERANGE;
	memcpy(buf, list, len);
	return (ssize_t)len;
}

ssize_t pt_op_listxattr(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, void *buf,
			size_t size)
{
	struct pt_xreq x = {PT_XLIST, NULL, size ? buf : NULL, size, 0, false};

	if (fs->cfg.xattrmap && fs->cfg.xattr)
		return pt_listxattr_mapped(fs, ctx, nodeid, buf, size);
	return pt_xattr_op(fs, ctx, nodeid, &x);
}

int pt_op_removexattr(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		      const char *name)
{
	struct pt_xreq x = {PT_XREMOVE, name, NULL, 0, 0, false};

	return (int)pt_xattr_named(fs, ctx, nodeid, &x);
}
