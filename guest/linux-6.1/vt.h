/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vfsd version table, guest side: the FUSE client keeps dentries and attributes cached for as
 * long as the daemon's version counters say they have not changed (include/vfsd/vt_proto.h in
 * the vfsd tree for the protocol, guest/README.md for the build).
 *
 * Everything here is called from small hooks in Debian's fs/fuse: guest/linux-6.1/hooks.patch for
 * bookworm's 6.1, guest/linux-7.2/hooks.patch for sid's 7.2 (the renamed fork, virtiofs_vt.ko).
 * Without the shared memory region or without the daemon's INIT ack nothing changes: every
 * check returns the timeout-based answer it is given, no reply grows.
 */
#ifndef _FS_FUSE_VT_H
#define _FS_FUSE_VT_H

#include <linux/seqlock.h>
#include <linux/types.h>
#include <linux/version.h>
#include "vt_proto.h"

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
/* dir.c: use the allocated union fuse_dentry (the 32-bit layout) on 64-bit too: on 64-bit
 * Linux 6.1 stores the entry time in d_fsdata itself, which leaves no room for a version. */
#define FUSE_VT_DENTRY 1
#endif

struct dentry;
struct fuse_args;
struct fuse_conn;
struct fuse_inode;
struct inode;
struct virtio_device;

/* The table as the virtio-fs device maps it (owned by struct virtio_fs). */
struct fuse_vt_region {
	void *base; /* memremap()ed shared memory region VFSD_VT_SHMID; NULL: none */
	u64 len;
};

enum fuse_vt_state {
	FUSE_VT_OFF,	 /* no region, or the daemon did not ack: Debian's behaviour */
	FUSE_VT_OFFERED, /* flag sent in FUSE_INIT, no reply yet */
	FUSE_VT_ON,	 /* acked and the header is valid */
	FUSE_VT_BROKEN,	 /* acked, but the header is not: everything counts as stale */
};

/*
 * A run of the guest's own changes to a slot (vt.c, "Own changes"): the slot's version went from
 * base to cur only through this guest's own creating requests, each of which this guest applied
 * to its dcache itself. Names looked up at any version in [base, cur] are as current as names
 * looked up at cur. Only names, never attributes.
 */
struct fuse_vt_run {
	u64 base;
	u64 cur; /* 0: unused */
	u32 slot;
	u32 used; /* fuse_vt_conn.run_clock when last extended: the least recent one is replaced */
};

/*
 * Sets by slot, FUSE_VT_RUN_WAYS runs each, the least recently extended replaced: a forgotten
 * run only costs LOOKUPs, but `rm -rf` of .git/objects starts 256 runs between two rmdirs in
 * objects/, which forgot objects/'s run most of the time with one run per bucket.
 */
#define FUSE_VT_RUN_SETS 128
#define FUSE_VT_RUN_WAYS 4

/* In struct fuse_conn. The bounds are copied at INIT and never re-read from the region. */
struct fuse_vt_conn {
	void *base;
	u64 len;
	const struct vfsd_vt_header *hdr;
	const u64 *slots;
	u64 nslots;
	int state;	     /* enum fuse_vt_state */
	bool dplus;	     /* READDIRPLUS entries are versioned (VFSD_VT_INIT_RDPLUS acked) */
	seqlock_t runs_lock; /* writers: own changes' replies; readers: lock-free dentry checks */
	u32 run_clock;	     /* under runs_lock */
	struct fuse_vt_run runs[FUSE_VT_RUN_SETS][FUSE_VT_RUN_WAYS];
};

/* In struct fuse_inode: the version the cached attributes came with (under fi->lock). */
struct fuse_vt_inode {
	u64 version;
	u64 rdc_version; /* the directory's version when its readdir cache was started */
	u32 slot;
	bool valid;
	bool rdc_valid;
};

/* At d_fsdata: in 6.1 a member of union fuse_dentry (dir.c), time being that union's time; in
 * 7.2 the first member of struct fuse_dentry, which has its own time. */
struct fuse_vt_dentry {
#ifdef FUSE_VT_DENTRY
	u64 time;
#endif
	u64 dir_version; /* the parent's version when the entry was looked up or made */
	u32 dir_slot;
	u32 valid;
};

/* In struct fuse_args: the reply extension, posted when the daemon acked the flag. */
struct fuse_vt_args {
	union {
		struct vfsd_vt_entry_out entry;
		struct vfsd_vt_attr_out attr;
		struct vfsd_vt_dirs_out dirs;
		struct vfsd_vt_remove_out remove; /* dirs, then the removed node */
	};
	bool posted;
};

/* virtiofs.ko: find and map region VFSD_VT_SHMID (vt_virtio.c). */
void fuse_vt_region_map(struct virtio_device *vdev, struct fuse_vt_region *r);
void fuse_vt_region_unmap(struct fuse_vt_region *r);

/* Connection: the region a transport found; the INIT flag to offer; the INIT reply. */
void fuse_vt_conn_init(struct fuse_conn *fc, const struct fuse_vt_region *r);
u64 fuse_vt_init_flags(struct fuse_conn *fc);
void fuse_vt_init_reply(struct fuse_conn *fc, u64 flags);

/* Requests: post the extension for LOOKUP, MKNOD, MKDIR, SYMLINK, LINK, CREATE, TMPFILE,
 * GETATTR, STATX (7.x), SETATTR, WRITE and COPY_FILE_RANGE (by args->opcode) when acked, and the
 * body of UNLINK, RMDIR, RENAME, RENAME2 and FALLOCATE; the versions of the reply, NULL if none. */
void fuse_vt_args(struct fuse_conn *fc, struct fuse_args *args);
const struct vfsd_vt_ver *fuse_vt_node(struct fuse_args *args);
const struct vfsd_vt_ver *fuse_vt_parent(struct fuse_args *args);
void fuse_vt_copy_parent(struct fuse_args *args, struct vfsd_vt_ver *out);

/* Inodes: stored together with the attributes they describe (fi->lock held). */
void fuse_vt_inode_init(struct fuse_inode *fi);
void fuse_vt_inode_set(struct fuse_inode *fi, const struct vfsd_vt_ver *ver);

/* Dentries: the parent's version (NULL: keep what is there); forget on invalidation. Called
 * after the dentry is instantiated; a creating request's VFSD_VT_BUMPED parent version also
 * extends the run of this guest's own changes to that slot. */
void fuse_vt_dentry_set(struct dentry *entry, const struct vfsd_vt_ver *parent);
void fuse_vt_dentry_forget(struct dentry *entry);

/*
 * UNLINK, RMDIR, RENAME, RENAME2: fuse_vt_dirs_result() turns fuse_simple_request()'s result
 * (the body's size, the body being a variable-size argument) back into 0 or -errno;
 * fuse_vt_dirs_note(), after a success and after the dcache has the change, extends the runs
 * of the directories the reply says this request bumped. `moved` and `exchanged` (may be NULL)
 * are the dentries the VFS moves to another name after the op: their versions name the old
 * directory, so they are forgotten (one LOOKUP each). `removed` (may be NULL) is the unlinked
 * or replaced inode: it adopts the reply's node version (fuse_vt_inode_adopt()).
 */
int fuse_vt_dirs_result(struct fuse_args *args, ssize_t r);
void fuse_vt_dirs_note(struct fuse_conn *fc, struct fuse_args *args, struct dentry *moved,
		       struct dentry *exchanged, struct inode *removed);

/*
 * WRITE (args posted by fuse_vt_args() after fuse_write_args_fill()), FALLOCATE and
 * COPY_FILE_RANGE: turns fuse_simple_request()'s result back into 0 or -errno and lets `inode`
 * (a copy's destination) adopt the version the request's own bump produced.
 */
int fuse_vt_write_result(struct inode *inode, struct fuse_args *args, ssize_t r);
/*
 * An own request that changed inode bumped its slot to ver->version (VFSD_VT_BUMPED): if the
 * inode held exactly version - 1, nobody else moved it in between, and it takes the new value.
 * Only the version: the attributes the request changed are FUSE's own to invalidate (size and
 * times after a write, ctime and the link count after an unlink). Else nothing changes (stale).
 */
void fuse_vt_inode_adopt(struct inode *inode, const struct vfsd_vt_ver *ver);

/*
 * The checks (dentry revalidation, attribute refresh, permission). time_expired is
 * Debian's answer; with the table on, a versioned item is expired exactly when its version
 * changed, whatever the timeout says; a name is current while its directory's version holds or a
 * run of own changes covers it, a non-directory's dentry also needs its inode's version. Lock-free
 * apart from a seqlock read; fine under RCU and under d_lock.
 */
bool fuse_vt_dentry_expired(const struct dentry *entry, struct inode *inode, bool time_expired);
bool fuse_vt_attr_expired(struct inode *inode, bool time_expired);
/* d_delete: keep an unused dentry while its name is current (its inode's attributes are checked
 * again when it is used); without a version, while time_expired is false. */
bool fuse_vt_dentry_keep(const struct dentry *entry, bool time_expired);

/*
 * readdir.c's READDIRPLUS parse: the entry at buf (nbytes >= FUSE_NAME_OFFSET_DIRENTPLUS left):
 * sets *dirent (NULL: a truncated versioned entry, stop) and *reclen by the layout the daemon
 * acked, and returns the entry's versions (NULL in the stock layout). The versions then go where
 * a LOOKUP reply's go: node with the attributes, parent with the dentry.
 */
struct fuse_dirent;
const struct vfsd_vt_entry_out *fuse_vt_dirplus(struct fuse_conn *fc, char *buf, size_t nbytes,
						struct fuse_dirent **dirent, size_t *reclen);

/* The readdir cache (fi->rdc.lock held): note the directory's version when a cache starts;
 * at position 0, true if it changed since. */
void fuse_vt_rdc_start(struct inode *dir);
bool fuse_vt_rdc_stale(struct inode *dir);

#endif
