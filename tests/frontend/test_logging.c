/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * frontend-logging: what the daemon logs about guest-caused errors, and how it stops.
 * A guest-caused error is logged at debug level with the opcode and node id, nothing at the
 * default level, and a guest cannot flood the log (rate limit per message site). SIGINT ends the
 * daemon cleanly. Usage: test_logging DAEMON. TAP on stdout; the daemon's stderr is captured.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define BAD_OPCODE 9999
#define BAD_NODE   12345

static int send_bad(struct th *t, unsigned count)
{
	uint8_t arg[16] = {0};
	struct iovec a = IOV(arg, sizeof(arg));

	for (unsigned i = 0; i < count; i++) {
		int r = fe_fuse_call(t->fe, BAD_OPCODE, BAD_NODE, &a, 1, NULL, 0, NULL);
		if (r != -ENOSYS)
			return r < 0 ? r : -EPROTO;
	}
	return 0;
}

static void test_debug_names_opcode_and_node(struct th *t)
{
	static const char *const flags[] = {"--log-level=debug", NULL};
	long off;

	t->extra_flags = flags;
	T_OK(t, th_reconnect(t, NULL));
	off = th_log_size(t);
	T_OK(t, send_bad(t, 1));
	T_EQ(t, th_log_count(t, off, "DEBUG vfsd] ", "unknown opcode 9999"), 1);
	T_EQ(t, th_log_count(t, off, "unknown opcode 9999", "nodeid 12345"), 1);
}

static void test_rate_limited(struct th *t)
{
	struct timespec a, b;
	long off = th_log_size(t);
	int lines;

	clock_gettime(CLOCK_MONOTONIC, &a);
	T_OK(t, send_bad(t, 300));
	clock_gettime(CLOCK_MONOTONIC, &b);
	lines = th_log_count(t, off, "unknown opcode", NULL);
	/* A burst of 10, then one a second: 300 errors make a handful of lines, not 300. */
	T_CHECK(t, lines >= 1);
	T_CHECK(t, lines <= 10 + (int)(b.tv_sec - a.tv_sec) + 1);
	if (lines > 10 + (int)(b.tv_sec - a.tv_sec) + 1)
		fprintf(stderr, "# %d log lines for 300 errors\n", lines);
}

static void test_quiet_at_default_level(struct th *t)
{
	long off;

	t->extra_flags = NULL;
	T_OK(t, th_reconnect(t, NULL));
	off = th_log_size(t);
	T_OK(t, send_bad(t, 5));
	T_EQ(t, th_log_count(t, off, "unknown opcode", NULL), 0);
}

static void test_sigint_clean_exit(struct th *t)
{
	int status;

	T_OK(t, kill(t->daemon, SIGINT));
	status = th_daemon_wait(t, 10000);
	T_CHECK(t, status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	T_CHECK(t, access(t->sock, F_OK) < 0);
	/* Leave a daemon for the harness to finish with. */
	T_OK(t, th_reconnect(t, NULL));
}

static const struct th_test logging_tests[] = {
	{"guest-error-logged-at-debug-with-opcode-and-node", test_debug_names_opcode_and_node},
	{"guest-errors-rate-limited", test_rate_limited},
	{"guest-errors-quiet-at-default-level", test_quiet_at_default_level},
	{"sigint-clean-exit", test_sigint_clean_exit},
	TH_TESTS_END,
};

int main(int argc, char **argv)
{
	static const struct th_test *const families[] = {logging_tests, NULL};

	th_capture_log = true;
	return th_main(argc, argv, families);
}
