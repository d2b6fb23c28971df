// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Directory handles and listing. READDIR/READDIRPLUS entries are packed straight into the reply
 * buffer by the backend's fill callback, 8-byte aligned as the wire format requires. In a session
 * with VFSD_VT_INIT_RDPLUS a READDIRPLUS entry also carries the versions a LOOKUP reply would
 * (the VFSD_VT_DIRENTPLUS_* layout of include/vfsd/vt_proto.h).
 */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "fuse/fuse_internal.h"

struct dir_fill {
	struct fuse_writer *w;
	size_t base;  /* writer position of the first entry */
	size_t limit; /* bytes of entries the guest asked for, capped by the room */
	bool plus;
	bool vt; /* versioned readdirplus entries (VFSD_VT_INIT_RDPLUS) */
};

static int dir_fill(void *cookie, const struct fs_dirent *d, const struct fs_entry *entry)
{
	struct dir_fill *f = cookie;
	struct fuse_dirent de = {
		.ino = d->ino,
		.off = d->off,
		.namelen = (uint32_t)d->namelen,
		.type = d->type,
	};
	size_t head = f->plus ? sizeof(struct fuse_entry_out) : 0;
	size_t used = fuse_writer_written(f->w) - f->base;
	size_t size;

	static_assert(sizeof(struct fuse_entry_out) == VFSD_VT_DIRENTPLUS_VT &&
			      FUSE_NAME_OFFSET == VFSD_VT_DIRENT_SIZE,
		      "vt_proto.h spells out fuse_direntplus's layout");
	if (f->vt)
		head += sizeof(struct vfsd_vt_entry_out);
	if (d->namelen == 0 || d->namelen > UINT32_MAX)
		return -EINVAL;
	size = FUSE_DIRENT_ALIGN(head + FUSE_NAME_OFFSET + d->namelen);
	if (size > f->limit - used)
		return -ENOSPC;
	if (f->plus) {
		struct fuse_entry_out eo = {0};
		static const struct fs_entry none;

		entry = entry ? entry : &none;
		fuse_entry_out_fill_vt(&eo, entry, f->vt);
		fuse_writer_write(f->w, &eo, sizeof(eo));
	}
	if (f->vt) {
		struct vfsd_vt_entry_out x;

		/* What a LOOKUP of the name says, read by the backend in the same order: the
		 * directory's version before the name is resolved, the node's before its stat. */
		fuse_vt_entry_fill(&x, entry, false);
		fuse_writer_write(f->w, &x, sizeof(x));
	}
	/* Room was checked above, so these cannot fail. */
	fuse_writer_write(f->w, &de, FUSE_NAME_OFFSET);
	fuse_writer_write(f->w, d->name, d->namelen);
	fuse_writer_zero(f->w, size - head - FUSE_NAME_OFFSET - d->namelen);
	return 0;
}

int fuse_op_readdir(struct fuse_req *req)
{
	struct fuse_read_in in;
	struct dir_fill f = {
		.w = &req->w,
		.base = fuse_writer_written(&req->w),
		.plus = req->opcode == FUSE_READDIRPLUS,
		.vt = req->opcode == FUSE_READDIRPLUS && fuse_has_flag(req, VFSD_VT_INIT_RDPLUS),
	};
	int r;

	r = fuse_read_args(req, &in, sizeof(in));
	if (r < 0)
		return r;
	/* An over-large size is not an error: the guest takes fewer entries. */
	f.limit = MIN((size_t)in.size, fuse_writer_room(&req->w));
	f.limit = MIN(f.limit, (size_t)req->srv->cfg.max_write);
	r = FUSE_BE_OP(req, readdir)(FUSE_BE_FS(req), &req->ctx, req->nodeid, in.fh, in.offset,
				     f.plus, dir_fill, &f);
	/* Entries already packed stand: the guest sees them, then the error on its next call. */
	if (r < 0 && fuse_writer_written(&req->w) == f.base)
		return r;
	return 0;
}

int fuse_op_opendir(struct fuse_req *req)
{
	struct fuse_open_in in;
	uint64_t fh = 0;
	uint32_t oflags = 0;
	int r;

	r = fuse_read_args(req, &in, sizeof(in));
	if (r < 0)
		return r;
	r = FUSE_BE_OP(req, opendir)(FUSE_BE_FS(req), &req->ctx, req->nodeid, (int)in.flags, &fh,
				     &oflags);
	/* A guest with the version table keys its readdir cache on the directory's version
	 * (docs/coherence.md), so the cache is as coherent as its names: without it every
	 * opendir re-reads the directory (rm -rf, git status, grep -r). */
	if (r >= 0 && fuse_vt_session(req))
		oflags |= FS_OPEN_CACHE_DIR | FS_OPEN_KEEP_CACHE;
	return fuse_reply_open(req, r, fh, oflags);
}

int fuse_op_releasedir(struct fuse_req *req)
{
	struct fuse_release_in in;
	int r;

	r = fuse_read_args(req, &in, sizeof(in));
	if (r < 0)
		return r;
	return FUSE_BE_OP(req, releasedir)(FUSE_BE_FS(req), &req->ctx, req->nodeid, in.fh);
}

int fuse_op_fsyncdir(struct fuse_req *req)
{
	struct fuse_fsync_in in;
	int r;

	r = fuse_read_args(req, &in, sizeof(in));
	if (r < 0)
		return r;
	return FUSE_BE_OP(req, fsyncdir)(FUSE_BE_FS(req), &req->ctx, req->nodeid, in.fh,
					 (in.fsync_flags & FUSE_FSYNC_FDATASYNC) != 0);
}
