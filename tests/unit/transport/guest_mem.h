/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A fake guest for the transport tests: memory between PROT_NONE guard pages (so any access
 * outside it crashes the test instead of passing silently) and a split ring laid out in it.
 */
#ifndef VFSD_TESTS_TRANSPORT_GUEST_MEM_H
#define VFSD_TESTS_TRANSPORT_GUEST_MEM_H

#include <endian.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "transport/gmem.h"
#include "transport/virtq.h"

#define PAGE 4096u

/* Maps size bytes with a guard page on each side; returns the usable start. */
static inline uint8_t *guarded_alloc(size_t size)
{
	uint8_t *p = mmap(NULL, size + 2 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		abort();
	if (mprotect(p + PAGE, size, PROT_READ | PROT_WRITE) < 0)
		abort();
	return p + PAGE;
}

static inline void guarded_free(uint8_t *p, size_t size)
{
	munmap(p - PAGE, size + 2 * PAGE);
}

#define G_BASE 0x100000ull /* guest-physical and frontend-virtual base of the test memory */
#define G_SIZE (64 * PAGE)
#define G_BUF  (G_BASE + 16 * PAGE) /* where test buffers go */

struct guest {
	uint8_t *mem;
	struct gmem_table *t;
	struct vq vq;
	unsigned num;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t avail_idx;
};

static inline void *gp(struct guest *g, uint64_t gpa)
{
	return g->mem + (gpa - G_BASE);
}

static inline void guest_setup(struct guest *g, unsigned num, bool event_idx, bool indirect)
{
	struct gmem_region_desc d = {.guest_addr = G_BASE, .size = G_SIZE, .user_addr = G_BASE};
	struct gmem_region *r;
	uint64_t desc = G_BASE, avail = desc + 16ull * num,
		 used = (avail + 6 + 2ull * num + 3) & ~3ull;

	memset(g, 0, sizeof(*g));
	g->mem = guarded_alloc(G_SIZE);
	if (gmem_region_wrap(&d, g->mem, &r) < 0 || gmem_table_new(&r, 1, &g->t) < 0)
		abort();
	gmem_region_unref(r);
	g->num = num;
	g->desc = gp(g, desc);
	g->avail = gp(g, avail);
	g->used = gp(g, used);
	vq_init(&g->vq, 1);
	g->vq.num = num;
	g->vq.event_idx = event_idx;
	g->vq.indirect = indirect;
	if (vq_map(&g->vq, g->t, desc, avail, used) < 0)
		abort();
	vq_start(&g->vq);
}

static inline void guest_teardown(struct guest *g)
{
	gmem_table_unref(g->t);
	guarded_free(g->mem, G_SIZE);
}

static inline void set_desc(struct vring_desc *table, unsigned i, uint64_t addr, uint32_t len,
			    uint16_t flags, uint16_t next)
{
	table[i].addr = htole64(addr);
	table[i].len = htole32(len);
	table[i].flags = htole16(flags);
	table[i].next = htole16(next);
}

static inline void post(struct guest *g, uint16_t head)
{
	g->avail->ring[g->avail_idx % g->num] = htole16(head);
	g->avail_idx++;
	__atomic_store_n(&g->avail->idx, htole16(g->avail_idx), __ATOMIC_RELEASE);
}

#endif
