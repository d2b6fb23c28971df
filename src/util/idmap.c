// SPDX-License-Identifier: GPL-2.0-or-later
/* uid/gid translation tables (idmap.h). A handful of rules each: a linear scan is enough. */
#include <errno.h>
#include <stdlib.h>

#include "util/idmap.h"

static bool rule_covers(const struct idmap_rule *r, uint32_t id)
{
	return id >= r->from && (uint64_t)id - r->from < r->count;
}

static bool rules_overlap(const struct idmap_rule *a, const struct idmap_rule *b)
{
	return (uint64_t)a->from < (uint64_t)b->from + b->count &&
	       (uint64_t)b->from < (uint64_t)a->from + a->count;
}

int idmap_add(struct idmap *m, bool to_host, const struct idmap_rule *rule)
{
	struct idmap_rule **v = to_host ? &m->to_host : &m->to_guest;
	size_t *n = to_host ? &m->n_to_host : &m->n_to_guest;
	struct idmap_rule *grown;

	if (rule->count == 0 || (uint64_t)rule->from + rule->count > (1ULL << 32))
		return -EINVAL;
	if (rule->kind == IDMAP_RANGE && (uint64_t)rule->to + rule->count > (1ULL << 32))
		return -EINVAL;
	if (rule->kind == IDMAP_FORBID && !to_host)
		return -EINVAL;
	for (size_t i = 0; i < *n; i++) {
		if (rules_overlap(&(*v)[i], rule))
			return -EEXIST;
	}
	grown = reallocarray(*v, *n + 1, sizeof(**v));
	if (!grown)
		return -ENOMEM;
	*v = grown;
	(*v)[(*n)++] = *rule;
	return 0;
}

static const struct idmap_rule *find(const struct idmap_rule *v, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++) {
		if (rule_covers(&v[i], id))
			return &v[i];
	}
	return NULL;
}

static uint32_t apply(const struct idmap_rule *r, uint32_t id)
{
	if (!r)
		return id;
	if (r->kind == IDMAP_SQUASH)
		return r->to;
	return r->to + (id - r->from);
}

int idmap_to_host(const struct idmap *m, uint32_t guest, uint32_t *ret)
{
	const struct idmap_rule *r = m ? find(m->to_host, m->n_to_host, guest) : NULL;

	if (r && r->kind == IDMAP_FORBID)
		return -EPERM;
	*ret = apply(r, guest);
	return 0;
}

uint32_t idmap_to_guest(const struct idmap *m, uint32_t host)
{
	return apply(m ? find(m->to_guest, m->n_to_guest, host) : NULL, host);
}

void idmap_free(struct idmap *m)
{
	if (!m)
		return;
	free(m->to_host);
	free(m->to_guest);
	*m = (struct idmap){0};
}
