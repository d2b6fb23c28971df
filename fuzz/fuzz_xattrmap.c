// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The --xattrmap rule parser and the name mapping both ways (fs/passthrough/xattrmap.c).
 *
 * Input: the rule string up to the first NUL, then NUL-separated names, each tried as a guest
 * name and as a host name, then all of them as one listxattr result. Checked beyond "no crash":
 * the mapping is a bijection where defined (a guest name that maps lists back as itself, a
 * listed host name maps back to itself), results stay within XATTRMAP_NAME_MAX, and a list
 * never grows.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/passthrough/xattrmap.h"
#include "fuzz_input.h"

#define FZ_ASSERT(c)             \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

static void check_guest(const struct xattrmap *m, const char *guest)
{
	char host[XATTRMAP_NAME_MAX + 1];
	const char *back;
	int r = xattrmap_to_host(m, guest, host, sizeof(host));

	if (r < 0) {
		FZ_ASSERT(r == -EPERM || r == -ENOTSUP || r == -ERANGE);
		return;
	}
	FZ_ASSERT((size_t)r == strlen(host) && (size_t)r <= XATTRMAP_NAME_MAX);
	FZ_ASSERT(xattrmap_to_guest(m, host, &back) == 0 && strcmp(back, guest) == 0);
	/* A tiny buffer must fail cleanly, never overflow. */
	{
		char small[4];

		r = xattrmap_to_host(m, guest, small, sizeof(small));
		FZ_ASSERT(r < 0 || (size_t)r < sizeof(small));
	}
}

static void check_host(const struct xattrmap *m, const char *host)
{
	char again[XATTRMAP_NAME_MAX + 1];
	const char *guest;

	if (xattrmap_to_guest(m, host, &guest) < 0)
		return;
	FZ_ASSERT(*guest && guest >= host && guest <= host + strlen(host));
	FZ_ASSERT(xattrmap_to_host(m, guest, again, sizeof(again)) >= 0 && !strcmp(again, host));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xattrmap *m = NULL;
	char *buf, *names, err[256];
	size_t spec_len, nlen, out;
	int r;

	if (size > 2 * XATTRMAP_SPEC_MAX)
		return 0;
	buf = malloc(size + 1);
	FZ_ASSERT(buf);
	memcpy(buf, data, size);
	buf[size] = '\0';
	spec_len = strlen(buf);
	r = xattrmap_parse(buf, &m, err, sizeof(err));
	FZ_ASSERT(r == 0 || r == -EINVAL);
	if (r < 0) {
		FZ_ASSERT(strlen(err) > 0 && strlen(err) < sizeof(err));
		free(buf);
		return 0;
	}
	FZ_ASSERT(xattrmap_rule_count(m) > 0 && xattrmap_rule_count(m) <= XATTRMAP_RULES_MAX);
	names = spec_len < size ? buf + spec_len + 1 : buf + size;
	nlen = (size_t)(buf + size - names);
	for (char *p = names; p < names + nlen; p += strlen(p) + 1) {
		check_guest(m, p);
		check_host(m, p);
	}
	/* The names as a listxattr result (an unterminated last name included). */
	{
		char *list = malloc(nlen ? nlen : 1);

		FZ_ASSERT(list);
		memcpy(list, names, nlen);
		out = xattrmap_list_to_guest(m, list, nlen);
		FZ_ASSERT(out <= nlen);
		for (size_t i = 0; i < out; i += strlen(list + i) + 1) {
			char host[XATTRMAP_NAME_MAX + 1];

			FZ_ASSERT(memchr(list + i, '\0', out - i) && list[i] != '\0');
			FZ_ASSERT(xattrmap_to_host(m, list + i, host, sizeof(host)) >= 0);
		}
		free(list);
	}
	xattrmap_free(m);
	free(buf);
	return 0;
}
