// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Passthrough backend with a version table: every modifying op moves exactly the slots of the
 * inodes it touched (table-driven, one row per op), ops that change nothing and ops that fail
 * move none, and entries carry the versions the protocol needs (node read before the stat,
 * parent bumped by the creating ops). Slots are computed independently on the host side from
 * the paths, as another daemon or the host watcher would.
 */
#include "pt_test.h"

#include <errno.h>
#include <sys/uio.h>
#include <sys/xattr.h>

#include "coherence/vt.h"
#include "util/macros.h"

static struct tenv t;
static struct vt_table *vt;
static int share_fd;
static char table_dir[64];
/* Node ids and handles the rows use, filled by setup(). */
static uint64_t nd, nd2, nf, ng, fh_f, fh_g;
static struct fs_entry last; /* the entry of the last creating op */

/* Every name a row may touch; a row lists the ones whose slot must move. */
static const char *const names[] = {
	".",	"d",	"d2",  "d/f",	    "d/g", "d/new", "d/fifo", "d/sub",
	"d/sl", "d/hl", "d/x", "d2/victim", "d/a", "d2/b",  "d2/x2",
};
#define NNAMES ARRAY_SIZE(names)

static bool slot_of(const char *name, uint32_t *ret)
{
	return vt_slot_at(vt, share_fd, name, ret) == 0;
}

static uint64_t node(uint64_t parent, const char *name)
{
	return tlookup(&t, parent, name);
}

/* ---- the rows ---- */
/* A change: the version its own bump produced, the mode stat()ed after it. */
static int op_setattr(void)
{
	struct fs_setattr sa = {.valid = FS_SET_MODE, .mode = 0600};
	struct fs_version v = {0};
	struct stat st;
	double to;
	int r;

	r = t.ops->setattr(t.fs, &root_ctx, nf, &sa, &st, NULL, &to, &v);
	CHECK_EQ(v.flags, FS_VER_VALID | FS_VER_BUMPED);
	CHECK_EQ(v.version, vt_read(vt, v.slot));
	CHECK_EQ(st.st_mode & 07777, 0600);
	return r;
}

/* Nothing to change: nothing bumped, no version. */
static int op_setattr_nothing(void)
{
	struct fs_setattr sa = {.valid = 0};
	struct fs_version v = {0};
	struct stat st;
	double to;
	int r;

	r = t.ops->setattr(t.fs, &root_ctx, nf, &sa, &st, NULL, &to, &v);
	CHECK_EQ(v.flags, 0);
	return r;
}

static int op_write(void)
{
	struct iovec iov = {"hello", 5};
	struct fs_version v = {0};

	if (t.ops->write(t.fs, &root_ctx, nf, fh_f, &iov, 1, 0, 0, &v) != 5)
		return -EIO;
	CHECK_EQ(v.flags, FS_VER_VALID | FS_VER_BUMPED);
	return 0;
}

static int op_read(void)
{
	char buf[8];
	struct iovec iov = {buf, sizeof(buf)};

	return t.ops->read(t.fs, &root_ctx, nf, fh_f, &iov, 1, 0) >= 0 ? 0 : -EIO;
}

/* The version an own change returns: its own bump of name's slot, the counter's value now. */
static void check_own_bump(const struct fs_version *v, const char *name)
{
	uint32_t s;

	CHECK(slot_of(name, &s));
	CHECK_EQ(v->flags, FS_VER_VALID | FS_VER_BUMPED);
	CHECK_EQ(v->slot, s);
	CHECK_EQ(v->version, vt_read(vt, s));
}

static int op_fallocate(void)
{
	struct fs_version v = {0};
	int r = t.ops->fallocate(t.fs, &root_ctx, nf, fh_f, 0, 0, 8192, &v);

	if (r == 0)
		check_own_bump(&v, "d/f");
	return r;
}

/* The destination's version, not the source's. */
static int op_copy(void)
{
	struct fs_version v = {0};

	if (t.ops->copy_file_range(t.fs, &root_ctx, nf, fh_f, 0, ng, fh_g, 0, 5, 0, &v) != 5)
		return -EIO;
	check_own_bump(&v, "d/g");
	return 0;
}

static int op_open_trunc(void)
{
	uint64_t fh;
	uint32_t of;
	int r = t.ops->open(t.fs, &root_ctx, ng, O_RDWR | O_TRUNC, &fh, &of);

	if (r == 0)
		t.ops->release(t.fs, &root_ctx, ng, fh);
	return r;
}

static int op_create(void)
{
	uint64_t fh;
	uint32_t of;
	int r = t.ops->create(t.fs, &root_ctx, nd, "new", 0644, O_RDWR, 0, &last, &fh, &of);

	if (r == 0)
		t.ops->release(t.fs, &root_ctx, last.nodeid, fh);
	return r;
}

static int op_mknod(void)
{
	return t.ops->mknod(t.fs, &root_ctx, nd, "fifo", S_IFIFO | 0644, 0, 0, &last);
}

static int op_mkdir(void)
{
	return t.ops->mkdir(t.fs, &root_ctx, nd, "sub", 0755, 0, &last);
}

static int op_symlink(void)
{
	return t.ops->symlink(t.fs, &root_ctx, nd, "sl", "f", &last);
}

static int op_link(void)
{
	return t.ops->link(t.fs, &root_ctx, nf, nd, "hl", &last);
}

static int op_tmpfile(void)
{
	uint64_t fh;
	uint32_t of;
	int r = t.ops->tmpfile(t.fs, &root_ctx, nd, 0644, O_RDWR, 0, &last, &fh, &of);

	if (r == 0)
		t.ops->release(t.fs, &root_ctx, last.nodeid, fh);
	return r;
}

static int op_unlink(void)
{
	struct fs_version v[FS_REMOVE_VERS] = {0};
	int r = t.ops->unlink(t.fs, &root_ctx, nd, "hl", v);

	/* d/f keeps its other name: its own bump is reported with the directory's. */
	CHECK_EQ(v[0].flags, FS_VER_VALID | FS_VER_BUMPED);
	CHECK_EQ(v[FS_REMOVE_NODE].flags, FS_VER_VALID | FS_VER_BUMPED);
	return r;
}

static int op_unlink_missing(void)
{
	return t.ops->unlink(t.fs, &root_ctx, nd, "nothing", NULL) == -ENOENT ? 0 : -EIO;
}

static int op_rmdir(void)
{
	return t.ops->rmdir(t.fs, &root_ctx, nd, "sub", NULL);
}

static int op_rename_replace(void)
{
	struct fs_version v[FS_REMOVE_VERS] = {0};
	int r = t.ops->rename(t.fs, &root_ctx, nd, "x", nd2, "victim", 0, v);

	/* The replaced file had no other link: no node. */
	CHECK_EQ(v[1].flags, FS_VER_VALID | FS_VER_BUMPED);
	CHECK_EQ(v[FS_REMOVE_NODE].flags, 0);
	return r;
}

static int op_rename_exchange(void)
{
	return t.ops->rename(t.fs, &root_ctx, nd, "a", nd2, "b", RENAME_EXCHANGE, NULL);
}

static int op_rename_noreplace(void)
{
	return t.ops->rename(t.fs, &root_ctx, nd2, "victim", nd2, "x2", RENAME_NOREPLACE, NULL);
}

static int op_setxattr(void)
{
	return t.ops->setxattr(t.fs, &root_ctx, nf, "user.k", "v", 1, 0);
}

static int op_removexattr(void)
{
	return t.ops->removexattr(t.fs, &root_ctx, nf, "user.k");
}

static int op_getattr_lookup(void)
{
	struct stat st;
	double to;

	return t.ops->getattr(t.fs, &root_ctx, nf, false, 0, &st, NULL, &to) == 0 && node(nd, "g")
		       ? 0
		       : -EIO;
}

struct row {
	const char *what;
	int (*op)(void);
	const char *moved[5]; /* names (that exist after the op) whose slot must move */
	bool creates;	      /* `last` is the new entry: versions checked */
};

static const struct row rows[] = {
	{"SETATTR", op_setattr, {"d/f"}},
	{"SETATTR (nothing)", op_setattr_nothing, {NULL}},
	{"WRITE", op_write, {"d/f"}},
	{"READ", op_read, {NULL}},
	{"FALLOCATE", op_fallocate, {"d/f"}},
	{"COPY_FILE_RANGE", op_copy, {"d/g"}},
	{"OPEN O_TRUNC", op_open_trunc, {"d/g"}},
	{"CREATE", op_create, {"d", "d/new"}, true},
	{"MKNOD", op_mknod, {"d", "d/fifo"}, true},
	{"MKDIR", op_mkdir, {"d", "d/sub"}, true},
	{"SYMLINK", op_symlink, {"d", "d/sl"}, true},
	{"LINK", op_link, {"d", "d/f", "d/hl"}, true},
	{"TMPFILE", op_tmpfile, {"d"}, true},
	{"UNLINK", op_unlink, {"d", "d/f"}},
	{"UNLINK (missing)", op_unlink_missing, {NULL}},
	{"RMDIR", op_rmdir, {"d"}}, /* and the removed directory: checked below */
	{"RENAME (replacing)", op_rename_replace, {"d", "d2", "d2/victim"}},
	{"RENAME2 EXCHANGE", op_rename_exchange, {"d", "d2", "d/a", "d2/b"}},
	{"RENAME2 NOREPLACE", op_rename_noreplace, {"d2", "d2/x2"}},
	{"SETXATTR", op_setxattr, {"d/f"}},
	{"REMOVEXATTR", op_removexattr, {"d/f"}},
	{"GETATTR+LOOKUP", op_getattr_lookup, {NULL}},
};

static bool listed(const struct row *r, const char *name)
{
	for (unsigned i = 0; i < ARRAY_SIZE(r->moved) && r->moved[i]; i++)
		if (!strcmp(r->moved[i], name))
			return true;
	return false;
}

static void run_row(const struct row *r)
{
	uint32_t slot[NNAMES], s;
	bool had[NNAMES];
	uint64_t before[NNAMES];
	int res;

	for (unsigned i = 0; i < NNAMES; i++) {
		had[i] = slot_of(names[i], &slot[i]);
		before[i] = had[i] ? vt_read(vt, slot[i]) : 0;
	}
	memset(&last, 0, sizeof(last));
	res = r->op();
	if (res != 0)
		fprintf(stderr, "%s: %d\n", r->what, res);
	CHECK_EQ(res, 0);
	for (unsigned i = 0; i < NNAMES; i++) {
		bool moved, exists = slot_of(names[i], &s);

		if (had[i]) {
			/* The inode that had the name before (for a renamed-over or removed
			 * name, the victim). */
			moved = vt_read(vt, slot[i]) != before[i];
			if (moved != (listed(r, names[i]) || (!exists && res == 0))) {
				fprintf(stderr, "%s: %s %s\n", r->what, names[i],
					moved ? "moved" : "did not move");
				CHECK(0);
			}
		} else if (exists) {
			/* A new name: new inodes (or a moved one) must have moved. */
			CHECK(listed(r, names[i]));
		}
	}
	if (r->creates) {
		uint32_t ps;

		CHECK(slot_of("d", &ps));
		CHECK_EQ(last.parent_ver.flags, FS_VER_VALID | FS_VER_BUMPED);
		CHECK_EQ(last.parent_ver.slot, ps);
		CHECK_EQ(last.parent_ver.version, vt_read(vt, ps));
		CHECK_EQ(last.ver.flags, FS_VER_VALID | FS_VER_BUMPED);
		CHECK_EQ(last.ver.version, vt_read(vt, last.ver.slot));
		if (r->moved[1]) {
			CHECK(slot_of(r->moved[1], &s));
			CHECK_EQ(last.ver.slot, s);
		}
	}
}

/* A lookup's versions are the current ones, read before its stat; a version() agrees. */
static void test_lookup_versions(void)
{
	struct fs_entry e;
	struct fs_version v;
	uint32_t sf, sd;

	CHECK(slot_of("d/f", &sf));
	CHECK(slot_of("d", &sd));
	CHECK_EQ(t.ops->lookup(t.fs, &root_ctx, nd, "f", &e), 0);
	CHECK_EQ(e.ver.flags, FS_VER_VALID);
	CHECK_EQ(e.ver.slot, sf);
	CHECK_EQ(e.ver.version, vt_read(vt, sf));
	CHECK_EQ(e.parent_ver.flags, FS_VER_VALID);
	CHECK_EQ(e.parent_ver.slot, sd);
	CHECK_EQ(e.parent_ver.version, vt_read(vt, sd));
	t.ops->forget(t.fs, e.nodeid, 1);
	CHECK_EQ(t.ops->version(t.fs, nf, &v), 0);
	CHECK_EQ(v.slot, sf);
	CHECK_EQ(v.version, vt_read(vt, sf));
	CHECK_EQ(t.ops->version(t.fs, 123456, &v), -ENOENT);
	/* A change on the host, as the watcher reports it, is what the next version shows. */
	vt_bump(vt, sf);
	CHECK_EQ(t.ops->version(t.fs, nf, &v), 0);
	CHECK_EQ(v.version, vt_read(vt, sf));
}

/* ---- an inotify-style watch (pt_config.vt_watch_dir) ---- */

static unsigned watch_calls;
static int watch_result;

/* Records the call; like a host change racing the lookup, it bumps the directory's slot, so a
 * version read before the call would be stale. */
static int fake_watch_dir(void *opaque, int dirfd)
{
	struct stat st;
	uint32_t s;

	CHECK(opaque == &watch_calls);
	CHECK(fstat(dirfd, &st) == 0 && S_ISDIR(st.st_mode));
	watch_calls++;
	if (vt_slot_at(vt, dirfd, NULL, &s) == 0)
		vt_bump(vt, s);
	return watch_result;
}

/*
 * Every directory is given to the watch once, when first instantiated, before its version is
 * read; files are not. A directory the watch refuses (-ENOSPC: max_user_watches) gets no
 * versions (the guest uses timeouts for it) but its changes still bump the table for others.
 */
static void test_watch_dir_hook(void)
{
	struct pt_config cfg = tenv_default_config();
	struct tenv w = {0};
	struct fs_entry e, x;
	struct fs_version v;
	uint32_t s = 0;
	uint64_t before, nw, nfull;

	cfg.vt = vt;
	cfg.vt_watch_dir = fake_watch_dir;
	cfg.vt_watch_opaque = &watch_calls;
	CHECK_EQ(tenv_init(&w, &cfg), 0);
	CHECK_EQ(watch_calls, 1); /* the root */
	CHECK_EQ(mkdir(tpath(&w, "wd"), 0755), 0);
	CHECK_EQ(mkdir(tpath(&w, "full"), 0755), 0);
	thost_write(&w, "wd/f", "f", 0644);

	CHECK_EQ(w.ops->lookup(w.fs, &root_ctx, FS_ROOT_ID, "wd", &e), 0);
	nw = e.nodeid;
	CHECK_EQ(watch_calls, 2);
	CHECK_EQ(e.ver.flags, FS_VER_VALID);
	CHECK_EQ(e.ver.version, vt_read(vt, e.ver.slot)); /* read after the hook's bump */
	CHECK_EQ(w.ops->lookup(w.fs, &root_ctx, FS_ROOT_ID, "wd", &e), 0);
	CHECK_EQ(w.ops->lookup(w.fs, &root_ctx, nw, "f", &x), 0);
	CHECK_EQ(watch_calls, 2); /* known directory, and a file: no call */
	CHECK_EQ(x.parent_ver.flags, FS_VER_VALID);
	CHECK_EQ(w.ops->mkdir(w.fs, &root_ctx, nw, "sub", 0755, 0, &x), 0);
	CHECK_EQ(watch_calls, 3); /* a new directory is given before its version is taken */
	CHECK_EQ(x.ver.flags, FS_VER_VALID | FS_VER_BUMPED);

	watch_result = -ENOSPC;
	CHECK_EQ(w.ops->lookup(w.fs, &root_ctx, FS_ROOT_ID, "full", &e), 0);
	nfull = e.nodeid;
	CHECK_EQ(watch_calls, 4);
	CHECK_EQ(e.ver.flags, 0);
	CHECK_EQ(e.parent_ver.flags, FS_VER_VALID);
	CHECK_EQ(w.ops->version(w.fs, nfull, &v), 0);
	CHECK_EQ(v.flags, 0);
	{
		int fd = open(w.dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

		CHECK(fd >= 0 && vt_slot_at(vt, fd, "full", &s) == 0);
		close(fd);
	}
	before = vt_read(vt, s);
	CHECK_EQ(w.ops->mkdir(w.fs, &root_ctx, nfull, "in", 0755, 0, &x), 0);
	CHECK_EQ(watch_calls, 5); /* "in" refused too */
	CHECK_EQ(x.parent_ver.flags, 0);
	CHECK_EQ(x.ver.flags, 0);
	CHECK_EQ(vt_read(vt, s), before + 1); /* still bumped for other daemons */
	CHECK_EQ(w.ops->lookup(w.fs, &root_ctx, nfull, "nothing", &x), -ENOENT);
	CHECK_EQ(w.ops->lookup(w.fs, &root_ctx, FS_ROOT_ID, "full", &e), 0);
	CHECK_EQ(watch_calls, 5); /* stays unversioned while known */
	CHECK_EQ(e.ver.flags, 0);
	watch_result = 0;
	tenv_done(&w);

	/* The watch holds an fd per directory: a quarter of the fd budget, then timeouts. */
	cfg = tenv_default_config();
	cfg.vt = vt;
	cfg.vt_watch_dir = fake_watch_dir;
	cfg.vt_watch_opaque = &watch_calls;
	cfg.max_guest_fds = 8;
	watch_calls = 0;
	CHECK_EQ(tenv_init(&w, &cfg), 0);
	CHECK_EQ(watch_calls, 1); /* the root, which the watch has from the start anyway */
	for (int i = 0; i < 3; i++) {
		char name[8];

		snprintf(name, sizeof(name), "c%d", i);
		CHECK_EQ(mkdir(tpath(&w, name), 0755), 0);
		CHECK_EQ(w.ops->lookup(w.fs, &root_ctx, FS_ROOT_ID, name, &e), 0);
		CHECK_EQ(watch_calls, (unsigned)MIN(i + 2, 3));
		CHECK_EQ(e.ver.flags, i < 2 ? FS_VER_VALID : 0);
	}
	tenv_done(&w);
}

/* ---- victims of UNLINK and RENAME: known to the daemon or not ---- */

/* The slot of a name in e's share, computed on the host side from its path. */
static uint32_t host_slot(struct tenv *e, const char *name)
{
	uint32_t s = 0;

	CHECK_EQ(vt_slot_at(vt, AT_FDCWD, tpath(e, name), &s), 0);
	return s;
}

/* A file `victim` with a second name `keep` (so that its removal reports its own bump), looked
 * up by the guest or not, and with `evict` its cached fd pushed out by a fresh inode's (a cache
 * of one). Returns its node id (0: not looked up) and its slot computed on the host side. */
static uint64_t make_victim(struct tenv *e, uint64_t dir, const char *victim, const char *keep,
			    bool looked, bool evict, uint32_t *ret_slot)
{
	static unsigned fresh;
	char path[PATH_MAX * 2], name[16];
	uint64_t node = 0;

	thost_write(e, victim, "V", 0644);
	snprintf(path, sizeof(path), "%s", tpath(e, victim));
	CHECK_EQ(link(path, tpath(e, keep)), 0);
	if (looked)
		CHECK((node = tlookup(e, dir, victim)) != 0);
	if (evict) {
		uint64_t other;

		snprintf(name, sizeof(name), "fresh%u", fresh++);
		thost_write(e, name, "F", 0644);
		CHECK((other = tlookup(e, dir, name)) != 0);
		e->ops->forget(e->fs, other, 1);
	}
	*ret_slot = host_slot(e, victim);
	return node;
}

static void check_victim_bump(const struct fs_version *v, uint32_t slot)
{
	CHECK_EQ(v[FS_REMOVE_NODE].flags, FS_VER_VALID | FS_VER_BUMPED);
	CHECK_EQ(v[FS_REMOVE_NODE].slot, slot);
	CHECK_EQ(v[FS_REMOVE_NODE].version, vt_read(vt, slot));
}

/* The victim's reported bump is exactly the slot the host computes for it, and the version it
 * left there, whether the guest looked it up (the daemon's cached slot), never looked it up
 * (its handle) or looked it up and the fd cache evicted it since (`evict`). */
static void check_victims(struct tenv *e, uint64_t dir, bool evict)
{
	for (int looked = 0; looked < 2; looked++) {
		struct fs_version v[FS_REMOVE_VERS] = {0};
		uint32_t s, ss;
		uint64_t node, before;

		/* UNLINK of one of two names. */
		node = make_victim(e, dir, "u", "u.keep", looked, evict, &s);
		CHECK_EQ(e->ops->unlink(e->fs, &root_ctx, dir, "u", v), 0);
		check_victim_bump(v, s);
		CHECK_EQ(s, host_slot(e, "u.keep"));
		CHECK_EQ(unlink(tpath(e, "u.keep")), 0);
		if (node)
			e->ops->forget(e->fs, node, 1);

		/* RENAME over one of two names; the moved file's slot moves too. */
		memset(v, 0, sizeof(v));
		thost_write(e, "src", "S", 0644);
		ss = host_slot(e, "src");
		before = vt_read(vt, ss);
		node = make_victim(e, dir, "r", "r.keep", looked, evict, &s);
		CHECK_EQ(e->ops->rename(e->fs, &root_ctx, dir, "src", dir, "r", 0, v), 0);
		CHECK(vt_read(vt, ss) != before);
		check_victim_bump(v, s);
		CHECK_EQ(unlink(tpath(e, "r.keep")), 0);
		CHECK_EQ(unlink(tpath(e, "r")), 0);
		if (node)
			e->ops->forget(e->fs, node, 1);
	}
}

static void test_victims(void)
{
	struct pt_config cfg = tenv_default_config();
	struct tenv h;

	check_victims(&t, FS_ROOT_ID, false);
	/* Inodes held by file handle, with room for a single cached fd. */
	cfg.vt = vt;
	cfg.inode_file_handles = PT_INODE_FH_MANDATORY;
	cfg.fd_cache_size = 1;
	CHECK_EQ(tenv_init(&h, &cfg), 0);
	check_victims(&h, FS_ROOT_ID, false);
	check_victims(&h, FS_ROOT_ID, true);
	tenv_done(&h);
}

static void setup(void)
{
	struct pt_config cfg = tenv_default_config();
	struct vt_config vc = {.nslots = 1u << 20};
	char path[128];
	uint32_t of;

	snprintf(table_dir, sizeof(table_dir), "/dev/shm/vfsd-pt-vt-XXXXXX");
	CHECK(mkdtemp(table_dir) != NULL);
	snprintf(path, sizeof(path), "%s/table", table_dir);
	vc.path = path;
	snprintf(t.dir, sizeof(t.dir), "/tmp/vfsd-pt-test-XXXXXX");
	CHECK(mkdtemp(t.dir) != NULL);
	share_fd = open(t.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK_EQ(vt_open(&vc, share_fd, &vt), 0);
	cfg.vt = vt;
	cfg.shared_dir = t.dir;
	CHECK_EQ(pt_new(&cfg, &t.be), 0);
	t.ops = t.be.ops;
	t.fs = t.be.fs;
	{
		struct fs_init_info info = {0};

		CHECK_EQ(t.ops->init(t.fs, &info), 0);
	}
	CHECK_EQ(mkdir(tpath(&t, "d"), 0755), 0);
	CHECK_EQ(mkdir(tpath(&t, "d2"), 0755), 0);
	thost_write(&t, "d/f", "F", 0644);
	thost_write(&t, "d/g", "G", 0644);
	thost_write(&t, "d/x", "X", 0644);
	thost_write(&t, "d/a", "A", 0644);
	thost_write(&t, "d2/b", "B", 0644);
	thost_write(&t, "d2/victim", "V", 0644);
	nd = node(FS_ROOT_ID, "d");
	nd2 = node(FS_ROOT_ID, "d2");
	nf = node(nd, "f");
	ng = node(nd, "g");
	CHECK_EQ(t.ops->open(t.fs, &root_ctx, nf, O_RDWR, &fh_f, &of), 0);
	CHECK_EQ(t.ops->open(t.fs, &root_ctx, ng, O_RDWR, &fh_g, &of), 0);
	/* The rows assume distinct slots (1 in ~10^4 chance of a collision here). */
	for (unsigned i = 0; i < NNAMES; i++)
		for (unsigned j = 0; j < i; j++) {
			uint32_t a, b;

			if (slot_of(names[i], &a) && slot_of(names[j], &b))
				CHECK(a != b);
		}
}

/* A FALLOCATE or COPY_FILE_RANGE that fails bumps nothing and returns no version. */
static void test_own_range_failures(void)
{
	struct fs_version v = {0};
	uint32_t sf, sg;
	uint64_t vf, vg;

	CHECK(slot_of("d/f", &sf));
	CHECK(slot_of("d/g", &sg));
	vf = vt_read(vt, sf);
	vg = vt_read(vt, sg);
	/* An empty range (EINVAL from the host's fallocate). */
	CHECK_EQ(t.ops->fallocate(t.fs, &root_ctx, nf, fh_f, 0, 0, 0, &v), -EINVAL);
	CHECK_EQ(t.ops->copy_file_range(t.fs, &root_ctx, nf, fh_f, 0, ng, fh_g + 1000, 0, 5, 0, &v),
		 -EBADF);
	CHECK_EQ(v.flags, 0);
	CHECK_EQ(v.version, 0);
	CHECK_EQ(vt_read(vt, sf), vf);
	CHECK_EQ(vt_read(vt, sg), vg);
}

int main(void)
{
	char cmd[160];

	setup();
	test_lookup_versions();
	test_watch_dir_hook();
	test_victims();
	test_own_range_failures();
	for (unsigned i = 0; i < ARRAY_SIZE(rows); i++)
		run_row(&rows[i]);
	/* The root has a slot too, and its changes move it. */
	{
		struct fs_entry e;
		uint32_t s;
		uint64_t v;

		CHECK(slot_of(".", &s));
		v = vt_read(vt, s);
		CHECK_EQ(t.ops->mkdir(t.fs, &root_ctx, FS_ROOT_ID, "top", 0755, 0, &e), 0);
		CHECK_EQ(vt_read(vt, s), v + 1);
		CHECK_EQ(e.parent_ver.slot, s);
	}
	t.ops->release(t.fs, &root_ctx, nf, fh_f);
	t.ops->release(t.fs, &root_ctx, ng, fh_g);
	tenv_done(&t);
	vt_close(vt);
	close(share_fd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", table_dir);
	CHECK_EQ(system(cmd), 0);
	return check_report("passthrough-vt");
}
