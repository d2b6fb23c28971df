/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Connection and negotiation, in the order QEMU's vhost-user-fs-pci uses when a VM starts:
 * features, protocol features, queue count, backend channel, owner; then at device start the
 * acked features, the memory table and every ring, then enable.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fe_internal.h"
#include "util/macros.h"

#define FE_DEFAULT_PROTO                                          \
	((1ull << VHU_PROTO_MQ) | (1ull << VHU_PROTO_REPLY_ACK) | \
	 (1ull << VHU_PROTO_CONFIGURE_MEM_SLOTS) | (1ull << VHU_PROTO_BACKEND_REQ))
/* What QEMU 11.1 acks for vhost-user-test-device-pci, as far as a virtio-fs backend offers it. */
#define FE_DAX_PROTO                                                                 \
	(FE_DEFAULT_PROTO | (1ull << VHU_PROTO_CONFIG) | (1ull << VHU_PROTO_SHMEM) | \
	 (1ull << VHU_PROTO_RESET_DEVICE))

void fe_options_default(struct fe_options *o)
{
	if (!o->mem_size)
		o->mem_size = 64u << 20;
	if (!o->mem_regions)
		o->mem_regions = 1;
	if (!o->num_request_queues)
		o->num_request_queues = 1;
	if (!o->queue_size)
		o->queue_size = 128;
	if (!o->features)
		o->features = (1ull << 32) /* VIRTIO_F_VERSION_1 */ |
			      (1ull << VIRTIO_RING_F_INDIRECT_DESC) |
			      (1ull << VIRTIO_RING_F_EVENT_IDX);
	if (!o->protocol_features)
		o->protocol_features = o->dax ? FE_DAX_PROTO : FE_DEFAULT_PROTO;
	if (!o->timeout_ms)
		o->timeout_ms = 5000;
}

int fe_vhu_send_bytes(struct fe *fe, const void *buf, size_t len, const int *fds, int nfds)
{
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	union {
		char buf[CMSG_SPACE(sizeof(int) * VHU_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};

	if (nfds < 0 || nfds > VHU_MAX_FDS)
		return -EINVAL;
	if (nfds > 0) {
		memset(&u, 0, sizeof(u));
		msg.msg_control = u.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	ssize_t n;
	do
		n = sendmsg(fe->sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EPIPE;
	return 0;
}

int fe_vhu_send(struct fe *fe, uint32_t request, uint32_t flags, const void *payload, uint32_t size,
		const int *fds, int nfds)
{
	uint8_t buf[sizeof(struct vhu_hdr) + 4096];
	struct vhu_hdr h = {.request = request, .flags = flags, .size = size};

	if (size > sizeof(buf) - sizeof(h))
		return -E2BIG;
	memcpy(buf, &h, sizeof(h));
	if (size)
		memcpy(buf + sizeof(h), payload, size);
	return fe_vhu_send_bytes(fe, buf, sizeof(h) + size, fds, nfds);
}

int fe_read_full(int fd, void *buf, size_t len, int timeout_ms)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		ssize_t n = recv(fd, (char *)buf + got, len - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		got += (size_t)n;
	}
	return 0;
}

int fe_vhu_recv(struct fe *fe, struct vhu_hdr *ret_hdr, void *payload, size_t max, int timeout_ms)
{
	struct vhu_hdr h;
	int r = fe_read_full(fe->sock, &h, sizeof(h), timeout_ms);
	if (r < 0)
		return r;
	if (h.size > max) {
		/* Drain it so the stream stays in sync, then report. */
		uint8_t junk[256];
		for (uint32_t left = h.size; left > 0;) {
			uint32_t n = MIN(left, (uint32_t)sizeof(junk));
			r = fe_read_full(fe->sock, junk, n, timeout_ms);
			if (r < 0)
				return r;
			left -= n;
		}
		return -EMSGSIZE;
	}
	r = fe_read_full(fe->sock, payload, h.size, timeout_ms);
	if (r < 0)
		return r;
	*ret_hdr = h;
	return 0;
}

static bool has_own_reply(uint32_t request)
{
	switch (request) {
	case VHU_GET_FEATURES:
	case VHU_GET_PROTOCOL_FEATURES:
	case VHU_GET_QUEUE_NUM:
	case VHU_GET_VRING_BASE:
	case VHU_GET_MAX_MEM_SLOTS:
	case VHU_GET_CONFIG:
	case VHU_GET_SHMEM_CONFIG:
	case VHU_SET_DEVICE_STATE_FD:
	case VHU_CHECK_DEVICE_STATE:
	case VHU_SET_LOG_BASE: /* with LOG_SHMFD, the only way we send it */
		return true;
	default:
		return false;
	}
}

static int check_reply_header(uint32_t request, const struct vhu_hdr *h)
{
	if (h->request == request && (h->flags & 0x3) == VHU_VERSION && (h->flags & VHU_FLAG_REPLY))
		return 0;
	fprintf(stderr, "fe: bad reply header to %u: request %u flags %#x\n", request, h->request,
		h->flags);
	return -EPROTO;
}

static int vhu_call_locked(struct fe *fe, uint32_t request, const void *payload, uint32_t size,
			   const int *fds, int nfds, uint64_t *ret_u64)
{
	bool reply = has_own_reply(request);
	bool ack = !reply && (fe->protocol_features & (1ull << VHU_PROTO_REPLY_ACK));
	uint32_t flags = VHU_VERSION | (ack ? VHU_FLAG_NEED_REPLY : 0);
	union {
		uint64_t u64;
		struct vhu_vring_state state;
		uint8_t raw[256];
	} rep;
	struct vhu_hdr h;
	int r;

	r = fe_vhu_send(fe, request, flags, payload, size, fds, nfds);
	if (r < 0)
		return r;
	if (!reply && !ack)
		return 0;
	r = fe_vhu_recv(fe, &h, &rep, sizeof(rep), fe->opts.timeout_ms);
	if (r < 0)
		return r;
	if ((r = check_reply_header(request, &h)) < 0)
		return r;
	if (request == VHU_GET_VRING_BASE) {
		if (h.size != sizeof(rep.state))
			return -EPROTO;
		if (ret_u64)
			*ret_u64 = rep.state.num;
		return 0;
	}
	if (h.size != sizeof(uint64_t))
		return -EPROTO;
	if (ack && rep.u64 != 0)
		return -EIO;
	if (ret_u64)
		*ret_u64 = rep.u64;
	return 0;
}

int fe_vhu_call(struct fe *fe, uint32_t request, const void *payload, uint32_t size, const int *fds,
		int nfds, uint64_t *ret_u64)
{
	pthread_mutex_lock(&fe->sock_lock);
	int r = vhu_call_locked(fe, request, payload, size, fds, nfds, ret_u64);
	pthread_mutex_unlock(&fe->sock_lock);
	return r;
}

int fe_vhu_query(struct fe *fe, uint32_t request, const void *payload, uint32_t size, void *reply,
		 size_t max, uint32_t *ret_size)
{
	struct vhu_hdr h;
	int r;

	pthread_mutex_lock(&fe->sock_lock);
	r = fe_vhu_send(fe, request, VHU_VERSION, payload, size, NULL, 0);
	if (r == 0)
		r = fe_vhu_recv(fe, &h, reply, max, fe->opts.timeout_ms);
	pthread_mutex_unlock(&fe->sock_lock);
	if (r < 0 || (r = check_reply_header(request, &h)) < 0)
		return r;
	*ret_size = h.size;
	return 0;
}

static int connect_unix(const char *path, int *ret_fd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = -1;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static int send_mem_table(struct fe *fe)
{
	struct vhu_mem_table mt = {.nregions = fe->nregions};
	int fds[2];

	for (unsigned i = 0; i < fe->nregions; i++) {
		mt.regions[i] = (struct vhu_mem_region){
			.guest_phys_addr = fe->regions[i].gpa,
			.memory_size = fe->regions[i].size,
			.userspace_addr = (uint64_t)(uintptr_t)fe->regions[i].host,
			.mmap_offset = fe->regions[i].offset,
		};
		fds[i] = fe->memfd;
	}
	bool slots = fe->protocol_features & (1ull << VHU_PROTO_CONFIGURE_MEM_SLOTS);
	if (fe->opts.mem_add_reg && slots) {
		for (unsigned i = 0; i < fe->nregions; i++) {
			struct vhu_mem_reg_one one = {.region = mt.regions[i]};
			int r = fe_vhu_call(fe, VHU_ADD_MEM_REG, &one, sizeof(one), &fe->memfd, 1,
					    NULL);
			if (r < 0)
				return r;
		}
		return 0;
	}
	uint32_t size = (uint32_t)(8 + fe->nregions * sizeof(struct vhu_mem_region));
	return fe_vhu_call(fe, VHU_SET_MEM_TABLE, &mt, size, fds, (int)fe->nregions, NULL);
}

static int setup_vring(struct fe *fe, unsigned i)
{
	struct fe_vq *vq = &fe->vq[i];
	struct vhu_vring_state st = {.index = i, .num = vq->num};
	struct vhu_vring_addr a = {
		.index = i,
		.desc_user_addr = (uint64_t)(uintptr_t)vq->desc,
		.used_user_addr = (uint64_t)(uintptr_t)vq->used,
		.avail_user_addr = (uint64_t)(uintptr_t)vq->avail,
	};
	uint64_t idx = i;
	int r;

	if ((r = fe_vhu_call(fe, VHU_SET_VRING_NUM, &st, sizeof(st), NULL, 0, NULL)) < 0)
		return r;
	st.num = vq->base;
	if ((r = fe_vhu_call(fe, VHU_SET_VRING_BASE, &st, sizeof(st), NULL, 0, NULL)) < 0)
		return r;
	if ((r = fe_vhu_call(fe, VHU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0, NULL)) < 0)
		return r;
	if ((r = fe_vhu_call(fe, VHU_SET_VRING_KICK, &idx, sizeof(idx), &vq->kick_fd, 1, NULL)) < 0)
		return r;
	return fe_vhu_call(fe, VHU_SET_VRING_CALL, &idx, sizeof(idx), &vq->call_fd, 1, NULL);
}

static int start_rings(struct fe *fe)
{
	int r;

	for (unsigned i = 0; i < fe->nqueues; i++)
		if ((r = setup_vring(fe, i)) < 0)
			return r;
	if (fe->features & (1ull << VHU_F_PROTOCOL_FEATURES)) {
		for (unsigned i = 0; i < fe->nqueues; i++) {
			struct vhu_vring_state st = {.index = i, .num = 1};
			r = fe_vhu_call(fe, VHU_SET_VRING_ENABLE, &st, sizeof(st), NULL, 0, NULL);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int negotiate(struct fe *fe)
{
	uint64_t offered, proto = 0;
	int r;

	if ((r = fe_vhu_call(fe, VHU_GET_FEATURES, NULL, 0, NULL, 0, &offered)) < 0)
		return r;
	if (offered & (1ull << VHU_F_PROTOCOL_FEATURES)) {
		if ((r = fe_vhu_call(fe, VHU_GET_PROTOCOL_FEATURES, NULL, 0, NULL, 0, &proto)) < 0)
			return r;
		fe->protocol_offered = proto;
		proto &= fe->opts.protocol_features;
		if ((r = fe_vhu_call(fe, VHU_SET_PROTOCOL_FEATURES, &proto, sizeof(proto), NULL, 0,
				     NULL)) < 0)
			return r;
		fe->protocol_features = proto;
	}
	if (proto & (1ull << VHU_PROTO_MQ)) {
		if ((r = fe_vhu_call(fe, VHU_GET_QUEUE_NUM, NULL, 0, NULL, 0, &fe->queue_num)) < 0)
			return r;
		if (fe->queue_num < fe->nqueues)
			return -EOPNOTSUPP;
	} else if (fe->nqueues > 2) {
		return -EOPNOTSUPP;
	}
	if (proto & (1ull << VHU_PROTO_CONFIGURE_MEM_SLOTS)) {
		uint64_t slots;
		if ((r = fe_vhu_call(fe, VHU_GET_MAX_MEM_SLOTS, NULL, 0, NULL, 0, &slots)) < 0)
			return r;
		if (slots < fe->nregions)
			return -EOPNOTSUPP;
	}
	if (proto & (1ull << VHU_PROTO_BACKEND_REQ)) {
		int sp[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
			return -errno;
		fe->backend_fd = sp[0];
		fe->backend_peer = sp[1];
		r = fe_vhu_call(fe, VHU_SET_BACKEND_REQ_FD, NULL, 0, &sp[1], 1, NULL);
		fe->backend_peer = safe_close(fe->backend_peer);
		if (r < 0)
			return r;
	}
	if ((r = fe_vhu_call(fe, VHU_SET_OWNER, NULL, 0, NULL, 0, NULL)) < 0)
		return r;
	/* A migration's destination: QEMU loads the state here, before features and memory. */
	if (fe->opts.incoming_state &&
	    (r = fe_state_incoming(fe, fe->opts.incoming_state, fe->opts.incoming_len)) < 0)
		return r;
	/* Where QEMU's vhost-user-base realize reads the config and the shared memory regions. */
	if (fe->opts.dax && (r = fe_dax_negotiate(fe)) < 0)
		return r;
	uint64_t want = fe->opts.features | (offered & (1ull << VHU_F_PROTOCOL_FEATURES));
	fe->features = want & offered;
	if ((r = fe_vhu_call(fe, VHU_SET_FEATURES, &fe->features, sizeof(fe->features), NULL, 0,
			     NULL)) < 0)
		return r;
	if ((r = send_mem_table(fe)) < 0)
		return r;
	return start_rings(fe);
}

int fe_reset_device(struct fe *fe)
{
	bool dev = fe->protocol_features & (1ull << VHU_PROTO_RESET_DEVICE);
	int r;

	if (fe->dax && (r = fe_dax_settle(fe, fe->opts.timeout_ms)) < 0 && r != -EBUSY)
		return r;
	r = fe_vhu_call(fe, dev ? VHU_RESET_DEVICE : VHU_RESET_OWNER, NULL, 0, NULL, 0, NULL);
	if (r < 0)
		return r;
	if (fe->dax && (r = fe_dax_reset(fe)) < 0)
		return r;
	fe_ring_reset(fe);
	return start_rings(fe);
}

int fe_connect(const char *path, const struct fe_options *opts, struct fe **ret)
{
	struct fe *fe = calloc(1, sizeof(*fe));
	int r;

	if (!fe)
		return -ENOMEM;
	fe->sock = fe->memfd = fe->backend_fd = fe->backend_peer = -1;
	fe->state_check = ~0ull;
	pthread_mutex_init(&fe->sock_lock, NULL);
	for (unsigned i = 0; i < FE_MAX_QUEUES; i++)
		fe->vq[i].kick_fd = fe->vq[i].call_fd = -1;
	if (opts)
		fe->opts = *opts;
	fe_options_default(&fe->opts);
	fe->nqueues = 1 + fe->opts.num_request_queues;
	fe->uid = fe->gid = 0;
	fe->pid = (uint32_t)getpid();
	fe->fuse_queue = 1;
	fe->fuse_timeout_ms = 10000;
	if (fe->nqueues > FE_MAX_QUEUES || fe->opts.mem_regions > 2 ||
	    (fe->opts.queue_size & (fe->opts.queue_size - 1)) || fe->opts.queue_size > 32768) {
		r = -EINVAL;
		goto fail;
	}
	if ((r = connect_unix(path, &fe->sock)) < 0)
		goto fail;
	if ((r = fe_mem_create(fe)) < 0)
		goto fail;
	if ((r = fe_ring_setup(fe)) < 0)
		goto fail;
	if (!fe->opts.connect_only && (r = negotiate(fe)) < 0)
		goto fail;
	if (fe->opts.dax && !fe->opts.connect_only && (r = fe_dax_start(fe)) < 0)
		goto fail;
	*ret = fe;
	return 0;
fail:
	fe_free(fe);
	return r;
}

int fe_stop(struct fe *fe)
{
	for (unsigned i = 0; i < fe->nqueues; i++) {
		struct vhu_vring_state st = {.index = i};
		uint64_t base;
		int r = fe_vhu_call(fe, VHU_GET_VRING_BASE, &st, sizeof(st), NULL, 0, &base);
		if (r < 0)
			return r;
		fe->vq[i].base = (uint16_t)base;
	}
	return 0;
}

int fe_resume(struct fe *fe)
{
	return start_rings(fe);
}

void fe_free(struct fe *fe)
{
	if (!fe)
		return;
	/* The backend-channel thread uses the socket: it goes first. */
	fe_dax_free(fe);
	safe_close(fe->sock);
	safe_close(fe->backend_fd);
	safe_close(fe->backend_peer);
	fe_ring_teardown(fe);
	for (unsigned i = 0; i < fe->nregions; i++)
		if (fe->regions[i].host)
			munmap(fe->regions[i].host, fe->regions[i].size);
	safe_close(fe->memfd);
	free(fe->bitmap);
	if (fe->log)
		munmap(fe->log, fe->log_size);
	pthread_mutex_destroy(&fe->sock_lock);
	free(fe);
}

unsigned fe_num_queues(const struct fe *fe)
{
	return fe->nqueues;
}

uint64_t fe_features(const struct fe *fe)
{
	return fe->features;
}

uint64_t fe_protocol_features(const struct fe *fe)
{
	return fe->protocol_features;
}

uint64_t fe_protocol_offered(const struct fe *fe)
{
	return fe->protocol_offered;
}

uint64_t fe_queue_num(const struct fe *fe)
{
	return fe->queue_num;
}

int fe_socket_fd(const struct fe *fe)
{
	return fe->sock;
}

int fe_backend_fd(const struct fe *fe)
{
	return fe->backend_fd;
}

unsigned fe_missed_calls(const struct fe *fe)
{
	return fe->missed_calls;
}

void fe_set_layout(struct fe *fe, bool split_descs, bool indirect)
{
	fe->opts.split_descs = split_descs;
	fe->opts.indirect = indirect;
}
