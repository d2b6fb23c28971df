// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * DAX mapping requests: FUSE_SETUPMAPPING and FUSE_REMOVEMAPPING. Offered only in sessions
 * that negotiated FUSE_MAP_ALIGNMENT (the backend has a cache window); otherwise ENOSYS, as
 * from a daemon without DAX. The guest's offsets are passed on unvalidated: the window service
 * behind the backend checks them against the window.
 */
#include <errno.h>

#include "fuse/fuse_internal.h"

/* The uapi's FUSE_REMOVEMAPPING_MAX_ENTRY is in terms of the kernel's PAGE_SIZE. */
#define REMOVEMAPPING_MAX (4096 / sizeof(struct fuse_removemapping_one))

static bool dax_session(const struct fuse_req *req)
{
	return (req->srv->flags & FUSE_MAP_ALIGNMENT) && FUSE_BE_OP(req, setupmapping) &&
	       FUSE_BE_OP(req, removemapping);
}

int fuse_op_setupmapping(struct fuse_req *req)
{
	struct fuse_setupmapping_in in;
	int r;

	if (!dax_session(req))
		return -ENOSYS;
	r = fuse_read_args(req, &in, sizeof(in));
	if (r < 0)
		return r;
	if (in.flags & ~(uint64_t)(FUSE_SETUPMAPPING_FLAG_READ | FUSE_SETUPMAPPING_FLAG_WRITE)) {
		fuse_log_guest(req, "unknown setupmapping flags %#llx",
			       (unsigned long long)in.flags);
		return -EINVAL;
	}
	/* in.fh is not used: the kernel sends -1 (it maps by inode, not by open file). */
	return FUSE_BE_OP(req, setupmapping)(FUSE_BE_FS(req), &req->ctx, req->nodeid, in.foffset,
					     in.len, in.moffset,
					     (in.flags & FUSE_SETUPMAPPING_FLAG_WRITE) != 0);
}

/* Each range is removed on its own; the first failure is reported, the rest still run. */
int fuse_op_removemapping(struct fuse_req *req)
{
	struct fuse_removemapping_in in;
	int r, first = 0;

	if (!dax_session(req))
		return -ENOSYS;
	r = fuse_read_args(req, &in, sizeof(in));
	if (r < 0)
		return r;
	if (in.count == 0 || in.count > REMOVEMAPPING_MAX ||
	    fuse_reader_remaining(&req->r) <
		    (size_t)in.count * sizeof(struct fuse_removemapping_one))
		return -EINVAL;
	for (uint32_t i = 0; i < in.count; i++) {
		struct fuse_removemapping_one one;

		r = fuse_read_args(req, &one, sizeof(one));
		if (r == 0)
			r = FUSE_BE_OP(req, removemapping)(FUSE_BE_FS(req), &req->ctx, one.moffset,
							   one.len);
		if (r < 0 && first == 0)
			first = r;
	}
	return first;
}
