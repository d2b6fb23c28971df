/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

static _Atomic int cur_level = LOG_LEVEL_INFO;
static _Atomic bool use_syslog;

static const char *const level_names[] = {
	[LOG_LEVEL_OFF] = "off",   [LOG_LEVEL_ERROR] = "error", [LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_INFO] = "info", [LOG_LEVEL_DEBUG] = "debug", [LOG_LEVEL_TRACE] = "trace",
};

void log_set_level(enum log_level level)
{
	atomic_store(&cur_level, (int)level);
}

enum log_level log_get_level(void)
{
	return (enum log_level)atomic_load_explicit(&cur_level, memory_order_relaxed);
}

int log_level_from_string(const char *s, enum log_level *ret)
{
	for (size_t i = 0; i < ARRAY_SIZE(level_names); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*ret = (enum log_level)i;
			return 0;
		}
	}
	/* The old C virtiofsd spelling. */
	if (strcmp(s, "err") == 0) {
		*ret = LOG_LEVEL_ERROR;
		return 0;
	}
	return -EINVAL;
}

void log_use_syslog(bool on)
{
	if (on)
		openlog("vfsd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	atomic_store(&use_syslog, on);
}

/* Fixed width, as operators grep and align them. */
static const char *const level_tags[] = {
	[LOG_LEVEL_OFF] = "OFF  ",  [LOG_LEVEL_ERROR] = "ERROR", [LOG_LEVEL_WARN] = "WARN ",
	[LOG_LEVEL_INFO] = "INFO ", [LOG_LEVEL_DEBUG] = "DEBUG", [LOG_LEVEL_TRACE] = "TRACE",
};

/* "[2026-12-06T15:00:00.123Z INFO  vfsd] "; gmtime_r() reads no time zone file. */
static size_t format_prefix(char *buf, size_t size, enum log_level level)
{
	struct timespec ts;
	struct tm tm;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (!gmtime_r(&ts.tv_sec, &tm))
		memset(&tm, 0, sizeof(tm));
	n = snprintf(buf, size, "[%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s vfsd] ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     ts.tv_nsec / 1000000, level_tags[level]);
	return n < 0 ? 0 : MIN((size_t)n, size - 1);
}

_printf_(3, 0) static void log_emit(enum log_level level, uint64_t suppressed, const char *fmt,
				    va_list ap)
{
	static const int prio[] = {
		[LOG_LEVEL_OFF] = LOG_DEBUG,	[LOG_LEVEL_ERROR] = LOG_ERR,
		[LOG_LEVEL_WARN] = LOG_WARNING, [LOG_LEVEL_INFO] = LOG_INFO,
		[LOG_LEVEL_DEBUG] = LOG_DEBUG,	[LOG_LEVEL_TRACE] = LOG_DEBUG,
	};
	char msg[1024], line[1200];
	size_t len;
	int n;

	/* First, while errno is still the caller's (%m). */
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	len = n < 0 ? 0 : MIN((size_t)n, sizeof(msg) - 1);
	if (suppressed)
		snprintf(msg + len, sizeof(msg) - len, " (%llu similar messages suppressed)",
			 (unsigned long long)suppressed);
	if (atomic_load(&use_syslog)) {
		syslog(prio[level], "%s", msg);
		return;
	}
	len = format_prefix(line, sizeof(line), level);
	n = snprintf(line + len, sizeof(line) - len, "%s\n", msg);
	len += n < 0 ? 0 : MIN((size_t)n, sizeof(line) - len - 1);
	if (line[len - 1] != '\n')
		line[len - 1] = '\n';
	/* One write per line: threads and both sandbox processes share stderr. */
	(void)!write(STDERR_FILENO, line, len);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (level == LOG_LEVEL_OFF || level > log_get_level())
		return;
	va_start(ap, fmt);
	log_emit(level, 0, fmt, ap);
	va_end(ap);
	errno = saved;
}

void log_msg_limited(enum log_level level, uint64_t suppressed, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (level == LOG_LEVEL_OFF || level > log_get_level())
		return;
	va_start(ap, fmt);
	log_emit(level, suppressed, fmt, ap);
	va_end(ap);
	errno = saved;
}

#define RL_TOKEN_BITS 16
#define RL_TOKEN_MASK ((1ull << RL_TOKEN_BITS) - 1)

bool log_ratelimit_ok_every(struct log_ratelimit *rl, unsigned burst, unsigned interval_ms,
			    uint64_t now_ms, uint64_t *ret_suppressed)
{
	uint64_t old = atomic_load_explicit(&rl->state, memory_order_relaxed), next;
	/* +1: a state of 0 means "never used". */
	uint64_t now = now_ms + 1;
	uint64_t interval = interval_ms ? interval_ms : 1;

	burst = (unsigned)MIN((uint64_t)burst, RL_TOKEN_MASK);
	for (;;) {
		uint64_t t = old ? old >> RL_TOKEN_BITS : now;
		uint64_t tokens = old ? old & RL_TOKEN_MASK : burst;

		/* now < t: another thread read the clock later than we did and refilled. */
		if (now > t && now - t >= interval) {
			uint64_t add = (now - t) / interval;

			tokens = MIN((uint64_t)burst, tokens + add);
			/* A full bucket does not bank time; a partial one keeps the remainder. */
			t = tokens == burst ? now : t + add * interval;
		}
		if (tokens == 0) {
			next = t << RL_TOKEN_BITS;
			if (next == old || atomic_compare_exchange_weak(&rl->state, &old, next)) {
				atomic_fetch_add_explicit(&rl->suppressed, 1, memory_order_relaxed);
				return false;
			}
			continue;
		}
		next = t << RL_TOKEN_BITS | (tokens - 1);
		if (atomic_compare_exchange_weak(&rl->state, &old, next))
			break;
	}
	*ret_suppressed = atomic_exchange_explicit(&rl->suppressed, 0, memory_order_relaxed);
	return true;
}

bool log_ratelimit_ok_at(struct log_ratelimit *rl, unsigned burst, uint64_t now_ms,
			 uint64_t *ret_suppressed)
{
	return log_ratelimit_ok_every(rl, burst, LOG_RATELIMIT_INTERVAL_MS, now_ms, ret_suppressed);
}

uint64_t log_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

bool log_ratelimit_ok(struct log_ratelimit *rl, unsigned burst, uint64_t *ret_suppressed)
{
	return log_ratelimit_ok_at(rl, burst, log_now_ms(), ret_suppressed);
}
