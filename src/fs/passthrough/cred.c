// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Per-request credentials, and who decides permissions.
 *
 * The guest kernel decides. virtio-fs always mounts with default_permissions, so every request
 * arrives already checked by the guest's VFS against the caller's full credentials: all its
 * supplementary groups, its capabilities, sticky-directory and set-id rules, and its POSIX ACLs
 * when they are enabled. The daemon cannot repeat that check faithfully: a FUSE request carries
 * the caller's uid and gid only, plus (FUSE_CREATE_SUPP_GROUP, Linux >= 6.2) one supplementary
 * group on create-type requests; Linux 6.1 sends none, and capabilities never travel. A second
 * check on the host with that partial identity turns allowed operations into EPERM/EACCES (a
 * chown to a supplementary group, a guest-side clearing of set-id bits after a non-owner's
 * write, utimes or open through group permission, opening a readable but not searchable
 * directory). Nor would it protect anything: the guest kernel chooses the uid it sends.
 *
 * So requests run as the daemon, except where the caller's identity decides the *result* rather
 * than the permission: nodes created by mknod, mkdir, symlink, create and tmpfile get the
 * caller's uid, its gid (or the directory's, for set-group-id directories, applied by the host
 * kernel) and its groups, exactly as the guest's local file system would give them. While
 * creating, the thread keeps CAP_DAC_OVERRIDE and CAP_FSETID (when the daemon holds them): the
 * guest already allowed the create and already stripped a set-group-id bit the caller may not
 * set, so the host must not decide again with less information. (Device nodes still need a
 * root caller: CAP_MKNOD is not kept, as a second line for nodes the host never opens anyway.)
 * Set-id clearing that the daemon's own privilege would skip, or that FUSE leaves to the server
 * (FUSE_HANDLE_KILLPRIV_V2), is done explicitly (pt_kill_suidgid). The Rust virtiofsd makes the
 * same split (caller's ids for creating ops only). Two requests carry no guest check and are
 * answered with the ids they carry: FUSE_ACCESS, which a default_permissions mount never sends, and
 * a FUSE_CREATE whose name turns out to be taken on the host (the guest checked only the
 * directory). The guest decides on its cached attributes, so a change made on the host within the
 * attribute timeout can make a decision stale.
 *
 * Only the calling thread may change: glibc's setresuid()/setgroups() wrappers broadcast the
 * change to every thread of the process, so the raw syscalls are used. Only the effective ids
 * change (real and saved stay 0), which is what lets us switch back. Leaving euid 0 clears the
 * effective capabilities (the ones above are raised again with libcap-ng, whose state is
 * per-thread) and returning restores them from the permitted set. A root guest runs as the
 * daemon (no syscalls at all).
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cap-ng.h>

#include "fs/passthrough/pt.h"
#include "util/idmap.h"
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
/* --translate-uid/--translate-gid (NULL: none); set once by pt_cred_init. */
static const struct idmap *pt_uid_map, *pt_gid_map;
/* Supplementary groups a translated request may carry (FUSE sends at most one). */
#define PT_CRED_MAX_MAPPED_GROUPS 32

/* What a create keeps of the daemon's capabilities once euid has left 0 (top of the file). */
static const unsigned pt_creator_caps[] = {CAP_DAC_OVERRIDE, CAP_FSETID};
/* libcap-ng's state is per-thread: loaded once per thread, as root, with the permitted set and
 * an effective set of just the pt_creator_caps the daemon holds (none: nothing to raise). */
static __thread bool pt_caps_loaded;
static __thread bool pt_caps_any;

static void pt_caps_load(void)
{
	if (pt_caps_loaded)
		return;
	pt_caps_any = false;
	if (capng_get_caps_process() < 0)
		return;
	for (unsigned cap = 0; cap <= CAP_LAST_CAP; cap++)
		capng_update(CAPNG_DROP, CAPNG_EFFECTIVE, cap);
	for (size_t i = 0; i < ARRAY_SIZE(pt_creator_caps); i++) {
		if (capng_have_capability(CAPNG_PERMITTED, pt_creator_caps[i]) != 1)
			continue;
		capng_update(CAPNG_ADD, CAPNG_EFFECTIVE, pt_creator_caps[i]);
		pt_caps_any = true;
	}
	pt_caps_loaded = true;
}

/* After the switch away from euid 0, which emptied the effective set. */
static void pt_caps_raise(void)
{
	if (!pt_caps_any)
		return;
	if (capng_apply(CAPNG_SELECT_CAPS) < 0) {
		/* Reloaded next time (the permitted set may have shrunk since); meanwhile the
		 * host checks the caller's ids, which can only refuse more. */
		pt_caps_loaded = false;
		log_ratelimited(LOG_LEVEL_WARN,
				"passthrough: cannot raise capabilities for a create: %m");
	}
}

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

/*
 * The ids a request acts with on the host: --translate-* applied. A forbidden uid or primary
 * gid refuses the request (-EPERM); a forbidden supplementary group is left out.
 */
static int pt_cred_translate(const struct fs_ctx *ctx, struct fs_ctx *out, gid_t *groups)
{
	uint32_t uid, gid;
	unsigned n = 0;

	*out = *ctx;
	if (idmap_empty(pt_uid_map) && idmap_empty(pt_gid_map))
		return 0;
	if (ctx->ngroups > PT_CRED_MAX_MAPPED_GROUPS)
		return -EINVAL;
	if (idmap_to_host(pt_uid_map, ctx->uid, &uid) < 0 ||
	    idmap_to_host(pt_gid_map, ctx->gid, &gid) < 0)
		return -EPERM;
	for (unsigned i = 0; i < ctx->ngroups; i++) {
		uint32_t g;

		if (idmap_to_host(pt_gid_map, ctx->groups[i], &g) == 0)
			groups[n++] = g;
	}
	out->uid = uid;
	out->gid = gid;
	out->groups = groups;
	out->ngroups = n;
	return 0;
}

static int pt_cred_switch(struct pt_cred *c, const struct fs_ctx *guest, bool creator)
{
	gid_t groups[PT_CRED_MAX_MAPPED_GROUPS];
	struct fs_ctx mapped;
	const struct fs_ctx *ctx = &mapped;
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
	r = pt_cred_translate(guest, &mapped, groups);
	if (r < 0)
		return r;
	/* -1 means "unchanged" to the syscalls: a guest sending it would keep our root ids (also
	 * when a translation produced it). */
	if (ctx->uid == (uid_t)-1 || ctx->gid == (gid_t)-1 || ctx->ngroups > NGROUPS_MAX)
		return -EINVAL;
	if (pt_cred_disabled || (ctx->uid == 0 && ctx->gid == 0 && ctx->ngroups == 0))
		return 0;

	if (creator && ctx->uid)
		pt_caps_load();
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
		if (creator)
			pt_caps_raise();
	}
	return 0;
fail:
	r = -errno;
	pt_cred_leave(c);
	return r;
}

int pt_cred_enter(struct pt_cred *c, const struct fs_ctx *ctx)
{
	return pt_cred_switch(c, ctx, false);
}

int pt_cred_enter_creator(struct pt_cred *c, const struct fs_ctx *ctx)
{
	return pt_cred_switch(c, ctx, true);
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

/* One id of a chown: -1 ("leave unchanged") stays; a translation onto -1 is refused. */
static int pt_id_to_host(const struct idmap *m, uint32_t *id)
{
	if (*id == (uint32_t)-1)
		return 0;
	if (idmap_to_host(m, *id, id) < 0)
		return -EPERM;
	return *id == (uint32_t)-1 ? -EINVAL : 0;
}

int pt_ids_to_host(const struct fs_state *fs, uint32_t *uid, uint32_t *gid)
{
	int r = pt_id_to_host(fs->cfg.translate_uid, uid);

	return r < 0 ? r : pt_id_to_host(fs->cfg.translate_gid, gid);
}

void pt_ids_to_guest(const struct fs_state *fs, uint32_t *uid, uint32_t *gid)
{
	*uid = idmap_to_guest(fs->cfg.translate_uid, *uid);
	*gid = idmap_to_guest(fs->cfg.translate_gid, *gid);
}

void pt_stat_to_guest(const struct fs_state *fs, struct stat *st)
{
	uint32_t uid = st->st_uid, gid = st->st_gid;

	pt_ids_to_guest(fs, &uid, &gid);
	st->st_uid = uid;
	st->st_gid = gid;
}

int pt_cred_init(const struct idmap *uids, const struct idmap *gids)
{
	pt_uid_map = uids;
	pt_gid_map = gids;
	if (geteuid() != 0) {
		pt_cred_disabled = true;
		log_warn("passthrough: not running as root, requests run with the daemon's ids");
		return 0;
	}
	/* CVE-2022-0358: groups inherited from whoever started us must not apply to guest
	 * requests. Process-wide on purpose: glibc's wrapper applies it to every thread. Root of a
	 * user namespace made by an unprivileged caller may not (setgroups is denied there so that
	 * the caller could write gid_map): its groups are the caller's own, which the caller could
	 * use anyway, so that is only worth a warning. */
	if (setgroups(0, NULL) < 0) {
		if (errno != EPERM)
			return -errno;
		if (getgroups(0, NULL) > 0)
			log_warn("passthrough: cannot drop the supplementary groups of the user "
				 "that started vfsd (setgroups is denied in its user namespace)");
	}
	/* Root of a user namespace that maps only the caller's own id (rootless vfsd without
	 * --uid-map) has no other uid to take: every switch would fail with EINVAL. Serve as
	 * ourselves then, as an unprivileged daemon does. The probe changes only this thread's
	 * effective uid and takes it back at once (real and saved uid stay 0). */
	if (syscall(SYS_setresuid, -1, 1, -1) < 0) {
		if (errno != EINVAL)
			return -errno;
		pt_cred_disabled = true;
		log_info("passthrough: only our own uid is mapped, requests run with the daemon's "
			 "ids (see --uid-map)");
		return 0;
	}
	if (syscall(SYS_setresuid, -1, 0, -1) < 0)
		return -errno;
	return 0;
}
