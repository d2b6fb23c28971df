// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Passthrough backend, the rest of the ops: rename flags, link, tmpfile, xattrs, POSIX and
 * flock locks (owners, flush, blocking + signal), lseek data/hole, copy_file_range, read-only
 * mode, and per-request credentials.
 */
#include "pt_test.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/xattr.h>
#include <sys/uio.h>

static void test_rename_link(void)
{
	struct tenv t;
	struct fs_entry e;
	uint64_t a;
	char buf[8] = {0};
	int fd;

	CHECK_EQ(tenv_init(&t, NULL), 0);
	thost_write(&t, "a", "A", 0644);
	thost_write(&t, "b", "B", 0644);
	CHECK_EQ(t.ops->rename(t.fs, &root_ctx, FS_ROOT_ID, "a", FS_ROOT_ID, "b", RENAME_NOREPLACE,
			       NULL),
		 -EEXIST);
	CHECK_EQ(t.ops->rename(t.fs, &root_ctx, FS_ROOT_ID, "a", FS_ROOT_ID, "b", 1u << 20, NULL),
		 -EINVAL);
	CHECK_EQ(t.ops->rename(t.fs, &root_ctx, FS_ROOT_ID, "a", FS_ROOT_ID, "b", RENAME_EXCHANGE,
			       NULL),
		 0);
	fd = open(tpath(&t, "a"), O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0 && read(fd, buf, 1) == 1);
	close(fd);
	CHECK_STREQ(buf, "B");
	CHECK_EQ(t.ops->rename(t.fs, &root_ctx, FS_ROOT_ID, "a", FS_ROOT_ID, "c", 0, NULL), 0);
	a = tlookup(&t, FS_ROOT_ID, "c");
	CHECK_EQ(t.ops->link(t.fs, &root_ctx, a, FS_ROOT_ID, "c2", &e), 0);
	CHECK_EQ(e.nodeid, a);
	CHECK_EQ(e.attr.st_nlink, 2);
	/* Linking a symlink links the symlink itself. */
	CHECK_EQ(symlink("/etc/passwd", tpath(&t, "sl")), 0);
	CHECK_EQ(t.ops->link(t.fs, &root_ctx, tlookup(&t, FS_ROOT_ID, "sl"), FS_ROOT_ID, "sl2", &e),
		 0);
	CHECK(S_ISLNK(e.attr.st_mode));
	CHECK_EQ(t.ops->unlink(t.fs, &root_ctx, FS_ROOT_ID, "c2", NULL), 0);
	CHECK_EQ(t.ops->mkdir(t.fs, &root_ctx, FS_ROOT_ID, "d", 0755, 0, &e), 0);
	CHECK(S_ISDIR(e.attr.st_mode));
	CHECK_EQ(t.ops->rmdir(t.fs, &root_ctx, FS_ROOT_ID, "d", NULL), 0);
	CHECK_EQ(t.ops->rmdir(t.fs, &root_ctx, FS_ROOT_ID, "d", NULL), -ENOENT);
	tenv_done(&t);
}

static void test_tmpfile(void)
{
	struct tenv t;
	struct fs_entry e, l;
	uint64_t fh;
	uint32_t of;
	char data[] = "tmp";
	struct iovec iov = {data, 3};

	CHECK_EQ(tenv_init(&t, NULL), 0);
	CHECK_EQ(t.ops->tmpfile(t.fs, &root_ctx, FS_ROOT_ID, S_IFREG | 0600, O_RDWR, 0, &e, &fh,
				&of),
		 0);
	CHECK(e.nodeid > FS_ROOT_ID);
	CHECK_EQ(e.attr.st_nlink, 0);
	CHECK_EQ(t.ops->write(t.fs, &root_ctx, e.nodeid, fh, &iov, 1, 0, 0, NULL), 3);
	CHECK_EQ(t.ops->link(t.fs, &root_ctx, e.nodeid, FS_ROOT_ID, "named", &l), 0);
	CHECK_EQ(l.nodeid, e.nodeid);
	CHECK_EQ(l.attr.st_size, 3);
	CHECK_EQ(t.ops->release(t.fs, &root_ctx, e.nodeid, fh), 0);
	tenv_done(&t);
}

static void test_xattr(void)
{
	struct tenv t;
	struct pt_config cfg = tenv_default_config();
	char buf[256];
	uint64_t a, s;
	ssize_t n;

	CHECK_EQ(tenv_init(&t, NULL), 0);
	thost_write(&t, "a", "", 0644);
	a = tlookup(&t, FS_ROOT_ID, "a");
	CHECK_EQ(t.ops->setxattr(t.fs, &root_ctx, a, "user.k", "value", 5, XATTR_CREATE), 0);
	CHECK_EQ(t.ops->setxattr(t.fs, &root_ctx, a, "user.k", "v", 1, XATTR_CREATE), -EEXIST);
	CHECK_EQ(t.ops->getxattr(t.fs, &root_ctx, a, "user.k", NULL, 0), 5);
	CHECK_EQ(t.ops->getxattr(t.fs, &root_ctx, a, "user.k", buf, 2), -ERANGE);
	CHECK_EQ(t.ops->getxattr(t.fs, &root_ctx, a, "user.k", buf, sizeof(buf)), 5);
	CHECK(memcmp(buf, "value", 5) == 0);
	n = t.ops->listxattr(t.fs, &root_ctx, a, buf, sizeof(buf));
	CHECK(n >= 7 && memmem(buf, (size_t)n, "user.k", 7) != NULL);
	CHECK_EQ(t.ops->listxattr(t.fs, &root_ctx, a, NULL, 0), n);
	/* The guest kernel checked the caller (xattr_permission): served as the daemon, also for
	 * a caller whose permission the request's ids do not show. */
	CHECK_EQ(t.ops->setxattr(t.fs, &user_ctx, a, "user.k", "v", 1, 0), 0);
	CHECK_EQ(t.ops->removexattr(t.fs, &root_ctx, a, "user.k"), 0);
	CHECK_EQ(t.ops->getxattr(t.fs, &root_ctx, a, "user.k", buf, sizeof(buf)), -ENODATA);
	/* Symlinks: acted on themselves, never on their target. */
	CHECK_EQ(symlink("a", tpath(&t, "sl")), 0);
	s = tlookup(&t, FS_ROOT_ID, "sl");
	n = t.ops->setxattr(t.fs, &root_ctx, s, "trusted.k", "x", 1, 0);
	CHECK(n == 0 || n == -EOPNOTSUPP); /* -EOPNOTSUPP: kernel without *xattrat() */
	if (n == 0)
		CHECK_EQ(t.ops->getxattr(t.fs, &root_ctx, s, "trusted.k", buf, sizeof(buf)), 1);
	CHECK_EQ(t.ops->getxattr(t.fs, &root_ctx, a, "trusted.k", buf, sizeof(buf)), -ENODATA);
	tenv_done(&t);

	cfg.xattr = false;
	CHECK_EQ(tenv_init(&t, &cfg), 0);
	CHECK_EQ(t.ops->getxattr(t.fs, &root_ctx, FS_ROOT_ID, "user.k", buf, sizeof(buf)),
		 -EOPNOTSUPP);
	CHECK_EQ(t.ops->setxattr(t.fs, &root_ctx, FS_ROOT_ID, "user.k", "v", 1, 0), -EOPNOTSUPP);
	tenv_done(&t);
}

static void on_sigusr1(int sig)
{
}

struct blocker {
	struct tenv *t;
	uint64_t node, fh;
	int result;
};

static void *block_thread(void *arg)
{
	struct blocker *b = arg;
	struct fs_lock lk = {F_WRLCK, 0, INT64_MAX, 0};

	b->result = b->t->ops->setlk(b->t->fs, &root_ctx, b->node, b->fh, 77, &lk, true);
	return NULL;
}

struct dl_waiter {
	struct tenv *t;
	uint64_t node, fh;
	int result;
};

static void *dl_wait_thread(void *arg)
{
	struct dl_waiter *w = arg;
	struct fs_lock want = {F_WRLCK, 20, 29, 0};

	w->result = w->t->ops->setlk(w->t->fs, &root_ctx, w->node, w->fh, 1, &want, true);
	return NULL;
}

/*
 * Owner 1 holds [0,9] and sleeps waiting for owner 2's [20,29]; owner 2 then asking for [0,9]
 * would wait for owner 1 forever: it gets EDEADLK instead, and owner 1 gets its lock once owner
 * 2 unlocks. OFD locks have no deadlock detection of their own.
 */
static void test_lock_deadlock(void)
{
	struct fs_lock a = {F_WRLCK, 0, 9, 0}, b = {F_WRLCK, 20, 29, 0};
	struct fs_lock un = {F_UNLCK, 20, 29, 0};
	struct dl_waiter w;
	struct tenv t;
	pthread_t th;
	uint64_t n, h1, h2;
	int r = -1;

	CHECK_EQ(tenv_init(&t, NULL), 0);
	thost_write(&t, "dl", "0123456789abcdef0123456789abcdef", 0644);
	n = tlookup(&t, FS_ROOT_ID, "dl");
	h1 = topen(&t, n, O_RDWR);
	h2 = topen(&t, n, O_RDWR);
	CHECK_EQ(t.ops->setlk(t.fs, &root_ctx, n, h1, 1, &a, false), 0);
	CHECK_EQ(t.ops->setlk(t.fs, &root_ctx, n, h2, 2, &b, false), 0);
	w = (struct dl_waiter){&t, n, h1, 1};
	pthread_create(&th, NULL, dl_wait_thread, &w);
	/* Give owner 1 time to block; an alarm turns a missed detection into EINTR, not a hang. */
	usleep(300000);
	{
		struct sigaction sa = {.sa_handler = on_sigusr1}; /* no SA_RESTART */
		struct fs_lock q = {F_WRLCK, 0, 9, 0};

		sigaction(SIGALRM, &sa, NULL);
		alarm(5);
		r = t.ops->setlk(t.fs, &root_ctx, n, h2, 2, &q, true);
		alarm(0);
	}
	CHECK_EQ(r, -EDEADLK);
	CHECK_EQ(t.ops->setlk(t.fs, &root_ctx, n, h2, 2, &un, false), 0);
	pthread_join(th, NULL);
	CHECK_EQ(w.result, 0);
	tenv_done(&t);
}

static void test_posix_locks(void)
{
	const struct fs_ctx pid_ctx = {.uid = 0, .gid = 0, .pid = 4242};
	struct tenv t;
	struct fs_lock wr = {F_WRLCK, 0, 10, 0}, rd = {F_RDLCK, 0, 10, 0};
	struct fs_lock q = {F_WRLCK, 5, 6, 0};
	struct sigaction sa = {.sa_handler = on_sigusr1}; /* no SA_RESTART: EINTR surfaces */
	struct blocker b;
	pthread_t th;
	uint64_t n, h1, h2, hro;

	CHECK_EQ(tenv_init(&t, NULL), 0);
	thost_write(&t, "l", "0123456789abcdef", 0644);
	n = tlookup(&t, FS_ROOT_ID, "l");
	h1 = topen(&t, n, O_RDWR);
	h2 = topen(&t, n, O_RDWR);
	hro = topen(&t, n, O_RDONLY);
	CHECK_EQ(t.ops->setlk(t.fs, &pid_ctx, n, h1, 1, &wr, false), 0);
	CHECK_EQ(t.ops->setlk(t.fs, &root_ctx, n, h2, 2, &q, false), -EAGAIN);
	/* The same owner never conflicts with itself, whatever handle it uses. */
	CHECK_EQ(t.ops->setlk(t.fs, &pid_ctx, n, h2, 1, &rd, false), 0);
	CHECK_EQ(t.ops->setlk(t.fs, &root_ctx, n, hro, 3, &wr, false), -EBADF);
	CHECK_EQ(t.ops->getlk(t.fs, &root_ctx, n, h2, 2, &q), 0);
	CHECK_EQ(q.type, F_RDLCK);
	CHECK_EQ(q.start, 0);
	CHECK_EQ(q.end, 10);
	/* The holder is reported as the guest process that locked, as F_GETLK users expect. */
	CHECK_EQ(q.pid, 4242);
	q = (struct fs_lock){F_WRLCK, 5, 6, 0};
	CHECK_EQ(t.ops->getlk(t.fs, &root_ctx, n, h1, 1, &q), 0);
	CHECK_EQ(q.type, F_UNLCK);
	/* close() by owner 1 (flush) drops its locks. */
	CHECK_EQ(t.ops->flush(t.fs, &root_ctx, n, h1, 1), 0);
	q = (struct fs_lock){F_WRLCK, 5, 6, 0};
	CHECK_EQ(t.ops->setlk(t.fs, &root_ctx, n, h2, 2, &q, false), 0);
	/* A blocking waiter is cancelled by a signal. */
	sigaction(SIGUSR1, &sa, NULL);
	b = (struct blocker){&t, n, h1, 1};
	pthread_create(&th, NULL, block_thread, &b);
	usleep(100 * 1000);
	pthread_kill(th, SIGUSR1);
	pthread_join(th, NULL);
	CHECK_EQ(b.result, -EINTR);
	q.type = F_UNLCK;
	CHECK_EQ(t.ops->setlk(t.fs, &root_ctx, n, h2, 2, &q, false), 0);
	CHECK_EQ(t.ops->setlk(t.fs, &root_ctx, n, h2, 99, &q, false), 0);
	/* flock: per handle. */
	CHECK_EQ(t.ops->flock(t.fs, &root_ctx, n, h1, LOCK_EX, false), 0);
	CHECK_EQ(t.ops->flock(t.fs, &root_ctx, n, h2, LOCK_EX, false), -EAGAIN);
	CHECK_EQ(t.ops->release(t.fs, &root_ctx, n, h1), 0);
	CHECK_EQ(t.ops->flock(t.fs, &root_ctx, n, h2, LOCK_EX, false), 0);
	CHECK_EQ(t.ops->flock(t.fs, &root_ctx, n, h2, LOCK_EX | LOCK_NB, false), -EINVAL);
	tenv_done(&t);
}

static void test_seek_copy(void)
{
	struct tenv t;
	struct fs_entry e;
	uint64_t fh, fh2;
	uint32_t of;
	off_t pos;
	char data[4096], out[8] = {0};
	struct iovec iov = {data, sizeof(data)}, oiov = {out, 4};

	memset(data, 'x', sizeof(data));
	CHECK_EQ(tenv_init(&t, NULL), 0);
	CHECK_EQ(t.ops->create(t.fs, &root_ctx, FS_ROOT_ID, "sparse", S_IFREG | 0644, O_RDWR, 0, &e,
			       &fh, &of),
		 0);
	CHECK_EQ(t.ops->write(t.fs, &root_ctx, e.nodeid, fh, &iov, 1, 0, 0, NULL), 4096);
	CHECK_EQ(t.ops->write(t.fs, &root_ctx, e.nodeid, fh, &iov, 1, 1 << 20, 0, NULL), 4096);
	CHECK_EQ(t.ops->lseek(t.fs, &root_ctx, e.nodeid, fh, 0, SEEK_HOLE, &pos), 0);
	CHECK_EQ(pos, 4096);
	CHECK_EQ(t.ops->lseek(t.fs, &root_ctx, e.nodeid, fh, 8192, SEEK_DATA, &pos), 0);
	CHECK_EQ(pos, 1 << 20);
	CHECK_EQ(t.ops->lseek(t.fs, &root_ctx, e.nodeid, fh, 0, SEEK_END, &pos), 0);
	CHECK_EQ(pos, (1 << 20) + 4096);
	CHECK_EQ(t.ops->lseek(t.fs, &root_ctx, e.nodeid, fh, 0, 42, &pos), -EINVAL);
	CHECK_EQ(t.ops->fallocate(t.fs, &root_ctx, e.nodeid, fh, 0, 0, 8192, NULL), 0);
	CHECK_EQ(t.ops->create(t.fs, &root_ctx, FS_ROOT_ID, "copy", S_IFREG | 0644, O_RDWR, 0, &e,
			       &fh2, &of),
		 0);
	CHECK_EQ(t.ops->copy_file_range(t.fs, &root_ctx, tlookup(&t, FS_ROOT_ID, "sparse"), fh, 0,
					e.nodeid, fh2, 10, 100, 0, NULL),
		 100);
	CHECK_EQ(t.ops->read(t.fs, &root_ctx, e.nodeid, fh2, &oiov, 1, 10), 4);
	CHECK_STREQ(out, "xxxx");
	tenv_done(&t);
}

static void test_readonly(void)
{
	struct tenv t;
	struct pt_config cfg = tenv_default_config();
	struct fs_entry e;
	struct fs_setattr sa = {.valid = FS_SET_MODE, .mode = 0600};
	struct stat st;
	double to;
	uint64_t fh, a;
	uint32_t of;

	cfg.readonly = true;
	CHECK_EQ(tenv_init(&t, &cfg), 0);
	thost_write(&t, "a", "x", 0644);
	a = tlookup(&t, FS_ROOT_ID, "a");
	CHECK_EQ(t.ops->create(t.fs, &root_ctx, FS_ROOT_ID, "n", S_IFREG | 0644, O_RDWR, 0, &e, &fh,
			       &of),
		 -EROFS);
	CHECK_EQ(t.ops->mkdir(t.fs, &root_ctx, FS_ROOT_ID, "d", 0755, 0, &e), -EROFS);
	CHECK_EQ(t.ops->unlink(t.fs, &root_ctx, FS_ROOT_ID, "a", NULL), -EROFS);
	CHECK_EQ(t.ops->open(t.fs, &root_ctx, a, O_WRONLY, &fh, &of), -EROFS);
	CHECK_EQ(t.ops->open(t.fs, &root_ctx, a, O_RDONLY | O_TRUNC, &fh, &of), -EROFS);
	CHECK_EQ(t.ops->setattr(t.fs, &root_ctx, a, &sa, &st, NULL, &to, NULL), -EROFS);
	CHECK_EQ(t.ops->setxattr(t.fs, &root_ctx, a, "user.x", "1", 1, 0), -EROFS);
	CHECK_EQ(t.ops->rename(t.fs, &root_ctx, FS_ROOT_ID, "a", FS_ROOT_ID, "b", 0, NULL), -EROFS);
	CHECK_EQ(t.ops->open(t.fs, &root_ctx, a, O_RDONLY, &fh, &of), 0);
	tenv_done(&t);
}

static void test_credentials(void)
{
	struct tenv t;
	struct fs_entry e;
	struct fs_setattr sa = {0};
	struct stat st;
	double to;
	uint64_t fh, secret;
	uint32_t of;
	gid_t groups[] = {2000};
	struct fs_ctx grp_ctx = {1000, 1000, 3, groups, 1};
	char d[] = "y";
	struct iovec iov = {d, 1};

	CHECK_EQ(tenv_init(&t, NULL), 0);
	CHECK_EQ(t.ops->create(t.fs, &user_ctx, FS_ROOT_ID, "mine", S_IFREG | 0644, O_RDWR, 0, &e,
			       &fh, &of),
		 0);
	CHECK_EQ(e.attr.st_uid, 1000);
	CHECK_EQ(e.attr.st_gid, 1000);
	CHECK_EQ(geteuid(), 0); /* the thread is back to root after the op */
	CHECK_EQ(t.ops->mkdir(t.fs, &user_ctx, FS_ROOT_ID, "mydir", 0700, 0, &e), 0);
	CHECK_EQ(e.attr.st_uid, 1000);
	/* The guest kernel decides permissions (default_permissions, with all of the caller's
	 * groups): what it lets through runs as the daemon, only ACCESS asks the host. */
	thost_write(&t, "secret", "s", 0600);
	secret = tlookup(&t, FS_ROOT_ID, "secret");
	CHECK_EQ(t.ops->access(t.fs, &user_ctx, secret, R_OK), -EACCES);
	CHECK_EQ(t.ops->access(t.fs, &root_ctx, secret, R_OK | W_OK), 0);
	CHECK_EQ(t.ops->access(t.fs, &root_ctx, secret, X_OK), -EACCES);
	CHECK_EQ(t.ops->open(t.fs, &user_ctx, secret, O_RDONLY, &fh, &of), 0);
	CHECK_EQ(t.ops->release(t.fs, &user_ctx, secret, fh), 0);
	/* chown to a supplementary group the request does not carry, as its owner. */
	CHECK_EQ(chown(tpath(&t, "secret"), 1000, 1000), 0);
	sa.valid = FS_SET_GID;
	sa.gid = 2000;
	CHECK_EQ(t.ops->setattr(t.fs, &user_ctx, secret, &sa, &st, NULL, &to, NULL), 0);
	CHECK_EQ(st.st_gid, 2000);
	/* The set-id clearing a guest sends after a non-owner's write: a plain chmod. */
	CHECK_EQ(chmod(tpath(&t, "secret"), 04777), 0);
	fh = topen(&t, secret, O_WRONLY);
	sa.valid = FS_SET_MODE;
	sa.mode = 0777;
	sa.has_fh = true;
	sa.fh = fh;
	CHECK_EQ(t.ops->setattr(t.fs, &grp_ctx, secret, &sa, &st, NULL, &to, NULL), 0);
	CHECK_EQ(st.st_mode & 07777, 0777);
	sa.has_fh = false;
	CHECK_EQ(t.ops->unlink(t.fs, &user_ctx, FS_ROOT_ID, "secret", NULL), 0);
	/* A create that finds the name taken on the host: the guest checked only the directory,
	 * so the open is checked as the caller. */
	thost_write(&t, "taken", "t", 0644);
	CHECK_EQ(t.ops->create(t.fs, &user_ctx, FS_ROOT_ID, "taken", S_IFREG | 0644, O_WRONLY, 0,
			       &e, &fh, &of),
		 -EACCES);
	CHECK_EQ(geteuid(), 0);
	CHECK_EQ(t.ops->create(t.fs, &user_ctx, FS_ROOT_ID, "taken", S_IFREG | 0644, O_RDONLY, 0,
			       &e, &fh, &of),
		 0);
	CHECK_EQ(t.ops->release(t.fs, &user_ctx, e.nodeid, fh), 0);
	/* A create the guest allowed (e.g. through a group it did not send) gets the caller's ids
	 * even where the host would refuse those ids alone. */
	CHECK_EQ(mkdir(tpath(&t, "locked"), 0775), 0);
	CHECK_EQ(chown(tpath(&t, "locked"), 0, 2000), 0);
	CHECK_EQ(t.ops->mknod(t.fs, &user_ctx, tlookup(&t, FS_ROOT_ID, "locked"), "f",
			      S_IFREG | 0640, 0, 0, &e),
		 0);
	CHECK_EQ(e.attr.st_uid, 1000);
	CHECK_EQ(e.attr.st_gid, 1000);
	CHECK_EQ(geteuid(), 0);
	/* Supplementary groups are applied to creates: a set-group-id directory's group. */
	CHECK_EQ(chmod(tpath(&t, "locked"), 02775), 0);
	CHECK_EQ(
		t.ops->mkdir(t.fs, &grp_ctx, tlookup(&t, FS_ROOT_ID, "locked"), "sub", 0755, 0, &e),
		0);
	CHECK_EQ(e.attr.st_gid, 2000);
	CHECK_EQ(e.attr.st_mode & 07777, 02755);
	CHECK_EQ(getgroups(0, NULL), 0);
	/* Only the ids that differ from root's are switched, and each is switched back. */
	struct fs_ctx uid_only = {1000, 0, 5, NULL, 0}, gid_only = {0, 1000, 6, NULL, 0};
	CHECK_EQ(t.ops->mkdir(t.fs, &uid_only, FS_ROOT_ID, "u", 0755, 0, &e), 0);
	CHECK_EQ(e.attr.st_uid, 1000);
	CHECK_EQ(e.attr.st_gid, 0);
	CHECK_EQ(t.ops->mkdir(t.fs, &gid_only, FS_ROOT_ID, "g2", 0755, 0, &e), 0);
	CHECK_EQ(e.attr.st_uid, 0);
	CHECK_EQ(e.attr.st_gid, 1000);
	CHECK_EQ(geteuid(), 0);
	CHECK_EQ(getegid(), 0);
	CHECK_EQ(getgroups(0, NULL), 0);
	/* (uid_t)-1 would mean "unchanged" to setresuid: refused. */
	struct fs_ctx bad = {(uid_t)-1, 0, 4, NULL, 0};
	CHECK_EQ(
		t.ops->create(t.fs, &bad, FS_ROOT_ID, "x", S_IFREG | 0644, O_RDWR, 0, &e, &fh, &of),
		-EINVAL);
	/* A root writer keeps setuid unless asked to drop it. */
	thost_write(&t, "suid", "", 0755);
	CHECK_EQ(chmod(tpath(&t, "suid"), 06755), 0);
	secret = tlookup(&t, FS_ROOT_ID, "suid");
	fh = topen(&t, secret, O_WRONLY);
	CHECK_EQ(t.ops->write(t.fs, &root_ctx, secret, fh, &iov, 1, 0, FS_WRITE_KILL_SUIDGID, NULL),
		 1);
	CHECK_EQ(stat(tpath(&t, "suid"), &st), 0);
	CHECK_EQ(st.st_mode & 07777, 0755);
	tenv_done(&t);
}

/* Set-id clearing the daemon does itself (its own truncate/fallocate keep the bits). */
static void test_kill_suidgid(void)
{
	struct fs_init_info v2 = {.killpriv_v2 = true};
	struct tenv t;
	struct stat st;
	uint64_t node, fh;
	uint32_t of;

	CHECK_EQ(tenv_init(&t, NULL), 0);
	thost_write(&t, "f", "0123456789", 0644);
	node = tlookup(&t, FS_ROOT_ID, "f");
	/* A non-root caller's truncating open, with or without killpriv_v2. */
	CHECK_EQ(chmod(tpath(&t, "f"), 06777), 0);
	CHECK_EQ(t.ops->open(t.fs, &user_ctx, node, O_WRONLY | O_TRUNC, &fh, &of), 0);
	CHECK_EQ(t.ops->release(t.fs, &user_ctx, node, fh), 0);
	CHECK_EQ(stat(tpath(&t, "f"), &st), 0);
	CHECK_EQ(st.st_mode & 07777, 0777);
	/* Root keeps them (CAP_FSETID). */
	CHECK_EQ(chmod(tpath(&t, "f"), 06777), 0);
	CHECK_EQ(t.ops->open(t.fs, &root_ctx, node, O_WRONLY | O_TRUNC, &fh, &of), 0);
	CHECK_EQ(t.ops->release(t.fs, &root_ctx, node, fh), 0);
	CHECK_EQ(stat(tpath(&t, "f"), &st), 0);
	CHECK_EQ(st.st_mode & 07777, 06777);
	/* fallocate: without killpriv_v2 the guest sends its own SETATTR, so nothing here. */
	fh = topen(&t, node, O_RDWR);
	CHECK_EQ(t.ops->fallocate(t.fs, &user_ctx, node, fh, 0, 0, 4096, NULL), 0);
	CHECK_EQ(stat(tpath(&t, "f"), &st), 0);
	CHECK_EQ(st.st_mode & 07777, 06777);
	CHECK_EQ(t.ops->release(t.fs, &user_ctx, node, fh), 0);
	/* Under killpriv_v2 it is ours: setuid, and setgid with group-exec. */
	CHECK_EQ(t.ops->init(t.fs, &v2), 0);
	node = tlookup(&t, FS_ROOT_ID, "f");
	fh = topen(&t, node, O_RDWR);
	CHECK_EQ(t.ops->fallocate(t.fs, &user_ctx, node, fh, 0, 0, 8192, NULL), 0);
	CHECK_EQ(stat(tpath(&t, "f"), &st), 0);
	CHECK_EQ(st.st_mode & 07777, 0777);
	CHECK_EQ(chmod(tpath(&t, "f"), 06767), 0);
	CHECK_EQ(t.ops->copy_file_range(t.fs, &user_ctx, node, fh, 0, node, fh, 100, 4, 0, NULL),
		 4);
	CHECK_EQ(stat(tpath(&t, "f"), &st), 0);
	CHECK_EQ(st.st_mode & 07777, 02767); /* setgid without group-exec stays */
	CHECK_EQ(t.ops->release(t.fs, &user_ctx, node, fh), 0);
	tenv_done(&t);
}

int main(void)
{
	test_rename_link();
	test_tmpfile();
	test_xattr();
	test_posix_locks();
	test_lock_deadlock();
	test_seek_copy();
	test_readonly();
	test_credentials();
	test_kill_suidgid();
	return check_report("passthrough-ops");
}
