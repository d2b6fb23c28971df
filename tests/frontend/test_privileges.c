/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * frontend-privileges: what every process and thread of a running vfsd holds, read from
 * /proc/PID/task/TID/status while it serves a session, for each sandbox mode. The daemon's
 * process tree is found from its pid through PPid, so a process nobody expected is counted too.
 *
 *   namespace (default): two processes. The supervisor outside the namespaces holds no capability
 *   in any set; the daemon holds the kept set (docs/security.md) in permitted and effective, an
 *   empty bounding and ambient set. chroot and none: one process, as the daemon above.
 *   Every task of every process: NoNewPrivs 1, Seccomp 2 (filter mode).
 *
 * Also: --modcaps takes capabilities out of the kept set, and SIGTERM ends every mode with status
 * 0 and an "exiting on SIGTERM" log line (the supervisor's filter allows its exit path).
 * Needs root (the kept set is only kept by root). Usage: test_privileges DAEMON. TAP on stdout.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define CAPBIT(c) (1ULL << (c))
/* sandbox/caps.c's kept_caps, as a /proc status mask. */
#define KEPT_CAPS                                                                                 \
	(CAPBIT(CAP_CHOWN) | CAPBIT(CAP_DAC_OVERRIDE) | CAPBIT(CAP_FOWNER) | CAPBIT(CAP_FSETID) | \
	 CAPBIT(CAP_SETGID) | CAPBIT(CAP_SETUID) | CAPBIT(CAP_MKNOD) | CAPBIT(CAP_SETFCAP))

#define MAX_PROCS 16

struct task_status {
	uint64_t inh, prm, eff, bnd, amb;
	long nnp, seccomp;
};

static int read_task(pid_t pid, const char *tid, struct task_status *ret)
{
	char path[320], line[256];
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%s/status", (int)pid, tid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *v = strchr(line, ':');

		if (!v)
			continue;
		*v++ = '\0';
		if (strcmp(line, "CapInh") == 0)
			ret->inh = strtoull(v, NULL, 16), found++;
		else if (strcmp(line, "CapPrm") == 0)
			ret->prm = strtoull(v, NULL, 16), found++;
		else if (strcmp(line, "CapEff") == 0)
			ret->eff = strtoull(v, NULL, 16), found++;
		else if (strcmp(line, "CapBnd") == 0)
			ret->bnd = strtoull(v, NULL, 16), found++;
		else if (strcmp(line, "CapAmb") == 0)
			ret->amb = strtoull(v, NULL, 16), found++;
		else if (strcmp(line, "NoNewPrivs") == 0)
			ret->nnp = strtol(v, NULL, 10), found++;
		else if (strcmp(line, "Seccomp") == 0)
			ret->seccomp = strtol(v, NULL, 10), found++;
	}
	fclose(f);
	return found == 7 ? 0 : -EPROTO;
}

static pid_t parent_of(const char *pid)
{
	char path[300], line[256];
	pid_t ppid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "PPid:", 5) == 0)
			ppid = (pid_t)strtol(line + 5, NULL, 10);
	fclose(f);
	return ppid;
}

/* The daemon and all its descendants, the daemon first; returns how many (or -errno). */
static int process_tree(pid_t root, pid_t *pids, int max)
{
	int n = 1;

	pids[0] = root;
	for (int i = 0; i < n; i++) {
		DIR *d = opendir("/proc");
		struct dirent *e;

		if (!d)
			return -errno;
		while ((e = readdir(d))) {
			if (e->d_name[0] < '1' || e->d_name[0] > '9' ||
			    parent_of(e->d_name) != pids[i])
				continue;
			if (n == max) {
				closedir(d);
				return -E2BIG;
			}
			pids[n++] = (pid_t)strtol(e->d_name, NULL, 10);
		}
		closedir(d);
	}
	return n;
}

/* Every thread of pid holds exactly `caps` (permitted and effective), nothing else. */
static void check_process(struct th *t, pid_t pid, uint64_t caps, int *ret_tasks)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int tasks = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	T_CHECK(t, d != NULL);
	if (!d)
		return;
	while ((e = readdir(d))) {
		struct task_status s = {0};

		if (e->d_name[0] == '.')
			continue;
		tasks++;
		T_OK(t, read_task(pid, e->d_name, &s));
		if (s.prm != caps || s.eff != caps || s.bnd || s.amb || s.inh || s.nnp != 1 ||
		    s.seccomp != 2)
			fprintf(stderr,
				"# pid %d task %s: CapPrm %llx CapEff %llx CapBnd %llx CapAmb %llx "
				"CapInh %llx NoNewPrivs %ld Seccomp %ld (want caps %llx)\n",
				(int)pid, e->d_name, (unsigned long long)s.prm,
				(unsigned long long)s.eff, (unsigned long long)s.bnd,
				(unsigned long long)s.amb, (unsigned long long)s.inh, s.nnp,
				s.seccomp, (unsigned long long)caps);
		T_EQ(t, s.prm, caps);
		T_EQ(t, s.eff, caps);
		T_EQ(t, s.bnd, 0);
		T_EQ(t, s.amb, 0);
		T_EQ(t, s.inh, 0);
		T_EQ(t, s.nnp, 1);
		T_EQ(t, s.seccomp, 2);
	}
	closedir(d);
	*ret_tasks = tasks;
}

/* A session that ran requests, so the worker threads exist. */
static int serve_something(struct th *t)
{
	uint64_t node, fh;
	int r = th_create(t, 1, th_name(t, "priv"), &node, &fh);

	if (r < 0)
		return r;
	r = fe_write(t->fe, node, fh, 0, "x", 1, 0);
	if (r != 1)
		return r < 0 ? r : -EIO;
	return fe_release(t->fe, node, fh, 0);
}

static bool need_root(struct th *t)
{
	if (geteuid() == 0)
		return true;
	th_skip(t, "needs root: only root's daemon keeps capabilities to check");
	return false;
}

static void check_mode(struct th *t, const char *mode, const char *modcaps, uint64_t kept)
{
	const char *flags[4] = {mode, "--seccomp=kill", modcaps, NULL};
	pid_t pids[MAX_PROCS];
	bool ns = strcmp(mode, "--sandbox=namespace") == 0;
	int n, tasks = 0, supervisor_tasks = 0;

	if (!need_root(t))
		return;
	t->extra_flags = flags;
	T_OK(t, th_reconnect(t, NULL));
	T_OK(t, serve_something(t));
	n = process_tree(t->daemon, pids, MAX_PROCS);
	T_EQ(t, n, ns ? 2 : 1);
	if (n != (ns ? 2 : 1))
		return;
	if (ns) {
		/* Outside the namespaces: waits, forwards signals, removes the socket. */
		check_process(t, pids[0], 0, &supervisor_tasks);
		T_EQ(t, supervisor_tasks, 1);
		check_process(t, pids[1], kept, &tasks);
	} else {
		check_process(t, pids[0], kept, &tasks);
	}
	/* The main thread and at least one queue worker were looked at. */
	T_CHECK(t, tasks >= 2);
}

static void test_namespace(struct th *t)
{
	check_mode(t, "--sandbox=namespace", NULL, KEPT_CAPS);
}

static void test_chroot(struct th *t)
{
	check_mode(t, "--sandbox=chroot", NULL, KEPT_CAPS);
}

static void test_none(struct th *t)
{
	check_mode(t, "--sandbox=none", NULL, KEPT_CAPS);
}

static void test_modcaps(struct th *t)
{
	check_mode(t, "--sandbox=namespace", "--modcaps=-mknod:-cap_setfcap",
		   KEPT_CAPS & ~(CAPBIT(CAP_MKNOD) | CAPBIT(CAP_SETFCAP)));
}

/* SIGTERM to the process the service manager started: status 0, a log line, socket gone. */
static void sigterm_exit(struct th *t, const char *mode)
{
	const char *flags[] = {mode, "--seccomp=kill", NULL};
	long off;
	int status;

	t->extra_flags = flags;
	T_OK(t, th_reconnect(t, NULL));
	T_OK(t, serve_something(t));
	off = th_log_size(t);
	T_OK(t, kill(t->daemon, SIGTERM));
	status = th_daemon_wait(t, 10000);
	T_CHECK(t, status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (status >= 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		fprintf(stderr, "# status %#x\n", status);
	T_EQ(t, th_log_count(t, off, "INFO  vfsd] exiting on SIGTERM", NULL), 1);
	T_EQ(t, th_log_count(t, off, "killed by signal", NULL), 0);
	T_CHECK(t, access(t->sock, F_OK) < 0);
	/* Leave a daemon for the next test and the harness. */
	T_OK(t, th_reconnect(t, NULL));
}

static void test_sigterm_namespace(struct th *t)
{
	sigterm_exit(t, "--sandbox=namespace");
}

static void test_sigterm_chroot(struct th *t)
{
	sigterm_exit(t, "--sandbox=chroot");
}

static void test_sigterm_none(struct th *t)
{
	sigterm_exit(t, "--sandbox=none");
}

static const struct th_test privilege_tests[] = {
	{"namespace-supervisor-holds-nothing-daemon-kept-set", test_namespace},
	{"chroot-one-process-kept-set", test_chroot},
	{"none-one-process-kept-set", test_none},
	{"modcaps-removes-from-kept-set", test_modcaps},
	{"sigterm-namespace-status-0-logged", test_sigterm_namespace},
	{"sigterm-chroot-status-0-logged", test_sigterm_chroot},
	{"sigterm-none-status-0-logged", test_sigterm_none},
	TH_TESTS_END,
};

int main(int argc, char **argv)
{
	static const struct th_test *const families[] = {privilege_tests, NULL};
	const char *asan = getenv("ASAN_OPTIONS");
	char buf[512];

	/*
	 * The daemon runs under its own seccomp filters here even in the sanitizer pass, where
	 * LeakSanitizer would need ptrace at exit: leaks are that pass's other suites' job.
	 */
	snprintf(buf, sizeof(buf), "%s%sdetect_leaks=0", asan ? asan : "", asan ? ":" : "");
	setenv("ASAN_OPTIONS", buf, 1);
	th_capture_log = true;
	return th_main(argc, argv, families);
}
