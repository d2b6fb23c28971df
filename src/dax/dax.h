/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * DAX mapping window bookkeeping: which file ranges are mapped where in the device's cache
 * window (VIRTIO shared memory region 0), and the rules that keep those maps safe and correct
 * with the frontend's limits (QEMU 11.1, see docs/dax.md):
 *
 * - a map never extends past the file's last whole page (the frontend would extend an empty
 *   file and refuses ranges past EOF); the partial last page of a file is served from a
 *   private one-page copy, refreshed whenever the file is known to change (dax_changed); in a
 *   writable map, the bytes the guest writes there are written back to the file by
 *   dax_sync() (fsync, flush, release), before every change to the file made through the
 *   daemon, and when the map goes away: the guest's own later reads and fsync semantics hold,
 *   others see those bytes once they are written back;
 * - maps never overlap: a setup over mapped ranges first removes them; a removal removes
 *   exactly what a setup made (all of its pieces);
 * - at most DAX_MAX_MAPS frontend maps are live (each is a memory region in QEMU, which
 *   aborts past 511).
 *
 * The window does not talk to the VMM itself: it is given a struct dax_mapper (the transport
 * implements it) and is itself a service handed to the filesystem backend.
 *
 * Trust: offsets and lengths come from the guest and are validated here (alignment, window
 * bounds, overflow). The caller (the backend) validates the node and opens the file; it must
 * only pass files the guest may write, opened O_RDWR (the frontend maps every fd read-write).
 * Thread-safe; calls into the mapper are serialized.
 */
#ifndef VFSD_DAX_DAX_H
#define VFSD_DAX_DAX_H

#include <stdbool.h>
#include <stdint.h>

#define DAX_PAGE_SIZE 4096u
/* Live frontend maps, all pieces counted (QEMU 11.1 aborts at 512 memory regions). */
#define DAX_MAX_MAPS 500u

struct dax_mapper {
	/* Maps [file_off, file_off + len) of fd at win_off. 0 or -errno; on an error no map
	 * exists, or the mapper removes it itself once it learns of it. */
	int (*map)(void *opaque, uint64_t win_off, uint64_t len, int fd, uint64_t file_off,
		   bool writable);
	/* Removes the map made at exactly (win_off, len). 0 or -errno. */
	int (*unmap)(void *opaque, uint64_t win_off, uint64_t len);
	/* The window's size for the current session, 0: no window. */
	uint64_t (*window_size)(void *opaque);
};

struct dax_window;

struct dax_stats {
	uint64_t maps, unmaps, failures;
	unsigned live; /* frontend maps live now */
};

int dax_window_new(const struct dax_mapper *m, void *opaque, struct dax_window **ret);
void dax_window_free(struct dax_window *w);

/* 0 when the frontend has no window this session (FUSE_SETUPMAPPING then gets ENOSYS). */
uint64_t dax_window_size(struct dax_window *w);

/*
 * FUSE_SETUPMAPPING: maps [foffset, foffset + len) of the file `key` (the backend's inode id;
 * fd opened O_RDWR, its size now file_size) at window offset moffset. The fd is duplicated.
 * -EINVAL for a misaligned or out-of-window request, -ENOSPC when DAX_MAX_MAPS would be
 * exceeded, -EIO (or the mapper's error) when the frontend refuses.
 */
int dax_setup(struct dax_window *w, uint64_t key, int fd, uint64_t file_size, uint64_t foffset,
	      uint64_t len, uint64_t moffset, bool writable);
/* FUSE_REMOVEMAPPING of one range: -EINVAL if no setup was made at exactly (moffset, len). */
int dax_remove(struct dax_window *w, uint64_t moffset, uint64_t len);

/*
 * The file `key` has (or is about to have) size new_size and may have new contents: maps that
 * now reach past the last whole page are cut back, maps that were cut short grow, tail copies
 * are re-read. Call it before a shrinking truncate and after anything else that changes a
 * file (write, fallocate, copy_file_range, a size or mtime change noticed in a stat).
 */
void dax_changed(struct dax_window *w, uint64_t key, uint64_t new_size);
/* Writes the guest's changes to tail copies of `key` back to the file (see above). Call before
 * the daemon itself writes, truncates or copies into the file, and on fsync, flush, release. */
void dax_sync(struct dax_window *w, uint64_t key);
/* Whether the file `key` has maps now (cheap: lets callers skip dax_changed). */
bool dax_has_maps(struct dax_window *w, uint64_t key);

/* Session end (new INIT, DESTROY): asks the frontend to remove every map. */
void dax_unmap_all(struct dax_window *w);
/* Device reset or disconnect: the frontend already dropped its maps; forget ours. */
void dax_forget_all(struct dax_window *w);

void dax_get_stats(struct dax_window *w, struct dax_stats *ret);

#endif
