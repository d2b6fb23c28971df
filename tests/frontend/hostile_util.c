/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers shared by the hostile families: daemon restarts, outcome checks, raw buffers. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hostile.h"
#include "util/macros.h"

static long log_offset;

void hx_check_log(struct th *t)
{
	if (th_log_scan(t, &log_offset))
		th_fail(t, __FILE__, __LINE__, "sanitizer report in the daemon's log");
}

static void check_exit(struct th *t, int status, int want_code)
{
	if (status == -ETIMEDOUT) {
		th_fail(t, __FILE__, __LINE__, "daemon did not exit after its frontend left");
		kill(t->daemon, SIGKILL);
		th_daemon_wait(t, 3000);
		return;
	}
	if (status < 0)
		return; /* no daemon running */
	if (WIFSIGNALED(status)) {
		th_fail(t, __FILE__, __LINE__, "daemon killed by signal %d", WTERMSIG(status));
		return;
	}
	int code = WEXITSTATUS(status);
	/* The namespace sandbox's outer parent relays a child's death by signal as 128+sig. */
	if (code >= 128)
		th_fail(t, __FILE__, __LINE__, "daemon died (exit %d = signal %d)", code,
			code - 128);
	else if (want_code >= 0 && code != want_code)
		th_fail(t, __FILE__, __LINE__, "daemon exit code %d, want %d", code, want_code);
}

int hx_restart(struct th *t, const struct fe_options *opts, int want_code)
{
	int r;

	fe_free(t->fe);
	t->fe = NULL;
	check_exit(t, th_daemon_wait(t, 5000), want_code);
	hx_check_log(t);
	if ((r = th_daemon_start(t)) < 0 || (r = th_connect(t, opts)) < 0 ||
	    (r = fe_init(t->fe, 38, th_init_flags())) < 0) {
		th_fail(t, __FILE__, __LINE__, "restart: %s", strerror(-r));
		return r;
	}
	return 0;
}

struct fe_options hx_two_queues(void)
{
	struct fe_options o = {.num_request_queues = 2};
	return o;
}

int hx_set_err_fd(struct th *t, unsigned q)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint64_t idx = q;

	if (fd < 0)
		return -errno;
	int r = fe_vhu_call(t->fe, VHU_SET_VRING_ERR, &idx, sizeof(idx), &fd, 1, NULL);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

bool hx_fd_signalled(int fd, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	uint64_t v;

	if (poll(&p, 1, timeout_ms) <= 0)
		return false;
	return read(fd, &v, sizeof(v)) == sizeof(v) && v > 0;
}

void hx_expect_serving(struct th *t, unsigned q)
{
	struct fuse_attr_out a;

	fe_fuse_set_queue(t->fe, q);
	int r = fe_getattr(t->fe, FE_ROOT_ID, NULL, &a);
	fe_fuse_set_queue(t->fe, 1);
	if (r != 0)
		th_fail(t, __FILE__, __LINE__, "GETATTR on queue %u: %d", q, r);
	/* FORGET of a node nobody has: the hiprio queue completes it with no reply. */
	r = fe_forget(t->fe, 0x7fff0000ull, 1);
	if (r != 0)
		th_fail(t, __FILE__, __LINE__, "FORGET on hiprio: %d", r);
}

void hx_expect_dropped(struct th *t)
{
	uint8_t junk[64];
	struct vhu_hdr h;
	int r;

	/* Anything the daemon still says before closing is read and ignored. */
	do
		r = fe_vhu_recv(t->fe, &h, junk, sizeof(junk), 3000);
	while (r == 0 || r == -EMSGSIZE);
	if (r != -ECONNRESET)
		th_fail(t, __FILE__, __LINE__, "connection not dropped: %s", strerror(-r));
}

int hx_getattr_bufs(struct th *t, struct hx_req *r)
{
	struct {
		struct fuse_in_header ih;
		struct fuse_getattr_in in;
	} req = {
		.ih = {.len = sizeof(req),
		       .opcode = FUSE_GETATTR,
		       .unique = 0x4000 + t->seq++,
		       .nodeid = FE_ROOT_ID},
	};
	int e;

	r->in_len = sizeof(req);
	r->out_len = sizeof(struct fuse_out_header) + sizeof(struct fuse_attr_out);
	if ((e = fe_mem_alloc(t->fe, r->in_len, &r->in_gpa)) < 0 ||
	    (e = fe_mem_alloc(t->fe, r->out_len, &r->out_gpa)) < 0)
		return e;
	return fe_mem_write(t->fe, r->in_gpa, &req, sizeof(req));
}

bool hx_getattr_reply_ok(struct th *t, const struct hx_req *r, uint32_t used_len)
{
	struct fuse_out_header oh;
	struct fuse_attr_out a;

	if (used_len != r->out_len || fe_mem_read(t->fe, r->out_gpa, &oh, sizeof(oh)) < 0 ||
	    fe_mem_read(t->fe, r->out_gpa + sizeof(oh), &a, sizeof(a)) < 0)
		return false;
	return oh.error == 0 && oh.len == r->out_len && S_ISDIR(a.attr.mode);
}
