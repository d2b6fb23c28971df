// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The passthrough backend's side of the version table (coherence/vt.h): every inode's slot,
 * the versions that go with entries and attributes, and the bumps after changes. Kept apart
 * from the ops so that each op only gains a call after its change succeeded.
 */
#include <errno.h>
#include <fcntl.h>

#include "coherence/vt.h"
#include "fs/passthrough/pt.h"

void pt_vt_read(struct pt_fs *fs, const struct pt_inode *ino, struct fs_version *ret)
{
	*ret = (struct fs_version){0};
	if (!fs->cfg.vt)
		return;
	ret->slot = ino->vt_slot;
	ret->version = vt_read(fs->cfg.vt, ino->vt_slot);
	ret->flags = FS_VER_VALID;
}

void pt_vt_changed(struct pt_fs *fs, const struct pt_inode *ino, struct fs_version *ret)
{
	uint64_t v;

	if (!fs->cfg.vt)
		return;
	v = vt_bump(fs->cfg.vt, ino->vt_slot);
	if (ret)
		*ret = (struct fs_version){v, ino->vt_slot, FS_VER_VALID | FS_VER_BUMPED};
}

int pt_vt_child_slot(struct pt_fs *fs, const struct pt_inode *dir, const char *name, uint32_t *ret)
{
	if (!fs->cfg.vt)
		return -ENOENT;
	return vt_slot_at(fs->cfg.vt, dir->fd, name, ret);
}

void pt_vt_bump_slot(struct pt_fs *fs, uint32_t slot)
{
	if (fs->cfg.vt)
		vt_bump(fs->cfg.vt, slot);
}

uint32_t pt_vt_fd_slot(struct pt_fs *fs, int fd, bool changed, struct fs_version *ret)
{
	struct stat st;
	uint32_t slot = 0;

	*ret = (struct fs_version){0};
	if (!fs->cfg.vt)
		return 0;
	if (vt_slot_at(fs->cfg.vt, fd, NULL, &slot) < 0) {
		/* Not expected for a fd we hold; (dev, ino) keeps bumps working at least for
		 * this daemon's own changes. */
		if (fstat(fd, &st) < 0)
			return 0;
		slot = vt_slot_from_ino(fs->cfg.vt, st.st_dev, st.st_ino);
	}
	ret->slot = slot;
	ret->flags = FS_VER_VALID;
	if (changed) {
		ret->version = vt_bump(fs->cfg.vt, slot);
		ret->flags |= FS_VER_BUMPED;
	} else {
		ret->version = vt_read(fs->cfg.vt, slot);
	}
	return slot;
}

bool pt_op_vt_available(void *fsp)
{
	struct pt_fs *fs = fsp;

	return fs->cfg.vt && vt_attach_guest(fs->cfg.vt) == 0;
}

int pt_op_version(void *fsp, uint64_t nodeid, struct fs_version *ret)
{
	struct pt_fs *fs = fsp;
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
