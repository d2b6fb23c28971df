/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The device object, the listening socket and the session loop: receive a message (with its
 * fds), dispatch it, send the reply. One frontend at a time, served on the calling thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "transport/vhu_priv.h"
#include "util/log.h"

/* Queue indexes travel in 8 bits (SET_VRING_KICK/CALL/ERR). */
#define VHU_MAX_QUEUES	256u
#define VHU_MAX_THREADS 1024u

static int make_addr(const char *path, struct sockaddr_un *sa)
{
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	*sa = (struct sockaddr_un){.sun_family = AF_UNIX};
	memcpy(sa->sun_path, path, len + 1);
	return 0;
}

/*
 * Takes the daemon lock: an flock on "<path>.pid" (holding our pid), the same convention as the
 * Rust virtiofsd. Whoever holds it owns the socket path; a socket file without a lock holder is
 * stale. Probing with connect() instead would be accepted by a live daemon as its frontend.
 */
static int take_pid_lock(const char *path)
{
	_cleanup_close_ int fd = -1;
	char name[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];
	char pid[24];
	int len;

	if ((size_t)snprintf(name, sizeof(name), "%s.pid", path) >= sizeof(name))
		return -ENAMETOOLONG;
	fd = open(name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? -EADDRINUSE : -errno;
	len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)len, 0) != len)
		return -errno;
	return TAKE_FD(fd);
}

/* 0: nothing at path (a stale socket was removed); -EEXIST for a non-socket, or -errno. */
static int clear_stale(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int vhu_listen_path(const char *path, int *ret_lock_fd)
{
	_cleanup_close_ int fd = -1, lock_fd = -1;
	struct sockaddr_un sa;
	mode_t old_umask;
	int err;

	err = make_addr(path, &sa);
	if (err < 0)
		return err;
	lock_fd = take_pid_lock(path);
	if (lock_fd < 0)
		return lock_fd;
	err = clear_stale(path);
	if (err < 0)
		return err;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Never a window in which the socket file is reachable by others. */
	old_umask = umask(0077);
	err = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	umask(old_umask);
	if (err < 0)
		return err;
	if (chmod(path, 0600) < 0 || listen(fd, 1) < 0) {
		err = -errno;
		unlink(path);
		return err;
	}
	*ret_lock_fd = TAKE_FD(lock_fd);
	return TAKE_FD(fd);
}

static int recv_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = recv(fd, p, len, MSG_WAITALL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int collect_fds(struct msghdr *mh, struct vhu_msg *msg)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (msg->nfds < VHU_MAX_FDS)
				msg->fds[msg->nfds++] = fd;
			else
				close(fd);
		}
	}
	if (mh->msg_flags & MSG_CTRUNC) {
		log_ratelimited(LOG_LEVEL_ERROR, "vhost-user: too many fds with one message");
		return VHU_EPROTO;
	}
	return 0;
}

/* 1: a message; 0: the frontend closed the connection; <0: error (the caller drops it). */
static int recv_msg(int fd, struct vhu_msg *msg)
{
	union {
		char buf[CMSG_SPACE(VHU_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {.iov_base = &msg->hdr, .iov_len = sizeof(msg->hdr)};
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf),
	};
	ssize_t n;
	int err;

	msg->nfds = 0;
	do {
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return 0;
	err = collect_fds(&mh, msg);
	if (err < 0)
		return err;
	err = recv_full(fd, (uint8_t *)&msg->hdr + n, sizeof(msg->hdr) - (size_t)n);
	if (err < 0)
		return err;
	if ((msg->hdr.flags & VHU_FLAG_VERSION_MASK) != VHU_FLAG_VERSION) {
		log_ratelimited(LOG_LEVEL_ERROR, "vhost-user: bad message version flags %#x",
				msg->hdr.flags);
		return VHU_EPROTO;
	}
	if (msg->hdr.size > VHU_MAX_PAYLOAD) {
		log_ratelimited(LOG_LEVEL_ERROR, "vhost-user: payload of %u bytes too large",
				msg->hdr.size);
		return VHU_EPROTO;
	}
	memset(&msg->payload, 0, sizeof(msg->payload));
	err = recv_full(fd, &msg->payload, msg->hdr.size);
	return err < 0 ? err : 1;
}

static int send_reply(int fd, const struct vhu_msg *msg)
{
	struct vhu_hdr hdr = {
		.request = msg->hdr.request,
		.flags = VHU_FLAG_VERSION | VHU_FLAG_REPLY,
		.size = msg->reply_size,
	};
	struct iovec iov[2] = {
		{.iov_base = &hdr, .iov_len = sizeof(hdr)},
		{.iov_base = (void *)&msg->reply, .iov_len = msg->reply_size},
	};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = msg->reply_size ? 2 : 1};
	size_t want = sizeof(hdr) + msg->reply_size;
	ssize_t n;

	do {
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	/* A reply is tiny; a short write on a UNIX stream socket means it is going away. */
	return (size_t)n == want ? 0 : -EPIPE;
}

static void close_msg_fds(struct vhu_msg *msg)
{
	for (unsigned i = 0; i < msg->nfds; i++)
		msg->fds[i] = safe_close(msg->fds[i]);
	msg->nfds = 0;
}

int vhu_wait_fd(int abort_fd, int fd, short events)
{
	struct pollfd pfd[2] = {
		{.fd = abort_fd, .events = POLLIN},
		{.fd = fd, .events = events},
	};

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (pfd[0].revents)
			return 1;
		if (pfd[1].revents)
			return 0;
	}
}

/* Waits until fd is readable: 1 when vhu_dev_stop() was called, 0 when readable, or -errno. */
static int wait_readable(struct vhu_dev *dev, int fd)
{
	return vhu_wait_fd(dev->stop_fd, fd, POLLIN);
}

/* 0: the frontend left; 1: stopped; <0: error or protocol violation. */
static int serve_conn(struct vhu_dev *dev)
{
	_cleanup_free_ struct vhu_msg *msg = malloc(sizeof(*msg));
	int r;

	if (!msg)
		return -ENOMEM;
	for (;;) {
		r = wait_readable(dev, dev->conn_fd);
		if (r != 0)
			return r;
		r = recv_msg(dev->conn_fd, msg);
		if (r == 0) {
			log_info("vhost-user: frontend disconnected");
			return 0;
		}
		if (r > 0)
			r = vhu_msg_dispatch(dev, msg);
		close_msg_fds(msg);
		if (r == 0 && msg->has_reply)
			r = send_reply(dev->conn_fd, msg);
		if (r < 0) {
			log_ratelimited(LOG_LEVEL_ERROR,
					"vhost-user: dropping the frontend connection: %s",
					strerror(-r));
			return r;
		}
	}
}

/* After a frontend: nothing of its session survives. */
static void session_end(struct vhu_dev *dev)
{
	struct gmem_table *old;

	vhu_state_cancel(dev);
	vhu_dev_reset_rings(dev);
	pthread_mutex_lock(&dev->mem_lock);
	old = TAKE_PTR(dev->mem);
	pthread_mutex_unlock(&dev->mem_lock);
	gmem_table_unref(old);
	vhu_shmem_session_end(dev);
	dev->conn_fd = safe_close(dev->conn_fd);
	dev->features = 0;
	dev->protocol_features = 0;
	vhu_log_session_end(dev);
}

int vhu_dev_serve(struct vhu_dev *dev, int listen_fd)
{
	for (;;) {
		int r = wait_readable(dev, listen_fd);

		if (r != 0)
			return r > 0 ? 0 : r;
		dev->conn_fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (dev->conn_fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return -errno;
		}
		log_info("vhost-user: frontend connected");
		r = serve_conn(dev);
		session_end(dev);
		if (r > 0)
			return 0;
		if (!dev->cfg.keep_serving)
			return r;
	}
}

void vhu_dev_stop(struct vhu_dev *dev)
{
	uint64_t one = 1;
	int saved = errno;

	/* Only write(2): callable from a signal handler. */
	(void)!write(dev->stop_fd, &one, sizeof(one));
	errno = saved;
}

/* QEMU turns all regions into one PCI BAR: page multiples summing to a power of two. */
static bool vhu_shm_sizes_valid(uint64_t s0, uint64_t s1)
{
	uint64_t sum = s0 + s1;

	if (!sum)
		return true;
	return s0 % 4096 == 0 && s1 % 4096 == 0 && sum >= s0 && !(sum & (sum - 1));
}

int vhu_dev_new(const struct vhu_config *cfg, const struct vhu_callbacks *cb, void *opaque,
		struct vhu_dev **ret)
{
	unsigned nreq = cfg->max_request_queues ? cfg->max_request_queues : 1;
	struct vhu_dev *dev;
	int err;

	if (!cb->handle || !cb->reset || nreq >= VHU_MAX_QUEUES ||
	    cfg->thread_pool_size > VHU_MAX_THREADS ||
	    !vhu_shm_sizes_valid(cfg->shm_size, cfg->shm1_size))
		return -EINVAL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->cfg = *cfg;
	dev->cb = *cb;
	dev->opaque = opaque;
	dev->conn_fd = dev->backend_fd = dev->log_fd = -1;
	dev->xfer.fd = dev->xfer.abort_fd = -1;
	pthread_mutex_init(&dev->mem_lock, NULL);
	pthread_rwlock_init(&dev->log_lock, NULL);
	pthread_mutex_init(&dev->backend_lock, NULL);
	pthread_mutex_init(&dev->shm_lock, NULL);
	dev->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	dev->backend_abort = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	dev->queues = calloc(1 + nreq, sizeof(dev->queues[0]));
	if (dev->stop_fd < 0 || dev->backend_abort < 0 || !dev->queues) {
		err = dev->stop_fd < 0 || dev->backend_abort < 0 ? -errno : -ENOMEM;
		goto fail;
	}
	for (; dev->nqueues < 1 + nreq; dev->nqueues++) {
		err = vhu_queue_init(&dev->queues[dev->nqueues], dev, dev->nqueues);
		if (err < 0)
			goto fail;
	}
	if (cfg->thread_pool_size) {
		err = vhu_pool_new(dev, cfg->thread_pool_size, &dev->pool);
		if (err < 0)
			goto fail;
	}
	*ret = dev;
	return 0;
fail:
	vhu_dev_free(dev);
	return err;
}

void vhu_dev_free(struct vhu_dev *dev)
{
	if (!dev)
		return;
	vhu_state_cancel(dev);
	safe_close(dev->xfer.abort_fd);
	for (unsigned i = 0; i < dev->nqueues; i++)
		vhu_queue_destroy(&dev->queues[i]);
	vhu_pool_free(dev->pool);
	free(dev->queues);
	gmem_table_unref(dev->mem);
	vhu_log_session_end(dev);
	pthread_rwlock_destroy(&dev->log_lock);
	safe_close(dev->backend_fd);
	safe_close(dev->backend_abort);
	safe_close(dev->conn_fd);
	safe_close(dev->stop_fd);
	free(dev->shm_maps);
	free(dev->skipped);
	pthread_mutex_destroy(&dev->mem_lock);
	pthread_mutex_destroy(&dev->backend_lock);
	pthread_mutex_destroy(&dev->shm_lock);
	free(dev);
}
