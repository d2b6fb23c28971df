/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared between watch.c (fanotify, thread) and watch_inotify.c. */
#ifndef VFSD_COHERENCE_WATCH_INTERNAL_H
#define VFSD_COHERENCE_WATCH_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#include "coherence/watch.h"

struct vt_watch_dir; /* watch_inotify.c */

struct vt_watch {
	enum vt_watch_kind kind; /* VT_WATCH_FANOTIFY or VT_WATCH_INOTIFY once set up */
	int fd;			 /* fanotify group or inotify instance */
	int stop_fd;		 /* eventfd ending the thread */
	struct vt_watch_sink sink;
	bool no_target_fid; /* fanotify before 5.17: entry events name only the directory */
	bool started;
	pthread_t thread;

	/* inotify only */
	int proc_fd;		    /* /proc/<pid>/fd, for inotify_add_watch() by fd */
	pthread_mutex_t lock;	    /* the directory table below */
	struct vt_watch_dir **dirs; /* hash buckets by wd */
	size_t ndirs, nbuckets;

	struct vt_watch_stats stats; /* updated with relaxed atomics */
	/* One read's worth of events; aligned for both event structs. */
	unsigned char buf[64 * 1024] __attribute__((aligned(8)));
};

/* One read() of pending events into w->buf: its length, 0 when none are left, or -errno. */
ssize_t vt_watch_read(struct vt_watch *w);
void vt_watch_report(struct vt_watch *w, const struct vt_fid *fid);
void vt_watch_report_lost(struct vt_watch *w);

int vt_watch_inotify_setup(struct vt_watch *w, int proc_fd);
void vt_watch_inotify_done(struct vt_watch *w);
int vt_watch_inotify_dispatch(struct vt_watch *w);

#endif
