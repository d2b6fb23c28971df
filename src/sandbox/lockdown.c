/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sandbox_lock_down(): the steps that must follow the backend's setup (it still needed the full
 * capability set and syscalls we do not allow later) and precede the worker threads. The order
 * matters: the rlimit is raised while CAP_SYS_RESOURCE may still be held, the seccomp filter comes
 * last because setrlimit/prctl/capset are not in its allowlist.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "sandbox/sandbox-internal.h"
#include "util/log.h"
#include "util/macros.h"

/*
 * Each inode the guest looks up may hold an fd (CVE-2020-10717: a guest exhausted the host's fds),
 * so the default is high but bounded by what the kernel allows (fs.nr_open).
 */
static uint64_t default_nofile(const struct rlimit *cur)
{
	uint64_t nr_open = sandbox_nr_open();

	if (nr_open)
		return MIN(SANDBOX_RLIMIT_NOFILE_DEFAULT, nr_open);
	/* nr_open unknown: do not guess above what is surely allowed. */
	return MIN(SANDBOX_RLIMIT_NOFILE_DEFAULT, (uint64_t)cur->rlim_max);
}

int sandbox_rlimit_raise(uint64_t want)
{
	struct rlimit cur, next;
	bool explicit_value = want != UINT64_MAX;

	if (want == 0)
		return 0;
	if (getrlimit(RLIMIT_NOFILE, &cur) < 0)
		return -errno;
	if (!explicit_value)
		want = default_nofile(&cur);
	if (!explicit_value && cur.rlim_cur >= want)
		return 0;

	next.rlim_cur = want;
	next.rlim_max = MAX((uint64_t)cur.rlim_max, want);
	if (setrlimit(RLIMIT_NOFILE, &next) == 0)
		return 0;
	if (explicit_value) {
		log_error("sandbox: cannot set RLIMIT_NOFILE to %" PRIu64 ": %s", want,
			  strerror(errno));
		return -errno;
	}
	/* Without CAP_SYS_RESOURCE the hard limit is the ceiling; take what we can. */
	log_warn("sandbox: cannot raise RLIMIT_NOFILE to %" PRIu64
		 " (%s), using the hard limit %" PRIu64,
		 want, strerror(errno), (uint64_t)cur.rlim_max);
	next.rlim_cur = cur.rlim_max;
	next.rlim_max = cur.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &next) < 0) {
		log_error("sandbox: setrlimit(RLIMIT_NOFILE): %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/*
 * No exec can ever grant privileges again (setuid bits, file capabilities). libseccomp sets it
 * too, but --seccomp=none must not lose it.
 */
int sandbox_no_new_privs(void)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		log_error("sandbox: PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

int sandbox_lock_down(const struct sandbox_config *cfg)
{
	int r;

	r = sandbox_rlimit_raise(cfg->rlimit_nofile);
	if (r < 0)
		return r;
	r = sandbox_caps_drop(cfg);
	if (r < 0)
		return r;
	r = sandbox_no_new_privs();
	if (r < 0)
		return r;
	return sandbox_seccomp_install(cfg->seccomp, &sandbox_daemon_allowlist, NULL, 0);
}
