/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The inotify fallback. inotify names a changed entry by (watch descriptor, name), so each
 * watched directory keeps an fd (to look the name up) and its own handle; the table below maps
 * a wd to them. inotify_add_watch() only takes a path, so a directory fd is given to it as
 * "<fd>" relative to the /proc fd directory, made the calling thread's cwd for the call.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "coherence/watch-internal.h"
#include "util/log.h"
#include "util/macros.h"

#define IN_DIRENT_EVENTS (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)
#define IN_WATCH_MASK \
	(IN_DIRENT_EVENTS | IN_ATTRIB | IN_MODIFY | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

struct vt_watch_dir {
	struct vt_watch_dir *next;
	int wd;
	int fd; /* a duplicate of the fd given to vt_watch_add_dir() */
	struct vt_fid fid;
};

int vt_watch_inotify_setup(struct vt_watch *w, int proc_fd)
{
	_cleanup_close_ int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (proc_fd >= 0)
		w->proc_fd = fcntl(proc_fd, F_DUPFD_CLOEXEC, 3);
	else
		w->proc_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (w->proc_fd < 0)
		return -errno;
	w->nbuckets = 64;
	w->dirs = calloc(w->nbuckets, sizeof(*w->dirs));
	if (!w->dirs)
		return -ENOMEM;
	w->fd = TAKE_FD(fd);
	return 0;
}

void vt_watch_inotify_done(struct vt_watch *w)
{
	for (size_t i = 0; w->dirs && i < w->nbuckets; i++) {
		while (w->dirs[i]) {
			struct vt_watch_dir *d = w->dirs[i];

			w->dirs[i] = d->next;
			safe_close(d->fd);
			free(d);
		}
	}
	free(w->dirs);
	w->dirs = NULL;
	w->proc_fd = safe_close(w->proc_fd);
}

static struct vt_watch_dir **dir_slot(struct vt_watch *w, int wd)
{
	struct vt_watch_dir **p = &w->dirs[(unsigned)wd & (w->nbuckets - 1)];

	while (*p && (*p)->wd != wd)
		p = &(*p)->next;
	return p;
}

/* Doubles the buckets when they average more than one entry; on ENOMEM just stays slower. */
static void dir_grow(struct vt_watch *w)
{
	size_t n = w->nbuckets * 2;
	struct vt_watch_dir **b;

	if (w->ndirs <= w->nbuckets || !(b = calloc(n, sizeof(*b))))
		return;
	for (size_t i = 0; i < w->nbuckets; i++) {
		while (w->dirs[i]) {
			struct vt_watch_dir *d = w->dirs[i];

			w->dirs[i] = d->next;
			d->next = b[(unsigned)d->wd & (n - 1)];
			b[(unsigned)d->wd & (n - 1)] = d;
		}
	}
	free(w->dirs);
	w->dirs = b;
	w->nbuckets = n;
}

/* inotify_add_watch() by fd: the path "<dirfd>" resolved from the /proc fd directory. */
static int add_watch_by_fd(struct vt_watch *w, int dirfd)
{
	_cleanup_close_ int cwd = -1;
	char name[16];
	int wd, r = 0;

	/* The cwd is shared by all threads unless this one has its own; give it its own so the
	 * brief change below is invisible to the rest of the daemon. */
	if (unshare(CLONE_FS) < 0)
		return -errno;
	cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0)
		return -errno;
	if (fchdir(w->proc_fd) < 0)
		return -errno;
	snprintf(name, sizeof(name), "%d", dirfd);
	wd = inotify_add_watch(w->fd, name, IN_WATCH_MASK);
	if (wd < 0)
		r = -errno;
	if (fchdir(cwd) < 0 && r == 0)
		r = -errno;
	return r < 0 ? r : wd;
}

int vt_watch_add_dir(struct vt_watch *w, int dirfd)
{
	struct vt_watch_dir *d, **slot;
	int wd, r = 0;

	if (w->kind != VT_WATCH_INOTIFY)
		return 0;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	r = vt_fid_of_fd(dirfd, &d->fid);
	if (r < 0) {
		free(d);
		return r;
	}
	d->fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	if (d->fd < 0) {
		free(d);
		return -errno;
	}
	/* Held across the add so the reader never sees the new wd before the table has it. */
	pthread_mutex_lock(&w->lock);
	wd = add_watch_by_fd(w, dirfd);
	if (wd < 0) {
		r = wd;
	} else if (*(slot = dir_slot(w, wd))) {
		r = 1; /* already watched: the same inode gives the same wd */
	} else {
		d->wd = wd;
		*slot = d;
		w->ndirs++;
		dir_grow(w);
		d = NULL;
	}
	pthread_mutex_unlock(&w->lock);
	if (d) {
		safe_close(d->fd);
		free(d);
	}
	return r < 0 ? r : 0;
}

/* The handles one inotify event touches: the directory and/or the named entry. */
static size_t inotify_event_fids(struct vt_watch *w, const struct inotify_event *ev,
				 struct vt_fid fids[2])
{
	struct vt_watch_dir **slot = dir_slot(w, ev->wd), *d = *slot;
	size_t n = 0;

	if (!d)
		return 0;
	if (ev->mask & IN_IGNORED) {
		/* The directory went away (or its filesystem): the kernel dropped the watch. */
		*slot = d->next;
		w->ndirs--;
		safe_close(d->fd);
		free(d);
		return 0;
	}
	if (ev->len == 0 || ev->name[0] == '\0') {
		fids[n++] = d->fid; /* the directory itself */
		return n;
	}
	if (vt_fid_at(d->fd, ev->name, &fids[n]) == 0) {
		n++;
		if (!(ev->mask & IN_DIRENT_EVENTS))
			return n;
	} else {
		/* The name has gone (deleted, renamed again): only the directory is known. */
		__atomic_add_fetch(&w->stats.unknown, 1, __ATOMIC_RELAXED);
	}
	fids[n++] = d->fid;
	return n;
}

int vt_watch_inotify_dispatch(struct vt_watch *w)
{
	ssize_t len;
	int count = 0;

	while ((len = vt_watch_read(w)) > 0) {
		for (size_t off = 0; off + sizeof(struct inotify_event) <= (size_t)len;) {
			const struct inotify_event *ev = (const void *)(w->buf + off);
			struct vt_fid fids[2];
			size_t n;

			off += sizeof(*ev) + ev->len;
			if (off > (size_t)len)
				return -EPROTO;
			__atomic_add_fetch(&w->stats.events, 1, __ATOMIC_RELAXED);
			count++;
			if (ev->mask & IN_Q_OVERFLOW) {
				vt_watch_report_lost(w);
				continue;
			}
			pthread_mutex_lock(&w->lock);
			n = inotify_event_fids(w, ev, fids);
			pthread_mutex_unlock(&w->lock);
			for (size_t i = 0; i < n; i++)
				vt_watch_report(w, &fids[i]);
		}
	}
	return len < 0 ? (int)len : count;
}
