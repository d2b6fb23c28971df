/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Dirty logging as QEMU drives it at migration (docs/migration.md): the log is a memfd shared
 * with the daemon, one bit per 4 KiB guest page; logging is switched by LOG_ALL in
 * SET_FEATURES and, per ring, by VHOST_VRING_F_LOG in a re-sent SET_VRING_ADDR.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fe_internal.h"
#include "util/macros.h"

size_t fe_log_size_needed(const struct fe *fe)
{
	uint64_t end = 0;

	for (unsigned i = 0; i < fe->nregions; i++)
		end = MAX(end, fe->regions[i].gpa + fe->regions[i].size);
	return (size_t)((end + 4096 * 8 - 1) / (4096 * 8));
}

int fe_log_set_base(struct fe *fe, int fd, uint64_t size, uint64_t offset)
{
	uint64_t p[2] = {size, offset};

	return fe_vhu_call(fe, VHU_SET_LOG_BASE, p, sizeof(p), fd >= 0 ? &fd : NULL, fd >= 0, NULL);
}

/* SET_VRING_ADDR again, with or without the log flag (QEMU's vhost_dev_set_log). */
static int vring_log(struct fe *fe, bool on)
{
	for (unsigned i = 0; i < fe->nqueues; i++) {
		struct fe_vq *vq = &fe->vq[i];
		struct vhu_vring_addr a = {
			.index = i,
			.flags = on ? VHU_VRING_F_LOG : 0,
			.desc_user_addr = (uint64_t)(uintptr_t)vq->desc,
			.used_user_addr = (uint64_t)(uintptr_t)vq->used,
			.avail_user_addr = (uint64_t)(uintptr_t)vq->avail,
			.log_guest_addr = vq->used_gpa,
		};
		int r = fe_vhu_call(fe, VHU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0, NULL);

		if (r < 0)
			return r;
	}
	return 0;
}

static int set_features(struct fe *fe, uint64_t f)
{
	int r = fe_vhu_call(fe, VHU_SET_FEATURES, &f, sizeof(f), NULL, 0, NULL);

	if (r == 0)
		fe->features = f;
	return r;
}

int fe_log_start(struct fe *fe, size_t size)
{
	_cleanup_close_ int fd = -1;
	int r;

	if (!size)
		size = fe_log_size_needed(fe);
	if (fe->log)
		munmap(fe->log, fe->log_size);
	fe->log = NULL;
	fd = memfd_create("vfsd-test-log", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0)
		return -errno;
	fe->log = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (fe->log == MAP_FAILED) {
		fe->log = NULL;
		return -errno;
	}
	fe->log_size = size;
	if ((r = fe_log_set_base(fe, fd, size, 0)) < 0 ||
	    (r = set_features(fe, fe->features | 1ull << VHU_F_LOG_ALL)) < 0)
		return r;
	return vring_log(fe, true);
}

int fe_log_stop(struct fe *fe)
{
	int r = set_features(fe, fe->features & ~(1ull << VHU_F_LOG_ALL));

	return r < 0 ? r : vring_log(fe, false);
}

const volatile uint8_t *fe_log_bitmap(const struct fe *fe, size_t *ret_size)
{
	*ret_size = fe->log_size;
	return fe->log;
}

void fe_log_clear(struct fe *fe)
{
	if (fe->log)
		memset(fe->log, 0, fe->log_size);
}

uint64_t fe_vq_used_gpa(const struct fe *fe, unsigned queue)
{
	return fe->vq[queue].used_gpa;
}

uint16_t fe_vq_num(const struct fe *fe, unsigned queue)
{
	return (uint16_t)fe->vq[queue].num;
}
