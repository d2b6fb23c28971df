/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test harness for the FUSE server: a mock backend that records each call and returns canned
 * results, a null backend (no ops at all), and helpers that build requests in a buffer and hand
 * them to the server split across many iovecs at odd boundaries.
 */
#ifndef VFSD_TESTS_FUSE_HARNESS_H
#define VFSD_TESTS_FUSE_HARNESS_H

#include <limits.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "fs/ops.h"
#include "fuse/fuse_server.h"

struct mock {
	pthread_mutex_t lock;
	char op[32]; /* last op called */
	unsigned calls;
	uint64_t nodeid, nodeid2, fh, fh2, owner;
	off_t off, off2, len;
	size_t size;
	char name[1100], name2[1100], target[PATH_MAX + 8];
	mode_t mode, umask;
	dev_t rdev;
	int flags, whence, flock_op, mask;
	unsigned uflags;
	bool has_fh, sleep, datasync, plus;
	struct fs_setattr sa;
	struct fs_lock lk;
	uint32_t write_flags;
	struct fs_ctx ctx;
	gid_t groups[64];
	struct fs_init_info init_info;
	int init_calls, destroy_calls, forget_calls, flush_calls, flock_calls, release_calls;
	uint64_t forget_sum;

	int ret; /* result of the next op (reset to 0 by mock_reset) */
	struct fs_entry entry;
	uint8_t data[1 << 16]; /* read source / write sink / xattr value */
	size_t data_len;
	unsigned dir_entries; /* readdir produces this many entries */
	unsigned dir_filled;
	bool dir_enospc;
	int lock_efd;	     /* setlk(sleep=true) waits on this eventfd (0 = acquired) */
	bool setlk_conflict; /* setlk(sleep=false) returns -EAGAIN */
	int lock_result;     /* result of the blocking wait when woken by the eventfd */
};

extern struct mock mock;
extern const struct fs_ops mock_ops;
extern struct fs_backend mock_backend;
extern struct fs_backend null_backend;

void mock_reset(void);

/* complete() records. */
extern pthread_mutex_t done_lock;
extern pthread_cond_t done_cond;
extern unsigned done_count;
extern size_t done_written;
extern void *done_cookie;
void test_complete(void *cookie, size_t written);
/* Waits up to ~2 s for done_count to reach n. */
bool wait_done(unsigned n);

struct rq {
	uint8_t buf[1 << 21];
	size_t len;
};

void rq_init(struct rq *q, uint32_t opcode, uint64_t nodeid, uint64_t unique);
void rq_add(struct rq *q, const void *p, size_t n);
void rq_str(struct rq *q, const char *s);
/* Sets in_header.len to the bytes built so far. */
void rq_fix_len(struct rq *q);

struct reply {
	enum fuse_handled handled;
	size_t written;
	struct fuse_out_header oh;
	uint8_t data[1 << 21];
	size_t dlen;
	int slot; /* out buffer used, for deferred replies */
};

enum split_mode {
	SPLIT_ONE,   /* one iovec */
	SPLIT_ODD,   /* tiny pieces of odd sizes, zero-length ones too */
	SPLIT_PAGES, /* an odd first piece, then pages */
};
extern enum split_mode split_mode;

/* Sends q (len fixed up) with `room` bytes of reply space; returns rep->written. */
size_t send_rq(struct fuse_server *srv, struct rq *q, size_t room, struct reply *rep);
/* Sends raw bytes as they are (no len fix-up). */
size_t send_raw(struct fuse_server *srv, const void *buf, size_t len, size_t room,
		struct reply *rep);
/* Keeps the out iovecs valid for a deferred reply; gathers them into rep on demand. */
void gather_deferred(struct reply *rep);

struct fuse_server *new_server(const struct fuse_server_config *cfg);
/* INIT 7.<minor> with the given flags (and flags2 when ext); returns the reply error. */
int do_init(struct fuse_server *srv, uint32_t minor, uint64_t flags, bool ext,
	    struct fuse_init_out *ret);

extern struct reply rep;
extern struct rq rq;

#endif
