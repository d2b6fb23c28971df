// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The shared version table through its real interface: several vt_open()s of one file play
 * several daemons (OFD locks and the shared mapping behave the same within one process), a
 * child process plays a daemon that dies, and the mirrors are read (and scribbled on, as a
 * hostile guest would) through their own mmap of the (fd, offset, len) the transport gets.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "coherence/vt.h"
#include "vfsd/vt_proto.h"

static char dir[64], path[128];
static int share_fd;

/* A guest's view of a daemon's mirror. */
struct view {
	uint8_t *p;
	uint64_t len;
};

static struct view map_mirror(struct vt_table *t)
{
	struct view v = {0};
	uint64_t off;
	int fd;

	CHECK_EQ(vt_mirror(t, &fd, &off, &v.len), 0);
	v.p = mmap(NULL, v.len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)off);
	CHECK(v.p != MAP_FAILED);
	return v;
}

static volatile uint64_t *slots(struct view v)
{
	return (volatile uint64_t *)(v.p + VFSD_VT_HDR_SIZE);
}

static uint64_t guest_version(struct view v, uint32_t slot)
{
	const volatile struct vfsd_vt_header *h = (const void *)v.p;

	return slots(v)[slot] + h->epoch;
}

static struct vt_table *open_table(uint64_t nslots)
{
	struct vt_config cfg = {.path = path, .nslots = nslots};
	struct vt_table *t = NULL;

	CHECK_EQ(vt_open(&cfg, share_fd, &t), 0);
	return t;
}

static void test_layout(void)
{
	char p1[160];
	struct vt_config cfg = {.path = p1, .nslots = 100};
	struct vt_table *a = NULL;
	struct view v;
	const struct vfsd_vt_header *h;

	snprintf(p1, sizeof(p1), "%s/small", dir);
	CHECK_EQ(vt_open(&cfg, share_fd, &a), 0);
	if (!a)
		return;
	v = map_mirror(a);
	h = (const void *)v.p;

	CHECK_EQ(vt_nslots(a), 100);
	CHECK_EQ(v.len, VT_AREA_MIN);
	CHECK_EQ(vt_area_len(VT_SLOTS_DEFAULT), 2u << 20);
	CHECK_EQ(vt_area_len(1u << 20), 16u << 20);
	CHECK(memcmp(h->magic, VFSD_VT_MAGIC, 8) == 0);
	CHECK_EQ(h->layout, VFSD_VT_LAYOUT);
	CHECK_EQ(h->header_size, VFSD_VT_HDR_SIZE);
	CHECK_EQ(h->nslots, 100);
	munmap(v.p, v.len);
	vt_close(a);
}

static void test_hash(void)
{
	struct vt_table *t = open_table(1u << 17);
	uint32_t s1, s2, s3;
	unsigned char h[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	unsigned hits[64] = {0}, used = 0;
	int fd;

	/* Stable: the same handle is the same slot, in every daemon and the watcher. */
	CHECK_EQ(vt_slot_from_handle(t, 1, h, sizeof(h)), vt_slot_from_handle(t, 1, h, sizeof(h)));
	CHECK(vt_slot_from_handle(t, 1, h, sizeof(h)) != vt_slot_from_handle(t, 2, h, sizeof(h)));
	for (uint64_t ino = 0; ino < 6400; ino++) {
		uint32_t s = vt_slot_from_ino(t, 42, ino);

		CHECK(s < (1u << 17));
		hits[s % 64]++;
	}
	for (unsigned i = 0; i < 64; i++)
		used += hits[i] > 50 && hits[i] < 150;
	CHECK_EQ(used, 64); /* roughly uniform in the low bits */

	/* From the filesystem: a name and the fd of the same file agree; other files differ. */
	fd = openat(share_fd, "f", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	close(openat(share_fd, "g", O_RDWR | O_CREAT | O_CLOEXEC, 0600));
	CHECK_EQ(vt_slot_at(t, share_fd, "f", &s1), 0);
	CHECK_EQ(vt_slot_at(t, fd, NULL, &s2), 0);
	CHECK_EQ(s1, s2);
	CHECK_EQ(vt_slot_at(t, share_fd, "g", &s3), 0);
	CHECK(s1 != s3);
	CHECK_EQ(vt_slot_at(t, share_fd, "missing", &s3), -ENOENT);
	/* A rename keeps the inode, so the slot. */
	CHECK_EQ(renameat(share_fd, "f", share_fd, "f2"), 0);
	CHECK_EQ(vt_slot_at(t, share_fd, "f2", &s3), 0);
	CHECK_EQ(s1, s3);
	close(fd);
	vt_close(t);
}

/* Two daemons on one table: a bump through either moves both mirrors; a reply's version is the
 * guest's value until the next change. */
static void test_two_daemons(void)
{
	struct vt_table *a = open_table(0), *b = open_table(0);
	struct view va = map_mirror(a), vb = map_mirror(b);
	uint64_t v0, v1;

	CHECK(vt_mirror_index(a) != vt_mirror_index(b));
	CHECK_EQ(vt_nslots(b), vt_nslots(a));
	v0 = vt_read(a, 7);
	CHECK_EQ(v0, vt_read(b, 7));
	CHECK_EQ(guest_version(va, 7), v0);
	CHECK_EQ(guest_version(vb, 7), v0);
	v1 = vt_bump(a, 7);
	CHECK_EQ(v1, v0 + 1);
	CHECK_EQ(vt_read(b, 7), v1);
	CHECK_EQ(guest_version(va, 7), v1);
	CHECK_EQ(guest_version(vb, 7), v1);
	CHECK_EQ(vt_bump(b, 7), v1 + 1);
	CHECK_EQ(guest_version(va, 7), v1 + 1);
	CHECK_EQ(guest_version(va, 8), vt_read(a, 8)); /* neighbours untouched */

	/* The epoch moves every version, in every mirror. */
	v0 = vt_read(a, 3);
	vt_bump_epoch(b);
	CHECK_EQ(vt_read(a, 3), v0 + 1);
	CHECK_EQ(guest_version(va, 3), v0 + 1);
	CHECK_EQ(guest_version(vb, 3), v0 + 1);

	/* A daemon that starts later gets a mirror that already has every value. */
	{
		struct vt_table *c = open_table(0);
		struct view vc = map_mirror(c);

		CHECK_EQ(guest_version(vc, 7), vt_read(a, 7));
		CHECK_EQ(guest_version(vc, 3), vt_read(a, 3));
		munmap(vc.p, vc.len);
		vt_close(c);
	}
	munmap(va.p, va.len);
	munmap(vb.p, vb.len);
	vt_close(a);
	vt_close(b);
}

/* A hostile guest writes its own mirror: the master and the other mirror never follow. */
static void test_hostile_mirror(void)
{
	struct vt_table *a = open_table(0), *b = open_table(0);
	struct view va = map_mirror(a), vb = map_mirror(b);
	uint64_t before = vt_read(a, 5);

	slots(va)[5] = UINT64_MAX - 10;		 /* "far in the future" */
	slots(va)[6] = 0;			 /* rolled back */
	memset(va.p, 0xff, 64);			 /* header garbage */
	CHECK_EQ(vt_read(a, 5), before);	 /* the daemons read the master only */
	CHECK_EQ(vt_bump(b, 5), before + 1);	 /* ... and bump it */
	CHECK_EQ(slots(va)[5], UINT64_MAX - 10); /* never lowered */
	CHECK_EQ(guest_version(vb, 5), before + 1);
	vt_bump(b, 6);
	CHECK_EQ(slots(va)[6], slots(vb)[6]); /* a rolled-back value is raised again */
	CHECK(slots(va)[6] > 0);
	munmap(va.p, va.len);
	munmap(vb.p, vb.len);
	vt_close(a);
	vt_close(b);
}

/* nslots 1: everything collides, and every change is still seen (as a change of everything). */
static void test_collisions(void)
{
	struct vt_config cfg = {.nslots = 1};
	char p1[160];
	struct vt_table *t = NULL;
	struct view v;
	uint64_t before;

	snprintf(p1, sizeof(p1), "%s/tiny", dir);
	cfg.path = p1;
	CHECK_EQ(vt_open(&cfg, share_fd, &t), 0);
	if (!t)
		return;
	v = map_mirror(t);
	CHECK_EQ(vt_slot_from_ino(t, 1, 1), 0);
	CHECK_EQ(vt_slot_from_ino(t, 1, 2), 0);
	before = guest_version(v, vt_slot_from_ino(t, 1, 1));
	vt_bump(t, vt_slot_from_ino(t, 1, 2));
	CHECK_EQ(guest_version(v, vt_slot_from_ino(t, 1, 1)), before + 1);
	/* Another daemon asking for another size of the same table is refused. */
	cfg.nslots = 2;
	{
		struct vt_table *u = NULL;

		/* In use: -EBUSY (with no user it would be replaced: test_stale). */
		CHECK_EQ(vt_open(&cfg, share_fd, &u), -EBUSY);
		CHECK(u == NULL);
	}
	munmap(v.p, v.len);
	vt_close(t);
}

static void test_bad_file(void)
{
	struct vt_config cfg = {0};
	char p1[160];
	struct vt_table *t = NULL;
	int fd;

	snprintf(p1, sizeof(p1), "%s/junk", dir);
	fd = open(p1, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, 8 << 20), 0);
	CHECK_EQ(pwrite(fd, "VFSDVT01", 8, 0), 8);
	close(fd);
	cfg.path = p1;
	CHECK_EQ(vt_open(&cfg, share_fd, &t), -EINVAL);
	/* A real table, but someone else's (or everyone's): refused. */
	{
		struct vt_config c2 = {.path = p1};
		char p2[160];

		snprintf(p2, sizeof(p2), "%s/other", dir);
		c2.path = p2;
		CHECK_EQ(vt_open(&c2, share_fd, &t), 0);
		vt_close(t);
		t = NULL;
		CHECK_EQ(chmod(p2, 0666), 0);
		CHECK_EQ(vt_open(&c2, share_fd, &t), -EPERM);
		CHECK_EQ(chmod(p2, 0600), 0);
		if (geteuid() == 0) {
			CHECK_EQ(chown(p2, 1000, 1000), 0);
			CHECK_EQ(vt_open(&c2, share_fd, &t), -EPERM);
		}
		CHECK(t == NULL);
	}
	cfg.nslots = VT_SLOTS_MAX + 1;
	snprintf(p1, sizeof(p1), "%s/big", dir);
	CHECK_EQ(vt_open(&cfg, share_fd, &t), -EINVAL);
	CHECK(t == NULL);
}

/*
 * A daemon that dies in a child: it scribbles on its mirror as a hostile guest would, and, when
 * `hand_over` is set, first passes its table fd to us over a socket, as it does to QEMU for
 * SHMEM_MAP. Returns its area index and (with hand_over) the received fd in *ret_fd.
 */
static unsigned dead_daemon(bool hand_over, int *ret_fd)
{
	int sv[2], st;
	unsigned idx = 0;
	pid_t pid;
	char c;
	struct iovec iov = {.iov_base = &idx, .iov_len = sizeof(idx)};
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pid = fork();
	if (pid == 0) {
		struct vt_config cfg = {.path = path};
		struct vt_table *t = NULL;
		struct view v;

		if (vt_open(&cfg, share_fd, &t) < 0)
			_exit(1);
		idx = vt_mirror_index(t);
		v = map_mirror(t);
		slots(v)[3] = UINT64_MAX - 1; /* "far ahead" would blind the next guest */
		((struct vfsd_vt_header *)v.p)->nslots = 7;
		if (hand_over) {
			int fd;
			uint64_t off, len;

			vt_mirror(t, &fd, &off, &len);
			mh.msg_control = u.b;
			mh.msg_controllen = sizeof(u.b);
			CMSG_FIRSTHDR(&mh)->cmsg_level = SOL_SOCKET;
			CMSG_FIRSTHDR(&mh)->cmsg_type = SCM_RIGHTS;
			CMSG_FIRSTHDR(&mh)->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(CMSG_FIRSTHDR(&mh)), &fd, sizeof(fd));
		}
		if (sendmsg(sv[1], &mh, 0) != sizeof(idx) || read(sv[1], &c, 1) != 1)
			_exit(1);
		_exit(0); /* no vt_close: a crash */
	}
	close(sv[1]);
	mh.msg_control = u.b;
	mh.msg_controllen = sizeof(u.b);
	CHECK_EQ(recvmsg(sv[0], &mh, MSG_CMSG_CLOEXEC), (ssize_t)sizeof(idx));
	*ret_fd = -1;
	if (hand_over && CMSG_FIRSTHDR(&mh))
		memcpy(ret_fd, CMSG_DATA(CMSG_FIRSTHDR(&mh)), sizeof(int));
	CHECK_EQ(write(sv[0], "x", 1), 1);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(sv[0]);
	return idx;
}

/*
 * Areas are reused once no process holds them: a daemon that died and whose QEMU is gone leaves
 * its area to the next daemon, clean of what its guest wrote. While its QEMU still maps the
 * area (through the fd the daemon handed over), nobody else gets it, and bumps still reach it;
 * once QEMU lets go, the next daemon reuses it.
 */
static void test_dead_daemon(void)
{
	struct vt_table *a = open_table(0), *c, *d, *e;
	unsigned idx, idx2;
	uint64_t *dead, len = vt_area_len(vt_nslots(a));
	struct view vc, ve;
	void *map;
	int fd;

	vt_bump(a, 3);
	idx = dead_daemon(false, &fd);
	CHECK(idx > vt_mirror_index(a));
	c = open_table(0);
	CHECK_EQ(vt_mirror_index(c), idx);
	vc = map_mirror(c);
	CHECK_EQ(((struct vfsd_vt_header *)vc.p)->nslots, vt_nslots(c));
	CHECK_EQ(guest_version(vc, 3), vt_read(a, 3)); /* not the dead guest's value */

	/* A dead daemon whose "QEMU" (we) still maps its area. */
	idx2 = dead_daemon(true, &fd);
	CHECK(fd >= 0);
	CHECK(idx2 > idx);
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)(idx2 * len));
	CHECK(map != MAP_FAILED);
	close(fd); /* QEMU keeps only the mapping */
	dead = (uint64_t *)((uint8_t *)map + VFSD_VT_HDR_SIZE);
	d = open_table(0);
	CHECK(vt_mirror_index(d) != idx2);
	vt_bump(a, 9);
	CHECK_EQ(dead[9], slots(vc)[9]); /* still raised: its guest sees the change */
	munmap(map, len);
	e = open_table(0);
	CHECK_EQ(vt_mirror_index(e), idx2);
	ve = map_mirror(e);
	CHECK_EQ(guest_version(ve, 3), vt_read(a, 3));
	CHECK_EQ(slots(ve)[9], slots(vc)[9]);
	CHECK_EQ(((struct vfsd_vt_header *)ve.p)->nslots, vt_nslots(e));
	munmap(vc.p, vc.len);
	munmap(ve.p, ve.len);
	vt_close(e);
	vt_close(d);
	vt_close(c);
	vt_close(a);
}

/* More daemon starts than the file has areas: each crash's area is reused (vt_release() is a
 * crash: no clean-up, the process's fd and mapping just go). */
static void test_many_starts(void)
{
	char p1[160];
	struct vt_config cfg = {.path = p1, .nslots = 64};
	struct vt_table *keep = NULL, *t;
	unsigned most = 0, fails = 0;

	snprintf(p1, sizeof(p1), "%s/many", dir);
	CHECK_EQ(vt_open(&cfg, share_fd, &keep), 0);
	for (int i = 0; i < 5000; i++) {
		t = NULL;
		if (vt_open(&cfg, share_fd, &t) < 0) {
			fails++;
			continue;
		}
		if (vt_mirror_index(t) > most)
			most = vt_mirror_index(t);
		vt_bump(t, (uint32_t)i);
		vt_release(t);
	}
	CHECK_EQ(fails, 0);
	CHECK_EQ(most, 2);
	vt_close(keep);
	unlink(p1);
}

/* Daemons racing to create the same table all end up on one file. */
static void test_create_race(void)
{
	char p1[160];
	pid_t pids[4];
	int st, ok = 0;

	snprintf(p1, sizeof(p1), "%s/race", dir);
	for (int i = 0; i < 4; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			struct vt_config cfg = {.path = p1};
			struct vt_table *t = NULL;

			if (vt_open(&cfg, share_fd, &t) < 0)
				_exit(1);
			vt_bump(t, 1);
			vt_close(t);
			_exit(0);
		}
	}
	for (int i = 0; i < 4; i++)
		ok += waitpid(pids[i], &st, 0) == pids[i] && WIFEXITED(st) && WEXITSTATUS(st) == 0;
	CHECK_EQ(ok, 4);
	{
		struct vt_config cfg = {.path = p1};
		struct vt_table *t = NULL;

		CHECK_EQ(vt_open(&cfg, share_fd, &t), 0);
		if (t) {
			CHECK_EQ(vt_read(t, 1), 4); /* all four bumps landed in one master */
			vt_close(t);
		}
	}
}

/* The master's private layout field (struct vt_master in vt.c: magic[8], then layout). */
#define MASTER_LAYOUT_OFF (256 + 8)

static ino_t ino_of(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 ? st.st_ino : 0;
}

static uint32_t layout_of(const char *p)
{
	uint32_t l = 0;
	int fd = open(p, O_RDONLY | O_CLOEXEC);

	CHECK(fd >= 0);
	CHECK_EQ(pread(fd, &l, sizeof(l), MASTER_LAYOUT_OFF), (ssize_t)sizeof(l));
	close(fd);
	return l;
}

/* A table file as an older vfsd left it: made by vt_open() (nslots counters), then given
 * layout 1 and the size a layout-1 table had (no stamps after the areas) if old_size. */
static void make_stale(const char *p, uint64_t nslots, bool old_layout, bool old_size)
{
	struct vt_config cfg = {.path = p, .nslots = nslots};
	struct vt_table *t = NULL;
	uint32_t one = 1;
	struct stat st;
	int fd;

	unlink(p);
	CHECK_EQ(vt_open(&cfg, share_fd, &t), 0);
	vt_close(t);
	fd = open(p, O_RDWR | O_CLOEXEC);
	CHECK(fd >= 0);
	if (old_layout)
		CHECK_EQ(pwrite(fd, &one, sizeof(one), MASTER_LAYOUT_OFF), (ssize_t)sizeof(one));
	CHECK_EQ(fstat(fd, &st), 0);
	if (old_size) {
		uint64_t stamps =
			(nslots * 8 + VFSD_VT_HDR_SIZE - 1) / VFSD_VT_HDR_SIZE * VFSD_VT_HDR_SIZE;

		CHECK_EQ(ftruncate(fd, st.st_size - (off_t)stamps), 0);
	}
	close(fd);
}

/* A process that holds an OFD write lock on byte `byte` of p (as every daemon since layout 1
 * does on its mirror index) until *wfd is closed. */
static pid_t hold_byte_lock(const char *p, off_t byte, int *wfd)
{
	int go[2], ready[2];
	char c = 0;
	pid_t pid;

	CHECK_EQ(pipe(go), 0);
	CHECK_EQ(pipe(ready), 0);
	pid = fork();
	if (pid == 0) {
		struct flock fl = {
			.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1};
		int fd = open(p, O_RDWR | O_CLOEXEC);

		close(go[1]);
		if (fd < 0 || fcntl(fd, F_OFD_SETLK, &fl) < 0)
			_exit(1);
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		/* Holds the lock until the parent writes or closes its end. */
		_exit(read(go[0], &c, 1) < 0);
	}
	close(go[0]);
	close(ready[1]);
	CHECK_EQ(read(ready[0], &c, 1), 1);
	close(ready[0]);
	*wfd = go[1];
	return pid;
}

static void release_byte_lock(pid_t pid, int wfd)
{
	int st;

	close(wfd);
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Upgrades: a table of another layout, size or slot count that nobody uses is replaced by a
 * new one; one that a daemon (any layout's: its byte lock) uses is refused with -EBUSY and
 * left alone. */
static void test_stale(void)
{
	char p1[160];
	struct vt_config cfg = {.path = p1, .nslots = 64};
	struct vt_table *t = NULL;
	ino_t old;
	off_t old_size;
	int wfd;
	pid_t pid;

	snprintf(p1, sizeof(p1), "%s/stale", dir);
	/* Layout 1 and its size, nobody using it: replaced. */
	make_stale(p1, 64, true, true);
	CHECK_EQ(layout_of(p1), 1);
	old = ino_of(p1);
	CHECK_EQ(vt_open(&cfg, share_fd, &t), 0);
	if (t) {
		CHECK(ino_of(p1) != old);
		CHECK_EQ(layout_of(p1), 2);
		CHECK_EQ(vt_nslots(t), 64);
		CHECK_EQ(vt_mirror_index(t), 1); /* a fresh table */
		vt_bump(t, 3);
		CHECK_EQ(vt_read(t, 3), 1);
		vt_close(t);
		t = NULL;
	}
	/* The right layout field but the wrong size, and no --vt-slots: replaced too. */
	make_stale(p1, 64, false, true);
	old = ino_of(p1);
	{
		struct stat st;

		CHECK_EQ(stat(p1, &st), 0);
		cfg.nslots = 0;
		CHECK_EQ(vt_open(&cfg, share_fd, &t), 0);
		CHECK(ino_of(p1) != old);
		old_size = st.st_size;
		CHECK_EQ(stat(p1, &st), 0);
		CHECK(st.st_size > old_size); /* the stamps are back */
	}
	vt_close(t);
	t = NULL;
	/* Another --vt-slots than an unused table's: replaced with the new count. */
	old = ino_of(p1);
	cfg.nslots = 128;
	CHECK_EQ(vt_open(&cfg, share_fd, &t), 0);
	CHECK(ino_of(p1) != old);
	if (t)
		CHECK_EQ(vt_nslots(t), 128);
	vt_close(t);
	t = NULL;

	/* A layout-1 table whose daemon (another process) still runs: refused, untouched. */
	make_stale(p1, 64, true, true);
	old = ino_of(p1);
	pid = hold_byte_lock(p1, 1, &wfd);
	cfg.nslots = 0;
	CHECK_EQ(vt_open(&cfg, share_fd, &t), -EBUSY);
	CHECK(t == NULL);
	CHECK_EQ(ino_of(p1), old);
	CHECK_EQ(layout_of(p1), 1);
	/* Any byte counts: a daemon on the last mirror of a big table. */
	release_byte_lock(pid, wfd);
	pid = hold_byte_lock(p1, 4000, &wfd);
	CHECK_EQ(vt_open(&cfg, share_fd, &t), -EBUSY);
	CHECK_EQ(ino_of(p1), old);
	/* Once it has stopped, the next start replaces the file. */
	release_byte_lock(pid, wfd);
	CHECK_EQ(vt_open(&cfg, share_fd, &t), 0);
	CHECK(ino_of(p1) != old);
	vt_close(t);
	t = NULL;

	/* A current table in use, asked for with other slots: refused, untouched. */
	cfg.nslots = 64;
	CHECK_EQ(vt_open(&cfg, share_fd, &t), 0);
	old = ino_of(p1);
	{
		struct vt_config c2 = {.path = p1, .nslots = 32};
		struct vt_table *u = NULL;

		CHECK_EQ(vt_open(&c2, share_fd, &u), -EBUSY);
		CHECK(u == NULL);
		CHECK_EQ(ino_of(p1), old);
	}
	vt_close(t);
}

/* What is not a stale vfsd table of our own stays refused and untouched: junk (even with the
 * public magic), a symlink (even to a stale table), a stale table that everyone may write or
 * that another user owns. */
static void test_stale_not_ours(void)
{
	char p1[160], p2[160];
	struct vt_config cfg = {.path = p1};
	struct vt_table *t = NULL;
	ino_t old;
	int fd;

	snprintf(p1, sizeof(p1), "%s/junk2", dir);
	fd = open(p1, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, 8 << 20), 0);
	CHECK_EQ(pwrite(fd, VFSD_VT_MAGIC, 8, 0), 8); /* public magic, no master magic */
	close(fd);
	old = ino_of(p1);
	CHECK_EQ(vt_open(&cfg, share_fd, &t), -EINVAL);
	CHECK_EQ(ino_of(p1), old);
	fd = open(p1, O_RDWR | O_TRUNC | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK_EQ(pwrite(fd, "hello", 5, 0), 5); /* shorter than a header */
	close(fd);
	CHECK_EQ(vt_open(&cfg, share_fd, &t), -EINVAL);
	CHECK_EQ(ino_of(p1), old);

	snprintf(p2, sizeof(p2), "%s/stale-target", dir);
	make_stale(p2, 64, true, true);
	snprintf(p1, sizeof(p1), "%s/link", dir);
	CHECK_EQ(symlink(p2, p1), 0);
	old = ino_of(p2);
	CHECK_EQ(vt_open(&cfg, share_fd, &t), -ELOOP);
	CHECK_EQ(ino_of(p2), old);
	CHECK_EQ(layout_of(p2), 1);
	{
		struct stat st;

		CHECK_EQ(lstat(p1, &st), 0);
		CHECK(S_ISLNK(st.st_mode));
	}

	cfg.path = p2;
	CHECK_EQ(chmod(p2, 0666), 0);
	CHECK_EQ(vt_open(&cfg, share_fd, &t), -EPERM);
	CHECK_EQ(ino_of(p2), old);
	CHECK_EQ(chmod(p2, 0600), 0);
	if (geteuid() == 0) {
		CHECK_EQ(chown(p2, 1000, 1000), 0);
		CHECK_EQ(vt_open(&cfg, share_fd, &t), -EPERM);
		CHECK_EQ(ino_of(p2), old);
	}
	CHECK(t == NULL);
}

/* Daemons starting together over a stale table: one replaces it, all end on that new file,
 * each with its own mirror. Several rounds, released at once by a pipe. */
static void test_stale_race(void)
{
	enum {
		N = 5,
		ROUNDS = 10
	};
	char p1[160];

	snprintf(p1, sizeof(p1), "%s/stale-race", dir);
	for (int round = 0; round < ROUNDS; round++) {
		struct {
			unsigned idx;
			ino_t ino;
		} got[N];
		int start[2], done[2], res[2], ok = 0, st;
		pid_t pids[N];
		ino_t old;
		char c = 0;

		make_stale(p1, 64, round % 2 == 0, true);
		old = ino_of(p1);
		CHECK_EQ(pipe(start), 0);
		CHECK_EQ(pipe(done), 0);
		CHECK_EQ(pipe(res), 0);
		for (int i = 0; i < N; i++) {
			pids[i] = fork();
			if (pids[i] == 0) {
				struct vt_config cfg = {.path = p1, .nslots = 64};
				struct vt_table *t = NULL;
				struct stat fst;
				uint64_t off, len;
				int fd, failed;

				close(start[1]);
				close(done[1]);
				if (read(start[0], &c, 1) != 0)
					_exit(2);
				if (vt_open(&cfg, share_fd, &t) < 0)
					_exit(1);
				vt_mirror(t, &fd, &off, &len);
				if (fstat(fd, &fst) < 0)
					_exit(1);
				got[0].idx = vt_mirror_index(t);
				got[0].ino = fst.st_ino;
				if (write(res[1], &got[0], sizeof(got[0])) != sizeof(got[0]))
					_exit(1);
				/* stay live until all reported */
				failed = read(done[0], &c, 1) < 0;
				vt_close(t);
				_exit(failed);
			}
		}
		close(start[0]);
		close(done[0]);
		close(res[1]);
		close(start[1]); /* go */
		for (int i = 0; i < N; i++)
			if (read(res[0], &got[i], sizeof(got[i])) != sizeof(got[i]))
				got[i].idx = 0;
		close(done[1]);
		close(res[0]);
		for (int i = 0; i < N; i++)
			ok += waitpid(pids[i], &st, 0) == pids[i] && WIFEXITED(st) &&
			      WEXITSTATUS(st) == 0;
		CHECK_EQ(ok, N);
		CHECK(ino_of(p1) != old);
		CHECK_EQ(layout_of(p1), 2);
		for (int i = 0; i < N; i++) {
			CHECK_EQ(got[i].ino, ino_of(p1));
			CHECK(got[i].idx >= 1 && got[i].idx <= N);
			for (int j = 0; j < i; j++)
				CHECK(got[i].idx != got[j].idx);
		}
	}
}

/* The adaptive timeout: a tenth of the age, within [min, max]. */
static void test_adaptive_timeout(void)
{
	CHECK(vt_adaptive_timeout(0.0, 0.02, 10.0) == 0.02);
	CHECK(vt_adaptive_timeout(0.1, 0.02, 10.0) == 0.02); /* 10 ms, below min */
	CHECK(vt_adaptive_timeout(1.0, 0.02, 10.0) == 0.1);
	CHECK(vt_adaptive_timeout(30.0, 0.02, 10.0) == 3.0);
	CHECK(vt_adaptive_timeout(100.0, 0.02, 10.0) == 10.0);
	CHECK(vt_adaptive_timeout(1e9, 0.02, 10.0) == 10.0); /* never changed: the cap */
	CHECK(vt_adaptive_timeout(-1.0, 0.02, 10.0) == 0.02);
	CHECK(vt_adaptive_timeout(0.0 / 0.0, 0.02, 10.0) == 0.02);
	CHECK(vt_adaptive_timeout(50.0, 1.0, 1.0) == 1.0);
	/* Monotonic in the age. */
	for (double a = 0, prev = 0; a < 200; a += 0.37) {
		double t = vt_adaptive_timeout(a, 0.02, 10.0);

		CHECK(t >= prev && t >= 0.02 && t <= 10.0);
		prev = t;
	}
}

/* Ages: every bump (by any daemon) stamps its slot, the epoch stamps every slot, a fresh
 * table starts at its creation, and the stamps live in the master only (mirrors unchanged). */
static void test_ages(void)
{
	char p1[160];
	struct vt_config cfg = {.path = p1, .nslots = 64};
	struct vt_table *a = NULL, *b = NULL;
	struct timespec ms = {0, 50 * 1000 * 1000};
	struct view va;
	uint8_t before[VFSD_VT_HDR_SIZE + 64 * 8];

	snprintf(p1, sizeof(p1), "%s/ages", dir);
	CHECK_EQ(vt_open(&cfg, share_fd, &a), 0);
	CHECK_EQ(vt_open(&cfg, share_fd, &b), 0);
	if (!a || !b)
		return;
	va = map_mirror(a);
	CHECK(vt_age(a, 5) >= 0.0 && vt_age(a, 5) < 5.0); /* since the table was made */
	nanosleep(&ms, NULL);
	CHECK(vt_age(a, 5) >= 0.05);
	vt_bump(b, 5); /* another daemon's bump */
	CHECK(vt_age(a, 5) < 0.04);
	CHECK(vt_age(a, 6) >= 0.05); /* neighbours keep theirs */
	nanosleep(&ms, NULL);
	CHECK(vt_age(a, 5) >= 0.05 && vt_age(b, 5) >= 0.05);
	CHECK(vt_age(a, 5 + 64) >= 0.05); /* slot numbers wrap as vt_read's */
	/* The mirror a guest sees: header and counters only, as before. */
	memcpy(before, va.p, sizeof(before));
	vt_bump(a, 9);
	CHECK_EQ(guest_version(va, 9), vt_read(a, 9));
	CHECK(memcmp(before, va.p, VFSD_VT_HDR_SIZE + 9 * 8) == 0);
	CHECK(vt_age(b, 9) < 0.04);
	vt_bump_epoch(a);
	CHECK(vt_age(b, 6) < 0.04 && vt_age(b, 40) < 0.04);
	munmap(va.p, va.len);
	vt_close(a);
	vt_close(b);
}

int main(void)
{
	char cmd[160];

	snprintf(dir, sizeof(dir), "/dev/shm/vfsd-vt-test-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/table", dir);
	share_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	test_layout();
	test_hash();
	test_two_daemons();
	test_hostile_mirror();
	test_collisions();
	test_bad_file();
	test_dead_daemon();
	test_many_starts();
	test_create_race();
	test_stale();
	test_stale_not_ours();
	test_stale_race();
	test_adaptive_timeout();
	test_ages();
	close(share_fd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		CHECK(0);
	return check_report("test_vt");
}
