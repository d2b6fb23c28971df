// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The shared version table (vt.h has the layout and the rules). All counter accesses are
 * __atomic builtins on the shared mapping: other daemons (other processes) and, for the mirror
 * areas, guests access the same memory concurrently.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "coherence/fid.h"
#include "coherence/vt.h"
#include "util/log.h"
#include "util/macros.h"
#include "vfsd/vt_proto.h"

#define VT_MASTER_MAGIC	 "VFSDVTMA"
#define VT_FILE_LAYOUT	 2u
#define VT_MASTER_OFFSET 256u
#define VT_MAX_MIRRORS	 4096u
/* The areas stay below this, the stamps come on top (the file is sparse: only touched pages
 * cost memory). */
#define VT_FILE_BUDGET (8ull << 30)

/* Private part of area 0, after the public header. */
struct vt_master {
	uint8_t magic[8]; /* VT_MASTER_MAGIC */
	uint32_t layout;  /* VT_FILE_LAYOUT */
	uint32_t max_mirrors;
	uint64_t area_len;
	uint64_t next_mirror; /* areas handed out so far (atomic) */
	/* When the epoch last moved (or the table was made), vt_now_ns() (atomic). */
	uint64_t epoch_ns;
	uint64_t live[VT_MAX_MIRRORS / 64];
};

_Static_assert(sizeof(struct vfsd_vt_header) <= VT_MASTER_OFFSET, "header fits before master");
_Static_assert(VT_MASTER_OFFSET + sizeof(struct vt_master) <= VFSD_VT_HDR_SIZE, "master fits");

struct vt_table {
	int fd;
	uint8_t *base; /* the whole file */
	uint64_t map_len, area_len, nslots;
	uint64_t times_off; /* the master's "last bumped" array, after the last mirror area */
	unsigned max_mirrors;
	unsigned mine; /* our mirror's area index */
	vt_attach_fn attach;
	void *attach_opaque;
};

static struct vfsd_vt_header *area_hdr(const struct vt_table *t, unsigned i)
{
	return (struct vfsd_vt_header *)(t->base + (uint64_t)i * t->area_len);
}

static uint64_t *area_slots(const struct vt_table *t, unsigned i)
{
	return (uint64_t *)(t->base + (uint64_t)i * t->area_len + VFSD_VT_HDR_SIZE);
}

static struct vt_master *master(const struct vt_table *t)
{
	return (struct vt_master *)(t->base + VT_MASTER_OFFSET);
}

static uint64_t *bump_times(const struct vt_table *t)
{
	return (uint64_t *)(t->base + t->times_off);
}

/* Wall-clock nanoseconds: every daemon's stamps must be comparable, and CLOCK_MONOTONIC is
 * per time namespace and starts again at boot while a table file may outlive both. A clock
 * step only skews the ages, which are a prediction; the timeouts stay within their bounds. */
static uint64_t vt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The "last bumped" array: one u64 per slot, page-rounded, after all areas. */
static uint64_t times_len(uint64_t nslots)
{
	return (nslots * sizeof(uint64_t) + VFSD_VT_HDR_SIZE - 1) &
	       ~(uint64_t)(VFSD_VT_HDR_SIZE - 1);
}

static uint64_t file_len(uint64_t area_len, unsigned maxm, uint64_t nslots)
{
	return (uint64_t)(maxm + 1) * area_len + times_len(nslots);
}

uint64_t vt_area_len(uint64_t nslots)
{
	uint64_t need = VFSD_VT_HDR_SIZE + nslots * sizeof(uint64_t), len = VT_AREA_MIN;

	while (len < need)
		len <<= 1;
	return len;
}

static unsigned max_mirrors_for(uint64_t area_len)
{
	return (unsigned)MIN((uint64_t)VT_MAX_MIRRORS, VT_FILE_BUDGET / area_len - 1);
}

/* Raises *p to v unless it is already at least v; never lowers it. */
static void cas_max(uint64_t *p, uint64_t v)
{
	uint64_t cur = __atomic_load_n(p, __ATOMIC_RELAXED);

	while (cur < v &&
	       !__atomic_compare_exchange_n(p, &cur, v, true, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		;
}

static void fill_header(struct vfsd_vt_header *h, uint64_t nslots)
{
	memcpy(h->magic, VFSD_VT_MAGIC, sizeof(h->magic));
	h->layout = VFSD_VT_LAYOUT;
	h->header_size = VFSD_VT_HDR_SIZE;
	h->nslots = nslots;
}

/* A new table file under a temporary name in dirfd, linked to `name` unless one exists. */
static int create_table(int dirfd, const char *name, uint64_t nslots)
{
	char tmp[64];
	uint64_t area_len = vt_area_len(nslots);
	unsigned maxm = max_mirrors_for(area_len);
	uint64_t size = file_len(area_len, maxm, nslots);
	struct vt_master *m;
	void *p;
	int fd, r = 0;

	for (unsigned tries = 0;; tries++) {
		snprintf(tmp, sizeof(tmp), ".vfsd-vt-%d-%u-%u", getpid(), tries,
			 (unsigned)random());
		fd = openat(dirfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd >= 0)
			break;
		if (errno != EEXIST || tries > 100)
			return -errno;
	}
	if (ftruncate(fd, (off_t)size) < 0) {
		r = -errno;
		goto out;
	}
	p = mmap(NULL, VFSD_VT_HDR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		r = -errno;
		goto out;
	}
	fill_header(p, nslots);
	m = (struct vt_master *)((uint8_t *)p + VT_MASTER_OFFSET);
	memcpy(m->magic, VT_MASTER_MAGIC, sizeof(m->magic));
	m->layout = VT_FILE_LAYOUT;
	m->max_mirrors = maxm;
	m->area_len = area_len;
	m->epoch_ns = vt_now_ns();
	munmap(p, VFSD_VT_HDR_SIZE);
	/* link() never replaces: whoever linked first won, the others open its file. */
	if (linkat(dirfd, tmp, dirfd, name, 0) < 0 && errno != EEXIST)
		r = -errno;
out:
	unlinkat(dirfd, tmp, 0);
	close(fd);
	return r;
}

/* What a file that is not (or not quite) this daemon's table holds, for the messages. */
struct vt_found {
	uint32_t layout;
	uint64_t nslots;
};

/* 0: a table this daemon can use. -ESTALE: a table file made by vfsd (both magics) but of
 * another layout, size or slot count, e.g. left by an older vfsd. -EINVAL: anything else. */
static int validate(struct vt_table *t, const struct stat *st, uint64_t want_nslots,
		    struct vt_found *found)
{
	struct vfsd_vt_header h;
	struct vt_master m;
	uint8_t page[VFSD_VT_HDR_SIZE];

	if (!S_ISREG(st->st_mode) || (uint64_t)st->st_size < VFSD_VT_HDR_SIZE)
		return -EINVAL;
	if (pread(t->fd, page, sizeof(page), 0) != (ssize_t)sizeof(page))
		return -EINVAL;
	memcpy(&h, page, sizeof(h));
	memcpy(&m, page + VT_MASTER_OFFSET, sizeof(m));
	/* Every layout so far starts both areas with these magics (and locks mirror bytes). */
	if (memcmp(h.magic, VFSD_VT_MAGIC, 8) != 0 || memcmp(m.magic, VT_MASTER_MAGIC, 8) != 0)
		return -EINVAL;
	found->layout = m.layout;
	found->nslots = h.nslots;
	if (h.layout != VFSD_VT_LAYOUT || h.header_size != VFSD_VT_HDR_SIZE ||
	    m.layout != VT_FILE_LAYOUT || h.nslots < 1 || h.nslots > VT_SLOTS_MAX ||
	    m.area_len != vt_area_len(h.nslots) || m.max_mirrors != max_mirrors_for(m.area_len) ||
	    (uint64_t)st->st_size != file_len(m.area_len, m.max_mirrors, h.nslots))
		return -ESTALE;
	if (want_nslots && want_nslots != h.nslots)
		return -ESTALE;
	t->nslots = h.nslots;
	t->area_len = m.area_len;
	t->max_mirrors = m.max_mirrors;
	t->times_off = (uint64_t)(m.max_mirrors + 1) * m.area_len;
	t->map_len = (uint64_t)st->st_size;
	return 0;
}

static bool mirror_is_live(const struct vt_table *t, unsigned i)
{
	return __atomic_load_n(&master(t)->live[i / 64], __ATOMIC_SEQ_CST) & (1ull << (i % 64));
}

static void set_live(struct vt_table *t, unsigned i, bool on)
{
	uint64_t bit = 1ull << (i % 64);

	if (on)
		__atomic_fetch_or(&master(t)->live[i / 64], bit, __ATOMIC_SEQ_CST);
	else
		__atomic_fetch_and(&master(t)->live[i / 64], ~bit, __ATOMIC_SEQ_CST);
}

static void drop_area(struct vt_table *t, unsigned i)
{
	set_live(t, i, false);
	/* Zero pages for whoever claims the area next (nobody else maps it, see lock_area()). */
	(void)fallocate(t->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			(off_t)((uint64_t)i * t->area_len), (off_t)t->area_len);
}

/*
 * The OFD write lock on byte i of the file is held by whoever owns area i. The daemon hands its
 * QEMU this very open file description for SHMEM_MAP (vt_mirror()), and a mapping holds a
 * reference to it; OFD locks go only when the last reference does. So the lock outlives a dead
 * daemon for as long as its QEMU still maps the area (or holds the fd), and a free lock means
 * that no guest can reach the area any more: then, and only then, it may be reused.
 */
static int lock_area(struct vt_table *t, unsigned i, bool lock)
{
	struct flock fl = {
		.l_type = lock ? F_WRLCK : F_UNLCK, .l_whence = SEEK_SET, .l_start = i, .l_len = 1};

	return fcntl(t->fd, F_OFD_SETLK, &fl) == 0 ? 0 : -errno;
}

/* Live areas nobody holds any more (their daemon and its QEMU are gone) are dropped. The lock
 * is taken while dropping, so that nobody claims the area half-way. */
static void reap_dead(struct vt_table *t)
{
	for (unsigned i = 1; i <= t->max_mirrors; i++) {
		if (i == t->mine || !mirror_is_live(t, i) || lock_area(t, i, true) < 0)
			continue;
		if (mirror_is_live(t, i)) {
			log_info("coherence: mirror %u: its daemon and guest are gone, area freed",
				 i);
			drop_area(t, i);
		}
		lock_area(t, i, false);
	}
}

/* Takes an area that was handed out before and that no process holds any more (0), else -EAGAIN. */
static int reuse_area(struct vt_table *t)
{
	uint64_t used = MIN(__atomic_load_n(&master(t)->next_mirror, __ATOMIC_SEQ_CST),
			    (uint64_t)t->max_mirrors);

	for (unsigned i = 1; i <= used; i++) {
		if (lock_area(t, i, true) < 0)
			continue;
		/* Whatever the last guest left in it goes: a guest may have written anything. */
		drop_area(t, i);
		t->mine = i;
		return 0;
	}
	return -EAGAIN;
}

static int claim_mirror(struct vt_table *t)
{
	struct vfsd_vt_header *mh = area_hdr(t, 0), *h;
	uint64_t *ms = area_slots(t, 0), *s;

	while (reuse_area(t) < 0) {
		uint64_t n = __atomic_fetch_add(&master(t)->next_mirror, 1, __ATOMIC_SEQ_CST) + 1;
		int r;

		if (n > t->max_mirrors) {
			/* Someone may have let go of an area meanwhile. */
			if (reuse_area(t) == 0)
				break;
			return -ENOSPC;
		}
		r = lock_area(t, (unsigned)n, true);
		if (r == 0) {
			t->mine = (unsigned)n;
			break;
		}
		if (r != -EAGAIN && r != -EACCES)
			return r;
	}
	h = area_hdr(t, t->mine);
	s = area_slots(t, t->mine);
	fill_header(h, t->nslots);
	/* Live first, so that bumps from now on reach this area; then catch up with the master:
	 * a bump that this copy misses was made after the bit was visible and raises it itself. */
	set_live(t, t->mine, true);
	cas_max((uint64_t *)&h->epoch, __atomic_load_n(&mh->epoch, __ATOMIC_SEQ_CST));
	for (uint64_t i = 0; i < t->nslots; i++)
		cas_max(&s[i], __atomic_load_n(&ms[i], __ATOMIC_SEQ_CST));
	reap_dead(t);
	return 0;
}

static int default_path(int share_fd, char *buf, size_t size)
{
	struct stat st;

	if (fstat(share_fd, &st) < 0)
		return -errno;
	if ((size_t)snprintf(buf, size, "/dev/shm/vfsd-vt-%llx", (unsigned long long)st.st_dev) >=
	    size)
		return -ENAMETOOLONG;
	return 0;
}

/* Whether `name` in dirfd (still) is the file open as fd. */
static bool same_file(int dirfd, const char *name, int fd)
{
	struct stat a, b;

	return fstatat(dirfd, name, &a, AT_SYMLINK_NOFOLLOW) == 0 && fstat(fd, &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static int flock_retry(int fd, int op)
{
	while (flock(fd, op) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/*
 * fd is `name`, a table file of another layout or size (validate() said -ESTALE) on which we
 * hold no lock. Removes the name unless a daemon uses the file: 0 (the caller then creates a
 * new table), -EAGAIN (the name changed meanwhile: open it again) or -EBUSY.
 *
 * Two locks make this race-free. Every daemon (since layout 1) holds an OFD write lock on the
 * byte of its mirror index for its lifetime; and a daemon of this version holds flock(LOCK_SH)
 * on the file from before it validates until it holds that byte lock (vt_open()). Under
 * flock(LOCK_EX) nobody is half-way through opening this file, so "no byte locked" means no
 * user, now or later: a starter that opened the file but is still waiting for its LOCK_SH
 * re-checks the name afterwards and finds the new file. link() in create_table() never
 * replaces, so of several daemons replacing at once, one table wins. flock and OFD locks are
 * independent on Linux. Not covered: a daemon older than this check between its open() and
 * its byte lock (it then runs on the removed file, alone; it could not share ours anyway).
 */
static int replace_stale(int dirfd, const char *name, int fd, const char *path,
			 const struct vt_found *found, uint64_t want_nslots)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
	int r;

	r = flock_retry(fd, LOCK_EX);
	if (r < 0)
		return r;
	if (!same_file(dirfd, name, fd))
		return -EAGAIN;
	if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
		return -errno;
	if (fl.l_type != F_UNLCK) {
		char want[48] = "";

		if (want_nslots)
			snprintf(want, sizeof(want), " with %llu slots",
				 (unsigned long long)want_nslots);
		log_error(
			"coherence: the version table %s (layout %u, %llu slots) is in use by a "
			"running vfsd, and this vfsd needs layout %u%s: stop the daemons that use "
			"it, or give this one another --vt-table",
			path, found->layout, (unsigned long long)found->nslots, VT_FILE_LAYOUT,
			want);
		return -EBUSY;
	}
	if (unlinkat(dirfd, name, 0) < 0)
		return -errno;
	log_info("coherence: replaced the unused version table %s (layout %u, %llu slots) by a "
		 "new one of layout %u",
		 path, found->layout, (unsigned long long)found->nslots, VT_FILE_LAYOUT);
	return 0;
}

/* On success, t->fd is the validated table, flock(LOCK_SH)ed: see replace_stale(). */
static int open_file(struct vt_table *t, const char *path, uint64_t nslots)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int dirfd = -1;
	const char *slash = strrchr(path, '/'), *name;
	struct stat st;
	int r;

	if (slash) {
		dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
		if (!dir)
			return -ENOMEM;
		name = slash + 1;
	} else {
		dir = strdup(".");
		if (!dir)
			return -ENOMEM;
		name = path;
	}
	if (!*name)
		return -EINVAL;
	dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	/* Each round either finds the table or sees someone else create or replace it. */
	for (int tries = 0; tries < 16; tries++) {
		struct vt_found found = {0};

		t->fd = safe_close(t->fd);
		t->fd = openat(dirfd, name, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
		if (t->fd < 0) {
			if (errno != ENOENT)
				return -errno;
			r = create_table(dirfd, name, nslots ? nslots : VT_SLOTS_DEFAULT);
			if (r < 0)
				return r;
			continue;
		}
		if (fstat(t->fd, &st) < 0)
			return -errno;
		/* /dev/shm is world-writable: a table someone else made could be prepared to hide
		 * changes. Only our own user's, and not writable by everyone. Checked before any
		 * lock, so that nobody else's file can make us wait. */
		if (st.st_uid != geteuid() || (st.st_mode & S_IWOTH))
			return -EPERM;
		r = flock_retry(t->fd, LOCK_SH);
		if (r < 0)
			return r;
		if (!same_file(dirfd, name, t->fd))
			continue; /* replaced while we waited */
		r = validate(t, &st, nslots, &found);
		if (r != -ESTALE)
			return r;
		r = replace_stale(dirfd, name, t->fd, path, &found, nslots);
		if (r < 0 && r != -EAGAIN)
			return r;
	}
	return -EAGAIN;
}

int vt_open(const struct vt_config *cfg, int share_fd, struct vt_table **ret)
{
	char path[PATH_MAX];
	struct vt_table *t;
	int r;

	if (cfg->nslots > VT_SLOTS_MAX)
		return -EINVAL;
	if (!cfg->path) {
		r = default_path(share_fd, path, sizeof(path));
		if (r < 0)
			return r;
	} else if ((size_t)snprintf(path, sizeof(path), "%s", cfg->path) >= sizeof(path)) {
		return -ENAMETOOLONG;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->fd = -1;
	r = open_file(t, path, cfg->nslots);
	if (r < 0)
		goto fail;
	t->base = mmap(NULL, t->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, t->fd,
		       0);
	if (t->base == MAP_FAILED) {
		t->base = NULL;
		r = -errno;
		goto fail;
	}
	r = claim_mirror(t);
	if (r < 0)
		goto fail;
	/* Our byte lock now marks the file in use; nothing else needs the open lock. */
	(void)flock(t->fd, LOCK_UN);
	log_info("coherence: table %s, %llu slots, mirror %u of %u", path,
		 (unsigned long long)t->nslots, t->mine, t->max_mirrors);
	*ret = t;
	return 0;
fail:
	if (t->base)
		munmap(t->base, t->map_len);
	safe_close(t->fd);
	free(t);
	return r;
}

void vt_release(struct vt_table *t)
{
	if (!t)
		return;
	munmap(t->base, t->map_len);
	close(t->fd);
	free(t);
}

void vt_close(struct vt_table *t)
{
	if (t && t->mine)
		drop_area(t, t->mine);
	vt_release(t);
}

uint64_t vt_nslots(const struct vt_table *t)
{
	return t->nslots;
}

unsigned vt_mirror_index(const struct vt_table *t)
{
	return t->mine;
}

/* FNV-1a, then a final avalanche so that the low bits depend on every byte. */
static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static uint32_t to_slot(const struct vt_table *t, uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return (uint32_t)(h % t->nslots);
}

uint32_t vt_slot_from_handle(const struct vt_table *t, int handle_type, const void *handle,
			     size_t len)
{
	uint32_t type = (uint32_t)handle_type;
	uint64_t h = hash_bytes(0xcbf29ce484222325ull, "H", 1);

	h = hash_bytes(h, &type, sizeof(type));
	return to_slot(t, hash_bytes(h, handle, len));
}

uint32_t vt_slot_from_ino(const struct vt_table *t, uint64_t dev, uint64_t ino)
{
	uint64_t h = hash_bytes(0xcbf29ce484222325ull, "I", 1);

	h = hash_bytes(h, &dev, sizeof(dev));
	return to_slot(t, hash_bytes(h, &ino, sizeof(ino)));
}

int vt_slot_at(struct vt_table *t, int dirfd, const char *name, uint32_t *ret)
{
	const char *n = name ? name : "";
	struct vt_fid fid;
	struct stat st;
	int r;

	/* The same bytes the host change watch reports (fid.h), so both sides hash alike. */
	r = *n ? vt_fid_at(dirfd, n, &fid) : vt_fid_of_fd(dirfd, &fid);
	if (r == 0) {
		*ret = vt_slot_from_handle(t, fid.type, fid.bytes, fid.len);
		return 0;
	}
	if (r != -EOPNOTSUPP && r != -ENOSYS && r != -EOVERFLOW)
		return r;
	if (fstatat(dirfd, n, &st, AT_SYMLINK_NOFOLLOW | (*n ? 0 : AT_EMPTY_PATH)) < 0)
		return -errno;
	*ret = vt_slot_from_ino(t, st.st_dev, st.st_ino);
	return 0;
}

uint64_t vt_read(struct vt_table *t, uint32_t slot)
{
	uint32_t s = (uint32_t)(slot % t->nslots);

	return __atomic_load_n(&area_slots(t, 0)[s], __ATOMIC_ACQUIRE) +
	       __atomic_load_n(&area_hdr(t, 0)->epoch, __ATOMIC_ACQUIRE);
}

/* Raises the u64 at byte `off` of every live mirror area (ours included) to v. */
static void raise_mirrors(struct vt_table *t, uint64_t off, uint64_t v)
{
	for (unsigned w = 0; w < ARRAY_SIZE(master(t)->live); w++) {
		uint64_t bits = __atomic_load_n(&master(t)->live[w], __ATOMIC_SEQ_CST);

		while (bits) {
			unsigned i = w * 64 + (unsigned)__builtin_ctzll(bits);

			bits &= bits - 1;
			if (i >= 1 && i <= t->max_mirrors)
				cas_max((uint64_t *)(t->base + (uint64_t)i * t->area_len + off), v);
		}
	}
}

uint64_t vt_bump(struct vt_table *t, uint32_t slot)
{
	uint32_t s = (uint32_t)(slot % t->nslots);
	uint64_t v = __atomic_add_fetch(&area_slots(t, 0)[s], 1, __ATOMIC_SEQ_CST);

	raise_mirrors(t, VFSD_VT_HDR_SIZE + (uint64_t)s * sizeof(uint64_t), v);
	cas_max(&bump_times(t)[s], vt_now_ns());
	return v + __atomic_load_n(&area_hdr(t, 0)->epoch, __ATOMIC_ACQUIRE);
}

void vt_bump_epoch(struct vt_table *t)
{
	uint64_t e = __atomic_add_fetch(&area_hdr(t, 0)->epoch, 1, __ATOMIC_SEQ_CST);

	raise_mirrors(t, offsetof(struct vfsd_vt_header, epoch), e);
	cas_max(&master(t)->epoch_ns, vt_now_ns());
}

double vt_age(struct vt_table *t, uint32_t slot)
{
	uint32_t s = (uint32_t)(slot % t->nslots);
	uint64_t last = MAX(__atomic_load_n(&bump_times(t)[s], __ATOMIC_RELAXED),
			    __atomic_load_n(&master(t)->epoch_ns, __ATOMIC_RELAXED));
	uint64_t now = vt_now_ns();

	/* A stamp ahead of our clock (a step back): as if it had just changed. */
	return now > last ? (double)(now - last) / 1e9 : 0.0;
}

double vt_adaptive_timeout(double age, double min, double max)
{
	double t = age / VT_ADAPT_DIVISOR;

	/* Written so that NaN (never expected) gives min. */
	if (!(t > min))
		return min;
	return t < max ? t : max;
}

int vt_mirror(struct vt_table *t, int *ret_fd, uint64_t *ret_offset, uint64_t *ret_len)
{
	*ret_fd = t->fd;
	*ret_offset = (uint64_t)t->mine * t->area_len;
	*ret_len = t->area_len;
	return 0;
}

void vt_set_attach(struct vt_table *t, vt_attach_fn attach, void *opaque)
{
	t->attach = attach;
	t->attach_opaque = opaque;
}

int vt_attach_guest(struct vt_table *t)
{
	int fd;
	uint64_t off, len;

	if (!t->attach)
		return -ENODEV;
	vt_mirror(t, &fd, &off, &len);
	return t->attach(t->attach_opaque, fd, off, len);
}
