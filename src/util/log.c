/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

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

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const int prio[] = {
		[LOG_LEVEL_OFF] = LOG_DEBUG,	[LOG_LEVEL_ERROR] = LOG_ERR,
		[LOG_LEVEL_WARN] = LOG_WARNING, [LOG_LEVEL_INFO] = LOG_INFO,
		[LOG_LEVEL_DEBUG] = LOG_DEBUG,	[LOG_LEVEL_TRACE] = LOG_DEBUG,
	};
	int saved = errno;
	va_list ap;

	if (level == LOG_LEVEL_OFF || level > log_get_level())
		return;
	va_start(ap, fmt);
	if (atomic_load(&use_syslog)) {
		vsyslog(prio[level], fmt, ap);
	} else {
		char buf[1024];
		vsnprintf(buf, sizeof(buf), fmt, ap);
		fprintf(stderr, "vfsd[%s]: %s\n", level_names[level], buf);
	}
	va_end(ap);
	errno = saved;
}

bool log_ratelimit_ok(struct log_ratelimit *rl, unsigned burst)
{
	/* Racy by design: a lost update only lets one extra line through. */
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	if (rl->last_ns == 0) {
		rl->last_ns = now;
		rl->tokens = burst;
	}
	if (now - rl->last_ns >= 1000000000ull) {
		uint64_t add = (now - rl->last_ns) / 1000000000ull;
		rl->tokens = (unsigned)MIN((uint64_t)burst, rl->tokens + add);
		rl->last_ns = now;
	}
	if (rl->tokens == 0) {
		rl->suppressed++;
		return false;
	}
	rl->tokens--;
	return true;
}
