// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Per-request credentials. Ops that create files or depend on permission checks run with the
 * guest caller's uid, gid and supplementary groups, so the host kernel makes the same decision
 * the guest would and new files get the right owner.
 *
 * Only the calling thread may change: glibc's setresuid()/setgroups() wrappers broadcast the
 * change to every thread of the process, so the raw syscalls are used. Only the effective ids
 * change (real and saved stay 0), which is what lets us switch back. Leaving euid 0 clears the
 * effective capabilities and returning restores them from the permitted set, so a non-root
 * guest really is checked as that user. A root guest runs as the daemon (no syscalls at all).
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fs/passthrough/pt.h"
#include "util/log.h"

/*
 * Which of this thread's ids differ from the daemon's (a failed restore is retried). Only those
 * are switched and switched back: a guest user without supplementary groups costs no setgroups,
 * a root guest no syscall at all.
 */
enum {
	PT_CRED_GROUPS = 1,
	PT_CRED_GID = 2,
	PT_CRED_UID = 4
};
static __thread unsigned pt_cred_changed;
/* An unprivileged daemon cannot switch: it serves every request as itself. */
static bool pt_cred_disabled;

static int pt_cred_restore(void)
{
	/* uid first: changing gid and groups needs the capabilities euid 0 gives back. */
	if ((pt_cred_changed & PT_CRED_UID) && syscall(SYS_setresuid, -1, 0, -1) < 0)
		return -errno;
	pt_cred_changed &= ~PT_CRED_UID;
	if ((pt_cred_changed & PT_CRED_GID) && syscall(SYS_setresgid, -1, 0, -1) < 0)
		return -errno;
	pt_cred_changed &= ~PT_CRED_GID;
	if ((pt_cred_changed & PT_CRED_GROUPS) && syscall(SYS_setgroups, 0, NULL) < 0)
		return -errno;
	pt_cred_changed = 0;
	return 0;
}

int pt_cred_enter(struct pt_cred *c, const struct fs_ctx *ctx)
{
	int r;

	c->switched = false;
	if (pt_cred_changed) {
		r = pt_cred_restore();
		if (r < 0) {
			log_ratelimited(LOG_LEVEL_ERROR,
					"passthrough: cannot restore credentials: %d", r);
			return -EIO;
		}
	}
	/* -1 means "unchanged" to the syscalls: a guest sending it would keep our root ids. */
	if (ctx->uid == (uid_t)-1 || ctx->gid == (gid_t)-1 || ctx->ngroups > NGROUPS_MAX)
		return -EINVAL;
	if (pt_cred_disabled || (ctx->uid == 0 && ctx->gid == 0 && ctx->ngroups == 0))
		return 0;

	/* Each id is marked before its syscall: a failure may have left it half done. */
	c->switched = true;
	if (ctx->ngroups) {
		pt_cred_changed |= PT_CRED_GROUPS;
		if (syscall(SYS_setgroups, (size_t)ctx->ngroups, ctx->groups) < 0)
			goto fail;
	}
	if (ctx->gid) {
		pt_cred_changed |= PT_CRED_GID;
		if (syscall(SYS_setresgid, -1, ctx->gid, -1) < 0)
			goto fail;
	}
	if (ctx->uid) {
		pt_cred_changed |= PT_CRED_UID;
		if (syscall(SYS_setresuid, -1, ctx->uid, -1) < 0)
			goto fail;
	}
	return 0;
fail:
	r = -errno;
	pt_cred_leave(c);
	return r;
}

void pt_cred_leave(struct pt_cred *c)
{
	int saved = errno;

	if (!c->switched)
		return;
	c->switched = false;
	if (pt_cred_restore() < 0)
		log_ratelimited(LOG_LEVEL_ERROR, "passthrough: cannot restore credentials: %m");
	errno = saved;
}

int pt_cred_init(void)
{
	if (geteuid() != 0) {
		pt_cred_disabled = true;
		log_warn("passthrough: not running as root, requests run with the daemon's ids");
		return 0;
	}
	/* CVE-2022-0358: groups inherited from whoever started us must not apply to guest
	 * requests. Process-wide on purpose: glibc's wrapper applies it to every thread. */
	if (setgroups(0, NULL) < 0)
		return -errno;
	return 0;
}
