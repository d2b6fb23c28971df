/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fork.h: turns Linux 7.2's fs/fuse (FUSE core and virtio-fs driver) into one module,
 * virtiofs_vt, that loads next to the built-in FUSE of Debian sid's kernel
 * (CONFIG_FUSE_FS=y, CONFIG_VIRTIO_FS=y). Forced into every object of the fork with
 * `-include` (Kbuild), before the object's own includes; guest/README.md has the picture.
 *
 * Everything the built-in code also owns is renamed or left out, without touching the
 * sources: no exports (the objects link into one module), no module aliases (nothing loads it
 * but insmod), file system types "fuse", "fuseblk" and "fusectl" and the /dev/fuse misc device
 * not registered, "virtiofs" registered as VT_FORK_NAME, the /sys/fs and sysctl directories
 * and the kmem caches renamed. fuse_init() and virtio_fs_init() stay whole: their
 * module_init() becomes a pointer that fork.c's own init calls.
 */
#ifndef VT_FORK_H
#define VT_FORK_H

#define VT_FORK_NAME "virtiofs_vt"

/* Before printk.h defines the default: fuse_i.h only sets its own when none is set. */
#ifndef VT_FORK_SELF
#define pr_fmt(fmt) VT_FORK_NAME ": " fmt
#endif

#include <linux/export.h>
#include <linux/fs.h>
#include <linux/init.h>
#include <linux/kobject.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/sysctl.h>

int vt_fork_register_filesystem(struct file_system_type *fs);
void vt_fork_unregister_filesystem(struct file_system_type *fs);
const char *vt_fork_name(const char *name, const struct kobject *parent);
const char *vt_fork_cache_name(const char *name);
const char *vt_fork_sysctl_path(const char *path);

#ifndef VT_FORK_SELF

#undef EXPORT_SYMBOL
#define EXPORT_SYMBOL(sym)
#undef EXPORT_SYMBOL_GPL
#define EXPORT_SYMBOL_GPL(sym)

#undef MODULE_ALIAS
#define MODULE_ALIAS(alias)
#undef MODULE_DEVICE_TABLE
#define MODULE_DEVICE_TABLE(type, name)

/* Called by fork.c, also on the error path of its init: ordinary text. */
#undef __exit
#define __exit

#undef module_init
#define module_init(fn) initcall_t __initdata vt_fork_init_##fn = fn
#undef module_exit
#define module_exit(fn) exitcall_t vt_fork_exit_##fn = fn

#define register_filesystem(fs)	  vt_fork_register_filesystem(fs)
#define unregister_filesystem(fs) vt_fork_unregister_filesystem(fs)

#define misc_register(misc)   ((void)(misc), 0)
#define misc_deregister(misc) ((void)(misc))

#define kobject_create_and_add(name, parent) \
	kobject_create_and_add(vt_fork_name(name, parent), parent)
#define kset_create_and_add(name, ops, parent) \
	kset_create_and_add(vt_fork_name(name, parent), ops, parent)

#undef kmem_cache_create
#define kmem_cache_create(__name, __object_size, __args, ...) \
	_Generic((__args),                                                         \
		struct kmem_cache_args *: __kmem_cache_create_args,                \
		void *: __kmem_cache_default_args,                                 \
		default: __kmem_cache_create)(vt_fork_cache_name(__name), __object_size, \
					      __args, __VA_ARGS__)

#undef register_sysctl
#define register_sysctl(path, table) \
	register_sysctl_sz(vt_fork_sysctl_path(path), table, ARRAY_SIZE(table))

#endif /* VT_FORK_SELF */
#endif /* VT_FORK_H */
