// SPDX-License-Identifier: GPL-2.0-or-later
/* Each opcode: decoded into the right backend call, answered with the right reply. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

#define HDR sizeof(struct fuse_out_header)

static struct fuse_server *srv;

static void setup(bool xattr)
{
	struct fuse_server_config cfg;

	fuse_server_free(srv);
	fuse_server_config_default(&cfg);
	cfg.xattr = xattr;
	srv = new_server(&cfg);
	CHECK_EQ(do_init(srv, 38, 0xffffffffffffffffull, true, NULL), 0);
	mock.entry = (struct fs_entry){
		.nodeid = 42,
		.generation = 3,
		.entry_timeout = 1.5,
		.attr_timeout = 2.25,
		.attr_flags = FS_ATTR_SUBMOUNT,
	};
	mock.entry.attr.st_ino = 4242;
	mock.entry.attr.st_mode = S_IFREG | 0644;
	mock.entry.attr.st_size = 12345;
	mock.entry.attr.st_blksize = 4096;
	mock.entry.attr.st_rdev = makedev(8, 300);
	mock.entry.attr.st_mtim.tv_nsec = 7;
	mock.calls = 0;
}

static void send(size_t room)
{
	send_rq(srv, &rq, room, &rep);
}

static void check_entry(const uint8_t *p, uint64_t nodeid)
{
	struct fuse_entry_out e;

	memcpy(&e, p, sizeof(e));
	CHECK_EQ(e.nodeid, nodeid);
	CHECK_EQ(e.generation, 3);
	CHECK_EQ(e.entry_valid, 1);
	CHECK_EQ(e.entry_valid_nsec, 500000000);
	CHECK_EQ(e.attr_valid, 2);
	CHECK_EQ(e.attr_valid_nsec, 250000000);
	CHECK_EQ(e.attr.ino, 4242);
	CHECK_EQ(e.attr.size, 12345);
	CHECK_EQ(e.attr.blksize, 4096);
	CHECK_EQ(e.attr.mtimensec, 7);
	CHECK_EQ(e.attr.flags, FUSE_ATTR_SUBMOUNT);
	CHECK_EQ(e.attr.rdev, (300 & 0xff) | (8 << 8) | ((300 & ~0xff) << 12));
}

static void test_entry_ops(void)
{
	struct fuse_mknod_in mk = {.mode = S_IFCHR | 0600, .rdev = (5 << 8) | 1, .umask = 022};
	struct fuse_mkdir_in md = {.mode = 0755, .umask = 077};
	struct fuse_link_in li = {.oldnodeid = 9};
	struct fuse_rename2_in rn = {.newdir = 8, .flags = RENAME_NOREPLACE};
	struct fuse_rename_in ro = {.newdir = 6};

	rq_init(&rq, FUSE_LOOKUP, 1, 100);
	rq_str(&rq, "hello");
	send(4096);
	CHECK_STREQ(mock.op, "lookup");
	CHECK_STREQ(mock.name, "hello");
	CHECK_EQ(mock.nodeid, 1);
	CHECK_EQ(mock.ctx.uid, 1000);
	CHECK_EQ(mock.ctx.gid, 100);
	CHECK_EQ(mock.ctx.pid, 4321);
	CHECK_EQ(rep.oh.unique, 100);
	CHECK_EQ(rep.oh.error, 0);
	CHECK_EQ(rep.oh.len, HDR + sizeof(struct fuse_entry_out));
	CHECK_EQ(rep.written, rep.oh.len);
	check_entry(rep.data, 42);

	/* Negative entry: nodeid 0 with the entry timeout, a valid reply. */
	mock.entry.nodeid = 0;
	send(4096);
	CHECK_EQ(rep.oh.error, 0);
	CHECK_EQ(((struct fuse_entry_out *)rep.data)->nodeid, 0);
	CHECK_EQ(((struct fuse_entry_out *)rep.data)->entry_valid, 1);
	mock.entry.nodeid = 42;
	mock.ret = -ENOENT;
	send(4096);
	CHECK_EQ(rep.oh.error, -ENOENT);
	CHECK_EQ(rep.written, HDR);
	mock.ret = 0;

	rq_init(&rq, FUSE_MKNOD, 2, 101);
	rq_add(&rq, &mk, sizeof(mk));
	rq_str(&rq, "dev");
	send(4096);
	CHECK_STREQ(mock.op, "mknod");
	CHECK_EQ(mock.mode, S_IFCHR | 0600);
	CHECK_EQ(mock.umask, 022);
	CHECK(major(mock.rdev) == 5 && minor(mock.rdev) == 1);
	check_entry(rep.data, 42);

	rq_init(&rq, FUSE_MKDIR, 2, 102);
	rq_add(&rq, &md, sizeof(md));
	rq_str(&rq, "dir");
	send(4096);
	CHECK_STREQ(mock.op, "mkdir");
	CHECK_STREQ(mock.name, "dir");
	CHECK_EQ(mock.mode, 0755);
	CHECK_EQ(mock.umask, 077);
	CHECK_EQ(rep.oh.len, HDR + sizeof(struct fuse_entry_out));

	rq_init(&rq, FUSE_SYMLINK, 3, 103);
	rq_str(&rq, "lnk");
	rq_str(&rq, "../some/where");
	send(4096);
	CHECK_STREQ(mock.op, "symlink");
	CHECK_STREQ(mock.name, "lnk");
	CHECK_STREQ(mock.target, "../some/where");
	check_entry(rep.data, 42);

	rq_init(&rq, FUSE_LINK, 4, 104);
	rq_add(&rq, &li, sizeof(li));
	rq_str(&rq, "hard");
	send(4096);
	CHECK_STREQ(mock.op, "link");
	CHECK_EQ(mock.nodeid, 9);
	CHECK_EQ(mock.nodeid2, 4);
	CHECK_STREQ(mock.name, "hard");

	rq_init(&rq, FUSE_UNLINK, 5, 105);
	rq_str(&rq, "gone");
	send(4096);
	CHECK_STREQ(mock.op, "unlink");
	CHECK_STREQ(mock.name, "gone");
	CHECK_EQ(rep.written, HDR);
	CHECK_EQ(rep.oh.error, 0);

	rq_init(&rq, FUSE_RMDIR, 5, 106);
	rq_str(&rq, "d");
	mock.ret = -ENOTEMPTY;
	send(4096);
	CHECK_STREQ(mock.op, "rmdir");
	CHECK_EQ(rep.oh.error, -ENOTEMPTY);
	mock.ret = 0;

	rq_init(&rq, FUSE_RENAME2, 7, 107);
	rq_add(&rq, &rn, sizeof(rn));
	rq_str(&rq, "a");
	rq_str(&rq, "b");
	send(4096);
	CHECK_STREQ(mock.op, "rename");
	CHECK(mock.nodeid == 7 && mock.nodeid2 == 8 && mock.uflags == RENAME_NOREPLACE);
	CHECK(strcmp(mock.name, "a") == 0 && strcmp(mock.name2, "b") == 0);
	rn.flags = 1u << 7;
	rq_init(&rq, FUSE_RENAME2, 7, 107);
	rq_add(&rq, &rn, sizeof(rn));
	rq_str(&rq, "a");
	rq_str(&rq, "b");
	mock.calls = 0;
	send(4096);
	CHECK_EQ(rep.oh.error, -EINVAL);
	CHECK_EQ(mock.calls, 0);

	rq_init(&rq, FUSE_RENAME, 7, 108);
	rq_add(&rq, &ro, sizeof(ro));
	rq_str(&rq, "x");
	rq_str(&rq, "y");
	send(4096);
	CHECK(mock.nodeid2 == 6 && mock.uflags == 0 && strcmp(mock.name2, "y") == 0);

	memcpy(mock.data, "target", 6);
	mock.data_len = 6;
	rq_init(&rq, FUSE_READLINK, 9, 109);
	send(4096);
	CHECK_STREQ(mock.op, "readlink");
	CHECK_EQ(rep.dlen, 6);
	CHECK(memcmp(rep.data, "target", 6) == 0);
}

static void test_forget(void)
{
	struct fuse_forget_in fi = {.nlookup = 3};
	struct fuse_batch_forget_in bi = {.count = 3};
	struct fuse_forget_one one[3] = {{10, 1}, {11, 2}, {12, 4}};

	rq_init(&rq, FUSE_FORGET, 33, 110);
	rq_add(&rq, &fi, sizeof(fi));
	send(4096);
	CHECK_EQ(rep.written, 0);
	CHECK(rep.handled == FUSE_REPLIED);
	CHECK_EQ(mock.forget_calls, 1);
	CHECK_EQ(mock.nodeid, 33);
	CHECK_EQ(mock.forget_sum, 3);

	rq_init(&rq, FUSE_BATCH_FORGET, 0, 111);
	rq_add(&rq, &bi, sizeof(bi));
	rq_add(&rq, one, sizeof(one));
	send(0); /* the hiprio queue gives no reply room */
	CHECK_EQ(rep.written, 0);
	CHECK_EQ(mock.forget_calls, 4);
	CHECK_EQ(mock.forget_sum, 10);
}

static void test_attr_ops(void)
{
	struct fuse_getattr_in gi = {.getattr_flags = FUSE_GETATTR_FH, .fh = 5};
	struct fuse_setattr_in si = {
		.valid = FATTR_MODE | FATTR_SIZE | FATTR_MTIME | FATTR_ATIME_NOW | FATTR_FH |
			 FATTR_LOCKOWNER | FATTR_KILL_SUIDGID | FATTR_UID,
		.fh = 6,
		.size = 99,
		.mtime = 1000,
		.mtimensec = 5,
		.mode = 0600,
		.uid = 77,
	};
	struct fuse_access_in ai = {.mask = R_OK | W_OK};
	struct fuse_attr_out ao;
	struct fuse_statfs_out so;

	rq_init(&rq, FUSE_GETATTR, 12, 120);
	rq_add(&rq, &gi, sizeof(gi));
	send(4096);
	CHECK_STREQ(mock.op, "getattr");
	CHECK(mock.has_fh && mock.fh == 5 && mock.nodeid == 12);
	CHECK_EQ(rep.oh.len, HDR + sizeof(ao));
	memcpy(&ao, rep.data, sizeof(ao));
	CHECK(ao.attr_valid == 2 && ao.attr_valid_nsec == 250000000);
	CHECK_EQ(ao.attr.ino, 4242);
	CHECK_EQ(ao.attr.mode, S_IFREG | 0644);
	gi.getattr_flags = 0;
	rq_init(&rq, FUSE_GETATTR, 12, 120);
	rq_add(&rq, &gi, sizeof(gi));
	send(4096);
	CHECK(!mock.has_fh && mock.fh == 0);

	rq_init(&rq, FUSE_SETATTR, 13, 121);
	rq_add(&rq, &si, sizeof(si));
	send(4096);
	CHECK_STREQ(mock.op, "setattr");
	CHECK_EQ(mock.sa.valid, FS_SET_MODE | FS_SET_SIZE | FS_SET_MTIME | FS_SET_ATIME_NOW |
					FS_SET_KILL_SUIDGID | FS_SET_UID);
	CHECK(mock.sa.has_fh && mock.sa.fh == 6);
	CHECK(mock.sa.size == 99 && mock.sa.mode == 0600 && mock.sa.uid == 77);
	CHECK(mock.sa.mtime.tv_sec == 1000 && mock.sa.mtime.tv_nsec == 5);
	CHECK_EQ(rep.oh.len, HDR + sizeof(ao));
	si.mtimensec = 1000000000;
	rq_init(&rq, FUSE_SETATTR, 13, 121);
	rq_add(&rq, &si, sizeof(si));
	send(4096);
	CHECK_EQ(rep.oh.error, -EINVAL);
	si.mtimensec = 0;
	si.size = 1ull << 63;
	rq_init(&rq, FUSE_SETATTR, 13, 121);
	rq_add(&rq, &si, sizeof(si));
	send(4096);
	CHECK_EQ(rep.oh.error, -EINVAL);

	rq_init(&rq, FUSE_STATFS, 1, 122);
	send(4096);
	CHECK_EQ(rep.oh.len, HDR + sizeof(so));
	memcpy(&so, rep.data, sizeof(so));
	CHECK(so.st.blocks == 1000 && so.st.bfree == 500 && so.st.bavail == 400);
	CHECK(so.st.files == 300 && so.st.ffree == 200 && so.st.bsize == 4096);
	CHECK(so.st.frsize == 512 && so.st.namelen == 255);

	rq_init(&rq, FUSE_ACCESS, 1, 123);
	rq_add(&rq, &ai, sizeof(ai));
	send(4096);
	CHECK_STREQ(mock.op, "access");
	CHECK_EQ(mock.mask, R_OK | W_OK);
	CHECK_EQ(rep.written, HDR);
	ai.mask = 0x100;
	rq_init(&rq, FUSE_ACCESS, 1, 123);
	rq_add(&rq, &ai, sizeof(ai));
	send(4096);
	CHECK_EQ(rep.oh.error, -EINVAL);
}

static void test_open_ops(void)
{
	struct fuse_open_in oi = {.flags = O_RDWR | O_DIRECT};
	struct fuse_create_in ci = {
		.flags = O_WRONLY | O_CREAT | O_DIRECT, .mode = 0640, .umask = 022};
	struct fuse_release_in ri = {.fh = 77,
				     .release_flags =
					     FUSE_RELEASE_FLUSH | FUSE_RELEASE_FLOCK_UNLOCK,
				     .lock_owner = 0xabc};
	struct fuse_flush_in fl = {.fh = 77, .lock_owner = 0xdef};
	struct fuse_fsync_in fs = {.fh = 77, .fsync_flags = FUSE_FSYNC_FDATASYNC};
	struct fuse_open_out oo;

	rq_init(&rq, FUSE_OPEN, 20, 130);
	rq_add(&rq, &oi, sizeof(oi));
	send(4096);
	CHECK_STREQ(mock.op, "open");
	CHECK_EQ(mock.flags, O_RDWR); /* O_DIRECT stripped by default */
	CHECK_EQ(rep.oh.len, HDR + sizeof(oo));
	memcpy(&oo, rep.data, sizeof(oo));
	CHECK_EQ(oo.fh, 77);
	CHECK_EQ(oo.open_flags, FOPEN_KEEP_CACHE | FOPEN_DIRECT_IO);

	rq_init(&rq, FUSE_CREATE, 21, 131);
	rq_add(&rq, &ci, sizeof(ci));
	rq_str(&rq, "new");
	send(4096);
	CHECK_STREQ(mock.op, "create");
	CHECK_STREQ(mock.name, "new");
	CHECK_EQ(mock.flags, O_WRONLY | O_CREAT);
	CHECK(mock.mode == 0640 && mock.umask == 022);
	CHECK_EQ(rep.oh.len, HDR + sizeof(struct fuse_entry_out) + sizeof(oo));
	check_entry(rep.data, 42);
	memcpy(&oo, rep.data + sizeof(struct fuse_entry_out), sizeof(oo));
	CHECK(oo.fh == 88 && oo.open_flags == FOPEN_CACHE_DIR);

	/* TMPFILE: same arguments as CREATE; Linux appends the name "/", which is ignored. */
	rq_init(&rq, FUSE_TMPFILE, 21, 132);
	rq_add(&rq, &ci, sizeof(ci));
	rq_str(&rq, "/");
	send(4096);
	CHECK_STREQ(mock.op, "tmpfile");
	CHECK_EQ(rep.oh.error, 0);
	memcpy(&oo, rep.data + sizeof(struct fuse_entry_out), sizeof(oo));
	CHECK_EQ(oo.fh, 99);

	rq_init(&rq, FUSE_RELEASE, 20, 133);
	rq_add(&rq, &ri, sizeof(ri));
	send(4096);
	CHECK_EQ(mock.flush_calls, 1);
	CHECK_EQ(mock.owner, 0xabc);
	CHECK_EQ(mock.flock_calls, 1);
	CHECK_EQ(mock.flock_op, LOCK_UN);
	CHECK_EQ(mock.release_calls, 1);
	CHECK_STREQ(mock.op, "release");
	CHECK_EQ(rep.written, HDR);

	rq_init(&rq, FUSE_FLUSH, 20, 134);
	rq_add(&rq, &fl, sizeof(fl));
	send(4096);
	CHECK(mock.flush_calls == 2 && mock.owner == 0xdef);

	rq_init(&rq, FUSE_FSYNC, 20, 135);
	rq_add(&rq, &fs, sizeof(fs));
	send(4096);
	CHECK(strcmp(mock.op, "fsync") == 0 && mock.datasync);
	rq_init(&rq, FUSE_FSYNCDIR, 20, 136);
	fs.fsync_flags = 0;
	rq_add(&rq, &fs, sizeof(fs));
	send(4096);
	CHECK(strcmp(mock.op, "fsyncdir") == 0 && !mock.datasync);
}

static void test_data_ops(void)
{
	struct fuse_read_in ri = {.fh = 7, .offset = 4096, .size = 100000};
	struct fuse_write_in wi = {
		.fh = 8, .offset = 10, .size = 70000, .write_flags = FUSE_WRITE_KILL_SUIDGID};
	struct fuse_write_out wo;
	static uint8_t payload[70000];

	for (size_t i = 0; i < sizeof(mock.data); i++)
		mock.data[i] = (uint8_t)(i * 7);
	mock.data_len = sizeof(mock.data); /* shorter than asked: EOF */
	split_mode = SPLIT_PAGES;
	rq_init(&rq, FUSE_READ, 30, 140);
	rq_add(&rq, &ri, sizeof(ri));
	send(HDR + 100000);
	CHECK_STREQ(mock.op, "read");
	CHECK(mock.fh == 7 && mock.off == 4096);
	CHECK_EQ(rep.oh.error, 0);
	CHECK_EQ(rep.oh.len, HDR + sizeof(mock.data));
	CHECK_EQ(rep.written, HDR + sizeof(mock.data));
	CHECK(memcmp(rep.data, mock.data, sizeof(mock.data)) == 0);

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 3 + 1);
	rq_init(&rq, FUSE_WRITE, 31, 141);
	rq_add(&rq, &wi, sizeof(wi));
	rq_add(&rq, payload, sizeof(payload));
	send(4096);
	CHECK_STREQ(mock.op, "write");
	CHECK(mock.fh == 8 && mock.off == 10 && mock.write_flags == FS_WRITE_KILL_SUIDGID);
	CHECK_EQ(mock.data_len, sizeof(payload));
	CHECK(memcmp(mock.data, payload, sizeof(mock.data)) == 0);
	CHECK_EQ(rep.oh.len, HDR + sizeof(wo));
	memcpy(&wo, rep.data, sizeof(wo));
	CHECK_EQ(wo.size, sizeof(payload));
	split_mode = SPLIT_ODD;

	/* Small read over odd pieces. */
	ri.size = 300;
	rq_init(&rq, FUSE_READ, 30, 142);
	rq_add(&rq, &ri, sizeof(ri));
	send(HDR + 300);
	CHECK_EQ(rep.oh.len, HDR + 300);
	CHECK(memcmp(rep.data, mock.data, 300) == 0);
}

static void test_misc_file_ops(void)
{
	struct fuse_fallocate_in fa = {.fh = 1, .offset = 100, .length = 200, .mode = 3};
	struct fuse_lseek_in ls = {.fh = 2, .offset = 50, .whence = SEEK_DATA};
	struct fuse_copy_file_range_in cf = {
		.fh_in = 3, .off_in = 4, .nodeid_out = 5, .fh_out = 6, .off_out = 7, .len = 1000};
	struct fuse_syncfs_in sf = {0};
	struct fuse_lseek_out lo;
	struct fuse_write_out wo;

	rq_init(&rq, FUSE_FALLOCATE, 40, 150);
	rq_add(&rq, &fa, sizeof(fa));
	send(4096);
	CHECK(mock.fh == 1 && mock.off == 100 && mock.len == 200 && mock.flags == 3);

	rq_init(&rq, FUSE_LSEEK, 40, 151);
	rq_add(&rq, &ls, sizeof(ls));
	send(4096);
	CHECK(mock.whence == SEEK_DATA && mock.off == 50);
	memcpy(&lo, rep.data, sizeof(lo));
	CHECK_EQ(lo.offset, 60);
	ls.whence = 17;
	rq_init(&rq, FUSE_LSEEK, 40, 151);
	rq_add(&rq, &ls, sizeof(ls));
	send(4096);
	CHECK_EQ(rep.oh.error, -EINVAL);

	rq_init(&rq, FUSE_COPY_FILE_RANGE, 41, 152);
	rq_add(&rq, &cf, sizeof(cf));
	send(4096);
	CHECK(mock.nodeid == 41 && mock.fh == 3 && mock.off == 4 && mock.nodeid2 == 5);
	CHECK(mock.fh2 == 6 && mock.off2 == 7 && mock.size == 1000);
	memcpy(&wo, rep.data, sizeof(wo));
	CHECK_EQ(wo.size, 500);

	rq_init(&rq, FUSE_SYNCFS, 1, 153);
	rq_add(&rq, &sf, sizeof(sf));
	send(4096);
	CHECK_STREQ(mock.op, "syncfs");
	CHECK_EQ(rep.written, HDR);
}

static const uint32_t unsupported[][2] = {
	{FUSE_IOCTL, ENOTTY},
	{FUSE_POLL, ENOSYS},
	{FUSE_BMAP, ENOSYS},
	{FUSE_SETUPMAPPING, ENOSYS},
	{FUSE_REMOVEMAPPING, ENOSYS},
	{52, ENOSYS},
	{1000, ENOSYS},
	{FUSE_SETXATTR, ENOSYS},
	{FUSE_GETXATTR, ENOSYS},
};

static void test_unsupported(void)
{
	uint8_t zeros[64] = {0};

	for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
		rq_init(&rq, unsupported[i][0], 1, 160 + i);
		rq_add(&rq, zeros, sizeof(zeros));
		mock.calls = 0;
		send(4096);
		CHECK_EQ(rep.oh.error, -(int)unsupported[i][1]);
		CHECK_EQ(rep.oh.unique, 160 + i);
		CHECK_EQ(mock.calls, 0);
	}
	rq_init(&rq, FUSE_NOTIFY_REPLY, 1, 170);
	send(4096);
	CHECK_EQ(rep.written, 0);
}

int main(void)
{
	for (int pass = 0; pass < 2; pass++) {
		split_mode = pass ? SPLIT_ODD : SPLIT_ONE;
		setup(false);
		test_entry_ops();
		test_forget();
		test_attr_ops();
		test_open_ops();
		test_data_ops();
		test_misc_file_ops();
		test_unsupported();
	}
	fuse_server_free(srv);
	return check_report("fuse-ops");
}
