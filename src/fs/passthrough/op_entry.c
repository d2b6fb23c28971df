// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Name and node ops: lookup/forget, the node-creating ops (mknod, mkdir, symlink, link), the
 * name-removing ops (unlink, rmdir, rename) and the per-node queries (readlink, access, statfs,
 * syncfs). Every name is resolved relative to the parent's O_PATH fd, one component, without
 * following symlinks. The guest kernel has already checked permissions (virtiofs mounts with
 * default_permissions: search, write and sticky-directory rules with all of the caller's groups
 * and capabilities), so lookup, removal, rename and link run as the daemon; the node-creating
 * ops run with the caller's ids so that new nodes get its owner and group (top of cred.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fs/passthrough/pt.h"
#include "fs/passthrough/pt_ops.h"

int pt_op_lookup(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		 struct fs_entry *ret)
{
	_cleanup_inode_ struct pt_inode_guard p = {fs, NULL};
	int r;

	r = pt_inode_get(fs, parent, &p.ino);
	if (r < 0)
		return r;
	return pt_do_lookup(fs, p.ino, name, ret);
}

void pt_op_forget(struct fs_state *fs, uint64_t nodeid, uint64_t nlookup)
{
	pt_inode_forget(fs, nodeid, nlookup);
}

int pt_op_readlink(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, char *buf,
		   size_t size)
{
	_cleanup_inode_ struct pt_inode_guard g = {fs, NULL};
	char target[PATH_MAX + 1];
	ssize_t n;
	int r;

	r = pt_inode_get(fs, nodeid, &g.ino);
	if (r < 0)
		return r;
	if (!S_ISLNK(g.ino->type))
		return -EINVAL;
	/* Read into a buffer one larger than any target so truncation is detectable. */
	n = readlinkat(g.ino->fd, "", target, sizeof(target));
	if (n < 0)
		return -errno;
	if ((size_t)n >= sizeof(target))
		return -ENAMETOOLONG;
	if ((size_t)n > size)
		return -ERANGE;
	memcpy(buf, target, (size_t)n);
	return (int)n;
}

enum pt_make_kind {
	PT_MAKE_NOD,
	PT_MAKE_DIR,
	PT_MAKE_SYMLINK
};

struct pt_make_args {
	enum pt_make_kind kind;
	const char *name;
	mode_t mode;
	mode_t umask;
	dev_t rdev;
	const char *target;
};

static int pt_make_syscall(const struct pt_inode *parent, const struct pt_make_args *a, mode_t mode)
{
	int r;

	switch (a->kind) {
	case PT_MAKE_NOD:
		r = mknodat(parent->fd, a->name, mode, a->rdev);
		break;
	case PT_MAKE_DIR:
		r = mkdirat(parent->fd, a->name, mode);
		break;
	case PT_MAKE_SYMLINK:
	default:
		r = symlinkat(a->target, parent->fd, a->name);
		break;
	}
	return r < 0 ? -errno : 0;
}

/* Creates a node as the guest, then looks it up (as the daemon) to produce the entry. */
static int pt_make(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent,
		   const struct pt_make_args *a, struct fs_entry *ret)
{
	_cleanup_inode_ struct pt_inode_guard p = {fs, NULL};
	struct fs_version pver = {0};
	mode_t mode;
	int r;

	if (fs->cfg.readonly)
		return -EROFS;
	r = pt_check_name(a->name);
	if (r < 0)
		return r;
	mode = a->mode;
	r = pt_create_begin(fs, parent, &p.ino, &mode, a->umask);
	if (r < 0)
		return r;
	{
		_cleanup_cred_ struct pt_cred cred = {false};

		r = pt_cred_enter_creator(&cred, ctx);
		if (r < 0)
			return r;
		r = pt_make_syscall(p.ino, a, mode);
	}
	if (r < 0)
		return r;
	r = pt_secctx_apply(fs, ctx, p.ino->fd, a->name, -1);
	pt_vt_changed(fs, p.ino, &pver);
	if (r < 0) {
		/* The guest must not see a node without the label it asked for. */
		unlinkat(p.ino->fd, a->name, a->kind == PT_MAKE_DIR ? AT_REMOVEDIR : 0);
		return r;
	}
	r = pt_do_lookup_changed(fs, p.ino, a->name, ret);
	if (r == 0)
		ret->parent_ver = pver;
	return r;
}

int pt_op_mknod(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		mode_t mode, dev_t rdev, mode_t umask, struct fs_entry *ret)
{
	struct pt_make_args a = {PT_MAKE_NOD, name, mode, umask, rdev, NULL};

	switch (mode & S_IFMT) {
	case S_IFREG:
	case S_IFIFO:
	case S_IFSOCK:
	case S_IFCHR:
	case S_IFBLK:
		/* Device nodes need CAP_MKNOD, which the kernel checks for the caller; they can
		 * exist in the share but are never opened on the host (pt_reopen). */
		break;
	default:
		return -EINVAL;
	}
	return pt_make(fs, ctx, parent, &a, ret);
}

int pt_op_mkdir(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		mode_t mode, mode_t umask, struct fs_entry *ret)
{
	struct pt_make_args a = {PT_MAKE_DIR, name, mode & 07777, umask, 0, NULL};

	return pt_make(fs, ctx, parent, &a, ret);
}

int pt_op_symlink(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		  const char *target, struct fs_entry *ret)
{
	struct pt_make_args a = {PT_MAKE_SYMLINK, name, 0, 0, 0, target};

	/* The target is stored, never resolved on the host, so any string is harmless. */
	if (!target || !target[0])
		return -ENOENT;
	if (strnlen(target, PATH_MAX) >= PATH_MAX)
		return -ENAMETOOLONG;
	return pt_make(fs, ctx, parent, &a, ret);
}

static int pt_remove(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent,
		     const char *name, int flags, struct fs_version *ret_dirs)
{
	_cleanup_inode_ struct pt_inode_guard p = {fs, NULL};
	uint32_t victim;
	bool has_victim, linked = false;
	int r;

	if (fs->cfg.readonly)
		return -EROFS;
	r = pt_check_name(name);
	if (r < 0)
		return r;
	r = pt_inode_get(fs, parent, &p.ino);
	if (r < 0)
		return r;
	has_victim = pt_vt_child(fs, p.ino, name, &victim, &linked) == 0;
	linked = linked && ret_dirs && !(flags & AT_REMOVEDIR);
	/* The node itself stays in the table (and valid) until the guest forgets it. */
	if (unlinkat(p.ino->fd, name, flags) < 0)
		return -errno;
	pt_vt_changed(fs, p.ino, ret_dirs);
	/* Still linked elsewhere (git's link-then-unlink): its bump goes to the guest, whose
	 * other names of it stay current if nobody else changed it (ops.h). */
	if (has_victim)
		pt_vt_bump_slot(fs, victim, linked ? &ret_dirs[FS_REMOVE_NODE] : NULL);
	return 0;
}

int pt_op_unlink(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		 struct fs_version *ret_dirs)
{
	return pt_remove(fs, ctx, parent, name, 0, ret_dirs);
}

int pt_op_rmdir(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		struct fs_version *ret_dirs)
{
	return pt_remove(fs, ctx, parent, name, AT_REMOVEDIR, ret_dirs);
}

int pt_op_rename(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		 uint64_t newparent, const char *newname, unsigned flags,
		 struct fs_version *ret_dirs)
{
	_cleanup_inode_ struct pt_inode_guard p = {fs, NULL};
	_cleanup_inode_ struct pt_inode_guard np = {fs, NULL};
	uint32_t src, dst;
	bool has_src, has_dst, linked = false;
	int r;

	if (fs->cfg.readonly)
		return -EROFS;
	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT))
		return -EINVAL;
	if (pt_check_name(name) < 0 || pt_check_name(newname) < 0)
		return -EINVAL;
	r = pt_inode_get(fs, parent, &p.ino);
	if (r < 0)
		return r;
	r = pt_inode_get(fs, newparent, &np.ino);
	if (r < 0)
		return r;
	/* Both names' inodes, before the rename moves or replaces them. */
	has_src = pt_vt_child(fs, p.ino, name, &src, NULL) == 0;
	has_dst = pt_vt_child(fs, np.ino, newname, &dst, &linked) == 0;
	linked = linked && ret_dirs && !(flags & RENAME_EXCHANGE);
	if (renameat2(p.ino->fd, name, np.ino->fd, newname, flags) < 0)
		return -errno;
	pt_vt_changed(fs, p.ino, ret_dirs);
	if (np.ino != p.ino)
		pt_vt_changed(fs, np.ino, ret_dirs ? &ret_dirs[1] : NULL);
	if (has_src)
		pt_vt_bump_slot(fs, src, NULL);
	/* A replaced node still linked elsewhere, as in pt_remove(). */
	if (has_dst)
		pt_vt_bump_slot(fs, dst, linked ? &ret_dirs[FS_REMOVE_NODE] : NULL);
	return 0;
}

int pt_op_link(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t newparent,
	       const char *newname, struct fs_entry *ret)
{
	_cleanup_inode_ struct pt_inode_guard g = {fs, NULL};
	_cleanup_inode_ struct pt_inode_guard np = {fs, NULL};
	struct fs_version pver = {0};
	char procname[24];
	int r;

	if (fs->cfg.readonly)
		return -EROFS;
	r = pt_check_name(newname);
	if (r < 0)
		return r;
	r = pt_inode_get(fs, nodeid, &g.ino);
	if (r < 0)
		return r;
	r = pt_inode_get(fs, newparent, &np.ino);
	if (r < 0)
		return r;
	snprintf(procname, sizeof(procname), "%d", g.ino->fd);
	/* Following the /proc magic link lands on the pinned inode itself (a symlink is linked,
	 * not its target); AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH. */
	if (linkat(fs->proc_fd, procname, np.ino->fd, newname, AT_SYMLINK_FOLLOW) < 0)
		return -errno;
	pt_vt_changed(fs, np.ino, &pver);
	/* Bumps the linked inode too (its link count changed). */
	r = pt_do_lookup_changed(fs, np.ino, newname, ret);
	if (r == 0)
		ret->parent_ver = pver;
	return r;
}

int pt_op_access(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, int mask)
{
	_cleanup_inode_ struct pt_inode_guard g = {fs, NULL};
	_cleanup_cred_ struct pt_cred cred = {false};
	int r;

	if (mask & ~(R_OK | W_OK | X_OK))
		return -EINVAL;
	r = pt_inode_get(fs, nodeid, &g.ino);
	if (r < 0)
		return r;
	if ((mask & W_OK) && fs->cfg.readonly)
		return -EROFS;
	/* Only a client without default_permissions sends ACCESS (a virtio-fs guest never does):
	 * it gets the host's answer for the ids the request carries. */
	r = pt_cred_enter(&cred, ctx);
	if (r < 0)
		return r;
	/* AT_EACCESS: check the effective ids we just switched to, not the real (root) ones. */
	r = faccessat(g.ino->fd, "", mask, AT_EMPTY_PATH | AT_EACCESS | AT_SYMLINK_NOFOLLOW);
	return r < 0 ? -errno : 0;
}

int pt_op_statfs(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		 struct statvfs *ret)
{
	_cleanup_inode_ struct pt_inode_guard g = {fs, NULL};
	int r;

	r = pt_inode_get(fs, nodeid, &g.ino);
	if (r < 0)
		return r;
	return fstatvfs(g.ino->fd, ret) < 0 ? -errno : 0;
}

int pt_op_syncfs(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid)
{
	_cleanup_inode_ struct pt_inode_guard g = {fs, NULL};
	_cleanup_close_ int fd = -1;
	int r;

	r = pt_inode_get(fs, nodeid, &g.ino);
	if (r < 0)
		return r;
	/* syncfs() wants a real fd; any file of the node's filesystem will do, and special
	 * files are never opened, so those sync through the share's root. */
	fd = pt_reopen(fs, S_ISDIR(g.ino->type) || S_ISREG(g.ino->type) ? g.ino : fs->root,
		       O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return fd;
	return syncfs(fd) < 0 ? -errno : 0;
}
