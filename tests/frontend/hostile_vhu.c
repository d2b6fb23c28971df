/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hostile vhost-user messages. A protocol violation must drop the connection: we read EOF, and
 * the daemon (no --keep-serving) exits with status 1, not by a signal; a fresh daemon serves.
 * With --keep-serving the same daemon accepts the next frontend. Messages that are merely
 * unknown or that fail (REM_MEM_REG of nothing) keep the connection, with a failure ack.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fe_internal.h"
#include "hostile.h"
#include "util/macros.h"

#define NEED_REPLY (VHU_VERSION | VHU_FLAG_NEED_REPLY)

struct violation {
	const char *name;
	uint32_t request, flags, size;
	uint64_t payload[6];
	int nfds;	 /* eventfds sent along */
	bool stop_first; /* stop queue 1 with GET_VRING_BASE first */
};

static const struct violation violations[] = {
	{"SET_VRING_NUM payload 4 bytes", VHU_SET_VRING_NUM, NEED_REPLY, 4, {1}},
	{"SET_FEATURES payload 16 bytes", VHU_SET_FEATURES, NEED_REPLY, 16, {1ull << 32}},
	{"GET_FEATURES with a payload", VHU_GET_FEATURES, VHU_VERSION, 8, {0}},
	{"SET_VRING_ADDR payload 8 bytes", VHU_SET_VRING_ADDR, NEED_REPLY, 8, {1}},
	{"SET_VRING_NUM queue 99", VHU_SET_VRING_NUM, NEED_REPLY, 8, {99 | 128ull << 32}},
	{"SET_VRING_ADDR queue 17", VHU_SET_VRING_ADDR, NEED_REPLY, 40, {17}},
	{"SET_VRING_BASE queue 0xffffffff", VHU_SET_VRING_BASE, NEED_REPLY, 8, {0xffffffffull}},
	{"GET_VRING_BASE queue 1000", VHU_GET_VRING_BASE, VHU_VERSION, 8, {1000}},
	{"SET_VRING_ENABLE queue 17", VHU_SET_VRING_ENABLE, NEED_REPLY, 8, {17 | 1ull << 32}},
	{"SET_VRING_CALL queue 200", VHU_SET_VRING_CALL, NEED_REPLY, 8, {200}, 1},
	{"SET_VRING_ERR queue 255", VHU_SET_VRING_ERR, NEED_REPLY, 8, {255}, 1},
	{"SET_VRING_KICK without its fd", VHU_SET_VRING_KICK, NEED_REPLY, 8, {1}, 0},
	{"SET_VRING_CALL with two fds", VHU_SET_VRING_CALL, NEED_REPLY, 8, {1}, 2},
	{"SET_VRING_CALL NOFD with an fd", VHU_SET_VRING_CALL, NEED_REPLY, 8, {1 | 1ull << 8}, 1},
	{"SET_VRING_KICK reserved bits", VHU_SET_VRING_KICK, NEED_REPLY, 8, {1 | 1ull << 40}, 1},
	{"SET_BACKEND_REQ_FD without fd", VHU_SET_BACKEND_REQ_FD, NEED_REPLY, 0, {0}},
	{"SET_VRING_NUM on a running ring", VHU_SET_VRING_NUM, NEED_REPLY, 8, {1 | 64ull << 32}},
	{"SET_VRING_NUM not a power of two",
	 VHU_SET_VRING_NUM,
	 NEED_REPLY,
	 8,
	 {1 | 3ull << 32},
	 0,
	 true},
	{"SET_VRING_NUM 0", VHU_SET_VRING_NUM, NEED_REPLY, 8, {1}, 0, true},
	{"SET_VRING_NUM 65536", VHU_SET_VRING_NUM, NEED_REPLY, 8, {1 | 65536ull << 32}, 0, true},
	{"SET_VRING_BASE above 16 bits",
	 VHU_SET_VRING_BASE,
	 NEED_REPLY,
	 8,
	 {1 | 65536ull << 32},
	 0,
	 true},
	{"SET_VRING_ENABLE 2", VHU_SET_VRING_ENABLE, NEED_REPLY, 8, {1 | 2ull << 32}},
	{"SET_FEATURES not offered", VHU_SET_FEATURES, NEED_REPLY, 8, {1ull << 63}},
	{"SET_PROTOCOL_FEATURES not offered",
	 VHU_SET_PROTOCOL_FEATURES,
	 NEED_REPLY,
	 8,
	 {1ull << 62}},
	{"SET_MEM_TABLE 9 regions", VHU_SET_MEM_TABLE, NEED_REPLY, 8, {9}},
	{"SET_MEM_TABLE size disagrees with count", VHU_SET_MEM_TABLE, NEED_REPLY, 48, {1}, 1},
	{"version flags 0", VHU_GET_FEATURES, 0, 0, {0}},
	{"version flags 2", VHU_GET_FEATURES, 2, 0, {0}},
};

static void send_violation(struct th *t, const struct violation *v)
{
	int fds[2] = {eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC)};

	if (v->stop_first) {
		struct vhu_vring_state st = {.index = 1};
		T_OK(t, fe_vhu_call(t->fe, VHU_GET_VRING_BASE, &st, sizeof(st), NULL, 0, NULL));
	}
	T_OK(t, fe_vhu_send(t->fe, v->request, v->flags, v->payload, v->size, fds, v->nfds));
	close(fds[0]);
	close(fds[1]);
	hx_expect_dropped(t);
}

static void test_violations(struct th *t)
{
	for (size_t i = 0; i < ARRAY_SIZE(violations); i++) {
		int before = t->failures;

		send_violation(t, &violations[i]);
		/* A violation ends the daemon with status 1; the fresh one must serve. */
		if (hx_restart(t, NULL, 1) < 0)
			return;
		hx_expect_serving(t, 1);
		if (t->failures != before)
			printf("# ^ in case '%s'\n", violations[i].name);
	}
}

static void test_header_size_too_large(struct th *t)
{
	struct vhu_hdr h = {.request = VHU_SET_MEM_TABLE, .flags = VHU_VERSION, .size = 1u << 30};

	T_OK(t, fe_vhu_send_bytes(t->fe, &h, sizeof(h), NULL, 0));
	hx_expect_dropped(t);
	if (hx_restart(t, NULL, 1) == 0)
		hx_expect_serving(t, 1);
}

/* A region description as ours, with the fields a case wants changed. */
static struct vhu_mem_region our_region(struct fe *fe)
{
	return (struct vhu_mem_region){
		.guest_phys_addr = fe->regions[0].gpa,
		.memory_size = fe->regions[0].size,
		.userspace_addr = (uint64_t)(uintptr_t)fe->regions[0].host,
		.mmap_offset = 0,
	};
}

static void mem_table_violation(struct th *t, const struct vhu_mem_region *regs, unsigned n)
{
	struct vhu_mem_table mt = {.nregions = n};
	int fds[VHU_MAX_REGIONS];

	for (unsigned i = 0; i < n; i++) {
		mt.regions[i] = regs[i];
		fds[i] = t->fe->memfd;
	}
	T_OK(t, fe_vhu_send(t->fe, VHU_SET_MEM_TABLE, NEED_REPLY, &mt,
			    (uint32_t)(8 + n * sizeof(mt.regions[0])), fds, (int)n));
	hx_expect_dropped(t);
	if (hx_restart(t, NULL, 1) == 0)
		hx_expect_serving(t, 1);
}

static void test_mem_bad_regions(struct th *t)
{
	struct vhu_mem_region r[2];

	/* Two regions at the same guest address. */
	r[0] = r[1] = our_region(t->fe);
	r[1].userspace_addr += 1ull << 40;
	mem_table_violation(t, r, 2);
	/* Overlapping by one page. */
	r[0] = r[1] = our_region(t->fe);
	r[0].memory_size = 32ull << 20;
	r[1].guest_phys_addr += (32ull << 20) - 4096;
	r[1].memory_size = 16ull << 20;
	r[1].mmap_offset = 32ull << 20;
	mem_table_violation(t, r, 2);
	/* guest_phys_addr + size wraps past 2^64. */
	r[0] = our_region(t->fe);
	r[0].guest_phys_addr = UINT64_MAX - 4095;
	mem_table_violation(t, r, 1);
	/* userspace_addr + size wraps. */
	r[0] = our_region(t->fe);
	r[0].userspace_addr = UINT64_MAX - 4095;
	mem_table_violation(t, r, 1);
	/* mmap_offset + size beyond the memfd: touching it would be SIGBUS. */
	r[0] = our_region(t->fe);
	r[0].mmap_offset = 4096;
	mem_table_violation(t, r, 1);
	/* mmap_offset + size wraps. */
	r[0] = our_region(t->fe);
	r[0].mmap_offset = UINT64_MAX - 4095;
	mem_table_violation(t, r, 1);
	/* Size zero. */
	r[0] = our_region(t->fe);
	r[0].memory_size = 0;
	mem_table_violation(t, r, 1);
}

static void test_add_mem_reg_overlap(struct th *t)
{
	struct vhu_mem_reg_one one = {.region = our_region(t->fe)};

	one.region.memory_size = 2u << 20;
	T_OK(t,
	     fe_vhu_send(t->fe, VHU_ADD_MEM_REG, NEED_REPLY, &one, sizeof(one), &t->fe->memfd, 1));
	hx_expect_dropped(t);
	if (hx_restart(t, NULL, 1) == 0)
		hx_expect_serving(t, 1);
}

static void test_rem_mem_reg_unknown(struct th *t)
{
	struct vhu_mem_reg_one one = {.region = our_region(t->fe)};

	one.region.guest_phys_addr = 0x1000;
	/* A failed request, not a violation: failure ack, connection kept. */
	T_EQ(t, fe_vhu_call(t->fe, VHU_REM_MEM_REG, &one, sizeof(one), NULL, 0, NULL), -EIO);
	hx_expect_serving(t, 1);
}

/* The same table again while every ring runs: rings are re-translated, requests go on. */
static void test_mem_table_while_running(struct th *t)
{
	struct vhu_mem_table mt = {.nregions = 1, .regions = {our_region(t->fe)}};
	int fd = t->fe->memfd;

	for (int i = 0; i < 3; i++) {
		T_OK(t, fe_vhu_call(t->fe, VHU_SET_MEM_TABLE, &mt, 8 + sizeof(mt.regions[0]), &fd,
				    1, NULL));
		hx_expect_serving(t, 1);
	}
}

static void test_unknown_requests(struct th *t)
{
	static const uint32_t codes[] = {0, 19, 20, 22, 23, 77, 1000, 0xffffffffu};
	uint64_t v = 0;
	uint8_t junk[16];
	struct vhu_hdr h;

	for (size_t i = 0; i < ARRAY_SIZE(codes); i++) {
		/* Without need_reply: ignored. With it: a failure ack. */
		T_OK(t, fe_vhu_send(t->fe, codes[i], VHU_VERSION, &v, sizeof(v), NULL, 0));
		T_EQ(t, fe_vhu_send(t->fe, codes[i], NEED_REPLY, &v, sizeof(v), NULL, 0), 0);
		T_OK(t, fe_vhu_recv(t->fe, &h, junk, sizeof(junk), 3000));
		T_EQ(t, h.request, codes[i]);
		T_EQ(t, h.size, 8);
		T_CHECK(t, *(uint64_t *)junk != 0);
	}
	T_OK(t, fe_vhu_call(t->fe, VHU_GET_FEATURES, NULL, 0, NULL, 0, &v));
	hx_expect_serving(t, 1);
}

/* fds on a message that takes none are closed, not kept: the pipe's reader sees EOF. */
static void test_extra_fds_closed(struct th *t)
{
	int p[2];
	uint64_t v;

	if (pipe2(p, O_CLOEXEC) < 0) {
		th_fail(t, __FILE__, __LINE__, "pipe2: %s", strerror(errno));
		return;
	}
	int fds[3] = {p[1], p[1], p[1]};
	uint8_t buf[8];
	struct vhu_hdr h;
	T_OK(t, fe_vhu_send(t->fe, VHU_GET_FEATURES, VHU_VERSION, NULL, 0, fds, 3));
	T_OK(t, fe_vhu_recv(t->fe, &h, buf, sizeof(buf), 3000));
	close(p[1]);
	struct pollfd pf = {.fd = p[0], .events = POLLIN};
	T_EQ(t, poll(&pf, 1, 3000), 1);
	T_EQ(t, read(p[0], buf, 1), 0);
	close(p[0]);
	T_OK(t, fe_vhu_call(t->fe, VHU_GET_FEATURES, NULL, 0, NULL, 0, &v));
	hx_expect_serving(t, 1);
}

/* Ring addresses outside guest memory: that ring does not run, the others do. */
static void test_vring_addr_outside(struct th *t)
{
	struct fe_options o = hx_two_queues();
	struct vring_used_elem e;
	struct hx_req r;

	if (hx_restart(t, &o, 0) < 0)
		return;
	struct vhu_vring_addr a = {.index = HX_BADQ,
				   .desc_user_addr = UINT64_MAX - 2047,
				   .used_user_addr = 0x1000,
				   .avail_user_addr = 0x2000};
	T_OK(t, fe_vhu_call(t->fe, VHU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0, NULL));
	T_OK(t, hx_getattr_bufs(t, &r));
	struct vring_desc *d = fe_vq_desc_table(t->fe, HX_BADQ);
	d[0] = hx_desc(r.in_gpa, r.in_len, VRING_DESC_F_NEXT, 1);
	d[1] = hx_desc(r.out_gpa, r.out_len, VRING_DESC_F_WRITE, 0);
	fe_vq_raw_publish(t->fe, HX_BADQ, 0);
	T_EQ(t, fe_vq_raw_wait(t->fe, HX_BADQ, &e, 300), -ETIMEDOUT);
	hx_expect_serving(t, 1);
}

static const char *const keep_flags[] = {"--keep-serving", NULL};

/* --keep-serving: after a violation the same daemon accepts the next frontend. */
static void test_keep_serving(struct th *t)
{
	const char *const *saved = t->extra_flags;
	uint64_t v = 0;

	t->extra_flags = keep_flags;
	if (hx_restart(t, NULL, 0) < 0)
		goto out;
	for (int i = 0; i < 3; i++) {
		T_OK(t, fe_vhu_send(t->fe, VHU_SET_VRING_NUM, NEED_REPLY, &v, 4, NULL, 0));
		hx_expect_dropped(t);
		fe_free(t->fe);
		t->fe = NULL;
		T_EQ(t, th_daemon_wait(t, 300), -ETIMEDOUT); /* still alive */
		T_OK(t, th_connect(t, NULL));
		if (!t->fe)
			goto out;
		T_OK(t, fe_init(t->fe, 38, th_init_flags()));
		hx_expect_serving(t, 1);
	}
	/* It stops cleanly on SIGTERM. */
	fe_free(t->fe);
	t->fe = NULL;
	kill(t->daemon, SIGTERM);
	int status = th_daemon_wait(t, 5000);
	T_CHECK(t, status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
out:
	t->extra_flags = saved;
	hx_restart(t, NULL, -1);
}

const struct th_test hx_vhu_tests[] = {
	{"vhu: malformed messages drop the connection", test_violations},
	{"vhu: header size beyond the maximum", test_header_size_too_large},
	{"vhu: overlapping, wrapping, oversized regions", test_mem_bad_regions},
	{"vhu: ADD_MEM_REG overlapping a region", test_add_mem_reg_overlap},
	{"vhu: REM_MEM_REG of an unknown region fails", test_rem_mem_reg_unknown},
	{"vhu: SET_MEM_TABLE while rings run keeps serving", test_mem_table_while_running},
	{"vhu: unknown requests with and without need_reply", test_unknown_requests},
	{"vhu: extra fds are closed", test_extra_fds_closed},
	{"vhu: ring addresses outside memory", test_vring_addr_outside},
	{"vhu: --keep-serving accepts the next frontend", test_keep_serving},
	TH_TESTS_END,
};
