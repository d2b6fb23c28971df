// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The version table's ops: whether a guest can attach to it, and a node's version for the
 * protocol layer to put in a reply (the hooks that keep versions moving are in pt_vt.c).
 */
#include <errno.h>

#include "fs/passthrough/pt.h"
#include "fs/passthrough/pt_ops.h"

bool pt_op_vt_available(struct fs_state *fs)
{
	return fs->cfg.vt && vt_attach_guest(fs->cfg.vt) == 0;
}

int pt_op_version(struct fs_state *fs, uint64_t nodeid, struct fs_version *ret)
{
	_cleanup_inode_ struct pt_inode_guard g = {fs, NULL};
	int r;

	if (!fs->cfg.vt)
		return -ENOSYS;
	r = pt_inode_get(fs, nodeid, &g.ino);
	if (r < 0)
		return r;
	pt_vt_read(fs, g.ino, ret);
	return 0;
}
