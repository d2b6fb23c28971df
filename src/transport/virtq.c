/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <sys/eventfd.h>

#include "transport/virtq.h"
#include "util/log.h"

/* One read of a guest-owned field; the compiler may neither repeat nor tear it into a re-read. */
#define GUEST_READ(x) (*(const volatile __typeof__(x) *)&(x))

static uint16_t *avail_event_ptr(const struct vq *vq)
{
	return (uint16_t *)&vq->used->ring[vq->num];
}

static uint16_t *used_event_ptr(const struct vq *vq)
{
	return (uint16_t *)&vq->avail->ring[vq->num];
}

void vq_init(struct vq *vq, unsigned index)
{
	*vq = (struct vq){.index = index, .call_fd = -1, .err_fd = -1};
}

bool vq_size_valid(uint64_t num)
{
	return num > 0 && num <= VQ_MAX_SIZE && (num & (num - 1)) == 0;
}

void vq_unmap(struct vq *vq)
{
	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
}

int vq_map(struct vq *vq, const struct gmem_table *t, uint64_t desc_uva, uint64_t avail_uva,
	   uint64_t used_uva)
{
	uint64_t n = vq->num, ev = vq->event_idx ? sizeof(uint16_t) : 0;
	void *d, *a, *u;

	vq_unmap(vq);
	if (!vq_size_valid(n))
		return -EINVAL;
	d = gmem_uva_to_host(t, desc_uva, n * sizeof(struct vring_desc));
	a = gmem_uva_to_host(t, avail_uva, offsetof(struct vring_avail, ring) + n * 2 + ev);
	u = gmem_uva_to_host(t, used_uva,
			     offsetof(struct vring_used, ring) +
				     n * sizeof(struct vring_used_elem) + ev);
	if (!d || !a || !u)
		return -EFAULT;
	/* The alignments virtio requires, which our atomic accesses rely on. */
	if ((uintptr_t)d % 16 || (uintptr_t)a % 2 || (uintptr_t)u % 4)
		return -EINVAL;
	vq->desc = d;
	vq->avail = a;
	vq->used = u;
	return 0;
}

void vq_start(struct vq *vq)
{
	vq->broken = false;
	vq->signalled_used_valid = false;
	if (vq->used)
		vq->used_idx = le16toh(__atomic_load_n(&vq->used->idx, __ATOMIC_RELAXED));
}

int vq_mark_broken(struct vq *vq, const char *why)
{
	if (vq->broken)
		return -EIO;
	/* Atomic: a polling worker reads it without the pop lock. */
	__atomic_store_n(&vq->broken, true, __ATOMIC_RELAXED);
	log_ratelimited(LOG_LEVEL_ERROR, "virtqueue %u: %s; queue stopped", vq->index, why);
	return -EBADMSG;
}

/* A validated, guest-independent copy of one descriptor. */
struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/*
 * The ring's table is 16-byte aligned (vq_map checks), but an indirect table may sit at any
 * guest address the spec allows: read through a packed view, so an unaligned table is not
 * undefined behaviour (found by fuzz/fuzz_virtq).
 */
struct desc_unaligned {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
} __attribute__((packed));

static void desc_read(const struct vring_desc *src, struct desc *d)
{
	const volatile struct desc_unaligned *u = (const volatile void *)src;

	d->addr = le64toh(u->addr);
	d->len = le32toh(u->len);
	d->flags = le16toh(u->flags);
	d->next = le16toh(u->next);
}

/* State of a chain walk: the table being walked (ring or indirect) and what is left. */
struct walk {
	const struct vring_desc *table;
	unsigned size;	 /* entries in table */
	unsigned budget; /* descriptors we may still visit in this table */
	bool indirect;
};

static int walk_enter_indirect(const struct vq *vq, const struct gmem_table *t,
			       const struct desc *d, struct walk *w, const char **why)
{
	if (!vq->indirect)
		*why = "indirect descriptor not negotiated";
	else if (w->indirect)
		*why = "indirect table inside an indirect table";
	else if (d->flags & VRING_DESC_F_NEXT)
		*why = "indirect descriptor with NEXT flag";
	else if (d->len == 0 || d->len % sizeof(struct vring_desc) ||
		 d->len / sizeof(struct vring_desc) > VQ_MAX_IOV)
		*why = "bad indirect table length";
	else if (!(w->table = gmem_gpa_to_host(t, d->addr, d->len)))
		*why = "indirect table outside guest memory";
	else {
		w->size = d->len / (unsigned)sizeof(struct vring_desc);
		w->budget = w->size;
		w->indirect = true;
		return 0;
	}
	return -EBADMSG;
}

static int walk_add_buffer(const struct gmem_table *t, const struct desc *d, struct vq_chain *c,
			   const char **why)
{
	unsigned n = c->nrd + c->nwr, k;
	int err;

	if (!(d->flags & VRING_DESC_F_WRITE) && c->nwr) {
		*why = "readable descriptor after a writable one";
		return -EBADMSG;
	}
	if (d->len == 0)
		return 0;
	err = gmem_gpa_to_iov(t, d->addr, d->len, c->iov + n, VQ_MAX_IOV - n, &k);
	if (err < 0) {
		*why = err == -E2BIG ? "too many buffers in chain" : "buffer outside guest memory";
		return -EBADMSG;
	}
	if (d->flags & VRING_DESC_F_WRITE) {
		c->nwr += k;
		c->wr_len += d->len;
	} else {
		c->nrd += k;
	}
	return 0;
}

static int walk_chain(const struct vq *vq, const struct gmem_table *t, uint16_t head,
		      struct vq_chain *c, const char **why)
{
	struct walk w = {.table = vq->desc, .size = vq->num, .budget = vq->num};
	unsigned idx = head;
	struct desc d;
	int err;

	c->nrd = c->nwr = 0;
	c->wr_len = 0;
	for (;;) {
		if (w.budget == 0) {
			*why = "descriptor loop or chain longer than its table";
			return -EBADMSG;
		}
		w.budget--;
		desc_read(&w.table[idx], &d);
		if (d.flags & VRING_DESC_F_INDIRECT) {
			err = walk_enter_indirect(vq, t, &d, &w, why);
			if (err < 0)
				return err;
			idx = 0;
			continue;
		}
		err = walk_add_buffer(t, &d, c, why);
		if (err < 0)
			return err;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		if (d.next >= w.size) {
			*why = "next descriptor index out of range";
			return -EBADMSG;
		}
		idx = d.next;
	}
}

int vq_pop(struct vq *vq, const struct gmem_table *t, struct vq_chain *c)
{
	const char *why = NULL;
	uint16_t avail_idx, pending, head;

	if (vq->broken || !vq->avail)
		return -EIO;
	/* Acquire: the ring entries and descriptors are read after the index that covers them. */
	avail_idx = le16toh(__atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE));
	pending = (uint16_t)(avail_idx - vq->last_avail_idx);
	if (pending == 0)
		return 0;
	if (pending > vq->num)
		return vq_mark_broken(vq, "available index ran more than a queue size ahead");

	head = le16toh(GUEST_READ(vq->avail->ring[vq->last_avail_idx & (vq->num - 1)]));
	if (head >= vq->num)
		return vq_mark_broken(vq, "head descriptor index out of range");
	if (walk_chain(vq, t, head, c, &why) < 0)
		return vq_mark_broken(vq, why);
	c->head = head;
	/* Atomic: a polling worker reads it without the pop lock (vq_avail_pending). */
	__atomic_store_n(&vq->last_avail_idx, (uint16_t)(vq->last_avail_idx + 1), __ATOMIC_RELAXED);
	return 1;
}

void vq_unpop(struct vq *vq)
{
	__atomic_store_n(&vq->last_avail_idx, (uint16_t)(vq->last_avail_idx - 1), __ATOMIC_RELAXED);
}

void vq_disable_notify(struct vq *vq)
{
	uint16_t f;

	/* With EVENT_IDX, leaving avail_event behind already suppresses kicks. */
	if (vq->event_idx || !vq->used)
		return;
	f = le16toh(__atomic_load_n(&vq->used->flags, __ATOMIC_RELAXED));
	__atomic_store_n(&vq->used->flags, htole16(f | VRING_USED_F_NO_NOTIFY), __ATOMIC_RELAXED);
}

void vq_suppress_notify(struct vq *vq)
{
	if (!vq->used)
		return;
	if (!vq->event_idx) {
		vq_disable_notify(vq);
		return;
	}
	/* An event index the guest has already passed: its next buffers need no kick. */
	__atomic_store_n(avail_event_ptr(vq), htole16((uint16_t)(vq->last_avail_idx - 1)),
			 __ATOMIC_RELAXED);
}

bool vq_avail_pending(const struct vq *vq)
{
	if (__atomic_load_n(&vq->broken, __ATOMIC_RELAXED) || !vq->avail)
		return false;
	return le16toh(__atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE)) !=
	       __atomic_load_n(&vq->last_avail_idx, __ATOMIC_RELAXED);
}

bool vq_enable_notify(struct vq *vq)
{
	uint16_t avail_idx;

	if (vq->broken || !vq->used)
		return false;
	if (vq->event_idx) {
		__atomic_store_n(avail_event_ptr(vq), htole16(vq->last_avail_idx),
				 __ATOMIC_RELAXED);
	} else {
		uint16_t f = le16toh(__atomic_load_n(&vq->used->flags, __ATOMIC_RELAXED));

		__atomic_store_n(&vq->used->flags, htole16((uint16_t)(f & ~VRING_USED_F_NO_NOTIFY)),
				 __ATOMIC_RELAXED);
	}
	/*
	 * The store above must be visible before we look at avail->idx again; otherwise the guest
	 * may add a buffer, see the old flag/event and skip the kick, while we see no buffer.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	avail_idx = le16toh(__atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE));
	return avail_idx != vq->last_avail_idx;
}

void vq_push(struct vq *vq, uint16_t head, uint32_t len)
{
	struct vring_used_elem *e;

	if (!vq->used)
		return;
	e = &vq->used->ring[vq->used_idx & (vq->num - 1)];
	__atomic_store_n(&e->id, htole32(head), __ATOMIC_RELAXED);
	__atomic_store_n(&e->len, htole32(len), __ATOMIC_RELAXED);
	vq->used_idx++;
	/* Release: the element is visible before the index that publishes it. */
	__atomic_store_n(&vq->used->idx, htole16(vq->used_idx), __ATOMIC_RELEASE);
}

bool vq_should_notify(struct vq *vq)
{
	uint16_t old, new, event;
	bool valid;

	if (!vq->used)
		return false;
	/* Our used->idx store must be visible before we read what the guest asked for. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx) {
		uint16_t f = le16toh(__atomic_load_n(&vq->avail->flags, __ATOMIC_RELAXED));

		return !(f & VRING_AVAIL_F_NO_INTERRUPT);
	}
	old = vq->signalled_used;
	valid = vq->signalled_used_valid;
	new = vq->signalled_used = vq->used_idx;
	vq->signalled_used_valid = true;
	event = le16toh(__atomic_load_n(used_event_ptr(vq), __ATOMIC_RELAXED));
	return !valid || vring_need_event(event, new, old);
}

void vq_notify(struct vq *vq)
{
	if (vq->call_fd >= 0 && vq_should_notify(vq))
		(void)eventfd_write(vq->call_fd, 1);
}
