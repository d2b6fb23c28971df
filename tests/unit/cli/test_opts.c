// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * opts_parse(): the command lines libvirt and Kata generate, every enum value, the defaults,
 * and every error path (exactly one line on the error stream, -EINVAL, defaults left behind).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cli/opts.h"
#include "util/log.h"

static char *last_err;

/* Runs opts_parse() on a private copy of "vfsd" + args; the message, if any, in last_err. */
static int run_parse(struct vfsd_opts *o, const char *const *args)
{
	char *argv[64];
	size_t len = 0;
	int argc = 0, r;
	FILE *err;

	free(last_err);
	last_err = NULL;
	argv[argc++] = strdup("vfsd");
	for (; *args; args++)
		argv[argc++] = strdup(*args);
	argv[argc] = NULL;

	err = open_memstream(&last_err, &len);
	if (!err)
		abort();
	r = opts_parse(argc, argv, o, err);
	fclose(err);

	/* The options must own their strings: argv goes away now. */
	for (int i = 0; i < argc; i++) {
		memset(argv[i], 'X', strlen(argv[i]));
		free(argv[i]);
	}
	return r;
}

#define PARSE(o, ...) run_parse(o, (const char *const[]){__VA_ARGS__, NULL})

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* The argument list must fail with -EINVAL and one "vfsd: " line containing `needle`. */
#define EXPECT_FAIL(needle, ...)                                                              \
	do {                                                                                  \
		struct vfsd_opts _o_;                                                         \
		int _r_ = PARSE(&_o_, __VA_ARGS__);                                           \
		CHECK_EQ(_r_, -EINVAL);                                                       \
		CHECK_EQ(count_lines(last_err), 1);                                           \
		CHECK(strncmp(last_err, "vfsd: ", 6) == 0);                                   \
		CHECK(last_err[strlen(last_err) - 1] == '\n');                                \
		if (!strstr(last_err, needle)) {                                              \
			check_failures++;                                                     \
			fprintf(stderr, "%s:%d: '%s' not in: %s", __FILE__, __LINE__, needle, \
				last_err);                                                    \
		}                                                                             \
		CHECK(_o_.shared_dir == NULL && _o_.socket_path == NULL && _o_.tag == NULL);  \
		opts_free(&_o_);                                                              \
	} while (0)

static void test_defaults(void)
{
	struct vfsd_opts o;

	CHECK_EQ(PARSE(&o, "--shared-dir", "/srv", "--socket-path", "/run/v.sock"), 0);
	CHECK_STREQ(last_err, "");
	CHECK_EQ(o.action, OPTS_RUN);
	CHECK_STREQ(o.shared_dir, "/srv");
	CHECK_STREQ(o.socket_path, "/run/v.sock");
	CHECK_EQ(o.fd, -1);
	CHECK(o.socket_group == NULL);
	CHECK(o.tag == NULL);
	CHECK_EQ(o.thread_pool_size, 0);
	CHECK(o.poll_max_ns == 50000);
	CHECK_EQ(o.queue_threads, 0);
	CHECK_EQ(o.cache, OPTS_CACHE_AUTO);
	CHECK(!o.allow_mmap);
	CHECK(o.readdirplus);
	CHECK(!o.writeback);
	CHECK(!o.allow_direct_io);
	CHECK(!o.xattr);
	CHECK(!o.posix_acl);
	CHECK(o.announce_submounts);
	CHECK(!o.killpriv_v2);
	CHECK(!o.readonly);
	CHECK(!o.preserve_noatime);
	CHECK(o.posix_lock);
	CHECK(o.flock);
	CHECK_EQ(o.inode_file_handles, OPTS_INODE_FH_NEVER);
	CHECK_EQ(o.sandbox, OPTS_SANDBOX_NAMESPACE);
	CHECK_EQ(o.seccomp, OPTS_SECCOMP_KILL);
	CHECK(o.modcaps == NULL);
	CHECK(o.rlimit_nofile == UINT64_MAX);
	CHECK_EQ(o.log_level, LOG_LEVEL_INFO);
	CHECK(!o.syslog);
	CHECK(!o.keep_serving);
	CHECK_EQ(o.max_request_queues, 16);
	opts_free(&o);
	CHECK(o.shared_dir == NULL && o.socket_path == NULL);
	opts_free(&o); /* twice is fine */
	opts_free(NULL);
}

static void test_libvirt(void)
{
	struct vfsd_opts o;

	CHECK_EQ(PARSE(&o, "--fd=3", "-o", "source=/x,cache=always,sandbox=chroot", "--xattr",
		       "--thread-pool-size=16", "--rlimit-nofile=4096"),
		 0);
	CHECK_EQ(o.action, OPTS_RUN);
	CHECK_EQ(o.fd, 3);
	CHECK(o.socket_path == NULL);
	CHECK_STREQ(o.shared_dir, "/x");
	CHECK_EQ(o.cache, OPTS_CACHE_ALWAYS);
	CHECK_EQ(o.sandbox, OPTS_SANDBOX_CHROOT);
	CHECK(o.xattr);
	CHECK_EQ(o.thread_pool_size, 16);
	CHECK_EQ(o.rlimit_nofile, 4096);
	opts_free(&o);

	/* The separate-options form, values as separate words. */
	CHECK_EQ(PARSE(&o, "--fd", "27", "--shared-dir", "/var/lib/fs", "--cache", "never",
		       "--sandbox", "namespace", "--log-level", "debug"),
		 0);
	CHECK_EQ(o.fd, 27);
	CHECK_STREQ(o.shared_dir, "/var/lib/fs");
	CHECK_EQ(o.cache, OPTS_CACHE_NEVER);
	CHECK(!o.readdirplus);
	CHECK_EQ(o.log_level, LOG_LEVEL_DEBUG);
	opts_free(&o);

	/* libvirt's fallback before it knew about separate-options; ",," is a literal comma. */
	CHECK_EQ(PARSE(&o, "--fd=4", "-o",
		       "source=/a,,b,cache=none,sandbox=namespace,xattr,flock,"
		       "posix_lock"),
		 0);
	CHECK_STREQ(o.shared_dir, "/a,b");
	CHECK_EQ(o.cache, OPTS_CACHE_NEVER);
	CHECK(o.xattr && o.flock && o.posix_lock);
	opts_free(&o);
}

static void test_kata(void)
{
	struct vfsd_opts o;

	CHECK_EQ(PARSE(&o, "--syslog", "--cache=auto", "--shared-dir=/x", "--fd=3",
		       "--thread-pool-size=1", "--announce-submounts"),
		 0);
	CHECK_EQ(o.action, OPTS_RUN);
	CHECK(o.syslog);
	CHECK_EQ(o.cache, OPTS_CACHE_AUTO);
	CHECK_STREQ(o.shared_dir, "/x");
	CHECK_EQ(o.fd, 3);
	CHECK_EQ(o.thread_pool_size, 1);
	CHECK(o.announce_submounts);
	opts_free(&o);

	/* Older Kata: "-o announce_submounts", and --inode-file-handles=MODE. */
	CHECK_EQ(PARSE(&o, "--syslog", "--cache=always", "--shared-dir=/x", "--fd=3",
		       "--inode-file-handles=prefer", "--thread-pool-size=1", "-o",
		       "announce_submounts"),
		 0);
	CHECK_EQ(o.inode_file_handles, OPTS_INODE_FH_PREFER);
	CHECK(o.announce_submounts);
	opts_free(&o);
}

#define BASE "--shared-dir=/s", "--fd=0"

static void test_enums(void)
{
	static const struct {
		const char *arg;
		int value;
	} caches[] =
		{
			{"--cache=auto", OPTS_CACHE_AUTO},
			{"--cache=always", OPTS_CACHE_ALWAYS},
			{"--cache=never", OPTS_CACHE_NEVER},
			{"--cache=metadata", OPTS_CACHE_METADATA},
			{"--cache=none", OPTS_CACHE_NEVER},
		},
	  sandboxes[] =
		  {
			  {"--sandbox=namespace", OPTS_SANDBOX_NAMESPACE},
			  {"--sandbox=chroot", OPTS_SANDBOX_CHROOT},
			  {"--sandbox=none", OPTS_SANDBOX_NONE},
		  },
	  seccomps[] =
		  {
			  {"--seccomp=kill", OPTS_SECCOMP_KILL},
			  {"--seccomp=log", OPTS_SECCOMP_LOG},
			  {"--seccomp=trap", OPTS_SECCOMP_TRAP},
			  {"--seccomp=none", OPTS_SECCOMP_NONE},
		  },
	  fhs[] =
		  {
			  {"--inode-file-handles", OPTS_INODE_FH_PREFER},
			  {"--inode-file-handles=never", OPTS_INODE_FH_NEVER},
			  {"--inode-file-handles=prefer", OPTS_INODE_FH_PREFER},
			  {"--inode-file-handles=fallback", OPTS_INODE_FH_PREFER},
			  {"--inode-file-handles=mandatory", OPTS_INODE_FH_MANDATORY},
		  },
	  levels[] = {
		  {"--log-level=off", LOG_LEVEL_OFF},	  {"--log-level=error", LOG_LEVEL_ERROR},
		  {"--log-level=err", LOG_LEVEL_ERROR},	  {"--log-level=warn", LOG_LEVEL_WARN},
		  {"--log-level=info", LOG_LEVEL_INFO},	  {"--log-level=debug", LOG_LEVEL_DEBUG},
		  {"--log-level=trace", LOG_LEVEL_TRACE},
	  };
	struct vfsd_opts o;

	for (size_t i = 0; i < sizeof(caches) / sizeof(caches[0]); i++) {
		CHECK_EQ(PARSE(&o, BASE, caches[i].arg), 0);
		CHECK_EQ(o.cache, caches[i].value);
		opts_free(&o);
	}
	for (size_t i = 0; i < sizeof(sandboxes) / sizeof(sandboxes[0]); i++) {
		CHECK_EQ(PARSE(&o, BASE, sandboxes[i].arg), 0);
		CHECK_EQ(o.sandbox, sandboxes[i].value);
		opts_free(&o);
	}
	for (size_t i = 0; i < sizeof(seccomps) / sizeof(seccomps[0]); i++) {
		CHECK_EQ(PARSE(&o, BASE, seccomps[i].arg), 0);
		CHECK_EQ(o.seccomp, seccomps[i].value);
		opts_free(&o);
	}
	for (size_t i = 0; i < sizeof(fhs) / sizeof(fhs[0]); i++) {
		CHECK_EQ(PARSE(&o, BASE, fhs[i].arg), 0);
		CHECK_EQ(o.inode_file_handles, fhs[i].value);
		opts_free(&o);
	}
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		CHECK_EQ(PARSE(&o, BASE, levels[i].arg), 0);
		CHECK_EQ(o.log_level, levels[i].value);
		opts_free(&o);
	}

	/* Separate words, and the old -o spellings. */
	CHECK_EQ(PARSE(&o, BASE, "--inode-file-handles", "mandatory", "--seccomp", "log"), 0);
	CHECK_EQ(o.inode_file_handles, OPTS_INODE_FH_MANDATORY);
	CHECK_EQ(o.seccomp, OPTS_SECCOMP_LOG);
	opts_free(&o);
	CHECK_EQ(PARSE(&o, BASE, "-o", "cache=metadata", "-o", "loglevel=warn", "-o",
		       "sandbox=none"),
		 0);
	CHECK_EQ(o.cache, OPTS_CACHE_METADATA);
	CHECK_EQ(o.log_level, LOG_LEVEL_WARN);
	CHECK_EQ(o.sandbox, OPTS_SANDBOX_NONE);
	opts_free(&o);
	CHECK_EQ(PARSE(&o, BASE, "-o", "log_level=err"), 0);
	CHECK_EQ(o.log_level, LOG_LEVEL_ERROR);
	opts_free(&o);

	/* Migration policies, as the Rust virtiofsd spells them; defaults find-paths, abort. */
	CHECK_EQ(PARSE(&o, BASE), 0);
	CHECK(!o.migration_file_handles && !o.migration_guest_error);
	opts_free(&o);
	CHECK_EQ(PARSE(&o, BASE, "--migration-mode=file-handles", "--migration-on-error",
		       "guest-error"),
		 0);
	CHECK(o.migration_file_handles && o.migration_guest_error);
	opts_free(&o);
	CHECK_EQ(PARSE(&o, BASE, "--migration-mode=file-handles", "--migration-mode=find-paths",
		       "--migration-on-error=guest-error", "--migration-on-error=abort"),
		 0);
	CHECK(!o.migration_file_handles && !o.migration_guest_error);
	opts_free(&o);
	CHECK_EQ(
		PARSE(&o, BASE, "-o", "migration_mode=file-handles,migration_on_error=guest-error"),
		0);
	CHECK(o.migration_file_handles && o.migration_guest_error);
	CHECK(!o.migration_verify_handles && !o.migration_confirm_paths);
	opts_free(&o);
	CHECK_EQ(PARSE(&o, BASE, "--migration-verify-handles", "--migration-confirm-paths"), 0);
	CHECK(o.migration_verify_handles && o.migration_confirm_paths);
	opts_free(&o);
	CHECK_EQ(PARSE(&o, BASE, "-o", "migration_verify_handles,migration_confirm_paths"), 0);
	CHECK(o.migration_verify_handles && o.migration_confirm_paths);
	opts_free(&o);
}

static void test_flags(void)
{
	struct vfsd_opts o;

	CHECK_EQ(PARSE(&o, "--shared-dir", "/s", "--socket", "/tmp/s.sock", "--socket-group", "kvm",
		       "--tag", "myfs", "--allow-mmap", "--no-readdirplus", "--writeback",
		       "--allow-direct-io", "--posix-acl", "--no-announce-submounts",
		       "--killpriv-v2", "--readonly", "--preserve-noatime", "--keep-serving",
		       "--request-queues", "4", "--modcaps=+sys_admin:-mknod", "--rlimit-nofile",
		       "0", "-d", "-f"),
		 0);
	CHECK_STREQ(o.socket_path, "/tmp/s.sock");
	CHECK_STREQ(o.socket_group, "kvm");
	CHECK_STREQ(o.tag, "myfs");
	CHECK(o.allow_mmap && !o.readdirplus && o.writeback && o.allow_direct_io);
	CHECK(o.posix_acl && o.xattr); /* posix-acl implies xattr */
	CHECK(!o.announce_submounts && o.killpriv_v2 && o.readonly && o.preserve_noatime);
	CHECK(o.keep_serving);
	CHECK_EQ(o.max_request_queues, 4);
	CHECK_STREQ(o.modcaps, "+sys_admin:-mknod");
	CHECK_EQ(o.rlimit_nofile, 0);
	CHECK_EQ(o.log_level, LOG_LEVEL_DEBUG);
	opts_free(&o);

	/* Later options win; the no- forms undo. */
	CHECK_EQ(PARSE(&o, BASE, "--killpriv-v2", "--no-killpriv-v2", "--no-announce-submounts",
		       "--announce-submounts", "--shared-dir=/t", "--tag", "a", "--tag=b"),
		 0);
	CHECK(!o.killpriv_v2 && o.announce_submounts);
	CHECK_STREQ(o.shared_dir, "/t");
	CHECK_STREQ(o.tag, "b");
	opts_free(&o);

	/* Every -o flag and its no_ form. */
	CHECK_EQ(PARSE(&o, BASE, "-o",
		       "xattr,readdirplus,writeback,allow_direct_io,announce_submounts,"
		       "killpriv_v2,no_posix_lock,no_flock,no_security_label"),
		 0);
	CHECK(o.xattr && o.readdirplus && o.writeback && o.allow_direct_io);
	CHECK(o.announce_submounts && o.killpriv_v2 && !o.posix_lock && !o.flock);
	opts_free(&o);
	CHECK_EQ(PARSE(&o, BASE, "-oxattr,posix_acl", "-o",
		       "no_xattr,no_readdirplus,no_writeback,no_allow_direct_io,"
		       "no_announce_submounts,no_killpriv_v2,no_posix_acl,flock,posix_lock,"
		       "modcaps=-chown,"),
		 0);
	CHECK(!o.xattr && !o.posix_acl && !o.readdirplus && !o.writeback);
	CHECK(!o.allow_direct_io && !o.announce_submounts && !o.killpriv_v2);
	CHECK(o.posix_lock && o.flock);
	CHECK_STREQ(o.modcaps, "-chown");
	opts_free(&o);

	/* --xattrmap keeps the rules for main to compile; it and --security-label imply xattr. */
	CHECK_EQ(PARSE(&o, BASE, "--xattrmap=:map:security.:user.virtiofs.:"), 0);
	CHECK_STREQ(o.xattrmap, ":map:security.:user.virtiofs.:");
	CHECK(o.xattr && !o.security_label);
	opts_free(&o);
	CHECK_EQ(PARSE(&o, BASE, "--xattrmap", ":ok:all:::", "--security-label"), 0);
	CHECK_STREQ(o.xattrmap, ":ok:all:::");
	CHECK(o.xattr && o.security_label);
	opts_free(&o);
	CHECK_EQ(PARSE(&o, BASE, "-o", "security_label,xattrmap=/ok/all///"), 0);
	CHECK_STREQ(o.xattrmap, "/ok/all///");
	CHECK(o.xattr && o.security_label);
	opts_free(&o);
	CHECK_EQ(PARSE(&o, BASE, "-o", "security_label,no_security_label"), 0);
	CHECK(!o.security_label && !o.xattr);
	opts_free(&o);

	/* A 36-byte tag is the maximum; extreme numbers in range. */
	CHECK_EQ(PARSE(&o, BASE, "--tag=123456789012345678901234567890123456",
		       "--rlimit-nofile=18446744073709551614", "--thread-pool-size=1024",
		       "--poll-max-ns=1000000000", "--queue-threads=64"),
		 0);
	CHECK_EQ(strlen(o.tag), 36);
	CHECK(o.poll_max_ns == 1000000000);
	CHECK_EQ(o.queue_threads, 64);
	CHECK(o.rlimit_nofile == UINT64_MAX - 1);
	CHECK_EQ(o.thread_pool_size, 1024);
	opts_free(&o);
	CHECK_EQ(PARSE(&o, "--shared-dir=/s", "--fd=2147483647", "--"), 0);
	CHECK_EQ(o.fd, 2147483647);
	opts_free(&o);
}

static void test_actions(void)
{
	struct vfsd_opts o;

	CHECK_EQ(PARSE(&o, "--print-capabilities"), 0);
	CHECK_EQ(o.action, OPTS_PRINT_CAPABILITIES);
	CHECK_STREQ(last_err, "");
	opts_free(&o);
	CHECK_EQ(PARSE(&o, "--help"), 0);
	CHECK_EQ(o.action, OPTS_HELP);
	opts_free(&o);
	CHECK_EQ(PARSE(&o, "-h"), 0);
	CHECK_EQ(o.action, OPTS_HELP);
	opts_free(&o);
	CHECK_EQ(PARSE(&o, "--version"), 0);
	CHECK_EQ(o.action, OPTS_VERSION);
	opts_free(&o);
	CHECK_EQ(PARSE(&o, "-V"), 0);
	CHECK_EQ(o.action, OPTS_VERSION);
	opts_free(&o);
	/* Help wins over the rest, and the requirements do not apply. */
	CHECK_EQ(PARSE(&o, "--print-capabilities", "-V", "--help", "--socket-path=/a", "--fd=3"),
		 0);
	CHECK_EQ(o.action, OPTS_HELP);
	opts_free(&o);
	/* A bad option is still an error. */
	EXPECT_FAIL("--cache", "--print-capabilities", "--cache=bogus");

	CHECK_STREQ(opts_capabilities_json(),
		    "{\n  \"type\": \"fs\",\n  \"features\": [\n    \"separate-options\",\n"
		    "    \"migrate-precopy\"\n  ]\n}");
}

static void test_usage(void)
{
	static const char *const mentioned[] = {
		"--shared-dir",
		"--socket-path",
		"--fd",
		"--socket-group",
		"--tag",
		"--thread-pool-size",
		"--cache",
		"--allow-mmap",
		"--no-readdirplus",
		"--writeback",
		"--allow-direct-io",
		"--xattr",
		"--posix-acl",
		"--announce-submounts",
		"--no-announce-submounts",
		"--killpriv-v2",
		"--no-killpriv-v2",
		"--inode-file-handles",
		"--sandbox",
		"--seccomp",
		"--modcaps",
		"--rlimit-nofile",
		"--readonly",
		"--preserve-noatime",
		"--log-level",
		"--syslog",
		"--keep-serving",
		"--request-queues",
		"--coherence",
		"--vt-table",
		"--vt-slots",
		"--vt-watch",
		"--adaptive-timeout",
		"--print-capabilities",
		"--uid-map",
		"--gid-map",
		"--translate-uid",
		"--translate-gid",
		"--help",
		"--version",
		"-o OPT",
		"-d ",
		"-f ",
	};
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		abort();
	opts_usage(f);
	fclose(f);
	for (size_t i = 0; i < sizeof(mentioned) / sizeof(mentioned[0]); i++) {
		if (!strstr(text, mentioned[i])) {
			check_failures++;
			fprintf(stderr, "usage does not mention %s\n", mentioned[i]);
		}
	}
	CHECK(strstr(text, "default: auto") != NULL);
	free(text);
}

static void test_errors(void)
{
	/* Requirements and conflicts. */
	EXPECT_FAIL("--shared-dir", "--fd=3");
	EXPECT_FAIL("--socket-path PATH or --fd", "--shared-dir=/s");
	{
		struct vfsd_opts o;
		const char *const none[] = {NULL};

		CHECK_EQ(run_parse(&o, none), -EINVAL);
		CHECK_EQ(count_lines(last_err), 1);
		CHECK(strstr(last_err, "missing --shared-dir") != NULL);
		opts_free(&o);
	}
	EXPECT_FAIL("conflicts", "--shared-dir=/s", "--fd=3", "--socket-path=/a");
	EXPECT_FAIL("conflicts", "--socket-path=/a", "--shared-dir=/s", "--fd=3");
	EXPECT_FAIL("--socket-group", "--shared-dir=/s", "--fd=3", "--socket-group=kvm");

	/* Bad values. */
	EXPECT_FAIL("--cache: invalid value 'foo' (expected auto, always, never, metadata)", BASE,
		    "--cache=foo");
	EXPECT_FAIL("--sandbox: invalid value 'jail'", BASE, "--sandbox", "jail");
	EXPECT_FAIL("--seccomp: invalid value", BASE, "--seccomp=allow");
	EXPECT_FAIL("--inode-file-handles: invalid value", BASE, "--inode-file-handles=always");
	EXPECT_FAIL("--inode-file-handles: invalid value ''", BASE, "--inode-file-handles=");
	EXPECT_FAIL("--log-level: invalid value", BASE, "--log-level=verbose");
	EXPECT_FAIL("--log-level: invalid value", BASE, "--log-level=INFO");
	EXPECT_FAIL("-o cache: invalid value", BASE, "-o", "cache=sometimes");
	EXPECT_FAIL("-o loglevel: invalid value", BASE, "-o", "loglevel=loud");
	EXPECT_FAIL("-o sandbox: invalid value", BASE, "-o", "sandbox=");

	/* Numbers: strict decimal, in range. */
	EXPECT_FAIL("--fd: invalid value '-1'", "--shared-dir=/s", "--fd=-1");
	EXPECT_FAIL("--fd: invalid value", "--shared-dir=/s", "--fd=3x");
	EXPECT_FAIL("--fd: invalid value", "--shared-dir=/s", "--fd= 3");
	EXPECT_FAIL("--fd: invalid value", "--shared-dir=/s", "--fd=+3");
	EXPECT_FAIL("--fd: invalid value", "--shared-dir=/s", "--fd=0x3");
	EXPECT_FAIL("--fd: invalid value", "--shared-dir=/s", "--fd=");
	EXPECT_FAIL("--fd: invalid value", "--shared-dir=/s", "--fd=2147483648");
	EXPECT_FAIL("--thread-pool-size: invalid value", BASE, "--thread-pool-size=1025");
	EXPECT_FAIL("--poll-max-ns: invalid value", BASE, "--poll-max-ns=1000000001");
	EXPECT_FAIL("--poll-max-ns: invalid value", BASE, "--poll-max-ns=-1");
	EXPECT_FAIL("--queue-threads: invalid value", BASE, "--queue-threads=0");
	EXPECT_FAIL("--queue-threads: invalid value", BASE, "--queue-threads=65");
	EXPECT_FAIL("--thread-pool-size: invalid value", BASE, "--thread-pool-size=-0");
	EXPECT_FAIL("--request-queues: invalid value '0' (expected an integer from 1 to 16)", BASE,
		    "--request-queues=0");
	EXPECT_FAIL("--request-queues: invalid value", BASE, "--request-queues=17");
	EXPECT_FAIL("--rlimit-nofile: invalid value", BASE, "--rlimit-nofile=18446744073709551616");
	EXPECT_FAIL("--rlimit-nofile: invalid value", BASE, "--rlimit-nofile=-5");
	EXPECT_FAIL("--rlimit-nofile: invalid value", BASE, "--rlimit-nofile=1k");

	/* Strings. */
	EXPECT_FAIL("--tag: '1234567890123456789012345678901234567' is longer than 36", BASE,
		    "--tag=1234567890123456789012345678901234567");
	EXPECT_FAIL("--tag: empty", BASE, "--tag=");
	EXPECT_FAIL("--shared-dir: empty", "--shared-dir=", "--fd=3");
	EXPECT_FAIL("--socket-path: empty", "--shared-dir=/s", "--socket-path", "");
	EXPECT_FAIL("-o source: empty", "--fd=3", "-o", "source=");
	EXPECT_FAIL("--modcaps: invalid value", BASE, "--modcaps=sys_admin");
	EXPECT_FAIL("--modcaps: invalid value", BASE, "--modcaps=+sys_admin:");
	EXPECT_FAIL("--modcaps: invalid value", BASE, "--modcaps=+SYS_ADMIN");
	EXPECT_FAIL("--modcaps: invalid value", BASE, "--modcaps=+");
	EXPECT_FAIL("--modcaps: invalid value", BASE, "--modcaps=+a,-b");
	EXPECT_FAIL("--modcaps: invalid value", BASE, "--modcaps=");
	EXPECT_FAIL("-o modcaps: invalid value", BASE, "-o", "modcaps=+chown:mknod");

	/* Missing values, stray values, unknown options. */
	EXPECT_FAIL("--tag: missing value", BASE, "--tag");
	EXPECT_FAIL("-o: missing value", BASE, "-o");
	EXPECT_FAIL("-o cache: missing value", BASE, "-o", "cache");
	EXPECT_FAIL("--xattr: takes no value", BASE, "--xattr=yes");
	EXPECT_FAIL("-o xattr: takes no value", BASE, "-o", "xattr=1");
	EXPECT_FAIL("--bogus: unknown option", BASE, "--bogus=1");
	EXPECT_FAIL("-z: unknown option", BASE, "-z");
	EXPECT_FAIL("-z: unknown option", BASE, "-dz");
	EXPECT_FAIL("-o: unknown option 'bogus'", BASE, "-o", "xattr,bogus");
	EXPECT_FAIL("-o: unknown option 'timeout'", BASE, "-o", "timeout=5");
	EXPECT_FAIL("--shared: unknown option (did you mean --shared-dir?)", "--shared=/s",
		    "--fd=3");
	EXPECT_FAIL("--no: unknown option", BASE, "--no");
	EXPECT_FAIL("unexpected argument 'extra'", BASE, "extra");
	EXPECT_FAIL("unexpected argument 'extra'", "extra", BASE);
	EXPECT_FAIL("unexpected argument '--fd=3'", "--shared-dir=/s", "--", "--fd=3");
	EXPECT_FAIL("--log-level: missing value", BASE, "--log-level");
	EXPECT_FAIL("--cache: invalid value '--xattr'", BASE, "--cache", "--xattr");

	/* Not supported. */
	EXPECT_FAIL("--xattrmap: missing value", BASE, "--xattrmap");
	EXPECT_FAIL("--security-label: takes no value", BASE, "--security-label=1");
	EXPECT_FAIL("--migration-mode: invalid value 'paths' (expected find-paths, file-handles)",
		    BASE, "--migration-mode=paths");
	EXPECT_FAIL("--migration-on-error: invalid value 'eio' (expected abort, guest-error)", BASE,
		    "--migration-on-error=eio");
	EXPECT_FAIL("--migration-mode: missing value", BASE, "--migration-mode");
	EXPECT_FAIL("-o migration_on_error: invalid value 'x'", BASE, "-o", "migration_on_error=x");
	EXPECT_FAIL("-o migration_confirm_paths: takes no value", BASE, "-o",
		    "migration_confirm_paths=1");
	EXPECT_FAIL("-o xattrmap: missing value", BASE, "-o", "xattrmap");
	EXPECT_FAIL("-o security_label: takes no value", BASE, "-o", "security_label=1");

	/* A newline in a value cannot split the message; long values are cut. */
	EXPECT_FAIL("invalid value 'a\\x0ab'", BASE, "--cache=a\nb");
	EXPECT_FAIL(
		"...' (expected", BASE,
		"--cache=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	EXPECT_FAIL("'\\x1b[31m'", BASE, "\x1b[31m");
}

/* Parsing again after an error must start from a clean getopt state and clean defaults. */
static void test_coherence(void)
{
	struct vfsd_opts o;

	CHECK_EQ(PARSE(&o, BASE), 0);
	CHECK_EQ(o.coherence, OPTS_COHERENCE_NONE);
	CHECK(o.vt_table == NULL && o.vt_slots == 0);
	opts_free(&o);
	CHECK_EQ(PARSE(&o, BASE, "--coherence=table", "--vt-table", "/dev/shm/t", "--vt-slots=16"),
		 0);
	CHECK_EQ(o.coherence, OPTS_COHERENCE_TABLE);
	CHECK_STREQ(o.vt_table, "/dev/shm/t");
	CHECK_EQ(o.vt_slots, 16);
	opts_free(&o);
	CHECK_EQ(PARSE(&o, BASE, "--coherence=table", "--vt-slots=1"), 0);
	CHECK_EQ(o.vt_slots, 1);
	opts_free(&o);
	CHECK_EQ(PARSE(&o, BASE, "--coherence=table", "--vt-slots=16777216"), 0);
	opts_free(&o);
	EXPECT_FAIL("--coherence", BASE, "--coherence=shared");
	EXPECT_FAIL("--vt-slots", BASE, "--coherence=table", "--vt-slots=0");
	EXPECT_FAIL("--vt-slots", BASE, "--coherence=table", "--vt-slots=16777217");
	EXPECT_FAIL("only apply with --coherence=table", BASE, "--vt-table=/x");
	EXPECT_FAIL("only apply with --coherence=table", BASE, "--coherence=none", "--vt-slots=4");
	CHECK_EQ(PARSE(&o, BASE, "--coherence=table"), 0);
	CHECK_EQ(o.vt_watch, OPTS_VT_WATCH_AUTO);
	opts_free(&o);
	CHECK_EQ(PARSE(&o, BASE, "--coherence=table", "--vt-watch=inotify"), 0);
	CHECK_EQ(o.vt_watch, OPTS_VT_WATCH_INOTIFY);
	opts_free(&o);
	CHECK_EQ(PARSE(&o, BASE, "--coherence=table", "--vt-watch=none"), 0);
	CHECK_EQ(o.vt_watch, OPTS_VT_WATCH_NONE);
	opts_free(&o);
	CHECK_EQ(PARSE(&o, BASE, "--coherence=table", "--vt-watch", "fanotify"), 0);
	CHECK_EQ(o.vt_watch, OPTS_VT_WATCH_FANOTIFY);
	opts_free(&o);
	EXPECT_FAIL("--vt-watch", BASE, "--coherence=table", "--vt-watch=dnotify");
	EXPECT_FAIL("only apply with --coherence=table", BASE, "--vt-watch=inotify");

	CHECK_EQ(PARSE(&o, BASE, "--coherence=table"), 0);
	CHECK(o.adapt_min_ms == 0 && o.adapt_max_ms == 0);
	opts_free(&o);
	CHECK_EQ(PARSE(&o, BASE, "--coherence=table", "--adaptive-timeout=20:10000"), 0);
	CHECK(o.adapt_min_ms == 20 && o.adapt_max_ms == 10000);
	opts_free(&o);
	CHECK_EQ(PARSE(&o, BASE, "--coherence=table", "--cache=always", "--adaptive-timeout",
		       "1:86400000"),
		 0);
	CHECK(o.adapt_min_ms == 1 && o.adapt_max_ms == 86400000);
	opts_free(&o);
	CHECK_EQ(PARSE(&o, BASE, "--coherence=table", "--adaptive-timeout=5:5"), 0);
	opts_free(&o);
	EXPECT_FAIL("needs --coherence=table", BASE, "--adaptive-timeout=20:1000");
	EXPECT_FAIL("conflicts with --cache=never", BASE, "--coherence=table", "--cache=never",
		    "--adaptive-timeout=20:1000");
	EXPECT_FAIL("--adaptive-timeout", BASE, "--coherence=table", "--adaptive-timeout=20");
	EXPECT_FAIL("--adaptive-timeout", BASE, "--coherence=table", "--adaptive-timeout=0:10");
	EXPECT_FAIL("--adaptive-timeout", BASE, "--coherence=table", "--adaptive-timeout=20:10");
	EXPECT_FAIL("--adaptive-timeout", BASE, "--coherence=table", "--adaptive-timeout=:10");
	EXPECT_FAIL("--adaptive-timeout", BASE, "--coherence=table", "--adaptive-timeout=1:");
	EXPECT_FAIL("--adaptive-timeout", BASE, "--coherence=table",
		    "--adaptive-timeout=1:86400001");
	EXPECT_FAIL("--adaptive-timeout", BASE, "--coherence=table", "--adaptive-timeout=1:2:3");
	EXPECT_FAIL("--adaptive-timeout", BASE, "--coherence=table", "--adaptive-timeout=-1:2");
	EXPECT_FAIL("--adaptive-timeout", BASE, "--coherence=table",
		    "--adaptive-timeout=000000000000000000000000001:2");
}

/* --uid-map/--gid-map and --translate-uid/--translate-gid (the Rust virtiofsd's syntax). */
static void test_idmap(void)
{
	struct vfsd_opts o;
	uint32_t id = 0;

	CHECK_EQ(PARSE(&o, BASE), 0);
	CHECK(o.uid_map == NULL && o.gid_map == NULL);
	CHECK(idmap_empty(&o.translate_uid) && idmap_empty(&o.translate_gid));
	opts_free(&o);
	/* What libvirt passes for <idmap>, both spellings, repeated. */
	CHECK_EQ(PARSE(&o, BASE, "--uid-map=:0:100000:65536:", "--uid-map",
		       ":65536:1000:1:", "--gid-map", ":0:100000:65536:"),
		 0);
	CHECK(o.uid_map && o.gid_map);
	CHECK_EQ(o.uid_map->n, 2);
	CHECK_EQ(o.uid_map->range[1].inside, 65536);
	CHECK_EQ(o.uid_map->range[1].outside, 1000);
	CHECK_EQ(o.uid_map->range[1].count, 1);
	CHECK_EQ(o.gid_map->range[0].outside, 100000);
	opts_free(&o);
	EXPECT_FAIL("--uid-map=0:1000:1: expected :NAMESPACE_ID:HOST_ID:COUNT:", BASE,
		    "--uid-map=0:1000:1");
	EXPECT_FAIL("--gid-map", BASE, "--gid-map=:0:1000:0:");
	EXPECT_FAIL("overlaps", BASE, "--uid-map=:0:1000:10:", "--uid-map=:5:2000:1:");
	EXPECT_FAIL("overlaps", BASE, "--uid-map=:0:1000:10:", "--uid-map=:50:1005:1:");
	EXPECT_FAIL("need --sandbox=namespace", BASE, "--sandbox=none", "--uid-map=:0:1000:1:");

	CHECK_EQ(PARSE(&o, BASE, "--translate-uid=map:1000:2000:10", "--translate-uid",
		       "forbid-guest:0:1", "--translate-gid=squash-host:0:65534:1000"),
		 0);
	CHECK_EQ(idmap_to_host(&o.translate_uid, 1003, &id), 0);
	CHECK_EQ(id, 2003);
	CHECK_EQ(idmap_to_guest(&o.translate_uid, 2009), 1009);
	CHECK_EQ(idmap_to_host(&o.translate_uid, 0, &id), -EPERM);
	CHECK_EQ(idmap_to_guest(&o.translate_gid, 999), 65534);
	CHECK_EQ(idmap_to_guest(&o.translate_gid, 1000), 1000);
	opts_free(&o);
	EXPECT_FAIL("TYPE is one of", BASE, "--translate-uid=both:0:0:1");
	EXPECT_FAIL("expected TYPE:SOURCE:TARGET:COUNT", BASE, "--translate-gid=guest:0:0");
	EXPECT_FAIL("expected TYPE:SOURCE:TARGET:COUNT", BASE,
		    "--translate-gid=forbid-guest:0:0:1");
	EXPECT_FAIL("runs past 4294967295", BASE, "--translate-uid=guest:4294967295:0:2");
	EXPECT_FAIL("overlaps an earlier guest-to-host rule", BASE,
		    "--translate-uid=squash-guest:0:1:100", "--translate-uid=map:99:5:1");
	EXPECT_FAIL("conflict with --posix-acl", BASE, "--posix-acl", "--translate-uid=map:0:1:1");
}

static void test_reentry(void)
{
	struct vfsd_opts o;

	EXPECT_FAIL("-z", BASE, "-dz");
	CHECK_EQ(PARSE(&o, "-d", BASE), 0);
	CHECK_EQ(o.log_level, LOG_LEVEL_DEBUG);
	opts_free(&o);
	EXPECT_FAIL("--cache", BASE, "--xattr", "--cache=x");
	CHECK_EQ(PARSE(&o, BASE), 0);
	CHECK(!o.xattr);
	CHECK_EQ(o.fd, 0);
	opts_free(&o);
}

int main(void)
{
	test_defaults();
	test_libvirt();
	test_kata();
	test_enums();
	test_flags();
	test_actions();
	test_usage();
	test_errors();
	test_coherence();
	test_idmap();
	test_reentry();
	free(last_err);
	return check_report("cli-opts");
}
