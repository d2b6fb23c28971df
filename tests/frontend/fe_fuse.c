/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * FUSE framing over the frontend: headers, reply validation, INIT, and the entry/attribute ops.
 * File, directory, xattr, lock and misc ops are in fe_fuse_ops.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fe_fuse.h"
#include "fe_internal.h"
#include "util/macros.h"

void fe_fuse_set_creds(struct fe *fe, uint32_t uid, uint32_t gid, uint32_t pid)
{
	fe->uid = uid;
	fe->gid = gid;
	fe->pid = pid;
}

void fe_fuse_set_queue(struct fe *fe, unsigned queue)
{
	fe->fuse_queue = queue;
}

void fe_fuse_set_timeout(struct fe *fe, int timeout_ms)
{
	fe->fuse_timeout_ms = timeout_ms;
}

uint64_t fe_fuse_next_unique(const struct fe *fe)
{
	return fe->unique + 2;
}

const struct fuse_init_out *fe_fuse_init_out(const struct fe *fe)
{
	return &fe->init_out;
}

static void fill_header(struct fe *fe, struct fe_call *c, uint32_t opcode, uint64_t nodeid,
			const struct iovec *args, int nargs)
{
	size_t len = sizeof(c->ih);

	/* Linux uses even uniques; odd ones are its interrupt ids (unique | 1). */
	fe->unique += 2;
	c->in[0] = (struct iovec){.iov_base = &c->ih, .iov_len = sizeof(c->ih)};
	for (int i = 0; i < nargs; i++) {
		c->in[1 + i] = args[i];
		len += args[i].iov_len;
	}
	c->nin = 1 + nargs;
	c->ih = (struct fuse_in_header){.len = (uint32_t)len,
					.opcode = opcode,
					.unique = fe->unique,
					.nodeid = nodeid,
					.uid = fe->uid,
					.gid = fe->gid,
					.pid = fe->pid};
}

int fe_fuse_submit(struct fe *fe, struct fe_call *c, unsigned queue, uint32_t opcode,
		   uint64_t nodeid, const struct iovec *args, int nargs, void *reply,
		   size_t reply_size)
{
	if (nargs < 0 || nargs > 4)
		return -EINVAL;
	c->queue = queue;
	fill_header(fe, c, opcode, nodeid, args, nargs);
	memset(&c->oh, 0, sizeof(c->oh));
	c->out[0] = (struct iovec){.iov_base = &c->oh, .iov_len = sizeof(c->oh)};
	c->out[1] = (struct iovec){.iov_base = reply, .iov_len = reply_size};
	c->nout = reply_size && (reply || fe->opts.bulk_in_place) ? 2 : 1;
	return fe_submit(fe, queue, c->in, c->nin, c->out, c->nout, c);
}

int fe_fuse_complete(struct fe *fe, struct fe_call *c, int timeout_ms, size_t *ret_reply_len)
{
	int r = fe_wait(fe, c->queue, c, &c->used_len, timeout_ms);
	if (r < 0) {
		fe_abandon(fe, c->queue, c);
		return r;
	}
	if (c->used_len < sizeof(c->oh) || c->oh.len != c->used_len ||
	    c->oh.unique != c->ih.unique) {
		fprintf(stderr, "fe: opcode %u: bad reply: used %u, out.len %u, unique %llu/%llu\n",
			c->ih.opcode, c->used_len, c->oh.len, (unsigned long long)c->oh.unique,
			(unsigned long long)c->ih.unique);
		return -FE_EBADREPLY;
	}
	if (c->oh.error > 0 || c->oh.error < -4095) {
		fprintf(stderr, "fe: opcode %u: bad error %d\n", c->ih.opcode, c->oh.error);
		return -FE_EBADREPLY;
	}
	if (c->oh.error != 0 && c->oh.len != sizeof(c->oh)) {
		fprintf(stderr, "fe: opcode %u: error %d with %u bytes\n", c->ih.opcode,
			c->oh.error, c->oh.len);
		return -FE_EBADREPLY;
	}
	if (ret_reply_len)
		*ret_reply_len = c->oh.len - sizeof(c->oh);
	return c->oh.error;
}

int fe_fuse_call(struct fe *fe, uint32_t opcode, uint64_t nodeid, const struct iovec *args,
		 int nargs, void *reply, size_t reply_size, size_t *ret_reply_len)
{
	struct fe_call c;
	int r = fe_fuse_submit(fe, &c, fe->fuse_queue, opcode, nodeid, args, nargs, reply,
			       reply_size);
	if (r < 0)
		return r;
	return fe_fuse_complete(fe, &c, fe->fuse_timeout_ms, ret_reply_len);
}

int fe_fuse_noreply(struct fe *fe, unsigned queue, uint32_t opcode, uint64_t nodeid,
		    const struct iovec *args, int nargs)
{
	struct fe_call c;
	uint32_t len;

	if (nargs < 0 || nargs > 4)
		return -EINVAL;
	fill_header(fe, &c, opcode, nodeid, args, nargs);
	int r = fe_request(fe, queue, c.in, c.nin, NULL, 0, &len, fe->fuse_timeout_ms);
	if (r < 0)
		return r;
	return len == 0 ? 0 : -FE_EBADREPLY;
}

/* Call expecting a fixed-size struct reply. */
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

int fe_init_sized(struct fe *fe, uint32_t major, uint32_t minor, uint64_t flags, size_t in_size,
		  struct fuse_init_out *ret)
{
	struct fuse_init_in in = {.major = major,
				  .minor = minor,
				  .max_readahead = 128 * 1024,
				  .flags = (uint32_t)flags,
				  .flags2 = (uint32_t)(flags >> 32)};
	struct fuse_init_out out;
	size_t got;

	if (!in_size)
		in_size = minor >= 36 ? sizeof(in) : 16;
	if (in_size > sizeof(in))
		return -EINVAL;
	struct iovec a = IOV(&in, in_size);
	memset(&out, 0, sizeof(out));
	int r = fe_fuse_call(fe, FUSE_INIT, 0, &a, 1, &out, sizeof(out), &got);
	if (r < 0)
		return r;
	/* 7.23+ replies are at least the 24-byte compat size. */
	if (got < FUSE_COMPAT_22_INIT_OUT_SIZE)
		return -FE_EBADREPLY;
	fe->init_out = out;
	fe->fuse_minor = MIN(minor, out.minor);
	if (ret)
		*ret = out;
	return 0;
}

int fe_init(struct fe *fe, uint32_t minor, uint64_t flags)
{
	return fe_init_sized(fe, FUSE_KERNEL_VERSION, minor, flags, 0, NULL);
}

int fe_destroy(struct fe *fe)
{
	return fe_fuse_call(fe, FUSE_DESTROY, 0, NULL, 0, NULL, 0, NULL);
}

int fe_lookup(struct fe *fe, uint64_t parent, const char *name, struct fuse_entry_out *ret)
{
	struct iovec a = IOVNAME(name);
	return call_fixed(fe, FUSE_LOOKUP, parent, &a, 1, ret, sizeof(*ret));
}

int fe_forget(struct fe *fe, uint64_t nodeid, uint64_t nlookup)
{
	struct fuse_forget_in in = {.nlookup = nlookup};
	struct iovec a = IOVS(&in);
	return fe_fuse_noreply(fe, 0, FUSE_FORGET, nodeid, &a, 1);
}

int fe_batch_forget(struct fe *fe, const struct fuse_forget_one *items, uint32_t count)
{
	struct fuse_batch_forget_in in = {.count = count};
	struct iovec a[2] = {IOVS(&in), IOV(items, count * sizeof(*items))};
	return fe_fuse_noreply(fe, 0, FUSE_BATCH_FORGET, 0, a, count ? 2 : 1);
}

int fe_getattr(struct fe *fe, uint64_t nodeid, const uint64_t *fh, struct fuse_attr_out *ret)
{
	struct fuse_getattr_in in = {.getattr_flags = fh ? FUSE_GETATTR_FH : 0, .fh = fh ? *fh : 0};
	struct iovec a = IOVS(&in);
	return call_fixed(fe, FUSE_GETATTR, nodeid, &a, 1, ret, sizeof(*ret));
}

int fe_setattr(struct fe *fe, uint64_t nodeid, const struct fuse_setattr_in *in,
	       struct fuse_attr_out *ret)
{
	struct iovec a = IOVS(in);
	return call_fixed(fe, FUSE_SETATTR, nodeid, &a, 1, ret, sizeof(*ret));
}

int fe_readlink(struct fe *fe, uint64_t nodeid, char *buf, size_t size)
{
	size_t got;
	int r = fe_fuse_call(fe, FUSE_READLINK, nodeid, NULL, 0, buf, size, &got);
	return r < 0 ? r : (int)got;
}

int fe_symlink(struct fe *fe, uint64_t parent, const char *name, const char *target,
	       struct fuse_entry_out *ret)
{
	struct iovec a[2] = {IOVNAME(name), IOVNAME(target)};
	return call_fixed(fe, FUSE_SYMLINK, parent, a, 2, ret, sizeof(*ret));
}

uint32_t fe_fuse_mode(const struct fe *fe, uint32_t mode, uint32_t umask)
{
	/* Without DONT_MASK the guest kernel applies the umask itself before sending. */
	return (fe->init_out.flags & FUSE_DONT_MASK) ? mode : mode & ~umask;
}

int fe_mknod(struct fe *fe, uint64_t parent, const char *name, uint32_t mode, uint32_t rdev,
	     uint32_t umask, struct fuse_entry_out *ret)
{
	mode = fe_fuse_mode(fe, mode, umask);
	struct fuse_mknod_in in = {.mode = mode, .rdev = rdev, .umask = umask};
	struct iovec a[2] = {IOVS(&in), IOVNAME(name)};
	return call_fixed(fe, FUSE_MKNOD, parent, a, 2, ret, sizeof(*ret));
}

int fe_mkdir(struct fe *fe, uint64_t parent, const char *name, uint32_t mode, uint32_t umask,
	     struct fuse_entry_out *ret)
{
	struct fuse_mkdir_in in = {.mode = fe_fuse_mode(fe, mode, umask), .umask = umask};
	struct iovec a[2] = {IOVS(&in), IOVNAME(name)};
	return call_fixed(fe, FUSE_MKDIR, parent, a, 2, ret, sizeof(*ret));
}

int fe_unlink(struct fe *fe, uint64_t parent, const char *name)
{
	struct iovec a = IOVNAME(name);
	return fe_fuse_call(fe, FUSE_UNLINK, parent, &a, 1, NULL, 0, NULL);
}

int fe_rmdir(struct fe *fe, uint64_t parent, const char *name)
{
	struct iovec a = IOVNAME(name);
	return fe_fuse_call(fe, FUSE_RMDIR, parent, &a, 1, NULL, 0, NULL);
}

int fe_rename(struct fe *fe, uint64_t olddir, const char *oldname, uint64_t newdir,
	      const char *newname)
{
	struct fuse_rename_in in = {.newdir = newdir};
	struct iovec a[3] = {IOVS(&in), IOVNAME(oldname), IOVNAME(newname)};
	return fe_fuse_call(fe, FUSE_RENAME, olddir, a, 3, NULL, 0, NULL);
}

int fe_rename2(struct fe *fe, uint64_t olddir, const char *oldname, uint64_t newdir,
	       const char *newname, uint32_t flags)
{
	struct fuse_rename2_in in = {.newdir = newdir, .flags = flags};
	struct iovec a[3] = {IOVS(&in), IOVNAME(oldname), IOVNAME(newname)};
	return fe_fuse_call(fe, FUSE_RENAME2, olddir, a, 3, NULL, 0, NULL);
}

int fe_link(struct fe *fe, uint64_t nodeid, uint64_t newparent, const char *newname,
	    struct fuse_entry_out *ret)
{
	struct fuse_link_in in = {.oldnodeid = nodeid};
	struct iovec a[2] = {IOVS(&in), IOVNAME(newname)};
	return call_fixed(fe, FUSE_LINK, newparent, a, 2, ret, sizeof(*ret));
}

int fe_access(struct fe *fe, uint64_t nodeid, uint32_t mask)
{
	struct fuse_access_in in = {.mask = mask};
	struct iovec a = IOVS(&in);
	return fe_fuse_call(fe, FUSE_ACCESS, nodeid, &a, 1, NULL, 0, NULL);
}

int fe_statfs(struct fe *fe, uint64_t nodeid, struct fuse_statfs_out *ret)
{
	return call_fixed(fe, FUSE_STATFS, nodeid, NULL, 0, ret, sizeof(*ret));
}
