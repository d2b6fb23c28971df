/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A vhost-user frontend ("fake guest") for tests: it plays the VMM and the guest driver of a
 * vhost-user-fs device against a real daemon socket. Guest memory is a memfd mapped MAP_SHARED in
 * this process and handed to the daemon with SET_MEM_TABLE (or ADD_MEM_REG); rings and request
 * buffers are carved out of it by a small allocator. Guest physical addresses (GPAs, used in
 * descriptors) differ from our mapping addresses (UVAs, used in SET_VRING_ADDR), as with QEMU.
 *
 * Trust: the daemon is the thing under test. Nothing it writes into guest memory or sends on the
 * socket is trusted: used ids, lengths and reply sizes are checked before use, and every wait is
 * bounded by a timeout. Errors are 0 / -errno; FE_ETIMEDOUT-style transport failures are ordinary
 * negative errnos (-ETIMEDOUT, -EPROTO, -ECONNRESET).
 *
 * Queue 0 is hiprio, queues 1..N are request queues (no notification queue).
 *
 * With fe_options.dax it is also the VMM side of a DAX cache window, as QEMU 11.1's
 * vhost-user-test-device-pci implements it (fe_dax.c): CONFIG and SHMEM negotiated, the window
 * sized by GET_SHMEM_CONFIG and reserved in our address space at a guest-physical address above
 * guest RAM, and a thread serving SHMEM_MAP / SHMEM_UNMAP on the backend channel with QEMU's
 * checks, each map followed by ADD_MEM_REG (each unmap by REM_MEM_REG) on the frontend socket.
 */
#ifndef VFSD_TESTS_FRONTEND_H
#define VFSD_TESTS_FRONTEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <linux/virtio_ring.h>

#include "vhost_user_proto.h"

struct fe;

/*
 * Returned (negated) when the daemon's answer is malformed: a used element that is not in
 * flight, a reply whose length or unique does not match. Outside the errno range, so it never
 * collides with an error the daemon sends in out_header.error.
 */
#define FE_EBADREPLY 4200

struct fe_options {
	size_t mem_size;	     /* guest memory, default 64 MiB */
	unsigned mem_regions;	     /* 1 (default) or 2; with 2, GPAs stay contiguous */
	bool straddle;		     /* place request buffers across the region boundary */
	bool mem_add_reg;	     /* use ADD_MEM_REG instead of SET_MEM_TABLE if offered */
	unsigned num_request_queues; /* default 1 */
	unsigned queue_size;	     /* power of two, default 128 */
	uint64_t features;	     /* virtio features to ack; 0 = VERSION_1|INDIRECT|EVENT_IDX */
	uint64_t protocol_features;  /* protocol features wanted; 0 = default set */
	bool split_descs;	     /* split each buffer over several odd-sized descriptors */
	bool indirect;		     /* put each chain in an indirect table */
	bool connect_only;	     /* connect and create memory, negotiate nothing */
	int timeout_ms;		     /* socket reply timeout, default 5000 */
	/* Be a DAX-capable VMM: the default protocol features add CONFIG, SHMEM and
	 * RESET_DEVICE; GET_CONFIG and GET_SHMEM_CONFIG are asked when negotiated, a window of
	 * the size answered is reserved and the backend channel is served. */
	bool dax;
	/* Be a guest whose data already lives in its memory (page cache pages): an iovec whose
	 * iov_base is NULL is room in guest memory that fe_submit() neither fills nor copies
	 * back, and writable room is not poisoned. For benchmarks; tests want the checks. */
	bool bulk_in_place;
	/* Be a migration's destination (needs DEVICE_STATE in protocol_features): after
	 * SET_OWNER, RESET_DEVICE (when negotiated), then this state loaded with
	 * SET_DEVICE_STATE_FD and CHECK_DEVICE_STATE, then features, memory and rings, as QEMU
	 * 11.1 does. fe_state_check() gives the CHECK answer; the connection stands either way.
	 */
	const void *incoming_state;
	size_t incoming_len;
};

/* Defaults for everything zero in *opts (opts may be NULL). */
void fe_options_default(struct fe_options *opts);

int fe_connect(const char *path, const struct fe_options *opts, struct fe **ret);
/* Stop every ring with GET_VRING_BASE (as QEMU does when the VM stops). */
int fe_stop(struct fe *fe);
/* Start them again where the daemon stopped (a VM resumed). Requests the daemon popped but
 * did not complete before the stop stay in flight here: abandon them. */
int fe_resume(struct fe *fe);
/* Close the socket and free everything (NULL-safe). */
void fe_free(struct fe *fe);

unsigned fe_num_queues(const struct fe *fe);
uint64_t fe_features(const struct fe *fe);	    /* acked virtio features */
uint64_t fe_protocol_features(const struct fe *fe); /* negotiated protocol features */
uint64_t fe_protocol_offered(const struct fe *fe);  /* GET_PROTOCOL_FEATURES answer */
uint64_t fe_queue_num(const struct fe *fe);	    /* GET_QUEUE_NUM answer (0 without MQ) */
int fe_socket_fd(const struct fe *fe);
int fe_backend_fd(const struct fe *fe); /* our end of the backend channel, or -1 */
/* Calls the daemon made on a ring we had to find by polling: notification bugs. */
unsigned fe_missed_calls(const struct fe *fe);
/* Kicks sent on a queue so far: publishing skips them when the daemon suppressed them. */
unsigned fe_kicks(const struct fe *fe, unsigned queue);
/* While held, requests are published without their kicks; releasing sends one if owed. */
void fe_hold_kicks(struct fe *fe, unsigned queue, bool hold);

/* Per-request layout switches, changeable between requests. */
void fe_set_layout(struct fe *fe, bool split_descs, bool indirect);

/*
 * Synchronous request: copy in[] into guest memory, chain it (readable) followed by writable
 * buffers as large as out[], publish, kick, wait for the used element and copy *ret_len bytes
 * of reply back into out[]. nout may be 0 (FORGET-style requests).
 */
int fe_request(struct fe *fe, unsigned queue, const struct iovec *in, int nin, struct iovec *out,
	       int nout, uint32_t *ret_len, int timeout_ms);

/*
 * Asynchronous requests. fe_submit() publishes a request (out[] must stay valid until it is
 * reaped; the iovec array itself is copied); -EAGAIN when the ring or memory is full.
 * fe_reap() waits up to timeout_ms for at least one completion on the queue and returns how many
 * it stored (0 on timeout). A completion carries the submitter's cookie and the used length; the
 * reply has already been copied into out[].
 */
struct fe_completion {
	void *cookie;
	uint32_t len;
};
int fe_submit(struct fe *fe, unsigned queue, const struct iovec *in, int nin,
	      const struct iovec *out, int nout, void *cookie);
int fe_reap(struct fe *fe, unsigned queue, struct fe_completion *c, int max, int timeout_ms);
/* Wait for the completion of one cookie, keeping others for later fe_reap() calls. */
int fe_wait(struct fe *fe, unsigned queue, void *cookie, uint32_t *ret_len, int timeout_ms);
unsigned fe_inflight(const struct fe *fe, unsigned queue);
/* Wait until one of the queues [q0, q0 + nq) has a completion for fe_reap(), at most timeout_ms:
 * 0, -ETIMEDOUT, or another negative errno. */
int fe_wait_any(struct fe *fe, unsigned q0, unsigned nq, int timeout_ms);
/* Forget the waiter of a request that timed out: its reply will not be copied anywhere. */
void fe_abandon(struct fe *fe, unsigned queue, void *cookie);

/* Guest memory. */
int fe_mem_alloc(struct fe *fe, size_t len, uint64_t *ret_gpa);
void fe_mem_free(struct fe *fe, uint64_t gpa, size_t len);
/* Host pointer for [gpa, gpa+len) if it lies inside one region, else NULL. */
void *fe_gpa_ptr(struct fe *fe, uint64_t gpa, size_t len);
int fe_mem_write(struct fe *fe, uint64_t gpa, const void *src, size_t len);
int fe_mem_read(struct fe *fe, uint64_t gpa, void *dst, size_t len);
uint64_t fe_region_boundary(const struct fe *fe); /* GPA where region 1 starts, 0 if one */

/*
 * Raw ring access for hostile tests. Do not mix with fe_request()/fe_submit() on the same queue
 * while those have requests in flight: descriptors written here are not tracked.
 */
struct vring_desc *fe_vq_desc_table(struct fe *fe, unsigned queue);
/* Put head into the next avail slot, publish the index (release) and kick. */
void fe_vq_raw_publish(struct fe *fe, unsigned queue, uint16_t head);
void fe_vq_kick(struct fe *fe, unsigned queue);
/* Store avail->idx as given (no ring entry written), remember it as ours, and kick. */
void fe_vq_raw_set_avail_idx(struct fe *fe, unsigned queue, uint16_t idx);
/* The used index the daemon last published (acquire). */
uint16_t fe_vq_used_idx(struct fe *fe, unsigned queue);
/* Wait for the next used element; -ETIMEDOUT if none arrives. */
int fe_vq_raw_wait(struct fe *fe, unsigned queue, struct vring_used_elem *ret, int timeout_ms);

/*
 * Raw vhost-user messages. fe_vhu_send() sends header (+flags version 1 added if flags==0 is not
 * wanted: the caller gives the full flags) and payload with fds; fe_vhu_recv() reads one message.
 * fe_vhu_call() sends a message, asks for an ack when REPLY_ACK is negotiated and the message has
 * no reply of its own, and reads the reply u64 (GET_*) or checks the ack.
 */
int fe_vhu_send(struct fe *fe, uint32_t request, uint32_t flags, const void *payload, uint32_t size,
		const int *fds, int nfds);
int fe_vhu_send_bytes(struct fe *fe, const void *buf, size_t len, const int *fds, int nfds);
int fe_vhu_recv(struct fe *fe, struct vhu_hdr *ret_hdr, void *payload, size_t max, int timeout_ms);
int fe_vhu_call(struct fe *fe, uint32_t request, const void *payload, uint32_t size, const int *fds,
		int nfds, uint64_t *ret_u64);
/*
 * A request whose reply is a payload of its own (GET_CONFIG, GET_SHMEM_CONFIG): sends it and
 * stores up to max bytes of the reply's payload; *ret_size is its size. -EMSGSIZE if larger.
 * fe_vhu_call() and this hold the socket's lock from send to reply, so the backend-channel
 * thread's memory-table updates never interleave with them.
 */
int fe_vhu_query(struct fe *fe, uint32_t request, const void *payload, uint32_t size, void *reply,
		 size_t max, uint32_t *ret_size);

/*
 * Dirty logging, as QEMU starts and stops it around a migration (fe_log.c). Needs LOG_SHMFD in
 * opts.protocol_features. fe_log_start(): a memfd of size bytes (0: just enough for guest
 * memory), SET_LOG_BASE, SET_FEATURES with LOG_ALL, SET_VRING_ADDR with VHOST_VRING_F_LOG and
 * the used ring's GPA on every queue. fe_log_stop() undoes the last two (the log stays mapped).
 * fe_log_bitmap() is our view of the log; fe_log_clear() zeroes it.
 */
int fe_log_start(struct fe *fe, size_t size);
int fe_log_stop(struct fe *fe);
/* SET_LOG_BASE alone, with any fd, size and offset (hostile tests). */
int fe_log_set_base(struct fe *fe, int fd, uint64_t size, uint64_t offset);
/* Bytes of log that cover guest memory. */
size_t fe_log_size_needed(const struct fe *fe);
const volatile uint8_t *fe_log_bitmap(const struct fe *fe, size_t *ret_size);
void fe_log_clear(struct fe *fe);
uint64_t fe_vq_used_gpa(const struct fe *fe, unsigned queue);
uint16_t fe_vq_num(const struct fe *fe, unsigned queue);

/*
 * Device state (fe_state.c), as QEMU moves it: fe_state_save() sends SET_DEVICE_STATE_FD(SAVE,
 * STOPPED) with a pipe's write end, reads the pipe to EOF into *ret_buf (malloc'd) and sends
 * CHECK_DEVICE_STATE, whose answer goes to *ret_check (0: success). fe_state_load() does the
 * same with LOAD, writing buf into the pipe. Both return 0 when the messages went through
 * (whatever the daemon answered: *ret_set is the SET reply), -errno otherwise.
 */
int fe_state_save(struct fe *fe, void **ret_buf, size_t *ret_len, uint64_t *ret_set,
		  uint64_t *ret_check);
int fe_state_load(struct fe *fe, const void *buf, size_t len, uint64_t *ret_set,
		  uint64_t *ret_check);
/* The CHECK_DEVICE_STATE answer of opts.incoming_state (~0: none was sent). */
uint64_t fe_state_check(const struct fe *fe);

/*
 * RESET_DEVICE (RESET_OWNER without that feature), then what a VMM does around a device reset
 * (after the backend channel settled, unless it is held):
 * the DAX window's maps are dropped by the frontend itself (REM_MEM_REG for each), our rings
 * are re-initialised empty and set up again, enabled. The FUSE session needs a new INIT. No
 * request may be in flight.
 */
int fe_reset_device(struct fe *fe);

/* DAX window (fe_options.dax). */
#define FE_DAX_WINDOW_GPA 0x1000000000ull /* 64 GiB, above any guest RAM here */

/* One live map of the window, as the daemon asked for it. */
struct fe_dax_map {
	uint8_t shmid; /* 0: the window; 1: region 1 (the version table) */
	uint64_t shm_offset, len, fd_offset, flags;
	uint64_t dev, ino; /* of the mapped file */
	int fd;		   /* our own duplicate of it, as QEMU keeps one */
};

struct fe_dax_stats {
	unsigned maps;		 /* SHMEM_MAPs carried out */
	unsigned unmaps;	 /* SHMEM_UNMAPs carried out */
	unsigned refused;	 /* requests answered with a failure (all the reasons below) */
	unsigned overlaps;	 /* maps refused: overlap a live map (QEMU: "mapping overlap") */
	unsigned unmatched;	 /* unmaps naming no live map exactly */
	unsigned empty_files;	 /* maps of a 0-byte file: QEMU would extend it (refused here) */
	unsigned past_eof;	 /* maps reaching past the end of the file */
	unsigned misaligned;	 /* shm_offset, fd_offset or len not a page multiple */
	unsigned bad;		 /* malformed: size, fd count, shmid, out of the window, unknown */
	unsigned memreg_errors;	 /* ADD_MEM_REG / REM_MEM_REG not acked with 0 */
	unsigned stale;		 /* maps found reaching past EOF when unmapped: the file was
				  * cut short while mapped (a guest access would fault) */
	unsigned live, max_live; /* live maps now, and the most ever */
	unsigned received;	 /* requests read from the backend channel */
};

/* The window's size (0: none) and where it is mapped in this process (NULL: none). */
uint64_t fe_dax_window_size(const struct fe *fe);
uint8_t *fe_dax_window(const struct fe *fe);
/* The GET_SHMEM_CONFIG answer (sizes[0..255]) from the connection's negotiation. */
const struct vhu_shmem_config *fe_dax_shmem_config(const struct fe *fe);
/* The virtio-fs config space from GET_CONFIG at negotiation (0 bytes without CONFIG). */
const void *fe_dax_config(const struct fe *fe, uint32_t *ret_size);
/* Copies up to max live maps, ordered by shm_offset; returns how many there are. */
unsigned fe_dax_maps(struct fe *fe, struct fe_dax_map *ret, unsigned max);
void fe_dax_stats(struct fe *fe, struct fe_dax_stats *ret);
/*
 * Waits until the backend-channel thread has answered everything the daemon sent and finished
 * the memory-table update that followed (the daemon's FUSE reply can come first). 0,
 * -ETIMEDOUT, or -EBUSY while held (fe_dax_hold) with a request waiting.
 */
int fe_dax_settle(struct fe *fe, int timeout_ms);
/*
 * While held, the thread reads each request (counted in received) but serves it only once
 * released: a VMM whose main loop is busy elsewhere, e.g. stopping the rings.
 */
void fe_dax_hold(struct fe *fe, bool hold);
/*
 * Copies between buf and window bytes [off, off + len), which must lie entirely inside live
 * maps (-EFAULT otherwise, and for a SIGBUS/SIGSEGV met on the way: a map past the end of its
 * file). Main thread only.
 */
int fe_dax_read(struct fe *fe, uint64_t off, void *buf, size_t len);
int fe_dax_write(struct fe *fe, uint64_t off, const void *buf, size_t len);
/* Shared memory region 1 as the guest sees it, when one map covers all of it (else NULL). */
const volatile uint8_t *fe_shm_region1(struct fe *fe, uint64_t *ret_size);
/* The offset in its fd of the map that covers region 1 (as above), or UINT64_MAX. */
uint64_t fe_shm_region1_fd_offset(struct fe *fe);

#endif
