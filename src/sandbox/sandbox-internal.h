/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared between the files of sandbox/ and its unit tests; not for the rest of the daemon, which
 * only includes sandbox.h.
 */
#ifndef VFSD_SANDBOX_INTERNAL_H
#define VFSD_SANDBOX_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sandbox/sandbox.h"

/* sandbox.c: records the proc fd directory (takes ownership of fd). */
void sandbox_set_proc_self_fd(int fd);
/* sandbox.c: /proc/sys/fs/nr_open, read while /proc is still the host's; 0 if unknown. */
uint64_t sandbox_nr_open(void);

/* sandbox.c: setgroups(0) where permitted (CVE-2022-0358); 0 or -errno. */
int sandbox_drop_supplementary_groups(void);
/* sandbox.c: opens `path` (a proc fd directory) O_PATH and records it. 0 or -errno (logged). */
int sandbox_open_proc_self_fd(const char *path);

/* namespace.c */
int sandbox_enter_namespace(const struct sandbox_config *cfg, int *ret_exit_status);

/*
 * caps.c: parses "+cap:-cap" and, if apply is true, adds/removes each capability to/from
 * libcap-ng's pending effective+permitted set. 0 or -EINVAL (logged).
 */
int sandbox_modcaps_edit(const char *modcaps, bool apply);
/* caps.c: computes the kept set, applies modcaps, clears bounding/inheritable/ambient. */
int sandbox_caps_drop(const struct sandbox_config *cfg);
/* caps.c: no capability left in any set (the supervisor). 0 or -EPERM (logged). */
int sandbox_caps_drop_all(void);
/* lockdown.c: PR_SET_NO_NEW_PRIVS, whatever the seccomp mode. 0 or -errno (logged). */
int sandbox_no_new_privs(void);

/* limits.c */
int sandbox_rlimit_raise(uint64_t want);

/* seccomp_allow.c: the allowlist, by name so names unknown on this architecture can be skipped. */
extern const char *const sandbox_syscall_allow[];
extern const size_t sandbox_syscall_allow_count;

/* A syscall allowed only when argument `arg` equals `value` (one rule per allowed value). */
struct sandbox_syscall_if {
	const char *name;
	unsigned int arg;
	uint64_t value;
};
extern const struct sandbox_syscall_if sandbox_syscall_allow_if[];
extern const size_t sandbox_syscall_allow_if_count;

/* A syscall libseccomp may not know by name; nr is this architecture's number for it. */
struct sandbox_syscall_nr {
	const char *name;
	int nr;
};
extern const struct sandbox_syscall_nr sandbox_syscall_allow_new[];
extern const size_t sandbox_syscall_allow_new_count;

/* seccomp_allow.c: namespace mode's outer process, after the fork. */
extern const char *const sandbox_supervisor_allow[];
extern const size_t sandbox_supervisor_allow_count;
extern const struct sandbox_syscall_if sandbox_supervisor_allow_if[];
extern const size_t sandbox_supervisor_allow_if_count;

/* One process's allowlist: the three tables above (by_nr and cond may be NULL). */
struct sandbox_allowlist {
	const char *const *names;
	const size_t *names_count;
	const struct sandbox_syscall_nr *by_nr;
	const size_t *by_nr_count;
	const struct sandbox_syscall_if *cond;
	const size_t *cond_count;
};
extern const struct sandbox_allowlist sandbox_daemon_allowlist;
extern const struct sandbox_allowlist sandbox_supervisor_allowlist;

/* seccomp.c: list, plus extra rules known only at run time (e.g. the daemon's pid). */
int sandbox_seccomp_install(enum sandbox_seccomp mode, const struct sandbox_allowlist *list,
			    const struct sandbox_syscall_if *extra, size_t extra_count);

#endif
