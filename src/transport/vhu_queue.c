/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Queue workers: one thread per running queue waits for kicks and pops chains; each chain is
 * served inline or handed to the shared pool. Without a pool, each request queue also has
 * helper threads (--queue-threads) that a worker wakes when it pops a chain and finds more
 * waiting: they pop from the same ring, so a burst keeps every CPU busy while a lone request
 * costs no hand-off. A watchdog sends a helper to stand in for a worker stuck in one request
 * (see struct vhu_queue), so a request that blocks does not hold up the ones after it. The
 * hiprio queue (0) is always served inline on its own thread, so FORGETs never wait behind a
 * busy pool.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>

#include "transport/vhu_priv.h"
#include "util/clock.h"
#include "util/log.h"

struct vhu_pool {
	struct vhu_dev *dev;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct vhu_elem *head, *tail;
	bool stop;
	unsigned n;
	pthread_t threads[];
};

/* Completions made by a worker inside its own batch notify once, at the end of the batch. */
static __thread struct vhu_queue *batch_queue;
static __thread bool batch_pending;
/* This thread's stall-watch slot, for a worker or helper of a queue with helpers. */
static __thread struct vhu_slot *my_slot;

struct gmem_table *vhu_dev_mem_get(struct vhu_dev *dev)
{
	struct gmem_table *t = NULL;

	pthread_mutex_lock(&dev->mem_lock);
	if (dev->mem)
		t = gmem_table_ref(dev->mem);
	pthread_mutex_unlock(&dev->mem_lock);
	return t;
}

/*
 * Finished elements go back to their queue's free lists: a small one for every request but bulk
 * data, a large one sized for the longest chain. A full list hands the element back to free().
 */
#define VHU_ELEM_SMALL_IOV   8u
#define VHU_ELEM_CACHE_SMALL 1024u
#define VHU_ELEM_CACHE_LARGE 64u

static unsigned elem_cap(unsigned n)
{
	return n <= VHU_ELEM_SMALL_IOV ? VHU_ELEM_SMALL_IOV : VQ_MAX_IOV;
}

/* The free list for elements of this capacity. */
static struct vhu_elem_list *elem_list(struct vhu_queue *q, unsigned cap)
{
	return &q->free[cap == VHU_ELEM_SMALL_IOV ? 0 : 1];
}

/* Called with q->lock held. Returns the element when the caller must free it. */
static struct vhu_elem *elem_put(struct vhu_queue *q, struct vhu_elem *e)
{
	struct vhu_elem_list *l = elem_list(q, e->cap);

	if (l->n >= (e->cap == VHU_ELEM_SMALL_IOV ? VHU_ELEM_CACHE_SMALL : VHU_ELEM_CACHE_LARGE))
		return e;
	e->next = l->head;
	l->head = e;
	l->n++;
	return NULL;
}

/* Called with q->lock held. */
static struct vhu_elem *elem_take(struct vhu_queue *q, unsigned cap)
{
	struct vhu_elem_list *l = elem_list(q, cap);
	struct vhu_elem *e = l->head;

	if (e) {
		l->head = e->next;
		l->n--;
	}
	return e;
}

static void elem_list_free(struct vhu_elem_list *l)
{
	while (l->head) {
		struct vhu_elem *e = l->head;

		l->head = e->next;
		free(e);
	}
	l->n = 0;
}

void vhu_req_done(struct vhu_req *req, size_t written)
{
	struct vhu_elem *e = (struct vhu_elem *)((char *)req - offsetof(struct vhu_elem, req));
	struct vhu_queue *q = e->q;
	struct gmem_table *mem = e->mem;
	/* The guest only learns a length; never more than the room it gave us. */
	uint64_t len = MIN((uint64_t)written, e->wr_len);

	pthread_mutex_lock(&q->lock);
	if (e->gen == q->gen) {
		vq_push(&q->vq, e->head, (uint32_t)MIN(len, UINT32_MAX));
		q->inflight--;
		if (batch_queue == q)
			batch_pending = true;
		else
			vq_notify(&q->vq);
	}
	e = elem_put(q, e);
	pthread_mutex_unlock(&q->lock);
	gmem_table_unref(mem);
	free(e);
}

/* n chains left cb->handle(). Called with q->lock held. */
static void queue_unbusy_locked(struct vhu_queue *q, unsigned n)
{
	q->busy -= n;
	if (q->busy == 0)
		pthread_cond_broadcast(&q->idle);
}

static void pool_push(struct vhu_pool *pool, struct vhu_elem *e)
{
	pthread_mutex_lock(&pool->lock);
	if (pool->tail)
		pool->tail->next = e;
	else
		pool->head = e;
	pool->tail = e;
	pthread_cond_signal(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
}

/* Returns true when the chain was served inline (the caller owes a queue_unbusy_locked()). */
static bool dispatch(struct vhu_queue *q, struct vhu_elem *e)
{
	struct vhu_dev *dev = q->dev;

	if (dev->pool && q->index != 0) {
		pool_push(dev->pool, e);
		return false;
	}
	dev->cb.handle(dev->opaque, &e->req);
	/* e may be gone: the handler may have completed it. */
	return true;
}

/*
 * Accounts one popped chain and fills an element for it; refuses a guest that has more requests
 * out than ring slots. -ENOMEM leaves nothing accounted.
 */
static int queue_admit(struct vhu_queue *q, const struct vq_chain *c, struct gmem_table *mem,
		       struct vhu_elem **ret)
{
	unsigned n = c->nrd + c->nwr, cap = elem_cap(n);
	struct vhu_elem *e;

	pthread_mutex_lock(&q->lock);
	if (q->inflight >= q->vq.num) {
		int r = vq_mark_broken(&q->vq, "more requests in flight than the queue size");

		pthread_mutex_unlock(&q->lock);
		return r;
	}
	e = elem_take(q, cap);
	if (!e) {
		/* Completions only lower inflight meanwhile, so the check above still holds. */
		pthread_mutex_unlock(&q->lock);
		e = malloc(sizeof(*e) + cap * sizeof(e->iov[0]));
		if (!e)
			return -ENOMEM;
		e->cap = cap;
		pthread_mutex_lock(&q->lock);
	}
	q->inflight++;
	q->busy++;
	e->gen = q->gen;
	pthread_mutex_unlock(&q->lock);

	memcpy(e->iov, c->iov, n * sizeof(e->iov[0]));
	e->req = (struct vhu_req){
		.rd = e->iov,
		.nrd = c->nrd,
		.wr = e->iov + c->nrd,
		.nwr = c->nwr,
		.queue = q->index,
	};
	e->q = q;
	e->mem = gmem_table_ref(mem);
	e->next = NULL;
	e->wr_len = c->wr_len;
	e->head = c->head;
	*ret = e;
	return 0;
}

static void signal_err(struct vhu_queue *q)
{
	pthread_mutex_lock(&q->lock);
	if (q->vq.err_fd >= 0)
		(void)eventfd_write(q->vq.err_fd, 1);
	pthread_mutex_unlock(&q->lock);
}

/*
 * Work per queue_process() call: chains served plus passes over the ring. A guest that keeps
 * the ring non-empty (re-posting as fast as we serve, or a used ring laid over its avail ring)
 * would otherwise keep the worker from ever seeing the wake fd, and vhu_queue_pause() would
 * wait forever (found by fuzz_vhu).
 */
#define VHU_BATCH 256u

static void pop_lock(struct vhu_queue *q)
{
	if (q->nhelpers)
		pthread_mutex_lock(&q->pop_lock);
}

static void pop_unlock(struct vhu_queue *q)
{
	if (q->nhelpers)
		pthread_mutex_unlock(&q->pop_lock);
}

/* Wakes one idle helper, unless enough are already on their way. */
static void helper_wake(struct vhu_queue *q)
{
	pthread_mutex_lock(&q->hlock);
	if (q->hidle > q->hwake) {
		q->hwake++;
		pthread_cond_signal(&q->hcond);
	}
	pthread_mutex_unlock(&q->hlock);
}

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

	pop_lock(q);
	r = vq_pop(&q->vq, mem, c);
	if (r > 0) {
		r = queue_admit(q, c, mem, ret);
		if (r == -ENOMEM) {
			/* Leave the chain in the ring; the next kick retries it. */
			vq_unpop(&q->vq);
			log_ratelimited(LOG_LEVEL_ERROR, "queue %u: out of memory", q->index);
		}
		r = r < 0 ? r : 1;
	}
	*ret_more = r > 0 && q->nhelpers && vq_avail_pending(&q->vq) && !chain_is_bulk_write(c);
	pop_unlock(q);
	return r;
}

/*
 * The stall watch (see struct vhu_queue). A thread entering a batch marks its slot, then makes
 * sure the watchdog is armed; the watchdog disarms only after finding no slot in a batch, and
 * looks again after disarming: with a full fence on both sides, one of them sees the other.
 */
#define VHU_STALL_MS 10

static void watch_batch_begin(struct vhu_queue *q)
{
	__atomic_store_n(&my_slot->in_batch, true, __ATOMIC_RELAXED);
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
 * Pops and serves until the ring is empty with notifications re-enabled, or the VHU_BATCH
 * budget is spent: then returns true, and the caller must poll its wake fd and call again.
 * With keep_suppressed the caller goes on to watch the ring (queue_poll()), so kicks stay
 * suppressed: the guest's next request, sent as soon as it sees our reply, needs none.
 * Several threads may run this on one queue (helpers); each wakes at most one helper a call.
 */
static bool queue_process(struct vhu_queue *q, struct vq_chain *c, bool keep_suppressed)
{
	_cleanup_gmem_table_ struct gmem_table *mem = vhu_dev_mem_get(q->dev);
	unsigned budget = VHU_BATCH, served = 0;
	bool woke = false, more, again;
	struct vhu_elem *e = NULL;
	int r = 0;

	if (!mem)
		return false;
	batch_queue = q;
	batch_pending = false;
	if (my_slot)
		watch_batch_begin(q);
	do {
		/* A pass that pops nothing costs too: enabling notifications can itself make the
		 * ring look non-empty when the frontend laid the rings over each other. */
		budget--;
		pop_lock(q);
		vq_disable_notify(&q->vq);
		pop_unlock(q);
		while (budget > 0 && (r = queue_pop(q, mem, c, &e, &more)) > 0) {
			budget--;
			/* The rest of the ring goes to a helper while this thread serves e. */
			if (more && !woke && __atomic_load_n(&q->hidle, __ATOMIC_RELAXED)) {
				helper_wake(q);
				woke = true;
			}
			served += dispatch(q, e);
			if (my_slot)
				__atomic_store_n(&my_slot->count, my_slot->count + 1,
						 __ATOMIC_RELAXED);
		}
		if (r == -EBADMSG)
			signal_err(q);
		again = false;
		if (r == 0 && budget > 0 && !keep_suppressed) {
			pop_lock(q);
			again = vq_enable_notify(&q->vq);
			pop_unlock(q);
		}
	} while (again);
	batch_queue = NULL;
	if (my_slot)
		__atomic_store_n(&my_slot->in_batch, false, __ATOMIC_RELEASE);
	/* One lock for the batch: the inline chains' accounting and the guest notification. */
	if (batch_pending || served) {
		pthread_mutex_lock(&q->lock);
		queue_unbusy_locked(q, served);
		if (batch_pending)
			vq_notify(&q->vq);
		pthread_mutex_unlock(&q->lock);
	}
	return budget == 0 && r >= 0;
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
		while (queue_process(q, c, false) &&
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
	__atomic_store_n(&my_slot->standin, false, __ATOMIC_RELAXED);
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
	my_slot = &q->slots[1 + __atomic_fetch_add(&q->slots_taken, 1, __ATOMIC_RELAXED)];
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
			__atomic_store_n(&my_slot->standin, true, __ATOMIC_RELAXED);
		}
		pthread_mutex_unlock(&q->hlock);
		if (standin) {
			helper_stand_in(q, c, wcount);
			continue;
		}
		while (queue_process(q, c, false) &&
		       !__atomic_load_n(&q->pausing, __ATOMIC_RELAXED))
			;
	}
}

/*
 * Adaptive polling, for inline queues. A guest doing synchronous I/O sends its next request a
 * few microseconds after our reply; sleeping in poll() in between costs a kick on its side and a
 * wake-up on ours, which on a busy or virtualised host take longer than the request itself. So
 * after going idle the worker watches the ring for a window, with kicks suppressed, before it
 * sleeps. The window halves after every miss and reaches zero after a few, so an idle queue
 * costs nothing. A kick that comes within --poll-max-ns of going idle (spin included) widens a
 * window that is still open, sized to the gap seen. A closed window opens again only as a probe,
 * once every VHU_POLL_PROBE such kicks, and stays open while the probes hit: the gap includes our
 * own wake-up, so a short gap does not prove that polling would have caught the request, and
 * under a guest whose requests come just too late for the window (an emulated guest with
 * several jobs: measured) spinning only takes CPU from the guest. A pool never polls: its
 * threads need the CPUs.
 */
#define VHU_POLL_MIN_NS 1000u
#define VHU_POLL_PROBE	32u

struct queue_poll {
	uint64_t max_ns;    /* 0: never poll */
	uint64_t window_ns; /* current window, 0..max_ns */
	uint64_t idle_since;
	unsigned kicks_closed; /* quick kicks since the window closed */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Watches the ring for the current window; true when buffers arrived (the caller pops). */
static bool queue_poll(struct vhu_queue *q, struct queue_poll *p)
{
	uint64_t start;
	bool again;

	if (p->window_ns == 0 || q->vq.broken)
		return false;
	pop_lock(q);
	vq_suppress_notify(&q->vq);
	pop_unlock(q);
	start = now_ns();
	do {
		for (unsigned i = 0; i < 32; i++) {
			if (vq_avail_pending(&q->vq))
				return true;
			cpu_relax();
		}
		if (__atomic_load_n(&q->pausing, __ATOMIC_RELAXED))
			break;
	} while (now_ns() - start < p->window_ns);
	p->window_ns /= 2;
	if (p->window_ns < VHU_POLL_MIN_NS)
		p->window_ns = 0;
	pop_lock(q);
	again = vq_enable_notify(&q->vq);
	pop_unlock(q);
	return again;
}

/* A kick woke the idle worker: had the window been long enough, polling would have caught it. */
static void queue_poll_kicked(struct queue_poll *p)
{
	uint64_t gap = now_ns() - p->idle_since;

	if (gap >= p->max_ns)
		return;
	if (p->window_ns == 0) {
		if (++p->kicks_closed < VHU_POLL_PROBE)
			return;
		p->kicks_closed = 0;
		p->window_ns = p->max_ns;
		return;
	}
	p->window_ns = MAX(p->window_ns * 2, gap + gap / 2);
	p->window_ns = MIN(MAX(p->window_ns, (uint64_t)VHU_POLL_MIN_NS), p->max_ns);
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
	struct queue_poll qp = {0};
	bool more;

	if (inline_queue && q->kick_fd >= 0)
		qp.max_ns = qp.window_ns = dev->cfg.poll_max_ns;
	my_slot = q->slots;
	if (!c) {
		log_ratelimited(LOG_LEVEL_ERROR, "queue %u: out of memory for the worker",
				q->index);
		return NULL;
	}
	/* Buffers may have been queued while we were stopped. */
	more = queue_process(q, c, false);
	for (;;) {
		int r;

		if (!more && qp.max_ns) {
			qp.idle_since = now_ns();
			if (queue_poll(q, &qp)) {
				more = queue_process(q, c, qp.window_ns > 0);
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
				queue_poll_kicked(&qp);
		} else if (q->kick_fd >= 0 && !more) {
			continue;
		}
		more = queue_process(q, c, qp.window_ns > 0);
	}
	return NULL;
}

/* Workers leave signals to the main thread, which owns SIGTERM handling. */
static int start_thread(pthread_t *t, void *(*fn)(void *), void *arg)
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
	err = start_thread(&q->thread, worker_main, q);
	if (err < 0) {
		log_ratelimited(LOG_LEVEL_ERROR, "queue %u: cannot start worker: %s", q->index,
				strerror(-err));
		return;
	}
	q->running = true;
	q->nhelpers_running = q->nhelpers;
	for (unsigned i = 0; i < q->nhelpers; i++) {
		err = start_thread(&q->helpers[i], helper_main, q);
		if (err < 0) {
			/* Fewer helpers serve as well; the ones that exist are needed by pause. */
			log_ratelimited(LOG_LEVEL_WARN, "queue %u: cannot start helper: %s",
					q->index, strerror(-err));
			q->nhelpers_running = i;
			break;
		}
	}
	if (q->nhelpers_running) {
		err = start_thread(&q->watchdog, watchdog_main, q);
		if (err < 0)
			log_ratelimited(LOG_LEVEL_WARN,
					"queue %u: cannot start the stall watch: %s", q->index,
					strerror(-err));
		q->watchdog_running = err == 0;
	}
}

void vhu_queue_pause(struct vhu_queue *q)
{
	eventfd_t v;

	if (!q->running)
		return;
	__atomic_store_n(&q->pausing, true, __ATOMIC_RELAXED);
	(void)eventfd_write(q->wake_fd, 1);
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
	pthread_join(q->thread, NULL);
	for (unsigned i = 0; i < q->nhelpers_running; i++)
		pthread_join(q->helpers[i], NULL);
	q->nhelpers_running = 0;
	(void)eventfd_read(q->wake_fd, &v);
	q->hstop = false;
	q->hwake = 0;
	q->standin_due = false;
	q->wstop = false;
	q->warmed = false;
	q->slots_taken = 0;
	if (q->slots)
		memset(q->slots, 0, (1 + q->nhelpers) * sizeof(q->slots[0]));
	__atomic_store_n(&q->pausing, false, __ATOMIC_RELAXED);
	q->running = false;
}

void vhu_queue_stop(struct vhu_queue *q)
{
	vhu_queue_pause(q);
	pthread_mutex_lock(&q->lock);
	while (q->busy)
		pthread_cond_wait(&q->idle, &q->lock);
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
	pthread_mutex_init(&q->hlock, NULL);
	pthread_cond_init(&q->hcond, NULL);
	pthread_mutex_init(&q->wlock, NULL);
	cond_init_monotonic(&q->wcond);
	/* The hiprio queue carries FORGETs and INTERRUPTs: one thread is plenty. */
	if (index > 0 && !dev->cfg.thread_pool_size && dev->cfg.queue_threads > 1) {
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

void vhu_queue_destroy(struct vhu_queue *q)
{
	vhu_queue_stop(q);
	vhu_queue_clear(q);
	q->wake_fd = safe_close(q->wake_fd);
	elem_list_free(&q->free[0]);
	elem_list_free(&q->free[1]);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->idle);
	pthread_mutex_destroy(&q->pop_lock);
	pthread_mutex_destroy(&q->hlock);
	pthread_cond_destroy(&q->hcond);
	pthread_mutex_destroy(&q->wlock);
	pthread_cond_destroy(&q->wcond);
	free(q->helpers);
	free(q->slots);
}

static void *pool_main(void *arg)
{
	struct vhu_pool *pool = arg;
	struct vhu_dev *dev = pool->dev;

	for (;;) {
		struct vhu_elem *e;
		struct vhu_queue *q;

		pthread_mutex_lock(&pool->lock);
		while (!pool->head && !pool->stop)
			pthread_cond_wait(&pool->cond, &pool->lock);
		e = pool->head;
		if (!e) {
			pthread_mutex_unlock(&pool->lock);
			return NULL;
		}
		pool->head = e->next;
		if (!pool->head)
			pool->tail = NULL;
		pthread_mutex_unlock(&pool->lock);

		q = e->q;
		dev->cb.handle(dev->opaque, &e->req);
		pthread_mutex_lock(&q->lock);
		queue_unbusy_locked(q, 1);
		pthread_mutex_unlock(&q->lock);
	}
}

int vhu_pool_new(struct vhu_dev *dev, unsigned nthreads, struct vhu_pool **ret)
{
	struct vhu_pool *pool = calloc(1, sizeof(*pool) + nthreads * sizeof(pool->threads[0]));
	int err = 0;

	if (!pool)
		return -ENOMEM;
	pool->dev = dev;
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->cond, NULL);
	for (; pool->n < nthreads; pool->n++) {
		err = start_thread(&pool->threads[pool->n], pool_main, pool);
		if (err < 0)
			break;
	}
	if (err < 0) {
		vhu_pool_free(pool);
		return err;
	}
	*ret = pool;
	return 0;
}

/* Threads finish what is queued, then exit. */
void vhu_pool_free(struct vhu_pool *pool)
{
	if (!pool)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->stop = true;
	pthread_cond_broadcast(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
	for (unsigned i = 0; i < pool->n; i++)
		pthread_join(pool->threads[i], NULL);
	pthread_mutex_destroy(&pool->lock);
	pthread_cond_destroy(&pool->cond);
	free(pool);
}
