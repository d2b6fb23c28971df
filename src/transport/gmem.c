/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "transport/gmem.h"
#include "util/log.h"

struct gmem_region {
	unsigned refs; /* atomic */
	bool owns_map;
	uint64_t guest_addr;
	uint64_t size;
	uint64_t user_addr;
	void *map_base; /* covers [0, map_len) of the fd */
	size_t map_len;
	uint8_t *host; /* map_base + mmap_offset: guest_addr lives here */
};

/* Sorted by guest_addr, no two overlapping: lookups bisect. */
struct gmem_table {
	unsigned refs; /* atomic */
	unsigned n;
	struct gmem_region *regions[];
};

/* Ranges are [start, start + size) with size > 0 and no wrap past 2^64. */
static bool range_ok(uint64_t start, uint64_t size)
{
	return size > 0 && size - 1 <= UINT64_MAX - start;
}

/* Whether [addr, addr + len) lies inside [start, start + size); overflow-safe. */
static bool range_inside(uint64_t addr, uint64_t len, uint64_t start, uint64_t size)
{
	uint64_t off;

	if (addr < start)
		return false;
	off = addr - start;
	return off < size && len <= size - off;
}

static int region_check(const struct gmem_region_desc *d)
{
	if (!range_ok(d->guest_addr, d->size) || !range_ok(d->user_addr, d->size))
		return -EINVAL;
	if (d->size > SIZE_MAX)
		return -EINVAL;
	return 0;
}

int gmem_region_wrap(const struct gmem_region_desc *d, void *host, struct gmem_region **ret)
{
	struct gmem_region *r;
	int err = region_check(d);

	if (err < 0)
		return err;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->refs = 1;
	r->guest_addr = d->guest_addr;
	r->size = d->size;
	r->user_addr = d->user_addr;
	r->host = host;
	*ret = r;
	return 0;
}

int gmem_region_map(const struct gmem_region_desc *d, int fd, struct gmem_region **ret)
{
	struct gmem_region *r;
	struct stat st;
	uint64_t len;
	void *p;
	int err = region_check(d);

	if (err < 0)
		return err;
	if (__builtin_add_overflow(d->mmap_offset, d->size, &len) || len > SIZE_MAX)
		return -EINVAL;
	if (fstat(fd, &st) < 0)
		return -errno;
	/* Touching a page past the end of a file raises SIGBUS: refuse such a region up front. */
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size < len)
		return -EINVAL;

	p = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	/* Guest RAM has no business in our core dumps. */
	(void)madvise(p, (size_t)len, MADV_DONTDUMP);

	err = gmem_region_wrap(d, (uint8_t *)p + d->mmap_offset, &r);
	if (err < 0) {
		munmap(p, (size_t)len);
		return err;
	}
	r->owns_map = true;
	r->map_base = p;
	r->map_len = (size_t)len;
	*ret = r;
	return 0;
}

struct gmem_region *gmem_region_ref(struct gmem_region *r)
{
	__atomic_add_fetch(&r->refs, 1, __ATOMIC_RELAXED);
	return r;
}

void gmem_region_unref(struct gmem_region *r)
{
	if (!r || __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	if (r->owns_map)
		munmap(r->map_base, r->map_len);
	free(r);
}

static int cmp_region(const void *a, const void *b)
{
	const struct gmem_region *ra = *(struct gmem_region *const *)a;
	const struct gmem_region *rb = *(struct gmem_region *const *)b;

	return ra->guest_addr < rb->guest_addr ? -1 : ra->guest_addr > rb->guest_addr;
}

int gmem_table_new(struct gmem_region *const *regions, unsigned n, struct gmem_table **ret)
{
	struct gmem_table *t;

	if (n > GMEM_MAX_REGIONS)
		return -E2BIG;
	t = calloc(1, sizeof(*t) + (size_t)n * sizeof(t->regions[0]));
	if (!t)
		return -ENOMEM;
	t->refs = 1;
	t->n = n;
	if (n)
		memcpy(t->regions, regions, (size_t)n * sizeof(t->regions[0]));
	qsort(t->regions, n, sizeof(t->regions[0]), cmp_region);

	/* Sorted by start, so an overlap can only be with the next region. */
	for (unsigned i = 1; i < n; i++) {
		const struct gmem_region *a = t->regions[i - 1], *b = t->regions[i];

		if (b->guest_addr - a->guest_addr < a->size) {
			free(t);
			return -EINVAL;
		}
	}
	for (unsigned i = 0; i < n; i++)
		gmem_region_ref(t->regions[i]);
	*ret = t;
	return 0;
}

int gmem_table_add(const struct gmem_table *old, struct gmem_region *r, struct gmem_table **ret)
{
	unsigned n = old ? old->n : 0;
	_cleanup_free_ struct gmem_region **v = NULL;

	if (n >= GMEM_MAX_REGIONS)
		return -E2BIG;
	v = malloc((n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (n)
		memcpy(v, old->regions, n * sizeof(*v));
	v[n] = r;
	return gmem_table_new(v, n + 1, ret);
}

int gmem_table_remove(const struct gmem_table *old, uint64_t guest_addr, uint64_t size,
		      struct gmem_table **ret)
{
	_cleanup_free_ struct gmem_region **v = NULL;
	unsigned n = 0;
	bool found = false;

	if (!old)
		return -ENOENT;
	v = malloc((old->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (unsigned i = 0; i < old->n; i++) {
		struct gmem_region *r = old->regions[i];

		if (!found && r->guest_addr == guest_addr && r->size == size) {
			found = true;
			continue;
		}
		v[n++] = r;
	}
	if (!found)
		return -ENOENT;
	return gmem_table_new(v, n, ret);
}

struct gmem_table *gmem_table_ref(struct gmem_table *t)
{
	__atomic_add_fetch(&t->refs, 1, __ATOMIC_RELAXED);
	return t;
}

void gmem_table_unref(struct gmem_table *t)
{
	if (!t || __atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	for (unsigned i = 0; i < t->n; i++)
		gmem_region_unref(t->regions[i]);
	free(t);
}

unsigned gmem_table_count(const struct gmem_table *t)
{
	return t ? t->n : 0;
}

/* The region holding guest_addr, or NULL. */
static const struct gmem_region *find_gpa(const struct gmem_table *t, uint64_t guest_addr)
{
	unsigned lo = 0, hi = t ? t->n : 0;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct gmem_region *r = t->regions[mid];

		if (guest_addr < r->guest_addr)
			hi = mid;
		else if (guest_addr - r->guest_addr >= r->size)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

void *gmem_gpa_to_host(const struct gmem_table *t, uint64_t guest_addr, uint64_t len)
{
	const struct gmem_region *r = find_gpa(t, guest_addr);

	if (!r || len == 0 || !range_inside(guest_addr, len, r->guest_addr, r->size))
		return NULL;
	return r->host + (guest_addr - r->guest_addr);
}

void *gmem_uva_to_host(const struct gmem_table *t, uint64_t uva, uint64_t len)
{
	if (!t || len == 0)
		return NULL;
	/* Only used at ring setup: a linear scan is fine. */
	for (unsigned i = 0; i < t->n; i++) {
		const struct gmem_region *r = t->regions[i];

		if (range_inside(uva, len, r->user_addr, r->size))
			return r->host + (uva - r->user_addr);
	}
	return NULL;
}

bool gmem_host_to_gpa(const struct gmem_table *t, const void *host, uint64_t len, uint64_t *gpa)
{
	uintptr_t h = (uintptr_t)host;

	if (!t || len == 0)
		return false;
	/* Only the dirty log needs it, and only while logging: a linear scan is fine. */
	for (unsigned i = 0; i < t->n; i++) {
		const struct gmem_region *r = t->regions[i];

		if (range_inside(h, len, (uintptr_t)r->host, r->size)) {
			*gpa = r->guest_addr + (h - (uintptr_t)r->host);
			return true;
		}
	}
	return false;
}

uint64_t gmem_table_gpa_end(const struct gmem_table *t)
{
	const struct gmem_region *r;

	if (!t || t->n == 0)
		return 0;
	/* Sorted and disjoint: the last region ends highest. */
	r = t->regions[t->n - 1];
	if (r->size - 1 == UINT64_MAX - r->guest_addr)
		return UINT64_MAX; /* ends at 2^64 */
	return r->guest_addr + r->size;
}

int gmem_gpa_to_iov(const struct gmem_table *t, uint64_t guest_addr, uint64_t len,
		    struct iovec *iov, unsigned max, unsigned *ret_n)
{
	unsigned n = 0;

	if (len == 0 || !range_ok(guest_addr, len))
		return -EFAULT;
	while (len > 0) {
		const struct gmem_region *r = find_gpa(t, guest_addr);
		uint64_t off, chunk;

		if (!r)
			return -EFAULT;
		if (n == max)
			return -E2BIG;
		off = guest_addr - r->guest_addr;
		chunk = MIN(len, r->size - off);
		iov[n].iov_base = r->host + off;
		iov[n].iov_len = (size_t)chunk;
		n++;
		/* range_ok() above: guest_addr + len does not wrap, so neither does this. */
		guest_addr += chunk;
		len -= chunk;
	}
	*ret_n = n;
	return 0;
}
