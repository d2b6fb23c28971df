/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Command-line options, compatible with the Rust virtiofsd (the long options libvirt, Kata and
 * cloud-hypervisor pass) and with the old C virtiofsd's "-o opt,opt" spelling. Parsing only:
 * no file is created and nothing is started here.
 */
#ifndef VFSD_CLI_OPTS_H
#define VFSD_CLI_OPTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli/idmap_opt.h"

enum opts_cache {
	OPTS_CACHE_AUTO,
	OPTS_CACHE_ALWAYS,
	OPTS_CACHE_NEVER,
	OPTS_CACHE_METADATA,
};

enum opts_sandbox {
	OPTS_SANDBOX_NAMESPACE,
	OPTS_SANDBOX_CHROOT,
	OPTS_SANDBOX_NONE,
};

enum opts_seccomp {
	OPTS_SECCOMP_KILL,
	OPTS_SECCOMP_LOG,
	OPTS_SECCOMP_TRAP,
	OPTS_SECCOMP_NONE,
};

enum opts_inode_fh {
	OPTS_INODE_FH_NEVER,
	OPTS_INODE_FH_PREFER,
	OPTS_INODE_FH_MANDATORY,
};

enum opts_dax {
	OPTS_DAX_NEVER,	 /* no cache window */
	OPTS_DAX_INODE,	 /* window; FUSE_ATTR_DAX on page-multiple files >= dax_min_size */
	OPTS_DAX_ALWAYS, /* window; FUSE_ATTR_DAX on every regular file */
};

enum opts_coherence {
	OPTS_COHERENCE_NONE,  /* timeouts only */
	OPTS_COHERENCE_TABLE, /* the shared version table (docs/coherence.md) */
};

/* --vt-watch: how changes made on the host reach the table (docs/coherence.md). */
enum opts_vt_watch {
	OPTS_VT_WATCH_AUTO,	/* fanotify, else inotify */
	OPTS_VT_WATCH_FANOTIFY, /* fanotify only (CAP_SYS_ADMIN), else fail */
	OPTS_VT_WATCH_INOTIFY,	/* inotify on looked-up directories only */
	OPTS_VT_WATCH_NONE,	/* no watch: host changes are not seen */
};

/* What main() should do after parsing. */
enum opts_action {
	OPTS_RUN,
	OPTS_HELP,		 /* print opts_usage() to stdout, exit 0 */
	OPTS_VERSION,		 /* print the version, exit 0 */
	OPTS_PRINT_CAPABILITIES, /* print opts_capabilities_json(), exit 0 */
};

struct vfsd_opts {
	enum opts_action action;
	char *shared_dir;   /* --shared-dir / -o source= ; realpath'd by main, not here */
	char *socket_path;  /* --socket-path / --socket */
	int fd;		    /* --fd, -1 if not given */
	char *socket_group; /* --socket-group */
	char *tag;	    /* --tag */
	unsigned thread_pool_size;
	enum opts_cache cache;
	bool allow_mmap;	 /* --allow-mmap */
	bool readdirplus;	 /* default on; --no-readdirplus, and off with --cache=never */
	bool writeback;		 /* --writeback */
	bool allow_direct_io;	 /* --allow-direct-io */
	bool xattr;		 /* --xattr */
	bool posix_acl;		 /* --posix-acl (implies xattr) */
	bool announce_submounts; /* default on; --no-announce-submounts */
	bool killpriv_v2;	 /* --killpriv-v2 / --no-killpriv-v2, default off */
	bool readonly;		 /* --readonly */
	bool preserve_noatime;	 /* --preserve-noatime */
	bool posix_lock;	 /* serve POSIX locks (default on); -o no_posix_lock turns off */
	bool flock;		 /* serve flock (default on); -o no_flock turns off */
	enum opts_inode_fh inode_file_handles;
	enum opts_sandbox sandbox;
	enum opts_seccomp seccomp;
	char *modcaps;		/* --modcaps=+cap:-cap, validated syntax, applied by sandbox/ */
	uint64_t rlimit_nofile; /* --rlimit-nofile; UINT64_MAX = default (raise), 0 = leave */
	int log_level;		/* enum log_level from util/log.h; default LOG_LEVEL_INFO */
	bool syslog;		/* --syslog */
	bool keep_serving;	/* --keep-serving: accept a new frontend after a disconnect */
	unsigned max_request_queues;   /* --request-queues=N (default and max 16) */
	bool request_queues_given;     /* --request-queues was on the command line */
	unsigned queue_threads;	       /* --queue-threads=N; 0: not given (main picks) */
	uint64_t poll_max_ns;	       /* --poll-max-ns=N: idle ring polling window, 0 off */
	enum opts_dax dax;	       /* --dax (default inode; needs --tag to matter) */
	uint64_t dax_window;	       /* --dax-window=SIZE, a power of two */
	uint64_t dax_min_size;	       /* --dax-min-size=SIZE */
	enum opts_coherence coherence; /* --coherence (default none) */
	char *vt_table;		       /* --vt-table=PATH; NULL: derived from the share */
	unsigned vt_slots;	       /* --vt-slots=N; 0: the table's or the default */
	enum opts_vt_watch vt_watch;   /* --vt-watch (default auto) */
	bool vt_watch_given;
	/* --adaptive-timeout=MIN:MAX (ms): entry/attribute timeouts from the table's ages;
	 * 0: off (the cache mode's fixed timeouts). */
	unsigned adapt_min_ms, adapt_max_ms;
	/* --uid-map/--gid-map: the user namespace's ranges (NULL: not given). */
	struct opts_nsmap *uid_map, *gid_map;
	/* --translate-uid/--translate-gid: vfsd's own translation (empty: none). */
	struct idmap translate_uid, translate_gid;
	char *xattrmap;	     /* --xattrmap=RULES / -o xattrmap=; compiled by main (implies xattr) */
	bool security_label; /* --security-label / -o security_label (implies xattr) */
	/* --migration-mode=find-paths|file-handles (source: send file handles too) and
	 * --migration-on-error=abort|guest-error (destination: EIO on a lost node instead of a
	 * failed load); also -o migration_mode=, -o migration_on_error=. */
	bool migration_file_handles;
	bool migration_guest_error;
	/* --migration-verify-handles (source: send file handles to check; destination: check
	 * them) and --migration-confirm-paths (source: check paths at save); also as -o flags. */
	bool migration_verify_handles;
	bool migration_confirm_paths;
};

/*
 * Parses argv into *opts (defaults first). Returns 0, or -EINVAL (-ENOMEM if a copy fails)
 * after writing a one-line message naming the bad option to `err`; on failure *opts holds the
 * defaults and owns nothing. Does not touch the filesystem: the shared directory's existence
 * is checked by main(). Resets getopt's state, so it may be called more than once.
 */
int opts_parse(int argc, char **argv, struct vfsd_opts *opts, FILE *err);
void opts_free(struct vfsd_opts *opts);

/* The --help text. */
void opts_usage(FILE *out);
/* The JSON libvirt reads from --print-capabilities (vhost-user.json "fs" type). */
const char *opts_capabilities_json(void);

#endif
