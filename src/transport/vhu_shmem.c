// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The device configuration space (GET_CONFIG), the DAX window (GET_SHMEM_CONFIG) and the
 * backend channel that maps file ranges into it (SHMEM_MAP / SHMEM_UNMAP).
 *
 * Deadlock rules (QEMU 11.1 behaviour): after answering a SHMEM_MAP the frontend sends
 * ADD_MEM_REG on the frontend socket and blocks until we acknowledge it, so a worker waiting on
 * the channel must never be waited for by the control thread: memory-table changes that leave
 * the rings where they are do not pause workers (vhu_msg.c), and everything else that waits for
 * workers (stop, reset, a moved ring) first cancels the waiters. The frontend answers every
 * request it reads, also after we stopped waiting: those answers are owed, and drained before
 * the next request is sent, so replies never get paired with the wrong request.
 */
#include <errno.h>
#include <linux/virtio_fs.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "transport/vhu_priv.h"
#include "util/log.h"

/* How long a map may take before we give up on the frontend (QEMU: ~70 ms at 500 maps). */
#define VHU_BACKEND_TIMEOUT_MS 30000
#define VHU_SHMEM_MAX_MAPS     1024u

int vhu_h_get_config(struct vhu_dev *dev, struct vhu_msg *msg)
{
	const struct vhu_config_hdr *in = &msg->payload.config;
	struct vhu_config_hdr *out = (struct vhu_config_hdr *)msg->reply.bytes;
	struct virtio_fs_config cfg = {0};
	uint32_t off = in->offset, size = in->size;

	msg->has_reply = true;
	msg->reply_size = 0; /* an empty reply tells the frontend the request failed */
	if (!dev->cfg.tag || size > VHU_MAX_CONFIG_SIZE || msg->hdr.size != sizeof(*in) + size ||
	    off > sizeof(cfg))
		return 0;
	/* Not NUL-terminated when it fills the field (virtio spec). */
	memcpy(cfg.tag, dev->cfg.tag, MIN(strlen(dev->cfg.tag), sizeof(cfg.tag)));
	cfg.num_request_queues =
		htole32(MAX(1u, MIN(dev->cfg.config_request_queues, dev->nqueues - 1)));
	*out = *in;
	memset(out + 1, 0, size);
	memcpy(out + 1, (const uint8_t *)&cfg + off, MIN((size_t)size, sizeof(cfg) - off));
	msg->reply_size = sizeof(*in) + size;
	return 0;
}

int vhu_h_get_shmem_config(struct vhu_dev *dev, struct vhu_msg *msg)
{
	const uint64_t need = 1ull << VHU_PROTOCOL_F_SHMEM | 1ull << VHU_PROTOCOL_F_BACKEND_REQ |
			      1ull << VHU_PROTOCOL_F_REPLY_ACK |
			      1ull << VHU_PROTOCOL_F_CONFIGURE_MEM_SLOTS;
	struct vhu_shmem_config *c = &msg->reply.shmem;

	memset(c, 0, sizeof(*c));
	if ((dev->cfg.shm_size || dev->cfg.shm1_size) && (dev->protocol_features & need) == need) {
		c->memory_sizes[0] = dev->cfg.shm_size;
		c->memory_sizes[1] = dev->cfg.shm1_size;
		c->nregions = (dev->cfg.shm_size != 0) + (dev->cfg.shm1_size != 0);
		__atomic_store_n(&dev->shm_size, dev->cfg.shm_size, __ATOMIC_RELEASE);
		__atomic_store_n(&dev->shm1_size, dev->cfg.shm1_size, __ATOMIC_RELEASE);
		if (dev->cfg.shm_size)
			log_ratelimited(LOG_LEVEL_INFO, "vhost-user: DAX window of %llu MiB",
					(unsigned long long)(dev->cfg.shm_size >> 20));
		if (dev->cfg.shm1_size)
			log_ratelimited(LOG_LEVEL_INFO,
					"vhost-user: shared memory region 1 of %llu KiB",
					(unsigned long long)(dev->cfg.shm1_size >> 10));
	} else if (dev->cfg.shm_size || dev->cfg.shm1_size) {
		log_ratelimited(LOG_LEVEL_WARN,
				"vhost-user: no shared memory: the frontend did not ack SHMEM, "
				"BACKEND_REQ, REPLY_ACK and CONFIGURE_MEM_SLOTS");
	}
	msg->has_reply = true;
	msg->reply_size = sizeof(*c);
	return 0;
}

int vhu_h_set_backend_req_fd(struct vhu_dev *dev, struct vhu_msg *msg)
{
	if (msg->nfds != 1) {
		log_ratelimited(LOG_LEVEL_ERROR, "vhost-user: SET_BACKEND_REQ_FD with %u fds",
				msg->nfds);
		return VHU_EPROTO;
	}
	vhu_backend_cancel(dev);
	pthread_mutex_lock(&dev->backend_lock);
	safe_close(dev->backend_fd);
	dev->backend_fd = TAKE_FD(msg->fds[0]);
	dev->nowed = dev->norphans = 0;
	pthread_mutex_unlock(&dev->backend_lock);
	vhu_backend_resume(dev);
	return 0;
}

void vhu_backend_cancel(struct vhu_dev *dev)
{
	(void)eventfd_write(dev->backend_abort, 1);
}

void vhu_backend_resume(struct vhu_dev *dev)
{
	eventfd_t v;

	/* Taking the lock waits for a waiter that is still on its way out. */
	pthread_mutex_lock(&dev->backend_lock);
	(void)eventfd_read(dev->backend_abort, &v);
	pthread_mutex_unlock(&dev->backend_lock);
}

uint64_t vhu_shmem_size(struct vhu_dev *dev)
{
	return __atomic_load_n(&dev->shm_size, __ATOMIC_ACQUIRE);
}

/*
 * Reads one answer (header + u64) from the channel: 0, -EIO for a refusal, -ECANCELED (woken
 * by backend_abort, when abortable), -ETIMEDOUT (none within timeout_ms), -EPIPE.
 */
static int backend_read_reply(struct vhu_dev *dev, int timeout_ms, bool abortable,
			      uint32_t *ret_request)
{
	struct pollfd pfd[2] = {
		{.fd = dev->backend_fd, .events = POLLIN},
		{.fd = dev->backend_abort, .events = POLLIN},
	};
	struct {
		struct vhu_hdr hdr;
		uint64_t value;
	} __attribute__((packed)) rep;
	ssize_t n;
	int r;

	do
		r = poll(pfd, abortable ? 2 : 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	if (abortable && pfd[1].revents)
		return -ECANCELED;
	do
		n = recv(dev->backend_fd, &rep, sizeof(rep), MSG_WAITALL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n != sizeof(rep) || rep.hdr.size != sizeof(uint64_t) ||
	    !(rep.hdr.flags & VHU_FLAG_REPLY))
		return -EPIPE;
	*ret_request = rep.hdr.request;
	return rep.value == 0 ? 0 : -EIO;
}

static int backend_send(struct vhu_dev *dev, uint32_t request, const struct vhu_shmem_map *m,
			int fd)
{
	struct vhu_hdr hdr = {
		.request = request,
		.flags = VHU_FLAG_VERSION | VHU_FLAG_NEED_REPLY,
		.size = sizeof(*m),
	};
	struct iovec iov[2] = {{&hdr, sizeof(hdr)}, {(void *)m, sizeof(*m)}};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm = {0};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
	ssize_t n;

	if (fd >= 0) {
		struct cmsghdr *c;

		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do
		n = sendmsg(dev->backend_fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == sizeof(hdr) + sizeof(*m) ? 0 : -EPIPE;
}

/* Reads the answer to `request`: 0, -EIO (refused), -ECANCELED, -ETIMEDOUT or -EPIPE. */
static int backend_answer(struct vhu_dev *dev, uint32_t request)
{
	uint32_t answered = 0;
	int r = backend_read_reply(dev, VHU_BACKEND_TIMEOUT_MS, true, &answered);

	if ((r == 0 || r == -EIO) && answered != request)
		r = -EPIPE;
	return r;
}

static bool waited_out(int r)
{
	return r == -ECANCELED || r == -ETIMEDOUT;
}

/* A request we stopped waiting for: its answer comes first, before any newer one. */
static int owe(struct vhu_dev *dev, uint32_t request, const struct vhu_shmem_map *m)
{
	if (dev->nowed == VHU_MAX_OWED)
		return -EPIPE;
	dev->owed[dev->nowed++] = (struct vhu_owed){request, m->shmid, m->shm_offset, m->len};
	return 0;
}

static void shm_map_del(struct vhu_dev *dev, uint8_t shmid, uint64_t shm_offset, uint64_t len);

/*
 * Reads the answers still owed, in order. A map answered "done" that nobody waits for any
 * more is an orphan the frontend holds and no one will remove: it is unmapped here, once every
 * owed answer is read (their order on the channel is fixed). backend_lock held.
 */
static int backend_settle(struct vhu_dev *dev)
{
	int r;

	while (dev->nowed > 0) {
		struct vhu_owed o = dev->owed[0];

		r = backend_answer(dev, o.request);
		if (waited_out(r) || r == -EPIPE)
			return r;
		memmove(dev->owed, dev->owed + 1, --dev->nowed * sizeof(dev->owed[0]));
		if (o.request == VHU_BACKEND_SHMEM_MAP && r == 0 && dev->norphans < VHU_MAX_OWED)
			dev->orphans[dev->norphans++] = o;
		else
			shm_map_del(dev, o.shmid, o.shm_offset, o.len);
	}
	while (dev->norphans > 0) {
		struct vhu_owed o = dev->orphans[dev->norphans - 1];
		struct vhu_shmem_map m = {
			.shmid = o.shmid, .shm_offset = o.shm_offset, .len = o.len};

		r = backend_send(dev, VHU_BACKEND_SHMEM_UNMAP, &m, -1);
		if (r == 0)
			r = backend_answer(dev, VHU_BACKEND_SHMEM_UNMAP);
		dev->norphans--;
		if (waited_out(r))
			return owe(dev, VHU_BACKEND_SHMEM_UNMAP, &m) < 0 ? -EPIPE : r;
		if (r < 0 && r != -EIO)
			return r;
		shm_map_del(dev, o.shmid, o.shm_offset, o.len);
	}
	return 0;
}

/* Sends one request with NEED_REPLY and waits for its answer; backend_lock held. */
static int backend_call(struct vhu_dev *dev, uint32_t request, const struct vhu_shmem_map *m,
			int fd)
{
	int r;

	if (dev->backend_fd < 0)
		return -ENODEV;
	r = backend_settle(dev);
	if (r == 0)
		r = backend_send(dev, request, m, fd);
	else
		return r;
	if (r == 0)
		r = backend_answer(dev, request);
	if (waited_out(r) && owe(dev, request, m) < 0)
		r = -EPIPE;
	return r;
}

static int shm_map_add(struct vhu_dev *dev, const struct vhu_shm_map *m)
{
	struct vhu_shm_map *v;
	int r = -ENOSPC;

	pthread_mutex_lock(&dev->shm_lock);
	if (dev->shm_nmaps < VHU_SHMEM_MAX_MAPS) {
		v = reallocarray(dev->shm_maps, dev->shm_nmaps + 1, sizeof(*v));
		r = -ENOMEM;
		if (v) {
			dev->shm_maps = v;
			v[dev->shm_nmaps++] = *m;
			r = 0;
		}
	}
	pthread_mutex_unlock(&dev->shm_lock);
	return r;
}

static void shm_map_del(struct vhu_dev *dev, uint8_t shmid, uint64_t shm_offset, uint64_t len)
{
	pthread_mutex_lock(&dev->shm_lock);
	for (unsigned i = 0; i < dev->shm_nmaps; i++) {
		struct vhu_shm_map *m = &dev->shm_maps[i];

		if (m->shmid == shmid && m->shm_offset == shm_offset && m->len == len) {
			*m = dev->shm_maps[--dev->shm_nmaps];
			break;
		}
	}
	pthread_mutex_unlock(&dev->shm_lock);
}

static int shmem_check(struct vhu_dev *dev, uint8_t shmid, uint64_t shm_offset, uint64_t len)
{
	uint64_t size =
		shmid ? __atomic_load_n(&dev->shm1_size, __ATOMIC_ACQUIRE) : vhu_shmem_size(dev);

	if (!size)
		return -ENODEV;
	if (len == 0 || len > size || shm_offset > size - len)
		return -EINVAL;
	return 0;
}

static int shmem_map(struct vhu_dev *dev, uint8_t shmid, uint64_t shm_offset, uint64_t len, int fd,
		     uint64_t fd_offset, bool writable)
{
	struct vhu_shmem_map req = {
		.shmid = shmid,
		.fd_offset = fd_offset,
		.shm_offset = shm_offset,
		.len = len,
		.flags = writable ? VHU_SHMEM_MAP_RW : 0,
	};
	struct vhu_shm_map m = {
		.shmid = shmid, .shm_offset = shm_offset, .len = len, .fd_offset = fd_offset};
	struct stat st;
	int r = shmem_check(dev, shmid, shm_offset, len);

	if (r < 0)
		return r;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	m.st_dev = st.st_dev;
	m.st_ino = st.st_ino;
	/* Known before the frontend's ADD_MEM_REG for it can arrive. */
	r = shm_map_add(dev, &m);
	if (r < 0)
		return r;
	pthread_mutex_lock(&dev->backend_lock);
	r = backend_call(dev, VHU_BACKEND_SHMEM_MAP, &req, fd);
	pthread_mutex_unlock(&dev->backend_lock);
	/* After a cancel the map may yet be made: it stays known until its answer is read (and
	 * then it is unmapped again, see backend_settle()). */
	if (r < 0 && !waited_out(r))
		shm_map_del(dev, shmid, shm_offset, len);
	return r;
}

int vhu_shmem_map(struct vhu_dev *dev, uint64_t shm_offset, uint64_t len, int fd,
		  uint64_t fd_offset, bool writable)
{
	return shmem_map(dev, 0, shm_offset, len, fd, fd_offset, writable);
}

int vhu_shmem_attach(struct vhu_dev *dev, int fd, uint64_t fd_offset, uint64_t len)
{
	uint64_t size = __atomic_load_n(&dev->shm1_size, __ATOMIC_ACQUIRE);
	bool have = false;

	if (!size)
		return -ENODEV;
	if (len != size)
		return -EINVAL;
	pthread_mutex_lock(&dev->shm_lock);
	for (unsigned i = 0; i < dev->shm_nmaps && !have; i++)
		have = dev->shm_maps[i].shmid == 1;
	pthread_mutex_unlock(&dev->shm_lock);
	/* The guest writes there whatever the flag says (QEMU maps read-write anyway). */
	return have ? 0 : shmem_map(dev, 1, 0, len, fd, fd_offset, true);
}

int vhu_shmem_unmap(struct vhu_dev *dev, uint64_t shm_offset, uint64_t len)
{
	struct vhu_shmem_map req = {.shm_offset = shm_offset, .len = len};
	int r = shmem_check(dev, 0, shm_offset, len);

	if (r < 0)
		return r;
	pthread_mutex_lock(&dev->backend_lock);
	r = backend_call(dev, VHU_BACKEND_SHMEM_UNMAP, &req, -1);
	pthread_mutex_unlock(&dev->backend_lock);
	if (!waited_out(r))
		shm_map_del(dev, 0, shm_offset, len);
	return r;
}

bool vhu_region_is_window_map(struct vhu_dev *dev, const struct vhu_mem_region *r, int fd)
{
	struct stat st;
	bool found = false;

	if ((!vhu_shmem_size(dev) && !__atomic_load_n(&dev->shm1_size, __ATOMIC_ACQUIRE)) ||
	    fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	pthread_mutex_lock(&dev->shm_lock);
	for (unsigned i = 0; i < dev->shm_nmaps && !found; i++) {
		const struct vhu_shm_map *m = &dev->shm_maps[i];

		found = m->st_dev == st.st_dev && m->st_ino == st.st_ino &&
			m->fd_offset == r->mmap_offset && m->len == r->size;
	}
	pthread_mutex_unlock(&dev->shm_lock);
	return found;
}

int vhu_skip_region(struct vhu_dev *dev, const struct vhu_mem_region *r)
{
	struct vhu_skipped_region *v;

	if (dev->nskipped >= VHU_SHMEM_MAX_MAPS)
		return -ENOSPC;
	v = reallocarray(dev->skipped, dev->nskipped + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	dev->skipped = v;
	v[dev->nskipped++] = (struct vhu_skipped_region){r->guest_addr, r->size};
	return 0;
}

bool vhu_unskip_region(struct vhu_dev *dev, uint64_t guest_addr, uint64_t size)
{
	for (unsigned i = 0; i < dev->nskipped; i++) {
		if (dev->skipped[i].guest_addr == guest_addr && dev->skipped[i].size == size) {
			dev->skipped[i] = dev->skipped[--dev->nskipped];
			return true;
		}
	}
	return false;
}

static bool owed_map(const struct vhu_dev *dev, const struct vhu_shm_map *m)
{
	for (unsigned i = 0; i < dev->nowed; i++) {
		if (dev->owed[i].shmid == m->shmid && dev->owed[i].shm_offset == m->shm_offset &&
		    dev->owed[i].len == m->len)
			return true;
	}
	return false;
}

void vhu_shmem_reset(struct vhu_dev *dev)
{
	uint32_t answered;

	/*
	 * The frontend dropped every map it had made. It answers in order from the thread that
	 * sent this reset: answers already here are for requests it handled before the reset
	 * (their maps are gone too); the rest it handles after it, and those maps will exist
	 * and must stay recognisable until their answers are read (backend_settle()).
	 */
	pthread_mutex_lock(&dev->backend_lock);
	dev->norphans = 0;
	while (dev->nowed > 0 && backend_read_reply(dev, 0, false, &answered) != -ETIMEDOUT)
		memmove(dev->owed, dev->owed + 1, --dev->nowed * sizeof(dev->owed[0]));
	pthread_mutex_lock(&dev->shm_lock);
	for (unsigned i = 0; i < dev->shm_nmaps;) {
		if (owed_map(dev, &dev->shm_maps[i]))
			i++;
		else
			dev->shm_maps[i] = dev->shm_maps[--dev->shm_nmaps];
	}
	pthread_mutex_unlock(&dev->shm_lock);
	pthread_mutex_unlock(&dev->backend_lock);
}

void vhu_shmem_session_end(struct vhu_dev *dev)
{
	vhu_backend_cancel(dev);
	pthread_mutex_lock(&dev->backend_lock);
	dev->backend_fd = safe_close(dev->backend_fd);
	dev->nowed = dev->norphans = 0;
	pthread_mutex_unlock(&dev->backend_lock);
	vhu_backend_resume(dev);
	__atomic_store_n(&dev->shm_size, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&dev->shm1_size, 0, __ATOMIC_RELEASE);
	pthread_mutex_lock(&dev->shm_lock);
	dev->shm_nmaps = 0;
	pthread_mutex_unlock(&dev->shm_lock);
	dev->nskipped = 0;
}
