/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host change watch: the backend choice, the reader thread and the fanotify side. The inotify
 * side (a directory table keyed by watch descriptor) is in watch_inotify.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <unistd.h>

#include "coherence/watch-internal.h"
#include "util/log.h"
#include "util/macros.h"

/* Directory-entry events: they change the directory and the entry's inode. */
#define FAN_DIRENT_EVENTS (FAN_CREATE | FAN_DELETE | FAN_MOVED_FROM | FAN_MOVED_TO | FAN_RENAME)

/* Everything that changes what LOOKUP/GETATTR return. FAN_ONDIR: also for directories. */
#define FAN_WATCH_MASK                                                                       \
	(FAN_CREATE | FAN_DELETE | FAN_MOVED_FROM | FAN_MOVED_TO | FAN_ATTRIB | FAN_MODIFY | \
	 FAN_DELETE_SELF | FAN_MOVE_SELF | FAN_ONDIR)

/* Info records that carry a file handle (struct fanotify_event_info_fid). */
static bool fan_info_has_fid(uint8_t type)
{
	switch (type) {
	case FAN_EVENT_INFO_TYPE_FID:
	case FAN_EVENT_INFO_TYPE_DFID:
	case FAN_EVENT_INFO_TYPE_DFID_NAME:
	case FAN_EVENT_INFO_TYPE_OLD_DFID_NAME:
	case FAN_EVENT_INFO_TYPE_NEW_DFID_NAME:
		return true;
	default:
		return false;
	}
}

static int fan_setup(struct vt_watch *w, int share_fd)
{
	unsigned int flags = FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK;
	_cleanup_close_ int fd = -1;

	/* The entry's own handle with directory events needs FAN_REPORT_TARGET_FID (5.17);
	 * older kernels give only the directory's. */
	fd = fanotify_init(flags | FAN_REPORT_DFID_NAME_TARGET, O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (fd < 0 && errno == EINVAL) {
		w->no_target_fid = true;
		fd = fanotify_init(flags | FAN_REPORT_DFID_NAME | FAN_REPORT_FID,
				   O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	}
	if (fd < 0)
		return -errno;
	/* Through "." so that an O_PATH share fd works too. Mount marks cannot carry these
	 * events (the kernel rejects inode events on them); a filesystem mark can. */
	if (fanotify_mark(fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_WATCH_MASK, share_fd, ".") <
	    0)
		return -errno;
	if (w->no_target_fid)
		log_info("coherence: fanotify without FAN_REPORT_TARGET_FID (Linux < 5.17): a "
			 "directory change bumps only the directory, not the entry's inode");
	w->fd = TAKE_FD(fd);
	return 0;
}

/* Calls the sink for one handle unless the same event already reported it. */
static void report_fid(struct vt_watch *w, const struct vt_fid *fid, const struct vt_fid *seen,
		       size_t nseen)
{
	for (size_t i = 0; i < nseen; i++) {
		if (seen[i].type == fid->type && seen[i].len == fid->len &&
		    memcmp(seen[i].bytes, fid->bytes, fid->len) == 0)
			return;
	}
	vt_watch_report(w, fid);
}

#define FAN_MAX_FIDS 4 /* DFID_NAME/OLD/NEW + FID: at most four handles an event */

/* Copies out the handle of a FID info record; false if the record is malformed. */
static bool fan_parse_fid(const unsigned char *rec, uint32_t rec_len, struct vt_fid *ret)
{
	size_t off = sizeof(struct fanotify_event_info_fid);
	struct file_handle fh;

	if (rec_len < off + sizeof(fh))
		return false;
	memcpy(&fh, rec + off, sizeof(fh));
	if (fh.handle_bytes > VT_FID_MAX || rec_len - off - sizeof(fh) < fh.handle_bytes)
		return false;
	ret->type = fh.handle_type;
	ret->len = fh.handle_bytes;
	memcpy(ret->bytes, rec + off + sizeof(fh), fh.handle_bytes);
	return true;
}

/* m: the event's header, copied out; ev: the event's bytes (m->event_len of them). */
static void fan_handle_event(struct vt_watch *w, const struct fanotify_event_metadata *m,
			     const unsigned char *ev, pid_t self)
{
	struct vt_fid fids[FAN_MAX_FIDS];
	bool is_target[FAN_MAX_FIDS];
	size_t n = 0, ntarget = 0, nseen = 0;
	bool only_target;

	if (m->mask & FAN_Q_OVERFLOW) {
		vt_watch_report_lost(w);
		return;
	}
	if (m->pid == self) {
		__atomic_add_fetch(&w->stats.own, 1, __ATOMIC_RELAXED);
		return;
	}
	for (uint32_t off = m->metadata_len;
	     off + sizeof(struct fanotify_event_info_header) <= m->event_len && n < FAN_MAX_FIDS;) {
		struct fanotify_event_info_header hdr;

		memcpy(&hdr, ev + off, sizeof(hdr));
		if (hdr.len < sizeof(hdr) || hdr.len > m->event_len - off)
			break;
		if (fan_info_has_fid(hdr.info_type) && fan_parse_fid(ev + off, hdr.len, &fids[n])) {
			is_target[n] = hdr.info_type == FAN_EVENT_INFO_TYPE_FID;
			ntarget += is_target[n];
			n++;
		}
		off += hdr.len;
	}
	if (n == 0) {
		/* Nothing to name the inode by (a malformed event): be safe. */
		vt_watch_report_lost(w);
		return;
	}
	/* Attribute and data changes touch only the object (its FID record), not the directory
	 * it was reached through: a write must not invalidate the parent's cached entries. */
	only_target = !(m->mask & FAN_DIRENT_EVENTS) && ntarget > 0;
	for (size_t i = 0; i < n; i++) {
		if (only_target && !is_target[i])
			continue;
		report_fid(w, &fids[i], fids, nseen);
		/* Keep reported ones at the front for the duplicate check. */
		if (i != nseen)
			fids[nseen] = fids[i];
		nseen++;
	}
}

static int fan_dispatch(struct vt_watch *w)
{
	pid_t self = getpid();
	ssize_t len;
	int count = 0;

	while ((len = vt_watch_read(w)) > 0) {
		/* Events with FID records are only 4-byte aligned (handles have any length) while
		 * the header has a u64: each header is copied out (FAN_EVENT_OK's checks). */
		for (size_t off = 0; off + FAN_EVENT_METADATA_LEN <= (size_t)len;) {
			struct fanotify_event_metadata m;

			memcpy(&m, w->buf + off, sizeof(m));
			if (m.event_len < FAN_EVENT_METADATA_LEN || m.event_len > (size_t)len - off)
				break;
			if (m.vers != FANOTIFY_METADATA_VERSION)
				return -EPROTO;
			__atomic_add_fetch(&w->stats.events, 1, __ATOMIC_RELAXED);
			count++;
			fan_handle_event(w, &m, w->buf + off, self);
			off += m.event_len;
		}
	}
	return len < 0 ? (int)len : count;
}

ssize_t vt_watch_read(struct vt_watch *w)
{
	for (;;) {
		ssize_t len = read(w->fd, w->buf, sizeof(w->buf));

		if (len >= 0)
			return len;
		if (errno == EAGAIN)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

void vt_watch_report(struct vt_watch *w, const struct vt_fid *fid)
{
	__atomic_add_fetch(&w->stats.handles, 1, __ATOMIC_RELAXED);
	w->sink.changed(w->sink.opaque, fid->type, fid->bytes, fid->len);
}

void vt_watch_report_lost(struct vt_watch *w)
{
	__atomic_add_fetch(&w->stats.lost, 1, __ATOMIC_RELAXED);
	w->sink.lost(w->sink.opaque);
}

int vt_watch_new(int share_fd, const struct vt_watch_sink *sink, const struct vt_watch_config *cfg,
		 struct vt_watch **ret)
{
	struct vt_watch *w;
	int r = -EINVAL;

	if (!sink || !sink->changed || !sink->lost || !cfg)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->sink = *sink;
	w->fd = w->stop_fd = w->proc_fd = -1;
	if (pthread_mutex_init(&w->lock, NULL) != 0) {
		free(w);
		return -ENOMEM;
	}
	if (cfg->kind != VT_WATCH_INOTIFY) {
		r = fan_setup(w, share_fd);
		if (r == 0)
			w->kind = VT_WATCH_FANOTIFY;
		else if (cfg->kind == VT_WATCH_AUTO)
			log_info("coherence: no fanotify filesystem mark (%s), using inotify on "
				 "looked-up directories",
				 strerror(-r));
	}
	if (w->kind != VT_WATCH_FANOTIFY && cfg->kind != VT_WATCH_FANOTIFY) {
		r = vt_watch_inotify_setup(w, cfg->proc_fd);
		if (r == 0) {
			w->kind = VT_WATCH_INOTIFY;
			r = vt_watch_add_dir(w, share_fd);
		}
	}
	if (r == 0) {
		w->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (w->stop_fd < 0)
			r = -errno;
	}
	if (r < 0) {
		vt_watch_free(w);
		return r;
	}
	*ret = w;
	return 0;
}

void vt_watch_free(struct vt_watch *w)
{
	if (!w)
		return;
	if (w->started) {
		uint64_t one = 1;

		if (write(w->stop_fd, &one, sizeof(one)) != sizeof(one))
			log_error("coherence: cannot stop the watch thread: %s", strerror(errno));
		else
			pthread_join(w->thread, NULL);
	}
	vt_watch_inotify_done(w);
	safe_close(w->fd);
	safe_close(w->stop_fd);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

enum vt_watch_kind vt_watch_kind(const struct vt_watch *w)
{
	return w->kind;
}

int vt_watch_fd(const struct vt_watch *w)
{
	return w->fd;
}

int vt_watch_dispatch(struct vt_watch *w)
{
	return w->kind == VT_WATCH_FANOTIFY ? fan_dispatch(w) : vt_watch_inotify_dispatch(w);
}

/*
 * After a read that found any of the daemon's own changes (fanotify: it only counts them) the
 * thread sleeps VT_WATCH_BATCH_MS before reading again, so that a stream of them (a guest creating
 * files) is read in one wake-up per interval instead of one per change. When a read finds nothing
 * of its own it blocks in poll() again: a change after a quiet spell, or a stream of other
 * processes' changes, is read at once; one made during a stream of own changes at most
 * VT_WATCH_BATCH_MS (plus scheduling) after it was made.
 */
static void *watch_thread(void *arg)
{
	struct vt_watch *w = arg;
	struct pollfd p[2] = {{.fd = w->fd, .events = POLLIN},
			      {.fd = w->stop_fd, .events = POLLIN}};
	bool busy = false;

	pthread_setname_np(pthread_self(), "vfsd-vtwatch");
	for (;;) {
		int r;

		/* Busy: only the stop fd, for the batch delay; else block until events come. */
		r = busy ? poll(&p[1], 1, VT_WATCH_BATCH_MS) : poll(p, ARRAY_SIZE(p), -1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
		} else if (p[1].revents) {
			return NULL;
		} else {
			uint64_t own = __atomic_load_n(&w->stats.own, __ATOMIC_RELAXED);

			__atomic_add_fetch(&w->stats.rounds, 1, __ATOMIC_RELAXED);
			r = vt_watch_dispatch(w);
			busy = r > 0 && __atomic_load_n(&w->stats.own, __ATOMIC_RELAXED) != own;
			if (r >= 0)
				continue;
		}
		/* Not expected from the kernel; from here on host changes would go unseen, so
		 * say so loudly and let the table fall back to "everything changed" once. */
		log_error("coherence: the host change watch stops: %s", strerror(-r));
		vt_watch_report_lost(w);
		return NULL;
	}
}

int vt_watch_start(struct vt_watch *w)
{
	int r;

	if (w->started)
		return -EALREADY;
	r = pthread_create(&w->thread, NULL, watch_thread, w);
	if (r != 0)
		return -r;
	w->started = true;
	return 0;
}

void vt_watch_get_stats(const struct vt_watch *w, struct vt_watch_stats *ret)
{
	ret->events = __atomic_load_n(&w->stats.events, __ATOMIC_RELAXED);
	ret->own = __atomic_load_n(&w->stats.own, __ATOMIC_RELAXED);
	ret->lost = __atomic_load_n(&w->stats.lost, __ATOMIC_RELAXED);
	ret->handles = __atomic_load_n(&w->stats.handles, __ATOMIC_RELAXED);
	ret->unknown = __atomic_load_n(&w->stats.unknown, __ATOMIC_RELAXED);
	ret->rounds = __atomic_load_n(&w->stats.rounds, __ATOMIC_RELAXED);
}
