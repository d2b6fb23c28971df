// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * frontend-vt: the version table (docs/coherence.md) through the real interfaces. Our frontend
 * plays QEMU 11.1's vhost-user-test-device-pci (GET_SHMEM_CONFIG, SHMEM_MAP of region 1, see
 * fe_dax.c) and a patched guest (the private INIT flag, versioned replies parsed by hand, the
 * counters read from the mapped region as the guest module reads them). Two vfsd binaries on
 * one share and one table show that a change through one moves the other's mirror, and that
 * a guest scribbling on its own mirror hurts nobody else. Usage: test_vt DAEMON; TAP.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dax_util.h"
#include "fuse/fuse_internal.h" /* FUSE_STATX, COPY_FILE_RANGE_64: newer than the host's <linux/fuse.h> */
#include "util/macros.h"
#include "vfsd/vt_proto.h"

#define VT_FLAG	 VFSD_VT_INIT_FLAG
#define LONG_TTL 86400u
#define SLOTS	 131072u /* the daemon's default */

static char table_dir[64], table_opt[128], tiny_opt[128], adapt_opt[128];
/* The table's own semantics (exact counts, two daemons) are checked without the host change
 * watch: it bumps the changes of every other process, another vfsd's included, asynchronously.
 * The watch has its own tests below. */
static const char *flags_vt[] = {"--tag=vt", "--dax=never",	"--coherence=table",
				 table_opt,  "--vt-watch=none", NULL};
static const char *flags_vt_dax[] = {"--tag=vt", "--dax-window=16M", "--coherence=table",
				     table_opt,	 "--vt-watch=none",  NULL};
static const char *const flags_plain[] = {"--tag=vt", "--dax=never", NULL};
static const char *flags_tiny[] = {"--tag=vt", "--dax=never",  "--coherence=table",
				   tiny_opt,   "--vt-slots=1", "--vt-watch=none",
				   NULL};
static const char *flags_fanotify[] = {"--tag=vt", "--dax=never",	  "--coherence=table",
				       table_opt,  "--vt-watch=fanotify", NULL};
/* Adaptive timeouts for stock guests, 20 ms to 2 s, with the default (fanotify) host watch. */
static const char *flags_adapt[] = {
	"--tag=vt", "--dax=never", "--coherence=table", adapt_opt, "--adaptive-timeout=20:2000",
	NULL};
static const char *flags_adapt_off[] = {"--tag=vt", "--dax=never", "--coherence=table", adapt_opt,
					NULL};
static const char *flags_inotify[] = {"--tag=vt", "--dax=never",	"--coherence=table",
				      table_opt,  "--vt-watch=inotify", NULL};

struct entry_vt {
	struct fuse_entry_out e;
	struct vfsd_vt_entry_out v;
};

struct attr_vt {
	struct fuse_attr_out a;
	struct vfsd_vt_attr_out v;
};

struct statx_vt {
	struct fuse_statx_out s;
	struct vfsd_vt_attr_out v;
};

static int start(struct th *t, const char *const *flags, uint64_t init_flags)
{
	int r = dax_start(t, flags, NULL);

	/* dax_start() INITs with the DAX flags; the guest here offers its own. */
	if (r == 0 && init_flags != DAX_INIT_FLAGS)
		r = fe_init(t->fe, 38, init_flags);
	return r;
}

static int lookup_vt(struct fe *fe, uint64_t parent, const char *name, struct entry_vt *ret,
		     size_t *ret_len)
{
	struct iovec a = IOVNAME(name);

	memset(ret, 0, sizeof(*ret));
	return fe_fuse_call(fe, FUSE_LOOKUP, parent, &a, 1, ret, sizeof(*ret), ret_len);
}

static int getattr_vt(struct fe *fe, uint64_t node, struct attr_vt *ret, size_t *ret_len)
{
	struct fuse_getattr_in in = {0};
	struct iovec a = IOVS(&in);

	memset(ret, 0, sizeof(*ret));
	return fe_fuse_call(fe, FUSE_GETATTR, node, &a, 1, ret, sizeof(*ret), ret_len);
}

/* STATX (Linux >= 6.6 guests: sid's virtiofs_vt.ko) with room for the extension. */
static int statx_vt(struct fe *fe, uint64_t node, struct statx_vt *ret, size_t *ret_len)
{
	struct fuse_statx_in in = {.sx_mask = STATX_BASIC_STATS | STATX_BTIME};
	struct iovec a = IOVS(&in);

	memset(ret, 0, sizeof(*ret));
	return fe_fuse_call(fe, FUSE_STATX, node, &a, 1, ret, sizeof(*ret), ret_len);
}

static int mkdir_vt(struct fe *fe, uint64_t parent, const char *name, struct entry_vt *ret)
{
	struct fuse_mkdir_in in = {.mode = 0755};
	struct iovec a[2] = {IOVS(&in), IOVNAME(name)};
	size_t len;

	return fe_fuse_call(fe, FUSE_MKDIR, parent, a, 2, ret, sizeof(*ret), &len);
}

static int chmod_vt(struct fe *fe, uint64_t node, uint32_t mode)
{
	struct fuse_setattr_in in = {.valid = FATTR_MODE, .mode = S_IFREG | mode};
	struct iovec a = IOVS(&in);
	struct attr_vt r;
	size_t len;

	return fe_fuse_call(fe, FUSE_SETATTR, node, &a, 1, &r, sizeof(r), &len);
}

/* UNLINK (RMDIR with rmdir) with room for the vfsd_vt_dirs_out; *ret_len gets the body's size. */
static int remove_vt(struct fe *fe, uint64_t parent, const char *name, bool rmdir,
		     struct vfsd_vt_dirs_out *ret, size_t *ret_len)
{
	struct iovec a = IOVNAME(name);

	memset(ret, 0, sizeof(*ret));
	*ret_len = 0;
	return fe_fuse_call(fe, rmdir ? FUSE_RMDIR : FUSE_UNLINK, parent, &a, 1, ret, sizeof(*ret),
			    ret_len);
}

/* RENAME2 (flags) with room for the vfsd_vt_dirs_out. */
static int rename_vt(struct fe *fe, uint64_t dir, const char *name, uint64_t newdir,
		     const char *newname, uint32_t flags, struct vfsd_vt_dirs_out *ret,
		     size_t *ret_len)
{
	struct fuse_rename2_in in = {.newdir = newdir, .flags = flags};
	struct iovec a[3] = {IOVS(&in), IOVNAME(name), IOVNAME(newname)};

	memset(ret, 0, sizeof(*ret));
	*ret_len = 0;
	return fe_fuse_call(fe, FUSE_RENAME2, dir, a, 3, ret, sizeof(*ret), ret_len);
}

/* The guest's view: counters[slot] + epoch in the mapped region 1 (0 if it is not there). */
static uint64_t mirror(struct fe *fe, uint32_t slot)
{
	uint64_t size;
	const volatile uint8_t *p = fe_shm_region1(fe, &size);
	const volatile struct vfsd_vt_header *h = (const volatile void *)p;

	if (!p || slot >= h->nslots || VFSD_VT_HDR_SIZE + (slot + 1ull) * 8 > size)
		return 0;
	return ((const volatile uint64_t *)(p + VFSD_VT_HDR_SIZE))[slot] + h->epoch;
}

static volatile struct vfsd_vt_header *mirror_hdr(struct fe *fe)
{
	uint64_t size;

	return (volatile struct vfsd_vt_header *)fe_shm_region1(fe, &size);
}

static volatile uint64_t *mirror_slot(struct fe *fe, uint32_t slot)
{
	uint64_t size;
	const volatile uint8_t *p = fe_shm_region1(fe, &size);

	return p ? (volatile uint64_t *)(p + VFSD_VT_HDR_SIZE) + slot : NULL;
}

static void check_channel(struct th *t, struct fe *fe)
{
	struct fe_dax_stats s;

	T_OK(t, fe_dax_settle(fe, 5000));
	fe_dax_stats(fe, &s);
	T_EQ(t, s.refused, 0);
	T_EQ(t, s.memreg_errors, 0);
}

/* The readdir-cache flags of an OPENDIR reply for the root. */
static uint32_t opendir_cache_flags(struct th *t)
{
	struct fuse_open_out o = {0};

	T_OK(t, fe_opendir(t->fe, FE_ROOT_ID, &o));
	T_OK(t, fe_releasedir(t->fe, FE_ROOT_ID, o.fh));
	return o.open_flags & (FOPEN_CACHE_DIR | FOPEN_KEEP_CACHE);
}

/* A stock guest (no flag) gets exactly today's replies; the region exists but is not mapped. */
static void test_stock_guest(struct th *t)
{
	const struct fuse_init_out *io;
	struct entry_vt r;
	size_t len = 0;

	T_OK(t, start(t, flags_vt, th_init_flags()));
	io = fe_fuse_init_out(t->fe);
	T_EQ(t, io->flags2 & (uint32_t)(VT_FLAG >> 32), 0);
	T_CHECK(t, io->flags & FUSE_DO_READDIRPLUS);
	T_EQ(t, fe_dax_shmem_config(t->fe)->memory_sizes[1], 2u << 20);
	T_EQ(t, fe_dax_shmem_config(t->fe)->memory_sizes[0], 0);
	T_OK(t, th_host_write(t, "stock", "s", 1));
	T_OK(t, lookup_vt(t->fe, FE_ROOT_ID, "stock", &r, &len));
	T_EQ(t, len, sizeof(struct fuse_entry_out));
	T_CHECK(t, r.e.entry_valid < LONG_TTL && r.e.attr_valid < LONG_TTL);
	{
		struct statx_vt sx;

		T_OK(t, statx_vt(t->fe, r.e.nodeid, &sx, &len));
		T_EQ(t, len, sizeof(struct fuse_statx_out));
	}
	T_EQ(t, lookup_vt(t->fe, FE_ROOT_ID, "missing", &r, &len), -ENOENT);
	T_CHECK(t, fe_shm_region1(t->fe, &(uint64_t){0}) == NULL);
	/* --cache=auto: no readdir cache for a guest without the table. */
	T_EQ(t, opendir_cache_flags(t), 0);
	/* Removals and renames keep their empty replies, even with room offered. */
	{
		struct vfsd_vt_dirs_out x;
		struct iovec a[3] = {IOVS(&(struct fuse_rename_in){.newdir = FE_ROOT_ID}),
				     IOVNAME("stock"), IOVNAME("stock2")};

		len = 1;
		T_OK(t, fe_fuse_call(t->fe, FUSE_RENAME, FE_ROOT_ID, a, 3, &x, sizeof(x), &len));
		T_EQ(t, len, 0);
		T_OK(t, rename_vt(t->fe, FE_ROOT_ID, "stock2", FE_ROOT_ID, "stock", 0, &x, &len));
		T_EQ(t, len, 0);
		T_OK(t, remove_vt(t->fe, FE_ROOT_ID, "stock", false, &x, &len));
		T_EQ(t, len, 0);
		T_OK(t, mkdir_vt(t->fe, FE_ROOT_ID, "sd", &r));
		T_OK(t, remove_vt(t->fe, FE_ROOT_ID, "sd", true, &x, &len));
		T_EQ(t, len, 0);
	}
	check_channel(t, t->fe);
}

/* Without --coherence=table the flag is never acked and there is no region 1. */
static void test_no_table(struct th *t)
{
	T_OK(t, start(t, flags_plain, th_init_flags() | VT_FLAG));
	T_EQ(t, fe_fuse_init_out(t->fe)->flags2 & (uint32_t)(VT_FLAG >> 32), 0);
	T_EQ(t, fe_protocol_offered(t->fe) & PROTO(VHU_PROTO_SHMEM), 0);
}

/* A patched guest: the flag acked, no readdirplus, its mirror mapped as region 1. */
static void test_acked(struct th *t)
{
	const struct fuse_init_out *io;
	const volatile struct vfsd_vt_header *h;
	uint64_t size = 0;

	T_OK(t, start(t, flags_vt, th_init_flags() | VT_FLAG));
	io = fe_fuse_init_out(t->fe);
	T_CHECK(t, io->flags2 & (uint32_t)(VT_FLAG >> 32));
	T_EQ(t, io->flags & (FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO), 0);
	h = (const volatile void *)fe_shm_region1(t->fe, &size);
	T_CHECK(t, h != NULL);
	if (!h)
		return;
	T_EQ(t, size, 2u << 20);
	T_CHECK(t, memcmp((const void *)h->magic, VFSD_VT_MAGIC, 8) == 0);
	T_EQ(t, h->layout, VFSD_VT_LAYOUT);
	T_EQ(t, h->header_size, VFSD_VT_HDR_SIZE);
	T_EQ(t, h->nslots, SLOTS);
	/* The guest keys its readdir cache on the directory's version: the cache is kept, even
	 * with --cache=auto. */
	T_EQ(t, opendir_cache_flags(t), FOPEN_CACHE_DIR | FOPEN_KEEP_CACHE);
	check_channel(t, t->fe);
}

/* Entry, attribute and negative replies carry the versions the guest sees in its mirror. */
static void test_versioned_replies(struct th *t)
{
	struct entry_vt r;
	struct attr_vt a;
	struct statx_vt sx;
	struct fuse_entry_out small;
	struct iovec name = IOVNAME("vf");
	size_t len = 0;

	T_OK(t, start(t, flags_vt, th_init_flags() | VT_FLAG));
	T_OK(t, th_host_write(t, "vf", "v", 1));
	T_OK(t, lookup_vt(t->fe, FE_ROOT_ID, "vf", &r, &len));
	T_EQ(t, len, sizeof(r));
	T_EQ(t, r.v.node.flags, VFSD_VT_VALID);
	T_CHECK(t, r.v.node.slot < SLOTS);
	T_EQ(t, r.v.node.version, mirror(t->fe, r.v.node.slot));
	T_EQ(t, r.v.parent.flags, VFSD_VT_VALID);
	T_EQ(t, r.v.parent.version, mirror(t->fe, r.v.parent.slot));
	T_CHECK(t, r.v.parent.slot != r.v.node.slot);
	T_EQ(t, r.e.entry_valid, LONG_TTL);
	T_EQ(t, r.e.attr_valid, LONG_TTL);

	/* GETATTR and STATX (Linux >= 6.6) carry the node's version the same way. */
	T_OK(t, getattr_vt(t->fe, r.e.nodeid, &a, &len));
	T_EQ(t, len, sizeof(a));
	T_EQ(t, a.a.attr_valid, LONG_TTL);
	T_OK(t, statx_vt(t->fe, r.e.nodeid, &sx, &len));
	T_EQ(t, len, sizeof(sx));
	T_EQ(t, sx.s.attr_valid, LONG_TTL);
	T_EQ(t, sx.s.stat.size, 1);
	for (const struct vfsd_vt_ver *v = &a.v.node; v; v = v == &a.v.node ? &sx.v.node : NULL) {
		T_EQ(t, v->flags, VFSD_VT_VALID);
		T_EQ(t, v->slot, r.v.node.slot);
		T_EQ(t, v->version, mirror(t->fe, r.v.node.slot));
	}

	/* A missing name: a cacheable negative entry, valid while the directory's version is. */
	T_OK(t, lookup_vt(t->fe, FE_ROOT_ID, "nothing-here", &r, &len));
	T_EQ(t, len, sizeof(r));
	T_EQ(t, r.e.nodeid, 0);
	T_EQ(t, r.e.entry_valid, LONG_TTL);
	T_EQ(t, r.v.node.flags, 0);
	T_EQ(t, r.v.parent.flags, VFSD_VT_VALID);
	T_EQ(t, r.v.parent.version, mirror(t->fe, r.v.parent.slot));

	/* A guest that posts no room for the extension gets EIO, before anything is done. */
	T_EQ(t, fe_fuse_call(t->fe, FUSE_LOOKUP, FE_ROOT_ID, &name, 1, &small, sizeof(small), &len),
	     -EIO);
	check_channel(t, t->fe);
}

/* Every change made through the daemon moves the mapped counters of what it touched. */
static void test_counters_move(struct th *t)
{
	struct entry_vt f, d, g;
	struct fuse_open_out o;
	size_t len;
	uint64_t v, dir, node;

	T_OK(t, start(t, flags_vt, th_init_flags() | VT_FLAG));
	T_OK(t, th_host_write(t, "m", "m", 1));
	T_OK(t, mkdir_vt(t->fe, FE_ROOT_ID, "md", &d));
	T_OK(t, lookup_vt(t->fe, FE_ROOT_ID, "m", &f, &len));
	T_OK(t, lookup_vt(t->fe, FE_ROOT_ID, "md", &d, &len));
	node = f.e.nodeid;
	dir = d.e.nodeid;

	v = mirror(t->fe, f.v.node.slot);
	T_OK(t, chmod_vt(t->fe, node, 0600));
	T_CHECK(t, mirror(t->fe, f.v.node.slot) > v);

	v = mirror(t->fe, f.v.node.slot);
	T_OK(t, fe_open(t->fe, node, O_RDWR, &o));
	T_EQ(t, fe_write(t->fe, node, o.fh, 0, "abc", 3, 0), 3);
	T_CHECK(t, mirror(t->fe, f.v.node.slot) > v);
	v = mirror(t->fe, f.v.node.slot);
	T_OK(t, fe_fallocate(t->fe, node, o.fh, 0, 8192, 0));
	T_CHECK(t, mirror(t->fe, f.v.node.slot) > v);
	v = mirror(t->fe, f.v.node.slot);
	T_OK(t, fe_setxattr(t->fe, node, "user.vt", "1", 1, 0, 0));
	T_CHECK(t, mirror(t->fe, f.v.node.slot) > v);
	T_OK(t, fe_release(t->fe, node, o.fh, 0));

	/* Reads change nothing. */
	v = mirror(t->fe, f.v.node.slot);
	T_OK(t, lookup_vt(t->fe, FE_ROOT_ID, "m", &g, &len));
	T_EQ(t, mirror(t->fe, f.v.node.slot), v);
	T_EQ(t, g.v.node.version, v);

	/* Names: the directory moves, and the creating reply says by how much. */
	v = mirror(t->fe, d.v.node.slot);
	{
		struct iovec a[2];
		struct fuse_create_in ci = {.flags = O_RDWR, .mode = S_IFREG | 0644};
		struct {
			struct fuse_entry_out e;
			struct fuse_open_out o;
			struct vfsd_vt_entry_out v;
		} cr;

		a[0] = IOVS(&ci);
		a[1] = IOVNAME("c");
		T_OK(t, fe_fuse_call(t->fe, FUSE_CREATE, dir, a, 2, &cr, sizeof(cr), &len));
		T_EQ(t, len, sizeof(cr));
		T_EQ(t, cr.v.parent.flags, VFSD_VT_VALID | VFSD_VT_BUMPED);
		T_EQ(t, cr.v.parent.slot, d.v.node.slot);
		T_EQ(t, cr.v.parent.version, v + 1);
		T_EQ(t, mirror(t->fe, d.v.node.slot), v + 1);
		T_CHECK(t, cr.v.node.flags & VFSD_VT_VALID);
		T_EQ(t, cr.v.node.version, mirror(t->fe, cr.v.node.slot));
		T_OK(t, fe_release(t->fe, cr.e.nodeid, cr.o.fh, 0));
	}
	{
		struct vfsd_vt_dirs_out x;

		v = mirror(t->fe, d.v.node.slot);
		T_OK(t, rename_vt(t->fe, dir, "c", dir, "c2", 0, &x, &len));
		T_CHECK(t, mirror(t->fe, d.v.node.slot) > v);
		v = mirror(t->fe, d.v.node.slot);
		T_OK(t, remove_vt(t->fe, dir, "c2", false, &x, &len));
		T_CHECK(t, mirror(t->fe, d.v.node.slot) > v);
	}
	check_channel(t, t->fe);
}

static void check_bumped(struct th *t, const struct vfsd_vt_ver *got, uint32_t slot,
			 uint64_t before)
{
	T_EQ(t, got->flags, VFSD_VT_VALID | VFSD_VT_BUMPED);
	T_EQ(t, got->slot, slot);
	T_EQ(t, got->version, before + 1);
	T_EQ(t, mirror(t->fe, slot), before + 1);
}

/* SETATTR with room for the vfsd_vt_attr_out; *ret_len gets the reply's size. */
static int setattr_vt(struct fe *fe, uint64_t node, const struct fuse_setattr_in *in,
		      struct attr_vt *ret, size_t *ret_len)
{
	struct iovec a = IOVS(in);

	memset(ret, 0, sizeof(*ret));
	*ret_len = 0;
	return fe_fuse_call(fe, FUSE_SETATTR, node, &a, 1, ret, sizeof(*ret), ret_len);
}

/*
 * A SETATTR that changed the node replies with the value its own bump gave the node's counter
 * (VFSD_VT_BUMPED: the guest keeps the attributes, and a directory's names, on it), with the
 * attributes stat()ed after that bump; one that changed nothing, or failed, moves nothing and
 * a stock guest gets the plain fuse_attr_out.
 */
static void test_setattr_replies(struct th *t)
{
	struct entry_vt f, d;
	struct attr_vt a;
	size_t len;
	uint64_t v;

	T_OK(t, start(t, flags_vt, th_init_flags() | VT_FLAG));
	T_OK(t, th_host_write(t, "sf", "s", 1));
	T_OK(t, mkdir_vt(t->fe, FE_ROOT_ID, "sd", &d));
	T_OK(t, lookup_vt(t->fe, FE_ROOT_ID, "sf", &f, &len));
	T_OK(t, lookup_vt(t->fe, FE_ROOT_ID, "sd", &d, &len));

	/* chmod of a file */
	v = mirror(t->fe, f.v.node.slot);
	T_OK(t, setattr_vt(t->fe, f.e.nodeid,
			   &(struct fuse_setattr_in){.valid = FATTR_MODE, .mode = S_IFREG | 0604},
			   &a, &len));
	T_EQ(t, len, sizeof(a));
	check_bumped(t, &a.v.node, f.v.node.slot, v);
	T_EQ(t, a.a.attr.mode & 07777, 0604);
	T_EQ(t, a.a.attr_valid, LONG_TTL);

	/* times and mode of a directory, as tar restores them */
	v = mirror(t->fe, d.v.node.slot);
	T_OK(t, setattr_vt(t->fe, d.e.nodeid,
			   &(struct fuse_setattr_in){.valid = FATTR_ATIME | FATTR_MTIME,
						     .atime = 1000000,
						     .mtime = 2000000},
			   &a, &len));
	T_EQ(t, len, sizeof(a));
	check_bumped(t, &a.v.node, d.v.node.slot, v);
	T_EQ(t, a.a.attr.mtime, 2000000);
	v = mirror(t->fe, d.v.node.slot);
	T_OK(t, setattr_vt(t->fe, d.e.nodeid,
			   &(struct fuse_setattr_in){.valid = FATTR_MODE, .mode = S_IFDIR | 0750},
			   &a, &len));
	check_bumped(t, &a.v.node, d.v.node.slot, v);
	T_EQ(t, a.a.attr.mode & 07777, 0750);

	/* nothing to change: the version read before, not bumped */
	v = mirror(t->fe, d.v.node.slot);
	T_OK(t, setattr_vt(t->fe, d.e.nodeid, &(struct fuse_setattr_in){.valid = 0}, &a, &len));
	T_EQ(t, len, sizeof(a));
	T_EQ(t, a.v.node.flags, VFSD_VT_VALID);
	T_EQ(t, a.v.node.version, v);
	T_EQ(t, mirror(t->fe, d.v.node.slot), v);

	/* a failed change moves nothing */
	T_EQ(t,
	     setattr_vt(t->fe, d.e.nodeid, &(struct fuse_setattr_in){.valid = FATTR_SIZE}, &a,
			&len),
	     -EISDIR);
	T_EQ(t, mirror(t->fe, d.v.node.slot), v);
	check_channel(t, t->fe);
}

/* A stock guest on a table gets the plain SETATTR reply. */
static void test_setattr_stock(struct th *t)
{
	struct entry_vt f;
	struct attr_vt a;
	size_t len;

	T_OK(t, start(t, flags_vt, th_init_flags()));
	T_OK(t, th_host_write(t, "sf", "s", 1));
	T_OK(t, lookup_vt(t->fe, FE_ROOT_ID, "sf", &f, &len));
	T_OK(t, setattr_vt(t->fe, f.e.nodeid,
			   &(struct fuse_setattr_in){.valid = FATTR_MODE, .mode = S_IFREG | 0600},
			   &a, &len));
	T_EQ(t, len, sizeof(struct fuse_attr_out));
	T_EQ(t, a.v.node.flags, 0);
	T_EQ(t, a.a.attr.mode & 07777, 0600);
	/* The daemon's plain timeout, never the table's day: this guest cannot tell. */
	T_CHECK(t, a.a.attr_valid < LONG_TTL);
	check_channel(t, t->fe);
}

/*
 * UNLINK, RMDIR, RENAME and RENAME2 replies carry, for each directory they changed, the value
 * their own bump gave its counter (the guest keeps the directory's other names on it).
 */
static void test_dirs_replies(struct th *t)
{
	struct entry_vt a, b, f;
	struct vfsd_vt_dirs_out x;
	struct iovec name;
	size_t len;
	uint64_t va, vb;
	uint32_t sa, sb;

	T_OK(t, start(t, flags_vt, th_init_flags() | VT_FLAG));
	T_OK(t, mkdir_vt(t->fe, FE_ROOT_ID, "da", &a));
	T_OK(t, mkdir_vt(t->fe, FE_ROOT_ID, "db", &b));
	sa = a.v.node.slot;
	sb = b.v.node.slot;
	T_CHECK(t, sa != sb);
	T_OK(t, th_host_write(t, "da/f", "f", 1));
	T_OK(t, th_host_write(t, "da/g", "g", 1));
	T_OK(t, th_host_write(t, "db/h", "h", 1));
	T_OK(t, th_host_write(t, "da/e", "e", 1));
	T_OK(t, mkdir_vt(t->fe, a.e.nodeid, "sub", &f));

	/* One directory: the second entry is all zero. */
	va = mirror(t->fe, sa);
	T_OK(t, remove_vt(t->fe, a.e.nodeid, "f", false, &x, &len));
	T_EQ(t, len, sizeof(x));
	check_bumped(t, &x.dir[0], sa, va);
	T_CHECK(t, x.dir[1].flags == 0 && x.dir[1].slot == 0 && x.dir[1].version == 0);

	va = mirror(t->fe, sa);
	T_OK(t, remove_vt(t->fe, a.e.nodeid, "sub", true, &x, &len));
	T_EQ(t, len, sizeof(x));
	check_bumped(t, &x.dir[0], sa, va);
	T_EQ(t, x.dir[1].flags, 0);

	va = mirror(t->fe, sa);
	T_OK(t, rename_vt(t->fe, a.e.nodeid, "g", a.e.nodeid, "g2", 0, &x, &len));
	T_EQ(t, len, sizeof(x));
	check_bumped(t, &x.dir[0], sa, va);
	T_EQ(t, x.dir[1].flags, 0);

	/* Two directories (RENAME and RENAME2): the old name's first. */
	va = mirror(t->fe, sa);
	vb = mirror(t->fe, sb);
	{
		struct iovec r[3] = {IOVS(&(struct fuse_rename_in){.newdir = b.e.nodeid}),
				     IOVNAME("g2"), IOVNAME("g3")};

		memset(&x, 0, sizeof(x));
		T_OK(t, fe_fuse_call(t->fe, FUSE_RENAME, a.e.nodeid, r, 3, &x, sizeof(x), &len));
	}
	T_EQ(t, len, sizeof(x));
	check_bumped(t, &x.dir[0], sa, va);
	check_bumped(t, &x.dir[1], sb, vb);
	va = mirror(t->fe, sa);
	vb = mirror(t->fe, sb);
	T_OK(t, rename_vt(t->fe, b.e.nodeid, "h", a.e.nodeid, "e", RENAME_EXCHANGE, &x, &len));
	T_EQ(t, len, sizeof(x));
	check_bumped(t, &x.dir[0], sb, vb);
	check_bumped(t, &x.dir[1], sa, va);

	/* A failed op has no body and moves nothing. */
	va = mirror(t->fe, sa);
	T_EQ(t, remove_vt(t->fe, a.e.nodeid, "gone", false, &x, &len), -ENOENT);
	T_EQ(t, mirror(t->fe, sa), va);

	/* A guest that posts no room for the body (a module from before it) gets the empty
	 * reply; the change and its bumps are the same. */
	name = IOVNAME("e");
	len = 1;
	T_OK(t, fe_fuse_call(t->fe, FUSE_UNLINK, a.e.nodeid, &name, 1, NULL, 0, &len));
	T_EQ(t, len, 0);
	T_EQ(t, mirror(t->fe, sa), va + 1);
	T_EQ(t, lookup_vt(t->fe, a.e.nodeid, "e", &f, &len), 0);
	T_EQ(t, f.e.nodeid, 0);
	check_channel(t, t->fe);
}

/* WRITE with room for fuse_write_out and `room` more; *ret_len gets the reply's size. */
static int write_vt(struct fe *fe, uint64_t node, uint64_t fh, const char *data, size_t room,
		    struct vfsd_vt_attr_out *ret, size_t *ret_len)
{
	struct fuse_write_in in = {.fh = fh, .size = (uint32_t)strlen(data)};
	struct iovec a[2] = {IOVS(&in), {(void *)data, strlen(data)}};
	struct {
		struct fuse_write_out o;
		struct vfsd_vt_attr_out v;
	} r = {0};
	int e;

	e = fe_fuse_call(fe, FUSE_WRITE, node, a, 2, &r, sizeof(r.o) + room, ret_len);
	*ret = r.v;
	return e < 0 ? e : (int)r.o.size;
}

/* LINK (node as newname in dir) in a versioned session. */
static int link_vt(struct fe *fe, uint64_t node, uint64_t dir, const char *newname,
		   struct entry_vt *ret)
{
	struct fuse_link_in in = {.oldnodeid = node};
	struct iovec a[2] = {IOVS(&in), IOVNAME(newname)};
	size_t len;

	return fe_fuse_call(fe, FUSE_LINK, dir, a, 2, ret, sizeof(*ret), &len);
}

/*
 * WRITE replies carry the file's own-bump version after fuse_write_out, and UNLINK and
 * replacing RENAME bodies the removed node's when it stays linked elsewhere (git's
 * link-then-unlink): only with the flag, only when the guest posts room, never on failure.
 */
static void test_own_node_replies(struct th *t)
{
	struct entry_vt f, l, r;
	struct fuse_open_out o;
	struct vfsd_vt_attr_out w;
	struct vfsd_vt_remove_out x;
	struct iovec name;
	size_t len;
	uint64_t v, vd;
	uint32_t sd;

	T_OK(t, start(t, flags_vt, th_init_flags() | VT_FLAG));
	T_OK(t, th_host_write(t, "w", "", 0));
	T_OK(t, lookup_vt(t->fe, FE_ROOT_ID, "w", &f, &len));
	T_OK(t, fe_open(t->fe, f.e.nodeid, O_RDWR, &o));
	v = mirror(t->fe, f.v.node.slot);
	T_EQ(t, write_vt(t->fe, f.e.nodeid, o.fh, "abc", sizeof(w), &w, &len), 3);
	T_EQ(t, len, sizeof(struct fuse_write_out) + sizeof(w));
	check_bumped(t, &w.node, f.v.node.slot, v);
	/* Room for fuse_write_out only (guests from before): today's reply. */
	v = mirror(t->fe, f.v.node.slot);
	T_EQ(t, write_vt(t->fe, f.e.nodeid, o.fh, "de", 0, &w, &len), 2);
	T_EQ(t, len, sizeof(struct fuse_write_out));
	T_EQ(t, mirror(t->fe, f.v.node.slot), v + 1);
	/* A failed write: no body, no bump. */
	v = mirror(t->fe, f.v.node.slot);
	T_CHECK(t, write_vt(t->fe, f.e.nodeid, o.fh + 1000, "x", sizeof(w), &w, &len) < 0);
	T_EQ(t, mirror(t->fe, f.v.node.slot), v);

	/* link then unlink: the body names the node, which stays linked as "w". */
	T_OK(t, link_vt(t->fe, f.e.nodeid, FE_ROOT_ID, "tmp", &l));
	T_EQ(t, l.v.node.slot, f.v.node.slot);
	sd = l.v.parent.slot;
	vd = mirror(t->fe, sd);
	v = mirror(t->fe, f.v.node.slot);
	name = IOVNAME("tmp");
	memset(&x, 0, sizeof(x));
	T_OK(t, fe_fuse_call(t->fe, FUSE_UNLINK, FE_ROOT_ID, &name, 1, &x, sizeof(x), &len));
	T_EQ(t, len, sizeof(x));
	check_bumped(t, &x.dirs.dir[0], sd, vd);
	check_bumped(t, &x.node, f.v.node.slot, v);
	/* Room for the directories only: those, as before. */
	T_OK(t, link_vt(t->fe, f.e.nodeid, FE_ROOT_ID, "tmp", &l));
	memset(&x, 0, sizeof(x));
	T_OK(t, fe_fuse_call(t->fe, FUSE_UNLINK, FE_ROOT_ID, &name, 1, &x, sizeof(x.dirs), &len));
	T_EQ(t, len, sizeof(x.dirs));
	/* A replaced target still linked elsewhere ("w" replaced by "r" under the name "tmp"). */
	T_OK(t, link_vt(t->fe, f.e.nodeid, FE_ROOT_ID, "tmp", &l));
	T_OK(t, th_host_write(t, "r", "r", 1));
	T_OK(t, lookup_vt(t->fe, FE_ROOT_ID, "r", &r, &len));
	v = mirror(t->fe, f.v.node.slot);
	{
		struct fuse_rename2_in in = {.newdir = FE_ROOT_ID};
		struct iovec a[3] = {IOVS(&in), IOVNAME("r"), IOVNAME("tmp")};

		memset(&x, 0, sizeof(x));
		T_OK(t, fe_fuse_call(t->fe, FUSE_RENAME2, FE_ROOT_ID, a, 3, &x, sizeof(x), &len));
	}
	T_EQ(t, len, sizeof(x));
	check_bumped(t, &x.node, f.v.node.slot, v);
	/* The last link: no node (the inode is gone). */
	name = IOVNAME("w");
	memset(&x, 0, sizeof(x));
	T_OK(t, fe_fuse_call(t->fe, FUSE_UNLINK, FE_ROOT_ID, &name, 1, &x, sizeof(x), &len));
	T_EQ(t, len, sizeof(x));
	T_CHECK(t, x.node.flags == 0 && x.node.slot == 0 && x.node.version == 0);
	/* A failed unlink: error, no body. */
	len = 1;
	T_EQ(t, fe_fuse_call(t->fe, FUSE_UNLINK, FE_ROOT_ID, &name, 1, &x, sizeof(x), &len),
	     -ENOENT);
	check_channel(t, t->fe);
}

/* A stock guest on a table gets today's WRITE and UNLINK replies, whatever room it posts. */
static void test_own_node_stock(struct th *t)
{
	struct fuse_entry_out f;
	struct fuse_open_out o;
	struct vfsd_vt_attr_out w;
	struct vfsd_vt_remove_out x;
	struct iovec name = IOVNAME("s2");
	size_t len;

	T_OK(t, start(t, flags_vt, th_init_flags()));
	T_OK(t, th_host_write(t, "s", "", 0));
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, "s", &f));
	T_OK(t, fe_open(t->fe, f.nodeid, O_RDWR, &o));
	T_EQ(t, write_vt(t->fe, f.nodeid, o.fh, "abc", sizeof(w), &w, &len), 3);
	T_EQ(t, len, sizeof(struct fuse_write_out));
	T_OK(t, fe_link(t->fe, f.nodeid, FE_ROOT_ID, "s2", &f));
	len = 1;
	T_OK(t, fe_fuse_call(t->fe, FUSE_UNLINK, FE_ROOT_ID, &name, 1, &x, sizeof(x), &len));
	T_EQ(t, len, 0);
	check_channel(t, t->fe);
}

/* FALLOCATE (len bytes at 0) with `room` bytes of reply room; *ret_len gets the body's size. */
static int fallocate_vt(struct fe *fe, uint64_t node, uint64_t fh, uint64_t len, size_t room,
			struct vfsd_vt_attr_out *ret, size_t *ret_len)
{
	struct fuse_fallocate_in in = {.fh = fh, .length = len};
	struct iovec a = IOVS(&in);

	memset(ret, 0, sizeof(*ret));
	*ret_len = 1;
	return fe_fuse_call(fe, FUSE_FALLOCATE, node, &a, 1, ret, room, ret_len);
}

/*
 * COPY_FILE_RANGE (COPY_FILE_RANGE_64 with wide) of len bytes from (nin, fin) to (nout, fout),
 * with room for the count and `room` more; the count, or -errno; *ret_len gets the reply's size.
 */
static int64_t copy_vt(struct fe *fe, bool wide, uint64_t nin, uint64_t fin, uint64_t nout,
		       uint64_t fout, uint64_t len, size_t room, struct vfsd_vt_attr_out *ret,
		       size_t *ret_len)
{
	struct fuse_copy_file_range_in in = {
		.fh_in = fin, .nodeid_out = nout, .fh_out = fout, .len = len};
	struct iovec a = IOVS(&in);
	struct {
		union {
			struct fuse_write_out w;
			struct fuse_copy_file_range_out c;
		};
		struct vfsd_vt_attr_out v;
	} r = {0};
	int e;

	_Static_assert(sizeof(r.w) == sizeof(r.c), "both counts take 8 bytes");
	e = fe_fuse_call(fe, wide ? FUSE_COPY_FILE_RANGE_64 : FUSE_COPY_FILE_RANGE, nin, &a, 1, &r,
			 sizeof(r.w) + room, ret_len);
	*ret = r.v;
	return e < 0 ? e : wide ? (int64_t)r.c.bytes_copied : (int64_t)r.w.size;
}

/*
 * FALLOCATE's (empty in FUSE) and COPY_FILE_RANGE(_64)'s replies carry the file's own-bump
 * version, the destination's for a copy, as WRITE's do: only with the flag, only when the guest
 * posts room for it, never on failure.
 */
static void test_own_range_replies(struct th *t)
{
	struct entry_vt f, g;
	struct fuse_open_out of, og;
	struct vfsd_vt_attr_out v;
	size_t len;
	uint64_t vf, vg;

	T_OK(t, start(t, flags_vt, th_init_flags() | VT_FLAG));
	T_OK(t, th_host_write(t, "src", "abcdef", 6));
	T_OK(t, th_host_write(t, "dst", "", 0));
	T_OK(t, lookup_vt(t->fe, FE_ROOT_ID, "src", &f, &len));
	T_OK(t, lookup_vt(t->fe, FE_ROOT_ID, "dst", &g, &len));
	T_CHECK(t, f.v.node.slot != g.v.node.slot); /* 131072 slots, two files */
	T_OK(t, fe_open(t->fe, f.e.nodeid, O_RDWR, &of));
	T_OK(t, fe_open(t->fe, g.e.nodeid, O_RDWR, &og));

	/* FALLOCATE with room: the version is the whole body. */
	vf = mirror(t->fe, f.v.node.slot);
	T_OK(t, fallocate_vt(t->fe, f.e.nodeid, of.fh, 8192, sizeof(v), &v, &len));
	T_EQ(t, len, sizeof(v));
	check_bumped(t, &v.node, f.v.node.slot, vf);
	/* Room for less than it (guests from before post none): the empty reply, still bumped. */
	vf = mirror(t->fe, f.v.node.slot);
	T_OK(t, fallocate_vt(t->fe, f.e.nodeid, of.fh, 16384, sizeof(v) - 1, &v, &len));
	T_EQ(t, len, 0);
	T_EQ(t, mirror(t->fe, f.v.node.slot), vf + 1);
	T_OK(t, fallocate_vt(t->fe, f.e.nodeid, of.fh, 16384, 0, &v, &len));
	T_EQ(t, len, 0);
	/* A failed one: no body, no bump. */
	vf = mirror(t->fe, f.v.node.slot);
	T_CHECK(t, fallocate_vt(t->fe, f.e.nodeid, of.fh + 1000, 4096, sizeof(v), &v, &len) < 0);
	T_EQ(t, mirror(t->fe, f.v.node.slot), vf);

	/* COPY_FILE_RANGE and _64: the destination's version after the count; the source's
	 * counter does not move. */
	for (int wide = 0; wide < 2; wide++) {
		vf = mirror(t->fe, f.v.node.slot);
		vg = mirror(t->fe, g.v.node.slot);
		T_EQ(t,
		     copy_vt(t->fe, wide, f.e.nodeid, of.fh, g.e.nodeid, og.fh, 6, sizeof(v), &v,
			     &len),
		     6);
		T_EQ(t, len, sizeof(struct fuse_write_out) + sizeof(v));
		check_bumped(t, &v.node, g.v.node.slot, vg);
		T_EQ(t, mirror(t->fe, f.v.node.slot), vf);
		/* Room for the count only: the count alone. */
		vg = mirror(t->fe, g.v.node.slot);
		T_EQ(t, copy_vt(t->fe, wide, f.e.nodeid, of.fh, g.e.nodeid, og.fh, 6, 0, &v, &len),
		     6);
		T_EQ(t, len, sizeof(struct fuse_write_out));
		T_EQ(t, mirror(t->fe, g.v.node.slot), vg + 1);
		/* A failed one: an error, no bump. */
		vg = mirror(t->fe, g.v.node.slot);
		T_CHECK(t, copy_vt(t->fe, wide, f.e.nodeid, of.fh, g.e.nodeid, og.fh + 1000, 6,
				   sizeof(v), &v, &len) < 0);
		T_EQ(t, mirror(t->fe, g.v.node.slot), vg);
	}
	check_channel(t, t->fe);
}

/* Stock replies whatever room the guest posts: a stock guest of a table daemon, and a guest
 * offering the flag to a daemon without a table (no echo). */
static void test_own_range_stock(struct th *t)
{
	const char *const *flags[] = {flags_vt, flags_plain};
	const uint64_t init[] = {th_init_flags(), th_init_flags() | VT_FLAG};

	for (int i = 0; i < 2; i++) {
		struct fuse_entry_out f, g;
		struct fuse_open_out of, og;
		struct vfsd_vt_attr_out v;
		const char *src = i ? "s1" : "s0", *dst = i ? "d1" : "d0";
		size_t len;

		T_OK(t, start(t, flags[i], init[i]));
		T_OK(t, th_host_write(t, src, "abc", 3));
		T_OK(t, th_host_write(t, dst, "", 0));
		T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, src, &f));
		T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, dst, &g));
		T_OK(t, fe_open(t->fe, f.nodeid, O_RDWR, &of));
		T_OK(t, fe_open(t->fe, g.nodeid, O_RDWR, &og));
		T_OK(t, fallocate_vt(t->fe, f.nodeid, of.fh, 8192, sizeof(v), &v, &len));
		T_EQ(t, len, 0);
		for (int wide = 0; wide < 2; wide++) {
			T_EQ(t,
			     copy_vt(t->fe, wide, f.nodeid, of.fh, g.nodeid, og.fh, 3, sizeof(v),
				     &v, &len),
			     3);
			T_EQ(t, len, sizeof(struct fuse_write_out));
		}
		check_channel(t, t->fe);
	}
}

/* A second vfsd on the same share and table, with its own frontend (another guest) that
 * INITs with init_flags. */
static int other_daemon(struct th *t, struct th *t2, const char *sock, const char *const *flags,
			uint64_t init_flags)
{
	struct fe_options o = {.dax = true};
	int r;

	memset(t2, 0, sizeof(*t2));
	snprintf(t2->dir, sizeof(t2->dir), "%s", t->dir);
	snprintf(t2->share, sizeof(t2->share), "%s", t->share);
	snprintf(t2->sock, sizeof(t2->sock), "%s/%s", t->dir, sock);
	snprintf(t2->log, sizeof(t2->log), "%s", t->log);
	t2->daemon_argv = t->daemon_argv;
	t2->extra_flags = flags;
	if ((r = th_daemon_start(t2)) < 0 || (r = th_connect(t2, &o)) < 0)
		return r;
	return fe_init(t2->fe, 38, init_flags);
}

static int second_daemon_init(struct th *t, struct th *t2, const char *const *flags,
			      uint64_t init_flags)
{
	return other_daemon(t, t2, "sock-b", flags, init_flags);
}

/* ... a patched guest. */
static int second_daemon(struct th *t, struct th *t2, const char *const *flags)
{
	return second_daemon_init(t, t2, flags, th_init_flags() | VT_FLAG);
}

static void stop_second(struct th *t, struct th *t2)
{
	int status;

	fe_free(t2->fe);
	t2->fe = NULL;
	status = th_daemon_wait(t2, 5000);
	T_CHECK(t, status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* A change through daemon B moves the counter in daemon A's guest's mirror. */
static void test_two_daemons(struct th *t)
{
	struct th b;
	struct entry_vt fa, fb, da;
	size_t len;
	uint64_t va, vd;

	T_OK(t, start(t, flags_vt, th_init_flags() | VT_FLAG));
	T_OK(t, second_daemon(t, &b, flags_vt));
	if (!b.fe)
		return;
	T_OK(t, th_host_write(t, "two", "2", 1));
	T_OK(t, lookup_vt(t->fe, FE_ROOT_ID, "two", &fa, &len));
	T_OK(t, lookup_vt(b.fe, FE_ROOT_ID, "two", &fb, &len));
	T_EQ(t, fa.v.node.slot, fb.v.node.slot); /* slots come from the file, not the daemon */
	T_EQ(t, fa.v.node.version, fb.v.node.version);
	va = mirror(t->fe, fa.v.node.slot);
	T_EQ(t, va, fa.v.node.version);
	T_OK(t, chmod_vt(b.fe, fb.e.nodeid, 0640));
	T_CHECK(t, mirror(t->fe, fa.v.node.slot) > va); /* A's guest sees B's change */
	T_EQ(t, mirror(t->fe, fa.v.node.slot), mirror(b.fe, fb.v.node.slot));

	/* A name created through B: A's cached negative entry for it goes stale. */
	T_OK(t, lookup_vt(t->fe, FE_ROOT_ID, "later", &da, &len));
	T_EQ(t, da.e.nodeid, 0);
	vd = da.v.parent.version;
	T_EQ(t, mirror(t->fe, da.v.parent.slot), vd);
	T_OK(t, mkdir_vt(b.fe, FE_ROOT_ID, "later", &fb));
	T_CHECK(t, mirror(t->fe, da.v.parent.slot) > vd);
	check_channel(t, t->fe);
	check_channel(t, b.fe);
	stop_second(t, &b);
}

/* A guest that scribbles on its mirror hurts only itself: the master, the other daemon's
 * mirror and the slots in replies stay right; a value it lowered is raised again. */
static void test_hostile_mirror(struct th *t)
{
	struct th b;
	struct entry_vt fa, fb;
	struct attr_vt aa;
	volatile uint64_t *sa;
	size_t len;
	uint64_t before;

	T_OK(t, start(t, flags_vt, th_init_flags() | VT_FLAG));
	T_OK(t, second_daemon(t, &b, flags_vt));
	if (!b.fe)
		return;
	T_OK(t, th_host_write(t, "h1", "1", 1));
	T_OK(t, th_host_write(t, "h2", "2", 1));
	T_OK(t, lookup_vt(t->fe, FE_ROOT_ID, "h1", &fa, &len));
	T_OK(t, lookup_vt(b.fe, FE_ROOT_ID, "h1", &fb, &len));
	sa = mirror_slot(t->fe, fa.v.node.slot);
	T_CHECK(t, sa != NULL);
	if (!sa)
		return;
	before = fa.v.node.version;
	/* A rolls its copy back and corrupts its header (nslots, epoch). */
	*sa = 0;
	mirror_hdr(t->fe)->nslots = 7;
	T_OK(t, chmod_vt(b.fe, fb.e.nodeid, 0604));
	T_EQ(t, mirror(b.fe, fb.v.node.slot), before + 1); /* B's guest: untouched */
	T_OK(t, getattr_vt(b.fe, fb.e.nodeid, &aa, &len));
	T_EQ(t, aa.v.node.version, before + 1);
	/* A's daemon reads the master: same slot, right version, whatever A wrote. */
	T_OK(t, getattr_vt(t->fe, fa.e.nodeid, &aa, &len));
	T_EQ(t, aa.v.node.slot, fa.v.node.slot);
	T_EQ(t, aa.v.node.version, before + 1);
	/* The bump raised A's rolled-back counter again (CAS max). */
	T_EQ(t, *sa, *mirror_slot(b.fe, fb.v.node.slot));
	/* "Far in the future" is never lowered: A only blinds itself. */
	*sa = UINT64_MAX - 1;
	T_OK(t, chmod_vt(b.fe, fb.e.nodeid, 0644));
	T_EQ(t, *sa, UINT64_MAX - 1);
	T_EQ(t, mirror(b.fe, fb.v.node.slot), before + 2);
	check_channel(t, b.fe);
	stop_second(t, &b);
}

/* The area of the table file this frontend maps as region 1 (0: none). */
static unsigned area_of(struct fe *fe)
{
	uint64_t size, off = fe_shm_region1_fd_offset(fe);

	return fe_shm_region1(fe, &size) && off != UINT64_MAX ? (unsigned)(off / size) : 0;
}

/* Whether some process still holds the lock of area i of the table (-1: cannot tell). */
static int area_held(unsigned i)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = i, .l_len = 1};
	int fd = open(table_opt + strlen("--vt-table="), O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return -1;
	r = fcntl(fd, F_OFD_GETLK, &fl) < 0 ? -1 : fl.l_type != F_UNLCK;
	close(fd);
	return r;
}

/*
 * Mirror areas are reused, but never while a guest can still reach one. A's daemon is killed
 * while A's QEMU (this frontend) still maps its area: B gets another one, and A's old guest
 * still sees B's changes. Once the frontend lets go, the area is free and C gets it, clean of
 * what A's guest scribbled into it.
 */
static void test_mirror_reuse(struct th *t)
{
	struct th a, b, c;
	struct entry_vt fa, fb, fc;
	size_t len;
	unsigned ia;
	int held = 1;

	/* A runs beside the harness's own daemon slot, which the next tests use. */
	T_OK(t, other_daemon(t, &a, "sock-a", flags_vt, th_init_flags() | VT_FLAG));
	if (!a.fe)
		return;
	T_OK(t, th_host_write(t, "ru", "1", 1));
	T_OK(t, lookup_vt(a.fe, FE_ROOT_ID, "ru", &fa, &len));
	ia = area_of(a.fe);
	T_CHECK(t, ia > 0);
	if (!ia) {
		stop_second(t, &a);
		return;
	}
	/* A's guest scribbles on its copy; then its daemon dies, no clean-up at all. */
	*mirror_slot(a.fe, (fa.v.node.slot + 1) % SLOTS) = UINT64_MAX - 1;
	mirror_hdr(a.fe)->nslots = 7;
	kill(a.daemon, SIGKILL);
	T_CHECK(t, th_daemon_wait(&a, 5000) >= 0);

	T_OK(t, second_daemon(t, &b, flags_vt));
	if (!b.fe) {
		fe_free(a.fe);
		return;
	}
	T_CHECK(t, area_of(b.fe) > 0);
	T_CHECK(t, area_of(b.fe) != ia);
	T_OK(t, lookup_vt(b.fe, FE_ROOT_ID, "ru", &fb, &len));
	T_OK(t, chmod_vt(b.fe, fb.e.nodeid, 0600));
	/* The old guest's area is still raised while it is mapped. */
	T_EQ(t, *mirror_slot(a.fe, fa.v.node.slot), *mirror_slot(b.fe, fb.v.node.slot));

	/* A's QEMU goes away: nothing holds the area any more. */
	fe_free(a.fe);
	for (int i = 0; i < 500 && (held = area_held(ia)) == 1; i++)
		usleep(10000);
	T_EQ(t, held, 0);
	T_OK(t, other_daemon(t, &c, "sock-c", flags_vt, th_init_flags() | VT_FLAG));
	if (!c.fe) {
		stop_second(t, &b);
		return;
	}
	T_EQ(t, area_of(c.fe), ia);
	T_EQ(t, mirror_hdr(c.fe)->nslots, SLOTS);
	T_OK(t, lookup_vt(c.fe, FE_ROOT_ID, "ru", &fc, &len));
	T_EQ(t, fc.v.node.version, mirror(c.fe, fc.v.node.slot));
	T_EQ(t, *mirror_slot(c.fe, (fa.v.node.slot + 1) % SLOTS),
	     *mirror_slot(b.fe, (fa.v.node.slot + 1) % SLOTS));
	T_OK(t, chmod_vt(b.fe, fb.e.nodeid, 0640));
	T_EQ(t, mirror(c.fe, fc.v.node.slot), mirror(b.fe, fb.v.node.slot));
	check_channel(t, b.fe);
	check_channel(t, c.fe);
	stop_second(t, &c);
	stop_second(t, &b);
}

/* A device reset drops region 1 with the rest; the next session maps it again. */
static void test_reset_remaps(struct th *t)
{
	struct entry_vt r;
	size_t len;

	T_OK(t, start(t, flags_vt, th_init_flags() | VT_FLAG));
	T_CHECK(t, fe_shm_region1(t->fe, &(uint64_t){0}) != NULL);
	T_OK(t, fe_reset_device(t->fe));
	T_CHECK(t, fe_shm_region1(t->fe, &(uint64_t){0}) == NULL);
	T_OK(t, fe_init(t->fe, 38, th_init_flags() | VT_FLAG));
	T_CHECK(t, fe_fuse_init_out(t->fe)->flags2 & (uint32_t)(VT_FLAG >> 32));
	T_CHECK(t, fe_shm_region1(t->fe, &(uint64_t){0}) != NULL);
	T_OK(t, th_host_write(t, "rs", "r", 1));
	T_OK(t, lookup_vt(t->fe, FE_ROOT_ID, "rs", &r, &len));
	T_EQ(t, r.v.node.version, mirror(t->fe, r.v.node.slot));
	/* A second INIT without a reset keeps the map (no overlap refused by the frontend). */
	T_OK(t, fe_init(t->fe, 38, th_init_flags() | VT_FLAG));
	T_CHECK(t, fe_shm_region1(t->fe, &(uint64_t){0}) != NULL);
	check_channel(t, t->fe);
}

/* With a DAX window too: the window gives up the mirror's share so the BAR stays a power of
 * two, and both work. */
static void test_with_dax(struct th *t)
{
	const struct vhu_shmem_config *c;
	struct entry_vt r;
	uint8_t *data = malloc(4 * DAX_CHUNK);
	uint64_t node;
	size_t len;

	T_OK(t, start(t, flags_vt_dax, DAX_INIT_FLAGS | VT_FLAG));
	c = fe_dax_shmem_config(t->fe);
	T_EQ(t, c->memory_sizes[0], 14u << 20);
	T_EQ(t, c->memory_sizes[1], 2u << 20);
	T_CHECK(t, fe_fuse_init_out(t->fe)->flags2 & (uint32_t)(VT_FLAG >> 32));
	T_CHECK(t, data != NULL);
	if (!data)
		return;
	dax_random(data, 4 * DAX_CHUNK, 3);
	T_OK(t, th_host_write(t, "dx", data, 4 * DAX_CHUNK));
	free(data);
	T_OK(t, lookup_vt(t->fe, FE_ROOT_ID, "dx", &r, &len));
	node = r.e.nodeid;
	T_OK(t, dax_map(t, node, 0, DAX_CHUNK, 12u << 20, MAP_R));
	T_CHECK(t, dax_window_is_host(t, 12u << 20, "dx", DAX_CHUNK));
	T_EQ(t, dax_map(t, node, 0, DAX_CHUNK, 14u << 20, MAP_R), -EINVAL); /* past the window */
	T_OK(t, lookup_vt(t->fe, FE_ROOT_ID, "dx", &r, &len));
	T_EQ(t, r.v.node.version, mirror(t->fe, r.v.node.slot));
	T_OK(t, dax_unmap(t, 12u << 20, DAX_CHUNK));
	check_channel(t, t->fe);
	/* A stock session again, for the common checks after the test. */
	T_OK(t, fe_init(t->fe, 38, DAX_INIT_FLAGS));
}

/* One slot for everything: every change is seen as a change of everything (extra
 * revalidation), none is missed. */
static void test_collisions(struct th *t)
{
	struct entry_vt a, b;
	size_t len;
	uint64_t v;

	T_OK(t, start(t, flags_tiny, th_init_flags() | VT_FLAG));
	T_EQ(t, mirror_hdr(t->fe) ? mirror_hdr(t->fe)->nslots : 0, 1);
	T_OK(t, th_host_write(t, "ca", "a", 1));
	T_OK(t, th_host_write(t, "cb", "b", 1));
	T_OK(t, lookup_vt(t->fe, FE_ROOT_ID, "ca", &a, &len));
	T_OK(t, lookup_vt(t->fe, FE_ROOT_ID, "cb", &b, &len));
	T_EQ(t, a.v.node.slot, 0);
	T_EQ(t, b.v.node.slot, 0);
	T_EQ(t, a.v.parent.slot, 0);
	v = mirror(t->fe, 0);
	T_EQ(t, a.v.node.version, v);
	T_OK(t, chmod_vt(t->fe, b.e.nodeid, 0600));
	T_CHECK(t, mirror(t->fe, a.v.node.slot) > a.v.node.version); /* "ca" looks changed too */
	check_channel(t, t->fe);
}

/* ---- the host change watch: changes made by host processes, not through any vfsd ---- */

#define WATCH_WAIT_NS 2000000000ll /* a host change must reach the guest's mirror within 2 s */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* Nanoseconds from t0 until the guest's mirror of slot exceeds `before`; -1 after 2 s. */
static int64_t wait_moved(struct fe *fe, uint32_t slot, uint64_t before, int64_t t0)
{
	while (mirror(fe, slot) <= before) {
		if (now_ns() - t0 > WATCH_WAIT_NS)
			return -1;
		sched_yield();
	}
	return now_ns() - t0;
}

/* Lets events still queued from earlier host changes (e.g. creating the test files) drain:
 * until the slot has not moved for 100 ms. */
static void settle(struct fe *fe, uint32_t slot)
{
	uint64_t v = mirror(fe, slot);
	int64_t since = now_ns(), end = since + WATCH_WAIT_NS;

	while (now_ns() - since < 100000000ll && now_ns() < end) {
		usleep(2000);
		if (mirror(fe, slot) != v) {
			v = mirror(fe, slot);
			since = now_ns();
		}
	}
}

struct latencies {
	int64_t ns[64];
	unsigned n, missed;
};

static void lat_add(struct latencies *l, int64_t ns)
{
	if (ns < 0)
		l->missed++;
	else if (l->n < ARRAY_SIZE(l->ns))
		l->ns[l->n++] = ns;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void lat_report(const char *label, struct latencies *l)
{
	if (!l->n)
		return;
	qsort(l->ns, l->n, sizeof(l->ns[0]), cmp_i64);
	printf("# %s: host change -> guest's mirror, %u changes: min %.1f us, median %.1f us, max "
	       "%.1f us, missed %u\n",
	       label, l->n, l->ns[0] / 1e3, l->ns[l->n / 2] / 1e3, l->ns[l->n - 1] / 1e3,
	       l->missed);
}

/* One host change: `change` runs right after t0; the slots in `slots` must all move. */
#define HOST_CHANGE(t, lat, change, ...)                                                   \
	do {                                                                               \
		const uint32_t s_[] = {__VA_ARGS__};                                       \
		uint64_t v_[ARRAY_SIZE(s_)];                                               \
		int64_t t0_, w_ = 0;                                                       \
		for (size_t i_ = 0; i_ < ARRAY_SIZE(s_); i_++)                             \
			v_[i_] = mirror((t)->fe, s_[i_]);                                  \
		t0_ = now_ns();                                                            \
		T_OK(t, (change) < 0 ? -errno : 0);                                        \
		for (size_t i_ = 0; i_ < ARRAY_SIZE(s_) && w_ >= 0; i_++) {                \
			w_ = wait_moved((t)->fe, s_[i_], v_[i_], t0_);                     \
			if (w_ < 0)                                                        \
				th_fail(t, __FILE__, __LINE__, "%s: slot %u did not move", \
					#change, s_[i_]);                                  \
		}                                                                          \
		lat_add(lat, w_);                                                          \
	} while (0)

static int host_append(struct th *t, const char *name)
{
	int fd = open(th_host(t, name), O_WRONLY | O_APPEND | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, "+", 1);
	close(fd);
	return n == 1 ? 0 : -1;
}

static int host_create(struct th *t, const char *name)
{
	int fd = open(th_host(t, name), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	return fd < 0 ? -1 : close(fd);
}

/* Starts a daemon with `flags` for a patched guest; *ret_log: where its log starts. */
static int start_logged(struct th *t, const char *const *flags, long *ret_log)
{
	*ret_log = th_log_size(t);
	return start(t, flags, th_init_flags() | VT_FLAG);
}

/*
 * After a LOOKUP of a directory and a file in it, host processes chmod, append to, rename,
 * unlink and create there; the slots a guest holds for them move in its mirror within 2 s.
 * `fanotify`: the entry's own inode is also reported for renames and unlinks (inotify only
 * knows a name that still resolves).
 */
static void host_changes(struct th *t, const char *label, bool fanotify)
{
	char dir[32], f[48], f2[48], n[48];
	struct latencies lat = {0};
	struct entry_vt d, e;
	uint32_t ds, fs;
	size_t len;

	snprintf(dir, sizeof(dir), "hc-%s", label);
	snprintf(f, sizeof(f), "%s/f", dir);
	snprintf(f2, sizeof(f2), "%s/f2", dir);
	snprintf(n, sizeof(n), "%s/new", dir);
	T_OK(t, mkdir(th_host(t, dir), 0755) < 0 ? -errno : 0);
	T_OK(t, th_host_write(t, f, "f", 1));
	T_OK(t, lookup_vt(t->fe, FE_ROOT_ID, dir, &d, &len));
	T_OK(t, lookup_vt(t->fe, d.e.nodeid, "f", &e, &len));
	T_EQ(t, d.v.node.flags, VFSD_VT_VALID);
	T_EQ(t, e.v.node.flags, VFSD_VT_VALID);
	T_EQ(t, e.v.parent.flags, VFSD_VT_VALID);
	ds = d.v.node.slot;
	fs = e.v.node.slot;
	T_EQ(t, e.v.parent.slot, ds);
	T_CHECK(t, ds != fs);
	settle(t->fe, ds);
	settle(t->fe, fs);

	HOST_CHANGE(t, &lat, chmod(th_host(t, f), 0600), fs);
	HOST_CHANGE(t, &lat, host_append(t, f), fs);
	HOST_CHANGE(t, &lat, chmod(th_host(t, dir), 0700), ds);
	HOST_CHANGE(t, &lat, host_create(t, n), ds);
	/* inotify: MOVED_TO names f2, which resolves to the moved inode. */
	HOST_CHANGE(t, &lat, rename(th_host(t, f), th_host(t, f2)), ds, fs);
	if (fanotify)
		HOST_CHANGE(t, &lat, unlink(th_host(t, f2)), ds, fs);
	else
		HOST_CHANGE(t, &lat, unlink(th_host(t, f2)), ds);
	/* More of one kind for the latency figure. */
	T_OK(t, lookup_vt(t->fe, d.e.nodeid, "new", &e, &len));
	settle(t->fe, e.v.node.slot);
	for (int i = 0; i < 20; i++)
		HOST_CHANGE(t, &lat, chmod(th_host(t, n), i & 1 ? 0600 : 0644), e.v.node.slot);
	T_EQ(t, lat.missed, 0);
	lat_report(label, &lat);
	check_channel(t, t->fe);
}

/* The default (auto) as root: fanotify with a filesystem mark, set up inside the namespace
 * sandbox before the capabilities go. */
static void test_watch_fanotify(struct th *t)
{
	long log;

	T_OK(t, start_logged(t, flags_fanotify, &log));
	T_EQ(t, th_log_count(t, log, "host changes watched with fanotify", NULL), 1);
	host_changes(t, "fanotify", true);
}

/* The control: without a watch the same host change does not reach the guest. */
static void test_watch_none(struct th *t)
{
	struct entry_vt e;
	size_t len;
	uint64_t v;
	long log;

	T_OK(t, start_logged(t, flags_vt, &log));
	T_EQ(t, th_log_count(t, log, "--vt-watch=none", NULL), 1);
	T_OK(t, th_host_write(t, "unwatched", "u", 1));
	T_OK(t, lookup_vt(t->fe, FE_ROOT_ID, "unwatched", &e, &len));
	v = mirror(t->fe, e.v.node.slot);
	T_OK(t, chmod(th_host(t, "unwatched"), 0600) < 0 ? -errno : 0);
	usleep(300000);
	T_EQ(t, mirror(t->fe, e.v.node.slot), v);
}

/*
 * A change made through the daemon is bumped once, by the daemon before its reply; the
 * fanotify watch skips the event because the daemon caused it (its pid: 1 inside the
 * namespace sandbox, the real one with --sandbox=none). A host change afterwards shows the
 * watch was reading all along.
 */
static void test_watch_own_once(struct th *t)
{
	struct entry_vt e, md;
	uint32_t fs, rs;
	size_t len;
	uint64_t v, vr;
	long log;

	T_OK(t, start_logged(t, flags_fanotify, &log));
	T_OK(t, th_host_write(t, "own", "o", 1));
	T_OK(t, lookup_vt(t->fe, FE_ROOT_ID, "own", &e, &len));
	fs = e.v.node.slot;
	rs = e.v.parent.slot;
	settle(t->fe, fs);
	settle(t->fe, rs);
	v = mirror(t->fe, fs);
	vr = mirror(t->fe, rs);
	T_OK(t, chmod_vt(t->fe, e.e.nodeid, 0600));
	T_OK(t, mkdir_vt(t->fe, FE_ROOT_ID, "own-dir", &md));
	T_EQ(t, md.v.parent.version, vr + 1);
	T_EQ(t, mirror(t->fe, fs), v + 1);
	T_EQ(t, mirror(t->fe, rs), vr + 1);
	/* Thousands of times the measured delivery latency. */
	usleep(300000);
	T_EQ(t, mirror(t->fe, fs), v + 1);
	T_EQ(t, mirror(t->fe, rs), vr + 1);
	{
		struct latencies lat = {0};

		HOST_CHANGE(t, &lat, chmod(th_host(t, "own"), 0644), fs);
	}
	/* At its exit (the next start stops it) the daemon says what the watch read: its own
	 * chmod and mkdir among the events, no overflow. */
	T_OK(t, start(t, flags_plain, th_init_flags()));
	T_EQ(t, th_log_count(t, log, "coherence: host watch:", "0 lost notices"), 1);
	T_EQ(t, th_log_count(t, log, "coherence: host watch:", "(0 the daemon's own)"), 0);
}

/*
 * Queue overflow: with fs.fanotify.max_queued_events at 1 when the daemon creates its group (it
 * is read then; restored at once), a flood of host changes overflows the queue and the daemon
 * bumps the epoch, which every guest sees as "everything changed". The watch goes on after.
 */
static void test_watch_overflow(struct th *t)
{
	static const char knob[] = "/proc/sys/fs/fanotify/max_queued_events";
	char old[32] = "";
	volatile struct vfsd_vt_header *h;
	struct entry_vt e;
	uint64_t epoch;
	int64_t t0;
	size_t len;
	FILE *f;
	int r;

	if (geteuid() != 0) {
		th_skip(t, "needs root to set fs.fanotify.max_queued_events");
		return;
	}
	f = fopen(knob, "re");
	T_CHECK(t, f && fgets(old, sizeof(old), f));
	if (f)
		fclose(f);
	if (!old[0])
		return;
	f = fopen(knob, "we");
	T_CHECK(t, f && fputs("1\n", f) >= 0 && fclose(f) == 0);
	r = start(t, flags_fanotify, th_init_flags() | VT_FLAG);
	/* The daemon's group exists once it serves: put the machine's limit back now. */
	f = fopen(knob, "we");
	T_CHECK(t, f && fputs(old, f) >= 0 && fclose(f) == 0);
	T_OK(t, r);
	h = mirror_hdr(t->fe);
	T_CHECK(t, h != NULL);
	if (!h)
		return;
	T_OK(t, th_host_write(t, "flood", "f", 1));
	T_OK(t, lookup_vt(t->fe, FE_ROOT_ID, "flood", &e, &len));
	epoch = h->epoch;
	t0 = now_ns();
	/* The reader thread drains the queue between bursts; allow time for one to win. */
	for (int i = 0; h->epoch == epoch && now_ns() - t0 < 5 * WATCH_WAIT_NS; i++)
		for (int j = 0; j < 64; j++)
			chmod(th_host(t, "flood"), (i + j) & 1 ? 0600 : 0644);
	T_CHECK(t, h->epoch > epoch);
	printf("# overflow: epoch %llu -> %llu after %.1f ms of host chmods\n",
	       (unsigned long long)epoch, (unsigned long long)h->epoch, (now_ns() - t0) / 1e6);
	/* A versioned reply carries counter + epoch: it agrees with the guest's view. */
	T_OK(t, lookup_vt(t->fe, FE_ROOT_ID, "flood", &e, &len));
	settle(t->fe, e.v.node.slot);
	{
		struct latencies lat = {0};

		HOST_CHANGE(t, &lat, chmod(th_host(t, "flood"), 0640), e.v.node.slot);
	}
}

/*
 * The fallback (--vt-watch=inotify, what an unprivileged daemon gets): the directories the guest
 * looks up are watched before their versions are read. inotify cannot tell who made a change,
 * so the daemon's own changes are bumped twice: once before its reply, once by the watch.
 */
static void test_watch_inotify(struct th *t)
{
	struct entry_vt d, e;
	size_t len;
	uint64_t v;
	long log;

	T_OK(t, start_logged(t, flags_inotify, &log));
	T_EQ(t, th_log_count(t, log, "host changes watched with inotify", NULL), 1);
	host_changes(t, "inotify", false);

	T_OK(t, mkdir(th_host(t, "ino-own"), 0755) < 0 ? -errno : 0);
	T_OK(t, th_host_write(t, "ino-own/f", "f", 1));
	T_OK(t, lookup_vt(t->fe, FE_ROOT_ID, "ino-own", &d, &len));
	T_OK(t, lookup_vt(t->fe, d.e.nodeid, "f", &e, &len));
	settle(t->fe, e.v.node.slot);
	v = mirror(t->fe, e.v.node.slot);
	T_OK(t, chmod_vt(t->fe, e.e.nodeid, 0600));
	/* The watch's bump may land before the reply is read. */
	T_CHECK(t, mirror(t->fe, e.v.node.slot) >= v + 1);
	T_CHECK(t, wait_moved(t->fe, e.v.node.slot, v + 1, now_ns()) >= 0);
	settle(t->fe, e.v.node.slot);
	T_EQ(t, mirror(t->fe, e.v.node.slot), v + 2);
}

/*
 * Migration of a versioned session is refused (the guest's mirror is shared memory of this
 * host: docs/migration.md); the same daemon saves a session without the table.
 */
static void test_migration_refused(struct th *t)
{
	struct fe_options o = {.dax = true,
			       .protocol_features = DAX_PROTO | PROTO(VHU_PROTO_DEVICE_STATE)};
	uint64_t set = 0, check = 0;
	size_t len = 0;
	void *blob = NULL;

	T_OK(t, dax_start(t, flags_vt, &o));
	if (!t->fe)
		return;
	T_OK(t, fe_init(t->fe, 38, th_init_flags() | VT_FLAG));
	T_CHECK(t, fe_fuse_init_out(t->fe)->flags2 & (uint32_t)(VT_FLAG >> 32));
	T_OK(t, fe_stop(t->fe));
	T_OK(t, fe_state_save(t->fe, &blob, &len, &set, &check));
	T_CHECK(t, (set & 0xff) != 0 && check != 0 && blob == NULL);
	T_OK(t, fe_resume(t->fe));
	T_OK(t, fe_init(t->fe, 38, th_init_flags()));
	T_OK(t, fe_stop(t->fe));
	T_OK(t, fe_state_save(t->fe, &blob, &len, &set, &check));
	T_CHECK(t, (set & 0xff) == 0 && check == 0 && blob != NULL);
	free(blob);
	T_OK(t, fe_resume(t->fe));
}

/* Versioned READDIRPLUS (VFSD_VT_INIT_RDPLUS): one parsed entry. */
struct dplus {
	struct fuse_entry_out e;
	struct vfsd_vt_entry_out v;
	struct { /* fuse_dirent without its flexible name */
		uint64_t ino, off;
		uint32_t namelen, type;
	} d;
	char name[256];
};

/*
 * Parses n bytes of versioned entries into out[max]; the count, or -1 when an entry is not
 * exactly VFSD_VT_DIRENTPLUS_SIZE bytes, its padding is not zero or the entries do not fill
 * the n bytes.
 */
static int parse_dplus(const uint8_t *buf, size_t n, struct dplus *out, int max)
{
	size_t p = 0;
	int k = 0;

	while (p < n) {
		struct dplus x;
		size_t size;

		if (n - p < VFSD_VT_DIRENTPLUS_NAME || k >= max)
			return -1;
		memcpy(&x.e, buf + p, sizeof(x.e));
		memcpy(&x.v, buf + p + VFSD_VT_DIRENTPLUS_VT, sizeof(x.v));
		memcpy(&x.d, buf + p + VFSD_VT_DIRENTPLUS_DIRENT, sizeof(x.d));
		size = VFSD_VT_DIRENTPLUS_SIZE(x.d.namelen);
		if (x.d.namelen == 0 || x.d.namelen > 255 || size > n - p)
			return -1;
		memcpy(x.name, buf + p + VFSD_VT_DIRENTPLUS_NAME, x.d.namelen);
		x.name[x.d.namelen] = 0;
		for (size_t i = VFSD_VT_DIRENTPLUS_NAME + x.d.namelen; i < size; i++)
			if (buf[p + i])
				return -1;
		out[k++] = x;
		p += size;
	}
	return k;
}

/* READDIRPLUS of node's whole directory from offset 0 into out (by buffers of `size`). */
static int dplus_all(struct th *t, uint64_t node, uint32_t size, struct dplus *out, int max)
{
	static uint64_t buf[8192];
	struct fuse_open_out o;
	uint64_t off = 0;
	int total = 0, n, k;

	if (size > sizeof(buf) || fe_opendir(t->fe, node, &o) < 0)
		return -1;
	for (;;) {
		n = fe_readdirplus(t->fe, node, o.fh, off, buf, size);
		if (n <= 0)
			break;
		k = parse_dplus((const uint8_t *)buf, (size_t)n, out + total, max - total);
		if (k <= 0) {
			n = -1;
			break;
		}
		total += k;
		off = out[total - 1].d.off;
	}
	fe_releasedir(t->fe, node, o.fh);
	return n < 0 ? -1 : total;
}

static const struct dplus *dplus_find(const struct dplus *x, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(x[i].name, name))
			return &x[i];
	return NULL;
}

#define RDPLUS_FLAGS (VT_FLAG | VFSD_VT_INIT_RDPLUS)

/* Negotiation: only a versioned guest that asks gets READDIRPLUS with versions; one that
 * predates the bit keeps no READDIRPLUS, a stock guest (even one sending the bit) the stock
 * layout. */
static void test_rdplus_negotiation(struct th *t)
{
	const struct fuse_init_out *io;
	struct th b;

	T_OK(t, start(t, flags_vt, th_init_flags() | RDPLUS_FLAGS));
	io = fe_fuse_init_out(t->fe);
	T_EQ(t, io->flags2 & (uint32_t)(RDPLUS_FLAGS >> 32), (uint32_t)(RDPLUS_FLAGS >> 32));
	T_CHECK(t, io->flags & FUSE_DO_READDIRPLUS);
	/* Without DO_READDIRPLUS the bit means nothing and is not echoed. */
	T_OK(t,
	     fe_init(t->fe, 38, (th_init_flags() & ~(uint64_t)FUSE_DO_READDIRPLUS) | RDPLUS_FLAGS));
	io = fe_fuse_init_out(t->fe);
	T_CHECK(t, io->flags2 & (uint32_t)(VT_FLAG >> 32));
	T_EQ(t, io->flags2 & (uint32_t)(VFSD_VT_INIT_RDPLUS >> 32), 0);
	T_EQ(t, io->flags & FUSE_DO_READDIRPLUS, 0);
	/* An older patched guest: the table, no readdirplus (as before the bit). */
	T_OK(t, fe_init(t->fe, 38, th_init_flags() | VT_FLAG));
	io = fe_fuse_init_out(t->fe);
	T_EQ(t, io->flags2 & (uint32_t)(VFSD_VT_INIT_RDPLUS >> 32), 0);
	T_EQ(t, io->flags & (FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO), 0);
	/* The bit alone is not the table: the stock layout, byte for byte. */
	T_OK(t, fe_init(t->fe, 38, th_init_flags() | VFSD_VT_INIT_RDPLUS));
	io = fe_fuse_init_out(t->fe);
	T_EQ(t, io->flags2 & (uint32_t)(RDPLUS_FLAGS >> 32), 0);
	T_CHECK(t, io->flags & FUSE_DO_READDIRPLUS);
	T_OK(t, th_host_write(t, "neg-file", "n", 1));
	{
		static uint64_t buf[512];
		struct fuse_open_out o;
		size_t p = 0;
		int n, k = 0;

		T_OK(t, fe_opendir(t->fe, FE_ROOT_ID, &o));
		n = fe_readdirplus(t->fe, FE_ROOT_ID, o.fh, 0, buf, sizeof(buf));
		T_CHECK(t, n > 0);
		while (n > 0 && p + FUSE_NAME_OFFSET_DIRENTPLUS <= (size_t)n) {
			const struct fuse_direntplus *dp = (const void *)((const uint8_t *)buf + p);

			T_CHECK(t, dp->entry_out.entry_valid < LONG_TTL);
			p += FUSE_DIRENTPLUS_SIZE(dp);
			k++;
		}
		T_EQ(t, p, (size_t)n);
		T_CHECK(t, k >= 3);
		T_OK(t, fe_releasedir(t->fe, FE_ROOT_ID, o.fh));
	}
	/* --no-readdirplus: nothing to version. */
	{
		static const char *flags_nordp[] = {
			"--tag=vt", "--dax=never",     "--coherence=table",
			table_opt,  "--vt-watch=none", "--no-readdirplus",
			NULL};

		T_OK(t, second_daemon(t, &b, flags_nordp));
		if (!b.fe)
			return;
		T_OK(t, fe_init(b.fe, 38, th_init_flags() | RDPLUS_FLAGS));
		io = fe_fuse_init_out(b.fe);
		T_CHECK(t, io->flags2 & (uint32_t)(VT_FLAG >> 32));
		T_EQ(t, io->flags2 & (uint32_t)(VFSD_VT_INIT_RDPLUS >> 32), 0);
		T_EQ(t, io->flags & FUSE_DO_READDIRPLUS, 0);
		stop_second(t, &b);
	}
}

/* Each entry: entry_out, the versions a LOOKUP would carry (equal to the mirror), the dirent. */
static void test_rdplus_layout(struct th *t)
{
	static struct dplus x[16];
	struct entry_vt d, l;
	const struct dplus *p;
	size_t len;
	int n;

	T_OK(t, start(t, flags_vt, th_init_flags() | RDPLUS_FLAGS));
	T_OK(t, mkdir(th_host(t, "rd"), 0755) < 0 ? -errno : 0);
	T_OK(t, mkdir(th_host(t, "rd/sub"), 0755) < 0 ? -errno : 0);
	T_OK(t, th_host_write(t, "rd/a", "a", 1));
	T_OK(t, th_host_write(t, "rd/a-much-longer-name-than-eight", "bb", 2));
	T_OK(t, lookup_vt(t->fe, FE_ROOT_ID, "rd", &d, &len));
	/* Small buffers: entries never straddle replies. */
	n = dplus_all(t, d.e.nodeid, 400, x, 16);
	T_EQ(t, n, 5);
	for (int i = 0; i < n; i++) {
		p = &x[i];
		if (!strcmp(p->name, ".") || !strcmp(p->name, "..")) {
			T_EQ(t, p->e.nodeid, 0);
			T_CHECK(t, p->v.node.flags == 0 && p->v.parent.flags == 0);
			continue;
		}
		T_CHECK(t, p->e.nodeid != 0);
		T_EQ(t, p->e.attr.ino, p->d.ino);
		T_EQ(t, p->v.node.flags, VFSD_VT_VALID);
		T_EQ(t, p->v.node.version, mirror(t->fe, p->v.node.slot));
		T_EQ(t, p->v.parent.flags, VFSD_VT_VALID);
		T_EQ(t, p->v.parent.slot, d.v.node.slot);
		T_EQ(t, p->v.parent.version, mirror(t->fe, d.v.node.slot));
		T_EQ(t, p->e.entry_valid, LONG_TTL);
		T_EQ(t, p->e.attr_valid, LONG_TTL);
		/* The same node and versions as a LOOKUP of the name. */
		T_OK(t, lookup_vt(t->fe, d.e.nodeid, p->name, &l, &len));
		T_EQ(t, l.e.nodeid, p->e.nodeid);
		T_EQ(t, l.v.node.slot, p->v.node.slot);
		T_EQ(t, l.v.node.version, p->v.node.version);
		T_EQ(t, l.v.parent.version, p->v.parent.version);
	}
	p = dplus_find(x, n, "a-much-longer-name-than-eight");
	T_CHECK(t, p && p->e.attr.size == 2);
	p = dplus_find(x, n, "sub");
	T_CHECK(t, p && S_ISDIR(p->e.attr.mode));

	/* A change moves the mirror away from the listed versions. */
	p = dplus_find(x, n, "a");
	if (p) {
		uint64_t v = p->v.node.version;

		T_OK(t, chmod_vt(t->fe, p->e.nodeid, 0600));
		T_CHECK(t, mirror(t->fe, p->v.node.slot) > v);
		n = dplus_all(t, d.e.nodeid, 4096, x, 16);
		p = dplus_find(x, n, "a");
		T_CHECK(t, p && p->v.node.version == mirror(t->fe, p->v.node.slot) &&
				   (p->e.attr.mode & 07777) == 0600);
	}
	check_channel(t, t->fe);
}

/* A guest's READDIRPLUS size is its own business: any size gives whole entries, none past it,
 * and no entry is lost between calls. */
static void test_rdplus_sizes(struct th *t)
{
	static const uint32_t sizes[] = {0,
					 1,
					 VFSD_VT_DIRENTPLUS_NAME,
					 VFSD_VT_DIRENTPLUS_SIZE(1) - 1,
					 VFSD_VT_DIRENTPLUS_SIZE(1),
					 VFSD_VT_DIRENTPLUS_SIZE(2) + 7,
					 4096,
					 UINT32_MAX};
	static uint64_t buf[1024];
	static struct dplus x[16];
	struct entry_vt d;
	struct fuse_open_out o;
	size_t len;
	int n;

	T_OK(t, start(t, flags_vt, th_init_flags() | RDPLUS_FLAGS));
	T_OK(t, mkdir(th_host(t, "sz"), 0755) < 0 ? -errno : 0);
	T_OK(t, th_host_write(t, "sz/f", "f", 1));
	T_OK(t, th_host_write(t, "sz/g", "g", 1));
	T_OK(t, lookup_vt(t->fe, FE_ROOT_ID, "sz", &d, &len));
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		struct fuse_read_in in = {.size = sizes[i]};
		struct iovec a = IOVS(&in);

		T_OK(t, fe_opendir(t->fe, d.e.nodeid, &o));
		in.fh = o.fh;
		memset(buf, 0xa5, sizeof(buf));
		len = 0;
		T_OK(t, fe_fuse_call(t->fe, FUSE_READDIRPLUS, d.e.nodeid, &a, 1, buf, sizeof(buf),
				     &len));
		T_CHECK(t, len <= sizes[i]);
		n = parse_dplus((const uint8_t *)buf, len, x, 16);
		T_CHECK(t, n >= 0);
		/* Whatever fits is sent: one entry (".": one byte) fits from SIZE(1) on. */
		T_EQ(t, n == 0, sizes[i] < VFSD_VT_DIRENTPLUS_SIZE(1));
		T_OK(t, fe_releasedir(t->fe, d.e.nodeid, o.fh));
	}
	/* Entry by entry, the whole directory. */
	n = dplus_all(t, d.e.nodeid, VFSD_VT_DIRENTPLUS_SIZE(2), x, 16);
	T_EQ(t, n, 4);
	T_CHECK(t, dplus_find(x, n, "f") && dplus_find(x, n, "g"));
	check_channel(t, t->fe);
}

/* The second guest's writer for test_rdplus_race: SETATTR size = 1, 2, ... through daemon B. */
struct race_writer {
	struct fe *fe;
	uint64_t node;
	unsigned n;
	atomic_int failed;
	atomic_bool stop;
};

static void *race_writer_main(void *arg)
{
	struct race_writer *w = arg;

	for (unsigned k = 1; k <= w->n && !atomic_load(&w->stop); k++) {
		struct fuse_setattr_in in = {.valid = FATTR_SIZE, .size = k};
		struct iovec a = IOVS(&in);
		struct attr_vt r;
		size_t len;

		if (fe_fuse_call(w->fe, FUSE_SETATTR, w->node, &a, 1, &r, sizeof(r), &len) < 0)
			atomic_fetch_add(&w->failed, 1);
	}
	return NULL;
}

/*
 * The race: another guest truncates the file to 1, 2, ..., N (each change, then its bump) while
 * this one lists its directory. The k-th bump makes the counter v0 + k, so an entry whose
 * version is v0 + k must show a size of at least k: its version was read before its stat. A
 * daemon that read the version after the stat would pair a newer version with an older size
 * (a fresh-looking version for stale attributes), and the guest would keep those for good.
 * The same for LOOKUP. Sizes newer than the version are fine: the guest revalidates them.
 */
static void test_rdplus_race(struct th *t)
{
	static struct dplus x[8];
	struct race_writer w = {.n = 3000};
	struct entry_vt d, f, l;
	struct th b;
	pthread_t thread;
	unsigned checked = 0, newer = 0;
	uint64_t v0;
	size_t len;

	T_OK(t, start(t, flags_vt, th_init_flags() | RDPLUS_FLAGS));
	T_OK(t, second_daemon(t, &b, flags_vt));
	if (!b.fe)
		return;
	T_OK(t, mkdir(th_host(t, "race"), 0755) < 0 ? -errno : 0);
	T_OK(t, th_host_write(t, "race/f", "", 0));
	T_OK(t, lookup_vt(t->fe, FE_ROOT_ID, "race", &d, &len));
	T_OK(t, lookup_vt(b.fe, FE_ROOT_ID, "race", &l, &len));
	T_OK(t, lookup_vt(b.fe, l.e.nodeid, "f", &f, &len));
	v0 = mirror(t->fe, f.v.node.slot);
	T_EQ(t, v0, f.v.node.version);
	w.fe = b.fe;
	w.node = f.e.nodeid;
	T_OK(t, -pthread_create(&thread, NULL, race_writer_main, &w));
	for (int i = 0; i < 400 && mirror(t->fe, f.v.node.slot) < v0 + w.n; i++) {
		const struct dplus *p;
		int n = dplus_all(t, d.e.nodeid, 4096, x, 8);

		p = dplus_find(x, n, "f");
		if (!p || p->v.node.flags != VFSD_VT_VALID) {
			T_CHECK(t, p != NULL);
			break;
		}
		T_CHECK(t, p->e.attr.size >= p->v.node.version - v0);
		newer += p->e.attr.size > p->v.node.version - v0;
		checked++;
		T_OK(t, lookup_vt(t->fe, d.e.nodeid, "f", &l, &len));
		T_CHECK(t, l.e.attr.size >= l.v.node.version - v0);
		newer += l.e.attr.size > l.v.node.version - v0;
	}
	atomic_store(&w.stop, true);
	pthread_join(thread, NULL);
	T_EQ(t, atomic_load(&w.failed), 0);
	T_CHECK(t, checked > 0);
	printf("# %u listings checked, %u replies caught a change between version and stat\n",
	       checked, newer);
	stop_second(t, &b);
}

static double ttl(uint64_t sec, uint32_t nsec)
{
	return (double)sec + nsec / 1e9;
}

/* A stock guest's GETATTR: the attribute timeout granted, in seconds (-1 on error). */
static double attr_ttl(struct fe *fe, uint64_t node)
{
	struct attr_vt a;
	size_t len = 0;

	if (getattr_vt(fe, node, &a, &len) < 0 || len != sizeof(struct fuse_attr_out))
		return -1;
	return ttl(a.a.attr_valid, a.a.attr_valid_nsec);
}

#define ADAPT_QUIET_US 1200000 /* every test file unchanged this long: timeouts >= 120 ms */
#define ADAPT_SHORT    0.05    /* just changed: the 20 ms minimum (age < 0.5 s) */
#define ADAPT_LONG     0.1

/*
 * --adaptive-timeout: a stock guest's entry and attribute timeouts follow the table's ages. A
 * file unchanged for 1.2 s gets about 120 ms, one just changed gets the 20 ms minimum, whoever
 * changed it: this daemon (SETATTR), another vfsd on the table (B), a host process (the
 * fanotify watch). An entry is short when its directory changed, its attributes are not. The
 * same table without the option, and a patched guest with it, keep their timeouts exactly.
 */
static void test_adaptive(struct th *t)
{
	struct th b;
	struct entry_vt q, bz, h, d, old, x;
	double v;
	size_t len;
	int64_t t0;

	T_OK(t, th_host_write(t, "aq", "q", 1));
	T_OK(t, th_host_write(t, "ab", "b", 1));
	T_OK(t, th_host_write(t, "ah", "h", 1));
	T_OK(t, mkdir(th_host(t, "ad"), 0755) < 0 ? -errno : 0);
	T_OK(t, th_host_write(t, "ad/old", "o", 1));
	T_OK(t, start(t, flags_adapt, th_init_flags()));
	T_OK(t, second_daemon_init(t, &b, flags_adapt, th_init_flags()));
	if (!b.fe)
		return;
	usleep(ADAPT_QUIET_US);

	/* Quiet: a tenth of the age, well below the 2 s cap. */
	T_OK(t, lookup_vt(t->fe, FE_ROOT_ID, "aq", &q, &len));
	T_EQ(t, len, sizeof(struct fuse_entry_out));
	v = ttl(q.e.attr_valid, q.e.attr_valid_nsec);
	T_CHECK(t, v >= ADAPT_QUIET_US / 1e7 && v < 1.0);
	v = ttl(q.e.entry_valid, q.e.entry_valid_nsec);
	T_CHECK(t, v >= ADAPT_QUIET_US / 1e7 && v < 1.0);

	/* Changed through this daemon: the SETATTR reply and the next LOOKUP are short. */
	T_OK(t, lookup_vt(t->fe, FE_ROOT_ID, "ab", &bz, &len));
	T_CHECK(t, ttl(bz.e.attr_valid, bz.e.attr_valid_nsec) >= ADAPT_LONG);
	{
		struct fuse_setattr_in in = {.valid = FATTR_MODE, .mode = S_IFREG | 0600};
		struct iovec a = IOVS(&in);
		struct attr_vt r;

		T_OK(t, fe_fuse_call(t->fe, FUSE_SETATTR, bz.e.nodeid, &a, 1, &r, sizeof(r), &len));
		T_EQ(t, len, sizeof(struct fuse_attr_out));
		T_CHECK(t, ttl(r.a.attr_valid, r.a.attr_valid_nsec) <= ADAPT_SHORT);
	}
	T_OK(t, lookup_vt(t->fe, FE_ROOT_ID, "ab", &bz, &len));
	T_CHECK(t, ttl(bz.e.attr_valid, bz.e.attr_valid_nsec) <= ADAPT_SHORT);
	T_CHECK(t, ttl(bz.e.attr_valid, bz.e.attr_valid_nsec) >= 0.02); /* the minimum */
	T_CHECK(t, ttl(bz.e.entry_valid, bz.e.entry_valid_nsec) <= ADAPT_SHORT);

	/* Changed by the other daemon: this daemon's next GETATTR is short. */
	T_CHECK(t, attr_ttl(t->fe, q.e.nodeid) >= ADAPT_LONG);
	T_OK(t, lookup_vt(b.fe, FE_ROOT_ID, "aq", &x, &len));
	T_OK(t, chmod_vt(b.fe, x.e.nodeid, 0640));
	v = attr_ttl(t->fe, q.e.nodeid);
	T_CHECK(t, v > 0 && v <= ADAPT_SHORT);

	/* Changed on the host: short once the watch has seen it (within 2 s). */
	T_OK(t, lookup_vt(t->fe, FE_ROOT_ID, "ah", &h, &len));
	T_CHECK(t, ttl(h.e.attr_valid, h.e.attr_valid_nsec) >= ADAPT_LONG);
	T_OK(t, chmod(th_host(t, "ah"), 0600) < 0 ? -errno : 0);
	t0 = now_ns();
	while ((v = attr_ttl(t->fe, h.e.nodeid)) > ADAPT_SHORT && now_ns() - t0 < WATCH_WAIT_NS)
		usleep(1000);
	T_CHECK(t, v > 0 && v <= ADAPT_SHORT);

	/* A name in a directory that just changed (B made another name there) is short; its
	 * unchanged inode's attributes are not. */
	T_OK(t, lookup_vt(t->fe, FE_ROOT_ID, "ad", &d, &len));
	T_OK(t, lookup_vt(b.fe, FE_ROOT_ID, "ad", &x, &len));
	T_OK(t, mkdir_vt(b.fe, x.e.nodeid, "new", &x));
	T_OK(t, lookup_vt(t->fe, d.e.nodeid, "old", &old, &len));
	T_CHECK(t, ttl(old.e.entry_valid, old.e.entry_valid_nsec) <= ADAPT_SHORT);
	T_CHECK(t, ttl(old.e.attr_valid, old.e.attr_valid_nsec) >= ADAPT_LONG);
	check_channel(t, t->fe);
	stop_second(t, &b);

	/* The same table without the option: the fixed 1 s of --cache=auto, changed or not. */
	T_OK(t, second_daemon_init(t, &b, flags_adapt_off, th_init_flags()));
	if (!b.fe)
		return;
	T_OK(t, lookup_vt(b.fe, FE_ROOT_ID, "ab", &x, &len));
	T_OK(t, chmod_vt(b.fe, x.e.nodeid, 0644));
	T_OK(t, lookup_vt(b.fe, FE_ROOT_ID, "ab", &x, &len));
	T_CHECK(t, x.e.entry_valid == 1 && x.e.entry_valid_nsec == 0);
	T_CHECK(t, x.e.attr_valid == 1 && x.e.attr_valid_nsec == 0);
	stop_second(t, &b);

	/* A patched guest with the option: versioned replies keep the table's long timeouts. */
	T_OK(t, second_daemon(t, &b, flags_adapt));
	if (!b.fe)
		return;
	T_OK(t, lookup_vt(b.fe, FE_ROOT_ID, "ab", &x, &len));
	T_EQ(t, len, sizeof(x));
	T_CHECK(t, x.e.entry_valid == LONG_TTL && x.e.attr_valid == LONG_TTL);
	stop_second(t, &b);
}

static const struct th_test vt_tests[] = {
	{"vt_stock_guest", test_stock_guest},
	{"vt_no_table", test_no_table},
	{"vt_acked", test_acked},
	{"vt_versioned_replies", test_versioned_replies},
	{"vt_counters_move", test_counters_move},
	{"vt_dirs_replies", test_dirs_replies},
	{"vt_setattr_replies", test_setattr_replies},
	{"vt_setattr_stock", test_setattr_stock},
	{"vt_own_node_replies", test_own_node_replies},
	{"vt_own_node_stock", test_own_node_stock},
	{"vt_own_range_replies", test_own_range_replies},
	{"vt_own_range_stock", test_own_range_stock},
	{"vt_two_daemons", test_two_daemons},
	{"vt_hostile_mirror", test_hostile_mirror},
	{"vt_reset_remaps", test_reset_remaps},
	{"vt_mirror_reuse", test_mirror_reuse},
	{"vt_collisions", test_collisions},
	{"vt_with_dax", test_with_dax},
	{"vt_watch_fanotify", test_watch_fanotify},
	{"vt_watch_none", test_watch_none},
	{"vt_watch_own_once", test_watch_own_once},
	{"vt_watch_overflow", test_watch_overflow},
	{"vt_watch_inotify", test_watch_inotify},
	{"vt_migration_refused", test_migration_refused},
	{"vt_rdplus_negotiation", test_rdplus_negotiation},
	{"vt_rdplus_layout", test_rdplus_layout},
	{"vt_rdplus_sizes", test_rdplus_sizes},
	{"vt_rdplus_race", test_rdplus_race},
	{"vt_adaptive", test_adaptive},
	TH_TESTS_END,
};

int main(int argc, char **argv)
{
	static const struct th_test *const families[] = {vt_tests, NULL};
	char cmd[128];
	int r;

	snprintf(table_dir, sizeof(table_dir), "/dev/shm/vfsd-fe-vt-XXXXXX");
	if (!mkdtemp(table_dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(table_opt, sizeof(table_opt), "--vt-table=%s/table", table_dir);
	snprintf(tiny_opt, sizeof(tiny_opt), "--vt-table=%s/tiny", table_dir);
	snprintf(adapt_opt, sizeof(adapt_opt), "--vt-table=%s/adapt", table_dir);
	th_capture_log = true;
	th_after_test = dax_after_test;
	r = th_main(argc, argv, families);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", table_dir);
	if (system(cmd) != 0)
		perror("rm");
	return r;
}
