// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Device state transfer as QEMU 11.1 does it (hw/virtio/vhost.c, observed with -trace): a pipe
 * per transfer, our end kept, the other end sent with SET_DEVICE_STATE_FD; the daemon's reply
 * must say "no fd" (bit 8) and success (bits 0-7 zero) before we read or write; then EOF, then
 * CHECK_DEVICE_STATE.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fe_internal.h"

#define FE_STATE_MAX  (256u << 20)
#define FE_STATE_WAIT 10000 /* ms without progress on the pipe */
#define STATE_SAVE    0u
#define STATE_LOAD    1u
#define STATE_STOPPED 0u

struct fe_dstate {
	uint32_t direction;
	uint32_t phase;
};

static int pipe_wait(int fd, short events)
{
	struct pollfd p = {.fd = fd, .events = events};
	int r = poll(&p, 1, FE_STATE_WAIT);

	if (r < 0)
		return -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

static int read_all(int fd, void **ret_buf, size_t *ret_len)
{
	size_t len = 0, cap = 0;
	uint8_t *buf = NULL;

	for (;;) {
		ssize_t n;
		int r;

		if (len == cap) {
			uint8_t *p;

			cap = cap ? cap * 2 : 65536;
			p = cap <= FE_STATE_MAX ? realloc(buf, cap) : NULL;
			if (!p) {
				free(buf);
				return -ENOMEM;
			}
			buf = p;
		}
		r = pipe_wait(fd, POLLIN);
		if (r < 0) {
			free(buf);
			return r;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

static int write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n;
		int r = pipe_wait(fd, POLLOUT);

		if (r < 0)
			return r;
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno; /* EPIPE: the daemon gave up reading */
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int set_fd(struct fe *fe, uint32_t direction, int fd, uint64_t *ret_set)
{
	struct fe_dstate s = {direction, STATE_STOPPED};

	return fe_vhu_call(fe, VHU_SET_DEVICE_STATE_FD, &s, sizeof(s), &fd, 1, ret_set);
}

/* QEMU goes on only with bits 0-7 zero and the "no fd" bit set (we never take the daemon's). */
static bool set_ok(uint64_t v)
{
	return (v & 0xff) == 0 && (v & (1ull << 8));
}

int fe_state_save(struct fe *fe, void **ret_buf, size_t *ret_len, uint64_t *ret_set,
		  uint64_t *ret_check)
{
	int p[2], r;

	*ret_buf = NULL;
	*ret_len = 0;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	r = set_fd(fe, STATE_SAVE, p[1], ret_set);
	close(p[1]);
	if (r == 0 && set_ok(*ret_set))
		r = read_all(p[0], ret_buf, ret_len);
	close(p[0]);
	if (r == 0)
		r = fe_vhu_call(fe, VHU_CHECK_DEVICE_STATE, NULL, 0, NULL, 0, ret_check);
	return r;
}

int fe_state_load(struct fe *fe, const void *buf, size_t len, uint64_t *ret_set,
		  uint64_t *ret_check)
{
	int p[2], r;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	r = set_fd(fe, STATE_LOAD, p[0], ret_set);
	close(p[0]);
	if (r == 0 && set_ok(*ret_set)) {
		/* EPIPE when the daemon refused early: CHECK tells why. */
		int w = write_all(p[1], buf, len);

		if (w < 0 && w != -EPIPE)
			r = w;
	}
	close(p[1]);
	if (r == 0)
		r = fe_vhu_call(fe, VHU_CHECK_DEVICE_STATE, NULL, 0, NULL, 0, ret_check);
	return r;
}

int fe_state_incoming(struct fe *fe, const void *buf, size_t len)
{
	uint64_t set = 0;
	int r;

	if (fe->protocol_features & (1ull << VHU_PROTO_RESET_DEVICE)) {
		r = fe_vhu_call(fe, VHU_RESET_DEVICE, NULL, 0, NULL, 0, NULL);
		if (r < 0)
			return r;
	}
	return fe_state_load(fe, buf, len, &set, &fe->state_check);
}

uint64_t fe_state_check(const struct fe *fe)
{
	return fe->state_check;
}
