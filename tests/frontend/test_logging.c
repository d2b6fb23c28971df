/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * frontend-logging: what the daemon logs about guest-caused errors, and how it stops.
 * A guest-caused error is logged at debug level with the opcode and node id, nothing at the
 * default level, and a guest cannot flood the log (rate limit per message site). SIGINT ends the
 * daemon cleanly. A guest looping FUSE_INIT (an info line each) or malformed requests cannot flood
 * it either, and every suppressed line is accounted for: the next line that gets out says how many
 * were suppressed before it. With --log-level=debug every request is logged (opcode by name, node,
 * result, microseconds) and every vhost-user message by name, within a larger bucket that still
 * caps a flood. Usage: test_logging DAEMON. TAP on stdout; the daemon's stderr is
 * captured.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "util/macros.h"

#define BAD_OPCODE 9999
#define BAD_NODE   12345
#define FLOOD	   10000
/* util/log.h: 10 lines at once, then one a second. */
#define BURST 10
/* util/log.h LOG_FLOW_BURST and LOG_FLOW_INTERVAL_MS: the per-request debug lines. */
#define FLOW_BURST	 256
#define FLOW_INTERVAL_MS 5

static int send_bad(struct th *t, unsigned count)
{
	uint8_t arg[16] = {0};
	struct iovec a = IOV(arg, sizeof(arg));

	for (unsigned i = 0; i < count; i++) {
		int r = fe_fuse_call(t->fe, BAD_OPCODE, BAD_NODE, &a, 1, NULL, 0, NULL);
		if (r != -ENOSYS)
			return r < 0 ? r : -EPROTO;
	}
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Lines past offset containing needle; *ret_suppressed: the sum of the "(N similar messages
 * suppressed)" they report, *ret_reports: how many report one.
 */
static int count_flood(struct th *t, long offset, const char *needle,
		       unsigned long long *ret_suppressed, int *ret_reports)
{
	char line[4096];
	int n = 0;
	FILE *f = fopen(t->log, "re");

	*ret_suppressed = 0;
	*ret_reports = 0;
	if (!f)
		return -1;
	if (fseek(f, offset, SEEK_SET) == 0)
		while (fgets(line, sizeof(line), f)) {
			const char *p;
			unsigned long long sup;

			if (!strstr(line, needle))
				continue;
			n++;
			p = strrchr(line, '(');
			/* sscanf() counts the number before the words fail to match, so check
			 * them first: "UNKNOWN(9999)" is no report. */
			if (p && strstr(p, " similar messages suppressed)") &&
			    sscanf(p, "(%llu ", &sup) == 1) {
				*ret_suppressed += sup;
				(*ret_reports)++;
			}
		}
	fclose(f);
	return n;
}

/*
 * `sent` guest-triggered lines of one call site went to a daemon in `elapsed_ms`, then one more
 * after the bucket refilled: few lines got out, and they account for every one of them.
 */
static void check_flood_rate(struct th *t, long off, const char *needle, int sent,
			     int64_t elapsed_ms, int burst, int interval_ms)
{
	unsigned long long sup;
	int reports, lines = count_flood(t, off, needle, &sup, &reports);

	fprintf(stderr, "# %s: %d sent in %lld ms, %d lines, %llu reported suppressed\n", needle,
		sent, (long long)elapsed_ms, lines, sup);
	T_CHECK(t, lines >= burst);
	T_CHECK(t, lines <= burst + (int)(elapsed_ms / interval_ms) + 2);
	T_CHECK(t, reports >= 1);
	T_EQ(t, (unsigned long long)lines + sup, (unsigned long long)sent);
}

static void check_flood(struct th *t, long off, const char *needle, int sent, int64_t elapsed_ms)
{
	check_flood_rate(t, off, needle, sent, elapsed_ms, BURST, 1000);
}

static void test_init_loop_rate_limited(struct th *t)
{
	int64_t start;
	long off;
	int i;

	t->extra_flags = NULL;
	T_OK(t, th_reconnect(t, NULL));
	off = th_log_size(t);
	start = now_ms();
	for (i = 0; i < FLOOD; i++)
		if (fe_init(t->fe, 38, th_init_flags()) < 0)
			break;
	T_EQ(t, i, FLOOD);
	/* Past the refill: this line goes out and reports the suppressed ones. */
	usleep(1100 * 1000);
	T_OK(t, fe_init(t->fe, 38, th_init_flags()));
	check_flood(t, off, "INFO  vfsd] fuse: session 7.", FLOOD + 1, now_ms() - start);
}

static int send_bad_name(struct th *t)
{
	struct iovec a = IOV("..", 3);
	struct fuse_entry_out e;
	int r = fe_fuse_call(t->fe, FUSE_LOOKUP, 1, &a, 1, &e, sizeof(e), NULL);

	return r == -EINVAL ? 0 : r < 0 ? r : -EPROTO;
}

static void test_malformed_loop_rate_limited(struct th *t)
{
	static const char *const flags[] = {"--log-level=debug", NULL};
	struct fuse_entry_out e;
	int64_t start;
	long off;
	int i;

	t->extra_flags = flags;
	T_OK(t, th_reconnect(t, NULL));
	off = th_log_size(t);
	start = now_ms();
	for (i = 0; i < FLOOD / 2; i++)
		if (send_bad(t, 1) < 0 || send_bad_name(t) < 0)
			break;
	T_EQ(t, i, FLOOD / 2);
	usleep(1100 * 1000);
	T_OK(t, send_bad(t, 1));
	T_OK(t, send_bad_name(t));
	check_flood(t, off, "unknown opcode 9999", FLOOD / 2 + 1, now_ms() - start);
	check_flood(t, off, "LOOKUP nodeid 1: invalid name", FLOOD / 2 + 1, now_ms() - start);
	/* The per-request debug lines of both: one larger, faster bucket, every request counted. */
	check_flood_rate(t, off, " unique ", FLOOD + 2, now_ms() - start, FLOW_BURST,
			 FLOW_INTERVAL_MS);
	/* The daemon still serves. */
	T_EQ(t, fe_lookup(t->fe, 1, "no-such-file", &e), -ENOENT);
}

/* One SET_DEVICE_STATE_FD the daemon refuses (direction 2, neither SAVE nor LOAD). */
static int send_bad_direction(struct th *t)
{
	struct {
		uint32_t direction, phase;
	} s = {2, 0};
	uint64_t v = 0;
	int p[2], r;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	r = fe_vhu_call(t->fe, VHU_SET_DEVICE_STATE_FD, &s, sizeof(s), &p[1], 1, &v);
	close(p[0]);
	close(p[1]);
	return r < 0 ? r : (v & 0xff) ? 0 : -EPROTO;
}

/*
 * One round of what a frontend looping migrations makes the daemon log: a refused transfer, a
 * save, a load of bytes that are no state, one of a state with a malformed node table (its
 * next node id 0), then the saved state loaded again (the session goes on).
 */
static int device_state_round(struct th *t)
{
	/* Header 16 bytes, FUSE section 16 + 24, backend section header 16: the next node id. */
	enum {
		NEXT_NODEID_OFF = 72
	};
	uint64_t set = 0, check = 0;
	uint8_t *blob = NULL, next[8];
	size_t len = 0;
	int r = send_bad_direction(t);

	if (r == 0)
		r = fe_state_save(t->fe, (void **)&blob, &len, &set, &check);
	if (r == 0 && (check != 0 || len < NEXT_NODEID_OFF + 8))
		r = -EPROTO;
	if (r == 0)
		r = fe_state_load(t->fe, "VFSDjunk", 8, &set, &check);
	if (r == 0 && check == 0)
		r = -EPROTO;
	if (r == 0) {
		memcpy(next, blob + NEXT_NODEID_OFF, sizeof(next));
		memset(blob + NEXT_NODEID_OFF, 0, sizeof(next));
		r = fe_state_load(t->fe, blob, len, &set, &check);
		memcpy(blob + NEXT_NODEID_OFF, next, sizeof(next));
	}
	if (r == 0 && check == 0)
		r = -EPROTO;
	if (r == 0)
		r = fe_state_load(t->fe, blob, len, &set, &check);
	if (r == 0 && check != 0)
		r = -EPROTO;
	free(blob);
	return r;
}

/*
 * The frontend's device state messages (docs/security.md: every line reachable from vhost-user
 * messages is limited): a frontend looping transfers, refused or not, cannot flood the log, and
 * the suppressed lines are accounted for, site by site.
 */
static void test_device_state_loop_rate_limited(struct th *t)
{
	static const char *const flags[] = {"--migration-confirm-paths", NULL};
	static const char *const once[] = {
		"unsupported device state transfer",
		"device state saved",
		"device state loaded",
		"not a vfsd device state",
		"migration: FUSE session 7.",
		"paths confirmed",
		"malformed node table",
		"open handles restored",
	};
	enum {
		ROUNDS = 40
	};
	struct fe_options o = {0};
	int64_t start, elapsed;
	long off;
	int i;

	fe_options_default(&o);
	o.protocol_features |= 1ull << VHU_PROTO_DEVICE_STATE;
	t->extra_flags = flags;
	T_OK(t, th_reconnect(t, &o));
	t->extra_flags = NULL;
	T_OK(t, fe_stop(t->fe));
	off = th_log_size(t);
	start = now_ms();
	for (i = 0; i < ROUNDS; i++)
		if (device_state_round(t) < 0)
			break;
	T_EQ(t, i, ROUNDS);
	/* Past the refill: these lines go out and report the suppressed ones. */
	usleep(1100 * 1000);
	T_OK(t, device_state_round(t));
	elapsed = now_ms() - start;
	for (size_t k = 0; k < ARRAY_SIZE(once); k++)
		check_flood(t, off, once[k], ROUNDS + 1, elapsed);
	/* Two a round: the last round's second waits for the next token (not counted yet). */
	check_flood(t, off, "incoming device state was refused", 2 * ROUNDS + 1, elapsed);
	T_OK(t, th_reconnect(t, NULL));
}

static void test_debug_names_opcode_and_node(struct th *t)
{
	static const char *const flags[] = {"--log-level=debug", NULL};
	long off;

	t->extra_flags = flags;
	T_OK(t, th_reconnect(t, NULL));
	off = th_log_size(t);
	T_OK(t, send_bad(t, 1));
	T_EQ(t, th_log_count(t, off, "DEBUG vfsd] ", "unknown opcode 9999"), 1);
	T_EQ(t, th_log_count(t, off, "unknown opcode 9999", "nodeid 12345"), 1);
}

/*
 * The first line past offset containing needle and ": <result> in N us"; returns N, or -1 if
 * there is none.
 */
static long long request_line_us(struct th *t, long offset, const char *needle, const char *result)
{
	char line[4096], tail[64];
	long long us = -1;
	FILE *f = fopen(t->log, "re");

	if (!f)
		return -1;
	snprintf(tail, sizeof(tail), ": %s in ", result);
	if (fseek(f, offset, SEEK_SET) == 0)
		while (us < 0 && fgets(line, sizeof(line), f)) {
			const char *p = strstr(line, tail);

			if (strstr(line, "DEBUG vfsd] fuse: ") && strstr(line, needle) && p &&
			    sscanf(p + strlen(tail), "%lld us", &us) != 1)
				us = -1;
		}
	fclose(f);
	return us;
}

static void test_debug_logs_requests_and_messages(struct th *t)
{
	static const char *const flags[] = {"--log-level=debug", NULL};
	char needle[128];
	struct fuse_entry_out e;
	struct fuse_attr_out a;
	long off;

	t->extra_flags = flags;
	off = th_log_size(t);
	T_OK(t, th_reconnect(t, NULL));
	/* The session's setup, message by message, by name. */
	T_CHECK(t, th_log_count(t, off, "DEBUG vfsd] vhost-user: GET_FEATURES size 0 fds 0: ok",
				NULL) >= 1);
	T_CHECK(t, th_log_count(t, off, "DEBUG vfsd] vhost-user: SET_VRING_KICK size 8 fds 1: ok",
				NULL) >= 1);
	T_EQ(t, th_log_count(t, off, "vhost-user: message ", NULL), 0);
	T_CHECK(t, request_line_us(t, off, "fuse: INIT nodeid 0 ", "ok") >= 0);

	T_OK(t, th_host_write(t, "logged", "x", 1));
	off = th_log_size(t);
	T_OK(t, fe_lookup(t->fe, 1, "logged", &e));
	T_OK(t, fe_getattr(t->fe, e.nodeid, NULL, &a));
	T_EQ(t, fe_lookup(t->fe, 1, "not-there", &e), -ENOENT);
	T_CHECK(t, request_line_us(t, off, "fuse: LOOKUP nodeid 1 ", "ok") >= 0);
	snprintf(needle, sizeof(needle), "fuse: GETATTR nodeid %llu ",
		 (unsigned long long)e.nodeid);
	T_CHECK(t, request_line_us(t, off, needle, "ok") >= 0);
	T_CHECK(t, request_line_us(t, off, "fuse: LOOKUP nodeid 1 ", "ENOENT") >= 0);
	/* An opcode we do not know is named by number. */
	T_OK(t, send_bad(t, 1));
	T_CHECK(t, request_line_us(t, off, "fuse: UNKNOWN(9999) nodeid 12345 ", "ENOSYS") >= 0);
	/* Nothing of it at the default level. */
	t->extra_flags = NULL;
	T_OK(t, th_reconnect(t, NULL));
	off = th_log_size(t);
	T_OK(t, fe_getattr(t->fe, 1, NULL, &a));
	T_EQ(t, th_log_count(t, off, "fuse: GETATTR", NULL), 0);
}

/* A blocking lock is answered later: logged when deferred, and with the whole wait when done. */
static void test_debug_logs_deferred_lock(struct th *t)
{
	static const char *const flags[] = {"--log-level=debug", NULL};
	struct fuse_file_lock w = {.start = 0, .end = 99, .type = F_WRLCK, .pid = 100};
	struct fuse_lk_in in;
	struct fuse_open_out o;
	uint64_t node = 0, fha = 0;
	char needle[128];
	struct fe_call c;
	long off;

	t->extra_flags = flags;
	T_OK(t, th_reconnect(t, NULL));
	T_OK(t, th_create(t, FE_ROOT_ID, th_name(t, "lock"), &node, &fha));
	T_OK(t, fe_open(t->fe, node, O_RDWR, &o));
	T_OK(t, fe_setlk(t->fe, node, fha, 1, &w, false, 0));
	off = th_log_size(t);
	in = (struct fuse_lk_in){.fh = o.fh, .owner = 2, .lk = w};
	T_OK(t, fe_setlk_submit(t->fe, &c, &in, node, true));
	usleep(200 * 1000);
	w.type = F_UNLCK;
	T_OK(t, fe_setlk(t->fe, node, fha, 1, &w, false, 0));
	T_OK(t, fe_fuse_complete(t->fe, &c, 3000, NULL));
	snprintf(needle, sizeof(needle), "fuse: SETLKW nodeid %llu ", (unsigned long long)node);
	T_CHECK(t, request_line_us(t, off, needle, "deferred") >= 0);
	T_CHECK(t, request_line_us(t, off, needle, "ok") >= 200 * 1000);
	T_OK(t, fe_release(t->fe, node, fha, O_RDWR));
	T_OK(t, fe_release(t->fe, node, o.fh, O_RDWR));
}

static void test_rate_limited(struct th *t)
{
	struct timespec a, b;
	long off = th_log_size(t);
	int lines;

	clock_gettime(CLOCK_MONOTONIC, &a);
	T_OK(t, send_bad(t, 300));
	clock_gettime(CLOCK_MONOTONIC, &b);
	lines = th_log_count(t, off, "unknown opcode", NULL);
	/* A burst of 10, then one a second: 300 errors make a handful of lines, not 300. */
	T_CHECK(t, lines >= 1);
	T_CHECK(t, lines <= 10 + (int)(b.tv_sec - a.tv_sec) + 1);
	if (lines > 10 + (int)(b.tv_sec - a.tv_sec) + 1)
		fprintf(stderr, "# %d log lines for 300 errors\n", lines);
}

static void test_quiet_at_default_level(struct th *t)
{
	long off;

	t->extra_flags = NULL;
	T_OK(t, th_reconnect(t, NULL));
	off = th_log_size(t);
	T_OK(t, send_bad(t, 5));
	T_EQ(t, th_log_count(t, off, "unknown opcode", NULL), 0);
}

static void test_sigint_clean_exit(struct th *t)
{
	int status;

	T_OK(t, kill(t->daemon, SIGINT));
	status = th_daemon_wait(t, 10000);
	T_CHECK(t, status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	T_CHECK(t, access(t->sock, F_OK) < 0);
	/* Leave a daemon for the harness to finish with. */
	T_OK(t, th_reconnect(t, NULL));
}

static const struct th_test logging_tests[] = {
	{"guest-error-logged-at-debug-with-opcode-and-node", test_debug_names_opcode_and_node},
	{"guest-errors-rate-limited", test_rate_limited},
	{"guest-errors-quiet-at-default-level", test_quiet_at_default_level},
	{"init-loop-rate-limited-and-accounted", test_init_loop_rate_limited},
	{"malformed-loop-rate-limited-and-accounted", test_malformed_loop_rate_limited},
	{"device-state-loop-rate-limited-and-accounted", test_device_state_loop_rate_limited},
	{"debug-logs-requests-and-vhost-user-messages", test_debug_logs_requests_and_messages},
	{"debug-logs-deferred-lock-with-its-wait", test_debug_logs_deferred_lock},
	{"sigint-clean-exit", test_sigint_clean_exit},
	TH_TESTS_END,
};

int main(int argc, char **argv)
{
	static const struct th_test *const families[] = {logging_tests, NULL};

	th_capture_log = true;
	return th_main(argc, argv, families);
}
