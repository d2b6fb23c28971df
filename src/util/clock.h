/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Condition variables timed on CLOCK_MONOTONIC, so that a change of the wall clock neither
 * cuts a wait short nor stretches it.
 */
#ifndef VFSD_UTIL_CLOCK_H
#define VFSD_UTIL_CLOCK_H

#include <pthread.h>
#include <time.h>

/* pthread_cond_init() for cond_wait_ms(); 0 or an error number, as pthread functions return. */
static inline int cond_init_monotonic(pthread_cond_t *c)
{
	pthread_condattr_t ca;
	int r;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	r = pthread_cond_init(c, &ca);
	pthread_condattr_destroy(&ca);
	return r;
}

/* Waits on c, with m held, until signalled or ms milliseconds have passed. */
static inline void cond_wait_ms(pthread_cond_t *c, pthread_mutex_t *m, long ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(c, m, &ts);
}

#endif
