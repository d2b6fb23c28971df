// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The inode table. Each inode is a host object the guest holds lookup references on, named by
 * an opaque node id (a counter, never reused within a backend's life) and found again by
 * (st_dev, st_ino, mount id) so that two names of one file share one node. Node ids from the
 * guest are only ever used as keys into this table.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fs/passthrough/pt.h"
#include "util/log.h"

static uint64_t pt_key_hash(uint64_t dev, uint64_t ino, uint64_t mnt_id)
{
	return pt_hash64(dev ^ pt_hash64(ino ^ pt_hash64(mnt_id)));
}

/* Caller holds inodes_lock. */
static struct pt_inode *pt_find_by_id(struct fs_state *fs, uint64_t nodeid)
{
	uint64_t h = pt_hash64(nodeid);

	for (struct pt_hnode *n = pt_hmap_chain(&fs->inodes_by_id, h); n; n = n->next) {
		struct pt_inode *ino = container_of(n, struct pt_inode, by_id);

		if (n->hash == h && ino->nodeid == nodeid)
			return ino;
	}
	return NULL;
}

/* Caller holds inodes_lock. */
static struct pt_inode *pt_find_by_key(struct fs_state *fs, uint64_t dev, uint64_t ino_nr,
				       uint64_t mnt_id)
{
	uint64_t h = pt_key_hash(dev, ino_nr, mnt_id);

	for (struct pt_hnode *n = pt_hmap_chain(&fs->inodes_by_key, h); n; n = n->next) {
		struct pt_inode *ino = container_of(n, struct pt_inode, by_key);

		if (n->hash == h && ino->dev == dev && ino->ino == ino_nr && ino->mnt_id == mnt_id)
			return ino;
	}
	return NULL;
}

static struct pt_inode *pt_inode_alloc(const struct statx *stx, int fd)
{
	struct pt_inode *ino = calloc(1, sizeof(*ino));

	if (!ino)
		return NULL;
	ino->dev = makedev(stx->stx_dev_major, stx->stx_dev_minor);
	ino->ino = stx->stx_ino;
	ino->mnt_id = pt_statx_mnt_id(stx);
	ino->type = stx->stx_mode & S_IFMT;
	ino->fd = fd;
	atomic_init(&ino->refs, 1);
	pthread_mutex_init(&ino->locks_mu, NULL);
	return ino;
}

static void pt_inode_free(struct fs_state *fs, struct pt_inode *ino)
{
	pt_lock_owners_drop_all(fs, ino);
	if (ino->fh) {
		pt_fh_inode_done(fs, ino);
	} else {
		safe_close(ino->fd);
		if (ino != fs->root && !ino->broken)
			pt_fd_uncharge(fs);
	}
	pthread_mutex_destroy(&ino->locks_mu);
	free(ino);
}

static void pt_table_insert(struct fs_state *fs, struct pt_inode *ino)
{
	pt_hmap_insert(&fs->inodes_by_id, &ino->by_id, pt_hash64(ino->nodeid));
	pt_hmap_insert(&fs->inodes_by_key, &ino->by_key,
		       pt_key_hash(ino->dev, ino->ino, ino->mnt_id));
}

int pt_inode_table_init(struct fs_state *fs, int root_fd)
{
	struct statx stx;
	int r;

	r = pt_statx(root_fd, &stx);
	if (r < 0)
		return r;
	if (!S_ISDIR(stx.stx_mode))
		return -ENOTDIR;
	r = pthread_rwlock_init(&fs->inodes_lock, NULL);
	if (r)
		return -r;
	if (pt_hmap_init(&fs->inodes_by_id) < 0 || pt_hmap_init(&fs->inodes_by_key) < 0)
		goto out_nomem;
	fs->root = pt_inode_alloc(&stx, root_fd);
	if (!fs->root)
		goto out_nomem;
	if (fs->cfg.vt) {
		struct fs_version ver;

		/* The watch took the root when it was set up; asking again is cheap and keeps
		 * the rule "every directory given before its version is read" local. */
		if (fs->cfg.vt_watch_dir)
			fs->root->vt_unversioned = pt_vt_watch_dir(fs, root_fd, false) < 0;
		fs->root->vt_slot = pt_vt_fd_slot(fs, root_fd, false, &ver);
	}
	fs->root->nodeid = FS_ROOT_ID;
	fs->root->nlookup = 1;
	fs->next_nodeid = FS_ROOT_ID + 1;
	pt_table_insert(fs, fs->root);
	return 0;

out_nomem:
	pt_hmap_done(&fs->inodes_by_id);
	pt_hmap_done(&fs->inodes_by_key);
	pthread_rwlock_destroy(&fs->inodes_lock);
	return -ENOMEM;
}

void pt_inode_forget_all(struct fs_state *fs)
{
	struct pt_hnode *list;

	pthread_rwlock_wrlock(&fs->inodes_lock);
	list = pt_hmap_take_all(&fs->inodes_by_id);
	pt_hmap_take_all(&fs->inodes_by_key);
	pthread_rwlock_unlock(&fs->inodes_lock);

	while (list) {
		struct pt_inode *ino = container_of(list, struct pt_inode, by_id);

		list = list->next;
		if (ino == fs->root)
			continue;
		pt_inode_put(fs, ino);
	}
	/* The root stays valid across a session reset; its lock owners do not. */
	pt_lock_owners_drop_all(fs, fs->root);
	pthread_rwlock_wrlock(&fs->inodes_lock);
	fs->root->nlookup = 1;
	pt_table_insert(fs, fs->root);
	pthread_rwlock_unlock(&fs->inodes_lock);
}

void pt_inode_table_done(struct fs_state *fs)
{
	if (!fs->root)
		return;
	pt_inode_forget_all(fs);
	pt_inode_free(fs, fs->root);
	fs->root = NULL;
	pt_hmap_done(&fs->inodes_by_id);
	pt_hmap_done(&fs->inodes_by_key);
	pthread_rwlock_destroy(&fs->inodes_lock);
}

int pt_inode_get(struct fs_state *fs, uint64_t guest_nodeid, struct pt_inode **ret)
{
	struct pt_inode *ino;
	int r;

	pthread_rwlock_rdlock(&fs->inodes_lock);
	ino = pt_find_by_id(fs, guest_nodeid);
	if (ino && ino->broken) {
		pthread_rwlock_unlock(&fs->inodes_lock);
		return -EIO; /* lost in a migration (op_migrate.c) */
	}
	if (ino)
		atomic_fetch_add(&ino->refs, 1);
	pthread_rwlock_unlock(&fs->inodes_lock);
	if (!ino)
		return -ENOENT;
	r = pt_inode_pin(fs, ino);
	if (r < 0) {
		pt_inode_put(fs, ino);
		return r;
	}
	*ret = ino;
	return 0;
}

int pt_inode_find(struct fs_state *fs, uint64_t nodeid, struct pt_inode **ret)
{
	struct pt_inode *ino;

	pthread_rwlock_rdlock(&fs->inodes_lock);
	ino = pt_find_by_id(fs, nodeid);
	if (ino)
		atomic_fetch_add(&ino->refs, 1);
	pthread_rwlock_unlock(&fs->inodes_lock);
	if (!ino)
		return -ENOENT;
	*ret = ino;
	return 0;
}

bool pt_inode_known_slot(struct fs_state *fs, const struct statx *stx, uint32_t *ret)
{
	const struct pt_inode *ino;
	bool open_fd = false;

	pthread_rwlock_rdlock(&fs->inodes_lock);
	ino = pt_find_by_key(fs, makedev(stx->stx_dev_major, stx->stx_dev_minor), stx->stx_ino,
			     pt_statx_mnt_id(stx));
	if (ino && !ino->fh) {
		open_fd = true;
	} else if (ino) {
		/* A handle-only inode whose fd was evicted may be a deleted file whose number the
		 * host gave to a new one: its slot (hash of the old handle) would be wrong. */
		pthread_mutex_lock(&fs->fdc_mu);
		open_fd = ino->fd >= 0;
		pthread_mutex_unlock(&fs->fdc_mu);
	}
	if (open_fd)
		*ret = ino->vt_slot;
	pthread_rwlock_unlock(&fs->inodes_lock);
	return open_fd;
}

void pt_inode_release(struct fs_state *fs, struct pt_inode *ino)
{
	pt_inode_unpin(fs, ino);
	pt_inode_put(fs, ino);
}

void pt_inode_ref(struct pt_inode *ino)
{
	atomic_fetch_add(&ino->refs, 1);
}

void pt_inode_put(struct fs_state *fs, struct pt_inode *ino)
{
	/* The table's own reference is dropped only after removal from the table, so reaching
	 * zero means nobody can find this inode any more. */
	if (atomic_fetch_sub(&ino->refs, 1) == 1)
		pt_inode_free(fs, ino);
}

void pt_inode_forget(struct fs_state *fs, uint64_t guest_nodeid, uint64_t nlookup)
{
	struct pt_inode *ino;

	pthread_rwlock_wrlock(&fs->inodes_lock);
	ino = pt_find_by_id(fs, guest_nodeid);
	if (!ino || ino == fs->root) {
		pthread_rwlock_unlock(&fs->inodes_lock);
		return;
	}
	ino->nlookup = sat_sub_u64(ino->nlookup, nlookup);
	if (ino->nlookup > 0) {
		pthread_rwlock_unlock(&fs->inodes_lock);
		return;
	}
	pt_hmap_remove(&fs->inodes_by_id, &ino->by_id);
	pt_hmap_remove(&fs->inodes_by_key, &ino->by_key);
	pthread_rwlock_unlock(&fs->inodes_lock);
	pt_inode_put(fs, ino);
}

static void pt_fill_entry(struct fs_state *fs, const struct pt_inode *parent, uint64_t nodeid,
			  const struct statx *stx, struct fs_entry *ret)
{
	*ret = (struct fs_entry){.nodeid = nodeid};
	pt_statx_to_stat(stx, &ret->attr);
	pt_stat_to_guest(fs, &ret->attr);
	ret->entry_timeout = pt_timeout(fs);
	ret->attr_timeout = pt_timeout(fs);
	ret->attr_flags = pt_dax_attr_flags(fs, NULL, stx);
	if (fs->cfg.announce_submounts && parent && S_ISDIR(stx->stx_mode) &&
	    (ret->attr.st_dev != parent->dev || pt_statx_mnt_id(stx) != parent->mnt_id))
		ret->attr_flags |= FS_ATTR_SUBMOUNT;
}

/* A node of a loaded migration state: its id and lookup count (op_migrate.c). */
struct pt_restore {
	uint64_t nodeid, nlookup;
	bool locks_lost;
};

/* Finds or inserts the inode for (stx, *fd), taking one lookup reference on it. A new inode
 * takes *fh and *mnt when given (and then caches *fd), else holds *fd. With rs, the inode is
 * new under rs's id and count, or -EEXIST. */
static int pt_inode_intern(struct fs_state *fs, int *fd, const struct statx *stx,
			   struct file_handle **fh, struct pt_mount **mnt, uint32_t vt_slot,
			   bool vt_unversioned, const struct pt_restore *rs, uint64_t *ret_nodeid)
{
	_cleanup_free_ struct pt_inode *fresh = pt_inode_alloc(stx, -1);
	struct pt_inode *ino;
	int r;

	if (!fresh)
		return -ENOMEM;
	fresh->vt_slot = vt_slot;
	fresh->vt_unversioned = vt_unversioned;
	pthread_rwlock_wrlock(&fs->inodes_lock);
	ino = pt_find_by_key(fs, fresh->dev, fresh->ino, fresh->mnt_id);
	if (rs && (ino || pt_find_by_id(fs, rs->nodeid))) {
		pthread_rwlock_unlock(&fs->inodes_lock);
		pthread_mutex_destroy(&fresh->locks_mu);
		return -EEXIST;
	}
	if (ino) {
		ino->nlookup = sat_add_u64(ino->nlookup, 1);
		*ret_nodeid = ino->nodeid;
		pthread_rwlock_unlock(&fs->inodes_lock);
		pthread_mutex_destroy(&fresh->locks_mu);
		*fd = safe_close(*fd);
		return 0;
	}
	r = *fh ? 0 : pt_fd_charge(fs);
	if (r < 0) {
		pthread_rwlock_unlock(&fs->inodes_lock);
		pthread_mutex_destroy(&fresh->locks_mu);
		return -ENFILE;
	}
	ino = TAKE_PTR(fresh);
	if (*fh) {
		ino->fh = TAKE_PTR(*fh);
		ino->mnt = TAKE_PTR(*mnt);
		pt_fdcache_adopt(fs, ino, TAKE_FD(*fd));
	} else {
		ino->fd = TAKE_FD(*fd);
	}
	ino->nodeid = rs ? rs->nodeid : fs->next_nodeid++;
	ino->nlookup = rs ? rs->nlookup : 1;
	ino->locks_lost = rs && rs->locks_lost;
	pt_table_insert(fs, ino);
	*ret_nodeid = ino->nodeid;
	pthread_rwlock_unlock(&fs->inodes_lock);
	return 0;
}

/*
 * With a watch that sees only the directories it is given (cfg.vt_watch_dir): a directory is
 * given to it the first time it is instantiated, before its version is read, so no host change
 * after that read is missed. An inode already in the table was given before it was published.
 * Returns whether the inode goes without versions (it could not be watched).
 */
static bool pt_inode_vt_watch(struct fs_state *fs, int fd)
{
	const struct pt_inode *known;
	struct statx stx;
	bool unversioned;

	if (!fs->cfg.vt || !fs->cfg.vt_watch_dir || pt_statx(fd, &stx) < 0 ||
	    !S_ISDIR(stx.stx_mode))
		return false;
	pthread_rwlock_rdlock(&fs->inodes_lock);
	known = pt_find_by_key(fs, makedev(stx.stx_dev_major, stx.stx_dev_minor), stx.stx_ino,
			       pt_statx_mnt_id(&stx));
	unversioned = known && known->vt_unversioned;
	pthread_rwlock_unlock(&fs->inodes_lock);
	if (known)
		return unversioned;
	return pt_vt_watch_dir(fs, fd, true) < 0;
}

static int pt_inode_entry_vt(struct fs_state *fs, const struct pt_inode *parent, int *fd,
			     bool changed, const struct pt_restore *rs, struct fs_entry *ret)
{
	_cleanup_close_ int owned = TAKE_FD(*fd);
	struct file_handle *fh = NULL;
	struct pt_mount *mnt = NULL;
	struct fs_version ver;
	struct statx stx;
	uint64_t nodeid;
	uint32_t slot;
	bool unversioned;
	int r;

	unversioned = pt_inode_vt_watch(fs, owned);
	/* The version is taken before the stat (or bumped, after a change and before it). */
	slot = pt_vt_fd_slot(fs, owned, changed, &ver);
	if (unversioned)
		ver = (struct fs_version){0};
	r = pt_statx(owned, &stx);
	if (r < 0)
		return r;
	r = pt_fh_make(fs, owned, parent, &stx, &fh, &mnt);
	if (r < 0)
		return r;
	r = pt_inode_intern(fs, &owned, &stx, &fh, &mnt, slot, unversioned, rs, &nodeid);
	/* Not taken: the inode existed already (or the lookup failed). */
	free(fh);
	pt_mount_unref(fs, mnt);
	if (r < 0 || !ret)
		return r;
	pt_fill_entry(fs, parent, nodeid, &stx, ret);
	ret->ver = ver;
	if (fs->cfg.adapt_max > 0) {
		ret->attr_timeout = pt_vt_timeout(fs, slot, unversioned, NULL);
		ret->entry_timeout = pt_vt_timeout(fs, slot, unversioned, parent);
	}
	return 0;
}

int pt_inode_entry(struct fs_state *fs, const struct pt_inode *parent, int *fd,
		   struct fs_entry *ret)
{
	return pt_inode_entry_vt(fs, parent, fd, false, NULL, ret);
}

int pt_inode_entry_changed(struct fs_state *fs, const struct pt_inode *parent, int *fd,
			   struct fs_entry *ret)
{
	return pt_inode_entry_vt(fs, parent, fd, true, NULL, ret);
}

int pt_inode_restore(struct fs_state *fs, int *fd, uint64_t nodeid, uint64_t nlookup,
		     bool locks_lost)
{
	struct pt_restore rs = {nodeid, nlookup, locks_lost};

	if (nodeid <= FS_ROOT_ID || nlookup == 0) {
		*fd = safe_close(*fd); /* taken on every path, as promised */
		return -EINVAL;
	}
	/* The share's root as parent: a non-directory's handle is opened on its mount when it
	 * is the root's (pt_mount_open). */
	return pt_inode_entry_vt(fs, fs->root, fd, false, &rs, NULL);
}

int pt_inode_restore_broken(struct fs_state *fs, uint64_t nodeid, uint64_t nlookup, mode_t type,
			    bool locks_lost)
{
	struct statx stx = {.stx_mode = (uint16_t)(type & S_IFMT)};
	struct pt_inode *ino;

	if (nodeid <= FS_ROOT_ID || nlookup == 0)
		return -EINVAL;
	ino = pt_inode_alloc(&stx, -1);
	if (!ino)
		return -ENOMEM;
	ino->broken = true;
	ino->locks_lost = locks_lost;
	ino->nodeid = nodeid;
	ino->nlookup = nlookup;
	pthread_rwlock_wrlock(&fs->inodes_lock);
	if (pt_find_by_id(fs, nodeid)) {
		pthread_rwlock_unlock(&fs->inodes_lock);
		pthread_mutex_destroy(&ino->locks_mu);
		free(ino);
		return -EEXIST;
	}
	/* By id only: no lookup may find it by its (empty) host key. */
	pt_hmap_insert(&fs->inodes_by_id, &ino->by_id, pt_hash64(nodeid));
	pthread_rwlock_unlock(&fs->inodes_lock);
	return 0;
}

int pt_open_child_path(int dirfd, const char *name)
{
	static atomic_bool no_openat2;
	struct open_how how = {
		.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
		/* One component, so these forbid "..", absolute names and any symlink on the way;
		 * a trailing symlink is opened as itself because of O_PATH|O_NOFOLLOW. */
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS,
	};
	long fd;

	if (pt_check_name(name) < 0)
		return -EINVAL;
	if (!atomic_load_explicit(&no_openat2, memory_order_relaxed)) {
		fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
		if (fd >= 0)
			return (int)fd;
		/* RESOLVE_BENEATH's final check: the child was moved out of dirfd while we
		 * resolved it (a host rename race). For the guest the name is simply gone. */
		if (errno == EXDEV)
			return -ENOENT;
		if (errno != ENOSYS)
			return -errno;
		atomic_store(&no_openat2, true);
	}
	/* Pre-5.6 kernels: the name is a single checked component and O_NOFOLLOW stops at a
	 * trailing symlink, which is equivalent for one step. */
	fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : (int)fd;
}

static int pt_do_lookup_vt(struct fs_state *fs, const struct pt_inode *parent, const char *name,
			   bool changed, struct fs_entry *ret)
{
	struct fs_version pver;
	int fd, r;

	if (!S_ISDIR(parent->type))
		return -ENOTDIR;
	r = pt_inode_pin(fs, parent);
	if (r < 0)
		return r;
	pt_vt_read(fs, parent, &pver); /* before the name is resolved */
	fd = pt_open_child_path(parent->fd, name);
	r = fd < 0 ? fd : pt_inode_entry_vt(fs, parent, &fd, changed, NULL, ret);
	pt_inode_unpin(fs, parent);
	if (r == 0)
		ret->parent_ver = pver;
	return r;
}

int pt_do_lookup(struct fs_state *fs, const struct pt_inode *parent, const char *name,
		 struct fs_entry *ret)
{
	return pt_do_lookup_vt(fs, parent, name, false, ret);
}

int pt_do_lookup_changed(struct fs_state *fs, const struct pt_inode *parent, const char *name,
			 struct fs_entry *ret)
{
	return pt_do_lookup_vt(fs, parent, name, true, ret);
}
