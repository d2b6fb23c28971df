// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Extended attributes. On kernels with the *xattrat() syscalls (6.13+) they resolve the
 * inode's /proc/self/fd/N magic link relative to our /proc/self/fd dirfd, which lands on exactly
 * the pinned inode (a symlink itself, never its target) for every file type, without opening
 * anything (AT_EMPTY_PATH would be simpler but refuses O_PATH fds). Older
 * kernels: regular files and directories are reopened read-only and served with f*xattr();
 * symlinks and special files get -EOPNOTSUPP there (the only xattrs Linux allows on them are
 * trusted.* and security.*; serving them would need a per-thread cwd in /proc/self/fd).
 * Requests run with the guest's credentials, so user.* follows file permissions and trusted.*
 * needs a root guest; ACLs are set and removed as the daemon (pt_acl_ctx).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fs/passthrough/pt.h"

/* Unified syscall numbers (all architectures but alpha) since Linux 6.13. */
#if !defined(__alpha__)
#ifndef __NR_setxattrat
#define __NR_setxattrat 463
#endif
#ifndef __NR_getxattrat
#define __NR_getxattrat 464
#endif
#ifndef __NR_listxattrat
#define __NR_listxattrat 465
#endif
#ifndef __NR_removexattrat
#define __NR_removexattrat 466
#endif
#endif

/* Kernel ABI struct xattr_args (VER0, 16 bytes). */
struct pt_xattr_args {
	uint64_t value;
	uint32_t size;
	uint32_t flags;
};

enum pt_xop {
	PT_XGET,
	PT_XSET,
	PT_XLIST,
	PT_XREMOVE
};

struct pt_xreq {
	enum pt_xop op;
	const char *name;
	void *buf;
	size_t size;
	int flags;
	bool kill_sgid; /* PT_XSET of an access ACL: clear setgid once it is set */
};

#define PT_ACL_PREFIX "system.posix_acl_"

/* `path` names an O_PATH fd under dirfd /proc/self/fd: following it is the point. */
static long pt_xattr_at(int dirfd, const char *path, const struct pt_xreq *x)
{
#ifdef __NR_getxattrat
	struct pt_xattr_args args = {(uintptr_t)x->buf, (uint32_t)x->size, (uint32_t)x->flags};
	const unsigned at = 0;

	if (x->size > UINT32_MAX)
		return -E2BIG;
	switch (x->op) {
	case PT_XGET:
		args.flags = 0;
		return syscall(__NR_getxattrat, dirfd, path, at, x->name, &args, sizeof(args));
	case PT_XSET:
		return syscall(__NR_setxattrat, dirfd, path, at, x->name, &args, sizeof(args));
	case PT_XLIST:
		return syscall(__NR_listxattrat, dirfd, path, at, x->buf, x->size);
	case PT_XREMOVE:
	default:
		return syscall(__NR_removexattrat, dirfd, path, at, x->name);
	}
#else
	errno = ENOSYS;
	return -1;
#endif
}

static long pt_xattr_fd(int fd, const struct pt_xreq *x)
{
	switch (x->op) {
	case PT_XGET:
		return fgetxattr(fd, x->name, x->buf, x->size);
	case PT_XSET:
		return fsetxattr(fd, x->name, x->buf, x->size, x->flags);
	case PT_XLIST:
		return flistxattr(fd, x->buf, x->size);
	case PT_XREMOVE:
	default:
		return fremovexattr(fd, x->name);
	}
}

/* Whether the kernel has *xattrat(); probed once at first use. 0 unknown, 1 yes, -1 no. */
static atomic_int pt_has_xattrat;

static bool pt_xattrat_supported(struct pt_fs *fs)
{
	int v = atomic_load(&pt_has_xattrat);
	struct pt_xreq probe = {PT_XLIST, NULL, NULL, 0, 0, false};

	if (v == 0) {
		char name[24];

		snprintf(name, sizeof(name), "%d", fs->root->fd);
		v = (pt_xattr_at(fs->proc_fd, name, &probe) < 0 && errno == ENOSYS) ? -1 : 1;
		atomic_store(&pt_has_xattrat, v);
	}
	return v > 0;
}

/* Runs one request as ctx (NULL: as the daemon). */
static ssize_t pt_xattr_do(struct pt_fs *fs, const struct fs_ctx *ctx, const struct pt_inode *ino,
			   const struct pt_xreq *x)
{
	_cleanup_cred_ struct pt_cred cred = {false};
	_cleanup_close_ int fd = -1;
	bool at = pt_xattrat_supported(fs);
	char name[24];
	long r;

	if (!at) {
		if (!S_ISREG(ino->type) && !S_ISDIR(ino->type))
			return -EOPNOTSUPP;
		/* Opened as the daemon: access is checked by the xattr call itself below. */
		fd = pt_reopen(fs, ino, O_RDONLY | O_NONBLOCK);
		if (fd < 0)
			return fd;
	}
	if (ctx) {
		r = pt_cred_enter(&cred, ctx);
		if (r < 0)
			return r;
	}
	snprintf(name, sizeof(name), "%d", ino->fd);
	r = at ? pt_xattr_at(fs->proc_fd, name, x) : pt_xattr_fd(fd, x);
	return r < 0 ? -errno : r;
}

ssize_t pt_xattr_get_raw(struct pt_fs *fs, const struct pt_inode *ino, const char *name, void *buf,
			 size_t size)
{
	struct pt_xreq x = {PT_XGET, name, buf, size, 0, false};

	return pt_xattr_do(fs, NULL, ino, &x);
}

/*
 * ACL xattrs only in a session that negotiated FUSE_POSIX_ACL (which needs cfg.posix_acl): only
 * then does the guest apply them in its permission checks and leave the umask to us.
 */
static int pt_xattr_check(const struct pt_fs *fs, const char *name)
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
static int pt_acl_kill_sgid(struct pt_fs *fs, const struct pt_inode *ino)
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

/*
 * Setting or removing an ACL runs as the daemon (NULL). The guest kernel has already checked the
 * caller owns the file, with its full credentials, and tells us with FS_XATTR_ACL_KILL_SGID
 * whether setgid survives. The host would decide that again from the uid and gid alone (no
 * supplementary groups, no capabilities travel), clearing setgid for an owner whose membership
 * in the file's group is supplementary.
 */
static const struct fs_ctx *pt_acl_ctx(const char *name, const struct fs_ctx *ctx)
{
	return strncmp(name, PT_ACL_PREFIX, strlen(PT_ACL_PREFIX)) ? ctx : NULL;
}

static ssize_t pt_xattr_op(struct pt_fs *fs, const struct fs_ctx *ctx, uint64_t nodeid,
			   const struct pt_xreq *x)
{
	_cleanup_inode_ struct pt_inode_guard g = {fs, NULL};
	ssize_t n;
	int r;

	r = pt_xattr_check(fs, x->name);
	if (r < 0)
		return r;
	if (fs->cfg.readonly && (x->op == PT_XSET || x->op == PT_XREMOVE))
		return -EROFS;
	r = pt_inode_get(fs, nodeid, &g.ino);
	if (r < 0)
		return r;
	n = pt_xattr_do(fs, ctx, g.ino, x);
	if (n == 0 && x->kill_sgid)
		r = pt_acl_kill_sgid(fs, g.ino);
	/* The attribute changed (and maybe the mode), whether or not clearing setgid worked. */
	if (n >= 0 && (x->op == PT_XSET || x->op == PT_XREMOVE))
		pt_vt_changed(fs, g.ino, NULL);
	if (r < 0)
		return r;
	return n;
}

int pt_op_setxattr(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, const char *name,
		   const void *value, size_t size, int flags)
{
	struct pt_xreq x = {PT_XSET, name, (void *)value, size, flags & ~FS_XATTR_ACL_KILL_SGID,
			    false};

	if (flags & ~(XATTR_CREATE | XATTR_REPLACE | FS_XATTR_ACL_KILL_SGID))
		return -EINVAL;
	/* Only the access ACL carries mode bits (posix_acl_update_mode): the flag means nothing
	 * for any other name. */
	x.kill_sgid = (flags & FS_XATTR_ACL_KILL_SGID) && !strcmp(name, PT_ACL_PREFIX "access");
	return (int)pt_xattr_op(fs, pt_acl_ctx(name, ctx), nodeid, &x);
}

ssize_t pt_op_getxattr(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, const char *name,
		       void *buf, size_t size)
{
	struct pt_xreq x = {PT_XGET, name, size ? buf : NULL, size, 0, false};

	return pt_xattr_op(fs, ctx, nodeid, &x);
}

ssize_t pt_op_listxattr(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, void *buf, size_t size)
{
	struct pt_xreq x = {PT_XLIST, NULL, size ? buf : NULL, size, 0, false};

	return pt_xattr_op(fs, ctx, nodeid, &x);
}

int pt_op_removexattr(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, const char *name)
{
	struct pt_xreq x = {PT_XREMOVE, name, NULL, 0, 0, false};

	return (int)pt_xattr_op(fs, pt_acl_ctx(name, ctx), nodeid, &x);
}
