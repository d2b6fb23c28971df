// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse_common.h"
#include "fuzz_input.h"
#include "util/macros.h"

#define MAX_CUTS     8
#define MAX_REQUESTS 256

/* One request's buffers; kept until the end of the input if the server deferred it. */
struct fz_req {
	struct iovec in[MAX_CUTS + 1], out[MAX_CUTS + 1];
	unsigned in_cnt, out_cnt;
	size_t room;
	bool done; /* complete() was called (atomic) */
};

static struct fz_req *deferred[MAX_REQUESTS];
static unsigned ndeferred;

static void fz_complete(void *cookie, size_t written)
{
	struct fz_req *r = cookie;

	FZ_CHECK(written <= r->room);
	FZ_CHECK(!__atomic_exchange_n(&r->done, true, __ATOMIC_ACQ_REL));
}

uint8_t fz_fuse_mode(const uint8_t *data, size_t size)
{
	return size ? data[0] : 0;
}

struct fuse_server *fz_fuse_server(const struct fs_backend *be, uint8_t mode)
{
	struct fuse_server_config cfg;

	fuse_server_config_default(&cfg);
	cfg.xattr = !(mode & FZF_XATTR_OFF);
	/* With xattrs, ACLs too: the umask and setgid paths only run once they are negotiated. */
	cfg.posix_acl = cfg.xattr;
	cfg.posix_locks = cfg.flock_locks = !(mode & FZF_NO_LOCKS);
	cfg.writeback = cfg.killpriv_v2 = true;
	cfg.security_label = true;
	return fuse_server_new(be, &cfg, fz_complete);
}

/* Cut points in (0, len), sorted and distinct, from a small LCG over the seed. */
static unsigned make_cuts(size_t len, unsigned ncuts, uint32_t seed, size_t *cuts)
{
	unsigned n = 0;

	if (len < 2)
		return 0;
	for (unsigned i = 0; i < ncuts; i++) {
		size_t c;
		unsigned j;

		seed = seed * 1103515245u + 12345u;
		c = 1 + (seed >> 8) % (len - 1);
		for (j = 0; j < n && cuts[j] < c; j++)
			;
		if (j < n && cuts[j] == c)
			continue;
		memmove(cuts + j + 1, cuts + j, (n - j) * sizeof(*cuts));
		cuts[j] = c;
		n++;
	}
	return n;
}

/* Splits [src, src + len) into exactly-sized heap pieces (src NULL: zeroed room). */
static unsigned split(struct iovec *iov, const uint8_t *src, size_t len, unsigned ncuts,
		      uint32_t seed)
{
	size_t cuts[MAX_CUTS + 1], start = 0;
	unsigned n = make_cuts(len, ncuts, seed, cuts), cnt = 0;

	cuts[n] = len;
	for (unsigned i = 0; i <= n; i++) {
		size_t plen = cuts[i] - start;
		uint8_t *p;

		if (plen == 0)
			continue;
		p = malloc(plen);
		FZ_CHECK(p);
		if (src)
			memcpy(p, src + start, plen);
		else
			memset(p, 0xee, plen);
		iov[cnt++] = (struct iovec){.iov_base = p, .iov_len = plen};
		start = cuts[i];
	}
	return cnt;
}

static void req_free(struct fz_req *r)
{
	for (unsigned i = 0; i < r->in_cnt; i++)
		free(r->in[i].iov_base);
	for (unsigned i = 0; i < r->out_cnt; i++)
		free(r->out[i].iov_base);
	free(r);
}

/* Gathers the first n bytes of the reply. */
static void gather(const struct fz_req *r, void *dst, size_t n)
{
	uint8_t *d = dst;

	for (unsigned i = 0; i < r->out_cnt && n; i++) {
		size_t k = MIN(n, r->out[i].iov_len);

		memcpy(d, r->out[i].iov_base, k);
		d += k;
		n -= k;
	}
}

static void check_reply(const struct fz_req *r, uint64_t unique, size_t written)
{
	struct fuse_out_header oh;

	FZ_CHECK(written <= r->room);
	if (written == 0)
		return;
	FZ_CHECK(written >= sizeof(oh));
	gather(r, &oh, sizeof(oh));
	FZ_CHECK(oh.len == written);
	FZ_CHECK(oh.unique == unique);
	FZ_CHECK(oh.error <= 0 && oh.error > -4096);
	FZ_CHECK(oh.error == 0 || written == sizeof(oh));
}

static void submit(struct fuse_server *srv, const uint8_t *req, size_t len, uint8_t ctl,
		   size_t room, uint32_t seed)
{
	struct fz_req *r = calloc(1, sizeof(*r));
	struct fuse_in_header ih;
	enum fuse_handled h;
	size_t written = 0;

	FZ_CHECK(r);
	r->room = room;
	r->in_cnt = split(r->in, req, len, ctl & FZR_CUTS_MASK, seed);
	r->out_cnt = split(r->out, NULL, room, ctl & FZR_CUTS_MASK, seed ^ 0x5a5a5a5au);
	memset(&ih, 0, sizeof(ih));
	memcpy(&ih, req, MIN(len, sizeof(ih)));

	h = fuse_server_handle(srv, r->in, r->in_cnt, r->out, r->out_cnt, r, &written);
	if (h == FUSE_DEFERRED) {
		FZ_CHECK(written == 0);
		FZ_CHECK(ndeferred < MAX_REQUESTS);
		deferred[ndeferred++] = r;
		return;
	}
	FZ_CHECK(h == FUSE_REPLIED);
	FZ_CHECK(!__atomic_load_n(&r->done, __ATOMIC_ACQUIRE));
	if (len >= sizeof(ih))
		check_reply(r, ih.unique, written);
	else
		FZ_CHECK(written == 0 || written == sizeof(struct fuse_out_header));
	req_free(r);
}

static void send_init(struct fuse_server *srv, struct fz_in *in)
{
	struct {
		struct fuse_in_header h;
		struct fuse_init_in i;
	} q = {
		.h = {.len = sizeof(q), .opcode = FUSE_INIT, .unique = 1},
		.i = {.major = FUSE_KERNEL_VERSION, .max_readahead = 1u << 17},
	};

	q.i.minor = FUSE_KERNEL_MINOR_VERSION - fz_u8(in) % 16;
	q.i.flags = fz_u32(in);
	q.i.flags2 = fz_u32(in);
	submit(srv, (const uint8_t *)&q, sizeof(q), 0, 4096, 0);
}

void fz_fuse_run(struct fuse_server *srv, const uint8_t *data, size_t size)
{
	struct fz_in in = {data, size};
	uint8_t mode = fz_u8(&in);
	unsigned nreq = 0;

	if (!(mode & FZF_NO_INIT))
		send_init(srv, &in);
	while (in.n > 0 && nreq++ < MAX_REQUESTS) {
		uint8_t ctl = fz_u8(&in);
		size_t room = fz_u16(&in);
		uint32_t seed = fz_u8(&in);
		struct fuse_in_header ih;
		const uint8_t *req;
		size_t len;

		if (ctl & FZR_ROOM_BIG)
			room *= 16;
		/* The header decides the length; a short tail is still sent as it is. */
		memset(&ih, 0, sizeof(ih));
		memcpy(&ih, in.p, MIN(in.n, sizeof(ih)));
		len = MAX((size_t)ih.len, sizeof(ih));
		len = fz_take(&in, &req, len);
		if (!(ctl & FZR_KEEP_IDS) && len >= sizeof(ih)) {
			/* Run as root: a copy with uid/gid zeroed. */
			uint8_t *copy = malloc(len);

			FZ_CHECK(copy);
			memcpy(copy, req, len);
			ih.uid = ih.gid = 0;
			memcpy(copy, &ih, sizeof(ih));
			submit(srv, copy, len, ctl, room, seed);
			free(copy);
		} else {
			submit(srv, req, len, ctl, room, seed);
		}
	}
	/* Wakes deferred requests (they complete with nothing written) and ends the session. */
	fuse_server_reset(srv);
	for (unsigned i = 0; i < ndeferred; i++) {
		FZ_CHECK(__atomic_load_n(&deferred[i]->done, __ATOMIC_ACQUIRE));
		req_free(deferred[i]);
	}
	ndeferred = 0;
}
