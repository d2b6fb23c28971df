/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test harness for frontend tests: starts the daemon under test in a private temporary
 * directory (share + socket), connects the frontend, runs a table of named tests and prints TAP.
 *
 * The daemon is argv[1] (meson passes the built vfsd), or the command line in $VFSD_TEST_DAEMON
 * (split on spaces, e.g. "tests/tools/rust-virtiofsd.sh run") to validate against another
 * implementation. It always gets --socket-path, --shared-dir and --xattr, so it runs with its
 * default sandbox and seccomp filter; $VFSD_TEST_DAEMON_FLAGS and th.extra_flags add options.
 *
 * A test checks with T_CHECK/T_EQ; a failed check prints a TAP comment and marks the test
 * "not ok". Tests share one connection and FUSE session unless they reconnect (th_reconnect).
 */
#ifndef VFSD_TESTS_FRONTEND_HARNESS_H
#define VFSD_TESTS_FRONTEND_HARNESS_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "fe_fuse.h"

struct th {
	char dir[PATH_MAX];
	char share[PATH_MAX + 16];
	char sock[PATH_MAX + 16];
	char *const *daemon_argv;
	/* Options for the next th_daemon_start() (NULL-terminated; NULL = none), to test the
	 * daemon's configurations. */
	const char *const *extra_flags;
	/* FUSE_INIT flags th_reconnect() offers (0: th_init_flags()). */
	uint64_t init_flags;
	pid_t daemon;
	struct fe *fe;
	int failures;	  /* in the running test */
	const char *skip; /* set by th_skip() */
	unsigned seq;
	/* With th_capture_log set before th_main(): the daemon's stderr goes to this file. */
	char log[PATH_MAX + 16];
};

/* Send the daemon's stderr to t->log (appended) instead of ours; see th_log_scan(). */
extern bool th_capture_log;
/* Set before th_main() (-1 = leave alone): the daemon runs as this uid and gid, with no
 * supplementary groups, and the temporary directory and the share are given to it, so a root
 * frontend drives an unprivileged daemon. */
extern uid_t th_run_as_uid;
extern gid_t th_run_as_gid;
/* Called after each test (NULL = nothing), e.g. to check the daemon's log. */
extern void (*th_after_test)(struct th *t);

struct th_test {
	const char *name;
	void (*fn)(struct th *t);
};

#define TH_TESTS_END       \
	{                  \
		NULL, NULL \
	}

void th_fail(struct th *t, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define T_CHECK(t, cond)                                             \
	do {                                                         \
		if (!(cond))                                         \
			th_fail(t, __FILE__, __LINE__, "%s", #cond); \
	} while (0)

#define T_EQ(t, a, b)                                                                          \
	do {                                                                                   \
		long long _a_ = (long long)(a), _b_ = (long long)(b);                          \
		if (_a_ != _b_)                                                                \
			th_fail(t, __FILE__, __LINE__, "%s == %s (%lld != %lld)", #a, #b, _a_, \
				_b_);                                                          \
	} while (0)

#define T_STREQ(t, a, b)                                                                           \
	do {                                                                                       \
		const char *_a_ = (a), *_b_ = (b);                                                 \
		if (strcmp(_a_, _b_))                                                              \
			th_fail(t, __FILE__, __LINE__, "%s == %s (\"%s\" != \"%s\")", #a, #b, _a_, \
				_b_);                                                              \
	} while (0)

/* Mark the running test skipped (TAP "# SKIP reason"). */
void th_skip(struct th *t, const char *reason);

/* Expect 0 from an fe_* call. */
#define T_OK(t, expr) T_EQ(t, (expr), 0)

/* The standard INIT flags of a Linux 6.x virtiofs guest, minus those needing extensions. */
uint64_t th_init_flags(void);

/* Start the daemon and connect with opts (NULL = defaults); 0 or -errno. */
int th_daemon_start(struct th *t);
int th_connect(struct th *t, const struct fe_options *opts);
/* Disconnect, start a new daemon-side session on a new connection (and INIT 7.38). */
int th_reconnect(struct th *t, const struct fe_options *opts);
/* Wait for the daemon to exit; returns its wait status or -ETIMEDOUT. */
int th_daemon_wait(struct th *t, int timeout_ms);

/*
 * Looks for sanitizer reports (ASan, UBSan, LSan) in t->log past *offset and advances *offset
 * to the end; returns true if one was found (and copies its first lines to our stderr).
 */
bool th_log_scan(struct th *t, long *offset);

/* With th_capture_log: the size of t->log, and the lines past offset containing a (and b, unless
 * NULL); -1 if the log cannot be read. */
long th_log_size(struct th *t);
int th_log_count(struct th *t, long offset, const char *a, const char *b);

/* Host path of name inside the share (static buffer rotated over 4 calls). */
const char *th_host(struct th *t, const char *name);
/* A name unique to this run, prefix-N. */
const char *th_name(struct th *t, const char *prefix);
/* Create name in dir (mode 0644) through FUSE; returns node id and open fh. */
int th_create(struct th *t, uint64_t dir, const char *name, uint64_t *ret_node, uint64_t *ret_fh);
/* Write a host file directly. */
int th_host_write(struct th *t, const char *name, const void *buf, size_t len);

/* Families, each a NULL-terminated table. */
extern const struct th_test th_init_tests[];
extern const struct th_test th_entry_tests[];
extern const struct th_test th_attr_tests[];
extern const struct th_test th_file_tests[];
extern const struct th_test th_dir_tests[];
extern const struct th_test th_xattr_tests[];
extern const struct th_test th_lock_tests[];
extern const struct th_test th_misc_tests[];
extern const struct th_test th_session_tests[];
extern const struct th_test th_config_tests[];

int th_main(int argc, char **argv, const struct th_test *const *families);

#endif
