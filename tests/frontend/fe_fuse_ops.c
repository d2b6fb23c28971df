/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * FUSE wrappers for file, directory, xattr, lock and miscellaneous ops.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fe_fuse.h"
#include "fe_internal.h"
#include "fuse/fuse_internal.h" /* protocol pieces newer than the host's <linux/fuse.h> */
#include "util/macros.h"

static int call_fixed(struct fe *fe, uint32_t opcode, uint64_t nodeid, const struct iovec *args,
		      int nargs, void *reply, size_t size)
{
	size_t got;
	int r = fe_fuse_call(fe, opcode, nodeid, args, nargs, reply, size, &got);
	if (r == 0 && got != size) {
		fprintf(stderr, "fe: opcode %u: reply %zu bytes, expected %zu\n", opcode, got,
			size);
		return -FE_EBADREPLY;
	}
	return r;
}

/* Calls whose reply is a byte string: the length or -errno. */
static int call_bytes(struct fe *fe, uint32_t opcode, uint64_t nodeid, const struct iovec *args,
		      int nargs, void *buf, size_t size)
{
	size_t got;
	int r = fe_fuse_call(fe, opcode, nodeid, args, nargs, buf, size, &got);
	if (r < 0)
		return r;
	if (got > size)
		return -FE_EBADREPLY;
	return (int)got;
}

struct create_reply {
	struct fuse_entry_out entry;
	struct fuse_open_out open;
};

static int create_common(struct fe *fe, uint32_t opcode, uint64_t parent, const char *name,
			 uint32_t flags, uint32_t mode, uint32_t umask,
			 struct fuse_entry_out *ret_entry, struct fuse_open_out *ret_open)
{
	struct fuse_create_in in = {
		.flags = flags, .mode = fe_fuse_mode(fe, mode, umask), .umask = umask};
	struct iovec a[2] = {IOVS(&in), IOVNAME(name)};
	struct create_reply rep;
	int r = call_fixed(fe, opcode, parent, a, 2, &rep, sizeof(rep));
	if (r < 0)
		return r;
	if (ret_entry)
		*ret_entry = rep.entry;
	if (ret_open)
		*ret_open = rep.open;
	return 0;
}

int fe_open(struct fe *fe, uint64_t nodeid, uint32_t flags, struct fuse_open_out *ret)
{
	struct fuse_open_in in = {.flags = flags};
	struct iovec a = IOVS(&in);
	return call_fixed(fe, FUSE_OPEN, nodeid, &a, 1, ret, sizeof(*ret));
}

int fe_create(struct fe *fe, uint64_t parent, const char *name, uint32_t flags, uint32_t mode,
	      uint32_t umask, struct fuse_entry_out *ret_entry, struct fuse_open_out *ret_open)
{
	return create_common(fe, FUSE_CREATE, parent, name, flags, mode, umask, ret_entry,
			     ret_open);
}

/* Linux names the unnamed dentry "/" (vfs_tmpfile), and sends that name. */
int fe_tmpfile(struct fe *fe, uint64_t parent, uint32_t flags, uint32_t mode, uint32_t umask,
	       struct fuse_entry_out *ret_entry, struct fuse_open_out *ret_open)
{
	return create_common(fe, FUSE_TMPFILE, parent, "/", flags, mode, umask, ret_entry,
			     ret_open);
}

int fe_read(struct fe *fe, uint64_t nodeid, uint64_t fh, uint64_t off, void *buf, uint32_t size)
{
	struct fuse_read_in in = {.fh = fh, .offset = off, .size = size};
	struct iovec a = IOVS(&in);
	return call_bytes(fe, FUSE_READ, nodeid, &a, 1, buf, size);
}

int fe_write(struct fe *fe, uint64_t nodeid, uint64_t fh, uint64_t off, const void *buf,
	     uint32_t size, uint32_t write_flags)
{
	struct fuse_write_in in = {
		.fh = fh, .offset = off, .size = size, .write_flags = write_flags};
	struct iovec a[2] = {IOVS(&in), IOV(buf, size)};
	struct fuse_write_out out;
	int r = call_fixed(fe, FUSE_WRITE, nodeid, a, size ? 2 : 1, &out, sizeof(out));
	if (r < 0)
		return r;
	return out.size > size ? -FE_EBADREPLY : (int)out.size;
}

int fe_release(struct fe *fe, uint64_t nodeid, uint64_t fh, uint32_t flags)
{
	struct fuse_release_in in = {.fh = fh, .flags = flags};
	struct iovec a = IOVS(&in);
	return fe_fuse_call(fe, FUSE_RELEASE, nodeid, &a, 1, NULL, 0, NULL);
}

int fe_flush(struct fe *fe, uint64_t nodeid, uint64_t fh, uint64_t lock_owner)
{
	struct fuse_flush_in in = {.fh = fh, .lock_owner = lock_owner};
	struct iovec a = IOVS(&in);
	return fe_fuse_call(fe, FUSE_FLUSH, nodeid, &a, 1, NULL, 0, NULL);
}

static int fsync_common(struct fe *fe, uint32_t opcode, uint64_t nodeid, uint64_t fh, bool datasync)
{
	struct fuse_fsync_in in = {.fh = fh, .fsync_flags = datasync ? 1 : 0};
	struct iovec a = IOVS(&in);
	return fe_fuse_call(fe, opcode, nodeid, &a, 1, NULL, 0, NULL);
}

int fe_fsync(struct fe *fe, uint64_t nodeid, uint64_t fh, bool datasync)
{
	return fsync_common(fe, FUSE_FSYNC, nodeid, fh, datasync);
}

int fe_fsyncdir(struct fe *fe, uint64_t nodeid, uint64_t fh, bool datasync)
{
	return fsync_common(fe, FUSE_FSYNCDIR, nodeid, fh, datasync);
}

int fe_opendir(struct fe *fe, uint64_t nodeid, struct fuse_open_out *ret)
{
	struct fuse_open_in in = {.flags = 0 /* O_RDONLY */ | 0200000 /* O_DIRECTORY */};
	struct iovec a = IOVS(&in);
	return call_fixed(fe, FUSE_OPENDIR, nodeid, &a, 1, ret, sizeof(*ret));
}

static int readdir_common(struct fe *fe, uint32_t opcode, uint64_t nodeid, uint64_t fh,
			  uint64_t off, void *buf, uint32_t size)
{
	struct fuse_read_in in = {.fh = fh, .offset = off, .size = size};
	struct iovec a = IOVS(&in);
	return call_bytes(fe, opcode, nodeid, &a, 1, buf, size);
}

int fe_readdir(struct fe *fe, uint64_t nodeid, uint64_t fh, uint64_t off, void *buf, uint32_t size)
{
	return readdir_common(fe, FUSE_READDIR, nodeid, fh, off, buf, size);
}

int fe_readdirplus(struct fe *fe, uint64_t nodeid, uint64_t fh, uint64_t off, void *buf,
		   uint32_t size)
{
	return readdir_common(fe, FUSE_READDIRPLUS, nodeid, fh, off, buf, size);
}

int fe_releasedir(struct fe *fe, uint64_t nodeid, uint64_t fh)
{
	struct fuse_release_in in = {.fh = fh};
	struct iovec a = IOVS(&in);
	return fe_fuse_call(fe, FUSE_RELEASEDIR, nodeid, &a, 1, NULL, 0, NULL);
}

int fe_setxattr(struct fe *fe, uint64_t nodeid, const char *name, const void *value, uint32_t size,
		uint32_t flags, uint32_t setxattr_flags)
{
	struct fuse_setxattr_in in = {
		.size = size, .flags = flags, .setxattr_flags = setxattr_flags};
	bool ext = fe->init_out.flags & FUSE_SETXATTR_EXT;
	struct iovec a[3] = {IOV(&in, ext ? sizeof(in) : FUSE_COMPAT_SETXATTR_IN_SIZE),
			     IOVNAME(name), IOV(value, size)};
	return fe_fuse_call(fe, FUSE_SETXATTR, nodeid, a, size ? 3 : 2, NULL, 0, NULL);
}

static int xattr_get_common(struct fe *fe, uint32_t opcode, uint64_t nodeid, const char *name,
			    void *buf, uint32_t size)
{
	struct fuse_getxattr_in in = {.size = size};
	struct iovec a[2] = {IOVS(&in), name ? IOVNAME(name) : IOV(NULL, 0)};
	int nargs = name ? 2 : 1;

	if (size == 0) {
		struct fuse_getxattr_out out;
		int r = call_fixed(fe, opcode, nodeid, a, nargs, &out, sizeof(out));
		return r < 0 ? r : (int)out.size;
	}
	return call_bytes(fe, opcode, nodeid, a, nargs, buf, size);
}

int fe_getxattr(struct fe *fe, uint64_t nodeid, const char *name, void *buf, uint32_t size)
{
	return xattr_get_common(fe, FUSE_GETXATTR, nodeid, name, buf, size);
}

int fe_listxattr(struct fe *fe, uint64_t nodeid, void *buf, uint32_t size)
{
	return xattr_get_common(fe, FUSE_LISTXATTR, nodeid, NULL, buf, size);
}

int fe_removexattr(struct fe *fe, uint64_t nodeid, const char *name)
{
	struct iovec a = IOVNAME(name);
	return fe_fuse_call(fe, FUSE_REMOVEXATTR, nodeid, &a, 1, NULL, 0, NULL);
}

int fe_getlk(struct fe *fe, uint64_t nodeid, uint64_t fh, uint64_t owner,
	     const struct fuse_file_lock *lk, struct fuse_file_lock *ret)
{
	struct fuse_lk_in in = {.fh = fh, .owner = owner, .lk = *lk};
	struct iovec a = IOVS(&in);
	struct fuse_lk_out out;
	int r = call_fixed(fe, FUSE_GETLK, nodeid, &a, 1, &out, sizeof(out));
	if (r == 0 && ret)
		*ret = out.lk;
	return r;
}

int fe_setlk(struct fe *fe, uint64_t nodeid, uint64_t fh, uint64_t owner,
	     const struct fuse_file_lock *lk, bool sleep, uint32_t lk_flags)
{
	struct fuse_lk_in in = {.fh = fh, .owner = owner, .lk = *lk, .lk_flags = lk_flags};
	struct iovec a = IOVS(&in);
	return fe_fuse_call(fe, sleep ? FUSE_SETLKW : FUSE_SETLK, nodeid, &a, 1, NULL, 0, NULL);
}

int fe_setlk_submit(struct fe *fe, struct fe_call *c, struct fuse_lk_in *in, uint64_t nodeid,
		    bool sleep)
{
	struct iovec a = IOVS(in);
	return fe_fuse_submit(fe, c, fe->fuse_queue, sleep ? FUSE_SETLKW : FUSE_SETLK, nodeid, &a,
			      1, NULL, 0);
}

int fe_fallocate(struct fe *fe, uint64_t nodeid, uint64_t fh, uint64_t off, uint64_t len,
		 uint32_t mode)
{
	struct fuse_fallocate_in in = {.fh = fh, .offset = off, .length = len, .mode = mode};
	struct iovec a = IOVS(&in);
	return fe_fuse_call(fe, FUSE_FALLOCATE, nodeid, &a, 1, NULL, 0, NULL);
}

int fe_lseek(struct fe *fe, uint64_t nodeid, uint64_t fh, uint64_t off, uint32_t whence,
	     uint64_t *ret_off)
{
	struct fuse_lseek_in in = {.fh = fh, .offset = off, .whence = whence};
	struct iovec a = IOVS(&in);
	struct fuse_lseek_out out;
	int r = call_fixed(fe, FUSE_LSEEK, nodeid, &a, 1, &out, sizeof(out));
	if (r == 0 && ret_off)
		*ret_off = out.offset;
	return r;
}

/* COPY_FILE_RANGE and COPY_FILE_RANGE_64 send the same arguments. */
static int copy_range(struct fe *fe, uint32_t opcode, uint64_t nodein, uint64_t fhin,
		      uint64_t offin, uint64_t nodeout, uint64_t fhout, uint64_t offout,
		      uint64_t len, uint64_t flags, void *out, size_t out_size)
{
	struct fuse_copy_file_range_in in = {.fh_in = fhin,
					     .off_in = offin,
					     .nodeid_out = nodeout,
					     .fh_out = fhout,
					     .off_out = offout,
					     .len = len,
					     .flags = flags};
	struct iovec a = IOVS(&in);
	return call_fixed(fe, opcode, nodein, &a, 1, out, out_size);
}

int fe_copy_file_range(struct fe *fe, uint64_t nodein, uint64_t fhin, uint64_t offin,
		       uint64_t nodeout, uint64_t fhout, uint64_t offout, uint64_t len,
		       uint64_t flags, uint64_t *ret_size)
{
	struct fuse_write_out out;
	int r = copy_range(fe, FUSE_COPY_FILE_RANGE, nodein, fhin, offin, nodeout, fhout, offout,
			   len, flags, &out, sizeof(out));
	if (r == 0 && ret_size)
		*ret_size = out.size;
	return r;
}

int fe_copy_file_range_64(struct fe *fe, uint64_t nodein, uint64_t fhin, uint64_t offin,
			  uint64_t nodeout, uint64_t fhout, uint64_t offout, uint64_t len,
			  uint64_t flags, uint64_t *ret_size)
{
	struct fuse_copy_file_range_out out;
	int r = copy_range(fe, FUSE_COPY_FILE_RANGE_64, nodein, fhin, offin, nodeout, fhout, offout,
			   len, flags, &out, sizeof(out));
	if (r == 0 && ret_size)
		*ret_size = out.bytes_copied;
	return r;
}

int fe_statx(struct fe *fe, uint64_t nodeid, const uint64_t *fh, uint32_t sx_flags,
	     uint32_t sx_mask, struct fuse_statx_out *ret)
{
	struct fuse_statx_in in = {.getattr_flags = fh ? FUSE_GETATTR_FH : 0,
				   .fh = fh ? *fh : 0,
				   .sx_flags = sx_flags,
				   .sx_mask = sx_mask};
	struct iovec a = IOVS(&in);
	return call_fixed(fe, FUSE_STATX, nodeid, &a, 1, ret, sizeof(*ret));
}

int fe_syncfs(struct fe *fe, uint64_t nodeid)
{
	struct fuse_syncfs_in in = {0};
	struct iovec a = IOVS(&in);
	return fe_fuse_call(fe, FUSE_SYNCFS, nodeid, &a, 1, NULL, 0, NULL);
}

/*
 * INTERRUPT on hiprio, with room for an out_header: a daemon may answer it (EAGAIN) or just
 * return the chain. Returns 0 and the used length, or a transport error.
 */
int fe_interrupt(struct fe *fe, uint64_t unique, uint32_t *ret_used_len)
{
	struct fuse_interrupt_in in = {.unique = unique};
	struct iovec a = IOVS(&in);
	struct fe_call c;
	int r = fe_fuse_submit(fe, &c, 0, FUSE_INTERRUPT, 0, &a, 1, NULL, 0);
	if (r < 0)
		return r;
	r = fe_wait(fe, 0, &c, &c.used_len, fe->fuse_timeout_ms);
	if (r < 0) {
		fe_abandon(fe, 0, &c);
		return r;
	}
	if (ret_used_len)
		*ret_used_len = c.used_len;
	return 0;
}

int fe_ioctl(struct fe *fe, uint64_t nodeid, uint64_t fh, uint32_t flags, uint32_t cmd,
	     uint64_t arg, const void *in, uint32_t in_size, void *out, uint32_t out_size,
	     struct fuse_ioctl_out *ret)
{
	struct fuse_ioctl_in hin = {.fh = fh,
				    .flags = flags,
				    .cmd = cmd,
				    .arg = arg,
				    .in_size = in_size,
				    .out_size = out_size};
	struct iovec a[2] = {IOVS(&hin), IOV(in, in_size)};
	uint8_t buf[sizeof(struct fuse_ioctl_out) + 4096];
	size_t got;

	if (out_size > 4096)
		return -EINVAL;
	int r = fe_fuse_call(fe, FUSE_IOCTL, nodeid, a, in_size ? 2 : 1, buf,
			     sizeof(struct fuse_ioctl_out) + out_size, &got);
	if (r < 0)
		return r;
	if (got < sizeof(struct fuse_ioctl_out))
		return -FE_EBADREPLY;
	if (ret)
		memcpy(ret, buf, sizeof(*ret));
	if (out)
		memcpy(out, buf + sizeof(struct fuse_ioctl_out),
		       MIN(out_size, got - sizeof(struct fuse_ioctl_out)));
	return 0;
}

int fe_poll(struct fe *fe, uint64_t nodeid, uint64_t fh, uint32_t flags, uint32_t events,
	    uint32_t *ret_revents)
{
	struct fuse_poll_in in = {.fh = fh, .flags = flags, .events = events};
	struct iovec a = IOVS(&in);
	struct fuse_poll_out out;
	int r = call_fixed(fe, FUSE_POLL, nodeid, &a, 1, &out, sizeof(out));
	if (r == 0 && ret_revents)
		*ret_revents = out.revents;
	return r;
}

int fe_setupmapping(struct fe *fe, uint64_t nodeid, const struct fuse_setupmapping_in *in)
{
	struct iovec a = IOVS(in);
	return fe_fuse_call(fe, FUSE_SETUPMAPPING, nodeid, &a, 1, NULL, 0, NULL);
}

int fe_removemapping(struct fe *fe, uint64_t nodeid, uint32_t count,
		     const struct fuse_removemapping_one *items, uint32_t nitems)
{
	struct fuse_removemapping_in in = {.count = count};
	struct iovec a[2] = {IOVS(&in), IOV(items, nitems * sizeof(*items))};
	return fe_fuse_call(fe, FUSE_REMOVEMAPPING, nodeid, a, nitems ? 2 : 1, NULL, 0, NULL);
}
