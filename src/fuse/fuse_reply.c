// SPDX-License-Identifier: GPL-2.0-or-later
/* Decoding and encoding helpers shared by the op handlers. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <assert.h>
#include <limits.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "fuse/fuse_internal.h"

int fuse_read_args(struct fuse_req *req, void *dst, size_t n)
{
	int r = fuse_reader_read(&req->r, dst, n);

	if (r < 0)
		fuse_log_guest(req, "arguments shorter than %zu bytes", n);
	return r;
}

int fuse_read_name(struct fuse_req *req, char buf[static 256])
{
	int len = fuse_reader_string(&req->r, buf, NAME_MAX + 1);

	if (len < 0) {
		fuse_log_guest(req, "name not NUL-terminated or too long (%d)", len);
		return len;
	}
	if (len == 0 || strchr(buf, '/') || strcmp(buf, ".") == 0 || strcmp(buf, "..") == 0) {
		fuse_log_guest(req, "invalid name");
		return -EINVAL;
	}
	return 0;
}

int fuse_reply(struct fuse_req *req, const void *p, size_t n)
{
	/* The core checked the room for the op's fixed reply; this catches variable parts. */
	return fuse_writer_write(&req->w, p, n) < 0 ? -EIO : 0;
}

static uint32_t sat_u32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static uint32_t nsec_of(long ns)
{
	return ns >= 0 && ns < 1000000000L ? (uint32_t)ns : 0;
}

/* Linux's "new" device number encoding, which FUSE uses on the wire (fuse_attr.rdev). */
static uint32_t encode_dev(dev_t dev)
{
	uint64_t maj = major(dev), min = minor(dev);

	return (uint32_t)((min & 0xff) | ((maj & 0xfff) << 8) | ((min & ~0xffull) << 12));
}

void fuse_fill_attr(struct fuse_attr *a, const struct stat *st, uint32_t attr_flags)
{
	memset(a, 0, sizeof(*a));
	a->ino = (uint64_t)st->st_ino;
	a->size = (uint64_t)st->st_size;
	a->blocks = (uint64_t)st->st_blocks;
	a->atime = (uint64_t)st->st_atim.tv_sec;
	a->mtime = (uint64_t)st->st_mtim.tv_sec;
	a->ctime = (uint64_t)st->st_ctim.tv_sec;
	a->atimensec = nsec_of(st->st_atim.tv_nsec);
	a->mtimensec = nsec_of(st->st_mtim.tv_nsec);
	a->ctimensec = nsec_of(st->st_ctim.tv_nsec);
	a->mode = st->st_mode;
	a->nlink = sat_u32((uint64_t)st->st_nlink);
	a->uid = st->st_uid;
	a->gid = st->st_gid;
	a->rdev = encode_dev(st->st_rdev);
	a->blksize = st->st_blksize > 0 ? sat_u32((uint64_t)st->st_blksize) : 0;
	a->flags = ((attr_flags & FS_ATTR_SUBMOUNT) ? FUSE_ATTR_SUBMOUNT : 0) |
		   ((attr_flags & FS_ATTR_DAX) ? FUSE_ATTR_DAX : 0);
}

void fuse_split_timeout(double t, uint64_t *ret_sec, uint32_t *ret_nsec)
{
	uint64_t sec;

	if (!(t > 0)) { /* also NaN */
		*ret_sec = 0;
		*ret_nsec = 0;
		return;
	}
	if (t >= 18446744073709551615.0) {
		*ret_sec = UINT64_MAX;
		*ret_nsec = 0;
		return;
	}
	sec = (uint64_t)t;
	*ret_sec = sec;
	*ret_nsec = (uint32_t)MIN((t - (double)sec) * 1e9, 999999999.0);
}

void fuse_entry_out_fill(struct fuse_entry_out *o, const struct fs_entry *e)
{
	memset(o, 0, sizeof(*o));
	o->nodeid = e->nodeid;
	o->generation = e->generation;
	fuse_split_timeout(e->entry_timeout, &o->entry_valid, &o->entry_valid_nsec);
	/* A negative entry carries no attributes. */
	if (e->nodeid == 0)
		return;
	fuse_split_timeout(e->attr_timeout, &o->attr_valid, &o->attr_valid_nsec);
	fuse_fill_attr(&o->attr, &e->attr, e->attr_flags);
}

bool fuse_vt_session(const struct fuse_req *req)
{
	return fuse_has_flag(req, VFSD_VT_INIT_FLAG);
}

void fuse_vt_version(struct fuse_req *req, uint64_t nodeid, struct fs_version *ret)
{
	*ret = (struct fs_version){0};
	if (fuse_vt_session(req) && FUSE_BE_OP(req, version) &&
	    FUSE_BE_OP(req, version)(FUSE_BE_FS(req), nodeid, ret) < 0)
		*ret = (struct fs_version){0};
}

static bool ver_valid(const struct fs_version *v)
{
	return (v->flags & FS_VER_VALID) != 0;
}

static void vt_ver_out(struct vfsd_vt_ver *o, const struct fs_version *v)
{
	*o = (struct vfsd_vt_ver){0};
	if (!ver_valid(v))
		return;
	o->slot = v->slot;
	o->version = v->version;
	o->flags = VFSD_VT_VALID | ((v->flags & FS_VER_BUMPED) ? VFSD_VT_BUMPED : 0);
}

void fuse_entry_out_fill_vt(struct fuse_entry_out *o, const struct fs_entry *e, bool vt)
{
	fuse_entry_out_fill(o, e);
	if (!vt)
		return;
	/* The name stays valid while the directory's version holds (and, for a positive entry,
	 * the node's); the attributes while the node's does. */
	if (ver_valid(&e->parent_ver) && (e->nodeid == 0 || ver_valid(&e->ver)))
		fuse_split_timeout(FUSE_VT_TIMEOUT, &o->entry_valid, &o->entry_valid_nsec);
	if (e->nodeid != 0 && ver_valid(&e->ver))
		fuse_split_timeout(FUSE_VT_TIMEOUT, &o->attr_valid, &o->attr_valid_nsec);
}

void fuse_vt_entry_fill(struct vfsd_vt_entry_out *x, const struct fs_entry *e, bool bumped_ok)
{
	vt_ver_out(&x->node, e->nodeid ? &e->ver : &(struct fs_version){0});
	vt_ver_out(&x->parent, &e->parent_ver);
	if (!bumped_ok) {
		x->node.flags &= ~VFSD_VT_BUMPED;
		x->parent.flags &= ~VFSD_VT_BUMPED;
	}
}

/* fuse_entry_out, with the version table's timeouts in a version-table session. */
static int reply_entry_out(struct fuse_req *req, const struct fs_entry *e)
{
	struct fuse_entry_out o;

	fuse_entry_out_fill_vt(&o, e, fuse_vt_session(req));
	return fuse_reply(req, &o, sizeof(o));
}

static int reply_vt_entry(struct fuse_req *req, const struct fs_entry *e)
{
	struct vfsd_vt_entry_out x;

	if (!fuse_vt_session(req))
		return 0;
	fuse_vt_entry_fill(&x, e, true);
	return fuse_reply(req, &x, sizeof(x));
}

int fuse_reply_entry(struct fuse_req *req, int r, const struct fs_entry *e,
		     const struct fuse_open_out *open)
{
	if (r < 0)
		return r;
	r = reply_entry_out(req, e);
	if (r == 0 && open)
		r = fuse_reply(req, open, sizeof(*open));
	return r < 0 ? r : reply_vt_entry(req, e);
}

int fuse_reply_open(struct fuse_req *req, int r, uint64_t fh, uint32_t fs_flags)
{
	struct fuse_open_out o = {.fh = fh, .open_flags = fuse_open_flags_out(fs_flags)};

	return r < 0 ? r : fuse_reply(req, &o, sizeof(o));
}

int fuse_reply_attr_ver(struct fuse_req *req, const struct fs_version *v)
{
	struct vfsd_vt_attr_out x;

	if (!fuse_vt_session(req))
		return 0;
	vt_ver_out(&x.node, v);
	return fuse_reply(req, &x, sizeof(x));
}

int fuse_reply_dirs(struct fuse_req *req, int r, const struct fs_version *dirs)
{
	struct vfsd_vt_remove_out x;
	size_t room;

	static_assert(FS_DIRS_MAX == sizeof(x.dirs.dir) / sizeof(x.dirs.dir[0]),
		      "one entry per directory");
	static_assert(offsetof(struct vfsd_vt_remove_out, dirs) == 0, "dirs_out is the prefix");
	/* Room is how the guest asks for it: guest modules from before this reply posted none
	 * (their hooks have no out argument there) and must keep getting the empty reply; those
	 * from before the node posted room for the directories only. */
	room = fuse_writer_room(&req->w);
	if (r < 0 || !fuse_vt_session(req) || room < sizeof(x.dirs))
		return r;
	for (size_t i = 0; i < FS_DIRS_MAX; i++)
		vt_ver_out(&x.dirs.dir[i], &dirs[i]);
	vt_ver_out(&x.node, &dirs[FS_REMOVE_NODE]);
	return fuse_reply(req, &x, room < sizeof(x) ? sizeof(x.dirs) : sizeof(x));
}

int fuse_reply_bumped(struct fuse_req *req, const struct fs_version *v)
{
	struct vfsd_vt_attr_out x;

	/* Room, as for fuse_reply_dirs(): guests that predate it post none. */
	if (!fuse_vt_session(req) || !(v->flags & FS_VER_BUMPED) ||
	    fuse_writer_room(&req->w) < sizeof(x))
		return 0;
	vt_ver_out(&x.node, v);
	return fuse_reply(req, &x, sizeof(x));
}

uint32_t fuse_open_flags_out(uint32_t fs_flags)
{
	uint32_t f = 0;

	if (fs_flags & FS_OPEN_DIRECT_IO)
		f |= FOPEN_DIRECT_IO;
	if (fs_flags & FS_OPEN_KEEP_CACHE)
		f |= FOPEN_KEEP_CACHE;
	if (fs_flags & FS_OPEN_CACHE_DIR)
		f |= FOPEN_CACHE_DIR;
	if (fs_flags & FS_OPEN_NONSEEKABLE)
		f |= FOPEN_NONSEEKABLE;
	return f;
}

int fuse_guest_open_flags(const struct fuse_req *req, uint32_t guest_flags)
{
	/* O_DIRECT needs aligned guest buffers the host cannot promise; the guest page cache
	 * still honours its own O_DIRECT semantics. */
	if (!req->srv->cfg.allow_direct_io)
		guest_flags &= ~(uint32_t)O_DIRECT;
	return (int)guest_flags;
}

int fuse_guest_off(uint64_t guest_v, off_t *ret)
{
	if (guest_v > (uint64_t)INT64_MAX)
		return -EINVAL;
	*ret = (off_t)guest_v;
	return 0;
}

size_t fuse_write_header(const struct iovec *out, unsigned out_cnt, uint64_t unique, int error,
			 size_t payload)
{
	struct fuse_out_header oh = {
		.len = (uint32_t)(sizeof(oh) + payload),
		.error = error,
		.unique = unique,
	};
	struct fuse_writer w;

	fuse_writer_init(&w, out, out_cnt);
	if (fuse_writer_write(&w, &oh, sizeof(oh)) < 0)
		return 0;
	return sizeof(oh) + payload;
}
