// SPDX-License-Identifier: GPL-2.0-or-later
/* The start every creating op shares (mknod, mkdir, symlink, create, tmpfile). */
#include <errno.h>
#include <sys/stat.h>

#include "fs/passthrough/pt.h"

/*
 * With FUSE_POSIX_ACL the guest sends the mode unmasked and its umask separately: the umask
 * applies unless the parent has a default ACL (which then decides, in the host kernel).
 */
static mode_t pt_create_mode(struct fs_state *fs, const struct pt_inode *parent, mode_t mode,
			     mode_t umask)
{
	if (!fs->init_posix_acl || !(umask & 0777))
		return mode;
	if (pt_xattr_get_raw(fs, parent, "system.posix_acl_default", NULL, 0) > 0)
		return mode;
	return mode & ~(umask & 0777);
}

int pt_create_begin(struct fs_state *fs, uint64_t parent, struct pt_inode **parent_slot,
		    mode_t *mode, mode_t umask)
{
	int r;

	if (fs->cfg.readonly)
		return -EROFS;
	r = pt_inode_get(fs, parent, parent_slot);
	if (r < 0)
		return r;
	if (!S_ISDIR((*parent_slot)->type))
		return -ENOTDIR;
	*mode = pt_create_mode(fs, *parent_slot, *mode, umask);
	return 0;
}
