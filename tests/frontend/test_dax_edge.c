// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * frontend-dax, edges: hostile SETUPMAPPING requests, files the guest may not write, the limit
 * on live maps, requests on two queues at once, and the life cycle (a new INIT, DESTROY,
 * RESET_DEVICE, a new frontend with --keep-serving, the statistics logged at disconnect).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dax_util.h"

#define ANY_ERROR    1 /* expected: some error, not a transport failure */
#define ERROR_OR_NOT 2 /* expected: anything but a transport failure, and no map */

enum bad_node {
	NODE_FILE,
	NODE_DIR,
	NODE_FORGED,
	NODE_ZERO,
	NODE_SYMLINK,
	NODE_FIFO
};

struct bad_setup {
	const char *what;
	enum bad_node node;
	uint64_t foffset, len, moffset, flags;
	int expect;
};

static const struct bad_setup bad_setups[] = {
	{"moffset at the window's end", NODE_FILE, 0, DAX_CHUNK, DAX_WINDOW, MAP_R, -EINVAL},
	{"range past the window's end", NODE_FILE, 0, DAX_CHUNK, DAX_WINDOW - DAX_PAGE, MAP_R,
	 -EINVAL},
	{"moffset + len overflows", NODE_FILE, 0, DAX_CHUNK, UINT64_MAX & ~4095ull, MAP_R, -EINVAL},
	{"len overflows", NODE_FILE, 0, UINT64_MAX & ~4095ull, DAX_CHUNK, MAP_R, -EINVAL},
	{"len 0", NODE_FILE, 0, 0, 0, MAP_R, -EINVAL},
	{"unaligned moffset", NODE_FILE, 0, DAX_CHUNK, 100, MAP_R, -EINVAL},
	{"unaligned foffset", NODE_FILE, 100, DAX_CHUNK, 0, MAP_R, -EINVAL},
	{"unaligned len", NODE_FILE, 0, 100, 0, MAP_R, -EINVAL},
	{"huge len", NODE_FILE, 0, 1ull << 62, 0, MAP_R, -EINVAL},
	{"foffset + len overflows", NODE_FILE, 1ull << 63, DAX_CHUNK, 0, MAP_R, -EINVAL},
	{"foffset near 2^64", NODE_FILE, UINT64_MAX & ~4095ull, DAX_PAGE, 0, MAP_R, -EINVAL},
	{"foffset past EOF", NODE_FILE, 1ull << 40, DAX_CHUNK, 0, MAP_R, ERROR_OR_NOT},
	{"forged node id", NODE_FORGED, 0, DAX_CHUNK, 0, MAP_R, ANY_ERROR},
	{"node id 0", NODE_ZERO, 0, DAX_CHUNK, 0, MAP_R, ANY_ERROR},
	{"directory", NODE_DIR, 0, DAX_CHUNK, 0, MAP_R, -EINVAL},
	{"symlink", NODE_SYMLINK, 0, DAX_CHUNK, 0, MAP_R, -EINVAL},
	{"fifo", NODE_FIFO, 0, DAX_CHUNK, 0, MAP_R, -EINVAL},
	{"unknown flag 1<<2", NODE_FILE, 0, DAX_CHUNK, 0, MAP_R | (1ull << 2), -EINVAL},
	{"unknown flag 1<<63", NODE_FILE, 0, DAX_CHUNK, 0, MAP_RW | (1ull << 63), -EINVAL},
};

static bool transport_failure(int r)
{
	return r == -ETIMEDOUT || r == -FE_EBADREPLY || r == -EPROTO || r == -ECONNRESET;
}

static void check_bad_setup(struct th *t, const struct bad_setup *c, const uint64_t *nodes)
{
	uint64_t node = c->node == NODE_FORGED ? 0xdeadbeef000ull
			: c->node == NODE_ZERO ? 0
					       : nodes[c->node];
	struct fuse_attr_out a;
	int r = dax_map(t, node, c->foffset, c->len, c->moffset, c->flags);
	bool ok = c->expect == ERROR_OR_NOT ? !transport_failure(r)
		  : c->expect == ANY_ERROR  ? r < 0 && !transport_failure(r)
					    : r == c->expect;

	if (!ok)
		th_fail(t, __FILE__, __LINE__, "%s: %d (%s)", c->what, r, strerror(-r));
	if (dax_live(t) != 0)
		th_fail(t, __FILE__, __LINE__, "%s: %u frontend maps", c->what, dax_live(t));
	T_OK(t, fe_getattr(t->fe, FE_ROOT_ID, NULL, &a));
}

static void test_hostile_setups(struct th *t)
{
	const char *f = th_name(t, "hostile"), *d = th_name(t, "hostiledir");
	const char *l = th_name(t, "hostilelink"), *p = th_name(t, "hostilefifo");
	uint64_t nodes[NODE_FIFO + 1] = {0};
	struct fuse_entry_out e;

	T_OK(t, dax_start(t, dax_flags, NULL));
	T_OK(t, dax_file(t, f, 4 * MIB, 20, &nodes[NODE_FILE], NULL, NULL));
	T_OK(t, mkdir(th_host(t, d), 0755));
	T_OK(t, symlink(f, th_host(t, l)));
	T_OK(t, mkfifo(th_host(t, p), 0666));
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, d, &e));
	nodes[NODE_DIR] = e.nodeid;
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, l, &e));
	nodes[NODE_SYMLINK] = e.nodeid;
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, p, &e));
	nodes[NODE_FIFO] = e.nodeid;
	for (size_t i = 0; i < sizeof(bad_setups) / sizeof(bad_setups[0]); i++)
		check_bad_setup(t, &bad_setups[i], nodes);
	/* Still mapping after all that. */
	T_OK(t, dax_map(t, nodes[NODE_FILE], 0, DAX_CHUNK, DAX_WINDOW - DAX_CHUNK, MAP_R));
	T_EQ(t, dax_live(t), 1);
}

/*
 * The frontend maps every file read-write. Whether the caller may write is the guest kernel's
 * decision (it maps writable only for a file opened for writing): a writable map is made as the
 * daemon, also for a caller whose write permission comes from a supplementary group the request
 * does not carry. Files even the daemon may not write are never mapped.
 */
static void test_permissions(struct th *t)
{
	static const int attrs[] = {FS_IMMUTABLE_FL, FS_APPEND_FL};
	const char *n = th_name(t, "perm");
	struct fuse_attr_out a;
	struct stat st;
	uint64_t node;
	int fd, r;

	T_OK(t, dax_start(t, dax_flags, NULL));
	T_OK(t, dax_file(t, n, 65536, 21, &node, NULL, &st));
	T_OK(t, chown(th_host(t, n), 0, 2000));
	T_OK(t, chmod(th_host(t, n), 0664));
	T_OK(t, fe_getattr(t->fe, node, NULL, &a));
	T_CHECK(t, a.attr.flags & FUSE_ATTR_DAX);
	fe_fuse_set_creds(t->fe, 1000, 1000, 1);
	T_OK(t, dax_map(t, node, 0, DAX_CHUNK, 0, MAP_RW));
	T_EQ(t, dax_live(t), 1);
	T_OK(t, dax_map(t, node, 0, DAX_CHUNK, DAX_CHUNK, MAP_R));
	fe_fuse_set_creds(t->fe, 0, 0, 1);
	T_OK(t, dax_unmap(t, 0, DAX_CHUNK));
	T_OK(t, dax_unmap(t, DAX_CHUNK, DAX_CHUNK));
	T_EQ(t, dax_live(t), 0);
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		int old = 0, flags;

		fd = open(th_host(t, n), O_RDONLY | O_CLOEXEC);
		if (fd < 0 || ioctl(fd, FS_IOC_GETFLAGS, &old) < 0 ||
		    (flags = old | attrs[i], ioctl(fd, FS_IOC_SETFLAGS, &flags) < 0)) {
			th_skip(t, "cannot set inode flags on the share");
			if (fd >= 0)
				close(fd);
			continue;
		}
		/* Not offered for DAX, and not mapped when asked anyway. */
		T_OK(t, fe_getattr(t->fe, node, NULL, &a));
		T_EQ(t, a.attr.flags & FUSE_ATTR_DAX, 0);
		r = dax_map(t, node, 0, DAX_CHUNK, 0, MAP_R);
		T_CHECK(t, r < 0 && !transport_failure(r));
		T_EQ(t, dax_live(t), 0);
		T_OK(t, ioctl(fd, FS_IOC_SETFLAGS, &old));
		close(fd);
	}
}

/* At most 500 live maps: the next one fails, whole (a mapping of two pieces is undone). */
static void test_map_limit(struct th *t)
{
	const char *n = th_name(t, "limit"), *m = th_name(t, "limittail");
	struct fe_dax_stats s;
	uint64_t node, nm;
	unsigned ok = 0;

	T_OK(t, dax_start(t, dax_flags, NULL));
	T_OK(t, dax_file(t, n, DAX_PAGE, 22, &node, NULL, NULL));
	T_OK(t, dax_file(t, m, 12388, 23, &nm, NULL, NULL));
	for (unsigned i = 0; i < DAX_MAX_LIVE; i++)
		ok += dax_map(t, node, 0, DAX_PAGE, (uint64_t)i * DAX_PAGE, MAP_R) == 0;
	T_EQ(t, ok, DAX_MAX_LIVE);
	T_EQ(t, dax_map(t, node, 0, DAX_PAGE, DAX_MAX_LIVE * DAX_PAGE, MAP_R), -ENOSPC);
	T_EQ(t, dax_live(t), DAX_MAX_LIVE);
	T_OK(t, dax_unmap(t, 0, DAX_PAGE));
	T_EQ(t, dax_map(t, nm, 0, DAX_CHUNK, 4 * MIB, MAP_R), -ENOSPC);
	T_EQ(t, dax_live(t), DAX_MAX_LIVE - 1);
	T_OK(t, dax_map(t, node, 0, DAX_PAGE, 0, MAP_R));
	T_CHECK(t, dax_window_is_host(t, 0, n, DAX_PAGE));
	fe_dax_stats(t->fe, &s);
	T_EQ(t, s.max_live, DAX_MAX_LIVE);
	/* A new session unmaps them all. */
	T_OK(t, fe_init(t->fe, 38, DAX_INIT_FLAGS));
	T_OK(t, fe_dax_settle(t->fe, 10000));
	T_EQ(t, dax_live(t), 0);
}

/* SETUPMAPPING on two request queues at once: the backend channel serializes them. */
static void test_two_queues(struct th *t)
{
	static const char *const flags[] = {"--tag=dax", "--dax-window=16M", "--request-queues=2",
					    NULL};
	struct fe_options o = {.dax = true, .num_request_queues = 2};
	struct fuse_setupmapping_in in[2];
	struct fe_call c[2];
	struct fe_dax_map m[2];
	const char *n = th_name(t, "twoq");
	uint8_t *data = NULL;
	uint64_t node;

	T_OK(t, dax_start(t, flags, &o));
	if (!t->fe)
		return;
	T_OK(t, dax_file(t, n, 4 * MIB, 24, &node, &data, NULL));
	for (unsigned round = 0; round < 20; round++) {
		for (unsigned q = 0; q < 2; q++) {
			in[q] = (struct fuse_setupmapping_in){.fh = UINT64_MAX,
							      .foffset = q * DAX_CHUNK,
							      .len = DAX_CHUNK,
							      .flags = round % 2 ? MAP_RW : MAP_R,
							      /* Odd rounds: the same range. */
							      .moffset = round % 2 ? 0
										   : q * DAX_CHUNK};
			struct iovec a = IOVS(&in[q]);
			T_OK(t, fe_fuse_submit(t->fe, &c[q], 1 + q, FUSE_SETUPMAPPING, node, &a, 1,
					       NULL, 0));
		}
		for (unsigned q = 0; q < 2; q++)
			T_OK(t, fe_fuse_complete(t->fe, &c[q], 10000, NULL));
	}
	T_OK(t, fe_dax_settle(t->fe, 5000));
	/* The last round's two setups of [0, 2M): whichever came last, the window shows its
	 * chunk; the even rounds' [2M, 4M) is still there. */
	T_EQ(t, fe_dax_maps(t->fe, m, 2), 2);
	T_CHECK(t, data && dax_window_is(t, 0, data + m[0].fd_offset, DAX_CHUNK));
	T_CHECK(t, data && dax_window_is(t, DAX_CHUNK, data + DAX_CHUNK, DAX_CHUNK));
	free(data);
}

static bool wait_received(struct th *t, unsigned n)
{
	struct fe_dax_stats s;

	for (int i = 0; i < 1000; i++) {
		fe_dax_stats(t->fe, &s);
		if (s.received >= n)
			return true;
		usleep(5000);
	}
	return false;
}

/*
 * SETUPMAPPING of [0, len) at window offset 0 while the VMM holds the backend channel; returns
 * once its SHMEM_MAP has arrived there. in and c must live until the call completes.
 */
static void setup_held(struct th *t, uint64_t node, uint64_t len, struct fuse_setupmapping_in *in,
		       struct fe_call *c)
{
	struct iovec a = IOVS(in);

	*in = (struct fuse_setupmapping_in){.fh = UINT64_MAX, .len = len, .flags = MAP_R};
	fe_dax_hold(t->fe, true);
	T_OK(t, fe_fuse_submit(t->fe, c, 1, FUSE_SETUPMAPPING, node, &a, 1, NULL, 0));
	T_CHECK(t, wait_received(t, 1));
}

/*
 * The VM stops (GET_VRING_BASE) while a SHMEM_MAP waits in the channel: the daemon stops
 * waiting, the VMM maps it once its main loop gets to it. That map must not be lost: once
 * the VM runs again, the guest's next setup of the range must work (not meet an overlap in
 * the VMM), and its removal must leave the window empty.
 */
static void test_vm_stop_during_map(struct th *t)
{
	struct fuse_setupmapping_in in;
	const char *n = th_name(t, "vmstop");
	struct fe_call c;
	uint64_t node;
	int r;

	T_OK(t, dax_start(t, dax_flags, NULL));
	T_OK(t, dax_file(t, n, 4 * MIB, 26, &node, NULL, NULL));
	setup_held(t, node, DAX_CHUNK, &in, &c);
	T_OK(t, fe_stop(t->fe));
	fe_dax_hold(t->fe, false);
	r = fe_fuse_complete(t->fe, &c, 5000, NULL);
	T_CHECK(t, !transport_failure(r) || r == -ETIMEDOUT);
	T_OK(t, fe_dax_settle(t->fe, 5000));
	T_OK(t, fe_resume(t->fe));
	T_OK(t, dax_map(t, node, 0, DAX_CHUNK, 0, MAP_R));
	T_CHECK(t, dax_window_is_host(t, 0, n, DAX_CHUNK));
	T_OK(t, dax_unmap(t, 0, DAX_CHUNK));
	T_EQ(t, dax_live(t), 0);
}

/*
 * The same with a device reset after the stop: the daemon forgets its maps, the VMM drops
 * them. Its count of live maps must not keep the lost one: 500 maps still fit afterwards.
 */
static void test_reset_after_cancelled_map(struct th *t)
{
	struct fuse_setupmapping_in in;
	const char *n = th_name(t, "cancelreset");
	struct fuse_entry_out e;
	struct fe_call c;
	uint64_t node;
	unsigned ok = 0;

	T_OK(t, dax_start(t, dax_flags, NULL));
	T_OK(t, dax_file(t, n, DAX_PAGE, 27, &node, NULL, NULL));
	setup_held(t, node, DAX_PAGE, &in, &c);
	T_OK(t, fe_stop(t->fe));
	fe_dax_hold(t->fe, false);
	(void)fe_fuse_complete(t->fe, &c, 5000, NULL);
	T_OK(t, fe_reset_device(t->fe));
	T_OK(t, fe_init(t->fe, 38, DAX_INIT_FLAGS));
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, n, &e));
	for (unsigned i = 0; i < DAX_MAX_LIVE; i++)
		ok += dax_map(t, e.nodeid, 0, DAX_PAGE, (uint64_t)i * DAX_PAGE, MAP_R) == 0;
	T_EQ(t, ok, DAX_MAX_LIVE);
	T_EQ(t, dax_live(t), DAX_MAX_LIVE);
}

/*
 * A GETATTR on request queue 1 whose reply buffer is the window's first page (a guest-physical
 * address the daemon must not have in its memory table): the queue may break, the daemon must
 * not die. The descriptors are far from those the frontend's allocator hands out.
 */
static void reply_into_window(struct th *t)
{
	struct {
		struct fuse_in_header ih;
		struct fuse_getattr_in in;
	} req = {.ih = {.len = sizeof(req),
			.opcode = FUSE_GETATTR,
			.unique = 0x7000,
			.nodeid = FE_ROOT_ID}};
	struct vring_desc *desc = fe_vq_desc_table(t->fe, 1);
	struct vring_used_elem e;
	uint64_t gpa;

	T_OK(t, fe_mem_alloc(t->fe, sizeof(req), &gpa));
	T_OK(t, fe_mem_write(t->fe, gpa, &req, sizeof(req)));
	desc[100] = (struct vring_desc){
		.addr = gpa, .len = sizeof(req), .flags = VRING_DESC_F_NEXT, .next = 101};
	desc[101] = (struct vring_desc){.addr = FE_DAX_WINDOW_GPA,
					.len = sizeof(struct fuse_out_header) +
					       sizeof(struct fuse_attr_out),
					.flags = VRING_DESC_F_WRITE};
	fe_vq_raw_publish(t->fe, 1, 100);
	(void)fe_vq_raw_wait(t->fe, 1, &e, 2000);
}

/*
 * A device reset while a SHMEM_MAP waits in the channel: the VMM maps it after the reset and
 * adds the region to the memory table. The daemon must still see a window map in it and never
 * map the file itself (a guest could then make it fault by truncating the file).
 */
static void test_reset_with_map_pending(struct th *t)
{
	struct fuse_setupmapping_in in;
	const char *n = th_name(t, "resetpending");
	struct fe_call c;
	struct stat st;
	uint64_t node;
	int status;

	T_OK(t, dax_start(t, dax_flags, NULL));
	T_OK(t, dax_file(t, n, 4 * MIB, 29, &node, NULL, &st));
	setup_held(t, node, DAX_CHUNK, &in, &c);
	T_OK(t, fe_reset_device(t->fe));
	fe_dax_hold(t->fe, false);
	T_OK(t, fe_dax_settle(t->fe, 5000));
	T_CHECK(t, !dax_daemon_maps(t, &st));
	T_OK(t, fe_init(t->fe, 38, DAX_INIT_FLAGS));
	/* What a guest could do with it: a reply into that range of a file cut to 0 bytes. */
	T_OK(t, truncate(th_host(t, n), 0));
	reply_into_window(t);
	fe_free(t->fe);
	t->fe = NULL;
	status = th_daemon_wait(t, 5000);
	if (!(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0))
		th_fail(t, __FILE__, __LINE__, "daemon exit status %#x", (unsigned)status);
	T_OK(t, dax_start(t, dax_flags, NULL));
}

/* Three chunks of a 6 MiB file at window offsets 0, 2M, 4M. */
static int map_three(struct th *t, const char *name, uint64_t *ret_node)
{
	int r = dax_file(t, name, 6 * MIB, 25, ret_node, NULL, NULL);

	for (unsigned i = 0; i < 3 && r == 0; i++)
		r = dax_map(t, *ret_node, i * DAX_CHUNK, DAX_CHUNK, i * DAX_CHUNK, MAP_R);
	return r;
}

/* A second INIT (a remount) and DESTROY (an unmount) unmap everything. */
static void test_reinit_destroy_unmap(struct th *t)
{
	struct fe_dax_stats s0, s1;
	uint64_t node;

	T_OK(t, dax_start(t, dax_flags, NULL));
	T_OK(t, map_three(t, th_name(t, "reinit"), &node));
	fe_dax_stats(t->fe, &s0);
	T_OK(t, fe_init(t->fe, 38, DAX_INIT_FLAGS));
	T_OK(t, fe_dax_settle(t->fe, 5000));
	fe_dax_stats(t->fe, &s1);
	T_EQ(t, s1.live, 0);
	T_EQ(t, s1.unmaps - s0.unmaps, 3);
	T_OK(t, map_three(t, th_name(t, "destroy"), &node));
	T_OK(t, fe_destroy(t->fe));
	T_OK(t, fe_dax_settle(t->fe, 5000));
	T_EQ(t, dax_live(t), 0);
	T_OK(t, fe_init(t->fe, 38, DAX_INIT_FLAGS));
}

/* RESET_DEVICE: the frontend drops the maps itself and the daemon must not unmap them again;
 * the same offsets map again in the next session. */
static void test_reset_forgets(struct th *t)
{
	const char *n = th_name(t, "reset"), *n2 = th_name(t, "reset2");
	struct fe_dax_stats s0, s1;
	uint64_t node;

	T_OK(t, dax_start(t, dax_flags, NULL));
	T_OK(t, map_three(t, n, &node));
	fe_dax_stats(t->fe, &s0);
	T_OK(t, fe_reset_device(t->fe));
	T_OK(t, fe_init(t->fe, 38, DAX_INIT_FLAGS));
	T_OK(t, fe_dax_settle(t->fe, 5000));
	fe_dax_stats(t->fe, &s1);
	T_EQ(t, s1.live, 0);
	T_EQ(t, s1.unmaps, s0.unmaps);
	T_CHECK(t, fe_fuse_init_out(t->fe)->flags & FUSE_MAP_ALIGNMENT);
	T_OK(t, map_three(t, n2, &node));
	T_EQ(t, dax_live(t), 3);
	T_CHECK(t, dax_window_is_host(t, 0, n2, 6 * MIB));
}

/* With --keep-serving, the next frontend gets a fresh window with no maps left over. */
static void test_keep_serving(struct th *t)
{
	static const char *const flags[] = {"--tag=dax", "--dax-window=16M", "--keep-serving",
					    NULL};
	struct fe_options o = {.dax = true};
	const char *n = th_name(t, "keep");
	uint64_t node;

	T_OK(t, dax_start(t, flags, NULL));
	T_OK(t, map_three(t, n, &node));
	dax_check_frontend(t);
	fe_free(t->fe);
	t->fe = NULL;
	T_OK(t, th_connect(t, &o));
	if (!t->fe)
		return;
	T_OK(t, fe_init(t->fe, 38, DAX_INIT_FLAGS));
	T_EQ(t, fe_dax_window_size(t->fe), DAX_WINDOW);
	T_OK(t, map_three(t, th_name(t, "keep2"), &node));
	T_EQ(t, dax_live(t), 3);
	/* Leave a daemon that exits with its frontend. */
	dax_check_frontend(t);
	fe_free(t->fe);
	t->fe = NULL;
	kill(t->daemon, SIGTERM);
	th_daemon_wait(t, 5000);
	T_OK(t, dax_start(t, dax_flags, NULL));
}

static long log_size(struct th *t)
{
	struct stat st;

	return stat(t->log, &st) == 0 ? (long)st.st_size : 0;
}

/* The largest N in "dax: N maps" lines of the log past offset. */
static unsigned long long logged_maps(struct th *t, long offset)
{
	unsigned long long n, most = 0;
	char line[4096];
	FILE *f = fopen(t->log, "re");

	if (!f)
		return 0;
	if (fseek(f, offset, SEEK_SET) == 0)
		while (fgets(line, sizeof(line), f)) {
			const char *p = strstr(line, "dax: ");
			if (p && sscanf(p, "dax: %llu maps", &n) == 1 && n > most)
				most = n;
		}
	fclose(f);
	return most;
}

static void test_stats_logged(struct th *t)
{
	long off;
	uint64_t node;

	T_OK(t, dax_start(t, dax_flags, NULL));
	off = log_size(t);
	T_OK(t, map_three(t, th_name(t, "logged"), &node));
	T_OK(t, dax_start(t, dax_flags, NULL));
	T_CHECK(t, logged_maps(t, off) >= 3);
}

const struct th_test dax_edge_tests[] = {
	{"hostile-setupmapping", test_hostile_setups},
	{"permissions-and-inode-flags", test_permissions},
	{"map-limit-500", test_map_limit},
	{"two-queues-concurrent", test_two_queues},
	{"reinit-and-destroy-unmap-all", test_reinit_destroy_unmap},
	{"reset-device-forgets", test_reset_forgets},
	{"vm-stop-during-map", test_vm_stop_during_map},
	{"reset-after-cancelled-map", test_reset_after_cancelled_map},
	{"reset-with-map-pending", test_reset_with_map_pending},
	{"keep-serving-fresh-window", test_keep_serving},
	{"stats-logged-at-disconnect", test_stats_logged},
	TH_TESTS_END,
};
