// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The DAX window table. Each guest setup is one struct dax_map; the frontend sees it as up to
 * DAX_MAX_PIECES pieces: file-backed ones covering the mapping's whole in-file pages (more than
 * one only after the file grew under an existing map) and at most one tail piece, a private
 * page holding a copy of the file's partial last page. In a writable map the guest may write to
 * that copy: those bytes (only those: the copy's last known file contents are kept to tell
 * them apart) are written back to the file by dax_sync() and before anything else touches the
 * map.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dax/dax.h"
#include "util/log.h"
#include "util/macros.h"

#define DAX_MAX_PIECES 8u

struct dax_piece {
	uint64_t off, len; /* relative to the mapping's start (window and file alike) */
};

struct dax_map {
	uint64_t key, moffset, foffset, len;
	bool writable;
	int fd;	     /* the file (our own duplicate) */
	int tail_fd; /* memfd with the copy of the partial last page, -1: no tail piece */
	uint64_t tail_off;
	uint8_t *tail_base; /* the file's bytes as last copied into tail_fd */
	unsigned npieces;   /* file-backed pieces, contiguous from offset 0 */
	struct dax_piece piece[DAX_MAX_PIECES];
};

struct dax_window {
	pthread_mutex_t lock;
	const struct dax_mapper *m;
	void *opaque;
	struct dax_map *maps;
	unsigned nmaps;
	struct dax_stats st;
};

static uint64_t page_floor(uint64_t v)
{
	return v & ~(uint64_t)(DAX_PAGE_SIZE - 1);
}

static bool page_aligned(uint64_t v)
{
	return (v & (DAX_PAGE_SIZE - 1)) == 0;
}

int dax_window_new(const struct dax_mapper *m, void *opaque, struct dax_window **ret)
{
	struct dax_window *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	pthread_mutex_init(&w->lock, NULL);
	w->m = m;
	w->opaque = opaque;
	*ret = w;
	return 0;
}

uint64_t dax_window_size(struct dax_window *w)
{
	return w->m->window_size(w->opaque);
}

static int front_map(struct dax_window *w, const struct dax_map *d, uint64_t off, uint64_t len,
		     int fd, uint64_t file_off)
{
	int r;

	if (w->st.live >= DAX_MAX_MAPS)
		return -ENOSPC;
	/* A map whose answer never came is the mapper's to take back (it is not ours). */
	r = w->m->map(w->opaque, d->moffset + off, len, fd, file_off, d->writable);
	if (r == 0) {
		w->st.live++;
		w->st.maps++;
	} else {
		w->st.failures++;
	}
	return r;
}

static void front_unmap(struct dax_window *w, const struct dax_map *d, uint64_t off, uint64_t len)
{
	int r = w->m->unmap(w->opaque, d->moffset + off, len);

	if (r < 0)
		log_ratelimited(LOG_LEVEL_DEBUG, "dax: unmap of %#llx+%#llx: %s",
				(unsigned long long)(d->moffset + off), (unsigned long long)len,
				strerror(-r));
	w->st.live--;
	w->st.unmaps++;
}

/* Writes the bytes the guest changed in the tail copy of a writable map back to the file. */
static int sync_tail(struct dax_map *d)
{
	uint8_t page[DAX_PAGE_SIZE];
	uint64_t start = d->foffset + d->tail_off, n, i, j;
	struct stat st;

	if (d->tail_fd < 0 || !d->writable)
		return 0;
	if (fstat(d->fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size <= start)
		return 0; /* the file was cut short meanwhile: nothing to write into */
	n = MIN((uint64_t)st.st_size - start, (uint64_t)DAX_PAGE_SIZE);
	if (pread(d->tail_fd, page, n, 0) != (ssize_t)n)
		return -EIO;
	for (i = 0; i < n; i = j) {
		if (page[i] == d->tail_base[i]) {
			j = i + 1;
			continue;
		}
		for (j = i; j < n && page[j] != d->tail_base[j]; j++)
			;
		if (pwrite(d->fd, page + i, j - i, (off_t)(start + i)) != (ssize_t)(j - i))
			return -EIO;
		memcpy(d->tail_base + i, page + i, j - i);
	}
	return 0;
}

static void drop_tail(struct dax_window *w, struct dax_map *d)
{
	if (d->tail_fd < 0)
		return;
	(void)sync_tail(d);
	front_unmap(w, d, d->tail_off, DAX_PAGE_SIZE);
	d->tail_fd = safe_close(d->tail_fd);
}

static uint64_t file_end(const struct dax_map *d)
{
	return d->npieces ? d->piece[d->npieces - 1].off + d->piece[d->npieces - 1].len : 0;
}

/* Cuts the file-backed pieces back to [0, end). */
static int shrink_file(struct dax_window *w, struct dax_map *d, uint64_t end)
{
	while (d->npieces > 0 && file_end(d) > end) {
		struct dax_piece p = d->piece[--d->npieces];

		front_unmap(w, d, p.off, p.len);
		if (p.off < end) {
			int r = front_map(w, d, p.off, end - p.off, d->fd, d->foffset + p.off);

			if (r < 0)
				return r;
			d->piece[d->npieces++] = (struct dax_piece){p.off, end - p.off};
		}
	}
	return 0;
}

/* Grows the file-backed pieces to [0, end); with no piece slot left, remaps them as one. */
static int grow_file(struct dax_window *w, struct dax_map *d, uint64_t end)
{
	uint64_t from = file_end(d);
	int r;

	if (end <= from)
		return 0;
	if (d->npieces == DAX_MAX_PIECES) {
		r = shrink_file(w, d, 0);
		if (r < 0)
			return r;
		from = 0;
	}
	r = front_map(w, d, from, end - from, d->fd, d->foffset + from);
	if (r < 0)
		return r;
	d->piece[d->npieces++] = (struct dax_piece){from, end - from};
	return 0;
}

/* (Re)fills the tail copy from the file: `n` bytes of data, zeros after them. */
static int fill_tail(struct dax_map *d, uint64_t n)
{
	char page[DAX_PAGE_SIZE] = {0};
	ssize_t got = pread(d->fd, page, n, (off_t)(d->foffset + d->tail_off));

	if (got < 0)
		return -errno;
	if (pwrite(d->tail_fd, page, sizeof(page), 0) != (ssize_t)sizeof(page))
		return -EIO;
	memcpy(d->tail_base, page, sizeof(page));
	return 0;
}

static int add_tail(struct dax_window *w, struct dax_map *d, uint64_t off, uint64_t n)
{
	int r;

	if (!d->tail_base) {
		d->tail_base = malloc(DAX_PAGE_SIZE);
		if (!d->tail_base)
			return -ENOMEM;
	}
	d->tail_fd = memfd_create("vfsd-dax-tail", MFD_CLOEXEC);
	if (d->tail_fd < 0)
		return -errno;
	d->tail_off = off;
	if (ftruncate(d->tail_fd, DAX_PAGE_SIZE) < 0)
		r = -errno;
	else
		r = fill_tail(d, n);
	if (r == 0)
		r = front_map(w, d, off, DAX_PAGE_SIZE, d->tail_fd, 0);
	if (r < 0)
		d->tail_fd = safe_close(d->tail_fd);
	return r;
}

/* Brings the pieces of d in line with a file of size file_size. */
static int apply(struct dax_window *w, struct dax_map *d, uint64_t file_size)
{
	uint64_t in_file = file_size > d->foffset ? MIN(file_size - d->foffset, d->len) : 0;
	uint64_t whole = page_floor(in_file), tail = in_file - whole;
	int r;

	/* The guest's writes to the old tail reach the file before anything moves. */
	(void)sync_tail(d);
	if (d->tail_fd >= 0 && (tail == 0 || d->tail_off != whole))
		drop_tail(w, d);
	r = shrink_file(w, d, whole);
	if (r == 0)
		r = grow_file(w, d, whole);
	if (r < 0 || tail == 0)
		return r;
	if (d->tail_fd >= 0)
		return fill_tail(d, tail);
	return add_tail(w, d, whole, tail);
}

static void map_release(struct dax_window *w, struct dax_map *d, bool unmap)
{
	if (unmap) {
		drop_tail(w, d);
		(void)shrink_file(w, d, 0);
	} else {
		/* The frontend dropped the maps, but the guest's tail writes are still ours. */
		(void)sync_tail(d);
		w->st.live -= d->npieces + (d->tail_fd >= 0);
	}
	free(d->tail_base);
	safe_close(d->tail_fd);
	safe_close(d->fd);
	*d = w->maps[--w->nmaps];
}

static bool overlaps(const struct dax_map *d, uint64_t moffset, uint64_t len)
{
	return d->moffset < moffset + len && moffset < d->moffset + d->len;
}

static int check_request(struct dax_window *w, uint64_t foffset, uint64_t len, uint64_t moffset)
{
	uint64_t size = dax_window_size(w);

	if (!size)
		return -ENOSYS;
	if (len == 0 || !page_aligned(foffset | len | moffset) || len > size ||
	    moffset > size - len || foffset > (uint64_t)INT64_MAX - len)
		return -EINVAL;
	return 0;
}

int dax_setup(struct dax_window *w, uint64_t key, int fd, uint64_t file_size, uint64_t foffset,
	      uint64_t len, uint64_t moffset, bool writable)
{
	struct dax_map *v, *d;
	int r = check_request(w, foffset, len, moffset);

	if (r < 0)
		return r;
	pthread_mutex_lock(&w->lock);
	/* The guest re-sends a mapped range to make it writable: the frontend wants the old
	 * map gone first, and never partly. */
	for (unsigned i = 0; i < w->nmaps;) {
		if (overlaps(&w->maps[i], moffset, len))
			map_release(w, &w->maps[i], true);
		else
			i++;
	}
	r = -ENOMEM;
	v = reallocarray(w->maps, w->nmaps + 1, sizeof(*v));
	if (!v)
		goto out;
	w->maps = v;
	d = &v[w->nmaps];
	*d = (struct dax_map){.key = key,
			      .moffset = moffset,
			      .foffset = foffset,
			      .len = len,
			      .writable = writable,
			      .tail_fd = -1};
	d->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (d->fd < 0) {
		r = -errno;
		goto out;
	}
	w->nmaps++;
	r = apply(w, d, file_size);
	if (r < 0)
		map_release(w, d, true);
out:
	pthread_mutex_unlock(&w->lock);
	return r;
}

int dax_remove(struct dax_window *w, uint64_t moffset, uint64_t len)
{
	int r = -EINVAL;

	pthread_mutex_lock(&w->lock);
	for (unsigned i = 0; i < w->nmaps; i++) {
		if (w->maps[i].moffset == moffset && w->maps[i].len == len) {
			map_release(w, &w->maps[i], true);
			r = 0;
			break;
		}
	}
	pthread_mutex_unlock(&w->lock);
	return r;
}

void dax_changed(struct dax_window *w, uint64_t key, uint64_t new_size)
{
	pthread_mutex_lock(&w->lock);
	for (unsigned i = 0; i < w->nmaps; i++) {
		int r;

		if (w->maps[i].key != key)
			continue;
		r = apply(w, &w->maps[i], new_size);
		if (r < 0 && r != -EIO)
			log_ratelimited(LOG_LEVEL_WARN,
					"dax: cannot follow a size change of a mapped file: %s",
					strerror(-r));
	}
	pthread_mutex_unlock(&w->lock);
}

void dax_sync(struct dax_window *w, uint64_t key)
{
	pthread_mutex_lock(&w->lock);
	for (unsigned i = 0; i < w->nmaps; i++) {
		int r = w->maps[i].key == key ? sync_tail(&w->maps[i]) : 0;

		if (r < 0)
			log_ratelimited(LOG_LEVEL_WARN,
					"dax: cannot write a mapped file's last page back: %s",
					strerror(-r));
	}
	pthread_mutex_unlock(&w->lock);
}

bool dax_has_maps(struct dax_window *w, uint64_t key)
{
	bool found = false;

	pthread_mutex_lock(&w->lock);
	for (unsigned i = 0; i < w->nmaps && !found; i++)
		found = w->maps[i].key == key;
	pthread_mutex_unlock(&w->lock);
	return found;
}

static void release_all(struct dax_window *w, bool unmap)
{
	pthread_mutex_lock(&w->lock);
	while (w->nmaps > 0)
		map_release(w, &w->maps[w->nmaps - 1], unmap);
	pthread_mutex_unlock(&w->lock);
}

void dax_unmap_all(struct dax_window *w)
{
	release_all(w, true);
}

void dax_forget_all(struct dax_window *w)
{
	release_all(w, false);
}

void dax_get_stats(struct dax_window *w, struct dax_stats *ret)
{
	pthread_mutex_lock(&w->lock);
	*ret = w->st;
	pthread_mutex_unlock(&w->lock);
}

void dax_window_free(struct dax_window *w)
{
	if (!w)
		return;
	dax_forget_all(w);
	free(w->maps);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
