// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/sbuf.h"

static int sbuf_grow(struct sbuf_w *w, size_t n)
{
	size_t cap = w->cap ? w->cap : 4096;
	uint8_t *p;

	if (n > SIZE_MAX / 2 - w->len)
		return -ENOMEM;
	while (cap < w->len + n)
		cap *= 2;
	p = realloc(w->buf, cap);
	if (!p)
		return -ENOMEM;
	w->buf = p;
	w->cap = cap;
	return 0;
}

void sbuf_put(struct sbuf_w *w, const void *p, size_t n)
{
	if (w->err || n == 0)
		return;
	if (w->cap - w->len < n) {
		w->err = sbuf_grow(w, n);
		if (w->err)
			return;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

void sbuf_put_u32(struct sbuf_w *w, uint32_t v)
{
	uint8_t b[4];

	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	sbuf_put(w, b, sizeof(b));
}

void sbuf_put_u64(struct sbuf_w *w, uint64_t v)
{
	uint8_t b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	sbuf_put(w, b, sizeof(b));
}

void sbuf_put_bytes(struct sbuf_w *w, const void *p, uint32_t n)
{
	sbuf_put_u32(w, n);
	sbuf_put(w, p, n);
}

size_t sbuf_reserve_u64(struct sbuf_w *w)
{
	size_t off = w->len;

	sbuf_put_u64(w, 0);
	return off;
}

void sbuf_patch_u64(struct sbuf_w *w, size_t off, uint64_t v)
{
	if (w->err || off > w->len || w->len - off < 8)
		return;
	for (int i = 0; i < 8; i++)
		w->buf[off + i] = (uint8_t)(v >> (8 * i));
}

const void *sbuf_take(struct sbuf_r *r, size_t n)
{
	const void *p;

	if (r->err)
		return NULL;
	if (n > r->len - r->off) {
		r->err = -EBADMSG;
		return NULL;
	}
	if (n == 0)
		return r->p ? r->p + r->off : (const void *)""; /* never NULL + 0 */
	p = r->p + r->off;
	r->off += n;
	return p;
}

uint32_t sbuf_get_u32(struct sbuf_r *r)
{
	const uint8_t *b = sbuf_take(r, 4);
	uint32_t v = 0;

	for (int i = 0; b && i < 4; i++)
		v |= (uint32_t)b[i] << (8 * i);
	return v;
}

uint64_t sbuf_get_u64(struct sbuf_r *r)
{
	const uint8_t *b = sbuf_take(r, 8);
	uint64_t v = 0;

	for (int i = 0; b && i < 8; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

const void *sbuf_get_bytes(struct sbuf_r *r, uint32_t max, uint32_t *ret_len)
{
	uint32_t n = sbuf_get_u32(r);

	*ret_len = 0;
	if (!r->err && n > max)
		r->err = -EBADMSG;
	if (r->err)
		return NULL;
	*ret_len = n;
	return sbuf_take(r, n);
}

struct sbuf_r sbuf_sub(struct sbuf_r *r, uint64_t n)
{
	const void *p = n <= SIZE_MAX ? sbuf_take(r, (size_t)n) : NULL;

	if (!p && !r->err)
		r->err = -EBADMSG;
	if (!p)
		return (struct sbuf_r){.err = -EBADMSG};
	return sbuf_reader(p, (size_t)n);
}
