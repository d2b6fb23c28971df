// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The vhost-user message handlers (transport/vhu_msg.c, vhu_vring.c) through
 * vhu_msg_dispatch(), the entry point the session loop calls for each received message.
 *
 * Input: a device byte (request queues, thread pool), then messages. A message is the 12-byte
 * header, an fd byte (count 0..8, and whether memory messages get an eventfd instead of a
 * memfd), then hdr.size payload bytes. The session loop's own checks are applied first (version
 * flags, payload size, a truncated message ends the connection); a protocol violation ends it
 * too. Fds are fresh memfds (1 MiB, for memory messages) or eventfds, closed afterwards like
 * the session loop does with those the handler did not take (SET_LOG_BASE gets a memfd too). After
 * the device is freed, the process must hold exactly the fds it held before the input.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_input.h"
#include "transport/vhu_priv.h"
#include "util/log.h"

#define MEMFD_SIZE   (1u << 20)
#define MAX_MESSAGES 64

static struct vhu_msg *msg;

/* Claims the first writable buffer was written, so a dirty log (if on) gets marked. */
static void handle(void *opaque, struct vhu_req *req)
{
	vhu_req_done(req, req->nwr ? req->wr[0].iov_len : 0);
}

static void reset(void *opaque)
{
}

static unsigned count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	FZ_CHECK(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static bool wants_memory(uint32_t request)
{
	return request == VHU_SET_MEM_TABLE || request == VHU_ADD_MEM_REG ||
	       request == VHU_REM_MEM_REG || request == VHU_SET_LOG_BASE ||
	       request == VHU_SET_DEVICE_STATE_FD; /* a file to write or read to EOF */
}

static int make_fd(bool memory)
{
	int fd;

	if (!memory)
		return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	fd = memfd_create("fuzz-guest", MFD_CLOEXEC);
	if (fd >= 0 && ftruncate(fd, MEMFD_SIZE) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Device state: a blob larger than a pipe holds, and a load that takes a few sizes only. */
static int state_save(void *opaque, void **ret_buf, size_t *ret_len)
{
	*ret_buf = calloc(1, 100000);
	if (!*ret_buf)
		return -ENOMEM;
	*ret_len = 100000;
	return 0;
}

static int state_load(void *opaque, const void *buf, size_t len)
{
	return len % 3 ? -EBADMSG : 0;
}

/* 1: dispatched, 0: the connection ends here. */
static int one_message(struct vhu_dev *dev, struct fz_in *in)
{
	uint8_t fdb;
	int r;

	if (fz_bytes(in, &msg->hdr, sizeof(msg->hdr)) < sizeof(msg->hdr))
		return 0;
	fdb = fz_u8(in);
	if ((msg->hdr.flags & VHU_FLAG_VERSION_MASK) != VHU_FLAG_VERSION ||
	    msg->hdr.size > VHU_MAX_PAYLOAD)
		return 0;
	memset(&msg->payload, 0, sizeof(msg->payload));
	if (fz_bytes(in, &msg->payload, msg->hdr.size) < msg->hdr.size)
		return 0;
	msg->nfds = 0;
	for (unsigned i = 0; i < (fdb & 0x0fu) % (VHU_MAX_FDS + 1); i++) {
		int fd = make_fd(wants_memory(msg->hdr.request) && !(fdb & 0x10u));

		FZ_CHECK(fd >= 0);
		msg->fds[msg->nfds++] = fd;
	}

	r = vhu_msg_dispatch(dev, msg);
	for (unsigned i = 0; i < msg->nfds; i++)
		msg->fds[i] = safe_close(msg->fds[i]);
	FZ_CHECK(r == 0 || r == VHU_EPROTO);
	if (r == 0 && msg->has_reply)
		FZ_CHECK(msg->reply_size <= sizeof(msg->reply));
	return r == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = {data, size};
	uint8_t devb = fz_u8(&in);
	struct vhu_config cfg = {
		.tag = "fuzz",
		/* A DAX window: GET_SHMEM_CONFIG and the window-map check of new regions. */
		.shm_size = (devb & 0x40) ? 1ull << 21 : 0,
		.max_request_queues = 1 + devb % 3,
		.thread_pool_size = (devb >> 2) % 3,
	};
	struct vhu_callbacks cb = {
		.handle = handle,
		.reset = reset,
		.state_save = state_save,
		.state_load = state_load,
	};
	struct vhu_dev *dev;
	unsigned before;

	log_set_level(LOG_LEVEL_OFF);
	if (!msg) {
		msg = malloc(sizeof(*msg));
		FZ_CHECK(msg);
	}
	before = count_fds();
	FZ_CHECK(vhu_dev_new(&cfg, &cb, NULL, &dev) == 0);
	for (unsigned i = 0; i < MAX_MESSAGES && one_message(dev, &in); i++)
		;
	vhu_dev_free(dev);
	FZ_CHECK(count_fds() == before);
	return 0;
}
