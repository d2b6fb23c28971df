// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The passthrough backend's side of the version table (coherence/vt.h): every inode's slot,
 * the versions that go with entries and attributes, and the bumps after changes. Kept apart
 * from the ops so that each op only gains a call after its change succeeded.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "coherence/vt.h"
#include "fs/passthrough/pt.h"
#include "util/log.h"
#include "util/macros.h"

void pt_vt_read(struct fs_state *fs, const struct pt_inode *ino, struct fs_version *ret)
{
	*ret = (struct fs_version){0};
	if (!fs->cfg.vt)
		return;
	if (ino->vt_unversioned)
		return;
	ret->slot = ino->vt_slot;
	ret->version = vt_read(fs->cfg.vt, ino->vt_slot);
	ret->flags = FS_VER_VALID;
}

void pt_vt_changed(struct fs_state *fs, const struct pt_inode *ino, struct fs_version *ret)
{
	uint64_t v;

	if (!fs->cfg.vt)
		return;
	/* Bumped even when unversioned here: other daemons' guests may hold it versioned. */
	v = vt_bump(fs->cfg.vt, ino->vt_slot);
	if (ret)
		*ret = ino->vt_unversioned
			       ? (struct fs_version){0}
			       : (struct fs_version){v, ino->vt_slot, FS_VER_VALID | FS_VER_BUMPED};
}

double pt_vt_timeout(struct fs_state *fs, uint32_t slot, bool unversioned,
		     const struct pt_inode *dir)
{
	double age;

	if (!fs->cfg.vt || fs->cfg.adapt_max <= 0 || unversioned || (dir && dir->vt_unversioned))
		return pt_timeout(fs);
	age = vt_age(fs->cfg.vt, slot);
	/* A name goes stale with a change of its directory as well as of its inode. */
	if (dir)
		age = MIN(age, vt_age(fs->cfg.vt, dir->vt_slot));
	return vt_adaptive_timeout(age, fs->cfg.adapt_min, fs->cfg.adapt_max);
}

void pt_vt_budget(struct fs_state *fs)
{
	if (!fs->cfg.vt || !fs->cfg.vt_watch_dir)
		return;
	fs->vt_watch_max = fs->fds_max / 4;
	fs->fds_max -= fs->vt_watch_max;
}

int pt_vt_watch_dir(struct fs_state *fs, int fd, bool counted)
{
	int r = 0;

	/* Never given back: the watch holds the fd until the directory is deleted. */
	if (counted && atomic_fetch_add(&fs->vt_watched, 1) >= fs->vt_watch_max) {
		atomic_fetch_sub(&fs->vt_watched, 1);
		r = -ENOSPC;
	}
	if (r == 0) {
		r = fs->cfg.vt_watch_dir(fs->cfg.vt_watch_opaque, fd);
		if (r < 0 && counted)
			atomic_fetch_sub(&fs->vt_watched, 1);
	}
	/* The guest decides how many directories it looks up. */
	if (r < 0)
		log_ratelimited(LOG_LEVEL_WARN,
				"coherence: cannot watch a directory for host changes: %s%s; it "
				"falls back to timeouts",
				strerror(-r),
				r != -ENOSPC ? ""
				: counted && atomic_load(&fs->vt_watched) >= fs->vt_watch_max
					? " (the watch's share of the fd budget is used up)"
					: " (fs.inotify.max_user_watches reached)");
	return r;
}

int pt_vt_child(struct fs_state *fs, const struct pt_inode *dir, const char *name,
		uint32_t *ret_slot, bool *ret_linked)
{
	struct statx stx;

	if (!fs->cfg.vt)
		return -ENOENT;
	if (statx(dir->fd, name, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_MNT_ID, &stx) < 0)
		return -errno;
	/* Racy by nature (another link may come or go meanwhile): it only decides whether the
	 * bump is reported, and a guest adopts a reported bump only when nobody else's came
	 * between. */
	if (ret_linked)
		*ret_linked = !S_ISDIR(stx.stx_mode) && stx.stx_nlink > 1;
	/* The victim the guest looked up is usually known, with the slot its handle hashed to
	 * (the one the host watch and other daemons compute): no name_to_handle_at then. */
	if (pt_inode_known_slot(fs, &stx, ret_slot))
		return 0;
	return vt_slot_at(fs->cfg.vt, dir->fd, name, ret_slot);
}

void pt_vt_bump_slot(struct fs_state *fs, uint32_t slot, struct fs_version *ret)
{
	uint64_t v;

	if (!fs->cfg.vt)
		return;
	v = vt_bump(fs->cfg.vt, slot);
	if (ret)
		*ret = (struct fs_version){v, slot, FS_VER_VALID | FS_VER_BUMPED};
}

uint32_t pt_vt_fd_slot(struct fs_state *fs, int fd, bool changed, struct fs_version *ret)
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
