// SPDX-License-Identifier: GPL-2.0-or-later
/* Bounded iovec cursors: never past the iovecs, all-or-nothing, zero-length pieces skipped. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "fuse/cursor.h"

static char a[] = "ab", b[] = "", c[] = "cdefg", d[] = "h\0ij";

static void test_reader(void)
{
	struct iovec v[] = {{a, 2}, {b, 0}, {c, 5}, {d, 4}};
	struct fuse_reader r;
	char buf[16] = {0};
	struct iovec sub[4];
	unsigned cnt;

	fuse_reader_init(&r, v, 4);
	CHECK_EQ(fuse_reader_remaining(&r), 11);
	CHECK_EQ(fuse_reader_read(&r, buf, 3), 0);
	CHECK(memcmp(buf, "abc", 3) == 0);
	CHECK_EQ(fuse_reader_peek(&r, buf, 100), 8);
	CHECK_EQ(fuse_reader_read(&r, buf, 9), -EINVAL); /* nothing consumed */
	CHECK_EQ(fuse_reader_remaining(&r), 8);
	CHECK_EQ(fuse_reader_string(&r, buf, sizeof(buf)), 5);
	CHECK_STREQ(buf, "defgh");
	CHECK_EQ(fuse_reader_remaining(&r), 2);
	CHECK_EQ(fuse_reader_string(&r, buf, sizeof(buf)), -EINVAL); /* no NUL left */

	fuse_reader_init(&r, v, 4);
	CHECK_EQ(fuse_reader_string(&r, buf, 4), -ENAMETOOLONG);
	fuse_reader_limit(&r, 6);
	CHECK_EQ(fuse_reader_iov_count(&r, 6), 2);
	CHECK_EQ(fuse_reader_iov(&r, 6, sub, 1, &cnt), -E2BIG);
	CHECK_EQ(fuse_reader_iov(&r, 7, sub, 4, &cnt), -EINVAL);
	CHECK_EQ(fuse_reader_iov(&r, 6, sub, 4, &cnt), 0);
	CHECK_EQ(cnt, 2);
	CHECK(sub[0].iov_base == a && sub[0].iov_len == 2);
	CHECK(sub[1].iov_base == c && sub[1].iov_len == 4);
	CHECK_EQ(fuse_reader_remaining(&r), 0);
	CHECK_EQ(fuse_reader_skip(&r, 1), -EINVAL);

	fuse_reader_init(&r, NULL, 0);
	CHECK_EQ(fuse_reader_read(&r, buf, 1), -EINVAL);
	CHECK_EQ(fuse_reader_string(&r, buf, 4), -EINVAL);
}

static void test_writer(void)
{
	char o1[3], o2[1], o3[6];
	struct iovec v[] = {{o1, 3}, {o2, 0}, {o2, 1}, {o3, 6}};
	struct fuse_writer w;
	struct iovec sub[4];
	unsigned cnt;

	memset(o3, 'z', sizeof(o3));
	fuse_writer_init(&w, v, 4);
	CHECK_EQ(fuse_writer_room(&w), 10);
	CHECK_EQ(fuse_writer_write(&w, "12345", 5), 0);
	CHECK(memcmp(o1, "123", 3) == 0 && o2[0] == '4' && o3[0] == '5');
	CHECK_EQ(fuse_writer_write(&w, "xxxxxx", 6), -ENOSPC);
	CHECK(o3[1] == 'z');
	CHECK_EQ(fuse_writer_iov_count(&w, 100), 1);
	CHECK_EQ(fuse_writer_iov(&w, 5, sub, 4, &cnt), 0);
	CHECK(cnt == 1 && sub[0].iov_base == o3 + 1 && sub[0].iov_len == 5);
	CHECK_EQ(fuse_writer_written(&w), 5); /* iov does not consume */
	CHECK_EQ(fuse_writer_skip(&w, 2), 0);
	CHECK_EQ(fuse_writer_zero(&w, 3), 0);
	CHECK(o3[3] == 0 && o3[5] == 0 && o3[1] == 'z');
	CHECK_EQ(fuse_writer_room(&w), 0);
	CHECK_EQ(fuse_writer_zero(&w, 1), -ENOSPC);
	fuse_writer_init(&w, v, 4);
	fuse_writer_limit(&w, 2);
	CHECK_EQ(fuse_writer_write(&w, "abc", 3), -ENOSPC);
}

int main(void)
{
	test_reader();
	test_writer();
	return check_report("fuse-cursor");
}
