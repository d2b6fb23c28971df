/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * util/log: the line format on stderr, and the per-call-site rate limiter. The limiter is
 * hammered from several threads at once: with the clock held still exactly `burst` lines may pass,
 * and every refused line must be reported exactly once by a later line (no token taken twice, no
 * count wrapped, none lost). Run under ASan in the sanitizer pass; it also builds with
 * -fsanitize=thread for a data race check by hand (not in CI).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "util/log.h"

#define THREADS 8
#define CALLS	100000

/* One clock for every thread: the bucket never refills during the hammering. */
#define FIXED_MS 123456

static struct log_ratelimit shared_rl;
static _Atomic uint64_t passed, reported;
static atomic_bool go;
static bool use_real_clock;
static uint64_t real_clock_until_ms;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void *hammer(void *arg)
{
	uint64_t sup, calls = 0;

	(void)arg;
	while (!atomic_load(&go))
		;
	for (;;) {
		bool ok;

		if (use_real_clock) {
			if (now_ms() >= real_clock_until_ms)
				break;
			ok = log_ratelimit_ok(&shared_rl, LOG_RATELIMIT_BURST, &sup);
		} else {
			if (calls == CALLS)
				break;
			ok = log_ratelimit_ok_at(&shared_rl, LOG_RATELIMIT_BURST, FIXED_MS, &sup);
		}
		calls++;
		if (ok) {
			atomic_fetch_add(&passed, 1);
			atomic_fetch_add(&reported, sup);
		}
	}
	return (void *)(uintptr_t)calls;
}

/* Runs THREADS hammers at once; returns the number of calls they made. */
static uint64_t run_hammers(void)
{
	pthread_t t[THREADS];
	uint64_t calls = 0;

	memset(&shared_rl, 0, sizeof(shared_rl));
	atomic_store(&passed, 0);
	atomic_store(&reported, 0);
	atomic_store(&go, false);
	for (int i = 0; i < THREADS; i++)
		CHECK(pthread_create(&t[i], NULL, hammer, NULL) == 0);
	atomic_store(&go, true);
	for (int i = 0; i < THREADS; i++) {
		void *r;

		CHECK(pthread_join(t[i], &r) == 0);
		calls += (uint64_t)(uintptr_t)r;
	}
	return calls;
}

static void test_bucket_sequence(void)
{
	struct log_ratelimit rl = {0};
	uint64_t sup = 99, t = 5000;
	int n = 0;

	for (int i = 0; i < 10; i++) {
		CHECK(log_ratelimit_ok_at(&rl, 10, t, &sup));
		CHECK_EQ(sup, 0);
	}
	CHECK(!log_ratelimit_ok_at(&rl, 10, t, &sup));
	CHECK(!log_ratelimit_ok_at(&rl, 10, t + 1, &sup));
	CHECK(!log_ratelimit_ok_at(&rl, 10, t + 999, &sup));
	/* One token a second; the line that gets it reports the three refused before it. */
	CHECK(log_ratelimit_ok_at(&rl, 10, t + 1000, &sup));
	CHECK_EQ(sup, 3);
	CHECK(!log_ratelimit_ok_at(&rl, 10, t + 1500, &sup));
	/* 4.5 s later: four more tokens, not more. */
	for (int i = 0; i < 10; i++)
		n += log_ratelimit_ok_at(&rl, 10, t + 5500, &sup);
	CHECK_EQ(n, 4);
	/* An idle minute fills the bucket, but only up to the burst. */
	n = 0;
	for (int i = 0; i < 30; i++)
		n += log_ratelimit_ok_at(&rl, 10, t + 65500, &sup);
	CHECK_EQ(n, 10);
	/* A clock reading older than the last refill (another thread's) changes nothing. */
	CHECK(!log_ratelimit_ok_at(&rl, 10, t + 65000, &sup));
}

/*
 * The clock held still: exactly `burst` lines pass however many threads race for them, and
 * after a refill the next line reports every refused one.
 */
static void test_threads_fixed_clock(void)
{
	uint64_t calls = run_hammers(), sup = 0;

	CHECK_EQ(calls, (uint64_t)THREADS * CALLS);
	CHECK_EQ(atomic_load(&passed), LOG_RATELIMIT_BURST);
	CHECK(log_ratelimit_ok_at(&shared_rl, LOG_RATELIMIT_BURST, FIXED_MS + 1000, &sup));
	CHECK_EQ(atomic_load(&reported) + sup, calls - LOG_RATELIMIT_BURST);
}

/* The real clock for 1.5 s: the burst plus one line a second, whatever the threads do. */
static void test_threads_real_clock(void)
{
	uint64_t start = now_ms(), calls, elapsed;

	use_real_clock = true;
	real_clock_until_ms = start + 1500;
	calls = run_hammers();
	elapsed = now_ms() - start;
	use_real_clock = false;
	CHECK(calls > 1000);
	CHECK(atomic_load(&passed) >= LOG_RATELIMIT_BURST);
	CHECK(atomic_load(&passed) <= LOG_RATELIMIT_BURST + elapsed / 1000 + 1);
	fprintf(stderr, "real clock: %llu calls from %d threads, %llu lines in %llu ms\n",
		(unsigned long long)calls, THREADS, (unsigned long long)atomic_load(&passed),
		(unsigned long long)elapsed);
}

/* "[YYYY-MM-DDTHH:MM:SS.mmmZ LEVEL vfsd] " */
static bool has_prefix(const char *line, const char *level)
{
	static const char shape[] = "[dddd-dd-ddTdd:dd:dd.dddZ ";
	size_t n = sizeof(shape) - 1;

	for (size_t i = 0; i < n; i++) {
		if (shape[i] == 'd' ? (line[i] < '0' || line[i] > '9') : line[i] != shape[i])
			return false;
	}
	return strncmp(line + n, level, strlen(level)) == 0;
}

/* The traffic bucket (log_flow): its own refill interval, the same accounting. */
static void test_bucket_every(void)
{
	struct log_ratelimit rl = {0};
	uint64_t sup = 99, t = 7000;
	int n = 0;

	for (int i = 0; i < 300; i++)
		n += log_ratelimit_ok_every(&rl, 256, 5, t, &sup);
	CHECK_EQ(n, 256);
	/* 5 ms later one more line, reporting the 44 refused; 4 ms after it none. */
	CHECK(log_ratelimit_ok_every(&rl, 256, 5, t + 5, &sup));
	CHECK_EQ(sup, 44);
	CHECK(!log_ratelimit_ok_every(&rl, 256, 5, t + 9, &sup));
	/* 100 ms: 20 lines. */
	n = 0;
	for (int i = 0; i < 100; i++)
		n += log_ratelimit_ok_every(&rl, 256, 5, t + 105, &sup);
	CHECK_EQ(n, 20);
	/* An interval of 0 is taken as 1 ms, not a division by zero. */
	n = 0;
	for (int i = 0; i < 300; i++)
		n += log_ratelimit_ok_every(&rl, 256, 0, t + 1000, &sup);
	CHECK_EQ(n, 256);
}

static void test_format(void)
{
	char path[] = "/tmp/vfsd-log-test-XXXXXX", lines[4][512];
	int fd = mkstemp(path), saved = dup(STDERR_FILENO), n = 0;
	FILE *f;

	CHECK(fd >= 0 && saved >= 0);
	if (fd < 0 || saved < 0)
		return;
	dup2(fd, STDERR_FILENO);
	log_set_level(LOG_LEVEL_INFO);
	log_msg_limited(LOG_LEVEL_WARN, 7, "hello %d", 42);
	log_msg(LOG_LEVEL_INFO, "plain");
	log_msg(LOG_LEVEL_DEBUG, "not at info level");
	/* One call site, 100 calls at once: the burst gets through, the rest is counted. */
	for (int i = 0; i < 100; i++)
		log_ratelimited(LOG_LEVEL_ERROR, "flood %d", i);
	dup2(saved, STDERR_FILENO);
	close(saved);

	f = fopen(path, "re");
	CHECK(f != NULL);
	while (f && n < 4 && fgets(lines[n], sizeof(lines[n]), f))
		n++;
	for (char line[512]; f && fgets(line, sizeof(line), f);)
		n++;
	if (f)
		fclose(f);
	unlink(path);
	close(fd);
	CHECK_EQ(n, 2 + LOG_RATELIMIT_BURST);
	CHECK(has_prefix(lines[0], "WARN  vfsd] hello 42 (7 similar messages suppressed)\n"));
	CHECK(has_prefix(lines[1], "INFO  vfsd] plain\n"));
	CHECK(has_prefix(lines[2], "ERROR vfsd] flood 0\n"));
	CHECK(has_prefix(lines[3], "ERROR vfsd] flood 1\n"));
}

int main(void)
{
	test_bucket_sequence();
	test_bucket_every();
	test_threads_fixed_clock();
	test_threads_real_clock();
	test_format();
	return check_report("util-log");
}
