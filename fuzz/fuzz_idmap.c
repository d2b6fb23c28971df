// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuzz_idmap: the id mapping option parsers (src/cli/idmap_opt.c) and the compiled table they
 * fill (src/util/idmap.c). Input: lines, each "t RULE" (a --translate-* rule) or "n VALUE" (a
 * --uid-map value); then every accepted rule is checked against the table: each id at a range's
 * edges translates as the rule says, forbidden ids are refused, uncovered ids pass unchanged,
 * and namespace ranges never overlap.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/idmap_opt.h"
#include "fuzz_input.h"

static struct opts_nsmap nsmap;

static bool covered(const struct idmap_rule *v, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++) {
		if (id >= v[i].from && (uint64_t)id - v[i].from < v[i].count)
			return true;
	}
	return false;
}

static void check_to_host(const struct idmap *m, const struct idmap_rule *r, uint32_t id)
{
	uint32_t out = 0;
	int e = idmap_to_host(m, id, &out);

	if (r->kind == IDMAP_FORBID) {
		FZ_CHECK(e == -EPERM);
		return;
	}
	FZ_CHECK(e == 0);
	FZ_CHECK(out == (r->kind == IDMAP_SQUASH ? r->to : r->to + (id - r->from)));
}

static void check_table(const struct idmap *m, const uint32_t *probe, size_t nprobe)
{
	for (size_t i = 0; i < m->n_to_host; i++) {
		const struct idmap_rule *r = &m->to_host[i];

		check_to_host(m, r, r->from);
		check_to_host(m, r, (uint32_t)(r->from + r->count - 1));
	}
	for (size_t i = 0; i < m->n_to_guest; i++) {
		const struct idmap_rule *r = &m->to_guest[i];
		uint32_t last = (uint32_t)(r->from + r->count - 1);

		FZ_CHECK(r->kind != IDMAP_FORBID);
		FZ_CHECK(idmap_to_guest(m, last) ==
			 (r->kind == IDMAP_SQUASH ? r->to : r->to + (last - r->from)));
	}
	for (size_t i = 0; i < nprobe; i++) {
		uint32_t out = 0;

		if (!covered(m->to_host, m->n_to_host, probe[i])) {
			FZ_CHECK(idmap_to_host(m, probe[i], &out) == 0 && out == probe[i]);
		}
		if (!covered(m->to_guest, m->n_to_guest, probe[i]))
			FZ_CHECK(idmap_to_guest(m, probe[i]) == probe[i]);
	}
}

static void check_nsmap(void)
{
	for (size_t i = 0; i < nsmap.n; i++) {
		const struct opts_nsmap_range *a = &nsmap.range[i];

		FZ_CHECK(a->count >= 1);
		for (size_t j = 0; j < i; j++) {
			const struct opts_nsmap_range *b = &nsmap.range[j];

			FZ_CHECK((uint64_t)a->inside + a->count <= b->inside ||
				 (uint64_t)b->inside + b->count <= a->inside);
			FZ_CHECK((uint64_t)a->outside + a->count <= b->outside ||
				 (uint64_t)b->outside + b->count <= a->outside);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct idmap m = {0};
	uint32_t probe[8];
	size_t nprobe = 0;
	char *text = malloc(size + 1), *line, *save = NULL;
	const char *why;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	nsmap.n = 0;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == 't' && line[1] == ' ') {
			int e = opts_translate_add(&m, line + 2, &why);

			FZ_CHECK(e == 0 || e == -EINVAL || e == -EEXIST || e == -ENOMEM);
			FZ_CHECK(e == 0 || (why && *why));
		} else if (line[0] == 'n' && line[1] == ' ') {
			int e = opts_nsmap_add(&nsmap, line + 2, &why);

			FZ_CHECK(e == 0 || e == -EINVAL || e == -E2BIG);
		} else if (line[0] == 'p' && line[1] == ' ' && nprobe < 8) {
			probe[nprobe++] = (uint32_t)strtoul(line + 2, NULL, 10);
		}
	}
	check_table(&m, probe, nprobe);
	check_nsmap();
	idmap_free(&m);
	free(text);
	return 0;
}
