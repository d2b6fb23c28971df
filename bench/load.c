/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench/load: command line, shared directory, daemon life cycle and output. See load.h.
 *
 *   load --daemon vfsd|rust|native [--binary CMD] [--ops all|OP,...] [--depth 1,64]
 *        [--seconds S] [--warmup S] [--thread-pool-size N] [--daemon-arg ARG]...
 *        [--label NAME] [--dir DIR] [--native-threads N] [--uid UID]
 *
 * --uid: requests after the setup carry this uid and gid instead of root's (the daemon then
 * switches credentials for CREATE and the other ops that take them); FUSE runs only.
 *
 * One line per op and depth, tab separated, after a '#' header: label, op, depth, operations
 * completed in the window (the latency samples), seconds, operations per second, median and p99
 * latency (µs), daemon CPU µs per operation, our own CPU µs per operation and FUSE requests per
 * operation (OPEN+RELEASE is 2, a listing of the 10,000-entry directory is OPENDIR + READDIRPLUS...
 * + RELEASEDIR).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fe_fuse.h"
#include "load.h"

#define MAX_DEPTHS 8
#define MAX_ARGS   32
#define MAX_PIDS   16

enum daemon_kind {
	DAEMON_VFSD,
	DAEMON_RUST,
	DAEMON_NATIVE
};

struct config {
	enum daemon_kind kind;
	const char *label;
	char *binary; /* split on spaces into argv */
	bool ops[LOAD_OP_MAX];
	unsigned depths[MAX_DEPTHS], ndepths;
	double seconds, warmup;
	const char *extra[MAX_ARGS];
	unsigned nextra;
	int pool; /* -1: daemon default */
	unsigned native_threads;
	long uid;	 /* -1: requests come from root; else from this uid and gid (--uid) */
	unsigned queues; /* request queues the operations are spread over (--queues, default 1) */
	const char *dir;
	const char *share; /* prepared once, reused across runs (--share) */
};

static char base[PATH_MAX], share[PATH_MAX + 16], sock[PATH_MAX + 16], logpath[PATH_MAX + 16];
static pid_t daemon_pid;

static void usage(FILE *f)
{
	fprintf(f, "usage: load --daemon vfsd|rust|native [--binary CMD] [--ops all|OP,...]\n"
		   "            [--depth 1,64] [--seconds S] [--warmup S] [--thread-pool-size N]\n"
		   "            [--daemon-arg ARG]... [--label NAME] [--dir DIR] [--native-threads "
		   "N]\n"
		   "            [--uid UID] [--queues N]\n"
		   "ops:");
	for (int i = 0; i < LOAD_OP_MAX; i++)
		fprintf(f, " %s", load_op_name((enum load_op)i));
	fprintf(f, "\n");
}

static int parse_ops(struct config *c, const char *s)
{
	char *copy = strdup(s), *save = NULL;
	int r = 0;

	if (!copy)
		return -ENOMEM;
	for (char *tok = strtok_r(copy, ",", &save); tok && r == 0;
	     tok = strtok_r(NULL, ",", &save)) {
		int i;
		if (!strcmp(tok, "all")) {
			for (i = 0; i < LOAD_OP_MAX; i++)
				c->ops[i] = true;
			continue;
		}
		for (i = 0; i < LOAD_OP_MAX && strcmp(tok, load_op_name((enum load_op)i)); i++)
			;
		if (i == LOAD_OP_MAX) {
			fprintf(stderr, "load: unknown op %s\n", tok);
			r = -EINVAL;
		} else {
			c->ops[i] = true;
		}
	}
	free(copy);
	return r;
}

static int parse_depths(struct config *c, const char *s)
{
	c->ndepths = 0;
	for (const char *p = s; *p;) {
		char *end;
		unsigned long d = strtoul(p, &end, 10);
		if (end == p || d == 0 || d > 512 || c->ndepths == MAX_DEPTHS ||
		    (*end && *end != ','))
			return -EINVAL;
		c->depths[c->ndepths++] = (unsigned)d;
		p = *end ? end + 1 : end;
	}
	return c->ndepths ? 0 : -EINVAL;
}

static int parse_args(int argc, char **argv, struct config *c)
{
	*c = (struct config){.seconds = 3, .warmup = 0.5, .pool = -1, .uid = -1, .queues = 1};
	parse_depths(c, "1,64");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			exit(0);
		}
		if (!v) {
			fprintf(stderr, "load: %s needs a value\n", a);
			return -EINVAL;
		}
		i++;
		if (!strcmp(a, "--daemon")) {
			if (!strcmp(v, "vfsd"))
				c->kind = DAEMON_VFSD;
			else if (!strcmp(v, "rust"))
				c->kind = DAEMON_RUST;
			else if (!strcmp(v, "native"))
				c->kind = DAEMON_NATIVE;
			else
				return -EINVAL;
		} else if (!strcmp(a, "--binary")) {
			c->binary = strdup(v);
		} else if (!strcmp(a, "--ops")) {
			if (parse_ops(c, v) < 0)
				return -EINVAL;
		} else if (!strcmp(a, "--depth")) {
			if (parse_depths(c, v) < 0)
				return -EINVAL;
		} else if (!strcmp(a, "--seconds")) {
			c->seconds = strtod(v, NULL);
		} else if (!strcmp(a, "--warmup")) {
			c->warmup = strtod(v, NULL);
		} else if (!strcmp(a, "--thread-pool-size")) {
			c->pool = (int)strtol(v, NULL, 10);
		} else if (!strcmp(a, "--daemon-arg")) {
			if (c->nextra == MAX_ARGS)
				return -E2BIG;
			c->extra[c->nextra++] = v;
		} else if (!strcmp(a, "--label")) {
			c->label = v;
		} else if (!strcmp(a, "--share")) {
			c->share = v;
		} else if (!strcmp(a, "--dir")) {
			c->dir = v;
		} else if (!strcmp(a, "--native-threads")) {
			c->native_threads = (unsigned)strtoul(v, NULL, 10);
		} else if (!strcmp(a, "--queues")) {
			c->queues = (unsigned)strtoul(v, NULL, 10);
			if (c->queues < 1 || c->queues > 16)
				return -EINVAL;
		} else if (!strcmp(a, "--uid")) {
			c->uid = strtol(v, NULL, 10);
			if (c->uid <= 0 || c->uid >= 65535)
				return -EINVAL;
		} else {
			fprintf(stderr, "load: unknown option %s\n", a);
			return -EINVAL;
		}
	}
	if (c->kind != DAEMON_NATIVE && !c->binary) {
		fprintf(stderr, "load: --binary is required for a daemon\n");
		return -EINVAL;
	}
	if (c->seconds <= 0 || c->warmup < 0)
		return -EINVAL;
	bool any = false;
	for (int i = 0; i < LOAD_OP_MAX; i++)
		any |= c->ops[i];
	if (!any)
		parse_ops(c, "all");
	if (!c->label)
		c->label = c->kind == DAEMON_VFSD   ? "vfsd"
			   : c->kind == DAEMON_RUST ? "rust"
						    : "native";
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if ((flag == FTW_DP ? rmdir(path) : unlink(path)) < 0)
		fprintf(stderr, "load: removing %s: %s\n", path, strerror(errno));
	return 0;
}

static void cleanup_base(void)
{
	if (base[0] && !getenv("VFSD_LOAD_KEEP"))
		nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void print_log(void)
{
	char line[512];
	FILE *f = fopen(logpath, "re");
	if (!f)
		return;
	fprintf(stderr, "load: daemon log (%s):\n", logpath);
	while (fgets(line, sizeof(line), f))
		fprintf(stderr, "  %s", line);
	fclose(f);
}

static int daemon_start(const struct config *c)
{
	char a_sock[PATH_MAX + 32], a_share[PATH_MAX + 32], a_pool[32];
	char *argv[MAX_ARGS * 2 + 8];
	unsigned n = 0;

	for (char *save = NULL, *tok = strtok_r(c->binary, " \t", &save); tok && n < MAX_ARGS;
	     tok = strtok_r(NULL, " \t", &save))
		argv[n++] = tok;
	snprintf(a_sock, sizeof(a_sock), "--socket-path=%s", sock);
	snprintf(a_share, sizeof(a_share), "--shared-dir=%s", share);
	argv[n++] = a_sock;
	argv[n++] = a_share;
	if (c->pool >= 0) {
		snprintf(a_pool, sizeof(a_pool), "--thread-pool-size=%d", c->pool);
		argv[n++] = a_pool;
	}
	for (unsigned i = 0; i < c->nextra; i++)
		argv[n++] = (char *)c->extra[i];
	argv[n] = NULL;
	printf("# command:");
	for (unsigned i = 0; i < n; i++)
		printf(" %s", argv[i]);
	printf("\n");
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
		int log = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (devnull >= 0)
			dup2(devnull, STDIN_FILENO);
		if (log >= 0) {
			dup2(log, STDOUT_FILENO);
			dup2(log, STDERR_FILENO);
		}
		execvp(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	daemon_pid = pid;
	for (int i = 0; i < 1000; i++) {
		struct stat st;
		int status;
		if (stat(sock, &st) == 0 && S_ISSOCK(st.st_mode))
			return 0;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			daemon_pid = 0;
			fprintf(stderr, "load: daemon exited early (status %#x)\n", status);
			return -ECHILD;
		}
		usleep(10000);
	}
	return -ETIMEDOUT;
}

/* The daemon's status, or -ETIMEDOUT if it is still running after timeout_ms. */
static int daemon_wait(int timeout_ms)
{
	int status;
	for (int waited = 0; daemon_pid > 0 && waited <= timeout_ms; waited += 10) {
		pid_t p = waitpid(daemon_pid, &status, WNOHANG);
		if (p == daemon_pid) {
			daemon_pid = 0;
			return status;
		}
		usleep(10000);
	}
	return daemon_pid > 0 ? -ETIMEDOUT : -ECHILD;
}

static void daemon_stop(void)
{
	if (daemon_pid <= 0)
		return;
	kill(daemon_pid, SIGTERM);
	if (daemon_wait(3000) == -ETIMEDOUT) {
		kill(daemon_pid, SIGKILL);
		daemon_wait(3000);
	}
}

static pid_t read_ppid(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return -1;
	buf[len] = '\0';
	char *p = strrchr(buf, ')');
	int ppid;
	return p && sscanf(p + 2, "%*c %d", &ppid) == 1 ? ppid : -1;
}

/* The started daemon and its descendants: with a namespace sandbox the worker is a child. */
static unsigned daemon_pids(pid_t root, int *pids, unsigned max)
{
	unsigned n = 0, before;

	pids[n++] = root;
	do {
		before = n;
		DIR *d = opendir("/proc");
		if (!d)
			break;
		for (struct dirent *e; (e = readdir(d)) && n < max;) {
			pid_t pid = (pid_t)strtol(e->d_name, NULL, 10);
			if (pid <= 0)
				continue;
			bool known = false, child = false;
			pid_t pp = read_ppid(pid);
			for (unsigned i = 0; i < n; i++) {
				known |= pids[i] == pid;
				child |= pids[i] == pp;
			}
			if (child && !known)
				pids[n++] = pid;
		}
		closedir(d);
	} while (n != before && n < max);
	return n;
}

static int connect_daemon(unsigned queues, struct fe **ret)
{
	struct fe_options o = {.mem_size = LOAD_MEM_SIZE,
			       .queue_size = 1024,
			       .num_request_queues = queues,
			       .bulk_in_place = true};
	int r = -ECONNREFUSED;

	/* The socket file appears at bind(), a moment before listen(). */
	for (int i = 0; i < 200; i++) {
		r = fe_connect(sock, &o, ret);
		if (r != -ECONNREFUSED && r != -ENOENT)
			break;
		usleep(10000);
	}
	if (r < 0)
		return r;
	if ((r = fe_init(*ret, 38, FE_LINUX_INIT_FLAGS)) < 0)
		return r;
	const struct fuse_init_out *io = fe_fuse_init_out(*ret);
	printf("# init: 7.%u max_write %u max_pages %u max_readahead %u\n", io->minor,
	       io->max_write, io->max_pages, io->max_readahead);
	return 0;
}

static void print_result(const struct config *c, enum load_op op, unsigned depth,
			 const struct load_result *res)
{
	printf("%s\t%s\t%u\t%llu\t%.3f\t%.0f\t%.1f\t%.1f\t%.2f\t%.2f\t%.1f\n", c->label,
	       load_op_name(op), depth, (unsigned long long)res->ops, res->secs, res->rate,
	       res->p50_us, res->p99_us, res->cpu_us, res->client_cpu_us, res->reqs_per_op);
	fflush(stdout);
}

static int run_native(const struct config *c)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	for (int op = 0; op < LOAD_OP_MAX; op++) {
		if (!c->ops[op])
			continue;
		for (unsigned d = 0; d < c->ndepths; d++) {
			unsigned threads = c->native_threads ? c->native_threads
							     : (unsigned)(ncpu > 0 ? ncpu : 1);
			if (c->depths[d] < threads)
				threads = c->depths[d];
			struct load_params p = {.op = (enum load_op)op,
						.depth = c->depths[d],
						.warmup_s = c->warmup,
						.seconds = c->seconds};
			struct load_result res;
			int r = native_run(share, &p, threads, &res);
			if (r < 0) {
				fprintf(stderr, "load: native %s: %s\n", load_op_name(p.op),
					strerror(-r));
				return r;
			}
			print_result(c, p.op, p.depth, &res);
		}
	}
	return 0;
}

static int run_daemon(struct config *c)
{
	struct fe *fe = NULL;
	struct load_fuse *lf = NULL;
	int pids[MAX_PIDS], r;

	if ((r = daemon_start(c)) < 0 || (r = connect_daemon(c->queues, &fe)) < 0) {
		fprintf(stderr, "load: starting the daemon: %s\n", strerror(-r));
		goto out;
	}
	if (fe_fuse_init_out(fe)->max_write < (1u << 20) &&
	    (c->ops[LOAD_WRITE_1M] || c->ops[LOAD_READ_1M]))
		fprintf(stderr, "load: max_write below 1 MiB: 1 MiB requests may be refused\n");
	unsigned npids = daemon_pids(daemon_pid, pids, MAX_PIDS);
	printf("# daemon pids (CPU counted):");
	for (unsigned i = 0; i < npids; i++)
		printf(" %d", pids[i]);
	printf("\n");
	if ((r = load_fuse_new(fe, 1, c->queues, LOAD_MEM_SIZE, pids, npids, &lf)) < 0)
		goto out;
	if (c->uid > 0) {
		/* The files are open already; CREATE needs a directory the user may write to. */
		char cdir[PATH_MAX + 32];
		snprintf(cdir, sizeof(cdir), "%s/%s", share, LOAD_CREATE_DIR);
		if (chmod(cdir, 01777) < 0) {
			r = -errno;
			goto out;
		}
		fe_fuse_set_creds(fe, (uint32_t)c->uid, (uint32_t)c->uid, (uint32_t)getpid());
	}
	for (int op = 0; op < LOAD_OP_MAX && r == 0; op++) {
		if (!c->ops[op])
			continue;
		for (unsigned d = 0; d < c->ndepths && r == 0; d++) {
			struct load_params p = {.op = (enum load_op)op,
						.depth = c->depths[d],
						.warmup_s = c->warmup,
						.seconds = c->seconds};
			struct load_result res;
			r = load_fuse_run(lf, &p, &res);
			if (r < 0)
				fprintf(stderr, "load: %s %s depth %u failed: %s\n", c->label,
					load_op_name(p.op), p.depth,
					r == -FE_EBADREPLY ? "bad reply" : strerror(-r));
			else
				print_result(c, p.op, p.depth, &res);
		}
	}
out:
	load_fuse_free(lf);
	fe_free(fe);
	/* Without a frontend the daemon exits on its own; anything else is worth a look. */
	int status = daemon_wait(5000);
	if (status == -ETIMEDOUT) {
		fprintf(stderr, "load: the daemon did not exit after the disconnect\n");
		daemon_stop();
	} else if (status >= 0 && (WIFSIGNALED(status) || WEXITSTATUS(status) != 0)) {
		fprintf(stderr, "load: the daemon ended with status %#x\n", status);
		r = r < 0 ? r : -EIO;
	}
	if (r < 0)
		print_log();
	return r;
}

/* A fresh share in our temporary directory, or the caller's, prepared on first use. */
static int share_setup(const struct config *c)
{
	struct stat st;
	char probe[PATH_MAX + 64];

	if (!c->share) {
		snprintf(share, sizeof(share), "%s/share", base);
		return mkdir(share, 0755) < 0 ? -errno : share_prepare(share);
	}
	if (!realpath(c->share, share))
		return -errno;
	snprintf(probe, sizeof(probe), "%s/%s", share, LOAD_BIG_DIR);
	return stat(probe, &st) == 0 ? share_warm(share) : share_prepare(share);
}

int main(int argc, char **argv)
{
	struct config c;
	int r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (parse_args(argc, argv, &c) < 0) {
		usage(stderr);
		return 2;
	}
	const char *dir = c.dir ? c.dir : getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
	snprintf(base, sizeof(base), "%s/vfsd-load-XXXXXX", dir);
	if (!mkdtemp(base)) {
		perror("load: mkdtemp");
		return 1;
	}
	snprintf(sock, sizeof(sock), "%s/sock", base);
	snprintf(logpath, sizeof(logpath), "%s/daemon.log", base);
	if ((r = share_setup(&c)) < 0) {
		fprintf(stderr, "load: preparing %s: %s\n", share, strerror(-r));
		cleanup_base();
		return 1;
	}
	printf("# load: %s, %.2f s per op after %.2f s warmup, share %s\n", c.label, c.seconds,
	       c.warmup, share);
	printf("#label\top\tdepth\tops\tsecs\tops_s\tp50_us\tp99_us\tcpu_us_op\tclient_cpu_us_op"
	       "\treqs_op\n");
	r = c.kind == DAEMON_NATIVE ? run_native(&c) : run_daemon(&c);
	cleanup_base();
	free(c.binary);
	return r < 0 ? 1 : 0;
}
