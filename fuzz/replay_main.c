// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * main() for fuzz targets built without libFuzzer: runs every file named on the command line,
 * and every regular file in every directory named there, through LLVMFuzzerTestOneInput()
 * once. That is how the corpora run in the ordinary test suite (under ASan in the sanitizer
 * build). A crash or a failed check aborts with the file name already printed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_input.h"

/* Large enough for any corpus file we keep (libFuzzer's default -max_len is 4096). */
#define REPLAY_MAX_LEN (1u << 20)

static int run_file(int dirfd, const char *name, const char *shown)
{
	uint8_t *buf;
	ssize_t n;
	size_t len = 0;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "%s: %s\n", shown, strerror(errno));
		return -1;
	}
	buf = malloc(REPLAY_MAX_LEN);
	if (!buf) {
		close(fd);
		return -1;
	}
	while (len < REPLAY_MAX_LEN && (n = read(fd, buf + len, REPLAY_MAX_LEN - len)) > 0)
		len += (size_t)n;
	close(fd);
	fprintf(stderr, "replay %s (%zu bytes)\n", shown, len);
	/* An exact-size copy, so ASan sees reads past the input's end. */
	{
		uint8_t *exact = malloc(len ? len : 1);

		if (!exact) {
			free(buf);
			return -1;
		}
		memcpy(exact, buf, len);
		free(buf);
		LLVMFuzzerTestOneInput(exact, len);
		free(exact);
	}
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *path, unsigned *count)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int ret = 0;

	if (!d) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof(*names));

			if (!nn) {
				ret = -1;
				break;
			}
			names = nn;
		}
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			ret = -1;
			break;
		}
		n++;
	}
	/* Sorted, so a failure reproduces in the same order. */
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		char shown[4096];

		snprintf(shown, sizeof(shown), "%s/%s", path, names[i]);
		if (ret == 0 && fstatat(dirfd(d), names[i], &st, 0) == 0 && S_ISREG(st.st_mode)) {
			if (run_file(dirfd(d), names[i], shown) < 0)
				ret = -1;
			else
				(*count)++;
		}
		free(names[i]);
	}
	free(names);
	closedir(d);
	return ret;
}

int main(int argc, char **argv)
{
	unsigned count = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		if (S_ISDIR(st.st_mode) ? run_dir(argv[i], &count) < 0
					: run_file(AT_FDCWD, argv[i], argv[i]) < 0)
			return 1;
		if (!S_ISDIR(st.st_mode))
			count++;
	}
	printf("%u inputs replayed\n", count);
	return 0;
}
