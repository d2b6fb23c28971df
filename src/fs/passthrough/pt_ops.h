/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The passthrough ops, one per struct fs_ops slot, defined in the op_*.c files. Included only by
 * pt.c (the ops table) and the op files themselves: a core file (pt.h) that included it would
 * be calling an op, which the layering forbids (docs/architecture.md, "passthrough").
 */
#ifndef VFSD_FS_PASSTHROUGH_PT_OPS_H
#define VFSD_FS_PASSTHROUGH_PT_OPS_H

#include "fs/passthrough/pt.h"

int pt_op_lookup(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		 struct fs_entry *ret);
void pt_op_forget(struct fs_state *fs, uint64_t nodeid, uint64_t nlookup);
int pt_op_getattr(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, bool has_fh,
		  uint64_t fh, struct stat *ret, uint32_t *ret_attr_flags, double *ret_timeout);
int pt_op_statx(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, bool has_fh,
		uint64_t fh, unsigned mask, unsigned sync, struct statx *ret,
		uint32_t *ret_attr_flags, double *ret_timeout);
int pt_op_setattr(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		  const struct fs_setattr *attr, struct stat *ret, uint32_t *ret_attr_flags,
		  double *ret_timeout, struct fs_version *ret_ver);
bool pt_op_dax_available(struct fs_state *fs);
int pt_op_setupmapping(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		       uint64_t foffset, uint64_t len, uint64_t moffset, bool writable);
int pt_op_removemapping(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t moffset,
			uint64_t len);
int pt_op_readlink(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, char *buf,
		   size_t size);
int pt_op_symlink(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		  const char *target, struct fs_entry *ret);
int pt_op_mknod(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		mode_t mode, dev_t rdev, mode_t umask, struct fs_entry *ret);
int pt_op_mkdir(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		mode_t mode, mode_t umask, struct fs_entry *ret);
int pt_op_unlink(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		 struct fs_version *ret_dirs);
int pt_op_rmdir(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		struct fs_version *ret_dirs);
int pt_op_rename(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		 uint64_t newparent, const char *newname, unsigned flags,
		 struct fs_version *ret_dirs);
int pt_op_link(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t newparent,
	       const char *newname, struct fs_entry *ret);
int pt_op_access(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, int mask);
int pt_op_statfs(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		 struct statvfs *ret);
int pt_op_syncfs(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid);

int pt_op_open(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, int flags,
	       uint64_t *ret_fh, uint32_t *ret_open_flags);
int pt_op_create(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		 mode_t mode, int flags, mode_t umask, struct fs_entry *ret_entry, uint64_t *ret_fh,
		 uint32_t *ret_open_flags);
int pt_op_tmpfile(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent, mode_t mode,
		  int flags, mode_t umask, struct fs_entry *ret_entry, uint64_t *ret_fh,
		  uint32_t *ret_open_flags);
ssize_t pt_op_read(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		   const struct iovec *iov, int iovcnt, off_t off);
ssize_t pt_op_write(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		    const struct iovec *iov, int iovcnt, off_t off, uint32_t write_flags,
		    struct fs_version *ret_ver);
int pt_op_release(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh);
int pt_op_fsync(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		bool datasync);
int pt_op_fallocate(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		    int mode, off_t off, off_t len, struct fs_version *ret_ver);
int pt_op_lseek(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		off_t off, int whence, off_t *ret);
ssize_t pt_op_copy_file_range(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid_in,
			      uint64_t fh_in, off_t off_in, uint64_t nodeid_out, uint64_t fh_out,
			      off_t off_out, size_t len, unsigned flags,
			      struct fs_version *ret_ver);

int pt_op_opendir(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, int flags,
		  uint64_t *ret_fh, uint32_t *ret_open_flags);
int pt_op_readdir(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		  uint64_t off, bool plus, fs_fill_fn fill, void *cookie);
int pt_op_releasedir(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh);
int pt_op_fsyncdir(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		   bool datasync);

int pt_op_setxattr(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, const char *name,
		   const void *value, size_t size, int flags);
ssize_t pt_op_getxattr(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		       const char *name, void *buf, size_t size);
ssize_t pt_op_listxattr(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, void *buf,
			size_t size);
int pt_op_removexattr(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		      const char *name);

int pt_op_flush(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		uint64_t lock_owner);
int pt_op_getlk(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		uint64_t lock_owner, struct fs_lock *lk);
int pt_op_setlk(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		uint64_t lock_owner, const struct fs_lock *lk, bool sleep);
int pt_op_flock(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh, int op,
		bool sleep);

bool pt_op_vt_available(struct fs_state *fs);
int pt_op_version(struct fs_state *fs, uint64_t nodeid, struct fs_version *ret);

/* op_migrate.c: the backend's part of the migration state (docs/migration.md). */
int pt_op_state_save(struct fs_state *fs, struct sbuf_w *w);
int pt_op_state_load(struct fs_state *fs, struct sbuf_r *r);

#endif
