// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vt-probe: runs in a guest and tells whether the vfsd version table is in use there
 * (guest/README.md). It reads the counters the patched fuse.ko keeps in
 * /sys/module/fuse/parameters/vfsd_vt ("offered=N acked=N on=N broken=N fresh=N kept=N ...";
 * guest/linux-6.1/vt.c) and the kernel's taint flags.
 *
 *   vt-probe                 print the counters, one "NAME VALUE" a line, and the taint
 *   vt-probe get NAME        print one counter's value
 *   vt-probe expect on|off   TAP-style "ok - ..." / "not ok - ..." lines; exit 0 if the table
 *                            is on (some connection has it and none is broken) or off (no
 *                            connection was acked), 1 if not
 *
 * Exit status 2: fuse.ko is not the vfsd build (no such parameter) or a usage error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VT_PARAM  "/sys/module/fuse/parameters/vfsd_vt"
#define MAX_STATS 32

struct stat_kv {
	char name[32];
	unsigned long long value;
};

static int read_stats(struct stat_kv *kv, int max, char *raw, size_t rawlen)
{
	FILE *f = fopen(VT_PARAM, "re");
	char *tok, *save = NULL;
	int n = 0;

	if (!f) {
		fprintf(stderr, "vt-probe: %s: %s (fuse.ko is not the vfsd build?)\n", VT_PARAM,
			strerror(errno));
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

int main(int argc, char **argv)
{
	struct stat_kv kv[MAX_STATS];
	char raw[1024];
	int n = read_stats(kv, MAX_STATS, raw, sizeof(raw));

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
		printf("ok - fuse.ko is the vfsd build (%s)\n", raw);
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
	fprintf(stderr, "usage: vt-probe [get NAME | expect on|off]\n");
	return 2;
}
