/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * FUSE requests over the test frontend, as a virtio-fs guest driver sends them: in_header with a
 * growing unique id and the caller's credentials, the op's arguments, then writable space for
 * out_header and the reply. Every wrapper returns out_header.error (0 or -errno) or a transport
 * failure (-ETIMEDOUT, -EPROTO for a malformed reply: length or unique mismatch), and decodes the
 * reply into the caller's struct only on success.
 *
 * FORGET, BATCH_FORGET and INTERRUPT go on the hiprio queue (0); the rest on the session's
 * request queue (default 1, see fe_fuse_set_queue()).
 */
#ifndef VFSD_TESTS_FE_FUSE_H
#define VFSD_TESTS_FE_FUSE_H

#include <linux/fuse.h>

#include "frontend.h"

#define FE_ROOT_ID FUSE_ROOT_ID

/* Argument iovecs: a buffer, a struct, a NUL-terminated name. */
#define IOV(p, n)  ((struct iovec){.iov_base = (void *)(p), .iov_len = (n)})
#define IOVS(p)	   IOV(p, sizeof(*(p)))
#define IOVNAME(s) IOV(s, strlen(s) + 1)

void fe_fuse_set_creds(struct fe *fe, uint32_t uid, uint32_t gid, uint32_t pid);
void fe_fuse_set_queue(struct fe *fe, unsigned queue);
void fe_fuse_set_timeout(struct fe *fe, int timeout_ms);
uint64_t fe_fuse_next_unique(const struct fe *fe);
const struct fuse_init_out *fe_fuse_init_out(const struct fe *fe);

/* The mode a Linux guest sends: umask applied here unless DONT_MASK was negotiated. */
uint32_t fe_fuse_mode(const struct fe *fe, uint32_t mode, uint32_t umask);

/* An asynchronous FUSE request; lives in the caller's memory until completed. */
struct fe_call {
	unsigned queue;
	struct fuse_in_header ih;
	struct fuse_out_header oh;
	struct iovec in[5];
	int nin;
	struct iovec out[2];
	int nout;
	uint32_t used_len;
};

/* args: up to 4 iovecs after the in_header. reply may be NULL for header-only replies. */
int fe_fuse_submit(struct fe *fe, struct fe_call *c, unsigned queue, uint32_t opcode,
		   uint64_t nodeid, const struct iovec *args, int nargs, void *reply,
		   size_t reply_size);
int fe_fuse_complete(struct fe *fe, struct fe_call *c, int timeout_ms, size_t *ret_reply_len);
/* Synchronous: submit and complete on the session queue. */
int fe_fuse_call(struct fe *fe, uint32_t opcode, uint64_t nodeid, const struct iovec *args,
		 int nargs, void *reply, size_t reply_size, size_t *ret_reply_len);
/* A request that expects no reply (FORGET): the chain has no writable part. */
int fe_fuse_noreply(struct fe *fe, unsigned queue, uint32_t opcode, uint64_t nodeid,
		    const struct iovec *args, int nargs);

/* INIT: minor >= 36 sends the 64-byte fuse_init_in with flags2 (flags bits 32-63); older minors
 * send the 16-byte form. in_size overrides the size sent (0 = natural size). */
int fe_init_sized(struct fe *fe, uint32_t major, uint32_t minor, uint64_t flags, size_t in_size,
		  struct fuse_init_out *ret);
int fe_init(struct fe *fe, uint32_t minor, uint64_t flags);

/* The INIT flags a Linux 6.x virtiofs guest sends, minus those needing extensions: what the
 * frontend tests (th_init_flags()) and bench/load offer. */
#define FE_LINUX_INIT_FLAGS                                                                     \
	(FUSE_ASYNC_READ | FUSE_POSIX_LOCKS | FUSE_ATOMIC_O_TRUNC | FUSE_EXPORT_SUPPORT |       \
	 FUSE_BIG_WRITES | FUSE_DONT_MASK | FUSE_FLOCK_LOCKS | FUSE_HAS_IOCTL_DIR |             \
	 FUSE_AUTO_INVAL_DATA | FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO | FUSE_ASYNC_DIO |  \
	 FUSE_PARALLEL_DIROPS | FUSE_HANDLE_KILLPRIV | FUSE_ABORT_ERROR | FUSE_MAX_PAGES |      \
	 FUSE_CACHE_SYMLINKS | FUSE_EXPLICIT_INVAL_DATA | FUSE_MAP_ALIGNMENT | FUSE_SUBMOUNTS | \
	 FUSE_HANDLE_KILLPRIV_V2 | FUSE_SETXATTR_EXT | FUSE_INIT_EXT)
int fe_destroy(struct fe *fe);

int fe_lookup(struct fe *fe, uint64_t parent, const char *name, struct fuse_entry_out *ret);
int fe_forget(struct fe *fe, uint64_t nodeid, uint64_t nlookup);
int fe_batch_forget(struct fe *fe, const struct fuse_forget_one *items, uint32_t count);
int fe_getattr(struct fe *fe, uint64_t nodeid, const uint64_t *fh, struct fuse_attr_out *ret);
/* FUSE_STATX (7.39; struct fuse_statx_out from src/fuse/fuse_internal.h on older headers). */
struct fuse_statx_out;
int fe_statx(struct fe *fe, uint64_t nodeid, const uint64_t *fh, uint32_t sx_flags,
	     uint32_t sx_mask, struct fuse_statx_out *ret);
int fe_setattr(struct fe *fe, uint64_t nodeid, const struct fuse_setattr_in *in,
	       struct fuse_attr_out *ret);
int fe_readlink(struct fe *fe, uint64_t nodeid, char *buf, size_t size);
int fe_symlink(struct fe *fe, uint64_t parent, const char *name, const char *target,
	       struct fuse_entry_out *ret);
int fe_mknod(struct fe *fe, uint64_t parent, const char *name, uint32_t mode, uint32_t rdev,
	     uint32_t umask, struct fuse_entry_out *ret);
int fe_mkdir(struct fe *fe, uint64_t parent, const char *name, uint32_t mode, uint32_t umask,
	     struct fuse_entry_out *ret);
int fe_unlink(struct fe *fe, uint64_t parent, const char *name);
int fe_rmdir(struct fe *fe, uint64_t parent, const char *name);
int fe_rename(struct fe *fe, uint64_t olddir, const char *oldname, uint64_t newdir,
	      const char *newname);
int fe_rename2(struct fe *fe, uint64_t olddir, const char *oldname, uint64_t newdir,
	       const char *newname, uint32_t flags);
int fe_link(struct fe *fe, uint64_t nodeid, uint64_t newparent, const char *newname,
	    struct fuse_entry_out *ret);
int fe_open(struct fe *fe, uint64_t nodeid, uint32_t flags, struct fuse_open_out *ret);
int fe_create(struct fe *fe, uint64_t parent, const char *name, uint32_t flags, uint32_t mode,
	      uint32_t umask, struct fuse_entry_out *ret_entry, struct fuse_open_out *ret_open);
int fe_tmpfile(struct fe *fe, uint64_t parent, uint32_t flags, uint32_t mode, uint32_t umask,
	       struct fuse_entry_out *ret_entry, struct fuse_open_out *ret_open);
/* read/readdir/readlink-style calls return the byte count (>= 0) or -errno. */
int fe_read(struct fe *fe, uint64_t nodeid, uint64_t fh, uint64_t off, void *buf, uint32_t size);
/* Returns bytes written (>= 0) or -errno. */
int fe_write(struct fe *fe, uint64_t nodeid, uint64_t fh, uint64_t off, const void *buf,
	     uint32_t size, uint32_t write_flags);
int fe_release(struct fe *fe, uint64_t nodeid, uint64_t fh, uint32_t flags);
int fe_flush(struct fe *fe, uint64_t nodeid, uint64_t fh, uint64_t lock_owner);
int fe_fsync(struct fe *fe, uint64_t nodeid, uint64_t fh, bool datasync);
int fe_opendir(struct fe *fe, uint64_t nodeid, struct fuse_open_out *ret);
int fe_readdir(struct fe *fe, uint64_t nodeid, uint64_t fh, uint64_t off, void *buf, uint32_t size);
int fe_readdirplus(struct fe *fe, uint64_t nodeid, uint64_t fh, uint64_t off, void *buf,
		   uint32_t size);
int fe_releasedir(struct fe *fe, uint64_t nodeid, uint64_t fh);
int fe_fsyncdir(struct fe *fe, uint64_t nodeid, uint64_t fh, bool datasync);
int fe_statfs(struct fe *fe, uint64_t nodeid, struct fuse_statfs_out *ret);
/* setxattr sends the extended fuse_setxattr_in iff SETXATTR_EXT was negotiated. */
int fe_setxattr(struct fe *fe, uint64_t nodeid, const char *name, const void *value, uint32_t size,
		uint32_t flags, uint32_t setxattr_flags);
/* size 0: returns the needed size; else the value length (>= 0) or -errno. */
int fe_getxattr(struct fe *fe, uint64_t nodeid, const char *name, void *buf, uint32_t size);
int fe_listxattr(struct fe *fe, uint64_t nodeid, void *buf, uint32_t size);
int fe_removexattr(struct fe *fe, uint64_t nodeid, const char *name);
int fe_access(struct fe *fe, uint64_t nodeid, uint32_t mask);
int fe_getlk(struct fe *fe, uint64_t nodeid, uint64_t fh, uint64_t owner,
	     const struct fuse_file_lock *lk, struct fuse_file_lock *ret);
int fe_setlk(struct fe *fe, uint64_t nodeid, uint64_t fh, uint64_t owner,
	     const struct fuse_file_lock *lk, bool sleep, uint32_t lk_flags);
/* Asynchronous SETLK(W), completed with fe_fuse_complete(). */
int fe_setlk_submit(struct fe *fe, struct fe_call *c, struct fuse_lk_in *in, uint64_t nodeid,
		    bool sleep);
int fe_fallocate(struct fe *fe, uint64_t nodeid, uint64_t fh, uint64_t off, uint64_t len,
		 uint32_t mode);
int fe_lseek(struct fe *fe, uint64_t nodeid, uint64_t fh, uint64_t off, uint32_t whence,
	     uint64_t *ret_off);
/* FUSE_COPY_FILE_RANGE_64 (7.45): the same arguments, a 64-bit count back. */
int fe_copy_file_range_64(struct fe *fe, uint64_t nodein, uint64_t fhin, uint64_t offin,
			  uint64_t nodeout, uint64_t fhout, uint64_t offout, uint64_t len,
			  uint64_t flags, uint64_t *ret_size);
int fe_copy_file_range(struct fe *fe, uint64_t nodein, uint64_t fhin, uint64_t offin,
		       uint64_t nodeout, uint64_t fhout, uint64_t offout, uint64_t len,
		       uint64_t flags, uint64_t *ret_size);
int fe_syncfs(struct fe *fe, uint64_t nodeid);
int fe_interrupt(struct fe *fe, uint64_t unique, uint32_t *ret_used_len);
int fe_ioctl(struct fe *fe, uint64_t nodeid, uint64_t fh, uint32_t flags, uint32_t cmd,
	     uint64_t arg, const void *in, uint32_t in_size, void *out, uint32_t out_size,
	     struct fuse_ioctl_out *ret);
int fe_poll(struct fe *fe, uint64_t nodeid, uint64_t fh, uint32_t flags, uint32_t events,
	    uint32_t *ret_revents);
/* DAX: the kernel sends fh = -1 and maps by inode. REMOVEMAPPING sends count in its header and
 * nitems entries after it (they differ only in hostile tests). */
int fe_setupmapping(struct fe *fe, uint64_t nodeid, const struct fuse_setupmapping_in *in);
int fe_removemapping(struct fe *fe, uint64_t nodeid, uint32_t count,
		     const struct fuse_removemapping_one *items, uint32_t nitems);

#endif
