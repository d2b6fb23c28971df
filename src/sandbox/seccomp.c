/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Installs an allowlist of seccomp_allow.c with libseccomp: the daemon's, or the supervisor's tiny
 * one (namespace mode's outer process, which only waits). Syscalls are named, not numbered, so
 * one table serves every architecture: a name this architecture lacks (epoll_wait on arm64,
 * mmap2 on x86_64) is skipped. The filter is synchronised to all threads (TSYNC) in case one
 * already exists, and no_new_privs is set (libseccomp's default) so it can be loaded after
 * CAP_SYS_ADMIN is gone.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <seccomp.h>

#include "sandbox/sandbox-internal.h"
#include "util/log.h"
#include "util/macros.h"

/*
 * --seccomp=trap: tell which syscall was refused, then die of SIGSYS as kill mode would.
 * Only async-signal-safe calls here: the number is formatted by hand, write() and the
 * re-raise (tgkill, rt_sigprocmask) are in the allowlist.
 */
static void sigsys_report(int sig, siginfo_t *info, void *uctx)
{
	char msg[64] = "vfsd: seccomp refused syscall ";
	size_t len = strlen(msg);
	char digits[16];
	int n = 0, nr = info->si_syscall;
	struct sigaction dfl = {.sa_handler = SIG_DFL};

	if (nr < 0)
		nr = 0;
	do
		digits[n++] = (char)('0' + nr % 10);
	while ((nr /= 10) && n < (int)sizeof(digits));
	while (n > 0)
		msg[len++] = digits[--n];
	msg[len++] = '\n';
	(void)!write(STDERR_FILENO, msg, len);

	sigemptyset(&dfl.sa_mask);
	sigaction(sig, &dfl, NULL);
	raise(sig);
}

static int install_trap_handler(void)
{
	struct sigaction sa = {.sa_sigaction = sigsys_report, .sa_flags = SA_SIGINFO};

	sigemptyset(&sa.sa_mask);
	return sigaction(SIGSYS, &sa, NULL) < 0 ? -errno : 0;
}

static int allow_by_name(scmp_filter_ctx ctx, const char *name, int fallback_nr,
			 unsigned int arg_count, const struct scmp_arg_cmp *arg)
{
	int nr = seccomp_syscall_resolve_name(name);
	int r;

	if (nr < 0 && fallback_nr > 0)
		nr = fallback_nr;

	/* Unknown to libseccomp, or a pseudo number: not a syscall on this architecture (dozens
	 * of lines at every start that tell an operator nothing, hence trace). */
	if (nr < 0) {
		log_trace("sandbox: seccomp: no syscall %s here, skipped", name);
		return 0;
	}
	r = arg_count ? seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, arg_count, arg)
		      : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	if (r < 0)
		log_error("sandbox: seccomp: cannot allow %s: %s", name, strerror(-r));
	return r;
}

const struct sandbox_allowlist sandbox_daemon_allowlist = {
	.names = sandbox_syscall_allow,
	.names_count = &sandbox_syscall_allow_count,
	.by_nr = sandbox_syscall_allow_new,
	.by_nr_count = &sandbox_syscall_allow_new_count,
	.cond = sandbox_syscall_allow_if,
	.cond_count = &sandbox_syscall_allow_if_count,
};

const struct sandbox_allowlist sandbox_supervisor_allowlist = {
	.names = sandbox_supervisor_allow,
	.names_count = &sandbox_supervisor_allow_count,
	.cond = sandbox_supervisor_allow_if,
	.cond_count = &sandbox_supervisor_allow_if_count,
};

static int allow_if(scmp_filter_ctx ctx, const struct sandbox_syscall_if *c)
{
	struct scmp_arg_cmp cmp = SCMP_CMP(c->arg, SCMP_CMP_EQ, c->value);

	return allow_by_name(ctx, c->name, 0, 1, &cmp);
}

static int build_allowlist(scmp_filter_ctx ctx, const struct sandbox_allowlist *list,
			   const struct sandbox_syscall_if *extra, size_t extra_count)
{
	size_t n;
	int r;

	for (size_t i = 0; i < *list->names_count; i++) {
		r = allow_by_name(ctx, list->names[i], 0, 0, NULL);
		if (r < 0)
			return r;
	}
	n = list->by_nr ? *list->by_nr_count : 0;
	for (size_t i = 0; i < n; i++) {
		const struct sandbox_syscall_nr *nr = &list->by_nr[i];

		r = allow_by_name(ctx, nr->name, nr->nr, 0, NULL);
		if (r < 0)
			return r;
	}
	n = list->cond ? *list->cond_count : 0;
	for (size_t i = 0; i < n; i++) {
		r = allow_if(ctx, &list->cond[i]);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < extra_count; i++) {
		r = allow_if(ctx, &extra[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

static uint32_t default_action(enum sandbox_seccomp mode)
{
	switch (mode) {
	case SANDBOX_SECCOMP_LOG:
		return SCMP_ACT_LOG;
	case SANDBOX_SECCOMP_TRAP:
		return SCMP_ACT_TRAP;
	case SANDBOX_SECCOMP_KILL:
	case SANDBOX_SECCOMP_NONE:
		break;
	}
	return SCMP_ACT_KILL_PROCESS;
}

int sandbox_seccomp_install(enum sandbox_seccomp mode, const struct sandbox_allowlist *list,
			    const struct sandbox_syscall_if *extra, size_t extra_count)
{
	scmp_filter_ctx ctx;
	int r;

	if (mode == SANDBOX_SECCOMP_NONE)
		return 0;
	if (mode == SANDBOX_SECCOMP_TRAP) {
		r = install_trap_handler();
		if (r < 0)
			return r;
	}
	ctx = seccomp_init(default_action(mode));
	if (!ctx) {
		log_error("sandbox: seccomp_init failed");
		return -ENOMEM;
	}
	r = build_allowlist(ctx, list, extra, extra_count);
	if (r == 0)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (r == 0) {
		r = seccomp_load(ctx);
		if (r < 0)
			log_error("sandbox: cannot load the seccomp filter: %s", strerror(-r));
	}
	seccomp_release(ctx);
	return r;
}
