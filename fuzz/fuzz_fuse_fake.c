// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The FUSE server (fuse/) over a backend that answers from the fuzzer input: every op succeeds
 * or fails as the input says, and on success returns entries, attributes, directory entries,
 * link targets, xattr values and lists, lock descriptions and byte counts made of input bytes.
 * fuzz_fuse_null reaches only the error replies; this target fuzzes the encoding of every reply.
 * The answers keep to each op's contract in fs/ops.h (a read returns at most the room it was
 * given, getxattr's size protocol, readdir stops when fill() is full, names without '/' or NUL)
 * and are otherwise arbitrary: any stat, any timeout, any cookie.
 *
 * Input: u16 n, then n bytes of answers, then a FUSE input as in fuse_common.h. The backend
 * consumes the answers in call order (zeros once they run out: success, zero values).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/file.h>

#include "fuse_common.h"
#include "fuzz_input.h"
#include "util/log.h"
#include "util/macros.h"

/* The answers; lock waiters call the backend from their own threads. */
static pthread_mutex_t ans_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fz_in ans;

static void take(void *dst, size_t n)
{
	pthread_mutex_lock(&ans_lock);
	fz_bytes(&ans, dst, n);
	pthread_mutex_unlock(&ans_lock);
}

static uint8_t take_u8(void)
{
	uint8_t v;

	take(&v, sizeof(v));
	return v;
}

static uint32_t take_u32(void)
{
	uint32_t v;

	take(&v, sizeof(v));
	return v;
}

static uint64_t take_u64(void)
{
	uint64_t v;

	take(&v, sizeof(v));
	return v;
}

static double take_double(void)
{
	double d;

	take(&d, sizeof(d)); /* any bit pattern: NaN, infinities, negatives */
	return d;
}

/* 0 or a negative errno: one answer byte, values 192..255 are errors 1..64. */
static int result(void)
{
	uint8_t b = take_u8();

	return b >= 192 ? -(int)(b - 191) : 0;
}

static void fill_stat(struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = take_u64();
	st->st_mode = take_u32();
	st->st_nlink = take_u64();
	st->st_uid = take_u32();
	st->st_gid = take_u32();
	st->st_rdev = take_u64();
	st->st_size = (off_t)take_u64();
	st->st_blksize = (blksize_t)take_u64();
	st->st_blocks = (blkcnt_t)take_u64();
	st->st_atim.tv_sec = (time_t)take_u64();
	st->st_atim.tv_nsec = (long)take_u64();
	st->st_mtim.tv_sec = (time_t)take_u64();
	st->st_mtim.tv_nsec = (long)take_u64();
	st->st_ctim.tv_sec = (time_t)take_u64();
	st->st_ctim.tv_nsec = (long)take_u64();
}

static void fill_entry(struct fs_entry *e, bool may_be_negative)
{
	e->nodeid = take_u64();
	if (!may_be_negative && e->nodeid == 0)
		e->nodeid = FS_ROOT_ID + 1;
	e->generation = take_u64();
	fill_stat(&e->attr);
	e->attr_flags = take_u32();
	e->entry_timeout = take_double();
	e->attr_timeout = take_double();
}

static void fill_open(uint64_t *ret_fh, uint32_t *ret_open_flags)
{
	*ret_fh = take_u64();
	*ret_open_flags = take_u32();
}

/* n bytes of name, none of them '/' or NUL (a host directory cannot hold such a name). */
static void fill_name(char *buf, size_t n)
{
	take(buf, n);
	for (size_t i = 0; i < n; i++)
		if (buf[i] == '/' || buf[i] == '\0')
			buf[i] = 'x';
	buf[n] = '\0';
}

static size_t iov_total(const struct iovec *iov, int iovcnt)
{
	size_t n = 0;

	for (int i = 0; i < iovcnt; i++)
		n += iov[i].iov_len;
	return n;
}

static int f_init(struct fs_state *fs, const struct fs_init_info *info)
{
	return result();
}

static void f_destroy(struct fs_state *fs)
{
}

static void f_forget(struct fs_state *fs, uint64_t nodeid, uint64_t nlookup)
{
}

static int f_lookup(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent,
		    const char *name, struct fs_entry *ret)
{
	int r = result();

	if (r == 0)
		fill_entry(ret, true);
	return r;
}

static int f_getattr(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, bool has_fh,
		     uint64_t fh, struct stat *ret, uint32_t *ret_attr_flags, double *ret_timeout)
{
	int r = result();

	if (r < 0)
		return r;
	fill_stat(ret);
	if (ret_attr_flags)
		*ret_attr_flags = take_u32();
	*ret_timeout = take_double();
	return 0;
}

static int f_setattr(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		     const struct fs_setattr *attr, struct stat *ret, uint32_t *ret_attr_flags,
		     double *ret_timeout, struct fs_version *ret_ver)
{
	return f_getattr(fs, ctx, nodeid, attr->has_fh, attr->fh, ret, ret_attr_flags, ret_timeout);
}

static int f_readlink(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, char *buf,
		      size_t size)
{
	int r = result();
	size_t n = take_u8();

	if (r < 0)
		return r;
	if (n > size)
		return -ERANGE;
	take(buf, n);
	return (int)n;
}

static int f_entry_op(struct fs_entry *ret)
{
	int r = result();

	if (r == 0)
		fill_entry(ret, false);
	return r;
}

static int f_symlink(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent,
		     const char *name, const char *target, struct fs_entry *ret)
{
	return f_entry_op(ret);
}

static int f_mknod(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		   mode_t mode, dev_t rdev, mode_t umask, struct fs_entry *ret)
{
	return f_entry_op(ret);
}

static int f_mkdir(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		   mode_t mode, mode_t umask, struct fs_entry *ret)
{
	return f_entry_op(ret);
}

static int f_link(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		  uint64_t newparent, const char *newname, struct fs_entry *ret)
{
	return f_entry_op(ret);
}

static int f_name_op(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent,
		     const char *name)
{
	return result();
}

static int f_remove(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent,
		    const char *name, struct fs_version *ret_dirs)
{
	return result();
}

static int f_rename(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent,
		    const char *name, uint64_t newparent, const char *newname, unsigned flags,
		    struct fs_version *ret_dirs)
{
	return result();
}

static int f_open(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, int flags,
		  uint64_t *ret_fh, uint32_t *ret_open_flags)
{
	int r = result();

	if (r == 0)
		fill_open(ret_fh, ret_open_flags);
	return r;
}

static int f_create(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent,
		    const char *name, mode_t mode, int flags, mode_t umask,
		    struct fs_entry *ret_entry, uint64_t *ret_fh, uint32_t *ret_open_flags)
{
	int r = f_entry_op(ret_entry);

	if (r == 0)
		fill_open(ret_fh, ret_open_flags);
	return r;
}

static int f_tmpfile(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent, mode_t mode,
		     int flags, mode_t umask, struct fs_entry *ret_entry, uint64_t *ret_fh,
		     uint32_t *ret_open_flags)
{
	return f_create(fs, ctx, parent, NULL, mode, flags, umask, ret_entry, ret_fh,
			ret_open_flags);
}

/* A byte count of at most `room`, or an error. */
static ssize_t count(size_t room)
{
	int r = result();
	uint32_t n = take_u32();

	return r < 0 ? r : (ssize_t)MIN((size_t)n, room);
}

static ssize_t f_read(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		      const struct iovec *iov, int iovcnt, off_t off)
{
	ssize_t n = count(iov_total(iov, iovcnt));
	size_t left = n > 0 ? (size_t)n : 0;

	for (int i = 0; i < iovcnt && left; i++) {
		size_t k = MIN(left, iov[i].iov_len);

		take(iov[i].iov_base, k);
		left -= k;
	}
	return n;
}

static ssize_t f_write(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		       const struct iovec *iov, int iovcnt, off_t off, uint32_t write_flags,
		       struct fs_version *ret_ver)
{
	return count(iov_total(iov, iovcnt));
}

static int f_statfs(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		    struct statvfs *ret)
{
	int r = result();

	if (r < 0)
		return r;
	memset(ret, 0, sizeof(*ret));
	ret->f_bsize = take_u64();
	ret->f_frsize = take_u64();
	ret->f_blocks = take_u64();
	ret->f_bfree = take_u64();
	ret->f_bavail = take_u64();
	ret->f_files = take_u64();
	ret->f_ffree = take_u64();
	ret->f_namemax = take_u64();
	return 0;
}

static int f_fh_op(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh)
{
	return result();
}

static int f_flush(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		   uint64_t lock_owner)
{
	return result();
}

static int f_fsync(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		   bool datasync)
{
	return result();
}

/* Entries until fill() is full or the answer says the directory ends. */
static int f_readdir(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		     uint64_t off, bool plus, fs_fill_fn fill, void *cookie)
{
	int r = result();
	unsigned n = take_u8() % 32u;

	if (r < 0)
		return r;
	for (unsigned i = 0; i < n; i++) {
		char name[256];
		struct fs_dirent d = {.name = name};
		struct fs_entry e = {0};

		d.namelen = 1u + take_u8() % 255u;
		fill_name(name, d.namelen);
		d.ino = take_u64();
		d.off = take_u64();
		d.type = take_u8() % 16u;
		if (plus)
			fill_entry(&e, true);
		if (fill(cookie, &d, plus ? &e : NULL) == -ENOSPC)
			break;
	}
	return 0;
}

static int f_opendir(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, int flags,
		     uint64_t *ret_fh, uint32_t *ret_open_flags)
{
	return f_open(fs, ctx, nodeid, flags, ret_fh, ret_open_flags);
}

static int f_setxattr(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		      const char *name, const void *value, size_t size, int flags)
{
	return result();
}

/* getxattr's size protocol over a value of input bytes (src NULL) or a list built in src. */
static ssize_t size_protocol(const void *src, size_t len, void *buf, size_t size)
{
	if (size == 0)
		return (ssize_t)len;
	if (len > size)
		return -ERANGE;
	if (src)
		memcpy(buf, src, len);
	else
		take(buf, len);
	return (ssize_t)len;
}

static ssize_t f_getxattr(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid,
			  const char *name, void *buf, size_t size)
{
	int r = result();
	uint16_t len;

	take(&len, sizeof(len));
	return r < 0 ? r : size_protocol(NULL, len, buf, size);
}

static ssize_t f_listxattr(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid,
			   void *buf, size_t size)
{
	char list[16 * 65];
	unsigned n;
	size_t len = 0;
	int r = result();

	if (r < 0)
		return r;
	n = take_u8() % 16u;
	for (unsigned i = 0; i < n; i++) {
		size_t k = 1u + take_u8() % 64u;

		fill_name(list + len, k);
		len += k + 1;
	}
	return size_protocol(list, len, buf, size);
}

static int f_access(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, int mask)
{
	return result();
}

static int f_getlk(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		   uint64_t lock_owner, struct fs_lock *lk)
{
	static const int types[] = {F_UNLCK, F_RDLCK, F_WRLCK};
	int r = result();

	if (r < 0)
		return r;
	lk->type = types[take_u8() % ARRAY_SIZE(types)];
	lk->start = take_u64();
	lk->end = take_u64();
	lk->pid = (pid_t)take_u32();
	return 0;
}

/* Blocking calls answer at once: the waiter then completes the deferred request. */
static int f_setlk(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		   uint64_t lock_owner, const struct fs_lock *lk, bool sleep)
{
	return result();
}

static int f_flock(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		   int op, bool sleep)
{
	return result();
}

static int f_fallocate(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		       int mode, off_t off, off_t len, struct fs_version *ret_ver)
{
	return result();
}

static int f_lseek(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		   off_t off, int whence, off_t *ret)
{
	int r = result();

	if (r == 0)
		*ret = (off_t)(take_u64() & INT64_MAX);
	return r;
}

static ssize_t f_copy_file_range(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid_in,
				 uint64_t fh_in, off_t off_in, uint64_t nodeid_out, uint64_t fh_out,
				 off_t off_out, size_t len, unsigned flags,
				 struct fs_version *ret_ver)
{
	return count(len);
}

static int f_syncfs(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid)
{
	return result();
}

static bool f_dax_available(struct fs_state *fs)
{
	return take_u8() & 1;
}

static int f_setupmapping(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid,
			  uint64_t foffset, uint64_t len, uint64_t moffset, bool writable)
{
	return result();
}

static int f_removemapping(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t moffset,
			   uint64_t len)
{
	return result();
}

static const struct fs_ops fake_ops = {
	.init = f_init,
	.destroy = f_destroy,
	.lookup = f_lookup,
	.forget = f_forget,
	.getattr = f_getattr,
	.setattr = f_setattr,
	.readlink = f_readlink,
	.symlink = f_symlink,
	.mknod = f_mknod,
	.mkdir = f_mkdir,
	.unlink = f_remove,
	.rmdir = f_remove,
	.rename = f_rename,
	.link = f_link,
	.open = f_open,
	.create = f_create,
	.tmpfile = f_tmpfile,
	.read = f_read,
	.write = f_write,
	.statfs = f_statfs,
	.release = f_fh_op,
	.flush = f_flush,
	.fsync = f_fsync,
	.opendir = f_opendir,
	.readdir = f_readdir,
	.releasedir = f_fh_op,
	.fsyncdir = f_fsync,
	.setxattr = f_setxattr,
	.getxattr = f_getxattr,
	.listxattr = f_listxattr,
	.removexattr = f_name_op,
	.access = f_access,
	.getlk = f_getlk,
	.setlk = f_setlk,
	.flock = f_flock,
	.fallocate = f_fallocate,
	.lseek = f_lseek,
	.copy_file_range = f_copy_file_range,
	.syncfs = f_syncfs,
	.dax_available = f_dax_available,
	.setupmapping = f_setupmapping,
	.removemapping = f_removemapping,
};
static const struct fs_backend fake_backend = {.ops = &fake_ops};
/* One server per configuration the mode byte can select. */
static struct fuse_server *servers[8];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = {data, size};
	const uint8_t *answers, *rest;
	size_t nanswers = fz_take(&in, &answers, fz_u16(&in));
	uint8_t mode;
	unsigned cfg;

	fz_take(&in, &rest, in.n);
	mode = fz_fuse_mode(rest, size - (size_t)(rest - data));
	cfg = (mode & (FZF_XATTR_OFF | FZF_NO_LOCKS)) >> 1;
	log_set_level(LOG_LEVEL_OFF);
	if (!servers[cfg]) {
		servers[cfg] = fz_fuse_server(&fake_backend, mode);
		if (!servers[cfg])
			abort();
	}
	pthread_mutex_lock(&ans_lock);
	ans = (struct fz_in){answers, nanswers};
	pthread_mutex_unlock(&ans_lock);
	/* fz_fuse_run ends with a session reset: no waiter reads the answers after it. */
	fz_fuse_run(servers[cfg], rest, size - (size_t)(rest - data));
	return 0;
}
