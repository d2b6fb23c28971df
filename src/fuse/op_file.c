// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Open files: open/create/tmpfile, data transfer (zero-copy between the file and the guest's
 * buffers), release/flush/fsync, fallocate, lseek, copy_file_range, syncfs.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include "fuse/fuse_internal.h"

/* Data iovecs: on the stack for the usual few pieces, on the heap for long chains. */
struct data_iov {
	struct iovec small[16];
	struct iovec *v;
};

static void data_iov_done(struct data_iov *d)
{
	if (d->v != d->small)
		free(d->v);
}

static int data_iov_alloc(struct fuse_req *req, struct data_iov *d, unsigned cnt)
{
	if (cnt > FUSE_MAX_DATA_IOV) {
		fuse_log_guest(req, "data spans %u buffers", cnt);
		return -EINVAL;
	}
	d->v = cnt <= ARRAY_SIZE(d->small) ? d->small : calloc(cnt, sizeof(*d->v));
	return d->v ? 0 : -ENOMEM;
}

int fuse_op_open(struct fuse_req *req)
{
	struct fuse_open_in in;
	uint64_t fh = 0;
	uint32_t oflags = 0;
	int r;

	r = fuse_read_args(req, &in, sizeof(in));
	if (r < 0)
		return r;
	r = FUSE_BE_OP(req, open)(FUSE_BE_FS(req), &req->ctx, req->nodeid,
				  fuse_guest_open_flags(req, in.flags), &fh, &oflags);
	return fuse_reply_open(req, r, fh, oflags);
}

static int reply_create(struct fuse_req *req, int r, const struct fs_entry *e, uint64_t fh,
			uint32_t oflags)
{
	struct fuse_open_out o = {.fh = fh, .open_flags = fuse_open_flags_out(oflags)};

	return fuse_reply_entry(req, r, e, &o);
}

int fuse_op_create(struct fuse_req *req)
{
	struct fuse_create_in in;
	char name[NAME_MAX + 1];
	struct fs_entry e = {0};
	uint64_t fh = 0;
	uint32_t oflags = 0;
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
	r = FUSE_BE_OP(req, create)(FUSE_BE_FS(req), &req->ctx, req->nodeid, name, in.mode,
				    fuse_guest_open_flags(req, in.flags), in.umask, &e, &fh,
				    &oflags);
	return reply_create(req, r, &e, fh, oflags);
}

int fuse_op_tmpfile(struct fuse_req *req)
{
	struct fuse_create_in in;
	struct fs_entry e = {0};
	uint64_t fh = 0;
	uint32_t oflags = 0;
	int r;

	/* The name Linux sends after the arguments ("/", the tmpfile dentry's) means nothing. */
	r = fuse_read_args(req, &in, sizeof(in));
	if (r < 0)
		return r;
	/* Before 7.38 a security context trails that name. */
	if (req->srv->minor < 38 && fuse_has_flag(req, FUSE_SECURITY_CTX)) {
		char name[NAME_MAX + 1];

		r = fuse_reader_string(&req->r, name, sizeof(name));
		r = r < 0 ? r : fuse_secctx_trailing(req);
		if (r < 0)
			return r;
	}
	r = FUSE_BE_OP(req, tmpfile)(FUSE_BE_FS(req), &req->ctx, req->nodeid, in.mode,
				     fuse_guest_open_flags(req, in.flags), in.umask, &e, &fh,
				     &oflags);
	return reply_create(req, r, &e, fh, oflags);
}

int fuse_op_read(struct fuse_req *req)
{
	_cleanup_(data_iov_done) struct data_iov d = {.v = d.small};
	struct fuse_read_in in;
	unsigned cnt;
	ssize_t got;
	off_t off;
	int r;

	r = fuse_read_args(req, &in, sizeof(in));
	if (r < 0)
		return r;
	if (in.size > req->srv->cfg.max_write || fuse_guest_off(in.offset, &off) < 0) {
		fuse_log_guest(req, "read of %u bytes at %llu", in.size,
			       (unsigned long long)in.offset);
		return -EINVAL;
	}
	if (in.size > fuse_writer_room(&req->w)) {
		fuse_log_guest(req, "read of %u bytes, room %zu", in.size,
			       fuse_writer_room(&req->w));
		return -EIO;
	}
	if (in.size == 0)
		return 0;
	r = data_iov_alloc(req, &d, fuse_writer_iov_count(&req->w, in.size));
	if (r < 0)
		return r;
	r = fuse_writer_iov(&req->w, in.size, d.v, FUSE_MAX_DATA_IOV, &cnt);
	if (r < 0)
		return -EIO;
	got = FUSE_BE_OP(req, read)(FUSE_BE_FS(req), &req->ctx, req->nodeid, in.fh, d.v, (int)cnt,
				    off);
	if (got < 0)
		return (int)got;
	if ((size_t)got > in.size)
		return -EIO; /* backend bug: it cannot have filled more than we gave it */
	fuse_writer_skip(&req->w, (size_t)got);
	return 0;
}

int fuse_op_write(struct fuse_req *req)
{
	_cleanup_(data_iov_done) struct data_iov d = {.v = d.small};
	struct fuse_write_in in;
	struct fuse_write_out o = {0};
	struct fs_version bumped = {0};
	unsigned cnt;
	ssize_t got;
	off_t off;
	int r;

	r = fuse_read_args(req, &in, sizeof(in));
	if (r < 0)
		return r;
	if (in.size > req->srv->cfg.max_write || in.size > fuse_reader_remaining(&req->r) ||
	    fuse_guest_off(in.offset, &off) < 0) {
		fuse_log_guest(req, "write of %u bytes (%zu present) at %llu", in.size,
			       fuse_reader_remaining(&req->r), (unsigned long long)in.offset);
		return -EINVAL;
	}
	r = data_iov_alloc(req, &d, fuse_reader_iov_count(&req->r, in.size));
	if (r < 0)
		return r;
	r = fuse_reader_iov(&req->r, in.size, d.v, FUSE_MAX_DATA_IOV, &cnt);
	if (r < 0)
		return -EINVAL;
	got = FUSE_BE_OP(req, write)(
		FUSE_BE_FS(req), &req->ctx, req->nodeid, in.fh, d.v, (int)cnt, off,
		(in.write_flags & FUSE_WRITE_KILL_SUIDGID) ? FS_WRITE_KILL_SUIDGID : 0, &bumped);
	if (got < 0)
		return (int)got;
	o.size = (uint32_t)MIN((size_t)got, (size_t)in.size);
	r = fuse_reply(req, &o, sizeof(o));
	return r < 0 ? r : fuse_reply_bumped(req, &bumped);
}

int fuse_op_release(struct fuse_req *req)
{
	struct fuse_release_in in;
	struct fs_state *fs = FUSE_BE_FS(req);
	int r;

	r = fuse_read_args(req, &in, sizeof(in));
	if (r < 0)
		return r;
	/* Errors of the implied flush/unlock are not reported: the guest ignores RELEASE's. */
	if ((in.release_flags & FUSE_RELEASE_FLUSH) && FUSE_BE_OP(req, flush))
		FUSE_BE_OP(req, flush)(fs, &req->ctx, req->nodeid, in.fh, in.lock_owner);
	if ((in.release_flags & FUSE_RELEASE_FLOCK_UNLOCK) && FUSE_BE_OP(req, flock))
		FUSE_BE_OP(req, flock)(fs, &req->ctx, req->nodeid, in.fh, LOCK_UN, false);
	return FUSE_BE_OP(req, release)(fs, &req->ctx, req->nodeid, in.fh);
}

int fuse_op_flush(struct fuse_req *req)
{
	struct fuse_flush_in in;
	int r;

	r = fuse_read_args(req, &in, sizeof(in));
	if (r < 0)
		return r;
	return FUSE_BE_OP(req, flush)(FUSE_BE_FS(req), &req->ctx, req->nodeid, in.fh,
				      in.lock_owner);
}

int fuse_op_fsync(struct fuse_req *req)
{
	struct fuse_fsync_in in;
	int r;

	r = fuse_read_args(req, &in, sizeof(in));
	if (r < 0)
		return r;
	return FUSE_BE_OP(req, fsync)(FUSE_BE_FS(req), &req->ctx, req->nodeid, in.fh,
				      (in.fsync_flags & FUSE_FSYNC_FDATASYNC) != 0);
}

int fuse_op_fallocate(struct fuse_req *req)
{
	struct fuse_fallocate_in in;
	struct fs_version bumped = {0};
	off_t off, len;
	int r;

	r = fuse_read_args(req, &in, sizeof(in));
	if (r < 0)
		return r;
	if (fuse_guest_off(in.offset, &off) < 0 || fuse_guest_off(in.length, &len) < 0) {
		fuse_log_guest(req, "fallocate range out of off_t");
		return -EINVAL;
	}
	r = FUSE_BE_OP(req, fallocate)(FUSE_BE_FS(req), &req->ctx, req->nodeid, in.fh, (int)in.mode,
				       off, len, &bumped);
	/* The stock reply has no body: the version is the whole body, as WRITE's tail. */
	return r < 0 ? r : fuse_reply_bumped(req, &bumped);
}

int fuse_op_lseek(struct fuse_req *req)
{
	struct fuse_lseek_in in;
	struct fuse_lseek_out o = {0};
	off_t pos = 0;
	int r;

	r = fuse_read_args(req, &in, sizeof(in));
	if (r < 0)
		return r;
	switch (in.whence) {
	case SEEK_SET:
	case SEEK_CUR:
	case SEEK_END:
	case SEEK_DATA:
	case SEEK_HOLE:
		break;
	default:
		fuse_log_guest(req, "lseek whence %u", in.whence);
		return -EINVAL;
	}
	r = FUSE_BE_OP(req, lseek)(FUSE_BE_FS(req), &req->ctx, req->nodeid, in.fh,
				   (off_t)(int64_t)in.offset, (int)in.whence, &pos);
	if (r < 0)
		return r;
	o.offset = (uint64_t)pos;
	return fuse_reply(req, &o, sizeof(o));
}

/* COPY_FILE_RANGE and COPY_FILE_RANGE_64 take the same arguments; the count goes back in 32
 * or 64 bits, and never exceeds max_len (a shorter copy is a valid answer). Returns the count
 * or a negative errno; *bumped gets the destination's version after the copy. */
static ssize_t copy_range(struct fuse_req *req, uint64_t max_len, struct fs_version *bumped)
{
	struct fuse_copy_file_range_in in;
	off_t off_in, off_out;
	size_t len;
	ssize_t got;
	int r;

	r = fuse_read_args(req, &in, sizeof(in));
	if (r < 0)
		return r;
	if (fuse_guest_off(in.off_in, &off_in) < 0 || fuse_guest_off(in.off_out, &off_out) < 0 ||
	    in.flags > UINT32_MAX) {
		fuse_log_guest(req, "copy_file_range offsets or flags out of range");
		return -EINVAL;
	}
	len = (size_t)MIN(in.len, max_len);
	got = FUSE_BE_OP(req, copy_file_range)(FUSE_BE_FS(req), &req->ctx, req->nodeid, in.fh_in,
					       off_in, in.nodeid_out, in.fh_out, off_out, len,
					       (unsigned)in.flags, bumped);
	return got < 0 ? got : (ssize_t)MIN((size_t)got, len);
}

/* The reply o (size bytes), then the destination's version as WRITE's reply has it. */
static int copy_reply(struct fuse_req *req, ssize_t got, const void *o, size_t size,
		      const struct fs_version *bumped)
{
	int r;

	if (got < 0)
		return (int)got;
	r = fuse_reply(req, o, size);
	return r < 0 ? r : fuse_reply_bumped(req, bumped);
}

int fuse_op_copy_file_range(struct fuse_req *req)
{
	struct fs_version bumped = {0};
	ssize_t got = copy_range(req, (uint64_t)UINT32_MAX & ~4095ull, &bumped);
	struct fuse_write_out o = {.size = (uint32_t)got};

	return copy_reply(req, got, &o, sizeof(o), &bumped);
}

int fuse_op_copy_file_range_64(struct fuse_req *req)
{
	struct fs_version bumped = {0};
	/* copy_file_range(2) itself copies at most MAX_RW_COUNT (INT_MAX & PAGE_MASK). */
	ssize_t got = copy_range(req, (uint64_t)SSIZE_MAX, &bumped);
	struct fuse_copy_file_range_out o = {.bytes_copied = (uint64_t)got};

	return copy_reply(req, got, &o, sizeof(o), &bumped);
}

int fuse_op_syncfs(struct fuse_req *req)
{
	struct fuse_syncfs_in in;
	int r;

	r = fuse_read_args(req, &in, sizeof(in));
	if (r < 0)
		return r;
	return FUSE_BE_OP(req, syncfs)(FUSE_BE_FS(req), &req->ctx, req->nodeid);
}
