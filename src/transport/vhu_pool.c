/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The shared thread pool (--thread-pool-size): workers pop chains from the request queues and
 * push them here; pool threads run cb->handle() on them. The hiprio queue never uses it.
 */
#include <errno.h>
#include <stdlib.h>

#include "transport/vhu_priv.h"

struct vhu_pool {
	struct vhu_dev *dev;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct vhu_elem *head, *tail;
	bool stop;
	unsigned n;
	pthread_t threads[];
};

void vhu_pool_push(struct vhu_pool *pool, struct vhu_elem *e)
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
		vhu_queue_unbusy_locked(q, 1);
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
		err = vhu_start_thread(&pool->threads[pool->n], pool_main, pool);
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
