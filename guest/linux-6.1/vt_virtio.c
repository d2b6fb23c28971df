// SPDX-License-Identifier: GPL-2.0
/*
 * vfsd version table, guest side: the virtio-fs device's part (vt.h). Part of virtiofs.ko.
 *
 * Shared memory region VFSD_VT_SHMID of the device holds the table. It is mapped once per
 * device; its header is only checked when the daemon acks the INIT flag (vt.c), because the
 * daemon maps the guest's mirror into the region at FUSE_INIT, after the device was probed.
 *
 * memremap(), not devm_memremap(): a mounted connection can outlive the driver's binding (the
 * device is removed while mounted), so the mapping lives as long as struct virtio_fs does.
 */
#include <linux/io.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>

#include "vt.h"

void fuse_vt_region_map(struct virtio_device *vdev, struct fuse_vt_region *r)
{
	struct virtio_shm_region reg;
	void *base;

	r->base = NULL;
	r->len = 0;
	if (!virtio_get_shm_region(vdev, &reg, (u8)VFSD_VT_SHMID))
		return;
	if (reg.len < VFSD_VT_HDR_SIZE + sizeof(u64)) {
		dev_warn(&vdev->dev, "vfsd version table region too small (0x%llx bytes)\n",
			 reg.len);
		return;
	}
	base = memremap(reg.addr, reg.len, MEMREMAP_WB);
	if (!base) {
		dev_warn(&vdev->dev, "cannot map the vfsd version table region\n");
		return;
	}
	r->base = base;
	r->len = reg.len;
	dev_info(&vdev->dev, "vfsd version table region: 0x%llx bytes at 0x%llx\n", reg.len,
		 reg.addr);
}

void fuse_vt_region_unmap(struct fuse_vt_region *r)
{
	if (r->base)
		memunmap(r->base);
	r->base = NULL;
	r->len = 0;
}
