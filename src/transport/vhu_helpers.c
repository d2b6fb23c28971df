/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers and the stall watch, for request queues served without a pool (--queue-threads):
 * helper threads that pop from the same ring as the worker when a burst comes, and a watchdog
 * that sends a helper to stand in for a worker stuck in one request (see struct vhu_queue).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include "transport/vhu_priv.h"
#include "util/clock.h"
#include "util/log.h"

__thread struct vhu_slot *vhu_my_slot;

/* Wakes one idle helper, unless enough are already on their way. */
void vhu_helper_wake(struct vhu_queue *q)
{
	pthread_mutex_lock(&q->hlock);
	if (q->hidle > q->hwake) {
		q->hwake++;
		pthread_cond_signal(&q->hcond);
	}
	pthread_mutex_unlock(&q->hlock);
}

/*
 * The stall watch (see struct vhu_queue). A thread entering a batch marks its slot, then makes
 * sure the watchdog is armed; the watchdog disarms only after finding no slot in a batch, and
 * looks again after disarming: with a full fence on both sides, one of them sees the other.
 */
#define VHU_STALL_MS 10

void vhu_watch_batch_begin(struct vhu_queue *q)
{
	__atomic_store_n(&vhu_my_slot->in_batch, true, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&q->warmed, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&q->wlock);
	if (!q->warmed) {
		__atomic_store_n(&q->warmed, true, __ATOMIC_RELAXED);
		pthread_cond_signal(&q->wcond);
	}
	pthread_mutex_unlock(&q->wlock);
}

/* One look at the slots: sends a stand-in when the worker is stuck and nobody watches the ring
 * for it. Returns whether any thread is inside a batch. */
static bool watch_look(struct vhu_queue *q)
{
	/* A slot no helper has taken yet stays zero: never in a batch, never stuck. */
	unsigned n = 1 + q->nhelpers;
	bool busy = false;

	for (unsigned i = 0; i < n; i++) {
		struct vhu_slot *s = &q->slots[i];
		bool in = __atomic_load_n(&s->in_batch, __ATOMIC_RELAXED);
		unsigned count = __atomic_load_n(&s->count, __ATOMIC_RELAXED);

		s->stuck = in && s->seen_in && count == s->seen;
		s->seen = count;
		s->seen_in = in;
		busy |= in;
	}
	if (!q->slots[0].stuck)
		return busy;
	pthread_mutex_lock(&q->hlock);
	bool watched = q->standin_due;
	for (unsigned i = 1; i < n; i++)
		watched |= !q->slots[i].stuck &&
			   __atomic_load_n(&q->slots[i].standin, __ATOMIC_RELAXED);
	if (!watched && q->hidle > q->hwake) {
		q->hwake++;
		q->standin_due = true;
		q->standin_count = q->slots[0].seen;
		pthread_cond_signal(&q->hcond);
	}
	pthread_mutex_unlock(&q->hlock);
	return busy;
}

static void *watchdog_main(void *arg)
{
	struct vhu_queue *q = arg;

	pthread_mutex_lock(&q->wlock);
	while (!q->wstop) {
		if (!q->warmed) {
			pthread_cond_wait(&q->wcond, &q->wlock);
			continue;
		}
		cond_wait_ms(&q->wcond, &q->wlock, VHU_STALL_MS);
		if (q->wstop || watch_look(q))
			continue;
		/* Nobody is in a batch: sleep until the next batch arms us. */
		__atomic_store_n(&q->warmed, false, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		for (unsigned i = 0; i <= q->nhelpers; i++)
			if (__atomic_load_n(&q->slots[i].in_batch, __ATOMIC_RELAXED))
				__atomic_store_n(&q->warmed, true, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&q->wlock);
	return NULL;
}

/*
 * Stands in for a worker stuck in a request: serves the ring and watches the kick fd, as the
 * worker would, until the worker finishes that request or leaves its batch.
 */
static void helper_stand_in(struct vhu_queue *q, struct vq_chain *c, unsigned wcount)
{
	struct vhu_slot *w = &q->slots[0];
	struct pollfd pfd = {.fd = q->kick_fd, .events = POLLIN};

	/* A kick read here is always followed by a pass over the ring: the worker may have
	 * stopped waiting for it. */
	for (;;) {
		while (vhu_queue_process(q, c, false) &&
		       !__atomic_load_n(&q->pausing, __ATOMIC_RELAXED))
			;
		if (__atomic_load_n(&q->pausing, __ATOMIC_RELAXED) ||
		    !__atomic_load_n(&w->in_batch, __ATOMIC_RELAXED) ||
		    __atomic_load_n(&w->count, __ATOMIC_RELAXED) != wcount)
			break;
		/* Without a kick fd the frontend wants the ring polled: look again in 1 ms. */
		if (poll(&pfd, q->kick_fd >= 0, q->kick_fd >= 0 ? VHU_STALL_MS : 1) > 0 &&
		    (pfd.revents & POLLIN)) {
			eventfd_t v;
			(void)eventfd_read(q->kick_fd, &v);
		}
	}
	__atomic_store_n(&vhu_my_slot->standin, false, __ATOMIC_RELAXED);
}

/* A helper sleeps until woken, then serves the ring as the worker does, until it is empty. */
static void *helper_main(void *arg)
{
	struct vhu_queue *q = arg;
	_cleanup_free_ struct vq_chain *c = malloc(sizeof(*c));

	if (!c) {
		log_ratelimited(LOG_LEVEL_ERROR, "queue %u: out of memory for a helper", q->index);
		return NULL;
	}
	vhu_my_slot = &q->slots[1 + __atomic_fetch_add(&q->slots_taken, 1, __ATOMIC_RELAXED)];
	for (;;) {
		unsigned wcount;
		bool standin;

		pthread_mutex_lock(&q->hlock);
		__atomic_add_fetch(&q->hidle, 1, __ATOMIC_RELAXED);
		while (!q->hwake && !q->hstop)
			pthread_cond_wait(&q->hcond, &q->hlock);
		__atomic_sub_fetch(&q->hidle, 1, __ATOMIC_RELAXED);
		if (q->hstop) {
			pthread_mutex_unlock(&q->hlock);
			return NULL;
		}
		q->hwake--;
		standin = q->standin_due;
		wcount = q->standin_count;
		if (standin) {
			q->standin_due = false;
			__atomic_store_n(&vhu_my_slot->standin, true, __ATOMIC_RELAXED);
		}
		pthread_mutex_unlock(&q->hlock);
		if (standin) {
			helper_stand_in(q, c, wcount);
			continue;
		}
		while (vhu_queue_process(q, c, false) &&
		       !__atomic_load_n(&q->pausing, __ATOMIC_RELAXED))
			;
	}
}

int vhu_helpers_init(struct vhu_queue *q)
{
	struct vhu_dev *dev = q->dev;

	pthread_mutex_init(&q->hlock, NULL);
	pthread_cond_init(&q->hcond, NULL);
	pthread_mutex_init(&q->wlock, NULL);
	cond_init_monotonic(&q->wcond);
	/* The hiprio queue carries FORGETs and INTERRUPTs: one thread is plenty. */
	if (q->index > 0 && !dev->cfg.thread_pool_size && dev->cfg.queue_threads > 1) {
		q->helpers = calloc(dev->cfg.queue_threads - 1, sizeof(q->helpers[0]));
		if (!q->helpers)
			return -ENOMEM;
		q->nhelpers = dev->cfg.queue_threads - 1;
		q->slots = aligned_alloc(_Alignof(struct vhu_slot),
					 (1 + q->nhelpers) * sizeof(q->slots[0]));
		if (!q->slots)
			return -ENOMEM;
		memset(q->slots, 0, (1 + q->nhelpers) * sizeof(q->slots[0]));
	}
	return 0;
}

void vhu_helpers_done(struct vhu_queue *q)
{
	pthread_mutex_destroy(&q->hlock);
	pthread_cond_destroy(&q->hcond);
	pthread_mutex_destroy(&q->wlock);
	pthread_cond_destroy(&q->wcond);
	free(q->helpers);
	free(q->slots);
}

void vhu_helpers_start(struct vhu_queue *q)
{
	int err;

	q->nhelpers_running = q->nhelpers;
	for (unsigned i = 0; i < q->nhelpers; i++) {
		err = vhu_start_thread(&q->helpers[i], helper_main, q);
		if (err < 0) {
			/* Fewer helpers serve as well; the ones that exist are needed by pause. */
			log_ratelimited(LOG_LEVEL_WARN, "queue %u: cannot start helper: %s",
					q->index, strerror(-err));
			q->nhelpers_running = i;
			break;
		}
	}
	if (q->nhelpers_running) {
		err = vhu_start_thread(&q->watchdog, watchdog_main, q);
		if (err < 0)
			log_ratelimited(LOG_LEVEL_WARN,
					"queue %u: cannot start the stall watch: %s", q->index,
					strerror(-err));
		q->watchdog_running = err == 0;
	}
}

void vhu_helpers_stop(struct vhu_queue *q)
{
	if (q->watchdog_running) {
		pthread_mutex_lock(&q->wlock);
		q->wstop = true;
		pthread_cond_signal(&q->wcond);
		pthread_mutex_unlock(&q->wlock);
		pthread_join(q->watchdog, NULL);
		q->watchdog_running = false;
	}
	pthread_mutex_lock(&q->hlock);
	q->hstop = true;
	pthread_cond_broadcast(&q->hcond);
	pthread_mutex_unlock(&q->hlock);
}

void vhu_helpers_join(struct vhu_queue *q)
{
	for (unsigned i = 0; i < q->nhelpers_running; i++)
		pthread_join(q->helpers[i], NULL);
	q->nhelpers_running = 0;
	q->hstop = false;
	q->hwake = 0;
	q->standin_due = false;
	q->wstop = false;
	q->warmed = false;
	q->slots_taken = 0;
	if (q->slots)
		memset(q->slots, 0, (1 + q->nhelpers) * sizeof(q->slots[0]));
}
