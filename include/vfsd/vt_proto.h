/* SPDX-License-Identifier: (GPL-2.0-or-later OR GPL-2.0-only) */
/*
 * The vfsd version-table protocol: a private extension of FUSE over virtio-fs that lets guests
 * keep metadata cached for as long as it has not changed anywhere (another guest, the host),
 * instead of for a fixed timeout. docs/coherence.md describes it for other implementers.
 *
 * This header is shared by the daemon (user space) and the guest module (kernel); it uses only
 * the __u32/__u64 types of <linux/types.h> and defines nothing else.
 *
 * Pieces:
 * - The table: VIRTIO shared memory region VFSD_VT_SHMID of the device holds one struct
 *   vfsd_vt_header followed (at header_size) by nslots __u64 counters. Each guest sees its own
 *   copy (a mirror) that only the daemons write; counters only ever grow.
 * - Negotiation: the guest sets VFSD_VT_INIT_FLAG in FUSE_INIT (bit 62 of the 64-bit flags,
 *   i.e. bit 30 of fuse_init_in.flags2, with FUSE_INIT_EXT) when it has mapped the region; the
 *   daemon echoes it only if it maps this guest's mirror there. Without the echo neither side
 *   sends or expects anything below.
 * - Versioned replies: with the flag echoed, the daemon appends a struct vfsd_vt_entry_out to
 *   the reply of LOOKUP, MKNOD, MKDIR, SYMLINK and LINK (after fuse_entry_out) and of CREATE
 *   and TMPFILE (after fuse_open_out), and a struct vfsd_vt_attr_out to GETATTR and SETATTR
 *   replies (after fuse_attr_out) and to STATX replies (after fuse_statx_out; Linux >= 6.6
 *   guests: sid's virtiofs_vt.ko). The guest posts buffers large enough for them. A LOOKUP of
 *   a missing name may be answered with a negative entry (nodeid 0, node not VALID) that
 *   carries the directory's version instead of ENOENT. UNLINK, RMDIR, RENAME and RENAME2,
 *   whose FUSE replies have no body, get a struct vfsd_vt_dirs_out as their body when the guest
 *   posts room for it (else the empty reply: guests that predate it post none), or a struct
 *   vfsd_vt_remove_out when it posts room for that. A WRITE reply carries a struct
 *   vfsd_vt_attr_out after fuse_write_out when the guest posts room for it: the file's
 *   version after the write, VFSD_VT_BUMPED (a guest that held version - 1 may adopt it for
 *   the inode; the attributes the write changed are FUSE's to invalidate). The same struct,
 *   with the same meaning, is the whole body of a FALLOCATE reply (empty in FUSE) and follows
 *   fuse_write_out in a COPY_FILE_RANGE reply (fuse_copy_file_range_out in COPY_FILE_RANGE_64)
 *   when the guest posts room for it; a copy's version is the destination's.
 * - Versioned READDIRPLUS: a guest that also sets VFSD_VT_INIT_RDPLUS (bit 61) with
 *   VFSD_VT_INIT_FLAG and FUSE_DO_READDIRPLUS gets both echoed when the daemon serves
 *   READDIRPLUS with versions; each entry then has the VFSD_VT_DIRENTPLUS_* layout (below) instead
 *   of a fuse_direntplus. Without that echo a versioned session has no READDIRPLUS at all
 *   (what daemons and guests that predate the bit do), and stock sessions are unchanged.
 *
 * The rule that makes it coherent: a version is the counter of the slot plus the header's epoch,
 * read by the daemon before the stat or lookup whose result the reply carries; every change a
 * daemon makes bumps the counters of all inodes it touches after the change and before its
 * reply; host changes are bumped when the daemon hears of them (fanotify). A cached entry or
 * attribute is valid while slots[slot] + epoch still equals the version it came with. Any other
 * value, including garbage, means stale: a collision or a corrupt mirror costs a revalidation,
 * never a missed change.
 */
#ifndef VFSD_VT_PROTO_H
#define VFSD_VT_PROTO_H

#include <linux/types.h>

/* FUSE_INIT flag (64-bit flags word: flags | flags2 << 32). Private to vfsd. */
#define VFSD_VT_INIT_FLAG (1ULL << 62)
/* FUSE_INIT flag, only together with VFSD_VT_INIT_FLAG: READDIRPLUS entries carry versions. */
#define VFSD_VT_INIT_RDPLUS (1ULL << 61)

/* VIRTIO shared memory region id of the table (region 0 is the DAX cache window). */
#define VFSD_VT_SHMID 1

#define VFSD_VT_MAGIC	 "VFSDVT01" /* 8 bytes, no NUL */
#define VFSD_VT_LAYOUT	 1u
#define VFSD_VT_HDR_SIZE 4096u /* slots start here; a page, so the header can be mapped alone */

struct vfsd_vt_header {
	__u8 magic[8];	   /* VFSD_VT_MAGIC */
	__u32 layout;	   /* VFSD_VT_LAYOUT */
	__u32 header_size; /* VFSD_VT_HDR_SIZE: offset of slots[0] */
	__u64 nslots;	   /* counters after the header; the region holds them all */
	__u64 epoch;	   /* bumped for "everything may have changed" (lost host events) */
	__u64 reserved[4];
};

/* vfsd_vt_ver.flags */
#define VFSD_VT_VALID  (1u << 0) /* slot and version are meaningful; else use timeouts only */
#define VFSD_VT_BUMPED (1u << 1) /* version is the value this request's own change produced */

struct vfsd_vt_ver {
	__u32 slot;    /* index into the counters; the guest must bound it by the region size */
	__u32 flags;   /* VFSD_VT_* */
	__u64 version; /* counters[slot] + epoch, read before the stat (see above) */
};

/*
 * After fuse_entry_out (and fuse_open_out for CREATE). `node` describes the entry's inode
 * (not VALID for a negative entry, nodeid 0); `parent` the directory the name was looked up
 * in: the dentry stays valid while both versions hold. For the create-type operations `parent`
 * carries VFSD_VT_BUMPED and the value this request's own bump gave the directory's counter:
 * a guest that saw version - 1 before knows no one else changed the directory meanwhile.
 */
struct vfsd_vt_entry_out {
	struct vfsd_vt_ver node;
	struct vfsd_vt_ver parent;
};

/*
 * After fuse_attr_out in GETATTR and SETATTR replies (and the own-bump tails of WRITE,
 * FALLOCATE and COPY_FILE_RANGE(_64), above). A SETATTR that changed the node carries
 * VFSD_VT_BUMPED and the value this request's own bump gave the node's counter, the attributes
 * having been stat()ed after that bump (so they are current at it); for a directory a guest that
 * saw version - 1 before knows that only this SETATTR, which changes no name, moved it. A
 * SETATTR that changed nothing carries the version read before it, as GETATTR does.
 * STATX replies carry it after fuse_statx_out, as GETATTR does.
 */
struct vfsd_vt_attr_out {
	struct vfsd_vt_ver node;
};

/*
 * The whole body of a successful UNLINK, RMDIR, RENAME or RENAME2 reply (empty without the
 * flag). dir[0] is the directory of the (old) name, dir[1] the new name's directory when it is
 * another one (else all zero, not VALID). Each VALID entry carries VFSD_VT_BUMPED and the value
 * this request's own bump gave that directory's counter, as `parent` does for creates. The
 * removed or replaced inodes are bumped too; they are listed only in vfsd_vt_remove_out.
 */
struct vfsd_vt_dirs_out {
	struct vfsd_vt_ver dir[2];
};

/*
 * One READDIRPLUS entry of a session that negotiated VFSD_VT_INIT_RDPLUS: fuse_direntplus with
 * a struct vfsd_vt_entry_out between the entry and the dirent, then the name, the whole padded
 * with zeros to a multiple of 8 bytes (VFSD_VT_DIRENTPLUS_SIZE). The extension means what it
 * means after a LOOKUP of that name: `node` was read before the stat whose result is in
 * entry_out.attr, `parent` (the listed directory) before the name was resolved to the inode.
 * Neither carries VFSD_VT_BUMPED. "." and "..", and entries without a node (nodeid 0), carry
 * no versions (flags 0). The layout matches fuse_direntplus's field for field; it is spelt
 * out here, with offsets, so that this header needs no <linux/fuse.h>.
 */
#define VFSD_VT_ENTRY_OUT_SIZE 128u		      /* sizeof(struct fuse_entry_out) */
#define VFSD_VT_DIRENT_SIZE    24u		      /* offsetof(struct fuse_dirent, name) */
#define VFSD_VT_DIRENTPLUS_VT  VFSD_VT_ENTRY_OUT_SIZE /* offset of the vfsd_vt_entry_out */
#define VFSD_VT_DIRENTPLUS_DIRENT \
	(VFSD_VT_ENTRY_OUT_SIZE + sizeof(struct vfsd_vt_entry_out)) /* offset of fuse_dirent */
#define VFSD_VT_DIRENTPLUS_NAME (VFSD_VT_DIRENTPLUS_DIRENT + VFSD_VT_DIRENT_SIZE)
#define VFSD_VT_DIRENTPLUS_SIZE(namelen) \
	((VFSD_VT_DIRENTPLUS_NAME + (namelen) + sizeof(__u64) - 1) & ~(sizeof(__u64) - 1))

/*
 * The same body for a guest that posts room for this larger struct (one that posts room for
 * vfsd_vt_dirs_out only gets that): `node` is the unlinked non-directory, or the one a RENAME
 * replaced, when it still had other links (else all zero, not VALID), with VFSD_VT_BUMPED and
 * the value this request's own bump gave its counter. A guest that held version - 1 for that
 * inode knows that only this request moved it: its other names stay current (its link count
 * and ctime changed; FUSE already accounts for those).
 */
struct vfsd_vt_remove_out {
	struct vfsd_vt_dirs_out dirs;
	struct vfsd_vt_ver node;
};

#endif
