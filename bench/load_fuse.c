/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The FUSE side of bench/load: `depth` slots, each running one operation at a time as a small
 * state machine (OPEN then RELEASE, CREATE then RELEASE then UNLINK, OPENDIR then READDIRPLUS
 * until the end then RELEASEDIR). Every slot always has exactly one request in flight, so the
 * request queue holds `depth` requests. Completions are reaped in batches as the guest driver's
 * interrupt handler would, and each one immediately refills its slot.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fe_fuse.h"
#include "load.h"
#include "util/macros.h"

#define FORGET_BATCH 256u

struct create_reply {
	struct fuse_entry_out entry;
	struct fuse_open_out open;
};

struct slot {
	struct fe_call call; /* first: the completion cookie is the slot */
	unsigned idx, step;
	uint64_t t0, seq;
	unsigned nreqs; /* requests of the current operation so far */
	uint64_t nodeid, fh, dir_off;
	unsigned entries;
	char name[48];
	union {
		struct fuse_attr_out attr;
		struct fuse_entry_out entry;
		struct fuse_open_out open;
		struct create_reply create;
		struct fuse_write_out write;
	} r;
	void *buf; /* READ reply, WRITE payload, READDIRPLUS reply */
};

struct load_fuse {
	struct fe *fe;
	unsigned queue, nqueues; /* request queues [queue, queue + nqueues); slot i uses i % n */
	const int *pids;
	unsigned npids;
	uint64_t data_node, data_fh, write_node, write_fh, cdir_node, bigdir_node;
	uint64_t hits; /* lookup count the daemon holds on data_node beyond ours */
	struct fuse_forget_one forgets[FORGET_BATCH];
	unsigned nforgets;
	const struct load_params *p;
};

static int lookup_node(struct fe *fe, const char *name, uint64_t *ret)
{
	struct fuse_entry_out e;
	int r = fe_lookup(fe, FE_ROOT_ID, name, &e);
	if (r < 0) {
		fprintf(stderr, "load: LOOKUP %s: %s\n", name, strerror(-r));
		return r;
	}
	*ret = e.nodeid;
	return 0;
}

/*
 * Touch all of guest memory on both sides before measuring: 1 MiB READs make us poison and the
 * daemon fill every page once, as the frontend's allocator walks forward through memory. A VM's
 * RAM is populated long before its file system is busy; the first-touch page faults are not
 * what this benchmark is about.
 */
static int prefault(struct load_fuse *lf, size_t mem_size)
{
	size_t n = mem_size / LOAD_PREFAULT_IO + 8;
	char *buf = malloc(LOAD_PREFAULT_IO);
	int r = 0;

	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < n && r >= 0; i++) {
		uint64_t off = (uint64_t)i * LOAD_PREFAULT_IO % LOAD_FILE_SIZE;
		r = fe_read(lf->fe, lf->data_node, lf->data_fh, off, buf, LOAD_PREFAULT_IO);
		if (r >= 0 && r != (int)LOAD_PREFAULT_IO)
			r = -EIO;
	}
	free(buf);
	return r < 0 ? r : 0;
}

int load_fuse_new(struct fe *fe, unsigned queue, unsigned nqueues, size_t mem_size,
		  const int *cpu_pids, unsigned ncpu_pids, struct load_fuse **ret)
{
	struct load_fuse *lf = calloc(1, sizeof(*lf));
	struct fuse_open_out o;
	int r;

	if (!lf)
		return -ENOMEM;
	*lf = (struct load_fuse){
		.fe = fe, .queue = queue, .nqueues = nqueues, .pids = cpu_pids, .npids = ncpu_pids};
	fe_fuse_set_queue(fe, queue);
	if ((r = lookup_node(fe, LOAD_DATA_FILE, &lf->data_node)) < 0 ||
	    (r = lookup_node(fe, LOAD_WRITE_FILE, &lf->write_node)) < 0 ||
	    (r = lookup_node(fe, LOAD_CREATE_DIR, &lf->cdir_node)) < 0 ||
	    (r = lookup_node(fe, LOAD_BIG_DIR, &lf->bigdir_node)) < 0)
		goto fail;
	if ((r = fe_open(fe, lf->data_node, O_RDONLY, &o)) < 0)
		goto fail;
	lf->data_fh = o.fh;
	if ((r = fe_open(fe, lf->write_node, O_WRONLY, &o)) < 0)
		goto fail;
	lf->write_fh = o.fh;
	if ((r = prefault(lf, mem_size)) < 0)
		goto fail;
	*ret = lf;
	return 0;
fail:
	fprintf(stderr, "load: setting up the targets: %s\n", strerror(-r));
	free(lf);
	return r;
}

void load_fuse_free(struct load_fuse *lf)
{
	free(lf);
}

static int submit(struct load_fuse *lf, struct slot *s, uint32_t opcode, uint64_t nodeid,
		  const struct iovec *args, int nargs, void *reply, size_t size)
{
	int r = fe_fuse_submit(lf->fe, &s->call, lf->queue + s->idx % lf->nqueues, opcode, nodeid,
			       args, nargs, reply, size);
	if (r < 0)
		fprintf(stderr, "load: submit opcode %u: %s\n", opcode, strerror(-r));
	return r;
}

/* The same checks as fe_fuse_complete(), on a completion we reaped ourselves. */
static int reply_check(struct slot *s, uint32_t used_len, size_t *ret_len)
{
	struct fe_call *c = &s->call;

	if (used_len < sizeof(c->oh) || c->oh.len != used_len || c->oh.unique != c->ih.unique ||
	    c->oh.error > 0 || c->oh.error < -4095 ||
	    (c->oh.error != 0 && c->oh.len != sizeof(c->oh))) {
		fprintf(stderr,
			"load: opcode %u: bad reply: used %u, out.len %u, error %d, unique "
			"%llu/%llu\n",
			c->ih.opcode, used_len, c->oh.len, c->oh.error,
			(unsigned long long)c->oh.unique, (unsigned long long)c->ih.unique);
		return -FE_EBADREPLY;
	}
	*ret_len = c->oh.len - sizeof(c->oh);
	return c->oh.error;
}

static uint64_t io_offset(const struct slot *s, uint32_t size)
{
	/* Slots start far apart and walk the file; LOAD_FILE_SIZE is a multiple of size. */
	return (s->seq + (uint64_t)s->idx * 37u) * size % LOAD_FILE_SIZE;
}

static int release(struct load_fuse *lf, struct slot *s, uint32_t opcode, uint32_t flags)
{
	struct fuse_release_in in = {.fh = s->fh, .flags = flags};
	struct iovec a = IOVS(&in);
	return submit(lf, s, opcode, s->nodeid, &a, 1, NULL, 0);
}

static int readdirplus(struct load_fuse *lf, struct slot *s)
{
	struct fuse_read_in in = {.fh = s->fh, .offset = s->dir_off, .size = LOAD_READDIR_BUF};
	struct iovec a = IOVS(&in);
	return submit(lf, s, FUSE_READDIRPLUS, s->nodeid, &a, 1, s->buf, LOAD_READDIR_BUF);
}

/* Walk one READDIRPLUS reply; 1 at the end of the directory, 0 for more, -errno if malformed. */
static int dirent_walk(struct slot *s, size_t len)
{
	const char *b = s->buf;
	size_t off = 0;

	if (len == 0)
		return 1;
	while (off < len) {
		const struct fuse_direntplus *d = (const void *)(b + off);
		if (len - off < FUSE_NAME_OFFSET_DIRENTPLUS ||
		    len - off < FUSE_DIRENTPLUS_SIZE(d) || d->dirent.namelen == 0)
			return -FE_EBADREPLY;
		bool dot = (d->dirent.namelen == 1 && d->dirent.name[0] == '.') ||
			   (d->dirent.namelen == 2 && !memcmp(d->dirent.name, "..", 2));
		if (!dot)
			s->entries++;
		s->dir_off = d->dirent.off;
		off += FUSE_DIRENTPLUS_SIZE(d);
	}
	return 0;
}

/* Begin a new operation in s. */
static int op_start(struct load_fuse *lf, struct slot *s)
{
	enum load_op op = lf->p->op;
	uint32_t io = load_op_io_size(op);

	s->step = 0;
	s->nreqs = 0;
	s->seq++;
	s->t0 = now_ns();
	switch (op) {
	case LOAD_GETATTR: {
		struct fuse_getattr_in in = {0};
		struct iovec a = IOVS(&in);
		return submit(lf, s, FUSE_GETATTR, lf->data_node, &a, 1, &s->r.attr,
			      sizeof(s->r.attr));
	}
	case LOAD_LOOKUP_HIT:
	case LOAD_LOOKUP_MISS: {
		struct iovec a = IOVNAME(op == LOAD_LOOKUP_HIT ? LOAD_DATA_FILE : LOAD_MISSING);
		return submit(lf, s, FUSE_LOOKUP, FE_ROOT_ID, &a, 1, &s->r.entry,
			      sizeof(s->r.entry));
	}
	case LOAD_OPEN_RELEASE: {
		struct fuse_open_in in = {.flags = O_RDONLY};
		struct iovec a = IOVS(&in);
		s->nodeid = lf->data_node;
		return submit(lf, s, FUSE_OPEN, s->nodeid, &a, 1, &s->r.open, sizeof(s->r.open));
	}
	case LOAD_READ_4K:
	case LOAD_READ_1M: {
		struct fuse_read_in in = {
			.fh = lf->data_fh, .offset = io_offset(s, io), .size = io};
		struct iovec a = IOVS(&in);
		/* The data stays in guest memory, as in a guest's page cache (bulk_in_place). */
		return submit(lf, s, FUSE_READ, lf->data_node, &a, 1, NULL, io);
	}
	case LOAD_WRITE_4K:
	case LOAD_WRITE_1M: {
		struct fuse_write_in in = {
			.fh = lf->write_fh, .offset = io_offset(s, io), .size = io};
		struct iovec a[2] = {IOVS(&in), IOV(NULL, io)};
		return submit(lf, s, FUSE_WRITE, lf->write_node, a, 2, &s->r.write,
			      sizeof(s->r.write));
	}
	case LOAD_CREATE_UNLINK: {
		struct fuse_create_in in = {
			.flags = O_RDWR | O_CREAT | O_EXCL, .mode = S_IFREG | 0644, .umask = 022};
		snprintf(s->name, sizeof(s->name), "c-%u-%llu", s->idx, (unsigned long long)s->seq);
		struct iovec a[2] = {IOVS(&in), IOVNAME(s->name)};
		return submit(lf, s, FUSE_CREATE, lf->cdir_node, a, 2, &s->r.create,
			      sizeof(s->r.create));
	}
	case LOAD_READDIRPLUS: {
		struct fuse_open_in in = {.flags = O_RDONLY | O_DIRECTORY};
		struct iovec a = IOVS(&in);
		s->nodeid = lf->bigdir_node;
		s->dir_off = 0;
		s->entries = 0;
		return submit(lf, s, FUSE_OPENDIR, s->nodeid, &a, 1, &s->r.open, sizeof(s->r.open));
	}
	default:
		return -EINVAL;
	}
}

static int bad(const struct slot *s, int err, size_t len, const char *what)
{
	fprintf(stderr, "load: slot %u step %u opcode %u: %s (error %d, %zu reply bytes)\n", s->idx,
		s->step, s->call.ih.opcode, what, err, len);
	return err < 0 ? err : -FE_EBADREPLY;
}

static int forget_flush(struct load_fuse *lf)
{
	int r = 0;
	if (lf->nforgets)
		r = fe_batch_forget(lf->fe, lf->forgets, lf->nforgets);
	lf->nforgets = 0;
	return r;
}

/* Advance s after a reply; 1 when its operation is complete, 0 when it sent the next request. */
static int op_step(struct load_fuse *lf, struct slot *s, int err, size_t len)
{
	enum load_op op = lf->p->op;
	uint32_t io = load_op_io_size(op);

	switch (op) {
	case LOAD_GETATTR:
		return err == 0 && len == sizeof(s->r.attr) ? 1 : bad(s, err, len, "GETATTR");
	case LOAD_LOOKUP_HIT:
		if (err != 0 || len != sizeof(s->r.entry) || s->r.entry.nodeid != lf->data_node)
			return bad(s, err, len, "LOOKUP hit");
		lf->hits++;
		return 1;
	case LOAD_LOOKUP_MISS:
		/* ENOENT, or a negative entry (node id 0) that the guest may cache. */
		if (err == -ENOENT || (err == 0 && len == sizeof(s->r.entry) && !s->r.entry.nodeid))
			return 1;
		return bad(s, err, len, "LOOKUP miss");
	case LOAD_OPEN_RELEASE:
		if (err != 0 || (s->step == 0 && len != sizeof(s->r.open)))
			return bad(s, err, len, "OPEN/RELEASE");
		if (s->step++ == 0) {
			s->fh = s->r.open.fh;
			return release(lf, s, FUSE_RELEASE, O_RDONLY);
		}
		return 1;
	case LOAD_READ_4K:
	case LOAD_READ_1M:
		return err == 0 && len == io ? 1 : bad(s, err, len, "READ");
	case LOAD_WRITE_4K:
	case LOAD_WRITE_1M:
		return err == 0 && len == sizeof(s->r.write) && s->r.write.size == io
			       ? 1
			       : bad(s, err, len, "WRITE");
	case LOAD_CREATE_UNLINK:
		if (err != 0 || (s->step == 0 && len != sizeof(s->r.create)))
			return bad(s, err, len, "CREATE/RELEASE/UNLINK");
		if (s->step == 0) {
			s->step++;
			s->nodeid = s->r.create.entry.nodeid;
			s->fh = s->r.create.open.fh;
			return release(lf, s, FUSE_RELEASE, O_RDWR);
		}
		if (s->step == 1) {
			struct iovec a = IOVNAME(s->name);
			s->step++;
			return submit(lf, s, FUSE_UNLINK, lf->cdir_node, &a, 1, NULL, 0);
		}
		/* The guest forgets the unlinked inode soon after; batch that as it does. */
		lf->forgets[lf->nforgets++] =
			(struct fuse_forget_one){.nodeid = s->nodeid, .nlookup = 1};
		if (lf->nforgets == FORGET_BATCH) {
			int r = forget_flush(lf);
			if (r < 0)
				return bad(s, r, 0, "BATCH_FORGET");
		}
		return 1;
	case LOAD_READDIRPLUS:
		if (err != 0)
			return bad(s, err, len, "OPENDIR/READDIRPLUS/RELEASEDIR");
		if (s->step == 0) {
			if (len != sizeof(s->r.open))
				return bad(s, err, len, "OPENDIR");
			s->fh = s->r.open.fh;
			s->step = 1;
			return readdirplus(lf, s);
		}
		if (s->step == 1) {
			int r = dirent_walk(s, len);
			if (r < 0)
				return bad(s, r, len, "READDIRPLUS reply");
			if (r == 0)
				return readdirplus(lf, s);
			if (s->entries != LOAD_BIG_DIR_ENTRIES) {
				fprintf(stderr, "load: READDIRPLUS listed %u entries, want %u\n",
					s->entries, LOAD_BIG_DIR_ENTRIES);
				return -FE_EBADREPLY;
			}
			s->step = 2;
			return release(lf, s, FUSE_RELEASEDIR, 0);
		}
		return 1;
	default:
		return -EINVAL;
	}
}

struct run_state {
	struct lat_rec lat;
	uint64_t t_meas, t_end, t_hard, min_ops;
	uint64_t seconds_ns;
	uint64_t ops, reqs;	    /* completed inside the measured window */
	uint64_t all_ops, all_reqs; /* every operation completed, and its requests */
	uint64_t cpu0_ns, cpu1_ns;
	int64_t dcpu0_us, dcpu1_us;
	bool measuring, stopped;
	unsigned active;
};

static int run_loop(struct load_fuse *lf, struct slot *slots, struct run_state *st)
{
	struct fe_completion comp[64];
	unsigned rr = 0, idle = 0;
	int r;

	for (unsigned i = 0; i < lf->p->depth; i++, st->active++)
		if ((r = op_start(lf, &slots[i])) < 0)
			return r;
	while (st->active > 0) {
		/* One queue: block in fe_reap. Several: take what the next queue has, and wait for
		 * any of them only when a whole round found nothing. */
		unsigned q = lf->queue + rr++ % lf->nqueues;
		int n = fe_reap(lf->fe, q, comp, (int)(sizeof(comp) / sizeof(comp[0])),
				lf->nqueues == 1 ? 10000 : 0);
		if (n < 0)
			return n;
		if (n == 0 && lf->nqueues > 1 && ++idle < lf->nqueues)
			continue;
		if (n == 0 && lf->nqueues > 1) {
			idle = 0;
			r = fe_wait_any(lf->fe, lf->queue, lf->nqueues, 10000);
			if (r != -ETIMEDOUT) {
				if (r < 0)
					return r;
				continue;
			}
		}
		if (n == 0) {
			unsigned inflight = 0;
			for (unsigned i = 0; i < lf->nqueues; i++)
				inflight += fe_inflight(lf->fe, lf->queue + i);
			fprintf(stderr, "load: no completion for 10 s (%u in flight)\n", inflight);
			return -ETIMEDOUT;
		}
		idle = 0;
		uint64_t now = now_ns();
		if (!st->measuring && now >= st->t_meas) {
			st->measuring = true;
			st->t_meas = now;
			/* Long enough for a wave of 64 listings by the slowest daemon. */
			st->t_hard = now + MAX(4 * st->seconds_ns, (uint64_t)12000000000u);
			st->cpu0_ns = process_cpu_ns();
			st->dcpu0_us = pids_cpu_us(lf->pids, lf->npids);
		}
		/* Slow operations at high depth complete in waves (all slots start together and
		 * the daemon interleaves them): wait for a wave to end inside the window. */
		if (st->measuring && !st->stopped && now >= st->t_end &&
		    (st->ops >= st->min_ops || now >= st->t_hard)) {
			st->stopped = true;
			st->t_end = now;
			st->cpu1_ns = process_cpu_ns();
			st->dcpu1_us = pids_cpu_us(lf->pids, lf->npids);
		}
		for (int i = 0; i < n; i++) {
			struct slot *s = comp[i].cookie;
			size_t len = 0;
			int err = reply_check(s, comp[i].len, &len);
			if (err == -FE_EBADREPLY)
				return err;
			s->nreqs++;
			if (st->measuring && !st->stopped)
				st->reqs++;
			if ((r = op_step(lf, s, err, len)) < 0)
				return r;
			if (r == 0)
				continue;
			st->all_ops++;
			st->all_reqs += s->nreqs;
			if (st->measuring && !st->stopped) {
				st->ops++;
				/* Operations that began in the warmup count too: at high depth and
				 * with slow operations, every one in the window did. */
				if ((r = lat_add(&st->lat, now - s->t0)) < 0)
					return r;
			}
			if (st->stopped)
				st->active--;
			else if ((r = op_start(lf, s)) < 0)
				return r;
		}
	}
	return 0;
}

int load_fuse_run(struct load_fuse *lf, const struct load_params *p, struct load_result *ret)
{
	struct slot *slots = calloc(p->depth, sizeof(*slots));
	struct run_state st = {0};
	uint32_t bufsize = MAX(load_op_io_size(p->op), LOAD_READDIR_BUF);
	int r = 0;

	if (!slots)
		return -ENOMEM;
	lf->p = p;
	for (unsigned i = 0; i < p->depth && r == 0; i++) {
		slots[i].idx = i;
		if (!(slots[i].buf = malloc(bufsize)))
			r = -ENOMEM;
		else
			memset(slots[i].buf, 0x5a, bufsize);
	}
	uint64_t t0 = now_ns();
	st.t_meas = t0 + (uint64_t)(p->warmup_s * 1e9);
	st.t_end = st.t_meas + (uint64_t)(p->seconds * 1e9);
	st.seconds_ns = (uint64_t)(p->seconds * 1e9);
	st.min_ops = p->depth;
	if (r == 0)
		r = run_loop(lf, slots, &st);
	if (r == 0)
		r = forget_flush(lf);
	if (r == 0 && lf->hits) {
		/* Give back the lookups the LOOKUP hits took, as the guest would on eviction. */
		r = fe_forget(lf->fe, lf->data_node, lf->hits);
		lf->hits = 0;
	}
	if (r == 0 && (st.dcpu0_us < 0 || st.dcpu1_us < 0)) {
		fprintf(stderr, "load: cannot read the daemon's CPU time\n");
		r = -ESRCH;
	}
	if (r == 0) {
		double secs = (double)(st.t_end - st.t_meas) / 1e9;
		/*
		 * Throughput from the request rate: every operation of one kind takes the same
		 * number of requests (a listing always needs as many READDIRPLUS), and counting
		 * requests is immune to operations completing in waves.
		 */
		double per_op = st.all_ops ? (double)st.all_reqs / (double)st.all_ops : 1;
		double ops = (double)st.reqs / per_op;
		*ret = (struct load_result){
			.ops = st.ops, .reqs_per_op = per_op, .rate = ops / secs, .secs = secs};
		lat_summary(&st.lat, &ret->p50_us, &ret->p99_us);
		if (ops > 0) {
			ret->cpu_us = (double)(st.dcpu1_us - st.dcpu0_us) / ops;
			ret->client_cpu_us = (double)(st.cpu1_ns - st.cpu0_ns) / 1e3 / ops;
		}
	}
	lat_free(&st.lat);
	for (unsigned i = 0; i < p->depth; i++)
		free(slots[i].buf);
	free(slots);
	return r;
}
