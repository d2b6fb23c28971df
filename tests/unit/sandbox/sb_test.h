/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers for the sandbox unit tests. Every sandbox call changes the calling process for good, so
 * each case runs in a forked child; the child's checks decide its exit status (0 = all passed) and
 * the parent checks that status (or the signal that killed it).
 */
#ifndef VFSD_TESTS_SB_TEST_H
#define VFSD_TESTS_SB_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

/* The capabilities sandbox_lock_down() keeps (sandbox/caps.c), as a /proc status mask. */
#define SBT_CAP(c) (1ULL << (c))
#define SBT_KEPT_CAPS                                                                           \
	(SBT_CAP(CAP_CHOWN) | SBT_CAP(CAP_DAC_OVERRIDE) | SBT_CAP(CAP_FOWNER) |                 \
	 SBT_CAP(CAP_FSETID) | SBT_CAP(CAP_SETGID) | SBT_CAP(CAP_SETUID) | SBT_CAP(CAP_MKNOD) | \
	 SBT_CAP(CAP_SETFCAP))

#define SBT_SKIP 77 /* meson: test skipped */

/* Creates a temporary shared dir holding one file, "marker". */
static inline int sbt_make_share(char *tmpl)
{
	char path[256];
	int fd;

	if (!mkdtemp(tmpl) || chmod(tmpl, 0755) < 0)
		return -errno;
	snprintf(path, sizeof(path), "%s/marker", tmpl);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static inline void sbt_remove_share(const char *dir)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/marker", dir);
	unlink(path);
	rmdir(dir);
}

/* Exit status as a shell reports it: 128 + signal when killed. */
static inline int sbt_exit_code(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Waits up to `secs` seconds, then SIGKILLs the child; returns its exit code or -ETIMEDOUT. */
static inline int sbt_wait(pid_t pid, int secs)
{
	int status;

	for (int i = 0; i < secs * 100; i++) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			return sbt_exit_code(status);
		if (w < 0)
			return -errno;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -ETIMEDOUT;
}

/*
 * Runs fn(arg) in a child whose own check counters start at zero. The child exits with fn's
 * return value, or 1 if any of its checks failed. Returns the child's exit code.
 */
static inline int sbt_run(int (*fn)(void *), void *arg)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int r;

		check_failures = 0;
		r = fn(arg);
		fflush(NULL);
		_exit(r ? r : check_failures ? 1 : 0);
	}
	return sbt_wait(pid, 30);
}

/* Reads a hex field ("CapEff") of /proc/thread-self/status through an fd opened by the caller. */
static inline uint64_t sbt_status_hex(const char *field)
{
	char buf[4096], *p;
	ssize_t n;
	uint64_t v = UINT64_MAX;
	int fd = open("/proc/thread-self/status", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return UINT64_MAX;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return UINT64_MAX;
	buf[n] = '\0';
	p = strstr(buf, field);
	if (p && p[strlen(field)] == ':')
		v = strtoull(p + strlen(field) + 1, NULL, 16);
	return v;
}

static inline long sbt_status_long(const char *field)
{
	char buf[4096], *p;
	ssize_t n;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strstr(buf, field);
	return p && p[strlen(field)] == ':' ? strtol(p + strlen(field) + 1, NULL, 10) : -1;
}

#endif
