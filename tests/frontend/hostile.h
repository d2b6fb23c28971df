/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * frontend-hostile: what a compromised guest or a misbehaving frontend can send, and the one
 * defined outcome for each (style rule 6): a bad FUSE request gets an error reply, a bad ring
 * gets that queue latched broken (no used element, the VRING_ERR eventfd signalled) while other
 * queues keep serving, and a vhost-user protocol violation drops the connection. After every
 * case the daemon must keep serving (same connection, another queue, or a fresh daemon), must
 * not have died of a signal, and under ASan/UBSan must have logged no sanitizer report.
 *
 * Families: hostile_ring.c, hostile_vhu.c, hostile_fuse.c, hostile_path.c; shared helpers in
 * hostile_util.c.
 */
#ifndef VFSD_TESTS_HOSTILE_H
#define VFSD_TESTS_HOSTILE_H

#include <stdbool.h>
#include <stdint.h>

#include "harness.h"

/* The request queue hostile rings are built on; queue 1 stays clean for the checks. */
#define HX_BADQ 2u

extern const struct th_test hx_ring_tests[];
extern const struct th_test hx_vhu_tests[];
extern const struct th_test hx_fuse_tests[];
extern const struct th_test hx_path_tests[];

/* Fails the test if the daemon logged a sanitizer report since the last check. */
void hx_check_log(struct th *t);

/*
 * Closes our connection (if any), waits for the daemon to exit and checks how: want_code >= 0
 * is the exact exit code wanted, -1 accepts any exit that is not a crash (signal or 128+sig
 * relayed by the sandbox parent). Then starts a fresh daemon with t->extra_flags, connects
 * with opts (NULL = defaults), INITs. Returns 0 or -errno (and fails the test).
 */
int hx_restart(struct th *t, const struct fe_options *opts, int want_code);
/* Options with two request queues (hostile rings on queue 2, checks on queue 1). */
struct fe_options hx_two_queues(void);

/* SET_VRING_ERR on queue q with a new eventfd; returns the fd or -errno. */
int hx_set_err_fd(struct th *t, unsigned q);
/* Whether fd becomes readable within timeout_ms (and drains it). */
bool hx_fd_signalled(int fd, int timeout_ms);

/* Checks that FUSE requests are still served on request queue q and on hiprio. */
void hx_expect_serving(struct th *t, unsigned q);
/* Checks that the daemon closes the connection within 3 s (it reads EOF). */
void hx_expect_dropped(struct th *t);

/* Guest buffers for a raw GETATTR(root) request: header + args readable, room writable. */
struct hx_req {
	uint64_t in_gpa, out_gpa;
	uint32_t in_len, out_len;
};
int hx_getattr_bufs(struct th *t, struct hx_req *r);
/* Whether the used element / reply at out_gpa is a good GETATTR reply. */
bool hx_getattr_reply_ok(struct th *t, const struct hx_req *r, uint32_t used_len);

/* A descriptor as the guest writes it (little-endian host assumed, as everywhere here). */
static inline struct vring_desc hx_desc(uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	return (struct vring_desc){.addr = addr, .len = len, .flags = flags, .next = next};
}

#endif
