// SPDX-License-Identifier: GPL-2.0-or-later
/* Parsers of the id mapping options (idmap_opt.h). The command line is trusted, but these are
 * still fuzzed (fuzz/fuzz_idmap.c): they are plain string parsers with arithmetic on ranges. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "cli/idmap_opt.h"
#include "util/macros.h"

/* A decimal id up to UINT32_MAX (count: up to 2^32) ending at ':' or the end; advances *p. */
static bool parse_num(const char **p, uint64_t max, uint64_t *ret)
{
	const char *s = *p;
	uint64_t v = 0;

	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > max)
			return false;
	}
	if (*s != ':' && *s != '\0')
		return false;
	*p = s;
	*ret = v;
	return true;
}

/* Reads n colon-separated numbers from p, which must then end. */
static bool parse_fields(const char *p, uint64_t *v, size_t n, const uint64_t *max)
{
	for (size_t i = 0; i < n; i++) {
		if (!parse_num(&p, max[i], &v[i]))
			return false;
		if (i + 1 < n) {
			if (*p != ':')
				return false;
			p++;
		}
	}
	return *p == '\0';
}

static const struct {
	const char *name;
	enum idmap_kind kind;
	bool to_host, to_guest;
	bool two_fields; /* forbid-guest: BASE:COUNT */
} translate_kinds[] = {
	{"guest", IDMAP_RANGE, true, false, false},
	{"host", IDMAP_RANGE, false, true, false},
	{"map", IDMAP_RANGE, true, true, false},
	{"squash-guest", IDMAP_SQUASH, true, false, false},
	{"squash-host", IDMAP_SQUASH, false, true, false},
	{"forbid-guest", IDMAP_FORBID, true, false, true},
};

static int add_checked(struct idmap *m, bool to_host, const struct idmap_rule *r, const char **why)
{
	int e = idmap_add(m, to_host, r);

	if (e == -EINVAL)
		*why = "the range runs past 4294967295";
	else if (e == -EEXIST)
		*why = to_host ? "overlaps an earlier guest-to-host rule"
			       : "overlaps an earlier host-to-guest rule";
	else if (e < 0)
		*why = "out of memory";
	return e;
}

int opts_translate_add(struct idmap *m, const char *rule, const char **why)
{
	static const uint64_t max3[] = {UINT32_MAX, UINT32_MAX, 1ULL << 32};
	static const uint64_t max2[] = {UINT32_MAX, 1ULL << 32};
	const char *colon = strchr(rule, ':');
	uint64_t v[3] = {0};
	struct idmap_rule r;
	size_t len;
	int e;

	*why = "expected TYPE:SOURCE:TARGET:COUNT or forbid-guest:GUEST:COUNT";
	if (!colon)
		return -EINVAL;
	len = (size_t)(colon - rule);
	for (size_t i = 0; i < ARRAY_SIZE(translate_kinds); i++) {
		if (strlen(translate_kinds[i].name) != len ||
		    strncmp(translate_kinds[i].name, rule, len) != 0)
			continue;
		if (translate_kinds[i].two_fields ? !parse_fields(colon + 1, v, 2, max2)
						  : !parse_fields(colon + 1, v, 3, max3))
			return -EINVAL;
		if (translate_kinds[i].two_fields) {
			v[2] = v[1];
			v[1] = 0;
		}
		if (v[2] == 0) {
			*why = "the count must be at least 1";
			return -EINVAL;
		}
		r = (struct idmap_rule){translate_kinds[i].kind, (uint32_t)v[0], (uint32_t)v[1],
					v[2]};
		/* guest/host/squash-*: SOURCE is the direction's own side; map: GUEST first. */
		if (translate_kinds[i].to_host) {
			e = add_checked(m, true, &r, why);
			if (e < 0)
				return e;
		}
		if (translate_kinds[i].to_guest) {
			if (translate_kinds[i].to_host)
				r = (struct idmap_rule){IDMAP_RANGE, (uint32_t)v[1], (uint32_t)v[0],
							v[2]};
			e = add_checked(m, false, &r, why);
			if (e < 0)
				return e;
		}
		return 0;
	}
	*why = "TYPE is one of guest, host, map, squash-guest, squash-host, forbid-guest";
	return -EINVAL;
}

int opts_nsmap_add(struct opts_nsmap *map, const char *value, const char **why)
{
	static const uint64_t max3[] = {UINT32_MAX, UINT32_MAX, UINT32_MAX};
	uint64_t v[3] = {0};
	size_t len = strlen(value);
	char inner[64];

	*why = "expected :NAMESPACE_ID:HOST_ID:COUNT:";
	if (len < 2 || len >= sizeof(inner) || value[0] != ':' || value[len - 1] != ':')
		return -EINVAL;
	memcpy(inner, value + 1, len - 2);
	inner[len - 2] = '\0';
	if (!parse_fields(inner, v, 3, max3))
		return -EINVAL;
	if (v[2] == 0 || v[0] + v[2] > (1ULL << 32) - 1 || v[1] + v[2] > (1ULL << 32) - 1) {
		*why = "the count must be at least 1 and the ranges end below 4294967295";
		return -EINVAL;
	}
	for (size_t i = 0; i < map->n; i++) {
		const struct opts_nsmap_range *o = &map->range[i];

		if ((v[0] < (uint64_t)o->inside + o->count && o->inside < v[0] + v[2]) ||
		    (v[1] < (uint64_t)o->outside + o->count && o->outside < v[1] + v[2])) {
			*why = "overlaps an earlier range";
			return -EINVAL;
		}
	}
	if (map->n >= OPTS_NSMAP_MAX) {
		*why = "too many ranges";
		return -E2BIG;
	}
	map->range[map->n++] =
		(struct opts_nsmap_range){(uint32_t)v[0], (uint32_t)v[1], (uint32_t)v[2]};
	return 0;
}
