/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The sandbox: what confines vfsd once the guest can reach it. The guest is untrusted and a bug in
 * the daemon must not become access to the host, so the daemon is boxed in four ways, applied in
 * two steps from main.c (and from nowhere else):
 *
 *   sandbox_enter()     after the listening socket exists, before the backend opens the shared dir:
 *                       namespaces and pivot_root (or chroot), supplementary groups dropped.
 *   sandbox_lock_down() after the backend is set up, before any worker thread exists:
 *                       RLIMIT_NOFILE, capabilities (libcap-ng), the seccomp allowlist
 * (libseccomp).
 *
 * Backends (OpenSSH style): the mode decides how the process is isolated; everything else in the
 * daemon only sees "the shared dir is at sandbox_shared_dir()" and "reopen fds through
 * sandbox_proc_self_fd()". This module trusts its configuration (it comes from the command line),
 * never anything from the guest. Errors are 0/-errno and are logged here, once, with the reason.
 */
#ifndef VFSD_SANDBOX_SANDBOX_H
#define VFSD_SANDBOX_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Same order as enum opts_sandbox / opts_seccomp, but main.c should still translate by name. */
enum sandbox_mode {
	/* Fork; the child gets new pid, mount and net namespaces and pivot_roots into the share. */
	SANDBOX_NAMESPACE,
	/* chroot() into the share: for containers that forbid namespaces. Weaker (see sandbox.c).
	 */
	SANDBOX_CHROOT,
	/* No isolation at all. */
	SANDBOX_NONE,
};

enum sandbox_seccomp {
	SANDBOX_SECCOMP_KILL, /* a syscall outside the allowlist kills the whole process */
	SANDBOX_SECCOMP_LOG,  /* ... is logged by the kernel (audit) and allowed */
	SANDBOX_SECCOMP_TRAP, /* ... raises SIGSYS; the syscall number is printed, then it kills */
	SANDBOX_SECCOMP_NONE, /* no filter */
};

/* Set RLIMIT_NOFILE's default target: min(this, /proc/sys/fs/nr_open). */
#define SANDBOX_RLIMIT_NOFILE_DEFAULT 1000000ULL

/* One line of a user namespace's uid_map or gid_map: ids [inside, inside + count) of the
 * namespace are [outside, outside + count) of the host. */
struct sandbox_id_range {
	uint32_t inside, outside, count;
};

struct sandbox_config {
	enum sandbox_mode mode;
	enum sandbox_seccomp seccomp;
	/* Absolute, canonical path (main realpath()s it). */
	const char *shared_dir;
	/* The listening socket's path, or NULL (--fd). Only used in namespace mode, see below. */
	const char *socket_path;
	/* Namespace mode: the outer parent unlinks socket_path after the daemon exits. */
	bool unlink_socket_on_exit;
	/* "+cap:-cap:..." edits to the kept capability set, or NULL. */
	const char *modcaps;
	/* 0 = leave alone; UINT64_MAX = raise to the default; otherwise raise to exactly this. */
	uint64_t rlimit_nofile;
	/* Keep CAP_DAC_READ_SEARCH (open_by_handle_at needs it: --inode-file-handles != never). */
	bool need_dac_read_search;
	/*
	 * Namespace mode: the user namespace's uid and gid maps (--uid-map/--gid-map; n == 0: not
	 * given). With either given, the daemon serves in a new user namespace with these maps,
	 * as its id 0 when 0 is mapped: written by a helper process outside it, directly when
	 * root, else by newuidmap/newgidmap (Debian's uidmap package, /etc/subuid, /etc/subgid).
	 * A map not given is the caller's own id as 0 (unprivileged) or all ids unchanged (root).
	 * Without either, an unprivileged caller still gets a namespace mapping only its own ids.
	 */
	const struct sandbox_id_range *uid_map, *gid_map;
	size_t n_uid_map, n_gid_map;
};

/* "namespace|chroot|none" and "kill|log|trap|none"; 0 or -EINVAL. */
int sandbox_mode_from_string(const char *s, enum sandbox_mode *ret);
int sandbox_seccomp_from_string(const char *s, enum sandbox_seccomp *ret);

/*
 * Checks the syntax and the capability names of a --modcaps string without applying it, so
 * main can refuse a bad option before forking. 0 or -EINVAL (logged).
 */
int sandbox_modcaps_validate(const char *modcaps);

/*
 * Isolates the process according to cfg->mode. Must be called while single-threaded.
 *
 * Namespace mode forks. In the outer parent this returns 1 once the sandboxed child has exited,
 * with *ret_exit_status set to its exit status (128 + signal number if it was killed); the parent
 * has forwarded SIGTERM/SIGINT/SIGHUP to the child meanwhile and, if asked, unlinked the socket
 * path (which is not visible from inside). main must then exit with that status and do nothing
 * else. In the child this returns 0: it is pid 1 of a new pid namespace, has its own mount and
 * (empty) net namespace, and "/" is the shared dir. Because pid 1 ignores signals it has no
 * handler for, SIGTERM/SIGINT/SIGHUP still at SIG_DFL get a handler in the child that ends it with
 * status 128 + signal; handlers main installed before the call are kept (and the parent forwards
 * to them).
 *
 * Chroot and none modes return 0 in the same process. All modes drop supplementary groups when
 * allowed and open the directory returned by sandbox_proc_self_fd(). Returns -errno on failure
 * (in the parent, or in the child before anything was shared).
 */
int sandbox_enter(const struct sandbox_config *cfg, int *ret_exit_status);

/*
 * An O_PATH directory fd on this process's /proc/<pid>/fd, opened before the root changed: the
 * backend reopens an O_PATH inode fd with openat(sandbox_proc_self_fd(), "<fd number>", flags).
 * In namespace mode it is the root of a bind mount of a private proc, so ".." does not lead to
 * the rest of proc. Owned by this module, valid until exit; -EBADF before sandbox_enter().
 */
int sandbox_proc_self_fd(void);

/* Where the backend finds the shared dir after sandbox_enter(): "/" unless the mode is none. */
const char *sandbox_shared_dir(const struct sandbox_config *cfg);

/*
 * Raises RLIMIT_NOFILE, reduces capabilities to what the passthrough backend needs (when root,
 * also inside a user namespace), then installs the seccomp filter on every thread (TSYNC).
 * Capabilities are per thread: call this before creating any thread, threads created later
 * inherit the reduced set. 0 or -errno (logged).
 */
int sandbox_lock_down(const struct sandbox_config *cfg);

#endif
