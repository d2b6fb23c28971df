// SPDX-License-Identifier: GPL-2.0-or-later
/* Bounded iovec cursors (see cursor.h). */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "fuse/cursor.h"
#include "util/macros.h"

static void cursor_init(struct fuse_cursor *c, const struct iovec *iov, unsigned cnt)
{
	size_t total = 0;

	/* Saturate: a sum that wraps would let a cursor believe it has less room than it has,
	 * which is safe, never more. */
	for (unsigned i = 0; i < cnt; i++)
		if (__builtin_add_overflow(total, iov[i].iov_len, &total))
			total = SIZE_MAX;
	*c = (struct fuse_cursor){.iov = iov, .cnt = cnt, .left = total};
}

/* Walks over n bytes (n <= left), calling fn on each contiguous piece when fn is set. */
static void cursor_walk(struct fuse_cursor *c, size_t n,
			void (*fn)(void *arg, void *piece, size_t len), void *arg)
{
	c->left -= n;
	c->done += n;
	while (n > 0 && c->idx < c->cnt) {
		const struct iovec *v = &c->iov[c->idx];
		size_t avail = v->iov_len - c->off;
		size_t take = MIN(avail, n);

		if (fn && take)
			fn(arg, (char *)v->iov_base + c->off, take);
		n -= take;
		c->off += take;
		if (c->off == v->iov_len) {
			c->idx++;
			c->off = 0;
		}
	}
}

/*
 * The common case: the next n bytes (n <= left) lie inside the current iovec. Consumes them and
 * returns their address; NULL (nothing consumed) when they span iovecs.
 */
static inline char *cursor_contig(struct fuse_cursor *c, size_t n)
{
	const struct iovec *v;
	char *p;

	if (c->idx >= c->cnt)
		return NULL;
	v = &c->iov[c->idx];
	if (v->iov_len - c->off < n)
		return NULL;
	p = (char *)v->iov_base + c->off;
	c->left -= n;
	c->done += n;
	c->off += n;
	if (c->off == v->iov_len) {
		c->idx++;
		c->off = 0;
	}
	return p;
}

struct copy_state {
	char *p;
	bool to_iov;
};

static void copy_piece(void *arg, void *piece, size_t len)
{
	struct copy_state *s = arg;

	if (s->to_iov)
		memcpy(piece, s->p, len);
	else
		memcpy(s->p, piece, len);
	s->p += len;
}

static unsigned cursor_iov_count(const struct fuse_cursor *c, size_t n)
{
	unsigned idx = c->idx, pieces = 0;
	size_t off = c->off;

	n = MIN(n, c->left);
	while (n > 0 && idx < c->cnt) {
		size_t take = MIN(c->iov[idx].iov_len - off, n);

		if (take)
			pieces++;
		n -= take;
		idx++;
		off = 0;
	}
	return pieces;
}

static int cursor_iov(const struct fuse_cursor *c, size_t n, struct iovec *ret, unsigned max,
		      unsigned *ret_cnt)
{
	unsigned idx = c->idx, pieces = 0;
	size_t off = c->off;

	if (n > c->left)
		return -EINVAL;
	while (n > 0 && idx < c->cnt) {
		size_t take = MIN(c->iov[idx].iov_len - off, n);

		if (take) {
			if (pieces == max)
				return -E2BIG;
			ret[pieces].iov_base = (char *)c->iov[idx].iov_base + off;
			ret[pieces].iov_len = take;
			pieces++;
		}
		n -= take;
		idx++;
		off = 0;
	}
	*ret_cnt = pieces;
	return 0;
}

void fuse_reader_init(struct fuse_reader *r, const struct iovec *iov, unsigned cnt)
{
	cursor_init(&r->c, iov, cnt);
}

size_t fuse_reader_remaining(const struct fuse_reader *r)
{
	return r->c.left;
}

void fuse_reader_limit(struct fuse_reader *r, size_t n)
{
	r->c.left = MIN(r->c.left, n);
}

int fuse_reader_read(struct fuse_reader *r, void *dst, size_t n)
{
	struct copy_state s = {.p = dst, .to_iov = false};
	const char *p;

	if (n > r->c.left)
		return -EINVAL;
	p = cursor_contig(&r->c, n);
	if (p)
		memcpy(dst, p, n);
	else
		cursor_walk(&r->c, n, copy_piece, &s);
	return 0;
}

size_t fuse_reader_peek(const struct fuse_reader *r, void *dst, size_t n)
{
	struct fuse_cursor tmp = r->c;
	struct copy_state s = {.p = dst, .to_iov = false};

	n = MIN(n, r->c.left);
	cursor_walk(&tmp, n, copy_piece, &s);
	return n;
}

int fuse_reader_skip(struct fuse_reader *r, size_t n)
{
	if (n > r->c.left)
		return -EINVAL;
	if (!cursor_contig(&r->c, n))
		cursor_walk(&r->c, n, NULL, NULL);
	return 0;
}

int fuse_reader_string(struct fuse_reader *r, char *buf, size_t cap)
{
	size_t got, len;
	const char *nul;

	if (cap == 0)
		return -EINVAL;
	/* Validate the copy, not guest memory: the guest may rewrite the bytes meanwhile. */
	got = fuse_reader_peek(r, buf, cap);
	nul = memchr(buf, '\0', got);
	if (!nul)
		return got == cap ? -ENAMETOOLONG : -EINVAL;
	len = (size_t)(nul - buf);
	if (len > INT32_MAX)
		return -ENAMETOOLONG;
	fuse_reader_skip(r, len + 1);
	return (int)len;
}

int fuse_reader_iov(struct fuse_reader *r, size_t n, struct iovec *ret, unsigned max,
		    unsigned *ret_cnt)
{
	int rc = cursor_iov(&r->c, n, ret, max, ret_cnt);

	if (rc < 0)
		return rc;
	cursor_walk(&r->c, n, NULL, NULL);
	return 0;
}

unsigned fuse_reader_iov_count(const struct fuse_reader *r, size_t n)
{
	return cursor_iov_count(&r->c, n);
}

void fuse_writer_init(struct fuse_writer *w, const struct iovec *iov, unsigned cnt)
{
	cursor_init(&w->c, iov, cnt);
}

size_t fuse_writer_room(const struct fuse_writer *w)
{
	return w->c.left;
}

size_t fuse_writer_written(const struct fuse_writer *w)
{
	return w->c.done;
}

void fuse_writer_limit(struct fuse_writer *w, size_t n)
{
	w->c.left = MIN(w->c.left, n);
}

int fuse_writer_write(struct fuse_writer *w, const void *src, size_t n)
{
	struct copy_state s = {.p = (char *)src, .to_iov = true};
	char *p;

	if (n > w->c.left)
		return -ENOSPC;
	p = cursor_contig(&w->c, n);
	if (p)
		memcpy(p, src, n);
	else
		cursor_walk(&w->c, n, copy_piece, &s);
	return 0;
}

static void zero_piece(void *arg, void *piece, size_t len)
{
	memset(piece, 0, len);
}

int fuse_writer_zero(struct fuse_writer *w, size_t n)
{
	if (n > w->c.left)
		return -ENOSPC;
	cursor_walk(&w->c, n, zero_piece, NULL);
	return 0;
}

int fuse_writer_skip(struct fuse_writer *w, size_t n)
{
	if (n > w->c.left)
		return -ENOSPC;
	if (!cursor_contig(&w->c, n))
		cursor_walk(&w->c, n, NULL, NULL);
	return 0;
}

int fuse_writer_iov(const struct fuse_writer *w, size_t n, struct iovec *ret, unsigned max,
		    unsigned *ret_cnt)
{
	return cursor_iov(&w->c, n, ret, max, ret_cnt);
}

unsigned fuse_writer_iov_count(const struct fuse_writer *w, size_t n)
{
	return cursor_iov_count(&w->c, n);
}
