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
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dax_util.h"
#include "vfsd/vt_proto.h"

#define VT_FLAG	 VFSD_VT_INIT_FLAG
#define LONG_TTL 86400u
#define SLOTS	 131072u /* the daemon's default */

static char table_dir[64], table_opt[128], tiny_opt[128];
static const char *flags_vt[] = {"--tag=vt", "--dax=never", "--coherence=table", table_opt, NULL};
static const char *flags_vt_dax[] = {"--tag=vt", "--dax-window=16M", "--coherence=table", table_opt,
				     NULL};
static const char *const flags_plain[] = {"--tag=vt", "--dax=never", NULL};
static const char *flags_tiny[] = {"--tag=vt", "--dax=never",  "--coherence=table",
				   tiny_opt,   "--vt-slots=1", NULL};

struct entry_vt {
	struct fuse_entry_out e;
	struct vfsd_vt_entry_out v;
};

struct attr_vt {
	struct fuse_attr_out a;
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
	T_EQ(t, lookup_vt(t->fe, FE_ROOT_ID, "missing", &r, &len), -ENOENT);
	T_CHECK(t, fe_shm_region1(t->fe, &(uint64_t){0}) == NULL);
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
	check_channel(t, t->fe);
}

/* Entry, attribute and negative replies carry the versions the guest sees in its mirror. */
static void test_versioned_replies(struct th *t)
{
	struct entry_vt r;
	struct attr_vt a;
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

	T_OK(t, getattr_vt(t->fe, r.e.nodeid, &a, &len));
	T_EQ(t, len, sizeof(a));
	T_EQ(t, a.v.node.flags, VFSD_VT_VALID);
	T_EQ(t, a.v.node.slot, r.v.node.slot);
	T_EQ(t, a.v.node.version, mirror(t->fe, r.v.node.slot));
	T_EQ(t, a.a.attr_valid, LONG_TTL);

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
	v = mirror(t->fe, d.v.node.slot);
	T_OK(t, fe_rename(t->fe, dir, "c", dir, "c2"));
	T_CHECK(t, mirror(t->fe, d.v.node.slot) > v);
	v = mirror(t->fe, d.v.node.slot);
	T_OK(t, fe_unlink(t->fe, dir, "c2"));
	T_CHECK(t, mirror(t->fe, d.v.node.slot) > v);
	check_channel(t, t->fe);
}

/* A second vfsd on the same share and table, with its own frontend (another guest). */
static int second_daemon(struct th *t, struct th *t2, const char *const *flags)
{
	struct fe_options o = {.dax = true};
	int r;

	memset(t2, 0, sizeof(*t2));
	snprintf(t2->dir, sizeof(t2->dir), "%s", t->dir);
	snprintf(t2->share, sizeof(t2->share), "%s", t->share);
	snprintf(t2->sock, sizeof(t2->sock), "%s/sock-b", t->dir);
	snprintf(t2->log, sizeof(t2->log), "%s", t->log);
	t2->daemon_argv = t->daemon_argv;
	t2->extra_flags = flags;
	if ((r = th_daemon_start(t2)) < 0 || (r = th_connect(t2, &o)) < 0)
		return r;
	return fe_init(t2->fe, 38, th_init_flags() | VT_FLAG);
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

static const struct th_test vt_tests[] = {
	{"vt_stock_guest", test_stock_guest},
	{"vt_no_table", test_no_table},
	{"vt_acked", test_acked},
	{"vt_versioned_replies", test_versioned_replies},
	{"vt_counters_move", test_counters_move},
	{"vt_two_daemons", test_two_daemons},
	{"vt_hostile_mirror", test_hostile_mirror},
	{"vt_reset_remaps", test_reset_remaps},
	{"vt_collisions", test_collisions},
	{"vt_with_dax", test_with_dax},
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
	th_capture_log = true;
	th_after_test = dax_after_test;
	r = th_main(argc, argv, families);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", table_dir);
	if (system(cmd) != 0)
		perror("rm");
	return r;
}
