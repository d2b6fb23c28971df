// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Extended attributes. Served only with cfg.xattr (the core answers ENOSYS otherwise, which
 * the guest remembers). Values are bounded by XATTR_SIZE_MAX as in Linux; names are xattr names
 * (any bytes but NUL, at most XATTR_NAME_MAX), not path components.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/xattr.h>

#include "fuse/fuse_internal.h"

static int read_xattr_name(struct fuse_req *req, char buf[static FUSE_XATTR_NAME_MAX + 1])
{
	int len = fuse_reader_string(&req->r, buf, FUSE_XATTR_NAME_MAX + 1);

	if (len == 0)
		len = -EINVAL;
	if (len < 0) {
		fuse_log_guest(req, "bad xattr name (%d)", len);
		return len == -ENAMETOOLONG ? -ERANGE : len;
	}
	return 0;
}

int fuse_op_setxattr(struct fuse_req *req)
{
	struct fuse_setxattr_in in = {0};
	char name[FUSE_XATTR_NAME_MAX + 1];
	_cleanup_free_ void *value = NULL;
	int flags;
	/* The 16-byte layout only once SETXATTR_EXT was agreed; before, the guest sends 8. */
	size_t insz =
		fuse_has_flag(req, FUSE_SETXATTR_EXT) ? sizeof(in) : FUSE_COMPAT_SETXATTR_IN_SIZE;
	int r;

	r = fuse_read_args(req, &in, insz);
	if (r < 0)
		return r;
	if (in.flags & ~(uint32_t)(XATTR_CREATE | XATTR_REPLACE)) {
		fuse_log_guest(req, "setxattr flags %#x", in.flags);
		return -EINVAL;
	}
	r = read_xattr_name(req, name);
	if (r < 0)
		return r;
	if (in.size > FUSE_XATTR_SIZE_MAX)
		return -E2BIG;
	if (in.size > fuse_reader_remaining(&req->r)) {
		fuse_log_guest(req, "xattr value %u bytes, %zu present", in.size,
			       fuse_reader_remaining(&req->r));
		return -EINVAL;
	}
	value = malloc(in.size ? in.size : 1);
	if (!value)
		return -ENOMEM;
	fuse_reader_read(&req->r, value, in.size);
	flags = (int)in.flags;
	/* Other setxattr_flags bits are not defined: ignored, as Linux sends none. */
	if (in.setxattr_flags & FUSE_SETXATTR_ACL_KILL_SGID)
		flags |= FS_XATTR_ACL_KILL_SGID;
	return FUSE_BE_OP(req, setxattr)(FUSE_BE_FS(req), &req->ctx, req->nodeid, name, value,
					 in.size, flags);
}

/* The size protocol GETXATTR and LISTXATTR share; name is NULL for LISTXATTR. */
static int xattr_get(struct fuse_req *req, const char *name, uint32_t guest_size)
{
	_cleanup_free_ void *buf = NULL;
	size_t size = MIN(guest_size, FUSE_XATTR_SIZE_MAX);
	struct fs_state *fs = FUSE_BE_FS(req);
	ssize_t r;

	if (size > 0) {
		if (size > fuse_writer_room(&req->w)) {
			fuse_log_guest(req, "xattr buffer %zu, room %zu", size,
				       fuse_writer_room(&req->w));
			return -EIO;
		}
		buf = malloc(size);
		if (!buf)
			return -ENOMEM;
	}
	if (name)
		r = FUSE_BE_OP(req, getxattr)(fs, &req->ctx, req->nodeid, name, buf, size);
	else
		r = FUSE_BE_OP(req, listxattr)(fs, &req->ctx, req->nodeid, buf, size);
	if (r < 0)
		return (int)r;
	if (size == 0) {
		struct fuse_getxattr_out o = {.size = (uint32_t)MIN((size_t)r, UINT32_MAX)};

		return fuse_reply(req, &o, sizeof(o));
	}
	if ((size_t)r > size)
		return -ERANGE;
	return fuse_reply(req, buf, (size_t)r);
}

int fuse_op_getxattr(struct fuse_req *req)
{
	struct fuse_getxattr_in in;
	char name[FUSE_XATTR_NAME_MAX + 1];
	int r;

	r = fuse_read_args(req, &in, sizeof(in));
	if (r < 0)
		return r;
	r = read_xattr_name(req, name);
	if (r < 0)
		return r;
	return xattr_get(req, name, in.size);
}

int fuse_op_listxattr(struct fuse_req *req)
{
	struct fuse_getxattr_in in;
	int r;

	r = fuse_read_args(req, &in, sizeof(in));
	if (r < 0)
		return r;
	return xattr_get(req, NULL, in.size);
}

int fuse_op_removexattr(struct fuse_req *req)
{
	char name[FUSE_XATTR_NAME_MAX + 1];
	int r;

	r = read_xattr_name(req, name);
	if (r < 0)
		return r;
	return FUSE_BE_OP(req, removexattr)(FUSE_BE_FS(req), &req->ctx, req->nodeid, name);
}
