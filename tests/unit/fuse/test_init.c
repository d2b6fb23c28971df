// SPDX-License-Identifier: GPL-2.0-or-later
/* FUSE_INIT negotiation, session start and end. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "harness.h"

#define ALL_FLAGS 0xffffffffffffffffull

static int getattr_error(struct fuse_server *srv)
{
	struct fuse_getattr_in in = {0};

	rq_init(&rq, FUSE_GETATTR, 1, 10);
	rq_add(&rq, &in, sizeof(in));
	send_rq(srv, &rq, 4096, &rep);
	return rep.oh.error;
}

static void test_before_init(void)
{
	struct fuse_server *srv = new_server(NULL);
	struct fuse_forget_in fi = {.nlookup = 1};

	CHECK_EQ(getattr_error(srv), -EIO);
	CHECK_EQ(mock.calls, 0);
	rq_init(&rq, FUSE_FORGET, 5, 12);
	rq_add(&rq, &fi, sizeof(fi));
	CHECK_EQ(send_rq(srv, &rq, 4096, &rep), 0);
	CHECK_EQ(mock.forget_calls, 0);
	fuse_server_free(srv);
}

static void test_init_738(void)
{
	struct fuse_server *srv = new_server(NULL);
	struct fuse_init_out o;
	uint64_t flags;

	CHECK_EQ(do_init(srv, 38, ALL_FLAGS, true, &o), 0);
	CHECK_EQ(rep.written, sizeof(struct fuse_out_header) + sizeof(o));
	CHECK_EQ(rep.oh.unique, 2);
	CHECK_EQ(o.major, 7);
	CHECK_EQ(o.minor, 38);
	CHECK_EQ(o.max_readahead, 131072);
	CHECK_EQ(o.max_write, 1 << 20);
	CHECK_EQ(o.max_pages, 256);
	CHECK_EQ(o.max_background, 65535);
	CHECK_EQ(o.congestion_threshold, 49149);
	CHECK_EQ(o.time_gran, 1);
	CHECK_EQ(o.map_alignment, 0);
	flags = o.flags | ((uint64_t)o.flags2 << 32);
	CHECK(flags & FUSE_ASYNC_READ);
	CHECK(flags & FUSE_PARALLEL_DIROPS);
	CHECK(flags & FUSE_BIG_WRITES);
	CHECK(flags & FUSE_MAX_PAGES);
	CHECK(flags & FUSE_INIT_EXT);
	CHECK(flags & FUSE_DO_READDIRPLUS);
	CHECK(flags & FUSE_READDIRPLUS_AUTO);
	CHECK(flags & FUSE_POSIX_LOCKS);
	CHECK(flags & FUSE_FLOCK_LOCKS);
	CHECK(flags & FUSE_SUBMOUNTS);
	CHECK(flags & (1ull << 34)); /* CREATE_SUPP_GROUP */
	CHECK(!(flags & FUSE_EXPORT_SUPPORT));
	CHECK(!(flags & FUSE_WRITEBACK_CACHE));
	CHECK(!(flags & FUSE_SETXATTR_EXT));
	CHECK(!(flags & FUSE_HANDLE_KILLPRIV_V2));
	CHECK(!(flags & FUSE_MAP_ALIGNMENT));
	CHECK(!(flags & FUSE_SECURITY_CTX));
	CHECK_EQ(mock.init_calls, 1);
	CHECK(!mock.init_info.writeback);
	CHECK_EQ(getattr_error(srv), 0);

	/* A second INIT ends the old session before starting the new one. */
	CHECK_EQ(do_init(srv, 37, FUSE_ASYNC_READ, true, &o), 0);
	CHECK_EQ(o.minor, 37);
	CHECK_EQ(o.flags, FUSE_ASYNC_READ | FUSE_INIT_EXT);
	CHECK_EQ(mock.destroy_calls, 1);
	CHECK_EQ(mock.init_calls, 2);

	/* DESTROY ends the session and replies; then only INIT is served. */
	rq_init(&rq, FUSE_DESTROY, 0, 20);
	send_rq(srv, &rq, 4096, &rep);
	CHECK_EQ(rep.written, sizeof(struct fuse_out_header));
	CHECK_EQ(rep.oh.error, 0);
	CHECK_EQ(mock.destroy_calls, 2);
	CHECK_EQ(getattr_error(srv), -EIO);
	fuse_server_free(srv);
	CHECK_EQ(mock.destroy_calls, 2); /* not twice */
}

static void test_init_old(void)
{
	struct fuse_server *srv = new_server(NULL);
	struct fuse_init_out o;

	/* The Windows driver: 7.31, 16-byte fuse_init_in, no INIT_EXT. */
	CHECK_EQ(do_init(srv, 31, FUSE_DO_READDIRPLUS | FUSE_MAX_PAGES, false, &o), 0);
	CHECK_EQ(o.minor, 31);
	CHECK_EQ(o.flags, FUSE_DO_READDIRPLUS | FUSE_MAX_PAGES);
	CHECK_EQ(o.flags2, 0);
	CHECK_EQ(o.max_write, 1 << 20);
	CHECK_EQ(rep.written, sizeof(struct fuse_out_header) + sizeof(o));

	CHECK_EQ(do_init(srv, 27, ALL_FLAGS & ~(uint64_t)FUSE_INIT_EXT, false, &o), 0);
	CHECK_EQ(o.minor, 27);
	CHECK_EQ(o.flags2, 0); /* flags2 never without INIT_EXT */
	CHECK(!(o.flags & FUSE_INIT_EXT));

	CHECK_EQ(do_init(srv, 26, ALL_FLAGS, false, &o), -EPROTO);
	CHECK_EQ(getattr_error(srv), -EIO);
	/* A newer minor than ours negotiates down. */
	CHECK_EQ(do_init(srv, 45, 0, true, &o), 0);
	CHECK_EQ(o.minor, 38);
	fuse_server_free(srv);
}

static void test_init_major(void)
{
	struct fuse_server *srv = new_server(NULL);
	struct fuse_init_in in = {.major = 8, .minor = 1};
	struct fuse_init_out o;

	rq_init(&rq, FUSE_INIT, 0, 4);
	rq_add(&rq, &in, 8);
	send_rq(srv, &rq, 4096, &rep);
	CHECK_EQ(rep.oh.error, 0);
	CHECK_EQ(rep.dlen, 8);
	memcpy(&o, rep.data, 8);
	CHECK(o.major == 7 && o.minor == 38);
	CHECK_EQ(mock.init_calls, 0);
	CHECK_EQ(getattr_error(srv), -EIO);

	in.major = 6;
	rq_init(&rq, FUSE_INIT, 0, 4);
	rq_add(&rq, &in, 16);
	send_rq(srv, &rq, 4096, &rep);
	CHECK_EQ(rep.oh.error, -EPROTO);

	/* 7.x with only major/minor: too short to be any minor we serve. */
	in.major = 7;
	in.minor = 38;
	rq_init(&rq, FUSE_INIT, 0, 4);
	rq_add(&rq, &in, 8);
	send_rq(srv, &rq, 4096, &rep);
	CHECK_EQ(rep.oh.error, -EPROTO);

	/* No room for fuse_init_out. */
	rq_init(&rq, FUSE_INIT, 0, 4);
	rq_add(&rq, &in, sizeof(in));
	send_rq(srv, &rq, 40, &rep);
	CHECK_EQ(rep.oh.error, -EIO);
	CHECK_EQ(mock.init_calls, 0);

	/* Backend init failure: no session. */
	mock.ret = -ENOMEM;
	CHECK_EQ(do_init(srv, 38, 0, true, NULL), -ENOMEM);
	mock.ret = 0;
	CHECK_EQ(getattr_error(srv), -EIO);
	fuse_server_free(srv);
}

static void test_config(void)
{
	struct fuse_server_config cfg;
	struct fuse_server *srv;
	struct fuse_init_out o;

	fuse_server_config_default(&cfg);
	CHECK_EQ(cfg.max_write, 1 << 20);
	CHECK(cfg.readdirplus && cfg.posix_locks && cfg.flock_locks && cfg.announce_submounts);
	CHECK(!cfg.xattr && !cfg.killpriv_v2 && !cfg.writeback && !cfg.allow_direct_io);

	cfg.xattr = cfg.writeback = cfg.killpriv_v2 = true;
	cfg.readdirplus = cfg.posix_locks = cfg.flock_locks = cfg.announce_submounts = false;
	cfg.max_write = 128 * 1024;
	srv = new_server(&cfg);
	CHECK_EQ(do_init(srv, 38, ALL_FLAGS, true, &o), 0);
	CHECK(o.flags & FUSE_SETXATTR_EXT);
	CHECK(o.flags & FUSE_WRITEBACK_CACHE);
	CHECK(o.flags & FUSE_HANDLE_KILLPRIV_V2);
	CHECK(!(o.flags &
		(FUSE_DO_READDIRPLUS | FUSE_POSIX_LOCKS | FUSE_FLOCK_LOCKS | FUSE_SUBMOUNTS)));
	CHECK_EQ(o.max_pages, 32);
	CHECK_EQ(o.max_write, 128 * 1024);
	CHECK(mock.init_info.writeback && mock.init_info.killpriv_v2);

	/* Reset: the next request must be INIT again. */
	fuse_server_reset(srv);
	CHECK_EQ(mock.destroy_calls, 1);
	CHECK_EQ(getattr_error(srv), -EIO);
	fuse_server_free(srv);

	cfg.max_write = 100;
	CHECK(fuse_server_new(&mock_backend, &cfg, test_complete) == NULL);
	CHECK(fuse_server_new(&mock_backend, NULL, test_complete) == NULL);
}

/* --posix-acl offers POSIX_ACL with DONT_MASK, only as a pair, and tells the backend. */
static void test_posix_acl(void)
{
	const uint64_t pair = FUSE_POSIX_ACL | FUSE_DONT_MASK;
	struct fuse_server_config cfg;
	struct fuse_server *srv;
	struct fuse_init_out o;

	fuse_server_config_default(&cfg);
	cfg.xattr = true;
	srv = new_server(&cfg);
	CHECK_EQ(do_init(srv, 38, ALL_FLAGS, true, &o), 0);
	CHECK(!(o.flags & pair));
	CHECK(!mock.init_info.posix_acl);
	fuse_server_free(srv);

	cfg.posix_acl = true;
	srv = new_server(&cfg);
	CHECK_EQ(do_init(srv, 38, ALL_FLAGS, true, &o), 0);
	CHECK_EQ(o.flags & pair, pair);
	CHECK(mock.init_info.posix_acl);
	/* A guest offering one of the two gets neither. */
	CHECK_EQ(do_init(srv, 38, ALL_FLAGS & ~(uint64_t)FUSE_DONT_MASK, true, &o), 0);
	CHECK(!(o.flags & pair));
	CHECK(!mock.init_info.posix_acl);
	CHECK_EQ(do_init(srv, 38, ALL_FLAGS & ~(uint64_t)FUSE_POSIX_ACL, true, &o), 0);
	CHECK(!(o.flags & pair));
	fuse_server_free(srv);

	/* ACLs without the xattr ops make no sense: nothing offered. */
	cfg.xattr = false;
	srv = new_server(&cfg);
	CHECK_EQ(do_init(srv, 38, ALL_FLAGS, true, &o), 0);
	CHECK(!(o.flags & pair));
	fuse_server_free(srv);
}

static void test_null_backend(void)
{
	struct fuse_server_config cfg;
	struct fuse_server *srv;

	fuse_server_config_default(&cfg);
	srv = fuse_server_new(&null_backend, &cfg, test_complete);
	CHECK(srv != NULL);
	CHECK_EQ(do_init(srv, 38, ALL_FLAGS, true, NULL), 0);
	CHECK_EQ(getattr_error(srv), -ENOSYS);
	fuse_server_free(srv);
}

int main(void)
{
	test_before_init();
	test_init_738();
	split_mode = SPLIT_ONE;
	test_init_old();
	split_mode = SPLIT_ODD;
	test_init_old();
	test_init_major();
	test_config();
	test_posix_acl();
	test_null_backend();
	return check_report("fuse-init");
}
