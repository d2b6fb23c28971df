/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TAP output of the guest test programs (guest_fs_test, guest_acl_test, guest_perm_test): one
 * numbered line per check, "ok N - name", "not ok N - name: detail", "ok N - name # SKIP why"
 * (the guest kernel lacks a feature) or "not ok N - name: detail # TODO why" (a result the guest
 * kernel decides, not the daemon). A check returns through fail()/skip()/CHECK()/SYS(); the
 * program prints the plan "1..test_no" itself. Each program includes this once: the state is
 * static.
 */
#ifndef VFSD_TESTS_VM_GUEST_TAP_H
#define VFSD_TESTS_VM_GUEST_TAP_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int test_no, n_failed, n_skipped;
/* Why the current check failed (the first reason wins), or why it was skipped. */
static char detail[1024];
static bool skip_requested;

/* Records why the current check failed, unless a reason is already recorded; returns -1. */
__attribute__((format(printf, 1, 2))) static inline int fail(const char *fmt, ...)
{
	if (detail[0] == '\0') {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Marks the current check as skipped (a feature absent in the guest kernel); returns 0. */
__attribute__((format(printf, 1, 2))) static inline int skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	skip_requested = true;
	return 0;
}

#define CHECK(cond, ...)                          \
	do {                                      \
		if (!(cond))                      \
			return fail(__VA_ARGS__); \
	} while (0)
/* A system call that must succeed; on failure report the call and errno. */
#define SYS(call)                                                                          \
	do {                                                                               \
		if ((call) < 0)                                                            \
			return fail("%s: %s (line %d)", #call, strerror(errno), __LINE__); \
	} while (0)

/* Announces the next check, so that a guest that hangs in it names it. */
static inline void tap_begin(const char *name)
{
	detail[0] = '\0';
	skip_requested = false;
	printf("# running %d - %s\n", test_no + 1, name);
	fflush(stdout);
}

/* Prints the result of the next check: r 0 passed. todo (may be NULL): a failure is reported
 * as "# TODO todo" and not counted as failed. */
static inline void tap_end(const char *name, int r, const char *todo)
{
	test_no++;
	if (r == 0 && skip_requested) {
		n_skipped++;
		printf("ok %d - %s # SKIP %s\n", test_no, name, detail);
	} else if (r == 0) {
		printf("ok %d - %s\n", test_no, name);
	} else if (todo) {
		printf("not ok %d - %s: %s # TODO %s\n", test_no, name,
		       detail[0] ? detail : "failed", todo);
	} else {
		n_failed++;
		printf("not ok %d - %s: %s\n", test_no, name, detail[0] ? detail : "failed");
	}
	fflush(stdout);
	detail[0] = '\0';
	skip_requested = false;
}

#endif
