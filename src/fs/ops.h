/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The filesystem backend interface: what the FUSE protocol layer (fuse/) calls to serve a
 * request. A backend never sees opcodes, FUSE headers, unique ids or guest addresses; it gets
 * decoded, validated arguments and returns results, which fuse/ encodes into replies.
 *
 * Trust: names passed here have already been checked by fuse/ (NUL-terminated, non-empty, not
 * "." or "..", no '/', at most NAME_MAX bytes). Node ids and file handles come straight from the
 * guest and MUST be validated by the backend on every use: a forged or stale one yields -EBADF
 * (handles) or -ENOENT/-ESTALE (node ids), never a crash. Sizes are already bounded by fuse/.
 *
 * Conventions: every op returns 0 (or a non-negative count where documented) on success and a
 * negative errno on failure; outputs (ret_*) are written only on success. Ops are called
 * concurrently from several threads, except init/destroy which are called with no other op in
 * flight. Each op runs with the credentials given in `struct fs_ctx`; switching to them is the
 * backend's job.
 *
 * Lookup counts: every op that returns a `struct fs_entry` with a non-zero nodeid (lookup,
 * mknod, mkdir, symlink, link, create, tmpfile, and each readdirplus entry that is accepted by
 * the fill callback) adds one reference to that node; forget() drops `nlookup` of them. When
 * the count reaches zero the node id becomes invalid. FS_ROOT_ID is valid from init() to
 * destroy() whatever its count.
 */
#ifndef VFSD_FS_OPS_H
#define VFSD_FS_OPS_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "util/sbuf.h"

#define FS_ROOT_ID 1ull

/* Credentials of the guest process that made the request. */
struct fs_ctx {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	/* Supplementary groups (FUSE_EXT_GROUPS); ngroups may be 0. */
	const gid_t *groups;
	unsigned ngroups;
	/*
	 * The security context the guest asks for on a node it creates (FUSE_SECURITY_CTX; only
	 * on create, mknod, mkdir, symlink and tmpfile): an xattr name (NUL-terminated, 1..255
	 * bytes) and a value of secctx_size (1..65536) bytes. NULL name: none.
	 */
	const char *secctx_name;
	const void *secctx_value;
	size_t secctx_size;
};

/* Flags in fs_entry.attr_flags. */
#define FS_ATTR_SUBMOUNT (1u << 0) /* directory is the root of another host mount */
#define FS_ATTR_DAX	 (1u << 1) /* the guest should use DAX for this file (dax=inode) */

/*
 * Coherence (docs/coherence.md): the version of a node's metadata in a table that guests can
 * watch. Filled only by a backend that has a table; fuse/ puts it on the wire only in sessions
 * that negotiated it. The version is read before the stat whose result goes with it, or, with
 * FS_VER_BUMPED, it is the value this request's own change produced.
 */
struct fs_version {
	uint64_t version;
	uint32_t slot;
	uint32_t flags; /* FS_VER_* */
};
#define FS_VER_VALID  (1u << 0)
#define FS_VER_BUMPED (1u << 1)
#define FS_DIRS_MAX   2 /* directories one unlink, rmdir or rename changes */
/* ...and after them the removed or replaced inode when it stays linked elsewhere */
#define FS_REMOVE_NODE FS_DIRS_MAX
#define FS_REMOVE_VERS (FS_DIRS_MAX + 1)

struct fs_entry {
	uint64_t nodeid; /* 0: negative entry (cacheable ENOENT), only from lookup */
	uint64_t generation;
	struct stat attr;
	uint32_t attr_flags;
	/* How long the guest may cache the entry (name -> node) and the attributes, in seconds. */
	double entry_timeout;
	double attr_timeout;
	/* The node's version, and that of the directory the name is in (lookup and the
	 * creating ops; for those the directory's is FS_VER_BUMPED). */
	struct fs_version ver, parent_ver;
};

/* Flags in the open/create/opendir ret_open_flags output; fuse/ maps them to FOPEN_*. */
#define FS_OPEN_DIRECT_IO   (1u << 0)
#define FS_OPEN_KEEP_CACHE  (1u << 1)
#define FS_OPEN_CACHE_DIR   (1u << 2)
#define FS_OPEN_NONSEEKABLE (1u << 3)

/* Which fields of struct fs_setattr are set. */
#define FS_SET_MODE	 (1u << 0)
#define FS_SET_UID	 (1u << 1)
#define FS_SET_GID	 (1u << 2)
#define FS_SET_SIZE	 (1u << 3)
#define FS_SET_ATIME	 (1u << 4)
#define FS_SET_MTIME	 (1u << 5)
#define FS_SET_ATIME_NOW (1u << 6)
#define FS_SET_MTIME_NOW (1u << 7)
#define FS_SET_CTIME	 (1u << 8)
/* Clear setuid, and setgid when group-executable, as a write by a non-owner would. */
#define FS_SET_KILL_SUIDGID (1u << 9)

struct fs_setattr {
	uint32_t valid;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	off_t size;
	struct timespec atime, mtime, ctime;
	/* Set when the guest passed a file handle (ftruncate and friends). */
	bool has_fh;
	uint64_t fh;
};

/* Write flags. */
#define FS_WRITE_KILL_SUIDGID (1u << 0)

/* setxattr flag beside XATTR_CREATE/XATTR_REPLACE: the caller is neither in the file's group nor
 * holds CAP_FSETID, so setting system.posix_acl_access must clear setgid (as the kernel's
 * posix_acl_update_mode does for a local caller). */
#define FS_XATTR_ACL_KILL_SGID (1 << 16)

/* Values negotiated by FUSE_INIT that change backend behaviour. */
struct fs_init_info {
	bool writeback; /* FUSE_WRITEBACK_CACHE: guest may read through write-only opens */
	bool killpriv_v2;
	bool posix_acl;
};

/* One directory entry for readdir/readdirplus. */
struct fs_dirent {
	uint64_t ino;
	uint64_t off;  /* cookie to resume after this entry (opaque to the guest) */
	uint32_t type; /* DT_* value */
	const char *name;
	size_t namelen;
};

/*
 * readdir fill callback, owned by fuse/. `entry` is NULL for plain readdir; for readdirplus it
 * is the looked-up entry (nodeid 0 for "." and "..", which take no lookup reference).
 * Returns 0 when the entry was stored, -ENOSPC when the reply buffer is full: the entry was NOT
 * stored, the backend must drop the lookup reference it took for it and stop iterating.
 */
typedef int (*fs_fill_fn)(void *cookie, const struct fs_dirent *d, const struct fs_entry *entry);

/* Lock description, always in absolute byte offsets; end is inclusive, OFFSET_MAX = to EOF. */
struct fs_lock {
	int type; /* F_RDLCK, F_WRLCK, F_UNLCK */
	uint64_t start;
	uint64_t end;
	pid_t pid; /* out of getlk: holder's pid as the guest should see it (0 if unknown) */
};

/*
 * A backend's state, passed to each op. Opaque here: each backend defines it (the passthrough in
 * fs/passthrough/pt.h, test backends in their own files), so an op gets its own state typed and
 * the compiler rejects anything else.
 */
struct fs_state;

struct fs_ops {
	/* Session start (FUSE_INIT). The root node is valid afterwards. */
	int (*init)(struct fs_state *fs, const struct fs_init_info *info);
	/* Session end (FUSE_DESTROY, second INIT, device reset): drop all nodes but the root, close
	 * all handles, release all locks. Must leave the backend ready for init() again. */
	void (*destroy)(struct fs_state *fs);

	int (*lookup)(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent,
		      const char *name, struct fs_entry *ret);
	/* Drops nlookup references; unknown node ids are ignored (guest input). */
	void (*forget)(struct fs_state *fs, uint64_t nodeid, uint64_t nlookup);
	/* ret_attr_flags (may be NULL): FS_ATTR_* of the node (as in fs_entry.attr_flags). */
	int (*getattr)(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, bool has_fh,
		       uint64_t fh, struct stat *ret, uint32_t *ret_attr_flags,
		       double *ret_timeout);
	/* getattr with the host's statx(2): `mask` the STATX_* fields the guest wants (more may
	 * come back; ret->stx_mask says which are valid), `sync` its AT_STATX_SYNC_TYPE bits. */
	int (*statx)(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, bool has_fh,
		     uint64_t fh, unsigned mask, unsigned sync, struct statx *ret,
		     uint32_t *ret_attr_flags, double *ret_timeout);
	/* ret_ver: NULL or zeroed by the caller; a backend with a table that changed the node
	 * puts there the version its own bump produced (FS_VER_BUMPED), *ret being stat()ed after
	 * that bump. */
	int (*setattr)(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		       const struct fs_setattr *attr, struct stat *ret, uint32_t *ret_attr_flags,
		       double *ret_timeout, struct fs_version *ret_ver);
	/* Returns the target length (not NUL-terminated) or -errno; -ERANGE if size is too small.
	 */
	int (*readlink)(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, char *buf,
			size_t size);
	int (*symlink)(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent,
		       const char *name, const char *target, struct fs_entry *ret);
	int (*mknod)(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent,
		     const char *name, mode_t mode, dev_t rdev, mode_t umask, struct fs_entry *ret);
	int (*mkdir)(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent,
		     const char *name, mode_t mode, mode_t umask, struct fs_entry *ret);
	/*
	 * The removing and renaming ops: ret_dirs is NULL or room for FS_REMOVE_VERS versions,
	 * zeroed by the caller; a backend with a table puts there the versions its own bumps gave
	 * the directories (parent, then newparent when it is another), each FS_VER_BUMPED, and at
	 * FS_REMOVE_NODE the one it gave the unlinked or replaced non-directory when that had
	 * other links (so a guest can keep its other names).
	 */
	int (*unlink)(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent,
		      const char *name, struct fs_version *ret_dirs);
	int (*rmdir)(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent,
		     const char *name, struct fs_version *ret_dirs);
	/* flags: 0 or RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT. */
	int (*rename)(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent,
		      const char *name, uint64_t newparent, const char *newname, unsigned flags,
		      struct fs_version *ret_dirs);
	int (*link)(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		    uint64_t newparent, const char *newname, struct fs_entry *ret);

	/* flags are the guest's open(2) flags. */
	int (*open)(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, int flags,
		    uint64_t *ret_fh, uint32_t *ret_open_flags);
	int (*create)(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent,
		      const char *name, mode_t mode, int flags, mode_t umask,
		      struct fs_entry *ret_entry, uint64_t *ret_fh, uint32_t *ret_open_flags);
	/* O_TMPFILE in directory `parent`: an unnamed file, open, with a node id. */
	int (*tmpfile)(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t parent, mode_t mode,
		       int flags, mode_t umask, struct fs_entry *ret_entry, uint64_t *ret_fh,
		       uint32_t *ret_open_flags);
	/* Reads into iov (guest memory); returns bytes read (short at EOF) or -errno. */
	ssize_t (*read)(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
			const struct iovec *iov, int iovcnt, off_t off);
	/* Writes from iov (guest memory); returns bytes written or -errno. ret_ver: NULL or
	 * zeroed by the caller; a backend with a table puts there the version its own bump after
	 * the write produced (FS_VER_BUMPED). */
	ssize_t (*write)(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid,
			 uint64_t fh, const struct iovec *iov, int iovcnt, off_t off,
			 uint32_t write_flags, struct fs_version *ret_ver);
	int (*statfs)(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid,
		      struct statvfs *ret);
	/* Closes the handle; also drops flock locks held through it. */
	int (*release)(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh);
	/* close(2) of one guest fd: drops the POSIX locks lock_owner holds on the node. */
	int (*flush)(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		     uint64_t lock_owner);
	int (*fsync)(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		     bool datasync);

	int (*opendir)(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, int flags,
		       uint64_t *ret_fh, uint32_t *ret_open_flags);
	/* Lists entries after cookie `off` (0 = from the start), calling fill until it returns
	 * -ENOSPC or the directory ends. Returns 0 or -errno (an error after some entries were
	 * filled is reported as 0 so the guest gets what was filled). plus: readdirplus. */
	int (*readdir)(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		       uint64_t off, bool plus, fs_fill_fn fill, void *cookie);
	int (*releasedir)(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid,
			  uint64_t fh);
	int (*fsyncdir)(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
			bool datasync);

	/* xattr flags: XATTR_CREATE / XATTR_REPLACE, and FS_XATTR_ACL_KILL_SGID. */
	int (*setxattr)(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid,
			const char *name, const void *value, size_t size, int flags);
	/* size 0: return the value's size. Else copy it and return its size, -ERANGE if larger. */
	ssize_t (*getxattr)(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid,
			    const char *name, void *buf, size_t size);
	/* Same size protocol as getxattr; the list is NUL-separated names. */
	ssize_t (*listxattr)(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid,
			     void *buf, size_t size);
	int (*removexattr)(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid,
			   const char *name);

	/* mask: F_OK or a combination of R_OK, W_OK, X_OK. */
	int (*access)(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, int mask);

	/* POSIX record locks, owned by (node, lock_owner) as the guest kernel defines owners. */
	int (*getlk)(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		     uint64_t lock_owner, struct fs_lock *lk);
	/* sleep=false: -EAGAIN on conflict. sleep=true may block; it returns -EINTR when the
	 * calling thread gets a signal (used to cancel waiters on INTERRUPT and reset). */
	int (*setlk)(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		     uint64_t lock_owner, const struct fs_lock *lk, bool sleep);
	/* flock(2) locks, owned by the handle. op: LOCK_SH, LOCK_EX, LOCK_UN (no LOCK_NB: use
	 * sleep). Same blocking contract as setlk. */
	int (*flock)(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		     int op, bool sleep);

	/* ret_ver: NULL or zeroed by the caller; a backend with a table puts there the version
	 * its own bump after the change produced (FS_VER_BUMPED), as write does. */
	int (*fallocate)(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid,
			 uint64_t fh, int mode, off_t off, off_t len, struct fs_version *ret_ver);
	/* whence: SEEK_SET, SEEK_CUR (treated as SET), SEEK_END, SEEK_DATA, SEEK_HOLE. */
	int (*lseek)(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid, uint64_t fh,
		     off_t off, int whence, off_t *ret);
	/* Returns bytes copied or -errno. ret_ver: as for fallocate, the destination's. */
	ssize_t (*copy_file_range)(struct fs_state *fs, const struct fs_ctx *ctx,
				   uint64_t nodeid_in, uint64_t fh_in, off_t off_in,
				   uint64_t nodeid_out, uint64_t fh_out, off_t off_out, size_t len,
				   unsigned flags, struct fs_version *ret_ver);
	int (*syncfs)(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid);

	/*
	 * DAX. dax_available: whether this session has a cache window (asked at INIT; NULL or
	 * false: the mapping ops are not offered). setupmapping maps [foffset, foffset + len)
	 * of the regular file nodeid at window offset moffset, writable or for reading only;
	 * removemapping removes exactly one earlier setup. Offsets and lengths are the guest's,
	 * unvalidated.
	 */
	bool (*dax_available)(struct fs_state *fs);
	int (*setupmapping)(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t nodeid,
			    uint64_t foffset, uint64_t len, uint64_t moffset, bool writable);
	int (*removemapping)(struct fs_state *fs, const struct fs_ctx *ctx, uint64_t moffset,
			     uint64_t len);

	/*
	 * Coherence (NULL: no version table). vt_available: whether this session's guest can see
	 * the table (asked at INIT when the guest offers the extension; it may map the guest's
	 * copy then). version: the node's current version, for fuse/ to read before a getattr or
	 * setattr (or before a lookup that may fail) whose reply carries it; ret->flags 0 when the
	 * node has none.
	 */
	bool (*vt_available)(struct fs_state *fs);
	int (*version)(struct fs_state *fs, uint64_t nodeid, struct fs_version *ret);

	/*
	 * Migration (docs/migration.md; NULL: not migratable), called like init/destroy with no
	 * other op in flight. state_save appends this session's state (nodes, open handles, next
	 * ids) to w and changes nothing: a failed migration resumes the session. state_load,
	 * right after init() of a new session, recreates the state a state_save wrote, maybe in
	 * another process, maybe hostile: everything is validated. On -errno the caller ends the
	 * session (destroy()).
	 */
	int (*state_save)(struct fs_state *fs, struct sbuf_w *w);
	int (*state_load)(struct fs_state *fs, struct sbuf_r *r);
};

/* A backend instance: its ops and its state. */
struct fs_backend {
	const struct fs_ops *ops;
	struct fs_state *fs;
};

#endif
