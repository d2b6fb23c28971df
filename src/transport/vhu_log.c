/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Dirty-page logging for live migration (VHOST_F_LOG_ALL with the LOG_SHMFD protocol feature).
 *
 * The frontend shares a bitmap (SET_LOG_BASE): one bit per 4 KiB page of guest-physical
 * address space, bit page % 8 of byte page / 8. While LOG_ALL is acked, every guest page we
 * write must be marked before the used-ring update that makes the write visible, so the
 * frontend copies it again: the reply bytes of each request (vhu_log_written) and the used
 * element and index of rings whose address carries VHOST_VRING_F_LOG (vhu_log_used).
 *
 * The bitmap is shared with the frontend, so bits are set with atomic ORs. Its size comes from
 * the frontend: every access is checked against it, and a page beyond it is logged (rate
 * limited) and skipped, never written.
 *
 * Threads: [ctl] maps, replaces and unmaps the log under log_lock (write); completing threads
 * mark under log_lock (read). dev->log_on is read without the lock first, so a request served
 * while logging is off costs one predictable branch.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "transport/vhu_priv.h"
#include "util/log.h"

#define VHU_LOG_PAGE 4096u

/* Called with log_lock write-held. */
static void log_update_locked(struct vhu_dev *dev)
{
	bool on = dev->log && (dev->features & 1ull << VHU_F_LOG_ALL);

	__atomic_store_n(&dev->log_on, on, __ATOMIC_RELAXED);
}

void vhu_log_features_changed(struct vhu_dev *dev)
{
	pthread_rwlock_wrlock(&dev->log_lock);
	log_update_locked(dev);
	pthread_rwlock_unlock(&dev->log_lock);
}

/* Called with log_lock write-held. */
static void log_unmap_locked(struct vhu_dev *dev)
{
	if (dev->log_map)
		(void)munmap(dev->log_map, dev->log_map_len);
	dev->log_map = NULL;
	dev->log_map_len = 0;
	dev->log = NULL;
	dev->log_size = 0;
}

void vhu_log_session_end(struct vhu_dev *dev)
{
	pthread_rwlock_wrlock(&dev->log_lock);
	log_unmap_locked(dev);
	dev->log_fd = safe_close(dev->log_fd);
	log_update_locked(dev);
	pthread_rwlock_unlock(&dev->log_lock);
}

struct vhu_log_base {
	uint64_t size;
	uint64_t offset;
};

static int log_refuse(const char *why)
{
	log_ratelimited(LOG_LEVEL_ERROR, "vhost-user: SET_LOG_BASE: %s", why);
	return VHU_EPROTO;
}

int vhu_h_set_log_base(struct vhu_dev *dev, struct vhu_msg *msg)
{
	struct vhu_log_base b;
	struct gmem_table *mem;
	uint64_t end, pages, need, page = (uint64_t)sysconf(_SC_PAGESIZE), delta;
	struct stat st;
	void *map;

	memcpy(&b, msg->payload.bytes, sizeof(b));
	if (!(dev->protocol_features & 1ull << VHU_PROTOCOL_F_LOG_SHMFD))
		return log_refuse("LOG_SHMFD not negotiated");
	if (msg->nfds != 1)
		return log_refuse("expected one fd");
	if (b.size == 0 || b.size - 1 > UINT64_MAX - b.offset)
		return log_refuse("bad size or offset");
	/* The bitmap must cover all guest memory mapped now. */
	mem = vhu_dev_mem_get(dev);
	end = gmem_table_gpa_end(mem);
	if (mem)
		gmem_table_unref(mem);
	pages = end / VHU_LOG_PAGE + (end % VHU_LOG_PAGE != 0);
	need = pages / 8 + (pages % 8 != 0);
	if (b.size < need)
		return log_refuse("log smaller than guest memory");
	delta = b.offset % page;
	if (b.size > SIZE_MAX - delta)
		return log_refuse("log too large");
	/* A mapping past the end of the file would fault on our first write. */
	if (fstat(msg->fds[0], &st) < 0 || (uint64_t)st.st_size < b.offset + b.size)
		return log_refuse("fd is not a file that large");
	map = mmap(NULL, (size_t)(b.size + delta), PROT_READ | PROT_WRITE, MAP_SHARED, msg->fds[0],
		   (off_t)(b.offset - delta));
	if (map == MAP_FAILED)
		return log_refuse("cannot map the log");
	pthread_rwlock_wrlock(&dev->log_lock);
	/* It may be resent (memory grew, logging restarted): the old one goes. */
	log_unmap_locked(dev);
	dev->log_map = map;
	dev->log_map_len = (size_t)(b.size + delta);
	dev->log = (uint8_t *)map + delta;
	dev->log_size = b.size;
	log_update_locked(dev);
	pthread_rwlock_unlock(&dev->log_lock);
	/* With LOG_SHMFD the frontend waits for an answer. */
	msg->has_reply = true;
	msg->reply_size = sizeof(msg->reply.u64);
	msg->reply.u64 = 0;
	return 0;
}

int vhu_h_set_log_fd(struct vhu_dev *dev, struct vhu_msg *msg)
{
	if (msg->nfds != 1) {
		log_ratelimited(LOG_LEVEL_ERROR, "vhost-user: SET_LOG_FD with %u fds", msg->nfds);
		return VHU_EPROTO;
	}
	pthread_rwlock_wrlock(&dev->log_lock);
	safe_close(dev->log_fd);
	dev->log_fd = msg->fds[0];
	msg->fds[0] = -1;
	pthread_rwlock_unlock(&dev->log_lock);
	return 0;
}

/* Marks the pages of [gpa, gpa + len), len > 0. Called with log_lock read-held. */
static void log_mark(struct vhu_dev *dev, uint64_t gpa, uint64_t len)
{
	uint64_t first = gpa / VHU_LOG_PAGE, last = (gpa + (len - 1)) / VHU_LOG_PAGE;

	if (len - 1 > UINT64_MAX - gpa)
		last = UINT64_MAX / VHU_LOG_PAGE;
	for (uint64_t p = first; p <= last; p++) {
		if (p / 8 >= dev->log_size) {
			log_ratelimited(LOG_LEVEL_ERROR,
					"vhost-user: dirty page %#llx beyond the %llu-byte log",
					(unsigned long long)p, (unsigned long long)dev->log_size);
			return;
		}
		__atomic_fetch_or(&dev->log[p / 8], (uint8_t)(1u << (p % 8)), __ATOMIC_RELAXED);
	}
}

/* Tells the frontend the log changed, if it gave us an eventfd for that. */
static void log_kick(struct vhu_dev *dev)
{
	if (dev->log_fd >= 0)
		(void)eventfd_write(dev->log_fd, 1);
}

void vhu_log_written(struct vhu_dev *dev, const struct gmem_table *mem, const struct iovec *iov,
		     unsigned n, uint64_t len)
{
	pthread_rwlock_rdlock(&dev->log_lock);
	if (!dev->log)
		goto out;
	for (unsigned i = 0; i < n && len > 0; i++) {
		uint64_t k = MIN((uint64_t)iov[i].iov_len, len), gpa;

		if (k == 0)
			continue;
		/* Every iovec came from one region of this table (virtq.c, gmem_gpa_to_iov). */
		if (gmem_host_to_gpa(mem, iov[i].iov_base, k, &gpa))
			log_mark(dev, gpa, k);
		len -= k;
	}
	log_kick(dev);
out:
	pthread_rwlock_unlock(&dev->log_lock);
}

void vhu_log_used(struct vhu_dev *dev, const struct vq *vq, uint16_t slot)
{
	if (!vq->log_used || !vq->used)
		return;
	pthread_rwlock_rdlock(&dev->log_lock);
	if (dev->log) {
		log_mark(dev,
			 vq->log_addr + offsetof(struct vring_used, ring) +
				 (uint64_t)slot * sizeof(struct vring_used_elem),
			 sizeof(struct vring_used_elem));
		log_mark(dev, vq->log_addr + offsetof(struct vring_used, idx), sizeof(uint16_t));
		log_kick(dev);
	}
	pthread_rwlock_unlock(&dev->log_lock);
}
