// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Backend construction, session init/reset, the ops table and the small helpers shared by the
 * op files (name checks, timeouts, stat conversion, reopening O_PATH fds, the fd budget).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fs/passthrough/pt.h"
#include "util/log.h"

/* fds kept out of the guest's reach: sockets, eventfds, memory regions, log, spare. */
#define PT_FD_RESERVE	  512ul
#define PT_FD_MAX_DEFAULT (1ul << 20)

/* Defence in depth: fuse/ already rejects these, but every *at() call here must stay
 * confined even if a future caller forgets (the Kata FUSE_SYMLINK escape). */
int pt_check_name(const char *name)
{
	if (!name || !name[0] || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	if (strlen(name) > 255)
		return -ENAMETOOLONG;
	return 0;
}

double pt_timeout(const struct pt_fs *fs)
{
	return fs->timeout;
}

int pt_fd_charge(struct pt_fs *fs)
{
	unsigned long used = atomic_fetch_add(&fs->fds_used, 1);

	if (used >= fs->fds_max) {
		atomic_fetch_sub(&fs->fds_used, 1);
		log_ratelimited(LOG_LEVEL_WARN, "passthrough: guest fd budget (%lu) exhausted",
				fs->fds_max);
		return -ENFILE;
	}
	return 0;
}

void pt_fd_uncharge(struct pt_fs *fs)
{
	atomic_fetch_sub(&fs->fds_used, 1);
}

int pt_statx(int fd, struct statx *stx)
{
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_STATX_SYNC_AS_STAT,
		  STATX_BASIC_STATS | STATX_MNT_ID, stx) < 0)
		return -errno;
	return 0;
}

/* Kernel ABI: stx_mnt_id is the first u64 after stx_dev_minor (offset 0x90). glibc < 2.37
 * names it padding, so read it by offset. Zero when the kernel did not fill it (pre-5.8). */
uint64_t pt_statx_mnt_id(const struct statx *stx)
{
	uint64_t v;

	_Static_assert(sizeof(struct statx) >= 0x98, "struct statx too small");
	if (!(stx->stx_mask & STATX_MNT_ID))
		return 0;
	memcpy(&v, (const char *)stx + 0x90, sizeof(v));
	return v;
}

void pt_statx_to_stat(const struct statx *stx, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = makedev(stx->stx_dev_major, stx->stx_dev_minor);
	st->st_ino = stx->stx_ino;
	st->st_mode = stx->stx_mode;
	st->st_nlink = stx->stx_nlink;
	st->st_uid = stx->stx_uid;
	st->st_gid = stx->stx_gid;
	st->st_rdev = makedev(stx->stx_rdev_major, stx->stx_rdev_minor);
	st->st_size = (off_t)stx->stx_size;
	st->st_blksize = stx->stx_blksize;
	st->st_blocks = (blkcnt_t)stx->stx_blocks;
	st->st_atim.tv_sec = stx->stx_atime.tv_sec;
	st->st_atim.tv_nsec = stx->stx_atime.tv_nsec;
	st->st_mtim.tv_sec = stx->stx_mtime.tv_sec;
	st->st_mtim.tv_nsec = stx->stx_mtime.tv_nsec;
	st->st_ctim.tv_sec = stx->stx_ctime.tv_sec;
	st->st_ctim.tv_nsec = stx->stx_ctime.tv_nsec;
}

int pt_statx_inode(const struct pt_inode *ino, struct statx *stx)
{
	return pt_statx(ino->fd, stx);
}

int pt_stat_inode(const struct pt_inode *ino, struct stat *st)
{
	struct statx stx;
	int r = pt_statx_inode(ino, &stx);

	if (r < 0)
		return r;
	pt_statx_to_stat(&stx, st);
	return 0;
}

int pt_reopen(struct pt_fs *fs, const struct pt_inode *ino, int flags)
{
	char name[24];
	int fd;

	flags &= ~(O_CREAT | O_EXCL | O_NOCTTY | O_NOFOLLOW | O_PATH);
	if (!S_ISDIR(ino->type) && !S_ISREG(ino->type))
		return -EACCES; /* CVE-2020-35517: never open host devices, FIFOs or sockets */
	/* Callers holding only a handle's reference have not pinned the inode. */
	fd = pt_inode_pin(fs, ino);
	if (fd < 0)
		return fd;
	if (S_ISDIR(ino->type)) {
		/* An O_PATH directory fd is a valid dirfd: no /proc needed. */
		fd = openat(ino->fd, ".", flags | O_DIRECTORY | O_CLOEXEC);
	} else {
		snprintf(name, sizeof(name), "%d", ino->fd);
		/* Following the /proc magic link reaches exactly the inode the O_PATH fd pins. */
		fd = openat(fs->proc_fd, name, flags | O_CLOEXEC);
	}
	fd = fd < 0 ? -errno : fd;
	pt_inode_unpin(fs, ino);
	return fd;
}

static unsigned long pt_default_fd_budget(void);

/* The sandbox sets RLIMIT_NOFILE after pt_new() (which must open the share first), so the
 * budget is derived again at each session's INIT, when no guest fd is held. */
static void pt_fd_budget_setup(struct pt_fs *fs)
{
	fs->fds_max = fs->cfg.max_guest_fds ? fs->cfg.max_guest_fds : pt_default_fd_budget();
	pt_fh_budget(fs);
}

static int pt_init(void *fsp, const struct fs_init_info *info)
{
	struct pt_fs *fs = fsp;

	pt_fd_budget_setup(fs);

	fs->writeback = fs->cfg.writeback && info->writeback;
	fs->init_posix_acl = fs->cfg.posix_acl && info->posix_acl;
	return 0;
}

static void pt_destroy(void *fsp)
{
	struct pt_fs *fs = fsp;

	/* A remount or a new INIT: the window keeps the old session's maps otherwise. */
	if (fs->cfg.dax)
		dax_unmap_all(fs->cfg.dax);
	pt_handle_close_all(fs);
	pt_inode_forget_all(fs);
	fs->writeback = false;
	fs->init_posix_acl = false;
}

static const struct fs_ops pt_ops = {
	.init = pt_init,
	.destroy = pt_destroy,
	.lookup = pt_op_lookup,
	.forget = pt_op_forget,
	.getattr = pt_op_getattr,
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

static void pt_fs_free(struct pt_fs *fs)
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

static int pt_fs_open(struct pt_fs *fs, const struct pt_config *cfg)
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
	struct pt_fs *fs;
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
		r = pt_cred_init();
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
