/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guest memory (memfd, one or two regions, a first-fit allocator in 64-byte units) and the
 * driver side of split virtqueues: build chains, publish them, find used elements, copy replies.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "fe_internal.h"
#include "util/macros.h"

#define FE_POISON     0xa5
#define FE_MAX_PIECES 5

static char abandoned;

int fe_mem_create(struct fe *fe)
{
	size_t size = fe->opts.mem_size;

	if (size < (1u << 20) || size % (2u << 20))
		return -EINVAL;
	fe->memfd = memfd_create("fe-guest-ram", MFD_CLOEXEC);
	if (fe->memfd < 0)
		return -errno;
	if (ftruncate(fe->memfd, (off_t)size) < 0)
		return -errno;
	fe->mem_size = size;
	fe->nregions = fe->opts.mem_regions;
	size_t per = size / fe->nregions;
	for (unsigned i = 0; i < fe->nregions; i++) {
		struct fe_region *rg = &fe->regions[i];
		rg->gpa = FE_GPA_BASE + i * per;
		rg->size = per;
		rg->offset = i * per;
		/* Separate mappings: the daemon must not assume UVAs are contiguous. */
		void *p = mmap(NULL, per, PROT_READ | PROT_WRITE, MAP_SHARED, fe->memfd,
			       (off_t)rg->offset);
		if (p == MAP_FAILED)
			return -errno;
		rg->host = p;
	}
	fe->nunits = size / FE_ALLOC_UNIT;
	fe->bitmap = calloc((fe->nunits + 63) / 64, sizeof(uint64_t));
	return fe->bitmap ? 0 : -ENOMEM;
}

uint64_t fe_region_boundary(const struct fe *fe)
{
	return fe->nregions > 1 ? fe->regions[1].gpa : 0;
}

void *fe_gpa_ptr(struct fe *fe, uint64_t gpa, size_t len)
{
	for (unsigned i = 0; i < fe->nregions; i++) {
		struct fe_region *rg = &fe->regions[i];
		if (gpa >= rg->gpa && gpa - rg->gpa <= rg->size &&
		    len <= rg->size - (gpa - rg->gpa))
			return rg->host + (gpa - rg->gpa);
	}
	return NULL;
}

/* Copy across region boundaries one region piece at a time. */
static int mem_copy(struct fe *fe, uint64_t gpa, void *buf, size_t len, bool to_guest)
{
	while (len > 0) {
		size_t chunk = 0;
		uint8_t *p = NULL;
		for (unsigned i = 0; i < fe->nregions; i++) {
			struct fe_region *rg = &fe->regions[i];
			if (gpa >= rg->gpa && gpa - rg->gpa < rg->size) {
				chunk = MIN(len, rg->size - (gpa - rg->gpa));
				p = rg->host + (gpa - rg->gpa);
			}
		}
		if (!p)
			return -EFAULT;
		if (to_guest)
			memcpy(p, buf, chunk);
		else
			memcpy(buf, p, chunk);
		buf = (uint8_t *)buf + chunk;
		gpa += chunk;
		len -= chunk;
	}
	return 0;
}

int fe_mem_write(struct fe *fe, uint64_t gpa, const void *src, size_t len)
{
	return mem_copy(fe, gpa, (void *)src, len, true);
}

int fe_mem_read(struct fe *fe, uint64_t gpa, void *dst, size_t len)
{
	return mem_copy(fe, gpa, dst, len, false);
}

static bool unit_used(const struct fe *fe, size_t u)
{
	return fe->bitmap[u / 64] & (1ull << (u % 64));
}

/* Bits [from, from + n) of one bitmap word, n <= 64 - from % 64. */
static uint64_t word_mask(size_t from, size_t n)
{
	return (n == 64 ? UINT64_MAX : (1ull << n) - 1) << (from % 64);
}

/* A word at a time: 1 MiB is 16,384 units, and the benchmark allocates that per request. */
static void units_mark(struct fe *fe, size_t start, size_t n, bool used)
{
	while (n > 0) {
		size_t k = MIN(n, 64 - start % 64);
		uint64_t m = word_mask(start, k);
		if (used)
			fe->bitmap[start / 64] |= m;
		else
			fe->bitmap[start / 64] &= ~m;
		start += k;
		n -= k;
	}
}

static bool find_run(const struct fe *fe, size_t from, size_t to, size_t n, size_t *ret)
{
	size_t run = 0;

	for (size_t u = from; u < to;) {
		uint64_t w = fe->bitmap[u / 64];
		if (u % 64 == 0 && u + 64 <= to && (w == UINT64_MAX || w == 0)) {
			/* A whole word, used or free; a free one may complete the run. */
			if (w == UINT64_MAX) {
				run = 0;
			} else if (run + 64 >= n) {
				*ret = u - run;
				return true;
			} else {
				run += 64;
			}
			u += 64;
			continue;
		}
		if (unit_used(fe, u)) {
			run = 0;
		} else if (++run == n) {
			*ret = u + 1 - n;
			return true;
		}
		u++;
	}
	return false;
}

int fe_mem_alloc(struct fe *fe, size_t len, uint64_t *ret_gpa)
{
	size_t n = MAX((len + FE_ALLOC_UNIT - 1) / FE_ALLOC_UNIT, (size_t)1), start;
	size_t hint = MIN(fe->alloc_hint, fe->nunits);

	if (!find_run(fe, hint, fe->nunits, n, &start) &&
	    !find_run(fe, 0, MIN(hint + n, fe->nunits), n, &start))
		return -ENOMEM;
	units_mark(fe, start, n, true);
	fe->alloc_hint = start + n;
	*ret_gpa = FE_GPA_BASE + start * FE_ALLOC_UNIT;
	return 0;
}

void fe_mem_free(struct fe *fe, uint64_t gpa, size_t len)
{
	size_t n = MAX((len + FE_ALLOC_UNIT - 1) / FE_ALLOC_UNIT, (size_t)1);
	units_mark(fe, (gpa - FE_GPA_BASE) / FE_ALLOC_UNIT, n, false);
}

static int ring_alloc(struct fe *fe, size_t len, uint64_t *ret_gpa, void **ret_ptr)
{
	int r = fe_mem_alloc(fe, len, ret_gpa);
	if (r < 0)
		return r;
	*ret_ptr = fe_gpa_ptr(fe, *ret_gpa, len);
	if (!*ret_ptr)
		return -ENOMEM;
	memset(*ret_ptr, 0, len);
	return 0;
}

int fe_ring_setup(struct fe *fe)
{
	unsigned num = fe->opts.queue_size;

	for (unsigned i = 0; i < fe->nqueues; i++) {
		struct fe_vq *vq = &fe->vq[i];
		void *p;
		int r;
		vq->num = num;
		if ((r = ring_alloc(fe, 16u * num, &vq->desc_gpa, &p)) < 0)
			return r;
		vq->desc = p;
		if ((r = ring_alloc(fe, 6 + 2u * num, &vq->avail_gpa, &p)) < 0)
			return r;
		vq->avail = p;
		if ((r = ring_alloc(fe, 6 + 8u * num, &vq->used_gpa, &p)) < 0)
			return r;
		vq->used = p;
		vq->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		vq->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		vq->free_desc = calloc(num, sizeof(uint16_t));
		vq->slots = calloc(num, sizeof(struct fe_slot));
		vq->done = calloc(num, sizeof(struct fe_completion));
		if (vq->kick_fd < 0 || vq->call_fd < 0)
			return -errno;
		if (!vq->free_desc || !vq->slots || !vq->done)
			return -ENOMEM;
		for (unsigned d = 0; d < num; d++)
			vq->free_desc[d] = (uint16_t)(num - 1 - d);
		vq->nfree = num;
	}
	if (fe->opts.straddle && fe->nregions > 1)
		fe->alloc_hint = (fe->regions[1].gpa - FE_GPA_BASE) / FE_ALLOC_UNIT - 1;
	return 0;
}

void fe_ring_teardown(struct fe *fe)
{
	for (unsigned i = 0; i < FE_MAX_QUEUES; i++) {
		struct fe_vq *vq = &fe->vq[i];
		safe_close(vq->kick_fd);
		safe_close(vq->call_fd);
		if (vq->slots)
			for (unsigned d = 0; d < vq->num; d++)
				free(vq->slots[d].out);
		free(vq->slots);
		free(vq->free_desc);
		free(vq->done);
	}
}

static void slot_release(struct fe *fe, struct fe_vq *vq, struct fe_slot *s);

void fe_ring_reset(struct fe *fe)
{
	for (unsigned i = 0; i < fe->nqueues; i++) {
		struct fe_vq *vq = &fe->vq[i];
		uint64_t v;

		/* Whatever was in flight is gone with the device. */
		for (unsigned d = 0; d < vq->num; d++)
			if (vq->slots[d].busy)
				slot_release(fe, vq, &vq->slots[d]);
		memset(vq->desc, 0, 16u * vq->num);
		memset(vq->avail, 0, 6 + 2u * vq->num);
		memset(vq->used, 0, 6 + 8u * vq->num);
		vq->avail_idx = vq->last_used = vq->base = 0;
		for (unsigned d = 0; d < vq->num; d++)
			vq->free_desc[d] = (uint16_t)(vq->num - 1 - d);
		vq->nfree = vq->num;
		vq->ndone = vq->inflight = 0;
		while (read(vq->call_fd, &v, sizeof(v)) > 0)
			;
	}
}

static bool event_idx(const struct fe *fe)
{
	return fe->features & (1ull << VIRTIO_RING_F_EVENT_IDX);
}

unsigned fe_kicks(const struct fe *fe, unsigned q)
{
	return q < fe->nqueues ? fe->vq[q].kicks : 0;
}

void fe_vq_kick(struct fe *fe, unsigned q)
{
	uint64_t one = 1;

	fe->vq[q].kicks++;
	if (write(fe->vq[q].kick_fd, &one, sizeof(one)) < 0)
		perror("fe: kick");
}

static void publish(struct fe *fe, unsigned q, uint16_t head)
{
	struct fe_vq *vq = &fe->vq[q];
	uint16_t old = vq->avail_idx, new = (uint16_t)(old + 1);

	vq->avail->ring[old % vq->num] = head;
	/* The entry must be visible before the index that publishes it. */
	__atomic_store_n(&vq->avail->idx, new, __ATOMIC_RELEASE);
	vq->avail_idx = new;
	/* Order the index store before reading the device's suppression state. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	bool kick;
	if (event_idx(fe)) {
		uint16_t ev =
			__atomic_load_n((uint16_t *)&vq->used->ring[vq->num], __ATOMIC_RELAXED);
		kick = vring_need_event(ev, new, old);
	} else {
		kick = !(__atomic_load_n(&vq->used->flags, __ATOMIC_RELAXED) &
			 VRING_USED_F_NO_NOTIFY);
	}
	if (kick && vq->hold_kicks)
		vq->kick_owed = true;
	else if (kick)
		fe_vq_kick(fe, q);
}

void fe_hold_kicks(struct fe *fe, unsigned q, bool hold)
{
	struct fe_vq *vq = &fe->vq[q];

	vq->hold_kicks = hold;
	if (!hold && vq->kick_owed) {
		vq->kick_owed = false;
		fe_vq_kick(fe, q);
	}
}

struct vring_desc *fe_vq_desc_table(struct fe *fe, unsigned q)
{
	return q < fe->nqueues ? fe->vq[q].desc : NULL;
}

void fe_vq_raw_publish(struct fe *fe, unsigned q, uint16_t head)
{
	struct fe_vq *vq = &fe->vq[q];
	uint16_t old = vq->avail_idx;
	vq->avail->ring[old % vq->num] = head;
	__atomic_store_n(&vq->avail->idx, (uint16_t)(old + 1), __ATOMIC_RELEASE);
	vq->avail_idx = (uint16_t)(old + 1);
	fe_vq_kick(fe, q);
}

void fe_vq_raw_set_avail_idx(struct fe *fe, unsigned q, uint16_t idx)
{
	struct fe_vq *vq = &fe->vq[q];
	__atomic_store_n(&vq->avail->idx, idx, __ATOMIC_RELEASE);
	vq->avail_idx = idx;
	fe_vq_kick(fe, q);
}

uint16_t fe_vq_used_idx(struct fe *fe, unsigned q)
{
	return __atomic_load_n(&fe->vq[q].used->idx, __ATOMIC_ACQUIRE);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool used_pending(struct fe_vq *vq)
{
	return __atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE) != vq->last_used;
}

/* Wait until the used ring has something new; a slice timeout that finds entries is a missed call.
 */
static int wait_used(struct fe *fe, unsigned q, int64_t deadline)
{
	struct fe_vq *vq = &fe->vq[q];

	for (;;) {
		if (used_pending(vq))
			return 0;
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = {.fd = vq->call_fd, .events = POLLIN};
		int r = poll(&p, 1, (int)MIN(left, 250));
		if (r > 0) {
			uint64_t v;
			if (read(vq->call_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				return -errno;
		} else if (r == 0 && used_pending(vq)) {
			fe->missed_calls++;
		}
	}
}

int fe_wait_any(struct fe *fe, unsigned q0, unsigned nq, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	struct pollfd p[FE_MAX_QUEUES];

	if (nq == 0 || nq > FE_MAX_QUEUES || q0 + nq > fe->nqueues)
		return -EINVAL;
	for (;;) {
		for (unsigned i = 0; i < nq; i++) {
			struct fe_vq *vq = &fe->vq[q0 + i];
			if (vq->ndone > 0 || used_pending(vq))
				return 0;
			p[i] = (struct pollfd){.fd = vq->call_fd, .events = POLLIN};
		}
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		int r = poll(p, nq, (int)MIN(left, 250));
		for (unsigned i = 0; r > 0 && i < nq; i++) {
			uint64_t v;
			if ((p[i].revents & POLLIN) && read(p[i].fd, &v, sizeof(v)) < 0 &&
			    errno != EAGAIN)
				return -errno;
		}
	}
}

int fe_vq_raw_wait(struct fe *fe, unsigned q, struct vring_used_elem *ret, int timeout_ms)
{
	struct fe_vq *vq = &fe->vq[q];
	int r = wait_used(fe, q, now_ms() + timeout_ms);
	if (r < 0)
		return r;
	*ret = vq->used->ring[vq->last_used % vq->num];
	vq->last_used++;
	if (event_idx(fe))
		__atomic_store_n((uint16_t *)&vq->avail->ring[vq->num], vq->last_used,
				 __ATOMIC_RELEASE);
	return 0;
}

static size_t iov_total(const struct iovec *iov, int n)
{
	size_t t = 0;
	for (int i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t;
}

/* Split mode: odd-sized pieces so no header lands whole in one descriptor. */
static unsigned pieces(const struct fe *fe, size_t len, uint32_t *sizes)
{
	static const uint32_t odd[] = {1, 3, 7, 13};
	unsigned n = 0;

	if (len == 0)
		return 0;
	if (fe->opts.split_descs)
		for (unsigned i = 0; i < ARRAY_SIZE(odd) && len > odd[i]; i++, n++) {
			sizes[n] = odd[i];
			len -= odd[i];
		}
	sizes[n++] = (uint32_t)len;
	return n;
}

static void slot_release(struct fe *fe, struct fe_vq *vq, struct fe_slot *s)
{
	if (s->in_len)
		fe_mem_free(fe, s->in_gpa, s->in_len);
	if (s->out_len)
		fe_mem_free(fe, s->out_gpa, s->out_len);
	if (s->ind_len)
		fe_mem_free(fe, s->ind_gpa, s->ind_len);
	free(s->out);
	*s = (struct fe_slot){0};
}

static int alloc_bufs(struct fe *fe, struct fe_slot *s)
{
	if (fe->opts.straddle && fe->nregions > 1)
		fe->alloc_hint = (fe->regions[1].gpa - FE_GPA_BASE) / FE_ALLOC_UNIT - 1;
	if (s->in_len && fe_mem_alloc(fe, s->in_len, &s->in_gpa) < 0)
		goto fail;
	if (s->out_len && fe_mem_alloc(fe, s->out_len, &s->out_gpa) < 0)
		goto fail_in;
	if (s->ind_len && fe_mem_alloc(fe, s->ind_len, &s->ind_gpa) < 0)
		goto fail_out;
	return 0;
fail_out:
	if (s->out_len)
		fe_mem_free(fe, s->out_gpa, s->out_len);
fail_in:
	if (s->in_len)
		fe_mem_free(fe, s->in_gpa, s->in_len);
fail:
	return -EAGAIN;
}

int fe_submit(struct fe *fe, unsigned q, const struct iovec *in, int nin, const struct iovec *out,
	      int nout, void *cookie)
{
	struct vring_desc chain[2 * FE_MAX_PIECES];
	uint32_t isz[FE_MAX_PIECES], osz[FE_MAX_PIECES];
	struct fe_slot s = {.busy = true, .cookie = cookie};
	struct fe_vq *vq;

	if (q >= fe->nqueues)
		return -EINVAL;
	vq = &fe->vq[q];
	s.in_len = iov_total(in, nin);
	s.out_len = iov_total(out, nout);
	unsigned ni = pieces(fe, s.in_len, isz), no = pieces(fe, s.out_len, osz);
	unsigned nd = ni + no, need = fe->opts.indirect ? 1 : nd;
	if (nd == 0)
		return -EINVAL;
	if (vq->nfree < need)
		return -EAGAIN;
	s.ndesc = nd;
	if (fe->opts.indirect)
		s.ind_len = nd * sizeof(struct vring_desc);
	if (alloc_bufs(fe, &s) < 0)
		return -EAGAIN;
	if (nout > 0) {
		s.out = calloc((size_t)nout, sizeof(*out));
		if (!s.out) {
			slot_release(fe, vq, &s);
			return -ENOMEM;
		}
		memcpy(s.out, out, (size_t)nout * sizeof(*out));
		s.nout = nout;
	}
	uint64_t off = 0;
	for (int i = 0; i < nin; i++) {
		if (in[i].iov_base || !fe->opts.bulk_in_place)
			fe_mem_write(fe, s.in_gpa + off, in[i].iov_base, in[i].iov_len);
		off += in[i].iov_len;
	}
	/* Poison the writable area so replies that claim bytes they did not write show up. */
	for (off = 0; off < s.out_len && !fe->opts.bulk_in_place;) {
		uint8_t poison[4096];
		size_t n = MIN(sizeof(poison), s.out_len - off);
		memset(poison, FE_POISON, n);
		fe_mem_write(fe, s.out_gpa + off, poison, n);
		off += n;
	}
	off = 0;
	for (unsigned i = 0; i < ni; off += isz[i], i++)
		chain[i] = (struct vring_desc){.addr = s.in_gpa + off, .len = isz[i]};
	off = 0;
	for (unsigned i = 0; i < no; off += osz[i], i++)
		chain[ni + i] = (struct vring_desc){
			.addr = s.out_gpa + off, .len = osz[i], .flags = VRING_DESC_F_WRITE};
	uint16_t head;
	if (fe->opts.indirect) {
		for (unsigned i = 0; i < nd; i++) {
			if (i + 1 < nd) {
				chain[i].flags |= VRING_DESC_F_NEXT;
				chain[i].next = (uint16_t)(i + 1);
			}
		}
		fe_mem_write(fe, s.ind_gpa, chain, s.ind_len);
		head = vq->free_desc[--vq->nfree];
		vq->desc[head] = (struct vring_desc){.addr = s.ind_gpa,
						     .len = (uint32_t)s.ind_len,
						     .flags = VRING_DESC_F_INDIRECT};
	} else {
		uint16_t idx[2 * FE_MAX_PIECES];
		for (unsigned i = 0; i < nd; i++)
			idx[i] = vq->free_desc[--vq->nfree];
		for (unsigned i = 0; i < nd; i++) {
			if (i + 1 < nd) {
				chain[i].flags |= VRING_DESC_F_NEXT;
				chain[i].next = idx[i + 1];
			}
			vq->desc[idx[i]] = chain[i];
		}
		head = idx[0];
	}
	vq->slots[head] = s;
	vq->inflight++;
	publish(fe, q, head);
	return 0;
}

/* Give back the descriptors of a completed chain, following our own links. */
static void free_chain(struct fe_vq *vq, uint16_t head, const struct fe_slot *s)
{
	if (s->ind_len) {
		vq->free_desc[vq->nfree++] = head;
		return;
	}
	uint16_t d = head;
	for (unsigned i = 0; i < s->ndesc; i++) {
		vq->free_desc[vq->nfree++] = d;
		d = vq->desc[d].next;
	}
}

/* Move every new used element into the done stash. */
static int harvest(struct fe *fe, unsigned q)
{
	struct fe_vq *vq = &fe->vq[q];
	int n = 0;

	while (used_pending(vq)) {
		struct vring_used_elem e = vq->used->ring[vq->last_used % vq->num];
		vq->last_used++;
		if (e.id >= vq->num || !vq->slots[e.id].busy) {
			fprintf(stderr, "fe: queue %u: used id %u is not in flight\n", q, e.id);
			return -FE_EBADREPLY;
		}
		struct fe_slot *s = &vq->slots[e.id];
		if (e.len > s->out_len)
			fprintf(stderr, "fe: queue %u: used len %u > writable %zu\n", q, e.len,
				s->out_len);
		size_t left = MIN((size_t)e.len, s->out_len), off = 0;
		for (int i = 0; i < s->nout && left > 0; i++) {
			size_t c = MIN(left, s->out[i].iov_len);
			if (s->out[i].iov_base)
				fe_mem_read(fe, s->out_gpa + off, s->out[i].iov_base, c);
			off += c;
			left -= c;
		}
		if (s->cookie != &abandoned)
			vq->done[vq->ndone++] =
				(struct fe_completion){.cookie = s->cookie, .len = e.len};
		free_chain(vq, (uint16_t)e.id, s);
		slot_release(fe, vq, s);
		vq->inflight--;
		n++;
	}
	if (event_idx(fe)) {
		__atomic_store_n((uint16_t *)&vq->avail->ring[vq->num], vq->last_used,
				 __ATOMIC_RELEASE);
		/* As a guest driver does: used_event must be visible before we look at used->idx
		 * again (wait_used()), or a push racing with us goes without a call. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	}
	return n;
}

int fe_reap(struct fe *fe, unsigned q, struct fe_completion *c, int max, int timeout_ms)
{
	struct fe_vq *vq;
	int r;

	if (q >= fe->nqueues || max <= 0)
		return -EINVAL;
	vq = &fe->vq[q];
	if ((r = harvest(fe, q)) < 0)
		return r;
	if (vq->ndone == 0) {
		r = wait_used(fe, q, now_ms() + timeout_ms);
		if (r == -ETIMEDOUT)
			return 0;
		if (r < 0 || (r = harvest(fe, q)) < 0)
			return r;
	}
	int n = (int)MIN((unsigned)max, vq->ndone);
	memcpy(c, vq->done, (size_t)n * sizeof(*c));
	memmove(vq->done, vq->done + n, (vq->ndone - (unsigned)n) * sizeof(*c));
	vq->ndone -= (unsigned)n;
	return n;
}

int fe_wait(struct fe *fe, unsigned q, void *cookie, uint32_t *ret_len, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	struct fe_vq *vq;

	if (q >= fe->nqueues)
		return -EINVAL;
	vq = &fe->vq[q];
	for (;;) {
		int r = harvest(fe, q);
		if (r < 0)
			return r;
		for (unsigned i = 0; i < vq->ndone; i++) {
			if (vq->done[i].cookie != cookie)
				continue;
			if (ret_len)
				*ret_len = vq->done[i].len;
			memmove(vq->done + i, vq->done + i + 1,
				(vq->ndone - i - 1) * sizeof(vq->done[0]));
			vq->ndone--;
			return 0;
		}
		if ((r = wait_used(fe, q, deadline)) < 0)
			return r;
	}
}

unsigned fe_inflight(const struct fe *fe, unsigned q)
{
	return q < fe->nqueues ? fe->vq[q].inflight : 0;
}

/* A request whose waiter gave up: its reply is dropped, its buffers freed when it completes. */
void fe_abandon(struct fe *fe, unsigned q, void *cookie)
{
	struct fe_vq *vq = &fe->vq[q];
	for (unsigned d = 0; d < vq->num; d++) {
		struct fe_slot *s = &vq->slots[d];
		if (s->busy && s->cookie == cookie) {
			free(s->out);
			s->out = NULL;
			s->nout = 0;
			s->cookie = &abandoned;
		}
	}
}

int fe_request(struct fe *fe, unsigned q, const struct iovec *in, int nin, struct iovec *out,
	       int nout, uint32_t *ret_len, int timeout_ms)
{
	char marker;
	int r = fe_submit(fe, q, in, nin, out, nout, &marker);
	if (r < 0)
		return r;
	r = fe_wait(fe, q, &marker, ret_len, timeout_ms);
	if (r < 0)
		fe_abandon(fe, q, &marker);
	return r;
}
