// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * guest_perm_test: multi-user permission checks on a directory, for vm-perm.
 *
 *   guest_perm_test DIR
 *
 * Runs as root and makes its own scratch directory under DIR. Each check forks children that
 * become other users (setgroups/setresgid/setresuid) and act on files root prepared, then the
 * parent looks at the result. The expectations are those of a local Linux file system, so the
 * same binary runs in a guest on a virtio-fs share, in a guest on its tmpfs, and natively on the
 * host (tmpfs, ext4): the native runs validate the expectations (tests/vm/run-vm-perm.sh).
 *
 * Covered: set-id clearing by write, truncate, open(O_TRUNC), fallocate, copy_file_range and
 * chown; supplementary groups (chown, create, open, access, set-group-id directories); readable
 * but not searchable directories; sticky directories; symlinks; FIFOs and device nodes; plain
 * EACCES/EPERM cases. Output is TAP ("ok N - name", "not ok N - name: detail", "1..N"). Exit
 * status: 0 if every check passed, 1 otherwise, 2 for a setup failure.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "guest_tap.h"

/* The users: U owns the test files, V is another user. G is U's primary group, S a
 * supplementary group of U only, W a group nobody has. */
#define U 65534
#define V 65532
#define G 65533
#define S 65530
#define W 65529

static char base[1024];

/* A check whose result on a FUSE mount is decided by the guest kernel's FUSE client, not by the
 * daemon: reported as a TAP TODO when it differs there (set by the check, cleared by report). */
static const char *fuse_limit;
static bool on_fuse;

static void report(const char *name, int r)
{
	tap_end(name, r, on_fuse ? fuse_limit : NULL);
	fuse_limit = NULL;
}

static const char *P(const char *name)
{
	static char buf[4][2100];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%.1000s", base, name);
	return buf[i];
}

/* ---- running as another user ---- */

struct who {
	uid_t uid;
	gid_t gid;
	int ngroups;
	gid_t groups[4];
};

static const struct who user_u = {U, G, 0, {0}};
static const struct who user_us = {U, G, 2, {G, S}}; /* U with its supplementary group */
static const struct who user_ug = {U, G, 2, {G, U}}; /* groups 65533, 65534 (issue 12) */
static const struct who user_v = {V, V, 0, {0}};

/* Runs fn(arg) in a child as `w`; its return value is an errno (0: success) or -1 with the
 * child's message lost: the child writes its detail to a pipe. */
static int as_user(const struct who *w, int (*fn)(void *), void *arg)
{
	int pfd[2], status;
	pid_t pid;
	ssize_t n;

	if (pipe(pfd) < 0)
		return fail("pipe: %m");
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return fail("fork: %m");
	if (pid == 0) {
		int r;

		close(pfd[0]);
		if (setgroups((size_t)w->ngroups, w->groups) < 0 ||
		    setresgid(w->gid, w->gid, w->gid) < 0 ||
		    setresuid(w->uid, w->uid, w->uid) < 0) {
			dprintf(pfd[1], "cannot become %u: %m", (unsigned)w->uid);
			_exit(255);
		}
		umask(0);
		r = fn(arg);
		if (detail[0])
			(void)!write(pfd[1], detail, strlen(detail));
		_exit(r < 0 ? 255 : r);
	}
	close(pfd[1]);
	n = read(pfd[0], detail, sizeof(detail) - 1);
	detail[n > 0 ? n : 0] = '\0';
	close(pfd[0]);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return fail("child died");
	return WEXITSTATUS(status) == 255 ? -1 : WEXITSTATUS(status);
}

/* ---- helpers run by root ---- */

static int mkfile(const char *name, uid_t uid, gid_t gid, mode_t mode)
{
	int fd;

	unlink(P(name));
	fd = open(P(name), O_CREAT | O_EXCL | O_WRONLY, 0600);
	if (fd < 0 || write(fd, "0123456789", 10) != 10 || fchown(fd, uid, gid) < 0 ||
	    fchmod(fd, mode) < 0) {
		if (fd >= 0)
			close(fd);
		return fail("setup %s: %m", name);
	}
	close(fd);
	return 0;
}

static int mkdir_as(const char *name, uid_t uid, gid_t gid, mode_t mode)
{
	if (mkdir(P(name), 0700) < 0 || chown(P(name), uid, gid) < 0 || chmod(P(name), mode) < 0)
		return fail("setup %s: %m", name);
	return 0;
}

static int expect_mode(const char *name, mode_t want)
{
	struct stat st;

	if (lstat(P(name), &st) < 0)
		return fail("stat %s: %m", name);
	if ((st.st_mode & 07777) != want)
		return fail("%s: mode %04o, want %04o", name, st.st_mode & 07777, want);
	return 0;
}

static int expect_owner(const char *name, uid_t uid, gid_t gid)
{
	struct stat st;

	if (lstat(P(name), &st) < 0)
		return fail("stat %s: %m", name);
	if (st.st_uid != uid || st.st_gid != gid)
		return fail("%s: owner %u:%u, want %u:%u", name, st.st_uid, st.st_gid, uid, gid);
	return 0;
}

/* errno of a call as a child's result: 0 on success. */
#define ERR(call) ((call) < 0 ? errno : 0)

static int want_err(const char *what, int got, int want)
{
	if (got == want)
		return 0;
	return fail("%s: %s, want %s", what, got ? strerror(got) : "success",
		    want ? strerror(want) : "success");
}

/* ---- set-id clearing ---- */

enum modify_how {
	BY_WRITE_WRONLY,
	BY_WRITE_RDWR,
	BY_FTRUNCATE,
	BY_TRUNCATE,
	BY_OPEN_TRUNC,
	BY_FALLOCATE,
	BY_COPY_RANGE,
};

struct modify_arg {
	const char *name;
	enum modify_how how;
	mode_t want; /* mode seen by fstat on the open fd afterwards (0: not checked) */
};

static int do_modify(void *p)
{
	struct modify_arg *a = p;
	struct stat st;
	int fd, src;
	loff_t off = 0;

	switch (a->how) {
	case BY_TRUNCATE:
		return ERR(truncate(P(a->name), 3));
	case BY_OPEN_TRUNC:
		fd = open(P(a->name), O_WRONLY | O_TRUNC);
		break;
	case BY_WRITE_RDWR:
		fd = open(P(a->name), O_RDWR);
		break;
	default:
		fd = open(P(a->name), O_WRONLY);
		break;
	}
	if (fd < 0)
		return fail("open: %m"), errno;
	switch (a->how) {
	case BY_WRITE_WRONLY:
	case BY_WRITE_RDWR:
		if (pwrite(fd, "x", 1, 0) != 1)
			return fail("write: %m"), errno;
		break;
	case BY_FTRUNCATE:
		if (ftruncate(fd, 4) < 0)
			return fail("ftruncate: %m"), errno;
		break;
	case BY_FALLOCATE:
		if (fallocate(fd, 0, 0, 8192) < 0)
			return fail("fallocate: %m"), errno;
		break;
	case BY_COPY_RANGE:
		src = open(P("cfr-src"), O_RDONLY);
		if (src < 0)
			return fail("open source: %m"), errno;
		if (copy_file_range(src, NULL, fd, &off, 4, 0) != 4)
			return fail("copy_file_range: %m"), errno;
		close(src);
		break;
	default:
		break;
	}
	if (a->want && (fstat(fd, &st) < 0 || (st.st_mode & 07777) != a->want))
		return fail("fstat on the fd: mode %04o, want %04o", st.st_mode & 07777, a->want),
		       1;
	close(fd);
	return 0;
}

static const char *how_name[] = {
	[BY_WRITE_WRONLY] = "write (O_WRONLY)", [BY_WRITE_RDWR] = "write (O_RDWR)",
	[BY_FTRUNCATE] = "ftruncate",		[BY_TRUNCATE] = "truncate",
	[BY_OPEN_TRUNC] = "open(O_TRUNC)",	[BY_FALLOCATE] = "fallocate",
	[BY_COPY_RANGE] = "copy_file_range",
};

/* A file `mode` of owner:group, changed by `who`: must succeed, leaving `want`. */
static void check_setid_owner(const struct who *who, uid_t owner, gid_t group, enum modify_how how,
			      mode_t mode, mode_t want)
{
	char name[160];
	struct modify_arg a = {"sid", how, want};
	int r;

	snprintf(name, sizeof(name), "set-id %04o of %u:%u: %s by %u leaves %04o", mode,
		 (unsigned)owner, (unsigned)group, how_name[how], (unsigned)who->uid, want);
	r = mkfile("sid", owner, group, mode);
	if (r == 0)
		r = want_err(how_name[how], as_user(who, do_modify, &a), 0);
	if (r == 0)
		r = expect_mode("sid", want);
	report(name, r);
}

static void check_setid_group(const struct who *who, gid_t group, enum modify_how how, mode_t mode,
			      mode_t want)
{
	check_setid_owner(who, 0, group, how, mode, want);
}

static void check_setid(const struct who *who, uid_t owner, enum modify_how how, mode_t mode,
			mode_t want)
{
	check_setid_owner(who, owner, owner == 0 ? 0 : G, how, mode, want);
}

static void test_setid(void)
{
	static const enum modify_how hows[] = {BY_WRITE_WRONLY, BY_WRITE_RDWR, BY_FTRUNCATE,
					       BY_TRUNCATE,	BY_OPEN_TRUNC, BY_FALLOCATE,
					       BY_COPY_RANGE};
	static const struct who root = {0, 0, 0, {0}};

	if (mkfile("cfr-src", 0, 0, 0644) < 0) {
		report("setup copy_file_range source", -1);
		return;
	}
	/* A non-owner clears setuid, and setgid with group-exec (should_remove_suid). */
	for (size_t i = 0; i < sizeof(hows) / sizeof(hows[0]); i++) {
		check_setid(&user_u, 0, hows[i], 04777, 0777);
		check_setid(&user_u, 0, hows[i], 06777, 0777);
	}
	check_setid(&user_u, 0, BY_WRITE_WRONLY, 02777, 0777);
	check_setid(&user_u, 0, BY_WRITE_RDWR, 02777, 0777);
	check_setid(&user_u, 0, BY_FTRUNCATE, 02777, 0777);
	/* setgid without group-exec is a locking mark, not privilege: a member of the file's
	 * group keeps it. A non-member drops it (setattr_should_drop_sgid: Linux 6.2, and the
	 * 6.1 stable kernels); the FUSE client keeps it (its fuse_setattr kills setgid only
	 * with group-exec, seen on 6.1 and 7.2, and sends nothing the daemon could act on). */
	check_setid_group(&user_us, S, BY_WRITE_WRONLY, 02666, 02666);
	check_setid_group(&user_us, S, BY_WRITE_WRONLY, 06666, 02666);
	for (int i = 0; i < 2; i++) {
		fuse_limit = "the guest's FUSE client keeps setgid without group-exec (with "
			     "killpriv_v2: the daemon, which cannot tell members by groups)";
		check_setid(&user_u, 0, BY_WRITE_WRONLY, i ? 06666 : 02666, 0666);
	}
	/* The owner is no exception: only CAP_FSETID is. */
	check_setid(&user_u, U, BY_WRITE_WRONLY, 04777, 0777);
	check_setid(&user_u, U, BY_FTRUNCATE, 06777, 0777);
	/* Root keeps them (CAP_FSETID). */
	check_setid(&root, 0, BY_WRITE_WRONLY, 06777, 06777);
	check_setid(&root, 0, BY_FTRUNCATE, 06777, 06777);
	check_setid(&root, U, BY_WRITE_RDWR, 04777, 04777);
}

/* ---- chown ---- */

struct chown_arg {
	const char *name;
	uid_t uid;
	gid_t gid;
	int how; /* 0 chown, 1 lchown, 2 fchown */
};

static int do_chown(void *p)
{
	struct chown_arg *a = p;
	int fd, r;

	if (a->how == 0)
		return ERR(chown(P(a->name), a->uid, a->gid));
	if (a->how == 1)
		return ERR(lchown(P(a->name), a->uid, a->gid));
	fd = open(P(a->name), O_RDONLY);
	if (fd < 0)
		return fail("open: %m"), errno;
	r = ERR(fchown(fd, a->uid, a->gid));
	close(fd);
	return r;
}

static void check_chown(const char *desc, const struct who *who, const char *name, int how,
			uid_t uid, gid_t gid, int want_errno)
{
	struct chown_arg a = {name, uid, gid, how};

	report(desc, want_err(desc, as_user(who, do_chown, &a), want_errno));
}

static void test_chown(void)
{
	int r;

	/* Issue 12: U (groups 65533, 65534) gives its file to its supplementary group 65534. */
	r = mkfile("own", U, G, 0644);
	if (r == 0)
		r = want_err("chown",
			     as_user(&user_ug, do_chown, &(struct chown_arg){"own", -1, U, 0}), 0);
	if (r == 0)
		r = expect_owner("own", U, U);
	report("chown(path, -1, supplementary group) by the owner", r);

	r = mkfile("own", U, G, 0644);
	if (r == 0)
		r = want_err("fchown",
			     as_user(&user_us, do_chown, &(struct chown_arg){"own", -1, S, 2}), 0);
	if (r == 0)
		r = expect_owner("own", U, S);
	report("fchown(fd, -1, supplementary group) by the owner", r);

	r = mkfile("own", U, G, 0644);
	if (r == 0 && symlink("own", P("own-link")) < 0)
		r = fail("symlink: %m");
	if (r == 0 && lchown(P("own-link"), U, G) < 0)
		r = fail("lchown setup: %m");
	if (r == 0)
		r = want_err("lchown",
			     as_user(&user_ug, do_chown, &(struct chown_arg){"own-link", -1, U, 1}),
			     0);
	if (r == 0)
		r = expect_owner("own-link", U, U);
	if (r == 0)
		r = expect_owner("own", U, G); /* the target is untouched */
	report("lchown(symlink, -1, supplementary group) by the owner", r);

	mkfile("own", U, G, 0644);
	check_chown("chown to a group the owner is not in: EPERM", &user_us, "own", 0, -1, W,
		    EPERM);
	check_chown("chown to another uid by the owner: EPERM", &user_us, "own", 0, V, -1, EPERM);
	check_chown("chown by a non-owner: EPERM", &user_v, "own", 0, -1, V, EPERM);
	check_chown("lchown of another user's symlink: EPERM", &user_v, "own-link", 1, -1, V,
		    EPERM);
	check_chown("chown(-1, -1) by a non-owner is allowed", &user_v, "own", 0, -1, -1, 0);

	/* Set-id bits go on chown, by the owner and by root alike. */
	r = mkfile("own", U, G, 06755);
	if (r == 0)
		r = want_err("chown",
			     as_user(&user_us, do_chown, &(struct chown_arg){"own", -1, S, 0}), 0);
	if (r == 0)
		r = expect_mode("own", 0755);
	report("chown by the owner clears setuid and setgid (group-exec)", r);
	r = mkfile("own", U, G, 06755);
	if (r == 0 && chown(P("own"), V, V) < 0)
		r = fail("chown: %m");
	if (r == 0)
		r = expect_mode("own", 0755);
	report("chown by root clears setuid and setgid (group-exec)", r);
	r = mkfile("own", U, G, 04755);
	fuse_limit = "with killpriv_v2 the guest's FUSE client sends no ids for chown(-1, -1): "
		     "nothing tells the daemon";
	if (r == 0 && chown(P("own"), -1, -1) < 0)
		r = fail("chown: %m");
	if (r == 0)
		r = expect_mode("own", 0755);
	report("chown(-1, -1) by root clears setuid", r);
	r = mkdir_as("owndir", U, G, 02755);
	if (r == 0)
		r = want_err("chown",
			     as_user(&user_us, do_chown, &(struct chown_arg){"owndir", -1, S, 0}),
			     0);
	if (r == 0)
		r = expect_mode("owndir", 02755);
	if (r == 0)
		r = expect_owner("owndir", U, S);
	report("chown of a set-group-id directory keeps its mode", r);
}

/* ---- supplementary groups: create, open, access ---- */

static int do_create_set(void *p)
{
	const char *dir = p;
	char name[300];
	int fd;

	snprintf(name, sizeof(name), "%s/file", dir);
	fd = open(P(name), O_CREAT | O_EXCL | O_WRONLY, 0640);
	if (fd < 0)
		return errno;
	close(fd);
	snprintf(name, sizeof(name), "%s/dir", dir);
	if (mkdir(P(name), 0750) < 0)
		return fail("mkdir: %m"), errno;
	snprintf(name, sizeof(name), "%s/fifo", dir);
	if (mkfifo(P(name), 0640) < 0)
		return fail("mkfifo: %m"), errno;
	snprintf(name, sizeof(name), "%s/link", dir);
	if (symlink("file", P(name)) < 0)
		return fail("symlink: %m"), errno;
	snprintf(name, sizeof(name), "%s/file", dir);
	if (unlink(P(name)) < 0)
		return fail("unlink: %m"), errno;
	fd = open(P(name), O_CREAT | O_EXCL | O_WRONLY, 02750);
	if (fd < 0)
		return fail("create again: %m"), errno;
	close(fd);
	return 0;
}

static int expect_set(const char *dir, gid_t gid, bool sgid_dir)
{
	static const char *names[] = {"file", "dir", "fifo", "link"};
	char name[300];

	for (size_t i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "%s/%s", dir, names[i]);
		if (expect_owner(name, U, gid) < 0)
			return -1;
	}
	snprintf(name, sizeof(name), "%s/dir", dir);
	if (expect_mode(name, sgid_dir ? 02750 : 0750) < 0)
		return -1;
	snprintf(name, sizeof(name), "%s/fifo", dir);
	return expect_mode(name, 0640);
}

/* U (with S) creates a file (last with mode 02750), a directory, a FIFO and a symlink in a
 * new directory `dir` of root:group `mode`; the file must end up with `file_mode`. */
static void check_create(const char *desc, const char *dir, gid_t group, mode_t mode,
			 mode_t file_mode)
{
	bool sgid_dir = mode & S_ISGID;
	char file[300];
	int r;

	snprintf(file, sizeof(file), "%s/file", dir);
	r = mkdir_as(dir, 0, group, mode);
	if (r == 0)
		r = want_err("create", as_user(&user_us, do_create_set, (void *)dir), 0);
	if (r == 0)
		r = expect_set(dir, sgid_dir ? group : G, sgid_dir);
	if (r == 0)
		r = expect_mode(file, file_mode);
	report(desc, r);
}

static int do_access(void *p)
{
	int mode = *(int *)p;

	return ERR(faccessat(AT_FDCWD, P("gfile"), mode, AT_EACCESS));
}

static int do_open_read(void *p)
{
	int fd = open(P(p), O_RDONLY);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static int do_touch(void *p)
{
	struct timeval tv[2] = {{1, 0}, {2, 0}};

	if (p)
		return ERR(utimes(P("gfile"), tv));
	return ERR(utimes(P("gfile"), NULL));
}

static void test_groups(void)
{
	int r, m;

	/* A group-writable directory, writable by U only through its supplementary group. */
	check_create("create/mkdir/mkfifo/symlink through a supplementary group", "gdir", S, 0770,
		     02750);
	report("create without that group: EACCES",
	       want_err("create", as_user(&user_u, do_create_set, "gdir"), EACCES));
	/* Set-group-id directory: new nodes get its group; subdirectories inherit the bit; a
	 * member may create a set-group-id file, given through a supplementary group. */
	check_create("create in a set-group-id directory through a supplementary group", "sgdir", S,
		     02770, 02750);
	/* A non-member creating a setgid file in a set-group-id directory loses the bit. */
	check_create("a non-member's set-group-id file in a set-group-id directory loses the bit",
		     "sgdir2", W, 02777, 0750);

	r = mkfile("gfile", 0, S, 0660);
	m = R_OK | W_OK;
	if (r == 0)
		r = want_err("access(R_OK|W_OK)", as_user(&user_us, do_access, &m), 0);
	if (r == 0)
		r = want_err("access without the group", as_user(&user_u, do_access, &m), EACCES);
	report("access() through a supplementary group", r);
	r = want_err("open", as_user(&user_us, do_open_read, "gfile"), 0);
	if (r == 0)
		r = want_err("open without the group", as_user(&user_u, do_open_read, "gfile"),
			     EACCES);
	report("open for reading through a supplementary group", r);
	r = want_err("utimes(NULL)", as_user(&user_us, do_touch, NULL), 0);
	if (r == 0)
		r = want_err("utimes(times) by a non-owner", as_user(&user_us, do_touch, "t"),
			     EPERM);
	report("utimes: now through group write permission, explicit times need the owner", r);
}

/* ---- directories without search permission ---- */

struct dir_arg {
	const char *name;
};

static int do_list(void *p)
{
	const char *name = p;
	char child[300];
	struct dirent *de;
	struct stat st;
	bool seen = false;
	DIR *d;
	int fd;

	d = opendir(P(name));
	if (!d)
		return fail("opendir: %m"), errno;
	while ((de = readdir(d)))
		seen |= !strcmp(de->d_name, "child");
	if (!seen)
		return fail("readdir: no 'child'"), 1;
	if (fsync(dirfd(d)) < 0)
		return fail("fsync of the directory: %m"), errno;
	closedir(d);
	fd = open(P(name), O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return fail("open(O_RDONLY|O_DIRECTORY): %m"), errno;
	close(fd);
	/* No search permission: the entries cannot be reached. */
	snprintf(child, sizeof(child), "%s/child", name);
	if (stat(P(child), &st) == 0 || errno != EACCES)
		return fail("stat of an entry: %s, want EACCES", strerror(errno)), 1;
	/* Extended attributes of the directory itself need no search permission on it. */
	if (getxattr(P(name), "user.none", NULL, 0) < 0 && errno != ENODATA && errno != EOPNOTSUPP)
		return fail("getxattr: %m"), errno;
	return 0;
}

static void test_noexec_dirs(void)
{
	static const struct {
		mode_t mode;
		const struct who *who;
		uid_t owner;
		gid_t group;
	} cases[] = {
		{0600, &user_u, U, W}, {0060, &user_us, 0, S}, {0006, &user_u, 0, W},
		{0477, &user_u, U, W}, {0747, &user_us, 0, S}, {0774, &user_u, 0, W},
		{0444, &user_u, 0, W},
	};
	char name[64], desc[128], child[100];
	int r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(name, sizeof(name), "nx%04o", cases[i].mode);
		snprintf(child, sizeof(child), "%s/child", name);
		snprintf(desc, sizeof(desc), "directory %04o (%s) listed without search permission",
			 cases[i].mode,
			 cases[i].who->uid == cases[i].owner ? "owner"
			 : cases[i].group == S		     ? "group member"
							     : "other");
		r = mkdir_as(name, 0, 0, 0755);
		if (r == 0)
			r = mkfile(child, 0, 0, 0644);
		if (r == 0 && (chown(P(name), cases[i].owner, cases[i].group) < 0 ||
			       chmod(P(name), cases[i].mode) < 0))
			r = fail("setup: %m");
		if (r == 0)
			r = want_err("list", as_user(cases[i].who, do_list, name), 0);
		report(desc, r);
	}
}

/* A file reopened through /proc/self/fd after its directory lost search permission. */
static int do_reopen_wait(void *p)
{
	int *pipes = p, fd, fd2;
	char path[64], c;

	fd = open(P("rdir/f"), O_RDONLY);
	if (fd < 0)
		return fail("open: %m"), errno;
	if (write(pipes[1], "o", 1) != 1 || read(pipes[2], &c, 1) != 1)
		return fail("sync: %m"), 1;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	fd2 = open(path, O_WRONLY);
	if (fd2 < 0)
		return fail("reopen for writing: %m"), errno;
	if (write(fd2, "w", 1) != 1)
		return fail("write: %m"), errno;
	close(fd2);
	close(fd);
	return 0;
}

static void test_reopen(void)
{
	int to_parent[2], to_child[2], r, status;
	pid_t pid;
	char c;

	r = mkdir_as("rdir", 0, 0, 0755);
	if (r == 0)
		r = mkfile("rdir/f", 0, 0, 0666);
	if (r < 0 || pipe(to_parent) < 0 || pipe(to_child) < 0) {
		report("reopen through /proc/self/fd in a directory without search permission", -1);
		return;
	}
	pid = fork();
	if (pid == 0) {
		int fds[3] = {to_parent[0], to_parent[1], to_child[0]};

		_exit(as_user(&user_u, do_reopen_wait, fds) ? 1 : 0);
	}
	if (read(to_parent[0], &c, 1) != 1)
		r = fail("child did not open");
	if (r == 0 && chmod(P("rdir"), 0700) < 0)
		r = fail("chmod: %m");
	(void)!write(to_child[1], "g", 1);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		r = r ? r : fail("the child's reopen failed");
	close(to_parent[0]), close(to_parent[1]), close(to_child[0]), close(to_child[1]);
	report("reopen through /proc/self/fd in a directory without search permission", r);
}

/* ---- sticky directories ---- */

struct name2 {
	const char *a, *b;
};

static int do_unlink(void *p)
{
	return ERR(unlink(P(p)));
}

static int do_rename(void *p)
{
	struct name2 *n = p;

	return ERR(rename(P(n->a), P(n->b)));
}

static int do_create_file(void *p)
{
	int fd = open(P(p), O_CREAT | O_EXCL | O_WRONLY, 0666);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static void test_sticky(void)
{
	int r;

	r = mkdir_as("sticky", 0, 0, 01777);
	if (r == 0)
		r = want_err("create by U", as_user(&user_u, do_create_file, "sticky/u"), 0);
	if (r == 0)
		r = want_err("create by V", as_user(&user_v, do_create_file, "sticky/v"), 0);
	if (r == 0)
		r = expect_owner("sticky/u", U, G);
	report("sticky directory: users create their own files", r);
	report("sticky: another user's unlink is EPERM",
	       want_err("unlink", as_user(&user_v, do_unlink, "sticky/u"), EPERM));
	report("sticky: another user's rename away is EPERM",
	       want_err("rename",
			as_user(&user_v, do_rename, &(struct name2){"sticky/u", "sticky/x"}),
			EPERM));
	report("sticky: renaming over another user's file is EPERM",
	       want_err("rename",
			as_user(&user_v, do_rename, &(struct name2){"sticky/v", "sticky/u"}),
			EPERM));
	report("sticky: the owner renames and unlinks its file",
	       want_err("rename",
			as_user(&user_u, do_rename, &(struct name2){"sticky/u", "sticky/u2"}), 0) ||
		       want_err("unlink", as_user(&user_u, do_unlink, "sticky/u2"), 0));
	r = mkdir_as("sticky2", V, V, 01777);
	if (r == 0)
		r = want_err("create by U", as_user(&user_u, do_create_file, "sticky2/u"), 0);
	if (r == 0)
		r = want_err("unlink by the directory's owner",
			     as_user(&user_v, do_unlink, "sticky2/u"), 0);
	report("sticky: the directory's owner unlinks any file", r);
}

/* ---- symlinks, FIFOs, device nodes ---- */

static int do_symlink_checks(void *p)
{
	char buf[64];
	ssize_t n;

	(void)p;
	if (symlink("target-of-u", P("sticky/ul")) < 0)
		return fail("symlink: %m"), errno;
	if (mkfifo(P("sticky/uf"), 0600) < 0)
		return fail("mkfifo: %m"), errno;
	if (chmod(P("sticky/uf"), 0660) < 0)
		return fail("chmod own fifo: %m"), errno;
	if (chown(P("sticky/uf"), -1, S) < 0)
		return fail("chown own fifo to a supplementary group: %m"), errno;
	if (lchown(P("sticky/ul"), -1, S) < 0)
		return fail("lchown own symlink: %m"), errno;
	n = readlink(P("sticky/ul"), buf, sizeof(buf));
	if (n != 11 || memcmp(buf, "target-of-u", 11))
		return fail("readlink"), 1;
	if (mknod(P("sticky/dev"), S_IFCHR | 0600, makedev(1, 3)) == 0 || errno != EPERM)
		return fail("mknod of a device by a user: %s, want EPERM", strerror(errno)), 1;
	return 0;
}

static int do_other_checks(void *p)
{
	char buf[64];
	int fd;

	(void)p;
	if (readlink(P("sticky/ul"), buf, sizeof(buf)) != 11)
		return fail("readlink by another user: %m"), errno;
	if (chmod(P("sticky/uf"), 0666) == 0 || errno != EPERM)
		return fail("chmod of another user's fifo: %s, want EPERM", strerror(errno)), 1;
	if (lchown(P("sticky/ul"), -1, V) == 0 || errno != EPERM)
		return fail("lchown of another user's symlink: %s, want EPERM", strerror(errno)), 1;
	fd = open(P("sticky/uf"), O_RDONLY | O_NONBLOCK);
	if (fd >= 0 || errno != EACCES)
		return fail("open of a 0660 fifo by another user: %s, want EACCES",
			    fd >= 0 ? "success" : strerror(errno)),
		       1;
	return 0;
}

static void test_special(void)
{
	int r;

	r = want_err("as U", as_user(&user_us, do_symlink_checks, NULL), 0);
	if (r == 0)
		r = expect_owner("sticky/ul", U, S);
	if (r == 0)
		r = expect_owner("sticky/uf", U, S);
	if (r == 0)
		r = expect_mode("sticky/uf", 0660);
	report("symlink and FIFO by a user: owner, chmod, chown to a supplementary group, readlink",
	       r);
	report("another user: readlink works, chmod/lchown EPERM, open EACCES",
	       want_err("as V", as_user(&user_v, do_other_checks, NULL), 0));
	r = mknod(P("sticky/null"), S_IFCHR | 0666, makedev(1, 3)) < 0 ? fail("mknod: %m") : 0;
	if (r == 0 && chown(P("sticky/null"), U, G) < 0)
		r = fail("chown: %m");
	if (r == 0)
		r = expect_owner("sticky/null", U, G);
	report("root: mknod and chown of a device node", r);
}

/* ---- plain refusals ---- */

static int do_refusals(void *p)
{
	int r;

	(void)p;
	if ((r = ERR(open(P("ro"), O_WRONLY))) != EACCES)
		return fail("open 0644 root file for writing: %s", strerror(r)), 1;
	if ((r = ERR(chmod(P("ro"), 0666))) != EPERM)
		return fail("chmod by a non-owner: %s", strerror(r)), 1;
	if ((r = ERR(unlink(P("rodir/f")))) != EACCES)
		return fail("unlink in a 0755 root directory: %s", strerror(r)), 1;
	if ((r = ERR(mkdir(P("rodir/d"), 0755))) != EACCES)
		return fail("mkdir in a 0755 root directory: %s", strerror(r)), 1;
	if ((r = ERR(rename(P("rodir/f"), P("rodir/g")))) != EACCES)
		return fail("rename in a 0755 root directory: %s", strerror(r)), 1;
	if ((r = ERR(open(P("rodir/f"), O_RDONLY | O_TRUNC))) != EACCES)
		return fail("open(O_RDONLY|O_TRUNC) of a 0644 root file: %s", strerror(r)), 1;
	if ((r = ERR(truncate(P("ro"), 0))) != EACCES)
		return fail("truncate of a 0644 root file: %s", strerror(r)), 1;
	if ((r = ERR(chmod(P("mine"), 02755))) != 0)
		return fail("chmod own file: %s", strerror(r)), 1;
	return 0;
}

static void test_refusals(void)
{
	int r = mkfile("ro", 0, 0, 0644);

	if (r == 0)
		r = mkdir_as("rodir", 0, 0, 0755);
	if (r == 0)
		r = mkfile("rodir/f", 0, 0, 0644);
	if (r == 0)
		r = mkfile("mine", U, W, 0644);
	if (r == 0)
		r = want_err("as U", as_user(&user_u, do_refusals, NULL), 0);
	/* chmod g+s by a non-member of the file's group: the bit is dropped silently. */
	if (r == 0)
		r = expect_mode("mine", 0755);
	report("EACCES/EPERM for writes, chmod, unlink, mkdir, rename; g+s dropped", r);
	r = mkfile("zero", U, G, 0);
	if (r == 0) {
		int fd = open(P("zero"), O_RDWR);

		if (fd < 0)
			r = fail("root open of a 0000 file: %m");
		else
			close(fd);
	}
	report("root opens a mode 0000 file read-write", r);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "guest_perm_test: must run as root\n");
		return 2;
	}
	if (strlen(argv[1]) > 900) {
		fprintf(stderr, "guest_perm_test: path too long\n");
		return 2;
	}
	snprintf(base, sizeof(base), "%s/perm.%d", argv[1], (int)getpid());
	if (mkdir(base, 0755) < 0) {
		fprintf(stderr, "guest_perm_test: mkdir %s: %m\n", base);
		return 2;
	}
	{
		struct statfs sf;

		on_fuse = statfs(base, &sf) == 0 && sf.f_type == 0x65735546; /* FUSE_SUPER_MAGIC */
	}
	umask(0);
	test_setid();
	test_chown();
	test_groups();
	test_noexec_dirs();
	test_reopen();
	test_sticky();
	test_special();
	test_refusals();
	printf("1..%d\n", test_no);
	return n_failed ? 1 : 0;
}
