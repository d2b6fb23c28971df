/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internals of the vhost-user device shared by vhost_user.c (session, socket), vhu_msg.c and
 * vhu_vring.c (message handlers), vhu_shmem.c (DAX window, backend channel) and the queue
 * machinery: vhu_queue.c (workers, batches, start/stop), vhu_elem.c (elements, completions),
 * vhu_helpers.c (helpers, stall watch), vhu_poll.c (adaptive polling), vhu_pool.c (thread pool).
 *
 * Threads and locks:
 * - The control thread (the one in vhu_dev_serve) owns every field marked [ctl]; it changes
 *   ring configuration only while the queue's worker is stopped (joined).
 * - A queue's worker owns the pop side of its struct vq; when the queue has helper threads,
 *   they share it under vhu_queue.pop_lock.
 * - vhu_queue.lock guards the push side of the vq (used ring, call/err fds), gen, inflight,
 *   busy and the free lists; vhu_req_done() may take it from any thread. No lock is held
 *   across cb->handle().
 * - vhu_dev.mem_lock guards the dev->mem pointer (the snapshot itself is immutable).
 * Lock order: per queue, see struct vhu_queue; per device, backend_lock -> shm_lock, and mem_lock
 * is a leaf. No queue lock is held while a device lock is taken, nor the other way round.
 */
#ifndef VFSD_TRANSPORT_VHU_PRIV_H
#define VFSD_TRANSPORT_VHU_PRIV_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "transport/gmem.h"
#include "transport/vhost_user.h"
#include "transport/vhu_proto.h"
#include "transport/virtq.h"

struct vhu_queue;

/* A popped request; the public part is handed to cb->handle(). */
struct vhu_elem {
	struct vhu_req req;
	struct vhu_queue *q;
	struct gmem_table *mem; /* keeps the iovecs mapped */
	struct vhu_elem *next;	/* thread-pool list, or the queue's free list */
	uint64_t gen;		/* queue generation at pop time */
	uint64_t wr_len;
	uint16_t head;
	unsigned cap; /* room in iov[] */
	struct iovec iov[];
};

/* One serving thread of a queue, for the stall watch (see struct vhu_queue). */
struct vhu_slot {
	_Alignas(64) unsigned count; /* requests finished; written by its thread only */
	bool in_batch;		     /* inside a pass over the ring */
	bool standin;		     /* a helper standing in for the worker */
	unsigned seen;		     /* the watchdog's: count at its last look */
	bool seen_in;		     /* the watchdog's: in_batch at its last look */
	bool stuck;		     /* the watchdog's: in a batch, nothing finished since then */
};

/*
 * Lock order (outermost first; never the other way round):
 *   pop_lock -> lock     a pop admits its chain (queue_pop -> vhu_queue_admit)
 *   wlock -> hlock       the watchdog looks at the slots and wakes a stand-in (watch_look)
 * Otherwise each is taken alone: lock and hlock never nest, and none of them is held across
 * cb->handle(). The pool's lock (vhu_pool.c) and the device's mem_lock are leaves.
 */
struct vhu_queue {
	struct vhu_dev *dev;
	unsigned index;

	pthread_mutex_t lock;
	pthread_cond_t idle; /* busy dropped to zero */
	struct vq vq;	     /* push side under lock */
	uint64_t gen;	     /* bumped when the queue stops: late completions are dropped */
	unsigned inflight;   /* popped, not yet done (this generation) */
	unsigned busy;	     /* queued for or inside cb->handle() */
	/* Finished elements kept for reuse, so serving a request allocates nothing: [0] small,
	 * [1] large (see vhu_queue.c). */
	struct vhu_elem_list {
		struct vhu_elem *head;
		unsigned n;
	} free[2];

	/* [ctl] */
	int kick_fd; /* -1 with kick_set: the frontend wants us to poll */
	bool kick_set;
	bool started;	 /* kick received, not yet stopped by GET_VRING_BASE */
	bool need_start; /* vq_start() due before the next run */
	bool enabled;
	bool addr_set;
	uint64_t desc_uva, avail_uva, used_uva;

	/*
	 * Helpers: extra threads that serve this ring alongside the worker, woken when a thread
	 * pops a chain and finds more waiting. With helpers, pop_lock serialises the pop side
	 * (vq_pop, notification state) among them. hlock guards hidle, hwake and hstop; hidle is
	 * also read without it, as a hint. [ctl] starts and joins them with the worker.
	 */
	unsigned nhelpers;	   /* configured */
	unsigned nhelpers_running; /* [ctl] started */
	pthread_t *helpers;
	pthread_mutex_t pop_lock;
	pthread_mutex_t hlock;
	pthread_cond_t hcond;
	unsigned hidle, hwake;
	bool hstop;
	/*
	 * Stall watch, with helpers: a request that blocks (a lease break, a hung mount) keeps its
	 * thread from the kick fd, and later requests would wait for it. Each serving thread has a
	 * slot ([0] the worker); a watchdog thread, armed while a batch runs, looks every
	 * VHU_STALL_MS, and when the worker has finished nothing since its last look it sends an
	 * idle helper to stand in: serve the ring and watch the kick fd until the worker moves.
	 */
	struct vhu_slot *slots; /* 1 + nhelpers */
	unsigned slots_taken;	/* atomic: helpers pick their slot at start */
	pthread_t watchdog;	/* [ctl] started with the helpers */
	bool watchdog_running;	/* [ctl] */
	pthread_mutex_t wlock;	/* guards warmed and wstop */
	pthread_cond_t wcond;	/* CLOCK_MONOTONIC */
	bool warmed, wstop;	/* armed: a batch ran since the watchdog last found none */
	bool standin_due;	/* under hlock: the next helper woken stands in */
	unsigned standin_count; /* under hlock: the worker's count it waits to see change */

	/* [ctl] worker thread */
	pthread_t thread;
	bool running;
	int wake_fd;  /* eventfd: tells the worker to exit */
	bool pausing; /* atomic: set before wake_fd, so a polling worker stops at once */
};

struct vhu_pool;

/* A map the frontend made for us in a shared memory region (vhu_shmem.c). */
struct vhu_shm_map {
	uint8_t shmid;
	uint64_t shm_offset, len, fd_offset;
	dev_t st_dev;
	ino_t st_ino;
};

/* A backend-channel request whose answer we stopped waiting for (vhu_shmem.c). */
struct vhu_owed {
	uint32_t request;
	uint8_t shmid;
	uint64_t shm_offset, len;
};
#define VHU_MAX_OWED 64

/* A memory region that is a window map: acknowledged, never mapped by us. */
struct vhu_skipped_region {
	uint64_t guest_addr, size;
};

struct vhu_dev {
	struct vhu_config cfg;
	struct vhu_callbacks cb;
	void *opaque;

	int stop_fd;		    /* eventfd written by vhu_dev_stop() */
	int conn_fd;		    /* [ctl] */
	uint64_t features;	    /* [ctl] acked */
	uint64_t protocol_features; /* [ctl] acked */

	/* The backend channel (SET_BACKEND_REQ_FD). Workers send on it under backend_lock; the
	 * control thread replaces or closes it under the same lock, after waking any waiter
	 * with backend_abort (an eventfd). */
	pthread_mutex_t backend_lock;
	int backend_fd;
	int backend_abort;
	struct vhu_owed owed[VHU_MAX_OWED]; /* answers still to read, oldest first */
	unsigned nowed;
	struct vhu_owed orphans[VHU_MAX_OWED]; /* maps made after we stopped waiting */
	unsigned norphans;

	/* DAX window (vhu_shmem.c): size set by GET_SHMEM_CONFIG [ctl writes, atomic reads];
	 * live maps under shm_lock; skipped regions [ctl]. */
	uint64_t shm_size;
	uint64_t shm1_size; /* region 1 (the fixed map), likewise */
	pthread_mutex_t shm_lock;
	struct vhu_shm_map *shm_maps;
	unsigned shm_nmaps;
	struct vhu_skipped_region *skipped;
	unsigned nskipped;

	pthread_mutex_t mem_lock;
	struct gmem_table *mem;

	/* Dirty log (vhu_log.c): [ctl] maps it and turns it on under log_lock (write);
	 * completing threads mark it under log_lock (read). log_on (atomic) is read first,
	 * without the lock: LOG_ALL acked and a log mapped. */
	pthread_rwlock_t log_lock;
	bool log_on;
	uint8_t *log;	   /* the bitmap; NULL: none */
	uint64_t log_size; /* its bytes */
	void *log_map;	   /* the mapping (log minus the offset's page remainder) */
	size_t log_map_len;
	int log_fd; /* SET_LOG_FD eventfd, -1: none */

	unsigned nqueues;
	struct vhu_queue *queues;
	struct vhu_pool *pool; /* NULL: inline */

	/* Device state transfer (vhu_state.c), [ctl]: one at a time, moved through the pipe
	 * the frontend gave by a thread of its own so that the control thread keeps serving. */
	struct vhu_xfer {
		pthread_t thread;
		bool running; /* thread started, not joined */
		bool done;    /* a transfer ran: result is its outcome */
		uint32_t direction;
		int fd;	      /* the frontend's pipe end; owned by the thread while running */
		int abort_fd; /* eventfd: makes the thread give up */
		/* Set by CHECK_DEVICE_STATE: the frontend says it is done with its end, so the
		 * pipe can no longer make the thread wait (EAGAIN now is a frontend's error). */
		atomic_bool finishing;
		uint8_t *buf;	 /* SAVE: the blob to send; LOAD: what was read */
		size_t len, cap; /* bytes in buf, and its allocation */
		int result;	 /* 0 or -errno */
	} xfer;
};

/* A received message; handlers take the fds they keep (set to -1), the rest get closed. */
struct vhu_msg {
	struct vhu_hdr hdr;
	union {
		uint64_t u64;
		struct vhu_vring_state state;
		struct vhu_vring_addr addr;
		struct vhu_mem_table mem;
		struct vhu_mem_single mem_single;
		struct vhu_config_hdr config;
		struct vhu_device_state dstate;
		uint8_t bytes[VHU_MAX_PAYLOAD];
	} payload;
	int fds[VHU_MAX_FDS];
	unsigned nfds;

	/* Reply built by handlers of messages that have one. */
	bool has_reply;
	uint32_t reply_size;
	union {
		uint64_t u64;
		struct vhu_vring_state state;
		struct vhu_shmem_config shmem;
		uint8_t bytes[sizeof(struct vhu_config_hdr) + VHU_MAX_CONFIG_SIZE];
	} reply;
};

/* A frontend protocol violation: the connection is dropped. */
#define VHU_EPROTO (-EPROTO)

/* vhost_user.c: waits until fd has `events` or abort_fd is readable: 0, 1 (abort), -errno. */
int vhu_wait_fd(int abort_fd, int fd, short events);

/* vhu_msg.c */
int vhu_msg_dispatch(struct vhu_dev *dev, struct vhu_msg *msg);
/* "SET_MEM_TABLE" for 5 (vhu_names.c); "UNKNOWN" for a number the spec does not define. */
const char *vhu_request_name(uint32_t request);
uint64_t vhu_offered_features(void);
uint64_t vhu_offered_protocol_features(const struct vhu_dev *dev);
void vhu_dev_reset_rings(struct vhu_dev *dev);
struct vhu_queue *vhu_get_queue(struct vhu_dev *dev, uint32_t index);

/* vhu_shmem.c: device configuration, the DAX window and the backend channel. */
int vhu_h_get_config(struct vhu_dev *dev, struct vhu_msg *msg);
int vhu_h_get_shmem_config(struct vhu_dev *dev, struct vhu_msg *msg);
int vhu_h_set_backend_req_fd(struct vhu_dev *dev, struct vhu_msg *msg);
/* Wakes every worker waiting on the backend channel (-ECANCELED) until vhu_backend_resume():
 * the control thread calls it before it waits for workers. */
void vhu_backend_cancel(struct vhu_dev *dev);
void vhu_backend_resume(struct vhu_dev *dev);
/* Whether a region the frontend adds is one of our window maps (then it is not mapped). */
bool vhu_region_is_window_map(struct vhu_dev *dev, const struct vhu_mem_region *r, int fd);
int vhu_skip_region(struct vhu_dev *dev, const struct vhu_mem_region *r);
bool vhu_unskip_region(struct vhu_dev *dev, uint64_t guest_addr, uint64_t size);
/* Device reset: the frontend dropped its maps (except those it has still to answer for). */
void vhu_shmem_reset(struct vhu_dev *dev);
/* Session end: closes the channel and forgets the window and its maps. */
void vhu_shmem_session_end(struct vhu_dev *dev);

/* vhu_state.c: device state for migration. */
int vhu_h_set_device_state_fd(struct vhu_dev *dev, struct vhu_msg *msg);
int vhu_h_check_device_state(struct vhu_dev *dev, struct vhu_msg *msg);
/* Stops a transfer still running and forgets its result (session end, device free). */
void vhu_state_cancel(struct vhu_dev *dev);

/* vhu_log.c: dirty logging. */
int vhu_h_set_log_base(struct vhu_dev *dev, struct vhu_msg *msg);
int vhu_h_set_log_fd(struct vhu_dev *dev, struct vhu_msg *msg);
/* [ctl] after dev->features changed: LOG_ALL turns logging on or off. */
void vhu_log_features_changed(struct vhu_dev *dev);
/* Session end: unmaps the log, closes the log fd. */
void vhu_log_session_end(struct vhu_dev *dev);
/* Marks the first len bytes of the writable iovecs iov[0..n) (translated through mem). */
void vhu_log_written(struct vhu_dev *dev, const struct gmem_table *mem, const struct iovec *iov,
		     unsigned n, uint64_t len);
/* Marks the used element at slot and the used index, if the ring logs. Under q->lock. */
void vhu_log_used(struct vhu_dev *dev, const struct vq *vq, uint16_t slot);
static inline bool vhu_log_on(const struct vhu_dev *dev)
{
	return __builtin_expect(__atomic_load_n(&dev->log_on, __ATOMIC_RELAXED), 0);
}

/* vhu_vring.c: the per-ring messages. */
int vhu_h_set_vring_num(struct vhu_dev *dev, struct vhu_msg *msg);
int vhu_h_set_vring_addr(struct vhu_dev *dev, struct vhu_msg *msg);
int vhu_h_set_vring_base(struct vhu_dev *dev, struct vhu_msg *msg);
int vhu_h_get_vring_base(struct vhu_dev *dev, struct vhu_msg *msg);
int vhu_h_set_vring_kick(struct vhu_dev *dev, struct vhu_msg *msg);
int vhu_h_set_vring_call(struct vhu_dev *dev, struct vhu_msg *msg);
int vhu_h_set_vring_err(struct vhu_dev *dev, struct vhu_msg *msg);
int vhu_h_set_vring_enable(struct vhu_dev *dev, struct vhu_msg *msg);

/* vhu_queue.c */
int vhu_queue_init(struct vhu_queue *q, struct vhu_dev *dev, unsigned index);
void vhu_queue_destroy(struct vhu_queue *q);
/* Starts the worker if the ring is started, enabled, configured and memory is mapped. */
void vhu_queue_try_run(struct vhu_queue *q);
/* Stops the worker (joins it); ring state and in-flight requests stay. */
void vhu_queue_pause(struct vhu_queue *q);
/*
 * Stops the ring: pause, wait for cb->handle() calls to return; with drain (GET_VRING_BASE)
 * cb->stop() answers the deferred requests into the ring; what is left is dropped.
 */
void vhu_queue_stop(struct vhu_queue *q, bool drain);
/* Forgets the ring configuration and fds (reset/disconnect); the queue must be stopped. */
void vhu_queue_clear(struct vhu_queue *q);
struct gmem_table *vhu_dev_mem_get(struct vhu_dev *dev);
/*
 * Pops and serves until the ring is empty with notifications re-enabled, or the batch budget is
 * spent: then returns true, and the caller must poll its wake fd and call again. Run by the
 * worker and by helpers.
 */
bool vhu_queue_process(struct vhu_queue *q, struct vq_chain *c, bool keep_suppressed);
/* Starts a thread with every signal blocked: signals are the main thread's. */
int vhu_start_thread(pthread_t *t, void *(*fn)(void *), void *arg);

/* With helpers, pop_lock serialises the pop side of the ring among the queue's threads. */
static inline void vhu_pop_lock(struct vhu_queue *q)
{
	if (q->nhelpers)
		pthread_mutex_lock(&q->pop_lock);
}

static inline void vhu_pop_unlock(struct vhu_queue *q)
{
	if (q->nhelpers)
		pthread_mutex_unlock(&q->pop_lock);
}

/* n chains left cb->handle(). Called with q->lock held. */
static inline void vhu_queue_unbusy_locked(struct vhu_queue *q, unsigned n)
{
	q->busy -= n;
	if (q->busy == 0)
		pthread_cond_broadcast(&q->idle);
}

/* vhu_elem.c */
/* Completions made by a worker inside its own batch notify once, at the end of the batch: the
 * queue this thread is in a batch of, and whether a completion is waiting to be notified. */
extern __thread struct vhu_queue *vhu_batch_queue;
extern __thread bool vhu_batch_pending;
/*
 * Accounts one popped chain and fills an element for it; refuses a guest that has more requests
 * out than ring slots. -ENOMEM leaves nothing accounted. Called with pop_lock held.
 */
int vhu_queue_admit(struct vhu_queue *q, const struct vq_chain *c, struct gmem_table *mem,
		    struct vhu_elem **ret);
void vhu_queue_free_elems(struct vhu_queue *q);

/* vhu_helpers.c */
/* This thread's stall-watch slot, for a worker or helper of a queue with helpers. */
extern __thread struct vhu_slot *vhu_my_slot;
/* Helper state and threads, for a request queue served without a pool. */
int vhu_helpers_init(struct vhu_queue *q);
void vhu_helpers_done(struct vhu_queue *q);
/* Called by [ctl] after the worker started; stop before joining the worker, join after. */
void vhu_helpers_start(struct vhu_queue *q);
void vhu_helpers_stop(struct vhu_queue *q);
void vhu_helpers_join(struct vhu_queue *q);
/* Wakes one idle helper, unless enough are already on their way. */
void vhu_helper_wake(struct vhu_queue *q);
/* A thread with a slot enters a batch: arms the watchdog. */
void vhu_watch_batch_begin(struct vhu_queue *q);

/* vhu_poll.c: adaptive polling state of one worker. */
struct vhu_poll {
	uint64_t max_ns;    /* 0: never poll */
	uint64_t window_ns; /* current window, 0..max_ns */
	uint64_t idle_since;
	unsigned kicks_closed; /* quick kicks since the window closed */
};
/* The worker went idle: watches the ring for the current window; true when buffers arrived
 * (the caller pops). */
bool vhu_queue_poll(struct vhu_queue *q, struct vhu_poll *p);
/* A kick woke the idle worker: had the window been long enough, polling would have caught it. */
void vhu_poll_kicked(struct vhu_poll *p);

/* vhu_pool.c */
int vhu_pool_new(struct vhu_dev *dev, unsigned nthreads, struct vhu_pool **ret);
void vhu_pool_free(struct vhu_pool *pool);
void vhu_pool_push(struct vhu_pool *pool, struct vhu_elem *e);

#endif
