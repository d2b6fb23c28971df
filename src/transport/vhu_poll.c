/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Adaptive polling, for inline queues. A guest doing synchronous I/O sends its next request a
 * few microseconds after our reply; sleeping in poll() in between costs a kick on its side and a
 * wake-up on ours, which on a busy or virtualised host take longer than the request itself. So
 * after going idle the worker watches the ring for a window, with kicks suppressed, before it
 * sleeps. The window halves after every miss and reaches zero after a few, so an idle queue
 * costs nothing. A kick that comes within --poll-max-ns of going idle (spin included) widens a
 * window that is still open, sized to the gap seen. A closed window opens again only as a probe,
 * once every VHU_POLL_PROBE such kicks, and stays open while the probes hit: the gap includes our
 * own wake-up, so a short gap does not prove that polling would have caught the request, and
 * under a guest whose requests come just too late for the window (an emulated guest with
 * several jobs: measured) spinning only takes CPU from the guest. A pool never polls: its
 * threads need the CPUs.
 */
#include <stdint.h>
#include <time.h>

#include "transport/vhu_priv.h"
#include "util/macros.h"

#define VHU_POLL_MIN_NS 1000u
#define VHU_POLL_PROBE	32u

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

bool vhu_queue_poll(struct vhu_queue *q, struct vhu_poll *p)
{
	uint64_t start;
	bool again;

	p->idle_since = now_ns();
	if (p->window_ns == 0 || __atomic_load_n(&q->vq.broken, __ATOMIC_RELAXED))
		return false;
	vhu_pop_lock(q);
	vq_suppress_notify(&q->vq);
	vhu_pop_unlock(q);
	start = now_ns();
	do {
		for (unsigned i = 0; i < 32; i++) {
			if (vq_avail_pending(&q->vq))
				return true;
			cpu_relax();
		}
		if (__atomic_load_n(&q->pausing, __ATOMIC_RELAXED))
			break;
	} while (now_ns() - start < p->window_ns);
	p->window_ns /= 2;
	if (p->window_ns < VHU_POLL_MIN_NS)
		p->window_ns = 0;
	vhu_pop_lock(q);
	again = vq_enable_notify(&q->vq);
	vhu_pop_unlock(q);
	return again;
}

void vhu_poll_kicked(struct vhu_poll *p)
{
	uint64_t gap = now_ns() - p->idle_since;

	if (gap >= p->max_ns)
		return;
	if (p->window_ns == 0) {
		if (++p->kicks_closed < VHU_POLL_PROBE)
			return;
		p->kicks_closed = 0;
		p->window_ns = p->max_ns;
		return;
	}
	p->window_ns = MAX(p->window_ns * 2, gap + gap / 2);
	p->window_ns = MIN(MAX(p->window_ns, (uint64_t)VHU_POLL_MIN_NS), p->max_ns);
}
