/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vhost-user wire format (QEMU docs/interop/vhost-user.rst). Not in the kernel uapi, so written
 * here from the specification. All fields are little-endian on the wire; like every vhost-user
 * implementation we assume a little-endian host (checked at compile time).
 */
#ifndef VFSD_TRANSPORT_VHU_PROTO_H
#define VFSD_TRANSPORT_VHU_PROTO_H

#include <stdint.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "vhost-user messages are host-endian on a little-endian wire: big-endian unsupported"
#endif

enum vhu_request {
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
	VHU_REQUEST_MAX = 45, /* size of the handler table */
};

/* Requests we send on the backend channel (SET_BACKEND_REQ_FD). */
enum vhu_backend_request {
	VHU_BACKEND_SHMEM_MAP = 9,
	VHU_BACKEND_SHMEM_UNMAP = 10,
};

#define VHU_FLAG_VERSION      0x1u
#define VHU_FLAG_VERSION_MASK 0x3u
#define VHU_FLAG_REPLY	      (1u << 2)
#define VHU_FLAG_NEED_REPLY   (1u << 3)

/* Virtio feature bits we offer. */
#define VHU_F_LOG_ALL		26 /* VHOST_F_LOG_ALL: dirty logging (migration) */
#define VHU_F_INDIRECT_DESC	28
#define VHU_F_EVENT_IDX		29
#define VHU_F_PROTOCOL_FEATURES 30
#define VHU_F_VERSION_1		32

/* Protocol feature bits we offer. CONFIG only with a tag (QEMU 7.1-8.0 crash on it for
 * vhost-user-fs-pci), SHMEM only with a DAX window as well. SHMEM is bit 22 in the spec and in
 * QEMU 11.1 (early drafts of the series said 20). */
#define VHU_PROTOCOL_F_MQ		   0
#define VHU_PROTOCOL_F_LOG_SHMFD	   1
#define VHU_PROTOCOL_F_REPLY_ACK	   3
#define VHU_PROTOCOL_F_BACKEND_REQ	   5
#define VHU_PROTOCOL_F_CONFIG		   9
#define VHU_PROTOCOL_F_BACKEND_SEND_FD	   10
#define VHU_PROTOCOL_F_RESET_DEVICE	   13
#define VHU_PROTOCOL_F_CONFIGURE_MEM_SLOTS 15
#define VHU_PROTOCOL_F_DEVICE_STATE	   19
#define VHU_PROTOCOL_F_SHMEM		   22

/* SET_VRING_KICK/CALL/ERR payload: queue index, and a flag for "no fd". */
#define VHU_VRING_IDX_MASK  0xffu
#define VHU_VRING_NOFD_MASK (1u << 8)

#define VHU_MAX_FDS	    8
#define VHU_MAX_MEM_TABLE   8 /* regions in SET_MEM_TABLE */
#define VHU_MAX_PAYLOAD	    4096
#define VHU_MAX_CONFIG_SIZE 256

struct vhu_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
} __attribute__((packed));

struct vhu_vring_state {
	uint32_t index;
	uint32_t num;
};

/* SET_VRING_ADDR flags: log used-ring writes at log_guest_addr (VHOST_VRING_F_LOG). */
#define VHU_VRING_F_LOG (1u << 0)

struct vhu_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc_user_addr;
	uint64_t used_user_addr;
	uint64_t avail_user_addr;
	uint64_t log_guest_addr;
};

struct vhu_mem_region {
	uint64_t guest_addr;
	uint64_t size;
	uint64_t user_addr;
	uint64_t mmap_offset;
};

struct vhu_mem_table {
	uint32_t nregions;
	uint32_t padding;
	struct vhu_mem_region regions[VHU_MAX_MEM_TABLE];
};

struct vhu_mem_single {
	uint64_t padding;
	struct vhu_mem_region region;
};

struct vhu_config_hdr {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
};

/* SHMEM_MAP / SHMEM_UNMAP payload (the "MMAP request"). */
#define VHU_SHMEM_MAP_RW (1ull << 0)
struct vhu_shmem_map {
	uint8_t shmid;
	uint8_t padding[7];
	uint64_t fd_offset;
	uint64_t shm_offset;
	uint64_t len;
	uint64_t flags;
};

/* SET_DEVICE_STATE_FD payload; the reply's bit 8 says no fd comes back (we never send one). */
#define VHU_STATE_SAVE		0u
#define VHU_STATE_LOAD		1u
#define VHU_STATE_PHASE_STOPPED 0u
#define VHU_STATE_REPLY_NOFD	(1ull << 8)
struct vhu_device_state {
	uint32_t direction;
	uint32_t phase;
};

/* GET_SHMEM_CONFIG reply: one size per shared memory region id. */
#define VHU_MAX_SHMEM_REGIONS 256
struct vhu_shmem_config {
	uint32_t nregions;
	uint32_t padding;
	uint64_t memory_sizes[VHU_MAX_SHMEM_REGIONS];
};

_Static_assert(sizeof(struct vhu_shmem_map) == 40, "mmap request");
_Static_assert(sizeof(struct vhu_shmem_config) == 2056, "shmem config");
_Static_assert(sizeof(struct vhu_hdr) == 12, "vhost-user header");
_Static_assert(sizeof(struct vhu_vring_addr) == 40, "vring address");
_Static_assert(sizeof(struct vhu_mem_table) == 8 + 8 * 32, "memory table");
_Static_assert(sizeof(struct vhu_mem_single) == 40, "single region");

#endif
