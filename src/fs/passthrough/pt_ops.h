/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The passthrough ops, one per struct fs_ops slot, defined in the op_*.c files. Included only by
 * pt.c (the ops table) and the op files themselves: a core file (pt.h) that included it would
 * be calling an op, which the layering forbids (docs/architecture.md, "passthrough").
 */
#ifndef VFSD_FS_PASSTHROUGH_PT_OPS_H
#define VFSD_FS_PASSTHROUGH_PT_OPS_H

#include "fs/passthrough/pt.h"

int pt_op_lookup(void *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		 struct fs_entry *ret);
void pt_op_forget(void *fs, uint64_t nodeid, uint64_t nlookup);
int pt_op_getattr(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, bool has_fh, uint64_t fh,
		  struct stat *ret, uint32_t *ret_attr_flags, double *ret_timeout);
int pt_op_statx(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, bool has_fh, uint64_t fh,
		unsigned mask, unsigned sync, struct statx *ret, uint32_t *ret_attr_flags,
		double *ret_timeout);
int pt_op_setattr(void *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		  const struct fs_setattr *attr, struct stat *ret, uint32_t *ret_attr_flags,
		  double *ret_timeout);
bool pt_op_dax_available(void *fs);
int pt_op_setupmapping(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t foffset,
		       uint64_t len, uint64_t moffset, bool writable);
int pt_op_removemapping(void *fs, const struct fs_ctx *ctx, uint64_t moffset, uint64_t len);
int pt_op_readlink(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, char *buf, size_t size);
int pt_op_symlink(void *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		  const char *target, struct fs_entry *ret);
int pt_op_mknod(void *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name, mode_t mode,
		dev_t rdev, mode_t umask, struct fs_entry *ret);
int pt_op_mkdir(void *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name, mode_t mode,
		mode_t umask, struct fs_entry *ret);
int pt_op_unlink(void *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name);
int pt_op_rmdir(void *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name);
int pt_op_rename(void *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name,
		 uint64_t newparent, const char *newname, unsigned flags);
int pt_op_link(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t newparent,
	       const char *newname, struct fs_entry *ret);
int pt_op_access(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, int mask);
int pt_op_statfs(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, struct statvfs *ret);
int pt_op_syncfs(void *fs, const struct fs_ctx *ctx, uint64_t nodeid);

int pt_op_open(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, int flags, uint64_t *ret_fh,
	       uint32_t *ret_open_flags);
int pt_op_create(void *fs, const struct fs_ctx *ctx, uint64_t parent, const char *name, mode_t mode,
		 int flags, mode_t umask, struct fs_entry *ret_entry, uint64_t *ret_fh,
		 uint32_t *ret_open_flags);
int pt_op_tmpfile(void *fs, const struct fs_ctx *ctx, uint64_t parent, mode_t mode, int flags,
		  mode_t umask, struct fs_entry *ret_entry, uint64_t *ret_fh,
		  uint32_t *ret_open_flags);
ssize_t pt_op_read(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		   const struct iovec *iov, int iovcnt, off_t off);
ssize_t pt_op_write(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		    const struct iovec *iov, int iovcnt, off_t off, uint32_t write_flags);
int pt_op_release(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh);
int pt_op_fsync(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh, bool datasync);
int pt_op_fallocate(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh, int mode,
		    off_t off, off_t len);
int pt_op_lseek(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh, off_t off,
		int whence, off_t *ret);
ssize_t pt_op_copy_file_range(void *fs, const struct fs_ctx *ctx, uint64_t nodeid_in,
			      uint64_t fh_in, off_t off_in, uint64_t nodeid_out, uint64_t fh_out,
			      off_t off_out, size_t len, unsigned flags);

int pt_op_opendir(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, int flags, uint64_t *ret_fh,
		  uint32_t *ret_open_flags);
int pt_op_readdir(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh, uint64_t off,
		  bool plus, fs_fill_fn fill, void *cookie);
int pt_op_releasedir(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh);
int pt_op_fsyncdir(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh, bool datasync);

int pt_op_setxattr(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, const char *name,
		   const void *value, size_t size, int flags);
ssize_t pt_op_getxattr(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, const char *name,
		       void *buf, size_t size);
ssize_t pt_op_listxattr(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, void *buf,
			size_t size);
int pt_op_removexattr(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, const char *name);

int pt_op_flush(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		uint64_t lock_owner);
int pt_op_getlk(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		uint64_t lock_owner, struct fs_lock *lk);
int pt_op_setlk(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		uint64_t lock_owner, const struct fs_lock *lk, bool sleep);
int pt_op_flock(void *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh, int op,
		bool sleep);

bool pt_op_vt_available(void *fs);
int pt_op_version(void *fs, uint64_t nodeid, struct fs_version *ret);

/* op_migrate.c: the backend's part of the migration state (docs/migration.md). */
int pt_op_state_save(void *fs, struct sbuf_w *w);
int pt_op_state_load(void *fs, struct sbuf_r *r);

#endif
