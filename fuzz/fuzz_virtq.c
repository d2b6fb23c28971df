// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The descriptor-chain walker (transport/virtq.c) against guest-written rings.
 *
 * Guest memory is three regions, each between PROT_NONE guard pages: A at guest address 0 (the
 * rings and indirect tables live there), B right after A (a buffer may cross from A into B) and
 * C ending at 2^64 (overflow arithmetic). Any access the walker makes outside them faults.
 *
 * Input: queue size (1 << (b % 9)), feature bits, ring placement, start index, avail index and
 * flags, used_event, then the descriptor table, the avail ring entries, and the rest copied to
 * A after the rings (where indirect tables go). Chains are popped until the ring is empty or
 * broken; each one is checked to lie in guest memory, touched, and pushed back.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "fuzz_input.h"
#include "transport/gmem.h"
#include "transport/virtq.h"
#include "util/log.h"

#define PAGE	 4096u
#define A_SIZE	 (16 * PAGE)
#define B_SIZE	 (2 * PAGE)
#define C_SIZE	 (2 * PAGE)
#define A_GPA	 0ull
#define B_GPA	 (A_GPA + A_SIZE)
#define C_GPA	 (0ull - C_SIZE)
#define UVA_BIAS 0x7f0000000000ull /* frontend-virtual = guest-physical + bias */
#define DATA_OFF (2 * PAGE)	   /* input left after the rings goes here in A */

enum {
	F_EVENT_IDX = 1u << 0,
	F_INDIRECT = 1u << 1,
	F_RINGS_AT_END = 1u << 2, /* used ring ends exactly at the end of A */
};

struct region {
	uint64_t gpa;
	size_t size;
	uint8_t *host;
};

static struct region regions[3] = {
	{A_GPA, A_SIZE, NULL},
	{B_GPA, B_SIZE, NULL},
	{C_GPA, C_SIZE, NULL},
};
static struct gmem_table *table;
static struct vq_chain chain;

static uint8_t *guarded_alloc(size_t size)
{
	uint8_t *p = mmap(NULL, size + 2 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || mprotect(p + PAGE, size, PROT_READ | PROT_WRITE) < 0)
		abort();
	return p + PAGE;
}

static void setup_once(void)
{
	struct gmem_region *r[3];

	for (unsigned i = 0; i < 3; i++) {
		struct gmem_region_desc d = {
			.guest_addr = regions[i].gpa,
			.size = regions[i].size,
			/* C's frontend address must not wrap either. */
			.user_addr = i == 2 ? regions[i].gpa - UVA_BIAS : regions[i].gpa + UVA_BIAS,
		};

		regions[i].host = guarded_alloc(regions[i].size);
		FZ_CHECK(gmem_region_wrap(&d, regions[i].host, &r[i]) == 0);
	}
	FZ_CHECK(gmem_table_new(r, 3, &table) == 0);
	for (unsigned i = 0; i < 3; i++)
		gmem_region_unref(r[i]);
}

static bool in_guest(const void *p, size_t len)
{
	const uint8_t *b = p;

	for (unsigned i = 0; i < 3; i++) {
		const uint8_t *h = regions[i].host;

		if (b >= h && b < h + regions[i].size && len <= (size_t)(h + regions[i].size - b))
			return true;
	}
	return false;
}

/* Every iovec in one region, counts consistent; touch both ends so a stray one faults. */
static void check_chain(const struct vq *vq)
{
	uint64_t wr = 0;

	FZ_CHECK(chain.head < vq->num);
	FZ_CHECK(chain.nrd + chain.nwr <= VQ_MAX_IOV);
	for (unsigned i = 0; i < chain.nrd + chain.nwr; i++) {
		volatile uint8_t *b = chain.iov[i].iov_base;
		size_t len = chain.iov[i].iov_len;

		FZ_CHECK(len > 0 && in_guest(chain.iov[i].iov_base, len));
		(void)b[0];
		(void)b[len - 1];
		if (i >= chain.nrd) {
			wr += len;
			b[len - 1] = 0xa5;
		}
	}
	FZ_CHECK(wr == chain.wr_len);
}

struct layout {
	uint64_t desc, avail, used; /* offsets in A */
};

static void place_rings(unsigned num, bool event_idx, bool at_end, struct layout *l)
{
	uint64_t ev = event_idx ? 2 : 0;
	uint64_t avail_sz = 4 + 2ull * num + ev, used_sz = 4 + 8ull * num + ev;

	if (at_end) {
		l->used = (A_SIZE - used_sz) & ~3ull;
		l->avail = (l->used - avail_sz) & ~1ull;
		l->desc = (l->avail - 16ull * num) & ~15ull;
	} else {
		l->desc = 0;
		l->avail = 16ull * num;
		l->used = (l->avail + avail_sz + 3) & ~3ull;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = {data, size};
	uint8_t *a;
	unsigned num = 1u << (fz_u8(&in) % 9);
	uint8_t flags = fz_u8(&in);
	uint16_t start = fz_u16(&in), avail_idx = fz_u16(&in), avail_flags = fz_u16(&in);
	uint16_t used_event = fz_u16(&in);
	struct vring_avail *avail;
	struct layout l;
	struct vq vq;
	const uint8_t *rest;
	size_t n;

	if (!table) {
		log_set_level(LOG_LEVEL_OFF);
		setup_once();
	}
	a = regions[0].host;
	for (unsigned i = 0; i < 3; i++)
		memset(regions[i].host, 0, regions[i].size);

	place_rings(num, flags & F_EVENT_IDX, flags & F_RINGS_AT_END, &l);
	fz_bytes(&in, a + l.desc, 16ull * num);
	avail = (struct vring_avail *)(a + l.avail);
	fz_bytes(&in, avail->ring, 2ull * num);
	avail->flags = htole16(avail_flags);
	avail->idx = htole16(avail_idx);
	if (flags & F_EVENT_IDX)
		memcpy(&avail->ring[num], &used_event, sizeof(used_event));
	((struct vring_used *)(a + l.used))->idx = htole16(start);
	n = fz_take(&in, &rest, A_SIZE - 2 * DATA_OFF);
	memcpy(a + DATA_OFF, rest, n);

	vq_init(&vq, 1);
	vq.num = num;
	vq.event_idx = flags & F_EVENT_IDX;
	vq.indirect = flags & F_INDIRECT;
	FZ_CHECK(vq_map(&vq, table, A_GPA + UVA_BIAS + l.desc, A_GPA + UVA_BIAS + l.avail,
			A_GPA + UVA_BIAS + l.used) == 0);
	vq_start(&vq);
	vq.last_avail_idx = start;

	for (unsigned i = 0; i < 2 * num + 2; i++) {
		int r;

		if (i % 4 == 0)
			vq_disable_notify(&vq);
		r = vq_pop(&vq, table, &chain);
		if (r <= 0) {
			FZ_CHECK(r == 0 || r == -EBADMSG || r == -EIO);
			if (r == 0 && vq_enable_notify(&vq))
				continue;
			break;
		}
		check_chain(&vq);
		vq_push(&vq, chain.head, (uint32_t)MIN(chain.wr_len, UINT32_MAX));
		(void)vq_should_notify(&vq);
	}
	return 0;
}
