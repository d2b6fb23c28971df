// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Session start and end: FUSE_INIT negotiation and FUSE_DESTROY. Both run with session_lock
 * write-held, so no other request is in the backend meanwhile.
 */
#include <errno.h>
#include <stddef.h>

#include "fuse/fuse_internal.h"

/*
 * Flags every session gets when the guest offers them. EXPORT_SUPPORT is not offered: node ids
 * do not survive a forget, so NFS-style handles could not be honoured.
 *
 * What Linux 6.6-7.x offers on top of 7.38, and why none of it is accepted (tests/frontend
 * init-7.45 checks that none comes back):
 *   HAS_EXPIRE_ONLY      the guest understands FUSE_EXPIRE_ONLY in entry invalidations; we
 *                        send no notifications (virtio-fs has no notification queue in Linux).
 *   DIRECT_IO_ALLOW_MMAP MAP_SHARED on FOPEN_DIRECT_IO files (--cache=never); that mode's
 *                        promise is that no file data is cached in the guest, which a shared
 *                        mapping breaks.
 *   PASSTHROUGH          the kernel reads and writes a backing file the server opened in the
 *                        same kernel; a guest cannot reach host files.
 *   NO_EXPORT_SUPPORT    would make name_to_handle_at fail in the guest (systemd, overlayfs use
 *                        it); the handles it gives work while the inode is cached, as now.
 *   HAS_RESEND           the server may ask for pending requests again (FUSE_NOTIFY_RESEND);
 *                        no notification queue, and a virtqueue loses no request.
 *   ALLOW_IDMAP          idmapped guest mounts: the kernel then sends unmapped ids (-1) for
 *                        every op that creates nothing, but we act as the caller's uid/gid.
 *   OVER_IO_URING        a /dev/fuse transport; ours is the virtqueue.
 *   REQUEST_TIMEOUT      the guest would abort the whole connection when one request (a
 *                        blocking lock: SETLKW waits as long as the holder keeps it) is slow.
 */
#define FUSE_BASE_FLAGS                                                                    \
	(FUSE_ASYNC_READ | FUSE_PARALLEL_DIROPS | FUSE_BIG_WRITES | FUSE_AUTO_INVAL_DATA | \
	 FUSE_ASYNC_DIO | FUSE_HAS_IOCTL_DIR | FUSE_ATOMIC_O_TRUNC | FUSE_MAX_PAGES |      \
	 FUSE_INIT_EXT | FUSE_CREATE_SUPP_GROUP)

uint64_t fuse_offered_flags(const struct fuse_server *srv)
{
	const struct fuse_server_config *cfg = &srv->cfg;
	const struct fs_ops *ops = srv->be->ops;
	uint64_t f = FUSE_BASE_FLAGS;

	/* A cache window this session: DAX mappings, and per-inode DAX for dax=inode mounts. */
	if (ops->dax_available && ops->dax_available(srv->be->fs))
		f |= FUSE_MAP_ALIGNMENT | FUSE_HAS_INODE_DAX;
	if (cfg->readdirplus)
		f |= FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO;
	if (cfg->writeback)
		f |= FUSE_WRITEBACK_CACHE;
	if (cfg->posix_locks)
		f |= FUSE_POSIX_LOCKS;
	if (cfg->flock_locks)
		f |= FUSE_FLOCK_LOCKS;
	if (cfg->killpriv_v2)
		f |= FUSE_HANDLE_KILLPRIV_V2;
	if (cfg->announce_submounts)
		f |= FUSE_SUBMOUNTS;
	if (cfg->xattr)
		f |= FUSE_SETXATTR_EXT;
	/* ACLs live in xattrs. DONT_MASK goes with them: the guest then sends the mode unmasked
	 * with its umask, and the backend applies the umask only where no default ACL does. */
	if (cfg->xattr && cfg->posix_acl)
		f |= FUSE_POSIX_ACL | FUSE_DONT_MASK;
	/* The guest then sends its LSM's label with every creating request (secctx.c). */
	if (cfg->security_label)
		f |= FUSE_SECURITY_CTX;
	return f;
}

void fuse_init_info(uint64_t flags, struct fs_init_info *ret)
{
	*ret = (struct fs_init_info){
		.writeback = (flags & FUSE_WRITEBACK_CACHE) != 0,
		.killpriv_v2 = (flags & FUSE_HANDLE_KILLPRIV_V2) != 0,
		.posix_acl = (flags & FUSE_POSIX_ACL) != 0,
	};
}

/* Of POSIX_ACL and DONT_MASK, one without the other is wrong either way (a guest-side umask
 * defeating default ACLs, or no umask at all): keep the pair or neither. */
static uint64_t acl_flags_paired(const struct fuse_server *srv, uint64_t f)
{
	const uint64_t pair = FUSE_POSIX_ACL | FUSE_DONT_MASK;

	if ((f & pair) == pair)
		return f;
	if (srv->cfg.posix_acl && srv->cfg.xattr)
		log_ratelimited(LOG_LEVEL_WARN, "fuse: the guest does not offer POSIX_ACL and "
						"DONT_MASK: serving without ACLs");
	return f & ~pair;
}

static void fill_init_out(struct fuse_init_out *o, const struct fuse_server *srv,
			  uint32_t guest_readahead)
{
	uint32_t max_write = srv->cfg.max_write;

	*o = (struct fuse_init_out){
		.major = FUSE_KERNEL_VERSION,
		.minor = srv->minor,
		.max_readahead = guest_readahead,
		.flags = (uint32_t)srv->flags,
		.max_background = UINT16_MAX,
		/* 3/4 of max_background, as the Rust virtiofsd and libfuse choose. */
		.congestion_threshold = 49149,
		.max_write = max_write,
		.time_gran = 1,
		.max_pages = (uint16_t)((max_write + 4095) / 4096),
		/* log2 of the alignment of foffset/moffset we need: a page. */
		.map_alignment = (srv->flags & FUSE_MAP_ALIGNMENT) ? 12 : 0,
		.flags2 = (srv->flags & FUSE_INIT_EXT) ? (uint32_t)(srv->flags >> 32) : 0,
	};
}

int fuse_op_init(struct fuse_req *req)
{
	struct fuse_server *srv = req->srv;
	const struct fs_ops *ops = srv->be->ops;
	struct fuse_init_in in = {0};
	struct fuse_init_out o;
	struct fs_init_info info;
	uint64_t guest_flags;
	size_t n = MIN(fuse_reader_remaining(&req->r), sizeof(in));
	int r;

	/* Any INIT comes from a guest that rebooted or remounted: nothing of the old session
	 * survives, whether or not the new one starts. */
	if (srv->initialized)
		fuse_session_end(srv);

	/* Before 7.36 fuse_init_in is 16 bytes (no flags2): read what is there, zero the rest. */
	fuse_reader_read(&req->r, &in, n);
	if (in.major < FUSE_KERNEL_VERSION) {
		fuse_log_guest(req, "major %u unsupported", in.major);
		return -EPROTO;
	}
	if (in.major > FUSE_KERNEL_VERSION) {
		/* The guest retries INIT with our major; only major/minor matter in this reply. */
		o = (struct fuse_init_out){.major = FUSE_KERNEL_VERSION, .minor = FUSE_OUR_MINOR};
		return fuse_reply(req, &o, FUSE_COMPAT_INIT_OUT_SIZE);
	}
	if (n < offsetof(struct fuse_init_in, flags2) || in.minor < FUSE_OLDEST_MINOR) {
		fuse_log_guest(req, "7.%u (%zu bytes) too old", in.minor, n);
		return -EPROTO;
	}
	/* Every minor >= 23 takes the full fuse_init_out; older ones are refused above. */
	if (fuse_writer_room(&req->w) < sizeof(o))
		return -EIO;

	guest_flags = in.flags;
	if ((in.flags & FUSE_INIT_EXT) && n >= offsetof(struct fuse_init_in, flags2) + 4)
		guest_flags |= (uint64_t)in.flags2 << 32;
	srv->flags = acl_flags_paired(srv, guest_flags & fuse_offered_flags(srv));
	srv->minor = MIN(in.minor, FUSE_OUR_MINOR);
	/* The Rust daemon refuses such a guest (EPROTO); serving it unlabelled is kinder, and the
	 * guest then labels nothing itself either. */
	if (srv->cfg.security_label && !(srv->flags & FUSE_SECURITY_CTX))
		log_ratelimited(LOG_LEVEL_WARN, "fuse: the guest does not offer SECURITY_CTX: "
						"new files get no security label");
	/* The version table only for a guest that asked (with INIT_EXT: the flag is in flags2)
	 * and can see its copy. Readdirplus stays only for a guest that also asked for versioned
	 * entries (VFSD_VT_INIT_RDPLUS); one that predates that bit parses the stock layout,
	 * which has no room for versions, so readdirplus goes. */
	if ((srv->flags & FUSE_INIT_EXT) && (guest_flags & VFSD_VT_INIT_FLAG) &&
	    ops->vt_available && ops->vt_available(srv->be->fs)) {
		srv->flags |= VFSD_VT_INIT_FLAG;
		if ((guest_flags & VFSD_VT_INIT_RDPLUS) && (srv->flags & FUSE_DO_READDIRPLUS))
			srv->flags |= VFSD_VT_INIT_RDPLUS;
		else
			srv->flags &= ~(uint64_t)(FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO);
	}

	fuse_init_info(srv->flags, &info);
	r = ops->init ? ops->init(srv->be->fs, &info) : 0;
	if (r < 0) {
		srv->flags = 0;
		srv->minor = 0;
		return r;
	}
	srv->initialized = true;
	log_ratelimited(LOG_LEVEL_INFO, "fuse: session 7.%u, flags %#llx", srv->minor,
			(unsigned long long)srv->flags);

	fill_init_out(&o, srv, in.max_readahead);
	return fuse_reply(req, &o, sizeof(o));
}

int fuse_op_destroy(struct fuse_req *req)
{
	fuse_session_end(req->srv);
	return 0;
}
