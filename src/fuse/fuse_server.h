/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The FUSE protocol server: decodes one request from the device-readable buffers, validates it,
 * calls the filesystem backend (fs/ops.h) and encodes the reply into the device-writable
 * buffers. It never sees guest addresses, only iovecs the transport has already bounds-checked,
 * and it never makes syscalls on the shared directory itself. Transport-agnostic: the same code
 * could serve /dev/fuse.
 *
 * Trust: every byte in the readable buffers is hostile. A malformed request gets an error reply
 * (EINVAL, EIO, ENOSYS...) or, when not even an out_header fits, no reply (0 bytes written).
 * The buffers may change under us while we read them (shared guest memory): every field is read
 * once, into local storage, before it is validated and used.
 */
#ifndef VFSD_FUSE_SERVER_H
#define VFSD_FUSE_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "fs/ops.h"

struct fuse_server;

struct fuse_server_config {
	uint32_t max_write;	 /* largest WRITE/READ payload, bytes (default 1 MiB) */
	bool readdirplus;	 /* offer FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO */
	bool writeback;		 /* offer FUSE_WRITEBACK_CACHE */
	bool posix_locks;	 /* offer FUSE_POSIX_LOCKS (GETLK/SETLK/SETLKW served) */
	bool flock_locks;	 /* offer FUSE_FLOCK_LOCKS */
	bool killpriv_v2;	 /* offer FUSE_HANDLE_KILLPRIV_V2 */
	bool announce_submounts; /* offer FUSE_SUBMOUNTS */
	bool xattr;		 /* serve *XATTR; without it they get ENOSYS */
	bool posix_acl;		 /* offer FUSE_POSIX_ACL | FUSE_DONT_MASK (needs xattr) */
	bool security_label;	 /* offer FUSE_SECURITY_CTX: labels of new nodes (fs_ctx) */
	bool allow_direct_io;	 /* keep the guest's O_DIRECT; default strips it */
};

/* Fills cfg with the defaults (which match the Rust virtiofsd's). */
void fuse_server_config_default(struct fuse_server_config *cfg);

/*
 * complete(cookie, written) is called exactly once, from any thread, for every request that
 * fuse_server_handle() answered with FUSE_DEFERRED (today: blocking lock requests). It may run
 * before fuse_server_handle() has returned FUSE_DEFERRED to its caller.
 *
 * Deferred lock requests wait in threads of their own that fuse_server_new() wakes with
 * SIGRTMIN (a no-op handler without SA_RESTART, installed once): the rest of the daemon must not
 * use that signal, and a seccomp filter must allow rt_sigaction, tgkill and clone3/clone.
 */
typedef void (*fuse_complete_fn)(void *cookie, size_t written);

/* Returns NULL (errno set) on failure. The backend outlives the server. */
struct fuse_server *fuse_server_new(const struct fs_backend *be,
				    const struct fuse_server_config *cfg,
				    fuse_complete_fn complete);
void fuse_server_free(struct fuse_server *srv);

enum fuse_handled {
	FUSE_REPLIED,  /* *ret_written bytes of reply are in `out` (0: no reply, e.g. FORGET) */
	FUSE_DEFERRED, /* the reply comes later through complete(cookie, written) */
};

/*
 * Serves one request. `in` holds fuse_in_header + arguments, `out` room for the reply. May be
 * called from several threads at once. `cookie` is passed back to complete() if deferred; the
 * iovecs must stay valid until then.
 */
enum fuse_handled fuse_server_handle(struct fuse_server *srv, const struct iovec *in,
				     unsigned in_cnt, const struct iovec *out, unsigned out_cnt,
				     void *cookie, size_t *ret_written);

/*
 * Rings stopping (VM pause, migration): answers every deferred request now, EINTR for a lock
 * still waiting (the guest's fcntl(F_SETLKW) returns EINTR), so none is left without a reply
 * the guest would wait for forever. Any thread; returns once every answer went to complete().
 */
void fuse_server_answer_deferred(struct fuse_server *srv);

/*
 * Device reset, frontend disconnect or a new memory table: wakes and completes (with an error,
 * writing nothing) every deferred request, then ends the session (backend destroy). Call with
 * no fuse_server_handle() in flight. The next request must be a FUSE_INIT.
 */
void fuse_server_reset(struct fuse_server *srv);

/*
 * Migration (docs/migration.md). state_save: the session (its whole INIT result) and the
 * backend's state, as a malloc'd versioned blob; changes nothing, so the session goes on if the
 * migration fails. state_load: ends any session, then continues the one the blob describes (no
 * FUSE_INIT follows); a refused blob (logged) leaves no session, as after a reset. Both wait for
 * requests in flight; 0 or -errno.
 */
int fuse_server_state_save(struct fuse_server *srv, void **ret_buf, size_t *ret_len);
int fuse_server_state_load(struct fuse_server *srv, const void *buf, size_t len);

#endif
