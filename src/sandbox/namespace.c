/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Namespace mode. unshare(CLONE_NEWPID) only moves the *children* of the caller into the new pid
 * namespace, so we fork once: the outer parent stays on the host (to forward signals and to
 * unlink the socket, whose path the child can no longer see) and the child, pid 1 of the new
 * namespace, also gets new mount and net namespaces and pivot_roots into the shared dir. The outer
 * parent drops every capability and installs its own tiny seccomp filter right after the fork.
 *
 * Unprivileged callers first enter a user namespace where they are root (their own uid and gid
 * mapped to 0); guest requests for other uids then fail, as with any unprivileged daemon.
 * With --uid-map/--gid-map (any caller) the user namespace gets those maps instead. A process
 * cannot give its own new namespace ids it does not hold, so a helper forked beforehand, still
 * outside with the caller's credentials, writes them: directly when root, else through the
 * set-uid newuidmap/newgidmap, which check /etc/subuid and /etc/subgid.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/sandbox-internal.h"
#include "util/log.h"
#include "util/macros.h"

static const int forwarded_signals[] = {SIGTERM, SIGINT, SIGHUP};

/* The sandboxed child, for the outer parent's signal handler. */
static volatile sig_atomic_t forward_pid;

static void forward_signal(int sig)
{
	int saved = errno;

	if (forward_pid > 0)
		kill((pid_t)forward_pid, sig);
	errno = saved;
}

/*
 * The kernel drops signals sent to a pid namespace's init for which it has no handler (SIGKILL
 * aside), so the default "terminate" of SIGTERM/SIGINT/SIGHUP would silently do nothing for the
 * child. This handler restores that default; _exit() is async-signal-safe and the status tells the
 * parent which signal it was.
 */
static void pid1_terminate(int sig)
{
	_exit(128 + sig);
}

static int set_handlers(void (*handler)(int), struct sigaction *old)
{
	struct sigaction sa = {.sa_handler = handler, .sa_flags = SA_RESTART};

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded_signals); i++) {
		if (sigaction(forwarded_signals[i], &sa, old ? &old[i] : NULL) < 0)
			return -errno;
	}
	return 0;
}

static int write_file(const char *path, const char *text)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(text);

	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len)
		return errno ? -errno : -EIO;
	return 0;
}

/* In the child: only where the disposition is still the default; main's own handlers stay. */
static int set_pid1_handlers(void)
{
	struct sigaction sa = {.sa_handler = pid1_terminate, .sa_flags = SA_RESTART}, cur;

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded_signals); i++) {
		if (sigaction(forwarded_signals[i], NULL, &cur) < 0)
			return -errno;
		if (!(cur.sa_flags & SA_SIGINFO) && cur.sa_handler == SIG_DFL &&
		    sigaction(forwarded_signals[i], &sa, NULL) < 0)
			return -errno;
	}
	return 0;
}

/* Unprivileged: become root of a new user namespace, mapping only our own ids. */
static int enter_own_user_namespace(void)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	char map[64];
	int r;

	if (unshare(CLONE_NEWUSER) < 0) {
		r = -errno;
		log_error("sandbox: not root and cannot create a user namespace (%s): unprivileged "
			  "user namespaces may be disabled; run as root or use --sandbox=none",
			  strerror(errno));
		return r;
	}
	/* gid_map may only be written by an unprivileged process once setgroups is denied. */
	r = write_file("/proc/self/setgroups", "deny");
	if (r < 0 && r != -ENOENT)
		goto fail;
	snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)uid);
	r = write_file("/proc/self/uid_map", map);
	if (r < 0)
		goto fail;
	snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)gid);
	r = write_file("/proc/self/gid_map", map);
	if (r < 0)
		goto fail;
	return 0;
fail:
	log_error("sandbox: cannot write the user namespace id maps: %s", strerror(-r));
	return r;
}

/* "inside outside count" lines, as /proc/PID/uid_map takes them (at most 340 of 34 bytes). */
static char *map_text(const struct sandbox_id_range *r, size_t n, uint32_t own, bool root)
{
	const struct sandbox_id_range self = {0, own, 1}, all = {0, 0, UINT32_MAX};
	size_t size = 36 * (n ? n : 1) + 1, len = 0;
	char *text = malloc(size);

	if (!text)
		return NULL;
	if (n == 0) {
		r = root ? &all : &self;
		n = 1;
	}
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, size - len, "%u %u %u\n", r[i].inside,
					r[i].outside, r[i].count);
	return text;
}

/* The helper, outside the new namespace: runs newuidmap or newgidmap PID INSIDE OUTSIDE COUNT.. */
static int run_newidmap(const char *prog, pid_t pid, const char *text)
{
	char *argv[2 + 3 * 340 + 1], pidbuf[16], *copy = strdup(text), *save = NULL;
	int n = 0, status;
	pid_t child;

	if (!copy)
		return -ENOMEM;
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)pid);
	argv[n++] = (char *)prog;
	argv[n++] = pidbuf;
	for (char *tok = strtok_r(copy, " \n", &save); tok && n < (int)ARRAY_SIZE(argv) - 1;
	     tok = strtok_r(NULL, " \n", &save))
		argv[n++] = tok;
	argv[n] = NULL;
	child = fork();
	if (child == 0) {
		/* An inherited listening socket (--fd) is not the set-uid program's business. */
		close_range(3, ~0U, 0);
		execvp(prog, argv);
		log_error("sandbox: cannot run %s: %s%s", prog, strerror(errno),
			  errno == ENOENT ? " (install Debian's uidmap package)" : "");
		_exit(127);
	}
	free(copy);
	if (child < 0)
		return -errno;
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 127)
			log_error("sandbox: %s refused the ranges of --%cid-map (are the host ids "
				  "the caller's own or in /etc/sub%cid?)",
				  prog, prog[3], prog[3]);
		return -EPERM;
	}
	return 0;
}

static int write_map(pid_t pid, const char *file, const char *text, bool root)
{
	char path[64];
	int r;

	if (!root)
		return run_newidmap(strcmp(file, "uid_map") == 0 ? "newuidmap" : "newgidmap", pid,
				    text);
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	r = write_file(path, text);
	if (r < 0)
		log_error("sandbox: writing %s: %s", path, strerror(-r));
	return r;
}

/*
 * --uid-map/--gid-map: a helper forked before unshare() waits until we are in the new user
 * namespace, writes both maps from outside, and exits; then we take id 0 of the namespace
 * (all capabilities there come with the namespace itself).
 */
static int enter_mapped_user_namespace(const struct sandbox_config *cfg)
{
	bool root = geteuid() == 0;
	_cleanup_free_ char *umap = map_text(cfg->uid_map, cfg->n_uid_map, geteuid(), root);
	_cleanup_free_ char *gmap = map_text(cfg->gid_map, cfg->n_gid_map, getegid(), root);
	pid_t self = getpid(), helper;
	int go[2], status, r;
	char c = 0;

	if (!umap || !gmap)
		return -ENOMEM;
	if (pipe2(go, O_CLOEXEC) < 0)
		return -errno;
	helper = fork();
	if (helper < 0) {
		r = -errno;
		close(go[0]);
		close(go[1]);
		return r;
	}
	if (helper == 0) {
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		r = write_map(self, "uid_map", umap, root);
		if (r == 0)
			r = write_map(self, "gid_map", gmap, root);
		_exit(r < 0 ? 1 : 0);
	}
	close(go[0]);
	r = unshare(CLONE_NEWUSER) < 0 ? -errno : 0;
	if (r < 0)
		log_error("sandbox: cannot create a user namespace for --uid-map/--gid-map: %s",
			  strerror(-r));
	else if (write(go[1], &c, 1) != 1)
		r = -EPIPE;
	close(go[1]);
	while (waitpid(helper, &status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	if (r < 0)
		return r;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		log_error("sandbox: cannot set up the user namespace's id maps");
		return -EPERM;
	}
	/* Raw syscalls are not needed: we are still single-threaded. */
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
		r = -errno;
		log_error("sandbox: --uid-map/--gid-map must map id 0 of the namespace: %s",
			  strerror(-r));
		return r;
	}
	return sandbox_drop_supplementary_groups();
}

static int mount_or_log(const char *src, const char *target, const char *type, unsigned long flags,
			const char *what)
{
	if (mount(src, target, type, flags, NULL) == 0)
		return 0;
	log_error("sandbox: %s: %s", what, strerror(errno));
	return -errno;
}

/*
 * A private proc for the new pid namespace (only our own process is in it), then
 * /proc/<our pid>/fd bind-mounted over it: the fd we keep is the root of that bind mount, so ".."
 * from it stays put, and once the old root is detached nothing else of proc is reachable.
 */
static int setup_proc_fd_dir(void)
{
	int r;

	r = mount_or_log("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME,
			 "mount a new /proc");
	if (r < 0)
		return r;
	r = mount_or_log("/proc/self/fd", "/proc", NULL, MS_BIND, "bind /proc/self/fd on /proc");
	if (r < 0)
		return r;
	return sandbox_open_proc_self_fd("/proc");
}

/* Makes the shared dir "/" and detaches everything else. */
static int pivot_into(const char *dir)
{
	int r = mount_or_log(dir, dir, NULL, MS_BIND | MS_REC, "bind-mount the shared dir");

	if (r < 0)
		return r;
	if (chdir(dir) < 0) {
		log_error("sandbox: chdir(%s): %s", dir, strerror(errno));
		return -errno;
	}
	/* pivot_root(".", "."): the old root ends up stacked on "/" and is detached at once. */
	if (syscall(SYS_pivot_root, ".", ".") < 0) {
		log_error("sandbox: pivot_root into %s: %s", dir, strerror(errno));
		return -errno;
	}
	if (umount2(".", MNT_DETACH) < 0) {
		log_error("sandbox: detaching the old root: %s", strerror(errno));
		return -errno;
	}
	if (chdir("/") < 0) {
		log_error("sandbox: chdir(/) after pivot_root: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static int child_setup(const struct sandbox_config *cfg, const sigset_t *oldmask)
{
	int r;

	/* If the outer parent dies, so must we: nobody would clean up or forward signals. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		return -errno;
	r = set_pid1_handlers();
	if (r < 0)
		return r;
	sigprocmask(SIG_SETMASK, oldmask, NULL);

	if (unshare(CLONE_NEWNS | CLONE_NEWNET) < 0) {
		log_error("sandbox: unshare(mount, net namespaces): %s", strerror(errno));
		return -errno;
	}
	/* Nothing we mount or unmount from here on may propagate back to the host. */
	r = mount_or_log(NULL, "/", NULL, MS_SLAVE | MS_REC, "make mounts slaves");
	if (r < 0)
		return r;
	r = setup_proc_fd_dir();
	if (r < 0)
		return r;
	return pivot_into(cfg->shared_dir);
}

/*
 * The outer process stays on the host, outside every namespace, so it keeps nothing: no
 * capability in any set (signalling the daemon needs none, it runs with our uid) and only the
 * syscalls of waiting, forwarding, logging and removing the socket. If that fails, the daemon is
 * stopped rather than leave a privileged process on the host.
 */
static int supervisor_lock_down(const struct sandbox_config *cfg, pid_t child)
{
	/* Signals and waits only for the daemon: seccomp compares the pid argument. */
	const struct sandbox_syscall_if only_child[] = {
		{"kill", 0, (uint64_t)child},
		{"wait4", 0, (uint64_t)child},
	};
	int r;

	/* syslog() formats local time: read the zone file now, while open() is allowed. */
	tzset();
	r = sandbox_caps_drop_all();
	if (r == 0)
		r = sandbox_no_new_privs();
	if (r == 0)
		r = sandbox_seccomp_install(cfg->seccomp, &sandbox_supervisor_allowlist, only_child,
					    ARRAY_SIZE(only_child));
	if (r < 0) {
		kill(child, SIGKILL);
		while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
			;
	}
	return r;
}

static int parent_wait(const struct sandbox_config *cfg, pid_t child, const sigset_t *oldmask,
		       int *ret_exit_status)
{
	struct sigaction old[ARRAY_SIZE(forwarded_signals)];
	int status = 0, r;
	pid_t w;

	r = supervisor_lock_down(cfg, child);
	if (r < 0) {
		sigprocmask(SIG_SETMASK, oldmask, NULL);
		return r;
	}
	forward_pid = child;
	r = set_handlers(forward_signal, old);
	/* Signals that arrived since the fork were held back; they reach the child now. */
	sigprocmask(SIG_SETMASK, oldmask, NULL);
	if (r < 0)
		log_warn("sandbox: cannot forward signals to the sandbox: %s", strerror(-r));

	do
		w = waitpid(child, &status, 0);
	while (w < 0 && errno == EINTR);
	r = w < 0 ? -errno : 0;

	forward_pid = 0;
	for (size_t i = 0; i < ARRAY_SIZE(forwarded_signals); i++)
		sigaction(forwarded_signals[i], &old[i], NULL);
	if (r < 0) {
		log_error("sandbox: waiting for the sandboxed process: %s", strerror(-r));
		return r;
	}
	if (cfg->unlink_socket_on_exit && cfg->socket_path && unlink(cfg->socket_path) < 0 &&
	    errno != ENOENT)
		log_warn("sandbox: cannot remove %s: %s", cfg->socket_path, strerror(errno));

	if (WIFSIGNALED(status))
		log_error("sandbox: the daemon was killed by signal %d%s", WTERMSIG(status),
			  WTERMSIG(status) == SIGSYS ? " (a syscall outside the seccomp allowlist)"
						     : "");
	*ret_exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	return 1;
}

int sandbox_enter_namespace(const struct sandbox_config *cfg, int *ret_exit_status)
{
	sigset_t block, oldmask;
	pid_t pid;
	int r;

	if (cfg->n_uid_map || cfg->n_gid_map) {
		r = enter_mapped_user_namespace(cfg);
		if (r < 0)
			return r;
	} else if (geteuid() != 0) {
		r = enter_own_user_namespace();
		if (r < 0)
			return r;
	} else {
		r = sandbox_drop_supplementary_groups();
		if (r < 0)
			return r;
	}
	if (unshare(CLONE_NEWPID) < 0) {
		log_error("sandbox: unshare(CLONE_NEWPID): %s%s", strerror(errno),
			  errno == EPERM ? " (try --sandbox=chroot or --sandbox=none)" : "");
		return -errno;
	}

	/* Hold termination signals until each side has its handlers. */
	sigemptyset(&block);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded_signals); i++)
		sigaddset(&block, forwarded_signals[i]);
	sigprocmask(SIG_BLOCK, &block, &oldmask);

	pid = fork();
	if (pid < 0) {
		r = -errno;
		sigprocmask(SIG_SETMASK, &oldmask, NULL);
		log_error("sandbox: fork: %s", strerror(-r));
		return r;
	}
	if (pid > 0)
		return parent_wait(cfg, pid, &oldmask, ret_exit_status);

	r = child_setup(cfg, &oldmask);
	if (r < 0)
		sigprocmask(SIG_SETMASK, &oldmask, NULL);
	return r;
}
