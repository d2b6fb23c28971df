/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared between the FUSE server core and its op handlers (op_*.c); not a public header.
 *
 * A handler gets a decoded request: the in_header fields (copied), the guest credentials, a
 * reader over exactly the op's argument bytes and a writer over the reply payload room (after
 * the out_header, which the core writes). It returns a negative errno (error reply), 0 (reply
 * with whatever payload it wrote), FUSE_OP_NO_REPLY or FUSE_OP_DEFERRED.
 */
#ifndef VFSD_FUSE_INTERNAL_H
#define VFSD_FUSE_INTERNAL_H

#include <linux/fuse.h>
#include <pthread.h>
#include <stdint.h>

#include "fs/ops.h"
#include "fuse/cursor.h"
#include "fuse/fuse_server.h"
#include "fuse/lock_wait.h"
#include "util/log.h"
#include "vfsd/vt_proto.h"

/* Protocol pieces newer than the installed <linux/fuse.h> (7.38 without the groups extension). */
#ifndef FUSE_CREATE_SUPP_GROUP
#define FUSE_CREATE_SUPP_GROUP (1ULL << 34)
#endif
#define FUSE_EXT_GROUPS_TYPE 32u /* FUSE_EXT_GROUPS: 0..31 are security context counts */
struct fuse_supp_groups {
	uint32_t nr_groups;
	uint32_t groups[];
};

/*
 * 7.39-7.45 (Linux 6.6 to 7.x; Debian sid's 7.2 speaks 7.45). What a passthrough daemon serves
 * of them: STATX (52) and COPY_FILE_RANGE_64 (53). A kernel sends both whatever minor we
 * answer (it checks no minor for them; ENOSYS makes it fall back to GETATTR and to the 32-bit
 * COPY_FILE_RANGE for good). The INIT flags of these minors, and why we offer each or not, are
 * in op_init.c.
 */
#if FUSE_KERNEL_MINOR_VERSION < 39
#define FUSE_STATX 52
struct fuse_sx_time {
	int64_t tv_sec;
	uint32_t tv_nsec;
	int32_t __reserved;
};
struct fuse_statx {
	uint32_t mask;
	uint32_t blksize;
	uint64_t attributes;
	uint32_t nlink;
	uint32_t uid;
	uint32_t gid;
	uint16_t mode;
	uint16_t __spare0[1];
	uint64_t ino;
	uint64_t size;
	uint64_t blocks;
	uint64_t attributes_mask;
	struct fuse_sx_time atime;
	struct fuse_sx_time btime;
	struct fuse_sx_time ctime;
	struct fuse_sx_time mtime;
	uint32_t rdev_major;
	uint32_t rdev_minor;
	uint32_t dev_major;
	uint32_t dev_minor;
	uint64_t __spare2[14];
};
struct fuse_statx_in {
	uint32_t getattr_flags;
	uint32_t reserved;
	uint64_t fh;
	uint32_t sx_flags;
	uint32_t sx_mask;
};
struct fuse_statx_out {
	uint64_t attr_valid;
	uint32_t attr_valid_nsec;
	uint32_t flags;
	uint64_t spare[2];
	struct fuse_statx stat;
};
#define FUSE_DIRECT_IO_ALLOW_MMAP (1ULL << 36)
#endif
#if FUSE_KERNEL_MINOR_VERSION < 40
#define FUSE_PASSTHROUGH       (1ULL << 37)
#define FUSE_NO_EXPORT_SUPPORT (1ULL << 38)
#define FUSE_HAS_RESEND	       (1ULL << 39)
#endif
#if FUSE_KERNEL_MINOR_VERSION < 41
#define FUSE_ALLOW_IDMAP (1ULL << 40)
#endif
#if FUSE_KERNEL_MINOR_VERSION < 42
#define FUSE_OVER_IO_URING (1ULL << 41)
#endif
#if FUSE_KERNEL_MINOR_VERSION < 43
#define FUSE_REQUEST_TIMEOUT (1ULL << 42)
#endif
#if FUSE_KERNEL_MINOR_VERSION < 45
#define FUSE_COPY_FILE_RANGE_64 53
struct fuse_copy_file_range_out {
	uint64_t bytes_copied;
};
#endif
_Static_assert(sizeof(struct fuse_statx) == 256, "fuse_statx is 256 bytes on the wire");
_Static_assert(sizeof(struct fuse_statx_in) == 24, "fuse_statx_in is 24 bytes on the wire");
_Static_assert(sizeof(struct fuse_statx_out) == 288, "fuse_statx_out is 288 bytes on the wire");

/*
 * The minor we answer stays 38 although Linux 7.x offers 7.45: nothing we serve needs more
 * (see above: STATX, COPY_FILE_RANGE_64 and the flags work under 38), and a kernel keeps the
 * reply layouts of the minor we answer, so a later minor that grows a reply (7.40 reused
 * padding in fuse_init_out and fuse_open_out; proposed ones grow fuse_entry_out) cannot catch
 * us out. Raise it only together with tests of every layout the new minor changes.
 */
#define FUSE_OUR_MINOR	  38u
#define FUSE_OLDEST_MINOR 27u
/* Linux sends one group (CREATE_SUPP_GROUP); anything near this bound is not a real kernel. */
#define FUSE_MAX_SUPP_GROUPS 32u
#define FUSE_XATTR_SIZE_MAX  65536u
#define FUSE_XATTR_NAME_MAX  255u
/* Linux labels fit a page (SELinux contexts are far smaller). */
#define FUSE_SECCTX_VALUE_MAX 4096u
/* Largest iovec array we hand to preadv/pwritev (UIO_MAXIOV). */
#define FUSE_MAX_DATA_IOV 1024u

enum {
	FUSE_OP_NO_REPLY = 1,
	FUSE_OP_DEFERRED = 2,
};

struct fuse_server {
	const struct fs_backend *be;
	struct fuse_server_config cfg;
	fuse_complete_fn complete;

	/* Read-held by every request, write-held by INIT, DESTROY and reset: so init()/destroy()
	 * run with no other backend op in flight, as fs/ops.h promises. */
	pthread_rwlock_t session_lock;
	bool initialized; /* guarded by session_lock */
	uint32_t minor;	  /* negotiated; guarded by session_lock */
	uint64_t flags;	  /* negotiated INIT flags (flags2 << 32); guarded by session_lock */

	struct fuse_lock_wait waiters; /* blocking lock requests (lock_wait.h) */
};

struct fuse_req {
	struct fuse_server *srv;
	uint32_t opcode;
	uint64_t unique;
	uint64_t nodeid;
	struct fs_ctx ctx;
	gid_t groups[FUSE_MAX_SUPP_GROUPS];
	/* A security context (secctx.c), for the creating ops; the value is freed after the op. */
	char secctx_name[FUSE_XATTR_NAME_MAX + 1];
	void *secctx_value;
	struct fuse_reader r; /* the op's arguments only */
	struct fuse_writer w; /* reply payload room after the out_header */
	const struct iovec *out;
	unsigned out_cnt;
	void *cookie;
	uint64_t start_ns; /* CLOCK_MONOTONIC at arrival, only with debug logging on (else 0) */
};

const char *fuse_opcode_name(uint32_t opcode);

/*
 * The debug line every request gets with --log-level=debug: opcode, node, unique, the result
 * ("ok", an errno name, "no reply" or "deferred") and the time from arrival in microseconds.
 * Rate limited as traffic (log_flow): a guest decides how many requests there are.
 */
uint64_t fuse_now_ns(void);
void fuse_log_request(uint32_t opcode, uint64_t nodeid, uint64_t unique, int r, uint64_t start_ns);

/* A guest-caused failure: debug level, rate-limited (the guest controls how often). */
#define fuse_log_guest(req, fmt, ...)                                                       \
	log_ratelimited(LOG_LEVEL_DEBUG, "fuse: %s nodeid %llu: " fmt,                      \
			fuse_opcode_name((req)->opcode), (unsigned long long)(req)->nodeid, \
			##__VA_ARGS__)

/* The backend may leave ops it does not serve NULL. */
#define FUSE_BE_OP(req, op) ((req)->srv->be->ops->op)
#define FUSE_BE_FS(req)	    ((req)->srv->be->fs)

static inline bool fuse_has_flag(const struct fuse_req *req, uint64_t flag)
{
	return (req->srv->flags & flag) != 0;
}

/* Helpers shared by the handlers (fuse_reply.c). */
int fuse_read_args(struct fuse_req *req, void *dst, size_t n);
/* A directory entry name: non-empty, <= NAME_MAX, no '/', not "." or "..". */
int fuse_read_name(struct fuse_req *req, char buf[static 256]);
int fuse_reply(struct fuse_req *req, const void *p, size_t n);
void fuse_fill_attr(struct fuse_attr *a, const struct stat *st, uint32_t attr_flags);
void fuse_split_timeout(double t, uint64_t *ret_sec, uint32_t *ret_nsec);
/*
 * The tail of every op that answers with an entry (LOOKUP, MKNOD, MKDIR, SYMLINK, LINK, CREATE,
 * TMPFILE): r is the backend's result, passed on when it is an error; else fuse_entry_out, then
 * `open` (CREATE and TMPFILE; NULL for the others), then in a version-table session the
 * vfsd_vt_entry_out, in the order the guest reads them.
 */
int fuse_reply_entry(struct fuse_req *req, int r, const struct fs_entry *e,
		     const struct fuse_open_out *open);
/* The same for OPEN and OPENDIR: r, or a fuse_open_out for (fh, FS_OPEN_* flags). */
int fuse_reply_open(struct fuse_req *req, int r, uint64_t fh, uint32_t fs_flags);

/*
 * The version table (include/vfsd/vt_proto.h), in sessions that negotiated VFSD_VT_INIT_FLAG:
 * versioned entries and attributes get FUSE_VT_TIMEOUT instead of the backend's timeouts (the
 * guest revalidates when the version moves). fuse_vt_version() reads a node's version (flags
 * 0 when there is none) and must be called before the op whose reply carries it.
 */
#define FUSE_VT_TIMEOUT 86400.0
bool fuse_vt_session(const struct fuse_req *req);
void fuse_vt_version(struct fuse_req *req, uint64_t nodeid, struct fs_version *ret);
/* The vfsd_vt_attr_out after fuse_attr_out or fuse_statx_out (nothing outside a version-table
 * session). */
int fuse_reply_attr_ver(struct fuse_req *req, const struct fs_version *v);
/* The tail of UNLINK, RMDIR and RENAME(2): r, else in a version-table session the
 * vfsd_vt_remove_out of the FS_REMOVE_VERS versions in dirs when the guest posted room for it,
 * the vfsd_vt_dirs_out of the first FS_DIRS_MAX when it posted room for that only, else the
 * empty reply. */
int fuse_reply_dirs(struct fuse_req *req, int r, const struct fs_version *dirs);
/* After fuse_write_out (WRITE, COPY_FILE_RANGE), fuse_copy_file_range_out
 * (COPY_FILE_RANGE_64) or as FALLOCATE's whole body: the vfsd_vt_attr_out of v in a
 * version-table session when v is FS_VER_BUMPED and the guest posted room for it, else
 * nothing. */
int fuse_reply_bumped(struct fuse_req *req, const struct fs_version *v);
void fuse_entry_out_fill(struct fuse_entry_out *o, const struct fs_entry *e);
/* The same with the version table's timeouts where e's versions are valid (vt: a versioned
 * session's entry), and the extension that goes with such an entry; bumped_ok false drops
 * VFSD_VT_BUMPED (an entry that changed nothing: a READDIRPLUS one). */
void fuse_entry_out_fill_vt(struct fuse_entry_out *o, const struct fs_entry *e, bool vt);
void fuse_vt_entry_fill(struct vfsd_vt_entry_out *x, const struct fs_entry *e, bool bumped_ok);
uint32_t fuse_open_flags_out(uint32_t fs_flags);
int fuse_guest_open_flags(const struct fuse_req *req, uint32_t guest_flags);
/* Offsets and sizes from the guest that must fit off_t. */
int fuse_guest_off(uint64_t guest_v, off_t *ret);
/* Writes an out_header + payload length into `out`; returns bytes written (0: no room). */
size_t fuse_write_header(const struct iovec *out, unsigned out_cnt, uint64_t unique, int error,
			 size_t payload);

/*
 * Security contexts (secctx.c): whether an op may carry one; parse one (body bytes after its
 * header, guest_nr contexts) into req->ctx; and, before 7.38, the block trailing a creating
 * op's names (a no-op unless FUSE_SECURITY_CTX was negotiated). 0 or -EINVAL/-ENOMEM.
 */
bool fuse_secctx_op(uint32_t opcode);
int fuse_secctx_parse(struct fuse_req *req, struct fuse_reader *r, size_t body, uint32_t guest_nr);
int fuse_secctx_trailing(struct fuse_req *req);

/* Op handlers, by family. */
typedef int (*fuse_op_fn)(struct fuse_req *req);

int fuse_op_init(struct fuse_req *req);
int fuse_op_destroy(struct fuse_req *req);
int fuse_op_lookup(struct fuse_req *req);
int fuse_op_forget(struct fuse_req *req);
int fuse_op_batch_forget(struct fuse_req *req);
int fuse_op_mknod(struct fuse_req *req);
int fuse_op_mkdir(struct fuse_req *req);
int fuse_op_symlink(struct fuse_req *req);
int fuse_op_link(struct fuse_req *req);
int fuse_op_unlink(struct fuse_req *req);
int fuse_op_rmdir(struct fuse_req *req);
int fuse_op_rename(struct fuse_req *req);
int fuse_op_rename2(struct fuse_req *req);
int fuse_op_readlink(struct fuse_req *req);
int fuse_op_getattr(struct fuse_req *req);
int fuse_op_statx(struct fuse_req *req);
int fuse_op_setattr(struct fuse_req *req);
int fuse_op_statfs(struct fuse_req *req);
int fuse_op_access(struct fuse_req *req);
int fuse_op_open(struct fuse_req *req);
int fuse_op_create(struct fuse_req *req);
int fuse_op_tmpfile(struct fuse_req *req);
int fuse_op_read(struct fuse_req *req);
int fuse_op_write(struct fuse_req *req);
int fuse_op_release(struct fuse_req *req);
int fuse_op_flush(struct fuse_req *req);
int fuse_op_fsync(struct fuse_req *req);
int fuse_op_fallocate(struct fuse_req *req);
int fuse_op_lseek(struct fuse_req *req);
int fuse_op_copy_file_range(struct fuse_req *req);
int fuse_op_copy_file_range_64(struct fuse_req *req);
int fuse_op_syncfs(struct fuse_req *req);
int fuse_op_opendir(struct fuse_req *req);
int fuse_op_readdir(struct fuse_req *req);
int fuse_op_releasedir(struct fuse_req *req);
int fuse_op_fsyncdir(struct fuse_req *req);
int fuse_op_setxattr(struct fuse_req *req);
int fuse_op_getxattr(struct fuse_req *req);
int fuse_op_listxattr(struct fuse_req *req);
int fuse_op_removexattr(struct fuse_req *req);
int fuse_op_getlk(struct fuse_req *req);
int fuse_op_setlk(struct fuse_req *req);
int fuse_op_interrupt(struct fuse_req *req);
int fuse_op_setupmapping(struct fuse_req *req);
int fuse_op_removemapping(struct fuse_req *req);

/* The INIT flags this server offers (op_init.c; also what a loaded state may carry), and
 * what the backend's init() gets for negotiated flags. */
uint64_t fuse_offered_flags(const struct fuse_server *srv);
void fuse_init_info(uint64_t flags, struct fs_init_info *ret);

/* Session end, shared by INIT, DESTROY and reset; session_lock write-held. */
void fuse_session_end(struct fuse_server *srv);

#endif
