/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The version table: a service given to the filesystem backend (as the DAX window is) so that
 * guests can tell whether cached metadata is still valid (include/vfsd/vt_proto.h for the
 * protocol, docs/coherence.md for the design).
 *
 * The backend only names inodes by their slot and calls vt_read() before a stat and vt_bump()
 * after a change; it never sees the memory layout. All vfsd instances serving the same host
 * filesystem share one master table (a file on tmpfs); each guest is given its own mirror of it,
 * which only daemons write and which only grows (compare-and-swap max), so a guest scribbling
 * on its mirror cannot hide a change from anyone else.
 *
 * Trust: slots are computed here from host data (file handles), never taken from a guest.
 * Thread-safe; vt_read/vt_bump are lock-free.
 */
#ifndef VFSD_COHERENCE_VT_H
#define VFSD_COHERENCE_VT_H

#include <stddef.h>
#include <stdint.h>

struct vt_table;

struct vt_config {
	const char *path; /* master table file; NULL: derived from the share's filesystem */
	uint64_t nslots;  /* counters per table (0: default); rounded as the layout needs */
};

/* Opens (creating race-free if it is the first) the master table for the filesystem of
 * share_fd, and claims a mirror for this daemon's guest. 0 or -errno. */
int vt_open(const struct vt_config *cfg, int share_fd, struct vt_table **ret);
void vt_close(struct vt_table *t); /* NULL-safe */

/* The slot of an inode, from its file handle (name_to_handle_at, AT_HANDLE_FID where the
 * kernel has it) or, for filesystems without handles, from (dev, ino). */
uint32_t vt_slot_from_handle(const struct vt_table *t, int handle_type, const void *handle,
			     size_t len);
uint32_t vt_slot_from_ino(const struct vt_table *t, uint64_t dev, uint64_t ino);

/* The version to report for slot: its master counter plus the epoch (acquire). */
uint64_t vt_read(struct vt_table *t, uint32_t slot);
/* After a change: bumps slot in the master and raises every mirror to it; returns the version
 * the change produced (what vt_read() would now return). */
uint64_t vt_bump(struct vt_table *t, uint32_t slot);
/* Everything may have changed (host events lost): bumps the epoch everywhere. */
void vt_bump_epoch(struct vt_table *t);

/* This guest's mirror, for the transport to map as shared memory region VFSD_VT_SHMID: a
 * regular-file fd (owned by the table), the offset of the mirror in it and its length (a
 * multiple of the page size). */
int vt_mirror(struct vt_table *t, int *ret_fd, uint64_t *ret_offset, uint64_t *ret_len);

#endif
