// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Name-space ops: lookup and forget, creating and removing names, renames, links, symlinks.
 * Every op that answers with a fuse_entry_out gives the guest one lookup reference.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "fuse/fuse_internal.h"

int fuse_op_lookup(struct fuse_req *req)
{
	char name[NAME_MAX + 1];
	struct fs_entry e = {0};
	struct fs_version dir;
	int r;

	r = fuse_read_name(req, name);
	if (r < 0)
		return r;
	/* Before the name is resolved: a negative entry is valid while the directory's version
	 * holds (only asked for in a version-table session). */
	fuse_vt_version(req, req->nodeid, &dir);
	r = FUSE_BE_OP(req, lookup)(FUSE_BE_FS(req), &req->ctx, req->nodeid, name, &e);
	if (r == -ENOENT && (dir.flags & FS_VER_VALID)) {
		/* nodeid 0 is a negative entry: the guest caches the ENOENT for entry_timeout. */
		e = (struct fs_entry){.nodeid = 0, .parent_ver = dir};
		r = 0;
	}
	return fuse_reply_entry(req, r, &e, NULL);
}

int fuse_op_forget(struct fuse_req *req)
{
	struct fuse_forget_in in;

	if (fuse_read_args(req, &in, sizeof(in)) == 0)
		FUSE_BE_OP(req, forget)(FUSE_BE_FS(req), req->nodeid, in.nlookup);
	return FUSE_OP_NO_REPLY;
}

int fuse_op_batch_forget(struct fuse_req *req)
{
	struct fuse_batch_forget_in in;
	size_t avail;

	if (fuse_read_args(req, &in, sizeof(in)) < 0)
		return FUSE_OP_NO_REPLY;
	avail = fuse_reader_remaining(&req->r) / sizeof(struct fuse_forget_one);
	/* A count the request does not carry is a broken guest: drop the whole batch rather than
	 * guess which part it meant. */
	if (in.count > avail) {
		fuse_log_guest(req, "BATCH_FORGET count %u, %zu entries present", in.count, avail);
		return FUSE_OP_NO_REPLY;
	}
	for (uint32_t i = 0; i < in.count; i++) {
		struct fuse_forget_one one;

		if (fuse_reader_read(&req->r, &one, sizeof(one)) < 0)
			break;
		FUSE_BE_OP(req, forget)(FUSE_BE_FS(req), one.nodeid, one.nlookup);
	}
	return FUSE_OP_NO_REPLY;
}

int fuse_op_mknod(struct fuse_req *req)
{
	struct fuse_mknod_in in;
	char name[NAME_MAX + 1];
	struct fs_entry e = {0};
	dev_t rdev;
	int r;

	r = fuse_read_args(req, &in, sizeof(in));
	if (r < 0)
		return r;
	r = fuse_read_name(req, name);
	if (r < 0)
		return r;
	r = fuse_secctx_trailing(req);
	if (r < 0)
		return r;
	/* The wire uses Linux's 32-bit "new" dev_t encoding. */
	rdev = makedev((in.rdev >> 8) & 0xfff, (in.rdev & 0xff) | ((in.rdev >> 12) & 0xfff00));
	r = FUSE_BE_OP(req, mknod)(FUSE_BE_FS(req), &req->ctx, req->nodeid, name, in.mode, rdev,
				   in.umask, &e);
	return fuse_reply_entry(req, r, &e, NULL);
}

int fuse_op_mkdir(struct fuse_req *req)
{
	struct fuse_mkdir_in in;
	char name[NAME_MAX + 1];
	struct fs_entry e = {0};
	int r;

	r = fuse_read_args(req, &in, sizeof(in));
	if (r < 0)
		return r;
	r = fuse_read_name(req, name);
	if (r < 0)
		return r;
	r = fuse_secctx_trailing(req);
	if (r < 0)
		return r;
	r = FUSE_BE_OP(req, mkdir)(FUSE_BE_FS(req), &req->ctx, req->nodeid, name, in.mode, in.umask,
				   &e);
	return fuse_reply_entry(req, r, &e, NULL);
}

int fuse_op_symlink(struct fuse_req *req)
{
	char name[NAME_MAX + 1];
	_cleanup_free_ char *target = NULL;
	struct fs_entry e = {0};
	int r;

	r = fuse_read_name(req, name);
	if (r < 0)
		return r;
	target = malloc(PATH_MAX);
	if (!target)
		return -ENOMEM;
	r = fuse_reader_string(&req->r, target, PATH_MAX);
	if (r <= 0) {
		fuse_log_guest(req, "bad symlink target (%d)", r);
		return r == 0 ? -EINVAL : r;
	}
	r = fuse_secctx_trailing(req);
	if (r < 0)
		return r;
	r = FUSE_BE_OP(req, symlink)(FUSE_BE_FS(req), &req->ctx, req->nodeid, name, target, &e);
	return fuse_reply_entry(req, r, &e, NULL);
}

int fuse_op_link(struct fuse_req *req)
{
	struct fuse_link_in in;
	char name[NAME_MAX + 1];
	struct fs_entry e = {0};
	int r;

	r = fuse_read_args(req, &in, sizeof(in));
	if (r < 0)
		return r;
	r = fuse_read_name(req, name);
	if (r < 0)
		return r;
	/* The header's nodeid is the new parent; the existing node comes in the arguments. */
	r = FUSE_BE_OP(req, link)(FUSE_BE_FS(req), &req->ctx, in.oldnodeid, req->nodeid, name, &e);
	return fuse_reply_entry(req, r, &e, NULL);
}

static int remove_name(struct fuse_req *req, bool dir)
{
	char name[NAME_MAX + 1];
	struct fs_version dirs[FS_REMOVE_VERS] = {0};
	int r;

	r = fuse_read_name(req, name);
	if (r < 0)
		return r;
	if (dir)
		r = FUSE_BE_OP(req, rmdir)(FUSE_BE_FS(req), &req->ctx, req->nodeid, name, dirs);
	else
		r = FUSE_BE_OP(req, unlink)(FUSE_BE_FS(req), &req->ctx, req->nodeid, name, dirs);
	return fuse_reply_dirs(req, r, dirs);
}

int fuse_op_unlink(struct fuse_req *req)
{
	return remove_name(req, false);
}

int fuse_op_rmdir(struct fuse_req *req)
{
	return remove_name(req, true);
}

static int do_rename(struct fuse_req *req, uint64_t guest_newdir, uint32_t guest_flags)
{
	char name[NAME_MAX + 1], newname[NAME_MAX + 1];
	struct fs_version dirs[FS_REMOVE_VERS] = {0};
	int r;

	if (guest_flags & ~(uint32_t)(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT)) {
		fuse_log_guest(req, "rename flags %#x", guest_flags);
		return -EINVAL;
	}
	r = fuse_read_name(req, name);
	if (r < 0)
		return r;
	r = fuse_read_name(req, newname);
	if (r < 0)
		return r;
	r = FUSE_BE_OP(req, rename)(FUSE_BE_FS(req), &req->ctx, req->nodeid, name, guest_newdir,
				    newname, guest_flags, dirs);
	return fuse_reply_dirs(req, r, dirs);
}

int fuse_op_rename(struct fuse_req *req)
{
	struct fuse_rename_in in;
	int r = fuse_read_args(req, &in, sizeof(in));

	return r < 0 ? r : do_rename(req, in.newdir, 0);
}

int fuse_op_rename2(struct fuse_req *req)
{
	struct fuse_rename2_in in;
	int r = fuse_read_args(req, &in, sizeof(in));

	return r < 0 ? r : do_rename(req, in.newdir, in.flags);
}

int fuse_op_readlink(struct fuse_req *req)
{
	_cleanup_free_ char *buf = NULL;
	int r;

	buf = malloc(PATH_MAX);
	if (!buf)
		return -ENOMEM;
	r = FUSE_BE_OP(req, readlink)(FUSE_BE_FS(req), &req->ctx, req->nodeid, buf, PATH_MAX);
	if (r < 0)
		return r == -ERANGE ? -ENAMETOOLONG : r;
	if (r > PATH_MAX)
		return -EIO; /* backend bug; never copy past our buffer */
	return fuse_reply(req, buf, (size_t)r);
}
