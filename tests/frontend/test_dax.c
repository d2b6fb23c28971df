// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * frontend-dax, negotiation and mapping: when the window exists, what SETUPMAPPING maps and
 * how (whole in-file pages, the copy of a partial last page and the write-back of a writable
 * one, unmap before remap, write-through to the host file), how maps follow size changes, and
 * REMOVEMAPPING. Against our frontend acting as QEMU 11.1 (fe_dax.c), which also checks after
 * every test that it never saw a request QEMU would refuse. Usage: test_dax DAEMON. TAP on
 * stdout; the daemon's stderr is captured. Hostile requests, limits, requests that meet a
 * stopped or reset device, and the life cycle: test_dax_edge.c.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dax_util.h"

/* SETUPMAPPING gets ENOSYS, INIT has no MAP_ALIGNMENT, attributes no FUSE_ATTR_DAX. */
static void expect_no_dax(struct th *t)
{
	const struct fuse_init_out *io = fe_fuse_init_out(t->fe);
	struct fuse_removemapping_one one = {0, DAX_CHUNK};
	struct fuse_attr_out a;
	uint64_t node;

	T_EQ(t, fe_dax_window_size(t->fe), 0);
	T_EQ(t, io->flags & FUSE_MAP_ALIGNMENT, 0);
	T_EQ(t, io->map_alignment, 0);
	T_EQ(t, io->flags2 & (FUSE_HAS_INODE_DAX >> 32), 0);
	T_OK(t, dax_file(t, th_name(t, "nodax"), 64 * 1024, 1, &node, NULL, NULL));
	T_OK(t, fe_getattr(t->fe, node, NULL, &a));
	T_EQ(t, a.attr.flags & FUSE_ATTR_DAX, 0);
	T_EQ(t, dax_map(t, node, 0, DAX_CHUNK, 0, MAP_R), -ENOSYS);
	T_EQ(t, fe_removemapping(t->fe, node, 1, &one, 1), -ENOSYS);
	T_EQ(t, dax_live(t), 0);
}

static void test_no_tag(struct th *t)
{
	static const char *const flags[] = {"--dax-window=16M", "--dax=always", NULL};

	T_OK(t, dax_start(t, flags, NULL));
	T_EQ(t, fe_protocol_offered(t->fe) & (PROTO(VHU_PROTO_CONFIG) | PROTO(VHU_PROTO_SHMEM)), 0);
	expect_no_dax(t);
}

static uint32_t le32_at(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static void test_tag_dax_never(struct th *t)
{
	static const char *const flags[] = {"--tag=dax", "--dax=never", NULL};
	static const uint8_t tag[36] = "dax";
	struct vhu_config_hdr h = {.offset = 36, .size = 4};
	uint8_t rep[sizeof(h) + 4];
	const uint8_t *cfg;
	uint32_t size;

	T_OK(t, dax_start(t, flags, NULL));
	T_CHECK(t, fe_protocol_offered(t->fe) & PROTO(VHU_PROTO_CONFIG));
	T_EQ(t, fe_protocol_offered(t->fe) & PROTO(VHU_PROTO_SHMEM), 0);
	cfg = fe_dax_config(t->fe, &size);
	T_EQ(t, size, 40);
	if (size == 40) {
		T_CHECK(t, memcmp(cfg, tag, sizeof(tag)) == 0);
		T_EQ(t, le32_at(cfg + 36), 1);
	}
	/* A slice of the config space: num_request_queues alone. */
	memcpy(rep, &h, sizeof(h));
	memset(rep + sizeof(h), 0xff, 4);
	T_OK(t, fe_vhu_query(t->fe, VHU_GET_CONFIG, rep, sizeof(rep), rep, sizeof(rep), &size));
	T_EQ(t, size, sizeof(rep));
	T_EQ(t, le32_at(rep + sizeof(h)), 1);
	expect_no_dax(t);
}

/* num_request_queues follows --request-queues when it is given. */
static void test_config_request_queues(struct th *t)
{
	static const char *const flags[] = {"--tag=dax", "--request-queues=2", NULL};
	const uint8_t *cfg;
	uint32_t size;

	T_OK(t, dax_start(t, flags, NULL));
	cfg = fe_dax_config(t->fe, &size);
	T_EQ(t, size, 40);
	if (size == 40)
		T_EQ(t, le32_at(cfg + 36), 2);
}

static void expect_no_window(struct th *t, const struct fe_options *o)
{
	T_OK(t, dax_start(t, dax_flags, o));
	if (!t->fe)
		return;
	T_EQ(t, fe_dax_shmem_config(t->fe)->nregions, 0);
	expect_no_dax(t);
}

static void test_shmem_config(struct th *t)
{
	const struct vhu_shmem_config *c;
	const struct fuse_init_out *io;
	uint64_t all = DAX_PROTO, node;
	struct fe_options o = {.dax = true};

	T_OK(t, dax_start(t, dax_flags, NULL));
	T_CHECK(t, fe_protocol_offered(t->fe) & PROTO(VHU_PROTO_SHMEM));
	c = fe_dax_shmem_config(t->fe);
	T_EQ(t, c->nregions, 1);
	T_EQ(t, c->memory_sizes[0], DAX_WINDOW);
	T_EQ(t, c->memory_sizes[1], 0);
	T_EQ(t, fe_dax_window_size(t->fe), DAX_WINDOW);
	io = fe_fuse_init_out(t->fe);
	T_CHECK(t, io->flags & FUSE_MAP_ALIGNMENT);
	T_EQ(t, io->map_alignment, 12);
	T_CHECK(t, io->flags2 & (FUSE_HAS_INODE_DAX >> 32));
	/* A guest that does not offer MAP_ALIGNMENT maps nothing. */
	T_OK(t, fe_init(t->fe, 38, DAX_INIT_FLAGS & ~(uint64_t)FUSE_MAP_ALIGNMENT));
	T_EQ(t, fe_fuse_init_out(t->fe)->map_alignment, 0);
	T_OK(t, dax_file(t, th_name(t, "noalign"), 8192, 19, &node, NULL, NULL));
	T_EQ(t, dax_map(t, node, 0, DAX_CHUNK, 0, MAP_R), -ENOSYS);
	T_OK(t, fe_init(t->fe, 38, DAX_INIT_FLAGS));
	T_OK(t, dax_file(t, th_name(t, "align"), 8192, 19, &node, NULL, NULL));
	T_OK(t, dax_map(t, node, 0, DAX_CHUNK, 0, MAP_R));
	/* The window needs every map to become a memory region of its own, acked. */
	o.protocol_features = all & ~PROTO(VHU_PROTO_CONFIGURE_MEM_SLOTS);
	expect_no_window(t, &o);
	o.protocol_features = all & ~PROTO(VHU_PROTO_REPLY_ACK);
	expect_no_window(t, &o);
	o.protocol_features = all & ~PROTO(VHU_PROTO_BACKEND_REQ);
	expect_no_window(t, &o);
}

/* The smallest useful window: one 64 KiB region, nothing past it. */
static void test_small_window(struct th *t)
{
	static const char *const flags[] = {"--tag=dax", "--dax-window=64K", NULL};
	uint64_t node;

	T_OK(t, dax_start(t, flags, NULL));
	T_EQ(t, fe_dax_window_size(t->fe), 65536);
	T_OK(t, dax_file(t, th_name(t, "small"), 4 * MIB, 28, &node, NULL, NULL));
	T_EQ(t, dax_map(t, node, 0, DAX_CHUNK, 0, MAP_R), -EINVAL);
	T_OK(t, dax_map(t, node, 0, 65536, 0, MAP_R));
	T_EQ(t, dax_map(t, node, 0, DAX_PAGE, 65536, MAP_R), -EINVAL);
	T_OK(t, dax_map(t, node, DAX_CHUNK, DAX_PAGE, 65536 - DAX_PAGE, MAP_R));
	T_EQ(t, dax_live(t), 1);
}

/* The window on a read-only share would let the guest write: there is none. */
static void test_readonly_no_window(struct th *t)
{
	static const char *const flags[] = {"--tag=dax", "--dax-window=16M", "--readonly", NULL};
	struct vhu_shmem_config c;
	uint32_t size;

	T_OK(t, dax_start(t, flags, NULL));
	T_EQ(t, fe_protocol_offered(t->fe) & PROTO(VHU_PROTO_SHMEM), 0);
	memset(&c, 0xff, sizeof(c));
	T_OK(t, fe_vhu_query(t->fe, VHU_GET_SHMEM_CONFIG, NULL, 0, &c, sizeof(c), &size));
	T_EQ(t, size, sizeof(c));
	T_EQ(t, c.nregions, 0);
	T_EQ(t, c.memory_sizes[0], 0);
	expect_no_dax(t);
}

/* dax=inode flags page-multiple files of at least 64 KiB; dax=always every regular file. */
static void test_attr_policy(struct th *t)
{
	static const char *const always[] = {"--tag=dax", "--dax-window=16M", "--dax=always", NULL};
	static const size_t sizes[] = {64 * 1024, 33, 12388, 4096, 0};
	static const bool inode_dax[] = {true, false, false, false, false};
	struct fuse_entry_out e;
	struct fuse_attr_out a;

	for (int pass = 0; pass < 2; pass++) {
		T_OK(t, dax_start(t, pass ? always : dax_flags, NULL));
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			const char *n = th_name(t, "policy");
			bool want = pass || inode_dax[i];

			T_OK(t, dax_file(t, n, sizes[i], 2, NULL, NULL, NULL));
			T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, n, &e));
			T_EQ(t, !!(e.attr.flags & FUSE_ATTR_DAX), want);
			T_OK(t, fe_getattr(t->fe, e.nodeid, NULL, &a));
			T_EQ(t, !!(a.attr.flags & FUSE_ATTR_DAX), want);
		}
		T_OK(t, fe_getattr(t->fe, FE_ROOT_ID, NULL, &a));
		T_EQ(t, a.attr.flags & FUSE_ATTR_DAX, 0);
	}
}

/*
 * 4 MiB mapped 2 MiB at a time: the window shows the file, the daemon never maps the file
 * itself; a writable SETUPMAPPING over the first chunk is an unmap then a map (never an
 * overlap), and a write through the window reaches the host file.
 */
static void test_map_read_write(struct th *t)
{
	const char *n = th_name(t, "map4m");
	struct fe_dax_stats s;
	struct fe_dax_map m[4];
	uint8_t *data = NULL, buf[16];
	struct stat st;
	uint64_t node;
	int fd;

	T_OK(t, dax_start(t, dax_flags, NULL));
	T_OK(t, dax_file(t, n, 4 * MIB, 3, &node, &data, &st));
	T_OK(t, dax_map(t, node, 0, DAX_CHUNK, 0, MAP_R));
	T_OK(t, dax_map(t, node, DAX_CHUNK, DAX_CHUNK, DAX_CHUNK, MAP_R));
	T_EQ(t, fe_dax_maps(t->fe, m, 4), 2);
	T_EQ(t, m[0].fd_offset, 0);
	T_EQ(t, m[1].fd_offset, DAX_CHUNK);
	T_EQ(t, m[1].shm_offset, DAX_CHUNK);
	T_EQ(t, m[0].flags & VHU_SHMEM_MAP_RW, 0);
	T_EQ(t, m[0].ino, st.st_ino);
	T_CHECK(t, data && dax_window_is(t, 0, data, 4 * MIB));
	T_CHECK(t, !dax_daemon_maps(t, &st));

	T_OK(t, dax_map(t, node, 0, DAX_CHUNK, 0, MAP_RW));
	fe_dax_stats(t->fe, &s);
	T_EQ(t, s.maps, 3);
	T_EQ(t, s.unmaps, 1);
	T_EQ(t, s.overlaps, 0);
	T_EQ(t, fe_dax_maps(t->fe, m, 4), 2);
	T_EQ(t, m[0].flags & VHU_SHMEM_MAP_RW, VHU_SHMEM_MAP_RW);
	T_OK(t, fe_dax_write(t->fe, 1000, "through the window", 18));
	fd = open(th_host(t, n), O_RDONLY | O_CLOEXEC);
	T_CHECK(t, fd >= 0 && pread(fd, buf, sizeof(buf), 1000) == (ssize_t)sizeof(buf));
	T_CHECK(t, memcmp(buf, "through the wind", sizeof(buf)) == 0);
	if (fd >= 0)
		close(fd);
	T_CHECK(t, !dax_daemon_maps(t, &st));
	free(data);
}

/* 33 and 12388 bytes: whole pages from the file, the rest from a copy, zeros to the page end. */
static void test_partial_last_page(struct th *t)
{
	static const uint8_t zeros[DAX_PAGE];
	const char *a = th_name(t, "tail33"), *b = th_name(t, "tail12388");
	uint8_t *da = NULL, *db = NULL;
	struct fe_dax_map tail;
	struct stat sa, sb;
	uint64_t na, nb;

	T_OK(t, dax_start(t, dax_flags, NULL));
	T_OK(t, dax_file(t, a, 33, 4, &na, &da, &sa));
	T_OK(t, dax_file(t, b, 12388, 5, &nb, &db, &sb));
	T_OK(t, dax_map(t, na, 0, DAX_CHUNK, 0, MAP_R));
	T_EQ(t, dax_live(t), 1);
	T_EQ(t, dax_file_maps(t, sa.st_ino), 0); /* the copy, not the file */
	if (fe_dax_maps(t->fe, &tail, 1) == 1) {
		struct stat copy = {.st_dev = (dev_t)tail.dev, .st_ino = (ino_t)tail.ino};
		T_CHECK(t, !dax_daemon_maps(t, &copy));
	}
	T_CHECK(t, da && dax_window_is(t, 0, da, 33));
	T_CHECK(t, dax_window_is(t, 33, zeros, DAX_PAGE - 33));
	T_OK(t, dax_map(t, nb, 0, DAX_CHUNK, DAX_CHUNK, MAP_R));
	T_EQ(t, dax_file_maps(t, sb.st_ino), 1);
	T_EQ(t, dax_maps_past(t, sb.st_ino, 12288), 0);
	T_CHECK(t, db && dax_window_is(t, DAX_CHUNK, db, 12388));
	T_CHECK(t, dax_window_is(t, DAX_CHUNK + 12388, zeros, 16384 - 12388));
	T_EQ(t, fe_dax_read(t->fe, DAX_CHUNK + 16384, (uint8_t[1]){0}, 1), -EFAULT);
	T_CHECK(t, !dax_daemon_maps(t, &sb));
	T_OK(t, stat(th_host(t, a), &sa));
	T_OK(t, stat(th_host(t, b), &sb));
	T_EQ(t, sa.st_size, 33);
	T_EQ(t, sb.st_size, 12388);
	free(da);
	free(db);
}

/* QEMU would extend an empty file to the map's length: nothing of it may reach the frontend. */
static void test_empty_file(struct th *t)
{
	const char *n = th_name(t, "empty");
	struct stat st;
	uint64_t node;
	int r;

	T_OK(t, dax_start(t, dax_flags, NULL));
	T_OK(t, dax_file(t, n, 0, 6, &node, NULL, &st));
	r = dax_map(t, node, 0, DAX_CHUNK, 0, MAP_R);
	T_CHECK(t, r == 0 || (r < 0 && r != -ETIMEDOUT && r != -FE_EBADREPLY));
	r = dax_map(t, node, 0, DAX_CHUNK, DAX_CHUNK, MAP_RW);
	T_CHECK(t, r == 0 || (r < 0 && r != -ETIMEDOUT && r != -FE_EBADREPLY));
	T_EQ(t, dax_file_maps(t, st.st_ino), 0);
	T_EQ(t, dax_live(t), 0);
	T_OK(t, stat(th_host(t, n), &st));
	T_EQ(t, st.st_size, 0);
}

/*
 * A writable map of a partial last page: the guest's bytes in the copy reach the file at fsync,
 * before the daemon's own write, at release, when the map goes and after a device reset; its
 * bytes past EOF and host changes next to them stay as they are.
 */
static void test_writable_tail(struct th *t)
{
	const char *n = th_name(t, "wtail");
	struct fe_dax_map m[2];
	struct fuse_open_out o;
	struct stat st;
	uint64_t node;

	T_OK(t, dax_start(t, dax_flags, NULL));
	T_OK(t, dax_file(t, n, 12388, 30, &node, NULL, NULL));
	T_OK(t, dax_map(t, node, 0, DAX_CHUNK, 0, MAP_RW));
	T_EQ(t, fe_dax_maps(t->fe, m, 2), 2);
	T_EQ(t, m[1].flags & VHU_SHMEM_MAP_RW, VHU_SHMEM_MAP_RW);
	T_CHECK(t, dax_window_is_host(t, 0, n, 12388));
	T_OK(t, fe_open(t->fe, node, O_RDWR, &o));
	T_OK(t, fe_dax_write(t->fe, 12300, "fsync", 5));
	T_OK(t, fe_dax_write(t->fe, 12388 + 10, "past", 4));
	T_OK(t, dax_host_pwrite(t, n, "H", 1, 12290));
	T_OK(t, fe_fsync(t->fe, node, o.fh, false));
	T_CHECK(t, dax_host_has(t, n, 12300, "fsync", 5));
	T_CHECK(t, dax_host_has(t, n, 12290, "H", 1));
	T_OK(t, fe_dax_write(t->fe, 12320, "AAAA", 4));
	T_EQ(t, fe_write(t->fe, node, o.fh, 12322, "BB", 2, 0), 2);
	T_CHECK(t, dax_host_has(t, n, 12320, "AABB", 4));
	T_OK(t, fe_dax_settle(t->fe, 5000));
	T_CHECK(t, dax_window_is_host(t, 0, n, 12388));
	T_OK(t, fe_dax_write(t->fe, 12330, "rel", 3));
	T_OK(t, fe_release(t->fe, node, o.fh, O_RDWR));
	T_CHECK(t, dax_host_has(t, n, 12330, "rel", 3));
	T_OK(t, fe_dax_write(t->fe, 12340, "rm", 2));
	T_OK(t, dax_unmap(t, 0, DAX_CHUNK));
	T_CHECK(t, dax_host_has(t, n, 12340, "rm", 2));
	T_OK(t, dax_map(t, node, 0, DAX_CHUNK, 0, MAP_RW));
	T_OK(t, fe_dax_write(t->fe, 12350, "rst", 3));
	T_OK(t, fe_reset_device(t->fe));
	T_OK(t, fe_init(t->fe, 38, DAX_INIT_FLAGS));
	T_CHECK(t, dax_host_has(t, n, 12350, "rst", 3));
	T_OK(t, stat(th_host(t, n), &st));
	T_EQ(t, st.st_size, 12388);
}

/*
 * An 8 KiB file mapped read-only grows by a FUSE_WRITE (the tail copy appears), then on the
 * host (seen at the next GETATTR).
 */
static void test_growth(struct th *t)
{
	const char *n = th_name(t, "grow");
	uint8_t add[100], more[5000];
	struct fuse_attr_out a;
	struct fuse_open_out o;
	struct stat st;
	uint64_t node;

	T_OK(t, dax_start(t, dax_flags, NULL));
	T_OK(t, dax_file(t, n, 8192, 7, &node, NULL, &st));
	T_OK(t, dax_map(t, node, 0, DAX_CHUNK, 0, MAP_R));
	T_OK(t, dax_map(t, node, 0, DAX_CHUNK, 2 * DAX_CHUNK, MAP_R)); /* a second view */
	T_EQ(t, dax_live(t), 2);
	dax_random(add, sizeof(add), 8);
	T_OK(t, fe_open(t->fe, node, O_RDWR, &o));
	T_EQ(t, fe_write(t->fe, node, o.fh, 8192, add, sizeof(add), 0), sizeof(add));
	T_OK(t, fe_dax_settle(t->fe, 5000));
	T_CHECK(t, dax_window_is(t, 8192, add, sizeof(add)));
	T_CHECK(t, dax_window_is_host(t, 0, n, 8292));
	T_CHECK(t, dax_window_is_host(t, 2 * DAX_CHUNK, n, 8292));

	dax_random(more, sizeof(more), 9);
	T_OK(t, dax_host_append(t, n, more, sizeof(more)));
	T_OK(t, fe_getattr(t->fe, node, NULL, &a));
	T_EQ(t, a.attr.size, 13292);
	T_OK(t, fe_dax_settle(t->fe, 5000));
	T_CHECK(t, dax_window_is_host(t, 0, n, 13292));
	T_CHECK(t, dax_window_is_host(t, 2 * DAX_CHUNK, n, 13292));
	T_EQ(t, dax_maps_past(t, st.st_ino, 12288), 0);
	T_OK(t, fe_release(t->fe, node, o.fh, O_RDWR));
}

/* Growth one page at a time, past the daemon's 8 pieces per mapping. */
static void test_growth_many_steps(struct th *t)
{
	const char *n = th_name(t, "steps");
	struct fuse_attr_out a;
	uint8_t page[DAX_PAGE];
	struct stat st;
	uint64_t node;

	T_OK(t, dax_start(t, dax_flags, NULL));
	T_OK(t, dax_file(t, n, DAX_PAGE, 10, &node, NULL, &st));
	T_OK(t, dax_map(t, node, 0, DAX_CHUNK, 0, MAP_R));
	for (unsigned i = 1; i <= 12; i++) {
		dax_random(page, sizeof(page), 10 + i);
		T_OK(t, dax_host_append(t, n, page, sizeof(page)));
		T_OK(t, fe_getattr(t->fe, node, NULL, &a));
		T_OK(t, fe_dax_settle(t->fe, 5000));
		T_CHECK(t, dax_window_is_host(t, 0, n, (i + 1) * DAX_PAGE));
	}
	T_CHECK(t, dax_file_maps(t, st.st_ino) <= 8);
	T_OK(t, dax_unmap(t, 0, DAX_CHUNK));
	T_EQ(t, dax_live(t), 0);
}

/*
 * SETATTR and FALLOCATE shrinking a mapped file: no map past the new end, and none was left
 * reaching past it in the meantime (the daemon unmaps before it truncates).
 */
static void test_shrink(struct th *t)
{
	const char *n = th_name(t, "shrink"), *m = th_name(t, "shrinktail");
	const char *c = th_name(t, "collapse");
	struct fuse_attr_out a;
	struct fuse_open_out o;
	struct fe_dax_stats s;
	struct stat st, sm, sc;
	uint64_t node, nm, nc;

	T_OK(t, dax_start(t, dax_flags, NULL));
	T_OK(t, dax_file(t, n, 16384, 11, &node, NULL, &st));
	T_OK(t, dax_file(t, m, 16384, 12, &nm, NULL, &sm));
	T_OK(t, dax_map(t, node, 0, DAX_CHUNK, 2 * DAX_CHUNK, MAP_R));
	T_OK(t, dax_map(t, nm, 0, DAX_CHUNK, 0, MAP_R));
	T_OK(t, fe_setattr(t->fe, node,
			   &(struct fuse_setattr_in){.valid = FATTR_SIZE, .size = 4096}, &a));
	T_OK(t, fe_dax_settle(t->fe, 5000));
	T_EQ(t, dax_file_maps(t, st.st_ino), 1);
	T_EQ(t, dax_maps_past(t, st.st_ino, 4096), 0);
	T_CHECK(t, dax_window_is_host(t, 2 * DAX_CHUNK, n, 4096));
	T_EQ(t, fe_dax_read(t->fe, 2 * DAX_CHUNK + 4096, (uint8_t[1]){0}, 1), -EFAULT);
	/* To a partial page: the whole page from the file, the rest from a copy. */
	T_OK(t, fe_setattr(t->fe, nm, &(struct fuse_setattr_in){.valid = FATTR_SIZE, .size = 5000},
			   &a));
	T_OK(t, fe_dax_settle(t->fe, 5000));
	T_EQ(t, dax_maps_past(t, sm.st_ino, 4096), 0);
	T_CHECK(t, dax_window_is_host(t, 0, m, 5000));
	T_CHECK(t, dax_window_is(t, 5000, NULL, 8192 - 5000));
	/* A collapsed range moves the rest of the file down. */
	T_OK(t, dax_file(t, c, 16384, 18, &nc, NULL, &sc));
	T_OK(t, dax_map(t, nc, 0, DAX_CHUNK, 3 * DAX_CHUNK, MAP_R));
	T_OK(t, fe_open(t->fe, nc, O_RDWR, &o));
	T_OK(t, fe_fallocate(t->fe, nc, o.fh, 0, 4096, FALLOC_FL_COLLAPSE_RANGE));
	T_OK(t, fe_release(t->fe, nc, o.fh, O_RDWR));
	T_OK(t, fe_dax_settle(t->fe, 5000));
	T_EQ(t, dax_maps_past(t, sc.st_ino, 12288), 0);
	T_CHECK(t, dax_window_is_host(t, 3 * DAX_CHUNK, c, 12288));
	fe_dax_stats(t->fe, &s);
	T_EQ(t, s.stale, 0);
}

/* A host-side truncate is noticed at the next GETATTR. */
static void test_host_shrink(struct th *t)
{
	const char *n = th_name(t, "hostshrink");
	struct fuse_attr_out a;
	struct fe_dax_stats s;
	struct stat st;
	uint64_t node;

	T_OK(t, dax_start(t, dax_flags, NULL));
	T_OK(t, dax_file(t, n, 65536, 13, &node, NULL, &st));
	T_OK(t, dax_map(t, node, 0, DAX_CHUNK, 0, MAP_R));
	T_OK(t, truncate(th_host(t, n), 8192));
	/* Until the daemon hears of it, the map reaches past EOF: an access there faults. */
	T_EQ(t, fe_dax_read(t->fe, 12288, (uint8_t[1]){0}, 1), -EFAULT);
	T_OK(t, fe_getattr(t->fe, node, NULL, &a));
	T_EQ(t, a.attr.size, 8192);
	T_OK(t, fe_dax_settle(t->fe, 5000));
	T_EQ(t, dax_maps_past(t, st.st_ino, 8192), 0);
	T_CHECK(t, dax_window_is_host(t, 0, n, 8192));
	/* The host cut the file under the map: nothing could prevent that one. */
	fe_dax_stats(t->fe, &s);
	T_EQ(t, s.stale, 1);
}

/* A setup over part of another file's mapping replaces all of it. */
static void test_remap_other_file(struct th *t)
{
	const char *a = th_name(t, "remapa"), *b = th_name(t, "remapb");
	uint8_t *db = NULL;
	struct stat sa, sb;
	uint64_t na, nb;

	T_OK(t, dax_start(t, dax_flags, NULL));
	T_OK(t, dax_file(t, a, 4 * MIB, 14, &na, NULL, &sa));
	T_OK(t, dax_file(t, b, 4 * MIB, 15, &nb, &db, &sb));
	T_OK(t, dax_map(t, na, 0, DAX_CHUNK, 0, MAP_R));
	T_OK(t, dax_map(t, nb, 0, DAX_CHUNK, MIB, MAP_R));
	T_EQ(t, dax_file_maps(t, sa.st_ino), 0);
	T_EQ(t, dax_file_maps(t, sb.st_ino), 1);
	T_CHECK(t, db && dax_window_is(t, MIB, db, DAX_CHUNK));
	T_EQ(t, fe_dax_read(t->fe, 0, (uint8_t[1]){0}, 1), -EFAULT);
	/* REMOVEMAPPING of the replaced range no longer names a mapping. */
	T_EQ(t, dax_unmap(t, 0, DAX_CHUNK), -EINVAL);
	free(db);
}

/* REMOVEMAPPING removes every piece of exactly what a setup mapped, and nothing else. */
static void test_removemapping(struct th *t)
{
	const char *n = th_name(t, "remove"), *g = th_name(t, "removegrown");
	struct fuse_removemapping_one many[257];
	struct fuse_attr_out a;
	struct stat st;
	uint64_t node, ng;

	T_OK(t, dax_start(t, dax_flags, NULL));
	T_OK(t, dax_file(t, n, 12388, 16, &node, NULL, &st));
	T_OK(t, dax_map(t, node, 0, DAX_CHUNK, 0, MAP_R));
	T_EQ(t, dax_live(t), 2);
	T_EQ(t, dax_unmap(t, 0, DAX_PAGE), -EINVAL); /* part of a mapping */
	T_EQ(t, dax_live(t), 2);
	T_OK(t, dax_unmap(t, 0, DAX_CHUNK));
	T_EQ(t, dax_live(t), 0);
	T_EQ(t, dax_unmap(t, 0, DAX_CHUNK), -EINVAL);
	T_EQ(t, dax_unmap(t, 4 * MIB, DAX_CHUNK), -EINVAL);
	/* A mapping that grew has more pieces; one removal still takes them all. */
	T_OK(t, dax_file(t, g, 8192, 17, &ng, NULL, NULL));
	T_OK(t, dax_map(t, ng, 0, DAX_CHUNK, 0, MAP_R));
	T_OK(t, dax_map(t, node, 0, DAX_CHUNK, DAX_CHUNK, MAP_R));
	T_OK(t, truncate(th_host(t, g), 20000));
	T_OK(t, fe_getattr(t->fe, ng, NULL, &a));
	T_OK(t, fe_dax_settle(t->fe, 5000));
	T_CHECK(t, dax_live(t) > 3);
	many[0] = (struct fuse_removemapping_one){0, DAX_CHUNK};
	many[1] = (struct fuse_removemapping_one){DAX_CHUNK, DAX_CHUNK};
	T_OK(t, fe_removemapping(t->fe, FE_ROOT_ID, 2, many, 2));
	T_OK(t, fe_dax_settle(t->fe, 5000));
	T_EQ(t, dax_live(t), 0);
	/* Counts: 0, more than a page of entries, more than were sent. */
	memset(many, 0, sizeof(many));
	T_EQ(t, fe_removemapping(t->fe, FE_ROOT_ID, 0, NULL, 0), -EINVAL);
	T_EQ(t, fe_removemapping(t->fe, FE_ROOT_ID, 257, many, 257), -EINVAL);
	T_EQ(t, fe_removemapping(t->fe, FE_ROOT_ID, 256, many, 256), -EINVAL);
	T_EQ(t, fe_removemapping(t->fe, FE_ROOT_ID, 3, many, 2), -EINVAL);
}

/*
 * Migration with live maps: the guest's mappings cannot move, so the SAVE is refused (the
 * migration fails and the source goes on); once they are gone it saves.
 */
static void test_migration_refused_with_maps(struct th *t)
{
	struct fe_options o = {.dax = true,
			       .protocol_features = DAX_PROTO | PROTO(VHU_PROTO_DEVICE_STATE)};
	uint64_t node, set = 0, check = 0;
	size_t len = 0;
	void *blob = NULL;

	T_OK(t, dax_start(t, dax_flags, &o));
	if (!t->fe)
		return;
	T_OK(t, dax_file(t, th_name(t, "mig"), 8192, 3, &node, NULL, NULL));
	T_OK(t, dax_map(t, node, 0, DAX_CHUNK, 0, MAP_R));
	T_OK(t, fe_stop(t->fe));
	T_OK(t, fe_state_save(t->fe, &blob, &len, &set, &check));
	T_CHECK(t, (set & 0xff) != 0);
	T_CHECK(t, check != 0);
	T_CHECK(t, blob == NULL);
	T_OK(t, fe_resume(t->fe));
	T_OK(t, dax_unmap(t, 0, DAX_CHUNK));
	T_EQ(t, dax_live(t), 0);
	T_OK(t, fe_stop(t->fe));
	T_OK(t, fe_state_save(t->fe, &blob, &len, &set, &check));
	T_EQ(t, set & 0xff, 0);
	T_EQ(t, check, 0);
	T_CHECK(t, blob && len > 0);
	free(blob);
	T_OK(t, fe_resume(t->fe));
}

static const struct th_test dax_tests[] = {
	{"no-tag-no-dax", test_no_tag},
	{"tag-dax-never-config-only", test_tag_dax_never},
	{"config-request-queues", test_config_request_queues},
	{"shmem-config-window", test_shmem_config},
	{"small-window", test_small_window},
	{"readonly-no-window", test_readonly_no_window},
	{"attr-dax-policy", test_attr_policy},
	{"map-read-then-write-through", test_map_read_write},
	{"partial-last-page-tail-copy", test_partial_last_page},
	{"writable-tail-written-back", test_writable_tail},
	{"empty-file-never-mapped", test_empty_file},
	{"growth-write-and-host-append", test_growth},
	{"growth-many-steps", test_growth_many_steps},
	{"shrink-setattr", test_shrink},
	{"host-shrink-then-getattr", test_host_shrink},
	{"remap-other-file", test_remap_other_file},
	{"removemapping", test_removemapping},
	{"migration-refused-with-live-maps", test_migration_refused_with_maps},
	TH_TESTS_END,
};

extern const struct th_test dax_edge_tests[];

int main(int argc, char **argv)
{
	static const struct th_test *const families[] = {dax_tests, dax_edge_tests, NULL};

	th_capture_log = true;
	th_after_test = dax_after_test;
	return th_main(argc, argv, families);
}
