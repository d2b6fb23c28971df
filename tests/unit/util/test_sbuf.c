/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * util/sbuf: the migration state's writer and reader. Round trips, little-endian layout, and
 * the reader's bounds: every read past the end, every length over its maximum and every
 * section longer than what is left fails, stays failed, and never reads outside the buffer
 * (each case reads from an exactly sized heap copy, so ASan sees any overrun).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "util/sbuf.h"

static void test_round_trip(void)
{
	struct sbuf_w w = {0};
	struct sbuf_r r, sub;
	uint32_t len = 0;
	const char *p;
	size_t off;

	sbuf_put_u32(&w, 0x11223344);
	sbuf_put_u64(&w, 0x0102030405060708ull);
	sbuf_put_bytes(&w, "abc", 3);
	off = sbuf_reserve_u64(&w);
	sbuf_put_u32(&w, 7);
	sbuf_patch_u64(&w, off, w.len - off - 8);
	for (int i = 0; i < 5000; i++) /* grows past the first allocation */
		sbuf_put_u32(&w, (uint32_t)i);
	CHECK_EQ(w.err, 0);
	CHECK_EQ(w.buf[0], 0x44); /* little-endian */
	CHECK_EQ(w.buf[4], 0x08);

	r = sbuf_reader(w.buf, w.len);
	CHECK_EQ(sbuf_get_u32(&r), 0x11223344);
	CHECK_EQ(sbuf_get_u64(&r), 0x0102030405060708ull);
	p = sbuf_get_bytes(&r, 3, &len);
	CHECK(p && len == 3 && !memcmp(p, "abc", 3));
	sub = sbuf_sub(&r, sbuf_get_u64(&r));
	CHECK_EQ(sbuf_get_u32(&sub), 7);
	CHECK_EQ(sbuf_remaining(&sub), 0);
	for (int i = 0; i < 5000; i++)
		CHECK_EQ(sbuf_get_u32(&r), (uint32_t)i);
	CHECK_EQ(sbuf_remaining(&r), 0);
	CHECK_EQ(r.err, 0);
	free(w.buf);
}

static void test_bounds(void)
{
	uint8_t raw[12] = {5, 0, 0, 0, 'h', 'e', 'l', 'l', 'o', 0xff, 0xff, 0xff};
	uint8_t *copy = malloc(sizeof(raw));
	struct sbuf_r r;
	uint32_t len = 99;

	memcpy(copy, raw, sizeof(raw));
	/* A string longer than its maximum. */
	r = sbuf_reader(copy, sizeof(raw));
	CHECK(sbuf_get_bytes(&r, 4, &len) == NULL);
	CHECK_EQ(r.err, -EBADMSG);
	CHECK_EQ(len, 0);
	CHECK_EQ(sbuf_get_u32(&r), 0); /* sticky */
	CHECK_EQ(sbuf_remaining(&r), 0);
	/* Exactly in bounds, then one byte short. */
	r = sbuf_reader(copy, 9);
	CHECK(sbuf_get_bytes(&r, 5, &len) != NULL);
	CHECK_EQ(r.err, 0);
	r = sbuf_reader(copy, 8);
	CHECK(sbuf_get_bytes(&r, 5, &len) == NULL);
	CHECK_EQ(r.err, -EBADMSG);
	/* A length prefix claiming almost 4 GiB. */
	r = sbuf_reader(copy + 8, 4);
	copy[8] = 0xff;
	CHECK(sbuf_get_bytes(&r, UINT32_MAX, &len) == NULL);
	CHECK_EQ(r.err, -EBADMSG);
	/* A section longer than the rest, and one of 2^64 - 1 bytes. */
	r = sbuf_reader(copy, sizeof(raw));
	CHECK_EQ(sbuf_sub(&r, sizeof(raw) + 1).err, -EBADMSG);
	CHECK_EQ(r.err, -EBADMSG);
	r = sbuf_reader(copy, sizeof(raw));
	CHECK_EQ(sbuf_sub(&r, UINT64_MAX).err, -EBADMSG);
	/* Reads past the end of every size. */
	for (size_t n = 0; n < 8; n++) {
		r = sbuf_reader(copy, n);
		(void)sbuf_get_u64(&r);
		CHECK_EQ(r.err, -EBADMSG);
	}
	/* An empty reader over no buffer: zero-length reads work, others fail. */
	r = sbuf_reader(NULL, 0);
	CHECK(sbuf_take(&r, 0) != NULL);
	CHECK_EQ(sbuf_sub(&r, 0).err, 0);
	CHECK(sbuf_take(&r, 1) == NULL);
	free(copy);
}

int main(void)
{
	test_round_trip();
	test_bounds();
	return check_report("util-sbuf");
}
