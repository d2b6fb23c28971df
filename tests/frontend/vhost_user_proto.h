/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vhost-user wire format as the frontend sends it (not in the uapi headers). Written from the
 * vhost-user specification: a 12-byte header {request, flags, size} then the payload; fds travel
 * as SCM_RIGHTS with the header.
 */
#ifndef VFSD_TESTS_VHOST_USER_PROTO_H
#define VFSD_TESTS_VHOST_USER_PROTO_H

#include <stdint.h>

enum {
	VHU_GET_FEATURES = 1,
	VHU_SET_FEATURES = 2,
	VHU_SET_OWNER = 3,
	VHU_RESET_OWNER = 4,
	VHU_SET_MEM_TABLE = 5,
	VHU_SET_LOG_BASE = 6,
	VHU_SET_LOG_FD = 7,
	VHU_SET_VRING_NUM = 8,
	VHU_SET_VRING_ADDR = 9,
	VHU_SET_VRING_BASE = 10,
	VHU_GET_VRING_BASE = 11,
	VHU_SET_VRING_KICK = 12,
	VHU_SET_VRING_CALL = 13,
	VHU_SET_VRING_ERR = 14,
	VHU_GET_PROTOCOL_FEATURES = 15,
	VHU_SET_PROTOCOL_FEATURES = 16,
	VHU_GET_QUEUE_NUM = 17,
	VHU_SET_VRING_ENABLE = 18,
	VHU_SET_BACKEND_REQ_FD = 21,
	VHU_GET_CONFIG = 24,
	VHU_SET_CONFIG = 25,
	VHU_RESET_DEVICE = 34,
	VHU_GET_MAX_MEM_SLOTS = 36,
	VHU_ADD_MEM_REG = 37,
	VHU_REM_MEM_REG = 38,
	VHU_SET_DEVICE_STATE_FD = 42,
	VHU_CHECK_DEVICE_STATE = 43,
	VHU_GET_SHMEM_CONFIG = 44,
};

/* Requests the backend sends on the backend channel (SET_BACKEND_REQ_FD). */
enum {
	VHU_BACKEND_SHMEM_MAP = 9,
	VHU_BACKEND_SHMEM_UNMAP = 10,
};

#define VHU_VERSION	    0x1u
#define VHU_FLAG_REPLY	    (1u << 2)
#define VHU_FLAG_NEED_REPLY (1u << 3)
#define VHU_MAX_FDS	    8
#define VHU_MAX_REGIONS	    8
#define VHU_VRING_NOFD	    (1ull << 8)
#define VHU_VRING_IDX_MASK  0xffull

#define VHU_F_LOG_ALL		26
#define VHU_F_PROTOCOL_FEATURES 30
#define VHU_VRING_F_LOG		(1u << 0)

enum {
	VHU_PROTO_MQ = 0,
	VHU_PROTO_LOG_SHMFD = 1,
	VHU_PROTO_REPLY_ACK = 3,
	VHU_PROTO_BACKEND_REQ = 5,
	VHU_PROTO_CONFIG = 9,
	VHU_PROTO_BACKEND_SEND_FD = 10,
	VHU_PROTO_RESET_DEVICE = 13,
	VHU_PROTO_CONFIGURE_MEM_SLOTS = 15,
	VHU_PROTO_DEVICE_STATE = 19,
	VHU_PROTO_SHMEM = 22, /* 20 in early drafts of the series; 22 in the spec and QEMU 11.1 */
};

struct vhu_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
} __attribute__((packed));

struct vhu_vring_state {
	uint32_t index;
	uint32_t num;
};

struct vhu_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc_user_addr;
	uint64_t used_user_addr;
	uint64_t avail_user_addr;
	uint64_t log_guest_addr;
};

struct vhu_mem_region {
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t mmap_offset;
};

struct vhu_mem_table {
	uint32_t nregions;
	uint32_t padding;
	struct vhu_mem_region regions[VHU_MAX_REGIONS];
};

struct vhu_mem_reg_one {
	uint64_t padding;
	struct vhu_mem_region region;
};

/* GET_CONFIG / SET_CONFIG payload header; `size` bytes of config space follow. */
struct vhu_config_hdr {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
};

/* SHMEM_MAP / SHMEM_UNMAP payload (the spec's "MMAP request"). */
#define VHU_SHMEM_MAP_RW (1ull << 0)
struct vhu_shmem_map {
	uint8_t shmid;
	uint8_t padding[7];
	uint64_t fd_offset; /* ignored by UNMAP */
	uint64_t shm_offset;
	uint64_t len;
	uint64_t flags;
};

/* GET_SHMEM_CONFIG reply: a size per shared memory region id (virtio-fs: 0 = cache). */
#define VHU_MAX_SHMEM_REGIONS 256
struct vhu_shmem_config {
	uint32_t nregions;
	uint32_t padding;
	uint64_t memory_sizes[VHU_MAX_SHMEM_REGIONS];
};

_Static_assert(sizeof(struct vhu_shmem_map) == 40, "MMAP request");
_Static_assert(sizeof(struct vhu_shmem_config) == 2056, "shared memory config");

#endif
