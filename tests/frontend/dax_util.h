/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers for frontend-dax (test_dax*.c): a daemon with a cache window and a frontend that is
 * QEMU 11.1's side of it (fe_options.dax), files made on the host, SETUPMAPPING/REMOVEMAPPING
 * that wait for the memory-table update to finish, and checks of the window's contents.
 */
#ifndef VFSD_TESTS_FRONTEND_DAX_UTIL_H
#define VFSD_TESTS_FRONTEND_DAX_UTIL_H

#include <sys/stat.h>

#include "harness.h"

#define MIB	       (1ull << 20)
#define DAX_WINDOW     (16 * MIB)
#define DAX_CHUNK      (2 * MIB) /* what a Linux guest maps at a time */
#define DAX_PAGE       4096u
#define DAX_MAX_LIVE   500u /* the daemon's limit on live frontend maps */
#define MAP_R	       FUSE_SETUPMAPPING_FLAG_READ
#define MAP_RW	       (FUSE_SETUPMAPPING_FLAG_READ | FUSE_SETUPMAPPING_FLAG_WRITE)
#define DAX_INIT_FLAGS (th_init_flags() | FUSE_HAS_INODE_DAX)
#define PROTO(bit)     (1ull << (bit))
/* What a DAX frontend negotiates (fe_options.dax's default). */
#define DAX_PROTO                                                                                  \
	(PROTO(VHU_PROTO_MQ) | PROTO(VHU_PROTO_REPLY_ACK) | PROTO(VHU_PROTO_BACKEND_REQ) |         \
	 PROTO(VHU_PROTO_CONFIGURE_MEM_SLOTS) | PROTO(VHU_PROTO_CONFIG) | PROTO(VHU_PROTO_SHMEM) | \
	 PROTO(VHU_PROTO_RESET_DEVICE))

/* Daemon flags: a tag and a 16 MiB window. */
extern const char *const dax_flags[];

/*
 * Restarts the daemon with flags and connects (o NULL: a DAX frontend with the defaults),
 * INIT offering MAP_ALIGNMENT and HAS_INODE_DAX. The previous connection is checked first.
 */
int dax_start(struct th *t, const char *const *flags, const struct fe_options *o);

/* Fills buf with bytes from a seeded generator. */
void dax_random(void *buf, size_t len, unsigned seed);
/* Writes name on the host with len bytes (seeded) and looks it up; the bytes stay in *ret_data
 * (malloc'd, may be NULL) and the host stat in *ret_st. */
int dax_file(struct th *t, const char *name, size_t len, unsigned seed, uint64_t *ret_node,
	     uint8_t **ret_data, struct stat *ret_st);

/* The host file: append, write at off, whether [off, off + len) equals buf. */
int dax_host_append(struct th *t, const char *name, const void *buf, size_t len);
int dax_host_pwrite(struct th *t, const char *name, const void *buf, size_t len, off_t off);
bool dax_host_has(struct th *t, const char *name, off_t off, const void *buf, size_t len);

/* SETUPMAPPING / REMOVEMAPPING of one range, then fe_dax_settle(). */
int dax_map(struct th *t, uint64_t node, uint64_t foffset, uint64_t len, uint64_t moffset,
	    uint64_t flags);
int dax_unmap(struct th *t, uint64_t moffset, uint64_t len);

/* Whether window bytes [off, off + len) are mapped and equal buf (NULL: zeros). */
bool dax_window_is(struct th *t, uint64_t off, const void *buf, size_t len);
/* Whether window bytes [moff, moff + len) are mapped and equal the host file's [0, len). */
bool dax_window_is_host(struct th *t, uint64_t moff, const char *name, size_t len);
/* Live frontend maps of the file with inode ino (its pieces). */
unsigned dax_file_maps(struct th *t, uint64_t ino);
/* Live frontend maps of the file with inode ino that reach past `size`. */
unsigned dax_maps_past(struct th *t, uint64_t ino, uint64_t size);
unsigned dax_live(struct th *t);

/* Whether the daemon (any of its processes) has the file mmapped itself. */
bool dax_daemon_maps(struct th *t, const struct stat *st);

/*
 * After each test and before each restart: the frontend saw nothing QEMU would refuse or a
 * correct daemon never asks (overlaps, unmatched unmaps, empty files, misaligned or malformed
 * requests, failed memory-table updates), and the daemon still answers.
 */
void dax_check_frontend(struct th *t);
/* th_after_test: the above, and no sanitizer report in the daemon's log. */
void dax_after_test(struct th *t);

#endif
