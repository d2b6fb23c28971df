/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Session and connection life cycle: a second INIT resets the session, DESTROY, other memory
 * and queue layouts on fresh connections (each a new daemon, since the daemon exits when its
 * frontend leaves), and a clean exit at disconnect. Runs last.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static void test_reinit_resets(struct th *t)
{
	const char *n = th_name(t, "reinit");
	struct fuse_entry_out e;
	struct fuse_attr_out a;

	T_OK(t, th_host_write(t, n, "x", 1));
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, n, &e));
	T_OK(t, fe_init(t->fe, 38, th_init_flags()));
	int r = fe_getattr(t->fe, e.nodeid, NULL, &a);
	T_CHECK(t, r < 0 && r != -ETIMEDOUT && r != -FE_EBADREPLY);
	T_OK(t, fe_getattr(t->fe, FE_ROOT_ID, NULL, &a));
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, n, &e));
}

static void test_destroy(struct th *t)
{
	struct fuse_attr_out a;

	T_OK(t, fe_destroy(t->fe));
	int r = fe_getattr(t->fe, FE_ROOT_ID, NULL, &a);
	T_CHECK(t, r < 0 && r != -ETIMEDOUT && r != -FE_EBADREPLY);
	T_OK(t, fe_init(t->fe, 38, th_init_flags()));
	T_OK(t, fe_getattr(t->fe, FE_ROOT_ID, NULL, &a));
}

/*
 * Writable space smaller than the reply: the daemon must answer with an error (or at least
 * return the chain) and keep serving. Rust virtiofsd 1.13 panics its queue thread here.
 */
static void test_short_reply_buffer(struct th *t)
{
	struct fuse_attr_out a;
	struct fuse_getattr_in in = {0};
	struct iovec arg = IOVS(&in);

	int r = fe_fuse_call(t->fe, FUSE_STATFS, FE_ROOT_ID, NULL, 0, NULL, 0, NULL);
	T_CHECK(t, r < 0 && r != -ETIMEDOUT && r != -FE_EBADREPLY);
	r = fe_fuse_noreply(t->fe, 1, FUSE_GETATTR, FE_ROOT_ID, &arg, 1);
	T_CHECK(t, r != -ETIMEDOUT);
	T_OK(t, fe_getattr(t->fe, FE_ROOT_ID, NULL, &a));
}

/* Write then read back 192 KiB under the current connection's layout. */
static void io_roundtrip(struct th *t)
{
	size_t len = 192 * 1024;
	static uint8_t w[192 * 1024], r[192 * 1024];
	uint64_t node, fh;

	for (size_t i = 0; i < len; i++)
		w[i] = (uint8_t)(i ^ (i >> 9));
	T_OK(t, th_create(t, FE_ROOT_ID, th_name(t, "layout"), &node, &fh));
	T_EQ(t, fe_write(t->fe, node, fh, 0, w, (uint32_t)len, 0), len);
	memset(r, 0, len);
	T_EQ(t, fe_read(t->fe, node, fh, 0, r, (uint32_t)len), len);
	T_CHECK(t, memcmp(w, r, len) == 0);
	T_OK(t, fe_release(t->fe, node, fh, O_RDWR));
}

static void expect_clean_exit(struct th *t)
{
	fe_free(t->fe);
	t->fe = NULL;
	int status = th_daemon_wait(t, 5000);
	T_CHECK(t, status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void reconnect(struct th *t, const struct fe_options *o)
{
	int r = th_reconnect(t, o);
	T_OK(t, r);
}

static void test_two_regions_straddle(struct th *t)
{
	struct fe_options o = {.mem_regions = 2, .straddle = true};

	reconnect(t, &o);
	if (t->fe) {
		fe_set_layout(t->fe, true, false);
		io_roundtrip(t);
		fe_set_layout(t->fe, false, true);
		io_roundtrip(t);
	}
}

static void test_add_mem_reg(struct th *t)
{
	struct fe_options o = {.mem_regions = 2, .mem_add_reg = true};

	reconnect(t, &o);
	if (t->fe) {
		if (!(fe_protocol_features(t->fe) & (1ull << VHU_PROTO_CONFIGURE_MEM_SLOTS)))
			th_skip(t, "CONFIGURE_MEM_SLOTS not offered");
		io_roundtrip(t);
	}
}

static void test_multiqueue(struct th *t)
{
	struct fe_options o = {.num_request_queues = 2, .queue_size = 1024};

	int r = th_reconnect(t, &o);
	if (r == -EOPNOTSUPP) {
		th_skip(t, "daemon offers fewer queues");
		reconnect(t, NULL);
		return;
	}
	T_OK(t, r);
	if (!t->fe)
		return;
	io_roundtrip(t);
	fe_fuse_set_queue(t->fe, 2);
	io_roundtrip(t);
	fe_fuse_set_queue(t->fe, 1);
}

static void test_no_event_idx(struct th *t)
{
	struct fe_options o = {.features = 1ull << 32};

	reconnect(t, &o);
	if (t->fe)
		io_roundtrip(t);
}

static const char *const poll_off[] = {"--poll-max-ns=0", NULL};
static const char *const poll_long[] = {"--poll-max-ns=1000000000", NULL};

/* Kicks for n sequential GETATTRs on the first request queue. */
static unsigned kicks_for_getattrs(struct th *t, unsigned n)
{
	struct fuse_attr_out a;
	unsigned before = fe_kicks(t->fe, 1);

	for (unsigned i = 0; i < n; i++)
		T_OK(t, fe_getattr(t->fe, FE_ROOT_ID, NULL, &a));
	return fe_kicks(t->fe, 1) - before;
}

/* Without polling the worker sleeps between requests: every request needs its kick. */
static void test_poll_off_kicks(struct th *t)
{
	t->extra_flags = poll_off;
	reconnect(t, NULL);
	if (t->fe)
		T_EQ(t, kicks_for_getattrs(t, 50), 50);
	t->extra_flags = NULL;
}

/*
 * Polling: the worker watches the ring after each reply and suppresses kicks meanwhile (with
 * EVENT_IDX and without), so requests sent within the window are served without one. Without
 * polling all 50 need a kick; the bound leaves room for a worker descheduled on a busy 2-CPU
 * host (a run beside a TCG guest needed more than 5), not for polling that does not work.
 */
static void test_poll_serves_without_kicks(struct th *t)
{
	t->extra_flags = poll_long;
	reconnect(t, NULL);
	if (t->fe)
		T_CHECK(t, kicks_for_getattrs(t, 50) <= 15);
	reconnect(t, &(struct fe_options){.features = 1ull << 32});
	if (t->fe)
		T_CHECK(t, kicks_for_getattrs(t, 50) <= 15);
	t->extra_flags = NULL;
}

/* utime + stime of one task from its stat line, unless it is the version table's host change
 * watch: a filesystem mark hears every change on the host's file system, so that thread's CPU
 * follows what other processes do, not whether the queues poll. */
static long task_ticks(const char *path)
{
	char buf[1024], *p;
	unsigned long ut, st;
	long ticks = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f) && !strstr(buf, "(vfsd-vtwatch)") &&
	    (p = strrchr(buf, ')')) &&
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
		ticks = (long)(ut + st);
	fclose(f);
	return ticks;
}

/* The ticks of every thread of pid, as task_ticks() counts them. */
static long process_ticks(pid_t pid)
{
	char path[64];
	long total = 0;
	DIR *d;
	struct dirent *e;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/stat", pid, e->d_name);
		total += task_ticks(path);
	}
	if (d)
		closedir(d);
	return total;
}

/* CPU ticks of the daemon and its children (the namespace sandbox serves from a child). */
static long daemon_cpu_ticks(struct th *t)
{
	long total = 0;
	DIR *d = opendir("/proc");
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char path[64], buf[1024], *p;
		int ppid;
		pid_t pid = (pid_t)strtol(e->d_name, NULL, 10);
		FILE *f;

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) &&
		    sscanf(p + 1, " %*c %d", &ppid) == 1 && (pid == t->daemon || ppid == t->daemon))
			total += process_ticks(pid);
		fclose(f);
	}
	if (d)
		closedir(d);
	return total;
}

/* With the default window, an idle queue goes to sleep: polling costs nothing between bursts. */
static void test_poll_idle_is_free(struct th *t)
{
	long hz = sysconf(_SC_CLK_TCK), before;

	reconnect(t, NULL);
	if (!t->fe)
		return;
	kicks_for_getattrs(t, 200);
	usleep(100 * 1000);
	before = daemon_cpu_ticks(t);
	usleep(1000 * 1000);
	/* A second of idle; allow a few ticks of tick-granularity noise, never a busy core. */
	T_CHECK(t, daemon_cpu_ticks(t) - before <= hz / 20);
}

/*
 * A host file the guest has looked up, under a host write lease: a guest OPEN of it blocks in
 * the kernel until the lease is given up. Returns the lease fd, or -1 (skipped or failed).
 */
static int leased_file(struct th *t, const char *n, struct fuse_entry_out *e)
{
	int fd;

	/* The lease break signals the holder with SIGIO, which would end the test process. */
	signal(SIGIO, SIG_IGN);
	T_OK(t, th_host_write(t, n, "lease", 5));
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, n, e));
	fd = open(th_host(t, n), O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fcntl(fd, F_SETLEASE, F_WRLCK) < 0) {
		th_skip(t, "no write lease on the share's file system");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/*
 * Several threads serve one queue: with --queue-threads=2, a GETATTR that arrived together with
 * an OPEN stuck in the kernel (the host holds a write lease on the file, which the open must
 * break) is answered meanwhile; with one thread it waits for the OPEN. Polling is off so both
 * requests are in the ring when the daemon wakes.
 */
static void parallel_case(struct th *t, unsigned threads)
{
	static const char *const two[] = {"--queue-threads=2", "--poll-max-ns=0", NULL};
	static const char *const one[] = {"--queue-threads=1", "--poll-max-ns=0", NULL};
	const char *n = th_name(t, "leased");
	struct fuse_open_in oi = {.flags = O_RDONLY};
	struct fuse_getattr_in gi = {0};
	struct iovec oa = IOVS(&oi), ga = IOVS(&gi);
	struct fuse_open_out oo;
	struct fuse_attr_out ao;
	struct fuse_entry_out e;
	struct fe_call open_call, attr_call;
	int fd, r;

	t->extra_flags = threads == 2 ? two : one;
	reconnect(t, NULL);
	t->extra_flags = NULL;
	if (!t->fe || (fd = leased_file(t, n, &e)) < 0)
		return;
	/* Let the worker finish the LOOKUP and go to sleep: otherwise it may still be looking at
	 * the ring and pop the OPEN before the GETATTR is there (seen under ASan). */
	usleep(200 * 1000);
	fe_hold_kicks(t->fe, 1, true);
	T_OK(t, fe_fuse_submit(t->fe, &open_call, 1, FUSE_OPEN, e.nodeid, &oa, 1, &oo, sizeof(oo)));
	T_OK(t, fe_fuse_submit(t->fe, &attr_call, 1, FUSE_GETATTR, FE_ROOT_ID, &ga, 1, &ao,
			       sizeof(ao)));
	fe_hold_kicks(t->fe, 1, false);
	r = fe_fuse_complete(t->fe, &attr_call, threads == 2 ? 5000 : 500, NULL);
	if (threads == 2)
		T_OK(t, r);
	else
		T_EQ(t, r, -ETIMEDOUT);
	/* Give the lease up: the OPEN goes through. */
	T_OK(t, fcntl(fd, F_SETLEASE, F_UNLCK));
	close(fd);
	T_OK(t, fe_fuse_complete(t->fe, &open_call, 5000, NULL));
	T_OK(t, fe_release(t->fe, e.nodeid, oo.fh, O_RDONLY));
}

static void test_queue_threads_parallel(struct th *t)
{
	parallel_case(t, 2);
	parallel_case(t, 1);
}

/*
 * A request that blocks (an OPEN waiting for the host's write lease to break) must not hold up
 * the ones the guest sends after it: with the default threads, a GETATTR sent while the OPEN is
 * stuck, and another after that one, are answered before the lease goes.
 */
static void test_blocked_request_no_stall(struct th *t)
{
	const char *n = th_name(t, "stuck");
	struct fuse_open_in oi = {.flags = O_RDONLY};
	struct fuse_open_out oo;
	struct fuse_entry_out e;
	struct fuse_attr_out ao;
	struct iovec oa = IOVS(&oi);
	struct fe_call open_call;
	int fd;

	reconnect(t, NULL);
	if (!t->fe || (fd = leased_file(t, n, &e)) < 0)
		return;
	T_OK(t, fe_fuse_submit(t->fe, &open_call, 1, FUSE_OPEN, e.nodeid, &oa, 1, &oo, sizeof(oo)));
	/* The OPEN is popped alone and its thread sleeps in the kernel. */
	usleep(300 * 1000);
	for (int i = 0; i < 2; i++)
		T_OK(t, fe_getattr(t->fe, FE_ROOT_ID, NULL, &ao));
	T_EQ(t, fe_inflight(t->fe, 1), 1u); /* the OPEN, still waiting for the lease */
	T_OK(t, fcntl(fd, F_SETLEASE, F_UNLCK));
	close(fd);
	T_OK(t, fe_fuse_complete(t->fe, &open_call, 5000, NULL));
	T_OK(t, fe_release(t->fe, e.nodeid, oo.fh, O_RDONLY));
}

static void test_stop_and_exit(struct th *t)
{
	reconnect(t, NULL);
	if (!t->fe)
		return;
	io_roundtrip(t);
	T_EQ(t, fe_missed_calls(t->fe), 0);
	T_OK(t, fe_stop(t->fe));
	expect_clean_exit(t);
}

const struct th_test th_session_tests[] = {
	{"second-init-resets-session", test_reinit_resets},
	{"destroy", test_destroy},
	{"reply-buffer-too-small", test_short_reply_buffer},
	{"two-regions-straddle", test_two_regions_straddle},
	{"add-mem-reg", test_add_mem_reg},
	{"multiqueue", test_multiqueue},
	{"no-event-idx", test_no_event_idx},
	{"poll-off-kicks-every-request", test_poll_off_kicks},
	{"poll-serves-without-kicks", test_poll_serves_without_kicks},
	{"poll-idle-is-free", test_poll_idle_is_free},
	{"queue-threads-serve-in-parallel", test_queue_threads_parallel},
	{"blocked-request-does-not-stall-queue", test_blocked_request_no_stall},
	{"stop-disconnect-exit-0", test_stop_and_exit},
	TH_TESTS_END,
};
