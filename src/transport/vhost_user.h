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
	 * (without a stop callback) may be completed later; those completions are dropped. */
	void (*reset)(void *opaque);
	/* Optional: a ring is stopping (GET_VRING_BASE) and no handle() is in flight on it.
	 * Must complete every deferred request now (vhu_req_done() from any thread) and return
	 * once they are: the frontend's answer says the ring is idle. */
	void (*stop)(void *opaque);
	/*
	 * Optional, both or neither (then VHOST_USER_PROTOCOL_F_DEVICE_STATE is offered): the
	 * device's state for migration, as bytes the transport only moves (SET_DEVICE_STATE_FD,
	 * CHECK_DEVICE_STATE). Both run on the control thread; the device serializes them with
	 * its requests itself. state_save returns a malloc'd blob (*ret_buf, freed by the
	 * transport) and must leave the device as it was: a failed or cancelled migration
	 * resumes it. state_load replaces the device's state with a blob state_save made
	 * (possibly in another process, possibly hostile: it validates everything); on failure
	 * the device is left as after a reset. 0 or -errno.
	 */
	int (*state_save)(void *opaque, void **ret_buf, size_t *ret_len);
	int (*state_load)(void *opaque, const void *buf, size_t len);
};

/* Largest device state a LOAD accepts (and a SAVE sends), bytes. */
#define VHU_STATE_MAX (256u << 20)

struct vhu_config {
	const char *tag;   /* virtio-fs tag: offer CONFIG and answer GET_CONFIG */
	uint64_t shm_size; /* DAX window size: offer SHMEM (needs tag); 0: none */
	/* Shared memory region 1 (the version table's mirror, docs/coherence.md): a file range
	 * mapped whole by vhu_shmem_attach(); 0: none. Offers SHMEM too. Both sizes are
	 * multiples of 4096 and their sum is a power of two (QEMU makes one PCI BAR of them). */
	uint64_t shm1_size;
	unsigned max_request_queues; /* GET_QUEUE_NUM answers 1 + this */
	/* num_request_queues in GET_CONFIG: it must not exceed the frontend's own queue count
	 * (QEMU's test device has num_vqs of them), which GET_CONFIG cannot know; 0 means 1. */
	unsigned config_request_queues;
	unsigned thread_pool_size; /* 0: serve each queue inline on its own thread */
	/* Without a pool: threads that serve each request queue inline, woken while requests
	 * are waiting (the hiprio queue always has one); 0 means 1. */
	unsigned queue_threads;
	/* Inline queues watch their ring up to this long after going idle before they sleep
	 * (adaptive: shorter after misses); 0: always sleep until kicked. */
	uint64_t poll_max_ns;
	bool keep_serving; /* after a disconnect, accept the next frontend */
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

/*
 * The DAX window: VIRTIO shared memory region 0 of the device. A frontend creates it when it
 * asks GET_SHMEM_CONFIG (QEMU's vhost-user-test-device-pci does; vhost-user-fs-pci has no
 * shared memory and never asks), and only if it also acked CONFIGURE_MEM_SLOTS, BACKEND_REQ and
 * REPLY_ACK: every map becomes a memory region of its own. vhu_shmem_size() is the window's size
 * for this session, 0 when there is none.
 *
 * vhu_shmem_map() asks the frontend to map [fd_offset, fd_offset + len) of fd (a regular file,
 * which the frontend maps shared and read-write whatever `writable` says) at shm_offset;
 * vhu_shmem_unmap() removes exactly one earlier map, named by the same (shm_offset, len). Any
 * thread; requests are serialized and each waits for the frontend's answer while the control
 * thread keeps serving the frontend socket (the memory-table update a map triggers arrives
 * there). The window regions the frontend then adds to the memory table are recognised and
 * never mapped here: a guest cannot make us touch a file through them. Returns 0, -ENODEV (no
 * window), -EIO (the frontend refused), -ECANCELED (device stopped or reset meanwhile: the map
 * may or may not exist) or -errno of the channel.
 */
uint64_t vhu_shmem_size(struct vhu_dev *dev);
int vhu_shmem_map(struct vhu_dev *dev, uint64_t shm_offset, uint64_t len, int fd,
		  uint64_t fd_offset, bool writable);
int vhu_shmem_unmap(struct vhu_dev *dev, uint64_t shm_offset, uint64_t len);

/*
 * Shared memory region 1 (cfg.shm1_size): maps [fd_offset, fd_offset + len) of fd, a regular
 * file, over the whole region (len must be shm1_size), unless the frontend already has it
 * this device session (it drops it on a reset or disconnect: call again at session start).
 * Same threads and errors as vhu_shmem_map(); -ENODEV when the frontend made no region 1.
 */
int vhu_shmem_attach(struct vhu_dev *dev, int fd, uint64_t fd_offset, uint64_t len);

/* Asks vhu_dev_serve() to return. Async-signal-safe. */
void vhu_dev_stop(struct vhu_dev *dev);

#endif
