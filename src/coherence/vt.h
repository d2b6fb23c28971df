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
 * The file (layout VT_FILE_LAYOUT, private to this module; the guest only ever sees one area):
 *
 *   area 0               master: struct vfsd_vt_header, the private struct vt_master at byte
 *                        256 of the same page, counters from VFSD_VT_HDR_SIZE
 *   area 1..max_mirrors  mirrors: struct vfsd_vt_header + counters, exactly what one guest maps
 *   after the last area  per slot, when it was last bumped (wall-clock ns; private to vfsd,
 *                        never mapped into a guest): the ages behind adaptive timeouts
 *
 * Every area is area_len bytes, a power of two of at least 2 MiB (so that a DAX window shrunk
 * by one area stays a multiple of the guest's 2 MiB DAX ranges) holding the header page and
 * nslots counters. The file is created at its full size (sparse) under a temporary name,
 * initialised and then linked into place without replacing anything: a daemon that loses the
 * race opens the winner's file and validates it. A file of another layout that no daemon uses
 * (left by an older vfsd) is unlinked first, under flock(LOCK_EX) (vt.c, replace_stale()).
 *
 * Mirrors: a daemon claims an area (the lowest one handed out before that nobody holds, else
 * the next never used one, from an atomic counter in the master), holds an OFD write lock on the
 * file byte of that index and sets the area's bit in the master's live bitmap. The daemon gives
 * its QEMU that very open file description for SHMEM_MAP, and QEMU's mapping holds a reference
 * to it: OFD locks go with the last reference, so the lock stays held after the daemon died for
 * as long as its QEMU maps the area. A free lock therefore means that no guest can reach the
 * area any more, and only then is it reused (emptied first: a guest may have written anything
 * into it) or, if still live, dropped from the bitmap and punched. vt_open() fails with -ENOSPC
 * only when all max_mirrors areas are held at once.
 *
 * Bumps: master counter += 1 (atomic), then every live mirror's counter is raised to the new
 * value with a compare-and-swap max, all before the daemon replies. A newly claimed mirror is
 * raised to the master's values before it is first mapped. Values a guest writes into its own
 * mirror are never read back into the master or any other mirror.
 *
 * Trust: slots are computed here from host data (file handles), never taken from a guest.
 * Thread-safe; vt_read/vt_bump are lock-free and make no syscall.
 */
#ifndef VFSD_COHERENCE_VT_H
#define VFSD_COHERENCE_VT_H

#include <stddef.h>
#include <stdint.h>

struct vt_table;

#define VT_SLOTS_DEFAULT (1u << 17)
#define VT_SLOTS_MAX	 (1u << 24)
/* Smallest area: 2 MiB (see above). */
#define VT_AREA_MIN (2u << 20)

struct vt_config {
	const char *path; /* master table file; NULL: /dev/shm/vfsd-vt-<st_dev of the share> */
	/* Counters per table, 1..VT_SLOTS_MAX; 0: the existing table's, or VT_SLOTS_DEFAULT for
	 * a new one. A non-zero value that differs from an existing table's is treated as another
	 * layout: the table is replaced if no daemon uses it, else -EBUSY. */
	uint64_t nslots;
};

/* The size of one area (a mirror, as mapped into a guest) for nslots counters. */
uint64_t vt_area_len(uint64_t nslots);

/* Opens (creating race-free if it is the first) the master table for the filesystem of
 * share_fd, and claims a mirror for this daemon's guest. Call before the sandbox hides the
 * table's directory: the table keeps its own fd. A table file made by vfsd but of another
 * layout (an older vfsd's), size or nslots is replaced, race-free, when no daemon holds a lock
 * in it (logged). 0 or -errno (-EINVAL: a file that is not a vfsd table; -EBUSY: a table of
 * another layout or nslots that a running daemon uses (logged with what to do); -EPERM: the
 * file belongs to another user or everyone may write it; -ENOSPC: no unused mirror area left). */
int vt_open(const struct vt_config *cfg, int share_fd, struct vt_table **ret);
/* Releases this daemon's mirror (its pages are freed) and the table. NULL-safe. */
void vt_close(struct vt_table *t);
/* Only this process's mapping and fd (munmap, close): for a process that shares the mirror with
 * the one that owns it (the namespace sandbox's supervisor, whose child vt_close()s it).
 * NULL-safe. */
void vt_release(struct vt_table *t);

uint64_t vt_nslots(const struct vt_table *t);
/* This daemon's mirror area index (1..), for logs and tests. */
unsigned vt_mirror_index(const struct vt_table *t);

/* The slot of an inode, from its file handle (name_to_handle_at, AT_HANDLE_FID where the
 * kernel has it) or, for filesystems without handles, from (dev, ino). */
uint32_t vt_slot_from_handle(const struct vt_table *t, int handle_type, const void *handle,
			     size_t len);
uint32_t vt_slot_from_ino(const struct vt_table *t, uint64_t dev, uint64_t ino);
/* The slot of `name` in directory dirfd (not following a final symlink), or of dirfd itself
 * when name is NULL or "". 0 or -errno (e.g. -ENOENT). */
int vt_slot_at(struct vt_table *t, int dirfd, const char *name, uint32_t *ret);

/* The version to report for slot: its master counter plus the epoch (acquire). */
uint64_t vt_read(struct vt_table *t, uint32_t slot);
/* After a change: bumps slot in the master and raises every mirror to it; returns the version
 * the change produced (what vt_read() would now return). */
uint64_t vt_bump(struct vt_table *t, uint32_t slot);
/* Everything may have changed (host events lost): bumps the epoch everywhere. */
void vt_bump_epoch(struct vt_table *t);

/*
 * Adaptive timeouts for guests without the extension (--adaptive-timeout, docs/coherence.md):
 * the seconds since slot was last bumped, or since the epoch moved (or the table was made) if
 * that is later; every bump stamps it, whoever makes it (any daemon, any host watch).
 */
double vt_age(struct vt_table *t, uint32_t slot);
/* The timeout for metadata last changed `age` seconds ago: age / VT_ADAPT_DIVISOR, within
 * [min, max]. A change then reaches a guest at most max late, and for something that had been
 * quiet for age before it was cached, at most about a tenth of that quiet period. Pure. */
#define VT_ADAPT_DIVISOR 10.0
double vt_adaptive_timeout(double age, double min, double max);

/*
 * How the guest gets its mirror: main.c wires the transport in. attach(opaque, fd, offset, len)
 * makes sure the range is mapped as shared memory region VFSD_VT_SHMID of this session's device
 * (idempotent within a device session): 0 or -errno. vt_attach_guest() calls it with this
 * daemon's mirror (-ENODEV without an attach function).
 */
typedef int (*vt_attach_fn)(void *opaque, int fd, uint64_t offset, uint64_t len);
void vt_set_attach(struct vt_table *t, vt_attach_fn attach, void *opaque);
int vt_attach_guest(struct vt_table *t);

/* This guest's mirror, for the transport to map as shared memory region VFSD_VT_SHMID: a
 * regular-file fd (owned by the table), the offset of the mirror in it and its length (a
 * power of two, vt_area_len()). */
int vt_mirror(struct vt_table *t, int *ret_fd, uint64_t *ret_offset, uint64_t *ret_len);

#endif
