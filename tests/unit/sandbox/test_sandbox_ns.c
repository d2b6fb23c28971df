/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sandbox_enter(): namespace mode (both sides of the fork, signal forwarding, socket cleanup, the
 * unprivileged user-namespace path), chroot mode and none mode. Needs root; skipped otherwise.
 */
#include <grp.h>
#include <net/if.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "sandbox/sandbox.h"
#include "sb_test.h"

static char share[] = "/tmp/vfsd-sb-share-XXXXXX";
static char sockdir[] = "/tmp/vfsd-sb-sock-XXXXXX";
static char sock_path[256];

static volatile sig_atomic_t got_sigterm;

static void on_sigterm(int sig)
{
	got_sigterm = 1;
}

enum ns_child_action {
	NS_CHECK_AND_LOCK, /* check the namespaces, lock down with seccomp=kill, break a rule */
	NS_EXIT_7,	   /* just exit with status 7 */
	NS_WAIT_SIGNAL,	   /* report readiness on a pipe, then wait for a signal */
};

struct ns_case {
	enum ns_child_action action;
	enum sandbox_seccomp seccomp;
	bool unlink_socket;
	bool own_handler; /* the caller installed a SIGTERM handler before sandbox_enter() */
	bool probe_kill;  /* the outer parent then signals a process other than the daemon */
	int ready_fd;
	/* What the outer parent saw, checked by the parent itself. */
	int want_status;
	bool want_socket_gone;
};

static void make_socket_file(void)
{
	int fd = open(sock_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

	CHECK(fd >= 0);
	close(fd);
}

static struct sandbox_config ns_config(const struct ns_case *c)
{
	return (struct sandbox_config){
		.mode = SANDBOX_NAMESPACE,
		.seccomp = c->seccomp,
		.shared_dir = share,
		.socket_path = sock_path,
		.unlink_socket_on_exit = c->unlink_socket,
		.rlimit_nofile = UINT64_MAX,
	};
}

/* The proc fd reopens our own fds, and ".." does not lead to the rest of proc. */
static void check_proc_fd(void)
{
	int procfd = sandbox_proc_self_fd();
	int fd = open("/marker", O_RDONLY | O_CLOEXEC);
	char name[16];
	struct stat a, b;
	int fd2;

	CHECK(procfd >= 0);
	CHECK(fd >= 0);
	snprintf(name, sizeof(name), "%d", fd);
	fd2 = openat(procfd, name, O_RDONLY | O_CLOEXEC);
	CHECK(fd2 >= 0);
	CHECK(fstat(fd, &a) == 0 && fstat(fd2, &b) == 0 && a.st_ino == b.st_ino);
	close(fd2);
	close(fd);
}

static void *thread_noop(void *arg)
{
	return arg;
}

static void check_namespaces(void)
{
	struct if_nameindex *ifs;
	int n = 0, fd;

	CHECK_EQ(getpid(), 1);
	CHECK(access("/marker", F_OK) == 0);
	CHECK(access("/etc/passwd", F_OK) < 0);
	CHECK(access("/proc/self", F_OK) < 0);
	CHECK(access(share, F_OK) < 0);
	check_proc_fd();
	/* The kept proc fd is the root of a bind mount of .../fd: nothing above it. */
	fd = openat(sandbox_proc_self_fd(), "../status", O_RDONLY | O_CLOEXEC);
	CHECK(fd < 0);
	if (fd >= 0)
		close(fd);
	ifs = if_nameindex();
	CHECK(ifs != NULL);
	for (struct if_nameindex *i = ifs; i && i->if_index; i++, n++)
		CHECK_STREQ(i->if_name, "lo");
	CHECK_EQ(n, 1);
	if (ifs)
		if_freenameindex(ifs);
}

/* Capabilities through capget(2): /proc is out of reach after pivot_root. */
static void check_caps_after_lockdown(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {0};
	uint64_t eff, prm, inh;

	CHECK(syscall(SYS_capget, &hdr, data) == 0);
	eff = data[0].effective | (uint64_t)data[1].effective << 32;
	prm = data[0].permitted | (uint64_t)data[1].permitted << 32;
	inh = data[0].inheritable | (uint64_t)data[1].inheritable << 32;
	CHECK_EQ(eff, SBT_KEPT_CAPS);
	CHECK_EQ(prm, SBT_KEPT_CAPS);
	CHECK_EQ(inh, 0);
}

static int ns_inner(const struct ns_case *c)
{
	struct sandbox_config cfg = ns_config(c);
	pthread_t t;
	char ready = 'r';

	switch (c->action) {
	case NS_EXIT_7:
		return 7;
	case NS_WAIT_SIGNAL:
		CHECK(write(c->ready_fd, &ready, 1) == 1);
		while (!got_sigterm)
			pause();
		return 42; /* only reached through the caller's own handler */
	case NS_CHECK_AND_LOCK:
		break;
	}
	check_namespaces();
	CHECK_EQ(sandbox_lock_down(&cfg), 0);
	check_caps_after_lockdown();
	/* What the daemon needs keeps working: threads, opening files. */
	CHECK(pthread_create(&t, NULL, thread_noop, NULL) == 0 && pthread_join(t, NULL) == 0);
	check_proc_fd();
	if (c->seccomp == SANDBOX_SECCOMP_NONE) {
		/* The bounding set is empty too (prctl is not in the allowlist: no filter here). */
		for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
			CHECK_EQ(prctl(PR_CAPBSET_READ, cap), 0);
		return 0;
	}
	if (check_failures)
		return 1;
	/* A network socket is outside the allowlist: this must kill us with SIGSYS. */
	socket(AF_INET, SOCK_STREAM, 0);
	return 3;
}

/*
 * Runs in a forked test child: this process becomes the outer parent. Once sandbox_enter()
 * returns there it is under the supervisor's seccomp filter, so the socket is checked by the
 * test's own process afterwards (check_outer_result).
 */
static int ns_outer(void *arg)
{
	const struct ns_case *c = arg;
	struct sandbox_config cfg = ns_config(c);
	int status = -1, r;

	if (c->own_handler)
		signal(SIGTERM, on_sigterm);
	r = sandbox_enter(&cfg, &status);
	if (r == 0) {
		r = ns_inner(c);
		fflush(NULL);
		_exit(r ? r : check_failures ? 1 : 0);
	}
	CHECK_EQ(r, 1);
	CHECK_EQ(status, c->want_status);
	if (c->probe_kill) {
		/* The supervisor's filter lets it signal only the daemon: this must kill it. */
		fflush(NULL);
		kill(1, 0);
		return 4;
	}
	return 0;
}

static void check_outer_result(const struct ns_case *c, int outer_exit)
{
	CHECK_EQ(outer_exit, 0);
	CHECK_EQ(access(sock_path, F_OK) < 0, c->want_socket_gone);
}

/* A /proc/<pid>/status field of another process, as a number in `base`. */
static bool proc_status_field(pid_t pid, const char *field, int base, uint64_t *ret)
{
	char path[64], line[256];
	size_t len = strlen(field);
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		if (strncmp(line, field, len) == 0 && line[len] == ':') {
			*ret = strtoull(line + len + 1, NULL, base);
			found = true;
		}
	fclose(f);
	return found;
}

/* The outer parent, waiting: no capability in any set, no_new_privs, a seccomp filter. */
static void check_supervisor_confined(pid_t outer, enum sandbox_seccomp mode)
{
	static const char *const caps[] = {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"};
	uint64_t v, want_seccomp = mode == SANDBOX_SECCOMP_NONE ? 0 : 2;

	/* The child may report ready before the parent has finished locking itself down. */
	for (int i = 0; i < 200; i++) {
		if (proc_status_field(outer, "NoNewPrivs", 10, &v) && v == 1 &&
		    proc_status_field(outer, "Seccomp", 10, &v) && v == want_seccomp)
			break;
		usleep(10000);
	}
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		CHECK(proc_status_field(outer, caps[i], 16, &v));
		CHECK_EQ(v, 0);
	}
	CHECK(proc_status_field(outer, "NoNewPrivs", 10, &v) && v == 1);
	CHECK(proc_status_field(outer, "Seccomp", 10, &v));
	CHECK_EQ(v, want_seccomp);
}

static long count_host_mounts(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	long n = 0;
	int ch;

	if (!f)
		return -1;
	while ((ch = fgetc(f)) != EOF)
		n += ch == '\n';
	fclose(f);
	return n;
}

static void test_namespace_lockdown(void)
{
	struct ns_case c = {
		.action = NS_CHECK_AND_LOCK,
		.seccomp = SANDBOX_SECCOMP_KILL,
		.unlink_socket = true,
		.want_status = 128 + SIGSYS,
		.want_socket_gone = true,
	};
	struct ns_case no_filter = {
		.action = NS_CHECK_AND_LOCK,
		.seccomp = SANDBOX_SECCOMP_NONE,
		.unlink_socket = true,
		.want_status = 0,
		.want_socket_gone = true,
	};

	long mounts_before = count_host_mounts();

	make_socket_file();
	check_outer_result(&c, sbt_run(ns_outer, &c));
	make_socket_file();
	check_outer_result(&no_filter, sbt_run(ns_outer, &no_filter));
	/* Nothing the sandbox mounted or detached propagated back to the host. */
	CHECK_EQ(count_host_mounts(), mounts_before);
}

static void test_namespace_exit_status(void)
{
	struct ns_case c = {.action = NS_EXIT_7, .want_status = 7, .want_socket_gone = false};
	struct ns_case probe = {.action = NS_EXIT_7, .want_status = 7, .probe_kill = true};

	make_socket_file();
	check_outer_result(&c, sbt_run(ns_outer, &c));
	CHECK_EQ(sbt_run(ns_outer, &probe), 128 + SIGSYS);
}

/*
 * SIGTERM to the outer parent reaches the child, which is pid 1 and would otherwise ignore it:
 * ending it as the default action would, or running the handler the caller had installed.
 */
static void test_namespace_signal_forwarding(bool own_handler)
{
	struct ns_case c = {
		.action = NS_WAIT_SIGNAL,
		.unlink_socket = true,
		.own_handler = own_handler,
		.want_status = own_handler ? 42 : 128 + SIGTERM,
		.want_socket_gone = true,
	};
	int pipefd[2];
	char ready = 0;
	pid_t pid;

	make_socket_file();
	CHECK(pipe2(pipefd, O_CLOEXEC) == 0);
	c.ready_fd = pipefd[1];
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		check_failures = 0;
		close(pipefd[0]);
		_exit(ns_outer(&c) ? 1 : check_failures ? 1 : 0);
	}
	close(pipefd[1]);
	CHECK(read(pipefd[0], &ready, 1) == 1 && ready == 'r');
	close(pipefd[0]);
	check_supervisor_confined(pid, c.seccomp);
	kill(pid, SIGTERM);
	check_outer_result(&c, sbt_wait(pid, 10));
}

/* Unprivileged: a user namespace where we are root, same layout otherwise. */
static int userns_child(void *arg)
{
	struct sandbox_config cfg = {
		.mode = SANDBOX_NAMESPACE,
		.shared_dir = share,
	};
	int status = -1, r;

	(void)arg;
	if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
	    setresuid(65534, 65534, 65534) < 0)
		return 2;
	/* Leaving uid 0 made us non-dumpable, which an ordinary user's daemon is not. */
	prctl(PR_SET_DUMPABLE, 1);
	r = sandbox_enter(&cfg, &status);
	if (r < 0)
		return SBT_SKIP; /* unprivileged user namespaces disabled here */
	if (r == 0) {
		CHECK_EQ(getpid(), 1);
		CHECK_EQ(geteuid(), 0);
		CHECK(access("/marker", F_OK) == 0);
		CHECK(access("/etc/passwd", F_OK) < 0);
		check_proc_fd();
		fflush(NULL);
		_exit(check_failures ? 1 : 0);
	}
	CHECK_EQ(r, 1);
	CHECK_EQ(status, 0);
	return 0;
}

static void test_namespace_unprivileged(void)
{
	int r = sbt_run(userns_child, NULL);

	if (r == SBT_SKIP)
		fprintf(stderr, "unprivileged namespace mode: skipped (no user namespaces)\n");
	else
		CHECK_EQ(r, 0);
}

static int chroot_child(void *arg)
{
	struct sandbox_config cfg = {.mode = SANDBOX_CHROOT, .shared_dir = share};
	gid_t groups[1] = {4242};
	int status = -1;

	(void)arg;
	CHECK(setgroups(1, groups) == 0);
	CHECK_EQ(sandbox_enter(&cfg, &status), 0);
	CHECK_STREQ(sandbox_shared_dir(&cfg), "/");
	CHECK(getpid() != 1);
	CHECK(access("/marker", F_OK) == 0);
	CHECK(access("/etc/passwd", F_OK) < 0);
	/* Supplementary groups are gone (CVE-2022-0358). */
	CHECK_EQ(getgroups(0, NULL), 0);
	check_proc_fd();
	return 0;
}

static int none_child(void *arg)
{
	struct sandbox_config cfg = {.mode = SANDBOX_NONE, .shared_dir = share};
	char path[300];
	int status = -1, fd;

	(void)arg;
	CHECK_EQ(sandbox_enter(&cfg, &status), 0);
	CHECK_STREQ(sandbox_shared_dir(&cfg), share);
	CHECK(getpid() != 1);
	snprintf(path, sizeof(path), "%s/marker", share);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	if (fd >= 0) {
		char name[16];
		int fd2;

		snprintf(name, sizeof(name), "%d", fd);
		fd2 = openat(sandbox_proc_self_fd(), name, O_RDONLY | O_CLOEXEC);
		CHECK(fd2 >= 0);
		close(fd2);
		close(fd);
	}
	return 0;
}

static void test_bad_config(void)
{
	struct sandbox_config cfg = {.mode = SANDBOX_NONE, .shared_dir = "relative"};
	int status = -1;

	CHECK_EQ(sandbox_enter(&cfg, &status), -EINVAL);
	CHECK_EQ(status, -1);
}

static void test_strings(void)
{
	enum sandbox_mode m;
	enum sandbox_seccomp s;

	CHECK(sandbox_mode_from_string("namespace", &m) == 0 && m == SANDBOX_NAMESPACE);
	CHECK(sandbox_mode_from_string("chroot", &m) == 0 && m == SANDBOX_CHROOT);
	CHECK(sandbox_mode_from_string("none", &m) == 0 && m == SANDBOX_NONE);
	CHECK_EQ(sandbox_mode_from_string("jail", &m), -EINVAL);
	CHECK(sandbox_seccomp_from_string("kill", &s) == 0 && s == SANDBOX_SECCOMP_KILL);
	CHECK(sandbox_seccomp_from_string("log", &s) == 0 && s == SANDBOX_SECCOMP_LOG);
	CHECK(sandbox_seccomp_from_string("trap", &s) == 0 && s == SANDBOX_SECCOMP_TRAP);
	CHECK(sandbox_seccomp_from_string("none", &s) == 0 && s == SANDBOX_SECCOMP_NONE);
	CHECK_EQ(sandbox_seccomp_from_string("allow", &s), -EINVAL);
	CHECK_EQ(sandbox_proc_self_fd(), -EBADF);
}

int main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "sandbox-enter: needs root, skipped\n");
		return SBT_SKIP;
	}
	if (sbt_make_share(share) < 0 || !mkdtemp(sockdir)) {
		perror("sandbox-enter: temp dirs");
		return 1;
	}
	snprintf(sock_path, sizeof(sock_path), "%s/vfsd.sock", sockdir);

	test_strings();
	test_bad_config();
	test_namespace_lockdown();
	test_namespace_exit_status();
	test_namespace_signal_forwarding(false);
	test_namespace_signal_forwarding(true);
	test_namespace_unprivileged();
	CHECK_EQ(sbt_run(chroot_child, NULL), 0);
	CHECK_EQ(sbt_run(none_child, NULL), 0);

	unlink(sock_path);
	rmdir(sockdir);
	sbt_remove_share(share);
	return check_report("sandbox-enter");
}
