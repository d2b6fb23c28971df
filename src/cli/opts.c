// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Command-line parsing. Every failure is reported as exactly one line on the caller's stream and
 * -EINVAL (or -ENOMEM): nothing here exits, prints to stderr directly or touches the filesystem.
 *
 * getopt_long() runs in REQUIRE_ORDER mode ("+"): it never permutes argv, so the first
 * positional argument stops the loop and is reported as stray, and the element that produced
 * each option is always argv[optind before the call]. That is what lets us reject abbreviated
 * long options (getopt accepts unique prefixes, the Rust virtiofsd does not, and a prefix that
 * is unique today can become ambiguous when an option is added).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cli/opts.h"
#include "util/log.h"
#include "util/macros.h"

#define OPTS_TAG_MAX		36 /* virtio-fs config space: tag[36] */
#define OPTS_THREAD_POOL_MAX	1024
#define OPTS_QUEUE_THREADS_MAX	64
#define OPTS_POLL_MAX_NS	1000000000u /* 1 s */
#define OPTS_POLL_DEFAULT_NS	50000u
#define OPTS_REQUEST_QUEUES_MAX 16
#define OPTS_QUOTE_MAX		64 /* bytes of a user string echoed back in a message */
/* QEMU 11.1 turns every DAX map into a memory region and aborts past 511 of them: with 2 MiB
 * maps, 1 GiB is the most a window can safely be. */
#define OPTS_DAX_WINDOW_MAX	(1ull << 30)
#define OPTS_DAX_WINDOW_DEFAULT (512ull << 20)
#define OPTS_DAX_MIN_SIZE	(64ull << 10)
#define OPTS_VT_SLOTS_MAX	(1u << 24) /* VT_SLOTS_MAX (coherence/vt.h) */
#define OPTS_ADAPT_MAX_MS	86400000u  /* a day, as --cache=always */

enum {
	OPT_SHARED_DIR = 256,
	OPT_SOCKET_PATH,
	OPT_FD,
	OPT_SOCKET_GROUP,
	OPT_TAG,
	OPT_THREAD_POOL_SIZE,
	OPT_CACHE,
	OPT_ALLOW_MMAP,
	OPT_NO_READDIRPLUS,
	OPT_WRITEBACK,
	OPT_ALLOW_DIRECT_IO,
	OPT_XATTR,
	OPT_POSIX_ACL,
	OPT_ANNOUNCE_SUBMOUNTS,
	OPT_NO_ANNOUNCE_SUBMOUNTS,
	OPT_KILLPRIV_V2,
	OPT_NO_KILLPRIV_V2,
	OPT_INODE_FILE_HANDLES,
	OPT_SANDBOX,
	OPT_SECCOMP,
	OPT_MODCAPS,
	OPT_RLIMIT_NOFILE,
	OPT_READONLY,
	OPT_PRESERVE_NOATIME,
	OPT_LOG_LEVEL,
	OPT_SYSLOG,
	OPT_KEEP_SERVING,
	OPT_REQUEST_QUEUES,
	OPT_POLL_MAX_NS,
	OPT_QUEUE_THREADS,
	OPT_DAX,
	OPT_DAX_WINDOW,
	OPT_DAX_MIN_SIZE,
	OPT_COHERENCE,
	OPT_VT_TABLE,
	OPT_VT_SLOTS,
	OPT_VT_WATCH,
	OPT_PRINT_CAPABILITIES,
	OPT_UID_MAP,
	OPT_GID_MAP,
	OPT_TRANSLATE_UID,
	OPT_TRANSLATE_GID,
	OPT_XATTRMAP,
	OPT_SECURITY_LABEL,
	OPT_MIGRATION_MODE,
	OPT_MIGRATION_ON_ERROR,
	OPT_MIGRATION_VERIFY_HANDLES,
	OPT_MIGRATION_CONFIRM_PATHS,
	OPT_ADAPTIVE_TIMEOUT,
};

static const char short_options[] = "+:hVdfo:";

static const struct option long_options[] = {
	{"shared-dir", required_argument, NULL, OPT_SHARED_DIR},
	{"socket-path", required_argument, NULL, OPT_SOCKET_PATH},
	{"socket", required_argument, NULL, OPT_SOCKET_PATH},
	{"fd", required_argument, NULL, OPT_FD},
	{"socket-group", required_argument, NULL, OPT_SOCKET_GROUP},
	{"tag", required_argument, NULL, OPT_TAG},
	{"thread-pool-size", required_argument, NULL, OPT_THREAD_POOL_SIZE},
	{"cache", required_argument, NULL, OPT_CACHE},
	{"allow-mmap", no_argument, NULL, OPT_ALLOW_MMAP},
	{"no-readdirplus", no_argument, NULL, OPT_NO_READDIRPLUS},
	{"writeback", no_argument, NULL, OPT_WRITEBACK},
	{"allow-direct-io", no_argument, NULL, OPT_ALLOW_DIRECT_IO},
	{"xattr", no_argument, NULL, OPT_XATTR},
	{"posix-acl", no_argument, NULL, OPT_POSIX_ACL},
	{"announce-submounts", no_argument, NULL, OPT_ANNOUNCE_SUBMOUNTS},
	{"no-announce-submounts", no_argument, NULL, OPT_NO_ANNOUNCE_SUBMOUNTS},
	{"killpriv-v2", no_argument, NULL, OPT_KILLPRIV_V2},
	{"no-killpriv-v2", no_argument, NULL, OPT_NO_KILLPRIV_V2},
	{"inode-file-handles", optional_argument, NULL, OPT_INODE_FILE_HANDLES},
	{"sandbox", required_argument, NULL, OPT_SANDBOX},
	{"seccomp", required_argument, NULL, OPT_SECCOMP},
	{"modcaps", required_argument, NULL, OPT_MODCAPS},
	{"rlimit-nofile", required_argument, NULL, OPT_RLIMIT_NOFILE},
	{"readonly", no_argument, NULL, OPT_READONLY},
	{"preserve-noatime", no_argument, NULL, OPT_PRESERVE_NOATIME},
	{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
	{"syslog", no_argument, NULL, OPT_SYSLOG},
	{"keep-serving", no_argument, NULL, OPT_KEEP_SERVING},
	{"request-queues", required_argument, NULL, OPT_REQUEST_QUEUES},
	{"poll-max-ns", required_argument, NULL, OPT_POLL_MAX_NS},
	{"queue-threads", required_argument, NULL, OPT_QUEUE_THREADS},
	{"dax", required_argument, NULL, OPT_DAX},
	{"dax-window", required_argument, NULL, OPT_DAX_WINDOW},
	{"coherence", required_argument, NULL, OPT_COHERENCE},
	{"vt-table", required_argument, NULL, OPT_VT_TABLE},
	{"vt-slots", required_argument, NULL, OPT_VT_SLOTS},
	{"vt-watch", required_argument, NULL, OPT_VT_WATCH},
	{"adaptive-timeout", required_argument, NULL, OPT_ADAPTIVE_TIMEOUT},
	{"dax-min-size", required_argument, NULL, OPT_DAX_MIN_SIZE},
	{"print-capabilities", no_argument, NULL, OPT_PRINT_CAPABILITIES},
	{"uid-map", required_argument, NULL, OPT_UID_MAP},
	{"gid-map", required_argument, NULL, OPT_GID_MAP},
	{"translate-uid", required_argument, NULL, OPT_TRANSLATE_UID},
	{"translate-gid", required_argument, NULL, OPT_TRANSLATE_GID},
	{"xattrmap", required_argument, NULL, OPT_XATTRMAP},
	{"security-label", no_argument, NULL, OPT_SECURITY_LABEL},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{"migration-mode", required_argument, NULL, OPT_MIGRATION_MODE},
	{"migration-on-error", required_argument, NULL, OPT_MIGRATION_ON_ERROR},
	{"migration-verify-handles", no_argument, NULL, OPT_MIGRATION_VERIFY_HANDLES},
	{"migration-confirm-paths", no_argument, NULL, OPT_MIGRATION_CONFIRM_PATHS},
	{NULL, 0, NULL, 0},
};

struct opts_choice {
	const char *name;
	int value;
};

static const struct opts_choice cache_choices[] = {
	{"auto", OPTS_CACHE_AUTO},   {"always", OPTS_CACHE_ALWAYS},
	{"never", OPTS_CACHE_NEVER}, {"metadata", OPTS_CACHE_METADATA},
	{"none", OPTS_CACHE_NEVER}, /* the old C virtiofsd spelling */
};
static const char cache_expected[] = "auto, always, never, metadata";

static const struct opts_choice dax_choices[] = {
	{"never", OPTS_DAX_NEVER},
	{"inode", OPTS_DAX_INODE},
	{"always", OPTS_DAX_ALWAYS},
};
static const char dax_expected[] = "never, inode, always";

static const struct opts_choice coherence_choices[] = {
	{"none", OPTS_COHERENCE_NONE},
	{"table", OPTS_COHERENCE_TABLE},
};
static const char coherence_expected[] = "none, table";

static const struct opts_choice vt_watch_choices[] = {
	{"auto", OPTS_VT_WATCH_AUTO},
	{"fanotify", OPTS_VT_WATCH_FANOTIFY},
	{"inotify", OPTS_VT_WATCH_INOTIFY},
	{"none", OPTS_VT_WATCH_NONE},
};
static const char vt_watch_expected[] = "auto, fanotify, inotify, none";

static const struct opts_choice sandbox_choices[] = {
	{"namespace", OPTS_SANDBOX_NAMESPACE},
	{"chroot", OPTS_SANDBOX_CHROOT},
	{"none", OPTS_SANDBOX_NONE},
};
static const char sandbox_expected[] = "namespace, chroot, none";

static const struct opts_choice seccomp_choices[] = {
	{"kill", OPTS_SECCOMP_KILL},
	{"log", OPTS_SECCOMP_LOG},
	{"trap", OPTS_SECCOMP_TRAP},
	{"none", OPTS_SECCOMP_NONE},
};
static const char seccomp_expected[] = "kill, log, trap, none";

static const struct opts_choice inode_fh_choices[] = {
	{"never", OPTS_INODE_FH_NEVER},
	{"prefer", OPTS_INODE_FH_PREFER},
	{"mandatory", OPTS_INODE_FH_MANDATORY},
	{"fallback", OPTS_INODE_FH_PREFER}, /* deprecated Rust virtiofsd alias */
};
static const char inode_fh_expected[] = "never, prefer, mandatory";

static const struct opts_choice migration_mode_choices[] = {
	{"find-paths", 0},
	{"file-handles", 1},
};
static const char migration_mode_expected[] = "find-paths, file-handles";

static const struct opts_choice migration_on_error_choices[] = {
	{"abort", 0},
	{"guest-error", 1},
};
static const char migration_on_error_expected[] = "abort, guest-error";

static const char log_level_expected[] = "error, warn, info, debug, trace, off";

/* -o flags of the old C virtiofsd that just set or clear a bool. */
static const struct {
	const char *name;
	size_t offset;
	bool value;
} o_flags[] = {
#define O_FLAG(name, field, value)                             \
	{                                                      \
		name, offsetof(struct vfsd_opts, field), value \
	}
	O_FLAG("xattr", xattr, true),
	O_FLAG("no_xattr", xattr, false),
	O_FLAG("readdirplus", readdirplus, true),
	O_FLAG("no_readdirplus", readdirplus, false),
	O_FLAG("writeback", writeback, true),
	O_FLAG("no_writeback", writeback, false),
	O_FLAG("allow_direct_io", allow_direct_io, true),
	O_FLAG("no_allow_direct_io", allow_direct_io, false),
	O_FLAG("announce_submounts", announce_submounts, true),
	O_FLAG("no_announce_submounts", announce_submounts, false),
	O_FLAG("killpriv_v2", killpriv_v2, true),
	O_FLAG("no_killpriv_v2", killpriv_v2, false),
	O_FLAG("posix_acl", posix_acl, true),
	O_FLAG("no_posix_acl", posix_acl, false),
	O_FLAG("posix_lock", posix_lock, true),
	O_FLAG("no_posix_lock", posix_lock, false),
	O_FLAG("security_label", security_label, true),
	O_FLAG("no_security_label", security_label, false),
	O_FLAG("migration_verify_handles", migration_verify_handles, true),
	O_FLAG("migration_confirm_paths", migration_confirm_paths, true),
	O_FLAG("flock", flock, true),
	O_FLAG("no_flock", flock, false),
#undef O_FLAG
};

/* Long options that just set or clear a bool. */
static const struct {
	int id;
	size_t offset;
	bool value;
} long_flags[] = {
#define L_FLAG(id, field, value)                             \
	{                                                    \
		id, offsetof(struct vfsd_opts, field), value \
	}
	L_FLAG(OPT_ALLOW_MMAP, allow_mmap, true),
	L_FLAG(OPT_NO_READDIRPLUS, readdirplus, false),
	L_FLAG(OPT_WRITEBACK, writeback, true),
	L_FLAG(OPT_ALLOW_DIRECT_IO, allow_direct_io, true),
	L_FLAG(OPT_XATTR, xattr, true),
	L_FLAG(OPT_POSIX_ACL, posix_acl, true),
	L_FLAG(OPT_ANNOUNCE_SUBMOUNTS, announce_submounts, true),
	L_FLAG(OPT_NO_ANNOUNCE_SUBMOUNTS, announce_submounts, false),
	L_FLAG(OPT_KILLPRIV_V2, killpriv_v2, true),
	L_FLAG(OPT_NO_KILLPRIV_V2, killpriv_v2, false),
	L_FLAG(OPT_READONLY, readonly, true),
	L_FLAG(OPT_PRESERVE_NOATIME, preserve_noatime, true),
	L_FLAG(OPT_SYSLOG, syslog, true),
	L_FLAG(OPT_KEEP_SERVING, keep_serving, true),
	L_FLAG(OPT_SECURITY_LABEL, security_label, true),
	L_FLAG(OPT_MIGRATION_VERIFY_HANDLES, migration_verify_handles, true),
	L_FLAG(OPT_MIGRATION_CONFIRM_PATHS, migration_confirm_paths, true),
#undef L_FLAG
};

struct opts_ctx {
	struct vfsd_opts *opts;
	FILE *err;
	bool help;
	bool version;
	bool capabilities;
};

/*
 * Copies a user-supplied string into buf for an error message: printable ASCII as is, anything
 * else as \xNN (a newline in a value must not turn our one-line message into two), cut at
 * OPTS_QUOTE_MAX bytes.
 */
static const char *opts_quote(const char *s, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0, i;

	for (i = 0; s[i] && i < OPTS_QUOTE_MAX && n + 5 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			buf[n++] = (char)c;
		} else {
			buf[n++] = '\\';
			buf[n++] = 'x';
			buf[n++] = hex[c >> 4];
			buf[n++] = hex[c & 0xf];
		}
	}
	if (s[i] && n + 4 <= size) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

#define QUOTE_BUF (OPTS_QUOTE_MAX * 4 + 4)

static int opts_error(struct opts_ctx *ctx, const char *fmt, ...) _printf_(2, 3);
static int opts_error(struct opts_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	fputs("vfsd: ", ctx->err);
	va_start(ap, fmt);
	vfprintf(ctx->err, fmt, ap);
	va_end(ap);
	fputc('\n', ctx->err);
	fflush(ctx->err);
	return -EINVAL;
}

static int opts_invalid(struct opts_ctx *ctx, const char *name, const char *value,
			const char *expected)
{
	char q[QUOTE_BUF];

	return opts_error(ctx, "%s: invalid value '%s' (expected %s)", name,
			  opts_quote(value, q, sizeof(q)), expected);
}

static int opts_choose(struct opts_ctx *ctx, const char *name, const char *value,
		       const struct opts_choice *choices, size_t n, const char *expected, int *ret)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(value, choices[i].name) == 0) {
			*ret = choices[i].value;
			return 0;
		}
	}
	return opts_invalid(ctx, name, value, expected);
}

#define OPTS_CHOOSE(ctx, name, value, table, expected, ret) \
	opts_choose(ctx, name, value, table, ARRAY_SIZE(table), expected, ret)

/* Decimal digits only: no sign, no blanks, no base prefix, nothing after the number. */
static int opts_number(struct opts_ctx *ctx, const char *name, const char *value, uint64_t min,
		       uint64_t max, uint64_t *ret)
{
	char expected[80];
	unsigned long long v;
	char *end;

	if (max == UINT64_MAX)
		snprintf(expected, sizeof(expected), "an integer from %llu",
			 (unsigned long long)min);
	else
		snprintf(expected, sizeof(expected), "an integer from %llu to %llu",
			 (unsigned long long)min, (unsigned long long)max);

	if (value[0] < '0' || value[0] > '9')
		return opts_invalid(ctx, name, value, expected);
	errno = 0;
	v = strtoull(value, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return opts_invalid(ctx, name, value, expected);
	*ret = v;
	return 0;
}

/* opts_number() for an unsigned int field (max must fit). */
static int opts_unsigned(struct opts_ctx *ctx, const char *name, const char *value, unsigned min,
			 unsigned max, unsigned *ret)
{
	uint64_t n;
	int r = opts_number(ctx, name, value, min, max, &n);

	if (r == 0)
		*ret = (unsigned)n;
	return r;
}

/* --adaptive-timeout=MIN:MAX, milliseconds, 1 <= MIN <= MAX <= a day. */
static int opts_set_adaptive(struct opts_ctx *ctx, const char *name, const char *value)
{
	static const char expected[] = "MIN:MAX, milliseconds, 1 <= MIN <= MAX <= 86400000";
	char min[24];
	const char *colon = strchr(value, ':');
	uint64_t lo, hi;
	int r;

	if (!colon || (size_t)(colon - value) >= sizeof(min))
		return opts_invalid(ctx, name, value, expected);
	memcpy(min, value, (size_t)(colon - value));
	min[colon - value] = '\0';
	r = opts_number(ctx, name, min, 1, OPTS_ADAPT_MAX_MS, &lo);
	if (r == 0)
		r = opts_number(ctx, name, colon + 1, 1, OPTS_ADAPT_MAX_MS, &hi);
	if (r < 0)
		return r;
	if (lo > hi)
		return opts_invalid(ctx, name, value, expected);
	ctx->opts->adapt_min_ms = (unsigned)lo;
	ctx->opts->adapt_max_ms = (unsigned)hi;
	return 0;
}

/* A byte count with an optional K, M or G suffix (powers of 1024). */
static int opts_size(struct opts_ctx *ctx, const char *name, const char *value, uint64_t max,
		     uint64_t *ret)
{
	static const char units[] = "KMG";
	unsigned long long v;
	const char *u;
	char *end;

	if (value[0] < '0' || value[0] > '9')
		goto bad;
	errno = 0;
	v = strtoull(value, &end, 10);
	if (errno != 0)
		goto bad;
	if (*end != '\0') {
		u = strchr(units, *end);
		if (!u || end[1] != '\0' || v > (max >> (10 * (u - units + 1))))
			goto bad;
		v <<= 10 * (u - units + 1);
	}
	if (v > max)
		goto bad;
	*ret = v;
	return 0;
bad:
	return opts_invalid(ctx, name, value, "a size in bytes, with an optional K, M or G suffix");
}

static int opts_set_dax_window(struct opts_ctx *ctx, const char *name, const char *value)
{
	uint64_t v = 0;
	int r = opts_size(ctx, name, value, OPTS_DAX_WINDOW_MAX, &v);

	if (r < 0)
		return r;
	/* QEMU aborts on a window that is not a power of two (it becomes a PCI BAR). */
	if (v < 4096 || (v & (v - 1)))
		return opts_invalid(ctx, name, value, "a power of two from 4K to 1G");
	ctx->opts->dax_window = v;
	return 0;
}

static int opts_string(struct opts_ctx *ctx, const char *name, const char *value, char **slot)
{
	char *copy;

	if (value[0] == '\0')
		return opts_error(ctx, "%s: empty value", name);
	copy = strdup(value);
	if (!copy) {
		opts_error(ctx, "%s: out of memory", name);
		return -ENOMEM;
	}
	free(*slot);
	*slot = copy;
	return 0;
}

/* "+cap:-cap:...": each item a sign and a lower-case capability name without "cap_". */
static int opts_set_modcaps(struct opts_ctx *ctx, const char *name, const char *value)
{
	const char *p = value;

	for (;;) {
		const char *start;

		if (*p != '+' && *p != '-')
			goto bad;
		start = ++p;
		while ((*p >= 'a' && *p <= 'z') || *p == '_')
			p++;
		if (p == start)
			goto bad;
		if (*p == '\0')
			break;
		if (*p != ':')
			goto bad;
		p++;
	}
	return opts_string(ctx, name, value, &ctx->opts->modcaps);
bad:
	return opts_invalid(ctx, name, value,
			    "+name or -name items separated by ':', e.g. +sys_admin:-mknod");
}

static int opts_set_tag(struct opts_ctx *ctx, const char *name, const char *value)
{
	char q[QUOTE_BUF];

	if (strlen(value) > OPTS_TAG_MAX)
		return opts_error(ctx, "%s: '%s' is longer than %d bytes", name,
				  opts_quote(value, q, sizeof(q)), OPTS_TAG_MAX);
	return opts_string(ctx, name, value, &ctx->opts->tag);
}

static int opts_set_cache(struct opts_ctx *ctx, const char *name, const char *value)
{
	int v = 0, r;

	r = OPTS_CHOOSE(ctx, name, value, cache_choices, cache_expected, &v);
	if (r == 0)
		ctx->opts->cache = (enum opts_cache)v;
	return r;
}

static int opts_set_sandbox(struct opts_ctx *ctx, const char *name, const char *value)
{
	int v = 0, r;

	r = OPTS_CHOOSE(ctx, name, value, sandbox_choices, sandbox_expected, &v);
	if (r == 0)
		ctx->opts->sandbox = (enum opts_sandbox)v;
	return r;
}

static int opts_set_log_level(struct opts_ctx *ctx, const char *name, const char *value)
{
	enum log_level level;

	if (log_level_from_string(value, &level) < 0)
		return opts_invalid(ctx, name, value, log_level_expected);
	ctx->opts->log_level = (int)level;
	return 0;
}

/* --migration-mode (on_error false) or --migration-on-error. */
static int opts_set_migration(struct opts_ctx *ctx, const char *name, const char *value,
			      bool on_error)
{
	int v = 0, r;

	if (on_error) {
		r = OPTS_CHOOSE(ctx, name, value, migration_on_error_choices,
				migration_on_error_expected, &v);
		if (r == 0)
			ctx->opts->migration_guest_error = v;
	} else {
		r = OPTS_CHOOSE(ctx, name, value, migration_mode_choices, migration_mode_expected,
				&v);
		if (r == 0)
			ctx->opts->migration_file_handles = v;
	}
	return r;
}

/* One item of the old "-o" list: "flag" or "key=value". */
static int opts_apply_o(struct opts_ctx *ctx, char *item)
{
	char *value = strchr(item, '=');
	char name[64], q[QUOTE_BUF];

	if (value)
		*value++ = '\0';
	snprintf(name, sizeof(name), "-o %s", opts_quote(item, q, sizeof(q)));

	for (size_t i = 0; i < ARRAY_SIZE(o_flags); i++) {
		if (strcmp(item, o_flags[i].name) == 0) {
			if (value)
				return opts_error(ctx, "%s: takes no value", name);
			*(bool *)((char *)ctx->opts + o_flags[i].offset) = o_flags[i].value;
			return 0;
		}
	}

	if (strcmp(item, "source") != 0 && strcmp(item, "cache") != 0 &&
	    strcmp(item, "sandbox") != 0 && strcmp(item, "modcaps") != 0 &&
	    strcmp(item, "loglevel") != 0 && strcmp(item, "log_level") != 0 &&
	    strcmp(item, "xattrmap") != 0 && strcmp(item, "migration_mode") != 0 &&
	    strcmp(item, "migration_on_error") != 0)
		return opts_error(ctx, "-o: unknown option '%s'", opts_quote(item, q, sizeof(q)));
	if (!value)
		return opts_error(ctx, "%s: missing value", name);

	if (strcmp(item, "source") == 0)
		return opts_string(ctx, name, value, &ctx->opts->shared_dir);
	if (strcmp(item, "cache") == 0)
		return opts_set_cache(ctx, name, value);
	if (strcmp(item, "sandbox") == 0)
		return opts_set_sandbox(ctx, name, value);
	if (strcmp(item, "modcaps") == 0)
		return opts_set_modcaps(ctx, name, value);
	if (strcmp(item, "xattrmap") == 0)
		return opts_string(ctx, name, value, &ctx->opts->xattrmap);
	if (strcmp(item, "migration_mode") == 0)
		return opts_set_migration(ctx, name, value, false);
	if (strcmp(item, "migration_on_error") == 0)
		return opts_set_migration(ctx, name, value, true);
	return opts_set_log_level(ctx, name, value);
}

/*
 * "-o a,b=c,...". A doubled comma stands for a literal comma inside a value (libvirt escapes
 * commas in "source=" that way); empty items are skipped.
 */
static int opts_parse_o(struct opts_ctx *ctx, const char *arg)
{
	_cleanup_free_ char *item = malloc(strlen(arg) + 1);
	const char *p = arg;

	if (!item) {
		opts_error(ctx, "-o: out of memory");
		return -ENOMEM;
	}
	while (*p) {
		size_t n = 0;
		int r;

		for (; *p; p++) {
			if (*p == ',') {
				if (p[1] != ',')
					break;
				p++;
			}
			item[n++] = *p;
		}
		item[n] = '\0';
		if (*p == ',')
			p++;
		if (n == 0)
			continue;
		r = opts_apply_o(ctx, item);
		if (r < 0)
			return r;
	}
	return 0;
}

/* --inode-file-handles takes an optional value; also accept it as the next word. */
static int opts_set_inode_fh(struct opts_ctx *ctx, const char *value, int argc, char **argv)
{
	int v = OPTS_INODE_FH_PREFER;

	if (!value && optind < argc) {
		for (size_t i = 0; i < ARRAY_SIZE(inode_fh_choices); i++) {
			if (strcmp(argv[optind], inode_fh_choices[i].name) == 0) {
				value = argv[optind++];
				break;
			}
		}
	}
	if (value) {
		int r = OPTS_CHOOSE(ctx, "--inode-file-handles", value, inode_fh_choices,
				    inode_fh_expected, &v);
		if (r < 0)
			return r;
	}
	ctx->opts->inode_file_handles = (enum opts_inode_fh)v;
	return 0;
}

/* --uid-map/--gid-map: one more range of the user namespace. */
static int opts_add_nsmap(struct opts_ctx *ctx, const char *dashed, const char *value,
			  struct opts_nsmap **map)
{
	const char *why;
	char q[QUOTE_BUF];

	if (!*map && !(*map = calloc(1, sizeof(**map)))) {
		opts_error(ctx, "out of memory");
		return -ENOMEM;
	}
	if (opts_nsmap_add(*map, value, &why) < 0)
		return opts_error(ctx, "%s=%s: %s", dashed, opts_quote(value, q, sizeof(q)), why);
	return 0;
}

/* --translate-uid/--translate-gid: one more rule of vfsd's own translation. */
static int opts_add_translate(struct opts_ctx *ctx, const char *dashed, const char *value,
			      struct idmap *m)
{
	const char *why;
	char q[QUOTE_BUF];
	int r = opts_translate_add(m, value, &why);

	if (r == -ENOMEM) {
		opts_error(ctx, "out of memory");
		return r;
	}
	if (r < 0)
		return opts_error(ctx, "%s=%s: %s", dashed, opts_quote(value, q, sizeof(q)), why);
	return 0;
}

/* Applies one long option (already checked to be spelled in full). */
static int opts_apply_long(struct opts_ctx *ctx, int c, const char *name, const char *value,
			   int argc, char **argv)
{
	struct vfsd_opts *o = ctx->opts;
	char dashed[64];
	uint64_t n = 0;
	int v = 0, r;

	for (size_t i = 0; i < ARRAY_SIZE(long_flags); i++) {
		if (long_flags[i].id == c) {
			*(bool *)((char *)o + long_flags[i].offset) = long_flags[i].value;
			return 0;
		}
	}
	snprintf(dashed, sizeof(dashed), "--%s", name);
	switch (c) {
	case OPT_SHARED_DIR:
		return opts_string(ctx, dashed, value, &o->shared_dir);
	case OPT_SOCKET_PATH:
		return opts_string(ctx, dashed, value, &o->socket_path);
	case OPT_FD:
		r = opts_number(ctx, dashed, value, 0, INT_MAX, &n);
		if (r == 0)
			o->fd = (int)n;
		return r;
	case OPT_SOCKET_GROUP:
		return opts_string(ctx, dashed, value, &o->socket_group);
	case OPT_TAG:
		return opts_set_tag(ctx, dashed, value);
	case OPT_THREAD_POOL_SIZE:
		return opts_unsigned(ctx, dashed, value, 0, OPTS_THREAD_POOL_MAX,
				     &o->thread_pool_size);
	case OPT_CACHE:
		return opts_set_cache(ctx, dashed, value);
	case OPT_INODE_FILE_HANDLES:
		return opts_set_inode_fh(ctx, value, argc, argv);
	case OPT_MIGRATION_MODE:
		return opts_set_migration(ctx, dashed, value, false);
	case OPT_MIGRATION_ON_ERROR:
		return opts_set_migration(ctx, dashed, value, true);
	case OPT_SANDBOX:
		return opts_set_sandbox(ctx, dashed, value);
	case OPT_SECCOMP:
		r = OPTS_CHOOSE(ctx, dashed, value, seccomp_choices, seccomp_expected, &v);
		if (r == 0)
			o->seccomp = (enum opts_seccomp)v;
		return r;
	case OPT_MODCAPS:
		return opts_set_modcaps(ctx, dashed, value);
	case OPT_RLIMIT_NOFILE:
		return opts_number(ctx, dashed, value, 0, UINT64_MAX, &o->rlimit_nofile);
	case OPT_LOG_LEVEL:
		return opts_set_log_level(ctx, dashed, value);
	case OPT_QUEUE_THREADS:
		return opts_unsigned(ctx, dashed, value, 1, OPTS_QUEUE_THREADS_MAX,
				     &o->queue_threads);
	case OPT_POLL_MAX_NS:
		return opts_number(ctx, dashed, value, 0, OPTS_POLL_MAX_NS, &o->poll_max_ns);
	case OPT_REQUEST_QUEUES:
		r = opts_unsigned(ctx, dashed, value, 1, OPTS_REQUEST_QUEUES_MAX,
				  &o->max_request_queues);
		if (r == 0)
			o->request_queues_given = true;
		return r;
	case OPT_DAX:
		r = OPTS_CHOOSE(ctx, dashed, value, dax_choices, dax_expected, &v);
		if (r == 0)
			o->dax = (enum opts_dax)v;
		return r;
	case OPT_DAX_WINDOW:
		return opts_set_dax_window(ctx, dashed, value);
	case OPT_DAX_MIN_SIZE:
		return opts_size(ctx, dashed, value, UINT64_MAX, &o->dax_min_size);
	case OPT_COHERENCE:
		r = OPTS_CHOOSE(ctx, dashed, value, coherence_choices, coherence_expected, &v);
		if (r == 0)
			o->coherence = (enum opts_coherence)v;
		return r;
	case OPT_VT_TABLE:
		return opts_string(ctx, dashed, value, &o->vt_table);
	case OPT_VT_SLOTS:
		return opts_unsigned(ctx, dashed, value, 1, OPTS_VT_SLOTS_MAX, &o->vt_slots);
	case OPT_VT_WATCH:
		r = OPTS_CHOOSE(ctx, dashed, value, vt_watch_choices, vt_watch_expected, &v);
		if (r == 0) {
			o->vt_watch = (enum opts_vt_watch)v;
			o->vt_watch_given = true;
		}
		return r;
	case OPT_ADAPTIVE_TIMEOUT:
		return opts_set_adaptive(ctx, dashed, value);
	case OPT_PRINT_CAPABILITIES:
		ctx->capabilities = true;
		return 0;
	case OPT_UID_MAP:
	case OPT_GID_MAP:
		return opts_add_nsmap(ctx, dashed, value,
				      c == OPT_UID_MAP ? &o->uid_map : &o->gid_map);
	case OPT_TRANSLATE_UID:
	case OPT_TRANSLATE_GID:
		return opts_add_translate(ctx, dashed, value,
					  c == OPT_TRANSLATE_UID ? &o->translate_uid
								 : &o->translate_gid);
	case OPT_XATTRMAP:
		/* The rules are compiled (and their errors reported) by main. */
		return opts_string(ctx, dashed, value, &o->xattrmap);
	}
	return opts_error(ctx, "%s: unhandled option", dashed);
}

static int opts_apply_short(struct opts_ctx *ctx, int c, const char *value)
{
	switch (c) {
	case 'h':
		ctx->help = true;
		return 0;
	case 'V':
		ctx->version = true;
		return 0;
	case 'd':
		ctx->opts->log_level = LOG_LEVEL_DEBUG;
		return 0;
	case 'f':
		return 0; /* we always run in the foreground */
	case 'o':
		return opts_parse_o(ctx, value);
	}
	return opts_error(ctx, "-%c: unhandled option", c);
}

static const struct option *opts_find_long(const char *arg, size_t len)
{
	for (const struct option *lo = long_options; lo->name; lo++) {
		if (strlen(lo->name) == len && strncmp(lo->name, arg, len) == 0)
			return lo;
	}
	return NULL;
}

/* getopt returned '?' or ':' for argv[elem]; say which option and what was wrong. */
static int opts_getopt_error(struct opts_ctx *ctx, int c, const char *elem)
{
	char q[QUOTE_BUF];

	if (strncmp(elem, "--", 2) == 0) {
		size_t len = strcspn(elem + 2, "=");
		const struct option *lo = opts_find_long(elem + 2, len);
		char *name = strndup(elem, len + 2);
		int r;

		if (!name) {
			opts_error(ctx, "out of memory");
			return -ENOMEM;
		}
		opts_quote(name, q, sizeof(q));
		free(name);
		if (c == ':')
			r = opts_error(ctx, "%s: missing value", q);
		else if (lo && lo->has_arg == no_argument)
			r = opts_error(ctx, "%s: takes no value", q);
		else
			r = opts_error(ctx, "%s: unknown option", q);
		return r;
	}
	if (c == ':')
		return opts_error(ctx, "-%c: missing value", optopt);
	if (optopt > 0x20 && optopt < 0x7f)
		return opts_error(ctx, "-%c: unknown option", optopt);
	return opts_error(ctx, "%s: unknown option", opts_quote(elem, q, sizeof(q)));
}

/* Long options must be spelled in full: getopt's prefix matching is not part of our CLI. */
static int opts_check_spelling(struct opts_ctx *ctx, const char *elem, const char *name)
{
	size_t len = strlen(name);
	char q[QUOTE_BUF];
	char *written;

	if (strncmp(elem, "--", 2) == 0 && strncmp(elem + 2, name, len) == 0 &&
	    (elem[2 + len] == '\0' || elem[2 + len] == '='))
		return 0;
	written = strndup(elem, strcspn(elem, "="));
	if (!written) {
		opts_error(ctx, "out of memory");
		return -ENOMEM;
	}
	opts_quote(written, q, sizeof(q));
	free(written);
	return opts_error(ctx, "%s: unknown option (did you mean --%s?)", q, name);
}

/* Cross-option rules, run once every option has been seen so that order does not matter. */
static int opts_finish(struct opts_ctx *ctx)
{
	struct vfsd_opts *o = ctx->opts;

	if (ctx->help) {
		o->action = OPTS_HELP;
		return 0;
	}
	if (ctx->version) {
		o->action = OPTS_VERSION;
		return 0;
	}
	if (ctx->capabilities) {
		o->action = OPTS_PRINT_CAPABILITIES;
		return 0;
	}

	if (!o->shared_dir)
		return opts_error(ctx, "missing --shared-dir DIR (or -o source=DIR)");
	if (o->socket_path && o->fd >= 0)
		return opts_error(ctx, "--fd: conflicts with --socket-path");
	if (!o->socket_path && o->fd < 0)
		return opts_error(ctx, "missing --socket-path PATH or --fd N");
	if (o->socket_group && !o->socket_path)
		return opts_error(ctx, "--socket-group: only applies with --socket-path");
	if ((o->vt_table || o->vt_slots || o->vt_watch_given) &&
	    o->coherence != OPTS_COHERENCE_TABLE)
		return opts_error(ctx, "--vt-table, --vt-slots, --vt-watch: only apply with "
				       "--coherence=table");

	if (o->adapt_max_ms && o->coherence != OPTS_COHERENCE_TABLE)
		return opts_error(ctx, "--adaptive-timeout: needs --coherence=table (the ages come "
				       "from the version table)");
	if (o->adapt_max_ms && o->cache == OPTS_CACHE_NEVER)
		return opts_error(ctx, "--adaptive-timeout: conflicts with --cache=never (nothing "
				       "is cached)");

	/* As the Rust virtiofsd: no readdirplus when nothing may be cached. */
	if (o->cache == OPTS_CACHE_NEVER)
		o->readdirplus = false;
	/* As the Rust virtiofsd: ACL entries name host ids that no translation would rewrite. */
	if (o->posix_acl && (!idmap_empty(&o->translate_uid) || !idmap_empty(&o->translate_gid)))
		return opts_error(ctx, "--translate-uid, --translate-gid: conflict with "
				       "--posix-acl (ACL entries would not be translated)");
	if ((o->uid_map || o->gid_map) && o->sandbox != OPTS_SANDBOX_NAMESPACE)
		return opts_error(ctx, "--uid-map, --gid-map: need --sandbox=namespace (they "
				       "describe its user namespace)");
	/* ACLs are stored in xattrs; serving them requires the xattr ops. */
	if (o->posix_acl)
		o->xattr = true;
	/* As the Rust virtiofsd: a mapping or labels mean serving xattrs. */
	if (o->xattrmap || o->security_label)
		o->xattr = true;
	o->action = OPTS_RUN;
	return 0;
}

static void opts_defaults(struct vfsd_opts *o)
{
	*o = (struct vfsd_opts){
		.action = OPTS_RUN,
		.fd = -1,
		.thread_pool_size = 0,
		.cache = OPTS_CACHE_AUTO,
		.readdirplus = true,
		.announce_submounts = true,
		.killpriv_v2 = false,
		.posix_lock = true,
		.flock = true,
		.inode_file_handles = OPTS_INODE_FH_NEVER,
		.sandbox = OPTS_SANDBOX_NAMESPACE,
		.seccomp = OPTS_SECCOMP_KILL,
		.rlimit_nofile = UINT64_MAX,
		.log_level = LOG_LEVEL_INFO,
		.max_request_queues = OPTS_REQUEST_QUEUES_MAX,
		.poll_max_ns = OPTS_POLL_DEFAULT_NS,
		.dax = OPTS_DAX_INODE,
		.dax_window = OPTS_DAX_WINDOW_DEFAULT,
		.dax_min_size = OPTS_DAX_MIN_SIZE,
	};
}

static int opts_parse_all(struct opts_ctx *ctx, int argc, char **argv)
{
	char q[QUOTE_BUF];
	int r;

	/* 0, not 1: makes glibc reinitialise its state, so we can be called again. */
	optind = 0;
	for (;;) {
		int elem = optind == 0 ? 1 : optind;
		int longindex = -1;
		int c = getopt_long(argc, argv, short_options, long_options, &longindex);

		if (c == -1)
			break;
		if (c == '?' || c == ':')
			return opts_getopt_error(ctx, c, argv[elem]);
		if (longindex >= 0) {
			r = opts_check_spelling(ctx, argv[elem], long_options[longindex].name);
			if (r < 0)
				return r;
		}
		if (c >= OPT_SHARED_DIR) {
			r = opts_apply_long(ctx, c, long_options[longindex].name, optarg, argc,
					    argv);
		} else {
			r = opts_apply_short(ctx, c, optarg);
		}
		if (r < 0)
			return r;
	}
	if (optind < argc)
		return opts_error(ctx, "unexpected argument '%s'",
				  opts_quote(argv[optind], q, sizeof(q)));
	return opts_finish(ctx);
}

int opts_parse(int argc, char **argv, struct vfsd_opts *opts, FILE *err)
{
	struct opts_ctx ctx = {.opts = opts, .err = err};
	int r;

	opts_defaults(opts);
	r = opts_parse_all(&ctx, argc, argv);
	if (r < 0) {
		/* Leave nothing allocated and the defaults in place. */
		opts_free(opts);
		opts_defaults(opts);
	}
	return r;
}

void opts_free(struct vfsd_opts *opts)
{
	if (!opts)
		return;
	free(TAKE_PTR(opts->shared_dir));
	free(TAKE_PTR(opts->socket_path));
	free(TAKE_PTR(opts->socket_group));
	free(TAKE_PTR(opts->tag));
	free(TAKE_PTR(opts->modcaps));
	free(TAKE_PTR(opts->vt_table));
	free(TAKE_PTR(opts->uid_map));
	free(TAKE_PTR(opts->gid_map));
	idmap_free(&opts->translate_uid);
	idmap_free(&opts->translate_gid);
	free(TAKE_PTR(opts->xattrmap));
}
