// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The migration state of a FUSE session (docs/migration.md has the format): a header, then the
 * session's INIT result (this file), then the backend's section (fs/ops.h state_save). A
 * destination continues the session from it: no FUSE_INIT follows a migration.
 *
 * Trust: a state to load is hostile (it crossed a migration stream): every length and count is
 * bounded, every flag checked against what this server would itself have negotiated, and a
 * refused state leaves the server with no session, as after a reset. The frontend decides when
 * a state is saved or loaded, so every line here is rate limited.
 */
#include <errno.h>
#include <string.h>

#include "fuse/fuse_internal.h"

#define STATE_MAGIC   "VFSDSTAT"
#define STATE_VERSION 1u
enum {
	STATE_SEC_FUSE = 1,
	STATE_SEC_BACKEND = 2,
};
#define STATE_FUSE_LEN 24u

static void put_section_start(struct sbuf_w *w, uint32_t tag, size_t *len_off)
{
	sbuf_put_u32(w, tag);
	sbuf_put_u32(w, 0); /* flags, none yet */
	*len_off = sbuf_reserve_u64(w);
}

static void put_section_end(struct sbuf_w *w, size_t len_off)
{
	sbuf_patch_u64(w, len_off, w->len - len_off - 8);
}

int fuse_server_state_save(struct fuse_server *srv, void **ret_buf, size_t *ret_len)
{
	const struct fs_ops *ops = srv->be->ops;
	struct sbuf_w w = {0};
	size_t len_off;
	int r = 0;

	/* No request in the backend while it is walked (the rings are stopped anyway). */
	pthread_rwlock_wrlock(&srv->session_lock);
	sbuf_put(&w, STATE_MAGIC, 8);
	sbuf_put_u32(&w, STATE_VERSION);
	sbuf_put_u32(&w, 2); /* sections */

	put_section_start(&w, STATE_SEC_FUSE, &len_off);
	sbuf_put_u32(&w, srv->initialized);
	sbuf_put_u32(&w, srv->minor);
	sbuf_put_u64(&w, srv->flags);
	sbuf_put_u32(&w, srv->cfg.max_write);
	sbuf_put_u32(&w, 0);
	put_section_end(&w, len_off);

	put_section_start(&w, STATE_SEC_BACKEND, &len_off);
	if (srv->initialized) {
		if (!ops->state_save) {
			log_ratelimited(LOG_LEVEL_ERROR,
					"migration: the filesystem backend cannot save its state");
			r = -EOPNOTSUPP;
		} else if (srv->flags & VFSD_VT_INIT_FLAG) {
			/* The guest's copy of the table is shared memory of this host. */
			log_ratelimited(LOG_LEVEL_ERROR,
					"migration: refused: the guest uses the version table "
					"(--coherence=table), whose shared memory cannot move");
			r = -EOPNOTSUPP;
		} else {
			r = ops->state_save(srv->be->fs, &w);
		}
	}
	put_section_end(&w, len_off);
	pthread_rwlock_unlock(&srv->session_lock);

	if (r == 0)
		r = w.err;
	if (r < 0) {
		free(w.buf);
		return r;
	}
	*ret_buf = w.buf;
	*ret_len = w.len;
	return 0;
}

/* Section `tag` of r, as a reader of its own. */
static struct sbuf_r get_section(struct sbuf_r *r, uint32_t tag)
{
	uint32_t t = sbuf_get_u32(r), flags = sbuf_get_u32(r);
	uint64_t len = sbuf_get_u64(r);

	if (!r->err && (t != tag || flags != 0)) {
		log_ratelimited(LOG_LEVEL_ERROR,
				"migration: state section %u (flags %#x) where %u was expected", t,
				flags, tag);
		r->err = -EBADMSG;
	}
	return sbuf_sub(r, len);
}

/* The INIT result a state carries: what this server would itself have agreed to. */
static int check_session(struct fuse_server *srv, uint32_t minor, uint64_t flags,
			 uint32_t max_write)
{
	uint64_t extra = flags & ~fuse_offered_flags(srv);

	if (minor < FUSE_OLDEST_MINOR || minor > FUSE_OUR_MINOR) {
		log_ratelimited(LOG_LEVEL_ERROR, "migration: the source's session speaks FUSE 7.%u",
				minor);
		return -EPROTO;
	}
	if (extra) {
		log_ratelimited(
			LOG_LEVEL_ERROR,
			"migration: the source negotiated INIT flags %#llx that this daemon does "
			"not offer: start it with the source's options",
			(unsigned long long)extra);
		return -EPROTO;
	}
	if (max_write < 4096) {
		log_ratelimited(LOG_LEVEL_ERROR,
				"migration: the source's max_write %u is below 4096", max_write);
		return -EPROTO;
	}
	if (max_write > srv->cfg.max_write) {
		log_ratelimited(LOG_LEVEL_ERROR,
				"migration: the source's max_write %u is above ours (%u)",
				max_write, srv->cfg.max_write);
		return -EPROTO;
	}
	return 0;
}

static int load_locked(struct fuse_server *srv, const void *buf, size_t len)
{
	const struct fs_ops *ops = srv->be->ops;
	struct sbuf_r r = sbuf_reader(buf, len), fuse, be;
	const void *magic = sbuf_take(&r, 8);
	uint32_t version = sbuf_get_u32(&r), nsec = sbuf_get_u32(&r);
	uint32_t initialized, minor, max_write;
	struct fs_init_info info;
	uint64_t flags;
	int err;

	if (r.err || memcmp(magic, STATE_MAGIC, 8) != 0) {
		log_ratelimited(LOG_LEVEL_ERROR, "migration: not a vfsd device state (%zu bytes)",
				len);
		return -EBADMSG;
	}
	if (version != STATE_VERSION || nsec != 2) {
		log_ratelimited(LOG_LEVEL_ERROR,
				"migration: device state version %u with %u sections; this daemon "
				"reads version %u",
				version, nsec, STATE_VERSION);
		return -EPROTONOSUPPORT;
	}
	fuse = get_section(&r, STATE_SEC_FUSE);
	be = get_section(&r, STATE_SEC_BACKEND);
	if (r.err || sbuf_remaining(&r) || fuse.len != STATE_FUSE_LEN) {
		log_ratelimited(LOG_LEVEL_ERROR,
				"migration: malformed device state (sections or trailing bytes)");
		return -EBADMSG;
	}
	initialized = sbuf_get_u32(&fuse);
	minor = sbuf_get_u32(&fuse);
	flags = sbuf_get_u64(&fuse);
	max_write = sbuf_get_u32(&fuse);
	if (initialized > 1 || sbuf_get_u32(&fuse) != 0) {
		log_ratelimited(LOG_LEVEL_ERROR, "migration: malformed session section");
		return -EBADMSG;
	}
	if (!initialized) {
		/* The guest had not mounted: nothing to continue, the next request is its INIT. */
		return be.len ? -EBADMSG : 0;
	}
	err = check_session(srv, minor, flags, max_write);
	if (err < 0)
		return err;
	if (!ops->state_load) {
		log_ratelimited(LOG_LEVEL_ERROR,
				"migration: the filesystem backend cannot load a state");
		return -EOPNOTSUPP;
	}
	fuse_init_info(flags, &info);
	err = ops->init ? ops->init(srv->be->fs, &info) : 0;
	if (err < 0)
		return err;
	srv->initialized = true;
	srv->minor = minor;
	srv->flags = flags;
	err = ops->state_load(srv->be->fs, &be);
	if (err == 0 && (be.err || sbuf_remaining(&be))) {
		log_ratelimited(LOG_LEVEL_ERROR, "migration: malformed backend section");
		err = -EBADMSG;
	}
	return err;
}

int fuse_server_state_load(struct fuse_server *srv, const void *buf, size_t len)
{
	int r;

	pthread_rwlock_wrlock(&srv->session_lock);
	/* savevm/loadvm into a live device: the old session goes first. */
	if (srv->initialized)
		fuse_session_end(srv);
	r = load_locked(srv, buf, len);
	if (r < 0)
		fuse_session_end(srv);
	else if (srv->initialized)
		log_ratelimited(LOG_LEVEL_INFO,
				"migration: FUSE session 7.%u continues, flags %#llx", srv->minor,
				(unsigned long long)srv->flags);
	pthread_rwlock_unlock(&srv->session_lock);
	return r;
}
