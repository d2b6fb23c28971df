/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The building blocks of live migration the daemon has today (docs/migration.md): dirty-page
 * logging as QEMU drives it (SET_LOG_BASE, LOG_ALL, VHOST_VRING_F_LOG) and GET_VRING_BASE
 * answering only once every request in flight on the ring is in the used ring.
 *
 * Logging cases build their chains by hand on request queue 2 (nothing else runs there), so
 * the test knows every writable guest-physical range, and compare the whole log with the pages
 * the reply and the used ring should have dirtied: not one bit more or less.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"
#include "hostile.h"
#include "util/macros.h"

#define PAGE  4096u
#define RAWQ  2u
#define MAXWR 8

struct wr {
	uint64_t gpa;
	uint32_t len;
};

/* The chain: in (readable), then the writable ranges; waits for its used element. */
static int raw_call(struct th *t, const void *in, uint32_t in_len, const struct wr *w, int nw,
		    uint32_t *ret_len, uint16_t *ret_slot)
{
	struct vring_desc *d = fe_vq_desc_table(t->fe, RAWQ);
	struct vring_used_elem u;
	uint64_t in_gpa;
	int r;

	if ((r = fe_mem_alloc(t->fe, in_len, &in_gpa)) < 0 ||
	    (r = fe_mem_write(t->fe, in_gpa, in, in_len)) < 0)
		return r;
	d[0] = hx_desc(in_gpa, in_len, nw ? VRING_DESC_F_NEXT : 0, 1);
	for (int i = 0; i < nw; i++)
		d[1 + i] = hx_desc(w[i].gpa, w[i].len,
				   VRING_DESC_F_WRITE | (i + 1 < nw ? VRING_DESC_F_NEXT : 0),
				   (uint16_t)(i + 2));
	*ret_slot = (uint16_t)(fe_vq_used_idx(t->fe, RAWQ) & (fe_vq_num(t->fe, RAWQ) - 1));
	fe_vq_raw_publish(t->fe, RAWQ, 0);
	r = fe_vq_raw_wait(t->fe, RAWQ, &u, 5000);
	fe_mem_free(t->fe, in_gpa, in_len);
	if (r < 0)
		return r;
	*ret_len = u.len;
	return 0;
}

static void mark(uint8_t *want, size_t size, uint64_t gpa, uint64_t len)
{
	for (uint64_t p = gpa / PAGE; len && p <= (gpa + len - 1) / PAGE; p++)
		if (p / 8 < size)
			want[p / 8] |= (uint8_t)(1u << (p % 8));
}

/* The log holds exactly the pages of the first len bytes of w, and of the used element. */
static void expect_log(struct th *t, const struct wr *w, int nw, uint32_t len, uint16_t slot,
		       bool on)
{
	size_t size;
	const volatile uint8_t *log = fe_log_bitmap(t->fe, &size);
	uint8_t *want = calloc(1, size);
	uint64_t used = fe_vq_used_gpa(t->fe, RAWQ);
	unsigned wrong = 0, set = 0;

	if (!want || !log) {
		th_fail(t, __FILE__, __LINE__, "no log");
		free(want);
		return;
	}
	for (int i = 0; on && i < nw && len; i++) {
		uint32_t k = MIN(w[i].len, len);

		mark(want, size, w[i].gpa, k);
		len -= k;
	}
	if (on) {
		mark(want, size, used + offsetof(struct vring_used, ring) + slot * 8u, 8);
		mark(want, size, used + offsetof(struct vring_used, idx), 2);
	}
	for (size_t i = 0; i < size; i++) {
		wrong += log[i] != want[i];
		set += __builtin_popcount(log[i]);
	}
	if (wrong)
		th_fail(t, __FILE__, __LINE__, "%u log bytes differ (%u bits set)", wrong, set);
	free(want);
}

/* Logging on, a clean log, the request, the log checked, logging off. Returns the used length. */
static uint32_t logged_call(struct th *t, const void *req, uint32_t req_len, const struct wr *w,
			    int nw)
{
	uint32_t len = 0;
	uint16_t slot = 0;

	T_OK(t, fe_log_start(t->fe, 0));
	fe_log_clear(t->fe);
	T_OK(t, raw_call(t, req, req_len, w, nw, &len, &slot));
	expect_log(t, w, nw, len, slot, true);
	T_OK(t, fe_log_stop(t->fe));
	return len;
}

static void start(struct th *t)
{
	struct fe_options o = {.num_request_queues = 2};

	fe_options_default(&o);
	o.protocol_features |= 1ull << VHU_PROTO_LOG_SHMFD;
	o.num_request_queues = 2;
	T_OK(t, th_reconnect(t, &o));
}

/* A GETATTR reply straddling a page boundary, with logging on and then off. */
static void test_getattr_logged(struct th *t)
{
	struct {
		struct fuse_in_header ih;
		struct fuse_getattr_in in;
	} req = {.ih = {.len = sizeof(req), .opcode = FUSE_GETATTR, .nodeid = FE_ROOT_ID}};
	struct wr w[2];
	uint64_t room;
	uint32_t len;
	uint16_t slot;

	start(t);
	if (!t->fe)
		return;
	T_CHECK(t, fe_protocol_features(t->fe) & 1ull << VHU_PROTO_LOG_SHMFD);
	T_OK(t, fe_mem_alloc(t->fe, 3 * PAGE, &room));
	/* The reply header ends a page; the attributes cross the next page boundary. */
	w[0] = (struct wr){room + PAGE - 16, 16};
	w[1] = (struct wr){room + 2 * PAGE - 40, 200};
	req.ih.unique = 0x10;
	len = logged_call(t, &req, sizeof(req), w, 2);
	T_EQ(t, len, sizeof(struct fuse_out_header) + sizeof(struct fuse_attr_out));

	fe_log_clear(t->fe);
	req.ih.unique = 0x12;
	T_OK(t, raw_call(t, &req, sizeof(req), w, 2, &len, &slot));
	expect_log(t, w, 2, len, slot, false);
	fe_mem_free(t->fe, room, 3 * PAGE);
}

/* READ of 1 MiB into several descriptors; the room past the file's end stays clean. */
static void test_read_logged(struct th *t)
{
	const char *n = th_name(t, "big");
	size_t fsz = 1u << 20;
	char *data = malloc(fsz);
	struct fuse_entry_out e;
	struct fuse_open_out oo;
	struct {
		struct fuse_in_header ih;
		struct fuse_read_in in;
	} req = {.ih = {.len = sizeof(req), .opcode = FUSE_READ, .unique = 0x20}};
	struct wr w[6];
	uint64_t room;

	start(t);
	if (!t->fe || !data)
		goto out;
	memset(data, 'r', fsz);
	T_OK(t, th_host_write(t, n, data, fsz));
	T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, n, &e));
	T_OK(t, fe_open(t->fe, e.nodeid, O_RDONLY, &oo));
	/* Header alone, then four odd-sized pieces and 64 KiB more room than is read. */
	T_OK(t, fe_mem_alloc(t->fe, fsz + 8 * PAGE + (64u << 10), &room));
	w[0] = (struct wr){room + 100, 16};
	w[1] = (struct wr){room + PAGE + 8, 300000};
	w[2] = (struct wr){room + 2 * PAGE + 300000 + 3, 262144};
	w[3] = (struct wr){room + 4 * PAGE + 562144, 200000};
	w[4] = (struct wr){room + 6 * PAGE + 762144 + 5, (uint32_t)(fsz - 762144) + (64u << 10)};
	req.ih.nodeid = e.nodeid;
	req.in = (struct fuse_read_in){.fh = oo.fh, .size = (uint32_t)fsz};
	T_EQ(t, logged_call(t, &req, sizeof(req), w, 5), sizeof(struct fuse_out_header) + fsz);
	fe_mem_free(t->fe, room, fsz + 8 * PAGE + (64u << 10));
	T_OK(t, fe_release(t->fe, e.nodeid, oo.fh, O_RDONLY));
out:
	free(data);
}

static void test_readdir_logged(struct th *t)
{
	struct fuse_open_out oo;
	struct {
		struct fuse_in_header ih;
		struct fuse_read_in in;
	} req = {.ih = {.len = sizeof(req), .opcode = FUSE_READDIR, .unique = 0x30}};
	struct wr w[2];
	uint64_t room;

	start(t);
	if (!t->fe)
		return;
	for (int i = 0; i < 40; i++)
		T_OK(t, th_host_write(t, th_name(t, "entry-with-a-long-name"), "x", 1));
	T_OK(t, fe_opendir(t->fe, FE_ROOT_ID, &oo));
	T_OK(t, fe_mem_alloc(t->fe, 4 * PAGE, &room));
	w[0] = (struct wr){room + PAGE - 8, 8};
	w[1] = (struct wr){room + PAGE + 1000, 3 * PAGE - 1000};
	req.ih.nodeid = FE_ROOT_ID;
	req.in = (struct fuse_read_in){.fh = oo.fh, .size = 3 * PAGE};
	T_CHECK(t,
		logged_call(t, &req, sizeof(req), w, 2) > sizeof(struct fuse_out_header) + 40 * 24);
	fe_mem_free(t->fe, room, 4 * PAGE);
	T_OK(t, fe_releasedir(t->fe, FE_ROOT_ID, oo.fh));
}

/* A log too small for guest memory, a bad fd, an offset that overflows: dropped. */
static void hostile_log_case(struct th *t, int which)
{
	_cleanup_close_ int fd = memfd_create("log", MFD_CLOEXEC);
	size_t need;
	int r;

	start(t);
	if (!t->fe || fd < 0)
		return;
	need = fe_log_size_needed(t->fe);
	T_OK(t, ftruncate(fd, (off_t)need));
	switch (which) {
	case 0:
		r = fe_log_set_base(t->fe, fd, need - 1, 0);
		break;
	case 1: {
		int pfd[2];

		T_OK(t, pipe(pfd));
		r = fe_log_set_base(t->fe, pfd[0], need, 0);
		close(pfd[0]);
		close(pfd[1]);
		break;
	}
	case 2:
		r = fe_log_set_base(t->fe, fd, need, UINT64_MAX - 10);
		break;
	case 3: /* the file is smaller than the log it claims to hold */
		r = fe_log_set_base(t->fe, fd, need + 4 * PAGE, 0);
		break;
	default:
		r = fe_log_set_base(t->fe, -1, need, 0);
		break;
	}
	T_CHECK(t, r < 0);
	hx_expect_dropped(t);
	/* A clean exit (not a crash): the harness starts a fresh daemon. */
	hx_restart(t, NULL, -1);
}

static void test_hostile_log_base(struct th *t)
{
	for (int i = 0; i < 5; i++)
		hostile_log_case(t, i);
}

struct vring_base_call {
	struct fe *fe;
	unsigned queue;
	uint64_t base;
	int r;
	bool done; /* atomic */
};

static void *vring_base_thread(void *arg)
{
	struct vring_base_call *c = arg;
	struct vhu_vring_state st = {.index = c->queue};

	c->r = fe_vhu_call(c->fe, VHU_GET_VRING_BASE, &st, sizeof(st), NULL, 0, &c->base);
	__atomic_store_n(&c->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * GET_VRING_BASE while OPENs sleep in the kernel (the host holds a write lease each must
 * break): the answer comes only after the lease is gone and every OPEN is in the used ring.
 */
static void drain_case(struct th *t, const char *const *flags)
{
	struct fuse_open_in oi = {.flags = O_RDONLY};
	struct iovec oa = IOVS(&oi);
	struct fuse_open_out oo[2];
	struct fe_call calls[2];
	struct fuse_entry_out e[2];
	struct vring_base_call vb = {.queue = 1};
	int fds[2];
	pthread_t th;
	uint16_t base0;

	t->extra_flags = flags;
	start(t);
	t->extra_flags = NULL;
	if (!t->fe)
		return;
	signal(SIGIO, SIG_IGN);
	for (int i = 0; i < 2; i++) {
		const char *n = th_name(t, "leased");

		T_OK(t, th_host_write(t, n, "lease", 5));
		T_OK(t, fe_lookup(t->fe, FE_ROOT_ID, n, &e[i]));
		fds[i] = open(th_host(t, n), O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0 || fcntl(fds[i], F_SETLEASE, F_WRLCK) < 0) {
			th_skip(t, "no write lease on the share's file system");
			return;
		}
	}
	base0 = fe_vq_used_idx(t->fe, 1);
	for (int i = 0; i < 2; i++)
		T_OK(t, fe_fuse_submit(t->fe, &calls[i], 1, FUSE_OPEN, e[i].nodeid, &oa, 1, &oo[i],
				       sizeof(oo[i])));
	usleep(300 * 1000);
	vb.fe = t->fe;
	T_OK(t, pthread_create(&th, NULL, vring_base_thread, &vb));
	usleep(500 * 1000);
	T_CHECK(t, !__atomic_load_n(&vb.done, __ATOMIC_ACQUIRE));
	T_EQ(t, fe_vq_used_idx(t->fe, 1), base0);
	for (int i = 0; i < 2; i++) {
		T_OK(t, fcntl(fds[i], F_SETLEASE, F_UNLCK));
		close(fds[i]);
	}
	pthread_join(th, NULL);
	T_OK(t, vb.r);
	/* Both OPENs were answered before the reply: the used index is already 2 further. */
	T_EQ(t, fe_vq_used_idx(t->fe, 1), (uint16_t)(base0 + 2));
	T_EQ(t, vb.base, (uint16_t)(base0 + 2));
	for (int i = 0; i < 2; i++)
		T_OK(t, fe_fuse_complete(t->fe, &calls[i], 1000, NULL));
}

static void test_vring_base_drains(struct th *t)
{
	static const char *const pool[] = {"--thread-pool-size=2", NULL};
	static const char *const helpers[] = {"--queue-threads=2", NULL};

	drain_case(t, NULL);
	drain_case(t, pool);
	drain_case(t, helpers);
	T_OK(t, th_reconnect(t, NULL));
}

/*
 * A SETLKW waiting behind another owner's lock is answered EINTR before GET_VRING_BASE
 * returns: no request is left that the guest would wait for after a pause or migration.
 */
static void test_vring_base_answers_setlkw(struct th *t)
{
	struct fuse_file_lock w = {.start = 0, .end = 99, .type = F_WRLCK, .pid = 100};
	struct vring_base_call vb = {.queue = 1};
	struct fuse_open_out oo;
	struct fuse_lk_in in;
	struct fe_completion done;
	struct fe_call c;
	uint64_t node, fha;
	uint16_t base0;
	pthread_t th;

	start(t);
	if (!t->fe)
		return;
	T_OK(t, th_create(t, FE_ROOT_ID, th_name(t, "lock"), &node, &fha));
	T_OK(t, fe_open(t->fe, node, O_RDWR, &oo));
	T_OK(t, fe_setlk(t->fe, node, fha, 0xa, &w, false, 0));
	base0 = fe_vq_used_idx(t->fe, 1);
	in = (struct fuse_lk_in){.fh = oo.fh, .owner = 0xb, .lk = w};
	in.lk.pid = 200;
	T_OK(t, fe_setlk_submit(t->fe, &c, &in, node, true));
	T_EQ(t, fe_reap(t->fe, 1, &done, 1, 300), 0); /* deferred, waiting */
	vb.fe = t->fe;
	T_OK(t, pthread_create(&th, NULL, vring_base_thread, &vb));
	pthread_join(th, NULL);
	T_OK(t, vb.r);
	T_EQ(t, vb.base, (uint16_t)(base0 + 1));
	T_EQ(t, fe_vq_used_idx(t->fe, 1), (uint16_t)(base0 + 1));
	T_EQ(t, fe_fuse_complete(t->fe, &c, 1000, NULL), -EINTR);
	T_OK(t, th_reconnect(t, NULL));
}

static const struct th_test migration_tests[] = {
	{"dirty-log-getattr-exact-and-off", test_getattr_logged},
	{"dirty-log-read-1mib-several-descriptors", test_read_logged},
	{"dirty-log-readdir", test_readdir_logged},
	{"hostile-set-log-base-dropped", test_hostile_log_base},
	{"get-vring-base-drains-in-flight", test_vring_base_drains},
	{"get-vring-base-answers-waiting-setlkw-eintr", test_vring_base_answers_setlkw},
	TH_TESTS_END,
};

int main(int argc, char **argv)
{
	static const struct th_test *const families[] = {migration_tests, NULL};

	th_capture_log = true;
	/* Fails a test after which the daemon logged a sanitizer report. */
	th_after_test = hx_check_log;
	return th_main(argc, argv, families);
}
