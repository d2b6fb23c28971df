// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The open-handle table: file handles the guest gets from open/create/opendir are opaque keys
 * (a counter, never reused) into this table, checked on every use together with the node id
 * they were opened on. Each handle owns one host fd and a reference on its inode.
 */
#include <errno.h>
#include <stdlib.h>

#include "fs/passthrough/pt.h"

int pt_handle_table_init(struct fs_state *fs)
{
	int r = pthread_rwlock_init(&fs->handles_lock, NULL);

	if (r)
		return -r;
	r = pt_hmap_init(&fs->handles);
	if (r < 0) {
		pthread_rwlock_destroy(&fs->handles_lock);
		return r;
	}
	fs->next_fh = 1;
	return 0;
}

static void pt_handle_free(struct fs_state *fs, struct pt_handle *h)
{
	free(h->dir); /* a plain allocation (op_dir.c) */
	if (!h->broken) {
		safe_close(h->fd);
		pt_fd_uncharge(fs);
	}
	pt_inode_put(fs, h->inode);
	pthread_mutex_destroy(&h->dir_mu);
	free(h);
}

void pt_handle_put(struct fs_state *fs, struct pt_handle *h)
{
	if (atomic_fetch_sub(&h->refs, 1) == 1)
		pt_handle_free(fs, h);
}

void pt_handle_close_all(struct fs_state *fs)
{
	struct pt_hnode *list;

	pthread_rwlock_wrlock(&fs->handles_lock);
	list = pt_hmap_take_all(&fs->handles);
	pthread_rwlock_unlock(&fs->handles_lock);
	while (list) {
		struct pt_handle *h = container_of(list, struct pt_handle, node);

		list = list->next;
		pt_handle_put(fs, h);
	}
}

void pt_handle_table_done(struct fs_state *fs)
{
	if (!fs->handles.buckets)
		return;
	pt_handle_close_all(fs);
	pt_hmap_done(&fs->handles);
	pthread_rwlock_destroy(&fs->handles_lock);
}

int pt_handle_new(struct fs_state *fs, struct pt_inode *ino, int *fd, int flags, uint64_t *ret_fh)
{
	_cleanup_close_ int owned = TAKE_FD(*fd);
	struct pt_handle *h;

	if (pt_fd_charge(fs) < 0)
		return -EMFILE;
	h = calloc(1, sizeof(*h));
	if (!h) {
		pt_fd_uncharge(fs);
		return -ENOMEM;
	}
	pt_inode_ref(ino);
	h->inode = ino;
	h->fd = TAKE_FD(owned);
	h->flags = flags;
	atomic_init(&h->refs, 1);
	pthread_mutex_init(&h->dir_mu, NULL);

	pthread_rwlock_wrlock(&fs->handles_lock);
	h->fh = fs->next_fh++;
	pt_hmap_insert(&fs->handles, &h->node, pt_hash64(h->fh));
	*ret_fh = h->fh;
	pthread_rwlock_unlock(&fs->handles_lock);
	return 0;
}

/* Caller holds handles_lock. */
static struct pt_handle *pt_handle_find(struct fs_state *fs, uint64_t fh)
{
	uint64_t hash = pt_hash64(fh);

	for (struct pt_hnode *n = pt_hmap_chain(&fs->handles, hash); n; n = n->next) {
		struct pt_handle *h = container_of(n, struct pt_handle, node);

		if (n->hash == hash && h->fh == fh)
			return h;
	}
	return NULL;
}

int pt_handle_get(struct fs_state *fs, uint64_t guest_nodeid, uint64_t guest_fh,
		  struct pt_handle **ret)
{
	struct pt_handle *h;

	pthread_rwlock_rdlock(&fs->handles_lock);
	h = pt_handle_find(fs, guest_fh);
	/* A handle is only valid together with the node it was opened on. */
	if (h && h->inode->nodeid != guest_nodeid)
		h = NULL;
	if (h && h->broken) {
		pthread_rwlock_unlock(&fs->handles_lock);
		return -EIO; /* not reopened after a migration (op_migrate.c) */
	}
	if (h)
		atomic_fetch_add(&h->refs, 1);
	pthread_rwlock_unlock(&fs->handles_lock);
	if (!h)
		return -EBADF;
	*ret = h;
	return 0;
}

int pt_handle_restore(struct fs_state *fs, struct pt_inode *ino, int *fd, int flags, uint64_t fh,
		      bool locks_lost)
{
	_cleanup_close_ int owned = TAKE_FD(*fd);
	struct pt_handle *h;

	if (fh == 0)
		return -EINVAL;
	if (owned >= 0 && pt_fd_charge(fs) < 0)
		return -EMFILE;
	h = calloc(1, sizeof(*h));
	if (!h) {
		if (owned >= 0)
			pt_fd_uncharge(fs);
		return -ENOMEM;
	}
	h->broken = owned < 0;
	h->locks_lost = locks_lost;
	h->fd = owned;
	h->flags = flags;
	h->fh = fh;
	atomic_init(&h->refs, 1);
	pthread_mutex_init(&h->dir_mu, NULL);
	pthread_rwlock_wrlock(&fs->handles_lock);
	if (pt_handle_find(fs, fh)) {
		pthread_rwlock_unlock(&fs->handles_lock);
		pthread_mutex_destroy(&h->dir_mu);
		free(h);
		if (owned >= 0)
			pt_fd_uncharge(fs);
		return -EEXIST;
	}
	pt_inode_ref(ino);
	h->inode = ino;
	TAKE_FD(owned);
	pt_hmap_insert(&fs->handles, &h->node, pt_hash64(fh));
	pthread_rwlock_unlock(&fs->handles_lock);
	return 0;
}

int pt_handle_release(struct fs_state *fs, uint64_t guest_nodeid, uint64_t guest_fh)
{
	struct pt_handle *h;

	pthread_rwlock_wrlock(&fs->handles_lock);
	h = pt_handle_find(fs, guest_fh);
	if (h && h->inode->nodeid != guest_nodeid)
		h = NULL;
	if (h)
		pt_hmap_remove(&fs->handles, &h->node);
	pthread_rwlock_unlock(&fs->handles_lock);
	if (!h)
		return -EBADF;
	/* close(2) in the guest: its writes to a DAX tail copy become visible. */
	pt_dax_sync(fs, h->inode);
	/* In-flight users keep the fd open until they finish. */
	pt_handle_put(fs, h);
	return 0;
}
