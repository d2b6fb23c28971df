// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vt-probe: runs in a guest and tells whether the vfsd version table is in use there
 * (guest/README.md). It reads the counters the patched fuse.ko keeps in
 * /sys/module/fuse/parameters/vfsd_vt ("offered=N acked=N on=N broken=N fresh=N kept=N ...";
 * guest/linux-6.1/vt.c), or sid's renamed fork virtiofs_vt.ko in
 * /sys/module/virtiofs_vt/parameters/vfsd_vt, and the kernel's taint flags.
 *
 *   vt-probe                 print the counters, one "NAME VALUE" a line, and the taint
 *   vt-probe get NAME        print one counter's value
 *   vt-probe readbench       ns per read of the mapped table (the test device's BAR 4, read
 *                            through sysfs) and of ordinary memory, "KEY VALUE" lines
 *   vt-probe expect on|off   TAP-style "ok - ..." / "not ok - ..." lines; exit 0 if the table
 *                            is on (some connection has it and none is broken) or off (no
 *                            connection was acked), 1 if not
 *
 * Exit status 2: neither fuse.ko nor virtiofs_vt.ko is the vfsd build (no such parameter) or a
 * usage error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vfsd/vt_proto.h"

#define VT_PARAM      "/sys/module/fuse/parameters/vfsd_vt"
#define VT_PARAM_FORK "/sys/module/virtiofs_vt/parameters/vfsd_vt"
#define MAX_STATS     32

struct stat_kv {
	char name[32];
	unsigned long long value;
};

static int read_stats(struct stat_kv *kv, int max, char *raw, size_t rawlen)
{
	FILE *f = fopen(VT_PARAM, "re");
	char *tok, *save = NULL;
	int n = 0;

	if (!f && errno == ENOENT)
		f = fopen(VT_PARAM_FORK, "re");
	if (!f) {
		fprintf(stderr,
			"vt-probe: %s: %s (neither fuse.ko nor virtiofs_vt.ko is the vfsd "
			"build?)\n",
			VT_PARAM, strerror(errno));
		return -1;
	}
	if (!fgets(raw, (int)rawlen, f)) {
		fclose(f);
		fprintf(stderr, "vt-probe: %s is empty\n", VT_PARAM);
		return -1;
	}
	fclose(f);
	raw[strcspn(raw, "\n")] = '\0';
	char copy[1024];
	snprintf(copy, sizeof(copy), "%s", raw);
	for (tok = strtok_r(copy, " ", &save); tok && n < max; tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq || (size_t)(eq - tok) >= sizeof(kv[n].name))
			continue;
		memcpy(kv[n].name, tok, (size_t)(eq - tok));
		kv[n].name[eq - tok] = '\0';
		kv[n].value = strtoull(eq + 1, NULL, 10);
		n++;
	}
	return n;
}

static long long get(const struct stat_kv *kv, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(kv[i].name, name) == 0)
			return (long long)kv[i].value;
	return -1;
}

static unsigned long long taint(void)
{
	FILE *f = fopen("/proc/sys/kernel/tainted", "re");
	unsigned long long t = 0;

	if (f) {
		if (fscanf(f, "%llu", &t) != 1)
			t = 0;
		fclose(f);
	}
	return t;
}

/*
 * readbench: what one read of the mapped table costs in this guest, next to one read of
 * ordinary memory. Maps the test device's BAR 4 (its shared memory regions) read-only through
 * sysfs, finds the table's header, and reads random counters; under TCG a region QEMU treats as
 * I/O instead of RAM shows up here as microseconds per read. Prints "KEY VALUE" lines.
 */
#define BENCH_READS 200000

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* xorshift: the same pseudo-random slots for both kinds of memory */
static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static double read_ns(const volatile uint64_t *base, uint64_t n)
{
	uint64_t s = 88172645463325252ull, sum = 0;
	double t0 = now_ns();

	for (int i = 0; i < BENCH_READS; i++)
		sum += base[next_rand(&s) % n];
	if (sum == 1) /* keeps the loads */
		fputs("", stderr);
	return (now_ns() - t0) / BENCH_READS;
}

static int readbench(void)
{
	const char *pci = "/sys/bus/pci/devices";
	DIR *d = opendir(pci);
	struct dirent *e;

	if (!d) {
		perror("vt-probe: /sys/bus/pci/devices");
		return 2;
	}
	while ((e = readdir(d))) {
		char path[512], id[32] = "";
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s/device", pci, e->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (!fgets(id, sizeof(id), f))
			id[0] = '\0';
		fclose(f);
		if (strncmp(id, "0x105a", 6) != 0) /* virtio-fs, modern */
			continue;
		snprintf(path, sizeof(path), "%s/%s/resource4", pci, e->d_name);
		/* O_RDWR as coherence-agent.py opens it; mapped read-only below */
		int fd = open(path, O_RDWR | O_CLOEXEC);
		struct stat st;

		if (fd < 0 || fstat(fd, &st) < 0 || st.st_size <= 0) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		uint8_t *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);

		close(fd);
		if (m == MAP_FAILED) {
			perror("vt-probe: mmap resource4");
			closedir(d);
			return 2;
		}
		for (off_t off = 0; off < st.st_size; off += 2 << 20) {
			if (memcmp(m + off, VFSD_VT_MAGIC, 8) != 0)
				continue;
			const struct vfsd_vt_header *h = (const void *)(m + off);
			uint64_t nslots = h->nslots;
			uint64_t room = ((uint64_t)st.st_size - (uint64_t)off - h->header_size) / 8;
			uint64_t *ram;

			if (nslots > room)
				nslots = room;
			ram = calloc(nslots, sizeof(*ram));
			if (!ram || nslots == 0)
				break;
			printf("table_read_ns %.1f\n",
			       read_ns((const volatile uint64_t *)(m + off + h->header_size),
				       nslots));
			printf("ram_read_ns %.1f\n", read_ns(ram, nslots));
			printf("read_slots %llu\n", (unsigned long long)nslots);
			free(ram);
			munmap(m, (size_t)st.st_size);
			closedir(d);
			return 0;
		}
		munmap(m, (size_t)st.st_size);
	}
	closedir(d);
	fprintf(stderr, "vt-probe: no table in any virtio-fs device's BAR 4\n");
	return 1;
}

int main(int argc, char **argv)
{
	struct stat_kv kv[MAX_STATS];
	char raw[1024];
	int n;

	if (argc == 2 && strcmp(argv[1], "readbench") == 0)
		return readbench();
	n = read_stats(kv, MAX_STATS, raw, sizeof(raw));
	if (n < 0)
		return 2;
	if (argc == 1) {
		unsigned long long t = taint();

		for (int i = 0; i < n; i++)
			printf("%s %llu\n", kv[i].name, kv[i].value);
		/* bit 12: out-of-tree module (O), bit 13: unsigned module (E) */
		printf("tainted %llu%s%s\n", t, t & (1ULL << 12) ? " O" : "",
		       t & (1ULL << 13) ? " E" : "");
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "get") == 0) {
		long long v = get(kv, n, argv[2]);

		if (v < 0) {
			fprintf(stderr, "vt-probe: no counter '%s' in '%s'\n", argv[2], raw);
			return 2;
		}
		printf("%lld\n", v);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "expect") == 0) {
		long long offered = get(kv, n, "offered"), acked = get(kv, n, "acked");
		long long on = get(kv, n, "on"), broken = get(kv, n, "broken");
		int ok;

		if (offered < 0 || acked < 0 || on < 0 || broken < 0) {
			fprintf(stderr, "vt-probe: unexpected counters '%s'\n", raw);
			return 2;
		}
		printf("ok - %s is the vfsd build (%s)\n",
		       access(VT_PARAM, F_OK) == 0 ? "fuse.ko" : "virtiofs_vt.ko", raw);
		if (strcmp(argv[2], "on") == 0)
			ok = on > 0 && broken == 0;
		else if (strcmp(argv[2], "off") == 0)
			ok = acked == 0 && on == 0;
		else {
			fprintf(stderr, "vt-probe: expect on|off\n");
			return 2;
		}
		printf("%s - version table %s (offered %lld, acked %lld, on %lld, broken %lld)\n",
		       ok ? "ok" : "not ok", argv[2], offered, acked, on, broken);
		return ok ? 0 : 1;
	}
	fprintf(stderr, "usage: vt-probe [get NAME | expect on|off | readbench]\n");
	return 2;
}
