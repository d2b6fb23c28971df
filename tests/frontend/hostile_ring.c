/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hostile descriptor chains. Each bad case runs on a fresh daemon with two request queues: the
 * chain goes on queue 2, whose VRING_ERR eventfd must fire while no used element appears; the
 * queue must then stay latched (a valid chain published after it is not served either), and
 * queue 1 and hiprio must keep serving. Controls (valid raw chains, zero-length pieces, a buffer
 * across two adjacent regions) prove the raw chain builder itself.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "fe_internal.h"
#include "hostile.h"

#define PUBLISHED (-1) /* the builder published by itself */
#define MEM_END	  (FE_GPA_BASE + (64ull << 20))

typedef int (*build_fn)(struct th *t, struct vring_desc *d, const struct hx_req *r);

/* A valid two-descriptor chain for r at d[i], d[i+1]. */
static void valid_chain(struct vring_desc *d, unsigned i, const struct hx_req *r)
{
	d[i] = hx_desc(r->in_gpa, r->in_len, VRING_DESC_F_NEXT, (uint16_t)(i + 1));
	d[i + 1] = hx_desc(r->out_gpa, r->out_len, VRING_DESC_F_WRITE, 0);
}

/* An indirect table in guest memory; returns its GPA (0 on failure). */
static uint64_t put_table(struct th *t, const struct vring_desc *tab, unsigned n)
{
	uint64_t gpa;

	if (fe_mem_alloc(t->fe, n * sizeof(*tab), &gpa) < 0 ||
	    fe_mem_write(t->fe, gpa, tab, n * sizeof(*tab)) < 0)
		return 0;
	return gpa;
}

static void run_case(struct th *t, build_fn build, const struct fe_options *opts, bool bad)
{
	struct fe_options o = opts ? *opts : hx_two_queues();
	struct vring_used_elem e;
	struct hx_req r, r2;
	int err_fd;

	if (hx_restart(t, &o, 0) < 0)
		return;
	err_fd = hx_set_err_fd(t, HX_BADQ);
	T_CHECK(t, err_fd >= 0);
	struct vring_desc *d = fe_vq_desc_table(t->fe, HX_BADQ);
	T_OK(t, hx_getattr_bufs(t, &r));
	int head = build(t, d, &r);
	if (head >= 0)
		fe_vq_raw_publish(t->fe, HX_BADQ, (uint16_t)head);
	if (!bad) {
		T_OK(t, fe_vq_raw_wait(t->fe, HX_BADQ, &e, 3000));
		T_EQ(t, e.id, head);
		T_CHECK(t, hx_getattr_reply_ok(t, &r, e.len));
		T_CHECK(t, !hx_fd_signalled(err_fd, 0));
	} else {
		T_CHECK(t, hx_fd_signalled(err_fd, 3000));
		T_EQ(t, fe_vq_used_idx(t->fe, HX_BADQ), 0);
		/* Latched: a good chain behind the bad one is not served either. */
		T_OK(t, hx_getattr_bufs(t, &r2));
		valid_chain(d, 100, &r2);
		fe_vq_raw_publish(t->fe, HX_BADQ, 100);
		T_EQ(t, fe_vq_raw_wait(t->fe, HX_BADQ, &e, 300), -ETIMEDOUT);
		T_CHECK(t, !hx_fd_signalled(err_fd, 0)); /* reported once */
	}
	hx_expect_serving(t, 1);
	if (err_fd >= 0)
		close(err_fd);
}

#define CASE(kind, name, opts, bad)                   \
	static void test_##name(struct th *t)         \
	{                                             \
		run_case(t, build_##name, opts, bad); \
	}

/* ---- controls ---- */

static int build_valid(struct th *t, struct vring_desc *d, const struct hx_req *r)
{
	valid_chain(d, 0, r);
	return 0;
}

static int build_zero_len_pieces(struct th *t, struct vring_desc *d, const struct hx_req *r)
{
	d[5] = hx_desc(r->in_gpa, 0, VRING_DESC_F_NEXT, 6);
	d[6] = hx_desc(r->in_gpa, r->in_len, VRING_DESC_F_NEXT, 7);
	d[7] = hx_desc(0, 0, VRING_DESC_F_NEXT, 8); /* zero length: never translated */
	d[8] = hx_desc(r->out_gpa, 0, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 9);
	d[9] = hx_desc(r->out_gpa, r->out_len, VRING_DESC_F_WRITE, 0);
	return 5;
}

static int build_indirect_valid(struct th *t, struct vring_desc *d, const struct hx_req *r)
{
	struct vring_desc tab[2] = {
		hx_desc(r->in_gpa, r->in_len, VRING_DESC_F_NEXT, 1),
		hx_desc(r->out_gpa, r->out_len, VRING_DESC_F_WRITE, 0),
	};
	d[3] = hx_desc(put_table(t, tab, 2), sizeof(tab), VRING_DESC_F_INDIRECT, 0);
	return 3;
}

/* The request header crosses from region 0 into the adjacent region 1: must be served. */
static int build_straddle_adjacent(struct th *t, struct vring_desc *d, const struct hx_req *r)
{
	uint64_t b = fe_region_boundary(t->fe), at = b - 24;
	uint8_t req[64];

	fe_mem_read(t->fe, r->in_gpa, req, r->in_len);
	fe_mem_write(t->fe, at, req, r->in_len);
	d[0] = hx_desc(at, r->in_len, VRING_DESC_F_NEXT, 1);
	d[1] = hx_desc(r->out_gpa, r->out_len, VRING_DESC_F_WRITE, 0);
	return 0;
}

static const struct fe_options two_regions = {.num_request_queues = 2, .mem_regions = 2};

CASE(good, valid, NULL, false)
CASE(good, zero_len_pieces, NULL, false)
CASE(good, indirect_valid, NULL, false)
CASE(good, straddle_adjacent, &two_regions, false)

/* A chain of nothing but an empty buffer is served as an empty request: used length 0. */
static void test_only_zero_len(struct th *t)
{
	struct fe_options o = hx_two_queues();
	struct vring_used_elem e;

	if (hx_restart(t, &o, 0) < 0)
		return;
	struct vring_desc *d = fe_vq_desc_table(t->fe, HX_BADQ);
	d[0] = hx_desc(FE_GPA_BASE, 0, 0, 0);
	fe_vq_raw_publish(t->fe, HX_BADQ, 0);
	T_OK(t, fe_vq_raw_wait(t->fe, HX_BADQ, &e, 3000));
	T_EQ(t, e.len, 0);
	hx_expect_serving(t, HX_BADQ);
}

/* ---- chains the daemon must refuse ---- */

static int build_loop(struct th *t, struct vring_desc *d, const struct hx_req *r)
{
	d[0] = hx_desc(r->in_gpa, r->in_len, VRING_DESC_F_NEXT, 1);
	d[1] = hx_desc(r->in_gpa, 8, VRING_DESC_F_NEXT, 0);
	return 0;
}

/* Every descriptor of the table, then back to the start: longer than the queue. */
static int build_longer_than_queue(struct th *t, struct vring_desc *d, const struct hx_req *r)
{
	const unsigned n = 128; /* the default queue size */

	for (unsigned i = 0; i < n; i++)
		d[i] = hx_desc(r->in_gpa, 1, VRING_DESC_F_NEXT, (uint16_t)((i + 1) % n));
	return 0;
}

static int build_next_out_of_range(struct th *t, struct vring_desc *d, const struct hx_req *r)
{
	d[0] = hx_desc(r->in_gpa, r->in_len, VRING_DESC_F_NEXT, 128);
	return 0;
}

static int build_head_out_of_range(struct th *t, struct vring_desc *d, const struct hx_req *r)
{
	valid_chain(d, 0, r);
	return 0xffff;
}

static int build_avail_jump(struct th *t, struct vring_desc *d, const struct hx_req *r)
{
	valid_chain(d, 0, r);
	fe_vq_raw_set_avail_idx(t->fe, HX_BADQ, 129);
	return PUBLISHED;
}

static int build_indirect_in_indirect(struct th *t, struct vring_desc *d, const struct hx_req *r)
{
	struct vring_desc inner[2] = {
		hx_desc(r->in_gpa, r->in_len, VRING_DESC_F_NEXT, 1),
		hx_desc(r->out_gpa, r->out_len, VRING_DESC_F_WRITE, 0),
	};
	struct vring_desc outer[1] = {
		hx_desc(put_table(t, inner, 2), sizeof(inner), VRING_DESC_F_INDIRECT, 0),
	};
	d[0] = hx_desc(put_table(t, outer, 1), sizeof(outer), VRING_DESC_F_INDIRECT, 0);
	return 0;
}

static uint64_t good_table(struct th *t, const struct hx_req *r)
{
	struct vring_desc tab[2] = {
		hx_desc(r->in_gpa, r->in_len, VRING_DESC_F_NEXT, 1),
		hx_desc(r->out_gpa, r->out_len, VRING_DESC_F_WRITE, 0),
	};
	return put_table(t, tab, 2);
}

static int build_indirect_with_next(struct th *t, struct vring_desc *d, const struct hx_req *r)
{
	d[0] = hx_desc(good_table(t, r), 32, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	d[1] = hx_desc(r->out_gpa, r->out_len, VRING_DESC_F_WRITE, 0);
	return 0;
}

static int build_indirect_len_odd(struct th *t, struct vring_desc *d, const struct hx_req *r)
{
	d[0] = hx_desc(good_table(t, r), 24, VRING_DESC_F_INDIRECT, 0);
	return 0;
}

static int build_indirect_len_zero(struct th *t, struct vring_desc *d, const struct hx_req *r)
{
	d[0] = hx_desc(good_table(t, r), 0, VRING_DESC_F_INDIRECT, 0);
	return 0;
}

static int build_indirect_loop(struct th *t, struct vring_desc *d, const struct hx_req *r)
{
	struct vring_desc tab[2] = {
		hx_desc(r->in_gpa, r->in_len, VRING_DESC_F_NEXT, 1),
		hx_desc(r->in_gpa, 8, VRING_DESC_F_NEXT, 0),
	};
	d[0] = hx_desc(put_table(t, tab, 2), sizeof(tab), VRING_DESC_F_INDIRECT, 0);
	return 0;
}

static int build_indirect_next_oob(struct th *t, struct vring_desc *d, const struct hx_req *r)
{
	struct vring_desc tab[2] = {
		hx_desc(r->in_gpa, r->in_len, VRING_DESC_F_NEXT, 2),
		hx_desc(r->out_gpa, r->out_len, VRING_DESC_F_WRITE, 0),
	};
	d[0] = hx_desc(put_table(t, tab, 2), sizeof(tab), VRING_DESC_F_INDIRECT, 0);
	return 0;
}

static int build_indirect_outside(struct th *t, struct vring_desc *d, const struct hx_req *r)
{
	d[0] = hx_desc(MEM_END - 16, 32, VRING_DESC_F_INDIRECT, 0);
	return 0;
}

static int build_indirect_unnegotiated(struct th *t, struct vring_desc *d, const struct hx_req *r)
{
	return build_indirect_valid(t, d, r);
}

static int build_addr_wraps(struct th *t, struct vring_desc *d, const struct hx_req *r)
{
	d[0] = hx_desc(UINT64_MAX - 0xfff, 0x2000, VRING_DESC_F_NEXT, 1);
	d[1] = hx_desc(r->out_gpa, r->out_len, VRING_DESC_F_WRITE, 0);
	return 0;
}

static int build_len_beyond_memory(struct th *t, struct vring_desc *d, const struct hx_req *r)
{
	d[0] = hx_desc(r->in_gpa, r->in_len, VRING_DESC_F_NEXT, 1);
	d[1] = hx_desc(r->out_gpa, UINT32_MAX, VRING_DESC_F_WRITE, 0);
	return 0;
}

static int build_addr_below_memory(struct th *t, struct vring_desc *d, const struct hx_req *r)
{
	d[0] = hx_desc(0x1000, r->in_len, VRING_DESC_F_NEXT, 1);
	d[1] = hx_desc(r->out_gpa, r->out_len, VRING_DESC_F_WRITE, 0);
	return 0;
}

/* A writable buffer crossing the end of guest memory: the reply would land outside it. */
static int build_write_past_end(struct th *t, struct vring_desc *d, const struct hx_req *r)
{
	d[0] = hx_desc(r->in_gpa, r->in_len, VRING_DESC_F_NEXT, 1);
	d[1] = hx_desc(MEM_END - 8, r->out_len, VRING_DESC_F_WRITE, 0);
	return 0;
}

static int build_write_before_read(struct th *t, struct vring_desc *d, const struct hx_req *r)
{
	d[0] = hx_desc(r->out_gpa, r->out_len, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	d[1] = hx_desc(r->in_gpa, r->in_len, 0, 0);
	return 0;
}

static int build_indirect_write_before_read(struct th *t, struct vring_desc *d,
					    const struct hx_req *r)
{
	struct vring_desc tab[2] = {
		hx_desc(r->out_gpa, r->out_len, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1),
		hx_desc(r->in_gpa, r->in_len, 0, 0),
	};
	d[0] = hx_desc(put_table(t, tab, 2), sizeof(tab), VRING_DESC_F_INDIRECT, 0);
	return 0;
}

/*
 * Two regions with a 2 MiB hole between them: region 1 is removed and added back higher up
 * (REM_MEM_REG/ADD_MEM_REG on the running device). A buffer from the end of region 0 into the
 * hole must be refused, not split.
 */
static int make_hole(struct th *t, uint64_t *ret_boundary)
{
	struct fe *fe = t->fe;
	uint64_t b = fe_region_boundary(fe), per = 32ull << 20;
	struct vhu_mem_reg_one one = {
		.region = {.guest_phys_addr = b,
			   .memory_size = per,
			   .userspace_addr = (uint64_t)(uintptr_t)fe->regions[1].host,
			   .mmap_offset = per},
	};
	int r = fe_vhu_call(fe, VHU_REM_MEM_REG, &one, sizeof(one), &fe->memfd, 1, NULL);

	if (r < 0)
		return r;
	one.region.guest_phys_addr = b + (2u << 20);
	one.region.memory_size = per - (2u << 20);
	*ret_boundary = b;
	return fe_vhu_call(fe, VHU_ADD_MEM_REG, &one, sizeof(one), &fe->memfd, 1, NULL);
}

static int build_straddle_hole(struct th *t, struct vring_desc *d, const struct hx_req *r)
{
	uint64_t b = 0;

	T_OK(t, make_hole(t, &b));
	d[0] = hx_desc(r->in_gpa, r->in_len, VRING_DESC_F_NEXT, 1);
	d[1] = hx_desc(b - 16, r->out_len, VRING_DESC_F_WRITE, 0);
	return 0;
}

static int build_inside_hole(struct th *t, struct vring_desc *d, const struct hx_req *r)
{
	uint64_t b = 0;

	T_OK(t, make_hole(t, &b));
	d[0] = hx_desc(b + 4096, r->in_len, VRING_DESC_F_NEXT, 1);
	d[1] = hx_desc(r->out_gpa, r->out_len, VRING_DESC_F_WRITE, 0);
	return 0;
}

static const struct fe_options no_indirect = {
	.num_request_queues = 2,
	.features = (1ull << 32) | (1ull << VIRTIO_RING_F_EVENT_IDX),
};

CASE(bad, loop, NULL, true)
CASE(bad, longer_than_queue, NULL, true)
CASE(bad, next_out_of_range, NULL, true)
CASE(bad, head_out_of_range, NULL, true)
CASE(bad, avail_jump, NULL, true)
CASE(bad, indirect_in_indirect, NULL, true)
CASE(bad, indirect_with_next, NULL, true)
CASE(bad, indirect_len_odd, NULL, true)
CASE(bad, indirect_len_zero, NULL, true)
CASE(bad, indirect_loop, NULL, true)
CASE(bad, indirect_next_oob, NULL, true)
CASE(bad, indirect_outside, NULL, true)
CASE(bad, indirect_unnegotiated, &no_indirect, true)
CASE(bad, addr_wraps, NULL, true)
CASE(bad, len_beyond_memory, NULL, true)
CASE(bad, addr_below_memory, NULL, true)
CASE(bad, write_past_end, NULL, true)
CASE(bad, write_before_read, NULL, true)
CASE(bad, indirect_write_before_read, NULL, true)
CASE(bad, straddle_hole, &two_regions, true)
CASE(bad, inside_hole, &two_regions, true)

/* Reconfiguring a broken ring (stop, set base/addr/kick again) clears the latch. */
static void test_broken_then_reset(struct th *t)
{
	struct fe_options o = hx_two_queues();
	struct vring_used_elem e;
	struct hx_req r;
	uint64_t base = 0;

	if (hx_restart(t, &o, 0) < 0)
		return;
	struct fe *fe = t->fe;
	struct vring_desc *d = fe_vq_desc_table(fe, HX_BADQ);
	int err_fd = hx_set_err_fd(t, HX_BADQ);
	T_OK(t, hx_getattr_bufs(t, &r));
	fe_vq_raw_publish(fe, HX_BADQ, (uint16_t)build_loop(t, d, &r));
	T_CHECK(t, hx_fd_signalled(err_fd, 3000));
	struct vhu_vring_state st = {.index = HX_BADQ};
	T_OK(t, fe_vhu_call(fe, VHU_GET_VRING_BASE, &st, sizeof(st), NULL, 0, &base));
	T_EQ(t, base, 0); /* the bad chain was never consumed */
	/* Restart from index 1, past the bad chain, as a frontend recovering the device would. */
	st.num = 1;
	T_OK(t, fe_vhu_call(fe, VHU_SET_VRING_BASE, &st, sizeof(st), NULL, 0, NULL));
	uint64_t idx = HX_BADQ;
	T_OK(t, fe_vhu_call(fe, VHU_SET_VRING_KICK, &idx, sizeof(idx), &fe->vq[HX_BADQ].kick_fd, 1,
			    NULL));
	valid_chain(d, 10, &r);
	fe_vq_raw_publish(fe, HX_BADQ, 10);
	T_OK(t, fe_vq_raw_wait(fe, HX_BADQ, &e, 3000));
	T_EQ(t, e.id, 10);
	T_CHECK(t, hx_getattr_reply_ok(t, &r, e.len));
	if (err_fd >= 0)
		close(err_fd);
}

const struct th_test hx_ring_tests[] = {
	{"ring: valid raw chain (control)", test_valid},
	{"ring: zero-length pieces are skipped (control)", test_zero_len_pieces},
	{"ring: valid indirect table (control)", test_indirect_valid},
	{"ring: buffer across adjacent regions (control)", test_straddle_adjacent},
	{"ring: chain of one empty buffer gets used len 0", test_only_zero_len},
	{"ring: descriptor loop", test_loop},
	{"ring: chain longer than the queue", test_longer_than_queue},
	{"ring: next index >= queue size", test_next_out_of_range},
	{"ring: head index >= queue size", test_head_out_of_range},
	{"ring: avail index jumps past queue size", test_avail_jump},
	{"ring: indirect table inside indirect table", test_indirect_in_indirect},
	{"ring: indirect descriptor with NEXT", test_indirect_with_next},
	{"ring: indirect length not a multiple of 16", test_indirect_len_odd},
	{"ring: indirect length zero", test_indirect_len_zero},
	{"ring: loop inside an indirect table", test_indirect_loop},
	{"ring: indirect next index beyond its table", test_indirect_next_oob},
	{"ring: indirect table outside guest memory", test_indirect_outside},
	{"ring: indirect without INDIRECT_DESC negotiated", test_indirect_unnegotiated},
	{"ring: addr + len wraps around 2^64", test_addr_wraps},
	{"ring: writable length beyond guest memory", test_len_beyond_memory},
	{"ring: address below guest memory", test_addr_below_memory},
	{"ring: writable buffer across the end of memory", test_write_past_end},
	{"ring: writable descriptor before a readable one", test_write_before_read},
	{"ring: indirect writable before readable", test_indirect_write_before_read},
	{"ring: buffer straddling a hole between regions", test_straddle_hole},
	{"ring: buffer inside a hole between regions", test_inside_hole},
	{"ring: reconfiguring a broken ring clears the latch", test_broken_then_reset},
	TH_TESTS_END,
};
