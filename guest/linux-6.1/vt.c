// SPDX-License-Identifier: GPL-2.0
/*
 * vfsd version table, guest side (vt.h). Part of fuse.ko.
 *
 * A cached item (dentry, attributes, readdir cache) that came with a version stays valid while
 * counters[slot] + header.epoch still equals that version, regardless of its timeout; any other
 * value, including a slot outside the table or a table whose header is garbage, means stale
 * and sends the kernel down its ordinary expiry path (LOOKUP, GETATTR, READDIR).
 */
#include "fuse_i.h"

#include <linux/moduleparam.h>
#include <linux/percpu.h>
#include <linux/string.h>

/* Statistics, read through /sys/module/fuse/parameters/vfsd_vt (guest/vt-probe.c). */
enum {
	VT_STAT_OFFERED,   /* connections that sent the INIT flag */
	VT_STAT_ACKED,	   /* ... whose daemon acked it */
	VT_STAT_ON,	   /* ... with a valid header: the table is in use */
	VT_STAT_BROKEN,	   /* ... with an invalid header: everything stale */
	VT_STAT_FRESH,	   /* checks that found a version current */
	VT_STAT_KEPT,	   /* ... where the timeout alone would have expired the item */
	VT_STAT_STALE,	   /* checks that found a version changed */
	VT_STAT_BAD_SLOT,  /* versions naming a slot outside the table */
	VT_STAT_VERSIONS,  /* versions received in replies */
	VT_STAT_RDC_RESET, /* readdir caches dropped because the directory changed */
	VT_STAT_N,
};
static const char *const vt_stat_names[VT_STAT_N] = {
	"offered", "acked", "on",	"broken",   "fresh",
	"kept",	   "stale", "bad_slot", "versions", "rdc_reset",
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
	return VFSD_VT_INIT_FLAG;
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

static bool vt_acked(const struct fuse_conn *fc)
{
	return fc->vt.state == FUSE_VT_ON || fc->vt.state == FUSE_VT_BROKEN;
}

void fuse_vt_args(struct fuse_conn *fc, struct fuse_args *args)
{
	unsigned int size;

	args->vt.posted = false;
	if (!vt_acked(fc))
		return;
	switch (args->opcode) {
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

const struct vfsd_vt_ver *fuse_vt_node(const struct fuse_args *args)
{
	if (!args->vt.posted)
		return NULL;
	/* node is the first member of both extensions */
	BUILD_BUG_ON(offsetof(struct vfsd_vt_entry_out, node) != 0 ||
		     offsetof(struct vfsd_vt_attr_out, node) != 0);
	if (args->vt.entry.node.flags & VFSD_VT_VALID)
		vt_count(VT_STAT_VERSIONS);
	return &args->vt.entry.node;
}

const struct vfsd_vt_ver *fuse_vt_parent(const struct fuse_args *args)
{
	if (!args->vt.posted || args->opcode == FUSE_GETATTR || args->opcode == FUSE_SETATTR)
		return NULL;
	return &args->vt.entry.parent;
}

void fuse_vt_copy_parent(const struct fuse_args *args, struct vfsd_vt_ver *out)
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
}

static struct fuse_vt_dentry *vt_dentry(const struct dentry *entry)
{
	return entry->d_fsdata;
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
	smp_wmb(); /* pairs with the smp_rmb() in fuse_vt_dentry_expired() */
	WRITE_ONCE(fd->valid, 1);
}

void fuse_vt_dentry_forget(struct dentry *entry)
{
	WRITE_ONCE(vt_dentry(entry)->valid, 0);
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

bool fuse_vt_dentry_expired(const struct dentry *entry, struct inode *inode, bool time_expired)
{
	const struct fuse_conn *fc = get_fuse_conn_super(entry->d_sb);
	const struct fuse_vt_dentry *fd = vt_dentry(entry);
	u32 slot;
	u64 version;
	int node;

	if (fc->vt.state == FUSE_VT_BROKEN)
		return true;
	if (fc->vt.state != FUSE_VT_ON || !READ_ONCE(fd->valid))
		return time_expired;
	smp_rmb();
	slot = READ_ONCE(fd->dir_slot);
	version = READ_ONCE(fd->dir_version);
	if (!vt_current(fc, slot, version))
		return vt_result(false, time_expired);
	if (!inode) /* negative: valid while the directory is unchanged */
		return vt_result(true, time_expired);
	node = vt_inode_fresh(fc, get_fuse_inode(inode));
	if (node < 0)
		return time_expired;
	return vt_result(node, time_expired);
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
	if (fc->vt.state != FUSE_VT_ON || !fi->vt.rdc_valid)
		return false;
	if (vt_current(fc, READ_ONCE(fi->vt.slot), fi->vt.rdc_version))
		return false;
	vt_count(VT_STAT_RDC_RESET);
	return true;
}
