/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Split virtqueue (virtio 1.x, little-endian): walking descriptor chains into iovecs, putting
 * finished chains in the used ring, deciding when the guest needs an interrupt.
 *
 * Everything in the ring is written by the guest and is hostile. Each guest field is read once
 * into a local before it is checked (the guest may change it under us), every address goes
 * through gmem, and any malformed chain latches the queue broken: it is never processed again
 * until the frontend reconfigures it. Nothing here dereferences memory outside the mapped
 * regions.
 *
 * Threads: the pop side (vq_pop, vq_*_notify) belongs to one worker thread; the push side
 * (vq_push, vq_notify) may be used from any thread under the owner's per-queue lock. The two
 * sides share no fields except through guest memory, ordered by acquire/release.
 */
#ifndef VFSD_TRANSPORT_VIRTQ_H
#define VFSD_TRANSPORT_VIRTQ_H

#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "transport/gmem.h"

#define VQ_MAX_SIZE 32768u
/* Limit on iovecs per chain, and on entries per indirect table. */
#define VQ_MAX_IOV 1024u

struct vq {
	unsigned index; /* for log lines */
	unsigned num;	/* queue size, a power of two; 0 = not configured */
	bool event_idx; /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;	/* VIRTIO_RING_F_INDIRECT_DESC negotiated */

	/* Host addresses of the rings (NULL until vq_map()). */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;

	/* Pop side. */
	uint16_t last_avail_idx;
	bool broken;

	/* Push side. */
	uint16_t used_idx;
	uint16_t signalled_used; /* used_idx at the last interrupt */
	bool signalled_used_valid;
	int call_fd; /* eventfd, -1: no interrupts */
	int err_fd;  /* eventfd, -1: none */
	/* Dirty logging of used-ring writes (SET_VRING_ADDR with VHOST_VRING_F_LOG): the used
	 * ring's guest-physical address. Logged by the owner (vhu_log.c), not here. */
	bool log_used;
	uint64_t log_addr;
};

/* A chain popped from the ring: readable iovecs first, then writable ones. */
struct vq_chain {
	uint16_t head;
	unsigned nrd;
	unsigned nwr;
	uint64_t wr_len; /* total writable bytes */
	struct iovec iov[VQ_MAX_IOV];
};

void vq_init(struct vq *vq, unsigned index);
/* A power of two in [1, VQ_MAX_SIZE]. */
bool vq_size_valid(uint64_t num);

/*
 * Translates the ring addresses (frontend-virtual, as in SET_VRING_ADDR) through t; checks
 * that each whole ring is mapped and aligned. Needs vq->num set. Returns 0, -EFAULT, -EINVAL.
 * On failure the rings are left unmapped.
 */
int vq_map(struct vq *vq, const struct gmem_table *t, uint64_t desc_uva, uint64_t avail_uva,
	   uint64_t used_uva);
void vq_unmap(struct vq *vq);
/* Starts processing a mapped ring: picks up the used index and clears the broken latch. */
void vq_start(struct vq *vq);

/*
 * Pops the next chain, translated through t, into *c. Returns 1 with a chain, 0 if the ring is
 * empty, -EBADMSG if this chain was malformed and the queue just became broken (the caller
 * signals err_fd), -EIO if the queue is (already) broken or unmapped.
 */
int vq_pop(struct vq *vq, const struct gmem_table *t, struct vq_chain *c);
/* Gives the last popped chain back (we could not take it after all). */
void vq_unpop(struct vq *vq);
/* Latches broken and logs why (rate limited). Returns -EBADMSG for the first time, else -EIO. */
int vq_mark_broken(struct vq *vq, const char *why);

/* While popping: ask the guest not to kick (it is a hint). */
void vq_disable_notify(struct vq *vq);
/* The same after vq_enable_notify(), also with EVENT_IDX: for watching the ring instead. */
void vq_suppress_notify(struct vq *vq);
/* Whether the guest has published buffers not popped yet (a hint: vq_pop() decides). */
bool vq_avail_pending(const struct vq *vq);
/*
 * Re-enables kicks, then re-checks the ring: returns true if buffers arrived meanwhile, in
 * which case the caller must pop again (a kick for them may have been suppressed).
 */
bool vq_enable_notify(struct vq *vq);

/* Puts (head, len) in the used ring and publishes it. */
void vq_push(struct vq *vq, uint16_t head, uint32_t len);
/* Whether the guest wants an interrupt for what was pushed since the last one. */
bool vq_should_notify(struct vq *vq);
/* Signals call_fd if vq_should_notify(). */
void vq_notify(struct vq *vq);

#endif
