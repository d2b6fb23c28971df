/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The passthrough backend: serves one host directory (the share) to the guest through the
 * fs/ops.h interface. Every guest-visible object is reached from a file descriptor opened under
 * the share, one path component at a time, never following symlinks on the host, so the share
 * stays confined even without a sandbox. The shared directory and /proc/self/fd are opened once
 * in pt_new(); nothing afterwards uses an absolute path, so the process may pivot_root into the
 * share (sandbox/) once the backend exists.
 *
 * Trust: node ids, handles, names, modes, offsets and lock owners come from the guest and are
 * validated here; fuse/ has already bounded sizes and checked name syntax (we re-check names).
 *
 * Process-wide side effects of pt_new(): umask(0) (the guest kernel applies its own umask) and,
 * when running as root, dropping the inherited supplementary groups (CVE-2022-0358). Per-request
 * credentials are switched per thread with raw syscalls (see cred.c).
 */
#ifndef VFSD_FS_PASSTHROUGH_H
#define VFSD_FS_PASSTHROUGH_H

#include <stdbool.h>

#include "coherence/vt.h"
#include "dax/dax.h"
#include "fs/ops.h"
#include "fs/passthrough/xattrmap.h"

struct idmap;

enum pt_cache {
	PT_CACHE_AUTO,	   /* entry/attr 1 s, close-to-open data caching */
	PT_CACHE_ALWAYS,   /* 86400 s, FS_OPEN_KEEP_CACHE */
	PT_CACHE_NEVER,	   /* 0 s, FS_OPEN_DIRECT_IO */
	PT_CACHE_METADATA, /* 86400 s for metadata, FS_OPEN_DIRECT_IO for data */
};

/* Which files get FS_ATTR_DAX (what a guest mounted with dax=inode maps). */
enum pt_dax {
	PT_DAX_INODE, /* regular files of a page-multiple size of at least dax_min_size */
	PT_DAX_ALL,   /* every regular file */
};

/* How inodes are held (--inode-file-handles). */
enum pt_inode_fh {
	PT_INODE_FH_NEVER,     /* one O_PATH fd per inode */
	PT_INODE_FH_PREFER,    /* a file handle; an O_PATH fd where the filesystem has none */
	PT_INODE_FH_MANDATORY, /* a file handle, else the lookup fails */
};

struct pt_config {
	const char *shared_dir; /* absolute and already canonical (realpath) */
	enum pt_cache cache;
	bool readonly;	/* every modifying op gets -EROFS */
	bool xattr;	/* serve *xattr ops; else -EOPNOTSUPP */
	bool posix_acl; /* allow system.posix_acl_* xattrs */
	/* --xattrmap (xattrmap.h), owned by the caller and outliving the backend; NULL: names
	 * pass unchanged. Also maps the names of security labels (security_label below). */
	const struct xattrmap *xattrmap;
	/* --security-label: the guest may send a security context with each creating request
	 * (FUSE_SECURITY_CTX, fs_ctx.secctx_*); it is set as that xattr on the new node before
	 * the reply, and a node whose label cannot be set is removed again. */
	bool security_label;
	bool announce_submounts; /* FS_ATTR_SUBMOUNT on directories that cross a host mount */
	bool allow_mmap;	 /* informational: fuse/ negotiates DIRECT_IO_ALLOW_MMAP */
	bool writeback;		 /* allow the writeback-cache open-flag rewrite when negotiated */
	bool preserve_noatime;	 /* keep the guest's O_NOATIME (else stripped) */
	bool allow_direct_io;	 /* keep the guest's O_DIRECT (else stripped) */
	/* Cap on host fds the guest can make us hold (inodes, handles, lock owners); 0 derives it
	 * from RLIMIT_NOFILE minus a reserve for the daemon itself. */
	unsigned long max_guest_fds;
	/* With file handles (needs CAP_DAC_READ_SEARCH), inodes hold no fd: a cache of at most
	 * fd_cache_size O_PATH fds (0: a default, always at most half the budget above, which it
	 * is taken from) saves reopening the handle on every op. */
	enum pt_inode_fh inode_file_handles;
	unsigned long fd_cache_size;
	/* A /proc/self/fd directory fd opened before the sandbox hid /proc (duplicated, the
	 * caller keeps its own), or -1 to open /proc/self/fd here. */
	int proc_self_fd;
	/* DAX: the cache window service (NULL: no DAX, the mapping ops answer ENOSYS; always
	 * NULL with readonly: the frontend maps every file read-write). */
	struct dax_window *dax;
	enum pt_dax dax_policy;
	uint64_t dax_min_size;
	/* Coherence: the version table service (NULL: none). Every inode gets its slot at lookup;
	 * every successful change bumps the slots of the inodes it touched before the op
	 * returns (docs/coherence.md lists them). */
	struct vt_table *vt;
	/* With a table and a host change watch that sees only the directories it is given
	 * (inotify): gives it a directory (any fd of it) when the directory is first
	 * instantiated, before its version is first read; 0 or -errno. A directory that could not
	 * be watched (-ENOSPC: fs.inotify.max_user_watches) gets no versions: its names and
	 * attributes fall back to timeouts. NULL: the watch sees everything, or there is none. */
	int (*vt_watch_dir)(void *opaque, int dirfd);
	void *vt_watch_opaque;
	/* With a table: entry and attribute timeouts from how long ago the inode (for entries
	 * also the directory) last changed, vt_adaptive_timeout() within [adapt_min, adapt_max]
	 * seconds, instead of the cache mode's fixed one (adapt_max 0: off). Guests with the
	 * extension get the table's timeouts for versioned replies anyway (fuse/). */
	double adapt_min, adapt_max;
	/* --translate-uid/--translate-gid (NULL or empty: ids pass unchanged), owned by the
	 * caller and kept until pt_free(). Guest-to-host on the ids a request acts with (owner of
	 * a created node, chown), host-to-guest on every attribute reply. */
	const struct idmap *translate_uid, *translate_gid;
	/* Migration (docs/migration.md). Saving: also send each node's file handle
	 * (--migration-mode=file-handles), else paths only. Loading: a node or handle that
	 * cannot be found again gives the guest EIO on it (--migration-on-error=guest-error)
	 * instead of failing the load. */
	bool migration_file_handles;
	bool migration_guest_error;
	/* Saving: send file handles the destination checks (--migration-verify-handles; loading:
	 * check every handle sent); confirm each path right before saving it
	 * (--migration-confirm-paths). */
	bool migration_verify_handles;
	bool migration_confirm_paths;
};

/*
 * Opens cfg->shared_dir and (unless given) /proc/self/fd and fills *ret with the backend (ops +
 * state). Returns 0 or -errno (-ENOENT/-ENOTDIR for a bad share, or the error opening
 * /proc/self/fd: /proc must be mounted at start-up, it is how O_PATH fds are reopened for I/O).
 */
int pt_new(const struct pt_config *cfg, struct fs_backend *ret);

/* Releases everything pt_new() made. NULL-safe; no op may be in flight. */
void pt_free(struct fs_backend *be);

#endif
