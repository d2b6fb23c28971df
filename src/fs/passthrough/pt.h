/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internal state of the passthrough backend and the functions of its core files, which the op
 * files (op_*.c) and pt.c call; the ops themselves are declared in pt_ops.h, which no core file
 * includes (the call graph: docs/architecture.md). Nothing here is visible to other layers.
 * Object lifetimes:
 *  - struct pt_inode: in fs->inodes while its guest lookup count (nlookup) is non-zero (the root
 *    always). `refs` counts the table's reference plus one per in-flight user (an op, an open
 *    handle); the O_PATH fd is closed when refs drops to zero, so a forget racing with an op
 *    never closes a fd under it. An inode held by file handle (fh != NULL) has a fd only while
 *    in the fd cache; `ino->fd` may be used only while pinned (pt_inode_get pins, and
 *    pt_reopen/pt_do_lookup pin for themselves): pinned inodes are never evicted.
 *  - struct pt_handle: in fs->handles from open to release; `refs` likewise.
 * Lock order: inode table lock -> fd cache lock (fdc_mu, innermost); the inode and handle table
 * locks are never nested; a handle's dir_mu or an
 * inode's locks_mu may be held while taking a table lock, never the other way round.
 */
#ifndef VFSD_FS_PASSTHROUGH_PT_H
#define VFSD_FS_PASSTHROUGH_PT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "fs/ops.h"
#include "fs/passthrough/passthrough.h"
#include "util/macros.h"

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* ---- hmap.c: a chained hash map of intrusive nodes, keyed by a 64-bit hash ---- */
struct pt_hnode {
	struct pt_hnode *next;
	uint64_t hash;
};

struct pt_hmap {
	struct pt_hnode **buckets;
	size_t nbuckets; /* power of two */
	size_t count;
};

int pt_hmap_init(struct pt_hmap *m);
void pt_hmap_done(struct pt_hmap *m);
/* Never fails: when growing the bucket array fails the chains just get longer. */
void pt_hmap_insert(struct pt_hmap *m, struct pt_hnode *n, uint64_t hash);
void pt_hmap_remove(struct pt_hmap *m, struct pt_hnode *n);
/* First node of the chain that may hold `hash`; walk with ->next and compare ->hash. */
struct pt_hnode *pt_hmap_chain(const struct pt_hmap *m, uint64_t hash);
/* Empties the map and returns all its nodes as a list linked through ->next. */
struct pt_hnode *pt_hmap_take_all(struct pt_hmap *m);
uint64_t pt_hash64(uint64_t x);

/* ---- inode.c ---- */
struct pt_lock_owner;
struct file_handle;

/* A mount file handles are opened on: a real (not O_PATH) directory fd on it. */
struct pt_mount {
	struct pt_mount *next; /* guarded by fs->fdc_mu */
	uint64_t mnt_id;
	int fd;		    /* owned, charged to the fd budget */
	unsigned long refs; /* guarded by fs->fdc_mu: one per inode on this mount */
};

struct pt_inode {
	struct pt_hnode by_id;
	struct pt_hnode by_key;
	uint64_t nodeid;
	uint64_t dev, ino, mnt_id;
	mode_t type; /* S_IFMT bits */
	/* O_PATH|O_NOFOLLOW, owned. Without fh: for the inode's life. With fh: -1 or a cached
	 * fd, guarded by fs->fdc_mu and stable while pins > 0. */
	int fd;
	struct file_handle *fh; /* owned; NULL: the inode holds a fd instead */
	struct pt_mount *mnt;	/* with fh: a reference on the mount to reopen it on */
	unsigned long pins;	/* guarded by fs->fdc_mu */
	struct pt_inode *lru_prev, *lru_next; /* guarded by fs->fdc_mu, while fd >= 0 */
	uint64_t nlookup;		      /* guarded by fs->inodes_lock */
	atomic_ulong refs;
	atomic_bool dax_mapped; /* has been DAX-mapped: size changes must reach the window */
	atomic_bool dax_denied; /* could not be opened for a DAX map: no FS_ATTR_DAX any more */
	uint32_t vt_slot;	/* with a version table: set before the inode is published */
	/* Set before the inode is published: a directory the host change watch could not take
	 * (cfg.vt_watch_dir failed), so its versions are never VALID. */
	bool vt_unversioned;
	pthread_mutex_t locks_mu;
	struct pt_lock_owner *owners; /* guarded by locks_mu */
	unsigned nowners;	      /* guarded by locks_mu */
	/* Migration (op_migrate.c), set before the inode is published: not found again on load
	 * (no fd, no handle: every use is -EIO); had lock owners on the source, whose locks
	 * did not move (lock requests get -ENOLCK). */
	bool broken;
	bool locks_lost;
};

/* ---- handle.c ---- */
struct pt_dirstream;

struct pt_handle {
	struct pt_hnode node;
	uint64_t fh;
	struct pt_inode *inode; /* holds a reference */
	int fd;
	int flags; /* host open flags the fd was opened with */
	atomic_ulong refs;
	pthread_mutex_t dir_mu;
	struct pt_dirstream *dir; /* directories only, guarded by dir_mu */
	atomic_bool flocked;	  /* a flock() lock was taken through it (migration) */
	/* Migration, set before publication: not reopened on load (fd -1, -EIO on use); held
	 * flock locks on the source (-ENOLCK for new ones). */
	bool broken;
	bool locks_lost;
};

/* The passthrough's state, the struct that fs/ops.h declares opaque (the ops take it typed). */
struct fs_state {
	struct pt_config cfg;
	char *shared_dir;
	int proc_fd; /* /proc/self/fd, O_PATH|O_DIRECTORY */
	struct pt_inode *root;
	double timeout;

	pthread_rwlock_t inodes_lock;
	struct pt_hmap inodes_by_id;  /* guarded by inodes_lock */
	struct pt_hmap inodes_by_key; /* guarded by inodes_lock */
	uint64_t next_nodeid;	      /* guarded by inodes_lock */

	pthread_rwlock_t handles_lock;
	struct pt_hmap handles; /* guarded by handles_lock */
	uint64_t next_fh;	/* guarded by handles_lock */

	atomic_ulong fds_used;
	unsigned long fds_max;
	/* With cfg.vt_watch_dir: the watch keeps an fd per directory given to it, for as long as
	 * the directory exists, so those come out of the budget too (a quarter of it). */
	atomic_ulong vt_watched;
	unsigned long vt_watch_max;

	/* File handles and the fd cache (fhandle.c). */
	pthread_mutex_t fdc_mu;
	struct pt_inode *lru_head, *lru_tail; /* guarded by fdc_mu: most recently used first */
	unsigned long fdc_count;	      /* guarded by fdc_mu */
	unsigned long fdc_max;
	struct pt_mount *mounts; /* guarded by fdc_mu */
	bool fh_ready;		 /* fdc_mu initialised */

	/* Set by init() with no op in flight, read-only afterwards. */
	bool writeback;
	bool init_posix_acl;
	bool killpriv_v2; /* FUSE_HANDLE_KILLPRIV_V2: set-id clearing is ours (setid.c) */
};

/* ---- Core files: what the op files (and each other) call. None of them calls an op file. ---- */

/* The entry and attribute timeout of the share's cache mode. */
static inline double pt_timeout(const struct fs_state *fs)
{
	return fs->timeout;
}

/* fd.c */
int pt_check_name(const char *name);
/* Charges one guest-caused fd against the budget: 0 or -ENFILE. */
int pt_fd_charge(struct fs_state *fs);
void pt_fd_uncharge(struct fs_state *fs);

/* stat.c */
int pt_statx(int fd, struct statx *stx);
/* statx of fd itself with STATX_BASIC_STATS | STATX_MNT_ID | mask; sync: the AT_STATX_SYNC_TYPE
 * bits (0: as stat). */
int pt_statx_mask(int fd, unsigned mask, unsigned sync, struct statx *stx);
void pt_statx_to_stat(const struct statx *stx, struct stat *st);
uint64_t pt_statx_mnt_id(const struct statx *stx);
int pt_stat_inode(const struct pt_inode *ino, struct stat *st);
int pt_statx_inode(const struct pt_inode *ino, struct statx *stx);

/* inode.c */
int pt_inode_table_init(struct fs_state *fs, int root_fd);
void pt_inode_table_done(struct fs_state *fs);
/* Drops every inode but the root (session reset). */
void pt_inode_forget_all(struct fs_state *fs);
/* Returns a referenced and pinned inode for a guest node id, or -ENOENT (or the error reopening
 * its file handle, e.g. -ESTALE). Dropped with pt_inode_release (the guard does it). */
int pt_inode_get(struct fs_state *fs, uint64_t guest_nodeid, struct pt_inode **ret);
void pt_inode_release(struct fs_state *fs, struct pt_inode *ino);
/* A referenced inode (dropped with pt_inode_put), broken ones too, not pinned: -ENOENT. */
int pt_inode_find(struct fs_state *fs, uint64_t nodeid, struct pt_inode **ret);
/* The version slot of the inode stx describes when the table has it with an open fd (which
 * keeps the host from reusing its inode number, so it is that very object): true and *ret. */
bool pt_inode_known_slot(struct fs_state *fs, const struct statx *stx, uint32_t *ret);
/* Plain references (no pin): for holders that do not use ino->fd, such as open handles. */
void pt_inode_ref(struct pt_inode *ino);
void pt_inode_put(struct fs_state *fs, struct pt_inode *ino);
void pt_inode_forget(struct fs_state *fs, uint64_t guest_nodeid, uint64_t nlookup);
/* Turns an O_PATH fd (ownership taken, even on error) into a guest entry with one lookup
 * reference: an existing inode for the same (dev, ino, mnt) is reused. */
int pt_inode_entry(struct fs_state *fs, const struct pt_inode *parent, int *fd,
		   struct fs_entry *ret);
/* Looks `name` up under `parent` and returns the entry (one lookup reference). */
int pt_do_lookup(struct fs_state *fs, const struct pt_inode *parent, const char *name,
		 struct fs_entry *ret);
/* The same for a node this request just created or changed: its version slot is bumped before
 * the stat and ret->ver is the bumped version (pt_vt.c). */
int pt_inode_entry_changed(struct fs_state *fs, const struct pt_inode *parent, int *fd,
			   struct fs_entry *ret);
int pt_do_lookup_changed(struct fs_state *fs, const struct pt_inode *parent, const char *name,
			 struct fs_entry *ret);
/*
 * Migration (op_migrate.c): a node of a loaded state found again as the O_PATH fd *fd (ownership
 * taken), under its old id and lookup count (-EEXIST when the id or the host object is taken
 * already); or, not found, a broken node every use of which is -EIO.
 */
int pt_inode_restore(struct fs_state *fs, int *fd, uint64_t nodeid, uint64_t nlookup,
		     bool locks_lost);
int pt_inode_restore_broken(struct fs_state *fs, uint64_t nodeid, uint64_t nlookup, mode_t type,
			    bool locks_lost);
/* Opens `name` under dirfd as O_PATH without following any symlink or leaving the dir. */
int pt_open_child_path(int dirfd, const char *name);

#define _cleanup_inode_ _cleanup_(pt_inode_cleanup)
struct pt_inode_guard {
	struct fs_state *fs;
	struct pt_inode *ino;
};
static inline void pt_inode_cleanup(struct pt_inode_guard *g)
{
	if (g->ino)
		pt_inode_release(g->fs, g->ino);
}

/* reopen.c */
/* Reopens an inode's O_PATH fd as a real fd with host `flags` (O_CLOEXEC added). Regular files
 * and directories only: anything else is -EACCES (no host device/FIFO is ever opened). */
int pt_reopen(struct fs_state *fs, const struct pt_inode *ino, int flags);

/* fhandle.c: inodes held by file handle, their mounts, and the fd cache. */
int pt_fh_init(struct fs_state *fs);
/* Takes the fd cache's share out of fs->fds_max (just derived from the rlimit). */
void pt_fh_budget(struct fs_state *fs);
void pt_fh_done(struct fs_state *fs);
/* For a fresh O_PATH fd: in the handle modes, its file handle and a reference on its mount
 * (parent: pinned here if its fd is needed to reach the mount). Both NULL: hold the fd itself
 * (mode never, or prefer where handles do not work). -errno only in mode mandatory. */
int pt_fh_make(struct fs_state *fs, int fd, const struct pt_inode *parent, const struct statx *stx,
	       struct file_handle **ret_fh, struct pt_mount **ret_mnt);
void pt_mount_unref(struct fs_state *fs, struct pt_mount *m);
/* Gives a not yet published inode with fh its first fd (ownership taken), cached. */
void pt_fdcache_adopt(struct fs_state *fs, struct pt_inode *ino, int fd);
/* Makes ino->fd usable until the matching unpin; no-op for inodes without fh. Pins nest. The
 * cache fields are the only part of an inode these change (under fdc_mu), so they take the
 * const pointers the op helpers have. */
int pt_inode_pin(struct fs_state *fs, const struct pt_inode *ino);
void pt_inode_unpin(struct fs_state *fs, const struct pt_inode *ino);
/* An unreferenced inode goes away: its cached fd, handle and mount reference. */
void pt_fh_inode_done(struct fs_state *fs, struct pt_inode *ino);

/* handle.c */
int pt_handle_table_init(struct fs_state *fs);
void pt_handle_table_done(struct fs_state *fs);
void pt_handle_close_all(struct fs_state *fs);
/* Registers an open fd (ownership taken, even on error) for `ino`: 0 or -EMFILE/-ENOMEM. */
int pt_handle_new(struct fs_state *fs, struct pt_inode *ino, int *fd, int flags, uint64_t *ret_fh);
/* Returns a referenced handle whose node matches, or -EBADF. */
int pt_handle_get(struct fs_state *fs, uint64_t guest_nodeid, uint64_t guest_fh,
		  struct pt_handle **ret);
void pt_handle_put(struct fs_state *fs, struct pt_handle *h);
int pt_handle_release(struct fs_state *fs, uint64_t guest_nodeid, uint64_t guest_fh);
/* Migration: an open handle of a loaded state under its old number, holding *fd (ownership
 * taken; -1: broken, every use -EIO): -EEXIST when the number is taken. */
int pt_handle_restore(struct fs_state *fs, struct pt_inode *ino, int *fd, int flags, uint64_t fh,
		      bool locks_lost);

#define _cleanup_handle_ _cleanup_(pt_handle_cleanup)
struct pt_handle_guard {
	struct fs_state *fs;
	struct pt_handle *h;
};
static inline void pt_handle_cleanup(struct pt_handle_guard *g)
{
	if (g->h)
		pt_handle_put(g->fs, g->h);
}

/* cred.c: switch this thread to the guest's credentials for the guard's scope (who decides
 * permissions, and why most ops run as the daemon: the top of cred.c). */
struct pt_cred {
	bool switched;
};
/* The caller's ids, nothing more: the host checks with them. */
int pt_cred_enter(struct pt_cred *c, const struct fs_ctx *ctx);
/* For ops that create a node: the caller's ids for its owner, the guest's permission decision
 * kept (CAP_DAC_OVERRIDE and CAP_FSETID stay effective). */
int pt_cred_enter_creator(struct pt_cred *c, const struct fs_ctx *ctx);
void pt_cred_leave(struct pt_cred *c);
#define _cleanup_cred_ _cleanup_(pt_cred_leave)
/* Process-wide, at pt_new: drop inherited supplementary groups when root; the guest-to-host
 * translation the credential switch applies (NULL: none), kept until exit. */
int pt_cred_init(const struct idmap *uids, const struct idmap *gids);
/* Guest-to-host translation of the ids a request gives a node (chown): 0 or -EPERM. */
int pt_ids_to_host(const struct fs_state *fs, uint32_t *uid, uint32_t *gid);
/* Host-to-guest translation of the owner in an attribute reply. */
void pt_ids_to_guest(const struct fs_state *fs, uint32_t *uid, uint32_t *gid);
void pt_stat_to_guest(const struct fs_state *fs, struct stat *st);

/* pt_dax.c: DAX hooks. FS_ATTR_DAX for a file with these attributes (ino may be NULL for a new
 * one), per cfg.dax_policy. */
uint32_t pt_dax_attr_flags(const struct fs_state *fs, const struct pt_inode *ino,
			   const struct statx *stx);
/* For DAX-mapped files only (cheap otherwise): a stat saw size `size` (contents may have
 * changed); the daemon is about to change the file through fd (and truncate it to shrink_to,
 * or -1), or has just done so; fsync/flush/release: the guest's window writes go to the file. */
void pt_dax_changed(struct fs_state *fs, struct pt_inode *ino, uint64_t size);
void pt_dax_before_write(struct fs_state *fs, struct pt_inode *ino, int fd, off_t shrink_to);
void pt_dax_after_write(struct fs_state *fs, struct pt_inode *ino, int fd);
void pt_dax_sync(struct fs_state *fs, struct pt_inode *ino);

/* lock_owner.c: an inode's guest lock owners, each with its own open file description. */
struct pt_lock_owner {
	struct pt_lock_owner *next; /* guarded by the inode's locks_mu */
	uint64_t owner;
	int fd;
	_Atomic pid_t pid; /* guest pid of the last lock taken through fd */
	atomic_ulong refs; /* the list's + one per op using fd */
};
/* Returns a referenced owner (created when `create`, -ENOLCK beyond the per-inode limit or
 * the fd budget); -ENOENT when absent and !create. */
int pt_owner_get(struct fs_state *fs, struct pt_inode *ino, uint64_t owner, bool create,
		 struct pt_lock_owner **ret);
void pt_owner_put(struct fs_state *fs, struct pt_lock_owner *o);
/* Drops `owner`'s description, and with it its locks (the guest's close: flush). */
void pt_owner_remove(struct fs_state *fs, struct pt_inode *ino, uint64_t owner);
void pt_lock_owners_drop_all(struct fs_state *fs, struct pt_inode *ino);

/* create.c */
/*
 * The start of every creating op: -EROFS on a read-only share, then the parent pinned into
 * *parent_slot (the caller's cleanup guard, so it is released on every path) and checked to be a
 * directory, and *mode turned into the mode to create with (umask handling under
 * FUSE_POSIX_ACL).
 */
int pt_create_begin(struct fs_state *fs, uint64_t parent, struct pt_inode **parent_slot,
		    mode_t *mode, mode_t umask);

/* setid.c: clear setuid/setgid as an unprivileged write would (fd may be -1). */
int pt_kill_suidgid(struct fs_state *fs, const struct pt_inode *ino, int fd);
/* For a change that carries no kill flag of its own: pt_kill_suidgid when the caller is not
 * root (open with O_TRUNC); _v2: only under FUSE_HANDLE_KILLPRIV_V2 (fallocate,
 * copy_file_range: otherwise the guest sends the SETATTR itself). */
int pt_kill_suidgid_caller(struct fs_state *fs, const struct fs_ctx *ctx,
			   const struct pt_inode *ino, int fd);
int pt_kill_suidgid_v2(struct fs_state *fs, const struct fs_ctx *ctx, const struct pt_inode *ino,
		       int fd);

/* pt_vt.c: the version table hooks; all no-ops without a table. */
/* The version of an inode now (read before a stat). */
void pt_vt_read(struct fs_state *fs, const struct pt_inode *ino, struct fs_version *ret);
/* After a successful change to ino, before the op returns; ret (may be NULL) gets the version
 * the change produced, flagged FS_VER_BUMPED. */
void pt_vt_changed(struct fs_state *fs, const struct pt_inode *ino, struct fs_version *ret);
/* The slot of `name` in dir, taken before a removal or rename replaces it, and whether it is a
 * non-directory with other links (one that stays linked after it; ret_linked may be NULL):
 * 0 or -errno. One statx; the file handle only for an inode this daemon holds no fd of. */
int pt_vt_child(struct fs_state *fs, const struct pt_inode *dir, const char *name,
		uint32_t *ret_slot, bool *ret_linked);
/* ret (may be NULL) as for pt_vt_changed(). */
void pt_vt_bump_slot(struct fs_state *fs, uint32_t slot, struct fs_version *ret);
/* The slot of a fresh O_PATH fd (before its stat), with its version (bumped if `changed`). */
uint32_t pt_vt_fd_slot(struct fs_state *fs, int fd, bool changed, struct fs_version *ret);
/* inotify-style watch (cfg.vt_watch_dir): gives it directory fd; 0 or -errno (logged).
 * `counted`: within the watch's share of the fd budget (-ENOSPC beyond it). */
int pt_vt_watch_dir(struct fs_state *fs, int fd, bool counted);
/* Takes the watch's share out of fs->fds_max (just derived from the rlimit). */
void pt_vt_budget(struct fs_state *fs);
/* The timeout of an inode's attributes (dir NULL) or of its entry in dir: the adaptive one
 * (cfg.adapt_max) from the slots' ages, else the cache mode's. Unversioned inodes (their host
 * changes may go unseen, so their ages mean nothing) keep the cache mode's. */
double pt_vt_timeout(struct fs_state *fs, uint32_t slot, bool unversioned,
		     const struct pt_inode *dir);

/* xattr_io.c: one xattr syscall on an inode. */
enum pt_xop {
	PT_XGET,
	PT_XSET,
	PT_XLIST,
	PT_XREMOVE
};

struct pt_xreq {
	enum pt_xop op;
	const char *name;
	void *buf;
	size_t size;
	int flags;
	bool kill_sgid; /* PT_XSET of an access ACL: clear setgid once it is set */
};
/* Runs one request as ctx (NULL: as the daemon): the value, size or 0, or -errno. */
ssize_t pt_xattr_do(struct fs_state *fs, const struct fs_ctx *ctx, const struct pt_inode *ino,
		    const struct pt_xreq *x);
/* getxattr as the daemon (the default-ACL probe of creating ops). */
ssize_t pt_xattr_get_raw(struct fs_state *fs, const struct pt_inode *ino, const char *name,
			 void *buf, size_t size);
/*
 * The host name of a guest's xattr name: the name itself without cfg.xattrmap, else its mapping
 * into buf; -EPERM/-ENOTSUP/-ERANGE when the mapping refuses it (xattrmap.h).
 */
int pt_xattr_host_name(const struct fs_state *fs, const char *guest_name,
		       char buf[static XATTRMAP_NAME_MAX + 1], const char **ret);
/*
 * Sets ctx's security context (if any, and cfg.security_label) on the node `name` just created
 * in dirfd, through fd when it is an open fd of it (else -1), as the daemon, its name mapped
 * by cfg.xattrmap. 0 or -errno; the caller removes the node on failure.
 */
int pt_secctx_apply(struct fs_state *fs, const struct fs_ctx *ctx, int dirfd, const char *name,
		    int fd);

#endif
