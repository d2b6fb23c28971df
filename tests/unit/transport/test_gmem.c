/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Guest memory translation: edges, overflow, straddling, holes, table changes. */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "guest_mem.h"

static struct gmem_region *wrap(uint64_t gpa, uint64_t size, uint64_t uva, void *host)
{
	struct gmem_region_desc d = {.guest_addr = gpa, .size = size, .user_addr = uva};
	struct gmem_region *r = NULL;

	CHECK_EQ(gmem_region_wrap(&d, host, &r), 0);
	return r;
}

static void test_translate(void)
{
	uint8_t *a = guarded_alloc(2 * PAGE), *b = guarded_alloc(PAGE);
	struct gmem_region *r[2] = {wrap(0x10000, 2 * PAGE, 0x7f0000, a),
				    wrap(0x10000 + 2 * PAGE, PAGE, 0x500000, b)};
	struct gmem_table *t;
	struct iovec iov[4];
	unsigned n = 0;

	CHECK_EQ(gmem_table_new(r, 2, &t), 0);
	CHECK_EQ(gmem_table_count(t), 2);
	CHECK(gmem_gpa_to_host(t, 0x10000, 1) == a);
	CHECK(gmem_gpa_to_host(t, 0x10000, 2 * PAGE) == a);
	CHECK(gmem_gpa_to_host(t, 0x10000 + 2 * PAGE - 1, 1) == a + 2 * PAGE - 1);
	CHECK(gmem_gpa_to_host(t, 0x10000 + 2 * PAGE, PAGE) == b);
	CHECK(gmem_gpa_to_host(t, 0x10000 + 3 * PAGE - 1, 1) == b + PAGE - 1);
	/* Straddling two regions is not one host range. */
	CHECK(gmem_gpa_to_host(t, 0x10000 + 2 * PAGE - 1, 2) == NULL);
	CHECK(gmem_gpa_to_host(t, 0x10000, 2 * PAGE + 1) == NULL);
	/* Holes, edges and overflow. */
	CHECK(gmem_gpa_to_host(t, 0xffff, 1) == NULL);
	CHECK(gmem_gpa_to_host(t, 0xffff, 2) == NULL);
	CHECK(gmem_gpa_to_host(t, 0x10000 + 3 * PAGE, 1) == NULL);
	CHECK(gmem_gpa_to_host(t, 0x10000, UINT64_MAX) == NULL);
	CHECK(gmem_gpa_to_host(t, 0x10010, UINT64_MAX - 8) == NULL);
	CHECK(gmem_gpa_to_host(t, UINT64_MAX, 2) == NULL);
	CHECK(gmem_gpa_to_host(t, 0x10000, 0) == NULL); /* zero length never translates */
	/* Frontend-virtual addresses. */
	CHECK(gmem_uva_to_host(t, 0x7f0000 + 5, 10) == a + 5);
	CHECK(gmem_uva_to_host(t, 0x500000, PAGE) == b);
	CHECK(gmem_uva_to_host(t, 0x500000, PAGE + 1) == NULL);
	CHECK(gmem_uva_to_host(t, 0x4fffff, 2) == NULL);
	CHECK(gmem_uva_to_host(t, 0x500000, 0) == NULL);
	CHECK(gmem_uva_to_host(t, UINT64_MAX - 1, 4) == NULL);
	/* Splitting over adjacent regions. */
	CHECK_EQ(gmem_gpa_to_iov(t, 0x10000 + PAGE, 2 * PAGE, iov, 4, &n), 0);
	CHECK_EQ(n, 2);
	CHECK(iov[0].iov_base == a + PAGE && iov[0].iov_len == PAGE);
	CHECK(iov[1].iov_base == b && iov[1].iov_len == PAGE);
	CHECK_EQ(gmem_gpa_to_iov(t, 0x10000 + PAGE, 2 * PAGE, iov, 1, &n), -E2BIG);
	CHECK_EQ(gmem_gpa_to_iov(t, 0x10000 + PAGE, 2 * PAGE + 1, iov, 4, &n), -EFAULT);
	CHECK_EQ(gmem_gpa_to_iov(t, 0x10000, 0, iov, 4, &n), -EFAULT);
	CHECK_EQ(gmem_gpa_to_iov(t, UINT64_MAX, 2, iov, 4, &n), -EFAULT);
	/* Back from host to guest-physical (the dirty log): inside one region only. */
	uint64_t gpa = 0;
	CHECK(gmem_host_to_gpa(t, a + 5, 10, &gpa) && gpa == 0x10005);
	CHECK(gmem_host_to_gpa(t, b + PAGE - 1, 1, &gpa) && gpa == 0x10000 + 3 * PAGE - 1);
	CHECK(!gmem_host_to_gpa(t, a + 2 * PAGE - 1, 2, &gpa));
	CHECK(!gmem_host_to_gpa(t, a, 0, &gpa));
	CHECK(!gmem_host_to_gpa(t, a - 1, 1, &gpa));
	CHECK(!gmem_host_to_gpa(NULL, a, 1, &gpa));
	CHECK(gmem_table_gpa_end(t) == 0x10000 + 3 * PAGE);
	CHECK(gmem_table_gpa_end(NULL) == 0);
	{
		/* A region that ends at 2^64: the end saturates instead of wrapping to 0. */
		struct gmem_region *top = wrap(UINT64_MAX - PAGE + 1, PAGE, 0x900000, b);
		struct gmem_table *tt;

		CHECK_EQ(gmem_table_new(&top, 1, &tt), 0);
		CHECK(gmem_table_gpa_end(tt) == UINT64_MAX);
		CHECK(gmem_host_to_gpa(tt, b + PAGE - 1, 1, &gpa) && gpa == UINT64_MAX);
		gmem_table_unref(tt);
		gmem_region_unref(top);
	}

	gmem_table_unref(t);
	gmem_region_unref(r[0]);
	gmem_region_unref(r[1]);
	guarded_free(a, 2 * PAGE);
	guarded_free(b, PAGE);
}

static void test_table_changes(void)
{
	uint8_t buf[64];
	struct gmem_region *r1 = wrap(0x1000, 0x1000, 0, buf), *r2 = wrap(0x1800, 0x1000, 0, buf),
			   *r3 = wrap(0x2000, 0x1000, 0, buf), *r4 = wrap(0, 0x1000, 0, buf);
	struct gmem_table *t1, *t2, *t3, *bad = NULL;
	struct gmem_region *pair[2] = {r1, r2};
	struct gmem_region_desc wrapping = {.guest_addr = UINT64_MAX - 0xfff, .size = 0x2000};
	struct gmem_region_desc empty = {.guest_addr = 0x1000, .size = 0};
	struct gmem_region *x = NULL;

	CHECK_EQ(gmem_table_new(pair, 2, &bad), -EINVAL); /* overlap */
	CHECK(bad == NULL);
	CHECK_EQ(gmem_table_new(&r1, 1, &t1), 0);
	CHECK_EQ(gmem_table_add(t1, r2, &bad), -EINVAL);
	CHECK_EQ(gmem_table_add(t1, r3, &t2), 0);
	CHECK_EQ(gmem_table_add(t2, r4, &t3), 0);
	CHECK_EQ(gmem_table_count(t3), 3);
	CHECK(gmem_gpa_to_host(t3, 0x10, 1) == buf + 0x10);
	gmem_table_unref(t2);
	CHECK_EQ(gmem_table_remove(t3, 0x1000, 0x1000, &t2), 0);
	CHECK_EQ(gmem_table_count(t2), 2);
	CHECK(gmem_gpa_to_host(t2, 0x1000, 1) == NULL);
	CHECK(gmem_gpa_to_host(t2, 0x2000, 1) == buf);
	CHECK_EQ(gmem_table_remove(t2, 0x1000, 0x1000, &bad), -ENOENT);
	CHECK_EQ(gmem_table_remove(t2, 0x2000, 0x800, &bad), -ENOENT); /* size must match */
	CHECK_EQ(gmem_region_wrap(&wrapping, buf, &x), -EINVAL);
	CHECK_EQ(gmem_region_wrap(&empty, buf, &x), -EINVAL);
	CHECK(x == NULL);
	gmem_table_unref(t1);
	gmem_table_unref(t2);
	gmem_table_unref(t3);
	gmem_region_unref(r1);
	gmem_region_unref(r2);
	gmem_region_unref(r3);
	gmem_region_unref(r4);
}

/* The real mmap path: mmap_offset honoured, regions past the end of the file refused. */
static void test_map_fd(void)
{
	int fd = memfd_create("gmem-test", MFD_CLOEXEC);
	struct gmem_region_desc d = {.guest_addr = 0x40000,
				     .size = PAGE,
				     .user_addr = 0x1000,
				     .mmap_offset = 2 * PAGE + 16};
	struct gmem_region *r = NULL;
	struct gmem_table *t;
	char c = 'x';
	uint8_t *p;

	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, 3 * PAGE), 0);
	CHECK_EQ(gmem_region_map(&d, fd, &r), -EINVAL); /* 16 bytes past EOF */
	d.mmap_offset = 2 * PAGE;
	CHECK_EQ(pwrite(fd, &c, 1, 2 * PAGE + 5), 1);
	CHECK_EQ(gmem_region_map(&d, fd, &r), 0);
	close(fd); /* the mapping outlives the fd */
	CHECK_EQ(gmem_table_new(&r, 1, &t), 0);
	gmem_region_unref(r);
	p = gmem_gpa_to_host(t, 0x40005, 1);
	CHECK(p && *p == 'x');
	gmem_table_unref(t);
}

int main(void)
{
	test_translate();
	test_table_changes();
	test_map_fd();
	return check_report("transport-gmem");
}
