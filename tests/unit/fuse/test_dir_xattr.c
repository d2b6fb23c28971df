// SPDX-License-Identifier: GPL-2.0-or-later
/* Directory listing (packing, alignment, ENOSPC), xattrs, and 7.38 extension headers. */
#include <errno.h>
#include <string.h>
#include <sys/xattr.h>

#include "check.h"
#include "harness.h"

#define HDR sizeof(struct fuse_out_header)

static struct fuse_server *srv;

static void setup(bool xattr, uint32_t minor, uint64_t flags)
{
	struct fuse_server_config cfg;

	fuse_server_free(srv);
	fuse_server_config_default(&cfg);
	cfg.xattr = xattr;
	srv = new_server(&cfg);
	CHECK_EQ(do_init(srv, minor, flags, minor >= 36, NULL), 0);
	mock.entry = (struct fs_entry){.nodeid = 42, .entry_timeout = 1, .attr_timeout = 1};
	mock.entry.attr.st_ino = 7;
}

/* Walks the packed entries; returns how many, checking each is well formed. */
static unsigned walk_dirents(const uint8_t *p, size_t len, bool plus, uint64_t first_off)
{
	unsigned n = 0;
	size_t pos = 0;

	while (pos < len) {
		struct fuse_dirent d;
		size_t head = plus ? sizeof(struct fuse_entry_out) : 0, size;
		char name[64];

		CHECK(pos + head + FUSE_NAME_OFFSET <= len);
		if (plus) {
			struct fuse_entry_out e;

			memcpy(&e, p + pos, sizeof(e));
			CHECK_EQ(e.nodeid, 1000 + first_off + n);
			CHECK_EQ(e.attr.ino, 7);
		}
		memcpy(&d, p + pos + head, FUSE_NAME_OFFSET);
		size = FUSE_DIRENT_ALIGN(head + FUSE_NAME_OFFSET + d.namelen);
		CHECK(pos + size <= len);
		CHECK_EQ(d.ino, 100 + first_off + n);
		CHECK_EQ(d.off, first_off + n + 1);
		CHECK_EQ(d.type, 8);
		memcpy(name, p + pos + head + FUSE_NAME_OFFSET, d.namelen);
		name[d.namelen] = 0;
		CHECK(strncmp(name, "entry-", 6) == 0);
		for (size_t i = head + FUSE_NAME_OFFSET + d.namelen; i < size; i++)
			CHECK_EQ(p[pos + i], 0); /* padding is zeroed, never stale guest bytes */
		pos += size;
		n++;
	}
	CHECK_EQ(pos, len);
	return n;
}

static void test_readdir(bool plus)
{
	struct fuse_read_in ri = {.fh = 55, .offset = 0, .size = 4096};
	unsigned n;

	mock.dir_entries = 1000;
	mock.dir_filled = 0;
	mock.dir_enospc = false;
	rq_init(&rq, plus ? FUSE_READDIRPLUS : FUSE_READDIR, 1, 200);
	rq_add(&rq, &ri, sizeof(ri));
	send_rq(srv, &rq, HDR + 4096, &rep);
	CHECK_STREQ(mock.op, "readdir");
	CHECK_EQ(mock.plus, plus);
	CHECK_EQ(mock.fh, 55);
	CHECK_EQ(rep.oh.error, 0);
	CHECK(mock.dir_enospc);
	CHECK(rep.dlen <= 4096);
	CHECK(rep.dlen > 4096 - 512);
	n = walk_dirents(rep.data, rep.dlen, plus, 0);
	CHECK_EQ(n, mock.dir_filled);

	/* Resume from a cookie; guest size larger than the room is capped by the room. */
	mock.dir_filled = 0;
	mock.dir_enospc = false;
	ri.offset = 998;
	ri.size = 1 << 20;
	rq_init(&rq, plus ? FUSE_READDIRPLUS : FUSE_READDIR, 1, 201);
	rq_add(&rq, &ri, sizeof(ri));
	send_rq(srv, &rq, HDR + 700, &rep);
	CHECK_EQ(walk_dirents(rep.data, rep.dlen, plus, 998), mock.dir_filled);
	CHECK_EQ(mock.dir_filled, 2);
	CHECK(!mock.dir_enospc);

	/* Smaller than one entry: an empty reply, the backend told ENOSPC. */
	mock.dir_filled = 0;
	ri.offset = 0;
	ri.size = 10;
	rq_init(&rq, plus ? FUSE_READDIRPLUS : FUSE_READDIR, 1, 202);
	rq_add(&rq, &ri, sizeof(ri));
	send_rq(srv, &rq, HDR + 4096, &rep);
	CHECK_EQ(rep.dlen, 0);
	CHECK_EQ(mock.dir_filled, 0);

	/* Error with nothing filled is reported; after entries it is not. */
	mock.dir_entries = 0;
	mock.ret = -EBADF;
	ri.size = 4096;
	rq_init(&rq, FUSE_READDIR, 1, 203);
	rq_add(&rq, &ri, sizeof(ri));
	send_rq(srv, &rq, HDR + 4096, &rep);
	CHECK_EQ(rep.oh.error, -EBADF);
	mock.dir_entries = 3;
	send_rq(srv, &rq, HDR + 4096, &rep);
	CHECK_EQ(rep.oh.error, 0);
	CHECK_EQ(walk_dirents(rep.data, rep.dlen, false, 0), 3);
	mock.ret = 0;
}

static void test_opendir(void)
{
	struct fuse_open_in oi = {.flags = 0x10000};
	struct fuse_release_in ri = {.fh = 55};
	struct fuse_open_out oo;

	rq_init(&rq, FUSE_OPENDIR, 1, 210);
	rq_add(&rq, &oi, sizeof(oi));
	send_rq(srv, &rq, 4096, &rep);
	CHECK_STREQ(mock.op, "opendir");
	memcpy(&oo, rep.data, sizeof(oo));
	CHECK(oo.fh == 55 && oo.open_flags == FOPEN_CACHE_DIR);
	rq_init(&rq, FUSE_RELEASEDIR, 1, 211);
	rq_add(&rq, &ri, sizeof(ri));
	send_rq(srv, &rq, 4096, &rep);
	CHECK(strcmp(mock.op, "releasedir") == 0 && mock.fh == 55);
}

static void test_xattr(bool ext)
{
	struct fuse_setxattr_in si = {.size = 5, .flags = XATTR_CREATE};
	struct fuse_getxattr_in gi = {.size = 0};
	struct fuse_getxattr_out go;

	rq_init(&rq, FUSE_SETXATTR, 3, 220);
	rq_add(&rq, &si, ext ? sizeof(si) : 8);
	rq_str(&rq, "user.a/b");
	rq_add(&rq, "vwxyz", 5);
	send_rq(srv, &rq, 4096, &rep);
	CHECK_EQ(rep.oh.error, 0);
	CHECK_STREQ(mock.op, "setxattr");
	CHECK_STREQ(mock.name, "user.a/b");
	CHECK(mock.data_len == 5 && memcmp(mock.data, "vwxyz", 5) == 0);
	CHECK_EQ(mock.flags, XATTR_CREATE);
	CHECK_EQ(rep.written, HDR);

	/* FUSE_SETXATTR_ACL_KILL_SGID reaches the backend as FS_XATTR_ACL_KILL_SGID; before
	 * SETXATTR_EXT there is no field to carry it. Unknown setxattr_flags bits are ignored. */
	si.setxattr_flags = FUSE_SETXATTR_ACL_KILL_SGID | 0x80000000u;
	rq_init(&rq, FUSE_SETXATTR, 3, 224);
	rq_add(&rq, &si, ext ? sizeof(si) : 8);
	rq_str(&rq, "system.posix_acl_access");
	rq_add(&rq, "vwxyz", 5);
	send_rq(srv, &rq, 4096, &rep);
	CHECK_EQ(rep.oh.error, 0);
	CHECK_EQ(mock.flags, XATTR_CREATE | (ext ? FS_XATTR_ACL_KILL_SGID : 0));
	si.setxattr_flags = 0;

	/* Value size larger than what is present, or than XATTR_SIZE_MAX. */
	si.size = 6;
	rq_init(&rq, FUSE_SETXATTR, 3, 221);
	rq_add(&rq, &si, ext ? sizeof(si) : 8);
	rq_str(&rq, "user.a");
	rq_add(&rq, "vwxyz", 5);
	mock.calls = 0;
	send_rq(srv, &rq, 4096, &rep);
	CHECK_EQ(rep.oh.error, -EINVAL);
	si.size = 0xffffffff;
	rq_init(&rq, FUSE_SETXATTR, 3, 222);
	rq_add(&rq, &si, ext ? sizeof(si) : 8);
	rq_str(&rq, "user.a");
	send_rq(srv, &rq, 4096, &rep);
	CHECK_EQ(rep.oh.error, -E2BIG);
	CHECK_EQ(mock.calls, 0);

	mock.data_len = 5;
	rq_init(&rq, FUSE_GETXATTR, 3, 223);
	rq_add(&rq, &gi, sizeof(gi));
	rq_str(&rq, "user.a");
	send_rq(srv, &rq, 4096, &rep);
	CHECK_EQ(rep.oh.len, HDR + sizeof(go));
	memcpy(&go, rep.data, sizeof(go));
	CHECK_EQ(go.size, 5);
	gi.size = 100;
	rq_init(&rq, FUSE_GETXATTR, 3, 224);
	rq_add(&rq, &gi, sizeof(gi));
	rq_str(&rq, "user.a");
	send_rq(srv, &rq, 4096, &rep);
	CHECK_EQ(rep.oh.len, HDR + 5);
	CHECK(memcmp(rep.data, "vwxyz", 5) == 0);
	CHECK_EQ(mock.size, 100);
	/* A huge size is clamped to XATTR_SIZE_MAX, and must fit the reply room. */
	gi.size = 0xffffffff;
	rq_init(&rq, FUSE_GETXATTR, 3, 225);
	rq_add(&rq, &gi, sizeof(gi));
	rq_str(&rq, "user.a");
	send_rq(srv, &rq, 4096, &rep);
	CHECK_EQ(rep.oh.error, -EIO);
	send_rq(srv, &rq, HDR + 65536, &rep);
	CHECK_EQ(rep.oh.error, 0);
	CHECK_EQ(mock.size, 65536);
	mock.data_len = 10;
	gi.size = 4;
	rq_init(&rq, FUSE_LISTXATTR, 3, 226);
	rq_add(&rq, &gi, sizeof(gi));
	send_rq(srv, &rq, 4096, &rep);
	CHECK_EQ(rep.oh.error, -ERANGE);

	rq_init(&rq, FUSE_REMOVEXATTR, 3, 227);
	rq_str(&rq, "user.zz");
	send_rq(srv, &rq, 4096, &rep);
	CHECK(strcmp(mock.op, "removexattr") == 0 && strcmp(mock.name, "user.zz") == 0);
	rq_init(&rq, FUSE_REMOVEXATTR, 3, 228);
	rq_str(&rq, "");
	send_rq(srv, &rq, 4096, &rep);
	CHECK_EQ(rep.oh.error, -EINVAL);
}

static void add_ext_groups(struct rq *q, uint32_t nr, uint32_t claim, uint32_t ext_size)
{
	struct fuse_ext_header eh = {.size = ext_size, .type = 32};
	uint32_t groups[8] = {501, 502, 503, 504, 505, 506, 507, 508};

	rq_add(q, &eh, sizeof(eh));
	rq_add(q, &claim, sizeof(claim));
	rq_add(q, groups, nr * sizeof(uint32_t));
	while ((q->len - sizeof(struct fuse_in_header)) % 8)
		rq_add(q, "", 1);
}

static void set_extlen(struct rq *q, uint16_t units)
{
	memcpy(q->buf + offsetof(struct fuse_in_header, total_extlen), &units, sizeof(units));
}

static void test_extensions(void)
{
	struct fuse_mkdir_in md = {.mode = 0755};
	struct fuse_ext_header unknown = {.size = 16, .type = 77};
	uint8_t junk[8] = {0};

	/* mkdir "dir\0" + pad to 8, then an unknown extension and a groups one. */
	rq_init(&rq, FUSE_MKDIR, 2, 230);
	rq_add(&rq, &md, sizeof(md));
	rq_add(&rq, "dir\0\0\0\0", 8);
	rq_add(&rq, &unknown, sizeof(unknown));
	rq_add(&rq, junk, sizeof(junk));
	add_ext_groups(&rq, 3, 3, 24);
	set_extlen(&rq, 5);
	send_rq(srv, &rq, 4096, &rep);
	CHECK_EQ(rep.oh.error, 0);
	CHECK_STREQ(mock.op, "mkdir");
	CHECK_STREQ(mock.name, "dir");
	CHECK_EQ(mock.ctx.ngroups, 3);
	CHECK(mock.groups[0] == 501 && mock.groups[2] == 503);

	/* total_extlen beyond the request. */
	set_extlen(&rq, 100);
	mock.calls = 0;
	send_rq(srv, &rq, 4096, &rep);
	CHECK_EQ(rep.oh.error, -EINVAL);
	/* nr_groups larger than its extension. */
	rq_init(&rq, FUSE_MKDIR, 2, 231);
	rq_add(&rq, &md, sizeof(md));
	rq_add(&rq, "dir\0\0\0\0", 8);
	add_ext_groups(&rq, 1, 1000, 16);
	set_extlen(&rq, 2);
	send_rq(srv, &rq, 4096, &rep);
	CHECK_EQ(rep.oh.error, -EINVAL);
	/* Extension size not a multiple of 8 / smaller than its header. */
	rq_init(&rq, FUSE_MKDIR, 2, 232);
	rq_add(&rq, &md, sizeof(md));
	rq_add(&rq, "dir\0\0\0\0", 8);
	add_ext_groups(&rq, 1, 1, 12);
	set_extlen(&rq, 2);
	send_rq(srv, &rq, 4096, &rep);
	CHECK_EQ(rep.oh.error, -EINVAL);
	CHECK_EQ(mock.calls, 0);
}

int main(void)
{
	for (int pass = 0; pass < 2; pass++) {
		split_mode = pass ? SPLIT_ODD : SPLIT_ONE;
		setup(true, 38, 0xffffffffffffffffull);
		test_readdir(false);
		test_readdir(true);
		test_opendir();
		test_xattr(true);
		test_extensions();
		/* No SETXATTR_EXT before 7.33: the 8-byte setxattr_in. */
		setup(true, 31, 0xffffffffull & ~(uint64_t)(FUSE_SETXATTR_EXT | FUSE_INIT_EXT));
		test_xattr(false);
	}
	fuse_server_free(srv);
	return check_report("fuse-dir-xattr");
}
