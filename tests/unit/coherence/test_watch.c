/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host change watch against the real kernel: a separate "host writer" process changes a
 * directory tree on a private tmpfs and on the root filesystem; the watch must report, for each
 * change, the handles of the touched inodes byte-equal to name_to_handle_at() of them, and must
 * not report the directory for attribute and data changes. Both backends (fanotify filesystem
 * mark, inotify per directory), queue overflow, and the sandbox's pid/mount namespace order.
 * Needs root (fanotify filesystem marks, mounts); skips otherwise, like the sandbox tests.
 */
#include <poll.h>
#include <sched.h>
#include <sys/fanotify.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

#include "sandbox/sandbox.h"
#include "util/macros.h"
#include "watch_test.h"

#define WT_SKIP 77

struct lat {
	uint64_t ns[256];
	size_t n;
};

static void lat_add(struct lat *l, uint64_t t0, uint64_t t1)
{
	if (t0 && t1 && l->n < ARRAY_SIZE(l->ns))
		l->ns[l->n++] = t1 > t0 ? t1 - t0 : 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void lat_print(const char *label, struct lat *l)
{
	if (!l->n)
		return;
	qsort(l->ns, l->n, sizeof(l->ns[0]), cmp_u64);
	fprintf(stderr,
		"latency %-22s n=%3zu min %7.1f us  median %7.1f us  p90 %7.1f us  max %7.1f us\n",
		label, l->n, l->ns[0] / 1e3, l->ns[l->n / 2] / 1e3, l->ns[l->n * 9 / 10] / 1e3,
		l->ns[l->n - 1] / 1e3);
}

/* Everything one scenario works with. */
struct ctx {
	enum vt_watch_kind kind;
	const char *label;
	struct wt_rec *rec;
	struct vt_watch *w;
	struct wt_writer wr;
	char d[160], s[200], fence[200];
	struct vt_fid fence_fid;
	int fence_mode;
	struct lat *lat;
};

/* A host change no earlier event can be reordered behind: once it is seen, all are. */
static void fence(struct ctx *c)
{
	c->fence_mode = c->fence_mode == 0600 ? 0644 : 0600;
	wt_run(&c->wr, WT_CHMOD, c->fence, NULL, c->fence_mode);
	if (!wt_rec_wait(c->rec, &c->fence_fid)) {
		fprintf(stderr, "%s: fence not reported\n", c->label);
		CHECK(!"fence reported");
	}
}

/* Runs one change; each of expect[] must be reported (latency taken on expect[0]), none of
 * absent[]. */
static void step(struct ctx *c, const char *what, enum wt_op op, const char *a, const char *b,
		 int count, const struct vt_fid *const *expect, const struct vt_fid *const *absent)
{
	uint64_t t0;

	wt_rec_clear(c->rec);
	t0 = wt_run(&c->wr, op, a, b, count);
	for (size_t i = 0; expect[i]; i++) {
		uint64_t t = wt_rec_wait(c->rec, expect[i]);

		if (!t)
			fprintf(stderr, "%s: %s: expected handle #%zu not reported\n", c->label,
				what, i);
		CHECK(t != 0);
		if (i == 0)
			lat_add(c->lat, t0, t);
	}
	fence(c);
	for (size_t i = 0; absent && absent[i]; i++) {
		if (wt_rec_find(c->rec, absent[i]))
			fprintf(stderr, "%s: %s: handle #%zu reported but not touched\n", c->label,
				what, i);
		CHECK(!wt_rec_find(c->rec, absent[i]));
	}
}

#define L(...) ((const struct vt_fid *const[]){__VA_ARGS__, NULL})

static void in_d(const struct ctx *c, char *p, size_t len, const char *name)
{
	snprintf(p, len, "%s/%s", c->d, name);
}

static void scenario(const char *base, enum vt_watch_kind kind, const char *label, struct lat *lat)
{
	struct ctx c = {.kind = kind, .label = label, .lat = lat};
	char f[220], g[220], h[220], x[220], s2[220], own[220];
	struct vt_fid D, S, F, X, OWN;
	struct vt_watch_config cfg = {.kind = kind, .proc_fd = -1};
	struct vt_watch_sink sink;
	struct vt_watch_stats st;
	bool fan = kind == VT_WATCH_FANOTIFY;
	int share_fd, sub_fd, fd, r;

	snprintf(c.d, sizeof(c.d), "%s/vtw.XXXXXX", base);
	CHECK(mkdtemp(c.d) != NULL);
	snprintf(c.s, sizeof(c.s), "%s/sub", c.d);
	CHECK_EQ(mkdir(c.s, 0755), 0);
	in_d(&c, c.fence, sizeof(c.fence), "fence");
	in_d(&c, own, sizeof(own), "own");
	in_d(&c, g, sizeof(g), "g");
	in_d(&c, h, sizeof(h), "h");
	in_d(&c, s2, sizeof(s2), "sub2");
	snprintf(f, sizeof(f), "%s/f", c.s);
	snprintf(x, sizeof(x), "%s/x", c.s);
	for (const char *p = c.fence; p; p = p == c.fence ? own : NULL) {
		fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		CHECK(fd >= 0);
		close(fd);
	}
	c.fence_fid = wt_fid(c.fence);
	D = wt_fid(c.d);
	S = wt_fid(c.s);
	OWN = wt_fid(own);

	c.rec = wt_rec_new();
	sink = wt_sink(c.rec);
	share_fd = open(c.d, O_PATH | O_DIRECTORY | O_CLOEXEC);
	CHECK(share_fd >= 0);
	r = vt_watch_new(share_fd, &sink, &cfg, &c.w);
	CHECK_EQ(r, 0);
	if (r < 0) {
		fprintf(stderr, "%s: vt_watch_new: %s\n", label, strerror(-r));
		return;
	}
	CHECK_EQ(vt_watch_kind(c.w), kind);
	/* inotify: the backend adds every directory it looks up; twice must be harmless. */
	sub_fd = open(c.s, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK_EQ(vt_watch_add_dir(c.w, sub_fd), 0);
	CHECK_EQ(vt_watch_add_dir(c.w, sub_fd), 0);
	close(sub_fd);
	CHECK_EQ(vt_watch_start(c.w), 0);
	wt_writer_start(&c.wr);
	fence(&c);

	step(&c, "create", WT_CREATE, f, NULL, 0, L(&S), NULL);
	F = wt_fid(f);
	/* The entry's own handle (looked up after the fact: it did not exist before). */
	CHECK(wt_rec_find(c.rec, &F) != 0);
	CHECK(!wt_rec_find(c.rec, &D));
	step(&c, "chmod", WT_CHMOD, f, NULL, 0600, L(&F), L(&S, &D));
	step(&c, "append", WT_APPEND, f, NULL, 0, L(&F), L(&S, &D));
	step(&c, "truncate", WT_TRUNCATE, f, NULL, 0, L(&F), L(&S, &D));
	step(&c, "setxattr", WT_SETXATTR, f, NULL, 0, L(&F), L(&S, &D));
	step(&c, "link", WT_LINK, f, g, 0, L(&F, &D), L(&S));
	step(&c, "rename", WT_RENAME, f, h, 0, L(&F, &S, &D), NULL);
	/* inotify looks the name up after the fact: a removed name leaves only the directory. */
	step(&c, "unlink one link", WT_UNLINK, g, NULL, 0, fan ? L(&F, &D) : L(&D), L(&S));
	step(&c, "mkdir", WT_MKDIR, x, NULL, 0, L(&S), NULL);
	X = wt_fid(x);
	CHECK(wt_rec_find(c.rec, &X) != 0);
	step(&c, "chmod dir", WT_CHMOD, c.s, NULL, 0700, L(&S), L(&D));
	step(&c, "rmdir", WT_RMDIR, x, NULL, 0, fan ? L(&X, &S) : L(&S), L(&D));
	step(&c, "rename dir", WT_RENAME, c.s, s2, 0, L(&S, &D), NULL);
	step(&c, "unlink last", WT_UNLINK, h, NULL, 0, fan ? L(&F, &D) : L(&D), NULL);

	/* This process's own change: fanotify knows who made it and skips it; inotify cannot. */
	wt_rec_clear(c.rec);
	CHECK_EQ(chmod(own, 0600), 0);
	fence(&c);
	vt_watch_get_stats(c.w, &st);
	if (fan) {
		CHECK(!wt_rec_find(c.rec, &OWN));
		CHECK(st.own >= 1);
	} else {
		CHECK(wt_rec_find(c.rec, &OWN) != 0);
		CHECK(st.unknown >= 3);
	}
	CHECK_EQ(st.lost, 0);
	CHECK_EQ(c.rec->dropped, 0);
	fprintf(stderr, "%s: %llu events, %llu handles, %llu own skipped, %llu names gone\n", label,
		(unsigned long long)st.events, (unsigned long long)st.handles,
		(unsigned long long)st.own, (unsigned long long)st.unknown);

	/* Delivery latency of a plain attribute change, many times. */
	for (int i = 0; i < 100; i++) {
		uint64_t t0;

		wt_rec_clear(c.rec);
		c.fence_mode = c.fence_mode == 0600 ? 0644 : 0600;
		t0 = wt_run(&c.wr, WT_CHMOD, c.fence, NULL, c.fence_mode);
		lat_add(lat, t0, wt_rec_wait(c.rec, &c.fence_fid));
	}

	wt_writer_stop(&c.wr);
	vt_watch_free(c.w);
	close(share_fd);
	unlink(c.fence);
	unlink(own);
	rmdir(s2);
	rmdir(c.d);
	free(c.rec);
}

/* Plain handles (kernels before 6.5) equal AT_HANDLE_FID ones on this filesystem. */
static void check_plain_handles(const char *base)
{
	struct {
		struct file_handle fh;
		unsigned char buf[VT_FID_MAX];
	} h;
	char dir[200];
	struct vt_fid fid;
	int mnt;

	snprintf(dir, sizeof(dir), "%s/vtp.XXXXXX", base);
	CHECK(mkdtemp(dir) != NULL);
	h.fh.handle_bytes = VT_FID_MAX;
	CHECK_EQ(name_to_handle_at(AT_FDCWD, dir, &h.fh, &mnt, 0), 0);
	fid = wt_fid(dir);
	CHECK_EQ(fid.type, h.fh.handle_type);
	CHECK_EQ(fid.len, h.fh.handle_bytes);
	CHECK(memcmp(fid.bytes, h.fh.f_handle, fid.len) == 0);
	rmdir(dir);
}

static int write_sysctl(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -EIO;
}

static int read_sysctl(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	return 0;
}

/*
 * A stream of the daemon's own changes (a file created every 250 us, about the rate of a guest
 * creating files under TCG; distinct files, as the kernel merges identical queued events): the
 * watch reads them in batches, far fewer wake-ups than changes, each counted as own once; a host
 * change made right after the stream still arrives within the batch delay (asserted against a bound
 * far above it, for a loaded machine: 100 ms).
 */
static void own_stream(const char *base)
{
	struct vt_watch_config cfg = {.kind = VT_WATCH_FANOTIFY, .proc_fd = -1};
	struct wt_rec *rec = wt_rec_new();
	struct vt_watch_sink sink = wt_sink(rec);
	struct vt_watch_stats st0, st1;
	struct vt_watch *w = NULL;
	struct wt_writer wr;
	char dir[200], host[220];
	struct vt_fid HOST, D;
	const int n = 400;
	uint64_t t0, t;
	int share_fd, fd;

	snprintf(dir, sizeof(dir), "%s/vts.XXXXXX", base);
	CHECK(mkdtemp(dir) != NULL);
	snprintf(host, sizeof(host), "%s/host", dir);
	fd = open(host, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	CHECK(fd >= 0);
	close(fd);
	D = wt_fid(dir);
	HOST = wt_fid(host);
	share_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	CHECK_EQ(vt_watch_new(share_fd, &sink, &cfg, &w), 0);
	if (!w)
		return;
	CHECK_EQ(vt_watch_start(w), 0);
	wt_writer_start(&wr);
	/* Let the thread settle in its blocking poll. */
	wt_run(&wr, WT_CHMOD, host, NULL, 0600);
	CHECK(wt_rec_wait(rec, &HOST) != 0);
	usleep(20 * 1000);
	vt_watch_get_stats(w, &st0);
	wt_rec_clear(rec);
	for (int i = 0; i < n; i++) {
		char p[240];

		snprintf(p, sizeof(p), "%s/c%d", dir, i);
		fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		CHECK(fd >= 0);
		close(fd);
		usleep(250);
	}
	t0 = wt_run(&wr, WT_CHMOD, host, NULL, 0644);
	t = wt_rec_wait(rec, &HOST);
	CHECK(t != 0);
	vt_watch_get_stats(w, &st1);
	fprintf(stderr,
		"own stream: %d own changes, %llu counted own, %llu wake-ups; host change after "
		"it seen in %.1f us\n",
		n, (unsigned long long)(st1.own - st0.own),
		(unsigned long long)(st1.rounds - st0.rounds), t > t0 ? (t - t0) / 1e3 : 0.0);
	/* Nothing of the stream was reported (the created files nor their directory): only the
	 * host change's handle. */
	CHECK(!wt_rec_find(rec, &D));
	CHECK_EQ(rec->n, 1);
	CHECK_EQ(st1.own - st0.own, (uint64_t)n);
	CHECK(st1.rounds - st0.rounds <= (uint64_t)n / 4);
	CHECK(t && t - t0 < 100 * 1000000ull);
	CHECK_EQ(st1.lost, 0);
	wt_writer_stop(&wr);
	vt_watch_free(w);
	close(share_fd);
	for (int i = 0; i < n; i++) {
		char p[240];

		snprintf(p, sizeof(p), "%s/c%d", dir, i);
		unlink(p);
	}
	unlink(host);
	rmdir(dir);
	free(rec);
}

/* A queue smaller than the burst of changes: the sink hears "lost". The limit is read when the
 * group is created, so it is lowered only around vt_watch_new(). */
static void overflow(const char *base, enum vt_watch_kind kind, const char *sysctl)
{
	struct vt_watch_config cfg = {.kind = kind, .proc_fd = -1};
	struct wt_rec *rec = wt_rec_new();
	struct vt_watch_sink sink = wt_sink(rec);
	struct vt_watch_stats st;
	struct wt_writer wr;
	struct vt_watch *w = NULL;
	char dir[200], saved[32];
	int share_fd, r, n;

	snprintf(dir, sizeof(dir), "%s/vto.XXXXXX", base);
	CHECK(mkdtemp(dir) != NULL);
	share_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	CHECK_EQ(read_sysctl(sysctl, saved, sizeof(saved)), 0);
	CHECK_EQ(write_sysctl(sysctl, "16"), 0);
	r = vt_watch_new(share_fd, &sink, &cfg, &w);
	CHECK_EQ(write_sysctl(sysctl, saved), 0);
	CHECK_EQ(r, 0);
	if (r < 0)
		return;
	wt_writer_start(&wr);
	wt_run(&wr, WT_CREATE_MANY, dir, NULL, 200);
	wt_writer_stop(&wr);
	n = vt_watch_dispatch(w);
	vt_watch_get_stats(w, &st);
	fprintf(stderr, "overflow %s: %d events read, lost %u\n", sysctl, n, rec->lost);
	CHECK(n > 0);
	CHECK(rec->lost >= 1);
	CHECK_EQ(st.lost, rec->lost);
	/* Nothing more queued: the next read finds nothing. */
	CHECK_EQ(vt_watch_dispatch(w), 0);
	vt_watch_free(w);
	close(share_fd);
	rmdir(dir);
	free(rec);
}

/* ---- in the daemon's sandbox: sandbox_enter(), watches, sandbox_lock_down(), read ---- */

static void must(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "sandboxed: %s: %s\n", what, strerror(errno));
		_exit(2);
	}
}

/* What fanotify reports as pid for the next event on fid (a bare FAN_REPORT_FID group that sees
 * the whole filesystem, so other processes' events are skipped by handle). */
static pid_t probe_pid(int fan_fd, const struct vt_fid *fid)
{
	union {
		struct fanotify_event_metadata m;
		unsigned char buf[8192];
	} u;
	struct pollfd p = {.fd = fan_fd, .events = POLLIN};
	const size_t off = sizeof(struct fanotify_event_info_fid);
	ssize_t len;

	while (poll(&p, 1, 5000) == 1 && (len = read(fan_fd, u.buf, sizeof(u.buf))) > 0) {
		for (struct fanotify_event_metadata *m = &u.m; FAN_EVENT_OK(m, len);
		     m = FAN_EVENT_NEXT(m, len)) {
			const unsigned char *rec = (const unsigned char *)m + m->metadata_len;
			struct file_handle fh;

			if (m->event_len < m->metadata_len + off + sizeof(fh))
				continue;
			memcpy(&fh, rec + off, sizeof(fh));
			if ((int)fh.handle_bytes == (int)fid->len && fh.handle_type == fid->type &&
			    memcmp(rec + off + sizeof(fh), fid->bytes, fid->len) == 0)
				return m->pid;
		}
	}
	return -1;
}

/*
 * pid 1 of a new pid namespace with "/" the test dir (host path `dir`), as the daemon after
 * sandbox_enter(): both watches are set up, then capabilities and the seccomp allowlist (kill
 * mode) come on, then the watches run; the changes come from the host writer outside.
 */
static int sandboxed(const struct sandbox_config *sb, const char *dir, struct wt_writer *wr)
{
	struct wt_rec *frec = wt_rec_new(), *irec = wt_rec_new();
	struct vt_watch_sink fsink = wt_sink(frec), isink = wt_sink(irec);
	struct vt_watch_config fcfg = {.kind = VT_WATCH_FANOTIFY, .proc_fd = -1};
	struct vt_watch_config icfg = {.kind = VT_WATCH_INOTIFY, .proc_fd = sandbox_proc_self_fd()};
	struct vt_watch *fw, *iw;
	struct vt_watch_stats st;
	struct vt_fid F, FENCE, OWN;
	pid_t host_pid, own_pid;
	char path[240];
	int root, sub, probe;

	root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	must(root >= 0, "open /");
	must(vt_watch_new(root, &fsink, &fcfg, &fw) == 0, "fanotify watch");
	must(vt_watch_new(root, &isink, &icfg, &iw) == 0, "inotify watch");
	probe = fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_FID | FAN_CLOEXEC, O_RDONLY);
	must(probe >= 0, "fanotify_init probe");
	must(fanotify_mark(probe, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_ATTRIB, root, ".") == 0,
	     "probe mark");
	must(sandbox_lock_down(sb) == 0, "sandbox_lock_down");
	/* From here on: no CAP_SYS_ADMIN, and any syscall off the allowlist kills us. */
	CHECK_EQ(vt_watch_start(fw), 0);
	CHECK_EQ(vt_watch_start(iw), 0);
	sub = openat(root, "sub", O_PATH | O_DIRECTORY | O_CLOEXEC);
	CHECK_EQ(vt_watch_add_dir(iw, sub), 0);
	F = wt_fid("/sub/f");
	FENCE = wt_fid("/fence");
	OWN = wt_fid("/own");
	CHECK_EQ(fchmodat(AT_FDCWD, "/own", 0600, 0), 0);
	own_pid = probe_pid(probe, &OWN);
	snprintf(path, sizeof(path), "%s/sub/f", dir);
	wt_run(wr, WT_CHMOD, path, NULL, 0600);
	host_pid = probe_pid(probe, &F);
	snprintf(path, sizeof(path), "%s/fence", dir);
	wt_run(wr, WT_CHMOD, path, NULL, 0600);
	for (struct wt_rec *r = frec; r; r = r == frec ? irec : NULL) {
		CHECK(wt_rec_wait(r, &F) != 0);
		CHECK(wt_rec_wait(r, &FENCE) != 0);
	}
	CHECK(!wt_rec_find(frec, &OWN));
	CHECK(wt_rec_find(irec, &OWN) != 0);
	vt_watch_get_stats(fw, &st);
	CHECK(st.own >= 1);
	fprintf(stderr, "sandboxed: getpid() %d; fanotify pid of own event %d, of host event %d\n",
		getpid(), own_pid, host_pid);
	CHECK_EQ(own_pid, getpid());
	CHECK_EQ(host_pid, 0);
	vt_watch_free(fw);
	vt_watch_free(iw);
	return check_failures ? 1 : 0;
}

static void in_sandbox(const char *base)
{
	const char *names[] = {"sub/f", "fence", "own"};
	struct sandbox_config sb = {.mode = SANDBOX_NAMESPACE, .seccomp = SANDBOX_SECCOMP_KILL};
	char dir[200], p[240];
	struct wt_writer wr;
	int status;
	pid_t pid;

	snprintf(dir, sizeof(dir), "%s/vtn.XXXXXX", base);
	CHECK(mkdtemp(dir) != NULL);
	snprintf(p, sizeof(p), "%s/sub", dir);
	CHECK_EQ(mkdir(p, 0755), 0);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	}
	sb.shared_dir = dir;
	/* The writer stays on the host: forked before the sandbox, driven from inside it. */
	wt_writer_start(&wr);
	pid = fork();
	if (pid == 0) {
		int r = sandbox_enter(&sb, &status);

		if (r == 1)
			_exit(status);
		must(r == 0, "sandbox_enter");
		_exit(sandboxed(&sb, dir, &wr));
	}
	CHECK(pid > 0);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fprintf(stderr, "sandboxed child: status %d (%d: SIGSYS, off the allowlist)\n",
			WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
			128 + SIGSYS);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	wt_writer_stop(&wr);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s/sub", dir);
	rmdir(p);
	rmdir(dir);
}

/*
 * Without CAP_SYS_ADMIN over the filesystem (an unprivileged daemon is root only of its own user
 * namespace): fanotify is refused with -EPERM, and "auto" falls back to inotify.
 */
static void fallback(const char *base)
{
	struct vt_watch_config cfg = {.kind = VT_WATCH_FANOTIFY, .proc_fd = -1};
	struct wt_rec *rec = wt_rec_new();
	struct vt_watch_sink sink = wt_sink(rec);
	struct vt_watch *w = NULL;
	int share_fd = open(base, O_PATH | O_DIRECTORY | O_CLOEXEC), status;
	pid_t pid;

	CHECK_EQ(vt_watch_new(share_fd, &sink, &(struct vt_watch_config){VT_WATCH_AUTO, -1}, &w),
		 0);
	CHECK(w && vt_watch_kind(w) == VT_WATCH_FANOTIFY);
	vt_watch_free(w);
	pid = fork();
	if (pid == 0) {
		must(unshare(CLONE_NEWUSER) == 0, "unshare(CLONE_NEWUSER)");
		CHECK_EQ(vt_watch_new(share_fd, &sink, &cfg, &w), -EPERM);
		cfg.kind = VT_WATCH_AUTO;
		CHECK_EQ(vt_watch_new(share_fd, &sink, &cfg, &w), 0);
		CHECK_EQ(vt_watch_kind(w), VT_WATCH_INOTIFY);
		vt_watch_free(w);
		_exit(check_failures ? 1 : 0);
	}
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(share_fd);
	free(rec);
}

static const char *fs_name(const char *path)
{
	struct statfs sf;

	if (statfs(path, &sf) < 0)
		return "?";
	switch (sf.f_type) {
	case 0x01021994:
		return "tmpfs";
	case 0xEF53:
		return "ext4";
	case 0x58465342:
		return "xfs";
	case 0x9123683E:
		return "btrfs";
	default:
		return "other";
	}
}

int main(void)
{
	char tmpfs[] = "/tmp/vtw-tmpfs.XXXXXX";
	/* The root filesystem (wherever /var/tmp lives; tmpfs on some CI hosts). */
	const char *rootfs = "/var/tmp";
	struct lat lat[4] = {0};

	if (geteuid() != 0) {
		fprintf(stderr, "test_watch: needs root (fanotify filesystem marks, mounts)\n");
		return WT_SKIP;
	}
	/* A private tmpfs: a filesystem mark there sees only this test. */
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_PRIVATE | MS_REC, NULL) < 0 ||
	    !mkdtemp(tmpfs) || mount("tmpfs", tmpfs, "tmpfs", 0, "mode=0755") < 0) {
		fprintf(stderr, "test_watch: private tmpfs: %s\n", strerror(errno));
		return EXIT_FAILURE;
	}
	fprintf(stderr, "filesystems: %s is %s, %s is %s\n", tmpfs, fs_name(tmpfs), rootfs,
		fs_name(rootfs));

	check_plain_handles(tmpfs);
	check_plain_handles(rootfs);
	scenario(tmpfs, VT_WATCH_FANOTIFY, "fanotify/tmpfs", &lat[0]);
	scenario(rootfs, VT_WATCH_FANOTIFY, "fanotify/rootfs", &lat[1]);
	scenario(tmpfs, VT_WATCH_INOTIFY, "inotify/tmpfs", &lat[2]);
	scenario(rootfs, VT_WATCH_INOTIFY, "inotify/rootfs", &lat[3]);
	own_stream(tmpfs);
	overflow(tmpfs, VT_WATCH_FANOTIFY, "/proc/sys/fs/fanotify/max_queued_events");
	overflow(tmpfs, VT_WATCH_INOTIFY, "/proc/sys/fs/inotify/max_queued_events");
	fallback(tmpfs);
	in_sandbox(tmpfs);
	in_sandbox(rootfs);

	lat_print("fanotify/tmpfs", &lat[0]);
	lat_print("fanotify/rootfs", &lat[1]);
	lat_print("inotify/tmpfs", &lat[2]);
	lat_print("inotify/rootfs", &lat[3]);

	umount2(tmpfs, MNT_DETACH);
	rmdir(tmpfs);
	return check_report("test_watch");
}
