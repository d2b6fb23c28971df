/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host-side change detection for the version table (docs/coherence.md, "The host watcher"):
 * tells a sink the file handle (coherence/fid.h) of every inode that something other than this
 * daemon changed on the share's filesystem, so the table can bump its slot; and when events were
 * lost, so it can bump the epoch.
 *
 * Two backends:
 * - fanotify with a filesystem mark (FID reporting): sees the whole filesystem (also outside the
 *   share: extra bumps of unrelated slots, harmless), needs CAP_SYS_ADMIN when vt_watch_new()
 *   runs and no privilege afterwards;
 * - inotify, unprivileged: only directories given to vt_watch_add_dir() are watched, with the
 *   limits listed in the doc.
 *
 * The sink is called from whichever thread dispatches (the watch's own thread after
 * vt_watch_start()). Events caused by this process are skipped where the kernel says who
 * caused them (fanotify); a double bump is harmless anyway. Trusts the kernel only.
 */
#ifndef VFSD_COHERENCE_WATCH_H
#define VFSD_COHERENCE_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include "coherence/fid.h"

struct vt_watch;

struct vt_watch_sink {
	/* An inode changed; handle as in struct vt_fid. Called once per touched inode: for a
	 * directory-entry change both the directory and the entry's inode. */
	void (*changed)(void *opaque, int handle_type, const void *handle, size_t len);
	/* Events were lost (queue overflow): anything may have changed. */
	void (*lost)(void *opaque);
	void *opaque;
};

enum vt_watch_kind {
	VT_WATCH_AUTO,	   /* fanotify, else inotify */
	VT_WATCH_FANOTIFY, /* fanotify only: fails without CAP_SYS_ADMIN or FID support */
	VT_WATCH_INOTIFY,  /* inotify only */
};

struct vt_watch_config {
	enum vt_watch_kind kind;
	/* inotify: a directory fd on this process's /proc/<pid>/fd (sandbox_proc_self_fd()),
	 * duplicated; -1 opens /proc/self/fd (only where that is reachable). Unused by fanotify. */
	int proc_fd;
};

struct vt_watch_stats {
	uint64_t events;  /* events read */
	uint64_t own;	  /* of those, skipped as caused by this process */
	uint64_t lost;	  /* overflow notices */
	uint64_t handles; /* sink->changed calls */
	uint64_t unknown; /* inotify: events whose name had gone (only the directory bumped) */
	uint64_t rounds;  /* the thread's wake-ups that read the queue (vt_watch_start()) */
};

/*
 * Sets up the watch on the filesystem of share_fd (a directory). With fanotify the mark is
 * placed here: call while CAP_SYS_ADMIN is still held (after sandbox_enter(), before
 * sandbox_lock_down()). Nothing is read until vt_watch_start() or vt_watch_dispatch().
 * 0 or -errno (-EPERM: fanotify asked for without the capability).
 */
int vt_watch_new(int share_fd, const struct vt_watch_sink *sink, const struct vt_watch_config *cfg,
		 struct vt_watch **ret);
/* Stops the thread, closes everything. NULL-safe. */
void vt_watch_free(struct vt_watch *w);

/* VT_WATCH_FANOTIFY or VT_WATCH_INOTIFY: what vt_watch_new() got. */
enum vt_watch_kind vt_watch_kind(const struct vt_watch *w);

/*
 * inotify: watch directory dirfd (any fd, O_PATH is fine) from now on; idempotent. The backend
 * calls it when a directory is first looked up, before it reads the directory's version.
 * Changes the calling thread's cwd (after unshare(CLONE_FS), so only that thread's). A no-op
 * returning 0 for fanotify. 0 or -errno (-ENOSPC: fs.inotify.max_user_watches reached).
 */
int vt_watch_add_dir(struct vt_watch *w, int dirfd);

/*
 * The thread reads the daemon's own changes in batches: after a read that found some (fanotify
 * only: inotify cannot tell them) it waits this long before the next, so a stream of them costs
 * one wake-up per interval, not one per change. It bounds how late another process's change made
 * during such a stream is seen; otherwise changes are read at once.
 */
#define VT_WATCH_BATCH_MS 4

/* Starts a thread that dispatches until vt_watch_free() (VT_WATCH_BATCH_MS above). Call
 * after sandbox_lock_down(), as for any thread. 0 or -errno. */
int vt_watch_start(struct vt_watch *w);

/* For an event loop instead of the thread: the fd to poll for POLLIN, and a call that handles
 * every pending event without blocking. Returns the number of events handled (0: none) or
 * -errno. Not to be mixed with vt_watch_start(). */
int vt_watch_fd(const struct vt_watch *w);
int vt_watch_dispatch(struct vt_watch *w);

/* Counters since vt_watch_new() (relaxed reads). */
void vt_watch_get_stats(const struct vt_watch *w, struct vt_watch_stats *ret);

#endif
