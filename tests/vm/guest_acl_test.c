// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * guest_acl_test: POSIX ACL semantics, as setfacl/getfacl users see them, on any directory.
 *
 *   guest_acl_test DIR
 *
 * Run as root. It works under DIR/acl-work (made afresh) with the syscalls setfacl and getfacl
 * use (the system.posix_acl_access/default xattrs, tests/acl_util.h) and checks what other users
 * may then do from forked children that switch to uids 1001-1003 and groups 2001-2002 with
 * setgroups/setresgid/setresuid: named user and group entries granting and denying, the mask,
 * chmod and ACLs changing each other, default ACLs inherited by files and subdirectories (and
 * the umask applying only without one), removal, EPERM for non-owners and setgid clearing.
 * The same binary runs natively (ground truth, e.g. on tmpfs) and in a guest on a virtiofs
 * mount served with POSIX ACLs. --supplementary-groups adds the named-group checks with the
 * group as a supplementary one: a FUSE request carries no supplementary groups (Linux 6.1), so
 * a daemon that checks opens and creates again with the ids a request carries refuses them. TAP on
 * stdout ("not ok N - name: detail" says what was seen); exit status 0 if all passed.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "acl_util.h"
#include "guest_tap.h"

#define ACCESS_ACL  "system.posix_acl_access"
#define DEFAULT_ACL "system.posix_acl_default"

static char work[4096];

static void run(const char *name, int (*fn)(void))
{
	tap_begin(name);
	umask(022);
	tap_end(name, fn(), NULL);
}

/* DIR/acl-work/name; each result stays valid for the next 31 calls (enough for any check). */
static const char *P(const char *name)
{
	static char buf[32][4200];
	static unsigned next;
	char *b = buf[next++ % 32];

	snprintf(b, sizeof(buf[0]), "%s/%s", work, name);
	return b;
}

/* ------------------------------------------------------------------ ACLs and modes */

static int set_acl(const char *path, const char *name, const char *text)
{
	char buf[ACL_XATTR_MAX];
	int n = acl_from_text(text, buf, sizeof(buf));

	if (n < 0) {
		errno = EINVAL;
		return -1;
	}
	return setxattr(path, name, buf, (size_t)n, 0);
}

/* The ACL as text, "" with errno ENODATA when there is none; -1 on other errors. */
static int get_acl(const char *path, const char *name, char *out, size_t size)
{
	char buf[ACL_XATTR_MAX];
	ssize_t n = getxattr(path, name, buf, sizeof(buf));

	out[0] = '\0';
	if (n < 0)
		return -1;
	if (acl_to_text(buf, (size_t)n, out, size) < 0) {
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

static int expect_acl(const char *path, const char *name, const char *want)
{
	char text[512];

	if (get_acl(path, name, text, sizeof(text)) < 0)
		return fail("getxattr %s %s: %s, want %s", path + strlen(work) + 1, name,
			    strerror(errno), want);
	if (strcmp(text, want))
		return fail("%s %s is %s, want %s", path + strlen(work) + 1, name, text, want);
	return 0;
}

static int expect_no_acl(const char *path, const char *name)
{
	char text[512];

	if (get_acl(path, name, text, sizeof(text)) == 0)
		return fail("%s has %s %s, want none", path + strlen(work) + 1, name, text);
	if (errno != ENODATA)
		return fail("getxattr %s %s: %s, want ENODATA", path + strlen(work) + 1, name,
			    strerror(errno));
	return 0;
}

static int expect_mode(const char *path, mode_t want)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return fail("stat %s: %s", path, strerror(errno));
	if ((st.st_mode & 07777) != want)
		return fail("%s has mode %04o, want %04o", path + strlen(work) + 1,
			    (unsigned)(st.st_mode & 07777), (unsigned)want);
	return 0;
}

static int make_file(const char *path, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);

	if (fd < 0 || write(fd, "data", 4) != 4)
		return fail("create %s: %s", path, strerror(errno));
	close(fd);
	if (chmod(path, mode) < 0)
		return fail("chmod %s: %s", path, strerror(errno));
	return 0;
}

/* ------------------------------------------------------------------ other users */

struct who {
	uid_t uid;
	gid_t gid;
	int ngroups;
	gid_t groups[2];
};

enum uop {
	U_OPEN,	   /* open(path, arg) */
	U_ACCESS,  /* access(path, arg) */
	U_OPENDIR, /* open(path, O_RDONLY|O_DIRECTORY) */
	U_STAT,	   /* stat(path) */
	U_CREATE,  /* open(path, O_CREAT|O_EXCL|O_WRONLY, arg) */
	U_SETACL,  /* setxattr(path, access ACL, text) */
	U_RMACL,   /* removexattr(path, access ACL) */
};

static const struct who U1 = {1001, 1001, 0, {0}};
static const struct who U2 = {1002, 1002, 0, {0}};
static const struct who U3 = {1003, 1003, 0, {0}};
/* In group 2001 or 2002 as the primary group, or as a supplementary one. */
static const struct who U3_P1 = {1003, 2001, 0, {0}};
static const struct who U3_P2 = {1003, 2002, 0, {0}};
static const struct who U1_P1 = {1001, 2001, 0, {0}};
static const struct who U3_G1 = {1003, 1003, 1, {2001}};
static const struct who U3_G2 = {1003, 1003, 1, {2002}};
static const struct who U1_G1 = {1001, 1001, 1, {2001}};

static int do_op(enum uop op, const char *path, int arg, const char *text)
{
	int fd, r;

	switch (op) {
	case U_OPEN:
	case U_OPENDIR:
	case U_CREATE:
		fd = op == U_OPEN     ? open(path, arg | O_CLOEXEC)
		     : op == U_CREATE ? open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, arg)
				      : open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0)
			close(fd);
		return fd < 0 ? -1 : 0;
	case U_ACCESS:
		return access(path, arg);
	case U_STAT: {
		struct stat st;

		return stat(path, &st);
	}
	case U_SETACL:
		return set_acl(path, ACCESS_ACL, text);
	case U_RMACL:
	default:
		r = removexattr(path, ACCESS_ACL);
		return r;
	}
}

/* Runs one op as w in a child; 0 or the errno it got (EPERM when switching failed: reported). */
static int as(const struct who *w, enum uop op, const char *path, int arg, const char *text)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* The raw syscalls switch this (single-threaded) child entirely. */
		if (syscall(SYS_setgroups, (size_t)w->ngroups, w->groups) < 0 ||
		    syscall(SYS_setresgid, w->gid, w->gid, w->gid) < 0 ||
		    syscall(SYS_setresuid, w->uid, w->uid, w->uid) < 0)
			_exit(250);
		_exit(do_op(op, path, arg, text) < 0 ? (errno > 0 && errno < 250 ? errno : 249)
						     : 0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 251;
	return WEXITSTATUS(status);
}

static const char *err_name(int e)
{
	static char buf[32];

	if (e == 0)
		return "success";
	if (e >= 249) {
		snprintf(buf, sizeof(buf), "child failure %d", e);
		return buf;
	}
	return strerror(e);
}

/* What op as w must give: 0 or an errno. */
#define EXPECT_AS(w, want, op, path, arg, text)                                      \
	do {                                                                         \
		int _got_ = as(&(w), op, path, arg, text);                           \
		if (_got_ != (want))                                                 \
			return fail("%s %s as uid %u%s: %s, want %s", #op,           \
				    (path) + strlen(work) + 1, (unsigned)(w).uid,    \
				    (w).ngroups ? " (+group)" : "", err_name(_got_), \
				    err_name(want));                                 \
	} while (0)

/* ------------------------------------------------------------------ checks */

static int t_set_get(void)
{
	const char *f = P("setget");
	char buf[ACL_XATTR_MAX];
	ssize_t n;

	if (make_file(f, 0644))
		return -1;
	SYS(set_acl(f, ACCESS_ACL, "u::rw,u:1001:rw,g::r,g:2001:r,m::rw,o::r"));
	if (expect_acl(f, ACCESS_ACL, "u::rw-,u:1001:rw-,g::r--,g:2001:r--,m::rw-,o::r--"))
		return -1;
	/* getfacl first asks for the size. */
	if (getxattr(f, ACCESS_ACL, NULL, 0) != 4 + 6 * 8)
		return fail("size query: %zd", getxattr(f, ACCESS_ACL, NULL, 0));
	n = listxattr(f, buf, sizeof(buf));
	if (n <= 0 || !memmem(buf, (size_t)n, ACCESS_ACL, sizeof(ACCESS_ACL)))
		return fail("listxattr does not name %s", ACCESS_ACL);
	/* The group class of the mode is the mask. */
	return expect_mode(f, 0664);
}

static int t_named_user(void)
{
	const char *b = P("user-grant"), *c = P("user-deny");

	if (make_file(b, 0600) || make_file(c, 0644))
		return -1;
	SYS(set_acl(b, ACCESS_ACL, "u::rw,u:1001:rw,g::-,m::rw,o::-"));
	EXPECT_AS(U1, 0, U_OPEN, b, O_RDWR, NULL);
	EXPECT_AS(U2, EACCES, U_OPEN, b, O_RDONLY, NULL);
	/* A named entry without r wins over "other" having it. */
	SYS(set_acl(c, ACCESS_ACL, "u::rw,u:1002:-,g::r,m::r,o::r"));
	EXPECT_AS(U2, EACCES, U_OPEN, c, O_RDONLY, NULL);
	EXPECT_AS(U3, 0, U_OPEN, c, O_RDONLY, NULL);
	EXPECT_AS(U3, EACCES, U_OPEN, c, O_WRONLY, NULL);
	return 0;
}

static int named_group(const char *tag, const struct who *in1, const struct who *in2)
{
	char d[96], e[48], dir[48];

	snprintf(d, sizeof(d), "group-grant-%s", tag);
	snprintf(e, sizeof(e), "group-deny-%s", tag);
	snprintf(dir, sizeof(dir), "group-dir-%s", tag);
	if (make_file(P(d), 0600) || make_file(P(e), 0644))
		return -1;
	SYS(set_acl(P(d), ACCESS_ACL, "u::rw,g::-,g:2001:rw,m::rw,o::-"));
	EXPECT_AS(*in1, 0, U_OPEN, P(d), O_RDWR, NULL);
	EXPECT_AS(U3, EACCES, U_OPEN, P(d), O_RDONLY, NULL);
	/* A matching group entry without r denies, though "other" has r. */
	SYS(set_acl(P(e), ACCESS_ACL, "u::rw,g::r,g:2002:-,m::r,o::r"));
	EXPECT_AS(*in2, EACCES, U_OPEN, P(e), O_RDONLY, NULL);
	EXPECT_AS(U3, 0, U_OPEN, P(e), O_RDONLY, NULL);
	/* A directory writable through a named group. */
	SYS(mkdir(P(dir), 0755));
	SYS(set_acl(P(dir), ACCESS_ACL, "u::rwx,g::rx,g:2001:rwx,m::rwx,o::rx"));
	snprintf(d, sizeof(d), "%s/new", dir);
	EXPECT_AS(*in1, 0, U_CREATE, P(d), 0644, NULL);
	snprintf(d, sizeof(d), "%s/new3", dir);
	EXPECT_AS(U3, EACCES, U_CREATE, P(d), 0644, NULL);
	return 0;
}

static int t_named_group(void)
{
	return named_group("primary", &U3_P1, &U3_P2);
}

static int t_named_group_supplementary(void)
{
	return named_group("supplementary", &U3_G1, &U3_G2);
}

static int t_mask(void)
{
	const char *f = P("mask");

	if (make_file(f, 0600))
		return -1;
	SYS(set_acl(f, ACCESS_ACL, "u::rw,u:1001:rwx,g::r,m::r,o::-"));
	if (expect_mode(f, 0640))
		return -1;
	EXPECT_AS(U1, EACCES, U_OPEN, f, O_WRONLY, NULL);
	EXPECT_AS(U1, 0, U_OPEN, f, O_RDONLY, NULL);
	EXPECT_AS(U1, EACCES, U_ACCESS, f, W_OK, NULL);
	EXPECT_AS(U1, 0, U_ACCESS, f, R_OK, NULL);
	return 0;
}

static int t_chmod_mask(void)
{
	const char *f = P("chmod-mask");

	if (make_file(f, 0600))
		return -1;
	SYS(set_acl(f, ACCESS_ACL, "u::rw,u:1001:rw,g::r,m::rw,o::-"));
	EXPECT_AS(U1, 0, U_OPEN, f, O_WRONLY, NULL);
	SYS(chmod(f, 0640));
	if (expect_acl(f, ACCESS_ACL, "u::rw-,u:1001:rw-,g::r--,m::r--,o::---"))
		return -1;
	EXPECT_AS(U1, EACCES, U_OPEN, f, O_WRONLY, NULL);
	SYS(chmod(f, 0664));
	if (expect_acl(f, ACCESS_ACL, "u::rw-,u:1001:rw-,g::r--,m::rw-,o::r--"))
		return -1;
	EXPECT_AS(U1, 0, U_OPEN, f, O_WRONLY, NULL);
	return 0;
}

static int t_acl_sets_mode(void)
{
	const char *f = P("acl-mode");

	if (make_file(f, 0600))
		return -1;
	/* Three base entries are just a mode: no xattr remains. */
	SYS(set_acl(f, ACCESS_ACL, "u::rwx,g::rx,o::r"));
	if (expect_mode(f, 0754) || expect_no_acl(f, ACCESS_ACL))
		return -1;
	SYS(set_acl(f, ACCESS_ACL, "u::r,u:1001:rw,g::-,m::rwx,o::-"));
	if (expect_mode(f, 0470))
		return -1;
	/* A default ACL exists only on directories. */
	if (set_acl(f, DEFAULT_ACL, "u::rwx,g::rx,o::") == 0 || errno != EACCES)
		return fail("default ACL on a file: %s, want EACCES", err_name(errno));
	return 0;
}

static int t_remove(void)
{
	const char *f = P("remove");

	if (make_file(f, 0600))
		return -1;
	SYS(set_acl(f, ACCESS_ACL, "u::rw,u:1001:rw,g::-,m::rw,o::-"));
	EXPECT_AS(U1, 0, U_OPEN, f, O_RDWR, NULL);
	SYS(removexattr(f, ACCESS_ACL));
	if (expect_no_acl(f, ACCESS_ACL) || expect_mode(f, 0660))
		return -1;
	/* User 1001 is "other" again. */
	EXPECT_AS(U1, EACCES, U_OPEN, f, O_RDONLY, NULL);
	return 0;
}

static int t_default_file(void)
{
	const char *d = P("dflt"), *f = P("dflt/file");

	SYS(mkdir(d, 0755));
	SYS(set_acl(d, DEFAULT_ACL, "u::rwx,u:1001:rwx,g::rx,m::rwx,o::-"));
	if (expect_acl(d, DEFAULT_ACL, "u::rwx,u:1001:rwx,g::r-x,m::rwx,o::---") ||
	    expect_no_acl(d, ACCESS_ACL))
		return -1;
	/* The default ACL decides, not the umask 077. */
	umask(077);
	int fd = open(f, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	umask(022);
	SYS(fd);
	close(fd);
	if (expect_mode(f, 0660) ||
	    expect_acl(f, ACCESS_ACL, "u::rw-,u:1001:rwx,g::r-x,m::rw-,o::---") ||
	    expect_no_acl(f, DEFAULT_ACL))
		return -1;
	EXPECT_AS(U1, 0, U_OPEN, f, O_RDWR, NULL);
	EXPECT_AS(U2, EACCES, U_OPEN, f, O_RDONLY, NULL);
	/* A FIFO too. */
	umask(077);
	int r = mkfifo(P("dflt/fifo"), 0666);
	umask(022);
	SYS(r);
	return expect_mode(P("dflt/fifo"), 0660);
}

static int t_default_dir(void)
{
	const char *d = P("dflt2"), *s = P("dflt2/sub"), *ss = P("dflt2/sub/subsub");
	const char *dflt = "u::rwx,u:1001:rwx,g::r-x,m::rwx,o::---";
	struct stat st;

	SYS(mkdir(d, 0755));
	SYS(set_acl(d, DEFAULT_ACL, "u::rwx,u:1001:rwx,g::rx,m::rwx,o::-"));
	umask(077);
	int r = mkdir(s, 0777);
	umask(022);
	SYS(r);
	if (expect_mode(s, 0770) || expect_acl(s, ACCESS_ACL, dflt) ||
	    expect_acl(s, DEFAULT_ACL, dflt))
		return -1;
	/* The requested mode masks the inherited ACL; the default ACL passes on unchanged. */
	SYS(mkdir(ss, 0750));
	if (expect_mode(ss, 0750) ||
	    expect_acl(ss, ACCESS_ACL, "u::rwx,u:1001:rwx,g::r-x,m::r-x,o::---") ||
	    expect_acl(ss, DEFAULT_ACL, dflt))
		return -1;
	/* User 1001 may create in sub (named entry), and the new file inherits too. */
	EXPECT_AS(U1, 0, U_CREATE, P("dflt2/sub/by1001"), 0644, NULL);
	SYS(stat(P("dflt2/sub/by1001"), &st));
	if (st.st_uid != 1001)
		return fail("file created by 1001 is owned by %u", (unsigned)st.st_uid);
	if (expect_mode(P("dflt2/sub/by1001"), 0640) ||
	    expect_acl(P("dflt2/sub/by1001"), ACCESS_ACL, "u::rw-,u:1001:rwx,g::r-x,m::r--,o::---"))
		return -1;
	/* User 1002 is "other" (---): cannot even look inside. */
	EXPECT_AS(U2, EACCES, U_STAT, P("dflt2/sub/by1001"), 0, NULL);
	EXPECT_AS(U2, EACCES, U_CREATE, P("dflt2/sub/by1002"), 0644, NULL);
	return 0;
}

static int t_umask_without_default(void)
{
	const char *d = P("plain");

	SYS(mkdir(d, 0755));
	umask(027);
	int r1 = open(P("plain/f"), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	int r2 = mkdir(P("plain/d"), 0777);
	int r3 = mkfifo(P("plain/p"), 0666);
	umask(022);
	SYS(r1);
	close(r1);
	SYS(r2);
	SYS(r3);
	if (expect_mode(P("plain/f"), 0640) || expect_mode(P("plain/d"), 0750) ||
	    expect_mode(P("plain/p"), 0640))
		return -1;
	if (expect_no_acl(P("plain/f"), ACCESS_ACL) || expect_no_acl(P("plain/d"), DEFAULT_ACL))
		return -1;
	return 0;
}

static int t_dir_permissions(void)
{
	const char *d = P("pdir");

	SYS(mkdir(d, 0700));
	if (make_file(P("pdir/x"), 0644))
		return -1;
	SYS(set_acl(d, ACCESS_ACL, "u::rwx,u:1001:rx,g::-,g:2001:rwx,m::rwx,o::-"));
	EXPECT_AS(U1, 0, U_OPENDIR, d, 0, NULL);
	EXPECT_AS(U1, 0, U_STAT, P("pdir/x"), 0, NULL);
	EXPECT_AS(U1, EACCES, U_CREATE, P("pdir/y"), 0644, NULL);
	EXPECT_AS(U3_P1, 0, U_CREATE, P("pdir/z"), 0644, NULL);
	EXPECT_AS(U2, EACCES, U_OPENDIR, d, 0, NULL);
	EXPECT_AS(U2, EACCES, U_STAT, P("pdir/x"), 0, NULL);
	/* The mask cut to r-x takes write away from the named group. */
	SYS(chmod(d, 0750));
	EXPECT_AS(U3_P1, EACCES, U_CREATE, P("pdir/w"), 0644, NULL);
	return 0;
}

static int t_non_owner(void)
{
	const char *f = P("owner");
	const char *acl = "u::rw,u:1002:rw,g::r,m::rw,o::r";

	if (make_file(f, 0666))
		return -1;
	/* Write permission is not enough: only the owner sets ACLs. */
	EXPECT_AS(U1, EPERM, U_SETACL, f, 0, acl);
	SYS(set_acl(f, ACCESS_ACL, acl));
	EXPECT_AS(U1, EPERM, U_RMACL, f, 0, NULL);
	SYS(chown(f, 1001, 1001));
	EXPECT_AS(U1, 0, U_SETACL, f, 0, "u::rw,u:1003:r,g::r,m::r,o::-");
	if (expect_acl(f, ACCESS_ACL, "u::rw-,u:1003:r--,g::r--,m::r--,o::---"))
		return -1;
	EXPECT_AS(U1, 0, U_RMACL, f, 0, NULL);
	return expect_no_acl(f, ACCESS_ACL);
}

static int t_sgid(void)
{
	const char *f = P("sgid");
	const char *acl = "u::rwx,u:1002:rwx,g::rx,m::rwx,o::-";

	if (make_file(f, 0755))
		return -1;
	SYS(chown(f, 1001, 2001));
	/* The owner in the file's group keeps setgid, by its primary or a supplementary group. */
	SYS(chmod(f, 02775));
	EXPECT_AS(U1_P1, 0, U_SETACL, f, 0, acl);
	if (expect_mode(f, 02770))
		return -1;
	SYS(chmod(f, 02775));
	EXPECT_AS(U1_G1, 0, U_SETACL, f, 0, acl);
	if (expect_mode(f, 02770))
		return -1;
	/* Not in the group (and no CAP_FSETID): setting an ACL clears it. */
	SYS(chmod(f, 02775));
	EXPECT_AS(U1, 0, U_SETACL, f, 0, acl);
	if (expect_mode(f, 0770))
		return -1;
	/* root (CAP_FSETID) keeps it. */
	SYS(chmod(f, 02775));
	SYS(set_acl(f, ACCESS_ACL, acl));
	return expect_mode(f, 02770);
}

static int rm_tree(const char *dir)
{
	char cmd[4300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	bool supplementary = argc == 3 && !strcmp(argv[1], "--supplementary-groups");
	const char *dir = argv[argc - 1];

	if (argc != 2 && !supplementary) {
		fprintf(stderr, "usage: %s [--supplementary-groups] DIR\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(work, sizeof(work), "%s/acl-work", dir);
	if (geteuid() != 0) {
		printf("Bail out! must run as root\n");
		return 1;
	}
	rm_tree(work);
	if (mkdir(work, 0755) < 0) {
		printf("Bail out! mkdir %s: %s\n", work, strerror(errno));
		return 1;
	}
	/* Sanity: the first ACL must be accepted, else nothing below means anything. */
	if (set_acl(work, ACCESS_ACL, "u::rwx,u:1001:rx,g::rx,m::rx,o::rx") < 0) {
		printf("Bail out! %s has no POSIX ACLs: %s\n", dir, strerror(errno));
		return 1;
	}
	if (removexattr(work, ACCESS_ACL) < 0) {
		printf("Bail out! removexattr on %s: %s\n", work, strerror(errno));
		return 1;
	}
	run("acl-set-get-mode", t_set_get);
	run("named-user-grant-deny", t_named_user);
	run("named-group-grant-deny", t_named_group);
	if (supplementary)
		run("named-group-grant-deny-supplementary", t_named_group_supplementary);
	run("mask-limits-named-entries", t_mask);
	run("chmod-rewrites-mask", t_chmod_mask);
	run("acl-sets-mode", t_acl_sets_mode);
	run("remove-acl", t_remove);
	run("default-acl-file-inherit", t_default_file);
	run("default-acl-subdir-inherit", t_default_dir);
	run("umask-without-default-acl", t_umask_without_default);
	run("dir-acl-permissions", t_dir_permissions);
	run("non-owner-setacl-eperm", t_non_owner);
	run("acl-change-clears-sgid", t_sgid);
	printf("1..%d\n", test_no);
	if (!n_failed)
		rm_tree(work);
	return n_failed ? 1 : 0;
}
