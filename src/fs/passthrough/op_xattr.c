// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Extended attributes. On kernels with the *xattrat() syscalls (6.13+) they resolve the
 * inode's /proc/self/fd/N magic link relative to our /proc/self/fd dirfd, which lands on exactly
 * the pinned inode (a symlink itself, never its target) for every file type, without opening
 * anything (AT_EMPTY_PATH would be simpler but refuses O_PATH fds). Older
 * kernels: regular files and directories are reopened read-only and served with f*xattr();
 * symlinks and special files get -EOPNOTSUPP there (the only xattrs Linux allows on them are
 * trusted.* and security.*; serving them would need a per-thread cwd in /proc/self/fd).
 * Requests run as the daemon: the guest kernel has checked the caller (xattr_permission: user.*
 * follows file permissions, trusted.* needs a root guest) with all of its groups (cred.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fs/passthrough/pt.h"
#include "util/syscalls.h"

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
/* XATTR_LIST_MAX: the most a listxattr can return on Linux. */
#define PT_XATTR_LIST_MAX 65536u

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

static ssize_t pt_xattr_op(struct pt_fs *fs, const struct fs_ctx *ctx, uint64_t nodeid,
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

/*
 * The host name for a guest's name: the name itself without --xattrmap, else its mapping into
 * buf (-EPERM/-ENOTSUP/-ERANGE: refused, xattrmap.h).
 */
static int pt_xattr_host_name(const struct pt_fs *fs, const char *guest_name,
			      char buf[static XATTRMAP_NAME_MAX + 1], const char **ret)
{
	int r;

	if (!fs->cfg.xattrmap) {
		*ret = guest_name;
		return 0;
	}
	r = xattrmap_to_host(fs->cfg.xattrmap, guest_name, buf, XATTRMAP_NAME_MAX + 1);
	if (r < 0)
		return r;
	*ret = buf;
	return 0;
}

/* A named request: the guest's name checked, then mapped to the host's (x->name is replaced). */
static ssize_t pt_xattr_named(struct pt_fs *fs, const struct fs_ctx *ctx, uint64_t nodeid,
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

int pt_op_setxattr(void *fsp, const struct fs_ctx *ctx, uint64_t nodeid, const char *name,
		   const void *value, size_t size, int flags)
{
	struct pt_xreq x = {PT_XSET, name, (void *)value, size, flags & ~FS_XATTR_ACL_KILL_SGID,
			    false};

	if (flags & ~(XATTR_CREATE | XATTR_REPLACE | FS_XATTR_ACL_KILL_SGID))
		return -EINVAL;
	/* Only the access ACL carries mode bits (posix_acl_update_mode): the flag means nothing
	 * for any other name. */
	x.kill_sgid = (flags & FS_XATTR_ACL_KILL_SGID) && !strcmp(name, PT_ACL_PREFIX "access");
	return (int)pt_xattr_named(fsp, ctx, nodeid, &x);
}

ssize_t pt_op_getxattr(void *fsp, const struct fs_ctx *ctx, uint64_t nodeid, const char *name,
		       void *buf, size_t size)
{
	struct pt_xreq x = {PT_XGET, name, size ? buf : NULL, size, 0, false};

	return pt_xattr_named(fsp, ctx, nodeid, &x);
}

/*
 * listxattr through the map: the host's list is read whole (it may be longer than the guest's
 * buffer, names only shrink or vanish), translated, then sized or copied for the guest.
 */
static ssize_t pt_listxattr_mapped(struct pt_fs *fs, const struct fs_ctx *ctx, uint64_t nodeid,
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

ssize_t pt_op_listxattr(void *fsp, const struct fs_ctx *ctx, uint64_t nodeid, void *buf,
			size_t size)
{
	struct pt_fs *fs = fsp;
	struct pt_xreq x = {PT_XLIST, NULL, size ? buf : NULL, size, 0, false};

	if (fs->cfg.xattrmap && fs->cfg.xattr)
		return pt_listxattr_mapped(fs, ctx, nodeid, buf, size);
	return pt_xattr_op(fs, ctx, nodeid, &x);
}

int pt_op_removexattr(void *fsp, const struct fs_ctx *ctx, uint64_t nodeid, const char *name)
{
	struct pt_xreq x = {PT_XREMOVE, name, NULL, 0, 0, false};

	return (int)pt_xattr_named(fsp, ctx, nodeid, &x);
}

int pt_secctx_apply(struct pt_fs *fs, const struct fs_ctx *ctx, int dirfd, const char *name, int fd)
{
	char host[XATTRMAP_NAME_MAX + 1], path[24];
	struct pt_xreq x = {PT_XSET, NULL, (void *)ctx->secctx_value, ctx->secctx_size, 0, false};
	_cleanup_close_ int node = -1;
	long n;
	int r;

	if (!ctx->secctx_name || !fs->cfg.security_label)
		return 0;
	r = pt_xattr_host_name(fs, ctx->secctx_name, host, &x.name);
	if (r < 0)
		return r;
	/* As the daemon, like every xattr op: the guest kernel's LSM chose the label. */
	if (fd >= 0)
		return pt_xattr_fd(fd, &x) < 0 ? -errno : 0;
	node = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (node < 0)
		return -errno;
	if (pt_xattrat_supported(fs)) {
		snprintf(path, sizeof(path), "%d", node);
		n = pt_xattr_at(fs->proc_fd, path, &x);
	} else {
		/* Without *xattrat(), only a directory can be reopened safely here. */
		_cleanup_close_ int dfd =
			openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (dfd < 0)
			return errno == ENOTDIR ? -EOPNOTSUPP : -errno;
		n = pt_xattr_fd(dfd, &x);
	}
	return n < 0 ? -errno : 0;
}
