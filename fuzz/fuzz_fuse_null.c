// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The FUSE server (fuse/) over a backend with no ops at all: request framing, INIT, extension
 * headers and the core's checks, with every op that needs a backend call answered ENOSYS by
 * the server's dispatch before its handler runs (fuzz_fuse_fake decodes every op's arguments).
 * See fuse_common.h for the input format.
 */
#include "fuse_common.h"
#include "fuzz_input.h"
#include "util/log.h"

static const struct fs_ops null_ops;
static const struct fs_backend null_backend = {.ops = &null_ops};
/* One server per configuration the mode byte can select. */
static struct fuse_server *servers[8];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t mode = fz_fuse_mode(data, size);
	unsigned cfg = (mode & (FZF_XATTR_OFF | FZF_NO_LOCKS)) >> 1;

	log_set_level(LOG_LEVEL_OFF);
	if (!servers[cfg]) {
		servers[cfg] = fz_fuse_server(&null_backend, mode);
		if (!servers[cfg])
			abort();
	}
	fz_fuse_run(servers[cfg], data, size);
	return 0;
}
