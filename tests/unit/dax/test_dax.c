// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The DAX window table against a fake frontend that behaves like QEMU 11.1's SHMEM_MAP: maps
 * really land in a window of our own address space (so contents can be checked), and the fake
 * refuses what QEMU refuses (overlaps, ranges past the file's end, partial unmaps) and records
 * what QEMU would do silently wrong (extending an empty file).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "dax/dax.h"

#define WINDOW	(8u << 20)
#define CHUNK	(2u << 20)
#define MAX_MAP 1024

struct fake_map {
	uint64_t off, len;
	int fd;
	bool writable;
};

static struct {
	uint8_t *win;
	uint64_t size; /* 0: no window this session */
	struct fake_map maps[MAX_MAP];
	unsigned n;
	unsigned overlaps, past_eof, bad_unmaps, empty_files;
} fk;

static int fake_map(void *opaque, uint64_t off, uint64_t len, int fd, uint64_t file_off,
		    bool writable)
{
	struct stat st;

	if (off + len > fk.size || fstat(fd, &st) < 0)
		return -EIO;
	for (unsigned i = 0; i < fk.n; i++) {
		if (fk.maps[i].off < off + len && off < fk.maps[i].off + fk.maps[i].len) {
			fk.overlaps++;
			return -EIO;
		}
	}
	if (st.st_size == 0)
		fk.empty_files++; /* QEMU would ftruncate it to the map's length */
	else if ((uint64_t)st.st_size < file_off + len) {
		fk.past_eof++;
		return -EIO;
	}
	if (mmap(fk.win + off, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd,
		 (off_t)file_off) == MAP_FAILED)
		return -EIO;
	fk.maps[fk.n++] = (struct fake_map){off, len, dup(fd), writable};
	return 0;
}

static void fake_hole(uint64_t off, uint64_t len)
{
	CHECK(mmap(fk.win + off, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) !=
	      MAP_FAILED);
}

static int fake_unmap(void *opaque, uint64_t off, uint64_t len)
{
	for (unsigned i = 0; i < fk.n; i++) {
		if (fk.maps[i].off == off && fk.maps[i].len == len) {
			close(fk.maps[i].fd);
			fk.maps[i] = fk.maps[--fk.n];
			fake_hole(off, len);
			return 0;
		}
	}
	fk.bad_unmaps++;
	return -EIO;
}

static uint64_t fake_size(void *opaque)
{
	return fk.size;
}

/* The frontend's device reset: it drops every map itself. */
static void fake_reset(void)
{
	while (fk.n > 0) {
		struct fake_map *m = &fk.maps[--fk.n];

		close(m->fd);
		fake_hole(m->off, m->len);
	}
}

static const struct dax_mapper mapper = {fake_map, fake_unmap, fake_size};

/* A temporary file of `size` bytes, byte i = i * 7 + seed. */
static int make_file(size_t size, unsigned seed)
{
	char path[] = "/tmp/vfsd-dax-XXXXXX";
	int fd = mkstemp(path);
	uint8_t *buf = malloc(size + 1);

	CHECK(fd >= 0 && buf);
	unlink(path);
	for (size_t i = 0; i < size; i++)
		buf[i] = (uint8_t)(i * 7 + seed);
	CHECK_EQ(pwrite(fd, buf, size, 0), (ssize_t)size);
	free(buf);
	return fd;
}

static off_t fsize(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? st.st_size : -1;
}

/* The window at off shows the file's bytes [foff, foff + n), then zeros up to `to`. */
static bool window_shows(int fd, uint64_t off, uint64_t foff, size_t n, size_t to)
{
	uint8_t *want = calloc(1, to);
	bool ok;

	CHECK_EQ(pread(fd, want, n, (off_t)foff), (ssize_t)n);
	ok = memcmp(fk.win + off, want, to) == 0;
	free(want);
	return ok;
}

static void test_validation(struct dax_window *w)
{
	int fd = make_file(3 * 4096, 1);

	fk.size = 0;
	CHECK_EQ(dax_setup(w, 1, fd, 3 * 4096, 0, CHUNK, 0, false), -ENOSYS);
	fk.size = WINDOW;
	CHECK_EQ(dax_setup(w, 1, fd, 3 * 4096, 0, 0, 0, false), -EINVAL);
	CHECK_EQ(dax_setup(w, 1, fd, 3 * 4096, 1, CHUNK, 0, false), -EINVAL);
	CHECK_EQ(dax_setup(w, 1, fd, 3 * 4096, 0, CHUNK, 100, false), -EINVAL);
	CHECK_EQ(dax_setup(w, 1, fd, 3 * 4096, 0, CHUNK + 1, 0, false), -EINVAL);
	CHECK_EQ(dax_setup(w, 1, fd, 3 * 4096, 0, CHUNK, WINDOW - 4096, false), -EINVAL);
	CHECK_EQ(dax_setup(w, 1, fd, 3 * 4096, 0, UINT64_MAX - 4095, 4096, false), -EINVAL);
	CHECK_EQ(dax_setup(w, 1, fd, 3 * 4096, UINT64_MAX - 4095, CHUNK, 0, false), -EINVAL);
	CHECK_EQ(dax_setup(w, 1, fd, 3 * 4096, 0, 2 * WINDOW, 0, false), -EINVAL);
	CHECK_EQ(fk.n, 0);
	CHECK_EQ(dax_remove(w, 0, CHUNK), -EINVAL);
	close(fd);
}

static void test_whole_pages(struct dax_window *w)
{
	int fd = make_file(3 * 4096, 2);

	CHECK_EQ(dax_setup(w, 1, fd, 3 * 4096, 0, CHUNK, CHUNK, false), 0);
	CHECK_EQ(fk.n, 1);
	CHECK_EQ(fk.maps[0].len, 3 * 4096);
	CHECK(window_shows(fd, CHUNK, 0, 3 * 4096, 3 * 4096));
	CHECK(dax_has_maps(w, 1));
	CHECK(!dax_has_maps(w, 2));
	/* The writable upgrade over the same range: unmapped first, never overlapping. */
	CHECK_EQ(dax_setup(w, 1, fd, 3 * 4096, 0, CHUNK, CHUNK, true), 0);
	CHECK_EQ(fk.n, 1);
	CHECK(fk.maps[0].writable);
	fk.win[CHUNK + 5] = 'X';
	{
		char c = 0;

		CHECK_EQ(pread(fd, &c, 1, 5), 1);
		CHECK_EQ(c, 'X');
	}
	CHECK_EQ(dax_remove(w, CHUNK, CHUNK / 2), -EINVAL);
	CHECK_EQ(dax_remove(w, CHUNK, CHUNK), 0);
	CHECK_EQ(fk.n, 0);
	CHECK_EQ(fk.overlaps + fk.bad_unmaps, 0);
	close(fd);
}

static void test_tail(struct dax_window *w)
{
	int small = make_file(33, 3), mid = make_file(12388, 4), empty = make_file(0, 0);

	CHECK_EQ(dax_setup(w, 3, small, 33, 0, CHUNK, 0, false), 0);
	CHECK_EQ(fk.n, 1); /* only the tail copy */
	CHECK(window_shows(small, 0, 0, 33, 4096));
	CHECK_EQ(dax_setup(w, 4, mid, 12388, 0, CHUNK, CHUNK, false), 0);
	CHECK_EQ(fk.n, 3); /* 3 file pages + tail */
	CHECK(window_shows(mid, CHUNK, 0, 12388, 4 * 4096));
	/* A host change in the tail reaches the copy when the file is known to change. */
	CHECK_EQ(pwrite(mid, "TAIL", 4, 12300), 4);
	dax_changed(w, 4, 12388);
	CHECK(memcmp(fk.win + CHUNK + 12300, "TAIL", 4) == 0);
	/* A writable map: the guest's writes to the tail copy reach the file at dax_sync(), and
	 * only the bytes it changed (the host's own change next to them survives). */
	CHECK_EQ(dax_setup(w, 4, mid, 12388, 0, CHUNK, CHUNK, true), 0);
	memcpy(fk.win + CHUNK + 12290, "guest", 5);
	CHECK_EQ(pwrite(mid, "host", 4, 12380), 4);
	dax_sync(w, 4);
	{
		char buf[8] = {0};

		CHECK_EQ(pread(mid, buf, 5, 12290), 5);
		CHECK(memcmp(buf, "guest", 5) == 0);
		CHECK_EQ(pread(mid, buf, 4, 12380), 4);
		CHECK(memcmp(buf, "host", 4) == 0);
	}
	CHECK_EQ(fsize(mid), 12388);
	/* Written back as well when the map goes (here: the file grows to whole pages). */
	memcpy(fk.win + CHUNK + 12300, "again", 5);
	CHECK_EQ(ftruncate(mid, 4 * 4096), 0);
	dax_changed(w, 4, 4 * 4096);
	{
		char buf[8] = {0};

		CHECK_EQ(pread(mid, buf, 5, 12300), 5);
		CHECK(memcmp(buf, "again", 5) == 0);
	}
	CHECK(window_shows(mid, CHUNK, 0, 4 * 4096, 4 * 4096));
	/* An empty file is never handed to the frontend (QEMU would extend it). */
	CHECK_EQ(dax_setup(w, 5, empty, 0, 0, CHUNK, 2 * CHUNK, false), 0);
	CHECK_EQ(fk.empty_files, 0);
	CHECK_EQ(fsize(empty), 0);
	dax_unmap_all(w);
	CHECK_EQ(fk.n, 0);
	CHECK_EQ(fk.overlaps + fk.bad_unmaps + fk.past_eof, 0);
	close(small);
	close(mid);
	close(empty);
}

static void test_resize(struct dax_window *w)
{
	int fd = make_file(8192, 5);
	struct dax_stats st;

	CHECK_EQ(dax_setup(w, 6, fd, 8192, 0, CHUNK, 0, false), 0);
	CHECK_EQ(fk.n, 1);
	/* Appends: a tail copy, then whole pages again. */
	CHECK_EQ(pwrite(fd, "appended", 8, 8192), 8);
	dax_changed(w, 6, 8200);
	CHECK(window_shows(fd, 0, 0, 8200, 3 * 4096));
	CHECK_EQ(ftruncate(fd, 5 * 4096 + 10), 0);
	CHECK_EQ(pwrite(fd, "more", 4, 5 * 4096), 4);
	dax_changed(w, 6, 5 * 4096 + 10);
	CHECK(window_shows(fd, 0, 0, 5 * 4096 + 10, 6 * 4096));
	/* Shrinking: announced before the truncate, nothing maps past the new end. */
	dax_changed(w, 6, 4096);
	CHECK_EQ(ftruncate(fd, 4096), 0);
	for (unsigned i = 0; i < fk.n; i++)
		CHECK(fk.maps[i].off + fk.maps[i].len <= 4096);
	CHECK(window_shows(fd, 0, 0, 4096, 4096));
	/* Growth of a whole-page file past 8 pieces is coalesced into one map. */
	for (unsigned i = 2; i < 14; i++) {
		CHECK_EQ(ftruncate(fd, (off_t)i * 4096), 0);
		dax_changed(w, 6, i * 4096);
	}
	CHECK(fk.n <= 8);
	CHECK(window_shows(fd, 0, 0, 13 * 4096, 13 * 4096));
	CHECK_EQ(fk.past_eof, 0);
	CHECK_EQ(dax_remove(w, 0, CHUNK), 0);
	CHECK_EQ(fk.n, 0);
	dax_get_stats(w, &st);
	CHECK_EQ(st.live, 0);
	CHECK_EQ(fk.overlaps + fk.bad_unmaps + fk.past_eof, 0);
	close(fd);
}

static void test_limits_and_reset(struct dax_window *w)
{
	int fd = make_file(4096, 6);
	struct dax_stats st;
	unsigned i;

	fk.size = 4u << 20; /* 1024 pages */
	for (i = 0; i < DAX_MAX_MAPS; i++)
		CHECK_EQ(dax_setup(w, 7, fd, 4096, 0, 4096, (uint64_t)i * 4096, false), 0);
	CHECK_EQ(dax_setup(w, 7, fd, 4096, 0, 4096, (uint64_t)i * 4096, false), -ENOSPC);
	CHECK_EQ(fk.n, DAX_MAX_MAPS);
	/* Device reset: the frontend dropped them; the table forgets without unmapping. */
	fake_reset();
	dax_forget_all(w);
	dax_get_stats(w, &st);
	CHECK_EQ(st.live, 0);
	CHECK_EQ(dax_setup(w, 7, fd, 4096, 0, 4096, 0, false), 0);
	CHECK_EQ(fk.n, 1);
	/* A new session (INIT): every map is removed through the frontend. */
	dax_unmap_all(w);
	CHECK_EQ(fk.n, 0);
	CHECK_EQ(fk.overlaps + fk.bad_unmaps, 0);
	fk.size = WINDOW;
	close(fd);
}

int main(void)
{
	struct dax_window *w = NULL;

	fk.win = mmap(NULL, WINDOW, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(fk.win != MAP_FAILED);
	fk.size = WINDOW;
	CHECK_EQ(dax_window_new(&mapper, NULL, &w), 0);
	test_validation(w);
	test_whole_pages(w);
	test_tail(w);
	test_resize(w);
	test_limits_and_reset(w);
	dax_window_free(w);
	return check_report("dax");
}
