// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The migration state loader (docs/migration.md): fuse/state.c and fs/passthrough/op_migrate.c,
 * through fuse_server_state_load(), over a temporary share. A state that loads must also save
 * and load again unchanged in size (a destination can be migrated on), and the loaded session
 * must answer a GETATTR of every node id 1..8 without crashing. Every input starts from a
 * session-less server (fuse_server_reset).
 *
 * Input: a mode byte (bit 0: --migration-on-error=guest-error, bit 1:
 * --migration-mode=file-handles), then the state.
 */
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/passthrough/passthrough.h"
#include "fuse/fuse_server.h"
#include "fuzz_input.h"
#include "util/log.h"

static char share[64];
static struct fs_backend backends[4];
static struct fuse_server *servers[4];

static void complete(void *cookie, size_t written)
{
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (flag == FTW_DP)
		(void)rmdir(path);
	else
		(void)unlink(path);
	return 0;
}

static void cleanup(void)
{
	for (unsigned i = 0; i < 4; i++) {
		fuse_server_free(servers[i]);
		pt_free(&backends[i]);
	}
	(void)nftw(share, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

/* The share the seeds name: d/, d/g, f, l -> f, and an escaping symlink d/out. */
static void setup_once(void)
{
	const char *tmp = getenv("TMPDIR");
	char real[PATH_MAX];
	int fd;

	log_set_level(LOG_LEVEL_OFF);
	snprintf(share, sizeof(share), "%s/vfsd-fuzz-state.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	FZ_CHECK(mkdtemp(share));
	fd = open(share, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	FZ_CHECK(fd >= 0);
	FZ_CHECK(mkdirat(fd, "d", 0755) == 0);
	FZ_CHECK(close(openat(fd, "f", O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) == 0);
	FZ_CHECK(close(openat(fd, "d/g", O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) == 0);
	FZ_CHECK(symlinkat("f", fd, "l") == 0);
	FZ_CHECK(symlinkat("../../../etc/passwd", fd, "d/out") == 0);
	close(fd);
	FZ_CHECK(realpath(share, real));
	for (unsigned i = 0; i < 4; i++) {
		struct pt_config cfg = {
			.shared_dir = real,
			.xattr = true,
			.max_guest_fds = 256,
			.proc_self_fd = -1,
			.migration_guest_error = i & 1,
			.migration_file_handles = i & 2,
		};
		struct fuse_server_config fcfg;

		FZ_CHECK(pt_new(&cfg, &backends[i]) == 0);
		fuse_server_config_default(&fcfg);
		fcfg.xattr = true;
		servers[i] = fuse_server_new(&backends[i], &fcfg, complete);
		FZ_CHECK(servers[i]);
	}
	atexit(cleanup);
}

static void getattr_all(struct fuse_server *srv)
{
	for (uint64_t id = 1; id <= 8; id++) {
		struct {
			struct fuse_in_header h;
			struct fuse_getattr_in a;
		} req = {.h = {.len = sizeof(req),
			       .opcode = FUSE_GETATTR,
			       .unique = id,
			       .nodeid = id}};
		char out[256];
		struct iovec in = {&req, sizeof(req)}, o = {out, sizeof(out)};
		size_t written = 0;

		(void)fuse_server_handle(srv, &in, 1, &o, 1, NULL, &written);
		FZ_CHECK(written <= sizeof(out));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuse_server *srv;
	void *again = NULL;
	size_t len = 0;

	if (!share[0])
		setup_once();
	if (size == 0)
		return 0;
	srv = servers[data[0] & 3];
	if (fuse_server_state_load(srv, data + 1, size - 1) == 0) {
		getattr_all(srv);
		FZ_CHECK(fuse_server_state_save(srv, &again, &len) == 0);
		fuse_server_reset(srv);
		/* Broken nodes save without path or handle: they cannot load again under
		 * abort, so the round trip uses the same server (same policy). */
		FZ_CHECK(fuse_server_state_load(srv, again, len) == 0);
		free(again);
	}
	fuse_server_reset(srv);
	return 0;
}
