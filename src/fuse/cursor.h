/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Bounded cursors over iovec arrays: the only way fuse/ touches request and reply bytes.
 *
 * A reader walks the device-readable buffers, a writer the device-writable ones. Neither ever
 * goes past the bytes its iovecs describe (nor past a tighter limit set with *_limit()). Both
 * copy: fields read from guest memory land in caller storage, so a guest changing the buffer
 * while we parse it cannot make a value change between its check and its use. Only bulk data
 * (READ/WRITE payloads) is handed on as sub-iovecs, unvalidated by design.
 *
 * Trust: the iovecs themselves come from the transport, which bounds-checked them against guest
 * memory; their contents are hostile.
 */
#ifndef VFSD_FUSE_CURSOR_H
#define VFSD_FUSE_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

struct fuse_cursor {
	const struct iovec *iov;
	unsigned cnt;
	unsigned idx; /* current iovec */
	size_t off;   /* offset inside iov[idx] */
	size_t left;  /* bytes this cursor may still consume */
	size_t done;  /* bytes consumed so far */
};

/* Both kinds share one layout; the names keep read and write paths apart at call sites. */
struct fuse_reader {
	struct fuse_cursor c;
};

struct fuse_writer {
	struct fuse_cursor c;
};

void fuse_reader_init(struct fuse_reader *r, const struct iovec *iov, unsigned cnt);
size_t fuse_reader_remaining(const struct fuse_reader *r);
/* Lowers the number of bytes that may still be read to at most n. */
void fuse_reader_limit(struct fuse_reader *r, size_t n);
/* Copies exactly n bytes out, or fails with -EINVAL (nothing consumed) if fewer remain. */
int fuse_reader_read(struct fuse_reader *r, void *dst, size_t n);
/* Copies min(n, remaining) bytes without consuming them; returns the count copied. */
size_t fuse_reader_peek(const struct fuse_reader *r, void *dst, size_t n);
int fuse_reader_skip(struct fuse_reader *r, size_t n);
/*
 * Reads a NUL-terminated string of at most cap bytes including the NUL into buf (cap bytes).
 * Returns its length without the NUL; -EINVAL when no NUL terminates it inside the request,
 * -ENAMETOOLONG when it is longer than cap - 1.
 */
int fuse_reader_string(struct fuse_reader *r, char *buf, size_t cap);
/*
 * Describes the next n bytes as at most max iovecs in ret (zero-length pieces dropped) and
 * consumes them. -EINVAL if fewer than n bytes remain, -E2BIG if more than max pieces needed.
 */
int fuse_reader_iov(struct fuse_reader *r, size_t n, struct iovec *ret, unsigned max,
		    unsigned *ret_cnt);

void fuse_writer_init(struct fuse_writer *w, const struct iovec *iov, unsigned cnt);
size_t fuse_writer_room(const struct fuse_writer *w);
size_t fuse_writer_written(const struct fuse_writer *w);
void fuse_writer_limit(struct fuse_writer *w, size_t n);
/* Writes all n bytes or nothing (-ENOSPC). */
int fuse_writer_write(struct fuse_writer *w, const void *src, size_t n);
int fuse_writer_zero(struct fuse_writer *w, size_t n);
/* Advances over n bytes someone else filled (through fuse_writer_iov()). */
int fuse_writer_skip(struct fuse_writer *w, size_t n);
/* Like fuse_reader_iov() but does NOT consume: the caller skips what it really filled. */
int fuse_writer_iov(const struct fuse_writer *w, size_t n, struct iovec *ret, unsigned max,
		    unsigned *ret_cnt);
/* Number of iovec pieces the next n bytes span (n clamped to the room). */
unsigned fuse_writer_iov_count(const struct fuse_writer *w, size_t n);
unsigned fuse_reader_iov_count(const struct fuse_reader *r, size_t n);

#endif
