// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The FUSE server core: request framing, the opcode table, extension headers, session locking
 * and reply framing. The op handlers live in op_*.c, one file per family.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuse/fuse_internal.h"

enum {
	OPF_NO_REPLY = 1u << 0,	 /* the guest expects no reply at all */
	OPF_EXCLUSIVE = 1u << 1, /* runs with session_lock write-held (session start/end) */
	OPF_XATTR = 1u << 2,	 /* served only when cfg.xattr is set, else ENOSYS */
	/* With the version table negotiated the reply carries an extension (vt_proto.h). */
	OPF_VT_ENTRY = 1u << 3,
	OPF_VT_ATTR = 1u << 4,
};

struct fuse_op_desc {
	const char *name;
	fuse_op_fn fn;
	/* BE(op): the backend op the handler calls unconditionally (0: none, or one it picks
	 * per request and checks itself, as SETLK's setlk or flock). */
	size_t be_op;
	uint32_t min_in;   /* fixed argument bytes the op needs */
	uint32_t out_size; /* fixed reply payload, checked against the room before the call */
	uint32_t flags;
};

static int op_enosys(struct fuse_req *req)
{
	return -ENOSYS;
}

/* Linux treats ENOTTY from IOCTL as "not supported" without disabling ioctls for the mount. */
static int op_enotty(struct fuse_req *req)
{
	return -ENOTTY;
}

static int op_no_reply(struct fuse_req *req)
{
	return FUSE_OP_NO_REPLY;
}

/* The struct fs_ops slot a handler calls: an op without one is answered ENOSYS here, so the
 * handlers never check. Stored as offset + 1, so that 0 (left out) means "none". */
#define BE(op) (offsetof(struct fs_ops, op) + 1)

#define OP(code, fn_, be_, in_, out_, flags_) \
	[code] = {.name = #code,              \
		  .fn = (fn_),                \
		  .be_op = (be_),             \
		  .min_in = (in_),            \
		  .out_size = (out_),         \
		  .flags = (flags_)}

static const struct fuse_op_desc fuse_ops[] = {
	OP(FUSE_LOOKUP, fuse_op_lookup, BE(lookup), 0, sizeof(struct fuse_entry_out), OPF_VT_ENTRY),
	OP(FUSE_FORGET, fuse_op_forget, BE(forget), sizeof(struct fuse_forget_in), 0, OPF_NO_REPLY),
	OP(FUSE_GETATTR, fuse_op_getattr, BE(getattr), sizeof(struct fuse_getattr_in),
	   sizeof(struct fuse_attr_out), OPF_VT_ATTR),
	OP(FUSE_SETATTR, fuse_op_setattr, BE(setattr), sizeof(struct fuse_setattr_in),
	   sizeof(struct fuse_attr_out), OPF_VT_ATTR),
	OP(FUSE_READLINK, fuse_op_readlink, BE(readlink), 0, 0, 0),
	OP(FUSE_SYMLINK, fuse_op_symlink, BE(symlink), 0, sizeof(struct fuse_entry_out),
	   OPF_VT_ENTRY),
	OP(FUSE_MKNOD, fuse_op_mknod, BE(mknod), sizeof(struct fuse_mknod_in),
	   sizeof(struct fuse_entry_out), OPF_VT_ENTRY),
	OP(FUSE_MKDIR, fuse_op_mkdir, BE(mkdir), sizeof(struct fuse_mkdir_in),
	   sizeof(struct fuse_entry_out), OPF_VT_ENTRY),
	OP(FUSE_UNLINK, fuse_op_unlink, BE(unlink), 0, 0, 0),
	OP(FUSE_RMDIR, fuse_op_rmdir, BE(rmdir), 0, 0, 0),
	OP(FUSE_RENAME, fuse_op_rename, BE(rename), sizeof(struct fuse_rename_in), 0, 0),
	OP(FUSE_LINK, fuse_op_link, BE(link), sizeof(struct fuse_link_in),
	   sizeof(struct fuse_entry_out), OPF_VT_ENTRY),
	OP(FUSE_OPEN, fuse_op_open, BE(open), sizeof(struct fuse_open_in),
	   sizeof(struct fuse_open_out), 0),
	OP(FUSE_READ, fuse_op_read, BE(read), sizeof(struct fuse_read_in), 0, 0),
	OP(FUSE_WRITE, fuse_op_write, BE(write), sizeof(struct fuse_write_in),
	   sizeof(struct fuse_write_out), 0),
	OP(FUSE_STATFS, fuse_op_statfs, BE(statfs), 0, sizeof(struct fuse_statfs_out), 0),
	OP(FUSE_RELEASE, fuse_op_release, BE(release), sizeof(struct fuse_release_in), 0, 0),
	OP(FUSE_FSYNC, fuse_op_fsync, BE(fsync), sizeof(struct fuse_fsync_in), 0, 0),
	OP(FUSE_SETXATTR, fuse_op_setxattr, BE(setxattr), FUSE_COMPAT_SETXATTR_IN_SIZE, 0,
	   OPF_XATTR),
	OP(FUSE_GETXATTR, fuse_op_getxattr, BE(getxattr), sizeof(struct fuse_getxattr_in), 0,
	   OPF_XATTR),
	OP(FUSE_LISTXATTR, fuse_op_listxattr, BE(listxattr), sizeof(struct fuse_getxattr_in), 0,
	   OPF_XATTR),
	OP(FUSE_REMOVEXATTR, fuse_op_removexattr, BE(removexattr), 0, 0, OPF_XATTR),
	OP(FUSE_FLUSH, fuse_op_flush, BE(flush), sizeof(struct fuse_flush_in), 0, 0),
	OP(FUSE_INIT, fuse_op_init, 0, 8, 0, OPF_EXCLUSIVE),
	OP(FUSE_OPENDIR, fuse_op_opendir, BE(opendir), sizeof(struct fuse_open_in),
	   sizeof(struct fuse_open_out), 0),
	OP(FUSE_READDIR, fuse_op_readdir, BE(readdir), sizeof(struct fuse_read_in), 0, 0),
	OP(FUSE_RELEASEDIR, fuse_op_releasedir, BE(releasedir), sizeof(struct fuse_release_in), 0,
	   0),
	OP(FUSE_FSYNCDIR, fuse_op_fsyncdir, BE(fsyncdir), sizeof(struct fuse_fsync_in), 0, 0),
	OP(FUSE_GETLK, fuse_op_getlk, BE(getlk), sizeof(struct fuse_lk_in),
	   sizeof(struct fuse_lk_out), 0),
	OP(FUSE_SETLK, fuse_op_setlk, 0, sizeof(struct fuse_lk_in), 0, 0),
	OP(FUSE_SETLKW, fuse_op_setlk, 0, sizeof(struct fuse_lk_in), 0, 0),
	OP(FUSE_ACCESS, fuse_op_access, BE(access), sizeof(struct fuse_access_in), 0, 0),
	OP(FUSE_CREATE, fuse_op_create, BE(create), sizeof(struct fuse_create_in),
	   sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out), OPF_VT_ENTRY),
	OP(FUSE_INTERRUPT, fuse_op_interrupt, 0, sizeof(struct fuse_interrupt_in), 0, OPF_NO_REPLY),
	OP(FUSE_BMAP, op_enosys, 0, 0, 0, 0),
	OP(FUSE_DESTROY, fuse_op_destroy, 0, 0, 0, OPF_EXCLUSIVE),
	OP(FUSE_IOCTL, op_enotty, 0, 0, 0, 0),
	/* ENOSYS makes the guest fall back to the default poll mask for good. */
	OP(FUSE_POLL, op_enosys, 0, 0, 0, 0),
	OP(FUSE_NOTIFY_REPLY, op_no_reply, 0, 0, 0, OPF_NO_REPLY),
	OP(FUSE_BATCH_FORGET, fuse_op_batch_forget, BE(forget), sizeof(struct fuse_batch_forget_in),
	   0, OPF_NO_REPLY),
	OP(FUSE_FALLOCATE, fuse_op_fallocate, BE(fallocate), sizeof(struct fuse_fallocate_in), 0,
	   0),
	OP(FUSE_READDIRPLUS, fuse_op_readdir, BE(readdir), sizeof(struct fuse_read_in), 0, 0),
	OP(FUSE_RENAME2, fuse_op_rename2, BE(rename), sizeof(struct fuse_rename2_in), 0, 0),
	OP(FUSE_LSEEK, fuse_op_lseek, BE(lseek), sizeof(struct fuse_lseek_in),
	   sizeof(struct fuse_lseek_out), 0),
	OP(FUSE_COPY_FILE_RANGE, fuse_op_copy_file_range, BE(copy_file_range),
	   sizeof(struct fuse_copy_file_range_in), sizeof(struct fuse_write_out), 0),
	OP(FUSE_SETUPMAPPING, fuse_op_setupmapping, 0, 0, 0, 0),
	OP(FUSE_REMOVEMAPPING, fuse_op_removemapping, 0, 0, 0, 0),
	OP(FUSE_SYNCFS, fuse_op_syncfs, BE(syncfs), sizeof(struct fuse_syncfs_in), 0, 0),
	OP(FUSE_TMPFILE, fuse_op_tmpfile, BE(tmpfile), sizeof(struct fuse_create_in),
	   sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out), OPF_VT_ENTRY),
	OP(FUSE_STATX, fuse_op_statx, BE(statx), sizeof(struct fuse_statx_in),
	   sizeof(struct fuse_statx_out), 0),
	OP(FUSE_COPY_FILE_RANGE_64, fuse_op_copy_file_range_64, BE(copy_file_range),
	   sizeof(struct fuse_copy_file_range_in), sizeof(struct fuse_copy_file_range_out), 0),
};

/* Whether the backend fills the slot of struct fs_ops that BE() recorded. */
static bool be_serves(const struct fs_ops *ops, size_t be_op)
{
	void (*fn)(void);

	if (be_op == 0)
		return true;
	/* Every slot is a function pointer; memcpy reads it whatever its prototype. */
	memcpy(&fn, (const char *)ops + be_op - 1, sizeof(fn));
	return fn != NULL;
}

static const struct fuse_op_desc *op_desc(uint32_t opcode)
{
	if (opcode >= ARRAY_SIZE(fuse_ops) || !fuse_ops[opcode].fn)
		return NULL;
	return &fuse_ops[opcode];
}

const char *fuse_opcode_name(uint32_t opcode)
{
	const struct fuse_op_desc *d = op_desc(opcode);

	/* Skip the "FUSE_" of the stringified constant. */
	return d ? d->name + 5 : "UNKNOWN";
}

uint64_t fuse_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void fuse_log_request(uint32_t opcode, uint64_t nodeid, uint64_t unique, int r, uint64_t start_ns)
{
	const char *result;
	char unknown[24] = "";

	if (!log_enabled(LOG_LEVEL_DEBUG) || !start_ns)
		return;
	if (r == FUSE_OP_NO_REPLY)
		result = "no reply";
	else if (r == FUSE_OP_DEFERRED)
		result = "deferred";
	else if (r >= 0)
		result = "ok";
	else
		result = strerrorname_np(-r) ?: "error";
	if (!op_desc(opcode))
		snprintf(unknown, sizeof(unknown), "(%u)", opcode);
	log_flow(LOG_LEVEL_DEBUG, "fuse: %s%s nodeid %llu unique %llu: %s in %llu us",
		 fuse_opcode_name(opcode), unknown, (unsigned long long)nodeid,
		 (unsigned long long)unique, result,
		 (unsigned long long)(sat_sub_u64(fuse_now_ns(), start_ns) / 1000));
}

void fuse_server_config_default(struct fuse_server_config *cfg)
{
	*cfg = (struct fuse_server_config){
		.max_write = 1u << 20,
		.readdirplus = true,
		.posix_locks = true,
		.flock_locks = true,
		.announce_submounts = true,
	};
}

struct fuse_server *fuse_server_new(const struct fs_backend *be,
				    const struct fuse_server_config *cfg, fuse_complete_fn complete)
{
	_cleanup_free_ struct fuse_server *srv = NULL;
	pthread_rwlockattr_t attr;
	int r;

	/* max_pages is 16 bits of 4 KiB pages; Linux wants at least one page. */
	if (!be || !be->ops || !cfg || !complete || cfg->max_write < 4096 ||
	    cfg->max_write > (16u << 20)) {
		errno = EINVAL;
		return NULL;
	}
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return NULL;
	srv->be = be;
	srv->cfg = *cfg;
	srv->complete = complete;

	pthread_rwlockattr_init(&attr);
	/* INIT/DESTROY must get through a steady stream of requests. */
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	r = pthread_rwlock_init(&srv->session_lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	if (r) {
		errno = r;
		return NULL;
	}
	r = fuse_lock_wait_init(&srv->waiters);
	if (r < 0) {
		pthread_rwlock_destroy(&srv->session_lock);
		errno = -r;
		return NULL;
	}
	return TAKE_PTR(srv);
}

void fuse_server_free(struct fuse_server *srv)
{
	if (!srv)
		return;
	fuse_server_reset(srv);
	fuse_lock_wait_done(&srv->waiters);
	pthread_rwlock_destroy(&srv->session_lock);
	free(srv);
}

void fuse_server_answer_deferred(struct fuse_server *srv)
{
	fuse_lock_wait_interrupt_all(&srv->waiters);
}

void fuse_session_end(struct fuse_server *srv)
{
	fuse_lock_wait_cancel_all(&srv->waiters);
	if (srv->initialized && srv->be->ops->destroy)
		srv->be->ops->destroy(srv->be->fs);
	srv->initialized = false;
	srv->minor = 0;
	srv->flags = 0;
}

void fuse_server_reset(struct fuse_server *srv)
{
	pthread_rwlock_wrlock(&srv->session_lock);
	fuse_session_end(srv);
	pthread_rwlock_unlock(&srv->session_lock);
}

static int parse_groups(struct fuse_req *req, struct fuse_reader *ext, size_t body)
{
	uint32_t guest_nr;

	if (body < sizeof(guest_nr) || fuse_reader_read(ext, &guest_nr, sizeof(guest_nr)) < 0)
		return -EINVAL;
	if (guest_nr > FUSE_MAX_SUPP_GROUPS ||
	    (size_t)guest_nr * sizeof(uint32_t) > body - sizeof(guest_nr)) {
		fuse_log_guest(req, "bad supplementary group count %u", guest_nr);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < guest_nr; i++) {
		uint32_t g;

		if (fuse_reader_read(ext, &g, sizeof(g)) < 0)
			return -EINVAL;
		req->groups[i] = g;
	}
	req->ctx.groups = req->groups;
	req->ctx.ngroups = guest_nr;
	return fuse_reader_skip(ext, body - sizeof(guest_nr) - guest_nr * sizeof(uint32_t));
}

/*
 * FUSE 7.38 extensions trail the arguments, total_extlen 8-byte units of them, each a
 * fuse_ext_header (size including itself, a multiple of 8) and a body. Trims req->r to the
 * arguments. Before 7.38 the field was padding, so it is ignored.
 */
static int parse_extensions(struct fuse_req *req, uint16_t guest_extlen)
{
	size_t arglen = fuse_reader_remaining(&req->r), extlen = (size_t)guest_extlen * 8;
	struct fuse_reader ext;

	if (req->srv->minor < 38 || guest_extlen == 0)
		return 0;
	if (extlen > arglen) {
		fuse_log_guest(req, "total_extlen %zu beyond the request", extlen);
		return -EINVAL;
	}
	ext = req->r;
	fuse_reader_skip(&ext, arglen - extlen);
	fuse_reader_limit(&req->r, arglen - extlen);
	while (fuse_reader_remaining(&ext) > 0) {
		struct fuse_ext_header eh;
		size_t body;
		int r;

		if (fuse_reader_read(&ext, &eh, sizeof(eh)) < 0 || eh.size < sizeof(eh) ||
		    eh.size % 8 || eh.size - sizeof(eh) > fuse_reader_remaining(&ext)) {
			fuse_log_guest(req, "malformed extension header");
			return -EINVAL;
		}
		body = eh.size - sizeof(eh);
		if (eh.type == FUSE_EXT_GROUPS_TYPE)
			r = parse_groups(req, &ext, body);
		else if (eh.type <= FUSE_MAX_NR_SECCTX && fuse_secctx_op(req->opcode) &&
			 fuse_has_flag(req, FUSE_SECURITY_CTX))
			r = fuse_secctx_parse(req, &ext, body, eh.type);
		else
			r = fuse_reader_skip(&ext, body); /* unknown: ignore, as the spec allows */
		if (r < 0)
			return r;
	}
	return 0;
}

/* Called with session_lock held (read or write as the op requires). */
static int dispatch(struct fuse_req *req, const struct fuse_op_desc *d, uint16_t guest_extlen)
{
	size_t need;
	int r;

	if (!req->srv->initialized && req->opcode != FUSE_INIT) {
		fuse_log_guest(req, "request before INIT");
		return (d->flags & OPF_NO_REPLY) ? FUSE_OP_NO_REPLY : -EIO;
	}
	r = parse_extensions(req, guest_extlen);
	if (r < 0)
		return (d->flags & OPF_NO_REPLY) ? FUSE_OP_NO_REPLY : r;
	if (fuse_reader_remaining(&req->r) < d->min_in) {
		fuse_log_guest(req, "arguments %zu bytes, need %u", fuse_reader_remaining(&req->r),
			       d->min_in);
		return (d->flags & OPF_NO_REPLY) ? FUSE_OP_NO_REPLY : -EINVAL;
	}
	if ((d->flags & OPF_XATTR) && !req->srv->cfg.xattr)
		return -ENOSYS;
	/* Checked before the backend runs: a reply that cannot be delivered must not leave a
	 * lookup reference or an open handle behind. */
	need = d->out_size;
	if (fuse_vt_session(req) && (d->flags & OPF_VT_ENTRY))
		need += sizeof(struct vfsd_vt_entry_out);
	if (fuse_vt_session(req) && (d->flags & OPF_VT_ATTR))
		need += sizeof(struct vfsd_vt_attr_out);
	if (!(d->flags & OPF_NO_REPLY) && fuse_writer_room(&req->w) < need) {
		fuse_log_guest(req, "reply room %zu < %zu", fuse_writer_room(&req->w), need);
		return -EIO;
	}
	if (!be_serves(req->srv->be->ops, d->be_op))
		return (d->flags & OPF_NO_REPLY) ? FUSE_OP_NO_REPLY : -ENOSYS;
	return d->fn(req);
}

static size_t finish(struct fuse_req *req, int r)
{
	if (r != FUSE_OP_NO_REPLY && (r > 0 || r < -4095))
		r = -EIO; /* a handler bug must still yield a valid reply */
	fuse_log_request(req->opcode, req->nodeid, req->unique, r, req->start_ns);
	if (r == FUSE_OP_NO_REPLY)
		return 0;
	if (r < 0)
		return fuse_write_header(req->out, req->out_cnt, req->unique, r, 0);
	/* The payload writer started after the out_header it skipped. */
	return fuse_write_header(
		req->out, req->out_cnt, req->unique, 0,
		sat_sub_u64(fuse_writer_written(&req->w), sizeof(struct fuse_out_header)));
}

static enum fuse_handled reply_now(struct fuse_req *req, int r, size_t *ret_written)
{
	*ret_written = finish(req, r);
	return FUSE_REPLIED;
}

enum fuse_handled fuse_server_handle(struct fuse_server *srv, const struct iovec *in,
				     unsigned in_cnt, const struct iovec *out, unsigned out_cnt,
				     void *cookie, size_t *ret_written)
{
	struct fuse_req req = {.srv = srv, .out = out, .out_cnt = out_cnt, .cookie = cookie};
	const struct fuse_op_desc *d;
	struct fuse_in_header ih;
	size_t avail;
	int r;

	if (log_enabled(LOG_LEVEL_DEBUG))
		req.start_ns = fuse_now_ns();
	fuse_reader_init(&req.r, in, in_cnt);
	fuse_writer_init(&req.w, out, out_cnt);
	/* The payload goes after the out_header; out_header.len is 32 bits. */
	if (fuse_writer_skip(&req.w, sizeof(struct fuse_out_header)) < 0)
		fuse_writer_limit(&req.w, 0);
	fuse_writer_limit(&req.w, UINT32_MAX - sizeof(struct fuse_out_header));

	avail = fuse_reader_remaining(&req.r);
	if (fuse_reader_read(&req.r, &ih, sizeof(ih)) < 0) {
		/* Without a header there is no unique to answer to. */
		log_ratelimited(LOG_LEVEL_DEBUG, "fuse: short request (%zu bytes)", avail);
		return reply_now(&req, -EIO, ret_written);
	}
	req.opcode = ih.opcode;
	req.unique = ih.unique;
	req.nodeid = ih.nodeid;
	req.ctx = (struct fs_ctx){.uid = ih.uid, .gid = ih.gid, .pid = (pid_t)ih.pid};

	d = op_desc(ih.opcode);
	if (ih.len < sizeof(ih) || ih.len > avail) {
		fuse_log_guest(&req, "len %u but %zu bytes present", ih.len, avail);
		return reply_now(&req, d && (d->flags & OPF_NO_REPLY) ? FUSE_OP_NO_REPLY : -EINVAL,
				 ret_written);
	}
	fuse_reader_limit(&req.r, ih.len - sizeof(ih));
	if (!d) {
		fuse_log_guest(&req, "unknown opcode %u", ih.opcode);
		return reply_now(&req, -ENOSYS, ret_written);
	}

	if (d->flags & OPF_EXCLUSIVE)
		pthread_rwlock_wrlock(&srv->session_lock);
	else
		pthread_rwlock_rdlock(&srv->session_lock);
	r = dispatch(&req, d, ih.total_extlen);
	pthread_rwlock_unlock(&srv->session_lock);
	free(req.secctx_value);

	if (r == FUSE_OP_DEFERRED) {
		fuse_log_request(req.opcode, req.nodeid, req.unique, r, req.start_ns);
		*ret_written = 0;
		return FUSE_DEFERRED;
	}
	return reply_now(&req, r, ret_written);
}
