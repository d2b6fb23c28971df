/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Device state for live migration (docs/migration.md), driven as QEMU 11.1 drives it: on the
 * source the rings stop (GET_VRING_BASE), then SET_DEVICE_STATE_FD(SAVE) and
 * CHECK_DEVICE_STATE; a second, fresh daemon on the same share is the destination, which gets
 * SET_DEVICE_STATE_FD(LOAD) and CHECK_DEVICE_STATE right after SET_OWNER and RESET_DEVICE,
 * before features, memory and rings, and then serves the guest's old node ids and file handles
 * with no FUSE_INIT.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "hostile.h"
#include "util/macros.h"

#define PROTO_MIG (1ull << VHU_PROTO_DEVICE_STATE | 1ull << VHU_PROTO_LOG_SHMFD)

static void mig_opts(struct fe_options *o)
{
	*o = (struct fe_options){0};
	fe_options_default(o);
	o->protocol_features |= PROTO_MIG;
}

/* A fresh source daemon with `flags`, connected and INIT done. */
static bool source_start(struct th *t, const char *const *flags)
{
	struct fe_options o;

	mig_opts(&o);
	t->extra_flags = flags;
	T_OK(t, th_reconnect(t, &o));
	t->extra_flags = NULL;
	return t->fe != NULL;
}

/* Rings stopped, then the state saved; the CHECK answer must be success. */
static void *source_save(struct th *t, size_t *ret_len)
{
	void *blob = NULL;
	uint64_t set = ~0ull, check = ~0ull;

	T_OK(t, fe_stop(t->fe));
	T_OK(t, fe_state_save(t->fe, &blob, ret_len, &set, &check));
	T_EQ(t, set & 0xff, 0);
	T_CHECK(t, set & (1ull << 8)); /* no fd of the daemon's: QEMU's pipe is used */
	T_EQ(t, check, 0);
	T_CHECK(t, blob && *ret_len > 16);
	return blob;
}

/* A second daemon on the same share (its own socket), loading `blob` as QEMU's destination. */
struct dst {
	struct th th;
};

static uint64_t dst_start(struct th *t, struct dst *d, const char *const *flags, const void *blob,
			  size_t len)
{
	struct fe_options o;

	d->th = *t;
	d->th.fe = NULL;
	d->th.daemon = 0;
	d->th.extra_flags = flags;
	snprintf(d->th.sock, sizeof(d->th.sock), "%s/dst.sock", t->dir);
	mig_opts(&o);
	o.incoming_state = blob;
	o.incoming_len = len;
	if (th_daemon_start(&d->th) < 0 || th_connect(&d->th, &o) < 0) {
		th_fail(t, __FILE__, __LINE__, "destination daemon did not start");
		return ~0ull;
	}
	return fe_state_check(d->th.fe);
}

/* The destination daemon must still be running, then it is stopped and must exit cleanly. */
static void dst_stop(struct th *t, struct dst *d)
{
	int st;

	fe_free(d->th.fe);
	d->th.fe = NULL;
	if (d->th.daemon <= 0)
		return;
	T_CHECK(t, kill(d->th.daemon, 0) == 0);
	st = th_daemon_wait(&d->th, 5000); /* exits when its frontend leaves */
	if (st == -ETIMEDOUT) {
		kill(d->th.daemon, SIGKILL);
		th_daemon_wait(&d->th, 3000);
		th_fail(t, __FILE__, __LINE__, "destination did not exit");
		return;
	}
	T_CHECK(t, WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static bool dirent_has(const void *buf, int len, const char *name)
{
	for (int off = 0; off + (int)FUSE_NAME_OFFSET <= len;) {
		const struct fuse_dirent *d = (const void *)((const char *)buf + off);

		if (d->namelen == strlen(name) && !memcmp(d->name, name, d->namelen))
			return true;
		off += (int)FUSE_DIRENT_SIZE(d);
	}
	return false;
}

struct src_state {
	uint64_t dir, file, fh, dfh, sub;
	char dname[64], fname[64];
};

/* A directory with two files, one open with data written, the directory open. */
static void populate(struct th *t, struct src_state *s)
{
	struct fuse_entry_out e;
	struct fuse_open_out oo;

	snprintf(s->dname, sizeof(s->dname), "%s", th_name(t, "mdir"));
	T_OK(t, fe_mkdir(t->fe, FE_ROOT_ID, s->dname, 0755, 022, &e));
	s->dir = e.nodeid;
	snprintf(s->fname, sizeof(s->fname), "%s", "held");
	T_OK(t, th_create(t, s->dir, s->fname, &s->file, &s->fh));
	T_EQ(t, fe_write(t->fe, s->file, s->fh, 0, "hello, destination", 18, 0), 18);
	T_OK(t, fe_create(t->fe, s->dir, "other", O_RDWR, S_IFREG | 0644, 022, &e, &oo));
	s->sub = e.nodeid;
	T_OK(t, fe_release(t->fe, s->sub, oo.fh, 0));
	T_OK(t, fe_opendir(t->fe, s->dir, &oo));
	s->dfh = oo.fh;
}

/* On the destination, no INIT: the old ids work. */
static void check_continues(struct th *t, struct fe *fe, const struct src_state *s)
{
	struct fuse_attr_out a;
	struct fuse_entry_out e;
	char buf[4096];
	int n;

	T_OK(t, fe_getattr(fe, s->file, NULL, &a));
	T_EQ(t, a.attr.size, 18);
	n = fe_read(fe, s->file, s->fh, 0, buf, sizeof(buf));
	T_EQ(t, n, 18);
	T_CHECK(t, n == 18 && !memcmp(buf, "hello, destination", 18));
	/* The handle was opened O_RDWR: still writable, at the same place. */
	T_EQ(t, fe_write(fe, s->file, s->fh, 18, "!", 1, 0), 1);
	n = fe_readdir(fe, s->dir, s->dfh, 0, buf, sizeof(buf));
	if (n <= 0)
		th_fail(t, __FILE__, __LINE__, "readdir through the old handle: %d", n);
	T_CHECK(t, n > 0 && dirent_has(buf, n, "held") && dirent_has(buf, n, "other"));
	T_OK(t, fe_getattr(fe, s->sub, NULL, &a));
	/* New ids start past the source's: a new lookup does not reuse one. */
	T_OK(t, fe_create(fe, s->dir, "new", O_RDWR, S_IFREG | 0644, 022, &e,
			  &(struct fuse_open_out){0}));
	T_CHECK(t, e.nodeid > s->sub && e.nodeid != s->dir && e.nodeid != s->file);
	/* Lookup counts came along: the node is known by its old id until the guest forgets. */
	T_OK(t, fe_lookup(fe, s->dir, "held", &e));
	T_EQ(t, e.nodeid, s->file);
	T_OK(t, fe_releasedir(fe, s->dir, s->dfh));
	T_OK(t, fe_release(fe, s->file, s->fh, 0));
}

/* SAVE on a source with nodes and handles open, LOAD into a fresh daemon, requests go on.
 * Also with inodes held by file handle (--inode-file-handles) on both sides, and with the
 * migration's file handles. */
static void save_load_case(struct th *t, const char *const *flags)
{
	struct src_state s;
	struct dst d;
	size_t len = 0;
	void *blob;

	if (!source_start(t, flags))
		return;
	T_CHECK(t, fe_protocol_features(t->fe) & (1ull << VHU_PROTO_DEVICE_STATE));
	populate(t, &s);
	blob = source_save(t, &len);
	if (!blob)
		return;
	T_EQ(t, dst_start(t, &d, flags, blob, len), 0);
	if (d.th.fe)
		check_continues(t, d.th.fe, &s);
	dst_stop(t, &d);
	free(blob);
}

static void test_save_load_continues(struct th *t)
{
	static const char *const ifh[] = {"--inode-file-handles=mandatory", NULL};
	static const char *const both[] = {"--inode-file-handles=prefer",
					   "--migration-mode=file-handles", NULL};

	save_load_case(t, NULL);
	save_load_case(t, ifh);
	save_load_case(t, both);
	T_OK(t, th_reconnect(t, NULL));
}

/* The source after a failed or cancelled migration: rings restarted, everything still there;
 * a second SAVE is as good as the first. */
static void test_source_continues_after_cancel(struct th *t)
{
	struct src_state s;
	struct fuse_attr_out a;
	size_t len = 0, len2 = 0;
	void *blob, *blob2 = NULL;
	uint64_t set, check;
	char buf[64];
	struct dst d;

	if (!source_start(t, NULL))
		return;
	populate(t, &s);
	blob = source_save(t, &len);
	T_OK(t, fe_resume(t->fe));
	T_OK(t, fe_getattr(t->fe, s.file, &s.fh, &a));
	T_EQ(t, fe_read(t->fe, s.file, s.fh, 0, buf, sizeof(buf)), 18);
	T_CHECK(t, fe_readdir(t->fe, s.dir, s.dfh, 0, buf, sizeof(buf)) > 0);
	T_OK(t, fe_stop(t->fe));
	T_OK(t, fe_state_save(t->fe, &blob2, &len2, &set, &check));
	T_EQ(t, check, 0);
	T_EQ(t, len2, len);
	/* The second state is the one that migrates. */
	T_EQ(t, dst_start(t, &d, NULL, blob2, len2), 0);
	if (d.th.fe)
		check_continues(t, d.th.fe, &s);
	dst_stop(t, &d);
	free(blob);
	free(blob2);
	T_OK(t, th_reconnect(t, NULL));
}

/*
 * A state that is refused: CHECK_DEVICE_STATE reports failure, and the destination daemon
 * lives on with no session (a guest INIT would start one).
 */
static void expect_refused(struct th *t, const char *const *flags, const void *blob, size_t len,
			   const char *what)
{
	struct fuse_attr_out a;
	struct dst d;
	uint64_t check = dst_start(t, &d, flags, blob, len);

	if (check == 0)
		th_fail(t, __FILE__, __LINE__, "%s: state accepted", what);
	if (d.th.fe) {
		T_CHECK(t, fe_getattr(d.th.fe, FE_ROOT_ID, NULL, &a) < 0); /* no session */
		T_OK(t, fe_init(d.th.fe, 38, th_init_flags()));
		T_OK(t, fe_getattr(d.th.fe, FE_ROOT_ID, NULL, &a));
	}
	dst_stop(t, &d);
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

/* Truncated and corrupted states: every prefix, and bytes flipped in every field. */
static void test_corrupt_refused(struct th *t)
{
	struct src_state s;
	size_t len = 0;
	uint8_t *blob, *bad;

	if (!source_start(t, NULL))
		return;
	populate(t, &s);
	blob = source_save(t, &len);
	if (!blob)
		return;
	bad = malloc(len + 8);
	T_CHECK(t, bad != NULL);
	if (!bad)
		return;
	/* Truncated: in the header, in the session section, in the node table, one byte short. */
	static const size_t cuts[] = {0, 7, 20, 40, 64, 100};
	for (size_t i = 0; i < ARRAY_SIZE(cuts); i++)
		if (cuts[i] < len)
			expect_refused(t, NULL, blob, cuts[i], "truncated");
	expect_refused(t, NULL, blob, len - 1, "one byte short");
	/* Trailing garbage. */
	memcpy(bad, blob, len);
	memset(bad + len, 0xa5, 8);
	expect_refused(t, NULL, bad, len + 8, "trailing bytes");
	/* Wrong magic, version, section tag. */
	memcpy(bad, blob, len);
	bad[0] ^= 0xff;
	expect_refused(t, NULL, bad, len, "magic");
	memcpy(bad, blob, len);
	put32(bad + 8, 99);
	expect_refused(t, NULL, bad, len, "version");
	memcpy(bad, blob, len);
	put32(bad + 16, 7);
	expect_refused(t, NULL, bad, len, "section tag");
	/* The session's flags: one this daemon never offers (FUSE_PASSTHROUGH, bit 37). */
	memcpy(bad, blob, len);
	bad[16 + 16 + 8 + 4] |= 1u << 5;
	expect_refused(t, NULL, bad, len, "INIT flags");
	/* max_write below a page, and above ours (1 MiB): refused, and the log says which. */
	for (uint32_t mw = 1024; mw <= (4u << 20); mw += (4u << 20) - 1024) {
		char needle[64];
		long off = th_log_size(t);

		memcpy(bad, blob, len);
		put32(bad + 16 + 16 + 4 + 4 + 8, mw);
		expect_refused(t, NULL, bad, len, "max_write");
		snprintf(needle, sizeof(needle), "the source's max_write %u is ", mw);
		T_EQ(t, th_log_count(t, off, needle, mw < 4096 ? "below 4096" : "above ours"), 1);
	}
	free(bad);
	free(blob);
	T_OK(t, th_reconnect(t, NULL));
}

/* Hand-made hostile states: counts far beyond the bytes, paths out of the share. */
struct hbuf {
	uint8_t b[8192];
	size_t n;
};

static void h32(struct hbuf *h, uint32_t v)
{
	memcpy(h->b + h->n, &v, 4);
	h->n += 4;
}

static void h64(struct hbuf *h, uint64_t v)
{
	memcpy(h->b + h->n, &v, 8);
	h->n += 8;
}

static void hbytes(struct hbuf *h, const void *p, uint32_t n)
{
	h32(h, n);
	memcpy(h->b + h->n, p, n);
	h->n += n;
}

/* A count with the next id before it (the node and handle tables' heads). */
static void hcount(struct hbuf *h, uint64_t next, uint32_t count)
{
	h64(h, next);
	h32(h, count);
}

/* A node's fixed fields: id, lookup count, type, flags. */
static void hnode(struct hbuf *h, uint64_t id, uint64_t nlookup, uint32_t type, uint32_t flags)
{
	h64(h, id);
	h64(h, nlookup);
	h32(h, type);
	h32(h, flags);
}

/* Header and a session section like a 7.38 guest's with no optional flag; the backend section's
 * length is patched by hostile_end(). Returns the offset of that length. */
static size_t hostile_begin(struct hbuf *h)
{
	size_t off;

	h->n = 0;
	memcpy(h->b, "VFSDSTAT", 8);
	h->n = 8;
	h32(h, 1);
	h32(h, 2);
	h32(h, 1);
	h32(h, 0);
	h64(h, 24);
	h32(h, 1);			/* initialized */
	h32(h, 38);			/* minor */
	h64(h, 1ull << 0 | 1ull << 30); /* ASYNC_READ | INIT_EXT */
	h32(h, 1u << 20);		/* max_write */
	h32(h, 0);
	h32(h, 2);
	h32(h, 0);
	off = h->n;
	h64(h, 0);
	return off;
}

static void hostile_end(struct hbuf *h, size_t off)
{
	uint64_t len = h->n - off - 8;

	memcpy(h->b + off, &len, 8);
}

/* One node (id 2) with a path, then no handles. */
static void hostile_node_path(struct hbuf *h, const char *path, uint32_t type)
{
	size_t off = hostile_begin(h);

	hcount(h, 100, 1);
	hnode(h, 2, 1, type, 1); /* PATH */
	hbytes(h, path, (uint32_t)strlen(path));
	hcount(h, 10, 0);
	hostile_end(h, off);
}

/* One node (id 2) with a file handle of `host_path`, and `path` (NULL: none). */
static bool hostile_node_handle(struct th *t, struct hbuf *h, const char *host_path,
				const char *path, uint32_t type)
{
	struct {
		struct file_handle fh;
		unsigned char b[MAX_HANDLE_SZ];
	} f = {.fh.handle_bytes = MAX_HANDLE_SZ};
	int mnt;
	size_t off;

	if (name_to_handle_at(AT_FDCWD, host_path, &f.fh, &mnt, 0) < 0)
		return false;
	off = hostile_begin(h);
	hcount(h, 100, 1);
	hnode(h, 2, 1, type, (path ? 1 : 0) | 2);
	if (path)
		hbytes(h, path, (uint32_t)strlen(path));
	h32(h, (uint32_t)f.fh.handle_type);
	hbytes(h, f.fh.f_handle, f.fh.handle_bytes);
	hcount(h, 10, 0);
	hostile_end(h, off);
	return true;
}

static void hostile_outside_handles(struct th *t, struct hbuf *h)
{
	static const char *const fh_abort[] = {"--migration-mode=file-handles", NULL};
	static const char *const fh_eio[] = {"--migration-mode=file-handles",
					     "--migration-on-error=guest-error", NULL};
	char out[2 * PATH_MAX];
	struct fuse_attr_out a;
	struct dst d;
	struct {
		const char *host, *path;
		uint32_t type;
	} cases[] = {{out, NULL, S_IFREG},
		     {out, "victim", S_IFREG},
		     {t->dir, NULL, S_IFDIR},
		     {"/", NULL, S_IFDIR}};

	snprintf(out, sizeof(out), "%s/outside", t->dir);
	T_OK(t, th_host_write(t, "../outside", "secret", 6));
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		if (!hostile_node_handle(t, h, cases[i].host, cases[i].path, cases[i].type)) {
			th_fail(t, __FILE__, __LINE__, "no file handle for %s", cases[i].host);
			continue;
		}
		if (!cases[i].path) {
			expect_refused(t, fh_abort, h->b, h->n, "handle outside the share");
			T_EQ(t, dst_start(t, &d, fh_eio, h->b, h->n), 0);
			if (d.th.fe)
				T_EQ(t, fe_getattr(d.th.fe, 2, NULL, &a), -EIO);
		} else {
			/* The handle is refused, the path inside is used instead. */
			T_EQ(t, dst_start(t, &d, fh_abort, h->b, h->n), 0);
			if (d.th.fe) {
				T_OK(t, fe_getattr(d.th.fe, 2, NULL, &a));
				T_EQ(t, a.attr.size, 1);
			}
		}
		dst_stop(t, &d);
	}
}

static void test_hostile_refused(struct th *t)
{
	static const char *const guest_error[] = {"--migration-on-error=guest-error", NULL};
	struct hbuf *h = calloc(1, sizeof(*h));
	struct fuse_attr_out a;
	struct dst d;
	size_t off;

	if (!h || !source_start(t, NULL))
		goto out;
	/* The source is only needed for its share: make a file to reach. */
	T_OK(t, th_host_write(t, "victim", "x", 1));
	/* A node count of four billion in a few bytes. */
	off = hostile_begin(h);
	hcount(h, 100, UINT32_MAX);
	hostile_end(h, off);
	expect_refused(t, guest_error, h->b, h->n, "huge node count");
	/* A handle count likewise, and a handle of an unknown node. */
	off = hostile_begin(h);
	hcount(h, 100, 0);
	hcount(h, 10, UINT32_MAX);
	hostile_end(h, off);
	expect_refused(t, guest_error, h->b, h->n, "huge handle count");
	off = hostile_begin(h);
	hcount(h, 100, 0);
	hcount(h, 10, 1);
	hnode(h, 3, 55, O_RDONLY, 0); /* a handle has the same shape: fh 3 of node 55 */
	hostile_end(h, off);
	expect_refused(t, guest_error, h->b, h->n, "handle of an unknown node");
	/* A path length beyond the section. */
	off = hostile_begin(h);
	hcount(h, 100, 1);
	hnode(h, 2, 1, S_IFREG, 1);
	h32(h, 1u << 30);
	hostile_end(h, off);
	expect_refused(t, guest_error, h->b, h->n, "path length");
	/* A node id at the next id, id 0, unknown node flags. */
	static const struct {
		uint64_t id, next;
		uint32_t flags;
	} ids[] = {{2, 2, 1}, {0, 100, 1}, {2, 100, 1 | 1u << 9}};
	for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
		off = hostile_begin(h);
		hcount(h, ids[i].next, 1);
		hnode(h, ids[i].id, 1, S_IFREG, ids[i].flags);
		hbytes(h, "victim", 6);
		hcount(h, 10, 0);
		hostile_end(h, off);
		expect_refused(t, guest_error, h->b, h->n, "node id or flags");
	}
	/* Paths out of the share, through "..", absolute, through a symlink: with abort the
	 * load fails, with guest-error the node is EIO, and nothing outside is ever opened. */
	T_OK(t, symlink("/etc", th_host(t, "etclink")));
	static const char *const escapes[] = {"../../../../etc/passwd", "/etc/passwd",
					      "etclink/passwd", "victim/../../x", ""};
	for (size_t i = 0; i < ARRAY_SIZE(escapes); i++) {
		hostile_node_path(h, escapes[i], S_IFREG);
		expect_refused(t, NULL, h->b, h->n, escapes[i]);
		T_EQ(t, dst_start(t, &d, guest_error, h->b, h->n), 0);
		if (d.th.fe)
			T_EQ(t, fe_getattr(d.th.fe, 2, NULL, &a), -EIO);
		dst_stop(t, &d);
	}
	/* File handles of objects outside the share (same filesystem): never opened, with or
	 * without a path that exists in the share, whatever the policy. */
	hostile_outside_handles(t, h);
	/* The right path with the wrong type: another object there now. */
	hostile_node_path(h, "victim", S_IFDIR);
	expect_refused(t, NULL, h->b, h->n, "type");
	/* And the control: the same state with the right type loads. */
	hostile_node_path(h, "victim", S_IFREG);
	T_EQ(t, dst_start(t, &d, NULL, h->b, h->n), 0);
	if (d.th.fe) {
		T_OK(t, fe_getattr(d.th.fe, 2, NULL, &a));
		T_EQ(t, a.attr.size, 1);
	}
	dst_stop(t, &d);
out:
	free(h);
	T_OK(t, th_reconnect(t, NULL));
}

/*
 * A file open but deleted on the source. find-paths: it has no path; the load fails (abort) or
 * the guest gets EIO on it (guest-error) while the rest works. file-handles: found by handle,
 * still readable.
 */
static void deleted_case(struct th *t, bool handles)
{
	static const char *const fh_flags[] = {"--migration-mode=file-handles", NULL};
	static const char *const guest_error[] = {"--migration-on-error=guest-error", NULL};
	struct src_state s;
	struct fuse_attr_out a;
	char buf[64];
	size_t len = 0;
	struct dst d;
	void *blob;

	if (!source_start(t, handles ? fh_flags : NULL))
		return;
	populate(t, &s);
	T_OK(t, fe_unlink(t->fe, s.dir, s.fname));
	blob = source_save(t, &len);
	if (!blob)
		return;
	if (handles) {
		/* A destination without the option opens no handle from the stream. */
		long log0 = th_log_size(t);

		expect_refused(t, NULL, blob, len, "file handles to a find-paths destination");
		T_CHECK(t,
			th_log_count(t, log0, "file handles", "--migration-mode=file-handles") > 0);
		T_EQ(t, dst_start(t, &d, fh_flags, blob, len), 0);
		if (d.th.fe) {
			T_EQ(t, fe_read(d.th.fe, s.file, s.fh, 0, buf, sizeof(buf)), 18);
			T_OK(t, fe_getattr(d.th.fe, s.file, NULL, &a));
			T_EQ(t, a.attr.nlink, 0);
		}
		dst_stop(t, &d);
	} else {
		expect_refused(t, NULL, blob, len, "deleted file, find-paths, abort");
		T_EQ(t, dst_start(t, &d, guest_error, blob, len), 0);
		if (d.th.fe) {
			T_EQ(t, fe_read(d.th.fe, s.file, s.fh, 0, buf, sizeof(buf)), -EIO);
			T_EQ(t, fe_getattr(d.th.fe, s.file, NULL, &a), -EIO);
			T_OK(t, fe_getattr(d.th.fe, s.sub, NULL, &a)); /* the rest is fine */
			T_CHECK(t, fe_readdir(d.th.fe, s.dir, s.dfh, 0, buf, sizeof(buf)) > 0);
			/* The guest can still let go of it. */
			T_OK(t, fe_release(d.th.fe, s.file, s.fh, 0));
			T_OK(t, fe_forget(d.th.fe, s.file, 1));
		}
		dst_stop(t, &d);
	}
	free(blob);
	T_OK(t, th_reconnect(t, NULL));
}

static void test_deleted_open_file(struct th *t)
{
	deleted_case(t, false);
	deleted_case(t, true);
}

/* The host path of populate()'s open file "held". */
static const char *held_path(struct th *t, const struct src_state *s, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s/held", t->share, s->dname);
	return buf;
}

/*
 * Loads blob (then freed) into a destination started with `flags`, which must accept it; the
 * answer of a READ through the source's handle of "held" there. The rest of the tree works.
 */
static int load_and_read(struct th *t, const char *const *flags, const struct src_state *s,
			 void *blob, size_t len)
{
	struct fuse_attr_out a;
	char buf[64];
	struct dst d;
	int r = -ENOTCONN;

	T_EQ(t, dst_start(t, &d, flags, blob, len), 0);
	if (d.th.fe) {
		r = fe_read(d.th.fe, s->file, s->fh, 0, buf, sizeof(buf));
		T_OK(t, fe_getattr(d.th.fe, s->sub, NULL, &a));
	}
	dst_stop(t, &d);
	free(blob);
	return r;
}

/*
 * A file renamed on the host between the save and the load: find-paths looks at the old path
 * and loses it; file-handles finds the file where it is now.
 */
static void test_modes(struct th *t)
{
	static const char *const fh_flags[] = {"--migration-mode=file-handles", NULL};
	static const char *const guest_error[] = {"--migration-on-error=guest-error", NULL};
	char from[2 * PATH_MAX], to[2 * PATH_MAX];
	struct src_state s;
	size_t len = 0;
	void *blob;

	for (int handles = 0; handles < 2; handles++) {
		if (!source_start(t, handles ? fh_flags : NULL))
			return;
		populate(t, &s);
		blob = source_save(t, &len);
		if (!blob)
			return;
		snprintf(to, sizeof(to), "%s/moved-%d", t->share, handles);
		T_OK(t, rename(held_path(t, &s, from, sizeof(from)), to));
		T_EQ(t, load_and_read(t, handles ? fh_flags : guest_error, &s, blob, len),
		     handles ? 18 : -EIO);
	}
	T_OK(t, th_reconnect(t, NULL));
}

/*
 * A file given a new name by link() and unlink() of the old one after the guest looked it up (a
 * rename(2) moves the dentry, and /proc follows it; this does not): /proc shows "held (deleted)"
 * for the node's fd. A decoy file really named "held (deleted)" sits beside it. Whether or not
 * --migration-confirm-paths is given, the source sees that the /proc name does not lead to the
 * node and finds the file's current name in that directory: the destination reads the real file,
 * never the decoy. (The option confirms every other path too.)
 */
static void test_confirm_paths(struct th *t)
{
	static const char *const confirm[] = {"--migration-confirm-paths", NULL};
	static const char *const guest_error[] = {"--migration-on-error=guest-error", NULL};
	static const char decoy[] = "decoy";
	char from[2 * PATH_MAX], to[2 * PATH_MAX], fake[2 * PATH_MAX + 16];
	struct src_state s;
	size_t len = 0;
	void *blob;
	long log0;
	int fd;

	for (int on = 0; on < 2; on++) {
		if (!source_start(t, on ? confirm : NULL))
			return;
		populate(t, &s);
		held_path(t, &s, from, sizeof(from));
		snprintf(to, sizeof(to), "%s/%s/relinked-%d", t->share, s.dname, on);
		snprintf(fake, sizeof(fake), "%s (deleted)", from);
		T_OK(t, link(from, to));
		T_OK(t, unlink(from));
		fd = open(fake, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		T_CHECK(t, fd >= 0);
		T_EQ(t, write(fd, decoy, sizeof(decoy) - 1), (ssize_t)sizeof(decoy) - 1);
		close(fd);
		log0 = th_log_size(t);
		blob = source_save(t, &len);
		if (!blob)
			return;
		T_EQ(t, th_log_count(t, log0, "paths confirmed", "1 corrected"), 1);
		T_EQ(t, load_and_read(t, guest_error, &s, blob, len), 18);
		T_OK(t, unlink(fake));
	}
	T_OK(t, th_reconnect(t, NULL));
}

/*
 * --migration-verify-handles: the file replaced by another of the same name between the save
 * and the load. Without the option the destination opens the new file in its place, silently;
 * with it the destination sees another file handle: the node is lost (EIO with guest-error, the
 * load refused with abort).
 */
static void test_verify_handles(struct th *t)
{
	static const char *const verify[] = {"--migration-verify-handles", NULL};
	static const char *const verify_eio[] = {"--migration-verify-handles",
						 "--migration-on-error=guest-error", NULL};
	static const char *const guest_error[] = {"--migration-on-error=guest-error", NULL};
	static const char other[] = "another file here";
	char path[2 * PATH_MAX];
	struct src_state s;
	size_t len = 0;
	void *blob;
	int fd;

	for (int on = 0; on < 2; on++) {
		if (!source_start(t, on ? verify : NULL))
			return;
		populate(t, &s);
		blob = source_save(t, &len);
		if (!blob)
			return;
		T_OK(t, unlink(held_path(t, &s, path, sizeof(path))));
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		T_CHECK(t, fd >= 0);
		T_EQ(t, write(fd, other, sizeof(other) - 1), (ssize_t)sizeof(other) - 1);
		close(fd);
		if (on)
			expect_refused(t, verify, blob, len,
				       "replaced file, verify-handles, abort");
		T_EQ(t, load_and_read(t, on ? verify_eio : guest_error, &s, blob, len),
		     on ? -EIO : (int)sizeof(other) - 1);
	}
	T_OK(t, th_reconnect(t, NULL));
}

/*
 * Requests in flight when the rings stop: GET_VRING_BASE answers once every request the daemon
 * popped is in the used ring, and the nodes those made are in the state. Requests it had not
 * popped yet stay in the avail ring, the guest's (QEMU moves them with guest memory): a source
 * resumed after a cancelled migration serves them.
 */
static void test_in_flight(struct th *t)
{
	enum {
		N = 32
	};
	struct fuse_entry_out e[N];
	struct fe_call c[N];
	struct fuse_mknod_in mi = {.mode = S_IFREG | 0644, .umask = 022};
	char names[N][32];
	struct iovec args[N][2];
	struct fuse_attr_out a;
	size_t len = 0;
	uint16_t base0, popped;
	struct dst d;
	void *blob;

	if (!source_start(t, NULL))
		return;
	base0 = fe_vq_used_idx(t->fe, 1);
	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "inflight-%d", i);
		args[i][0] = (struct iovec){&mi, sizeof(mi)};
		args[i][1] = (struct iovec){names[i], strlen(names[i]) + 1};
		T_OK(t, fe_fuse_submit(t->fe, &c[i], 1, FUSE_MKNOD, FE_ROOT_ID, args[i], 2, &e[i],
				       sizeof(e[i])));
	}
	blob = source_save(t, &len); /* stops the rings first */
	/* The used index after the stop: every popped request, in ring order, completed. */
	popped = (uint16_t)(fe_vq_used_idx(t->fe, 1) - base0);
	T_CHECK(t, popped <= N);
	printf("# %u of %d requests popped before GET_VRING_BASE\n", popped, N);
	for (int i = 0; i < popped && i < N; i++)
		T_OK(t, fe_fuse_complete(t->fe, &c[i], 1000, NULL));
	if (!blob)
		return;
	T_EQ(t, dst_start(t, &d, NULL, blob, len), 0);
	for (int i = 0; d.th.fe && i < popped && i < N; i++)
		T_OK(t, fe_getattr(d.th.fe, e[i].nodeid, NULL, &a));
	dst_stop(t, &d);
	free(blob);
	/* The migration "failed": the source serves the rest from where it stopped. */
	T_OK(t, fe_resume(t->fe));
	for (int i = popped; i < N; i++)
		T_OK(t, fe_fuse_complete(t->fe, &c[i], 5000, NULL));
	T_OK(t, th_reconnect(t, NULL));
}

/* Locks do not move: a lock request on a handle that had some is ENOLCK afterwards. */
static void test_locks_lost(struct th *t)
{
	struct fuse_file_lock w = {.start = 0, .end = 9, .type = F_WRLCK, .pid = 7};
	struct fuse_file_lock un = w;
	struct fuse_open_out oo;
	struct src_state s;
	size_t len = 0;
	struct dst d;
	void *blob;

	if (!source_start(t, NULL))
		return;
	populate(t, &s);
	T_OK(t, fe_open(t->fe, s.sub, O_RDWR, &oo));
	T_OK(t, fe_setlk(t->fe, s.file, s.fh, 0xa, &w, false, 0));
	blob = source_save(t, &len);
	if (!blob)
		return;
	T_EQ(t, dst_start(t, &d, NULL, blob, len), 0);
	if (d.th.fe) {
		T_EQ(t, fe_setlk(d.th.fe, s.file, s.fh, 0xa, &w, false, 0), -ENOLCK);
		un.type = F_UNLCK;
		T_OK(t, fe_setlk(d.th.fe, s.file, s.fh, 0xa, &un, false, 0));
		/* A node that had no locks locks as usual. */
		T_OK(t, fe_setlk(d.th.fe, s.sub, oo.fh, 0xb, &w, false, 0));
	}
	dst_stop(t, &d);
	free(blob);
	T_OK(t, th_reconnect(t, NULL));
}

/* CHECK_DEVICE_STATE with no transfer, an unknown direction and phase: failures, not drops. */
static void test_protocol_edges(struct th *t)
{
	struct {
		uint32_t dir, phase;
	} bad[] = {{2, 0}, {0, 1}};
	struct fuse_attr_out a;
	uint64_t v = 0;
	int p[2];

	if (!source_start(t, NULL))
		return;
	T_OK(t, fe_vhu_call(t->fe, VHU_CHECK_DEVICE_STATE, NULL, 0, NULL, 0, &v));
	T_CHECK(t, v != 0);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		T_OK(t, pipe2(p, O_CLOEXEC));
		T_OK(t, fe_vhu_call(t->fe, VHU_SET_DEVICE_STATE_FD, &bad[i], sizeof(bad[i]), &p[1],
				    1, &v));
		T_CHECK(t, (v & 0xff) != 0);
		close(p[0]);
		close(p[1]);
	}
	/* A SAVE whose pipe reader goes away: the save fails, the daemon goes on. */
	T_OK(t, fe_stop(t->fe));
	T_OK(t, pipe2(p, O_CLOEXEC));
	close(p[0]);
	T_OK(t, fe_vhu_call(t->fe, VHU_SET_DEVICE_STATE_FD, &(struct { uint32_t d, p; }){0, 0}, 8,
			    &p[1], 1, &v));
	close(p[1]);
	T_OK(t, fe_vhu_call(t->fe, VHU_CHECK_DEVICE_STATE, NULL, 0, NULL, 0, &v));
	T_CHECK(t, v != 0);
	/* A LOAD whose writer is still open at CHECK (the frontend's error; found by fuzz_vhu):
	 * CHECK answers failure at once instead of joining a thread that waits on the pipe. */
	T_OK(t, pipe2(p, O_CLOEXEC));
	T_OK(t, fe_vhu_call(t->fe, VHU_SET_DEVICE_STATE_FD, &(struct { uint32_t d, p; }){1, 0}, 8,
			    &p[0], 1, &v));
	T_EQ(t, v & 0xff, 0);
	close(p[0]);
	T_EQ(t, write(p[1], "VFSD", 4), 4);
	T_OK(t, fe_vhu_call(t->fe, VHU_CHECK_DEVICE_STATE, NULL, 0, NULL, 0, &v));
	T_CHECK(t, v != 0);
	close(p[1]);
	T_OK(t, fe_resume(t->fe));
	T_OK(t, fe_getattr(t->fe, FE_ROOT_ID, NULL, &a));
	T_OK(t, th_reconnect(t, NULL));
}

/* transport/vhost_user.h VHU_STATE_MAX: the largest state a source sends. */
#define STATE_MAX (256u << 20)

/* `len` zero bytes LOADed; CHECK_DEVICE_STATE's answer (~0: the exchange itself failed). */
static uint64_t load_zeros(struct th *t, size_t len)
{
	static const uint8_t zeros[1 << 20];
	struct {
		uint32_t direction, phase;
	} s = {1, 0};
	uint64_t v = ~0ull;
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return ~0ull;
	if (fe_vhu_call(t->fe, VHU_SET_DEVICE_STATE_FD, &s, sizeof(s), &p[0], 1, &v) < 0 ||
	    (v & 0xff) != 0)
		len = 0;
	close(p[0]);
	while (len > 0) {
		ssize_t n = write(p[1], zeros, len < sizeof(zeros) ? len : sizeof(zeros));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* EPIPE: the daemon refused while reading */
		len -= (size_t)n;
	}
	close(p[1]);
	if (fe_vhu_call(t->fe, VHU_CHECK_DEVICE_STATE, NULL, 0, NULL, 0, &v) < 0)
		return ~0ull;
	return v;
}

/*
 * A source sends a state of up to VHU_STATE_MAX bytes: a destination reads one of exactly that
 * size to its end (these zeros are then no vfsd state: EBADMSG), and refuses one byte more as
 * too large (EFBIG).
 */
static void test_state_size_limit(struct th *t)
{
	if (!source_start(t, NULL))
		return;
	T_EQ(t, load_zeros(t, STATE_MAX), EBADMSG);
	T_EQ(t, load_zeros(t, STATE_MAX + 1), EFBIG);
	T_OK(t, th_reconnect(t, NULL));
}

static double ms_since(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) * 1e3 + (double)(b.tv_nsec - a->tv_nsec) / 1e6;
}

/*
 * A state far larger than a pipe (64 KiB): the transfer runs beside the message loop, which
 * answers SET_DEVICE_STATE_FD before a byte moves. Prints the size and the times.
 */
/* `opts` on both sides; `dname` a fresh directory for the N files. */
static void large_case(struct th *t, const char *const *opts, const char *dname)
{
	enum {
		N = 4000
	};
	static uint64_t ids[N];
	struct fuse_entry_out e;
	uint64_t dir;
	struct fuse_attr_out a;
	struct timespec t0;
	double save_ms;
	size_t len = 0;
	struct dst d;
	uint64_t check;
	void *blob;
	char name[64];

	if (!source_start(t, opts))
		return;
	T_OK(t, mkdir(th_host(t, dname), 0755));
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "%s/a-rather-long-file-name-%06d", dname, i);
		T_OK(t, th_host_write(t, name, "", 0));
	}
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, dname, &e));
	dir = e.nodeid;
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "a-rather-long-file-name-%06d", i);
		T_OK(t, fe_lookup(t->fe, dir, name, &e));
		ids[i] = e.nodeid;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	blob = source_save(t, &len);
	save_ms = ms_since(&t0);
	T_CHECK(t, len > 3 * 65536);
	if (!blob)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	check = dst_start(t, &d, opts, blob, len);
	printf("# %d nodes%s: state %zu bytes, stop+save %.1f ms, connect+load %.1f ms\n", N + 1,
	       opts ? " (verify-handles, confirm-paths)" : "", len, save_ms, ms_since(&t0));
	T_EQ(t, check, 0);
	for (int i = 0; d.th.fe && i < N; i += 97)
		T_OK(t, fe_getattr(d.th.fe, ids[i], NULL, &a));
	dst_stop(t, &d);
	free(blob);
	T_OK(t, th_reconnect(t, NULL));
}

/* Also what the two checks cost: a path walk and a stat per node, a handle per node. */
static void test_large_state(struct th *t)
{
	static const char *const checks[] = {"--migration-verify-handles",
					     "--migration-confirm-paths", NULL};

	large_case(t, NULL, "many");
	large_case(t, checks, "many-checked");
}

static const struct th_test migstate_tests[] = {
	{"save-load-continues-without-init", test_save_load_continues},
	{"source-continues-after-cancelled-save", test_source_continues_after_cancel},
	{"corrupt-state-refused-daemon-alive", test_corrupt_refused},
	{"hostile-state-refused", test_hostile_refused},
	{"open-deleted-file-both-policies", test_deleted_open_file},
	{"find-paths-vs-file-handles", test_modes},
	{"confirm-paths-finds-relinked-file", test_confirm_paths},
	{"verify-handles-catches-replaced-file", test_verify_handles},
	{"requests-in-flight-at-stop", test_in_flight},
	{"locks-lost-enolck", test_locks_lost},
	{"device-state-protocol-edges", test_protocol_edges},
	{"device-state-size-limit-both-ways", test_state_size_limit},
	{"large-state-through-the-pipe", test_large_state},
	TH_TESTS_END,
};

int main(int argc, char **argv)
{
	static const struct th_test *const families[] = {migstate_tests, NULL};

	signal(SIGPIPE, SIG_IGN); /* a daemon refusing a LOAD closes its end of our pipe */
	th_capture_log = true;
	th_after_test = hx_check_log;
	return th_main(argc, argv, families);
}
