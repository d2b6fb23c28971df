// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The xattr syscalls on an inode, for the xattr ops (op_xattr.c) and the default-ACL probe of
 * creating ops (create.c). On kernels with the *xattrat() syscalls (6.13+) they resolve the
 * inode's /proc/self/fd/N magic link relative to our /proc/self/fd dirfd, which lands on exactly
 * the pinned inode (a symlink itself, never its target) for every file type, without opening
 * anything (AT_EMPTY_PATH would be simpler but refuses O_PATH fds). Older kernels: regular files
 * and directories are reopened read-only and served with f*xattr(); symlinks and special files
 * get -EOPNOTSUPP there (the only xattrs Linux allows on them are trusted.* and security.*;
 * serving them would need a per-thread cwd in /proc/self/fd). Also the security labels of new
 * nodes (--security-label), under their mapped names.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
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

static bool pt_xattrat_supported(struct fs_state *fs)
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

ssize_t pt_xattr_do(struct fs_state *fs, const struct fs_ctx *ctx, const struct pt_inode *ino,
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

ssize_t pt_xattr_get_raw(struct fs_state *fs, const struct pt_inode *ino, const char *name,
			 void *buf, size_t size)
{
	struct pt_xreq x = {PT_XGET, name, buf, size, 0, false};

	return pt_xattr_do(fs, NULL, ino, &x);
}

/*
 * The host name for a guest's name: the name itself without --xattrmap, else its mapping into
 * buf (-EPERM/-ENOTSUP/-ERANGE: refused, xattrmap.h).
 */
int pt_xattr_host_name(const struct fs_state *fs, const char *guest_name,
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

int pt_secctx_apply(struct fs_state *fs, const struct fs_ctx *ctx, int dirfd, const char *name,
		    int fd)
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
