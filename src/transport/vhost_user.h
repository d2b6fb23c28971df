/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vhost-user backend for a virtio-fs device: the UNIX socket, the frontend's messages, guest
 * memory, the virtqueues and the worker threads that pop requests from them. It knows nothing
 * of FUSE: a request is a pair of iovec arrays (device-readable, device-writable) into guest
 * memory, every one of them already bounds-checked against a single mapped memory region.
 *
 * Trust: the frontend (QEMU) is trusted to follow the vhost-user protocol, but every message is
 * still checked (size, queue index, fds): a violation drops the connection. Everything in guest
 * memory (rings, descriptors, buffers) is hostile: a malformed descriptor chain marks that
 * queue broken (logged once, VRING_ERR signalled), never a crash, never an access outside the
 * guest's memory.
 */
#ifndef VFSD_TRANSPORT_VHOST_USER_H
#define VFSD_TRANSPORT_VHOST_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct vhu_dev;

/* One request popped from a virtqueue. The iovecs stay valid until vhu_req_done(). */
struct vhu_req {
	const struct iovec *rd; /* device-readable part (the FUSE request) */
	unsigned nrd;
	const struct iovec *wr; /* device-writable part (room for the reply) */
	unsigned nwr;
	unsigned queue; /* virtqueue index: 0 = hiprio, 1.. = request queues */
};

/*
 * Finishes a request: `written` bytes of reply were stored in req->wr. Puts the chain in the
 * used ring and notifies the guest (subject to EVENT_IDX). Call exactly once per request, from
 * any thread. A request finished after its queue was stopped or reset is dropped safely.
 */
void vhu_req_done(struct vhu_req *req, size_t written);

struct vhu_callbacks {
	/* Serves one request, on a worker thread; must end (now or later) in vhu_req_done(). */
	void (*handle)(void *opaque, struct vhu_req *req);
	/* The device was reset (RESET_DEVICE/RESET_OWNER) or the frontend left: drop all
	 * session state. Called with no handle() in flight. Not called when rings are merely
	 * stopped (GET_VRING_BASE: VM pause, migration, guest reboot) nor on memory table
	 * changes: a reboot shows up as a new FUSE_INIT. Requests still deferred when rings stop
	 * may be completed later; those completions are dropped. */
	void (*reset)(void *opaque);
};

struct vhu_config {
	const char *tag;	     /* virtio-fs tag, for GET_CONFIG when offered */
	unsigned max_request_queues; /* GET_QUEUE_NUM answers 1 + this */
	unsigned thread_pool_size;   /* 0: serve each queue inline on its own thread */
	bool keep_serving;	     /* after a disconnect, accept the next frontend */
};

/*
 * Creates and listens on a UNIX socket at path (mode 0600). "<path>.pid" is created and locked
 * for the daemon's lifetime (*ret_lock_fd; keep it open, remove the file at exit): a path whose
 * lock a live daemon holds is refused with -EADDRINUSE, a socket file nobody holds is stale and
 * replaced, and a non-socket file at path is refused with -EEXIST. Returns the listening fd or
 * -errno.
 */
int vhu_listen_path(const char *path, int *ret_lock_fd);

int vhu_dev_new(const struct vhu_config *cfg, const struct vhu_callbacks *cb, void *opaque,
		struct vhu_dev **ret);
void vhu_dev_free(struct vhu_dev *dev);

/*
 * Accepts a frontend on listen_fd and serves it until it disconnects (or, with keep_serving,
 * until vhu_dev_stop()). Returns 0 after a clean end, -errno on a fatal error.
 */
int vhu_dev_serve(struct vhu_dev *dev, int listen_fd);

/* Asks vhu_dev_serve() to return. Async-signal-safe. */
void vhu_dev_stop(struct vhu_dev *dev);

#endif
