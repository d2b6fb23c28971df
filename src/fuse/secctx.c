// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Security contexts of new nodes (FUSE_SECURITY_CTX, 7.36). The guest's LSM names an xattr and
 * a label for a node it creates; the kernel sends them as a fuse_secctx_header (size covering
 * everything, nr_secctx 0 or 1), then per context a fuse_secctx (the label's size), the
 * NUL-terminated name and the label, padded to 8 bytes. Before 7.38 this block trails the
 * CREATE/MKNOD/MKDIR/SYMLINK/TMPFILE arguments (after the names, unaligned); from 7.38 it is an
 * extension whose fuse_ext_header is the fuse_secctx_header (types 0..31 are its nr_secctx).
 * Linux sends at most one context, named security.*, of at most a page: anything else is
 * refused with EINVAL.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuse/fuse_internal.h"

#define FUSE_SECCTX_PREFIX "security."

bool fuse_secctx_op(uint32_t opcode)
{
	return opcode == FUSE_CREATE || opcode == FUSE_MKNOD || opcode == FUSE_MKDIR ||
	       opcode == FUSE_SYMLINK || opcode == FUSE_TMPFILE;
}

int fuse_secctx_parse(struct fuse_req *req, struct fuse_reader *r, size_t body, uint32_t guest_nr)
{
	struct fuse_secctx sc;
	size_t left;
	int len;

	if (guest_nr == 0)
		return fuse_reader_skip(r, body); /* the guest's LSM had no label */
	if (guest_nr > 1 || body < sizeof(sc) || fuse_reader_read(r, &sc, sizeof(sc)) < 0) {
		fuse_log_guest(req, "bad security context count %u or size %zu", guest_nr, body);
		return -EINVAL;
	}
	left = body - sizeof(sc);
	/* The name lies within this block: read it through a reader limited to it. */
	{
		struct fuse_reader nr = *r;

		fuse_reader_limit(&nr, left);
		len = fuse_reader_string(&nr, req->secctx_name, sizeof(req->secctx_name));
	}
	if (len <= 0 ||
	    strncmp(req->secctx_name, FUSE_SECCTX_PREFIX, strlen(FUSE_SECCTX_PREFIX)) != 0 ||
	    (size_t)len == strlen(FUSE_SECCTX_PREFIX)) {
		fuse_log_guest(req, "bad security context name (%d)", len);
		return -EINVAL;
	}
	left -= (size_t)len + 1;
	if (sc.size == 0 || sc.size > FUSE_SECCTX_VALUE_MAX || sc.size > left ||
	    left - sc.size >= 8) {
		fuse_log_guest(req, "bad security context size %u (%zu bytes left)", sc.size, left);
		return -EINVAL;
	}
	fuse_reader_skip(r, (size_t)len + 1);
	free(req->secctx_value);
	req->secctx_value = malloc(sc.size);
	if (!req->secctx_value)
		return -ENOMEM;
	if (fuse_reader_read(r, req->secctx_value, sc.size) < 0)
		return -EINVAL;
	req->ctx.secctx_name = req->secctx_name;
	req->ctx.secctx_value = req->secctx_value;
	req->ctx.secctx_size = sc.size;
	return fuse_reader_skip(r, left - sc.size);
}

int fuse_secctx_trailing(struct fuse_req *req)
{
	struct fuse_secctx_header h;
	size_t left = fuse_reader_remaining(&req->r);

	/* From 7.38 the context came as an extension (fuse_server.c). */
	if (req->srv->minor >= 38 || !fuse_has_flag(req, FUSE_SECURITY_CTX))
		return 0;
	if (fuse_reader_read(&req->r, &h, sizeof(h)) < 0 || h.size != left) {
		fuse_log_guest(req, "security context block %zu bytes, header says %u", left,
			       left >= sizeof(h) ? h.size : 0);
		return -EINVAL;
	}
	return fuse_secctx_parse(req, &req->r, left - sizeof(h), h.nr_secctx);
}
