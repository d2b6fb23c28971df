// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Backend construction, session init/reset and the ops table: the top of the backend, the one
 * file that names the ops (pt_ops.h). The helpers the op files share are in the core files
 * (fd.c, stat.c and the others listed in docs/architecture.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/passthrough/pt.h"
#include "fs/passthrough/pt_ops.h"
#include "util/log.h"

/* fds kept out of the guest's reach: sockets, eventfds, memory regions, log, spare. */
#define PT_FD_RESERVE	  512ul
#define PT_FD_MAX_DEFAULT (1ul << 20)

static unsigned long pt_default_fd_budget(void);

/* The sandbox sets RLIMIT_NOFILE after pt_new() (which must open the share first), so the
 * budget is derived again at each session's INIT, when no guest fd is held. */
static void pt_fd_budget_setup(struct fs_state *fs)
{
	fs->fds_max = fs->cfg.max_guest_fds ? fs->cfg.max_guest_fds : pt_default_fd_budget();
	pt_vt_budget(fs);
	pt_fh_budget(fs);
}

static int pt_init(struct fs_state *fs, const struct fs_init_info *info)
{
	pt_fd_budget_setup(fs);

	fs->writeback = fs->cfg.writeback && info->writeback;
	fs->init_posix_acl = fs->cfg.posix_acl && info->posix_acl;
	fs->killpriv_v2 = info->killpriv_v2;
	return 0;
}

static void pt_destroy(struct fs_state *fs)
{
	/* A remount or a new INIT: the window keeps the old session's maps otherwise. */
	if (fs->cfg.dax)
		dax_unmap_all(fs->cfg.dax);
	pt_handle_close_all(fs);
	pt_inode_forget_all(fs);
	fs->writeback = false;
	fs->init_posix_acl = false;
	fs->killpriv_v2 = false;
}

static const struct fs_ops pt_ops = {
	.init = pt_init,
	.destroy = pt_destroy,
	.lookup = pt_op_lookup,
	.forget = pt_op_forget,
	.getattr = pt_op_getattr,
	.statx = pt_op_statx,
	.setattr = pt_op_setattr,
	.readlink = pt_op_readlink,
	.symlink = pt_op_symlink,
	.mknod = pt_op_mknod,
	.mkdir = pt_op_mkdir,
	.unlink = pt_op_unlink,
	.rmdir = pt_op_rmdir,
	.rename = pt_op_rename,
	.link = pt_op_link,
	.open = pt_op_open,
	.create = pt_op_create,
	.tmpfile = pt_op_tmpfile,
	.read = pt_op_read,
	.write = pt_op_write,
	.statfs = pt_op_statfs,
	.release = pt_op_release,
	.flush = pt_op_flush,
	.fsync = pt_op_fsync,
	.opendir = pt_op_opendir,
	.readdir = pt_op_readdir,
	.releasedir = pt_op_releasedir,
	.fsyncdir = pt_op_fsyncdir,
	.setxattr = pt_op_setxattr,
	.getxattr = pt_op_getxattr,
	.listxattr = pt_op_listxattr,
	.removexattr = pt_op_removexattr,
	.access = pt_op_access,
	.getlk = pt_op_getlk,
	.setlk = pt_op_setlk,
	.flock = pt_op_flock,
	.fallocate = pt_op_fallocate,
	.lseek = pt_op_lseek,
	.copy_file_range = pt_op_copy_file_range,
	.syncfs = pt_op_syncfs,
	.dax_available = pt_op_dax_available,
	.setupmapping = pt_op_setupmapping,
	.removemapping = pt_op_removemapping,
	.vt_available = pt_op_vt_available,
	.version = pt_op_version,
	.state_save = pt_op_state_save,
	.state_load = pt_op_state_load,
};

static unsigned long pt_default_fd_budget(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return PT_FD_MAX_DEFAULT;
	if (rl.rlim_cur <= 2 * PT_FD_RESERVE)
		return rl.rlim_cur / 2;
	return MIN(rl.rlim_cur - PT_FD_RESERVE, PT_FD_MAX_DEFAULT);
}

static double pt_cache_timeout(enum pt_cache c)
{
	switch (c) {
	case PT_CACHE_NEVER:
		return 0.0;
	case PT_CACHE_ALWAYS:
	case PT_CACHE_METADATA:
		return 86400.0;
	case PT_CACHE_AUTO:
	default:
		return 1.0;
	}
}

static void pt_fs_free(struct fs_state *fs)
{
	if (!fs)
		return;
	pt_handle_table_done(fs);
	pt_inode_table_done(fs);
	if (fs->fh_ready)
		pt_fh_done(fs);
	safe_close(fs->proc_fd);
	free(fs->shared_dir);
	free(fs);
}

static int pt_fs_open(struct fs_state *fs, const struct pt_config *cfg)
{
	_cleanup_close_ int root_fd = -1;
	int r;

	root_fd = open(cfg->shared_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0) {
		r = -errno;
		log_error("passthrough: cannot open shared directory %s: %s", cfg->shared_dir,
			  strerror(-r));
		return r;
	}
	if (cfg->proc_self_fd >= 0)
		fs->proc_fd = fcntl(cfg->proc_self_fd, F_DUPFD_CLOEXEC, 3);
	else
		fs->proc_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fs->proc_fd < 0) {
		r = -errno;
		log_error("passthrough: /proc/self/fd is required to reopen files: %s",
			  strerror(-r));
		return r;
	}
	r = pt_fh_init(fs);
	if (r < 0)
		return r;
	fs->fh_ready = true;
	r = pt_inode_table_init(fs, root_fd);
	if (r < 0)
		return r;
	TAKE_FD(root_fd);
	return pt_handle_table_init(fs);
}

int pt_new(const struct pt_config *cfg, struct fs_backend *ret)
{
	struct fs_state *fs;
	int r;

	if (!cfg || !cfg->shared_dir || cfg->shared_dir[0] != '/')
		return -EINVAL;
	fs = calloc(1, sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	fs->proc_fd = -1;
	fs->cfg = *cfg;
	fs->shared_dir = strdup(cfg->shared_dir);
	if (!fs->shared_dir) {
		pt_fs_free(fs);
		return -ENOMEM;
	}
	fs->cfg.shared_dir = fs->shared_dir;
	fs->timeout = pt_cache_timeout(cfg->cache);
	pt_fd_budget_setup(fs);
	atomic_init(&fs->fds_used, 0);

	r = pt_fs_open(fs, cfg);
	if (r >= 0)
		r = pt_cred_init(cfg->translate_uid, cfg->translate_gid);
	if (r < 0) {
		pt_fs_free(fs);
		return r;
	}
	/* Modes arrive already masked by the guest (or with the umask separately): the host
	 * umask must not mask them again. */
	umask(0);
	ret->ops = &pt_ops;
	ret->fs = fs;
	return 0;
}

void pt_free(struct fs_backend *be)
{
	if (!be || !be->fs)
		return;
	pt_fs_free(be->fs);
	be->fs = NULL;
	be->ops = NULL;
}
