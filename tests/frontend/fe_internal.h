/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Private state of the test frontend, shared by frontend.c (connection and negotiation),
 * fe_ring.c (guest memory and virtqueues) and fe_fuse*.c (FUSE session).
 */
#ifndef VFSD_TESTS_FE_INTERNAL_H
#define VFSD_TESTS_FE_INTERNAL_H

#include <linux/fuse.h>
#include <pthread.h>

#include "frontend.h"

#define FE_GPA_BASE   0x40000000ull
#define FE_ALLOC_UNIT 64u
#define FE_MAX_QUEUES 17

struct fe_slot {
	bool busy;
	void *cookie;
	uint64_t in_gpa, out_gpa, ind_gpa;
	size_t in_len, out_len, ind_len;
	struct iovec *out;
	int nout;
	unsigned ndesc;
};

struct fe_vq {
	unsigned num;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	int kick_fd, call_fd;
	uint16_t avail_idx; /* next avail index we publish */
	uint16_t base;	    /* where the daemon resumes (GET_VRING_BASE), 0 for a fresh ring */
	uint16_t last_used;
	uint16_t *free_desc;
	unsigned nfree;
	struct fe_slot *slots;	    /* by head descriptor index */
	struct fe_completion *done; /* completions seen by fe_wait() not yet reaped */
	unsigned ndone;
	unsigned inflight;
	unsigned kicks;	 /* kick_fd writes so far */
	bool hold_kicks; /* fe_hold_kicks(): publish without kicking */
	bool kick_owed;
};

struct fe_region {
	uint64_t gpa, size, offset;
	uint8_t *host;
};

struct fe_dax;

struct fe {
	struct fe_options opts;
	int sock;
	/* Held from sending a message to reading its reply: the DAX thread sends memory-table
	 * updates on the same socket. */
	pthread_mutex_t sock_lock;
	int backend_fd; /* our end of the backend channel */
	int backend_peer;
	uint64_t features, protocol_features, protocol_offered, queue_num;
	uint64_t state_check; /* CHECK_DEVICE_STATE answer of opts.incoming_state */
	struct fe_dax *dax;   /* with opts.dax (fe_dax.c) */

	int memfd;
	size_t mem_size;
	struct fe_region regions[2];
	unsigned nregions;
	uint64_t *bitmap; /* one bit per FE_ALLOC_UNIT */
	size_t nunits;
	size_t alloc_hint;

	struct fe_vq vq[FE_MAX_QUEUES];
	unsigned nqueues;
	unsigned missed_calls;

	/* FUSE session (fe_fuse.c). */
	uint64_t unique;
	uint32_t uid, gid, pid;
	unsigned fuse_queue;
	int fuse_timeout_ms;
	uint32_t fuse_minor;
	struct fuse_init_out init_out;

	/* Dirty log (fe_log.c). */
	uint8_t *log;
	size_t log_size;
};

int fe_ring_setup(struct fe *fe);
void fe_ring_teardown(struct fe *fe);
/* Rings empty again, as a driver re-initialises them after a device reset. */
void fe_ring_reset(struct fe *fe);
int fe_mem_create(struct fe *fe);
int fe_read_full(int fd, void *buf, size_t len, int timeout_ms);

/* fe_dax.c. After negotiation: GET_CONFIG and GET_SHMEM_CONFIG as negotiated, the window, the
 * backend-channel thread. */
int fe_dax_negotiate(struct fe *fe);
int fe_dax_start(struct fe *fe);
/* The device was reset: drop every map (REM_MEM_REG for each) as QEMU does. */
int fe_dax_reset(struct fe *fe);
void fe_dax_free(struct fe *fe);

/* fe_state.c: the destination's load during negotiate(). */
int fe_state_incoming(struct fe *fe, const void *buf, size_t len);

#endif
