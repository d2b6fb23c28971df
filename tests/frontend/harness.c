/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Daemon life cycle and TAP output for the frontend tests.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "util/macros.h"

bool th_capture_log;
uid_t th_run_as_uid = (uid_t)-1;
gid_t th_run_as_gid = (gid_t)-1;
void (*th_after_test)(struct th *t);

void th_fail(struct th *t, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	t->failures++;
	printf("# %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

void th_skip(struct th *t, const char *reason)
{
	t->skip = reason;
}

uint64_t th_init_flags(void)
{
	return FE_LINUX_INIT_FLAGS;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char **split_cmd(const char *cmd);

/*
 * Extra daemon flags from $VFSD_TEST_DAEMON_FLAGS, split once and kept for the process. The
 * sanitizer pass sets "--sandbox=none --seccomp=none": LeakSanitizer needs ptrace at exit, which
 * the sandbox rightly forbids, so the plain build is the one proving the sandbox.
 */
static char *const *extra_daemon_flags(void)
{
	static char **extra;
	static char *none[] = {NULL};
	const char *env = getenv("VFSD_TEST_DAEMON_FLAGS");

	if (!extra && env && *env)
		extra = split_cmd(env);
	return extra ? extra : none;
}

int th_daemon_start(struct th *t)
{
	char a_sock[PATH_MAX + 64], a_share[PATH_MAX + 64];
	char *argv[64];
	int n = 0;

	snprintf(a_sock, sizeof(a_sock), "--socket-path=%s", t->sock);
	snprintf(a_share, sizeof(a_share), "--shared-dir=%s", t->share);
	for (char *const *a = t->daemon_argv; *a && n < 50; a++)
		argv[n++] = *a;
	argv[n++] = a_sock;
	argv[n++] = a_share;
	/* The daemon's defaults (namespace sandbox, seccomp kill): the suite proves that normal
	 * operation stays inside them. */
	argv[n++] = "--xattr";
	for (char *const *a = extra_daemon_flags(); *a && n < 62; a++)
		argv[n++] = *a;
	for (const char *const *a = t->extra_flags; a && *a && n < 62; a++)
		argv[n++] = (char *)*a;
	argv[n] = NULL;
	unlink(t->sock);
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (devnull >= 0)
			dup2(devnull, STDIN_FILENO);
		if (th_capture_log) {
			int log = open(t->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
			if (log >= 0)
				dup2(log, STDERR_FILENO);
		}
		/* Keep TAP on stdout clean: the daemon's chatter goes to stderr. */
		dup2(STDERR_FILENO, STDOUT_FILENO);
		if (th_run_as_uid != (uid_t)-1 &&
		    (setgroups(0, NULL) < 0 ||
		     setresgid(th_run_as_gid, th_run_as_gid, th_run_as_gid) < 0 ||
		     setresuid(th_run_as_uid, th_run_as_uid, th_run_as_uid) < 0)) {
			fprintf(stderr, "cannot become uid %u: %s\n", (unsigned)th_run_as_uid,
				strerror(errno));
			_exit(127);
		}
		execvp(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	t->daemon = pid;
	for (int64_t end = now_ms() + 10000; now_ms() < end;) {
		struct stat st;
		int status;
		if (stat(t->sock, &st) == 0 && S_ISSOCK(st.st_mode))
			return 0;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			t->daemon = 0;
			fprintf(stderr, "daemon exited early (status %#x)\n", status);
			return -ECHILD;
		}
		usleep(10000);
	}
	return -ETIMEDOUT;
}

int th_connect(struct th *t, const struct fe_options *opts)
{
	int r = -ECONNREFUSED;

	/* The socket file appears at bind(), a moment before listen(). */
	for (int i = 0; i < 200; i++) {
		r = fe_connect(t->sock, opts, &t->fe);
		if (r != -ECONNREFUSED && r != -ENOENT)
			break;
		usleep(10000);
	}
	return r;
}

int th_daemon_wait(struct th *t, int timeout_ms)
{
	int status;

	if (t->daemon <= 0)
		return -ECHILD;
	for (int64_t end = now_ms() + timeout_ms; now_ms() < end; usleep(10000)) {
		pid_t p = waitpid(t->daemon, &status, WNOHANG);
		if (p == t->daemon) {
			t->daemon = 0;
			return status;
		}
		if (p < 0)
			return -errno;
	}
	return -ETIMEDOUT;
}

static void daemon_kill(struct th *t)
{
	if (t->daemon > 0) {
		kill(t->daemon, SIGTERM);
		if (th_daemon_wait(t, 3000) == -ETIMEDOUT) {
			kill(t->daemon, SIGKILL);
			th_daemon_wait(t, 3000);
		}
	}
}

/* The daemon exits when its frontend goes away (QEMU's expectation), so start a new one. */
int th_reconnect(struct th *t, const struct fe_options *opts)
{
	int r;

	fe_free(t->fe);
	t->fe = NULL;
	if (th_daemon_wait(t, 5000) == -ETIMEDOUT)
		daemon_kill(t);
	if ((r = th_daemon_start(t)) < 0 || (r = th_connect(t, opts)) < 0)
		return r;
	return fe_init(t->fe, 38, t->init_flags ? t->init_flags : th_init_flags());
}

const char *th_host(struct th *t, const char *name)
{
	static char buf[4][PATH_MAX + 256];
	static unsigned next;
	char *b = buf[next++ % 4];
	snprintf(b, sizeof(buf[0]), "%s/%s", t->share, name);
	return b;
}

const char *th_name(struct th *t, const char *prefix)
{
	static char buf[4][128];
	static unsigned next;
	char *b = buf[next++ % 4];
	snprintf(b, sizeof(buf[0]), "%s-%u", prefix, ++t->seq);
	return b;
}

int th_create(struct th *t, uint64_t dir, const char *name, uint64_t *ret_node, uint64_t *ret_fh)
{
	struct fuse_entry_out e;
	struct fuse_open_out o;
	int r = fe_create(t->fe, dir, name, O_RDWR, S_IFREG | 0644, 022, &e, &o);
	if (r < 0)
		return r;
	if (ret_node)
		*ret_node = e.nodeid;
	if (ret_fh)
		*ret_fh = o.fh;
	return 0;
}

int th_host_write(struct th *t, const char *name, const void *buf, size_t len)
{
	int fd = open(th_host(t, name), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, buf, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -EIO;
}

long th_log_size(struct th *t)
{
	struct stat st;

	return stat(t->log, &st) == 0 ? (long)st.st_size : 0;
}

int th_log_count(struct th *t, long offset, const char *a, const char *b)
{
	char line[4096];
	int n = 0;
	FILE *f = fopen(t->log, "re");

	if (!f)
		return -1;
	if (fseek(f, offset, SEEK_SET) == 0)
		while (fgets(line, sizeof(line), f))
			if (strstr(line, a) && (!b || strstr(line, b)))
				n++;
	fclose(f);
	return n;
}

bool th_log_scan(struct th *t, long *offset)
{
	static const char *const marks[] = {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
					    "runtime error:", "WARNING: ThreadSanitizer"};
	char line[4096];
	bool found = false;
	int shown = 0;
	FILE *f;

	if (!th_capture_log || !(f = fopen(t->log, "re")))
		return false;
	if (fseek(f, *offset, SEEK_SET) == 0) {
		while (fgets(line, sizeof(line), f)) {
			for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
				if (strstr(line, marks[i]))
					found = true;
			if (found && shown++ < 40)
				fprintf(stderr, "daemon: %s", line);
		}
	}
	*offset = ftell(f);
	fclose(f);
	return found;
}

static char **split_cmd(const char *cmd)
{
	char *copy = strdup(cmd);
	char **argv = calloc(32, sizeof(char *));
	int n = 0;

	if (!copy || !argv)
		return NULL;
	for (char *p = copy; *p && n < 31;) {
		while (*p == ' ' || *p == '\t')
			*p++ = '\0';
		if (!*p)
			break;
		argv[n++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
	}
	return argv;
}

static void cleanup_dir(struct th *t)
{
	char cmd[PATH_MAX + 64];
	if (getenv("VFSD_TEST_KEEP"))
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", t->dir);
}

int th_main(int argc, char **argv, const struct th_test *const *families)
{
	static char *default_argv[2];
	struct th t = {0};
	const char *env = getenv("VFSD_TEST_DAEMON");
	unsigned total = 0, failed = 0, n = 0;
	int r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (env && *env) {
		t.daemon_argv = split_cmd(env);
	} else if (argc > 1) {
		default_argv[0] = argv[1];
		t.daemon_argv = default_argv;
	} else {
		fprintf(stderr, "usage: %s DAEMON (or set VFSD_TEST_DAEMON)\n", argv[0]);
		return 2;
	}
	snprintf(t.dir, sizeof(t.dir), "%s/vfsd-fe-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(t.dir)) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(t.share, sizeof(t.share), "%s/share", t.dir);
	snprintf(t.sock, sizeof(t.sock), "%s/sock", t.dir);
	snprintf(t.log, sizeof(t.log), "%s/daemon.log", t.dir);
	mkdir(t.share, 0755);
	if (th_run_as_uid != (uid_t)-1 && (chown(t.dir, th_run_as_uid, th_run_as_gid) < 0 ||
					   chown(t.share, th_run_as_uid, th_run_as_gid) < 0)) {
		perror("chown");
		return 2;
	}
	for (const struct th_test *const *f = families; *f; f++)
		for (const struct th_test *x = *f; x->name; x++)
			total++;
	printf("1..%u\n", total);
	if ((r = th_daemon_start(&t)) < 0 || (r = th_connect(&t, NULL)) < 0 ||
	    (r = fe_init(t.fe, 38, th_init_flags())) < 0) {
		printf("Bail out! cannot start and connect the daemon: %s\n", strerror(-r));
		daemon_kill(&t);
		cleanup_dir(&t);
		return 1;
	}
	for (const struct th_test *const *f = families; *f; f++) {
		for (const struct th_test *x = *f; x->name; x++) {
			t.failures = 0;
			t.skip = NULL;
			if (!t.fe) {
				th_fail(&t, __FILE__, __LINE__, "no connection");
			} else {
				x->fn(&t);
			}
			if (th_after_test)
				th_after_test(&t);
			n++;
			if (t.failures)
				failed++;
			if (t.skip && !t.failures)
				printf("ok %u - %s # SKIP %s\n", n, x->name, t.skip);
			else
				printf("%s %u - %s\n", t.failures ? "not ok" : "ok", n, x->name);
		}
	}
	fe_free(t.fe);
	t.fe = NULL;
	daemon_kill(&t);
	if (failed && th_capture_log) {
		char cmd[PATH_MAX + 64];
		snprintf(cmd, sizeof(cmd), "tail -n 60 '%s' >&2", t.log);
		if (system(cmd) != 0)
			fprintf(stderr, "no daemon log\n");
	}
	cleanup_dir(&t);
	printf("# %u tests, %u failed\n", total, failed);
	return failed ? 1 : 0;
}
