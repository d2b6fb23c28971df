/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Logging to stderr or syslog with a level. On stderr each line is one write(2) of
 * "[2026-12-06T15:00:00.123Z INFO  vfsd] message": an ISO-8601 UTC timestamp (milliseconds) and
 * the level, so lines of the supervisor and the sandboxed daemon interleave whole. Every message
 * a guest can trigger goes through log_ratelimited() so a hostile guest cannot flood the host log.
 */
#ifndef VFSD_UTIL_LOG_H
#define VFSD_UTIL_LOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/macros.h"

enum log_level {
	LOG_LEVEL_OFF = 0,
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_TRACE,
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "off|error|warn|info|debug|trace"; returns 0 or -EINVAL. */
int log_level_from_string(const char *s, enum log_level *ret);
void log_use_syslog(bool on);

void log_msg(enum log_level level, const char *fmt, ...) _printf_(2, 3);

/* True when a message at this level would be printed; lets callers skip formatting work. */
static inline bool log_enabled(enum log_level level)
{
	return level <= log_get_level();
}

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)                                         \
	do {                                                   \
		if (log_enabled(LOG_LEVEL_DEBUG))              \
			log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__); \
	} while (0)
#define log_trace(...)                                         \
	do {                                                   \
		if (log_enabled(LOG_LEVEL_TRACE))              \
			log_msg(LOG_LEVEL_TRACE, __VA_ARGS__); \
	} while (0)

/*
 * A token bucket per call site, for every line a guest can trigger: at most `burst` lines at once,
 * refilled at one line per LOG_RATELIMIT_INTERVAL_MS. The bucket is one atomic word (the time of
 * the last refill in ms and the tokens left), changed only by compare-and-swap, so concurrent
 * callers can neither take the same token twice nor wrap the count; refused lines are counted and
 * the next line that goes out says how many ("... (N similar messages suppressed)").
 */
#define LOG_RATELIMIT_BURST	  10
#define LOG_RATELIMIT_INTERVAL_MS 1000

struct log_ratelimit {
	_Atomic uint64_t state;	     /* refill time (ms, +1) << 16 | tokens; 0: never used */
	_Atomic uint64_t suppressed; /* lines refused since the last one that went out */
};

/*
 * True if a line may go out now; then *ret_suppressed is the number refused before it (to be
 * reported with it, and reset). burst is at most 65535. Safe from any number of threads.
 */
bool log_ratelimit_ok(struct log_ratelimit *rl, unsigned burst, uint64_t *ret_suppressed);
/* The same with the clock given (monotonic milliseconds), for tests. */
bool log_ratelimit_ok_at(struct log_ratelimit *rl, unsigned burst, uint64_t now_ms,
			 uint64_t *ret_suppressed);
/* Refilled at one line per interval_ms (at least 1) instead of LOG_RATELIMIT_INTERVAL_MS. */
bool log_ratelimit_ok_every(struct log_ratelimit *rl, unsigned burst, unsigned interval_ms,
			    uint64_t now_ms, uint64_t *ret_suppressed);
uint64_t log_now_ms(void);

/* log_msg() with " (N similar messages suppressed)" appended when suppressed is not 0. */
void log_msg_limited(enum log_level level, uint64_t suppressed, const char *fmt, ...)
	_printf_(3, 4);

#define log_ratelimited(level, ...)                                                             \
	do {                                                                                    \
		static struct log_ratelimit _rl_;                                               \
		uint64_t _sup_;                                                                 \
		if (log_enabled(level) && log_ratelimit_ok(&_rl_, LOG_RATELIMIT_BURST, &_sup_)) \
			log_msg_limited(level, _sup_, __VA_ARGS__);                             \
	} while (0)

/*
 * Debug lines that trace normal traffic (every FUSE request, every vhost-user message) are
 * useful only in bulk, so their bucket is larger and refills faster than the one for errors:
 * LOG_FLOW_BURST lines at once, then 1000 / LOG_FLOW_INTERVAL_MS a second (about 25 KB/s of log
 * at most per call site), and each line that gets out after a gap says how many were dropped.
 */
#define LOG_FLOW_BURST	     256
#define LOG_FLOW_INTERVAL_MS 5

#define log_flow(level, ...)                                                            \
	do {                                                                            \
		static struct log_ratelimit _rl_;                                       \
		uint64_t _sup_;                                                         \
		if (log_enabled(level) &&                                               \
		    log_ratelimit_ok_every(&_rl_, LOG_FLOW_BURST, LOG_FLOW_INTERVAL_MS, \
					   log_now_ms(), &_sup_))                       \
			log_msg_limited(level, _sup_, __VA_ARGS__);                     \
	} while (0)

#endif
