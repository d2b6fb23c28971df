/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Minimal assertions for the unit tests: a failed CHECK prints where and why and makes the test
 * program exit non-zero at the end (tests keep going to report every failure at once).
 */
#ifndef VFSD_TESTS_CHECK_H
#define VFSD_TESTS_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                                              \
	do {                                                                                     \
		check_count++;                                                                   \
		if (!(cond)) {                                                                   \
			check_failures++;                                                        \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                                \
	} while (0)

#define CHECK_EQ(a, b)                                                                       \
	do {                                                                                 \
		long long _a_ = (long long)(a), _b_ = (long long)(b);                        \
		check_count++;                                                               \
		if (_a_ != _b_) {                                                            \
			check_failures++;                                                    \
			fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (%lld != %lld)\n", \
				__FILE__, __LINE__, #a, #b, _a_, _b_);                       \
		}                                                                            \
	} while (0)

#define CHECK_STREQ(a, b)                                                                   \
	do {                                                                                \
		const char *_a_ = (a), *_b_ = (b);                                          \
		check_count++;                                                              \
		if (!_a_ || !_b_ || strcmp(_a_, _b_) != 0) {                                \
			check_failures++;                                                   \
			fprintf(stderr,                                                     \
				"%s:%d: CHECK_STREQ failed: %s == %s (\"%s\" != \"%s\")\n", \
				__FILE__, __LINE__, #a, #b, _a_ ? _a_ : "(null)",           \
				_b_ ? _b_ : "(null)");                                      \
		}                                                                           \
	} while (0)

/* Return this from main(). */
static inline int check_report(const char *name)
{
	fprintf(stderr, "%s: %d checks, %d failed\n", name, check_count, check_failures);
	return check_failures ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
