/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Lock waiters: threads that sleep in a blocking lock call on behalf of a request the protocol
 * layer answered FUSE_DEFERRED, so a queue thread never waits for a lock. The service knows
 * nothing of the call or the reply: the caller gives a function that makes the blocking call
 * and one that answers the request, and identifies the request by its unique id, which is all
 * INTERRUPT carries.
 *
 * A waiter is woken by SIGRTMIN, whose handler (installed once by fuse_lock_wait_init) does
 * nothing and has no SA_RESTART, so the blocking call fails with EINTR. Waiters start with every
 * other signal blocked. The rest of the daemon must not use SIGRTMIN.
 *
 * Lock order: the service's lock is innermost; it is taken under the FUSE session lock (by
 * INTERRUPT, INIT, DESTROY and reset) and never held across the blocking call or the answer.
 */
#ifndef VFSD_FUSE_LOCK_WAIT_H
#define VFSD_FUSE_LOCK_WAIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* At most this many requests wait at once; more get ENOLCK. */
#define FUSE_MAX_LOCK_WAITERS 64u

struct fuse_lock_waiter;

struct fuse_lock_wait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct fuse_lock_waiter *active;   /* blocked in the backend; guarded by lock */
	struct fuse_lock_waiter *finished; /* exited, not yet joined; guarded by lock */
	unsigned count;			   /* active + finished; guarded by lock */
	/* INTERRUPTs that found no waiter yet (the lock request may still be on its way). */
	uint64_t early_interrupts[16];
	bool early_valid[16];
	unsigned early_next;
};

/*
 * wait(arg) makes the blocking call on the waiter's thread and returns 0 or -errno; it is not
 * called (the result is -EINTR) when the request was interrupted or cancelled first.
 * answer(arg, r, reset) then answers the request with result r, or, when `reset` (the session is
 * ending), completes it without a reply; it owns arg from then on.
 */
typedef int (*fuse_lock_wait_fn)(void *arg);
typedef void (*fuse_lock_answer_fn)(void *arg, int r, bool reset);

int fuse_lock_wait_init(struct fuse_lock_wait *lw);
void fuse_lock_wait_done(struct fuse_lock_wait *lw);

/*
 * Hands request `unique` to a new waiter thread. 0: the waiter owns arg and calls wait() then
 * answer(). -EINTR: an INTERRUPT for it came first; -ENOLCK: too many waiters or no thread. On
 * error arg stays the caller's.
 */
int fuse_lock_wait_start(struct fuse_lock_wait *lw, uint64_t unique, fuse_lock_wait_fn wait,
			 fuse_lock_answer_fn answer, void *arg);

/* INTERRUPT: wakes the waiter of `unique` (its blocking call fails with EINTR, or is not made),
 * or remembers the id for a request still on its way. Best effort, bounded. */
void fuse_lock_wait_interrupt(struct fuse_lock_wait *lw, uint64_t unique);

/* Rings stopping (GET_VRING_BASE): wakes every waiter and waits until each has answered its
 * request, EINTR unless its call had already finished. */
void fuse_lock_wait_interrupt_all(struct fuse_lock_wait *lw);

/* Session end: wakes every waiter and waits for each to complete its request (no reply). */
void fuse_lock_wait_cancel_all(struct fuse_lock_wait *lw);

#endif
