// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Migration: the backend's part of the device state (format in docs/migration.md). The source
 * writes every node (id, lookup count, type, and how to find it again: its path relative to the
 * share and, with --migration-mode=file-handles, its file handle) and every open handle (number,
 * node, host open flags); the destination finds each node again, by handle first, and reopens
 * each handle. Saving changes nothing, so a failed migration resumes the source as it was.
 *
 * A node that cannot be found again (deleted on the source and no usable handle, renamed out of
 * the share, another type of object at its path now) fails the load, or with
 * --migration-on-error=guest-error becomes broken: the guest gets EIO on it and on its handles.
 * Lock state does not move: a node or handle that had locks answers new lock requests ENOLCK.
 *
 * Trust: the state to load is hostile. Counts and lengths are bounded by the bytes present,
 * paths are resolved one component at a time beneath the share (pt_open_child_path: no "..",
 * no symlink), and an object opened by file handle must be inside the share. The frontend
 * decides when a state is saved or loaded: every line here is rate limited.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/passthrough/pt.h"
#include "fs/passthrough/pt_ops.h"
#include "util/log.h"

/* Node flags. */
#define PTM_N_PATH   (1u << 0) /* a path relative to the share follows ("" is the root) */
#define PTM_N_HANDLE (1u << 1) /* a file handle follows */
#define PTM_N_LOCKS  (1u << 2) /* had lock owners on the source */
#define PTM_N_VERIFY (1u << 3) /* the object found must have that file handle */
#define PTM_N_ALL    (PTM_N_PATH | PTM_N_HANDLE | PTM_N_LOCKS | PTM_N_VERIFY)
/* Handle flags. */
#define PTM_H_LOCKS (1u << 0) /* flock() was used through it */

/* Smallest encodings, to bound counts by the bytes present before anything is allocated. */
#define PTM_NODE_MIN   24u
#define PTM_HANDLE_MIN 24u
#define PTM_IDS_MAX    (1ull << 62)
/* What a destination takes on: a hostile state of broken nodes costs memory, not fds. A
 * source has at most one handle per fd of its budget (PT_FD_MAX_DEFAULT, 1M). */
#define PTM_NODES_MAX	(1u << 21)
#define PTM_HANDLES_MAX (1u << 20)

/* The path of an fd as /proc shows it: 0, or -ENAMETOOLONG/-errno. */
static int pt_fd_path(struct fs_state *fs, int fd, char buf[static PATH_MAX])
{
	char name[24];
	ssize_t n;

	snprintf(name, sizeof(name), "%d", fd);
	n = readlinkat(fs->proc_fd, name, buf, PATH_MAX);
	if (n < 0)
		return -errno;
	if (n >= PATH_MAX)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	return 0;
}

/* The part of `path` below the share's root path, or NULL when it is not below it. */
static const char *pt_below_root(const char *root, const char *path)
{
	size_t n = strlen(root);

	if (strcmp(root, "/") == 0)
		return path[0] == '/' ? path + 1 : NULL;
	if (strncmp(path, root, n) != 0 || (path[n] != '/' && path[n] != '\0'))
		return NULL;
	return path[n] == '/' ? path + n + 1 : path + n;
}

static int pt_open_rel(struct fs_state *fs, const char *rel);
static bool pt_same_file(int a, int b);

struct pt_save {
	struct fs_state *fs;
	struct sbuf_w *w;
	char root[PATH_MAX];
	unsigned unfindable;  /* nodes saved with neither path nor handle */
	unsigned moved;	      /* --migration-confirm-paths: paths corrected */
	unsigned unconfirmed; /* --migration-confirm-paths: paths dropped */
};

/* Whether `rel`, resolved beneath the share as the destination will, leads to fd's object. */
static bool pt_path_names(struct fs_state *fs, const char *rel, int fd)
{
	_cleanup_close_ int again = *rel ? pt_open_rel(fs, rel) : -EINVAL;

	return again >= 0 && pt_same_file(again, fd);
}

/*
 * The object's name in directory `dir` (relative to the share), found by inode number and
 * confirmed, into out. For a file linked under another name whose old name was then removed
 * (how some tools and network filesystems rename), which /proc shows as "old (deleted)".
 */
static const char *pt_find_in_dir(struct fs_state *fs, const char *dir, int fd, uint64_t ino,
				  char out[static PATH_MAX])
{
	_cleanup_close_ int d =
		*dir ? pt_open_rel(fs, dir) : fcntl(fs->root->fd, F_DUPFD_CLOEXEC, 3);
	const char *found = NULL;
	struct dirent *de;
	DIR *list;
	int rd;

	if (d < 0)
		return NULL;
	rd = openat(d, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	list = rd < 0 ? NULL : fdopendir(rd);
	if (!list) {
		safe_close(rd);
		return NULL;
	}
	while (!found && (de = readdir(list))) {
		if (de->d_ino != ino || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if ((size_t)snprintf(out, PATH_MAX, "%s%s%s", dir, *dir ? "/" : "", de->d_name) <
			    PATH_MAX &&
		    pt_path_names(fs, out, fd))
			found = out;
	}
	closedir(list);
	return found;
}

/*
 * --migration-confirm-paths: the path /proc gave must lead back to the node's object, as the
 * destination will resolve it. If not (renamed since, a stale name on a network filesystem,
 * the old name of a re-linked file), /proc is read again and re-checked, then the old name's
 * directory is searched; otherwise the node goes without a path (unresolvable).
 */
static bool pt_name_says_deleted(const char *rel)
{
	static const char deleted[] = " (deleted)";
	size_t n = rel ? strlen(rel) : 0;

	return n >= sizeof(deleted) - 1 && strcmp(rel + n - (sizeof(deleted) - 1), deleted) == 0;
}

static const char *pt_confirm_path(struct pt_save *s, struct pt_inode *ino, uint64_t inum,
				   const char *rel, char path[static PATH_MAX],
				   char found[static PATH_MAX])
{
	static const char deleted[] = " (deleted)";
	struct fs_state *fs = s->fs;
	char *slash;
	size_t n;

	if (rel && pt_path_names(fs, rel, ino->fd))
		return rel;
	s->moved++;
	if (pt_fd_path(fs, ino->fd, path) == 0 && (rel = pt_below_root(s->root, path)) &&
	    pt_path_names(fs, rel, ino->fd))
		return rel;
	n = rel ? strlen(rel) : 0;
	if (n > sizeof(deleted) - 1 && strcmp(rel + n - (sizeof(deleted) - 1), deleted) == 0) {
		path[rel - path + n - (sizeof(deleted) - 1)] = '\0';
		slash = strrchr(path, '/');
		if (slash && slash >= rel) {
			*slash = '\0';
			rel = pt_find_in_dir(fs, rel, ino->fd, inum, found);
		} else {
			rel = pt_find_in_dir(fs, "", ino->fd, inum, found);
		}
		if (rel)
			return rel;
	}
	s->moved--;
	s->unconfirmed++;
	log_ratelimited(LOG_LEVEL_WARN,
			"migration: node %llu: its path no longer leads to it and no other was "
			"found: the destination cannot find it by path",
			(unsigned long long)ino->nodeid);
	return NULL;
}

static void pt_save_node(struct pt_save *s, struct pt_inode *ino, uint64_t nlookup)
{
	struct fs_state *fs = s->fs;
	_cleanup_free_ struct file_handle *fh = NULL;
	char path[PATH_MAX], found[PATH_MAX];
	const char *rel = NULL;
	struct statx stx = {0}; /* nlink 0 when it cannot be read: no path */
	uint32_t flags = 0;
	int mnt_id;

	if (ino == fs->root) {
		rel = "";
	} else if (pt_inode_pin(fs, ino) == 0) {
		/* An unlinked node has no path any more ("… (deleted)"). */
		if (pt_statx(ino->fd, &stx) == 0 && stx.stx_nlink > 0 &&
		    pt_fd_path(fs, ino->fd, path) == 0)
			rel = pt_below_root(s->root, path);
		/* A linked node whose /proc name ends in " (deleted)" was re-linked under another
		 * name: that name is confirmed (or searched for) even without the option, so the
		 * destination never opens an unrelated file that happens to bear the literal name.
		 */
		if (stx.stx_nlink > 0 &&
		    (fs->cfg.migration_confirm_paths || pt_name_says_deleted(rel)))
			rel = pt_confirm_path(s, ino, stx.stx_ino, rel, path, found);
		/* Handles decode on the share's own mount only (the destination has no other). */
		fh = (fs->cfg.migration_file_handles || fs->cfg.migration_verify_handles) &&
				     ino->mnt_id == fs->root->mnt_id
			     ? malloc(sizeof(*fh) + MAX_HANDLE_SZ)
			     : NULL;
		if (fh) {
			fh->handle_bytes = MAX_HANDLE_SZ;
			if (name_to_handle_at(ino->fd, "", fh, &mnt_id, AT_EMPTY_PATH) < 0) {
				log_ratelimited(LOG_LEVEL_WARN,
						"migration: no file handle for node %llu: %s",
						(unsigned long long)ino->nodeid, strerror(errno));
				free(fh);
				fh = NULL;
			}
		}
		pt_inode_unpin(fs, ino);
	}
	if (rel && strlen(rel) < PATH_MAX)
		flags |= PTM_N_PATH;
	if (fh)
		flags |= PTM_N_HANDLE;
	if (fh && fs->cfg.migration_verify_handles)
		flags |= PTM_N_VERIFY;
	pthread_mutex_lock(&ino->locks_mu);
	if (ino->nowners || ino->locks_lost)
		flags |= PTM_N_LOCKS;
	pthread_mutex_unlock(&ino->locks_mu);
	if (!(flags & (PTM_N_PATH | PTM_N_HANDLE))) {
		s->unfindable++;
		log_ratelimited(LOG_LEVEL_WARN,
				"migration: node %llu has no path in the share (deleted or moved "
				"out) and no file handle: the destination cannot find it",
				(unsigned long long)ino->nodeid);
	}

	sbuf_put_u64(s->w, ino->nodeid);
	sbuf_put_u64(s->w, nlookup);
	sbuf_put_u32(s->w, (uint32_t)ino->type);
	sbuf_put_u32(s->w, flags);
	if (flags & PTM_N_PATH)
		sbuf_put_bytes(s->w, rel, (uint32_t)strlen(rel));
	if (flags & PTM_N_HANDLE) {
		sbuf_put_u32(s->w, (uint32_t)fh->handle_type);
		sbuf_put_bytes(s->w, fh->f_handle, fh->handle_bytes);
	}
}

/*
 * The table is copied (referenced inodes and their counts) under its lock, and each node is
 * written after it: writing takes the inode's locks_mu, which may not be taken inside the
 * table lock. No op runs meanwhile (the FUSE layer holds its session lock).
 */
static int pt_save_nodes(struct pt_save *s)
{
	struct fs_state *fs = s->fs;
	const struct pt_hmap *m = &fs->inodes_by_id;
	struct pt_snap {
		struct pt_inode *ino;
		uint64_t nlookup;
	} * snap;
	size_t n = 0;

	pthread_rwlock_rdlock(&fs->inodes_lock);
	snap = calloc(m->count ? m->count : 1, sizeof(*snap));
	if (!snap) {
		pthread_rwlock_unlock(&fs->inodes_lock);
		return -ENOMEM;
	}
	sbuf_put_u64(s->w, fs->next_nodeid);
	sbuf_put_u32(s->w, (uint32_t)m->count);
	for (size_t b = 0; b < m->nbuckets; b++) {
		for (struct pt_hnode *h = m->buckets[b]; h && n < m->count; h = h->next) {
			snap[n].ino = container_of(h, struct pt_inode, by_id);
			snap[n].nlookup = snap[n].ino->nlookup;
			pt_inode_ref(snap[n++].ino);
		}
	}
	pthread_rwlock_unlock(&fs->inodes_lock);
	for (size_t i = 0; i < n; i++) {
		pt_save_node(s, snap[i].ino, snap[i].nlookup);
		pt_inode_put(fs, snap[i].ino);
	}
	free(snap);
	return 0;
}

static void pt_save_handles(struct pt_save *s)
{
	struct fs_state *fs = s->fs;
	const struct pt_hmap *m = &fs->handles;

	pthread_rwlock_rdlock(&fs->handles_lock);
	sbuf_put_u64(s->w, fs->next_fh);
	sbuf_put_u32(s->w, (uint32_t)m->count);
	for (size_t b = 0; b < m->nbuckets; b++) {
		for (struct pt_hnode *n = m->buckets[b]; n; n = n->next) {
			const struct pt_handle *h = container_of(n, struct pt_handle, node);

			sbuf_put_u64(s->w, h->fh);
			sbuf_put_u64(s->w, h->inode->nodeid);
			sbuf_put_u32(s->w, (uint32_t)h->flags);
			sbuf_put_u32(s->w,
				     atomic_load(&h->flocked) || h->locks_lost ? PTM_H_LOCKS : 0);
		}
	}
	pthread_rwlock_unlock(&fs->handles_lock);
}

int pt_op_state_save(struct fs_state *fs, struct sbuf_w *w)
{
	struct pt_save s = {.fs = fs, .w = w};
	int r;

	if (fs->cfg.dax) {
		struct dax_stats st;

		dax_get_stats(fs->cfg.dax, &st);
		if (st.live) {
			log_ratelimited(
				LOG_LEVEL_ERROR,
				"migration: refused: the guest has %u live DAX mappings, which "
				"cannot move (mount without dax to migrate)",
				st.live);
			return -EBUSY;
		}
	}
	r = pt_fd_path(fs, fs->root->fd, s.root);
	if (r < 0) {
		log_ratelimited(LOG_LEVEL_ERROR, "migration: cannot read the share's path: %s",
				strerror(-r));
		return r;
	}
	if (fs->inodes_by_id.count > UINT32_MAX || fs->handles.count > UINT32_MAX)
		return -EOVERFLOW;
	r = pt_save_nodes(&s);
	if (r < 0)
		return r;
	pt_save_handles(&s);
	if (fs->cfg.migration_confirm_paths || s.moved || s.unconfirmed)
		log_ratelimited(
			LOG_LEVEL_INFO,
			"migration: paths confirmed: %u corrected, %u no longer lead to their node",
			s.moved, s.unconfirmed);
	if (s.unfindable)
		log_ratelimited(
			LOG_LEVEL_WARN,
			"migration: %u nodes cannot be found again on the destination; it fails "
			"the migration unless started with --migration-on-error=guest-error",
			s.unfindable);
	return w->err;
}

/* ---- load ---- */

struct pt_load {
	struct fs_state *fs;
	struct sbuf_r *r;
	char root[PATH_MAX];
	int mount_fd;	   /* the share's root as a real directory, for open_by_handle_at */
	bool handles_dead; /* open_by_handle_at refused (no CAP_DAC_READ_SEARCH): paths only */
	uint64_t next_nodeid, next_fh;
	unsigned broken;
};

struct pt_mnode {
	uint64_t nodeid, nlookup;
	uint32_t type, flags;
	char path[PATH_MAX];
	uint32_t htype, hlen;
	const uint8_t *handle;
};

static int pt_load_bad(const char *what)
{
	log_ratelimited(LOG_LEVEL_ERROR, "migration: malformed node table: %s", what);
	return -EBADMSG;
}

static int pt_parse_node(struct pt_load *l, struct pt_mnode *n)
{
	const void *p;
	uint32_t len;

	n->nodeid = sbuf_get_u64(l->r);
	n->nlookup = sbuf_get_u64(l->r);
	n->type = sbuf_get_u32(l->r);
	n->flags = sbuf_get_u32(l->r);
	n->path[0] = '\0';
	if (l->r->err)
		return pt_load_bad("truncated node");
	if (n->nodeid == 0 || n->nodeid >= l->next_nodeid || (n->flags & ~PTM_N_ALL) ||
	    (n->type & ~(uint32_t)S_IFMT) || n->type == 0 ||
	    (n->nlookup == 0 && n->nodeid != FS_ROOT_ID))
		return pt_load_bad("bad node id, count, type or flags");
	if (n->flags & PTM_N_PATH) {
		p = sbuf_get_bytes(l->r, PATH_MAX - 1, &len);
		if (!p || memchr(p, '\0', len))
			return pt_load_bad("bad path");
		memcpy(n->path, p, len);
		n->path[len] = '\0';
	}
	if (n->flags & PTM_N_HANDLE) {
		n->htype = sbuf_get_u32(l->r);
		n->handle = sbuf_get_bytes(l->r, MAX_HANDLE_SZ, &n->hlen);
		if (!n->handle || n->hlen == 0 || n->htype > INT_MAX)
			return pt_load_bad("bad file handle");
	} else if (n->flags & PTM_N_VERIFY) {
		return pt_load_bad("a handle to verify without a handle");
	}
	return 0;
}

/* Resolves a path relative to the share one component at a time, beneath it, no symlinks. */
static int pt_open_rel(struct fs_state *fs, const char *rel)
{
	_cleanup_close_ int dir = -1;
	char *save = NULL, *comp, path[PATH_MAX];
	int fd = -EINVAL;

	if ((size_t)snprintf(path, sizeof(path), "%s", rel) >= sizeof(path))
		return -ENAMETOOLONG;

	dir = fcntl(fs->root->fd, F_DUPFD_CLOEXEC, 3);
	if (dir < 0)
		return -errno;
	for (comp = strtok_r(path, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		fd = pt_open_child_path(dir, comp);
		if (fd < 0)
			return fd;
		close(dir);
		dir = fd;
	}
	return fd < 0 ? fd : TAKE_FD(dir);
}

static bool pt_same_file(int a, int b)
{
	struct statx x, y;

	return pt_statx(a, &x) == 0 && pt_statx(b, &y) == 0 && x.stx_ino == y.stx_ino &&
	       x.stx_dev_major == y.stx_dev_major && x.stx_dev_minor == y.stx_dev_minor;
}

/* A directory is inside when walking ".." from it meets the share's root. */
static bool pt_dir_inside(struct fs_state *fs, int fd)
{
	_cleanup_close_ int cur = fcntl(fd, F_DUPFD_CLOEXEC, 3);

	for (int depth = 0; cur >= 0 && depth < PATH_MAX / 2; depth++) {
		int up;

		if (pt_same_file(cur, fs->root->fd))
			return true;
		up = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (up < 0 || pt_same_file(up, cur)) {
			safe_close(up);
			return false; /* the filesystem's root, not ours */
		}
		close(cur);
		cur = up;
	}
	return false;
}

/*
 * Whether an object opened by file handle is inside the share. /proc shows an object outside
 * the share's mount by its path from the filesystem's root, which may look like one below the
 * share (always, when the sandbox made the share "/"), so a path is only trusted once it leads
 * back to the same object beneath the share. A deleted file has no path: its former directory
 * must still be in the share (docs/migration.md: what this leaves open).
 */
static bool pt_inside_share(struct pt_load *l, int fd, char *path)
{
	static const char deleted[] = " (deleted)";
	size_t n = strlen(path), dn = sizeof(deleted) - 1;
	_cleanup_close_ int again = -1;
	struct statx stx;
	char *rel, *slash;

	if (pt_statx(fd, &stx) < 0)
		return false;
	if (S_ISDIR(stx.stx_mode))
		return pt_dir_inside(l->fs, fd);
	rel = (char *)pt_below_root(l->root, path);
	if (!rel)
		return false;
	if (stx.stx_nlink > 0) {
		again = *rel ? pt_open_rel(l->fs, rel) : -EINVAL;
		return again >= 0 && pt_same_file(again, fd);
	}
	if (n < dn || strcmp(path + n - dn, deleted) != 0)
		return false;
	path[n - dn] = '\0';
	slash = strrchr(rel, '/');
	if (!slash)
		return true; /* it was in the share's root directory */
	*slash = '\0';
	again = pt_open_rel(l->fs, rel);
	return again >= 0 && pt_statx(again, &stx) == 0 && S_ISDIR(stx.stx_mode);
}

static int pt_open_handle(struct pt_load *l, const struct pt_mnode *n)
{
	_cleanup_free_ struct file_handle *fh = malloc(sizeof(*fh) + n->hlen);
	_cleanup_close_ int fd = -1;
	char path[PATH_MAX];

	if (!fh)
		return -ENOMEM;
	/* Opening handles from a migration stream is opt-in on the destination too. */
	if (!l->fs->cfg.migration_file_handles && !l->handles_dead) {
		l->handles_dead = true;
		log_ratelimited(
			LOG_LEVEL_WARN,
			"migration: the state carries file handles, which this daemon opens only "
			"with --migration-mode=file-handles: finding nodes by path only");
	}
	if (l->handles_dead)
		return -EPERM;
	if (l->mount_fd < 0) {
		l->mount_fd = openat(l->fs->root->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (l->mount_fd < 0)
			return -errno;
	}
	fh->handle_bytes = n->hlen;
	fh->handle_type = (int)n->htype;
	memcpy(fh->f_handle, n->handle, n->hlen);
	fd = open_by_handle_at(l->mount_fd, fh, O_PATH | O_CLOEXEC);
	if (fd < 0) {
		if (errno == EPERM) {
			l->handles_dead = true;
			log_ratelimited(
				LOG_LEVEL_WARN,
				"migration: cannot open file handles (needs CAP_DAC_READ_SEARCH): "
				"finding nodes by path only");
		}
		return -errno;
	}
	/* A handle names any object of the filesystem: only one inside the share will do. */
	if (pt_fd_path(l->fs, fd, path) < 0 || !pt_inside_share(l, fd, path))
		return -EXDEV;
	return TAKE_FD(fd);
}

/* --migration-verify-handles: 0 when fd's object has the node's saved file handle. */
static int pt_handle_matches(int fd, const struct pt_mnode *n)
{
	_cleanup_free_ struct file_handle *fh = malloc(sizeof(*fh) + MAX_HANDLE_SZ);
	int mnt_id;

	if (!fh)
		return -ENOMEM;
	fh->handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(fd, "", fh, &mnt_id, AT_EMPTY_PATH) < 0)
		return -errno;
	if ((uint32_t)fh->handle_type != n->htype || fh->handle_bytes != n->hlen ||
	    memcmp(fh->f_handle, n->handle, n->hlen) != 0)
		return -ESTALE; /* another object than the source's has its path now */
	return 0;
}

/* The node's object on this host as an O_PATH fd, or -errno. */
static int pt_find_node(struct pt_load *l, struct pt_mnode *n)
{
	_cleanup_close_ int fd = -ENOENT;
	struct statx stx;
	int r;

	/* A handle sent only to be checked is no reason to warn a find-paths destination. */
	if ((n->flags & PTM_N_HANDLE) &&
	    (l->fs->cfg.migration_file_handles || !(n->flags & PTM_N_VERIFY)))
		fd = pt_open_handle(l, n);
	if (fd < 0 && (n->flags & PTM_N_PATH))
		fd = n->path[0] ? pt_open_rel(l->fs, n->path) : -EINVAL;
	if (fd < 0)
		return fd;
	r = pt_statx(fd, &stx);
	if (r < 0)
		return r;
	if ((stx.stx_mode & S_IFMT) != n->type)
		return -ESTALE; /* another kind of object has the name now */
	if ((n->flags & PTM_N_VERIFY) ||
	    ((n->flags & PTM_N_HANDLE) && l->fs->cfg.migration_verify_handles)) {
		r = pt_handle_matches(fd, n);
		if (r < 0)
			return r;
	}
	return TAKE_FD(fd);
}

static int pt_load_node(struct pt_load *l, struct pt_mnode *n)
{
	struct fs_state *fs = l->fs;
	bool locks = n->flags & PTM_N_LOCKS;
	int fd, r;

	if (n->nodeid == FS_ROOT_ID) {
		/* The root is the share itself, there already. */
		fs->root->locks_lost = fs->root->locks_lost || locks;
		return 0;
	}
	fd = pt_find_node(l, n);
	r = fd < 0 ? fd : pt_inode_restore(fs, &fd, n->nodeid, n->nlookup, locks);
	if (r == 0)
		return 0;
	if (!fs->cfg.migration_guest_error) {
		log_ratelimited(
			LOG_LEVEL_ERROR,
			"migration: node %llu (%s) cannot be found again: %s; refusing the "
			"state (--migration-on-error=guest-error would give the guest EIO on it "
			"instead)",
			(unsigned long long)n->nodeid, n->flags & PTM_N_PATH ? n->path : "no path",
			strerror(-r));
		return r;
	}
	log_ratelimited(LOG_LEVEL_WARN, "migration: node %llu (%s) lost (%s): the guest gets EIO",
			(unsigned long long)n->nodeid, n->flags & PTM_N_PATH ? n->path : "no path",
			strerror(-r));
	l->broken++;
	r = pt_inode_restore_broken(fs, n->nodeid, n->nlookup, n->type, locks);
	return r == -EEXIST || r == -EINVAL ? pt_load_bad("duplicate node id") : r;
}

static int pt_load_nodes(struct pt_load *l)
{
	_cleanup_free_ struct pt_mnode *n = malloc(sizeof(*n));
	uint32_t count;
	int r;

	l->next_nodeid = sbuf_get_u64(l->r);
	count = sbuf_get_u32(l->r);
	if (!n)
		return -ENOMEM;
	if (l->r->err || l->next_nodeid <= FS_ROOT_ID || l->next_nodeid > PTM_IDS_MAX ||
	    (uint64_t)count * PTM_NODE_MIN > sbuf_remaining(l->r))
		return pt_load_bad("bad node count or next id");
	if (count > PTM_NODES_MAX) {
		log_ratelimited(
			LOG_LEVEL_ERROR,
			"migration: the source has %u nodes, more than the %u a destination takes",
			count, PTM_NODES_MAX);
		return -E2BIG;
	}
	for (uint32_t i = 0; i < count; i++) {
		r = pt_parse_node(l, n);
		if (r == 0)
			r = pt_load_node(l, n);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Host open flags fit for reopening: no creation, no truncation of the file again. */
static int pt_reopen_flags(uint32_t saved)
{
	int f = (int)saved;

	/* glibc's __O_TMPFILE holds O_DIRECTORY's bit: test all of O_TMPFILE. */
	if ((f & O_TMPFILE) == O_TMPFILE)
		f &= ~O_TMPFILE;
	return f & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY | O_PATH | O_NOFOLLOW);
}

static int pt_load_handle(struct pt_load *l)
{
	struct fs_state *fs = l->fs;
	uint64_t fh = sbuf_get_u64(l->r), nodeid = sbuf_get_u64(l->r);
	uint32_t flags = sbuf_get_u32(l->r), hflags = sbuf_get_u32(l->r);
	struct pt_inode *ino;
	int fd = -EIO, r;

	if (l->r->err || fh == 0 || fh >= l->next_fh || (hflags & ~PTM_H_LOCKS) || flags > INT_MAX)
		return pt_load_bad("bad handle");
	r = pt_inode_find(fs, nodeid, &ino);
	if (r < 0)
		return pt_load_bad("a handle of an unknown node");
	if (!ino->broken)
		fd = pt_reopen(fs, ino, pt_reopen_flags(flags));
	if (fd < 0 && !ino->broken && !fs->cfg.migration_guest_error) {
		log_ratelimited(LOG_LEVEL_ERROR,
				"migration: handle %llu of node %llu cannot be reopened: %s",
				(unsigned long long)fh, (unsigned long long)nodeid, strerror(-fd));
		pt_inode_put(fs, ino);
		return fd;
	}
	if (fd < 0)
		l->broken++;
	r = pt_handle_restore(fs, ino, &fd, pt_reopen_flags(flags), fh, hflags & PTM_H_LOCKS);
	pt_inode_put(fs, ino);
	return r == -EEXIST ? pt_load_bad("duplicate handle") : r;
}

static int pt_load_handles(struct pt_load *l)
{
	uint32_t count;
	int r;

	l->next_fh = sbuf_get_u64(l->r);
	count = sbuf_get_u32(l->r);
	if (l->r->err || l->next_fh == 0 || l->next_fh > PTM_IDS_MAX ||
	    (uint64_t)count * PTM_HANDLE_MIN > sbuf_remaining(l->r))
		return pt_load_bad("bad handle count or next handle");
	if (count > PTM_HANDLES_MAX) {
		log_ratelimited(LOG_LEVEL_ERROR,
				"migration: the source has %u open handles, more than the %u a "
				"destination takes",
				count, PTM_HANDLES_MAX);
		return -E2BIG;
	}
	for (uint32_t i = 0; i < count; i++) {
		r = pt_load_handle(l);
		if (r < 0)
			return r;
	}
	return 0;
}

int pt_op_state_load(struct fs_state *fs, struct sbuf_r *r)
{
	struct pt_load l = {.fs = fs, .r = r, .mount_fd = -1};
	int err;

	err = pt_fd_path(fs, fs->root->fd, l.root);
	if (err == 0)
		err = pt_load_nodes(&l);
	if (err == 0)
		err = pt_load_handles(&l);
	safe_close(l.mount_fd);
	if (err < 0)
		return err;
	/* Ids are never reused: new ones start past the source's. */
	pthread_rwlock_wrlock(&fs->inodes_lock);
	fs->next_nodeid = l.next_nodeid;
	pthread_rwlock_unlock(&fs->inodes_lock);
	pthread_rwlock_wrlock(&fs->handles_lock);
	fs->next_fh = l.next_fh;
	pthread_rwlock_unlock(&fs->handles_lock);
	log_ratelimited(LOG_LEVEL_INFO,
			"migration: %zu nodes and %zu open handles restored (%u lost)",
			fs->inodes_by_id.count, fs->handles.count, l.broken);
	return 0;
}
