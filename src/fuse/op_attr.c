// SPDX-License-Identifier: GPL-2.0-or-later
/* Attribute ops: getattr, setattr, statfs, access. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "fuse/fuse_internal.h"

static int reply_attr(struct fuse_req *req, const struct stat *st, uint32_t attr_flags,
		      double timeout, const struct fs_version *ver)
{
	struct fuse_attr_out o = {0};
	int r;

	if (ver->flags & FS_VER_VALID)
		timeout = FUSE_VT_TIMEOUT;
	fuse_split_timeout(timeout, &o.attr_valid, &o.attr_valid_nsec);
	/* Submount marks are for entries (lookup, readdirplus); a getattr never changes them. */
	fuse_fill_attr(&o.attr, st, attr_flags & ~FS_ATTR_SUBMOUNT);
	r = fuse_reply(req, &o, sizeof(o));
	return r < 0 ? r : fuse_reply_attr_ver(req, ver);
}

/* What GETATTR and STATX pass to the backend besides the node (the handle only with
 * FUSE_GETATTR_FH: fh is undefined without it) and what it answers besides the stat. */
struct attr_call {
	bool has_fh;
	uint64_t fh;
	uint32_t attr_flags;
	double timeout;
};

static struct attr_call attr_call(uint32_t getattr_flags, uint64_t fh)
{
	bool has_fh = (getattr_flags & FUSE_GETATTR_FH) != 0;

	return (struct attr_call){.has_fh = has_fh, .fh = has_fh ? fh : 0};
}

int fuse_op_getattr(struct fuse_req *req)
{
	struct fuse_getattr_in in;
	struct fs_version ver;
	struct stat st;
	struct attr_call c;
	int r;

	r = fuse_read_args(req, &in, sizeof(in));
	if (r < 0)
		return r;
	c = attr_call(in.getattr_flags, in.fh);
	fuse_vt_version(req, req->nodeid, &ver); /* before the stat */
	r = FUSE_BE_OP(req, getattr)(FUSE_BE_FS(req), &req->ctx, req->nodeid, c.has_fh, c.fh, &st,
				     &c.attr_flags, &c.timeout);
	if (r < 0)
		return r;
	return reply_attr(req, &st, c.attr_flags, c.timeout, &ver);
}

/* What fuse_statx carries: the basic stats and the birth time (later statx fields have no
 * room in it yet). */
#define FUSE_STATX_FIELDS (STATX_BASIC_STATS | STATX_BTIME)
/* File attributes that describe the file itself; the host's mount root, automount point and
 * DAX state say nothing true about the guest's view. */
#define FUSE_STATX_ATTRS                                                                        \
	(STATX_ATTR_COMPRESSED | STATX_ATTR_IMMUTABLE | STATX_ATTR_APPEND | STATX_ATTR_NODUMP | \
	 STATX_ATTR_ENCRYPTED | STATX_ATTR_VERITY)

static void fill_sx_time(struct fuse_sx_time *t, const struct statx_timestamp *ts)
{
	t->tv_sec = ts->tv_sec;
	t->tv_nsec = ts->tv_nsec;
}

int fuse_op_statx(struct fuse_req *req)
{
	struct fuse_statx_in in;
	struct fuse_statx_out o = {0};
	struct fuse_statx *sx = &o.stat;
	struct fs_version ver;
	struct statx stx;
	struct attr_call c;
	int r;

	r = fuse_read_args(req, &in, sizeof(in));
	if (r < 0)
		return r;
	c = attr_call(in.getattr_flags, in.fh);
	fuse_vt_version(req, req->nodeid, &ver); /* before the statx */
	r = FUSE_BE_OP(req, statx)(FUSE_BE_FS(req), &req->ctx, req->nodeid, c.has_fh, c.fh,
				   in.sx_mask & FUSE_STATX_FIELDS, in.sx_flags & AT_STATX_SYNC_TYPE,
				   &stx, &c.attr_flags, &c.timeout);
	if (r < 0)
		return r;
	if (ver.flags & FS_VER_VALID)
		c.timeout = FUSE_VT_TIMEOUT;
	fuse_split_timeout(c.timeout, &o.attr_valid, &o.attr_valid_nsec);
	sx->mask = stx.stx_mask & FUSE_STATX_FIELDS;
	sx->blksize = stx.stx_blksize;
	sx->attributes = stx.stx_attributes & FUSE_STATX_ATTRS;
	sx->attributes_mask = stx.stx_attributes_mask & FUSE_STATX_ATTRS;
	sx->nlink = stx.stx_nlink;
	sx->uid = stx.stx_uid;
	sx->gid = stx.stx_gid;
	sx->mode = stx.stx_mode;
	sx->ino = stx.stx_ino;
	sx->size = stx.stx_size;
	sx->blocks = stx.stx_blocks;
	fill_sx_time(&sx->atime, &stx.stx_atime);
	fill_sx_time(&sx->mtime, &stx.stx_mtime);
	fill_sx_time(&sx->ctime, &stx.stx_ctime);
	if (sx->mask & STATX_BTIME)
		fill_sx_time(&sx->btime, &stx.stx_btime);
	sx->rdev_major = stx.stx_rdev_major;
	sx->rdev_minor = stx.stx_rdev_minor;
	sx->dev_major = stx.stx_dev_major;
	sx->dev_minor = stx.stx_dev_minor;
	r = fuse_reply(req, &o, sizeof(o));
	return r < 0 ? r : fuse_reply_attr_ver(req, &ver);
}

static int guest_time(uint64_t guest_sec, uint32_t guest_nsec, struct timespec *ret)
{
	if (guest_sec > (uint64_t)INT64_MAX || guest_nsec >= 1000000000u)
		return -EINVAL;
	ret->tv_sec = (time_t)guest_sec;
	ret->tv_nsec = (long)guest_nsec;
	return 0;
}

/* Maps the FATTR_* mask to fs_setattr; FATTR_LOCKOWNER only matters to mandatory locking. */
static int decode_setattr(const struct fuse_setattr_in *in, struct fs_setattr *a)
{
	static const struct {
		uint32_t fattr, fs;
	} map[] = {
		{FATTR_MODE, FS_SET_MODE},
		{FATTR_UID, FS_SET_UID},
		{FATTR_GID, FS_SET_GID},
		{FATTR_SIZE, FS_SET_SIZE},
		{FATTR_ATIME, FS_SET_ATIME},
		{FATTR_MTIME, FS_SET_MTIME},
		{FATTR_ATIME_NOW, FS_SET_ATIME_NOW},
		{FATTR_MTIME_NOW, FS_SET_MTIME_NOW},
		{FATTR_CTIME, FS_SET_CTIME},
		{FATTR_KILL_SUIDGID, FS_SET_KILL_SUIDGID},
	};
	int r;

	memset(a, 0, sizeof(*a));
	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (in->valid & map[i].fattr)
			a->valid |= map[i].fs;
	a->mode = in->mode;
	a->uid = in->uid;
	a->gid = in->gid;
	if (a->valid & FS_SET_SIZE) {
		r = fuse_guest_off(in->size, &a->size);
		if (r < 0)
			return r;
	}
	if ((a->valid & FS_SET_ATIME) && (r = guest_time(in->atime, in->atimensec, &a->atime)) < 0)
		return r;
	if ((a->valid & FS_SET_MTIME) && (r = guest_time(in->mtime, in->mtimensec, &a->mtime)) < 0)
		return r;
	if ((a->valid & FS_SET_CTIME) && (r = guest_time(in->ctime, in->ctimensec, &a->ctime)) < 0)
		return r;
	a->has_fh = (in->valid & FATTR_FH) != 0;
	a->fh = a->has_fh ? in->fh : 0;
	return 0;
}

int fuse_op_setattr(struct fuse_req *req)
{
	struct fuse_setattr_in in;
	struct fs_version ver;
	struct fs_version bumped = {0};
	struct fs_setattr a;
	struct stat st;
	uint32_t attr_flags = 0;
	double timeout = 0;
	int r;

	r = fuse_read_args(req, &in, sizeof(in));
	if (r < 0)
		return r;
	r = decode_setattr(&in, &a);
	if (r < 0) {
		fuse_log_guest(req, "bad setattr values");
		return r;
	}
	/* Read before the change, so before the stat that follows it: the version of a SETATTR
	 * that changed nothing. */
	fuse_vt_version(req, req->nodeid, &ver);
	r = FUSE_BE_OP(req, setattr)(FUSE_BE_FS(req), &req->ctx, req->nodeid, &a, &st, &attr_flags,
				     &timeout, &bumped);
	if (r < 0)
		return r;
	/* A change: the value its own bump produced (VFSD_VT_BUMPED), the stat having followed
	 * that bump, so the guest keeps these attributes without asking again and may extend a
	 * run of its own changes to a directory (vt_proto.h). The backend bumps for every guest;
	 * only a versioned session may take it (a stock guest would keep the attributes a day). */
	if (fuse_vt_session(req) && (bumped.flags & FS_VER_VALID))
		ver = bumped;
	return reply_attr(req, &st, attr_flags, timeout, &ver);
}

static uint32_t clamp_u32(unsigned long v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

int fuse_op_statfs(struct fuse_req *req)
{
	struct fuse_statfs_out o = {0};
	struct statvfs sv;
	int r;

	r = FUSE_BE_OP(req, statfs)(FUSE_BE_FS(req), &req->ctx, req->nodeid, &sv);
	if (r < 0)
		return r;
	o.st.blocks = sv.f_blocks;
	o.st.bfree = sv.f_bfree;
	o.st.bavail = sv.f_bavail;
	o.st.files = sv.f_files;
	o.st.ffree = sv.f_ffree;
	o.st.bsize = clamp_u32(sv.f_bsize);
	o.st.namelen = clamp_u32(sv.f_namemax);
	o.st.frsize = clamp_u32(sv.f_frsize);
	return fuse_reply(req, &o, sizeof(o));
}

int fuse_op_access(struct fuse_req *req)
{
	struct fuse_access_in in;
	int r;

	r = fuse_read_args(req, &in, sizeof(in));
	if (r < 0)
		return r;
	if (in.mask & ~(uint32_t)(R_OK | W_OK | X_OK)) {
		fuse_log_guest(req, "access mask %#x", in.mask);
		return -EINVAL;
	}
	return FUSE_BE_OP(req, access)(FUSE_BE_FS(req), &req->ctx, req->nodeid, (int)in.mask);
}
