/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A compiled uid or gid translation table between guest and host (--translate-uid,
 * --translate-gid). The two directions are independent, as in the Rust virtiofsd: guest-to-host
 * rules apply to the ids a request acts with (the owner of a node it creates, a chown), host-to-
 * guest rules to the owners the guest is shown. An id no rule covers passes unchanged. Rules of
 * one direction may not overlap. Pure: no syscalls, no logging.
 */
#ifndef VFSD_UTIL_IDMAP_H
#define VFSD_UTIL_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum idmap_kind {
	IDMAP_RANGE,  /* [from, from + count) onto [to, to + count) */
	IDMAP_SQUASH, /* [from, from + count) all onto to */
	IDMAP_FORBID, /* [from, from + count) refused (guest-to-host only) */
};

struct idmap_rule {
	enum idmap_kind kind;
	uint32_t from, to;
	uint64_t count; /* >= 1, from + count <= 2^32 */
};

struct idmap {
	struct idmap_rule *to_host; /* guest-to-host rules */
	size_t n_to_host;
	struct idmap_rule *to_guest; /* host-to-guest rules */
	size_t n_to_guest;
};

/* Adds a rule to one direction: 0, -EINVAL (empty or past 2^32, or a forbid rule towards the
 * guest), -EEXIST (overlaps a rule already there), -ENOMEM. */
int idmap_add(struct idmap *m, bool to_host, const struct idmap_rule *rule);

/* The host id a guest id acts as: 0, or -EPERM for a forbidden id. */
int idmap_to_host(const struct idmap *m, uint32_t guest, uint32_t *ret);
/* The guest id a host id is shown as. */
uint32_t idmap_to_guest(const struct idmap *m, uint32_t host);

static inline bool idmap_empty(const struct idmap *m)
{
	return !m || (m->n_to_host == 0 && m->n_to_guest == 0);
}

void idmap_free(struct idmap *m);

#endif
