// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The lock owners of an inode: each guest lock owner that took a record lock gets its own open
 * file description of the inode, on which its locks are OFD locks (why: the top of op_lock.c).
 * Owners live on the inode (ino->owners under locks_mu) until the guest's flush removes them
 * or the inode goes away.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "fs/passthrough/pt.h"

/* Guest-growable: distinct lock owners on one inode. */
#define PT_MAX_LOCK_OWNERS 1024

void pt_owner_put(struct fs_state *fs, struct pt_lock_owner *o)
{
	if (atomic_fetch_sub(&o->refs, 1) == 1) {
		safe_close(o->fd); /* releases every OFD lock of this owner */
		pt_fd_uncharge(fs);
		free(o);
	}
}

/* A description on which locks of both kinds can live when the file allows it. */
static int pt_owner_open(struct fs_state *fs, const struct pt_inode *ino)
{
	static const int modes[] = {O_RDWR, O_RDONLY, O_WRONLY};
	int fd = -EACCES;

	for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
		fd = pt_reopen(fs, ino, modes[i] | O_NONBLOCK);
		if (fd >= 0 || (fd != -EACCES && fd != -EROFS && fd != -ETXTBSY && fd != -EISDIR))
			break;
	}
	return fd;
}

static int pt_owner_create(struct fs_state *fs, struct pt_inode *ino, uint64_t owner,
			   struct pt_lock_owner **ret)
{
	struct pt_lock_owner *o;
	int fd;

	if (ino->nowners >= PT_MAX_LOCK_OWNERS || pt_fd_charge(fs) < 0)
		return -ENOLCK;
	fd = pt_owner_open(fs, ino);
	if (fd < 0) {
		pt_fd_uncharge(fs);
		return fd;
	}
	o = calloc(1, sizeof(*o));
	if (!o) {
		close(fd);
		pt_fd_uncharge(fs);
		return -ENOMEM;
	}
	o->owner = owner;
	o->fd = fd;
	atomic_init(&o->refs, 1);
	o->next = ino->owners;
	ino->owners = o;
	ino->nowners++;
	*ret = o;
	return 0;
}

/* Returns a referenced owner; -ENOENT when absent and !create. */
int pt_owner_get(struct fs_state *fs, struct pt_inode *ino, uint64_t owner, bool create,
		 struct pt_lock_owner **ret)
{
	struct pt_lock_owner *o;
	int r = 0;

	pthread_mutex_lock(&ino->locks_mu);
	for (o = ino->owners; o; o = o->next)
		if (o->owner == owner)
			break;
	if (!o)
		r = create ? pt_owner_create(fs, ino, owner, &o) : -ENOENT;
	if (r == 0) {
		atomic_fetch_add(&o->refs, 1);
		*ret = o;
	}
	pthread_mutex_unlock(&ino->locks_mu);
	return r;
}

void pt_owner_remove(struct fs_state *fs, struct pt_inode *ino, uint64_t owner)
{
	struct pt_lock_owner **pp, *o = NULL;

	pthread_mutex_lock(&ino->locks_mu);
	for (pp = &ino->owners; *pp; pp = &(*pp)->next) {
		if ((*pp)->owner == owner) {
			o = *pp;
			*pp = o->next;
			ino->nowners--;
			break;
		}
	}
	pthread_mutex_unlock(&ino->locks_mu);
	if (o)
		pt_owner_put(fs, o);
}

void pt_lock_owners_drop_all(struct fs_state *fs, struct pt_inode *ino)
{
	struct pt_lock_owner *o;

	pthread_mutex_lock(&ino->locks_mu);
	o = ino->owners;
	ino->owners = NULL;
	ino->nowners = 0;
	pthread_mutex_unlock(&ino->locks_mu);
	while (o) {
		struct pt_lock_owner *next = o->next;

		pt_owner_put(fs, o);
		o = next;
	}
}
