/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Logging to stderr or syslog with a level. Guest-triggered messages go through
 * log_ratelimited() so a hostile guest cannot flood the host log.
 */
#ifndef VFSD_UTIL_LOG_H
#define VFSD_UTIL_LOG_H

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

/*
 * A token bucket per call site: at most `burst` messages, refilled at one per second.
 * Use for anything a guest can trigger.
 */
struct log_ratelimit {
	uint64_t last_ns;
	unsigned tokens;
	unsigned suppressed;
};
bool log_ratelimit_ok(struct log_ratelimit *rl, unsigned burst);

#define log_ratelimited(level, ...)                                    \
	do {                                                           \
		static struct log_ratelimit _rl_;                      \
		if (log_enabled(level) && log_ratelimit_ok(&_rl_, 10)) \
			log_msg(level, __VA_ARGS__);                   \
	} while (0)

#endif
