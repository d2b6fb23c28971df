/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Elements: a popped chain's iovecs and bookkeeping, from admission (vhu_queue_admit) to
 * completion (vhu_req_done). Finished elements are kept on per-queue free lists so serving a
 * request allocates nothing; completions made inside a worker's own batch notify the guest once,
 * at the end of the batch (vhu_queue_process).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "transport/vhu_priv.h"

__thread struct vhu_queue *vhu_batch_queue;
__thread bool vhu_batch_pending;

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

	/* Before the used ring publishes the reply: the frontend must copy its pages again. */
	if (vhu_log_on(q->dev))
		vhu_log_written(q->dev, mem, e->req.wr, e->req.nwr, len);
	pthread_mutex_lock(&q->lock);
	if (e->gen == q->gen) {
		uint16_t slot = q->vq.num ? (uint16_t)(q->vq.used_idx & (q->vq.num - 1)) : 0;

		vq_push(&q->vq, e->head, (uint32_t)MIN(len, UINT32_MAX));
		if (vhu_log_on(q->dev))
			vhu_log_used(q->dev, &q->vq, slot);
		q->inflight--;
		if (vhu_batch_queue == q)
			vhu_batch_pending = true;
		else
			vq_notify(&q->vq);
	}
	e = elem_put(q, e);
	pthread_mutex_unlock(&q->lock);
	gmem_table_unref(mem);
	free(e);
}

/*
 * Accounts one popped chain and fills an element for it; refuses a guest that has more requests
 * out than ring slots. -ENOMEM leaves nothing accounted.
 */
int vhu_queue_admit(struct vhu_queue *q, const struct vq_chain *c, struct gmem_table *mem,
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

void vhu_queue_free_elems(struct vhu_queue *q)
{
	elem_list_free(&q->free[0]);
	elem_list_free(&q->free[1]);
}
