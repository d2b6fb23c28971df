/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Queue workers: one thread per running queue waits for kicks and pops chains; each chain is
 * served inline or handed to the shared pool (vhu_pool.c). Without a pool, each request queue
 * also has helper threads (--queue-threads) that a worker wakes when it pops a chain and finds
 * more waiting: they pop from the same ring, so a burst keeps every CPU busy while a lone request
 * costs no hand-off. A watchdog sends a helper to stand in for a worker stuck in one request
 * (vhu_helpers.c), so a request that blocks does not hold up the ones after it. The hiprio queue
 * (0) is always served inline on its own thread, so FORGETs never wait behind a busy pool.
 *
 * This file: the worker loop, batches over the ring, and starting and stopping a queue.
 * Elements and completions are in vhu_elem.c, adaptive polling in vhu_poll.c; the lock order is
 * beside struct vhu_queue (vhu_priv.h).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include "transport/vhu_priv.h"
#include "util/log.h"

struct gmem_table *vhu_dev_mem_get(struct vhu_dev *dev)
{
	struct gmem_table *t = NULL;

	pthread_mutex_lock(&dev->mem_lock);
	if (dev->mem)
		t = gmem_table_ref(dev->mem);
	pthread_mutex_unlock(&dev->mem_lock);
	return t;
}

/* Returns true when the chain was served inline (the caller owes a vhu_queue_unbusy_locked()). */
static bool dispatch(struct vhu_queue *q, struct vhu_elem *e)
{
	struct vhu_dev *dev = q->dev;

	if (dev->pool && q->index != 0) {
		vhu_pool_push(dev->pool, e);
		return false;
	}
	dev->cb.handle(dev->opaque, &e->req);
	/* e may be gone: the handler may have completed it. */
	return true;
}

static void signal_err(struct vhu_queue *q)
{
	pthread_mutex_lock(&q->lock);
	if (q->vq.err_fd >= 0)
		(void)eventfd_write(q->vq.err_fd, 1);
	pthread_mutex_unlock(&q->lock);
}

/*
 * Work per vhu_queue_process() call: chains served plus passes over the ring. A guest that keeps
 * the ring non-empty (re-posting as fast as we serve, or a used ring laid over its avail ring)
 * would otherwise keep the worker from ever seeing the wake fd, and vhu_queue_pause() would
 * wait forever (found by fuzz_vhu).
 */
#define VHU_BATCH 256u

/*
 * A chain that carries this much data to the device is a bulk write. The file system takes
 * such writes to one file one at a time, so a helper woken for the next one only waits for the
 * inode lock, and each hand-off of the lock between threads costs a wake-up: measured, 5% less
 * throughput for 1 MiB writes. Reads and everything else spread well.
 */
#define VHU_BULK_WRITE (128u << 10)

static bool chain_is_bulk_write(const struct vq_chain *c)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < c->nrd && n < VHU_BULK_WRITE; i++)
		n += c->iov[i].iov_len;
	return n >= VHU_BULK_WRITE;
}

/*
 * Pops one chain and admits it: 1 with *ret set, 0 for an empty ring, or -errno. *ret_more:
 * chains are left for a helper.
 */
static int queue_pop(struct vhu_queue *q, struct gmem_table *mem, struct vq_chain *c,
		     struct vhu_elem **ret, bool *ret_more)
{
	int r;

	vhu_pop_lock(q);
	r = vq_pop(&q->vq, mem, c);
	if (r > 0) {
		r = vhu_queue_admit(q, c, mem, ret);
		if (r == -ENOMEM) {
			/* Leave the chain in the ring; the next kick retries it. */
			vq_unpop(&q->vq);
			log_ratelimited(LOG_LEVEL_ERROR, "queue %u: out of memory", q->index);
		}
		r = r < 0 ? r : 1;
	}
	*ret_more = r > 0 && q->nhelpers && vq_avail_pending(&q->vq) && !chain_is_bulk_write(c);
	vhu_pop_unlock(q);
	return r;
}

/*
 * Pops and serves until the ring is empty with notifications re-enabled, or the VHU_BATCH
 * budget is spent: then returns true, and the caller must poll its wake fd and call again.
 * With keep_suppressed the caller goes on to watch the ring (vhu_queue_poll()), so kicks stay
 * suppressed: the guest's next request, sent as soon as it sees our reply, needs none.
 * Several threads may run this on one queue (helpers); each wakes at most one helper a call.
 */
bool vhu_queue_process(struct vhu_queue *q, struct vq_chain *c, bool keep_suppressed)
{
	_cleanup_gmem_table_ struct gmem_table *mem = vhu_dev_mem_get(q->dev);
	unsigned budget = VHU_BATCH, served = 0;
	bool woke = false, more, again;
	struct vhu_elem *e = NULL;
	int r = 0;

	if (!mem)
		return false;
	vhu_batch_queue = q;
	vhu_batch_pending = false;
	if (vhu_my_slot)
		vhu_watch_batch_begin(q);
	do {
		/* A pass that pops nothing costs too: enabling notifications can itself make the
		 * ring look non-empty when the frontend laid the rings over each other. */
		budget--;
		vhu_pop_lock(q);
		vq_disable_notify(&q->vq);
		vhu_pop_unlock(q);
		while (budget > 0 && (r = queue_pop(q, mem, c, &e, &more)) > 0) {
			budget--;
			/* The rest of the ring goes to a helper while this thread serves e. */
			if (more && !woke && __atomic_load_n(&q->hidle, __ATOMIC_RELAXED)) {
				vhu_helper_wake(q);
				woke = true;
			}
			served += dispatch(q, e);
			if (vhu_my_slot)
				__atomic_store_n(&vhu_my_slot->count, vhu_my_slot->count + 1,
						 __ATOMIC_RELAXED);
		}
		if (r == -EBADMSG)
			signal_err(q);
		again = false;
		if (r == 0 && budget > 0 && !keep_suppressed) {
			vhu_pop_lock(q);
			again = vq_enable_notify(&q->vq);
			vhu_pop_unlock(q);
		}
	} while (again);
	vhu_batch_queue = NULL;
	if (vhu_my_slot)
		__atomic_store_n(&vhu_my_slot->in_batch, false, __ATOMIC_RELEASE);
	/* One lock for the batch: the inline chains' accounting and the guest notification. */
	if (vhu_batch_pending || served) {
		pthread_mutex_lock(&q->lock);
		vhu_queue_unbusy_locked(q, served);
		if (vhu_batch_pending)
			vq_notify(&q->vq);
		pthread_mutex_unlock(&q->lock);
	}
	return budget == 0 && r >= 0;
}

static void *worker_main(void *arg)
{
	struct vhu_queue *q = arg;
	struct vhu_dev *dev = q->dev;
	_cleanup_free_ struct vq_chain *c = malloc(sizeof(*c));
	struct pollfd pfd[2] = {
		{.fd = q->wake_fd, .events = POLLIN},
		{.fd = q->kick_fd, .events = POLLIN},
	};
	/* Without a kick fd the frontend asked us to poll the ring. */
	int timeout = q->kick_fd < 0 ? 1 : -1;
	bool inline_queue = !dev->pool || q->index == 0;
	struct vhu_poll qp = {0};
	bool more;

	if (inline_queue && q->kick_fd >= 0)
		qp.max_ns = qp.window_ns = dev->cfg.poll_max_ns;
	vhu_my_slot = q->slots;
	if (!c) {
		log_ratelimited(LOG_LEVEL_ERROR, "queue %u: out of memory for the worker",
				q->index);
		return NULL;
	}
	/* Buffers may have been queued while we were stopped. */
	more = vhu_queue_process(q, c, false);
	for (;;) {
		int r;

		if (!more && qp.max_ns) {
			if (vhu_queue_poll(q, &qp)) {
				more = vhu_queue_process(q, c, qp.window_ns > 0);
				continue;
			}
		}
		r = poll(pfd, q->kick_fd < 0 ? 1 : 2, more ? 0 : timeout);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			log_ratelimited(LOG_LEVEL_ERROR, "queue %u: poll: %m", q->index);
			break;
		}
		if (pfd[0].revents)
			break;
		if (q->kick_fd >= 0 && (pfd[1].revents & POLLIN)) {
			eventfd_t v;

			(void)eventfd_read(q->kick_fd, &v);
			if (!more && qp.max_ns)
				vhu_poll_kicked(&qp);
		} else if (q->kick_fd >= 0 && !more) {
			continue;
		}
		more = vhu_queue_process(q, c, qp.window_ns > 0);
	}
	return NULL;
}

/* Workers leave signals to the main thread, which owns SIGTERM handling. */
int vhu_start_thread(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -err;
}

void vhu_queue_try_run(struct vhu_queue *q)
{
	struct vhu_dev *dev = q->dev;
	_cleanup_gmem_table_ struct gmem_table *mem = NULL;
	int err;

	if (q->running || !q->started || !q->enabled || !q->addr_set || !q->vq.num)
		return;
	mem = vhu_dev_mem_get(dev);
	if (!mem)
		return;

	pthread_mutex_lock(&q->lock);
	q->vq.event_idx = dev->features & (1ull << VHU_F_EVENT_IDX);
	q->vq.indirect = dev->features & (1ull << VHU_F_INDIRECT_DESC);
	err = vq_map(&q->vq, mem, q->desc_uva, q->avail_uva, q->used_uva);
	if (err == 0 && q->need_start) {
		vq_start(&q->vq);
		q->need_start = false;
	}
	pthread_mutex_unlock(&q->lock);
	if (err < 0) {
		log_ratelimited(LOG_LEVEL_ERROR,
				"queue %u: ring addresses not in guest memory (%s)", q->index,
				strerror(-err));
		return;
	}
	err = vhu_start_thread(&q->thread, worker_main, q);
	if (err < 0) {
		log_ratelimited(LOG_LEVEL_ERROR, "queue %u: cannot start worker: %s", q->index,
				strerror(-err));
		return;
	}
	q->running = true;
	vhu_helpers_start(q);
}

void vhu_queue_pause(struct vhu_queue *q)
{
	eventfd_t v;

	if (!q->running)
		return;
	__atomic_store_n(&q->pausing, true, __ATOMIC_RELAXED);
	(void)eventfd_write(q->wake_fd, 1);
	vhu_helpers_stop(q);
	pthread_join(q->thread, NULL);
	vhu_helpers_join(q);
	(void)eventfd_read(q->wake_fd, &v);
	__atomic_store_n(&q->pausing, false, __ATOMIC_RELAXED);
	q->running = false;
}

void vhu_queue_stop(struct vhu_queue *q, bool drain)
{
	vhu_queue_pause(q);
	pthread_mutex_lock(&q->lock);
	while (q->busy)
		pthread_cond_wait(&q->idle, &q->lock);
	if (drain && q->inflight && q->dev->cb.stop) {
		/* Deferred requests are answered now, into this ring (same generation). */
		pthread_mutex_unlock(&q->lock);
		q->dev->cb.stop(q->dev->opaque);
		pthread_mutex_lock(&q->lock);
	}
	/* What is still in flight now was deferred by the handler: its completion is dropped. */
	q->gen++;
	q->inflight = 0;
	pthread_mutex_unlock(&q->lock);
	q->started = false;
	q->kick_set = false;
	q->kick_fd = safe_close(q->kick_fd);
}

void vhu_queue_clear(struct vhu_queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->vq.call_fd = safe_close(q->vq.call_fd);
	q->vq.err_fd = safe_close(q->vq.err_fd);
	vq_unmap(&q->vq);
	q->vq.num = 0;
	q->vq.last_avail_idx = 0;
	q->vq.broken = false;
	pthread_mutex_unlock(&q->lock);
	q->enabled = false;
	q->addr_set = false;
	q->need_start = false;
}

int vhu_queue_init(struct vhu_queue *q, struct vhu_dev *dev, unsigned index)
{
	*q = (struct vhu_queue){.dev = dev, .index = index, .kick_fd = -1};
	vq_init(&q->vq, index);
	q->wake_fd = eventfd(0, EFD_CLOEXEC);
	if (q->wake_fd < 0)
		return -errno;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->idle, NULL);
	pthread_mutex_init(&q->pop_lock, NULL);
	return vhu_helpers_init(q);
}

void vhu_queue_destroy(struct vhu_queue *q)
{
	vhu_queue_stop(q, false);
	vhu_queue_clear(q);
	q->wake_fd = safe_close(q->wake_fd);
	vhu_queue_free_elems(q);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->idle);
	pthread_mutex_destroy(&q->pop_lock);
	vhu_helpers_done(q);
}
