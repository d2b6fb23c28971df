// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Host fds the guest makes us hold: the budget they are charged to; and the name check every
 * *at() call relies on.
 */
#include <errno.h>
#include <string.h>

#include "fs/passthrough/pt.h"
#include "util/log.h"

/* Defence in depth: fuse/ already rejects these, but every *at() call here must stay
 * confined even if a future caller forgets (the Kata FUSE_SYMLINK escape). */
int pt_check_name(const char *name)
{
	if (!name || !name[0] || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	if (strlen(name) > 255)
		return -ENAMETOOLONG;
	return 0;
}

int pt_fd_charge(struct fs_state *fs)
{
	unsigned long used = atomic_fetch_add(&fs->fds_used, 1);

	if (used >= fs->fds_max) {
		atomic_fetch_sub(&fs->fds_used, 1);
		log_ratelimited(LOG_LEVEL_WARN, "passthrough: guest fd budget (%lu) exhausted",
				fs->fds_max);
		return -ENFILE;
	}
	return 0;
}

void pt_fd_uncharge(struct fs_state *fs)
{
	atomic_fetch_sub(&fs->fds_used, 1);
}
