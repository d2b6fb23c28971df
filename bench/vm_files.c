/* vm_files.c: the small-file phases of bench/run-vm.sh, one phase per run so that the caller can
 * drop the guest's caches in between.
 *
 *   vm_files create|stat|read|unlink DIR FILES [SIZE]
 *
 * The tree: DIR/dA/dB/fNNNNN with A and B in 0..9, FILES / 100 files in each of the 100 leaf
 * directories (FILES must be a multiple of 100), each file SIZE bytes (default 1024).
 *   create  mkdir the 110 directories, then per file open(O_CREAT|O_EXCL), write, close
 *   stat    stat() every file by its full path
 *   read    open, read to the end (the size is checked), close
 *   unlink  unlink every file, then rmdir the directories
 * Prints one line "PHASE FILES SECONDS" (wall clock, CLOCK_MONOTONIC) and exits 0, or an error
 * message and exits 1 at the first failure.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FANOUT	 10
#define LEAVES	 (FANOUT * FANOUT)
#define MAX_SIZE (1024 * 1024)

static char buf[MAX_SIZE + 1];

static int fail(const char *what, const char *path)
{
	fprintf(stderr, "vm_files: %s %s: %s\n", what, path, strerror(errno));
	return 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void dir_path(char *out, size_t len, const char *dir, int leaf, int depth)
{
	if (depth == 1)
		snprintf(out, len, "%s/d%d", dir, leaf / FANOUT);
	else
		snprintf(out, len, "%s/d%d/d%d", dir, leaf / FANOUT, leaf % FANOUT);
}

static void file_path(char *out, size_t len, const char *dir, long i, long per_leaf)
{
	int leaf = (int)(i / per_leaf);

	snprintf(out, len, "%s/d%d/d%d/f%05ld", dir, leaf / FANOUT, leaf % FANOUT, i);
}

static int make_dirs(const char *dir)
{
	char path[PATH_MAX];

	for (int leaf = 0; leaf < LEAVES; leaf++) {
		if (leaf % FANOUT == 0) {
			dir_path(path, sizeof(path), dir, leaf, 1);
			if (mkdir(path, 0755) != 0)
				return fail("mkdir", path);
		}
		dir_path(path, sizeof(path), dir, leaf, 2);
		if (mkdir(path, 0755) != 0)
			return fail("mkdir", path);
	}
	return 0;
}

static int remove_dirs(const char *dir)
{
	char path[PATH_MAX];

	for (int leaf = 0; leaf < LEAVES; leaf++) {
		dir_path(path, sizeof(path), dir, leaf, 2);
		if (rmdir(path) != 0)
			return fail("rmdir", path);
		if (leaf % FANOUT == FANOUT - 1) {
			dir_path(path, sizeof(path), dir, leaf, 1);
			if (rmdir(path) != 0)
				return fail("rmdir", path);
		}
	}
	return 0;
}

static int one_file(const char *phase, const char *path, size_t size)
{
	struct stat st;
	ssize_t n;
	int fd;

	if (strcmp(phase, "stat") == 0) {
		if (stat(path, &st) != 0)
			return fail("stat", path);
		if ((size_t)st.st_size != size) {
			fprintf(stderr, "vm_files: %s: size %lld, expected %zu\n", path,
				(long long)st.st_size, size);
			return 1;
		}
		return 0;
	}
	if (strcmp(phase, "unlink") == 0)
		return unlink(path) != 0 ? fail("unlink", path) : 0;
	if (strcmp(phase, "create") == 0) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0)
			return fail("create", path);
		n = write(fd, buf, size);
		if (n < 0 || (size_t)n != size) {
			close(fd);
			return fail("write", path);
		}
		return close(fd) != 0 ? fail("close", path) : 0;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail("open", path);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0)
		return fail("read", path);
	if ((size_t)n != size) {
		fprintf(stderr, "vm_files: %s: read %zd bytes, expected %zu\n", path, n, size);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *phase, *dir;
	char path[PATH_MAX];
	long files, per_leaf, size = 1024;
	double t0;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: vm_files create|stat|read|unlink DIR FILES [SIZE]\n");
		return 2;
	}
	phase = argv[1];
	dir = argv[2];
	files = strtol(argv[3], NULL, 10);
	if (argc == 5)
		size = strtol(argv[4], NULL, 10);
	if (strcmp(phase, "create") != 0 && strcmp(phase, "stat") != 0 &&
	    strcmp(phase, "read") != 0 && strcmp(phase, "unlink") != 0) {
		fprintf(stderr, "vm_files: unknown phase '%s'\n", phase);
		return 2;
	}
	if (files < LEAVES || files % LEAVES != 0 || size < 0 || size > MAX_SIZE) {
		fprintf(stderr, "vm_files: FILES must be a multiple of %d, SIZE at most %d\n",
			LEAVES, MAX_SIZE);
		return 2;
	}
	per_leaf = files / LEAVES;
	for (long i = 0; i < size; i++)
		buf[i] = (char)('a' + i % 26);

	t0 = now();
	if (strcmp(phase, "create") == 0 && make_dirs(dir) != 0)
		return 1;
	for (long i = 0; i < files; i++) {
		file_path(path, sizeof(path), dir, i, per_leaf);
		if (one_file(phase, path, (size_t)size) != 0)
			return 1;
	}
	if (strcmp(phase, "unlink") == 0 && remove_dirs(dir) != 0)
		return 1;
	printf("%s %ld %.6f\n", phase, files, now() - t0);
	return 0;
}
