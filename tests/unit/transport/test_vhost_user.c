/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The vhost-user device driven over its socket by a fake frontend doing what QEMU 7.2 does
 * (features, memory table, ring setup, kick/call, enable, GET_VRING_BASE, disconnect), plus
 * protocol violations, a deferred request and the listening-socket rules.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"
#include "guest_mem.h"
#include "transport/vhost_user.h"
#include "transport/vhu_proto.h"

#define MEM_SIZE (256 * PAGE)
#define MEM_UVA	 0x7f0000000000ull
#define RING_GPA 0x0ull
#define BUF_GPA	 (64 * PAGE)
#define QSIZE	 8

static char sock_path[128];
static unsigned resets;
static struct vhu_req *deferred;

static void handle(void *opaque, struct vhu_req *req)
{
	const char *in = req->rd[0].iov_base;

	if (in[0] == 'D') {
		__atomic_store_n(&deferred, req, __ATOMIC_RELEASE);
		return;
	}
	CHECK(req->nwr >= 1);
	memcpy(req->wr[0].iov_base, "HELLO", 5);
	vhu_req_done(req, 1000); /* clamped to the writable room */
}

static void reset(void *opaque)
{
	resets++;
	if (deferred)
		vhu_req_done(TAKE_PTR(deferred), 0);
}

struct server {
	struct vhu_dev *dev;
	int listen_fd;
	int lock_fd;
	int ret;
	pthread_t thread;
};

static void *serve_main(void *arg)
{
	struct server *s = arg;

	s->ret = vhu_dev_serve(s->dev, s->listen_fd);
	return NULL;
}

static int fe_connect(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(strlen(sock_path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
	CHECK_EQ(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void fe_send(int fd, uint32_t req, uint32_t flags, const void *p, uint32_t size,
		    const int *fds, unsigned nfds)
{
	struct vhu_hdr h = {.request = req, .flags = VHU_FLAG_VERSION | flags, .size = size};
	struct iovec iov[2] = {{&h, sizeof(h)}, {(void *)p, size}};
	union {
		char buf[CMSG_SPACE(8 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = size ? 2 : 1};

	if (nfds) {
		struct cmsghdr *c;

		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	CHECK_EQ(sendmsg(fd, &mh, MSG_NOSIGNAL), (ssize_t)(sizeof(h) + size));
}

/* Reads one reply; returns its payload size (or -1 on EOF). */
static int fe_recv(int fd, uint32_t req, void *p, size_t max)
{
	struct vhu_hdr h;

	if (recv(fd, &h, sizeof(h), MSG_WAITALL) != sizeof(h))
		return -1;
	CHECK_EQ(h.request, req);
	CHECK_EQ(h.flags, VHU_FLAG_VERSION | VHU_FLAG_REPLY);
	CHECK(h.size <= max);
	if (h.size)
		CHECK_EQ(recv(fd, p, h.size, MSG_WAITALL), (ssize_t)h.size);
	return (int)h.size;
}

static uint64_t fe_get_u64(int fd, uint32_t req)
{
	uint64_t v = 0;

	fe_send(fd, req, 0, NULL, 0, NULL, 0);
	CHECK_EQ(fe_recv(fd, req, &v, sizeof(v)), 8);
	return v;
}

/* Sends with NEED_REPLY and returns the REPLY_ACK value. */
static uint64_t fe_acked(int fd, uint32_t req, const void *p, uint32_t size, const int *fds,
			 unsigned nfds)
{
	uint64_t v = 99;

	fe_send(fd, req, VHU_FLAG_NEED_REPLY, p, size, fds, nfds);
	CHECK_EQ(fe_recv(fd, req, &v, sizeof(v)), 8);
	return v;
}

static bool wait_fd(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, ms) == 1;
}

struct fe_ring {
	uint8_t *mem;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t avail_idx;
	int kick, call, err;
};

static void fe_post(struct fe_ring *r, uint16_t head, const char *in)
{
	memcpy((char *)r->mem + BUF_GPA + head * 0x1000, in, strlen(in) + 1);
	set_desc(r->desc, head, BUF_GPA + head * 0x1000, 16, VRING_DESC_F_NEXT,
		 (uint16_t)(head + 1));
	set_desc(r->desc, head + 1, BUF_GPA + head * 0x1000 + 0x800, 64, VRING_DESC_F_WRITE, 0);
	r->avail->ring[r->avail_idx % QSIZE] = htole16(head);
	r->avail_idx++;
	__atomic_store_n(&r->avail->idx, htole16(r->avail_idx), __ATOMIC_RELEASE);
	CHECK_EQ(eventfd_write(r->kick, 1), 0);
}

/* What QEMU does at vhost_dev_start() for one ring. */
static void fe_setup_ring(int fd, struct fe_ring *r, unsigned q, uint32_t base)
{
	struct vhu_vring_state st = {.index = q, .num = QSIZE};
	uint64_t ring_off = RING_GPA + q * 4 * PAGE;
	struct vhu_vring_addr a = {
		.index = q,
		.desc_user_addr = MEM_UVA + ring_off,
		.avail_user_addr = MEM_UVA + ring_off + PAGE,
		.used_user_addr = MEM_UVA + ring_off + 2 * PAGE,
	};
	uint64_t file = q;

	r->desc = (void *)(r->mem + ring_off);
	r->avail = (void *)(r->mem + ring_off + PAGE);
	r->used = (void *)(r->mem + ring_off + 2 * PAGE);
	if (r->kick > 0) {
		close(r->kick);
		close(r->call);
		close(r->err);
	}
	r->kick = eventfd(0, EFD_CLOEXEC);
	r->call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	r->err = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	CHECK_EQ(fe_acked(fd, VHU_SET_VRING_NUM, &st, sizeof(st), NULL, 0), 0);
	st.num = base;
	CHECK_EQ(fe_acked(fd, VHU_SET_VRING_BASE, &st, sizeof(st), NULL, 0), 0);
	CHECK_EQ(fe_acked(fd, VHU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0), 0);
	CHECK_EQ(fe_acked(fd, VHU_SET_VRING_KICK, &file, 8, &r->kick, 1), 0);
	CHECK_EQ(fe_acked(fd, VHU_SET_VRING_CALL, &file, 8, &r->call, 1), 0);
	CHECK_EQ(fe_acked(fd, VHU_SET_VRING_ERR, &file, 8, &r->err, 1), 0);
	st.num = 1;
	CHECK_EQ(fe_acked(fd, VHU_SET_VRING_ENABLE, &st, sizeof(st), NULL, 0), 0);
}

static void fe_negotiate(int fd, uint8_t **ret_mem)
{
	uint64_t f, pf;
	struct vhu_mem_table mt = {.nregions = 1};
	int memfd = memfd_create("guest", MFD_CLOEXEC);

	f = fe_get_u64(fd, VHU_GET_FEATURES);
	CHECK(f & 1ull << VHU_F_VERSION_1);
	CHECK(f & 1ull << VHU_F_PROTOCOL_FEATURES);
	pf = fe_get_u64(fd, VHU_GET_PROTOCOL_FEATURES);
	CHECK(!(pf & 1ull << 9)); /* never CONFIG */
	CHECK(pf & 1ull << VHU_PROTOCOL_F_REPLY_ACK);
	fe_send(fd, VHU_SET_PROTOCOL_FEATURES, 0, &pf, 8, NULL, 0);
	CHECK_EQ(fe_get_u64(fd, VHU_GET_QUEUE_NUM), 2);
	CHECK_EQ(fe_get_u64(fd, VHU_GET_MAX_MEM_SLOTS), GMEM_MAX_REGIONS);
	CHECK_EQ(fe_acked(fd, VHU_SET_OWNER, NULL, 0, NULL, 0), 0);
	CHECK_EQ(fe_acked(fd, VHU_SET_FEATURES, &f, 8, NULL, 0), 0);
	/* Unknown message with NEED_REPLY: refused, connection kept. */
	CHECK(fe_acked(fd, 200, NULL, 0, NULL, 0) != 0);

	CHECK_EQ(ftruncate(memfd, MEM_SIZE), 0);
	mt.regions[0] =
		(struct vhu_mem_region){.guest_addr = 0, .size = MEM_SIZE, .user_addr = MEM_UVA};
	CHECK_EQ(fe_acked(fd, VHU_SET_MEM_TABLE, &mt, 8 + 32, &memfd, 1), 0);
	*ret_mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	CHECK(*ret_mem != MAP_FAILED);
	close(memfd);
}

static void scenario(unsigned pool)
{
	struct vhu_config cfg = {.max_request_queues = 1, .thread_pool_size = pool};
	struct vhu_callbacks cb = {.handle = handle, .reset = reset};
	struct server s = {.listen_fd = vhu_listen_path(sock_path, &s.lock_fd)};
	struct fe_ring r = {0};
	struct vhu_vring_state st = {.index = 1};
	eventfd_t v;
	int fd;

	resets = 0;
	CHECK(s.listen_fd >= 0);
	CHECK_EQ(vhu_dev_new(&cfg, &cb, NULL, &s.dev), 0);
	pthread_create(&s.thread, NULL, serve_main, &s);
	fd = fe_connect();
	fe_negotiate(fd, &r.mem);
	fe_setup_ring(fd, &r, 1, 0);

	fe_post(&r, 0, "hello");
	CHECK(wait_fd(r.call, 5000));
	CHECK_EQ(le16toh(__atomic_load_n(&r.used->idx, __ATOMIC_ACQUIRE)), 1);
	CHECK_EQ(le32toh(r.used->ring[0].id), 0);
	CHECK_EQ(le32toh(r.used->ring[0].len), 64);
	CHECK(memcmp(r.mem + BUF_GPA + 0x800, "HELLO", 5) == 0);
	(void)eventfd_read(r.call, &v);

	/* A deferred request survives until the ring stops; its late completion is dropped. */
	fe_post(&r, 2, "D-lock");
	for (int i = 0; i < 500 && !__atomic_load_n(&deferred, __ATOMIC_ACQUIRE); i++)
		usleep(10000);
	CHECK(deferred != NULL);
	fe_send(fd, VHU_GET_VRING_BASE, 0, &st, sizeof(st), NULL, 0);
	CHECK_EQ(fe_recv(fd, VHU_GET_VRING_BASE, &st, sizeof(st)), 8);
	CHECK_EQ(st.index, 1);
	CHECK_EQ(st.num, 2);
	vhu_req_done(TAKE_PTR(deferred), 3);
	CHECK_EQ(le16toh(r.used->idx), 1);

	/* Restart the ring where it stopped and serve again. */
	fe_setup_ring(fd, &r, 1, 2);
	fe_post(&r, 4, "again");
	CHECK(wait_fd(r.call, 5000));
	CHECK_EQ(le16toh(r.used->idx), 2);
	CHECK_EQ(le32toh(r.used->ring[1].id), 4);

	/* A malformed chain breaks the queue and signals err. */
	set_desc(r.desc, 6, BUF_GPA, 16, VRING_DESC_F_NEXT, 6);
	r.avail->ring[r.avail_idx % QSIZE] = htole16(6);
	r.avail_idx++;
	__atomic_store_n(&r.avail->idx, htole16(r.avail_idx), __ATOMIC_RELEASE);
	CHECK_EQ(eventfd_write(r.kick, 1), 0);
	CHECK(wait_fd(r.err, 5000));

	/* Protocol violation: queue index out of range drops the connection. */
	st = (struct vhu_vring_state){.index = 7, .num = 8};
	fe_send(fd, VHU_SET_VRING_NUM, 0, &st, sizeof(st), NULL, 0);
	CHECK_EQ(fe_recv(fd, 0, NULL, 0), -1);
	pthread_join(s.thread, NULL);
	CHECK_EQ(s.ret, -EPROTO);
	CHECK(resets >= 1);
	close(fd);
	vhu_dev_free(s.dev);
	close(s.listen_fd);
	close(s.lock_fd);
	munmap(r.mem, MEM_SIZE);
	close(r.kick);
	close(r.call);
	close(r.err);
}

/* keep_serving: a bad frontend, then a clean one, then vhu_dev_stop(). */
static void scenario_keep_serving(void)
{
	struct vhu_config cfg = {.max_request_queues = 1, .keep_serving = true};
	struct vhu_callbacks cb = {.handle = handle, .reset = reset};
	struct server s = {.listen_fd = vhu_listen_path(sock_path, &s.lock_fd)};
	uint32_t junk[2] = {1, 2};
	int fd;

	CHECK_EQ(vhu_dev_new(&cfg, &cb, NULL, &s.dev), 0);
	pthread_create(&s.thread, NULL, serve_main, &s);

	fd = fe_connect();
	fe_send(fd, VHU_GET_FEATURES, 0, junk, sizeof(junk), NULL, 0); /* wrong size */
	CHECK_EQ(fe_recv(fd, 0, NULL, 0), -1);
	close(fd);

	fd = fe_connect();
	CHECK(fe_get_u64(fd, VHU_GET_FEATURES) != 0);
	close(fd);
	fd = fe_connect();
	CHECK(fe_get_u64(fd, VHU_GET_FEATURES) != 0);
	vhu_dev_stop(s.dev);
	pthread_join(s.thread, NULL);
	CHECK_EQ(s.ret, 0);
	close(fd);
	vhu_dev_free(s.dev);
	close(s.listen_fd);
	close(s.lock_fd);
}

static void test_listen_path(void)
{
	int fd, fd2, lock, lock2 = -1, lock3 = -1;
	struct stat st;

	CHECK_EQ(close(open(sock_path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600)), 0);
	CHECK_EQ(vhu_listen_path(sock_path, &lock), -EEXIST);
	unlink(sock_path);
	fd = vhu_listen_path(sock_path, &lock);
	CHECK(fd >= 0);
	/* A live daemon's socket is refused and left untouched (same inode afterwards). */
	CHECK_EQ(stat(sock_path, &st), 0);
	CHECK_EQ(vhu_listen_path(sock_path, &lock2), -EADDRINUSE);
	CHECK_EQ(lock2, -1);
	{
		struct stat st2;
		CHECK_EQ(stat(sock_path, &st2), 0);
		CHECK_EQ(st2.st_ino, st.st_ino);
	}
	close(fd);
	close(lock); /* leaves a stale socket file behind */
	fd2 = vhu_listen_path(sock_path, &lock3);
	CHECK(fd2 >= 0);
	CHECK(lock3 >= 0);
	close(fd2);
	close(lock3);
}

int main(void)
{
	char dir[] = "/tmp/vfsd-vhu-XXXXXX";
	struct stat st;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(sock_path, sizeof(sock_path), "%s/sock", dir);
	test_listen_path();
	CHECK_EQ(stat(sock_path, &st), 0);
	CHECK_EQ(st.st_mode & 0777, 0600);
	scenario(0);
	scenario(2);
	scenario_keep_serving();
	unlink(sock_path);
	rmdir(dir);
	return check_report("transport-vhost-user");
}
