// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Lock waiters (lock_wait.h). A waiter is a thread per deferred request; finished waiters are
 * joined (reaped) by the next fuse_lock_wait_start() or by fuse_lock_wait_cancel_all(). INTERRUPT
 * and reset wake a waiter with SIGRTMIN.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "fuse/lock_wait.h"
#include "util/clock.h"
#include "util/macros.h"

enum waiter_cancel {
	WAITER_RUN = 0,
	WAITER_INTERRUPT, /* the guest gave up: reply EINTR */
	WAITER_RESET,	  /* the session is ending: complete without a reply */
};

struct fuse_lock_waiter {
	struct fuse_lock_waiter *next;
	struct fuse_lock_wait *lw;
	pthread_t thread;
	uint64_t unique;
	enum waiter_cancel cancel; /* guarded by lw->lock */
	fuse_lock_wait_fn wait;
	fuse_lock_answer_fn answer;
	void *arg;
};

static pthread_once_t wake_once = PTHREAD_ONCE_INIT;
static int wake_install_result;

static void wake_handler(int sig)
{
	/* Only there so that a blocked syscall returns EINTR. */
}

static void wake_install(void)
{
	struct sigaction sa = {.sa_handler = wake_handler, .sa_flags = 0};

	sigemptyset(&sa.sa_mask);
	wake_install_result = sigaction(SIGRTMIN, &sa, NULL) < 0 ? -errno : 0;
}

int fuse_lock_wait_init(struct fuse_lock_wait *lw)
{
	int r;

	pthread_once(&wake_once, wake_install);
	if (wake_install_result < 0)
		return wake_install_result;
	memset(lw, 0, sizeof(*lw));
	r = pthread_mutex_init(&lw->lock, NULL);
	if (r)
		return -r;
	r = cond_init_monotonic(&lw->cond);
	if (r) {
		pthread_mutex_destroy(&lw->lock);
		return -r;
	}
	return 0;
}

void fuse_lock_wait_done(struct fuse_lock_wait *lw)
{
	pthread_cond_destroy(&lw->cond);
	pthread_mutex_destroy(&lw->lock);
}

static void wait_a_little(struct fuse_lock_wait *lw, long ms)
{
	cond_wait_ms(&lw->cond, &lw->lock, ms);
}

static struct fuse_lock_waiter *find_active(struct fuse_lock_wait *lw, uint64_t unique)
{
	for (struct fuse_lock_waiter *w = lw->active; w; w = w->next)
		if (w->unique == unique)
			return w;
	return NULL;
}

static void unlink_active(struct fuse_lock_wait *lw, struct fuse_lock_waiter *w)
{
	for (struct fuse_lock_waiter **p = &lw->active; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			return;
		}
}

/* Joins the waiters that finished; their threads are exiting or gone. */
static void reap_finished(struct fuse_lock_wait *lw)
{
	struct fuse_lock_waiter *list, *next;
	unsigned n = 0;

	pthread_mutex_lock(&lw->lock);
	list = TAKE_PTR(lw->finished);
	pthread_mutex_unlock(&lw->lock);
	for (struct fuse_lock_waiter *w = list; w; w = next) {
		next = w->next;
		pthread_join(w->thread, NULL);
		free(w);
		n++;
	}
	pthread_mutex_lock(&lw->lock);
	lw->count -= n;
	pthread_mutex_unlock(&lw->lock);
}

static enum waiter_cancel waiter_state(struct fuse_lock_waiter *w)
{
	enum waiter_cancel c;

	pthread_mutex_lock(&w->lw->lock);
	c = w->cancel;
	pthread_mutex_unlock(&w->lw->lock);
	return c;
}

static void *waiter_main(void *arg)
{
	struct fuse_lock_waiter *w = arg;
	struct fuse_lock_wait *lw = w->lw;
	sigset_t set;
	int r = -EINTR;

	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	if (waiter_state(w) == WAITER_RUN)
		r = w->wait(w->arg);
	/* A lock taken despite a late reset is dropped by the backend's destroy(). */
	w->answer(w->arg, r, waiter_state(w) == WAITER_RESET);

	pthread_mutex_lock(&lw->lock);
	unlink_active(lw, w);
	w->next = lw->finished;
	lw->finished = w;
	pthread_cond_broadcast(&lw->cond);
	pthread_mutex_unlock(&lw->lock);
	return NULL;
}

/* Under lw->lock: consumes an INTERRUPT that arrived before its request was deferred. */
static bool take_early_interrupt(struct fuse_lock_wait *lw, uint64_t unique)
{
	for (size_t i = 0; i < ARRAY_SIZE(lw->early_interrupts); i++)
		if (lw->early_valid[i] && lw->early_interrupts[i] == unique) {
			lw->early_valid[i] = false;
			return true;
		}
	return false;
}

/* Under lw->lock. */
static int start_waiter(struct fuse_lock_wait *lw, struct fuse_lock_waiter *w)
{
	sigset_t all, old;
	int r;

	if (take_early_interrupt(lw, w->unique))
		return -EINTR;
	if (lw->count >= FUSE_MAX_LOCK_WAITERS)
		return -ENOLCK;
	/* The waiter starts with every signal blocked and unblocks only the wake signal, so
	 * process signals keep going to the threads that expect them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&w->thread, NULL, waiter_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r)
		return -ENOLCK;
	w->next = lw->active;
	lw->active = w;
	lw->count++;
	return 0;
}

int fuse_lock_wait_start(struct fuse_lock_wait *lw, uint64_t unique, fuse_lock_wait_fn wait,
			 fuse_lock_answer_fn answer, void *arg)
{
	struct fuse_lock_waiter *w;
	int r;

	reap_finished(lw);
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOLCK;
	*w = (struct fuse_lock_waiter){
		.lw = lw, .unique = unique, .wait = wait, .answer = answer, .arg = arg};
	pthread_mutex_lock(&lw->lock);
	r = start_waiter(lw, w);
	pthread_mutex_unlock(&lw->lock);
	if (r < 0)
		free(w);
	return r;
}

void fuse_lock_wait_interrupt(struct fuse_lock_wait *lw, uint64_t unique)
{
	struct fuse_lock_waiter *w;
	unsigned tries = 0;

	pthread_mutex_lock(&lw->lock);
	w = find_active(lw, unique);
	if (!w) {
		/* Maybe the request is still on its way through another queue. */
		lw->early_interrupts[lw->early_next] = unique;
		lw->early_valid[lw->early_next] = true;
		lw->early_next = (lw->early_next + 1) % ARRAY_SIZE(lw->early_interrupts);
	} else {
		w->cancel = WAITER_INTERRUPT;
	}
	/* A signal that lands before the waiter enters its blocking call is lost, so repeat
	 * until it is done (bounded: an INTERRUPT is best effort). Re-find it every time: once
	 * finished it may be reaped and freed. */
	while ((w = find_active(lw, unique)) && tries++ < 100) {
		pthread_kill(w->thread, SIGRTMIN);
		wait_a_little(lw, 2);
	}
	pthread_mutex_unlock(&lw->lock);
}

/* Wakes every waiter with `how` and waits until each has answered its request. */
static void wake_all(struct fuse_lock_wait *lw, enum waiter_cancel how)
{
	pthread_mutex_lock(&lw->lock);
	for (struct fuse_lock_waiter *w = lw->active; w; w = w->next)
		w->cancel = how;
	while (lw->active) {
		for (struct fuse_lock_waiter *w = lw->active; w; w = w->next)
			pthread_kill(w->thread, SIGRTMIN);
		wait_a_little(lw, 5);
	}
	if (how == WAITER_RESET)
		memset(lw->early_valid, 0, sizeof(lw->early_valid));
	pthread_mutex_unlock(&lw->lock);
	reap_finished(lw);
}

void fuse_lock_wait_cancel_all(struct fuse_lock_wait *lw)
{
	wake_all(lw, WAITER_RESET);
}

void fuse_lock_wait_interrupt_all(struct fuse_lock_wait *lw)
{
	wake_all(lw, WAITER_INTERRUPT);
}
