/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * frontend-xattrmap: --xattrmap and --security-label against the real daemon. Names set, read,
 * listed and removed through FUSE land under the mapped host names; the guest cannot reach the
 * mapped namespace under its host name; the host's own attributes are hidden. Security contexts
 * (FUSE_SECURITY_CTX) sent with CREATE/MKDIR/MKNOD/SYMLINK, as a 7.38 extension and as the
 * 7.36/7.37 trailing block, end up as the xattr on the new host node before the reply; a label
 * that cannot be set leaves no node behind; malformed contexts get EINVAL and create nothing.
 * Runs as root (security.* xattrs on the host share). Usage: test_xattrmap DAEMON. TAP.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "harness.h"

#define LABEL	   "system_u:object_r:container_file_t:s0"
#define MAP_RULE   "--xattrmap=:map:security.:user.virtiofs.:"
#define HOST_LABEL "user.virtiofs.security.selinux"

static const char *const map_flags[] = {MAP_RULE, NULL};
static const char *const label_flags[] = {"--security-label", NULL};
static const char *const label_map_flags[] = {"--security-label", MAP_RULE, NULL};

static int session(struct th *t, const char *const *flags, uint64_t extra_init)
{
	t->extra_flags = flags;
	t->init_flags = th_init_flags() | extra_init;
	return th_reconnect(t, NULL);
}

/* Whether a NUL-separated list holds name. */
static bool list_has(const char *list, int len, const char *name)
{
	for (int p = 0; p < len; p += (int)strlen(list + p) + 1)
		if (!strcmp(list + p, name))
			return true;
	return false;
}

static void test_map_names(struct th *t)
{
	const char *n = th_name(t, "map");
	struct fuse_entry_out e;
	char buf[512];
	int len;

	T_OK(t, session(t, map_flags, 0));
	T_OK(t, th_host_write(t, n, "x", 1));
	/* The host's own attributes: one under the mapped namespace, one plain. */
	T_OK(t, setxattr(th_host(t, n), "user.virtiofs.hostonly", "h", 1, 0));
	T_OK(t, setxattr(th_host(t, n), "user.plain", "p", 1, 0));
	T_OK(t, setxattr(th_host(t, n), "security.hostlabel", "s", 1, 0));
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, n, &e));

	T_OK(t, fe_setxattr(t->fe, e.nodeid, "security.selinux", "lbl", 3, 0, 0));
	memset(buf, 0, sizeof(buf));
	T_EQ(t, getxattr(th_host(t, n), HOST_LABEL, buf, sizeof(buf)), 3);
	T_STREQ(t, buf, "lbl");
	memset(buf, 0, sizeof(buf));
	T_EQ(t, fe_getxattr(t->fe, e.nodeid, "security.selinux", buf, sizeof(buf)), 3);
	T_STREQ(t, buf, "lbl");
	/* Names outside the key pass unchanged. */
	T_EQ(t, fe_getxattr(t->fe, e.nodeid, "user.plain", buf, sizeof(buf)), 1);
	/* The host's own security.* is not the guest's: hidden and not reachable. */
	T_EQ(t, fe_getxattr(t->fe, e.nodeid, "security.hostlabel", buf, sizeof(buf)), -ENODATA);

	/* The mapped namespace under its host name: refused, whatever the guest tries. */
	T_EQ(t, fe_getxattr(t->fe, e.nodeid, HOST_LABEL, buf, sizeof(buf)), -EPERM);
	T_EQ(t, fe_setxattr(t->fe, e.nodeid, HOST_LABEL, "x", 1, 0, 0), -EPERM);
	T_EQ(t, fe_setxattr(t->fe, e.nodeid, "user.virtiofs.hostonly", "x", 1, 0, 0), -EPERM);
	T_EQ(t, fe_removexattr(t->fe, e.nodeid, "user.virtiofs.hostonly"), -EPERM);
	T_EQ(t, getxattr(th_host(t, n), "user.virtiofs.hostonly", buf, sizeof(buf)), 1);

	/* The list: the guest's view only, and the size query agrees with the list. */
	len = fe_listxattr(t->fe, e.nodeid, NULL, 0);
	memset(buf, 0, sizeof(buf));
	T_EQ(t, fe_listxattr(t->fe, e.nodeid, buf, sizeof(buf)), len);
	T_CHECK(t, len > 0 && list_has(buf, len, "security.selinux"));
	T_CHECK(t, list_has(buf, len, "user.plain"));
	T_CHECK(t, !list_has(buf, len, HOST_LABEL) && !list_has(buf, len, "hostonly"));
	T_CHECK(t, !list_has(buf, len, "user.virtiofs.hostonly"));
	T_CHECK(t, !list_has(buf, len, "security.hostlabel"));
	T_EQ(t, len, (int)(sizeof("security.selinux") + sizeof("user.plain")));
	T_EQ(t, fe_listxattr(t->fe, e.nodeid, buf, (uint32_t)len - 1), -ERANGE);

	T_OK(t, fe_removexattr(t->fe, e.nodeid, "security.selinux"));
	T_CHECK(t, getxattr(th_host(t, n), HOST_LABEL, buf, sizeof(buf)) < 0 && errno == ENODATA);
	T_EQ(t, getxattr(th_host(t, n), "security.hostlabel", buf, sizeof(buf)), 1);
}

/* A rule set whose literal reading would let guest names alias the mapped namespace. */
static void test_no_alias(struct th *t)
{
	static const char *const f[] = {
		"--xattrmap=:prefix:all:trusted.:user.virtiofs.: :ok:all:::", NULL};
	const char *n = th_name(t, "alias");
	struct fuse_entry_out e;
	char buf[64];

	T_OK(t, session(t, f, 0));
	T_OK(t, th_host_write(t, n, "x", 1));
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, n, &e));
	T_OK(t, fe_setxattr(t->fe, e.nodeid, "trusted.t", "1", 1, 0, 0));
	T_EQ(t, getxattr(th_host(t, n), "user.virtiofs.trusted.t", buf, sizeof(buf)), 1);
	/* The same host attribute under its host name would list as trusted.t: refused. */
	T_EQ(t, fe_getxattr(t->fe, e.nodeid, "user.virtiofs.trusted.t", buf, sizeof(buf)), -EPERM);
	T_EQ(t, fe_setxattr(t->fe, e.nodeid, "user.virtiofs.trusted.t", "2", 1, 0, 0), -EPERM);
	T_OK(t, fe_setxattr(t->fe, e.nodeid, "user.free", "3", 1, 0, 0));
}

/* A request with arguments and an optional 7.38 extension area, as raw bytes. */
static int32_t send_raw(struct th *t, uint32_t opcode, const void *args, size_t args_len,
			const void *ext, size_t ext_len, struct fuse_entry_out *ret)
{
	static uint8_t in[8192], out[4096];
	static uint64_t unique = 0x51000;
	struct fuse_in_header ih = {.len = (uint32_t)(sizeof(ih) + args_len + ext_len),
				    .opcode = opcode,
				    .unique = unique += 2,
				    .nodeid = FE_ROOT_ID,
				    .pid = 1,
				    .total_extlen = (uint16_t)(ext_len / 8)};
	struct iovec i = IOV(in, ih.len), o = IOV(out, sizeof(out));
	struct fuse_out_header oh;
	uint32_t used = 0;

	if (ih.len > sizeof(in))
		return -E2BIG;
	memcpy(in, &ih, sizeof(ih));
	memcpy(in + sizeof(ih), args, args_len);
	if (ext_len)
		memcpy(in + sizeof(ih) + args_len, ext, ext_len);
	if (fe_request(t->fe, 1, &i, 1, &o, 1, &used, 5000) < 0 || used < sizeof(oh))
		return -FE_EBADREPLY;
	memcpy(&oh, out, sizeof(oh));
	if (oh.unique != ih.unique)
		return -FE_EBADREPLY;
	if (oh.error == 0 && ret)
		memcpy(ret, out + sizeof(oh), sizeof(*ret));
	return oh.error;
}

/* fuse_secctx_header + fuse_secctx + name + value, padded to 8, as Linux builds it. */
static size_t secctx_block(uint8_t *buf, uint32_t nr, const char *name, const void *value,
			   uint32_t vlen, uint32_t claimed_vlen)
{
	struct fuse_secctx_header h = {.nr_secctx = nr};
	struct fuse_secctx sc = {.size = claimed_vlen};
	size_t off = sizeof(h);

	if (nr) {
		memcpy(buf + off, &sc, sizeof(sc));
		off += sizeof(sc);
		memcpy(buf + off, name, strlen(name) + 1);
		off += strlen(name) + 1;
		memcpy(buf + off, value, vlen);
		off += vlen;
		while (off % 8)
			buf[off++] = 0;
	}
	h.size = (uint32_t)off;
	memcpy(buf, &h, sizeof(h));
	return off;
}

/* The arguments of a creating op (struct + names) named n. */
static size_t create_args(uint32_t op, const char *n, uint8_t *buf)
{
	size_t off = 0;

	if (op == FUSE_TMPFILE)
		n = "/"; /* what Linux sends for the unnamed dentry */
	switch (op) {
	case FUSE_TMPFILE:
	case FUSE_CREATE: {
		struct fuse_create_in c = {.flags = O_WRONLY, .mode = S_IFREG | 0644};
		memcpy(buf, &c, sizeof(c));
		off = sizeof(c);
		break;
	}
	case FUSE_MKDIR: {
		struct fuse_mkdir_in m = {.mode = 0755};
		memcpy(buf, &m, sizeof(m));
		off = sizeof(m);
		break;
	}
	case FUSE_MKNOD: {
		struct fuse_mknod_in m = {.mode = S_IFIFO | 0644};
		memcpy(buf, &m, sizeof(m));
		off = sizeof(m);
		break;
	}
	default:
		break;
	}
	memcpy(buf + off, n, strlen(n) + 1);
	off += strlen(n) + 1;
	if (op == FUSE_SYMLINK) {
		memcpy(buf + off, "target", sizeof("target"));
		off += sizeof("target");
	}
	return off;
}

static const uint32_t create_ops[] = {FUSE_CREATE, FUSE_MKDIR, FUSE_MKNOD, FUSE_SYMLINK,
				      FUSE_TMPFILE};

/* Each creating op with a label: 7.38 extension (trailing = false) or 7.37 block. */
static void label_each_op(struct th *t, bool trailing, const char *host_name, bool all_types)
{
	for (unsigned i = 0; i < sizeof(create_ops) / sizeof(create_ops[0]); i++) {
		uint8_t args[512], blk[512];
		const char *n = th_name(t, "lab");
		struct fuse_entry_out e;
		char buf[256] = {0};
		size_t a = create_args(create_ops[i], n, args);
		size_t b = secctx_block(blk, 1, "security.selinux", LABEL, sizeof(LABEL) - 1,
					sizeof(LABEL) - 1);
		int32_t err;

		if (trailing) {
			memcpy(args + a, blk, b);
			err = send_raw(t, create_ops[i], args, a + b, NULL, 0, &e);
		} else {
			err = send_raw(t, create_ops[i], args, a, blk, b, &e);
		}
		if (create_ops[i] == FUSE_TMPFILE) {
			/* No host name: read it back through the daemon (mapped, if it maps). */
			T_EQ(t, err, 0);
			T_EQ(t, fe_getxattr(t->fe, e.nodeid, "security.selinux", buf, sizeof(buf)),
			     (int)sizeof(LABEL) - 1);
			T_STREQ(t, buf, LABEL);
		} else if (all_types || create_ops[i] == FUSE_CREATE ||
			   create_ops[i] == FUSE_MKDIR) {
			T_EQ(t, err, 0);
			T_EQ(t, lgetxattr(th_host(t, n), host_name, buf, sizeof(buf)),
			     (ssize_t)sizeof(LABEL) - 1);
			T_STREQ(t, buf, LABEL);
		} else {
			/* user.* xattrs exist only on files and directories: the host refuses the
			 * mapped label on a FIFO or symlink, and the node must not stay. */
			struct stat st;

			T_EQ(t, err, -EPERM);
			T_CHECK(t, lstat(th_host(t, n), &st) < 0 && errno == ENOENT);
		}
	}
}

static void test_label_ext(struct th *t)
{
	T_OK(t, session(t, label_flags, FUSE_SECURITY_CTX));
	T_CHECK(t, fe_fuse_init_out(t->fe)->flags2 & (FUSE_SECURITY_CTX >> 32));
	label_each_op(t, false, "security.selinux", true);
}

static void test_label_mapped(struct th *t)
{
	T_OK(t, session(t, label_map_flags, FUSE_SECURITY_CTX));
	label_each_op(t, false, HOST_LABEL, false);
}

/* Linux 5.17-6.1 (7.36/7.37): the block trails the names, no extension header. */
static void test_label_trailing(struct th *t)
{
	T_OK(t, session(t, label_flags, FUSE_SECURITY_CTX));
	T_OK(t, fe_init(t->fe, 37, th_init_flags() | FUSE_SECURITY_CTX));
	T_EQ(t, fe_fuse_init_out(t->fe)->minor, 37);
	label_each_op(t, true, "security.selinux", true);
}

/*
 * Without the option the flag is not offered; with it, a guest that does not offer the flag is
 * served unlabelled (the Rust daemon refuses its INIT): an extension it sends anyway is ignored.
 */
static void test_label_off(struct th *t)
{
	uint8_t args[512], blk[512];
	const char *n = th_name(t, "off");
	size_t a = create_args(FUSE_MKDIR, n, args);
	size_t b = secctx_block(blk, 1, "security.selinux", LABEL, sizeof(LABEL) - 1,
				sizeof(LABEL) - 1);
	char buf[256];

	T_OK(t, session(t, NULL, FUSE_SECURITY_CTX));
	T_EQ(t, fe_fuse_init_out(t->fe)->flags2 & (FUSE_SECURITY_CTX >> 32), 0);
	T_OK(t, session(t, label_flags, 0));
	T_EQ(t, fe_fuse_init_out(t->fe)->flags2 & (FUSE_SECURITY_CTX >> 32), 0);
	T_EQ(t, send_raw(t, FUSE_MKDIR, args, a, blk, b, NULL), 0);
	T_CHECK(t, lgetxattr(th_host(t, n), "security.selinux", buf, sizeof(buf)) < 0 &&
			   errno == ENODATA);
}

static void test_label_hostile(struct th *t)
{
	static const struct {
		uint32_t nr;
		const char *name;
		uint32_t vlen, claimed;
	} bad[] = {
		{2, "security.selinux", 4, 4},		/* two contexts */
		{1, "security.selinux", 4, 0},		/* empty label */
		{1, "security.selinux", 4, 64},		/* label beyond the block */
		{1, "user.evil", 4, 4},			/* not a security.* name */
		{1, "security.", 4, 4},			/* only the prefix */
		{1, "security.selinux", 4, 0xffffffff}, /* size overflow */
	};
	uint8_t args[512], blk[8192];
	struct stat st;

	T_OK(t, session(t, label_flags, FUSE_SECURITY_CTX));
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *n = th_name(t, "bad");
		size_t a = create_args(FUSE_MKDIR, n, args);
		size_t b = secctx_block(blk, bad[i].nr, bad[i].name, "abcd", bad[i].vlen,
					bad[i].claimed);

		T_EQ(t, send_raw(t, FUSE_MKDIR, args, a, blk, b, NULL), -EINVAL);
		T_CHECK(t, lstat(th_host(t, n), &st) < 0 && errno == ENOENT);
	}
	/* A name without its NUL, running to the end of the block. */
	{
		const char *n = th_name(t, "bad");
		size_t a = create_args(FUSE_CREATE, n, args);
		struct fuse_secctx_header h = {.size = 24, .nr_secctx = 1};
		struct fuse_secctx sc = {.size = 2};

		memcpy(blk, &h, sizeof(h));
		memcpy(blk + 8, &sc, sizeof(sc));
		memcpy(blk + 16, "security", 8);
		T_EQ(t, send_raw(t, FUSE_CREATE, args, a, blk, 24, NULL), -EINVAL);
		T_CHECK(t, lstat(th_host(t, n), &st) < 0 && errno == ENOENT);
	}
	/* A label larger than a page. */
	{
		static char big[5000];
		const char *n = th_name(t, "bad");
		size_t a = create_args(FUSE_MKDIR, n, args);
		size_t b;

		memset(big, 'a', sizeof(big));
		b = secctx_block(blk, 1, "security.selinux", big, 4100, 4100);
		T_EQ(t, send_raw(t, FUSE_MKDIR, args, a, blk, b, NULL), -EINVAL);
	}
	/* 7.37: a trailing block whose header size disagrees with the request. */
	T_OK(t, fe_init(t->fe, 37, th_init_flags() | FUSE_SECURITY_CTX));
	{
		const char *n = th_name(t, "bad");
		size_t a = create_args(FUSE_MKDIR, n, args);
		size_t b = secctx_block(args + a, 1, "security.selinux", "abcd", 4, 4);

		args[a] ^= 8; /* the header's size */
		T_EQ(t, send_raw(t, FUSE_MKDIR, args, a + b, NULL, 0, NULL), -EINVAL);
		T_EQ(t, send_raw(t, FUSE_MKDIR, args, a + 3, NULL, 0, NULL), -EINVAL);
		T_CHECK(t, lstat(th_host(t, n), &st) < 0 && errno == ENOENT);
	}
	/* Still serving. */
	{
		struct fuse_attr_out attr;

		T_OK(t, fe_getattr(t->fe, FE_ROOT_ID, NULL, &attr));
	}
}

static const struct th_test th_xattrmap_tests[] = {
	{"xattrmap-names", test_map_names},
	{"xattrmap-no-alias", test_no_alias},
	{"security-label-ext", test_label_ext},
	{"security-label-mapped", test_label_mapped},
	{"security-label-trailing", test_label_trailing},
	{"security-label-off", test_label_off},
	{"security-label-hostile", test_label_hostile},
	{NULL, NULL},
};

int main(int argc, char **argv)
{
	static const struct th_test *const families[] = {th_xattrmap_tests, NULL};

	return th_main(argc, argv, families);
}
