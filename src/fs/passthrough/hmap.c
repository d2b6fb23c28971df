// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A small chained hash map of intrusive nodes. Callers own the locking. Keys are reduced to a
 * 64-bit hash by the caller; chains are compared by hash first and by the full key by the caller.
 */
#include <errno.h>
#include <stdlib.h>

#include "fs/passthrough/pt.h"

#define PT_HMAP_MIN_BUCKETS 64

uint64_t pt_hash64(uint64_t x)
{
	/* splitmix64 finaliser: node ids are sequential, inode numbers clustered. */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

int pt_hmap_init(struct pt_hmap *m)
{
	m->buckets = calloc(PT_HMAP_MIN_BUCKETS, sizeof(*m->buckets));
	if (!m->buckets)
		return -ENOMEM;
	m->nbuckets = PT_HMAP_MIN_BUCKETS;
	m->count = 0;
	return 0;
}

void pt_hmap_done(struct pt_hmap *m)
{
	free(m->buckets);
	m->buckets = NULL;
	m->nbuckets = 0;
	m->count = 0;
}

static void pt_hmap_grow(struct pt_hmap *m)
{
	size_t n = m->nbuckets * 2;
	struct pt_hnode **b = calloc(n, sizeof(*b));

	if (!b)
		return;
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct pt_hnode *e = m->buckets[i];

		while (e) {
			struct pt_hnode *next = e->next;
			size_t j = e->hash & (n - 1);

			e->next = b[j];
			b[j] = e;
			e = next;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = n;
}

void pt_hmap_insert(struct pt_hmap *m, struct pt_hnode *n, uint64_t hash)
{
	size_t i;

	if (m->count >= m->nbuckets * 2)
		pt_hmap_grow(m);
	i = hash & (m->nbuckets - 1);
	n->hash = hash;
	n->next = m->buckets[i];
	m->buckets[i] = n;
	m->count++;
}

void pt_hmap_remove(struct pt_hmap *m, struct pt_hnode *n)
{
	struct pt_hnode **pp = &m->buckets[n->hash & (m->nbuckets - 1)];

	for (; *pp; pp = &(*pp)->next) {
		if (*pp == n) {
			*pp = n->next;
			n->next = NULL;
			m->count--;
			return;
		}
	}
}

struct pt_hnode *pt_hmap_chain(const struct pt_hmap *m, uint64_t hash)
{
	return m->buckets[hash & (m->nbuckets - 1)];
}

struct pt_hnode *pt_hmap_take_all(struct pt_hmap *m)
{
	struct pt_hnode *list = NULL;

	for (size_t i = 0; i < m->nbuckets; i++) {
		struct pt_hnode *e = m->buckets[i];

		while (e) {
			struct pt_hnode *next = e->next;

			e->next = list;
			list = e;
			e = next;
		}
		m->buckets[i] = NULL;
	}
	m->count = 0;
	return list;
}
