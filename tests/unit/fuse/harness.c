// SPDX-License-Identifier: GPL-2.0-or-later
/* Mock backend and request plumbing for the FUSE server tests. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

struct mock mock;
struct reply rep;
struct rq rq;
enum split_mode split_mode = SPLIT_ODD;

pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;
unsigned done_count;
size_t done_written;
void *done_cookie;

void mock_reset(void)
{
	int efd = mock.lock_efd;

	pthread_mutex_destroy(&mock.lock);
	memset(&mock, 0, sizeof(mock));
	pthread_mutex_init(&mock.lock, NULL);
	mock.lock_efd = efd;
}

static void record(const char *op, const struct fs_ctx *ctx)
{
	snprintf(mock.op, sizeof(mock.op), "%s", op);
	mock.calls++;
	if (ctx) {
		mock.ctx = *ctx;
		for (unsigned i = 0; i < ctx->ngroups && i < 64; i++)
			mock.groups[i] = ctx->groups[i];
	}
}

static void copy_name(char *dst, const char *src)
{
	snprintf(dst, 1100, "%s", src);
}

static int m_init(struct fs_state *fs, const struct fs_init_info *info)
{
	record("init", NULL);
	mock.init_info = *info;
	mock.init_calls++;
	return mock.ret;
}

static void m_destroy(struct fs_state *fs)
{
	record("destroy", NULL);
	mock.destroy_calls++;
}

static int entry_result(struct fs_entry *ret)
{
	if (mock.ret < 0)
		return mock.ret;
	*ret = mock.entry;
	return 0;
}

static int m_lookup(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent,
		    const char *name, struct fs_entry *ret)
{
	record("lookup", ctx);
	mock.nodeid = parent;
	copy_name(mock.name, name);
	return entry_result(ret);
}

static void m_forget(struct fs_state *fs, uint64_t nodeid, uint64_t nlookup)
{
	record("forget", NULL);
	mock.forget_calls++;
	mock.nodeid = nodeid;
	mock.forget_sum += nlookup;
}

static int m_getattr(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, bool has_fh,
		     uint64_t fh, struct stat *ret, uint32_t *ret_attr_flags, double *ret_timeout)
{
	record("getattr", ctx);
	mock.nodeid = nodeid;
	mock.has_fh = has_fh;
	mock.fh = fh;
	if (mock.ret < 0)
		return mock.ret;
	*ret = mock.entry.attr;
	*ret_timeout = mock.entry.attr_timeout;
	return 0;
}

static int m_setattr(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		     const struct fs_setattr *attr, struct stat *ret, uint32_t *ret_attr_flags,
		     double *ret_timeout, struct fs_version *ret_ver)
{
	record("setattr", ctx);
	mock.nodeid = nodeid;
	mock.sa = *attr;
	if (mock.ret < 0)
		return mock.ret;
	*ret = mock.entry.attr;
	*ret_timeout = mock.entry.attr_timeout;
	return 0;
}

static int m_readlink(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, char *buf,
		      size_t size)
{
	record("readlink", ctx);
	mock.nodeid = nodeid;
	if (mock.ret < 0)
		return mock.ret;
	if (mock.data_len > size)
		return -ERANGE;
	memcpy(buf, mock.data, mock.data_len);
	return (int)mock.data_len;
}

static int m_symlink(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent,
		     const char *name, const char *target, struct fs_entry *ret)
{
	record("symlink", ctx);
	mock.nodeid = parent;
	copy_name(mock.name, name);
	snprintf(mock.target, sizeof(mock.target), "%s", target);
	return entry_result(ret);
}

static int m_mknod(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		   mode_t mode, dev_t rdev, mode_t umask, struct fs_entry *ret)
{
	record("mknod", ctx);
	mock.nodeid = parent;
	copy_name(mock.name, name);
	mock.mode = mode;
	mock.rdev = rdev;
	mock.umask = umask;
	return entry_result(ret);
}

static int m_mkdir(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		   mode_t mode, mode_t umask, struct fs_entry *ret)
{
	record("mkdir", ctx);
	mock.nodeid = parent;
	copy_name(mock.name, name);
	mock.mode = mode;
	mock.umask = umask;
	return entry_result(ret);
}

static int m_unlink(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent,
		    const char *name, struct fs_version *ret_dirs)
{
	record("unlink", ctx);
	mock.nodeid = parent;
	copy_name(mock.name, name);
	return mock.ret;
}

static int m_rmdir(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		   struct fs_version *ret_dirs)
{
	record("rmdir", ctx);
	mock.nodeid = parent;
	copy_name(mock.name, name);
	return mock.ret;
}

static int m_rename(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent,
		    const char *name, uint64_t newparent, const char *newname, unsigned flags,
		    struct fs_version *ret_dirs)
{
	record("rename", ctx);
	mock.nodeid = parent;
	mock.nodeid2 = newparent;
	copy_name(mock.name, name);
	copy_name(mock.name2, newname);
	mock.uflags = flags;
	return mock.ret;
}

static int m_link(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		  uint64_t newparent, const char *newname, struct fs_entry *ret)
{
	record("link", ctx);
	mock.nodeid = nodeid;
	mock.nodeid2 = newparent;
	copy_name(mock.name, newname);
	return entry_result(ret);
}

static int m_open(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, int flags,
		  uint64_t *ret_fh, uint32_t *ret_open_flags)
{
	record("open", ctx);
	mock.nodeid = nodeid;
	mock.flags = flags;
	if (mock.ret < 0)
		return mock.ret;
	*ret_fh = 77;
	*ret_open_flags = FS_OPEN_KEEP_CACHE | FS_OPEN_DIRECT_IO;
	return 0;
}

static int m_create(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent,
		    const char *name, mode_t mode, int flags, mode_t umask,
		    struct fs_entry *ret_entry, uint64_t *ret_fh, uint32_t *ret_open_flags)
{
	record("create", ctx);
	mock.nodeid = parent;
	copy_name(mock.name, name);
	mock.mode = mode;
	mock.flags = flags;
	mock.umask = umask;
	if (mock.ret < 0)
		return mock.ret;
	*ret_entry = mock.entry;
	*ret_fh = 88;
	*ret_open_flags = FS_OPEN_CACHE_DIR;
	return 0;
}

static int m_tmpfile(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent, mode_t mode,
		     int flags, mode_t umask, struct fs_entry *ret_entry, uint64_t *ret_fh,
		     uint32_t *ret_open_flags)
{
	record("tmpfile", ctx);
	mock.nodeid = parent;
	mock.mode = mode;
	mock.flags = flags;
	mock.umask = umask;
	if (mock.ret < 0)
		return mock.ret;
	*ret_entry = mock.entry;
	*ret_fh = 99;
	*ret_open_flags = 0;
	return 0;
}

static ssize_t m_read(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		      const struct iovec *iov, int iovcnt, off_t off)
{
	size_t done = 0;

	record("read", ctx);
	mock.nodeid = nodeid;
	mock.fh = fh;
	mock.off = off;
	mock.size = (size_t)iovcnt;
	if (mock.ret < 0)
		return mock.ret;
	for (int i = 0; i < iovcnt; i++)
		for (size_t j = 0; j < iov[i].iov_len && done < mock.data_len; j++)
			((uint8_t *)iov[i].iov_base)[j] = mock.data[done++];
	return (ssize_t)done;
}

static ssize_t m_write(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		       const struct iovec *iov, int iovcnt, off_t off, uint32_t write_flags,
		       struct fs_version *ret_ver)
{
	size_t done = 0;

	record("write", ctx);
	mock.nodeid = nodeid;
	mock.fh = fh;
	mock.off = off;
	mock.write_flags = write_flags;
	if (mock.ret < 0)
		return mock.ret;
	for (int i = 0; i < iovcnt; i++)
		for (size_t j = 0; j < iov[i].iov_len; j++) {
			if (done < sizeof(mock.data))
				mock.data[done] = ((uint8_t *)iov[i].iov_base)[j];
			done++;
		}
	mock.data_len = done;
	return (ssize_t)done;
}

static int m_statfs(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		    struct statvfs *ret)
{
	record("statfs", ctx);
	memset(ret, 0, sizeof(*ret));
	ret->f_blocks = 1000;
	ret->f_bfree = 500;
	ret->f_bavail = 400;
	ret->f_files = 300;
	ret->f_ffree = 200;
	ret->f_bsize = 4096;
	ret->f_frsize = 512;
	ret->f_namemax = 255;
	return mock.ret;
}

static int m_release(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh)
{
	record("release", ctx);
	mock.release_calls++;
	mock.fh = fh;
	return mock.ret;
}

static int m_flush(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		   uint64_t lock_owner)
{
	record("flush", ctx);
	mock.flush_calls++;
	mock.fh = fh;
	mock.owner = lock_owner;
	return mock.ret;
}

static int m_fsync(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		   bool datasync)
{
	record("fsync", ctx);
	mock.fh = fh;
	mock.datasync = datasync;
	return mock.ret;
}

static int m_opendir(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, int flags,
		     uint64_t *ret_fh, uint32_t *ret_open_flags)
{
	record("opendir", ctx);
	mock.flags = flags;
	*ret_fh = 55;
	*ret_open_flags = FS_OPEN_CACHE_DIR;
	return mock.ret;
}

static int m_readdir(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		     uint64_t off, bool plus, fs_fill_fn fill, void *cookie)
{
	record("readdir", ctx);
	mock.fh = fh;
	mock.off = (off_t)off;
	mock.plus = plus;
	for (unsigned i = (unsigned)off; i < mock.dir_entries; i++) {
		char name[64];
		struct fs_entry e = mock.entry;
		struct fs_dirent d = {.ino = 100 + i, .off = i + 1, .type = 8, .name = name};

		d.namelen = (size_t)snprintf(name, sizeof(name), "entry-%u%s", i,
					     i % 3 ? "x" : "longer-name");
		e.nodeid = 1000 + i;
		if (fill(cookie, &d, plus ? &e : NULL) == -ENOSPC) {
			mock.dir_enospc = true;
			break;
		}
		mock.dir_filled++;
	}
	return mock.ret;
}

static int m_releasedir(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh)
{
	record("releasedir", ctx);
	mock.fh = fh;
	return mock.ret;
}

static int m_fsyncdir(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		      bool datasync)
{
	record("fsyncdir", ctx);
	mock.fh = fh;
	mock.datasync = datasync;
	return mock.ret;
}

static int m_setxattr(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		      const char *name, const void *value, size_t size, int flags)
{
	record("setxattr", ctx);
	copy_name(mock.name, name);
	memcpy(mock.data, value, size);
	mock.data_len = size;
	mock.flags = flags;
	return mock.ret;
}

static ssize_t m_getxattr(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid,
			  const char *name, void *buf, size_t size)
{
	record("getxattr", ctx);
	copy_name(mock.name, name);
	mock.size = size;
	if (mock.ret < 0)
		return mock.ret;
	if (size == 0)
		return (ssize_t)mock.data_len;
	if (mock.data_len > size)
		return -ERANGE;
	memcpy(buf, mock.data, mock.data_len);
	return (ssize_t)mock.data_len;
}

static ssize_t m_listxattr(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid,
			   void *buf, size_t size)
{
	record("listxattr", ctx);
	mock.size = size;
	if (size == 0)
		return (ssize_t)mock.data_len;
	if (mock.data_len > size)
		return -ERANGE;
	memcpy(buf, mock.data, mock.data_len);
	return (ssize_t)mock.data_len;
}

static int m_removexattr(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid,
			 const char *name)
{
	record("removexattr", ctx);
	copy_name(mock.name, name);
	return mock.ret;
}

static int m_access(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, int mask)
{
	record("access", ctx);
	mock.mask = mask;
	return mock.ret;
}

static int m_getlk(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		   uint64_t lock_owner, struct fs_lock *lk)
{
	record("getlk", ctx);
	mock.owner = lock_owner;
	mock.lk = *lk;
	lk->type = F_WRLCK;
	lk->pid = 4242;
	return mock.ret;
}

/* Blocks until the eventfd is written (lock granted) or a signal arrives. */
static int blocking_wait(void)
{
	struct pollfd p = {.fd = mock.lock_efd, .events = POLLIN};
	uint64_t v;

	if (poll(&p, 1, -1) < 0)
		return -errno;
	if (read(mock.lock_efd, &v, sizeof(v)) < 0)
		return -errno;
	return mock.lock_result;
}

static int m_setlk(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		   uint64_t lock_owner, const struct fs_lock *lk, bool sleep)
{
	pthread_mutex_lock(&mock.lock);
	record(sleep ? "setlkw" : "setlk", ctx);
	mock.owner = lock_owner;
	mock.lk = *lk;
	mock.sleep = sleep;
	pthread_mutex_unlock(&mock.lock);
	if (!sleep)
		return mock.setlk_conflict ? -EAGAIN : mock.ret;
	return blocking_wait();
}

static int m_flock(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		   int op, bool sleep)
{
	pthread_mutex_lock(&mock.lock);
	record(sleep ? "flockw" : "flock", ctx);
	mock.flock_calls++;
	mock.flock_op = op;
	mock.sleep = sleep;
	pthread_mutex_unlock(&mock.lock);
	if (!sleep)
		return mock.setlk_conflict ? -EAGAIN : mock.ret;
	return blocking_wait();
}

static int m_fallocate(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		       int mode, off_t off, off_t len, struct fs_version *ret_ver)
{
	record("fallocate", ctx);
	mock.fh = fh;
	mock.flags = mode;
	mock.off = off;
	mock.len = len;
	return mock.ret;
}

static int m_lseek(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		   off_t off, int whence, off_t *ret)
{
	record("lseek", ctx);
	mock.off = off;
	mock.whence = whence;
	*ret = off + 10;
	return mock.ret;
}

static ssize_t m_copy_file_range(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid_in,
				 uint64_t fh_in, off_t off_in, uint64_t nodeid_out, uint64_t fh_out,
				 off_t off_out, size_t len, unsigned flags,
				 struct fs_version *ret_ver)
{
	record("copy_file_range", ctx);
	mock.nodeid = nodeid_in;
	mock.fh = fh_in;
	mock.off = off_in;
	mock.nodeid2 = nodeid_out;
	mock.fh2 = fh_out;
	mock.off2 = off_out;
	mock.size = len;
	return mock.ret < 0 ? mock.ret : (ssize_t)(len / 2);
}

static int m_syncfs(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid)
{
	record("syncfs", ctx);
	mock.nodeid = nodeid;
	return mock.ret;
}

const struct fs_ops mock_ops = {
	.init = m_init,
	.destroy = m_destroy,
	.lookup = m_lookup,
	.forget = m_forget,
	.getattr = m_getattr,
	.setattr = m_setattr,
	.readlink = m_readlink,
	.symlink = m_symlink,
	.mknod = m_mknod,
	.mkdir = m_mkdir,
	.unlink = m_unlink,
	.rmdir = m_rmdir,
	.rename = m_rename,
	.link = m_link,
	.open = m_open,
	.create = m_create,
	.tmpfile = m_tmpfile,
	.read = m_read,
	.write = m_write,
	.statfs = m_statfs,
	.release = m_release,
	.flush = m_flush,
	.fsync = m_fsync,
	.opendir = m_opendir,
	.readdir = m_readdir,
	.releasedir = m_releasedir,
	.fsyncdir = m_fsyncdir,
	.setxattr = m_setxattr,
	.getxattr = m_getxattr,
	.listxattr = m_listxattr,
	.removexattr = m_removexattr,
	.access = m_access,
	.getlk = m_getlk,
	.setlk = m_setlk,
	.flock = m_flock,
	.fallocate = m_fallocate,
	.lseek = m_lseek,
	.copy_file_range = m_copy_file_range,
	.syncfs = m_syncfs,
};

static const struct fs_ops null_ops;
struct fs_backend mock_backend = {.ops = &mock_ops};
struct fs_backend null_backend = {.ops = &null_ops};

void test_complete(void *cookie, size_t written)
{
	pthread_mutex_lock(&done_lock);
	done_count++;
	done_written = written;
	done_cookie = cookie;
	pthread_cond_broadcast(&done_cond);
	pthread_mutex_unlock(&done_lock);
}

bool wait_done(unsigned n)
{
	struct timespec ts;
	bool ok;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 2;
	pthread_mutex_lock(&done_lock);
	while (done_count < n)
		if (pthread_cond_timedwait(&done_cond, &done_lock, &ts))
			break;
	ok = done_count >= n;
	pthread_mutex_unlock(&done_lock);
	return ok;
}

void rq_init(struct rq *q, uint32_t opcode, uint64_t nodeid, uint64_t unique)
{
	struct fuse_in_header ih = {
		.opcode = opcode,
		.unique = unique,
		.nodeid = nodeid,
		.uid = 1000,
		.gid = 100,
		.pid = 4321,
	};

	q->len = 0;
	rq_add(q, &ih, sizeof(ih));
}

void rq_add(struct rq *q, const void *p, size_t n)
{
	if (q->len + n > sizeof(q->buf))
		abort(); /* test bug */
	memcpy(q->buf + q->len, p, n);
	q->len += n;
}

void rq_str(struct rq *q, const char *s)
{
	rq_add(q, s, strlen(s) + 1);
}

void rq_fix_len(struct rq *q)
{
	uint32_t len = (uint32_t)q->len;

	memcpy(q->buf, &len, sizeof(len));
}

#define MAX_PIECES 65536
#define NSLOTS	   8
static struct iovec in_iov[MAX_PIECES];
static struct iovec out_iov[NSLOTS][MAX_PIECES];
static unsigned out_cnt[NSLOTS];
static uint8_t out_buf[NSLOTS][(1 << 21) + 256];
static uint8_t in_copy[1 << 21];
static int next_slot;

static unsigned split(uint8_t *buf, size_t len, struct iovec *iov)
{
	static const size_t odd[] = {1, 0, 3, 7, 2, 13, 5, 0, 31, 11, 64, 9, 17, 40};
	unsigned n = 0, k = 0;
	size_t off = 0;

	if (split_mode == SPLIT_ONE) {
		iov[0] = (struct iovec){buf, len};
		return 1;
	}
	while (off < len || (n == 0)) {
		size_t piece;

		if (split_mode == SPLIT_ODD)
			piece = odd[k++ % (sizeof(odd) / sizeof(odd[0]))];
		else
			piece = n == 0 ? 23 : 4096;
		if (n >= 2000) /* keep big buffers within the piece budget */
			piece = len - off;
		piece = piece < len - off ? piece : len - off;
		iov[n++] = (struct iovec){buf + off, piece};
		off += piece;
		if (n == MAX_PIECES)
			abort();
	}
	return n;
}

static void gather(struct reply *r)
{
	uint8_t *b = out_buf[r->slot];

	memset(&r->oh, 0, sizeof(r->oh));
	r->dlen = 0;
	if (r->written >= sizeof(r->oh)) {
		memcpy(&r->oh, b, sizeof(r->oh));
		r->dlen = r->written - sizeof(r->oh);
		memcpy(r->data, b + sizeof(r->oh), r->dlen);
	}
}

void gather_deferred(struct reply *r)
{
	r->written = done_written;
	gather(r);
}

size_t send_raw(struct fuse_server *srv, const void *buf, size_t len, size_t room, struct reply *r)
{
	unsigned in_cnt;
	int slot = next_slot++ % NSLOTS;

	memcpy(in_copy, buf, len);
	in_cnt = len ? split(in_copy, len, in_iov) : 0;
	memset(out_buf[slot], 0xa5, room);
	out_cnt[slot] = room ? split(out_buf[slot], room, out_iov[slot]) : 0;
	r->slot = slot;
	r->handled = fuse_server_handle(srv, in_iov, in_cnt, out_iov[slot], out_cnt[slot],
					(void *)(uintptr_t)(slot + 1), &r->written);
	gather(r);
	return r->written;
}

size_t send_rq(struct fuse_server *srv, struct rq *q, size_t room, struct reply *r)
{
	rq_fix_len(q);
	return send_raw(srv, q->buf, q->len, room, r);
}

struct fuse_server *new_server(const struct fuse_server_config *cfg)
{
	struct fuse_server_config def;

	if (!cfg) {
		fuse_server_config_default(&def);
		cfg = &def;
	}
	mock_reset();
	if (!mock.lock_efd)
		mock.lock_efd = eventfd(0, EFD_CLOEXEC);
	return fuse_server_new(&mock_backend, cfg, test_complete);
}

int do_init(struct fuse_server *srv, uint32_t minor, uint64_t flags, bool ext,
	    struct fuse_init_out *ret)
{
	struct fuse_init_in in = {
		.major = 7,
		.minor = minor,
		.max_readahead = 131072,
		.flags = (uint32_t)flags | (ext ? FUSE_INIT_EXT : 0),
		.flags2 = (uint32_t)(flags >> 32),
	};

	rq_init(&rq, FUSE_INIT, 0, 2);
	rq_add(&rq, &in, ext ? sizeof(in) : 16);
	send_rq(srv, &rq, 4096, &rep);
	if (ret) {
		memset(ret, 0, sizeof(*ret));
		memcpy(ret, rep.data, rep.dlen < sizeof(*ret) ? rep.dlen : sizeof(*ret));
	}
	return rep.oh.error;
}
