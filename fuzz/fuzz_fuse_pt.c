// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The FUSE server over the passthrough backend, serving a temporary directory created once per
 * process. Requests run as root (uid/gid forced to 0 unless the record says to keep the
 * guest's), so they get past permission checks and reach the backend's own validation.
 *
 * The share lives in /dev/shm when it can (else $TMPDIR or /tmp).
 *
 * Every input starts from the same state: the session is reset after it (fuse_server_reset:
 * the inode and handle tables are emptied) and the share's contents are rebuilt. Files are
 * capped at 1 MiB (RLIMIT_FSIZE, SIGXFSZ ignored) so a WRITE or FALLOCATE at a large offset
 * cannot fill the disk. See fuse_common.h for the input format.
 *
 * The backend has a version table (docs/coherence.md) whose mirror the fake frontend "maps",
 * so inputs whose INIT offers VFSD_VT_INIT_FLAG run versioned sessions.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fs/passthrough/passthrough.h"
#include "fuse_common.h"
#include "fuzz_input.h"
#include "util/log.h"

static char share[64];
static int share_fd = -1;
static struct fs_backend backend;
static struct fuse_server *servers[8];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (ftw->level == 0)
		return 0; /* the share itself stays: the backend holds it open */
	if (flag == FTW_DP)
		(void)rmdir(path);
	else
		(void)unlink(path);
	return 0;
}

static void write_file(const char *name, size_t len)
{
	int fd = openat(share_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	char buf[512];

	FZ_CHECK(fd >= 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)('a' + i % 26);
	for (size_t done = 0; done < len; done += sizeof(buf))
		FZ_CHECK(write(fd, buf, MIN(sizeof(buf), len - done)) > 0);
	close(fd);
}

/* The share's contents, as every input finds them. */
static void populate(void)
{
	char list[1024];
	ssize_t n;

	(void)nftw(share, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	/* Undo what the last input did to the share root itself. */
	FZ_CHECK(fchmod(share_fd, 0755) == 0);
	if (geteuid() == 0)
		FZ_CHECK(fchown(share_fd, 0, 0) == 0);
	n = flistxattr(share_fd, list, sizeof(list));
	for (ssize_t off = 0; n > 0 && off < n; off += (ssize_t)strlen(list + off) + 1)
		(void)fremovexattr(share_fd, list + off);

	FZ_CHECK(mkdirat(share_fd, "d", 0755) == 0);
	FZ_CHECK(mkdirat(share_fd, "e", 0700) == 0);
	write_file("f", 8192);
	write_file("d/g", 100);
	write_file("empty", 0);
	FZ_CHECK(symlinkat("f", share_fd, "l") == 0);
	FZ_CHECK(symlinkat("../../../etc/passwd", share_fd, "d/out") == 0);
	FZ_CHECK(linkat(share_fd, "f", share_fd, "d/hard", 0) == 0);
	(void)fsetxattr(share_fd, "user.k", "v", 1, 0);
	if (geteuid() == 0)
		FZ_CHECK(fchownat(share_fd, "e", 1000, 1000, AT_SYMLINK_NOFOLLOW) == 0);
}

/*
 * A DAX window whose frontend accepts every map and unmap without mapping anything: what is
 * fuzzed is the guest-facing part (validation, the table, clamping, tail copies, size-change
 * hooks), not the VMM.
 */
static int fake_map(void *opaque, uint64_t off, uint64_t len, int fd, uint64_t file_off,
		    bool writable)
{
	return 0;
}

static int fake_unmap(void *opaque, uint64_t off, uint64_t len)
{
	return 0;
}

static uint64_t fake_window_size(void *opaque)
{
	return 8u << 20;
}

static const struct dax_mapper fake_mapper = {fake_map, fake_unmap, fake_window_size};
static struct dax_window *window;

static int fake_attach(void *opaque, int fd, uint64_t offset, uint64_t len)
{
	return 0;
}

static struct vt_table *table;
static char table_dir[PATH_MAX];

static struct xattrmap *xmap;

static void cleanup(void)
{
	if (share_fd < 0)
		return;
	for (unsigned i = 0; i < ARRAY_SIZE(servers); i++)
		fuse_server_free(servers[i]);
	pt_free(&backend);
	xattrmap_free(xmap);
	dax_window_free(window);
	vt_close(table);
	if (table_dir[0]) {
		char path[PATH_MAX + 8];

		snprintf(path, sizeof(path), "%s/table", table_dir);
		(void)unlink(path);
		(void)rmdir(table_dir);
	}
	(void)nftw(share, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	close(share_fd);
	(void)rmdir(share);
}

static void setup_once(void)
{
	const char *tmp = getenv("TMPDIR");
	char real[PATH_MAX];
	struct stat st;
	struct rlimit fsize = {1u << 20, 1u << 20};
	struct pt_config cfg = {
		.cache = PT_CACHE_AUTO,
		.xattr = true,
		.posix_acl = true,
		.security_label = true,
		.writeback = true,
		.max_guest_fds = 256,
		.proc_self_fd = -1,
	};

	log_set_level(LOG_LEVEL_OFF);
	signal(SIGXFSZ, SIG_IGN);
	/* tmpfs if there is one: FSYNC and SYNCFS then cost nothing. */
	if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0)
		tmp = "/dev/shm";
	snprintf(share, sizeof(share), "%s/vfsd-fuzz-pt.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	FZ_CHECK(mkdtemp(share));
	share_fd = open(share, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	FZ_CHECK(share_fd >= 0);
	FZ_CHECK(realpath(share, real));
	cfg.shared_dir = real;
	/* Labels and security.* names go through the mapping libvirt users write. */
	FZ_CHECK(xattrmap_parse(":map:security.:user.virtiofs.:", &xmap, NULL, 0) == 0);
	cfg.xattrmap = xmap;
	FZ_CHECK(dax_window_new(&fake_mapper, NULL, &window) == 0);
	cfg.dax = window;
	cfg.dax_min_size = 4096;
	{
		char path[PATH_MAX + 8];
		struct vt_config vc = {.path = path, .nslots = 64};

		snprintf(table_dir, sizeof(table_dir), "%s/vfsd-fuzz-vt.XXXXXX",
			 tmp && *tmp ? tmp : "/tmp");
		FZ_CHECK(mkdtemp(table_dir));
		snprintf(path, sizeof(path), "%s/table", table_dir);
		FZ_CHECK(vt_open(&vc, share_fd, &table) == 0);
		vt_set_attach(table, fake_attach, NULL);
		cfg.vt = table;
		/* Stock sessions (no flag in INIT) get the table's adaptive timeouts. */
		cfg.adapt_min = 0.02;
		cfg.adapt_max = 5.0;
	}
	/* After the table, which is a large sparse file. */
	FZ_CHECK(setrlimit(RLIMIT_FSIZE, &fsize) == 0);
	FZ_CHECK(pt_new(&cfg, &backend) == 0);
	atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t mode = fz_fuse_mode(data, size);
	unsigned cfg = (mode & (FZF_XATTR_OFF | FZF_NO_LOCKS)) >> 1;

	if (share_fd < 0)
		setup_once();
	if (!servers[cfg]) {
		servers[cfg] = fz_fuse_server(&backend, mode);
		FZ_CHECK(servers[cfg]);
	}
	populate();
	fz_fuse_run(servers[cfg], data, size);
	return 0;
}
