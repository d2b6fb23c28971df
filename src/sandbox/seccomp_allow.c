/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * THE syscall allowlist: everything the sandboxed daemon may call once sandbox_lock_down() ran.
 * One syscall a line, with who needs it. Adding a line widens what a compromised daemon can do to
 * the host kernel, so say why. Names missing on an architecture are skipped at load time, so
 * variants (fcntl64, mmap2, *_time64, *32) can be listed side by side.
 *
 * Not here on purpose: socket families other than AF_UNIX, mount/umount/pivot_root, ptrace,
 * bpf, perf_event_open, keyctl, add_key, setns, personality, reboot, kexec, module loading,
 * io_uring, userfaultfd, execve (the daemon never execs).
 */
#include <linux/sched.h>
#include <linux/prctl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

/*
 * From Linux 5.1 (number 424) on, a new syscall has the same number on every architecture but
 * alpha and mips, which add an offset; so the numbers below hold wherever libc does not know them.
 */
#if !defined(__alpha__) && !defined(__mips__)
#ifndef __NR_setxattrat
#define __NR_setxattrat 463
#endif
#ifndef __NR_getxattrat
#define __NR_getxattrat 464
#endif
#ifndef __NR_listxattrat
#define __NR_listxattrat 465
#endif
#ifndef __NR_removexattrat
#define __NR_removexattrat 466
#endif
#endif

#include "sandbox/sandbox-internal.h"
#include "util/macros.h"

const char *const sandbox_syscall_allow[] = {
	/* memory: glibc malloc, thread stacks, guest memory regions (transport) */
	"brk",
	"mmap",
	"mmap2",
	"munmap",
	"mremap",   /* realloc of large blocks */
	"mprotect", /* thread stack guard pages */
	"madvise",  /* free() returning memory, thread stacks on exit */

	/* threads and their synchronisation (libc) */
	"clone",  /* pthread_create before glibc 2.34 */
	"clone3", /* pthread_create */
	"futex",
	"futex_time64",
	"set_robust_list", /* every new thread */
	"rseq",		   /* every new thread (glibc 2.35+) */
	"set_tid_address",
	"sched_yield",
	"sched_getaffinity", /* get_nprocs() for the thread pool size */
	"exit",		     /* thread exit */
	"exit_group",
	"restart_syscall",

	/* signals: shutdown, fuse interrupts waking lock waiters */
	"rt_sigaction",
	"rt_sigprocmask", /* fuse: lock waiters, pthread internals */
	"rt_sigreturn",
	"sigaltstack", /* sanitizer runtimes give each new thread an alternate signal stack */
	"sigreturn",
	"rt_sigtimedwait", /* main: a signal-waiting thread */
	"signalfd4",	   /* main: signals through epoll */
	"tgkill",	   /* fuse: interrupting a blocked worker; raise(), abort() */
	"tkill",

	/* identity: per-request credentials (passthrough) */
	"getpid",
	"gettid",
	"getuid",
	"geteuid",
	"getgid",
	"getegid",
	"getresuid",
	"getresgid",
	"setresuid", /* passthrough: per-thread switch to the guest's uid and back */
	"setresgid",
	"setresuid32",
	"setresgid32",
	"setfsuid",
	"setfsgid",
	"setfsuid32",
	"setfsgid32",
	"setgroups", /* passthrough: supplementary group of FUSE_CREATE_SUPP_GROUP */
	"setgroups32",
	"capget", /* passthrough: dropping CAP_FSETID for killpriv writes */
	"capset",

	/* time: logging timestamps, timeouts */
	"clock_gettime",
	"clock_gettime64",
	"clock_getres",
	"gettimeofday",
	"time",
	"nanosleep",
	"clock_nanosleep",
	"clock_nanosleep_time64",

	/* event loop (transport) */
	"epoll_create1",
	"epoll_ctl",
	"epoll_wait",
	"epoll_pwait",
	"epoll_pwait2",
	"eventfd2", /* kick/call/err eventfds, worker wake-ups */
	"poll",
	"ppoll",
	"ppoll_time64",
	"pipe2",

	/* vhost-user socket (transport), syslog */
	"accept4", /* the next frontend (--keep-serving) */
	"accept",
	"recvmsg",  /* messages with SCM_RIGHTS fds (memory regions, eventfds) */
	"sendmsg",  /* replies, backend requests */
	"recvfrom", /* answers on the backend channel (DAX maps) */
	"sendto",   /* syslog() */
	"connect",  /* syslog() reconnecting after syslogd restarted */
	"shutdown",
	"getsockopt", /* SO_PEERCRED, SO_ERROR */

	/* file descriptors */
	"close",
	"close_range",
	"dup",
	"dup2",
	"dup3",
	"fcntl", /* F_GETFL/SETFL, F_DUPFD_CLOEXEC, OFD locks (posix_lock) */
	"fcntl64",
	"flock", /* FUSE_SETLK with flock semantics */

	/* data: FUSE READ/WRITE and friends (passthrough) */
	"read",
	"readv",
	"pread64",
	"preadv",
	"preadv2",
	"write", /* also log lines to stderr */
	"writev",
	"pwrite64",
	"pwritev",
	"pwritev2",
	"lseek", /* FUSE_LSEEK, readdir offsets */
	"_llseek",
	"fallocate",
	"copy_file_range",
	"ftruncate",
	"ftruncate64",
	"fsync",
	"fdatasync",
	"syncfs",
	"fadvise64",
	"memfd_create", /* DAX: the private copy of a file's partial last page */
	"fadvise64_64",

	/* metadata and namespace operations, all fd-relative (passthrough) */
	"openat",
	"openat2", /* lookups with RESOLVE_BENEATH */
	"name_to_handle_at",
	"open_by_handle_at", /* --inode-file-handles */
	"newfstatat",
	"fstatat64",
	"fstat",
	"fstat64",
	"statx",
	"fstatfs",
	"fstatfs64",
	"getdents64",
	"readlinkat",
	"faccessat",
	"faccessat2",
	"mkdirat",
	"mknodat",
	"symlinkat",
	"linkat",
	"unlinkat",
	"renameat",
	"renameat2",
	"fchmod",
	"fchmodat",
	"fchmodat2",
	"fchown",
	"fchown32",
	"fchownat",
	"utimensat",
	"utimensat_time64",
	"fchdir", /* xattrs of symlinks and special files through the proc fd dir */
	"umask",  /* FUSE create/mkdir/mknod umask, per thread after unshare(CLONE_FS) */

	/* extended attributes (passthrough, --xattr) */
	"fgetxattr",
	"fsetxattr",
	"flistxattr",
	"fremovexattr",
	"getxattr",
	"setxattr",
	"listxattr",
	"removexattr",
	"lgetxattr",
	"lsetxattr",
	"llistxattr",
	"lremovexattr",

	/* host change watch for the version table (coherence/watch.c): the fanotify group and
	 * its filesystem mark, or the inotify instance, are set up before the lock-down; from then
	 * on events are only read (read, poll, name_to_handle_at above) and inotify gets a watch
	 * for each directory the guest looks up. */
	"inotify_add_watch",

	/* libc internals */
	"getrandom", /* malloc, hash seeds */
	"sysinfo",   /* qsort() sizing its buffer */
	"getrlimit",
	"ugetrlimit",
};
const size_t sandbox_syscall_allow_count = ARRAY_SIZE(sandbox_syscall_allow);

const struct sandbox_syscall_if sandbox_syscall_allow_if[] = {
	/* isatty() when stdio decides on buffering */
	{"ioctl", 1, TCGETS},
	/* per-thread umask/cwd for the passthrough workers; no new namespaces */
	{"unshare", 0, CLONE_FS},
	/* pthread_setname_np() on the calling thread */
	{"prctl", 0, PR_SET_NAME},
	{"prctl", 0, PR_GET_NAME},
	/* getrlimit() in glibc is prlimit64(0, res, NULL, old): reading only */
	{"prlimit64", 2, 0},
	/* syslog() reconnecting; the net namespace hides the host's abstract sockets */
	{"socket", 0, AF_UNIX},
};
const size_t sandbox_syscall_allow_if_count = ARRAY_SIZE(sandbox_syscall_allow_if);

/*
 * Newer than some libseccomp releases we build with (2.5 does not know these names): used by
 * name where libseccomp knows it, else by number.
 */
const struct sandbox_syscall_nr sandbox_syscall_allow_new[] = {
#ifdef __NR_getxattrat
	/* passthrough: xattrs of any inode relative to its fd (Linux 6.13) */
	{"setxattrat", __NR_setxattrat},
	{"getxattrat", __NR_getxattrat},
	{"listxattrat", __NR_listxattrat},
	{"removexattrat", __NR_removexattrat},
#endif
	{NULL, 0},
};
const size_t sandbox_syscall_allow_new_count = ARRAY_SIZE(sandbox_syscall_allow_new) - 1;

/*
 * THE supervisor's allowlist: namespace mode's outer process, once it has forked the daemon. It
 * holds no capability and only waits for the daemon, forwards termination signals to it, logs its
 * exit and removes the socket; nothing here touches the share or a guest. Kept apart from the
 * daemon's list above so that neither grows the other.
 */
const char *const sandbox_supervisor_allow[] = {
	/*
	 * forwarding SIGTERM/SIGINT/SIGHUP to the daemon; kill and wait4 are allowed only with the
	 * daemon's pid (added at run time, namespace.c)
	 */
	"rt_sigaction",
	"rt_sigprocmask",
	"rt_sigreturn",
	"sigreturn",
	"restart_syscall",
	"sigaltstack", /* sanitizer runtimes, around signal handlers */

	/* --seccomp=trap's SIGSYS report re-raising the signal */
	"getpid",
	"gettid",
	"tgkill",

	/* log lines: stderr, or syslog() (which may reconnect, see the conditional list) */
	"write",
	"writev",
	"clock_gettime",
	"clock_gettime64",
	"gettimeofday",
	"sendto",
	"connect",

	/* main after the daemon exited: removing the socket and its pid file, closing, exiting */
	"close",
	"unlink",
	"unlinkat",
	"brk", /* free() trimming the heap */
	"mmap",
	"mmap2",
	"munmap",
	"exit",
	"exit_group",
};
const size_t sandbox_supervisor_allow_count = ARRAY_SIZE(sandbox_supervisor_allow);

const struct sandbox_syscall_if sandbox_supervisor_allow_if[] = {
	/* syslog() reconnecting to /dev/log */
	{"socket", 0, AF_UNIX},
};
const size_t sandbox_supervisor_allow_if_count = ARRAY_SIZE(sandbox_supervisor_allow_if);
