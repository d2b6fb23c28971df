// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Device state for migration (VHOST_USER_PROTOCOL_F_DEVICE_STATE): SET_DEVICE_STATE_FD hands
 * us one end of a pipe, CHECK_DEVICE_STATE asks how the transfer went. The bytes are the
 * device's (cb.state_save / cb.state_load); this file only moves them.
 *
 * The frontend reads (SAVE) or writes (LOAD) its end of the pipe only after our reply to
 * SET_DEVICE_STATE_FD, and sends CHECK_DEVICE_STATE once it has seen EOF (SAVE) or closed its
 * end (LOAD). So the bytes move on a thread of their own (a pipe holds 64 KiB), which the
 * control thread joins at CHECK_DEVICE_STATE, after which the thread no longer waits on the pipe
 * (a frontend that sent CHECK too early gets a failed transfer, not a hung control thread); a
 * new transfer, a session end or the device's end make a thread still waiting give up.
 *
 * Every line here is the frontend's to trigger (a message, or bytes it sends): all are rate
 * limited, like the rest of the transport's.
 *
 * SAVE: the state is taken when SET_DEVICE_STATE_FD arrives (the rings are stopped then) and
 * the device is left untouched, so a failed migration resumes it. LOAD: the bytes are read to
 * EOF (at most VHU_STATE_MAX) and applied at CHECK_DEVICE_STATE, on the control thread,
 * before the frontend sends the features and the memory table of the restarted device.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "transport/vhu_priv.h"
#include "util/log.h"

/*
 * Waits until fd is ready for `events`: 0 (try again), or -ECANCELED when the transfer is
 * aborted. After CHECK_DEVICE_STATE the frontend has closed its end (LOAD: a read then never
 * gives EAGAIN) or read to our EOF (SAVE: the thread has ended): a pipe that would still make
 * us wait is the frontend's error, reported instead of blocking the control thread's join.
 */
static int xfer_wait(struct vhu_xfer *x, short events)
{
	int r;

	if (atomic_load(&x->finishing)) {
		log_ratelimited(
			LOG_LEVEL_ERROR,
			"migration: CHECK_DEVICE_STATE came before the frontend %s its end of the "
			"state pipe",
			x->direction == VHU_STATE_SAVE ? "read all of" : "closed");
		return -EPIPE;
	}
	r = vhu_wait_fd(x->abort_fd, x->fd, events);
	if (r == 1 && atomic_load(&x->finishing))
		return 0; /* one more try: the read or write must not need to wait now */
	return r == 1 ? -ECANCELED : r;
}

static int xfer_send(struct vhu_xfer *x)
{
	size_t off = 0;

	while (off < x->len) {
		ssize_t n = write(x->fd, x->buf + off, x->len - off);

		if (n < 0 && errno == EAGAIN) {
			int r = xfer_wait(x, POLLOUT);

			if (r < 0)
				return r;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno; /* EPIPE: the frontend closed its end (SIGPIPE is ignored) */
		off += (size_t)n;
	}
	return 0;
}

/*
 * Room for one byte past VHU_STATE_MAX: a state of exactly that size (the most a source sends)
 * must still be read to its EOF; a read that fills the extra byte makes it too large.
 */
static int xfer_grow(struct vhu_xfer *x)
{
	size_t cap = x->cap ? x->cap * 2 : 64 * 1024;
	uint8_t *p;

	if (x->cap > VHU_STATE_MAX)
		return -EFBIG;
	if (cap > VHU_STATE_MAX + 1)
		cap = VHU_STATE_MAX + 1;
	p = realloc(x->buf, cap);
	if (!p)
		return -ENOMEM;
	x->buf = p;
	x->cap = cap;
	return 0;
}

static int xfer_receive(struct vhu_xfer *x)
{
	for (;;) {
		ssize_t n;
		int r;

		if (x->len == x->cap) {
			r = xfer_grow(x);
			if (r < 0) {
				if (r == -EFBIG)
					log_ratelimited(
						LOG_LEVEL_ERROR,
						"migration: the incoming device state exceeds %u "
						"bytes: refused",
						VHU_STATE_MAX);
				return r;
			}
		}
		n = read(x->fd, x->buf + x->len, x->cap - x->len);
		if (n == 0)
			return 0;
		if (n < 0 && errno == EAGAIN) {
			r = xfer_wait(x, POLLIN);
			if (r < 0)
				return r;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		x->len += (size_t)n;
	}
}

static void *xfer_thread(void *arg)
{
	struct vhu_xfer *x = arg;

	x->result = x->direction == VHU_STATE_SAVE ? xfer_send(x) : xfer_receive(x);
	/* SAVE: our close is the EOF the frontend reads to. */
	x->fd = safe_close(x->fd);
	return NULL;
}

/* Joins the thread, after telling it to give up (abort) or that the frontend is done (finish:
 * it completes what the pipe holds without waiting). */
static void xfer_join(struct vhu_dev *dev, bool abort)
{
	struct vhu_xfer *x = &dev->xfer;
	uint64_t v;

	if (!x->running)
		return;
	if (!abort)
		atomic_store(&x->finishing, true);
	(void)!eventfd_write(x->abort_fd, 1);
	pthread_join(x->thread, NULL);
	x->running = false;
	atomic_store(&x->finishing, false);
	(void)!eventfd_read(x->abort_fd, &v); /* non-blocking: drains the wake-up */
}

static void xfer_clear(struct vhu_xfer *x)
{
	free(x->buf);
	x->buf = NULL;
	x->len = x->cap = 0;
	x->fd = safe_close(x->fd);
	x->done = false;
	x->result = 0;
}

void vhu_state_cancel(struct vhu_dev *dev)
{
	xfer_join(dev, true);
	xfer_clear(&dev->xfer);
}

static bool state_negotiated(const struct vhu_dev *dev)
{
	return dev->cb.state_save && dev->cb.state_load &&
	       (dev->protocol_features & 1ull << VHU_PROTOCOL_F_DEVICE_STATE);
}

static int xfer_start(struct vhu_dev *dev, int fd)
{
	struct vhu_xfer *x = &dev->xfer;
	int flags = fcntl(fd, F_GETFL), r;

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	if (x->abort_fd < 0) {
		x->abort_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (x->abort_fd < 0)
			return -errno;
	}
	x->fd = fd;
	r = -pthread_create(&x->thread, NULL, xfer_thread, x);
	if (r < 0) {
		x->fd = -1; /* the caller still owns it */
		return r;
	}
	x->running = true;
	return 0;
}

int vhu_h_set_device_state_fd(struct vhu_dev *dev, struct vhu_msg *msg)
{
	struct vhu_device_state s = msg->payload.dstate;
	struct vhu_xfer *x = &dev->xfer;
	void *blob = NULL;
	size_t len = 0;
	int r;

	if (!state_negotiated(dev) || msg->nfds != 1) {
		log_ratelimited(
			LOG_LEVEL_ERROR,
			"vhost-user: SET_DEVICE_STATE_FD without DEVICE_STATE or with %u fds",
			msg->nfds);
		return VHU_EPROTO;
	}
	if (s.direction > VHU_STATE_LOAD || s.phase != VHU_STATE_PHASE_STOPPED) {
		log_ratelimited(
			LOG_LEVEL_ERROR,
			"migration: unsupported device state transfer (direction %u, phase %u)",
			s.direction, s.phase);
		msg->has_reply = true;
		msg->reply_size = sizeof(uint64_t);
		msg->reply.u64 = VHU_STATE_REPLY_NOFD | EINVAL;
		return 0;
	}
	/* A transfer the frontend gave up on (a migration cancelled before its CHECK). */
	vhu_state_cancel(dev);
	x->direction = s.direction;
	x->done = true;
	if (s.direction == VHU_STATE_SAVE) {
		r = dev->cb.state_save(dev->opaque, &blob, &len);
		if (r == 0 && len > VHU_STATE_MAX)
			r = -EFBIG;
		if (r < 0)
			log_ratelimited(LOG_LEVEL_ERROR,
					"migration: cannot save the device state: %s",
					strerror(-r));
		x->buf = blob;
		x->len = x->cap = len;
	} else {
		r = 0;
	}
	/* Before the thread starts: it writes its own outcome there. */
	x->result = r;
	if (r == 0) {
		r = xfer_start(dev, msg->fds[0]);
		if (r == 0)
			msg->fds[0] = -1; /* the thread's now */
		else
			x->result = r;
	}
	msg->has_reply = true;
	msg->reply_size = sizeof(uint64_t);
	/* Bits 0-7: 0 accepted; bit 8: no fd of ours, the frontend uses its pipe. On failure
	 * the frontend's end is closed with the message (EOF at once) and the migration fails. */
	msg->reply.u64 = VHU_STATE_REPLY_NOFD | (r < 0 ? (uint64_t)(-r & 0xff) ?: 1 : 0);
	return 0;
}

int vhu_h_check_device_state(struct vhu_dev *dev, struct vhu_msg *msg)
{
	struct vhu_xfer *x = &dev->xfer;
	int r;

	if (!state_negotiated(dev)) {
		log_ratelimited(LOG_LEVEL_ERROR,
				"vhost-user: CHECK_DEVICE_STATE without DEVICE_STATE");
		return VHU_EPROTO;
	}
	/* The frontend has seen our EOF (SAVE) or closed its end (LOAD): the thread ends
	 * without waiting (a frontend that has not is told so, never waited for). */
	xfer_join(dev, false);
	r = x->done ? x->result : -ENODATA;
	if (x->done && r == 0 && x->direction == VHU_STATE_LOAD) {
		r = dev->cb.state_load(dev->opaque, x->buf, x->len);
		if (r < 0)
			log_ratelimited(
				LOG_LEVEL_ERROR,
				"migration: the incoming device state was refused (%s); the "
				"destination starts without it",
				strerror(-r));
		else
			log_ratelimited(LOG_LEVEL_INFO,
					"migration: device state loaded (%zu bytes)", x->len);
	} else if (x->done && r < 0) {
		log_ratelimited(LOG_LEVEL_ERROR, "migration: device state %s failed: %s",
				x->direction == VHU_STATE_SAVE ? "save" : "load", strerror(-r));
	} else if (x->done) {
		log_ratelimited(LOG_LEVEL_INFO, "migration: device state saved (%zu bytes)",
				x->len);
	}
	xfer_clear(x);
	msg->has_reply = true;
	msg->reply_size = sizeof(uint64_t);
	msg->reply.u64 = r < 0 ? (uint64_t)-r : 0;
	return 0;
}
