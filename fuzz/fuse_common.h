/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the two FUSE fuzz targets share: turning one fuzzer input into a sequence of requests
 * handed to fuse_server_handle(), each split across separately allocated iovecs at
 * input-chosen boundaries with an input-chosen reply room, and checking every reply's framing.
 *
 * Input: a mode byte, the INIT parameters (minor, flags, flags2), then records. A record is a
 * control byte (number of cuts, reply-room scale, keep the guest's uid/gid), the reply room
 * (u16), a split seed (u8), then one request whose fuse_in_header.len says how many bytes it
 * takes (at least the header, at most what is left, so a lying len still reaches the server).
 */
#ifndef VFSD_FUZZ_FUSE_COMMON_H
#define VFSD_FUZZ_FUSE_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "fuse/fuse_server.h"

/* Mode byte bits. */
#define FZF_NO_INIT   (1u << 0) /* do not send the synthesized INIT first */
#define FZF_XATTR_OFF (1u << 1) /* config without xattr (else xattr ops are served) */
#define FZF_NO_LOCKS  (1u << 2) /* config without posix/flock locks */

/* Record control byte bits. */
#define FZR_CUTS_MASK 0x07u	/* 0..7 cut points in the request, and in the reply room */
#define FZR_ROOM_BIG  (1u << 3) /* reply room = u16 * 16 */
#define FZR_KEEP_IDS  (1u << 4) /* keep the guest's uid/gid (else forced to 0: root) */

/* A server over `be` configured from the mode byte; NULL on failure. */
struct fuse_server *fz_fuse_server(const struct fs_backend *be, uint8_t mode);

/*
 * Runs one input against srv: INIT (unless the mode says not to), the records, then
 * fuse_server_reset() so that every input starts from a fresh session.
 */
void fz_fuse_run(struct fuse_server *srv, const uint8_t *data, size_t size);

/* The mode byte of an input (0 for an empty one). */
uint8_t fz_fuse_mode(const uint8_t *data, size_t size);

#endif
