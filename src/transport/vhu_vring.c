/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The per-ring vhost-user messages. Ring geometry (size, addresses, base) may only change
 * while the ring is stopped; QEMU always stops a ring with GET_VRING_BASE before touching it.
 * The call and err fds may change at any time (QEMU swaps the call fd when the guest masks
 * MSI-X vectors), under the queue lock.
 */
#include <errno.h>
#include <fcntl.h>

#include "transport/vhu_priv.h"
#include "util/log.h"

static int ring_stopped(struct vhu_queue *q, const char *what)
{
	if (!q->started)
		return 0;
	log_ratelimited(LOG_LEVEL_ERROR, "vhost-user: %s on running queue %u", what, q->index);
	return VHU_EPROTO;
}

int vhu_h_set_vring_num(struct vhu_dev *dev, struct vhu_msg *msg)
{
	struct vhu_queue *q = vhu_get_queue(dev, msg->payload.state.index);
	uint32_t num = msg->payload.state.num;

	if (!q || ring_stopped(q, "SET_VRING_NUM") < 0)
		return VHU_EPROTO;
	if (!vq_size_valid(num)) {
		log_ratelimited(LOG_LEVEL_ERROR, "vhost-user: queue %u: bad size %u", q->index,
				num);
		return VHU_EPROTO;
	}
	pthread_mutex_lock(&q->lock);
	vq_unmap(&q->vq);
	q->vq.num = num;
	pthread_mutex_unlock(&q->lock);
	return 0;
}

/* Allowed on a running ring (QEMU re-sends it to toggle dirty logging): pause, remap, resume. */
int vhu_h_set_vring_addr(struct vhu_dev *dev, struct vhu_msg *msg)
{
	const struct vhu_vring_addr *a = &msg->payload.addr;
	struct vhu_queue *q = vhu_get_queue(dev, a->index);

	if (!q)
		return VHU_EPROTO;
	vhu_queue_pause(q);
	pthread_mutex_lock(&q->lock);
	vq_unmap(&q->vq);
	q->vq.log_used = a->flags & VHU_VRING_F_LOG;
	q->vq.log_addr = a->log_guest_addr;
	pthread_mutex_unlock(&q->lock);
	q->desc_uva = a->desc_user_addr;
	q->avail_uva = a->avail_user_addr;
	q->used_uva = a->used_user_addr;
	q->addr_set = true;
	vhu_queue_try_run(q);
	return 0;
}

int vhu_h_set_vring_base(struct vhu_dev *dev, struct vhu_msg *msg)
{
	struct vhu_queue *q = vhu_get_queue(dev, msg->payload.state.index);
	uint32_t base = msg->payload.state.num;

	if (!q || ring_stopped(q, "SET_VRING_BASE") < 0)
		return VHU_EPROTO;
	/* Split rings only: the base is a 16-bit free-running index. */
	if (base > UINT16_MAX) {
		log_ratelimited(LOG_LEVEL_ERROR, "vhost-user: queue %u: bad base %u", q->index,
				base);
		return VHU_EPROTO;
	}
	q->vq.last_avail_idx = (uint16_t)base;
	return 0;
}

/* Stops the ring; the reply is where the frontend must resume popping. */
int vhu_h_get_vring_base(struct vhu_dev *dev, struct vhu_msg *msg)
{
	struct vhu_queue *q = vhu_get_queue(dev, msg->payload.state.index);

	if (!q)
		return VHU_EPROTO;
	/* A request waiting on the backend channel would wait for the frontend, which waits
	 * for this reply. */
	vhu_backend_cancel(dev);
	vhu_queue_stop(q, true);
	vhu_backend_resume(dev);
	msg->has_reply = true;
	msg->reply_size = sizeof(msg->reply.state);
	msg->reply.state.index = q->index;
	msg->reply.state.num = q->vq.last_avail_idx;
	return 0;
}

/* Decodes the u64 of KICK/CALL/ERR and checks that an fd comes exactly when announced. */
static int vring_file(struct vhu_dev *dev, struct vhu_msg *msg, struct vhu_queue **ret_q,
		      int *ret_fd)
{
	uint64_t v = msg->payload.u64;
	bool nofd = v & VHU_VRING_NOFD_MASK;
	struct vhu_queue *q;

	if (v & ~(uint64_t)(VHU_VRING_IDX_MASK | VHU_VRING_NOFD_MASK)) {
		log_ratelimited(LOG_LEVEL_ERROR, "vhost-user: reserved bits set in %s",
				vhu_request_name(msg->hdr.request));
		return VHU_EPROTO;
	}
	q = vhu_get_queue(dev, (uint32_t)(v & VHU_VRING_IDX_MASK));
	if (!q)
		return VHU_EPROTO;
	if (msg->nfds != (nofd ? 0u : 1u)) {
		log_ratelimited(LOG_LEVEL_ERROR, "vhost-user: %s: %u fds, no-fd flag %d",
				vhu_request_name(msg->hdr.request), msg->nfds, nofd);
		return VHU_EPROTO;
	}
	*ret_q = q;
	*ret_fd = nofd ? -1 : TAKE_FD(msg->fds[0]);
	return 0;
}

int vhu_h_set_vring_kick(struct vhu_dev *dev, struct vhu_msg *msg)
{
	struct vhu_queue *q;
	int fd, err = vring_file(dev, msg, &q, &fd);

	if (err < 0)
		return err;
	vhu_queue_pause(q);
	/* A helper standing in for a stuck worker reads it too (vhu_queue.c): whichever thread
	 * loses the race for a kick must not block in read(). */
	if (fd >= 0) {
		int fl = fcntl(fd, F_GETFL);
		if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
			log_ratelimited(LOG_LEVEL_WARN,
					"queue %u: kick fd: cannot make it non-blocking: %m",
					q->index);
	}
	safe_close(q->kick_fd);
	q->kick_fd = fd;
	q->kick_set = true;
	/* The spec: a ring starts when its kick fd arrives. */
	if (!q->started) {
		q->started = true;
		q->need_start = true;
	}
	if (!(dev->features & 1ull << VHU_F_PROTOCOL_FEATURES))
		q->enabled = true;
	vhu_queue_try_run(q);
	return 0;
}

int vhu_h_set_vring_call(struct vhu_dev *dev, struct vhu_msg *msg)
{
	struct vhu_queue *q;
	int old, fd, err = vring_file(dev, msg, &q, &fd);

	if (err < 0)
		return err;
	pthread_mutex_lock(&q->lock);
	old = q->vq.call_fd;
	q->vq.call_fd = fd;
	/* The new fd has seen no interrupt yet: do not let EVENT_IDX suppress the next one. */
	q->vq.signalled_used_valid = false;
	pthread_mutex_unlock(&q->lock);
	safe_close(old);
	return 0;
}

int vhu_h_set_vring_err(struct vhu_dev *dev, struct vhu_msg *msg)
{
	struct vhu_queue *q;
	int old, fd, err = vring_file(dev, msg, &q, &fd);

	if (err < 0)
		return err;
	pthread_mutex_lock(&q->lock);
	old = q->vq.err_fd;
	q->vq.err_fd = fd;
	pthread_mutex_unlock(&q->lock);
	safe_close(old);
	return 0;
}

int vhu_h_set_vring_enable(struct vhu_dev *dev, struct vhu_msg *msg)
{
	struct vhu_queue *q = vhu_get_queue(dev, msg->payload.state.index);
	uint32_t on = msg->payload.state.num;

	if (!q)
		return VHU_EPROTO;
	if (on > 1) {
		log_ratelimited(LOG_LEVEL_ERROR, "vhost-user: queue %u: bad enable value %u",
				q->index, on);
		return VHU_EPROTO;
	}
	q->enabled = on;
	if (on)
		vhu_queue_try_run(q);
	else
		vhu_queue_pause(q);
	return 0;
}
