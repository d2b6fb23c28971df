// SPDX-License-Identifier: GPL-2.0
/*
 * vfsd version table, guest side (vt.h). Part of fuse.ko.
 *
 * A cached item (dentry, attributes, readdir cache) that came with a version stays valid while
 * counters[slot] + header.epoch still equals that version, regardless of its timeout; any other
 * value, including a slot outside the table or a table whose header is garbage, means stale
 * and sends the kernel down its ordinary expiry path (LOOKUP, GETATTR, READDIR).
 *
 * Own changes. A creating request (MKNOD, MKDIR, SYMLINK, LINK, CREATE) bumps its directory's
 * counter, which would make every other name this guest holds in that directory stale (so do
 * UNLINK, RMDIR and RENAME(2): their bodies carry the same for one or two directories; and a
 * SETATTR of the directory, whose reply carries it for the node and changes no name). Its
 * reply says VFSD_VT_BUMPED and v, the value its own atomic increment produced, so the counter
 * held v - 1 right before it. Counters and the epoch only grow, and v is the slot's counter plus
 * the epoch after the increment; so a name looked up at v - 1 was looked up when the counter
 * already held v - 1, and nothing moved it between then and this request's increment: the only
 * change to the directory in between is this request's own, which this guest has just applied
 * to its dcache (the new dentry is instantiated before the version is noted). Such names are
 * as current at v as they were at v - 1. A run (base, cur) of a slot records this: extended
 * when the next own change starts exactly at cur, restarted at (v - 1, v) otherwise. A name
 * looked up at any version in [base, cur] is current while the counter reads cur. Anybody
 * else's change (another guest, the host, a colliding slot, the epoch) moves the counter past
 * cur or makes the next own change start past cur: the run is dropped and those names are
 * stale, as without runs. Runs apply to names only, never to attributes: the directory's own
 * mtime did change.
 */
#include "fuse_i.h"

#include <linux/moduleparam.h>
#include <linux/percpu.h>
#include <linux/seqlock.h>
#include <linux/string.h>

/* Statistics, read through /sys/module/fuse/parameters/vfsd_vt (guest/vt-probe.c). */
enum {
	VT_STAT_OFFERED,     /* connections that sent the INIT flag */
	VT_STAT_ACKED,	     /* ... whose daemon acked it */
	VT_STAT_ON,	     /* ... with a valid header: the table is in use */
	VT_STAT_BROKEN,	     /* ... with an invalid header: everything stale */
	VT_STAT_FRESH,	     /* checks that found a version current */
	VT_STAT_KEPT,	     /* ... where the timeout alone would have expired the item */
	VT_STAT_STALE,	     /* checks that found a version changed */
	VT_STAT_BAD_SLOT,    /* versions naming a slot outside the table */
	VT_STAT_VERSIONS,    /* versions received in replies */
	VT_STAT_RDC_RESET,   /* readdir caches dropped because the directory changed */
	VT_STAT_STALE_DIR,   /* stale dentries: the directory's version moved */
	VT_STAT_STALE_NODE,  /* stale dentries: only the (non-directory) inode's version moved */
	VT_STAT_OWN,	     /* own changes noted (creating replies with VFSD_VT_BUMPED) */
	VT_STAT_OWN_KEPT,    /* names kept current by a run of own changes */
	VT_STAT_REQ_LOOKUP,  /* requests sent (with or without the table): LOOKUP */
	VT_STAT_REQ_GETATTR, /* ... GETATTR */
	VT_STAT_REQ_MAKE,    /* ... MKNOD, MKDIR, SYMLINK, LINK, CREATE, TMPFILE */
	VT_STAT_REQ_REMOVE,  /* ... UNLINK, RMDIR, RENAME, RENAME2 */
	VT_STAT_OWN_DIRS,    /* own changes noted from UNLINK, RMDIR, RENAME(2) bodies (in own) */
	VT_STAT_OWN_ATTR,    /* own changes noted from directories' SETATTR replies (in own) */
	VT_STAT_DPLUS,	     /* versioned READDIRPLUS entries received */
	VT_STAT_OWN_NODE,    /* inode versions adopted from own WRITE, UNLINK, RENAME replies */
	VT_STAT_OWN_RANGE,   /* ... from own FALLOCATE and COPY_FILE_RANGE replies */
	VT_STAT_RDC_KEPT,    /* readdir caches reused: the directory's version still current */
	VT_STAT_RUN_EVICT,   /* runs of own changes forgotten for another directory's */
	VT_STAT_RUN_RESTART, /* runs restarted: the counter moved by a change no reply told of */
	VT_STAT_N,
};
static const char *const vt_stat_names[VT_STAT_N] = {
	"offered",   "acked",	    "on",	  "broken",	 "fresh",     "kept",
	"stale",     "bad_slot",    "versions",	  "rdc_reset",	 "stale_dir", "stale_node",
	"own",	     "own_kept",    "req_lookup", "req_getattr", "req_make",  "req_remove",
	"own_dirs",  "own_attr",    "dplus",	  "own_node",	 "own_range", "rdc_kept",
	"run_evict", "run_restart",
};
static DEFINE_PER_CPU(unsigned long[VT_STAT_N], vt_stats);

static void vt_count(int stat)
{
	this_cpu_inc(vt_stats[stat]);
}

static int vt_stats_get(char *buf, const struct kernel_param *kp)
{
	int len = 0, i, cpu;

	for (i = 0; i < VT_STAT_N; i++) {
		unsigned long sum = 0;

		for_each_possible_cpu(cpu) sum += per_cpu(vt_stats, cpu)[i];
		len += scnprintf(buf + len, PAGE_SIZE - len, "%s%s=%lu", i ? " " : "",
				 vt_stat_names[i], sum);
	}
	len += scnprintf(buf + len, PAGE_SIZE - len, "\n");
	return len;
}

static const struct kernel_param_ops vt_stats_ops = {
	.get = vt_stats_get,
};
module_param_cb(vfsd_vt, &vt_stats_ops, NULL, 0444);
MODULE_PARM_DESC(vfsd_vt, "vfsd version table: connections and checks (read only)");

void fuse_vt_conn_init(struct fuse_conn *fc, const struct fuse_vt_region *r)
{
	memset(&fc->vt, 0, sizeof(fc->vt));
	seqlock_init(&fc->vt.runs_lock);
	if (r && r->base && r->len >= VFSD_VT_HDR_SIZE + sizeof(u64)) {
		fc->vt.base = r->base;
		fc->vt.len = r->len;
	}
}
EXPORT_SYMBOL_GPL(fuse_vt_conn_init);

u64 fuse_vt_init_flags(struct fuse_conn *fc)
{
	if (!fc->vt.base)
		return 0;
	fc->vt.state = FUSE_VT_OFFERED;
	vt_count(VT_STAT_OFFERED);
	return VFSD_VT_INIT_FLAG | VFSD_VT_INIT_RDPLUS;
}

/* The region is the daemon's to fill (it maps the guest's mirror there before it acks), so
 * the header is checked here, not when the device is probed. */
static bool vt_header_ok(struct fuse_conn *fc)
{
	const struct vfsd_vt_header *h = fc->vt.base;
	u32 hsize = READ_ONCE(h->header_size);
	u64 nslots = READ_ONCE(h->nslots);

	if (memcmp(h->magic, VFSD_VT_MAGIC, sizeof(h->magic)) != 0 ||
	    READ_ONCE(h->layout) != VFSD_VT_LAYOUT)
		return false;
	if (hsize < sizeof(*h) || hsize % sizeof(u64) != 0 || hsize >= fc->vt.len)
		return false;
	if (nslots == 0 || nslots > (fc->vt.len - hsize) / sizeof(u64))
		return false;
	fc->vt.hdr = h;
	fc->vt.slots = (const u64 *)((const char *)fc->vt.base + hsize);
	fc->vt.nslots = nslots;
	return true;
}

void fuse_vt_init_reply(struct fuse_conn *fc, u64 flags)
{
	if (fc->vt.state != FUSE_VT_OFFERED)
		return;
	if (!(flags & VFSD_VT_INIT_FLAG)) {
		fc->vt.state = FUSE_VT_OFF;
		return;
	}
	vt_count(VT_STAT_ACKED);
	/* The layout of READDIRPLUS entries follows the ack, whatever the header says. */
	fc->vt.dplus = (flags & VFSD_VT_INIT_RDPLUS) && (flags & FUSE_DO_READDIRPLUS);
	if (vt_header_ok(fc)) {
		fc->vt.state = FUSE_VT_ON;
		vt_count(VT_STAT_ON);
		pr_info("vfsd version table on (%llu slots)\n", fc->vt.nslots);
	} else {
		/* The daemon sends versions and long timeouts; without a table to check them
		 * against, nothing cached can be trusted. */
		fc->vt.state = FUSE_VT_BROKEN;
		vt_count(VT_STAT_BROKEN);
		pr_warn("vfsd version table acked but its header is invalid: not caching\n");
	}
}

/*
 * Newer kernels' variants (sid's 7.2, guest/linux-7.2): FUSE_STATX (protocol 7.39) is a GETATTR
 * with more fields, FUSE_COPY_FILE_RANGE_64 (7.45) a COPY_FILE_RANGE with a 64-bit count; their
 * replies carry the same as the older op's. vt_op() names the older op.
 */
static u32 vt_op(u32 opcode)
{
#if FUSE_KERNEL_MINOR_VERSION >= 39
	if (opcode == FUSE_STATX)
		return FUSE_GETATTR;
#endif
#if FUSE_KERNEL_MINOR_VERSION >= 45
	if (opcode == FUSE_COPY_FILE_RANGE_64)
		return FUSE_COPY_FILE_RANGE;
#endif
	return opcode;
}

static bool vt_acked(const struct fuse_conn *fc)
{
	return fc->vt.state == FUSE_VT_ON || fc->vt.state == FUSE_VT_BROKEN;
}

void fuse_vt_args(struct fuse_conn *fc, struct fuse_args *args)
{
	u32 op = vt_op(args->opcode);
	unsigned int size;

	args->vt.posted = false;
	/* Counted with the table off too: bench/vm-workload.sh compares the request mix. */
	if (op == FUSE_LOOKUP)
		vt_count(VT_STAT_REQ_LOOKUP);
	else if (op == FUSE_GETATTR)
		vt_count(VT_STAT_REQ_GETATTR);
	else if (op == FUSE_UNLINK || op == FUSE_RMDIR || op == FUSE_RENAME || op == FUSE_RENAME2)
		vt_count(VT_STAT_REQ_REMOVE);
	else if (op != FUSE_SETATTR && op != FUSE_WRITE && op != FUSE_FALLOCATE &&
		 op != FUSE_COPY_FILE_RANGE)
		vt_count(VT_STAT_REQ_MAKE);
	if (!vt_acked(fc))
		return;
	switch (op) {
	case FUSE_UNLINK:
	case FUSE_RMDIR:
	case FUSE_RENAME:
	case FUSE_RENAME2:
		/* No reply body in FUSE: ours is the only out argument, of variable size (a daemon
		 * may send none). */
		if (WARN_ON_ONCE(args->out_numargs || args->out_argvar))
			return;
		memset(&args->vt.remove, 0, sizeof(args->vt.remove));
		args->out_args[0].size = sizeof(args->vt.remove);
		args->out_args[0].value = &args->vt.remove;
		args->out_numargs = 1;
		args->out_argvar = true;
		args->vt.posted = true;
		return;
	case FUSE_WRITE:
	case FUSE_COPY_FILE_RANGE:
	case FUSE_FALLOCATE:
		/* After fuse_write_out, or FALLOCATE's whole body (none in FUSE), of variable size:
		 * a daemon that predates it sends none. */
		if (WARN_ON_ONCE(args->out_numargs != (args->opcode == FUSE_FALLOCATE ? 0 : 1) ||
				 args->out_argvar))
			return;
		memset(&args->vt.attr, 0, sizeof(args->vt.attr));
		args->out_args[args->out_numargs].size = sizeof(args->vt.attr);
		args->out_args[args->out_numargs].value = &args->vt.attr;
		args->out_numargs++;
		args->out_argvar = true;
		args->vt.posted = true;
		return;
	case FUSE_LOOKUP:
	case FUSE_MKNOD:
	case FUSE_MKDIR:
	case FUSE_SYMLINK:
	case FUSE_LINK:
	case FUSE_CREATE:
	case FUSE_TMPFILE:
		size = sizeof(args->vt.entry);
		break;
	case FUSE_GETATTR:
	case FUSE_SETATTR:
		size = sizeof(args->vt.attr);
		break;
	default:
		return;
	}
	if (WARN_ON_ONCE(args->out_numargs >= ARRAY_SIZE(args->out_args) || args->out_argvar))
		return;
	memset(&args->vt.entry, 0, sizeof(args->vt.entry));
	args->out_args[args->out_numargs].size = size;
	args->out_args[args->out_numargs].value = &args->vt.entry;
	args->out_numargs++;
	args->vt.posted = true;
}

const struct vfsd_vt_ver *fuse_vt_node(struct fuse_args *args)
{
	if (!args->vt.posted)
		return NULL;
	/* node is the first member of both extensions */
	BUILD_BUG_ON(offsetof(struct vfsd_vt_entry_out, node) != 0 ||
		     offsetof(struct vfsd_vt_attr_out, node) != 0);
	/* Only a SETATTR's own change is noted for its node (fuse_vt_inode_set()); anything else
	 * claiming one is ignored. */
	if (args->opcode != FUSE_SETATTR)
		args->vt.entry.node.flags &= ~VFSD_VT_BUMPED;
	if (args->vt.entry.node.flags & VFSD_VT_VALID)
		vt_count(VT_STAT_VERSIONS);
	return &args->vt.entry.node;
}

const struct vfsd_vt_ver *fuse_vt_parent(struct fuse_args *args)
{
	if (!args->vt.posted || vt_op(args->opcode) == FUSE_GETATTR || args->opcode == FUSE_SETATTR)
		return NULL;
	/* Only a creating request changes the directory: a LOOKUP claiming otherwise is wrong. */
	if (args->opcode == FUSE_LOOKUP)
		args->vt.entry.parent.flags &= ~VFSD_VT_BUMPED;
	return &args->vt.entry.parent;
}

void fuse_vt_copy_parent(struct fuse_args *args, struct vfsd_vt_ver *out)
{
	const struct vfsd_vt_ver *p = fuse_vt_parent(args);

	if (!out)
		return;
	if (p)
		*out = *p;
	else
		memset(out, 0, sizeof(*out));
}

void fuse_vt_inode_init(struct fuse_inode *fi)
{
	memset(&fi->vt, 0, sizeof(fi->vt));
}

static struct fuse_vt_dentry *vt_dentry(const struct dentry *entry)
{
	return entry->d_fsdata;
}

static void vt_run_note(struct fuse_conn *fc, u32 slot, u64 v);

void fuse_vt_inode_set(struct fuse_inode *fi, const struct vfsd_vt_ver *ver)
{
	/* No version with these attributes: the one stored still describes them (they can only
	 * be newer than it), so keep it. */
	if (!ver)
		return;
	if (!(ver->flags & VFSD_VT_VALID)) {
		WRITE_ONCE(fi->vt.valid, false);
		return;
	}
	WRITE_ONCE(fi->vt.slot, ver->slot);
	WRITE_ONCE(fi->vt.version, ver->version);
	smp_wmb(); /* pairs with the smp_rmb() in vt_inode_fresh() */
	WRITE_ONCE(fi->vt.valid, true);
	/*
	 * A directory's own SETATTR (tar and git restoring modes and times): the reply's version
	 * is the value this request's own bump gave the directory's slot. The attributes were
	 * stat()ed after that bump, so they are current at it (stored above); and a SETATTR
	 * changes no name, so the directory's names are as current after it as before: the run
	 * of own changes goes on (the file comment). Files: the attributes only (their names are
	 * in their directory's slot).
	 */
	if ((ver->flags & VFSD_VT_BUMPED) && S_ISDIR(fi->inode.i_mode)) {
		vt_count(VT_STAT_OWN_ATTR);
		vt_run_note(get_fuse_conn(&fi->inode), ver->slot, ver->version);
	}
}

/* An own request bumped `slot` from v - 1 to v (the file comment, "Own changes"). */
static void vt_run_note(struct fuse_conn *fc, u32 slot, u64 v)
{
	struct fuse_vt_run *set = fc->vt.runs[slot % FUSE_VT_RUN_SETS], *run = NULL;
	int i;

	if (fc->vt.state != FUSE_VT_ON || slot >= fc->vt.nslots || v < 2)
		return;
	vt_count(VT_STAT_OWN);
	write_seqlock(&fc->vt.runs_lock);
	for (i = 0; i < FUSE_VT_RUN_WAYS && !run; i++)
		if (set[i].cur && set[i].slot == slot)
			run = &set[i];
	if (!run) {
		/* the least recently extended (an unused one has cur 0 and used 0) */
		run = &set[0];
		for (i = 1; i < FUSE_VT_RUN_WAYS; i++)
			if (!set[i].cur || (run->cur && (s32)(set[i].used - run->used) < 0))
				run = &set[i];
		if (run->cur)
			vt_count(VT_STAT_RUN_EVICT);
		run->cur = 0;
	}
	if (run->cur && run->cur == v - 1) {
		run->cur = v;
	} else if (!run->cur || run->cur < v) {
		if (run->cur)
			vt_count(VT_STAT_RUN_RESTART);
		run->slot = slot;
		run->base = v - 1;
		run->cur = v;
	}
	/* else: a reply older than the run (two own changes answered out of order); the run
	 * already ends past it */
	run->used = ++fc->vt.run_clock;
	write_sequnlock(&fc->vt.runs_lock);
}

/* Is a name looked up at `version` in slot `slot` current although the counter reads `now`? */
static bool vt_run_covers(const struct fuse_conn *fc, u32 slot, u64 version, u64 now)
{
	const struct fuse_vt_run *set = fc->vt.runs[slot % FUSE_VT_RUN_SETS];
	unsigned int seq;
	bool ok;
	int i;

	do {
		seq = read_seqbegin(&fc->vt.runs_lock);
		ok = false;
		for (i = 0; i < FUSE_VT_RUN_WAYS; i++)
			if (set[i].cur && set[i].slot == slot && set[i].cur == now &&
			    set[i].base <= version && version <= set[i].cur)
				ok = true;
	} while (read_seqretry(&fc->vt.runs_lock, seq));
	return ok;
}

void fuse_vt_dentry_set(struct dentry *entry, const struct vfsd_vt_ver *parent)
{
	struct fuse_vt_dentry *fd = vt_dentry(entry);

	if (!parent)
		return;
	if (!(parent->flags & VFSD_VT_VALID)) {
		WRITE_ONCE(fd->valid, 0);
		return;
	}
	WRITE_ONCE(fd->valid, 0);
	smp_wmb();
	WRITE_ONCE(fd->dir_slot, parent->slot);
	WRITE_ONCE(fd->dir_version, parent->version);
	smp_wmb(); /* pairs with the smp_rmb() in vt_name_current() */
	WRITE_ONCE(fd->valid, 1);
	/* Called after the new dentry is instantiated: the own change is applied. */
	if (parent->flags & VFSD_VT_BUMPED)
		vt_run_note(get_fuse_conn_super(entry->d_sb), parent->slot, parent->version);
}

void fuse_vt_dentry_forget(struct dentry *entry)
{
	WRITE_ONCE(vt_dentry(entry)->valid, 0);
}

int fuse_vt_dirs_result(struct fuse_args *args, ssize_t r)
{
	if (!args->vt.posted || r < 0)
		return r;
	/* A short body (none, from a daemon that sends none) tells nothing; a daemon that
	 * predates the node sends the directories only. */
	if (r == sizeof(args->vt.dirs))
		memset(&args->vt.remove.node, 0, sizeof(args->vt.remove.node));
	else if (r != sizeof(args->vt.remove))
		memset(&args->vt.remove, 0, sizeof(args->vt.remove));
	return 0;
}

static bool vt_inode_adopt(struct inode *inode, const struct vfsd_vt_ver *ver)
{
	struct fuse_inode *fi = get_fuse_inode(inode);
	bool adopted = false;

	if ((ver->flags & (VFSD_VT_VALID | VFSD_VT_BUMPED)) != (VFSD_VT_VALID | VFSD_VT_BUMPED) ||
	    ver->version < 2)
		return false;
	spin_lock(&fi->lock);
	if (fi->vt.valid && fi->vt.slot == ver->slot && fi->vt.version == ver->version - 1) {
		WRITE_ONCE(fi->vt.version, ver->version);
		adopted = true;
	}
	spin_unlock(&fi->lock);
	return adopted;
}

void fuse_vt_inode_adopt(struct inode *inode, const struct vfsd_vt_ver *ver)
{
	if (vt_inode_adopt(inode, ver))
		vt_count(VT_STAT_OWN_NODE);
}

int fuse_vt_write_result(struct inode *inode, struct fuse_args *args, ssize_t r)
{
	if (!args->vt.posted || r < 0)
		return r;
	/*
	 * The write may have cleared the set-user/group-ID bits (FUSE_WRITE_KILL_SUIDGID, or the
	 * host's own rule), which FUSE does not invalidate: such a file's cached mode must go
	 * stale with the version, as without this.
	 */
	if (r == sizeof(args->vt.attr) && !(inode->i_mode & (S_ISUID | S_ISGID)) &&
	    vt_inode_adopt(inode, &args->vt.attr.node))
		vt_count(args->opcode == FUSE_WRITE ? VT_STAT_OWN_NODE : VT_STAT_OWN_RANGE);
	return 0;
}

void fuse_vt_dirs_note(struct fuse_conn *fc, struct fuse_args *args, struct dentry *moved,
		       struct dentry *exchanged, struct inode *removed)
{
	int i;

	if (!args->vt.posted)
		return;
	if (moved)
		fuse_invalidate_entry_cache(moved);
	if (exchanged)
		fuse_invalidate_entry_cache(exchanged);
	/*
	 * Unlike a create's, this change reaches the dcache only when the VFS handles the op's
	 * return (d_delete, d_move; the directories stay locked until then): a removed name
	 * becomes a negative dentry or is unhashed, which agrees with the directory as it is
	 * now; the moved dentries, whose versions name the old directory, are forgotten above. A
	 * lock-free lookup racing with this op may see the old name meanwhile, as on any
	 * filesystem. The run covers only this change (the file comment).
	 */
	for (i = 0; i < ARRAY_SIZE(args->vt.dirs.dir); i++) {
		const struct vfsd_vt_ver *d = &args->vt.dirs.dir[i];

		if ((d->flags & (VFSD_VT_VALID | VFSD_VT_BUMPED)) !=
		    (VFSD_VT_VALID | VFSD_VT_BUMPED))
			continue;
		vt_count(VT_STAT_OWN_DIRS);
		vt_run_note(fc, d->slot, d->version);
	}
	/* Still linked elsewhere (git links an object to its final name, then unlinks the
	 * temporary one): the node's other names stay current if only this request moved it. */
	if (removed && !S_ISDIR(removed->i_mode))
		fuse_vt_inode_adopt(removed, &args->vt.remove.node);
}

/* Is (slot, version) still current? A slot outside the table is never current. */
static bool vt_current(const struct fuse_conn *fc, u32 slot, u64 version)
{
	u64 now;

	if (slot >= fc->vt.nslots) {
		vt_count(VT_STAT_BAD_SLOT);
		return false;
	}
	now = READ_ONCE(fc->vt.slots[slot]) + READ_ONCE(fc->vt.hdr->epoch);
	return now == version;
}

/* 1: the inode's version is current, 0: it changed, -1: the inode has no version. */
static int vt_inode_fresh(const struct fuse_conn *fc, struct fuse_inode *fi)
{
	u32 slot;
	u64 version;

	if (!READ_ONCE(fi->vt.valid))
		return -1;
	smp_rmb();
	slot = READ_ONCE(fi->vt.slot);
	version = READ_ONCE(fi->vt.version);
	return vt_current(fc, slot, version);
}

static bool vt_result(bool fresh, bool time_expired)
{
	if (fresh) {
		vt_count(VT_STAT_FRESH);
		if (time_expired)
			vt_count(VT_STAT_KEPT);
		return false;
	}
	vt_count(VT_STAT_STALE);
	return true;
}

/* 1: the dentry's name is current (its directory's version holds, or a run of own changes
 * covers it), 0: it is not, -1: the dentry has no version. */
static int vt_name_current(const struct fuse_conn *fc, const struct dentry *entry)
{
	const struct fuse_vt_dentry *fd = vt_dentry(entry);
	u32 slot;
	u64 version, now;

	if (!READ_ONCE(fd->valid))
		return -1;
	smp_rmb();
	slot = READ_ONCE(fd->dir_slot);
	version = READ_ONCE(fd->dir_version);
	if (slot >= fc->vt.nslots) {
		vt_count(VT_STAT_BAD_SLOT);
		return 0;
	}
	now = READ_ONCE(fc->vt.slots[slot]) + READ_ONCE(fc->vt.hdr->epoch);
	if (now == version)
		return 1;
	if (vt_run_covers(fc, slot, version, now)) {
		vt_count(VT_STAT_OWN_KEPT);
		return 1;
	}
	vt_count(VT_STAT_STALE_DIR);
	return 0;
}

bool fuse_vt_dentry_expired(const struct dentry *entry, struct inode *inode, bool time_expired)
{
	const struct fuse_conn *fc = get_fuse_conn_super(entry->d_sb);
	int name, node;

	if (fc->vt.state == FUSE_VT_BROKEN)
		return true;
	if (fc->vt.state != FUSE_VT_ON)
		return time_expired;
	name = vt_name_current(fc, entry);
	if (name < 0)
		return time_expired;
	if (!name)
		return vt_result(false, time_expired);
	/* Negative: valid while the directory is unchanged. A directory: its name is all the
	 * path walk needs; its attributes have their own checks (fuse_permission(),
	 * fuse_update_get_attr(), the readdir cache), so its own changes, e.g. this guest's
	 * creates in it, do not send its parent a LOOKUP. */
	if (!inode || S_ISDIR(inode->i_mode))
		return vt_result(true, time_expired);
	/* Anything else: also while the inode's version holds, so that open() revalidates a
	 * changed file's attributes as it does when a timeout runs out (O_APPEND writes use the
	 * cached size). */
	node = vt_inode_fresh(fc, get_fuse_inode(inode));
	if (node < 0)
		return time_expired;
	if (!node)
		vt_count(VT_STAT_STALE_NODE);
	return vt_result(node, time_expired);
}

bool fuse_vt_dentry_keep(const struct dentry *entry, bool time_expired)
{
	const struct fuse_conn *fc = get_fuse_conn_super(entry->d_sb);
	int name;

	if (fc->vt.state == FUSE_VT_BROKEN)
		return false;
	if (fc->vt.state != FUSE_VT_ON)
		return !time_expired;
	name = vt_name_current(fc, entry);
	if (name < 0)
		return !time_expired;
	return name;
}

bool fuse_vt_attr_expired(struct inode *inode, bool time_expired)
{
	const struct fuse_conn *fc = get_fuse_conn(inode);
	int node;

	if (fc->vt.state == FUSE_VT_BROKEN)
		return true;
	if (fc->vt.state != FUSE_VT_ON)
		return time_expired;
	node = vt_inode_fresh(fc, get_fuse_inode(inode));
	if (node < 0)
		return time_expired;
	return vt_result(node, time_expired);
}

void fuse_vt_rdc_start(struct inode *dir)
{
	const struct fuse_conn *fc = get_fuse_conn(dir);
	struct fuse_inode *fi = get_fuse_inode(dir);
	u32 slot;

	fi->vt.rdc_valid = false;
	if (fc->vt.state != FUSE_VT_ON || !READ_ONCE(fi->vt.valid))
		return;
	slot = READ_ONCE(fi->vt.slot);
	if (slot >= fc->vt.nslots)
		return;
	/* Read before the READDIRs that fill the cache: a change after this point moves the
	 * counter away from it. */
	fi->vt.rdc_version = READ_ONCE(fc->vt.slots[slot]) + READ_ONCE(fc->vt.hdr->epoch);
	fi->vt.rdc_valid = true;
}

bool fuse_vt_rdc_stale(struct inode *dir)
{
	const struct fuse_conn *fc = get_fuse_conn(dir);
	struct fuse_inode *fi = get_fuse_inode(dir);

	if (fc->vt.state == FUSE_VT_BROKEN) {
		vt_count(VT_STAT_RDC_RESET);
		return true;
	}
	if (fc->vt.state != FUSE_VT_ON)
		return false;
	/* A cache filled while the directory had no version: nothing says it is current (vfsd
	 * lets a guest with the table keep its readdir cache whatever its cache mode). */
	if (fi->vt.rdc_valid && vt_current(fc, READ_ONCE(fi->vt.slot), fi->vt.rdc_version)) {
		vt_count(VT_STAT_RDC_KEPT);
		return false;
	}
	vt_count(VT_STAT_RDC_RESET);
	return true;
}

const struct vfsd_vt_entry_out *fuse_vt_dirplus(struct fuse_conn *fc, char *buf, size_t nbytes,
						struct fuse_dirent **dirent, size_t *reclen)
{
	struct vfsd_vt_entry_out *vt;

	BUILD_BUG_ON(VFSD_VT_DIRENTPLUS_VT != sizeof(struct fuse_entry_out) ||
		     VFSD_VT_DIRENT_SIZE != FUSE_NAME_OFFSET ||
		     VFSD_VT_DIRENTPLUS_NAME !=
			     FUSE_NAME_OFFSET_DIRENTPLUS + sizeof(struct vfsd_vt_entry_out));
	if (!fc->vt.dplus) {
		*dirent = &((struct fuse_direntplus *)buf)->dirent;
		*reclen = FUSE_DIRENTPLUS_SIZE((struct fuse_direntplus *)buf);
		return NULL;
	}
	if (nbytes < VFSD_VT_DIRENTPLUS_NAME) {
		*dirent = NULL;
		return NULL;
	}
	*dirent = (struct fuse_dirent *)(buf + VFSD_VT_DIRENTPLUS_DIRENT);
	*reclen = VFSD_VT_DIRENTPLUS_SIZE((size_t)(*dirent)->namelen);
	vt = (struct vfsd_vt_entry_out *)(buf + VFSD_VT_DIRENTPLUS_VT);
	/* A listing changes nothing: a BUMPED claim would extend a run of own changes. */
	vt->node.flags &= ~VFSD_VT_BUMPED;
	vt->parent.flags &= ~VFSD_VT_BUMPED;
	if (vt->node.flags & VFSD_VT_VALID)
		vt_count(VT_STAT_DPLUS);
	return vt;
}
