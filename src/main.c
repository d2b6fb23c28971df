/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vfsd: a virtio-fs vhost-user backend. main() wires the layers together and owns process
 * lifetime: options (cli/), the listening socket and vhost-user device (transport/), the FUSE
 * server (fuse/), the passthrough backend (fs/passthrough/) and the sandbox (sandbox/).
 *
 * Order matters: everything that needs the host's view (the socket path, the shared directory,
 * /proc, the version table's file) is set up before the sandbox hides it, and capabilities are
 * dropped and the seccomp filter installed before the first worker or pool thread exists, so
 * every thread inherits them.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "cli/opts.h"
#include "coherence/vt.h"
#include "coherence/watch.h"
#include "dax/dax.h"
#include "fs/passthrough/passthrough.h"
#include "fuse/fuse_server.h"
#include "sandbox/sandbox.h"
#include "transport/vhost_user.h"
#include "util/log.h"
#include "util/macros.h"

static struct vhu_dev *volatile running_dev;
/* A stop asked for before the device serves (e.g. SIGTERM during start-up) must not be lost. */
static volatile sig_atomic_t stop_requested;
/* Which signal asked us to stop, for the last log line. */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
	struct vhu_dev *dev = running_dev;

	stop_requested = 1;
	stop_signal = sig;
	if (dev)
		vhu_dev_stop(dev);
}

static const char *signal_name(int sig)
{
	switch (sig) {
	case SIGTERM:
		return "SIGTERM";
	case SIGINT:
		return "SIGINT";
	case SIGHUP:
		return "SIGHUP";
	}
	return "a signal";
}

/* Operators and supervisors want to see why the daemon went away. */
static void log_exit_reason(int serve_result)
{
	int sig = stop_signal;

	if (sig)
		log_info("exiting on %s", signal_name(sig));
	else if (serve_result == 0)
		log_info("exiting: the frontend disconnected");
}

/* What the transport's callbacks and the DAX mapper reach. */
struct daemon {
	struct vhu_dev *dev;
	struct fuse_server *srv;
	struct dax_window *dax;
};

static void on_request(void *opaque, struct vhu_req *req)
{
	struct daemon *d = opaque;
	size_t written = 0;

	if (fuse_server_handle(d->srv, req->rd, req->nrd, req->wr, req->nwr, req, &written) ==
	    FUSE_REPLIED)
		vhu_req_done(req, written);
}

static void on_deferred_complete(void *cookie, size_t written)
{
	vhu_req_done(cookie, written);
}

static void log_dax_stats(struct dax_window *dax)
{
	struct dax_stats st;

	if (!dax)
		return;
	dax_get_stats(dax, &st);
	/* At every device reset, which the guest can repeat. */
	if (st.maps || st.failures)
		log_ratelimited(LOG_LEVEL_INFO,
				"dax: %llu maps, %llu unmaps, %llu refused by the frontend",
				(unsigned long long)st.maps, (unsigned long long)st.unmaps,
				(unsigned long long)st.failures);
}

/* At the end: how much of the watch's work was the daemon's own changes, and whether anything
 * else changed the share (each reported handle bumped a slot that no reply told a guest about;
 * each lost notice bumped the epoch). */
static void log_watch_stats(const struct vt_watch *w)
{
	struct vt_watch_stats st;

	if (!w)
		return;
	vt_watch_get_stats(w, &st);
	log_info("coherence: host watch: %llu events (%llu the daemon's own) in %llu reads, %llu "
		 "handles bumped, %llu lost notices, %llu unknown names",
		 (unsigned long long)st.events, (unsigned long long)st.own,
		 (unsigned long long)st.rounds, (unsigned long long)st.handles,
		 (unsigned long long)st.lost, (unsigned long long)st.unknown);
}

/* Device reset or disconnect: the frontend has dropped the window's maps itself. */
/* Rings stopping: no deferred lock request may stay without an answer. */
static void on_stop(void *opaque)
{
	struct daemon *d = opaque;

	fuse_server_answer_deferred(d->srv);
}

/* Migration: the FUSE session and the backend behind it, as bytes (docs/migration.md). */
static int on_state_save(void *opaque, void **ret_buf, size_t *ret_len)
{
	struct daemon *d = opaque;

	return fuse_server_state_save(d->srv, ret_buf, ret_len);
}

static int on_state_load(void *opaque, const void *buf, size_t len)
{
	struct daemon *d = opaque;

	return fuse_server_state_load(d->srv, buf, len);
}

static void on_reset(void *opaque)
{
	struct daemon *d = opaque;

	if (d->dax) {
		log_dax_stats(d->dax);
		dax_forget_all(d->dax);
	}
	fuse_server_reset(d->srv);
}

static int dax_map(void *opaque, uint64_t win_off, uint64_t len, int fd, uint64_t file_off,
		   bool writable)
{
	struct daemon *d = opaque;

	return vhu_shmem_map(d->dev, win_off, len, fd, file_off, writable);
}

static int dax_unmap(void *opaque, uint64_t win_off, uint64_t len)
{
	struct daemon *d = opaque;

	return vhu_shmem_unmap(d->dev, win_off, len);
}

static uint64_t dax_size(void *opaque)
{
	struct daemon *d = opaque;

	return d->dev ? vhu_shmem_size(d->dev) : 0;
}

static const struct dax_mapper dax_mapper = {
	.map = dax_map,
	.unmap = dax_unmap,
	.window_size = dax_size,
};

/* The version table's mirror goes to the guest as shared memory region 1. */
static int vt_attach(void *opaque, int fd, uint64_t offset, uint64_t len)
{
	struct daemon *d = opaque;

	return d->dev ? vhu_shmem_attach(d->dev, fd, offset, len) : -ENODEV;
}

/* Host change watch -> table: the watch reports file handles, hashed as the backend hashes
 * them (coherence/fid.h), and lost events, which make every guest revalidate everything. */
static void vt_host_changed(void *opaque, int handle_type, const void *handle, size_t len)
{
	struct vt_table *t = opaque;

	vt_bump(t, vt_slot_from_handle(t, handle_type, handle, len));
}

static void vt_host_lost(void *opaque)
{
	vt_bump_epoch(opaque);
}

/* inotify: the backend hands over each directory it instantiates (pt_config.vt_watch_dir). */
static int vt_watch_dir(void *opaque, int dirfd)
{
	return vt_watch_add_dir(opaque, dirfd);
}

static enum vt_watch_kind to_vt_watch_kind(enum opts_vt_watch m)
{
	switch (m) {
	case OPTS_VT_WATCH_FANOTIFY:
		return VT_WATCH_FANOTIFY;
	case OPTS_VT_WATCH_INOTIFY:
		return VT_WATCH_INOTIFY;
	case OPTS_VT_WATCH_AUTO:
	case OPTS_VT_WATCH_NONE:
		break;
	}
	return VT_WATCH_AUTO;
}

/*
 * Inside the sandbox, while CAP_SYS_ADMIN is still held (a fanotify filesystem mark needs it;
 * reading events afterwards does not). *ret stays NULL with --vt-watch=none. 0 or -errno
 * (logged): a table whose host changes would go unseen is refused rather than trusted.
 */
static int open_watch(const struct vfsd_opts *opts, const struct sandbox_config *sb,
		      const struct vt_watch_sink *sink, struct vt_watch **ret)
{
	struct vt_watch_config cfg = {to_vt_watch_kind(opts->vt_watch), sandbox_proc_self_fd()};
	_cleanup_close_ int fd = -1;
	int r;

	*ret = NULL;
	if (opts->vt_watch == OPTS_VT_WATCH_NONE) {
		log_info("coherence: --vt-watch=none: changes made on the host are not seen");
		return 0;
	}
	fd = open(sandbox_shared_dir(sb), O_PATH | O_DIRECTORY | O_CLOEXEC);
	r = fd < 0 ? -errno : vt_watch_new(fd, sink, &cfg, ret);
	if (r < 0) {
		log_error("--coherence=table: cannot watch the share for host changes: %s%s",
			  strerror(-r),
			  r == -EPERM ? " (fanotify needs CAP_SYS_ADMIN)"
				      : "; --vt-watch=none runs without");
		return r;
	}
	log_info("coherence: host changes watched with %s",
		 vt_watch_kind(*ret) == VT_WATCH_FANOTIFY
			 ? "fanotify (a filesystem mark)"
			 : "inotify (the directories the guest looks up)");
	return 0;
}

/* Threads per request queue without a pool: one per CPU we may run on, at most 4. */
static unsigned default_queue_threads(void)
{
	cpu_set_t set;
	int n = 0;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	return (unsigned)MAX(1, MIN(n, 4));
}

static int install_signal_handlers(void)
{
	struct sigaction sa = {.sa_handler = on_stop_signal};

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0 ||
	    sigaction(SIGHUP, &sa, NULL) < 0)
		return -errno;
	/* A frontend that vanishes mid-reply must not kill us: send() returns EPIPE instead. */
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) < 0)
		return -errno;
	return 0;
}

/* Checks that an inherited --fd is a listening UNIX stream socket. */
static int check_inherited_fd(int fd)
{
	int val = 0;
	socklen_t len = sizeof(val);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &val, &len) < 0)
		return -errno;
	if (!val)
		return -EINVAL;
	len = sizeof(val);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &val, &len) < 0)
		return -errno;
	return val == AF_UNIX ? 0 : -EINVAL;
}

static int apply_socket_group(const char *path, const char *group)
{
	struct group *gr = getgrnam(group);

	if (!gr)
		return -ENOENT;
	if (chown(path, (uid_t)-1, gr->gr_gid) < 0 || chmod(path, 0660) < 0)
		return -errno;
	return 0;
}

static int open_listener(const struct vfsd_opts *opts, int *ret_lock_fd)
{
	int fd, r;

	if (opts->fd >= 0) {
		r = check_inherited_fd(opts->fd);
		if (r < 0) {
			log_error("--fd=%d: not a listening UNIX socket: %s", opts->fd,
				  strerror(-r));
			return r;
		}
		return opts->fd;
	}
	fd = vhu_listen_path(opts->socket_path, ret_lock_fd);
	if (fd < 0) {
		if (fd == -EADDRINUSE)
			log_error("%s: another daemon is already listening on this socket",
				  opts->socket_path);
		else
			log_error("%s: cannot create socket: %s", opts->socket_path, strerror(-fd));
		return fd;
	}
	if (opts->socket_group) {
		r = apply_socket_group(opts->socket_path, opts->socket_group);
		if (r < 0) {
			log_error("--socket-group=%s: %s", opts->socket_group, strerror(-r));
			unlink(opts->socket_path);
			close(fd);
			*ret_lock_fd = safe_close(*ret_lock_fd);
			return r;
		}
	}
	return fd;
}

static void fill_fuse_config(const struct vfsd_opts *opts, struct fuse_server_config *cfg)
{
	fuse_server_config_default(cfg);
	cfg->readdirplus = opts->readdirplus;
	cfg->writeback = opts->writeback;
	cfg->posix_locks = opts->posix_lock;
	cfg->flock_locks = opts->flock;
	cfg->killpriv_v2 = opts->killpriv_v2;
	cfg->announce_submounts = opts->announce_submounts;
	cfg->xattr = opts->xattr || opts->posix_acl;
	cfg->posix_acl = opts->posix_acl;
	cfg->security_label = opts->security_label;
	cfg->allow_direct_io = opts->allow_direct_io;
}

static enum pt_cache to_pt_cache(enum opts_cache c)
{
	switch (c) {
	case OPTS_CACHE_ALWAYS:
		return PT_CACHE_ALWAYS;
	case OPTS_CACHE_NEVER:
		return PT_CACHE_NEVER;
	case OPTS_CACHE_METADATA:
		return PT_CACHE_METADATA;
	case OPTS_CACHE_AUTO:
		break;
	}
	return PT_CACHE_AUTO;
}

static enum pt_inode_fh to_pt_inode_fh(enum opts_inode_fh m)
{
	switch (m) {
	case OPTS_INODE_FH_PREFER:
		return PT_INODE_FH_PREFER;
	case OPTS_INODE_FH_MANDATORY:
		return PT_INODE_FH_MANDATORY;
	case OPTS_INODE_FH_NEVER:
		break;
	}
	return PT_INODE_FH_NEVER;
}

/*
 * The shared memory regions: the DAX window (region 0) and the version table's mirror (region
 * 1, only with a tag: the test device is the only frontend with regions). QEMU makes one PCI BAR
 * of them, whose size must be a power of two: the window gives up the mirror's share of
 * --dax-window (both are powers of two, the mirror at least 2 MiB, so the window stays a
 * multiple of the guest's 2 MiB DAX ranges). 0 or -EINVAL (logged).
 */
static int plan_regions(const struct vfsd_opts *opts, struct vt_table *vt, uint64_t *ret_window,
			uint64_t *ret_mirror)
{
	/* The frontend maps every file read-write: no window for a read-only share. */
	bool dax = opts->dax != OPTS_DAX_NEVER && opts->tag && !opts->readonly;
	int fd;
	uint64_t off, len = 0;

	if (vt && opts->tag)
		vt_mirror(vt, &fd, &off, &len);
	*ret_mirror = len;
	*ret_window = dax ? opts->dax_window : 0;
	if (dax && len) {
		if (opts->dax_window < 2 * len) {
			log_error("--dax-window=%llu: with --coherence=table it must be at least "
				  "twice the table's %llu KiB",
				  (unsigned long long)opts->dax_window,
				  (unsigned long long)(len >> 10));
			return -EINVAL;
		}
		*ret_window = opts->dax_window - len;
	}
	return 0;
}

/* Runs the daemon proper, inside the sandbox; returns the exit status. */
static int serve(const struct vfsd_opts *opts, const struct sandbox_config *sb, int listen_fd,
		 struct vt_table *vt, uint64_t window, uint64_t mirror, const struct xattrmap *xmap)
{
	struct pt_config pcfg = {
		.shared_dir = sandbox_shared_dir(sb),
		.proc_self_fd = sandbox_proc_self_fd(),
		.cache = to_pt_cache(opts->cache),
		.readonly = opts->readonly,
		.xattr = opts->xattr || opts->posix_acl,
		.posix_acl = opts->posix_acl,
		.xattrmap = xmap,
		.security_label = opts->security_label,
		.announce_submounts = opts->announce_submounts,
		.allow_mmap = opts->allow_mmap,
		.writeback = opts->writeback,
		.preserve_noatime = opts->preserve_noatime,
		.allow_direct_io = opts->allow_direct_io,
		.inode_file_handles = to_pt_inode_fh(opts->inode_file_handles),
		.vt = vt,
		.adapt_min = opts->adapt_min_ms / 1000.0,
		.adapt_max = opts->adapt_max_ms / 1000.0,
		.translate_uid = &opts->translate_uid,
		.translate_gid = &opts->translate_gid,
		.migration_file_handles = opts->migration_file_handles,
		.migration_guest_error = opts->migration_guest_error,
		.migration_verify_handles = opts->migration_verify_handles,
		.migration_confirm_paths = opts->migration_confirm_paths,
	};
	bool dax = window != 0;
	struct vhu_config vcfg = {
		.tag = opts->tag,
		.shm_size = window,
		.shm1_size = mirror,
		.config_request_queues = opts->request_queues_given ? opts->max_request_queues : 1,
		.max_request_queues = opts->max_request_queues,
		.thread_pool_size = opts->thread_pool_size,
		.poll_max_ns = opts->poll_max_ns,
		.queue_threads =
			opts->queue_threads ? opts->queue_threads : default_queue_threads(),
		.keep_serving = opts->keep_serving,
	};
	struct vhu_callbacks cb = {
		.handle = on_request,
		.reset = on_reset,
		.stop = on_stop,
		.state_save = on_state_save,
		.state_load = on_state_load,
	};
	struct vt_watch_sink sink = {vt_host_changed, vt_host_lost, vt};
	struct vt_watch *watch = NULL;
	struct fuse_server_config fcfg;
	struct fs_backend be;
	struct daemon d = {NULL};
	int r, status = EXIT_FAILURE;

	if (vt && vcfg.shm1_size)
		vt_set_attach(vt, vt_attach, &d);
	if (vt) {
		if (open_watch(opts, sb, &sink, &watch) < 0)
			return EXIT_FAILURE;
		if (watch && vt_watch_kind(watch) == VT_WATCH_INOTIFY) {
			pcfg.vt_watch_dir = vt_watch_dir;
			pcfg.vt_watch_opaque = watch;
		}
	}
	if (dax) {
		r = dax_window_new(&dax_mapper, &d, &d.dax);
		if (r < 0) {
			log_error("cannot create the DAX window: %s", strerror(-r));
			vt_watch_free(watch);
			return EXIT_FAILURE;
		}
		pcfg.dax = d.dax;
		pcfg.dax_policy = opts->dax == OPTS_DAX_ALWAYS ? PT_DAX_ALL : PT_DAX_INODE;
		pcfg.dax_min_size = opts->dax_min_size;
	}
	r = pt_new(&pcfg, &be);
	if (r < 0) {
		log_error("%s: cannot serve: %s", opts->shared_dir, strerror(-r));
		dax_window_free(d.dax);
		vt_watch_free(watch);
		return EXIT_FAILURE;
	}
	fill_fuse_config(opts, &fcfg);
	d.srv = fuse_server_new(&be, &fcfg, on_deferred_complete);
	if (!d.srv) {
		log_error("cannot create FUSE server: %s", strerror(errno));
		goto out_backend;
	}
	/* Before the device: with --thread-pool-size it starts the pool's threads, and capabilities
	 * are per thread (the seccomp filter is synchronised to all threads, capabilities are not).
	 */
	r = sandbox_lock_down(sb);
	if (r < 0) {
		log_error("cannot lock down the sandbox: %s", strerror(-r));
		goto out_server;
	}
	r = vhu_dev_new(&vcfg, &cb, &d, &d.dev);
	if (r < 0) {
		log_error("cannot create vhost-user device: %s", strerror(-r));
		goto out_server;
	}
	/* After the lock-down: the reader thread inherits the filter and holds no capability. */
	if (watch) {
		r = vt_watch_start(watch);
		if (r < 0) {
			log_error("coherence: cannot start the host change watch: %s",
				  strerror(-r));
			goto out_dev;
		}
	}
	running_dev = d.dev;
	/* After publishing dev: a signal from now on stops it itself, an earlier one is seen here.
	 */
	if (stop_requested)
		vhu_dev_stop(d.dev);
	log_info("waiting for a vhost-user frontend");
	r = vhu_dev_serve(d.dev, listen_fd);
	running_dev = NULL;
	if (r < 0)
		log_error("vhost-user: %s", strerror(-r));
	else
		status = EXIT_SUCCESS;
	log_exit_reason(r);
out_dev:
	vhu_dev_free(d.dev);
out_server:
	fuse_server_free(d.srv);
out_backend:
	pt_free(&be);
	dax_window_free(d.dax);
	/* Before the table goes (run() closes it): the thread bumps it. No request is in flight
	 * any more, so nothing calls vt_watch_add_dir() either. */
	log_watch_stats(watch);
	vt_watch_free(watch);
	return status;
}

/* Before the sandbox: the table's file is outside the share. The table keeps its own fd (and
 * the OFD lock on its mirror, for both processes of the namespace sandbox). */
static int open_table(const struct vfsd_opts *opts, const char *shared_dir, struct vt_table **ret)
{
	struct vt_config cfg = {.path = opts->vt_table, .nslots = opts->vt_slots};
	_cleanup_close_ int fd = open(shared_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r;

	if (fd < 0) {
		r = -errno;
		log_error("%s: %s", shared_dir, strerror(-r));
		return r;
	}
	r = vt_open(&cfg, fd, ret);
	if (r < 0)
		log_error("--coherence=table: cannot open the version table %s: %s",
			  opts->vt_table ? opts->vt_table : "(default)",
			  r == -EINVAL	? "not a vfsd version table file"
			  : r == -EPERM ? "owned by another user, or writable by everyone"
			  : r == -EBUSY ? "of another layout or --vt-slots, and in use (see above)"
					: strerror(-r));
	return r;
}

/* --uid-map/--gid-map for the sandbox (NULL, 0 when not given). */
static const struct sandbox_id_range *to_sandbox_ranges(const struct opts_nsmap *map,
							struct sandbox_id_range *out, size_t *n)
{
	*n = map ? map->n : 0;
	for (size_t i = 0; i < *n; i++)
		out[i] = (struct sandbox_id_range){map->range[i].inside, map->range[i].outside,
						   map->range[i].count};
	return *n ? out : NULL;
}

static enum sandbox_mode to_sandbox_mode(enum opts_sandbox s)
{
	switch (s) {
	case OPTS_SANDBOX_CHROOT:
		return SANDBOX_CHROOT;
	case OPTS_SANDBOX_NONE:
		return SANDBOX_NONE;
	case OPTS_SANDBOX_NAMESPACE:
		break;
	}
	return SANDBOX_NAMESPACE;
}

static enum sandbox_seccomp to_seccomp(enum opts_seccomp s)
{
	switch (s) {
	case OPTS_SECCOMP_LOG:
		return SANDBOX_SECCOMP_LOG;
	case OPTS_SECCOMP_TRAP:
		return SANDBOX_SECCOMP_TRAP;
	case OPTS_SECCOMP_NONE:
		return SANDBOX_SECCOMP_NONE;
	case OPTS_SECCOMP_KILL:
		break;
	}
	return SANDBOX_SECCOMP_KILL;
}

/*
 * An O_PATH fd of the socket's directory, opened while the host's view is visible, so that the
 * socket can still be removed from inside a chroot.
 */
static int open_socket_dir(const char *socket_path, const char **ret_name)
{
	_cleanup_free_ char *dir = NULL;
	const char *slash = strrchr(socket_path, '/');
	int fd;

	if (!slash) {
		*ret_name = socket_path;
		fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
		return fd < 0 ? -errno : fd;
	}
	dir = strndup(socket_path, slash == socket_path ? 1 : (size_t)(slash - socket_path));
	if (!dir)
		return -ENOMEM;
	*ret_name = slash + 1;
	fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Removes the socket and its pid lock file; we still hold the lock, so nobody else owns them. */
static void remove_socket_files(int dir_fd, const char *name)
{
	char pidfile[PATH_MAX];

	unlinkat(dir_fd, name, 0);
	if ((size_t)snprintf(pidfile, sizeof(pidfile), "%s.pid", name) < sizeof(pidfile))
		unlinkat(dir_fd, pidfile, 0);
}

/*
 * --xattrmap, compiled once; errors are one line on stderr, like the option parser's. With
 * --killpriv-v2 the host kernel drops security.capability on write, which it cannot do for a
 * remapped one (the Rust daemon emulates that; we refuse the combination).
 */
static int compile_xattrmap(const struct vfsd_opts *opts, struct xattrmap **ret)
{
	char err[256], host[XATTRMAP_NAME_MAX + 1];
	int r;

	if (!opts->xattrmap)
		return 0;
	r = xattrmap_parse(opts->xattrmap, ret, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "vfsd: %s\n", r == -EINVAL ? err : strerror(-r));
		return r;
	}
	r = xattrmap_to_host(*ret, "security.capability", host, sizeof(host));
	if (opts->killpriv_v2 && r >= 0 && strcmp(host, "security.capability") != 0) {
		fprintf(stderr, "vfsd: --killpriv-v2: security.capability is remapped by "
				"--xattrmap, the host kernel could not drop it on write\n");
		return -EINVAL;
	}
	return 0;
}

/* What a debug log starts with: the options in effect, after defaults and cross-option rules,
 * so an operator reading a libvirt or Kata log sees what the daemon was really told. */
static void log_effective_options(const struct vfsd_opts *o, const char *shared_dir)
{
	static const char *const cache[] = {
		[OPTS_CACHE_AUTO] = "auto",
		[OPTS_CACHE_ALWAYS] = "always",
		[OPTS_CACHE_NEVER] = "never",
		[OPTS_CACHE_METADATA] = "metadata",
	};
	static const char *const sandbox[] = {
		[OPTS_SANDBOX_NAMESPACE] = "namespace",
		[OPTS_SANDBOX_CHROOT] = "chroot",
		[OPTS_SANDBOX_NONE] = "none",
	};
	static const char *const seccomp[] = {
		[OPTS_SECCOMP_KILL] = "kill",
		[OPTS_SECCOMP_LOG] = "log",
		[OPTS_SECCOMP_TRAP] = "trap",
		[OPTS_SECCOMP_NONE] = "none",
	};
	char listen[32];

	if (o->fd >= 0)
		snprintf(listen, sizeof(listen), "inherited fd %d", o->fd);
	log_debug("vfsd %s: sharing %s on %s; cache %s, sandbox %s, seccomp %s, thread pool %u, "
		  "xattr %s, posix acl %s, readonly %s, announce submounts %s, writeback %s",
		  VFSD_VERSION, shared_dir, o->fd >= 0 ? listen : o->socket_path, cache[o->cache],
		  sandbox[o->sandbox], seccomp[o->seccomp], o->thread_pool_size,
		  o->xattr ? "on" : "off", o->posix_acl ? "on" : "off", o->readonly ? "on" : "off",
		  o->announce_submounts ? "on" : "off", o->writeback ? "on" : "off");
}

static int run(struct vfsd_opts *opts)
{
	_cleanup_(xattrmap_freep) struct xattrmap *xmap = NULL;
	_cleanup_free_ char *shared_dir = NULL;
	_cleanup_close_ int socket_dir_fd = -1, lock_fd = -1;
	const char *socket_name = NULL;
	struct vt_table *vt = NULL;
	/* Static: 340 ranges each would be 8 KiB of stack. */
	static struct sandbox_id_range uid_ranges[OPTS_NSMAP_MAX], gid_ranges[OPTS_NSMAP_MAX];
	struct sandbox_config sb;
	struct stat st;
	uint64_t window, mirror;
	int listen_fd, r, status;

	if (compile_xattrmap(opts, &xmap) < 0)
		return EXIT_FAILURE;
	shared_dir = realpath(opts->shared_dir, NULL);
	if (!shared_dir || stat(shared_dir, &st) < 0) {
		fprintf(stderr, "vfsd: --shared-dir=%s: %s\n", opts->shared_dir, strerror(errno));
		return EXIT_FAILURE;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "vfsd: --shared-dir=%s: not a directory\n", opts->shared_dir);
		return EXIT_FAILURE;
	}
	log_set_level((enum log_level)opts->log_level);
	log_use_syslog(opts->syslog);
	log_effective_options(opts, shared_dir);
	r = install_signal_handlers();
	if (r < 0) {
		log_error("signals: %s", strerror(-r));
		return EXIT_FAILURE;
	}
	if (opts->coherence == OPTS_COHERENCE_TABLE) {
		r = open_table(opts, shared_dir, &vt);
		if (r < 0)
			return EXIT_FAILURE;
	}
	if (plan_regions(opts, vt, &window, &mirror) < 0) {
		vt_close(vt);
		return EXIT_FAILURE;
	}
	listen_fd = open_listener(opts, &lock_fd);
	if (listen_fd < 0) {
		vt_close(vt);
		return EXIT_FAILURE;
	}
	if (opts->socket_path) {
		socket_dir_fd = open_socket_dir(opts->socket_path, &socket_name);
		if (socket_dir_fd < 0)
			log_warn(
				"%s: cannot keep its directory open, the socket may be left behind",
				opts->socket_path);
	}

	sb = (struct sandbox_config){
		.mode = to_sandbox_mode(opts->sandbox),
		.seccomp = to_seccomp(opts->seccomp),
		.shared_dir = shared_dir,
		.socket_path = opts->socket_path,
		/* main removes the socket and its pid file itself, below. */
		.unlink_socket_on_exit = false,
		.modcaps = opts->modcaps,
		.rlimit_nofile = opts->rlimit_nofile,
		/* open_by_handle_at: --inode-file-handles, and loading a migration state
		 * with file handles (--migration-mode=file-handles on both sides). */
		.need_dac_read_search = opts->inode_file_handles != OPTS_INODE_FH_NEVER ||
					opts->migration_file_handles,
	};
	sb.uid_map = to_sandbox_ranges(opts->uid_map, uid_ranges, &sb.n_uid_map);
	sb.gid_map = to_sandbox_ranges(opts->gid_map, gid_ranges, &sb.n_gid_map);
	r = sandbox_enter(&sb, &status);
	if (r < 0) {
		log_error("cannot enter the sandbox: %s", strerror(-r));
		status = EXIT_FAILURE;
		goto out;
	}
	if (r > 0) {
		/* We are the supervisor outside the namespaces; the daemon ran in the child, which
		 * gave up the table's mirror itself (and this filter allows no more than this). */
		vt_release(TAKE_PTR(vt));
		goto out;
	}
	status = serve(opts, &sb, listen_fd, vt, window, mirror, xmap);
	if (sb.mode == SANDBOX_NAMESPACE) {
		/* The supervisor outside removes the socket. */
		close(listen_fd);
		vt_close(vt);
		return status;
	}
out:
	vt_close(vt);
	close(listen_fd);
	if (socket_dir_fd >= 0)
		remove_socket_files(socket_dir_fd, socket_name);
	return status;
}

int main(int argc, char **argv)
{
	struct vfsd_opts opts;
	int status;

	if (opts_parse(argc, argv, &opts, stderr) < 0)
		return EXIT_FAILURE;
	switch (opts.action) {
	case OPTS_HELP:
		opts_usage(stdout);
		status = EXIT_SUCCESS;
		break;
	case OPTS_VERSION:
		printf("vfsd %s\n", VFSD_VERSION);
		status = EXIT_SUCCESS;
		break;
	case OPTS_PRINT_CAPABILITIES:
		puts(opts_capabilities_json());
		status = EXIT_SUCCESS;
		break;
	case OPTS_RUN:
	default:
		status = run(&opts);
		break;
	}
	opts_free(&opts);
	return status;
}
