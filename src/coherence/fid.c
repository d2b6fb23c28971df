/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>

#include "coherence/fid.h"

/* Linux 6.5 uapi (include/uapi/linux/fcntl.h); bookworm's headers predate it. */
#ifndef AT_HANDLE_FID
#define AT_HANDLE_FID 0x200
#endif

/* Cleared for good the first time the kernel rejects AT_HANDLE_FID (before 6.5). */
static bool handle_fid_works = true;

static int fid_get(int dirfd, const char *name, int flags, struct vt_fid *ret)
{
	union {
		struct file_handle fh;
		unsigned char raw[sizeof(struct file_handle) + VT_FID_MAX];
	} h;
	int mount_id;

	for (;;) {
		int fid_flag =
			__atomic_load_n(&handle_fid_works, __ATOMIC_RELAXED) ? AT_HANDLE_FID : 0;

		h.fh.handle_bytes = VT_FID_MAX;
		if (name_to_handle_at(dirfd, name, &h.fh, &mount_id, flags | fid_flag) == 0)
			break;
		if (errno == EINVAL && fid_flag) {
			__atomic_store_n(&handle_fid_works, false, __ATOMIC_RELAXED);
			continue;
		}
		return -errno;
	}
	if (h.fh.handle_bytes > VT_FID_MAX)
		return -EOVERFLOW;
	ret->type = h.fh.handle_type;
	ret->len = h.fh.handle_bytes;
	memcpy(ret->bytes, h.fh.f_handle, h.fh.handle_bytes);
	return 0;
}

int vt_fid_of_fd(int fd, struct vt_fid *ret)
{
	return fid_get(fd, "", AT_EMPTY_PATH, ret);
}

int vt_fid_at(int dirfd, const char *name, struct vt_fid *ret)
{
	return fid_get(dirfd, name, 0, ret);
}
