/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vhost-user message handlers. Each returns 0, a negative errno for a request that failed
 * (reported to the frontend through REPLY_ACK when it asked), or VHU_EPROTO for a protocol
 * violation, which drops the connection.
 *
 * Unknown messages are answered with a failure when the frontend asked for a reply, and
 * otherwise logged and ignored: a newer frontend may probe, and dropping would be harsher than
 * the spec requires.
 */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>

#include "transport/vhu_priv.h"
#include "util/log.h"

uint64_t vhu_offered_features(void)
{
	/* LOG_ALL alone does not make us migratable: QEMU also needs DEVICE_STATE, offered with
	 * the device's state callbacks (docs/migration.md). */
	return 1ull << VHU_F_VERSION_1 | 1ull << VHU_F_INDIRECT_DESC | 1ull << VHU_F_EVENT_IDX |
	       1ull << VHU_F_PROTOCOL_FEATURES | 1ull << VHU_F_LOG_ALL;
}

uint64_t vhu_offered_protocol_features(const struct vhu_dev *dev)
{
	uint64_t f = 1ull << VHU_PROTOCOL_F_MQ | 1ull << VHU_PROTOCOL_F_LOG_SHMFD |
		     1ull << VHU_PROTOCOL_F_REPLY_ACK | 1ull << VHU_PROTOCOL_F_BACKEND_REQ |
		     1ull << VHU_PROTOCOL_F_BACKEND_SEND_FD | 1ull << VHU_PROTOCOL_F_RESET_DEVICE |
		     1ull << VHU_PROTOCOL_F_CONFIGURE_MEM_SLOTS;

	if (dev->cfg.tag)
		f |= 1ull << VHU_PROTOCOL_F_CONFIG;
	if (dev->cfg.tag && (dev->cfg.shm_size || dev->cfg.shm1_size))
		f |= 1ull << VHU_PROTOCOL_F_SHMEM;
	if (dev->cb.state_save && dev->cb.state_load)
		f |= 1ull << VHU_PROTOCOL_F_DEVICE_STATE;
	return f;
}

static void reply_u64(struct vhu_msg *msg, uint64_t v)
{
	msg->has_reply = true;
	msg->reply_size = sizeof(uint64_t);
	msg->reply.u64 = v;
}

struct vhu_queue *vhu_get_queue(struct vhu_dev *dev, uint32_t index)
{
	if (index >= dev->nqueues) {
		log_ratelimited(LOG_LEVEL_ERROR,
				"vhost-user: queue index %u out of range (%u queues)", index,
				dev->nqueues);
		return NULL;
	}
	return &dev->queues[index];
}

void vhu_dev_reset_rings(struct vhu_dev *dev)
{
	vhu_backend_cancel(dev);
	for (unsigned i = 0; i < dev->nqueues; i++)
		vhu_queue_stop(&dev->queues[i], false);
	/* The frontend dropped the window's maps with the device. */
	vhu_shmem_reset(dev);
	/* No handle() is in flight now; deferred requests completed from here are dropped. */
	dev->cb.reset(dev->opaque);
	for (unsigned i = 0; i < dev->nqueues; i++)
		vhu_queue_clear(&dev->queues[i]);
	vhu_backend_resume(dev);
}

static int h_get_features(struct vhu_dev *dev, struct vhu_msg *msg)
{
	reply_u64(msg, vhu_offered_features());
	return 0;
}

static int h_set_features(struct vhu_dev *dev, struct vhu_msg *msg)
{
	uint64_t v = msg->payload.u64;

	if (v & ~vhu_offered_features()) {
		log_ratelimited(LOG_LEVEL_ERROR,
				"vhost-user: frontend acked features %#llx we did not offer",
				(unsigned long long)(v & ~vhu_offered_features()));
		return VHU_EPROTO;
	}
	dev->features = v;
	vhu_log_features_changed(dev);
	for (unsigned i = 0; i < dev->nqueues; i++) {
		struct vhu_queue *q = &dev->queues[i];

		/* Without PROTOCOL_FEATURES there is no SET_VRING_ENABLE: rings start enabled. */
		if (!(v & 1ull << VHU_F_PROTOCOL_FEATURES))
			q->enabled = true;
		vhu_queue_try_run(q);
	}
	return 0;
}

static int h_nop(struct vhu_dev *dev, struct vhu_msg *msg)
{
	return 0;
}

static int h_reset(struct vhu_dev *dev, struct vhu_msg *msg)
{
	vhu_dev_reset_rings(dev);
	return 0;
}

static int h_get_protocol_features(struct vhu_dev *dev, struct vhu_msg *msg)
{
	reply_u64(msg, vhu_offered_protocol_features(dev));
	return 0;
}

static int h_set_protocol_features(struct vhu_dev *dev, struct vhu_msg *msg)
{
	uint64_t v = msg->payload.u64;

	if (v & ~vhu_offered_protocol_features(dev)) {
		log_ratelimited(
			LOG_LEVEL_ERROR,
			"vhost-user: frontend acked protocol features %#llx we did not offer",
			(unsigned long long)(v & ~vhu_offered_protocol_features(dev)));
		return VHU_EPROTO;
	}
	dev->protocol_features = v;
	return 0;
}

static int h_get_queue_num(struct vhu_dev *dev, struct vhu_msg *msg)
{
	reply_u64(msg, dev->nqueues);
	return 0;
}

static int h_get_max_mem_slots(struct vhu_dev *dev, struct vhu_msg *msg)
{
	reply_u64(msg, GMEM_MAX_REGIONS);
	return 0;
}

/*
 * Whether every mapped ring translates to the same host addresses through t: then the regions
 * holding the rings are shared by both tables (they are refcounted, and the old table still
 * holds them) and the workers can keep running.
 */
static bool rings_unmoved(struct vhu_dev *dev, const struct gmem_table *t)
{
	for (unsigned i = 0; i < dev->nqueues; i++) {
		const struct vhu_queue *q = &dev->queues[i];
		/* Only the [ctl] fields vq_map() reads: the rest changes under running workers. */
		struct vq probe = {.num = q->vq.num, .event_idx = q->vq.event_idx};

		if (!q->vq.desc)
			continue;
		if (!t || !q->addr_set ||
		    vq_map(&probe, t, q->desc_uva, q->avail_uva, q->used_uva) < 0 ||
		    probe.desc != q->vq.desc || probe.avail != q->vq.avail ||
		    probe.used != q->vq.used)
			return false;
	}
	return true;
}

static struct gmem_table *mem_swap(struct vhu_dev *dev, struct gmem_table *t)
{
	struct gmem_table *old;

	pthread_mutex_lock(&dev->mem_lock);
	old = dev->mem;
	dev->mem = t;
	pthread_mutex_unlock(&dev->mem_lock);
	return old;
}

/*
 * Installs a new memory snapshot. In-flight requests keep their own snapshot, so no reset is
 * needed and the guest keeps its session (memory hotplug happens under a running guest). When
 * the rings stay where they are (ADD/REM_MEM_REG of other regions, e.g. every DAX map) the
 * workers are not even paused: one of them may be waiting for the frontend on the backend
 * channel, and the frontend is waiting for our answer to this message. Otherwise they are
 * paused (and such waits cancelled) so that ring pointers can be re-translated.
 */
static void mem_replace(struct vhu_dev *dev, struct gmem_table *t)
{
	struct gmem_table *old;

	if (rings_unmoved(dev, t)) {
		gmem_table_unref(mem_swap(dev, t));
		return;
	}
	vhu_backend_cancel(dev);
	for (unsigned i = 0; i < dev->nqueues; i++)
		vhu_queue_pause(&dev->queues[i]);
	old = mem_swap(dev, t);

	for (unsigned i = 0; i < dev->nqueues; i++) {
		struct vhu_queue *q = &dev->queues[i];

		/* Late completions push through these pointers: never leave them dangling. */
		pthread_mutex_lock(&q->lock);
		if (q->addr_set && q->vq.num && t)
			(void)vq_map(&q->vq, t, q->desc_uva, q->avail_uva, q->used_uva);
		else
			vq_unmap(&q->vq);
		pthread_mutex_unlock(&q->lock);
	}
	gmem_table_unref(old);
	vhu_backend_resume(dev);
	for (unsigned i = 0; i < dev->nqueues; i++)
		vhu_queue_try_run(&dev->queues[i]);
}

static int map_region(const struct vhu_mem_region *wire, int fd, struct gmem_region **ret)
{
	struct gmem_region_desc d = {
		.guest_addr = wire->guest_addr,
		.size = wire->size,
		.user_addr = wire->user_addr,
		.mmap_offset = wire->mmap_offset,
	};
	int err = gmem_region_map(&d, fd, ret);

	if (err < 0)
		log_ratelimited(LOG_LEVEL_ERROR,
				"vhost-user: cannot map region gpa %#llx size %#llx: %s",
				(unsigned long long)d.guest_addr, (unsigned long long)d.size,
				strerror(-err));
	return err == -EINVAL ? VHU_EPROTO : err;
}

static int h_set_mem_table(struct vhu_dev *dev, struct vhu_msg *msg)
{
	const struct vhu_mem_table *m = &msg->payload.mem;
	struct gmem_region *regions[VHU_MAX_MEM_TABLE] = {NULL};
	struct gmem_table *t = NULL;
	unsigned n = m->nregions, nmapped = 0;
	int err = 0;

	if (n > VHU_MAX_MEM_TABLE || msg->hdr.size != 8 + n * sizeof(m->regions[0]) ||
	    msg->nfds != n) {
		log_ratelimited(LOG_LEVEL_ERROR,
				"vhost-user: malformed memory table (%u regions, %u fds)", n,
				msg->nfds);
		return VHU_EPROTO;
	}
	dev->nskipped = 0;
	for (unsigned i = 0; i < n && err == 0; i++) {
		if (vhu_region_is_window_map(dev, &m->regions[i], msg->fds[i]))
			err = vhu_skip_region(dev, &m->regions[i]);
		else
			err = map_region(&m->regions[i], msg->fds[i], &regions[nmapped++]);
	}
	if (err == 0) {
		err = gmem_table_new(regions, nmapped, &t);
		if (err == -EINVAL) {
			log_ratelimited(LOG_LEVEL_ERROR, "vhost-user: overlapping memory regions");
			err = VHU_EPROTO;
		}
	}
	for (unsigned i = 0; i < nmapped; i++)
		gmem_region_unref(regions[i]);
	if (err < 0)
		return err;
	mem_replace(dev, t);
	return 0;
}

static int h_add_mem_reg(struct vhu_dev *dev, struct vhu_msg *msg)
{
	_cleanup_gmem_region_ struct gmem_region *r = NULL;
	_cleanup_gmem_table_ struct gmem_table *cur = vhu_dev_mem_get(dev);
	struct gmem_table *t;
	int err;

	if (msg->nfds != 1) {
		log_ratelimited(LOG_LEVEL_ERROR, "vhost-user: ADD_MEM_REG with %u fds", msg->nfds);
		return VHU_EPROTO;
	}
	/* A DAX window map: the guest sees the file there, we never touch it. */
	if (vhu_region_is_window_map(dev, &msg->payload.mem_single.region, msg->fds[0]))
		return vhu_skip_region(dev, &msg->payload.mem_single.region);
	err = map_region(&msg->payload.mem_single.region, msg->fds[0], &r);
	if (err < 0)
		return err;
	err = gmem_table_add(cur, r, &t);
	if (err == -EINVAL) {
		log_ratelimited(LOG_LEVEL_ERROR,
				"vhost-user: added memory region overlaps another");
		return VHU_EPROTO;
	}
	if (err < 0)
		return err;
	mem_replace(dev, t);
	return 0;
}

/* The region is named by guest address and size; an fd sent along is closed unused. */
static int h_rem_mem_reg(struct vhu_dev *dev, struct vhu_msg *msg)
{
	_cleanup_gmem_table_ struct gmem_table *cur = vhu_dev_mem_get(dev);
	const struct vhu_mem_region *w = &msg->payload.mem_single.region;
	struct gmem_table *t;
	int err;

	if (vhu_unskip_region(dev, w->guest_addr, w->size))
		return 0;
	err = gmem_table_remove(cur, w->guest_addr, w->size, &t);
	if (err < 0) {
		log_ratelimited(LOG_LEVEL_WARN,
				"vhost-user: no memory region at gpa %#llx size %#llx to remove",
				(unsigned long long)w->guest_addr, (unsigned long long)w->size);
		return err;
	}
	mem_replace(dev, t);
	return 0;
}

static int h_unsupported(struct vhu_dev *dev, struct vhu_msg *msg)
{
	log_ratelimited(LOG_LEVEL_WARN, "vhost-user: %s (%u) not supported",
			vhu_request_name(msg->hdr.request), msg->hdr.request);
	return -EOPNOTSUPP;
}

struct handler {
	int (*fn)(struct vhu_dev *dev, struct vhu_msg *msg);
	uint32_t min_size, max_size;
	bool has_reply;
};

#define FIXED(f, sz)             \
	{                        \
		f, sz, sz, false \
	}
#define FIXED_R(f, sz)          \
	{                       \
		f, sz, sz, true \
	}

static const struct handler handlers[VHU_REQUEST_MAX] = {
	[VHU_GET_FEATURES] = FIXED_R(h_get_features, 0),
	[VHU_SET_FEATURES] = FIXED(h_set_features, 8),
	[VHU_SET_OWNER] = FIXED(h_nop, 0),
	[VHU_RESET_OWNER] = FIXED(h_reset, 0),
	[VHU_SET_MEM_TABLE] = {h_set_mem_table, 8, sizeof(struct vhu_mem_table), false},
	[VHU_SET_LOG_BASE] = FIXED_R(vhu_h_set_log_base, 16),
	[VHU_SET_LOG_FD] = FIXED(vhu_h_set_log_fd, 0),
	[VHU_SET_VRING_NUM] = FIXED(vhu_h_set_vring_num, 8),
	[VHU_SET_VRING_ADDR] = FIXED(vhu_h_set_vring_addr, 40),
	[VHU_SET_VRING_BASE] = FIXED(vhu_h_set_vring_base, 8),
	[VHU_GET_VRING_BASE] = FIXED_R(vhu_h_get_vring_base, 8),
	[VHU_SET_VRING_KICK] = FIXED(vhu_h_set_vring_kick, 8),
	[VHU_SET_VRING_CALL] = FIXED(vhu_h_set_vring_call, 8),
	[VHU_SET_VRING_ERR] = FIXED(vhu_h_set_vring_err, 8),
	[VHU_GET_PROTOCOL_FEATURES] = FIXED_R(h_get_protocol_features, 0),
	[VHU_SET_PROTOCOL_FEATURES] = FIXED(h_set_protocol_features, 8),
	[VHU_GET_QUEUE_NUM] = FIXED_R(h_get_queue_num, 0),
	[VHU_SET_VRING_ENABLE] = FIXED(vhu_h_set_vring_enable, 8),
	[VHU_SET_BACKEND_REQ_FD] = FIXED(vhu_h_set_backend_req_fd, 0),
	[VHU_GET_CONFIG] = {vhu_h_get_config, 12, 12 + VHU_MAX_CONFIG_SIZE, true},
	[VHU_SET_CONFIG] = {h_unsupported, 12, 12 + VHU_MAX_CONFIG_SIZE, false},
	[VHU_RESET_DEVICE] = FIXED(h_reset, 0),
	[VHU_GET_MAX_MEM_SLOTS] = FIXED_R(h_get_max_mem_slots, 0),
	[VHU_ADD_MEM_REG] = FIXED(h_add_mem_reg, 40),
	[VHU_REM_MEM_REG] = FIXED(h_rem_mem_reg, 40),
	[VHU_SET_DEVICE_STATE_FD] = FIXED_R(vhu_h_set_device_state_fd, 8),
	[VHU_CHECK_DEVICE_STATE] = FIXED_R(vhu_h_check_device_state, 0),
	[VHU_GET_SHMEM_CONFIG] = FIXED_R(vhu_h_get_shmem_config, 0),
};

int vhu_msg_dispatch(struct vhu_dev *dev, struct vhu_msg *msg)
{
	uint32_t req = msg->hdr.request;
	const struct handler *h = req < VHU_REQUEST_MAX ? &handlers[req] : NULL;
	bool ack = (msg->hdr.flags & VHU_FLAG_NEED_REPLY) &&
		   (dev->protocol_features & 1ull << VHU_PROTOCOL_F_REPLY_ACK);
	int err;

	msg->has_reply = false;
	if (!h || !h->fn) {
		log_ratelimited(LOG_LEVEL_WARN, "vhost-user: unhandled message %s (%u) ignored",
				vhu_request_name(req), req);
		if (ack)
			reply_u64(msg, 1);
		return 0;
	}
	if (msg->hdr.size < h->min_size || msg->hdr.size > h->max_size) {
		log_ratelimited(LOG_LEVEL_ERROR, "vhost-user: %s (%u) has size %u, expected %u..%u",
				vhu_request_name(req), req, msg->hdr.size, h->min_size,
				h->max_size);
		return VHU_EPROTO;
	}
	err = h->fn(dev, msg);
	/* After the handler, so the line says how it went. */
	log_flow(LOG_LEVEL_DEBUG, "vhost-user: %s size %u fds %u: %s", vhu_request_name(req),
		 msg->hdr.size, msg->nfds,
		 err == VHU_EPROTO ? "protocol error"
		 : err < 0	   ? strerrorname_np(-err) ?: "error"
				   : "ok");
	if (err == VHU_EPROTO)
		return err;
	if (!h->has_reply && ack)
		reply_u64(msg, err < 0 ? 1u : 0u);
	return 0;
}
