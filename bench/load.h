/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench/load: a daemon benchmark without a VM. The tests/frontend library plays the guest driver
 * against a vhost-user-fs daemon (vfsd or Rust virtiofsd), keeps `depth` FUSE operations in
 * flight on one request queue (or spread over --queues N) and measures operations per second,
 * per-operation latency (submit of the first request to reap of the last one) and the daemon's CPU
 * time per operation. The same operations as plain system calls on the shared directory give the
 * native ceiling.
 *
 * Trust: the daemon is the thing measured; every reply is checked (length, unique, error) and a
 * wrong answer stops the benchmark with a message rather than producing a number.
 */
#ifndef VFSD_BENCH_LOAD_H
#define VFSD_BENCH_LOAD_H

#include <stddef.h>
#include <stdint.h>

enum load_op {
	LOAD_GETATTR,
	LOAD_LOOKUP_HIT,
	LOAD_LOOKUP_MISS,
	LOAD_OPEN_RELEASE,
	LOAD_READ_4K,
	LOAD_READ_1M,
	LOAD_WRITE_4K,
	LOAD_WRITE_1M,
	LOAD_CREATE_UNLINK,
	LOAD_READDIRPLUS,
	LOAD_OP_MAX,
};

/* The shared directory's layout, made by share_prepare(). */
#define LOAD_DATA_FILE	     "data"   /* read target, LOAD_FILE_SIZE bytes, page cache warm */
#define LOAD_WRITE_FILE	     "wdata"  /* write target, LOAD_FILE_SIZE bytes, overwritten in place */
#define LOAD_MISSING	     "absent" /* never exists */
#define LOAD_CREATE_DIR	     "cdir"   /* CREATE+RELEASE+UNLINK happen here */
#define LOAD_BIG_DIR	     "dir10k" /* LOAD_BIG_DIR_ENTRIES empty files */
#define LOAD_FILE_SIZE	     (16u << 20)
#define LOAD_BIG_DIR_ENTRIES 10000u
/* A Linux 6.1 guest asks for one page per READDIRPLUS. */
#define LOAD_READDIR_BUF 4096u
/* Guest memory: room for 64 requests of 1 MiB and more. */
#define LOAD_MEM_SIZE	 (256u << 20)
#define LOAD_PREFAULT_IO (1u << 20)

struct load_params {
	enum load_op op;
	unsigned depth;
	double warmup_s, seconds;
};

struct load_result {
	uint64_t ops;	       /* completed in the measured window */
	double reqs_per_op;    /* FUSE requests per operation (native: 1) */
	double rate;	       /* operations per second */
	double secs;	       /* measured window */
	double p50_us, p99_us; /* per-operation latency */
	double cpu_us;	       /* daemon (or, native, process) CPU time per operation */
	double client_cpu_us;  /* this process's CPU time per operation (FUSE runs) */
};

/* Latency samples, nanoseconds. */
struct lat_rec {
	uint64_t *ns;
	size_t n, cap;
};

int lat_add(struct lat_rec *l, uint64_t ns);
void lat_summary(struct lat_rec *l, double *ret_p50_us, double *ret_p99_us);
void lat_free(struct lat_rec *l);

uint64_t now_ns(void);
uint64_t process_cpu_ns(void);
const char *load_op_name(enum load_op op);
/* Bytes moved by one operation of op (READ/WRITE sizes), else 0. */
uint32_t load_op_io_size(enum load_op op);

/* Create the files and directories above inside share; 0 or -errno. */
int share_prepare(const char *share);
/* Read the data file once more (a share reused from an earlier run). */
int share_warm(const char *share);

/* Native ceiling: the same operations as system calls on share, with `threads` threads. */
int native_run(const char *share, const struct load_params *p, unsigned threads,
	       struct load_result *ret);

struct fe;
struct load_fuse;
/* Look up the fixed targets after INIT; cpu_pids: the daemon's processes whose CPU is counted. */
/* Operations go round-robin (by slot) to the request queues [queue, queue + nqueues). */
int load_fuse_new(struct fe *fe, unsigned queue, unsigned nqueues, size_t mem_size,
		  const int *cpu_pids, unsigned ncpu_pids, struct load_fuse **ret);
void load_fuse_free(struct load_fuse *lf);
int load_fuse_run(struct load_fuse *lf, const struct load_params *p, struct load_result *ret);

/* utime+stime of pids, in microseconds; negative errno if one cannot be read. */
int64_t pids_cpu_us(const int *pids, unsigned n);

#endif
