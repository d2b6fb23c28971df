/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The mode dispatch, the chroot and none backends, and the state every mode shares: the proc fd
 * directory and the nr_open value read before the root changes.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sandbox/sandbox-internal.h"
#include "util/log.h"
#include "util/macros.h"

static int proc_self_fd = -EBADF;
static uint64_t nr_open_cached;

static const char *const mode_names[] = {
	[SANDBOX_NAMESPACE] = "namespace",
	[SANDBOX_CHROOT] = "chroot",
	[SANDBOX_NONE] = "none",
};

static const char *const seccomp_names[] = {
	[SANDBOX_SECCOMP_KILL] = "kill",
	[SANDBOX_SECCOMP_LOG] = "log",
	[SANDBOX_SECCOMP_TRAP] = "trap",
	[SANDBOX_SECCOMP_NONE] = "none",
};

int sandbox_mode_from_string(const char *s, enum sandbox_mode *ret)
{
	for (size_t i = 0; i < ARRAY_SIZE(mode_names); i++) {
		if (strcmp(s, mode_names[i]) == 0) {
			*ret = (enum sandbox_mode)i;
			return 0;
		}
	}
	return -EINVAL;
}

int sandbox_seccomp_from_string(const char *s, enum sandbox_seccomp *ret)
{
	for (size_t i = 0; i < ARRAY_SIZE(seccomp_names); i++) {
		if (strcmp(s, seccomp_names[i]) == 0) {
			*ret = (enum sandbox_seccomp)i;
			return 0;
		}
	}
	return -EINVAL;
}

void sandbox_set_proc_self_fd(int fd)
{
	if (proc_self_fd >= 0)
		close(proc_self_fd);
	proc_self_fd = fd;
}

int sandbox_proc_self_fd(void)
{
	return proc_self_fd;
}

const char *sandbox_shared_dir(const struct sandbox_config *cfg)
{
	return cfg->mode == SANDBOX_NONE ? cfg->shared_dir : "/";
}

uint64_t sandbox_nr_open(void)
{
	char buf[32];
	ssize_t n;
	uint64_t v;
	char *end;
	_cleanup_close_ int fd = -EBADF;

	if (nr_open_cached)
		return nr_open_cached;
	fd = open("/proc/sys/fs/nr_open", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (errno || end == buf)
		return 0;
	nr_open_cached = v;
	return v;
}

/*
 * Supplementary groups inherited from whoever started us would apply to every guest request
 * (CVE-2022-0358: files created in setgid directories got the wrong group). Not permitted
 * without CAP_SETGID or inside a user namespace with setgroups denied: then there is nothing
 * to drop that we could drop.
 */
int sandbox_drop_supplementary_groups(void)
{
	if (setgroups(0, NULL) == 0)
		return 0;
	if (errno == EPERM) {
		log_debug(
			"sandbox: cannot drop supplementary groups (not permitted), keeping them");
		return 0;
	}
	log_error("sandbox: setgroups(0): %s", strerror(errno));
	return -errno;
}

int sandbox_open_proc_self_fd(const char *path)
{
	int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		log_error("sandbox: cannot open %s: %s (is /proc mounted?)", path, strerror(errno));
		return -errno;
	}
	sandbox_set_proc_self_fd(fd);
	return 0;
}

/*
 * chroot mode: for containers where namespaces are not allowed. Weaker than namespace mode: the
 * proc fd directory is the host's /proc/<pid>/fd, from which ".." reaches the host's /proc, and a
 * root process can leave a chroot; only the capability drop and seccomp hold it.
 */
static int enter_chroot(const struct sandbox_config *cfg)
{
	int r = sandbox_open_proc_self_fd("/proc/self/fd");

	if (r < 0)
		return r;
	if (chroot(cfg->shared_dir) < 0) {
		r = -errno;
		log_error("sandbox: chroot(%s): %s%s", cfg->shared_dir, strerror(errno),
			  errno == EPERM ? " (needs CAP_SYS_CHROOT; try --sandbox=none)" : "");
		return r;
	}
	if (chdir("/") < 0) {
		log_error("sandbox: chdir(/) in the chroot: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

int sandbox_enter(const struct sandbox_config *cfg, int *ret_exit_status)
{
	int r;

	if (!cfg->shared_dir || cfg->shared_dir[0] != '/') {
		log_error("sandbox: the shared directory must be an absolute path");
		return -EINVAL;
	}
	/* Read now: after pivot_root or chroot, /proc/sys is out of reach. */
	(void)sandbox_nr_open();

	switch (cfg->mode) {
	case SANDBOX_NAMESPACE:
		return sandbox_enter_namespace(cfg, ret_exit_status);
	case SANDBOX_CHROOT:
		r = sandbox_drop_supplementary_groups();
		return r < 0 ? r : enter_chroot(cfg);
	case SANDBOX_NONE:
		r = sandbox_drop_supplementary_groups();
		return r < 0 ? r : sandbox_open_proc_self_fd("/proc/self/fd");
	}
	log_error("sandbox: unknown mode %d", (int)cfg->mode);
	return -EINVAL;
}
