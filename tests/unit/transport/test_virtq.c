/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The descriptor-chain walker against hand-built rings, well-formed and hostile. */
#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "check.h"
#include "guest_mem.h"

#define RD  0
#define WR  VRING_DESC_F_WRITE
#define NX  VRING_DESC_F_NEXT
#define IND VRING_DESC_F_INDIRECT

static struct vq_chain chain;

static void test_simple_chain(void)
{
	struct guest g;

	guest_setup(&g, 8, false, false);
	CHECK_EQ(vq_pop(&g.vq, g.t, &chain), 0);
	set_desc(g.desc, 3, G_BUF, 100, RD | NX, 5);
	set_desc(g.desc, 5, G_BUF + 0x1000, 200, WR | NX, 6);
	set_desc(g.desc, 6, G_BUF + 0x2000, 0, WR, 0); /* empty: no iovec */
	post(&g, 3);
	CHECK_EQ(vq_pop(&g.vq, g.t, &chain), 1);
	CHECK_EQ(chain.head, 3);
	CHECK_EQ(chain.nrd, 1);
	CHECK_EQ(chain.nwr, 1);
	CHECK_EQ(chain.wr_len, 200);
	CHECK(chain.iov[0].iov_base == gp(&g, G_BUF));
	CHECK_EQ(chain.iov[0].iov_len, 100);
	CHECK(chain.iov[1].iov_base == gp(&g, G_BUF + 0x1000));
	CHECK_EQ(chain.iov[1].iov_len, 200);
	CHECK_EQ(vq_pop(&g.vq, g.t, &chain), 0);
	CHECK_EQ(g.vq.last_avail_idx, 1);

	vq_push(&g.vq, 3, 42);
	CHECK_EQ(le16toh(g.used->idx), 1);
	CHECK_EQ(le32toh(g.used->ring[0].id), 3);
	CHECK_EQ(le32toh(g.used->ring[0].len), 42);
	guest_teardown(&g);
}

static void test_indirect(void)
{
	struct guest g;
	struct vring_desc *table;
	uint64_t tgpa = G_BUF + 0x8000;

	guest_setup(&g, 4, false, true);
	table = gp(&g, tgpa);
	set_desc(table, 0, G_BUF, 16, RD | NX, 2);
	set_desc(table, 2, G_BUF + 16, 32, RD | NX, 1);
	set_desc(table, 1, G_BUF + 0x1000, 64, WR, 0);
	set_desc(g.desc, 0, G_BUF + 0x3000, 8, RD | NX, 1); /* a direct part first is allowed */
	set_desc(g.desc, 1, tgpa, 3 * 16, IND, 0);
	post(&g, 0);
	CHECK_EQ(vq_pop(&g.vq, g.t, &chain), 1);
	CHECK_EQ(chain.nrd, 3);
	CHECK_EQ(chain.nwr, 1);
	CHECK_EQ(chain.iov[1].iov_len, 16);
	CHECK(chain.iov[3].iov_base == gp(&g, G_BUF + 0x1000));

	/* Linux builds indirect tables longer than the ring: allowed up to VQ_MAX_IOV. */
	for (unsigned i = 0; i < 100; i++)
		set_desc(table, i, G_BUF + i, 1, RD | NX, (uint16_t)(i + 1));
	set_desc(table, 99, G_BUF + 0x1000, 1, WR, 0);
	set_desc(g.desc, 2, tgpa, 100 * 16, IND, 0);
	post(&g, 2);
	CHECK_EQ(vq_pop(&g.vq, g.t, &chain), 1);
	CHECK_EQ(chain.nrd, 99);
	CHECK_EQ(chain.nwr, 1);
	guest_teardown(&g);
}

/* Each builds one bad chain at head 0 (descriptor table already zeroed). */
typedef void (*bad_fn)(struct guest *g);

static void bad_head(struct guest *g)
{
	post(g, (uint16_t)g->num);
}
static void bad_next(struct guest *g)
{
	set_desc(g->desc, 0, G_BUF, 1, RD | NX, (uint16_t)g->num);
	post(g, 0);
}
static void bad_loop(struct guest *g)
{
	set_desc(g->desc, 0, G_BUF, 1, RD | NX, 1);
	set_desc(g->desc, 1, G_BUF, 1, RD | NX, 0);
	post(g, 0);
}
static void bad_self_loop_zero_len(struct guest *g)
{
	set_desc(g->desc, 0, G_BUF, 0, RD | NX, 0);
	post(g, 0);
}
static void bad_nested_indirect(struct guest *g)
{
	struct vring_desc *t = gp(g, G_BUF);

	set_desc(t, 0, G_BUF + 0x100, 16, IND, 0);
	set_desc(g->desc, 0, G_BUF, 16, IND, 0);
	post(g, 0);
}
static void bad_indirect_next(struct guest *g)
{
	set_desc(gp(g, G_BUF), 0, G_BUF + 0x1000, 1, RD, 0);
	set_desc(g->desc, 0, G_BUF, 16, IND | NX, 1);
	set_desc(g->desc, 1, G_BUF + 0x1000, 1, WR, 0);
	post(g, 0);
}
static void bad_indirect_len0(struct guest *g)
{
	set_desc(g->desc, 0, G_BUF, 0, IND, 0);
	post(g, 0);
}
static void bad_indirect_len17(struct guest *g)
{
	set_desc(g->desc, 0, G_BUF, 17, IND, 0);
	post(g, 0);
}
static void bad_indirect_too_long(struct guest *g)
{
	set_desc(g->desc, 0, G_BUF, (VQ_MAX_IOV + 1) * 16, IND, 0);
	post(g, 0);
}
static void bad_indirect_outside(struct guest *g)
{
	set_desc(g->desc, 0, G_BASE + G_SIZE - 16, 32, IND, 0);
	post(g, 0);
}
static void bad_indirect_loop(struct guest *g)
{
	struct vring_desc *t = gp(g, G_BUF);

	set_desc(t, 0, G_BUF + 0x1000, 1, RD | NX, 1);
	set_desc(t, 1, G_BUF + 0x1000, 1, RD | NX, 0);
	set_desc(g->desc, 0, G_BUF, 32, IND, 0);
	post(g, 0);
}
static void bad_indirect_next_range(struct guest *g)
{
	struct vring_desc *t = gp(g, G_BUF);

	set_desc(t, 0, G_BUF + 0x1000, 1, RD | NX, 2); /* table has 2 entries */
	set_desc(g->desc, 0, G_BUF, 32, IND, 0);
	post(g, 0);
}
static void bad_addr_unmapped(struct guest *g)
{
	set_desc(g->desc, 0, 0x1000, 16, RD, 0);
	post(g, 0);
}
static void bad_addr_past_end(struct guest *g)
{
	set_desc(g->desc, 0, G_BASE + G_SIZE - 8, 16, RD, 0);
	post(g, 0);
}
static void bad_addr_overflow(struct guest *g)
{
	set_desc(g->desc, 0, UINT64_MAX - 8, 100, RD, 0);
	post(g, 0);
}
static void bad_rd_after_wr(struct guest *g)
{
	set_desc(g->desc, 0, G_BUF, 16, WR | NX, 1);
	set_desc(g->desc, 1, G_BUF + 16, 16, RD, 0);
	post(g, 0);
}
static void bad_avail_jump(struct guest *g)
{
	set_desc(g->desc, 0, G_BUF, 16, RD, 0);
	g->avail->ring[0] = 0;
	__atomic_store_n(&g->avail->idx, htole16((uint16_t)(g->num + 1)), __ATOMIC_RELEASE);
}

static void test_malformed(bool indirect_negotiated, bad_fn fn, const char *name)
{
	struct guest g;
	int r;

	guest_setup(&g, 8, false, indirect_negotiated);
	fn(&g);
	r = vq_pop(&g.vq, g.t, &chain);
	if (r != -EBADMSG)
		fprintf(stderr, "malformed case %s: vq_pop returned %d\n", name, r);
	CHECK_EQ(r, -EBADMSG);
	CHECK(g.vq.broken);
	CHECK_EQ(g.vq.last_avail_idx, 0);
	CHECK_EQ(vq_pop(&g.vq, g.t, &chain), -EIO);
	CHECK(!vq_enable_notify(&g.vq));
	guest_teardown(&g);
}

#define MALFORMED(ind, fn) test_malformed(ind, fn, #fn)

static void test_all_malformed(void)
{
	MALFORMED(true, bad_head);
	MALFORMED(true, bad_next);
	MALFORMED(true, bad_loop);
	MALFORMED(true, bad_self_loop_zero_len);
	MALFORMED(true, bad_nested_indirect);
	MALFORMED(false, bad_nested_indirect); /* indirect not negotiated */
	MALFORMED(true, bad_indirect_next);
	MALFORMED(true, bad_indirect_len0);
	MALFORMED(true, bad_indirect_len17);
	MALFORMED(true, bad_indirect_too_long);
	MALFORMED(true, bad_indirect_outside);
	MALFORMED(true, bad_indirect_loop);
	MALFORMED(true, bad_indirect_next_range);
	MALFORMED(true, bad_addr_unmapped);
	MALFORMED(true, bad_addr_past_end);
	MALFORMED(true, bad_addr_overflow);
	MALFORMED(true, bad_rd_after_wr);
	MALFORMED(true, bad_avail_jump);
}

/* Two guest-physically adjacent regions far apart in the host: buffers get split. */
static void test_split_and_iov_limit(void)
{
	struct guest g;
	struct gmem_region_desc d2 = {
		.guest_addr = G_BASE + G_SIZE, .size = G_SIZE, .user_addr = 0x900000};
	uint8_t *mem2 = guarded_alloc(G_SIZE);
	struct gmem_region *r2;
	struct gmem_table *t2;
	struct vring_desc *table;

	guest_setup(&g, 8, false, true);
	CHECK_EQ(gmem_region_wrap(&d2, mem2, &r2), 0);
	CHECK_EQ(gmem_table_add(g.t, r2, &t2), 0);
	gmem_region_unref(r2);

	set_desc(g.desc, 0, G_BASE + G_SIZE - 10, 30, WR, 0);
	post(&g, 0);
	CHECK_EQ(vq_pop(&g.vq, t2, &chain), 1);
	CHECK_EQ(chain.nwr, 2);
	CHECK(chain.iov[0].iov_base == gp(&g, G_BASE + G_SIZE - 10));
	CHECK_EQ(chain.iov[0].iov_len, 10);
	CHECK(chain.iov[1].iov_base == mem2);
	CHECK_EQ(chain.iov[1].iov_len, 20);

	/* 600 descriptors that each split in two: 1200 iovecs, over the limit. */
	table = gp(&g, G_BUF);
	for (unsigned i = 0; i < 600; i++)
		set_desc(table, i, G_BASE + G_SIZE - 1, 2, WR | NX, (uint16_t)(i + 1));
	set_desc(table, 599, G_BASE + G_SIZE - 1, 2, WR, 0);
	set_desc(g.desc, 1, G_BUF, 600 * 16, IND, 0);
	post(&g, 1);
	CHECK_EQ(vq_pop(&g.vq, t2, &chain), -EBADMSG);

	gmem_table_unref(t2);
	guarded_free(mem2, G_SIZE);
	guest_teardown(&g);
}

static void test_event_idx(void)
{
	struct guest g;
	uint16_t *used_event, *avail_event;
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	eventfd_t v;

	guest_setup(&g, 8, true, false);
	used_event = (uint16_t *)&g.avail->ring[g.num];
	avail_event = (uint16_t *)&g.used->ring[g.num];
	g.vq.call_fd = efd;

	vq_push(&g.vq, 0, 1);
	*used_event = 0;
	CHECK(vq_should_notify(&g.vq)); /* the first one always */
	vq_push(&g.vq, 1, 1);
	vq_push(&g.vq, 2, 1);
	*used_event = htole16(1); /* the guest wants to hear once used idx passes 1 */
	CHECK(vq_should_notify(&g.vq));
	vq_push(&g.vq, 3, 1);
	*used_event = htole16(10);
	CHECK(!vq_should_notify(&g.vq));
	*used_event = htole16(4); /* crossed by the next push (old = 4, new = 5) */
	vq_push(&g.vq, 4, 1);
	vq_notify(&g.vq);
	CHECK_EQ(eventfd_read(efd, &v), 0);
	CHECK_EQ(v, 1);
	vq_push(&g.vq, 5, 1);
	vq_notify(&g.vq); /* used_event 4 already passed: suppressed */
	CHECK(eventfd_read(efd, &v) < 0);
	CHECK_EQ(le16toh(g.used->idx), 6);

	/* Enabling kicks publishes where we are and catches a buffer that raced with it. */
	set_desc(g.desc, 0, G_BUF, 4, RD, 0);
	CHECK(!vq_enable_notify(&g.vq));
	CHECK_EQ(le16toh(*avail_event), 0);
	post(&g, 0);
	CHECK(vq_enable_notify(&g.vq));
	CHECK_EQ(vq_pop(&g.vq, g.t, &chain), 1);
	CHECK(!vq_enable_notify(&g.vq));
	CHECK_EQ(le16toh(*avail_event), 1);
	close(efd);
	guest_teardown(&g);
}

static void test_no_event_idx(void)
{
	struct guest g;

	guest_setup(&g, 8, false, false);
	vq_push(&g.vq, 0, 1);
	g.avail->flags = htole16(VRING_AVAIL_F_NO_INTERRUPT);
	CHECK(!vq_should_notify(&g.vq));
	g.avail->flags = 0;
	CHECK(vq_should_notify(&g.vq));

	vq_disable_notify(&g.vq);
	CHECK(le16toh(g.used->flags) & VRING_USED_F_NO_NOTIFY);
	CHECK(!vq_enable_notify(&g.vq));
	CHECK(!(le16toh(g.used->flags) & VRING_USED_F_NO_NOTIFY));
	guest_teardown(&g);
}

static void test_used_wrap_and_start(void)
{
	struct guest g;

	guest_setup(&g, 4, false, false);
	for (unsigned i = 0; i < 6; i++)
		vq_push(&g.vq, (uint16_t)i, (uint32_t)(100 + i));
	CHECK_EQ(le16toh(g.used->idx), 6);
	CHECK_EQ(le32toh(g.used->ring[1].id), 5);
	CHECK_EQ(le32toh(g.used->ring[1].len), 105);
	/* A restarted ring continues from the used index in guest memory. */
	g.vq.used_idx = 0;
	vq_start(&g.vq);
	CHECK_EQ(g.vq.used_idx, 6);
	guest_teardown(&g);
}

static void test_map(void)
{
	struct guest g;

	guest_setup(&g, 8, true, false);
	CHECK_EQ(vq_map(&g.vq, g.t, G_BASE + 8, G_BASE + 0x1000, G_BASE + 0x2000), -EINVAL);
	CHECK(g.vq.desc == NULL);
	CHECK_EQ(vq_pop(&g.vq, g.t, &chain), -EIO);
	CHECK_EQ(vq_map(&g.vq, g.t, G_BASE, G_BASE + G_SIZE - 4, G_BASE + 0x2000), -EFAULT);
	g.vq.num = 12;
	CHECK_EQ(vq_map(&g.vq, g.t, G_BASE, G_BASE + 0x1000, G_BASE + 0x2000), -EINVAL);
	CHECK(!vq_size_valid(0));
	CHECK(!vq_size_valid(65536));
	CHECK(vq_size_valid(32768));
	CHECK(!vq_size_valid(3));
	guest_teardown(&g);
}

int main(void)
{
	test_simple_chain();
	test_indirect();
	test_all_malformed();
	test_split_and_iov_limit();
	test_event_idx();
	test_no_event_idx();
	test_used_wrap_and_start();
	test_map();
	return check_report("transport-virtq");
}
