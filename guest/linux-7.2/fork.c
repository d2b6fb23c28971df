// SPDX-License-Identifier: GPL-2.0
/*
 * fork.c: the module init and exit of virtiofs_vt and the renaming helpers of fork.h.
 */
#include "fork.h"

#include <linux/string.h>

extern initcall_t vt_fork_init_fuse_init, vt_fork_init_virtio_fs_init;
extern exitcall_t vt_fork_exit_fuse_exit, vt_fork_exit_virtio_fs_exit;

/* Names only the built-in FUSE may have: not registered at all. */
static bool vt_fork_builtin_only(const char *fs_name)
{
	return !strcmp(fs_name, "fuse") || !strcmp(fs_name, "fuseblk") ||
	       !strcmp(fs_name, "fusectl");
}

int vt_fork_register_filesystem(struct file_system_type *fs)
{
	if (vt_fork_builtin_only(fs->name))
		return 0;
	if (!strcmp(fs->name, "virtiofs"))
		fs->name = VT_FORK_NAME;
	return register_filesystem(fs);
}

void vt_fork_unregister_filesystem(struct file_system_type *fs)
{
	if (!vt_fork_builtin_only(fs->name))
		unregister_filesystem(fs);
}

/* /sys/fs/virtiofs (the tags) is /sys/fs/virtiofs_vt; /sys/fs/fuse is /sys/fs/virtiofs_vt_fuse. */
const char *vt_fork_name(const char *name, const struct kobject *parent)
{
	if (parent != fs_kobj)
		return name;
	if (!strcmp(name, "virtiofs"))
		return VT_FORK_NAME;
	if (!strcmp(name, "fuse"))
		return VT_FORK_NAME "_fuse";
	return name;
}

const char *vt_fork_cache_name(const char *name)
{
	if (!strcmp(name, "fuse_inode"))
		return VT_FORK_NAME "_inode";
	if (!strcmp(name, "fuse_request"))
		return VT_FORK_NAME "_request";
	return name;
}

/* fs/fuse's limits (max_pages_limit, max_request_timeout) as fs/virtiofs_vt/... */
const char *vt_fork_sysctl_path(const char *path)
{
	if (!strcmp(path, "fs/fuse"))
		return "fs/" VT_FORK_NAME;
	return path;
}

static int __init vt_fork_init(void)
{
	int err = vt_fork_init_fuse_init();

	if (err)
		return err;
	err = vt_fork_init_virtio_fs_init();
	if (err)
		vt_fork_exit_fuse_exit();
	return err;
}

static void __exit vt_fork_exit(void)
{
	vt_fork_exit_virtio_fs_exit();
	vt_fork_exit_fuse_exit();
}

module_init(vt_fork_init);
module_exit(vt_fork_exit);
MODULE_DESCRIPTION(
	"FUSE and virtio-fs of Linux 7.2 under another name, for the vfsd version table");
MODULE_LICENSE("GPL");
