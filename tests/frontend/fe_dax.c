// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The VMM side of a virtio-fs DAX cache window, emulating QEMU 11.1 (vhost-user-base with
 * SHMEM, see shared/research/qemu-dax.md): GET_CONFIG and GET_SHMEM_CONFIG at realize, a window
 * reserved PROT_NONE in our address space, and a thread that serves the backend channel:
 *
 * Region 1 (vfsd's version table, docs/coherence.md) is supported beside the window: QEMU lays
 * the regions out one after the other in one BAR, so `window` spans both, region 1 at offset
 * `size`; the total must be a power of two.
 *
 * - SHMEM_MAP is refused (answer 1) without exactly one fd, for a shmid other than 0 or 1, a length
 *   of 0, a range outside the window, an overlap with a live map, an fd_offset that is not a
 *   page multiple, or a file shorter than fd_offset + len. QEMU would extend an empty file
 *   instead: that is refused here and counted (the daemon must never ask). Otherwise the range
 *   is mapped shared and read-write whatever the flags say, as QEMU does.
 * - SHMEM_UNMAP must name a live map exactly.
 * - The answer (only with NEED_REPLY) comes first, then the memory-table update QEMU sends for
 *   the new region: ADD_MEM_REG with the file's fd, REM_MEM_REG for an unmap, each acked.
 *
 * The daemon is under test: every request is checked, and what QEMU would tolerate but a
 * correct daemon never sends (unaligned ranges, empty files) is counted for the tests.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fe_internal.h"
#include "util/macros.h"

#define FE_DAX_PAGE 4096u
/* QEMU 11.1 asserts past 512 memory regions: guest RAM and the window's maps. */
#define FE_DAX_MAX_REGIONS 512u
#define FE_CONFIG_SIZE	   40u /* virtio_fs_config: tag[36], le32 num_request_queues */

struct fe_dax {
	struct vhu_shmem_config shm; /* the GET_SHMEM_CONFIG answer */
	uint8_t config[FE_CONFIG_SIZE];
	uint32_t config_size;
	uint8_t *window; /* the whole BAR: region 0, then region 1 */
	uint64_t size;	 /* region 0 */
	uint64_t size1;	 /* region 1 */

	pthread_t thread;
	bool running;
	int stop_fd;

	pthread_mutex_t lock; /* everything below */
	bool busy;	      /* a request is being served */
	bool hold;	      /* serve nothing until released (fe_dax_hold) */
	bool stopping;
	pthread_cond_t released;
	struct fe_dax_map maps[FE_DAX_MAX_REGIONS];
	unsigned nmaps, max_maps;
	struct fe_dax_stats st;
};

static bool page_aligned(uint64_t v)
{
	return (v & (FE_DAX_PAGE - 1)) == 0;
}

/* Where a region's offset lies in the BAR. */
static uint64_t bar_off(const struct fe_dax *d, uint8_t shmid, uint64_t off)
{
	return (shmid ? d->size : 0) + off;
}

static uint64_t region_size(const struct fe_dax *d, uint8_t shmid)
{
	return shmid == 0 ? d->size : shmid == 1 ? d->size1 : 0;
}

static int get_config(struct fe *fe, struct fe_dax *d)
{
	uint8_t buf[sizeof(struct vhu_config_hdr) + FE_CONFIG_SIZE];
	struct vhu_config_hdr h = {.offset = 0, .size = FE_CONFIG_SIZE};
	struct vhu_config_hdr got;
	uint32_t size;
	int r;

	memcpy(buf, &h, sizeof(h));
	memset(buf + sizeof(h), 0, FE_CONFIG_SIZE);
	r = fe_vhu_query(fe, VHU_GET_CONFIG, buf, sizeof(buf), buf, sizeof(buf), &size);
	if (r < 0)
		return r;
	memcpy(&got, buf, sizeof(got));
	/* QEMU takes a reply of another size as a failure; so do we. */
	if (size != sizeof(buf) || got.offset != 0 || got.size != FE_CONFIG_SIZE) {
		fprintf(stderr, "fe: GET_CONFIG reply of %u bytes\n", size);
		return -EPROTO;
	}
	memcpy(d->config, buf + sizeof(h), FE_CONFIG_SIZE);
	d->config_size = FE_CONFIG_SIZE;
	return 0;
}

/* The shared memory regions; QEMU refuses sizes that are not page multiples, and aborts on a
 * window that is not a power of two (it becomes a PCI BAR). */
static int get_shmem_config(struct fe *fe, struct fe_dax *d)
{
	uint32_t size;
	unsigned nonzero = 0;
	uint64_t total;
	int r = fe_vhu_query(fe, VHU_GET_SHMEM_CONFIG, NULL, 0, &d->shm, sizeof(d->shm), &size);

	if (r < 0)
		return r;
	if (size != sizeof(d->shm)) {
		fprintf(stderr, "fe: GET_SHMEM_CONFIG reply of %u bytes\n", size);
		return -EPROTO;
	}
	for (unsigned i = 0; i < VHU_MAX_SHMEM_REGIONS; i++)
		nonzero += d->shm.memory_sizes[i] != 0;
	d->size = d->shm.memory_sizes[0];
	d->size1 = d->shm.memory_sizes[1];
	total = d->size + d->size1;
	if (nonzero != d->shm.nregions || nonzero != (unsigned)((d->size != 0) + (d->size1 != 0)) ||
	    !page_aligned(d->size | d->size1) || (total & (total - 1))) {
		fprintf(stderr, "fe: GET_SHMEM_CONFIG: %u regions, cache %#llx, region 1 %#llx\n",
			d->shm.nregions, (unsigned long long)d->size, (unsigned long long)d->size1);
		return -EPROTO;
	}
	if (!total)
		return 0;
	d->window =
		mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (d->window == MAP_FAILED) {
		d->window = NULL;
		return -errno;
	}
	return 0;
}

int fe_dax_negotiate(struct fe *fe)
{
	struct fe_dax *d = calloc(1, sizeof(*d));
	int r;

	if (!d)
		return -ENOMEM;
	d->stop_fd = -1;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->released, NULL);
	d->max_maps = FE_DAX_MAX_REGIONS - fe->nregions;
	fe->dax = d;
	if ((fe->protocol_features & (1ull << VHU_PROTO_CONFIG)) && (r = get_config(fe, d)) < 0)
		return r;
	if (fe->protocol_features & (1ull << VHU_PROTO_SHMEM))
		return get_shmem_config(fe, d);
	return 0;
}

/* The map list is kept ordered by shm_offset. */
static struct fe_dax_map *find_map(struct fe_dax *d, uint8_t shmid, uint64_t off, uint64_t len)
{
	for (unsigned i = 0; i < d->nmaps; i++)
		if (d->maps[i].shmid == shmid && d->maps[i].shm_offset == off &&
		    d->maps[i].len == len)
			return &d->maps[i];
	return NULL;
}

static bool overlaps_live(const struct fe_dax *d, uint8_t shmid, uint64_t off, uint64_t len)
{
	for (unsigned i = 0; i < d->nmaps; i++)
		if (d->maps[i].shmid == shmid && d->maps[i].shm_offset < off + len &&
		    off < d->maps[i].shm_offset + d->maps[i].len)
			return true;
	return false;
}

static void insert_map(struct fe_dax *d, const struct fe_dax_map *m)
{
	unsigned i = d->nmaps;

	while (i > 0 && bar_off(d, d->maps[i - 1].shmid, d->maps[i - 1].shm_offset) >
				bar_off(d, m->shmid, m->shm_offset)) {
		d->maps[i] = d->maps[i - 1];
		i--;
	}
	d->maps[i] = *m;
	d->nmaps++;
	d->st.live = d->nmaps;
	d->st.max_live = MAX(d->st.max_live, d->st.live);
}

static void remove_map(struct fe_dax *d, struct fe_dax_map *m)
{
	unsigned i = (unsigned)(m - d->maps);

	safe_close(m->fd);
	memmove(m, m + 1, (d->nmaps - i - 1) * sizeof(*m));
	d->nmaps--;
	d->st.live = d->nmaps;
}

static void *window_hole(struct fe_dax *d, const struct fe_dax_map *m)
{
	return mmap(d->window + bar_off(d, m->shmid, m->shm_offset), m->len, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
}

static struct vhu_mem_reg_one window_region(struct fe_dax *d, const struct fe_dax_map *m)
{
	return (struct vhu_mem_reg_one){
		.region = {
			.guest_phys_addr = FE_DAX_WINDOW_GPA + bar_off(d, m->shmid, m->shm_offset),
			.memory_size = m->len,
			.userspace_addr = (uint64_t)(uintptr_t)(d->window + bar_off(d, m->shmid,
										    m->shm_offset)),
			.mmap_offset = m->fd_offset,
		}};
}

/* QEMU's checks, roughly in its order. Returns the counter to blame, NULL to map. */
static unsigned *map_refusal(struct fe_dax *d, const struct vhu_shmem_map *req, int fd,
			     const struct stat *st)
{
	uint64_t size = region_size(d, req->shmid);

	if (fd < 0 || req->len == 0 || !size || req->len > size ||
	    req->shm_offset > size - req->len)
		return &d->st.bad;
	if (overlaps_live(d, req->shmid, req->shm_offset, req->len))
		return &d->st.overlaps;
	/* QEMU refuses an unaligned fd_offset; shm_offset and len it takes as they come, but a
	 * map there would be a misaligned memslot: a correct daemon never asks. */
	if (!page_aligned(req->fd_offset | req->shm_offset | req->len))
		return &d->st.misaligned;
	if (!S_ISREG(st->st_mode))
		return &d->st.bad;
	if (st->st_size == 0) {
		fprintf(stderr, "fe: daemon mapped an empty file (QEMU would extend it)\n");
		return &d->st.empty_files;
	}
	if ((uint64_t)st->st_size < req->fd_offset ||
	    (uint64_t)st->st_size - req->fd_offset < req->len)
		return &d->st.past_eof;
	if (d->nmaps >= d->max_maps) {
		fprintf(stderr, "fe: more than %u window maps: QEMU would abort\n", d->max_maps);
		return &d->st.bad;
	}
	return NULL;
}

/* 0 when mapped; the map's memory-table update is left to the caller (after the answer). */
static int do_map(struct fe_dax *d, const struct vhu_shmem_map *req, int fd, struct fe_dax_map *ret)
{
	struct stat st = {0};
	unsigned *why;
	int own = -1;
	void *p;

	if (fd >= 0 && fstat(fd, &st) < 0)
		fd = -1;
	pthread_mutex_lock(&d->lock);
	why = map_refusal(d, req, fd, &st);
	if (!why) {
		p = mmap(d->window + bar_off(d, req->shmid, req->shm_offset), req->len,
			 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, (off_t)req->fd_offset);
		if (p == MAP_FAILED) {
			/* QEMU too: an O_RDONLY fd cannot be mapped shared read-write. */
			fprintf(stderr, "fe: SHMEM_MAP: mmap: %s\n", strerror(errno));
			why = &d->st.bad;
		} else if ((own = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0) {
			struct fe_dax_map hole = {.shmid = req->shmid,
						  .shm_offset = req->shm_offset,
						  .len = req->len};

			why = &d->st.bad;
			window_hole(d, &hole);
		}
	}
	if (why) {
		(*why)++;
		d->st.refused++;
		pthread_mutex_unlock(&d->lock);
		return -1;
	}
	*ret = (struct fe_dax_map){.shmid = req->shmid,
				   .shm_offset = req->shm_offset,
				   .len = req->len,
				   .fd_offset = req->fd_offset,
				   .flags = req->flags,
				   .dev = st.st_dev,
				   .ino = st.st_ino,
				   .fd = own};
	insert_map(d, ret);
	d->st.maps++;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

/* Whether the file was cut short under the map: a guest access there would fault. */
static bool past_eof(const struct fe_dax_map *m)
{
	struct stat st;

	return fstat(m->fd, &st) == 0 && (uint64_t)st.st_size < m->fd_offset + m->len;
}

static int do_unmap(struct fe_dax *d, const struct vhu_shmem_map *req, struct fe_dax_map *ret)
{
	struct fe_dax_map *m;
	int r = -1;

	pthread_mutex_lock(&d->lock);
	m = find_map(d, req->shmid, req->shm_offset, req->len);
	if (m && past_eof(m))
		d->st.stale++;
	if (m && window_hole(d, m) != MAP_FAILED) {
		*ret = *m;
		remove_map(d, m);
		d->st.unmaps++;
		r = 0;
	} else {
		d->st.unmatched += !m;
		d->st.bad += m != NULL;
		d->st.refused++;
	}
	pthread_mutex_unlock(&d->lock);
	return r;
}

static void count_memreg_error(struct fe_dax *d, uint32_t request, int r)
{
	fprintf(stderr, "fe: %s for a window map: %s\n",
		request == VHU_ADD_MEM_REG ? "ADD_MEM_REG" : "REM_MEM_REG", strerror(-r));
	pthread_mutex_lock(&d->lock);
	d->st.memreg_errors++;
	pthread_mutex_unlock(&d->lock);
}

/* What QEMU's memory listener sends after the answer: the window region, acked. */
static void memreg_update(struct fe *fe, bool add, const struct fe_dax_map *m, int fd)
{
	struct vhu_mem_reg_one one = window_region(fe->dax, m);
	int r;

	if (!(fe->protocol_features & (1ull << VHU_PROTO_CONFIGURE_MEM_SLOTS))) {
		/* QEMU would resend the whole table; the daemon gives no window without slots. */
		r = -EOPNOTSUPP;
	} else if (add) {
		r = fe_vhu_call(fe, VHU_ADD_MEM_REG, &one, sizeof(one), &fd, 1, NULL);
	} else {
		/* QEMU sends the region without fd and with mmap_offset 0. */
		one.region.mmap_offset = 0;
		r = fe_vhu_call(fe, VHU_REM_MEM_REG, &one, sizeof(one), NULL, 0, NULL);
	}
	if (r < 0)
		count_memreg_error(fe->dax, add ? VHU_ADD_MEM_REG : VHU_REM_MEM_REG, r);
}

static int answer(struct fe *fe, const struct vhu_hdr *req, uint64_t value)
{
	struct {
		struct vhu_hdr h;
		uint64_t value;
	} __attribute__((packed)) rep = {
		.h = {.request = req->request,
		      .flags = VHU_VERSION | VHU_FLAG_REPLY,
		      .size = sizeof(uint64_t)},
		.value = value,
	};
	ssize_t n;

	if (!(req->flags & VHU_FLAG_NEED_REPLY))
		return 0;
	do
		n = send(fe->backend_fd, &rep, sizeof(rep), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(rep) ? 0 : -EPIPE;
}

/* One request: header with its fds, then the payload. 0, or -errno to end the thread. */
static int recv_request(struct fe *fe, struct vhu_hdr *h, struct vhu_shmem_map *req, int *fds,
			int *ret_nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VHU_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = h, .iov_len = sizeof(*h)};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	ssize_t n;
	int nfds = 0;

	do
		n = recvmsg(fe->backend_fd, &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n == 0 ? -ECONNRESET : -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (int i = 0; i < k && nfds < VHU_MAX_FDS; i++)
			memcpy(&fds[nfds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
	}
	*ret_nfds = nfds;
	if ((size_t)n != sizeof(*h))
		return -EPROTO;
	if (h->size > sizeof(*req)) {
		fprintf(stderr, "fe: backend request %u with %u bytes\n", h->request, h->size);
		return -EPROTO;
	}
	memset(req, 0, sizeof(*req));
	return fe_read_full(fe->backend_fd, req, h->size, fe->opts.timeout_ms);
}

static void count_bad(struct fe_dax *d)
{
	pthread_mutex_lock(&d->lock);
	d->st.bad++;
	d->st.refused++;
	pthread_mutex_unlock(&d->lock);
}

static void serve_one(struct fe *fe, const struct vhu_hdr *h, const struct vhu_shmem_map *req,
		      const int *fds, int nfds)
{
	struct fe_dax *d = fe->dax;
	bool shaped = h->size == sizeof(*req) && (h->flags & 0x3) == VHU_VERSION;
	bool map = h->request == VHU_BACKEND_SHMEM_MAP;
	struct fe_dax_map m;
	int r = -1;

	/* do_map() and do_unmap() count their own refusals. */
	if (shaped && map)
		r = do_map(d, req, nfds == 1 ? fds[0] : -1, &m);
	else if (shaped && h->request == VHU_BACKEND_SHMEM_UNMAP && nfds == 0)
		r = do_unmap(d, req, &m);
	else
		count_bad(d);
	if (answer(fe, h, r == 0 ? 0 : 1) < 0)
		fprintf(stderr, "fe: cannot answer backend request %u\n", h->request);
	if (r == 0)
		memreg_update(fe, map, &m, map ? fds[0] : -1);
}

static void set_busy(struct fe_dax *d, bool busy)
{
	pthread_mutex_lock(&d->lock);
	d->busy = busy;
	pthread_mutex_unlock(&d->lock);
}

/* Counts the request and waits while held; false when the thread is to stop. */
static bool wait_released(struct fe_dax *d)
{
	bool go;

	pthread_mutex_lock(&d->lock);
	d->st.received++;
	while (d->hold && !d->stopping)
		pthread_cond_wait(&d->released, &d->lock);
	go = !d->stopping;
	pthread_mutex_unlock(&d->lock);
	return go;
}

void fe_dax_hold(struct fe *fe, bool hold)
{
	struct fe_dax *d = fe->dax;

	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	d->hold = hold;
	pthread_cond_broadcast(&d->released);
	pthread_mutex_unlock(&d->lock);
}

static void *serve_backend(void *arg)
{
	struct fe *fe = arg;
	struct fe_dax *d = fe->dax;

	for (;;) {
		struct pollfd p[2] = {{.fd = d->stop_fd, .events = POLLIN},
				      {.fd = fe->backend_fd, .events = POLLIN}};
		struct vhu_shmem_map req;
		struct vhu_hdr h;
		int fds[VHU_MAX_FDS], nfds = 0, r;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		if (!p[1].revents)
			continue;
		set_busy(d, true);
		r = recv_request(fe, &h, &req, fds, &nfds);
		if (r == 0 && wait_released(d))
			serve_one(fe, &h, &req, fds, nfds);
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		set_busy(d, false);
		if (r < 0) {
			if (r != -ECONNRESET)
				fprintf(stderr, "fe: backend channel: %s\n", strerror(-r));
			break;
		}
	}
	set_busy(d, false);
	return NULL;
}

int fe_dax_start(struct fe *fe)
{
	struct fe_dax *d = fe->dax;
	int r;

	if (!d || fe->backend_fd < 0)
		return 0;
	d->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (d->stop_fd < 0)
		return -errno;
	r = pthread_create(&d->thread, NULL, serve_backend, fe);
	if (r != 0)
		return -r;
	d->running = true;
	return 0;
}

int fe_dax_reset(struct fe *fe)
{
	struct fe_dax *d = fe->dax;
	struct fe_dax_map m;
	int r = 0;

	for (;;) {
		pthread_mutex_lock(&d->lock);
		if (d->nmaps == 0) {
			pthread_mutex_unlock(&d->lock);
			return r;
		}
		m = d->maps[d->nmaps - 1];
		if (window_hole(d, &m) == MAP_FAILED)
			r = -errno;
		remove_map(d, &d->maps[d->nmaps - 1]);
		pthread_mutex_unlock(&d->lock);
		memreg_update(fe, false, &m, -1);
	}
}

void fe_dax_free(struct fe *fe)
{
	struct fe_dax *d = fe->dax;

	if (!d)
		return;
	if (d->running) {
		pthread_mutex_lock(&d->lock);
		d->stopping = true;
		pthread_cond_broadcast(&d->released);
		pthread_mutex_unlock(&d->lock);
		(void)eventfd_write(d->stop_fd, 1);
		pthread_join(d->thread, NULL);
	}
	safe_close(d->stop_fd);
	while (d->nmaps > 0)
		remove_map(d, &d->maps[d->nmaps - 1]);
	if (d->window)
		munmap(d->window, d->size + d->size1);
	pthread_cond_destroy(&d->released);
	pthread_mutex_destroy(&d->lock);
	free(d);
	fe->dax = NULL;
}

uint64_t fe_dax_window_size(const struct fe *fe)
{
	return fe->dax ? fe->dax->size : 0;
}

uint8_t *fe_dax_window(const struct fe *fe)
{
	return fe->dax ? fe->dax->window : NULL;
}

const struct vhu_shmem_config *fe_dax_shmem_config(const struct fe *fe)
{
	static const struct vhu_shmem_config none;

	return fe->dax ? &fe->dax->shm : &none;
}

const void *fe_dax_config(const struct fe *fe, uint32_t *ret_size)
{
	*ret_size = fe->dax ? fe->dax->config_size : 0;
	return fe->dax ? fe->dax->config : NULL;
}

unsigned fe_dax_maps(struct fe *fe, struct fe_dax_map *ret, unsigned max)
{
	struct fe_dax *d = fe->dax;
	unsigned n;

	if (!d)
		return 0;
	pthread_mutex_lock(&d->lock);
	n = d->nmaps;
	memcpy(ret, d->maps, MIN(n, max) * sizeof(*ret));
	pthread_mutex_unlock(&d->lock);
	return n;
}

void fe_dax_stats(struct fe *fe, struct fe_dax_stats *ret)
{
	struct fe_dax *d = fe->dax;

	memset(ret, 0, sizeof(*ret));
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	*ret = d->st;
	pthread_mutex_unlock(&d->lock);
}

int fe_dax_settle(struct fe *fe, int timeout_ms)
{
	struct fe_dax *d = fe->dax;

	if (!d || !d->running)
		return 0;
	for (int waited = 0;; waited += 5) {
		struct pollfd p = {.fd = fe->backend_fd, .events = POLLIN};
		/* Polled first: the thread is busy from before it reads a request. */
		bool pending = poll(&p, 1, 0) != 0, busy, held;

		pthread_mutex_lock(&d->lock);
		busy = d->busy;
		held = d->hold;
		pthread_mutex_unlock(&d->lock);
		if (!pending && !busy)
			return 0;
		if (held)
			return -EBUSY;
		if (waited >= timeout_ms)
			return -ETIMEDOUT;
		usleep(5000);
	}
}

/* Whether [off, off + len) is covered by live maps without a gap. */
static bool covered(struct fe_dax *d, uint64_t off, uint64_t len)
{
	bool ok = true;

	pthread_mutex_lock(&d->lock);
	for (uint64_t end = off + len; ok && off < end;) {
		ok = false;
		for (unsigned i = 0; i < d->nmaps; i++) {
			const struct fe_dax_map *m = &d->maps[i];
			if (m->shmid == 0 && m->shm_offset <= off && off < m->shm_offset + m->len) {
				off = m->shm_offset + m->len;
				ok = true;
				break;
			}
		}
	}
	pthread_mutex_unlock(&d->lock);
	return ok;
}

static sigjmp_buf fault_jmp;

static void on_fault(int sig)
{
	siglongjmp(fault_jmp, sig);
}

/* memcpy that turns SIGBUS (a map past its file's end) and SIGSEGV into -EFAULT. */
static int guarded_copy(void *dst, const void *src, size_t len)
{
	struct sigaction sa = {.sa_handler = on_fault}, old_bus, old_segv;
	volatile int r = 0;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &old_bus);
	sigaction(SIGSEGV, &sa, &old_segv);
	if (sigsetjmp(fault_jmp, 1) == 0)
		memcpy(dst, src, len);
	else
		r = -EFAULT;
	sigaction(SIGBUS, &old_bus, NULL);
	sigaction(SIGSEGV, &old_segv, NULL);
	return r;
}

static int window_copy(struct fe *fe, uint64_t off, void *buf, size_t len, bool to_window)
{
	struct fe_dax *d = fe->dax;

	if (!d || !d->window || len > d->size || off > d->size - len || !covered(d, off, len))
		return -EFAULT;
	if (to_window)
		return guarded_copy(d->window + off, buf, len);
	return guarded_copy(buf, d->window + off, len);
}

int fe_dax_read(struct fe *fe, uint64_t off, void *buf, size_t len)
{
	return window_copy(fe, off, buf, len, false);
}

int fe_dax_write(struct fe *fe, uint64_t off, const void *buf, size_t len)
{
	return window_copy(fe, off, (void *)buf, len, true);
}

const volatile uint8_t *fe_shm_region1(struct fe *fe, uint64_t *ret_size)
{
	struct fe_dax *d = fe->dax;
	bool whole = false;

	*ret_size = 0;
	if (!d || !d->window || !d->size1)
		return NULL;
	pthread_mutex_lock(&d->lock);
	for (unsigned i = 0; i < d->nmaps && !whole; i++)
		whole = d->maps[i].shmid == 1 && d->maps[i].shm_offset == 0 &&
			d->maps[i].len == d->size1;
	pthread_mutex_unlock(&d->lock);
	if (!whole)
		return NULL;
	*ret_size = d->size1;
	return d->window + d->size;
}

uint64_t fe_shm_region1_fd_offset(struct fe *fe)
{
	struct fe_dax *d = fe->dax;
	uint64_t off = UINT64_MAX;

	if (!d || !d->window || !d->size1)
		return off;
	pthread_mutex_lock(&d->lock);
	for (unsigned i = 0; i < d->nmaps; i++)
		if (d->maps[i].shmid == 1 && d->maps[i].shm_offset == 0 &&
		    d->maps[i].len == d->size1)
			off = d->maps[i].fd_offset;
	pthread_mutex_unlock(&d->lock);
	return off;
}
