/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Guest memory: the regions the frontend shares with us (SET_MEM_TABLE, ADD_MEM_REG) and the
 * only code that turns a guest-physical or frontend-virtual address into a host pointer.
 *
 * Every translation checks that the whole range [addr, addr + len) lies inside mapped memory,
 * with overflow-safe arithmetic; a zero-length range never translates (callers skip empty
 * buffers instead of asking for them).
 *
 * Concurrency: a struct gmem_table is an immutable, refcounted snapshot. The control thread
 * builds a new table for every change and swaps its pointer; each popped request keeps a
 * reference to the table it was translated against until vhu_req_done(), so its iovecs stay
 * mapped even if the frontend removes the region meanwhile. Regions are refcounted too, so a
 * table built by ADD_MEM_REG/REM_MEM_REG shares the mappings of the old one. A region is
 * unmapped when the last table holding it goes away.
 */
#ifndef VFSD_TRANSPORT_GMEM_H
#define VFSD_TRANSPORT_GMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "util/macros.h"

/* What CONFIGURE_MEM_SLOTS lets the frontend use (GET_MAX_MEM_SLOTS answer). */
#define GMEM_MAX_REGIONS 509

/* One region as the frontend describes it (vhost-user memory region description). */
struct gmem_region_desc {
	uint64_t guest_addr;
	uint64_t size;
	uint64_t user_addr;
	uint64_t mmap_offset;
};

struct gmem_region;
struct gmem_table;

/*
 * Maps [0, mmap_offset + size) of fd MAP_SHARED and keeps the part from mmap_offset on. The fd
 * is not taken: the caller closes it (the mapping does not need it). Returns 0 or -errno.
 */
int gmem_region_map(const struct gmem_region_desc *d, int fd, struct gmem_region **ret);
/* Wraps memory the caller owns (tests, fuzzers): never unmapped by us. */
int gmem_region_wrap(const struct gmem_region_desc *d, void *host, struct gmem_region **ret);
struct gmem_region *gmem_region_ref(struct gmem_region *r);
void gmem_region_unref(struct gmem_region *r);

/*
 * Builds a table from n regions (references are taken, the caller keeps its own). Fails with
 * -EINVAL when guest-physical ranges overlap, -E2BIG beyond GMEM_MAX_REGIONS.
 */
int gmem_table_new(struct gmem_region *const *regions, unsigned n, struct gmem_table **ret);
/* New table = old (may be NULL) plus r; -EINVAL if r overlaps a region of old. */
int gmem_table_add(const struct gmem_table *old, struct gmem_region *r, struct gmem_table **ret);
/* New table = old minus the region with this guest address and size; -ENOENT if none. */
int gmem_table_remove(const struct gmem_table *old, uint64_t guest_addr, uint64_t size,
		      struct gmem_table **ret);
struct gmem_table *gmem_table_ref(struct gmem_table *t);
void gmem_table_unref(struct gmem_table *t);
unsigned gmem_table_count(const struct gmem_table *t);

/* Host pointer for [guest_addr, guest_addr + len) inside ONE region, or NULL. */
void *gmem_gpa_to_host(const struct gmem_table *t, uint64_t guest_addr, uint64_t len);
/* Host pointer for the frontend-virtual range [uva, uva + len) inside ONE region, or NULL. */
void *gmem_uva_to_host(const struct gmem_table *t, uint64_t uva, uint64_t len);

/*
 * The guest-physical address of the host range [host, host + len) if it lies inside ONE region
 * of t (the reverse of gmem_gpa_to_host, for the dirty log). Linear in the region count.
 */
bool gmem_host_to_gpa(const struct gmem_table *t, const void *host, uint64_t len, uint64_t *gpa);
/* One past the highest guest-physical address mapped by t (UINT64_MAX for a region that ends
 * at 2^64); 0 for an empty table. */
uint64_t gmem_table_gpa_end(const struct gmem_table *t);

/*
 * Translates [guest_addr, guest_addr + len) into iovecs, splitting where the range crosses from
 * one region into a guest-physically adjacent one. Stores at most max iovecs. Returns 0 and the
 * count in *ret_n, -EFAULT if any byte is unmapped (or len is 0), -E2BIG if max is too small.
 */
int gmem_gpa_to_iov(const struct gmem_table *t, uint64_t guest_addr, uint64_t len,
		    struct iovec *iov, unsigned max, unsigned *ret_n);

static inline void gmem_table_unrefp(struct gmem_table **t)
{
	if (*t)
		gmem_table_unref(*t);
}
#define _cleanup_gmem_table_ _cleanup_(gmem_table_unrefp)

static inline void gmem_region_unrefp(struct gmem_region **r)
{
	if (*r)
		gmem_region_unref(*r);
}
#define _cleanup_gmem_region_ _cleanup_(gmem_region_unrefp)

#endif
