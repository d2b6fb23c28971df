/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A small length-checked byte writer and reader for the migration state (docs/migration.md):
 * fixed-width little-endian integers and u32-length-prefixed byte strings. Errors are sticky:
 * after the first one (-ENOMEM writing, -EBADMSG reading past the end or over a bound) every
 * call does nothing and reads return 0/NULL, so a parser checks `err` once per record.
 *
 * Trust: the reader's bytes are hostile; it never reads outside [p, p + len).
 */
#ifndef VFSD_UTIL_SBUF_H
#define VFSD_UTIL_SBUF_H

#include <stddef.h>
#include <stdint.h>

struct sbuf_w {
	uint8_t *buf; /* malloc'd; the caller frees it (or takes it) */
	size_t len, cap;
	int err;
};

void sbuf_put(struct sbuf_w *w, const void *p, size_t n);
void sbuf_put_u32(struct sbuf_w *w, uint32_t v);
void sbuf_put_u64(struct sbuf_w *w, uint64_t v);
/* u32 length, then the bytes. */
void sbuf_put_bytes(struct sbuf_w *w, const void *p, uint32_t n);
/* Room for a u64 filled in later with sbuf_patch_u64 (a section's length): its offset. */
size_t sbuf_reserve_u64(struct sbuf_w *w);
void sbuf_patch_u64(struct sbuf_w *w, size_t off, uint64_t v);

struct sbuf_r {
	const uint8_t *p;
	size_t len, off;
	int err;
};

static inline struct sbuf_r sbuf_reader(const void *p, size_t len)
{
	return (struct sbuf_r){.p = p, .len = len};
}

static inline size_t sbuf_remaining(const struct sbuf_r *r)
{
	return r->err ? 0 : r->len - r->off;
}

/* n bytes in place, or NULL (err set). */
const void *sbuf_take(struct sbuf_r *r, size_t n);
uint32_t sbuf_get_u32(struct sbuf_r *r);
uint64_t sbuf_get_u64(struct sbuf_r *r);
/* A u32-length-prefixed string of at most max bytes, in place; *ret_len its length. */
const void *sbuf_get_bytes(struct sbuf_r *r, uint32_t max, uint32_t *ret_len);
/* The next n bytes as a reader of their own (a section), skipped in r. */
struct sbuf_r sbuf_sub(struct sbuf_r *r, uint64_t n);

#endif
